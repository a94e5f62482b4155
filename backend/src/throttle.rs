//! Brute-force resistance: per-account lockout and per-IP rate limits.
//!
//! The counters live in the store, so they hold across restarts and are shared by every server
//! instance on one database. Unknown user names are counted exactly like real ones, and a locked
//! name is refused before its password is checked, so neither the reply nor its timing tells
//! whether an account exists. Each attempt is counted before its check ([`Throttle::reserve_attempt`]),
//! browsers known to an account count apart from the rest ([`failure_key`]), and a client over
//! its per-IP limit is refused from memory without a store write.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use time::OffsetDateTime;

use crate::store::{Counter, CounterStore, StoreResult};

/// How long failures of one account are remembered after the last one.
const FAILURE_MEMORY: Duration = Duration::from_secs(24 * 3600);
/// The longest lock, however many failures.
const MAX_LOCK: Duration = Duration::from_secs(24 * 3600);
/// The IP limits count per fixed minute.
const WINDOW: Duration = Duration::from_secs(60);
/// How long an attempt waits for its turn among others on the same account (real time).
const WAIT_FOR_TURN: Duration = Duration::from_secs(5);

/// The limits in force.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Consecutive failures of one account name before it is locked.
    pub lockout_threshold: u32,
    /// The first lock; each further failure doubles it.
    pub lockout_duration: Duration,
    /// Attempts per client IP per minute (per kind of attempt); 0 = no IP limit.
    pub ip_rate_limit: u32,
    /// IPv6 clients are counted per network of this prefix length: one host usually holds a
    /// whole /64, so counting single addresses would give it 2^64 budgets.
    pub ipv6_prefix: u8,
}

/// Which per-IP budget an attempt spends.
#[derive(Debug, Clone, Copy)]
pub enum Attempt {
    /// Login, password change, account deletion.
    Credentials,
    /// A new account.
    Registration,
}

/// Over a limit: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// At least one second.
    pub retry_after: Duration,
}

/// The limits, applied to counters in the store. Time comes from the caller (`now`), so the
/// rules are testable with a manual clock.
#[derive(Clone)]
pub struct Throttle {
    store: Arc<dyn CounterStore>,
    policy: ThrottlePolicy,
    over_limit: Arc<OverLimit>,
    turns: Arc<Turns>,
}

/// A turn per failure key in this process: at most the lockout threshold of attempts on one
/// account run at once here, the rest queue. Without it, attempts in flight (each counted
/// before its check) made later honest attempts look like guesses past the threshold.
#[derive(Default)]
struct Turns(Mutex<HashMap<String, Arc<Semaphore>>>);

impl Turns {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Semaphore>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn gate(&self, key: &str, size: usize) -> Arc<Semaphore> {
        self.map()
            .entry(key.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(size)))
            .clone()
    }

    /// Forgets the gate of `key` once nobody holds or waits for a turn.
    fn tidy(&self, key: &str) {
        let mut map = self.map();
        if map.get(key).is_some_and(|g| Arc::strong_count(g) == 1) {
            map.remove(key);
        }
    }
}

/// A turn to attempt on an account (see [`Throttle::take_turn`]), given back when dropped.
pub struct Turn {
    permit: Option<OwnedSemaphorePermit>,
    turns: Arc<Turns>,
    key: String,
}

impl Drop for Turn {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.turns.tidy(&self.key);
    }
}

/// Which clients this process has seen go over their per-IP limit, until their window ends.
/// The store stays the source of truth across instances; this only spares it the writes of a
/// flood that is already refused (each instance counts at most one attempt past the limit).
#[derive(Default)]
struct OverLimit(Mutex<HashMap<String, i64>>);

/// Clients remembered at most; past this, entries of ended windows are dropped.
const OVER_LIMIT_CAPACITY: usize = 10_000;

impl OverLimit {
    /// When the window of `key` ends, if it is known to be over its limit at `now`.
    fn until(&self, key: &str, now: i64) -> Option<i64> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key).copied().filter(|&end| end > now)
    }

    fn insert(&self, key: String, window_end: i64, now: i64) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= OVER_LIMIT_CAPACITY {
            map.retain(|_, &mut end| end > now);
        }
        if map.len() < OVER_LIMIT_CAPACITY {
            map.insert(key, window_end);
        }
    }
}

impl Throttle {
    /// Applies `policy` to the counters in `store`.
    pub fn new(store: Arc<dyn CounterStore>, policy: ThrottlePolicy) -> Self {
        Self {
            store,
            policy,
            over_limit: Arc::default(),
            turns: Arc::default(),
        }
    }

    /// Counts an attempt from `ip`; `Err(Limited)` when it is over the per-minute limit.
    pub async fn spend_ip(
        &self,
        attempt: Attempt,
        ip: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> StoreResult<Result<(), Limited>> {
        let (limit, Some(ip)) = (self.policy.ip_rate_limit, ip) else {
            return Ok(Ok(()));
        };
        if limit == 0 {
            return Ok(Ok(()));
        }
        let window = now.unix_timestamp().div_euclid(WINDOW.as_secs() as i64);
        let kind = match attempt {
            Attempt::Credentials => "cred",
            Attempt::Registration => "reg",
        };
        let key = format!(
            "ip:{kind}:{}:{window}",
            client_key(ip, self.policy.ipv6_prefix)
        );
        let window_end = (window + 1) * WINDOW.as_secs() as i64;
        let limited = || Limited {
            retry_after: Duration::from_secs((window_end - now.unix_timestamp()).max(1) as u64),
        };
        // Already over: refuse without counting (no store write per refused attempt).
        if self.over_limit.until(&key, now.unix_timestamp()).is_some() {
            return Ok(Err(limited()));
        }
        let counter = self.store.bump_counter(&key, now, WINDOW).await?;
        if counter.count <= limit {
            return Ok(Ok(()));
        }
        self.over_limit
            .insert(key, window_end, now.unix_timestamp());
        Ok(Err(limited()))
    }

    /// The failures counted so far under `key` (see [`failure_key`]); `Err(Limited)` while it
    /// is locked.
    pub async fn check_account(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Result<u32, Limited>> {
        let counter = self.store.get_counter(key, now).await?;
        Ok(self
            .locked(counter.as_ref(), now)
            .map(|()| counter.map_or(0, |c| c.count)))
    }

    /// Counts this attempt as a failure before its password is checked; `seen` is what
    /// [`Throttle::check_account`] counted. The count is atomic, so of guesses sent at once
    /// no more get checked than the threshold allows, and once it is reached (between locks)
    /// only the one attempt that follows `seen` directly: the rest get `Err(Limited)`. A
    /// success gives the reservation back ([`Throttle::record_success`]).
    pub async fn reserve_attempt(
        &self,
        key: &str,
        seen: u32,
        now: OffsetDateTime,
    ) -> StoreResult<Result<(), Limited>> {
        let counter = self.store.bump_counter(key, now, FAILURE_MEMORY).await?;
        if counter.count <= self.policy.lockout_threshold || counter.count == seen + 1 {
            return Ok(Ok(()));
        }
        Ok(Err(self.locked(Some(&counter), now).err().unwrap_or(
            Limited {
                retry_after: Duration::from_secs(1),
            },
        )))
    }

    /// Waits (up to five seconds) for a turn to attempt on the account under `key`: at most
    /// the lockout threshold of attempts run at once in this process, so parallel honest
    /// logins to one account are served in turn instead of refused, while parallel guesses
    /// stay capped (each turn still checks the lock and reserves its attempt).
    pub async fn take_turn(&self, key: &str) -> Result<Turn, Limited> {
        let size = usize::try_from(self.policy.lockout_threshold).unwrap_or(usize::MAX);
        let gate = self.turns.gate(key, size.clamp(1, Semaphore::MAX_PERMITS));
        let permit = tokio::time::timeout(WAIT_FOR_TURN, gate.acquire_owned()).await;
        let turn = Turn {
            permit: permit.ok().and_then(Result::ok),
            turns: self.turns.clone(),
            key: key.to_owned(),
        };
        if turn.permit.is_none() {
            return Err(Limited {
                retry_after: Duration::from_secs(1),
            });
        }
        Ok(turn)
    }

    /// When the lock under `key` ends, if it is locked at `now` (for operators).
    pub async fn locked_until(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OffsetDateTime>> {
        let counter = self.store.get_counter(key, now).await?;
        Ok(counter
            .and_then(|c| lock_end(&c, &self.policy))
            .filter(|end| *end > now))
    }

    /// Forgets every failure count of an account whose failures are counted under `names`:
    /// the shared budget and each known browser's.
    pub async fn forget_failures(&self, names: &[String]) -> StoreResult<()> {
        for name in names {
            self.store.delete_counter(&failure_key(name, None)).await?;
            self.store
                .delete_counters_with_prefix(&failure_key(name, Some("")))
                .await?;
        }
        Ok(())
    }

    /// Counts one wrong answer to a question asked again and again (a set-up's code), for
    /// a day; how many so far.
    pub async fn count_wrong_answer(&self, key: &str, now: OffsetDateTime) -> StoreResult<u32> {
        Ok(self
            .store
            .bump_counter(key, now, FAILURE_MEMORY)
            .await?
            .count)
    }

    /// A correct password: forget the failures, this attempt's reservation included.
    pub async fn record_success(&self, key: &str) -> StoreResult<()> {
        self.store.delete_counter(key).await
    }

    fn locked(&self, counter: Option<&Counter>, now: OffsetDateTime) -> Result<(), Limited> {
        match counter.and_then(|c| lock_end(c, &self.policy)) {
            Some(end) if end > now => Err(Limited {
                retry_after: round_up(end - now),
            }),
            _ => Ok(()),
        }
    }
}

/// Whose budget an address spends: an IPv4 address itself (also when IPv4-mapped), an IPv6
/// address's network of `prefix` bits.
fn client_key(ip: IpAddr, prefix: u8) -> String {
    match crate::client::network(ip, prefix) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(network) => format!("{network}/{}", prefix.min(128)),
    }
}

/// Whose failures an attempt on account `name` counts against: browsers not known to the
/// account share one budget (a guesser, or a new browser of the owner's), while each browser
/// known to it (by the hash of its device token) has its own. So a guesser can lock out every
/// unknown browser, but not the owner's.
pub fn failure_key(name: &str, known_device: Option<&str>) -> String {
    match known_device {
        None => format!("fail:{name}"),
        Some(device) => format!("fail:{name}:device:{device}"),
    }
}

/// When the lock implied by `c` ends, if `c` has reached the threshold: the first lock lasts
/// `lockout_duration` from the last failure, and every failure beyond the threshold doubles it.
pub fn lock_end(c: &Counter, p: &ThrottlePolicy) -> Option<OffsetDateTime> {
    let beyond = c.count.checked_sub(p.lockout_threshold)?;
    let factor = 1u32 << beyond.min(16);
    let lock = p.lockout_duration.saturating_mul(factor).min(MAX_LOCK);
    Some(c.last_at + lock)
}

/// Whole seconds, at least one (for `Retry-After`).
fn round_up(d: time::Duration) -> Duration {
    let ms = d.whole_milliseconds().max(0) as u64;
    Duration::from_secs(ms.div_ceil(1000).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock;

    fn counter(count: u32, last_at: OffsetDateTime) -> Counter {
        Counter {
            count,
            last_at,
            expires_at: last_at + FAILURE_MEMORY,
        }
    }

    #[test]
    fn locks_start_at_the_threshold_and_double() {
        let p = ThrottlePolicy {
            lockout_threshold: 3,
            lockout_duration: Duration::from_secs(60),
            ip_rate_limit: 0,
            ipv6_prefix: 64,
        };
        let t = clock::now();
        assert_eq!(lock_end(&counter(2, t), &p), None);
        assert_eq!(
            lock_end(&counter(3, t), &p),
            Some(t + Duration::from_secs(60))
        );
        assert_eq!(
            lock_end(&counter(4, t), &p),
            Some(t + Duration::from_secs(120))
        );
        assert_eq!(
            lock_end(&counter(5, t), &p),
            Some(t + Duration::from_secs(240))
        );
        // Never longer than a day, never permanent.
        assert_eq!(lock_end(&counter(500, t), &p), Some(t + MAX_LOCK));
    }

    #[test]
    fn ipv6_clients_are_counted_per_network() {
        let key = |ip: &str, prefix| client_key(ip.parse().unwrap(), prefix);
        assert_eq!(key("2001:db8::1", 64), key("2001:db8::ffff:1", 64));
        assert_eq!(key("2001:db8::1", 64), "2001:db8::/64");
        assert_ne!(key("2001:db8::1", 64), key("2001:db8:0:1::1", 64));
        assert_ne!(key("2001:db8::1", 128), key("2001:db8::2", 128));
        assert_eq!(key("2001:db8:0:1::1", 48), key("2001:db8::1", 48));
        assert_eq!(key("203.0.113.7", 64), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7", 64), "203.0.113.7");
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(
            round_up(time::Duration::milliseconds(1)),
            Duration::from_secs(1)
        );
        assert_eq!(
            round_up(time::Duration::milliseconds(1001)),
            Duration::from_secs(2)
        );
        assert_eq!(
            round_up(time::Duration::milliseconds(-5)),
            Duration::from_secs(1)
        );
    }
}
