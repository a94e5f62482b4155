//! Every way a use case can fail, in the use cases' own terms (no HTTP here).

use std::time::Duration;

use accounts_api::FieldError;

use crate::{
    password::HashError,
    store::{Cause, StoreError},
    throttle::Limited,
};

/// Every way a use case can fail. Unknown user and wrong password are deliberately one variant.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// One or more fields break the rules; each says which and why.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The user name is taken (in any case or Unicode form).
    #[error("user name is taken")]
    UserExists,
    /// Unknown user or wrong password: deliberately one case.
    #[error("wrong user name or password")]
    InvalidCredentials,
    /// The password is right but older than the maximum age.
    #[error("password expired")]
    PasswordExpired,
    /// The password is right but an operator has disabled the account.
    #[error("account disabled")]
    AccountDisabled,
    /// A password-reset token that is wrong, used or expired: deliberately one case.
    #[error("invalid reset token")]
    InvalidResetToken,
    /// An operator named an account that does not exist (never an HTTP reply: logins keep
    /// unknown names and wrong passwords one case).
    #[error("no account named `{0}`")]
    NoSuchAccount(String),
    /// The password is right, but the account needs its second factor too; a login gets a
    /// ticket to send the code with.
    #[error("second factor required")]
    SecondFactorRequired {
        /// For `SignIn::login_with_ticket`.
        login_ticket: Option<String>,
    },
    /// A login ticket that is not (or no longer) good: log in with the password again.
    #[error("invalid login ticket")]
    InvalidLoginTicket,
    /// The second factor is wrong or was used before.
    #[error("invalid second factor")]
    InvalidCode,
    /// Two-factor login is already on, or not on; says which.
    #[error("{0}")]
    SecondFactorConflict(&'static str),
    /// Passkeys are off: the public URL cannot name a WebAuthn relying party.
    #[error("passkeys are not available")]
    PasskeysUnavailable,
    /// A passkey ceremony failed: unknown, used or expired, or the browser's answer does not
    /// verify. Deliberately one case.
    #[error("passkey not accepted")]
    InvalidPasskey,
    /// The account has no passkey with that id.
    #[error("no such passkey")]
    NoSuchPasskey,
    /// A sensitive change, and the session's holder has not proved who they are within the
    /// re-authentication window.
    #[error("re-authentication required")]
    ReauthRequired,
    /// An email verification token that is wrong, used, expired or replaced.
    #[error("invalid or expired verification link")]
    InvalidEmailToken,
    /// No SMTP relay is configured: nothing can be mailed.
    #[error("mail is not set up")]
    MailUnavailable,
    /// No valid session.
    #[error("no valid session")]
    Unauthenticated,
    /// Too many attempts (from this IP, or on this account name).
    #[error("rate limited")]
    RateLimited {
        /// How long until an attempt may succeed.
        retry_after: Duration,
    },
    /// The database cannot be reached right now; worth retrying later.
    #[error("database unavailable")]
    Unavailable(#[source] Cause),
    /// Too many password checks are waiting: shed, worth retrying in a moment.
    #[error("too many password checks waiting")]
    Overloaded,
    /// A bug, corrupt data or a library failure; details in the log only.
    #[error("internal failure")]
    Internal(#[source] Cause),
}

impl AccountError {
    /// [`AccountError::Internal`], saying what was being done when `source` happened.
    pub fn internal(what: &str, source: impl std::fmt::Display) -> Self {
        Self::Internal(format!("{what}: {source}").into())
    }
}

impl From<StoreError> for AccountError {
    /// A duplicate that reaches this far was not expected by the use case: a bug.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::Unavailable(Box::new(e)),
            StoreError::Duplicate | StoreError::Internal(_) => Self::Internal(Box::new(e)),
        }
    }
}

impl From<HashError> for AccountError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Overloaded => Self::Overloaded,
            other => Self::Internal(Box::new(other)),
        }
    }
}

/// The result of every use case.
pub type AccountResult<T> = Result<T, AccountError>;

impl From<Limited> for AccountError {
    fn from(l: Limited) -> Self {
        Self::RateLimited {
            retry_after: l.retry_after,
        }
    }
}
