//! The HTTP layer: one file per resource, merged into one router. Handlers are thin: they
//! extract, call the use cases (`accounts`), and shape the reply; errors become responses in
//! [`error`], and are logged and counted in [`observe`].
//!
//! Routes are registered with utoipa-axum's `routes!`, which documents each one from its
//! handler's annotation as it adds it, so the router and the OpenAPI document come from one
//! list ([`openapi`]).

mod apps;
mod authz;
mod caller;
pub mod cookies;
mod cross_origin;
mod email;
pub mod error;
pub mod extract;
mod health;
mod layer;
pub mod observe;
mod oidc;
pub mod openapi;
mod passkeys;
mod password_reset;
mod policy;
mod second_factor;
mod sessions;
pub mod site;
pub mod static_files;
mod users;

use std::{sync::Arc, time::Duration};

use axum::{
    handler::Handler as _,
    http::{header, HeaderValue, Method},
    Router,
};
use tower_http::{
    compression::{CompressionLayer, CompressionLevel},
    cors::{AllowOrigin, CorsLayer},
};
use utoipa::{openapi::OpenApi as OpenApiDoc, OpenApi as _};
use utoipa_axum::router::OpenApiRouter;

use crate::{accounts::Accounts, client::IpNet};
use cookies::CookieSettings;
use extract::BodyLimit;
use static_files::StaticApp;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 16 * 1024;

/// A router whose routes carry their OpenAPI entries.
pub type ApiRouter = OpenApiRouter<AppState>;

/// What every handler can reach: one shared allocation, so the per-request clone that axum
/// makes for each extractor is one reference count.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// The state for `shared`.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    /// The use cases.
    pub accounts: Arc<Accounts>,
    /// How the session cookie is named and flagged.
    pub cookies: CookieSettings,
    /// The built browser app, if there is one.
    pub static_app: Option<Arc<StaticApp>>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<[IpNet]>,
    /// Other origins allowed to call the API with credentials.
    pub cors_origins: Arc<[String]>,
    /// The hosts the service answers to and its own origins (from the public URL).
    pub site: Arc<site::Site>,
    /// How long a request body may take to arrive.
    pub body_timeout: Duration,
    /// The forward-auth rules in force.
    pub authz: crate::authz::RuleSet,
}

/// Every route, documented: the API (behind the cross-origin guard) and the probes.
fn documented() -> (Router<AppState>, OpenApiDoc) {
    let api = ApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(users::routes())
        .merge(sessions::routes())
        .merge(password_reset::routes())
        .merge(email::routes())
        .merge(second_factor::routes())
        .merge(passkeys::routes())
        .merge(oidc::routes())
        .merge(apps::routes())
        .merge(authz::routes())
        .merge(policy::routes())
        .merge(openapi::routes());
    let (api, mut doc) = api.merge(health::routes()).split_for_parts();
    openapi::document_misdirected(&mut doc);
    (api, doc)
}

/// The OpenAPI document of every route.
pub fn document() -> OpenApiDoc {
    documented().1
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let (routes, _) = documented();
    let cors = cors(&state.cors_origins);
    let observe = observe::Observe {
        https: state.cookies.secure(),
    };
    // Every reply is observed and every request must name the public host; API routes also
    // get the cross-site guard and the body limit. One route layer each (see `layer`).
    let hosts = site::HostCheck::new(state.site.clone(), state.trusted_proxies.clone());
    let edge = (observe, hosts.clone());
    let router = routes
        .layer(layer::Wrap((
            edge.clone(),
            (cross_origin::Guard::new(&state), BodyLimit(BODY_LIMIT)),
        )))
        .method_not_allowed_fallback(
            static_files::method_not_allowed.layer(layer::Wrap(edge.clone())),
        )
        // Only the app's files are compressed: API replies are small, and compressing replies
        // per request costs more CPU than it saves (and invites BREACH-style side channels).
        .fallback_service(
            Router::new()
                .fallback(static_files::fallback)
                .layer(CompressionLayer::new().quality(CompressionLevel::Precise(6)))
                .layer(layer::Wrap(edge))
                .with_state(state.clone()),
        )
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The public URL of the router below: requests to it name `localhost:5000`.
    pub const TEST_PUBLIC_URL: &str = "http://localhost:5000";

    /// The production router over a temporary embedded store (kept while the folder lives),
    /// and its document.
    pub async fn router_and_document() -> (Router, OpenApiDoc, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::on_temporary_store(dir.path()).await;
        let state = AppState::new(Shared {
            accounts: Arc::new(accounts),
            cookies: CookieSettings::new(false, Duration::from_secs(60)),
            static_app: None,
            trusted_proxies: Arc::from([]),
            cors_origins: Arc::from([]),
            site: Arc::new(site::Site::new(TEST_PUBLIC_URL, 5000).unwrap()),
            body_timeout: Duration::from_secs(5),
            authz: crate::authz::RuleSet::default(),
        });
        (router(state), document(), dir)
    }
}
