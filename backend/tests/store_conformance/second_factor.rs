//! The `SecondFactorStore` role: a pending secret put in force only by one conditional write,
//! single-use steps and recovery codes, and turning it all off.

use super::user;
use crate::support::{store, Kind};

async fn a_pending_secret_goes_into_force_once_with_its_recovery_codes(kind: Kind) {
    let f = store(kind).await;
    let u = user("ann", "h1");
    f.store.insert_user(&u).await.unwrap();
    assert!(!f.store.set_pending_totp("no-such-id", "S").await.unwrap());
    assert!(f.store.set_pending_totp(&u.id, "S1").await.unwrap());
    assert!(f.store.set_pending_totp(&u.id, "S2").await.unwrap());
    let codes = vec!["c1".to_owned(), "c2".to_owned(), "c3".to_owned()];
    // Only the latest pending secret can be confirmed.
    assert!(!f.store.enable_totp(&u.id, "S1", 7, &codes).await.unwrap());
    assert!(f.store.enable_totp(&u.id, "S2", 7, &codes).await.unwrap());
    assert!(!f.store.enable_totp(&u.id, "S2", 8, &codes).await.unwrap());
    let stored = f.store.find_user("ann").await.unwrap().unwrap();
    assert_eq!(stored.totp_secret.as_deref(), Some("S2"));
    assert_eq!((stored.totp_pending, stored.totp_last_step), (None, 7));
    assert_eq!(f.store.count_recovery_codes(&u.id).await.unwrap(), 3);

    // A new pending secret while one is in force cannot replace it.
    assert!(f.store.set_pending_totp(&u.id, "S3").await.unwrap());
    assert!(!f.store.enable_totp(&u.id, "S3", 9, &codes).await.unwrap());

    assert!(f.store.disable_totp(&u.id).await.unwrap());
    assert!(!f.store.disable_totp(&u.id).await.unwrap(), "already off");
    let stored = f.store.find_user("ann").await.unwrap().unwrap();
    assert_eq!((stored.totp_secret, stored.totp_pending), (None, None));
    assert_eq!(f.store.count_recovery_codes(&u.id).await.unwrap(), 0);
}

async fn steps_and_recovery_codes_work_once(kind: Kind) {
    let f = store(kind).await;
    let u = user("ann", "h1");
    let other = user("bob", "h1");
    f.store.insert_user(&u).await.unwrap();
    f.store.insert_user(&other).await.unwrap();
    f.store.set_pending_totp(&u.id, "S").await.unwrap();
    let codes = vec!["c1".to_owned(), "c2".to_owned()];
    f.store.enable_totp(&u.id, "S", 10, &codes).await.unwrap();

    assert!(
        !f.store.use_totp_step(&u.id, 10).await.unwrap(),
        "the confirming step"
    );
    assert!(f.store.use_totp_step(&u.id, 11).await.unwrap());
    assert!(!f.store.use_totp_step(&u.id, 11).await.unwrap());
    assert!(
        !f.store.use_totp_step(&u.id, 9).await.unwrap(),
        "never backwards"
    );

    assert!(
        !f.store.use_recovery_code(&other.id, "c1").await.unwrap(),
        "not bob's"
    );
    assert!(f.store.use_recovery_code(&u.id, "c1").await.unwrap());
    assert!(!f.store.use_recovery_code(&u.id, "c1").await.unwrap());
    assert_eq!(f.store.count_recovery_codes(&u.id).await.unwrap(), 1);

    // Of concurrent uses of one step, one wins.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (store, id) = (f.store.clone(), u.id.clone());
            tokio::spawn(async move { store.use_totp_step(&id, 12).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);

    // Deleting the account takes its codes along.
    assert!(f.store.delete_user("ann", "h1").await.unwrap());
    assert_eq!(f.store.count_recovery_codes(&u.id).await.unwrap(), 0);
}

crate::for_each_store!(
    a_pending_secret_goes_into_force_once_with_its_recovery_codes,
    steps_and_recovery_codes_work_once,
);
