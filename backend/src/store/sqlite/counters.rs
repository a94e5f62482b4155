//! Counters of events that expire: the `counters` table, written without an fsync each
//! (see `without_fsync`).

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use time::OffsetDateTime;

use super::{sweep_expired, without_fsync, SqliteStore};
use crate::{
    clock::{from_millis, to_millis},
    store::{prefix_end, Counter, CounterStore, StoreResult},
};

#[async_trait]
impl CounterStore for SqliteStore {
    async fn bump_counter(
        &self,
        key: &str,
        now: OffsetDateTime,
        ttl: std::time::Duration,
    ) -> StoreResult<Counter> {
        let key = key.to_owned();
        let (now, expires) = (to_millis(now), to_millis(now + ttl));
        self.write(move |c| {
            without_fsync(c, |tx| {
                sweep_expired(tx, "counters", from_millis(now))?;
                tx.prepare_cached(
                    "INSERT INTO counters (key, count, last_at, expires_at) VALUES (?1, 1, ?2, ?3)
                     ON CONFLICT(key) DO UPDATE SET count = count + 1, last_at = ?2,
                                                    expires_at = ?3
                     RETURNING count, last_at, expires_at",
                )?
                .query_row(params![key, now, expires], counter_from_row)
            })
        })
        .await
    }

    async fn get_counter(&self, key: &str, now: OffsetDateTime) -> StoreResult<Option<Counter>> {
        let key = key.to_owned();
        self.read(move |c| {
            c.prepare_cached("SELECT count, last_at, expires_at FROM counters WHERE key = ?1 AND expires_at > ?2")?.query_row(
                params![key, to_millis(now)],
                counter_from_row,
            )
            .optional()
        })
        .await
    }

    async fn delete_counter(&self, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.write(move |c| {
            without_fsync(c, |tx| {
                tx.prepare_cached("DELETE FROM counters WHERE key = ?1")?
                    .execute([key])
                    .map(drop)
            })
        })
        .await
    }

    async fn delete_counters_with_prefix(&self, prefix: &str) -> StoreResult<u64> {
        let (start, end) = (prefix.to_owned(), prefix_end(prefix));
        self.write(move |c| {
            without_fsync(c, |tx| {
                tx.prepare_cached("DELETE FROM counters WHERE key >= ?1 AND key < ?2")?
                    .execute([start, end])
                    .map(|n| n as u64)
            })
        })
        .await
    }
}

fn counter_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Counter> {
    Ok(Counter {
        count: r.get(0)?,
        last_at: from_millis(r.get(1)?),
        expires_at: from_millis(r.get(2)?),
    })
}
