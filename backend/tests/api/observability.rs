//! Request ids, metrics, structured audit logs.

use std::{
    io::Read,
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::{json, Value};

use crate::support::{
    app::{expect_problem, TestApp},
    process::{free_port, server_command, wait_until_ready, CHEAP_ARGON2},
    Kind,
};

#[tokio::test]
async fn every_reply_carries_a_request_id_also_in_error_bodies() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    let r = app.get("/api/policy").await;
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    let r = app.login("nobody", "some pass phrase").await;
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body = expect_problem(r, 401, "invalid_credentials").await;
    assert_eq!(body["request_id"], id.as_str());
    // A proxy's well-formed id is kept; anything else is replaced.
    let r = app
        .post_with("/api/login", json!({}), &[("x-request-id", "edge-42.abc")])
        .await;
    assert_eq!(r.headers()["x-request-id"], "edge-42.abc");
    let r = app
        .post_with(
            "/api/login",
            json!({}),
            &[("x-request-id", "bad id with spaces")],
        )
        .await;
    assert_ne!(r.headers()["x-request-id"], "bad id with spaces");
}

#[tokio::test]
async fn prometheus_metrics_on_their_own_listener() {
    let app = TestApp::spawn_with(Kind::Sqlite, |c| {
        c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    app.register("mira", "secret phrase four").await;
    app.login("mira", "secret phrase four").await;
    app.login("mira", "wrong phrase four").await;
    assert_ne!(app.metrics_addr.expect("metrics enabled"), app.addr);
    let text = app.metrics_text().await;
    for needle in [
        r#"http_requests_total{method="POST",route="/api/login",status="401"}"#,
        r#"http_requests_total{method="POST",route="/api/user/add",status="201"}"#,
        r#"http_request_duration_seconds_bucket{method="POST",route="/api/login",status="200",le="#,
        r#"logins_total{outcome="ok"}"#,
        r#"logins_total{outcome="failed"}"#,
        "hash_duration_seconds_bucket",
        "hash_queue_length",
    ] {
        assert!(text.contains(needle), "metrics lack {needle}:\n{text}");
    }
    // Not on the public listener.
    expect_problem(app.get("/metrics").await, 404, "not_found").await;
}

/// The real binary with `--log-format json`: every line is JSON, audit events name the action,
/// outcome, canonical user, client IP and request id, and no password or hash appears.
#[tokio::test]
async fn json_logs_carry_audit_events_and_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = server_command(port, dir.path())
        .args(CHEAP_ARGON2)
        .args(["--log-format", "json"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_ready(&mut child, port, dir.path(), Duration::from_secs(30)).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let post = |path: &str, body: Value| {
        let request = client.post(format!("{base}{path}")).json(&body);
        async move { request.send().await.unwrap() }
    };
    post(
        "/api/user/add",
        json!({"user_name": "Nell", "password": "Secret-One-1"}),
    )
    .await;
    post(
        "/api/login",
        json!({"user_name": "nell", "password": "Wrong-Two-22"}),
    )
    .await;
    let ok = post(
        "/api/login",
        json!({"user_name": "NELL", "password": "Secret-One-1"}),
    )
    .await;
    let login_id = ok.headers()["x-request-id"].to_str().unwrap().to_owned();
    post("/api/logout", json!({})).await;
    post(
        "/api/user/update",
        json!({"user_name": "nell", "password": "Secret-One-1", "newpassword": "Secret-Three-3"}),
    )
    .await;
    post(
        "/api/user/delete",
        json!({"user_name": "nell", "password": "Secret-Three-3"}),
    )
    .await;

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();

    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let audit: Vec<&Value> = lines.iter().filter(|l| l["target"] == "audit").collect();
    let events: Vec<(String, String)> = audit
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap().into(),
                a["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("register", "ok"),
        ("login", "failed"),
        ("login", "ok"),
        ("logout", "ok"),
        ("password_change", "ok"),
        ("delete", "ok"),
    ];
    assert_eq!(
        events,
        expected.map(|(a, o)| (a.to_string(), o.to_string())),
        "{out}"
    );
    for a in &audit {
        assert_eq!(a["user"], "nell", "the canonical name: {a}");
        assert_eq!(a["ip"], "127.0.0.1");
        assert!(
            a["span"]["request_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "{a}"
        );
    }
    assert_eq!(audit[2]["span"]["request_id"], login_id.as_str());
    for secret in ["Secret-One-1", "Wrong-Two-22", "Secret-Three-3", "$argon2"] {
        assert!(!out.contains(secret), "the log contains {secret}");
    }
}
