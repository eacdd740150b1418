//! Directory listings, plain and HAMT-sharded, built from the directory's own blocks only:
//! children are never fetched, so a 10,000-entry directory lists as fast as its one block
//! decodes, and a HAMT costs its shard blocks and nothing more.
//!
//! A listing is held in memory whole, so it is bounded: at most [`MAX_ENTRIES`] entries, read
//! from at most [`MAX_SHARD_BYTES`] of HAMT shard blocks (a plain directory is one block,
//! within the store's 4 MiB block limit) in at most 65,536 shards. A larger directory is
//! refused (501) rather than listed; its content stays reachable by path and as a CAR.

use std::collections::HashMap;

use bytes::Bytes;
use cid::Cid;
use futures_util::stream::{FuturesOrdered, StreamExt};

use super::resolve::{check_shard, Node};
use super::{fetch, Result};
use crate::ipld::cid::codec;
use crate::ipld::dagpb::{self, PbLink};
use crate::ipld::hamt;
use crate::store::BlockSource;

/// Most shard blocks walked for one listing: a fanout-256 HAMT this wide already holds
/// millions of entries.
const MAX_SHARDS: usize = 1 << 16;

/// Shard blocks a listing has in flight at once.
const SHARD_FETCHES: usize = 32;

/// Most entries one listing holds (a JSON or HTML listing, one directory of a TAR export).
pub const MAX_ENTRIES: usize = 1 << 18;

/// Most bytes of HAMT shard blocks one listing reads (and holds while it walks them).
pub const MAX_SHARD_BYTES: usize = 32 << 20;

fn too_large(what: String) -> super::Error {
    crate::ipld::Error::unsupported(format!(
        "this directory is too large to list here ({what}); its entries are still served by \
         path, and the whole DAG as a CAR (?format=car)"
    ))
    .into()
}

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

    /// An entry made up by a test.
    #[cfg(test)]
    pub(crate) fn for_test(name: &str, cid: Cid) -> Self {
        DirEntry {
            name: Bytes::copy_from_slice(name.as_bytes()),
            cid,
            tsize: Some(1),
        }
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
    list_within(source, node, Bounds::default()).await
}

/// What one listing may hold.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    entries: usize,
    shard_bytes: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            entries: MAX_ENTRIES,
            shard_bytes: MAX_SHARD_BYTES,
        }
    }
}

async fn list_within(
    source: &dyn BlockSource,
    node: &Node,
    bounds: Bounds,
) -> Result<Vec<DirEntry>> {
    match node {
        Node::Directory(dir) => {
            if dir.links.len() > bounds.entries {
                return Err(too_large(format!("more than {} entries", bounds.entries)));
            }
            Ok(dir
                .links
                .iter()
                .map(|link| DirEntry::from_link(link, link.name_bytes()))
                .collect())
        }
        Node::HamtDirectory(root, fanout) => walk_hamt(source, root, *fanout, bounds).await,
        _ => Ok(Vec::new()),
    }
}

/// The entries of a HAMT, depth-first in link order (the order its blocks hold them).
///
/// Shards are fetched a level at a time, every shard of a level at once (up to
/// [`SHARD_FETCHES`] in flight): over the network a listing then costs a round trip per
/// level rather than one per shard.
async fn walk_hamt(
    source: &dyn BlockSource,
    root: &dagpb::PbNode,
    fanout: u64,
    bounds: Bounds,
) -> Result<Vec<DirEntry>> {
    let width = hamt::prefix_len(fanout)?;
    let mut shards: HashMap<Cid, dagpb::PbNode> = HashMap::new();
    let mut level = shard_links(&root.links, width)?;
    let mut depth = 1;
    let mut shard_bytes = 0usize;
    while !level.is_empty() {
        if shards.len() + level.len() >= MAX_SHARDS || depth >= hamt::max_depth(fanout) {
            return Err(crate::ipld::Error::hamt("HAMT has too many shards or levels").into());
        }
        let fetched = fetch_all(source, &level).await;
        let mut next = Vec::new();
        for (cid, block) in level.into_iter().zip(fetched) {
            let block = block?;
            shard_bytes += block.len();
            if shard_bytes > bounds.shard_bytes {
                return Err(too_large(format!(
                    "more than {} bytes of HAMT shards",
                    bounds.shard_bytes
                )));
            }
            let shard = dagpb::decode(&block)?;
            check_shard(&shard, fanout)?;
            next.extend(shard_links(&shard.links, width)?);
            shards.insert(cid, shard);
        }
        level = next;
        depth += 1;
    }
    let mut out = Vec::new();
    // Each level's links still to read, the root's at the bottom.
    let mut stack = vec![root.links.iter()];
    while let Some(links) = stack.last_mut() {
        let Some(link) = links.next() else {
            stack.pop();
            continue;
        };
        match hamt::classify_link(link.name_str(), width)?.1 {
            hamt::HamtLink::Entry(_) => {
                if out.len() == bounds.entries {
                    return Err(too_large(format!("more than {} entries", bounds.entries)));
                }
                let full = link.name_bytes();
                out.push(DirEntry::from_link(link, full.slice(width..)));
            }
            // Every shard was fetched above (a CID linked twice is fetched once).
            hamt::HamtLink::Shard => match shards.get(&link.cid) {
                Some(shard) => stack.push(shard.links.iter()),
                None => return Err(crate::ipld::Error::hamt("HAMT shard not loaded").into()),
            },
        }
    }
    Ok(out)
}

/// Every block of `cids`, in order, [`SHARD_FETCHES`] in flight at a time.
async fn fetch_all(source: &dyn BlockSource, cids: &[Cid]) -> Vec<Result<Bytes>> {
    let mut fetched = Vec::with_capacity(cids.len());
    let (mut waiting, mut running) = (cids.iter(), FuturesOrdered::new());
    loop {
        while running.len() < SHARD_FETCHES {
            let Some(cid) = waiting.next() else { break };
            running.push_back(fetch(source, cid));
        }
        match running.next().await {
            Some(block) => fetched.push(block),
            None => return fetched,
        }
    }
}

/// The CIDs of the sub-shards among a HAMT node's links.
fn shard_links(links: &[PbLink], width: usize) -> Result<Vec<Cid>> {
    let mut shards = Vec::new();
    for link in links {
        if let hamt::HamtLink::Shard = hamt::classify_link(link.name_str(), width)?.1 {
            shards.push(link.cid);
        }
    }
    Ok(shards)
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::services::add::dir::TreeBuilder;
    use crate::services::add::{ImportParams, Metadata, StoreSink};
    use crate::services::resolve;
    use crate::store::{Blockstore, SharedSource};
    use crate::test_support::GatedSource;

    #[tokio::test]
    async fn a_hamt_listing_fetches_each_levels_shards_together() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Blockstore::open(dir.path(), Default::default()).unwrap());
        let params = ImportParams {
            hamt_threshold: 1024,
            ..ImportParams::cid_v1()
        };
        let entry = crate::services::ingest::add_reader(
            &b"x"[..],
            Some(1),
            &params,
            Metadata::default(),
            &mut StoreSink::new(&store),
            &mut |_| {},
        )
        .unwrap();
        let mut tree = TreeBuilder::new();
        for i in 0..600 {
            tree.add_file(&format!("f{i:04}"), entry).unwrap();
        }
        let root = tree
            .finish(&params, &mut StoreSink::new(&store))
            .unwrap()
            .root
            .cid;
        let node = resolve::Node::load(&*store, &root).await.unwrap();
        let Node::HamtDirectory(top, fanout) = &node else {
            panic!("not a HAMT");
        };
        let width = hamt::prefix_len(*fanout).unwrap();
        let level_one = shard_links(&top.links, width).unwrap();
        assert!(level_one.len() > 1, "600 names make several sub-shards");
        let gated = Arc::new(GatedSource::new(Arc::clone(&store), level_one.clone()));
        let source = Arc::clone(&gated) as SharedSource;
        let listing = tokio::spawn(async move { list(&*source, &node).await });
        let together = level_one.len().min(SHARD_FETCHES);
        for _ in 0..100 {
            if gated.asked() == together {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(
            gated.asked(),
            together,
            "asked together, before any arrived"
        );
        gated.release(level_one.len());
        let entries = listing.await.unwrap().unwrap();
        assert_eq!(entries.len(), 600);
        assert_eq!(gated.asked(), level_one.len(), "none asked twice");
    }

    #[tokio::test]
    async fn listings_are_bounded_in_entries_and_shard_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Blockstore::open(dir.path(), Default::default()).unwrap());
        let (root, _) = crate::services::testing::hamt_dir(&store, 300, 8);
        let node = resolve::Node::load(&*store, &root).await.unwrap();
        let roomy = Bounds {
            entries: 300,
            shard_bytes: 1 << 20,
        };
        assert_eq!(list_within(&*store, &node, roomy).await.unwrap().len(), 300);
        for bounds in [
            Bounds {
                entries: 299,
                ..roomy
            },
            Bounds {
                shard_bytes: 512,
                ..roomy
            },
        ] {
            let err = list_within(&*store, &node, bounds).await.unwrap_err();
            assert!(err.to_string().contains("too large to list"), "{err}");
            assert!(
                matches!(&err, super::super::Error::Ipld(e) if e.kind() == crate::ipld::ErrorKind::Unsupported),
                "{err:?}"
            );
        }
        // A plain directory too.
        let params = ImportParams::cid_v1();
        let entry = crate::services::ingest::add_reader(
            &b"x"[..],
            Some(1),
            &params,
            Metadata::default(),
            &mut StoreSink::new(&store),
            &mut |_| {},
        )
        .unwrap();
        let mut tree = TreeBuilder::new();
        for i in 0..10 {
            tree.add_file(&format!("f{i}"), entry).unwrap();
        }
        let plain = tree
            .finish(&params, &mut StoreSink::new(&store))
            .unwrap()
            .root
            .cid;
        let node = resolve::Node::load(&*store, &plain).await.unwrap();
        assert!(matches!(node, Node::Directory(_)));
        let bounds = Bounds {
            entries: 9,
            ..roomy
        };
        assert!(list_within(&*store, &node, bounds).await.is_err());
    }
}
