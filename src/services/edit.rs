//! Editing UnixFS trees along a path: put an entry at a path (creating missing directories),
//! or remove one. Only the directories on the path are rewritten — every untouched subtree
//! keeps its CID — and HAMT directories re-shard or un-shard where Kubo would (see
//! `add::dir::{insert, remove}`).
//!
//! Edits run on a blocking thread and read a [`Tree`]: the local store, with the blocks fetched
//! for this edit laid over it. The tree being edited need not be here: [`fetching`] runs an
//! edit, and each time it stops on a block that is not here, fetches that block through the
//! node's block source (the network) and runs it again, until it completes. So only the
//! blocks the edit reads are fetched — the directories (and HAMT shards) on the edited path —
//! never the untouched subtrees it links to; making those local is pinning's work.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use cid::Cid;
use multihash::Multihash;

use super::add::{dir, Entry, ImportParams, StoreSink};
use super::resolve::Node;
use super::{empty_directory_block, in_place, Error, Result};
use crate::ipld::cid::to_v1_string;
use crate::store::{self, BlockSource, Blockstore, SourceFuture};

/// Most blocks one edit fetches: far more than any path of directories and HAMT shards needs
/// (an un-sharding walk of a large HAMT included), so only a malformed tree gets there.
const MAX_FETCHED: usize = 1 << 14;

/// Blocks fetched from the network for one edit, verified (the source's contract), by
/// multihash.
#[derive(Default)]
pub struct Fetched(HashMap<Multihash<64>, Bytes>);

/// What an edit reads, on the thread that runs it: the store, then the blocks fetched for the
/// edit. The first block in neither is noted, so that [`fetching`] can fetch it and run the
/// edit again. Every answer is ready at once (the [`super::InPlace`] contract).
pub struct Tree<'s> {
    store: &'s Blockstore,
    fetched: Option<&'s Fetched>,
    missed: Mutex<Option<Cid>>,
}

impl<'s> Tree<'s> {
    /// The store alone: an edit of content that must be here (tests, the CLI).
    pub fn local(store: &'s Blockstore) -> Tree<'s> {
        Tree {
            store,
            fetched: None,
            missed: Mutex::new(None),
        }
    }

    fn over(store: &'s Blockstore, fetched: &'s Fetched) -> Tree<'s> {
        Tree {
            store,
            fetched: Some(fetched),
            missed: Mutex::new(None),
        }
    }

    /// Where the edit's new blocks go.
    pub fn store(&self) -> &'s Blockstore {
        self.store
    }

    /// The first block asked for that was in neither the store nor the fetched blocks.
    fn missed(&self) -> Option<Cid> {
        *self.missed.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fetched(&self, cid: &Cid) -> Option<Bytes> {
        self.fetched?.0.get(cid.hash()).cloned()
    }
}

impl BlockSource for Tree<'_> {
    fn get(&self, cid: &Cid) -> SourceFuture<store::Result<Option<Bytes>>> {
        if let Some(block) = self.fetched(cid) {
            return SourceFuture::ready(Ok(Some(block)));
        }
        let found = self.store.get(cid);
        // The empty directory is served whether stored or not: never worth fetching.
        if let Ok(None) = found {
            if empty_directory_block(cid).is_none() {
                let mut missed = self.missed.lock().unwrap_or_else(|p| p.into_inner());
                missed.get_or_insert(*cid);
            }
        }
        SourceFuture::ready(found)
    }

    fn has(&self, cid: &Cid) -> SourceFuture<store::Result<bool>> {
        if self.fetched(cid).is_some() {
            return SourceFuture::ready(Ok(true));
        }
        SourceFuture::ready(self.store.has(cid))
    }

    fn size(&self, cid: &Cid) -> SourceFuture<store::Result<Option<u64>>> {
        if let Some(block) = self.fetched(cid) {
            return SourceFuture::ready(Ok(Some(block.len() as u64)));
        }
        SourceFuture::ready(self.store.get(cid).map(|b| b.map(|b| b.len() as u64)))
    }
}

/// Runs `edit` on a blocking thread over the store; each time it fails on a block that is not
/// here, fetches that block through `source` (each within `limit`, else
/// [`store::Error::Unavailable`]) and runs it again. An edit of a local tree runs once and
/// fetches nothing. The blocks fetched are held for the edit only; the ones it writes (its
/// new directories) go to the store, so the caller holds a write lease until they are pinned
/// or dropped.
pub async fn fetching<T, E, F>(
    store: &Arc<Blockstore>,
    source: &dyn BlockSource,
    limit: Option<Duration>,
    edit: F,
) -> std::result::Result<T, E>
where
    F: Fn(&Tree<'_>) -> std::result::Result<T, E> + Send + Sync + 'static,
    T: Send + 'static,
    E: From<Error> + Send + 'static,
{
    let edit = Arc::new(edit);
    let mut fetched = Fetched::default();
    loop {
        let (store, run) = (Arc::clone(store), Arc::clone(&edit));
        let (outcome, missed, back) = tokio::task::spawn_blocking(move || {
            let (outcome, missed) = {
                let tree = Tree::over(&store, &fetched);
                (run(&tree), tree.missed())
            };
            (outcome, missed, fetched)
        })
        .await
        .map_err(|e| Error::Internal(format!("the edit worker failed: {e}")))?;
        fetched = back;
        let cid = match (outcome, missed) {
            (Err(_), Some(cid)) => cid,
            (outcome, _) => return outcome,
        };
        if fetched.0.len() >= MAX_FETCHED {
            return Err(Error::InvalidInput(format!(
                "the edit read more than {MAX_FETCHED} blocks it had to fetch; the tree is \
                 malformed or too large to edit here"
            ))
            .into());
        }
        let block = super::fetch_within(source, &cid, limit).await?;
        fetched.0.insert(*cid.hash(), block);
    }
}

/// CIDv1 of the empty directory, where missing directories start.
pub fn empty_directory() -> Cid {
    Cid::new_v1(
        crate::ipld::cid::codec::DAG_PB,
        multihash_codetable::MultihashDigest::digest(
            &multihash_codetable::Code::Sha2_256,
            super::EMPTY_DIRECTORY,
        ),
    )
}

/// Fails unless `cid` is a UnixFS directory (plain or HAMT).
pub fn require_directory(tree: &Tree<'_>, cid: &Cid) -> Result<()> {
    match in_place(Node::load(tree, cid))? {
        node if node.is_directory() => Ok(()),
        _ => Err(Error::InvalidInput(format!(
            "{} is not a UnixFS directory",
            to_v1_string(cid)
        ))),
    }
}

/// The child `name` of directory `dir`, if any.
fn child(tree: &Tree<'_>, dir: &Cid, name: &str) -> Result<Option<Cid>> {
    let node = in_place(Node::load(tree, dir))?;
    if !node.is_directory() {
        return Err(Error::InvalidInput(format!(
            "{} is not a directory",
            to_v1_string(dir)
        )));
    }
    in_place(super::dir::lookup(tree, &node, name))
}

/// Puts `entry` at `path` below the directory `root`, creating missing directories; returns
/// the new root. An existing entry at `path` is replaced.
pub fn put_at(
    tree: &Tree<'_>,
    root: &Cid,
    path: &[&str],
    entry: &Entry,
    params: &ImportParams,
) -> Result<Entry> {
    let Some((name, rest)) = path.split_first() else {
        return Err(Error::InvalidInput("an empty path names no entry".into()));
    };
    require_directory(tree, root)?;
    let entry = if rest.is_empty() {
        *entry
    } else {
        let below = match child(tree, root, name)? {
            Some(existing) => {
                require_directory(tree, &existing).map_err(|e| match e {
                    Error::InvalidInput(_) => {
                        Error::InvalidInput(format!("{name:?} is a file, not a directory"))
                    }
                    // Not known yet (a block to fetch): not known to be a file either.
                    other => other,
                })?;
                existing
            }
            None => empty_directory(),
        };
        put_at(tree, &below, rest, entry, params)?
    };
    let mut sink = StoreSink::new(tree.store);
    Ok(dir::insert(tree, root, name, &entry, params, &mut sink)?)
}

/// Removes the entry at `path` below `root`; returns the new root. A missing entry is
/// `NotFound`.
pub fn remove_at(
    tree: &Tree<'_>,
    root: &Cid,
    path: &[&str],
    params: &ImportParams,
) -> Result<Entry> {
    let Some((name, rest)) = path.split_first() else {
        return Err(Error::InvalidInput("an empty path names no entry".into()));
    };
    let mut sink = StoreSink::new(tree.store);
    if rest.is_empty() {
        return dir::remove(tree, root, name, params, &mut sink)?
            .ok_or_else(|| Error::NotFound(format!("no entry named {name:?}")));
    }
    let below = child(tree, root, name)?
        .ok_or_else(|| Error::NotFound(format!("no entry named {name:?}")))?;
    let new_child = remove_at(tree, &below, rest, params)?;
    Ok(dir::insert(
        tree, root, name, &new_child, params, &mut sink,
    )?)
}

/// The entry a CID names as a directory link would record it (for linking existing content
/// into a tree).
pub fn entry_for(tree: &Tree<'_>, cid: &Cid) -> Result<Entry> {
    let block = in_place(super::fetch(tree, cid))?;
    let node = Node::decode(cid, block.clone())?;
    let size = match &node {
        Node::File(root) => root.size(),
        _ => 0,
    };
    let mut tsize = block.len() as u64;
    if cid.codec() == crate::ipld::cid::codec::DAG_PB {
        for link in crate::ipld::dagpb::decode_lazily(&block)?.links {
            tsize += link?.tsize.unwrap_or(0);
        }
    }
    Ok(Entry {
        cid: *cid,
        size,
        tsize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::add;
    use crate::services::resolve::resolve;
    use crate::store::StoreOptions;
    use crate::test_support::block_on;

    fn file(store: &Blockstore, text: &[u8]) -> Entry {
        let mut sink = StoreSink::new(store);
        add::file::import_file(
            &ImportParams::cid_v1(),
            add::Metadata::default(),
            std::iter::once(bytes::Bytes::copy_from_slice(text)),
            &mut sink,
        )
        .unwrap()
    }

    #[test]
    fn edits_read_a_cold_store_in_place() {
        // No block in memory: every read goes to disk, on this thread.
        let dir = tempfile::tempdir().unwrap();
        let cold = StoreOptions {
            cache_bytes: 0,
            ..StoreOptions::default()
        };
        let store = Blockstore::open(dir.path(), cold.clone()).unwrap();
        let params = ImportParams::cid_v1();
        let hello = file(&store, b"hello\n");
        let root = put_at(
            &Tree::local(&store),
            &empty_directory(),
            &["a", "b.txt"],
            &hello,
            &params,
        )
        .unwrap();
        drop(store);
        let store = Blockstore::open(dir.path(), cold).unwrap();
        let more = put_at(
            &Tree::local(&store),
            &root.cid,
            &["a", "c.txt"],
            &hello,
            &params,
        )
        .unwrap();
        let back = remove_at(&Tree::local(&store), &more.cid, &["a", "c.txt"], &params).unwrap();
        assert_eq!(back.cid, root.cid);
    }

    #[test]
    fn put_creates_parents_and_remove_takes_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Blockstore::open(dir.path(), StoreOptions::default()).unwrap();
        let params = ImportParams::cid_v1();
        let hello = file(&store, b"hello\n");
        let root = put_at(
            &Tree::local(&store),
            &empty_directory(),
            &["a", "b", "c.txt"],
            &hello,
            &params,
        )
        .unwrap();
        let found = block_on(resolve(&store, root.cid, &["a", "b", "c.txt"])).unwrap();
        assert_eq!(found.cid, hello.cid);
        // Adding beside "a" rewrites the root only: "a" keeps its CID.
        let other = put_at(&Tree::local(&store), &root.cid, &["z.txt"], &hello, &params).unwrap();
        let a_before = block_on(resolve(&store, root.cid, &["a"])).unwrap().cid;
        let a_after = block_on(resolve(&store, other.cid, &["a"])).unwrap().cid;
        assert_eq!(a_before, a_after, "untouched subtrees keep their CIDs");
        // Removing brings the tree back to what it was.
        let back = remove_at(&Tree::local(&store), &other.cid, &["z.txt"], &params).unwrap();
        assert_eq!(back.cid, root.cid);
        assert!(matches!(
            remove_at(&Tree::local(&store), &root.cid, &["nope"], &params),
            Err(Error::NotFound(_))
        ));
        // A file in the way of a directory is refused.
        assert!(matches!(
            put_at(
                &Tree::local(&store),
                &root.cid,
                &["a", "b", "c.txt", "d"],
                &hello,
                &params
            ),
            Err(Error::InvalidInput(_))
        ));
    }

    /// Another node's blocks, as the network serves them (later, on another task), noting
    /// what it was asked for.
    struct Elsewhere {
        store: Arc<Blockstore>,
        asked: Mutex<Vec<Cid>>,
    }

    impl BlockSource for Elsewhere {
        fn get(&self, cid: &Cid) -> SourceFuture<store::Result<Option<Bytes>>> {
            self.asked.lock().unwrap().push(*cid);
            let block = self.store.get(cid);
            SourceFuture::pending(async move {
                tokio::task::yield_now().await;
                block
            })
        }
        fn has(&self, cid: &Cid) -> SourceFuture<store::Result<bool>> {
            SourceFuture::ready(self.store.has(cid))
        }
        fn size(&self, cid: &Cid) -> SourceFuture<store::Result<Option<u64>>> {
            SourceFuture::ready(self.store.get(cid).map(|b| b.map(|b| b.len() as u64)))
        }
    }

    fn stores() -> (tempfile::TempDir, Arc<Blockstore>, Arc<Blockstore>) {
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str| {
            Arc::new(Blockstore::open(&dir.path().join(name), StoreOptions::default()).unwrap())
        };
        let (origin, edge) = (open("origin"), open("edge"));
        (dir, origin, edge)
    }

    #[tokio::test]
    async fn an_edit_of_a_tree_elsewhere_fetches_only_the_directories_on_its_path() {
        let (_dir, origin, edge) = stores();
        let params = ImportParams::cid_v1();
        let local = Tree::local(&origin);
        let c = file(&origin, b"c");
        let z = file(&origin, b"z");
        let root = put_at(
            &local,
            &empty_directory(),
            &["a", "b", "c.txt"],
            &c,
            &params,
        )
        .unwrap();
        let root = put_at(&local, &root.cid, &["z.txt"], &z, &params).unwrap();
        let a = resolve(&*origin, root.cid, &["a"]).await.unwrap().cid;
        let b = resolve(&*origin, root.cid, &["a", "b"]).await.unwrap().cid;
        let hello = file(&edge, b"hello");
        file(&origin, b"hello");
        let network = Arc::new(Elsewhere {
            store: Arc::clone(&origin),
            asked: Mutex::default(),
        });

        let (cid, p) = (root.cid, params.clone());
        let edited = fetching(&edge, &*network, None, move |tree| {
            put_at(tree, &cid, &["a", "b", "new.txt"], &hello, &p)
        })
        .await
        .unwrap();
        let there = put_at(&local, &root.cid, &["a", "b", "new.txt"], &hello, &params).unwrap();
        assert_eq!(edited.cid, there.cid, "the same edit gives the same tree");
        assert_eq!(*network.asked.lock().unwrap(), [root.cid, a, b]);
        // The new directories are written; the old ones were only read.
        assert!(edge.has(&edited.cid).unwrap());
        assert!(!edge.has(&root.cid).unwrap());

        network.asked.lock().unwrap().clear();
        let p = params.clone();
        let removed = fetching(&edge, &*network, None, move |tree| {
            remove_at(tree, &cid, &["a", "b", "c.txt"], &p)
        })
        .await
        .unwrap();
        let there = remove_at(&local, &root.cid, &["a", "b", "c.txt"], &params);
        assert_eq!(removed.cid, there.unwrap().cid);
        assert_eq!(*network.asked.lock().unwrap(), [root.cid, a, b]);
    }

    #[tokio::test]
    async fn an_edit_that_unshards_a_remote_hamt_fetches_every_shard_it_walks() {
        let (_dir, origin, edge) = stores();
        // Sharded from the first entry, with fanout 8: several levels of shards, which a
        // removal under the default threshold walks in full to un-shard.
        let (root, entries) = crate::services::testing::hamt_dir(&origin, 100, 8);
        let params = ImportParams::cid_v1();
        let there = remove_at(&Tree::local(&origin), &root, &[&entries[7].0], &params).unwrap();
        let network = Arc::new(Elsewhere {
            store: Arc::clone(&origin),
            asked: Mutex::default(),
        });
        let name = entries[7].0.clone();
        let edited = fetching(&edge, &*network, None, move |tree| {
            remove_at(tree, &root, &[&name], &ImportParams::cid_v1())
        })
        .await
        .unwrap();
        assert_eq!(edited.cid, there.cid);
        let unsharded = in_place(Node::load(&Tree::local(&edge), &edited.cid)).unwrap();
        assert!(matches!(unsharded, Node::Directory(_)), "un-sharded");
        assert!(
            network.asked.lock().unwrap().len() > 8,
            "every shard walked"
        );
    }

    #[tokio::test]
    async fn a_directory_nobody_sends_in_time_is_unavailable() {
        struct Silent;
        impl BlockSource for Silent {
            fn get(&self, _: &Cid) -> SourceFuture<store::Result<Option<Bytes>>> {
                SourceFuture::pending(std::future::pending())
            }
            fn has(&self, _: &Cid) -> SourceFuture<store::Result<bool>> {
                SourceFuture::ready(Ok(false))
            }
            fn size(&self, _: &Cid) -> SourceFuture<store::Result<Option<u64>>> {
                SourceFuture::ready(Ok(None))
            }
        }
        let (_dir, origin, edge) = stores();
        let hello = file(&origin, b"hello");
        let params = ImportParams::cid_v1();
        let root = put_at(
            &Tree::local(&origin),
            &empty_directory(),
            &["x"],
            &hello,
            &params,
        )
        .unwrap()
        .cid;
        let limit = Duration::from_millis(50);
        let p = params.clone();
        let outcome = fetching(&edge, &Silent, Some(limit), move |tree| {
            put_at(tree, &root, &["y"], &hello, &p)
        })
        .await;
        match outcome {
            Err(Error::Store(store::Error::Unavailable { cid, .. })) => assert_eq!(cid, root),
            other => panic!("expected Unavailable, got {other:?}"),
        }
        // Offline (a source that has nothing), the tree is simply not here.
        let hello = file(&edge, b"hello");
        let offline = fetching(&edge, &*edge, Some(limit), move |tree| {
            put_at(tree, &root, &["y"], &hello, &params)
        })
        .await;
        assert!(matches!(offline, Err(Error::BlockMissing(cid)) if cid == root));
    }
}
