//! Authenticator-app codes (RFC 6238 TOTP, as RFC 4226 HOTP over time steps) and recovery
//! codes.
//!
//! What authenticator apps use: HMAC-SHA-1, 6 digits, 30-second steps. A code is accepted one
//! step either side of now (clock drift), and the store remembers the last accepted step, so a
//! code cannot be used twice. Time is passed in, so tests move a clock instead of sleeping.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::ids::{hex, random_bytes};

/// Seconds per step.
pub const STEP_SECS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps accepted either side of the current one.
pub const DRIFT_STEPS: i64 = 1;
/// Recovery codes issued at once.
pub const RECOVERY_CODES: usize = 10;

/// A new shared secret: 160 random bits (RFC 4226's recommended length), base32 as
/// authenticator apps take it.
pub fn generate_secret() -> String {
    base32_encode(&random_bytes::<20>())
}

/// The HOTP value of `secret` at `counter` (RFC 4226 section 5.3). HMAC takes keys of any
/// length; if the library ever refused one, the answer is a value no 6-digit code equals.
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return u32::MAX;
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(DIGITS)
}

/// The time step that `now` falls in.
pub fn step_at(now: OffsetDateTime) -> i64 {
    now.unix_timestamp().div_euclid(STEP_SECS)
}

/// The step a typed code matches: within the drift window around `now`, later than
/// `last_used` (so no code is accepted twice). `None` if it matches none. `code` must be six
/// digits; spaces are ignored (apps show `123 456`).
pub fn matching_step(
    secret_b32: &str,
    code: &str,
    now: OffsetDateTime,
    last_used: i64,
) -> Option<i64> {
    let code = parse_code(code)?;
    let secret = base32_decode(secret_b32)?;
    let now = step_at(now);
    (now - DRIFT_STEPS..=now + DRIFT_STEPS)
        .filter(|&step| step > last_used && step >= 0)
        .find(|&step| hotp(&secret, step as u64) == code)
}

/// Six digits (spaces allowed), as a number; anything else is no TOTP code.
pub fn parse_code(code: &str) -> Option<u32> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == DIGITS as usize && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// The `otpauth://` URI an authenticator app reads from a QR code.
pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> String {
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret_b32}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        issuer = percent_encode(issuer),
        account = percent_encode(account),
    )
}

/// `text` as a QR code (error correction level M): SVG path data of its dark modules (each
/// horizontal run one rectangle, one unit high), on a side of the returned length (a
/// four-module quiet zone included).
pub fn qr_code(text: &str) -> Option<(String, u32)> {
    use std::fmt::Write as _;
    let qr = qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Medium).ok()?;
    let mut path = String::new();
    for y in 0..qr.size() {
        let mut x = 0;
        while x < qr.size() {
            let start = x;
            while x < qr.size() && qr.get_module(x, y) {
                x += 1;
            }
            if x > start {
                let _ = write!(
                    path,
                    "M{},{}h{}v1h-{}z",
                    start + 4,
                    y + 4,
                    x - start,
                    x - start
                );
            }
            x += 1;
        }
    }
    Some((path, (qr.size() + 8) as u32))
}

/// New recovery codes (50 random bits each, shown as `xxxxx-xxxxx`) and the hashes to store.
pub fn generate_recovery_codes() -> (Vec<String>, Vec<String>) {
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw = base32_encode(&random_bytes::<7>()).to_ascii_lowercase();
            let code = format!("{}-{}", &raw[..5], &raw[5..10]);
            let hash = recovery_code_hash(&code);
            (code, hash)
        })
        .unzip()
}

/// What the store keeps of a recovery code: hex SHA-256 of its canonical form (lower case,
/// no dashes or spaces), so `ABCDE-FGHIJ` and `abcdefghij` are the same code. The codes carry
/// 50 random bits and are single-use, so a fast hash is enough.
pub fn recovery_code_hash(code: &str) -> String {
    let canonical: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex(&Sha256::digest(canonical.as_bytes()))
}

/// RFC 4648 base32 without padding.
pub fn base32_encode(bytes: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(bytes)
}

/// The inverse of [`base32_encode`] (case-insensitive, padding and spaces ignored, as people
/// and apps write secrets).
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let cleaned: String = s
        .chars()
        .filter(|c| !matches!(c, '=' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    data_encoding::BASE32_NOPAD.decode(cleaned.as_bytes()).ok()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows: the 20-byte ASCII secret "12345678901234567890",
    /// 8-digit values; our 6 digits are their last six.
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (unix, eight_digits) in [
            (59, 94287082),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            let step = unix / STEP_SECS;
            assert_eq!(
                hotp(secret, step as u64),
                eight_digits % 1_000_000,
                "T={unix}"
            );
        }
    }

    #[test]
    fn codes_match_within_one_step_and_never_twice() {
        let secret = base32_encode(b"12345678901234567890");
        let at = |unix: i64| OffsetDateTime::from_unix_timestamp(unix).unwrap();
        let code = format!("{:06}", hotp(b"12345678901234567890", 1234567890 / 30));
        let step = 1234567890 / 30;
        assert_eq!(matching_step(&secret, &code, at(1234567890), 0), Some(step));
        // One step early or late is drift; two is not.
        assert_eq!(
            matching_step(&secret, &code, at(1234567890 - 30), 0),
            Some(step)
        );
        assert_eq!(
            matching_step(&secret, &code, at(1234567890 + 30), 0),
            Some(step)
        );
        assert_eq!(matching_step(&secret, &code, at(1234567890 + 60), 0), None);
        assert_eq!(matching_step(&secret, &code, at(1234567890 - 60), 0), None);
        // Once used (or a later step used), refused.
        assert_eq!(matching_step(&secret, &code, at(1234567890), step), None);
        // Spaces as apps show them are fine; other shapes are not codes.
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(
            matching_step(&secret, &spaced, at(1234567890), 0),
            Some(step)
        );
        for bad in ["", "12345", "1234567", "12a456", "١٢٣٤٥٦"] {
            assert_eq!(parse_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn base32_round_trips_like_rfc_4648() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("mzxw6ytboi======").unwrap(), b"foobar");
        assert_eq!(base32_decode("MZXW1"), None);
        let secret = generate_secret();
        assert_eq!(secret.len(), 32);
        assert_eq!(base32_decode(&secret).unwrap().len(), 20);
        assert_ne!(secret, generate_secret());
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_in_canonical_form() {
        let (codes, hashes) = generate_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODES);
        assert!(codes
            .iter()
            .all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'));
        assert_eq!(
            hashes[0],
            recovery_code_hash(&codes[0].to_uppercase().replace('-', " "))
        );
        assert_ne!(hashes[0], hashes[1]);
    }

    #[test]
    fn the_qr_code_is_version_sized_and_has_finder_patterns() {
        let (path, side) = qr_code(&otpauth_uri("Accounts", "Ada", &generate_secret())).unwrap();
        // A version-v symbol is 17 + 4v modules wide, plus the quiet zone on both sides.
        assert_eq!((side - 8 - 17) % 4, 0, "{side}");
        // The finder patterns' top rows: seven dark modules just inside the quiet zone, at
        // the left and at the right.
        assert!(path.starts_with("M4,4h7v1h-7z"), "{}", &path[..40]);
        assert!(
            path.contains(&format!("M{},4h7v1h-7z", side - 11)),
            "top-right finder"
        );
    }

    #[test]
    fn the_uri_names_issuer_and_account() {
        let uri = otpauth_uri("Accounts", "Ada Lovelace", "ABC");
        assert_eq!(
            uri,
            "otpauth://totp/Accounts:Ada%20Lovelace?secret=ABC&issuer=Accounts&algorithm=SHA1&digits=6&period=30"
        );
    }
}
