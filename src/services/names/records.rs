//! The record store: one verified IPNS record per name on disk, `<data>/ipns/<k51… name>`,
//! written atomically, with a bounded in-memory cache in front ([`StoredRecord`],
//! [`RecordStore`], [`PutOutcome`]).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::{io_error, NameError, Result};
use crate::ipld::ipns::{self, IpnsError, IpnsName, Record};

/// Records kept in memory; the rest are read from disk on demand.
const RECORD_CACHE_ENTRIES: usize = 4096;
/// Name of the records directory inside the data directory.
const RECORDS_DIR: &str = "ipns";
const TEMP_PREFIX: &str = ".tmp-";

/// A verified record as stored, with its fields read out once.
#[derive(Debug)]
pub struct StoredRecord {
    pub(super) record: Record,
    pub(super) value: Arc<str>,
    pub(super) eol: SystemTime,
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

    pub(super) fn is_expired(&self, now: SystemTime) -> bool {
        now > self.eol
    }
}

/// What [`NameService::put_record`](super::NameService::put_record) did with a valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The record is now the stored one.
    Stored,
    /// The stored record is as fresh or fresher; it was kept.
    Kept,
}

/// Records on disk with a bounded in-memory cache in front.
pub(super) struct RecordStore {
    dir: PathBuf,
    cache: quick_cache::sync::Cache<IpnsName, Arc<StoredRecord>>,
    /// Serialises writers, and cache fills against writers, so a reader never caches a record
    /// older than one just written.
    lock: Mutex<()>,
    counter: AtomicU64,
}

impl RecordStore {
    pub(super) fn open(data_dir: &Path) -> Result<RecordStore> {
        let dir = data_dir.join(RECORDS_DIR);
        crate::store::durable::create_dir_all(&dir).map_err(|e| io_error("create", &dir, e))?;
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
    pub(super) fn load(&self, name: &IpnsName) -> Result<Option<Arc<StoredRecord>>> {
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
    pub(super) fn store(
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
    pub(super) fn remove(&self, name: &IpnsName) -> Result<()> {
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
    crate::store::durable::sync_dir(dir).map_err(|e| io_error("sync", dir, e))
}
