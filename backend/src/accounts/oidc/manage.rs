//! What operators do with the provider (apps, groups, signing keys), and what users see of
//! it (the apps they allowed, their signed-in sessions).

use std::time::Duration;

use accounts_api::UserName;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{keys::Alg, tokens::secret_hash, Oidc, OidcError, OidcResult};
use crate::{
    accounts::SignedIn,
    ids::{hex, random_hex},
    store::{ClientRecord, SessionRecord, StoreError, UserRecord},
};

/// A new app, as an operator describes it.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    /// Shown on the consent page.
    pub name: String,
    /// Where codes may go (at least one).
    pub redirect_uris: Vec<String>,
    /// Where logout may return to.
    pub post_logout_uris: Vec<String>,
    /// No secret: PKCE only (apps in a browser or on a device).
    pub public: bool,
    /// No consent page.
    pub trusted: bool,
    /// `RS256` (default), `ES256` or `EdDSA`.
    pub signing_alg: Option<String>,
}

/// An app as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientView {
    /// The client id.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// Its redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Its post-logout URIs.
    pub post_logout_uris: Vec<String>,
    /// Public (no secret).
    pub public: bool,
    /// No consent page.
    pub trusted: bool,
    /// How its ID tokens are signed.
    pub signing_alg: String,
    /// When it was added.
    pub created_at: OffsetDateTime,
}

impl From<ClientRecord> for ClientView {
    fn from(c: ClientRecord) -> Self {
        Self {
            client_id: c.id,
            name: c.name,
            redirect_uris: c.redirect_uris,
            post_logout_uris: c.post_logout_uris,
            public: c.secret_hash.is_none(),
            trusted: c.trusted,
            signing_alg: c.signing_alg,
            created_at: c.created_at,
        }
    }
}

/// An app the user allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppView {
    /// The app's id.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// What it may do (scopes).
    pub scopes: Vec<String>,
    /// When the user allowed it.
    pub granted_at: OffsetDateTime,
}

/// One of the user's signed-in sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// An id for revoking it (not the token, nor its hash).
    pub id: String,
    /// "Firefox on Linux".
    pub browser: String,
    /// The network it signed in from.
    pub ip_prefix: String,
    /// When it signed in.
    pub signed_in_at: OffsetDateTime,
    /// When its holder last proved who they are.
    pub authenticated_at: OffsetDateTime,
    /// When it was last used.
    pub last_seen_at: OffsetDateTime,
    /// The session asking.
    pub current: bool,
}

fn operator(why: impl Into<String>) -> OidcError {
    OidcError::Operator(why.into())
}

/// A redirect URI an app may register: an absolute http(s) URL without a fragment.
fn check_uri(uri: &str) -> OidcResult<()> {
    let url = url::Url::parse(uri).map_err(|e| operator(format!("`{uri}` is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(operator(format!(
            "`{uri}` must be an http or https URL with a host"
        )));
    }
    if url.fragment().is_some() {
        return Err(operator(format!("`{uri}` must not have a fragment (#...)")));
    }
    Ok(())
}

/// A group name: 1 to 64 letters, digits, `.`, `_` or `-`.
fn check_group(name: &str) -> OidcResult<()> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(operator(format!(
            "`{name}` is not a group name: use 1 to 64 letters, digits, `.`, `_` or `-`"
        )));
    }
    Ok(())
}

/// A session's public id: derived from its hash, so it names it without being a credential.
fn session_id(s: &SessionRecord) -> String {
    hex(&Sha256::digest(
        format!("session-id:{}", s.token_hash).as_bytes(),
    ))[..20]
        .to_owned()
}

impl Oidc {
    /// Registers an app. Returns it and, for a confidential app, its secret (shown once:
    /// only its hash is kept).
    pub async fn add_client(&self, new: NewClient) -> OidcResult<(ClientView, Option<String>)> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(operator(
                "the app's name must be 1 to 100 characters, no control characters",
            ));
        }
        if new.redirect_uris.is_empty() {
            return Err(operator("give at least one --redirect-uri"));
        }
        for uri in new.redirect_uris.iter().chain(&new.post_logout_uris) {
            check_uri(uri)?;
        }
        let alg = match new.signing_alg.as_deref() {
            None => Alg::Rs256,
            Some(a) => Alg::parse(a)
                .ok_or_else(|| operator(format!("`{a}` is not RS256, ES256 or EdDSA")))?,
        };
        let (secret, hash) = if new.public {
            (None, None)
        } else {
            let (secret, hash) = Oidc::new_secret();
            (Some(secret), Some(hash))
        };
        let record = ClientRecord {
            id: random_hex(16),
            name: name.to_owned(),
            secret_hash: hash,
            redirect_uris: new.redirect_uris,
            post_logout_uris: new.post_logout_uris,
            trusted: new.trusted,
            signing_alg: alg.as_str().to_owned(),
            created_at: self.clock.now(),
        };
        self.clients.insert_client(&record).await?;
        Ok((record.into(), secret))
    }

    /// Every app.
    pub async fn clients(&self) -> OidcResult<Vec<ClientView>> {
        Ok(self
            .clients
            .clients()
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// One app.
    pub async fn client(&self, id: &str) -> OidcResult<ClientView> {
        self.clients
            .find_client(id)
            .await?
            .map(Into::into)
            .ok_or_else(|| operator(format!("no app has the client id `{id}`")))
    }

    /// Removes an app, every grant and token it holds, and every consent to it. How many
    /// grants were revoked.
    pub async fn remove_client(&self, id: &str) -> OidcResult<u64> {
        if !self.clients.delete_client(id).await? {
            return Err(operator(format!("no app has the client id `{id}`")));
        }
        Ok(self.grants.delete_client_grants(id).await?)
    }

    /// A new secret for a confidential app (the old one stops working).
    pub async fn rotate_client_secret(&self, id: &str) -> OidcResult<String> {
        let client = self.client(id).await?;
        if client.public {
            return Err(operator(format!(
                "{} is a public app: it has no secret",
                client.name
            )));
        }
        let (secret, hash) = Oidc::new_secret();
        debug_assert_eq!(hash, secret_hash(&secret));
        self.clients.set_client_secret(id, &hash).await?;
        Ok(secret)
    }

    async fn user_named(&self, name: &str) -> OidcResult<UserRecord> {
        let parsed =
            UserName::parse(name).map_err(|_| operator(format!("no account is named `{name}`")))?;
        self.users
            .find_user(parsed.canonical())
            .await?
            .ok_or_else(|| operator(format!("no account is named `{name}`")))
    }

    /// Makes a group.
    pub async fn add_group(&self, name: &str) -> OidcResult<()> {
        check_group(name)?;
        match self.groups.insert_group(name).await {
            Err(StoreError::Duplicate) => {
                Err(operator(format!("there is already a group `{name}`")))
            }
            other => Ok(other?),
        }
    }

    /// Removes a group.
    pub async fn remove_group(&self, name: &str) -> OidcResult<()> {
        if self.groups.delete_group(name).await? {
            Ok(())
        } else {
            Err(operator(format!("there is no group `{name}`")))
        }
    }

    /// Adds the account named `user` to the group. Returns the account's display name.
    pub async fn add_member(&self, group: &str, user: &str) -> OidcResult<String> {
        let user = self.user_named(user).await?;
        if !self.groups.add_group_member(group, &user.id).await? {
            return Err(operator(format!("there is no group `{group}`")));
        }
        Ok(user.display_name)
    }

    /// Takes the account named `user` out of the group. Returns its display name.
    pub async fn remove_member(&self, group: &str, user: &str) -> OidcResult<String> {
        let user = self.user_named(user).await?;
        if !self.groups.remove_group_member(group, &user.id).await? {
            return Err(operator(format!(
                "{} is not in a group `{group}`",
                user.display_name
            )));
        }
        Ok(user.display_name)
    }

    /// Every group with its members' names.
    pub async fn groups(&self) -> OidcResult<Vec<(String, Vec<String>)>> {
        let mut out = Vec::new();
        for g in self.groups.groups().await? {
            let mut names = Vec::new();
            for id in &g.members {
                if let Some(u) = self.users.find_user_by_id(id).await? {
                    names.push(u.display_name);
                }
            }
            names.sort();
            out.push((g.name, names));
        }
        Ok(out)
    }

    /// The groups of an account, by id.
    pub async fn user_groups(&self, user_id: &str) -> OidcResult<Vec<String>> {
        Ok(self.groups.user_groups(user_id).await?)
    }

    /// New signing keys, published now and signing `lead` from now. Returns each new key's
    /// id, algorithm and when it starts signing.
    pub async fn rotate_keys(
        &self,
        lead: Duration,
    ) -> OidcResult<Vec<(String, &'static str, OffsetDateTime)>> {
        Ok(self
            .keys
            .rotate(lead)
            .await?
            .iter()
            .map(|k| (k.kid.clone(), k.alg.as_str(), k.active_from))
            .collect())
    }

    /// The apps the signed-in user allowed.
    pub async fn apps(&self, signed_in: &SignedIn) -> OidcResult<Vec<AppView>> {
        let mut out = Vec::new();
        for consent in self.grants.user_consents(&signed_in.found.user.id).await? {
            let Some(client) = self.clients.find_client(&consent.client_id).await? else {
                continue;
            };
            out.push(AppView {
                client_id: client.id,
                name: client.name,
                scopes: consent.scope.split(' ').map(str::to_owned).collect(),
                granted_at: consent.granted_at,
            });
        }
        Ok(out)
    }

    /// Drops the user's consent to an app and revokes every token it holds for them. Whether
    /// there was anything to revoke.
    pub async fn revoke_app(&self, signed_in: &SignedIn, client_id: &str) -> OidcResult<bool> {
        let user_id = &signed_in.found.user.id;
        let consents = self
            .grants
            .delete_consents(user_id, Some(client_id))
            .await?;
        let grants = self
            .grants
            .delete_user_grants(user_id, Some(client_id))
            .await?;
        tracing::info!(target: "audit", action = "oidc_revoke_app", outcome = "ok",
            user = %signed_in.found.user.name, client = ?client_id, grants, "audit");
        Ok(consents + grants > 0)
    }

    /// The signed-in user's sessions, oldest first.
    pub async fn sessions(&self, signed_in: &SignedIn) -> OidcResult<Vec<SessionView>> {
        let now = self.clock.now();
        let current = &signed_in.found.session.token_hash;
        Ok(self
            .sessions
            .user_sessions(&signed_in.found.user.id, now)
            .await?
            .into_iter()
            .map(|s| SessionView {
                id: session_id(&s),
                browser: if s.browser.is_empty() {
                    "Unknown browser".into()
                } else {
                    s.browser.clone()
                },
                ip_prefix: s.ip_prefix.clone(),
                signed_in_at: s.created_at,
                authenticated_at: s.authenticated_at,
                last_seen_at: s.last_seen_at,
                current: &s.token_hash == current,
            })
            .collect())
    }

    /// Revokes one of the signed-in user's sessions (by its id from [`Oidc::sessions`]), or
    /// with `id` `None` every one but the current. How many were revoked.
    pub async fn revoke_sessions(&self, signed_in: &SignedIn, id: Option<&str>) -> OidcResult<u64> {
        let now = self.clock.now();
        let current = &signed_in.found.session.token_hash;
        let mut revoked = 0;
        for s in self
            .sessions
            .user_sessions(&signed_in.found.user.id, now)
            .await?
        {
            let chosen = match id {
                Some(id) => session_id(&s) == id,
                None => &s.token_hash != current,
            };
            if chosen && self.sessions.delete_session(&s.token_hash).await?.is_some() {
                revoked += 1;
            }
        }
        Ok(revoked)
    }
}
