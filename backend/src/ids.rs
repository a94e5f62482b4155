//! Random and unique identifiers: account ids, request ids, and the hex encoding they share
//! with session tokens.

use argon2::password_hash::rand_core::{OsRng, RngCore};

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// `n` bytes from the operating system's CSPRNG, as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

/// A random 128-bit id for a new account: a later account under the same name gets another id,
/// so sessions of a deleted account never match it.
pub fn account_id() -> String {
    random_hex(16)
}

/// A unique id for a request: a random per-process prefix and a counter. Cheap (no system call
/// per request); unique, not secret.
pub fn request_id() -> String {
    use std::sync::{
        atomic::{AtomicU64, Ordering},
        LazyLock,
    };
    static PREFIX: LazyLock<u64> = LazyLock::new(|| OsRng.next_u64());
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&PREFIX.to_be_bytes());
    id[8..].copy_from_slice(&NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    hex(&id)
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_hex_of_the_right_length_and_differ() {
        let (a, b) = (account_id(), account_id());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(request_id(), request_id());
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
