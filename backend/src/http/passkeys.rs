//! Passkeys: add (within the re-authentication window, then the browser's WebAuthn answer),
//! list, remove (within the window), and log in with one, without a user name.

use accounts_api::{
    LoginReply, PasskeyChallenge, PasskeyLoginRequest, PasskeyRegistrationRequest, PasskeySummary,
    Problem, ReauthReply, SensitiveRequest,
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
};
use utoipa_axum::routes;

use super::{
    caller::Caller,
    cookies::{SessionCookie, SignedInJson, SignedInUser},
    error::ApiError,
    extract::Json,
    openapi::{
        BodyErrors, CredentialErrors, CrossOrigin, InvalidBody, NotSignedIn, PasskeyErrors,
        ReauthRequired, SensitiveErrors, StoreUnavailable,
    },
    sessions::{logged_in_reply, proof},
    ApiRouter, AppState,
};
use crate::{
    accounts::{AccountError, PasskeyCeremony, PasskeyInfo},
    clock::rfc3339,
};

/// This resource's routes, each with its document entry.
pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(register_start))
        .routes(routes!(register_finish))
        .routes(routes!(list))
        .routes(routes!(remove))
        .routes(routes!(login_start))
        .routes(routes!(login_finish))
        .routes(routes!(reauth))
}

fn challenge(c: PasskeyCeremony) -> Result<axum::Json<PasskeyChallenge>, ApiError> {
    let options = serde_json::value::to_raw_value(&c.options)
        .map_err(|e| AccountError::internal("writing WebAuthn options", e))?;
    Ok(axum::Json(PasskeyChallenge {
        ceremony: c.id,
        options,
    }))
}

fn summary(p: PasskeyInfo) -> PasskeySummary {
    PasskeySummary {
        id: p.id,
        name: p.name,
        created_at: rfc3339(p.created_at),
        last_used_at: p.last_used_at.map(rfc3339),
    }
}

/// Start adding a passkey, within the re-authentication window (or with the password, and the
/// code with two-factor login on). The answer's `options` go to
/// `navigator.credentials.create()`.
#[utoipa::path(post, path = "/api/passkeys/register/start", operation_id = "passkey_register_start", tag = "passkeys",
    security(("session" = [])),
    request_body = SensitiveRequest,
    responses(
        (status = 200, description = "Creation options for the browser", body = PasskeyChallenge),
        InvalidBody,
        (status = 401, description = "Not signed in, wrong password, or the code missing or wrong", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        SensitiveErrors,
        PasskeyErrors,
    ))]
async fn register_start(
    State(state): State<AppState>,
    Caller(client): Caller,
    SignedInJson(signed_in, req): SignedInJson<SensitiveRequest>,
) -> Result<axum::Json<PasskeyChallenge>, ApiError> {
    let ceremony = state
        .accounts
        .passkeys
        .start_registration(&signed_in, proof(&req)?, client)
        .await?;
    challenge(ceremony)
}

/// Finish adding a passkey with the browser's answer.
#[utoipa::path(post, path = "/api/passkeys/register/finish", operation_id = "passkey_register_finish", tag = "passkeys",
    security(("session" = [])),
    request_body = PasskeyRegistrationRequest,
    responses(
        (status = 201, description = "Added", body = PasskeySummary),
        (status = 400, description = "Invalid JSON or missing field, a name too long (`invalid_passkey_name`), or the passkey not accepted (`invalid_passkey`)", body = Problem, content_type = "application/problem+json"),
        NotSignedIn,
        ReauthRequired,
        BodyErrors,
        PasskeyErrors,
    ))]
async fn register_finish(
    State(state): State<AppState>,
    Caller(client): Caller,
    SignedInJson(signed_in, req): SignedInJson<PasskeyRegistrationRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let added = state
        .accounts
        .passkeys
        .finish_registration(
            &signed_in,
            &req.ceremony,
            &req.name,
            req.credential.get(),
            client,
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(summary(added))))
}

/// The signed-in account's passkeys, oldest first.
#[utoipa::path(get, path = "/api/passkeys", operation_id = "passkeys", tag = "passkeys",
    security(("session" = [])),
    responses(
        (status = 200, description = "The passkeys", body = Vec<PasskeySummary>),
        NotSignedIn,
        StoreUnavailable,
    ))]
async fn list(
    State(state): State<AppState>,
    SignedInUser(signed_in): SignedInUser,
) -> Result<axum::Json<Vec<PasskeySummary>>, ApiError> {
    let passkeys = state.accounts.passkeys.list(&signed_in).await?;
    Ok(axum::Json(passkeys.into_iter().map(summary).collect()))
}

/// Remove one of the signed-in account's passkeys, within the re-authentication window.
#[utoipa::path(delete, path = "/api/passkeys/{id}", operation_id = "passkey_remove", tag = "passkeys",
    security(("session" = [])),
    params(("id" = String, Path, description = "The passkey's id, from the list")),
    responses(
        (status = 204, description = "Removed"),
        NotSignedIn,
        ReauthRequired,
        (status = 404, description = "The account has no such passkey", body = Problem, content_type = "application/problem+json"),
        StoreUnavailable,
    ))]
async fn remove(
    State(state): State<AppState>,
    SignedInUser(signed_in): SignedInUser,
    Caller(client): Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    state
        .accounts
        .passkeys
        .remove(&signed_in, &id, client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Start a passkey login. No user name: the browser offers the passkeys it holds for this
/// site. The answer's `options` go to `navigator.credentials.get()`.
#[utoipa::path(post, path = "/api/passkeys/login/start", operation_id = "passkey_login_start", tag = "passkeys",
    responses(
        (status = 200, description = "Request options for the browser", body = PasskeyChallenge),
        CrossOrigin,
        (status = 429, description = "Too many login attempts from this address", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        PasskeyErrors,
    ))]
async fn login_start(
    State(state): State<AppState>,
    Caller(client): Caller,
) -> Result<axum::Json<PasskeyChallenge>, ApiError> {
    challenge(state.accounts.passkeys.start_login(client).await?)
}

/// Finish a passkey login: a session, like a password login with its second factor.
#[utoipa::path(post, path = "/api/passkeys/login/finish", operation_id = "passkey_login_finish", tag = "passkeys",
    request_body = PasskeyLoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginReply,
            headers(("Set-Cookie" = String, description = "The session cookie (and, on this browser's first login to the account, the device cookie)"))),
        (status = 400, description = "Invalid JSON or missing field, or the passkey not accepted (`invalid_passkey`)", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        CredentialErrors,
        PasskeyErrors,
    ))]
async fn login_finish(
    State(state): State<AppState>,
    SessionCookie(previous): SessionCookie,
    Caller(client): Caller,
    Json(req): Json<PasskeyLoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let logged_in = state
        .accounts
        .passkeys
        .finish_login(
            &req.ceremony,
            req.credential.get(),
            previous.as_ref(),
            client,
        )
        .await?;
    let message = format!(
        "User {} logged in with a passkey",
        logged_in.account.display_name
    );
    Ok(logged_in_reply(&state, logged_in, message))
}

/// Confirm it is you with one of your passkeys (a ceremony from `/api/passkeys/login/start`):
/// sensitive changes then need nothing more for the re-authentication window.
#[utoipa::path(post, path = "/api/session/reauth/passkey", operation_id = "reauth_passkey", tag = "sessions",
    security(("session" = [])),
    request_body = PasskeyLoginRequest,
    responses(
        (status = 200, description = "Confirmed", body = ReauthReply),
        (status = 400, description = "Invalid JSON or missing field, or the passkey not accepted (`invalid_passkey`; also another account's passkey)", body = Problem, content_type = "application/problem+json"),
        NotSignedIn,
        BodyErrors,
        CredentialErrors,
        PasskeyErrors,
    ))]
async fn reauth(
    State(state): State<AppState>,
    Caller(client): Caller,
    SignedInJson(signed_in, req): SignedInJson<PasskeyLoginRequest>,
) -> Result<axum::Json<ReauthReply>, ApiError> {
    let until = state
        .accounts
        .passkeys
        .reauthenticate(&signed_in, &req.ceremony, req.credential.get(), client)
        .await?;
    Ok(axum::Json(ReauthReply {
        reauth_until: rfc3339(until),
    }))
}
