//! The `CounterStore` role: atomic counts that expire by themselves.

use std::time::Duration;

use accounts_server::clock;

use crate::support::{store, Kind};

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

/// A successful login forgets its counter while other attempts count on it: every count
/// still succeeds.
async fn counts_racing_deletes_never_fail(kind: Kind) {
    let f = store(kind).await;
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = f.store.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    store
                        .bump_counter("race", clock::now(), Duration::from_secs(60))
                        .await
                        .map(drop)
                } else {
                    store.delete_counter("race").await
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
}

crate::for_each_store!(
    counts_racing_deletes_never_fail,
    counters_count_expire_and_reset,
    concurrent_bumps_lose_no_count,
);
