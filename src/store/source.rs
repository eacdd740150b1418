//! The one seam every block read goes through: [`BlockSource`], an asynchronous source of
//! verified blocks. The embedded [`Blockstore`] is one; the network (bitswap, remote
//! backends) will be another, and a composite of both is what the node serves from.
//!
//! Reads return a [`SourceFuture`]: an answer at hand (a block in memory, an identity CID)
//! completes without allocating or yielding, so the hot path of a cached file costs nothing
//! more than a hash-map lookup; anything that may wait (a disk read, a peer) is a boxed
//! `'static` future, so a response body can hold it across polls without borrowing the
//! source. A source that stalls therefore parks a task, never a runtime thread: a block file
//! the kernel has cached is read in place ([`cached_read`]), any read that would wait for the
//! disk runs on tokio's blocking pool.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use cid::Cid;

use super::cached_read::{self, Cached};
use super::{read_disk, size_on_disk, Blockstore, Error, Result};

/// A pending read, owning everything it needs.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The answer of a [`BlockSource`] call: ready at once, or later.
#[must_use = "a source future does nothing unless awaited or polled"]
pub enum SourceFuture<T> {
    /// Answered without waiting (taken on the first poll).
    Ready(Option<T>),
    /// Answered once the read completes.
    Pending(BoxFuture<T>),
}

impl<T> SourceFuture<T> {
    pub fn ready(value: T) -> Self {
        SourceFuture::Ready(Some(value))
    }

    pub fn pending(future: impl Future<Output = T> + Send + 'static) -> Self {
        SourceFuture::Pending(Box::pin(future))
    }

    /// The answer, if it was at hand without waiting. Code on a blocking thread reading a
    /// source that answers in place (the store read on this thread, a write batch) takes
    /// answers this way; `None` means the source would have had to wait.
    pub fn now(self) -> Option<T> {
        match self {
            SourceFuture::Ready(value) => value,
            SourceFuture::Pending(_) => None,
        }
    }
}

// Neither variant is structurally pinned: the value sits in an `Option` and is moved out,
// the future in a `Box`.
impl<T> Unpin for SourceFuture<T> {}

impl<T> Future for SourceFuture<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.get_mut() {
            SourceFuture::Ready(value) => match value.take() {
                Some(value) => Poll::Ready(value),
                // Polled after completion: a caller bug, answered with a pending forever
                // rather than a panic on a request path.
                None => Poll::Pending,
            },
            SourceFuture::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

/// An asynchronous source of blocks, each verified against its CID before it is returned.
///
/// Blocks are addressed by multihash: a CID of another version or codec with the same
/// multihash names the same block.
pub trait BlockSource: Send + Sync {
    /// The block's bytes, or `None` when the source does not have it.
    fn get(&self, cid: &Cid) -> SourceFuture<Result<Option<Bytes>>>;

    /// Whether the source has the block, without reading it where it can tell.
    fn has(&self, cid: &Cid) -> SourceFuture<Result<bool>>;

    /// The block's size in bytes without its bytes (`None`: not there), where the source can
    /// tell cheaply; otherwise by reading it.
    fn size(&self, cid: &Cid) -> SourceFuture<Result<Option<u64>>>;
}

/// A source shared by the requests and streams reading from it.
pub type SharedSource = Arc<dyn BlockSource>;

impl BlockSource for Blockstore {
    fn get(&self, cid: &Cid) -> SourceFuture<Result<Option<Bytes>>> {
        if let Some(block) = self.get_in_memory(cid) {
            self.count_cache_read(true);
            return SourceFuture::ready(Ok(Some(block)));
        }
        self.count_cache_read(false);
        let at = self.disk(cid);
        if let Cached::Answer(block) = read_disk(&at, cached_read::read) {
            if let Ok(Some(block)) = &block {
                self.cache.insert(*cid.hash(), block.clone());
            }
            return SourceFuture::Ready(Some(block));
        }
        let cache = Arc::clone(&self.cache);
        SourceFuture::pending(blocking(move || {
            let found = read_disk(&at, |path| {
                Cached::Answer(Blockstore::read_block_file(path))
            });
            let Cached::Answer(block) = found else {
                unreachable!("a blocking read always answers")
            };
            let block = block?;
            if let Some(block) = &block {
                cache.insert(*at.cid.hash(), block.clone());
            }
            Ok(block)
        }))
    }

    fn has(&self, cid: &Cid) -> SourceFuture<Result<bool>> {
        let size = self.size(cid);
        match size {
            SourceFuture::Ready(Some(size)) => SourceFuture::ready(size.map(|s| s.is_some())),
            SourceFuture::Ready(None) => SourceFuture::Ready(None),
            SourceFuture::Pending(size) => {
                SourceFuture::pending(async move { Ok(size.await?.is_some()) })
            }
        }
    }

    fn size(&self, cid: &Cid) -> SourceFuture<Result<Option<u64>>> {
        if let Some(block) = self.get_in_memory(cid) {
            return SourceFuture::ready(Ok(Some(block.len() as u64)));
        }
        let at = self.disk(cid);
        if let Cached::Answer(size) = size_on_disk(&at, cached_read::size) {
            return SourceFuture::ready(size);
        }
        SourceFuture::pending(blocking(move || {
            match size_on_disk(&at, |path| {
                Cached::Answer(Blockstore::block_file_size(path))
            }) {
                Cached::Answer(size) => size,
                Cached::WouldWait => unreachable!("a blocking read always answers"),
            }
        }))
    }
}

/// Runs a file operation on tokio's blocking pool, so a slow disk parks this task and not a
/// worker thread.
async fn blocking<T: Send + 'static>(op: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    match tokio::task::spawn_blocking(op).await {
        Ok(result) => result,
        Err(e) => Err(Error::Worker(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;
    use multihash_codetable::{Code, MultihashDigest};

    #[tokio::test]
    async fn the_store_answers_through_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let store = Blockstore::open(dir.path(), StoreOptions::default()).unwrap();
        let cid = Cid::new_v1(0x55, Code::Sha2_256.digest(b"source"));
        let source: SharedSource = Arc::new(store);
        assert_eq!(source.get(&cid).await.unwrap(), None);
        assert!(!source.has(&cid).await.unwrap());
        assert_eq!(source.size(&cid).await.unwrap(), None);

        let dir2 = tempfile::tempdir().unwrap();
        let store = Blockstore::open(
            dir2.path(),
            StoreOptions {
                cache_bytes: 0,
                ..StoreOptions::default()
            },
        )
        .unwrap();
        store.put(&cid, b"source").unwrap();
        // Not in memory but in the page cache: read in place, without another thread.
        assert!(matches!(
            BlockSource::get(&store, &cid),
            SourceFuture::Ready(Some(Ok(Some(_))))
        ));
        // Not in the page cache either: the read goes to the blocking pool and still answers.
        let path = store.block_path(cid.hash());
        let file = std::fs::File::open(&path).unwrap();
        rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed).unwrap();
        let pending = BlockSource::get(&store, &cid);
        assert!(matches!(pending, SourceFuture::Pending(_)));
        assert_eq!(pending.await.unwrap().unwrap(), &b"source"[..]);
        assert!(BlockSource::has(&store, &cid).await.unwrap());
        assert_eq!(BlockSource::size(&store, &cid).await.unwrap(), Some(6));
    }

    #[tokio::test]
    async fn cached_and_identity_blocks_are_ready_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Blockstore::open(dir.path(), StoreOptions::default()).unwrap();
        let identity: Cid = "bafkqabtimvwgy3yk".parse().unwrap();
        assert!(matches!(
            BlockSource::get(&store, &identity),
            SourceFuture::Ready(Some(Ok(Some(_))))
        ));
        let cid = Cid::new_v1(0x55, Code::Sha2_256.digest(b"hot"));
        store.put(&cid, b"hot").unwrap();
        store.get(&cid).unwrap();
        assert!(matches!(
            BlockSource::get(&store, &cid),
            SourceFuture::Ready(Some(Ok(Some(_))))
        ));
    }
}
