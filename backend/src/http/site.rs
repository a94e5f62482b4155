//! Where the service is reached, and the check that a request is meant for it.
//!
//! The public URL (`--public-url`) says which host clients use. A request naming another host
//! (in `Host`, or from a trusted proxy in `X-Forwarded-Host`) gets `421 misdirected_request`:
//! a page on another name whose DNS points at this server (DNS rebinding) sends its own name,
//! so it can neither read nor write here, even on a loopback instance with nothing else in
//! front. `/health/*` answers any name: probes and load balancers use addresses.
//!
//! The write guard (`cross_origin`) takes its origins from here too: comparing `Origin` with
//! the request's own `Host` passed any host whose page sent both.
//!
//! When the public URL names a loopback host (by default it is `http://localhost:PORT` for a
//! loopback or every-interface listener), each loopback name (`localhost`, `127.0.0.1`,
//! `[::1]`) is served, on the public URL's port and on the listening port, and its origin
//! accepted: a newcomer may type any of them, and a rebinding page cannot send one.

use std::{
    net::{IpAddr, Ipv6Addr},
    sync::Arc,
};

use axum::{
    extract::{ConnectInfo, Request},
    http::{header, uri::Authority, HeaderMap, Uri},
    response::{IntoResponse, Response},
};

use super::{
    error::ApiError,
    layer::{self, Inner, Middleware},
};
use crate::client::IpNet;

/// A host as clients name it: lower-case, an IPv6 address in brackets, with its port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostPort {
    host: String,
    port: u16,
}

/// Paths that answer whatever host a request names: the probes.
pub const ANY_HOST: &str = "/health/";

/// Forward-auth's routes: asked about other hosts by design.
const FORWARD_AUTH: &str = "/api/authz/";

/// The loopback names a local instance answers to.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// A web origin: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    https: bool,
    at: HostPort,
}

impl Origin {
    /// Reads `scheme://host[:port]` (an `Origin` header, or a configured origin); `None` for
    /// anything else, `null` included.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (scheme, rest) = s.split_once("://")?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        let (host, port) = authority(rest.strip_suffix('/').unwrap_or(rest))?;
        Some(Self {
            https,
            at: HostPort {
                host,
                port: port.unwrap_or(default_port(https)),
            },
        })
    }
}

/// Which hosts the service answers to and which origins its pages have.
#[derive(Debug)]
pub struct Site {
    /// Each with whether the port may be left out (it is its scheme's default).
    hosts: Vec<(HostPort, bool)>,
    origins: Vec<Origin>,
}

impl Site {
    /// The site of a service whose public URL is `public_url`, listening on `listening_port`.
    pub fn new(public_url: &str, listening_port: u16) -> Result<Self, String> {
        let uri: Uri = public_url
            .parse()
            .map_err(|_| format!("`{public_url}` is not a URL"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("`{public_url}` is not an http(s) URL")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("`{public_url}` has no host"))?;
        let (host, port) = authority_parts(authority)
            .ok_or_else(|| format!("`{public_url}` has no usable host"))?;
        let port = port.unwrap_or(default_port(https));
        let mut site = Self {
            hosts: Vec::new(),
            origins: Vec::new(),
        };
        if is_loopback(&host) {
            for name in LOOPBACK_NAMES {
                site.add(https, name, port);
                // The listening port speaks plain HTTP.
                site.add(false, name, listening_port);
            }
        }
        site.add(https, &host, port);
        Ok(site)
    }

    fn add(&mut self, https: bool, host: &str, port: u16) {
        let at = HostPort {
            host: host.to_owned(),
            port,
        };
        let origin = Origin {
            https,
            at: at.clone(),
        };
        if !self.origins.contains(&origin) {
            self.origins.push(origin);
        }
        let entry = (at, port == default_port(https));
        if !self.hosts.contains(&entry) {
            self.hosts.push(entry);
        }
    }

    /// Whether `named` (a `Host` value: `host[:port]`) is one of the service's hosts.
    pub fn serves(&self, named: &str) -> bool {
        let Some((host, port)) = authority(named) else {
            return false;
        };
        self.hosts
            .iter()
            .any(|(at, default)| at.host == host && port.map_or(*default, |port| port == at.port))
    }

    /// Whether `origin` is the origin of one of the service's own pages.
    pub fn is_own(&self, origin: &Origin) -> bool {
        self.origins.contains(origin)
    }
}

/// The middleware answering `421` to requests for other hosts; see the module documentation.
#[derive(Clone)]
pub struct HostCheck {
    site: Arc<Site>,
    trusted_proxies: Arc<[IpNet]>,
}

impl HostCheck {
    /// The check for `site`, believing `X-Forwarded-Host` from `trusted_proxies` only.
    pub fn new(site: Arc<Site>, trusted_proxies: Arc<[IpNet]>) -> Self {
        Self {
            site,
            trusted_proxies,
        }
    }

    fn allows(&self, req: &Request) -> bool {
        if req.uri().path().starts_with(ANY_HOST) {
            return true;
        }
        // Forward-auth: a trusted proxy's X-Forwarded-Host names the protected app, not us
        // (and the handler answers trusted proxies only).
        if req.uri().path().starts_with(FORWARD_AUTH) {
            return true;
        }
        let peer = req
            .extensions()
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let proxied = peer.is_some_and(|ip| self.trusted_proxies.iter().any(|n| n.contains(ip)));
        let forwarded = proxied.then(|| forwarded_host(req.headers())).flatten();
        match forwarded.or_else(|| named_host(req)) {
            Some(host) => self.site.serves(host),
            None => false,
        }
    }
}

impl Middleware for HostCheck {
    async fn call<S: Inner>(self, req: Request, inner: S) -> Response {
        if self.allows(&req) {
            layer::run(inner, req).await
        } else {
            ApiError::MisdirectedRequest.into_response()
        }
    }
}

/// The host a request names: the request line's, when it carries one (absolute form, which
/// RFC 9112 says wins), else `Host`.
fn named_host(req: &Request) -> Option<&str> {
    match req.uri().authority() {
        Some(authority) => Some(authority.as_str()),
        None => req.headers().get(header::HOST)?.to_str().ok(),
    }
}

/// The right-most `X-Forwarded-Host` entry: the one the nearest proxy wrote (further left,
/// the client may have written anything).
fn forwarded_host(headers: &HeaderMap) -> Option<&str> {
    let last = headers.get_all("x-forwarded-host").iter().next_back()?;
    let value = last.to_str().ok()?;
    value.rsplit(',').next().map(str::trim)
}

/// `host[:port]` read as a host (lower-case; IPv6 in brackets) and maybe a port; `None` when
/// it is not one (user info, a path, an empty host...).
fn authority(s: &str) -> Option<(String, Option<u16>)> {
    if s.contains(['@', '/', '?', '#']) {
        return None;
    }
    authority_parts(&s.parse::<Authority>().ok()?)
}

fn authority_parts(authority: &Authority) -> Option<(String, Option<u16>)> {
    if authority.as_str().contains('@') {
        return None;
    }
    let host = authority.host().to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    // An IPv6 address always in brackets, however it was written.
    let host = match host.parse::<Ipv6Addr>() {
        Ok(v6) => format!("[{v6}]"),
        Err(_) => match host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .and_then(|h| h.parse::<Ipv6Addr>().ok())
        {
            Some(v6) => format!("[{v6}]"),
            None => host,
        },
    };
    Some((host, authority.port_u16()))
}

fn default_port(https: bool) -> u16 {
    if https {
        443
    } else {
        80
    }
}

/// Whether `host` (as [`authority`] gives it) names this machine's loopback interface.
fn is_loopback(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_url_names_its_host_with_or_without_the_default_port() {
        let site = Site::new("https://Accounts.example.com/base", 5000).unwrap();
        for ok in [
            "accounts.example.com",
            "ACCOUNTS.example.com:443",
            "accounts.example.com:443",
        ] {
            assert!(site.serves(ok), "{ok}");
        }
        for bad in [
            "accounts.example.com:80",
            "accounts.example.com:5000",
            "evil.example",
            "localhost:5000",
            "127.0.0.1:5000",
            "user@accounts.example.com",
            "accounts.example.com/x",
            "",
        ] {
            assert!(!site.serves(bad), "{bad}");
        }
        let own = |o: &str| site.is_own(&Origin::parse(o).unwrap());
        assert!(own("https://accounts.example.com"));
        assert!(own("https://accounts.example.com:443"));
        assert!(!own("http://accounts.example.com"));
        assert!(!own("https://accounts.example.com:8443"));
    }

    #[test]
    fn a_loopback_public_url_answers_every_loopback_name_on_its_port_and_the_listening_one() {
        let site = Site::new("http://localhost:5000", 5000).unwrap();
        for ok in [
            "localhost:5000",
            "127.0.0.1:5000",
            "[::1]:5000",
            "[0:0:0:0:0:0:0:1]:5000",
        ] {
            assert!(site.serves(ok), "{ok}");
        }
        for bad in [
            "localhost",
            "localhost:5001",
            "127.0.0.2:5000",
            "evil.example:5000",
        ] {
            assert!(!site.serves(bad), "{bad}");
        }
        for origin in [
            "http://localhost:5000",
            "http://127.0.0.1:5000",
            "http://[::1]:5000",
        ] {
            assert!(site.is_own(&Origin::parse(origin).unwrap()), "{origin}");
        }
        assert!(!site.is_own(&Origin::parse("http://localhost:8080").unwrap()));
        assert!(!site.is_own(&Origin::parse("https://localhost:5000").unwrap()));

        // The development flow: the app's dev server in front, on another port.
        let dev = Site::new("http://localhost:8080", 5000).unwrap();
        for ok in ["localhost:8080", "127.0.0.1:8080", "localhost:5000"] {
            assert!(dev.serves(ok), "{ok}");
        }
        assert!(dev.is_own(&Origin::parse("http://127.0.0.1:8080").unwrap()));
        assert!(dev.is_own(&Origin::parse("http://localhost:5000").unwrap()));
    }

    #[test]
    fn an_address_public_url_answers_that_address_only() {
        let site = Site::new("http://192.0.2.7:5000", 5000).unwrap();
        assert!(site.serves("192.0.2.7:5000"));
        assert!(!site.serves("localhost:5000"));
        let site = Site::new("http://[2001:db8::7]:5000", 5000).unwrap();
        assert!(site.serves("[2001:DB8::7]:5000"));
        assert!(!site.serves("[::1]:5000"));
    }

    #[test]
    fn origins_parse_as_browsers_send_them() {
        let o = |s: &str| Origin::parse(s);
        assert_eq!(o("https://a.example"), o("https://A.example:443"));
        assert_eq!(o("http://a.example/"), o("http://a.example:80"));
        assert!(o("null").is_none());
        assert!(o("ftp://a.example").is_none());
        assert!(o("https://").is_none());
        assert!(o("https://a.example/path").is_none());
        assert!(o("https://user@a.example").is_none());
    }

    #[test]
    fn x_forwarded_host_is_read_from_the_right() {
        let mut h = HeaderMap::new();
        assert_eq!(forwarded_host(&h), None);
        h.append(
            "x-forwarded-host",
            "spoofed.example, accounts.example.com".parse().unwrap(),
        );
        assert_eq!(forwarded_host(&h), Some("accounts.example.com"));
        h.append("x-forwarded-host", "last.example".parse().unwrap());
        assert_eq!(forwarded_host(&h), Some("last.example"));
    }
}
