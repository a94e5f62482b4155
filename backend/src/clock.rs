//! Time as the service sees it: UTC, millisecond precision (what both stores keep), RFC 3339 on
//! the wire.

use time::{format_description::well_known::Rfc3339, OffsetDateTime};

/// Now, truncated to whole milliseconds so a value survives a round trip through either store.
pub fn now() -> OffsetDateTime {
    from_millis(to_millis(OffsetDateTime::now_utc()))
}

pub fn to_millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

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
}
