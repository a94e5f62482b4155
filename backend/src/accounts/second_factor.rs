//! Two-factor login with an authenticator app (TOTP, see [`crate::totp`]) and recovery codes:
//! set-up in two steps (a pending secret, then a code from it), turning it off, the operator's
//! reset, and the check that login, password change and deletion make.
//!
//! The second factor is asked for only once the password is right, so an account's two-factor
//! status is never revealed before that; a missing or wrong code leaves the attempt counted by
//! the lockout, exactly like a wrong password.

use accounts_api::Password;

use super::{
    admin::operator_audit, audit, Account, AccountError, AccountResult, Accounts, Client, Factor,
    Proof, SignedIn,
};
use crate::{store::UserRecord, totp};

/// Shown in authenticator apps next to the account.
const ISSUER: &str = "Accounts";

/// A secret being set up. `Debug` is redacted.
#[derive(Clone)]
pub struct PendingTotp {
    /// Base32, for typing into the app.
    pub secret: String,
    /// `otpauth://` URI, for a QR code.
    pub otpauth_uri: String,
}

impl PendingTotp {
    /// The URI as a QR code: SVG path data and side (see [`totp::qr_code`]).
    pub fn qr_code(&self) -> (String, u32) {
        totp::qr_code(&self.otpauth_uri).unwrap_or_default()
    }
}

impl std::fmt::Debug for PendingTotp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingTotp(***)")
    }
}

impl Accounts {
    /// Starts setting up two-factor login: checks the password again and keeps a new secret
    /// pending (replacing an unconfirmed one). Nothing changes for logins yet.
    pub async fn start_totp_setup(
        &self,
        signed_in: &SignedIn,
        password: &Password,
        client: Client,
    ) -> AccountResult<PendingTotp> {
        if signed_in.user.totp_secret.is_some() {
            return Err(AccountError::SecondFactorConflict(
                "Two-factor login is already on. Turn it off first to move it to another app.",
            ));
        }
        let user = self
            .reauthenticate(
                "totp_setup",
                signed_in,
                password.into(),
                Factor::NotAsked,
                client,
            )
            .await?;
        let secret = totp::generate_secret();
        if !self.store.set_pending_totp(&user.id, &secret).await? {
            return Err(AccountError::Unauthenticated);
        }
        audit("totp_setup", "ok", &user.name, client);
        Ok(PendingTotp {
            otpauth_uri: totp::otpauth_uri(ISSUER, &user.display_name, &secret),
            secret,
        })
    }

    /// Turns two-factor login on with a code from the pending secret; returns the new recovery
    /// codes (only their hashes are kept).
    pub async fn confirm_totp(
        &self,
        signed_in: &SignedIn,
        code: &str,
        client: Client,
    ) -> AccountResult<Vec<String>> {
        let user = &signed_in.user;
        if user.totp_secret.is_some() {
            return Err(AccountError::SecondFactorConflict(
                "Two-factor login is already on.",
            ));
        }
        let Some(pending) = &user.totp_pending else {
            return Err(AccountError::SecondFactorConflict(
                "No set-up is waiting for a code: start the set-up first.",
            ));
        };
        let Some(step) = totp::matching_step(pending, code, self.clock.now(), 0) else {
            audit("totp_enable", "invalid_code", &user.name, client);
            return Err(AccountError::InvalidCode);
        };
        let (codes, hashes) = totp::generate_recovery_codes();
        if !self
            .store
            .enable_totp(&user.id, pending, step, &hashes)
            .await?
        {
            return Err(AccountError::SecondFactorConflict(
                "The set-up changed meanwhile (another tab?): start it again.",
            ));
        }
        audit("totp_enable", "ok", &user.name, client);
        Ok(codes)
    }

    /// Turns two-factor login off, given the password and a code (or a recovery code).
    pub async fn disable_totp(
        &self,
        signed_in: &SignedIn,
        proof: Proof<'_>,
        client: Client,
    ) -> AccountResult<()> {
        if signed_in.user.totp_secret.is_none() {
            return Err(AccountError::SecondFactorConflict(
                "Two-factor login is not on.",
            ));
        }
        let user = self
            .reauthenticate("totp_disable", signed_in, proof, Factor::Required, client)
            .await?;
        self.store.disable_totp(&user.id).await?;
        audit("totp_disable", "ok", &user.name, client);
        Ok(())
    }

    /// The operator's way out for a user who lost their device: removes the authenticator
    /// secret, the recovery codes and the passkeys, and revokes every session. Returns the
    /// account, whether it had any of them, and how many sessions were revoked.
    pub async fn reset_second_factors(&self, name: &str) -> AccountResult<(Account, bool, u64)> {
        let user = self.operator_find(name).await?;
        let had_totp = self.store.disable_totp(&user.id).await?;
        let passkeys = self.store.delete_user_passkeys(&user.id).await?;
        let was_on = had_totp || passkeys > 0;
        let revoked = self.store.delete_user_sessions(&user.id).await?;
        operator_audit("reset_mfa", &user.name);
        let account = Account {
            two_factor: false,
            ..Account::from(&user)
        };
        Ok((account, was_on, revoked))
    }

    /// The password (and, when asked, the second factor) of the signed-in account, checked
    /// again like a login, lockout included.
    pub(super) async fn reauthenticate(
        &self,
        action: &'static str,
        signed_in: &SignedIn,
        proof: Proof<'_>,
        factor: Factor,
        client: Client,
    ) -> AccountResult<UserRecord> {
        let user = self
            .authenticate(action, &signed_in.user.display_name, proof, factor, client)
            .await?
            .user;
        if user.id != signed_in.user.id {
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
        let Some(secret) = &user.totp_secret else {
            return Ok(());
        };
        let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
            audit(action, "mfa_required", &user.name, client);
            return Err(AccountError::SecondFactorRequired);
        };
        let accepted = if totp::parse_code(code).is_some() {
            match totp::matching_step(secret, code, self.clock.now(), user.totp_last_step) {
                // Conditional on no later step being used: a replay racing this loses.
                Some(step) => self.store.use_totp_step(&user.id, step).await?,
                None => false,
            }
        } else {
            let used = self
                .store
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
}
