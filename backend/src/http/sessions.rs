//! Session routes: log in (and the original's `/login`), log out, who am I.

use accounts_api::{Credentials, LoginReply, SessionInfo};
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    routing::{get, post},
    Router,
};

use super::{client_addr::ClientAddr, cookies::SessionCookie, extract::Json, AppState};
use crate::{accounts::AccountError, clock::rfc3339, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/login", post(login))
        .route("/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/session", get(session))
}

async fn login(
    State(state): State<AppState>,
    SessionCookie(previous): SessionCookie,
    ClientAddr(client): ClientAddr,
    Json(req): Json<Credentials>,
) -> Result<impl IntoResponse, ApiError> {
    let logged_in = state
        .accounts
        .login(&req.user_name, &req.password, previous.as_ref(), client)
        .await?;
    let user = &logged_in.session.user;
    Ok((
        [(header::SET_COOKIE, state.cookies.set(&logged_in.token))],
        axum::Json(LoginReply {
            user_name: user.display_name.clone(),
            message: format!("User {} logged in", user.display_name),
            expires_at: rfc3339(logged_in.session.session.expires_at),
        }),
    ))
}

async fn logout(
    State(state): State<AppState>,
    SessionCookie(token): SessionCookie,
    ClientAddr(client): ClientAddr,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(token) = token {
        state.accounts.logout(&token, client).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, state.cookies.clear())],
    ))
}

async fn session(
    State(state): State<AppState>,
    SessionCookie(token): SessionCookie,
) -> Result<axum::Json<SessionInfo>, ApiError> {
    let token = token.ok_or(AccountError::Unauthenticated)?;
    let s = state.accounts.session(&token).await?;
    Ok(axum::Json(SessionInfo {
        user_name: s.user.display_name,
        created_at: rfc3339(s.user.created_at),
        password_changed_at: rfc3339(s.user.password_changed_at),
        expires_at: rfc3339(s.session.expires_at),
    }))
}
