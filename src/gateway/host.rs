//! Which gateway a request is for, from its `Host` (or `X-Forwarded-Host`) header:
//! - a **subdomain gateway** (subdomain-gateway spec): `<cidv1>.ipfs.<host>` and
//!   `<name>.ipns.<host>` for each `--subdomain-host`, giving every root its own web origin; on
//!   the bare host, `GET /ipfs/<cid>/…` and `/ipns/<name>/…` redirect (301) to that form, the
//!   CID as a DNS-safe label (CIDv1, base32, or base36 when base32 is longer than the 63-byte
//!   DNS label limit; IPNS names in base36 with the libp2p-key codec; DNSLink names inlined
//!   into one label, as Kubo's `InlineDNSLink` setting does);
//! - a **DNSLink gateway** (dnslink-gateway spec): any other domain name whose DNSLink
//!   resolves is served from that content at `/`;
//! - otherwise the plain **path gateway**.
//!
//! Matching is pure: what needs DNS (is this host a DNSLink name?) is left to the caller.

use std::net::IpAddr;

use cid::multibase::Base;
use cid::Cid;
use http::header::{self, HeaderMap};
use http::Uri;

use crate::ipld::cid::codec;
use crate::ipld::ipns::IpnsName;

/// RFC 1034 §3.1: a label is at most 63 octets.
pub const DNS_LABEL_MAX: usize = 63;

const X_FORWARDED_HOST: &str = "x-forwarded-host";
const X_FORWARDED_PROTO: &str = "x-forwarded-proto";

/// The namespaces a subdomain can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    Ipfs,
    Ipns,
}

impl Namespace {
    pub fn as_str(self) -> &'static str {
        match self {
            Namespace::Ipfs => "ipfs",
            Namespace::Ipns => "ipns",
        }
    }
}

/// What the Host of a request says about where its path lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKind<'r> {
    /// No configured host matches: a path gateway (IP addresses, unknown names that turn out
    /// to have no DNSLink).
    Path,
    /// One of the `--subdomain-host` names itself (with its port as the client wrote it).
    SubdomainParent { host: &'r str },
    /// `<root>.<ns>.<gateway>`: `root` may hold dots (a DNSLink name under `.ipns.`).
    Subdomain {
        namespace: Namespace,
        root: &'r str,
        /// The gateway's own host (port kept), for links back to it.
        gateway: &'r str,
    },
    /// A domain name that is none of the above: it is a DNSLink gateway if its DNSLink
    /// resolves. `name` has no port.
    MaybeDnsLink { name: &'r str, host: &'r str },
}

/// The configured subdomain gateway hosts.
#[derive(Debug, Clone, Default)]
pub struct GatewayHosts {
    /// Lower-case names, without ports.
    subdomain_hosts: Vec<String>,
}

impl GatewayHosts {
    pub fn new(subdomain_hosts: &[String]) -> Self {
        GatewayHosts {
            subdomain_hosts: subdomain_hosts
                .iter()
                .map(|h| strip_port(h.trim()).to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    pub fn has_subdomain_hosts(&self) -> bool {
        !self.subdomain_hosts.is_empty()
    }

    fn is_subdomain_host(&self, name: &str) -> bool {
        self.subdomain_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
    }

    /// Classifies `host` (as the client sent it, port included).
    pub fn classify<'r>(&self, host: &'r str) -> HostKind<'r> {
        let name = strip_port(host);
        if name.is_empty() || is_ip_literal(name) {
            return HostKind::Path;
        }
        if self.is_subdomain_host(name) {
            return HostKind::SubdomainParent { host };
        }
        // `{root}.{ns}.{gateway}`: the longest configured suffix preceded by a namespace label
        // and at least one more label (boxo `knownSubdomainDetails`). Walking the dots left to
        // right meets the longest suffix first.
        let mut namespace_dot: Option<usize> = None;
        for (dot, _) in name.match_indices('.') {
            if let Some(before) = namespace_dot {
                let namespace = &name[before + 1..dot];
                let namespace = if namespace.eq_ignore_ascii_case("ipfs") {
                    Some(Namespace::Ipfs)
                } else if namespace.eq_ignore_ascii_case("ipns") {
                    Some(Namespace::Ipns)
                } else {
                    None
                };
                if let Some(namespace) =
                    namespace.filter(|_| self.is_subdomain_host(&name[dot + 1..]))
                {
                    let root = &name[..before];
                    if root.split('.').any(str::is_empty) {
                        // `.ipfs.example.com`, `a..ipfs.example.com`: no root a DNS name could
                        // carry.
                        return HostKind::Path;
                    }
                    return HostKind::Subdomain {
                        namespace,
                        root,
                        gateway: &host[dot + 1..],
                    };
                }
            }
            namespace_dot = Some(dot);
        }
        if looks_like_domain(name) {
            HostKind::MaybeDnsLink { name, host }
        } else {
            HostKind::Path
        }
    }
}

/// The host a request is for: `X-Forwarded-Host` (set by a reverse proxy), else `Host`, else
/// the authority of an absolute-form target (HTTP/2 `:authority`).
pub fn request_host<'r>(uri: &'r Uri, headers: &'r HeaderMap) -> &'r str {
    let from = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    from(X_FORWARDED_HOST)
        .or_else(|| from(header::HOST.as_str()))
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("")
}

/// Whether the client reached us over HTTPS (a TLS-terminating proxy says so in
/// `X-Forwarded-Proto`).
pub fn is_https(uri: &Uri, headers: &HeaderMap) -> bool {
    uri.scheme_str() == Some("https")
        || headers
            .get(X_FORWARDED_PROTO)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

/// `host:port` → `host`; IPv6 literals in brackets keep their brackets off.
pub fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split_once(']').map_or(host, |(addr, _)| addr);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

fn is_ip_literal(name: &str) -> bool {
    name.parse::<IpAddr>().is_ok()
}

/// A name DNS could hold (RFC 1035 §2.3.4 lengths, letters, digits, `-`, `_`), with at least
/// one dot: single-label hosts such as `localhost` are not looked up unless configured.
fn looks_like_domain(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    name.len() <= 253
        && name.contains('.')
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= DNS_LABEL_MAX
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// `my.v-long.example.com` → `my-v--long-example-com` (subdomain-gateway spec, "DNSLink
/// inlining"), or `None` when the result would not fit one DNS label.
pub fn inline_dnslink(fqdn: &str) -> Option<String> {
    let mut label = String::with_capacity(fqdn.len() + 4);
    for c in fqdn.chars() {
        match c {
            '-' => label.push_str("--"),
            '.' => label.push('-'),
            c => label.push(c),
        }
    }
    (label.len() <= DNS_LABEL_MAX).then_some(label)
}

/// The inverse of [`inline_dnslink`]: `--` → `-`, `-` → `.`.
pub fn uninline_dnslink(label: &str) -> String {
    let mut fqdn = String::with_capacity(label.len());
    let mut chars = label.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '-' {
            if chars.peek() == Some(&'-') {
                chars.next();
                fqdn.push('-');
            } else {
                fqdn.push('.');
            }
        } else {
            fqdn.push(c);
        }
    }
    fqdn
}

/// Why a root cannot be given a subdomain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelTooLong(pub String);

impl std::fmt::Display for LabelTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CID incompatible with DNS label length limit of {DNS_LABEL_MAX}: {}",
            self.0
        )
    }
}

/// The DNS label naming `cid` under `.ipfs.` (CIDv1 base32) or, for IPNS names, under
/// `.ipns.` (CIDv1 libp2p-key base36); base36 is tried when base32 is too long (boxo
/// `toDNSLabel`).
pub fn cid_label(cid: &Cid, namespace: Namespace) -> Result<String, LabelTooLong> {
    let codec = match namespace {
        Namespace::Ipfs => cid.codec(),
        // Peer IDs written as CIDv1 must carry libp2p-key (libp2p specs #209).
        Namespace::Ipns => codec::LIBP2P_KEY,
    };
    let v1 = Cid::new_v1(codec, *cid.hash());
    let preferred = match namespace {
        Namespace::Ipfs => Base::Base32Lower,
        Namespace::Ipns => Base::Base36Lower,
    };
    let text = v1.to_string_of_base(preferred).unwrap_or_default();
    if text.len() <= DNS_LABEL_MAX {
        return Ok(text);
    }
    let base36 = v1.to_string_of_base(Base::Base36Lower).unwrap_or_default();
    if base36.len() <= DNS_LABEL_MAX {
        return Ok(base36);
    }
    Err(LabelTooLong(base36))
}

/// The canonical label of an IPNS root written as a peer ID or CID, if it is one.
pub fn ipns_name_label(root: &str) -> Option<Result<String, LabelTooLong>> {
    if let Ok(name) = IpnsName::parse(root) {
        return Some(cid_label(&name.to_cid(), Namespace::Ipns));
    }
    // A CIDv1 with the wrong codec (dag-pb, say) still names a key: fix the codec.
    let cid = crate::ipld::cid::parse(root).ok()?;
    IpnsName::from_multihash(&cid.hash().to_bytes()).ok()?;
    Some(cid_label(&cid, Namespace::Ipns))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> GatewayHosts {
        GatewayHosts::new(&["localhost".into(), "example.com".into()])
    }

    #[test]
    fn classifies_hosts() {
        let h = hosts();
        assert_eq!(h.classify("127.0.0.1:8080"), HostKind::Path);
        assert_eq!(h.classify("[::1]:8080"), HostKind::Path);
        assert_eq!(h.classify(""), HostKind::Path);
        assert_eq!(
            h.classify("example.com:8080"),
            HostKind::SubdomainParent {
                host: "example.com:8080"
            }
        );
        assert_eq!(
            h.classify("bafyx.ipfs.example.com:8080"),
            HostKind::Subdomain {
                namespace: Namespace::Ipfs,
                root: "bafyx",
                gateway: "example.com:8080"
            }
        );
        assert_eq!(
            h.classify("en.wikipedia-on-ipfs.org.ipns.localhost"),
            HostKind::Subdomain {
                namespace: Namespace::Ipns,
                root: "en.wikipedia-on-ipfs.org",
                gateway: "localhost"
            }
        );
        assert_eq!(
            h.classify("bafyx.ipld.example.com"),
            HostKind::MaybeDnsLink {
                name: "bafyx.ipld.example.com",
                host: "bafyx.ipld.example.com"
            }
        );
        assert_eq!(
            h.classify("docs.ipfs.tech:80"),
            HostKind::MaybeDnsLink {
                name: "docs.ipfs.tech",
                host: "docs.ipfs.tech:80"
            }
        );
        assert_eq!(h.classify("intranet"), HostKind::Path);
        assert_eq!(h.classify(".ipns.localhost"), HostKind::Path);
        assert_eq!(h.classify("a..ipfs.example.com"), HostKind::Path);
        assert_eq!(
            GatewayHosts::default().classify("localhost:1"),
            HostKind::Path
        );
    }

    #[test]
    fn dnslink_inlining_round_trips() {
        assert_eq!(
            inline_dnslink("my.v-long.example.com").as_deref(),
            Some("my-v--long-example-com")
        );
        assert_eq!(
            uninline_dnslink("my-v--long-example-com"),
            "my.v-long.example.com"
        );
        assert_eq!(inline_dnslink(&"a.".repeat(40)), None);
    }

    #[test]
    fn labels_fit_dns() {
        let v0 = crate::ipld::cid::parse("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR").unwrap();
        let label = cid_label(&v0, Namespace::Ipfs).unwrap();
        assert!(label.starts_with("bafybei") && label.len() <= DNS_LABEL_MAX);
        // A sha2-512 CID is 110 characters in base32 and 98 in base36: too long either way.
        let long = Cid::new_v1(
            0x55,
            cid::multihash::Multihash::<64>::wrap(0x13, &[7u8; 64]).unwrap(),
        );
        let err = cid_label(&long, Namespace::Ipfs).unwrap_err();
        assert!(err.to_string().contains("DNS label length limit of 63"));
        let peer = "12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2d";
        let label = ipns_name_label(peer).unwrap().unwrap();
        assert!(label.starts_with("k51"));
    }

    #[test]
    fn forwarded_host_and_proto() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "fake.domain.com".parse().unwrap());
        let uri: Uri = "/ipfs/x".parse().unwrap();
        assert_eq!(request_host(&uri, &headers), "fake.domain.com");
        headers.insert(X_FORWARDED_HOST, "example.com".parse().unwrap());
        assert_eq!(request_host(&uri, &headers), "example.com");
        assert!(!is_https(&uri, &headers));
        headers.insert(X_FORWARDED_PROTO, "https".parse().unwrap());
        assert!(is_https(&uri, &headers));
        assert_eq!(strip_port("example.com:8080"), "example.com");
        assert_eq!(strip_port("[::1]:80"), "::1");
    }
}
