//! The outbox collection: a message is leased by moving its due time to the lease's end and
//! naming its sender, in one `findOneAndUpdate`, so of two instances one takes each message.

use async_trait::async_trait;
use mongodb::{
    bson::{doc, DateTime},
    options::ReturnDocument,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{bson_time, from_bson, MongoStore};
use crate::store::{MailRecord, OutboxStore, StoreResult};

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct MailDoc {
    #[serde(rename = "_id")]
    id: String,
    recipient: String,
    kind: String,
    sealed: String,
    created_at: DateTime,
    attempts: u32,
    next_attempt_at: DateTime,
    #[serde(default)]
    lease_owner: Option<String>,
    #[serde(default)]
    last_error: Option<String>,
    failed: bool,
}

impl From<MailDoc> for MailRecord {
    fn from(d: MailDoc) -> Self {
        Self {
            id: d.id,
            recipient: d.recipient,
            kind: d.kind,
            sealed: d.sealed,
            created_at: from_bson(d.created_at),
            attempts: d.attempts,
            next_attempt_at: from_bson(d.next_attempt_at),
            lease_owner: d.lease_owner,
            last_error: d.last_error,
            failed: d.failed,
        }
    }
}

#[async_trait]
impl OutboxStore for MongoStore {
    async fn enqueue_mail(&self, m: &MailRecord) -> StoreResult<()> {
        let d = MailDoc {
            id: m.id.clone(),
            recipient: m.recipient.clone(),
            kind: m.kind.clone(),
            sealed: m.sealed.clone(),
            created_at: bson_time(m.created_at),
            attempts: m.attempts,
            next_attempt_at: bson_time(m.next_attempt_at),
            lease_owner: m.lease_owner.clone(),
            last_error: m.last_error.clone(),
            failed: m.failed,
        };
        self.run(async |c| c.outbox.insert_one(d).await.map(drop))
            .await
    }

    async fn lease_mail(
        &self,
        owner: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StoreResult<Option<MailRecord>> {
        let leased = self
            .run(async |c| {
                c.outbox
                    .find_one_and_update(
                        doc! { "failed": false, "next_attempt_at": { "$lte": bson_time(now) } },
                        doc! { "$set": {
                            "next_attempt_at": bson_time(until),
                            "lease_owner": owner,
                        } },
                    )
                    .sort(doc! { "next_attempt_at": 1 })
                    .return_document(ReturnDocument::After)
                    .await
            })
            .await?;
        Ok(leased.map(MailRecord::from))
    }

    async fn mail_sent(&self, id: &str, owner: &str) -> StoreResult<bool> {
        self.run(async |c| {
            c.outbox
                .delete_one(doc! { "_id": id, "lease_owner": owner })
                .await
        })
        .await
        .map(|r| r.deleted_count == 1)
    }

    async fn mail_failed(
        &self,
        id: &str,
        owner: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> StoreResult<bool> {
        let mut set =
            doc! { "last_error": error, "lease_owner": null, "failed": retry_at.is_none() };
        if let Some(at) = retry_at {
            set.insert("next_attempt_at", bson_time(at));
        }
        self.run(async |c| {
            c.outbox
                .update_one(
                    doc! { "_id": id, "lease_owner": owner },
                    doc! { "$set": set, "$inc": { "attempts": 1 } },
                )
                .await
        })
        .await
        .map(|r| r.matched_count == 1)
    }

    async fn replace_mail_sealed(&self, id: &str, expected: &str, new: &str) -> StoreResult<bool> {
        self.run(async |c| {
            c.outbox
                .update_one(
                    doc! { "_id": id, "sealed": expected },
                    doc! { "$set": { "sealed": new } },
                )
                .await
        })
        .await
        .map(|r| r.matched_count == 1)
    }

    async fn outbox(&self) -> StoreResult<Vec<MailRecord>> {
        self.run(async |c| {
            let mut cursor = c
                .outbox
                .find(doc! {})
                .sort(doc! { "failed": 1, "next_attempt_at": 1 })
                .await?;
            let mut mails = Vec::new();
            while cursor.advance().await? {
                mails.push(cursor.deserialize_current()?.into());
            }
            Ok(mails)
        })
        .await
    }
}
