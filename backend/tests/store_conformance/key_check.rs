//! The `KeyCheckStore` role: one value, first stored by exactly one of several instances, then
//! replaced only by compare-and-swap.

use crate::support::{store, Kind};

async fn the_key_check_is_stored_once_then_swapped(kind: Kind) {
    let f = store(kind).await;
    assert_eq!(f.store.key_check().await.unwrap(), None);
    let firsts: Vec<_> = (0..8)
        .map(|i| {
            let store = f.store.clone();
            tokio::spawn(async move { store.swap_key_check(None, &format!("v{i}")).await })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, t) in firsts.into_iter().enumerate() {
        if t.await.unwrap().unwrap() {
            winners.push(format!("v{i}"));
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "of concurrent first values, one is stored"
    );
    let first = winners.remove(0);
    assert_eq!(f.store.key_check().await.unwrap(), Some(first.clone()));

    assert!(!f.store.swap_key_check(None, "w").await.unwrap());
    assert!(!f.store.swap_key_check(Some("other"), "w").await.unwrap());
    assert!(f.store.swap_key_check(Some(&first), "w").await.unwrap());
    assert!(!f.store.swap_key_check(Some(&first), "x").await.unwrap());
    assert_eq!(f.store.key_check().await.unwrap().as_deref(), Some("w"));
}

crate::for_each_store!(the_key_check_is_stored_once_then_swapped);
