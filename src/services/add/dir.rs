//! Directories of the UnixFS importer: one directory ([`DirectoryBuilder`]), whole trees from
//! relative paths ([`TreeBuilder`]), symlink nodes ([`symlink_entry`]), and single-entry edits
//! of stored directories ([`insert`], [`remove`]) for the writable gateway. Every rule here is
//! Kubo v0.42.0's (boxo v0.40.0 `ipld/unixfs/io/directory.go`, `ipld/unixfs/hamt`, `mfs`, and
//! Kubo's `core/coreunix/add.go`), because a directory CID must match Kubo's byte for byte.
//!
//! Plain directory (UnixFS spec "dag-pb Directory"): links sorted bytewise by name, every link
//! with Name and Tsize (the child's cumulative size), Data = UnixFS `Type=Directory` plus the
//! optional `mode` (permission bits only, boxo `ModePermsToUnixPerms`) and `mtime`.
//!
//! HAMT (spec "dag-pb HAMTDirectory"): murmur3-x64-64 of the name, `log2(fanout)` bits per
//! level; a slot holds one entry (link name = upper-hex slot prefix + entry name, Tsize = the
//! entry's) or, when two or more names share it, a sub-shard (link name = the prefix alone,
//! Tsize = the sub-shard's cumulative size). The trie is canonical: it depends only on the set
//! of names. Data = `Type=HAMTShard`, `Data` = go-bitfield of occupied slots (big-endian,
//! leading zero bytes dropped, absent when empty), `hashType=0x22`, `fanout`; only the root
//! shard carries the directory's mode/mtime.
//!
//! When Kubo shards (boxo `DynamicDirectory`). The threshold compares with `>`: a directory
//! whose estimate equals the threshold stays plain. The estimate is, per link, `len(name) +
//! len(cid bytes)` (`links`, Kubo's default) or the exact serialized block size (`block`,
//! `unixfs-v1-2025`). `max_directory_links > 0` also shards once the entry count exceeds it;
//! a threshold of 0 disables sharding altogether, the link limit included. But the decision is
//! not a function of the final directory: boxo re-evaluates it on every `AddChild`, and Kubo's
//! adder (through MFS) adds every entry in bytewise name order, each subdirectory first as an
//! empty directory, then replaces every subdirectory link with its final node when the tree
//! is flushed. A replacement in a HAMT directory can un-shard it (boxo counts the old link
//! with its slot prefix and the new link without a name, so the estimate drops by
//! `2 + len(name)`), and a replacement in a plain one re-shards it. [`DirectoryBuilder`]
//! replays exactly that history (see `DynamicSize`). Kubo replays the flush in Go map order,
//! which is random: when the order matters Kubo itself gives different CIDs run to run; this
//! module replays in name order, which is one of Kubo's outcomes. Not replayed: Kubo's
//! `FlushMemFree` every 262 144 added nodes, which can shift the outcome for a directory
//! within a few bytes of the threshold in trees that large.
//!
//! Edits ([`insert`], [`remove`]) behave as boxo's `DynamicDirectory` over a directory freshly
//! loaded from its block (what `ipfs files` does in each command), quirks included: a HAMT
//! un-shards when `sum(entries) + change <= threshold`, where the change counts a removed or
//! replaced entry with its slot prefix and an added or replacing one without its name (so
//! replacing an entry can un-shard a HAMT, and a replacement in a plain directory over the
//! threshold shards it), and the link limit counts only the root shard's links. Only the shards on the entry's path are
//! rewritten; a sub-shard left with a single entry collapses into its parent (boxo
//! `swapValue`), keeping the trie canonical.
//!
//! This file owns the shared pieces (parameters, links, plain directory blocks); the rest lives
//! in `estimate` (when to shard), `sharding` (HAMT blocks), `builder` ([`DirectoryBuilder`]),
//! `tree` ([`TreeBuilder`]) and `edit` ([`insert`], [`remove`]).

mod builder;
mod edit;
mod estimate;
mod sharding;
#[cfg(test)]
mod tests;
mod tree;

pub use builder::{check_name, symlink_entry, DirectoryBuilder};
pub use edit::{insert, remove};
pub use tree::{TreeBuilder, TreeOutput};

use estimate::*;
use sharding::*;

use std::collections::{BTreeMap, HashSet};
use std::ops::ControlFlow;

use bytes::Bytes;
use cid::Cid;
use multihash::Multihash;
use multihash_codetable::{Code, MultihashDigest};

use super::{AddError, BlockSink, Entry, ImportParams, Metadata, SizeEstimation};
use crate::ipld::cid::codec::DAG_PB;
use crate::ipld::cid::hash::{IDENTITY, SHA2_256};
use crate::ipld::dagpb::{self, PbLinkRef};
use crate::ipld::hamt::{self, ShardParams};
use crate::ipld::protobuf::{bytes_field_len, varint_field_len};
use crate::ipld::unixfs::{self, DataType, UnixFsData};

/// Largest multihash digest the `cid` crate holds.
const MAX_DIGEST: usize = 64;
/// Bytes of the go-bitfield of the widest shard the spec allows.
const MAX_BITFIELD: usize = (hamt::MAX_FANOUT / 8) as usize;
/// Deepest directory nesting a [`TreeBuilder`] accepts (bounds the work per path and the
/// recursion of dropping a tree; the builder's own walks are iterative).
pub const MAX_TREE_DEPTH: usize = 1024;
/// Deepest HAMT nesting followed when reading a stored shard (fanout 8 runs out of hash bits
/// after 21 levels; anything deeper is malformed).
const MAX_SHARD_DEPTH: usize = 64;

/// Edits read the directories they change through the node's one block interface, from a
/// source that answers in place (they run on blocking threads): the store read on this
/// thread ([`crate::services::InPlace`]) or a write batch holding blocks not yet committed.
pub use crate::store::BlockSource;

// ---------------------------------------------------------------------------------------------
// Blocks and CIDs
// ---------------------------------------------------------------------------------------------

/// What a directory needs of [`ImportParams`], checked once.
#[derive(Clone, Copy)]
struct DirParams<'p> {
    params: &'p ImportParams,
    hash: Code,
    shard: ShardParams,
}

impl<'p> DirParams<'p> {
    fn new(params: &'p ImportParams) -> Result<Self, AddError> {
        if params.cid_version > 1 {
            return Err(AddError::InvalidOption(format!(
                "CID version {} (only 0 and 1 exist)",
                params.cid_version
            )));
        }
        if params.cid_version == 0 && params.hash != SHA2_256 {
            return Err(AddError::InvalidOption(format!(
                "CIDv0 can only carry sha2-256, not hash 0x{:x}",
                params.hash
            )));
        }
        let hash = Code::try_from(params.hash).map_err(|_| {
            AddError::InvalidOption(format!("unsupported hash function 0x{:x}", params.hash))
        })?;
        if params.inline && params.inline_limit > MAX_DIGEST {
            return Err(AddError::InvalidOption(format!(
                "inline limit {} is over the {MAX_DIGEST}-byte identity digest limit",
                params.inline_limit
            )));
        }
        let shard = ShardParams::new(params.hamt_fanout)
            .map_err(|e| AddError::InvalidOption(format!("HAMT fanout: {}", e.message())))?;
        Ok(DirParams {
            params,
            hash,
            shard,
        })
    }

    /// The CID Kubo gives a dag-pb block: identity when inlined (`--inline`, always CIDv1,
    /// boxo `InlineBuilder`), else the configured hash as CIDv0 or CIDv1.
    fn cid_of(&self, block: &[u8]) -> Result<Cid, AddError> {
        if self.params.inline && block.len() <= self.params.inline_limit {
            let digest = Multihash::<MAX_DIGEST>::wrap(IDENTITY, block)
                .map_err(|e| AddError::InvalidOption(format!("inline CID: {e}")))?;
            return Ok(Cid::new_v1(DAG_PB, digest));
        }
        let digest = self.hash.digest(block);
        if self.params.cid_version == 0 {
            Cid::new_v0(digest).map_err(|e| AddError::InvalidOption(format!("CIDv0: {e}")))
        } else {
            Ok(Cid::new_v1(DAG_PB, digest))
        }
    }

    /// Hashes a finished block, hands it to the sink, and returns its link.
    fn emit<S: BlockSink + ?Sized>(&self, block: Vec<u8>, sink: &mut S) -> Result<Link, AddError> {
        let len = block.len() as u64;
        let cid = self.cid_of(&block)?;
        sink.put(&cid, Bytes::from(block))?;
        Ok(Link { cid, tsize: len })
    }
}

/// A link's target and cumulative size (Tsize).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Link {
    cid: Cid,
    tsize: u64,
}

impl Link {
    fn of(entry: &Entry) -> Self {
        Link {
            cid: entry.cid,
            tsize: entry.tsize,
        }
    }
}

fn dir_entry(link: Link) -> Entry {
    Entry {
        cid: link.cid,
        size: 0,
        tsize: link.tsize,
    }
}

/// The UnixFS Data of a directory node: Type plus the metadata Kubo writes (permission bits
/// only: boxo's `ModePermsToUnixPerms` keeps `0o7777`).
fn directory_data(kind: DataType, metadata: &Metadata) -> UnixFsData {
    let mut data = UnixFsData::new(kind);
    data.mode = metadata.mode.map(|mode| mode & 0o7777);
    data.mtime = metadata.mtime;
    data
}

/// A plain directory block: links sorted bytewise by name (Go `strings.Compare`), each with
/// Name and Tsize, then the UnixFS Data.
fn encode_plain(links: &mut [(Box<str>, Link)], data: &[u8]) -> Vec<u8> {
    links.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let refs: Vec<PbLinkRef<'_>> = links
        .iter()
        .map(|(name, link)| PbLinkRef {
            cid: &link.cid,
            name: Some(name),
            tsize: Some(link.tsize),
        })
        .collect();
    dagpb::encode(&refs, Some(data))
}

/// Builds, emits and links a plain directory of these entries.
fn build_plain<S: BlockSink + ?Sized>(
    links: &mut [(Box<str>, Link)],
    metadata: &Metadata,
    dp: &DirParams<'_>,
    sink: &mut S,
) -> Result<Link, AddError> {
    let data = directory_data(DataType::Directory, metadata).encode();
    let block = encode_plain(links, &data);
    let children: u64 = links.iter().map(|(_, l)| l.tsize).sum();
    let mut link = dp.emit(block, sink)?;
    link.tsize += children;
    Ok(link)
}
