//! Operator actions, as the admin socket offers them: look at accounts, unlock, disable and
//! enable, revoke sessions, expire a password, issue a reset link, remove the second
//! factors, delete.
//!
//! An operator names an account the way its user logs in (any case or Unicode form). Unlike a
//! login, an unknown name is said to be unknown ([`AccountError::NoSuchAccount`]): only someone
//! with access to the admin socket gets here. Each action is an audit event ("admin socket").

use std::{sync::Arc, time::Duration};

use accounts_api::UserName;
use time::OffsetDateTime;

use super::{
    credentials::Credentials, failure_names, Account, AccountData, AccountError, AccountResult,
};
use crate::{
    clock::Clock,
    store::{RecoveryStore, ResetLink, UserRecord},
    throttle::{failure_key, Throttle},
    token::ResetToken,
};

/// A reset token just issued: the secret for the link, and whose it is until when.
#[derive(Debug)]
pub struct IssuedReset {
    /// The secret; only its hash is stored.
    pub token: ResetToken,
    /// The account.
    pub account: Account,
    /// When the token stops working.
    pub expires_at: OffsetDateTime,
    /// How many passkeys went with it.
    pub passkeys_removed: u64,
    /// How many passkeys stay, when the operator kept them.
    pub passkeys_kept: u64,
}

/// What the admin socket offers.
#[derive(Clone)]
pub struct Operator {
    pub(super) credentials: Credentials,
    pub(super) data: AccountData,
    pub(super) recovery: Arc<dyn RecoveryStore>,
    pub(super) throttle: Throttle,
    pub(super) clock: Arc<dyn Clock>,
    /// Security notices.
    pub(super) mailer: super::Mailer,
}

/// What an operator sees of one account (never its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountStatus {
    /// The user name as typed at registration.
    pub user_name: String,
    /// When the account was registered.
    pub created_at: OffsetDateTime,
    /// When its password was last set.
    pub password_changed_at: OffsetDateTime,
    /// When the lock on logins from browsers the account does not know ends, if it is locked.
    pub locked_until: Option<OffsetDateTime>,
    /// Turned off by an operator.
    pub disabled: bool,
    /// Expired by an operator: the next login must change the password.
    pub password_expired: bool,
    /// When the pending reset link ends, if there is one.
    pub reset_link_expires_at: Option<OffsetDateTime>,
    /// Sessions valid now.
    pub sessions: u64,
    /// Two-factor login (an authenticator app) is on.
    pub totp: bool,
    /// Passkeys registered.
    pub passkeys: u64,
    /// The account's email address, if any.
    pub email: Option<String>,
    /// Whether its owner confirmed it.
    pub email_verified: bool,
    /// The groups it is in.
    pub groups: Vec<String>,
}

impl Operator {
    /// Every account, oldest first.
    pub async fn account_statuses(&self) -> AccountResult<Vec<AccountStatus>> {
        let mut statuses = Vec::new();
        for user in self.data.users.all_users().await? {
            statuses.push(self.status_of(user).await?);
        }
        Ok(statuses)
    }

    /// One account.
    pub async fn account_status(&self, name: &str) -> AccountResult<AccountStatus> {
        let user = self.operator_find(name).await?;
        self.status_of(user).await
    }

    /// Clears the account's failure counts, and so any lock. Returns the account and when the
    /// lock would have ended, if there was one.
    pub async fn unlock(&self, name: &str) -> AccountResult<(Account, Option<OffsetDateTime>)> {
        let user = self.operator_find(name).await?;
        let was_locked = self.locked_until(&user).await?;
        self.throttle.forget_failures(&failure_names(&user)).await?;
        operator_audit("unlock", &user.name);
        Ok((Account::from(&user), was_locked))
    }

    /// Disables or enables the account. Disabling revokes its sessions; returns how many.
    pub async fn set_disabled(&self, name: &str, disabled: bool) -> AccountResult<(Account, u64)> {
        let user = self.operator_find(name).await?;
        if !self.data.users.set_disabled(&user.name, disabled).await? {
            return Err(AccountError::NoSuchAccount(name.to_owned()));
        }
        let revoked = if disabled {
            self.data.revoke_access(&user.id).await?
        } else {
            0
        };
        operator_audit(if disabled { "disable" } else { "enable" }, &user.name);
        let account = Account {
            disabled,
            ..Account::from(&user)
        };
        Ok((account, revoked))
    }

    /// Revokes every session of the account; returns how many there were.
    pub async fn revoke_sessions(&self, name: &str) -> AccountResult<(Account, u64)> {
        let user = self.operator_find(name).await?;
        let revoked = self.data.revoke_access(&user.id).await?;
        operator_audit("revoke_sessions", &user.name);
        Ok((Account::from(&user), revoked))
    }

    /// Makes the next login answer "password expired" until the password is changed.
    pub async fn expire_password(&self, name: &str) -> AccountResult<Account> {
        let user = self.operator_find(name).await?;
        if !self.data.users.expire_password(&user.name).await? {
            return Err(AccountError::NoSuchAccount(name.to_owned()));
        }
        operator_audit("expire_password", &user.name);
        Ok(Account::from(&user))
    }

    /// Deletes the account, its sessions and the browsers known to it.
    pub async fn remove_account(&self, name: &str) -> AccountResult<Account> {
        // The delete is conditional on the hash read; a password change in between (rare)
        // only means reading again.
        for _ in 0..3 {
            let user = self.operator_find(name).await?;
            if self.data.delete(&user).await? {
                operator_audit("delete", &user.name);
                return Ok(Account::from(&user));
            }
        }
        Err(AccountError::Internal(
            "the account kept changing while it was being deleted".into(),
        ))
    }

    /// The account an operator means by `name`: matched like a login; a name that no longer
    /// parses under today's rules (an account from before a rule change) is matched as stored.
    async fn operator_find(&self, name: &str) -> AccountResult<UserRecord> {
        let found = match UserName::parse(name) {
            Ok(parsed) => self.credentials.find_account(&parsed).await?,
            Err(_) => self.data.users.find_user(name.trim()).await?,
        };
        found.ok_or_else(|| AccountError::NoSuchAccount(name.to_owned()))
    }

    async fn status_of(&self, user: UserRecord) -> AccountResult<AccountStatus> {
        let now = self.clock.now();
        Ok(AccountStatus {
            locked_until: self.locked_until(&user).await?,
            sessions: self
                .data
                .sessions
                .count_user_sessions(&user.id, now)
                .await?,
            reset_link_expires_at: user.reset_expires_at.filter(|t| *t > now),
            user_name: user.display_name,
            created_at: user.created_at,
            password_changed_at: user.password_changed_at,
            disabled: user.disabled,
            password_expired: user.password_expired,
            totp: user.totp_secret.is_some(),
            passkeys: self.data.passkeys.count_user_passkeys(&user.id).await?,
            groups: self.data.groups.user_groups(&user.id).await?,
            email: user.email,
            email_verified: user.email_verified,
        })
    }

    /// When the lock on the account's shared failure budget ends, if it is locked now.
    async fn locked_until(&self, user: &UserRecord) -> AccountResult<Option<OffsetDateTime>> {
        let now = self.clock.now();
        for name in failure_names(user) {
            if let Some(end) = self
                .throttle
                .locked_until(&failure_key(&name, None), now)
                .await?
            {
                return Ok(Some(end));
            }
        }
        Ok(None)
    }

    /// Issues a reset token for the account, valid for `ttl`, replacing any earlier one. Unless
    /// `keep_passkeys`, the account's passkeys are removed now and again when the link is
    /// used: a reset is for an account someone else may have had, and a passkey they added
    /// (before the link, or with the old password or a session until it is used) would
    /// outlive the new password.
    pub async fn issue_reset_token(
        &self,
        name: &str,
        ttl: Duration,
        keep_passkeys: bool,
    ) -> AccountResult<IssuedReset> {
        let user = self.operator_find(name).await?;
        let token = ResetToken::generate();
        let expires_at = self.clock.now() + ttl;
        if !self
            .recovery
            .set_reset_token(
                &user.name,
                &ResetLink {
                    token_hash: &token.store_key(),
                    expires_at,
                    removes_passkeys: !keep_passkeys,
                    by_operator: true,
                },
            )
            .await?
        {
            return Err(AccountError::NoSuchAccount(name.to_owned()));
        }
        let (passkeys_removed, passkeys_kept) = if keep_passkeys {
            (0, self.data.passkeys.count_user_passkeys(&user.id).await?)
        } else {
            (self.data.passkeys.delete_user_passkeys(&user.id).await?, 0)
        };
        tracing::info!(target: "audit", action = "reset_link", outcome = "ok", user = user.name,
            passkeys_removed, passkeys_kept, keep_passkeys, who = "admin socket", "audit");
        self.mailer
            .notify(&user, crate::mail::Notice::ResetLinkIssued)
            .await;
        Ok(IssuedReset {
            token,
            account: Account::from(&user),
            expires_at,
            passkeys_removed,
            passkeys_kept,
        })
    }

    /// The operator's way out for a user who lost their device: removes the authenticator
    /// secret, the recovery codes and the passkeys, and revokes every session. Returns the
    /// account, whether it had any of them, and how many sessions were revoked.
    pub async fn reset_second_factors(&self, name: &str) -> AccountResult<(Account, bool, u64)> {
        let user = self.operator_find(name).await?;
        let had_totp = self.data.second_factors.disable_totp(&user.id).await?;
        let passkeys = self.data.passkeys.delete_user_passkeys(&user.id).await?;
        let was_on = had_totp || passkeys > 0;
        let revoked = self.data.revoke_access(&user.id).await?;
        operator_audit("reset_mfa", &user.name);
        let account = Account {
            two_factor: false,
            ..Account::from(&user)
        };
        Ok((account, was_on, revoked))
    }
}

/// An operator's action on the `audit` log target.
fn operator_audit(action: &'static str, user: &str) {
    tracing::info!(target: "audit", action, outcome = "ok", user, who = "admin socket", "audit");
}
