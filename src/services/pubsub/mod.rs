//! Publish/subscribe: the topic bus behind the Agregore `/pubsub/<topic>` API (Agregore
//! gateway spec, "PubSub API"; the cairn choices are in docs/gateway-api.md, "Pubsub"). No
//! HTTP types here.
//!
//! [`PubsubBackend`] is what the gateway talks to. [`LocalBus`] is the in-process bus every
//! backend delivers through (alone with `--offline`); [`NetworkPubsub`] puts it on the libp2p
//! node's gossipsub, so that messages travel between peers: a topic subscribed to here is
//! subscribed to on the network while it has a subscriber, messages from other peers arrive
//! on it, and messages published here are signed and sent to the peers subscribed.
//!
//! Messages carry what a libp2p pubsub message carries: the sender's peer ID (`from`), a
//! sequence number (`seqno`, 8 bytes big-endian on the wire, increasing per node), the data and
//! the topics.
//!
//! Memory: the messages waiting for subscribers on all topics together are bounded by one
//! budget ([`BusLimits::memory`], `--pubsub-memory`); see [`bus`].

pub mod bus;
pub mod network;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use smallvec::SmallVec;

pub use bus::{BusLimits, LocalBus, Received, Subscription, DEFAULT_MEMORY, DEFAULT_TOPIC_BUFFER};
pub use network::NetworkPubsub;

/// Largest message accepted: 1 MiB, the libp2p pubsub limit (libp2p/specs#118), inclusive.
/// On the network the limit is the 1 MiB RPC frame, so a message near this size reaches only
/// this node's subscribers (as with go-libp2p-pubsub, which drops it on sending too).
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// Why a pubsub operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PubsubError {
    /// The topic name is empty.
    #[error("no topic given: the topic is everything after /pubsub/")]
    EmptyTopic,
    /// The message is over [`MAX_MESSAGE_BYTES`].
    #[error("a pubsub message is at most {MAX_MESSAGE_BYTES} bytes (1 MiB); this one has {len}")]
    TooLarge { len: usize },
    /// The network's admission budget is spent for now; nothing was published.
    #[error("pubsub is over its rate budget; try again in a moment")]
    Busy,
    /// The network refused the message for another reason; nothing was published.
    #[error("pubsub: {0}")]
    Network(String),
    /// The bus has been shut down.
    #[error("pubsub is shutting down")]
    Closed,
}

/// One published message, shared (behind an `Arc`) by every subscriber that receives it.
#[derive(Debug, PartialEq, Eq)]
pub struct Message {
    /// Peer ID of the node that published it (`12D3KooW…`).
    pub from: Arc<str>,
    /// Sequence number, increasing per publishing node.
    pub seqno: u64,
    pub data: Bytes,
    /// The topics it was published to.
    pub topics: SmallVec<[Arc<str>; 1]>,
}

impl Message {
    /// The sequence number as libp2p encodes it: 8 bytes, big-endian.
    pub fn seqno_bytes(&self) -> [u8; 8] {
        self.seqno.to_be_bytes()
    }
}

/// What [`PubsubBackend::publish`] returns: the message's seqno, once published.
pub type Publishing<'a> = Pin<Box<dyn Future<Output = Result<u64, PubsubError>> + Send + 'a>>;

/// A pubsub implementation the gateway can use.
pub trait PubsubBackend: Send + Sync + 'static {
    /// This node's peer ID, which messages published here carry as `from`.
    fn peer_id(&self) -> &str;
    /// Starts receiving messages published to `topic` from now on.
    fn subscribe(&self, topic: &str) -> Result<Subscription, PubsubError>;
    /// Publishes `data` to `topic`, resolving to the message's sequence number. Never waits
    /// for subscribers; with none, the message goes nowhere.
    fn publish(&self, topic: &str, data: Bytes) -> Publishing<'_>;
    /// Number of live subscriptions to `topic` on this node.
    fn subscriber_count(&self, topic: &str) -> usize;
    /// Whether this node is subscribed to `topic` (on the network, for a networked backend).
    fn is_subscribed(&self, topic: &str) -> bool {
        self.subscriber_count(topic) > 0
    }
}

/// The checks every publish makes first.
fn check_message(topic: &str, data: &Bytes) -> Result<(), PubsubError> {
    if topic.is_empty() {
        return Err(PubsubError::EmptyTopic);
    }
    if data.len() > MAX_MESSAGE_BYTES {
        return Err(PubsubError::TooLarge { len: data.len() });
    }
    Ok(())
}
