//! JSON bodies of the API. Keys follow the original service (`user_name`, `password`,
//! `newpassword`) so its clients keep working. Timestamps are RFC 3339 UTC strings.

use serde::{Deserialize, Serialize};

use crate::password::{Password, PasswordPolicy};

/// `POST /api/user/add` and `POST /api/login` (and the original `/user/add`, `/login`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub user_name: String,
    pub password: Password,
}

/// `POST /api/user/update` (and the original `/user/update`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePasswordRequest {
    pub user_name: String,
    /// The current password.
    pub password: Password,
    pub newpassword: Password,
}

/// `POST /api/user/delete`.
pub type DeleteAccountRequest = Credentials;

/// Reply to register, change password and delete: who, and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountReply {
    /// The user name as the user typed it at registration.
    pub user_name: String,
    pub message: String,
}

/// Reply to a successful login; the session itself travels in an `HttpOnly` cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginReply {
    pub user_name: String,
    pub message: String,
    /// When the session ends.
    pub expires_at: String,
}

/// `GET /api/session`: the signed-in account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user_name: String,
    /// When the account was created.
    pub created_at: String,
    pub password_changed_at: String,
    /// When this session ends.
    pub expires_at: String,
}

/// `GET /api/policy`: the rules in force, so the browser app checks input before sending it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyInfo {
    pub password: PasswordPolicy,
    pub user_name_min_length: usize,
    pub user_name_max_length: usize,
    /// The allowed characters, in words.
    pub user_name_allowed: String,
    /// Passwords older than this many seconds must be changed; `0` means never.
    pub password_max_age_secs: u64,
}
