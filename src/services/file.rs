//! Streaming a byte range of a UnixFS file as `Bytes` slices of its blocks, without copying.
//!
//! The walk uses each node's `blocksizes` to step over whole subtrees before the range, so a
//! range request reads only the blocks it covers — and succeeds even when blocks outside it
//! are missing. Every block read is checked against the sizes its parent declared, so a
//! corrupt DAG ends the stream with an error instead of sending wrong bytes.
//!
//! Blocks come from a [`BlockSource`](crate::store::BlockSource), asked for ahead of the
//! reader: the next [`PREFETCH_BLOCKS`] blocks the walk will need (in the order it will need
//! them, never past the range) are in flight while the current one is sent, so a slow source
//! — a disk, a peer — is read in parallel rather than one block at a time. Once the reader
//! finds itself waiting on its source (blocks from the network, or a cold disk), the window widens
//! to [`NETWORK_PREFETCH_BLOCKS`]: a remote backend answers each block request in a few
//! milliseconds and a Bitswap peer in a round trip, so more must be in flight to keep the
//! link full.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use cid::Cid;
use smallvec::SmallVec;

use super::resolve::FileRoot;
use super::{Error, Result};
use crate::ipld::cid::codec;
use crate::ipld::unixfs::{self, DataType};
use crate::ipld::{dagpb, Error as IpldError};
use crate::store::{SharedSource, SourceFuture};

/// Deepest file DAG followed; balanced DAGs of real files are a handful of levels deep.
const MAX_DEPTH: usize = 64;

/// Blocks asked for ahead of the one being sent. Eight 256 KiB leaves (2 MiB) keep a disk
/// busy without holding much; a range never asks for blocks past its end.
pub const PREFETCH_BLOCKS: usize = 8;

/// The window once the reader has waited on its source. Measured on a cold 64 MiB file from
/// a Kubo origin on loopback (scripts/retrieval-compare.py): remote-block mode went from
/// 141–167 to 235–285 MiB/s with 32 instead of 8; 8 MiB in flight per stream at most.
pub const NETWORK_PREFETCH_BLOCKS: usize = 32;

/// One dag-pb file node being walked: its children and where the next one starts.
struct Frame {
    links: Vec<dagpb::PbLink>,
    sizes: SmallVec<[u64; 8]>,
    next: usize,
    /// Absolute file offset at which child `next` starts.
    offset: u64,
}

/// A block asked for ahead of the walk.
struct Ahead {
    cid: Cid,
    read: Read,
}

enum Read {
    InFlight(SourceFuture<crate::store::Result<Option<Bytes>>>),
    Done(crate::store::Result<Option<Bytes>>),
}

/// Produces the bytes `[start, start + len)` of a file as a sequence of chunks.
pub struct FileStream {
    source: SharedSource,
    /// The dag-pb nodes being walked, root first (empty for a single-block file, which so
    /// allocates nothing).
    stack: Vec<Frame>,
    /// Blocks in flight or arrived, in the order the walk will want them; the first is the
    /// one it waits for.
    ahead: Vec<Ahead>,
    /// How many blocks `ahead` may hold: [`PREFETCH_BLOCKS`], widened to
    /// [`NETWORK_PREFETCH_BLOCKS`] once the walk has waited on its source.
    window: usize,
    /// Data held by the root itself (a raw root, or a dag-pb root's own Data), not yet sent.
    pending: Option<(u64, Bytes)>,
    pos: u64,
    remaining: u64,
}

impl FileStream {
    /// A stream of `len` bytes from `start`; the caller has checked the range against the
    /// file's size.
    pub fn new(source: SharedSource, root: &FileRoot, start: u64, len: u64) -> Result<Self> {
        let mut stream = FileStream {
            source,
            stack: Vec::new(),
            ahead: Vec::new(),
            window: PREFETCH_BLOCKS,
            pending: None,
            pos: start,
            remaining: len,
        };
        match root {
            FileRoot::Raw(bytes) => stream.pending = Some((0, bytes.clone())),
            FileRoot::UnixFs { node, data } => {
                stream.enter(node.clone(), data.clone(), 0)?;
            }
        }
        Ok(stream)
    }

    /// Pushes a dag-pb file node that starts at `base`: its own data, then its children.
    fn enter(&mut self, node: dagpb::PbNode, data: unixfs::UnixFsData, base: u64) -> Result<()> {
        if !matches!(data.kind, DataType::File | DataType::Raw) {
            return Err(IpldError::unixfs("file DAG holds a node that is not a file").into());
        }
        data.check_file_children(node.links.len())?;
        let own = data.data.unwrap_or_default();
        let children_start = base + own.len() as u64;
        if !own.is_empty() {
            self.pending = Some((base, own));
        }
        if !node.links.is_empty() {
            if self.stack.len() >= MAX_DEPTH {
                return Err(IpldError::unixfs("file DAG is too deep").into());
            }
            self.stack.push(Frame {
                links: node.links,
                sizes: data.blocksizes,
                next: 0,
                offset: children_start,
            });
        }
        Ok(())
    }

    /// Takes the part of `bytes` (which starts at file offset `at`) that the range still
    /// needs, if any.
    fn take(&mut self, at: u64, bytes: Bytes) -> Option<Bytes> {
        let end = at + bytes.len() as u64;
        if end <= self.pos || self.remaining == 0 {
            return None;
        }
        let from = (self.pos - at) as usize;
        let n = (bytes.len() - from).min(self.remaining.min(usize::MAX as u64) as usize);
        self.pos += n as u64;
        self.remaining -= n as u64;
        Some(bytes.slice(from..from + n))
    }

    /// Bytes not yet produced.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// The next chunk, or `None` once the range has been produced.
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes>> {
        poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// Polls for the next chunk: ready once the block holding it has arrived.
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes>>> {
        loop {
            if self.remaining == 0 {
                return Poll::Ready(None);
            }
            if let Some((at, bytes)) = self.pending.take() {
                if let Some(chunk) = self.take(at, bytes) {
                    return Poll::Ready(Some(Ok(chunk)));
                }
                continue;
            }
            let Some(frame) = self.stack.last_mut() else {
                self.remaining = 0;
                return Poll::Ready(Some(Err(IpldError::unixfs(
                    "file DAG ends before the size its root declares",
                )
                .into())));
            };
            let (Some(link), Some(&size)) =
                (frame.links.get(frame.next), frame.sizes.get(frame.next))
            else {
                self.stack.pop();
                continue;
            };
            let cid = link.cid;
            let child_start = frame.offset;
            if child_start + size <= self.pos {
                // Wholly before the range: never read.
                frame.next += 1;
                frame.offset += size;
                continue;
            }
            let block = match self.poll_block(cx, cid) {
                Poll::Ready(block) => block,
                Poll::Pending => return Poll::Pending,
            };
            if let Some(frame) = self.stack.last_mut() {
                frame.next += 1;
                frame.offset += size;
            }
            if let Err(e) = block.and_then(|block| self.descend(cid, block, child_start, size)) {
                self.remaining = 0;
                self.ahead.clear();
                return Poll::Ready(Some(Err(e)));
            }
        }
    }

    /// The block `cid`, the next one the walk needs, with the blocks after it asked for.
    fn poll_block(&mut self, cx: &mut Context<'_>, cid: Cid) -> Poll<Result<Bytes>> {
        if self.ahead.len() < self.window || self.ahead.first().is_none_or(|a| a.cid != cid) {
            self.refill();
        }
        self.poll_window(cx);
        if !self.head_arrived() && self.window < NETWORK_PREFETCH_BLOCKS {
            self.window = NETWORK_PREFETCH_BLOCKS;
            self.refill();
            self.poll_window(cx);
        }
        if !self.head_arrived() {
            return Poll::Pending;
        }
        let Read::Done(result) = self.ahead.remove(0).read else {
            return Poll::Pending;
        };
        Poll::Ready(match result {
            Ok(Some(block)) => Ok(block),
            Ok(None) => Err(Error::BlockMissing(cid)),
            Err(e) => Err(e.into()),
        })
    }

    /// Polls every read in the window, so each makes progress and wakes this stream.
    fn poll_window(&mut self, cx: &mut Context<'_>) {
        for ahead in &mut self.ahead {
            if let Read::InFlight(read) = &mut ahead.read {
                if let Poll::Ready(result) = Pin::new(read).poll(cx) {
                    ahead.read = Read::Done(result);
                }
            }
        }
    }

    /// Whether the block the walk waits for has arrived.
    fn head_arrived(&self) -> bool {
        matches!(
            self.ahead.first(),
            Some(Ahead {
                read: Read::Done(_),
                ..
            })
        )
    }

    /// Makes the window the next blocks the walk will need, in order: reads already asked for
    /// are kept, new ones started, and those no longer among the next are dropped.
    fn refill(&mut self) {
        let end = self.pos + self.remaining;
        // Sized for the widest window: refilled once per block, it must not spill to the heap.
        let mut next: SmallVec<[Cid; NETWORK_PREFETCH_BLOCKS]> = SmallVec::new();
        let window = self.window;
        'frames: for frame in self.stack.iter().rev() {
            let mut offset = frame.offset;
            let links = frame.links.iter().skip(frame.next);
            for (link, &size) in links.zip(frame.sizes.iter().skip(frame.next)) {
                if next.len() == window || offset >= end {
                    break 'frames;
                }
                if offset + size > self.pos {
                    next.push(link.cid);
                }
                offset += size;
            }
        }
        // Reordered in place, so the window's buffer is allocated once per stream.
        for (i, cid) in next.iter().enumerate() {
            match self.ahead[i..].iter().position(|a| a.cid == *cid) {
                Some(found) => self.ahead.swap(i, i + found),
                None => self.ahead.insert(
                    i,
                    Ahead {
                        cid: *cid,
                        read: Read::InFlight(self.source.get(cid)),
                    },
                ),
            }
        }
        self.ahead.truncate(next.len());
    }

    fn descend(&mut self, cid: Cid, block: Bytes, start: u64, declared: u64) -> Result<()> {
        let mismatch = |actual: u64| {
            Error::Ipld(IpldError::unixfs(format!(
                "block {} holds {actual} file bytes but its parent declares {declared}",
                crate::ipld::cid::to_v1_string(&cid)
            )))
        };
        match cid.codec() {
            codec::RAW => {
                if block.len() as u64 != declared {
                    return Err(mismatch(block.len() as u64));
                }
                self.pending = Some((start, block));
                Ok(())
            }
            codec::DAG_PB => {
                let (node, data) = decode_file_node(&block)?;
                if data.file_size() != declared {
                    return Err(mismatch(data.file_size()));
                }
                self.enter(node, data, start)
            }
            other => Err(IpldError::unsupported(format!(
                "file DAG links to a block of codec 0x{other:x}"
            ))
            .into()),
        }
    }
}

/// A dag-pb block inside a file DAG: its node and UnixFS data, which must be a file's.
pub(super) fn decode_file_node(block: &Bytes) -> Result<(dagpb::PbNode, unixfs::UnixFsData)> {
    let node = dagpb::decode(block)?;
    let data = node
        .data
        .as_ref()
        .ok_or_else(|| IpldError::unixfs("file node has no UnixFS Data"))?;
    let data = unixfs::decode(data)?;
    if !matches!(data.kind, DataType::File | DataType::Raw) {
        return Err(IpldError::unixfs("file DAG holds a node that is not a file").into());
    }
    Ok((node, data))
}

impl futures_core::Stream for FileStream {
    type Item = Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes>>> {
        self.get_mut().poll_chunk(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::services::resolve::{self, Node};
    use crate::services::testing::store_with;
    use crate::test_support::GatedSource;

    /// `multiblock.txt`: 1026 bytes in five raw leaves (256 bytes each, then 2).
    const MULTIBLOCK: &str = "bafybeigcisqd7m5nf3qmuvjdbakl5bdnh4ocrmacaqkpuh77qjvggmt2sa";
    const MIXED: &str = "trustless_gateway_car/subdir-with-mixed-block-files.car";

    /// A stream of `[start, start + len)` of the file over a source whose leaves all wait.
    async fn gated_stream(
        start: u64,
        len: u64,
    ) -> (FileStream, Arc<GatedSource>, tempfile::TempDir) {
        let (dir, store) = store_with(&[MIXED]);
        let root: Cid = MULTIBLOCK.parse().unwrap();
        let Node::File(file) = resolve::Node::load(&*store, &root).await.unwrap() else {
            panic!("not a file");
        };
        let leaves = dagpb::decode(&store.get(&root).unwrap().unwrap())
            .unwrap()
            .links
            .iter()
            .map(|link| link.cid)
            .collect::<Vec<_>>();
        let gated = Arc::new(GatedSource::new(store, leaves));
        let source: SharedSource = Arc::clone(&gated) as SharedSource;
        (
            FileStream::new(source, &file, start, len).unwrap(),
            gated,
            dir,
        )
    }

    fn poll_once(stream: &mut FileStream) -> Poll<Option<Result<Bytes>>> {
        stream.poll_chunk(&mut Context::from_waker(std::task::Waker::noop()))
    }

    #[tokio::test]
    async fn the_blocks_ahead_are_asked_for_together() {
        let (mut stream, gated, _dir) = gated_stream(0, 1026).await;
        assert!(poll_once(&mut stream).is_pending());
        assert_eq!(
            gated.asked(),
            5,
            "every leaf of the range is in flight at once"
        );
        gated.release(5);
        let mut total = 0;
        while let Some(chunk) = stream.next_chunk().await {
            total += chunk.unwrap().len();
        }
        assert_eq!(total, 1026);
        assert_eq!(gated.asked(), 5, "no block was asked for twice");
    }

    #[tokio::test]
    async fn a_range_asks_only_for_its_blocks() {
        // Bytes 300..600 lie in the second and third leaves.
        let (mut stream, gated, _dir) = gated_stream(300, 300).await;
        assert!(poll_once(&mut stream).is_pending());
        assert_eq!(gated.asked(), 2);
        gated.release(2);
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next_chunk().await {
            bytes.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(bytes.len(), 300);
        assert_eq!(gated.asked(), 2);
    }

    /// A file of `leaves` 16-byte raw leaves under one root, in a fresh store, streamed over a
    /// source whose leaves all wait.
    async fn wide_gated_stream(leaves: usize) -> (FileStream, Arc<GatedSource>, tempfile::TempDir) {
        use crate::services::add::{ChunkerSpec, ImportParams, Metadata, StoreSink};
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(crate::store::Blockstore::open(dir.path(), Default::default()).unwrap());
        let params = ImportParams {
            chunker: ChunkerSpec::Size(16),
            ..ImportParams::cid_v1()
        };
        let data: Vec<u8> = (0..leaves * 16).map(|i| i as u8).collect();
        let entry = crate::services::ingest::add_reader(
            &data[..],
            Some(data.len() as u64),
            &params,
            Metadata::default(),
            &mut StoreSink::new(&store),
            &mut |_| {},
        )
        .unwrap();
        let Node::File(file) = resolve::Node::load(&*store, &entry.cid).await.unwrap() else {
            panic!("not a file");
        };
        let leaf_cids = dagpb::decode(&store.get(&entry.cid).unwrap().unwrap())
            .unwrap()
            .links
            .iter()
            .map(|link| link.cid)
            .collect::<Vec<_>>();
        assert_eq!(leaf_cids.len(), leaves);
        let gated = Arc::new(GatedSource::new(store, leaf_cids));
        let source: SharedSource = Arc::clone(&gated) as SharedSource;
        let len = data.len() as u64;
        (FileStream::new(source, &file, 0, len).unwrap(), gated, dir)
    }

    #[tokio::test]
    async fn the_window_widens_once_the_source_makes_the_reader_wait() {
        let (mut stream, gated, _dir) = wide_gated_stream(100).await;
        assert!(poll_once(&mut stream).is_pending());
        assert_eq!(
            gated.asked(),
            NETWORK_PREFETCH_BLOCKS,
            "widened at the first wait"
        );
        gated.release(100);
        let mut total = 0;
        while let Some(chunk) = stream.next_chunk().await {
            total += chunk.unwrap().len();
        }
        assert_eq!(total, 1600);
        assert_eq!(gated.asked(), 100, "no block was asked for twice");
    }
}
