//! The Apps and devices page's routes: the apps the user allowed (revoke one: its consent and
//! every token), and the user's signed-in sessions (revoke one, or every other).

use accounts_api::{
    AppSummary, AppsReply, MessageReply, RevokeAppRequest, RevokeSessionRequest, SessionEntry,
};
use axum::extract::State;
use utoipa_axum::routes;

use super::{
    cookies::{SignedInJson, SignedInUser},
    error::ApiError,
    openapi::{BodyErrors, InvalidBody, StoreUnavailable},
    ApiRouter, AppState,
};
use crate::clock::rfc3339;

/// This resource's routes, each with its document entry.
pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(apps))
        .routes(routes!(revoke_app))
        .routes(routes!(revoke_session))
}

/// The apps the signed-in user allowed, and their sessions.
#[utoipa::path(get, path = "/api/apps", operation_id = "apps", tag = "apps",
    security(("session" = [])),
    responses(
        (status = 200, description = "Apps and sessions", body = AppsReply),
        (status = 401, description = "Not signed in", body = accounts_api::Problem, content_type = "application/problem+json"),
        StoreUnavailable,
    ))]
async fn apps(
    State(state): State<AppState>,
    SignedInUser(signed_in): SignedInUser,
) -> Result<axum::Json<AppsReply>, ApiError> {
    let oidc = &state.accounts.oidc;
    let apps = oidc
        .apps(&signed_in)
        .await?
        .into_iter()
        .map(|a| AppSummary {
            client_id: a.client_id,
            name: a.name,
            scopes: a.scopes,
            granted_at: rfc3339(a.granted_at),
        })
        .collect();
    let sessions = oidc
        .sessions(&signed_in)
        .await?
        .into_iter()
        .map(|s| SessionEntry {
            id: s.id,
            browser: s.browser,
            ip_prefix: s.ip_prefix,
            signed_in_at: rfc3339(s.signed_in_at),
            last_confirmed_at: rfc3339(s.authenticated_at),
            last_seen_at: rfc3339(s.last_seen_at),
            current: s.current,
        })
        .collect();
    Ok(axum::Json(AppsReply { apps, sessions }))
}

/// Revoke an app: forget the consent and revoke every token it holds for this user.
#[utoipa::path(post, path = "/api/apps/revoke", operation_id = "revoke_app", tag = "apps",
    security(("session" = [])),
    request_body = RevokeAppRequest,
    responses(
        (status = 200, description = "Revoked", body = MessageReply),
        InvalidBody,
        (status = 401, description = "Not signed in", body = accounts_api::Problem, content_type = "application/problem+json"),
        BodyErrors,
    ))]
async fn revoke_app(
    State(state): State<AppState>,
    SignedInJson(signed_in, req): SignedInJson<RevokeAppRequest>,
) -> Result<axum::Json<MessageReply>, ApiError> {
    let any = state
        .accounts
        .oidc
        .revoke_app(&signed_in, &req.client_id)
        .await?;
    Ok(axum::Json(MessageReply {
        message: if any {
            "The app can no longer sign you in or act for you; it will ask again next time.".into()
        } else {
            "That app had nothing from you.".into()
        },
    }))
}

/// Log out one session (by its id), or every session but this one.
#[utoipa::path(post, path = "/api/sessions/revoke", operation_id = "revoke_session",
    tag = "apps", security(("session" = [])),
    request_body = RevokeSessionRequest,
    responses(
        (status = 200, description = "How many were logged out", body = MessageReply),
        InvalidBody,
        (status = 401, description = "Not signed in", body = accounts_api::Problem, content_type = "application/problem+json"),
        BodyErrors,
    ))]
async fn revoke_session(
    State(state): State<AppState>,
    SignedInJson(signed_in, req): SignedInJson<RevokeSessionRequest>,
) -> Result<axum::Json<MessageReply>, ApiError> {
    let n = state
        .accounts
        .oidc
        .revoke_sessions(&signed_in, req.id.as_deref())
        .await?;
    Ok(axum::Json(MessageReply {
        message: match n {
            0 => "No session was logged out.".into(),
            1 => "1 session was logged out.".into(),
            n => format!("{n} sessions were logged out."),
        },
    }))
}
