//! Two-factor login: the secret fields and recovery-code hashes on the account's document, so
//! each change is one conditional update; and the data key check, one document of its own in
//! `key_check`.

use async_trait::async_trait;
use mongodb::bson::{doc, Document};

use super::MongoStore;
use crate::store::{KeyCheckStore, SecondFactorStore, StoreError, StoreResult, TotpSlot};

/// The one document of `key_check`.
const KEY_CHECK_ID: &str = "data_key";

#[async_trait]
impl SecondFactorStore for MongoStore {
    async fn set_pending_totp(&self, user_id: &str, secret: &str) -> StoreResult<bool> {
        self.update_user(
            doc! { "_id": user_id },
            doc! { "$set": { "totp_pending": secret } },
        )
        .await
    }

    /// One conditional update: the secret, the used step and the codes change together.
    async fn enable_totp(
        &self,
        user_id: &str,
        secret: &str,
        step: i64,
        recovery_hashes: &[String],
    ) -> StoreResult<bool> {
        self.update_user(
            doc! { "_id": user_id, "totp_pending": secret, "totp_secret": null },
            doc! {
                "$set": {
                    "totp_secret": secret,
                    "totp_last_step": step,
                    "recovery_codes": recovery_hashes.to_vec(),
                },
                "$unset": { "totp_pending": "" },
            },
        )
        .await
    }

    async fn drop_pending_totp(&self, user_id: &str, expected: &str) -> StoreResult<bool> {
        self.update_user(
            doc! { "_id": user_id, "totp_pending": expected },
            doc! { "$unset": { "totp_pending": "" } },
        )
        .await
    }

    async fn disable_totp(&self, user_id: &str) -> StoreResult<bool> {
        let before = self
            .run(async |c| {
                c.users
                    .find_one_and_update(
                        doc! { "_id": user_id },
                        doc! {
                            "$unset": { "totp_secret": "", "totp_pending": "" },
                            "$set": { "recovery_codes": [] },
                        },
                    )
                    .await
            })
            .await?;
        Ok(before.is_some_and(|u| u.totp_secret.is_some()))
    }

    async fn use_totp_step(&self, user_id: &str, step: i64) -> StoreResult<bool> {
        self.update_user(
            doc! { "_id": user_id, "totp_last_step": { "$lt": step } },
            doc! { "$set": { "totp_last_step": step } },
        )
        .await
    }

    async fn use_recovery_code(&self, user_id: &str, code_hash: &str) -> StoreResult<bool> {
        self.update_user(
            doc! { "_id": user_id, "recovery_codes": code_hash },
            doc! { "$pull": { "recovery_codes": code_hash } },
        )
        .await
    }

    async fn count_recovery_codes(&self, user_id: &str) -> StoreResult<u64> {
        let user = self
            .run(async |c| c.users.find_one(doc! { "_id": user_id }).await)
            .await?;
        Ok(user.map_or(0, |u| u.recovery_codes.len() as u64))
    }

    async fn replace_totp_secret(
        &self,
        user_id: &str,
        slot: TotpSlot,
        expected: &str,
        new: &str,
    ) -> StoreResult<bool> {
        let field = slot.field();
        self.update_user(
            doc! { "_id": user_id, field: expected },
            doc! { "$set": { field: new } },
        )
        .await
    }
}

#[async_trait]
impl KeyCheckStore for MongoStore {
    async fn key_check(&self) -> StoreResult<Option<String>> {
        let found = self
            .run(async |c| c.key_check.find_one(doc! { "_id": KEY_CHECK_ID }).await)
            .await?;
        Ok(found.and_then(|d| d.get_str("value").ok().map(str::to_owned)))
    }

    async fn swap_key_check(&self, expected: Option<&str>, new: &str) -> StoreResult<bool> {
        match expected {
            None => {
                let first = doc! { "_id": KEY_CHECK_ID, "value": new };
                match self
                    .run(async |c| c.key_check.insert_one(first).await.map(drop))
                    .await
                {
                    Ok(()) => Ok(true),
                    Err(StoreError::Duplicate) => Ok(false),
                    Err(e) => Err(e),
                }
            }
            Some(old) => self
                .run(async |c| {
                    c.key_check
                        .update_one(
                            doc! { "_id": KEY_CHECK_ID, "value": old },
                            doc! { "$set": { "value": new } },
                        )
                        .await
                })
                .await
                .map(|r| r.matched_count == 1),
        }
    }
}

/// A `key_check` document: `{_id, value}`.
pub(super) type KeyCheckDoc = Document;
