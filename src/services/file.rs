//! Streaming a byte range of a UnixFS file as `Bytes` slices of its blocks, without copying.
//!
//! The walk uses each node's `blocksizes` to step over whole subtrees before the range, so a
//! range request reads only the blocks it covers — and succeeds even when blocks outside it
//! are missing. Every block read is checked against the sizes its parent declared, so a
//! corrupt DAG ends the stream with an error instead of sending wrong bytes.

use bytes::Bytes;
use cid::Cid;
use smallvec::SmallVec;

use super::resolve::FileRoot;
use super::{fetch, Error, Result};
use crate::ipld::cid::codec;
use crate::ipld::unixfs::{self, DataType};
use crate::ipld::{dagpb, Error as IpldError};
use crate::store::Blockstore;

/// Deepest file DAG followed; balanced DAGs of real files are a handful of levels deep.
const MAX_DEPTH: usize = 64;

/// One dag-pb file node being walked: its children and where the next one starts.
struct Frame {
    links: Vec<dagpb::PbLink>,
    sizes: SmallVec<[u64; 8]>,
    next: usize,
    /// Absolute file offset at which child `next` starts.
    offset: u64,
}

/// Produces the bytes `[start, start + len)` of a file as a sequence of chunks.
pub struct FileStream<S> {
    store: S,
    /// The dag-pb nodes being walked, root first (empty for a single-block file, which so
    /// allocates nothing).
    stack: Vec<Frame>,
    /// Data held by the root itself (a raw root, or a dag-pb root's own Data), not yet sent.
    pending: Option<(u64, Bytes)>,
    pos: u64,
    remaining: u64,
}

impl<S: AsRef<Blockstore>> FileStream<S> {
    /// A stream of `len` bytes from `start`; the caller has checked the range against the
    /// file's size.
    pub fn new(store: S, root: &FileRoot, start: u64, len: u64) -> Result<Self> {
        let mut stream = FileStream {
            store,
            stack: Vec::new(),
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

    /// Bytes not yet produced.
    pub fn remaining(&self) -> u64 {
        self.remaining
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

    /// The next chunk, or `None` once the range has been produced.
    pub fn next_chunk(&mut self) -> Option<Result<Bytes>> {
        loop {
            if self.remaining == 0 {
                return None;
            }
            if let Some((at, bytes)) = self.pending.take() {
                if let Some(chunk) = self.take(at, bytes) {
                    return Some(Ok(chunk));
                }
                continue;
            }
            let Some(frame) = self.stack.last_mut() else {
                return Some(Err(IpldError::unixfs(
                    "file DAG ends before the size its root declares",
                )
                .into()));
            };
            let (Some(link), Some(&size)) =
                (frame.links.get(frame.next), frame.sizes.get(frame.next))
            else {
                self.stack.pop();
                continue;
            };
            let cid = link.cid;
            frame.next += 1;
            let child_start = frame.offset;
            frame.offset += size;
            if child_start + size <= self.pos {
                continue; // wholly before the range: never read
            }
            if let Err(e) = self.descend(cid, child_start, size) {
                self.remaining = 0;
                return Some(Err(e));
            }
        }
    }

    fn descend(&mut self, cid: Cid, start: u64, declared: u64) -> Result<()> {
        let block = fetch(self.store.as_ref(), &cid)?;
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

impl<S: AsRef<Blockstore>> Iterator for FileStream<S> {
    type Item = Result<Bytes>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_chunk()
    }
}
