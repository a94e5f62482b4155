//! `ApiError`: every failure the API can report, and the one place where failures become HTTP
//! responses: RFC 9457 `application/problem+json` with a stable `code`.
//!
//! [`ApiError::reply`] is the whole classification: for each case, once, its code (and so its
//! status), its detail, its field errors, its `Retry-After` and how the server should treat it.
//! The response carries the error in an extension, and the `observe` middleware logs and counts
//! it there, with its whole `source` chain. The client gets a generic detail, never internals,
//! passwords or hashes.

use std::sync::Arc;

use accounts_api::{ErrorCode, FieldError, Problem};
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

use super::BODY_LIMIT;
use crate::accounts::{AccountError, OauthError, OidcError};

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Everything the API can answer with instead of a success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON of the route's shape; says why, never echoing a value.
    #[error("{0}")]
    MalformedJson(String),
    /// A required key is absent.
    #[error("missing field `{0}`")]
    MissingField(String),
    /// The body is not `application/json`.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The body is over [`BODY_LIMIT`].
    #[error("payload too large")]
    PayloadTooLarge,
    /// No such route.
    #[error("not found")]
    NotFound,
    /// The route exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A cookie-carrying write from another site.
    #[error("cross-origin request with a session cookie")]
    CrossOrigin,
    /// The request named a host that is not the service's.
    #[error("request for another host")]
    MisdirectedRequest,
    /// The body did not arrive in time.
    #[error("request body too slow")]
    RequestTimeout,
    /// A use case refused or failed.
    #[error("use case")]
    Account(#[from] AccountError),
    /// The OpenID Connect provider refused or failed.
    #[error("openid connect")]
    Oidc(#[from] OidcError),
}

/// How the server treats an error it answers with (the client's view is the code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The client's request was refused: nothing to log beyond the access line.
    Client,
    /// Shed under load: a warning.
    Shed,
    /// The database is unreachable: a warning and a count.
    StoreUnavailable,
    /// A bug or corrupt data: an error and a count.
    Internal,
}

/// The classification of one error.
pub struct Reply {
    /// The machine code; the status follows from it.
    pub code: ErrorCode,
    /// One safe sentence for people.
    pub detail: String,
    /// The invalid fields, for validation failures.
    pub errors: Vec<FieldError>,
    /// Seconds for `Retry-After`, when waiting helps.
    pub retry_after: Option<u64>,
    /// Whose fault it is, for logs and metrics.
    pub fault: Fault,
    /// A login's ticket for its second step.
    pub login_ticket: Option<String>,
    /// An OAuth error (RFC 6749 5.2): the body also carries `error` and
    /// `error_description`, as `application/json`, which is what OAuth clients read.
    pub oauth: Option<&'static str>,
    /// The `WWW-Authenticate` challenge of a `401` from an OAuth endpoint.
    pub challenge: Option<&'static str>,
}

impl Reply {
    fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            fault: Fault::Client,
            login_ticket: None,
            oauth: None,
            challenge: None,
        }
    }

    /// The problem body the client gets.
    fn problem(self) -> Problem {
        let oauth = self.oauth.map(|error| (error, self.detail.clone()));
        let mut problem = Problem::new(self.code, self.detail).with_errors(self.errors);
        problem.login_ticket = self.login_ticket;
        if let Some((error, description)) = oauth {
            problem.error = Some(error.to_owned());
            problem.error_description = Some(description);
        }
        problem
    }

    fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    fn fault(mut self, fault: Fault) -> Self {
        self.fault = fault;
        self
    }
}

impl ApiError {
    /// The one classification of every error.
    pub fn reply(&self) -> Reply {
        use ErrorCode as C;
        match self {
            Self::MalformedJson(why) => Reply::new(
                C::MalformedJson,
                format!("The request body is not valid JSON for this route: {why}."),
            ),
            Self::MissingField(field) => Reply {
                errors: vec![FieldError {
                    field: field.clone(),
                    code: C::MissingField,
                    message: format!("{field} is required"),
                }],
                ..Reply::new(C::MissingField, format!("The field `{field}` is required."))
            },
            Self::UnsupportedMediaType => Reply::new(
                C::UnsupportedMediaType,
                "Send the body as JSON with `Content-Type: application/json`.",
            ),
            Self::PayloadTooLarge => Reply::new(
                C::PayloadTooLarge,
                format!("The request body is larger than {} KiB.", BODY_LIMIT / 1024),
            ),
            Self::NotFound => Reply::new(C::NotFound, "There is nothing at this address."),
            Self::MethodNotAllowed => Reply::new(
                C::MethodNotAllowed,
                "This route does not accept that HTTP method.",
            ),
            Self::CrossOrigin => Reply::new(
                C::CrossOrigin,
                "This request came from another site with your session cookie; it was refused.",
            ),
            Self::MisdirectedRequest => Reply::new(
                C::MisdirectedRequest,
                "This server does not answer for the host name this request was sent to. Use \
                 the service's own address.",
            ),
            Self::RequestTimeout => Reply::new(
                C::RequestTimeout,
                "The request body took too long to arrive.",
            ),
            Self::Account(e) => account_reply(e),
            Self::Oidc(e) => oidc_reply(e),
        }
    }

    /// The machine code of this error.
    pub fn code(&self) -> ErrorCode {
        self.reply().code
    }

    /// The HTTP status of this error.
    pub fn status_code(&self) -> StatusCode {
        status(self.code())
    }

    /// The problem body the client gets.
    pub fn problem(&self) -> Problem {
        self.reply().problem()
    }
}

fn account_reply(e: &AccountError) -> Reply {
    use ErrorCode as C;
    match e {
        AccountError::Invalid(errors) => Reply {
            errors: errors.clone(),
            ..Reply::new(
                errors.first().map_or(C::MalformedJson, |e| e.code),
                errors
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        },
        AccountError::UserExists => Reply::new(C::UserExists, "That user name is already taken."),
        AccountError::InvalidCredentials => {
            Reply::new(C::InvalidCredentials, "Wrong user name or password.")
        }
        AccountError::PasswordExpired => Reply::new(
            C::PasswordExpired,
            "Your password has expired. Set a new one with POST /api/user/update \
             (or /user/update), giving your current password.",
        ),
        AccountError::AccountDisabled => Reply::new(
            C::AccountDisabled,
            "This account has been disabled. Ask the administrator of this service.",
        ),
        AccountError::InvalidResetToken => Reply::new(
            C::InvalidResetToken,
            "This reset link is not valid: it may have been used already, have expired, or \
             been replaced by a newer one. Ask for a new link.",
        ),
        // Operators only; never reached over HTTP, but answered like any unknown thing.
        AccountError::NoSuchAccount(_) => Reply::new(C::NotFound, "No such account."),
        AccountError::SecondFactorRequired { login_ticket } => Reply {
            login_ticket: login_ticket.clone(),
            ..Reply::new(
                C::MfaRequired,
                "Enter the code from your authenticator app, or one of your recovery codes.",
            )
        },
        AccountError::InvalidLoginTicket => Reply::new(
            C::InvalidLoginTicket,
            "This login has timed out or was already finished: log in with your password \
             again.",
        ),
        AccountError::InvalidCode => Reply::new(
            C::InvalidCode,
            "That code is not right, or it was used already. Enter the current code from your \
             authenticator app, or an unused recovery code.",
        ),
        AccountError::SecondFactorConflict(why) => Reply::new(C::MfaConflict, *why),
        AccountError::PasskeysUnavailable => Reply::new(
            C::PasskeysUnavailable,
            "Passkeys need the service's public address to have a domain name (e.g. \
             https://accounts.example.com, or http://localhost:5000): set --public-url.",
        ),
        AccountError::InvalidPasskey => Reply::new(
            C::InvalidPasskey,
            "The passkey was not accepted. Try again; if it keeps failing, log in with your \
             password.",
        ),
        AccountError::NoSuchPasskey => Reply::new(C::NotFound, "No such passkey."),
        AccountError::ReauthRequired => Reply::new(
            C::ReauthRequired,
            "For this change, confirm it is you: enter your password again (POST \
             /api/session/reauth), or use a passkey, then try again.",
        ),
        AccountError::InvalidEmailToken => Reply::new(
            C::InvalidEmailToken,
            "This verification link is not valid: it may have been used already, have \
             expired, or been replaced by a newer one. Send a new one from your Account page.",
        ),
        AccountError::MailUnavailable => Reply::new(
            C::MailUnavailable,
            "This service cannot send mail: ask your administrator for a reset link.",
        ),
        AccountError::Unauthenticated => Reply::new(C::Unauthenticated, "Sign in first."),
        AccountError::RateLimited { retry_after } => {
            let secs = retry_after.as_secs().max(1);
            Reply::new(
                C::RateLimited,
                format!("Too many attempts. Try again in {secs} seconds."),
            )
            .retry_after(secs)
        }
        AccountError::Unavailable(_) => Reply::new(
            C::StoreUnavailable,
            "The database cannot be reached right now. Please try again shortly.",
        )
        .fault(Fault::StoreUnavailable),
        AccountError::Overloaded => Reply::new(
            C::Overloaded,
            "The server is busy checking other passwords. Please retry in a moment.",
        )
        .retry_after(1)
        .fault(Fault::Shed),
        AccountError::Internal(_) => {
            Reply::new(C::Internal, "Something went wrong on our side.").fault(Fault::Internal)
        }
    }
}

fn oidc_reply(e: &OidcError) -> Reply {
    use ErrorCode as C;
    match e {
        OidcError::Protocol { error, description } => {
            let (code, oauth, challenge) = match error {
                OauthError::InvalidRequest => (C::OauthInvalidRequest, "invalid_request", None),
                OauthError::InvalidClient => (
                    C::OauthInvalidClient,
                    "invalid_client",
                    Some("Basic realm=\"accounts\""),
                ),
                OauthError::InvalidGrant => (C::OauthInvalidGrant, "invalid_grant", None),
                OauthError::UnauthorizedClient => {
                    (C::OauthUnauthorizedClient, "unauthorized_client", None)
                }
                OauthError::UnsupportedGrantType => {
                    (C::OauthUnsupportedGrantType, "unsupported_grant_type", None)
                }
                OauthError::InvalidScope => (C::OauthInvalidScope, "invalid_scope", None),
                OauthError::InvalidToken => (
                    C::OauthInvalidToken,
                    "invalid_token",
                    Some("Bearer error=\"invalid_token\""),
                ),
            };
            Reply {
                oauth: Some(oauth),
                challenge,
                ..Reply::new(code, description.clone())
            }
        }
        OidcError::BadAuthorizationRequest(why) => Reply::new(
            C::InvalidAuthorizationRequest,
            format!("This sign-in request cannot be answered: {why}. Go back to the app and try again, or tell its administrator."),
        ),
        // Operators only; never reached over HTTP, but answered like any unknown thing.
        OidcError::Operator(why) => Reply::new(C::NotFound, why.clone()),
        OidcError::Account(e) => account_reply(e),
        OidcError::Internal(_) => {
            Reply::new(C::Internal, "Something went wrong on our side.").fault(Fault::Internal)
        }
    }
}

fn status(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The error a response was made from, for the `observe` middleware to log and count.
#[derive(Clone)]
pub struct Failure {
    /// The error, with its source chain.
    pub error: Arc<ApiError>,
    /// Whose fault it is.
    pub fault: Fault,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let reply = self.reply();
        let (retry_after, fault) = (reply.retry_after, reply.fault);
        let (oauth, challenge) = (reply.oauth, reply.challenge);
        let mut response = problem_response(reply.problem());
        if oauth.is_some() {
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Some(challenge) = challenge {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
            }
        }
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        // Only the server's own failures are logged and counted (see `observe`); a client's
        // mistake is worth no allocation.
        if fault != Fault::Client {
            response.extensions_mut().insert(Failure {
                error: Arc::new(self),
                fault,
            });
        }
        response
    }
}

/// Serialises a problem with its status and media type, and the id of the request it answers.
pub fn problem_response(mut problem: Problem) -> Response {
    problem.request_id = crate::telemetry::current_request_id();
    // Sized for a typical problem body, so serialising does not regrow the buffer.
    let mut body = Vec::with_capacity(512);
    if serde_json::to_writer(&mut body, &problem).is_err() {
        body = b"{}".to_vec();
    }
    let mut response = (status(problem.code), body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unavailable(why: &'static str) -> ApiError {
        AccountError::Unavailable(why.into()).into()
    }

    #[test]
    fn statuses_follow_codes() {
        assert_eq!(
            ApiError::PayloadTooLarge.status_code(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            ApiError::from(AccountError::UserExists).status_code(),
            StatusCode::CONFLICT
        );
        assert_eq!(
            unavailable("down").status_code(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            ApiError::from(AccountError::Internal("x".into())).status_code(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn internal_causes_never_reach_the_client_but_stay_in_the_chain() {
        let e = unavailable("mongodb://admin:s3cret@db");
        let p = e.problem();
        assert_eq!(p.code, ErrorCode::StoreUnavailable);
        assert!(!p.detail.contains("s3cret"));
        assert_eq!(e.reply().fault, Fault::StoreUnavailable);
        let chain = crate::telemetry::chain(&e);
        assert!(
            chain.ends_with("database unavailable: mongodb://admin:s3cret@db"),
            "{chain}"
        );
    }

    #[test]
    fn waiting_helps_only_where_retry_after_is_set() {
        let limited = ApiError::from(AccountError::RateLimited {
            retry_after: std::time::Duration::from_millis(10),
        });
        assert_eq!(limited.reply().retry_after, Some(1));
        let shed = ApiError::from(AccountError::Overloaded);
        assert_eq!(
            (shed.reply().retry_after, shed.reply().fault),
            (Some(1), Fault::Shed)
        );
        assert_eq!(ApiError::NotFound.reply().retry_after, None);
    }

    #[test]
    fn the_size_limit_is_stated_from_the_constant() {
        assert!(ApiError::PayloadTooLarge
            .reply()
            .detail
            .contains(&format!("{} KiB", BODY_LIMIT / 1024)));
    }
}
