//! `TestApp`: the real server on an ephemeral port, with a cookie-keeping HTTP client, on a
//! clock that moves only when the test says ([`TestApp::advance`]).

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use accounts_server::{
    clock::{Clock, ManualClock},
    config::Config,
    App,
};
use clap::Parser;
use reqwest::{header, Response};
use serde_json::{json, Value};
use tokio::{sync::oneshot, task::JoinHandle};

use super::{mongodb_uri, unique_db_name, Kind};

/// Which database a test server uses.
enum Storage {
    /// One of the shared kinds.
    Kind(Kind),
    /// A MongoDB server of the test's own (one it stops, or one that is not there).
    MongoAt { uri: String, db: String },
}

/// A running server. Dropping it stops the server; [`TestApp::restart_with`] reuses its data
/// and its clock.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The metrics listener, when the config enables it.
    pub metrics_addr: Option<SocketAddr>,
    pub client: reqwest::Client,
    pub config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
    data: DataHolder,
    /// The server's time: it starts at the wall clock's and stands still until advanced.
    clock: ManualClock,
}

/// Keeps the temporary data folder alive across restarts.
#[derive(Clone)]
struct DataHolder(std::sync::Arc<tempfile::TempDir>);

/// The server's default (production) Argon2 costs, for tests whose point is real hash times.
pub fn production_argon2(config: &mut Config) {
    let defaults = Config::try_parse_from(["accounts-server"]).expect("defaults parse");
    config.argon2_memory_kib = defaults.argon2_memory_kib;
    config.argon2_iterations = defaults.argon2_iterations;
    config.argon2_parallelism = defaults.argon2_parallelism;
}

/// Fast settings for tests: cheap Argon2 and a short minimum length.
pub fn test_config(kind: Kind, data_dir: PathBuf) -> Config {
    config_for(Storage::Kind(kind), data_dir)
}

fn config_for(storage: Storage, data_dir: PathBuf) -> Config {
    let mut config = Config::try_parse_from([
        "accounts-server",
        "--listen",
        "127.0.0.1:0",
        "--argon2-memory-kib",
        "1024",
        "--argon2-iterations",
        "1",
        "--argon2-parallelism",
        "1",
        "--password-min-length",
        "8",
        "--password-max-age",
        "0",
        "--static-dir",
        "/nonexistent-accounts-dist",
        // Most tests send many requests from 127.0.0.1; the IP limit has its own tests.
        "--ip-rate-limit",
        "0",
        // Tests fire many concurrent logins; shedding has its own test.
        "--hash-max-wait",
        "600",
        // ... over as many connections from 127.0.0.1; the per-address cap has its own tests.
        "--max-connections-per-ip",
        "0",
    ])
    .expect("test config parses");
    config.data_dir = data_dir;
    config.cookie_secure = false;
    match storage {
        Storage::Kind(Kind::Sqlite) => config.mongodb_uri = None,
        Storage::Kind(Kind::Mongo) => {
            config.mongodb_uri = Some(mongodb_uri());
            config.mongodb_db = unique_db_name();
        }
        Storage::MongoAt { uri, db } => {
            config.mongodb_uri = Some(uri);
            config.mongodb_db = db;
        }
    }
    config
}

impl TestApp {
    pub async fn spawn(kind: Kind) -> Self {
        Self::spawn_with(kind, |_| {}).await
    }

    /// A server on the MongoDB server at `uri` (not the shared test server), database `db`.
    pub async fn spawn_on_mongodb_at(uri: String, db: &str) -> Self {
        let dir = DataHolder(std::sync::Arc::new(tempfile::tempdir().expect("temp dir")));
        let config = config_for(
            Storage::MongoAt {
                uri,
                db: db.to_owned(),
            },
            dir.0.path().to_owned(),
        );
        Self::start(config, dir, ManualClock::new()).await
    }

    /// Starts a server after `adjust` has changed the test config.
    pub async fn spawn_with(kind: Kind, adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = DataHolder(std::sync::Arc::new(tempfile::tempdir().expect("temp dir")));
        let mut config = test_config(kind, dir.0.path().to_owned());
        adjust(&mut config);
        Self::start(config, dir, ManualClock::new()).await
    }

    async fn start(config: Config, data: DataHolder, clock: ManualClock) -> Self {
        if super::test_log() {
            accounts_server::telemetry::init(accounts_server::telemetry::LogFormat::Text);
        }
        let app = App::build_with(config.clone(), Arc::new(clock.clone()))
            .await
            .expect("app builds");
        let addr = app.local_addr().expect("bound");
        let metrics_addr = app.metrics_addr();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(app.serve(async {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            addr,
            metrics_addr,
            client,
            config,
            shutdown: Some(tx),
            handle: Some(handle),
            data,
            clock,
        }
    }

    /// The server's time now.
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    /// Moves the server's time forward by `by` (no real time passes).
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Stops the server gracefully and starts a new one on the same data, after `adjust`.
    pub async fn restart_with(mut self, adjust: impl FnOnce(&mut Config)) -> Self {
        self.stop().await;
        let mut config = self.config.clone();
        config.listen = "127.0.0.1:0".parse().expect("addr");
        adjust(&mut config);
        Self::start(config, self.data.clone(), self.clock.clone()).await
    }

    /// How many records the server's store holds in `table` (a SQLite table, the MongoDB
    /// collection of the same name), read behind the server's back.
    pub async fn count_records(&self, table: &str) -> u64 {
        match self.config.mongodb_uri.as_deref() {
            None => {
                let path = self
                    .config
                    .data_dir
                    .join(accounts_server::store::sqlite::FILE_NAME);
                let db = rusqlite::Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )
                .expect("open the database read-only");
                db.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
                    r.get::<_, i64>(0)
                })
                .expect("count") as u64
            }
            Some(uri) => {
                let client = mongodb::Client::with_uri_str(uri).await.expect("connect");
                client
                    .database(&self.config.mongodb_db)
                    .collection::<mongodb::bson::Document>(table)
                    .count_documents(mongodb::bson::doc! {})
                    .await
                    .expect("count")
            }
        }
    }

    /// Stops the server and opens its store directly (the embedded store admits one process
    /// at a time), to look at what the server left there.
    pub async fn stop_and_open_store(&mut self) -> Box<dyn accounts_server::store::Store> {
        use accounts_server::store::{mongo::MongoStore, sqlite::SqliteStore};
        self.stop().await;
        match self.config.mongodb_uri.as_deref() {
            None => Box::new(SqliteStore::open(&self.config.data_dir).expect("open store")),
            Some(uri) => Box::new(
                MongoStore::connect(uri, &self.config.mongodb_db)
                    .await
                    .expect("connect to MongoDB"),
            ),
        }
    }

    /// `accounts-server admin --socket <its socket> ARGS…`: the operator's client (the real
    /// binary) against this server, run to completion.
    pub fn admin(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_accounts-server"))
            .arg("admin")
            .arg("--socket")
            .arg(self.config.admin_socket())
            .args(args)
            .env_remove("MONGODB_URI")
            .output()
            .expect("the admin client runs")
    }

    /// The Prometheus text of the metrics listener (the config must enable it).
    pub async fn metrics_text(&self) -> String {
        let addr = self.metrics_addr.expect("metrics enabled");
        reqwest::get(format!("http://{addr}/metrics"))
            .await
            .expect("metrics answer")
            .text()
            .await
            .expect("metrics text")
    }

    /// Stops the server gracefully.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.expect("server task").expect("server exits cleanly");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.post_with(path, body, &[]).await
    }

    /// A JSON POST with extra headers.
    pub async fn post_with(&self, path: &str, body: Value, headers: &[(&str, &str)]) -> Response {
        let mut request = self.client.post(self.url(path)).json(&body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request")
    }

    /// A POST with an arbitrary body and content type.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.client
            .post(self.url(path))
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn register(&self, user: &str, password: &str) -> Response {
        self.post(
            "/api/user/add",
            json!({ "user_name": user, "password": password }),
        )
        .await
    }

    pub async fn login(&self, user: &str, password: &str) -> Response {
        self.post(
            "/api/login",
            json!({ "user_name": user, "password": password }),
        )
        .await
    }

    pub async fn change_password(&self, user: &str, current: &str, new: &str) -> Response {
        self.post(
            "/api/user/update",
            json!({ "user_name": user, "password": current, "newpassword": new }),
        )
        .await
    }

    /// A GET from a fresh client carrying only `cookie` (e.g. one saved before it was cleared).
    pub async fn get_with_cookie(&self, path: &str, cookie: &str) -> Response {
        reqwest::Client::new()
            .get(self.url(path))
            .header(header::COOKIE, cookie)
            .send()
            .await
            .expect("request")
    }

    /// A second client with its own cookie jar (another browser).
    pub fn new_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Reads a problem+json body, checking the media type and the status/code agreement.
pub async fn problem(response: Response) -> Value {
    let status = response.status().as_u16();
    let ct = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(ct, "application/problem+json", "status {status}");
    let body: Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["status"], status, "{body}");
    for key in ["type", "title", "detail", "code"] {
        assert!(body[key].is_string(), "problem lacks `{key}`: {body}");
    }
    body
}

/// Asserts `response` is a problem with `status` and `code`, and returns its body.
pub async fn expect_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "expected {status} {code}"
    );
    let body = problem(response).await;
    assert_eq!(body["code"], code, "{body}");
    body
}

/// The `name=value` part of the response's session cookie.
pub fn session_cookie(response: &Response) -> String {
    let set_cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .expect("a Set-Cookie header")
        .to_str()
        .expect("ASCII cookie");
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}
