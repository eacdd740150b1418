//! Pinning content that may not be here: the pinned DAG is walked through the node's block
//! source — fetching what is missing from the network — and every block of it is written to
//! the kept blocks (`blocks/`, synced), out of the fetch cache's reach. A pin is recorded at
//! once; this is the work that makes it true, running in the background, one job per root.
//!
//! While a job runs its pin is "pinning"; a job that cannot get a block within the retrieval
//! timeout ends "failed" with the reason, and a new [`Pinning::start`] (Cluster `recover`)
//! tries again. A finished job leaves no trace: the pin's state is then what the store holds.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cid::Cid;
use multihash::Multihash;

use super::{Error, Result};
use crate::store::{Blockstore, SharedSource};

/// Where a pin's fetch stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinProgress {
    /// No job: the pin is as complete as the store says.
    Idle,
    /// Its DAG is being fetched and kept.
    Running,
    /// The last job stopped on this error.
    Failed(String),
}

/// The background jobs that fetch and keep pinned DAGs.
pub struct Pinning {
    store: Arc<Blockstore>,
    source: SharedSource,
    /// Longest wait for any one block.
    block_timeout: Option<Duration>,
    jobs: Mutex<HashMap<Multihash<64>, PinProgress>>,
}

impl Pinning {
    pub fn new(
        store: Arc<Blockstore>,
        source: SharedSource,
        block_timeout: Option<Duration>,
    ) -> Arc<Pinning> {
        Arc::new(Pinning {
            store,
            source,
            block_timeout,
            jobs: Mutex::default(),
        })
    }

    /// Where the pin of `root` stands.
    pub fn progress(&self, root: &Cid) -> PinProgress {
        self.lock()
            .get(root.hash())
            .cloned()
            .unwrap_or(PinProgress::Idle)
    }

    /// Starts fetching and keeping the DAG under `root` (only `root` itself unless
    /// `recursive`) on the current Tokio runtime, unless a job for it is running already.
    pub fn start(self: &Arc<Self>, root: Cid, recursive: bool) {
        {
            let mut jobs = self.lock();
            if jobs.get(root.hash()) == Some(&PinProgress::Running) {
                return;
            }
            jobs.insert(*root.hash(), PinProgress::Running);
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let outcome = this.keep_dag(root, recursive).await;
            let mut jobs = this.lock();
            match outcome {
                Ok(()) => {
                    jobs.remove(root.hash());
                }
                Err(e) => {
                    tracing::warn!(%root, error = %e, "pinning failed");
                    jobs.insert(*root.hash(), PinProgress::Failed(e.to_string()));
                }
            }
        });
    }

    /// Walks the DAG depth-first through the source, writing each block to the kept store.
    async fn keep_dag(&self, root: Cid, recursive: bool) -> Result<()> {
        let mut seen = HashSet::new();
        let mut stack = vec![root];
        let mut links = Vec::new();
        while let Some(cid) = stack.pop() {
            if !seen.insert(*cid.hash()) {
                continue;
            }
            let block = self.block(&cid).await?;
            let (store, kept, data) = (Arc::clone(&self.store), cid, block.clone());
            tokio::task::spawn_blocking(move || store.put(&kept, &data))
                .await
                .map_err(|e| Error::Internal(format!("a block write failed: {e}")))??;
            if recursive {
                links.clear();
                crate::ipld::links::links(&cid, &block, &mut links)?;
                // Reversed, so the walk goes in link order (as a CAR of the DAG would).
                stack.extend(links.iter().rev().filter(|c| !seen.contains(c.hash())));
            }
        }
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || store.sync())
            .await
            .map_err(|e| Error::Internal(format!("a block write failed: {e}")))??;
        Ok(())
    }

    async fn block(&self, cid: &Cid) -> Result<bytes::Bytes> {
        let read = async {
            match super::fetch(&*self.source, cid).await {
                Err(Error::BlockMissing(cid)) => Err(Error::NotFound(format!(
                    "block {} is missing from the store and no peer or backend provided it; \
                     import it (e.g. a CAR) and recover",
                    crate::ipld::cid::to_v1_string(&cid)
                ))),
                other => other,
            }
        };
        match self.block_timeout {
            None => read.await,
            Some(limit) => tokio::time::timeout(limit, read).await.map_err(|_| {
                Error::NotFound(format!(
                    "block {} could not be retrieved within {limit:?}",
                    crate::ipld::cid::to_v1_string(cid)
                ))
            })?,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Multihash<64>, PinProgress>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{BlockSource, SourceFuture, StoreOptions};
    use multihash_codetable::{Code, MultihashDigest};

    /// A network holding some blocks, answering after a yield; absent ones never come.
    struct Network(HashMap<Cid, bytes::Bytes>);

    impl BlockSource for Network {
        fn get(&self, cid: &Cid) -> SourceFuture<crate::store::Result<Option<bytes::Bytes>>> {
            let block = self.0.get(cid).cloned();
            SourceFuture::pending(async move {
                tokio::task::yield_now().await;
                match block {
                    Some(block) => Ok(Some(block)),
                    None => std::future::pending().await,
                }
            })
        }
        fn has(&self, cid: &Cid) -> SourceFuture<crate::store::Result<bool>> {
            SourceFuture::ready(Ok(self.0.contains_key(cid)))
        }
        fn size(&self, cid: &Cid) -> SourceFuture<crate::store::Result<Option<u64>>> {
            SourceFuture::ready(Ok(self.0.get(cid).map(|b| b.len() as u64)))
        }
    }

    fn raw(data: &[u8]) -> (Cid, bytes::Bytes) {
        (
            Cid::new_v1(0x55, Code::Sha2_256.digest(data)),
            bytes::Bytes::copy_from_slice(data),
        )
    }

    fn directory(children: &[(&str, Cid)]) -> (Cid, bytes::Bytes) {
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
        (
            Cid::new_v1(0x70, Code::Sha2_256.digest(&block)),
            block.into(),
        )
    }

    async fn settle(pinning: &Pinning, root: &Cid) -> PinProgress {
        for _ in 0..500 {
            let progress = pinning.progress(root);
            if progress != PinProgress::Running {
                return progress;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        pinning.progress(root)
    }

    #[tokio::test]
    async fn a_pinned_dag_from_the_network_ends_up_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Blockstore::open(dir.path(), StoreOptions::default()).unwrap());
        let (a, a_data) = raw(b"leaf a");
        let (b, b_data) = raw(b"leaf b");
        let (root, root_data) = directory(&[("a", a), ("b", b)]);
        let network = Network(HashMap::from([(a, a_data), (b, b_data), (root, root_data)]));
        let pinning = Pinning::new(Arc::clone(&store), Arc::new(network), None);
        pinning.start(root, true);
        assert_eq!(pinning.progress(&root), PinProgress::Running);
        assert_eq!(settle(&pinning, &root).await, PinProgress::Idle);
        // Kept for good: a store without the memory cache finds them on disk.
        drop(store);
        let reopened = Blockstore::open(dir.path(), StoreOptions::default()).unwrap();
        for cid in [root, a, b] {
            assert!(reopened.has(&cid).unwrap());
        }
    }

    #[tokio::test]
    async fn a_block_nobody_sends_fails_the_job_within_the_timeout_and_recover_retries() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Blockstore::open(dir.path(), StoreOptions::default()).unwrap());
        let (a, _) = raw(b"never sent");
        let (root, root_data) = directory(&[("a", a)]);
        let network = Network(HashMap::from([(root, root_data)]));
        let pinning = Pinning::new(store, Arc::new(network), Some(Duration::from_millis(50)));
        pinning.start(root, true);
        match settle(&pinning, &root).await {
            PinProgress::Failed(why) => assert!(why.contains("could not be retrieved"), "{why}"),
            other => panic!("expected a failure, got {other:?}"),
        }
        pinning.start(root, true);
        assert_eq!(pinning.progress(&root), PinProgress::Running);
    }
}
