//! IPNS on this node: the name store, name resolution, publishing to local keys, and DNSLink.
//! No HTTP types: the gateway's `/ipns` routes, the key API and Delegated Routing V1 call in
//! here, and `http::error` maps [`NameError`] to statuses.
//!
//! Owns:
//! - The record store: one file per name, `<data>/ipns/<k51… name>`, holding the record as
//!   serialized (IPNS spec "Record Serialization Format"), written atomically (temporary file,
//!   fsync, rename, directory fsync). A record replaces the stored one only when it is fresher
//!   (IPNS spec "Record Selection": higher sequence, then later EOL) or the stored one has
//!   expired; records that fail verification ("Record Verification") are never stored.
//!   Verified records are cached in memory, bounded.
//! - Publishing to local keys ([`Keystore`]): value `/ipfs/<cidv1>[/path]`, sequence =
//!   previous + 1 (so it only grows), EOL = now + lifetime (boxo's 48 h unless configured),
//!   TTL boxo's 5 min, and the V1 compatibility fields boxo also writes by default, so Kubo and
//!   boxo of any version accept the records. The new root is pinned; the previous root is
//!   unpinned unless another local key still points at it or the pin was not made here. A
//!   background republisher re-signs records past half their lifetime, and a local key whose
//!   record is missing or expired gets a fresh one when it is resolved. Edits of the tree a
//!   name points at ([`NameService::update_tree`]: setting a path for `POST /ipns/<key>/<path>`
//!   through `services::edit`, and what PUT/DELETE need) run under one lock, read-modify-write.
//! - Resolution (IPNS spec "Record Resolution", DNSLink spec): `/ipns/<name>` through stored
//!   records, local key names and DNSLink domains, following `/ipns/` values at most
//!   [`MAX_RESOLVE_DEPTH`] times (Kubo's `DefaultDepthLimit`), down to `/ipfs/<cid>[/path]`.
//!   The TTL reported is the smallest along the chain, each record's clamped to its remaining
//!   validity (as boxo's namesys does), so a cache never outlives a signature.
//! - DNSLink (dnslink-std): `TXT _dnslink.<domain>` through hickory-resolver, with the
//!   system's resolver configuration or one given server, short timeouts, answers cached for
//!   their TTL; among several `dnslink=` entries the lexicographically first valid one wins.
//!   Static entries (`IPFS_NS_MAP` in Kubo's `domain:/ipfs/…,…` format, `--dnslink`) take
//!   precedence over DNS.
//! - The key API's operations (look up, create pointing at the empty directory, delete).

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use cid::Cid;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::NetError;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::TokioResolver;

use super::add::ImportParams;
use super::edit::{self, empty_directory};
use super::keystore::{Key, Keystore, KeystoreError};
use super::pins::{Pin, Pinset};
use super::{resolve, EMPTY_DIRECTORY};
use crate::ipld::cid::{to_v1, to_v1_string};
use crate::ipld::ipns::{self, IpnsError, IpnsErrorKind, IpnsName, Record};
use crate::store::Blockstore;

/// Most name-to-value steps one resolution follows (Kubo's `DefaultDepthLimit`).
pub const MAX_RESOLVE_DEPTH: usize = 32;
/// How long one DNS query may take before DNSLink resolution gives up.
pub const DEFAULT_DNS_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest domain name (RFC 1035 §2.3.4, without the root dot).
const MAX_DOMAIN_LEN: usize = 253;
/// Longest domain label (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;
/// Records kept in memory; the rest are read from disk on demand.
const RECORD_CACHE_ENTRIES: usize = 4096;
/// Local key names remembered with their IPNS names (reading a key file derives its public
/// key, which costs more than serving a small file).
const KEY_NAME_CACHE_ENTRIES: usize = 1024;
/// Responses hickory keeps in its DNS cache.
const DNS_CACHE_ENTRIES: u64 = 1024;
/// Name of the records directory inside the data directory.
const RECORDS_DIR: &str = "ipns";
const TEMP_PREFIX: &str = ".tmp-";
/// Pins made for a name carry this prefix in their name, so that only they are ever
/// released when the name moves on (a pin the user made stays).
const PIN_NAME_PREFIX: &str = "ipns:";
/// Shortest and longest pause between two republisher rounds.
const MIN_REPUBLISH_CHECK: Duration = Duration::from_secs(1);
const MAX_REPUBLISH_CHECK: Duration = Duration::from_secs(3600);

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// What went wrong with a name operation. `http::error` maps each variant to a status.
#[derive(Debug, thiserror::Error)]
pub enum NameError {
    /// Text that is not an IPNS name, key name or domain, as the client wrote it.
    #[error("{0}")]
    InvalidName(String),
    /// A value or content path that cannot be published (not `/ipfs/<cid>…`).
    #[error("{0}")]
    InvalidValue(String),
    /// A record that fails verification; it was not stored.
    #[error("record refused: {0}")]
    InvalidRecord(IpnsError),
    /// No local key by that name.
    #[error("{0}")]
    UnknownKey(String),
    /// A well-formed name whose key this node does not hold (cannot publish to it).
    #[error("{0}")]
    NotLocal(String),
    /// A name with no usable record here: none stored, or only an expired one.
    #[error("{0}")]
    NoRecord(String),
    /// A domain without a DNSLink record (NXDOMAIN, no TXT, or no valid `dnslink=` entry).
    #[error("{0}")]
    NoDnsLink(String),
    /// DNS could not be asked or did not answer usefully.
    #[error("{0}")]
    DnsFailure(String),
    /// DNS did not answer in time.
    #[error("{0}")]
    DnsTimeout(String),
    /// More than [`MAX_RESOLVE_DEPTH`] steps, or a cycle.
    #[error("{0}")]
    TooDeep(String),
    /// The key store failed or refused the key name.
    #[error("{0}")]
    Keystore(#[from] KeystoreError),
    /// Reading content or editing a tree (a missing path or block, a file in the way, …).
    #[error("{0}")]
    Content(#[from] super::Error),
    /// The record store's files.
    #[error("IPNS record store: {0}")]
    Io(String),
}

type Result<T> = std::result::Result<T, NameError>;

fn io_error(what: &str, path: &Path, e: io::Error) -> NameError {
    NameError::Io(format!("{what} {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Content paths
// ---------------------------------------------------------------------------------------------

/// An immutable content path, `/ipfs/<root>[/<segment>…]`: what a record of a local key
/// points at. Segments are plain names (no escaping), without empty, `.` or `..` ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentPath {
    pub root: Cid,
    pub segments: Vec<String>,
}

impl ContentPath {
    /// The path of `root` itself.
    pub fn new(root: Cid) -> Self {
        ContentPath {
            root: to_v1(&root),
            segments: Vec::new(),
        }
    }
}

impl fmt::Display for ContentPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/ipfs/{}", to_v1_string(&self.root))?;
        for segment in &self.segments {
            write!(f, "/{segment}")?;
        }
        Ok(())
    }
}

/// The namespace of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Namespace {
    /// `/ipfs/` (or `/ipld/`): an immutable root.
    Ipfs,
    /// `/ipns/`: another name to resolve.
    Ipns,
}

/// Splits a value `/<ns>/<id>[/<rest>]` into its namespace, id and the rest after the id.
fn split_value(value: &str) -> Result<(Namespace, &str, &str)> {
    let bad = || {
        NameError::InvalidValue(format!(
            "{:?} is not a content path (/ipfs/<cid>[/path] or /ipns/<name>[/path])",
            value.chars().take(128).collect::<String>()
        ))
    };
    let rest = value.strip_prefix('/').ok_or_else(bad)?;
    let (namespace, rest) = rest.split_once('/').ok_or_else(bad)?;
    let namespace = match namespace {
        "ipfs" | "ipld" => Namespace::Ipfs,
        "ipns" => Namespace::Ipns,
        _ => return Err(bad()),
    };
    let (id, rest) = rest.split_once('/').unwrap_or((rest, ""));
    if id.is_empty() {
        return Err(bad());
    }
    Ok((namespace, id, rest))
}

/// Appends the segments of a path (`a/b/../c` → `a`, `c`), dropping empty and `.` segments
/// and applying `..` lexically, as Go's `path.Clean` does for boxo's paths.
fn push_segments(raw: &str, out: &mut Vec<String>) {
    let floor = out.len();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.len() > floor {
                    out.pop();
                }
            }
            _ => out.push(part.to_owned()),
        }
    }
}

/// Parses an `/ipfs/<cid>[/path]` value into a content path.
fn parse_ipfs_value(value: &str) -> Result<ContentPath> {
    match split_value(value)? {
        (Namespace::Ipfs, id, rest) => {
            let root = crate::ipld::cid::parse(id)
                .map_err(|e| NameError::InvalidValue(format!("{id:?} is not a CID: {e}")))?;
            let mut path = ContentPath::new(root);
            push_segments(rest, &mut path.segments);
            Ok(path)
        }
        (Namespace::Ipns, ..) => Err(NameError::InvalidValue(format!(
            "{value:?} is an IPNS path; expected /ipfs/<cid>[/path]"
        ))),
    }
}

/// The root CID of an `/ipfs/` value, for pinning; `None` for `/ipns/` values.
fn ipfs_root(value: &str) -> Option<Cid> {
    parse_ipfs_value(value).ok().map(|path| path.root)
}

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

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
}

impl Default for NameOptions {
    fn default() -> Self {
        NameOptions {
            lifetime: ipns::DEFAULT_LIFETIME,
            ttl: ipns::DEFAULT_TTL,
            dns_servers: DnsServers::System,
            dns_timeout: DEFAULT_DNS_TIMEOUT,
            static_dnslinks: Vec::new(),
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
fn normalize_domain(text: &str) -> Result<String> {
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

// ---------------------------------------------------------------------------------------------
// The record store
// ---------------------------------------------------------------------------------------------

/// A verified record as stored, with its fields read out once.
#[derive(Debug)]
pub struct StoredRecord {
    record: Record,
    value: Arc<str>,
    eol: SystemTime,
}

impl StoredRecord {
    fn new(record: Record) -> std::result::Result<StoredRecord, IpnsError> {
        let value = Arc::from(record.value()?.as_ref());
        let eol = record.validity()?;
        Ok(StoredRecord { record, value, eol })
    }

    /// The serialized record, exactly as signed (`application/vnd.ipfs.ipns-record`).
    pub fn bytes(&self) -> Bytes {
        self.record.to_bytes()
    }

    /// The content path the record points at.
    pub fn value(&self) -> &str {
        &self.value
    }

    pub fn sequence(&self) -> u64 {
        self.record.sequence()
    }

    /// When the signature stops being valid.
    pub fn eol(&self) -> SystemTime {
        self.eol
    }

    /// The record's TTL.
    pub fn ttl(&self) -> Duration {
        self.record.ttl()
    }

    /// How long a cache may keep the answer at `now`: the TTL, but never past the EOL.
    pub fn max_age(&self, now: SystemTime) -> Duration {
        let remaining = self.eol.duration_since(now).unwrap_or(Duration::ZERO);
        self.ttl().min(remaining)
    }

    fn is_expired(&self, now: SystemTime) -> bool {
        now > self.eol
    }
}

/// What [`NameService::put_record`] did with a valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The record is now the stored one.
    Stored,
    /// The stored record is as fresh or fresher; it was kept.
    Kept,
}

/// Records on disk with a bounded in-memory cache in front.
struct RecordStore {
    dir: PathBuf,
    cache: quick_cache::sync::Cache<IpnsName, Arc<StoredRecord>>,
    /// Serialises writers, and cache fills against writers, so a reader never caches a record
    /// older than one just written.
    lock: Mutex<()>,
    counter: AtomicU64,
}

impl RecordStore {
    fn open(data_dir: &Path) -> Result<RecordStore> {
        let dir = data_dir.join(RECORDS_DIR);
        fs::create_dir_all(&dir).map_err(|e| io_error("create", &dir, e))?;
        for entry in fs::read_dir(&dir).map_err(|e| io_error("list", &dir, e))? {
            let entry = entry.map_err(|e| io_error("list", &dir, e))?;
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(RecordStore {
            dir,
            cache: quick_cache::sync::Cache::new(RECORD_CACHE_ENTRIES),
            lock: Mutex::new(()),
            counter: AtomicU64::new(0),
        })
    }

    fn guard(&self) -> MutexGuard<'_, ()> {
        self.lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn path(&self, name: &IpnsName) -> PathBuf {
        self.dir.join(name.to_base36())
    }

    /// The stored record of `name` (possibly expired), if any.
    fn load(&self, name: &IpnsName) -> Result<Option<Arc<StoredRecord>>> {
        if let Some(hit) = self.cache.get(name) {
            return Ok(Some(hit));
        }
        let _guard = self.guard();
        self.load_locked(name)
    }

    fn load_locked(&self, name: &IpnsName) -> Result<Option<Arc<StoredRecord>>> {
        if let Some(hit) = self.cache.get(name) {
            return Ok(Some(hit));
        }
        let path = self.path(name);
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("open", &path, e)),
        };
        let mut raw = Vec::with_capacity(1024);
        file.take(ipns::MAX_RECORD_SIZE as u64 + 1)
            .read_to_end(&mut raw)
            .map_err(|e| io_error("read", &path, e))?;
        // Everything stored was verified first; a file that no longer verifies was damaged
        // or planted, and counts as absent. Verification "as of the epoch" checks all but
        // the EOL, which callers compare with the time of their request.
        let verified = Record::from_bytes(Bytes::from(raw)).and_then(|record| {
            record.validate(name, SystemTime::UNIX_EPOCH)?;
            StoredRecord::new(record)
        });
        match verified {
            Ok(stored) => {
                let stored = Arc::new(stored);
                self.cache.insert(*name, Arc::clone(&stored));
                Ok(Some(stored))
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring an unusable stored IPNS record");
                Ok(None)
            }
        }
    }

    /// Stores a verified record unless the stored one is valid at `now` and as fresh or fresher.
    fn store(
        &self,
        name: &IpnsName,
        record: Record,
        now: SystemTime,
    ) -> Result<(PutOutcome, Arc<StoredRecord>)> {
        let stored = Arc::new(StoredRecord::new(record).map_err(NameError::InvalidRecord)?);
        let _guard = self.guard();
        if let Some(current) = self.load_locked(name)? {
            if !current.is_expired(now)
                && stored.record.cmp_freshness(&current.record) != std::cmp::Ordering::Greater
            {
                return Ok((PutOutcome::Kept, current));
            }
        }
        self.write_file(&self.path(name), &stored.record.to_bytes())?;
        self.cache.insert(*name, Arc::clone(&stored));
        Ok((PutOutcome::Stored, stored))
    }

    /// Forgets the record of `name`.
    fn remove(&self, name: &IpnsName) -> Result<()> {
        let _guard = self.guard();
        self.cache.remove(name);
        let path = self.path(name);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error("remove", &path, e)),
        }
    }

    /// Writes `bytes` to `path` atomically: a crash leaves the old record or the new one.
    fn write_file(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let temp = self.dir.join(format!(
            "{TEMP_PREFIX}{}-{}",
            std::process::id(),
            self.counter.fetch_add(1, Ordering::Relaxed)
        ));
        let write = || -> io::Result<()> {
            let mut file = File::create(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&temp, path)
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(&temp);
            return Err(io_error("write", path, e));
        }
        sync_dir(&self.dir)
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("sync", dir, e))
}

// ---------------------------------------------------------------------------------------------
// DNSLink
// ---------------------------------------------------------------------------------------------

/// DNSLink lookups: static entries first, then DNS.
struct DnsLink {
    statics: HashMap<String, Arc<str>>,
    static_ttl: Duration,
    /// The resolver, or why there is none (reported on use, so a node without DNS still
    /// serves everything else).
    resolver: std::result::Result<TokioResolver, String>,
    timeout: Duration,
}

impl DnsLink {
    fn new(options: &NameOptions) -> DnsLink {
        let statics = options
            .static_dnslinks
            .iter()
            .map(|(domain, value)| (domain.clone(), Arc::from(value.as_str())))
            .collect();
        let resolver = build_resolver(options.dns_servers, options.dns_timeout);
        if let Err(why) = &resolver {
            tracing::warn!(%why, "DNSLink lookups through DNS are unavailable");
        }
        DnsLink {
            statics,
            static_ttl: options.ttl,
            resolver,
            timeout: options.dns_timeout,
        }
    }

    /// The DNSLink value of `domain` (already normalized) and how long it may be cached.
    async fn lookup(&self, domain: &str) -> Result<(Arc<str>, Duration)> {
        if let Some(value) = self.statics.get(domain) {
            return Ok((Arc::clone(value), self.static_ttl));
        }
        let resolver = self.resolver.as_ref().map_err(|why| {
            NameError::DnsFailure(format!("cannot look up the DNSLink of {domain}: {why}"))
        })?;
        // Fully qualified (trailing dot): no search-list expansion, one query.
        let query = format!("_dnslink.{domain}.");
        // hickory enforces the per-query timeout; this bounds the whole lookup as well.
        let outer = self.timeout + self.timeout / 2;
        let lookup = match tokio::time::timeout(outer, resolver.txt_lookup(query.as_str())).await {
            Err(_) => return Err(dns_timeout(domain, outer)),
            Ok(Err(e)) if e.is_nx_domain() || e.is_no_records_found() => {
                return Err(NameError::NoDnsLink(format!(
                    "{domain} has no DNSLink: no TXT record at _dnslink.{domain}"
                )))
            }
            Ok(Err(NetError::Timeout)) => return Err(dns_timeout(domain, self.timeout)),
            Ok(Err(e)) => {
                return Err(NameError::DnsFailure(format!(
                    "DNS lookup of _dnslink.{domain} failed: {e}"
                )))
            }
            Ok(Ok(lookup)) => lookup,
        };
        let ttl = lookup
            .valid_until()
            .saturating_duration_since(Instant::now());
        let texts = lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::TXT(txt) => Some(txt.txt_data.concat()),
                _ => None,
            });
        match pick_dnslink(texts) {
            Some(value) => Ok((Arc::from(value), ttl)),
            None => Err(NameError::NoDnsLink(format!(
                "{domain} has no DNSLink: no TXT record at _dnslink.{domain} is a valid \
                 dnslink=/ipfs/… or dnslink=/ipns/… entry"
            ))),
        }
    }
}

fn dns_timeout(domain: &str, after: Duration) -> NameError {
    NameError::DnsTimeout(format!(
        "DNS did not answer for _dnslink.{domain} within {} ms",
        after.as_millis()
    ))
}

fn build_resolver(
    servers: DnsServers,
    timeout: Duration,
) -> std::result::Result<TokioResolver, String> {
    let mut builder = match servers {
        DnsServers::System => TokioResolver::builder_tokio()
            .map_err(|e| format!("cannot read the system's DNS configuration: {e}"))?,
        DnsServers::One(addr) => {
            let mut server = NameServerConfig::udp_and_tcp(addr.ip());
            for connection in &mut server.connections {
                connection.port = addr.port();
            }
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![server]),
                TokioRuntimeProvider::default(),
            )
        }
    };
    let options = builder.options_mut();
    options.timeout = timeout;
    // One try per server: a name that does not resolve must fail fast, not after retries.
    options.attempts = 1;
    options.cache_size = DNS_CACHE_ENTRIES;
    options.use_hosts_file = ResolveHosts::Never;
    builder
        .build()
        .map_err(|e| format!("cannot set up the DNS resolver: {e}"))
}

/// The DNSLink value among TXT record texts (DNSLink spec): texts starting with `dnslink=`
/// whose value is `/ipfs/<id>…` or `/ipns/<id>…`; of several, the lexicographically first.
pub fn pick_dnslink(texts: impl IntoIterator<Item = Vec<u8>>) -> Option<String> {
    texts
        .into_iter()
        .filter_map(|bytes| {
            let text = String::from_utf8(bytes).ok()?;
            let value = text.trim().strip_prefix("dnslink=")?.trim();
            split_value(value).ok()?;
            Some(value.to_owned())
        })
        .min()
}

// ---------------------------------------------------------------------------------------------
// The name service
// ---------------------------------------------------------------------------------------------

/// What a name resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The immutable root the chain ended at.
    pub root: Cid,
    /// Segments below `root` that the values along the chain added (usually none).
    pub segments: Vec<String>,
    /// How long the answer may be cached: the smallest TTL along the chain.
    pub ttl: Duration,
}

/// What a publish produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub name: IpnsName,
    /// The new record's value.
    pub value: String,
    /// The root it points at (now pinned).
    pub root: Cid,
    pub sequence: u64,
}

impl Published {
    fn of(key: &Key, stored: &StoredRecord, root: Option<Cid>) -> Published {
        Published {
            name: key.ipns_name(),
            value: stored.value.to_string(),
            root: root.unwrap_or_else(empty_directory),
            sequence: stored.sequence(),
        }
    }
}

/// The local keys' names, as of the key directory's modification time `stamp`.
#[derive(Default)]
struct LocalKeys {
    stamp: Option<SystemTime>,
    names: HashMap<IpnsName, String>,
}

/// A name as a resolution step sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NameRef {
    Ipns(IpnsName),
    Domain(String),
}

/// IPNS for one data directory. Shared by every request behind an `Arc`.
pub struct NameService {
    store: Arc<Blockstore>,
    pins: Arc<Pinset>,
    keys: Keystore,
    /// Key name → IPNS name, for `/ipns/<key name>` reads; entries leave with their key.
    key_names: quick_cache::sync::Cache<String, IpnsName>,
    /// IPNS name → key name of every local key, so that a name with no record does not cost
    /// a walk of the key directory per request.
    local_keys: Mutex<LocalKeys>,
    records: RecordStore,
    dns: DnsLink,
    lifetime: Duration,
    ttl: Duration,
    /// Serialises publishing, so read-modify-write updates of a name do not interleave.
    publish_lock: Mutex<()>,
}

impl NameService {
    /// Opens the key store and the record store of `data_dir` and sets up DNS.
    pub fn open(
        data_dir: &Path,
        store: Arc<Blockstore>,
        pins: Arc<Pinset>,
        options: NameOptions,
    ) -> Result<NameService> {
        Ok(NameService {
            keys: Keystore::open(data_dir)?,
            key_names: quick_cache::sync::Cache::new(KEY_NAME_CACHE_ENTRIES),
            local_keys: Mutex::new(LocalKeys::default()),
            records: RecordStore::open(data_dir)?,
            dns: DnsLink::new(&options),
            store,
            pins,
            lifetime: options.lifetime,
            ttl: options.ttl,
            publish_lock: Mutex::new(()),
        })
    }

    /// The key store (the node's identity key included).
    pub fn keystore(&self) -> &Keystore {
        &self.keys
    }

    fn publishing(&self) -> MutexGuard<'_, ()> {
        self.publish_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    // ---- resolution ----

    /// Resolves `/ipns/<name>`: an IPNS name in any text form, a local key's name, or a
    /// DNSLink domain, down to an immutable root.
    pub async fn resolve(&self, name: &str) -> Result<Resolution> {
        let mut target = self.parse_name(name, true)?;
        // Segments the values passed so far added below the name still to resolve.
        let mut tail: Vec<String> = Vec::new();
        let mut ttl = Duration::MAX;
        for _ in 0..MAX_RESOLVE_DEPTH {
            let (value, step_ttl) = match &target {
                NameRef::Ipns(ipns_name) => {
                    let record = self.current_record(ipns_name)?;
                    let max_age = record.max_age(SystemTime::now());
                    (Arc::clone(&record.value), max_age)
                }
                NameRef::Domain(domain) => self.dns.lookup(domain).await?,
            };
            ttl = ttl.min(step_ttl);
            let (namespace, id, rest) = split_value(&value)?;
            let mut segments = Vec::new();
            push_segments(rest, &mut segments);
            segments.append(&mut tail);
            tail = segments;
            match namespace {
                Namespace::Ipfs => {
                    let root = crate::ipld::cid::parse(id).map_err(|e| {
                        NameError::NoRecord(format!(
                            "{name} resolves to {value:?}, whose CID is invalid: {e}"
                        ))
                    })?;
                    return Ok(Resolution {
                        root,
                        segments: tail,
                        ttl,
                    });
                }
                Namespace::Ipns => target = self.parse_name(id, false)?,
            }
        }
        Err(NameError::TooDeep(format!(
            "{name} did not resolve within {MAX_RESOLVE_DEPTH} steps (a cycle of /ipns/ names?)"
        )))
    }

    /// Classifies a name: an IPNS name in any text form, then (for names the client wrote,
    /// not values) a local key's name, then a domain.
    fn parse_name(&self, text: &str, allow_local: bool) -> Result<NameRef> {
        if let Ok(name) = IpnsName::parse(text) {
            return Ok(NameRef::Ipns(name));
        }
        if allow_local {
            if let Some(name) = self.key_names.get(text) {
                return Ok(NameRef::Ipns(name));
            }
            match self.keys.get(text) {
                Ok(Some(key)) => {
                    self.key_names.insert(text.to_owned(), key.ipns_name());
                    return Ok(NameRef::Ipns(key.ipns_name()));
                }
                Ok(None) | Err(KeystoreError::InvalidName(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if text.contains('.') {
            return normalize_domain(text).map(NameRef::Domain);
        }
        let what = if allow_local {
            "an IPNS name, a local key or a DNSLink domain"
        } else {
            "an IPNS name or a DNSLink domain"
        };
        let shown: String = text.chars().take(128).collect();
        if allow_local {
            Err(NameError::UnknownKey(format!("{shown:?} is not {what}")))
        } else {
            Err(NameError::InvalidName(format!("{shown:?} is not {what}")))
        }
    }

    /// The record `name` resolves through now. A local key whose record is missing or expired
    /// gets a new one (pointing at the old value, or at the empty directory).
    fn current_record(&self, name: &IpnsName) -> Result<Arc<StoredRecord>> {
        let now = SystemTime::now();
        let stored = self.records.load(name)?;
        if let Some(record) = &stored {
            if !record.is_expired(now) {
                return Ok(Arc::clone(record));
            }
        }
        if let Some(key) = self.local_key_for(name)? {
            let _publishing = self.publishing();
            // Another request may have renewed it while this one waited.
            if let Some(record) = self.records.load(name)? {
                if !record.is_expired(SystemTime::now()) {
                    return Ok(record);
                }
            }
            let value = match &stored {
                Some(record) => record.value.to_string(),
                None => ContentPath::new(empty_directory()).to_string(),
            };
            return self.publish_locked(&key, &value).map(|(stored, _)| stored);
        }
        Err(match stored {
            Some(record) => NameError::NoRecord(format!(
                "the IPNS record of {name} expired at {}",
                ipns::format_rfc3339_nano(record.eol).unwrap_or_default()
            )),
            None => NameError::NoRecord(format!(
                "no valid IPNS record for {name} is known to this node"
            )),
        })
    }

    /// The local key whose name is `name`, if this node holds it. The key directory is read
    /// again only when it changed (its modification time), or after this process changed it.
    fn local_key_for(&self, name: &IpnsName) -> Result<Option<Key>> {
        let stamp = fs::metadata(self.keys.dir())
            .and_then(|m| m.modified())
            .ok();
        let key_name = {
            let mut cached = self
                .local_keys
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if stamp.is_none() || cached.stamp != stamp {
                cached.names = self
                    .keys
                    .list()?
                    .into_iter()
                    .map(|key| (key.ipns_name(), key.name().to_owned()))
                    .collect();
                cached.stamp = stamp;
            }
            cached.names.get(name).cloned()
        };
        match key_name {
            Some(key_name) => Ok(self.keys.get(&key_name)?),
            None => Ok(None),
        }
    }

    /// Makes the next [`NameService::local_key_for`] read the key directory.
    fn forget_local_keys(&self) {
        self.local_keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .stamp = None;
    }

    // ---- records (Delegated Routing V1) ----

    /// The record to hand out for `name` (what `GET /routing/v1/ipns/<name>` answers).
    pub fn record(&self, name: &IpnsName) -> Result<Arc<StoredRecord>> {
        self.current_record(name)
    }

    /// Verifies a record for `name` and stores it if it is fresher than the stored one.
    /// Refused records are not stored.
    pub fn put_record(&self, name: &IpnsName, raw: Bytes) -> Result<PutOutcome> {
        let now = SystemTime::now();
        let record = Record::from_bytes(raw).map_err(NameError::InvalidRecord)?;
        record
            .validate(name, now)
            .map_err(NameError::InvalidRecord)?;
        let (outcome, _) = self.records.store(name, record, now)?;
        Ok(outcome)
    }

    // ---- the key API ----

    /// The local key called `key_name`.
    pub fn key(&self, key_name: &str) -> Result<Key> {
        self.keys
            .get(key_name)?
            .ok_or_else(|| NameError::UnknownKey(format!("no local key named {key_name:?}")))
    }

    /// Returns the key `key_name`, creating it if there is none; a new key is published at
    /// once, pointing at the empty directory. An existing key is returned unchanged.
    pub fn create_key(&self, key_name: &str) -> Result<Key> {
        if let Some(key) = self.keys.get(key_name)? {
            return Ok(key);
        }
        let key = self.keys.generate(key_name)?;
        self.forget_local_keys();
        let _publishing = self.publishing();
        if self.records.load(&key.ipns_name())?.is_none() {
            let value = ContentPath::new(empty_directory()).to_string();
            self.publish_locked(&key, &value)?;
        }
        Ok(key)
    }

    /// Deletes the key `key_name` and its record, and releases the pin of what it pointed at.
    pub fn delete_key(&self, key_name: &str) -> Result<()> {
        let key = self.key(key_name)?;
        let name = key.ipns_name();
        let _publishing = self.publishing();
        let previous = self.records.load(&name)?;
        self.keys.remove(key_name)?;
        self.key_names.remove(key_name);
        self.forget_local_keys();
        self.records.remove(&name)?;
        if let Some(root) = previous.as_ref().and_then(|p| ipfs_root(&p.value)) {
            self.release_pin(&root)?;
        }
        Ok(())
    }

    // ---- publishing ----

    /// Publishes to a local key (`key_ref`: the key's name, or its IPNS name in any form).
    /// With no `at` segments the name points at `target`; otherwise `target` is set at that
    /// path inside the name's current tree (missing directories created, an existing entry
    /// replaced) and the name points at the new tree.
    pub fn publish<S: AsRef<str>>(
        &self,
        key_ref: &str,
        target: &ContentPath,
        at: &[S],
    ) -> Result<Published> {
        if !at.is_empty() {
            let at: Vec<&str> = at.iter().map(AsRef::as_ref).collect();
            return self.update_tree(key_ref, |store, current| {
                let segments: Vec<&str> = target.segments.iter().map(String::as_str).collect();
                let resolved = super::in_place(resolve::resolve(
                    &super::InPlace(store),
                    target.root,
                    &segments,
                ))?;
                let entry = edit::entry_for(store, &resolved.cid)?;
                Ok(edit::put_at(store, &current, &at, &entry, &ImportParams::cid_v1())?.cid)
            });
        }
        let key = self.local_key(key_ref)?;
        let _publishing = self.publishing();
        let (stored, root) = self.publish_locked(&key, &target.to_string())?;
        Ok(Published::of(&key, &stored, root))
    }

    /// Rewrites the tree a local key's name points at and publishes the result: `edit` gets
    /// the current directory (the empty directory for a name without a record) and returns
    /// the new root, having written its blocks to the store. Runs under the publish lock and
    /// the store's write lease, so concurrent updates of a name do not lose each other's
    /// changes and GC cannot take the new blocks before the new root is pinned. (`PUT` and
    /// `DELETE /ipns/<key>/<path>` are this with an upload or `edit::remove_at`.)
    pub fn update_tree(
        &self,
        key_ref: &str,
        edit: impl FnOnce(&Blockstore, Cid) -> super::Result<Cid>,
    ) -> Result<Published> {
        let key = self.local_key(key_ref)?;
        let _publishing = self.publishing();
        let _lease = self.store.write_lease().map_err(super::Error::from)?;
        let current = self.current_tree(&key)?;
        let root = edit(&self.store, current)?;
        self.store.sync().map_err(super::Error::from)?;
        let (stored, root) = self.publish_locked(&key, &ContentPath::new(root).to_string())?;
        Ok(Published::of(&key, &stored, root))
    }

    /// Resolves a publish target: a local key name first, then an IPNS name of a local key.
    fn local_key(&self, key_ref: &str) -> Result<Key> {
        match self.keys.get(key_ref) {
            Ok(Some(key)) => return Ok(key),
            Ok(None) | Err(KeystoreError::InvalidName(_)) => {}
            Err(e) => return Err(e.into()),
        }
        if let Ok(name) = IpnsName::parse(key_ref) {
            return self.local_key_for(&name)?.ok_or_else(|| {
                NameError::NotLocal(format!(
                    "cannot publish to {name}: this node does not hold its key"
                ))
            });
        }
        Err(NameError::UnknownKey(format!(
            "no local key named {:?}",
            key_ref.chars().take(128).collect::<String>()
        )))
    }

    /// Signs and stores the next record of `key` pointing at `value`, pins the new root and
    /// releases the previous one. The caller holds the publish lock.
    fn publish_locked(&self, key: &Key, value: &str) -> Result<(Arc<StoredRecord>, Option<Cid>)> {
        let name = key.ipns_name();
        let previous = self.records.load(&name)?;
        let sequence = previous
            .as_ref()
            .map_or(0, |p| p.record.sequence().saturating_add(1));
        let now = SystemTime::now();
        let eol = now.checked_add(self.lifetime).ok_or_else(|| {
            NameError::InvalidValue("the configured record lifetime is too long".into())
        })?;
        let record = Record::create(key.signing_key(), value, sequence, eol, self.ttl, true)
            .map_err(|e| match e.kind() {
                IpnsErrorKind::InvalidValue => NameError::InvalidValue(e.to_string()),
                _ => NameError::InvalidRecord(e),
            })?;
        let new_root = ipfs_root(value);
        if let Some(root) = &new_root {
            self.pin_for(&name, root)?;
        }
        let (outcome, stored) = self.records.store(&name, record, now)?;
        if outcome == PutOutcome::Kept {
            // Only a stored sequence at u64::MAX can block a newer one.
            return Err(NameError::InvalidValue(format!(
                "{name} already has a record with the highest sequence number"
            )));
        }
        if let Some(old_root) = previous.as_ref().and_then(|p| ipfs_root(&p.value)) {
            if Some(old_root) != new_root {
                self.release_pin(&old_root)?;
            }
        }
        Ok((stored, new_root))
    }

    /// Pins `root` for `name`, unless it is pinned already (then the pin stays as it is).
    fn pin_for(&self, name: &IpnsName, root: &Cid) -> Result<()> {
        if root.hash() == empty_directory().hash() {
            // Served without being stored; stored anyway so GC sees a complete pin.
            self.store
                .put(&empty_directory(), EMPTY_DIRECTORY)
                .map_err(super::Error::from)?;
        }
        if self.pins.get(root)?.is_none() {
            let mut pin = Pin::recursive(root);
            pin.name = format!("{PIN_NAME_PREFIX}{name}");
            self.pins.add(&pin)?;
        }
        Ok(())
    }

    /// Unpins `root` if the pin was made for a name and no local key points at it any more.
    fn release_pin(&self, root: &Cid) -> Result<()> {
        let Some(pin) = self.pins.get(root)? else {
            return Ok(());
        };
        if !pin.name.starts_with(PIN_NAME_PREFIX) {
            return Ok(());
        }
        for key in self.keys.list()? {
            if let Some(record) = self.records.load(&key.ipns_name())? {
                if ipfs_root(&record.value).as_ref() == Some(root) {
                    return Ok(());
                }
            }
        }
        self.pins.remove(root)?;
        Ok(())
    }

    /// The directory a key's name points at now (the empty directory when it has no record).
    fn current_tree(&self, key: &Key) -> Result<Cid> {
        let Some(record) = self.records.load(&key.ipns_name())? else {
            return Ok(empty_directory());
        };
        let path = parse_ipfs_value(&record.value).map_err(|_| {
            NameError::InvalidValue(format!(
                "{} points at {:?}, not at an /ipfs/ directory; publish a whole new value instead",
                key.ipns_name(),
                record.value()
            ))
        })?;
        let segments: Vec<&str> = path.segments.iter().map(String::as_str).collect();
        let resolved = super::in_place(resolve::resolve(
            &super::InPlace(&self.store),
            path.root,
            &segments,
        ))?;
        if !resolved.node.is_directory() {
            return Err(NameError::InvalidValue(format!(
                "{} points at a file ({}), so no path can be set inside it",
                key.ipns_name(),
                to_v1_string(&resolved.cid)
            )));
        }
        Ok(resolved.cid)
    }

    // ---- republishing ----

    /// Re-signs every local key's record that is past half its lifetime (or expired), keeping
    /// its value. Returns how many were renewed.
    pub fn republish_due(&self) -> Result<usize> {
        let mut renewed = 0;
        for key in self.keys.list()? {
            let name = key.ipns_name();
            let Some(record) = self.records.load(&name)? else {
                continue;
            };
            let remaining = record
                .eol
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            if remaining >= self.lifetime / 2 {
                continue;
            }
            let _publishing = self.publishing();
            // Re-read under the lock: a publish may have happened meanwhile.
            let Some(record) = self.records.load(&name)? else {
                continue;
            };
            let value = record.value.to_string();
            self.publish_locked(&key, &value)?;
            renewed += 1;
        }
        Ok(renewed)
    }

    /// How often the republisher looks: an eighth of the lifetime, within [1 s, 1 h].
    pub fn republish_interval(&self) -> Duration {
        (self.lifetime / 8).clamp(MIN_REPUBLISH_CHECK, MAX_REPUBLISH_CHECK)
    }

    /// Starts the background republisher on the current Tokio runtime.
    pub fn spawn_republisher(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let service = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(service.republish_interval());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let round = Arc::clone(&service);
                match tokio::task::spawn_blocking(move || round.republish_due()).await {
                    Ok(Ok(0)) => {}
                    Ok(Ok(renewed)) => tracing::info!(renewed, "IPNS records republished"),
                    Ok(Err(e)) => tracing::warn!(error = %e, "IPNS republishing failed"),
                    Err(e) => tracing::warn!(error = %e, "IPNS republisher task failed"),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipld::cid::codec;
    use crate::test_support::block_on;
    use ed25519_dalek::SigningKey;
    use multihash_codetable::{Code, MultihashDigest};

    const EMPTY_DIR: &str = "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354";
    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/gateway-conformance"
    );

    struct Harness {
        _dir: tempfile::TempDir,
        data: PathBuf,
        store: Arc<Blockstore>,
        pins: Arc<Pinset>,
        names: NameService,
    }

    fn options(lifetime: Duration) -> NameOptions {
        NameOptions {
            lifetime,
            // Never the system resolver in tests: a port nothing answers on.
            dns_servers: DnsServers::One(SocketAddr::from(([127, 0, 0, 1], 9))),
            dns_timeout: Duration::from_millis(200),
            ..NameOptions::default()
        }
    }

    fn harness_with(options: NameOptions) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_path_buf();
        let store = Arc::new(Blockstore::open(&data, Default::default()).unwrap());
        let pins = Arc::new(Pinset::open(&data).unwrap());
        let names =
            NameService::open(&data, Arc::clone(&store), Arc::clone(&pins), options).unwrap();
        Harness {
            _dir: dir,
            data,
            store,
            pins,
            names,
        }
    }

    fn harness() -> Harness {
        harness_with(options(ipns::DEFAULT_LIFETIME))
    }

    /// Stores `bytes` as a raw block.
    fn raw_block(store: &Blockstore, bytes: &[u8]) -> Cid {
        let cid = Cid::new_v1(codec::RAW, Code::Sha2_256.digest(bytes));
        store.put(&cid, bytes).unwrap();
        cid
    }

    fn foreign_key(seed: u8) -> (SigningKey, IpnsName) {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let name = IpnsName::from_ed25519(&key.verifying_key());
        (key, name)
    }

    fn record(key: &SigningKey, value: &str, sequence: u64, eol: SystemTime) -> Record {
        Record::create(key, value, sequence, eol, Duration::from_secs(60), false).unwrap()
    }

    fn in_an_hour() -> SystemTime {
        SystemTime::now() + Duration::from_secs(3600)
    }

    fn stored_value(h: &Harness, name: &IpnsName) -> Option<(String, u64)> {
        h.names
            .records
            .load(name)
            .unwrap()
            .map(|r| (r.value().to_owned(), r.sequence()))
    }

    #[test]
    fn the_empty_directory_is_there_without_being_stored() {
        let h = harness();
        assert_eq!(empty_directory().to_string(), EMPTY_DIR);
        let v0 = Cid::try_from("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap();
        assert!(!h.store.has(&v0).unwrap());
        let resolved = block_on(resolve::resolve(&*h.store, v0, &[])).unwrap();
        assert!(resolved.node.is_directory());
    }

    #[test]
    fn values_split_and_paths_clean() {
        assert_eq!(
            split_value("/ipfs/bafy/a/b").unwrap(),
            (Namespace::Ipfs, "bafy", "a/b")
        );
        assert_eq!(
            split_value("/ipns/example.com").unwrap(),
            (Namespace::Ipns, "example.com", "")
        );
        assert_eq!(split_value("/ipld/x").unwrap().0, Namespace::Ipfs);
        for bad in ["", "/", "ipfs/x", "/ipfs/", "/ipfs", "/foo/x", "/ipns//a"] {
            assert!(split_value(bad).is_err(), "{bad:?}");
        }
        let mut segments = vec!["keep".to_owned()];
        push_segments("a//./b/../c/", &mut segments);
        assert_eq!(segments, ["keep", "a", "c"]);
        // `..` never climbs above what was there before.
        push_segments("x/../../..", &mut segments);
        assert_eq!(segments, ["keep", "a", "c"]);

        let v0 = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn";
        let path = parse_ipfs_value(&format!("/ipfs/{v0}/x/./y")).unwrap();
        assert_eq!(path.to_string(), format!("/ipfs/{EMPTY_DIR}/x/y"));
        assert!(parse_ipfs_value("/ipns/k51").is_err());
        assert!(parse_ipfs_value("/ipfs/notacid").is_err());
        assert_eq!(ipfs_root(&format!("/ipfs/{v0}")), Some(empty_directory()));
        assert_eq!(ipfs_root("/ipns/example.com"), None);
    }

    #[test]
    fn static_entries_parse_in_kubos_format() {
        let map = parse_ns_map(&format!(
            " a.example.org:/ipfs/{EMPTY_DIR} , B.Example.ORG.:/ipns/k51x/p,,"
        ))
        .unwrap();
        assert_eq!(
            map,
            [
                ("a.example.org".to_owned(), format!("/ipfs/{EMPTY_DIR}")),
                ("b.example.org".to_owned(), "/ipns/k51x/p".to_owned()),
            ]
        );
        assert!(parse_ns_map("").unwrap().is_empty());
        for bad in [
            "nocolon",
            "a.org:ipfs/x",
            "a.org:/ipfs/",
            "single:/ipfs/x",
            "a..org:/ipfs/x",
            "é.org:/ipfs/x",
        ] {
            assert!(parse_ns_map(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_static_dnslink("site.test=/ipns/other.test").unwrap(),
            ("site.test".to_owned(), "/ipns/other.test".to_owned())
        );
        assert!(parse_static_dnslink("site.test:/ipfs/x").is_err());
        assert!(normalize_domain(&format!("{}.org", "a".repeat(64))).is_err());
        assert!(normalize_domain(&"a.".repeat(130)).is_err());
        assert_eq!(normalize_domain("_x-y.Z9.").unwrap(), "_x-y.z9");
    }

    #[test]
    fn durations_and_servers_parse() {
        let cases = [
            ("48h", 48 * 3600),
            ("1h30m", 5400),
            ("90s", 90),
            ("10", 10),
            ("2m5s", 125),
        ];
        for (text, seconds) in cases {
            assert_eq!(
                parse_duration(text).unwrap(),
                Duration::from_secs(seconds),
                "{text}"
            );
        }
        assert_eq!(
            parse_duration("1500ms").unwrap(),
            Duration::from_millis(1500)
        );
        for bad in ["", "h", "5x", "1.5h", "-1s", "s5", "99999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_dns_server("127.0.0.1:5353").unwrap(),
            SocketAddr::from(([127, 0, 0, 1], 5353))
        );
        assert_eq!(parse_dns_server("::1").unwrap().port(), 53);
        assert_eq!(parse_dns_server("[::1]:54").unwrap().port(), 54);
        assert!(parse_dns_server("dns.example:53").is_err());
    }

    #[test]
    fn dnslink_entries_are_chosen_as_the_spec_says() {
        let texts = |list: &[&[u8]]| list.iter().map(|t| t.to_vec()).collect::<Vec<_>>();
        assert_eq!(
            pick_dnslink(texts(&[
                b"v=spf1 -all",
                b"dnslink=/ipfs/zzz",
                b"dnslink=/ipfs/aaa/x",
                b"dnslink=not-a-path",
                b"dnslink=/ipns/",
                b"\xff\xfednslink=/ipfs/000",
            ])),
            Some("/ipfs/aaa/x".to_owned())
        );
        assert_eq!(
            pick_dnslink(texts(&[b"  dnslink=/ipns/example.org  "])),
            Some("/ipns/example.org".to_owned())
        );
        assert_eq!(pick_dnslink(texts(&[b"dnslink", b"DNSLINK=/ipfs/x"])), None);
        assert_eq!(pick_dnslink(Vec::new()), None);
    }

    #[test]
    fn a_new_key_points_at_the_empty_directory_and_an_existing_one_is_left_alone() {
        let h = harness();
        let key = h.names.create_key("site").unwrap();
        let name = key.ipns_name();
        assert_eq!(
            stored_value(&h, &name),
            Some((format!("/ipfs/{EMPTY_DIR}"), 0))
        );
        let pin = h.pins.get(&empty_directory()).unwrap().unwrap();
        assert!(pin.name.starts_with(PIN_NAME_PREFIX));
        // Stored for GC's sake, though it would be served without.
        assert!(h.store.has(&empty_directory()).unwrap());
        let again = h.names.create_key("site").unwrap();
        assert_eq!(again.ipns_name(), name);
        assert_eq!(stored_value(&h, &name).unwrap().1, 0, "left unchanged");
        assert_eq!(h.names.key("site").unwrap().ipns_name(), name);
        assert!(matches!(h.names.key("nope"), Err(NameError::UnknownKey(_))));
        assert!(matches!(
            h.names.create_key("a/b"),
            Err(NameError::Keystore(KeystoreError::InvalidName(_)))
        ));
    }

    #[test]
    fn publishing_grows_the_sequence_and_moves_the_pin() {
        let h = harness();
        let key = h.names.create_key("site").unwrap();
        let name = key.ipns_name();
        let a = raw_block(&h.store, b"a");
        let b = raw_block(&h.store, b"b");
        let before = SystemTime::now();
        let published = h
            .names
            .publish("site", &ContentPath::new(a), &[] as &[&str])
            .unwrap();
        assert_eq!(published.sequence, 1);
        assert_eq!(published.root, a);
        assert_eq!(published.value, format!("/ipfs/{a}"));
        assert!(h.pins.get(&a).unwrap().is_some());
        assert!(
            h.pins.get(&empty_directory()).unwrap().is_none(),
            "released"
        );

        // By IPNS name, too, in any form.
        let published = h
            .names
            .publish(&name.to_peer_id(), &ContentPath::new(b), &[] as &[&str])
            .unwrap();
        assert_eq!(published.sequence, 2);
        assert!(h.pins.get(&a).unwrap().is_none());
        assert!(h.pins.get(&b).unwrap().is_some());

        let record = h.names.record(&name).unwrap();
        let signed = Record::from_bytes(record.bytes()).unwrap();
        signed.validate(&name, SystemTime::now()).unwrap();
        assert!(signed.has_v1_fields(), "V1 fields for older Kubo");
        assert_eq!(signed.ttl(), ipns::DEFAULT_TTL);
        let lifetime = record.eol().duration_since(before).unwrap();
        assert!(
            lifetime >= ipns::DEFAULT_LIFETIME
                && lifetime < ipns::DEFAULT_LIFETIME + Duration::from_secs(60),
            "{lifetime:?}"
        );
    }

    #[test]
    fn publishing_needs_a_local_key() {
        let h = harness();
        let a = raw_block(&h.store, b"a");
        let target = ContentPath::new(a);
        let (_, foreign) = foreign_key(7);
        assert!(matches!(
            h.names
                .publish(&foreign.to_base36(), &target, &[] as &[&str]),
            Err(NameError::NotLocal(_))
        ));
        assert!(matches!(
            h.names.publish("missing", &target, &[] as &[&str]),
            Err(NameError::UnknownKey(_))
        ));
    }

    #[test]
    fn shared_roots_and_user_pins_are_not_released() {
        let h = harness();
        h.names.create_key("one").unwrap();
        h.names.create_key("two").unwrap();
        let shared = raw_block(&h.store, b"shared");
        let other = raw_block(&h.store, b"other");
        let mine = raw_block(&h.store, b"pinned by the user");
        h.pins.add(&Pin::recursive(&mine)).unwrap();
        for key in ["one", "two"] {
            h.names
                .publish(key, &ContentPath::new(shared), &[] as &[&str])
                .unwrap();
        }
        h.names
            .publish("one", &ContentPath::new(other), &[] as &[&str])
            .unwrap();
        assert!(
            h.pins.get(&shared).unwrap().is_some(),
            "two still points there"
        );
        h.names
            .publish("two", &ContentPath::new(mine), &[] as &[&str])
            .unwrap();
        assert!(
            h.pins.get(&shared).unwrap().is_none(),
            "nobody points there now"
        );
        h.names
            .publish("two", &ContentPath::new(other), &[] as &[&str])
            .unwrap();
        let kept = h.pins.get(&mine).unwrap().unwrap();
        assert_eq!(kept.name, "", "the user's pin is untouched");
    }

    #[tokio::test]
    async fn deleting_a_key_drops_its_record_and_pin() {
        let h = harness();
        let name = h.names.create_key("gone").unwrap().ipns_name();
        let a = raw_block(&h.store, b"a");
        h.names
            .publish("gone", &ContentPath::new(a), &[] as &[&str])
            .unwrap();
        assert_eq!(h.names.resolve("gone").await.unwrap().root, a);
        h.names.delete_key("gone").unwrap();
        assert!(matches!(
            h.names.resolve("gone").await,
            Err(NameError::UnknownKey(_))
        ));
        assert!(matches!(
            h.names.resolve(&name.to_base36()).await,
            Err(NameError::NoRecord(_))
        ));
        assert!(h.names.keystore().get("gone").unwrap().is_none());
        assert!(h.pins.get(&a).unwrap().is_none());
        assert!(stored_value(&h, &name).is_none());
        assert!(!h.data.join("ipns").join(name.to_base36()).exists());
        assert!(matches!(
            h.names.delete_key("gone"),
            Err(NameError::UnknownKey(_))
        ));
        assert!(matches!(
            h.names.delete_key("self"),
            Err(NameError::Keystore(KeystoreError::Reserved))
        ));
    }

    #[tokio::test]
    async fn resolution_follows_keys_records_and_domains() {
        let (other_key, other_name) = foreign_key(3);
        let h = harness_with(NameOptions {
            static_dnslinks: vec![
                (
                    "site.example.org".into(),
                    format!("/ipns/{}/y", other_name.to_peer_id()),
                ),
                (
                    "loop-a.example.org".into(),
                    "/ipns/loop-b.example.org".into(),
                ),
                (
                    "loop-b.example.org".into(),
                    "/ipns/loop-a.example.org".into(),
                ),
            ],
            ..options(ipns::DEFAULT_LIFETIME)
        });
        let key = h.names.create_key("site").unwrap();
        let a = raw_block(&h.store, b"a");
        let mut target = ContentPath::new(a);
        target.segments.push("sub".into());
        h.names.publish("site", &target, &[] as &[&str]).unwrap();
        let value = format!("/ipns/{}/x", key.ipns_name());
        h.names
            .put_record(
                &other_name,
                record(&other_key, &value, 1, in_an_hour()).to_bytes(),
            )
            .unwrap();

        let by_key_name = h.names.resolve("site").await.unwrap();
        assert_eq!(
            (by_key_name.root, by_key_name.segments.clone()),
            (a, vec!["sub".to_owned()])
        );
        assert_eq!(by_key_name.ttl, ipns::DEFAULT_TTL);
        assert_eq!(
            h.names.resolve(&key.ipns_name().to_base36()).await.unwrap(),
            by_key_name
        );
        let chained = h.names.resolve("SITE.example.org.").await.unwrap();
        assert_eq!(chained.root, a);
        assert_eq!(chained.segments, ["sub", "x", "y"]);
        assert_eq!(chained.ttl, Duration::from_secs(60), "the smallest TTL");

        assert!(matches!(
            h.names.resolve("loop-a.example.org").await,
            Err(NameError::TooDeep(_))
        ));
        assert!(matches!(
            h.names.resolve("nokey").await,
            Err(NameError::UnknownKey(_))
        ));
        assert!(matches!(
            h.names.resolve("bad..example").await,
            Err(NameError::InvalidName(_))
        ));
        let (_, unknown) = foreign_key(4);
        assert!(matches!(
            h.names.resolve(&unknown.to_base36()).await,
            Err(NameError::NoRecord(_))
        ));
    }

    #[tokio::test]
    async fn a_self_referencing_record_is_a_bounded_loop() {
        let h = harness();
        let (key, name) = foreign_key(5);
        let value = format!("/ipns/{name}");
        h.names
            .put_record(&name, record(&key, &value, 0, in_an_hour()).to_bytes())
            .unwrap();
        assert!(matches!(
            h.names.resolve(&name.to_base36()).await,
            Err(NameError::TooDeep(_))
        ));
    }

    #[tokio::test]
    async fn dns_failures_are_reported_quickly() {
        // Port 9 on loopback: nothing answers, so the lookup must time out, fast.
        let h = harness();
        let started = Instant::now();
        let outcome = h.names.resolve("nothing-here.example.org").await;
        assert!(
            matches!(
                outcome,
                Err(NameError::DnsTimeout(_) | NameError::DnsFailure(_))
            ),
            "{outcome:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test]
    async fn expired_records_fail_unless_the_key_is_local() {
        let h = harness();
        let (key, name) = foreign_key(6);
        let past = SystemTime::now() - Duration::from_secs(10);
        let expired = record(&key, &format!("/ipfs/{EMPTY_DIR}"), 9, past);
        // Refused when offered…
        assert!(matches!(
            h.names.put_record(&name, expired.to_bytes()),
            Err(NameError::InvalidRecord(_))
        ));
        // …and useless when it expired in store.
        h.names
            .records
            .store(&name, expired, SystemTime::UNIX_EPOCH)
            .unwrap();
        let outcome = h.names.resolve(&name.to_base36()).await;
        assert!(
            matches!(&outcome, Err(NameError::NoRecord(m)) if m.contains("expired")),
            "{outcome:?}"
        );

        // A local key's expired record is renewed on the spot, same value, next sequence.
        let local = h.names.create_key("mine").unwrap();
        let a = raw_block(&h.store, b"a");
        let value = format!("/ipfs/{a}");
        let stale = Record::create(
            local.signing_key(),
            &value,
            4,
            past,
            ipns::DEFAULT_TTL,
            true,
        )
        .unwrap();
        h.names
            .records
            .store(&local.ipns_name(), stale, SystemTime::UNIX_EPOCH)
            .unwrap();
        let resolved = h.names.resolve("mine").await.unwrap();
        assert_eq!(resolved.root, a);
        assert_eq!(stored_value(&h, &local.ipns_name()), Some((value, 5)));
    }

    #[tokio::test]
    async fn a_local_key_without_a_record_gets_one() {
        let h = harness();
        // The identity key never had a record.
        let self_name = h.names.keystore().self_key().ipns_name();
        let resolved = h.names.resolve(&self_name.to_base36()).await.unwrap();
        assert_eq!(resolved.root, empty_directory());
        assert_eq!(stored_value(&h, &self_name).unwrap().1, 0);
    }

    #[tokio::test]
    async fn keys_another_process_adds_are_seen() {
        let h = harness();
        let (_, stranger) = foreign_key(11);
        // This lookup reads (and remembers) the key directory.
        assert!(matches!(
            h.names.resolve(&stranger.to_base36()).await,
            Err(NameError::NoRecord(_))
        ));
        // Past the file system's timestamp granularity.
        std::thread::sleep(Duration::from_millis(20));
        let outside = Keystore::open(&h.data)
            .unwrap()
            .generate("outside")
            .unwrap();
        let resolved = h
            .names
            .resolve(&outside.ipns_name().to_base36())
            .await
            .unwrap();
        assert_eq!(resolved.root, empty_directory());
    }

    #[test]
    fn stored_records_only_give_way_to_fresher_ones() {
        let h = harness();
        let (key, name) = foreign_key(8);
        let put = |sequence: u64, eol: SystemTime| {
            let value = format!("/ipfs/{EMPTY_DIR}/{sequence}");
            h.names
                .put_record(&name, record(&key, &value, sequence, eol).to_bytes())
        };
        assert_eq!(put(5, in_an_hour()).unwrap(), PutOutcome::Stored);
        assert_eq!(put(3, in_an_hour()).unwrap(), PutOutcome::Kept);
        assert_eq!(
            put(5, in_an_hour()).unwrap(),
            PutOutcome::Stored,
            "later EOL"
        );
        let later = in_an_hour() + Duration::from_secs(60);
        assert_eq!(put(6, later).unwrap(), PutOutcome::Stored);
        assert_eq!(stored_value(&h, &name).unwrap().1, 6);

        // A record for another name, or with a broken signature, is refused and not stored.
        let (other_key, _) = foreign_key(9);
        let foreign = record(&other_key, "/ipfs/bafkqaaa", 100, in_an_hour());
        assert!(matches!(
            h.names.put_record(&name, foreign.to_bytes()),
            Err(NameError::InvalidRecord(_))
        ));
        let mut forged = record(&key, "/ipfs/bafkqaaa", 100, in_an_hour())
            .to_bytes()
            .to_vec();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert!(h.names.put_record(&name, Bytes::from(forged)).is_err());
        assert!(h
            .names
            .put_record(&name, Bytes::from_static(b"\x00garbage"))
            .is_err());
        assert_eq!(stored_value(&h, &name).unwrap().1, 6);

        // Another process opening the same directory reads the same record.
        let reopened = NameService::open(
            &h.data,
            Arc::clone(&h.store),
            Arc::clone(&h.pins),
            options(ipns::DEFAULT_LIFETIME),
        )
        .unwrap();
        assert_eq!(reopened.record(&name).unwrap().sequence(), 6);
    }

    #[test]
    fn a_damaged_record_file_counts_as_absent() {
        let h = harness();
        let (key, name) = foreign_key(10);
        let good = record(&key, "/ipfs/bafkqaaa", 1, in_an_hour());
        let path = h.data.join("ipns").join(name.to_base36());
        let mut bytes = good.to_bytes().to_vec();
        bytes[10] ^= 0x55;
        fs::write(&path, &bytes).unwrap();
        assert!(matches!(h.names.record(&name), Err(NameError::NoRecord(_))));
        // A valid record replaces it.
        assert_eq!(
            h.names.put_record(&name, good.to_bytes()).unwrap(),
            PutOutcome::Stored
        );
        assert_eq!(fs::read(&path).unwrap(), good.to_bytes());
    }

    #[tokio::test]
    async fn conformance_records_are_accepted_or_refused() {
        let h = harness();
        // (file, expected value or None when the record must be refused)
        let cases: &[(&str, Option<&str>)] = &[
            ("ipns_records/k51qzi5uqu5dm4tm0wt8srkg9h9suud4wuiwjimndrkydqm81cqtlb5ak6p7ku_v1", None),
            ("ipns_records/k51qzi5uqu5dlmit2tuwdvnx4sbnyqgmvbxftl0eo3f33wwtb9gr7yozae9kpw_v1-v2-broken-v1-value", None),
            ("ipns_records/k51qzi5uqu5diamp7qnnvs1p1gzmku3eijkeijs3418j23j077zrkok63xdm8c_v1-v2-broken-signature-v2", None),
            ("ipns_records/k51qzi5uqu5dilgf7gorsh9vcqqq4myo6jd4zmqkuy9pxyxi5fua3uf7axph4y_v1-v2-broken-signature-v1", Some("/ipfs/bafkqahtwgevxmmrao5uxi2bamjzg623fnyqhg2lhnzqxi5lsmuqhmmi")),
            ("ipns_records/k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w_v1-v2", Some("/ipfs/bafkqaddwgevxmmraojswg33smq")),
            ("ipns_records/k51qzi5uqu5dit2ku9mutlfgwyz8u730on38kd10m97m36bjt66my99hb6103f_v2", Some("/ipfs/bafkqadtwgiww63tmpeqhezldn5zgi")),
            ("gateway-cache/k51qzi5uqu5dlxdsdu5fpuu7h69wu4ohp32iwm9pdt9nq3y5rpn3ln9j12zfhe", Some("/ipfs/bafybeib3ffl2teiqdncv3mkz4r23b5ctrwkzrrhctdbne6iboayxuxk5ui")),
            ("gateway-cache/k51qzi5uqu5djokp3m1keo36hoxtd6u3a1d2rg1camf6al7p3huy63dojlm57c", Some("/ipfs/bafybeib3ffl2teiqdncv3mkz4r23b5ctrwkzrrhctdbne6iboayxuxk5ui/root2")),
        ];
        for (file, expected) in cases {
            let path = Path::new(FIXTURES).join(format!("{file}.ipns-record"));
            let bytes = Bytes::from(fs::read(&path).unwrap());
            let label = path.file_name().unwrap().to_str().unwrap();
            let name = IpnsName::parse(label.split(['_', '.']).next().unwrap()).unwrap();
            let outcome = h.names.put_record(&name, bytes);
            match expected {
                None => {
                    assert!(
                        matches!(outcome, Err(NameError::InvalidRecord(_))),
                        "{file}: {outcome:?}"
                    );
                    assert!(matches!(
                        h.names.resolve(&name.to_base36()).await,
                        Err(NameError::NoRecord(_))
                    ));
                }
                Some(value) => {
                    assert_eq!(outcome.unwrap(), PutOutcome::Stored, "{file}");
                    assert_eq!(h.names.record(&name).unwrap().value(), *value);
                    let resolved = h.names.resolve(&name.to_base36()).await.unwrap();
                    let expected = parse_ipfs_value(value).unwrap();
                    assert_eq!(
                        (resolved.root, resolved.segments),
                        (expected.root, expected.segments)
                    );
                }
            }
        }
    }

    #[test]
    fn setting_a_path_builds_the_tree_around_it() {
        let h = harness();
        let name = h.names.create_key("site").unwrap().ipns_name();
        let hello = raw_block(&h.store, b"hello");
        let bye = raw_block(&h.store, b"bye");
        let first = h
            .names
            .publish("site", &ContentPath::new(hello), &["a", "b", "c.txt"])
            .unwrap();
        let at = |root: Cid, path: &[&str]| {
            block_on(resolve::resolve(&*h.store, root, path)).map(|r| r.cid)
        };
        assert_eq!(at(first.root, &["a", "b", "c.txt"]).unwrap(), hello);
        assert!(h.pins.get(&first.root).unwrap().is_some());
        // A sibling leaves the rest in place; the same path is replaced.
        let second = h
            .names
            .publish("site", &ContentPath::new(bye), &["a", "x"])
            .unwrap();
        assert_eq!(at(second.root, &["a", "b", "c.txt"]).unwrap(), hello);
        assert_eq!(at(second.root, &["a", "x"]).unwrap(), bye);
        let third = h
            .names
            .publish("site", &ContentPath::new(bye), &["a", "b", "c.txt"])
            .unwrap();
        assert_eq!(at(third.root, &["a", "b", "c.txt"]).unwrap(), bye);
        assert!(h.pins.get(&first.root).unwrap().is_none());
        assert_eq!(
            stored_value(&h, &name).unwrap().0,
            format!("/ipfs/{}", third.root)
        );

        // A file in the way, and a target that does not exist, are refused.
        assert!(matches!(
            h.names
                .publish("site", &ContentPath::new(bye), &["a", "x", "inside"]),
            Err(NameError::Content(super::super::Error::InvalidInput(_)))
        ));
        let absent = Cid::new_v1(codec::RAW, Code::Sha2_256.digest(b"absent"));
        assert!(matches!(
            h.names.publish("site", &ContentPath::new(absent), &["y"]),
            Err(NameError::Content(super::super::Error::BlockMissing(_)))
        ));
        // The name still points at the last good tree.
        assert_eq!(
            stored_value(&h, &name).unwrap().0,
            format!("/ipfs/{}", third.root)
        );

        // A name pointing at a file cannot hold paths.
        h.names
            .publish("site", &ContentPath::new(hello), &[] as &[&str])
            .unwrap();
        assert!(matches!(
            h.names.publish("site", &ContentPath::new(bye), &["z"]),
            Err(NameError::InvalidValue(_))
        ));
    }

    #[test]
    fn tree_updates_publish_their_result_or_nothing() {
        let h = harness();
        h.names.create_key("site").unwrap();
        let hello = raw_block(&h.store, b"hello");
        h.names
            .publish("site", &ContentPath::new(hello), &["a", "b.txt"])
            .unwrap();
        let remove = |path: &'static [&'static str]| {
            move |store: &Blockstore, root: Cid| {
                Ok(edit::remove_at(store, &root, path, &ImportParams::cid_v1())?.cid)
            }
        };
        let published = h
            .names
            .update_tree("site", remove(&["a", "b.txt"]))
            .unwrap();
        let a = block_on(resolve::resolve(&*h.store, published.root, &["a"])).unwrap();
        assert!(a.node.is_directory());
        assert!(block_on(resolve::resolve(&*h.store, published.root, &["a", "b.txt"])).is_err());
        let before = h.names.record(&published.name).unwrap().sequence();
        assert!(matches!(
            h.names.update_tree("site", remove(&["missing"])),
            Err(NameError::Content(super::super::Error::NotFound(_)))
        ));
        assert_eq!(h.names.record(&published.name).unwrap().sequence(), before);
    }

    #[test]
    fn the_republisher_renews_records_past_half_their_lifetime() {
        let lifetime = Duration::from_secs(20);
        let h = harness_with(options(lifetime));
        let key = h.names.create_key("site").unwrap();
        let name = key.ipns_name();
        assert_eq!(h.names.republish_due().unwrap(), 0, "fresh records stay");
        assert_eq!(h.names.republish_interval(), Duration::from_millis(2500));

        let a = raw_block(&h.store, b"a");
        let value = format!("/ipfs/{a}");
        let soon = SystemTime::now() + Duration::from_secs(5);
        let aging =
            Record::create(key.signing_key(), &value, 7, soon, ipns::DEFAULT_TTL, true).unwrap();
        h.names
            .records
            .store(&name, aging, SystemTime::UNIX_EPOCH)
            .unwrap();
        assert_eq!(h.names.republish_due().unwrap(), 1);
        let renewed = h.names.record(&name).unwrap();
        assert_eq!((renewed.value(), renewed.sequence()), (value.as_str(), 8));
        assert!(renewed.eol() > SystemTime::now() + Duration::from_secs(15));
        assert_eq!(h.names.republish_due().unwrap(), 0);
    }
}
