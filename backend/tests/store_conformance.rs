//! One conformance suite for every `Store` implementation: each test runs against the embedded
//! SQLite store and against a real MongoDB wire-protocol server.

mod support;

use std::{sync::Arc, time::Duration};

use accounts_server::{
    clock,
    store::{sqlite::SqliteStore, SessionRecord, Store, StoreError, UserRecord},
};
use support::{store, Kind};

fn user(name: &str, hash: &str) -> UserRecord {
    let now = clock::now();
    UserRecord {
        id: accounts_server::token::random_id(),
        name: name.to_owned(),
        display_name: name.to_uppercase(),
        password_hash: hash.to_owned(),
        created_at: now,
        password_changed_at: now,
    }
}

fn session(token_hash: &str, user: &UserRecord, ttl: Duration) -> SessionRecord {
    let now = clock::now();
    SessionRecord {
        token_hash: token_hash.to_owned(),
        user_id: user.id.clone(),
        user_name: user.name.clone(),
        created_at: now,
        expires_at: now + ttl,
    }
}

const HOUR: Duration = Duration::from_secs(3600);

async fn ping_answers(kind: Kind) {
    let f = store(kind).await;
    f.store.ping().await.unwrap();
}

async fn create_then_find_by_canonical_name(kind: Kind) {
    let f = store(kind).await;
    let u = user("alice", "h1");
    f.store.insert_user(&u).await.unwrap();
    assert_eq!(f.store.find_user("alice").await.unwrap(), Some(u));
    assert_eq!(f.store.find_user("bob").await.unwrap(), None);
    // Lookup is by the exact canonical key; canonicalising is the caller's job.
    assert_eq!(f.store.find_user("ALICE").await.unwrap(), None);
}

async fn duplicate_name_is_refused(kind: Kind) {
    let f = store(kind).await;
    f.store.insert_user(&user("alice", "h1")).await.unwrap();
    let err = f.store.insert_user(&user("alice", "h2")).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate), "{err:?}");
    // The first registration is untouched.
    assert_eq!(
        f.store
            .find_user("alice")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "h1"
    );
}

async fn fifty_concurrent_registrations_of_one_name_have_one_winner(kind: Kind) {
    let f = store(kind).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = f.store.clone();
            tokio::spawn(async move { store.insert_user(&user("carol", &format!("h{i}"))).await })
        })
        .collect();
    let mut won = Vec::new();
    let mut duplicates = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Ok(()) => won.push(i),
            Err(StoreError::Duplicate) => duplicates += 1,
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one registration must win");
    assert_eq!(duplicates, 49);
    let stored = f.store.find_user("carol").await.unwrap().unwrap();
    assert_eq!(stored.password_hash, format!("h{}", won[0]));
}

async fn compare_and_swap_replaces_only_the_expected_hash(kind: Kind) {
    let f = store(kind).await;
    let u = user("dave", "old");
    f.store.insert_user(&u).await.unwrap();
    assert!(!f
        .store
        .replace_password_hash("dave", "wrong", "new", None)
        .await
        .unwrap());
    assert!(!f
        .store
        .replace_password_hash("nobody", "old", "new", None)
        .await
        .unwrap());
    // A rehash keeps the change time...
    assert!(f
        .store
        .replace_password_hash("dave", "old", "rehashed", None)
        .await
        .unwrap());
    let after = f.store.find_user("dave").await.unwrap().unwrap();
    assert_eq!(after.password_hash, "rehashed");
    assert_eq!(after.password_changed_at, u.password_changed_at);
    // ...a change records it.
    let later = clock::now() + Duration::from_secs(5);
    assert!(f
        .store
        .replace_password_hash("dave", "rehashed", "changed", Some(later))
        .await
        .unwrap());
    let after = f.store.find_user("dave").await.unwrap().unwrap();
    assert_eq!(after.password_hash, "changed");
    assert_eq!(after.password_changed_at, later);
    assert_eq!(after.created_at, u.created_at);
}

async fn concurrent_compare_and_swaps_have_one_winner_and_lose_nothing(kind: Kind) {
    let f = store(kind).await;
    f.store.insert_user(&user("erin", "start")).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = f.store.clone();
            tokio::spawn(async move {
                let new = format!("new{i}");
                store
                    .replace_password_hash("erin", "start", &new, Some(clock::now()))
                    .await
                    .map(|won| won.then_some(new))
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        if let Some(new) = t.await.unwrap().unwrap() {
            winners.push(new);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one change must win: {winners:?}");
    let stored = f.store.find_user("erin").await.unwrap().unwrap();
    assert_eq!(stored.password_hash, winners[0]);
}

async fn sessions_are_found_until_they_expire(kind: Kind) {
    let f = store(kind).await;
    let u = user("frank", "h");
    f.store.insert_user(&u).await.unwrap();
    let s = session("t1", &u, HOUR);
    f.store.insert_session(&s).await.unwrap();
    let now = clock::now();
    assert_eq!(
        f.store.find_session("t1", now).await.unwrap(),
        Some(s.clone())
    );
    assert_eq!(f.store.find_session("t2", now).await.unwrap(), None);
    // Expired as of a later `now`, whether or not any sweep has run.
    assert_eq!(
        f.store
            .find_session("t1", s.expires_at + Duration::from_millis(1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        f.store.find_session("t1", s.expires_at).await.unwrap(),
        None
    );
    // A session stored already expired is never returned.
    let mut old = session("t3", &u, HOUR);
    old.expires_at = clock::now() - Duration::from_secs(1);
    f.store.insert_session(&old).await.unwrap();
    assert_eq!(
        f.store.find_session("t3", clock::now()).await.unwrap(),
        None
    );
}

async fn a_session_can_be_revoked(kind: Kind) {
    let f = store(kind).await;
    let u = user("gina", "h");
    f.store.insert_user(&u).await.unwrap();
    f.store
        .insert_session(&session("t1", &u, HOUR))
        .await
        .unwrap();
    let revoked = f.store.delete_session("t1").await.unwrap();
    assert_eq!(revoked.map(|s| s.user_name), Some("gina".to_owned()));
    assert_eq!(
        f.store.find_session("t1", clock::now()).await.unwrap(),
        None
    );
    // Idempotent.
    assert_eq!(f.store.delete_session("t1").await.unwrap(), None);
}

async fn revoke_all_sessions_of_one_user(kind: Kind) {
    let f = store(kind).await;
    let a = user("hank", "h");
    let b = user("ivan", "h");
    f.store.insert_user(&a).await.unwrap();
    f.store.insert_user(&b).await.unwrap();
    for t in ["a1", "a2", "a3"] {
        f.store.insert_session(&session(t, &a, HOUR)).await.unwrap();
    }
    f.store
        .insert_session(&session("b1", &b, HOUR))
        .await
        .unwrap();
    assert_eq!(f.store.delete_user_sessions(&a.id).await.unwrap(), 3);
    let now = clock::now();
    for t in ["a1", "a2", "a3"] {
        assert_eq!(f.store.find_session(t, now).await.unwrap(), None);
    }
    assert!(f.store.find_session("b1", now).await.unwrap().is_some());
    assert_eq!(f.store.delete_user_sessions(&a.id).await.unwrap(), 0);
}

async fn delete_user_needs_the_current_hash_and_takes_its_sessions(kind: Kind) {
    let f = store(kind).await;
    let u = user("jane", "h");
    let other = user("kate", "h");
    f.store.insert_user(&u).await.unwrap();
    f.store.insert_user(&other).await.unwrap();
    f.store
        .insert_session(&session("j1", &u, HOUR))
        .await
        .unwrap();
    f.store
        .insert_session(&session("k1", &other, HOUR))
        .await
        .unwrap();
    assert!(!f.store.delete_user("jane", "stale").await.unwrap());
    assert!(f.store.find_user("jane").await.unwrap().is_some());
    assert!(f.store.delete_user("jane", "h").await.unwrap());
    assert_eq!(f.store.find_user("jane").await.unwrap(), None);
    let now = clock::now();
    assert_eq!(f.store.find_session("j1", now).await.unwrap(), None);
    assert!(f.store.find_session("k1", now).await.unwrap().is_some());
    assert!(!f.store.delete_user("jane", "h").await.unwrap());
    // The name is free again.
    f.store.insert_user(&user("jane", "h2")).await.unwrap();
}

async fn stores_are_usable_through_the_trait_object(kind: Kind) {
    // The server holds stores as `Arc<dyn Store>`; make sure clones share state.
    let f = store(kind).await;
    let other: Arc<dyn Store> = f.store.clone();
    f.store.insert_user(&user("lena", "h")).await.unwrap();
    assert!(other.find_user("lena").await.unwrap().is_some());
}

async fn counters_count_expire_and_reset(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    let ttl = Duration::from_secs(60);
    assert_eq!(f.store.get_counter("login:x", now).await.unwrap(), None);
    let c1 = f.store.bump_counter("login:x", now, ttl).await.unwrap();
    assert_eq!((c1.count, c1.last_at, c1.expires_at), (1, now, now + ttl));
    let later = now + Duration::from_secs(1);
    let c2 = f.store.bump_counter("login:x", later, ttl).await.unwrap();
    assert_eq!((c2.count, c2.last_at), (2, later));
    assert_eq!(
        f.store.get_counter("login:x", later).await.unwrap(),
        Some(c2)
    );
    // Keys are independent.
    assert_eq!(
        f.store
            .bump_counter("login:y", later, Duration::from_secs(3600))
            .await
            .unwrap()
            .count,
        1
    );
    // Past its expiry a counter is gone, and counting starts again.
    let expired = c2.expires_at;
    assert_eq!(f.store.get_counter("login:x", expired).await.unwrap(), None);
    assert_eq!(
        f.store
            .bump_counter("login:x", expired, ttl)
            .await
            .unwrap()
            .count,
        1
    );
    f.store.delete_counter("login:x").await.unwrap();
    assert_eq!(f.store.get_counter("login:x", expired).await.unwrap(), None);
    assert_eq!(
        f.store
            .get_counter("login:y", later)
            .await
            .unwrap()
            .unwrap()
            .count,
        1
    );
}

async fn concurrent_bumps_lose_no_count(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = f.store.clone();
            tokio::spawn(async move {
                store
                    .bump_counter("ip:127.0.0.1", now, Duration::from_secs(60))
                    .await
                    .map(|c| c.count)
            })
        })
        .collect();
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap().unwrap());
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=50).collect::<Vec<_>>(),
        "every bump sees its own count"
    );
    let c = f
        .store
        .get_counter("ip:127.0.0.1", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.count, 50);
}

async fn a_session_is_found_with_its_user(kind: Kind) {
    let f = store(kind).await;
    let u = user("otto", "h");
    f.store.insert_user(&u).await.unwrap();
    let s = session("o1", &u, HOUR);
    f.store.insert_session(&s).await.unwrap();
    let now = clock::now();
    assert_eq!(
        f.store.find_session_and_user("o1", now).await.unwrap(),
        Some((s.clone(), u.clone()))
    );
    assert_eq!(
        f.store.find_session_and_user("nope", now).await.unwrap(),
        None
    );
    assert_eq!(
        f.store
            .find_session_and_user("o1", s.expires_at)
            .await
            .unwrap(),
        None
    );
    // A session whose user is gone (deleted without the store's help) is not returned.
    let orphan_owner = user("pam", "h");
    let orphan = session("p1", &orphan_owner, HOUR);
    f.store.insert_session(&orphan).await.unwrap();
    assert_eq!(
        f.store.find_session_and_user("p1", now).await.unwrap(),
        None
    );
}

/// The embedded store answers repeated lookups from memory; every later write must still show.
async fn a_looked_up_session_reflects_every_later_write(kind: Kind) {
    let f = store(kind).await;
    let u = user("quin", "h1");
    f.store.insert_user(&u).await.unwrap();
    for t in ["q1", "q2", "q3"] {
        f.store.insert_session(&session(t, &u, HOUR)).await.unwrap();
    }
    let lookup = |t: &'static str| {
        let store = f.store.clone();
        async move {
            store
                .find_session_and_user(t, clock::now())
                .await
                .unwrap()
                .map(|(_, user)| user)
        }
    };
    for t in ["q1", "q2", "q3"] {
        assert_eq!(lookup(t).await, Some(u.clone()));
    }

    let later = u.password_changed_at + Duration::from_secs(60);
    assert!(f
        .store
        .replace_password_hash("quin", "h1", "h2", Some(later))
        .await
        .unwrap());
    let changed = lookup("q1").await.unwrap();
    assert_eq!(
        (changed.password_hash.as_str(), changed.password_changed_at),
        ("h2", later)
    );
    assert!(f
        .store
        .replace_password_hash("quin", "h2", "h3", None)
        .await
        .unwrap());
    assert_eq!(lookup("q1").await.unwrap().password_hash, "h3");

    f.store.delete_session("q1").await.unwrap();
    assert_eq!(lookup("q1").await, None);
    assert!(lookup("q2").await.is_some());

    assert_eq!(f.store.delete_user_sessions(&u.id).await.unwrap(), 2);
    assert_eq!(lookup("q2").await, None);
    assert_eq!(lookup("q3").await, None);

    f.store
        .insert_session(&session("q4", &u, HOUR))
        .await
        .unwrap();
    assert!(lookup("q4").await.is_some());
    assert!(f.store.delete_user("quin", "h3").await.unwrap());
    assert_eq!(lookup("q4").await, None);
}

/// Lookups racing with a revocation must not bring the revoked session back.
async fn a_revocation_holds_against_concurrent_lookups(kind: Kind) {
    let f = store(kind).await;
    let u = user("rita", "h");
    f.store.insert_user(&u).await.unwrap();
    for round in 0..100 {
        let token = format!("r{round}");
        f.store
            .insert_session(&session(&token, &u, HOUR))
            .await
            .unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let (store, token, stop) = (f.store.clone(), token.clone(), stop.clone());
                tokio::spawn(async move {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        store
                            .find_session_and_user(&token, clock::now())
                            .await
                            .unwrap();
                        // A lookup served from memory does not yield by itself.
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        let found = || f.store.find_session_and_user(&token, clock::now());
        tokio::time::sleep(Duration::from_millis(2)).await;
        f.store.delete_session(&token).await.unwrap();
        let right_after = found().await.unwrap();
        assert_eq!(
            right_after, None,
            "round {round}: found right after revoking"
        );
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for r in readers {
            r.await.unwrap();
        }
        let later = found().await.unwrap();
        assert_eq!(
            later, None,
            "round {round}: a racing lookup brought it back"
        );
    }
}

/// The embedded store's folder belongs to one process: a second opener is refused until the
/// first is closed, so no process can cache a session another has revoked.
#[tokio::test]
async fn the_embedded_store_admits_one_opener_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let first = SqliteStore::open(dir.path()).unwrap();
    let clone = first.clone();
    match SqliteStore::open(dir.path()) {
        Err(StoreError::Unavailable(why)) => assert!(why.contains("in use"), "{why}"),
        other => panic!("a second opener got {:?}", other.map(|_| ())),
    }
    drop(first);
    assert!(
        SqliteStore::open(dir.path()).is_err(),
        "a clone still holds it"
    );
    drop(clone);
    SqliteStore::open(dir.path()).unwrap();
}

for_each_store!(
    a_looked_up_session_reflects_every_later_write,
    a_revocation_holds_against_concurrent_lookups,
    a_session_is_found_with_its_user,
    counters_count_expire_and_reset,
    concurrent_bumps_lose_no_count,
    ping_answers,
    create_then_find_by_canonical_name,
    duplicate_name_is_refused,
    fifty_concurrent_registrations_of_one_name_have_one_winner,
    compare_and_swap_replaces_only_the_expected_hash,
    concurrent_compare_and_swaps_have_one_winner_and_lose_nothing,
    sessions_are_found_until_they_expire,
    a_session_can_be_revoked,
    revoke_all_sessions_of_one_user,
    delete_user_needs_the_current_hash_and_takes_its_sessions,
    stores_are_usable_through_the_trait_object,
);
