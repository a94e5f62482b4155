//! The `SecondFactorStore` role: a pending secret put in force only by one conditional write,
//! single-use steps and recovery codes, and turning it all off.

use super::{user, Sessions};
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
    // Dropping a pending secret leaves the one in force and the codes, and only drops the
    // one it names.
    assert!(!f.store.drop_pending_totp(&u.id, "S1").await.unwrap());
    assert!(f.store.drop_pending_totp(&u.id, "S3").await.unwrap());
    assert!(!f.store.drop_pending_totp(&u.id, "S3").await.unwrap());
    let stored = f.store.find_user("ann").await.unwrap().unwrap();
    assert_eq!(stored.totp_secret.as_deref(), Some("S2"));
    assert_eq!(stored.totp_pending, None);
    assert_eq!(f.store.count_recovery_codes(&u.id).await.unwrap(), 3);

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

/// Sealing a stored secret (or sealing it again with a newer key) replaces one slot only
/// while it still holds what was read, and changes nothing else; a session lookup sees it.
async fn a_stored_secret_is_replaced_only_while_unchanged(kind: Kind) {
    use accounts_server::store::TotpSlot;
    let f = store(kind).await;
    let u = user("ann", "h1");
    f.store.insert_user(&u).await.unwrap();
    f.store.set_pending_totp(&u.id, "S1").await.unwrap();
    f.store.enable_totp(&u.id, "S1", 7, &[]).await.unwrap();
    f.store.set_pending_totp(&u.id, "P1").await.unwrap();
    let s = super::session("t1", &u, super::HOUR);
    f.store.insert_session(&s).await.unwrap();
    let now = accounts_server::clock::now();
    let seen = f.store.look_up_session("t1", now).await.unwrap().unwrap();
    assert_eq!(seen.user.totp_secret.as_deref(), Some("S1"));

    let replace = |slot, expected: &'static str, new: &'static str| {
        let (store, id) = (f.store.clone(), u.id.clone());
        async move {
            store
                .replace_totp_secret(&id, slot, expected, new)
                .await
                .unwrap()
        }
    };
    assert!(
        !replace(TotpSlot::InForce, "P1", "S2").await,
        "not that slot's"
    );
    assert!(
        !replace(TotpSlot::Pending, "S1", "P2").await,
        "not that slot's"
    );
    assert!(replace(TotpSlot::InForce, "S1", "S2").await);
    assert!(
        !replace(TotpSlot::InForce, "S1", "S3").await,
        "changed meanwhile"
    );
    assert!(replace(TotpSlot::Pending, "P1", "P2").await);
    assert!(!f
        .store
        .replace_totp_secret("no-such-id", TotpSlot::InForce, "S2", "S3")
        .await
        .unwrap());
    let stored = f.store.find_user("ann").await.unwrap().unwrap();
    assert_eq!(
        (
            stored.totp_secret.as_deref(),
            stored.totp_pending.as_deref(),
            stored.totp_last_step
        ),
        (Some("S2"), Some("P2"), 7)
    );
    let seen = f.store.look_up_session("t1", now).await.unwrap().unwrap();
    assert_eq!(seen.user, stored, "no stale cached account");
}

crate::for_each_store!(
    a_pending_secret_goes_into_force_once_with_its_recovery_codes,
    steps_and_recovery_codes_work_once,
    a_stored_secret_is_replaced_only_while_unchanged,
);

async fn passkeys_belong_to_one_account_and_ceremonies_work_once(kind: Kind) {
    use accounts_server::{clock, store::PasskeyRecord};
    use std::time::Duration;
    let f = store(kind).await;
    let (ann, bob) = (user("ann", "h1"), user("bob", "h1"));
    f.store.insert_user(&ann).await.unwrap();
    f.store.insert_user(&bob).await.unwrap();
    assert_eq!(
        f.store
            .find_user_by_id(&ann.id)
            .await
            .unwrap()
            .unwrap()
            .name,
        "ann"
    );
    assert_eq!(f.store.find_user_by_id("no-such-id").await.unwrap(), None);

    let now = clock::now();
    let key = |id: &str, user: &str, at| PasskeyRecord {
        credential_id: id.into(),
        user_id: user.into(),
        name: format!("key {id}"),
        passkey: "{}".into(),
        created_at: at,
        last_used_at: None,
    };
    let later = now + Duration::from_secs(1);
    f.store
        .insert_passkey(&key("k2", &ann.id, later))
        .await
        .unwrap();
    f.store
        .insert_passkey(&key("k1", &ann.id, now))
        .await
        .unwrap();
    f.store
        .insert_passkey(&key("k3", &bob.id, now))
        .await
        .unwrap();
    let taken = f
        .store
        .insert_passkey(&key("k1", &bob.id, now))
        .await
        .unwrap_err();
    assert!(
        matches!(taken, accounts_server::store::StoreError::Duplicate),
        "{taken:?}"
    );
    let anns: Vec<_> = f.store.user_passkeys(&ann.id).await.unwrap();
    assert_eq!(
        anns.iter()
            .map(|p| p.credential_id.as_str())
            .collect::<Vec<_>>(),
        ["k1", "k2"]
    );
    assert_eq!(anns[0], key("k1", &ann.id, now));

    assert!(f
        .store
        .update_passkey("k1", "{\"n\":2}", later)
        .await
        .unwrap());
    let k1 = f.store.user_passkeys(&ann.id).await.unwrap().remove(0);
    assert_eq!(
        (k1.passkey.as_str(), k1.last_used_at),
        ("{\"n\":2}", Some(later))
    );
    assert!(
        !f.store.delete_passkey(&bob.id, "k1").await.unwrap(),
        "not bob's"
    );
    assert!(f.store.delete_passkey(&ann.id, "k1").await.unwrap());
    assert_eq!(f.store.delete_user_passkeys(&ann.id).await.unwrap(), 1);
    assert_eq!(f.store.user_passkeys(&bob.id).await.unwrap().len(), 1);

    let end = now + Duration::from_secs(300);
    f.store
        .insert_ceremony("c1", Some(&ann.id), "state-1", end)
        .await
        .unwrap();
    f.store
        .insert_ceremony("c2", None, "state-2", end)
        .await
        .unwrap();
    assert_eq!(
        f.store.take_ceremony("c1", now).await.unwrap(),
        Some((Some(ann.id.clone()), "state-1".to_owned()))
    );
    assert_eq!(
        f.store.take_ceremony("c1", now).await.unwrap(),
        None,
        "works once"
    );
    assert_eq!(
        f.store.take_ceremony("c2", end).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(f.store.take_ceremony("nope", now).await.unwrap(), None);
}

mod passkeys {
    crate::for_each_store!(passkeys_belong_to_one_account_and_ceremonies_work_once);
    use super::passkeys_belong_to_one_account_and_ceremonies_work_once;
}
