//! The use cases: register, log in, change password, delete, log out, look up a session.
//!
//! No HTTP here: each function takes plain inputs and returns a result or an [`AccountError`],
//! so the rules are testable with a store, a hasher and a clock alone (`tests.rs`, against a
//! temporary SQLite store and a [`crate::clock::ManualClock`]). The HTTP layer maps errors to
//! status codes in one place (`crate::http::error`).

mod admin;
mod error;
mod passkeys;
mod reset;
mod second_factor;
#[cfg(test)]
mod tests;
mod views;

pub use admin::AccountStatus;
pub use passkeys::{PasskeyCeremony, PasskeyInfo};
pub use views::{Account, SessionSummary, SignedIn};

pub use error::{AccountError, AccountResult};

use std::{net::IpAddr, sync::Arc, time::Duration};

use accounts_api::{ErrorCode, FieldError, Password, PasswordPolicy, PolicyInfo, UserName};
use time::OffsetDateTime;

use crate::{
    clock::Clock,
    common_passwords, ids,
    password::{Hasher, Verified},
    store::DeviceRecord,
    store::{SessionRecord, Store, StoreError, UserRecord},
    throttle::failure_key,
    throttle::{Attempt, Throttle, ThrottlePolicy},
    token::{DeviceKey, DeviceToken, SessionToken},
};

/// A login's result: the token for the cookie, the account and when the session ends.
#[derive(Debug)]
pub struct LoggedIn {
    /// The secret for the client's cookie; the store keeps only its hash.
    pub token: SessionToken,
    /// The account.
    pub account: Account,
    /// When the new session ends.
    pub expires_at: OffsetDateTime,
    /// A device token for this browser's cookie, if the browser was not yet known to the
    /// account.
    pub new_device: Option<DeviceToken>,
}

/// What a caller shows to prove it holds the account: the password and, for an account with
/// two-factor login on, a code (authenticator or recovery). A bare `&Password` is a proof
/// without a code.
#[derive(Debug, Clone, Copy)]
pub struct Proof<'a> {
    /// The password.
    pub password: &'a Password,
    /// The second factor, if sent.
    pub code: Option<&'a str>,
}

impl<'a> From<&'a Password> for Proof<'a> {
    fn from(password: &'a Password) -> Self {
        Self {
            password,
            code: None,
        }
    }
}

/// Whether an action asks for the second factor of an account that has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Factor {
    /// Login, password change, deletion, turning two-factor login off.
    Required,
    /// Starting the set-up (the password alone is checked again).
    NotAsked,
}

/// A correct password: the account, and whether the browser was already known to it.
struct Authenticated {
    user: UserRecord,
    known_device: bool,
}

/// What [`Accounts::migrate_user_names`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NameMigration {
    /// Accounts moved to the current canonical form.
    pub renamed: usize,
    /// Accounts left under their old name because the new one was taken.
    pub kept: usize,
}

/// Who is asking, as far as the rules care.
#[derive(Debug, Clone, Copy, Default)]
pub struct Client {
    /// `None` when unknown (then no per-IP limit applies).
    pub ip: Option<IpAddr>,
    /// The browser's device token, if it sent one: a browser known to the account it logs in
    /// to has a failure budget of its own.
    pub device: Option<DeviceKey>,
}

/// How long a browser stays known to an account after its first login there.
pub const DEVICE_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// The rules' settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Rules for new passwords.
    pub policy: PasswordPolicy,
    /// `None`: passwords never expire.
    pub password_max_age: Option<Duration>,
    /// How long a login lasts.
    pub session_ttl: Duration,
    /// Lockout and per-IP limits.
    pub throttle: ThrottlePolicy,
}

/// The service's rules, bound to a store, a hasher and a clock.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    hasher: Hasher,
    clock: Arc<dyn Clock>,
    throttle: Throttle,
    policy: PasswordPolicy,
    password_max_age: Option<Duration>,
    session_ttl: Duration,
    /// The relying party for passkeys; `None` when the public URL cannot be one.
    webauthn: Option<Arc<webauthn_rs::Webauthn>>,
}

impl Accounts {
    /// The rules in `settings`, applied to `store` with `hasher`, at the times `clock` gives.
    pub fn new(
        store: Arc<dyn Store>,
        hasher: Hasher,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Self {
        Self {
            throttle: Throttle::new(store.clone(), settings.throttle),
            store,
            hasher,
            clock,
            policy: settings.policy,
            password_max_age: settings.password_max_age,
            session_ttl: settings.session_ttl,
            webauthn: None,
        }
    }

    /// The default rules on an embedded store in `dir`, with cheap Argon2 and the system
    /// clock: for tests of the layers above.
    #[cfg(test)]
    pub(crate) fn on_temporary_store(dir: &std::path::Path) -> Self {
        let store = Arc::new(crate::store::sqlite::SqliteStore::open(dir).unwrap());
        let hasher = Hasher::new(
            argon2::Params::new(1024, 1, 1, None).unwrap(),
            1,
            Duration::from_secs(60),
        )
        .unwrap();
        Self::new(
            store,
            hasher,
            Arc::new(crate::clock::SystemClock),
            Settings {
                policy: PasswordPolicy {
                    min_length: 8,
                    max_length: 256,
                },
                password_max_age: None,
                session_ttl: Duration::from_secs(60),
                throttle: ThrottlePolicy {
                    lockout_threshold: 5,
                    lockout_duration: Duration::from_secs(60),
                    ip_rate_limit: 0,
                    ipv6_prefix: 64,
                },
            },
        )
    }

    /// Passkeys on, as the relying party `webauthn` describes.
    pub fn with_passkeys(mut self, webauthn: webauthn_rs::Webauthn) -> Self {
        self.webauthn = Some(Arc::new(webauthn));
        self
    }

    /// The rules in force, for the browser app.
    pub fn policy(&self) -> PolicyInfo {
        PolicyInfo {
            password: self.policy,
            user_name_min_length: accounts_api::user_name::MIN_LEN,
            user_name_max_length: accounts_api::user_name::MAX_LEN,
            user_name_allowed: accounts_api::user_name::ALLOWED.to_owned(),
            password_max_age_secs: self.password_max_age.map_or(0, |d| d.as_secs()),
        }
    }

    /// Whether the store answers.
    pub async fn ready(&self) -> AccountResult<()> {
        Ok(self.store.ping().await?)
    }

    /// Creates an account. The unique index decides races: exactly one of two concurrent
    /// registrations of a name wins, the other gets [`AccountError::UserExists`].
    pub async fn register(
        &self,
        user_name: &str,
        password: &Password,
        client: Client,
    ) -> AccountResult<Account> {
        self.throttle
            .spend_ip(Attempt::Registration, client.ip, self.clock.now())
            .await??;
        let name = UserName::parse_new(user_name);
        let mut errors = Vec::new();
        if let Err(e) = &name {
            errors.push(field_error("user_name", ErrorCode::InvalidUserName, e));
        }
        if let Err(e) = self.check_new_password(password, name.as_ref().ok()) {
            errors.push(e.with_field("password"));
        }
        let Ok(name) = name else {
            return Err(AccountError::Invalid(errors));
        };
        if !errors.is_empty() {
            return Err(AccountError::Invalid(errors));
        }
        let hash = self.hasher.hash(password.normalized()).await?;
        let now = self.clock.now();
        let user = UserRecord {
            id: ids::account_id(),
            name: name.canonical().to_owned(),
            display_name: name.display().to_owned(),
            password_hash: hash,
            created_at: now,
            password_changed_at: now,
            disabled: false,
            password_expired: false,
            reset_expires_at: None,
            totp_secret: None,
            totp_pending: None,
            totp_last_step: 0,
        };
        match self.store.insert_user(&user).await {
            Ok(()) => {
                audit("register", "ok", &user.name, client);
                Ok(Account::from(&user))
            }
            Err(StoreError::Duplicate) => Err(AccountError::UserExists),
            Err(e) => Err(e.into()),
        }
    }

    /// The policy for a new password, plus the common-password list (server only: the list is
    /// too big for the browser app).
    fn check_new_password(
        &self,
        password: &Password,
        user: Option<&UserName>,
    ) -> Result<(), NewPasswordError> {
        if let Err(e) = self.policy.check(password, user) {
            return Err(NewPasswordError(e.to_string()));
        }
        if common_passwords::is_common(&password.normalized()) {
            return Err(NewPasswordError(
                "this password is one of the most commonly used; choose another".into(),
            ));
        }
        Ok(())
    }

    /// Checks a user name and password. Unknown names cost one Argon2 verification too, against a
    /// dummy hash, and get the same error as a wrong password.
    ///
    /// Attempts count against the client's IP budget, and failures against the account name
    /// (existing or not); a locked name is refused before any password check, with the same
    /// reply whether the password is right or wrong and whether the account exists or not.
    /// Each attempt is counted as a failure before its password is checked, and given back by
    /// a success, so guesses sent in parallel cannot all be checked before the lock applies.
    ///
    /// The password is never checked against the policy here: tightening the policy must not
    /// lock anyone out.
    async fn authenticate(
        &self,
        action: &'static str,
        user_name: &str,
        proof: Proof<'_>,
        factor: Factor,
        client: Client,
    ) -> AccountResult<Authenticated> {
        let password = proof.password;
        let name = parse_name(user_name)?;
        require_password("password", password)?;
        let now = self.clock.now();
        if let Err(limited) = self
            .throttle
            .spend_ip(Attempt::Credentials, client.ip, now)
            .await?
        {
            audit(action, "ip_rate_limited", name.canonical(), client);
            return Err(limited.into());
        }
        let known_device = self
            .known_device(client.device, now, |d| d.user_name == name.canonical())
            .await?;
        let key = failure_key(name.canonical(), known_device.as_deref());
        let seen = match self.throttle.check_account(&key, now).await? {
            Ok(seen) => seen,
            Err(limited) => {
                audit(action, "locked", name.canonical(), client);
                return Err(limited.into());
            }
        };
        // A place for the password check first: a request shed for load must not have
        // counted as a failed attempt.
        let place = self.hasher.admit()?;
        if let Err(limited) = self.throttle.reserve_attempt(&key, seen, now).await? {
            audit(action, "locked", name.canonical(), client);
            return Err(limited.into());
        }
        let user = self.find_account(&name).await?;
        let verified = self
            .hasher
            .verify_in(
                place,
                password.normalized(),
                user.as_ref().map(|u| u.password_hash.clone()),
            )
            .await?;
        match (verified, user) {
            (Verified::Match { needs_rehash }, Some(mut user)) => {
                // A missing or wrong code leaves this attempt counted as a failure.
                if factor == Factor::Required {
                    self.check_second_factor(action, &user, proof.code, client)
                        .await?;
                }
                self.throttle.record_success(&key).await?;
                if user.disabled {
                    // Only a caller who knows the password learns this.
                    audit(action, "disabled", &user.name, client);
                    return Err(AccountError::AccountDisabled);
                }
                if needs_rehash {
                    if let Some(new_hash) = self.rehash(&user, password).await {
                        user.password_hash = new_hash;
                    }
                }
                Ok(Authenticated {
                    user,
                    known_device: known_device.is_some(),
                })
            }
            _ => {
                // Already counted by the reservation.
                audit(action, "failed", name.canonical(), client);
                Err(AccountError::InvalidCredentials)
            }
        }
    }

    /// The hex key of the browser's device token if the browser is known to the account that
    /// `belongs` recognises (a guesser's browser never is; an unknown name never matches, as
    /// for any stranger).
    pub(super) async fn known_device(
        &self,
        device: Option<DeviceKey>,
        now: OffsetDateTime,
        belongs: impl FnOnce(&DeviceRecord) -> bool,
    ) -> AccountResult<Option<String>> {
        let Some(device) = device else {
            return Ok(None);
        };
        let key = device.hex();
        let found = self.store.find_device(&key, now).await?;
        Ok(found.filter(belongs).map(|_| key))
    }

    /// The account a name refers to. An account whose name collided when names moved from
    /// lower case to case folding kept its old key; the name as typed then means what it
    /// meant under the old rules, so that key is looked up first (only for the few names
    /// whose two forms differ).
    async fn find_account(&self, name: &UserName) -> AccountResult<Option<UserRecord>> {
        let legacy = name.legacy_canonical();
        if legacy != name.canonical() {
            if let Some(user) = self.store.find_user(&legacy).await? {
                return Ok(Some(user));
            }
        }
        Ok(self.store.find_user(name.canonical()).await?)
    }

    /// Moves stored names to the current canonical form (case folding now; before,
    /// lower case), so existing accounts keep logging in. Idempotent; run at start-up. Where
    /// two accounts would get the same name, the one that already has it keeps it and the
    /// other keeps its old name (found by `Accounts::find_account`); each is logged.
    /// Renamed accounts' sessions are revoked.
    pub async fn migrate_user_names(&self) -> AccountResult<NameMigration> {
        let mut report = NameMigration::default();
        for user in self.store.all_users().await? {
            let Ok(name) = UserName::parse(&user.display_name) else {
                continue;
            };
            if name.canonical() == user.name {
                continue;
            }
            match self.store.rename_user(&user.id, name.canonical()).await {
                Ok(true) => report.renamed += 1,
                Ok(false) => {}
                Err(StoreError::Duplicate) => {
                    report.kept += 1;
                    tracing::warn!(
                        user = %user.name,
                        taken = %name.canonical(),
                        "user name migration: the new form is another account's; this one keeps its old name"
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(report)
    }

    /// Replaces a hash made with older Argon2 parameters. Best effort: a failure only means we
    /// try again at the next login. Returns the new hash if it was stored.
    async fn rehash(&self, user: &UserRecord, password: &Password) -> Option<String> {
        let result = match self.hasher.hash(password.normalized()).await {
            Ok(new_hash) => self
                .store
                .replace_password_hash(&user.name, &user.password_hash, &new_hash, None)
                .await
                .map(|swapped| swapped.then_some(new_hash))
                .map_err(AccountError::from),
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(Some(hash)) => {
                tracing::info!(user = %user.name, "password hash upgraded to current parameters");
                Some(hash)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(user = %user.name, error = %e, "password rehash failed");
                None
            }
        }
    }

    /// Logs in: verifies, checks expiry, opens a session. `previous` (the caller's current
    /// session, if any) is revoked, so a login always rotates the session.
    pub async fn login(
        &self,
        user_name: &str,
        proof: impl Into<Proof<'_>>,
        previous: Option<&SessionToken>,
        client: Client,
    ) -> AccountResult<LoggedIn> {
        let Authenticated { user, known_device } = self
            .authenticate("login", user_name, proof.into(), Factor::Required, client)
            .await?;
        if self.is_expired(&user, self.clock.now()) {
            audit("login", "expired", &user.name, client);
            return Err(AccountError::PasswordExpired);
        }
        self.open_session("login", user, known_device, previous, client)
            .await
    }

    /// Opens a session for an account whose login succeeded (by password or passkey):
    /// revokes `previous`, stores the new session while the account still holds the hash it
    /// had, and makes the browser known to the account.
    async fn open_session(
        &self,
        action: &'static str,
        user: UserRecord,
        known_device: bool,
        previous: Option<&SessionToken>,
        client: Client,
    ) -> AccountResult<LoggedIn> {
        if let Some(previous) = previous {
            self.store.delete_session(&previous.store_key()).await?;
        }
        let token = SessionToken::generate();
        let now = self.clock.now();
        let session = SessionRecord {
            token_hash: token.store_key(),
            user_id: user.id.clone(),
            user_name: user.name.clone(),
            created_at: now,
            expires_at: now + self.session_ttl,
        };
        if !self
            .store
            .insert_session_for_hash(&session, &user.password_hash)
            .await?
        {
            // The password was changed while we were checking it.
            audit(action, "raced_password_change", &user.name, client);
            return Err(AccountError::InvalidCredentials);
        }
        // From now on this browser is known to the account (OWASP "device cookies").
        let new_device = if known_device {
            None
        } else {
            let device = DeviceToken::generate();
            self.store
                .insert_device(
                    &DeviceRecord {
                        token_hash: device.store_key(),
                        user_id: user.id.clone(),
                        user_name: user.name.clone(),
                        expires_at: now + DEVICE_LIFETIME,
                    },
                    now,
                )
                .await?;
            Some(device)
        };
        audit(action, "ok", &user.name, client);
        Ok(LoggedIn {
            token,
            account: Account::from(&user),
            expires_at: session.expires_at,
            new_device,
        })
    }

    /// Expired by an operator, or older than the maximum age.
    fn is_expired(&self, user: &UserRecord, now: OffsetDateTime) -> bool {
        user.password_expired
            || self
                .password_max_age
                .is_some_and(|max| now - user.password_changed_at > max)
    }

    /// Changes a password given the current one (an expired password may be changed: that is
    /// the way out of expiry). The write is a compare-and-swap on the hash that was verified,
    /// so of two concurrent changes exactly one wins. All the user's sessions are revoked.
    pub async fn change_password(
        &self,
        user_name: &str,
        proof: impl Into<Proof<'_>>,
        new: &Password,
        client: Client,
    ) -> AccountResult<Account> {
        let proof = proof.into();
        let current = proof.password;
        let name = parse_name(user_name)?;
        require_password("password", current)?;
        if let Err(e) = self.check_new_password(new, Some(&name)) {
            return Err(AccountError::Invalid(vec![e.with_field("newpassword")]));
        }
        if new.normalized() == current.normalized() {
            return Err(AccountError::Invalid(vec![FieldError {
                field: "newpassword".into(),
                code: ErrorCode::InvalidPassword,
                message: "new password must differ from the current one".into(),
            }]));
        }
        let user = self
            .authenticate(
                "password_change",
                user_name,
                proof,
                Factor::Required,
                client,
            )
            .await?
            .user;
        let new_hash = self.hasher.hash(new.normalized()).await?;
        let now = self.clock.now();
        let swapped = self
            .store
            .replace_password_hash(&user.name, &user.password_hash, &new_hash, Some(now))
            .await?;
        if !swapped {
            // Someone changed (or rehashed) it since we verified: the current password we
            // checked is no longer the stored one.
            return Err(AccountError::InvalidCredentials);
        }
        self.store.delete_user_sessions(&user.id).await?;
        audit("password_change", "ok", &user.name, client);
        Ok(Account {
            password_changed_at: now,
            ..Account::from(&user)
        })
    }

    /// Deletes an account and its sessions, given its password.
    pub async fn delete(
        &self,
        user_name: &str,
        proof: impl Into<Proof<'_>>,
        client: Client,
    ) -> AccountResult<Account> {
        let user = self
            .authenticate("delete", user_name, proof.into(), Factor::Required, client)
            .await?
            .user;
        if self
            .store
            .delete_user(&user.name, &user.password_hash)
            .await?
        {
            self.store.delete_user_devices(&user.id).await?;
            self.store.delete_user_passkeys(&user.id).await?;
            audit("delete", "ok", &user.name, client);
            Ok(Account::from(&user))
        } else {
            Err(AccountError::InvalidCredentials)
        }
    }

    /// Revokes one session. Idempotent; only a session that was still valid is audited.
    pub async fn logout(&self, token: &SessionToken, client: Client) -> AccountResult<()> {
        let revoked = self.store.delete_session(&token.store_key()).await?;
        if let Some(session) = revoked.filter(|s| s.expires_at > self.clock.now()) {
            audit("logout", "ok", &session.user_name, client);
        }
        Ok(())
    }

    /// The session behind a token, if it is valid: not expired, its account still exists (the
    /// same registration, not a newer one under the same name), is not disabled, and no
    /// password change since.
    pub async fn session(&self, token: &SessionToken) -> AccountResult<SignedIn> {
        let now = self.clock.now();
        let (session, user) = self
            .store
            .find_session_and_user(&token.store_key(), now)
            .await?
            .filter(|(s, u)| {
                s.expires_at > now
                    && u.id == s.user_id
                    && !u.disabled
                    && s.created_at >= u.password_changed_at
            })
            .ok_or(AccountError::Unauthenticated)?;
        Ok(SignedIn { user, session })
    }

    /// What the account page shows about the signed-in account, from count queries.
    pub async fn session_summary(&self, signed_in: &SignedIn) -> AccountResult<SessionSummary> {
        let user = &signed_in.user;
        let recovery_codes_left = if user.totp_secret.is_some() {
            self.store.count_recovery_codes(&user.id).await?
        } else {
            0
        };
        Ok(SessionSummary {
            account: signed_in.account(),
            expires_at: signed_in.expires_at(),
            recovery_codes_left,
            passkeys: self.store.count_user_passkeys(&user.id).await?,
        })
    }
}

/// A security-relevant event on the `audit` log target (the request id comes from the span).
/// Never a password or a hash.
fn audit(action: &'static str, outcome: &'static str, user: &str, client: Client) {
    let ip = client
        .ip
        .map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    tracing::info!(target: "audit", action, outcome, user, ip = %ip, "audit");
    if action == "login" {
        metrics::counter!("logins_total", "outcome" => outcome).increment(1);
    }
}

/// Why a new password was refused, before we know which field it came in.
struct NewPasswordError(String);

impl NewPasswordError {
    fn with_field(self, field: &str) -> FieldError {
        FieldError {
            field: field.to_owned(),
            code: ErrorCode::InvalidPassword,
            message: self.0,
        }
    }
}

fn field_error(field: &str, code: ErrorCode, e: &dyn std::fmt::Display) -> FieldError {
    FieldError {
        field: field.to_owned(),
        code,
        message: e.to_string(),
    }
}

fn parse_name(raw: &str) -> AccountResult<UserName> {
    UserName::parse(raw).map_err(|e| {
        AccountError::Invalid(vec![field_error(
            "user_name",
            ErrorCode::InvalidUserName,
            &e,
        )])
    })
}

/// An empty password can never be right; say so instead of spending a hash on it.
fn require_password(field: &str, p: &Password) -> AccountResult<()> {
    if p.is_empty() {
        Err(AccountError::Invalid(vec![FieldError {
            field: field.to_owned(),
            code: ErrorCode::InvalidPassword,
            message: "password is required".into(),
        }]))
    } else {
        Ok(())
    }
}
