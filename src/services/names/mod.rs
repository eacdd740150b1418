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
//!   through `services::edit`, and what PUT/DELETE need) are read-modify-write: the record is
//!   replaced only if the name still points where the edit started (else the edit runs again
//!   on the new value), so concurrent updates never lose each other's changes.
//! - Content that is not here: what a name is about to point at is fetched and kept in full
//!   through [`Pinning::keep`] before the record is written (the name's pin promises the whole
//!   DAG), and edits fetch the directories on their path ([`edit::fetching`]). Until then the
//!   name is unchanged; content that cannot be had fails the publish (504 on the gateway).
//! - The network ([`NameRouting`], submodule `network`): with a node or delegated routers,
//!   every record published here (by a publish, a renewal, or `PUT /routing/v1/ipns`) is put
//!   into the DHT and to the routers in the background, and every local key's record is put
//!   again every `republish_period` (Kubo's `Ipns.RepublishPeriod`, 4 h), so peers, which
//!   keep a record 48 h at most, keep finding it. A name that is not ours is looked up there
//!   when its stored record is missing, expired, or older than its TTL (the record's TTL is
//!   how long an answer may be cached): every record found is verified, the freshest
//!   (IPNS spec "Record Selection") replaces the stored one if it is fresher, and an expired
//!   or invalid record is never served.
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
//!
//! Submodules:
//! - `path`: [`ContentPath`] and the parsing of name values (`/ipfs/…`, `/ipns/…`).
//! - `config`: [`NameOptions`], [`DnsServers`] and the parsers of the name settings.
//! - `records`: the record store ([`StoredRecord`], [`PutOutcome`]).
//! - `dnslink`: DNSLink lookups and [`pick_dnslink`].
//! - `tests`: the unit tests.

mod config;
mod dnslink;
mod network;
mod path;
mod records;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use cid::Cid;

pub use config::{
    parse_dns_server, parse_duration, parse_ns_map, parse_static_dnslink, DnsServers, NameOptions,
    DEFAULT_DNS_TIMEOUT,
};
pub use dnslink::pick_dnslink;
pub use network::{FoundRecords, NameRouting, NetworkNames};
pub use path::ContentPath;
pub use records::{PutOutcome, StoredRecord};

use super::add::ImportParams;
use super::edit::{self, empty_directory, Tree};
use super::keystore::{Key, Keystore, KeystoreError};
use super::pinning::Pinning;
use super::pins::{Pin, Pinset};
use super::{resolve, EMPTY_DIRECTORY};
use crate::ipld::cid::to_v1_string;
use crate::ipld::ipns::{self, IpnsError, IpnsErrorKind, IpnsName, Record};
use crate::store::{Blockstore, SharedSource};
use config::normalize_domain;
use dnslink::DnsLink;
use path::{ipfs_root, parse_ipfs_value, push_segments, split_value, Namespace};
use records::RecordStore;

/// Most name-to-value steps one resolution follows (Kubo's `DefaultDepthLimit`).
pub const MAX_RESOLVE_DEPTH: usize = 32;
/// Local key names remembered with their IPNS names (reading a key file derives its public
/// key, which costs more than serving a small file).
const KEY_NAME_CACHE_ENTRIES: usize = 1024;
/// Pins made for a name carry this prefix in their name, so that only they are ever
/// released when the name moves on (a pin the user made stays).
const PIN_NAME_PREFIX: &str = "ipns:";
/// Shortest and longest pause between two republisher rounds.
const MIN_REPUBLISH_CHECK: Duration = Duration::from_secs(1);
const MAX_REPUBLISH_CHECK: Duration = Duration::from_secs(3600);
/// Times a tree edit starts over because the name moved meanwhile, before giving up.
const MAX_EDIT_ATTEMPTS: usize = 8;
/// Names whose last network lookup time is remembered (beyond them, a name is looked up
/// again on its next resolution).
const LOOKED_UP_ENTRIES: usize = 4096;
/// Locks that keep lookups of one name from running side by side (names share them by hash).
const LOOKUP_SLOTS: usize = 64;

/// The lookup lock of `name`.
fn lookup_slot(name: &IpnsName) -> usize {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(name) as usize % LOOKUP_SLOTS
}

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
    /// The name kept moving while a tree edit was under way.
    #[error("{0}")]
    Conflict(String),
    /// More than [`MAX_RESOLVE_DEPTH`] steps, or a cycle.
    #[error("{0}")]
    TooDeep(String),
    /// The key store failed or refused the key name.
    #[error("{0}")]
    Keystore(#[from] KeystoreError),
    /// Reading content or editing a tree (a missing path or block, a file in the way, …).
    #[error("{0}")]
    Content(#[from] super::Error),
    /// The record store's files (the I/O error kept: a full disk is the client's 507).
    #[error("IPNS record store: {what} {}: {source}", .path.display())]
    Io {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: io::Error,
    },
    /// A name operation's blocking task failed (it panicked, or the runtime is stopping).
    #[error("a name operation failed: {0}")]
    Worker(String),
}

type Result<T> = std::result::Result<T, NameError>;

fn io_error(what: &'static str, path: &Path, source: io::Error) -> NameError {
    NameError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
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

/// What a name's record must still say for a new one to replace it.
enum Expect {
    /// Publishing a whole new value: whatever it says.
    Anything,
    /// An edit of the tree it pointed at: that value (`None`: no record).
    Value(Option<Arc<str>>),
}

/// IPNS for one data directory. Shared by every request behind an `Arc`.
pub struct NameService {
    store: Arc<Blockstore>,
    pins: Arc<Pinset>,
    /// Fetches and keeps what names are about to point at (the store alone unless
    /// [`NameService::with_pinning`] hands in the node's).
    pinning: Arc<Pinning>,
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
    /// Where records go and come from beyond this node (None: this node only).
    routing: Option<Arc<dyn NameRouting>>,
    /// When each name that is not ours was last looked up on the network.
    looked_up: quick_cache::sync::Cache<IpnsName, Instant>,
    /// Network lookups in progress, by name (striped).
    lookups: Box<[tokio::sync::Mutex<()>]>,
    network_timeout: Duration,
    republish_period: Duration,
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
            pinning: Pinning::new(Arc::clone(&store), Arc::clone(&store) as SharedSource, None),
            store,
            pins,
            lifetime: options.lifetime,
            ttl: options.ttl,
            publish_lock: Mutex::new(()),
            routing: None,
            looked_up: quick_cache::sync::Cache::new(LOOKED_UP_ENTRIES),
            lookups: (0..LOOKUP_SLOTS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            network_timeout: options.network_timeout,
            republish_period: options.republish_period,
        })
    }

    /// Publishes records to, and resolves names that are not ours through, `routing`.
    pub fn with_routing(mut self, routing: Arc<dyn NameRouting>) -> NameService {
        self.routing = Some(routing);
        self
    }

    /// Fetches content names are about to point at through `pinning` (the node's block
    /// source and retrieval timeout) instead of finding it in the store only.
    pub fn with_pinning(mut self, pinning: Arc<Pinning>) -> NameService {
        self.pinning = pinning;
        self
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
                    let record = self.record(ipns_name).await?;
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

    // ---- records (Delegated Routing V1, the network) ----

    /// The record `name` resolves through now (also what `GET /routing/v1/ipns/<name>` and
    /// `?format=ipns-record` answer): a local key's own, or else the stored one while its TTL
    /// since the last lookup lasts, or else the freshest valid one the network has (stored).
    pub async fn record(&self, name: &IpnsName) -> Result<Arc<StoredRecord>> {
        let Some(routing) = &self.routing else {
            return self.current_record(name);
        };
        if self.local_key_for(name)?.is_some() {
            return self.current_record(name);
        }
        let fresh = || -> Result<(Option<Arc<StoredRecord>>, bool)> {
            let stored = self
                .records
                .load(name)?
                .filter(|r| !r.is_expired(SystemTime::now()));
            let fresh = stored.as_ref().is_some_and(|record| {
                self.looked_up
                    .get(name)
                    .is_some_and(|at| at.elapsed() < record.ttl())
            });
            Ok((stored, fresh))
        };
        if let (Some(record), true) = fresh()? {
            return Ok(record);
        }
        // One lookup per name at a time: requests that waited for one use its answer.
        let _lookup = self.lookups[lookup_slot(name)].lock().await;
        let (stored, is_fresh) = fresh()?;
        if let (Some(record), true) = (&stored, is_fresh) {
            return Ok(Arc::clone(record));
        }
        let found = routing.find(name, self.network_timeout).await;
        let now = SystemTime::now();
        let mut best: Option<Record> = None;
        let mut refused = Vec::new();
        for raw in found.records {
            let verified = Record::from_bytes(raw).and_then(|r| r.validate(name, now).map(|()| r));
            match verified {
                Ok(record) => {
                    let fresher = best
                        .as_ref()
                        .is_none_or(|b| record.cmp_freshness(b) == std::cmp::Ordering::Greater);
                    if fresher {
                        best = Some(record);
                    }
                }
                Err(e) => refused.push(e.to_string()),
            }
        }
        if !refused.is_empty() {
            tracing::info!(%name, refused = ?refused, "IPNS records from the network refused");
        }
        let current = match best {
            Some(best) => Some(self.records.store(name, best, now)?.1),
            None => stored,
        };
        match current {
            Some(current) => {
                self.looked_up.insert(*name, Instant::now());
                Ok(current)
            }
            None => {
                let mut message = format!(
                    "no valid IPNS record for {name} is known to this node or was found ({})",
                    found.asked.join("; ")
                );
                if !refused.is_empty() {
                    message.push_str(&format!(
                        "; {} record(s) refused: {}",
                        refused.len(),
                        refused.join("; ")
                    ));
                }
                Err(NameError::NoRecord(message))
            }
        }
    }

    /// Verifies a record for `name` and stores it if it is fresher than the stored one (then
    /// it is also put into the network). Refused records are not stored.
    pub fn put_record(&self, name: &IpnsName, raw: Bytes) -> Result<PutOutcome> {
        let now = SystemTime::now();
        let record = Record::from_bytes(raw).map_err(NameError::InvalidRecord)?;
        record
            .validate(name, now)
            .map_err(NameError::InvalidRecord)?;
        let (outcome, stored) = self.records.store(name, record, now)?;
        if outcome == PutOutcome::Stored {
            self.looked_up.insert(*name, Instant::now());
            self.announce(name, &stored);
        }
        Ok(outcome)
    }

    /// Puts `stored` (the record of `name`) into the network in the background.
    fn announce(&self, name: &IpnsName, stored: &StoredRecord) {
        let Some(routing) = self.routing.clone() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let keep = stored
            .eol
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            .min(crate::network::records::MAX_RECORD_AGE);
        let (name, bytes, sequence) = (*name, stored.bytes(), stored.sequence());
        runtime.spawn(async move {
            match routing.publish(&name, bytes, keep).await {
                Ok(places) => tracing::debug!(%name, sequence, "IPNS record put into {places}"),
                Err(why) => tracing::warn!(%name, sequence, "IPNS record not published: {why}"),
            }
        });
    }

    /// Puts every local key's current record into the network again (Kubo's republisher).
    pub fn announce_all(&self) -> Result<usize> {
        if self.routing.is_none() {
            return Ok(0);
        }
        let mut announced = 0;
        for key in self.keys.list()? {
            let name = key.ipns_name();
            if let Some(record) = self.records.load(&name)? {
                if !record.is_expired(SystemTime::now()) {
                    self.announce(&name, &record);
                    announced += 1;
                }
            }
        }
        Ok(announced)
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
    /// replaced) and the name points at the new tree. Either way the DAG the name then points
    /// at is fetched as needed and kept before the record is written.
    pub async fn publish<S: AsRef<str>>(
        self: &Arc<Self>,
        key_ref: &str,
        target: &ContentPath,
        at: &[S],
    ) -> Result<Published> {
        if !at.is_empty() {
            let at: Vec<String> = at.iter().map(|s| s.as_ref().to_owned()).collect();
            let target = target.clone();
            return self
                .update_tree(key_ref, move |tree, current| {
                    let segments: Vec<&str> = target.segments.iter().map(String::as_str).collect();
                    let resolved = super::in_place(resolve::resolve(tree, target.root, &segments))?;
                    let entry = edit::entry_for(tree, &resolved.cid)?;
                    let at: Vec<&str> = at.iter().map(String::as_str).collect();
                    Ok(edit::put_at(tree, &current, &at, &entry, &ImportParams::cid_v1())?.cid)
                })
                .await;
        }
        let key_ref = key_ref.to_owned();
        let key = self
            .blocking(move |names| names.local_key(&key_ref))
            .await?;
        let lease = self.blocking(|names| Ok(names.write_lease()?)).await?;
        self.pinning.keep(target.root, true).await?;
        let value = target.to_string();
        let published = self
            .blocking(move |names| names.commit(&key, Expect::Anything, &value))
            .await;
        drop(lease);
        published
    }

    /// Rewrites the tree a local key's name points at and publishes the result: `edit` gets
    /// the current directory (the empty directory for a name without a record) and returns
    /// the new root, having written its blocks to the store. Blocks the edit reads that are
    /// not here are fetched ([`edit::fetching`]), and the new tree is kept in full, before
    /// the record is written. If the name moved meanwhile, the edit runs again on its new
    /// value, so concurrent updates do not lose each other's changes. Under the store's write
    /// lease throughout, so GC cannot take the new blocks before the new root is pinned.
    /// (`PUT` and `DELETE /ipns/<key>/<path>` are this with an upload or `edit::remove_at`.)
    pub async fn update_tree<F>(self: &Arc<Self>, key_ref: &str, edit: F) -> Result<Published>
    where
        F: Fn(&Tree<'_>, Cid) -> super::Result<Cid> + Send + Sync + 'static,
    {
        let key_ref = key_ref.to_owned();
        let key = self
            .blocking(move |names| names.local_key(&key_ref))
            .await?;
        let edit = Arc::new(edit);
        for _ in 0..MAX_EDIT_ATTEMPTS {
            let lease = self.blocking(|names| Ok(names.write_lease()?)).await?;
            let (names, on, run) = (Arc::clone(self), key.clone(), Arc::clone(&edit));
            let (expected, root) = edit::fetching(
                &self.store,
                &**self.pinning.source(),
                self.pinning.block_timeout(),
                move |tree| {
                    let (value, current) = names.current_tree(&on, tree)?;
                    Ok::<_, NameError>((value, run(tree, current)?))
                },
            )
            .await?;
            self.blocking(|names| Ok(names.store.sync().map_err(super::Error::from)?))
                .await?;
            self.pinning.keep(root, true).await?;
            let (on, value) = (key.clone(), ContentPath::new(root).to_string());
            let outcome = self
                .blocking(move |names| names.commit(&on, Expect::Value(expected), &value))
                .await;
            drop(lease);
            match outcome {
                Err(NameError::Conflict(_)) => continue,
                outcome => return outcome,
            }
        }
        Err(NameError::Conflict(format!(
            "{} kept changing while it was being edited; try again",
            key.ipns_name()
        )))
    }

    /// Runs a name operation that touches files (the key store, the record store, the pinset)
    /// on the blocking pool.
    async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        operation: impl FnOnce(&NameService) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let names = Arc::clone(self);
        tokio::task::spawn_blocking(move || operation(&names))
            .await
            .map_err(|e| NameError::Worker(e.to_string()))?
    }

    fn write_lease(&self) -> std::result::Result<crate::store::GcLock, super::Error> {
        Ok(self.store.write_lease()?)
    }

    /// Writes the next record of `key` pointing at `value`, if the current one is still what
    /// `expected` says ([`NameError::Conflict`] if not).
    fn commit(&self, key: &Key, expected: Expect, value: &str) -> Result<Published> {
        let _publishing = self.publishing();
        if let Expect::Value(expected) = expected {
            let now = self
                .records
                .load(&key.ipns_name())?
                .map(|r| Arc::clone(&r.value));
            if now != expected {
                return Err(NameError::Conflict(format!(
                    "{} changed while it was being edited",
                    key.ipns_name()
                )));
            }
        }
        let (stored, root) = self.publish_locked(key, value)?;
        Ok(Published::of(key, &stored, root))
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
        self.announce(&name, &stored);
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

    /// The value a key's name points at now (`None`: no record) and the directory it names
    /// (the empty directory when there is no record), read through `tree`.
    fn current_tree(&self, key: &Key, tree: &Tree<'_>) -> Result<(Option<Arc<str>>, Cid)> {
        let Some(record) = self.records.load(&key.ipns_name())? else {
            return Ok((None, empty_directory()));
        };
        let path = parse_ipfs_value(&record.value).map_err(|_| {
            NameError::InvalidValue(format!(
                "{} points at {:?}, not at an /ipfs/ directory; publish a whole new value instead",
                key.ipns_name(),
                record.value()
            ))
        })?;
        let segments: Vec<&str> = path.segments.iter().map(String::as_str).collect();
        let resolved = super::in_place(resolve::resolve(tree, path.root, &segments))?;
        if !resolved.node.is_directory() {
            return Err(NameError::InvalidValue(format!(
                "{} points at a file ({}), so no path can be set inside it",
                key.ipns_name(),
                to_v1_string(&resolved.cid)
            )));
        }
        Ok((Some(Arc::clone(&record.value)), resolved.cid))
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

    /// How often the republisher looks: an eighth of the lifetime, within [1 s, 1 h], and at
    /// least as often as records are put into the network again.
    pub fn republish_interval(&self) -> Duration {
        (self.lifetime / 8)
            .clamp(MIN_REPUBLISH_CHECK, MAX_REPUBLISH_CHECK)
            .min(self.republish_period.max(MIN_REPUBLISH_CHECK))
    }

    /// Starts the background republisher on the current Tokio runtime: it renews records past
    /// half their lifetime, and puts every local key's record into the network every
    /// republish period.
    pub fn spawn_republisher(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let service = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(service.republish_interval());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first put happens at start (records may have lapsed while cairn was down).
            let mut last_announce: Option<Instant> = None;
            loop {
                tick.tick().await;
                let announce =
                    last_announce.is_none_or(|at| at.elapsed() >= service.republish_period);
                let round = Arc::clone(&service);
                let done = tokio::task::spawn_blocking(move || {
                    let renewed = round.republish_due()?;
                    let announced = if announce { round.announce_all()? } else { 0 };
                    Ok::<_, NameError>((renewed, announced))
                })
                .await;
                match done {
                    Ok(Ok((renewed, announced))) => {
                        if announce {
                            last_announce = Some(Instant::now());
                        }
                        if renewed > 0 {
                            tracing::info!(renewed, "IPNS records renewed");
                        }
                        if announced > 0 {
                            tracing::debug!(announced, "IPNS records put into the network again");
                        }
                    }
                    Ok(Err(e)) => tracing::warn!(error = %e, "IPNS republishing failed"),
                    Err(e) => tracing::warn!(error = %e, "IPNS republisher task failed"),
                }
            }
        })
    }
}
