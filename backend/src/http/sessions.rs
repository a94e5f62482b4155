//! Session routes: log in (and the original's `/login`), log out, who am I, and confirm it is
//! you again (re-authentication, for sensitive changes).

use accounts_api::{
    LoginReply, LoginRequest, Password, Problem, ReauthReply, ReauthRequest, SensitiveRequest,
    SessionInfo,
};
use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{AppendHeaders, IntoResponse},
};
use utoipa_axum::routes;

use super::{
    caller::Caller,
    cookies::{SessionCookie, SignedInJson, SignedInUser},
    error::ApiError,
    extract::Json,
    openapi::{original, BodyErrors, CredentialErrors, CrossOrigin, InvalidBody, StoreUnavailable},
    ApiRouter, AppState,
};
use crate::{
    accounts::{LoggedIn, Proof},
    clock::rfc3339,
};

/// This resource's routes, each with its document entry.
pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(login))
        .routes(original("/login", routes!(login)))
        .routes(routes!(logout))
        .routes(routes!(session))
        .routes(routes!(reauth))
}

/// The proof a sensitive change carries, if any: the password, and the code with it. A code
/// without the password proves nothing on its own.
pub(super) fn proof(req: &SensitiveRequest) -> Result<Option<Proof<'_>>, ApiError> {
    proof_of(req.password.as_ref(), req.code.as_deref())
}

/// The proof in a sensitive change's optional `password` and `code`: none, or the password
/// (and code); a code alone is a missing password.
pub(super) fn proof_of<'a>(
    password: Option<&'a Password>,
    code: Option<&'a str>,
) -> Result<Option<Proof<'a>>, ApiError> {
    match (password, code) {
        (Some(password), code) => Ok(Some(Proof { password, code })),
        (None, Some(_)) => Err(ApiError::MissingField("password".into())),
        (None, None) => Ok(None),
    }
}

/// Log in; the session is set as an HttpOnly cookie.
#[utoipa::path(post, path = "/api/login", operation_id = "login", tag = "sessions",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginReply,
            headers(("Set-Cookie" = String, description = "The session cookie; on a browser's first login to the account also the device cookie that keeps it known (and outside lockouts caused by others) for a year"))),
        (status = 400, description = "Invalid JSON, missing field or invalid user name", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong user name or password (`invalid_credentials`), password expired (`password_expired`), or, with two-factor login on, the password is right but `code` is missing (`mfa_required`, with a `login_ticket` to send the code with) or wrong (`invalid_code`), or a login ticket is not good (`invalid_login_ticket`)", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        CredentialErrors,
    ))]
async fn login(
    State(state): State<AppState>,
    SessionCookie(previous): SessionCookie,
    Caller(client): Caller,
    Json(req): Json<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let sign_in = &state.accounts.sign_in;
    let logged_in = match req {
        LoginRequest {
            login_ticket: Some(ticket),
            code,
            ..
        } => {
            let code = code.ok_or_else(|| ApiError::MissingField("code".into()))?;
            sign_in
                .login_with_ticket(&ticket, &code, previous.as_ref(), client)
                .await?
        }
        LoginRequest {
            user_name: Some(user_name),
            password: Some(password),
            code,
            ..
        } => {
            let proof = Proof {
                password: &password,
                code: code.as_deref(),
            };
            sign_in
                .login(&user_name, proof, previous.as_ref(), client)
                .await?
        }
        LoginRequest {
            user_name: None, ..
        } => return Err(ApiError::MissingField("user_name".into())),
        LoginRequest { .. } => return Err(ApiError::MissingField("password".into())),
    };
    let message = format!("User {} logged in", logged_in.account.display_name);
    Ok(logged_in_reply(&state, logged_in, message))
}

/// A login's reply, by password or passkey: the session cookie (and, on this browser's first
/// login to the account, the device cookie) and who logged in.
pub(super) fn logged_in_reply(
    state: &AppState,
    logged_in: LoggedIn,
    message: String,
) -> impl IntoResponse {
    let mut cookies = vec![(header::SET_COOKIE, state.cookies.set(&logged_in.token))];
    if let Some(device) = &logged_in.new_device {
        cookies.push((header::SET_COOKIE, state.cookies.set_device(device)));
    }
    (
        AppendHeaders(cookies),
        axum::Json(LoginReply {
            user_name: logged_in.account.display_name,
            message,
            expires_at: rfc3339(logged_in.expires_at),
        }),
    )
}

/// Log out: revoke this session and clear the cookie.
#[utoipa::path(post, path = "/api/logout", operation_id = "logout", tag = "sessions",
    responses(
        (status = 204, description = "Logged out (also when there was no session)"),
        CrossOrigin,
        StoreUnavailable,
    ))]
async fn logout(
    State(state): State<AppState>,
    SessionCookie(token): SessionCookie,
    Caller(client): Caller,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(token) = token {
        state.accounts.sign_in.logout(&token, client).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, state.cookies.clear())],
    ))
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/session", operation_id = "session", tag = "sessions",
    security(("session" = [])),
    responses(
        (status = 200, description = "Signed in", body = SessionInfo),
        (status = 401, description = "No valid session", body = Problem, content_type = "application/problem+json"),
        StoreUnavailable,
    ))]
async fn session(
    State(state): State<AppState>,
    SignedInUser(signed_in): SignedInUser,
) -> Result<axum::Json<SessionInfo>, ApiError> {
    let summary = state.accounts.sign_in.session_summary(&signed_in);
    let account = summary.account;
    Ok(axum::Json(SessionInfo {
        totp: account.two_factor,
        recovery_codes_left: summary.recovery_codes_left,
        passkeys: summary.passkeys,
        user_name: account.display_name,
        created_at: rfc3339(account.created_at),
        password_changed_at: rfc3339(account.password_changed_at),
        expires_at: rfc3339(summary.expires_at),
        reauth_until: rfc3339(summary.reauth_until),
        email: account.email,
        email_verified: account.email_verified,
    }))
}

/// Confirm it is you: the password again (and, with two-factor login on, a code), checked
/// like a login. Sensitive changes (passkeys, two-factor login) then need nothing more for the
/// re-authentication window.
#[utoipa::path(post, path = "/api/session/reauth", operation_id = "reauth", tag = "sessions",
    security(("session" = [])),
    request_body = ReauthRequest,
    responses(
        (status = 200, description = "Confirmed", body = ReauthReply),
        InvalidBody,
        (status = 401, description = "Not signed in, wrong password (`invalid_credentials`), or with two-factor login on the code missing (`mfa_required`) or wrong (`invalid_code`)", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        CredentialErrors,
    ))]
async fn reauth(
    State(state): State<AppState>,
    Caller(client): Caller,
    SignedInJson(signed_in, req): SignedInJson<ReauthRequest>,
) -> Result<axum::Json<ReauthReply>, ApiError> {
    let proof = Proof {
        password: &req.password,
        code: req.code.as_deref(),
    };
    let until = state
        .accounts
        .sign_in
        .reauthenticate(&signed_in, proof, client)
        .await?;
    Ok(axum::Json(ReauthReply {
        reauth_until: rfc3339(until),
    }))
}
