//! The production store: MongoDB through the official driver.
//!
//! - `users` has a unique index on the canonical name, so the database (not this process)
//!   decides which of two concurrent registrations wins; the loser gets duplicate-key code 11000.
//! - `sessions` has a TTL index on `expires_at`, so MongoDB sweeps expired sessions by itself.
//! - Writes use majority write concern with journaling: an acknowledged write survives a
//!   failover. Server selection is short, so a down database gives a quick `503`, and the
//!   driver reconnects by itself when it comes back.
//! - Indexes are created idempotently before the first operation: every operation reaches the
//!   collections through `MongoStore::collections`, which waits for them. If MongoDB is down
//!   at start-up the server still starts (not ready) and creates them once the database answers.
//! - Deleting a user and its sessions is two writes, not one transaction (see
//!   [`UserStore::delete_user`] below for why that is safe).

use std::time::Duration;

use async_trait::async_trait;
use mongodb::{
    bson::{doc, DateTime},
    error::{ErrorKind, WriteFailure},
    options::{
        Acknowledgment, ClientOptions, DatabaseOptions, IndexOptions, ReturnDocument, WriteConcern,
    },
    Client, Collection, Database, IndexModel,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::OnceCell;

use super::{
    Counter, CounterStore, DeviceRecord, DeviceStore, PasskeyRecord, PasskeyStore,
    SecondFactorStore, SessionRecord, SessionStore, Store, StoreError, StoreResult, UserRecord,
    UserStore,
};
use crate::clock::{from_millis, to_millis};

/// How long an operation waits for a usable server before failing with `Unavailable`.
const SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a majority write may wait for replication before failing.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a count is tried again when its counter is deleted under it.
const BUMP_ATTEMPTS: usize = 5;
/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;

#[derive(Debug, Serialize, Deserialize)]
struct UserDoc {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    display_name: String,
    password_hash: String,
    created_at: DateTime,
    password_changed_at: DateTime,
    // Fields added in part 7: absent in older documents.
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    password_expired: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reset_token_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reset_expires_at: Option<DateTime>,
    // Part 8: two-factor login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    totp_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    totp_pending: Option<String>,
    #[serde(default)]
    totp_last_step: i64,
    /// Hashes of the unused recovery codes.
    #[serde(default)]
    recovery_codes: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SessionDoc {
    #[serde(rename = "_id")]
    token_hash: String,
    user_id: String,
    user_name: String,
    created_at: DateTime,
    expires_at: DateTime,
}

#[derive(Debug, Serialize, Deserialize)]
struct CounterDoc {
    #[serde(rename = "_id")]
    key: String,
    count: i64,
    last_at: DateTime,
    expires_at: DateTime,
}

/// MongoDB through the official driver. Cheap to share: the driver pools connections.
pub struct MongoStore {
    db: Database,
    /// Set once the indexes exist; see [`MongoStore::collections`].
    collections: OnceCell<Collections>,
}

/// The three collections, handed out only once their indexes exist.
struct Collections {
    users: Collection<UserDoc>,
    sessions: Collection<SessionDoc>,
    counters: Collection<CounterDoc>,
    devices: Collection<DeviceDoc>,
    passkeys: Collection<PasskeyDoc>,
    ceremonies: Collection<CeremonyDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
struct PasskeyDoc {
    #[serde(rename = "_id")]
    credential_id: String,
    user_id: String,
    name: String,
    passkey: String,
    created_at: DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used_at: Option<DateTime>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CeremonyDoc {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    state: String,
    expires_at: DateTime,
}

#[derive(Debug, Serialize, Deserialize)]
struct DeviceDoc {
    #[serde(rename = "_id")]
    token_hash: String,
    user_id: String,
    user_name: String,
    expires_at: DateTime,
}

impl MongoStore {
    /// Parses the URI and prepares the client. Does not need the server to be up.
    pub async fn connect(uri: &str, db_name: &str) -> StoreResult<Self> {
        let mut options = ClientOptions::parse(uri)
            .await
            .map_err(|e| StoreError::Internal(Box::new(e)))?;
        options
            .server_selection_timeout
            .get_or_insert(SERVER_SELECTION_TIMEOUT);
        options
            .connect_timeout
            .get_or_insert(SERVER_SELECTION_TIMEOUT);
        options
            .app_name
            .get_or_insert_with(|| "accounts-server".into());
        let client = Client::with_options(options).map_err(classify)?;
        let write_concern = WriteConcern::builder()
            .w(Acknowledgment::Majority)
            .journal(true)
            .w_timeout(WRITE_TIMEOUT)
            .build();
        let db = client.database_with_options(
            db_name,
            DatabaseOptions::builder()
                .write_concern(write_concern)
                .build(),
        );
        Ok(Self {
            db,
            collections: OnceCell::new(),
        })
    }

    /// The collections, once their indexes exist (created on first use, idempotently). Every
    /// operation goes through here, so no write ever runs without the unique index.
    async fn collections(&self) -> StoreResult<&Collections> {
        self.collections
            .get_or_try_init(|| async {
                let c = Collections {
                    users: self.db.collection("users"),
                    sessions: self.db.collection("sessions"),
                    counters: self.db.collection("counters"),
                    devices: self.db.collection("devices"),
                    passkeys: self.db.collection("passkeys"),
                    ceremonies: self.db.collection("ceremonies"),
                };
                let expiry = || {
                    index(doc! { "expires_at": 1 }, "expires_ttl", |o| {
                        o.expire_after = Some(Duration::ZERO)
                    })
                };
                let unique_name =
                    index(doc! { "name": 1 }, "name_unique", |o| o.unique = Some(true));
                let by_user = index(doc! { "user_id": 1 }, "by_user", |_| {});
                let by_reset_token = index(doc! { "reset_token_hash": 1 }, "by_reset_token", |o| {
                    o.sparse = Some(true)
                });
                c.users.create_index(unique_name).await.map_err(classify)?;
                c.users
                    .create_index(by_reset_token)
                    .await
                    .map_err(classify)?;
                c.sessions.create_index(expiry()).await.map_err(classify)?;
                c.sessions.create_index(by_user).await.map_err(classify)?;
                c.counters.create_index(expiry()).await.map_err(classify)?;
                c.devices.create_index(expiry()).await.map_err(classify)?;
                let devices_by_user = index(doc! { "user_id": 1 }, "by_user", |_| {});
                c.devices
                    .create_index(devices_by_user)
                    .await
                    .map_err(classify)?;
                let passkeys_by_user = index(doc! { "user_id": 1 }, "by_user", |_| {});
                c.passkeys
                    .create_index(passkeys_by_user)
                    .await
                    .map_err(classify)?;
                c.ceremonies
                    .create_index(expiry())
                    .await
                    .map_err(classify)?;
                Ok(c)
            })
            .await
    }
}

/// An index on `keys` named `name`, with options set by `configure`.
fn index(
    keys: mongodb::bson::Document,
    name: &str,
    configure: impl FnOnce(&mut IndexOptions),
) -> IndexModel {
    let mut options = IndexOptions::default();
    options.name = Some(name.to_owned());
    configure(&mut options);
    IndexModel::builder().keys(keys).options(options).build()
}

fn classify(e: mongodb::error::Error) -> StoreError {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) if w.code == DUPLICATE_KEY => {
            StoreError::Duplicate
        }
        ErrorKind::Command(c) if c.code == DUPLICATE_KEY => StoreError::Duplicate,
        ErrorKind::BsonDeserialization(_) | ErrorKind::BsonSerialization(_) => {
            StoreError::Internal(Box::new(e))
        }
        _ => StoreError::Unavailable(Box::new(e)),
    }
}

fn bson_time(t: OffsetDateTime) -> DateTime {
    DateTime::from_millis(to_millis(t))
}

fn session_from_doc(d: SessionDoc) -> SessionRecord {
    SessionRecord {
        token_hash: d.token_hash,
        user_id: d.user_id,
        user_name: d.user_name,
        created_at: from_millis(d.created_at.timestamp_millis()),
        expires_at: from_millis(d.expires_at.timestamp_millis()),
    }
}

fn user_from_doc(d: UserDoc) -> UserRecord {
    UserRecord {
        id: d.id,
        name: d.name,
        display_name: d.display_name,
        password_hash: d.password_hash,
        created_at: from_millis(d.created_at.timestamp_millis()),
        password_changed_at: from_millis(d.password_changed_at.timestamp_millis()),
        disabled: d.disabled,
        password_expired: d.password_expired,
        reset_expires_at: d
            .reset_expires_at
            .map(|t| from_millis(t.timestamp_millis())),
        totp_secret: d.totp_secret,
        totp_pending: d.totp_pending,
        totp_last_step: d.totp_last_step,
    }
}

#[async_trait]
impl Store for MongoStore {
    async fn ping(&self) -> StoreResult<()> {
        self.db
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(classify)?;
        self.collections().await.map(drop)
    }
}

#[async_trait]
impl UserStore for MongoStore {
    async fn insert_user(&self, u: &UserRecord) -> StoreResult<()> {
        let c = self.collections().await?;
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
            totp_secret: u.totp_secret.clone(),
            totp_pending: u.totp_pending.clone(),
            totp_last_step: u.totp_last_step,
            recovery_codes: Vec::new(),
        };
        c.users.insert_one(d).await.map_err(classify).map(drop)
    }

    async fn find_user_by_id(&self, id: &str) -> StoreResult<Option<UserRecord>> {
        let c = self.collections().await?;
        let found = c
            .users
            .find_one(doc! { "_id": id })
            .await
            .map_err(classify)?;
        Ok(found.map(user_from_doc))
    }

    async fn find_user(&self, name: &str) -> StoreResult<Option<UserRecord>> {
        let c = self.collections().await?;
        let found = c
            .users
            .find_one(doc! { "name": name })
            .await
            .map_err(classify)?;
        Ok(found.map(user_from_doc))
    }

    async fn replace_password_hash(
        &self,
        name: &str,
        expected: &str,
        new_hash: &str,
        changed_at: Option<OffsetDateTime>,
    ) -> StoreResult<bool> {
        let c = self.collections().await?;
        let mut update = doc! { "$set": { "password_hash": new_hash } };
        if let Some(t) = changed_at {
            update = doc! {
                "$set": {
                    "password_hash": new_hash,
                    "password_changed_at": bson_time(t),
                    "password_expired": false,
                },
                "$unset": { "reset_token_hash": "", "reset_expires_at": "" },
            };
        }
        let r = c
            .users
            .update_one(doc! { "name": name, "password_hash": expected }, update)
            .await
            .map_err(classify)?;
        Ok(r.matched_count == 1)
    }

    async fn all_users(&self) -> StoreResult<Vec<UserRecord>> {
        let c = self.collections().await?;
        let mut cursor = c
            .users
            .find(doc! {})
            .sort(doc! { "created_at": 1 })
            .await
            .map_err(classify)?;
        let mut users = Vec::new();
        while cursor.advance().await.map_err(classify)? {
            users.push(user_from_doc(
                cursor.deserialize_current().map_err(classify)?,
            ));
        }
        Ok(users)
    }

    /// Two writes: the name (the unique index refuses a taken one), then the sessions. A
    /// session left by a failure in between names the old name and is found by nobody.
    async fn rename_user(&self, id: &str, new_name: &str) -> StoreResult<bool> {
        let c = self.collections().await?;
        let r = c
            .users
            .update_one(doc! { "_id": id }, doc! { "$set": { "name": new_name } })
            .await
            .map_err(classify)?;
        self.delete_user_sessions(id).await?;
        Ok(r.matched_count == 1)
    }

    /// Two writes, not a transaction (a standalone MongoDB has none): the user first, then its
    /// sessions. Safe in between and if the second write fails: a session counts only while an
    /// account with its `user_id` exists (see `Accounts::session`), a new
    /// registration under the same name gets a new id, and leftover sessions expire by TTL.
    async fn delete_user(&self, name: &str, expected: &str) -> StoreResult<bool> {
        let c = self.collections().await?;
        let Some(user) = c
            .users
            .find_one_and_delete(doc! { "name": name, "password_hash": expected })
            .await
            .map_err(classify)?
        else {
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

    async fn set_reset_token(
        &self,
        name: &str,
        token_hash: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.set_user_fields(
            name,
            doc! { "reset_token_hash": token_hash, "reset_expires_at": bson_time(expires_at) },
        )
        .await
    }

    async fn find_user_by_reset_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>> {
        let c = self.collections().await?;
        let found = c
            .users
            .find_one(doc! {
                "reset_token_hash": token_hash,
                "reset_expires_at": { "$gt": bson_time(now) },
            })
            .await
            .map_err(classify)?;
        Ok(found.map(user_from_doc))
    }

    async fn reset_password(
        &self,
        token_hash: &str,
        new_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>> {
        let c = self.collections().await?;
        let updated = c
            .users
            .find_one_and_update(
                doc! {
                    "reset_token_hash": token_hash,
                    "reset_expires_at": { "$gt": bson_time(now) },
                },
                doc! {
                    "$set": {
                        "password_hash": new_hash,
                        "password_changed_at": bson_time(now),
                        "password_expired": false,
                    },
                    "$unset": { "reset_token_hash": "", "reset_expires_at": "" },
                },
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(classify)?;
        Ok(updated.map(user_from_doc))
    }
}

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
        let c = self.collections().await?;
        let before = c
            .users
            .find_one_and_update(
                doc! { "_id": user_id },
                doc! {
                    "$unset": { "totp_secret": "", "totp_pending": "" },
                    "$set": { "recovery_codes": [] },
                },
            )
            .await
            .map_err(classify)?;
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
        let c = self.collections().await?;
        let user = c
            .users
            .find_one(doc! { "_id": user_id })
            .await
            .map_err(classify)?;
        Ok(user.map_or(0, |u| u.recovery_codes.len() as u64))
    }
}

impl MongoStore {
    /// Applies `update` to the account matching `filter`; whether one matched.
    async fn update_user(
        &self,
        filter: mongodb::bson::Document,
        update: mongodb::bson::Document,
    ) -> StoreResult<bool> {
        let c = self.collections().await?;
        let r = c.users.update_one(filter, update).await.map_err(classify)?;
        Ok(r.matched_count == 1)
    }

    /// Sets `fields` on the account named `name`; whether it exists.
    async fn set_user_fields(
        &self,
        name: &str,
        fields: mongodb::bson::Document,
    ) -> StoreResult<bool> {
        self.update_user(doc! { "name": name }, doc! { "$set": fields })
            .await
    }
}

#[async_trait]
impl SessionStore for MongoStore {
    async fn insert_session(&self, s: &SessionRecord) -> StoreResult<()> {
        let c = self.collections().await?;
        let d = SessionDoc {
            token_hash: s.token_hash.clone(),
            user_id: s.user_id.clone(),
            user_name: s.user_name.clone(),
            created_at: bson_time(s.created_at),
            expires_at: bson_time(s.expires_at),
        };
        c.sessions.insert_one(d).await.map_err(classify).map(drop)
    }

    /// Insert, then check: MongoDB has no conditional insert across collections (and no
    /// transactions on a standalone server). If the account no longer holds the hash, the
    /// session is removed again. If it still does, any password change after this read has
    /// not yet revoked its sessions (it swaps the hash first), so it will remove this one.
    async fn insert_session_for_hash(
        &self,
        s: &SessionRecord,
        password_hash: &str,
    ) -> StoreResult<bool> {
        self.insert_session(s).await?;
        let c = self.collections().await?;
        let still = c
            .users
            .find_one(doc! { "_id": &s.user_id, "password_hash": password_hash })
            .await
            .map_err(classify)?
            .is_some();
        if !still {
            self.delete_session(&s.token_hash).await?;
        }
        Ok(still)
    }

    async fn find_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<SessionRecord>> {
        let c = self.collections().await?;
        // The TTL sweep runs only every 60 s, so the filter on expiry is what enforces it.
        let found = c
            .sessions
            .find_one(doc! { "_id": token_hash, "expires_at": { "$gt": bson_time(now) } })
            .await
            .map_err(classify)?;
        Ok(found.map(session_from_doc))
    }

    async fn find_session_and_user(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(SessionRecord, UserRecord)>> {
        let Some(session) = self.find_session(token_hash, now).await? else {
            return Ok(None);
        };
        Ok(self
            .find_user(&session.user_name)
            .await?
            .map(|user| (session, user)))
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>> {
        let c = self.collections().await?;
        let deleted = c
            .sessions
            .find_one_and_delete(doc! { "_id": token_hash })
            .await
            .map_err(classify)?;
        Ok(deleted.map(session_from_doc))
    }

    async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<u64> {
        let c = self.collections().await?;
        let r = c
            .sessions
            .delete_many(doc! { "user_id": user_id })
            .await
            .map_err(classify)?;
        Ok(r.deleted_count)
    }

    async fn count_user_sessions(&self, user_id: &str, now: OffsetDateTime) -> StoreResult<u64> {
        let c = self.collections().await?;
        c.sessions
            .count_documents(doc! { "user_id": user_id, "expires_at": { "$gt": bson_time(now) } })
            .await
            .map_err(classify)
    }
}

#[async_trait]
impl DeviceStore for MongoStore {
    /// MongoDB's TTL index sweeps expired records; `now` is not needed.
    async fn insert_device(&self, d: &DeviceRecord, _now: OffsetDateTime) -> StoreResult<()> {
        let c = self.collections().await?;
        let doc = DeviceDoc {
            token_hash: d.token_hash.clone(),
            user_id: d.user_id.clone(),
            user_name: d.user_name.clone(),
            expires_at: bson_time(d.expires_at),
        };
        c.devices
            .replace_one(doc! { "_id": &d.token_hash }, doc)
            .upsert(true)
            .await
            .map_err(classify)
            .map(drop)
    }

    async fn find_device(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<DeviceRecord>> {
        let c = self.collections().await?;
        let found = c
            .devices
            .find_one(doc! { "_id": token_hash, "expires_at": { "$gt": bson_time(now) } })
            .await
            .map_err(classify)?;
        Ok(found.map(|d| DeviceRecord {
            token_hash: d.token_hash,
            user_id: d.user_id,
            user_name: d.user_name,
            expires_at: from_millis(d.expires_at.timestamp_millis()),
        }))
    }

    async fn delete_user_devices(&self, user_id: &str) -> StoreResult<u64> {
        let c = self.collections().await?;
        let r = c
            .devices
            .delete_many(doc! { "user_id": user_id })
            .await
            .map_err(classify)?;
        Ok(r.deleted_count)
    }
}

fn passkey_from_doc(d: PasskeyDoc) -> PasskeyRecord {
    PasskeyRecord {
        credential_id: d.credential_id,
        user_id: d.user_id,
        name: d.name,
        passkey: d.passkey,
        created_at: from_millis(d.created_at.timestamp_millis()),
        last_used_at: d.last_used_at.map(|t| from_millis(t.timestamp_millis())),
    }
}

#[async_trait]
impl PasskeyStore for MongoStore {
    async fn insert_passkey(&self, p: &PasskeyRecord) -> StoreResult<()> {
        let c = self.collections().await?;
        let d = PasskeyDoc {
            credential_id: p.credential_id.clone(),
            user_id: p.user_id.clone(),
            name: p.name.clone(),
            passkey: p.passkey.clone(),
            created_at: bson_time(p.created_at),
            last_used_at: p.last_used_at.map(bson_time),
        };
        c.passkeys.insert_one(d).await.map_err(classify).map(drop)
    }

    async fn user_passkeys(&self, user_id: &str) -> StoreResult<Vec<PasskeyRecord>> {
        let c = self.collections().await?;
        let mut cursor = c
            .passkeys
            .find(doc! { "user_id": user_id })
            .sort(doc! { "created_at": 1, "_id": 1 })
            .await
            .map_err(classify)?;
        let mut out = Vec::new();
        while cursor.advance().await.map_err(classify)? {
            out.push(passkey_from_doc(
                cursor.deserialize_current().map_err(classify)?,
            ));
        }
        Ok(out)
    }

    async fn update_passkey(
        &self,
        credential_id: &str,
        passkey: &str,
        used_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let c = self.collections().await?;
        let r = c
            .passkeys
            .update_one(
                doc! { "_id": credential_id },
                doc! { "$set": { "passkey": passkey, "last_used_at": bson_time(used_at) } },
            )
            .await
            .map_err(classify)?;
        Ok(r.matched_count == 1)
    }

    async fn delete_passkey(&self, user_id: &str, credential_id: &str) -> StoreResult<bool> {
        let c = self.collections().await?;
        let r = c
            .passkeys
            .delete_one(doc! { "_id": credential_id, "user_id": user_id })
            .await
            .map_err(classify)?;
        Ok(r.deleted_count == 1)
    }

    async fn delete_user_passkeys(&self, user_id: &str) -> StoreResult<u64> {
        let c = self.collections().await?;
        let r = c
            .passkeys
            .delete_many(doc! { "user_id": user_id })
            .await
            .map_err(classify)?;
        Ok(r.deleted_count)
    }

    /// MongoDB's TTL index sweeps abandoned ceremonies.
    async fn insert_ceremony(
        &self,
        id: &str,
        user_id: Option<&str>,
        state: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        let c = self.collections().await?;
        let d = CeremonyDoc {
            id: id.to_owned(),
            user_id: user_id.map(str::to_owned),
            state: state.to_owned(),
            expires_at: bson_time(expires_at),
        };
        c.ceremonies.insert_one(d).await.map_err(classify).map(drop)
    }

    async fn take_ceremony(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(Option<String>, String)>> {
        let c = self.collections().await?;
        let taken = c
            .ceremonies
            .find_one_and_delete(doc! { "_id": id })
            .await
            .map_err(classify)?;
        Ok(taken
            .filter(|d| d.expires_at.timestamp_millis() > to_millis(now))
            .map(|d| (d.user_id, d.state)))
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
        let c = self.collections().await?;
        // An expired counter (not yet swept by the TTL monitor) starts again.
        c.counters
            .delete_one(doc! { "_id": key, "expires_at": { "$lte": bson_time(now) } })
            .await
            .map_err(classify)?;
        // Create the counter at zero if absent (a concurrent creator's duplicate is fine), then
        // increment it: a plain `$inc` on an existing document is atomic on every server, where
        // concurrent upserts are not reliably so. A concurrent delete (a successful login
        // forgetting its failures) can remove it in between: then start again.
        for _ in 0..BUMP_ATTEMPTS {
            let fresh = CounterDoc {
                key: key.to_owned(),
                count: 0,
                last_at: bson_time(now),
                expires_at: bson_time(now + ttl),
            };
            match c.counters.insert_one(fresh).await.map_err(classify) {
                Ok(_) | Err(StoreError::Duplicate) => {}
                Err(e) => return Err(e),
            }
            let updated = c
                .counters
                .find_one_and_update(
                    doc! { "_id": key },
                    doc! {
                        "$inc": { "count": 1_i64 },
                        "$set": { "last_at": bson_time(now), "expires_at": bson_time(now + ttl) },
                    },
                )
                .return_document(ReturnDocument::After)
                .await
                .map_err(classify)?;
            if let Some(d) = updated {
                return Ok(counter_from_doc(&d));
            }
        }
        Err(StoreError::Internal(
            format!("counter {key} kept vanishing while counting").into(),
        ))
    }

    async fn get_counter(&self, key: &str, now: OffsetDateTime) -> StoreResult<Option<Counter>> {
        let c = self.collections().await?;
        let found = c
            .counters
            .find_one(doc! { "_id": key, "expires_at": { "$gt": bson_time(now) } })
            .await
            .map_err(classify)?;
        Ok(found.as_ref().map(counter_from_doc))
    }

    async fn delete_counter(&self, key: &str) -> StoreResult<()> {
        let c = self.collections().await?;
        c.counters
            .delete_one(doc! { "_id": key })
            .await
            .map_err(classify)
            .map(drop)
    }

    async fn delete_counters_with_prefix(&self, prefix: &str) -> StoreResult<u64> {
        let c = self.collections().await?;
        let r = c
            .counters
            .delete_many(doc! { "_id": { "$gte": prefix, "$lt": super::prefix_end(prefix) } })
            .await
            .map_err(classify)?;
        Ok(r.deleted_count)
    }
}

fn counter_from_doc(d: &CounterDoc) -> Counter {
    Counter {
        count: u32::try_from(d.count).unwrap_or(u32::MAX),
        last_at: from_millis(d.last_at.timestamp_millis()),
        expires_at: from_millis(d.expires_at.timestamp_millis()),
    }
}
