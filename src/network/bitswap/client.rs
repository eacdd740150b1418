//! The client side of Bitswap: fetching blocks by CID from peers, without a transport.
//!
//! The transport (libp2p, or the in-memory one of the tests) plugs in through two traits and
//! three calls:
//! - [`Outbox::send`] writes a message to a peer (fire and forget: the transport owns one
//!   outgoing stream per peer, dials peers it is not connected to, and encodes for the
//!   protocol it negotiated);
//! - [`FindProviders::find_providers`] asks routing (DHT, delegated routing) for peers that
//!   provide a CID;
//! - [`Client::receive`] takes every message arriving from a peer, and
//!   [`Client::peer_connected`] / [`Client::peer_disconnected`] follow connections (and failed
//!   dials).
//!
//! [`Client::get`] returns a [`Fetch`], a future of the verified [`Block`]. Gets belong to a
//! [`Session`] (one per request or DAG walk), which remembers the peers that sent its blocks;
//! [`DagSessions`] finds the session of a DAG's block for callers that only know CIDs.
//!
//! # The algorithm
//!
//! It follows the spec's 1.2.0 interaction pattern (<https://specs.ipfs.tech/bitswap-protocol/>)
//! and what boxo's client does (`bitswap/client/internal/session`, `messagequeue`); values taken
//! from boxo are named in [`ClientConfig`].
//!
//! Concurrent gets of one CID share one *want*. A want proceeds in *rounds*; each round:
//! 1. **Session peers first.** Each session waiting on the want asks its best peers (most
//!    blocks sent to the session, then most recent): a want-block to the best, want-haves to
//!    the next few ([`ClientConfig::session_fanout`] in all).
//! 2. **HAVE → want-block.** A peer answering HAVE is sent a want-block, one peer at a time:
//!    the next HAVE peer is tried when the one asked says DONT_HAVE, times out or
//!    disconnects.
//! 3. **Broadcast.** While no peer has said HAVE, connected peers not yet asked get want-haves
//!    (with send-dont-have), [`ClientConfig::broadcast_fanout`] at a time: the first batch at
//!    once when the sessions know no peer, else after [`ClientConfig::broadcast_delay`]; the
//!    next when every ask so far is answered, or `broadcast_delay` after the last batch.
//! 4. **Providers.** When every connected peer was asked and none has the block, or nobody
//!    said HAVE within [`ClientConfig::provider_search_delay`], a provider lookup runs (once a
//!    round, at most [`ClientConfig::max_providers`] peers). Providers count as HAVEs, as in
//!    boxo: the first gets the want-block, the others want-haves.
//!
//! An ask unanswered after [`ClientConfig::peer_timeout`] counts as DONT_HAVE for the round; a
//! peer that disconnects counts as one at once. Peers on 1.0.0 and 1.1.0 have no want-have
//! and never say DONT_HAVE: they get want-blocks and only the timeout moves past them.
//! Every [`ClientConfig::rebroadcast_interval`] a pending want starts a new round, asking
//! everyone again (servers forget answered wants, and boxo resends its wantlist likewise).
//!
//! When the block arrives from anyone, every waiting get receives it, the sender is credited
//! to the gets' sessions, and every other peer ever sent the want gets a CANCEL (the spec asks
//! it for peers that did not answer; boxo servers keep answered want-haves too, so all get
//! one). A get dropped (its caller timed out or went away) leaves the want; the last one
//! cancels it the same way, so nothing is left behind.
//!
//! Blocks are verified before use: payload blocks by construction ([`Block`]), 1.0.0 blocks
//! by [`verify_legacy_blocks`](super::verify_legacy_blocks) against the wanted CIDs. A 1.0.0
//! block matching nothing wanted (nor delivered lately) is dropped and its sender penalised:
//! the sessions waiting on its want-blocks stop asking it. Any block that answers no want,
//! pending or ended lately, is unsolicited: dropped (the client keeps no blocks of its own),
//! and counted for the transport, which charges it to the sender ([`super::budget`]).
//!
//! The caller owns the deadline: it wraps the fetch in a timeout, or uses [`Fetch::within`],
//! whose error carries a [`Diagnosis`] of what was tried (for a 504 page).

mod dag_sessions;
mod diagnosis;
mod engine;

use std::fmt::{Debug, Display};
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use cid::Cid;
use futures_core::Stream;
use futures_util::StreamExt;
use tokio::runtime::Handle;
use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;

use self::engine::{Engine, Legacy, Outgoing, SessionId, WaiterId};
use super::{Block, Message, Protocol, Wantlist};

pub use self::dag_sessions::DagSessions;
pub use self::diagnosis::{Asked, Diagnosis, Outcome, PeerReport, ProviderLookups, SessionStats};

/// What identifies a peer to the client: whatever the transport uses (a libp2p `PeerId`).
/// Its `Display` names the peer in a [`Diagnosis`].
pub trait PeerKey: Clone + Eq + Hash + Send + Sync + Debug + Display + 'static {}

impl<T: Clone + Eq + Hash + Send + Sync + Debug + Display + 'static> PeerKey for T {}

/// Where the client's messages go: the transport.
pub trait Outbox<K>: Send + Sync + 'static {
    /// Queues `message` (a wantlist update) for `peer`, dialing it if needed. Called with the
    /// client's state locked: it must return promptly and must not call back into the
    /// [`Client`]. A peer that cannot be reached should be reported with
    /// [`Client::peer_disconnected`] (later, from another task).
    fn send(&self, peer: &K, message: Message);
}

/// Peers found to provide a CID, as they come.
pub type ProviderStream<K> = Pin<Box<dyn Stream<Item = K> + Send + 'static>>;

/// Content routing: who provides a CID.
pub trait FindProviders<K>: Send + Sync + 'static {
    /// Peers providing `cid`, at most `limit` wanted. The stream is read on its own task and
    /// dropped once the want is met or cancelled, or at the next rebroadcast; the peers are
    /// sent wants at once, so the transport must know how to dial them.
    fn find_providers(&self, cid: &Cid, limit: usize) -> ProviderStream<K>;
}

/// How the client asks. The defaults are boxo's where boxo has the setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// Session peers asked first for each want: the best a want-block, the others want-haves.
    /// boxo asks every session peer; a few of the best suffice for a DAG walk and bound the
    /// traffic.
    pub session_fanout: usize,
    /// Connected peers sent a want-have per broadcast batch. boxo broadcasts to every
    /// connected peer; a gateway connected to hundreds would send hundreds of messages per
    /// block, so batches are bounded and widened over time.
    pub broadcast_fanout: usize,
    /// How long the asked peers have before the next batch goes (boxo's `ProvSearchDelay`,
    /// 1 s, after which a session broadcasts).
    pub broadcast_delay: Duration,
    /// How long a peer has to answer a want before it counts as DONT_HAVE (boxo's
    /// `DontHaveTimeout`, 5 s).
    pub peer_timeout: Duration,
    /// How long without any HAVE before providers are looked up even though not every
    /// connected peer has answered (boxo's `ProvSearchDelay`, 1 s).
    pub provider_search_delay: Duration,
    /// Providers taken from one lookup (boxo's `BitswapClientDefaultMaxProviders`, 10).
    pub max_providers: usize,
    /// How often pending wants are asked afresh (boxo's message queue rebroadcasts its
    /// wantlist every 30 s).
    pub rebroadcast_interval: Duration,
    /// Peers a session remembers; the least useful is forgotten first.
    pub max_session_peers: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            session_fanout: 4,
            broadcast_fanout: 8,
            broadcast_delay: Duration::from_secs(1),
            peer_timeout: Duration::from_secs(5),
            provider_search_delay: Duration::from_secs(1),
            max_providers: 10,
            rebroadcast_interval: Duration::from_secs(30),
            max_session_peers: 32,
        }
    }
}

/// The shortest delay the client schedules: zero durations in a [`ClientConfig`] become this,
/// and no want is stepped twice within it.
const MIN_DELAY: Duration = Duration::from_millis(1);

impl ClientConfig {
    fn sanitized(self) -> Self {
        ClientConfig {
            session_fanout: self.session_fanout.max(1),
            broadcast_fanout: self.broadcast_fanout.max(1),
            broadcast_delay: self.broadcast_delay.max(MIN_DELAY),
            peer_timeout: self.peer_timeout.max(MIN_DELAY),
            provider_search_delay: self.provider_search_delay.max(MIN_DELAY),
            max_providers: self.max_providers.max(1),
            rebroadcast_interval: self.rebroadcast_interval.max(MIN_DELAY),
            max_session_peers: self.max_session_peers.max(1),
        }
    }
}

/// Why a get ended without its block.
#[derive(Debug, thiserror::Error)]
pub enum FetchError<K: PeerKey> {
    /// [`Fetch::within`]'s limit passed; what was tried.
    #[error("{0}")]
    TimedOut(Box<Diagnosis<K>>),
    /// [`Client::shutdown`] was called.
    #[error("the bitswap client shut down")]
    Closed,
}

/// The Bitswap client of one node: cheap to clone. Create it inside a tokio runtime (it spawns
/// its timer task and provider lookups there).
pub struct Client<K: PeerKey> {
    shared: Arc<Shared<K>>,
}

impl<K: PeerKey> Clone for Client<K> {
    fn clone(&self) -> Self {
        Client {
            shared: Arc::clone(&self.shared),
        }
    }
}

struct Shared<K: PeerKey> {
    engine: Mutex<Engine<K>>,
    outbox: Arc<dyn Outbox<K>>,
    finder: Option<Arc<dyn FindProviders<K>>>,
    max_providers: usize,
    /// Wakes the timer task when deadlines change (and when the client goes).
    wake: Arc<Notify>,
    runtime: Handle,
    me: Weak<Shared<K>>,
}

impl<K: PeerKey> Drop for Shared<K> {
    fn drop(&mut self) {
        self.wake.notify_one();
    }
}

impl<K: PeerKey> Shared<K> {
    fn lock(&self) -> MutexGuard<'_, Engine<K>> {
        // Every engine call leaves its maps consistent between statements that could panic,
        // so a poisoned lock is still usable.
        self.engine
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the engine, then sends what it produced and starts its lookups, all under
    /// the lock so that messages to a peer leave in the order they were decided.
    fn with<R>(
        &self,
        wake: bool,
        f: impl FnOnce(&mut Engine<K>, Instant, &mut Outgoing<K>) -> R,
    ) -> R {
        let mut engine = self.lock();
        let mut out = Outgoing::default();
        let result = f(&mut engine, Instant::now(), &mut out);
        for (peer, entries) in out.messages {
            self.outbox.send(
                &peer,
                Message {
                    wantlist: Some(Wantlist {
                        entries,
                        full: false,
                    }),
                    ..Message::default()
                },
            );
        }
        for (cid, id) in out.lookups {
            if let Some(finder) = &self.finder {
                let task = self.runtime.spawn(lookup(
                    self.me.clone(),
                    Arc::clone(finder),
                    cid,
                    id,
                    self.max_providers,
                ));
                engine.lookup_started(&cid, id, task.abort_handle());
            }
        }
        drop(engine);
        if wake {
            self.wake.notify_one();
        }
        result
    }
}

/// Reads one provider lookup into the want it was started for.
async fn lookup<K: PeerKey>(
    shared: Weak<Shared<K>>,
    finder: Arc<dyn FindProviders<K>>,
    cid: Cid,
    id: u64,
    limit: usize,
) {
    let mut providers = finder.find_providers(&cid, limit);
    let mut found = 0;
    while found < limit {
        let Some(peer) = providers.next().await else {
            break;
        };
        found += 1;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared.with(true, |engine, now, out| {
            engine.provider_found(&cid, id, peer, now, out)
        });
    }
    if let Some(shared) = shared.upgrade() {
        shared.with(true, |engine, now, out| {
            engine.lookup_done(&cid, id, now, out)
        });
    }
}

/// The timer task: steps wants whose deadline came, until the client is gone or shut down.
async fn drive<K: PeerKey>(shared: Weak<Shared<K>>, wake: Arc<Notify>) {
    loop {
        let next = {
            let Some(shared) = shared.upgrade() else {
                return;
            };
            let engine = shared.lock();
            if engine.is_closed() {
                return;
            }
            engine.next_deadline()
        };
        match next {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = wake.notified() => {}
                }
            }
            None => wake.notified().await,
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared.with(false, |engine, now, out| engine.tick(now, out));
    }
}

impl<K: PeerKey> Client<K> {
    /// A client sending through `outbox` and finding providers with `finder` (`None`: only
    /// connected peers are asked). Must be called within a tokio runtime.
    pub fn new(
        outbox: Arc<dyn Outbox<K>>,
        finder: Option<Arc<dyn FindProviders<K>>>,
        config: ClientConfig,
    ) -> Self {
        let config = config.sanitized();
        let wake = Arc::new(Notify::new());
        let runtime = Handle::current();
        let shared = Arc::new_cyclic(|me| Shared {
            engine: Mutex::new(Engine::new(config, finder.is_some())),
            outbox,
            finder,
            max_providers: config.max_providers,
            wake: Arc::clone(&wake),
            runtime: runtime.clone(),
            me: me.clone(),
        });
        runtime.spawn(drive(Arc::downgrade(&shared), wake));
        Client { shared }
    }

    /// A new session: gets made with it ask first the peers that answered its earlier gets.
    pub fn session(&self) -> Session<K> {
        let id = self.shared.lock().open_session();
        Session {
            inner: Arc::new(SessionInner {
                id,
                shared: Arc::clone(&self.shared),
            }),
        }
    }

    /// Fetches `cid` within `session`. The future yields the verified block; dropping it
    /// withdraws the get (the want is cancelled when no other get waits on it). An identity
    /// CID is answered at once from the CID itself.
    ///
    /// # Panics
    ///
    /// When `session` belongs to another client.
    pub fn get(&self, cid: Cid, session: &Session<K>) -> Fetch<K> {
        assert!(
            Arc::ptr_eq(&self.shared, &session.inner.shared),
            "a session is used only with the client that made it"
        );
        if crate::ipld::cid::is_inline(&cid) {
            // The identity "hash" is the data: the block is its CID's digest, verified by
            // construction.
            let data = bytes::Bytes::copy_from_slice(cid.hash().digest());
            return Fetch {
                cid,
                state: FetchState::Ready(Some(Block::from_source(cid, data))),
            };
        }
        let (waiter, rx) = self.shared.with(true, |engine, now, out| {
            engine.want(cid, session.inner.id, now, out)
        });
        Fetch {
            cid,
            state: FetchState::Waiting {
                rx,
                waiter,
                session: session.clone(),
            },
        }
    }

    /// A message from `peer` (any inbound stream): its blocks and presences. Its wantlist is
    /// for the server ([`super::PeerLedger::receive`]). Returns what of it was unsolicited:
    /// that is dropped, never handed to anyone, and the transport charges it to the peer
    /// ([`super::budget`]).
    pub fn receive(&self, peer: &K, message: &Message) -> Unsolicited {
        if message.blocks.is_empty()
            && message.legacy_blocks.is_empty()
            && message.presences.is_empty()
        {
            return Unsolicited::default();
        }
        let legacy = if message.legacy_blocks.is_empty() {
            Legacy::default()
        } else {
            // A block arriving meanwhile for a want made meanwhile is missed (and its sender
            // taken for a bad peer): the window is one hashing of this message.
            let candidates = self.shared.lock().legacy_candidates();
            engine::match_legacy(&message.legacy_blocks, &candidates)
        };
        self.shared.with(true, |engine, now, out| {
            engine.receive(peer, message, legacy, now, out)
        })
    }

    /// `peer` is connected and its Bitswap stream speaks `protocol`.
    pub fn peer_connected(&self, peer: K, protocol: Protocol) {
        self.shared.with(true, |engine, now, out| {
            engine.connected(peer, protocol, now, out)
        });
    }

    /// `peer` disconnected, or could not be dialed: what it was asked counts as unanswered.
    pub fn peer_disconnected(&self, peer: &K) {
        self.shared
            .with(true, |engine, now, out| engine.disconnected(peer, now, out));
    }

    /// What has been tried for `cid`, while some get waits for it.
    pub fn diagnose(&self, cid: &Cid) -> Option<Diagnosis<K>> {
        self.shared.lock().diagnose(cid, Instant::now())
    }

    /// Wants pending (distinct CIDs some get waits for).
    pub fn pending_wants(&self) -> usize {
        self.shared.lock().len()
    }

    /// Wants and timers held: both 0 once nothing is pending (no leaks).
    #[cfg(test)]
    fn held(&self) -> (usize, usize) {
        let engine = self.shared.lock();
        (engine.len(), engine.timers())
    }

    /// Ends every pending get with [`FetchError::Closed`], cancels every want and stops the
    /// timer task; later gets fail at once.
    pub fn shutdown(&self) {
        self.shared
            .with(true, |engine, _, out| engine.shutdown(out));
    }
}

/// What of a message answered nothing the client asked ([`Client::receive`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unsolicited {
    /// Blocks (1.1.0 and later) that meet no want, pending or ended lately; a 1.0.0
    /// message's blocks that match none count as one.
    pub blocks: usize,
    /// HAVEs and DONT_HAVEs about CIDs not wanted now (late ones, after a want ended, are
    /// common and cheap: they cost one wantlist entry each).
    pub presences: usize,
}

/// A group of related gets (one request, one DAG walk). Cheap to clone; dropped with its last
/// clone and its last pending get.
pub struct Session<K: PeerKey> {
    inner: Arc<SessionInner<K>>,
}

impl<K: PeerKey> Clone for Session<K> {
    fn clone(&self) -> Self {
        Session {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct SessionInner<K: PeerKey> {
    id: SessionId,
    shared: Arc<Shared<K>>,
}

impl<K: PeerKey> Drop for SessionInner<K> {
    fn drop(&mut self) {
        self.shared.lock().close_session(self.id);
    }
}

impl<K: PeerKey> Session<K> {
    /// The peers the session has learnt about.
    pub fn stats(&self) -> SessionStats<K> {
        self.inner.shared.lock().session_stats(self.inner.id)
    }
}

/// A pending get: a future of the block. Dropping it withdraws the get.
#[must_use = "a fetch does nothing unless awaited, and dropping it cancels it"]
pub struct Fetch<K: PeerKey> {
    cid: Cid,
    state: FetchState<K>,
}

enum FetchState<K: PeerKey> {
    Ready(Option<Block>),
    Waiting {
        rx: oneshot::Receiver<Block>,
        waiter: WaiterId,
        session: Session<K>,
    },
    Done,
}

impl<K: PeerKey> Fetch<K> {
    pub fn cid(&self) -> &Cid {
        &self.cid
    }

    /// What has been tried so far (`None` once answered, or for an identity CID).
    pub fn diagnosis(&self) -> Option<Diagnosis<K>> {
        match &self.state {
            FetchState::Waiting { session, .. } => session
                .inner
                .shared
                .lock()
                .diagnose(&self.cid, Instant::now()),
            _ => None,
        }
    }

    /// The block, or [`FetchError::TimedOut`] with what was tried once `limit` passes (the get
    /// is then withdrawn).
    pub async fn within(mut self, limit: Duration) -> Result<Block, FetchError<K>> {
        match tokio::time::timeout(limit, &mut self).await {
            Ok(result) => result,
            Err(_) => {
                let diagnosis = self.diagnosis();
                // The block may have landed between the timeout and the diagnosis.
                if let FetchState::Waiting { rx, .. } = &mut self.state {
                    if let Ok(block) = rx.try_recv() {
                        self.state = FetchState::Done;
                        return Ok(block);
                    }
                }
                match diagnosis {
                    Some(diagnosis) => Err(FetchError::TimedOut(Box::new(diagnosis))),
                    None => Err(FetchError::Closed),
                }
            }
        }
    }
}

impl<K: PeerKey> Future for Fetch<K> {
    type Output = Result<Block, FetchError<K>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let result = match &mut this.state {
            FetchState::Ready(block) => match block.take() {
                Some(block) => Ok(block),
                None => return Poll::Pending,
            },
            FetchState::Waiting { rx, .. } => match Pin::new(rx).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(block)) => Ok(block),
                Poll::Ready(Err(_)) => Err(FetchError::Closed),
            },
            // Polled after completion: a caller bug, answered with a pending forever rather than
            // a panic on a request path (as `SourceFuture` does).
            FetchState::Done => return Poll::Pending,
        };
        this.state = FetchState::Done;
        Poll::Ready(result)
    }
}

impl<K: PeerKey> Drop for Fetch<K> {
    fn drop(&mut self) {
        if let FetchState::Waiting {
            waiter, session, ..
        } = &self.state
        {
            let cid = self.cid;
            let waiter = *waiter;
            session
                .inner
                .shared
                .with(true, |engine, _, out| engine.drop_waiter(&cid, waiter, out));
        }
    }
}

#[cfg(test)]
mod tests;
