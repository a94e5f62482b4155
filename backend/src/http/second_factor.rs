//! Two-factor login with an authenticator app: set up (within the re-authentication window,
//! then a code), turn off (within the window). Signed-in routes: the session cookie, from the
//! service's own origin.

use accounts_api::{
    Problem, RecoveryCodes, SensitiveRequest, TotpConfirmRequest, TotpSetup, TotpSetupRequest,
};
use axum::{extract::State, http::StatusCode, response::IntoResponse};
use utoipa_axum::routes;

use super::{
    caller::Caller,
    cookies::SignedInJson,
    error::ApiError,
    openapi::{BodyErrors, InvalidBody, ReauthRequired, SensitiveErrors},
    sessions::proof,
    ApiRouter, AppState,
};

/// This resource's routes, each with its document entry.
pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(setup))
        .routes(routes!(confirm))
        .routes(routes!(disable))
}

/// Start setting up an authenticator app, within the re-authentication window (or with the
/// password, checked again); the answer is a new secret, not in force until a code from it is
/// confirmed.
#[utoipa::path(post, path = "/api/mfa/totp/setup", operation_id = "totp_setup", tag = "mfa",
    security(("session" = [])),
    request_body = TotpSetupRequest,
    responses(
        (status = 200, description = "A new secret, pending", body = TotpSetup),
        InvalidBody,
        (status = 401, description = "Not signed in, or wrong password", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Two-factor login is already on", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        SensitiveErrors,
    ))]
async fn setup(
    State(state): State<AppState>,
    Caller(client): Caller,
    SignedInJson(signed_in, req): SignedInJson<TotpSetupRequest>,
) -> Result<axum::Json<TotpSetup>, ApiError> {
    let pending = state
        .accounts
        .second_factor
        .start_setup(&signed_in, req.password.as_ref(), client)
        .await?;
    let (qr_path, qr_size) = pending.qr_code();
    Ok(axum::Json(TotpSetup {
        secret: pending.secret,
        otpauth_uri: pending.otpauth_uri,
        qr_path,
        qr_size,
    }))
}

/// Turn two-factor login on with a code from the new secret. The answer holds ten recovery
/// codes, shown this once.
#[utoipa::path(post, path = "/api/mfa/totp/confirm", operation_id = "totp_confirm", tag = "mfa",
    security(("session" = [])),
    request_body = TotpConfirmRequest,
    responses(
        (status = 200, description = "On; the recovery codes", body = RecoveryCodes),
        InvalidBody,
        (status = 401, description = "Not signed in, or the code is wrong (`invalid_code`)", body = Problem, content_type = "application/problem+json"),
        ReauthRequired,
        (status = 409, description = "Already on, no set-up started, or the set-up cancelled after five wrong codes", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes or passwords for this account: it is locked for a while", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        BodyErrors,
    ))]
async fn confirm(
    State(state): State<AppState>,
    Caller(client): Caller,
    SignedInJson(signed_in, req): SignedInJson<TotpConfirmRequest>,
) -> Result<axum::Json<RecoveryCodes>, ApiError> {
    let recovery_codes = state
        .accounts
        .second_factor
        .confirm(&signed_in, &req.code, client)
        .await?;
    Ok(axum::Json(RecoveryCodes { recovery_codes }))
}

/// Turn two-factor login off, within the re-authentication window (or with the password and a
/// code, or a recovery code).
#[utoipa::path(post, path = "/api/mfa/totp/disable", operation_id = "totp_disable", tag = "mfa",
    security(("session" = [])),
    request_body = SensitiveRequest,
    responses(
        (status = 204, description = "Off: the secret and the recovery codes are gone"),
        InvalidBody,
        (status = 401, description = "Not signed in, wrong password, or wrong code (`invalid_code`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Two-factor login is not on", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        SensitiveErrors,
    ))]
async fn disable(
    State(state): State<AppState>,
    Caller(client): Caller,
    SignedInJson(signed_in, req): SignedInJson<SensitiveRequest>,
) -> Result<impl IntoResponse, ApiError> {
    state
        .accounts
        .second_factor
        .disable(&signed_in, proof(&req)?, client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
