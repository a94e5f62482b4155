//! Passkeys over HTTP, both stores: what the server asks the browser for, and every way a
//! ceremony is refused. Registration and login with a real authenticator run in Chromium's
//! virtual authenticator (`e2e/tests/passkeys.test.js`), on both stores too.

use serde_json::{json, Value};

use crate::support::{
    app::{expect_problem, TestApp},
    Kind,
};

const PASSWORD: &str = "first pass phrase";

/// Passkeys need a domain: the in-process test server's public URL is http://localhost:<port>.
async fn signed_in(kind: Kind) -> TestApp {
    let app = TestApp::spawn(kind).await;
    assert_eq!(app.register("Ada", PASSWORD).await.status(), 201);
    assert_eq!(app.login("ada", PASSWORD).await.status(), 200);
    app
}

async fn registration_asks_for_a_discoverable_user_verified_credential(kind: Kind) {
    let app = signed_in(kind).await;
    expect_problem(
        app.post(
            "/api/passkeys/register/start",
            json!({ "password": "wrong one" }),
        )
        .await,
        401,
        "invalid_credentials",
    )
    .await;
    let start = app
        .post(
            "/api/passkeys/register/start",
            json!({ "password": PASSWORD }),
        )
        .await;
    assert_eq!(start.status(), 200);
    let start: Value = start.json().await.unwrap();
    let options = &start["options"]["publicKey"];
    assert_eq!(options["rp"]["id"], "localhost", "{options}");
    assert_eq!(options["user"]["name"], "ada");
    assert_eq!(options["user"]["displayName"], "Ada");
    let selection = &options["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required", "{selection}");
    assert_eq!(selection["userVerification"], "required", "{selection}");
    assert!(options["challenge"].as_str().is_some_and(|c| c.len() >= 22));

    // A forged answer is refused, and the ceremony is then used up.
    let ceremony = start["ceremony"].as_str().unwrap();
    let forged = json!({ "ceremony": ceremony, "name": "Laptop", "credential": {
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": { "attestationObject": "AAAA", "clientDataJSON": "AAAA" } } });
    expect_problem(
        app.post("/api/passkeys/register/finish", forged.clone())
            .await,
        400,
        "invalid_passkey",
    )
    .await;
    expect_problem(
        app.post("/api/passkeys/register/finish", forged).await,
        400,
        "invalid_passkey",
    )
    .await;
    let list: Value = app.get("/api/passkeys").await.json().await.unwrap();
    assert_eq!(list, json!([]));
    let session: Value = app.get("/api/session").await.json().await.unwrap();
    assert_eq!(session["passkeys"], 0);
}

async fn a_passkey_login_without_a_valid_answer_is_refused_alike(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    let start = app.post("/api/passkeys/login/start", json!({})).await;
    assert_eq!(start.status(), 200);
    let start: Value = start.json().await.unwrap();
    let options = &start["options"]["publicKey"];
    assert_eq!(options["rpId"], "localhost");
    assert_eq!(options["userVerification"], "required");
    assert!(
        options["allowCredentials"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{options}"
    );
    assert!(
        start["options"].get("mediation").is_none(),
        "a button, not autofill"
    );

    let answer = |ceremony: &str| {
        json!({ "ceremony": ceremony, "credential": {
            "id": "AAAA", "rawId": "AAAA", "type": "public-key",
            "response": { "authenticatorData": "AAAA", "clientDataJSON": "AAAA",
                          "signature": "AAAA", "userHandle": "AAAAAAAAAAAAAAAAAAAAAA" } } })
    };
    let ceremony = start["ceremony"].as_str().unwrap();
    let unknown_user = app
        .post("/api/passkeys/login/finish", answer(ceremony))
        .await;
    assert!(unknown_user.headers().get("set-cookie").is_none());
    let first = expect_problem(unknown_user, 400, "invalid_passkey").await;
    let used = expect_problem(
        app.post("/api/passkeys/login/finish", answer(ceremony))
            .await,
        400,
        "invalid_passkey",
    )
    .await;
    let unknown = expect_problem(
        app.post("/api/passkeys/login/finish", answer("nope")).await,
        400,
        "invalid_passkey",
    )
    .await;
    assert_eq!(first["detail"], used["detail"]);
    assert_eq!(first["detail"], unknown["detail"]);
    let garbage = app
        .post(
            "/api/passkeys/login/finish",
            json!({ "ceremony": "x", "credential": 42 }),
        )
        .await;
    expect_problem(garbage, 400, "invalid_passkey").await;
}

async fn passkey_management_needs_a_session(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    expect_problem(app.get("/api/passkeys").await, 401, "unauthenticated").await;
    expect_problem(
        app.post(
            "/api/passkeys/register/start",
            json!({ "password": PASSWORD }),
        )
        .await,
        401,
        "unauthenticated",
    )
    .await;
    let removed = app
        .client
        .delete(app.url("/api/passkeys/AAAA"))
        .send()
        .await
        .unwrap();
    expect_problem(removed, 401, "unauthenticated").await;
    let app = signed_in(kind).await;
    let removed = app
        .client
        .delete(app.url("/api/passkeys/AAAA"))
        .send()
        .await
        .unwrap();
    expect_problem(removed, 404, "not_found").await;
}

/// Anyone may start a passkey login, from any page: a start writes nothing to the store and
/// spends the caller's per-IP login budget.
async fn cross_site_login_starts_leave_the_store_unchanged(kind: Kind) {
    let app = TestApp::spawn_with(kind, |c| c.ip_rate_limit = 20).await;
    let before = app.count_records("ceremonies").await;
    let client = reqwest::Client::new();
    let (mut served, mut limited) = (0, 0);
    for _ in 0..300 {
        let reply = client
            .post(app.url("/api/passkeys/login/start"))
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap();
        match reply.status().as_u16() {
            200 => served += 1,
            429 => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((served, limited), (20, 280));
    assert_eq!(app.count_records("ceremonies").await, before);
}

/// A registration's ceremony id is not a login's, and a login ceremony works once only.
async fn a_registration_ceremony_cannot_finish_a_login(kind: Kind) {
    let app = signed_in(kind).await;
    let start: Value = app
        .post(
            "/api/passkeys/register/start",
            json!({ "password": PASSWORD }),
        )
        .await
        .json()
        .await
        .unwrap();
    let answer = json!({ "ceremony": start["ceremony"], "credential": {
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": { "authenticatorData": "AAAA", "clientDataJSON": "AAAA",
                      "signature": "AAAA", "userHandle": "AAAAAAAAAAAAAAAAAAAAAA" } } });
    expect_problem(
        app.post("/api/passkeys/login/finish", answer).await,
        400,
        "invalid_passkey",
    )
    .await;
    // And a login ceremony cannot finish a registration.
    let login: Value = app
        .post("/api/passkeys/login/start", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let forged = json!({ "ceremony": login["ceremony"], "name": "Laptop", "credential": {
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": { "attestationObject": "AAAA", "clientDataJSON": "AAAA" } } });
    expect_problem(
        app.post("/api/passkeys/register/finish", forged).await,
        400,
        "invalid_passkey",
    )
    .await;
}

crate::for_each_store!(
    cross_site_login_starts_leave_the_store_unchanged,
    a_registration_ceremony_cannot_finish_a_login,
    registration_asks_for_a_discoverable_user_verified_credential,
    a_passkey_login_without_a_valid_answer_is_refused_alike,
    passkey_management_needs_a_session,
);

/// A public URL naming an IP address cannot be a relying party: passkeys say so, the rest
/// works.
#[tokio::test]
async fn without_a_domain_passkeys_are_unavailable_and_say_why() {
    let app = TestApp::spawn_with(Kind::Sqlite, |c| {
        c.public_url = Some("http://192.0.2.7:5000".into());
    })
    .await;
    // It answers to its public host only.
    let host = [("host", "192.0.2.7:5000")];
    let r = app
        .post_with("/api/passkeys/login/start", json!({}), &host)
        .await;
    let body = expect_problem(r, 503, "passkeys_unavailable").await;
    assert!(
        body["detail"].as_str().unwrap().contains("--public-url"),
        "{body}"
    );
    let credentials = json!({"user_name": "Ada", "password": PASSWORD});
    let r = app.post_with("/api/user/add", credentials, &host).await;
    assert_eq!(r.status(), 201);
}
