//! Brute-force resistance: per-account lockout and per-IP rate limits.
//!
//! The counters live in the store, so they hold across restarts and are shared by every server
//! instance on one database. Unknown user names are counted exactly like real ones, and a locked
//! name is refused before its password is checked, so neither the reply nor its timing tells
//! whether an account exists.

use std::{net::IpAddr, sync::Arc, time::Duration};

use time::OffsetDateTime;

use crate::store::{Counter, CounterStore, StoreResult};

/// How long failures of one account are remembered after the last one.
const FAILURE_MEMORY: Duration = Duration::from_secs(24 * 3600);
/// The longest lock, however many failures.
const MAX_LOCK: Duration = Duration::from_secs(24 * 3600);
/// The IP limits count per fixed minute.
const WINDOW: Duration = Duration::from_secs(60);

/// The limits in force.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Consecutive failures of one account name before it is locked.
    pub lockout_threshold: u32,
    /// The first lock; each further failure doubles it.
    pub lockout_duration: Duration,
    /// Attempts per client IP per minute (per kind of attempt); 0 = no IP limit.
    pub ip_rate_limit: u32,
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

/// The account-name failure counter, read before a credential check.
#[derive(Debug, Clone, Copy)]
pub struct FailureState(Option<Counter>);

/// The limits, applied to counters in the store. Time comes from the caller (`now`), so the
/// rules are testable with a manual clock.
#[derive(Clone)]
pub struct Throttle {
    store: Arc<dyn CounterStore>,
    policy: ThrottlePolicy,
}

impl Throttle {
    /// Applies `policy` to the counters in `store`.
    pub fn new(store: Arc<dyn CounterStore>, policy: ThrottlePolicy) -> Self {
        Self { store, policy }
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
        let key = format!("ip:{kind}:{ip}:{window}");
        let counter = self.store.bump_counter(&key, now, WINDOW).await?;
        if counter.count <= limit {
            return Ok(Ok(()));
        }
        let window_end = (window + 1) * WINDOW.as_secs() as i64;
        let wait = (window_end - now.unix_timestamp()).max(1) as u64;
        Ok(Err(Limited {
            retry_after: Duration::from_secs(wait),
        }))
    }

    /// The failure state of an account name; `Err(Limited)` while it is locked.
    pub async fn check_account(
        &self,
        name: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Result<FailureState, Limited>> {
        let counter = self.store.get_counter(&account_key(name), now).await?;
        Ok(match counter.and_then(|c| lock_end(&c, &self.policy)) {
            Some(end) if end > now => Err(Limited {
                retry_after: round_up(end - now),
            }),
            _ => Ok(FailureState(counter)),
        })
    }

    /// A wrong password (or unknown name).
    pub async fn record_failure(&self, name: &str, now: OffsetDateTime) -> StoreResult<()> {
        self.store
            .bump_counter(&account_key(name), now, FAILURE_MEMORY)
            .await
            .map(drop)
    }

    /// A correct password: forget earlier failures (a write only if there were any).
    pub async fn record_success(&self, name: &str, state: FailureState) -> StoreResult<()> {
        match state.0 {
            Some(_) => self.store.delete_counter(&account_key(name)).await,
            None => Ok(()),
        }
    }
}

fn account_key(name: &str) -> String {
    format!("fail:{name}")
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
