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

/// The path a rule compares, as an app will most likely read it: `;params` cut from each
/// segment (Tomcat and Spring ignore them), unreserved characters percent-decoded (`%61` is
/// `a`), repeated slashes merged (proxies collapse them) and dot segments resolved; the query
/// is not part of it. `None` for a path no app should be asked to read the same way as this:
/// not starting with `/`, or holding a raw `#`, a backslash or an encoded `/`, `\` or NUL. Letter case
/// is kept: rules are case-sensitive.
pub fn normalize_path(raw: &str) -> Option<String> {
    let path = raw.split('?').next().unwrap_or("");
    let lower = path.to_ascii_lowercase();
    // A request never carries a raw `#`: one here was sent to be read differently.
    if !path.starts_with('/')
        || path.contains('#')
        || path.contains('\\')
        || ["%2f", "%5c", "%00"].iter().any(|bad| lower.contains(bad))
        || path.chars().any(char::is_control)
    {
        return None;
    }
    let mut segments: Vec<String> = Vec::new();
    for raw_segment in path.split('/') {
        let segment = decode_unreserved(raw_segment.split(';').next().unwrap_or(""))?;
        match segment.as_str() {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(segment),
        }
    }
    let trailing = path.len() > 1 && path.ends_with('/') && !segments.is_empty();
    let mut out = format!("/{}", segments.join("/"));
    if trailing {
        out.push('/');
    }
    Some(out)
}

/// `%XX` of an unreserved character (letters, digits, `-._~`) decoded; other escapes kept as
/// they are (upper-cased); a broken escape is `None`.
fn decode_unreserved(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = String::with_capacity(segment.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            let byte = u8::from_str_radix(hex, 16).ok()?;
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(byte));
            } else {
                out.push('%');
                out.push_str(&hex.to_ascii_uppercase());
            }
            i += 3;
        } else {
            let c = segment[i..].chars().next()?;
            out.push(c);
            i += c.len_utf8();
        }
    }
    Some(out)
}

/// A host as a proxy's `X-Forwarded-Host` or a URL's authority may name it, checked and
/// normalised: letters, digits, dots and hyphens, an optional `:port`, lower-cased, one
/// trailing dot dropped. `None` for anything else (`\`, `#`, `?`, `@`, spaces...), which a
/// URL parser would read in ways a rule does not expect.
pub fn normalize_host(authority: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port.parse::<u16>().ok().filter(|p| *p > 0)?)),
        None => (authority, None),
    };
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    let plain = !host.is_empty()
        && !host.starts_with('.')
        && !host.contains("..")
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    plain.then_some((host, port))
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
    fn paths_are_read_as_apps_read_them() {
        for (raw, expected) in [
            ("/admin", "/admin"),
            ("//admin", "/admin"),
            ("/x/../admin", "/admin"),
            ("/%61dmin/users", "/admin/users"),
            ("/admin;jsessionid=1/users", "/admin/users"),
            ("/public/..;/admin", "/admin"),
            ("/public/%2e%2e/admin", "/admin"),
            ("/admin/?q=/public", "/admin/"),
            ("/a%20b", "/a%20b"),
            ("/", "/"),
            ("/../..", "/"),
        ] {
            assert_eq!(normalize_path(raw).as_deref(), Some(expected), "{raw}");
        }
        for refused in [
            "/public#/../admin",
            "admin",
            "/public/..%2fadmin",
            "/admin%2F",
            "/admin\\..\\public",
            "/a%00",
            "/a%zz",
            "/a\nb",
        ] {
            assert_eq!(normalize_path(refused), None, "{refused}");
        }
        assert_eq!(
            normalize_host("App.Example.Test.:8080"),
            Some(("app.example.test".into(), Some(8080)))
        );
        for bad in [
            "app.example.test\\public",
            "a#",
            "a?b",
            "u@h",
            "a b",
            "",
            ":80",
            "a:0",
            "a:x",
            "a..b",
        ] {
            assert_eq!(normalize_host(bad), None, "{bad}");
        }
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
