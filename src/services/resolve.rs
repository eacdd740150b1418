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
                        let fanout = data.fanout.unwrap_or(0);
                        hamt::prefix_len(fanout)?;
                        if data.hash_type != Some(hamt::MURMUR3_X64_64) {
                            return Err(IpldError::hamt(
                                "HAMT hash function is not murmur3-x64-64",
                            )
                            .into());
                        }
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
/// `root`.
pub fn resolve<'s>(
    store: &Blockstore,
    root: Cid,
    segments: impl IntoIterator<Item = &'s str>,
) -> Result<Resolved> {
    let mut cid = root;
    let mut node = Node::load(store, &root)?;
    let mut roots = SmallVec::new();
    roots.push(root);
    for (depth, segment) in segments.into_iter().enumerate() {
        if depth >= MAX_PATH_DEPTH {
            return Err(Error::InvalidInput(format!(
                "path is deeper than {MAX_PATH_DEPTH} segments"
            )));
        }
        let child = match &node {
            Node::Directory(dir) => find_link(dir, segment),
            Node::HamtDirectory(shard, fanout) => hamt_lookup(store, shard, *fanout, segment)?,
            _ => None,
        };
        let Some(child) = child else {
            return Err(Error::NotFound(format!(
                "no link named {segment:?} under {}",
                crate::ipld::cid::to_v1_string(&cid)
            )));
        };
        cid = child;
        node = Node::load(store, &cid)?;
        roots.push(cid);
    }
    Ok(Resolved { cid, node, roots })
}

/// The named link of a plain directory.
pub fn find_link(dir: &PbNode, name: &str) -> Option<Cid> {
    dir.links
        .iter()
        .find(|link| link.name_str() == name)
        .map(|link| link.cid)
}

/// Looks `name` up in a HAMT, fetching only the shards on its hash path.
pub fn hamt_lookup(
    store: &Blockstore,
    root: &PbNode,
    fanout: u64,
    name: &str,
) -> Result<Option<Cid>> {
    let width = hamt::prefix_len(fanout)?;
    let mut hash = hamt::HashBits::new(name.as_bytes(), fanout)?;
    let mut owned: PbNode;
    let mut shard = root;
    loop {
        let slot = hash.next_slot()?;
        let mut next = None;
        for link in &shard.links {
            let (link_slot, kind) = hamt::classify_link(link.name_str(), width)?;
            if link_slot != slot {
                continue;
            }
            match kind {
                hamt::HamtLink::Entry(entry) => return Ok((entry == name).then_some(link.cid)),
                hamt::HamtLink::Shard => next = Some(link.cid),
            }
            break;
        }
        let Some(next) = next else {
            return Ok(None);
        };
        let node = dagpb::decode(&fetch(store, &next)?)?;
        check_shard(&node, fanout)?;
        owned = node;
        shard = &owned;
    }
}

/// A HAMT child shard must be a HAMT node with the same fanout as its parent.
pub(crate) fn check_shard(node: &PbNode, fanout: u64) -> Result<()> {
    let data = node
        .data
        .as_ref()
        .ok_or_else(|| IpldError::hamt("shard has no UnixFS Data"))?;
    let data = unixfs::decode(data)?;
    if data.kind != DataType::HamtShard || data.fanout != Some(fanout) {
        return Err(IpldError::hamt("child shard is not a HAMT node of the same fanout").into());
    }
    Ok(())
}
