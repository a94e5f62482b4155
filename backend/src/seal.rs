//! Tokens the server verifies without storing them: a payload and its HMAC-SHA-256 under a
//! server key, bound to a purpose.
//!
//! Used where an anonymous request would otherwise make the server write a row (a passkey
//! login's challenge): the state travels with the client, sealed, and comes back with the
//! answer. The payload is readable by the client (it holds nothing secret), but cannot be
//! changed or made up without the key. Instances that share a database must share the key.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, KeyInit, Mac};
use sha2_mac::Sha256;

/// Seals and opens tokens under one key.
#[derive(Clone)]
pub struct Sealer {
    key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(***)")
    }
}

impl Sealer {
    /// A sealer under `key`.
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// A sealer under a key of its own, for a single process (its tokens die with it).
    pub fn random() -> Self {
        Self::new(crate::ids::random_bytes())
    }

    /// `payload`, sealed for `purpose`: `<base64url payload>.<base64url mac>`.
    pub fn seal(&self, purpose: &str, payload: &[u8]) -> String {
        let body = URL_SAFE_NO_PAD.encode(payload);
        let tag = URL_SAFE_NO_PAD.encode(self.mac(purpose, &body).finalize().into_bytes());
        format!("{body}.{tag}")
    }

    /// The payload of a token sealed for `purpose` under this key; `None` for anything else
    /// (another purpose, another key, a changed or malformed token). The tag is compared in
    /// constant time.
    pub fn open(&self, purpose: &str, token: &str) -> Option<Vec<u8>> {
        let (body, tag) = token.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(purpose, body).verify_slice(&tag).ok()?;
        URL_SAFE_NO_PAD.decode(body).ok()
    }

    fn mac(&self, purpose: &str, body: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(body.as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_payload_opens_only_unchanged_for_its_purpose_and_key() {
        let sealer = Sealer::random();
        let token = sealer.seal("login", b"{\"challenge\":1}");
        assert_eq!(
            sealer.open("login", &token).as_deref(),
            Some(&b"{\"challenge\":1}"[..])
        );
        assert_eq!(sealer.open("register", &token), None);
        assert_eq!(Sealer::random().open("login", &token), None);
        let (body, tag) = token.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(b"{\"challenge\":2}");
        assert_eq!(sealer.open("login", &format!("{forged}.{tag}")), None);
        assert_eq!(sealer.open("login", body), None);
        assert_eq!(sealer.open("login", &format!("{body}.")), None);
        assert_eq!(sealer.open("login", "..."), None);
    }
}
