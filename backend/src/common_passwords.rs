//! The most common passwords, refused as new passwords whatever their length.
//!
//! 19,640 entries from Django's `common-passwords.txt.gz` (Django 5.2, BSD-3-Clause), itself the
//! list compiled by Royce Williams from breach corpora. Compiled into the binary; checked
//! case-insensitively after NFKC normalisation.

use std::{collections::HashSet, sync::LazyLock};

static LIST: &str = include_str!("../data/common-passwords.txt");

static SET: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    LIST.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
});

/// Whether `normalized` (an NFKC password) is on the list, in any letter case.
pub fn is_common(normalized: &str) -> bool {
    SET.contains(normalized.to_lowercase().as_str())
}

/// How many entries the list has.
#[cfg(test)]
fn len() -> usize {
    SET.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_large_and_matches_in_any_case() {
        assert!(len() >= 10_000, "{}", len());
        assert!(is_common("password"));
        assert!(is_common("PassWord1"));
        assert!(is_common("iloveyou"));
        assert!(!is_common("correct horse battery staple"));
    }
}
