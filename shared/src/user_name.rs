//! User names: what may be typed, and the canonical form that makes them unique.
//!
//! The canonical form is trimmed, NFKC-normalised and case-folded (Unicode caseless matching,
//! so `σας`, `σασ` and `ΣΑΣ` are one name, and so are `Straße` and `STRASSE`), so `Alice`,
//! `ALICE` and `Ａｌｉｃｅ` (full-width) are one account. The display form the user typed is
//! kept for replies. A new name must not mix scripts (a Cyrillic `а` among Latin letters).
//!
//! In the browser the canonical form lower-cases instead of case-folding (the folding tables
//! are too big for the download); it is only used there to check that a password does not
//! contain the name, and the server decides.

use std::fmt;

use crate::normalize::{lowercase, nfkc};

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
    /// Letters of more than one script (UTS #39), as in a look-alike of another name.
    MixedScripts,
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
            Self::MixedScripts => write!(
                f,
                "user name must not mix letters of different scripts (such as Latin and Cyrillic)"
            ),
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

    /// Validates a name for a new account: [`UserName::parse`], and its letters must all be of
    /// one script. (Only for new names: existing ones keep logging in.)
    pub fn parse_new(raw: &str) -> Result<Self, UserNameError> {
        let name = Self::parse(raw)?;
        if !single_script(&name.canonical) {
            return Err(UserNameError::MixedScripts);
        }
        Ok(name)
    }

    /// The canonical form this name had before case folding (trimmed, NFKC, lower case), under
    /// which an account registered then may still be stored.
    pub fn legacy_canonical(&self) -> String {
        nfkc(&lowercase(&nfkc(&self.display)))
    }

    /// The name as the user typed it (trimmed): what replies show.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The unique key: trimmed, NFKC, case-folded.
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

/// NFKC, then case folding, then NFKC again (folding can leave a string unnormalised).
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn canonicalize(s: &str) -> String {
    nfkc(&caseless::default_case_fold_str(&nfkc(s)))
}

/// In the browser: lower case instead of case folding (see the module documentation).
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn canonicalize(s: &str) -> String {
    nfkc(&lowercase(&nfkc(s)))
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn single_script(s: &str) -> bool {
    unicode_security::MixedScript::is_single_script(s)
}

/// In the browser every name passes; the server refuses mixed scripts.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn single_script(_: &str) -> bool {
    true
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn is_allowed(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// The same test with the JS engine's Unicode tables (`\p{Alphabetic}` and `\p{N}` are what
/// `char::is_alphanumeric` means), so the download does not carry them.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn is_allowed(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    }
    thread_local! {
        static LETTER_OR_DIGIT: js_sys::RegExp =
            js_sys::RegExp::new(r"^[\p{Alphabetic}\p{N}]$", "u");
    }
    LETTER_OR_DIGIT.with(|re| re.test(&c.to_string()))
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
    fn names_are_matched_caselessly_not_just_lower_cased() {
        let key = |s: &str| UserName::parse(s).unwrap().canonical().to_owned();
        // Final and medial sigma, and capital sigma, are one letter.
        assert_eq!(key("σας"), key("σασ"));
        assert_eq!(key("ΣΑΣ"), key("σας"));
        // Sharp s folds to ss.
        assert_eq!(key("Straße"), key("STRASSE"));
        assert_eq!(key("Ａｌｉｃｅ"), "alice");
        // What lower-casing alone gave, for accounts registered before.
        assert_eq!(UserName::parse("Σας").unwrap().legacy_canonical(), "σας");
        assert_eq!(UserName::parse("Σας").unwrap().canonical(), "σασ");
    }

    #[test]
    fn a_new_name_must_not_mix_scripts_but_an_existing_one_still_parses() {
        // "pаypal" with a Cyrillic а (U+0430).
        let spoof = "p\u{430}ypal";
        assert_eq!(UserName::parse_new(spoof), Err(UserNameError::MixedScripts));
        assert!(
            UserName::parse(spoof).is_ok(),
            "logins are never refused for it"
        );
        for ok in ["paypal", "пайпал", "ΣΑΣ", "ada_99", "jo.smith-2"] {
            assert!(UserName::parse_new(ok).is_ok(), "{ok}");
        }
    }

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
