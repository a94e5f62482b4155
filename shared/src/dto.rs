//! JSON bodies of the API. Keys follow the original service (`user_name`, `password`,
//! `newpassword`) so its clients keep working. Timestamps are RFC 3339 UTC strings.

use serde::{Deserialize, Serialize};

use crate::password::{Password, PasswordPolicy};

/// `POST /api/user/add` and `POST /api/login` (and the original `/user/add`, `/login`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Credentials {
    /// The user name, in any case or Unicode form.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 3, max_length = 32, example = "Ada")
    )]
    pub user_name: String,
    /// The password (new, when registering).
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 1, max_length = 256, example = "correct horse battery"))]
    pub password: Password,
    /// With two-factor login on: a current code from the authenticator app, or one of the
    /// recovery codes. Ignored otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "123456"))]
    pub code: Option<String>,
}

/// `POST /api/user/add` (and the original `/user/add`): a new account, optionally with an
/// email address (verified by a link mailed to it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterRequest {
    /// The user name, in any case or Unicode form.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 3, max_length = 32, example = "Ada")
    )]
    pub user_name: String,
    /// The new password.
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 1, max_length = 256, example = "correct horse battery"))]
    pub password: Password,
    /// An email address for reset links and security notices (at most 254 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 254, example = "ada@example.org")
    )]
    pub email: Option<String>,
}

/// `POST /api/login` (and the original `/login`): a user name and password (and a code, with
/// two-factor login on), or the `login_ticket` a right password got and a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    /// The user name, in any case or Unicode form (not with a ticket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 3, max_length = 32, example = "Ada")
    )]
    pub user_name: Option<String>,
    /// The password (not with a ticket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, min_length = 1, max_length = 256, example = "correct horse battery"))]
    pub password: Option<Password>,
    /// With two-factor login on: a current code from the authenticator app, or one of the
    /// recovery codes. Ignored otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "123456"))]
    pub code: Option<String>,
    /// The ticket of an `mfa_required` reply, sent with `code` instead of the name and
    /// password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_ticket: Option<String>,
}

impl From<Credentials> for LoginRequest {
    fn from(c: Credentials) -> Self {
        Self {
            user_name: Some(c.user_name),
            password: Some(c.password),
            code: c.code,
            login_ticket: None,
        }
    }
}

/// `POST /api/user/update` (and the original `/user/update`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    /// The user name, in any case or Unicode form.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 3, max_length = 32, example = "Ada")
    )]
    pub user_name: String,
    /// The current password.
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 1, max_length = 256, example = "correct horse battery"))]
    pub password: Password,
    /// The new password: at least the configured minimum length (8 or more), at most 256
    /// characters, not the user name, not a commonly used password.
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 8, max_length = 256, example = "staple orbit lantern"))]
    pub newpassword: Password,
    /// With two-factor login on: a current code from the authenticator app, or one of the
    /// recovery codes. Ignored otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "123456"))]
    pub code: Option<String>,
}

/// `POST /api/password/reset`: a new password, with the token of an operator's reset link.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResetPasswordRequest {
    /// The token from the link's `#token=` fragment (64 hexadecimal digits).
    #[cfg_attr(
        feature = "openapi",
        schema(example = "3f7a0c9e5b1d2f4a6c8e0b2d4f6a8c0e3f7a0c9e5b1d2f4a6c8e0b2d4f6a8c0e")
    )]
    pub token: String,
    /// The new password: at least the configured minimum length (8 or more), at most 256
    /// characters, not the user name, not a commonly used password.
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 8, max_length = 256, example = "staple orbit lantern"))]
    pub newpassword: Password,
    /// With two-factor login on: a current code from the authenticator app, or a recovery
    /// code (a link alone never gets past the second factor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "123456"))]
    pub code: Option<String>,
}

/// The token is a credential: never in logs.
impl std::fmt::Debug for ResetPasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetPasswordRequest")
            .field("token", &"***")
            .field("newpassword", &self.newpassword)
            .field("code", &self.code.as_ref().map(|_| "***"))
            .finish()
    }
}

/// `POST /api/password/forgot`: the user name or the email address of the account whose
/// owner forgot the password: exactly one of them, and no other key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ForgotPasswordRequest {
    /// The user name, in any case or Unicode form.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_string"
    )]
    pub user_name: Option<String>,
    /// Or the account's (verified) email address.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_string"
    )]
    pub email: Option<String>,
}

/// A key that is absent is `None`; one that is present must be a string (`null` is not one:
/// `{"email": "…", "user_name": null}` names both keys, which the schema's `oneOf` refuses).
fn present_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// Exactly one key, `user_name` or `email`, and nothing else. (Written as one object with a
/// property count rather than `oneOf`: a fuzzer that mutates one branch of a `oneOf` makes
/// bodies the other branch accepts and calls them invalid.)
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ForgotPasswordRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
        let string = |description: &str, example: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
                .examples([example])
        };
        ObjectBuilder::new()
            .description(Some(
                "The user name or the email address of the account whose owner forgot the \
                 password: exactly one of them.",
            ))
            .property(
                "user_name",
                string("The user name, in any case or Unicode form.", "Ada"),
            )
            .property(
                "email",
                string(
                    "Or the account's (verified) email address.",
                    "ada@example.org",
                ),
            )
            .min_properties(Some(1))
            .max_properties(Some(1))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ForgotPasswordRequest {}

/// `POST /api/email`: the signed-in account's new email address (a sensitive change: within
/// the re-authentication window, or with the password and code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailRequest {
    /// The new address (at most 254 characters).
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 254, example = "ada@example.org")
    )]
    pub email: String,
    /// The account's current password: optional within the re-authentication window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, min_length = 1, max_length = 256, example = "correct horse battery"))]
    pub password: Option<Password>,
    /// With the password, for an account with two-factor login on: a code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "123456"))]
    pub code: Option<String>,
}

/// `POST /api/email/verify`: the token of a verification link.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailVerifyRequest {
    /// The token from the link's `#token=` fragment (64 hexadecimal digits).
    #[cfg_attr(
        feature = "openapi",
        schema(example = "3f7a0c9e5b1d2f4a6c8e0b2d4f6a8c0e3f7a0c9e5b1d2f4a6c8e0b2d4f6a8c0e")
    )]
    pub token: String,
}

/// The token is a credential: never in logs.
impl std::fmt::Debug for EmailVerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EmailVerifyRequest(***)")
    }
}

/// Reply to a request whose outcome is told in words only (and, for a forgotten password,
/// is the same whether or not the account exists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageReply {
    /// What happened, in words.
    pub message: String,
}

/// `POST /api/user/delete`.
pub type DeleteAccountRequest = Credentials;

/// Reply to register, change password and delete: who, and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountReply {
    /// The user name as the user typed it at registration.
    pub user_name: String,
    /// What happened, in words.
    pub message: String,
}

/// Reply to a successful login; the session itself travels in an `HttpOnly` cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginReply {
    /// The user name as the user typed it at registration.
    pub user_name: String,
    /// What happened, in words.
    pub message: String,
    /// When the session ends.
    pub expires_at: String,
}

/// `GET /api/session`: the signed-in account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    /// The user name as the user typed it at registration.
    pub user_name: String,
    /// When the account was created.
    pub created_at: String,
    /// When the password was last changed.
    pub password_changed_at: String,
    /// When this session ends.
    pub expires_at: String,
    /// Whether two-factor login (an authenticator app) is on.
    #[serde(default)]
    pub totp: bool,
    /// Recovery codes left, when two-factor login is on.
    #[serde(default)]
    pub recovery_codes_left: u64,
    /// Passkeys registered.
    #[serde(default)]
    pub passkeys: u64,
    /// Until when sensitive changes need no re-authentication (the last login or
    /// re-authentication plus the window); in the past, they answer `403 reauth_required`.
    #[serde(default)]
    pub reauth_until: String,
    /// The account's email address, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether its owner confirmed it (only a verified address receives reset links).
    #[serde(default)]
    pub email_verified: bool,
}

/// `GET /api/policy`: the rules in force, so the browser app checks input before sending it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyInfo {
    /// The rules for new passwords.
    pub password: PasswordPolicy,
    /// Shortest user name, in characters.
    pub user_name_min_length: usize,
    /// Longest user name, in characters.
    pub user_name_max_length: usize,
    /// The allowed characters, in words.
    pub user_name_allowed: String,
    /// Passwords older than this many seconds must be changed; `0` means never.
    pub password_max_age_secs: u64,
    /// Whether this server sends mail: verification links, and reset links for a forgotten
    /// password. Off, an administrator issues reset links.
    #[serde(default)]
    pub self_service_recovery: bool,
    /// The domain the session cookie is shared with (`--cookie-domain`): after a login, the
    /// app may go on (`rd`) to a host under it, as well as to this service's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_domain: Option<String>,
}

/// `POST /api/mfa/totp/setup`: nothing within the re-authentication window; else the
/// current password, checked again (which also renews the window).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Debug, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpSetupRequest {
    /// The account's current password: optional within the re-authentication window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, min_length = 1, max_length = 256, example = "correct horse battery"))]
    pub password: Option<Password>,
}

/// A new authenticator-app secret, not yet in force: enter it (or scan `otpauth_uri` as a QR
/// code) in the app, then confirm a code from it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpSetup {
    /// 160 random bits, base32 (RFC 4648, no padding).
    #[cfg_attr(
        feature = "openapi",
        schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    )]
    pub secret: String,
    /// `otpauth://totp/...` for a QR code.
    pub otpauth_uri: String,
    /// The same URI as a QR code: SVG path data of its dark modules, on a square of
    /// `qr_size` modules (quiet zone included), one unit per module.
    pub qr_path: String,
    /// The QR code's side, in modules.
    pub qr_size: u32,
}

/// The secret is a credential: never in logs.
impl std::fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSetup(***)")
    }
}

/// `POST /api/mfa/totp/confirm`: a code from the new secret turns it on.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Debug)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpConfirmRequest {
    /// Six digits from the authenticator app.
    #[cfg_attr(feature = "openapi", schema(example = "123456"))]
    pub code: String,
}

/// Two-factor login is on: these single-use recovery codes are shown once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodes {
    /// Ten codes like `abcde-fghij`; each works once in place of an authenticator code.
    pub recovery_codes: Vec<String>,
}

/// The codes are credentials: never in logs.
impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodes({} x ***)", self.recovery_codes.len())
    }
}

/// A sensitive change (`POST /api/mfa/totp/disable`, `/api/passkeys/register/start`):
/// nothing within the re-authentication window; else the password (and, with two-factor login
/// on, a code), checked like a login, which also renews the window.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Debug, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SensitiveRequest {
    /// The account's current password: optional within the re-authentication window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, min_length = 1, max_length = 256, example = "correct horse battery"))]
    pub password: Option<Password>,
    /// With the password, for an account with two-factor login on: a current code from the
    /// authenticator app, or a recovery code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "123456"))]
    pub code: Option<String>,
}

/// `POST /api/session/reauth`: the password again (and, with two-factor login on, a code),
/// checked like a login; sensitive changes then need nothing more for the window.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Debug)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReauthRequest {
    /// The account's current password.
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 1, max_length = 256, example = "correct horse battery"))]
    pub password: Password,
    /// With two-factor login on: a current code from the authenticator app, or a recovery code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// A re-authentication accepted.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Debug)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReauthReply {
    /// Until when sensitive changes need no further re-authentication.
    pub reauth_until: String,
}

/// A WebAuthn ceremony started: pass `options` to the browser (`PublicKeyCredential.
/// parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON` take its `publicKey`), then
/// send the result back with `ceremony` within five minutes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyChallenge {
    /// Names this ceremony; works once.
    pub ceremony: String,
    /// `{"publicKey": {...}}`, WebAuthn's JSON form of the creation or request options.
    /// Kept as raw JSON: neither side needs to look inside but the WebAuthn code.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub options: Box<serde_json::value::RawValue>,
}

/// `POST /api/passkeys/register/finish`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyRegistrationRequest {
    /// From the challenge.
    pub ceremony: String,
    /// What to call the passkey (at most 64 characters; default "Passkey").
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 64, example = "Laptop"))]
    pub name: String,
    /// The new credential, as `PublicKeyCredential.toJSON()` gives it.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: Box<serde_json::value::RawValue>,
}

/// `POST /api/passkeys/login/finish`, and `POST /api/session/reauth/passkey` (with a
/// ceremony from `POST /api/passkeys/login/start`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeyLoginRequest {
    /// From the challenge.
    pub ceremony: String,
    /// The assertion, as `PublicKeyCredential.toJSON()` gives it.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: Box<serde_json::value::RawValue>,
}

/// A passkey of the signed-in account.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasskeySummary {
    /// The credential id (base64url): names it for removal.
    pub id: String,
    /// What the owner called it.
    pub name: String,
    /// When it was added.
    pub created_at: String,
    /// When it last logged in (or confirmed a sensitive change); `null` if never.
    pub last_used_at: Option<String>,
}

/// `POST /api/oidc/authorize`: an app's sign-in request, as the app page got it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    /// The query string of `/oidc/authorize` (without `?`).
    pub query: String,
}

/// `POST /api/oidc/consent`: the user's answer on the consent page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    /// The query string of `/oidc/authorize` (without `?`).
    pub query: String,
    /// Allow (`true`) or deny.
    pub allow: bool,
}

/// What happens next with an app's sign-in request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizeStep {
    /// `login` (no session: log in, then ask again), `reauth` (signed in, but the app wants
    /// a fresh login: confirm it is you, then ask again), `consent` (ask the user) or
    /// `redirect` (go to `location`: back to the app).
    pub step: String,
    /// For `redirect`: where to go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// For `consent`: the app's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// For `consent`: what it asks for (`openid`, `profile`, `email`, `groups`,
    /// `offline_access`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

/// An app the signed-in user allowed to sign them in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppSummary {
    /// The app's client id.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// What it may do (scopes).
    pub scopes: Vec<String>,
    /// When the user allowed it.
    pub granted_at: String,
}

/// One of the signed-in user's sessions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionEntry {
    /// Names it for revoking (not a credential).
    pub id: String,
    /// Browser and system, e.g. "Firefox on Linux".
    pub browser: String,
    /// The network it signed in from (an IPv4 /24 or IPv6 /48); empty if unknown.
    pub ip_prefix: String,
    /// When it signed in.
    pub signed_in_at: String,
    /// When its holder last entered a password or used a passkey.
    pub last_confirmed_at: String,
    /// When it was last used (to within five minutes).
    pub last_seen_at: String,
    /// The session of this request.
    pub current: bool,
}

/// `GET /api/apps`: the apps and sessions of the signed-in user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppsReply {
    /// Apps allowed, earliest first.
    pub apps: Vec<AppSummary>,
    /// Signed-in sessions, oldest first.
    pub sessions: Vec<SessionEntry>,
}

/// `POST /api/apps/revoke`: forget an app's consent and revoke its tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RevokeAppRequest {
    /// The app's client id.
    pub client_id: String,
}

/// `POST /api/sessions/revoke`: log one session out, or every other one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RevokeSessionRequest {
    /// The session's id; absent: every session but this one.
    #[serde(default)]
    pub id: Option<String>,
}
