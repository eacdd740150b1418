//! Gossipsub on the node: topic-based publish/subscribe between peers, interoperable with
//! go-libp2p-pubsub as Kubo's `ipfs pubsub` (and the Agregore daemon) speaks it. The swarm
//! runs the `libp2p-gossipsub` behaviour configured here; [`super::NetworkHandle`] exposes
//! subscribing, publishing and the messages that arrive ([`Messages`]).
//!
//! What go-libp2p-pubsub does and cairn matches (github.com/libp2p/go-libp2p-pubsub,
//! `pubsub.go`, `gossipsub.go`; the libp2p pubsub spec,
//! github.com/libp2p/specs/tree/master/pubsub):
//! - Protocols `/meshsub/1.3.0` down to `/meshsub/1.0.0`, and `/floodsub/1.0.0`: Kubo's
//!   `Pubsub.Router` is gossipsub unless set to `floodsub`, and a floodsub router speaks only
//!   the latter.
//! - Strict signing: every message carries `from`, an 8-byte big-endian `seqno` and a
//!   signature by `from`'s key over `libp2p-pubsub:` and the message without signature and
//!   key. Messages lacking any of them, or with a bad signature, are dropped before anything
//!   else looks at them.
//! - Message IDs are `from` ‖ `seqno` (`DefaultMsgIdFn`): the IDs IHAVE/IWANT gossip names.
//! - RPC frames are at most 1 MiB (`DefaultMaxMessageSize`); a message that cannot fit in one
//!   is never sent (go drops it on send too), and larger frames from a peer are refused.
//! - Kubo ignores a peer's message whose seqno is not above the last one it saw from that
//!   peer (`BasicSeqnoValidator`, kept across restarts): seqnos start at the current time in
//!   nanoseconds and increase, as go's do.
//! - Topics are plain strings (no hashing).
//!
//! Memory under a hostile peer (every bound below holds whatever peers send):
//! - Frames over 1 MiB, RPCs with more than 16 KiB of control data, and unsigned or
//!   badly-signed messages are refused by the decoder, before admission.
//! - **Admission** ([`PubsubLimits::bytes_per_second`], [`PubsubLimits::messages_per_second`]):
//!   one budget for every message entering gossipsub, from peers (duplicates included) or
//!   published here. A message over it is dropped before gossipsub caches, forwards or
//!   delivers it, so the message cache (what arrived in the last ~6 heartbeats) holds at most
//!   `burst + 6 s × rate` bytes, and the seen-message IDs at most `burst + 61 s × rate`
//!   entries. A flood can crowd out other messages; it cannot grow memory.
//! - **Per peer**: at most [`PubsubLimits::peer_queue`] messages queued for sending to it
//!   (more are dropped, as go drops them); a peer whose queue overflows for
//!   [`SLOW_PEER_HEARTBEATS`] heartbeats in a row is disconnected, which frees its queue. At
//!   most [`PubsubLimits::peer_topics`] subscriptions per peer, each topic name at most
//!   [`PubsubLimits::max_topic_len`] bytes (so at most 50 KiB a peer by default).
//! - **Towards the services**: messages wait in [`Messages`] while at most
//!   [`PubsubLimits::inbox_bytes`] are queued; past that they are dropped and counted.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::gossipsub::{
    self, DataTransform, IdentTopic, MaxCountSubscriptionFilter, MessageAuthenticity, MessageId,
    RawMessage, TopicHash, TopicSubscriptionFilter,
};
use libp2p::identity::Keypair;
use libp2p::swarm::handler::{ConnectionEvent, InboundUpgradeSend, OutboundUpgradeSend};
use libp2p::swarm::{
    ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent, ConnectionId, FromSwarm,
    NetworkBehaviour, Stream, SubstreamProtocol, THandler, THandlerInEvent, THandlerOutEvent,
    ToSwarm,
};
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, Notify};

use crate::ipld::protobuf::bytes_field_len;
use crate::network::token_bucket::{Rate, TokenBucket};

/// Largest RPC frame sent or accepted: go-libp2p-pubsub's `DefaultMaxMessageSize`.
pub const MAX_FRAME_BYTES: usize = 1 << 20;

/// What a received frame may exceed [`MAX_FRAME_BYTES`] by in libp2p-gossipsub's count.
const RECEIVE_SLACK: usize = 16 << 10;

/// Heartbeats in a row during which a peer's send queue overflowed before it is disconnected.
pub const SLOW_PEER_HEARTBEATS: u32 = 5;

/// How long seen message IDs are remembered (duplicates within it are dropped). go uses
/// 120 s; libp2p-gossipsub's 60 s halves the memory the IDs take at a given admission rate,
/// and a message still circulating after a minute would be an extraordinary mesh.
pub const SEEN_TTL: Duration = Duration::from_secs(60);

/// Gossipsub's heartbeat (go's and libp2p-gossipsub's default).
const HEARTBEAT: Duration = Duration::from_secs(1);

/// Heartbeats a message stays in the message cache (go's `GossipSubHistoryLength`).
const HISTORY_LENGTH: usize = 5;

/// What admission charges a message besides its data: the signature, `from`, `seqno` and
/// framing, and the cache entries that hold them.
const MESSAGE_OVERHEAD: usize = 256;

/// The bounds of the node's pubsub (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct PubsubLimits {
    /// Message bytes (data, topic and [`MESSAGE_OVERHEAD`]) admitted per second; also the
    /// burst, never less than one largest message.
    pub bytes_per_second: usize,
    /// Messages admitted per second; also the burst.
    pub messages_per_second: usize,
    /// Bytes of received messages waiting for the services to take them.
    pub inbox_bytes: usize,
    /// Messages queued for sending to one peer.
    pub peer_queue: usize,
    /// Topics one peer may be subscribed to at once (as far as this node keeps track); a
    /// peer's subscription message past it is ignored.
    pub peer_topics: usize,
    /// Longest topic name (bytes) subscribed to on the network, by a peer or this node.
    pub max_topic_len: usize,
}

impl Default for PubsubLimits {
    fn default() -> Self {
        PubsubLimits {
            bytes_per_second: 4 << 20,
            messages_per_second: 2_000,
            inbox_bytes: 4 << 20,
            // go-libp2p-pubsub's per-peer outbound queue.
            peer_queue: 32,
            // libp2p-gossipsub's default.
            peer_topics: 100,
            max_topic_len: 512,
        }
    }
}

impl PubsubLimits {
    /// The most message bytes gossipsub's message cache can hold under these limits.
    pub fn cache_bound(&self) -> usize {
        let window = HEARTBEAT.as_secs() as usize * (HISTORY_LENGTH + 1);
        self.byte_burst() + window * self.bytes_per_second
    }

    /// The most seen-message IDs kept under these limits.
    pub fn seen_bound(&self) -> usize {
        self.messages_per_second * (SEEN_TTL.as_secs() as usize + 2)
    }

    fn byte_burst(&self) -> usize {
        self.bytes_per_second
            .max(MAX_FRAME_BYTES + MESSAGE_OVERHEAD)
    }
}

/// A message from another peer, verified (signature, `from`, `seqno`) and admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubsubMessage {
    /// The peer that published it (not necessarily the one that forwarded it).
    pub from: PeerId,
    /// Its sequence number (8 bytes big-endian on the wire).
    pub seqno: u64,
    pub topic: String,
    pub data: Bytes,
}

impl PubsubMessage {
    /// What the message counts against [`PubsubLimits::inbox_bytes`].
    fn cost(&self) -> usize {
        self.data.len() + self.topic.len() + MESSAGE_OVERHEAD
    }
}

/// Why a message was not published to the network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// The message cannot fit in one RPC frame, so no peer would accept it.
    #[error(
        "a message this large ({len} bytes with topic {topic_len}) does not fit in a pubsub \
         frame ({MAX_FRAME_BYTES} bytes); it was not sent to other peers"
    )]
    TooLarge { len: usize, topic_len: usize },
    /// Pubsub's admission budget is spent for now.
    #[error("pubsub is over its rate budget; try again in a moment")]
    OverBudget,
    /// The node has stopped.
    #[error("the libp2p node has stopped")]
    Stopped,
    /// Gossipsub refused for another reason (signing failed).
    #[error("pubsub: {0}")]
    Failed(String),
}

/// Received messages, in arrival order; see [`super::NetworkHandle::take_pubsub_messages`].
pub struct Messages {
    receiver: mpsc::UnboundedReceiver<PubsubMessage>,
    queued: Arc<AtomicUsize>,
}

impl Messages {
    /// The next message; `None` once the node has stopped.
    pub async fn recv(&mut self) -> Option<PubsubMessage> {
        let message = self.receiver.recv().await?;
        self.queued.fetch_sub(message.cost(), Ordering::Relaxed);
        Some(message)
    }
}

impl std::fmt::Debug for Messages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messages")
            .field("queued", &self.queued.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The sending side of [`Messages`], in the swarm task: bounded by bytes queued.
struct Inbox {
    sender: mpsc::UnboundedSender<PubsubMessage>,
    queued: Arc<AtomicUsize>,
    limit: usize,
    dropped: u64,
    last_warning: Option<Instant>,
}

impl Inbox {
    fn push(&mut self, message: PubsubMessage) {
        let cost = message.cost();
        // Only this task adds, so the check cannot race another push.
        if self.queued.load(Ordering::Relaxed) + cost > self.limit {
            self.dropped += 1;
            let now = Instant::now();
            if self
                .last_warning
                .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(10))
            {
                self.last_warning = Some(now);
                tracing::warn!(
                    dropped = self.dropped,
                    "pubsub: received messages are not taken fast enough; dropping"
                );
            }
            return;
        }
        self.queued.fetch_add(cost, Ordering::Relaxed);
        if self.sender.send(message).is_err() {
            // Nobody takes messages: they are not kept.
            self.queued.fetch_sub(cost, Ordering::Relaxed);
        }
    }
}

/// The subscription state the rest of the program and the swarm task share.
pub(crate) struct Shared {
    /// Topics whose wanted state changed since the swarm task last looked (true: subscribe).
    changes: Mutex<HashMap<String, bool>>,
    /// Wakes the swarm task to apply `changes`.
    pub(crate) changed: Notify,
    /// Topics the node is subscribed to on the network.
    subscribed: RwLock<HashSet<String>>,
    /// Taken once by whoever consumes received messages.
    messages: Mutex<Option<Messages>>,
}

impl Shared {
    /// Asks for the node to be subscribed to `topic` (or not); the swarm task applies it.
    pub(crate) fn want(&self, topic: &str, subscribed: bool) {
        self.changes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(topic.to_owned(), subscribed);
        self.changed.notify_one();
    }

    pub(crate) fn is_subscribed(&self, topic: &str) -> bool {
        self.subscribed
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(topic)
    }

    pub(crate) fn take_messages(&self) -> Option<Messages> {
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// The gossipsub behaviour as configured here.
type Gossipsub = gossipsub::Behaviour<Admission, MaxCountSubscriptionFilter<TopicLength>>;

/// The swarm task's pubsub state.
pub(crate) struct Gossip {
    pub(crate) shared: Arc<Shared>,
    inbox: Inbox,
    /// The seqno of the last message this node built (set by the message-ID function).
    own_seqno: Arc<AtomicU64>,
    /// Consecutive heartbeats each slow peer's queue overflowed in, and when last.
    slow: HashMap<PeerId, (u32, Instant)>,
}

/// Builds the behaviour for `keypair` and the swarm task's state.
pub(crate) fn behaviour(
    keypair: &Keypair,
    limits: &PubsubLimits,
) -> Result<(Behaviour, Gossip), String> {
    let local = keypair.public().to_peer_id();
    let own_seqno = Arc::new(AtomicU64::new(0));
    let recorder = Arc::clone(&own_seqno);
    let config = gossipsub::ConfigBuilder::default()
        .support_floodsub()
        .validation_mode(gossipsub::ValidationMode::Strict)
        // Received frames may be a little over 1 MiB: libp2p-gossipsub's limit counts the
        // length prefix and up to 8 KiB read past the frame's end, and go sends frames of up
        // to 1 MiB without the prefix. What this node sends is checked against
        // MAX_FRAME_BYTES itself (`Gossip::publish`).
        .max_transmit_size(MAX_FRAME_BYTES + RECEIVE_SLACK)
        .message_id_fn(move |message| {
            let id = message_id(message);
            if message.source == Some(local) {
                if let Some(seqno) = message.sequence_number {
                    recorder.store(seqno, Ordering::Relaxed);
                }
            }
            id
        })
        .heartbeat_interval(HEARTBEAT)
        // go's first heartbeat comes after 100 ms (libp2p-gossipsub waits 5 s).
        .heartbeat_initial_delay(Duration::from_millis(100))
        .history_length(HISTORY_LENGTH)
        .duplicate_cache_time(SEEN_TTL)
        .connection_handler_queue_len(limits.peer_queue.max(1))
        .build()
        .map_err(|e| format!("gossipsub configuration: {e}"))?;
    let filter = MaxCountSubscriptionFilter {
        filter: TopicLength(limits.max_topic_len),
        max_subscribed_topics: limits.peer_topics,
        max_subscriptions_per_request: limits.peer_topics,
    };
    let admission = Admission::new(limits);
    let gossipsub = gossipsub::Behaviour::new_with_subscription_filter_and_transform(
        MessageAuthenticity::Signed(keypair.clone()),
        config,
        filter,
        admission,
    )
    .map_err(|e| format!("gossipsub: {e}"))?;
    let behaviour = Behaviour(gossipsub);
    let (sender, receiver) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    let shared = Arc::new(Shared {
        changes: Mutex::new(HashMap::new()),
        changed: Notify::new(),
        subscribed: RwLock::new(HashSet::new()),
        messages: Mutex::new(Some(Messages {
            receiver,
            queued: Arc::clone(&queued),
        })),
    });
    let gossip = Gossip {
        shared,
        inbox: Inbox {
            sender,
            queued,
            limit: limits.inbox_bytes,
            dropped: 0,
            last_warning: None,
        },
        own_seqno,
        slow: HashMap::new(),
    };
    Ok((behaviour, gossip))
}

/// go-libp2p-pubsub's `DefaultMsgIdFn`: the `from` bytes followed by the `seqno` bytes.
pub fn message_id(message: &gossipsub::Message) -> MessageId {
    let mut id = message.source.map(|p| p.to_bytes()).unwrap_or_default();
    if let Some(seqno) = message.sequence_number {
        id.extend_from_slice(&seqno.to_be_bytes());
    }
    MessageId::new(&id)
}

/// The size of the RPC frame carrying one signed message of `data_len` bytes on a topic of
/// `topic_len` bytes from `from` (pubsub's `rpc.proto`: RPC.publish = 2; Message.from = 1,
/// data = 2, seqno = 3, topic = 4, signature = 5), without the length prefix.
fn frame_len(from: &PeerId, data_len: usize, topic_len: usize) -> usize {
    const SIGNATURE: usize = 64; // Ed25519, the only key cairn signs with
    let message = bytes_field_len(from.to_bytes().len())
        + bytes_field_len(data_len)
        + bytes_field_len(8)
        + bytes_field_len(topic_len)
        + bytes_field_len(SIGNATURE);
    bytes_field_len(message)
}

impl Gossip {
    /// Applies the subscription changes asked for since the last call.
    pub(crate) fn apply_changes(&mut self, behaviour: &mut Behaviour) {
        let gossipsub = &mut behaviour.0;
        let changes = std::mem::take(
            &mut *self
                .shared
                .changes
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        if changes.is_empty() {
            return;
        }
        let mut subscribed = self
            .shared
            .subscribed
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for (topic, want) in changes {
            let ident = IdentTopic::new(topic.as_str());
            match (want, subscribed.contains(&topic)) {
                (true, false) => match gossipsub.subscribe(&ident) {
                    Ok(_) => {
                        tracing::debug!(%topic, "pubsub: subscribed");
                        subscribed.insert(topic);
                    }
                    // Only a topic over max_topic_len is refused: it stays local.
                    Err(e) => tracing::debug!(%topic, "pubsub: not subscribed on the network: {e}"),
                },
                (false, true) => {
                    gossipsub.unsubscribe(&ident);
                    tracing::debug!(%topic, "pubsub: unsubscribed");
                    subscribed.remove(&topic);
                }
                _ => {}
            }
        }
    }

    /// Publishes `data` to `topic` and returns its seqno. No subscribed peer is not an error:
    /// the message then reaches nobody else, as in go.
    pub(crate) fn publish(
        &mut self,
        behaviour: &mut Behaviour,
        local: &PeerId,
        topic: &str,
        data: Bytes,
    ) -> Result<u64, PublishError> {
        if frame_len(local, data.len(), topic.len()) > MAX_FRAME_BYTES {
            return Err(PublishError::TooLarge {
                len: data.len(),
                topic_len: topic.len(),
            });
        }
        let before = self.own_seqno.load(Ordering::Relaxed);
        let result = behaviour.0.publish(IdentTopic::new(topic), data);
        // Every message this node builds passes through the ID function, which records its
        // seqno; a changed value means this one was built (seqnos only increase).
        let built = self.own_seqno.load(Ordering::Relaxed);
        match result {
            Ok(_) => Ok(built),
            Err(gossipsub::PublishError::TransformFailed(_)) => Err(PublishError::OverBudget),
            Err(
                gossipsub::PublishError::NoPeersSubscribedToTopic
                | gossipsub::PublishError::AllQueuesFull(_)
                | gossipsub::PublishError::Duplicate,
            ) if built != before => Ok(built),
            Err(e) => Err(PublishError::Failed(e.to_string())),
        }
    }

    /// Handles a gossipsub event; returns a peer to disconnect, if any.
    pub(crate) fn on_event(&mut self, event: gossipsub::Event) -> Option<PeerId> {
        match event {
            gossipsub::Event::Message { message, .. } => {
                // Strict validation guarantees both; a message without them never gets here.
                let (Some(from), Some(seqno)) = (message.source, message.sequence_number) else {
                    return None;
                };
                self.inbox.push(PubsubMessage {
                    from,
                    seqno,
                    topic: message.topic.into_string(),
                    data: Bytes::from(message.data),
                });
                None
            }
            gossipsub::Event::SlowPeer {
                peer_id,
                failed_messages,
            } => {
                let now = Instant::now();
                let entry = self.slow.entry(peer_id).or_insert((0, now));
                // Reported each heartbeat it overflowed in; a gap starts the count again.
                entry.0 = if now.duration_since(entry.1) <= HEARTBEAT * 2 {
                    entry.0 + 1
                } else {
                    1
                };
                entry.1 = now;
                tracing::debug!(peer = %peer_id, ?failed_messages, heartbeats = entry.0, "pubsub: slow peer");
                if entry.0 >= SLOW_PEER_HEARTBEATS {
                    self.slow.remove(&peer_id);
                    tracing::info!(peer = %peer_id, "pubsub: disconnecting a peer that does not read its messages");
                    return Some(peer_id);
                }
                // Forget peers not reported for a while.
                if self.slow.len() > 1024 {
                    self.slow
                        .retain(|_, (_, at)| now.duration_since(*at) <= HEARTBEAT * 2);
                }
                None
            }
            gossipsub::Event::Subscribed { peer_id, topic } => {
                tracing::trace!(peer = %peer_id, %topic, "pubsub: peer subscribed");
                None
            }
            _ => None,
        }
    }
}

/// The topics whose subscriptions are kept, a peer's or this node's: names of at most this
/// many bytes (libp2p-gossipsub applies one rule to both). Longer topics stay on this node.
#[derive(Debug, Clone)]
pub(crate) struct TopicLength(usize);

impl TopicSubscriptionFilter for TopicLength {
    fn can_subscribe(&mut self, topic: &TopicHash) -> bool {
        topic.as_str().len() <= self.0
    }
}

/// The admission budget, applied as gossipsub's data transform: every message entering
/// gossipsub passes through it first (received ones before they are cached, forwarded or
/// delivered; published ones before they are built), and one that the budget cannot cover
/// is refused there.
pub(crate) struct Admission {
    /// Bytes, then messages.
    rates: (Rate, Rate),
    buckets: Mutex<(TokenBucket, TokenBucket)>,
    refused: AtomicU64,
}

impl Admission {
    fn new(limits: &PubsubLimits) -> Admission {
        let now = Instant::now();
        let bytes = Rate {
            per_second: limits.bytes_per_second as f64,
            burst: limits.byte_burst() as f64,
        };
        let messages = Rate {
            per_second: limits.messages_per_second.max(1) as f64,
            burst: limits.messages_per_second.max(1) as f64,
        };
        Admission {
            rates: (bytes, messages),
            buckets: Mutex::new((
                TokenBucket::full(&bytes, now),
                TokenBucket::full(&messages, now),
            )),
            refused: AtomicU64::new(0),
        }
    }

    fn admit(&self, data_len: usize, topic_len: usize) -> Result<(), std::io::Error> {
        let cost = data_len + topic_len + MESSAGE_OVERHEAD;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let (bytes, messages) = &mut *buckets;
        bytes.refill(&self.rates.0, now);
        messages.refill(&self.rates.1, now);
        if bytes.tokens >= cost as f64 && messages.tokens >= 1.0 {
            bytes.tokens -= cost as f64;
            messages.tokens -= 1.0;
            return Ok(());
        }
        drop(buckets);
        let refused = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        if refused.is_power_of_two() {
            tracing::warn!(
                refused,
                "pubsub: over the admission budget; dropping messages"
            );
        }
        Err(std::io::Error::other("over the pubsub admission budget"))
    }
}

impl DataTransform for Admission {
    fn inbound_transform(&self, raw: RawMessage) -> Result<gossipsub::Message, std::io::Error> {
        self.admit(raw.data.len(), raw.topic.as_str().len())?;
        Ok(gossipsub::Message {
            source: raw.source,
            data: raw.data,
            sequence_number: raw.sequence_number,
            topic: raw.topic,
        })
    }

    fn outbound_transform(
        &self,
        topic: &TopicHash,
        data: Vec<u8>,
    ) -> Result<Vec<u8>, std::io::Error> {
        self.admit(data.len(), topic.as_str().len())?;
        Ok(data)
    }
}

/// Gossipsub as the node runs it: as `libp2p-gossipsub`, except that its streams do not keep
/// a connection open. libp2p keeps a connection alive while any stream on it is open, and
/// gossipsub holds one open in each direction with every peer that speaks it, so without
/// this no connection to such a peer would ever close when idle (a DHT walk would leave
/// hundreds open). A connection stays open for gossipsub only while the peer is in one of
/// this node's meshes, as the handler itself asks (go-libp2p-pubsub likewise protects mesh
/// peers from its connection manager, and only them).
pub(crate) struct Behaviour(Gossipsub);

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = MeshKeepAlive<THandler<Gossipsub>>;
    type ToSwarm = gossipsub::Event;

    fn handle_pending_inbound_connection(
        &mut self,
        id: ConnectionId,
        local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.0.handle_pending_inbound_connection(id, local, remote)
    }

    fn handle_established_inbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.0
            .handle_established_inbound_connection(id, peer, local, remote)
            .map(MeshKeepAlive)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        id: ConnectionId,
        peer: Option<PeerId>,
        addresses: &[Multiaddr],
        role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        self.0
            .handle_pending_outbound_connection(id, peer, addresses, role)
    }

    fn handle_established_outbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role: Endpoint,
        port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.0
            .handle_established_outbound_connection(id, peer, addr, role, port_use)
            .map(MeshKeepAlive)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        self.0.on_swarm_event(event);
    }

    fn on_connection_handler_event(
        &mut self,
        peer: PeerId,
        id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        self.0.on_connection_handler_event(peer, id, event);
    }

    fn poll(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        self.0.poll(cx)
    }
}

/// A connection handler whose negotiated streams are marked not to keep the connection alive;
/// otherwise the inner handler, unchanged.
pub(crate) struct MeshKeepAlive<H>(H);

/// What a negotiated gossipsub upgrade yields: the stream (framed) and the peer's kind, or
/// either of two such, or nothing (a denied upgrade).
pub(crate) trait NegotiatedStream {
    fn ignore_for_keep_alive(&mut self);
}

impl<F: std::ops::DerefMut<Target = Stream>, K> NegotiatedStream for (F, K) {
    fn ignore_for_keep_alive(&mut self) {
        self.0.ignore_for_keep_alive();
    }
}

impl<A: NegotiatedStream, B: NegotiatedStream> NegotiatedStream
    for futures_util::future::Either<A, B>
{
    fn ignore_for_keep_alive(&mut self) {
        match self {
            futures_util::future::Either::Left(a) => a.ignore_for_keep_alive(),
            futures_util::future::Either::Right(b) => b.ignore_for_keep_alive(),
        }
    }
}

impl NegotiatedStream for std::convert::Infallible {
    fn ignore_for_keep_alive(&mut self) {}
}

impl<H> ConnectionHandler for MeshKeepAlive<H>
where
    H: ConnectionHandler,
    <H::InboundProtocol as InboundUpgradeSend>::Output: NegotiatedStream,
    <H::OutboundProtocol as OutboundUpgradeSend>::Output: NegotiatedStream,
{
    type FromBehaviour = H::FromBehaviour;
    type ToBehaviour = H::ToBehaviour;
    type InboundProtocol = H::InboundProtocol;
    type OutboundProtocol = H::OutboundProtocol;
    type InboundOpenInfo = H::InboundOpenInfo;
    type OutboundOpenInfo = H::OutboundOpenInfo;

    fn listen_protocol(&self) -> SubstreamProtocol<Self::InboundProtocol, Self::InboundOpenInfo> {
        self.0.listen_protocol()
    }

    fn connection_keep_alive(&self) -> bool {
        self.0.connection_keep_alive()
    }

    fn poll(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<
        ConnectionHandlerEvent<Self::OutboundProtocol, Self::OutboundOpenInfo, Self::ToBehaviour>,
    > {
        self.0.poll(cx)
    }

    fn poll_close(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::ToBehaviour>> {
        self.0.poll_close(cx)
    }

    fn on_behaviour_event(&mut self, event: Self::FromBehaviour) {
        self.0.on_behaviour_event(event);
    }

    fn on_connection_event(
        &mut self,
        event: ConnectionEvent<
            Self::InboundProtocol,
            Self::OutboundProtocol,
            Self::InboundOpenInfo,
            Self::OutboundOpenInfo,
        >,
    ) {
        let event = match event {
            ConnectionEvent::FullyNegotiatedInbound(mut inbound) => {
                inbound.protocol.ignore_for_keep_alive();
                ConnectionEvent::FullyNegotiatedInbound(inbound)
            }
            ConnectionEvent::FullyNegotiatedOutbound(mut outbound) => {
                outbound.protocol.ignore_for_keep_alive();
                ConnectionEvent::FullyNegotiatedOutbound(outbound)
            }
            other => other,
        };
        self.0.on_connection_event(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_from_then_seqno() {
        let from = Keypair::generate_ed25519().public().to_peer_id();
        let message = gossipsub::Message {
            source: Some(from),
            data: b"x".to_vec(),
            sequence_number: Some(0x0102_0304_0506_0708),
            topic: TopicHash::from_raw("t"),
        };
        let mut want = from.to_bytes();
        want.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(message_id(&message), MessageId::new(&want));
    }

    #[test]
    fn frame_length_matches_the_encoding() {
        // A 1 MiB message cannot fit: the frame is 1 MiB of data plus the envelope.
        let from = Keypair::generate_ed25519().public().to_peer_id();
        let envelope = frame_len(&from, 0, 0);
        // publish tag+len, from (2+38), data (2), seqno (2+8), topic (2), signature (2+64).
        assert_eq!(envelope, 2 + 40 + 2 + 10 + 2 + 66);
        assert!(frame_len(&from, MAX_FRAME_BYTES, 1) > MAX_FRAME_BYTES);
        let fits = MAX_FRAME_BYTES - 200;
        assert!(frame_len(&from, fits, 10) <= MAX_FRAME_BYTES);
    }

    #[test]
    fn admission_refuses_past_the_budget() {
        let limits = PubsubLimits {
            bytes_per_second: 1,
            messages_per_second: 3,
            ..PubsubLimits::default()
        };
        let admission = Admission::new(&limits);
        // The byte burst is one largest message; the count burst three messages.
        admission.admit(MAX_FRAME_BYTES - 300, 10).unwrap();
        assert!(admission.admit(1000, 10).is_err(), "bytes spent");
        let admission = Admission::new(&limits);
        for _ in 0..3 {
            admission.admit(0, 1).unwrap();
        }
        assert!(admission.admit(0, 1).is_err(), "messages spent");
        assert_eq!(admission.refused.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn long_topics_are_not_kept() {
        let mut filter = TopicLength(PubsubLimits::default().max_topic_len);
        assert!(filter.can_subscribe(&TopicHash::from_raw("x".repeat(512))));
        assert!(!filter.can_subscribe(&TopicHash::from_raw("x".repeat(513))));
    }

    use crate::network::config::{DhtMode, NetworkConfig};
    use crate::network::{start, NetworkHandle};
    use libp2p::multiaddr::Protocol;

    async fn node(limits: PubsubLimits) -> NetworkHandle {
        let config = NetworkConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            dht: DhtMode::Client,
            pubsub: limits,
            ..NetworkConfig::default()
        };
        start(Keypair::generate_ed25519(), config).await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn only_mesh_peers_keep_a_connection_open() {
        let idle = |limits| NetworkConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            dht: DhtMode::Client,
            pubsub: limits,
            idle_connection_timeout: Duration::from_millis(300),
            ..NetworkConfig::default()
        };
        let a = start(Keypair::generate_ed25519(), idle(PubsubLimits::default()))
            .await
            .unwrap();
        let b = start(Keypair::generate_ed25519(), idle(PubsubLimits::default()))
            .await
            .unwrap();
        a.pubsub_subscribe("kept");
        b.pubsub_subscribe("kept");
        connect(&a, &b).await;
        // In each other's mesh: idle, but kept open.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(a.connected_peers().await.unwrap(), [b.peer_id()]);
        // Out of the mesh, gossipsub's open streams alone do not keep it.
        a.pubsub_unsubscribe("kept");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !a.connected_peers().await.unwrap().is_empty() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the idle connection stayed open"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn connect(a: &NetworkHandle, b: &NetworkHandle) {
        let addr = b.listen_addrs().await.unwrap().remove(0);
        a.dial(addr.with(Protocol::P2p(b.peer_id()))).await.unwrap();
    }

    /// Publishes `data` from `from` until `inbox` receives it (subscriptions take a moment to
    /// reach the other peer); returns the message and the seqno `publish` answered.
    async fn publish_until_received(
        from: &NetworkHandle,
        inbox: &mut Messages,
        topic: &str,
        data: &Bytes,
    ) -> (PubsubMessage, u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let seqno = from.pubsub_publish(topic, data.clone()).await.unwrap();
            let wait = tokio::time::timeout(Duration::from_millis(300), inbox.recv());
            if let Ok(Some(message)) = wait.await {
                return (message, seqno);
            }
            assert!(tokio::time::Instant::now() < deadline, "never received");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn two_nodes_exchange_signed_messages_up_to_one_frame() {
        let a = node(PubsubLimits::default()).await;
        let b = node(PubsubLimits::default()).await;
        connect(&a, &b).await;
        let mut inbox = a.take_pubsub_messages().unwrap();
        assert!(a.take_pubsub_messages().is_none(), "taken once");
        a.pubsub_subscribe("t");
        a.pubsub_subscribe("t");
        let data = Bytes::from_static(b"hello");
        let (message, seqno) = publish_until_received(&b, &mut inbox, "t", &data).await;
        assert!(a.pubsub_is_subscribed("t"));
        assert!(
            !b.pubsub_is_subscribed("t"),
            "publishing is not subscribing"
        );
        assert_eq!(message.from, b.peer_id());
        assert_eq!((message.topic.as_str(), &message.data), ("t", &data));
        assert_eq!(message.seqno, seqno);
        // Seqnos increase and start at the time in nanoseconds, as go's do.
        let (next, next_seqno) = publish_until_received(&b, &mut inbox, "t", &data).await;
        assert!(next.seqno > message.seqno && next.seqno == next_seqno);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        assert!(seqno < now && seqno > now - 3_600_000_000_000);

        // The largest message one frame carries arrives; one byte more is never sent.
        let fits = MAX_FRAME_BYTES - frame_len(&b.peer_id(), 0, 1) - 4;
        let largest = Bytes::from(vec![7u8; fits]);
        assert_eq!(frame_len(&b.peer_id(), fits, 1), MAX_FRAME_BYTES);
        let (message, _) = publish_until_received(&b, &mut inbox, "t", &largest).await;
        assert_eq!(message.data.len(), fits);
        let over = Bytes::from(vec![7u8; MAX_FRAME_BYTES]);
        assert!(matches!(
            b.pubsub_publish("t", over).await,
            Err(PublishError::TooLarge { .. })
        ));

        // Unsubscribed, a receives nothing more.
        a.pubsub_unsubscribe("t");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while a.pubsub_is_subscribed("t") {
            assert!(tokio::time::Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        b.pubsub_publish("t", data.clone()).await.unwrap();
        let late = tokio::time::timeout(Duration::from_millis(500), inbox.recv()).await;
        assert!(late.is_err(), "received after unsubscribing: {late:?}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn admission_bounds_what_a_flooding_peer_gets_in() {
        // The receiver admits 20 messages a second (burst 20); the sender has no such limit.
        let strict = PubsubLimits {
            messages_per_second: 20,
            ..PubsubLimits::default()
        };
        let a = node(strict).await;
        let b = node(PubsubLimits {
            messages_per_second: 1_000_000,
            bytes_per_second: 1 << 30,
            ..PubsubLimits::default()
        })
        .await;
        connect(&a, &b).await;
        let mut inbox = a.take_pubsub_messages().unwrap();
        a.pubsub_subscribe("flood");
        let probe = Bytes::from_static(b"probe");
        publish_until_received(&b, &mut inbox, "flood", &probe).await;
        // Let the bucket fill up again, then flood.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let started = tokio::time::Instant::now();
        for i in 0..2_000u32 {
            let _ = b
                .pubsub_publish("flood", Bytes::from(i.to_be_bytes().to_vec()))
                .await;
        }
        let mut received = 0;
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(500), inbox.recv()).await
        {
            received += 1;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let bound = 20.0 + 20.0 * elapsed;
        assert!(
            received > 0 && f64::from(received) <= bound,
            "{received} admitted in {elapsed:.1} s"
        );
        // The budget refills: later messages get through again.
        tokio::time::sleep(Duration::from_secs(1)).await;
        publish_until_received(&b, &mut inbox, "flood", &probe).await;
        // Publishing here is admitted against the same budget.
        let mut refused = false;
        for _ in 0..100 {
            if a.pubsub_publish("flood", probe.clone()).await == Err(PublishError::OverBudget) {
                refused = true;
                break;
            }
        }
        assert!(refused, "own publishes are budgeted too");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_peers_subscriptions_are_kept_only_within_the_limits() {
        let a = node(PubsubLimits {
            peer_topics: 10,
            ..PubsubLimits::default()
        })
        .await;
        // b itself allows more and longer topics than a keeps for it.
        let b = node(PubsubLimits {
            max_topic_len: 4096,
            ..PubsubLimits::default()
        })
        .await;
        connect(&b, &a).await;
        let mut inbox = b.take_pubsub_messages().unwrap();
        let long = "l".repeat(600);
        b.pubsub_subscribe("first");
        let probe = Bytes::from_static(b"probe");
        publish_until_received(&a, &mut inbox, "first", &probe).await;
        // t1…t9 fill a's ten places for b; a keeps none of the ones after.
        for i in 1..10 {
            b.pubsub_subscribe(&format!("t{i}"));
        }
        publish_until_received(&a, &mut inbox, "t9", &probe).await;
        for i in 10..20 {
            b.pubsub_subscribe(&format!("t{i}"));
        }
        b.pubsub_subscribe(&long);
        tokio::time::sleep(Duration::from_millis(500)).await;
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(50), inbox.recv()).await
        {
        }
        for topic in ["t10", "t19", long.as_str()] {
            assert!(b.pubsub_is_subscribed(topic));
            a.pubsub_publish(topic, probe.clone()).await.unwrap();
        }
        let nothing = tokio::time::timeout(Duration::from_millis(800), inbox.recv()).await;
        assert!(
            nothing.is_err(),
            "a sent to a topic it should not know b has: {nothing:?}"
        );
    }

    #[test]
    fn the_inbox_drops_past_its_byte_limit() {
        let (sender, mut receiver) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let mut inbox = Inbox {
            sender,
            queued: Arc::clone(&queued),
            limit: 3 * (1000 + 1 + MESSAGE_OVERHEAD),
            dropped: 0,
            last_warning: None,
        };
        let from = Keypair::generate_ed25519().public().to_peer_id();
        let message = |seqno| PubsubMessage {
            from,
            seqno,
            topic: "t".into(),
            data: Bytes::from(vec![0; 1000]),
        };
        for seqno in 0..5 {
            inbox.push(message(seqno));
        }
        assert_eq!(inbox.dropped, 2);
        let mut messages = Messages {
            receiver: {
                let (_, r) = mpsc::unbounded_channel();
                std::mem::replace(&mut receiver, r)
            },
            queued: Arc::clone(&queued),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(rt.block_on(messages.recv()).unwrap().seqno, 0);
        // Room for one more again.
        inbox.push(message(5));
        assert_eq!(inbox.dropped, 2);
        inbox.push(message(6));
        assert_eq!(inbox.dropped, 3);
    }
}
