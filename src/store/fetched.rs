//! The fetch cache: blocks this node got from peers or remote backends to answer a reader,
//! kept on disk within a byte budget of their own, apart from the blocks someone added or
//! pinned.
//!
//! They live under `cache/` in the data directory, laid out like `blocks/`. Nothing there is
//! pinned, so nothing there needs to survive: files are written without `fsync`, and a crash
//! can leave a torn one — which is why every read from `cache/` is verified against its CID
//! (a bad file is removed and reads as absent). Keeping content moves its blocks into
//! `blocks/` ([`super::Blockstore::keep`]); a GC empties `cache/` (all of it is unpinned).
//!
//! Eviction is least-recently-used by reads and writes, in bytes: past the budget the blocks
//! touched longest ago are deleted. The index lives in memory, rebuilt at start from the
//! directory (file modification times give the initial order).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub(super) use super::block_file;
use super::{for_each_file, CacheKey, Error, Result};

/// The on-disk cache of fetched blocks and its recency index.
pub(super) struct FetchCache {
    pub(super) dir: PathBuf,
    budget: u64,
    index: Mutex<Index>,
}

#[derive(Default)]
struct Index {
    entries: HashMap<CacheKey, Entry>,
    /// Tick of last use → block: the first entry is the least recently used.
    by_use: BTreeMap<u64, CacheKey>,
    bytes: u64,
    tick: u64,
}

#[derive(Clone, Copy)]
struct Entry {
    size: u64,
    tick: u64,
}

impl Index {
    fn touch(&mut self, key: &CacheKey) {
        let tick = self.next_tick();
        if let Some(entry) = self.entries.get_mut(key) {
            self.by_use.remove(&entry.tick);
            entry.tick = tick;
            self.by_use.insert(tick, *key);
        }
    }

    fn insert(&mut self, key: CacheKey, size: u64) {
        self.remove(&key);
        let tick = self.next_tick();
        self.entries.insert(key, Entry { size, tick });
        self.by_use.insert(tick, key);
        self.bytes += size;
    }

    fn remove(&mut self, key: &CacheKey) -> bool {
        match self.entries.remove(key) {
            Some(entry) => {
                self.by_use.remove(&entry.tick);
                self.bytes -= entry.size;
                true
            }
            None => false,
        }
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }
}

impl FetchCache {
    /// The cache under `dir` with `budget` bytes; the index is built from what is there, and
    /// anything over the budget (a smaller budget than last time) is evicted now.
    pub(super) fn open(dir: PathBuf, budget: u64) -> Result<FetchCache> {
        fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        let cache = FetchCache {
            dir,
            budget,
            index: Mutex::new(Index::default()),
        };
        cache.reload()?;
        Ok(cache)
    }

    /// Rebuilds the index from the directory (at start, and after another process's GC).
    pub(super) fn reload(&self) -> Result<()> {
        let mut found = Vec::new();
        for_each_file(&self.dir, |key, path| {
            if let Ok(meta) = fs::metadata(path) {
                let used = meta.modified().ok();
                found.push((used, key, meta.len()));
            }
        })?;
        found.sort_by_key(|(used, _, _)| *used);
        let mut index = Index::default();
        for (_, key, size) in found {
            index.insert(key, size);
        }
        *self.lock() = index;
        self.evict_over_budget();
        Ok(())
    }

    /// The path a fetched block is kept at.
    pub(super) fn path(&self, key: &CacheKey) -> PathBuf {
        block_file(&self.dir, key)
    }

    /// Bytes the cache holds now.
    pub(super) fn bytes(&self) -> u64 {
        self.lock().bytes
    }

    /// Records a read of a cached block.
    pub(super) fn touch(&self, key: &CacheKey) {
        self.lock().touch(key);
    }

    /// Stores a fetched block (already verified by whoever fetched it), evicting the least
    /// recently used blocks past the budget. A block larger than the whole budget is not kept.
    pub(super) fn insert(&self, key: &CacheKey, data: &[u8], tmp: &Path) -> Result<()> {
        if data.len() as u64 > self.budget {
            return Ok(());
        }
        let path = self.path(key);
        if let Some(shard) = path.parent() {
            fs::create_dir_all(shard).map_err(|e| Error::io("create directory", shard, e))?;
        }
        // A whole file or none under the final name (no fsync: a crash may still tear it,
        // which reads catch by verifying).
        let write = || -> io::Result<()> {
            fs::write(tmp, data)?;
            fs::rename(tmp, &path)
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(tmp);
            return Err(Error::io("write fetched block", &path, e));
        }
        self.lock().insert(*key, data.len() as u64);
        self.evict_over_budget();
        Ok(())
    }

    /// Forgets a block that left the cache (kept, found corrupt, or collected).
    pub(super) fn forget(&self, key: &CacheKey) {
        self.lock().remove(key);
    }

    /// Deletes every cached block (GC: none of them is pinned).
    pub(super) fn clear(&self) -> Result<Vec<CacheKey>> {
        let removed = clear_dir(&self.dir)?;
        *self.lock() = Index::default();
        Ok(removed)
    }

    fn evict_over_budget(&self) {
        loop {
            let victim = {
                let mut index = self.lock();
                if index.bytes <= self.budget {
                    return;
                }
                let Some(&key) = index.by_use.values().next() else {
                    return;
                };
                index.remove(&key);
                key
            };
            let path = self.path(&victim);
            if let Err(e) = fs::remove_file(&path) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(path = %path.display(), error = %e, "could not evict a fetched block");
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        // The index holds no invariant a panic elsewhere could break halfway.
        self.index
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Deletes every block file under `dir`. Returns the blocks removed.
pub(super) fn clear_dir(dir: &Path) -> Result<Vec<CacheKey>> {
    let mut removed = Vec::new();
    for_each_file(dir, |key, path| {
        if fs::remove_file(path).is_ok() {
            removed.push(key);
        }
    })?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::super::{BlockSource, Blockstore, SourceFuture, StoreOptions};
    use bytes::Bytes;
    use cid::Cid;
    use multihash_codetable::{Code, MultihashDigest};

    fn block(n: u8, len: usize) -> (Cid, Bytes) {
        let data = Bytes::from(vec![n; len]);
        (Cid::new_v1(0x55, Code::Sha2_256.digest(&data)), data)
    }

    fn open(dir: &std::path::Path, budget: u64) -> Blockstore {
        let options = StoreOptions {
            // No memory cache: every read below goes to the disk.
            cache_bytes: 0,
            fetch_cache_bytes: Some(budget),
        };
        Blockstore::open(dir, options).unwrap()
    }

    fn read_now(store: &Blockstore, cid: &Cid) -> Option<Bytes> {
        match BlockSource::get(store, cid) {
            SourceFuture::Ready(Some(result)) => result.unwrap(),
            _ => panic!("a block in the page cache is read in place"),
        }
    }

    #[test]
    fn only_small_fetched_blocks_go_to_memory_on_arrival() {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions {
            cache_bytes: 1 << 20,
            fetch_cache_bytes: Some(1 << 20),
        };
        let store = Blockstore::open(dir.path(), options).unwrap();
        let (small, small_data) = block(1, crate::store::MEMORY_CACHED_FETCH_MAX);
        let (large, large_data) = block(2, crate::store::MEMORY_CACHED_FETCH_MAX + 1);
        store.cache_fetched(&small, &small_data).unwrap();
        store.cache_fetched(&large, &large_data).unwrap();
        assert_eq!(store.get_in_memory(&small), Some(small_data));
        assert_eq!(
            store.get_in_memory(&large),
            None,
            "a leaf streams through once"
        );
        // Read again, it comes from the fetch cache and is promoted then.
        assert_eq!(store.get(&large).unwrap(), Some(large_data.clone()));
        assert_eq!(store.get_in_memory(&large), Some(large_data));
    }

    #[test]
    fn fetched_blocks_are_read_back_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (cid, data) = block(1, 1000);
        {
            let store = open(dir.path(), 10_000);
            store.cache_fetched(&cid, &data).unwrap();
            assert_eq!(store.get(&cid).unwrap(), Some(data.clone()));
            assert_eq!(read_now(&store, &cid), Some(data.clone()));
            assert!(store.has(&cid).unwrap());
            assert_eq!(store.fetched_bytes(), 1000);
            // Not a kept block: GC's sweep does not list it.
            let mut kept = 0;
            store
                .for_each_block(|_| {
                    kept += 1;
                    Ok(())
                })
                .unwrap();
            assert_eq!(kept, 0);
        }
        let store = open(dir.path(), 10_000);
        assert_eq!(store.fetched_bytes(), 1000);
        assert_eq!(store.get(&cid).unwrap(), Some(data));
    }

    #[test]
    fn past_the_budget_the_least_recently_used_blocks_go() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), 2500);
        let blocks: Vec<_> = (0..3).map(|n| block(n, 1000)).collect();
        store.cache_fetched(&blocks[0].0, &blocks[0].1).unwrap();
        store.cache_fetched(&blocks[1].0, &blocks[1].1).unwrap();
        // Reading the first makes the second the least recently used.
        assert!(read_now(&store, &blocks[0].0).is_some());
        store.cache_fetched(&blocks[2].0, &blocks[2].1).unwrap();
        assert_eq!(store.fetched_bytes(), 2000);
        assert!(store.has(&blocks[0].0).unwrap());
        assert!(!store.has(&blocks[1].0).unwrap());
        assert!(store.has(&blocks[2].0).unwrap());
        // A smaller budget at the next start evicts down to it.
        drop(store);
        let store = open(dir.path(), 1000);
        assert_eq!(store.fetched_bytes(), 1000);
    }

    #[test]
    fn a_torn_fetched_block_reads_as_absent_and_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), 10_000);
        let (cid, data) = block(7, 500);
        store.cache_fetched(&cid, &data).unwrap();
        let path = store.fetched.as_ref().unwrap().path(cid.hash());
        std::fs::write(&path, &data[..100]).unwrap();
        assert_eq!(read_now(&store, &cid), None);
        assert!(!path.exists());
        assert_eq!(store.fetched_bytes(), 0);
    }

    #[test]
    fn keeping_a_fetched_block_moves_it_out_of_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), 10_000);
        let (cid, data) = block(9, 700);
        store.cache_fetched(&cid, &data).unwrap();
        assert!(store.keep(&cid).unwrap());
        assert_eq!(store.fetched_bytes(), 0);
        assert!(store.clear_fetched().unwrap().is_empty());
        assert_eq!(store.get(&cid).unwrap(), Some(data));
        let (absent, _) = block(10, 1);
        assert!(!store.keep(&absent).unwrap());
    }

    #[test]
    fn a_block_larger_than_the_budget_is_not_kept_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), 100);
        let (cid, data) = block(3, 101);
        store.cache_fetched(&cid, &data).unwrap();
        assert_eq!(store.fetched_bytes(), 0);
        assert!(!store.has(&cid).unwrap());
    }
}
