//! Editing UnixFS trees along a path: put an entry at a path (creating missing directories),
//! or remove one. Only the directories on the path are rewritten — every untouched subtree
//! keeps its CID — and HAMT directories re-shard or un-shard where Kubo would (see
//! `add::dir::{insert, remove}`).

use cid::Cid;

use super::add::{dir, Entry, ImportParams, StoreSink};
use super::resolve::Node;
use super::{in_place, Error, InPlace, Result};
use crate::ipld::cid::to_v1_string;
use crate::store::Blockstore;

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
pub fn require_directory(store: &Blockstore, cid: &Cid) -> Result<()> {
    match in_place(Node::load(&InPlace(store), cid))? {
        node if node.is_directory() => Ok(()),
        _ => Err(Error::InvalidInput(format!(
            "{} is not a UnixFS directory",
            to_v1_string(cid)
        ))),
    }
}

/// The child `name` of directory `dir`, if any.
fn child(store: &Blockstore, dir: &Cid, name: &str) -> Result<Option<Cid>> {
    let source = InPlace(store);
    let node = in_place(Node::load(&source, dir))?;
    if !node.is_directory() {
        return Err(Error::InvalidInput(format!(
            "{} is not a directory",
            to_v1_string(dir)
        )));
    }
    in_place(super::dir::lookup(&source, &node, name))
}

/// Puts `entry` at `path` below the directory `root`, creating missing directories; returns
/// the new root. An existing entry at `path` is replaced.
pub fn put_at(
    store: &Blockstore,
    root: &Cid,
    path: &[&str],
    entry: &Entry,
    params: &ImportParams,
) -> Result<Entry> {
    let Some((name, rest)) = path.split_first() else {
        return Err(Error::InvalidInput("an empty path names no entry".into()));
    };
    require_directory(store, root)?;
    let entry = if rest.is_empty() {
        *entry
    } else {
        let below = match child(store, root, name)? {
            Some(existing) => {
                require_directory(store, &existing).map_err(|_| {
                    Error::InvalidInput(format!("{name:?} is a file, not a directory"))
                })?;
                existing
            }
            None => empty_directory(),
        };
        put_at(store, &below, rest, entry, params)?
    };
    let mut sink = StoreSink::new(store);
    Ok(dir::insert(
        &InPlace(store),
        root,
        name,
        &entry,
        params,
        &mut sink,
    )?)
}

/// Removes the entry at `path` below `root`; returns the new root. A missing entry is
/// `NotFound`.
pub fn remove_at(
    store: &Blockstore,
    root: &Cid,
    path: &[&str],
    params: &ImportParams,
) -> Result<Entry> {
    let Some((name, rest)) = path.split_first() else {
        return Err(Error::InvalidInput("an empty path names no entry".into()));
    };
    let mut sink = StoreSink::new(store);
    if rest.is_empty() {
        return dir::remove(&InPlace(store), root, name, params, &mut sink)?
            .ok_or_else(|| Error::NotFound(format!("no entry named {name:?}")));
    }
    let below = child(store, root, name)?
        .ok_or_else(|| Error::NotFound(format!("no entry named {name:?}")))?;
    let new_child = remove_at(store, &below, rest, params)?;
    Ok(dir::insert(
        &InPlace(store),
        root,
        name,
        &new_child,
        params,
        &mut sink,
    )?)
}

/// The entry a CID names as a directory link would record it (for linking existing content
/// into a tree).
pub fn entry_for(store: &Blockstore, cid: &Cid) -> Result<Entry> {
    let block = super::fetch_in_place(store, cid)?;
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
        let root = put_at(&store, &empty_directory(), &["a", "b.txt"], &hello, &params).unwrap();
        drop(store);
        let store = Blockstore::open(dir.path(), cold).unwrap();
        let more = put_at(&store, &root.cid, &["a", "c.txt"], &hello, &params).unwrap();
        let back = remove_at(&store, &more.cid, &["a", "c.txt"], &params).unwrap();
        assert_eq!(back.cid, root.cid);
    }

    #[test]
    fn put_creates_parents_and_remove_takes_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Blockstore::open(dir.path(), StoreOptions::default()).unwrap();
        let params = ImportParams::cid_v1();
        let hello = file(&store, b"hello\n");
        let root = put_at(
            &store,
            &empty_directory(),
            &["a", "b", "c.txt"],
            &hello,
            &params,
        )
        .unwrap();
        let found = block_on(resolve(&store, root.cid, &["a", "b", "c.txt"])).unwrap();
        assert_eq!(found.cid, hello.cid);
        // Adding beside "a" rewrites the root only: "a" keeps its CID.
        let other = put_at(&store, &root.cid, &["z.txt"], &hello, &params).unwrap();
        let a_before = block_on(resolve(&store, root.cid, &["a"])).unwrap().cid;
        let a_after = block_on(resolve(&store, other.cid, &["a"])).unwrap().cid;
        assert_eq!(a_before, a_after, "untouched subtrees keep their CIDs");
        // Removing brings the tree back to what it was.
        let back = remove_at(&store, &other.cid, &["z.txt"], &params).unwrap();
        assert_eq!(back.cid, root.cid);
        assert!(matches!(
            remove_at(&store, &root.cid, &["nope"], &params),
            Err(Error::NotFound(_))
        ));
        // A file in the way of a directory is refused.
        assert!(matches!(
            put_at(
                &store,
                &root.cid,
                &["a", "b", "c.txt", "d"],
                &hello,
                &params
            ),
            Err(Error::InvalidInput(_))
        ));
    }
}
