//! Time as the service sees it: UTC, millisecond precision (what both stores keep), RFC 3339 on
//! the wire.
//!
//! The use cases never read the wall clock themselves: they get a [`Clock`], so expiry, lockout,
//! rate windows and one-time codes are tested with a [`ManualClock`] instead of sleeping, in the
//! use cases' own tests and, through [`crate::App::build_with`], against the running server.

use std::sync::{Arc, Mutex};

use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// Where the use cases get "now" from.
pub trait Clock: Send + Sync + 'static {
    /// The current time, in whole milliseconds.
    fn now(&self) -> OffsetDateTime;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        now()
    }
}

/// A clock that moves only when told to: for tests of time-based rules.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<OffsetDateTime>>);

impl ManualClock {
    /// Starts at the current wall-clock time (so stores that sweep by real time keep working).
    pub fn new() -> Self {
        Self(Arc::new(Mutex::new(now())))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t = truncate(*t + by);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The wall clock now, truncated to whole milliseconds so a value survives a round trip through
/// either store. Use cases take a [`Clock`] instead; this is for stores and tests.
pub fn now() -> OffsetDateTime {
    truncate(OffsetDateTime::now_utc())
}

fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    from_millis(to_millis(t))
}

/// Milliseconds since the Unix epoch, as both stores keep time.
pub fn to_millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The inverse of [`to_millis`]; out-of-range values become the epoch.
pub fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// RFC 3339 in UTC, e.g. `2026-11-27T10:00:00.123Z`.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_trip_and_format() {
        let t = now();
        assert_eq!(from_millis(to_millis(t)), t);
        let s = rfc3339(from_millis(1_700_000_000_123));
        assert_eq!(s, "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = ManualClock::new();
        let start = clock.now();
        assert_eq!(clock.now(), start);
        clock.advance(std::time::Duration::from_millis(1500));
        assert_eq!(clock.now() - start, time::Duration::milliseconds(1500));
    }
}
