//! The outbox (the `OutboxStore` role): a message is leased to one sender at a time, comes
//! back when a lease runs out (at least once), leaves when sent, and is retried or given up.

use std::time::Duration;

use accounts_server::{clock, store::MailRecord};
use time::OffsetDateTime;

use crate::support::{store, Kind};

const MINUTE: Duration = Duration::from_secs(60);

fn mail(id: &str, due: OffsetDateTime) -> MailRecord {
    MailRecord {
        id: id.to_owned(),
        recipient: "ann@example.org".into(),
        kind: "verify".into(),
        sealed: format!("sealed-{id}"),
        created_at: due,
        attempts: 0,
        next_attempt_at: due,
        lease_owner: None,
        last_error: None,
        failed: false,
    }
}

async fn a_message_goes_to_one_sender_and_back_when_its_lease_runs_out(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    assert_eq!(
        f.store.lease_mail("a", now, now + MINUTE).await.unwrap(),
        None
    );
    f.store
        .enqueue_mail(&mail("later", now + MINUTE))
        .await
        .unwrap();
    f.store.enqueue_mail(&mail("first", now)).await.unwrap();

    // Due first comes first; one not yet due stays.
    let leased = f
        .store
        .lease_mail("a", now, now + MINUTE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(leased.id, "first");
    assert_eq!(leased.sealed, "sealed-first");
    assert_eq!(leased.lease_owner.as_deref(), Some("a"));
    assert_eq!(
        f.store.lease_mail("b", now, now + MINUTE).await.unwrap(),
        None
    );

    // Sender a died: once its lease runs out, b takes both, and a can no longer finish.
    let later = now + MINUTE;
    let first = f
        .store
        .lease_mail("b", later, later + MINUTE)
        .await
        .unwrap()
        .unwrap();
    let second = f
        .store
        .lease_mail("b", later, later + MINUTE)
        .await
        .unwrap()
        .unwrap();
    let mut ids = [first.id.as_str(), second.id.as_str()];
    ids.sort_unstable();
    assert_eq!(ids, ["first", "later"]);
    assert!(!f.store.mail_sent("first", "a").await.unwrap());
    assert!(f.store.mail_sent("first", "b").await.unwrap());
    assert!(!f.store.mail_sent("first", "b").await.unwrap());
    assert_eq!(f.store.outbox().await.unwrap().len(), 1);
}

async fn a_failed_try_is_retried_later_or_given_up(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    f.store.enqueue_mail(&mail("m", now)).await.unwrap();
    f.store
        .lease_mail("a", now, now + MINUTE)
        .await
        .unwrap()
        .unwrap();
    assert!(!f
        .store
        .mail_failed("m", "b", "not mine", Some(now))
        .await
        .unwrap());
    assert!(f
        .store
        .mail_failed("m", "a", "connection refused", Some(now + 5 * MINUTE))
        .await
        .unwrap());
    let [waiting] = f.store.outbox().await.unwrap().try_into().unwrap();
    assert_eq!(waiting.attempts, 1);
    assert_eq!(waiting.next_attempt_at, now + 5 * MINUTE);
    assert_eq!(waiting.last_error.as_deref(), Some("connection refused"));
    assert_eq!((waiting.lease_owner, waiting.failed), (None, false));
    assert_eq!(
        f.store
            .lease_mail("a", now + MINUTE, now + 2 * MINUTE)
            .await
            .unwrap(),
        None
    );

    let at = now + 5 * MINUTE;
    f.store
        .lease_mail("a", at, at + MINUTE)
        .await
        .unwrap()
        .unwrap();
    assert!(f
        .store
        .mail_failed("m", "a", "550 no such user", None)
        .await
        .unwrap());
    let [given_up] = f.store.outbox().await.unwrap().try_into().unwrap();
    assert_eq!(given_up.attempts, 2);
    assert!(given_up.failed);
    assert_eq!(given_up.last_error.as_deref(), Some("550 no such user"));
    // Given up: never leased again.
    let much_later = at + 1000 * MINUTE;
    assert_eq!(
        f.store
            .lease_mail("a", much_later, much_later)
            .await
            .unwrap(),
        None
    );
}

async fn concurrent_senders_take_each_message_once(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    for i in 0..10 {
        f.store
            .enqueue_mail(&mail(&format!("m{i}"), now))
            .await
            .unwrap();
    }
    let senders: Vec<_> = (0..4)
        .map(|s| {
            let store = f.store.clone();
            tokio::spawn(async move {
                let owner = format!("sender{s}");
                let mut taken = Vec::new();
                while let Some(m) = store.lease_mail(&owner, now, now + MINUTE).await.unwrap() {
                    assert!(store.mail_sent(&m.id, &owner).await.unwrap());
                    taken.push(m.id);
                }
                taken
            })
        })
        .collect();
    let mut all = Vec::new();
    for s in senders {
        all.extend(s.await.unwrap());
    }
    all.sort();
    let expected: Vec<String> = {
        let mut e: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
        e.sort();
        e
    };
    assert_eq!(all, expected);
    assert!(f.store.outbox().await.unwrap().is_empty());
}

async fn sealed_content_is_replaced_only_while_unchanged(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    f.store.enqueue_mail(&mail("m", now)).await.unwrap();
    assert!(!f
        .store
        .replace_mail_sealed("m", "not it", "new")
        .await
        .unwrap());
    assert!(f
        .store
        .replace_mail_sealed("m", "sealed-m", "resealed-m")
        .await
        .unwrap());
    assert!(!f
        .store
        .replace_mail_sealed("gone", "sealed-m", "x")
        .await
        .unwrap());
    let [m] = f.store.outbox().await.unwrap().try_into().unwrap();
    assert_eq!(m.sealed, "resealed-m");
    assert_eq!((m.attempts, m.failed), (0, false), "nothing else changed");
}

crate::for_each_store!(
    sealed_content_is_replaced_only_while_unchanged,
    a_message_goes_to_one_sender_and_back_when_its_lease_runs_out,
    a_failed_try_is_retried_later_or_given_up,
    concurrent_senders_take_each_message_once,
);
