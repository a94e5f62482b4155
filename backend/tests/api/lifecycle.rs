//! Start-up, restart, probes, rehash, the binary itself.

use std::{
    io::Read,
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::Value;

use crate::for_each_store;
use crate::support::{
    app::{expect_problem, TestApp},
    process::{free_port, server_command, start_server, wait_until_ready, CHEAP_ARGON2},
    Kind,
};

async fn probes_answer(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    let live: Value = app.get("/health/live").await.json().await.unwrap();
    assert_eq!(live["status"], "live");
    let r = app.get("/health/ready").await;
    assert_eq!(r.status(), 200);
}

async fn accounts_survive_a_restart(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    app.register("quinn", "nniuq password").await;
    let app = app.restart_with(|_| {}).await;
    assert_eq!(app.login("quinn", "nniuq password").await.status(), 200);
    expect_problem(
        app.register("QUINN", "other password").await,
        409,
        "user_exists",
    )
    .await;
}

async fn a_login_upgrades_an_old_hash(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    app.register("rosa", "asor password").await;
    let mut app = app.restart_with(|c| c.argon2_memory_kib = 2048).await;
    assert_eq!(app.login("rosa", "asor password").await.status(), 200);
    let store = app.stop_and_open_store().await;
    let user = store.find_user("rosa").await.unwrap().unwrap();
    assert!(
        user.password_hash
            .starts_with("$argon2id$v=19$m=2048,t=1,p=1$"),
        "rehashed"
    );
    // A rehash is not a password change.
    assert_eq!(user.password_changed_at, user.created_at);
    drop(store);
    let app = app.restart_with(|_| {}).await;
    assert_eq!(app.login("rosa", "asor password").await.status(), 200);
}

for_each_store!(
    probes_answer,
    accounts_survive_a_restart,
    a_login_upgrades_an_old_hash
);

#[tokio::test]
async fn without_a_built_app_the_root_page_says_how_to_build_it() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    let r = app.get("/").await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.contains("trunk build --release"), "{text}");
}

#[tokio::test]
async fn a_built_app_is_served_with_client_side_routes_caching_and_csp() {
    let dist = tempfile::tempdir().unwrap();
    let loader = "import init from '/app-0123456789abcdef.js'; await init();";
    let index =
        format!("<!doctype html><title>app</title><script type=\"module\">{loader}</script>");
    std::fs::write(dist.path().join("index.html"), &index).unwrap();
    let js = "console.log('the app');".repeat(50);
    std::fs::write(dist.path().join("app-0123456789abcdef.js"), &js).unwrap();
    let dir = dist.path().to_owned();
    let app = TestApp::spawn_with(Kind::Sqlite, |c| c.static_dir = dir).await;

    // The index and every client-side route (also /login, which is a POST API route too).
    for path in ["/", "/account", "/login", "/password", "/register"] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-cache", "{path}");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let sha = {
            use base64::Engine as _;
            use sha2::Digest as _;
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(loader))
        };
        assert!(csp.contains(&format!("'sha256-{sha}'")), "{csp}");
        assert!(
            csp.contains("'wasm-unsafe-eval'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert_eq!(r.headers()["referrer-policy"], "no-referrer");
        assert_eq!(r.text().await.unwrap(), index);
    }
    // Hashed assets: cached for a year, compressed when the client accepts it.
    let r = app
        .client
        .get(app.url("/app-0123456789abcdef.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let r = app
        .client
        .get(app.url("/app-0123456789abcdef.js"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "br");
    // A missing file is a 404, not the app; API paths stay API.
    expect_problem(
        app.get("/missing-0123456789abcdef.js").await,
        404,
        "not_found",
    )
    .await;
    expect_problem(app.get("/api/missing").await, 404, "not_found").await;
    expect_problem(app.get("/user/add").await, 405, "method_not_allowed").await;
    // POST /login is still the original's API route.
    let r = app
        .post(
            "/login",
            serde_json::json!({"user_name": "nobody", "password": "x"}),
        )
        .await;
    expect_problem(r, 401, "invalid_credentials").await;
}

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_accounts-server"))
}

#[test]
fn help_and_readme_document_every_setting() {
    use clap::CommandFactory;
    let out = binary().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let readme = include_str!("../../../README.md");
    let command = accounts_server::config::Config::command();
    let settings: Vec<_> = command
        .get_arguments()
        .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
        .collect();
    assert!(settings.len() >= 23, "only {} settings?", settings.len());
    for arg in settings {
        let flag = format!("--{}", arg.get_long().expect("every setting is a flag"));
        let env = arg
            .get_env()
            .unwrap_or_else(|| panic!("{flag} has no environment variable"))
            .to_str()
            .unwrap();
        assert!(help.contains(&flag), "--help lacks {flag}");
        assert!(help.contains(env), "--help lacks {env}");
        assert!(
            readme.contains(&format!("| `{flag}` | `{env}` |")),
            "README's configuration table lacks {flag} / {env}"
        );
    }
}

#[test]
fn bad_settings_are_clear_errors_at_start_up() {
    for (args, needle) in [
        (vec!["--password-min-length", "4"], "between 8 and 256"),
        (vec!["--argon2-memory-kib", "1"], "Argon2"),
        (vec!["--listen", "not-an-address"], "--listen"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = binary()
            .args(&args)
            .env("ACCOUNTS_DATA_DIR", dir.path())
            .env_remove("MONGODB_URI")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// Two servers on one embedded store would each trust sessions the other may have revoked.
#[tokio::test]
async fn a_second_server_on_the_same_data_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, port) = start_server(dir.path()).await;
    let out = server_command(free_port(), dir.path())
        .args(CHEAP_ARGON2)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is in use by another accounts-server"),
        "{err}"
    );
    // The first one is unharmed, and once it is gone the folder is free again.
    let ready = reqwest::get(format!("http://127.0.0.1:{port}/health/ready"))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    first.kill().unwrap();
    first.wait().unwrap();
    let (mut again, _) = start_server(dir.path()).await;
    again.kill().unwrap();
    again.wait().unwrap();
}

/// Runs the real binary with debug logging, sends passwords through every route, stops it with
/// SIGTERM and checks that it exited 0 and that no password or hash reached the log.
#[tokio::test]
async fn the_binary_logs_no_secrets_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = server_command(port, dir.path())
        .args(CHEAP_ARGON2)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_ready(&mut child, port, dir.path(), Duration::from_secs(30)).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let secret = "Sup3r-Secret-Pass";
    let new_secret = "N3w-Secret-Pass!";
    for (path, body) in [
        (
            "/api/user/add",
            serde_json::json!({"user_name": "sam", "password": secret}),
        ),
        (
            "/api/login",
            serde_json::json!({"user_name": "sam", "password": secret}),
        ),
        (
            "/api/login",
            serde_json::json!({"user_name": "sam", "password": "Wr0ng-Secret-Pass"}),
        ),
        (
            "/api/user/update",
            serde_json::json!({"user_name": "sam", "password": secret, "newpassword": new_secret}),
        ),
        (
            "/api/user/add",
            serde_json::json!({"user_name": "sam", "password": 998877665544u64}),
        ),
    ] {
        client
            .post(format!("{base}{path}"))
            .json(&body)
            .send()
            .await
            .unwrap();
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "graceful exit on SIGTERM");
    let mut log = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        log.contains("action=\"register\""),
        "the log is captured: {log}"
    );
    for secret in [
        secret,
        new_secret,
        "Wr0ng-Secret-Pass",
        "998877665544",
        "$argon2",
    ] {
        assert!(!log.contains(secret), "log contains {secret}:\n{log}");
    }
}
