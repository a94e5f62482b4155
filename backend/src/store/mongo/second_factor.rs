//! Two-factor login: the secret fields and recovery-code hashes on the account's document, so
//! each change is one conditional update.

use async_trait::async_trait;
use mongodb::bson::doc;

use super::MongoStore;
use crate::store::{SecondFactorStore, StoreResult};

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
}
