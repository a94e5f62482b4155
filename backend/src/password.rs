//! Argon2id password hashing on a fixed pool of dedicated threads.
//!
//! Hashing is deliberately slow (tens of milliseconds of CPU and ~19 MiB of memory), so it never
//! runs on the async runtime. `threads` dedicated OS threads do all hashing, and each owns one
//! Argon2 memory block while it is busy, reusing it for every hash: memory stays at most
//! threads x Argon2 memory (the allocator never sees the 19 MiB buffers come and go under
//! load, so it cannot fragment or hoard them), and hashes skip the page faults of fresh
//! memory. A thread idle for `IDLE_RELEASE` gives its block back, so an idle server holds
//! none.
//!
//! In front of the pool is admission by expected wait: a check is accepted while the checks
//! ahead of it x the hash time (measured here, a moving average) / threads stay within a bound
//! (`--hash-max-wait`, default 1 s). Beyond it a request is refused at once
//! ([`HashError::Overloaded`], a `503`) instead of waiting, so an overload costs clients a
//! retry, not minutes of latency, while a burst that the threads clear within the bound is
//! served whole.
//!
//! Verifying an unknown user runs against a dummy hash with the same parameters, so a login costs
//! the same whether or not the account exists.

use std::{
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        mpsc, Arc, Mutex,
    },
    time::{Duration, Instant},
};

use argon2::{
    password_hash::{rand_core::OsRng, Output, ParamsString, SaltString},
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
};
use tokio::sync::oneshot;

/// Why hashing failed. None of these carry the password.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The Argon2 implementation refused (bad parameters or output).
    #[error("argon2 failed")]
    Argon2(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The stored hash cannot be read.
    #[error("stored password hash is not a valid PHC string")]
    CorruptHash,
    /// A hashing thread is gone.
    #[error("hashing worker stopped unexpectedly")]
    Worker,
    /// The expected wait is over the bound.
    #[error("too many password checks waiting")]
    Overloaded,
}

/// The result of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// Correct. `needs_rehash` is true when the stored hash used other parameters than the ones
    /// configured now, so it should be replaced.
    Match {
        /// The stored hash should be replaced by one with the current parameters.
        needs_rehash: bool,
    },
    /// Wrong password (or no such account).
    Mismatch,
}

/// Work for a hashing thread: it gets the thread's reusable Argon2 memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// Hashes and verifies passwords. Cheap to clone.
#[derive(Clone)]
pub struct Hasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    jobs: Mutex<mpsc::Sender<Job>>,
    threads: usize,
    /// The longest expected wait at which a check is still admitted.
    max_wait: Duration,
    /// Admitted checks not finished yet (running or waiting).
    in_flight: AtomicUsize,
    /// Checks waiting for a thread (for the queue-length gauge).
    waiting: AtomicUsize,
    /// Each thread's Argon2 memory (the threads and the reaper hold it; kept here so tests
    /// can see what is allocated).
    #[cfg_attr(not(test), allow(dead_code))]
    slots: Arc<[Slot]>,
    /// A moving average of the time per check the pool delivers, in nanoseconds: under load
    /// the interval between completions (the threads share the cores with everything else),
    /// otherwise a hash's duration / threads.
    check_nanos: AtomicU64,
    /// When the last check finished, in nanoseconds since `clock`.
    last_done: AtomicU64,
    /// How long checks really took from admission to done, per mille of what admission
    /// predicted (the high end of it, over checks that had a queue ahead; at least 1000): the
    /// steps between admission and the queue, and the load on the cores, make the prediction
    /// a little low, and this corrects it by measurement.
    overrun_permille: AtomicU64,
    clock: Instant,
    dummy: String,
}

impl Hasher {
    /// Starts `threads` hashing threads and makes the dummy hash: `threads` hashes run at once,
    /// and a check is admitted while its expected wait is at most `max_wait`.
    pub fn new(params: Params, threads: usize, max_wait: Duration) -> Result<Self, HashError> {
        Self::with_idle_release(params, threads, max_wait, IDLE_RELEASE)
    }

    fn with_idle_release(
        params: Params,
        threads: usize,
        max_wait: Duration,
        idle_release: Duration,
    ) -> Result<Self, HashError> {
        let threads = threads.max(1);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let clock = Instant::now();
        let slots: Arc<[Slot]> = (0..threads).map(|_| Slot::default()).collect();
        for i in 0..threads {
            let (rx, slots) = (rx.clone(), slots.clone());
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || hashing_thread(&rx, &slots[i], clock))
                .map_err(|_| HashError::Worker)?;
        }
        let weak = Arc::downgrade(&slots);
        std::thread::Builder::new()
            .name("argon2-reaper".into())
            .spawn(move || reaper(weak, clock, idle_release))
            .map_err(|_| HashError::Worker)?;
        let mut random = [0u8; 32];
        argon2::password_hash::rand_core::RngCore::fill_bytes(&mut OsRng, &mut random);
        let mut memory = vec![Block::new(); params.block_count()];
        let started = Instant::now();
        let dummy = hash_with(&params, &random, &mut memory)?;
        let first_hash = started.elapsed();
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                jobs: Mutex::new(tx),
                threads,
                max_wait,
                in_flight: AtomicUsize::new(0),
                waiting: AtomicUsize::new(0),
                slots,
                check_nanos: AtomicU64::new(nanos(first_hash) / threads as u64),
                last_done: AtomicU64::new(0),
                overrun_permille: AtomicU64::new(1000),
                clock,
                dummy,
            }),
        })
    }

    /// The time per check the pool delivers, as measured (a moving average; see `check_nanos`).
    pub fn time_per_check(&self) -> Duration {
        Duration::from_nanos(self.inner.check_nanos.load(Ordering::Relaxed))
    }

    /// Admits a check if a thread is free, or if it can expect to be done within the bound: the
    /// checks ahead of it and itself x the time per check the pool delivers (hash time /
    /// threads, as measured). The returned place is held until the check has run (or is
    /// dropped unused). Taking it first lets a caller refuse before doing anything else.
    pub fn admit(&self) -> Result<Place, HashError> {
        self.admit_with(0).map(|(place, _)| place)
    }

    /// [`Hasher::admit`] for a check and `later` more hashes by the same request, admitted
    /// with it: once the request has done something that cannot be undone (used a one-time
    /// code), its later hash must not be refused for load.
    pub fn admit_with(&self, later: usize) -> Result<(Place, Vec<Place>), HashError> {
        let inner = &self.inner;
        let mine = later + 1;
        let ahead = inner.in_flight.fetch_add(mine, Ordering::Relaxed);
        let admitted = Admitted(self.inner.clone());
        let later: Vec<Place> = (0..later)
            .map(|_| Place(Admitted(self.inner.clone()), None))
            .collect();
        let per_check = self.time_per_check();
        let predicted = per_check.saturating_mul(u32::try_from(ahead + mine).unwrap_or(u32::MAX));
        let overrun = inner.overrun_permille.load(Ordering::Relaxed);
        let expected = predicted.saturating_mul(u32::try_from(overrun).unwrap_or(u32::MAX)) / 1000;
        // With a thread free, a check waits for nothing: always admitted (a hash slower than
        // the bound must not refuse every login).
        if ahead >= inner.threads && expected > inner.max_wait {
            return Err(HashError::Overloaded);
        }
        // Worth learning from only when a queue was ahead of it.
        let queued = (ahead >= inner.threads).then(|| (Instant::now(), predicted));
        Ok((Place(admitted, queued), later))
    }

    /// Hashes `password` (already normalised) into a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let place = self.admit()?;
        self.hash_in(place, password).await
    }

    /// [`Hasher::hash`] in a place taken earlier.
    pub async fn hash_in(&self, place: Place, password: String) -> Result<String, HashError> {
        let params = self.inner.params.clone();
        self.run_in(place, move |memory| {
            hash_with(&params, password.as_bytes(), memory)
        })
        .await
    }

    /// Checks `password` against `stored`, or against the dummy hash when there is no account.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<Verified, HashError> {
        let place = self.admit()?;
        self.verify_in(place, password, stored).await
    }

    /// [`Hasher::verify`] in a place taken earlier with [`Hasher::admit`].
    pub async fn verify_in(
        &self,
        place: Place,
        password: String,
        stored: Option<String>,
    ) -> Result<Verified, HashError> {
        let params = self.inner.params.clone();
        let real = stored.is_some();
        let phc = stored.unwrap_or_else(|| self.inner.dummy.clone());
        self.run_in(place, move |memory| {
            let parsed = PasswordHash::new(&phc).map_err(|_| HashError::CorruptHash)?;
            let ok = verify_with(&parsed, password.as_bytes(), memory)?;
            Ok(if ok && real {
                Verified::Match {
                    needs_rehash: needs_rehash(&parsed, &params),
                }
            } else {
                Verified::Mismatch
            })
        })
        .await
    }

    /// Queues `job` for a hashing thread in `place`, which is held until the job has run, even
    /// if the request is cancelled meanwhile.
    async fn run_in<T: Send + 'static>(
        &self,
        Place(admitted, queued_at): Place,
        job: impl FnOnce(&mut Vec<Block>) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let inner = &self.inner;
        let queued = Instant::now();
        let waiting = inner.waiting.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::gauge!("hash_queue_length").set(waiting as f64);
        let (tx, rx) = oneshot::channel();
        let hasher = self.inner.clone();
        let work: Job = Box::new(move |memory| {
            let waiting = hasher.waiting.fetch_sub(1, Ordering::Relaxed) - 1;
            metrics::gauge!("hash_queue_length").set(waiting as f64);
            metrics::histogram!("hash_wait_seconds").record(queued.elapsed().as_secs_f64());
            let started = Instant::now();
            let result = job(memory);
            let took = started.elapsed();
            metrics::histogram!("hash_duration_seconds").record(took.as_secs_f64());
            hasher.record_check_done(took);
            if let Some((since, predicted)) = queued_at {
                hasher.record_overrun(since.elapsed(), predicted);
            }
            drop(admitted);
            let _ = tx.send(result);
        });
        inner
            .jobs
            .lock()
            .map_err(|_| HashError::Worker)?
            .send(work)
            .map_err(|_| HashError::Worker)?;
        rx.await.map_err(|_| HashError::Worker)?
    }
}

/// A check's place among the admitted ones (see [`Hasher::admit`]), given back when dropped;
/// with when it was admitted behind a queue and the time predicted then.
pub struct Place(Admitted, Option<(Instant, Duration)>);

struct Admitted(Arc<Inner>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Inner {
    /// Folds a finished check into the time per check: while others wait, the interval since
    /// the previous finish; otherwise its hash time / threads.
    fn record_check_done(&self, took: Duration) {
        let done = nanos(self.clock.elapsed());
        let previous = self.last_done.swap(done, Ordering::Relaxed);
        let sample = if self.waiting.load(Ordering::Relaxed) > 0 && previous > 0 {
            done.saturating_sub(previous)
        } else {
            nanos(took) / self.threads as u64
        };
        let _ = self
            .check_nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |avg| {
                Some(avg - avg / 8 + sample / 8)
            });
    }

    /// Folds how long a queued check really took, against the prediction, into the overrun,
    /// kept between 1x and 3x. It rises fast (1/4 of a higher sample) and falls slowly (1/512
    /// of a lower one), so it follows the high end of the spread rather than the mean: the
    /// goal is that nearly every accepted check, not the average one, ends within the bound.
    fn record_overrun(&self, took: Duration, predicted: Duration) {
        let predicted = nanos(predicted).max(1);
        let sample = (nanos(took).saturating_mul(1000) / predicted).clamp(1000, 3000);
        let _ = self
            .overrun_permille
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |avg| {
                Some(if sample > avg {
                    avg + (sample - avg) / 4
                } else {
                    avg - (avg - sample) / 512
                })
            });
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// How long a hashing thread keeps its Argon2 memory without work before giving it back.
const IDLE_RELEASE: Duration = Duration::from_secs(10);

/// One hashing thread's Argon2 memory: allocated on its first job (sized by [`blocks`]) and
/// released by the reaper after [`IDLE_RELEASE`] without work, so an idle server holds none.
#[derive(Default)]
struct Slot {
    memory: Mutex<Vec<Block>>,
    /// When the last job ended (milliseconds since the slot's clock started).
    last_used_ms: AtomicU64,
}

/// A hashing thread: runs each job in its slot's memory.
fn hashing_thread(jobs: &Mutex<mpsc::Receiver<Job>>, slot: &Slot, clock: Instant) {
    loop {
        // The lock is held only while waiting for the next job.
        let job = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else {
            return; // the hasher is gone
        };
        let mut memory = slot.memory.lock().unwrap_or_else(|p| p.into_inner());
        job(&mut memory);
        drop(memory);
        slot.last_used_ms
            .store(millis_since(clock), Ordering::Relaxed);
    }
}

/// Releases the memory of slots idle for [`IDLE_RELEASE`] (a slot in use is skipped); ends
/// when the hasher is gone.
fn reaper(slots: std::sync::Weak<[Slot]>, clock: Instant, idle_release: Duration) {
    loop {
        std::thread::sleep(idle_release / 4);
        let Some(slots) = slots.upgrade() else {
            return;
        };
        let now = millis_since(clock);
        let idle = u64::try_from(idle_release.as_millis()).unwrap_or(u64::MAX);
        let mut released = false;
        for slot in slots.iter() {
            if now.saturating_sub(slot.last_used_ms.load(Ordering::Relaxed)) < idle {
                continue;
            }
            if let Ok(mut memory) = slot.memory.try_lock() {
                if !memory.is_empty() {
                    *memory = Vec::new();
                    released = true;
                }
            }
        }
        if released {
            // The load is over: hand back what its connections and requests left free too.
            trim_heap();
        }
    }
}

/// Returns freed heap memory to the system (glibc keeps it otherwise).
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it is safe to call at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn millis_since(clock: Instant) -> u64 {
    u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Makes glibc serve every allocation of 4 MiB or more (the Argon2 memory blocks) with its own
/// `mmap`, so freeing one returns it to the system. By default glibc raises that threshold
/// each time such a block is freed, and later blocks then come from heaps it keeps.
pub fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called once at start-up.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
    }
}

fn argon2_for(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

/// A fresh-salted Argon2id PHC string for `password`, computed in `memory`.
fn hash_with(
    params: &Params,
    password: &[u8],
    memory: &mut Vec<Block>,
) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt.decode_b64(&mut salt_bytes).map_err(argon2_error)?;
    let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    argon2_for(params)
        .hash_password_into_with_memory(password, salt_raw, &mut out, blocks(memory, params))
        .map_err(argon2_error)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(argon2_error)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(argon2_error)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches `stored`, recomputed with the stored hash's own algorithm and
/// parameters; the comparison is constant-time.
fn verify_with(
    stored: &PasswordHash<'_>,
    password: &[u8],
    memory: &mut Vec<Block>,
) -> Result<bool, HashError> {
    let algorithm = Algorithm::try_from(stored.algorithm).map_err(|_| HashError::CorruptHash)?;
    let version = stored
        .version
        .map_or(Ok(Version::V0x13), Version::try_from)
        .map_err(|_| HashError::CorruptHash)?;
    let params = Params::try_from(stored).map_err(|_| HashError::CorruptHash)?;
    let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
        return Err(HashError::CorruptHash);
    };
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|_| HashError::CorruptHash)?;
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params.clone())
        .hash_password_into_with_memory(password, salt_raw, &mut out, blocks(memory, &params))
        .map_err(argon2_error)?;
    let computed = Output::new(&out).map_err(argon2_error)?;
    // `Output`'s equality is constant-time.
    Ok(computed == expected)
}

/// The first `params.block_count()` blocks of the thread's memory, grown if a stored hash asks
/// for more than the configured parameters (an older, costlier setting).
fn blocks<'m>(memory: &'m mut Vec<Block>, params: &Params) -> &'m mut [Block] {
    let needed = params.block_count();
    if memory.len() < needed {
        memory.resize(needed, Block::new());
    }
    &mut memory[..needed]
}

fn argon2_error(e: impl std::error::Error + Send + Sync + 'static) -> HashError {
    HashError::Argon2(Box::new(e))
}

/// True when `hash` is not Argon2id v1.3 with exactly the configured costs.
fn needs_rehash(hash: &PasswordHash<'_>, params: &Params) -> bool {
    if hash.algorithm != Algorithm::Argon2id.ident() || hash.version != Some(Version::V0x13.into())
    {
        return true;
    }
    match Params::try_from(hash) {
        Ok(p) => {
            p.m_cost() != params.m_cost()
                || p.t_cost() != params.t_cost()
                || p.p_cost() != params.p_cost()
        }
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG_WAIT: Duration = Duration::from_secs(60);

    fn small(m: u32) -> Params {
        Params::new(m, 1, 1, None).unwrap()
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let h = Hasher::new(small(64), 2, LONG_WAIT).unwrap();
        let phc = h.hash("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert_eq!(
            h.verify("correct horse".into(), Some(phc.clone()))
                .await
                .unwrap(),
            Verified::Match {
                needs_rehash: false
            }
        );
        assert_eq!(
            h.verify("wrong".into(), Some(phc)).await.unwrap(),
            Verified::Mismatch
        );
    }

    #[tokio::test]
    async fn idle_threads_give_their_memory_back() {
        let h =
            Hasher::with_idle_release(small(64), 2, LONG_WAIT, Duration::from_millis(200)).unwrap();
        let held = |h: &Hasher| {
            h.inner
                .slots
                .iter()
                .filter(|s| !s.memory.lock().unwrap().is_empty())
                .count()
        };
        assert_eq!(held(&h), 0, "nothing is allocated before the first job");
        let (a, b) = (h.clone(), h.clone());
        let (x, y) = tokio::join!(a.hash("one".into()), b.hash("two".into()));
        assert!(x.is_ok() && y.is_ok());
        assert!(held(&h) >= 1);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(held(&h), 0, "idle threads keep their memory");
        h.hash("three".into()).await.unwrap();
        assert_eq!(held(&h), 1, "a new job allocates again");
    }

    #[tokio::test]
    async fn same_password_gets_a_fresh_salt() {
        let h = Hasher::new(small(64), 1, LONG_WAIT).unwrap();
        let a = h.hash("pw".into()).await.unwrap();
        let b = h.hash("pw".into()).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn unknown_user_never_matches_even_the_dummy_password() {
        let h = Hasher::new(small(64), 1, LONG_WAIT).unwrap();
        assert_eq!(
            h.verify(String::new(), None).await.unwrap(),
            Verified::Mismatch
        );
    }

    #[tokio::test]
    async fn old_parameters_ask_for_a_rehash() {
        let old = Hasher::new(small(64), 1, LONG_WAIT).unwrap();
        let phc = old.hash("pw".into()).await.unwrap();
        let new = Hasher::new(small(128), 1, LONG_WAIT).unwrap();
        assert_eq!(
            new.verify("pw".into(), Some(phc)).await.unwrap(),
            Verified::Match { needs_rehash: true }
        );
    }

    #[tokio::test]
    async fn a_check_is_refused_at_once_when_its_expected_wait_is_over_the_bound() {
        // One thread and a bound of 2.5 hash times: one running (done after one hash time),
        // one waiting (done after two); a third would be done after three, so it is refused
        // without waiting.
        let params = Params::new(32 * 1024, 8, 1, None).unwrap();
        // With one thread the time per check starts as the measured hash time.
        let measured = Hasher::new(params.clone(), 1, LONG_WAIT)
            .unwrap()
            .time_per_check();
        let h = Hasher::new(params, 1, measured * 5 / 2).unwrap();
        h.inner
            .check_nanos
            .store(nanos(measured), Ordering::Relaxed);
        let (a, b) = (h.clone(), h.clone());
        let first = tokio::spawn(async move { a.hash("one".into()).await });
        tokio::task::yield_now().await;
        let second = tokio::spawn(async move { b.hash("two".into()).await });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(matches!(
            h.hash("three".into()).await,
            Err(HashError::Overloaded)
        ));
        // Refused without waiting: the first hash (32 MiB, 8 passes) is still running.
        assert!(!first.is_finished());
        assert!(first.await.unwrap().is_ok() && second.await.unwrap().is_ok());
        // Room again.
        assert!(h.hash("four".into()).await.is_ok());
    }

    #[tokio::test]
    async fn hashes_verify_with_the_standard_argon2_api_and_back() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let h = Hasher::new(small(64), 1, LONG_WAIT).unwrap();
        // Ours verifies with the crate's own verifier...
        let ours = h.hash("pw".into()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon2_for(&small(64))
            .verify_password(b"pw", &parsed)
            .is_ok());
        // ...and a standard hash (also Argon2i, and costlier than our memory) verifies with ours.
        let salt = SaltString::generate(&mut OsRng);
        let costly = Argon2::new(Algorithm::Argon2i, Version::V0x13, small(256))
            .hash_password(b"pw", &salt)
            .unwrap()
            .to_string();
        assert_eq!(
            h.verify("pw".into(), Some(costly.clone())).await.unwrap(),
            Verified::Match { needs_rehash: true }
        );
        assert_eq!(
            h.verify("other".into(), Some(costly)).await.unwrap(),
            Verified::Mismatch
        );
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_is_an_error_not_a_match() {
        let h = Hasher::new(small(64), 1, LONG_WAIT).unwrap();
        assert!(matches!(
            h.verify("pw".into(), Some("not-a-phc".into())).await,
            Err(HashError::CorruptHash)
        ));
    }
}
