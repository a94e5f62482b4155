//! The authorization endpoint's decisions. A request is checked in two stages, as OpenID
//! Connect Core 3.1.2.6 asks: first the app and its redirect URI (if either is wrong, the
//! user gets an error page and nothing is sent anywhere), then everything else (errors go
//! back to the app). Then: log in, consent, or a code.

use std::time::Duration;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{
    known_scopes, scopes_within, OauthError, Oidc, OidcError, OidcResult, Params, CODE_TTL,
};
use crate::{
    accounts::SignedIn,
    ids::random_hex,
    store::{ClientRecord, ConsentRecord, GrantRecord, TokenKind, TokenRecord},
    token::OauthToken,
};

/// Longest `state` and `nonce` accepted: they come back in URLs and tokens.
const MAX_ECHO: usize = 1024;
/// Longest authorization request: it comes back in a `Location` header.
const MAX_QUERY: usize = 8 * 1024;
/// A login (or re-authentication) this recent satisfies `prompt=login` and any `max_age`: it
/// is the one the app's request just led to. (The request itself is not integrity-protected,
/// so an app that must be sure checks `auth_time` in the ID token, which is always the real
/// time of the last login.)
const FRESH_LOGIN: Duration = Duration::from_secs(30);

/// What happens next with an authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The user must log in: there is no session, or the app asked for a fresh login
    /// (`prompt=login`, or `max_age` has passed since the last one). `signed_in` says whether
    /// there is a session to re-authenticate instead.
    Login {
        /// There is a session (confirm the password or use a passkey; no new login).
        signed_in: bool,
    },
    /// The user must allow the app what it asks.
    Consent {
        /// The app's id.
        client_id: String,
        /// The app's name.
        client_name: String,
        /// The scopes asked for, known ones only.
        scopes: Vec<&'static str>,
    },
    /// Back to the app: this URL carries the code, or the error.
    Redirect(String),
}

/// `prompt`'s values.
#[derive(Debug, Default, Clone, Copy)]
struct Prompt {
    none: bool,
    login: bool,
    consent: bool,
}

/// A request whose app and redirect URI are right: errors from here on go back to the app.
struct Request {
    client: ClientRecord,
    redirect_uri: String,
    state: Option<String>,
    /// Known scopes, space-separated, in a fixed order.
    scope: String,
    nonce: Option<String>,
    challenge: Option<String>,
    prompt: Prompt,
    max_age: Option<u64>,
}

/// An error to send back to the app's redirect URI.
struct Refusal {
    error: &'static str,
    description: String,
}

fn refuse(error: &'static str, description: impl Into<String>) -> Refusal {
    Refusal {
        error,
        description: description.into(),
    }
}

impl Oidc {
    /// The step after an authorization request (its query string), for the session
    /// `signed_in` (if any).
    pub async fn authorize(&self, query: &str, signed_in: Option<&SignedIn>) -> OidcResult<Step> {
        self.decide(query, signed_in, None).await
    }

    /// The user's answer on the consent page: allowing remembers it and returns to the app
    /// with a code; denying returns `access_denied`.
    pub async fn consent(
        &self,
        query: &str,
        signed_in: &SignedIn,
        allow: bool,
    ) -> OidcResult<Step> {
        self.decide(query, Some(signed_in), Some(allow)).await
    }

    async fn decide(
        &self,
        query: &str,
        signed_in: Option<&SignedIn>,
        answer: Option<bool>,
    ) -> OidcResult<Step> {
        if query.len() > MAX_QUERY {
            return Err(OidcError::BadAuthorizationRequest(format!(
                "the request is longer than {} KiB",
                MAX_QUERY / 1024
            )));
        }
        let params = Params::parse(query.as_bytes());
        let (client, redirect_uri) = self.client_and_redirect(&params).await?;
        let request = match parse(&params, client, redirect_uri.clone()) {
            Ok(request) => request,
            Err((refusal, state)) => {
                return Ok(Step::Redirect(self.back(
                    &redirect_uri,
                    state.as_deref(),
                    Err(refusal),
                )))
            }
        };
        match self.next(&request, signed_in, answer).await? {
            Ok(step) => Ok(step),
            Err(refusal) => Ok(Step::Redirect(self.back(
                &request.redirect_uri,
                request.state.as_deref(),
                Err(refusal),
            ))),
        }
    }

    /// The first stage: the app and the redirect URI, which must match one registered
    /// exactly.
    async fn client_and_redirect(&self, params: &Params) -> OidcResult<(ClientRecord, String)> {
        let bad = OidcError::BadAuthorizationRequest;
        let client_id = params
            .get("client_id")
            .map_err(bad)?
            .ok_or_else(|| bad("the request names no app (`client_id`)".into()))?;
        let Some(client) = self.clients.find_client(client_id).await? else {
            return Err(bad(
                "the app that sent you here is not registered with this service".into(),
            ));
        };
        let redirect_uri = params
            .get("redirect_uri")
            .map_err(bad)?
            .ok_or_else(|| bad("the request has no `redirect_uri`".into()))?;
        if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
            return Err(bad(format!(
                "`{redirect_uri}` is not a redirect URI registered for {}",
                client.name
            )));
        }
        let redirect_uri = redirect_uri.to_owned();
        Ok((client, redirect_uri))
    }

    async fn next(
        &self,
        request: &Request,
        signed_in: Option<&SignedIn>,
        answer: Option<bool>,
    ) -> OidcResult<Result<Step, Refusal>> {
        let now = self.clock.now();
        let session = signed_in
            .map(|s| &s.found)
            .filter(|found| !found.user.disabled);
        let Some(found) = session else {
            return Ok(if request.prompt.none {
                Err(refuse("login_required", "the user is not signed in"))
            } else {
                Ok(Step::Login { signed_in: false })
            });
        };
        let auth_time = found.session.authenticated_at;
        let age = now - auth_time;
        let fresh = age <= FRESH_LOGIN;
        let too_old = request
            .max_age
            .is_some_and(|max| age > Duration::from_secs(max));
        if !fresh && (request.prompt.login || too_old) {
            return Ok(if request.prompt.none {
                Err(refuse("login_required", "a fresh login is needed"))
            } else {
                Ok(Step::Login { signed_in: true })
            });
        }
        let user_id = &found.user.id;
        match answer {
            Some(false) => return Ok(Err(refuse("access_denied", "the user said no"))),
            Some(true) => {
                let scope = match self
                    .grants
                    .find_consent(user_id, &request.client.id)
                    .await?
                {
                    Some(old) => union(&old.scope, &request.scope),
                    None => request.scope.clone(),
                };
                self.grants
                    .set_consent(&ConsentRecord {
                        user_id: user_id.clone(),
                        client_id: request.client.id.clone(),
                        scope,
                        granted_at: now,
                    })
                    .await?;
            }
            None => {
                let consented = request.client.trusted
                    || (!request.prompt.consent
                        && self
                            .grants
                            .find_consent(user_id, &request.client.id)
                            .await?
                            .is_some_and(|c| scopes_within(&request.scope, &c.scope)));
                if !consented {
                    return Ok(if request.prompt.none {
                        Err(refuse(
                            "consent_required",
                            "the user has not allowed this app",
                        ))
                    } else {
                        Ok(Step::Consent {
                            client_id: request.client.id.clone(),
                            client_name: request.client.name.clone(),
                            scopes: known_scopes(&request.scope),
                        })
                    });
                }
            }
        }
        // Sessions from before methods were recorded logged in with a password.
        let mut amr: Vec<&str> = found
            .session
            .amr
            .split(' ')
            .filter(|s| !s.is_empty())
            .collect();
        if amr.is_empty() {
            amr.push("pwd");
        }
        let scope_covered =
            |c: Option<ConsentRecord>| c.is_some_and(|c| scopes_within(&request.scope, &c.scope));
        if request.client.trusted
            && !scope_covered(
                self.grants
                    .find_consent(user_id, &request.client.id)
                    .await?,
            )
        {
            // No page was shown, but the app is listed (and revocable) on Apps and devices.
            self.grants
                .set_consent(&ConsentRecord {
                    user_id: user_id.clone(),
                    client_id: request.client.id.clone(),
                    scope: request.scope.clone(),
                    granted_at: now,
                })
                .await?;
        }
        // The grant exists from the code on, for a minute until the exchange extends it: so
        // revoking (the app, or a replayed code) also voids codes not yet exchanged.
        let grant_id = random_hex(16);
        self.grants
            .insert_grant(&GrantRecord {
                id: grant_id.clone(),
                client_id: request.client.id.clone(),
                user_id: user_id.clone(),
                scope: request.scope.clone(),
                auth_time,
                amr: amr.join(" "),
                created_at: now,
                expires_at: now + CODE_TTL,
                generation: found.user.session_generation,
            })
            .await?;
        let code = OauthToken::generate();
        let data = json!({
            "redirect_uri": request.redirect_uri,
            "nonce": request.nonce,
            "challenge": request.challenge,
        });
        self.grants
            .insert_token(
                &TokenRecord {
                    token_hash: code.store_key(),
                    kind: TokenKind::Code,
                    grant_id,
                    client_id: request.client.id.clone(),
                    user_id: user_id.clone(),
                    scope: request.scope.clone(),
                    expires_at: now + CODE_TTL,
                    used: false,
                    data: Some(data.to_string()),
                },
                now,
            )
            .await?;
        tracing::info!(target: "audit", action = "oidc_authorize", outcome = "ok",
            user = %found.user.name, client = %request.client.id, "audit");
        Ok(Ok(Step::Redirect(self.back(
            &request.redirect_uri,
            request.state.as_deref(),
            Ok(code.as_str()),
        ))))
    }

    /// The redirect URI with the code (or the error), the state and our issuer (RFC 9207).
    fn back(
        &self,
        redirect_uri: &str,
        state: Option<&str>,
        outcome: Result<&str, Refusal>,
    ) -> String {
        let Ok(mut url) = url::Url::parse(redirect_uri) else {
            // Registered URIs are checked when the app is added; this cannot happen.
            return redirect_uri.to_owned();
        };
        {
            let mut q = url.query_pairs_mut();
            match outcome {
                Ok(code) => {
                    q.append_pair("code", code);
                }
                Err(refusal) => {
                    q.append_pair("error", refusal.error);
                    q.append_pair("error_description", &refusal.description);
                }
            }
            if let Some(state) = state {
                q.append_pair("state", state);
            }
            q.append_pair("iss", &self.issuer);
        }
        url.into()
    }
}

/// The second stage: everything but the app and the redirect URI. On error, the refusal and
/// the state to send back with it.
fn parse(
    params: &Params,
    client: ClientRecord,
    redirect_uri: String,
) -> Result<Request, (Refusal, Option<String>)> {
    // A state too long to send back is not sent back.
    let state = params
        .get("state")
        .ok()
        .flatten()
        .filter(|s| s.len() <= MAX_ECHO)
        .map(str::to_owned);
    let fail = |r: Refusal| (r, state.clone());
    let get = |name: &str| {
        params
            .get(name)
            .map_err(|why| fail(refuse("invalid_request", why)))
    };
    if params.get("state").is_err() {
        return Err(fail(refuse(
            "invalid_request",
            "`state` was sent more than once",
        )));
    }
    if params
        .get("state")
        .ok()
        .flatten()
        .is_some_and(|s| s.len() > MAX_ECHO)
    {
        return Err(fail(refuse("invalid_request", "`state` is too long")));
    }
    if get("request")?.is_some() {
        return Err(fail(refuse(
            "request_not_supported",
            "request objects are not supported",
        )));
    }
    if get("request_uri")?.is_some() {
        return Err(fail(refuse(
            "request_uri_not_supported",
            "request_uri is not supported",
        )));
    }
    match get("response_type")? {
        Some("code") => {}
        Some(_) => {
            return Err(fail(refuse(
                "unsupported_response_type",
                "only the authorization code flow (`response_type=code`) is supported",
            )))
        }
        None => {
            return Err(fail(refuse(
                "invalid_request",
                "`response_type` is required",
            )))
        }
    }
    if let Some(mode) = get("response_mode")? {
        if mode != "query" {
            return Err(fail(refuse(
                "invalid_request",
                "only `response_mode=query` is supported",
            )));
        }
    }
    let asked = get("scope")?.unwrap_or("");
    if !asked.split(' ').any(|s| s == "openid") {
        return Err(fail(refuse(
            "invalid_scope",
            "`scope` must include `openid`",
        )));
    }
    let scope = known_scopes(asked).join(" ");
    let nonce = get("nonce")?.map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_ECHO) {
        return Err(fail(refuse("invalid_request", "`nonce` is too long")));
    }
    let challenge = get("code_challenge")?.map(str::to_owned);
    match (get("code_challenge_method")?, &challenge) {
        (Some("S256"), Some(_)) => {}
        (None, Some(_)) | (Some(_), Some(_)) => {
            return Err(fail(refuse(
                "invalid_request",
                "`code_challenge_method` must be `S256`",
            )))
        }
        (Some(_), None) => {
            return Err(fail(refuse(
                "invalid_request",
                "`code_challenge` is missing",
            )))
        }
        (None, None) => {}
    }
    if let Some(c) = &challenge {
        // RFC 7636 4.2: S256 of a verifier is 43 base64url characters.
        if c.len() != 43
            || !c
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(fail(refuse(
                "invalid_request",
                "`code_challenge` is not an S256 challenge",
            )));
        }
    }
    if client.secret_hash.is_none() && challenge.is_none() {
        return Err(fail(refuse(
            "invalid_request",
            "this app is public: PKCE (`code_challenge` with S256) is required",
        )));
    }
    let mut prompt = Prompt::default();
    for value in get("prompt")?
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
    {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => {}
            other => {
                return Err(fail(refuse(
                    "invalid_request",
                    format!("unknown `prompt` value `{other}`"),
                )))
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(fail(refuse(
            "invalid_request",
            "`prompt=none` cannot be combined with other values",
        )));
    }
    let max_age = match get("max_age")? {
        Some(v) => Some(v.parse::<u64>().map_err(|_| {
            fail(refuse(
                "invalid_request",
                "`max_age` must be a number of seconds",
            ))
        })?),
        None => None,
    };
    Ok(Request {
        client,
        redirect_uri,
        state,
        scope,
        nonce,
        challenge,
        prompt,
        max_age,
    })
}

/// Both scope lists, known scopes only, in a fixed order.
fn union(a: &str, b: &str) -> String {
    known_scopes(&format!("{a} {b}")).join(" ")
}

/// The S256 challenge of a PKCE verifier (RFC 7636 4.2).
pub(super) fn s256(verifier: &str) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// What a code carries from the authorization to its exchange (when and how the user logged
/// in is on its grant).
#[derive(Debug, serde::Deserialize)]
pub(super) struct CodeData {
    pub redirect_uri: String,
    pub nonce: Option<String>,
    pub challenge: Option<String>,
}

/// An OAuth `invalid_request` with this description.
pub(super) fn invalid_request(why: impl Into<String>) -> OidcError {
    OidcError::protocol(OauthError::InvalidRequest, why)
}
