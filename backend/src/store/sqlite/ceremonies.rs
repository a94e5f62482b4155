//! WebAuthn ceremonies in progress: the `ceremonies` table, each row taken once.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use time::OffsetDateTime;

use super::{sweep_expired, SqliteStore};
use crate::{
    clock::to_millis,
    store::{CeremonyStore, StoreResult},
};

#[async_trait]
impl CeremonyStore for SqliteStore {
    async fn insert_ceremony(
        &self,
        id: &str,
        user_id: Option<&str>,
        state: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        let (id, user_id, state) = (id.to_owned(), user_id.map(str::to_owned), state.to_owned());
        self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO ceremonies (id, user_id, state, expires_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![id, user_id, state, to_millis(expires_at)])
            .map(drop)
        })
        .await
    }

    async fn take_ceremony(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(Option<String>, String)>> {
        let id = id.to_owned();
        self.write(move |c| {
            // Sweep ended ceremonies while writing anyway (abandoned ones are never taken).
            sweep_expired(c, "ceremonies", now)?;
            c.prepare_cached(
                "DELETE FROM ceremonies WHERE id = ?1 RETURNING user_id, state, expires_at",
            )?
            .query_row([id], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .optional()
            .map(|found| {
                found
                    .filter(|(_, _, expires)| *expires > to_millis(now))
                    .map(|(user, state, _)| (user, state))
            })
        })
        .await
    }
}
