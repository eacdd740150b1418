//! The IPFS Cluster REST API's JSON shapes and value types, byte-compatible with what
//! ipfs-cluster v1.1.6 emits through Go's `encoding/json` (`api/types.go`, `api/add.go`).
//!
//! Owns:
//! - the reply objects (`ID`, `Version`, `Pin` with its flattened `PinOptions`, `GlobalPinInfo`,
//!   `PinInfoShort`, `AddedOutput`, `Metric`, `Alert`, `ConnectGraph`, `BandwidthByProtocol`,
//!   `GlobalRepoGC`/`RepoGC`/`IPFSRepoGC`, the error object and `{"token":…}`), with fields in Go's
//!   declaration order (Go emits struct fields in that order) and Go's `omitempty` rules. Go's
//!   `omitempty` has no effect on struct-typed fields (`api.Cid`, `time.Time`, `IPFSID`), so those
//!   are always present; a nil slice or map is `null`, which is why the fields where upstream
//!   sometimes has nil and sometimes an empty value are `Option<Vec<_>>`/`Option<BTreeMap<_, _>>`
//!   (`None` = `null`, `Some(empty)` = `[]`/`{}`).
//! - the value types those carry: CIDs as plain strings (`api.Cid.MarshalJSON`: `null` when
//!   undefined, else `cid.String()`: base58btc for v0, base32 for v1), [`PeerId`] (base58btc of the
//!   multihash, parsed like go-libp2p's `peer.Decode`), [`Multiaddr`] (parsed and re-rendered like
//!   go-multiaddr v0.16's `NewMultiaddr`/`String`), [`Timestamp`] (Go's `time.Time`: RFC 3339 with
//!   nanoseconds, trailing zeros trimmed, the zero time `0001-01-01T00:00:00Z`), the status and
//!   pin-type enums with their wire names, including the `error`/`queued` filter aliases.
//! - [`to_go_json`]/[`write_go_json`]: a serde_json formatter that escapes like Go (`<`, `>`, `&`,
//!   U+2028, U+2029 as `\u…`) and prints floats like Go (`0` not `0.0`, `1e+21`, `1e-7`); Go's
//!   `json.Encoder` ends each value with `\n`, and so does [`to_go_json`].

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::io;

use cid::multibase::Base;
use cid::Cid;
use serde::{Serialize, Serializer};

use crate::ipld::cid::codec::{self, DAG_PB, LIBP2P_KEY as LIBP2P_KEY_CODEC};
use crate::ipld::cid::hash::{IDENTITY, SHA2_256};
pub(crate) use crate::ipld::time::go_time_quote;
pub use crate::ipld::time::{TimeParseError, Timestamp};
use crate::ipld::varint::{self, VarintError};
use crate::services::go_url::query_escape_into;

// ---------------------------------------------------------------------------------------------
// Go-style quoting used in error messages.

/// Go's `strconv.Quote` for the ASCII cases error messages meet: printable ASCII as is, `"` and
/// `\` escaped, the usual C escapes, other control bytes as `\xNN`; non-ASCII characters are kept.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.ParseUint(s, 10, bits)`: ASCII digits only (no sign, no underscores), with
/// Go's error text.
pub(crate) fn go_parse_uint(s: &str, bits: u32) -> Result<u64, String> {
    let fail = |what: &str| format!("strconv.ParseUint: parsing {}: {what}", go_quote(s));
    if s.is_empty() {
        return Err(fail("invalid syntax"));
    }
    let max = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let mut n: u64 = 0;
    // Left to right, as Go: a bad character or an overflow is reported where it is met.
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return Err(fail("invalid syntax"));
        }
        n = match n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
        {
            Some(n) if n <= max => n,
            _ => return Err(fail("value out of range")),
        };
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------------
// Multihash structure (go-multihash `Cast`) and base58.

/// go-varint's `FromUvarint` as go-multihash uses it: at most 9 bytes (63 bits), minimal encoding.
fn go_uvarint(buf: &[u8]) -> Result<(u64, &[u8]), &'static str> {
    const MAX_LEN: usize = 9;
    match varint::decode_minimal(buf.iter().copied().take(MAX_LEN)) {
        Ok((value, used)) => Ok((value, &buf[used..])),
        Err(VarintError::Truncated) if buf.len() >= MAX_LEN => {
            Err("varints larger than uint63 not supported")
        }
        Err(VarintError::Truncated) => Err("varints malformed, could not reach the end"),
        // Nine bytes cannot be too long or overflow; only a padded encoding is left.
        Err(VarintError::NotMinimal | VarintError::TooLong | VarintError::Overflow) => {
            Err("varint not minimally encoded")
        }
    }
}

/// go-multihash `readMultihashFromBuf`: the code, digest length and total length of the
/// multihash at the start of `bytes` (more bytes may follow).
fn multihash_prefix(bytes: &[u8]) -> Result<(u64, usize, usize), String> {
    if bytes.len() < 2 {
        return Err("multihash too short. must be >= 2 bytes".into());
    }
    let (code, rest) = go_uvarint(bytes)?;
    let (len, rest) = go_uvarint(rest)?;
    if len > i32::MAX as u64 {
        return Err("digest too long, supporting only <= 2^31-1".into());
    }
    let len = len as usize;
    if len > rest.len() {
        return Err("length greater than remaining number of bytes in buffer".into());
    }
    Ok((code, len, bytes.len() - rest.len() + len))
}

/// The code and digest length of a multihash whose bytes are exactly `bytes` (go-multihash
/// `Cast`: any code, declared length must match what follows).
fn multihash_parts(bytes: &[u8]) -> Result<(u64, usize), String> {
    let (code, len, total) = multihash_prefix(bytes)?;
    if total != bytes.len() {
        // go-multihash reports the declared digest length and the size it implies.
        return Err(format!(
            "multihash length inconsistent: expected {len}; got {total}"
        ));
    }
    Ok((code, len))
}

/// Decodes RFC 4648 base32 without padding the way go-multibase (go-base32 v0.1) does for
/// `b`/`B`: case-insensitively, spare trailing bits ignored, and a final group of 1, 3 or 6
/// characters silently yielding nothing (that fork lacks Go's later check).
fn go_base32_decode(text: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8 + 5);
    let mut group = [0u8; 8];
    let mut j = 0;
    for (i, &c) in text.iter().enumerate() {
        group[j] = match c {
            b'a'..=b'z' => c - b'a',
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            b'\r' | b'\n' => continue,
            _ => return Err(format!("illegal base32 data at input byte {i}")),
        };
        j += 1;
        if j == 8 {
            push_base32_group(&group, 8, &mut out);
            j = 0;
        }
    }
    push_base32_group(&group, j, &mut out);
    Ok(out)
}

/// The bytes `n` base32 digits of a group carry (none for 1, 3 or 6 digits, as go-base32).
fn push_base32_group(g: &[u8; 8], n: usize, out: &mut Vec<u8>) {
    let bytes = match n {
        2 => 1,
        4 => 2,
        5 => 3,
        7 => 4,
        8 => 5,
        _ => return,
    };
    let v = g.iter().fold(0u64, |acc, &d| (acc << 5) | u64::from(d));
    out.extend_from_slice(&v.to_be_bytes()[3..3 + bytes]);
}

/// A CID's binary form checked as go-cid's `Decode` checks it; returns the bytes and the codec.
fn go_cid_bytes(text: &str) -> Result<(Vec<u8>, u64), String> {
    if text.len() < 2 {
        return Err("invalid cid: cid too short".into());
    }
    if text.len() > MAX_CID_TEXT {
        return Err("invalid cid: cid too long".into());
    }
    if text.len() == 46 && text.starts_with("Qm") {
        let bytes = Base::Base58Btc
            .decode(text)
            .map_err(|_| "invalid cid: input isn't valid multihash".to_string())?;
        let (code, len) = multihash_parts(&bytes).map_err(|e| format!("invalid cid: {e}"))?;
        if code != SHA2_256 || len != 32 {
            return Err("invalid cid: invalid hash for cidv0".into());
        }
        return Ok((bytes, DAG_PB));
    }
    let data = match text.as_bytes()[0] {
        b'b' | b'B' => go_base32_decode(&text.as_bytes()[1..]),
        // go-multibase v0.3 knows these prefixes; the Rust crate knows a few more (base8,
        // base10, base32z) that Go refuses.
        b'\0' | b'0' | b'f' | b'F' | b'v' | b'V' | b'c' | b'C' | b't' | b'T' | b'k' | b'K'
        | b'z' | b'Z' | b'm' | b'M' | b'u' | b'U' => cid::multibase::decode(text)
            .map(|(_, d)| d)
            .map_err(|e| match e {
                cid::multibase::Error::UnknownBase(_) => "selected encoding not supported".into(),
                e => e.to_string(),
            }),
        _ => Err("selected encoding not supported".into()),
    }
    .map_err(|e| format!("invalid cid: {e}"))?;
    // go-cid wraps CidFromBytes's errors twice.
    let twice = |e: String| format!("invalid cid: invalid cid: {e}");
    // go-cid CidFromBytes: a bare sha2-256 multihash is a CIDv0.
    let (used, codec) = if data.len() > 2 && data[0] == 0x12 && data[1] == 32 {
        if data.len() < 34 {
            return Err(twice("not enough bytes for cid v0".into()));
        }
        multihash_parts(&data[..34]).map_err(twice)?;
        (34, DAG_PB)
    } else {
        let (version, rest) = go_uvarint(&data).map_err(|e| twice(e.into()))?;
        if version != 1 {
            return Err(twice(format!(
                "expected 1 as the cid version number, got: {version}"
            )));
        }
        let (codec, rest) = go_uvarint(rest).map_err(|e| twice(e.into()))?;
        let (_, _, mh_len) = multihash_prefix(rest).map_err(twice)?;
        (data.len() - rest.len() + mh_len, codec)
    };
    if used != data.len() {
        return Err("invalid cid: trailing bytes in data buffer passed to cid Cast".into());
    }
    Ok((data, codec))
}

/// The multihash inside a CID's binary form (a bare multihash for CIDv0).
fn cid_multihash(bytes: &[u8]) -> &[u8] {
    if bytes.len() == 34 && bytes[0] == 0x12 {
        return bytes;
    }
    match go_uvarint(bytes).and_then(|(_, rest)| go_uvarint(rest)) {
        Ok((_, mh)) => mh,
        Err(_) => bytes,
    }
}

/// Longest peer ID text accepted. Real peer IDs are 46 (`Qm…`) to 53 (`16Uiu2…`) characters and
/// CID forms under 70; base58 decoding is quadratic, so hostile lengths are refused up front.
const MAX_PEER_ID_TEXT: usize = 128;

/// A codec's name as go-multicodec's `Code.String` gives it.
fn multicodec_name(code: u64) -> Cow<'static, str> {
    match codec::name(code) {
        Some(name) => name.into(),
        None => format!("Code({code})").into(),
    }
}

// ---------------------------------------------------------------------------------------------
// PeerId

/// A libp2p peer ID, kept as its canonical text: base58btc of the multihash bytes (go-libp2p
/// `peer.ID.String`). JSON: a string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(String);

/// Why a peer ID did not parse; `Display` is go-libp2p's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PeerIdError(String);

impl PeerId {
    /// Parses like go-libp2p's `peer.Decode`: text starting with `Qm` or `1` is a base58btc
    /// multihash (any hash code, structure checked); anything else must be a CID with the
    /// `libp2p-key` codec. The result is re-encoded in base58btc.
    pub fn parse(text: &str) -> Result<PeerId, PeerIdError> {
        if text.len() > MAX_PEER_ID_TEXT {
            return Err(PeerIdError("failed to parse peer ID: too long".into()));
        }
        if text.starts_with("Qm") || text.starts_with('1') {
            let bytes = Base::Base58Btc.decode(text).map_err(|_| {
                PeerIdError("failed to parse peer ID: input isn't valid multihash".into())
            })?;
            multihash_parts(&bytes)
                .map_err(|e| PeerIdError(format!("failed to parse peer ID: {e}")))?;
            // Base58 text that decodes is already canonical: keep it as written.
            return Ok(PeerId(text.to_owned()));
        }
        let (bytes, codec) =
            go_cid_bytes(text).map_err(|e| PeerIdError(format!("failed to parse peer ID: {e}")))?;
        if codec != LIBP2P_KEY_CODEC {
            return Err(PeerIdError(format!(
                "can't convert CID of type {} to a peer ID",
                go_quote(&multicodec_name(codec))
            )));
        }
        Ok(PeerId(Base::Base58Btc.encode(cid_multihash(&bytes))))
    }

    /// A peer ID from raw multihash bytes (go-libp2p `peer.IDFromBytes`).
    pub fn from_multihash_bytes(bytes: &[u8]) -> Result<PeerId, PeerIdError> {
        multihash_parts(bytes).map_err(PeerIdError)?;
        Ok(PeerId(Base::Base58Btc.encode(bytes)))
    }

    /// The base58btc text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for PeerId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Longest CID text accepted (as in `ipld::cid`): bounds work on hostile input.
const MAX_CID_TEXT: usize = 256;

/// Parses a CID in any multibase (v1) or base58btc (v0) with go-cid's `cid.Decode` rules
/// (base32 case-insensitive, no trailing bytes) and go-cid's error texts where they matter.
/// Digests longer than 64 bytes, which go-cid would take, are refused.
pub fn parse_cid(text: &str) -> Result<Cid, String> {
    let (bytes, _) = go_cid_bytes(text)?;
    Cid::try_from(&bytes[..]).map_err(|e| format!("invalid cid: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Multiaddr

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
enum MaValue {
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
fn ma_protocol(name: &str) -> Option<(&'static str, MaValue)> {
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
fn parse_ip4(s: &str) -> Option<std::net::Ipv4Addr> {
    if let Ok(v4) = s.parse::<std::net::Ipv4Addr>() {
        return Some(v4);
    }
    s.parse::<std::net::Ipv6Addr>()
        .ok()
        .and_then(|v6| v6.to_ipv4_mapped())
}

/// Go's `net.ParseIP(s).To16()`: IPv6 text, or a dotted quad (mapped).
fn parse_ip6(s: &str) -> Option<std::net::Ipv6Addr> {
    if let Ok(v6) = s.parse::<std::net::Ipv6Addr>() {
        return Some(v6);
    }
    s.parse::<std::net::Ipv4Addr>()
        .ok()
        .map(|v4| v4.to_ipv6_mapped())
}

/// Go's `url.QueryUnescape` (`+` is a space). A bad `%` escape fails with Go's
/// `invalid URL escape "%zz"` text.
pub(crate) fn go_query_unescape(s: &str) -> Result<Cow<'_, [u8]>, String> {
    let bytes = s.as_bytes();
    if !bytes.iter().any(|&b| b == b'%' || b == b'+') {
        return Ok(Cow::Borrowed(bytes));
    }
    let hex = |b: Option<&u8>| b.and_then(|&b| (b as char).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => match (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 3;
                }
                _ => {
                    let bad = &bytes[i..bytes.len().min(i + 3)];
                    return Err(format!(
                        "invalid URL escape {}",
                        go_quote(&String::from_utf8_lossy(bad))
                    ));
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(Cow::Owned(out))
}

/// Decodes base64 the way Go's non-strict `encoding/base64` does: `\r`/`\n` skipped anywhere,
/// non-zero trailing bits tolerated; with `padded`, `=` padding is required and must end the input.
pub(crate) fn go_base64_decode(
    input: &[u8],
    alphabet: &[u8; 64],
    padded: bool,
    out: &mut Vec<u8>,
) -> Result<(), ()> {
    let mut table = [0xffu8; 256];
    for (i, &c) in alphabet.iter().enumerate() {
        table[usize::from(c)] = i as u8;
    }
    let mut quantum = [0u8; 4];
    let mut j = 0usize;
    let mut i = 0usize;
    while i < input.len() {
        let c = input[i];
        i += 1;
        if c == b'\r' || c == b'\n' {
            continue;
        }
        if padded && c == b'=' {
            // `=` may stand only in the third or fourth place of a quantum.
            match j {
                2 => {
                    // One more `=` must follow (newlines may sit between).
                    while i < input.len() && (input[i] == b'\r' || input[i] == b'\n') {
                        i += 1;
                    }
                    if i >= input.len() || input[i] != b'=' {
                        return Err(());
                    }
                    i += 1;
                }
                3 => {}
                _ => return Err(()),
            }
            // Only newlines may follow the padding.
            if input[i..].iter().any(|&b| b != b'\r' && b != b'\n') {
                return Err(());
            }
            flush_quantum(&quantum, j, out);
            return Ok(());
        }
        let v = table[usize::from(c)];
        if v == 0xff {
            return Err(());
        }
        quantum[j] = v;
        j += 1;
        if j == 4 {
            flush_quantum(&quantum, 4, out);
            j = 0;
        }
    }
    match j {
        0 => Ok(()),
        1 => Err(()),
        _ if padded => Err(()),
        _ => {
            flush_quantum(&quantum, j, out);
            Ok(())
        }
    }
}

fn flush_quantum(q: &[u8; 4], n: usize, out: &mut Vec<u8>) {
    let v = (u32::from(q[0]) << 18)
        | (u32::from(q[1]) << 12)
        | (u32::from(q[2]) << 6)
        | u32::from(q[3]);
    let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
    // n sextets carry n-1 whole bytes; leftover bits are ignored, as Go's non-strict mode does.
    out.extend_from_slice(&bytes[..n - 1]);
}

const STD_B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const GARLIC_B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-~";
/// The standard base64 alphabet, for Basic credentials.
pub(crate) const BASE64_STD_ALPHABET: &[u8; 64] = STD_B64;
/// The URL-safe base64 alphabet, for JWT segments.
pub(crate) const BASE64_URL_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn garlic64_encode(bytes: &[u8]) -> String {
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
fn ma_value(kind: MaValue, v: &str, out: &mut String) -> Result<(), String> {
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

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

// ---------------------------------------------------------------------------------------------
// Enums

/// How a pin is applied on IPFS (`api.PinMode`). JSON: `"recursive"` or `"direct"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum PinMode {
    #[default]
    Recursive,
    Direct,
}

impl PinMode {
    /// `api.PinModeFromString`: `direct` is direct; anything else (including `""` and unknown
    /// words) is recursive.
    pub fn from_query(s: &str) -> PinMode {
        if s == "direct" {
            PinMode::Direct
        } else {
            PinMode::Recursive
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PinMode::Recursive => "recursive",
            PinMode::Direct => "direct",
        }
    }

    /// `PinMode.ToPinDepth`: -1 recursive, 0 direct.
    pub fn max_depth(self) -> i64 {
        match self {
            PinMode::Recursive => -1,
            PinMode::Direct => 0,
        }
    }
}

impl Serialize for PinMode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What kind of pin a `Pin` object is (`api.PinType`, bit values as upstream). JSON: `"pin"`,
/// `"meta-pin"`, `"clusterdag-pin"`, `"shard-pin"` (`"bad-type"` for [`PinType::Bad`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum PinType {
    Bad,
    #[default]
    Data,
    Meta,
    ClusterDag,
    Shard,
}

impl PinType {
    /// Upstream's bit value (`BadType = 1 << 0` … `ShardType = 1 << 4`).
    pub fn bit(self) -> u64 {
        match self {
            PinType::Bad => 1,
            PinType::Data => 2,
            PinType::Meta => 4,
            PinType::ClusterDag => 8,
            PinType::Shard => 16,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PinType::Bad => "bad-type",
            PinType::Data => "pin",
            PinType::Meta => "meta-pin",
            PinType::ClusterDag => "clusterdag-pin",
            PinType::Shard => "shard-pin",
        }
    }
}

impl Serialize for PinType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A set of pin types, as `/allocations?filter=` builds it (bits of [`PinType::bit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PinTypeFilter(pub u64);

impl PinTypeFilter {
    /// `AllType`: data, meta, clusterdag and shard pins.
    pub const ALL: PinTypeFilter = PinTypeFilter(2 | 4 | 8 | 16);

    /// Whether a pin of type `t` passes (`filter == AllType || filter&t > 0`).
    pub fn matches(self, t: PinType) -> bool {
        self == PinTypeFilter::ALL || self.0 & t.bit() != 0
    }
}

/// A pin's tracking status on a peer, or a set of them when used as a filter
/// (`api.TrackerStatus`, bit values as upstream). JSON: the status name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TrackerStatus(pub u32);

/// Status names in upstream's table (`trackerStatusString`), composite filter aliases included.
const TRACKER_STATUS_NAMES: [(u32, &str); 15] = [
    (0, "undefined"),
    (1 << 1, "cluster_error"),
    (1 << 2, "pin_error"),
    (1 << 3, "unpin_error"),
    ((1 << 1) | (1 << 2) | (1 << 3), "error"),
    (1 << 4, "pinned"),
    (1 << 5, "pinning"),
    (1 << 6, "unpinning"),
    (1 << 7, "unpinned"),
    (1 << 8, "remote"),
    (1 << 9, "pin_queued"),
    (1 << 10, "unpin_queued"),
    ((1 << 9) | (1 << 10), "queued"),
    (1 << 11, "sharded"),
    (1 << 12, "unexpectedly_unpinned"),
];

impl TrackerStatus {
    pub const UNDEFINED: TrackerStatus = TrackerStatus(0);
    pub const CLUSTER_ERROR: TrackerStatus = TrackerStatus(1 << 1);
    pub const PIN_ERROR: TrackerStatus = TrackerStatus(1 << 2);
    pub const UNPIN_ERROR: TrackerStatus = TrackerStatus(1 << 3);
    pub const PINNED: TrackerStatus = TrackerStatus(1 << 4);
    pub const PINNING: TrackerStatus = TrackerStatus(1 << 5);
    pub const UNPINNING: TrackerStatus = TrackerStatus(1 << 6);
    pub const UNPINNED: TrackerStatus = TrackerStatus(1 << 7);
    pub const REMOTE: TrackerStatus = TrackerStatus(1 << 8);
    pub const PIN_QUEUED: TrackerStatus = TrackerStatus(1 << 9);
    pub const UNPIN_QUEUED: TrackerStatus = TrackerStatus(1 << 10);
    pub const SHARDED: TrackerStatus = TrackerStatus(1 << 11);
    pub const UNEXPECTEDLY_UNPINNED: TrackerStatus = TrackerStatus(1 << 12);
    /// Filter alias `error`: the three error states.
    pub const ERROR: TrackerStatus = TrackerStatus((1 << 1) | (1 << 2) | (1 << 3));
    /// Filter alias `queued`: pin_queued and unpin_queued.
    pub const QUEUED: TrackerStatus = TrackerStatus((1 << 9) | (1 << 10));

    /// `TrackerStatusFromString`: spaces removed, comma-separated names OR-ed together, unknown
    /// names ignored (so an all-unknown list is `UNDEFINED`).
    pub fn from_filter(s: &str) -> TrackerStatus {
        let mut bits = 0;
        let squeezed: Cow<'_, str> = if s.contains(' ') {
            Cow::Owned(s.replace(' ', ""))
        } else {
            Cow::Borrowed(s)
        };
        for name in squeezed.split(',') {
            if let Some(&(b, _)) = TRACKER_STATUS_NAMES.iter().find(|(_, n)| *n == name) {
                bits |= b;
            }
        }
        TrackerStatus(bits)
    }

    /// `TrackerStatus.Match`: true when the filter is undefined (all), the status is undefined,
    /// or they share a bit.
    pub fn matches(self, filter: TrackerStatus) -> bool {
        filter.0 == 0 || self.0 == 0 || self.0 & filter.0 != 0
    }

    /// The wire name of a single status or known alias, `None` for other bit sets.
    pub fn name(self) -> Option<&'static str> {
        TRACKER_STATUS_NAMES
            .iter()
            .find(|(b, _)| *b == self.0)
            .map(|(_, n)| *n)
    }
}

impl fmt::Display for TrackerStatus {
    /// Upstream's `String`: the name, or for other bit sets every table entry sharing a bit,
    /// comma-separated (upstream's order is Go's random map order; this uses table order).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.name() {
            return f.write_str(n);
        }
        let mut first = true;
        for (b, n) in TRACKER_STATUS_NAMES {
            if self.0 & b != 0 {
                if !first {
                    f.write_char(',')?;
                }
                f.write_str(n)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl Serialize for TrackerStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.name() {
            Some(n) => s.serialize_str(n),
            None => s.collect_str(self),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CID fields

/// `api.Cid` in JSON: the CID's string, or `null` when undefined.
fn ser_opt_cid<S: Serializer>(c: &Option<Cid>, s: S) -> Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.collect_str(c),
        None => s.serialize_none(),
    }
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

// ---------------------------------------------------------------------------------------------
// Reply objects

/// `api.ID` (GET /id, the /peers stream).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Id {
    pub id: PeerId,
    /// Upstream builds this by appending to a nil slice: `null` when the peer has no address.
    pub addresses: Option<Vec<Multiaddr>>,
    /// Initialised to `[]` upstream; includes this peer.
    pub cluster_peers: Vec<PeerId>,
    /// Initialised to `[]` upstream.
    pub cluster_peers_addresses: Vec<Multiaddr>,
    pub version: String,
    pub commit: String,
    /// `"/ipfscluster/1.0/rpc"` upstream.
    pub rpc_protocol_version: String,
    pub error: String,
    /// `json:"ipfs,omitempty"` on a struct: always present.
    pub ipfs: IpfsId,
    pub peername: String,
}

/// `api.IPFSID`, the IPFS daemon's identity inside [`Id`].
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct IpfsId {
    /// `omitempty` on a string-kinded peer ID: omitted when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<PeerId>,
    /// `null` when upstream could not reach the daemon.
    pub addresses: Option<Vec<Multiaddr>>,
    pub error: String,
}

/// `api.Version` (GET /version).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Version {
    pub version: String,
}

/// `api.PinOptions`, flattened into [`Pin`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PinOptions {
    pub replication_factor_min: i64,
    pub replication_factor_max: i64,
    pub name: String,
    pub mode: PinMode,
    pub shard_size: u64,
    /// `null` unless the `user-allocations` query was non-empty (then a list, possibly `[]`).
    pub user_allocations: Option<Vec<PeerId>>,
    /// Go zero time when unset.
    pub expire_at: Timestamp,
    /// `{}` from a pin request (upstream always makes the map); `null` for pins read back from
    /// upstream's state without metadata.
    pub metadata: Option<BTreeMap<String, String>>,
    /// `omitempty` on a struct: always present, `null` when unset.
    #[serde(serialize_with = "ser_opt_cid")]
    pub pin_update: Option<Cid>,
    /// `null` unless given in the request; `[]` for pins read back from upstream's state.
    pub origins: Option<Vec<Multiaddr>>,
}

impl Default for PinOptions {
    fn default() -> Self {
        PinOptions {
            replication_factor_min: 0,
            replication_factor_max: 0,
            name: String::new(),
            mode: PinMode::Recursive,
            shard_size: 0,
            user_allocations: None,
            expire_at: Timestamp::ZERO,
            metadata: None,
            pin_update: None,
            origins: None,
        }
    }
}

/// `api.Pin` (POST/DELETE /pins…, GET /allocations…): the options first (embedded struct),
/// then the pin's own fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pin {
    #[serde(flatten)]
    pub options: PinOptions,
    #[serde(serialize_with = "ser_opt_cid")]
    pub cid: Option<Cid>,
    #[serde(rename = "type")]
    pub pin_type: PinType,
    /// `[]` = everywhere (upstream's `PinCid` makes it `[]`; its everywhere path sets nil).
    pub allocations: Option<Vec<PeerId>>,
    /// -1 recursive, 0 direct, 1 for shards.
    pub max_depth: i64,
    /// `null` unless a sharded DAG links pins.
    #[serde(serialize_with = "ser_opt_cid")]
    pub reference: Option<Cid>,
    pub timestamp: Timestamp,
}

/// `api.PinInfoShort`: one peer's view of a pin, inside [`GlobalPinInfo::peer_map`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PinInfoShort {
    pub peername: String,
    /// `omitempty`: omitted when the IPFS peer is unknown.
    #[serde(rename = "ipfs_peer_id", skip_serializing_if = "Option::is_none")]
    pub ipfs_peer_id: Option<PeerId>,
    /// `omitempty`: omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ipfs_peer_addresses: Vec<Multiaddr>,
    pub status: TrackerStatus,
    pub timestamp: Timestamp,
    pub error: String,
    pub attempt_count: i64,
    pub priority_pin: bool,
}

/// `api.GlobalPinInfo` (GET /pins…, POST /pins/…/recover).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlobalPinInfo {
    #[serde(serialize_with = "ser_opt_cid")]
    pub cid: Option<Cid>,
    pub name: String,
    pub allocations: Option<Vec<PeerId>>,
    pub origins: Option<Vec<Multiaddr>>,
    pub created: Timestamp,
    pub metadata: Option<BTreeMap<String, String>>,
    /// Keyed by cluster peer ID text; Go sorts map keys, as `BTreeMap` does.
    pub peer_map: Option<BTreeMap<String, PinInfoShort>>,
}

/// `api.AddedOutput` (the POST /add stream).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddedOutput {
    pub name: String,
    /// `null` on progress lines.
    #[serde(serialize_with = "ser_opt_cid")]
    pub cid: Option<Cid>,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub bytes: u64,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub size: u64,
    /// `omitempty`: omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allocations: Vec<PeerId>,
}

/// `api.Metric` (GET /monitor/metrics/{name}).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    pub name: String,
    pub peer: PeerId,
    pub value: String,
    /// Unix nanoseconds.
    pub expire: i64,
    pub valid: bool,
    pub weight: i64,
    pub partitionable: bool,
    /// Unix nanoseconds.
    pub received_at: i64,
}

/// `api.Alert` (GET /health/alerts): the metric's fields, then `triggered_at`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    #[serde(flatten)]
    pub metric: Metric,
    pub triggered_at: Timestamp,
}

/// `api.ConnectGraph` (GET /health/graph). Upstream initialises every map, so they are never
/// `null`; keys are peer ID texts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectGraph {
    pub cluster_id: PeerId,
    pub id_to_peername: BTreeMap<String, String>,
    pub ipfs_links: BTreeMap<String, Vec<PeerId>>,
    pub cluster_links: BTreeMap<String, Vec<PeerId>>,
    pub cluster_trust_links: BTreeMap<String, bool>,
    pub cluster_to_ipfs: BTreeMap<String, PeerId>,
}

/// `api.Bandwidth`, one protocol's traffic.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Bandwidth {
    pub total_in: i64,
    pub total_out: i64,
    /// Printed as Go prints floats only through [`to_go_json`].
    pub rate_in: f64,
    pub rate_out: f64,
}

/// `api.BandwidthByProtocol` (GET /health/bandwidth): protocol ID → traffic.
pub type BandwidthByProtocol = BTreeMap<String, Bandwidth>;

/// `api.IPFSRepoGC`: one collected key, or an error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IpfsRepoGc {
    /// `omitempty` on a struct: always present, `null` when unset.
    #[serde(serialize_with = "ser_opt_cid")]
    pub key: Option<Cid>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// `api.RepoGC`: one peer's garbage collection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepoGc {
    pub peer: PeerId,
    pub peername: String,
    /// Upstream always initialises this (`[]`).
    pub keys: Vec<IpfsRepoGc>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// `api.GlobalRepoGC` (POST /ipfs/gc), keyed by peer ID text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlobalRepoGc {
    pub peer_map: BTreeMap<String, RepoGc>,
}

/// `api.Error`, every error body: `{"code":…,"message":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    pub code: u16,
    pub message: String,
}

/// The `POST /token` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenReply {
    pub token: String,
}

// ---------------------------------------------------------------------------------------------
// Go-compatible JSON writing

/// A serde_json formatter producing what Go's `encoding/json` produces: HTML-sensitive
/// characters and the JavaScript line separators escaped, floats in Go's `strconv` style.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoJsonFormatter;

impl serde_json::ser::Formatter for GoJsonFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let esc: Option<&[u8]> = match bytes[i] {
                b'<' => Some(b"\\u003c"),
                b'>' => Some(b"\\u003e"),
                b'&' => Some(b"\\u0026"),
                // U+2028 and U+2029 are E2 80 A8 / E2 80 A9.
                0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => {
                    Some(b"\\u2028")
                }
                0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => {
                    Some(b"\\u2029")
                }
                _ => None,
            };
            if let Some(esc) = esc {
                w.write_all(&bytes[start..i])?;
                w.write_all(esc)?;
                i += if bytes[i] == 0xE2 { 3 } else { 1 };
                start = i;
            } else {
                i += 1;
            }
        }
        w.write_all(&bytes[start..])
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(go_format_f64(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        w.write_all(go_format_f64(f64::from(value)).as_bytes())
    }
}

/// A float as Go's `encoding/json` writes it: shortest round-trip digits, plain notation for
/// 1e-6 <= |x| < 1e21, else exponent form with Go's `e+21`/`e-7` exponent. Go refuses NaN and
/// infinities (the whole reply fails); they are written as `null` here.
pub fn go_format_f64(value: f64) -> String {
    if !value.is_finite() {
        return "null".into();
    }
    let abs = value.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        // Rust's Display is shortest round-trip and never uses an exponent.
        return format!("{value}");
    }
    let sci = format!("{value:e}");
    match sci.split_once('e') {
        Some((mantissa, exp)) => match exp.strip_prefix('-') {
            Some(neg) => format!("{mantissa}e-{neg}"),
            None => format!("{mantissa}e+{exp:0>2}"),
        },
        None => sci,
    }
}

/// Writes `value` as Go's `json.Marshal` would (no trailing newline).
pub fn write_go_json<W: io::Write, T: ?Sized + Serialize>(
    writer: W,
    value: &T,
) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(writer, GoJsonFormatter);
    value.serialize(&mut ser)
}

/// `value` as Go's `json.Encoder.Encode` writes it: the JSON text and a `\n`.
pub fn to_go_json<T: ?Sized + Serialize>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    write_go_json(&mut out, value)?;
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PID: &str = "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo";
    const PID2: &str = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
    const CID1: &str = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
    const CID0: &str = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG";
    const MA: &str =
        "/ip4/1.2.3.4/tcp/9096/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo";

    fn pid(s: &str) -> PeerId {
        PeerId::parse(s).unwrap()
    }
    fn cid(s: &str) -> Cid {
        parse_cid(s).unwrap()
    }
    fn ma(s: &str) -> Multiaddr {
        Multiaddr::parse(s).unwrap()
    }
    fn json<T: Serialize>(v: &T) -> String {
        let mut b = to_go_json(v).unwrap();
        assert_eq!(b.pop(), Some(b'\n'));
        String::from_utf8(b).unwrap()
    }
    /// 2024-01-02T03:04:05.12Z
    fn ts() -> Timestamp {
        Timestamp::parse_rfc3339("2024-01-02T03:04:05.12Z").unwrap()
    }

    // Every expected JSON literal below was printed by json.Marshal in a Go program importing
    // github.com/ipfs-cluster/ipfs-cluster/api v1.1.6 (Go 1.26) with the same values.

    #[test]
    fn zero_pin_matches_go() {
        let pin = Pin {
            options: PinOptions::default(),
            cid: None,
            pin_type: PinType::Bad,
            allocations: None,
            max_depth: 0,
            reference: None,
            timestamp: Timestamp::ZERO,
        };
        assert_eq!(
            json(&pin),
            r#"{"replication_factor_min":0,"replication_factor_max":0,"name":"","mode":"recursive","shard_size":0,"user_allocations":null,"expire_at":"0001-01-01T00:00:00Z","metadata":null,"pin_update":null,"origins":null,"cid":null,"type":"bad-type","allocations":null,"max_depth":0,"reference":null,"timestamp":"0001-01-01T00:00:00Z"}"#
        );
    }

    #[test]
    fn full_pin_matches_go() {
        let mut metadata = BTreeMap::new();
        metadata.insert("z".to_string(), "1".to_string());
        metadata.insert("a".to_string(), "2".to_string());
        let pin = Pin {
            options: PinOptions {
                replication_factor_min: -1,
                replication_factor_max: -1,
                name: "a<b>&c".into(),
                mode: PinMode::Direct,
                shard_size: 5,
                user_allocations: None,
                expire_at: Timestamp::parse_rfc3339("2030-01-01T00:00:00+02:00").unwrap(),
                metadata: Some(metadata),
                pin_update: Some(cid(CID0)),
                origins: Some(vec![ma(
                    "/ip4/1.2.3.4/tcp/9096/ipfs/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo",
                )]),
            },
            cid: Some(cid(CID1)),
            pin_type: PinType::Data,
            allocations: Some(vec![pid(PID), pid(PID2)]),
            max_depth: 0,
            reference: Some(cid(CID0)),
            timestamp: ts(),
        };
        assert_eq!(
            json(&pin),
            r#"{"replication_factor_min":-1,"replication_factor_max":-1,"name":"a\u003cb\u003e\u0026c","mode":"direct","shard_size":5,"user_allocations":null,"expire_at":"2030-01-01T00:00:00+02:00","metadata":{"a":"2","z":"1"},"pin_update":"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG","origins":["/ip4/1.2.3.4/tcp/9096/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"],"cid":"bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy","type":"pin","allocations":["12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo","QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"],"max_depth":0,"reference":"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG","timestamp":"2024-01-02T03:04:05.12Z"}"#
        );
    }

    #[test]
    fn pin_type_and_status_names_match_go() {
        let types = [
            PinType::Bad,
            PinType::Data,
            PinType::Meta,
            PinType::ClusterDag,
            PinType::Shard,
        ];
        assert_eq!(
            json(&types),
            r#"["bad-type","pin","meta-pin","clusterdag-pin","shard-pin"]"#
        );
        let statuses: Vec<TrackerStatus> = TRACKER_STATUS_NAMES
            .iter()
            .map(|&(b, _)| TrackerStatus(b))
            .collect();
        assert_eq!(
            json(&statuses),
            r#"["undefined","cluster_error","pin_error","unpin_error","error","pinned","pinning","unpinning","unpinned","remote","pin_queued","unpin_queued","queued","sharded","unexpectedly_unpinned"]"#
        );
        // A bit set that is no known alias lists every name sharing a bit.
        assert_eq!(
            TrackerStatus(TrackerStatus::PINNED.0 | TrackerStatus::PIN_ERROR.0).to_string(),
            "pin_error,error,pinned"
        );
    }

    #[test]
    fn tracker_status_filters_match_go() {
        // Values printed by api.TrackerStatusFromString.
        for (s, want) in [
            ("", 0),
            ("pinned", 16),
            ("error", 14),
            ("queued", 1536),
            ("pinned,bogus", 16),
            ("bogus", 0),
            ("undefined", 0),
            (" pin ned, error", 30),
            ("pinned,,queued", 1552),
        ] {
            assert_eq!(TrackerStatus::from_filter(s).0, want, "{s:?}");
        }
        let error = TrackerStatus::ERROR;
        assert!(TrackerStatus::PIN_ERROR.matches(error));
        assert!(!TrackerStatus::PINNED.matches(error));
        assert!(TrackerStatus::PINNED.matches(TrackerStatus::UNDEFINED));
        assert!(TrackerStatus::UNDEFINED.matches(TrackerStatus::PINNED));
    }

    #[test]
    fn pin_type_filter() {
        assert!(PinTypeFilter::ALL.matches(PinType::Shard));
        let f = PinTypeFilter(PinType::Data.bit() | PinType::Bad.bit());
        assert!(f.matches(PinType::Data));
        assert!(!f.matches(PinType::Meta));
    }

    #[test]
    fn id_matches_go() {
        let id = Id {
            id: pid(PID),
            addresses: Some(vec![ma(MA)]),
            cluster_peers: vec![pid(PID)],
            cluster_peers_addresses: vec![],
            version: "1.1.6".into(),
            commit: String::new(),
            rpc_protocol_version: "/ipfscluster/1.0/rpc".into(),
            error: String::new(),
            ipfs: IpfsId {
                id: Some(pid(PID2)),
                addresses: Some(vec![ma(MA)]),
                error: String::new(),
            },
            peername: "n".into(),
        };
        assert_eq!(
            json(&id),
            r#"{"id":"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo","addresses":["/ip4/1.2.3.4/tcp/9096/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"],"cluster_peers":["12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"],"cluster_peers_addresses":[],"version":"1.1.6","commit":"","rpc_protocol_version":"/ipfscluster/1.0/rpc","error":"","ipfs":{"id":"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N","addresses":["/ip4/1.2.3.4/tcp/9096/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"],"error":""},"peername":"n"}"#
        );
        // Go's zero IPFSID: id omitted, addresses null.
        assert_eq!(json(&IpfsId::default()), r#"{"addresses":null,"error":""}"#);
        assert_eq!(
            json(&Version {
                version: "1.1.6".into()
            }),
            r#"{"version":"1.1.6"}"#
        );
    }

    #[test]
    fn global_pin_info_matches_go() {
        let mut peer_map = BTreeMap::new();
        peer_map.insert(
            PID.to_string(),
            PinInfoShort {
                peername: "p1".into(),
                ipfs_peer_id: Some(pid(PID2)),
                ipfs_peer_addresses: vec![ma(MA)],
                status: TrackerStatus::PINNED,
                timestamp: ts(),
                error: String::new(),
                attempt_count: 2,
                priority_pin: true,
            },
        );
        peer_map.insert(
            PID2.to_string(),
            PinInfoShort {
                peername: "p2".into(),
                ipfs_peer_id: None,
                ipfs_peer_addresses: vec![],
                status: TrackerStatus::PIN_ERROR,
                timestamp: Timestamp::ZERO,
                error: "boom".into(),
                attempt_count: 0,
                priority_pin: false,
            },
        );
        let gpi = GlobalPinInfo {
            cid: Some(cid(CID1)),
            name: "x".into(),
            allocations: None,
            origins: None,
            created: ts(),
            metadata: None,
            peer_map: Some(peer_map),
        };
        assert_eq!(
            json(&gpi),
            r#"{"cid":"bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy","name":"x","allocations":null,"origins":null,"created":"2024-01-02T03:04:05.12Z","metadata":null,"peer_map":{"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo":{"peername":"p1","ipfs_peer_id":"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N","ipfs_peer_addresses":["/ip4/1.2.3.4/tcp/9096/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"],"status":"pinned","timestamp":"2024-01-02T03:04:05.12Z","error":"","attempt_count":2,"priority_pin":true},"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N":{"peername":"p2","status":"pin_error","timestamp":"0001-01-01T00:00:00Z","error":"boom","attempt_count":0,"priority_pin":false}}}"#
        );
        let zero = GlobalPinInfo {
            cid: None,
            name: String::new(),
            allocations: None,
            origins: None,
            created: Timestamp::ZERO,
            metadata: None,
            peer_map: None,
        };
        assert_eq!(
            json(&zero),
            r#"{"cid":null,"name":"","allocations":null,"origins":null,"created":"0001-01-01T00:00:00Z","metadata":null,"peer_map":null}"#
        );
    }

    #[test]
    fn added_output_matches_go() {
        let added = AddedOutput {
            name: "hello.txt".into(),
            cid: Some(cid(CID1)),
            bytes: 0,
            size: 20,
            allocations: vec![pid(PID)],
        };
        assert_eq!(
            json(&added),
            r#"{"name":"hello.txt","cid":"bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy","size":20,"allocations":["12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"]}"#
        );
        let progress = AddedOutput {
            name: "hello.txt".into(),
            cid: None,
            bytes: 5,
            size: 0,
            allocations: vec![],
        };
        assert_eq!(
            json(&progress),
            r#"{"name":"hello.txt","cid":null,"bytes":5}"#
        );
    }

    #[test]
    fn metric_and_alert_match_go() {
        let m = Metric {
            name: "freespace".into(),
            peer: pid(PID),
            value: "1000".into(),
            expire: 1_700_000_000_000_000_000,
            valid: true,
            weight: 1000,
            partitionable: false,
            received_at: 1_690_000_000_000_000_000,
        };
        assert_eq!(
            json(&m),
            r#"{"name":"freespace","peer":"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo","value":"1000","expire":1700000000000000000,"valid":true,"weight":1000,"partitionable":false,"received_at":1690000000000000000}"#
        );
        let a = Alert {
            metric: m,
            triggered_at: ts(),
        };
        assert_eq!(
            json(&a),
            r#"{"name":"freespace","peer":"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo","value":"1000","expire":1700000000000000000,"valid":true,"weight":1000,"partitionable":false,"received_at":1690000000000000000,"triggered_at":"2024-01-02T03:04:05.12Z"}"#
        );
    }

    #[test]
    fn connect_graph_matches_go() {
        let g = ConnectGraph {
            cluster_id: pid(PID),
            id_to_peername: [(PID.to_string(), "n".to_string())].into(),
            ipfs_links: [(PID2.to_string(), vec![])].into(),
            cluster_links: [(PID.to_string(), vec![pid(PID)])].into(),
            cluster_trust_links: [(PID.to_string(), true)].into(),
            cluster_to_ipfs: [(PID.to_string(), pid(PID2))].into(),
        };
        assert_eq!(
            json(&g),
            r#"{"cluster_id":"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo","id_to_peername":{"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo":"n"},"ipfs_links":{"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N":[]},"cluster_links":{"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo":["12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"]},"cluster_trust_links":{"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo":true},"cluster_to_ipfs":{"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo":"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"}}"#
        );
    }

    #[test]
    fn bandwidth_floats_match_go() {
        let mut bw = BandwidthByProtocol::new();
        bw.insert(
            "/ipfs/id/1.0.0".into(),
            Bandwidth {
                total_in: 10,
                total_out: 20,
                rate_in: 0.0,
                rate_out: 1.5,
            },
        );
        bw.insert(
            "/x".into(),
            Bandwidth {
                rate_in: 100.0,
                rate_out: 1e21,
                ..Default::default()
            },
        );
        bw.insert(
            "/y".into(),
            Bandwidth {
                rate_in: 1e-7,
                rate_out: 1.5e-6,
                ..Default::default()
            },
        );
        bw.insert(
            "/z".into(),
            Bandwidth {
                rate_in: 123456789012345678901.0,
                rate_out: 9007199254740993.0,
                ..Default::default()
            },
        );
        assert_eq!(
            json(&bw),
            r#"{"/ipfs/id/1.0.0":{"total_in":10,"total_out":20,"rate_in":0,"rate_out":1.5},"/x":{"total_in":0,"total_out":0,"rate_in":100,"rate_out":1e+21},"/y":{"total_in":0,"total_out":0,"rate_in":1e-7,"rate_out":0.0000015},"/z":{"total_in":0,"total_out":0,"rate_in":123456789012345680000,"rate_out":9007199254740992}}"#
        );
        assert_eq!(go_format_f64(-2.5e-10), "-2.5e-10");
        assert_eq!(go_format_f64(1.25e300), "1.25e+300");
        assert_eq!(go_format_f64(f64::NAN), "null");
    }

    #[test]
    fn repo_gc_and_error_match_go() {
        let mut peer_map = BTreeMap::new();
        peer_map.insert(
            PID.to_string(),
            RepoGc {
                peer: pid(PID),
                peername: "n".into(),
                keys: vec![
                    IpfsRepoGc {
                        key: Some(cid(CID1)),
                        error: String::new(),
                    },
                    IpfsRepoGc {
                        key: None,
                        error: "e".into(),
                    },
                ],
                error: String::new(),
            },
        );
        peer_map.insert(
            PID2.to_string(),
            RepoGc {
                peer: pid(PID2),
                peername: String::new(),
                keys: vec![],
                error: "down".into(),
            },
        );
        assert_eq!(
            json(&GlobalRepoGc { peer_map }),
            r#"{"peer_map":{"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo":{"peer":"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo","peername":"n","keys":[{"key":"bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"},{"key":null,"error":"e"}]},"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N":{"peer":"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N","peername":"","keys":[],"error":"down"}}}"#
        );
        assert_eq!(
            json(&ApiError {
                code: 404,
                message: "not found".into()
            }),
            r#"{"code":404,"message":"not found"}"#
        );
        assert_eq!(
            to_go_json(&TokenReply { token: "t".into() }).unwrap(),
            b"{\"token\":\"t\"}\n"
        );
    }

    #[test]
    fn string_escaping_matches_go() {
        let s = "\u{2028}\u{2029}<>&\u{1}\u{7f}\u{8}\u{c}\n\r\t\"\\é";
        assert_eq!(
            json(&[s]),
            "[\"\\u2028\\u2029\\u003c\\u003e\\u0026\\u0001\u{7f}\\b\\f\\n\\r\\t\\\"\\\\é\"]"
        );
    }

    #[test]
    fn peer_ids_parse_like_go() {
        // (input, Go's peer.ID.String())
        for (input, want) in [
            (PID, PID),
            (PID2, PID2),
            (
                "bafzaajaiaejcbzdibmxyzdjbbehgvizh6g5tikvy47mshdy6gwbruvgwvd24seje",
                "12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK",
            ),
            (
                "k51qzi5uqu5dlmnvz1ncd1f8b0nnk0tfnqk8kmc0t67xuk6bv3rdy1zbhn0m10",
                "12D3KooWQXPxtc8KgBxeigoFtT1627fciYY8Pi65dmy4VcqVrqCX",
            ),
            // Base58 "11" is [0, 0]: an empty identity multihash, which go-libp2p accepts.
            ("11", "11"),
        ] {
            assert_eq!(PeerId::parse(input).unwrap().as_str(), want, "{input}");
        }
        for (input, msg) in [
            (
                "1",
                "failed to parse peer ID: multihash too short. must be >= 2 bytes",
            ),
            (
                "Qm",
                "failed to parse peer ID: length greater than remaining number of bytes in buffer",
            ),
            (
                "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2X0",
                "failed to parse peer ID: input isn't valid multihash",
            ),
            (CID1, "can't convert CID of type \"raw\" to a peer ID"),
        ] {
            assert_eq!(
                PeerId::parse(input).unwrap_err().to_string(),
                msg,
                "{input}"
            );
        }
        assert!(PeerId::parse("").is_err());
        assert_eq!(
            PeerId::parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5")
                .unwrap_err()
                .to_string(),
            "failed to parse peer ID: multihash length inconsistent: expected 2; got 4"
        );
        assert!(PeerId::parse(&"1".repeat(10_000)).is_err());
        // Non-minimal varint in the multihash header.
        assert!(PeerId::from_multihash_bytes(&[0x80, 0x00, 0x00]).is_err());
        assert_eq!(
            PeerId::from_multihash_bytes(&[0, 0]).unwrap().as_str(),
            "11"
        );
    }

    #[test]
    fn multiaddrs_parse_like_go() {
        // (input, go-multiaddr's String())
        for (input, want) in [
            ("/ip4/1.2.3.4", "/ip4/1.2.3.4"),
            ("/ip4/1.2.3.4/", "/ip4/1.2.3.4"),
            ("/ip4/::ffff:1.2.3.4/tcp/1", "/ip4/1.2.3.4/tcp/1"),
            ("/ip6/::1/tcp/80", "/ip6/::1/tcp/80"),
            ("/ip6/1.2.3.4", "/ip6/::ffff:1.2.3.4"),
            ("/ip6/2001:DB8:0:0:1:0:0:1/udp/1/quic-v1", "/ip6/2001:db8::1:0:0:1/udp/1/quic-v1"),
            ("/ip6/::ffff:1.2.3.4", "/ip6/::ffff:1.2.3.4"),
            ("/tcp/0080", "/tcp/80"),
            ("/unix/a/b", "/unix/a/b"),
            ("/unix//a/b", "/unix//a/b"),
            ("/unix//a/b/", "/unix//a/b"),
            ("/p2p-circuit", "/p2p-circuit"),
            ("/ipfs/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N", "/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"),
            (
                "/p2p/bafzaajaiaejcbzdibmxyzdjbbehgvizh6g5tikvy47mshdy6gwbruvgwvd24seje",
                "/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK",
            ),
            ("/ip6zone/eth0/ip6/fe80::1", "/ip6zone/eth0/ip6/fe80::1"),
            ("/ipcidr/24", "/ipcidr/24"),
            ("/memory/5", "/memory/5"),
            ("/http-path/a%2Fb", "/http-path/a%2Fb"),
            (
                "/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g",
                "/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g",
            ),
            ("/dns/example.com/tcp/443/tls/sni/example.com/http", "/dns/example.com/tcp/443/tls/sni/example.com/http"),
            ("/onion/aaimaq4ygg2iegci:80", "/onion/aaimaq4ygg2iegci:80"),
            (
                "/onion3/vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd:1234",
                "/onion3/vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd:1234",
            ),
            (
                "/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N/p2p-circuit/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo",
                "/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N/p2p-circuit/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo",
            ),
            ("/ip4/1.2.3.4/tcp/1/ws", "/ip4/1.2.3.4/tcp/1/ws"),
            ("/ip6/::1.2.3.4", "/ip6/::102:304"),
            ("/ip6/::", "/ip6/::"),
            ("/ip6/1:0:0:1:0:0:0:1", "/ip6/1:0:0:1::1"),
            (
                "/garlic32/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "/garlic32/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            ),
            (
                "/certhash/zQmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
                "/certhash/uEiCdbCvlD3BpU0eaud8s4-3KkLaAU8ALMAS38KzL4eju3w",
            ),
            ("/http-path/a+b%20c", "/http-path/a+b+c"),
        ] {
            let got = Multiaddr::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(got.as_str(), want, "{input}");
        }
        for (input, msg) in [
            (
                "/ip4/01.2.3.4",
                r#"failed to parse multiaddr "/ip4/01.2.3.4": invalid value "01.2.3.4" for protocol ip4: failed to parse ip4 addr: 01.2.3.4"#,
            ),
            (
                "/tcp/65536",
                r#"failed to parse multiaddr "/tcp/65536": invalid value "65536" for protocol tcp: failed to parse port addr: strconv.ParseUint: parsing "65536": value out of range"#,
            ),
            (
                "/tcp/-1",
                r#"failed to parse multiaddr "/tcp/-1": invalid value "-1" for protocol tcp: failed to parse port addr: strconv.ParseUint: parsing "-1": invalid syntax"#,
            ),
            (
                "/tcp/+1",
                r#"failed to parse multiaddr "/tcp/+1": invalid value "+1" for protocol tcp: failed to parse port addr: strconv.ParseUint: parsing "+1": invalid syntax"#,
            ),
            (
                "/dns4/",
                r#"failed to parse multiaddr "/dns4": unexpected end of multiaddr"#,
            ),
            (
                "/dns4//tcp/1",
                r#"failed to parse multiaddr "/dns4//tcp/1": invalid value "" for protocol dns4: empty dns addr"#,
            ),
            (
                "/p2p/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
                r#"failed to parse multiaddr "/p2p/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy": invalid value "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy" for protocol p2p: failed to parse p2p addr: bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy has the invalid codec 85"#,
            ),
            (
                "/bogus/1",
                r#"failed to parse multiaddr "/bogus/1": unknown protocol bogus"#,
            ),
            ("/", r#"failed to parse multiaddr "": empty multiaddr"#),
            ("", r#"failed to parse multiaddr "": empty multiaddr"#),
            (
                "bogus",
                r#"failed to parse multiaddr "bogus": must begin with /"#,
            ),
            (
                "//ip4/1.2.3.4",
                r#"failed to parse multiaddr "//ip4/1.2.3.4": unknown protocol "#,
            ),
            (
                "/ip4/1.2.3.4//tcp/1",
                r#"failed to parse multiaddr "/ip4/1.2.3.4//tcp/1": unknown protocol "#,
            ),
            (
                "/ip4",
                r#"failed to parse multiaddr "/ip4": unexpected end of multiaddr"#,
            ),
            (
                "/ipcidr/256",
                r#"failed to parse multiaddr "/ipcidr/256": invalid value "256" for protocol ipcidr: strconv.ParseUint: parsing "256": value out of range"#,
            ),
            (
                "/p2p/1",
                r#"failed to parse multiaddr "/p2p/1": invalid value "1" for protocol p2p: failed to parse p2p addr: 1 multihash too short. must be >= 2 bytes"#,
            ),
            (
                "/x-parity-ws/%2F",
                r#"failed to parse multiaddr "/x-parity-ws/%2F": unknown protocol x-parity-ws"#,
            ),
        ] {
            match Multiaddr::parse(input) {
                Ok(m) => panic!("{input} parsed as {m}"),
                Err(e) => assert_eq!(e.to_string(), msg, "{input}"),
            }
        }
        assert_eq!(ma(MA).p2p_value(), Some(PID));
        assert_eq!(ma("/ip4/1.2.3.4/tcp/1").p2p_value(), None);
        assert_eq!(ma("/unix/p2p/x").p2p_value(), None);
    }

    #[test]
    fn go_base64_is_lenient_like_go() {
        let mut out = Vec::new();
        go_base64_decode(b"dXNlcjpwYXNz", BASE64_STD_ALPHABET, true, &mut out).unwrap();
        assert_eq!(out, b"user:pass");
        out.clear();
        // Non-zero trailing bits are ignored by Go's non-strict decoder.
        go_base64_decode(b"YR==", BASE64_STD_ALPHABET, true, &mut out).unwrap();
        assert_eq!(out, b"a");
        out.clear();
        go_base64_decode(b"YQ\r\n==", BASE64_STD_ALPHABET, true, &mut out).unwrap();
        assert_eq!(out, b"a");
        for bad in [
            &b"YQ"[..],
            b"YQ=",
            b"YQ==YQ==",
            b"Y===",
            b"Y",
            b"YQ==x",
            b"=",
            b"Y Q==",
        ] {
            out.clear();
            assert!(
                go_base64_decode(bad, BASE64_STD_ALPHABET, true, &mut out).is_err(),
                "{bad:?}"
            );
        }
        out.clear();
        go_base64_decode(b"YQ", BASE64_URL_ALPHABET, false, &mut out).unwrap();
        assert_eq!(out, b"a");
        out.clear();
        assert!(go_base64_decode(b"YQ==", BASE64_URL_ALPHABET, false, &mut out).is_err());
        assert!(go_base64_decode(b"Y", BASE64_URL_ALPHABET, false, &mut out).is_err());
    }
}
