//! The SSRF guard: a URL that comes from a feed's content or from a redirect may only reach the
//! public internet. Host names are resolved here, every address is checked, and the connection
//! goes to the addresses that were checked (the guard is reqwest's resolver), so a second DNS
//! answer cannot slip in. IP literals, which skip the resolver, are checked before the request.
//! Refused: loopback, private, link-local, CGNAT, unique-local, multicast, unspecified,
//! reserved and cloud-metadata addresses, also inside IPv4-mapped and NAT64 IPv6 addresses,
//! unless `[ingest] allow_private` opens their network. Only http and https are followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

/// The networks the operator opened on purpose (`[ingest] allow_private`).
#[derive(Debug, Clone, Default)]
pub struct Guard {
    allowed: Arc<Vec<IpNet>>,
}

impl Guard {
    pub fn new(allowed: Vec<IpNet>) -> Guard {
        Guard {
            allowed: Arc::new(allowed),
        }
    }

    /// Why an address may not be reached, or None when it may.
    pub fn refuses(&self, ip: IpAddr) -> Option<&'static str> {
        let why = forbidden(ip)?;
        if self.allowed.iter().any(|n| n.contains(&ip)) {
            return None;
        }
        Some(why)
    }

    /// Checks a URL before it is requested: the scheme, and the address when the host is an IP
    /// literal (host names are checked when they are resolved).
    pub fn check_url(&self, url: &url::Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "refused {url}: only http and https are followed, not {}",
                url.scheme()
            ));
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(url::Host::Domain(_)) => return Ok(()),
            None => return Err(format!("refused {url}: no host")),
        };
        match self.refuses(ip) {
            Some(why) => Err(format!("refused {url}: {ip} is {why}")),
            None => Ok(()),
        }
    }
}

/// Why an address is not on the public internet, if it is not.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b) {
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_unspecified() || a == 0 => "an unspecified address",
        _ if ip.is_private() => "a private address",
        (169, 254) => "a link-local address (cloud metadata lives here)",
        (100, 64..=127) => "a carrier-grade NAT address",
        _ if ip.is_multicast() => "a multicast address",
        _ if ip.is_broadcast() || a >= 240 => "a reserved address",
        (192, 0) if c == 0 || c == 2 => "a reserved address",
        (198, 18..=19) => "a benchmarking address",
        (198, 51) if c == 100 => "a documentation address",
        (203, 0) if c == 113 => "a documentation address",
        _ => return None,
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let seg = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits, 6to4 (2002::/16) in
    // the 32 bits after the prefix.
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return forbidden_v4(v4(seg[6], seg[7]));
    }
    if seg[0] == 0x2002 {
        return forbidden_v4(v4(seg[1], seg[2]));
    }
    Some(match seg[0] {
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_unspecified() => "an unspecified address",
        s if s & 0xfe00 == 0xfc00 => "a unique-local address",
        s if s & 0xffc0 == 0xfe80 => "a link-local address",
        s if s & 0xff00 == 0xff00 => "a multicast address",
        0x2001 if seg[1] == 0xdb8 => "a documentation address",
        _ => return None,
    })
}

/// The guard as reqwest's DNS resolver: resolves with the system resolver, drops the addresses
/// the guard refuses, and fails (naming them) when none is left.
impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = Vec::new();
            let ok: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match guard.refuses(a.ip()) {
                    Some(why) => {
                        refused.push(format!("{} is {why}", a.ip()));
                        false
                    }
                    None => true,
                })
                .collect();
            if ok.is_empty() {
                let why = if refused.is_empty() {
                    format!("{host}: no address")
                } else {
                    format!("refused {host}: {}", refused.join(", "))
                };
                return Err(Box::new(Refused(why)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(ok.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A refusal by the guard (reqwest wraps it; the text reaches the fetch error).
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Parses `allow_private` entries: CIDR networks or single addresses.
pub fn parse_networks(entries: &[String]) -> Result<Vec<IpNet>, String> {
    entries
        .iter()
        .map(|e| {
            let e = e.trim();
            e.parse::<IpNet>()
                .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{e:?} is not a network (like 10.0.0.0/8) or an address"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(s: &str) -> bool {
        Guard::default().refuses(s.parse().unwrap()).is_some()
    }

    #[test]
    fn internal_addresses_are_refused_and_public_ones_pass() {
        for ip in [
            "127.0.0.1",
            "127.0.0.2",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.100.100.200",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!refused(ip), "{ip} is public");
        }
    }

    #[test]
    fn allow_private_opens_only_the_networks_named() {
        let g = Guard::new(parse_networks(&["127.0.0.1/32".into(), "10.0.0.0/8".into()]).unwrap());
        assert!(g.refuses("127.0.0.1".parse().unwrap()).is_none());
        assert!(g.refuses("10.9.9.9".parse().unwrap()).is_none());
        assert!(g.refuses("127.0.0.2".parse().unwrap()).is_some());
        assert!(g.refuses("192.168.0.1".parse().unwrap()).is_some());
        assert!(parse_networks(&["nonsense".into()]).is_err());
    }

    #[test]
    fn urls_are_checked_by_scheme_and_literal_address() {
        let g = Guard::default();
        let check = |u: &str| g.check_url(&url::Url::parse(u).unwrap());
        assert!(check("https://example.org/a").is_ok());
        let e = check("http://127.0.0.1:8080/secret").unwrap_err();
        assert!(e.contains("127.0.0.1 is a loopback address"), "{e}");
        assert!(check("http://[::1]/").is_err());
        assert!(check("ftp://example.org/")
            .unwrap_err()
            .contains("only http"));
        assert!(check("http://169.254.169.254/latest/meta-data/").is_err());
    }
}
