//! Forward-auth as a proxy asks it (the real proxies are in the browser tests): trusted
//! proxies only, the original request from the forwarded headers, the rules file (first
//! match, groups, bypass, two factors), the answers (200 with who, 302/303/401 to log in, 403),
//! and the rules read again on SIGHUP (a bad file keeps the old rules), with the real binary.

use std::time::Duration;

use reqwest::{header, redirect::Policy, Client, Response};

use crate::support::{
    app::{expect_problem, session_cookie, TestApp},
    process::Operated,
    Kind,
};

const PASSWORD: &str = "a long enough pass phrase";

const RULES: &str = r#"
default_policy = "deny"

[[rule]]
host = "app.example.org"
path = "/public"
policy = "bypass"

[[rule]]
host = "app.example.org"
path = "/admin"
policy = "signed_in"
groups = ["admins"]

[[rule]]
host = "app.example.org"
policy = "signed_in"

[[rule]]
host = "*.secure.example.org"
policy = "two_factor"
"#;

/// A client that connects from 127.0.0.2, the trusted proxy in these tests.
fn proxy() -> Client {
    Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn ask(
    client: &Client,
    app: &TestApp,
    method: &str,
    url: &str,
    cookie: Option<&str>,
    extra: &[(&str, &str)],
) -> Response {
    let parsed = url::Url::parse(url).unwrap();
    let mut req = client
        .get(app.url("/api/authz/forward-auth"))
        .header("x-forwarded-method", method)
        .header("x-forwarded-proto", parsed.scheme())
        .header("x-forwarded-host", parsed.host_str().unwrap())
        .header("x-forwarded-uri", &url[url.find(parsed.path()).unwrap()..]);
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, cookie);
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

async fn nginx(client: &Client, app: &TestApp, url: &str, cookie: Option<&str>) -> Response {
    let mut req = client
        .get(app.url("/api/authz/auth-request"))
        .header("x-original-url", url)
        .header("x-original-method", "GET");
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, cookie);
    }
    req.send().await.unwrap()
}

async fn a_proxy_asks_and_the_rules_answer(kind: Kind) {
    let rules = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(rules.path(), RULES).unwrap();
    let app = TestApp::spawn_with(kind, |c| {
        c.trusted_proxies = vec!["127.0.0.2".parse().unwrap()];
        c.authz_rules = Some(rules.path().to_owned());
    })
    .await;
    let p = proxy();
    // Not a trusted proxy: whatever it says, it is refused.
    let r = ask(
        &Client::new(),
        &app,
        "GET",
        "https://app.example.org/public/x",
        None,
        &[],
    )
    .await;
    expect_problem(r, 403, "access_denied").await;

    // Signed out: to the login page with the original URL, by the method's rules.
    let login = |rd: &str| {
        format!(
            "http://localhost:{}/login?rd={}",
            app.addr.port(),
            url::form_urlencoded::byte_serialize(rd.as_bytes()).collect::<String>()
        )
    };
    let target = "https://app.example.org/docs/page?q=1&x=%20y";
    let r = ask(&p, &app, "GET", target, None, &[]).await;
    assert_eq!(r.status(), 302);
    assert_eq!(
        r.headers()[header::LOCATION].to_str().unwrap(),
        login(target)
    );
    let r = ask(&p, &app, "POST", target, None, &[]).await;
    assert_eq!(r.status(), 303);
    let r = ask(
        &p,
        &app,
        "GET",
        target,
        None,
        &[("accept", "application/json")],
    )
    .await;
    expect_problem(r, 401, "unauthenticated").await;
    let r = ask(
        &p,
        &app,
        "GET",
        target,
        None,
        &[("x-requested-with", "XMLHttpRequest")],
    )
    .await;
    assert_eq!(r.status(), 401);
    let r = nginx(&p, &app, target, None).await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()[header::LOCATION].to_str().unwrap(),
        login(target)
    );
    // Bypass: no check, no identity; deny: no one.
    let r = ask(
        &p,
        &app,
        "GET",
        "https://app.example.org/public/logo.png",
        None,
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["remote-user"], "", "no one named");
    let r = ask(&p, &app, "GET", "https://other.example.org/", None, &[]).await;
    expect_problem(r, 403, "access_denied").await;

    // Signed in: the app learns who; a group rule needs the group.
    assert_eq!(app.register("Ada", PASSWORD).await.status(), 201);
    let cookie = session_cookie(&app.login("ada", PASSWORD).await);
    let r = ask(&p, &app, "GET", target, Some(&cookie), &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["remote-user"], "Ada");
    assert_eq!(r.headers()["remote-name"], "Ada");
    assert_eq!(r.headers()["remote-groups"], "");
    assert_eq!(r.headers()["remote-email"], "", "no confirmed address");
    let admin = "https://app.example.org/admin/users";
    expect_problem(
        ask(&p, &app, "GET", admin, Some(&cookie), &[]).await,
        403,
        "access_denied",
    )
    .await;
    for args in [
        ["group", "add", "admins"].as_slice(),
        &["group", "add-member", "admins", "ada"],
        &["set-email", "ada", "ada@example.org", "--verified"],
    ] {
        assert!(app.admin(args).status.success(), "{args:?}");
    }
    // Lookups (with the groups) are kept a second: the new group counts within it.
    let started = std::time::Instant::now();
    let r = loop {
        let r = nginx(&p, &app, admin, Some(&cookie)).await;
        if r.status() == 200 || started.elapsed() > Duration::from_millis(1500) {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["remote-groups"], "admins");
    assert_eq!(r.headers()["remote-email"], "ada@example.org");
    // Two factors demanded; a password login has one.
    let r = ask(
        &p,
        &app,
        "GET",
        "https://wiki.secure.example.org/",
        Some(&cookie),
        &[],
    )
    .await;
    expect_problem(r, 403, "access_denied").await;
    // Logged out (or revoked): to the login page again, within a second.
    let r = app
        .client
        .post(app.url("/api/logout"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    // Lookups are kept a second: refused within it.
    let started = std::time::Instant::now();
    while ask(&p, &app, "GET", target, Some(&cookie), &[])
        .await
        .status()
        != 302
    {
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "still let in"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // What the app would read differently from a plain comparison: the rules see what the
    // app sees, or the check refuses.
    let cookie = session_cookie(&app.login("ada", PASSWORD).await);
    assert!(app
        .admin(&["group", "remove-member", "admins", "ada"])
        .status
        .success());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for sneaky in [
        "https://app.example.org//admin",
        "https://app.example.org/%61dmin/users",
        "https://app.example.org/admin;x=1",
        "https://app.example.org/public/..;/admin",
        "https://app.example.org/public/%2e%2e/admin",
    ] {
        let r = ask(&p, &app, "GET", sneaky, Some(&cookie), &[]).await;
        expect_problem(r, 403, "access_denied").await;
        let r = ask(&p, &app, "GET", sneaky, None, &[]).await;
        assert_eq!(r.status(), 302, "{sneaky}: not a bypass");
    }
    for refused in [
        "https://app.example.org/public/..%2fadmin",
        "https://app.example.org/admin%2F",
        "https://app.example.org/public/%00",
    ] {
        let r = ask(&p, &app, "GET", refused, None, &[]).await;
        expect_problem(r, 403, "access_denied").await;
    }
    // A host that is not a plain name (nginx passes Host on as it came).
    for host in [
        "app.example.org\\public",
        "app.example.org#",
        "app.example.org?x",
        "a@app.example.org",
    ] {
        let r = p
            .get(app.url("/api/authz/forward-auth"))
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", host)
            .header("x-forwarded-uri", "/admin")
            .send()
            .await
            .unwrap();
        expect_problem(r, 403, "access_denied").await;
        let r = nginx(&p, &app, &format!("https://{host}/admin"), None).await;
        expect_problem(r, 403, "access_denied").await;
    }
    // A path that cannot be read is refused, never taken for the root.
    let r = p
        .get(app.url("/api/authz/forward-auth"))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "app.example.org")
        .header(
            "x-forwarded-uri",
            reqwest::header::HeaderValue::from_bytes(b"/public/\xff/../admin").unwrap(),
        )
        .send()
        .await
        .unwrap();
    expect_problem(r, 403, "access_denied").await;
    let r = ask(&p, &app, "GET", "https://app.example.org/public", None, &[]).await;
    assert_eq!(r.status(), 200);
    let r = nginx(&p, &app, "https://app.example.org/public#/../admin", None).await;
    expect_problem(r, 403, "access_denied").await;
    // A trailing dot is the same host.
    let r = ask(
        &p,
        &app,
        "GET",
        "https://app.example.org./docs",
        Some(&cookie),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);

    // A proxy that names no URL is refused.
    let r = p
        .get(app.url("/api/authz/forward-auth"))
        .send()
        .await
        .unwrap();
    expect_problem(r, 403, "access_denied").await;
    let r = nginx(&p, &app, "javascript:alert(1)", None).await;
    expect_problem(r, 403, "access_denied").await;
}

crate::for_each_store!(a_proxy_asks_and_the_rules_answer);

/// A bad rules file stops the start, naming the line; SIGHUP reads the file again, and a bad
/// one then keeps the rules in force.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rules_are_checked_at_start_and_read_again_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.toml");
    std::fs::write(
        &file,
        "default_policy = \"deny\"\n\n[[rule]]\nhost = \"a b\"\npolicy = \"deny\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_accounts-server"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--authz-rules")
        .arg(&file)
        .env_remove("MONGODB_URI")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("line 3") && said.contains("not a host name"),
        "{said}"
    );

    std::fs::write(&file, "default_policy = \"deny\"\n").unwrap();
    let rules = file.to_str().unwrap().to_owned();
    let server = Operated::start(
        Kind::Sqlite,
        &["--authz-rules", &rules, "--trusted-proxy", "127.0.0.1"],
    )
    .await;
    let check = || async {
        Client::new()
            .get(server.url("/api/authz/forward-auth"))
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "app.example.org")
            .header("x-forwarded-uri", "/")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let hangup = || {
        assert!(std::process::Command::new("kill")
            .args(["-HUP", &server.child.id().to_string()])
            .status()
            .unwrap()
            .success());
    };
    let settle = async |expected: u16| {
        for _ in 0..100 {
            if check().await == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("still not {expected}:\n{}", server.log_text());
    };
    assert_eq!(check().await, 403);
    std::fs::write(&file, "default_policy = \"bypass\"\n").unwrap();
    hangup();
    settle(200).await;
    std::fs::write(&file, "default_policy = \"sometimes\"\n").unwrap();
    hangup();
    for _ in 0..100 {
        if server
            .log_text()
            .contains("the authz rules file was refused")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = server.log_text();
    assert!(
        log.contains("the authz rules file was refused") && log.contains("line 1"),
        "{log}"
    );
    assert_eq!(check().await, 200, "the rules in force stay");
}
