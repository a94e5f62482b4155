//! User names: what may be typed, and the canonical form that makes them unique.
//!
//! The canonical form is trimmed, NFKC-normalised and lower-cased, so `Alice`, `ALICE` and
//! `Ａｌｉｃｅ` (full-width) are one account. The display form the user typed is kept for replies.

use std::fmt;

use crate::normalize::nfkc;

/// Shortest allowed user name, in characters of the canonical form.
pub const MIN_LEN: usize = 3;
/// Longest allowed user name, in characters of the canonical form.
pub const MAX_LEN: usize = 32;
/// The allowed characters, in words, for messages and the policy endpoint.
pub const ALLOWED: &str = "letters, digits, '.', '_' and '-'";

/// The rules in one sentence, for a hint next to the field.
pub fn rules_hint() -> String {
    format!("{MIN_LEN} to {MAX_LEN} letters, digits, dots, dashes or underscores.")
}

/// A valid user name: the form the user typed (trimmed) and its canonical form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UserName {
    display: String,
    canonical: String,
}

/// Why a user name was refused. The `Display` text is meant for end users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserNameError {
    /// Nothing but white space.
    Empty,
    /// Fewer than [`MIN_LEN`] characters.
    TooShort,
    /// More than [`MAX_LEN`] characters.
    TooLong,
    /// A control, bidirectional-override or zero-width character: invisible, so never allowed.
    InvisibleCharacter,
    /// Any other character outside [`ALLOWED`].
    DisallowedCharacter(char),
}

impl fmt::Display for UserNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "user name is required"),
            Self::TooShort => write!(f, "user name must be at least {MIN_LEN} characters"),
            Self::TooLong => write!(f, "user name must be at most {MAX_LEN} characters"),
            Self::InvisibleCharacter => {
                write!(
                    f,
                    "user name must not contain invisible or control characters"
                )
            }
            Self::DisallowedCharacter(c) => {
                write!(f, "user name may only contain {ALLOWED}, not '{c}'")
            }
        }
    }
}

impl std::error::Error for UserNameError {}

impl UserName {
    /// Validates `raw` and computes its canonical form.
    pub fn parse(raw: &str) -> Result<Self, UserNameError> {
        let display = raw.trim();
        if display.is_empty() {
            return Err(UserNameError::Empty);
        }
        // Check invisible characters on the raw text: NFKC would silently drop some of them.
        if display.chars().any(is_invisible) {
            return Err(UserNameError::InvisibleCharacter);
        }
        let canonical = canonicalize(display);
        if let Some(c) = canonical.chars().find(|c| !is_allowed(*c)) {
            return Err(if is_invisible(c) {
                UserNameError::InvisibleCharacter
            } else {
                UserNameError::DisallowedCharacter(c)
            });
        }
        match canonical.chars().count() {
            n if n < MIN_LEN => Err(UserNameError::TooShort),
            n if n > MAX_LEN => Err(UserNameError::TooLong),
            _ => Ok(Self {
                display: display.to_owned(),
                canonical,
            }),
        }
    }

    /// The name as the user typed it (trimmed): what replies show.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The unique key: trimmed, NFKC, lower case.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }
}

impl fmt::Debug for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserName({:?})", self.canonical)
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// NFKC, then lower case, then NFKC again (lower-casing can leave a string unnormalised).
fn canonicalize(s: &str) -> String {
    nfkc(&nfkc(s).to_lowercase())
}

fn is_allowed(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// Control characters, bidi controls and zero-width characters.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' // zero-width space/joiners, LRM, RLM
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{061C}' // Arabic letter mark
            | '\u{FEFF}' // zero-width no-break space (BOM)
            | '\u{00AD}' // soft hyphen
            | '\u{180E}' // Mongolian vowel separator
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_is_trimmed_nfkc_lowercase() {
        let n = UserName::parse("  Alice_01 ").unwrap();
        assert_eq!(n.display(), "Alice_01");
        assert_eq!(n.canonical(), "alice_01");
        // Full-width letters fold to ASCII under NFKC.
        let wide = UserName::parse("Ａｌｉｃｅ").unwrap();
        assert_eq!(wide.canonical(), "alice");
        assert_eq!(wide.display(), "Ａｌｉｃｅ");
        // A decomposed é and a precomposed é are the same account.
        let composed = UserName::parse("Jos\u{e9}").unwrap();
        let decomposed = UserName::parse("Jose\u{301}").unwrap();
        assert_eq!(composed.canonical(), decomposed.canonical());
    }

    #[test]
    fn letters_of_any_script_digits_and_punctuation_are_allowed() {
        for ok in ["bob", "a.b-c_d", "Łukasz", "ユーザー", "user42", "ABC"] {
            assert!(UserName::parse(ok).is_ok(), "{ok} should be valid");
        }
    }

    #[test]
    fn length_is_counted_in_characters_of_the_canonical_form() {
        assert_eq!(UserName::parse("ab"), Err(UserNameError::TooShort));
        assert!(UserName::parse("abc").is_ok());
        assert!(UserName::parse(&"é".repeat(32)).is_ok());
        assert_eq!(
            UserName::parse(&"a".repeat(33)),
            Err(UserNameError::TooLong)
        );
        assert_eq!(UserName::parse("   "), Err(UserNameError::Empty));
        assert_eq!(UserName::parse(""), Err(UserNameError::Empty));
    }

    #[test]
    fn invisible_and_other_characters_are_refused() {
        for bad in [
            "ali\u{200B}ce",
            "ali\u{202E}ce",
            "ali\u{2066}ce",
            "ali\u{0007}ce",
            "ali\nce",
            "ali\u{FEFF}ce",
            "ali\u{AD}ce",
        ] {
            assert_eq!(
                UserName::parse(bad),
                Err(UserNameError::InvisibleCharacter),
                "{bad:?}"
            );
        }
        assert_eq!(
            UserName::parse("ali ce"),
            Err(UserNameError::DisallowedCharacter(' '))
        );
        assert_eq!(
            UserName::parse("al@ce"),
            Err(UserNameError::DisallowedCharacter('@'))
        );
    }

    #[test]
    fn messages_name_the_rule() {
        assert!(UserNameError::TooShort.to_string().contains('3'));
        assert!(UserNameError::DisallowedCharacter('@')
            .to_string()
            .contains('@'));
    }
}
