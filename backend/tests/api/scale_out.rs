//! Two server instances sharing one MongoDB and nothing else behave as one service.

use serde_json::json;

use crate::support::{
    app::{expect_problem, session_cookie, TestApp},
    Kind,
};

async fn two_instances() -> (TestApp, TestApp) {
    let a = TestApp::spawn_with(Kind::Mongo, |c| c.lockout_threshold = 3).await;
    let db = a.config.mongodb_db.clone();
    // Instances on one database share the data key file.
    let key_file = a.config.data_key_file();
    let b = TestApp::spawn_with(Kind::Mongo, |c| {
        c.lockout_threshold = 3;
        c.mongodb_db = db;
        c.data_key_file = Some(key_file);
    })
    .await;
    (a, b)
}

async fn logout_with(app: &TestApp, cookie: &str) -> u16 {
    reqwest::Client::new()
        .post(app.url("/api/logout"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_made_on_one_instance_work_and_end_on_the_other() {
    let (a, b) = two_instances().await;
    assert_eq!(a.register("sven", "secret phrase five").await.status(), 201);
    expect_problem(
        b.register("SVEN", "secret phrase six").await,
        409,
        "user_exists",
    )
    .await;

    let cookie = session_cookie(&a.login("sven", "secret phrase five").await);
    assert_eq!(
        b.get_with_cookie("/api/session", &cookie).await.status(),
        200
    );
    // Logout on B revokes it on A.
    assert_eq!(logout_with(&b, &cookie).await, 204);
    expect_problem(
        a.get_with_cookie("/api/session", &cookie).await,
        401,
        "unauthenticated",
    )
    .await;

    // A password change on A revokes the sessions opened on both.
    let on_a = session_cookie(&a.login("sven", "secret phrase five").await);
    let on_b = session_cookie(&b.login("sven", "secret phrase five").await);
    let r = a
        .change_password("sven", "secret phrase five", "secret phrase seven")
        .await;
    assert_eq!(r.status(), 200);
    for (app, cookie) in [(&a, &on_a), (&a, &on_b), (&b, &on_a), (&b, &on_b)] {
        expect_problem(
            app.get_with_cookie("/api/session", cookie).await,
            401,
            "unauthenticated",
        )
        .await;
    }
    assert_eq!(b.login("sven", "secret phrase seven").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_on_either_instance_count_towards_one_lockout() {
    let (a, b) = two_instances().await;
    a.register("tove", "secret phrase eight").await;
    let wrong = json!({"user_name": "tove", "password": "not the phrase"});
    assert_eq!(a.post("/api/login", wrong.clone()).await.status(), 401);
    assert_eq!(b.post("/api/login", wrong.clone()).await.status(), 401);
    assert_eq!(a.post("/api/login", wrong).await.status(), 401);
    // Three failures across the two: locked on both.
    expect_problem(
        b.login("tove", "secret phrase eight").await,
        429,
        "rate_limited",
    )
    .await;
    expect_problem(
        a.login("tove", "secret phrase eight").await,
        429,
        "rate_limited",
    )
    .await;
}
