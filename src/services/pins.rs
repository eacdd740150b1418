//! The durable pinset: which DAGs must be kept (recursive pins: the whole DAG; direct pins:
//! one block), with the options the IPFS Cluster API carries for each pin (name, replication
//! factors, metadata, expiry, allocations, …). One JSON file per pin under `pins/`, written
//! atomically (temporary file, fsync, rename, directory fsync), so a pin acknowledged is a pin
//! kept, and a second process (`cairn gc`) reads the same set. Expired pins count as absent.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use cid::Cid;
use serde::{Deserialize, Serialize};

use super::{Error, Result};
use crate::ipld::cid::{parse as parse_cid, to_v1};

/// How much of a DAG a pin keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PinMode {
    /// The root and everything it links to.
    #[default]
    Recursive,
    /// The root block only.
    Direct,
}

/// One pin with its options. Field names follow the IPFS Cluster `Pin` JSON where one exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    /// The root's CID as the client gave it: a CIDv0 stays `Qm…`, a CIDv1 is written in
    /// base32 (go-cid's `String`), as ipfs-cluster and Kubo keep it. Pins are keyed by the
    /// CIDv1 form, so `Qm…` and its `bafy…` name one pin, the text of the last write.
    pub cid: String,
    #[serde(default)]
    pub mode: PinMode,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub replication_factor_min: i32,
    #[serde(default)]
    pub replication_factor_max: i32,
    #[serde(default)]
    pub shard_size: u64,
    #[serde(default)]
    pub user_allocations: Vec<String>,
    /// Seconds since the Unix epoch after which the pin no longer holds (0 = never).
    #[serde(default)]
    pub expire_at: u64,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub pin_update: Option<String>,
    #[serde(default)]
    pub origins: Vec<String>,
    /// Seconds since the Unix epoch when the pin was made.
    #[serde(default)]
    pub timestamp: u64,
}

impl Pin {
    /// A recursive pin of `cid` with no options, made now.
    pub fn recursive(cid: &Cid) -> Pin {
        Pin {
            cid: cid.to_string(),
            mode: PinMode::Recursive,
            name: String::new(),
            replication_factor_min: -1,
            replication_factor_max: -1,
            shard_size: 0,
            user_allocations: Vec::new(),
            expire_at: 0,
            metadata: BTreeMap::new(),
            pin_update: None,
            origins: Vec::new(),
            timestamp: unix_now(),
        }
    }

    pub fn root(&self) -> Result<Cid> {
        Ok(parse_cid(&self.cid)?)
    }

    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expire_at != 0 && unix_seconds(now) >= self.expire_at
    }
}

pub fn unix_now() -> u64 {
    unix_seconds(SystemTime::now())
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The pinset in a data directory.
pub struct Pinset {
    dir: PathBuf,
    counter: AtomicU64,
}

impl Pinset {
    pub fn open(data_dir: &Path) -> Result<Pinset> {
        let dir = data_dir.join("pins");
        // Durably: an acknowledged pin's file is only as durable as the directory's name.
        crate::store::durable::create_dir_all(&dir).map_err(|e| io_error("create", &dir, e))?;
        Ok(Pinset {
            dir,
            counter: AtomicU64::new(0),
        })
    }

    /// Adds or replaces a pin, durably.
    pub fn add(&self, pin: &Pin) -> Result<()> {
        let cid = pin.root()?;
        let path = self.path(&cid);
        let tmp = self.dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            self.counter.fetch_add(1, Ordering::Relaxed)
        ));
        let json = serde_json::to_vec_pretty(pin)
            .map_err(|e| Error::InvalidInput(format!("pin does not serialise: {e}")))?;
        let write = || -> io::Result<()> {
            let mut file = File::create(&tmp)?;
            file.write_all(&json)?;
            file.sync_all()?;
            fs::rename(&tmp, &path)?;
            File::open(&self.dir)?.sync_all()
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io_error("write pin", &path, e)
        })
    }

    /// The pin of `cid`, unless absent or expired.
    pub fn get(&self, cid: &Cid) -> Result<Option<Pin>> {
        let path = self.path(cid);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("read pin", &path, e)),
        };
        let pin: Pin = serde_json::from_slice(&bytes).map_err(|e| {
            Error::InvalidInput(format!("pin file {} is corrupt: {e}", path.display()))
        })?;
        Ok((!pin.is_expired(SystemTime::now())).then_some(pin))
    }

    /// Removes the pin of `cid`, returning it if there was one.
    pub fn remove(&self, cid: &Cid) -> Result<Option<Pin>> {
        let existing = self.get(cid)?;
        let path = self.path(cid);
        match fs::remove_file(&path) {
            Ok(()) => {
                let _ = File::open(&self.dir).and_then(|d| d.sync_all());
                Ok(existing)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("remove pin", &path, e)),
        }
    }

    /// Every pin that holds now, sorted by CID. Expired pins are dropped from disk as they
    /// are found.
    pub fn list(&self) -> Result<Vec<Pin>> {
        let mut pins = Vec::new();
        self.each(|pin| {
            pins.push(pin);
            true
        })?;
        pins.sort_by(|a, b| a.cid.cmp(&b.cid));
        Ok(pins)
    }

    /// Calls `f` with every pin that holds now, in no particular order, one at a time (the set
    /// is never all in memory), until it returns false. Expired pins are dropped from disk as
    /// they are found.
    pub fn each(&self, mut f: impl FnMut(Pin) -> bool) -> Result<()> {
        let entries = fs::read_dir(&self.dir).map_err(|e| io_error("list pins", &self.dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_error("list pins", &self.dir, e))?;
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            let Ok(cid) = parse_cid(stem) else { continue };
            if let Some(pin) = self.get(&cid)? {
                if !f(pin) {
                    break;
                }
            } else if entry.path().exists() {
                let _ = self.remove(&cid);
            }
        }
        Ok(())
    }

    fn path(&self, cid: &Cid) -> PathBuf {
        self.dir
            .join(format!("{}.json", crate::ipld::cid::v1_text(&to_v1(cid))))
    }
}

fn io_error(op: &'static str, path: &Path, e: io::Error) -> Error {
    Error::Store(crate::store::Error::Io {
        op,
        path: path.to_path_buf(),
        source: e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_persist_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let set = Pinset::open(dir.path()).unwrap();
        let cid: Cid = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
            .parse()
            .unwrap();
        assert_eq!(set.get(&cid).unwrap(), None);
        let mut pin = Pin::recursive(&cid);
        pin.name = "empty".into();
        set.add(&pin).unwrap();
        let reopened = Pinset::open(dir.path()).unwrap();
        let got = reopened.get(&cid).unwrap().unwrap();
        assert_eq!(got.name, "empty");
        // Kept as given, and found under either form.
        assert_eq!(got.cid, "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
        let v1: Cid = "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"
            .parse()
            .unwrap();
        assert_eq!(reopened.get(&v1).unwrap().unwrap().name, "empty");
        assert_eq!(reopened.list().unwrap().len(), 1);
        let mut seen = 0;
        reopened
            .each(|pin| {
                seen += 1;
                assert_eq!(pin.root().unwrap(), cid);
                true
            })
            .unwrap();
        assert_eq!(seen, 1);

        let other: Cid = "bafkqabtimvwgy3yk".parse().unwrap();
        let mut expired = Pin::recursive(&other);
        expired.expire_at = 1;
        set.add(&expired).unwrap();
        assert_eq!(set.get(&other).unwrap(), None);
        assert_eq!(set.list().unwrap().len(), 1, "expired pins do not count");

        assert_eq!(set.remove(&cid).unwrap().unwrap().name, "empty");
        assert_eq!(set.remove(&cid).unwrap(), None);
        assert!(set.list().unwrap().is_empty());
    }
}
