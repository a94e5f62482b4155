//! Browsers known to accounts: the `devices` collection, keyed by the token's hash.

use async_trait::async_trait;
use mongodb::bson::{doc, DateTime};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{bson_time, from_bson, MongoStore};
use crate::store::{DeviceRecord, DeviceStore, StoreResult};

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct DeviceDoc {
    #[serde(rename = "_id")]
    token_hash: String,
    user_id: String,
    user_name: String,
    expires_at: DateTime,
}

#[async_trait]
impl DeviceStore for MongoStore {
    /// MongoDB's TTL index sweeps expired records; `now` is not needed.
    async fn insert_device(
        &self,
        d: &DeviceRecord,
        _now: OffsetDateTime,
        keep: usize,
    ) -> StoreResult<()> {
        let doc = DeviceDoc {
            token_hash: d.token_hash.clone(),
            user_id: d.user_id.clone(),
            user_name: d.user_name.clone(),
            expires_at: bson_time(d.expires_at),
        };
        self.run(async |c| {
            c.devices
                .replace_one(doc! { "_id": &d.token_hash }, doc)
                .upsert(true)
                .await
                .map(drop)
        })
        .await?;
        let beyond: Vec<DeviceDoc> = self
            .run(async |c| {
                let mut cursor = c
                    .devices
                    .find(doc! { "user_id": &d.user_id })
                    .sort(doc! { "expires_at": -1 })
                    .skip(u64::try_from(keep).unwrap_or(u64::MAX))
                    .await?;
                let mut beyond = Vec::new();
                while cursor.advance().await? {
                    beyond.push(cursor.deserialize_current()?);
                }
                Ok(beyond)
            })
            .await?;
        if beyond.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = beyond.iter().map(|b| b.token_hash.as_str()).collect();
        self.run(async |c| {
            c.devices
                .delete_many(doc! { "_id": { "$in": &ids } })
                .await
                .map(drop)
        })
        .await
    }

    async fn find_device(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<DeviceRecord>> {
        let found = self
            .run(async |c| {
                c.devices
                    .find_one(doc! { "_id": token_hash, "expires_at": { "$gt": bson_time(now) } })
                    .await
            })
            .await?;
        Ok(found.map(|d| DeviceRecord {
            token_hash: d.token_hash,
            user_id: d.user_id,
            user_name: d.user_name,
            expires_at: from_bson(d.expires_at),
        }))
    }

    async fn delete_user_devices(&self, user_id: &str) -> StoreResult<u64> {
        self.run(async |c| c.devices.delete_many(doc! { "user_id": user_id }).await)
            .await
            .map(|r| r.deleted_count)
    }
}
