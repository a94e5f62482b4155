//! The only place that talks to the server: one `call` helper on gloo-net, returning the shared
//! DTOs (read by [`crate::decode`]) or the server's problem details.

use accounts_api::{
    AccountReply, AppsReply, AuthorizeRequest, AuthorizeStep, ChangePasswordRequest,
    ConsentRequest, Credentials, EmailRequest, EmailVerifyRequest, ErrorCode,
    ForgotPasswordRequest, LoginReply, LoginRequest, MessageReply, PasskeyChallenge,
    PasskeySummary, PolicyInfo, Problem, ReauthReply, ReauthRequest, RecoveryCodes,
    RegisterRequest, ResetPasswordRequest, RevokeAppRequest, RevokeSessionRequest, SessionInfo,
    TotpConfirmRequest, TotpSetup,
};
use gloo_net::http::{Method, RequestBuilder};
use serde::Serialize;
use wasm_bindgen::JsValue;

use crate::decode::{self, Reply};

/// What a failed call tells the UI: the server's problem, or that the server was not reached.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The server answered with a problem.
    Problem(Problem),
    /// No usable answer (offline, or the reply was not ours).
    Network,
    /// Something in this browser failed (a passkey request, say); the words say what.
    Local(String),
}

impl ApiError {
    /// The server's machine code, if it answered.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Problem(p) => Some(p.code),
            Self::Network | Self::Local(_) => None,
        }
    }

    /// One sentence for the top of a form.
    pub fn message(&self) -> String {
        match self {
            Self::Problem(p) => p.detail.clone(),
            Self::Local(why) => why.clone(),
            Self::Network => {
                "The server could not be reached. Check your connection and try again.".into()
            }
        }
    }
}

/// One call: the request's JSON in, the reply read out. Only this thin layer is generic; the
/// exchange itself ([`exchange`]) exists once in the download, not once per pair of types.
async fn call<Req: Serialize, Resp: Reply>(
    method: Method,
    path: &str,
    body: Option<&Req>,
) -> Result<Option<Resp>, ApiError> {
    let body = match body {
        Some(body) => Some(serde_json::to_string(body).map_err(|_| ApiError::Network)?),
        None => None,
    };
    read(exchange(method, path, body).await?).ok_or(ApiError::Network)
}

/// A success's body as `Resp` (`Some(None)` for `204`); `None` if it is not one (not ours).
fn read<Resp: Reply>(text: Option<String>) -> Option<Option<Resp>> {
    match text {
        Some(text) => decode::from_text(&text).map(Some),
        None => Some(None),
    }
}

/// A POST whose body is a JS object (WebAuthn results are already JS values).
async fn post_js<Resp: Reply>(path: &str, body: &JsValue) -> Result<Resp, ApiError> {
    let body: String = js_sys::JSON::stringify(body)
        .map_err(|_| ApiError::Network)?
        .into();
    read(exchange(Method::POST, path, Some(body)).await?)
        .flatten()
        .ok_or(ApiError::Network)
}

/// `{key: value, ...}` as a JS object.
fn object(entries: &[(&str, &JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    for (key, value) in entries {
        let _ = js_sys::Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}

/// Sends a request and gives the body of a success (`None` for `204`). A `503 overloaded`
/// reply (the server sheds password checks it could not start soon) is retried once after its
/// `Retry-After`; if the server is still busy, the problem says so in plain words.
async fn exchange(
    method: Method,
    path: &str,
    body: Option<String>,
) -> Result<Option<String>, ApiError> {
    match send(method.clone(), path, body.clone()).await {
        Err(Busy(wait_secs)) => {
            sleep_ms(wait_secs.clamp(1, 5) * 1000).await;
            match send(method, path, body).await {
                Err(Busy(_)) => Err(ApiError::Problem(Problem::new(
                    ErrorCode::Overloaded,
                    "The service is busy right now. Please try again in a moment.",
                ))),
                Ok(result) => result,
            }
        }
        Ok(result) => result,
    }
}

/// The server shed the request; retry after this many seconds.
struct Busy(i32);

async fn send(
    method: Method,
    path: &str,
    body: Option<String>,
) -> Result<Result<Option<String>, ApiError>, Busy> {
    let builder = RequestBuilder::new(path)
        .method(method)
        .header("Accept", "application/json");
    let request = match body {
        Some(body) => builder
            .header("Content-Type", "application/json")
            .body(body),
        None => builder.build(),
    };
    let Ok(request) = request else {
        return Ok(Err(ApiError::Network));
    };
    let Ok(response) = request.send().await else {
        return Ok(Err(ApiError::Network));
    };
    let status = response.status();
    if response.ok() {
        if status == 204 {
            return Ok(Ok(None));
        }
        return Ok(response
            .text()
            .await
            .map(Some)
            .map_err(|_| ApiError::Network));
    }
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(1);
    let text = response.text().await.unwrap_or_default();
    let problem = decode::from_text::<Problem>(&text).unwrap_or_else(|| {
        Problem::new(
            ErrorCode::Internal,
            format!("The server answered {status}."),
        )
    });
    if problem.code == ErrorCode::Overloaded {
        return Err(Busy(retry_after));
    }
    Ok(Err(ApiError::Problem(problem)))
}

/// Waits `ms` milliseconds (the browser's timer).
async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

async fn post<Req: Serialize, Resp: Reply>(path: &str, body: &Req) -> Result<Resp, ApiError> {
    call(Method::POST, path, Some(body))
        .await?
        .ok_or(ApiError::Network)
}

/// A GET whose reply is read as `Resp`.
async fn get<Resp: Reply>(path: &str) -> Result<Resp, ApiError> {
    call::<(), _>(Method::GET, path, None)
        .await?
        .ok_or(ApiError::Network)
}

/// `GET /api/policy`: the rules in force.
pub async fn policy() -> Result<PolicyInfo, ApiError> {
    get("/api/policy").await
}

/// `GET /api/session`: who is signed in.
pub async fn session() -> Result<SessionInfo, ApiError> {
    get("/api/session").await
}

/// `POST /api/user/add`.
pub async fn register(req: &RegisterRequest) -> Result<AccountReply, ApiError> {
    post("/api/user/add", req).await
}

/// `POST /api/password/forgot`: a reset link by mail, if the account has a confirmed address.
pub async fn forgot_password(req: &ForgotPasswordRequest) -> Result<MessageReply, ApiError> {
    post("/api/password/forgot", req).await
}

/// `POST /api/email`: a new address (a sensitive change).
pub async fn change_email(req: &EmailRequest) -> Result<MessageReply, ApiError> {
    post("/api/email", req).await
}

/// `POST /api/email/resend`: the confirmation link again.
pub async fn resend_email() -> Result<MessageReply, ApiError> {
    post_empty("/api/email/resend")
        .await?
        .ok_or(ApiError::Network)
}

/// `POST /api/email/verify` with a verification link's token.
pub async fn verify_email(req: &EmailVerifyRequest) -> Result<AccountReply, ApiError> {
    post("/api/email/verify", req).await
}

/// `POST /api/login`: sets the session cookie.
pub async fn login(req: &LoginRequest) -> Result<LoginReply, ApiError> {
    post("/api/login", req).await
}

/// `POST /api/user/update`: signs the account out everywhere.
pub async fn change_password(req: &ChangePasswordRequest) -> Result<AccountReply, ApiError> {
    post("/api/user/update", req).await
}

/// `POST /api/password/reset`: a new password with a reset link's token.
pub async fn reset_password(req: &ResetPasswordRequest) -> Result<AccountReply, ApiError> {
    post("/api/password/reset", req).await
}

/// `POST /api/user/delete`.
pub async fn delete_account(req: &Credentials) -> Result<AccountReply, ApiError> {
    post("/api/user/delete", req).await
}

/// A POST of `{}`: a sensitive change that carries no proof of its own (the session's recent
/// login is, else the server asks for one: see [`crate::reauth`]).
async fn post_empty<Resp: Reply>(path: &str) -> Result<Option<Resp>, ApiError> {
    read(exchange(Method::POST, path, Some("{}".into())).await?).ok_or(ApiError::Network)
}

/// `POST /api/mfa/totp/setup`: a new authenticator secret, pending.
pub async fn totp_setup() -> Result<TotpSetup, ApiError> {
    post_empty("/api/mfa/totp/setup")
        .await?
        .ok_or(ApiError::Network)
}

/// `POST /api/mfa/totp/confirm`: on, with recovery codes.
pub async fn totp_confirm(req: &TotpConfirmRequest) -> Result<RecoveryCodes, ApiError> {
    post("/api/mfa/totp/confirm", req).await
}

/// `POST /api/mfa/totp/disable`.
pub async fn totp_disable() -> Result<(), ApiError> {
    post_empty::<()>("/api/mfa/totp/disable").await.map(drop)
}

/// `POST /api/passkeys/register/start`.
pub async fn passkey_register_start() -> Result<PasskeyChallenge, ApiError> {
    post_empty("/api/passkeys/register/start")
        .await?
        .ok_or(ApiError::Network)
}

/// `POST /api/passkeys/register/finish` with the browser's new credential.
pub async fn passkey_register_finish(
    ceremony: &str,
    name: &str,
    credential: &JsValue,
) -> Result<PasskeySummary, ApiError> {
    let body = object(&[
        ("ceremony", &ceremony.into()),
        ("name", &name.into()),
        ("credential", credential),
    ]);
    post_js("/api/passkeys/register/finish", &body).await
}

/// `GET /api/passkeys`.
pub async fn passkeys() -> Result<Vec<PasskeySummary>, ApiError> {
    get("/api/passkeys").await
}

/// `DELETE /api/passkeys/{id}`.
pub async fn passkey_remove(id: &str) -> Result<(), ApiError> {
    let path = format!(
        "/api/passkeys/{}",
        String::from(js_sys::encode_uri_component(id))
    );
    call::<(), ()>(Method::DELETE, &path, None).await.map(drop)
}

/// A passkey assertion: a ceremony from `POST /api/passkeys/login/start`, the browser's
/// `navigator.credentials.get()`, and the result sent to `path`; the reply's text. Not
/// generic, so logging in and re-authenticating share it in the download.
async fn passkey_exchange(path: &str) -> Result<Option<String>, ApiError> {
    let start: PasskeyChallenge = post("/api/passkeys/login/start", &()).await?;
    let credential = crate::passkey::get(&start.options)
        .await
        .map_err(ApiError::Local)?;
    let body = object(&[
        ("ceremony", &start.ceremony.as_str().into()),
        ("credential", &credential),
    ]);
    let body: String = js_sys::JSON::stringify(&body)
        .map_err(|_| ApiError::Network)?
        .into();
    exchange(Method::POST, path, Some(body)).await
}

/// Logs in with a passkey (`POST /api/passkeys/login/finish`): sets the session cookie.
pub async fn passkey_login() -> Result<LoginReply, ApiError> {
    read(passkey_exchange("/api/passkeys/login/finish").await?)
        .flatten()
        .ok_or(ApiError::Network)
}

/// `POST /api/session/reauth`: the password (and code) again, for sensitive changes.
pub async fn reauth(req: &ReauthRequest) -> Result<ReauthReply, ApiError> {
    post("/api/session/reauth", req).await
}

/// Confirms it is you with a passkey (`POST /api/session/reauth/passkey`).
pub async fn reauth_passkey() -> Result<ReauthReply, ApiError> {
    read(passkey_exchange("/api/session/reauth/passkey").await?)
        .flatten()
        .ok_or(ApiError::Network)
}

/// `POST /api/logout`.
pub async fn logout() -> Result<(), ApiError> {
    call::<(), ()>(Method::POST, "/api/logout", None)
        .await
        .map(drop)
}

/// `POST /api/oidc/authorize`: what next with an app's sign-in request (`query`, the
/// `/oidc/authorize` query string).
pub async fn oidc_authorize(query: &str) -> Result<AuthorizeStep, ApiError> {
    post(
        "/api/oidc/authorize",
        &AuthorizeRequest {
            query: query.to_owned(),
        },
    )
    .await
}

/// `POST /api/oidc/consent`: the user's answer.
pub async fn oidc_consent(query: &str, allow: bool) -> Result<AuthorizeStep, ApiError> {
    post(
        "/api/oidc/consent",
        &ConsentRequest {
            query: query.to_owned(),
            allow,
        },
    )
    .await
}

/// `POST /api/oidc/logout`: an app's logout request.
pub async fn oidc_logout(query: &str) -> Result<AuthorizeStep, ApiError> {
    post(
        "/api/oidc/logout",
        &AuthorizeRequest {
            query: query.to_owned(),
        },
    )
    .await
}

/// `GET /api/apps`: the apps allowed and the signed-in sessions.
pub async fn apps() -> Result<AppsReply, ApiError> {
    get("/api/apps").await
}

/// `POST /api/apps/revoke`.
pub async fn revoke_app(client_id: String) -> Result<MessageReply, ApiError> {
    post("/api/apps/revoke", &RevokeAppRequest { client_id }).await
}

/// `POST /api/sessions/revoke`: one session, or (`None`) every other.
pub async fn revoke_session(id: Option<String>) -> Result<MessageReply, ApiError> {
    post("/api/sessions/revoke", &RevokeSessionRequest { id }).await
}
