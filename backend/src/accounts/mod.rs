//! The use cases, one service per feature, each holding only the store roles it uses:
//!
//! - [`SignIn`] (`sign_in`): register, log in, change password, delete, log out, sessions.
//! - [`SecondFactor`] (`second_factor`): the authenticator app and recovery codes.
//! - [`Passkeys`] (`passkeys`): adding, listing, removing passkeys, and logging in with one.
//! - [`Recovery`] (`recovery`): setting a new password with a reset link.
//! - [`Email`] (`email`): the account's address and its verification, and the forgotten
//!   password; [`Mailer`] is the mail every service may send (notices), off without a relay.
//! - [`Operator`] (`operator`): what the admin socket offers.
//! - [`Secrets`] (`secrets`): sealing stored secrets with the data key, the key file's check
//!   against the database, and key rotation.
//!
//! They share two parts: `Credentials` (the password and second-factor check, with the
//! lockout) and `SessionIssuer` (opening and looking up sessions). [`Accounts`] is the set of
//! services, built from a store (or, in tests, from separate roles).
//!
//! No HTTP here: each function takes plain inputs and returns a view or an [`AccountError`],
//! so the rules are testable with a store, a hasher and a clock alone (`tests.rs`, against a
//! temporary SQLite store and a [`crate::clock::ManualClock`]). The HTTP layer maps errors to
//! status codes in one place (`crate::http::error`).

mod credentials;
mod email;
mod error;
mod forward_auth;
mod oidc;
mod operator;
mod passkeys;
mod reauth;
mod recovery;
mod second_factor;
mod secrets;
mod sessions;
mod sign_in;
#[cfg(test)]
mod tests;
mod views;

pub use email::{Email, Forgotten, MailSettings, Mailer};
pub use error::{AccountError, AccountResult};
pub use forward_auth::{ForwardAuth, Identity, Verdict};
pub use oidc::{
    Alg, ClientView, NewClient, OauthError, Oidc, OidcError, OidcRoles, SigningKey, Step,
};
pub use operator::{AccountStatus, Operator};
pub use passkeys::{PasskeyCeremony, PasskeyInfo, Passkeys};
pub use recovery::Recovery;
pub use second_factor::SecondFactor;
pub use secrets::{KeyCheckError, Secrets};
pub use sign_in::SignIn;
pub use views::{Account, SessionSummary, SignedIn};

use std::{net::IpAddr, sync::Arc, time::Duration};

use accounts_api::{ErrorCode, FieldError, Password, PasswordPolicy, UserName};
use time::OffsetDateTime;

use self::{credentials::Credentials, reauth::Reauth, sessions::SessionIssuer};
use crate::{
    clock::Clock,
    common_passwords,
    data_key::DataKeys,
    mail::Outbox,
    password::Hasher,
    seal::Sealer,
    store::{
        CeremonyStore, ClientStore, CounterStore, DeviceStore, EmailStore, GrantStore, GroupStore,
        KeyCheckStore, MailRecord, OutboxStore, PasskeyStore, Ping, RecoveryStore,
        SecondFactorStore, SessionStore, SigningKeyStore, Store, StoreResult, UserRecord,
        UserStore,
    },
    throttle::{Throttle, ThrottlePolicy},
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
    /// A login: without a code, a right password gets a ticket to send the code with.
    RequiredOrTicket,
    /// Password change, deletion, re-authentication.
    Required,
}

/// Who is asking, as far as the rules care.
#[derive(Debug, Clone, Copy, Default)]
pub struct Client {
    /// `None` when unknown (then no per-IP limit applies).
    pub ip: Option<IpAddr>,
    /// The browser's device token, if it sent one: a browser known to the account it logs in
    /// to has a failure budget of its own.
    pub device: Option<DeviceKey>,
    /// The browser it says it is, for the user's list of sessions.
    pub browser: crate::client::Browser,
}

/// How long a browser stays known to an account after its first login there.
pub const DEVICE_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// How finely a session's "last seen" is kept: a request records it only if the last record
/// is older than this, so busy sessions cost no write per request.
pub const LAST_SEEN_GRANULARITY: Duration = Duration::from_secs(300);

/// Browsers remembered per account: past this, the least recently remembered is forgotten (a
/// script logging in without keeping cookies must not pile up records).
pub const MAX_DEVICES: usize = 20;

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
    /// How long a login or re-authentication clears sensitive changes (see `reauth`).
    pub reauth_window: Duration,
}

/// The store, one role at a time: each service is given only the roles it uses.
#[derive(Clone)]
pub struct Roles {
    /// Readiness.
    pub ping: Arc<dyn Ping>,
    /// Accounts.
    pub users: Arc<dyn UserStore>,
    /// Reset links.
    pub recovery: Arc<dyn RecoveryStore>,
    /// Logins.
    pub sessions: Arc<dyn SessionStore>,
    /// Browsers known to accounts.
    pub devices: Arc<dyn DeviceStore>,
    /// Throttling counters.
    pub counters: Arc<dyn CounterStore>,
    /// Authenticator apps and recovery codes.
    pub second_factors: Arc<dyn SecondFactorStore>,
    /// Passkeys.
    pub passkeys: Arc<dyn PasskeyStore>,
    /// WebAuthn ceremonies in progress.
    pub ceremonies: Arc<dyn CeremonyStore>,
    /// Which data key seals the stored secrets.
    pub key_checks: Arc<dyn KeyCheckStore>,
    /// Email addresses and their verification.
    pub emails: Arc<dyn EmailStore>,
    /// Mail waiting to be sent.
    pub outbox: Arc<dyn OutboxStore>,
    /// Apps that sign users in.
    pub clients: Arc<dyn ClientStore>,
    /// Groups of accounts.
    pub groups: Arc<dyn GroupStore>,
    /// What apps were given.
    pub grants: Arc<dyn GrantStore>,
    /// Keys that sign ID tokens.
    pub signing_keys: Arc<dyn SigningKeyStore>,
}

impl Roles {
    /// Every role from one database.
    pub fn of(store: Arc<dyn Store>) -> Self {
        Self {
            ping: store.clone(),
            users: store.clone(),
            recovery: store.clone(),
            sessions: store.clone(),
            devices: store.clone(),
            counters: store.clone(),
            second_factors: store.clone(),
            passkeys: store.clone(),
            ceremonies: store.clone(),
            key_checks: store.clone(),
            emails: store.clone(),
            outbox: store.clone(),
            clients: store.clone(),
            groups: store.clone(),
            grants: store.clone(),
            signing_keys: store,
        }
    }
}

/// What is kept about an account, keyed by it: what deleting it removes, what its summaries
/// count. The services that act on whole accounts (users' own and the operator's) share it.
#[derive(Clone)]
pub(super) struct AccountData {
    users: Arc<dyn UserStore>,
    sessions: Arc<dyn SessionStore>,
    devices: Arc<dyn DeviceStore>,
    passkeys: Arc<dyn PasskeyStore>,
    second_factors: Arc<dyn SecondFactorStore>,
    grants: Arc<dyn GrantStore>,
    groups: Arc<dyn GroupStore>,
    throttle: Throttle,
}

impl AccountData {
    /// Revokes every session of the account and every grant it gave an app (a password
    /// change, or an operator's revocation: whoever held the account may hold an app's
    /// refresh token too). How many sessions there were.
    async fn revoke_access(&self, user_id: &str) -> AccountResult<u64> {
        let sessions = self.sessions.delete_user_sessions(user_id).await?;
        self.grants.delete_user_grants(user_id, None).await?;
        Ok(sessions)
    }

    /// Deletes the account if it still holds the hash it was read with, with its sessions,
    /// known browsers, passkeys and failure counts (a new account under the name must not
    /// start locked). Whether it did.
    async fn delete(&self, user: &UserRecord) -> AccountResult<bool> {
        if !self
            .users
            .delete_user(&user.name, &user.password_hash)
            .await?
        {
            return Ok(false);
        }
        self.devices.delete_user_devices(&user.id).await?;
        self.passkeys.delete_user_passkeys(&user.id).await?;
        // What apps hold for it: their tokens would fail anyway (no account), but no trace
        // of it should stay behind.
        self.grants.delete_user_grants(&user.id, None).await?;
        self.grants.delete_consents(&user.id, None).await?;
        self.groups.remove_user_from_groups(&user.id).await?;
        self.throttle.forget_failures(&failure_names(user)).await?;
        Ok(true)
    }
}

/// The services, bound to a store, a hasher and a clock.
#[derive(Clone)]
pub struct Accounts {
    /// Registration, login, sessions, password change, deletion.
    pub sign_in: SignIn,
    /// The authenticator app.
    pub second_factor: SecondFactor,
    /// Passkeys.
    pub passkeys: Passkeys,
    /// Reset links.
    pub recovery: Recovery,
    /// The operator's actions.
    pub operator: Operator,
    /// Stored secrets: the data key's check at start-up, and its rotation.
    pub secrets: Secrets,
    /// The account's email address, and the forgotten password.
    pub email: Email,
    /// Signing users in to other apps (OpenID Connect).
    pub oidc: Oidc,
    /// Forward-auth: the check a reverse proxy asks for on every request to an app.
    pub forward_auth: ForwardAuth,
    ping: Arc<dyn Ping>,
    outbox: Arc<dyn OutboxStore>,
    keys: Arc<DataKeys>,
    clock: Arc<dyn Clock>,
}

impl Accounts {
    /// The rules in `settings`, applied to `store` with `hasher`, at the times `clock` gives;
    /// secrets are sealed with `keys` once [`Secrets::check_at_start`] has passed.
    pub fn new(
        store: Arc<dyn Store>,
        hasher: Hasher,
        clock: Arc<dyn Clock>,
        settings: Settings,
        keys: Arc<DataKeys>,
    ) -> Self {
        Self::from_roles(Roles::of(store), hasher, clock, settings, keys)
    }

    /// Like [`Accounts::new`], with each role given on its own.
    pub fn from_roles(
        roles: Roles,
        hasher: Hasher,
        clock: Arc<dyn Clock>,
        settings: Settings,
        keys: Arc<DataKeys>,
    ) -> Self {
        let secrets = Secrets::new(
            keys.clone(),
            roles.users.clone(),
            roles.second_factors.clone(),
            roles.key_checks.clone(),
            roles.outbox.clone(),
        );
        let throttle = Throttle::new(roles.counters.clone(), settings.throttle);
        let rules = PasswordRules {
            policy: settings.policy,
        };
        let credentials = Credentials {
            users: roles.users.clone(),
            devices: roles.devices.clone(),
            second_factors: roles.second_factors.clone(),
            hasher: hasher.clone(),
            throttle: throttle.clone(),
            clock: clock.clone(),
            sealer: Sealer::random(),
            secrets: secrets.clone(),
        };
        let issuer = SessionIssuer {
            sessions: roles.sessions.clone(),
            devices: roles.devices.clone(),
            clock: clock.clone(),
            session_ttl: settings.session_ttl,
        };
        let reauth = Reauth {
            credentials: credentials.clone(),
            sessions: roles.sessions.clone(),
            window: settings.reauth_window,
        };
        let data = AccountData {
            users: roles.users.clone(),
            sessions: roles.sessions.clone(),
            devices: roles.devices.clone(),
            passkeys: roles.passkeys.clone(),
            second_factors: roles.second_factors.clone(),
            grants: roles.grants.clone(),
            groups: roles.groups.clone(),
            throttle: throttle.clone(),
        };
        let oidc = Oidc::new(
            OidcRoles {
                users: roles.users.clone(),
                clients: roles.clients.clone(),
                groups: roles.groups.clone(),
                grants: roles.grants.clone(),
                sessions: roles.sessions.clone(),
                signing_keys: roles.signing_keys.clone(),
            },
            "http://localhost:5000",
            keys.clone(),
            clock.clone(),
        );
        let addresses = email::Addresses {
            emails: roles.emails.clone(),
            counters: roles.counters.clone(),
            clock: clock.clone(),
            mailer: Mailer::off(),
        };
        Self {
            forward_auth: ForwardAuth {
                groups: roles.groups.clone(),
                issuer: issuer.clone(),
                cache: Default::default(),
            },
            oidc,
            email: Email {
                addresses: addresses.clone(),
                users: roles.users.clone(),
                recovery: roles.recovery.clone(),
                counters: roles.counters.clone(),
                throttle: throttle.clone(),
                reauth: reauth.clone(),
            },
            sign_in: SignIn {
                addresses,
                mailer: Mailer::off(),
                credentials: credentials.clone(),
                issuer: issuer.clone(),
                data: data.clone(),
                rules,
                password_max_age: settings.password_max_age,
                ceremonies: roles.ceremonies.clone(),
                reauth: reauth.clone(),
            },
            second_factor: SecondFactor {
                mailer: Mailer::off(),
                credentials: credentials.clone(),
                second_factors: roles.second_factors.clone(),
                reauth: reauth.clone(),
            },
            passkeys: Passkeys {
                mailer: Mailer::off(),
                credentials: credentials.clone(),
                issuer,
                reauth,
                users: roles.users.clone(),
                passkeys: roles.passkeys.clone(),
                ceremonies: roles.ceremonies.clone(),
                webauthn: None,
            },
            recovery: Recovery {
                mailer: Mailer::off(),
                credentials: credentials.clone(),
                recovery: roles.recovery.clone(),
                sessions: roles.sessions.clone(),
                grants: roles.grants.clone(),
                passkeys: roles.passkeys.clone(),
                hasher,
                throttle: throttle.clone(),
                rules,
                clock: clock.clone(),
            },
            operator: Operator {
                mailer: Mailer::off(),
                credentials,
                data,
                recovery: roles.recovery,
                throttle,
                clock: clock.clone(),
            },
            secrets,
            ping: roles.ping,
            outbox: roles.outbox,
            keys,
            clock,
        }
    }

    /// Mail on: verification links, mailed reset links (valid `reset_link_ttl`) and security
    /// notices go through an outbox in the store, with links to `public_url`. The outbox is
    /// returned for the caller to run its sender.
    pub fn with_mail(mut self, public_url: &str, reset_link_ttl: Duration) -> (Self, Outbox) {
        let outbox = Outbox::new(self.outbox.clone(), self.keys.clone(), self.clock.clone());
        let mailer = Mailer::on(MailSettings {
            outbox: outbox.clone(),
            public_url: public_url.trim_end_matches('/').to_owned(),
            reset_link_ttl,
        });
        self.email.addresses.mailer = mailer.clone();
        self.sign_in.addresses.mailer = mailer.clone();
        self.sign_in.mailer = mailer.clone();
        self.second_factor.mailer = mailer.clone();
        self.passkeys.mailer = mailer.clone();
        self.operator.mailer = mailer.clone();
        self.recovery.mailer = mailer;
        (self, outbox)
    }

    /// Every message in the outbox (for operators), whether or not mail is on.
    pub async fn outbox(&self) -> StoreResult<Vec<MailRecord>> {
        self.outbox.outbox().await
    }

    /// The default rules on an embedded store in `dir`, with cheap Argon2, the system clock
    /// and a data key of its own: for tests of the layers above.
    #[cfg(test)]
    pub(crate) async fn on_temporary_store(dir: &std::path::Path) -> Self {
        let store = Arc::new(crate::store::sqlite::SqliteStore::open(dir).unwrap());
        let hasher = Hasher::new(
            argon2::Params::new(1024, 1, 1, None).unwrap(),
            1,
            Duration::from_secs(60),
        )
        .unwrap();
        let accounts = Self::new(
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
                reauth_window: Duration::from_secs(300),
            },
            Arc::new(DataKeys::ephemeral()),
        );
        accounts.secrets.check_at_start().await.unwrap();
        accounts
    }

    /// Passkeys on, as the relying party `webauthn` describes.
    pub fn with_passkeys(mut self, webauthn: webauthn_rs::Webauthn) -> Self {
        self.passkeys.webauthn = Some(Arc::new(webauthn));
        self
    }

    /// Login tickets and passkey login ceremonies sealed by `sealer` (by default a key of
    /// this process's own): instances sharing a store must share its key.
    pub fn with_sealer(mut self, sealer: Sealer) -> Self {
        for credentials in [
            &mut self.sign_in.credentials,
            &mut self.second_factor.credentials,
            &mut self.passkeys.credentials,
            &mut self.operator.credentials,
            &mut self.recovery.credentials,
            &mut self.sign_in.reauth.credentials,
            &mut self.second_factor.reauth.credentials,
            &mut self.passkeys.reauth.credentials,
            &mut self.email.reauth.credentials,
        ] {
            credentials.sealer = sealer.clone();
        }
        self
    }

    /// Apps signing users in see us as `issuer` (the public URL).
    pub fn with_issuer(mut self, issuer: &str) -> Self {
        self.oidc = self.oidc.with_issuer(issuer);
        self
    }

    /// Whether the store answers.
    pub async fn ready(&self) -> AccountResult<()> {
        Ok(self.ping.ping().await?)
    }
}

/// The rules for a new password: the policy, plus the common-password list (server only: the
/// list is too big for the browser app).
#[derive(Debug, Clone, Copy)]
struct PasswordRules {
    policy: PasswordPolicy,
}

impl PasswordRules {
    fn check(&self, password: &Password, user: Option<&UserName>) -> Result<(), NewPasswordError> {
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
}

/// The names failures of this account are counted under: logins count them under the
/// canonical form of the name typed, which for an account that kept an older key (see
/// `Credentials::find_account`) is not its stored name.
fn failure_names(user: &UserRecord) -> Vec<String> {
    let mut names = vec![user.name.clone()];
    if let Ok(parsed) = UserName::parse(&user.display_name) {
        if parsed.canonical() != user.name {
            names.push(parsed.canonical().to_owned());
        }
    }
    names
}

/// A security-relevant event on the `audit` log target (the log line names the request).
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
