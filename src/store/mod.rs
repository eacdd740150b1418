//! The block store: immutable blocks addressed by multihash, on disk under the data directory,
//! with a bounded in-memory cache of hot blocks.
//!
//! Layout (like Kubo's flatfs, `next-to-last/2` sharding): `blocks/<shard>/<key>.data`, where
//! `key` is the base32 (lower case, unpadded) multihash and `shard` its next-to-last two
//! characters, so millions of blocks spread over 1,024 directories. One file per block keeps
//! the store safe for several processes at once (`cairn serve` beside `cairn import` or
//! `cairn gc`): a block becomes visible by an atomic rename of a fully written and synced
//! temporary file, so no reader ever sees a partial or unverified block. Imports write through
//! a [`WriteBatch`], which syncs the data of many blocks at once before renaming them.
//!
//! Blocks are keyed by multihash, not CID: the same bytes under CIDv0 and CIDv1, or under two
//! codecs, are one block. Identity-hash CIDs never touch the disk: their digest is the block.
//!
//! Crash leftovers: a process killed mid-write leaves its temporary files, `tmp/<pid>-<n>.tmp`.
//! Opening the store (every command does) and each garbage collection remove those of processes
//! no longer running ([`Blockstore::remove_stale_temporaries`]). New directories are made
//! durable through [`durable`] before a write that depends on them is acknowledged.
//!
//! Garbage collection and writers share a file lock ([`Blockstore::write_lease`],
//! [`Blockstore::gc_lock_within`]); GC waits for writers within a deadline, never forever, and
//! while it waits new writers hold back, so a steady stream of uploads cannot starve it.

mod batch;
mod cached_read;
pub mod durable;
mod error;
mod fetched;
pub mod source;
mod verify;

pub use batch::{sync_files, WriteBatch, BATCH_MAX_BLOCKS, BATCH_MAX_BYTES};

pub use error::{Blocked, Error, Result};
pub use source::{BlockSource, SharedSource, SourceFuture};
pub use verify::verify;

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use cached_read::Cached;
use cid::Cid;
use fetched::FetchCache;
use multihash::Multihash;

/// Multihash code of the identity "hash".
const IDENTITY: u64 = 0x00;

/// Largest block accepted: Kubo refuses blocks over 2 MiB on the network and its importer never
/// makes one over 1 MiB plus framing; 4 MiB leaves room for CARs made by other tools.
pub const MAX_BLOCK_SIZE: usize = 4 << 20;

/// How the store is tuned.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Bytes of block data kept in memory.
    pub cache_bytes: u64,
    /// Bytes of fetched blocks kept on disk (see [`fetched`]); `None` for a process that
    /// fetches nothing (the CLI), which then does not index the fetch cache either.
    pub fetch_cache_bytes: Option<u64>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_bytes: 256 << 20,
            fetch_cache_bytes: None,
        }
    }
}

type CacheKey = Multihash<64>;

#[derive(Clone)]
struct ByteWeighter;

impl quick_cache::Weighter<CacheKey, Bytes> for ByteWeighter {
    fn weight(&self, _key: &CacheKey, value: &Bytes) -> u64 {
        // The key and bookkeeping cost about as much as a small block; counting them keeps a
        // cache of tiny blocks from growing without bound in entries.
        value.len() as u64 + 128
    }
}

/// The embedded on-disk block store. Cheap to share behind an `Arc`.
pub struct Blockstore {
    blocks_dir: PathBuf,
    /// Blocks fetched for readers, unpinned, within their own budget.
    fetched: Option<Arc<FetchCache>>,
    fetched_dir: PathBuf,
    tmp_dir: PathBuf,
    /// Shared with reads in flight on the blocking pool, which fill it.
    cache: Arc<quick_cache::sync::Cache<CacheKey, Bytes, ByteWeighter>>,
    /// Distinguishes temporary files of concurrent writers in this process; the pid does so
    /// across processes.
    tmp_counter: AtomicU64,
    /// Shard directories whose new entries have not been synced yet.
    unsynced_dirs: Mutex<HashSet<PathBuf>>,
    /// The GC epoch last seen (see [`Blockstore::notice_collections`]).
    seen_epoch: Mutex<Option<std::time::SystemTime>>,
    /// Reads through [`BlockSource`] that asked the memory cache, and those it answered.
    cache_requests: AtomicU64,
    cache_hits: AtomicU64,
    /// Grows whenever blocks may have gone (see [`Blockstore::removals`]).
    removals: AtomicU64,
}

/// Largest fetched block that also goes to the memory cache on arrival. Larger ones (file
/// leaves, 256 KiB by default) enter it only when read again from the fetch cache: a cold
/// download streams through once, and keeping each of its leaves meant fresh memory, zeroed
/// by the kernel, for every block — a cold 256 MiB remote-block fetch ran at 205 MB/s with
/// them kept and 360–410 MB/s without (and its leaves evicted hot blocks). Directory
/// blocks, file roots and small files stay in memory at once.
pub const MEMORY_CACHED_FETCH_MAX: usize = 64 << 10;

impl Blockstore {
    /// Opens (creating if needed) the store under `data_dir`.
    pub fn open(data_dir: &Path, options: StoreOptions) -> Result<Self> {
        let blocks_dir = data_dir.join("blocks");
        let tmp_dir = data_dir.join("tmp");
        for dir in [&blocks_dir, &tmp_dir] {
            durable::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
        }
        let estimated_items = (options.cache_bytes / 4096).clamp(16, 1 << 20) as usize;
        let cache = Arc::new(quick_cache::sync::Cache::with_weighter(
            estimated_items,
            options.cache_bytes.max(1),
            ByteWeighter,
        ));
        let fetched_dir = data_dir.join("cache");
        let fetched = match options.fetch_cache_bytes {
            Some(budget) => Some(Arc::new(FetchCache::open(fetched_dir.clone(), budget)?)),
            None => None,
        };
        let store = Blockstore {
            blocks_dir,
            fetched,
            fetched_dir,
            tmp_dir,
            cache,
            tmp_counter: AtomicU64::new(0),
            unsynced_dirs: Mutex::new(HashSet::new()),
            seen_epoch: Mutex::new(None),
            cache_requests: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
            removals: AtomicU64::new(0),
        };
        match store.remove_stale_temporaries() {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "removed temporary files of crashed processes"),
            Err(e) => tracing::warn!(error = %e, "could not clean up temporary files"),
        }
        Ok(store)
    }

    /// Removes the temporary files (`tmp/<pid>-<n>.tmp`) of processes that are no longer
    /// running: what a crash or `kill -9` left mid-write. Files of running processes, this
    /// one included, and files named otherwise are left alone. Returns how many went.
    pub fn remove_stale_temporaries(&self) -> Result<usize> {
        let entries = match fs::read_dir(&self.tmp_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(Error::io("list temporary files", &self.tmp_dir, e)),
        };
        let own = std::process::id();
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(temporary_file_pid) else {
                continue;
            };
            if pid == own || process_is_running(pid) {
                continue;
            }
            match fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("remove temporary file", &entry.path(), e)),
            }
        }
        Ok(removed)
    }

    /// The block's bytes, or `None` when it is not in the store, read on the calling thread.
    /// For blocking contexts (the importer, GC, the CLI); requests and response bodies read
    /// through [`BlockSource`], which never blocks a runtime thread.
    pub fn get(&self, cid: &Cid) -> Result<Option<Bytes>> {
        if let Some(block) = self.get_in_memory(cid) {
            return Ok(Some(block));
        }
        let found = read_disk(&self.disk(cid), |path| {
            Cached::Answer(Self::read_block_file(path))
        });
        let Cached::Answer(data) = found else {
            unreachable!("a blocking read always answers")
        };
        let data = data?;
        if let Some(data) = &data {
            self.cache.insert(*cid.hash(), data.clone());
        }
        Ok(data)
    }

    /// Where the block would be on disk.
    fn disk(&self, cid: &Cid) -> OnDisk {
        OnDisk {
            cid: *cid,
            kept: self.block_path(cid.hash()),
            fetched: self.fetched.clone(),
        }
    }

    /// Keeps a block (verified against `cid` by whoever got it) in the memory cache only.
    /// Block reads (through [`BlockSource`]) that asked the memory cache, and how many it
    /// answered: boxo's blockstore cache requests and hits.
    pub fn cache_stats(&self) -> (u64, u64) {
        (
            self.cache_requests.load(Ordering::Relaxed),
            self.cache_hits.load(Ordering::Relaxed),
        )
    }

    /// Counts a read that asked the memory cache, and whether it answered.
    fn count_cache_read(&self, hit: bool) {
        self.cache_requests.fetch_add(1, Ordering::Relaxed);
        if hit {
            self.cache_hits.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn remember(&self, cid: &Cid, block: &Bytes) {
        if cid.hash().code() != IDENTITY {
            self.cache.insert(*cid.hash(), block.clone());
        }
    }

    /// The block when it needs no disk: an identity CID, or a block in the memory cache.
    pub fn get_in_memory(&self, cid: &Cid) -> Option<Bytes> {
        let mh = cid.hash();
        if mh.code() == IDENTITY {
            return Some(Bytes::copy_from_slice(mh.digest()));
        }
        self.cache.get(mh)
    }

    fn read_block_file(path: &Path) -> Result<Option<Bytes>> {
        match fs::read(path) {
            Ok(data) => Ok(Some(Bytes::from(data))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read block", path, e)),
        }
    }

    fn block_file_size(path: &Path) -> Result<Option<u64>> {
        match fs::metadata(path) {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("stat block", path, e)),
        }
    }

    /// Whether the block is present, without reading it.
    pub fn has(&self, cid: &Cid) -> Result<bool> {
        let mh = cid.hash();
        if mh.code() == IDENTITY || self.cache.contains_key(mh) {
            return Ok(true);
        }
        Ok(self.size_on_disk(cid)?.is_some())
    }

    /// The block's size, without reading it (on the calling thread, like [`Blockstore::get`]).
    pub fn block_size(&self, cid: &Cid) -> Result<Option<u64>> {
        let mh = cid.hash();
        if mh.code() == IDENTITY {
            return Ok(Some(mh.digest().len() as u64));
        }
        if let Some(block) = self.cache.get(mh) {
            return Ok(Some(block.len() as u64));
        }
        self.size_on_disk(cid)
    }

    fn size_on_disk(&self, cid: &Cid) -> Result<Option<u64>> {
        match size_on_disk(&self.disk(cid), |path| {
            Cached::Answer(Self::block_file_size(path))
        }) {
            Cached::Answer(size) => size,
            Cached::WouldWait => unreachable!("a blocking read always answers"),
        }
    }

    /// What the store holds on disk: kept blocks (counted and summed, one `stat` each) and the
    /// fetch cache's bytes.
    pub fn usage(&self) -> Result<StoreUsage> {
        let mut usage = StoreUsage {
            fetched_bytes: self.fetched_bytes(),
            ..StoreUsage::default()
        };
        for_each_file(&self.blocks_dir, |_, path| {
            usage.blocks += 1;
            usage.block_bytes += fs::metadata(path).map_or(0, |m| m.len());
        })?;
        Ok(usage)
    }

    /// Bytes free for an unprivileged writer on the file system holding the store (0 when
    /// that cannot be learnt).
    pub fn free_space(&self) -> u64 {
        free_space(&self.blocks_dir)
    }

    /// Stores a block after checking it against its CID. Returns whether it was new.
    ///
    /// The data reaches the disk (fsync) before the block becomes visible; the directory entry
    /// is made durable by [`Blockstore::sync`], which callers run before acknowledging a write.
    /// One sync per block: for more than a handful, [`Blockstore::batch`].
    pub fn put(&self, cid: &Cid, data: &[u8]) -> Result<bool> {
        let Some(path) = self.path_to_write(cid, data)? else {
            return Ok(false);
        };
        let shard_dir = path.parent().unwrap_or(&self.blocks_dir).to_path_buf();
        let created_shard = match fs::create_dir(&shard_dir) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(Error::io("create directory", &shard_dir, e)),
        };
        let tmp = self.tmp_path();
        let write = || -> io::Result<()> {
            let mut file = File::create(&tmp)?;
            file.write_all(data)?;
            file.sync_data()?;
            fs::rename(&tmp, &path)
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(&tmp);
            return Err(Error::io("write block", &path, e));
        }
        if let Ok(mut dirs) = self.unsynced_dirs.lock() {
            dirs.insert(shard_dir);
            // A new shard's own name lives in `blocks/`.
            if created_shard {
                dirs.insert(self.blocks_dir.clone());
            }
        }
        Ok(true)
    }

    /// Checks a block offered for writing (size, bytes against the CID) and returns the file
    /// it goes to, or `None` when nothing needs writing (identity CIDs, blocks already there).
    fn path_to_write(&self, cid: &Cid, data: &[u8]) -> Result<Option<PathBuf>> {
        if data.len() > MAX_BLOCK_SIZE {
            return Err(Error::TooLarge {
                cid: *cid,
                size: data.len(),
            });
        }
        verify(cid, data)?;
        let mh = cid.hash();
        if mh.code() == IDENTITY {
            return Ok(None);
        }
        let path = self.block_path(mh);
        Ok((!path.exists()).then_some(path))
    }

    /// Keeps a block fetched from elsewhere (already verified against `cid` by whoever
    /// fetched it) in the fetch cache, within its budget, and in memory if it is small
    /// (at most [`MEMORY_CACHED_FETCH_MAX`]). Not durable: for blocks nobody asked to keep.
    /// Without a fetch cache (the CLI), memory only.
    pub fn cache_fetched(&self, cid: &Cid, data: &Bytes) -> Result<()> {
        let key = cid.hash();
        if key.code() == IDENTITY || data.len() > MAX_BLOCK_SIZE {
            return Ok(());
        }
        if data.len() <= MEMORY_CACHED_FETCH_MAX || self.fetched.is_none() {
            self.cache.insert(*key, data.clone());
        }
        match &self.fetched {
            Some(fetched) if !self.block_path(key).exists() => {
                fetched.insert(key, data, &self.tmp_path())
            }
            _ => Ok(()),
        }
    }

    /// Makes sure a block is kept durably in `blocks/` (pinning content that was fetched):
    /// a block in the fetch cache is verified and written there. Returns whether the block
    /// is now kept (`false`: it is nowhere on disk).
    pub fn keep(&self, cid: &Cid) -> Result<bool> {
        let key = cid.hash();
        if key.code() == IDENTITY || self.block_path(key).exists() {
            return Ok(true);
        }
        let path = fetched::block_file(&self.fetched_dir, key);
        let data = match Self::read_block_file(&path)? {
            Some(data) => data,
            None => return Ok(false),
        };
        if verify(cid, &data).is_err() {
            let _ = fs::remove_file(&path);
            if let Some(fetched) = &self.fetched {
                fetched.forget(key);
            }
            return Ok(false);
        }
        self.put(cid, &data)?;
        let _ = fs::remove_file(&path);
        if let Some(fetched) = &self.fetched {
            fetched.forget(key);
        }
        Ok(true)
    }

    /// Deletes every block of the fetch cache (GC, once it has kept what pins reach).
    /// Returns the blocks removed.
    pub fn clear_fetched(&self) -> Result<Vec<Multihash<64>>> {
        let cleared = match &self.fetched {
            Some(fetched) => fetched.clear(),
            None => fetched::clear_dir(&self.fetched_dir),
        };
        self.removals.fetch_add(1, Ordering::Release);
        cleared
    }

    /// Bytes the fetch cache holds (0 without one).
    pub fn fetched_bytes(&self) -> u64 {
        self.fetched.as_ref().map_or(0, |f| f.bytes())
    }

    /// Makes every block written so far durable (their directory entries synced, shard
    /// directories before `blocks/`, which holds the names of new ones).
    pub fn sync(&self) -> Result<()> {
        let mut dirs: Vec<PathBuf> = match self.unsynced_dirs.lock() {
            Ok(mut dirs) => dirs.drain().collect(),
            Err(_) => Vec::new(),
        };
        dirs.sort_by_key(|dir| std::cmp::Reverse(dir.components().count()));
        for (i, dir) in dirs.iter().enumerate() {
            if let Err(e) = durable::sync_dir(dir) {
                // Not synced: left for the next call.
                if let Ok(mut unsynced) = self.unsynced_dirs.lock() {
                    unsynced.extend(dirs[i..].iter().cloned());
                }
                return Err(Error::io("sync directory", dir, e));
            }
        }
        Ok(())
    }

    /// Starts a write batch: the way to write many blocks durably at a fraction of the cost of
    /// [`Blockstore::put`] (see [`WriteBatch`]).
    pub fn batch(&self) -> WriteBatch<'_> {
        WriteBatch::new(self, BATCH_MAX_BLOCKS, BATCH_MAX_BYTES)
    }

    /// The path of a fresh temporary file, unique across writers and processes.
    fn tmp_path(&self) -> PathBuf {
        self.tmp_dir.join(format!(
            "{}-{}.tmp",
            std::process::id(),
            self.tmp_counter.fetch_add(1, Ordering::Relaxed)
        ))
    }

    /// Removes a block. Returns whether it was there.
    pub fn delete(&self, mh: &Multihash<64>) -> Result<bool> {
        self.cache.remove(mh);
        let path = self.block_path(mh);
        let removed = fs::remove_file(&path);
        // Moved once the block is gone, never before: an answer made from the block while
        // it was still here is then kept under the old count, and so not given again.
        self.removals.fetch_add(1, Ordering::Release);
        match removed {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("remove block", &path, e)),
        }
    }

    /// Calls `f` with the multihash of every block kept on disk (in no particular order);
    /// the fetch cache's blocks are not among them.
    pub fn for_each_block(&self, mut f: impl FnMut(Multihash<64>) -> Result<()>) -> Result<()> {
        let mut failed = None;
        for_each_file(&self.blocks_dir, |key, _| {
            if failed.is_none() {
                failed = f(key).err();
            }
        })?;
        failed.map_or(Ok(()), Err)
    }

    /// Holds off garbage collection while blocks are being written and not yet pinned: any
    /// number of writers share this lease; GC waits for them all, within its deadline (see
    /// [`Blockstore::gc_lock_within`]). The lock is a file lock, so it works across processes
    /// (`cairn gc` beside a server). While a collection waits for the lock, a new lease waits
    /// for the collection first (at most [`MAX_GC_WAIT`]), so that writers cannot keep the
    /// lock shared forever between them. Blocks the calling thread.
    pub fn write_lease(&self) -> Result<GcLock> {
        let deadline = std::time::Instant::now() + MAX_GC_WAIT;
        while self.gc_is_waiting() && std::time::Instant::now() < deadline {
            std::thread::sleep(LOCK_POLL);
        }
        let file = self.lock_file()?;
        file.lock_shared()
            .map_err(|e| Error::io("take the write lease", &self.lock_path(), e))?;
        Ok(GcLock { _file: file })
    }

    /// Excludes every writer for the duration of a garbage collection, waiting at most `wait`
    /// for the writers in progress to finish ([`Error::Busy`] past it). Blocks the calling
    /// thread.
    pub fn gc_lock_within(&self, wait: std::time::Duration) -> Result<GcLock> {
        let file = self.lock_file()?;
        let started = std::time::Instant::now();
        let mut announced = None;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(GcLock { _file: file }),
                Err(fs::TryLockError::WouldBlock) => {}
                Err(fs::TryLockError::Error(e)) => {
                    return Err(Error::io("take the GC lock", &self.lock_path(), e))
                }
            }
            if started.elapsed() >= wait {
                return Err(Error::Busy {
                    waited: started.elapsed(),
                });
            }
            if announced.is_none() {
                announced = Some(GcWaiting::announce(self.gc_waiting_path()));
            }
            std::thread::sleep(LOCK_POLL.min(wait.saturating_sub(started.elapsed())));
        }
    }

    /// Whether a collection (of any process) is waiting for the GC lock right now.
    fn gc_is_waiting(&self) -> bool {
        let Ok(text) = fs::read_to_string(self.gc_waiting_path()) else {
            return false;
        };
        // Left behind by a collection that died waiting: ignored.
        text.trim().parse().is_ok_and(process_is_running)
    }

    fn gc_waiting_path(&self) -> PathBuf {
        self.tmp_dir.with_file_name("gc.waiting")
    }

    /// Records that a garbage collection removed blocks, for other processes' caches.
    pub fn mark_collected(&self) -> Result<()> {
        let path = self.epoch_path();
        let stamp = format!("{:?}\n", std::time::SystemTime::now());
        fs::write(&path, stamp).map_err(|e| Error::io("write GC epoch", &path, e))
    }

    /// A count that grows whenever blocks may have stopped being here: a delete, the fetch
    /// cache cleared, or another process's collection noticed
    /// ([`Blockstore::notice_collections`]); it moves after the blocks are gone. What keeps
    /// answers derived from blocks (the gateway's replayed responses) compares it to tell
    /// whether they may still be given.
    pub fn removals(&self) -> u64 {
        self.removals.load(Ordering::Acquire)
    }

    /// Drops the in-memory cache if another process collected garbage since the last call, so
    /// removed blocks stop being served from memory. Cheap (one `stat`); servers call it
    /// periodically.
    pub fn notice_collections(&self) {
        let modified = fs::metadata(self.epoch_path())
            .and_then(|m| m.modified())
            .ok();
        if let Ok(mut seen) = self.seen_epoch.lock() {
            if *seen != modified {
                if seen.is_some() || modified.is_some() {
                    self.cache.clear();
                    if let Some(fetched) = &self.fetched {
                        if let Err(e) = fetched.reload() {
                            tracing::warn!(error = %e, "could not re-read the fetch cache");
                        }
                    }
                    // After the caches are dropped (see `delete`).
                    self.removals.fetch_add(1, Ordering::Release);
                }
                *seen = modified;
            }
        }
    }

    fn epoch_path(&self) -> PathBuf {
        self.tmp_dir.with_file_name("gc.epoch")
    }

    fn lock_path(&self) -> PathBuf {
        self.tmp_dir.with_file_name("gc.lock")
    }

    fn lock_file(&self) -> Result<File> {
        let path = self.lock_path();
        fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io("open lock file", &path, e))
    }

    fn block_path(&self, mh: &CacheKey) -> PathBuf {
        block_file(&self.blocks_dir, mh)
    }
}

/// The places a block may be on disk: kept (`blocks/`), else fetched (`cache/`).
struct OnDisk {
    cid: Cid,
    kept: PathBuf,
    fetched: Option<Arc<FetchCache>>,
}

/// Reads a block from disk with `read` (blocking, or from the kernel's caches only): kept
/// blocks first, then the fetch cache, whose files are verified because they are not synced.
fn read_disk(
    at: &OnDisk,
    read: impl Fn(&Path) -> Cached<Result<Option<Bytes>>>,
) -> Cached<Result<Option<Bytes>>> {
    match read(&at.kept) {
        Cached::Answer(Ok(None)) => {}
        other => return other,
    }
    let Some(fetched) = &at.fetched else {
        return Cached::Answer(Ok(None));
    };
    let key = at.cid.hash();
    let path = fetched.path(key);
    match read(&path) {
        Cached::Answer(Ok(Some(data))) => {
            if verify(&at.cid, &data).is_ok() {
                fetched.touch(key);
                Cached::Answer(Ok(Some(data)))
            } else {
                tracing::warn!(path = %path.display(), "removing a torn block from the fetch cache");
                let _ = fs::remove_file(&path);
                fetched.forget(key);
                Cached::Answer(Ok(None))
            }
        }
        other => other,
    }
}

/// The size of a block on disk with `size` (blocking, or from the kernel's caches only).
fn size_on_disk(
    at: &OnDisk,
    size: impl Fn(&Path) -> Cached<Result<Option<u64>>>,
) -> Cached<Result<Option<u64>>> {
    match size(&at.kept) {
        Cached::Answer(Ok(None)) => {}
        other => return other,
    }
    match &at.fetched {
        Some(fetched) => size(&fetched.path(at.cid.hash())),
        None => Cached::Answer(Ok(None)),
    }
}

/// What a store holds on disk ([`Blockstore::usage`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreUsage {
    /// Kept blocks (`blocks/`).
    pub blocks: u64,
    /// Their bytes.
    pub block_bytes: u64,
    /// Bytes of the fetch cache (`cache/`).
    pub fetched_bytes: u64,
}

/// Bytes free for an unprivileged writer on the file system holding `path` (`statvfs(3)`),
/// 0 when that cannot be learnt.
pub fn free_space(path: &Path) -> u64 {
    rustix::fs::statvfs(path).map_or(0, |stat| stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// A held file lock (shared write lease or exclusive GC lock); released on drop.
pub struct GcLock {
    _file: File,
}

/// The longest a collection waits by default for writers to finish (see
/// [`Blockstore::gc_lock_within`]), and the longest a new writer holds back for a waiting
/// collection.
pub const MAX_GC_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// How often a waiting collection or writer looks again.
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// `gc.waiting` while a collection waits for the GC lock: holds its pid, so writers hold back
/// (and ignore the file if that process died); removed when the wait ends.
struct GcWaiting(PathBuf);

impl GcWaiting {
    fn announce(path: PathBuf) -> Self {
        if let Err(e) = fs::write(&path, format!("{}\n", std::process::id())) {
            tracing::debug!(error = %e, "could not announce the waiting collection");
        }
        GcWaiting(path)
    }
}

impl Drop for GcWaiting {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// The pid in a temporary file's name (`<pid>-<n>.tmp`).
fn temporary_file_pid(name: &str) -> Option<u32> {
    let (pid, counter) = name.strip_suffix(".tmp")?.split_once('-')?;
    counter.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Whether a process with this pid exists (one we may not signal counts as existing).
fn process_is_running(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    !matches!(
        rustix::process::test_kill_process(pid),
        Err(rustix::io::Errno::SRCH)
    )
}

/// The multihash a block file is named after.
fn parse_block_key(key: &str) -> Option<Multihash<64>> {
    let mut raw = [0u8; 128];
    let enc = data_encoding::BASE32_NOPAD_NOCASE;
    let len = enc.decode_len(key.len()).ok()?;
    let n = enc.decode_mut(key.as_bytes(), raw.get_mut(..len)?).ok()?;
    Multihash::from_bytes(&raw[..n]).ok()
}

impl AsRef<Blockstore> for Blockstore {
    fn as_ref(&self) -> &Blockstore {
        self
    }
}

/// `<dir>/<shard>/<key>.data`, the layout both `blocks/` and `cache/` use.
fn block_file(dir: &Path, key: &CacheKey) -> PathBuf {
    let mut buf = [0u8; 128];
    let name = block_key(key, &mut buf);
    let shard = &name[name.len().saturating_sub(3)..name.len().saturating_sub(1)];
    let mut path = dir.join(shard);
    path.push(name);
    path.set_extension("data");
    path
}

/// Calls `f` with the key and path of every block file under `dir`.
fn for_each_file(dir: &Path, mut f: impl FnMut(CacheKey, &Path)) -> Result<()> {
    let shards = match fs::read_dir(dir) {
        Ok(shards) => shards,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("list blocks", dir, e)),
    };
    for shard in shards {
        let shard = shard.map_err(|e| Error::io("list blocks", dir, e))?;
        let Ok(files) = fs::read_dir(shard.path()) else {
            continue;
        };
        for file in files.flatten() {
            let name = file.file_name();
            let Some(key) = name.to_str().and_then(|n| n.strip_suffix(".data")) else {
                continue;
            };
            if let Some(key) = parse_block_key(key) {
                f(key, &file.path());
            }
        }
    }
    Ok(())
}

/// Base32 (RFC 4648, lower case, no padding) of the multihash bytes, written into `buf`.
fn block_key<'b>(mh: &CacheKey, buf: &'b mut [u8; 128]) -> &'b str {
    let mut raw = [0u8; 80];
    let len = mh.encoded_len();
    let written = mh.write(&mut raw[..]).unwrap_or(0);
    let raw = &raw[..written.min(len)];
    let enc = data_encoding::BASE32_NOPAD;
    let out_len = enc.encode_len(raw.len());
    enc.encode_mut(raw, &mut buf[..out_len]);
    buf[..out_len].make_ascii_lowercase();
    // base32 output is ASCII.
    std::str::from_utf8(&buf[..out_len]).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha256_cid(codec: u64, data: &[u8]) -> Cid {
        use multihash_codetable::{Code, MultihashDigest};
        Cid::new_v1(codec, Code::Sha2_256.digest(data))
    }

    fn store() -> (tempfile::TempDir, Blockstore) {
        let dir = tempfile::tempdir().unwrap();
        let store = Blockstore::open(dir.path(), StoreOptions::default()).unwrap();
        (dir, store)
    }

    #[test]
    fn sizes_and_usage_count_what_is_kept() {
        let (_dir, store) = store();
        let a = sha256_cid(0x55, b"twelve bytes");
        let b = sha256_cid(0x70, b"four");
        assert_eq!(store.block_size(&a).unwrap(), None);
        store.put(&a, b"twelve bytes").unwrap();
        store.put(&b, b"four").unwrap();
        assert_eq!(store.block_size(&a).unwrap(), Some(12));
        // Under another codec, the same block.
        assert_eq!(
            store.block_size(&Cid::new_v1(0x71, *b.hash())).unwrap(),
            Some(4)
        );
        let usage = store.usage().unwrap();
        assert_eq!((usage.blocks, usage.block_bytes), (2, 16));
        assert!(store.free_space() > 0);
    }

    #[test]
    fn put_then_get_round_trips_and_survives_reopen() {
        let (dir, store) = store();
        let cid = sha256_cid(0x55, b"hello\n");
        assert_eq!(store.get(&cid).unwrap(), None);
        assert!(store.put(&cid, b"hello\n").unwrap());
        assert!(
            !store.put(&cid, b"hello\n").unwrap(),
            "second put is a no-op"
        );
        store.sync().unwrap();
        assert_eq!(store.get(&cid).unwrap().unwrap(), &b"hello\n"[..]);
        let reopened = Blockstore::open(dir.path(), StoreOptions::default()).unwrap();
        assert!(reopened.has(&cid).unwrap());
        assert_eq!(reopened.get(&cid).unwrap().unwrap(), &b"hello\n"[..]);
        // The same multihash under another codec is the same block.
        let as_pb = Cid::new_v1(0x70, *cid.hash());
        assert!(reopened.has(&as_pb).unwrap());
    }

    #[test]
    fn wrong_bytes_are_refused_and_leave_nothing() {
        let (dir, store) = store();
        let cid = sha256_cid(0x55, b"right");
        let err = store.put(&cid, b"wrong").unwrap_err();
        assert!(matches!(err, Error::HashMismatch { .. }), "{err}");
        assert!(!store.has(&cid).unwrap());
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn identity_blocks_need_no_disk() {
        let (_dir, store) = store();
        let cid: Cid = "bafkqabtimvwgy3yk".parse().unwrap();
        assert_eq!(store.get(&cid).unwrap().unwrap(), &b"hello\n"[..]);
        assert!(!store.put(&cid, b"hello\n").unwrap());
        assert!(store.put(&cid, b"other\n").is_err());
    }

    #[test]
    fn layout_is_sharded_by_next_to_last_two_characters() {
        let (dir, store) = store();
        let cid = sha256_cid(0x55, b"layout");
        store.put(&cid, b"layout").unwrap();
        let mut buf = [0u8; 128];
        let key = block_key(cid.hash(), &mut buf).to_string();
        assert!(
            key.starts_with("ciq"),
            "sha2-256 multihash 0x1220 → ciq…: {key}"
        );
        let shard = &key[key.len() - 3..key.len() - 1];
        assert!(dir
            .path()
            .join("blocks")
            .join(shard)
            .join(format!("{key}.data"))
            .exists());
    }

    #[test]
    fn blocks_are_listed_and_deleted() {
        let (_dir, store) = store();
        let a = sha256_cid(0x55, b"a");
        let b = sha256_cid(0x70, b"b");
        store.put(&a, b"a").unwrap();
        store.put(&b, b"b").unwrap();
        let mut seen = Vec::new();
        store
            .for_each_block(|mh| {
                seen.push(mh);
                Ok(())
            })
            .unwrap();
        seen.sort_by_key(|mh| mh.to_bytes());
        let mut want = vec![*a.hash(), *b.hash()];
        want.sort_by_key(|mh| mh.to_bytes());
        assert_eq!(seen, want);
        store.get(&a).unwrap();
        let removals = store.removals();
        assert!(store.delete(a.hash()).unwrap());
        assert!(
            store.removals() > removals,
            "what keeps answers made of blocks is told"
        );
        assert!(!store.delete(a.hash()).unwrap());
        assert_eq!(
            store.get(&a).unwrap(),
            None,
            "the cache forgets deleted blocks"
        );
        assert!(store.has(&b).unwrap());
    }

    #[test]
    fn writers_share_the_lease_and_gc_excludes_them() {
        let (_dir, store) = store();
        let one = store.write_lease().unwrap();
        let two = store.write_lease().unwrap();
        let file = store.lock_file().unwrap();
        assert!(file.try_lock().is_err(), "GC must wait for writers");
        drop((one, two));
        assert!(file.try_lock().is_ok(), "GC proceeds once writers are done");
    }

    #[test]
    fn gc_waits_for_writers_within_its_deadline_only() {
        let (_dir, store) = store();
        let lease = store.write_lease().unwrap();
        let started = std::time::Instant::now();
        let waited = store.gc_lock_within(std::time::Duration::from_millis(300));
        assert!(matches!(waited, Err(Error::Busy { .. })));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(!store.gc_is_waiting(), "the wait is no longer announced");
        drop(lease);
        assert!(store
            .gc_lock_within(std::time::Duration::from_millis(300))
            .is_ok());
    }

    #[test]
    fn new_writers_hold_back_while_gc_waits() {
        let (_dir, store) = store();
        let store = std::sync::Arc::new(store);
        let first = store.write_lease().unwrap();
        let gc = {
            let store = std::sync::Arc::clone(&store);
            std::thread::spawn(move || {
                store
                    .gc_lock_within(std::time::Duration::from_secs(10))
                    .map(|lock| (lock, std::time::Instant::now()))
            })
        };
        while !store.gc_is_waiting() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // A writer arriving now waits for the collection rather than sharing the lock with
        // the first one (which would keep the collection waiting for both).
        let second = {
            let store = std::sync::Arc::clone(&store);
            std::thread::spawn(move || {
                let lease = store.write_lease().unwrap();
                (lease, std::time::Instant::now())
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        drop(first);
        let (gc_lock, gc_at) = gc.join().unwrap().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        drop(gc_lock);
        let (_lease, second_at) = second.join().unwrap();
        assert!(
            second_at > gc_at,
            "the second writer went after the collection"
        );
    }

    #[test]
    fn temporary_files_of_dead_processes_are_removed_at_open() {
        let (dir, store) = store();
        let tmp = dir.path().join("tmp");
        // A pid that cannot be running (above the kernel's pid_max limit of 2^22).
        let dead = format!("{}-3.tmp", (1u32 << 22) + 7);
        let own = format!("{}-99999.tmp", std::process::id());
        for name in [&dead, &own, &"unrelated.txt".to_owned()] {
            fs::write(tmp.join(name), b"x").unwrap();
        }
        drop(store);
        let _reopened = Blockstore::open(dir.path(), StoreOptions::default()).unwrap();
        assert!(
            !tmp.join(&dead).exists(),
            "a dead process's file is removed"
        );
        assert!(tmp.join(&own).exists(), "a running process's file stays");
        assert!(tmp.join("unrelated.txt").exists());
    }

    #[test]
    fn a_new_shard_directory_is_made_durable_in_its_parent() {
        let (dir, store) = store();
        let cid = sha256_cid(0x55, b"a block in a new shard");
        store.put(&cid, b"a block in a new shard").unwrap();
        store.sync().unwrap();
        let synced = durable::testing::synced_under(dir.path());
        let shard = store.block_path(cid.hash()).parent().unwrap().to_path_buf();
        let blocks = dir.path().join("blocks");
        let at = |p: &Path| synced.iter().position(|d| d == p);
        let (Some(shard_at), Some(blocks_at)) = (at(&shard), at(&blocks)) else {
            panic!("not synced: {synced:?}");
        };
        assert!(shard_at < blocks_at, "the shard's entries, then its name");
        // The batch path does the same.
        let other = tempfile::tempdir().unwrap();
        let store = Blockstore::open(other.path(), StoreOptions::default()).unwrap();
        let mut batch = store.batch();
        batch.put(&cid, b"a block in a new shard").unwrap();
        batch.commit().unwrap();
        let synced = durable::testing::synced_under(other.path());
        assert!(synced.contains(&other.path().join("blocks")), "{synced:?}");
        // Opening a new store makes its directories durable too.
        assert!(synced.contains(&other.path().to_path_buf()), "{synced:?}");
    }

    #[test]
    fn oversized_block_is_refused() {
        let (_dir, store) = store();
        let data = vec![0u8; MAX_BLOCK_SIZE + 1];
        let cid = sha256_cid(0x55, &data);
        assert!(matches!(
            store.put(&cid, &data),
            Err(Error::TooLarge { .. })
        ));
    }
}
