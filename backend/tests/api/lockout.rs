//! The lockout from the owner's side: what a locked name means for a later account, and that
//! the lock holds guessers back without refusing the owner's honest attempts.

use crate::for_each_store;
use crate::support::{
    app::{expect_problem, TestApp},
    Kind,
};

async fn lockout(kind: Kind, threshold: u32) -> TestApp {
    TestApp::spawn_with(kind, |c| {
        c.lockout_threshold = threshold;
        c.lockout_duration = 600;
    })
    .await
}

/// Failures counted against a deleted account are not inherited by the next account that
/// takes its name.
async fn a_new_account_under_a_deleted_name_starts_unlocked(kind: Kind) {
    let app = lockout(kind, 2).await;
    app.register("walt", "correct pass phrase").await;
    for _ in 0..2 {
        app.login("walt", "wrong pass phrase").await;
    }
    expect_problem(
        app.login("walt", "correct pass phrase").await,
        429,
        "rate_limited",
    )
    .await;
    let out = app.admin(&["delete", "walt"]);
    assert!(out.status.success(), "{out:?}");

    assert_eq!(
        app.register("walt", "another pass phrase").await.status(),
        201
    );
    assert_eq!(app.login("walt", "another pass phrase").await.status(), 200);
}

/// A script that logs in without keeping cookies gets a new device record each time: the
/// account keeps at most 20.
async fn an_account_remembers_at_most_twenty_browsers(kind: Kind) {
    let app = TestApp::spawn(kind).await;
    app.register("walt", "correct pass phrase").await;
    let cookieless = reqwest::Client::new();
    for _ in 0..25 {
        let reply = cookieless
            .post(app.url("/api/login"))
            .json(&serde_json::json!({ "user_name": "walt", "password": "correct pass phrase" }))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
    }
    assert_eq!(app.count_records("devices").await, 20);
}

/// A script or CI jobs sharing an account log in at once (three times the threshold) with the
/// right password: attempts beyond the lockout threshold take turns instead of being refused.
async fn parallel_honest_logins_are_all_served(kind: Kind) {
    let app = TestApp::spawn(kind).await; // the default threshold, 5
    app.register("cijobs", "correct pass phrase").await;
    let logins = (0..15).map(|_| async {
        reqwest::Client::new()
            .post(app.url("/api/login"))
            .json(&serde_json::json!({ "user_name": "cijobs", "password": "correct pass phrase" }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    let statuses = futures::future::join_all(logins).await;
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
}

/// Guesses sent at once are still checked only up to the threshold.
async fn parallel_guesses_stay_capped(kind: Kind) {
    let app = lockout(kind, 3).await;
    app.register("cijobs", "correct pass phrase").await;
    let app = &app;
    let guesses = (0..20).map(|i| async move {
        reqwest::Client::new()
            .post(app.url("/api/login"))
            .json(&serde_json::json!({ "user_name": "cijobs", "password": format!("guess number {i}") }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    let statuses = futures::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!((checked, refused), (3, 17), "{statuses:?}");
    expect_problem(
        app.login("cijobs", "correct pass phrase").await,
        429,
        "rate_limited",
    )
    .await;
}

for_each_store!(
    parallel_honest_logins_are_all_served,
    parallel_guesses_stay_capped,
    a_new_account_under_a_deleted_name_starts_unlocked,
    an_account_remembers_at_most_twenty_browsers,
);
