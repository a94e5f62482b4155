//! The built browser app (Trunk's `dist/`), served from the same origin as the API.
//!
//! - `index.html` is read once at start-up and served for `/` and every client-side route
//!   (paths without a file extension), with `Cache-Control: no-cache`.
//! - Hashed assets (`name-<16 hex>.ext`, as Trunk names them) are cached for a year, immutable.
//! - A Content-Security-Policy without `unsafe-inline`/`unsafe-eval`: Trunk's inline module
//!   loader is allowed by its SHA-256, computed from the file, so a rebuild never needs a config
//!   change; WASM needs only `wasm-unsafe-eval`.
//!
//! Without a built app, `/` explains how to build it and other paths are `404` problems.

use std::path::Path;

use axum::{
    body::Bytes,
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    response::{Html, IntoResponse, Response},
};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use tower::ServiceExt as _;
use tower_http::services::ServeDir;

use super::error::ApiError;
use super::AppState;

/// Cache lifetime of content-hashed assets: a new build has new names.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The loaded app: its index page, its CSP, and the asset folder.
#[derive(Clone)]
pub struct StaticApp {
    index: Bytes,
    csp: HeaderValue,
    files: ServeDir,
}

impl StaticApp {
    /// Loads `dir/index.html`; `None` if there is no built app.
    pub fn load(dir: &Path) -> Option<Self> {
        let index = std::fs::read(dir.join("index.html")).ok()?;
        let html = String::from_utf8_lossy(&index);
        let csp =
            HeaderValue::from_str(&content_security_policy(&inline_script_hashes(&html))).ok()?;
        Some(Self {
            index: Bytes::from(index),
            csp,
            files: ServeDir::new(dir),
        })
    }

    fn index_response(&self) -> Response {
        let mut r = Html(self.index.clone()).into_response();
        let h = r.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        r
    }

    async fn asset(&self, req: Request) -> Response {
        let path = req.uri().path().to_owned();
        let Ok(mut r) = self.files.clone().oneshot(req).await;
        if r.status() == StatusCode::NOT_FOUND {
            return ApiError::NotFound.into_response();
        }
        let cache = if is_hashed_asset(&path) {
            IMMUTABLE
        } else {
            "no-cache"
        };
        let h = r.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        h.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        r.into_response()
    }
}

/// The CSP for the app's pages: everything from our own origin, nothing inline but the loader.
fn content_security_policy(script_hashes: &[String]) -> String {
    let hashes: String = script_hashes
        .iter()
        .map(|h| format!(" 'sha256-{h}'"))
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Base64 SHA-256 of the body of every inline `<script>` (one without `src`).
fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let tag = &after[..open_end];
        let body_start = open_end + 1;
        let Some(close) = after[body_start..].find("</script>") else {
            break;
        };
        let body = &after[body_start..body_start + close];
        if !tag.contains("src=") && !body.trim().is_empty() {
            let digest = Sha256::digest(body.as_bytes());
            hashes.push(base64::engine::general_purpose::STANDARD.encode(digest));
        }
        rest = &after[body_start + close..];
    }
    hashes
}

/// Trunk names processed assets `name-<hash>.ext`, the hash in hex (16 digits, fewer when it
/// starts with zeros).
fn is_hashed_asset(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or("");
    let stem = file.split('.').next().unwrap_or("");
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        (8..=16).contains(&hash.len()) && hash.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// Paths that belong to the API (and the original's API routes), never to the app.
fn is_api_path(path: &str) -> bool {
    path == "/api"
        || path.starts_with("/api/")
        || path == "/health"
        || path.starts_with("/health/")
        || path.starts_with("/user/")
}

/// A path the app routes itself: no file extension in its last segment.
fn is_app_route(path: &str) -> bool {
    !path.rsplit('/').next().unwrap_or("").contains('.')
}

/// The router's fallback: API paths and non-GET methods get a `404` problem; app routes get
/// `index.html`; anything else is looked up in `dist/`.
pub async fn fallback(State(state): State<AppState>, req: Request) -> Response {
    let path = req.uri().path();
    if is_api_path(path) || !matches!(*req.method(), Method::GET | Method::HEAD) {
        return ApiError::NotFound.into_response();
    }
    match &state.static_app {
        Some(app) if is_app_route(path) => app.index_response(),
        Some(app) => app.asset(req).await,
        None if path == "/" => no_app_page(),
        None => ApiError::NotFound.into_response(),
    }
}

/// A path with API routes but not for this method. A browser GET of `/login` (the original's
/// POST route, and the app's login page) is a page load: serve the app.
pub async fn method_not_allowed(State(state): State<AppState>, req: Request) -> Response {
    let path = req.uri().path();
    match &state.static_app {
        Some(app)
            if matches!(*req.method(), Method::GET | Method::HEAD)
                && !is_api_path(path)
                && is_app_route(path) =>
        {
            app.index_response()
        }
        _ => ApiError::MethodNotAllowed.into_response(),
    }
}

fn no_app_page() -> Response {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Html(
            "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Accounts</title>\
             <h1>Accounts API is running</h1>\
             <p>The browser app has not been built. From the repository root run \
             <code>scripts/run.sh</code> (it builds the app with \
             <code>trunk build --release</code> and restarts the server), or point \
             <code>--static-dir</code> at a built <code>dist/</code>.</p>\
             <p>The API is at <code>/api</code>: try <code>GET /api/policy</code>.</p></html>",
        ),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_only_inline_scripts() {
        let html = r#"<head><script src="/a.js"></script><script type="module">init();</script>
            <script>
</script></head>"#;
        let hashes = inline_script_hashes(html);
        assert_eq!(hashes.len(), 1);
        // printf 'init();' | openssl dgst -sha256 -binary | base64
        assert_eq!(hashes[0], "GEnM5q1nYY/iACnyMTdov+tNp9OFcBnnDgNXUXaVNXc=");
        let csp = content_security_policy(&hashes);
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"));
        assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"));
        assert!(csp.contains("frame-ancestors 'none'"));
    }

    #[test]
    fn recognises_trunk_hashed_names() {
        assert!(is_hashed_asset("/accounts-web-5ccf341d19ea108f.js"));
        assert!(is_hashed_asset("/accounts-web-5ccf341d19ea108f_bg.wasm"));
        assert!(is_hashed_asset("/style-e3236144489e359d.css"));
        assert!(is_hashed_asset("/accounts-web-be595e31c099b3f_bg.wasm"));
        assert!(!is_hashed_asset("/index.html"));
        assert!(!is_hashed_asset("/robots.txt"));
    }

    #[test]
    fn routes_and_paths() {
        assert!(is_app_route("/account") && is_app_route("/") && is_app_route("/login"));
        assert!(!is_app_route("/app.js"));
        assert!(is_api_path("/api/x") && is_api_path("/user/add") && is_api_path("/health/live"));
        assert!(!is_api_path("/login") && !is_api_path("/apix"));
    }
}
