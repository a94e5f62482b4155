//! WebAuthn ceremonies in progress: the `ceremonies` collection, each document taken once.

use async_trait::async_trait;
use mongodb::bson::{doc, DateTime};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{bson_time, MongoStore};
use crate::{
    clock::to_millis,
    store::{CeremonyStore, StoreResult},
};

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct CeremonyDoc {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    state: String,
    expires_at: DateTime,
}

#[async_trait]
impl CeremonyStore for MongoStore {
    /// MongoDB's TTL index sweeps abandoned ceremonies.
    async fn insert_ceremony(
        &self,
        id: &str,
        user_id: Option<&str>,
        state: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        let d = CeremonyDoc {
            id: id.to_owned(),
            user_id: user_id.map(str::to_owned),
            state: state.to_owned(),
            expires_at: bson_time(expires_at),
        };
        self.run(async |c| c.ceremonies.insert_one(d).await.map(drop))
            .await
    }

    async fn take_ceremony(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(Option<String>, String)>> {
        let taken = self
            .run(async |c| c.ceremonies.find_one_and_delete(doc! { "_id": id }).await)
            .await?;
        Ok(taken
            .filter(|d| d.expires_at.timestamp_millis() > to_millis(now))
            .map(|d| (d.user_id, d.state)))
    }
}
