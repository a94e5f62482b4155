//! `GET /api/policy`: the validation rules in force, so the browser app can check input as the
//! user types, with the server's configured values rather than copies of them.

use accounts_api::PolicyInfo;
use axum::{extract::State, routing::get, Json, Router};

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/policy", get(policy))
}

async fn policy(State(state): State<AppState>) -> Json<PolicyInfo> {
    Json(state.accounts.policy())
}
