//! Argon2id password hashing on a bounded pool of blocking threads.
//!
//! Hashing is deliberately slow (tens of milliseconds of CPU and ~19 MiB of memory), so it never
//! runs on the async runtime: at most `threads` hashes run at once on tokio's blocking pool,
//! which bounds CPU and memory. In front of the pool is an admission queue of bounded length:
//! when it is full a request is refused at once ([`HashError::Overloaded`], a `503`) instead of
//! waiting, so an overload costs clients a retry, not minutes of latency.
//!
//! Verifying an unknown user runs against a dummy hash with the same parameters, so a login costs
//! the same whether or not the account exists.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Instant,
};

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHashString, SaltString},
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
};
use tokio::sync::Semaphore;

/// Why hashing failed. None of these carry the password.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2 failed: {0}")]
    Argon2(argon2::password_hash::Error),
    #[error("stored password hash is not a valid PHC string")]
    CorruptHash,
    #[error("hashing worker stopped unexpectedly")]
    Worker,
    /// The admission queue is full.
    #[error("too many password checks waiting")]
    Overloaded,
}

/// The result of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// Correct. `needs_rehash` is true when the stored hash used other parameters than the ones
    /// configured now, so it should be replaced.
    Match {
        needs_rehash: bool,
    },
    Mismatch,
}

/// Hashes and verifies passwords. Cheap to clone.
#[derive(Clone)]
pub struct Hasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    /// Running hashes.
    permits: Arc<Semaphore>,
    /// Running plus waiting hashes.
    admission: Arc<Semaphore>,
    waiting: AtomicUsize,
    dummy: PasswordHashString,
}

impl Hasher {
    /// Creates the hasher and its dummy hash (one hash at start-up): `threads` hashes run at
    /// once and at most `queue` more wait.
    pub fn new(params: Params, threads: usize, queue: usize) -> Result<Self, HashError> {
        let mut random = [0u8; 32];
        argon2::password_hash::rand_core::RngCore::fill_bytes(&mut OsRng, &mut random);
        let dummy = hash_blocking(&params, &random)?;
        let threads = threads.max(1);
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                permits: Arc::new(Semaphore::new(threads)),
                admission: Arc::new(Semaphore::new(threads + queue)),
                waiting: AtomicUsize::new(0),
                dummy,
            }),
        })
    }

    /// Hashes `password` (already normalised) into a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let params = self.inner.params.clone();
        self.run(move || hash_blocking(&params, password.as_bytes()).map(|h| h.to_string()))
            .await
    }

    /// Checks `password` against `stored`, or against the dummy hash when there is no account.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<Verified, HashError> {
        let inner = self.inner.clone();
        self.run(move || {
            let (phc, real) = match &stored {
                Some(s) => (s.as_str(), true),
                None => (inner.dummy.as_str(), false),
            };
            let parsed = PasswordHash::new(phc).map_err(|_| HashError::CorruptHash)?;
            let ok = match argon2_for(&inner.params).verify_password(password.as_bytes(), &parsed) {
                Ok(()) => true,
                Err(argon2::password_hash::Error::Password) => false,
                Err(e) => return Err(HashError::Argon2(e)),
            };
            Ok(if ok && real {
                Verified::Match {
                    needs_rehash: needs_rehash(&parsed, &inner.params),
                }
            } else {
                Verified::Mismatch
            })
        })
        .await
    }

    /// Runs `job` on the blocking pool once a worker permit is free, if the admission queue has
    /// room. Both permits travel with the job, so a cancelled request still cannot push more
    /// than `threads` hashes onto the CPU.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let inner = &self.inner;
        let admitted = inner
            .admission
            .clone()
            .try_acquire_owned()
            .map_err(|_| HashError::Overloaded)?;
        let waiting = inner.waiting.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::gauge!("hash_queue_length").set(waiting as f64);
        let permit = inner.permits.clone().acquire_owned().await;
        let waiting = inner.waiting.fetch_sub(1, Ordering::Relaxed) - 1;
        metrics::gauge!("hash_queue_length").set(waiting as f64);
        let permit = permit.map_err(|_| HashError::Worker)?;
        tokio::task::spawn_blocking(move || {
            let _permits = (permit, admitted);
            let started = Instant::now();
            let result = job();
            metrics::histogram!("hash_duration_seconds").record(started.elapsed().as_secs_f64());
            result
        })
        .await
        .map_err(|_| HashError::Worker)?
    }
}

fn argon2_for(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_blocking(params: &Params, password: &[u8]) -> Result<PasswordHashString, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2_for(params)
        .hash_password(password, &salt)
        .map(|h| h.serialize())
        .map_err(HashError::Argon2)
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

    fn small(m: u32) -> Params {
        Params::new(m, 1, 1, None).unwrap()
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let h = Hasher::new(small(64), 2, 2).unwrap();
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
    async fn same_password_gets_a_fresh_salt() {
        let h = Hasher::new(small(64), 1, 1).unwrap();
        let a = h.hash("pw".into()).await.unwrap();
        let b = h.hash("pw".into()).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn unknown_user_never_matches_even_the_dummy_password() {
        let h = Hasher::new(small(64), 1, 1).unwrap();
        assert_eq!(
            h.verify(String::new(), None).await.unwrap(),
            Verified::Mismatch
        );
    }

    #[tokio::test]
    async fn old_parameters_ask_for_a_rehash() {
        let old = Hasher::new(small(64), 1, 1).unwrap();
        let phc = old.hash("pw".into()).await.unwrap();
        let new = Hasher::new(small(128), 1, 1).unwrap();
        assert_eq!(
            new.verify("pw".into(), Some(phc)).await.unwrap(),
            Verified::Match { needs_rehash: true }
        );
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        // One running, one waiting; a third is refused without waiting.
        let h = Hasher::new(Params::new(32 * 1024, 8, 1, None).unwrap(), 1, 1).unwrap();
        let (a, b) = (h.clone(), h.clone());
        let first = tokio::spawn(async move { a.hash("one".into()).await });
        tokio::task::yield_now().await;
        let second = tokio::spawn(async move { b.hash("two".into()).await });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let started = Instant::now();
        assert!(matches!(
            h.hash("three".into()).await,
            Err(HashError::Overloaded)
        ));
        assert!(started.elapsed() < std::time::Duration::from_millis(20));
        assert!(first.await.unwrap().is_ok() && second.await.unwrap().is_ok());
        // Room again.
        assert!(h.hash("four".into()).await.is_ok());
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_is_an_error_not_a_match() {
        let h = Hasher::new(small(64), 1, 1).unwrap();
        assert!(matches!(
            h.verify("pw".into(), Some("not-a-phc".into())).await,
            Err(HashError::CorruptHash)
        ));
    }
}
