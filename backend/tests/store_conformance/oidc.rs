//! The OpenID Connect roles: apps (`ClientStore`), groups (`GroupStore`), grants, tokens and
//! consents (`GrantStore`), and signing keys (`SigningKeyStore`). What matters most: a
//! single-use token is used once even when two use it at once, and revoking a grant takes its
//! tokens with it.

use std::time::Duration;

use accounts_server::{
    clock,
    store::{
        ClientRecord, ConsentRecord, GrantRecord, SigningKeyRecord, StoreError, TokenKind,
        TokenRecord, TokenUse,
    },
};

use crate::{
    support::{store, Kind},
    user, HOUR,
};

fn client(id: &str) -> ClientRecord {
    ClientRecord {
        id: id.into(),
        name: format!("App {id}"),
        secret_hash: Some("h".into()),
        redirect_uris: vec![
            "https://app.example/cb".into(),
            "http://localhost:1/cb".into(),
        ],
        post_logout_uris: vec![],
        trusted: false,
        signing_alg: "RS256".into(),
        created_at: clock::now(),
    }
}

fn grant(id: &str, user_id: &str, client_id: &str, ttl: Duration) -> GrantRecord {
    let now = clock::now();
    GrantRecord {
        id: id.into(),
        client_id: client_id.into(),
        user_id: user_id.into(),
        scope: "openid email".into(),
        auth_time: now,
        amr: "pwd otp".into(),
        created_at: now,
        expires_at: now + ttl,
        generation: 3,
    }
}

fn token(hash: &str, kind: TokenKind, grant_id: &str, ttl: Duration) -> TokenRecord {
    TokenRecord {
        token_hash: hash.into(),
        kind,
        grant_id: grant_id.into(),
        client_id: "c1".into(),
        user_id: "u1".into(),
        scope: "openid".into(),
        expires_at: clock::now() + ttl,
        used: false,
        data: Some(r#"{"nonce":"n"}"#.into()),
    }
}

async fn apps_are_registered_listed_changed_and_removed(kind: Kind) {
    let f = store(kind).await;
    f.store.insert_client(&client("c1")).await.unwrap();
    f.store.insert_client(&client("c2")).await.unwrap();
    assert!(matches!(
        f.store.insert_client(&client("c1")).await,
        Err(StoreError::Duplicate)
    ));
    let found = f.store.find_client("c1").await.unwrap().unwrap();
    assert_eq!(found, client("c1").clone_with_time(found.created_at));
    let ids: Vec<_> = f
        .store
        .clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["c1", "c2"]);
    assert!(f.store.set_client_secret("c1", "h2").await.unwrap());
    assert_eq!(
        f.store
            .find_client("c1")
            .await
            .unwrap()
            .unwrap()
            .secret_hash
            .as_deref(),
        Some("h2")
    );
    assert!(!f.store.set_client_secret("nope", "h2").await.unwrap());
    assert!(f.store.delete_client("c1").await.unwrap());
    assert!(!f.store.delete_client("c1").await.unwrap());
    assert_eq!(f.store.find_client("c1").await.unwrap(), None);
}

trait WithTime {
    fn clone_with_time(self, t: time::OffsetDateTime) -> Self;
}

impl WithTime for ClientRecord {
    fn clone_with_time(mut self, t: time::OffsetDateTime) -> Self {
        self.created_at = t;
        self
    }
}

async fn groups_hold_members_once(kind: Kind) {
    let f = store(kind).await;
    f.store.insert_group("editors").await.unwrap();
    f.store.insert_group("admins").await.unwrap();
    assert!(matches!(
        f.store.insert_group("admins").await,
        Err(StoreError::Duplicate)
    ));
    assert!(f.store.add_group_member("editors", "u1").await.unwrap());
    assert!(
        f.store.add_group_member("editors", "u1").await.unwrap(),
        "idempotent"
    );
    assert!(f.store.add_group_member("admins", "u1").await.unwrap());
    assert!(f.store.add_group_member("admins", "u2").await.unwrap());
    assert!(!f.store.add_group_member("nobody", "u1").await.unwrap());
    assert_eq!(
        f.store.user_groups("u1").await.unwrap(),
        ["admins", "editors"]
    );
    let groups = f.store.groups().await.unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(
        (groups[0].name.as_str(), groups[0].members.clone()),
        ("admins", vec!["u1".to_owned(), "u2".to_owned()])
    );
    assert_eq!(groups[1].members, ["u1"], "added twice, there once");
    assert!(f.store.remove_group_member("admins", "u2").await.unwrap());
    assert!(!f.store.remove_group_member("admins", "u2").await.unwrap());
    f.store.remove_user_from_groups("u1").await.unwrap();
    assert!(f.store.user_groups("u1").await.unwrap().is_empty());
    assert!(f.store.delete_group("editors").await.unwrap());
    assert!(!f.store.delete_group("editors").await.unwrap());
    assert_eq!(f.store.groups().await.unwrap().len(), 1);
}

async fn a_single_use_token_is_used_once_even_at_once(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    f.store
        .insert_token(&token("code1", TokenKind::Code, "g1", HOUR), now)
        .await
        .unwrap();
    let uses: Vec<_> = (0..8)
        .map(|_| {
            let store = f.store.clone();
            tokio::spawn(async move {
                store
                    .use_token("code1", TokenKind::Code, clock::now())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut used = 0;
    let mut reused = 0;
    for u in uses {
        match u.await.unwrap() {
            TokenUse::Used(t) => {
                used += 1;
                assert_eq!(
                    (t.grant_id.as_str(), t.kind, t.used),
                    ("g1", TokenKind::Code, true)
                );
                assert_eq!(t.data.as_deref(), Some(r#"{"nonce":"n"}"#));
            }
            TokenUse::Reused(t) => {
                reused += 1;
                assert_eq!(t.grant_id, "g1", "a replay names the grant to revoke");
            }
            TokenUse::Unknown => panic!("the token exists"),
        }
    }
    assert_eq!((used, reused), (1, 7));
    // A token of another kind is not used up by being sent as this one.
    f.store
        .insert_token(&token("r1", TokenKind::Refresh, "g1", HOUR), now)
        .await
        .unwrap();
    assert_eq!(
        f.store.use_token("r1", TokenKind::Code, now).await.unwrap(),
        TokenUse::Unknown
    );
    assert!(matches!(
        f.store
            .use_token("r1", TokenKind::Refresh, now)
            .await
            .unwrap(),
        TokenUse::Used(_)
    ));
    assert_eq!(
        f.store
            .use_token("nope", TokenKind::Code, now)
            .await
            .unwrap(),
        TokenUse::Unknown
    );
    // Expired: unknown, used or not.
    f.store
        .insert_token(
            &token("old", TokenKind::Refresh, "g1", Duration::from_millis(1)),
            now,
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        f.store
            .use_token("old", TokenKind::Refresh, clock::now())
            .await
            .unwrap(),
        TokenUse::Unknown
    );
    assert_eq!(f.store.find_token("old", clock::now()).await.unwrap(), None);
}

async fn revoking_a_grant_revokes_its_tokens(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    for (g, u, c) in [("g1", "u1", "c1"), ("g2", "u1", "c2"), ("g3", "u2", "c1")] {
        f.store.insert_grant(&grant(g, u, c, HOUR)).await.unwrap();
        f.store
            .insert_token(&token(&format!("a-{g}"), TokenKind::Access, g, HOUR), now)
            .await
            .unwrap();
        f.store
            .insert_token(&token(&format!("r-{g}"), TokenKind::Refresh, g, HOUR), now)
            .await
            .unwrap();
    }
    assert!(matches!(
        f.store.insert_grant(&grant("g1", "u1", "c1", HOUR)).await,
        Err(StoreError::Duplicate)
    ));
    let g1 = f.store.find_grant("g1", now).await.unwrap().unwrap();
    assert_eq!(
        (g1.amr.as_str(), g1.scope.as_str(), g1.generation),
        ("pwd otp", "openid email", 3)
    );
    assert!(f.store.extend_grant("g1", now + HOUR * 2).await.unwrap());
    assert!(f
        .store
        .find_grant("g1", now + HOUR + HOUR / 2)
        .await
        .unwrap()
        .is_some());

    assert!(f.store.delete_grant("g1").await.unwrap());
    assert!(!f.store.delete_grant("g1").await.unwrap());
    assert_eq!(f.store.find_token("a-g1", now).await.unwrap(), None);
    assert_eq!(f.store.find_token("r-g1", now).await.unwrap(), None);
    assert!(f.store.find_token("a-g2", now).await.unwrap().is_some());

    assert_eq!(
        f.store.delete_user_grants("u1", Some("c2")).await.unwrap(),
        1
    );
    assert_eq!(f.store.find_token("a-g2", now).await.unwrap(), None);
    assert!(f.store.find_token("a-g3", now).await.unwrap().is_some());
    f.store
        .set_consent(&ConsentRecord {
            user_id: "u2".into(),
            client_id: "c1".into(),
            scope: "openid".into(),
            granted_at: now,
        })
        .await
        .unwrap();
    assert_eq!(f.store.delete_client_grants("c1").await.unwrap(), 1);
    assert_eq!(f.store.find_token("r-g3", now).await.unwrap(), None);
    assert_eq!(
        f.store.find_consent("u2", "c1").await.unwrap(),
        None,
        "consents to the app go too"
    );

    // Deleting one token leaves the others.
    f.store
        .insert_grant(&grant("g4", "u1", "c1", HOUR))
        .await
        .unwrap();
    f.store
        .insert_token(&token("a-g4", TokenKind::Access, "g4", HOUR), now)
        .await
        .unwrap();
    f.store
        .insert_token(&token("b-g4", TokenKind::Access, "g4", HOUR), now)
        .await
        .unwrap();
    assert_eq!(
        f.store
            .delete_token("a-g4")
            .await
            .unwrap()
            .unwrap()
            .grant_id,
        "g4"
    );
    assert_eq!(f.store.delete_token("a-g4").await.unwrap(), None);
    assert!(f.store.find_token("b-g4", now).await.unwrap().is_some());
    assert_eq!(f.store.delete_user_grants("u1", None).await.unwrap(), 1);
    assert_eq!(f.store.find_token("b-g4", now).await.unwrap(), None);
    // An expired grant is not found.
    f.store
        .insert_grant(&grant("g5", "u1", "c1", Duration::from_millis(1)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(f.store.find_grant("g5", clock::now()).await.unwrap(), None);
}

async fn consents_are_remembered_per_app(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    let consent = |c: &str, scope: &str| ConsentRecord {
        user_id: "u1".into(),
        client_id: c.into(),
        scope: scope.into(),
        granted_at: now,
    };
    f.store.set_consent(&consent("c1", "openid")).await.unwrap();
    f.store
        .set_consent(&consent("c1", "openid email"))
        .await
        .unwrap();
    f.store.set_consent(&consent("c2", "openid")).await.unwrap();
    assert_eq!(
        f.store
            .find_consent("u1", "c1")
            .await
            .unwrap()
            .unwrap()
            .scope,
        "openid email",
        "replaced, not added"
    );
    assert_eq!(f.store.find_consent("u2", "c1").await.unwrap(), None);
    let all = f.store.user_consents("u1").await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(f.store.delete_consents("u1", Some("c1")).await.unwrap(), 1);
    assert_eq!(f.store.delete_consents("u1", None).await.unwrap(), 1);
    assert!(f.store.user_consents("u1").await.unwrap().is_empty());
}

async fn signing_keys_are_kept_and_resealed_by_compare_and_swap(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    let key = |kid: &str, alg: &str| SigningKeyRecord {
        kid: kid.into(),
        alg: alg.into(),
        sealed: format!("sealed-{kid}"),
        public_jwk: format!(r#"{{"kid":"{kid}"}}"#),
        created_at: now,
        active_from: now + HOUR,
    };
    f.store
        .insert_signing_key(&key("k1", "RS256"))
        .await
        .unwrap();
    f.store
        .insert_signing_key(&key("k2", "EdDSA"))
        .await
        .unwrap();
    let keys = f.store.signing_keys().await.unwrap();
    assert_eq!(keys.len(), 2);
    let k1 = keys.iter().find(|k| k.kid == "k1").unwrap();
    assert_eq!(
        (k1.alg.as_str(), k1.sealed.as_str()),
        ("RS256", "sealed-k1")
    );
    assert_eq!(
        clock::to_millis(k1.active_from),
        clock::to_millis(now + HOUR)
    );
    assert!(!f
        .store
        .replace_signing_key_sealed("k1", "wrong", "new")
        .await
        .unwrap());
    assert!(f
        .store
        .replace_signing_key_sealed("k1", "sealed-k1", "new")
        .await
        .unwrap());
    assert!(!f
        .store
        .replace_signing_key_sealed("k1", "sealed-k1", "newer")
        .await
        .unwrap());
    assert!(f.store.delete_signing_key("k2").await.unwrap());
    assert!(!f.store.delete_signing_key("k2").await.unwrap());
    let keys = f.store.signing_keys().await.unwrap();
    assert_eq!((keys.len(), keys[0].sealed.as_str()), (1, "new"));
}

async fn an_accounts_sessions_are_listed_with_where_they_came_from(kind: Kind) {
    use crate::Sessions as _;
    let f = store(kind).await;
    let ada = user("ada", "h");
    f.store.insert_user(&ada).await.unwrap();
    let mut first = crate::session("s1", &ada, HOUR);
    first.amr = "hwk".into();
    first.browser = "Firefox on Linux".into();
    first.ip_prefix = "203.0.113.0/24".into();
    f.store.insert_session(&first).await.unwrap();
    f.store
        .insert_session(&crate::session("s2", &ada, HOUR))
        .await
        .unwrap();
    let listed = f.store.user_sessions(&ada.id, clock::now()).await.unwrap();
    assert_eq!(listed.len(), 2);
    let s1 = listed.iter().find(|s| s.token_hash == "s1").unwrap();
    assert_eq!(
        (s1.amr.as_str(), s1.browser.as_str(), s1.ip_prefix.as_str()),
        ("hwk", "Firefox on Linux", "203.0.113.0/24")
    );
    let found = f
        .store
        .look_up_session("s1", clock::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.session.amr, "hwk");
    assert!(f
        .store
        .user_sessions("nobody", clock::now())
        .await
        .unwrap()
        .is_empty());
}

async fn a_refresh_uses_the_old_token_once_and_stores_the_next(kind: Kind) {
    let f = store(kind).await;
    let now = clock::now();
    f.store
        .insert_grant(&grant("g1", "u1", "c1", HOUR))
        .await
        .unwrap();
    f.store
        .insert_token(&token("r0", TokenKind::Refresh, "g1", HOUR), now)
        .await
        .unwrap();
    let next = [
        token("a1", TokenKind::Access, "g1", HOUR),
        token("r1", TokenKind::Refresh, "g1", HOUR),
    ];
    // Two at once: one stores its tokens, the other hears of a replay.
    let (one, two) = tokio::join!(
        f.store.refresh("r0", &next, now + HOUR * 5, now),
        f.store.refresh("r0", &next, now + HOUR * 5, now)
    );
    let outcomes = [one.unwrap(), two.unwrap()];
    assert_eq!(
        outcomes
            .iter()
            .filter(|u| matches!(u, TokenUse::Used(_)))
            .count(),
        1
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|u| matches!(u, TokenUse::Reused(_)))
            .count(),
        1
    );
    assert!(
        f.store
            .find_grant("g1", now + HOUR * 4)
            .await
            .unwrap()
            .is_some(),
        "extended"
    );
    // The access token is valid while its grant is; a refresh token is not an access token.
    assert_eq!(
        f.store.find_access("a1", now).await.unwrap().unwrap().kind,
        TokenKind::Access
    );
    assert_eq!(f.store.find_access("r1", now).await.unwrap(), None);
    assert!(f.store.delete_grant("g1").await.unwrap());
    assert_eq!(f.store.find_access("a1", now).await.unwrap(), None);
    // A grant revoked meanwhile: nothing new is stored.
    f.store
        .insert_grant(&grant("g2", "u1", "c1", HOUR))
        .await
        .unwrap();
    f.store
        .insert_token(&token("r2", TokenKind::Refresh, "g2", HOUR), now)
        .await
        .unwrap();
    f.store.extend_grant("g2", now).await.unwrap();
    let later = [token("a3", TokenKind::Access, "g2", HOUR)];
    assert_eq!(
        f.store
            .refresh("r2", &later, now + HOUR, now + Duration::from_millis(1))
            .await
            .unwrap(),
        TokenUse::Unknown
    );
    assert_eq!(f.store.find_token("a3", now).await.unwrap(), None);
}

crate::for_each_store!(
    a_refresh_uses_the_old_token_once_and_stores_the_next,
    apps_are_registered_listed_changed_and_removed,
    groups_hold_members_once,
    a_single_use_token_is_used_once_even_at_once,
    revoking_a_grant_revokes_its_tokens,
    consents_are_remembered_per_app,
    signing_keys_are_kept_and_resealed_by_compare_and_swap,
    an_accounts_sessions_are_listed_with_where_they_came_from
);
