//! Re-authentication over HTTP, both stores: sensitive changes (passkeys, two-factor login)
//! need a login or a re-authentication within the window, else `403 reauth_required`; the
//! password (and code) or a passkey renews it; an operator's reset link takes the passkeys
//! away. The server's clock is the test's, so the window passes without waiting.

use std::time::Duration;

use accounts_server::store::PasskeyRecord;
use serde_json::{json, Value};

use crate::support::{
    app::{expect_problem, TestApp},
    Kind,
};

const PASSWORD: &str = "first pass phrase";
/// The default window, and a second more.
const PAST_THE_WINDOW: Duration = Duration::from_secs(301);

async fn signed_in(kind: Kind) -> TestApp {
    let app = TestApp::spawn(kind).await;
    assert_eq!(app.register("Ada", PASSWORD).await.status(), 201);
    assert_eq!(app.login("ada", PASSWORD).await.status(), 200);
    app
}

async fn reauth_until(app: &TestApp) -> time::OffsetDateTime {
    let session: Value = app.get("/api/session").await.json().await.unwrap();
    let until = session["reauth_until"].as_str().expect("reauth_until");
    time::OffsetDateTime::parse(until, &time::format_description::well_known::Rfc3339).unwrap()
}

async fn delete(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.delete(app.url(path)).send().await.unwrap()
}

async fn sensitive_changes_need_a_recent_authentication(kind: Kind) {
    let app = signed_in(kind).await;
    assert_eq!(
        reauth_until(&app).await,
        app.now() + Duration::from_secs(300)
    );
    // Just logged in: no password needed.
    let setup = app.post("/api/mfa/totp/setup", json!({})).await;
    assert_eq!(setup.status(), 200);

    app.advance(PAST_THE_WINDOW);
    assert!(reauth_until(&app).await < app.now());
    for response in [
        app.post("/api/mfa/totp/setup", json!({})).await,
        app.post("/api/passkeys/register/start", json!({})).await,
        delete(&app, "/api/passkeys/some-id").await,
    ] {
        let problem = expect_problem(response, 403, "reauth_required").await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("/api/session/reauth"),
            "{problem}"
        );
    }
    // A code is no proof without the password.
    expect_problem(
        app.post("/api/passkeys/register/start", json!({ "code": "123456" }))
            .await,
        400,
        "missing_field",
    )
    .await;

    // Re-authenticate: a wrong password is a failed login; the right one renews the window.
    expect_problem(
        app.post("/api/session/reauth", json!({ "password": "wrong one" }))
            .await,
        401,
        "invalid_credentials",
    )
    .await;
    let renewed = app
        .post("/api/session/reauth", json!({ "password": PASSWORD }))
        .await;
    assert_eq!(renewed.status(), 200);
    let renewed: Value = renewed.json().await.unwrap();
    assert!(renewed["reauth_until"].is_string(), "{renewed}");
    assert_eq!(
        reauth_until(&app).await,
        app.now() + Duration::from_secs(300)
    );
    assert_eq!(
        app.post("/api/mfa/totp/setup", json!({})).await.status(),
        200
    );
    assert_eq!(
        app.post("/api/passkeys/register/start", json!({}))
            .await
            .status(),
        200
    );
    expect_problem(
        delete(&app, "/api/passkeys/some-id").await,
        404,
        "not_found",
    )
    .await;

    // The password sent along with the change clears it too, and renews the window.
    app.advance(PAST_THE_WINDOW);
    assert_eq!(
        app.post("/api/mfa/totp/setup", json!({ "password": PASSWORD }))
            .await
            .status(),
        200
    );
    let started = app.post("/api/passkeys/register/start", json!({})).await;
    assert_eq!(started.status(), 200);
    let started: Value = started.json().await.unwrap();

    // What was started within the window is not finished past it: a passkey registration
    // (its ceremony lives longer than the window) and a two-factor set-up.
    app.advance(PAST_THE_WINDOW);
    let finish = app
        .post(
            "/api/passkeys/register/finish",
            json!({"ceremony": started["ceremony"], "name": "Late", "credential": {}}),
        )
        .await;
    expect_problem(finish, 403, "reauth_required").await;
    let confirm = app
        .post("/api/mfa/totp/confirm", json!({ "code": "123456" }))
        .await;
    expect_problem(confirm, 403, "reauth_required").await;
}

/// Another session of the account (another browser, or a stolen cookie) is not cleared by
/// this one's re-authentication.
async fn a_re_authentication_clears_only_its_own_session(kind: Kind) {
    let app = signed_in(kind).await;
    let other = app.new_client();
    let login = other
        .post(app.url("/api/login"))
        .json(&json!({ "user_name": "ada", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    app.advance(PAST_THE_WINDOW);
    assert_eq!(
        app.post("/api/session/reauth", json!({ "password": PASSWORD }))
            .await
            .status(),
        200
    );
    let refused = other
        .post(app.url("/api/mfa/totp/setup"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_problem(refused, 403, "reauth_required").await;
    assert_eq!(
        app.post("/api/mfa/totp/setup", json!({})).await.status(),
        200
    );
}

/// With two-factor login on, re-authenticating takes the code too.
async fn a_re_authentication_asks_for_the_second_factor(kind: Kind) {
    let app = signed_in(kind).await;
    let setup: Value = app
        .post("/api/mfa/totp/setup", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let code = |app: &TestApp| crate::mfa::code(app, &secret, 0);
    let on = app
        .post("/api/mfa/totp/confirm", json!({ "code": code(&app) }))
        .await;
    assert_eq!(on.status(), 200);
    app.advance(PAST_THE_WINDOW);
    expect_problem(
        app.post("/api/mfa/totp/disable", json!({})).await,
        403,
        "reauth_required",
    )
    .await;
    expect_problem(
        app.post("/api/session/reauth", json!({ "password": PASSWORD }))
            .await,
        401,
        "mfa_required",
    )
    .await;
    expect_problem(
        app.post(
            "/api/session/reauth",
            json!({ "password": PASSWORD, "code": "000000" }),
        )
        .await,
        401,
        "invalid_code",
    )
    .await;
    assert_eq!(
        app.post(
            "/api/session/reauth",
            json!({ "password": PASSWORD, "code": code(&app) }),
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        app.post("/api/mfa/totp/disable", json!({})).await.status(),
        204
    );
    let session: Value = app.get("/api/session").await.json().await.unwrap();
    assert_eq!(session["totp"], false);
}

/// A passkey assertion re-authenticates only with a ceremony of this server and a passkey
/// of this account; anything else is `invalid_passkey`, and it needs a session.
async fn a_passkey_re_authentication_refuses_what_does_not_verify(kind: Kind) {
    let app = signed_in(kind).await;
    let start: Value = app
        .post("/api/passkeys/login/start", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let forged = json!({ "ceremony": start["ceremony"], "credential": {
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": { "authenticatorData": "AAAA", "clientDataJSON": "AAAA", "signature": "AAAA",
                      "userHandle": "AAAA" } } });
    expect_problem(
        app.post("/api/session/reauth/passkey", forged.clone())
            .await,
        400,
        "invalid_passkey",
    )
    .await;
    let made_up = json!({ "ceremony": "0".repeat(32), "credential": forged["credential"] });
    expect_problem(
        app.post("/api/session/reauth/passkey", made_up).await,
        400,
        "invalid_passkey",
    )
    .await;
    let stranger = app
        .new_client()
        .post(app.url("/api/session/reauth/passkey"))
        .json(&forged)
        .send()
        .await
        .unwrap();
    expect_problem(stranger, 401, "unauthenticated").await;
}

/// Passkeys in the store as if registered (a real registration needs an authenticator: see
/// `e2e/tests/passkeys.test.js`).
async fn with_passkeys(mut app: TestApp, name: &str, ids: &[&str]) -> TestApp {
    let store = app.stop_and_open_store().await;
    let user = store.find_user(name).await.unwrap().expect("the account");
    for id in ids {
        store
            .insert_passkey(&PasskeyRecord {
                credential_id: (*id).to_owned(),
                user_id: user.id.clone(),
                name: format!("Key {id}"),
                passkey: "{}".into(),
                created_at: app.now(),
                last_used_at: None,
            })
            .await
            .unwrap();
    }
    drop(store);
    app.restart_with(|_| {}).await
}

/// An operator's reset link is for an account someone else may have had: their passkey must
/// not outlive the new password. `--keep-passkeys` keeps them.
async fn a_reset_link_removes_the_passkeys_unless_kept(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    assert_eq!(app.register("Ada", PASSWORD).await.status(), 201);
    let app = with_passkeys(app, "ada", &["k1", "k2"]).await;
    assert_eq!(app.login("ada", PASSWORD).await.status(), 200);
    let listed: Value = app.get("/api/passkeys").await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert!(listed[0]["created_at"].is_string() && listed[0]["last_used_at"].is_null());

    let out = app.admin(&["reset-link", "ada", "--keep-passkeys"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("Its 2 passkeys were kept (--keep-passkeys)."),
        "{out:?}"
    );
    assert_eq!(app.count_records("passkeys").await, 2);

    let out = app.admin(&["reset-link", "ada"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("Its 2 passkeys were removed."), "{said}");
    assert_eq!(app.count_records("passkeys").await, 0);
    let listed: Value = app.get("/api/passkeys").await.json().await.unwrap();
    assert_eq!(listed, json!([]));

    // One planted before the owner uses the link goes when the link is used.
    let link = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let token = link.split("#token=").nth(1).expect("a token in the link");
    let app = with_passkeys(app, "ada", &["planted"]).await;
    assert_eq!(app.count_records("passkeys").await, 1);
    let reset = app
        .post(
            "/api/password/reset",
            json!({"token": token, "newpassword": "a brand new pass phrase"}),
        )
        .await;
    assert_eq!(reset.status(), 200);
    assert_eq!(app.count_records("passkeys").await, 0);
}

crate::for_each_store!(
    sensitive_changes_need_a_recent_authentication,
    a_re_authentication_clears_only_its_own_session,
    a_re_authentication_asks_for_the_second_factor,
    a_passkey_re_authentication_refuses_what_does_not_verify,
    a_reset_link_removes_the_passkeys_unless_kept,
);
