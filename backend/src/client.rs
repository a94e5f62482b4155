//! Who is asking: the client's IP address, from the socket, or from `X-Forwarded-For` when (and
//! only when) the socket peer is a configured trusted proxy, so a client cannot spoof its way
//! around the per-IP limits.

use std::{fmt, net::IpAddr, str::FromStr};

/// A network in CIDR form (`10.0.0.0/8`, `::1/128`), or a single address. IPv4-mapped IPv6
/// addresses count as IPv4, on either side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet(ipnet::IpNet);

impl IpNet {
    /// Whether `ip` is inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&canonical(ip))
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, prefix) = s.split_once('/').unwrap_or((s, ""));
        let addr = addr
            .parse::<IpAddr>()
            .map(canonical)
            .map_err(|_| format!("`{s}` is not an IP address or CIDR network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() && !s.contains('/') {
            max
        } else {
            prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}`: the prefix length must be 0 to {max}"))?
        };
        ipnet::IpNet::new(addr, prefix)
            .map(Self)
            .map_err(|e| format!("`{s}`: {e}"))
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) count as the IPv4 address.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The network `ip` is counted under by per-client limits: an IPv4 address is its own (also
/// when IPv4-mapped); an IPv6 address counts as its network of `ipv6_prefix` bits, since one
/// host usually holds a whole /64.
pub(crate) fn network(ip: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let prefix = u32::from(ipv6_prefix.min(128));
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & mask))
        }
        v4 => v4,
    }
}

/// The client's address: the socket peer, unless the peer is a trusted proxy; then the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy (entries further left
/// were written by the client and prove nothing).
pub fn client_ip(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for.iter().rev().flat_map(|h| h.rsplit(',')) {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = canonical(ip);
        if !is_trusted(client) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks() {
        let n: IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(n.contains(ip("10.1.2.3")) && !n.contains(ip("11.0.0.1")));
        let one: IpNet = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        assert!(one.contains(ip("::ffff:127.0.0.1")));
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("proxy".parse::<IpNet>().is_err());
    }

    #[test]
    fn ipv6_clients_count_per_network() {
        assert_eq!(network(ip("2001:db8::1"), 64), ip("2001:db8::"));
        assert_eq!(network(ip("2001:db8::ffff:3"), 64), ip("2001:db8::"));
        assert_eq!(network(ip("2001:db8:0:1::1"), 64), ip("2001:db8:0:1::"));
        assert_eq!(network(ip("2001:db8::1"), 128), ip("2001:db8::1"));
        assert_eq!(network(ip("2001:db8::1"), 1), ip("::"));
        assert_eq!(network(ip("192.0.2.7"), 64), ip("192.0.2.7"));
        assert_eq!(network(ip("::ffff:192.0.2.7"), 64), ip("192.0.2.7"));
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        // A direct client cannot claim another address.
        assert_eq!(
            client_ip(ip("203.0.113.9"), &["1.2.3.4"], &trusted),
            ip("203.0.113.9")
        );
        // Behind the proxy: the address the proxy saw.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &["203.0.113.9"], &trusted),
            ip("203.0.113.9")
        );
        // A client-written entry to the left is ignored; chains of trusted proxies are skipped.
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                &["6.6.6.6, 203.0.113.9, 10.0.0.7"],
                &trusted
            ),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), &["6.6.6.6", "203.0.113.9"], &trusted),
            ip("203.0.113.9")
        );
        // No header, or garbage: the proxy itself.
        assert_eq!(client_ip(ip("10.0.0.2"), &[], &trusted), ip("10.0.0.2"));
        assert_eq!(
            client_ip(ip("10.0.0.2"), &["junk"], &trusted),
            ip("10.0.0.2")
        );
    }
}

/// The browser and system a request came from, named coarsely from its `User-Agent` for the
/// user's list of sessions ("Firefox on Linux"): enough to recognise one's own devices,
/// nothing that fingerprints them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Browser {
    /// "Firefox", "Chrome", ...; empty when unknown.
    pub name: &'static str,
    /// "Linux", "Android", ...; empty when unknown.
    pub system: &'static str,
}

impl Browser {
    /// Nothing known.
    pub const UNKNOWN: Self = Self {
        name: "",
        system: "",
    };

    /// Names the browser and system in a `User-Agent` header. Order matters: Edge and Opera
    /// also say Chrome, Chrome also says Safari, Android also says Linux.
    pub fn from_user_agent(ua: &str) -> Self {
        const NAMES: &[(&str, &str)] = &[
            ("Edg/", "Edge"),
            ("OPR/", "Opera"),
            ("Firefox/", "Firefox"),
            ("Chromium/", "Chromium"),
            ("HeadlessChrome/", "Headless Chrome"),
            ("Chrome/", "Chrome"),
            ("Safari/", "Safari"),
            ("curl/", "curl"),
            ("node", "Node.js"),
            ("python", "Python"),
        ];
        const SYSTEMS: &[(&str, &str)] = &[
            ("Android", "Android"),
            ("iPhone", "iOS"),
            ("iPad", "iPadOS"),
            ("Windows", "Windows"),
            ("Mac OS X", "macOS"),
            ("CrOS", "ChromeOS"),
            ("Linux", "Linux"),
        ];
        let find = |table: &[(&str, &'static str)]| {
            table
                .iter()
                .find(|(needle, _)| ua.contains(needle))
                .map_or("", |(_, name)| *name)
        };
        Self {
            name: find(NAMES),
            system: find(SYSTEMS),
        }
    }
}

impl fmt::Display for Browser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.name, self.system) {
            ("", "") => f.write_str("Unknown browser"),
            (name, "") => f.write_str(name),
            ("", system) => write!(f, "A browser on {system}"),
            (name, system) => write!(f, "{name} on {system}"),
        }
    }
}

/// The network an address belongs to, as shown to its user: an IPv4 /24 or an IPv6 /48.
pub fn network_of(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

#[cfg(test)]
mod browser_tests {
    use super::*;

    #[test]
    fn browsers_and_networks_are_named_coarsely() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(
            Browser::from_user_agent(firefox).to_string(),
            "Firefox on Linux"
        );
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like \
                    Gecko) Chrome/120.0 Safari/537.36 Edg/120.0";
        assert_eq!(
            Browser::from_user_agent(edge).to_string(),
            "Edge on Windows"
        );
        let android = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120 Mobile";
        assert_eq!(
            Browser::from_user_agent(android).to_string(),
            "Chrome on Android"
        );
        assert_eq!(Browser::from_user_agent("").to_string(), "Unknown browser");
        assert_eq!(
            network_of("203.0.113.77".parse().unwrap()),
            "203.0.113.0/24"
        );
        assert_eq!(
            network_of("2001:db8:1:2::9".parse().unwrap()),
            "2001:db8:1::/48"
        );
    }
}
