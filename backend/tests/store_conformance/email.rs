//! Email addresses (the `EmailStore` role): unique caselessly (by key), verified by one
//! conditional write of a token that works once, until it expires or is replaced.

use std::time::Duration;

use accounts_server::{
    clock,
    store::{NewEmail, StoreError},
};

use super::{session, user, Sessions, HOUR};
use crate::support::{store, Kind};

fn unverified<'a>(
    address: &'a str,
    key: &'a str,
    token: Option<(&'a str, time::OffsetDateTime)>,
) -> NewEmail<'a> {
    NewEmail {
        address,
        key,
        verified: false,
        token,
    }
}

async fn a_verified_address_is_unique_by_its_key(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    let (ann, bob) = (user("ann", "h"), user("bob", "h"));
    f.store.insert_user(&ann).await.unwrap();
    f.store.insert_user(&bob).await.unwrap();
    let stored = f.store.find_user("ann").await.unwrap().unwrap();
    assert_eq!((stored.email, stored.email_verified), (None, false));

    // Unverified, an address blocks no one and is found by no one.
    let mail = unverified(
        "Ann@Example.org",
        "ann@example.org",
        Some(("t-ann", now + HOUR)),
    );
    assert!(f.store.set_email(&ann.id, Some(mail)).await.unwrap());
    let squatter = unverified(
        "ANN@example.org",
        "ann@example.org",
        Some(("t-bob", now + HOUR)),
    );
    assert!(f.store.set_email(&bob.id, Some(squatter)).await.unwrap());
    assert_eq!(
        f.store.find_user_by_email("ann@example.org").await.unwrap(),
        None
    );
    let stored = f.store.find_user("ann").await.unwrap().unwrap();
    assert_eq!(stored.email.as_deref(), Some("Ann@Example.org"));
    assert!(!stored.email_verified);

    // Verified by its owner, it is hers: found by its key (not by another spelling), and
    // the other account's link can no longer verify it.
    assert!(f.store.verify_email("t-ann", now).await.unwrap().is_some());
    let found = f
        .store
        .find_user_by_email("ann@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, ann.id);
    assert_eq!(
        f.store.find_user_by_email("Ann@Example.org").await.unwrap(),
        None
    );
    assert!(matches!(
        f.store.verify_email("t-bob", now).await,
        Err(StoreError::Duplicate)
    ));
    assert!(
        !f.store
            .find_user("bob")
            .await
            .unwrap()
            .unwrap()
            .email_verified
    );
    // Nor can it be given to another account as verified.
    let taken = NewEmail {
        verified: true,
        ..unverified("ann@EXAMPLE.org", "ann@example.org", None)
    };
    assert!(matches!(
        f.store.set_email(&bob.id, Some(taken)).await,
        Err(StoreError::Duplicate)
    ));

    // Removed, the key is free again; an unknown account is no account.
    assert!(f.store.set_email(&ann.id, None).await.unwrap());
    assert_eq!(
        f.store.find_user_by_email("ann@example.org").await.unwrap(),
        None
    );
    assert!(f.store.set_email(&bob.id, Some(taken)).await.unwrap());
    assert!(
        f.store
            .find_user("bob")
            .await
            .unwrap()
            .unwrap()
            .email_verified
    );
    assert!(!f.store.set_email("no-such-id", None).await.unwrap());
}

async fn a_verification_token_works_once_until_it_expires_or_is_replaced(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    let ann = user("ann", "h");
    f.store.insert_user(&ann).await.unwrap();
    let mail = unverified(
        "ann@example.org",
        "ann@example.org",
        Some(("t1", now + HOUR)),
    );
    assert!(f.store.set_email(&ann.id, Some(mail)).await.unwrap());

    // Expired at `now + HOUR`; unknown tokens match nothing.
    assert_eq!(f.store.verify_email("t1", now + HOUR).await.unwrap(), None);
    assert_eq!(f.store.verify_email("other", now).await.unwrap(), None);
    // Replaced by a resend: the old token is void.
    assert!(f
        .store
        .set_email_token(&ann.id, "ann@example.org", "t2", now + HOUR)
        .await
        .unwrap());
    assert_eq!(f.store.verify_email("t1", now).await.unwrap(), None);
    let verified = f.store.verify_email("t2", now).await.unwrap().unwrap();
    assert_eq!(verified.id, ann.id);
    assert!(verified.email_verified);
    assert_eq!(f.store.verify_email("t2", now).await.unwrap(), None);
    // A verified address gets no new link; nor does another address than the one asked for.
    assert!(!f
        .store
        .set_email_token(&ann.id, "ann@example.org", "t3", now + HOUR)
        .await
        .unwrap());
    let mail = unverified(
        "ann@example.com",
        "ann@example.com",
        Some(("t4", now + HOUR)),
    );
    assert!(f.store.set_email(&ann.id, Some(mail)).await.unwrap());
    assert!(!f
        .store
        .set_email_token(&ann.id, "ann@example.org", "t5", now + HOUR)
        .await
        .unwrap());
    // A change of address voids the link sent to the old one.
    let mail = unverified("ann@example.net", "ann@example.net", None);
    assert!(f.store.set_email(&ann.id, Some(mail)).await.unwrap());
    assert_eq!(f.store.verify_email("t4", now).await.unwrap(), None);
    assert!(
        !f.store
            .find_user("ann")
            .await
            .unwrap()
            .unwrap()
            .email_verified
    );
}

async fn concurrent_uses_of_one_verification_token_have_one_winner(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    let ann = user("ann", "h");
    f.store.insert_user(&ann).await.unwrap();
    let mail = unverified(
        "ann@example.org",
        "ann@example.org",
        Some(("t", now + HOUR)),
    );
    f.store.set_email(&ann.id, Some(mail)).await.unwrap();
    let tries: Vec<_> = (0..8)
        .map(|_| {
            let store = f.store.clone();
            tokio::spawn(async move { store.verify_email("t", now).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for t in tries {
        wins += usize::from(t.await.unwrap().is_some());
    }
    assert_eq!(wins, 1);
}

/// A signed-in page shows the address: a session looked up after a change sees it.
async fn a_session_lookup_shows_the_current_address(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    let ann = user("ann", "h");
    f.store.insert_user(&ann).await.unwrap();
    f.store
        .insert_session(&session("s", &ann, HOUR))
        .await
        .unwrap();
    let found = f.store.look_up_session("s", now).await.unwrap().unwrap();
    assert_eq!(found.user.email, None);
    let mail = unverified(
        "ann@example.org",
        "ann@example.org",
        Some(("t", now + HOUR)),
    );
    f.store.set_email(&ann.id, Some(mail)).await.unwrap();
    let found = f.store.look_up_session("s", now).await.unwrap().unwrap();
    assert_eq!(found.user.email.as_deref(), Some("ann@example.org"));
    assert!(!found.user.email_verified);
    f.store
        .verify_email("t", now + Duration::from_secs(1))
        .await
        .unwrap()
        .unwrap();
    let found = f.store.look_up_session("s", now).await.unwrap().unwrap();
    assert!(found.user.email_verified);
}

crate::for_each_store!(
    a_verified_address_is_unique_by_its_key,
    a_verification_token_works_once_until_it_expires_or_is_replaced,
    concurrent_uses_of_one_verification_token_have_one_winner,
    a_session_lookup_shows_the_current_address,
);
