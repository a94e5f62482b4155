//! Probes for orchestrators: liveness does no I/O; readiness asks the store.

use axum::{extract::State, Json};
use serde_json::{json, Value};
use utoipa_axum::routes;

use super::{error::ApiError, openapi::StoreUnavailable, ApiRouter, AppState};

/// The probes, each with its document entry.
pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(live))
        .routes(routes!(ready))
}

/// Liveness: the process answers (no I/O).
#[utoipa::path(get, path = "/health/live", operation_id = "live", tag = "meta",
    responses((status = 200, description = "Alive", body = serde_json::Value)))]
async fn live() -> Json<Value> {
    Json(json!({ "status": "live" }))
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/health/ready", operation_id = "ready", tag = "meta",
    responses(
        (status = 200, description = "Ready", body = serde_json::Value),
        StoreUnavailable,
    ))]
async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.accounts.ready().await?;
    Ok(Json(json!({ "status": "ready" })))
}
