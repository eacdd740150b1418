//! Pinning content that may not be here: the pinned DAG is walked through the node's block
//! source — fetching what is missing from the network — and every block of it is written to
//! the kept blocks (`blocks/`, synced), out of the fetch cache's reach. One job per root.
//!
//! Two ways to run a job:
//! - [`Pinning::start`] (Cluster `POST /pins`, `recover`): the pin is recorded at once and the
//!   job makes it true in the background. While it runs the pin is "pinning"; a job that
//!   cannot get a block within the retrieval timeout ends "failed" with the reason, and a new
//!   `start` tries again. A finished job leaves no trace: the pin's state is then what the
//!   store holds.
//! - [`Pinning::keep`] (the writable gateway's `X-Ipfs-Pin`, IPNS publishing): the caller waits
//!   for the job and answers for its outcome itself, as `ipfs pin add` does, so a failure is
//!   returned rather than left behind. The job still runs on its own task: a caller that goes
//!   away (a client hanging up) does not cut it short.
//!
//! Blocks already kept are not written again, and a kept raw block (a file leaf: no links) is
//! not even read, so keeping a DAG that is here costs a `stat` per leaf.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cid::Cid;
use multihash::Multihash;
use tokio::sync::watch;

use super::{Error, Result};
use crate::ipld::cid::codec;
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

/// How far a job has walked its DAG: blocks kept so far (here already or fetched) and their
/// bytes — what `ipfs pin add --progress` reports (Kubo's `Progress` and `Bytes`).
#[derive(Debug, Default)]
pub struct WalkProgress {
    blocks: AtomicU64,
    bytes: AtomicU64,
}

impl WalkProgress {
    pub fn blocks(&self) -> u64 {
        self.blocks.load(Ordering::Relaxed)
    }

    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    fn add(&self, bytes: u64) {
        self.blocks.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// A root's job, as the map of jobs holds it.
enum Job {
    /// Fetching; the flag turns true when the job has ended.
    Running(watch::Receiver<bool>),
    /// The last background job stopped on this error.
    Failed(String),
}

/// What asking for a job gave.
enum Begun {
    /// A new job, whose outcome this is.
    New(tokio::task::JoinHandle<Result<()>>),
    /// A job for the root was running already; the flag turns true when it ends.
    Running(watch::Receiver<bool>),
}

/// The background jobs that fetch and keep pinned DAGs.
pub struct Pinning {
    store: Arc<Blockstore>,
    source: SharedSource,
    /// Longest wait for any one block.
    block_timeout: Option<Duration>,
    jobs: Mutex<HashMap<Multihash<64>, Job>>,
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

    /// The block source jobs read through (the store, then the network).
    pub fn source(&self) -> &SharedSource {
        &self.source
    }

    /// The longest a job waits for any one block (the retrieval timeout).
    pub fn block_timeout(&self) -> Option<Duration> {
        self.block_timeout
    }

    /// Where the pin of `root` stands.
    pub fn progress(&self, root: &Cid) -> PinProgress {
        match self.lock().get(root.hash()) {
            None => PinProgress::Idle,
            Some(Job::Running(_)) => PinProgress::Running,
            Some(Job::Failed(why)) => PinProgress::Failed(why.clone()),
        }
    }

    /// Starts fetching and keeping the DAG under `root` (only `root` itself unless
    /// `recursive`) on the current Tokio runtime, unless a job for it is running already.
    pub fn start(self: &Arc<Self>, root: Cid, recursive: bool) {
        let _ = self.begin(root, recursive, false, None);
    }

    /// Fetches and keeps the DAG under `root` (only `root` unless `recursive`) and waits until
    /// every block is kept, or for the error that stopped it (a block that did not come within
    /// the retrieval timeout: [`crate::store::Error::Unavailable`]). A job already running for
    /// the root is waited for first, then one of this call's own runs (quick when that one
    /// kept everything), so the outcome returned is always this call's. A failure is the
    /// caller's to report and leaves no "failed" state behind.
    pub async fn keep(self: &Arc<Self>, root: Cid, recursive: bool) -> Result<()> {
        self.keep_counting(root, recursive, None).await
    }

    /// [`Pinning::keep`], counting what this call's own walk keeps into `progress`.
    pub async fn keep_counting(
        self: &Arc<Self>,
        root: Cid,
        recursive: bool,
        progress: Option<Arc<WalkProgress>>,
    ) -> Result<()> {
        loop {
            match self.begin(root, recursive, true, progress.clone()) {
                Begun::New(job) => {
                    return job.await.map_err(|e| {
                        Error::Internal(format!("the pinning job for {root} failed: {e}"))
                    })?;
                }
                Begun::Running(mut ended) => {
                    // An error here means the job's task is gone: it has ended too.
                    let _ = ended.wait_for(|ended| *ended).await;
                }
            }
        }
    }

    /// Starts a job for `root` on its own task unless one is running. `waited`: its caller
    /// takes the outcome, so a failure is not recorded.
    fn begin(
        self: &Arc<Self>,
        root: Cid,
        recursive: bool,
        waited: bool,
        progress: Option<Arc<WalkProgress>>,
    ) -> Begun {
        let ended = {
            let mut jobs = self.lock();
            if let Some(Job::Running(ended)) = jobs.get(root.hash()) {
                return Begun::Running(ended.clone());
            }
            let (ended, watch) = watch::channel(false);
            jobs.insert(*root.hash(), Job::Running(watch));
            ended
        };
        let this = Arc::clone(self);
        Begun::New(tokio::spawn(async move {
            let outcome = this.keep_dag(root, recursive, progress.as_deref()).await;
            {
                let mut jobs = this.lock();
                match &outcome {
                    Err(e) if !waited => {
                        tracing::warn!(%root, error = %e, "pinning failed");
                        jobs.insert(*root.hash(), Job::Failed(e.to_string()));
                    }
                    _ => {
                        jobs.remove(root.hash());
                    }
                }
            }
            let _ = ended.send(true);
            outcome
        }))
    }

    /// Walks the DAG depth-first through the source, writing each block to the kept store.
    async fn keep_dag(
        &self,
        root: Cid,
        recursive: bool,
        progress: Option<&WalkProgress>,
    ) -> Result<()> {
        let counting = progress.is_some();
        let mut seen = HashSet::new();
        let mut stack = vec![root];
        let mut links = Vec::new();
        while let Some(cid) = stack.pop() {
            if !seen.insert(*cid.hash()) {
                continue;
            }
            // Kept already, or now (moved over from the fetch cache): nothing to write, and
            // nothing to read either when there are no links to follow (a `stat` for its size
            // when counting).
            let (kept, size) = self
                .on_store(move |store| {
                    let kept = store.keep(&cid)?;
                    let size = match kept && counting {
                        true => store.block_size(&cid)?,
                        false => None,
                    };
                    Ok((kept, size))
                })
                .await?;
            if kept && (!recursive || cid.codec() == codec::RAW) {
                if let Some(progress) = progress {
                    progress.add(size.unwrap_or(0));
                }
                continue;
            }
            let block = self.block(&cid).await?;
            if let Some(progress) = progress {
                progress.add(block.len() as u64);
            }
            if !kept {
                let data = block.clone();
                self.on_store(move |store| store.put(&cid, &data)).await?;
            }
            if recursive {
                links.clear();
                crate::ipld::links::links(&cid, &block, &mut links)?;
                // Reversed, so the walk goes in link order (as a CAR of the DAG would).
                stack.extend(links.iter().rev().filter(|c| !seen.contains(c.hash())));
            }
        }
        self.on_store(|store| store.sync()).await
    }

    /// A store operation (a write, a sync, a `stat`) on the blocking pool.
    async fn on_store<T: Send + 'static>(
        &self,
        operation: impl FnOnce(&Blockstore) -> crate::store::Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = Arc::clone(&self.store);
        Ok(tokio::task::spawn_blocking(move || operation(&store))
            .await
            .map_err(|e| Error::Internal(format!("a block write failed: {e}")))??)
    }

    async fn block(&self, cid: &Cid) -> Result<bytes::Bytes> {
        match super::fetch_within(&*self.source, cid, self.block_timeout).await {
            Err(Error::BlockMissing(cid)) => Err(Error::NotFound(format!(
                "block {} is missing from the store and no peer or backend provided it; \
                 import it (e.g. a CAR) and pin it again (Cluster: recover)",
                crate::ipld::cid::to_v1_string(&cid)
            ))),
            other => other,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Multihash<64>, Job>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{BlockSource, SourceFuture, StoreOptions};
    use multihash_codetable::{Code, MultihashDigest};

    /// A network holding some blocks, answering after a yield; absent ones never come. It
    /// notes what it was asked for.
    struct Network(HashMap<Cid, bytes::Bytes>, Mutex<Vec<Cid>>);

    impl Network {
        fn new(blocks: impl IntoIterator<Item = (Cid, bytes::Bytes)>) -> Arc<Network> {
            Arc::new(Network(blocks.into_iter().collect(), Mutex::default()))
        }

        fn asked(&self) -> Vec<Cid> {
            self.1.lock().unwrap().clone()
        }
    }

    impl BlockSource for Network {
        fn get(&self, cid: &Cid) -> SourceFuture<crate::store::Result<Option<bytes::Bytes>>> {
            self.1.lock().unwrap().push(*cid);
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
        let network = Network::new([(a, a_data), (b, b_data), (root, root_data)]);
        let pinning = Pinning::new(Arc::clone(&store), network, None);
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
    async fn keeping_counts_each_block_and_its_bytes_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Blockstore::open(dir.path(), StoreOptions::default()).unwrap());
        let (a, a_data) = raw(b"leaf a");
        let (b, b_data) = raw(b"leaf bb");
        // The first leaf is here already (counted from the store), the rest come over the
        // network; `a` is linked twice and counted once.
        store.put(&a, &a_data).unwrap();
        let (root, root_data) = directory(&[("a", a), ("b", b), ("again", a)]);
        let total = (a_data.len() + b_data.len() + root_data.len()) as u64;
        let network = Network::new([(b, b_data), (root, root_data)]);
        let pinning = Pinning::new(store, network, None);
        let progress = Arc::new(WalkProgress::default());
        pinning
            .keep_counting(root, true, Some(Arc::clone(&progress)))
            .await
            .unwrap();
        assert_eq!((progress.blocks(), progress.bytes()), (3, total));
    }

    #[tokio::test]
    async fn a_block_nobody_sends_fails_the_job_within_the_timeout_and_recover_retries() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Blockstore::open(dir.path(), StoreOptions::default()).unwrap());
        let (a, _) = raw(b"never sent");
        let (root, root_data) = directory(&[("a", a)]);
        let network = Network::new([(root, root_data)]);
        let pinning = Pinning::new(store, network, Some(Duration::from_millis(50)));
        pinning.start(root, true);
        match settle(&pinning, &root).await {
            PinProgress::Failed(why) => assert!(why.contains("could not be retrieved"), "{why}"),
            other => panic!("expected a failure, got {other:?}"),
        }
        pinning.start(root, true);
        assert_eq!(pinning.progress(&root), PinProgress::Running);
    }

    #[tokio::test]
    async fn keeping_waits_until_every_block_is_kept_even_behind_a_running_job() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Blockstore::open(dir.path(), StoreOptions::default()).unwrap());
        let (a, a_data) = raw(b"leaf a");
        let (root, root_data) = directory(&[("a", a)]);
        let network = Network::new([(a, a_data), (root, root_data)]);
        let pinning = Pinning::new(Arc::clone(&store), network, None);
        // A background job of the root alone is running: keeping waits for it, then walks
        // the whole DAG itself.
        pinning.start(root, false);
        pinning.keep(root, true).await.unwrap();
        assert_eq!(pinning.progress(&root), PinProgress::Idle);
        drop(store);
        let reopened = Blockstore::open(dir.path(), StoreOptions::default()).unwrap();
        for cid in [root, a] {
            assert!(reopened.has(&cid).unwrap());
        }
    }

    #[tokio::test]
    async fn keeping_what_nobody_sends_is_unavailable_and_leaves_no_failure_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Blockstore::open(dir.path(), StoreOptions::default()).unwrap());
        let (a, _) = raw(b"never sent");
        let (root, root_data) = directory(&[("a", a)]);
        let pinning = Pinning::new(
            store,
            Network::new([(root, root_data)]),
            Some(Duration::from_millis(50)),
        );
        let started = std::time::Instant::now();
        match pinning.keep(root, true).await {
            Err(Error::Store(crate::store::Error::Unavailable { cid, .. })) => assert_eq!(cid, a),
            other => panic!("expected Unavailable, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        // The caller reported it; the pin's state is what the store holds.
        assert_eq!(pinning.progress(&root), PinProgress::Idle);
    }

    #[tokio::test]
    async fn a_dag_kept_already_is_walked_without_reading_its_leaves() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Blockstore::open(dir.path(), StoreOptions::default()).unwrap());
        let (a, a_data) = raw(b"leaf a");
        let (b, b_data) = raw(b"leaf b");
        let (root, root_data) = directory(&[("a", a), ("b", b)]);
        for (cid, data) in [(a, &a_data), (b, &b_data), (root, &root_data)] {
            store.put(&cid, data).unwrap();
        }
        let network = Network::new([(a, a_data), (b, b_data), (root, root_data)]);
        let pinning = Pinning::new(store, Arc::clone(&network) as SharedSource, None);
        pinning.keep(root, true).await.unwrap();
        // The directory is read for its links; the raw leaves are only looked for.
        assert_eq!(network.asked(), [root]);
    }
}
