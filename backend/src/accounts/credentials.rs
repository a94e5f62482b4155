//! The password check every service shares: a login's, and the one a signed-in user passes
//! again before a sensitive change; with the second factor, the lockout and the per-browser
//! failure budgets.

use std::sync::Arc;

use accounts_api::{Password, UserName};
use time::OffsetDateTime;

use super::{
    audit, parse_name, require_password, AccountError, AccountResult, Client, Factor, Proof,
    Secrets, SignedIn,
};
use crate::{
    clock::{to_millis, Clock},
    password::{Hasher, Place, Verified},
    seal::Sealer,
    store::{DeviceRecord, DeviceStore, SecondFactorStore, UserRecord, UserStore},
    throttle::{failure_key, Attempt, Throttle},
    token::DeviceKey,
    totp,
};

/// A correct password: the account, and whether the browser was already known to it.
pub(super) struct Authenticated {
    pub user: UserRecord,
    pub known_device: bool,
}

/// What checking a password needs.
#[derive(Clone)]
pub(super) struct Credentials {
    pub users: Arc<dyn UserStore>,
    pub devices: Arc<dyn DeviceStore>,
    pub second_factors: Arc<dyn SecondFactorStore>,
    pub hasher: Hasher,
    pub throttle: Throttle,
    pub clock: Arc<dyn Clock>,
    /// Seals login tickets (and passkey login ceremonies).
    pub sealer: Sealer,
    /// Opens the stored authenticator secret.
    pub secrets: Secrets,
}

/// What a login ticket says, sealed: whose right password it stands for, until when, for
/// which browser.
#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct LoginTicket {
    /// Random: names the ticket's tries and its use.
    pub id: String,
    pub user_id: String,
    /// The account's password change the ticket was issued under (Unix ms): a later change
    /// voids it.
    pub password_changed_at: i64,
    /// The account's session generation then: a revocation voids the ticket too.
    pub session_generation: i64,
    /// The browser's device key (hex), if it sent one.
    pub device: Option<String>,
    /// Unix ms.
    pub expires_at: i64,
}

/// What a login ticket's seal is for.
const TICKET_SEAL: &str = "login-ticket";
/// How long a ticket lasts.
const TICKET_TTL: std::time::Duration = std::time::Duration::from_secs(300);

impl Credentials {
    /// A ticket for `user`'s second login step from this browser.
    fn issue_ticket(&self, user: &UserRecord, client: Client) -> AccountResult<String> {
        let ticket = LoginTicket {
            id: crate::ids::random_hex(16),
            user_id: user.id.clone(),
            password_changed_at: to_millis(user.password_changed_at),
            session_generation: user.session_generation,
            device: client.device.map(|d| d.hex()),
            expires_at: to_millis(self.now() + TICKET_TTL),
        };
        let json = serde_json::to_vec(&ticket)
            .map_err(|e| AccountError::internal("sealing a login ticket", e))?;
        Ok(self.sealer.seal(TICKET_SEAL, &json))
    }

    /// The ticket, if this server sealed it, it has not expired and this is its browser.
    pub fn open_ticket(&self, sealed: &str, client: Client) -> AccountResult<LoginTicket> {
        let ticket: LoginTicket = self
            .sealer
            .open(TICKET_SEAL, sealed)
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or(AccountError::InvalidLoginTicket)?;
        let same_browser = ticket.device == client.device.map(|d| d.hex());
        if ticket.expires_at <= to_millis(self.now()) || !same_browser {
            return Err(AccountError::InvalidLoginTicket);
        }
        Ok(ticket)
    }

    /// Now, by the services' clock.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Checks a user name and password. Unknown names cost one Argon2 verification too, against
    /// a dummy hash, and get the same error as a wrong password.
    ///
    /// Attempts count against the client's IP budget, and failures against the account name
    /// (existing or not); a locked name is refused before any password check, with the same
    /// reply whether the password is right or wrong and whether the account exists or not.
    /// Each attempt is counted as a failure before its password is checked, and given back by
    /// a success, so guesses sent in parallel cannot all be checked before the lock applies.
    ///
    /// The password is never checked against the policy here: tightening the policy must not
    /// lock anyone out.
    pub async fn authenticate(
        &self,
        action: &'static str,
        user_name: &str,
        proof: Proof<'_>,
        factor: Factor,
        client: Client,
    ) -> AccountResult<Authenticated> {
        let (authenticated, _) = self
            .authenticate_before_hashes(action, user_name, proof, factor, client, 0)
            .await?;
        Ok(authenticated)
    }

    /// [`Credentials::authenticate`] for a change that then hashes `hashes` times: places for
    /// those hashes are taken with the check's, so a change whose one-time code was used is
    /// never refused for load afterwards (the code would be spent for nothing).
    pub async fn authenticate_before_hashes(
        &self,
        action: &'static str,
        user_name: &str,
        proof: Proof<'_>,
        factor: Factor,
        client: Client,
        hashes: usize,
    ) -> AccountResult<(Authenticated, Vec<Place>)> {
        let password = proof.password;
        let name = parse_name(user_name)?;
        require_password("password", password)?;
        let now = self.clock.now();
        if let Err(limited) = self
            .throttle
            .spend_ip(Attempt::Credentials, client.ip, now)
            .await?
        {
            audit(action, "ip_rate_limited", name.canonical(), client);
            return Err(limited.into());
        }
        let user = self.find_account(&name).await?;
        // Matched by account id: the name typed may not be the stored one (an account that
        // kept an older key, see `find_account`).
        let known_device = self
            .known_device(client.device, now, |d| {
                user.as_ref().is_some_and(|u| u.id == d.user_id)
            })
            .await?;
        let key = failure_key(name.canonical(), known_device.as_deref());
        // Parallel attempts on one account take turns (see `Throttle::take_turn`).
        let _turn = match self.throttle.take_turn(&key).await {
            Ok(turn) => turn,
            Err(limited) => {
                audit(action, "locked", name.canonical(), client);
                return Err(limited.into());
            }
        };
        let now = self.clock.now();
        let seen = match self.throttle.check_account(&key, now).await? {
            Ok(seen) => seen,
            Err(limited) => {
                audit(action, "locked", name.canonical(), client);
                return Err(limited.into());
            }
        };
        // A place for the password check first: a request shed for load must not have
        // counted as a failed attempt.
        let (place, later) = self.hasher.admit_with(hashes)?;
        if let Err(limited) = self.throttle.reserve_attempt(&key, seen, now).await? {
            audit(action, "locked", name.canonical(), client);
            return Err(limited.into());
        }
        let verified = self
            .hasher
            .verify_in(
                place,
                password.normalized(),
                user.as_ref().map(|u| u.password_hash.clone()),
            )
            .await?;
        match (verified, user) {
            (Verified::Match { needs_rehash }, Some(mut user)) => {
                let no_code = proof.code.is_none_or(|c| c.trim().is_empty());
                if factor == Factor::RequiredOrTicket && user.totp_secret.is_some() && no_code {
                    // The password is right: not a failure. The code comes in a second
                    // step, with a ticket instead of the password (so that step does not
                    // spend the account's shared budget).
                    self.throttle.record_success(&key).await?;
                    audit(action, "mfa_required", &user.name, client);
                    return Err(AccountError::SecondFactorRequired {
                        login_ticket: Some(self.issue_ticket(&user, client)?),
                    });
                }
                // A missing or wrong code leaves this attempt counted as a failure.
                self.check_second_factor(action, &user, proof.code, client)
                    .await?;
                self.throttle.record_success(&key).await?;
                if user.disabled {
                    // Only a caller who knows the password learns this.
                    audit(action, "disabled", &user.name, client);
                    return Err(AccountError::AccountDisabled);
                }
                if needs_rehash {
                    if let Some(new_hash) = self.rehash(&user, password).await {
                        user.password_hash = new_hash;
                    }
                }
                let authenticated = Authenticated {
                    user,
                    known_device: known_device.is_some(),
                };
                Ok((authenticated, later))
            }
            _ => {
                // Already counted by the reservation.
                audit(action, "failed", name.canonical(), client);
                Err(AccountError::InvalidCredentials)
            }
        }
    }

    /// The password (and, when asked, the second factor) of the signed-in account, checked
    /// again like a login, lockout included.
    pub async fn reauthenticate(
        &self,
        action: &'static str,
        signed_in: &SignedIn,
        proof: Proof<'_>,
        factor: Factor,
        client: Client,
    ) -> AccountResult<UserRecord> {
        let user = self
            .authenticate(
                action,
                &signed_in.user().display_name,
                proof,
                factor,
                client,
            )
            .await?
            .user;
        if user.id != signed_in.user().id {
            return Err(AccountError::Unauthenticated);
        }
        Ok(user)
    }

    /// The second factor of an account whose password was just found right: nothing to do
    /// without two-factor login; else a current authenticator code (each works once) or an
    /// unused recovery code (used up by this).
    pub(super) async fn check_second_factor(
        &self,
        action: &'static str,
        user: &UserRecord,
        code: Option<&str>,
        client: Client,
    ) -> AccountResult<()> {
        let Some(stored) = &user.totp_secret else {
            return Ok(());
        };
        let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
            audit(action, "mfa_required", &user.name, client);
            return Err(AccountError::SecondFactorRequired { login_ticket: None });
        };
        let accepted = if totp::parse_code(code).is_some() {
            let secret = self.secrets.open_totp(&user.id, stored)?;
            match totp::matching_step(&secret, code, self.clock.now(), user.totp_last_step) {
                // Conditional on no later step being used: a replay racing this loses.
                Some(step) => self.second_factors.use_totp_step(&user.id, step).await?,
                None => false,
            }
        } else {
            let used = self
                .second_factors
                .use_recovery_code(&user.id, &totp::recovery_code_hash(code))
                .await?;
            if used {
                audit(action, "recovery_code_used", &user.name, client);
            }
            used
        };
        if accepted {
            Ok(())
        } else {
            audit(action, "invalid_code", &user.name, client);
            Err(AccountError::InvalidCode)
        }
    }

    /// The hex key of the browser's device token if the browser is known to the account that
    /// `belongs` recognises (a guesser's browser never is; an unknown name never matches, as
    /// for any stranger).
    pub async fn known_device(
        &self,
        device: Option<DeviceKey>,
        now: OffsetDateTime,
        belongs: impl FnOnce(&DeviceRecord) -> bool,
    ) -> AccountResult<Option<String>> {
        let Some(device) = device else {
            return Ok(None);
        };
        let key = device.hex();
        let found = self.devices.find_device(&key, now).await?;
        Ok(found.filter(belongs).map(|_| key))
    }

    /// The account a name refers to. An account whose name collided when names moved from
    /// lower case to case folding kept its old key; the name as typed then means what it
    /// meant under the old rules, so that key is looked up first (only for the few names
    /// whose two forms differ).
    pub async fn find_account(&self, name: &UserName) -> AccountResult<Option<UserRecord>> {
        let legacy = name.legacy_canonical();
        if legacy != name.canonical() {
            if let Some(user) = self.users.find_user(&legacy).await? {
                return Ok(Some(user));
            }
        }
        Ok(self.users.find_user(name.canonical()).await?)
    }

    /// Replaces a hash made with older Argon2 parameters. Best effort: a failure only means we
    /// try again at the next login. Returns the new hash if it was stored.
    async fn rehash(&self, user: &UserRecord, password: &Password) -> Option<String> {
        let result = match self.hasher.hash(password.normalized()).await {
            Ok(new_hash) => self
                .users
                .replace_password_hash(&user.name, &user.password_hash, &new_hash, None)
                .await
                .map(|swapped| swapped.then_some(new_hash))
                .map_err(AccountError::from),
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(Some(hash)) => {
                tracing::info!(user = %user.name, "password hash upgraded to current parameters");
                Some(hash)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(user = %user.name, error = %e, "password rehash failed");
                None
            }
        }
    }
}
