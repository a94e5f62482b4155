//! Re-authentication for sensitive changes, like GitHub's sudo mode or Kratos's privileged
//! sessions: adding or removing a passkey and turning two-factor login on or off need the
//! session's holder to have proved who they are within the window (`--reauth-window`): by
//! the login itself, or since, by the password (and the code) again or by a passkey. So
//! whoever got hold of a session alone cannot plant a passkey or strip the second factor.
//!
//! The proof is kept on the session (its `authenticated_at`), so it holds on every instance
//! and dies with the session.

use std::{sync::Arc, time::Duration};

use time::OffsetDateTime;

use super::{
    audit, credentials::Credentials, AccountError, AccountResult, Client, Factor, Proof, SignedIn,
};
use crate::store::{SessionStore, UserRecord};

/// The window, and what renewing it needs.
#[derive(Clone)]
pub(super) struct Reauth {
    pub credentials: Credentials,
    pub sessions: Arc<dyn SessionStore>,
    /// How long a proof lasts.
    pub window: Duration,
}

impl Reauth {
    /// Until when the session needs no re-authentication.
    pub fn until(&self, signed_in: &SignedIn) -> OffsetDateTime {
        signed_in.found.session.authenticated_at + self.window
    }

    /// Until when a proof given now holds.
    pub fn until_now(&self) -> OffsetDateTime {
        self.credentials.now() + self.window
    }

    /// The signed-in account, cleared for the sensitive `action`: with `proof` sent along,
    /// checked like a login (lockout included), which renews the window; without, the window
    /// must still be open.
    pub async fn require(
        &self,
        action: &'static str,
        signed_in: &SignedIn,
        proof: Option<Proof<'_>>,
        client: Client,
    ) -> AccountResult<UserRecord> {
        if let Some(proof) = proof {
            return self.renew(action, signed_in, proof, client).await;
        }
        if self.until(signed_in) > self.credentials.now() {
            return Ok(signed_in.user().clone());
        }
        audit(action, "reauth_required", &signed_in.user().name, client);
        Err(AccountError::ReauthRequired)
    }

    /// The password (and, with two-factor login on, a code) of the signed-in account again:
    /// the window starts anew. The account as it is now.
    pub async fn renew(
        &self,
        action: &'static str,
        signed_in: &SignedIn,
        proof: Proof<'_>,
        client: Client,
    ) -> AccountResult<UserRecord> {
        let user = self
            .credentials
            .reauthenticate(action, signed_in, proof, Factor::Required, client)
            .await?;
        self.mark(signed_in).await?;
        Ok(user)
    }

    /// Records on the session that its holder has just proved who they are (by password or
    /// passkey); until when that holds.
    pub async fn mark(&self, signed_in: &SignedIn) -> AccountResult<OffsetDateTime> {
        let now = self.credentials.now();
        let token_hash = &signed_in.found.session.token_hash;
        if !self
            .sessions
            .set_session_authenticated(token_hash, now)
            .await?
        {
            // Revoked meanwhile.
            return Err(AccountError::Unauthenticated);
        }
        Ok(now + self.window)
    }
}
