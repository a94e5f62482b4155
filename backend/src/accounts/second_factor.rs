//! Two-factor login with an authenticator app (TOTP, see [`crate::totp`]) and recovery codes:
//! set-up in two steps (a pending secret, then a code from it) and turning it off. The check
//! that login, password change and deletion make is `Credentials`'s; the operator's reset is
//! in `operator`.
//!
//! The secret is stored sealed with the data key (see `secrets`), bound to the account; the
//! set-up moves the pending value into force unchanged.
//!
//! The second factor is asked for only once the password is right, so an account's two-factor
//! status is never revealed before that; a missing or wrong code leaves the attempt counted by
//! the lockout, exactly like a wrong password.

use accounts_api::Password;

use std::sync::Arc;

use super::{
    audit, credentials::Credentials, reauth::Reauth, AccountError, AccountResult, Client, Proof,
    SignedIn,
};
use crate::{store::SecondFactorStore, throttle::failure_key, totp};

/// Shown in authenticator apps next to the account.
const ISSUER: &str = "Accounts";
/// Wrong codes while confirming a set-up before its pending secret is dropped.
const MAX_CONFIRM_FAILURES: u32 = 5;

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

/// The authenticator app: set up, confirm, turn off.
#[derive(Clone)]
pub struct SecondFactor {
    pub(super) credentials: Credentials,
    pub(super) second_factors: Arc<dyn SecondFactorStore>,
    pub(super) reauth: Reauth,
    /// Security notices.
    pub(super) mailer: super::Mailer,
}

impl SecondFactor {
    /// Starts setting up two-factor login, within the re-authentication window (or with the
    /// password, checked again): keeps a new secret pending (replacing an unconfirmed one).
    /// Nothing changes for logins yet.
    pub async fn start_setup(
        &self,
        signed_in: &SignedIn,
        password: Option<&Password>,
        client: Client,
    ) -> AccountResult<PendingTotp> {
        if signed_in.user().totp_secret.is_some() {
            return Err(AccountError::SecondFactorConflict(
                "Two-factor login is already on. Turn it off first to move it to another app.",
            ));
        }
        let user = self
            .reauth
            .require("totp_setup", signed_in, password.map(Proof::from), client)
            .await?;
        let secret = totp::generate_secret();
        let sealed = self.credentials.secrets.seal_totp(&user.id, &secret)?;
        if !self
            .second_factors
            .set_pending_totp(&user.id, &sealed)
            .await?
        {
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
    pub async fn confirm(
        &self,
        signed_in: &SignedIn,
        code: &str,
        client: Client,
    ) -> AccountResult<Vec<String>> {
        let user = signed_in.user();
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
        // Turning two-factor login on is a sensitive change: a set-up started within the
        // window is not finished from a session past it.
        self.reauth
            .require("totp_enable", signed_in, None, client)
            .await?;
        // A code oracle otherwise: each guess counts against the account like a wrong
        // password, and the pending secret goes after a few.
        let now = self.credentials.now();
        let throttle = &self.credentials.throttle;
        let device = self
            .credentials
            .known_device(client.device, now, |d| d.user_id == user.id)
            .await?;
        let key = failure_key(&user.name, device.as_deref());
        let seen = match throttle.check_account(&key, now).await? {
            Ok(seen) => seen,
            Err(limited) => {
                audit("totp_enable", "locked", &user.name, client);
                return Err(limited.into());
            }
        };
        if let Err(limited) = throttle.reserve_attempt(&key, seen, now).await? {
            audit("totp_enable", "locked", &user.name, client);
            return Err(limited.into());
        }
        let secret = self.credentials.secrets.open_totp(&user.id, pending)?;
        let Some(step) = totp::matching_step(&secret, code, now, 0) else {
            let wrong_key = format!("totp-confirm:{}", user.id);
            if throttle.count_wrong_answer(&wrong_key, now).await? >= MAX_CONFIRM_FAILURES {
                // The pending secret only: a set-up another session confirmed meanwhile stays.
                self.second_factors
                    .drop_pending_totp(&user.id, pending)
                    .await?;
                throttle.record_success(&wrong_key).await?;
                audit("totp_enable", "setup_dropped", &user.name, client);
                return Err(AccountError::SecondFactorConflict(
                    "Too many wrong codes: the set-up was cancelled. Start it again.",
                ));
            }
            audit("totp_enable", "invalid_code", &user.name, client);
            return Err(AccountError::InvalidCode);
        };
        throttle.record_success(&key).await?;
        throttle
            .record_success(&format!("totp-confirm:{}", user.id))
            .await?;
        let (codes, hashes) = totp::generate_recovery_codes();
        if !self
            .second_factors
            .enable_totp(&user.id, pending, step, &hashes)
            .await?
        {
            return Err(AccountError::SecondFactorConflict(
                "The set-up changed meanwhile (another tab?): start it again.",
            ));
        }
        audit("totp_enable", "ok", &user.name, client);
        self.mailer
            .notify(user, crate::mail::Notice::TwoFactorOn)
            .await;
        Ok(codes)
    }

    /// Turns two-factor login off, within the re-authentication window (or with the password
    /// and a code, or a recovery code, checked again).
    pub async fn disable(
        &self,
        signed_in: &SignedIn,
        proof: Option<Proof<'_>>,
        client: Client,
    ) -> AccountResult<()> {
        if signed_in.user().totp_secret.is_none() {
            return Err(AccountError::SecondFactorConflict(
                "Two-factor login is not on.",
            ));
        }
        let user = self
            .reauth
            .require("totp_disable", signed_in, proof, client)
            .await?;
        self.second_factors.disable_totp(&user.id).await?;
        audit("totp_disable", "ok", &user.name, client);
        self.mailer
            .notify(&user, crate::mail::Notice::TwoFactorOff)
            .await;
        Ok(())
    }
}
