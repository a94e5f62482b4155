//! The production store: MongoDB through the official driver.
//!
//! - `users` has a unique index on the canonical name, so the database (not this process)
//!   decides which of two concurrent registrations wins; the loser gets duplicate-key code 11000.
//! - `sessions`, `counters`, `devices` and `ceremonies` have a TTL index on `expires_at`, so
//!   MongoDB sweeps them by itself (every 60 s: lookups still filter on expiry).
//! - Writes use majority write concern with journaling: an acknowledged write survives a
//!   failover. Server selection is short, so a down database gives a quick `503`, and the
//!   driver reconnects by itself when it comes back.
//! - Every operation goes through `MongoStore::run`, which hands out the collections only
//!   once their indexes exist (created idempotently on first use, see `indexes`) and
//!   classifies the driver's error. If MongoDB is down at start-up the server still starts
//!   (not ready) and creates them once the database answers.
//! - Deleting a user and its sessions is two writes, not one transaction (see `users` for
//!   why that is safe).
//!
//! One file per role, as in the conformance suite.

mod ceremonies;
mod counters;
mod devices;
mod email;
mod indexes;
mod oidc;
mod outbox;
mod passkeys;
mod recovery;
mod second_factor;
mod sessions;
mod users;

use std::time::Duration;

use async_trait::async_trait;
use mongodb::{
    bson::{doc, DateTime},
    error::{ErrorKind, WriteFailure},
    options::{Acknowledgment, ClientOptions, DatabaseOptions, WriteConcern},
    Client, Database,
};
use time::OffsetDateTime;
use tokio::sync::OnceCell;

use self::indexes::Collections;
use super::{Ping, Store, StoreError, StoreResult};
use crate::clock::{from_millis, to_millis};

/// How long an operation waits for a usable server before failing with `Unavailable`.
const SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a majority write may wait for replication before failing.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;

/// MongoDB through the official driver. Cheap to share: the driver pools connections.
pub struct MongoStore {
    db: Database,
    /// Set once the indexes exist; see [`MongoStore::run`].
    collections: OnceCell<Collections>,
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

    /// Runs one or more driver calls on the collections, once their indexes exist (created on
    /// first use, idempotently), and classifies the driver's error. Every operation goes
    /// through here, so no write ever runs without the unique index.
    async fn run<T>(
        &self,
        op: impl AsyncFnOnce(&Collections) -> mongodb::error::Result<T>,
    ) -> StoreResult<T> {
        let collections = self
            .collections
            .get_or_try_init(|| Collections::open(&self.db))
            .await
            .map_err(classify)?;
        op(collections).await.map_err(classify)
    }
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

fn from_bson(t: DateTime) -> OffsetDateTime {
    from_millis(t.timestamp_millis())
}

impl Store for MongoStore {}

#[async_trait]
impl Ping for MongoStore {
    async fn ping(&self) -> StoreResult<()> {
        self.run(async |_| self.db.run_command(doc! { "ping": 1 }).await.map(drop))
            .await
    }
}
