//! Persistence: role traits, two implementations.
//!
//! The service needs three kinds of records, each behind its own trait so that a part of the
//! service depends only on what it uses (the throttle sees counters, nothing else):
//! [`UserStore`] (accounts), [`SessionStore`] (logins), [`CounterStore`] (throttling),
//! [`DeviceStore`] (known browsers), [`SecondFactorStore`] (authenticator apps) and
//! [`PasskeyStore`] (WebAuthn credentials and ceremonies).
//! [`Store`] is all of them plus a readiness ping; new kinds of records get a role of their own.
//!
//! - [`mongo::MongoStore`]: production, MongoDB through the official driver.
//! - [`sqlite::SqliteStore`]: embedded, so a first run needs nothing installed.
//!
//! All state lives here, so several server instances sharing one database share it. Both
//! implementations pass one conformance suite per role (`tests/store_conformance/`).
//! Uniqueness and compare-and-swap are the database's job (a unique index, a conditional
//! update), never a check-then-write in this process.

pub mod mongo;
mod session_cache;
pub mod sqlite;

use std::{fmt, time::Duration};

use async_trait::async_trait;
use time::OffsetDateTime;

/// A stored account. `name` is the canonical user name (the unique key).
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Random id, new for every registration: a session of a deleted account can never match an
    /// account registered later under the same name.
    pub id: String,
    /// Canonical user name: the unique key, as [`accounts_api::UserName::canonical`] gives it.
    pub name: String,
    /// The name as the user typed it at registration, for display.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// When the account was registered.
    pub created_at: OffsetDateTime,
    /// When the password was last set (a rehash does not count).
    pub password_changed_at: OffsetDateTime,
    /// Turned off by an operator: a login with the right password is refused.
    pub disabled: bool,
    /// Expired by an operator: the next login must change the password first. Any new
    /// password clears it.
    pub password_expired: bool,
    /// When the pending password-reset link ends, if one was issued (its token's hash stays
    /// inside the store: it is a credential).
    pub reset_expires_at: Option<OffsetDateTime>,
    /// The authenticator-app secret in force (base32), when two-factor login is on.
    pub totp_secret: Option<String>,
    /// A secret being set up, in force once a code from it is confirmed.
    pub totp_pending: Option<String>,
    /// The last time step whose code was accepted: a code works once.
    pub totp_last_step: i64,
}

impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("display_name", &self.display_name)
            .field("password_hash", &"***")
            .field("created_at", &self.created_at)
            .field("password_changed_at", &self.password_changed_at)
            .field("disabled", &self.disabled)
            .field("password_expired", &self.password_expired)
            .field("reset_expires_at", &self.reset_expires_at)
            .field("totp", &self.totp_secret.as_ref().map(|_| "***"))
            .field("totp_pending", &self.totp_pending.as_ref().map(|_| "***"))
            .field("totp_last_step", &self.totp_last_step)
            .finish()
    }
}

/// A login session. Only the SHA-256 of the token is stored, so a leaked database holds no
/// usable session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Hex SHA-256 of the token the client holds.
    pub token_hash: String,
    /// The [`UserRecord::id`] of the account: a later account under the same name never matches.
    pub user_id: String,
    /// The account's canonical name, to find it.
    pub user_name: String,
    /// When the session was opened (sessions older than a password change are void).
    pub created_at: OffsetDateTime,
    /// When the session ends by itself.
    pub expires_at: OffsetDateTime,
}

/// A counter of events under one key (failed logins of an account, requests of a client IP in
/// a minute) that expires by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Events counted since the counter (re)started.
    pub count: u32,
    /// When the last event was counted.
    pub last_at: OffsetDateTime,
    /// When the counter is forgotten.
    pub expires_at: OffsetDateTime,
}

/// A lower-level error kept as the source of a [`StoreError`], so logs show the whole chain.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// What can go wrong in a store, in terms the layers above can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken (the user name).
    #[error("duplicate key")]
    Duplicate,
    /// The database cannot be reached or is not answering; worth retrying later.
    #[error("store unavailable")]
    Unavailable(#[source] Cause),
    /// Anything else: a bug or corrupt data.
    #[error("store failure")]
    Internal(#[source] Cause),
}

impl StoreError {
    /// [`StoreError::Unavailable`], saying what was being done when `source` happened.
    pub fn unavailable(what: impl Into<String>, source: impl Into<Cause>) -> Self {
        Self::Unavailable(Box::new(Context {
            what: what.into(),
            source: source.into(),
        }))
    }
}

/// What was being done when a lower-level error happened.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
struct Context {
    what: String,
    #[source]
    source: Cause,
}

/// The result of every store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Accounts, keyed by canonical user name.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Inserts a new user; [`StoreError::Duplicate`] when the name is taken.
    async fn insert_user(&self, user: &UserRecord) -> StoreResult<()>;

    /// The user with this canonical name, if any.
    async fn find_user(&self, name: &str) -> StoreResult<Option<UserRecord>>;

    /// The user with this id, if any.
    async fn find_user_by_id(&self, id: &str) -> StoreResult<Option<UserRecord>>;

    /// Compare-and-swap: replaces the hash only if it is still `expected`. Returns whether it
    /// did. `changed_at` is `None` for a rehash, which is not a password change; a change
    /// (`Some`) also clears an operator's expiry and voids a pending reset link.
    async fn replace_password_hash(
        &self,
        name: &str,
        expected: &str,
        new_hash: &str,
        changed_at: Option<OffsetDateTime>,
    ) -> StoreResult<bool>;

    /// Deletes the user if its hash is still `expected`, with all its sessions. Returns whether
    /// it did.
    async fn delete_user(&self, name: &str, expected: &str) -> StoreResult<bool>;

    /// Every account (for migrations at start-up).
    async fn all_users(&self) -> StoreResult<Vec<UserRecord>>;

    /// Gives the account `id` the canonical name `new_name` and revokes its sessions (they
    /// name the account by its old name). [`StoreError::Duplicate`] if the name is taken;
    /// `false` if there is no such account.
    async fn rename_user(&self, id: &str, new_name: &str) -> StoreResult<bool>;

    /// Sets whether the account is disabled. Returns whether the account exists.
    async fn set_disabled(&self, name: &str, disabled: bool) -> StoreResult<bool>;

    /// Marks the password expired until it is next changed. Returns whether the account
    /// exists.
    async fn expire_password(&self, name: &str) -> StoreResult<bool>;

    /// Stores the hash of a new reset token and its expiry, replacing any earlier one (so an
    /// older link stops working). Returns whether the account exists.
    async fn set_reset_token(
        &self,
        name: &str,
        token_hash: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// The account holding this reset token, unless there is none or it has expired at `now`.
    async fn find_user_by_reset_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>>;

    /// Uses a reset token up: in one conditional write, only while the account still holds
    /// the token unexpired at `now`, sets the password (`new_hash`, changed at `now`), clears
    /// any expiry and forgets the token. Returns the updated account, or `None` if the token
    /// was not (or no longer) valid; so of two uses at once exactly one wins.
    async fn reset_password(
        &self,
        token_hash: &str,
        new_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<UserRecord>>;
}

/// Two-factor login: the authenticator-app secret and the recovery codes (stored as hashes)
/// of an account, by its id.
#[async_trait]
pub trait SecondFactorStore: Send + Sync + 'static {
    /// Keeps `secret` as the one being set up, replacing any earlier pending one. Returns
    /// whether the account exists.
    async fn set_pending_totp(&self, user_id: &str, secret: &str) -> StoreResult<bool>;

    /// Puts the pending secret in force, if it is still `secret` and no secret is in force:
    /// records `step` as used and makes `recovery_hashes` the account's recovery codes.
    /// Returns whether it did.
    async fn enable_totp(
        &self,
        user_id: &str,
        secret: &str,
        step: i64,
        recovery_hashes: &[String],
    ) -> StoreResult<bool>;

    /// Forgets the secret in force, any pending one and the recovery codes. Returns whether
    /// there was a secret in force.
    async fn disable_totp(&self, user_id: &str) -> StoreResult<bool>;

    /// Records `step` as the last used, only if it is later than the one recorded (so of two
    /// uses of one code, one wins). Returns whether it did.
    async fn use_totp_step(&self, user_id: &str, step: i64) -> StoreResult<bool>;

    /// Uses up the recovery code with this hash. Returns whether the account had it.
    async fn use_recovery_code(&self, user_id: &str, code_hash: &str) -> StoreResult<bool>;

    /// How many recovery codes the account has left.
    async fn count_recovery_codes(&self, user_id: &str) -> StoreResult<u64>;
}

/// Login sessions, keyed by the SHA-256 of their token.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Stores a new session.
    async fn insert_session(&self, session: &SessionRecord) -> StoreResult<()>;

    /// Stores a login's session only if its account (by id) still holds `password_hash`, the
    /// hash the login verified; returns whether it did. A password change that lands while the
    /// login is verifying must not leave it a session: either this sees the new hash and
    /// stores nothing, or the session is in place before the change revokes every session.
    async fn insert_session_for_hash(
        &self,
        session: &SessionRecord,
        password_hash: &str,
    ) -> StoreResult<bool>;

    /// The session, if it exists and has not expired at `now` (whether or not a sweep has
    /// removed it yet).
    async fn find_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<SessionRecord>>;

    /// The session (as [`SessionStore::find_session`]) together with the user it names, if that
    /// user exists. One round trip where the store can join.
    async fn find_session_and_user(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(SessionRecord, UserRecord)>>;

    /// Revokes one session. Idempotent. Returns the session if it was there (expired or not),
    /// so the caller learns whose it was in the same round trip.
    async fn delete_session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>>;

    /// Revokes every session of one account. Returns how many there were.
    async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<u64>;

    /// How many sessions of one account are valid at `now` (for operators).
    async fn count_user_sessions(&self, user_id: &str, now: OffsetDateTime) -> StoreResult<u64>;
}

/// A browser known to an account (OWASP "device cookies"): a successful login there gave it a
/// long-lived cookie; only the SHA-256 of the cookie's token is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Hex SHA-256 of the token the browser holds.
    pub token_hash: String,
    /// The account it is known to.
    pub user_id: String,
    /// That account's canonical name, to match a login attempt before any account lookup.
    pub user_name: String,
    /// When it stops counting as known.
    pub expires_at: OffsetDateTime,
}

/// Browsers known to accounts.
#[async_trait]
pub trait DeviceStore: Send + Sync + 'static {
    /// Remembers a browser (replacing a record with the same token hash); records expired at
    /// `now` may be swept meanwhile.
    async fn insert_device(&self, device: &DeviceRecord, now: OffsetDateTime) -> StoreResult<()>;

    /// The device record, unless absent or expired at `now`.
    async fn find_device(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<DeviceRecord>>;

    /// Forgets every browser known to the account (when it is deleted).
    async fn delete_user_devices(&self, user_id: &str) -> StoreResult<u64>;
}

/// Counters of events that expire by themselves (failed logins, requests per IP and minute).
#[async_trait]
pub trait CounterStore: Send + Sync + 'static {
    /// Counts one event under `key`, atomically (no increment is lost under concurrency). A
    /// counter that has expired at `now` starts again at 1. The counter then expires at
    /// `now + ttl`.
    async fn bump_counter(
        &self,
        key: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> StoreResult<Counter>;

    /// The counter under `key`, unless it is absent or expired at `now`.
    async fn get_counter(&self, key: &str, now: OffsetDateTime) -> StoreResult<Option<Counter>>;

    /// Forgets the counter under `key`.
    async fn delete_counter(&self, key: &str) -> StoreResult<()>;

    /// Forgets every counter whose key starts with `prefix`. Returns how many there were.
    async fn delete_counters_with_prefix(&self, prefix: &str) -> StoreResult<u64>;
}

/// The end of the key range that starts with a prefix: `prefix` followed by the greatest
/// character sorts after every key with that prefix, in UTF-8 byte order as both stores compare.
pub fn prefix_end(prefix: &str) -> String {
    format!("{prefix}{}", char::MAX)
}

/// A passkey (WebAuthn credential) registered to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRecord {
    /// The credential id, base64url: unique across all accounts.
    pub credential_id: String,
    /// The account.
    pub user_id: String,
    /// What the user called it ("Laptop", "Phone").
    pub name: String,
    /// The credential's public key and signature counter, as the WebAuthn library keeps them
    /// (JSON). Not a secret.
    pub passkey: String,
    /// When it was registered.
    pub created_at: OffsetDateTime,
    /// When it last logged in.
    pub last_used_at: Option<OffsetDateTime>,
}

/// Passkeys, and the state of WebAuthn ceremonies in progress (kept in the store, so the
/// finish of a ceremony may reach another instance than its start).
#[async_trait]
pub trait PasskeyStore: Send + Sync + 'static {
    /// Stores a new passkey; [`StoreError::Duplicate`] if its credential id is registered.
    async fn insert_passkey(&self, passkey: &PasskeyRecord) -> StoreResult<()>;

    /// The account's passkeys, oldest first.
    async fn user_passkeys(&self, user_id: &str) -> StoreResult<Vec<PasskeyRecord>>;

    /// Replaces a passkey's library state (its counter) after a login at `used_at`.
    async fn update_passkey(
        &self,
        credential_id: &str,
        passkey: &str,
        used_at: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// Removes one of the account's passkeys; whether it was there.
    async fn delete_passkey(&self, user_id: &str, credential_id: &str) -> StoreResult<bool>;

    /// Removes every passkey of the account; how many there were.
    async fn delete_user_passkeys(&self, user_id: &str) -> StoreResult<u64>;

    /// Keeps the state of a ceremony (for the account `user_id`, if it is one's) until
    /// `expires_at`.
    async fn insert_ceremony(
        &self,
        id: &str,
        user_id: Option<&str>,
        state: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()>;

    /// Takes a ceremony's state out (it works once): its account and state, unless absent or
    /// expired at `now`.
    async fn take_ceremony(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(Option<String>, String)>>;
}

/// Everything the service stores, in one database.
#[async_trait]
pub trait Store:
    UserStore + SessionStore + CounterStore + DeviceStore + SecondFactorStore + PasskeyStore
{
    /// Cheap round trip, for readiness.
    async fn ping(&self) -> StoreResult<()>;
}
