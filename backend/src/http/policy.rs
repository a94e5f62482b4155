//! `GET /api/policy`: the validation rules in force, so the browser app can check input as the
//! user types, with the server's configured values rather than copies of them.

use accounts_api::PolicyInfo;
use axum::{extract::State, Json};
use utoipa_axum::routes;

use super::{ApiRouter, AppState};

/// This resource's route, with its document entry.
pub fn routes() -> ApiRouter {
    ApiRouter::new().routes(routes!(policy))
}

/// The password and user-name rules in force.
#[utoipa::path(get, path = "/api/policy", operation_id = "policy", tag = "meta",
    responses((status = 200, description = "The rules", body = PolicyInfo)))]
async fn policy(State(state): State<AppState>) -> Json<PolicyInfo> {
    let mut policy = state.accounts.sign_in.policy();
    policy.cookie_domain = state.cookies.domain().map(str::to_owned);
    Json(policy)
}
