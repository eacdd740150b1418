//! [`Multiaddr`]: parsed and re-rendered like go-multiaddr v0.16's `NewMultiaddr`/`String`
//! (`/ipfs/` becomes `/p2p/`, addresses and ports normalised, peer IDs in base58btc).

use super::*;

/// A multiaddress, kept as the canonical text go-multiaddr v0.16 prints (`/ipfs/` becomes
/// `/p2p/`, IP addresses and ports normalised, peer IDs in base58btc). JSON: a string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Multiaddr(String);

/// Why a multiaddress did not parse; `Display` follows go-multiaddr's messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MultiaddrError(String);

/// How a protocol's value is written and checked.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum MaValue {
    None,
    Ip4,
    Ip6,
    Port,
    Dns,
    Ip6Zone,
    IpCidr,
    Onion,
    Onion3,
    Garlic64,
    Garlic32,
    P2p,
    Path,
    CertHash,
    HttpPath,
    Memory,
}

/// go-multiaddr v0.16.1's protocol table (`protocols.go`), by name.
pub(super) fn ma_protocol(name: &str) -> Option<(&'static str, MaValue)> {
    use MaValue::*;
    Some(match name {
        "ip4" => ("ip4", Ip4),
        "tcp" => ("tcp", Port),
        "dns" => ("dns", Dns),
        "dns4" => ("dns4", Dns),
        "dns6" => ("dns6", Dns),
        "dnsaddr" => ("dnsaddr", Dns),
        "udp" => ("udp", Port),
        "dccp" => ("dccp", Port),
        "ip6" => ("ip6", Ip6),
        "ip6zone" => ("ip6zone", Ip6Zone),
        "ipcidr" => ("ipcidr", IpCidr),
        "sctp" => ("sctp", Port),
        "p2p-circuit" => ("p2p-circuit", None),
        "onion" => ("onion", Onion),
        "onion3" => ("onion3", Onion3),
        "garlic64" => ("garlic64", Garlic64),
        "garlic32" => ("garlic32", Garlic32),
        "utp" => ("utp", None),
        "udt" => ("udt", None),
        "quic" => ("quic", None),
        "quic-v1" => ("quic-v1", None),
        "webtransport" => ("webtransport", None),
        "certhash" => ("certhash", CertHash),
        "http" => ("http", None),
        "http-path" => ("http-path", HttpPath),
        "https" => ("https", None),
        "p2p" | "ipfs" => ("p2p", P2p),
        "unix" => ("unix", Path),
        "p2p-webrtc-direct" => ("p2p-webrtc-direct", None),
        "tls" => ("tls", None),
        "sni" => ("sni", Dns),
        "noise" => ("noise", None),
        "ws" => ("ws", None),
        "wss" => ("wss", None),
        "plaintextv2" => ("plaintextv2", None),
        "webrtc-direct" => ("webrtc-direct", None),
        "webrtc" => ("webrtc", None),
        "memory" => ("memory", Memory),
        _ => return Option::None,
    })
}

/// Go's `net.ParseIP(s).To4()`: dotted quad, or an IPv4-mapped IPv6 address.
pub(super) fn parse_ip4(s: &str) -> Option<std::net::Ipv4Addr> {
    if let Ok(v4) = s.parse::<std::net::Ipv4Addr>() {
        return Some(v4);
    }
    s.parse::<std::net::Ipv6Addr>()
        .ok()
        .and_then(|v6| v6.to_ipv4_mapped())
}

/// Go's `net.ParseIP(s).To16()`: IPv6 text, or a dotted quad (mapped).
pub(super) fn parse_ip6(s: &str) -> Option<std::net::Ipv6Addr> {
    if let Ok(v6) = s.parse::<std::net::Ipv6Addr>() {
        return Some(v6);
    }
    s.parse::<std::net::Ipv4Addr>()
        .ok()
        .map(|v4| v4.to_ipv6_mapped())
}

pub(super) fn garlic64_encode(bytes: &[u8]) -> String {
    data_encoding::BASE64
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '~',
            c => c,
        })
        .collect()
}

/// One multiaddr component value: checks it as go-multiaddr's transcoder would and appends the
/// canonical text (without the leading `/`).
pub(super) fn ma_value(kind: MaValue, v: &str, out: &mut String) -> Result<(), String> {
    match kind {
        MaValue::None => {}
        MaValue::Ip4 => {
            let ip = parse_ip4(v).ok_or_else(|| format!("failed to parse ip4 addr: {v}"))?;
            let _ = write!(out, "{ip}");
        }
        MaValue::Ip6 => {
            let ip = parse_ip6(v).ok_or_else(|| format!("failed to parse ip6 addr: {v}"))?;
            match ip.to_ipv4_mapped() {
                Some(v4) => {
                    let _ = write!(out, "::ffff:{v4}");
                }
                None => {
                    let _ = write!(out, "{ip}");
                }
            }
        }
        MaValue::Port => {
            let port =
                go_parse_uint(v, 16).map_err(|e| format!("failed to parse port addr: {e}"))?;
            let _ = write!(out, "{port}");
        }
        MaValue::Dns => {
            if v.is_empty() {
                return Err("empty dns addr".into());
            }
            out.push_str(v);
        }
        MaValue::Ip6Zone => {
            if v.is_empty() {
                return Err("empty ip6zone".into());
            }
            out.push_str(v);
        }
        MaValue::IpCidr => {
            let n = go_parse_uint(v, 8)?;
            let _ = write!(out, "{n}");
        }
        MaValue::Memory => {
            let n = go_parse_uint(v, 64)?;
            let _ = write!(out, "{n}");
        }
        MaValue::Onion | MaValue::Onion3 => {
            let (host, port) = match v.split_once(':') {
                Some((h, p)) if !p.contains(':') => (h, p),
                _ => {
                    return Err(format!(
                        "failed to parse onion addr: {v} does not contain a port number"
                    ))
                }
            };
            let want = if kind == MaValue::Onion { 10 } else { 35 };
            if kind == MaValue::Onion3 && host.len() != 56 {
                return Err(format!(
                    "failed to parse onion addr: {v} not a Tor onionv3 address. len == {}",
                    host.len()
                ));
            }
            let decoded = data_encoding::BASE32
                .decode(host.to_ascii_uppercase().as_bytes())
                .map_err(|e| format!("failed to decode base32 onion addr: {v} {e}"))?;
            if decoded.len() != want {
                return Err(format!(
                    "failed to parse onion addr: {v} not a Tor onion address"
                ));
            }
            let port =
                go_parse_uint(port, 16).map_err(|e| format!("failed to parse onion addr: {e}"))?;
            if port == 0 {
                return Err("failed to parse onion addr: non-zero port".into());
            }
            let host = data_encoding::BASE32.encode(&decoded).to_ascii_lowercase();
            let _ = write!(out, "{host}:{port}");
        }
        MaValue::Garlic64 => {
            let mut bytes = Vec::new();
            go_base64_decode(v.as_bytes(), GARLIC_B64, true, &mut bytes)
                .map_err(|_| format!("failed to decode base64 i2p addr: {v}"))?;
            if bytes.len() < 386 {
                return Err(format!(
                    "failed to validate garlic addr: not an i2p base64 address. len: {}",
                    bytes.len()
                ));
            }
            out.push_str(&garlic64_encode(&bytes));
        }
        MaValue::Garlic32 => {
            let mut padded = v.to_ascii_uppercase();
            while !padded.len().is_multiple_of(8) {
                padded.push('=');
            }
            let bytes = data_encoding::BASE32
                .decode(padded.as_bytes())
                .map_err(|e| format!("failed to decode base32 garlic addr: {padded}, err: {e}"))?;
            if bytes.len() < 35 && bytes.len() != 32 {
                return Err(format!(
                    "failed to validate garlic addr: not an i2p base32 address. len: {}",
                    bytes.len()
                ));
            }
            let text = data_encoding::BASE32.encode(&bytes).to_ascii_lowercase();
            out.push_str(text.trim_end_matches('='));
        }
        MaValue::P2p => {
            let bytes = if v.starts_with("Qm") || v.starts_with('1') {
                if v.len() > MAX_PEER_ID_TEXT {
                    return Err(format!("failed to parse p2p addr: {v} too long"));
                }
                let bytes = Base::Base58Btc.decode(v).map_err(|_| {
                    format!("failed to parse p2p addr: {v} input isn't valid multihash")
                })?;
                multihash_parts(&bytes)
                    .map_err(|e| format!("failed to parse p2p addr: {v} {e}"))?;
                bytes
            } else {
                let (bytes, codec) =
                    go_cid_bytes(v).map_err(|e| format!("failed to parse p2p addr: {v} {e}"))?;
                if codec != LIBP2P_KEY_CODEC {
                    return Err(format!(
                        "failed to parse p2p addr: {v} has the invalid codec {codec}"
                    ));
                }
                cid_multihash(&bytes).to_vec()
            };
            // go-multiaddr's p2pVal: only sha2-256 (32 bytes) or identity peer IDs.
            let (code, len) =
                multihash_parts(&bytes).map_err(|e| format!("invalid multihash: {e}"))?;
            if code != SHA2_256 && code != IDENTITY {
                return Err(format!(
                    "invalid multihash code {code} expected sha-256 or identity"
                ));
            }
            if code == SHA2_256 && len != 32 {
                return Err(format!(
                    "invalid digest length {len} for sha256 addr: expected 32"
                ));
            }
            out.push_str(&Base::Base58Btc.encode(&bytes));
        }
        MaValue::Path => {
            let b = v.as_bytes();
            if b.len() < 2 {
                return Err(format!("byte slice too short: {}", b.len()));
            }
            if b[0] != b'/' {
                return Err("path protocol must begin with '/'".into());
            }
            if b[b.len() - 1] == b'/' {
                return Err("unix socket path must not end in '/'".into());
            }
            // The path keeps its own leading `/`: drop the separator the caller wrote.
            out.pop();
            out.push_str(v);
        }
        MaValue::CertHash => {
            let (_, bytes) = cid::multibase::decode(v).map_err(|e| e.to_string())?;
            multihash_parts(&bytes)?;
            out.push_str(&cid::multibase::encode(Base::Base64Url, &bytes));
        }
        MaValue::HttpPath => {
            let bytes = go_query_unescape(v)?;
            if bytes.is_empty() {
                return Err("empty http path is not allowed".into());
            }
            query_escape_into(&bytes, out);
        }
    }
    Ok(())
}

impl Multiaddr {
    /// Parses like go-multiaddr v0.16's `NewMultiaddr` and keeps the canonical text. Supports
    /// that version's whole protocol table.
    pub fn parse(text: &str) -> Result<Multiaddr, MultiaddrError> {
        // go-multiaddr trims trailing slashes before anything else, and quotes the trimmed text.
        let s = text.trim_end_matches('/');
        let fail = |msg: String| {
            MultiaddrError(format!("failed to parse multiaddr {}: {msg}", go_quote(s)))
        };
        let Some(rest) = s.strip_prefix('/') else {
            if s.is_empty() {
                return Err(fail("empty multiaddr".into()));
            }
            return Err(fail("must begin with /".into()));
        };
        if s.is_empty() {
            return Err(fail("empty multiaddr".into()));
        }
        let mut out = String::with_capacity(s.len() + 8);
        let segments: Vec<&str> = rest.split('/').collect();
        let mut i = 0;
        while i < segments.len() {
            let name = segments[i];
            i += 1;
            let Some((canonical, kind)) = ma_protocol(name) else {
                return Err(fail(format!("unknown protocol {name}")));
            };
            out.push('/');
            out.push_str(canonical);
            if kind == MaValue::None {
                continue;
            }
            if i >= segments.len() {
                return Err(fail("unexpected end of multiaddr".into()));
            }
            // A path protocol takes everything after its name, with a leading `/`.
            let value: Cow<'_, str> = if kind == MaValue::Path {
                let v = format!("/{}", segments[i..].join("/"));
                i = segments.len();
                Cow::Owned(v)
            } else {
                i += 1;
                Cow::Borrowed(segments[i - 1])
            };
            out.push('/');
            ma_value(kind, &value, &mut out).map_err(|e| {
                fail(format!(
                    "invalid value {} for protocol {canonical}: {e}",
                    go_quote(&value)
                ))
            })?;
        }
        Ok(Multiaddr(out))
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value of the first `/p2p/` component, if any (go-multiaddr `ValueForProtocol(P_P2P)`).
    pub fn p2p_value(&self) -> Option<&str> {
        let mut parts = self.0.split('/').skip(1);
        while let Some(name) = parts.next() {
            match ma_protocol(name) {
                Some(("p2p", _)) => return parts.next(),
                // A path protocol swallows the rest of the address.
                Some((_, MaValue::Path)) => return None,
                Some((_, MaValue::None)) => {}
                Some(_) => {
                    parts.next();
                }
                None => return None,
            }
        }
        None
    }
}

impl fmt::Display for Multiaddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Multiaddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
