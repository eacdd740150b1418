//! Directory listings, plain and HAMT-sharded, built from the directory's own blocks only:
//! children are never fetched, so a 10,000-entry directory lists as fast as its one block
//! decodes, and a HAMT costs its shard blocks and nothing more.

use bytes::Bytes;
use cid::Cid;

use super::resolve::{check_shard, Node};
use super::{fetch, Result};
use crate::ipld::cid::codec;
use crate::ipld::dagpb::{self, PbLink};
use crate::ipld::hamt;
use crate::store::BlockSource;

/// Most shard blocks walked for one listing: a fanout-256 HAMT this wide already holds
/// millions of entries.
const MAX_SHARDS: usize = 1 << 16;

/// One directory entry, as the link that names it says.
#[derive(Debug, Clone)]
pub struct DirEntry {
    /// The entry's name (a zero-copy slice of a directory block; valid UTF-8).
    name: Bytes,
    pub cid: Cid,
    /// Cumulative size of the entry's DAG, as the link records it.
    pub tsize: Option<u64>,
}

impl DirEntry {
    pub fn name(&self) -> &str {
        // Names come from decoded dag-pb links, which are checked to be UTF-8.
        std::str::from_utf8(&self.name).unwrap_or("")
    }

    /// Whether the entry is known to be a file without reading it (a raw-codec CID).
    pub fn is_raw_file(&self) -> bool {
        self.cid.codec() == codec::RAW
    }

    fn from_link(link: &PbLink, name: Bytes) -> Self {
        DirEntry {
            name,
            cid: link.cid,
            tsize: link.tsize,
        }
    }
}

/// The entries of a directory node, in the order its blocks hold them (sorted by name for a
/// plain directory; by hash for a HAMT).
pub async fn list(source: &dyn BlockSource, node: &Node) -> Result<Vec<DirEntry>> {
    match node {
        Node::Directory(dir) => Ok(dir
            .links
            .iter()
            .map(|link| DirEntry::from_link(link, link.name_bytes()))
            .collect()),
        Node::HamtDirectory(root, fanout) => walk_hamt(source, root, *fanout).await,
        _ => Ok(Vec::new()),
    }
}

/// The entries of a HAMT, depth-first in link order (the order its blocks hold them).
async fn walk_hamt(
    source: &dyn BlockSource,
    root: &dagpb::PbNode,
    fanout: u64,
) -> Result<Vec<DirEntry>> {
    let width = hamt::prefix_len(fanout)?;
    let mut out = Vec::new();
    let mut shards = 1usize;
    // Each level's links still to read, the root's at the bottom.
    let mut stack = vec![root.links.clone().into_iter()];
    while let Some(level) = stack.last_mut() {
        let Some(link) = level.next() else {
            stack.pop();
            continue;
        };
        match hamt::classify_link(link.name_str(), width)?.1 {
            hamt::HamtLink::Entry(_) => {
                let full = link.name_bytes();
                out.push(DirEntry::from_link(&link, full.slice(width..)));
            }
            hamt::HamtLink::Shard => {
                shards += 1;
                if shards > MAX_SHARDS || stack.len() >= hamt::max_depth(fanout) {
                    return Err(
                        crate::ipld::Error::hamt("HAMT has too many shards or levels").into(),
                    );
                }
                let child = dagpb::decode(&fetch(source, &link.cid).await?)?;
                check_shard(&child, fanout)?;
                stack.push(child.links.into_iter());
            }
        }
    }
    Ok(out)
}

/// Whether a directory entry is itself a directory, reading its block only if it is stored
/// locally (a missing block is reported as "not known to be a directory").
pub async fn entry_is_directory(source: &dyn BlockSource, entry: &DirEntry) -> bool {
    if entry.cid.codec() != codec::DAG_PB {
        return false;
    }
    match source.get(&entry.cid).await {
        Ok(Some(block)) => matches!(
            Node::decode(&entry.cid, block),
            Ok(Node::Directory(_) | Node::HamtDirectory(..))
        ),
        _ => false,
    }
}

/// Looks up `index.html` (or any name) in a directory of either kind.
pub async fn lookup(source: &dyn BlockSource, node: &Node, name: &str) -> Result<Option<Cid>> {
    match node {
        Node::Directory(dir) => Ok(super::resolve::find_link(dir, name)),
        Node::HamtDirectory(root, fanout) => {
            super::resolve::hamt_lookup(source, root, *fanout, name).await
        }
        _ => Ok(None),
    }
}

/// The directory's cumulative DAG size as its links record it (what Kubo shows atop a
/// listing): the root block plus every entry's Tsize; `None` if an entry has no Tsize.
pub fn dag_size(node: &Node, entries: &[DirEntry]) -> Option<u64> {
    let root = match node {
        Node::Directory(dir) | Node::HamtDirectory(dir, _) => dir.encoded_len() as u64,
        _ => return None,
    };
    entries
        .iter()
        .try_fold(root, |sum, entry| Some(sum + entry.tsize?))
}
