//! Probes for orchestrators: liveness does no I/O; readiness asks the store.

use axum::{extract::State, routing::get, Json, Router};
use serde_json::{json, Value};

use super::AppState;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
}

async fn live() -> Json<Value> {
    Json(json!({ "status": "live" }))
}

/// `200` when the store answers, `503 store_unavailable` when it does not.
async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.accounts.ready().await?;
    Ok(Json(json!({ "status": "ready" })))
}
