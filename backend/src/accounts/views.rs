//! What the use cases hand out: views of accounts and sessions without hashes, secrets or
//! storage keys, so the HTTP layer and the operator's commands never see a storage record.

use time::OffsetDateTime;

use std::sync::Arc;

use crate::store::{SessionLookup, UserRecord};

/// An account as its owner (or an operator) may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Canonical user name (the unique key), for operators' messages and logs.
    pub name: String,
    /// The name as typed at registration.
    pub display_name: String,
    /// When the account was registered.
    pub created_at: OffsetDateTime,
    /// When the password was last set.
    pub password_changed_at: OffsetDateTime,
    /// Whether two-factor login (an authenticator app) is on.
    pub two_factor: bool,
    /// Turned off by an operator.
    pub disabled: bool,
    /// The account's email address, if it has one.
    pub email: Option<String>,
    /// Whether its owner confirmed it.
    pub email_verified: bool,
}

impl From<&UserRecord> for Account {
    fn from(u: &UserRecord) -> Self {
        Self {
            name: u.name.clone(),
            display_name: u.display_name.clone(),
            created_at: u.created_at,
            password_changed_at: u.password_changed_at,
            two_factor: u.totp_secret.is_some(),
            disabled: u.disabled,
            email: u.email.clone(),
            email_verified: u.email_verified,
        }
    }
}

/// A valid session and its account. Opaque outside the use cases: handlers pass it back to
/// them and read only the views.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The session, its account and the account's counts, as the store looked them up
    /// (shared with the embedded store's cache, not copied).
    pub(super) found: Arc<SessionLookup>,
}

impl SignedIn {
    /// The signed-in account.
    pub fn account(&self) -> Account {
        Account::from(self.user())
    }

    /// When this session ends by itself.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.found.session.expires_at
    }

    /// The account's record.
    pub(super) fn user(&self) -> &UserRecord {
        &self.found.user
    }
}

/// What the signed-in user's account page shows: read with the session, no further query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    /// The account.
    pub account: Account,
    /// When the session ends.
    pub expires_at: OffsetDateTime,
    /// Unused recovery codes (0 with two-factor login off).
    pub recovery_codes_left: u64,
    /// How many passkeys the account has.
    pub passkeys: u64,
    /// Until when sensitive changes need no re-authentication.
    pub reauth_until: OffsetDateTime,
}
