//! Registration, login, sessions, password change and deletion: what every user does.

use std::{sync::Arc, time::Duration};

use accounts_api::{ErrorCode, FieldError, Password, PolicyInfo, UserName};
use time::OffsetDateTime;

use super::{
    audit, credentials::Credentials, field_error, parse_name, reauth::Reauth, require_password,
    sessions::SessionIssuer, Account, AccountData, AccountError, AccountResult, Client, Factor,
    LoggedIn, PasswordRules, Proof, SessionSummary, SignedIn,
};
use crate::{
    clock::{from_millis, to_millis},
    mail::Notice,
    store::{CeremonyStore, StoreError, UserRecord},
    throttle::Attempt,
    token::SessionToken,
};

/// What [`SignIn::migrate_user_names`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NameMigration {
    /// Accounts moved to the current canonical form.
    pub renamed: usize,
    /// Accounts left under their old name because the new one was taken.
    pub kept: usize,
}

/// Registration, login, sessions, password change, deletion.
#[derive(Clone)]
pub struct SignIn {
    pub(super) credentials: Credentials,
    pub(super) issuer: SessionIssuer,
    pub(super) data: AccountData,
    pub(super) rules: PasswordRules,
    pub(super) password_max_age: Option<Duration>,
    /// Used login tickets.
    pub(super) ceremonies: Arc<dyn CeremonyStore>,
    /// The re-authentication window of sensitive changes.
    pub(super) reauth: Reauth,
    /// A registration's email address.
    pub(super) addresses: super::email::Addresses,
    /// Security notices.
    pub(super) mailer: super::Mailer,
}

/// Codes a login ticket may be tried with.
const TICKET_TRIES: u32 = 5;

impl SignIn {
    /// The rules in force, for the browser app.
    pub fn policy(&self) -> PolicyInfo {
        PolicyInfo {
            password: self.rules.policy,
            user_name_min_length: accounts_api::user_name::MIN_LEN,
            user_name_max_length: accounts_api::user_name::MAX_LEN,
            user_name_allowed: accounts_api::user_name::ALLOWED.to_owned(),
            password_max_age_secs: self.password_max_age.map_or(0, |d| d.as_secs()),
            self_service_recovery: self.mailer.is_on(),
            cookie_domain: None,
        }
    }

    /// Creates an account. The unique index decides races: exactly one of two concurrent
    /// registrations of a name wins, the other gets [`AccountError::UserExists`].
    pub async fn register(
        &self,
        user_name: &str,
        password: &Password,
        email: Option<&str>,
        client: Client,
    ) -> AccountResult<Account> {
        self.credentials
            .throttle
            .spend_ip(Attempt::Registration, client.ip, self.credentials.now())
            .await??;
        let name = UserName::parse_new(user_name);
        let mut errors = Vec::new();
        if let Err(e) = &name {
            errors.push(field_error("user_name", ErrorCode::InvalidUserName, e));
        }
        if let Err(e) = self.rules.check(password, name.as_ref().ok()) {
            errors.push(e.with_field("password"));
        }
        let address = match email.map(super::email::parse_address).transpose() {
            Ok(address) => address,
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let Ok(name) = name else {
            return Err(AccountError::Invalid(errors));
        };
        if !errors.is_empty() {
            return Err(AccountError::Invalid(errors));
        }
        let hash = self.credentials.hasher.hash(password.normalized()).await?;
        let now = self.credentials.now();
        let user = UserRecord::new(name.canonical(), name.display(), hash, now);
        match self.data.users.insert_user(&user).await {
            Ok(()) => {
                audit("register", "ok", &user.name, client);
                if let Some(address) = &address {
                    self.addresses.attach(&user, address, client).await?;
                }
                Ok(Account::from(&user))
            }
            Err(StoreError::Duplicate) => Err(AccountError::UserExists),
            Err(e) => Err(e.into()),
        }
    }

    /// Logs in: verifies, checks expiry, opens a session. `previous` (the caller's current
    /// session, if any) is revoked, so a login always rotates the session.
    pub async fn login(
        &self,
        user_name: &str,
        proof: impl Into<Proof<'_>>,
        previous: Option<&SessionToken>,
        client: Client,
    ) -> AccountResult<LoggedIn> {
        let authenticated = self
            .credentials
            .authenticate(
                "login",
                user_name,
                proof.into(),
                Factor::RequiredOrTicket,
                client,
            )
            .await?;
        self.finish_login(
            authenticated.user,
            authenticated.known_device,
            previous,
            client,
        )
        .await
    }

    /// A login's second step: the ticket its right password got, and a code. Limited per
    /// ticket (five codes), not by the account's shared budget; the ticket works once.
    pub async fn login_with_ticket(
        &self,
        ticket: &str,
        code: &str,
        previous: Option<&SessionToken>,
        client: Client,
    ) -> AccountResult<LoggedIn> {
        let c = &self.credentials;
        let ticket = c.open_ticket(ticket, client)?;
        let now = c.now();
        // Each try is counted before its code is checked, so parallel tries get no more.
        let tries = format!("ticket:{}", ticket.id);
        if c.throttle.count_wrong_answer(&tries, now).await? > TICKET_TRIES {
            return Err(AccountError::InvalidLoginTicket);
        }
        let user = match c.users.find_user_by_id(&ticket.user_id).await? {
            Some(user)
                if to_millis(user.password_changed_at) == ticket.password_changed_at
                    && user.session_generation == ticket.session_generation
                    && user.totp_secret.is_some() =>
            {
                user
            }
            _ => return Err(AccountError::InvalidLoginTicket),
        };
        // Codes tried with tickets count against the account, across tickets, like failed
        // logins (a right password, which gets a ticket, does not clear them): someone who
        // knows the password cannot guess codes by fetching ticket after ticket.
        let codes = format!("ticket-codes:{}", user.id);
        let seen = match c.throttle.check_account(&codes, now).await? {
            Ok(seen) => seen,
            Err(limited) => {
                audit("login", "code_locked", &user.name, client);
                return Err(limited.into());
            }
        };
        if let Err(limited) = c.throttle.reserve_attempt(&codes, seen, now).await? {
            audit("login", "code_locked", &user.name, client);
            return Err(limited.into());
        }
        c.check_second_factor("login", &user, Some(code), client)
            .await?;
        c.throttle.record_success(&codes).await?;
        let used = format!("used-ticket:{}", ticket.id);
        match self
            .ceremonies
            .insert_ceremony(&used, None, "", from_millis(ticket.expires_at))
            .await
        {
            Ok(()) => {}
            Err(StoreError::Duplicate) => return Err(AccountError::InvalidLoginTicket),
            Err(e) => return Err(e.into()),
        }
        if user.disabled {
            audit("login", "disabled", &user.name, client);
            return Err(AccountError::AccountDisabled);
        }
        let known_device = c
            .known_device(client.device, now, |d| d.user_id == user.id)
            .await?
            .is_some();
        self.finish_login(user, known_device, previous, client)
            .await
    }

    /// Opens the session of a login whose checks passed, unless the password has expired.
    async fn finish_login(
        &self,
        user: UserRecord,
        known_device: bool,
        previous: Option<&SessionToken>,
        client: Client,
    ) -> AccountResult<LoggedIn> {
        if self.is_expired(&user, self.credentials.now()) {
            audit("login", "expired", &user.name, client);
            return Err(AccountError::PasswordExpired);
        }
        // With two-factor login on, a login has passed the code too.
        let amr = if user.totp_secret.is_some() {
            "pwd otp"
        } else {
            "pwd"
        };
        self.issuer
            .open("login", amr, user, known_device, previous, client)
            .await
    }

    /// Expired by an operator, or older than the maximum age.
    fn is_expired(&self, user: &UserRecord, now: OffsetDateTime) -> bool {
        user.password_expired
            || self
                .password_max_age
                .is_some_and(|max| now - user.password_changed_at > max)
    }

    /// Changes a password given the current one (an expired password may be changed: that is
    /// the way out of expiry). The write is a compare-and-swap on the hash that was verified,
    /// so of two concurrent changes exactly one wins. All the user's sessions are revoked.
    pub async fn change_password(
        &self,
        user_name: &str,
        proof: impl Into<Proof<'_>>,
        new: &Password,
        client: Client,
    ) -> AccountResult<Account> {
        let proof = proof.into();
        let current = proof.password;
        let name = parse_name(user_name)?;
        require_password("password", current)?;
        if let Err(e) = self.rules.check(new, Some(&name)) {
            return Err(AccountError::Invalid(vec![e.with_field("newpassword")]));
        }
        if new.normalized() == current.normalized() {
            return Err(AccountError::Invalid(vec![FieldError {
                field: "newpassword".into(),
                code: ErrorCode::InvalidPassword,
                message: "new password must differ from the current one".into(),
            }]));
        }
        let (authenticated, mut places) = self
            .credentials
            .authenticate_before_hashes(
                "password_change",
                user_name,
                proof,
                Factor::Required,
                client,
                1,
            )
            .await?;
        let user = authenticated.user;
        let hasher = &self.credentials.hasher;
        let new_hash = match places.pop() {
            Some(place) => hasher.hash_in(place, new.normalized()).await?,
            None => hasher.hash(new.normalized()).await?,
        };
        let now = self.credentials.now();
        let swapped = self
            .data
            .users
            .replace_password_hash(&user.name, &user.password_hash, &new_hash, Some(now))
            .await?;
        if !swapped {
            // Someone changed (or rehashed) it since we verified: the current password we
            // checked is no longer the stored one.
            return Err(AccountError::InvalidCredentials);
        }
        self.data.revoke_access(&user.id).await?;
        audit("password_change", "ok", &user.name, client);
        self.mailer.notify(&user, Notice::PasswordChanged).await;
        Ok(Account {
            password_changed_at: now,
            ..Account::from(&user)
        })
    }

    /// Deletes an account and its sessions, given its password.
    pub async fn delete(
        &self,
        user_name: &str,
        proof: impl Into<Proof<'_>>,
        client: Client,
    ) -> AccountResult<Account> {
        let user = self
            .credentials
            .authenticate("delete", user_name, proof.into(), Factor::Required, client)
            .await?
            .user;
        if self.data.delete(&user).await? {
            audit("delete", "ok", &user.name, client);
            Ok(Account::from(&user))
        } else {
            Err(AccountError::InvalidCredentials)
        }
    }

    /// Revokes one session. Idempotent; only a session that was still valid is audited.
    pub async fn logout(&self, token: &SessionToken, client: Client) -> AccountResult<()> {
        let revoked = self
            .data
            .sessions
            .delete_session(&token.store_key())
            .await?;
        if let Some(session) = revoked.filter(|s| s.expires_at > self.credentials.now()) {
            audit("logout", "ok", &session.user_name, client);
        }
        Ok(())
    }

    /// The session behind a token, if it is valid: not expired, its account still exists (the
    /// same registration, not a newer one under the same name), is not disabled, and no
    /// password change since.
    pub async fn session(&self, token: &SessionToken) -> AccountResult<SignedIn> {
        self.issuer.find(token).await
    }

    /// What the account page shows about the signed-in account: read with its session.
    pub fn session_summary(&self, signed_in: &SignedIn) -> SessionSummary {
        SessionSummary {
            account: signed_in.account(),
            expires_at: signed_in.expires_at(),
            recovery_codes_left: if signed_in.user().totp_secret.is_some() {
                signed_in.found.recovery_codes
            } else {
                0
            },
            passkeys: signed_in.found.passkeys,
            reauth_until: self.reauth.until(signed_in),
        }
    }

    /// The signed-in user proves who they are again, with the password (and, with two-factor
    /// login on, a code), checked like a login: sensitive changes then need nothing more
    /// until the returned instant.
    pub async fn reauthenticate(
        &self,
        signed_in: &SignedIn,
        proof: Proof<'_>,
        client: Client,
    ) -> AccountResult<OffsetDateTime> {
        self.reauth
            .renew("reauth", signed_in, proof, client)
            .await?;
        audit("reauth", "ok", &signed_in.user().name, client);
        Ok(self.reauth.until_now())
    }

    /// Moves stored names to the current canonical form (case folding now; before,
    /// lower case), so existing accounts keep logging in. Idempotent; run at start-up. Where
    /// two accounts would get the same name, the one that already has it keeps it and the
    /// other keeps its old name (found by `Credentials::find_account`); each is logged.
    /// Renamed accounts' sessions are revoked.
    pub async fn migrate_user_names(&self) -> AccountResult<NameMigration> {
        let mut report = NameMigration::default();
        for user in self.data.users.all_users().await? {
            let Ok(name) = UserName::parse(&user.display_name) else {
                continue;
            };
            if name.canonical() == user.name {
                continue;
            }
            match self
                .data
                .users
                .rename_user(&user.id, name.canonical())
                .await
            {
                Ok(true) => report.renamed += 1,
                Ok(false) => {}
                Err(StoreError::Duplicate) => {
                    report.kept += 1;
                    tracing::warn!(
                        user = %user.name,
                        taken = %name.canonical(),
                        "user name migration: the new form is another account's; this one keeps its old name"
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(report)
    }
}
