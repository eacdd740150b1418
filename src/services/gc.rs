//! Garbage collection: removes every block that no pin reaches. Mark walks each recursive
//! pin's DAG through every codec's links (a direct pin marks its root only); sweep deletes the
//! rest. It runs under the store's exclusive GC lock, so it waits for uploads in flight (which
//! hold a shared write lease until their root is pinned) and uploads wait for it — in this
//! process or another one (`cairn gc` beside a running server). The wait has a deadline
//! ([`crate::store::MAX_GC_WAIT`] unless told otherwise): an upload that drips its body for
//! hours makes a collection give up with [`crate::store::Error::Busy`], never hang. The fetch
//! cache holds only unpinned blocks, so a collection empties it, after moving any block a pin
//! reaches to the kept blocks. Temporary files crashed processes left behind go too.

use std::collections::HashSet;

use cid::Cid;
use multihash::Multihash;

use super::pins::{PinMode, Pinset};
use super::{InPlace, Result};
use crate::ipld::cid::codec;
use crate::store::{BlockSource, Blockstore};

/// What a collection did.
#[derive(Debug, Default)]
pub struct GcReport {
    /// Removed blocks, as CIDv1 raw (the store knows multihashes, not codecs, as in Kubo).
    pub removed: Vec<Cid>,
    /// Blocks kept because a pin reaches them.
    pub kept: usize,
    /// Pinned DAGs with blocks absent from the store (kept as far as they go).
    pub incomplete_pins: Vec<String>,
}

/// Collections this process completed (all stores: a process serves one).
static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Garbage collections this process has completed.
pub fn runs() -> u64 {
    RUNS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Collects garbage in `store` according to `pins`, plus any `extra_roots` held recursively
/// (e.g. the values IPNS names point to), waiting for writers in progress at most
/// [`crate::store::MAX_GC_WAIT`].
pub fn collect(store: &Blockstore, pins: &Pinset, extra_roots: &[Cid]) -> Result<GcReport> {
    collect_within(store, pins, extra_roots, crate::store::MAX_GC_WAIT)
}

/// [`collect`], waiting for writers in progress at most `wait`.
pub fn collect_within(
    store: &Blockstore,
    pins: &Pinset,
    extra_roots: &[Cid],
    wait: std::time::Duration,
) -> Result<GcReport> {
    let _lock = store.gc_lock_within(wait)?;
    match store.remove_stale_temporaries() {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, "removed temporary files of crashed processes"),
        Err(e) => tracing::warn!(error = %e, "could not clean up temporary files"),
    }
    let mut report = GcReport::default();
    let mut marked: HashSet<Multihash<64>> = HashSet::new();
    let mut roots: Vec<(Cid, PinMode)> = Vec::new();
    for pin in pins.list()? {
        roots.push((pin.root()?, pin.mode));
    }
    roots.extend(extra_roots.iter().map(|cid| (*cid, PinMode::Recursive)));
    for (root, mode) in roots {
        let complete = match mode {
            PinMode::Direct => {
                marked.insert(*root.hash());
                store.has(&root)?
            }
            PinMode::Recursive => super::in_place(mark_dag(&InPlace(store), root, &mut marked))?,
        };
        if !complete {
            report
                .incomplete_pins
                .push(crate::ipld::cid::to_v1_string(&root));
        }
    }
    // Pinned blocks are never the fetch cache's to lose: any it holds move to the kept blocks
    // before the cache is emptied.
    for mh in &marked {
        store.keep(&Cid::new_v1(codec::RAW, *mh))?;
    }
    for mh in store.clear_fetched()? {
        report.removed.push(Cid::new_v1(codec::RAW, mh));
    }
    let mut unreached = Vec::new();
    store.for_each_block(|mh| {
        if marked.contains(&mh) {
            report.kept += 1;
        } else {
            unreached.push(mh);
        }
        Ok(())
    })?;
    for mh in unreached {
        if store.delete(&mh)? {
            report.removed.push(Cid::new_v1(codec::RAW, mh));
        }
    }
    if !report.removed.is_empty() {
        store.mark_collected()?;
    }
    RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::info!(
        removed = report.removed.len(),
        kept = report.kept,
        "garbage collection done"
    );
    Ok(report)
}

/// Marks every block of `source` reachable from `root`; returns false if some were missing.
/// GC walks the local store in place ([`InPlace`]); status checks walk it asynchronously.
pub async fn mark_dag(
    source: &dyn BlockSource,
    root: Cid,
    marked: &mut HashSet<Multihash<64>>,
) -> Result<bool> {
    walk_dag(source, root, marked, &mut |_| {}).await
}

/// Walks the DAG under `root` in `source` depth-first through every codec's links, calling
/// `visit` with each block's CID (as linked) the first time its multihash is met, and adding
/// it to `seen`; blocks already in `seen` are not entered. Returns false if some blocks were
/// missing or undecodable (they are visited, not entered).
pub async fn walk_dag(
    source: &dyn BlockSource,
    root: Cid,
    seen: &mut HashSet<Multihash<64>>,
    visit: &mut (dyn FnMut(&Cid) + Send),
) -> Result<bool> {
    let mut complete = true;
    let mut stack = vec![root];
    let mut links = Vec::new();
    while let Some(cid) = stack.pop() {
        if !seen.insert(*cid.hash()) {
            continue;
        }
        visit(&cid);
        let block = match super::fetch(source, &cid).await {
            Ok(block) => block,
            Err(super::Error::BlockMissing(_)) => {
                complete = false;
                continue;
            }
            Err(e) => return Err(e),
        };
        links.clear();
        if crate::ipld::links::links(&cid, &block, &mut links).is_err() {
            // An undecodable block keeps itself but cannot name children.
            complete = false;
        }
        // Reversed, so the walk goes in link order.
        stack.extend(links.iter().rev().filter(|c| !seen.contains(c.hash())));
    }
    Ok(complete)
}

/// Whether every block of the DAG under `root` is in `source`.
pub async fn is_complete(source: &dyn BlockSource, root: Cid) -> Result<bool> {
    mark_dag(source, root, &mut HashSet::new()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::pins::Pin;
    use crate::store::StoreOptions;
    use multihash_codetable::{Code, MultihashDigest};

    fn put(store: &Blockstore, codec: u64, data: &[u8]) -> Cid {
        let cid = Cid::new_v1(codec, Code::Sha2_256.digest(data));
        store.put(&cid, data).unwrap();
        cid
    }

    fn dir_over(store: &Blockstore, children: &[(&str, Cid)]) -> Cid {
        use crate::ipld::dagpb::{encode, PbLinkRef};
        let refs: Vec<PbLinkRef<'_>> = children
            .iter()
            .map(|(name, cid)| PbLinkRef {
                cid,
                name: Some(name),
                tsize: Some(1),
            })
            .collect();
        let block = encode(&refs, Some(&[0x08, 0x01]));
        put(store, codec::DAG_PB, &block)
    }

    #[test]
    fn pinned_dags_stay_and_the_rest_goes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Blockstore::open(dir.path(), StoreOptions::default()).unwrap();
        let pins = Pinset::open(dir.path()).unwrap();
        let a = put(&store, codec::RAW, b"a");
        let b = put(&store, codec::RAW, b"b");
        let kept_dir = dir_over(&store, &[("a", a), ("b", b)]);
        let loose = put(&store, codec::RAW, b"loose");
        let direct_child = put(&store, codec::RAW, b"child of a direct pin");
        let direct = dir_over(&store, &[("c", direct_child)]);
        pins.add(&Pin::recursive(&kept_dir)).unwrap();
        let mut d = Pin::recursive(&direct);
        d.mode = PinMode::Direct;
        pins.add(&d).unwrap();

        let report = collect(&store, &pins, &[]).unwrap();
        let removed: HashSet<_> = report.removed.iter().map(|c| *c.hash()).collect();
        assert_eq!(
            removed,
            HashSet::from([*loose.hash(), *direct_child.hash()])
        );
        for cid in [a, b, kept_dir, direct] {
            assert!(store.has(&cid).unwrap());
        }
        assert!(!store.has(&loose).unwrap());
        assert_eq!(report.kept, 4);
        // Unpinning frees the DAG on the next run.
        pins.remove(&kept_dir).unwrap();
        let report = collect(&store, &pins, &[]).unwrap();
        assert_eq!(report.removed.len(), 3);
    }

    #[test]
    fn a_pin_with_missing_blocks_is_reported_incomplete() {
        let dir = tempfile::tempdir().unwrap();
        let store = Blockstore::open(dir.path(), StoreOptions::default()).unwrap();
        let pins = Pinset::open(dir.path()).unwrap();
        let absent = Cid::new_v1(codec::RAW, Code::Sha2_256.digest(b"absent"));
        let root = dir_over(&store, &[("gone", absent)]);
        pins.add(&Pin::recursive(&root)).unwrap();
        let report = collect(&store, &pins, &[]).unwrap();
        assert_eq!(
            report.incomplete_pins,
            [crate::ipld::cid::to_v1_string(&root)]
        );
        assert!(store.has(&root).unwrap());
        assert!(!crate::test_support::block_on(is_complete(&store, root)).unwrap());
    }

    #[test]
    fn gc_empties_the_fetch_cache_but_keeps_what_pins_reach_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions {
            fetch_cache_bytes: Some(1 << 20),
            ..StoreOptions::default()
        };
        let store = Blockstore::open(dir.path(), options).unwrap();
        let pins = Pinset::open(dir.path()).unwrap();
        let fetched = |data: &[u8]| {
            let cid = Cid::new_v1(codec::RAW, Code::Sha2_256.digest(data));
            store
                .cache_fetched(&cid, &bytes::Bytes::copy_from_slice(data))
                .unwrap();
            cid
        };
        let pinned_child = fetched(b"fetched, then pinned");
        let unpinned = fetched(b"fetched and forgotten");
        let root = dir_over(&store, &[("x", pinned_child)]);
        pins.add(&Pin::recursive(&root)).unwrap();

        let report = collect(&store, &pins, &[]).unwrap();
        let removed: HashSet<_> = report.removed.iter().map(|c| *c.hash()).collect();
        assert_eq!(removed, HashSet::from([*unpinned.hash()]));
        assert_eq!(store.fetched_bytes(), 0);
        // Reopened with an empty memory cache: the pinned block is on disk, kept.
        drop(store);
        let store = Blockstore::open(dir.path(), StoreOptions::default()).unwrap();
        assert!(store.has(&pinned_child).unwrap());
        assert!(!store.has(&unpinned).unwrap());
    }
}
