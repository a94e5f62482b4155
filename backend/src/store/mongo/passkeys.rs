//! Passkeys: the `passkeys` collection, keyed by credential id.

use async_trait::async_trait;
use mongodb::bson::{doc, DateTime};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{bson_time, from_bson, MongoStore};
use crate::store::{PasskeyRecord, PasskeyStore, StoreResult};

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct PasskeyDoc {
    #[serde(rename = "_id")]
    credential_id: String,
    user_id: String,
    name: String,
    passkey: String,
    created_at: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used_at: Option<DateTime>,
}

impl From<PasskeyDoc> for PasskeyRecord {
    fn from(d: PasskeyDoc) -> Self {
        Self {
            credential_id: d.credential_id,
            user_id: d.user_id,
            name: d.name,
            passkey: d.passkey,
            created_at: from_bson(d.created_at),
            last_used_at: d.last_used_at.map(from_bson),
        }
    }
}

#[async_trait]
impl PasskeyStore for MongoStore {
    async fn insert_passkey(&self, p: &PasskeyRecord) -> StoreResult<()> {
        let d = PasskeyDoc {
            credential_id: p.credential_id.clone(),
            user_id: p.user_id.clone(),
            name: p.name.clone(),
            passkey: p.passkey.clone(),
            created_at: bson_time(p.created_at),
            last_used_at: p.last_used_at.map(bson_time),
        };
        self.run(async |c| c.passkeys.insert_one(d).await.map(drop))
            .await
    }

    async fn user_passkeys(&self, user_id: &str) -> StoreResult<Vec<PasskeyRecord>> {
        self.run(async |c| {
            let mut cursor = c
                .passkeys
                .find(doc! { "user_id": user_id })
                .sort(doc! { "created_at": 1, "_id": 1 })
                .await?;
            let mut out = Vec::new();
            while cursor.advance().await? {
                out.push(cursor.deserialize_current()?.into());
            }
            Ok(out)
        })
        .await
    }

    async fn update_passkey(
        &self,
        credential_id: &str,
        passkey: &str,
        used_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.run(async |c| {
            c.passkeys
                .update_one(
                    doc! { "_id": credential_id },
                    doc! { "$set": { "passkey": passkey, "last_used_at": bson_time(used_at) } },
                )
                .await
        })
        .await
        .map(|r| r.matched_count == 1)
    }

    async fn count_user_passkeys(&self, user_id: &str) -> StoreResult<u64> {
        self.run(async |c| {
            c.passkeys
                .count_documents(doc! { "user_id": user_id })
                .await
        })
        .await
    }

    async fn delete_passkey(&self, user_id: &str, credential_id: &str) -> StoreResult<bool> {
        self.run(async |c| {
            c.passkeys
                .delete_one(doc! { "_id": credential_id, "user_id": user_id })
                .await
        })
        .await
        .map(|r| r.deleted_count == 1)
    }

    async fn delete_user_passkeys(&self, user_id: &str) -> StoreResult<u64> {
        self.run(async |c| c.passkeys.delete_many(doc! { "user_id": user_id }).await)
            .await
            .map(|r| r.deleted_count)
    }
}
