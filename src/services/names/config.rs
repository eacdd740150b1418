//! How the name service is configured: [`NameOptions`] and [`DnsServers`], and the parsers of
//! the command line's and the environment's name settings (`IPFS_NS_MAP`, `--dnslink`,
//! `--dns-resolver`, Go-style durations, domain names).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::path::split_value;
use super::{NameError, Result};
use crate::ipld::ipns;

/// How long one DNS query may take before DNSLink resolution gives up.
pub const DEFAULT_DNS_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a network lookup of a name may take (Kubo's gateway gives IPNS a minute; a
/// public gateway's visitors wait less).
pub const DEFAULT_NETWORK_TIMEOUT: Duration = Duration::from_secs(20);
/// How often local keys' records are put into the network again (Kubo's default).
pub const DEFAULT_REPUBLISH_PERIOD: Duration = Duration::from_secs(4 * 3600);
/// Longest domain name (RFC 1035 §2.3.4, without the root dot).
const MAX_DOMAIN_LEN: usize = 253;
/// Longest domain label (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;

/// Where DNSLink TXT lookups go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DnsServers {
    /// The system's resolver configuration (`/etc/resolv.conf`).
    #[default]
    System,
    /// One server, asked over UDP and TCP.
    One(SocketAddr),
}

/// How the name service behaves.
#[derive(Debug, Clone)]
pub struct NameOptions {
    /// How long records published here stay valid (EOL = now + lifetime).
    pub lifetime: Duration,
    /// The TTL written into records published here; also the TTL of static DNSLink entries.
    pub ttl: Duration,
    pub dns_servers: DnsServers,
    /// Per DNS query.
    pub dns_timeout: Duration,
    /// Static DNSLink entries, domain → value; they win over DNS.
    pub static_dnslinks: Vec<(String, String)>,
    /// Longest a network lookup of a name (the DHT and delegated routers together) may take.
    pub network_timeout: Duration,
    /// How often local keys' records are put into the network again (Kubo's
    /// `Ipns.RepublishPeriod`).
    pub republish_period: Duration,
}

impl Default for NameOptions {
    fn default() -> Self {
        NameOptions {
            lifetime: ipns::DEFAULT_LIFETIME,
            ttl: ipns::DEFAULT_TTL,
            dns_servers: DnsServers::System,
            dns_timeout: DEFAULT_DNS_TIMEOUT,
            static_dnslinks: Vec::new(),
            network_timeout: DEFAULT_NETWORK_TIMEOUT,
            republish_period: DEFAULT_REPUBLISH_PERIOD,
        }
    }
}

/// Parses Kubo's `IPFS_NS_MAP`: `domain:/ipfs/<cid>[/path],domain2:/ipns/<name>,…`.
pub fn parse_ns_map(text: &str) -> Result<Vec<(String, String)>> {
    let mut entries = Vec::new();
    for pair in text.split(',') {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let Some((domain, value)) = pair.split_once(':') else {
            return Err(NameError::InvalidName(format!(
                "IPFS_NS_MAP entry {pair:?} is not domain:/ipfs/<cid> or domain:/ipns/<name>"
            )));
        };
        entries.push(static_entry(domain, value)?);
    }
    Ok(entries)
}

/// Parses one `--dnslink DOMAIN=PATH` argument.
pub fn parse_static_dnslink(text: &str) -> Result<(String, String)> {
    let (domain, value) = text.split_once('=').ok_or_else(|| {
        NameError::InvalidName(format!(
            "--dnslink {text:?} is not DOMAIN=/ipfs/<cid>[/path] or DOMAIN=/ipns/<name>[/path]"
        ))
    })?;
    static_entry(domain, value)
}

fn static_entry(domain: &str, value: &str) -> Result<(String, String)> {
    let domain = normalize_domain(domain.trim())?;
    let value = value.trim();
    split_value(value)?;
    Ok((domain, value.to_owned()))
}

/// Parses `--dns-resolver`: `IP:PORT`, `[IPv6]:PORT`, or a bare IP (port 53). Host names are
/// refused: finding the resolver would itself need DNS.
pub fn parse_dns_server(text: &str) -> std::result::Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(format!(
        "{text:?} is not IP:PORT (a DNS server must be given by address, e.g. 127.0.0.1:53)"
    ))
}

/// Parses a duration as Go writes them (`48h`, `1h30m`, `90s`, `500ms`); a bare number is
/// seconds.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration such as 48h, 30m, 90s or 1h30m");
    let text = text.trim();
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "h" => Duration::from_secs(3600),
            "m" => Duration::from_secs(60),
            "s" => Duration::from_secs(1),
            "ms" => Duration::from_millis(1),
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        let part = u32::try_from(number)
            .ok()
            .and_then(|n| unit.checked_mul(n))
            .ok_or_else(bad)?;
        total = total.checked_add(part).ok_or_else(bad)?;
    }
    Ok(total)
}

/// Lower-cases a domain and checks it is a DNS name of at least two labels (letters, digits,
/// `-`, `_`; a trailing root dot is dropped).
pub(super) fn normalize_domain(text: &str) -> Result<String> {
    let bad = |why: &str| NameError::InvalidName(format!("{text:?} is not a domain name: {why}"));
    let trimmed = text.strip_suffix('.').unwrap_or(text);
    if trimmed.len() > MAX_DOMAIN_LEN {
        return Err(bad("longer than 253 characters"));
    }
    let mut labels = 0;
    for label in trimmed.split('.') {
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return Err(bad("a label is empty or longer than 63 characters"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad(
                "only letters, digits, '-' and '_' (IDNs must be punycode)",
            ));
        }
        labels += 1;
    }
    if labels < 2 {
        return Err(bad("a domain has at least two labels"));
    }
    Ok(trimmed.to_ascii_lowercase())
}
