//! Cross-site request defences for state-changing routes.
//!
//! A state-changing request that carries a session cookie is refused with `403 cross_origin`
//! unless it comes from one of the service's own origins (those of `--public-url`, see
//! [`Site`]) or a configured CORS origin: its `Origin` must match in scheme, host and port,
//! and a browser's `Sec-Fetch-Site: cross-site` is refused outright (unless the origin is a
//! CORS one). The request's own `Host` proves nothing: a page whose name points at this server
//! sends its own name as both. This is on top of the `SameSite=Strict` cookie and the JSON-only
//! bodies (which a plain HTML form cannot send).

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
    site::{Origin, Site},
    AppState,
};

/// What the guard reads, apart from the rest of the state: it is cloned for every request.
#[derive(Clone)]
pub struct Guard {
    cookies: CookieSettings,
    site: Arc<Site>,
    cors_origins: Arc<[Origin]>,
}

impl Guard {
    /// The guard for the service `state` describes.
    pub fn new(state: &AppState) -> Self {
        Self {
            cookies: state.cookies.clone(),
            site: state.site.clone(),
            cors_origins: state
                .cors_origins
                .iter()
                .filter_map(|o| Origin::parse(o))
                .collect(),
        }
    }
}

impl Middleware for Guard {
    async fn call<S: Inner>(self, req: Request, inner: S) -> Response {
        let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe
            && self.cookies.read(req.headers()).is_some()
            && !origin_allowed(req.headers(), &self.site, &self.cors_origins)
        {
            return ApiError::CrossOrigin.into_response();
        }
        layer::run(inner, req).await
    }
}

/// A listed origin; else not a browser's cross-site request, and either no `Origin` (not a
/// browser, or a same-origin request of an older one) or one of our own.
fn origin_allowed(headers: &HeaderMap, site: &Site, listed: &[Origin]) -> bool {
    let origin = match headers.get(header::ORIGIN) {
        None => None,
        Some(v) => match v.to_str() {
            // `null` and other unreadable origins match nothing.
            Ok(v) => Some(Origin::parse(v)),
            Err(_) => return false,
        },
    };
    if let Some(Some(origin)) = &origin {
        if listed.contains(origin) {
            return true;
        }
    }
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if cross_site {
        return false;
    }
    match origin {
        None => true,
        Some(origin) => origin.is_some_and(|o| site.is_own(&o)),
    }
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

    fn site(url: &str) -> Site {
        Site::new(url, 5000).unwrap()
    }

    fn listed(origins: &[&str]) -> Vec<Origin> {
        origins.iter().map(|o| Origin::parse(o).unwrap()).collect()
    }

    #[test]
    fn own_listed_or_absent_origins_pass() {
        let public = site("https://accounts.example.com");
        let allowed = listed(&["https://app.example.com"]);
        let ok = |origin, host| origin_allowed(&headers(origin, host), &public, &allowed);
        assert!(ok(None, "accounts.example.com"));
        assert!(ok(
            Some("https://accounts.example.com"),
            "accounts.example.com"
        ));
        assert!(ok(Some("https://APP.example.com"), "accounts.example.com"));
        let local = site("http://localhost:5000");
        for origin in [
            "http://127.0.0.1:5000",
            "http://localhost:5000",
            "http://[::1]:5000",
        ] {
            assert!(
                origin_allowed(&headers(Some(origin), "127.0.0.1:5000"), &local, &[]),
                "{origin}"
            );
        }
    }

    #[test]
    fn other_origins_fail() {
        let public = site("https://accounts.example.com");
        for o in [
            "https://evil.example",
            "null",
            "https://accounts.example.com.evil",
        ] {
            assert!(
                !origin_allowed(&headers(Some(o), "accounts.example.com"), &public, &[]),
                "{o}"
            );
        }
        assert!(!origin_allowed(
            &headers(Some("http://127.0.0.1:6000"), "127.0.0.1:5000"),
            &site("http://localhost:5000"),
            &[]
        ));
    }

    /// An origin agreeing with the request's own `Host` proves nothing: both come from the
    /// page (a name of the attacker's pointing at this server).
    #[test]
    fn an_origin_matching_only_the_host_header_fails() {
        let public = site("https://accounts.example.com");
        assert!(!origin_allowed(
            &headers(Some("https://evil.example"), "evil.example"),
            &public,
            &[]
        ));
        assert!(!origin_allowed(
            &headers(Some("http://evil.example:5000"), "evil.example:5000"),
            &site("http://localhost:5000"),
            &[]
        ));
    }

    #[test]
    fn the_scheme_must_match_too() {
        assert!(!origin_allowed(
            &headers(Some("https://127.0.0.1:5000"), "127.0.0.1:5000"),
            &site("http://localhost:5000"),
            &[]
        ));
        assert!(!origin_allowed(
            &headers(Some("http://accounts.example.com"), "accounts.example.com"),
            &site("https://accounts.example.com"),
            &[]
        ));
    }

    #[test]
    fn a_browser_saying_cross_site_is_refused_unless_listed() {
        let public = site("https://accounts.example.com");
        let mut h = headers(None, "accounts.example.com");
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!origin_allowed(&h, &public, &[]));
        h.insert(header::ORIGIN, "https://app.example.com".parse().unwrap());
        assert!(origin_allowed(
            &h,
            &public,
            &listed(&["https://app.example.com"])
        ));
        for fetch_site in ["same-origin", "same-site", "none"] {
            let mut h = headers(Some("https://accounts.example.com"), "accounts.example.com");
            h.insert("sec-fetch-site", fetch_site.parse().unwrap());
            assert!(origin_allowed(&h, &public, &[]), "{fetch_site}");
        }
    }
}
