//! RFC 9457 problem details: the one shape of every error reply, and its stable machine codes.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Declares [`ErrorCode`] from one table, so each code's wire name, HTTP status and title are
/// written once and the enum, its lookups and [`ErrorCode::ALL`] cannot disagree. (serde's
/// `snake_case` names the variants on the wire, since that is what the OpenAPI schema reads;
/// a unit test checks every wire name in the table against it.)
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $wire:literal, $status:literal, $title:literal;)*) => {
        /// A stable machine-readable error code, the `code` member of every problem reply.
        ///
        /// Clients branch on this, never on `title` or `detail`, which may be reworded.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
            /// Any code this version does not know (a newer server): keeps old clients working.
            #[serde(other)]
            Unknown,
        }

        impl ErrorCode {
            /// Every code this version knows (all but [`ErrorCode::Unknown`]).
            pub const ALL: &'static [ErrorCode] = &[$(Self::$variant),*];

            /// The HTTP status that goes with the code.
            pub fn status(self) -> u16 {
                match self {
                    $(Self::$variant => $status,)*
                    Self::Unknown => 500,
                }
            }

            /// A short, fixed, human-readable summary (the problem's `title`).
            pub fn title(self) -> &'static str {
                match self {
                    $(Self::$variant => $title,)*
                    Self::Unknown => "Error",
                }
            }

            /// The snake_case code as it appears on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Unknown => "unknown",
                }
            }
        }
    };
}

error_codes! {
    /// The body is not JSON of the route's shape.
    MalformedJson = "malformed_json", 400, "Malformed JSON body";
    /// A required key is absent.
    MissingField = "missing_field", 400, "Missing field";
    /// The user name breaks the rules.
    InvalidUserName = "invalid_user_name", 400, "Invalid user name";
    /// A new password breaks the policy (or a password is empty).
    InvalidPassword = "invalid_password", 400, "Invalid password";
    /// The body is not `application/json`.
    UnsupportedMediaType = "unsupported_media_type", 415, "Unsupported media type";
    /// The body is over the size limit.
    PayloadTooLarge = "payload_too_large", 413, "Payload too large";
    /// The name is taken, in any case or Unicode form.
    UserExists = "user_exists", 409, "User name taken";
    /// Unknown user or wrong password: one answer for both.
    InvalidCredentials = "invalid_credentials", 401, "Invalid credentials";
    /// The password is right but older than the maximum age.
    PasswordExpired = "password_expired", 401, "Password expired";
    /// The password is right but an operator has disabled the account.
    AccountDisabled = "account_disabled", 403, "Account disabled";
    /// A password-reset token that is wrong, used or expired: one answer for each.
    InvalidResetToken = "invalid_reset_token", 400, "Invalid or expired reset link";
    /// The password is right; the account also needs a code from its authenticator app (or a
    /// recovery code) in `code`. A login's reply carries a `login_ticket` to send with it.
    MfaRequired = "mfa_required", 401, "Code required";
    /// A login ticket that is wrong, used, expired, from another browser, or out of tries: log
    /// in with the password again.
    InvalidLoginTicket = "invalid_login_ticket", 401, "Log in again";
    /// The authenticator or recovery code is wrong, or was used before.
    InvalidCode = "invalid_code", 401, "Invalid code";
    /// Two-factor login is already on (to set it up), or not on (to turn it off).
    MfaConflict = "mfa_conflict", 409, "Two-factor login state conflict";
    /// A passkey was not accepted (its ceremony is unknown, used or expired, or it does not
    /// verify).
    InvalidPasskey = "invalid_passkey", 400, "Passkey not accepted";
    /// A passkey name is too long or has control characters.
    InvalidPasskeyName = "invalid_passkey_name", 400, "Invalid passkey name";
    /// This server has no WebAuthn relying party (its public URL has no domain name).
    PasskeysUnavailable = "passkeys_unavailable", 503, "Passkeys unavailable";
    /// A sensitive change (passkeys, two-factor login) needs a recent authentication: none in
    /// the re-authentication window. `POST /api/session/reauth` (the password, and the code)
    /// or `/api/session/reauth/passkey` renews it; then send the change again.
    ReauthRequired = "reauth_required", 403, "Confirm it is you";
    /// An email address that is not one, too long, or with control characters.
    InvalidEmail = "invalid_email", 400, "Invalid email address";
    /// An email verification link that is wrong, used, expired or replaced: one answer for
    /// each.
    InvalidEmailToken = "invalid_email_token", 400, "Invalid or expired verification link";
    /// This server sends no mail (no `--smtp-url`): no self-service recovery; an
    /// administrator can issue a reset link.
    MailUnavailable = "mail_unavailable", 503, "Mail is not set up";
    /// OAuth (RFC 6749 5.2): a request to an OpenID Connect endpoint is missing a parameter,
    /// repeats one, or has one that is not valid.
    OauthInvalidRequest = "oauth_invalid_request", 400, "Invalid OAuth request";
    /// OAuth: the app could not be authenticated (unknown, wrong secret, or none sent).
    OauthInvalidClient = "oauth_invalid_client", 401, "App authentication failed";
    /// OAuth: the code or refresh token is wrong, used, expired, revoked, or was issued to
    /// another app or redirect URI, or the PKCE verifier does not match.
    OauthInvalidGrant = "oauth_invalid_grant", 400, "Invalid grant";
    /// OAuth: this app may not use this grant type.
    OauthUnauthorizedClient = "oauth_unauthorized_client", 400, "App not allowed";
    /// OAuth: the grant type is not supported.
    OauthUnsupportedGrantType = "oauth_unsupported_grant_type", 400, "Unsupported grant type";
    /// OAuth: a scope beyond what was granted.
    OauthInvalidScope = "oauth_invalid_scope", 400, "Invalid scope";
    /// OAuth (RFC 6750): the access token is wrong, expired or revoked.
    OauthInvalidToken = "oauth_invalid_token", 401, "Invalid access token";
    /// A sign-in request from an app that cannot be sent back to it: the app is unknown, or
    /// the `redirect_uri` is not one registered for it (compared exactly).
    InvalidAuthorizationRequest = "invalid_authorization_request", 400, "Invalid sign-in request";
    /// Forward-auth: signed in, but the rules do not let this account (or anyone) reach this
    /// address of the app; or the check did not come from a trusted proxy.
    AccessDenied = "access_denied", 403, "Not allowed here";
    /// No valid session.
    Unauthenticated = "unauthenticated", 401, "Not signed in";
    /// No such route.
    NotFound = "not_found", 404, "Not found";
    /// The route exists; the method does not.
    MethodNotAllowed = "method_not_allowed", 405, "Method not allowed";
    /// The database cannot be reached.
    StoreUnavailable = "store_unavailable", 503, "Service temporarily unavailable";
    /// Too many attempts; see `Retry-After`.
    RateLimited = "rate_limited", 429, "Too many attempts";
    /// A cookie-carrying write from another site.
    CrossOrigin = "cross_origin", 403, "Cross-origin request refused";
    /// The request named another host than the service's public one (`Host`, or a trusted
    /// proxy's `X-Forwarded-Host`).
    MisdirectedRequest = "misdirected_request", 421, "Misdirected request";
    /// The body did not arrive in time.
    RequestTimeout = "request_timeout", 408, "Request timeout";
    /// Too many password checks waiting; see `Retry-After`.
    Overloaded = "overloaded", 503, "Server busy";
    /// A bug; details only in the server log.
    Internal = "internal", 500, "Internal error";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One invalid field of a request, listed in a validation problem's `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The JSON key, e.g. `user_name` or `newpassword`.
    pub field: String,
    /// What is wrong with it.
    pub code: ErrorCode,
    /// The same, for people.
    pub message: String,
}

/// An RFC 9457 `application/problem+json` body with this service's `code` extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A relative URI naming the kind of problem: `/problems/<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A fixed summary of the code.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time, for people.
    pub detail: String,
    /// The stable machine code clients branch on.
    pub code: ErrorCode,
    /// Each invalid field, for validation failures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The server's id for the request (also in the `x-request-id` header and its logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// With `mfa_required` from a login: send it back with the code (`POST /api/login`
    /// `{"login_ticket", "code"}`) instead of the password. Single use, five minutes, this
    /// browser only, five codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_ticket: Option<String>,
    /// On OpenID Connect endpoints: the OAuth error (RFC 6749 5.2), as OAuth clients read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// On OpenID Connect endpoints: the detail, under OAuth's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl Problem {
    /// A problem of kind `code`, its title and status from the code's table.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            type_uri: format!("/problems/{code}"),
            title: code.title().to_owned(),
            status: code.status(),
            detail: detail.into(),
            code,
            errors: Vec::new(),
            request_id: None,
            login_ticket: None,
            error: None,
            error_description: None,
        }
    }

    /// The same problem, listing `errors`.
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// The error for `field`, if the server singled one out.
    pub fn field_error(&self, field: &str) -> Option<&FieldError> {
        self.errors.iter().find(|e| e.field == field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_are_tolerated() {
        let p = Problem::new(ErrorCode::UserExists, "taken");
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["code"], "user_exists");
        assert_eq!(json["status"], 409);
        assert_eq!(json["type"], "/problems/user_exists");
        assert!(json.get("errors").is_none());
        let back: Problem = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);

        let newer: ErrorCode = serde_json::from_str("\"brand_new_code\"").unwrap();
        assert_eq!(newer, ErrorCode::Unknown);
    }

    #[test]
    fn every_code_round_trips_with_its_own_wire_name_and_an_error_status() {
        assert_eq!(ErrorCode::ALL.len(), 41);
        let mut seen = std::collections::HashSet::new();
        for &code in ErrorCode::ALL {
            let s = serde_json::to_string(&code).unwrap();
            assert_eq!(s.trim_matches('"'), code.as_str());
            assert_eq!(serde_json::from_str::<ErrorCode>(&s).unwrap(), code);
            assert!(seen.insert(code.as_str()), "{code} appears twice");
            assert!((400..600).contains(&code.status()), "{code}");
            assert!(!code.title().is_empty());
        }
    }
}
