//! The HTTP layer: one file per resource, merged into one router. Handlers are thin: they
//! extract, call [`crate::accounts`], and shape the reply; errors become responses in
//! [`crate::error`].

mod client_addr;
pub mod cookies;
mod cross_origin;
pub mod extract;
mod health;
pub mod observe;
pub mod openapi;
mod policy;
mod sessions;
pub mod static_files;
mod users;

use std::{sync::Arc, time::Duration};

use axum::{
    extract::DefaultBodyLimit,
    http::{header, HeaderValue, Method},
    middleware, Router,
};
use tower_http::{
    compression::{CompressionLayer, CompressionLevel},
    cors::{AllowOrigin, CorsLayer},
};

use crate::{accounts::Accounts, client::IpNet};
use cookies::CookieSettings;
use static_files::StaticApp;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 16 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub accounts: Arc<Accounts>,
    pub cookies: CookieSettings,
    /// The built browser app, if there is one.
    pub static_app: Option<Arc<StaticApp>>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<[IpNet]>,
    /// Other origins allowed to call the API with credentials.
    pub cors_origins: Arc<[String]>,
    /// How long a request body may take to arrive.
    pub body_timeout: Duration,
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(users::router())
        .merge(sessions::router())
        .merge(policy::router())
        .merge(openapi::router())
        .layer(middleware::from_fn_with_state(
            state.clone(),
            cross_origin::guard,
        ));
    let cors = cors(&state.cors_origins);
    let router = Router::new()
        .merge(api)
        .merge(health::router())
        .method_not_allowed_fallback(static_files::method_not_allowed)
        // Only the app's files are compressed: API replies are small, and compressing replies
        // per request costs more CPU than it saves (and invites BREACH-style side channels).
        .fallback_service(
            Router::new()
                .fallback(static_files::fallback)
                .layer(CompressionLayer::new().quality(CompressionLevel::Precise(6)))
                .with_state(state.clone()),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(observe::observe))
        .with_state(state);
    // Outermost, so it answers preflights before routing.
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// CORS for the configured origins only; none configured means no CORS headers at all.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::CONTENT_TYPE]),
    )
}
