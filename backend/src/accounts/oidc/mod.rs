//! OpenID Connect provider: other apps sign their users in with Accounts (OpenID Connect
//! Core 1.0 with Discovery; OAuth 2.0 RFC 6749 authorization code flow, PKCE RFC 7636,
//! revocation RFC 7009, introspection RFC 7662, `iss` in the response RFC 9207).
//!
//! - `authorize`: checks an authorization request and decides the next step: log in,
//!   consent, or back to the app with a code (or an error).
//! - `tokens`: the token endpoint (code and refresh grants), userinfo, introspection and
//!   revocation, and ID tokens.
//! - `manage`: what operators do (apps, groups, key rotation) and what users see (the apps
//!   they allowed, their sessions).
//! - `keys`: the signing keys (OpenSSL), the JWKS, and rotation.
//!
//! Tokens are opaque (256 bits, stored as SHA-256) except the ID token. All state is in the
//! store, so instances on one MongoDB share codes, grants and keys.

mod authorize;
mod keys;
mod manage;
mod tokens;

use std::{sync::Arc, time::Duration};

pub use authorize::Step;

pub use keys::{Alg, SigningKey};
pub use manage::{ClientView, NewClient};

use self::keys::KeyRing;
use super::AccountError;
use crate::{
    clock::Clock,
    data_key::DataKeys,
    store::{
        ClientStore, GrantStore, GroupStore, SessionStore, SigningKeyStore, StoreError, UserStore,
    },
};

/// How long an authorization code works.
pub const CODE_TTL: Duration = Duration::from_secs(60);
/// How long an access token works.
pub const ACCESS_TTL: Duration = Duration::from_secs(600);
/// How long a refresh token works (each refresh issues the next, and extends the grant).
pub const REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long an ID token is valid (and so how long a replaced signing key stays published).
pub const ID_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// The scopes we know; others are ignored, as OpenID Connect asks.
pub const SCOPES: [&str; 5] = ["openid", "profile", "email", "groups", "offline_access"];

/// An OAuth error code, as RFC 6749 names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OauthError {
    /// A parameter is missing, repeated or malformed.
    InvalidRequest,
    /// The app could not be authenticated.
    InvalidClient,
    /// The code or refresh token is not valid (or the PKCE verifier does not match it).
    InvalidGrant,
    /// The app may not use this grant.
    UnauthorizedClient,
    /// Not a grant type we support.
    UnsupportedGrantType,
    /// More scope than was granted.
    InvalidScope,
    /// The access token is not valid (RFC 6750).
    InvalidToken,
}

/// What the OpenID Connect use cases can fail with.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// A protocol error the app gets as OAuth's `error`.
    #[error("{error:?}: {description}")]
    Protocol {
        /// The code.
        error: OauthError,
        /// Why, for the app's developer.
        description: String,
    },
    /// An authorization request that must not be sent back to the app: the app is unknown
    /// or the redirect URI is not one of its own (so the user sees an error page instead).
    #[error("invalid authorization request: {0}")]
    BadAuthorizationRequest(String),
    /// An operator named an app, group or account that does not exist, or gave bad input.
    #[error("{0}")]
    Operator(String),
    /// The account side (the store, a session).
    #[error(transparent)]
    Account(#[from] AccountError),
    /// A bug, or a key that does not open.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for OidcError {
    fn from(e: StoreError) -> Self {
        Self::Account(e.into())
    }
}

impl OidcError {
    fn protocol(error: OauthError, description: impl Into<String>) -> Self {
        Self::Protocol {
            error,
            description: description.into(),
        }
    }
}

/// The results of this module.
pub type OidcResult<T> = Result<T, OidcError>;

/// The store roles the provider uses.
#[derive(Clone)]
pub struct OidcRoles {
    /// Accounts (claims, whether disabled).
    pub users: Arc<dyn UserStore>,
    /// Registered apps.
    pub clients: Arc<dyn ClientStore>,
    /// Groups.
    pub groups: Arc<dyn GroupStore>,
    /// Grants, tokens and consents.
    pub grants: Arc<dyn GrantStore>,
    /// Sessions (the user's list).
    pub sessions: Arc<dyn SessionStore>,
    /// Signing keys.
    pub signing_keys: Arc<dyn SigningKeyStore>,
}

/// The OpenID Connect provider.
#[derive(Clone)]
pub struct Oidc {
    /// Our issuer identifier: the public URL, without a trailing slash.
    issuer: Arc<str>,
    users: Arc<dyn UserStore>,
    clients: Arc<dyn ClientStore>,
    groups: Arc<dyn GroupStore>,
    grants: Arc<dyn GrantStore>,
    sessions: Arc<dyn SessionStore>,
    keys: Arc<KeyRing>,
    clock: Arc<dyn Clock>,
}

impl Oidc {
    /// The provider on `roles`, issuing as `issuer` (the public URL); keys sealed with
    /// `data`.
    pub fn new(roles: OidcRoles, issuer: &str, data: Arc<DataKeys>, clock: Arc<dyn Clock>) -> Self {
        Self {
            issuer: issuer.trim_end_matches('/').into(),
            keys: Arc::new(KeyRing::new(roles.signing_keys, data, clock.clone())),
            users: roles.users,
            clients: roles.clients,
            groups: roles.groups,
            grants: roles.grants,
            sessions: roles.sessions,
            clock,
        }
    }

    /// The same provider, issuing as `issuer`.
    pub fn with_issuer(mut self, issuer: &str) -> Self {
        self.issuer = issuer.trim_end_matches('/').into();
        self
    }

    /// Our issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Makes a signing key for each algorithm that has none (at start-up).
    pub async fn ensure_keys(&self) -> OidcResult<()> {
        self.keys.ensure().await
    }

    /// The JWKS document.
    pub async fn jwks(&self) -> OidcResult<serde_json::Value> {
        self.keys.jwks().await
    }

    /// Seals the signing keys again with the newest data key. How many were.
    pub async fn reseal_keys(&self) -> OidcResult<u64> {
        self.keys.reseal().await
    }

    /// The discovery document (OpenID Connect Discovery 1.0), with the endpoints under
    /// `/oidc/`.
    pub fn discovery(&self) -> serde_json::Value {
        let at = |path: &str| format!("{}{path}", self.issuer);
        serde_json::json!({
            "issuer": &*self.issuer,
            "authorization_endpoint": at("/oidc/authorize"),
            "token_endpoint": at("/oidc/token"),
            "userinfo_endpoint": at("/oidc/userinfo"),
            "jwks_uri": at("/oidc/jwks"),
            "revocation_endpoint": at("/oidc/revoke"),
            "introspection_endpoint": at("/oidc/introspect"),
            "end_session_endpoint": at("/oidc/logout"),
            "scopes_supported": SCOPES,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": Alg::ALL.map(Alg::as_str),
            "token_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr",
                "preferred_username", "name", "email", "email_verified", "groups"
            ],
            "prompt_values_supported": ["none", "login", "consent"],
            "authorization_response_iss_parameter_supported": true,
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
        })
    }
}

/// Scopes as a set, in a fixed order (the order of [`SCOPES`]), from a space-separated list.
fn known_scopes(scope: &str) -> Vec<&'static str> {
    SCOPES
        .into_iter()
        .filter(|s| scope.split(' ').any(|asked| asked == *s))
        .collect()
}

/// Whether every scope in `asked` is in `granted` (both space-separated).
fn scopes_within(asked: &str, granted: &str) -> bool {
    asked
        .split(' ')
        .filter(|s| !s.is_empty())
        .all(|s| granted.split(' ').any(|g| g == s))
}

/// Form or query parameters, each at most once (RFC 6749 3.1: repeated parameters are an
/// error, since two parsers could read different values).
pub struct Params(Vec<(String, String)>);

impl Params {
    /// The parameters of a query string or an `application/x-www-form-urlencoded` body.
    pub fn parse(encoded: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(encoded)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The value of `name`, if sent (an empty value counts as not sent, as RFC 6749 3.1
    /// says); an error if it was sent twice.
    fn get(&self, name: &str) -> Result<Option<&str>, String> {
        let mut values = self.0.iter().filter(|(k, _)| k == name);
        match (values.next(), values.next()) {
            (Some(_), Some(_)) => Err(format!("`{name}` was sent more than once")),
            (Some((_, v)), None) if !v.is_empty() => Ok(Some(v)),
            _ => Ok(None),
        }
    }

    /// Like [`Params::get`], as an OAuth `invalid_request`.
    fn one(&self, name: &str) -> OidcResult<Option<&str>> {
        self.get(name)
            .map_err(|why| OidcError::protocol(OauthError::InvalidRequest, why))
    }

    /// The value of `name`, which must be sent once.
    fn required(&self, name: &str) -> OidcResult<&str> {
        self.one(name)?.ok_or_else(|| {
            OidcError::protocol(OauthError::InvalidRequest, format!("`{name}` is required"))
        })
    }
}

/// Where an RP-initiated logout ends, and whether it logs the session out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndSession {
    /// The session is to be logged out: the request carried an ID token (`id_token_hint`)
    /// of ours naming the signed-in account. Without one, a link on any site could log users
    /// out, so the session stays.
    pub log_out: bool,
    /// Where the browser goes: the app's registered `post_logout_redirect_uri` (with
    /// `state`), or our own login page.
    pub location: String,
}

impl Oidc {
    /// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) for the request's query.
    pub async fn end_session(
        &self,
        query: &str,
        signed_in: Option<&super::SignedIn>,
    ) -> OidcResult<EndSession> {
        let params = Params::parse(query.as_bytes());
        let bad = OidcError::BadAuthorizationRequest;
        let hint = match params.get("id_token_hint").map_err(bad)? {
            Some(jwt) => Some(
                self.id_token_subject(jwt)
                    .await?
                    .ok_or_else(|| bad("the id_token_hint is not an ID token of ours".into()))?,
            ),
            None => None,
        };
        let client_id = match (params.get("client_id").map_err(bad)?, &hint) {
            (Some(id), Some((_, aud))) if id != aud => {
                return Err(bad("client_id differs from the ID token's audience".into()))
            }
            (Some(id), _) => Some(id.to_owned()),
            (None, Some((_, aud))) => Some(aud.clone()),
            (None, None) => None,
        };
        let log_out = match (signed_in, &hint) {
            (Some(s), Some((sub, _))) => *sub == s.found.user.id,
            _ => false,
        };
        let location = match params.get("post_logout_redirect_uri").map_err(bad)? {
            Some(uri) => {
                let client = match &client_id {
                    Some(id) => self.clients.find_client(id).await?,
                    None => None,
                }
                .ok_or_else(|| {
                    bad("post_logout_redirect_uri needs client_id or id_token_hint".into())
                })?;
                if !client.post_logout_uris.iter().any(|u| u == uri) {
                    return Err(bad(format!(
                        "`{uri}` is not a post-logout URI registered for {}",
                        client.name
                    )));
                }
                let mut url = url::Url::parse(uri).map_err(|e| OidcError::Internal(Box::new(e)))?;
                if let Some(state) = params.get("state").map_err(bad)? {
                    url.query_pairs_mut().append_pair("state", state);
                }
                url.into()
            }
            None => "/login".to_owned(),
        };
        Ok(EndSession { log_out, location })
    }
}
