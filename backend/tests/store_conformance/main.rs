//! One conformance suite per store role (users, sessions, counters), each test run against the
//! embedded SQLite store and against a real MongoDB wire-protocol server.

#[path = "../support/mod.rs"]
mod support;

mod counters;
mod devices;
mod email;
mod key_check;
mod oidc;
mod outbox;
mod recovery;
mod second_factor;
mod sessions;
mod users;

use std::time::Duration;

use accounts_server::{
    clock,
    store::{
        sqlite::{SqliteStore, FILE_NAME},
        SessionRecord, Store, StoreError, StoreResult, UserRecord, UserStore,
    },
};
use support::{store, Kind};
use time::OffsetDateTime;

fn user(name: &str, hash: &str) -> UserRecord {
    let now = clock::now();
    UserRecord::new(name, &name.to_uppercase(), hash.to_owned(), now)
}

fn session(token_hash: &str, user: &UserRecord, ttl: Duration) -> SessionRecord {
    let now = clock::now();
    SessionRecord {
        token_hash: token_hash.to_owned(),
        user_id: user.id.clone(),
        user_name: user.name.clone(),
        created_at: now,
        expires_at: now + ttl,
        authenticated_at: now,
        amr: "pwd".into(),
        browser: String::new(),
        ip_prefix: String::new(),
        last_seen_at: now,
    }
}

const HOUR: Duration = Duration::from_secs(3600);

/// The sessions role as the tests need it, in terms of what the service itself calls: a
/// session stored as a login stores it (its account holds the hash it had), and found with
/// its account.
trait Sessions {
    async fn insert_session(&self, s: &SessionRecord) -> StoreResult<()>;
    async fn find_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<SessionRecord>>;
}

impl Sessions for dyn Store {
    async fn insert_session(&self, s: &SessionRecord) -> StoreResult<()> {
        let user = self
            .find_user_by_id(&s.user_id)
            .await?
            .expect("a session's account exists (see insert_orphan_session)");
        assert!(
            self.insert_session_for_hash(s, &user.password_hash, user.session_generation)
                .await?
        );
        Ok(())
    }

    async fn find_session(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<SessionRecord>> {
        Ok(self
            .look_up_session(token_hash, now)
            .await?
            .map(|found| found.session.clone()))
    }
}

/// Writes a session straight into the database, as a failure halfway through deleting its
/// account could leave it: no store method stores a session without its account.
async fn insert_orphan_session(f: &support::StoreFixture, s: &SessionRecord) {
    if let Some(dir) = &f.dir {
        let c = rusqlite::Connection::open(dir.path().join(FILE_NAME)).unwrap();
        c.execute(
            "INSERT INTO sessions (token_hash, user_id, user_name, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![
                s.token_hash,
                s.user_id,
                s.user_name,
                clock::to_millis(s.created_at),
                clock::to_millis(s.expires_at)
            ],
        )
        .unwrap();
    }
    if let Some(db) = &f.mongo_db {
        use mongodb::bson::{doc, DateTime, Document};
        let client = mongodb::Client::with_uri_str(support::mongodb_uri())
            .await
            .unwrap();
        let at = |t| DateTime::from_millis(clock::to_millis(t));
        client
            .database(db)
            .collection::<Document>("sessions")
            .insert_one(doc! {
                "_id": &s.token_hash,
                "user_id": &s.user_id,
                "user_name": &s.user_name,
                "created_at": at(s.created_at),
                "expires_at": at(s.expires_at),
            })
            .await
            .unwrap();
    }
}

async fn ping_answers(kind: Kind) {
    let f = store(kind).await;
    f.store.ping().await.unwrap();
}

/// The embedded store's folder belongs to one process: a second opener is refused until the
/// first is closed, so no process can cache a session another has revoked.
#[tokio::test]
async fn the_embedded_store_admits_one_opener_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let first = SqliteStore::open(dir.path()).unwrap();
    let clone = first.clone();
    match SqliteStore::open(dir.path()) {
        Err(e @ StoreError::Unavailable(_)) => {
            let why = accounts_server::telemetry::chain(&e);
            assert!(why.contains("in use"), "{why}");
        }
        other => panic!("a second opener got {:?}", other.map(|_| ())),
    }
    drop(first);
    assert!(
        SqliteStore::open(dir.path()).is_err(),
        "a clone still holds it"
    );
    drop(clone);
    SqliteStore::open(dir.path()).unwrap();
}

for_each_store!(ping_answers);

/// A database made before the first migration (no operator or reset columns) opens, gains them, and its
/// accounts keep every field.
#[tokio::test]
async fn an_older_embedded_database_is_migrated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let c = rusqlite::Connection::open(dir.path().join("accounts.sqlite3")).unwrap();
        c.execute_batch(
            "CREATE TABLE users (
                id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL,
                password_hash TEXT NOT NULL, created_at INTEGER NOT NULL,
                password_changed_at INTEGER NOT NULL
             ) STRICT;
             INSERT INTO users VALUES ('id1', 'ada', 'Ada', 'h1', 1700000000000, 1700000000001);",
        )
        .unwrap();
    }
    for _ in 0..2 {
        // Twice: the second open finds nothing left to do.
        let store = SqliteStore::open(dir.path()).unwrap();
        let ada = store.find_user("ada").await.unwrap().unwrap();
        assert_eq!((ada.id.as_str(), ada.display_name.as_str()), ("id1", "Ada"));
        assert_eq!(
            ada.password_changed_at,
            clock::from_millis(1_700_000_000_001)
        );
        assert!(!ada.disabled && !ada.password_expired && ada.reset_expires_at.is_none());
        assert!(store.set_disabled("ada", true).await.unwrap());
        assert!(store.set_disabled("ada", false).await.unwrap());
    }
}
