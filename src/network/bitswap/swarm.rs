//! Bitswap on the libp2p node, both ways, over the streams of [`super::transport`]. A Bitswap
//! stream is one-way — its opener only writes, as in boxo — so:
//! - every peer's messages arrive on streams it opens to us (any of the three versions): the
//!   wantlist part goes to the peer's [`PeerLedger`] (the server), blocks and presences to
//!   the [`Client`];
//! - the server answers a peer on a stream it opens back (one writer task per peer);
//! - the client's wants leave on another stream per peer ([`StreamOutbox`]), opened with the
//!   newest version the peer speaks.
//!
//! The client learns of peers from the node's connection events and of providers from the
//! [`FindProviders`] it is given (the DHT's, delegated routers'); a provider not connected is
//! dialed when the first want goes to it. [`BitswapBlocks`] is the client as a
//! [`BlockSource`], the node's network source for the retrieval layer.
//!
//! Hostile peers: a peer is disconnected when it breaks the protocol
//! ([`Error::is_violation`]: malformed messages, oversized ones, identity wants), when it
//! holds more than [`MAX_INBOUND_STREAMS_PER_PEER`] streams open, or when its messages cost
//! more than its [`super::budget`] (wantlist floods, unsolicited blocks).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cid::Cid;
use libp2p::{PeerId, Stream};
use tokio::sync::mpsc;
use tokio_util::compat::FuturesAsyncReadCompatExt;

use super::budget::{unsolicited_cost, wantlist_cost, BudgetConfig, Budgets};
use super::client::{Client, ClientConfig, DagSessions, FindProviders, Outbox};
use super::transport::{Event, Opener};
use super::{write_message, Error, Message, MessageReader, PeerLedger, Protocol, Server};
use crate::network::NetworkHandle;
use crate::store::{self, BlockSource, SourceFuture};

/// The ledgers of the peers being served, by peer.
type Ledgers = Arc<Mutex<HashMap<PeerId, PeerLedger>>>;

/// Bitswap is already running on this node.
#[derive(Debug, thiserror::Error)]
#[error("bitswap already runs on this node")]
pub struct AlreadyStarted;

/// Bitswap on a running node: the server answering from its store, the client fetching.
#[derive(Clone)]
pub struct Bitswap {
    sessions: Arc<DagSessions<PeerId>>,
    stats: Arc<super::BitswapStats>,
}

/// CIDs the DAG sessions expect at most (a few MiB; a 1 GiB file of 256 KiB leaves is 4,096).
const EXPECTED_CIDS: usize = 1 << 16;

impl Bitswap {
    /// Starts serving `server` and the client on `node`, the client finding providers with
    /// `finder`. Must run inside a Tokio runtime; once per node.
    pub fn start(
        node: &NetworkHandle,
        server: Server,
        finder: Option<Arc<dyn FindProviders<PeerId>>>,
        config: ClientConfig,
    ) -> Result<Bitswap, AlreadyStarted> {
        let events = node.take_bitswap_events().ok_or(AlreadyStarted)?;
        let stats = Arc::clone(server.stats());
        let opener = node.bitswap_opener();
        let outbox = StreamOutbox::new(opener.clone());
        let client = Client::new(Arc::new(outbox.clone()), finder, config);
        let _ = outbox.inner.client.set(client.clone());
        tokio::spawn(run(events, opener, server, client.clone(), node.clone()));
        let sessions = Arc::new(DagSessions::new(client, EXPECTED_CIDS));
        Ok(Bitswap { sessions, stats })
    }

    /// Blocks and bytes received from peers and sent to them.
    pub fn stats(&self) -> &Arc<super::BitswapStats> {
        &self.stats
    }

    /// The client as a block source. A block no peer sends within `give_up` is an
    /// [`store::Error::Unavailable`] saying what was tried (the [`Diagnosis`](super::Diagnosis) a 504 shows);
    /// without a limit it is waited for until the caller gives up.
    pub fn blocks(&self, give_up: Option<Duration>) -> BitswapBlocks {
        BitswapBlocks {
            sessions: Arc::clone(&self.sessions),
            give_up,
        }
    }
}

/// Bitswap peers as a [`BlockSource`], a session per DAG ([`DagSessions`]). Every block is
/// verified (by construction of [`super::Block`]).
pub struct BitswapBlocks {
    sessions: Arc<DagSessions<PeerId>>,
    give_up: Option<Duration>,
}

impl BlockSource for BitswapBlocks {
    fn get(&self, cid: &Cid) -> SourceFuture<store::Result<Option<Bytes>>> {
        let (cid, give_up) = (*cid, self.give_up);
        let (fetch, session) = self.sessions.get(cid);
        let sessions = Arc::clone(&self.sessions);
        SourceFuture::pending(async move {
            let got = match give_up {
                Some(limit) => fetch.within(limit).await,
                None => fetch.await,
            };
            match got {
                Ok(block) => {
                    let data = block.into_parts().1;
                    sessions.fetched(&cid, &data, &session);
                    Ok(Some(data))
                }
                Err(e) => Err(store::Error::Unavailable {
                    cid,
                    reason: Box::new(e),
                }),
            }
        })
    }

    /// Nothing is "had" without asking: peers are asked by [`BlockSource::get`].
    fn has(&self, _cid: &Cid) -> SourceFuture<store::Result<bool>> {
        SourceFuture::ready(Ok(false))
    }

    fn size(&self, cid: &Cid) -> SourceFuture<store::Result<Option<u64>>> {
        let block = self.get(cid);
        SourceFuture::pending(async move { Ok(block.await?.map(|b| b.len() as u64)) })
    }
}

/// Inbound Bitswap streams one peer may have open at once. boxo opens a stream per message
/// and its server sends from 8 workers, so a well-behaved peer stays far below; past this
/// the peer is disconnected. With [`super::MAX_MESSAGE_SIZE`] per stream, this bounds what
/// one peer's unfinished messages can hold in memory (64 × 4 MiB).
pub const MAX_INBOUND_STREAMS_PER_PEER: usize = 64;

/// Follows the node's Bitswap events until the node stops.
async fn run(
    mut events: mpsc::UnboundedReceiver<Event>,
    opener: Opener,
    server: Server,
    client: Client<PeerId>,
    node: NetworkHandle,
) {
    let ledgers: Ledgers = Arc::default();
    let server = Arc::new(server);
    let open_streams: OpenStreams = Arc::default();
    let budgets = Arc::new(Budgets::new(BudgetConfig::default()));
    while let Some(event) = events.recv().await {
        match event {
            // Assumed to speak 1.2.0 until a stream to it says otherwise.
            Event::Connected(peer) => client.peer_connected(peer, Protocol::V120),
            Event::Disconnected(peer) => {
                client.peer_disconnected(&peer);
                budgets.release(&peer, Instant::now());
            }
            Event::Inbound {
                peer,
                protocol,
                stream,
            } => {
                if budgets.in_debt(&peer, Instant::now()) {
                    // Back before its debt is paid: nothing of it is read (a flooder coming
                    // back at once costs a handshake, not a decoded 16k-entry message).
                    tracing::debug!(%peer, "bitswap: disconnecting a peer still over its budget");
                    drop(stream);
                    let node = node.clone();
                    tokio::spawn(async move { node.disconnect(peer).await });
                    continue;
                }
                let Some(counted) = StreamCount::enter(&open_streams, peer) else {
                    tracing::info!(%peer, "bitswap: disconnecting a peer that opened more than {MAX_INBOUND_STREAMS_PER_PEER} streams at once");
                    drop(stream);
                    let node = node.clone();
                    tokio::spawn(async move { node.disconnect(peer).await });
                    continue;
                };
                tokio::spawn(read_peer(
                    peer,
                    protocol,
                    stream,
                    Peers {
                        opener: opener.clone(),
                        server: Arc::clone(&server),
                        ledgers: Arc::clone(&ledgers),
                        client: client.clone(),
                        node: node.clone(),
                        budgets: Arc::clone(&budgets),
                    },
                    counted,
                ));
            }
        }
    }
    client.shutdown();
}

/// Inbound streams open now, by peer.
type OpenStreams = Arc<Mutex<HashMap<PeerId, usize>>>;

/// One open inbound stream of a peer, counted while it lives.
struct StreamCount {
    streams: OpenStreams,
    peer: PeerId,
}

impl StreamCount {
    /// Counts a new stream of `peer`; None if the peer is over its limit.
    fn enter(streams: &OpenStreams, peer: PeerId) -> Option<StreamCount> {
        let mut all = lock(streams);
        let count = all.entry(peer).or_default();
        if *count >= MAX_INBOUND_STREAMS_PER_PEER {
            return None;
        }
        *count += 1;
        Some(StreamCount {
            streams: Arc::clone(streams),
            peer,
        })
    }
}

impl Drop for StreamCount {
    fn drop(&mut self) {
        let mut all = lock(&self.streams);
        if let Some(count) = all.get_mut(&self.peer) {
            *count -= 1;
            if *count == 0 {
                all.remove(&self.peer);
            }
        }
    }
}

/// What reading a peer's streams needs.
struct Peers {
    opener: Opener,
    server: Arc<Server>,
    ledgers: Ledgers,
    client: Client<PeerId>,
    node: NetworkHandle,
    budgets: Arc<Budgets<PeerId>>,
}

/// Reads one inbound stream to its end: wants to the peer's ledger, answers to the client.
/// A peer that sends what is not Bitswap, or more than its budget allows, is disconnected:
/// each message is charged before its wants are applied, and again for the unsolicited
/// blocks the client found in it.
async fn read_peer(
    peer: PeerId,
    protocol: Protocol,
    stream: Stream,
    peers: Peers,
    _counted: StreamCount,
) {
    let Peers {
        opener,
        server,
        ledgers,
        client,
        node,
        budgets,
    } = peers;
    let mut reader = MessageReader::new(stream.compat(), server.config().limits);
    let mut ledger: Option<PeerLedger> = None;
    let outcome = loop {
        let message = match reader.next().await {
            Ok(Some(message)) => message,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        let cost = wantlist_cost(&message);
        if cost > 0 && !budgets.charge(&peer, cost, Instant::now()) {
            break Err(Error::OverBudget);
        }
        if message.wantlist.is_some() {
            let ledger = ledger
                .get_or_insert_with(|| ledger_for(peer, protocol, &server, &ledgers, &opener));
            if let Err(e) = ledger.receive(&message) {
                break Err(e);
            }
        }
        server.stats().received(&message);
        let cost = unsolicited_cost(&client.receive(&peer, &message));
        if cost > 0 && !budgets.charge(&peer, cost, Instant::now()) {
            break Err(Error::OverBudget);
        }
    };
    if let Some(ledger) = ledger {
        match outcome {
            Ok(()) => ledger.finish(),
            Err(_) => ledger.close(),
        }
        forget(&ledgers, peer, &ledger);
    }
    match outcome {
        Err(e) if e.is_violation() => {
            tracing::info!(%peer, error = %e, "bitswap: disconnecting a peer that broke the protocol");
            let _ = node.disconnect(peer).await;
        }
        Err(e) => tracing::debug!(%peer, error = %e, "bitswap: dropping a peer's stream"),
        Ok(()) => {}
    }
}

/// The peer's ledger, made (with its writer) on its first wants.
fn ledger_for(
    peer: PeerId,
    protocol: Protocol,
    server: &Server,
    ledgers: &Ledgers,
    opener: &Opener,
) -> PeerLedger {
    let mut all = lock(ledgers);
    if let Some(ledger) = all.get(&peer) {
        return ledger.clone();
    }
    let ledger = server.peer(protocol);
    all.insert(peer, ledger.clone());
    let (writer, ledgers, opener) = (ledger.clone(), Arc::clone(ledgers), opener.clone());
    tokio::spawn(async move {
        match opener.open(peer).await {
            Ok((stream, _)) => {
                if let Err(e) = writer.write_to(stream.compat()).await {
                    tracing::debug!(%peer, error = %e, "bitswap: answering a peer failed");
                }
            }
            Err(e) => tracing::debug!(%peer, error = %e, "bitswap: cannot open a stream back"),
        }
        writer.close();
        forget(&ledgers, peer, &writer);
    });
    ledger
}

/// Removes the peer's entry if it is still this ledger (a newer one may have replaced it).
fn forget(ledgers: &Ledgers, peer: PeerId, ledger: &PeerLedger) {
    let mut all = lock(ledgers);
    if all
        .get(&peer)
        .is_some_and(|current| current.same_as(ledger))
    {
        all.remove(&peer);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The client's messages, each peer's on one stream of its own, written by a task per peer.
#[derive(Clone)]
struct StreamOutbox {
    inner: Arc<OutboxInner>,
}

struct OutboxInner {
    opener: Opener,
    writers: Mutex<HashMap<PeerId, mpsc::UnboundedSender<Message>>>,
    /// Told when a peer cannot be written to; set right after the client is made.
    client: OnceLock<Client<PeerId>>,
}

impl StreamOutbox {
    fn new(opener: Opener) -> StreamOutbox {
        StreamOutbox {
            inner: Arc::new(OutboxInner {
                opener,
                writers: Mutex::default(),
                client: OnceLock::new(),
            }),
        }
    }
}

impl Outbox<PeerId> for StreamOutbox {
    fn send(&self, peer: &PeerId, message: Message) {
        let mut writers = lock(&self.inner.writers);
        let message = match writers.get(peer) {
            Some(writer) => match writer.send(message) {
                Ok(()) => return,
                Err(mpsc::error::SendError(message)) => message,
            },
            None => message,
        };
        let (writer, queue) = mpsc::unbounded_channel();
        let _ = writer.send(message);
        writers.insert(*peer, writer.clone());
        tokio::spawn(write_wants(Arc::clone(&self.inner), *peer, writer, queue));
    }
}

/// Opens a stream to `peer` and writes the client's messages to it until it fails; then the
/// peer counts as gone for the client.
async fn write_wants(
    outbox: Arc<OutboxInner>,
    peer: PeerId,
    writer: mpsc::UnboundedSender<Message>,
    mut queue: mpsc::UnboundedReceiver<Message>,
) {
    match outbox.opener.open(peer).await {
        Ok((stream, protocol)) => {
            if protocol != Protocol::V120 {
                if let Some(client) = outbox.client.get() {
                    client.peer_connected(peer, protocol);
                }
            }
            let mut stream = stream.compat();
            while let Some(message) = queue.recv().await {
                if let Err(e) = write_message(&mut stream, &message, protocol).await {
                    tracing::debug!(%peer, error = %e, "bitswap: writing wants failed");
                    break;
                }
            }
        }
        Err(e) => tracing::debug!(%peer, error = %e, "bitswap: cannot reach a peer"),
    }
    {
        let mut writers = lock(&outbox.writers);
        if writers.get(&peer).is_some_and(|w| w.same_channel(&writer)) {
            writers.remove(&peer);
        }
    }
    if let Some(client) = outbox.client.get() {
        client.peer_disconnected(&peer);
    }
}
