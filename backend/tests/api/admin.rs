//! Operator tools end to end: the real server binary, and the same binary as the admin client
//! in a separate process talking to it over the Unix socket. Both stores.

use std::{os::unix::fs::PermissionsExt, time::Duration};

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use crate::support::{
    app::{expect_problem, session_cookie, TestApp},
    process::Operated,
    unique_db_name, Kind,
};

const PASSWORD: &str = "staple orbit lantern";
const NEW_PASSWORD: &str = "copper kettle meadow";

async fn post(server: &Operated, client: &Client, path: &str, body: Value) -> Response {
    client
        .post(server.url(path))
        .json(&body)
        .send()
        .await
        .expect("request")
}

async fn login(server: &Operated, name: &str, password: &str) -> Response {
    post(
        server,
        &Client::new(),
        "/api/login",
        json!({ "user_name": name, "password": password }),
    )
    .await
}

async fn register(server: &Operated, name: &str) {
    let r = post(
        server,
        &Client::new(),
        "/api/user/add",
        json!({ "user_name": name, "password": PASSWORD }),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

/// The session cookie of a fresh login.
async fn signed_in(server: &Operated, name: &str, password: &str) -> String {
    let r = login(server, name, password).await;
    assert_eq!(r.status(), StatusCode::OK, "login of {name}");
    session_cookie(&r)
}

async fn session_status(server: &Operated, cookie: &str) -> StatusCode {
    Client::new()
        .get(server.url("/api/session"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("request")
        .status()
}

fn show_json(server: &Operated, name: &str) -> Value {
    serde_json::from_str(&server.admin_ok(&["show", name, "--json"])).expect("one JSON document")
}

/// Fails the login until the account is locked (the default threshold is 5).
async fn lock_out(server: &Operated, name: &str) {
    for _ in 0..5 {
        login(server, name, "wrong password").await;
    }
    expect_problem(login(server, name, PASSWORD).await, 429, "rate_limited").await;
}

async fn every_command_works_over_the_socket(kind: Kind) {
    let server = Operated::start(kind, &[]).await;
    let mode = std::fs::metadata(&server.socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "socket mode {mode:o}");

    assert_eq!(server.admin_ok(&["list"]), "No accounts.\n");
    register(&server, "Ada").await;
    register(&server, "Grace").await;
    let cookie = signed_in(&server, "ada", PASSWORD).await;

    // list and show, for people and as JSON; NAME in any case.
    let table = server.admin_ok(&["list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("USER NAME"), "{table}");
    assert!(
        lines[1].starts_with("Ada ") && lines[2].starts_with("Grace "),
        "{table}"
    );
    let all: Value = serde_json::from_str(&server.admin_ok(&["list", "--json"])).unwrap();
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    assert_eq!(all[0]["user_name"], "Ada");
    assert_eq!(all[0]["sessions"], 1);
    let ada = show_json(&server, "ADA");
    for key in ["created_at", "password_changed_at"] {
        assert!(ada[key].as_str().is_some_and(|t| t.ends_with('Z')), "{ada}");
    }
    assert_eq!(
        (&ada["locked_until"], &ada["disabled"], &ada["sessions"]),
        (&Value::Null, &json!(false), &json!(1))
    );
    assert!(server
        .admin_ok(&["show", "ada"])
        .contains("sessions:          1"));

    // revoke-sessions
    let out = server.admin_ok(&["revoke-sessions", "ada"]);
    assert!(out.contains("Revoked 1 session of Ada"), "{out}");
    assert_eq!(
        session_status(&server, &cookie).await,
        StatusCode::UNAUTHORIZED
    );

    // disable / enable: the right password learns it is disabled, a wrong one learns nothing.
    let cookie = signed_in(&server, "ada", PASSWORD).await;
    let out = server.admin_ok(&["disable", "Ada"]);
    assert!(out.contains("Disabled Ada; 1 session revoked"), "{out}");
    assert_eq!(
        session_status(&server, &cookie).await,
        StatusCode::UNAUTHORIZED
    );
    expect_problem(
        login(&server, "ada", PASSWORD).await,
        403,
        "account_disabled",
    )
    .await;
    expect_problem(
        login(&server, "ada", "wrong password").await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(show_json(&server, "ada")["disabled"], true);
    server.admin_ok(&["enable", "ada"]);
    signed_in(&server, "ada", PASSWORD).await;

    // unlock
    lock_out(&server, "ada").await;
    assert!(show_json(&server, "ada")["locked_until"].is_string());
    let out = server.admin_ok(&["unlock", "ada"]);
    assert!(out.contains("Unlocked Ada (it was locked until"), "{out}");
    assert_eq!(show_json(&server, "ada")["locked_until"], Value::Null);
    signed_in(&server, "ada", PASSWORD).await;

    // expire-password: the original's expiry flow, until the password is changed.
    server.admin_ok(&["expire-password", "ada"]);
    expect_problem(
        login(&server, "ada", PASSWORD).await,
        401,
        "password_expired",
    )
    .await;
    assert_eq!(show_json(&server, "ada")["password_expired"], true);
    let changed = post(
        &server,
        &Client::new(),
        "/api/user/update",
        json!({ "user_name": "ada", "password": PASSWORD, "newpassword": NEW_PASSWORD }),
    )
    .await;
    assert_eq!(changed.status(), StatusCode::OK);
    signed_in(&server, "ada", NEW_PASSWORD).await;

    // delete
    let out = server.admin_ok(&["delete", "ada"]);
    assert!(out.contains("Deleted Ada"), "{out}");
    expect_problem(
        login(&server, "ada", NEW_PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(
        server
            .admin_ok(&["list", "--json"])
            .matches("user_name")
            .count(),
        1
    );

    // No such account: exit 1 and a message naming it, for every command that takes NAME.
    for command in [
        "show",
        "unlock",
        "disable",
        "enable",
        "revoke-sessions",
        "expire-password",
        "reset-link",
        "delete",
    ] {
        let out = server.admin(&[command, "ada"]);
        assert_eq!(out.status.code(), Some(1), "{command}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("no account is named `ada`"),
            "{command}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{command}");
    }

    // Every action is an audit event by "admin socket".
    let log = server.log_text();
    for action in [
        "revoke_sessions",
        "disable",
        "enable",
        "unlock",
        "expire_password",
        "delete",
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("action=\"{action}\""))
                    && l.contains("who=\"admin socket\"")
                    && l.contains("user=\"ada\"")),
            "no audit event for {action}:\n{log}"
        );
    }
}

async fn reset_links_work_once_and_only_the_newest(kind: Kind) {
    let server = Operated::start(kind, &[]).await;
    register(&server, "Ada").await;
    let cookie = signed_in(&server, "ada", PASSWORD).await;
    lock_out(&server, "ada").await;

    let link = |args: &[&str]| {
        let out = server.admin(&[&["reset-link"], args].concat());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(stderr.contains("works once"), "{stderr}");
        let link = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let prefix = format!("http://localhost:{}/reset#token=", server.port);
        let token = link
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{link}"));
        assert_eq!(token.len(), 64, "{link}");
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{link}");
        token.to_owned()
    };
    let reset = |token: String, password: &'static str| {
        let server = &server;
        async move {
            post(
                server,
                &Client::new(),
                "/api/password/reset",
                json!({ "token": token, "newpassword": password }),
            )
            .await
        }
    };

    let older = link(&["ADA"]);
    let newer = link(&["ada"]);
    assert_ne!(older, newer);
    assert!(show_json(&server, "ada")["reset_link_expires_at"].is_string());
    expect_problem(
        reset(older.clone(), NEW_PASSWORD).await,
        400,
        "invalid_reset_token",
    )
    .await;

    // The policy applies, and leaves the link usable.
    let refused =
        expect_problem(reset(newer.clone(), "short").await, 400, "invalid_password").await;
    assert_eq!(refused["errors"][0]["field"], "newpassword");

    let ok = reset(newer.clone(), NEW_PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["user_name"], "Ada");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));

    // Sessions revoked, lock cleared, the new password works, the old does not.
    assert_eq!(
        session_status(&server, &cookie).await,
        StatusCode::UNAUTHORIZED
    );
    signed_in(&server, "ada", NEW_PASSWORD).await;
    expect_problem(
        login(&server, "ada", PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(
        show_json(&server, "ada")["reset_link_expires_at"],
        Value::Null
    );

    // Used: the same reply as wrong and expired.
    let used = expect_problem(reset(newer, PASSWORD).await, 400, "invalid_reset_token").await;
    let wrong = expect_problem(
        reset("0".repeat(64), PASSWORD).await,
        400,
        "invalid_reset_token",
    )
    .await;
    assert_eq!(used["detail"], wrong["detail"]);
    expect_problem(
        reset("not-a-token".into(), PASSWORD).await,
        400,
        "invalid_reset_token",
    )
    .await;
    // Expired: see `an_expired_reset_link_gets_the_reply_of_a_wrong_one`, on a clock that can
    // be moved on.

    let log = server.log_text();
    assert!(log.contains("action=\"reset_link\""), "{log}");
    assert!(
        log.contains("action=\"password_reset\" outcome=\"ok\""),
        "{log}"
    );
    assert!(!log.contains(&older), "a token reached the log");
}

/// A reset link works until its lifetime is over, and then gets the reply of a wrong one. On a
/// test server, whose clock the test moves on, with the operator's client on its socket.
async fn an_expired_reset_link_gets_the_reply_of_a_wrong_one(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    assert_eq!(app.register("Ada", PASSWORD).await.status(), 201);
    let link = || {
        let out = app.admin(&["reset-link", "ada", "--ttl", "60"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let link = String::from_utf8(out.stdout).unwrap();
        let (_, token) = link.trim().split_once("#token=").expect("a reset link");
        token.to_owned()
    };
    let reset = |token: String, password: &str| {
        app.post(
            "/api/password/reset",
            json!({ "token": token, "newpassword": password }),
        )
    };
    let wrong = expect_problem(
        reset("0".repeat(64), NEW_PASSWORD).await,
        400,
        "invalid_reset_token",
    )
    .await;

    let expiring = link();
    app.advance(Duration::from_secs(60));
    let expired = expect_problem(
        reset(expiring, NEW_PASSWORD).await,
        400,
        "invalid_reset_token",
    )
    .await;
    assert_eq!(expired["detail"], wrong["detail"]);
    assert_eq!(app.login("ada", PASSWORD).await.status(), 200, "unchanged");

    // A millisecond before the end it still works.
    let last_moment = link();
    app.advance(Duration::from_millis(59_999));
    assert_eq!(
        reset(last_moment, NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.login("ada", NEW_PASSWORD).await.status(), 200);
}

async fn a_disabled_account_gets_a_link_with_a_warning(kind: Kind) {
    let server = Operated::start(kind, &["--public-url", "https://accounts.example.com/"]).await;
    // It answers to its public host only.
    let r = Client::new()
        .post(server.url("/api/user/add"))
        .header("host", "accounts.example.com")
        .json(&json!({ "user_name": "Ada", "password": PASSWORD }))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::CREATED);
    server.admin_ok(&["disable", "ada"]);
    let out = server.admin(&["reset-link", "ada"]);
    assert_eq!(out.status.code(), Some(0));
    let link = String::from_utf8(out.stdout).unwrap();
    assert!(
        link.starts_with("https://accounts.example.com/reset#token="),
        "{link}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("The account is disabled"));
}

crate::for_each_store!(
    every_command_works_over_the_socket,
    reset_links_work_once_and_only_the_newest,
    an_expired_reset_link_gets_the_reply_of_a_wrong_one,
    a_disabled_account_gets_a_link_with_a_warning,
);

/// Bad input to every command: a usage message and exit 2, never a panic.
#[tokio::test]
async fn bad_admin_input_is_a_clear_usage_error() {
    let server = Operated::start(Kind::Sqlite, &[]).await;
    for args in [
        vec!["show"],
        vec!["frobnicate", "ada"],
        vec!["reset-link", "ada", "--ttl", "0"],
        vec!["reset-link", "ada", "--ttl", "many"],
        vec!["reset-link", "ada", "--ttl", "999999999"],
        vec!["unlock", "ada", "extra"],
        vec!["list", "--yaml"],
    ] {
        let out = server.admin(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("error:") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
    // Names no account can have are simply not found.
    for name in ["", " ", "x", "名前", "a:b", &"n".repeat(5000)] {
        let out = server.admin(&["show", name]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            &name[..name.len().min(20)]
        );
    }
    // A request that is not the protocol gets an answer, and the server stays up.
    use std::io::{Read, Write};
    let mut raw = std::os::unix::net::UnixStream::connect(&server.socket).unwrap();
    raw.write_all(b"{\"command\":\"format-disk\"}\n").unwrap();
    let mut answer = String::new();
    raw.read_to_string(&mut answer).unwrap();
    assert!(answer.contains("\"reply\":\"failed\""), "{answer}");
    // The server checks a link's lifetime itself: a request need not come from the CLI,
    // whose parser bounds it (a huge one overflowed the expiry's date).
    for ttl in ["0", "604801", "18446744073709551615"] {
        let mut raw = std::os::unix::net::UnixStream::connect(&server.socket).unwrap();
        let line =
            format!("{{\"command\":\"reset-link\",\"name\":\"anyone\",\"ttl_secs\":{ttl}}}\n");
        raw.write_all(line.as_bytes()).unwrap();
        let mut answer = String::new();
        raw.read_to_string(&mut answer).unwrap();
        assert!(
            answer.contains("\"reply\":\"failed\"") && answer.contains("604800"),
            "ttl {ttl}: {answer}"
        );
    }
    server.admin_ok(&["list"]);
}

/// The socket's life: a client without a server says which socket it tried; a second server
/// on a live socket refuses to start; SIGTERM removes the socket; a socket left by a killed
/// server is replaced at the next start.
#[tokio::test]
async fn the_socket_is_exclusive_removed_on_shutdown_and_replaced_when_stale() {
    let mut server = Operated::start(Kind::Sqlite, &[]).await;
    let socket = server.socket.to_string_lossy().into_owned();

    let other = tempfile::tempdir().unwrap();
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_accounts-server"))
        .args(["--listen", "127.0.0.1:0", "--admin-socket", &socket])
        .env("ACCOUNTS_DATA_DIR", other.path())
        .env_remove("MONGODB_URI")
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("in use by another running accounts-server"),
        "{stderr}"
    );
    server.admin_ok(&["list"]);

    assert_eq!(server.terminate().code(), Some(0));
    assert!(!server.socket.exists(), "the socket outlived the server");
    let out = server.admin(&["list"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&socket) && stderr.contains("cannot reach"),
        "{stderr}"
    );

    // A stale socket (its server was killed) does not stop the next start.
    let mut killed = Operated::start(Kind::Sqlite, &[]).await;
    killed.child.kill().unwrap();
    killed.child.wait().unwrap();
    assert!(killed.socket.exists());
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_accounts-server"))
        .args(["--listen", "127.0.0.1:0", "--static-dir", "/nonexistent"])
        .env("ACCOUNTS_DATA_DIR", killed.dir.path())
        .env_remove("MONGODB_URI")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let again = Guard(again);
    let started = std::time::Instant::now();
    loop {
        if killed.admin(&["list"]).status.code() == Some(0) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no server on the old socket"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(again);
}

/// Kills the child when dropped.
struct Guard(std::process::Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Two instances on one MongoDB database: what an operator does through either holds on both
/// at once, because the state lives in the database.
#[tokio::test]
async fn two_instances_on_mongodb_share_disable_and_unlock() {
    let db = unique_db_name();
    let a = Operated::start_on(Some(&db), &[]).await;
    // Instances on one database share the data key file.
    let key_file = a.dir.path().join("data.key").to_string_lossy().into_owned();
    let b = Operated::start_on(Some(&db), &["--data-key-file", &key_file]).await;
    register(&a, "Ada").await;

    a.admin_ok(&["disable", "ada"]);
    expect_problem(login(&b, "ada", PASSWORD).await, 403, "account_disabled").await;
    assert_eq!(show_json(&b, "ada")["disabled"], true);
    b.admin_ok(&["enable", "ada"]);
    signed_in(&a, "ada", PASSWORD).await;

    lock_out(&b, "ada").await;
    expect_problem(login(&a, "ada", PASSWORD).await, 429, "rate_limited").await;
    a.admin_ok(&["unlock", "ada"]);
    signed_in(&b, "ada", PASSWORD).await;
    signed_in(&a, "ada", PASSWORD).await;

    // A link from one instance is used on the other, once.
    let link = a.admin_ok(&["reset-link", "ada"]);
    let token = link.trim().rsplit('=').next().unwrap().to_owned();
    let body = json!({ "token": token, "newpassword": NEW_PASSWORD });
    let client = Client::new();
    let on_b = post(&b, &client, "/api/password/reset", body.clone()).await;
    assert_eq!(on_b.status(), StatusCode::OK);
    let on_a = post(&a, &client, "/api/password/reset", body).await;
    expect_problem(on_a, 400, "invalid_reset_token").await;
}

/// Guessing tokens costs the same per-IP budget as guessing passwords.
#[tokio::test]
async fn reset_attempts_are_rate_limited_per_ip_like_logins() {
    let server = Operated::start(Kind::Sqlite, &["--ip-rate-limit", "3"]).await;
    let client = Client::new();
    let guess = json!({ "token": "0".repeat(64), "newpassword": NEW_PASSWORD });
    for _ in 0..3 {
        let r = post(&server, &client, "/api/password/reset", guess.clone()).await;
        expect_problem(r, 400, "invalid_reset_token").await;
    }
    let r = post(&server, &client, "/api/password/reset", guess.clone()).await;
    assert!(r.headers().contains_key("retry-after"));
    expect_problem(r, 429, "rate_limited").await;
    // The same budget as logins.
    expect_problem(login(&server, "ada", PASSWORD).await, 429, "rate_limited").await;
}
