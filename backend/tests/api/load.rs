//! Behaviour under load: checks whose expected wait is over the bound are shed at once;
//! requests that need no hashing never wait behind hashing; a burst within the bound is
//! served whole.

use std::time::Instant;

use futures::future::join_all;
use serde_json::json;

use crate::support::{
    app::{production_argon2, session_cookie, TestApp},
    Kind,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_hash_queue_sheds_at_once_and_cheap_routes_do_not_wait() {
    // One hashing thread, one waiting slot, slow hashes.
    let app = TestApp::spawn_with(Kind::Sqlite, |c| {
        c.argon2_memory_kib = 65536;
        c.argon2_iterations = 3;
        c.hash_threads = Some(1);
        // Under one hash time (the hash takes ~80 ms): one runs, the rest would wait too long.
        c.hash_max_wait = 0.05;
        c.lockout_threshold = 10_000;
    })
    .await;
    assert_eq!(
        app.register("quinta", "secret phrase three").await.status(),
        201
    );
    let cookie = session_cookie(&app.login("quinta", "secret phrase three").await);

    let logins = (0..6).map(|_| async {
        let r = app.login("quinta", "secret phrase three").await;
        let status = r.status().as_u16();
        let retry = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: serde_json::Value = r.json().await.unwrap();
        (status, retry, body["code"].clone(), Instant::now())
    });
    let cheap = async {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let mut done = Vec::new();
        assert_eq!(app.get("/health/live").await.status(), 200);
        done.push(Instant::now());
        assert_eq!(app.get("/api/policy").await.status(), 200);
        done.push(Instant::now());
        assert_eq!(
            app.get_with_cookie("/api/session", &cookie).await.status(),
            200
        );
        done.push(Instant::now());
        let r = app.post("/api/login", json!({"user_name": "quinta"})).await;
        assert_eq!(r.status(), 400);
        done.push(Instant::now());
        done
    };
    let (logins, cheap_done) = tokio::join!(join_all(logins), cheap);

    let accepted: Vec<_> = logins.iter().filter(|l| l.0 == 200).collect();
    let shed: Vec<_> = logins.iter().filter(|l| l.0 == 503).collect();
    assert_eq!(accepted.len() + shed.len(), 6, "{logins:?}");
    assert!(!accepted.is_empty() && accepted.len() <= 2, "{logins:?}");
    for s in &shed {
        assert_eq!(s.1.as_deref(), Some("1"), "Retry-After on a shed request");
        assert_eq!(s.2, "overloaded");
    }
    // Shed requests were answered before any accepted login finished hashing...
    let first_accepted = accepted.iter().map(|l| l.3).min().unwrap();
    let last_shed = shed.iter().map(|l| l.3).max().unwrap();
    assert!(
        last_shed < first_accepted,
        "a shed request waited for hashing"
    );
    // ...and requests that hash nothing did not wait behind the queue.
    let last_accepted = accepted.iter().map(|l| l.3).max().unwrap();
    assert!(
        cheap_done.iter().all(|t| *t < last_accepted),
        "a request without hashing waited for the hashing queue"
    );
}

/// A burst the hashing threads clear well within the default bound (1 s) is served whole:
/// 30 people logging in at the same moment all get in (it was 4 of 30 with a fixed queue).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_thirty_logins_is_served_whole() {
    let app = TestApp::spawn_with(Kind::Sqlite, |c| {
        production_argon2(c);
        c.hash_max_wait = 1.0;
        c.hash_threads = Some(2);
        c.lockout_threshold = 10_000;
    })
    .await;
    assert_eq!(
        app.register("burst", "a long pass phrase").await.status(),
        201
    );
    let logins = (0..30).map(|_| async {
        let r = app
            .new_client()
            .post(app.url("/api/login"))
            .json(&json!({"user_name": "burst", "password": "a long pass phrase"}))
            .send()
            .await
            .unwrap();
        r.status().as_u16()
    });
    let statuses = join_all(logins).await;
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
}
