//! RFC 9457 problem details: the one shape of every error reply, and its stable machine codes.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A stable machine-readable error code, the `code` member of every problem reply.
///
/// Clients branch on this, never on `title` or `detail`, which may be reworded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    MalformedJson,
    MissingField,
    InvalidUserName,
    InvalidPassword,
    UnsupportedMediaType,
    PayloadTooLarge,
    UserExists,
    InvalidCredentials,
    PasswordExpired,
    Unauthenticated,
    NotFound,
    MethodNotAllowed,
    StoreUnavailable,
    RateLimited,
    CrossOrigin,
    RequestTimeout,
    Overloaded,
    Internal,
    /// Any code this version does not know (a newer server): keeps old clients working.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The HTTP status that goes with the code.
    pub fn status(self) -> u16 {
        match self {
            Self::MalformedJson | Self::MissingField | Self::InvalidUserName => 400,
            Self::InvalidPassword => 400,
            Self::UnsupportedMediaType => 415,
            Self::PayloadTooLarge => 413,
            Self::UserExists => 409,
            Self::InvalidCredentials | Self::PasswordExpired | Self::Unauthenticated => 401,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::StoreUnavailable => 503,
            Self::RateLimited => 429,
            Self::CrossOrigin => 403,
            Self::RequestTimeout => 408,
            Self::Overloaded => 503,
            Self::Internal | Self::Unknown => 500,
        }
    }

    /// A short, fixed, human-readable summary (the problem's `title`).
    pub fn title(self) -> &'static str {
        match self {
            Self::MalformedJson => "Malformed JSON body",
            Self::MissingField => "Missing field",
            Self::InvalidUserName => "Invalid user name",
            Self::InvalidPassword => "Invalid password",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::PayloadTooLarge => "Payload too large",
            Self::UserExists => "User name taken",
            Self::InvalidCredentials => "Invalid credentials",
            Self::PasswordExpired => "Password expired",
            Self::Unauthenticated => "Not signed in",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::StoreUnavailable => "Service temporarily unavailable",
            Self::RateLimited => "Too many attempts",
            Self::CrossOrigin => "Cross-origin request refused",
            Self::RequestTimeout => "Request timeout",
            Self::Overloaded => "Server busy",
            Self::Internal => "Internal error",
            Self::Unknown => "Error",
        }
    }

    /// The snake_case code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::MissingField => "missing_field",
            Self::InvalidUserName => "invalid_user_name",
            Self::InvalidPassword => "invalid_password",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UserExists => "user_exists",
            Self::InvalidCredentials => "invalid_credentials",
            Self::PasswordExpired => "password_expired",
            Self::Unauthenticated => "unauthenticated",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::StoreUnavailable => "store_unavailable",
            Self::RateLimited => "rate_limited",
            Self::CrossOrigin => "cross_origin",
            Self::RequestTimeout => "request_timeout",
            Self::Overloaded => "overloaded",
            Self::Internal => "internal",
            Self::Unknown => "unknown",
        }
    }
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
    pub code: ErrorCode,
    pub message: String,
}

/// An RFC 9457 `application/problem+json` body with this service's `code` extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: ErrorCode,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The server's id for the request (also in the `x-request-id` header and its logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Problem {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            type_uri: format!("/problems/{code}"),
            title: code.title().to_owned(),
            status: code.status(),
            detail: detail.into(),
            code,
            errors: Vec::new(),
            request_id: None,
        }
    }

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
    fn as_str_matches_serde() {
        for code in [
            ErrorCode::MalformedJson,
            ErrorCode::PayloadTooLarge,
            ErrorCode::StoreUnavailable,
            ErrorCode::MethodNotAllowed,
        ] {
            let s = serde_json::to_string(&code).unwrap();
            assert_eq!(s.trim_matches('"'), code.as_str());
        }
    }
}
