//! Password-reset links: a token's hash and expiry on the account's row, used up in one
//! conditional update.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use time::OffsetDateTime;

use super::{
    users::{user_from_row, USER_COLUMNS},
    SqliteStore,
};
use crate::{
    clock::to_millis,
    store::{RecoveryStore, ResetLink, StoreResult, UserRecord},
};

#[async_trait]
impl RecoveryStore for SqliteStore {
    async fn set_reset_token(&self, name: &str, link: &ResetLink<'_>) -> StoreResult<bool> {
        let token_hash = link.token_hash.to_owned();
        let (expires_at, removes_passkeys, by_operator) = (
            to_millis(link.expires_at),
            link.removes_passkeys,
            link.by_operator,
        );
        self.write_named_user(name, move |c, name| {
            c.prepare_cached(
                "UPDATE users SET reset_token_hash = ?2, reset_expires_at = ?3,
                        reset_removes_passkeys = ?4, reset_by_operator = ?5
                 WHERE name = ?1",
            )?
            .execute(params![
                name,
                token_hash,
                expires_at,
                removes_passkeys,
                by_operator
            ])
        })
        .await
    }

    async fn find_user_by_reset_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users
                 WHERE reset_token_hash = ?1 AND reset_expires_at > ?2"
            ))?
            .query_row(params![token_hash, to_millis(now)], user_from_row)
            .optional()
        })
        .await
    }

    async fn reset_password(
        &self,
        token_hash: &str,
        new_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>> {
        let (token_hash, new_hash) = (token_hash.to_owned(), new_hash.to_owned());
        let sessions = self.sessions.clone();
        self.write(move |c| {
            let user = c
                .prepare_cached(&format!(
                    "UPDATE users SET password_hash = ?2, password_changed_at = ?3,
                            password_expired = 0, reset_token_hash = NULL,
                            reset_expires_at = NULL
                     WHERE reset_token_hash = ?1 AND reset_expires_at > ?3
                     RETURNING {USER_COLUMNS}"
                ))?
                .query_row(params![token_hash, new_hash, to_millis(now)], user_from_row)
                .optional()?;
            if let Some(user) = &user {
                sessions.forget_user_id(&user.id);
            }
            Ok(user)
        })
        .await
    }
}
