//! The `UserStore` role: unique names decided by the database, compare-and-swap of the hash,
//! deletion with the account's sessions.

use std::time::Duration;

use accounts_server::{clock, store::StoreError};

use super::{session, user, Sessions, HOUR};
use crate::support::{store, Kind};

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

/// Renaming (for name migrations) moves the unique key, refuses a taken one and revokes the
/// account's sessions; every account is listed.
async fn accounts_can_be_listed_and_renamed(kind: Kind) {
    let f = store(kind).await;
    let (a, b) = (user("alpha", "h1"), user("beta", "h2"));
    f.store.insert_user(&a).await.unwrap();
    f.store.insert_user(&b).await.unwrap();
    f.store
        .insert_session(&session("a1", &a, HOUR))
        .await
        .unwrap();
    let mut names: Vec<String> = f
        .store
        .all_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    names.sort();
    assert_eq!(names, ["alpha", "beta"]);
    assert!(f.store.rename_user(&a.id, "alef").await.unwrap());
    assert_eq!(f.store.find_user("alpha").await.unwrap(), None);
    assert_eq!(f.store.find_user("alef").await.unwrap().unwrap().id, a.id);
    assert!(f
        .store
        .find_session("a1", clock::now())
        .await
        .unwrap()
        .is_none());
    let taken = f.store.rename_user(&a.id, "beta").await.unwrap_err();
    assert!(matches!(taken, StoreError::Duplicate), "{taken:?}");
    assert_eq!(f.store.find_user("beta").await.unwrap().unwrap().id, b.id);
    assert!(!f.store.rename_user("no-such-id", "gamma").await.unwrap());
}

crate::for_each_store!(
    accounts_can_be_listed_and_renamed,
    create_then_find_by_canonical_name,
    duplicate_name_is_refused,
    fifty_concurrent_registrations_of_one_name_have_one_winner,
    compare_and_swap_replaces_only_the_expected_hash,
    concurrent_compare_and_swaps_have_one_winner_and_lose_nothing,
    delete_user_needs_the_current_hash_and_takes_its_sessions,
);
