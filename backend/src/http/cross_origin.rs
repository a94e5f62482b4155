//! Cross-site request defences for state-changing routes.
//!
//! A state-changing request that carries a session cookie is refused with `403 cross_origin`
//! unless it comes from this service's own origin or a configured CORS origin: its `Origin`
//! must match in scheme, host and port (the scheme is `https` with `--cookie-secure`, else
//! `http`), and a browser's `Sec-Fetch-Site: cross-site` is refused outright. This is on top of
//! the `SameSite=Strict` cookie and the JSON-only bodies (which a plain HTML form cannot send).

use axum::{
    extract::Request,
    http::{header, HeaderMap, Method},
    response::{IntoResponse, Response},
};

use std::sync::Arc;

use super::{
    cookies::CookieSettings,
    error::ApiError,
    layer::{self, Inner, Middleware},
    AppState,
};

/// What the guard reads, apart from the rest of the state: it is cloned for every request.
#[derive(Clone)]
pub struct Guard {
    cookies: CookieSettings,
    cors_origins: Arc<[String]>,
}

impl Guard {
    /// The guard for the service `state` describes.
    pub fn new(state: &AppState) -> Self {
        Self {
            cookies: state.cookies.clone(),
            cors_origins: state.cors_origins.clone(),
        }
    }
}

impl Middleware for Guard {
    async fn call<S: Inner>(self, req: Request, inner: S) -> Response {
        let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe
            && self.cookies.read(req.headers()).is_some()
            && !origin_allowed(req.headers(), &self.cors_origins, self.cookies.secure())
        {
            return ApiError::CrossOrigin.into_response();
        }
        layer::run(inner, req).await
    }
}

/// A listed origin; else not a browser's cross-site request, and either no `Origin` (not a
/// browser, or a same-origin request of an older one) or exactly our own.
fn origin_allowed(headers: &HeaderMap, allowed: &[String], secure: bool) -> bool {
    let origin = match headers.get(header::ORIGIN) {
        None => None,
        Some(v) => match v.to_str() {
            Ok(v) => Some(v.trim().to_ascii_lowercase()),
            Err(_) => return false,
        },
    };
    if origin.as_ref().is_some_and(|o| allowed.contains(o)) {
        return true;
    }
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if cross_site {
        return false;
    }
    let Some(origin) = origin else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let scheme = if secure { "https" } else { "http" };
    origin == format!("{scheme}://{}", host.to_ascii_lowercase())
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
        let ok = |origin, host, secure| origin_allowed(&headers(origin, host), &allowed, secure);
        assert!(ok(None, "accounts.example.com", true));
        assert!(ok(
            Some("https://accounts.example.com"),
            "accounts.example.com",
            true
        ));
        assert!(ok(Some("http://127.0.0.1:5000"), "127.0.0.1:5000", false));
        assert!(ok(
            Some("https://APP.example.com"),
            "accounts.example.com",
            false
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
                !origin_allowed(&headers(Some(o), "accounts.example.com"), &allowed, true),
                "{o}"
            );
        }
        assert!(!origin_allowed(
            &headers(Some("http://127.0.0.1:6000"), "127.0.0.1:5000"),
            &allowed,
            false
        ));
    }

    #[test]
    fn the_scheme_must_match_too() {
        let allowed = vec![];
        assert!(!origin_allowed(
            &headers(Some("https://127.0.0.1:5000"), "127.0.0.1:5000"),
            &allowed,
            false
        ));
        assert!(!origin_allowed(
            &headers(Some("http://accounts.example.com"), "accounts.example.com"),
            &allowed,
            true
        ));
    }

    #[test]
    fn a_browser_saying_cross_site_is_refused_unless_listed() {
        let mut h = headers(None, "accounts.example.com");
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!origin_allowed(&h, &[], true));
        h.insert(header::ORIGIN, "https://app.example.com".parse().unwrap());
        assert!(origin_allowed(
            &h,
            &["https://app.example.com".into()],
            true
        ));
        for site in ["same-origin", "same-site", "none"] {
            let mut h = headers(Some("https://accounts.example.com"), "accounts.example.com");
            h.insert("sec-fetch-site", site.parse().unwrap());
            assert!(origin_allowed(&h, &[], true), "{site}");
        }
    }
}
