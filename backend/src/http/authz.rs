//! Forward-auth for reverse proxies, with Authelia's semantics so existing proxy setups
//! carry over:
//!
//! - `GET /api/authz/forward-auth` (Traefik, Caddy): the original request in
//!   `X-Forwarded-Method`, `-Proto`, `-Host`, `-Uri`. Not signed in: `302` (GET, HEAD) or
//!   `303` to the login page with `rd`, or `401` for a request that asks for JSON or is XHR.
//! - `GET /api/authz/auth-request` (nginx `auth_request`): the original request in
//!   `X-Original-URL` and `X-Original-Method`. Not signed in: `401` with the login page in
//!   `Location` (nginx's config turns it into a redirect).
//!
//! Signed in and allowed: `200` with `Remote-User`, `Remote-Groups`, `Remote-Email` and
//! `Remote-Name` for the app. Not allowed: `403`. The forwarded headers are believed only
//! from `--trusted-proxy` addresses: anyone else could name any host and path.

use std::net::SocketAddr;

use accounts_api::Problem;
use axum::{
    extract::{ConnectInfo, FromRequestParts, State},
    http::request::Parts,
    http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use utoipa_axum::routes;

use super::{cookies::SessionCookie, error::ApiError, ApiRouter, AppState};
use crate::accounts::{AccountError, Identity, Verdict};

/// This resource's routes, each with its document entry.
pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .routes(routes!(forward_auth))
        .routes(routes!(auth_request))
}

/// A request from a `--trusted-proxy` peer: the extractor of both routes, which refuses
/// anyone else (`403`) before the handler runs, since anyone else could name any host and
/// path.
struct FromTrustedProxy;

impl FromRequestParts<AppState> for FromTrustedProxy {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        if peer.is_some_and(|ip| state.trusted_proxies.iter().any(|net| net.contains(ip))) {
            Ok(Self)
        } else {
            Err(refused(
                "forward-auth answers only the proxies named by --trusted-proxy",
            ))
        }
    }
}

/// The request the proxy asks about: its host and path as the rules compare them (checked
/// and normalised, see `crate::authz`), and its URL, for coming back after a login.
struct Original {
    method: String,
    host: String,
    path: String,
    url: url::Url,
}

impl Original {
    /// From its parts as the proxy sent them, or why not.
    fn new(method: &str, proto: &str, authority: &str, uri: &str) -> Result<Self, &'static str> {
        if !matches!(proto, "http" | "https") {
            return Err("the original request's scheme is not http or https");
        }
        let (host, _) = crate::authz::normalize_host(authority)
            .ok_or("the original request's host is not a plain host name")?;
        let path = crate::authz::normalize_path(uri)
            .ok_or("the original request's path is not one this check can read safely")?;
        let url = parse_url(&format!("{proto}://{authority}{uri}"))
            .ok_or("the original request's URL is not a URL")?;
        Ok(Self {
            method: method.to_owned(),
            host,
            path,
            url,
        })
    }

    /// From `X-Original-URL` (nginx: `$scheme://$http_host$request_uri`).
    fn from_url(method: &str, raw: &str) -> Result<Self, &'static str> {
        let (proto, rest) = raw
            .split_once("://")
            .ok_or("X-Original-URL is not an absolute URL")?;
        let at = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
        let (authority, uri) = rest.split_at(at);
        let uri = if uri.is_empty() { "/" } else { uri };
        Self::new(method, &proto.to_ascii_lowercase(), authority, uri)
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Refused: the check came from elsewhere than a trusted proxy, or named no usable URL.
fn refused(detail: &str) -> Response {
    super::error::problem_response(Problem::new(accounts_api::ErrorCode::AccessDenied, detail))
}

/// An absolute http(s) URL with a host, or nothing.
fn parse_url(s: &str) -> Option<url::Url> {
    url::Url::parse(s)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// The check itself: the verdict for `original` with the caller's session cookie.
async fn verdict(
    state: &AppState,
    original: &Original,
    token: Option<crate::token::SessionToken>,
) -> Result<Verdict, ApiError> {
    let rules = state.authz.current();
    let (policy, groups) = rules.decide(&original.host, &original.path);
    Ok(state
        .accounts
        .forward_auth
        .check_token(policy, groups, token.as_ref())
        .await?)
}

/// `200` with who passed, for the app. All four headers are always there, empty when there
/// is nothing to say (a bypass path, no confirmed address): a proxy that copies them would
/// otherwise pass its own placeholder text on (Caddy 2.6 does).
fn allowed(identity: Option<Identity>) -> Response {
    let (user, groups, email) = match &identity {
        Some(who) => (
            who.user_name.as_str(),
            who.groups.join(","),
            who.email.as_deref().unwrap_or(""),
        ),
        None => ("", String::new(), ""),
    };
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        ("remote-user", user),
        ("remote-name", user),
        ("remote-groups", groups.as_str()),
        ("remote-email", email),
    ] {
        // User names, group names and confirmed addresses are printable ASCII or letters:
        // a value that is not a header value is left empty rather than passed on mangled.
        let value = HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static(""));
        headers.insert(HeaderName::from_static(name), value);
    }
    response
}

/// The login page, coming back to `original` after.
fn login_url(state: &AppState, original: &Original) -> String {
    let mut url = format!("{}/login?rd=", state.accounts.oidc.issuer());
    url.extend(url::form_urlencoded::byte_serialize(
        original.url.as_str().as_bytes(),
    ));
    url
}

fn with_location(status: StatusCode, location: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// Forward-auth for Traefik and Caddy.
#[utoipa::path(get, path = "/api/authz/forward-auth", operation_id = "forward_auth",
    tag = "forward-auth",
    responses(
        (status = 200, description = "Allowed: `Remote-User`, `Remote-Groups`, `Remote-Email`, `Remote-Name` name who"),
        (status = 302, description = "Not signed in (GET, HEAD): to the login page with `rd`"),
        (status = 303, description = "Not signed in (other methods): to the login page with `rd`"),
        (status = 401, description = "Not signed in, and the request asks for JSON or is XHR", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed here, or not asked by a trusted proxy (`access_denied`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database cannot be reached", body = Problem, content_type = "application/problem+json"),
    ))]
async fn forward_auth(
    State(state): State<AppState>,
    _: FromTrustedProxy,
    SessionCookie(token): SessionCookie,
    // The request itself, last: its headers are read in place, not copied.
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let headers = request.headers();
    let method = header_text(headers, "x-forwarded-method")
        .unwrap_or("GET")
        .to_owned();
    let (Some(proto), Some(authority)) = (
        header_text(headers, "x-forwarded-proto"),
        header_text(headers, "x-forwarded-host"),
    ) else {
        return Ok(refused(
            "the proxy sent no X-Forwarded-Proto and X-Forwarded-Host",
        ));
    };
    // Absent, the root; present but unreadable (not ASCII), refused: never read as the root.
    let uri = match headers.get("x-forwarded-uri") {
        None => "/",
        Some(v) => match v.to_str() {
            Ok(uri) => uri.trim(),
            Err(_) => {
                return Ok(refused(
                    "the proxy sent an X-Forwarded-Uri that is not ASCII",
                ))
            }
        },
    };
    let original = match Original::new(&method, proto, authority, uri) {
        Ok(original) => original,
        Err(why) => return Ok(refused(why)),
    };
    Ok(match verdict(&state, &original, token).await? {
        Verdict::Allow(who) => allowed(who),
        Verdict::Forbidden(why) => refused(why),
        Verdict::SignIn => {
            let wants_json = header_text(headers, "accept")
                .is_some_and(|a| a.contains("application/json"))
                || header_text(headers, "x-requested-with")
                    .is_some_and(|x| x.eq_ignore_ascii_case("xmlhttprequest"));
            if wants_json {
                ApiError::from(AccountError::Unauthenticated).into_response()
            } else {
                let status = if matches!(original.method.as_str(), "GET" | "HEAD") {
                    StatusCode::FOUND
                } else {
                    StatusCode::SEE_OTHER
                };
                with_location(status, &login_url(&state, &original))
            }
        }
    })
}

/// Forward-auth for nginx's `auth_request`.
#[utoipa::path(get, path = "/api/authz/auth-request", operation_id = "auth_request",
    tag = "forward-auth",
    responses(
        (status = 200, description = "Allowed: `Remote-User`, `Remote-Groups`, `Remote-Email`, `Remote-Name` name who"),
        (status = 401, description = "Not signed in: `Location` is the login page with `rd`"),
        (status = 403, description = "Not allowed here, or not asked by a trusted proxy (`access_denied`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database cannot be reached", body = Problem, content_type = "application/problem+json"),
    ))]
async fn auth_request(
    State(state): State<AppState>,
    _: FromTrustedProxy,
    SessionCookie(token): SessionCookie,
    // The request itself, last: its headers are read in place, not copied.
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let headers = request.headers();
    let Some(raw) = header_text(headers, "x-original-url") else {
        return Ok(refused("the proxy sent no X-Original-URL"));
    };
    let method = header_text(headers, "x-original-method").unwrap_or("GET");
    let original = match Original::from_url(method, raw) {
        Ok(original) => original,
        Err(why) => return Ok(refused(why)),
    };
    Ok(match verdict(&state, &original, token).await? {
        Verdict::Allow(who) => allowed(who),
        Verdict::Forbidden(why) => refused(why),
        Verdict::SignIn => with_location(StatusCode::UNAUTHORIZED, &login_url(&state, &original)),
    })
}
