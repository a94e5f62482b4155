//! Email routes: the signed-in account's address (change, resend its link), verifying an
//! address with its link (the app's `/verify` page), and the forgotten password (`/forgot`).

use accounts_api::{
    AccountReply, EmailRequest, EmailVerifyRequest, ForgotPasswordRequest, MessageReply, Problem,
};
use axum::{extract::State, http::StatusCode, response::IntoResponse};
use utoipa_axum::routes;

use crate::accounts::Forgotten;

use super::{
    caller::Caller,
    cookies::{SignedInJson, SignedInUser},
    error::ApiError,
    extract::Json,
    openapi::{BodyErrors, CrossOrigin, NotSignedIn, SensitiveErrors, StoreUnavailable},
    sessions::proof_of,
    ApiRouter, AppState,
};

/// This resource's routes, each with its document entry.
pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(change_email))
        .routes(routes!(resend))
        .routes(routes!(verify))
        .routes(routes!(forgot_password))
}

/// Give the signed-in account a new email address (a sensitive change) and mail it a link to
/// confirm it; a verified old address is told. The reply is the same whether or not another
/// account holds the address (its owner is told by mail instead).
#[utoipa::path(post, path = "/api/email", operation_id = "change_email", tag = "email",
    security(("session" = [])),
    request_body = EmailRequest,
    responses(
        (status = 202, description = "Kept; a link to confirm it is on its way", body = MessageReply),
        (status = 400, description = "Invalid JSON, missing field, or not an email address (`invalid_email`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in, wrong password, or wrong code (`invalid_code`)", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        SensitiveErrors,
    ))]
async fn change_email(
    State(state): State<AppState>,
    Caller(client): Caller,
    SignedInJson(signed_in, req): SignedInJson<EmailRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let proof = proof_of(req.password.as_ref(), req.code.as_deref())?;
    state
        .accounts
        .email
        .change(&signed_in, &req.email, proof, client)
        .await?;
    Ok((StatusCode::ACCEPTED, axum::Json(sent(&state))))
}

/// Mail the signed-in account's unconfirmed address a new link (the older one stops
/// working); at most once a minute.
#[utoipa::path(post, path = "/api/email/resend", operation_id = "resend_email_link", tag = "email",
    security(("session" = [])),
    responses(
        (status = 202, description = "A new link is on its way", body = MessageReply),
        (status = 400, description = "The account has no email address (`invalid_email`)", body = Problem, content_type = "application/problem+json"),
        NotSignedIn,
        CrossOrigin,
        (status = 429, description = "A link was sent less than a minute ago", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        StoreUnavailable,
    ))]
async fn resend(
    State(state): State<AppState>,
    Caller(client): Caller,
    SignedInUser(signed_in): SignedInUser,
) -> Result<impl IntoResponse, ApiError> {
    state.accounts.email.resend(&signed_in, client).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(sent(&state))))
}

fn sent(state: &AppState) -> MessageReply {
    MessageReply {
        message: if state.accounts.email.mail_is_on() {
            "Check your inbox for a link to confirm your email address.".into()
        } else {
            "Email address kept. This service sends no mail yet, so it cannot be confirmed: ask your administrator.".into()
        },
    }
}

/// Confirm an email address with the token of the link mailed to it.
#[utoipa::path(post, path = "/api/email/verify", operation_id = "verify_email", tag = "email",
    request_body = EmailVerifyRequest,
    responses(
        (status = 200, description = "Confirmed", body = AccountReply),
        (status = 400, description = "Invalid JSON, missing field, or the token is wrong, used, expired or replaced (`invalid_email_token`, one reply for each)", body = Problem, content_type = "application/problem+json"),
        CrossOrigin,
        (status = 429, description = "Too many attempts from this address", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        BodyErrors,
    ))]
async fn verify(
    State(state): State<AppState>,
    Caller(client): Caller,
    Json(req): Json<EmailVerifyRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let account = state.accounts.email.verify(&req.token, client).await?;
    Ok(axum::Json(AccountReply {
        message: format!(
            "Email address {} confirmed.",
            account.email.unwrap_or_default()
        ),
        user_name: account.display_name,
    }))
}

/// Forgot the password: give the user name or the email address. If the account has a
/// confirmed address, a reset link is mailed to it (a few an hour at most). The reply, and
/// its timing, are the same whether or not such an account or address exists.
#[utoipa::path(post, path = "/api/password/forgot", operation_id = "forgot_password", tag = "users",
    request_body = ForgotPasswordRequest,
    responses(
        (status = 202, description = "If the account has a confirmed address, a link is on its way", body = MessageReply),
        (status = 400, description = "Invalid JSON, neither or both of `user_name` and `email`, or one that cannot be a user name or an address", body = Problem, content_type = "application/problem+json"),
        CrossOrigin,
        (status = 429, description = "Too many attempts from this address", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "This service sends no mail (`mail_unavailable`): ask an administrator for a reset link; or the database is unavailable", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
    ))]
async fn forgot_password(
    State(state): State<AppState>,
    Caller(client): Caller,
    Json(req): Json<ForgotPasswordRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let who = match (req.user_name, req.email) {
        (Some(name), None) => Forgotten::UserName(name),
        (None, Some(email)) => Forgotten::Email(email),
        (None, None) => return Err(ApiError::MissingField("user_name".into())),
        (Some(_), Some(_)) => {
            return Err(ApiError::MalformedJson(
                "send either user_name or email, not both".into(),
            ))
        }
    };
    state.accounts.email.forgot(who, client).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(MessageReply {
            message: "If that account has a confirmed email address, a link to reset the password is on its way. Check your inbox.".into(),
        }),
    ))
}
