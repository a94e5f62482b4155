//! Two-factor login over HTTP, both stores: enrolment, login with and without a code, wrong
//! and replayed codes, the drift window, recovery codes, the lockout, password change and
//! deletion, turning it off, and the operator's reset. Codes are computed here from the secret
//! the server hands out, at the server's time: a test server's manual clock, which a test moves
//! to the next step instead of waiting for it; the wall clock for the real binary.

use std::time::Duration;

use accounts_server::totp::{base32_decode, hotp, step_at, STEP_SECS};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::support::{
    app::{expect_problem, TestApp},
    process::Operated,
    Kind,
};

pub(crate) const PASSWORD: &str = "first pass phrase";

/// The code `steps` steps from the time `at`.
pub(crate) fn code_at(secret: &str, at: OffsetDateTime, steps: i64) -> String {
    let step = step_at(at) + steps;
    format!("{:06}", hotp(&base32_decode(secret).unwrap(), step as u64))
}

/// The code `steps` steps from the test server's time.
pub(crate) fn code(app: &TestApp, secret: &str, steps: i64) -> String {
    code_at(secret, app.now(), steps)
}

/// Moves the test server's clock to the next step (each accepted code uses its step up).
pub(crate) fn next_step(app: &TestApp) {
    app.advance(Duration::from_secs(STEP_SECS as u64));
}

/// For the real binary, on the wall clock: waits until at least 3 s remain in the current
/// step, so a code computed now is still current when the server checks it.
pub(crate) async fn clear_of_a_step_change() {
    let into = OffsetDateTime::now_utc()
        .unix_timestamp()
        .rem_euclid(STEP_SECS);
    if into > STEP_SECS - 3 {
        tokio::time::sleep(Duration::from_secs((STEP_SECS - into + 1) as u64)).await;
    }
}

pub(crate) async fn login(app: &TestApp, code: Option<&str>) -> reqwest::Response {
    let mut body = json!({ "user_name": "ada", "password": PASSWORD });
    if let Some(code) = code {
        body["code"] = json!(code);
    }
    app.post("/api/login", body).await
}

/// Ada, signed in, with two-factor login on: her secret and recovery codes.
pub(crate) async fn enrolled(app: &TestApp) -> (String, Vec<String>) {
    assert_eq!(app.register("Ada", PASSWORD).await.status(), 201);
    assert_eq!(login(app, None).await.status(), 200);
    let session: Value = app.get("/api/session").await.json().await.unwrap();
    assert_eq!(session["totp"], false);

    expect_problem(
        app.post("/api/mfa/totp/setup", json!({ "password": "wrong one" }))
            .await,
        401,
        "invalid_credentials",
    )
    .await;
    expect_problem(
        app.post("/api/mfa/totp/confirm", json!({ "code": "123456" }))
            .await,
        409,
        "mfa_conflict",
    )
    .await;
    let setup = app
        .post("/api/mfa/totp/setup", json!({ "password": PASSWORD }))
        .await;
    assert_eq!(setup.status(), 200);
    let setup: Value = setup.json().await.unwrap();
    let secret = setup["secret"].as_str().unwrap().to_owned();
    assert_eq!(base32_decode(&secret).unwrap().len(), 20, "160 bits");
    let uri = setup["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Accounts:Ada?secret="),
        "{uri}"
    );

    expect_problem(
        app.post("/api/mfa/totp/confirm", json!({ "code": "000000" }))
            .await,
        401,
        "invalid_code",
    )
    .await;
    let confirmed = app
        .post(
            "/api/mfa/totp/confirm",
            json!({ "code": code(app, &secret, 0) }),
        )
        .await;
    assert_eq!(confirmed.status(), 200);
    let codes: Vec<String> =
        serde_json::from_value(confirmed.json::<Value>().await.unwrap()["recovery_codes"].clone())
            .unwrap();
    assert_eq!(codes.len(), 10);
    let session: Value = app.get("/api/session").await.json().await.unwrap();
    assert_eq!(
        (&session["totp"], &session["recovery_codes_left"]),
        (&json!(true), &json!(10))
    );
    (secret, codes)
}

async fn enrolment_and_login_with_codes(kind: Kind) {
    let app = TestApp::spawn_with(kind, |c| c.lockout_threshold = 20).await;
    let (secret, codes) = enrolled(&app).await;

    // Password right, no code: asked for one, no session.
    let r = login(&app, None).await;
    assert!(r.headers().get("set-cookie").is_none());
    expect_problem(r, 401, "mfa_required").await;
    // Password wrong: the usual reply, whatever the code.
    let wrong = app
        .post(
            "/api/login",
            json!({ "user_name": "ada", "password": "not it at all", "code": code(&app, &secret, 0) }),
        )
        .await;
    expect_problem(wrong, 401, "invalid_credentials").await;
    expect_problem(login(&app, Some("000000")).await, 401, "invalid_code").await;
    // The original's route takes the code too.
    let original = app
        .post(
            "/login",
            json!({ "user_name": "ada", "password": PASSWORD }),
        )
        .await;
    expect_problem(original, 401, "mfa_required").await;

    // A code from the next step (drift), then the same code again: replay.
    next_step(&app);
    let ahead = code(&app, &secret, 1);
    assert_eq!(login(&app, Some(&ahead)).await.status(), 200);
    expect_problem(login(&app, Some(&ahead)).await, 401, "invalid_code").await;
    // Two steps back is outside the window.
    expect_problem(
        login(&app, Some(&code(&app, &secret, -2))).await,
        401,
        "invalid_code",
    )
    .await;

    // A recovery code, once (any case, dashes optional).
    let recovery = codes[0].to_uppercase().replace('-', "");
    assert_eq!(login(&app, Some(&recovery)).await.status(), 200);
    expect_problem(login(&app, Some(&codes[0])).await, 401, "invalid_code").await;
    let session: Value = app.get("/api/session").await.json().await.unwrap();
    assert_eq!(session["recovery_codes_left"], 9);

    // Password change and deletion need a factor too.
    let change =
        json!({ "user_name": "ada", "password": PASSWORD, "newpassword": "second pass phrase" });
    expect_problem(
        app.post("/api/user/update", change.clone()).await,
        401,
        "mfa_required",
    )
    .await;
    let mut with_code = change;
    with_code["code"] = json!(codes[1]);
    assert_eq!(app.post("/user/update", with_code).await.status(), 200);
    let delete = json!({ "user_name": "ada", "password": "second pass phrase" });
    expect_problem(
        app.post("/api/user/delete", delete.clone()).await,
        401,
        "mfa_required",
    )
    .await;
    let mut with_code = delete;
    with_code["code"] = json!(codes[2]);
    assert_eq!(app.post("/api/user/delete", with_code).await.status(), 200);
}

async fn wrong_codes_lock_the_account_like_wrong_passwords(kind: Kind) {
    let app = TestApp::spawn_with(kind, |c| c.lockout_threshold = 3).await;
    let (secret, _) = enrolled(&app).await;
    for _ in 0..3 {
        expect_problem(login(&app, Some("000000")).await, 401, "invalid_code").await;
    }
    next_step(&app);
    let locked = login(&app, Some(&code(&app, &secret, 0))).await;
    expect_problem(locked, 429, "rate_limited").await;
}

async fn totp_is_turned_off_with_password_and_code(kind: Kind) {
    let app = TestApp::spawn_with(kind, |c| c.lockout_threshold = 20).await;
    let (secret, codes) = enrolled(&app).await;
    expect_problem(
        app.post("/api/mfa/totp/setup", json!({ "password": PASSWORD }))
            .await,
        409,
        "mfa_conflict",
    )
    .await;
    let off = |code: String| {
        app.post(
            "/api/mfa/totp/disable",
            json!({ "password": PASSWORD, "code": code }),
        )
    };
    expect_problem(off("000000".into()).await, 401, "invalid_code").await;
    assert_eq!(off(codes[3].clone()).await.status(), 204);
    expect_problem(off(code(&app, &secret, 0)).await, 409, "mfa_conflict").await;
    assert_eq!(login(&app, None).await.status(), 200);
    let session: Value = app.get("/api/session").await.json().await.unwrap();
    assert_eq!(
        (&session["totp"], &session["recovery_codes_left"]),
        (&json!(false), &json!(0))
    );
}

async fn the_routes_need_a_session(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    for (path, body) in [
        ("/api/mfa/totp/setup", json!({ "password": PASSWORD })),
        ("/api/mfa/totp/confirm", json!({ "code": "123456" })),
        (
            "/api/mfa/totp/disable",
            json!({ "password": PASSWORD, "code": "123456" }),
        ),
    ] {
        expect_problem(app.post(path, body).await, 401, "unauthenticated").await;
    }
}

/// Ada, signed in, with a set-up waiting for its code: the pending secret.
async fn setting_up(app: &TestApp) -> String {
    assert_eq!(app.register("Ada", PASSWORD).await.status(), 201);
    assert_eq!(login(app, None).await.status(), 200);
    let setup: Value = app
        .post("/api/mfa/totp/setup", json!({ "password": PASSWORD }))
        .await
        .json()
        .await
        .unwrap();
    setup["secret"].as_str().unwrap().to_owned()
}

/// Confirming a set-up is no code oracle: wrong codes count against the account like wrong
/// passwords...
async fn wrong_set_up_codes_lock_the_account(kind: Kind) {
    let app = TestApp::spawn_with(kind, |c| c.lockout_threshold = 3).await;
    let secret = setting_up(&app).await;
    for _ in 0..3 {
        let wrong = app
            .post("/api/mfa/totp/confirm", json!({ "code": "000000" }))
            .await;
        expect_problem(wrong, 401, "invalid_code").await;
    }
    let right = json!({ "code": code(&app, &secret, 0) });
    expect_problem(
        app.post("/api/mfa/totp/confirm", right).await,
        429,
        "rate_limited",
    )
    .await;
    expect_problem(login(&app, None).await, 429, "rate_limited").await;
}

/// ...and five wrong codes cancel the set-up: the right code of that secret no longer works.
async fn five_wrong_set_up_codes_cancel_the_set_up(kind: Kind) {
    let app = TestApp::spawn_with(kind, |c| c.lockout_threshold = 20).await;
    let secret = setting_up(&app).await;
    for _ in 0..4 {
        let wrong = app
            .post("/api/mfa/totp/confirm", json!({ "code": "000000" }))
            .await;
        expect_problem(wrong, 401, "invalid_code").await;
    }
    let fifth = app
        .post("/api/mfa/totp/confirm", json!({ "code": "000000" }))
        .await;
    expect_problem(fifth, 409, "mfa_conflict").await;
    let right = json!({ "code": code(&app, &secret, 0) });
    expect_problem(
        app.post("/api/mfa/totp/confirm", right).await,
        409,
        "mfa_conflict",
    )
    .await;
    let session: Value = app.get("/api/session").await.json().await.unwrap();
    assert_eq!(session["totp"], false);
}

/// The code step costs no password attempt: a right password without a code gets a ticket
/// (not a failure), and the code goes with the ticket, limited per ticket, not by the
/// account's shared budget, which a guesser may keep at its threshold.
async fn the_code_step_goes_with_a_ticket_not_the_shared_budget(kind: Kind) {
    let app = TestApp::spawn_with(kind, |c| c.lockout_threshold = 3).await;
    let (secret, _) = enrolled(&app).await;
    next_step(&app);
    let owner = reqwest::Client::new();
    let ask = |body: Value| owner.post(app.url("/api/login")).json(&body).send();
    // A guesser brings the shared budget to threshold - 1.
    for _ in 0..2 {
        let guess = app
            .new_client()
            .post(app.url("/api/login"))
            .json(&json!({ "user_name": "ada", "password": "a guess" }))
            .send()
            .await
            .unwrap();
        expect_problem(guess, 401, "invalid_credentials").await;
    }
    let first = ask(json!({ "user_name": "ada", "password": PASSWORD }))
        .await
        .unwrap();
    let problem = expect_problem(first, 401, "mfa_required").await;
    let ticket = problem["login_ticket"].as_str().unwrap().to_owned();
    // Wrong codes spend the ticket's tries, not the shared budget.
    for _ in 0..2 {
        let wrong = ask(json!({ "login_ticket": ticket, "code": "000000" }))
            .await
            .unwrap();
        expect_problem(wrong, 401, "invalid_code").await;
    }
    // Another browser (this one, known to the account from enrolling) cannot use it.
    let elsewhere = app
        .post(
            "/api/login",
            json!({ "login_ticket": ticket, "code": code(&app, &secret, 0) }),
        )
        .await;
    expect_problem(elsewhere, 401, "invalid_login_ticket").await;
    let done = ask(json!({ "login_ticket": ticket, "code": code(&app, &secret, 0) }))
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    // Once only.
    next_step(&app);
    let again = ask(json!({ "login_ticket": ticket, "code": code(&app, &secret, 0) }))
        .await
        .unwrap();
    expect_problem(again, 401, "invalid_login_ticket").await;
    // Its "used" mark cannot be taken out through a passkey registration's finish.
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(ticket.split('.').next().unwrap())
        .unwrap();
    let id = serde_json::from_slice::<Value>(&payload).unwrap()["id"].clone();
    let taken = app
        .post(
            "/api/passkeys/register/finish",
            json!({ "ceremony": format!("used-ticket:{}", id.as_str().unwrap()),
                    "name": "x", "credential": {} }),
        )
        .await;
    expect_problem(taken, 400, "invalid_passkey").await;
    next_step(&app);
    let still_used = ask(json!({ "login_ticket": ticket, "code": code(&app, &secret, 0) }))
        .await
        .unwrap();
    expect_problem(still_used, 401, "invalid_login_ticket").await;
    // Codes tried with tickets count against the account across tickets (threshold 3):
    // fetching ticket after ticket gives no more guesses.
    let mut ticket = Value::Null;
    for tried in 0..4 {
        if tried % 2 == 0 {
            let first = ask(json!({ "user_name": "ada", "password": PASSWORD }))
                .await
                .unwrap();
            ticket = expect_problem(first, 401, "mfa_required").await["login_ticket"].clone();
        }
        let wrong = ask(json!({ "login_ticket": ticket, "code": "000000" }))
            .await
            .unwrap();
        let expected = if tried < 3 {
            (401, "invalid_code")
        } else {
            (429, "rate_limited")
        };
        expect_problem(wrong, expected.0, expected.1).await;
    }
}

/// A ticket gives at most five codes, and a revocation voids it.
async fn a_ticket_gives_five_codes_and_a_revocation_voids_it(kind: Kind) {
    let app = TestApp::spawn_with(kind, |c| c.lockout_threshold = 20).await;
    let (secret, _) = enrolled(&app).await;
    next_step(&app);
    let owner = reqwest::Client::new();
    let ask = |body: Value| owner.post(app.url("/api/login")).json(&body).send();
    let ticket = |reply: reqwest::Response| async {
        expect_problem(reply, 401, "mfa_required").await["login_ticket"].clone()
    };
    let first = ticket(
        ask(json!({ "user_name": "ada", "password": PASSWORD }))
            .await
            .unwrap(),
    )
    .await;
    for _ in 0..5 {
        let wrong = ask(json!({ "login_ticket": first, "code": "000000" }))
            .await
            .unwrap();
        expect_problem(wrong, 401, "invalid_code").await;
    }
    let sixth = ask(json!({ "login_ticket": first, "code": code(&app, &secret, 0) }))
        .await
        .unwrap();
    expect_problem(sixth, 401, "invalid_login_ticket").await;

    let second = ticket(
        ask(json!({ "user_name": "ada", "password": PASSWORD }))
            .await
            .unwrap(),
    )
    .await;
    let out = app.admin(&["revoke-sessions", "ada"]);
    assert!(out.status.success(), "{out:?}");
    let revoked = ask(json!({ "login_ticket": second, "code": code(&app, &secret, 0) }))
        .await
        .unwrap();
    expect_problem(revoked, 401, "invalid_login_ticket").await;
    // The one-request form still works.
    let whole = login(&app, Some(&code(&app, &secret, 0))).await;
    assert_eq!(whole.status(), 200);
}

crate::for_each_store!(
    the_code_step_goes_with_a_ticket_not_the_shared_budget,
    a_ticket_gives_five_codes_and_a_revocation_voids_it,
    wrong_set_up_codes_lock_the_account,
    five_wrong_set_up_codes_cancel_the_set_up,
    enrolment_and_login_with_codes,
    wrong_codes_lock_the_account_like_wrong_passwords,
    totp_is_turned_off_with_password_and_code,
    the_routes_need_a_session,
);

/// The operator's reset for a user who lost their device, through the real binary and its
/// socket: two-factor login off, sessions revoked, an audit event.
async fn the_operator_resets_a_lost_second_factor(kind: Kind) {
    let server = Operated::start(kind, &[]).await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let post = |path: &str, body: Value| client.post(server.url(path)).json(&body).send();
    assert_eq!(
        post(
            "/api/user/add",
            json!({ "user_name": "Ada", "password": PASSWORD })
        )
        .await
        .unwrap()
        .status(),
        201
    );
    let credentials = json!({ "user_name": "ada", "password": PASSWORD });
    assert_eq!(
        post("/api/login", credentials.clone())
            .await
            .unwrap()
            .status(),
        200
    );
    let setup: Value = post("/api/mfa/totp/setup", json!({ "password": PASSWORD }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = setup["secret"].as_str().unwrap().to_owned();
    clear_of_a_step_change().await;
    let code = code_at(&secret, OffsetDateTime::now_utc(), 0);
    let confirmed = post("/api/mfa/totp/confirm", json!({ "code": code }))
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    assert!(server
        .admin_ok(&["show", "ada"])
        .contains("two-factor login:  on"));

    let out = server.admin_ok(&["reset-mfa", "ADA"]);
    assert!(
        out.contains("Removed two-factor login and passkeys from Ada; 1 session revoked"),
        "{out}"
    );
    let session = client.get(server.url("/api/session")).send().await.unwrap();
    assert_eq!(session.status(), 401);
    assert_eq!(post("/api/login", credentials).await.unwrap().status(), 200);
    let show: Value = serde_json::from_str(&server.admin_ok(&["show", "ada", "--json"])).unwrap();
    assert_eq!(show["totp"], false);
    assert_eq!(
        server.admin(&["reset-mfa", "nobody"]).status.code(),
        Some(1)
    );
    assert!(server
        .log_text()
        .lines()
        .any(|l| l.contains("action=\"reset_mfa\"") && l.contains("who=\"admin socket\"")));
}

mod operator {
    crate::for_each_store!(the_operator_resets_a_lost_second_factor);
    use super::the_operator_resets_a_lost_second_factor;
}
