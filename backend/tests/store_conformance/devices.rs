//! The `DeviceStore` role: browsers known to an account, found until they expire, forgotten
//! with the account.

use std::time::Duration;

use accounts_server::{clock, store::DeviceRecord};

use super::{user, HOUR};
use crate::support::{store, Kind};

fn device(
    token_hash: &str,
    user: &accounts_server::store::UserRecord,
    ttl: Duration,
) -> DeviceRecord {
    DeviceRecord {
        token_hash: token_hash.to_owned(),
        user_id: user.id.clone(),
        user_name: user.name.clone(),
        expires_at: clock::now() + ttl,
    }
}

async fn devices_are_found_until_they_expire_and_go_with_their_account(kind: Kind) {
    let f = store(kind).await;
    let (u, other) = (user("dana", "h"), user("otto", "h"));
    let known = device("d1", &u, HOUR);
    f.store
        .insert_device(&known, clock::now(), 20)
        .await
        .unwrap();
    f.store
        .insert_device(&device("d2", &u, HOUR), clock::now(), 20)
        .await
        .unwrap();
    f.store
        .insert_device(&device("o1", &other, HOUR), clock::now(), 20)
        .await
        .unwrap();
    let now = clock::now();
    assert_eq!(
        f.store.find_device("d1", now).await.unwrap(),
        Some(known.clone())
    );
    assert_eq!(f.store.find_device("nope", now).await.unwrap(), None);
    // Expired is absent, swept or not.
    assert_eq!(
        f.store
            .find_device("d1", known.expires_at + Duration::from_millis(1))
            .await
            .unwrap(),
        None
    );
    // Remembering the same browser again replaces the record.
    let renewed = device("d1", &u, 2 * HOUR);
    f.store
        .insert_device(&renewed, clock::now(), 20)
        .await
        .unwrap();
    assert_eq!(f.store.find_device("d1", now).await.unwrap(), Some(renewed));
    assert_eq!(f.store.delete_user_devices(&u.id).await.unwrap(), 2);
    assert_eq!(f.store.find_device("d1", now).await.unwrap(), None);
    assert!(f.store.find_device("o1", now).await.unwrap().is_some());
}

/// An account keeps its `keep` most recently remembered browsers; other accounts' are untouched.
async fn an_account_keeps_its_most_recent_browsers(kind: Kind) {
    let f = store(kind).await;
    let (u, other) = (user("dana", "h"), user("otto", "h"));
    f.store
        .insert_device(&device("o1", &other, HOUR), clock::now(), 3)
        .await
        .unwrap();
    for i in 0..5u32 {
        let d = device(
            &format!("d{i}"),
            &u,
            HOUR + Duration::from_secs(u64::from(i)),
        );
        f.store.insert_device(&d, clock::now(), 3).await.unwrap();
    }
    let now = clock::now();
    let mut kept = Vec::new();
    for i in 0..5 {
        if f.store
            .find_device(&format!("d{i}"), now)
            .await
            .unwrap()
            .is_some()
        {
            kept.push(i);
        }
    }
    assert_eq!(kept, [2, 3, 4]);
    assert!(f.store.find_device("o1", now).await.unwrap().is_some());
}

crate::for_each_store!(
    devices_are_found_until_they_expire_and_go_with_their_account,
    an_account_keeps_its_most_recent_browsers,
);
