//! Register, change password, delete; the original's aliases.

use futures::future::join_all;
use serde_json::{json, Value};

use crate::for_each_store;
use crate::support::{
    app::{expect_problem, session_cookie, TestApp},
    Kind,
};

async fn register_returns_201_with_the_typed_name(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    let r = app.register("  Alice ", "correct horse").await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user_name"], "Alice");
    assert_eq!(body["message"], "Added user Alice");
    assert!(!body.to_string().contains("argon2"), "no hash in replies");
}

async fn a_name_taken_in_any_case_or_unicode_form_is_409(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    assert_eq!(app.register("Alice", "correct horse").await.status(), 201);
    for twin in ["alice", "ALICE", "Ａｌｉｃｅ"] {
        let body = expect_problem(
            app.register(twin, "another password").await,
            409,
            "user_exists",
        )
        .await;
        assert!(body["detail"].as_str().unwrap().contains("taken"));
    }
}

async fn invalid_registrations_list_each_field(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    let body = expect_problem(app.register("a b", "short").await, 400, "invalid_user_name").await;
    let errors = body["errors"].as_array().unwrap();
    let fields: Vec<_> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["user_name", "password"], "{body}");
    assert_eq!(errors[1]["code"], "invalid_password");

    let body = expect_problem(app.register("bob", "short").await, 400, "invalid_password").await;
    assert!(
        body["detail"].as_str().unwrap().contains("at least 8"),
        "{body}"
    );
    let body = expect_problem(
        app.register("bobby", "xxBOBBYxxyy").await,
        400,
        "invalid_password",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("user name"),
        "{body}"
    );
    expect_problem(
        app.register("", "correct horse").await,
        400,
        "invalid_user_name",
    )
    .await;
    expect_problem(
        app.register("ab", "correct horse").await,
        400,
        "invalid_user_name",
    )
    .await;
    expect_problem(
        app.register("ev\u{202E}il", "correct horse").await,
        400,
        "invalid_user_name",
    )
    .await;
    expect_problem(
        app.register("bob", &"x".repeat(257)).await,
        400,
        "invalid_password",
    )
    .await;
    // Nothing was created by the refused attempts.
    assert_eq!(app.register("bob", "correct horse").await.status(), 201);
}

async fn the_original_routes_and_keys_still_work(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    let add = json!({ "user_name": "Sriyal", "password": "Sri_123_long" });
    assert_eq!(app.post("/user/add", add.clone()).await.status(), 201);
    let r = app.post("/login", add).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["message"], "User Sriyal logged in");
    let update =
        json!({ "user_name": "Sriyal", "password": "Sri_123_long", "newpassword": "Sri_456_long" });
    let r = app.post("/user/update", update).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["message"], "User details updated");
    assert_eq!(app.login("Sriyal", "Sri_456_long").await.status(), 200);
}

async fn change_password_swaps_the_password_and_revokes_sessions(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    app.register("dora", "first password").await;
    // Two browsers signed in.
    assert_eq!(app.login("dora", "first password").await.status(), 200);
    let other = app.new_client();
    let r = other
        .post(app.url("/api/login"))
        .json(&json!({ "user_name": "dora", "password": "first password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.get("/api/session").await.status(), 200);

    let r = app
        .change_password("DORA", "first password", "second password")
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user_name"], "dora");

    // Every session of the account is gone, in both browsers.
    expect_problem(app.get("/api/session").await, 401, "unauthenticated").await;
    let r = other.get(app.url("/api/session")).send().await.unwrap();
    expect_problem(r, 401, "unauthenticated").await;
    // Old password refused, new one works.
    expect_problem(
        app.login("dora", "first password").await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(app.login("dora", "second password").await.status(), 200);
}

async fn change_password_needs_the_current_password_and_a_valid_new_one(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    app.register("eric", "first password").await;
    expect_problem(
        app.change_password("eric", "wrong password", "second password")
            .await,
        401,
        "invalid_credentials",
    )
    .await;
    expect_problem(
        app.change_password("nobody", "first password", "second password")
            .await,
        401,
        "invalid_credentials",
    )
    .await;
    let body = expect_problem(
        app.change_password("eric", "first password", "short").await,
        400,
        "invalid_password",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "newpassword");
    expect_problem(
        app.change_password("eric", "first password", "first password")
            .await,
        400,
        "invalid_password",
    )
    .await;
    let r = app
        .post(
            "/api/user/update",
            json!({ "user_name": "eric", "password": "first password" }),
        )
        .await;
    let body = expect_problem(r, 400, "missing_field").await;
    assert_eq!(body["errors"][0]["field"], "newpassword");
    // Still the first password.
    assert_eq!(app.login("eric", "first password").await.status(), 200);
}

async fn fifty_concurrent_password_changes_have_one_winner(kind: Kind) {
    // Losers' passwords are tried afterwards: keep the lockout out of the way.
    let app = TestApp::spawn_with(kind, |c| c.lockout_threshold = 1000).await;
    app.register("fred", "first password").await;
    let attempts = (0..50).map(|i| {
        let app = &app;
        async move {
            let new = format!("new password {i}");
            let r = app.change_password("fred", "first password", &new).await;
            (r.status().as_u16(), new)
        }
    });
    let results = join_all(attempts).await;
    let winners: Vec<_> = results.iter().filter(|(s, _)| *s == 200).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results.iter().all(|(s, _)| *s == 200 || *s == 401),
        "{results:?}"
    );
    assert_eq!(app.login("fred", &winners[0].1).await.status(), 200);
    for (_, loser) in results.iter().filter(|(s, _)| *s != 200).take(5) {
        assert_eq!(app.login("fred", loser).await.status(), 401);
    }
    assert_eq!(app.login("fred", "first password").await.status(), 401);
}

async fn a_hundred_concurrent_registrations_of_one_name_have_one_winner(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    // The same name in different letter cases and Unicode forms (full-width letters).
    let forms: Vec<String> = (0..100u32)
        .map(|i| {
            "gina"
                .chars()
                .enumerate()
                .map(|(j, c)| match (i >> j) & 3 {
                    0 => c,
                    1 => c.to_ascii_uppercase(),
                    2 => char::from_u32(c as u32 - 'a' as u32 + 0xFF41).unwrap(),
                    _ => char::from_u32(c as u32 - 'a' as u32 + 0xFF21).unwrap(),
                })
                .collect()
        })
        .collect();
    let attempts = forms.iter().map(|name| app.register(name, "some password"));
    let statuses: Vec<u16> = join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        forms.len() - 1
    );
}

async fn delete_removes_the_account_and_its_sessions(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    app.register("hana", "anah password").await;
    let cookie = session_cookie(&app.login("hana", "anah password").await);
    let creds = json!({ "user_name": "hana", "password": "wrong password" });
    expect_problem(
        app.post("/api/user/delete", creds).await,
        401,
        "invalid_credentials",
    )
    .await;
    let creds = json!({ "user_name": "HANA", "password": "anah password" });
    let r = app.post("/api/user/delete", creds).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["message"], "Deleted user hana");
    expect_problem(
        app.login("hana", "anah password").await,
        401,
        "invalid_credentials",
    )
    .await;
    // The name can be registered again, and the old session cookie does not revive.
    assert_eq!(app.register("hana", "another password").await.status(), 201);
    expect_problem(
        app.get_with_cookie("/api/session", &cookie).await,
        401,
        "unauthenticated",
    )
    .await;
}

for_each_store!(
    register_returns_201_with_the_typed_name,
    a_name_taken_in_any_case_or_unicode_form_is_409,
    invalid_registrations_list_each_field,
    the_original_routes_and_keys_still_work,
    change_password_swaps_the_password_and_revokes_sessions,
    change_password_needs_the_current_password_and_a_valid_new_one,
    fifty_concurrent_password_changes_have_one_winner,
    a_hundred_concurrent_registrations_of_one_name_have_one_winner,
    delete_removes_the_account_and_its_sessions,
);
