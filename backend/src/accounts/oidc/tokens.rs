//! The token endpoint (authorization code and refresh token grants), userinfo,
//! introspection (RFC 7662) and revocation (RFC 7009), and the ID token.
//!
//! Codes and refresh tokens work once (a conditional write). A second use is a sign that one
//! leaked: it revokes the grant, and with it every token issued from the same code.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{
    authorize::{invalid_request, s256, CodeData},
    keys::Alg,
    scopes_within, OauthError, Oidc, OidcError, OidcResult, Params, ACCESS_TTL, ID_TOKEN_TTL,
    REFRESH_TTL,
};
use crate::{
    ids::{hex, random_hex},
    store::{ClientRecord, GrantRecord, TokenKind, TokenRecord, TokenUse, UserRecord},
    token::OauthToken,
};

/// A token endpoint reply (RFC 6749 5.1).
#[derive(Debug, Clone)]
pub struct TokenReply(pub Value);

fn invalid_grant(why: impl Into<String>) -> OidcError {
    OidcError::protocol(OauthError::InvalidGrant, why)
}

/// The account's sessions were revoked (a password change, an operator) after the user
/// authorized: what they authorized goes with them.
fn revoked_since() -> OidcError {
    invalid_grant("the account's password was changed or its sessions revoked since")
}

fn invalid_client(why: impl Into<String>) -> OidcError {
    OidcError::protocol(OauthError::InvalidClient, why)
}

/// The SHA-256 a client secret is stored as.
pub(super) fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// How a request authenticated its app.
enum ClientAuth {
    /// A secret (Basic or in the body).
    Secret(String),
    /// Only the id: a public app.
    None,
}

impl Oidc {
    /// The app behind a token, introspection or revocation request: `client_secret_basic`
    /// (the `Authorization` header), `client_secret_post`, or `none` for public apps.
    async fn authenticate(
        &self,
        authorization: Option<&str>,
        params: &Params,
        allow_public: bool,
    ) -> OidcResult<ClientRecord> {
        let form_id = params.one("client_id")?;
        let form_secret = params.one("client_secret")?;
        let (id, auth) = match authorization {
            Some(header) => {
                if form_secret.is_some() {
                    return Err(invalid_request(
                        "authenticate the app one way: Basic or client_secret, not both",
                    ));
                }
                let (id, secret) = basic(header).ok_or_else(|| {
                    invalid_client("the Authorization header is not Basic credentials")
                })?;
                if form_id.is_some_and(|f| f != id) {
                    return Err(invalid_request(
                        "client_id differs from the Basic credentials",
                    ));
                }
                (id, ClientAuth::Secret(secret))
            }
            None => {
                let id = form_id
                    .ok_or_else(|| invalid_client("no app credentials were sent"))?
                    .to_owned();
                match form_secret {
                    Some(secret) => (id, ClientAuth::Secret(secret.to_owned())),
                    None => (id, ClientAuth::None),
                }
            }
        };
        let client = self
            .clients
            .find_client(&id)
            .await?
            .ok_or_else(|| invalid_client("unknown app or wrong secret"))?;
        match (&client.secret_hash, auth) {
            (Some(hash), ClientAuth::Secret(secret)) if *hash == secret_hash(&secret) => Ok(client),
            (None, ClientAuth::None) if allow_public => Ok(client),
            (None, ClientAuth::Secret(_)) => Err(invalid_client(
                "this app is public: it has no secret to send",
            )),
            _ => Err(invalid_client("unknown app or wrong secret")),
        }
    }

    /// The token endpoint: `body` is the form, `authorization` the header if any.
    pub async fn token(&self, authorization: Option<&str>, body: &[u8]) -> OidcResult<TokenReply> {
        let params = Params::parse(body);
        let client = self.authenticate(authorization, &params, true).await?;
        match params.required("grant_type")? {
            "authorization_code" => self.exchange_code(&client, &params).await,
            "refresh_token" => self.refresh(&client, &params).await,
            other => Err(OidcError::protocol(
                OauthError::UnsupportedGrantType,
                format!("grant_type `{other}` is not supported"),
            )),
        }
    }

    /// Uses a single-use token up; a second use revokes its grant.
    async fn use_once(
        &self,
        raw: &str,
        kind: TokenKind,
        now: OffsetDateTime,
    ) -> OidcResult<TokenRecord> {
        let what = match kind {
            TokenKind::Code => "code",
            _ => "refresh token",
        };
        let Some(token) = OauthToken::parse(raw) else {
            return Err(invalid_grant(format!("the {what} is not valid")));
        };
        match self.grants.use_token(&token.store_key(), kind, now).await? {
            TokenUse::Used(t) => Ok(t),
            TokenUse::Reused(t) => Err(self.replayed(&t, what).await?),
            _ => Err(invalid_grant(format!(
                "the {what} is not valid: unknown, expired or revoked"
            ))),
        }
    }

    async fn exchange_code(
        &self,
        client: &ClientRecord,
        params: &Params,
    ) -> OidcResult<TokenReply> {
        let now = self.clock.now();
        let raw = params.required("code")?;
        let redirect_uri = params.required("redirect_uri")?;
        let verifier = params.one("code_verifier")?;
        let code = self.use_once(raw, TokenKind::Code, now).await?;
        if code.client_id != client.id {
            // Another app's code: it leaked. Revoke what it may have given.
            self.grants.delete_grant(&code.grant_id).await?;
            return Err(invalid_grant("this code was issued to another app"));
        }
        let data: CodeData = code
            .data
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .ok_or_else(|| OidcError::Internal("a code without its data".into()))?;
        if data.redirect_uri != redirect_uri {
            return Err(invalid_grant(
                "redirect_uri differs from the authorization request's",
            ));
        }
        match (&data.challenge, verifier) {
            (Some(challenge), Some(verifier)) if s256(verifier) == *challenge => {}
            (Some(_), Some(_)) => {
                return Err(invalid_grant("the PKCE code_verifier does not match"))
            }
            (Some(_), None) => return Err(invalid_grant("code_verifier is required (PKCE)")),
            (None, Some(_)) => {
                return Err(invalid_grant(
                    "code_verifier sent, but the request had no code_challenge",
                ))
            }
            (None, None) => {}
        }
        let user = self.active_user(&code.user_id).await?;
        let offline = code.scope.split(' ').any(|s| s == "offline_access");
        // The grant was made with the code; it lives on as long as its tokens may. Gone, it
        // was revoked meanwhile (the app, or a replay of this code).
        let expires_at = now + if offline { REFRESH_TTL } else { ACCESS_TTL };
        let grant = match self.grants.find_grant(&code.grant_id, now).await? {
            Some(grant) if grant.generation != user.session_generation => {
                self.grants.delete_grant(&grant.id).await?;
                return Err(revoked_since());
            }
            Some(grant) if self.grants.extend_grant(&grant.id, expires_at).await? => grant,
            _ => return Err(invalid_grant("this authorization was revoked")),
        };
        tracing::info!(target: "audit", action = "oidc_token", outcome = "code",
            user = %user.name, client = %client.id, "audit");
        let (records, reply) = self
            .issue(
                client,
                &user,
                &grant,
                &grant.scope,
                data.nonce.as_deref(),
                now,
            )
            .await?;
        for t in &records {
            self.grants.insert_token(t, now).await?;
        }
        // A revocation that landed meanwhile (a replay of this code on another request) must
        // not leave these tokens working: they check their grant, and it is gone.
        Ok(reply)
    }

    /// A refresh: everything is checked and the new tokens made first, then one write uses
    /// the old token up, stores the new ones and extends the grant (of two refreshes with
    /// one token, that write decides which wins; the other revokes the grant).
    async fn refresh(&self, client: &ClientRecord, params: &Params) -> OidcResult<TokenReply> {
        let now = self.clock.now();
        let raw = params.required("refresh_token")?;
        let asked = params.one("scope")?;
        let unknown =
            || invalid_grant("the refresh token is not valid: unknown, expired or revoked");
        let token = OauthToken::parse(raw).ok_or_else(unknown)?;
        let hash = token.store_key();
        let old = self
            .grants
            .find_token(&hash, now)
            .await?
            .filter(|t| t.kind == TokenKind::Refresh)
            .ok_or_else(unknown)?;
        if old.used {
            return Err(self.replayed(&old, "refresh token").await?);
        }
        if old.client_id != client.id {
            self.grants.delete_grant(&old.grant_id).await?;
            return Err(invalid_grant(
                "this refresh token was issued to another app",
            ));
        }
        let grant = self
            .grants
            .find_grant(&old.grant_id, now)
            .await?
            .ok_or_else(|| invalid_grant("this grant was revoked"))?;
        // A scope it cannot have is refused before the token is spent: a retry without it
        // must not look like a replay.
        let scope = match asked {
            Some(asked) if !scopes_within(asked, &grant.scope) => {
                return Err(OidcError::protocol(
                    OauthError::InvalidScope,
                    "a refresh cannot widen the scope that was granted",
                ))
            }
            Some(asked) => super::known_scopes(asked).join(" "),
            None => old.scope.clone(),
        };
        let user = match self.active_user(&grant.user_id).await {
            Ok(user) if user.session_generation == grant.generation => user,
            Ok(_) => {
                self.grants.delete_grant(&grant.id).await?;
                return Err(revoked_since());
            }
            Err(e) => {
                self.grants.delete_grant(&grant.id).await?;
                return Err(e);
            }
        };
        let (records, reply) = self.issue(client, &user, &grant, &scope, None, now).await?;
        match self
            .grants
            .refresh(&hash, &records, now + REFRESH_TTL, now)
            .await?
        {
            TokenUse::Used(_) => Ok(reply),
            TokenUse::Reused(t) => Err(self.replayed(&t, "refresh token").await?),
            TokenUse::Unknown => Err(unknown()),
        }
    }

    /// A single-use token used again: its grant is revoked. The error to answer with.
    async fn replayed(&self, t: &TokenRecord, what: &str) -> OidcResult<OidcError> {
        let revoked = self.grants.delete_grant(&t.grant_id).await?;
        tracing::warn!(target: "audit", action = "oidc_token_reuse", outcome = "revoked",
            client = %t.client_id, kind = what, revoked, "audit");
        Ok(invalid_grant(format!(
            "this {what} was used before: every token issued from it is revoked"
        )))
    }

    /// The account, unless it was deleted or disabled since.
    async fn active_user(&self, user_id: &str) -> OidcResult<UserRecord> {
        match self.users.find_user_by_id(user_id).await? {
            Some(user) if !user.disabled => Ok(user),
            Some(_) => Err(invalid_grant("the account is disabled")),
            None => Err(invalid_grant("the account no longer exists")),
        }
    }

    /// An access token, a refresh token (with `offline_access`) and an ID token: the records
    /// for the caller to store, and the reply.
    async fn issue(
        &self,
        client: &ClientRecord,
        user: &UserRecord,
        grant: &GrantRecord,
        scope: &str,
        nonce: Option<&str>,
        now: OffsetDateTime,
    ) -> OidcResult<(Vec<TokenRecord>, TokenReply)> {
        let access = OauthToken::generate();
        let token = |t: &OauthToken, kind, ttl| TokenRecord {
            token_hash: t.store_key(),
            kind,
            grant_id: grant.id.clone(),
            client_id: client.id.clone(),
            user_id: user.id.clone(),
            scope: scope.to_owned(),
            expires_at: now + ttl,
            used: false,
            data: None,
        };
        let mut records = vec![token(&access, TokenKind::Access, ACCESS_TTL)];
        let refresh = if scope.split(' ').any(|s| s == "offline_access") {
            let refresh = OauthToken::generate();
            records.push(token(&refresh, TokenKind::Refresh, REFRESH_TTL));
            Some(refresh)
        } else {
            None
        };
        let mut claims = self.claims(user, scope).await?;
        claims.insert("iss".into(), json!(&*self.issuer));
        claims.insert("aud".into(), json!(client.id));
        claims.insert("iat".into(), json!(now.unix_timestamp()));
        claims.insert("exp".into(), json!((now + ID_TOKEN_TTL).unix_timestamp()));
        claims.insert("auth_time".into(), json!(grant.auth_time.unix_timestamp()));
        claims.insert(
            "amr".into(),
            json!(grant
                .amr
                .split(' ')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()),
        );
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        let alg = Alg::parse(&client.signing_alg).unwrap_or(Alg::Rs256);
        let key = self.keys.signer(alg).await?;
        let id_token = key.sign_jwt(&Value::Object(claims))?;
        let mut reply = json!({
            "access_token": access.as_str(),
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL.as_secs(),
            "id_token": id_token,
            "scope": scope,
        });
        if let Some(refresh) = refresh {
            reply["refresh_token"] = json!(refresh.as_str());
        }
        Ok((records, TokenReply(reply)))
    }

    /// The claims about `user` that `scope` allows, with `sub`.
    async fn claims(&self, user: &UserRecord, scope: &str) -> OidcResult<Map<String, Value>> {
        let has = |s: &str| scope.split(' ').any(|x| x == s);
        let mut claims = Map::new();
        claims.insert("sub".into(), json!(user.id));
        claims.insert("preferred_username".into(), json!(user.display_name));
        if has("profile") {
            claims.insert("name".into(), json!(user.display_name));
        }
        if has("email") {
            if let Some(email) = &user.email {
                claims.insert("email".into(), json!(email));
                claims.insert("email_verified".into(), json!(user.email_verified));
            }
        }
        if has("groups") {
            claims.insert(
                "groups".into(),
                json!(self.groups.user_groups(&user.id).await?),
            );
        }
        Ok(claims)
    }

    /// The access token's record, its grant and account, if all are still valid.
    async fn access(&self, raw: &str) -> OidcResult<Option<(TokenRecord, UserRecord)>> {
        let now = self.clock.now();
        let Some(token) = OauthToken::parse(raw) else {
            return Ok(None);
        };
        let Some(t) = self.grants.find_access(&token.store_key(), now).await? else {
            return Ok(None);
        };
        match self.users.find_user_by_id(&t.user_id).await? {
            Some(user) if !user.disabled => Ok(Some((t, user))),
            _ => Ok(None),
        }
    }

    /// The userinfo endpoint: the claims the access token's scopes allow.
    pub async fn userinfo(&self, bearer: Option<&str>) -> OidcResult<Value> {
        let invalid =
            || OidcError::protocol(OauthError::InvalidToken, "the access token is not valid");
        let raw = bearer.ok_or_else(invalid)?;
        let (t, user) = self.access(raw).await?.ok_or_else(invalid)?;
        Ok(Value::Object(self.claims(&user, &t.scope).await?))
    }

    /// Introspection (RFC 7662), for the app the token was issued to.
    pub async fn introspect(&self, authorization: Option<&str>, body: &[u8]) -> OidcResult<Value> {
        let params = Params::parse(body);
        let client = self.authenticate(authorization, &params, false).await?;
        let raw = params.required("token")?;
        let now = self.clock.now();
        let inactive = json!({ "active": false });
        let Some(token) = OauthToken::parse(raw) else {
            return Ok(inactive);
        };
        let Some(t) = self.grants.find_token(&token.store_key(), now).await? else {
            return Ok(inactive);
        };
        let valid = t.client_id == client.id
            && !t.used
            && t.kind != TokenKind::Code
            && self.grants.find_grant(&t.grant_id, now).await?.is_some();
        let user = match self.users.find_user_by_id(&t.user_id).await? {
            Some(user) if valid && !user.disabled => user,
            _ => return Ok(inactive),
        };
        Ok(json!({
            "active": true,
            "scope": t.scope,
            "client_id": t.client_id,
            "username": user.display_name,
            "sub": user.id,
            "aud": t.client_id,
            "iss": &*self.issuer,
            "exp": t.expires_at.unix_timestamp(),
            "token_type": if t.kind == TokenKind::Access { "Bearer" } else { "refresh_token" },
        }))
    }

    /// Revocation (RFC 7009): a refresh token revokes its whole grant, an access token
    /// itself. Unknown tokens and other apps' tokens are ignored (the answer is the same).
    pub async fn revoke(&self, authorization: Option<&str>, body: &[u8]) -> OidcResult<()> {
        let params = Params::parse(body);
        let client = self.authenticate(authorization, &params, true).await?;
        let raw = params.required("token")?;
        let Some(token) = OauthToken::parse(raw) else {
            return Ok(());
        };
        let now = self.clock.now();
        if let Some(t) = self.grants.find_token(&token.store_key(), now).await? {
            if t.client_id == client.id {
                match t.kind {
                    TokenKind::Refresh => {
                        self.grants.delete_grant(&t.grant_id).await?;
                    }
                    _ => {
                        self.grants.delete_token(&t.token_hash).await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The account an ID token (from us, for one of our apps; expired or not) names, with
    /// that app's id: for logout's `id_token_hint`.
    pub async fn id_token_subject(&self, jwt: &str) -> OidcResult<Option<(String, String)>> {
        let Some(claims) = self.keys.verify_jwt(jwt).await? else {
            return Ok(None);
        };
        if claims["iss"].as_str() != Some(&*self.issuer) {
            return Ok(None);
        }
        Ok(match (claims["sub"].as_str(), claims["aud"].as_str()) {
            (Some(sub), Some(aud)) => Some((sub.to_owned(), aud.to_owned())),
            _ => None,
        })
    }

    /// A new client secret: 256 random bits, hex.
    pub(super) fn new_secret() -> (String, String) {
        let secret = random_hex(32);
        let hash = secret_hash(&secret);
        (secret, hash)
    }
}

/// The id and secret of `Authorization: Basic ...`, each form-urlencoded (RFC 6749 2.3.1).
fn basic(header: &str) -> Option<(String, String)> {
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(value.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}
