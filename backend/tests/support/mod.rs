//! Test fixtures shared by the integration suites: stores, and the MongoDB server's address.

#![allow(dead_code)] // each test binary uses a different part of this module

pub mod app;
pub mod process;
pub mod smtp;

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use accounts_server::store::{mongo::MongoStore, sqlite::SqliteStore, Ping, Store};

/// Every route that takes a JSON body, the original's included: read from the server's own
/// OpenAPI document, which is built from the same list as its router.
pub fn json_body_routes() -> Vec<String> {
    let routes = body_routes("application/json");
    assert!(routes.len() >= 7, "{routes:?}");
    routes
}

/// Every POST route that takes a form (`application/x-www-form-urlencoded`): the OAuth
/// endpoints.
pub fn form_body_routes() -> Vec<String> {
    let routes = body_routes("application/x-www-form-urlencoded");
    assert!(routes.len() >= 3, "{routes:?}");
    routes
}

/// Every POST route whose documented body is of `media_type`.
fn body_routes(media_type: &str) -> Vec<String> {
    let doc = serde_json::to_value(accounts_server::http::document()).expect("document");
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .filter(|(_, item)| {
            item["post"]["requestBody"]["content"]
                .get(media_type)
                .is_some()
        })
        .map(|(path, _)| path.clone())
        .collect()
}

/// Set `TEST_LOG=1` to see the servers' logs (in-process and child processes); by default the
/// tests keep quiet. `RUST_LOG` still picks the level.
pub fn test_log() -> bool {
    std::env::var_os("TEST_LOG").is_some()
}

/// Where the MongoDB wire-protocol server for tests listens. `scripts/test.sh` starts one and sets
/// this; without it the MongoDB tests fail (they never silently skip).
pub const MONGODB_ENV: &str = "ACCOUNTS_TEST_MONGODB_URI";

pub fn mongodb_uri() -> String {
    std::env::var(MONGODB_ENV).unwrap_or_else(|_| {
        panic!(
            "{MONGODB_ENV} is not set: the MongoDB tests need a server. \
             Run scripts/test.sh, which installs and starts one, or set it to a mongodb:// URI."
        )
    })
}

/// A database name no other test uses.
pub fn unique_db_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "accounts_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    )
}

/// Which store a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Mongo,
}

/// A store plus whatever keeps it alive (the temporary folder of an embedded store), and where
/// its data lives, for tests that write behind its back.
pub struct StoreFixture {
    pub store: Arc<dyn Store>,
    /// The embedded store's folder.
    pub dir: Option<tempfile::TempDir>,
    /// The MongoDB database's name.
    pub mongo_db: Option<String>,
}

pub async fn store(kind: Kind) -> StoreFixture {
    match kind {
        Kind::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = SqliteStore::open(dir.path()).expect("open sqlite");
            StoreFixture {
                store: Arc::new(store),
                dir: Some(dir),
                mongo_db: None,
            }
        }
        Kind::Mongo => {
            let db = unique_db_name();
            let store = MongoStore::connect(&mongodb_uri(), &db)
                .await
                .expect("connect to MongoDB");
            store
                .ping()
                .await
                .expect("MongoDB test server is not answering");
            StoreFixture {
                store: Arc::new(store),
                dir: None,
                mongo_db: Some(db),
            }
        }
    }
}

/// Declares each listed `async fn name(kind: Kind)` as a test once per store, in modules `sqlite`
/// and `mongo`, so one suite is written once and runs against both.
#[macro_export]
macro_rules! for_each_store {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    super::$test($crate::support::Kind::Sqlite).await
                }
            )*
        }
        mod mongo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    super::$test($crate::support::Kind::Mongo).await
                }
            )*
        }
    };
}
