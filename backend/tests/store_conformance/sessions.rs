//! The `SessionStore` role: sessions found until they expire or are revoked, looked up with
//! their account, and never brought back by a lookup that raced with a revocation.

use std::{sync::Arc, time::Duration};

use accounts_server::{
    clock,
    store::{PasskeyRecord, SessionLookup},
};

use super::{session, user, Sessions, HOUR};
use crate::support::{store, Kind};

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

async fn a_session_is_found_with_its_user(kind: Kind) {
    let f = store(kind).await;
    let u = user("otto", "h");
    f.store.insert_user(&u).await.unwrap();
    let s = session("o1", &u, HOUR);
    f.store.insert_session(&s).await.unwrap();
    let now = clock::now();
    assert_eq!(
        f.store.look_up_session("o1", now).await.unwrap(),
        Some(std::sync::Arc::new(SessionLookup {
            session: s.clone(),
            user: u.clone(),
            passkeys: 0,
            recovery_codes: 0
        }))
    );
    assert_eq!(f.store.look_up_session("nope", now).await.unwrap(), None);
    assert_eq!(
        f.store.look_up_session("o1", s.expires_at).await.unwrap(),
        None
    );
    // A session whose user is gone (deleted without the store's help) is not returned.
    let orphan_owner = user("pam", "h");
    let orphan = session("p1", &orphan_owner, HOUR);
    super::insert_orphan_session(&f, &orphan).await;
    assert_eq!(f.store.look_up_session("p1", now).await.unwrap(), None);
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
                .look_up_session(t, clock::now())
                .await
                .unwrap()
                .map(|found| found.user.clone())
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
                        store.look_up_session(&token, clock::now()).await.unwrap();
                        // A lookup served from memory does not yield by itself.
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        let found = || f.store.look_up_session(&token, clock::now());
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

/// A login stores its session only while the account holds the hash it verified, so a
/// password change racing the login never leaves it a session.
async fn a_session_for_a_replaced_hash_never_survives_the_change(kind: Kind) {
    let f = store(kind).await;
    let u = user("rita", "h1");
    f.store.insert_user(&u).await.unwrap();
    assert!(f
        .store
        .insert_session_for_hash(&session("fresh", &u, HOUR), "h1", 0)
        .await
        .unwrap());
    assert!(!f
        .store
        .insert_session_for_hash(&session("stale", &u, HOUR), "h0", 0)
        .await
        .unwrap());
    assert!(f
        .store
        .find_session("stale", clock::now())
        .await
        .unwrap()
        .is_none());

    for round in 0..8 {
        let u = user(&format!("racer{round}"), "h1");
        f.store.insert_user(&u).await.unwrap();
        let logins: Vec<_> = (0..16)
            .map(|i| {
                let (store, u) = (f.store.clone(), u.clone());
                tokio::spawn(async move {
                    for _ in 0..(i % 4) {
                        tokio::task::yield_now().await;
                    }
                    let token = format!("r{round}-{i}");
                    store
                        .insert_session_for_hash(&session(&token, &u, HOUR), "h1", 0)
                        .await
                        .unwrap();
                    token
                })
            })
            .collect();
        tokio::task::yield_now().await;
        assert!(f
            .store
            .replace_password_hash(&u.name, "h1", "h2", Some(clock::now()))
            .await
            .unwrap());
        f.store.delete_user_sessions(&u.id).await.unwrap();
        for login in logins {
            let token = login.await.unwrap();
            assert!(
                f.store
                    .find_session(&token, clock::now())
                    .await
                    .unwrap()
                    .is_none(),
                "round {round}: {token} outlived the password change"
            );
        }
    }
}

/// A lookup counts the account's passkeys and unused recovery codes, and (answered from memory
/// or not) follows every change to them.
async fn a_lookup_counts_passkeys_and_recovery_codes(kind: Kind) {
    let f = store(kind).await;
    let u = user("rita", "h");
    f.store.insert_user(&u).await.unwrap();
    f.store
        .insert_session(&session("r1", &u, HOUR))
        .await
        .unwrap();
    let counts = || async {
        let found = f.store.look_up_session("r1", clock::now()).await.unwrap();
        found.map(|l| (l.passkeys, l.recovery_codes)).unwrap()
    };
    let passkey = |id: &str| PasskeyRecord {
        credential_id: id.into(),
        user_id: u.id.clone(),
        name: id.into(),
        passkey: "{}".into(),
        created_at: clock::now(),
        last_used_at: None,
    };
    assert_eq!(counts().await, (0, 0));
    f.store.insert_passkey(&passkey("c1")).await.unwrap();
    assert_eq!(counts().await, (1, 0));
    assert!(f.store.set_pending_totp(&u.id, "SECRET").await.unwrap());
    let codes = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
    assert!(f
        .store
        .enable_totp(&u.id, "SECRET", 1, &codes)
        .await
        .unwrap());
    assert_eq!(counts().await, (1, 3));
    assert!(f.store.use_recovery_code(&u.id, "b").await.unwrap());
    assert_eq!(counts().await, (1, 2));
    f.store.insert_passkey(&passkey("c2")).await.unwrap();
    assert_eq!(counts().await, (2, 2));
    assert!(f.store.delete_passkey(&u.id, "c1").await.unwrap());
    assert_eq!(counts().await, (1, 2));
    f.store.insert_passkey(&passkey("c3")).await.unwrap();
    assert_eq!(f.store.delete_user_passkeys(&u.id).await.unwrap(), 2);
    assert_eq!(counts().await, (0, 2));
    assert!(f.store.disable_totp(&u.id).await.unwrap());
    assert_eq!(counts().await, (0, 0));
}

/// A revocation moves the account to its next session generation: a login checked before it
/// (at the older generation) stores nothing after it.
async fn a_session_for_an_older_generation_is_not_stored(kind: Kind) {
    let f = store(kind).await;
    let u = user("gina", "h1");
    f.store.insert_user(&u).await.unwrap();
    f.store.delete_user_sessions(&u.id).await.unwrap();
    assert!(!f
        .store
        .insert_session_for_hash(&session("late", &u, HOUR), "h1", 0)
        .await
        .unwrap());
    assert_eq!(
        f.store
            .find_user_by_id(&u.id)
            .await
            .unwrap()
            .unwrap()
            .session_generation,
        1
    );
    assert!(f
        .store
        .insert_session_for_hash(&session("next", &u, HOUR), "h1", 1)
        .await
        .unwrap());
}

/// A re-authentication is recorded on the session, and the next lookup sees it (the embedded
/// store's cache included); other sessions of the account keep theirs.
async fn a_re_authentication_shows_in_the_next_lookup(kind: Kind) {
    let f = store(kind).await;
    let u = user("rita", "h");
    f.store.insert_user(&u).await.unwrap();
    let mut s = session("r1", &u, HOUR);
    s.authenticated_at = s.created_at - Duration::from_secs(600);
    f.store.insert_session(&s).await.unwrap();
    f.store
        .insert_session(&session("r2", &u, HOUR))
        .await
        .unwrap();
    let authenticated = |t: &'static str| {
        let store = f.store.clone();
        async move {
            store
                .look_up_session(t, clock::now())
                .await
                .unwrap()
                .map(|found| found.session.authenticated_at)
        }
    };
    assert_eq!(authenticated("r1").await, Some(s.authenticated_at));
    let r2 = authenticated("r2").await.unwrap();
    let later = s.created_at + Duration::from_secs(60);
    assert!(f
        .store
        .set_session_authenticated("r1", later)
        .await
        .unwrap());
    assert_eq!(authenticated("r1").await, Some(later));
    assert_eq!(authenticated("r2").await, Some(r2));
    assert!(!f
        .store
        .set_session_authenticated("gone", later)
        .await
        .unwrap());
}

crate::for_each_store!(
    a_re_authentication_shows_in_the_next_lookup,
    a_session_for_an_older_generation_is_not_stored,
    a_lookup_counts_passkeys_and_recovery_codes,
    a_session_for_a_replaced_hash_never_survives_the_change,
    sessions_are_found_until_they_expire,
    a_session_can_be_revoked,
    revoke_all_sessions_of_one_user,
    a_session_is_found_with_its_user,
    a_looked_up_session_reflects_every_later_write,
    a_revocation_holds_against_concurrent_lookups,
);
