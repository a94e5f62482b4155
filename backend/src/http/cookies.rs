//! The session and device cookies (`HttpOnly`, `SameSite=Strict`, `Path=/`, and `Secure` with
//! the `__Host-` name prefix, which browsers only accept over HTTPS, when configured), and the
//! extractors that read them: the raw session token ([`SessionCookie`]) and the caller's valid
//! session ([`SignedInUser`], [`SignedInJson`]).

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::{header, request::Parts, HeaderMap, HeaderValue},
};
use serde::de::DeserializeOwned;
use std::{convert::Infallible, time::Duration};

use super::{error::ApiError, extract::Json, AppState};
use crate::{
    accounts::{AccountError, SignedIn},
    token::{DeviceToken, SessionToken, Token},
};

/// How the session cookie is named and flagged.
#[derive(Debug, Clone)]
pub struct CookieSettings {
    name: &'static str,
    device_name: &'static str,
    secure: bool,
    max_age_secs: u64,
    /// Shared with the hosts of this domain (`--cookie-domain`), if set.
    domain: Option<String>,
}

impl CookieSettings {
    /// `secure` adds `Secure` and the `__Host-` prefix; the cookie lives as long as a session.
    pub fn new(secure: bool, ttl: Duration) -> Self {
        Self {
            name: if secure { "__Host-session" } else { "session" },
            device_name: if secure { "__Host-device" } else { "device" },
            secure,
            max_age_secs: ttl.as_secs(),
            domain: None,
        }
    }

    /// The session cookie shared with every host of `domain` (the `__Host-` prefix forbids a
    /// domain, so a secure one is named `__Secure-session`). The device cookie stays this
    /// host's.
    pub fn with_domain(mut self, domain: Option<String>) -> Self {
        if domain.is_some() && self.secure {
            self.name = "__Secure-session";
        }
        self.domain = domain;
        self
    }

    /// The domain the session cookie is shared with, if any.
    pub fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// Whether the service is reached over HTTPS (`--cookie-secure`).
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// The session token in the request's cookies, if one of the right shape is there.
    pub fn read(&self, headers: &HeaderMap) -> Option<SessionToken> {
        read_cookie(headers, self.name)
    }

    /// The device token (a browser known to an account) in the request's cookies, if any.
    pub fn read_device(&self, headers: &HeaderMap) -> Option<DeviceToken> {
        read_cookie(headers, self.device_name)
    }

    /// The `Set-Cookie` value that marks this browser as known (kept across logouts).
    pub fn set_device(&self, token: &DeviceToken) -> HeaderValue {
        self.header_for(
            self.device_name,
            token.as_str(),
            crate::accounts::DEVICE_LIFETIME.as_secs(),
        )
    }

    /// The `Set-Cookie` value that hands the client `token`.
    pub fn set(&self, token: &SessionToken) -> HeaderValue {
        self.header(token.as_str(), self.max_age_secs)
    }

    /// The `Set-Cookie` value that removes the cookie.
    pub fn clear(&self) -> HeaderValue {
        self.header("", 0)
    }

    fn header(&self, value: &str, max_age: u64) -> HeaderValue {
        let domain = self
            .domain
            .as_deref()
            .map_or(String::new(), |d| format!("; Domain={d}"));
        self.header_with(self.name, value, max_age, &domain)
    }

    fn header_for(&self, name: &str, value: &str, max_age: u64) -> HeaderValue {
        self.header_with(name, value, max_age, "")
    }

    fn header_with(&self, name: &str, value: &str, max_age: u64, domain: &str) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = format!(
            "{name}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict{secure}{domain}"
        );
        // Built only from a fixed name, hex digits and numbers: always a valid header value.
        HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// The token in the cookie called `name`, if one of the right shape is there.
fn read_cookie<K>(headers: &HeaderMap, name: &str) -> Option<Token<K>> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .and_then(|(_, value)| Token::parse(value.trim()))
}

/// The caller's session token, if any (not yet checked against the store).
pub struct SessionCookie(pub Option<SessionToken>);

impl FromRequestParts<AppState> for SessionCookie {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Self(state.cookies.read(&parts.headers)))
    }
}

/// The caller's valid session: the extractor of every signed-in route without a body, which
/// answers `401 unauthenticated` without one before the handler runs.
pub struct SignedInUser(pub SignedIn);

impl FromRequestParts<AppState> for SignedInUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        signed_in(state, state.cookies.read(&parts.headers))
            .await
            .map(Self)
    }
}

/// The caller's valid session and the route's JSON body, for signed-in routes with a body.
/// The body is read first: a malformed body is `400` whoever sends it, as on every route.
pub struct SignedInJson<T>(pub SignedIn, pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for SignedInJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let token = state.cookies.read(req.headers());
        let Json(body) = Json::from_request(req, state).await?;
        Ok(Self(signed_in(state, token).await?, body))
    }
}

/// The session behind `token`, or `401 unauthenticated`.
async fn signed_in(state: &AppState, token: Option<SessionToken>) -> Result<SignedIn, ApiError> {
    let token = token.ok_or(AccountError::Unauthenticated)?;
    Ok(state.accounts.sign_in.session(&token).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_attributes() {
        let c = CookieSettings::new(false, Duration::from_secs(60));
        let t = SessionToken::generate();
        let v = c.set(&t);
        let s = v.to_str().unwrap();
        assert!(s.starts_with(&format!("session={}", t.as_str())));
        for attr in ["Max-Age=60", "Path=/", "HttpOnly", "SameSite=Strict"] {
            assert!(s.contains(attr), "{s}");
        }
        assert!(!s.contains("Secure"));
        let secure = CookieSettings::new(true, Duration::from_secs(60));
        let s = secure.set(&t);
        let s = s.to_str().unwrap();
        assert!(
            s.starts_with("__Host-session=") && s.ends_with("; Secure"),
            "{s}"
        );
        assert!(c.clear().to_str().unwrap().contains("Max-Age=0"));
        // Shared with a domain: `__Host-` would forbid it.
        let shared = CookieSettings::new(true, Duration::from_secs(60))
            .with_domain(Some("example.org".into()));
        let s = shared.set(&t);
        let s = s.to_str().unwrap();
        assert!(
            s.starts_with("__Secure-session=") && s.ends_with("; Secure; Domain=example.org"),
            "{s}"
        );
        assert!(!shared
            .set_device(&crate::token::DeviceToken::generate())
            .to_str()
            .unwrap()
            .contains("Domain"));
    }

    #[test]
    fn reads_the_token_among_other_cookies() {
        let c = CookieSettings::new(false, Duration::from_secs(60));
        let t = SessionToken::generate();
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("theme=dark; session={}; x=y", t.as_str())
                .parse()
                .unwrap(),
        );
        assert_eq!(c.read(&h), Some(t));
        h.insert(header::COOKIE, "session=forged".parse().unwrap());
        assert_eq!(c.read(&h), None);
    }
}
