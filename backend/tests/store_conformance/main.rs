//! One conformance suite per store role (users, sessions, counters), each test run against the
//! embedded SQLite store and against a real MongoDB wire-protocol server.

#[path = "../support/mod.rs"]
mod support;

mod counters;
mod devices;
mod recovery;
mod second_factor;
mod sessions;
mod users;

use std::time::Duration;

use accounts_server::{
    clock,
    store::{sqlite::SqliteStore, SessionRecord, StoreError, UserRecord, UserStore},
};
use support::{store, Kind};

fn user(name: &str, hash: &str) -> UserRecord {
    let now = clock::now();
    UserRecord {
        id: accounts_server::ids::account_id(),
        name: name.to_owned(),
        display_name: name.to_uppercase(),
        password_hash: hash.to_owned(),
        created_at: now,
        password_changed_at: now,
        disabled: false,
        password_expired: false,
        reset_expires_at: None,
        totp_secret: None,
        totp_pending: None,
        totp_last_step: 0,
    }
}

fn session(token_hash: &str, user: &UserRecord, ttl: Duration) -> SessionRecord {
    let now = clock::now();
    SessionRecord {
        token_hash: token_hash.to_owned(),
        user_id: user.id.clone(),
        user_name: user.name.clone(),
        created_at: now,
        expires_at: now + ttl,
    }
}

const HOUR: Duration = Duration::from_secs(3600);

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

/// A database made before part 7 (no operator or reset columns) opens, gains them, and its
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
