//! The access rules of forward-auth (`--authz-rules FILE`, TOML): for a request to a
//! protected app, the first rule whose host and path match decides; none matching, the
//! default policy does.
//!
//! ```toml
//! default_policy = "deny"          # deny | bypass | signed_in | two_factor
//! [[rule]]
//! host = "app.example.org"         # exact host, or "*.example.org"
//! path = "/admin"                  # optional path prefix
//! policy = "signed_in"
//! groups = ["admins"]              # optional: member of any of them
//! ```

use std::{fmt, path::Path};

use serde::Deserialize;

/// What a matching rule demands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Nobody passes.
    Deny,
    /// Everyone passes, unchecked (public paths).
    Bypass,
    /// Any signed-in user (in the rule's groups, if it names any).
    SignedIn,
    /// A signed-in user who logged in with a second factor or a passkey.
    TwoFactor,
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// `app.example.org`, or `*.example.org` for any subdomain of it.
    pub host: String,
    /// A path prefix (`/admin` matches `/admin` and `/admin/x`, not `/administrator`).
    #[serde(default)]
    pub path: Option<String>,
    /// What it demands.
    pub policy: Policy,
    /// Member of any of these (none: any signed-in user).
    #[serde(default)]
    pub groups: Vec<String>,
}

/// The rules file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// When no rule matches.
    pub default_policy: Policy,
    /// First match wins.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
}

/// Why a rules file was refused, naming the file and the line.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The file cannot be read.
    #[error("cannot read the authz rules file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not rules.
    #[error("authz rules file {path}, line {line}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// 1-based.
        line: usize,
        /// What is wrong there.
        message: String,
    },
}

impl Default for Rules {
    /// Without a file: every signed-in user may pass.
    fn default() -> Self {
        Self {
            default_policy: Policy::SignedIn,
            rules: Vec::new(),
        }
    }
}

impl Rules {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, RulesError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&text).map_err(|(line, message)| RulesError::Invalid {
            path: shown,
            line,
            message,
        })
    }

    /// Parses and checks rules; on error the 1-based line and what is wrong.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let rules: Self = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(s.start));
            (line, e.message().trim().to_owned())
        })?;
        for (i, rule) in rules.rules.iter().enumerate() {
            // Rules have no spans once parsed: find the i-th `[[rule]]` header for the line.
            let line = text
                .match_indices("[[rule]]")
                .nth(i)
                .map_or(1, |(at, _)| line_of(at));
            rule.check().map_err(|why| (line, why))?;
        }
        Ok(rules)
    }

    /// The policy and groups for a request to `host` and `path`.
    pub fn decide(&self, host: &str, path: &str) -> (Policy, &[String]) {
        let host = host.to_ascii_lowercase();
        let host = host.split(':').next().unwrap_or("");
        self.rules
            .iter()
            .find(|r| r.matches_host(host) && r.matches_path(path))
            .map_or((self.default_policy, &[][..]), |r| {
                (r.policy, &r.groups[..])
            })
    }
}

impl Rule {
    fn check(&self) -> Result<(), String> {
        let host = self.host.strip_prefix("*.").unwrap_or(&self.host);
        if host.is_empty()
            || host.contains('*')
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        {
            return Err(format!(
                "host {:?} is not a host name or *.domain",
                self.host
            ));
        }
        if let Some(path) = &self.path {
            if !path.starts_with('/') {
                return Err(format!("path {path:?} must start with /"));
            }
        }
        if self.policy == Policy::Bypass && !self.groups.is_empty() {
            return Err("a bypass rule cannot require groups".into());
        }
        Ok(())
    }

    fn matches_host(&self, host: &str) -> bool {
        let rule = self.host.to_ascii_lowercase();
        match rule.strip_prefix("*.") {
            Some(domain) => host
                .strip_suffix(domain)
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
            None => host == rule,
        }
    }

    fn matches_path(&self, path: &str) -> bool {
        match &self.path {
            None => true,
            Some(prefix) => {
                let prefix = prefix.trim_end_matches('/');
                path == prefix
                    || path
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?'))
                    || prefix.is_empty()
            }
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Deny => "deny",
            Self::Bypass => "bypass",
            Self::SignedIn => "signed_in",
            Self::TwoFactor => "two_factor",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
default_policy = "deny"

[[rule]]
host = "app.example.org"
path = "/public"
policy = "bypass"

[[rule]]
host = "app.example.org"
path = "/admin"
policy = "signed_in"
groups = ["admins"]

[[rule]]
host = "*.example.org"
policy = "two_factor"
"#;

    #[test]
    fn the_first_matching_rule_decides() {
        let rules = Rules::parse(EXAMPLE).unwrap();
        assert_eq!(
            rules.decide("app.example.org", "/public/x.css").0,
            Policy::Bypass
        );
        assert_eq!(
            rules.decide("APP.example.org:443", "/public").0,
            Policy::Bypass
        );
        assert_eq!(
            rules.decide("app.example.org", "/publicity").0,
            Policy::TwoFactor
        );
        let (policy, groups) = rules.decide("app.example.org", "/admin/users");
        assert_eq!(
            (policy, groups),
            (Policy::SignedIn, &["admins".to_owned()][..])
        );
        assert_eq!(rules.decide("wiki.example.org", "/").0, Policy::TwoFactor);
        assert_eq!(
            rules.decide("example.org", "/").0,
            Policy::Deny,
            "*. needs a subdomain"
        );
        assert_eq!(rules.decide("evilexample.org", "/").0, Policy::Deny);
        assert_eq!(rules.decide("other.test", "/").0, Policy::Deny);
        assert_eq!(Rules::default().decide("any.host", "/").0, Policy::SignedIn);
    }

    #[test]
    fn a_bad_file_names_the_line() {
        let (line, message) = Rules::parse("default_policy = \"maybe\"\n").unwrap_err();
        assert_eq!(line, 1);
        assert!(message.contains("unknown variant"), "{message}");
        let (line, _) = Rules::parse(&EXAMPLE.replace(
            "policy = \"bypass\"",
            "policy = \"bypass\"\ngroups = [\"x\"]",
        ))
        .unwrap_err();
        assert_eq!(line, 4, "the second rule's header");
        let (line, message) = Rules::parse(
            "default_policy = \"deny\"\n[[rule]]\nhost = \"a b\"\npolicy = \"deny\"\n",
        )
        .unwrap_err();
        assert_eq!(line, 2);
        assert!(message.contains("not a host name"), "{message}");
        let (line, message) =
            Rules::parse("default_policy = \"deny\"\n\n[[rule]]\nhost = \"a.b\"\npolicy = \"deny\"\ncolour = 1\n").unwrap_err();
        assert_eq!(line, 6);
        assert!(message.contains("unknown field"), "{message}");
    }
}
