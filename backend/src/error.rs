//! `ApiError`: every failure the API can report, and the one place where failures become HTTP
//! responses: RFC 9457 `application/problem+json` with a stable `code`.
//!
//! Server-side failures are logged here with their cause; the client gets a generic detail, never
//! internals, passwords or hashes.

use accounts_api::{ErrorCode, FieldError, Problem};
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

use crate::{accounts::AccountError, password::HashError, store::StoreError};

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    MalformedJson(String),
    #[error("missing field `{0}`")]
    MissingField(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("cross-origin request with a session cookie")]
    CrossOrigin,
    #[error("request body too slow")]
    RequestTimeout,
    #[error(transparent)]
    Account(#[from] AccountError),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Account(e.into())
    }
}

impl ApiError {
    /// The machine code; the status follows from it.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::MalformedJson(_) => ErrorCode::MalformedJson,
            Self::MissingField(_) => ErrorCode::MissingField,
            Self::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Self::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Self::NotFound => ErrorCode::NotFound,
            Self::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Self::CrossOrigin => ErrorCode::CrossOrigin,
            Self::RequestTimeout => ErrorCode::RequestTimeout,
            Self::Account(e) => match e {
                AccountError::Invalid(errors) => {
                    errors.first().map_or(ErrorCode::MalformedJson, |e| e.code)
                }
                AccountError::UserExists => ErrorCode::UserExists,
                AccountError::InvalidCredentials => ErrorCode::InvalidCredentials,
                AccountError::PasswordExpired => ErrorCode::PasswordExpired,
                AccountError::Unauthenticated => ErrorCode::Unauthenticated,
                AccountError::RateLimited { .. } => ErrorCode::RateLimited,
                AccountError::Store(StoreError::Unavailable(_)) => ErrorCode::StoreUnavailable,
                AccountError::Hash(HashError::Overloaded) => ErrorCode::Overloaded,
                AccountError::Store(StoreError::Duplicate | StoreError::Internal(_))
                | AccountError::Hash(_) => ErrorCode::Internal,
            },
        }
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The human-readable detail. Safe to show: built from our own words, never from a
    /// database or hashing error.
    fn detail(&self) -> String {
        match self {
            Self::MalformedJson(why) => {
                format!("The request body is not valid JSON for this route: {why}.")
            }
            Self::MissingField(field) => format!("The field `{field}` is required."),
            Self::UnsupportedMediaType => {
                "Send the body as JSON with `Content-Type: application/json`.".into()
            }
            Self::PayloadTooLarge => "The request body is larger than 16 KiB.".into(),
            Self::NotFound => "There is nothing at this address.".into(),
            Self::MethodNotAllowed => "This route does not accept that HTTP method.".into(),
            Self::CrossOrigin => {
                "This request came from another site with your session cookie; it was refused."
                    .into()
            }
            Self::RequestTimeout => "The request body took too long to arrive.".into(),
            Self::Account(e) => match e {
                AccountError::Invalid(errors) => errors
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                AccountError::UserExists => "That user name is already taken.".into(),
                AccountError::InvalidCredentials => "Wrong user name or password.".into(),
                AccountError::PasswordExpired => {
                    "Your password has expired. Set a new one with POST /api/user/update \
                     (or /user/update), giving your current password."
                        .into()
                }
                AccountError::Unauthenticated => "Sign in first.".into(),
                AccountError::RateLimited { retry_after } => format!(
                    "Too many attempts. Try again in {} seconds.",
                    retry_after.as_secs().max(1)
                ),
                AccountError::Store(StoreError::Unavailable(_)) => {
                    "The database cannot be reached right now. Please try again shortly.".into()
                }
                AccountError::Hash(HashError::Overloaded) => {
                    "The server is busy checking other passwords. Please retry in a moment.".into()
                }
                AccountError::Store(_) | AccountError::Hash(_) => {
                    "Something went wrong on our side.".into()
                }
            },
        }
    }

    fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Account(AccountError::Invalid(errors)) => errors.clone(),
            Self::MissingField(field) => vec![FieldError {
                field: field.clone(),
                code: ErrorCode::MissingField,
                message: format!("{field} is required"),
            }],
            _ => Vec::new(),
        }
    }

    pub fn problem(&self) -> Problem {
        Problem::new(self.code(), self.detail()).with_errors(self.field_errors())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status_code();
        match &self {
            ApiError::Account(AccountError::Store(StoreError::Unavailable(why))) => {
                metrics::counter!("store_errors_total", "kind" => "unavailable").increment(1);
                tracing::warn!(error = %why, "store unavailable");
            }
            ApiError::Account(AccountError::Store(e)) => {
                metrics::counter!("store_errors_total", "kind" => "internal").increment(1);
                tracing::error!(error = %e, "store failure");
            }
            ApiError::Account(AccountError::Hash(HashError::Overloaded)) => {
                tracing::warn!("hash queue full; request shed");
            }
            ApiError::Account(AccountError::Hash(e)) => {
                tracing::error!(error = %e, "hashing failure")
            }
            _ => {}
        }
        let mut response = problem_response(status, &self.problem());
        let retry_after = match &self {
            ApiError::Account(AccountError::RateLimited { retry_after }) => {
                Some(retry_after.as_secs().max(1))
            }
            ApiError::Account(AccountError::Hash(HashError::Overloaded)) => Some(1),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Serialises a problem with the right media type. Shared by the few places that build replies.
pub fn problem_response(status: StatusCode, problem: &Problem) -> Response {
    let problem = Problem {
        request_id: crate::http::observe::current_request_id(),
        ..problem.clone()
    };
    let body = serde_json::to_vec(&problem).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ApiError::from(StoreError::Unavailable("down".into())).status_code(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            ApiError::from(StoreError::Internal("x".into())).status_code(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn internal_causes_never_reach_the_client() {
        let e = ApiError::from(StoreError::Unavailable("mongodb://admin:s3cret@db".into()));
        let p = e.problem();
        assert_eq!(p.code, ErrorCode::StoreUnavailable);
        assert!(!p.detail.contains("s3cret"));
    }
}
