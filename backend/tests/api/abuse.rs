//! Brute force, IP limits, spoofing, common passwords, cross-site requests, slow bodies, timing.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::for_each_store;
use crate::support::{
    app::{expect_problem, production_argon2, session_cookie, TestApp},
    Kind,
};

async fn lockout(kind: Kind, threshold: u32, secs: u64) -> TestApp {
    TestApp::spawn_with(kind, |c| {
        c.lockout_threshold = threshold;
        c.lockout_duration = secs;
    })
    .await
}

/// `POST /api/logout` from a cookie-less client carrying `cookie`, as sent from `origin`.
async fn logout_from(app: &TestApp, cookie: &str, origin: impl AsRef<str>) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/api/logout"))
        .header("cookie", cookie)
        .header("origin", origin.as_ref())
        .send()
        .await
        .unwrap()
}

fn retry_after(r: &reqwest::Response) -> u64 {
    r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn repeated_failures_lock_the_account_then_the_lock_ends(kind: Kind) {
    let app = lockout(kind, 3, 60).await;
    app.register("vera", "correct pass phrase").await;
    for _ in 0..3 {
        expect_problem(
            app.login("vera", "wrong pass phrase").await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    // Locked: even the correct password gets the same 429 as a wrong one.
    let right = app.login("VERA", "correct pass phrase").await;
    assert_eq!(right.status(), 429);
    assert_eq!(
        retry_after(&right),
        60,
        "the whole lock is left: the clock stands still"
    );
    let right = expect_problem(right, 429, "rate_limited").await;
    let wrong = expect_problem(
        app.login("vera", "wrong pass phrase").await,
        429,
        "rate_limited",
    )
    .await;
    assert_eq!(right["title"], wrong["title"]);
    // Password change and deletion are locked too.
    let r = app
        .change_password("vera", "correct pass phrase", "brand new phrase")
        .await;
    expect_problem(r, 429, "rate_limited").await;
    let r = app
        .post(
            "/api/user/delete",
            json!({"user_name": "vera", "password": "correct pass phrase"}),
        )
        .await;
    expect_problem(r, 429, "rate_limited").await;

    // The lock ends by itself; success clears the count.
    app.advance(Duration::from_millis(59_999));
    expect_problem(
        app.login("vera", "correct pass phrase").await,
        429,
        "rate_limited",
    )
    .await;
    app.advance(Duration::from_millis(1));
    assert_eq!(app.login("vera", "correct pass phrase").await.status(), 200);
    for _ in 0..2 {
        expect_problem(
            app.login("vera", "wrong pass phrase").await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    assert_eq!(app.login("vera", "correct pass phrase").await.status(), 200);
}

async fn unknown_names_are_counted_the_same_way(kind: Kind) {
    let app = lockout(kind, 3, 60).await;
    for _ in 0..3 {
        expect_problem(
            app.login("ghost", "any pass phrase").await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    let r = app.login("ghost", "any pass phrase").await;
    assert!(retry_after(&r) > 50);
    expect_problem(r, 429, "rate_limited").await;
    // Other names are not affected.
    expect_problem(
        app.login("phantom", "any pass phrase").await,
        401,
        "invalid_credentials",
    )
    .await;
}

async fn a_lock_survives_a_restart(kind: Kind) {
    let app = lockout(kind, 2, 60).await;
    app.register("walt", "correct pass phrase").await;
    for _ in 0..2 {
        app.login("walt", "wrong pass phrase").await;
    }
    let app = app.restart_with(|_| {}).await;
    expect_problem(
        app.login("walt", "correct pass phrase").await,
        429,
        "rate_limited",
    )
    .await;
}

async fn the_ip_limit_counts_credential_attempts_and_registrations_apart(kind: Kind) {
    let app = TestApp::spawn_with(kind, |c| c.ip_rate_limit = 3).await;
    for _ in 0..3 {
        expect_problem(
            app.login("xena", "wrong pass phrase").await,
            401,
            "invalid_credentials",
        )
        .await;
    }
    let r = app.login("yuri", "wrong pass phrase").await;
    assert!((1..=60).contains(&retry_after(&r)));
    expect_problem(r, 429, "rate_limited").await;
    // Registrations have their own budget.
    for name in ["reg1", "reg2", "reg3"] {
        assert_eq!(app.register(name, "some pass phrase").await.status(), 201);
    }
    expect_problem(
        app.register("reg4", "some pass phrase").await,
        429,
        "rate_limited",
    )
    .await;
}

async fn forwarded_for_is_ignored_unless_from_a_trusted_proxy(kind: Kind) {
    // A failed login that says it comes from `client` through a proxy.
    async fn login_via(app: &TestApp, client: &str) -> reqwest::Response {
        let creds = json!({"user_name": "zoe", "password": "wrong pass phrase"});
        app.post_with("/api/login", creds, &[("x-forwarded-for", client)])
            .await
    }
    // Not trusted: a client cannot get new budgets by inventing addresses.
    let app = TestApp::spawn_with(kind, |c| c.ip_rate_limit = 2).await;
    for client in ["198.51.100.0", "198.51.100.1"] {
        assert_eq!(login_via(&app, client).await.status(), 401);
    }
    expect_problem(login_via(&app, "198.51.100.99").await, 429, "rate_limited").await;

    // Behind a trusted proxy, each client has its own budget.
    let app = TestApp::spawn_with(kind, |c| {
        c.ip_rate_limit = 2;
        c.lockout_threshold = 100;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    for _ in 0..2 {
        assert_eq!(login_via(&app, "198.51.100.1").await.status(), 401);
    }
    expect_problem(login_via(&app, "198.51.100.1").await, 429, "rate_limited").await;
    assert_eq!(login_via(&app, "198.51.100.2").await.status(), 401);
}

async fn common_passwords_are_refused(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    for common in ["iloveyou", "PASSWORD1", "Sunshine"] {
        let body =
            expect_problem(app.register("anna", common).await, 400, "invalid_password").await;
        assert!(
            body["detail"].as_str().unwrap().contains("commonly used"),
            "{body}"
        );
    }
    app.register("anna", "uncommon pass phrase").await;
    let body = expect_problem(
        app.change_password("anna", "uncommon pass phrase", "qwertyuiop")
            .await,
        400,
        "invalid_password",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "newpassword");
}

async fn a_cookie_carrying_request_from_another_origin_is_refused(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    app.register("olga", "secret phrase one").await;
    // Without a cookie, another origin may log in (there is nothing to ride on).
    let r = app
        .post_with(
            "/api/login",
            json!({"user_name": "olga", "password": "secret phrase one"}),
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let cookie = session_cookie(&r);
    let evil = logout_from(&app, &cookie, "https://evil.example").await;
    expect_problem(evil, 403, "cross_origin").await;
    assert_eq!(
        app.get_with_cookie("/api/session", &cookie).await.status(),
        200,
        "still signed in"
    );
    let own = logout_from(&app, &cookie, format!("http://{}", app.addr)).await;
    assert_eq!(own.status(), 204);
    // CORS is off by default: a preflight gets no permission.
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/login"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(preflight
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

async fn cors_can_be_opened_to_named_origins(kind: Kind) {
    let app = TestApp::spawn_with(kind, |c| {
        c.cors_origins = vec!["https://app.example".into()]
    })
    .await;
    app.register("pia", "secret phrase two").await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/login"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(
        preflight.headers()["access-control-allow-credentials"],
        "true"
    );
    let cookie = session_cookie(&app.login("pia", "secret phrase two").await);
    let r = logout_from(&app, &cookie, "https://app.example").await;
    assert_eq!(r.status(), 204);
    let r = logout_from(&app, &cookie, "https://other.example").await;
    expect_problem(r, 403, "cross_origin").await;
}

async fn a_slow_body_times_out_with_408(kind: Kind) {
    let app = TestApp::spawn_with(kind, |c| c.body_timeout = 1).await;
    let mut tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: {}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"user",
        app.addr
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut reply = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 1024];
        loop {
            let n = tcp.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            reply.extend_from_slice(&buf[..n]);
            if reply.windows(4).any(|w| w == b"\r\n\r\n") && reply.ends_with(b"}") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no reply within 5 s");
    let text = String::from_utf8_lossy(&reply);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("request_timeout"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

for_each_store!(
    repeated_failures_lock_the_account_then_the_lock_ends,
    unknown_names_are_counted_the_same_way,
    a_lock_survives_a_restart,
    the_ip_limit_counts_credential_attempts_and_registrations_apart,
    forwarded_for_is_ignored_unless_from_a_trusted_proxy,
    common_passwords_are_refused,
    a_cookie_carrying_request_from_another_origin_is_refused,
    cors_can_be_opened_to_named_origins,
    a_slow_body_times_out_with_408,
);

/// Login for an unknown user and for a known user with a wrong password must take the same
/// time: medians of interleaved samples within 15 %, with the production Argon2 parameters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_and_wrong_password_take_the_same_time() {
    let app = TestApp::spawn_with(Kind::Sqlite, |c| {
        production_argon2(c);
        c.lockout_threshold = 10_000;
    })
    .await;
    app.register("timothy", "timothy pass phrase").await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..31 {
        for (name, samples) in [("timothy", &mut known), ("nobody-here", &mut unknown)] {
            let started = Instant::now();
            let r = app.login(name, &format!("wrong pass phrase {i}")).await;
            let elapsed = started.elapsed();
            assert_eq!(r.status(), 401);
            if i > 0 {
                samples.push(elapsed); // the first round warms up
            }
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort_unstable();
        v[v.len() / 2].as_secs_f64()
    };
    let (k, u) = (median(&mut known), median(&mut unknown));
    let ratio = k.max(u) / k.min(u);
    println!("median known {k:.4}s, unknown {u:.4}s, ratio {ratio:.3}");
    assert!(
        ratio <= 1.15,
        "timing differs: known {k:.4}s vs unknown {u:.4}s"
    );
}
