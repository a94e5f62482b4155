//! The built browser app (Trunk's `dist/`), served from the same origin as the API.
//!
//! Anything that is not an API route falls through to here. Without a built app, `/` explains
//! how to build one and every other path is a `404` problem.

use std::path::Path;

use axum::{
    extract::{Request, State},
    http::{header, Method},
    response::{Html, IntoResponse, Response},
};
use tower::ServiceExt as _;
use tower_http::services::{ServeDir, ServeFile};

use super::AppState;
use crate::error::ApiError;

pub type StaticFiles = ServeDir<ServeFile>;

/// The file service, if `dir` holds a built app (an `index.html`).
pub fn service(dir: &Path) -> Option<StaticFiles> {
    let index = dir.join("index.html");
    index
        .is_file()
        .then(|| ServeDir::new(dir).fallback(ServeFile::new(index)))
}

/// The router's fallback: API-looking paths and non-GET methods get a `404` problem; other
/// paths go to the app (whose client-side routes fall back to `index.html`).
pub async fn fallback(State(state): State<AppState>, req: Request) -> Response {
    let path = req.uri().path();
    let api_like = path == "/api" || path.starts_with("/api/") || path.starts_with("/health");
    if api_like || !matches!(*req.method(), Method::GET | Method::HEAD) {
        return ApiError::NotFound.into_response();
    }
    match &state.static_files {
        Some(files) => match files.clone().oneshot(req).await {
            Ok(response) => response.into_response(),
            Err(never) => match never {},
        },
        None if path == "/" => no_app_page(),
        None => ApiError::NotFound.into_response(),
    }
}

fn no_app_page() -> Response {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Html(
            "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Accounts</title>\
             <h1>Accounts API is running</h1>\
             <p>The browser app has not been built. From the repository root run \
             <code>trunk build --release</code> (or <code>scripts/run.sh</code>, which does it), \
             then restart the server, or point <code>--static-dir</code> at a built <code>dist/</code>.</p>\
             <p>The API is at <code>/api</code>: try <code>GET /api/policy</code>.</p></html>",
        ),
    )
        .into_response()
}
