//! The outbox table: a message is leased by moving its due time to the lease's end and naming
//! its sender, in one `UPDATE ... RETURNING` on the one writing connection.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use time::OffsetDateTime;

use super::SqliteStore;
use crate::{
    clock::{from_millis, to_millis},
    store::{MailRecord, OutboxStore, StoreResult},
};

const MAIL_COLUMNS: &str = "id, recipient, kind, sealed, created_at, attempts, \
     next_attempt_at, lease_owner, last_error, failed";

fn mail_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<MailRecord> {
    Ok(MailRecord {
        id: row.get(0)?,
        recipient: row.get(1)?,
        kind: row.get(2)?,
        sealed: row.get(3)?,
        created_at: from_millis(row.get(4)?),
        attempts: row.get(5)?,
        next_attempt_at: from_millis(row.get(6)?),
        lease_owner: row.get(7)?,
        last_error: row.get(8)?,
        failed: row.get(9)?,
    })
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn enqueue_mail(&self, mail: &MailRecord) -> StoreResult<()> {
        let m = mail.clone();
        self.write(move |c| {
            c.prepare_cached(&format!(
                "INSERT INTO outbox ({MAIL_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ))?
            .execute(params![
                m.id,
                m.recipient,
                m.kind,
                m.sealed,
                to_millis(m.created_at),
                m.attempts,
                to_millis(m.next_attempt_at),
                m.lease_owner,
                m.last_error,
                m.failed
            ])
            .map(drop)
        })
        .await
    }

    async fn lease_mail(
        &self,
        owner: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StoreResult<Option<MailRecord>> {
        let owner = owner.to_owned();
        self.write(move |c| {
            c.prepare_cached(&format!(
                "UPDATE outbox SET next_attempt_at = ?2, lease_owner = ?3
                 WHERE id = (SELECT id FROM outbox WHERE failed = 0 AND next_attempt_at <= ?1
                             ORDER BY next_attempt_at LIMIT 1)
                 RETURNING {MAIL_COLUMNS}"
            ))?
            .query_row(
                params![to_millis(now), to_millis(until), owner],
                mail_from_row,
            )
            .optional()
        })
        .await
    }

    async fn mail_sent(&self, id: &str, owner: &str) -> StoreResult<bool> {
        let (id, owner) = (id.to_owned(), owner.to_owned());
        self.write(move |c| {
            c.prepare_cached("DELETE FROM outbox WHERE id = ?1 AND lease_owner = ?2")?
                .execute(params![id, owner])
                .map(|n| n == 1)
        })
        .await
    }

    async fn mail_failed(
        &self,
        id: &str,
        owner: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> StoreResult<bool> {
        let (id, owner, error) = (id.to_owned(), owner.to_owned(), error.to_owned());
        self.write(move |c| {
            c.prepare_cached(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?3, lease_owner = NULL,
                        next_attempt_at = COALESCE(?4, next_attempt_at), failed = ?4 IS NULL
                 WHERE id = ?1 AND lease_owner = ?2",
            )?
            .execute(params![id, owner, error, retry_at.map(to_millis)])
            .map(|n| n == 1)
        })
        .await
    }

    async fn replace_mail_sealed(&self, id: &str, expected: &str, new: &str) -> StoreResult<bool> {
        let (id, expected, new) = (id.to_owned(), expected.to_owned(), new.to_owned());
        self.write(move |c| {
            c.prepare_cached("UPDATE outbox SET sealed = ?3 WHERE id = ?1 AND sealed = ?2")?
                .execute(params![id, expected, new])
                .map(|n| n == 1)
        })
        .await
    }

    async fn outbox(&self) -> StoreResult<Vec<MailRecord>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {MAIL_COLUMNS} FROM outbox ORDER BY failed, next_attempt_at"
            ))?
            .query_map([], mail_from_row)?
            .collect()
        })
        .await
    }
}
