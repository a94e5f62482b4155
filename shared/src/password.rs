//! Passwords: a redacting newtype and the policy that new passwords must meet.
//!
//! Following NIST SP 800-63B: length is what counts (no composition rules), every Unicode code point
//! counts as one character after NFKC normalisation, and the policy applies only to *new* passwords,
//! so tightening it never locks anyone out.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::normalize::nfkc;

use crate::user_name::UserName;

/// Hard upper bound on password length, in characters.
pub const MAX_LEN: usize = 256;
/// The lowest minimum length the server may be configured with.
pub const MIN_LEN_FLOOR: usize = 8;
/// The default minimum length (NIST SP 800-63B-4, single-factor passwords).
pub const DEFAULT_MIN_LEN: usize = 15;

/// A password as received. `Debug` prints `***` so it cannot end up in a log by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    /// Wraps typed text.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The raw text, for sending it over the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The NFKC form that is hashed, so the same password typed on different systems matches.
    pub fn normalized(&self) -> String {
        nfkc(&self.0)
    }

    /// Whether nothing was typed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Password {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<String> for Password {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// Why a new password was refused. The `Display` text is meant for end users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordError {
    /// Fewer characters than the policy's minimum.
    TooShort {
        /// The minimum.
        min: usize,
    },
    /// More characters than the policy's maximum.
    TooLong {
        /// The maximum.
        max: usize,
    },
    /// The user name appears in it.
    ContainsUserName,
}

impl fmt::Display for PasswordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { min } => write!(f, "password must be at least {min} characters"),
            Self::TooLong { max } => write!(f, "password must be at most {max} characters"),
            Self::ContainsUserName => write!(f, "password must not contain the user name"),
        }
    }
}

impl std::error::Error for PasswordError {}

/// The rules for new passwords, as configured on the server and published at `GET /api/policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordPolicy {
    /// Fewest characters a new password may have.
    pub min_length: usize,
    /// Most characters a password may have.
    pub max_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: DEFAULT_MIN_LEN,
            max_length: MAX_LEN,
        }
    }
}

impl PasswordPolicy {
    /// Checks a new password for `user`. Returns the first rule it breaks.
    ///
    /// Length is counted as typed: NFKC can turn one character into many (U+FDFA becomes 18),
    /// which must not make a one-character password long enough.
    pub fn check(&self, password: &Password, user: Option<&UserName>) -> Result<(), PasswordError> {
        let len = password.expose().chars().count();
        if len < self.min_length {
            return Err(PasswordError::TooShort {
                min: self.min_length,
            });
        }
        if len > self.max_length {
            return Err(PasswordError::TooLong {
                max: self.max_length,
            });
        }
        if let Some(user) = user {
            if crate::normalize::lowercase(&password.normalized()).contains(user.canonical()) {
                return Err(PasswordError::ContainsUserName);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(min: usize) -> PasswordPolicy {
        PasswordPolicy {
            min_length: min,
            max_length: MAX_LEN,
        }
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::from("hunter2-secret");
        assert_eq!(format!("{p:?}"), "***");
        assert_eq!(format!("{:?}", Some(p)), "Some(***)");
    }

    #[test]
    fn serializes_as_a_plain_string() {
        let p: Password = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(p.expose(), "abc");
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"abc\"");
    }

    #[test]
    fn length_limits_count_characters() {
        let p = policy(15);
        assert_eq!(
            p.check(&"a".repeat(14).as_str().into(), None),
            Err(PasswordError::TooShort { min: 15 })
        );
        assert!(p.check(&"a".repeat(15).as_str().into(), None).is_ok());
        // 15 two-byte characters are 15 characters, not 30.
        assert!(p.check(&"é".repeat(15).as_str().into(), None).is_ok());
        assert!(p.check(&"é".repeat(14).as_str().into(), None).is_err());
        assert_eq!(
            p.check(&"a".repeat(257).as_str().into(), None),
            Err(PasswordError::TooLong { max: 256 })
        );
        assert!(p.check(&"a".repeat(256).as_str().into(), None).is_ok());
    }

    #[test]
    fn length_is_counted_as_typed_not_after_normalisation() {
        // U+FDFA is one character that NFKC expands to 18.
        let one = "\u{FDFA}";
        assert_eq!(Password::from(one).normalized().chars().count(), 18);
        assert_eq!(
            policy(15).check(&one.into(), None),
            Err(PasswordError::TooShort { min: 15 })
        );
        assert!(policy(15)
            .check(&one.repeat(15).as_str().into(), None)
            .is_ok());
    }

    #[test]
    fn no_composition_rules() {
        assert!(policy(8)
            .check(&"correct horse battery staple".into(), None)
            .is_ok());
        assert!(policy(8).check(&"aaaaaaaa".into(), None).is_ok());
    }

    #[test]
    fn refuses_a_password_containing_the_user_name_in_any_case() {
        let user = UserName::parse("Alice").unwrap();
        assert_eq!(
            policy(8).check(&"my-ALICE-password".into(), Some(&user)),
            Err(PasswordError::ContainsUserName)
        );
        assert!(policy(8)
            .check(&"my-bob-password".into(), Some(&user))
            .is_ok());
    }

    #[test]
    fn normalization_makes_equivalent_forms_equal() {
        assert_eq!(
            Password::from("Jos\u{e9}").normalized(),
            Password::from("Jose\u{301}").normalized()
        );
    }
}
