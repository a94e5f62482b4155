//! Counters of events that expire: the `counters` collection, keyed by counter key.

use std::time::Duration;

use async_trait::async_trait;
use mongodb::{
    bson::{doc, DateTime},
    options::ReturnDocument,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{bson_time, from_bson, MongoStore};
use crate::store::{prefix_end, Counter, CounterStore, StoreError, StoreResult};

/// How often a count is tried again when its counter is deleted under it.
const BUMP_ATTEMPTS: usize = 5;

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct CounterDoc {
    #[serde(rename = "_id")]
    key: String,
    count: i64,
    last_at: DateTime,
    expires_at: DateTime,
}

impl From<CounterDoc> for Counter {
    fn from(d: CounterDoc) -> Self {
        Self {
            count: u32::try_from(d.count).unwrap_or(u32::MAX),
            last_at: from_bson(d.last_at),
            expires_at: from_bson(d.expires_at),
        }
    }
}

#[async_trait]
impl CounterStore for MongoStore {
    async fn bump_counter(
        &self,
        key: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> StoreResult<Counter> {
        // An expired counter (not yet swept by the TTL monitor) starts again.
        self.run(async |c| {
            c.counters
                .delete_one(doc! { "_id": key, "expires_at": { "$lte": bson_time(now) } })
                .await
        })
        .await?;
        // Create the counter at zero if absent (a concurrent creator's duplicate is fine), then
        // increment it: a plain `$inc` on an existing document is atomic on every server, where
        // concurrent upserts are not reliably so. A concurrent delete (a successful login
        // forgetting its failures) can remove it in between: then start again (and in the
        // end, upsert).
        for _ in 0..BUMP_ATTEMPTS {
            let fresh = CounterDoc {
                key: key.to_owned(),
                count: 0,
                last_at: bson_time(now),
                expires_at: bson_time(now + ttl),
            };
            match self.run(async |c| c.counters.insert_one(fresh).await).await {
                Ok(_) | Err(StoreError::Duplicate) => {}
                Err(e) => return Err(e),
            }
            let updated = self
                .run(async |c| {
                    c.counters
                        .find_one_and_update(
                            doc! { "_id": key },
                            doc! {
                                "$inc": { "count": 1_i64 },
                                "$set": {
                                    "last_at": bson_time(now),
                                    "expires_at": bson_time(now + ttl),
                                },
                            },
                        )
                        .return_document(ReturnDocument::After)
                        .await
                })
                .await?;
            if let Some(d) = updated {
                return Ok(d.into());
            }
        }
        // Deleted under us every time (many logins of one account succeeding at once, each
        // forgetting its failures): count with an upsert, which cannot miss the document. A
        // server that lets two concurrent upserts collide answers one with a duplicate key;
        // then the document exists, and a plain increment finds it.
        let set = doc! {
            "$inc": { "count": 1_i64 },
            "$set": { "last_at": bson_time(now), "expires_at": bson_time(now + ttl) },
        };
        let upsert = |upsert: bool| {
            let set = set.clone();
            async move {
                self.run(async |c| {
                    c.counters
                        .find_one_and_update(doc! { "_id": key }, set)
                        .upsert(upsert)
                        .return_document(ReturnDocument::After)
                        .await
                })
                .await
            }
        };
        let counted = match upsert(true).await {
            Err(StoreError::Duplicate) => upsert(false).await?,
            other => other?,
        };
        counted.map(Counter::from).ok_or_else(|| {
            StoreError::Internal(format!("counter {key} kept vanishing while counting").into())
        })
    }

    async fn get_counter(&self, key: &str, now: OffsetDateTime) -> StoreResult<Option<Counter>> {
        self.run(async |c| {
            c.counters
                .find_one(doc! { "_id": key, "expires_at": { "$gt": bson_time(now) } })
                .await
        })
        .await
        .map(|found| found.map(Counter::from))
    }

    async fn delete_counter(&self, key: &str) -> StoreResult<()> {
        self.run(async |c| c.counters.delete_one(doc! { "_id": key }).await.map(drop))
            .await
    }

    async fn delete_counters_with_prefix(&self, prefix: &str) -> StoreResult<u64> {
        self.run(async |c| {
            c.counters
                .delete_many(doc! { "_id": { "$gte": prefix, "$lt": prefix_end(prefix) } })
                .await
        })
        .await
        .map(|r| r.deleted_count)
    }
}
