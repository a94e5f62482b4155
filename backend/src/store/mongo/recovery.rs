//! Password-reset links: a token's hash and expiry on the account's document, used up in one
//! conditional update.

use async_trait::async_trait;
use mongodb::bson::doc;
use time::OffsetDateTime;

use super::{bson_time, MongoStore};
use crate::store::{RecoveryStore, ResetLink, StoreResult, UserRecord};

#[async_trait]
impl RecoveryStore for MongoStore {
    async fn set_reset_token(&self, name: &str, link: &ResetLink<'_>) -> StoreResult<bool> {
        self.set_user_fields(
            name,
            doc! {
                "reset_token_hash": link.token_hash,
                "reset_expires_at": bson_time(link.expires_at),
                "reset_removes_passkeys": link.removes_passkeys,
                "reset_by_operator": link.by_operator,
            },
        )
        .await
    }

    async fn find_user_by_reset_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>> {
        self.find_user_where(doc! {
            "reset_token_hash": token_hash,
            "reset_expires_at": { "$gt": bson_time(now) },
        })
        .await
    }

    async fn reset_password(
        &self,
        token_hash: &str,
        new_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>> {
        self.update_user_returning(
            doc! {
                "reset_token_hash": token_hash,
                "reset_expires_at": { "$gt": bson_time(now) },
            },
            doc! {
                "$set": {
                    "password_hash": new_hash,
                    "password_changed_at": bson_time(now),
                    "password_expired": false,
                },
                "$unset": { "reset_token_hash": "", "reset_expires_at": "" },
            },
        )
        .await
    }
}
