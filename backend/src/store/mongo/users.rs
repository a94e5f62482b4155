//! Accounts: the `users` collection, keyed by id, with a unique index on the canonical name.

use async_trait::async_trait;
use mongodb::bson::{doc, DateTime, Document};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{bson_time, from_bson, MongoStore};
use crate::store::{SessionStore, StoreResult, UserRecord, UserStore};

/// An account, with the fields of every role that keeps its state on the account (reset
/// links, two-factor login). Fields added after the first release default when absent.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct UserDoc {
    #[serde(rename = "_id")]
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub password_hash: String,
    pub created_at: DateTime,
    pub password_changed_at: DateTime,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub password_expired: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_token_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_expires_at: Option<DateTime>,
    #[serde(default)]
    pub reset_removes_passkeys: bool,
    #[serde(default)]
    pub reset_by_operator: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_pending: Option<String>,
    #[serde(default)]
    pub totp_last_step: i64,
    #[serde(default)]
    pub session_generation: i64,
    /// Hashes of the unused recovery codes.
    #[serde(default)]
    pub recovery_codes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The address lowercased, absent without an address: unique among verified ones (a
    /// partial index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_key: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_token_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_token_expires_at: Option<DateTime>,
}

impl From<UserDoc> for UserRecord {
    fn from(d: UserDoc) -> Self {
        Self {
            id: d.id,
            name: d.name,
            display_name: d.display_name,
            password_hash: d.password_hash,
            created_at: from_bson(d.created_at),
            password_changed_at: from_bson(d.password_changed_at),
            disabled: d.disabled,
            password_expired: d.password_expired,
            reset_expires_at: d.reset_expires_at.map(from_bson),
            reset_removes_passkeys: d.reset_removes_passkeys,
            reset_by_operator: d.reset_by_operator,
            totp_secret: d.totp_secret,
            totp_pending: d.totp_pending,
            totp_last_step: d.totp_last_step,
            session_generation: d.session_generation,
            email: d.email,
            email_verified: d.email_verified,
        }
    }
}

impl MongoStore {
    /// Applies `update` to the account matching `filter`; whether one matched.
    pub(super) async fn update_user(
        &self,
        filter: Document,
        update: Document,
    ) -> StoreResult<bool> {
        self.run(async |c| c.users.update_one(filter, update).await)
            .await
            .map(|r| r.matched_count == 1)
    }

    /// Sets `fields` on the account named `name`; whether it exists.
    pub(super) async fn set_user_fields(&self, name: &str, fields: Document) -> StoreResult<bool> {
        self.update_user(doc! { "name": name }, doc! { "$set": fields })
            .await
    }

    /// Applies `update` to the account matching `filter`, in one conditional write (so of two
    /// writers one wins); the account as it is after, if one matched.
    pub(super) async fn update_user_returning(
        &self,
        filter: Document,
        update: Document,
    ) -> StoreResult<Option<UserRecord>> {
        self.run(async |c| {
            c.users
                .find_one_and_update(filter, update)
                .return_document(mongodb::options::ReturnDocument::After)
                .await
        })
        .await
        .map(|found| found.map(UserRecord::from))
    }

    /// The account matching `filter`, if any.
    pub(super) async fn find_user_where(
        &self,
        filter: Document,
    ) -> StoreResult<Option<UserRecord>> {
        self.run(async |c| c.users.find_one(filter).await)
            .await
            .map(|found| found.map(UserRecord::from))
    }
}

#[async_trait]
impl UserStore for MongoStore {
    async fn insert_user(&self, u: &UserRecord) -> StoreResult<()> {
        let d = UserDoc {
            id: u.id.clone(),
            name: u.name.clone(),
            display_name: u.display_name.clone(),
            password_hash: u.password_hash.clone(),
            created_at: bson_time(u.created_at),
            password_changed_at: bson_time(u.password_changed_at),
            disabled: u.disabled,
            password_expired: u.password_expired,
            reset_token_hash: None,
            reset_expires_at: None,
            reset_removes_passkeys: false,
            reset_by_operator: false,
            totp_secret: u.totp_secret.clone(),
            totp_pending: u.totp_pending.clone(),
            totp_last_step: u.totp_last_step,
            session_generation: u.session_generation,
            recovery_codes: Vec::new(),
            // Set by `EmailStore::set_email`, as in the embedded store.
            email: None,
            email_key: None,
            email_verified: false,
            email_token_hash: None,
            email_token_expires_at: None,
        };
        self.run(async |c| c.users.insert_one(d).await.map(drop))
            .await
    }

    async fn find_user_by_id(&self, id: &str) -> StoreResult<Option<UserRecord>> {
        self.find_user_where(doc! { "_id": id }).await
    }

    async fn find_user(&self, name: &str) -> StoreResult<Option<UserRecord>> {
        self.find_user_where(doc! { "name": name }).await
    }

    async fn replace_password_hash(
        &self,
        name: &str,
        expected: &str,
        new_hash: &str,
        changed_at: Option<OffsetDateTime>,
    ) -> StoreResult<bool> {
        let update = match changed_at {
            None => doc! { "$set": { "password_hash": new_hash } },
            Some(t) => doc! {
                "$set": {
                    "password_hash": new_hash,
                    "password_changed_at": bson_time(t),
                    "password_expired": false,
                },
                "$unset": { "reset_token_hash": "", "reset_expires_at": "" },
            },
        };
        self.update_user(doc! { "name": name, "password_hash": expected }, update)
            .await
    }

    async fn all_users(&self) -> StoreResult<Vec<UserRecord>> {
        self.run(async |c| {
            let mut cursor = c.users.find(doc! {}).sort(doc! { "created_at": 1 }).await?;
            let mut users = Vec::new();
            while cursor.advance().await? {
                users.push(cursor.deserialize_current()?.into());
            }
            Ok(users)
        })
        .await
    }

    /// Two writes: the name (the unique index refuses a taken one), then the sessions. A
    /// session left by a failure in between names the old name and is found by nobody.
    async fn rename_user(&self, id: &str, new_name: &str) -> StoreResult<bool> {
        let renamed = self
            .update_user(doc! { "_id": id }, doc! { "$set": { "name": new_name } })
            .await?;
        self.delete_user_sessions(id).await?;
        Ok(renamed)
    }

    /// Two writes, not a transaction (a standalone MongoDB has none): the user first, then its
    /// sessions. Safe in between and if the second write fails: a session counts only while an
    /// account with its `user_id` exists (see `Accounts::session`), a new
    /// registration under the same name gets a new id, and leftover sessions expire by TTL.
    async fn delete_user(&self, name: &str, expected: &str) -> StoreResult<bool> {
        let deleted = self
            .run(async |c| {
                c.users
                    .find_one_and_delete(doc! { "name": name, "password_hash": expected })
                    .await
            })
            .await?;
        let Some(user) = deleted else {
            return Ok(false);
        };
        self.delete_user_sessions(&user.id).await?;
        Ok(true)
    }

    async fn set_disabled(&self, name: &str, disabled: bool) -> StoreResult<bool> {
        self.set_user_fields(name, doc! { "disabled": disabled })
            .await
    }

    async fn expire_password(&self, name: &str) -> StoreResult<bool> {
        self.set_user_fields(name, doc! { "password_expired": true })
            .await
    }
}
