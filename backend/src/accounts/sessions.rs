//! Opening a session after a successful login (by password or passkey), and finding the
//! session behind a token.

use std::{sync::Arc, time::Duration};

use super::{
    audit, Account, AccountError, AccountResult, Client, LoggedIn, SignedIn, DEVICE_LIFETIME,
    MAX_DEVICES,
};
use crate::{
    clock::Clock,
    store::{DeviceRecord, DeviceStore, SessionRecord, SessionStore, UserRecord},
    token::{DeviceToken, SessionToken},
};

/// What opening and finding sessions needs.
#[derive(Clone)]
pub(super) struct SessionIssuer {
    pub sessions: Arc<dyn SessionStore>,
    pub devices: Arc<dyn DeviceStore>,
    pub clock: Arc<dyn Clock>,
    pub session_ttl: Duration,
}

impl SessionIssuer {
    /// Opens a session for an account whose login succeeded: revokes `previous`, stores the
    /// new session while the account still holds the hash it had, and makes the browser known
    /// to the account.
    pub async fn open(
        &self,
        action: &'static str,
        amr: &'static str,
        user: UserRecord,
        known_device: bool,
        previous: Option<&SessionToken>,
        client: Client,
    ) -> AccountResult<LoggedIn> {
        if let Some(previous) = previous {
            self.sessions.delete_session(&previous.store_key()).await?;
        }
        let token = SessionToken::generate();
        let now = self.clock.now();
        let session = SessionRecord {
            token_hash: token.store_key(),
            user_id: user.id.clone(),
            user_name: user.name.clone(),
            created_at: now,
            expires_at: now + self.session_ttl,
            // A login is the strongest proof there is: sensitive changes need nothing more
            // for a while.
            authenticated_at: now,
            amr: amr.to_owned(),
            browser: client.browser.to_string(),
            ip_prefix: client.ip.map(crate::client::network_of).unwrap_or_default(),
            last_seen_at: now,
        };
        if !self
            .sessions
            .insert_session_for_hash(&session, &user.password_hash, user.session_generation)
            .await?
        {
            // The password was changed while we were checking it.
            audit(action, "raced_password_change", &user.name, client);
            return Err(AccountError::InvalidCredentials);
        }
        // From now on this browser is known to the account (OWASP "device cookies").
        let new_device = if known_device {
            None
        } else {
            let device = DeviceToken::generate();
            self.devices
                .insert_device(
                    &DeviceRecord {
                        token_hash: device.store_key(),
                        user_id: user.id.clone(),
                        user_name: user.name.clone(),
                        expires_at: now + DEVICE_LIFETIME,
                    },
                    now,
                    MAX_DEVICES,
                )
                .await?;
            Some(device)
        };
        audit(action, "ok", &user.name, client);
        Ok(LoggedIn {
            token,
            account: Account::from(&user),
            expires_at: session.expires_at,
            new_device,
        })
    }

    /// The session behind a token, if it is valid: not expired, its account still exists (the
    /// same registration, not a newer one under the same name), is not disabled, and no
    /// password change since.
    pub async fn find(&self, token: &SessionToken) -> AccountResult<SignedIn> {
        let now = self.clock.now();
        let found = self
            .sessions
            .look_up_session(&token.store_key(), now)
            .await?
            .filter(|found| {
                let (s, u) = (&found.session, &found.user);
                s.expires_at > now
                    && u.id == s.user_id
                    && !u.disabled
                    && s.created_at >= u.password_changed_at
            })
            .ok_or(AccountError::Unauthenticated)?;
        // "Last seen" to within a few minutes: one write per session and period at most.
        if now - found.session.last_seen_at >= super::LAST_SEEN_GRANULARITY {
            self.sessions
                .set_session_seen(&found.session.token_hash, now)
                .await?;
        }
        Ok(SignedIn { found })
    }
}
