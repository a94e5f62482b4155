//! Password reset: a new password with the token of a reset link, an operator's or a mailed
//! one (the browser app's `/reset` page sends it here).

use accounts_api::{AccountReply, Problem, ResetPasswordRequest};
use axum::{extract::State, http::header, response::IntoResponse};
use utoipa_axum::routes;

use super::{
    caller::Caller,
    error::ApiError,
    extract::Json,
    openapi::{BodyErrors, CrossOrigin},
    ApiRouter, AppState,
};

/// This resource's routes, each with its document entry.
pub fn routes() -> ApiRouter {
    ApiRouter::new().routes(routes!(reset_password))
}

/// Set a new password with a reset link's token. Revokes every session of the account, clears
/// any lock, and uses the token up.
#[utoipa::path(post, path = "/api/password/reset", operation_id = "reset_password", tag = "users",
    request_body = ResetPasswordRequest,
    responses(
        (status = 200, description = "Password set; log in with it", body = AccountReply),
        (status = 400, description = "Invalid JSON, missing field, new password breaks the policy (`invalid_password`), or the token is wrong, used or expired (`invalid_reset_token`, one reply for each; also after five wrong codes)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "With two-factor login on: `code` missing (`mfa_required`) or wrong (`invalid_code`)", body = Problem, content_type = "application/problem+json"),
        CrossOrigin,
        (status = 429, description = "Too many attempts from this address", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        BodyErrors,
    ))]
async fn reset_password(
    State(state): State<AppState>,
    Caller(client): Caller,
    Json(req): Json<ResetPasswordRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let user = state
        .accounts
        .recovery
        .reset_password(&req.token, &req.newpassword, req.code.as_deref(), client)
        .await?;
    // Every session of the account was revoked; this browser's too, if it had one.
    Ok((
        [(header::SET_COOKIE, state.cookies.clear())],
        axum::Json(AccountReply {
            message: format!("Password set for {}. Log in with it.", user.display_name),
            user_name: user.display_name,
        }),
    ))
}
