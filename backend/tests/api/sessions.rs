//! Login, sessions, logout, password expiry.

use std::time::Duration;

use serde_json::Value;

use crate::for_each_store;
use crate::support::{
    app::{expect_problem, session_cookie, TestApp},
    Kind,
};

async fn login_sets_a_strict_http_only_cookie_and_opens_a_session(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    app.register("Ivy", "yvi password").await;
    let r = app.login("IVY", "yvi password").await;
    assert_eq!(r.status(), 200);
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set_cookie.contains(attr), "{set_cookie}");
    }
    let token = set_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1;
    assert_eq!(token.len(), 64, "256-bit token, hex");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user_name"], "Ivy");
    assert_eq!(body["message"], "User Ivy logged in");
    let expires_at = body["expires_at"].as_str().unwrap();
    assert!(expires_at.ends_with('Z'), "RFC 3339 UTC: {expires_at}");

    let r = app.get("/api/session").await;
    assert_eq!(r.status(), 200);
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["user_name"], "Ivy");
    assert_eq!(s["expires_at"], expires_at);
    for key in ["created_at", "password_changed_at"] {
        let t = s[key].as_str().unwrap();
        assert!(t.ends_with('Z') && t.contains('T'), "{key}: {t}");
    }
}

async fn unknown_user_and_wrong_password_get_the_same_reply(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    app.register("jack", "kcaj password").await;
    let wrong = app.login("jack", "not the password").await;
    let unknown = app.login("nobody", "not the password").await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.status(), unknown.status());
    assert!(wrong.headers().get("set-cookie").is_none());
    let (mut a, mut b): (Value, Value) =
        (wrong.json().await.unwrap(), unknown.json().await.unwrap());
    // Identical but for the request's own id.
    assert_ne!(a["request_id"], b["request_id"]);
    a.as_object_mut().unwrap().remove("request_id");
    b.as_object_mut().unwrap().remove("request_id");
    assert_eq!(a, b, "the bodies must be identical");
    assert_eq!(a["code"], "invalid_credentials");
}

async fn login_never_applies_the_new_password_policy(kind: Kind) {
    // An account made under a looser policy can still log in after the policy is tightened.
    let app = TestApp::spawn(kind).await;
    assert_eq!(app.register("kim", "8chars!!").await.status(), 201);
    let app = app.restart_with(|c| c.password_min_length = 20).await;
    assert_eq!(app.login("kim", "8chars!!").await.status(), 200);
    // But new passwords must follow it.
    expect_problem(
        app.register("lou", "only fifteen ch").await,
        400,
        "invalid_password",
    )
    .await;
    // An empty password is not worth a hash.
    expect_problem(app.login("kim", "").await, 400, "invalid_password").await;
}

async fn logout_revokes_the_session(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    app.register("lily", "ylil password").await;
    let cookie = session_cookie(&app.login("lily", "ylil password").await);
    assert_eq!(
        app.get_with_cookie("/api/session", &cookie).await.status(),
        200
    );
    let r = app
        .client
        .post(app.url("/api/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    // The token itself is dead, not just forgotten by the browser.
    expect_problem(
        app.get_with_cookie("/api/session", &cookie).await,
        401,
        "unauthenticated",
    )
    .await;
    // Logging out twice is fine.
    let r = app
        .client
        .post(app.url("/api/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

async fn a_new_login_rotates_the_session(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    app.register("mona", "anom password").await;
    let first = session_cookie(&app.login("mona", "anom password").await);
    let second = session_cookie(&app.login("mona", "anom password").await);
    assert_ne!(first, second);
    expect_problem(
        app.get_with_cookie("/api/session", &first).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_eq!(
        app.get_with_cookie("/api/session", &second).await.status(),
        200
    );
}

async fn no_or_forged_cookie_is_unauthenticated(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    expect_problem(app.get("/api/session").await, 401, "unauthenticated").await;
    let forged = format!("session={}", "a".repeat(64));
    expect_problem(
        app.get_with_cookie("/api/session", &forged).await,
        401,
        "unauthenticated",
    )
    .await;
    expect_problem(
        app.get_with_cookie("/api/session", "session=x").await,
        401,
        "unauthenticated",
    )
    .await;
}

async fn sessions_expire(kind: Kind) {
    let app = TestApp::spawn_with(kind, |c| c.session_ttl = 3600).await;
    app.register("nina", "anin password").await;
    let cookie = session_cookie(&app.login("nina", "anin password").await);
    app.advance(Duration::from_millis(3_599_999));
    assert_eq!(
        app.get_with_cookie("/api/session", &cookie).await.status(),
        200
    );
    app.advance(Duration::from_millis(1));
    expect_problem(
        app.get_with_cookie("/api/session", &cookie).await,
        401,
        "unauthenticated",
    )
    .await;
}

async fn an_expired_password_must_be_changed_before_login(kind: Kind) {
    let app = TestApp::spawn_with(kind, |c| c.password_max_age = 86_400).await;
    app.register("omar", "ramo password").await;
    app.advance(Duration::from_secs(86_400));
    assert_eq!(app.login("omar", "ramo password").await.status(), 200);
    app.advance(Duration::from_millis(1));

    let r = app.login("omar", "ramo password").await;
    assert!(
        r.headers().get("set-cookie").is_none(),
        "no session for an expired password"
    );
    let body = expect_problem(r, 401, "password_expired").await;
    assert!(
        body["detail"].as_str().unwrap().contains("/user/update"),
        "{body}"
    );
    // A wrong password still says only "invalid credentials", expired or not.
    expect_problem(
        app.login("omar", "wrong password").await,
        401,
        "invalid_credentials",
    )
    .await;

    let r = app
        .change_password("omar", "ramo password", "fresh password")
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.login("omar", "fresh password").await.status(), 200);
    let policy: Value = app.get("/api/policy").await.json().await.unwrap();
    assert_eq!(policy["password_max_age_secs"], 86_400);
}

for_each_store!(
    login_sets_a_strict_http_only_cookie_and_opens_a_session,
    unknown_user_and_wrong_password_get_the_same_reply,
    login_never_applies_the_new_password_policy,
    logout_revokes_the_session,
    a_new_login_rotates_the_session,
    no_or_forged_cookie_is_unauthenticated,
    sessions_expire,
    an_expired_password_must_be_changed_before_login,
);
