//! The host a request names and the origin a write comes from, held against the service's
//! public URL, tried against the real server: a page on another name (DNS rebinding) or a
//! forged `Host` is refused, the health probes answer any name, and every loopback name of a
//! local instance works.

use reqwest::{Method, Response};
use serde_json::json;

use crate::support::{
    app::{expect_problem, session_cookie, TestApp},
    Kind,
};

const PASSWORD: &str = "a long pass phrase";

/// `method path` from a fresh client (no cookie jar) with exactly `headers` added.
async fn send(app: &TestApp, method: Method, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = reqwest::Client::new().request(method, app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// Registers `user` in a request that names `host`.
async fn register_at(app: &TestApp, host: &str, user: &str) {
    let r = reqwest::Client::new()
        .post(app.url("/api/user/add"))
        .header("host", host)
        .json(&json!({"user_name": user, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "registration naming {host}");
}

/// The session cookie of a login that names `host`.
async fn login_at(app: &TestApp, host: &str, user: &str) -> String {
    let r = reqwest::Client::new()
        .post(app.url("/api/login"))
        .header("host", host)
        .json(&json!({"user_name": user, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "login naming {host}");
    session_cookie(&r)
}

/// A page on evil.example that the attacker's DNS points at 127.0.0.1 sends its own name as
/// `Host` and its own origin as `Origin`: the two agree, which is all the write guard used to
/// compare, so it passed. It is refused, and the session is untouched.
#[tokio::test]
async fn a_write_naming_another_host_is_refused_even_from_that_hosts_origin() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    app.register("rhea", PASSWORD).await;
    let cookie = session_cookie(&app.login("rhea", PASSWORD).await);
    let port = app.addr.port();
    let evil_host = format!("evil.example:{port}");
    let evil_origin = format!("http://evil.example:{port}");
    for (host, origin) in [
        ("evil.example", "http://evil.example"),
        (evil_host.as_str(), evil_origin.as_str()),
    ] {
        let r = send(
            &app,
            Method::POST,
            "/api/logout",
            &[("host", host), ("origin", origin), ("cookie", &cookie)],
        )
        .await;
        expect_problem(r, 421, "misdirected_request").await;
    }
    assert_eq!(
        app.get_with_cookie("/api/session", &cookie).await.status(),
        200,
        "still signed in"
    );
}

/// Reads too: a rebinding page must not read the API or the app under its own name.
#[tokio::test]
async fn a_request_naming_another_host_gets_421() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    let other_port = format!("localhost:{}", app.addr.port() + 1);
    for host in [
        "evil.example",
        other_port.as_str(),
        "127.0.0.1",
        "localhost",
    ] {
        for path in ["/api/policy", "/api/session", "/", "/register"] {
            let r = send(&app, Method::GET, path, &[("host", host)]).await;
            let body = expect_problem(r, 421, "misdirected_request").await;
            assert!(body["request_id"].is_string(), "{body}");
        }
    }
    let r = send(
        &app,
        Method::POST,
        "/api/user/add",
        &[
            ("host", "evil.example"),
            ("content-type", "application/json"),
        ],
    )
    .await;
    expect_problem(r, 421, "misdirected_request").await;
}

#[tokio::test]
async fn the_health_probes_answer_any_host() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    for path in ["/health/live", "/health/ready"] {
        for host in ["evil.example", "10.0.0.7:8080"] {
            let r = send(&app, Method::GET, path, &[("host", host)]).await;
            assert_eq!(r.status(), 200, "{path} naming {host}");
        }
    }
}

/// With the default public URL (a loopback listener, no --public-url), a newcomer may type
/// any loopback name with the port: each is served, and writes from each one's own origin
/// pass; an origin on another port does not.
#[tokio::test]
async fn every_loopback_name_with_the_port_is_the_default_public_host() {
    let app = TestApp::spawn(Kind::Sqlite).await;
    app.register("lena", PASSWORD).await;
    let port = app.addr.port();
    for name in ["127.0.0.1", "localhost", "[::1]", "LocalHost"] {
        let host = format!("{name}:{port}");
        let r = send(&app, Method::GET, "/api/policy", &[("host", &host)]).await;
        assert_eq!(r.status(), 200, "{host}");
        let cookie = login_at(&app, &host, "lena").await;
        let origin = format!("http://{}", host.to_ascii_lowercase());
        let r = send(
            &app,
            Method::POST,
            "/api/logout",
            &[("host", &host), ("origin", &origin), ("cookie", &cookie)],
        )
        .await;
        assert_eq!(r.status(), 204, "a write from {origin}");
    }
    let cookie = login_at(&app, &format!("localhost:{port}"), "lena").await;
    for origin in [
        "http://localhost:8080",
        "https://localhost",
        "http://evil.example",
    ] {
        let r = send(
            &app,
            Method::POST,
            "/api/logout",
            &[
                ("host", &format!("localhost:{port}")),
                ("origin", origin),
                ("cookie", &cookie),
            ],
        )
        .await;
        expect_problem(r, 403, "cross_origin").await;
    }
}

/// With --public-url, its host is the one host served (the scheme's default port may be
/// written or not), and writes must come from its origin, scheme included.
#[tokio::test]
async fn a_public_url_names_the_one_host_and_origin() {
    let app = TestApp::spawn_with(Kind::Sqlite, |c| {
        c.public_url = Some("https://accounts.example.com".into());
    })
    .await;
    register_at(&app, "accounts.example.com", "mira").await;
    for host in ["accounts.example.com", "Accounts.Example.com:443"] {
        let r = send(&app, Method::GET, "/api/policy", &[("host", host)]).await;
        assert_eq!(r.status(), 200, "{host}");
    }
    let loopback = format!("127.0.0.1:{}", app.addr.port());
    for host in [loopback.as_str(), "accounts.example.com:80", "example.com"] {
        let r = send(&app, Method::GET, "/api/policy", &[("host", host)]).await;
        expect_problem(r, 421, "misdirected_request").await;
    }
    let cookie = login_at(&app, "accounts.example.com", "mira").await;
    let logout = |origin: &'static str| {
        let cookie = cookie.clone();
        let app = &app;
        async move {
            let headers = [
                ("host", "accounts.example.com"),
                ("origin", origin),
                ("cookie", cookie.as_str()),
            ];
            send(app, Method::POST, "/api/logout", &headers).await
        }
    };
    expect_problem(
        logout("http://accounts.example.com").await,
        403,
        "cross_origin",
    )
    .await;
    assert_eq!(logout("https://accounts.example.com").await.status(), 204);
}

/// Behind a trusted proxy, `X-Forwarded-Host` names the host the client asked for (the proxy
/// may send its upstream's address as `Host`); from anyone else it is ignored.
#[tokio::test]
async fn x_forwarded_host_counts_only_from_a_trusted_proxy() {
    let behind = TestApp::spawn_with(Kind::Sqlite, |c| {
        c.public_url = Some("https://accounts.example.com".into());
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let upstream = format!("127.0.0.1:{}", behind.addr.port());
    let policy = |app: &TestApp, host: &str, forwarded: &str| {
        let headers = [
            ("host", host.to_owned()),
            ("x-forwarded-host", forwarded.to_owned()),
        ];
        let app_url = app.url("/api/policy");
        async move {
            let mut request = reqwest::Client::new().get(app_url);
            for (name, value) in headers {
                request = request.header(name, value);
            }
            request.send().await.unwrap()
        }
    };
    assert_eq!(
        policy(&behind, &upstream, "accounts.example.com")
            .await
            .status(),
        200
    );
    let r = policy(&behind, "accounts.example.com", "evil.example").await;
    expect_problem(r, 421, "misdirected_request").await;

    let direct = TestApp::spawn_with(Kind::Sqlite, |c| {
        c.public_url = Some("https://accounts.example.com".into());
    })
    .await;
    let upstream = format!("127.0.0.1:{}", direct.addr.port());
    assert_eq!(
        policy(&direct, "accounts.example.com", "evil.example")
            .await
            .status(),
        200,
        "an untrusted X-Forwarded-Host is ignored"
    );
    let r = policy(&direct, &upstream, "accounts.example.com").await;
    expect_problem(r, 421, "misdirected_request").await;
}
