//! OpenID Connect: the protocol endpoints other apps call (discovery, JWKS, authorization,
//! token, userinfo, introspection, revocation, logout), and the two the app's own sign-in
//! page calls (`/api/oidc/authorize`, `/api/oidc/consent`, `/api/oidc/logout`).
//!
//! The session cookie is `SameSite=Strict`, so a browser arriving from another app's site
//! does not send it. `/oidc/authorize` and `/oidc/logout` therefore hand over to the app
//! page (`/authorize`, `/logout`), whose same-site calls carry the cookie. When the cookie
//! did come and the answer is a redirect, `/oidc/authorize` sends it at once.

use accounts_api::{AuthorizeRequest, AuthorizeStep, ConsentRequest, Problem};
use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde_json::Value;
use utoipa_axum::routes;

use super::{
    caller::Caller,
    cookies::{SessionCookie, SignedInJson},
    error::ApiError,
    extract::{Form, Json},
    openapi::{BodyErrors, StoreUnavailable},
    ApiRouter, AppState,
};
use crate::accounts::{AccountError, OidcError, SignedIn, Step};

/// This resource's routes, each with its document entry.
pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(discovery))
        .routes(routes!(jwks))
        .routes(routes!(authorize))
        .routes(routes!(token))
        .routes(routes!(userinfo, userinfo_post))
        .routes(routes!(introspect))
        .routes(routes!(revoke))
        .routes(routes!(logout))
        .routes(routes!(authorize_step))
        .routes(routes!(consent))
        .routes(routes!(logout_step))
}

/// A `302` to `location`, never cached.
fn redirect(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// JSON that must not be cached (tokens, claims).
fn no_store(value: Value) -> Response {
    let mut response = axum::Json(value).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The session behind the cookie, if there is a valid one.
async fn optional_session(
    state: &AppState,
    token: Option<crate::token::SessionToken>,
) -> Result<Option<SignedIn>, ApiError> {
    let Some(token) = token else {
        return Ok(None);
    };
    match state.accounts.sign_in.session(&token).await {
        Ok(s) => Ok(Some(s)),
        Err(AccountError::Unauthenticated) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn step_reply(step: Step) -> AuthorizeStep {
    let (step, location, client_name, scopes) = match step {
        Step::Login { signed_in: false } => ("login", None, None, Vec::new()),
        Step::Login { signed_in: true } => ("reauth", None, None, Vec::new()),
        Step::Consent {
            client_name,
            scopes,
            ..
        } => (
            "consent",
            None,
            Some(client_name),
            scopes.into_iter().map(str::to_owned).collect(),
        ),
        Step::Redirect(location) => ("redirect", Some(location), None, Vec::new()),
    };
    AuthorizeStep {
        step: step.to_owned(),
        location,
        client_name,
        scopes,
    }
}

/// OpenID Connect Discovery.
#[utoipa::path(get, path = "/.well-known/openid-configuration", operation_id = "oidc_discovery",
    tag = "openid-connect",
    responses((status = 200, description = "The provider's metadata", body = Object)))]
async fn discovery(State(state): State<AppState>) -> axum::Json<Value> {
    axum::Json(state.accounts.oidc.discovery())
}

/// The public keys that sign ID tokens (a key is published before it signs).
#[utoipa::path(get, path = "/oidc/jwks", operation_id = "oidc_jwks", tag = "openid-connect",
    responses((status = 200, description = "JWK set", body = Object), StoreUnavailable))]
async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut response = axum::Json(state.accounts.oidc.jwks().await?).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(response)
}

/// The authorization endpoint (code flow): back to the app with a code or an error, or on
/// to the sign-in page (log in, consent, or an error page for an unknown app or redirect
/// URI).
#[utoipa::path(get, path = "/oidc/authorize", operation_id = "oidc_authorize",
    tag = "openid-connect",
    responses(
        (status = 302, description = "To the app's redirect URI with `code` (or `error`), `state` and `iss`; or to the sign-in page `/authorize`"),
        StoreUnavailable,
    ))]
async fn authorize(
    State(state): State<AppState>,
    uri: Uri,
    SessionCookie(token): SessionCookie,
) -> Result<Response, ApiError> {
    let query = uri.query().unwrap_or_default();
    let page = || redirect(&format!("/authorize?{query}"));
    let Some(signed_in) = optional_session(&state, token).await? else {
        return Ok(page());
    };
    match state.accounts.oidc.authorize(query, Some(&signed_in)).await {
        Ok(Step::Redirect(location)) => Ok(redirect(&location)),
        Ok(_) | Err(OidcError::BadAuthorizationRequest(_)) => Ok(page()),
        Err(e) => Err(e.into()),
    }
}

/// The sign-in page's question: what next with this authorization request?
#[utoipa::path(post, path = "/api/oidc/authorize", operation_id = "oidc_authorize_step",
    tag = "openid-connect",
    request_body = AuthorizeRequest,
    responses(
        (status = 200, description = "The next step", body = AuthorizeStep),
        (status = 400, description = "Unknown app or unregistered redirect URI (`invalid_authorization_request`): show an error, do not go back to the app", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
    ))]
async fn authorize_step(
    State(state): State<AppState>,
    SessionCookie(token): SessionCookie,
    Json(req): Json<AuthorizeRequest>,
) -> Result<axum::Json<AuthorizeStep>, ApiError> {
    let signed_in = optional_session(&state, token).await?;
    let step = state
        .accounts
        .oidc
        .authorize(&req.query, signed_in.as_ref())
        .await?;
    Ok(axum::Json(step_reply(step)))
}

/// The user's answer on the consent page.
#[utoipa::path(post, path = "/api/oidc/consent", operation_id = "oidc_consent",
    tag = "openid-connect", security(("session" = [])),
    request_body = ConsentRequest,
    responses(
        (status = 200, description = "The next step: normally `redirect` (with a code, or `access_denied`)", body = AuthorizeStep),
        (status = 400, description = "Unknown app or unregistered redirect URI, or invalid JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
    ))]
async fn consent(
    State(state): State<AppState>,
    SignedInJson(signed_in, req): SignedInJson<ConsentRequest>,
) -> Result<axum::Json<AuthorizeStep>, ApiError> {
    let step = state
        .accounts
        .oidc
        .consent(&req.query, &signed_in, req.allow)
        .await?;
    Ok(axum::Json(step_reply(step)))
}

/// The token endpoint's form, for the document (the handler reads the parameters itself:
/// each at most once, RFC 6749 3.2).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct TokenForm {
    /// `authorization_code` or `refresh_token`.
    grant_type: String,
    /// The code (authorization_code).
    code: Option<String>,
    /// The authorization request's redirect URI (authorization_code).
    redirect_uri: Option<String>,
    /// The PKCE verifier (authorization_code).
    code_verifier: Option<String>,
    /// The refresh token (refresh_token).
    refresh_token: Option<String>,
    /// A narrower scope (refresh_token).
    scope: Option<String>,
    /// The app (client_secret_post, or a public app).
    client_id: Option<String>,
    /// The app's secret (client_secret_post).
    client_secret: Option<String>,
}

/// The introspection and revocation form, for the document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct TokenParameterForm {
    /// The token.
    token: String,
    /// `access_token` or `refresh_token` (a hint; ignored).
    token_type_hint: Option<String>,
    /// The app (client_secret_post, or a public app for revocation).
    client_id: Option<String>,
    /// The app's secret (client_secret_post).
    client_secret: Option<String>,
}

/// The `Authorization` header, if any.
fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// The token endpoint: `authorization_code` (with PKCE) and `refresh_token` grants.
#[utoipa::path(post, path = "/oidc/token", operation_id = "oidc_token", tag = "openid-connect",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens: access_token, token_type, expires_in, id_token, scope, and refresh_token with offline_access", body = Object),
        (status = 400, description = "OAuth error (`invalid_request`, `invalid_grant`, `unsupported_grant_type`, `invalid_scope`), as application/json with `error`", body = Problem),
        (status = 401, description = "`invalid_client`", body = Problem),
        StoreUnavailable,
    ))]
async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(body): Form,
) -> Result<Response, ApiError> {
    let reply = state
        .accounts
        .oidc
        .token(authorization(&headers), &body)
        .await?;
    Ok(no_store(reply.0))
}

/// The bearer token in `Authorization`, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let (scheme, token) = authorization(headers)?.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Claims about the user the access token names, as its scopes allow.
#[utoipa::path(get, path = "/oidc/userinfo", operation_id = "oidc_userinfo",
    tag = "openid-connect",
    responses(
        (status = 200, description = "Claims: sub, preferred_username, and per scope name, email, email_verified, groups", body = Object),
        (status = 401, description = "`invalid_token`, with `WWW-Authenticate: Bearer`", body = Problem),
        StoreUnavailable,
    ))]
async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    Ok(no_store(
        state.accounts.oidc.userinfo(bearer(&headers)).await?,
    ))
}

/// Userinfo by POST (the token still in `Authorization`).
#[utoipa::path(post, path = "/oidc/userinfo", operation_id = "oidc_userinfo_post",
    tag = "openid-connect",
    responses(
        (status = 200, description = "Claims", body = Object),
        (status = 401, description = "`invalid_token`", body = Problem),
        StoreUnavailable,
    ))]
async fn userinfo_post(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    userinfo(State(state), headers).await
}

/// Token introspection (RFC 7662), for the app the token was issued to.
#[utoipa::path(post, path = "/oidc/introspect", operation_id = "oidc_introspect",
    tag = "openid-connect",
    request_body(content = TokenParameterForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "`{\"active\": false}`, or the token's scope, client_id, username, sub, exp", body = Object),
        (status = 400, description = "`invalid_request` (a parameter missing or repeated, or not a form)", body = Problem),
        (status = 401, description = "`invalid_client`", body = Problem),
        StoreUnavailable,
    ))]
async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(body): Form,
) -> Result<Response, ApiError> {
    Ok(no_store(
        state
            .accounts
            .oidc
            .introspect(authorization(&headers), &body)
            .await?,
    ))
}

/// Token revocation (RFC 7009): a refresh token revokes its whole grant.
#[utoipa::path(post, path = "/oidc/revoke", operation_id = "oidc_revoke", tag = "openid-connect",
    request_body(content = TokenParameterForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked (also for an unknown token)"),
        (status = 400, description = "`invalid_request` (a parameter missing or repeated, or not a form)", body = Problem),
        (status = 401, description = "`invalid_client`", body = Problem),
        StoreUnavailable,
    ))]
async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(body): Form,
) -> Result<StatusCode, ApiError> {
    state
        .accounts
        .oidc
        .revoke(authorization(&headers), &body)
        .await?;
    Ok(StatusCode::OK)
}

/// RP-initiated logout: on to the sign-in app's `/logout` page, which finishes it.
#[utoipa::path(get, path = "/oidc/logout", operation_id = "oidc_logout", tag = "openid-connect",
    responses((status = 302, description = "To `/logout`, which logs out (with a valid `id_token_hint`) and returns to `post_logout_redirect_uri`")))]
async fn logout(uri: Uri) -> Response {
    redirect(&format!("/logout?{}", uri.query().unwrap_or_default()))
}

/// The logout page's call: logs the session out if the request carries an ID token naming
/// it, and says where to go.
#[utoipa::path(post, path = "/api/oidc/logout", operation_id = "oidc_logout_step",
    tag = "openid-connect",
    request_body = AuthorizeRequest,
    responses(
        (status = 200, description = "`redirect` to the app's post-logout URI (or our login page); the session cookie is cleared if the session was logged out", body = AuthorizeStep),
        (status = 400, description = "An ID token that is not ours, or an unregistered post-logout URI", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
    ))]
async fn logout_step(
    State(state): State<AppState>,
    SessionCookie(token): SessionCookie,
    Caller(client): Caller,
    Json(req): Json<AuthorizeRequest>,
) -> Result<Response, ApiError> {
    let signed_in = optional_session(&state, token.clone()).await?;
    let end = state
        .accounts
        .oidc
        .end_session(&req.query, signed_in.as_ref())
        .await?;
    let reply = axum::Json(step_reply(Step::Redirect(end.location)));
    match token.filter(|_| end.log_out) {
        Some(token) => {
            state.accounts.sign_in.logout(&token, client).await?;
            Ok(([(header::SET_COOKIE, state.cookies.clear())], reply).into_response())
        }
        None => Ok(reply.into_response()),
    }
}
