//! Abuse resistance, round two, each point tried against the real server the way it
//! was found: IPv6 budgets, the origin's scheme and `Sec-Fetch-Site`, HSTS, invented methods
//! in metrics, password length counted as typed, parallel guesses, logins racing a password
//! change, and floods past the per-IP limit.

use serde_json::json;

use crate::for_each_store;
use crate::support::{
    app::{expect_problem, production_argon2, session_cookie, TestApp},
    Kind,
};

/// One IPv6 host holds a whole /64: its addresses share one budget; another /64 has its own.
async fn ipv6_clients_share_a_budget_per_network(kind: Kind) {
    let app = TestApp::spawn_with(kind, |c| {
        c.ip_rate_limit = 2;
        c.lockout_threshold = 100;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let login_from = |client: &'static str| {
        let creds = json!({"user_name": "yann", "password": "wrong pass phrase"});
        let app = &app;
        async move {
            app.post_with("/api/login", creds, &[("x-forwarded-for", client)])
                .await
        }
    };
    assert_eq!(login_from("2001:db8::1").await.status(), 401);
    assert_eq!(login_from("2001:db8::2").await.status(), 401);
    expect_problem(login_from("2001:db8::ffff:3").await, 429, "rate_limited").await;
    assert_eq!(login_from("2001:db8:0:1::1").await.status(), 401);
}

async fn a_write_must_come_from_our_own_scheme_and_not_cross_site(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    app.register("ulla", "secret phrase one").await;
    let cookie = session_cookie(&app.login("ulla", "secret phrase one").await);
    let logout = |headers: Vec<(&'static str, String)>| {
        let mut request = reqwest::Client::new()
            .post(app.url("/api/logout"))
            .header("cookie", &cookie);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    // The right host and port over the wrong scheme is another origin.
    let https = logout(vec![("origin", format!("https://{}", app.addr))])
        .await
        .unwrap();
    expect_problem(https, 403, "cross_origin").await;
    // A browser that says the request is cross-site is refused even without an Origin.
    let cross = logout(vec![("sec-fetch-site", "cross-site".into())])
        .await
        .unwrap();
    expect_problem(cross, 403, "cross_origin").await;
    assert_eq!(
        app.get_with_cookie("/api/session", &cookie).await.status(),
        200,
        "still signed in"
    );
    let own = logout(vec![
        ("origin", format!("http://{}", app.addr)),
        ("sec-fetch-site", "same-origin".into()),
    ])
    .await
    .unwrap();
    assert_eq!(own.status(), 204);
}

/// Guesses sent at once: no more are checked than the threshold allows; the rest are refused
/// before any password check.
async fn parallel_guesses_do_not_get_past_the_threshold(kind: Kind) {
    let app = TestApp::spawn_with(kind, |c| c.lockout_threshold = 5).await;
    app.register("gwen", "gwens pass phrase").await;
    let guesses = (0..8).map(|_| app.login("gwen", "wrong pass phrase"));
    let statuses: Vec<u16> = futures::future::join_all(guesses)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!((checked, refused), (5, 3), "{statuses:?}");
}

/// Logins racing a password change (real Argon2 costs, so each spends a hash time between
/// reading the old hash and storing its session): none may keep a session afterwards.
async fn a_login_racing_a_password_change_keeps_no_session(kind: Kind) {
    let app = TestApp::spawn_with(kind, |c| {
        production_argon2(c);
        c.lockout_threshold = 1000;
    })
    .await;
    app.register("rhea", "first long phrase").await;
    let app = &app;
    // Logins keep arriving while the change verifies, hashes and swaps.
    let logins = (0..29u64).map(|i| async move {
        tokio::time::sleep(std::time::Duration::from_millis(15 * i)).await;
        let r = app
            .new_client()
            .post(app.url("/api/login"))
            .json(&json!({"user_name": "rhea", "password": "first long phrase"}))
            .send()
            .await
            .unwrap();
        (
            r.status().as_u16(),
            (r.status() == 200).then(|| session_cookie(&r)),
        )
    });
    let change = async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        app.change_password("rhea", "first long phrase", "second long phrase")
            .await
            .status()
    };
    let (results, changed) = tokio::join!(futures::future::join_all(logins), change);
    assert_eq!(changed, 200);
    let refused = results.iter().filter(|(status, _)| *status == 401).count();
    let cookies: Vec<String> = results.into_iter().filter_map(|(_, c)| c).collect();
    assert!(
        !cookies.is_empty(),
        "some logins should finish before the change"
    );
    assert!(refused > 0, "some logins should come after the change");
    for cookie in &cookies {
        assert_eq!(
            app.get_with_cookie("/api/session", cookie).await.status(),
            401,
            "a session opened with the replaced password survived the change"
        );
    }
}

/// A flood from one address past its limit is refused without a store write per attempt.
async fn a_flood_past_the_ip_limit_stops_counting(kind: Kind) {
    let mut app = TestApp::spawn_with(kind, |c| {
        c.ip_rate_limit = 5;
        c.lockout_threshold = 10_000;
    })
    .await;
    let started = accounts_server::clock::now();
    let mut refused = 0;
    for _ in 0..60 {
        let r = app.login("flood", "wrong pass phrase").await;
        refused += usize::from(r.status() == 429);
    }
    assert!(refused >= 50, "only {refused} refused");
    let store = app.stop_and_open_store().await;
    let now = accounts_server::clock::now();
    let mut counted = 0;
    for minute in [started.unix_timestamp() / 60, now.unix_timestamp() / 60] {
        if let Some(c) = store
            .get_counter(&format!("ip:cred:127.0.0.1:{minute}"), now)
            .await
            .unwrap()
        {
            counted += c.count;
        }
        if started.unix_timestamp() / 60 == now.unix_timestamp() / 60 {
            break;
        }
    }
    // At most one attempt past the limit per window reaches the store.
    assert!(
        (5..=12).contains(&counted),
        "the store counted {counted} attempts"
    );
}

/// Names moved from lower case to case folding: an account stored under its old key is moved
/// at start-up and keeps logging in (now in any case); where two old accounts would merge, the
/// one holding the new key keeps it and the other is still found by the name as typed.
async fn existing_accounts_keep_logging_in_after_the_move_to_case_folding(kind: Kind) {
    use accounts_server::store::UserRecord;
    let mut app = TestApp::spawn(kind).await;
    assert_eq!(
        app.register("Straße", "dees long phrase").await.status(),
        201
    );
    assert_eq!(app.register("σασ", "bees long phrase").await.status(), 201);
    assert_eq!(
        app.register("Kappa", "as long a phrase").await.status(),
        201
    );
    // A new name may not mix scripts (a Cyrillic а among Latin letters).
    expect_problem(
        app.register("p\u{430}ypal", "pauls long phrase").await,
        400,
        "invalid_user_name",
    )
    .await;
    // Make the store look as the old rules left it: "Straße" under "straße", and an account
    // "Σας" (registered back then, with Kappa's password) under "σας", which case folding
    // would merge with "σασ".
    let store = app.stop_and_open_store().await;
    let strasse = store.find_user("strasse").await.unwrap().unwrap();
    assert!(store.rename_user(&strasse.id, "straße").await.unwrap());
    let kappa = store.find_user("kappa").await.unwrap().unwrap();
    let now = accounts_server::clock::now();
    store
        .insert_user(&UserRecord::new(
            "σας",
            "Σας",
            kappa.password_hash.clone(),
            now,
        ))
        .await
        .unwrap();
    drop(store);

    let app = app.restart_with(|_| {}).await;
    // Moved: found in any case now (under the old rules "STRASSE" was another name).
    assert_eq!(app.login("STRASSE", "dees long phrase").await.status(), 200);
    assert_eq!(app.login("straße", "dees long phrase").await.status(), 200);
    // The collision: both keep logging in, each by the name it had.
    assert_eq!(app.login("σασ", "bees long phrase").await.status(), 200);
    assert_eq!(app.login("Σας", "as long a phrase").await.status(), 200);
    assert_eq!(app.login("Σας", "bees long phrase").await.status(), 401);
}

/// Device cookies: a guesser locks the account for browsers it does not know, not for the
/// owner's browser, which has a failure budget of its own; unknown names get the same replies
/// as ever.
async fn a_known_browser_still_logs_in_while_guessers_are_locked_out(kind: Kind) {
    let app = TestApp::spawn_with(kind, |c| c.lockout_threshold = 3).await;
    app.register("owen", "a secret long phrase").await;
    // The owner's browser (cookies kept) logs in once: it gets a long-lived device cookie.
    let owner = app.new_client();
    let login = |client: &reqwest::Client, name: &'static str, password: &'static str| {
        client
            .post(app.url("/api/login"))
            .json(&json!({"user_name": name, "password": password}))
            .send()
    };
    let first = login(&owner, "owen", "a secret long phrase").await.unwrap();
    assert_eq!(first.status(), 200);
    let set_cookies: Vec<String> = first
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        set_cookies.iter().any(|c| c.starts_with("device=")
            && c.contains("HttpOnly")
            && c.contains("Max-Age=31536000")),
        "{set_cookies:?}"
    );
    // Logging out keeps it.
    let out = owner.post(app.url("/api/logout")).send().await.unwrap();
    assert_eq!(out.status(), 204);

    // A guesser (no cookies) locks the account for unknown browsers, right password or not.
    let guesser = app.new_client();
    for _ in 0..3 {
        let r = login(&guesser, "owen", "wrong pass phrase").await.unwrap();
        assert_eq!(r.status(), 401);
    }
    expect_problem(
        login(&guesser, "owen", "a secret long phrase")
            .await
            .unwrap(),
        429,
        "rate_limited",
    )
    .await;
    // ...and a stranger's name behaves exactly the same.
    for _ in 0..3 {
        let r = login(&guesser, "nobody", "wrong pass phrase")
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    expect_problem(
        login(&guesser, "nobody", "wrong pass phrase")
            .await
            .unwrap(),
        429,
        "rate_limited",
    )
    .await;

    // The owner's browser is not locked out.
    assert_eq!(
        login(&owner, "owen", "a secret long phrase")
            .await
            .unwrap()
            .status(),
        200
    );
    // It has its own small budget: typos there lock only that browser.
    for _ in 0..3 {
        assert_eq!(
            login(&owner, "owen", "typo pass phrase")
                .await
                .unwrap()
                .status(),
            401
        );
    }
    expect_problem(
        login(&owner, "owen", "a secret long phrase").await.unwrap(),
        429,
        "rate_limited",
    )
    .await;
}

for_each_store!(
    a_known_browser_still_logs_in_while_guessers_are_locked_out,
    existing_accounts_keep_logging_in_after_the_move_to_case_folding,
    ipv6_clients_share_a_budget_per_network,
    a_write_must_come_from_our_own_scheme_and_not_cross_site,
    parallel_guesses_do_not_get_past_the_threshold,
    a_login_racing_a_password_change_keeps_no_session,
    a_flood_past_the_ip_limit_stops_counting,
);

#[tokio::test]
async fn hsts_is_sent_when_the_service_is_reached_over_https() {
    let plain = TestApp::spawn(Kind::Sqlite).await;
    let r = plain.get("/health/live").await;
    assert!(r.headers().get("strict-transport-security").is_none());
    let secure = TestApp::spawn_with(Kind::Sqlite, |c| c.cookie_secure = true).await;
    for path in ["/health/live", "/api/policy", "/nothing-here"] {
        let r = secure.get(path).await;
        assert_eq!(
            r.headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap()),
            Some("max-age=31536000"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn invented_methods_do_not_grow_the_metrics() {
    let app = TestApp::spawn_with(Kind::Sqlite, |c| {
        c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    for i in 0..30 {
        let method = reqwest::Method::from_bytes(format!("INVENTED{i}").as_bytes()).unwrap();
        let r = app
            .client
            .request(method, app.url("/api/policy"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405);
    }
    let text = app.metrics_text().await;
    assert!(
        !text.contains("INVENTED"),
        "an invented method became a label"
    );
    assert!(text.contains(r#"method="other""#), "{text}");
}

/// U+FDFA is one character that NFKC expands to 18: it must not pass a 15-character minimum.
#[tokio::test]
async fn password_length_is_counted_as_typed() {
    let app = TestApp::spawn_with(Kind::Sqlite, |c| c.password_min_length = 15).await;
    let r = app.register("vera", "\u{FDFA}").await;
    let problem = expect_problem(r, 400, "invalid_password").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("at least 15"),
        "{problem}"
    );
    let r = app.register("vera", &"\u{FDFA}".repeat(15)).await;
    assert_eq!(r.status(), 201);
}

/// A client that never finishes its headers is dropped after the header timeout, while other
/// clients are served; past the connection cap a new connection is closed at once.
#[tokio::test]
async fn slow_clients_are_dropped_and_connections_are_capped() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(Kind::Sqlite, |c| {
        c.header_timeout = 1;
        c.max_connections = 4;
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..3 {
        let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        s.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(s);
    }
    // One slot left: a normal client is served (on a fresh connection each time).
    let fresh = || {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    };
    let r = fresh().get(app.url("/health/live")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Fill the last slot (once the client above has let go of its connection); the next
    // connection is closed at once.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut fourth = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    fourth
        .write_all(b"GET /health/live HTTP/1.1\r\n")
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut fifth = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(std::time::Duration::from_millis(500), fifth.read(&mut buf))
        .await
        .expect("the fifth connection is closed at once")
        .unwrap_or(0);
    assert_eq!(n, 0, "past the cap a connection gets nothing");
    // The slow ones are dropped after the timeout (with no response), and the service is
    // available again.
    let started = std::time::Instant::now();
    for s in &mut slow {
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("a slow client is dropped")
            .unwrap_or(0);
        assert!(
            n == 0 || buf.starts_with(b"HTTP/1.1 408"),
            "{:?}",
            &buf[..n]
        );
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    let r = fresh().get(app.url("/health/live")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

/// An endless header is cut off once it passes the read buffer's limit (about
/// `server::MAX_HEAD`), well before the header timeout, instead of being buffered.
#[tokio::test]
async fn an_endless_header_is_cut_off_instead_of_buffered() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn(Kind::Sqlite).await;
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    s.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ")
        .await
        .unwrap();
    // 256 KiB of header that never ends (the kernel's socket buffers may take it all).
    let chunk = vec![b'a'; 16 * 1024];
    for _ in 0..16 {
        if s.write_all(&chunk).await.is_err() {
            break;
        }
    }
    // A server buffering it all would wait for the rest until the header timeout (10 s);
    // this one refuses once its read buffer is full.
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(std::time::Duration::from_secs(3), s.read(&mut buf))
        .await
        .expect("the server answered (or closed) well before the header timeout")
        .unwrap_or(0);
    assert!(
        n == 0 || buf.starts_with(b"HTTP/1.1 431"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    assert_eq!(app.get("/health/live").await.status(), 200);
}
