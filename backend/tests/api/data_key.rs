//! Data at rest: the data folder and its files are private whatever the umask, and
//! authenticator secrets are stored sealed with the data key, bound to their account. Checked
//! in the database itself (the SQLite file, the MongoDB document), not through the server: a
//! start with a key file that does not fit the database fails with a clear message, rotating
//! the key seals every secret again, and secrets an older version stored in the clear are
//! sealed at start-up.

use std::{
    collections::BTreeMap,
    fs,
    os::unix::fs::{FileTypeExt, PermissionsExt},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::{
    mfa::{clear_of_a_step_change, code, code_at, enrolled, login, PASSWORD},
    support::{
        app::{expect_problem, TestApp},
        mongodb_uri,
        process::{free_port, server_command, wait_until_ready, Operated, CHEAP_ARGON2},
        unique_db_name, Kind,
    },
};

/// The database of a test, opened by the test itself to see what is stored.
enum Raw {
    Sqlite(PathBuf),
    Mongo(String),
}

impl Raw {
    fn of(app: &TestApp) -> Self {
        match app.config.mongodb_uri {
            Some(_) => Self::Mongo(app.config.mongodb_db.clone()),
            None => Self::Sqlite(app.config.data_dir.clone()),
        }
    }

    async fn users(db: &str) -> mongodb::Collection<mongodb::bson::Document> {
        mongodb::Client::with_uri_str(mongodb_uri())
            .await
            .unwrap()
            .database(db)
            .collection("users")
    }

    /// The account's stored secrets, in force and pending, as they are in the database.
    async fn secrets(&self, name: &str) -> (Option<String>, Option<String>) {
        match self {
            Self::Sqlite(dir) => {
                let c = rusqlite::Connection::open(dir.join("accounts.sqlite3")).unwrap();
                c.query_row(
                    "SELECT totp_secret, totp_pending FROM users WHERE name = ?1",
                    [name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
            }
            Self::Mongo(db) => {
                let doc = Self::users(db)
                    .await
                    .find_one(mongodb::bson::doc! { "name": name })
                    .await
                    .unwrap()
                    .unwrap();
                let field = |f| doc.get_str(f).ok().map(str::to_owned);
                (field("totp_secret"), field("totp_pending"))
            }
        }
    }

    /// The sealed content of every queued message, as it is in the database.
    async fn mail_sealed(&self) -> Vec<String> {
        match self {
            Self::Sqlite(dir) => {
                let c = rusqlite::Connection::open(dir.join("accounts.sqlite3")).unwrap();
                let mut q = c.prepare("SELECT sealed FROM outbox").unwrap();
                q.query_map([], |r| r.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect()
            }
            Self::Mongo(db) => {
                let mut cursor = mongodb::Client::with_uri_str(mongodb_uri())
                    .await
                    .unwrap()
                    .database(db)
                    .collection::<mongodb::bson::Document>("outbox")
                    .find(mongodb::bson::doc! {})
                    .await
                    .unwrap();
                let mut sealed = Vec::new();
                while cursor.advance().await.unwrap() {
                    let doc = cursor.deserialize_current().unwrap();
                    sealed.push(doc.get_str("sealed").unwrap().to_owned());
                }
                sealed
            }
        }
    }

    /// Writes `value` as the account's secret in force, behind the server's back.
    async fn set_secret(&self, name: &str, value: &str) {
        match self {
            Self::Sqlite(dir) => {
                let c = rusqlite::Connection::open(dir.join("accounts.sqlite3")).unwrap();
                let n = c
                    .execute(
                        "UPDATE users SET totp_secret = ?2 WHERE name = ?1",
                        [name, value],
                    )
                    .unwrap();
                assert_eq!(n, 1);
            }
            Self::Mongo(db) => {
                let r = Self::users(db)
                    .await
                    .update_one(
                        mongodb::bson::doc! { "name": name },
                        mongodb::bson::doc! { "$set": { "totp_secret": value } },
                    )
                    .await
                    .unwrap();
                assert_eq!(r.matched_count, 1);
            }
        }
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every entry of `dir` (files and the admin socket) with its mode.
fn modes_in(dir: &Path) -> BTreeMap<String, u32> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                mode(&e.path()),
            )
        })
        .collect()
}

/// The key id of a sealed value (`xc1:ID:DATA`).
fn sealed_with(value: &str) -> &str {
    let mut parts = value.split(':');
    assert_eq!(parts.next(), Some("xc1"), "not sealed: {value}");
    parts.next().unwrap()
}

/// The key ids a key file lists, in order.
fn key_ids(file: &Path) -> Vec<String> {
    fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect()
}

/// The real binary on `port` with data folder `data`, started by a shell whose umask is 022
/// (as on most systems), its output appended to `log` outside the folder.
fn spawn_with_umask_022(port: u16, data: &Path, log: &Path) -> Child {
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new("sh")
        .args(["-c", "umask 022 && exec \"$@\"", "sh"])
        .arg(env!("CARGO_BIN_EXE_accounts-server"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--static-dir", "/nonexistent", "--password-min-length", "8"])
        .args(CHEAP_ARGON2)
        .env("ACCOUNTS_DATA_DIR", data)
        .env_remove("MONGODB_URI")
        .env_remove("ACCOUNTS_DATA_KEY_FILE")
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap()
}

fn terminate(child: &mut Child) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// Runs `command` (a server start expected to fail) to its end: its exit code and stderr.
/// Kills it and panics if it is still running after 30 s.
async fn run_to_end(mut command: Command) -> (Option<i32>, String) {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the server started instead of refusing to");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// With umask 022 the data folder used to be 0755 and its files 0644, so every local user
/// could read names, hashes and authenticator secrets. Now: the folder 0700, every file 0600
/// (the database, its -wal and -shm, the lock file, the key file, the admin socket). Files
/// an older version left open are made private at the next start, with a warning; a folder
/// that exists keeps its mode, with a warning.
#[tokio::test]
async fn the_data_folder_and_every_file_in_it_are_private_whatever_the_umask() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let log = root.path().join("server.log");
    let port = free_port();
    let mut server = spawn_with_umask_022(port, &data, &log);
    wait_until_ready(&mut server, port, &data, Duration::from_secs(30)).await;
    // A write, so the write-ahead log has content.
    let added = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/user/add"))
        .json(&json!({ "user_name": "ada", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), StatusCode::CREATED);

    assert_eq!(mode(&data), 0o700, "the data folder");
    let modes = modes_in(&data);
    for name in [
        "accounts.sqlite3",
        "accounts.sqlite3-wal",
        "accounts.sqlite3-shm",
        "accounts.lock",
        "data.key",
        "admin.sock",
    ] {
        assert!(modes.contains_key(name), "{name} in {modes:?}");
    }
    for (name, mode) in &modes {
        assert_eq!(*mode, 0o600, "{name}: {mode:o} ({modes:?})");
    }
    assert!(fs::metadata(data.join("admin.sock"))
        .unwrap()
        .file_type()
        .is_socket());
    terminate(&mut server);

    // As an older version left them.
    fs::set_permissions(&data, fs::Permissions::from_mode(0o755)).unwrap();
    for name in modes_in(&data).keys() {
        fs::set_permissions(data.join(name), fs::Permissions::from_mode(0o644)).unwrap();
    }
    let port = free_port();
    let mut server = spawn_with_umask_022(port, &data, &log);
    wait_until_ready(&mut server, port, &data, Duration::from_secs(30)).await;
    let modes = modes_in(&data);
    assert!(modes.contains_key("accounts.sqlite3-wal"), "{modes:?}");
    for (name, mode) in &modes {
        assert_eq!(*mode, 0o600, "{name}: {mode:o} ({modes:?})");
    }
    assert_eq!(mode(&data), 0o755, "an existing folder keeps its mode");
    let logged = fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("the data folder is open to other local users"),
        "{logged}"
    );
    assert!(logged.contains("made it private"), "{logged}");
    terminate(&mut server);
}

/// An authenticator secret is stored sealed (not the base32 secret), with the data key in
/// `data.key` (mode 0600) in the data folder; codes verify, after a restart too. Copied into
/// another account's row it does not open: that account's login fails instead of taking the
/// other's codes.
async fn totp_secrets_are_sealed_at_rest_and_bound_to_their_account(kind: Kind) {
    let app = TestApp::spawn_with(kind, |c| c.lockout_threshold = 20).await;
    let (secret, _) = enrolled(&app).await;
    let raw = Raw::of(&app);
    let (stored, pending) = raw.secrets("ada").await;
    let stored = stored.expect("two-factor login is on");
    assert_eq!(pending, None);
    assert!(
        !stored.contains(&secret) && !stored.contains(&secret.to_lowercase()),
        "{stored}"
    );
    let key_file = app.config.data_dir.join("data.key");
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(key_ids(&key_file), [sealed_with(&stored)]);

    crate::mfa::next_step(&app);
    let code_now = code(&app, &secret, 0);
    assert_eq!(login(&app, Some(&code_now)).await.status(), 200);
    let app = app.restart_with(|_| {}).await;
    crate::mfa::next_step(&app);
    let code_now = code(&app, &secret, 0);
    assert_eq!(login(&app, Some(&code_now)).await.status(), 200);

    assert_eq!(app.register("bob", PASSWORD).await.status(), 201);
    raw.set_secret("bob", &stored).await;
    crate::mfa::next_step(&app);
    let code_now = code(&app, &secret, 0);
    let as_bob = app
        .post(
            "/api/login",
            json!({ "user_name": "bob", "password": PASSWORD, "code": code_now }),
        )
        .await;
    expect_problem(as_bob, 500, "internal").await;
}

/// What an older version stored in the clear (a secret in force, a pending one) is sealed at
/// the next start, and the codes of those secrets keep working.
async fn secrets_stored_in_the_clear_are_sealed_at_start(kind: Kind) {
    const ADA_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    const BOB_PENDING: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let mut app = TestApp::spawn(kind).await;
    assert_eq!(app.register("ada", PASSWORD).await.status(), 201);
    assert_eq!(app.register("bob", PASSWORD).await.status(), 201);
    {
        let store = app.stop_and_open_store().await;
        let ada = store.find_user("ada").await.unwrap().unwrap();
        let bob = store.find_user("bob").await.unwrap().unwrap();
        assert!(store.set_pending_totp(&ada.id, ADA_SECRET).await.unwrap());
        assert!(store
            .enable_totp(&ada.id, ADA_SECRET, 0, &[])
            .await
            .unwrap());
        assert!(store.set_pending_totp(&bob.id, BOB_PENDING).await.unwrap());
    }
    let raw = Raw::of(&app);
    assert_eq!(raw.secrets("ada").await.0.as_deref(), Some(ADA_SECRET));

    let app = app.restart_with(|_| {}).await;
    let (ada_stored, _) = raw.secrets("ada").await;
    let (_, bob_stored) = raw.secrets("bob").await;
    for (stored, clear) in [(ada_stored, ADA_SECRET), (bob_stored, BOB_PENDING)] {
        let stored = stored.expect("still there");
        assert_ne!(stored, clear);
        assert_eq!(
            sealed_with(&stored),
            key_ids(&app.config.data_dir.join("data.key"))[0]
        );
    }
    let code_now = code(&app, ADA_SECRET, 0);
    assert_eq!(login(&app, Some(&code_now)).await.status(), 200);
    // Bob's set-up goes on: a code from his pending secret turns two-factor login on.
    let bob = app.new_client();
    let logged_in = bob
        .post(app.url("/api/login"))
        .json(&json!({ "user_name": "bob", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(logged_in.status(), 200);
    let confirmed = bob
        .post(app.url("/api/mfa/totp/confirm"))
        .json(&json!({ "code": code(&app, BOB_PENDING, 0) }))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
}

/// Ada enrolled through the real binary's HTTP API, on the wall clock: her secret.
async fn enrolled_on(server: &Operated) -> String {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let post = |path: &str, body: Value| client.post(server.url(path)).json(&body).send();
    let added = post(
        "/api/user/add",
        json!({ "user_name": "ada", "password": PASSWORD }),
    )
    .await
    .unwrap();
    assert_eq!(added.status(), 201);
    let credentials = json!({ "user_name": "ada", "password": PASSWORD });
    assert_eq!(post("/api/login", credentials).await.unwrap().status(), 200);
    let setup: Value = post("/api/mfa/totp/setup", json!({ "password": PASSWORD }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = setup["secret"].as_str().unwrap().to_owned();
    clear_of_a_step_change().await;
    let code = code_at(&secret, OffsetDateTime::now_utc(), 0);
    let confirmed = post("/api/mfa/totp/confirm", json!({ "code": code }))
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    secret
}

/// `admin rotate-data-key` adds a key to the file (the old one stays listed), seals the
/// stored secret again with it, and codes still verify.
async fn rotating_the_data_key_seals_every_secret_again(kind: Kind) {
    let db = (kind == Kind::Mongo).then(unique_db_name);
    // Mail on, through a relay that is not there: a message stays queued (sealed).
    let relay = format!("smtp://127.0.0.1:{}", crate::support::process::free_port());
    let server = Operated::start_on(db.as_deref(), &["--smtp-url", &relay]).await;
    let raw = match &db {
        Some(db) => Raw::Mongo(db.clone()),
        None => Raw::Sqlite(server.dir.path().to_owned()),
    };
    let secret = enrolled_on(&server).await;
    let registered = reqwest::Client::new()
        .post(server.url("/api/user/add"))
        .json(&json!({ "user_name": "bea", "password": PASSWORD, "email": "bea@example.org" }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let key_file = server.dir.path().join("data.key");
    let before = raw.secrets("ada").await.0.unwrap();
    let old_id = sealed_with(&before).to_owned();
    assert_eq!(key_ids(&key_file), std::slice::from_ref(&old_id));
    let queued = raw.mail_sealed().await;
    assert_eq!(queued.len(), 1);
    assert_eq!(sealed_with(&queued[0]), old_id);

    // Five: the authenticator secret, the queued mail and the three ID-token signing keys.
    let out = server.admin_ok(&["rotate-data-key"]);
    let ids = key_ids(&key_file);
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(ids[0], old_id, "the old key stays listed");
    let new_id = &ids[1];
    assert!(
        out.contains(&format!(
            "Added data key {new_id} to {}",
            key_file.display()
        )) && out.contains("5 stored secrets were sealed again")
            && out.contains(&format!("The older key ({old_id}) stays listed")),
        "{out}"
    );
    assert_eq!(mode(&key_file), 0o600);
    let after = raw.secrets("ada").await.0.unwrap();
    assert_eq!(sealed_with(&after), new_id);
    // Queued mail too: removing the old key later loses no message.
    let queued = raw.mail_sealed().await;
    assert_eq!(queued.len(), 1);
    assert_eq!(sealed_with(&queued[0]), new_id);

    // The confirming code used the current step; the next one is within the drift window.
    let code = code_at(&secret, OffsetDateTime::now_utc(), 1);
    let login = reqwest::Client::new()
        .post(server.url("/api/login"))
        .json(&json!({ "user_name": "ada", "password": PASSWORD, "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    assert!(server
        .log_text()
        .lines()
        .any(|l| l.contains("action=\"rotate_data_key\"") && l.contains("who=\"admin socket\"")));
}

crate::for_each_store!(
    totp_secrets_are_sealed_at_rest_and_bound_to_their_account,
    secrets_stored_in_the_clear_are_sealed_at_start,
    rotating_the_data_key_seals_every_secret_again,
);

/// A key file other than the one that sealed the database stops the start (exit 2) with a
/// message naming the file and what to do: never a server that turns right codes away.
#[tokio::test]
async fn a_key_file_that_does_not_fit_the_database_stops_the_start() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    fs::create_dir(&data).unwrap();
    let port = free_port();
    let mut server = server_command(port, &data)
        .args(CHEAP_ARGON2)
        .spawn()
        .unwrap();
    wait_until_ready(&mut server, port, &data, Duration::from_secs(30)).await;
    terminate(&mut server);
    let key_file = data.join("data.key");
    let id = key_ids(&key_file).remove(0);
    let start_with = |file: &Path| {
        let mut c = server_command(free_port(), &data);
        c.args(CHEAP_ARGON2).arg("--data-key-file").arg(file);
        c
    };
    let key = |byte: u8| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode([byte; 32])
    };

    let other = root.path().join("other.key");
    fs::write(&other, format!("0badc0de {}\n", key(1))).unwrap();
    let same_id = root.path().join("same-id.key");
    fs::write(&same_id, format!("{id} {}\n", key(2))).unwrap();
    let missing = root.path().join("missing.key");
    let malformed = root.path().join("malformed.key");
    fs::write(&malformed, "just some text\n").unwrap();
    for (file, expected) in [
        (
            &other,
            format!(
                "data key file {} does not list data key {id}, which seals this database's secrets",
                other.display()
            ),
        ),
        (
            &same_id,
            format!(
                "data key {id} in {} is not the key of that id",
                same_id.display()
            ),
        ),
        (
            &missing,
            format!(
                "data key file {} does not exist, but this database's secrets are sealed with data key {id}",
                missing.display()
            ),
        ),
        (
            &malformed,
            format!("data key file {}, line 1", malformed.display()),
        ),
    ] {
        let (code, stderr) = run_to_end(start_with(file)).await;
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains(&expected), "{expected}\nin: {stderr}");
    }
    assert!(
        !missing.exists(),
        "no key file is made for a sealed database"
    );

    // The right one still works.
    let port = free_port();
    let mut server = server_command(port, &data)
        .args(CHEAP_ARGON2)
        .spawn()
        .unwrap();
    wait_until_ready(&mut server, port, &data, Duration::from_secs(30)).await;
    terminate(&mut server);
}

/// Instances on one MongoDB database need one key file: the first start stores the key check;
/// an instance with a key file of its own, or none, is refused with a message naming it; one
/// given the first's file starts and opens its secrets.
#[tokio::test]
async fn instances_on_one_mongodb_database_need_the_same_key_file() {
    let db = unique_db_name();
    let first = Operated::start_on(Some(&db), &[]).await;
    let secret = enrolled_on(&first).await;
    let first_key = first.dir.path().join("data.key");

    let elsewhere = tempfile::tempdir().unwrap();
    let own_key = elsewhere.path().join("own.key");
    fs::write(
        &own_key,
        "# made by hand\n0badc0de AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n",
    )
    .unwrap();
    let id = key_ids(&first_key).remove(0);
    for (extra, expected) in [
        (
            None,
            format!(
                "data key file {} does not exist, but this database's secrets are sealed with data key {id}",
                elsewhere.path().join("data.key").display()
            ),
        ),
        (
            Some(&own_key),
            format!(
                "data key file {} does not list data key {id}",
                own_key.display()
            ),
        ),
    ] {
        let mut command = server_command(free_port(), elsewhere.path());
        command
            .args(CHEAP_ARGON2)
            .env("MONGODB_URI", mongodb_uri())
            .env("MONGODB_DB", &db);
        if let Some(file) = extra {
            command.arg("--data-key-file").arg(file);
        }
        let (code, stderr) = run_to_end(command).await;
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains(&expected), "{expected}\nin: {stderr}");
    }

    let key_arg = first_key.to_string_lossy().into_owned();
    let second = Operated::start_on(Some(&db), &["--data-key-file", &key_arg]).await;
    let code = code_at(&secret, OffsetDateTime::now_utc(), 1);
    let login = reqwest::Client::new()
        .post(second.url("/api/login"))
        .json(&json!({ "user_name": "ada", "password": PASSWORD, "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
}
