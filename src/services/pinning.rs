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
//! not even read, so keeping a DAG that is here costs a `stat` per leaf. A job fetches up to
//! 32 blocks at once and writes them through a store write batch (one durable commit per
//! batch of up to 1,024 blocks or 64 MiB), so a DAG on another node comes at Bitswap's pace,
//! not one round trip and one `fsync` per block.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cid::Cid;
use futures_util::stream::{FuturesUnordered, StreamExt};
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

/// Blocks a job fetches at once (boxo's merkledag fetches a graph 32 at a time, too).
const KEEP_CONCURRENCY: usize = 32;
/// Blocks written per durable batch at most.
const KEEP_BATCH_BLOCKS: usize = 1024;
/// Bytes written per durable batch at most.
const KEEP_BATCH_BYTES: u64 = 64 << 20;

/// Writes the blocks a job fetched through write batches of up to [`KEEP_BATCH_BLOCKS`] or
/// [`KEEP_BATCH_BYTES`], so a pinned DAG costs a durable commit per batch rather than per
/// block; each block becomes visible only once its data is durable. A full batch is committed
/// on a thread of its own while the next one fills: a commit (`syncfs`) waits for every dirty
/// page of the file system, so on a busy disk it can take longer than the network takes to
/// bring the next batch, and fetching would otherwise stall behind it.
fn write_kept(
    store: &Blockstore,
    mut received: tokio::sync::mpsc::Receiver<(Cid, bytes::Bytes)>,
) -> Result<()> {
    let fresh = || store.batch().with_limits(usize::MAX, u64::MAX);
    std::thread::scope(|scope| {
        // One batch committing, one waiting, one filling at most.
        let (full, to_commit) = std::sync::mpsc::sync_channel::<crate::store::WriteBatch<'_>>(1);
        let committer = scope.spawn(move || -> Result<()> {
            for mut batch in to_commit {
                batch.commit()?;
            }
            Ok(())
        });
        let filled = (|| -> Result<()> {
            let mut batch = fresh();
            let mut bytes = 0u64;
            while let Some((cid, block)) = received.blocking_recv() {
                batch.put(&cid, &block)?;
                bytes += block.len() as u64;
                if batch.pending() >= KEEP_BATCH_BLOCKS || bytes >= KEEP_BATCH_BYTES {
                    bytes = 0;
                    if full.send(std::mem::replace(&mut batch, fresh())).is_err() {
                        // The committer failed: its error says why.
                        return Ok(());
                    }
                }
            }
            let _ = full.send(batch);
            Ok(())
        })();
        drop(full);
        let committed = committer
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("the block committer panicked".into())));
        committed.and(filled)
    })
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

    /// Walks the DAG through the source, [`KEEP_CONCURRENCY`] blocks at a time (each one a
    /// round trip when it comes over the network), handing every block that is not kept yet
    /// to a writer that makes them durable in batches; returns once the last batch is.
    async fn keep_dag(
        &self,
        root: Cid,
        recursive: bool,
        progress: Option<&WalkProgress>,
    ) -> Result<()> {
        let (writes, received) = tokio::sync::mpsc::channel(KEEP_CONCURRENCY * 2);
        let store = Arc::clone(&self.store);
        let writer = tokio::task::spawn_blocking(move || write_kept(&store, received));
        let walked = self.walk(root, recursive, progress, &writes).await;
        drop(writes);
        let written = writer
            .await
            .map_err(|e| Error::Internal(format!("the block writer failed: {e}")))?;
        // The writer's failure explains a walk that stopped because the writer was gone.
        written?;
        walked?;
        // Blocks moved over from the fetch cache were written one by one: their names too.
        self.on_store(|store| store.sync()).await
    }

    async fn walk(
        &self,
        root: Cid,
        recursive: bool,
        progress: Option<&WalkProgress>,
        writes: &tokio::sync::mpsc::Sender<(Cid, bytes::Bytes)>,
    ) -> Result<()> {
        let mut seen = HashSet::from([*root.hash()]);
        let mut waiting = std::collections::VecDeque::from([root]);
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < KEEP_CONCURRENCY {
                let Some(cid) = waiting.pop_front() else {
                    break;
                };
                running.push(self.keep_block(cid, recursive, progress, writes));
            }
            let Some(outcome) = running.next().await else {
                return Ok(());
            };
            for child in outcome? {
                if seen.insert(*child.hash()) {
                    waiting.push_back(child);
                }
            }
        }
    }

    /// Keeps one block (fetching it unless it is kept already) and returns the blocks it
    /// links to (none when not `recursive`).
    async fn keep_block(
        &self,
        cid: Cid,
        recursive: bool,
        progress: Option<&WalkProgress>,
        writes: &tokio::sync::mpsc::Sender<(Cid, bytes::Bytes)>,
    ) -> Result<Vec<Cid>> {
        let counting = progress.is_some();
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
            return Ok(Vec::new());
        }
        let block = self.block(&cid).await?;
        if let Some(progress) = progress {
            progress.add(block.len() as u64);
        }
        let mut links = Vec::new();
        if recursive {
            crate::ipld::links::links(&cid, &block, &mut links)?;
        }
        if !kept && writes.send((cid, block)).await.is_err() {
            return Err(Error::Internal("the block writer stopped".into()));
        }
        Ok(links)
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

    /// A source that answers the children of a directory only once all of them are asked
    /// for: a walk that fetched one block after another would wait forever.
    struct AllAtOnce(HashMap<Cid, bytes::Bytes>, Arc<tokio::sync::Barrier>, Cid);

    impl BlockSource for AllAtOnce {
        fn get(&self, cid: &Cid) -> SourceFuture<crate::store::Result<Option<bytes::Bytes>>> {
            let block = self.0.get(cid).cloned();
            let barrier = (*cid != self.2).then(|| Arc::clone(&self.1));
            SourceFuture::pending(async move {
                if let Some(barrier) = barrier {
                    barrier.wait().await;
                }
                Ok(block)
            })
        }
        fn has(&self, cid: &Cid) -> SourceFuture<crate::store::Result<bool>> {
            SourceFuture::ready(Ok(self.0.contains_key(cid)))
        }
        fn size(&self, cid: &Cid) -> SourceFuture<crate::store::Result<Option<u64>>> {
            SourceFuture::ready(Ok(self.0.get(cid).map(|b| b.len() as u64)))
        }
    }

    #[tokio::test]
    async fn a_directorys_blocks_are_fetched_together() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Blockstore::open(dir.path(), StoreOptions::default()).unwrap());
        let leaves: Vec<(Cid, bytes::Bytes)> = (0..8)
            .map(|i| raw(format!("leaf {i}").as_bytes()))
            .collect();
        let names: Vec<String> = (0..8).map(|i| format!("f{i}")).collect();
        let children: Vec<(&str, Cid)> = names
            .iter()
            .zip(&leaves)
            .map(|(n, (c, _))| (n.as_str(), *c))
            .collect();
        let (root, root_data) = directory(&children);
        let mut blocks: HashMap<Cid, bytes::Bytes> = leaves.into_iter().collect();
        blocks.insert(root, root_data);
        let source = Arc::new(AllAtOnce(
            blocks,
            Arc::new(tokio::sync::Barrier::new(8)),
            root,
        ));
        let pinning = Pinning::new(Arc::clone(&store), source, Some(Duration::from_secs(5)));
        pinning.keep(root, true).await.unwrap();
        for cid in children.iter().map(|(_, c)| c).chain([&root]) {
            assert!(store.has(cid).unwrap());
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
