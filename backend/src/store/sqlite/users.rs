//! Accounts: the `users` table, keyed by canonical name (unique) and by id.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use time::OffsetDateTime;

use super::{defer, SqliteStore};
use crate::{
    clock::{from_millis, to_millis},
    store::{StoreResult, UserRecord, UserStore},
};

/// The columns of a [`UserRecord`], in the order [`user_from_row`] reads them.
pub(super) const USER_COLUMNS: &str = "id, name, display_name, password_hash, created_at, \
     password_changed_at, disabled, password_expired, reset_expires_at, totp_secret, \
     totp_pending, totp_last_step, session_generation, reset_removes_passkeys, \
     reset_by_operator, email, email_verified";

/// A user from the [`USER_COLUMNS`], starting at the first column.
pub(super) fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        display_name: row.get(2)?,
        password_hash: row.get(3)?,
        created_at: from_millis(row.get(4)?),
        password_changed_at: from_millis(row.get(5)?),
        disabled: row.get(6)?,
        password_expired: row.get(7)?,
        reset_expires_at: row.get::<_, Option<i64>>(8)?.map(from_millis),
        totp_secret: row.get(9)?,
        totp_pending: row.get(10)?,
        totp_last_step: row.get(11)?,
        session_generation: row.get(12)?,
        reset_removes_passkeys: row.get(13)?,
        reset_by_operator: row.get(14)?,
        email: row.get(15)?,
        email_verified: row.get(16)?,
    })
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user(&self, user: &UserRecord) -> StoreResult<()> {
        let u = user.clone();
        self.write(move |c| {
            c.prepare_cached("INSERT INTO users (id, name, display_name, password_hash, created_at, password_changed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?.execute(
                params![
                    u.id,
                    u.name,
                    u.display_name,
                    u.password_hash,
                    to_millis(u.created_at),
                    to_millis(u.password_changed_at)
                ],
            )
            .map(drop)
        })
        .await
    }

    async fn find_user_by_id(&self, id: &str) -> StoreResult<Option<UserRecord>> {
        let id = id.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))?
                .query_row([id], user_from_row)
                .optional()
        })
        .await
    }

    async fn find_user(&self, name: &str) -> StoreResult<Option<UserRecord>> {
        let name = name.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"))?
                .query_row([name], user_from_row)
                .optional()
        })
        .await
    }

    async fn replace_password_hash(
        &self,
        name: &str,
        expected: &str,
        new_hash: &str,
        changed_at: Option<OffsetDateTime>,
    ) -> StoreResult<bool> {
        let (name, expected, new_hash) =
            (name.to_owned(), expected.to_owned(), new_hash.to_owned());
        let changed_at = changed_at.map(to_millis);
        let sessions = self.sessions.clone();
        self.write(move |c| {
            let _forget = defer(|| sessions.forget_user_name(&name));
            c.prepare_cached(
                "UPDATE users SET password_hash = ?3,
                        password_changed_at = COALESCE(?4, password_changed_at),
                        password_expired = IIF(?4 IS NULL, password_expired, 0),
                        reset_token_hash = IIF(?4 IS NULL, reset_token_hash, NULL),
                        reset_expires_at = IIF(?4 IS NULL, reset_expires_at, NULL)
                 WHERE name = ?1 AND password_hash = ?2",
            )?
            .execute(params![name, expected, new_hash, changed_at])
            .map(|n| n == 1)
        })
        .await
    }

    async fn all_users(&self) -> StoreResult<Vec<UserRecord>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users ORDER BY created_at"
            ))?
            .query_map([], user_from_row)?
            .collect()
        })
        .await
    }

    async fn rename_user(&self, id: &str, new_name: &str) -> StoreResult<bool> {
        let (id, new_name) = (id.to_owned(), new_name.to_owned());
        let sessions = self.sessions.clone();
        self.write(move |c| {
            let _forget = defer(|| sessions.forget_user_id(&id));
            let tx = c.transaction()?;
            let renamed =
                tx.execute("UPDATE users SET name = ?2 WHERE id = ?1", [&id, &new_name])?;
            tx.prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
                .execute([&id])?;
            tx.commit()?;
            Ok(renamed == 1)
        })
        .await
    }

    async fn delete_user(&self, name: &str, expected: &str) -> StoreResult<bool> {
        let (name, expected) = (name.to_owned(), expected.to_owned());
        let sessions = self.sessions.clone();
        self.write(move |c| {
            let _forget = defer(|| sessions.forget_user_name(&name));
            let tx = c.transaction()?;
            let id: Option<String> = tx
                .query_row(
                    "DELETE FROM users WHERE name = ?1 AND password_hash = ?2 RETURNING id",
                    [&name, &expected],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = &id {
                tx.prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
                    .execute([id])?;
                tx.prepare_cached("DELETE FROM recovery_codes WHERE user_id = ?1")?
                    .execute([id])?;
            }
            tx.commit()?;
            Ok(id.is_some())
        })
        .await
    }

    async fn set_disabled(&self, name: &str, disabled: bool) -> StoreResult<bool> {
        self.write_named_user(name, move |c, name| {
            c.prepare_cached("UPDATE users SET disabled = ?2 WHERE name = ?1")?
                .execute(params![name, disabled])
        })
        .await
    }

    async fn expire_password(&self, name: &str) -> StoreResult<bool> {
        self.write_named_user(name, |c, name| {
            c.prepare_cached("UPDATE users SET password_expired = 1 WHERE name = ?1")?
                .execute([name])
        })
        .await
    }
}
