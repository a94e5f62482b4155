//! A user's email address: checked once, at the edge, then carried as a type that is known to
//! be valid and to have its unique key.

use std::fmt;

/// The longest address accepted: RFC 5321's limit on a forward path, less the angle brackets.
pub const MAX_LEN: usize = 254;

/// A valid address, as the user typed it (surrounding blanks removed), and its key.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress {
    typed: String,
    key: String,
}

/// Why an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Nothing but blanks.
    #[error("email address is required")]
    Empty,
    /// Over [`MAX_LEN`] characters.
    #[error("email address must be at most {MAX_LEN} characters")]
    TooLong,
    /// A control character (a line break would let a caller add mail headers).
    #[error("email address must not contain control characters")]
    ControlCharacter,
    /// Not `local@domain.tld`.
    #[error("not an email address: expected name@example.org")]
    Syntax,
}

impl EmailAddress {
    /// Checks an address: at most [`MAX_LEN`] characters, no control characters, the syntax
    /// of RFC 5322 (by the `email_address` crate) without a display name or an IP literal,
    /// and, narrower than RFC 5322 so that one mailbox has one key: printable ASCII only,
    /// no quoted local part (a relay strips the quotes, so `"ann"@x` would be a second key
    /// for `ann@x`), a domain of letters, digits and hyphens with at least two labels and a
    /// top-level label that is not all digits.
    pub fn parse(raw: &str) -> Result<Self, AddressError> {
        let typed = raw.trim_matches([' ', '\t']);
        if typed.chars().any(char::is_control) {
            return Err(AddressError::ControlCharacter);
        }
        if typed.is_empty() {
            return Err(AddressError::Empty);
        }
        if typed.chars().count() > MAX_LEN {
            return Err(AddressError::TooLong);
        }
        let Some((local, domain)) = typed.rsplit_once('@') else {
            return Err(AddressError::Syntax);
        };
        let plain_local = local.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(
                    b,
                    b'"' | b'\\'
                        | b'('
                        | b')'
                        | b','
                        | b':'
                        | b';'
                        | b'<'
                        | b'>'
                        | b'['
                        | b']'
                        | b'@'
                )
        });
        let labels: Vec<&str> = domain.split('.').collect();
        let plain_domain = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.bytes().any(|b| b.is_ascii_alphabetic()));
        if !plain_local || !plain_domain {
            return Err(AddressError::Syntax);
        }
        let options = email_address::Options {
            minimum_sub_domains: 2,
            allow_domain_literal: false,
            allow_display_text: false,
            ..Default::default()
        };
        email_address::EmailAddress::parse_with_options(typed, options)
            .map_err(|_| AddressError::Syntax)?;
        typed
            .parse::<lettre::Address>()
            .map_err(|_| AddressError::Syntax)?;
        Ok(Self {
            typed: typed.to_owned(),
            key: key(typed),
        })
    }

    /// The address as typed.
    pub fn as_str(&self) -> &str {
        &self.typed
    }

    /// The unique key: the whole address lowercased. Domains are caseless; local parts may
    /// in theory not be, but no mail provider in use treats `Ann` and `ann` as two people, so
    /// one mailbox cannot hold two accounts under two spellings.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// The key of an address as typed (to look an account up by an address that may not parse).
pub fn key(address: &str) -> String {
    address.trim_matches([' ', '\t']).to_lowercase()
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EmailAddress").field(&self.typed).finish()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.typed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_addresses_are_kept_as_typed_with_a_lowercase_key() {
        let a = EmailAddress::parse("  Ann.Lee+accounts@Example.ORG ").unwrap();
        assert_eq!(a.as_str(), "Ann.Lee+accounts@Example.ORG");
        assert_eq!(a.key(), "ann.lee+accounts@example.org");
        assert_eq!(key(" ANN@example.org"), "ann@example.org");
    }

    #[test]
    fn header_injection_and_other_bad_input_are_refused() {
        for (raw, why) in [
            ("", AddressError::Empty),
            ("   ", AddressError::Empty),
            (
                "ann@example.org\r\nBcc: all@example.org",
                AddressError::ControlCharacter,
            ),
            ("ann@example.org\n", AddressError::ControlCharacter),
            ("ann\0@example.org", AddressError::ControlCharacter),
            ("ann", AddressError::Syntax),
            ("ann@", AddressError::Syntax),
            ("@example.org", AddressError::Syntax),
            ("ann@localhost", AddressError::Syntax),
            ("ann@[127.0.0.1]", AddressError::Syntax),
            ("Ann <ann@example.org>", AddressError::Syntax),
            ("ann@@example.org", AddressError::Syntax),
            ("ann@example..org", AddressError::Syntax),
            // One mailbox, one key: no quoted local parts, no look-alike or invisible
            // characters, no IDN (its punycode form would be a second key).
            ("\"ann\"@example.org", AddressError::Syntax),
            ("\"a b\"@example.org", AddressError::Syntax),
            ("\"a,b@evil.org\"@example.org", AddressError::Syntax),
            ("ann@ex\u{ad}ample.org", AddressError::Syntax),
            ("ann\u{200b}@example.org", AddressError::Syntax),
            ("\u{feff}ann@example.org", AddressError::Syntax),
            ("ann@example.org\u{2028}", AddressError::Syntax),
            ("jörg@bücher.de", AddressError::Syntax),
            ("ann@exa_mple.org", AddressError::Syntax),
            ("ann@example.123", AddressError::Syntax),
            ("ann@-example.org", AddressError::Syntax),
        ] {
            assert_eq!(EmailAddress::parse(raw), Err(why), "{raw:?}");
        }
        let long = format!("{}@example.org", "a".repeat(MAX_LEN));
        assert_eq!(EmailAddress::parse(&long), Err(AddressError::TooLong));
    }
}
