//! Session, device and reset tokens: 256 random bits for the client, only their SHA-256 for
//! the store.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::ids::{hex, random_hex};

/// The secret a client holds in its cookie. `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// A fresh token from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self(random_hex(32))
    }

    /// Accepts only the exact shape we issue (64 lowercase hex digits); anything else is no token.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(s.to_owned()))
    }

    /// The token as the cookie carries it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the store keeps: hex SHA-256 of the token.
    pub fn store_key(&self) -> String {
        hex(&Sha256::digest(self.0.as_bytes()))
    }
}

/// A password-reset token: the same shape and the same hashed storage as a session token.
pub type ResetToken = SessionToken;

/// What identifies a device token in the store and in failure counters: its SHA-256. `Copy`,
/// so it travels with the [`crate::accounts::Client`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DeviceKey([u8; 32]);

impl DeviceKey {
    /// The key of the device token a browser sent.
    pub fn of(token: &SessionToken) -> Self {
        Self(Sha256::digest(token.0.as_bytes()).into())
    }

    /// As the store keeps it: the same hex as [`SessionToken::store_key`].
    pub fn hex(&self) -> String {
        hex(&self.0)
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceKey(***)")
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_256_bit_hex_and_parse_back() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 64);
        assert_eq!(SessionToken::parse(a.as_str()), Some(a.clone()));
        assert_ne!(a.store_key(), a.as_str());
        assert_eq!(a.store_key().len(), 64);
        assert_eq!(format!("{a:?}"), "SessionToken(***)");
    }

    #[test]
    fn foreign_shapes_are_not_tokens() {
        assert_eq!(SessionToken::parse(""), None);
        assert_eq!(SessionToken::parse(&"A".repeat(64)), None);
        assert_eq!(SessionToken::parse(&"a".repeat(63)), None);
        assert_eq!(SessionToken::parse(&"g".repeat(64)), None);
    }

    #[test]
    fn store_key_is_sha256() {
        let t = SessionToken::parse(&"0".repeat(64)).unwrap();
        // sha256("000...0" x64), computed independently with coreutils' sha256sum.
        assert_eq!(
            t.store_key(),
            "60e05bd1b195af2f94112fa7197a5c88289058840ce7c6df9693756bc6250f55"
        );
    }
}
