//! The admin socket's wire format: the client writes one request as a JSON line, the server
//! answers with one reply as a JSON line and closes the connection.

use serde::{Deserialize, Serialize};

/// Longest request line the server reads: a command and a name are far shorter, but a long
/// name typed by mistake should be "no such account", not a protocol error.
pub const MAX_REQUEST: usize = 64 * 1024;

/// A command, with the account it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum Request {
    /// Every account.
    List,
    /// One account.
    Show {
        /// As the user logs in with it.
        name: String,
    },
    /// Clear failure counts and any lock.
    Unlock {
        /// As the user logs in with it.
        name: String,
    },
    /// Refuse logins; revoke sessions.
    Disable {
        /// As the user logs in with it.
        name: String,
    },
    /// Allow logins again.
    Enable {
        /// As the user logs in with it.
        name: String,
    },
    /// Revoke every session.
    RevokeSessions {
        /// As the user logs in with it.
        name: String,
    },
    /// The next login must change the password.
    ExpirePassword {
        /// As the user logs in with it.
        name: String,
    },
    /// Issue a one-time password-reset link.
    ResetLink {
        /// As the user logs in with it.
        name: String,
        /// How long the link works, in seconds.
        ttl_secs: u64,
    },
    /// Remove two-factor login (authenticator, recovery codes, passkeys); revoke sessions.
    ResetMfa {
        /// As the user logs in with it.
        name: String,
    },
    /// Delete the account.
    Delete {
        /// As the user logs in with it.
        name: String,
    },
}

/// The server's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// For `list`.
    Accounts {
        /// Oldest first.
        accounts: Vec<AccountView>,
    },
    /// For `show`.
    Account {
        /// The account.
        account: AccountView,
    },
    /// Done; what was done, in words.
    Done {
        /// One sentence.
        message: String,
    },
    /// For `reset-link`.
    ResetLink {
        /// The link to give the user.
        link: String,
        /// Whose it is and until when, in words.
        message: String,
    },
    /// The name matches no account.
    NoSuchAccount {
        /// Says which name.
        message: String,
    },
    /// The server could not do it (a bad request, or the database is down).
    Failed {
        /// Why, in words.
        message: String,
    },
}

/// One account as operators see it; times are RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    /// As typed at registration.
    pub user_name: String,
    /// When it was registered.
    pub created_at: String,
    /// When its password was last set.
    pub password_changed_at: String,
    /// When the lock on logins from unknown browsers ends; `null` when not locked.
    pub locked_until: Option<String>,
    /// Logins refused by an operator.
    pub disabled: bool,
    /// The next login must change the password.
    pub password_expired: bool,
    /// When the pending reset link ends; `null` when there is none.
    pub reset_link_expires_at: Option<String>,
    /// Two-factor login (an authenticator app) is on.
    #[serde(default)]
    pub totp: bool,
    /// Passkeys registered.
    #[serde(default)]
    pub passkeys: u64,
    /// Sessions valid now.
    pub sessions: u64,
}
