//! Addresses, networks and names: small parsers with error messages written for people,
//! and the one way hagen writes and reads `host:port` and URLs (IPv6 in brackets).

use std::fmt;
use std::net::IpAddr;

/// Why a text is not an IP address, a prefix or a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddrError {
    /// An IPv4 address with more (or fewer) than four parts (`192.168.2.250.250`).
    #[error("`{text}` is not an IP address: an IPv4 address has 4 parts, this has {parts}")]
    WrongPartCount {
        /// The text as written.
        text: String,
        /// How many dot-separated parts it has.
        parts: usize,
    },
    /// An IPv4 part above 255.
    #[error("`{text}` is not an IP address: each IPv4 part must be 0..255")]
    PartTooLarge {
        /// The text as written.
        text: String,
    },
    /// Anything else that does not parse as an address.
    #[error("`{text}` is not an IP address")]
    NotAnAddress {
        /// The text as written.
        text: String,
    },
    /// A prefix length that is not a number within the family's bits.
    #[error("`/{text}` is not a prefix length: it must be 0..{max}")]
    BadPrefix {
        /// The prefix as written, without the slash.
        text: String,
        /// 32 or 128.
        max: u8,
    },
    /// A network written without its `/prefix`.
    #[error("`{text}` is not a CIDR: the /prefix is missing")]
    MissingPrefix {
        /// The text as written.
        text: String,
    },
}

/// Why a text is not a valid DNS name, node name or interface name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    #[error("the name is empty")]
    Empty,
    /// The interface name is empty.
    #[error("the interface name is empty")]
    EmptyInterface,
    /// Longer than the limit.
    #[error("`{name}` is {len} characters long; the limit is {max}")]
    TooLong {
        /// The name.
        name: String,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An interface name longer than Linux allows.
    #[error("`{name}` is {len} bytes long; Linux interface names have at most 15")]
    InterfaceTooLong {
        /// The name.
        name: String,
        /// Its length in bytes.
        len: usize,
    },
    /// A wildcard where none is allowed.
    #[error("`{name}`: a wildcard is not allowed here")]
    Wildcard {
        /// The name.
        name: String,
    },
    /// Two dots in a row, or a dot at an end.
    #[error("`{name}` has an empty label (two dots in a row, or a dot at an end)")]
    EmptyLabel {
        /// The name.
        name: String,
    },
    /// A label over 63 characters.
    #[error("`{name}`: the label `{label}` is {len} characters long; the limit is 63")]
    LabelTooLong {
        /// The name.
        name: String,
        /// The label.
        label: String,
        /// Its length.
        len: usize,
    },
    /// A character names may not hold.
    #[error("`{name}` contains {what}; only lowercase letters, digits, '-' and '.' are allowed")]
    BadCharacter {
        /// The name.
        name: String,
        /// The character, described (`an uppercase letter`, `` `_` ``).
        what: String,
    },
    /// A label that starts or ends with `-`.
    #[error("`{name}`: the label `{label}` must start and end with a letter or digit")]
    LabelEdge {
        /// The name.
        name: String,
        /// The label.
        label: String,
    },
    /// `.` or `..` as an interface name.
    #[error("`{name}` is not a valid interface name")]
    ReservedInterface {
        /// The name.
        name: String,
    },
    /// A character Linux does not allow in interface names.
    #[error("`{name}` contains {bad:?}, which Linux does not allow in interface names")]
    InterfaceCharacter {
        /// The name.
        name: String,
        /// The character.
        bad: char,
    },
}

/// The host part of a `host:port` or a URL: an IP address or a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// An IP address (written in brackets before a port when it is IPv6).
    Ip(IpAddr),
    /// A DNS name (or anything else that is not an address, kept as written).
    Name(String),
}

impl Host {
    /// Reads a host as written: `10.0.0.1`, `fd00::1`, `[fd00::1]` or a name.
    pub fn parse(text: &str) -> Host {
        let bare = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(text);
        match bare.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(text.to_string()),
        }
    }

    /// True for `localhost` and loopback addresses (`127.0.0.0/8`, `::1`).
    pub fn is_loopback(&self) -> bool {
        match self {
            Host::Ip(ip) => ip.is_loopback(),
            Host::Name(n) => n.eq_ignore_ascii_case("localhost"),
        }
    }

    /// True for a wildcard bind address (`0.0.0.0`, `::`, `*`).
    pub fn is_unspecified(&self) -> bool {
        match self {
            Host::Ip(ip) => ip.is_unspecified(),
            Host::Name(n) => n == "*",
        }
    }

    /// The host as it goes before `:port` or into a URL: IPv6 in brackets.
    pub fn bracketed(&self) -> String {
        match self {
            Host::Ip(IpAddr::V6(a)) => format!("[{a}]"),
            other => other.to_string(),
        }
    }
}

/// Without brackets: the form of a certificate SAN or a `--advertise-address`.
impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(n) => f.write_str(n),
        }
    }
}

impl From<IpAddr> for Host {
    fn from(ip: IpAddr) -> Host {
        Host::Ip(ip)
    }
}

/// A host and a port: `10.0.0.1:6443`, `[fd00::1]:6443`, `k8s-api.local:8443`.
/// Two of them are equal when they name the same address, however it was written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    /// The host.
    pub host: Host,
    /// The port.
    pub port: u16,
}

impl HostPort {
    /// A host and a port.
    pub fn new(host: impl Into<Host>, port: u16) -> HostPort {
        HostPort {
            host: host.into(),
            port,
        }
    }

    /// Reads `host:port` or `[v6]:port`; `None` when the port is missing or not a number.
    pub fn parse(text: &str) -> Option<HostPort> {
        match split_host_port(text) {
            (host, Some(port)) if !host.is_empty() => Some(HostPort::new(Host::parse(host), port)),
            _ => None,
        }
    }

    /// `scheme://host:port`, the URL of this endpoint.
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{self}")
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host.bracketed(), self.port)
    }
}

/// Splits `host:port`, `[v6]:port`, `[v6]`, a bare IPv6 address or a bare host into the
/// host (brackets removed) and the port, when there is one that is a number.
pub fn split_host_port(text: &str) -> (&str, Option<u16>) {
    if let Some(rest) = text.strip_prefix('[')
        && let Some((h, p)) = rest.split_once(']')
    {
        return (h, p.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match text.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p.parse().ok()),
        _ => (text, None),
    }
}

/// The host of a URL (`https://[fd00::1]:2379/x` → `fd00::1`), or of a bare `host:port`.
pub fn url_host(url: &str) -> Host {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    Host::parse(split_host_port(authority).0)
}

/// An IP address with an optional prefix length, as a VIP or a node address is written
/// (`192.168.2.250/24`, `10.0.0.5`). Host bits may be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IfAddr {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length, when given.
    pub prefix: Option<u8>,
}

impl IfAddr {
    /// Parses `ADDR` or `ADDR/PREFIX`.
    pub fn parse(text: &str) -> Result<IfAddr, AddrError> {
        let text = text.trim();
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr = parse_ip(addr_text)?;
        let prefix = prefix_text.map(|p| parse_prefix(p, &addr)).transpose()?;
        Ok(IfAddr { addr, prefix })
    }

    /// The network this address is in, when its prefix is known.
    pub fn network(&self) -> Option<Cidr> {
        self.prefix.map(|prefix| Cidr::new(self.addr, prefix))
    }
}

impl fmt::Display for IfAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix {
            Some(p) => write!(f, "{}/{p}", self.addr),
            None => write!(f, "{}", self.addr),
        }
    }
}

/// A network: an address with its host bits cleared, and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// The first address of the network.
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

impl Cidr {
    /// The network of `addr/prefix` (host bits cleared).
    pub fn new(addr: IpAddr, prefix: u8) -> Cidr {
        let addr = match addr {
            IpAddr::V4(a) => IpAddr::V4((u32::from(a) & mask32(prefix)).into()),
            IpAddr::V6(a) => IpAddr::V6((u128::from(a) & mask128(prefix)).into()),
        };
        Cidr { addr, prefix }
    }

    /// Parses `ADDR/PREFIX`; the prefix is required.
    pub fn parse(text: &str) -> Result<Cidr, AddrError> {
        let text = text.trim();
        let Some((a, p)) = text.split_once('/') else {
            return Err(AddrError::MissingPrefix {
                text: text.to_string(),
            });
        };
        let addr = parse_ip(a)?;
        let prefix = parse_prefix(p, &addr)?;
        Ok(Cidr::new(addr, prefix))
    }

    /// Parses a comma-separated list (a dual-stack pair: `10.96.0.0/12,fd00:10:96::/112`).
    pub fn parse_list(text: &str) -> Result<Vec<Cidr>, AddrError> {
        text.split(',').map(Cidr::parse).collect()
    }

    /// Address bits of this family (32 or 128).
    pub fn family_bits(&self) -> u8 {
        if self.addr.is_ipv4() { 32 } else { 128 }
    }

    /// Number of host bits.
    pub fn host_bits(&self) -> u8 {
        self.family_bits() - self.prefix
    }

    /// True if `ip` is inside this network.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                u32::from(*ip) & mask32(self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                u128::from(*ip) & mask128(self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }

    /// True if the two networks share any address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(&other.addr) || other.contains(&self.addr)
    }

    /// The `n`th address of the network (0 is the network address itself).
    pub fn nth(&self, n: u32) -> Option<IpAddr> {
        if self.host_bits() < 32 && u64::from(n) >= 1u64 << self.host_bits() {
            return None;
        }
        Some(match self.addr {
            IpAddr::V4(a) => IpAddr::V4(u32::from(a).checked_add(n)?.into()),
            IpAddr::V6(a) => IpAddr::V6(u128::from(a).checked_add(u128::from(n))?.into()),
        })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn mask32(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    }
}

fn mask128(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix.min(128)))
    }
}

fn parse_ip(text: &str) -> Result<IpAddr, AddrError> {
    text.parse::<IpAddr>().map_err(|_| {
        let dots = text.matches('.').count();
        let text = text.to_string();
        if !text.contains(':') && dots > 3 {
            AddrError::WrongPartCount {
                text,
                parts: dots + 1,
            }
        } else if !text.contains(':')
            && text
                .split('.')
                .any(|p| p.parse::<u32>().is_ok_and(|n| n > 255))
        {
            AddrError::PartTooLarge { text }
        } else {
            AddrError::NotAnAddress { text }
        }
    })
}

fn parse_prefix(text: &str, addr: &IpAddr) -> Result<u8, AddrError> {
    let max = if addr.is_ipv4() { 32 } else { 128 };
    match text.parse::<u8>() {
        Ok(p) if p <= max => Ok(p),
        _ => Err(AddrError::BadPrefix {
            text: text.to_string(),
            max,
        }),
    }
}

/// Checks an RFC 1123 DNS subdomain (what Kubernetes calls a node name): lowercase
/// letters, digits, '-' and '.', labels of 1..63 characters that start and end with an
/// alphanumeric, at most 253 characters.
pub fn check_dns1123_subdomain(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > 253 {
        return Err(NameError::TooLong {
            name: name.to_string(),
            len: name.len(),
            max: 253,
        });
    }
    for label in name.split('.') {
        check_label(label, name, false)?;
    }
    Ok(())
}

/// Checks a DNS name as used in a certificate SAN or an endpoint: like a subdomain but
/// case-insensitive, and (if `wildcard`) with an optional leading `*.` label.
pub fn check_dns_name(name: &str, wildcard: bool) -> Result<(), NameError> {
    let rest = match name.strip_prefix("*.") {
        Some(rest) if wildcard => rest,
        Some(_) => {
            return Err(NameError::Wildcard {
                name: name.to_string(),
            });
        }
        None => name,
    };
    if rest.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > 253 {
        return Err(NameError::TooLong {
            name: name.to_string(),
            len: name.len(),
            max: 253,
        });
    }
    for label in rest.split('.') {
        check_label(label, name, true)?;
    }
    Ok(())
}

fn check_label(label: &str, name: &str, any_case: bool) -> Result<(), NameError> {
    if label.is_empty() {
        return Err(NameError::EmptyLabel {
            name: name.to_string(),
        });
    }
    if label.len() > 63 {
        return Err(NameError::LabelTooLong {
            name: name.to_string(),
            label: label.to_string(),
            len: label.len(),
        });
    }
    let ok_char = |c: char| {
        c.is_ascii_digit()
            || c == '-'
            || if any_case {
                c.is_ascii_alphabetic()
            } else {
                c.is_ascii_lowercase()
            }
    };
    if let Some(bad) = label.chars().find(|&c| !ok_char(c)) {
        let what = if bad.is_ascii_uppercase() {
            "an uppercase letter".to_string()
        } else {
            format!("`{bad}`")
        };
        return Err(NameError::BadCharacter {
            name: name.to_string(),
            what,
        });
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(NameError::LabelEdge {
            name: name.to_string(),
            label: label.to_string(),
        });
    }
    Ok(())
}

/// Checks a Linux network interface name: 1..15 bytes, no '/', ':' or whitespace, not `.`/`..`.
pub fn check_interface_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::EmptyInterface);
    }
    if name.len() > 15 {
        return Err(NameError::InterfaceTooLong {
            name: name.to_string(),
            len: name.len(),
        });
    }
    if name == "." || name == ".." {
        return Err(NameError::ReservedInterface {
            name: name.to_string(),
        });
    }
    if let Some(bad) = name
        .chars()
        .find(|c| c.is_whitespace() || *c == '/' || *c == ':' || c.is_control())
    {
        return Err(NameError::InterfaceCharacter {
            name: name.to_string(),
            bad,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifaddr_parses_with_and_without_prefix() {
        let a = IfAddr::parse("192.168.2.250/24").unwrap();
        assert_eq!(a.prefix, Some(24));
        assert_eq!(a.network().unwrap().to_string(), "192.168.2.0/24");
        assert_eq!(IfAddr::parse("10.0.0.1").unwrap().prefix, None);
        assert!(IfAddr::parse("fd00::1/64").is_ok());
    }

    #[test]
    fn bad_addresses_say_why() {
        let e = IfAddr::parse("192.168.2.250.250").unwrap_err();
        assert!(
            matches!(e, AddrError::WrongPartCount { parts: 5, .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("4 parts, this has 5"), "{e}");
        let too_large = IfAddr::parse("10.0.0.300").unwrap_err().to_string();
        assert!(too_large.contains("0..255"));
        let prefix = IfAddr::parse("10.0.0.1/33").unwrap_err();
        assert_eq!(
            prefix,
            AddrError::BadPrefix {
                text: "33".into(),
                max: 32
            }
        );
        assert!(prefix.to_string().contains("0..32"));
        assert!(
            Cidr::parse("10.0.0.0")
                .unwrap_err()
                .to_string()
                .contains("missing")
        );
    }

    #[test]
    fn cidr_overlap_and_contains() {
        let pods = Cidr::parse("10.244.0.0/16").unwrap();
        let svc = Cidr::parse("10.96.0.0/12").unwrap();
        assert!(!pods.overlaps(&svc));
        let wide = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(wide.overlaps(&pods) && pods.overlaps(&wide));
        assert_eq!(svc.nth(10).unwrap().to_string(), "10.96.0.10");
        assert_eq!(Cidr::parse("10.0.0.0/30").unwrap().nth(4), None);
        assert_eq!(
            Cidr::parse("255.255.255.255/32")
                .unwrap()
                .nth(0)
                .unwrap()
                .to_string(),
            "255.255.255.255"
        );
        assert_eq!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .nth(1)
                .unwrap()
                .to_string(),
            "0.0.0.1"
        );
    }

    #[test]
    fn host_port_brackets_ipv6_and_compares_by_address() {
        let v6: IpAddr = "fd00::11".parse().unwrap();
        assert_eq!(HostPort::new(v6, 6443).to_string(), "[fd00::11]:6443");
        assert_eq!(
            HostPort::new(Host::parse("10.0.0.1"), 6443).url("https"),
            "https://10.0.0.1:6443"
        );
        assert_eq!(
            HostPort::parse("[fd00:0::11]:6443"),
            Some(HostPort::new(v6, 6443))
        );
        assert_eq!(HostPort::parse("fd00::11"), None);
        assert_eq!(HostPort::parse("api.local"), None);
        assert_eq!(
            HostPort::parse("api.local:8443").unwrap().to_string(),
            "api.local:8443"
        );
        assert_eq!(split_host_port("[::1]:6443"), ("::1", Some(6443)));
        assert_eq!(split_host_port("::1"), ("::1", None));
    }

    #[test]
    fn loopback_is_one_answer() {
        for yes in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "localhost",
            "LOCALHOST",
        ] {
            assert!(Host::parse(yes).is_loopback(), "{yes}");
        }
        for no in ["10.0.0.1", "0.0.0.0", "fd00::1", "localhost.example.com"] {
            assert!(!Host::parse(no).is_loopback(), "{no}");
        }
        assert!(url_host("https://[::1]:2379/health").is_loopback());
        assert!(url_host("http://user@127.0.0.1:2381").is_loopback());
        assert_eq!(url_host("https://10.0.0.1:2379").to_string(), "10.0.0.1");
    }

    #[test]
    fn names() {
        assert!(check_dns1123_subdomain("k8s-m1").is_ok());
        assert!(
            check_dns1123_subdomain("K8s-m1")
                .unwrap_err()
                .to_string()
                .contains("uppercase")
        );
        assert!(check_dns1123_subdomain("m_1").is_err());
        assert!(check_dns1123_subdomain("-m1").is_err());
        assert!(check_dns_name("*.k8s.example.com", true).is_ok());
        assert!(check_dns_name("*.k8s.example.com", false).is_err());
        assert!(check_dns_name("API.Example.com", true).is_ok());
        assert!(check_interface_name("eth0").is_ok());
        assert!(check_interface_name("enp0s31f6.100").is_ok());
        assert!(check_interface_name("a-very-long-interface").is_err());
        assert!(check_interface_name("eth 0").is_err());
    }
}
