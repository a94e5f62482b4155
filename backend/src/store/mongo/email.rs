//! Email addresses: on the account's document, with a unique index on the lowercased address
//! of verified ones (a partial index: unverified addresses block no one) and a pending
//! verification link's token hash and expiry.

use async_trait::async_trait;
use mongodb::bson::{doc, Bson};
use time::OffsetDateTime;

use super::{bson_time, MongoStore};
use crate::store::{EmailStore, NewEmail, StoreResult, UserRecord};

#[async_trait]
impl EmailStore for MongoStore {
    async fn set_email(&self, user_id: &str, email: Option<NewEmail<'_>>) -> StoreResult<bool> {
        let update = match email {
            Some(e) => {
                let mut set = doc! {
                    "email": e.address,
                    "email_key": e.key,
                    "email_verified": e.verified,
                };
                let mut unset = doc! {};
                match e.token {
                    Some((hash, expires_at)) => {
                        set.insert("email_token_hash", hash);
                        set.insert("email_token_expires_at", bson_time(expires_at));
                    }
                    None => {
                        unset.insert("email_token_hash", "");
                        unset.insert("email_token_expires_at", "");
                    }
                }
                if unset.is_empty() {
                    doc! { "$set": set }
                } else {
                    doc! { "$set": set, "$unset": unset }
                }
            }
            None => doc! {
                "$set": { "email_verified": false },
                "$unset": {
                    "email": "", "email_key": "", "email_token_hash": "",
                    "email_token_expires_at": "",
                },
            },
        };
        self.update_user(doc! { "_id": user_id }, update).await
    }

    async fn set_email_token(
        &self,
        user_id: &str,
        key: &str,
        token_hash: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.update_user(
            doc! { "_id": user_id, "email_key": key, "email_verified": false },
            doc! { "$set": {
                "email_token_hash": token_hash,
                "email_token_expires_at": bson_time(expires_at),
            } },
        )
        .await
    }

    async fn verify_email(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>> {
        self.update_user_returning(
            doc! {
                "email_token_hash": token_hash,
                "email_token_expires_at": { "$gt": bson_time(now) },
            },
            doc! {
                "$set": { "email_verified": true },
                "$unset": { "email_token_hash": "", "email_token_expires_at": "" },
            },
        )
        .await
    }

    async fn find_user_by_email(&self, key: &str) -> StoreResult<Option<UserRecord>> {
        self.find_user_where(doc! { "email_key": Bson::from(key), "email_verified": true })
            .await
    }
}
