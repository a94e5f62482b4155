//! What the stores keep: plain records, the same for both implementations. Secrets inside
//! them are hashes or are hidden from `Debug`.

use std::fmt;

use time::OffsetDateTime;

/// A stored account. `name` is the canonical user name (the unique key).
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Random id, new for every registration: a session of a deleted account can never match an
    /// account registered later under the same name.
    pub id: String,
    /// Canonical user name: the unique key, as [`accounts_api::UserName::canonical`] gives it.
    pub name: String,
    /// The name as the user typed it at registration, for display.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// When the account was registered.
    pub created_at: OffsetDateTime,
    /// When the password was last set (a rehash does not count).
    pub password_changed_at: OffsetDateTime,
    /// Turned off by an operator: a login with the right password is refused.
    pub disabled: bool,
    /// Expired by an operator: the next login must change the password first. Any new
    /// password clears it.
    pub password_expired: bool,
    /// When the pending password-reset link ends, if one was issued (its token's hash stays
    /// inside the store: it is a credential).
    pub reset_expires_at: Option<OffsetDateTime>,
    /// Whether the pending (or last used) reset link removes the account's passkeys when it
    /// is used: an operator's link does unless told to keep them, since whoever had the
    /// account may have added one before the owner gets to use it.
    pub reset_removes_passkeys: bool,
    /// Whether the pending (or last used) reset link was issued by an operator (a mailed one
    /// must not replace it).
    pub reset_by_operator: bool,
    /// The authenticator-app secret in force, when two-factor login is on: sealed with the
    /// data key (see `crate::data_key`), or base32 as stored before sealing.
    pub totp_secret: Option<String>,
    /// A secret being set up, in force once a code from it is confirmed; stored like
    /// `totp_secret`.
    pub totp_pending: Option<String>,
    /// The last time step whose code was accepted: a code works once.
    pub totp_last_step: i64,
    /// Bumped by every revocation of the account's sessions: a login stores its session only
    /// if the account is still at the generation it read when checking the login.
    pub session_generation: i64,
    /// The account's email address as the user typed it, if it has one (unique among
    /// accounts, compared caselessly).
    pub email: Option<String>,
    /// Whether the owner of `email` has followed a verification link (or an operator said so).
    /// Only a verified address receives reset links.
    pub email_verified: bool,
}

impl UserRecord {
    /// A newly registered account: a new random id, `now` for its creation and password, and
    /// nothing else set (enabled, no reset link, no second factor).
    pub fn new(name: &str, display_name: &str, password_hash: String, now: OffsetDateTime) -> Self {
        Self {
            id: crate::ids::account_id(),
            name: name.to_owned(),
            display_name: display_name.to_owned(),
            password_hash,
            created_at: now,
            password_changed_at: now,
            disabled: false,
            password_expired: false,
            reset_expires_at: None,
            reset_removes_passkeys: false,
            reset_by_operator: false,
            totp_secret: None,
            totp_pending: None,
            totp_last_step: 0,
            session_generation: 0,
            email: None,
            email_verified: false,
        }
    }
}

impl fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("display_name", &self.display_name)
            .field("password_hash", &"***")
            .field("created_at", &self.created_at)
            .field("password_changed_at", &self.password_changed_at)
            .field("disabled", &self.disabled)
            .field("password_expired", &self.password_expired)
            .field("reset_expires_at", &self.reset_expires_at)
            .field("reset_removes_passkeys", &self.reset_removes_passkeys)
            .field("reset_by_operator", &self.reset_by_operator)
            .field("totp", &self.totp_secret.as_ref().map(|_| "***"))
            .field("totp_pending", &self.totp_pending.as_ref().map(|_| "***"))
            .field("totp_last_step", &self.totp_last_step)
            .field("session_generation", &self.session_generation)
            .field("email", &self.email)
            .field("email_verified", &self.email_verified)
            .finish()
    }
}

/// Which of an account's authenticator-app secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpSlot {
    /// [`UserRecord::totp_secret`].
    InForce,
    /// [`UserRecord::totp_pending`].
    Pending,
}

impl TotpSlot {
    /// Both, in force first.
    pub const ALL: [Self; 2] = [Self::InForce, Self::Pending];

    /// The account's secret in this slot.
    pub fn of(self, user: &UserRecord) -> Option<&str> {
        match self {
            Self::InForce => user.totp_secret.as_deref(),
            Self::Pending => user.totp_pending.as_deref(),
        }
    }

    /// The column or field that holds it, in both stores.
    pub(crate) fn field(self) -> &'static str {
        match self {
            Self::InForce => "totp_secret",
            Self::Pending => "totp_pending",
        }
    }
}

/// A login session. Only the SHA-256 of the token is stored, so a leaked database holds no
/// usable session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Hex SHA-256 of the token the client holds.
    pub token_hash: String,
    /// The [`UserRecord::id`] of the account: a later account under the same name never matches.
    pub user_id: String,
    /// The account's canonical name, to find it.
    pub user_name: String,
    /// When the session was opened (sessions older than a password change are void).
    pub created_at: OffsetDateTime,
    /// When the session ends by itself.
    pub expires_at: OffsetDateTime,
    /// When its holder last proved who they are (the login, or a re-authentication since):
    /// sensitive changes need this to be recent.
    pub authenticated_at: OffsetDateTime,
    /// How its holder logged in, as OpenID Connect's `amr` values, space-separated (`pwd`,
    /// `pwd otp`, `hwk`); empty for sessions from before it was recorded.
    pub amr: String,
    /// The browser and system it was opened from, as the user sees it ("Firefox on Linux").
    pub browser: String,
    /// The network it was opened from (an IPv4 /24 or IPv6 /48), for the user's list.
    pub ip_prefix: String,
    /// When it was last used, to within [`crate::accounts::LAST_SEEN_GRANULARITY`].
    pub last_seen_at: OffsetDateTime,
}

/// What a request with a session cookie needs, read together: the session, its account, and
/// how many passkeys and unused recovery codes the account has (the signed-in pages show
/// them). One lookup, so the embedded store can answer it from memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLookup {
    /// The session.
    pub session: SessionRecord,
    /// Its account.
    pub user: UserRecord,
    /// Passkeys registered to the account.
    pub passkeys: u64,
    /// Unused recovery codes of the account.
    pub recovery_codes: u64,
}

/// A counter of events under one key (failed logins of an account, requests of a client IP in
/// a minute) that expires by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Events counted since the counter (re)started.
    pub count: u32,
    /// When the last event was counted.
    pub last_at: OffsetDateTime,
    /// When the counter is forgotten.
    pub expires_at: OffsetDateTime,
}

/// A browser known to an account (OWASP "device cookies"): a successful login there gave it a
/// long-lived cookie; only the SHA-256 of the cookie's token is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Hex SHA-256 of the token the browser holds.
    pub token_hash: String,
    /// The account it is known to.
    pub user_id: String,
    /// That account's canonical name, to match a login attempt before any account lookup.
    pub user_name: String,
    /// When it stops counting as known.
    pub expires_at: OffsetDateTime,
}

/// A passkey (WebAuthn credential) registered to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRecord {
    /// The credential id, base64url: unique across all accounts.
    pub credential_id: String,
    /// The account.
    pub user_id: String,
    /// What the user called it ("Laptop", "Phone").
    pub name: String,
    /// The credential's public key and signature counter, as the WebAuthn library keeps them
    /// (JSON). Not a secret.
    pub passkey: String,
    /// When it was registered.
    pub created_at: OffsetDateTime,
    /// When it last logged in.
    pub last_used_at: Option<OffsetDateTime>,
}

/// An account's new email address (see [`EmailStore::set_email`](super::EmailStore::set_email)).
#[derive(Debug, Clone, Copy)]
pub struct NewEmail<'a> {
    /// As the user typed it.
    pub address: &'a str,
    /// The unique key: the address lowercased, so two accounts cannot hold one mailbox in
    /// two spellings.
    pub key: &'a str,
    /// Already verified (an operator said so), or waiting for its link.
    pub verified: bool,
    /// The verification link's token hash and expiry, if one is sent.
    pub token: Option<(&'a str, OffsetDateTime)>,
}

/// A message in the outbox: kept until an SMTP server has taken it, so neither a restart nor
/// an outage loses it. One sender at a time holds it (a lease that runs out if that sender
/// dies, so it is sent at least once).
#[derive(Clone, PartialEq, Eq)]
pub struct MailRecord {
    /// Random id.
    pub id: String,
    /// The recipient's address.
    pub recipient: String,
    /// What it is ("verify", "reset", "notice", ...), for operators.
    pub kind: String,
    /// The message itself (subject and bodies), sealed with the data key: it may hold a link
    /// that is a credential.
    pub sealed: String,
    /// When it was queued.
    pub created_at: OffsetDateTime,
    /// Tries so far.
    pub attempts: u32,
    /// When it is next due; while a sender holds it, when that sender's lease runs out.
    pub next_attempt_at: OffsetDateTime,
    /// The sender holding it, if one took it.
    pub lease_owner: Option<String>,
    /// Why the last try failed.
    pub last_error: Option<String>,
    /// Given up: no more tries (kept for operators to see).
    pub failed: bool,
}

impl fmt::Debug for MailRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailRecord")
            .field("id", &self.id)
            .field("recipient", &self.recipient)
            .field("kind", &self.kind)
            .field("sealed", &"***")
            .field("created_at", &self.created_at)
            .field("attempts", &self.attempts)
            .field("next_attempt_at", &self.next_attempt_at)
            .field("lease_owner", &self.lease_owner)
            .field("last_error", &self.last_error)
            .field("failed", &self.failed)
            .finish()
    }
}

/// A new password-reset link (see [`RecoveryStore::set_reset_token`](super::RecoveryStore::set_reset_token)).
#[derive(Debug, Clone, Copy)]
pub struct ResetLink<'a> {
    /// SHA-256 of the token.
    pub token_hash: &'a str,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
    /// Using it removes the account's passkeys.
    pub removes_passkeys: bool,
    /// An operator issued it (a mailed link must not replace it).
    pub by_operator: bool,
}

/// An app that signs users in through OpenID Connect (an OAuth client), registered by an
/// operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    /// The client id: random, unique.
    pub id: String,
    /// What users see on the consent page.
    pub name: String,
    /// Hex SHA-256 of the client secret; `None` for a public client (PKCE, no secret). A
    /// secret is 256 random bits, so a fast hash is enough.
    pub secret_hash: Option<String>,
    /// Where codes may be sent: compared exactly.
    pub redirect_uris: Vec<String>,
    /// Where a logout may send the browser back to: compared exactly.
    pub post_logout_uris: Vec<String>,
    /// Signs users in without a consent page.
    pub trusted: bool,
    /// How its ID tokens are signed: `RS256`, `ES256` or `EdDSA`.
    pub signing_alg: String,
    /// When it was registered.
    pub created_at: OffsetDateTime,
}

/// A group of accounts, named by an operator; apps see the names in the `groups` claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    /// Its name: the unique key.
    pub name: String,
    /// The [`UserRecord::id`]s of its members.
    pub members: Vec<String>,
}

/// What one authorization gave one app: the tokens issued from one code (and every refresh
/// after it) belong to it, so revoking it revokes them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// Random id, named by the code it comes from.
    pub id: String,
    /// The app.
    pub client_id: String,
    /// The account.
    pub user_id: String,
    /// The scopes granted, space-separated.
    pub scope: String,
    /// When the user last logged in before the authorization (the `auth_time` claim).
    pub auth_time: OffsetDateTime,
    /// How they logged in (the `amr` claim), space-separated.
    pub amr: String,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it ends unless a refresh extends it.
    pub expires_at: OffsetDateTime,
    /// The account's session generation when the user authorized it: a password change or
    /// an operator's revocation moves the account on, and the grant is void from then on,
    /// even if it was written after the revocation swept the grants.
    pub generation: i64,
}

/// What an OAuth token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An authorization code (single use).
    Code,
    /// An access token.
    Access,
    /// A refresh token (single use: each use issues the next).
    Refresh,
}

impl TokenKind {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }

    /// The kind with this stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "code" => Some(Self::Code),
            "access" => Some(Self::Access),
            "refresh" => Some(Self::Refresh),
            _ => None,
        }
    }
}

/// An OAuth token (code, access or refresh): only the SHA-256 of the secret is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// What it is.
    pub kind: TokenKind,
    /// The grant it belongs to (for a code: the grant its exchange creates).
    pub grant_id: String,
    /// The app it was issued to.
    pub client_id: String,
    /// The account.
    pub user_id: String,
    /// Its scopes, space-separated.
    pub scope: String,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
    /// Whether it was used (codes and refresh tokens work once; a second use revokes the grant).
    pub used: bool,
    /// For a code: what the exchange must match and the ID token carries (JSON).
    pub data: Option<String>,
}

/// A user's consent to what an app asked for: remembered per app, so the same request does
/// not ask again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    /// The account.
    pub user_id: String,
    /// The app.
    pub client_id: String,
    /// The scopes allowed, space-separated.
    pub scope: String,
    /// When the user allowed them.
    pub granted_at: OffsetDateTime,
}

/// A key that signs ID tokens. Published in the JWKS from when it is made; signs from
/// `active_from`, so apps have fetched it before they see a token it signed.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// The key id (`kid`).
    pub kid: String,
    /// `RS256`, `ES256` or `EdDSA`.
    pub alg: String,
    /// The private key (PKCS#8), sealed with the data key.
    pub sealed: String,
    /// The public key as a JWK (JSON).
    pub public_jwk: String,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it starts signing.
    pub active_from: OffsetDateTime,
}

impl fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("sealed", &"***")
            .field("created_at", &self.created_at)
            .field("active_from", &self.active_from)
            .finish()
    }
}
