//! Persistence: one small trait, two implementations.
//!
//! - [`mongo::MongoStore`]: production, MongoDB through the official driver.
//! - [`sqlite::SqliteStore`]: embedded, so a first run needs nothing installed.
//!
//! Users, sessions and throttling counters live here, so several server instances sharing one
//! database share all state. Both pass the same conformance suite (`tests/store_conformance.rs`). Uniqueness and
//! compare-and-swap are the database's job (a unique index, a conditional update), never a
//! check-then-write in this process, so several server instances can share one database.

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
    pub name: String,
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub created_at: OffsetDateTime,
    pub password_changed_at: OffsetDateTime,
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
            .finish()
    }
}

/// A login session. Only the SHA-256 of the token is stored, so a leaked database holds no
/// usable session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub token_hash: String,
    pub user_id: String,
    pub user_name: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A counter of events under one key (failed logins of an account, requests of a client IP in
/// a minute) that expires by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub count: u32,
    /// When the last event was counted.
    pub last_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What can go wrong in a store, in terms the layers above can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken (the user name).
    #[error("duplicate key")]
    Duplicate,
    /// The database cannot be reached or is not answering; worth retrying later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or corrupt data.
    #[error("store failure: {0}")]
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The storage the service needs: users and sessions.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip, for readiness.
    async fn ping(&self) -> StoreResult<()>;

    /// Inserts a new user; [`StoreError::Duplicate`] when the name is taken.
    async fn insert_user(&self, user: &UserRecord) -> StoreResult<()>;

    async fn find_user(&self, name: &str) -> StoreResult<Option<UserRecord>>;

    /// Compare-and-swap: replaces the hash only if it is still `expected`. Returns whether it
    /// did. `changed_at` is `None` for a rehash, which is not a password change.
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

    async fn insert_session(&self, session: &SessionRecord) -> StoreResult<()>;

    /// The session, if it exists and has not expired at `now` (whether or not a sweep has
    /// removed it yet).
    async fn find_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<SessionRecord>>;

    /// The session (as [`Store::find_session`]) together with the user it names, if that user
    /// exists. One round trip where the store can join.
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

    /// Revokes one session. Idempotent. Returns the session if it was there (expired or not),
    /// so the caller learns whose it was in the same round trip.
    async fn delete_session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>>;

    /// Revokes every session of one account. Returns how many there were.
    async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<u64>;

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

    async fn delete_counter(&self, key: &str) -> StoreResult<()>;
}
