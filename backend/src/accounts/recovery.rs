//! The way back for a user who forgot their password: an operator issues a one-time reset
//! token (`admin reset-link`, see `operator`) or the user has one mailed to their verified
//! address (see `email`), and sets a new password with it. For an account with two-factor
//! login on, the link alone is not enough: a code (or a recovery code) goes with it, and
//! after five wrong codes the link stops working.
//!
//! The token is 256 random bits; the store keeps only its SHA-256 and expiry, with the
//! account, so a newer token replaces an older one and a leaked database holds no usable
//! link. A wrong, used and expired token are one case ([`AccountError::InvalidResetToken`]).
//! Using one revokes every session and, unless the operator kept them, removes the passkeys
//! (any added since the link was issued included).

use std::sync::Arc;

use accounts_api::{Password, UserName};

use super::{audit, failure_names, Account, AccountError, AccountResult, Client, PasswordRules};
use crate::{
    clock::Clock,
    mail::Notice,
    password::Hasher,
    store::{GrantStore, PasskeyStore, RecoveryStore, ResetLink, SessionStore, UserRecord},
    throttle::{Attempt, Throttle},
    token::ResetToken,
};

/// Setting a new password with a reset link.
#[derive(Clone)]
pub struct Recovery {
    /// The second factor a link must come with, for an account that has one.
    pub(super) credentials: super::credentials::Credentials,
    /// Security notices.
    pub(super) mailer: super::Mailer,
    pub(super) recovery: Arc<dyn RecoveryStore>,
    pub(super) sessions: Arc<dyn SessionStore>,
    /// Apps' grants: a reset revokes them, as it revokes sessions.
    pub(super) grants: Arc<dyn GrantStore>,
    pub(super) passkeys: Arc<dyn PasskeyStore>,
    pub(super) hasher: Hasher,
    pub(super) throttle: Throttle,
    pub(super) rules: PasswordRules,
    pub(super) clock: Arc<dyn Clock>,
}

impl Recovery {
    /// Sets a new password with a reset token: the policy applies, every session is revoked,
    /// the passkeys are removed if the link says so, any lock is cleared and the token is
    /// used up. Rate-limited per IP like logins.
    pub async fn reset_password(
        &self,
        token: &str,
        new: &Password,
        code: Option<&str>,
        client: Client,
    ) -> AccountResult<Account> {
        self.throttle
            .spend_ip(Attempt::Credentials, client.ip, self.clock.now())
            .await??;
        let Some(token) = ResetToken::parse(token) else {
            audit("password_reset", "invalid_token", "-", client);
            return Err(AccountError::InvalidResetToken);
        };
        let key = token.store_key();
        let Some(user) = self
            .recovery
            .find_user_by_reset_token(&key, self.clock.now())
            .await?
        else {
            audit("password_reset", "invalid_token", "-", client);
            return Err(AccountError::InvalidResetToken);
        };
        let name = UserName::parse(&user.display_name).ok();
        if let Err(e) = self.rules.check(new, name.as_ref()) {
            return Err(AccountError::Invalid(vec![e.with_field("newpassword")]));
        }
        self.check_second_factor(&user, code, client).await?;
        let new_hash = self.hasher.hash(new.normalized()).await?;
        // Conditional on the token still being there: of two uses at once, one wins.
        let Some(user) = self
            .recovery
            .reset_password(&key, &new_hash, self.clock.now())
            .await?
        else {
            audit("password_reset", "invalid_token", &user.name, client);
            return Err(AccountError::InvalidResetToken);
        };
        self.sessions.delete_user_sessions(&user.id).await?;
        self.grants.delete_user_grants(&user.id, None).await?;
        if user.reset_removes_passkeys {
            self.passkeys.delete_user_passkeys(&user.id).await?;
        }
        self.throttle.forget_failures(&failure_names(&user)).await?;
        audit("password_reset", "ok", &user.name, client);
        self.mailer.notify(&user, Notice::PasswordChanged).await;
        Ok(Account::from(&user))
    }

    /// With two-factor login on, the code that must come with the link; after
    /// [`MAX_WRONG_CODES`] wrong ones the link is void (whoever holds the mailbox does not get
    /// to guess on).
    async fn check_second_factor(
        &self,
        user: &UserRecord,
        code: Option<&str>,
        client: Client,
    ) -> AccountResult<()> {
        if user.totp_secret.is_none() {
            return Ok(());
        }
        let wrong_key = format!("reset-code:{}", user.id);
        match self
            .credentials
            .check_second_factor("password_reset", user, code, client)
            .await
        {
            Ok(()) => Ok(self.throttle.record_success(&wrong_key).await?),
            Err(AccountError::InvalidCode) => {
                let now = self.clock.now();
                if self.throttle.count_wrong_answer(&wrong_key, now).await? >= MAX_WRONG_CODES {
                    let void = ResetToken::generate();
                    self.recovery
                        .set_reset_token(
                            &user.name,
                            &ResetLink {
                                token_hash: &void.store_key(),
                                expires_at: now,
                                removes_passkeys: false,
                                by_operator: false,
                            },
                        )
                        .await?;
                    self.throttle.record_success(&wrong_key).await?;
                    audit("password_reset", "link_voided", &user.name, client);
                    return Err(AccountError::InvalidResetToken);
                }
                Err(AccountError::InvalidCode)
            }
            Err(e) => Err(e),
        }
    }
}

/// Wrong codes a reset link may be tried with.
const MAX_WRONG_CODES: u32 = 5;
