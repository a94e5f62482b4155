//! Where a login may send the browser on to (`rd`, from forward-auth): an absolute `http` or
//! `https` URL whose host is this service's own or one under the session cookie's domain,
//! nothing else, so the login page is no open redirect. Checked strictly, character by
//! character (no URL parser's leniency): no backslash, no whitespace or control character, no
//! user info, a host of letters, digits, dots and hyphens only.

/// `rd` if a login may go on to it, else `None`. `own_host` is this service's host name (no
/// port); `cookie_domain` the domain its session cookie is shared with, if any.
pub fn return_address<'a>(
    rd: &'a str,
    own_host: &str,
    cookie_domain: Option<&str>,
) -> Option<&'a str> {
    if rd.len() > 4096
        || rd
            .chars()
            .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
    {
        return None;
    }
    let lower = rd.get(..8)?.to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &rd[8..]
    } else if lower.starts_with("http://") {
        &rd[7..]
    } else {
        return None;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return None;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if port.is_some_and(|p| p.parse::<u16>().map_or(true, |n| n == 0) || p.starts_with('+')) {
        return None;
    }
    let host = host.to_ascii_lowercase();
    if host.is_empty()
        || host.starts_with('.')
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return None;
    }
    let own = host == own_host.to_ascii_lowercase();
    let shared = cookie_domain.is_some_and(|domain| {
        let domain = domain.to_ascii_lowercase();
        host == domain || host.ends_with(&format!(".{domain}"))
    });
    (own || shared).then_some(rd)
}

#[cfg(test)]
mod tests {
    use super::return_address;

    const OWN: &str = "auth.example.org";
    const DOMAIN: Option<&str> = Some("example.org");

    #[test]
    fn apps_under_the_cookie_domain_and_this_service_are_fine() {
        for ok in [
            "https://app.example.org/docs?q=1",
            "https://APP.Example.ORG/",
            "HTTPS://app.example.org",
            "http://app.example.org:8443/x#frag",
            "https://example.org/",
            "https://auth.example.org/account",
        ] {
            assert_eq!(return_address(ok, OWN, DOMAIN), Some(ok), "{ok}");
        }
        assert_eq!(
            return_address("https://auth.example.org/", OWN, None),
            Some("https://auth.example.org/")
        );
    }

    #[test]
    fn nothing_else_is() {
        for bad in [
            "//evil.example",
            "\\\\evil.example",
            "/\\evil.example",
            "https:evil.example",
            "https:/evil.example",
            "https://evil.example/",
            "https://app.example.org@evil.example/",
            "https://a@app.example.org/",
            "https://evil.example?.example.org",
            "https://evilexample.org/",
            "https://example.org.evil.example/",
            "https://app.example.org%2F@evil.example",
            "https%3A%2F%2Fevil.example",
            "https://%65vil.example/",
            "javascript:alert(1)//https://app.example.org",
            "https://app.example.org\n.evil.example",
            " https://app.example.org/",
            "https://app.example.org:99999/",
            "https://.example.org/",
            "ftp://app.example.org/",
            "",
        ] {
            assert_eq!(return_address(bad, OWN, DOMAIN), None, "{bad:?}");
        }
        assert_eq!(
            return_address("https://app.example.org/", OWN, None),
            None,
            "no cookie domain: this service only"
        );
    }
}
