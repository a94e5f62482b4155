//! Session, device and reset tokens: 256 random bits for the client, only their SHA-256 for
//! the store. Each kind is its own type, so one can never be passed where another is meant.

use std::{fmt, marker::PhantomData};

use sha2::{Digest, Sha256};

use crate::ids::{hex, random_hex};

/// What a token opens; names its type in `Debug`.
pub trait TokenKind {
    /// The type's name, for `Debug`.
    const NAME: &'static str;
}

/// A login: the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {}

/// A browser known to an account: the device cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {}

/// A password-reset link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {}

/// An email verification link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailVerification {}

impl TokenKind for Session {
    const NAME: &'static str = "SessionToken";
}
impl TokenKind for Device {
    const NAME: &'static str = "DeviceToken";
}
impl TokenKind for Reset {
    const NAME: &'static str = "ResetToken";
}
impl TokenKind for EmailVerification {
    const NAME: &'static str = "EmailToken";
}

/// An OAuth token: authorization code, access token or refresh token (the store says which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oauth {}

impl TokenKind for Oauth {
    const NAME: &'static str = "OauthToken";
}

/// The secret of an authorization code, access token or refresh token.
pub type OauthToken = Token<Oauth>;
/// The secret a client holds in its session cookie. `Debug` is redacted.
pub type SessionToken = Token<Session>;
/// The secret a browser holds in its device cookie.
pub type DeviceToken = Token<Device>;
/// The secret in a password-reset link.
pub type ResetToken = Token<Reset>;
/// The secret in an email verification link.
pub type EmailToken = Token<EmailVerification>;

/// A secret of kind `K` that a client holds. `Debug` is redacted.
pub struct Token<K>(String, PhantomData<K>);

impl<K> Token<K> {
    /// A fresh token from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self(random_hex(32), PhantomData)
    }

    /// Accepts only the exact shape we issue (64 lowercase hex digits); anything else is no token.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(s.to_owned(), PhantomData))
    }

    /// The token as the client carries it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the store keeps: hex SHA-256 of the token.
    pub fn store_key(&self) -> String {
        hex(&Sha256::digest(self.0.as_bytes()))
    }
}

// Written out: derives would ask the same of `K`, which is never a value.
impl<K> Clone for Token<K> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), PhantomData)
    }
}

impl<K> PartialEq for Token<K> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<K> Eq for Token<K> {}

impl<K: TokenKind> fmt::Debug for Token<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(***)", K::NAME)
    }
}

/// What identifies a device token in the store and in failure counters: its SHA-256. `Copy`,
/// so it travels with the [`crate::accounts::Client`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DeviceKey([u8; 32]);

impl DeviceKey {
    /// The key of the device token a browser sent.
    pub fn of(token: &DeviceToken) -> Self {
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
        assert_eq!(format!("{:?}", ResetToken::generate()), "ResetToken(***)");
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
