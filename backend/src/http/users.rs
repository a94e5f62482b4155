//! Account routes: register, change password, delete. The original's `/user/add` and
//! `/user/update` are aliases of the same handlers.

use accounts_api::{AccountReply, ChangePasswordRequest, Credentials, DeleteAccountRequest};
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    routing::post,
    Router,
};

use super::{client_addr::ClientAddr, extract::Json, AppState};
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/user/add", post(register))
        .route("/user/add", post(register))
        .route("/api/user/update", post(change_password))
        .route("/user/update", post(change_password))
        .route("/api/user/delete", post(delete))
}

async fn register(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Json(req): Json<Credentials>,
) -> Result<impl IntoResponse, ApiError> {
    let user = state
        .accounts
        .register(&req.user_name, &req.password, client)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(AccountReply {
            message: format!("Added user {}", user.display_name),
            user_name: user.display_name,
        }),
    ))
}

async fn change_password(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Json(req): Json<ChangePasswordRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let user = state
        .accounts
        .change_password(&req.user_name, &req.password, &req.newpassword, client)
        .await?;
    Ok((
        [(header::SET_COOKIE, state.cookies.clear())],
        axum::Json(AccountReply {
            user_name: user.display_name,
            message: "User details updated".into(),
        }),
    ))
}

async fn delete(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Json(req): Json<DeleteAccountRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let user = state
        .accounts
        .delete(&req.user_name, &req.password, client)
        .await?;
    Ok((
        [(header::SET_COOKIE, state.cookies.clear())],
        axum::Json(AccountReply {
            message: format!("Deleted user {}", user.display_name),
            user_name: user.display_name,
        }),
    ))
}
