//! Cross-site request defences for state-changing routes.
//!
//! Browsers send `Origin` on cross-site POSTs. A request that carries a session cookie and an
//! `Origin` that is neither this server's own nor a configured CORS origin is refused with
//! `403 cross_origin`, on top of the `SameSite=Strict` cookie and the JSON-only bodies (which a
//! plain HTML form cannot send).

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::error::ApiError;
use super::AppState;

pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe
        && state.cookies.read(req.headers()).is_some()
        && !origin_allowed(req.headers(), &state.cors_origins)
    {
        return ApiError::CrossOrigin.into_response();
    }
    next.run(req).await
}

/// No `Origin` (not a browser, or a same-origin navigation), our own origin, or a listed one.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return headers.get(header::ORIGIN).is_none();
    };
    let origin = origin.trim().to_ascii_lowercase();
    if allowed.contains(&origin) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    matches!((origin_host, host), (Some(o), Some(h)) if o == h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn same_origin_listed_or_absent_origins_pass() {
        let allowed = vec!["https://app.example.com".to_string()];
        assert!(origin_allowed(
            &headers(None, "accounts.example.com"),
            &allowed
        ));
        assert!(origin_allowed(
            &headers(Some("https://accounts.example.com"), "accounts.example.com"),
            &allowed
        ));
        assert!(origin_allowed(
            &headers(Some("http://127.0.0.1:5000"), "127.0.0.1:5000"),
            &allowed
        ));
        assert!(origin_allowed(
            &headers(Some("https://APP.example.com"), "accounts.example.com"),
            &allowed
        ));
    }

    #[test]
    fn other_origins_fail() {
        let allowed = vec![];
        for o in [
            "https://evil.example",
            "null",
            "https://accounts.example.com.evil",
        ] {
            assert!(
                !origin_allowed(&headers(Some(o), "accounts.example.com"), &allowed),
                "{o}"
            );
        }
        assert!(!origin_allowed(
            &headers(Some("http://127.0.0.1:6000"), "127.0.0.1:5000"),
            &allowed
        ));
    }
}
