//! The node's one block source: the local store first, then the network. Requests, response
//! bodies, exports and walks read through it and never know where a block came from.
//!
//! A block not on disk is asked of every network source at once (bitswap peers, remote
//! trustless backends…); the first verified answer wins, is handed to the reader at once and
//! goes to the store's fetch cache off the request path. Each network source verifies what it
//! returns against the CID (the [`BlockSource`] contract); nothing unverified gets here.
//!
//! A walk announced ahead ([`Retrieval::expect`]) lets a source that serves whole sub-DAGs
//! (a remote backend in CAR mode) stream them in one request: its blocks land in the caches
//! as they arrive, and reads waiting for one of them get it from the stream instead of asking
//! for it alone. A read falls back to asking every source when no such stream is running or
//! the streams end without its block.
//!
//! Offline (no network sources) this is the store. Online, a block nobody has is an error
//! that says what was tried ([`store::Error::Unavailable`]), answered 504 by the gateway —
//! never a 404: absence on the network cannot be proven, only not found in time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use cid::Cid;
use futures_util::future::{BoxFuture, FutureExt};
use futures_util::stream::{BoxStream, FuturesUnordered, StreamExt};
use multihash::Multihash;
use tokio::sync::oneshot;

use crate::ipld::dag_scope::{DagScope, EntityBytes};
use crate::network::remote::{CarRequest, RemoteBlocks};
use crate::services::denylist::Denylist;
use crate::store::{self, BlockSource, Blockstore, SharedSource, SourceFuture};

/// What a reader is about to walk: a request's selection in trustless-gateway terms
/// (IPIP-402).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    pub root: Cid,
    /// Path segments below the root, decoded.
    pub path: Vec<String>,
    pub scope: DagScope,
    /// For a file with [`DagScope::Entity`]: the bytes wanted.
    pub bytes: Option<EntityBytes>,
}

/// Verified blocks of a walk, as a remote backend streams them.
pub type WalkBlocks = BoxStream<'static, Result<(Cid, Bytes), String>>;

/// A source that can send a whole walk's blocks in one go (a trustless gateway's CAR).
pub trait WalkSource: Send + Sync {
    /// The walk's blocks, each verified against its CID; `Ok(None)` when no source has the
    /// root; `Err` says what was tried.
    fn walk(&self, walk: &Walk) -> BoxFuture<'static, Result<Option<WalkBlocks>, String>>;
}

/// A source of blocks on the network, with the name error messages give it.
#[derive(Clone)]
pub struct NetworkSource {
    pub name: String,
    /// What kind of source it is, for the access log's record of where blocks came from.
    pub kind: SourceKind,
    pub source: SharedSource,
}

/// Kinds of block sources, as [`Provenance`] records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// Bitswap peers.
    Bitswap,
    /// Remote trustless gateways.
    Remote,
}

impl SourceKind {
    fn bit(self) -> u8 {
        match self {
            SourceKind::Bitswap => Provenance::BITSWAP,
            SourceKind::Remote => Provenance::REMOTE,
        }
    }
}

/// Where the blocks one request read came from: the local store, bitswap peers, remote
/// gateways. The http layer runs each request (and each poll of its body) with one in scope
/// ([`Provenance::scope`], [`Provenance::enter`]); reads mark it as they are answered, at the
/// cost of a thread-local access, and nothing when no request has one in scope.
#[derive(Debug, Default)]
pub struct Provenance(std::sync::atomic::AtomicU8);

tokio::task_local! {
    static PROVENANCE: Arc<Provenance>;
}

impl Provenance {
    const LOCAL: u8 = 1;
    const BITSWAP: u8 = 2;
    const REMOTE: u8 = 4;

    /// Runs `future` with `provenance` recording its reads.
    pub async fn scope<F: std::future::Future>(
        provenance: Arc<Provenance>,
        future: F,
    ) -> F::Output {
        PROVENANCE.scope(provenance, future).await
    }

    /// Runs `f` (a poll of a response body) with `provenance` recording its reads.
    pub fn enter<R>(provenance: &Arc<Provenance>, f: impl FnOnce() -> R) -> R {
        PROVENANCE.sync_scope(Arc::clone(provenance), f)
    }

    fn mark(bit: u8) {
        let _ = PROVENANCE.try_with(|p| {
            if p.0.load(std::sync::atomic::Ordering::Relaxed) & bit == 0 {
                p.0.fetch_or(bit, std::sync::atomic::Ordering::Relaxed);
            }
        });
    }

    /// `-` (no block read), `local`, `bitswap`, `remote`, or several joined by `+`.
    pub fn describe(&self) -> &'static str {
        match self.0.load(std::sync::atomic::Ordering::Relaxed) {
            0 => "-",
            1 => "local",
            2 => "bitswap",
            3 => "local+bitswap",
            4 => "remote",
            5 => "local+remote",
            6 => "bitswap+remote",
            _ => "local+bitswap+remote",
        }
    }
}

/// Blocks read through a [`Retrieval`] (and its [`Retrieval::keeping`] twin), by where they
/// came from: the local store, bitswap peers, remote gateways (walks streamed in included).
#[derive(Debug, Default)]
pub struct RetrievalStats {
    local: std::sync::atomic::AtomicU64,
    bitswap: std::sync::atomic::AtomicU64,
    remote: std::sync::atomic::AtomicU64,
}

impl RetrievalStats {
    fn count(&self, bit: u8) {
        let counter = match bit {
            Provenance::LOCAL => &self.local,
            Provenance::BITSWAP => &self.bitswap,
            _ => &self.remote,
        };
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Blocks read from the store, from bitswap peers and from remote gateways.
    pub fn counts(&self) -> (u64, u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.local.load(Relaxed),
            self.bitswap.load(Relaxed),
            self.remote.load(Relaxed),
        )
    }
}

/// A block came from `bit`'s source: recorded for the request and counted.
fn came_from(stats: &RetrievalStats, bit: u8) {
    Provenance::mark(bit);
    stats.count(bit);
}

/// The store, then the network.
pub struct Retrieval {
    store: Arc<Blockstore>,
    network: Arc<[NetworkSource]>,
    /// Blocks it blocks are refused before the store or the network is asked.
    denylist: Arc<Denylist>,
    walks: Option<Arc<dyn WalkSource>>,
    streaming: Arc<Streaming>,
    cache: FetchCacheWriter,
    stats: Arc<RetrievalStats>,
}

/// Writes fetched blocks to the fetch cache off the readers' path, on one thread of its own
/// (a blocking task per block grew Tokio's blocking pool to dozens of threads, each with its
/// allocator heap), holding at most [`MAX_CACHE_BACKLOG`] bytes waiting for the disk: past
/// that a block is served but not cached.
#[derive(Clone)]
struct FetchCacheWriter {
    /// None: fetched blocks are not cached (see [`Retrieval::keeping`]).
    queue: Option<std::sync::mpsc::Sender<(Cid, Bytes)>>,
    backlog: Arc<std::sync::atomic::AtomicUsize>,
}

/// Bytes of fetched blocks waiting to be written to the fetch cache, at most.
const MAX_CACHE_BACKLOG: usize = 8 << 20;

/// The walks being streamed in, and the reads waiting for one of their blocks.
#[derive(Default)]
struct Streaming {
    state: Mutex<StreamingState>,
}

#[derive(Default)]
struct StreamingState {
    running: usize,
    waiting: HashMap<Multihash<64>, Vec<oneshot::Sender<Bytes>>>,
}

impl Streaming {
    fn lock(&self) -> MutexGuard<'_, StreamingState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The block if a walk brought it in, or once a running walk does; `None` when none is
    /// running or they all end without it.
    async fn block(&self, cid: &Cid, store: &Blockstore) -> Option<Bytes> {
        let waiting = {
            let mut state = self.lock();
            // Checked under the lock a stream takes to hand out blocks: none is missed, even
            // one that came in (and a walk that ended) while this read was on the disk.
            if let Some(block) = store.get_in_memory(cid) {
                return Some(block);
            }
            if state.running == 0 {
                return None;
            }
            let (tell, wait) = oneshot::channel();
            state.waiting.entry(*cid.hash()).or_default().push(tell);
            wait
        };
        waiting.await.ok()
    }

    /// A block of a running walk arrived: it goes to memory and to whoever waits for it.
    fn arrived(&self, cid: &Cid, block: &Bytes, store: &Blockstore) {
        store.remember(cid, block);
        let waiters = self.lock().waiting.remove(cid.hash());
        for waiter in waiters.into_iter().flatten() {
            let _ = waiter.send(block.clone());
        }
    }
}

/// Counts a running walk; when the last one ends, every read still waiting is let go.
struct Running(Arc<Streaming>);

impl Running {
    fn start(streaming: &Arc<Streaming>) -> Running {
        streaming.lock().running += 1;
        Running(Arc::clone(streaming))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.running -= 1;
        if state.running == 0 {
            // Dropping the senders wakes the readers, who then ask the network themselves.
            state.waiting.clear();
        }
    }
}

/// How a large file's bytes are fetched when walks stream from a source that serves byte
/// ranges (IPIP-402 `entity-bytes`): one CAR response is written by one backend thread, and
/// Kubo's CAR writer gives about 270 MiB/s where its own gateway reads the same file at
/// 1,200, so a file is asked for in segments, several at once. The first segment starts at
/// once, small, for the first byte's sake; the file's size is learnt from its root as that
/// streams in, and the rest is asked for in [`SEGMENT_BYTES`] pieces, [`PARALLEL_SEGMENTS`]
/// in flight (each CAR repeats the root and the inner nodes over its range: a few KiB).
const HEAD_BYTES: u64 = 4 << 20;
const SEGMENT_BYTES: u64 = 8 << 20;
const PARALLEL_SEGMENTS: usize = 3;

/// The byte range of an entity walk that may be segmented: from a non-negative offset, to a
/// non-negative offset or the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segments {
    from: u64,
    /// Inclusive; `None`: to the end.
    to: Option<u64>,
}

impl Segments {
    fn of(walk: &Walk) -> Option<Segments> {
        if walk.scope != DagScope::Entity {
            return None;
        }
        let EntityBytes { from, to } = walk.bytes.unwrap_or(EntityBytes { from: 0, to: None });
        // Offsets counted from the end need the size first: one walk.
        let from = u64::try_from(from).ok()?;
        let to = match to {
            None => None,
            Some(to) => Some(u64::try_from(to).ok().filter(|&to| to >= from)?),
        };
        Some(Segments { from, to })
    }

    /// The first segment's walk.
    fn head(&self, walk: &Walk) -> Walk {
        let head_to = self.from + HEAD_BYTES - 1;
        byte_range(
            walk,
            self.from,
            self.to.map_or(head_to, |to| to.min(head_to)),
        )
    }

    /// The walks after the head for a file of `size` bytes, in order.
    ///
    /// Lazily: the size comes from the file's root, which anyone can write (a root claiming
    /// 2^64 bytes is a valid block), so the segments are made as they are asked for.
    fn rest<'a>(&self, walk: &'a Walk, size: u64) -> impl Iterator<Item = Walk> + 'a {
        let end = size
            .checked_sub(1)
            .map(|last| self.to.map_or(last, |to| to.min(last)));
        let mut at = Some(self.from.saturating_add(HEAD_BYTES));
        std::iter::from_fn(move || {
            let (from, end) = (at?, end?);
            if from > end {
                return None;
            }
            let to = from.saturating_add(SEGMENT_BYTES - 1).min(end);
            at = to.checked_add(1);
            Some(byte_range(walk, from, to))
        })
    }
}

/// `walk` for the bytes `from..=to` of its entity. Offsets come from an `i64` (a request's
/// `from`), so they fit one; an end past `i64::MAX` (a request near it, plus the head) is the
/// end of any file there can be.
fn byte_range(walk: &Walk, from: u64, to: u64) -> Walk {
    let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    Walk {
        bytes: Some(EntityBytes {
            from: signed(from),
            to: Some(signed(to)),
        }),
        ..walk.clone()
    }
}

/// Streams announced walks into the caches (see [`Retrieval::expect`]).
struct WalkStreamer {
    walks: Arc<dyn WalkSource>,
    store: Arc<Blockstore>,
    cache: FetchCacheWriter,
    denylist: Arc<Denylist>,
    streaming: Arc<Streaming>,
}

impl WalkStreamer {
    /// Streams one walk; `running` counts it until it ends. The blocks it brought.
    async fn stream(&self, walk: &Walk, running: Running) -> usize {
        let mut blocks = match self.walks.walk(walk).await {
            Ok(Some(blocks)) => blocks,
            Ok(None) => return 0,
            Err(e) => {
                tracing::debug!(root = %walk.root, error = %e, "walk not streamed");
                return 0;
            }
        };
        let mut brought = 0;
        while let Some(item) = blocks.next().await {
            match item {
                // A blocked block in the stream is dropped, never kept.
                Ok((cid, _)) if self.denylist.check_cid(&cid).is_some() => {}
                Ok((cid, block)) => {
                    running.0.arrived(&cid, &block, &self.store);
                    self.cache.keep(cid, block);
                    brought += 1;
                }
                Err(e) => {
                    tracing::debug!(root = %walk.root, error = %e, "walk stream ended early");
                    break;
                }
            }
        }
        drop(running);
        brought
    }

    /// [`Self::stream`] of a walk it owns, counted as running from now.
    async fn stream_owned(&self, walk: Walk) -> usize {
        self.stream(&walk, Running::start(&self.streaming)).await
    }

    /// Streams an entity walk in segments (see [`SEGMENT_BYTES`]): the head at once; the
    /// rest, once the entity turns out to be a file longer than the head, a few at a time.
    async fn segmented(&self, walk: Walk, segments: Segments, running: Running) {
        let head = segments.head(&walk);
        let file_size = async {
            let path: Vec<&str> = walk.path.iter().map(String::as_str).collect();
            let streamed = Streamed {
                store: Arc::clone(&self.store),
                streaming: Arc::clone(&self.streaming),
            };
            // The entity's root comes in with the head: its size says what is left.
            match super::resolve::resolve(&streamed, walk.root, &path).await {
                Ok(super::resolve::Resolved {
                    node: super::resolve::Node::File(file),
                    ..
                }) => file.size(),
                _ => 0,
            }
        };
        let mut file_size = std::pin::pin!(file_size);
        let mut head_done = std::pin::pin!(self.stream(&head, Running::start(&self.streaming)));
        // Usually the root resolves while the head streams on, and the segments start then.
        // When the head ends first, the root is in memory if it came at all; what cannot be
        // read at once is not waited for (`running` would keep the wait going for ever).
        let (size, head_streaming) = tokio::select! {
            size = &mut file_size => (size, true),
            _ = &mut head_done => (file_size.now_or_never().unwrap_or(0), false),
        };
        let rest = segments.rest(&walk, size);
        // A segment that brings no more than the path and the root (the file ended before
        // its root said, or the backend failed) ends the asking: the reader asks for what it
        // still lacks on its own.
        let path_and_root = walk.path.len() + 1;
        let rest = async {
            let mut waiting = rest;
            let mut in_flight = FuturesUnordered::new();
            let mut asking = true;
            loop {
                while asking && in_flight.len() < PARALLEL_SEGMENTS {
                    let Some(segment) = waiting.next() else { break };
                    in_flight.push(self.stream_owned(segment));
                }
                match in_flight.next().await {
                    None => break,
                    Some(brought) if brought <= path_and_root => asking = false,
                    Some(_) => {}
                }
            }
        };
        if head_streaming {
            tokio::join!(head_done, rest);
        } else {
            rest.await;
        }
        // Until here `running` kept readers waiting on the walk's blocks.
        drop(running);
    }
}

/// The store, with the blocks of running walks as they arrive: what the segmenting reads the
/// entity's root through, so it never asks the network for a block on its own.
struct Streamed {
    store: Arc<Blockstore>,
    streaming: Arc<Streaming>,
}

impl BlockSource for Streamed {
    fn get(&self, cid: &Cid) -> SourceFuture<store::Result<Option<Bytes>>> {
        let local = BlockSource::get(&*self.store, cid);
        if let SourceFuture::Ready(Some(Ok(Some(block)))) = local {
            return SourceFuture::ready(Ok(Some(block)));
        }
        let (cid, store, streaming) = (*cid, Arc::clone(&self.store), Arc::clone(&self.streaming));
        SourceFuture::pending(async move {
            if let Some(block) = local.await? {
                return Ok(Some(block));
            }
            Ok(streaming.block(&cid, &store).await)
        })
    }

    fn has(&self, cid: &Cid) -> SourceFuture<store::Result<bool>> {
        BlockSource::has(&*self.store, cid)
    }

    fn size(&self, cid: &Cid) -> SourceFuture<store::Result<Option<u64>>> {
        BlockSource::size(&*self.store, cid)
    }
}

impl Retrieval {
    pub fn new(store: Arc<Blockstore>, network: Vec<NetworkSource>) -> Retrieval {
        Retrieval {
            network: network.into(),
            denylist: Denylist::empty(),
            walks: None,
            streaming: Arc::default(),
            cache: FetchCacheWriter::start(Arc::clone(&store)),
            stats: Arc::default(),
            store,
        }
    }

    /// The same sources for a reader that keeps what it fetches itself (pinning writes every
    /// block it fetches to the kept blocks): fetched blocks skip the fetch cache, which would
    /// only write each of them to the disk a second time.
    pub fn keeping(&self) -> Retrieval {
        Retrieval {
            store: Arc::clone(&self.store),
            network: Arc::clone(&self.network),
            walks: self.walks.clone(),
            streaming: Arc::clone(&self.streaming),
            cache: FetchCacheWriter::off(),
            denylist: Arc::clone(&self.denylist),
            stats: Arc::clone(&self.stats),
        }
    }

    /// Blocks read so far, by source.
    pub fn stats(&self) -> &Arc<RetrievalStats> {
        &self.stats
    }

    /// Streams announced walks from `walks` (see [`Retrieval::expect`]).
    pub fn with_walks(mut self, walks: Arc<dyn WalkSource>) -> Retrieval {
        self.walks = Some(walks);
        self
    }

    /// Refuses the blocks `denylist` blocks ([`store::Error::Blocked`]): they are never
    /// read, fetched from the network or kept from a walk's stream.
    pub fn with_denylist(mut self, denylist: Arc<Denylist>) -> Retrieval {
        self.denylist = denylist;
        self
    }

    /// Whether announced walks are streamed (a [`WalkSource`] is set); when not,
    /// [`Retrieval::expect`] does nothing and callers need not build a [`Walk`].
    pub fn streams_walks(&self) -> bool {
        self.walks.is_some()
    }

    /// A reader is about to walk `walk`: with a [`WalkSource`], its blocks start streaming in
    /// now unless the root is here already. Runs on the current Tokio runtime; without one
    /// (or without a walk source) this does nothing.
    pub fn expect(&self, walk: Walk) {
        let Some(walks) = &self.walks else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.denylist.check_cid(&walk.root).is_some() {
            return;
        }
        let here = BlockSource::has(&*self.store, &walk.root);
        if let SourceFuture::Ready(Some(Ok(true))) = here {
            return;
        }
        let streamer = WalkStreamer {
            walks: Arc::clone(walks),
            store: Arc::clone(&self.store),
            cache: self.cache.clone(),
            denylist: Arc::clone(&self.denylist),
            streaming: Arc::clone(&self.streaming),
        };
        let running = Running::start(&self.streaming);
        runtime.spawn(async move {
            if let Ok(true) = here.await {
                return;
            }
            match Segments::of(&walk) {
                Some(segments) => streamer.segmented(walk, segments, running).await,
                None => {
                    streamer.stream(&walk, running).await;
                }
            }
        });
    }

    /// Whether any network source is configured.
    pub fn is_online(&self) -> bool {
        !self.network.is_empty()
    }
}

impl BlockSource for Retrieval {
    fn get(&self, cid: &Cid) -> SourceFuture<store::Result<Option<Bytes>>> {
        if let Some(blocked) = self.denylist.check_cid(cid) {
            return SourceFuture::ready(Err(blocked.into()));
        }
        let local = BlockSource::get(&*self.store, cid);
        if self.network.is_empty() {
            return match local {
                SourceFuture::Ready(Some(Ok(Some(_)))) => {
                    came_from(&self.stats, Provenance::LOCAL);
                    local
                }
                // A disk read (already a task on the blocking pool) is wrapped to count it.
                SourceFuture::Pending(_) => {
                    let stats = Arc::clone(&self.stats);
                    SourceFuture::pending(async move {
                        let block = local.await?;
                        if block.is_some() {
                            came_from(&stats, Provenance::LOCAL);
                        }
                        Ok(block)
                    })
                }
                local => local,
            };
        }
        match local {
            // In memory or in the page cache: no allocation, no task.
            SourceFuture::Ready(Some(Ok(Some(block)))) => {
                came_from(&self.stats, Provenance::LOCAL);
                SourceFuture::ready(Ok(Some(block)))
            }
            SourceFuture::Ready(Some(Err(e))) => SourceFuture::ready(Err(e)),
            local => {
                let (cid, store, network) =
                    (*cid, Arc::clone(&self.store), Arc::clone(&self.network));
                let (streaming, cache) = (Arc::clone(&self.streaming), self.cache.clone());
                let stats = Arc::clone(&self.stats);
                SourceFuture::pending(async move {
                    if let Some(block) = local.await? {
                        came_from(&stats, Provenance::LOCAL);
                        return Ok(Some(block));
                    }
                    if let Some(block) = streaming.block(&cid, &store).await {
                        // Walks are streamed from remote backends.
                        came_from(&stats, Provenance::REMOTE);
                        return Ok(Some(block));
                    }
                    fetch(cid, &cache, &network, &stats).await.map(Some)
                })
            }
        }
    }

    /// Whether the block is here, in the store: the network is not asked (anything might be
    /// out there; this answers what a read would find without waiting on peers).
    fn has(&self, cid: &Cid) -> SourceFuture<store::Result<bool>> {
        if let Some(blocked) = self.denylist.check_cid(cid) {
            return SourceFuture::ready(Err(blocked.into()));
        }
        BlockSource::has(&*self.store, cid)
    }

    fn size(&self, cid: &Cid) -> SourceFuture<store::Result<Option<u64>>> {
        if let Some(blocked) = self.denylist.check_cid(cid) {
            return SourceFuture::ready(Err(blocked.into()));
        }
        if self.network.is_empty() {
            return BlockSource::size(&*self.store, cid);
        }
        let size = BlockSource::size(&*self.store, cid);
        if let SourceFuture::Ready(Some(Ok(Some(size)))) = size {
            return SourceFuture::ready(Ok(Some(size)));
        }
        let block = self.get(cid);
        SourceFuture::pending(async move { Ok(block.await?.map(|b| b.len() as u64)) })
    }
}

/// Asks every network source for the block at once; the first to have it wins.
async fn fetch(
    cid: Cid,
    cache: &FetchCacheWriter,
    network: &[NetworkSource],
    stats: &RetrievalStats,
) -> store::Result<Bytes> {
    let mut asked: FuturesUnordered<_> = network
        .iter()
        .map(|n| {
            let answer = n.source.get(&cid);
            async move { (n.name.as_str(), n.kind, answer.await) }
        })
        .collect();
    let mut tried = Vec::new();
    while let Some((name, kind, answer)) = asked.next().await {
        match answer {
            Ok(Some(block)) => {
                came_from(stats, kind.bit());
                cache.keep(cid, block.clone());
                return Ok(block);
            }
            Ok(None) => tried.push(format!("{name}: not found")),
            // The CID is said once, by the error this becomes.
            Err(store::Error::Unavailable { reason, .. }) => {
                tried.push(format!("{name}: {reason}"))
            }
            Err(e) => tried.push(format!("{name}: {e}")),
        }
    }
    Err(store::Error::Unavailable {
        cid,
        reason: Box::new(Tried(tried)),
    })
}

/// Remote trustless gateways in CAR mode: a walk is one `?format=car` request with its
/// `dag-scope` and `entity-bytes`, so a range asks only for the blocks holding its bytes.
impl WalkSource for RemoteBlocks {
    fn walk(&self, walk: &Walk) -> BoxFuture<'static, Result<Option<WalkBlocks>, String>> {
        let remote = self.clone();
        let request = CarRequest::new(walk.root)
            .at_path(walk.path.iter().cloned())
            .map(|r| r.scope(walk.scope));
        let request = match (request, walk.bytes) {
            (Ok(request), Some(bytes)) => Ok(request.entity_bytes(bytes)),
            (request, _) => request,
        };
        Box::pin(async move {
            let request = request.map_err(|e| e.to_string())?;
            match remote.fetch_car(&request).await {
                Ok(Some(blocks)) => Ok(Some(blocks.map(|b| b.map_err(|e| e.to_string())).boxed())),
                Ok(None) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

/// What each network source answered, for the error a reader sees.
#[derive(Debug)]
struct Tried(Vec<String>);

impl std::fmt::Display for Tried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tried ")?;
        f.write_str(&self.0.join("; "))
    }
}

impl std::error::Error for Tried {}

impl FetchCacheWriter {
    /// The writer and its thread, which ends when the last writer is dropped.
    fn start(store: Arc<Blockstore>) -> FetchCacheWriter {
        use std::sync::atomic::Ordering;
        let (queue, blocks) = std::sync::mpsc::channel::<(Cid, Bytes)>();
        let backlog = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let written = Arc::clone(&backlog);
        let spawned = std::thread::Builder::new()
            .name("fetch-cache".into())
            .spawn(move || {
                for (cid, block) in blocks {
                    if let Err(e) = store.cache_fetched(&cid, &block) {
                        tracing::warn!(error = %e, "could not keep a fetched block on disk");
                    }
                    written.fetch_sub(block.len(), Ordering::Relaxed);
                }
            });
        if let Err(e) = spawned {
            // Without the thread every send fails: blocks are served, never cached.
            tracing::warn!(error = %e, "no fetch cache writer: fetched blocks will not be kept");
        }
        FetchCacheWriter {
            queue: Some(queue),
            backlog,
        }
    }

    /// A writer that caches nothing.
    fn off() -> FetchCacheWriter {
        FetchCacheWriter {
            queue: None,
            backlog: Arc::default(),
        }
    }

    /// Queues a fetched block for the fetch cache without making the reader wait for the
    /// disk; drops it instead when the disk is behind by [`MAX_CACHE_BACKLOG`].
    fn keep(&self, cid: Cid, block: Bytes) {
        use std::sync::atomic::Ordering;
        let Some(queue) = &self.queue else {
            return;
        };
        let len = block.len();
        let queued = self.backlog.fetch_add(len, Ordering::Relaxed);
        if queued + len > MAX_CACHE_BACKLOG || queue.send((cid, block)).is_err() {
            self.backlog.fetch_sub(len, Ordering::Relaxed);
            tracing::debug!(%cid, "fetch cache behind: block served, not cached");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;
    use crate::test_support::block_on;
    use multihash_codetable::{Code, MultihashDigest};
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// A network source holding some blocks, counting the reads it was asked for.
    #[derive(Default)]
    struct Peer {
        blocks: HashMap<Cid, Bytes>,
        failing: bool,
        asked: Mutex<Vec<Cid>>,
    }

    impl BlockSource for Peer {
        fn get(&self, cid: &Cid) -> SourceFuture<store::Result<Option<Bytes>>> {
            self.asked.lock().unwrap().push(*cid);
            if self.failing {
                return SourceFuture::ready(Err(store::Error::Worker("connection reset".into())));
            }
            let block = self.blocks.get(cid).cloned();
            // Answers later, as a peer does.
            SourceFuture::pending(async move {
                tokio::task::yield_now().await;
                Ok(block)
            })
        }
        fn has(&self, cid: &Cid) -> SourceFuture<store::Result<bool>> {
            SourceFuture::ready(Ok(self.blocks.contains_key(cid)))
        }
        fn size(&self, cid: &Cid) -> SourceFuture<store::Result<Option<u64>>> {
            SourceFuture::ready(Ok(self.blocks.get(cid).map(|b| b.len() as u64)))
        }
    }

    fn block(data: &[u8]) -> (Cid, Bytes) {
        (
            Cid::new_v1(0x55, Code::Sha2_256.digest(data)),
            Bytes::copy_from_slice(data),
        )
    }

    fn store(dir: &std::path::Path) -> Arc<Blockstore> {
        let options = StoreOptions {
            fetch_cache_bytes: Some(1 << 20),
            ..StoreOptions::default()
        };
        Arc::new(Blockstore::open(dir, options).unwrap())
    }

    fn named(name: &str, peer: &Arc<Peer>) -> NetworkSource {
        NetworkSource {
            name: name.to_owned(),
            kind: SourceKind::Bitswap,
            source: Arc::clone(peer) as SharedSource,
        }
    }

    #[test]
    fn a_block_not_here_is_fetched_once_and_then_read_locally() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let (cid, data) = block(b"out there");
        let empty = Arc::new(Peer::default());
        let holder = Arc::new(Peer {
            blocks: HashMap::from([(cid, data.clone())]),
            ..Peer::default()
        });
        let retrieval = Retrieval::new(
            Arc::clone(&store),
            vec![named("empty", &empty), named("holder", &holder)],
        );
        assert!(!block_on(retrieval.has(&cid)).unwrap());
        assert_eq!(block_on(retrieval.get(&cid)).unwrap(), Some(data.clone()));
        assert_eq!(holder.asked.lock().unwrap().len(), 1);
        // The fetched block reaches the disk off the request path, soon after.
        for _ in 0..200 {
            if store.fetched_bytes() > 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(store.has(&cid).unwrap());
        assert_eq!(store.fetched_bytes(), data.len() as u64);
        assert_eq!(block_on(retrieval.get(&cid)).unwrap(), Some(data));
        assert_eq!(
            holder.asked.lock().unwrap().len(),
            1,
            "read locally the second time"
        );
    }

    #[test]
    fn blocked_blocks_are_refused_before_the_store_or_the_network_is_asked() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let (here, here_data) = block(b"blocked and here");
        let (there, there_data) = block(b"blocked and out there");
        store.put(&here, &here_data).unwrap();
        let peer = Arc::new(Peer {
            blocks: HashMap::from([(there, there_data)]),
            ..Peer::default()
        });
        let list = format!("/ipfs/{here}\n/ipfs/{there}\n");
        let denylist = Denylist::from_text("test", list.as_bytes()).unwrap();
        let retrieval =
            Retrieval::new(Arc::clone(&store), vec![named("peer", &peer)]).with_denylist(denylist);
        for cid in [here, there] {
            assert!(matches!(
                block_on(retrieval.get(&cid)),
                Err(store::Error::Blocked(_))
            ));
            assert!(matches!(
                block_on(retrieval.size(&cid)),
                Err(store::Error::Blocked(_))
            ));
            assert!(matches!(
                block_on(retrieval.has(&cid)),
                Err(store::Error::Blocked(_))
            ));
        }
        assert!(peer.asked.lock().unwrap().is_empty(), "never fetched");
    }

    #[test]
    fn local_blocks_never_reach_the_network() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let (cid, data) = block(b"here");
        store.put(&cid, &data).unwrap();
        let peer = Arc::new(Peer::default());
        let retrieval = Retrieval::new(Arc::clone(&store), vec![named("peer", &peer)]);
        assert!(matches!(
            retrieval.get(&cid),
            SourceFuture::Ready(Some(Ok(Some(_))))
        ));
        assert_eq!(block_on(retrieval.size(&cid)).unwrap(), Some(4));
        assert!(peer.asked.lock().unwrap().is_empty());
    }

    #[test]
    fn a_block_nobody_has_is_unavailable_with_what_was_tried_not_absent() {
        let dir = tempfile::tempdir().unwrap();
        let (cid, _) = block(b"nowhere");
        let empty = Arc::new(Peer::default());
        let broken = Arc::new(Peer {
            failing: true,
            ..Peer::default()
        });
        let retrieval = Retrieval::new(
            store(dir.path()),
            vec![named("backend a", &empty), named("backend b", &broken)],
        );
        match block_on(retrieval.get(&cid)) {
            Err(store::Error::Unavailable { cid: c, reason }) => {
                assert_eq!(c, cid);
                let tried = reason.to_string();
                assert!(tried.contains("backend a: not found"), "{tried}");
                assert!(
                    tried.contains("backend b: ") && tried.contains("connection reset"),
                    "{tried}"
                );
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    #[test]
    fn offline_it_is_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let (cid, _) = block(b"absent");
        let retrieval = Retrieval::new(store(dir.path()), Vec::new());
        assert!(!retrieval.is_online());
        assert_eq!(block_on(retrieval.get(&cid)).unwrap(), None);
    }

    /// Streams the blocks it holds for any walk, one each time the test lets it.
    struct Car {
        blocks: Vec<(Cid, Bytes)>,
        gate: Arc<tokio::sync::Semaphore>,
        walks: Mutex<Vec<Walk>>,
    }

    impl WalkSource for Car {
        fn walk(&self, walk: &Walk) -> BoxFuture<'static, Result<Option<WalkBlocks>, String>> {
            self.walks.lock().unwrap().push(walk.clone());
            let (blocks, gate) = (self.blocks.clone(), Arc::clone(&self.gate));
            let stream = futures_util::stream::iter(blocks).then(move |block| {
                let gate = Arc::clone(&gate);
                async move {
                    gate.acquire().await.unwrap().forget();
                    Ok(block)
                }
            });
            Box::pin(async move { Ok(Some(stream.boxed())) })
        }
    }

    #[tokio::test]
    async fn reads_during_a_walk_take_its_streamed_blocks_and_the_rest_is_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let (a, a_data) = block(b"first in the CAR");
        let (b, b_data) = block(b"second in the CAR");
        let (c, c_data) = block(b"not in the CAR");
        let peer = Arc::new(Peer {
            blocks: HashMap::from([
                (a, a_data.clone()),
                (b, b_data.clone()),
                (c, c_data.clone()),
            ]),
            ..Peer::default()
        });
        let car = Arc::new(Car {
            blocks: vec![(a, a_data.clone()), (b, b_data.clone())],
            gate: Arc::new(tokio::sync::Semaphore::new(0)),
            walks: Mutex::default(),
        });
        let retrieval = Retrieval::new(Arc::clone(&store), vec![named("backend", &peer)])
            .with_walks(Arc::clone(&car) as Arc<dyn WalkSource>);
        let walk = Walk {
            root: a,
            path: vec!["x".into()],
            scope: DagScope::Entity,
            bytes: Some(EntityBytes {
                from: 0,
                to: Some(9),
            }),
        };
        retrieval.expect(walk.clone());
        // The walk starts once the store has said the root is not here.
        for _ in 0..200 {
            if !car.walks.lock().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(*car.walks.lock().unwrap(), [walk]);

        // Both reads wait on the stream, not on the backend.
        let (read_a, read_b) = (retrieval.get(&a), retrieval.get(&b));
        let reads = tokio::spawn(async move { (read_a.await, read_b.await) });
        car.gate.add_permits(2);
        let (got_a, got_b) = reads.await.unwrap();
        assert_eq!(got_a.unwrap(), Some(a_data));
        assert_eq!(got_b.unwrap(), Some(b_data));
        assert!(peer.asked.lock().unwrap().is_empty());

        // The stream is over: a block it did not carry is asked for on its own.
        for _ in 0..200 {
            if retrieval.streaming.lock().running == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(retrieval.get(&c).await.unwrap(), Some(c_data));
        assert_eq!(*peer.asked.lock().unwrap(), [c]);
    }

    /// A UnixFS file root of `size` bytes over 1 MiB leaves nobody holds (at most 64 of
    /// them: a root may claim more than its links hold).
    fn file_root(size: u64) -> (Cid, Bytes) {
        use crate::ipld::dagpb::{PbLink, PbNode};
        use crate::ipld::unixfs::{DataType, UnixFsData};
        let leaves = size.div_ceil(1 << 20).min(64);
        let mut data = UnixFsData::new(DataType::File);
        data.filesize = Some(size);
        let links = (0..leaves)
            .map(|i| {
                let leaf = block(format!("leaf {i}").as_bytes()).0;
                let len = (size - i * (1 << 20)).min(1 << 20);
                data.blocksizes.push(len);
                PbLink::new(leaf, Some(Bytes::new()), Some(len)).unwrap()
            })
            .collect();
        let node = PbNode {
            links,
            data: Some(Bytes::from(data.encode())),
        };
        let bytes = Bytes::from(node.to_bytes());
        (Cid::new_v1(0x70, Code::Sha2_256.digest(&bytes)), bytes)
    }

    fn entity(root: Cid, bytes: Option<(i64, Option<i64>)>) -> Walk {
        Walk {
            root,
            path: Vec::new(),
            scope: DagScope::Entity,
            bytes: bytes.map(|(from, to)| EntityBytes { from, to }),
        }
    }

    /// The walks asked of `car` once `walk` is expected and every walk has ended.
    async fn walks_asked(car: &Arc<Car>, walk: Walk) -> Vec<Walk> {
        let dir = tempfile::tempdir().unwrap();
        let retrieval = Retrieval::new(store(dir.path()), Vec::new())
            .with_walks(Arc::clone(car) as Arc<dyn WalkSource>);
        retrieval.expect(walk);
        car.gate.add_permits(1 << 20);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        for _ in 0..500 {
            if retrieval.streaming.lock().running == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(retrieval.streaming.lock().running, 0);
        let mut walks = std::mem::take(&mut *car.walks.lock().unwrap());
        walks.sort_by_key(|w| w.bytes.map(|b| b.from));
        walks
    }

    #[tokio::test]
    async fn a_large_file_is_streamed_in_segments_several_at_once() {
        const MIB: i64 = 1 << 20;
        let (root, root_block) = file_root(20 << 20);
        let car = Arc::new(Car {
            blocks: vec![(root, root_block)],
            gate: Arc::new(tokio::sync::Semaphore::new(0)),
            walks: Mutex::default(),
        });
        let range = |from: i64, to: i64| entity(root, Some((from, Some(to))));
        // The whole file: a 4 MiB head, then 8 MiB segments to the end.
        assert_eq!(
            walks_asked(&car, entity(root, None)).await,
            [
                range(0, 4 * MIB - 1),
                range(4 * MIB, 12 * MIB - 1),
                range(12 * MIB, 20 * MIB - 1),
            ]
        );
        // A range: its own bytes only.
        assert_eq!(
            walks_asked(&car, range(MIB, 10 * MIB)).await,
            [range(MIB, 5 * MIB - 1), range(5 * MIB, 10 * MIB)]
        );
        // Open-ended from an offset.
        assert_eq!(
            walks_asked(&car, entity(root, Some((15 * MIB, None)))).await,
            [range(15 * MIB, 19 * MIB - 1), range(19 * MIB, 20 * MIB - 1)]
        );
        // Within the head, counted from the end, or another scope: one walk as asked.
        for walk in [
            range(0, MIB),
            entity(root, Some((-MIB, None))),
            Walk {
                scope: DagScope::All,
                ..entity(root, None)
            },
        ] {
            assert_eq!(walks_asked(&car, walk.clone()).await, [walk]);
        }
    }

    #[test]
    fn segments_of_a_range_near_the_largest_offset_stay_in_range() {
        let (root, _) = file_root(1 << 20);
        let walk = entity(root, Some((i64::MAX - 10, None)));
        let segments = Segments::of(&walk).unwrap();
        let head = segments.head(&walk).bytes.unwrap();
        assert_eq!(head.from, i64::MAX - 10);
        assert_eq!(head.to, Some(i64::MAX));
        // A root may claim any size: segments are made one at a time, and their offsets stay
        // within what a request can say.
        let mut rest = segments.rest(&walk, u64::MAX);
        let first = rest.next().unwrap().bytes.unwrap();
        assert_eq!((first.from, first.to), (i64::MAX, Some(i64::MAX)));
        assert!(rest.take(3).all(|w| w.bytes.unwrap().from == i64::MAX));
        assert_eq!(segments.rest(&walk, 0).count(), 0);
    }

    #[tokio::test]
    async fn segments_stop_once_one_brings_nothing_but_the_root() {
        const MIB: i64 = 1 << 20;
        // A root claiming 1 TiB, whose segments the backend answers with the root alone.
        let (root, root_block) = file_root(1 << 40);
        let car = Arc::new(Car {
            blocks: vec![(root, root_block)],
            gate: Arc::new(tokio::sync::Semaphore::new(0)),
            walks: Mutex::default(),
        });
        let walks = walks_asked(&car, entity(root, None)).await;
        let froms: Vec<i64> = walks.iter().map(|w| w.bytes.unwrap().from).collect();
        assert_eq!(froms, [0, 4 * MIB, 12 * MIB, 20 * MIB]);
    }

    #[tokio::test]
    async fn a_head_without_the_root_ends_the_walk_without_segments() {
        let (root, _) = file_root(20 << 20);
        let car = Arc::new(Car {
            blocks: Vec::new(),
            gate: Arc::new(tokio::sync::Semaphore::new(0)),
            walks: Mutex::default(),
        });
        let walk = entity(root, None);
        assert_eq!(
            walks_asked(&car, walk).await,
            [entity(root, Some((0, Some((4 << 20) - 1))))]
        );
    }

    #[tokio::test]
    async fn a_walk_whose_root_is_here_is_not_streamed() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let (root, data) = block(b"local root");
        store.put(&root, &data).unwrap();
        let car = Arc::new(Car {
            blocks: Vec::new(),
            gate: Arc::new(tokio::sync::Semaphore::new(0)),
            walks: Mutex::default(),
        });
        let retrieval =
            Retrieval::new(store, Vec::new()).with_walks(Arc::clone(&car) as Arc<dyn WalkSource>);
        retrieval.expect(Walk {
            root,
            path: Vec::new(),
            scope: DagScope::All,
            bytes: None,
        });
        for _ in 0..200 {
            if retrieval.streaming.lock().running == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(retrieval.streaming.lock().running, 0);
        assert!(car.walks.lock().unwrap().is_empty());
    }

    #[test]
    fn fetched_blocks_are_cached_unless_the_disk_is_too_far_behind() {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions {
            fetch_cache_bytes: Some(1 << 20),
            ..StoreOptions::default()
        };
        let store = Arc::new(Blockstore::open(dir.path(), options).unwrap());
        let writer = FetchCacheWriter::start(Arc::clone(&store));
        let block = |text: &str| {
            let data = Bytes::copy_from_slice(text.as_bytes());
            (Cid::new_v1(0x55, Code::Sha2_256.digest(&data)), data)
        };
        let (kept, data) = block("kept");
        writer.keep(kept, data);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while store.fetched_bytes() != 4
            || writer.backlog.load(std::sync::atomic::Ordering::Relaxed) != 0
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the writer thread kept it"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // Writes worth the whole backlog are queued: the next block is served, not cached.
        writer
            .backlog
            .store(MAX_CACHE_BACKLOG - 2, std::sync::atomic::Ordering::Relaxed);
        let (dropped, data) = block("dropped");
        writer.keep(dropped, data);
        assert_eq!(store.fetched_bytes(), 4);
        assert!(!store.has(&dropped).unwrap());
        assert_eq!(
            writer.backlog.load(std::sync::atomic::Ordering::Relaxed),
            MAX_CACHE_BACKLOG - 2,
            "a dropped block leaves the backlog as it was"
        );
    }

    #[test]
    fn a_keeping_retrieval_leaves_the_fetch_cache_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let (cid, data) = block(b"pinned elsewhere");
        let peer = Arc::new(Peer {
            blocks: HashMap::from([(cid, data.clone())]),
            ..Peer::default()
        });
        let retrieval = Retrieval::new(Arc::clone(&store), vec![named("peer", &peer)]);
        let keeping = retrieval.keeping();
        assert_eq!(block_on(keeping.get(&cid)).unwrap(), Some(data.clone()));
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(store.fetched_bytes(), 0, "not written to the fetch cache");
        // The reader's own retrieval still caches.
        assert_eq!(block_on(retrieval.get(&cid)).unwrap(), Some(data));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while store.fetched_bytes() == 0 {
            assert!(std::time::Instant::now() < deadline, "cached by the reader");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
