//! The compact denylist format (IPIP-383, <https://specs.ipfs.tech/compact-denylist-format/>):
//! an optional YAML header ended by a `---` line, then one rule per line.
//!
//! - `/ipfs/<cid>` blocks the CID's multihash (any CID version, codec or base);
//!   `/ipfs/<cid>/<path>` one path below it, and a trailing `*` (or `/*`) every path starting
//!   so (`/ipfs/<cid>/*` the CID and everything below it). `/ipld/` is read as `/ipfs/`.
//! - `/ipns/<name>[/<path>][*]`: an IPNS key (by its multihash, whatever its text form) or a
//!   DNSLink domain.
//! - `//<double hash>`: a base58btc multihash of what is blocked (`<b58 multihash>[/<path>]`
//!   for content, `/ipns/<domain>[/<path>]` for domains) or, in the legacy Bad Bits form, the
//!   hex sha2-256 of `<CIDv1 base32>/<path>` (`<domain>/` for DNSLink). An entry that could be
//!   either is added as both, as the spec requires.
//! - A leading `!` turns a rule into an exception; the last matching rule of a list wins.
//! - Paths are percent-encoded (RFC 3986); they are compared decoded, without leading or
//!   trailing `/`.
//! - `#` starts a comment line; words after the rule are hints (`key:value`, or `key=value`
//!   as NOpfs writes them), applied over the header's `hints`.
//!
//! Header hints this implementation reads (both from NOpfs' documentation, not the spec):
//! `double_hash_fn` (the function of hex double hashes: `sha256`, or any multihash name such
//! as `blake3`) and `double_hash_enc` (`hex` or `b58`: which reading of `//` entries to use,
//! instead of both). Other hints are kept and ignored, as the spec asks.

use std::collections::HashMap;

use cid::Cid;
use multihash::Multihash;
use smallvec::SmallVec;

use crate::ipld::cid::{codec, hash};
use crate::ipld::ipns::IpnsName;

/// The header may be at most this long (spec: 1 MiB); past it there is no header.
pub const MAX_HEADER_BYTES: usize = 1 << 20;
/// A line may be at most this long, newline included (spec: 2 MiB).
pub const MAX_LINE_BYTES: usize = 2 << 20;

/// The denylist format version this implementation reads.
const VERSION: i64 = 1;

/// Multihash codes of sha2-256 (what legacy double hashes use) and identity.
const SHA2_256: u64 = hash::SHA2_256;

/// A list's header (all fields optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    pub version: i64,
    pub name: Option<String>,
    pub description: Option<String>,
    pub author: Option<String>,
    pub hints: HashMap<String, String>,
}

/// Why a list cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("the header is not valid YAML: {0}")]
    Header(String),
    #[error("denylist version {0} is not supported (only version 1)")]
    Version(i64),
    #[error("{0}")]
    Io(String),
}

/// Splits `text` into its header and the offset where rules start. Without a `---` line in
/// the first [`MAX_HEADER_BYTES`], the list has no header and rules start at 0.
pub fn split_header(text: &[u8]) -> Result<(Header, usize), ListError> {
    let window = &text[..text.len().min(MAX_HEADER_BYTES)];
    let mut start = 0;
    while let Some(end) = memchr::memchr(b'\n', &window[start..]).map(|i| start + i) {
        let line = &window[start..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line == b"---" {
            let header = parse_header(&text[..start])?;
            return Ok((header, end + 1));
        }
        start = end + 1;
    }
    Ok((
        Header {
            version: VERSION,
            ..Header::default()
        },
        0,
    ))
}

/// Parses the YAML header (known fields, `hints` as a map of scalars).
fn parse_header(bytes: &[u8]) -> Result<Header, ListError> {
    use yaml_rust2::{Yaml, YamlLoader};
    let text = std::str::from_utf8(bytes).map_err(|_| ListError::Header("not UTF-8".to_owned()))?;
    let docs = YamlLoader::load_from_str(text).map_err(|e| ListError::Header(e.to_string()))?;
    let mut header = Header {
        version: VERSION,
        ..Header::default()
    };
    let Some(doc) = docs.into_iter().next() else {
        return Ok(header);
    };
    let map = match doc {
        Yaml::Hash(map) => map,
        Yaml::Null => return Ok(header),
        _ => return Err(ListError::Header("the header is not a mapping".to_owned())),
    };
    let text_of = |value: &Yaml| -> Option<String> {
        match value {
            Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
            Yaml::Integer(i) => Some(i.to_string()),
            Yaml::Boolean(b) => Some(b.to_string()),
            _ => None,
        }
    };
    for (key, value) in &map {
        let Some(key) = key.as_str() else { continue };
        match key {
            "version" => {
                header.version = match value {
                    Yaml::Integer(v) => *v,
                    Yaml::String(s) => s
                        .trim()
                        .parse()
                        .map_err(|_| ListError::Header(format!("version {s:?}")))?,
                    _ => return Err(ListError::Header("version is not a number".into())),
                };
            }
            "name" => header.name = text_of(value),
            "description" => header.description = text_of(value),
            "author" => header.author = text_of(value),
            "hints" => {
                if let Yaml::Hash(hints) = value {
                    for (k, v) in hints {
                        if let (Some(k), Some(v)) = (text_of(k), text_of(v)) {
                            header.hints.insert(k, v);
                        }
                    }
                }
            }
            // Custom fields are allowed and ignored.
            _ => {}
        }
    }
    // A version of 0 is read as unset, as NOpfs does.
    if header.version == 0 {
        header.version = VERSION;
    }
    if header.version != VERSION {
        return Err(ListError::Version(header.version));
    }
    Ok(header)
}

/// The path part of a rule: decoded, without leading or trailing `/`; `prefix` when it ended
/// in `*` (which `/*` also means: `/ipfs/<cid>/a/*` and `/ipfs/<cid>/a*` are one rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulePath {
    pub path: Box<str>,
    pub prefix: bool,
}

impl RulePath {
    fn parse(raw: &str) -> Result<RulePath, String> {
        // The `*` is looked at before decoding: an encoded `%2A` is a literal star.
        let (raw, prefix) = if let Some(r) = raw.strip_suffix("/*") {
            (r, true)
        } else if let Some(r) = raw.strip_suffix('*') {
            (r, true)
        } else {
            (raw, false)
        };
        let decoded = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| format!("path {raw:?} is not UTF-8 once decoded"))?;
        Ok(RulePath {
            path: decoded.trim_matches('/').into(),
            prefix,
        })
    }

    /// Whether `path` (decoded, without leading or trailing `/`) is one this rule names.
    pub fn matches(&self, path: &str) -> bool {
        if self.prefix {
            path.starts_with(&*self.path)
        } else {
            *self.path == *path
        }
    }
}

/// One parsed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    pub kind: RuleKind,
    /// The rule's own hints (the header's are not repeated here).
    pub hints: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    /// `/ipfs/<cid>[/<path>]`: by the CID's multihash.
    Ipfs {
        multihash: Multihash<64>,
        path: RulePath,
    },
    /// `/ipns/<key>[/<path>]`: an IPNS key, by its multihash.
    IpnsKey {
        multihash: Multihash<64>,
        path: RulePath,
    },
    /// `/ipns/<domain>[/<path>]`: a DNSLink name (lower case).
    IpnsDomain { domain: Box<str>, path: RulePath },
    /// `//<hash>`: one or two readings of a double hash: (function code, digest, whether it
    /// is of the legacy form `<CIDv1 base32>/<path>` rather than `<b58 multihash>/<path>`).
    DoubleHash(SmallVec<[Reading; 2]>),
}

/// One reading of a double hash: (function code, digest, legacy form?).
pub type Reading = (u64, Box<[u8]>, bool);

/// A line that holds no rule (empty, a comment) parses to `Ok(None)`; one that cannot be
/// read to an error saying why.
pub fn parse_line(line: &str, hints: &HashMap<String, String>) -> Result<Option<Rule>, String> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut words = line.split_ascii_whitespace();
    let Some(first) = words.next() else {
        return Ok(None);
    };
    if line.starts_with('#') {
        return Ok(None);
    }
    let rule_hints: Vec<(String, String)> = words
        .filter_map(|w| w.split_once([':', '=']))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let hint = |key: &str| -> Option<&str> {
        rule_hints
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .or_else(|| hints.get(key).map(String::as_str))
    };
    // `!` is the spec's; NOpfs also reads `+` and `-` as allow rules.
    let (allow, rule) = match first.as_bytes()[0] {
        b'!' | b'+' | b'-' => (true, &first[1..]),
        _ => (false, first),
    };
    let kind = if let Some(hash) = rule.strip_prefix("//") {
        double_hash(hash, hint("double_hash_fn"), hint("double_hash_enc"))?
    } else if let Some(rest) = rule
        .strip_prefix("/ipfs/")
        .or_else(|| rule.strip_prefix("/ipld/"))
    {
        let (cid_text, path) = rest.split_once('/').unwrap_or((rest, ""));
        let cid = crate::ipld::cid::parse(cid_text).map_err(|e| e.to_string())?;
        if is_safe(cid.hash()) {
            return Err(format!(
                "{cid_text} is an empty block or directory, which is never blocked"
            ));
        }
        RuleKind::Ipfs {
            multihash: *cid.hash(),
            path: RulePath::parse(path)?,
        }
    } else if let Some(rest) = rule.strip_prefix("/ipns/") {
        let (name, path) = rest.split_once('/').unwrap_or((rest, ""));
        let path = RulePath::parse(path)?;
        match name_key(name) {
            NameKey::Key(multihash) => RuleKind::IpnsKey { multihash, path },
            NameKey::Domain(domain) => RuleKind::IpnsDomain {
                domain: domain.into(),
                path,
            },
        }
    } else {
        // Path-only rules (`/some/path`) are left out of the spec (commented out there as
        // ambiguous); they are refused rather than guessed at.
        return Err(format!("{rule:?} is not a rule (/ipfs/…, /ipns/… or //…)"));
    };
    Ok(Some(Rule {
        allow,
        kind,
        hints: rule_hints,
    }))
}

/// The readings of a double-hash entry: as a base58btc multihash of a hash function cairn
/// can compute, and as the hex digest of the legacy form (sha2-256 unless `double_hash_fn`
/// names another); `double_hash_enc` picks one.
fn double_hash(
    text: &str,
    function: Option<&str>,
    encoding: Option<&str>,
) -> Result<RuleKind, String> {
    let (b58, hex) = match encoding.map(str::to_ascii_lowercase).as_deref() {
        None => (true, true),
        Some("b58" | "base58" | "base58btc" | "multihash") => (true, false),
        Some("hex" | "base16") => (false, true),
        Some(other) => return Err(format!("unknown double_hash_enc {other:?}")),
    };
    let mut readings = SmallVec::new();
    let mut why = Vec::new();
    if b58 {
        match b58_multihash(text) {
            Ok(reading) => readings.push(reading),
            Err(e) => why.push(e),
        }
    }
    if hex {
        match hex_digest(text, function) {
            Ok(reading) => readings.push(reading),
            Err(e) => why.push(e),
        }
    }
    if readings.is_empty() {
        return Err(format!("double hash {text:?}: {}", why.join("; ")));
    }
    Ok(RuleKind::DoubleHash(readings))
}

fn b58_multihash(text: &str) -> Result<(u64, Box<[u8]>, bool), String> {
    let bytes = bs58::decode(text)
        .into_vec()
        .map_err(|_| "not base58btc".to_owned())?;
    let mh = Multihash::<64>::from_bytes(&bytes).map_err(|_| "not a multihash".to_owned())?;
    // An identity "hash" hides nothing; such text is usually hex that happened to decode.
    if mh.code() == hash::IDENTITY {
        return Err("an identity multihash is not a double hash".to_owned());
    }
    check_function(mh.code(), usize::from(mh.size()))?;
    Ok((mh.code(), mh.digest().into(), false))
}

fn hex_digest(text: &str, function: Option<&str>) -> Result<(u64, Box<[u8]>, bool), String> {
    let code = match function {
        None => SHA2_256,
        Some(name) => function_code(name)?,
    };
    let digest = data_encoding::HEXLOWER_PERMISSIVE
        .decode(text.as_bytes())
        .map_err(|_| "not hex".to_owned())?;
    check_function(code, digest.len())?;
    Ok((code, digest.into(), true))
}

/// The multihash code of a `double_hash_fn` hint.
fn function_code(name: &str) -> Result<u64, String> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "sha256" | "sha2-256" => SHA2_256,
        "sha512" | "sha2-512" => 0x13,
        "sha3-256" => 0x16,
        "sha3-512" => 0x14,
        "blake3" => 0x1e,
        "blake2b-256" => 0xb220,
        "blake2b-512" => 0xb240,
        "blake2s-256" => 0xb260,
        other => return Err(format!("unknown double_hash_fn {other:?}")),
    })
}

/// Whether cairn computes `code` with digests of `len` bytes (a double hash it cannot
/// compute could never match).
fn check_function(code: u64, len: usize) -> Result<(), String> {
    let code_table = multihash_codetable::Code::try_from(code)
        .map_err(|_| format!("hash function 0x{code:x} is not supported"))?;
    let natural = multihash_codetable::MultihashDigest::digest(&code_table, b"").size();
    if usize::from(natural) != len {
        return Err(format!("a 0x{code:x} digest is {natural} bytes, not {len}"));
    }
    Ok(())
}

/// Hashes `data` with the multihash function `code` (one [`check_function`] accepted).
pub fn digest(code: u64, data: &[u8]) -> Option<Multihash<64>> {
    if code == SHA2_256 {
        use sha2::Digest;
        return Multihash::wrap(SHA2_256, &sha2::Sha256::digest(data)).ok();
    }
    let code = multihash_codetable::Code::try_from(code).ok()?;
    Some(multihash_codetable::MultihashDigest::digest(&code, data))
}

/// What an `/ipns/` name is keyed by.
pub enum NameKey {
    /// An IPNS key (any text form: `k51…`, `bafz…`, `12D3KooW…`) or another CID.
    Key(Multihash<64>),
    /// A DNSLink domain, lower case; a name without dots is read as a subdomain gateway's
    /// inlined form (`en-wikipedia--on--ipfs-org` → `en.wikipedia-on-ipfs.org`).
    Domain(String),
}

/// The key of an `/ipns/` name (as written in a rule, or decoded from a request).
pub fn name_key(name: &str) -> NameKey {
    if let Ok(ipns) = IpnsName::parse(name) {
        if let Ok(mh) = Multihash::from_bytes(ipns.as_multihash_bytes()) {
            return NameKey::Key(mh);
        }
    }
    if let Ok(cid) = crate::ipld::cid::parse(name) {
        return NameKey::Key(*cid.hash());
    }
    let lower = name.to_ascii_lowercase();
    if lower.contains('.') {
        return NameKey::Domain(lower);
    }
    NameKey::Domain(uninline_dnslink(&lower))
}

/// The subdomain gateway spec's DNSLink inlining undone: `--` is `-`, a single `-` is `.`.
fn uninline_dnslink(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut chars = label.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '-' {
            if chars.peek() == Some(&'-') {
                chars.next();
                out.push('-');
            } else {
                out.push('.');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The CIDv1 (codec kept; CIDv0 as dag-pb) of an IPNS key name, for legacy double hashes:
/// an IPNS key is a `libp2p-key` CID whatever form the name was written in.
pub fn ipns_key_cid(multihash: &Multihash<64>) -> Cid {
    Cid::new_v1(codec::LIBP2P_KEY, *multihash)
}

/// Multihashes of the empty block, the empty UnixFS directory and a few other empty values
/// in common codecs: blocking them breaks applications, so rules naming them are ignored
/// (NOpfs keeps the same list).
fn is_safe(multihash: &Multihash<64>) -> bool {
    static SAFE: std::sync::LazyLock<Vec<Multihash<64>>> = std::sync::LazyLock::new(|| {
        [
            // The empty UnixFS directory, and inlined.
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
            "bafyaabakaieac",
            // The empty block, and inlined.
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
            "bafkqaaa",
            // The empty dag-pb node, the empty dag-cbor map, the empty dag-json object.
            "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH",
            "bafyreigbtj4x7ip5legnfznufuopl4sg4knzc2cof6duas4b3q2fy6swua",
            "baguqeeraiqjw7i2vwntyuekgvulpp2det2kpwt6cd7tx5ayqybqpmhfk76fa",
        ]
        .iter()
        .filter_map(|text| crate::ipld::cid::parse(text).ok())
        .map(|cid| *cid.hash())
        .collect()
    });
    SAFE.contains(multihash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(line: &str) -> Rule {
        parse_line(line, &HashMap::new()).unwrap().unwrap()
    }

    #[test]
    fn headers_are_read_or_absent() {
        let text = b"version: 1\nname: test\nhints:\n  a: b\n---\n/ipfs/bafkqaaa\n";
        let (header, start) = split_header(text).unwrap();
        assert_eq!(header.name.as_deref(), Some("test"));
        assert_eq!(header.hints.get("a").map(String::as_str), Some("b"));
        assert_eq!(&text[start..], b"/ipfs/bafkqaaa\n");
        // Just the separator: an empty header.
        let (header, start) = split_header(b"---\n/ipfs/x\n").unwrap();
        assert_eq!((header.name, start), (None, 4));
        // No separator: no header, rules from the start.
        let (_, start) = split_header(b"/ipfs/x\n/ipfs/y\n").unwrap();
        assert_eq!(start, 0);
        assert_eq!(
            split_header(b"version: 2\n---\n").unwrap_err(),
            ListError::Version(2)
        );
        assert!(matches!(
            split_header(b"name: [unclosed\n---\n"),
            Err(ListError::Header(_))
        ));
        // A separator past the 1 MiB window is not a header's end.
        let mut big = vec![b'#'; MAX_HEADER_BYTES + 10];
        big.extend_from_slice(b"\n---\n");
        assert_eq!(split_header(&big).unwrap().1, 0);
    }

    #[test]
    fn paths_are_decoded_and_wildcards_read() {
        let p = RulePath::parse("a%20b/*").unwrap();
        assert_eq!((&*p.path, p.prefix), ("a b", true));
        let p = RulePath::parse("test*").unwrap();
        assert_eq!((&*p.path, p.prefix), ("test", true));
        assert!(p.matches("test2") && p.matches("test/one") && !p.matches("tes"));
        let p = RulePath::parse("x%2A").unwrap();
        assert_eq!((&*p.path, p.prefix), ("x*", false));
        let p = RulePath::parse("path/").unwrap();
        assert!(p.matches("path") && !p.matches("path2"));
        let all = RulePath::parse("*").unwrap();
        assert!(all.matches("") && all.matches("anything"));
        assert!(RulePath::parse("%ff").is_err());
    }

    #[test]
    fn rules_of_each_kind() {
        let r = rule("/ipfs/bafybeihvvulpp4evxj7x7armbqcyg6uezzuig6jp3lktpbovlqfkuqeuoq");
        let RuleKind::Ipfs { multihash, path } = r.kind else {
            panic!("{r:?}")
        };
        let v0: Cid = "QmesfgDQ3q6prBy2Kg2gKbW4MAGuWiRP2DVuGA5MZSERLo"
            .parse()
            .unwrap();
        assert_eq!(&multihash, v0.hash());
        assert_eq!(&*path.path, "");
        assert!(!r.allow);
        let r = rule("!/ipfs/QmUboz9UsQBDeS6Tug1U8jgoFkgYxyYood9NDyVURAY9pK/blocked/not reason:x");
        assert!(r.allow);
        assert_eq!(r.hints, vec![("reason".to_owned(), "x".to_owned())]);
        assert!(matches!(
            rule("/ipns/Domain.Example/path").kind,
            RuleKind::IpnsDomain { domain, .. } if &*domain == "domain.example"
        ));
        let by_base36 =
            rule("/ipns/k51qzi5uqu5dhmzyv3zac033i7rl9hkgczxyl81lwoukda2htteop7d3x0y1mf");
        let by_peer_id = rule("/ipns/12D3KooWDkNqEJNmreF3NYYFK1ws7Ra2fuW6cHBTu567SPV3LdYA");
        assert_eq!(by_base36.kind, by_peer_id.kind);
        assert!(matches!(by_base36.kind, RuleKind::IpnsKey { .. }));
        // A legacy hex entry is only sha2-256 hex; a b58 multihash entry only that.
        let RuleKind::DoubleHash(h) =
            rule("//d9d295bde21f422d471a90f2a37ec53049fdf3e5fa3ee2e8f20e10003da429e7").kind
        else {
            panic!()
        };
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].0, SHA2_256);
        let RuleKind::DoubleHash(h) = rule("//QmX9dhRcQcKUw3Ws8485T5a9dtjrSCQaUAHnG4iK9i4ceM").kind
        else {
            panic!()
        };
        assert_eq!(h.len(), 1);
        let RuleKind::DoubleHash(h) = rule("//gW813G35CnLsy7gRYYHuf63hrz71U1xoLFDVeV7actx6oX").kind
        else {
            panic!()
        };
        assert_eq!(h[0].0, 0x1e, "blake3");
    }

    #[test]
    fn lines_that_hold_no_rule_or_a_bad_one() {
        let none = HashMap::new();
        assert_eq!(parse_line("", &none), Ok(None));
        assert_eq!(parse_line("   ", &none), Ok(None));
        assert_eq!(parse_line("# /ipfs/bafkqaaa", &none), Ok(None));
        assert!(parse_line("/ipfs/notacid", &none).is_err());
        assert!(parse_line("/some/path", &none).is_err());
        assert!(parse_line("//zzzz", &none).is_err());
        // Empty blocks and directories are never blocked.
        assert!(parse_line("/ipfs/bafkqaaa", &none).is_err());
        assert!(parse_line(
            "/ipfs/QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
            &none
        )
        .is_err());
    }

    #[test]
    fn hints_choose_the_double_hash_reading() {
        // 64 hex digits made only of base58 characters: both readings are tried without hints.
        let hex = "1111111111111111111111111111111111111111111111111111111111111111";
        let mut hints = HashMap::new();
        hints.insert("double_hash_enc".to_owned(), "hex".to_owned());
        hints.insert("double_hash_fn".to_owned(), "blake3".to_owned());
        let r = parse_line(&format!("//{hex}"), &hints).unwrap().unwrap();
        let RuleKind::DoubleHash(h) = r.kind else {
            panic!()
        };
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].0, 0x1e);
        // A rule's own hint wins over the header's.
        let r = parse_line(&format!("//{hex} double_hash_fn:sha256"), &hints)
            .unwrap()
            .unwrap();
        let RuleKind::DoubleHash(h) = r.kind else {
            panic!()
        };
        assert_eq!(h[0].0, SHA2_256);
        hints.insert("double_hash_enc".to_owned(), "b58".to_owned());
        assert!(parse_line(&format!("//{hex}"), &hints).is_err());
    }

    #[test]
    fn inlined_dnslink_names_are_undone() {
        assert_eq!(uninline_dnslink("domain-example"), "domain.example");
        assert_eq!(uninline_dnslink("domain--example"), "domain-example");
        assert_eq!(
            uninline_dnslink("en-wikipedia--on--ipfs-org"),
            "en.wikipedia-on-ipfs.org"
        );
    }
}
