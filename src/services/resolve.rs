//! Path resolution: from a root CID and path segments to the node they name, through UnixFS
//! directories and HAMT shards, recording the CID each segment resolved to (for
//! `X-Ipfs-Roots`). Symlinks are not followed mid-path, as in Kubo: a symlink can only be the
//! last segment, and is then served as itself.

use bytes::Bytes;
use cid::Cid;
use smallvec::SmallVec;

use super::{fetch, Error, Result};
use crate::ipld::cid::codec;
use crate::ipld::dagpb::{self, PbNode};
use crate::ipld::unixfs::{self, DataType, UnixFsData};
use crate::ipld::{hamt, Error as IpldError};
use crate::store::Blockstore;

/// Deepest path accepted; deeper paths are refused before any block is read.
pub const MAX_PATH_DEPTH: usize = 128;

/// What a CID's block is, as far as serving it goes.
pub enum Node {
    /// A file: a raw block, or a dag-pb UnixFS File/Raw node (its DAG may span many blocks).
    File(FileRoot),
    /// A plain UnixFS directory.
    Directory(PbNode),
    /// A HAMT-sharded UnixFS directory (its root shard).
    HamtDirectory(PbNode, u64),
    /// A UnixFS symlink, with its target.
    Symlink(Bytes),
    /// A block of another codec (dag-cbor, dag-json, …), served as its bytes.
    Other(u64, Bytes),
}

/// The root of a file DAG.
// Lives briefly on the stack of one request; boxing the large variant would cost an
// allocation per request for nothing.
#[allow(clippy::large_enum_variant)]
pub enum FileRoot {
    Raw(Bytes),
    UnixFs { node: PbNode, data: UnixFsData },
}

impl FileRoot {
    /// The file's size in bytes, as its root declares it.
    pub fn size(&self) -> u64 {
        match self {
            FileRoot::Raw(bytes) => bytes.len() as u64,
            FileRoot::UnixFs { data, .. } => data.file_size(),
        }
    }

    /// The UnixFS 1.5 modification time, when the root carries a valid one.
    pub fn mtime(&self) -> Option<unixfs::UnixTime> {
        match self {
            FileRoot::Raw(_) => None,
            FileRoot::UnixFs { data, .. } => data.valid_mtime(),
        }
    }
}

impl Node {
    /// Reads and classifies the block of `cid`.
    pub fn load(store: &Blockstore, cid: &Cid) -> Result<Node> {
        let block = fetch(store, cid)?;
        Node::decode(cid, block)
    }

    /// Classifies a block already in hand.
    pub fn decode(cid: &Cid, block: Bytes) -> Result<Node> {
        match cid.codec() {
            codec::RAW => Ok(Node::File(FileRoot::Raw(block))),
            codec::DAG_PB => {
                let node = dagpb::decode(&block)?;
                let data = match &node.data {
                    Some(data) => unixfs::decode(data)?,
                    None => return Err(IpldError::unixfs("dag-pb node has no UnixFS Data").into()),
                };
                Ok(match data.kind {
                    DataType::File | DataType::Raw => Node::File(FileRoot::UnixFs { node, data }),
                    DataType::Directory => Node::Directory(node),
                    DataType::HamtShard => {
                        let fanout = hamt_fanout(&data)?;
                        Node::HamtDirectory(node, fanout)
                    }
                    DataType::Symlink => Node::Symlink(data.data.unwrap_or_default()),
                    DataType::Metadata => {
                        return Err(IpldError::unsupported("UnixFS Metadata nodes").into())
                    }
                })
            }
            other => Ok(Node::Other(other, block)),
        }
    }

    pub fn is_directory(&self) -> bool {
        matches!(self, Node::Directory(_) | Node::HamtDirectory(..))
    }
}

/// The outcome of resolving a path.
pub struct Resolved {
    /// The CID the whole path names.
    pub cid: Cid,
    pub node: Node,
    /// The root, then the CID each segment resolved to (the last is `cid`).
    pub roots: SmallVec<[Cid; 4]>,
}

/// Resolves `segments` (already percent-decoded, without empty, `.` or `..` segments) below
/// `root`. Intermediate directories are scanned lazily, link by link, without building a
/// node; only the block the path ends at is fully decoded.
pub fn resolve<'s>(
    store: &Blockstore,
    root: Cid,
    segments: impl IntoIterator<Item = &'s str>,
) -> Result<Resolved> {
    let mut cid = root;
    let mut block = fetch(store, &root)?;
    let mut roots = SmallVec::new();
    roots.push(root);
    for (depth, segment) in segments.into_iter().enumerate() {
        if depth >= MAX_PATH_DEPTH {
            return Err(Error::InvalidInput(format!(
                "path is deeper than {MAX_PATH_DEPTH} segments"
            )));
        }
        let child = if cid.codec() == codec::DAG_PB {
            child_of(store, &block, segment)?
        } else {
            None
        };
        let Some(child) = child else {
            return Err(Error::NotFound(format!(
                "no link named {segment:?} under {}",
                crate::ipld::cid::to_v1_string(&cid)
            )));
        };
        cid = child;
        block = fetch(store, &cid)?;
        roots.push(cid);
    }
    let node = Node::decode(&cid, block)?;
    Ok(Resolved { cid, node, roots })
}

/// The child named `name` of a dag-pb block, if the block is a directory that has one.
fn child_of(store: &Blockstore, block: &Bytes, name: &str) -> Result<Option<Cid>> {
    let node = dagpb::decode_lazily(block)?;
    let Some(data) = &node.data else {
        return Ok(None);
    };
    let data = unixfs::decode(data)?;
    match data.kind {
        DataType::Directory => {
            for link in node.links {
                let link = link?;
                if link.name_str() == name {
                    return Ok(Some(link.cid));
                }
            }
            Ok(None)
        }
        DataType::HamtShard => {
            let fanout = hamt_fanout(&data)?;
            hamt_lookup_lazily(store, block.clone(), fanout, name)
        }
        _ => Ok(None),
    }
}

fn hamt_fanout(data: &UnixFsData) -> Result<u64> {
    let fanout = data.fanout.unwrap_or(0);
    hamt::prefix_len(fanout)?;
    if data.hash_type != Some(hamt::MURMUR3_X64_64) {
        return Err(IpldError::hamt("HAMT hash function is not murmur3-x64-64").into());
    }
    Ok(fanout)
}

/// The named link of a plain directory.
pub fn find_link(dir: &PbNode, name: &str) -> Option<Cid> {
    dir.links
        .iter()
        .find(|link| link.name_str() == name)
        .map(|link| link.cid)
}

/// Looks `name` up in a decoded HAMT root.
pub fn hamt_lookup(
    store: &Blockstore,
    root: &PbNode,
    fanout: u64,
    name: &str,
) -> Result<Option<Cid>> {
    let width = hamt::prefix_len(fanout)?;
    let mut hash = hamt::HashBits::new(name.as_bytes(), fanout)?;
    let slot = hash.next_slot()?;
    match slot_link(root.links.iter().cloned().map(Ok), slot, width, name)? {
        Slot::Found(cid) => Ok(Some(cid)),
        Slot::Absent => Ok(None),
        Slot::Shard(next) => descend_hamt(store, next, fanout, width, hash, name),
    }
}

/// Looks `name` up in a HAMT given its root block, fetching only the shards on its hash path.
fn hamt_lookup_lazily(
    store: &Blockstore,
    root: Bytes,
    fanout: u64,
    name: &str,
) -> Result<Option<Cid>> {
    let width = hamt::prefix_len(fanout)?;
    let mut hash = hamt::HashBits::new(name.as_bytes(), fanout)?;
    let slot = hash.next_slot()?;
    match slot_link(dagpb::decode_lazily(&root)?.links, slot, width, name)? {
        Slot::Found(cid) => Ok(Some(cid)),
        Slot::Absent => Ok(None),
        Slot::Shard(next) => descend_hamt(store, next, fanout, width, hash, name),
    }
}

fn descend_hamt(
    store: &Blockstore,
    mut shard: Cid,
    fanout: u64,
    width: usize,
    mut hash: hamt::HashBits,
    name: &str,
) -> Result<Option<Cid>> {
    loop {
        let block = fetch(store, &shard)?;
        let node = dagpb::decode_lazily(&block)?;
        check_shard_data(node.data.as_ref(), fanout)?;
        let slot = hash.next_slot()?;
        match slot_link(node.links, slot, width, name)? {
            Slot::Found(cid) => return Ok(Some(cid)),
            Slot::Absent => return Ok(None),
            Slot::Shard(next) => shard = next,
        }
    }
}

enum Slot {
    Found(Cid),
    Absent,
    Shard(Cid),
}

/// What a shard's links say about `name` at hash slot `slot`.
fn slot_link(
    links: impl IntoIterator<Item = crate::ipld::Result<dagpb::PbLink>>,
    slot: u32,
    width: usize,
    name: &str,
) -> Result<Slot> {
    for link in links {
        let link = link?;
        let (link_slot, kind) = hamt::classify_link(link.name_str(), width)?;
        if link_slot != slot {
            continue;
        }
        return Ok(match kind {
            hamt::HamtLink::Entry(entry) if entry == name => Slot::Found(link.cid),
            hamt::HamtLink::Entry(_) => Slot::Absent,
            hamt::HamtLink::Shard => Slot::Shard(link.cid),
        });
    }
    Ok(Slot::Absent)
}

/// A HAMT child shard must be a HAMT node with the same fanout as its parent.
pub(crate) fn check_shard(node: &PbNode, fanout: u64) -> Result<()> {
    check_shard_data(node.data.as_ref(), fanout)
}

fn check_shard_data(data: Option<&Bytes>, fanout: u64) -> Result<()> {
    let data = data.ok_or_else(|| IpldError::hamt("shard has no UnixFS Data"))?;
    let data = unixfs::decode(data)?;
    if data.kind != DataType::HamtShard || data.fanout != Some(fanout) {
        return Err(IpldError::hamt("child shard is not a HAMT node of the same fanout").into());
    }
    Ok(())
}
