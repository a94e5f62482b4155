//! Account routes: register, change password, delete. The original's `/user/add` and
//! `/user/update` are served and documented by the same handlers.

use accounts_api::{
    AccountReply, ChangePasswordRequest, Credentials, DeleteAccountRequest, Problem,
    RegisterRequest,
};
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
};
use utoipa_axum::routes;

use crate::accounts::Proof;

use super::{
    caller::Caller,
    error::ApiError,
    extract::Json,
    openapi::{original, BodyErrors, CredentialErrors},
    ApiRouter, AppState,
};

/// This resource's routes, each with its document entry.
pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(register))
        .routes(original("/user/add", routes!(register)))
        .routes(routes!(change_password))
        .routes(original("/user/update", routes!(change_password)))
        .routes(routes!(delete_account))
}

/// Register a new account, optionally with an email address: a link to confirm it is mailed
/// to it. An address another account holds gets the same reply (its owner is told by mail).
#[utoipa::path(post, path = "/api/user/add", operation_id = "register", tag = "users",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Created", body = AccountReply),
        (status = 400, description = "Invalid JSON, missing field, invalid user name, password (`invalid_password`) or email address (`invalid_email`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many registrations from this address", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        BodyErrors,
    ))]
async fn register(
    State(state): State<AppState>,
    Caller(client): Caller,
    Json(req): Json<RegisterRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let user = state
        .accounts
        .sign_in
        .register(&req.user_name, &req.password, req.email.as_deref(), client)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(AccountReply {
            message: format!("Added user {}", user.display_name),
            user_name: user.display_name,
        }),
    ))
}

/// Change the password, given the current one; revokes all of the user's sessions.
#[utoipa::path(post, path = "/api/user/update", operation_id = "change_password", tag = "users",
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Changed", body = AccountReply),
        (status = 400, description = "Invalid JSON, missing field, invalid user name or new password", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong user name or password (`invalid_credentials`); with two-factor login on, `code` missing (`mfa_required`) or wrong (`invalid_code`)", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        CredentialErrors,
    ))]
async fn change_password(
    State(state): State<AppState>,
    Caller(client): Caller,
    Json(req): Json<ChangePasswordRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let user = state
        .accounts
        .sign_in
        .change_password(
            &req.user_name,
            Proof {
                password: &req.password,
                code: req.code.as_deref(),
            },
            &req.newpassword,
            client,
        )
        .await?;
    Ok(signed_out(
        &state,
        AccountReply {
            user_name: user.display_name,
            message: "User details updated".into(),
        },
    ))
}

/// Delete the account and all its sessions, given its password.
#[utoipa::path(post, path = "/api/user/delete", operation_id = "delete_account", tag = "users",
    request_body = Credentials,
    responses(
        (status = 200, description = "Deleted", body = AccountReply),
        (status = 400, description = "Invalid JSON, missing field or invalid user name", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong user name or password (`invalid_credentials`); with two-factor login on, `code` missing (`mfa_required`) or wrong (`invalid_code`)", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        CredentialErrors,
    ))]
async fn delete_account(
    State(state): State<AppState>,
    Caller(client): Caller,
    Json(req): Json<DeleteAccountRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let user = state
        .accounts
        .sign_in
        .delete(
            &req.user_name,
            Proof {
                password: &req.password,
                code: req.code.as_deref(),
            },
            client,
        )
        .await?;
    Ok(signed_out(
        &state,
        AccountReply {
            message: format!("Deleted user {}", user.display_name),
            user_name: user.display_name,
        },
    ))
}

/// `reply`, clearing the session cookie: the account's sessions were all revoked.
fn signed_out(state: &AppState, reply: AccountReply) -> impl IntoResponse {
    (
        [(header::SET_COOKIE, state.cookies.clear())],
        axum::Json(reply),
    )
}
