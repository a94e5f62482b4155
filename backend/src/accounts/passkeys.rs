//! Passkeys (WebAuthn), verified by webauthn-rs: registered and removed while signed in, within
//! the re-authentication window (see `reauth`), and listed; a login without a user name (a
//! discoverable credential, user verification required), complete on its own since it is
//! already two factors; and the same assertion as a re-authentication of the signed-in user.
//!
//! A registration's state is kept in the store for five minutes and taken out once. A login's
//! is not stored when it starts (anyone may start one, and a row per start let any web page
//! fill the store): it travels sealed with the server's key ([`Sealer`]) and bound to its
//! expiry, and only its finish, which spends the caller's login budget, writes a row, to
//! refuse a second use. Either way a finish may reach any instance and cannot be replayed.
//! The account behind a passkey is found by the credential id; the WebAuthn user handle is
//! the account id (16 random bytes).

use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Uuid,
};

use std::sync::Arc;

use super::{
    audit, credentials::Credentials, reauth::Reauth, sessions::SessionIssuer, AccountError,
    AccountResult, Client, LoggedIn, Proof, SignedIn,
};
use crate::{
    clock::{from_millis, to_millis},
    ids,
    store::{CeremonyStore, PasskeyRecord, PasskeyStore, StoreError, UserRecord, UserStore},
    throttle::Attempt,
    token::SessionToken,
};

/// How long a ceremony may take (WebAuthn's recommended timeout).
const CEREMONY_TTL: Duration = Duration::from_secs(300);
/// Longest passkey name, in characters.
const MAX_NAME: usize = 64;
/// What a login ceremony's seal is for.
const LOGIN_SEAL: &str = "passkey-login";

/// A login ceremony's state, as it travels sealed.
#[derive(serde::Serialize, serde::Deserialize)]
struct LoginCeremony {
    /// Random: names the ceremony once it is used.
    id: String,
    /// When it ends, in Unix milliseconds.
    expires_at: i64,
    state: DiscoverableAuthentication,
}

/// A ceremony started: its id (sent back with the result) and the options for the browser's
/// `navigator.credentials` call, as JSON.
#[derive(Debug, Clone)]
pub struct PasskeyCeremony {
    /// Random; names the stored state.
    pub id: String,
    /// `{"publicKey": {...}}` for `create()` or `get()`.
    pub options: Value,
}

/// A passkey as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyInfo {
    /// The credential id (base64url).
    pub id: String,
    /// What the owner called it.
    pub name: String,
    /// When it was added.
    pub created_at: OffsetDateTime,
    /// When it last logged in.
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<PasskeyRecord> for PasskeyInfo {
    fn from(r: PasskeyRecord) -> Self {
        Self {
            id: r.credential_id,
            name: r.name,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        }
    }
}

/// Passkeys: add, list, remove, log in.
#[derive(Clone)]
pub struct Passkeys {
    pub(super) credentials: Credentials,
    pub(super) issuer: SessionIssuer,
    pub(super) users: Arc<dyn UserStore>,
    pub(super) passkeys: Arc<dyn PasskeyStore>,
    pub(super) ceremonies: Arc<dyn CeremonyStore>,
    pub(super) reauth: Reauth,
    /// Security notices.
    pub(super) mailer: super::Mailer,
    /// The relying party; `None` when the public URL cannot be one.
    pub(super) webauthn: Option<Arc<webauthn_rs::Webauthn>>,
}

impl Passkeys {
    fn webauthn(&self) -> AccountResult<&webauthn_rs::Webauthn> {
        self.webauthn
            .as_deref()
            .ok_or(AccountError::PasskeysUnavailable)
    }

    /// Starts adding a passkey to the signed-in account, within the re-authentication window
    /// (or with `proof`, checked again).
    pub async fn start_registration(
        &self,
        signed_in: &SignedIn,
        proof: Option<Proof<'_>>,
        client: Client,
    ) -> AccountResult<PasskeyCeremony> {
        let webauthn = self.webauthn()?;
        let user = self
            .reauth
            .require("passkey_add", signed_in, proof, client)
            .await?;
        let existing = self
            .passkeys
            .user_passkeys(&user.id)
            .await?
            .iter()
            .filter_map(|p| serde_json::from_str::<Passkey>(&p.passkey).ok())
            .map(|p| p.cred_id().clone())
            .collect();
        let (challenge, state) = webauthn
            .start_passkey_registration(
                user_handle(&user.id),
                &user.name,
                &user.display_name,
                Some(existing),
            )
            .map_err(|e| AccountError::internal("starting a passkey registration", e))?;
        let mut options = to_json(&challenge)?;
        // A discoverable credential, so it can log in without a user name.
        options["publicKey"]["authenticatorSelection"]["residentKey"] = "required".into();
        options["publicKey"]["authenticatorSelection"]["requireResidentKey"] = true.into();
        let id = self
            .keep_ceremony(Some(&user.id), &to_json(&state)?)
            .await?;
        Ok(PasskeyCeremony { id, options })
    }

    /// Finishes adding a passkey: verifies the browser's answer (`credential`, its JSON) against
    /// the ceremony's state.
    pub async fn finish_registration(
        &self,
        signed_in: &SignedIn,
        ceremony: &str,
        name: &str,
        credential: &str,
        client: Client,
    ) -> AccountResult<PasskeyInfo> {
        let webauthn = self.webauthn()?;
        let name = passkey_name(name)?;
        // Still within the window: a ceremony started just before it closed must not stretch
        // it by the ceremony's lifetime.
        self.reauth
            .require("passkey_add", signed_in, None, client)
            .await?;
        let (owner, state) = self.take_ceremony(ceremony).await?;
        if owner.as_deref() != Some(signed_in.user().id.as_str()) {
            return Err(AccountError::InvalidPasskey);
        }
        let state: PasskeyRegistration = serde_json::from_str(&state)
            .map_err(|e| AccountError::internal("reading a ceremony", e))?;
        let credential: RegisterPublicKeyCredential =
            serde_json::from_str(credential).map_err(|_| AccountError::InvalidPasskey)?;
        let passkey = webauthn
            .finish_passkey_registration(&credential, &state)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey registration refused");
                AccountError::InvalidPasskey
            })?;
        let record = PasskeyRecord {
            credential_id: base64url(passkey.cred_id().as_ref()),
            user_id: signed_in.user().id.clone(),
            name,
            passkey: to_json(&passkey)?.to_string(),
            created_at: self.credentials.now(),
            last_used_at: None,
        };
        match self.passkeys.insert_passkey(&record).await {
            Ok(()) => {}
            Err(StoreError::Duplicate) => return Err(AccountError::InvalidPasskey),
            Err(e) => return Err(e.into()),
        }
        audit("passkey_add", "ok", &signed_in.user().name, client);
        self.mailer
            .notify(signed_in.user(), crate::mail::Notice::PasskeyAdded)
            .await;
        Ok(record.into())
    }

    /// The account's passkeys, oldest first.
    pub async fn list(&self, signed_in: &SignedIn) -> AccountResult<Vec<PasskeyInfo>> {
        Ok(self
            .passkeys
            .user_passkeys(&signed_in.user().id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Removes one of the signed-in account's passkeys, within the re-authentication window.
    pub async fn remove(
        &self,
        signed_in: &SignedIn,
        id: &str,
        client: Client,
    ) -> AccountResult<()> {
        self.reauth
            .require("passkey_remove", signed_in, None, client)
            .await?;
        if !self
            .passkeys
            .delete_passkey(&signed_in.user().id, id)
            .await?
        {
            return Err(AccountError::NoSuchPasskey);
        }
        audit("passkey_remove", "ok", &signed_in.user().name, client);
        Ok(())
    }

    /// Starts a login with a passkey: no user name, the browser offers the passkeys it has.
    /// Spends the caller's per-IP login budget; stores nothing.
    pub async fn start_login(&self, client: Client) -> AccountResult<PasskeyCeremony> {
        let webauthn = self.webauthn()?;
        self.credentials
            .throttle
            .spend_ip(Attempt::Credentials, client.ip, self.credentials.now())
            .await??;
        let (mut challenge, state) = webauthn
            .start_discoverable_authentication()
            .map_err(|e| AccountError::internal("starting a passkey login", e))?;
        // A login button, not the autofill ("conditional") variant the library defaults to.
        challenge.mediation = None;
        let ceremony = LoginCeremony {
            id: ids::random_hex(16),
            expires_at: to_millis(self.credentials.now() + CEREMONY_TTL),
            state,
        };
        let sealed = serde_json::to_vec(&ceremony)
            .map_err(|e| AccountError::internal("sealing a ceremony", e))?;
        Ok(PasskeyCeremony {
            id: self.credentials.sealer.seal(LOGIN_SEAL, &sealed),
            options: to_json(&challenge)?,
        })
    }

    /// The state of a login ceremony sealed by [`Passkeys::start_login`], used up: unsealed,
    /// unexpired, and not used before (on any instance). Anything else is one case.
    async fn use_login_ceremony(&self, sealed: &str) -> AccountResult<DiscoverableAuthentication> {
        let ceremony: LoginCeremony = self
            .credentials
            .sealer
            .open(LOGIN_SEAL, sealed)
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or(AccountError::InvalidPasskey)?;
        let now = self.credentials.now();
        if ceremony.expires_at <= to_millis(now) {
            return Err(AccountError::InvalidPasskey);
        }
        let used = format!("used-login:{}", ceremony.id);
        let expires_at = from_millis(ceremony.expires_at);
        match self
            .ceremonies
            .insert_ceremony(&used, None, "", expires_at)
            .await
        {
            Ok(()) => Ok(ceremony.state),
            Err(StoreError::Duplicate) => Err(AccountError::InvalidPasskey),
            Err(e) => Err(e.into()),
        }
    }

    /// Finishes a passkey login: verifies the assertion (see [`Passkeys::verify_assertion`])
    /// and opens a session. Rate-limited per IP like password logins.
    pub async fn finish_login(
        &self,
        ceremony: &str,
        credential: &str,
        previous: Option<&SessionToken>,
        client: Client,
    ) -> AccountResult<LoggedIn> {
        const ACTION: &str = "passkey_login";
        let user = self
            .verify_assertion(ACTION, ceremony, credential, None, client)
            .await?;
        if user.disabled {
            audit(ACTION, "disabled", &user.name, client);
            return Err(AccountError::AccountDisabled);
        }
        let known_device = self
            .credentials
            .known_device(client.device, self.credentials.now(), |d| {
                d.user_id == user.id
            })
            .await?
            .is_some();
        self.issuer
            .open(ACTION, "hwk", user, known_device, previous, client)
            .await
    }

    /// The signed-in user proves who they are again with one of their passkeys (a ceremony
    /// from [`Passkeys::start_login`]): sensitive changes then need nothing more until the
    /// returned instant. Another account's passkey is refused like a forged one.
    pub async fn reauthenticate(
        &self,
        signed_in: &SignedIn,
        ceremony: &str,
        credential: &str,
        client: Client,
    ) -> AccountResult<OffsetDateTime> {
        const ACTION: &str = "passkey_reauth";
        let user = self
            .verify_assertion(ACTION, ceremony, credential, Some(signed_in), client)
            .await?;
        let until = self.reauth.mark(signed_in).await?;
        audit(ACTION, "ok", &user.name, client);
        Ok(until)
    }

    /// Checks a passkey assertion: uses its ceremony up, finds the account by the credential,
    /// verifies the signature (user verification required) and updates the credential's
    /// counter and last use. Spends the caller's per-IP login budget. The account whose
    /// passkey it is; with `signed_in`, it must be that session's account (else nothing is
    /// recorded as used).
    async fn verify_assertion(
        &self,
        action: &'static str,
        ceremony: &str,
        credential: &str,
        signed_in: Option<&SignedIn>,
        client: Client,
    ) -> AccountResult<UserRecord> {
        let webauthn = self.webauthn()?;
        self.credentials
            .throttle
            .spend_ip(Attempt::Credentials, client.ip, self.credentials.now())
            .await??;
        let state = self.use_login_ceremony(ceremony).await?;
        let credential: PublicKeyCredential =
            serde_json::from_str(credential).map_err(|_| AccountError::InvalidPasskey)?;
        let (handle, credential_id) = webauthn
            .identify_discoverable_authentication(&credential)
            .map_err(|_| AccountError::InvalidPasskey)?;
        let credential_id = base64url(credential_id);
        let refused = |why: &'static str| {
            audit(action, why, "-", client);
            AccountError::InvalidPasskey
        };
        let Some(user) = self.users.find_user_by_id(&account_id(handle)).await? else {
            return Err(refused("unknown_user"));
        };
        if let Some(signed_in) = signed_in {
            if user.id != signed_in.user().id {
                audit(action, "other_account", &signed_in.user().name, client);
                return Err(AccountError::InvalidPasskey);
            }
        }
        let records = self.passkeys.user_passkeys(&user.id).await?;
        let mut passkeys: Vec<(String, Passkey)> = records
            .iter()
            .filter_map(|r| {
                Some((
                    r.credential_id.clone(),
                    serde_json::from_str(&r.passkey).ok()?,
                ))
            })
            .collect();
        if !passkeys.iter().any(|(id, _)| *id == credential_id) {
            return Err(refused("unknown_passkey"));
        }
        let keys: Vec<DiscoverableKey> = passkeys.iter().map(|(_, p)| p.into()).collect();
        let result = webauthn
            .finish_discoverable_authentication(&credential, state, &keys)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey assertion refused");
                refused("failed")
            })?;
        if let Some((id, passkey)) = passkeys.iter_mut().find(|(id, _)| *id == credential_id) {
            passkey.update_credential(&result);
            self.passkeys
                .update_passkey(id, &to_json(&*passkey)?.to_string(), self.credentials.now())
                .await?;
        }
        Ok(user)
    }

    /// Stores a ceremony's state; its new id.
    async fn keep_ceremony(&self, user_id: Option<&str>, state: &Value) -> AccountResult<String> {
        let id = ids::random_hex(16);
        self.ceremonies
            .insert_ceremony(
                &id,
                user_id,
                &state.to_string(),
                self.credentials.now() + CEREMONY_TTL,
            )
            .await?;
        Ok(id)
    }

    /// Takes a ceremony's state out: unknown, used and expired ones are one case.
    async fn take_ceremony(&self, id: &str) -> AccountResult<(Option<String>, String)> {
        // Only ids of the form `keep_ceremony` makes: the table also holds the marks of used
        // login ceremonies and tickets, which nobody may take out.
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AccountError::InvalidPasskey);
        }
        self.ceremonies
            .take_ceremony(id, self.credentials.now())
            .await?
            .ok_or(AccountError::InvalidPasskey)
    }
}

/// The WebAuthn user handle of an account: its 16-byte random id.
fn user_handle(account_id: &str) -> Uuid {
    let mut bytes = [0u8; 16];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = account_id
            .get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0);
    }
    Uuid::from_bytes(bytes)
}

/// The account id a user handle names.
fn account_id(handle: Uuid) -> String {
    ids::hex(handle.as_bytes())
}

fn passkey_name(name: &str) -> AccountResult<String> {
    let name = name.trim();
    let name = if name.is_empty() { "Passkey" } else { name };
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(AccountError::Invalid(vec![accounts_api::FieldError {
            field: "name".into(),
            code: accounts_api::ErrorCode::InvalidPasskeyName,
            message: format!(
                "a passkey name is at most {MAX_NAME} characters, without control characters"
            ),
        }]));
    }
    Ok(name.to_owned())
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn to_json(value: &impl serde::Serialize) -> AccountResult<Value> {
    serde_json::to_value(value).map_err(|e| AccountError::internal("writing WebAuthn state", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_handles_are_account_ids() {
        let id = ids::account_id();
        assert_eq!(account_id(user_handle(&id)), id);
    }

    #[test]
    fn names_are_trimmed_defaulted_and_bounded() {
        assert_eq!(passkey_name("  Laptop ").unwrap(), "Laptop");
        assert_eq!(passkey_name("").unwrap(), "Passkey");
        assert!(passkey_name(&"x".repeat(65)).is_err());
        assert!(passkey_name("a\u{7}b").is_err());
    }
}
