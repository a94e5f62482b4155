//! A JSON body extractor whose every rejection is an [`ApiError`], so a bad body gets the same
//! problem+json shape as any other error: 415 for a non-JSON content type, 413 over the body
//! limit, 408 for a body that takes too long, 400 `malformed_json` or `missing_field` otherwise.
//!
//! Messages name the offending field but never echo its value: the value may be a password.

use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequest, Request},
    http::{header, HeaderMap, StatusCode},
    response::Response,
};
use serde::de::DeserializeOwned;
use std::{
    future::{poll_fn, Future},
    pin::{pin, Pin},
    task::Poll,
    time::Duration,
};
use tokio::time::Sleep;
use tower::Layer as _;

use super::{
    error::ApiError,
    layer::{self, Inner, Middleware},
    AppState,
};

/// The largest body a route reads, as a middleware (axum's `DefaultBodyLimit` as a router
/// layer would cost a route layer of its own).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl Middleware for BodyLimit {
    async fn call<S: Inner>(self, req: Request, inner: S) -> Response {
        layer::run(DefaultBodyLimit::max(self.0).layer(inner), req).await
    }
}

/// An `application/x-www-form-urlencoded` body, as OAuth endpoints take (RFC 6749 3.2): the
/// bytes, for [`crate::accounts::oidc`] to read the parameters from.
pub struct Form(pub Bytes);

impl FromRequest<AppState> for Form {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form {
            return Err(crate::accounts::OidcError::Protocol {
                error: crate::accounts::OauthError::InvalidRequest,
                description: "send the parameters as application/x-www-form-urlencoded".into(),
            }
            .into());
        }
        let bytes = within(state.body_timeout, Bytes::from_request(req, state))
            .await
            .ok_or(ApiError::RequestTimeout)?
            .map_err(|r| {
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::MalformedJson("the body could not be read".into())
                }
            })?;
        Ok(Self(bytes))
    }
}

/// Like `axum::Json`, with our errors.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = within(state.body_timeout, Bytes::from_request(req, state))
            .await
            .ok_or(ApiError::RequestTimeout)?
            .map_err(|r| {
                if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::MalformedJson("the body could not be read".into())
                }
            })?;
        parse(&bytes).map(Json)
    }
}

/// `read`'s output, or `None` if it takes longer than `limit`: a slow or endless body must not
/// hold a connection (and a task) forever. The timer is only started if the body is not
/// already there: it usually arrives with the headers, and a timer per request costs a wake-up
/// of the runtime's driver (`docs/benchmarks.md`).
async fn within<F: Future>(limit: Duration, read: F) -> Option<F::Output> {
    let mut read = pin!(read);
    let mut timer: Option<Pin<Box<Sleep>>> = None;
    poll_fn(|cx| {
        if let Poll::Ready(output) = read.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        timer.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// `application/json`, or any `application/*+json`, with or without parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    // Compared without allocating: this runs for every request with a body.
    let essence = value.split(';').next().unwrap_or("").trim().as_bytes();
    let ends_with = |suffix: &[u8]| {
        essence.len() >= suffix.len()
            && essence[essence.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
    };
    let starts_with = |prefix: &[u8]| {
        essence.len() >= prefix.len() && essence[..prefix.len()].eq_ignore_ascii_case(prefix)
    };
    essence.eq_ignore_ascii_case(b"application/json")
        || (starts_with(b"application/") && ends_with(b"+json"))
}

/// Parses a body, turning serde's error into a safe, specific [`ApiError`].
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde would also build a struct from an array; our bodies are objects, nothing else.
    let starts_as_object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if !starts_as_object && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
        return Err(ApiError::MalformedJson(
            "the body must be a JSON object".into(),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().clone();
        describe(&path, e.into_inner())
    })?;
    de.end()
        .map_err(|_| ApiError::MalformedJson("unexpected data after the JSON value".into()))?;
    Ok(value)
}

/// The path is written out only for the error that names it.
fn describe(path: &serde_path_to_error::Path, e: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let message = e.to_string();
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::MalformedJson(format!(
            "syntax error at line {} column {}",
            e.line(),
            e.column()
        )),
        Category::Data => {
            if let Some(field) = quoted_after(&message, "missing field `") {
                return ApiError::MissingField(field);
            }
            if let Some(field) = quoted_after(&message, "duplicate field `") {
                return ApiError::MalformedJson(format!("the field `{field}` appears twice"));
            }
            let path = path.to_string();
            if path == "." {
                return ApiError::MalformedJson("the body must be a JSON object".into());
            }
            // serde says e.g. "invalid type: integer `5`, expected a string": keep only what was
            // expected, never the value that was sent.
            let expected = message
                .split(", expected ")
                .nth(1)
                .and_then(|rest| rest.split(" at line ").next())
                .unwrap_or("another type");
            ApiError::MalformedJson(format!("`{path}` must be {expected}"))
        }
    }
}

fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    Some(rest.split('`').next()?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use accounts_api::Credentials;

    fn err(body: &str) -> ApiError {
        match parse::<Credentials>(body.as_bytes()) {
            Ok(_) => panic!("{body} should not parse"),
            Err(e) => e,
        }
    }

    #[test]
    fn good_body_parses() {
        let c: Credentials = parse(br#"{"user_name":"bob","password":"pw","extra":1}"#).unwrap();
        assert_eq!(c.user_name, "bob");
    }

    #[test]
    fn each_kind_of_bad_body_is_named() {
        assert!(matches!(
            err(r#"{"user_name":"bob""#),
            ApiError::MalformedJson(_)
        ));
        assert!(matches!(err("not json"), ApiError::MalformedJson(_)));
        assert!(
            matches!(err(r#"{"user_name":"bob"}"#), ApiError::MissingField(f) if f == "password")
        );
        assert!(matches!(err(r#"[1,2]"#), ApiError::MalformedJson(m) if m.contains("object")));
        assert!(matches!(
            err(r#"{"user_name":"a","password":"b"} x"#),
            ApiError::MalformedJson(_)
        ));
        assert!(matches!(
            err(r#"{"user_name":"a","password":"b","password":"c"}"#),
            ApiError::MalformedJson(m) if m.contains("twice")
        ));
    }

    #[test]
    fn a_wrong_type_is_named_without_echoing_the_value() {
        let e = err(r#"{"user_name":"bob","password":123456789}"#);
        let ApiError::MalformedJson(m) = e else {
            panic!("expected malformed_json")
        };
        assert!(m.contains("password"), "{m}");
        assert!(!m.contains("123456789"), "{m}");
        let e = err(r#"{"user_name":null,"password":"x"}"#);
        assert!(matches!(e, ApiError::MalformedJson(m) if m.contains("user_name")));
    }

    #[test]
    fn content_types() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        for (v, ok) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("application/problem+json", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
            ("application/jsonx", false),
        ] {
            h.insert(header::CONTENT_TYPE, v.parse().unwrap());
            assert_eq!(is_json(&h), ok, "{v}");
        }
    }
}
