//! Content blocking with IPIP-383 compact denylists
//! (<https://specs.ipfs.tech/compact-denylist-format/>): the lists an operator keeps in
//! `DATA/denylists/*.deny` and names with `--denylist PATH|URL`, followed as they grow and
//! reloaded without a restart ([`follow`]), and the one question every route asks of them:
//! is this CID, `/ipfs` path or `/ipns` name blocked, and by which rule.
//!
//! The checks sit where the spec recommends: paths and names before anything is resolved
//! (the gateway on every origin, `_redirects` targets, the Cluster API), and CIDs wherever a
//! block is read ([`crate::services::retrieval::Retrieval`] refuses a blocked block before
//! the store or the network is asked; [`Withheld`] hides blocked blocks from what bitswap
//! serves to peers). A blocked item is [`Blocked`], which the http layer answers with 410 Gone.
//!
//! Matching: rules are indexed by multihash, IPNS key or domain, and double hashes by digest,
//! so a check costs a few hash-map lookups whatever the list size — plus, when a list holds
//! double hashes, one hash of the asked item per hash function in use (computed once for all
//! lists). Within a list the last matching rule wins (so `!` exceptions follow the rules they
//! undo); across lists a later list wins: `DATA/denylists` files in name order, then the
//! `--denylist` ones in the order given.

pub mod follow;
pub mod parse;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use cid::Cid;
use multihash::Multihash;
use smallvec::SmallVec;

pub use crate::store::Blocked;
use crate::store::{self, BlockSource, SharedSource, SourceFuture};
use parse::{NameKey, Rule, RuleKind, RulePath};

pub use follow::DenylistOptions;

/// The operator's denylists, as loaded now.
pub struct Denylist {
    /// Whether any list holds a rule: with none, every check returns at once.
    active: AtomicBool,
    rules: RwLock<Rules>,
    /// The sources the lists come from and how far each was read.
    following: Mutex<follow::Following>,
    /// Verdicts of CIDs (every block read asks, and `/ipfs/<cid>` requests), kept until the
    /// rules change: a hot block is checked by one lookup instead of its double hashes.
    cids: quick_cache::sync::Cache<Cid, Remembered>,
    /// Grows with every change of the rules (see [`Denylist::generation`]).
    generation: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Denylist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Denylist")
            .field("active", &self.active.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A remembered verdict: the list and line of the rule blocking it, or `None`.
type Remembered = Option<(Arc<str>, u64)>;

/// CID verdicts remembered at most.
const CID_VERDICTS: usize = 16 * 1024;

/// Every list, in precedence order (a later one wins), with the hash functions their double
/// hashes use.
#[derive(Default)]
struct Rules {
    lists: Vec<List>,
    /// Functions of double hashes in the legacy form (`<CIDv1 base32>/<path>`).
    legacy: SmallVec<[u64; 2]>,
    /// Functions of double hashes in the multihash form (`<b58 multihash>/<path>`).
    modern: SmallVec<[u64; 2]>,
}

impl Rules {
    fn refresh(&mut self) {
        self.legacy.clear();
        self.modern.clear();
        for list in &self.lists {
            for code in &list.legacy {
                if !self.legacy.contains(code) {
                    self.legacy.push(*code);
                }
            }
            for code in &list.modern {
                if !self.modern.contains(code) {
                    self.modern.push(*code);
                }
            }
        }
    }

    fn count(&self) -> usize {
        self.lists.iter().map(|l| l.rules).sum()
    }
}

/// One list's rules, indexed.
pub(crate) struct List {
    /// Which source it came from ([`follow`]), and where it stands among the lists.
    source: u64,
    order: (usize, String),
    /// What a blocked answer names it by: the header's `name`, else the file name or URL.
    name: Arc<str>,
    ipfs: HashMap<Multihash<64>, Rules1>,
    ipns_keys: HashMap<Multihash<64>, Rules1>,
    ipns_domains: HashMap<Box<str>, Rules1>,
    double: HashMap<u64, Digests>,
    legacy: SmallVec<[u64; 2]>,
    modern: SmallVec<[u64; 2]>,
    /// Rules held, and lines that could not be read.
    rules: usize,
    skipped: usize,
    /// Hints of the header, applied to every rule.
    hints: HashMap<String, String>,
}

/// The rules under one key, in line order (nearly always one).
type Rules1 = SmallVec<[PathRule; 1]>;

#[derive(Debug, Clone)]
struct PathRule {
    path: RulePath,
    allow: bool,
    line: u64,
}

/// Double hashes of one function, by digest.
#[derive(Default)]
struct Digests {
    /// 32-byte digests (sha2-256, blake3…): held inline.
    d32: HashMap<[u8; 32], Verdict>,
    other: HashMap<Box<[u8]>, Verdict>,
}

impl Digests {
    fn get(&self, digest: &[u8]) -> Option<Verdict> {
        match <[u8; 32]>::try_from(digest) {
            Ok(d) => self.d32.get(&d).copied(),
            Err(_) => self.other.get(digest).copied(),
        }
    }

    fn insert(&mut self, digest: &[u8], verdict: Verdict) {
        match <[u8; 32]>::try_from(digest) {
            Ok(d) => self.d32.insert(d, verdict),
            Err(_) => self.other.insert(digest.into(), verdict),
        };
    }
}

/// What a matching rule says, and on which line it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Verdict {
    allow: bool,
    line: u64,
}

impl List {
    fn new(source: u64, order: (usize, String), name: Arc<str>) -> List {
        List {
            source,
            order,
            name,
            ipfs: HashMap::new(),
            ipns_keys: HashMap::new(),
            ipns_domains: HashMap::new(),
            double: HashMap::new(),
            legacy: SmallVec::new(),
            modern: SmallVec::new(),
            rules: 0,
            skipped: 0,
            hints: HashMap::new(),
        }
    }

    /// Adds a rule read on `line`.
    fn add(&mut self, rule: Rule, line: u64) {
        let path_rule = |path: RulePath| PathRule {
            path,
            allow: rule.allow,
            line,
        };
        match rule.kind {
            RuleKind::Ipfs { multihash, path } => self
                .ipfs
                .entry(multihash)
                .or_default()
                .push(path_rule(path)),
            RuleKind::IpnsKey { multihash, path } => self
                .ipns_keys
                .entry(multihash)
                .or_default()
                .push(path_rule(path)),
            RuleKind::IpnsDomain { domain, path } => self
                .ipns_domains
                .entry(domain)
                .or_default()
                .push(path_rule(path)),
            RuleKind::DoubleHash(readings) => {
                for (code, digest, legacy) in readings {
                    let codes = if legacy {
                        &mut self.legacy
                    } else {
                        &mut self.modern
                    };
                    if !codes.contains(&code) {
                        codes.push(code);
                    }
                    self.double.entry(code).or_default().insert(
                        &digest,
                        Verdict {
                            allow: rule.allow,
                            line,
                        },
                    );
                }
            }
        }
        self.rules += 1;
    }

    /// Parses `text` (whole lines) whose first line is line `first_line` of the list,
    /// logging the lines that cannot be read.
    fn add_lines(&mut self, text: &[u8], first_line: u64) {
        for (i, line) in text.split(|b| *b == b'\n').enumerate() {
            let number = first_line + i as u64;
            let read = std::str::from_utf8(line)
                .map_err(|_| "not UTF-8".to_owned())
                .and_then(|line| {
                    if line.len() >= parse::MAX_LINE_BYTES {
                        return Err("longer than 2 MiB".to_owned());
                    }
                    parse::parse_line(line, &self.hints)
                });
            match read {
                Ok(Some(rule)) => self.add(rule, number),
                Ok(None) => {}
                Err(why) => {
                    self.skipped += 1;
                    tracing::warn!(list = %self.name, line = number, "denylist rule skipped: {why}");
                }
            }
        }
    }

    /// The last rule under `rules` matching `path`.
    fn last_match(rules: Option<&Rules1>, path: &str) -> Option<Verdict> {
        rules?
            .iter()
            .rev()
            .find(|r| r.path.matches(path))
            .map(|r| Verdict {
                allow: r.allow,
                line: r.line,
            })
    }
}

/// What is being asked about, with the hash keys of its double-hash forms computed at most
/// once for all lists.
struct Asked<'a> {
    key: AskedKey<'a>,
    /// The path below the CID or name: decoded, `/`-joined, no leading or trailing `/`.
    path: &'a str,
    /// Double hashes computed so far: (function, legacy form?, digest).
    hashes: SmallVec<[(u64, bool, Multihash<64>); 4]>,
    /// The text being hashed (one buffer for every form).
    text: String,
}

enum AskedKey<'a> {
    /// A CID or `/ipfs/<cid>`: by its multihash; legacy forms keep its codec.
    Ipfs(&'a Cid),
    /// An IPNS key, by its multihash.
    IpnsKey(Multihash<64>),
    /// A DNSLink domain.
    Domain(String),
}

impl Asked<'_> {
    /// Writes the text a double hash of the given form is the hash of (IPIP-383
    /// "Double-hash") into `text`.
    fn double_hash_input(&self, legacy: bool, text: &mut String) {
        text.clear();
        match (&self.key, legacy) {
            (AskedKey::Ipfs(cid), true) => {
                text.push_str(crate::ipld::cid::v1_text(cid).as_str());
                text.push('/');
                text.push_str(self.path);
                return;
            }
            (AskedKey::IpnsKey(mh), true) => {
                text.push_str(crate::ipld::cid::v1_text(&parse::ipns_key_cid(mh)).as_str());
                text.push('/');
                text.push_str(self.path);
                return;
            }
            (AskedKey::Domain(domain), true) => {
                text.push_str(domain);
                text.push('/');
                text.push_str(self.path);
                return;
            }
            (AskedKey::Ipfs(cid), false) => push_b58(text, cid.hash()),
            (AskedKey::IpnsKey(mh), false) => push_b58(text, mh),
            (AskedKey::Domain(domain), false) => {
                text.push_str("/ipns/");
                text.push_str(domain);
            }
        }
        if !self.path.is_empty() {
            text.push('/');
            text.push_str(self.path);
        }
    }

    fn double_hash(&mut self, code: u64, legacy: bool) -> Option<Multihash<64>> {
        if let Some((_, _, h)) = self
            .hashes
            .iter()
            .find(|(c, l, _)| *c == code && *l == legacy)
        {
            return Some(*h);
        }
        let mut text = std::mem::take(&mut self.text);
        self.double_hash_input(legacy, &mut text);
        let h = parse::digest(code, text.as_bytes());
        self.text = text;
        let h = h?;
        self.hashes.push((code, legacy, h));
        Some(h)
    }

    /// The verdict of one list: its last matching rule (by line) of any kind.
    fn verdict(&mut self, list: &List) -> Option<Verdict> {
        let mut best = match &self.key {
            AskedKey::Ipfs(cid) => List::last_match(list.ipfs.get(cid.hash()), self.path),
            AskedKey::IpnsKey(mh) => List::last_match(list.ipns_keys.get(mh), self.path),
            AskedKey::Domain(d) => List::last_match(list.ipns_domains.get(d.as_str()), self.path),
        };
        for (codes, legacy) in [(&list.legacy, true), (&list.modern, false)] {
            for &code in codes {
                let Some(hash) = self.double_hash(code, legacy) else {
                    continue;
                };
                let found = list
                    .double
                    .get(&code)
                    .and_then(|digests| digests.get(hash.digest()));
                if let Some(found) = found {
                    if best.is_none_or(|b| found.line > b.line) {
                        best = Some(found);
                    }
                }
            }
        }
        best
    }
}

fn push_b58(text: &mut String, mh: &Multihash<64>) {
    let mut bytes = [0u8; 80];
    let n = mh.write(&mut bytes[..]).unwrap_or(0);
    base58btc(&bytes[..n], text);
}

/// Appends the base58btc text of `bytes` (the Bitcoin alphabet, a `1` per leading zero
/// byte). Multihash double hashes hash this text for every check, and a digit-at-a-time
/// encoder (as `bs58`'s) costs over a microsecond for a 34-byte multihash: here the number
/// is divided by 58⁵ per pass over 32-bit limbs, a division by a constant the compiler turns
/// into a multiplication.
fn base58btc(bytes: &[u8], text: &mut String) {
    const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    const BIG: u64 = 58u64.pow(5);
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    let rest = &bytes[zeros..];
    // Big-endian 32-bit limbs, the first one holding the bytes that do not fill a limb.
    let mut limbs: SmallVec<[u32; 24]> = SmallVec::with_capacity(rest.len().div_ceil(4));
    let head = rest.len() % 4;
    if head > 0 {
        limbs.push(
            rest[..head]
                .iter()
                .fold(0u32, |n, b| (n << 8) | u32::from(*b)),
        );
    }
    for chunk in rest[head..].chunks_exact(4) {
        limbs.push(u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]));
    }
    // Digits, least significant first.
    let mut digits: SmallVec<[u8; 128]> = SmallVec::new();
    let mut first = 0;
    while first < limbs.len() {
        let mut remainder = 0u64;
        for limb in &mut limbs[first..] {
            let current = (remainder << 32) | u64::from(*limb);
            *limb = (current / BIG) as u32;
            remainder = current % BIG;
        }
        while first < limbs.len() && limbs[first] == 0 {
            first += 1;
        }
        let mut r = remainder as u32;
        for _ in 0..5 {
            digits.push((r % 58) as u8);
            r /= 58;
        }
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    text.reserve(zeros + digits.len());
    text.extend(std::iter::repeat_n('1', zeros));
    text.extend(
        digits
            .iter()
            .rev()
            .map(|d| char::from(ALPHABET[usize::from(*d)])),
    );
}

impl Denylist {
    /// A denylist with no rules (every check passes).
    pub fn empty() -> Arc<Denylist> {
        Arc::new(Denylist {
            active: AtomicBool::new(false),
            rules: RwLock::new(Rules::default()),
            following: Mutex::new(follow::Following::default()),
            cids: quick_cache::sync::Cache::new(CID_VERDICTS),
            generation: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// A denylist of one list given as text (tests, benches, a list from elsewhere).
    pub fn from_text(name: &str, text: &[u8]) -> Result<Arc<Denylist>, parse::ListError> {
        let denylist = Denylist::empty();
        let list = follow::parse_list(0, (0, name.to_owned()), name, text)?;
        denylist.replace(0, Some(list));
        Ok(denylist)
    }

    /// Whether `cid`'s block is blocked (an `/ipfs/<cid>` or `/ipfs/<cid>/*` rule, or a
    /// double hash of the CID): the block is never fetched, served or kept.
    pub fn check_cid(&self, cid: &Cid) -> Option<Blocked> {
        if !self.active.load(Ordering::Relaxed) {
            return None;
        }
        self.decide(
            Asked {
                key: AskedKey::Ipfs(cid),
                path: "",
                hashes: SmallVec::new(),
                text: String::new(),
            },
            Some(cid),
            || crate::ipld::cid::to_v1_string(cid),
        )
    }

    /// Whether `/ipfs/<root>/<segments…>` is blocked, before anything is resolved.
    /// `segments` are decoded path segments.
    pub fn check_ipfs(&self, root: &Cid, segments: &[&str]) -> Option<Blocked> {
        if !self.active.load(Ordering::Relaxed) {
            return None;
        }
        let path = segments.join("/");
        self.decide(
            Asked {
                key: AskedKey::Ipfs(root),
                path: &path,
                hashes: SmallVec::new(),
                text: String::new(),
            },
            // With no path this is the CID's own verdict (the same rules and double hashes).
            segments.is_empty().then_some(root),
            || content_path("ipfs", &crate::ipld::cid::to_v1_string(root), &path),
        )
    }

    /// Whether `/ipns/<name>/<segments…>` is blocked, before the name is resolved. `name` is
    /// an IPNS key in any form, a DNSLink domain or its subdomain-inlined label.
    pub fn check_ipns(&self, name: &str, segments: &[&str]) -> Option<Blocked> {
        if !self.active.load(Ordering::Relaxed) {
            return None;
        }
        let path = segments.join("/");
        let key = match parse::name_key(name) {
            NameKey::Key(mh) => AskedKey::IpnsKey(mh),
            NameKey::Domain(d) => AskedKey::Domain(d),
        };
        self.decide(
            Asked {
                key,
                path: &path,
                hashes: SmallVec::new(),
                text: String::new(),
            },
            None,
            || content_path("ipns", name, &path),
        )
    }

    /// Whether a content path is blocked: `/ipfs/<cid>[/…]`, `/ipns/<name>[/…]` (segments
    /// percent-encoded, as in a URL) or a bare CID. Text that is neither is not blocked
    /// (nothing it could name is). For callers holding a path as text (the RPC API).
    pub fn check_path(&self, text: &str) -> Option<Blocked> {
        if !self.active.load(Ordering::Relaxed) {
            return None;
        }
        let (namespace, rest) = match text
            .strip_prefix("/ipfs/")
            .or_else(|| text.strip_prefix("/ipld/"))
        {
            Some(rest) => ("ipfs", rest),
            None => match text.strip_prefix("/ipns/") {
                Some(rest) => ("ipns", rest),
                None => ("ipfs", text.trim_start_matches('/')),
            },
        };
        let mut parts = rest.split('/');
        let first = parts.next().unwrap_or("");
        let decoded: Vec<String> = parts
            .filter(|s| !s.is_empty() && *s != ".")
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
        if namespace == "ipns" {
            return self.check_ipns(first, &segments);
        }
        let cid = crate::ipld::cid::parse(first).ok()?;
        self.check_ipfs(&cid, &segments)
    }

    /// The verdict of the lists (the last list with a matching rule decides), remembered for
    /// `remember` when given. The cache is read and filled under the rules' read lock, and
    /// cleared under their write lock, so it never holds a verdict of older rules.
    fn decide(
        &self,
        mut asked: Asked<'_>,
        remember: Option<&Cid>,
        what: impl FnOnce() -> String,
    ) -> Option<Blocked> {
        let rules = self.rules.read().unwrap_or_else(|p| p.into_inner());
        let verdict = match remember.and_then(|cid| self.cids.get(cid)) {
            Some(known) => known,
            None => {
                let verdict = rules
                    .lists
                    .iter()
                    .rev()
                    .find_map(|list| asked.verdict(list).map(|v| (list, v)))
                    .filter(|(_, v)| !v.allow)
                    .map(|(list, v)| (Arc::clone(&list.name), v.line));
                if let Some(cid) = remember {
                    self.cids.insert(*cid, verdict.clone());
                }
                verdict
            }
        };
        drop(rules);
        let (list, line) = verdict?;
        let blocked = Blocked {
            what: what(),
            list,
            line,
        };
        tracing::debug!(what = %blocked.what, list = %blocked.list, line = blocked.line, "blocked");
        Some(blocked)
    }

    /// A count that grows with every change of the rules: answers given under other rules
    /// (the gateway's replayed responses) are not given again once it has moved.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// How many lists and rules are loaded.
    pub fn size(&self) -> (usize, usize) {
        let rules = self.rules.read().unwrap_or_else(|p| p.into_inner());
        (rules.lists.len(), rules.count())
    }

    /// Puts `list` in place of the list of `source` (or removes it with `None`).
    fn replace(&self, source: u64, list: Option<List>) {
        let old;
        {
            let mut rules = self.rules.write().unwrap_or_else(|p| p.into_inner());
            let at = rules.lists.iter().position(|l| l.source == source);
            old = match (at, list) {
                (Some(i), Some(list)) => Some(std::mem::replace(&mut rules.lists[i], list)),
                (Some(i), None) => Some(rules.lists.remove(i)),
                (None, Some(list)) => {
                    let at = rules.lists.partition_point(|l| l.order <= list.order);
                    rules.lists.insert(at, list);
                    None
                }
                (None, None) => None,
            };
            self.changed(&mut rules);
        }
        // A big list is freed after the lock is released.
        drop(old);
    }

    /// Appends lines to the list of `source` (whole lines, the first numbered `first_line`).
    fn append(&self, source: u64, text: &[u8], first_line: u64) {
        let mut rules = self.rules.write().unwrap_or_else(|p| p.into_inner());
        if let Some(list) = rules.lists.iter_mut().find(|l| l.source == source) {
            list.add_lines(text, first_line);
        }
        self.changed(&mut rules);
    }

    /// What follows every change of the rules, under their write lock: their index
    /// rebuilt, the remembered verdicts forgotten, the generation moved.
    fn changed(&self, rules: &mut Rules) {
        rules.refresh();
        self.cids.clear();
        self.active.store(rules.count() > 0, Ordering::Relaxed);
        self.generation.fetch_add(1, Ordering::Release);
    }
}

/// `/<namespace>/<name>[/<path>]`.
fn content_path(namespace: &str, name: &str, path: &str) -> String {
    let mut text = format!("/{namespace}/{name}");
    if !path.is_empty() {
        text.push('/');
        text.push_str(path);
    }
    text
}

/// A block source that does not have the blocks a denylist blocks: what bitswap serves to
/// peers goes through it, so a peer asking for a blocked block is told it is not here.
pub struct Withheld {
    inner: SharedSource,
    denylist: Arc<Denylist>,
}

impl Withheld {
    pub fn new(inner: SharedSource, denylist: Arc<Denylist>) -> Withheld {
        Withheld { inner, denylist }
    }
}

impl BlockSource for Withheld {
    fn get(&self, cid: &Cid) -> SourceFuture<store::Result<Option<Bytes>>> {
        if self.denylist.check_cid(cid).is_some() {
            return SourceFuture::ready(Ok(None));
        }
        self.inner.get(cid)
    }

    fn has(&self, cid: &Cid) -> SourceFuture<store::Result<bool>> {
        if self.denylist.check_cid(cid).is_some() {
            return SourceFuture::ready(Ok(false));
        }
        self.inner.has(cid)
    }

    fn size(&self, cid: &Cid) -> SourceFuture<store::Result<Option<u64>>> {
        if self.denylist.check_cid(cid).is_some() {
            return SourceFuture::ready(Ok(None));
        }
        self.inner.size(cid)
    }
}

#[cfg(test)]
mod tests;
