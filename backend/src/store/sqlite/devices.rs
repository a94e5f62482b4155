//! Browsers known to accounts: the `devices` table.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use time::OffsetDateTime;

use super::{sweep_expired, SqliteStore};
use crate::{
    clock::{from_millis, to_millis},
    store::{DeviceRecord, DeviceStore, StoreResult},
};

#[async_trait]
impl DeviceStore for SqliteStore {
    async fn insert_device(
        &self,
        d: &DeviceRecord,
        now: OffsetDateTime,
        keep: usize,
    ) -> StoreResult<()> {
        let d = d.clone();
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        self.write(move |c| {
            sweep_expired(c, "devices", now)?;
            c.prepare_cached(
                "INSERT OR REPLACE INTO devices (token_hash, user_id, user_name, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                d.token_hash,
                d.user_id,
                d.user_name,
                to_millis(d.expires_at)
            ])?;
            c.prepare_cached(
                "DELETE FROM devices WHERE user_id = ?1 AND token_hash NOT IN (
                     SELECT token_hash FROM devices WHERE user_id = ?1
                     ORDER BY expires_at DESC LIMIT ?2)",
            )?
            .execute(params![d.user_id, keep])
            .map(drop)
        })
        .await
    }

    async fn find_device(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<DeviceRecord>> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT token_hash, user_id, user_name, expires_at FROM devices
                 WHERE token_hash = ?1 AND expires_at > ?2",
            )?
            .query_row(params![token_hash, to_millis(now)], |r| {
                Ok(DeviceRecord {
                    token_hash: r.get(0)?,
                    user_id: r.get(1)?,
                    user_name: r.get(2)?,
                    expires_at: from_millis(r.get(3)?),
                })
            })
            .optional()
        })
        .await
    }

    async fn delete_user_devices(&self, user_id: &str) -> StoreResult<u64> {
        let user_id = user_id.to_owned();
        self.write(move |c| {
            c.prepare_cached("DELETE FROM devices WHERE user_id = ?1")?
                .execute([&user_id])
                .map(|n| n as u64)
        })
        .await
    }
}
