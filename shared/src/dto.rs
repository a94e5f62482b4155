//! JSON bodies of the API. Keys follow the original service (`user_name`, `password`,
//! `newpassword`) so its clients keep working. Timestamps are RFC 3339 UTC strings.

use serde::{Deserialize, Serialize};

use crate::password::{Password, PasswordPolicy};

/// `POST /api/user/add` and `POST /api/login` (and the original `/user/add`, `/login`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Credentials {
    /// The user name, in any case or Unicode form.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 3, max_length = 32, example = "Ada")
    )]
    pub user_name: String,
    /// The password (new, when registering).
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 1, max_length = 256, example = "correct horse battery"))]
    pub password: Password,
}

/// `POST /api/user/update` (and the original `/user/update`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangePasswordRequest {
    /// The user name, in any case or Unicode form.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 3, max_length = 32, example = "Ada")
    )]
    pub user_name: String,
    /// The current password.
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 1, max_length = 256, example = "correct horse battery"))]
    pub password: Password,
    /// The new password: at least the configured minimum length (8 or more), at most 256
    /// characters, not the user name, not a commonly used password.
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 8, max_length = 256, example = "staple orbit lantern"))]
    pub newpassword: Password,
}

/// `POST /api/password/reset`: a new password, with the token of an operator's reset link.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResetPasswordRequest {
    /// The token from the link's `#token=` fragment (64 hexadecimal digits).
    #[cfg_attr(
        feature = "openapi",
        schema(example = "3f7a0c9e5b1d2f4a6c8e0b2d4f6a8c0e3f7a0c9e5b1d2f4a6c8e0b2d4f6a8c0e")
    )]
    pub token: String,
    /// The new password: at least the configured minimum length (8 or more), at most 256
    /// characters, not the user name, not a commonly used password.
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 8, max_length = 256, example = "staple orbit lantern"))]
    pub newpassword: Password,
}

/// The token is a credential: never in logs.
impl std::fmt::Debug for ResetPasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetPasswordRequest")
            .field("token", &"***")
            .field("newpassword", &self.newpassword)
            .finish()
    }
}

/// `POST /api/user/delete`.
pub type DeleteAccountRequest = Credentials;

/// Reply to register, change password and delete: who, and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountReply {
    /// The user name as the user typed it at registration.
    pub user_name: String,
    /// What happened, in words.
    pub message: String,
}

/// Reply to a successful login; the session itself travels in an `HttpOnly` cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginReply {
    /// The user name as the user typed it at registration.
    pub user_name: String,
    /// What happened, in words.
    pub message: String,
    /// When the session ends.
    pub expires_at: String,
}

/// `GET /api/session`: the signed-in account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    /// The user name as the user typed it at registration.
    pub user_name: String,
    /// When the account was created.
    pub created_at: String,
    /// When the password was last changed.
    pub password_changed_at: String,
    /// When this session ends.
    pub expires_at: String,
}

/// `GET /api/policy`: the rules in force, so the browser app checks input before sending it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyInfo {
    /// The rules for new passwords.
    pub password: PasswordPolicy,
    /// Shortest user name, in characters.
    pub user_name_min_length: usize,
    /// Longest user name, in characters.
    pub user_name_max_length: usize,
    /// The allowed characters, in words.
    pub user_name_allowed: String,
    /// Passwords older than this many seconds must be changed; `0` means never.
    pub password_max_age_secs: u64,
}
