//! The way back for a user who forgot their password: an operator issues a one-time reset
//! token (`admin reset-link`), and the user sets a new password with it.
//!
//! The token is 256 random bits; the store keeps only its SHA-256 and expiry, with the
//! account, so a newer token replaces an older one and a leaked database holds no usable
//! link. A wrong, used and expired token are one case ([`AccountError::InvalidResetToken`]).

use std::time::Duration;

use accounts_api::{Password, UserName};
use time::OffsetDateTime;

use super::{admin::operator_audit, audit, Account, AccountError, AccountResult, Accounts, Client};
use crate::{throttle::Attempt, token::ResetToken};

/// A reset token just issued: the secret for the link, and whose it is until when.
#[derive(Debug)]
pub struct IssuedReset {
    /// The secret; only its hash is stored.
    pub token: ResetToken,
    /// The account.
    pub account: Account,
    /// When the token stops working.
    pub expires_at: OffsetDateTime,
}

impl Accounts {
    /// Issues a reset token for the account, valid for `ttl`, replacing any earlier one.
    pub async fn issue_reset_token(&self, name: &str, ttl: Duration) -> AccountResult<IssuedReset> {
        let user = self.operator_find(name).await?;
        let token = ResetToken::generate();
        let expires_at = self.clock.now() + ttl;
        if !self
            .store
            .set_reset_token(&user.name, &token.store_key(), expires_at)
            .await?
        {
            return Err(AccountError::NoSuchAccount(name.to_owned()));
        }
        operator_audit("reset_link", &user.name);
        Ok(IssuedReset {
            token,
            account: Account::from(&user),
            expires_at,
        })
    }

    /// Sets a new password with a reset token: the policy applies, every session is revoked,
    /// any lock is cleared and the token is used up. Rate-limited per IP like logins.
    pub async fn reset_password(
        &self,
        token: &str,
        new: &Password,
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
            .store
            .find_user_by_reset_token(&key, self.clock.now())
            .await?
        else {
            audit("password_reset", "invalid_token", "-", client);
            return Err(AccountError::InvalidResetToken);
        };
        let name = UserName::parse(&user.display_name).ok();
        if let Err(e) = self.check_new_password(new, name.as_ref()) {
            return Err(AccountError::Invalid(vec![e.with_field("newpassword")]));
        }
        let new_hash = self.hasher.hash(new.normalized()).await?;
        // Conditional on the token still being there: of two uses at once, one wins.
        let Some(user) = self
            .store
            .reset_password(&key, &new_hash, self.clock.now())
            .await?
        else {
            audit("password_reset", "invalid_token", &user.name, client);
            return Err(AccountError::InvalidResetToken);
        };
        self.store.delete_user_sessions(&user.id).await?;
        self.forget_failures(&user).await?;
        audit("password_reset", "ok", &user.name, client);
        Ok(Account::from(&user))
    }
}
