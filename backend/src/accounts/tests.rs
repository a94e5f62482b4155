//! The use cases against a real (temporary) SQLite store, cheap Argon2 and a manual clock: time
//! rules are tested by moving the clock, never by sleeping.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::*;
use crate::{
    clock::ManualClock,
    password::Hasher,
    store::{sqlite::SqliteStore, SecondFactorStore, StoreResult, UserRecord, UserStore},
    throttle::ThrottlePolicy,
};

const MINUTE: Duration = Duration::from_secs(60);

struct Fixture {
    accounts: Accounts,
    /// The database, to read behind the use cases' back.
    store: Arc<SqliteStore>,
    /// The users role the services are given: the database, able to interfere.
    users: Arc<Interfering>,
    clock: ManualClock,
    /// The data key the services seal with (services built on the same store need it).
    keys: Arc<DataKeys>,
    _dir: tempfile::TempDir,
}

fn settings() -> Settings {
    Settings {
        policy: PasswordPolicy {
            min_length: 8,
            max_length: 256,
        },
        password_max_age: None,
        session_ttl: Duration::from_secs(3600),
        throttle: ThrottlePolicy {
            lockout_threshold: 2,
            lockout_duration: MINUTE,
            ip_rate_limit: 0,
            ipv6_prefix: 64,
        },
        reauth_window: Duration::from_secs(300),
    }
}

fn hasher(memory_kib: u32) -> Hasher {
    let params = argon2::Params::new(memory_kib, 1, 1, None).unwrap();
    Hasher::new(params, 2, Duration::from_secs(60)).unwrap()
}

fn fixture(adjust: impl FnOnce(&mut Settings)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let users = Arc::new(Interfering {
        inner: store.clone(),
        steal_next_swap: AtomicBool::new(false),
        revoke_after_next_find: AtomicBool::new(false),
    });
    let clock = ManualClock::new();
    let mut s = settings();
    adjust(&mut s);
    let roles = Roles {
        users: users.clone(),
        ..Roles::of(store.clone())
    };
    let keys = Arc::new(DataKeys::ephemeral());
    let accounts = Accounts::from_roles(
        roles,
        hasher(1024),
        Arc::new(clock.clone()),
        s,
        keys.clone(),
    );
    accounts.secrets.assume_checked();
    Fixture {
        accounts,
        store,
        users,
        clock,
        keys,
        _dir: dir,
    }
}

fn pw(s: &str) -> Password {
    s.into()
}

const CLIENT: Client = Client {
    ip: None,
    device: None,
    browser: crate::client::Browser::UNKNOWN,
};

#[tokio::test]
async fn a_password_expires_after_its_maximum_age_and_changing_it_is_the_way_out() {
    let f = fixture(|s| s.password_max_age = Some(MINUTE));
    f.accounts
        .sign_in
        .register("Ada", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    f.clock.advance(MINUTE);
    // Exactly the maximum age is still fine...
    f.accounts
        .sign_in
        .login("ada", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    // ...a millisecond more is not.
    f.clock.advance(Duration::from_millis(1));
    let e = f
        .accounts
        .sign_in
        .login("ada", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap_err();
    assert!(matches!(e, AccountError::PasswordExpired), "{e:?}");
    f.accounts
        .sign_in
        .change_password(
            "ada",
            &pw("first pass phrase"),
            &pw("second pass phrase"),
            CLIENT,
        )
        .await
        .unwrap();
    let logged_in = f
        .accounts
        .sign_in
        .login("ada", &pw("second pass phrase"), None, CLIENT)
        .await
        .unwrap();
    let signed_in = f.accounts.sign_in.session(&logged_in.token).await.unwrap();
    assert_eq!(signed_in.found.session.created_at, f.clock.now());
    assert_eq!(
        (logged_in.expires_at, signed_in.expires_at()),
        (
            f.clock.now() + Duration::from_secs(3600),
            f.clock.now() + Duration::from_secs(3600)
        )
    );
}

#[tokio::test]
async fn locks_start_at_the_threshold_double_with_each_failure_and_end_by_themselves() {
    let f = fixture(|_| {});
    f.accounts
        .sign_in
        .register("bob", &pw("hunter pass phrase"), None, CLIENT)
        .await
        .unwrap();
    let attempt = |password: &'static str| {
        let accounts = f.accounts.clone();
        async move {
            accounts
                .sign_in
                .login("bob", &pw(password), None, CLIENT)
                .await
        }
    };
    for _ in 0..2 {
        assert!(matches!(
            attempt("wrong").await,
            Err(AccountError::InvalidCredentials)
        ));
    }
    // Threshold reached: locked for the first lock duration, right password or not.
    let locked = |r: AccountResult<LoggedIn>| match r {
        Err(AccountError::RateLimited { retry_after }) => retry_after,
        other => panic!("expected a lock, got {other:?}"),
    };
    assert_eq!(locked(attempt("hunter pass phrase").await), MINUTE);
    f.clock.advance(MINUTE / 2);
    assert_eq!(locked(attempt("wrong").await), MINUTE / 2);

    // The lock ends by itself; one more failure locks again for twice as long.
    f.clock.advance(MINUTE / 2);
    assert!(matches!(
        attempt("wrong").await,
        Err(AccountError::InvalidCredentials)
    ));
    assert_eq!(locked(attempt("hunter pass phrase").await), 2 * MINUTE);
    f.clock.advance(2 * MINUTE);
    assert!(matches!(
        attempt("wrong").await,
        Err(AccountError::InvalidCredentials)
    ));
    assert_eq!(locked(attempt("wrong").await), 4 * MINUTE);

    // After the lock, the right password works and forgets the failures.
    f.clock.advance(4 * MINUTE);
    attempt("hunter pass phrase").await.unwrap();
    assert!(matches!(
        attempt("wrong").await,
        Err(AccountError::InvalidCredentials)
    ));
    assert!(matches!(
        attempt("wrong").await,
        Err(AccountError::InvalidCredentials)
    ));
    assert_eq!(locked(attempt("wrong").await), MINUTE);
}

#[tokio::test]
async fn guesses_sent_at_once_are_checked_only_up_to_the_threshold() {
    let f = fixture(|_| {});
    f.accounts
        .sign_in
        .register("gus", &pw("hunter pass phrase"), None, CLIENT)
        .await
        .unwrap();
    let guesses: Vec<_> = (0..8)
        .map(|_| {
            let accounts = f.accounts.clone();
            tokio::spawn(async move {
                accounts
                    .sign_in
                    .login("gus", &pw("wrong pass phrase"), None, CLIENT)
                    .await
            })
        })
        .collect();
    let (mut checked, mut refused) = (0, 0);
    for guess in guesses {
        match guess.await.unwrap() {
            Err(AccountError::InvalidCredentials) => checked += 1,
            Err(AccountError::RateLimited { .. }) => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((checked, refused), (2, 6), "threshold 2");
}

#[tokio::test]
async fn a_login_shed_for_load_does_not_count_as_a_failed_attempt() {
    let f = fixture(|_| {});
    // One thread, a slow dummy hash (unknown names are checked against it) and a bound no
    // waiting check meets: while one check runs, every other is shed.
    let params = argon2::Params::new(64 * 1024, 3, 1, None).unwrap();
    let shedding = Accounts::new(
        f.store.clone(),
        Hasher::new(params, 1, Duration::from_nanos(1)).unwrap(),
        Arc::new(f.clock.clone()),
        settings(),
        Arc::new(DataKeys::ephemeral()),
    );
    let wrong = pw("wrong pass phrase");
    let attempts = (0..5).map(|_| shedding.sign_in.login("nobody", &wrong, None, CLIENT));
    let results = futures::future::join_all(attempts).await;
    let checked = results
        .iter()
        .filter(|r| matches!(r, Err(AccountError::InvalidCredentials)))
        .count();
    let shed = results
        .iter()
        .filter(|r| matches!(r, Err(AccountError::Overloaded)))
        .count();
    assert_eq!((checked, shed), (1, 4), "{results:?}");
    // Threshold 2: one failure so far, so one more is checked. Had the four shed attempts
    // counted, the name would be locked now.
    assert!(matches!(
        f.accounts
            .sign_in
            .login("nobody", &pw("wrong pass phrase"), None, CLIENT)
            .await,
        Err(AccountError::InvalidCredentials)
    ));
    assert!(matches!(
        f.accounts
            .sign_in
            .login("nobody", &pw("wrong pass phrase"), None, CLIENT)
            .await,
        Err(AccountError::RateLimited { .. })
    ));
}

#[tokio::test]
async fn a_password_change_that_loses_the_compare_and_swap_changes_nothing() {
    let f = fixture(|_| {});
    f.accounts
        .sign_in
        .register("cyril", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    let session = f
        .accounts
        .sign_in
        .login("cyril", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    // Another request replaces the hash between our check and our write.
    f.users.steal_next_swap.store(true, Ordering::SeqCst);
    let e = f
        .accounts
        .sign_in
        .change_password(
            "cyril",
            &pw("first pass phrase"),
            &pw("second pass phrase"),
            CLIENT,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, AccountError::InvalidCredentials), "{e:?}");
    let stored = f.store.find_user("cyril").await.unwrap().unwrap();
    assert_eq!(stored.password_hash, STOLEN);
    // The loser revoked nothing: that is the winner's business.
    f.accounts.sign_in.session(&session.token).await.unwrap();
}

#[tokio::test]
async fn a_login_replaces_a_hash_made_with_older_parameters() {
    let f = fixture(|_| {});
    f.accounts
        .sign_in
        .register("deirdre", &pw("a long pass phrase"), None, CLIENT)
        .await
        .unwrap();
    let old = f
        .store
        .find_user("deirdre")
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert!(old.contains("m=1024"), "{old}");
    let upgraded = Accounts::new(
        f.store.clone(),
        hasher(2048),
        Arc::new(f.clock.clone()),
        settings(),
        Arc::new(DataKeys::ephemeral()),
    );
    upgraded
        .sign_in
        .login("deirdre", &pw("a long pass phrase"), None, CLIENT)
        .await
        .unwrap();
    let new = f.store.find_user("deirdre").await.unwrap().unwrap();
    assert!(
        new.password_hash.contains("m=2048"),
        "{}",
        new.password_hash
    );
    // A rehash is not a password change.
    assert_eq!(new.password_changed_at, new.created_at);
    upgraded
        .sign_in
        .login("deirdre", &pw("a long pass phrase"), None, CLIENT)
        .await
        .unwrap();
    assert_eq!(
        f.store
            .find_user("deirdre")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        new.password_hash,
        "an up-to-date hash is left alone"
    );
}

#[tokio::test]
async fn a_session_ends_at_its_expiry_and_with_a_password_change() {
    let f = fixture(|_| {});
    f.accounts
        .sign_in
        .register("evelyn", &pw("a long pass phrase"), None, CLIENT)
        .await
        .unwrap();
    let a = f
        .accounts
        .sign_in
        .login("evelyn", &pw("a long pass phrase"), None, CLIENT)
        .await
        .unwrap();
    f.clock.advance(Duration::from_secs(3599));
    f.accounts.sign_in.session(&a.token).await.unwrap();
    f.clock.advance(Duration::from_secs(1));
    assert!(matches!(
        f.accounts.sign_in.session(&a.token).await,
        Err(AccountError::Unauthenticated)
    ));
    let b = f
        .accounts
        .sign_in
        .login("evelyn", &pw("a long pass phrase"), None, CLIENT)
        .await
        .unwrap();
    f.accounts
        .sign_in
        .change_password(
            "evelyn",
            &pw("a long pass phrase"),
            &pw("another pass phrase"),
            CLIENT,
        )
        .await
        .unwrap();
    assert!(matches!(
        f.accounts.sign_in.session(&b.token).await,
        Err(AccountError::Unauthenticated)
    ));
}

#[tokio::test]
async fn a_reset_link_works_once_until_it_expires_or_a_newer_one_replaces_it() {
    let f = fixture(|_| {});
    f.accounts
        .sign_in
        .register("Ada", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    let reset = |token: String, password: &'static str| {
        let accounts = f.accounts.clone();
        async move {
            accounts
                .recovery
                .reset_password(&token, &pw(password), None, CLIENT)
                .await
        }
    };
    let invalid = |r: AccountResult<Account>| {
        assert!(
            matches!(r, Err(AccountError::InvalidResetToken)),
            "{:?}",
            r.map(|u| u.name)
        )
    };

    // Expired: a millisecond past its lifetime.
    let old = f
        .accounts
        .operator
        .issue_reset_token("ADA", MINUTE, false)
        .await
        .unwrap();
    f.clock.advance(MINUTE + Duration::from_millis(1));
    invalid(reset(old.token.as_str().to_owned(), "second pass phrase").await);

    // Replaced by a newer link.
    let older = f
        .accounts
        .operator
        .issue_reset_token("ada", MINUTE, false)
        .await
        .unwrap();
    let newer = f
        .accounts
        .operator
        .issue_reset_token("ada", MINUTE, false)
        .await
        .unwrap();
    invalid(reset(older.token.as_str().to_owned(), "second pass phrase").await);

    // The policy applies, and a refused password leaves the link usable.
    let e = reset(newer.token.as_str().to_owned(), "ada-ada-ada")
        .await
        .unwrap_err();
    assert!(
        matches!(e, AccountError::Invalid(ref v) if v[0].field == "newpassword"),
        "{e:?}"
    );

    // Works once, in its last millisecond.
    f.clock.advance(MINUTE - Duration::from_millis(1));
    let user = reset(newer.token.as_str().to_owned(), "second pass phrase")
        .await
        .unwrap();
    assert_eq!(user.password_changed_at, f.clock.now());
    invalid(reset(newer.token.as_str().to_owned(), "third pass phrase").await);
    invalid(reset("not a token".into(), "third pass phrase").await);
    f.accounts
        .sign_in
        .login("ada", &pw("second pass phrase"), None, CLIENT)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_reset_revokes_sessions_clears_the_lock_and_the_operators_expiry() {
    let f = fixture(|_| {});
    f.accounts
        .sign_in
        .register("Ada", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    let session = f
        .accounts
        .sign_in
        .login("ada", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    for _ in 0..3 {
        let _ = f
            .accounts
            .sign_in
            .login("ada", &pw("wrong"), None, CLIENT)
            .await;
    }
    assert!(f
        .accounts
        .operator
        .account_status("ada")
        .await
        .unwrap()
        .locked_until
        .is_some());
    f.accounts.operator.expire_password("ada").await.unwrap();
    let issued = f
        .accounts
        .operator
        .issue_reset_token("ada", MINUTE, false)
        .await
        .unwrap();
    f.clock.advance(Duration::from_secs(1));
    f.accounts
        .recovery
        .reset_password(
            issued.token.as_str(),
            &pw("second pass phrase"),
            None,
            CLIENT,
        )
        .await
        .unwrap();
    assert!(matches!(
        f.accounts.sign_in.session(&session.token).await,
        Err(AccountError::Unauthenticated)
    ));
    let status = f.accounts.operator.account_status("ada").await.unwrap();
    assert_eq!(
        (
            status.locked_until,
            status.password_expired,
            status.reset_link_expires_at
        ),
        (None, false, None)
    );
    f.accounts
        .sign_in
        .login("ada", &pw("second pass phrase"), None, CLIENT)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_password_change_voids_a_pending_reset_link() {
    let f = fixture(|_| {});
    f.accounts
        .sign_in
        .register("Ada", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    let issued = f
        .accounts
        .operator
        .issue_reset_token("ada", MINUTE, false)
        .await
        .unwrap();
    f.accounts
        .sign_in
        .change_password(
            "ada",
            &pw("first pass phrase"),
            &pw("second pass phrase"),
            CLIENT,
        )
        .await
        .unwrap();
    let r = f
        .accounts
        .recovery
        .reset_password(
            issued.token.as_str(),
            &pw("third pass phrase"),
            None,
            CLIENT,
        )
        .await;
    assert!(matches!(r, Err(AccountError::InvalidResetToken)));
}

#[tokio::test]
async fn a_disabled_account_tells_only_the_right_password_and_loses_its_sessions() {
    let f = fixture(|_| {});
    f.accounts
        .sign_in
        .register("Ada", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    let session = f
        .accounts
        .sign_in
        .login("ada", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    let (_, revoked) = f.accounts.operator.set_disabled("ADA", true).await.unwrap();
    assert_eq!(revoked, 1);
    assert!(matches!(
        f.accounts.sign_in.session(&session.token).await,
        Err(AccountError::Unauthenticated)
    ));
    let login = |password: &'static str| {
        let accounts = f.accounts.clone();
        async move {
            accounts
                .sign_in
                .login("ada", &pw(password), None, CLIENT)
                .await
        }
    };
    assert!(matches!(
        login("first pass phrase").await,
        Err(AccountError::AccountDisabled)
    ));
    assert!(matches!(
        login("wrong").await,
        Err(AccountError::InvalidCredentials)
    ));
    f.accounts
        .operator
        .set_disabled("ada", false)
        .await
        .unwrap();
    login("first pass phrase").await.unwrap();
}

#[tokio::test]
async fn operators_name_accounts_like_logins_and_unknown_names_are_said_to_be_unknown() {
    let f = fixture(|_| {});
    f.accounts
        .sign_in
        .register("Straße", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    assert_eq!(
        f.accounts
            .operator
            .account_status("STRASSE")
            .await
            .unwrap()
            .user_name,
        "Straße"
    );
    let (_, was_locked) = f.accounts.operator.unlock("strasse").await.unwrap();
    assert_eq!(was_locked, None);
    for name in ["nobody", "x", ""] {
        assert!(
            matches!(
                f.accounts.operator.account_status(name).await,
                Err(AccountError::NoSuchAccount(_))
            ),
            "{name}"
        );
    }
    f.accounts.operator.remove_account("STRASSE").await.unwrap();
    assert!(f
        .accounts
        .operator
        .account_statuses()
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn unlock_ends_a_lock_and_expire_password_asks_for_a_new_one() {
    let f = fixture(|_| {});
    f.accounts
        .sign_in
        .register("Ada", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    for _ in 0..3 {
        let _ = f
            .accounts
            .sign_in
            .login("ada", &pw("wrong"), None, CLIENT)
            .await;
    }
    // Two failures reach the threshold; the third is refused by the lock, uncounted.
    let (_, was_locked) = f.accounts.operator.unlock("ada").await.unwrap();
    assert_eq!(was_locked, Some(f.clock.now() + MINUTE));
    f.accounts
        .sign_in
        .login("ada", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    f.accounts.operator.expire_password("ada").await.unwrap();
    assert!(matches!(
        f.accounts
            .sign_in
            .login("ada", &pw("first pass phrase"), None, CLIENT)
            .await,
        Err(AccountError::PasswordExpired)
    ));
    f.accounts
        .sign_in
        .change_password(
            "ada",
            &pw("first pass phrase"),
            &pw("second pass phrase"),
            CLIENT,
        )
        .await
        .unwrap();
    f.accounts
        .sign_in
        .login("ada", &pw("second pass phrase"), None, CLIENT)
        .await
        .unwrap();
}

/// The current code of a base32 secret at the fixture clock's time, `steps` steps away.
fn code_at(f: &Fixture, secret: &str, steps: i64) -> String {
    let key = crate::totp::base32_decode(secret).unwrap();
    let step = crate::totp::step_at(f.clock.now()) + steps;
    format!("{:06}", crate::totp::hotp(&key, step as u64))
}

/// Ada, registered and signed in, with two-factor login on: her secret and recovery codes.
async fn with_totp(f: &Fixture) -> (String, Vec<String>) {
    f.accounts
        .sign_in
        .register("Ada", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    let logged_in = f
        .accounts
        .sign_in
        .login("ada", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    let signed_in = f.accounts.sign_in.session(&logged_in.token).await.unwrap();
    let e = f
        .accounts
        .second_factor
        .start_setup(&signed_in, Some(&pw("wrong")), CLIENT)
        .await
        .unwrap_err();
    assert!(matches!(e, AccountError::InvalidCredentials), "{e:?}");
    let pending = f
        .accounts
        .second_factor
        .start_setup(&signed_in, Some(&pw("first pass phrase")), CLIENT)
        .await
        .unwrap();
    assert!(pending.otpauth_uri.contains(&pending.secret));
    // Not in force until confirmed: the password alone still logs in.
    f.accounts
        .sign_in
        .login("ada", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    let signed_in = f.accounts.sign_in.session(&logged_in.token).await.unwrap();
    let wrong = f
        .accounts
        .second_factor
        .confirm(&signed_in, "000000", CLIENT)
        .await;
    assert!(matches!(wrong, Err(AccountError::InvalidCode)));
    let codes = f
        .accounts
        .second_factor
        .confirm(&signed_in, &code_at(f, &pending.secret, 0), CLIENT)
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    (pending.secret, codes)
}

fn with_code<'a>(password: &'a Password, code: &'a str) -> Proof<'a> {
    Proof {
        password,
        code: Some(code),
    }
}

#[tokio::test]
async fn totp_login_asks_for_a_code_once_the_password_is_right_and_takes_each_once() {
    let f = fixture(|s| s.throttle.lockout_threshold = 10);
    let (secret, _) = with_totp(&f).await;
    let password = pw("first pass phrase");
    let login = |proof: Proof<'static>| {
        let accounts = f.accounts.clone();
        async move { accounts.sign_in.login("ada", proof, None, CLIENT).await }
    };
    let password: &'static Password = Box::leak(Box::new(password));
    let wrong_password: &'static Password = Box::leak(Box::new(pw("wrong")));

    assert!(matches!(
        login(password.into()).await,
        Err(AccountError::SecondFactorRequired { .. })
    ));
    assert!(matches!(
        login(with_code(wrong_password, "123456")).await,
        Err(AccountError::InvalidCredentials)
    ));
    // The confirming code's step is used; the next step's code works (drift), once.
    f.clock.advance(Duration::from_secs(30));
    let now: &'static str = Box::leak(code_at(&f, &secret, 0).into_boxed_str());
    login(with_code(password, now)).await.unwrap();
    assert!(matches!(
        login(with_code(password, now)).await,
        Err(AccountError::InvalidCode)
    ));
    // One step of drift either way is accepted; two are not.
    f.clock.advance(Duration::from_secs(60));
    let late: &'static str = Box::leak(code_at(&f, &secret, -1).into_boxed_str());
    login(with_code(password, late)).await.unwrap();
    f.clock.advance(Duration::from_secs(60));
    let early: &'static str = Box::leak(code_at(&f, &secret, 1).into_boxed_str());
    login(with_code(password, early)).await.unwrap();
    f.clock.advance(Duration::from_secs(120));
    for steps in [-2, 2] {
        let far: &'static str = Box::leak(code_at(&f, &secret, steps).into_boxed_str());
        assert!(
            matches!(
                login(with_code(password, far)).await,
                Err(AccountError::InvalidCode)
            ),
            "{steps} steps away"
        );
    }
}

#[tokio::test]
async fn wrong_codes_count_toward_the_lock_like_wrong_passwords() {
    let f = fixture(|_| {});
    let (secret, _) = with_totp(&f).await;
    let password = pw("first pass phrase");
    for _ in 0..2 {
        let e = f
            .accounts
            .sign_in
            .login("ada", with_code(&password, "000000"), None, CLIENT)
            .await
            .unwrap_err();
        assert!(matches!(e, AccountError::InvalidCode), "{e:?}");
    }
    f.clock.advance(Duration::from_secs(30));
    let right = code_at(&f, &secret, 0);
    let e = f
        .accounts
        .sign_in
        .login("ada", with_code(&password, &right), None, CLIENT)
        .await
        .unwrap_err();
    assert!(matches!(e, AccountError::RateLimited { .. }), "{e:?}");
}

#[tokio::test]
async fn a_recovery_code_works_once_and_changing_or_deleting_needs_a_factor() {
    let f = fixture(|s| s.throttle.lockout_threshold = 10);
    let (secret, codes) = with_totp(&f).await;
    let password = pw("first pass phrase");
    let upper = codes[0].to_uppercase();
    let session = f
        .accounts
        .sign_in
        .login("ada", with_code(&password, &upper), None, CLIENT)
        .await
        .unwrap();
    let again = f
        .accounts
        .sign_in
        .login("ada", with_code(&password, &codes[0]), None, CLIENT)
        .await;
    assert!(matches!(again, Err(AccountError::InvalidCode)));
    let signed_in = f.accounts.sign_in.session(&session.token).await.unwrap();
    let summary = f.accounts.sign_in.session_summary(&signed_in);
    assert_eq!(
        (summary.recovery_codes_left, summary.account.two_factor),
        (9, true)
    );

    let new = pw("second pass phrase");
    let e = f
        .accounts
        .sign_in
        .change_password("ada", &password, &new, CLIENT)
        .await
        .unwrap_err();
    assert!(
        matches!(e, AccountError::SecondFactorRequired { .. }),
        "{e:?}"
    );
    f.accounts
        .sign_in
        .change_password("ada", with_code(&password, &codes[1]), &new, CLIENT)
        .await
        .unwrap();
    let e = f
        .accounts
        .sign_in
        .delete("ada", &new, CLIENT)
        .await
        .unwrap_err();
    assert!(
        matches!(e, AccountError::SecondFactorRequired { .. }),
        "{e:?}"
    );
    f.clock.advance(Duration::from_secs(30));
    f.accounts
        .sign_in
        .delete("ada", with_code(&new, &code_at(&f, &secret, 0)), CLIENT)
        .await
        .unwrap();
}

#[tokio::test]
async fn turning_totp_off_needs_password_and_code_and_the_operator_can_reset_it() {
    let f = fixture(|s| s.throttle.lockout_threshold = 10);
    let (secret, codes) = with_totp(&f).await;
    let password = pw("first pass phrase");
    let session = f
        .accounts
        .sign_in
        .login("ada", with_code(&password, &codes[0]), None, CLIENT)
        .await
        .unwrap();
    let signed_in = f.accounts.sign_in.session(&session.token).await.unwrap();
    let e = f
        .accounts
        .second_factor
        .disable(&signed_in, Some(with_code(&password, "000000")), CLIENT)
        .await
        .unwrap_err();
    assert!(matches!(e, AccountError::InvalidCode), "{e:?}");
    f.clock.advance(Duration::from_secs(30));
    f.accounts
        .second_factor
        .disable(
            &signed_in,
            Some(with_code(&password, &code_at(&f, &secret, 0))),
            CLIENT,
        )
        .await
        .unwrap();
    f.accounts
        .sign_in
        .login("ada", &password, None, CLIENT)
        .await
        .unwrap();

    // On again, then the operator's reset: off, sessions revoked, recovery codes gone.
    let signed_in = f.accounts.sign_in.session(&session.token).await;
    assert!(signed_in.is_ok());
    let pending = f
        .accounts
        .second_factor
        .start_setup(&signed_in.unwrap(), Some(&password), CLIENT)
        .await
        .unwrap();
    let signed_in = f.accounts.sign_in.session(&session.token).await.unwrap();
    f.accounts
        .second_factor
        .confirm(&signed_in, &code_at(&f, &pending.secret, 0), CLIENT)
        .await
        .unwrap();
    let (_, was_on, revoked) = f
        .accounts
        .operator
        .reset_second_factors("ADA")
        .await
        .unwrap();
    assert!(was_on);
    assert!(revoked >= 1);
    assert!(f.accounts.sign_in.session(&session.token).await.is_err());
    let user = f.store.find_user("ada").await.unwrap().unwrap();
    assert_eq!(
        (user.totp_secret.as_deref(), user.totp_pending.as_deref()),
        (None, None)
    );
    assert_eq!(f.store.count_recovery_codes(&user.id).await.unwrap(), 0);
    f.accounts
        .sign_in
        .login("ada", &password, None, CLIENT)
        .await
        .unwrap();
}

/// What the interfering store writes when it steals a compare-and-swap.
const STOLEN: &str = "stolen";

/// The SQLite store, except that it can let "another request" win the next password swap.
struct Interfering {
    inner: Arc<SqliteStore>,
    steal_next_swap: AtomicBool,
    /// An operator revokes the account's sessions right after the next lookup by name.
    revoke_after_next_find: AtomicBool,
}

/// Hands each listed method of the users role to the SQLite store inside; `replace_password_hash`
/// is written out (it interferes). The services get the other roles from the store itself.
macro_rules! forward_users {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)* { $($extra:item)* }) => {
        #[async_trait]
        impl UserStore for Interfering {
            $(
                async fn $name(&self, $($arg: $ty),*) -> $ret {
                    self.inner.$name($($arg),*).await
                }
            )*
            $($extra)*
        }
    };
}

forward_users! {
    insert_user(user: &UserRecord) -> StoreResult<()>;
    find_user_by_id(id: &str) -> StoreResult<Option<UserRecord>>;
    delete_user(name: &str, expected: &str) -> StoreResult<bool>;
    all_users() -> StoreResult<Vec<UserRecord>>;
    rename_user(id: &str, new_name: &str) -> StoreResult<bool>;
    set_disabled(name: &str, disabled: bool) -> StoreResult<bool>;
    expire_password(name: &str) -> StoreResult<bool>;
    {
    async fn find_user(&self, name: &str) -> StoreResult<Option<UserRecord>> {
        let found = self.inner.find_user(name).await?;
        if let Some(user) = &found {
            if self.revoke_after_next_find.swap(false, Ordering::SeqCst) {
                crate::store::SessionStore::delete_user_sessions(&*self.inner, &user.id).await?;
            }
        }
        Ok(found)
    }

    async fn replace_password_hash(
        &self,
        name: &str,
        expected: &str,
        new_hash: &str,
        changed_at: Option<OffsetDateTime>,
    ) -> StoreResult<bool> {
        if self.steal_next_swap.swap(false, Ordering::SeqCst) {
            let stolen = self
                .inner
                .replace_password_hash(name, expected, STOLEN, changed_at)
                .await?;
            assert!(stolen, "the interfering write must win");
        }
        self.inner
            .replace_password_hash(name, expected, new_hash, changed_at)
            .await
    }
}
}

/// The SQLite store, except that "another request" asks the hasher for a place the moment a
/// one-time code is used, and keeps it if admitted.
struct Crowding {
    inner: Arc<SqliteStore>,
    hasher: Hasher,
    codes_used: std::sync::atomic::AtomicUsize,
    taken: std::sync::Mutex<Vec<crate::password::Place>>,
}

#[async_trait]
impl SecondFactorStore for Crowding {
    async fn set_pending_totp(&self, user_id: &str, secret: &str) -> StoreResult<bool> {
        self.inner.set_pending_totp(user_id, secret).await
    }
    async fn enable_totp(
        &self,
        user_id: &str,
        secret: &str,
        step: i64,
        recovery_hashes: &[String],
    ) -> StoreResult<bool> {
        self.inner
            .enable_totp(user_id, secret, step, recovery_hashes)
            .await
    }
    async fn drop_pending_totp(&self, user_id: &str, expected: &str) -> StoreResult<bool> {
        self.inner.drop_pending_totp(user_id, expected).await
    }
    async fn disable_totp(&self, user_id: &str) -> StoreResult<bool> {
        self.inner.disable_totp(user_id).await
    }
    async fn use_totp_step(&self, user_id: &str, step: i64) -> StoreResult<bool> {
        let used = self.inner.use_totp_step(user_id, step).await?;
        self.codes_used.fetch_add(1, Ordering::SeqCst);
        if let Ok(place) = self.hasher.admit() {
            self.taken.lock().unwrap().push(place);
        }
        Ok(used)
    }
    async fn use_recovery_code(&self, user_id: &str, code_hash: &str) -> StoreResult<bool> {
        self.inner.use_recovery_code(user_id, code_hash).await
    }
    async fn count_recovery_codes(&self, user_id: &str) -> StoreResult<u64> {
        self.inner.count_recovery_codes(user_id).await
    }
    async fn replace_totp_secret(
        &self,
        user_id: &str,
        slot: crate::store::TotpSlot,
        expected: &str,
        new: &str,
    ) -> StoreResult<bool> {
        self.inner
            .replace_totp_secret(user_id, slot, expected, new)
            .await
    }
}

#[tokio::test]
async fn a_password_change_that_used_its_code_is_not_refused_for_load() {
    let f = fixture(|_| {});
    let (secret, _) = with_totp(&f).await;
    f.clock.advance(Duration::from_secs(30));
    // One thread and a bound no waiting check meets: a check is refused whenever another
    // holds the thread.
    let hasher = Hasher::new(
        argon2::Params::new(1024, 1, 1, None).unwrap(),
        1,
        Duration::from_nanos(1),
    )
    .unwrap();
    let crowding = Arc::new(Crowding {
        inner: f.store.clone(),
        hasher: hasher.clone(),
        codes_used: Default::default(),
        taken: Default::default(),
    });
    let roles = Roles {
        second_factors: crowding.clone(),
        ..Roles::of(f.store.clone())
    };
    let accounts = Accounts::from_roles(
        roles,
        hasher,
        Arc::new(f.clock.clone()),
        settings(),
        f.keys.clone(),
    );
    let password = pw("first pass phrase");
    let code = code_at(&f, &secret, 0);
    accounts
        .sign_in
        .change_password(
            "ada",
            with_code(&password, &code),
            &pw("second pass phrase"),
            CLIENT,
        )
        .await
        .expect("admitted with its check, the new hash is not refused once the code is used");
    assert_eq!(crowding.codes_used.load(Ordering::SeqCst), 1);
    crowding.taken.lock().unwrap().clear();
    f.clock.advance(Duration::from_secs(30));
    let code = code_at(&f, &secret, 0);
    f.accounts
        .sign_in
        .login(
            "ada",
            with_code(&pw("second pass phrase"), &code),
            None,
            CLIENT,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_browser_known_to_an_account_under_its_older_name_keeps_its_own_budget() {
    let f = fixture(|_| {});
    // "Straße" was stored as "straße" when names were lower-cased; "Strasse" took the
    // case-folded form since, so the older account kept its key (see `find_account`).
    f.accounts
        .sign_in
        .register("Strasse", &pw("another pass phrase"), None, CLIENT)
        .await
        .unwrap();
    let now = f.clock.now();
    let hash = hasher(1024)
        .hash(pw("first pass phrase").normalized())
        .await
        .unwrap();
    f.store
        .insert_user(&UserRecord::new("straße", "Straße", hash, now))
        .await
        .unwrap();
    let owner = f
        .accounts
        .sign_in
        .login("Straße", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    let device = crate::token::DeviceKey::of(&owner.new_device.expect("a new browser"));
    let owners_browser = Client {
        device: Some(device),
        ..CLIENT
    };
    // A guesser locks the name for everyone else...
    for _ in 0..2 {
        let _ = f
            .accounts
            .sign_in
            .login("Straße", &pw("wrong pass phrase"), None, CLIENT)
            .await;
    }
    assert!(matches!(
        f.accounts
            .sign_in
            .login("Straße", &pw("first pass phrase"), None, CLIENT)
            .await,
        Err(AccountError::RateLimited { .. })
    ));
    // ...not for the owner's browser.
    f.accounts
        .sign_in
        .login("Straße", &pw("first pass phrase"), None, owners_browser)
        .await
        .expect("the owner's browser has a budget of its own");
}

#[tokio::test]
async fn a_login_checked_before_a_revocation_keeps_no_session() {
    let f = fixture(|_| {});
    f.accounts
        .sign_in
        .register("Ada", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    // The operator's revoke-sessions lands after the login read the account, before it
    // stores its session.
    f.users.revoke_after_next_find.store(true, Ordering::SeqCst);
    let raced = f
        .accounts
        .sign_in
        .login("ada", &pw("first pass phrase"), None, CLIENT)
        .await;
    if let Ok(logged_in) = &raced {
        assert!(
            f.accounts.sign_in.session(&logged_in.token).await.is_err(),
            "a session opened across a revocation must not be valid"
        );
    }
    assert!(!f.users.revoke_after_next_find.load(Ordering::SeqCst));
    // The next login is not affected.
    let again = f
        .accounts
        .sign_in
        .login("ada", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    f.accounts.sign_in.session(&again.token).await.unwrap();
}

/// Sensitive changes need a login or a re-authentication within the window; the password
/// (and the code) again renews it, for that session only.
#[tokio::test]
async fn sensitive_changes_need_a_recent_authentication_of_that_session() {
    let f = fixture(|s| s.throttle.lockout_threshold = 10);
    let (secret, _) = with_totp(&f).await;
    let password = pw("first pass phrase");
    let login = |code: String| {
        let (f, password) = (&f, &password);
        async move {
            f.accounts
                .sign_in
                .login("ada", with_code(password, &code), None, CLIENT)
                .await
                .unwrap()
                .token
        }
    };
    f.clock.advance(Duration::from_secs(30));
    let first = login(code_at(&f, &secret, 0)).await;
    f.clock.advance(Duration::from_secs(30));
    let second = login(code_at(&f, &secret, 0)).await;
    let signed_in = f.accounts.sign_in.session(&first).await.unwrap();
    let until = f.accounts.sign_in.session_summary(&signed_in).reauth_until;
    assert_eq!(until, f.clock.now() - Duration::from_secs(30) + 5 * MINUTE);
    // Within the window: cleared (no such passkey is the next thing to say).
    let e = f
        .accounts
        .passkeys
        .remove(&signed_in, "no-such-id", CLIENT)
        .await
        .unwrap_err();
    assert!(matches!(e, AccountError::NoSuchPasskey), "{e:?}");

    // Past it, each sensitive change asks; nothing changed.
    f.clock.advance(5 * MINUTE);
    let signed_in = f.accounts.sign_in.session(&first).await.unwrap();
    let e = f
        .accounts
        .passkeys
        .remove(&signed_in, "no-such-id", CLIENT)
        .await
        .unwrap_err();
    assert!(matches!(e, AccountError::ReauthRequired), "{e:?}");
    let e = f
        .accounts
        .second_factor
        .disable(&signed_in, None, CLIENT)
        .await
        .unwrap_err();
    assert!(matches!(e, AccountError::ReauthRequired), "{e:?}");

    // The password alone is not enough with two-factor login on; a wrong code neither.
    let e = f
        .accounts
        .sign_in
        .reauthenticate(&signed_in, (&password).into(), CLIENT)
        .await
        .unwrap_err();
    assert!(
        matches!(e, AccountError::SecondFactorRequired { .. }),
        "{e:?}"
    );
    let e = f
        .accounts
        .sign_in
        .reauthenticate(&signed_in, with_code(&password, "000000"), CLIENT)
        .await
        .unwrap_err();
    assert!(matches!(e, AccountError::InvalidCode), "{e:?}");
    let e = f
        .accounts
        .sign_in
        .reauthenticate(&signed_in, with_code(&pw("wrong one"), "000000"), CLIENT)
        .await
        .unwrap_err();
    assert!(matches!(e, AccountError::InvalidCredentials), "{e:?}");
    f.clock.advance(Duration::from_secs(30));
    let until = f
        .accounts
        .sign_in
        .reauthenticate(
            &signed_in,
            with_code(&password, &code_at(&f, &secret, 0)),
            CLIENT,
        )
        .await
        .unwrap();
    assert_eq!(until, f.clock.now() + 5 * MINUTE);

    // Renewed for this session only.
    let signed_in = f.accounts.sign_in.session(&first).await.unwrap();
    assert_eq!(
        f.accounts.sign_in.session_summary(&signed_in).reauth_until,
        until
    );
    let other = f.accounts.sign_in.session(&second).await.unwrap();
    let e = f
        .accounts
        .second_factor
        .disable(&other, None, CLIENT)
        .await
        .unwrap_err();
    assert!(matches!(e, AccountError::ReauthRequired), "{e:?}");
    f.accounts
        .second_factor
        .disable(&signed_in, None, CLIENT)
        .await
        .unwrap();
    assert!(f
        .store
        .find_user("ada")
        .await
        .unwrap()
        .unwrap()
        .totp_secret
        .is_none());

    // Until it ends again; then the password sent along with the change clears it too.
    f.clock.advance(5 * MINUTE);
    let signed_in = f.accounts.sign_in.session(&first).await.unwrap();
    let e = f
        .accounts
        .second_factor
        .start_setup(&signed_in, None, CLIENT)
        .await
        .unwrap_err();
    assert!(matches!(e, AccountError::ReauthRequired), "{e:?}");
    f.accounts
        .second_factor
        .start_setup(&signed_in, Some(&password), CLIENT)
        .await
        .unwrap();
    let signed_in = f.accounts.sign_in.session(&first).await.unwrap();
    f.accounts
        .second_factor
        .start_setup(&signed_in, None, CLIENT)
        .await
        .unwrap();
}

/// An operator's reset link removes the account's passkeys, unless told to keep them: when
/// it is issued, and again when it is used (one added in between, by whoever still had a
/// session or the old password, goes too).
#[tokio::test]
async fn a_reset_link_removes_passkeys_unless_kept() {
    use crate::store::{PasskeyRecord, PasskeyStore};
    let f = fixture(|_| {});
    f.accounts
        .sign_in
        .register("Ada", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap();
    let ada = f.store.find_user("ada").await.unwrap().unwrap();
    let add = |ids: &'static [&'static str]| {
        let (store, user_id, now) = (f.store.clone(), ada.id.clone(), f.clock.now());
        async move {
            for id in ids {
                store
                    .insert_passkey(&PasskeyRecord {
                        credential_id: (*id).into(),
                        user_id: user_id.clone(),
                        name: (*id).into(),
                        passkey: "{}".into(),
                        created_at: now,
                        last_used_at: None,
                    })
                    .await
                    .unwrap();
            }
        }
    };
    add(&["k1", "k2"]).await;
    let kept = f
        .accounts
        .operator
        .issue_reset_token("ada", MINUTE, true)
        .await
        .unwrap();
    assert_eq!(kept.passkeys_removed, 0);
    assert_eq!(f.store.count_user_passkeys(&ada.id).await.unwrap(), 2);
    let removed = f
        .accounts
        .operator
        .issue_reset_token("ada", MINUTE, false)
        .await
        .unwrap();
    assert_eq!(removed.passkeys_removed, 2);
    assert_eq!(f.store.count_user_passkeys(&ada.id).await.unwrap(), 0);

    // Added before the link is used: removed when it is.
    add(&["planted"]).await;
    f.accounts
        .recovery
        .reset_password(
            removed.token.as_str(),
            &pw("second pass phrase"),
            None,
            CLIENT,
        )
        .await
        .unwrap();
    assert_eq!(f.store.count_user_passkeys(&ada.id).await.unwrap(), 0);

    // A link that keeps them keeps them when used, too.
    add(&["mine"]).await;
    let kept = f
        .accounts
        .operator
        .issue_reset_token("ada", MINUTE, true)
        .await
        .unwrap();
    f.accounts
        .recovery
        .reset_password(kept.token.as_str(), &pw("third pass phrase"), None, CLIENT)
        .await
        .unwrap();
    assert_eq!(f.store.count_user_passkeys(&ada.id).await.unwrap(), 1);
}

/// A reset link alone never gets past the second factor: with two-factor login on, a code goes
/// with it, and after five wrong codes the link is void.
#[tokio::test]
async fn a_reset_link_needs_the_second_factor_and_dies_after_five_wrong_codes() {
    let f = fixture(|_| {});
    let (secret, _codes) = with_totp(&f).await;
    let issue = || f.accounts.operator.issue_reset_token("ada", MINUTE, true);
    let reset = |token: String, code: Option<String>| {
        let recovery = f.accounts.recovery.clone();
        async move {
            recovery
                .reset_password(&token, &pw("second pass phrase"), code.as_deref(), CLIENT)
                .await
        }
    };
    let token = issue().await.unwrap().token.as_str().to_owned();
    let e = reset(token.clone(), None).await.unwrap_err();
    assert!(
        matches!(e, AccountError::SecondFactorRequired { login_ticket: None }),
        "{e:?}"
    );
    for _ in 0..4 {
        let e = reset(token.clone(), Some("000000".into()))
            .await
            .unwrap_err();
        assert!(matches!(e, AccountError::InvalidCode), "{e:?}");
    }
    let e = reset(token.clone(), Some("000000".into()))
        .await
        .unwrap_err();
    assert!(matches!(e, AccountError::InvalidResetToken), "{e:?}");
    // Void now, even with the right code.
    f.clock.advance(Duration::from_secs(30));
    let e = reset(token, Some(code_at(&f, &secret, 0)))
        .await
        .unwrap_err();
    assert!(matches!(e, AccountError::InvalidResetToken), "{e:?}");

    // A new link with the right code works; the old password is gone.
    let token = issue().await.unwrap().token.as_str().to_owned();
    reset(token, Some(code_at(&f, &secret, 0))).await.unwrap();
    f.accounts
        .sign_in
        .login("ada", &pw("first pass phrase"), None, CLIENT)
        .await
        .unwrap_err();
}

/// With mail on, each security change is told to the account's confirmed address (never to
/// an unconfirmed one), and an address change to the old address.
#[tokio::test]
async fn security_changes_are_told_to_the_confirmed_address() {
    use crate::{data_key::Purpose, mail::Letter, store::OutboxStore};
    let f = fixture(|_| {});
    let (a, _outbox) = f
        .accounts
        .clone()
        .with_mail("https://accounts.example.org", Duration::from_secs(3600));
    let mailed = || async {
        let mut mail = Vec::new();
        for m in f.store.outbox().await.unwrap() {
            let json = f.keys.open(Purpose::Mail, &m.id, &m.sealed).unwrap();
            let letter: Letter = serde_json::from_slice(&json).unwrap();
            mail.push((m.recipient, letter.subject));
        }
        mail.sort();
        mail
    };
    let login = |password: &'static str| {
        let a = a.clone();
        async move {
            a.sign_in
                .login("ada", &pw(password), None, CLIENT)
                .await
                .unwrap()
                .token
        }
    };
    a.sign_in
        .register(
            "Ada",
            &pw("first pass phrase"),
            Some("ada@example.org"),
            CLIENT,
        )
        .await
        .unwrap();
    // Unconfirmed: the link, and no notice of the password change.
    a.sign_in
        .change_password(
            "ada",
            &pw("first pass phrase"),
            &pw("second pass phrase"),
            CLIENT,
        )
        .await
        .unwrap();
    let to = |who: &str, what: &str| (who.to_owned(), what.to_owned());
    assert_eq!(
        mailed().await,
        [to("ada@example.org", "Confirm your email address")]
    );

    // Confirmed: every change is told.
    a.email
        .set_by_operator("ada", "ada@example.org", true)
        .await
        .unwrap();
    a.sign_in
        .change_password(
            "ada",
            &pw("second pass phrase"),
            &pw("third pass phrase"),
            CLIENT,
        )
        .await
        .unwrap();
    let token = login("third pass phrase").await;
    let signed_in = a.sign_in.session(&token).await.unwrap();
    let pending = a
        .second_factor
        .start_setup(&signed_in, None, CLIENT)
        .await
        .unwrap();
    let signed_in = a.sign_in.session(&token).await.unwrap();
    a.second_factor
        .confirm(&signed_in, &code_at(&f, &pending.secret, 0), CLIENT)
        .await
        .unwrap();
    f.clock.advance(Duration::from_secs(30));
    let signed_in = a
        .sign_in
        .session(&login_token(&a, &f, &pending.secret).await)
        .await
        .unwrap();
    a.second_factor
        .disable(&signed_in, None, CLIENT)
        .await
        .unwrap();
    a.operator
        .issue_reset_token("ada", MINUTE, true)
        .await
        .unwrap();
    a.email
        .change(&signed_in, "ada@example.net", None, CLIENT)
        .await
        .unwrap();
    let mail = mailed().await;
    for subject in [
        "Your password was changed",
        "Two-factor login is on",
        "Two-factor login is off",
        "A reset link was issued for your account",
        "Your email address was changed",
    ] {
        assert!(
            mail.contains(&to("ada@example.org", subject)),
            "{subject}: {mail:?}"
        );
    }
    assert!(
        mail.contains(&to("ada@example.net", "Confirm your email address")),
        "{mail:?}"
    );
    assert_eq!(mail.len(), 7, "{mail:?}");
}

/// A session of Ada's, two-factor login on: the password and a current code.
async fn login_token(a: &Accounts, f: &Fixture, secret: &str) -> crate::token::SessionToken {
    let code = code_at(f, secret, 0);
    a.sign_in
        .login(
            "ada",
            Proof {
                password: &pw("third pass phrase"),
                code: Some(&code),
            },
            None,
            CLIENT,
        )
        .await
        .unwrap()
        .token
}
