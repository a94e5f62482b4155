//! Login sessions: the `sessions` collection, keyed by the token's hash.

use std::sync::Arc;

use async_trait::async_trait;
use mongodb::bson::{doc, DateTime};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{bson_time, from_bson, MongoStore};
use crate::store::{SessionLookup, SessionRecord, SessionStore, StoreResult};

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SessionDoc {
    #[serde(rename = "_id")]
    token_hash: String,
    user_id: String,
    user_name: String,
    created_at: DateTime,
    expires_at: DateTime,
    /// Absent in sessions from before re-authentication: long ago.
    #[serde(default)]
    authenticated_at: Option<DateTime>,
    #[serde(default)]
    amr: String,
    #[serde(default)]
    browser: String,
    #[serde(default)]
    ip_prefix: String,
    #[serde(default)]
    last_seen_at: Option<DateTime>,
}

impl From<SessionDoc> for SessionRecord {
    fn from(d: SessionDoc) -> Self {
        Self {
            token_hash: d.token_hash,
            user_id: d.user_id,
            user_name: d.user_name,
            created_at: from_bson(d.created_at),
            expires_at: from_bson(d.expires_at),
            authenticated_at: d
                .authenticated_at
                .map_or(OffsetDateTime::UNIX_EPOCH, from_bson),
            amr: d.amr,
            browser: d.browser,
            ip_prefix: d.ip_prefix,
            last_seen_at: from_bson(d.last_seen_at.unwrap_or(d.created_at)),
        }
    }
}

#[async_trait]
impl SessionStore for MongoStore {
    /// Insert, then check: MongoDB has no conditional insert across collections (and no
    /// transactions on a standalone server). If the account no longer holds the hash, the
    /// session is removed again. If it still does, any password change after this read has
    /// not yet revoked its sessions (it swaps the hash first), so it will remove this one.
    async fn insert_session_for_hash(
        &self,
        s: &SessionRecord,
        password_hash: &str,
        generation: i64,
    ) -> StoreResult<bool> {
        let d = SessionDoc {
            token_hash: s.token_hash.clone(),
            user_id: s.user_id.clone(),
            user_name: s.user_name.clone(),
            created_at: bson_time(s.created_at),
            expires_at: bson_time(s.expires_at),
            authenticated_at: Some(bson_time(s.authenticated_at)),
            amr: s.amr.clone(),
            browser: s.browser.clone(),
            ip_prefix: s.ip_prefix.clone(),
            last_seen_at: Some(bson_time(s.last_seen_at)),
        };
        self.run(async |c| c.sessions.insert_one(d).await).await?;
        let still = self
            .find_user_where(doc! {
                "_id": &s.user_id,
                "password_hash": password_hash,
                "session_generation": generation,
            })
            .await?
            .is_some();
        if !still {
            self.delete_session(&s.token_hash).await?;
        }
        Ok(still)
    }

    /// Three reads: the session, its account (whose document holds the recovery codes), and
    /// the account's passkey count. Not cached: instances share the database, and a revocation
    /// on one must hold on all at once.
    async fn look_up_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Arc<SessionLookup>>> {
        // The TTL sweep runs only every 60 s, so the filter on expiry is what enforces it.
        let found = self
            .run(async |c| {
                let Some(session) = c
                    .sessions
                    .find_one(doc! { "_id": token_hash, "expires_at": { "$gt": bson_time(now) } })
                    .await?
                else {
                    return Ok(None);
                };
                let Some(user) = c
                    .users
                    .find_one(doc! { "name": &session.user_name })
                    .await?
                else {
                    return Ok(None);
                };
                let passkeys = c
                    .passkeys
                    .count_documents(doc! { "user_id": &user.id })
                    .await?;
                Ok(Some((session, user, passkeys)))
            })
            .await?;
        Ok(found.map(|(session, user, passkeys)| {
            Arc::new(SessionLookup {
                session: session.into(),
                recovery_codes: user.recovery_codes.len() as u64,
                user: user.into(),
                passkeys,
            })
        }))
    }

    async fn set_session_authenticated(
        &self,
        token_hash: &str,
        at: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.run(async |c| {
            c.sessions
                .update_one(
                    doc! { "_id": token_hash },
                    doc! { "$set": { "authenticated_at": bson_time(at) } },
                )
                .await
        })
        .await
        .map(|r| r.matched_count == 1)
    }

    async fn set_session_seen(&self, token_hash: &str, at: OffsetDateTime) -> StoreResult<()> {
        self.run(async |c| {
            c.sessions
                .update_one(
                    doc! { "_id": token_hash },
                    doc! { "$set": { "last_seen_at": bson_time(at) } },
                )
                .await
                .map(drop)
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
        self.run(async |c| {
            c.sessions
                .find_one_and_delete(doc! { "_id": token_hash })
                .await
        })
        .await
        .map(|deleted| deleted.map(SessionRecord::from))
    }

    /// The generation first: a login that checks after it stores nothing, one that checked
    /// before has inserted its session already, and it goes now.
    async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<u64> {
        self.run(async |c| {
            c.users
                .update_one(
                    doc! { "_id": user_id },
                    doc! { "$inc": { "session_generation": 1_i64 } },
                )
                .await
        })
        .await?;
        self.run(async |c| c.sessions.delete_many(doc! { "user_id": user_id }).await)
            .await
            .map(|r| r.deleted_count)
    }

    async fn user_sessions(
        &self,
        user_id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<SessionRecord>> {
        self.run(async |c| {
            let mut cursor = c
                .sessions
                .find(doc! { "user_id": user_id, "expires_at": { "$gt": bson_time(now) } })
                .sort(doc! { "created_at": 1 })
                .await?;
            let mut out = Vec::new();
            while cursor.advance().await? {
                out.push(SessionRecord::from(cursor.deserialize_current()?));
            }
            Ok(out)
        })
        .await
    }

    async fn count_user_sessions(&self, user_id: &str, now: OffsetDateTime) -> StoreResult<u64> {
        self.run(async |c| {
            c.sessions
                .count_documents(
                    doc! { "user_id": user_id, "expires_at": { "$gt": bson_time(now) } },
                )
                .await
        })
        .await
    }
}
