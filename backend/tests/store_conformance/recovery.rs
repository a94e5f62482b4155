//! Operator state and reset tokens (part of the `UserStore` role): flags, one-time tokens
//! decided by one conditional write, session counts, clearing failure counters by prefix.

use std::time::Duration;

use accounts_server::{clock, store::ResetLink};

use super::{session, user, Sessions, HOUR};

/// A link as an operator issues it (`removes_passkeys` as given).
fn link(
    token_hash: &str,
    expires_at: time::OffsetDateTime,
    removes_passkeys: bool,
) -> ResetLink<'_> {
    ResetLink {
        token_hash,
        expires_at,
        removes_passkeys,
        by_operator: true,
    }
}
use crate::support::{store, Kind};

async fn flags_are_set_and_a_password_change_clears_expiry_and_the_reset_token(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    f.store.insert_user(&user("ann", "h1")).await.unwrap();
    let stored = f.store.find_user("ann").await.unwrap().unwrap();
    assert!(!stored.disabled && !stored.password_expired);
    assert_eq!(stored.reset_expires_at, None);

    assert!(f.store.set_disabled("ann", true).await.unwrap());
    assert!(f.store.expire_password("ann").await.unwrap());
    assert!(f
        .store
        .set_reset_token("ann", &link("t1", now + HOUR, false))
        .await
        .unwrap());
    let stored = f.store.find_user("ann").await.unwrap().unwrap();
    assert!(stored.disabled && stored.password_expired);
    assert_eq!(stored.reset_expires_at, Some(now + HOUR));
    assert_eq!(f.store.all_users().await.unwrap(), vec![stored]);

    // A rehash (no change time) keeps them; a change clears expiry and the token.
    assert!(f
        .store
        .replace_password_hash("ann", "h1", "h2", None)
        .await
        .unwrap());
    let stored = f.store.find_user("ann").await.unwrap().unwrap();
    assert!(stored.password_expired && stored.reset_expires_at.is_some());
    assert!(f
        .store
        .replace_password_hash("ann", "h2", "h3", Some(now))
        .await
        .unwrap());
    let stored = f.store.find_user("ann").await.unwrap().unwrap();
    assert!(
        stored.disabled,
        "disabling is not undone by a password change"
    );
    assert!(!stored.password_expired);
    assert_eq!(stored.reset_expires_at, None);
    assert_eq!(
        f.store.find_user_by_reset_token("t1", now).await.unwrap(),
        None
    );

    assert!(f.store.set_disabled("ann", false).await.unwrap());
    assert!(!f.store.find_user("ann").await.unwrap().unwrap().disabled);
    for absent in [
        f.store.set_disabled("nobody", true).await.unwrap(),
        f.store.expire_password("nobody").await.unwrap(),
        f.store
            .set_reset_token("nobody", &link("t", now + HOUR, false))
            .await
            .unwrap(),
    ] {
        assert!(!absent, "an unknown name is reported as such");
    }
}

async fn a_reset_token_works_once_until_it_expires_or_is_replaced(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    let later = now + Duration::from_secs(1);
    f.store.insert_user(&user("ann", "h1")).await.unwrap();
    f.store.insert_user(&user("bob", "h1")).await.unwrap();
    assert!(f
        .store
        .set_reset_token("ann", &link("old", now + HOUR, false))
        .await
        .unwrap());
    assert!(f
        .store
        .set_reset_token("ann", &link("new", now + HOUR, true))
        .await
        .unwrap());
    assert!(f
        .store
        .set_reset_token("bob", &link("bobs", now + HOUR, false))
        .await
        .unwrap());
    assert_eq!(
        f.store.find_user_by_reset_token("old", now).await.unwrap(),
        None
    );
    assert_eq!(
        f.store.reset_password("old", "x", later).await.unwrap(),
        None
    );
    let found = f
        .store
        .find_user_by_reset_token("new", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.name, "ann");
    assert!(found.reset_removes_passkeys, "the newer link's word counts");
    // Expired at its expiry instant.
    assert_eq!(
        f.store
            .find_user_by_reset_token("new", now + HOUR)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        f.store
            .reset_password("new", "x", now + HOUR)
            .await
            .unwrap(),
        None
    );

    f.store.expire_password("ann").await.unwrap();
    let reset = f
        .store
        .reset_password("new", "h2", later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reset.name, "ann");
    assert_eq!(reset.password_hash, "h2");
    assert_eq!(reset.password_changed_at, later);
    assert!(!reset.password_expired);
    assert_eq!(reset.reset_expires_at, None);
    assert!(
        reset.reset_removes_passkeys,
        "the used link says what it was for"
    );
    assert_eq!(f.store.find_user("ann").await.unwrap().unwrap(), reset);
    assert_eq!(
        f.store.reset_password("new", "h3", later).await.unwrap(),
        None
    );
    // Bob's token is his own and untouched.
    assert_eq!(
        f.store
            .find_user_by_reset_token("bobs", now)
            .await
            .unwrap()
            .unwrap()
            .name,
        "bob"
    );
}

async fn concurrent_uses_of_one_reset_token_have_one_winner(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    f.store.insert_user(&user("ann", "h0")).await.unwrap();
    f.store
        .set_reset_token("ann", &link("tok", now + HOUR, false))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = f.store.clone();
            tokio::spawn(async move { store.reset_password("tok", &format!("h{i}"), now).await })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        if t.await.unwrap().unwrap().is_some() {
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let stored = f.store.find_user("ann").await.unwrap().unwrap();
    assert_eq!(stored.password_hash, format!("h{}", winners[0]));
}

async fn sessions_are_counted_while_valid(kind: Kind) {
    let f = store(kind).await;
    let u = user("ann", "h1");
    f.store.insert_user(&u).await.unwrap();
    let other = user("bob", "h1");
    f.store.insert_user(&other).await.unwrap();
    assert_eq!(
        f.store
            .count_user_sessions(&u.id, clock::now())
            .await
            .unwrap(),
        0
    );
    f.store
        .insert_session(&session("s1", &u, HOUR))
        .await
        .unwrap();
    f.store
        .insert_session(&session("s2", &u, Duration::from_secs(60)))
        .await
        .unwrap();
    f.store
        .insert_session(&session("s3", &other, HOUR))
        .await
        .unwrap();
    assert_eq!(
        f.store
            .count_user_sessions(&u.id, clock::now())
            .await
            .unwrap(),
        2
    );
    let in_two_minutes = clock::now() + Duration::from_secs(120);
    assert_eq!(
        f.store
            .count_user_sessions(&u.id, in_two_minutes)
            .await
            .unwrap(),
        1
    );
}

async fn counters_are_cleared_by_prefix_only(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    let ttl = Duration::from_secs(60);
    for key in [
        "fail:ann:device:a",
        "fail:ann:device:b",
        "fail:ann",
        "fail:anna:device:c",
        "fail:an",
        "ip:cred:1.2.3.4:5",
    ] {
        f.store.bump_counter(key, now, ttl).await.unwrap();
    }
    assert_eq!(
        f.store
            .delete_counters_with_prefix("fail:ann:device:")
            .await
            .unwrap(),
        2
    );
    for (key, kept) in [
        ("fail:ann:device:a", false),
        ("fail:ann:device:b", false),
        ("fail:ann", true),
        ("fail:anna:device:c", true),
        ("fail:an", true),
        ("ip:cred:1.2.3.4:5", true),
    ] {
        assert_eq!(
            f.store.get_counter(key, now).await.unwrap().is_some(),
            kept,
            "{key}"
        );
    }
    assert_eq!(
        f.store
            .delete_counters_with_prefix("fail:zed:")
            .await
            .unwrap(),
        0
    );
}

crate::for_each_store!(
    flags_are_set_and_a_password_change_clears_expiry_and_the_reset_token,
    a_reset_token_works_once_until_it_expires_or_is_replaced,
    concurrent_uses_of_one_reset_token_have_one_winner,
    sessions_are_counted_while_valid,
    counters_are_cleared_by_prefix_only,
);
