//! OpenID Connect at the protocol level, as an app's back end and its users' browser speak it:
//! codes (single use, a minute, bound to their app, redirect URI and PKCE verifier), app
//! authentication, the authorization decisions (`prompt`, `max_age`, consent), key rotation,
//! the operator's commands, and two instances on one MongoDB acting as one provider. The
//! browser flow with a certified relying party is `e2e/tests/oidc.test.js`.

use std::time::Duration;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use reqwest::{header, Response};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::{
    app::{expect_problem, TestApp},
    Kind,
};

const PASSWORD: &str = "a long enough pass phrase";
const REDIRECT: &str = "https://app.example/cb";
const VERIFIER: &str = "a-pkce-code-verifier-that-is-long-enough-to-be-valid-0123456789";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// An app registered through the admin client: its id and secret (`None` when public).
fn add_client(app: &TestApp, extra: &[&str]) -> (String, Option<String>) {
    let mut args = vec![
        "client",
        "add",
        "Wiki",
        "--redirect-uri",
        REDIRECT,
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = app.admin(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    (
        v["client_id"].as_str().unwrap().to_owned(),
        v["client_secret"].as_str().map(str::to_owned),
    )
}

/// An authorization request's query string.
fn query(client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid email offline_access")
        .append_pair("state", "st")
        .append_pair("nonce", "no")
        .append_pair("code_challenge", &challenge(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    q.finish()
}

/// What the sign-in page hears for `query`, as the app's signed-in (or not) browser.
async fn step(app: &TestApp, query: &str) -> Value {
    let r = app
        .post("/api/oidc/authorize", json!({ "query": query }))
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The `key` parameter of a redirect `location`.
fn param(location: &str, key: &str) -> Option<String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Registers and logs in `name` on `app`'s own client, then allows the app: the code.
async fn code_for(app: &TestApp, name: &str, client_id: &str) -> String {
    assert_eq!(app.register(name, PASSWORD).await.status(), 201);
    assert_eq!(app.login(name, PASSWORD).await.status(), 200);
    let q = query(client_id, &[]);
    let s = step(app, &q).await;
    let s = if s["step"] == "consent" {
        let r = app
            .post("/api/oidc/consent", json!({ "query": q, "allow": true }))
            .await;
        r.json::<Value>().await.unwrap()
    } else {
        s
    };
    assert_eq!(s["step"], "redirect", "{s}");
    let location = s["location"].as_str().unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(param(location, "state").as_deref(), Some("st"));
    param(location, "code").expect("a code")
}

/// A form POST to `path` with optional Basic credentials.
async fn form(
    app: &TestApp,
    path: &str,
    basic: Option<(&str, &str)>,
    pairs: &[(&str, &str)],
) -> Response {
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        body.append_pair(k, v);
    }
    let mut req = reqwest::Client::new()
        .post(app.url(path))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body.finish());
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    req.send().await.unwrap()
}

async fn exchange(app: &TestApp, id: &str, secret: &str, code: &str, verifier: &str) -> Response {
    form(
        app,
        "/oidc/token",
        Some((id, secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// An OAuth error reply: the status, RFC 6749's `error` (and our problem fields) as JSON.
async fn expect_oauth(r: Response, status: u16, error: &str) -> Value {
    assert_eq!(r.status().as_u16(), status);
    assert_eq!(
        r.headers()[header::CONTENT_TYPE],
        "application/json",
        "OAuth clients read errors as application/json"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["code"], format!("oauth_{error}"), "{body}");
    assert!(body["error_description"].is_string());
    body
}

/// The claims of a JWS (not verified here: the browser tests verify signatures with `jose`).
fn claims(jwt: &str) -> (Value, Value) {
    let mut parts = jwt.split('.');
    let mut next = || -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap()
    };
    (next(), next())
}

async fn a_code_works_once_within_a_minute_with_its_verifier(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    let (id, secret) = add_client(&app, &[]);
    let secret = secret.unwrap();
    let code = code_for(&app, "ada", &id).await;

    // The wrong verifier spends it.
    expect_oauth(
        exchange(
            &app,
            &id,
            &secret,
            &code,
            "wrong-verifier-wrong-verifier-wrong-verifier",
        )
        .await,
        400,
        "invalid_grant",
    )
    .await;
    expect_oauth(
        exchange(&app, &id, &secret, &code, VERIFIER).await,
        400,
        "invalid_grant",
    )
    .await;

    // A fresh one: the redirect URI must be the request's; a code a minute old is gone.
    let q = query(&id, &[]);
    let fresh = |s: Value| param(s["location"].as_str().unwrap(), "code").unwrap();
    let code = fresh(step(&app, &q).await);
    let r = form(
        &app,
        "/oidc/token",
        Some((&id, &secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.example/other"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    expect_oauth(r, 400, "invalid_grant").await;
    let code = fresh(step(&app, &q).await);
    app.advance(Duration::from_secs(61));
    expect_oauth(
        exchange(&app, &id, &secret, &code, VERIFIER).await,
        400,
        "invalid_grant",
    )
    .await;

    // In time, the ID token says who, for whom, and echoes the nonce.
    let code = fresh(step(&app, &q).await);
    let r = exchange(&app, &id, &secret, &code, VERIFIER).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    let tokens: Value = r.json().await.unwrap();
    let (header, id_token) = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].is_string());
    assert_eq!(id_token["aud"], id.as_str());
    assert_eq!(id_token["nonce"], "no");
    assert_eq!(id_token["preferred_username"], "ada");
    assert_eq!(id_token["amr"], json!(["pwd"]));
    assert_eq!(tokens["expires_in"], 600);
    // Reused: refused, and what it gave is revoked.
    expect_oauth(
        exchange(&app, &id, &secret, &code, VERIFIER).await,
        400,
        "invalid_grant",
    )
    .await;
    let userinfo = reqwest::Client::new()
        .get(app.url("/oidc/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 401);
    assert_eq!(
        userinfo.headers()[header::WWW_AUTHENTICATE],
        "Bearer error=\"invalid_token\""
    );

    // Another app's code is refused too.
    let (other, other_secret) = add_client(&app, &["--trusted"]);
    let code = fresh(step(&app, &q).await);
    expect_oauth(
        exchange(&app, &other, &other_secret.unwrap(), &code, VERIFIER).await,
        400,
        "invalid_grant",
    )
    .await;
}

async fn apps_authenticate_with_basic_with_post_or_as_public(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    let (id, secret) = add_client(&app, &["--trusted"]);
    let secret = secret.unwrap();
    code_for(&app, "bea", &id).await;
    let q = query(&id, &[]);
    let code = |s: Value| param(s["location"].as_str().unwrap(), "code").unwrap();

    // client_secret_post.
    let c = code(step(&app, &q).await);
    let r = form(
        &app,
        "/oidc/token",
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", &id),
            ("client_secret", &secret),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);

    // A wrong secret, or none, or an unknown app: 401 with a Basic challenge.
    let c = code(step(&app, &q).await);
    let r = exchange(&app, &id, "not-the-secret", &c, VERIFIER).await;
    assert_eq!(
        r.headers()[header::WWW_AUTHENTICATE],
        "Basic realm=\"accounts\""
    );
    expect_oauth(r, 401, "invalid_client").await;
    expect_oauth(
        form(
            &app,
            "/oidc/token",
            None,
            &[("grant_type", "authorization_code"), ("client_id", &id)],
        )
        .await,
        401,
        "invalid_client",
    )
    .await;
    expect_oauth(
        exchange(&app, "nobody", &secret, &c, VERIFIER).await,
        401,
        "invalid_client",
    )
    .await;
    // Both ways at once, a repeated parameter, another media type, another grant type.
    expect_oauth(
        form(
            &app,
            "/oidc/token",
            Some((&id, &secret)),
            &[
                ("grant_type", "authorization_code"),
                ("client_secret", &secret),
            ],
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    expect_oauth(
        form(
            &app,
            "/oidc/token",
            Some((&id, &secret)),
            &[
                ("grant_type", "refresh_token"),
                ("grant_type", "authorization_code"),
            ],
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    let r = reqwest::Client::new()
        .post(app.url("/oidc/token"))
        .json(&json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .unwrap();
    expect_oauth(r, 400, "invalid_request").await;
    expect_oauth(
        form(
            &app,
            "/oidc/token",
            Some((&id, &secret)),
            &[("grant_type", "password")],
        )
        .await,
        400,
        "unsupported_grant_type",
    )
    .await;

    // A public app sends no secret, and must use PKCE.
    let (public, none) = add_client(&app, &["--public", "--trusted"]);
    assert_eq!(none, None);
    let pq = query(&public, &[]);
    let c = code(step(&app, &pq).await);
    expect_oauth(
        exchange(&app, &public, "made-up", &c, VERIFIER).await,
        401,
        "invalid_client",
    )
    .await;
    let c = code(step(&app, &pq).await);
    let r = form(
        &app,
        "/oidc/token",
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", &public),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    let no_pkce = step(
        &app,
        &query(&public, &[]).replace("code_challenge", "x_challenge"),
    )
    .await;
    assert_eq!(
        param(no_pkce["location"].as_str().unwrap(), "error").as_deref(),
        Some("invalid_request")
    );
}

async fn prompts_max_age_and_consent_decide_the_next_step(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    let (id, _) = add_client(&app, &[]);
    // Signed out: log in first; with prompt=none, login_required back to the app.
    assert_eq!(step(&app, &query(&id, &[])).await["step"], "login");
    let s = step(&app, &query(&id, &[("prompt", "none")])).await;
    let location = s["location"].as_str().unwrap();
    assert_eq!(param(location, "error").as_deref(), Some("login_required"));
    assert_eq!(param(location, "state").as_deref(), Some("st"));
    assert_eq!(
        param(location, "iss").as_deref(),
        Some(
            app.url("")
                .replace("127.0.0.1", "localhost")
                .trim_end_matches('/')
        )
    );

    assert_eq!(app.register("cyd", PASSWORD).await.status(), 201);
    assert_eq!(app.login("cyd", PASSWORD).await.status(), 200);
    // Not allowed yet: consent, or consent_required without a page.
    let s = step(&app, &query(&id, &[])).await;
    assert_eq!(s["step"], "consent");
    assert_eq!(s["client_name"], "Wiki");
    assert_eq!(s["scopes"], json!(["openid", "email", "offline_access"]));
    let s = step(&app, &query(&id, &[("prompt", "none")])).await;
    assert_eq!(
        param(s["location"].as_str().unwrap(), "error").as_deref(),
        Some("consent_required")
    );
    // Denied: access_denied.
    let r = app
        .post(
            "/api/oidc/consent",
            json!({ "query": query(&id, &[]), "allow": false }),
        )
        .await;
    let s: Value = r.json().await.unwrap();
    assert_eq!(
        param(s["location"].as_str().unwrap(), "error").as_deref(),
        Some("access_denied")
    );
    // Allowed once: remembered for these scopes, asked again for more, or with prompt=consent.
    app.post(
        "/api/oidc/consent",
        json!({ "query": query(&id, &[]), "allow": true }),
    )
    .await;
    assert_eq!(step(&app, &query(&id, &[])).await["step"], "redirect");
    assert_eq!(
        step(&app, &query(&id, &[("prompt", "consent")])).await["step"],
        "consent"
    );
    let more = query(&id, &[]).replace("offline_access", "offline_access%20groups");
    assert_eq!(step(&app, &more).await["step"], "consent");

    // A fresh login asked for: the one just made counts; an older one must be confirmed.
    assert_eq!(
        step(&app, &query(&id, &[("prompt", "login")])).await["step"],
        "redirect"
    );
    app.advance(Duration::from_secs(31));
    assert_eq!(
        step(&app, &query(&id, &[("prompt", "login")])).await["step"],
        "reauth"
    );
    assert_eq!(
        step(&app, &query(&id, &[("max_age", "60")])).await["step"],
        "redirect"
    );
    app.advance(Duration::from_secs(120));
    assert_eq!(
        step(&app, &query(&id, &[("max_age", "60")])).await["step"],
        "reauth"
    );
    let r = app
        .post("/api/session/reauth", json!({ "password": PASSWORD }))
        .await;
    assert_eq!(r.status(), 200);
    let s = step(&app, &query(&id, &[("max_age", "60")])).await;
    let code = param(s["location"].as_str().unwrap(), "code").unwrap();
    assert!(!code.is_empty());
    assert_eq!(
        step(&app, &query(&id, &[("prompt", "login")])).await["step"],
        "redirect"
    );
    // A state too long to echo is not echoed; a request too long for a Location header is an
    // error page.
    let long_state = query(&id, &[("request_uri", "x")])
        .replace("state=st", &format!("state={}", "s".repeat(2000)));
    let s = step(&app, &long_state).await;
    let location = s["location"].as_str().unwrap();
    assert_eq!(param(location, "state"), None);
    assert!(location.len() < 1024, "{location}");
    let too_long = format!("{}&x={}", query(&id, &[]), "y".repeat(9000));
    let r = app
        .post("/api/oidc/authorize", json!({ "query": too_long }))
        .await;
    expect_problem(r, 400, "invalid_authorization_request").await;

    // Errors that go back to the app, with its state.
    for (extra, error) in [
        (
            query(&id, &[]).replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (
            query(&id, &[]).replace("scope=openid+", "scope="),
            "invalid_scope",
        ),
        (query(&id, &[("request", "eyJ")]), "request_not_supported"),
        (query(&id, &[("prompt", "none login")]), "invalid_request"),
        (query(&id, &[("max_age", "soon")]), "invalid_request"),
        (
            query(&id, &[("code_challenge_method", "plain")])
                .replace("code_challenge_method=S256&", ""),
            "invalid_request",
        ),
        (
            format!("{}&nonce=again", query(&id, &[])),
            "invalid_request",
        ),
    ] {
        let s = step(&app, &extra).await;
        let location = s["location"]
            .as_str()
            .unwrap_or_else(|| panic!("{extra}: {s}"));
        assert_eq!(param(location, "error").as_deref(), Some(error), "{extra}");
        assert_eq!(param(location, "state").as_deref(), Some("st"), "{extra}");
    }
    // Never back to an address the app did not register, nor for an app that is not one.
    for bad in [
        query(&id, &[]).replace("app.example", "evil.example"),
        query("no-such-app", &[]),
        query(&id, &[]).replace(&format!("client_id={id}"), ""),
        format!(
            "{}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
            query(&id, &[])
        ),
    ] {
        let r = app
            .post("/api/oidc/authorize", json!({ "query": bad }))
            .await;
        expect_problem(r, 400, "invalid_authorization_request").await;
    }
    // The endpoint itself hands over to the sign-in page (whose requests carry the cookie).
    let r = app
        .get(&format!(
            "/oidc/authorize?{}",
            query(&id, &[]).replace("app.example", "evil.example")
        ))
        .await;
    assert_eq!(r.status(), 302);
    assert!(r.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with("/authorize?"));
    // With the cookie and a decision, straight back to the app.
    let r = app
        .get(&format!("/oidc/authorize?{}", query(&id, &[])))
        .await;
    assert_eq!(r.status(), 302);
    assert!(r.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .starts_with(REDIRECT));
}

async fn signing_keys_are_published_before_they_sign(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    let (id, secret) = add_client(&app, &["--trusted"]);
    let secret = secret.unwrap();
    code_for(&app, "dee", &id).await;
    let q = query(&id, &[]);
    let kid = async || {
        let s = step(&app, &q).await;
        let code = param(s["location"].as_str().unwrap(), "code").unwrap();
        let tokens: Value = exchange(&app, &id, &secret, &code, VERIFIER)
            .await
            .json()
            .await
            .unwrap();
        claims(tokens["id_token"].as_str().unwrap()).0["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let rs256 = async || -> Vec<String> {
        let jwks: Value = app.get("/oidc/jwks").await.json().await.unwrap();
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["alg"] == "RS256")
            .map(|k| {
                assert!(k.get("d").is_none(), "no private part");
                k["kid"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    let old = kid().await;
    assert_eq!(rs256().await, std::slice::from_ref(&old));
    let out = app.admin(&["oidc", "rotate-key", "--activate-in", "60"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("published now"), "{said}");
    // Published at once, signing a minute later.
    let both = rs256().await;
    assert_eq!(both.len(), 2);
    assert_eq!(kid().await, old);
    app.advance(Duration::from_secs(61));
    let new = kid().await;
    assert_ne!(new, old);
    assert!(both.contains(&new));
    // The old key stays while tokens it signed may be valid (an hour), then goes.
    app.advance(Duration::from_secs(30 * 60));
    assert_eq!(rs256().await.len(), 2);
    app.advance(Duration::from_secs(31 * 60));
    assert_eq!(rs256().await, [new]);
}

async fn operators_manage_apps_and_groups(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    let out = app.admin(&[
        "client",
        "add",
        "Grafana",
        "--redirect-uri",
        "https://grafana.example/login/generic_oauth",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text
        .lines()
        .find_map(|l| l.strip_prefix("client id:"))
        .unwrap()
        .trim()
        .to_owned();
    let secret = text
        .lines()
        .find_map(|l| l.strip_prefix("client secret:"))
        .unwrap()
        .trim()
        .to_owned();
    assert!(String::from_utf8_lossy(&out.stderr).contains("shown this once"));
    // Shown once: show and list never print it.
    let shown = app.admin(&["client", "show", &id]);
    assert!(!String::from_utf8_lossy(&shown.stdout).contains(&secret));
    let listed = app.admin(&["client", "list", "--json"]);
    let list: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(list[0]["client_id"], id.as_str());
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(&secret));
    // Bad input is a clear refusal.
    for bad in [
        vec!["client", "add", "X", "--redirect-uri", "not a url"],
        vec!["client", "add", "X", "--redirect-uri", "ftp://x.example/cb"],
        vec![
            "client",
            "add",
            "X",
            "--redirect-uri",
            "https://x.example/cb#frag",
        ],
        vec!["client", "show", "nope"],
        vec!["group", "add", "bad name"],
        vec!["group", "add-member", "nogroup", "nobody"],
    ] {
        let out = app.admin(&bad);
        assert!(!out.status.success(), "{bad:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).is_empty(), "{bad:?}");
    }
    // A new secret: the old one stops working.
    let rotated = app.admin(&["client", "rotate-secret", &id, "--json"]);
    let rotated: Value = serde_json::from_slice(&rotated.stdout).unwrap();
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let probe = |s: String| {
        let app = &app;
        let id = id.clone();
        async move {
            form(app, "/oidc/introspect", Some((&id, &s)), &[("token", "x")])
                .await
                .status()
                .as_u16()
        }
    };
    assert_eq!(probe(secret).await, 401);
    assert_eq!(probe(new_secret.to_owned()).await, 200);

    // Groups, and an account's groups in `show`.
    assert_eq!(app.register("eve", PASSWORD).await.status(), 201);
    for args in [
        ["group", "add", "admins"].as_slice(),
        &["group", "add-member", "admins", "EVE"],
        &["group", "add", "ops"],
    ] {
        let out = app.admin(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let shown: Value =
        serde_json::from_slice(&app.admin(&["show", "eve", "--json"]).stdout).unwrap();
    assert_eq!(shown["groups"], json!(["admins"]));
    let groups: Value =
        serde_json::from_slice(&app.admin(&["group", "list", "--json"]).stdout).unwrap();
    assert_eq!(
        groups,
        json!([{ "name": "admins", "members": ["eve"] }, { "name": "ops", "members": [] }])
    );
    assert!(app
        .admin(&["group", "remove-member", "admins", "eve"])
        .status
        .success());
    assert!(!app
        .admin(&["group", "remove-member", "admins", "eve"])
        .status
        .success());

    // Removing an app revokes what it holds.
    let (wiki, wiki_secret) = add_client(&app, &["--trusted"]);
    let wiki_secret = wiki_secret.unwrap();
    let code = code_for(&app, "fay", &wiki).await;
    let tokens: Value = exchange(&app, &wiki, &wiki_secret, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let out = app.admin(&["client", "remove", &wiki]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 grant revoked"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let r = reqwest::Client::new()
        .get(app.url("/oidc/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

async fn introspection_answers_only_the_app_the_token_is_for(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    let (id, secret) = add_client(&app, &["--trusted"]);
    let secret = secret.unwrap();
    let (other, other_secret) = add_client(&app, &[]);
    let code = code_for(&app, "gus", &id).await;
    let tokens: Value = exchange(&app, &id, &secret, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let mine: Value = form(
        &app,
        "/oidc/introspect",
        Some((&id, &secret)),
        &[("token", access)],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (mine["active"].clone(), mine["username"].clone()),
        (json!(true), json!("gus"))
    );
    let theirs: Value = form(
        &app,
        "/oidc/introspect",
        Some((&other, &other_secret.unwrap())),
        &[("token", access)],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(theirs, json!({ "active": false }));
    // Revoking another app's token does nothing; the owner's revocation works.
    let r = form(
        &app,
        "/oidc/revoke",
        Some((&id, &secret)),
        &[("token", "not-a-token")],
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = form(
        &app,
        "/oidc/revoke",
        Some((&id, &secret)),
        &[("token", access)],
    )
    .await;
    assert_eq!(r.status(), 200);
    let gone: Value = form(
        &app,
        "/oidc/introspect",
        Some((&id, &secret)),
        &[("token", access)],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(gone, json!({ "active": false }));
}

async fn what_the_user_or_an_operator_revokes_stays_revoked(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    let (id, secret) = add_client(&app, &["--trusted"]);
    let secret = secret.unwrap();
    let code = code_for(&app, "ivy", &id).await;
    let tokens: Value = exchange(&app, &id, &secret, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let refresh = |token: String| {
        let (app, id, secret) = (&app, id.clone(), secret.clone());
        async move {
            form(
                app,
                "/oidc/token",
                Some((&id, &secret)),
                &[("grant_type", "refresh_token"), ("refresh_token", &token)],
            )
            .await
        }
    };
    // A trusted app shows no page, but is listed, and revocable.
    let apps: Value = app.get("/api/apps").await.json().await.unwrap();
    assert_eq!(apps["apps"][0]["client_id"], id.as_str(), "{apps}");
    // A refresh asking for more than was granted is refused without spending the token.
    let r = form(
        &app,
        "/oidc/token",
        Some((&id, &secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ("scope", "openid groups"),
        ],
    )
    .await;
    expect_oauth(r, 400, "invalid_scope").await;
    let r = refresh(tokens["refresh_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();

    // A password change revokes what apps hold, as it revokes sessions.
    let r = app
        .change_password("ivy", PASSWORD, "another long pass phrase")
        .await;
    assert_eq!(r.status(), 200);
    expect_oauth(
        refresh(tokens["refresh_token"].as_str().unwrap().to_owned()).await,
        400,
        "invalid_grant",
    )
    .await;

    // A code not yet exchanged when the user revokes the app is void.
    assert_eq!(
        app.login("ivy", "another long pass phrase").await.status(),
        200
    );
    let s = step(&app, &query(&id, &[])).await;
    let pending = param(s["location"].as_str().unwrap(), "code").unwrap();
    let r = app
        .post("/api/apps/revoke", json!({ "client_id": id }))
        .await;
    assert_eq!(r.status(), 200);
    expect_oauth(
        exchange(&app, &id, &secret, &pending, VERIFIER).await,
        400,
        "invalid_grant",
    )
    .await;

    // Disabled: and enabling again does not bring the tokens back.
    let s = step(&app, &query(&id, &[])).await;
    let code = param(s["location"].as_str().unwrap(), "code").unwrap();
    let tokens: Value = exchange(&app, &id, &secret, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    assert!(app.admin(&["disable", "ivy"]).status.success());
    assert!(app.admin(&["enable", "ivy"]).status.success());
    expect_oauth(
        refresh(tokens["refresh_token"].as_str().unwrap().to_owned()).await,
        400,
        "invalid_grant",
    )
    .await;

    // One code exchanged twice at once: whoever wins, no token from it stays valid.
    assert_eq!(
        app.login("ivy", "another long pass phrase").await.status(),
        200
    );
    for _ in 0..10 {
        let s = step(&app, &query(&id, &[])).await;
        let code = param(s["location"].as_str().unwrap(), "code").unwrap();
        let (one, two) = tokio::join!(
            exchange(&app, &id, &secret, &code, VERIFIER),
            exchange(&app, &id, &secret, &code, VERIFIER)
        );
        for r in [one, two] {
            if r.status() == 200 {
                let t: Value = r.json().await.unwrap();
                let info = reqwest::Client::new()
                    .get(app.url("/oidc/userinfo"))
                    .bearer_auth(t["access_token"].as_str().unwrap())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(info.status(), 401, "a raced code left its tokens valid");
            }
        }
    }
}

async fn the_user_sees_and_ends_their_sessions(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    assert_eq!(app.register("jon", PASSWORD).await.status(), 201);
    assert_eq!(app.register("kim", PASSWORD).await.status(), 201);
    // Three browsers: this client, a Firefox elsewhere, and another account's.
    assert_eq!(app.login("jon", PASSWORD).await.status(), 200);
    let firefox = app.new_client();
    let login = |client: reqwest::Client, name: &'static str| {
        let url = app.url("/api/login");
        async move {
            client
                .post(url)
                .header(
                    header::USER_AGENT,
                    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                )
                .json(&json!({ "user_name": name, "password": PASSWORD }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(login(firefox.clone(), "jon").await, 200);
    let other = app.new_client();
    assert_eq!(login(other.clone(), "kim").await, 200);
    let listed = async || -> Value { app.get("/api/apps").await.json().await.unwrap() };
    let sessions = listed().await["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let theirs = sessions
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()
        .clone();
    assert_eq!(theirs["browser"], "Firefox on Linux");
    assert_eq!(theirs["ip_prefix"], "127.0.0.0/24");
    assert_eq!(theirs["last_seen_at"], theirs["signed_in_at"]);
    // Used again after a while: last seen moves.
    app.advance(Duration::from_secs(400));
    let r = firefox.get(app.url("/api/session")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let seen = listed().await["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == theirs["id"])
        .unwrap()["last_seen_at"]
        .clone();
    assert_ne!(seen, theirs["signed_in_at"]);
    // Another account's session id ends nothing; this one's ends that browser's.
    let kims: Value = other
        .get(app.url("/api/apps"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kim_id = kims["sessions"][0]["id"].as_str().unwrap().to_owned();
    let r: Value = app
        .post("/api/sessions/revoke", json!({ "id": kim_id }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["message"], "No session was logged out.");
    assert_eq!(
        other
            .get(app.url("/api/session"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r: Value = app
        .post("/api/sessions/revoke", json!({ "id": theirs["id"] }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["message"], "1 session was logged out.");
    assert_eq!(
        firefox
            .get(app.url("/api/session"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // Everywhere else: this one stays.
    assert_eq!(login(firefox.clone(), "jon").await, 200);
    let r: Value = app
        .post("/api/sessions/revoke", json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["message"], "1 session was logged out.");
    assert_eq!(app.get("/api/session").await.status(), 200);
    assert_eq!(listed().await["sessions"].as_array().unwrap().len(), 1);
}

crate::for_each_store!(
    the_user_sees_and_ends_their_sessions,
    what_the_user_or_an_operator_revokes_stays_revoked,
    a_code_works_once_within_a_minute_with_its_verifier,
    apps_authenticate_with_basic_with_post_or_as_public,
    prompts_max_age_and_consent_decide_the_next_step,
    signing_keys_are_published_before_they_sign,
    operators_manage_apps_and_groups,
    introspection_answers_only_the_app_the_token_is_for,
);

/// Two instances on one MongoDB are one provider: a code from one is exchanged at the other,
/// refreshed at the first, and a replayed refresh token revokes the grant on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_mongodb_share_codes_grants_and_keys() {
    let a = TestApp::spawn(Kind::Mongo).await;
    let db = a.config.mongodb_db.clone();
    let key_file = a.config.data_key_file();
    let public_url = format!("http://localhost:{}", a.addr.port());
    let b = TestApp::spawn_with(Kind::Mongo, |c| {
        c.mongodb_db = db;
        c.data_key_file = Some(key_file);
        // One issuer, as behind one load balancer.
        c.public_url = Some(public_url);
    })
    .await;
    let (id, secret) = add_client(&a, &["--trusted"]);
    let secret = secret.unwrap();
    let code = code_for(&a, "hal", &id).await;
    // Hosts are checked: B answers for the shared public name.
    let host = format!("localhost:{}", a.addr.port());
    let on_b = |path: &str| {
        reqwest::Client::new()
            .post(b.url(path))
            .header(header::HOST, &host)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
    };
    let body = |pairs: &[(&str, &str)]| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        s.finish()
    };
    let r = on_b("/oidc/token")
        .basic_auth(&id, Some(&secret))
        .body(body(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let tokens: Value = r.json().await.unwrap();
    // Both publish the same keys; B signed with one of them.
    let jwks_a: Value = a.get("/oidc/jwks").await.json().await.unwrap();
    let jwks_b: Value = reqwest::Client::new()
        .get(b.url("/oidc/jwks"))
        .header(header::HOST, &host)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks_a, jwks_b);
    let kid = claims(tokens["id_token"].as_str().unwrap()).0["kid"].clone();
    assert!(jwks_a["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == kid));
    // Refresh on A; the replay on B revokes everything on both.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let r = form(
        &a,
        "/oidc/token",
        Some((&id, &secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(r.status(), 200);
    let next: Value = r.json().await.unwrap();
    let r = on_b("/oidc/token")
        .basic_auth(&id, Some(&secret))
        .body(body(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
        ]))
        .send()
        .await
        .unwrap();
    expect_oauth(r, 400, "invalid_grant").await;
    let r = reqwest::Client::new()
        .get(a.url("/oidc/userinfo"))
        .bearer_auth(next["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

/// An authorization that raced a password change (its grant and code written after the
/// change swept the account's grants) is void: the grant names the session generation the
/// change moved past. Written here behind the server's back, as the race would leave it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_authorization_racing_a_password_change_gets_no_tokens() {
    use accounts_server::store::{mongo::MongoStore, GrantStore};
    let app = TestApp::spawn(Kind::Mongo).await;
    let (id, secret) = add_client(&app, &["--trusted"]);
    let secret = secret.unwrap();
    let code = code_for(&app, "lee", &id).await;
    let store = MongoStore::connect(&crate::support::mongodb_uri(), &app.config.mongodb_db)
        .await
        .unwrap();
    let hash = accounts_server::ids::hex(&Sha256::digest(code.as_bytes()));
    let token = store.find_token(&hash, app.now()).await.unwrap().unwrap();
    let grant = store
        .find_grant(&token.grant_id, app.now())
        .await
        .unwrap()
        .unwrap();
    let r = app
        .change_password("lee", PASSWORD, "another long pass phrase")
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(store.find_grant(&grant.id, app.now()).await.unwrap(), None);
    // The racing authorization's writes land now.
    store.insert_grant(&grant).await.unwrap();
    store.insert_token(&token, app.now()).await.unwrap();
    let body = expect_oauth(
        exchange(&app, &id, &secret, &code, VERIFIER).await,
        400,
        "invalid_grant",
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("password was changed"),
        "{body}"
    );
}
