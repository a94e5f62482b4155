//! Email addresses: on the account's row, with a unique index on the lowercased address of
//! verified ones (a partial index: unverified addresses block no one) and a pending
//! verification link's token hash and expiry.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use time::OffsetDateTime;

use super::{
    users::{user_from_row, USER_COLUMNS},
    SqliteStore,
};
use crate::{
    clock::to_millis,
    store::{EmailStore, NewEmail, StoreResult, UserRecord},
};

#[async_trait]
impl EmailStore for SqliteStore {
    async fn set_email(&self, user_id: &str, email: Option<NewEmail<'_>>) -> StoreResult<bool> {
        let email = email.map(|e| {
            (
                e.address.to_owned(),
                e.key.to_owned(),
                e.verified,
                e.token.map(|(hash, at)| (hash.to_owned(), to_millis(at))),
            )
        });
        self.write_user(user_id, move |c, user_id| {
            let (address, key, verified, token) = match email {
                Some((address, key, verified, token)) => {
                    (Some(address), Some(key), verified, token)
                }
                None => (None, None, false, None),
            };
            let (token_hash, expires_at) = token.unzip();
            c.prepare_cached(
                "UPDATE users SET email = ?2, email_key = ?3, email_verified = ?4,
                        email_token_hash = ?5, email_token_expires_at = ?6
                 WHERE id = ?1",
            )?
            .execute(params![
                user_id, address, key, verified, token_hash, expires_at
            ])
            .map(|n| n == 1)
        })
        .await
    }

    async fn set_email_token(
        &self,
        user_id: &str,
        key: &str,
        token_hash: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let (key, token_hash) = (key.to_owned(), token_hash.to_owned());
        self.write_user(user_id, move |c, user_id| {
            c.prepare_cached(
                "UPDATE users SET email_token_hash = ?3, email_token_expires_at = ?4
                 WHERE id = ?1 AND email_key = ?2 AND email_verified = 0",
            )?
            .execute(params![user_id, key, token_hash, to_millis(expires_at)])
            .map(|n| n == 1)
        })
        .await
    }

    async fn verify_email(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>> {
        let token_hash = token_hash.to_owned();
        let sessions = self.sessions.clone();
        self.write(move |c| {
            let user = c
                .prepare_cached(&format!(
                    "UPDATE users SET email_verified = 1, email_token_hash = NULL,
                            email_token_expires_at = NULL
                     WHERE email_token_hash = ?1 AND email_token_expires_at > ?2
                     RETURNING {USER_COLUMNS}"
                ))?
                .query_row(params![token_hash, to_millis(now)], user_from_row)
                .optional()?;
            if let Some(user) = &user {
                sessions.forget_user_id(&user.id);
            }
            Ok(user)
        })
        .await
    }

    async fn find_user_by_email(&self, key: &str) -> StoreResult<Option<UserRecord>> {
        let key = key.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE email_key = ?1 AND email_verified = 1"
            ))?
            .query_row([key], user_from_row)
            .optional()
        })
        .await
    }
}
