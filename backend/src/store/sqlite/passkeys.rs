//! Passkeys: the `passkeys` table. Adding or removing one forgets the account's cached
//! sessions, which carry its passkey count.

use async_trait::async_trait;
use rusqlite::params;
use time::OffsetDateTime;

use super::SqliteStore;
use crate::{
    clock::{from_millis, to_millis},
    store::{PasskeyRecord, PasskeyStore, StoreResult},
};

fn passkey_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PasskeyRecord> {
    Ok(PasskeyRecord {
        credential_id: r.get(0)?,
        user_id: r.get(1)?,
        name: r.get(2)?,
        passkey: r.get(3)?,
        created_at: from_millis(r.get(4)?),
        last_used_at: r.get::<_, Option<i64>>(5)?.map(from_millis),
    })
}

#[async_trait]
impl PasskeyStore for SqliteStore {
    async fn insert_passkey(&self, p: &PasskeyRecord) -> StoreResult<()> {
        let p = p.clone();
        self.write_user(&p.user_id.clone(), move |c, _| {
            c.prepare_cached(
                "INSERT INTO passkeys (credential_id, user_id, name, passkey, created_at, last_used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                p.credential_id,
                p.user_id,
                p.name,
                p.passkey,
                to_millis(p.created_at),
                p.last_used_at.map(to_millis)
            ])
            .map(drop)
        })
        .await
    }

    async fn user_passkeys(&self, user_id: &str) -> StoreResult<Vec<PasskeyRecord>> {
        let user_id = user_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT credential_id, user_id, name, passkey, created_at, last_used_at
                 FROM passkeys WHERE user_id = ?1 ORDER BY created_at, credential_id",
            )?
            .query_map([user_id], passkey_from_row)?
            .collect()
        })
        .await
    }

    async fn update_passkey(
        &self,
        credential_id: &str,
        passkey: &str,
        used_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let (id, passkey) = (credential_id.to_owned(), passkey.to_owned());
        self.write(move |c| {
            c.prepare_cached(
                "UPDATE passkeys SET passkey = ?2, last_used_at = ?3 WHERE credential_id = ?1",
            )?
            .execute(params![id, passkey, to_millis(used_at)])
            .map(|n| n == 1)
        })
        .await
    }

    async fn count_user_passkeys(&self, user_id: &str) -> StoreResult<u64> {
        let user_id = user_id.to_owned();
        self.read(move |c| {
            c.prepare_cached("SELECT COUNT(*) FROM passkeys WHERE user_id = ?1")?
                .query_row([user_id], |r| r.get(0))
        })
        .await
    }

    async fn delete_passkey(&self, user_id: &str, credential_id: &str) -> StoreResult<bool> {
        let id = credential_id.to_owned();
        self.write_user(user_id, move |c, user_id| {
            c.prepare_cached("DELETE FROM passkeys WHERE user_id = ?1 AND credential_id = ?2")?
                .execute([user_id, &id])
                .map(|n| n == 1)
        })
        .await
    }

    async fn delete_user_passkeys(&self, user_id: &str) -> StoreResult<u64> {
        self.write_user(user_id, |c, user_id| {
            c.prepare_cached("DELETE FROM passkeys WHERE user_id = ?1")?
                .execute([user_id])
                .map(|n| n as u64)
        })
        .await
    }
}
