//! Publish/subscribe between the node's own clients: the topic bus behind the Agregore
//! `/pubsub/<topic>` API (Agregore gateway spec, "PubSub API"; the cairn choices are in
//! docs/gateway-api.md, "Pubsub"). No HTTP types here.
//!
//! [`PubsubBackend`] is what the gateway talks to; [`LocalBus`] is the in-process backend.
//! Each topic is a `tokio::sync::broadcast` channel, created by the first subscriber and removed
//! when the last one leaves, so topics that nobody listens to cost nothing. A channel is a ring
//! of [`DEFAULT_TOPIC_BUFFER`] messages: publishers never wait, and a subscriber that falls
//! more than a ring behind loses the oldest messages and is told how many
//! ([`Received::Lagged`]) before it continues with the ones still held — the behaviour of
//! go-libp2p-pubsub, whose subscriptions drop messages for slow readers rather than slow the
//! publisher down.
//!
//! Messages carry what a libp2p pubsub message carries: the sender's peer ID (`from`), a
//! sequence number (`seqno`, 8 bytes big-endian on the wire, increasing per node), the data and
//! the topics. A later backend that bridges to another node (Kubo's pubsub over its RPC, say)
//! can implement the trait by feeding a `LocalBus` from its remote stream and queueing
//! publishes, keeping the trait synchronous.

use std::collections::HashMap;
use std::fmt;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use smallvec::{smallvec, SmallVec};
use tokio::sync::broadcast;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::Stream;

/// Largest message accepted: 1 MiB, the libp2p pubsub limit (libp2p/specs#118), inclusive.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// Messages a topic holds for its slowest subscriber before that subscriber starts losing
/// them. Bounds memory per topic at this many messages (each at most [`MAX_MESSAGE_BYTES`]).
pub const DEFAULT_TOPIC_BUFFER: usize = 128;

/// Why a pubsub operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PubsubError {
    /// The topic name is empty.
    #[error("no topic given: the topic is everything after /pubsub/")]
    EmptyTopic,
    /// The message is over [`MAX_MESSAGE_BYTES`].
    #[error("a pubsub message is at most {MAX_MESSAGE_BYTES} bytes (1 MiB); this one has {len}")]
    TooLarge { len: usize },
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

/// What a subscription yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    Message(Arc<Message>),
    /// The subscriber fell behind and this many messages were dropped for it; later messages
    /// follow.
    Lagged(u64),
}

/// A pubsub implementation the gateway can use.
pub trait PubsubBackend: Send + Sync + 'static {
    /// This node's peer ID, which messages published here carry as `from`.
    fn peer_id(&self) -> &str;
    /// Starts receiving messages published to `topic` from now on.
    fn subscribe(&self, topic: &str) -> Result<Subscription, PubsubError>;
    /// Publishes `data` to `topic`, returning the message's sequence number. Never waits for
    /// subscribers; with none, the message goes nowhere.
    fn publish(&self, topic: &str, data: Bytes) -> Result<u64, PubsubError>;
    /// Number of live subscriptions to `topic` on this node.
    fn subscriber_count(&self, topic: &str) -> usize;
    /// Whether this node has a live subscription to `topic`.
    fn is_subscribed(&self, topic: &str) -> bool {
        self.subscriber_count(topic) > 0
    }
}

type Sender = broadcast::Sender<Arc<Message>>;

/// The live topics of one bus, shared with its subscriptions so they can unregister.
struct Registry {
    topics: RwLock<HashMap<Arc<str>, Sender>>,
    closed: AtomicBool,
}

impl Registry {
    // A panic elsewhere while holding the lock leaves the map itself consistent (every
    // operation on it is a single insert, remove or lookup), so poisoning is ignored.
    fn read(&self) -> RwLockReadGuard<'_, HashMap<Arc<str>, Sender>> {
        self.topics.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<Arc<str>, Sender>> {
        self.topics.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The in-process pubsub backend.
pub struct LocalBus {
    registry: Arc<Registry>,
    peer_id: Arc<str>,
    next_seqno: AtomicU64,
    buffer: usize,
}

impl LocalBus {
    /// A bus whose messages come from `peer_id`, with [`DEFAULT_TOPIC_BUFFER`] per topic.
    pub fn new(peer_id: impl Into<Arc<str>>) -> Self {
        Self::with_buffer(peer_id, DEFAULT_TOPIC_BUFFER)
    }

    /// A bus holding `buffer` messages per topic (at least 1).
    pub fn with_buffer(peer_id: impl Into<Arc<str>>, buffer: usize) -> Self {
        // go-libp2p starts its sequence numbers at the current time in nanoseconds, so they
        // keep increasing across restarts; do the same.
        let start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX / 2));
        LocalBus {
            registry: Arc::new(Registry {
                topics: RwLock::new(HashMap::new()),
                closed: AtomicBool::new(false),
            }),
            peer_id: peer_id.into(),
            next_seqno: AtomicU64::new(start),
            // broadcast::channel panics on 0 and on absurd sizes.
            buffer: buffer.clamp(1, 1 << 20),
        }
    }

    /// Number of topics with at least one subscriber.
    pub fn topic_count(&self) -> usize {
        self.registry.read().len()
    }

    /// Shuts the bus down: every subscription ends (its stream yields `None`), and later
    /// subscribes and publishes fail with [`PubsubError::Closed`]. Lets open event streams
    /// finish when the server stops.
    pub fn close(&self) {
        self.registry.closed.store(true, Ordering::SeqCst);
        // Dropping the senders ends every receiver.
        self.registry.write().clear();
    }

    fn check_open(&self) -> Result<(), PubsubError> {
        if self.registry.closed.load(Ordering::SeqCst) {
            Err(PubsubError::Closed)
        } else {
            Ok(())
        }
    }
}

impl fmt::Debug for LocalBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalBus")
            .field("peer_id", &self.peer_id)
            .field("topics", &self.topic_count())
            .field("buffer", &self.buffer)
            .finish()
    }
}

impl PubsubBackend for LocalBus {
    fn peer_id(&self) -> &str {
        &self.peer_id
    }

    fn subscribe(&self, topic: &str) -> Result<Subscription, PubsubError> {
        if topic.is_empty() {
            return Err(PubsubError::EmptyTopic);
        }
        let mut topics = self.registry.write();
        // Checked under the lock so a concurrent close() cannot miss this subscription.
        self.check_open()?;
        let (key, receiver) = match topics.get_key_value(topic) {
            Some((key, sender)) => (Arc::clone(key), sender.subscribe()),
            None => {
                let key: Arc<str> = Arc::from(topic);
                let (sender, receiver) = broadcast::channel(self.buffer);
                topics.insert(Arc::clone(&key), sender);
                (key, receiver)
            }
        };
        Ok(Subscription {
            stream: Some(BroadcastStream::new(receiver)),
            registry: Arc::clone(&self.registry),
            topic: key,
        })
    }

    fn publish(&self, topic: &str, data: Bytes) -> Result<u64, PubsubError> {
        if topic.is_empty() {
            return Err(PubsubError::EmptyTopic);
        }
        if data.len() > MAX_MESSAGE_BYTES {
            return Err(PubsubError::TooLarge { len: data.len() });
        }
        self.check_open()?;
        // Concurrent publishers to one topic may deliver in a different order than their
        // numbers; one publisher's messages arrive in order, as in libp2p.
        let seqno = self.next_seqno.fetch_add(1, Ordering::Relaxed);
        let topics = self.registry.read();
        if let Some((key, sender)) = topics.get_key_value(topic) {
            let message = Arc::new(Message {
                from: Arc::clone(&self.peer_id),
                seqno,
                data,
                topics: smallvec![Arc::clone(key)],
            });
            // Fails only when no receiver is left, and the last one is removing the topic.
            let _ = sender.send(message);
        }
        Ok(seqno)
    }

    fn subscriber_count(&self, topic: &str) -> usize {
        self.registry
            .read()
            .get(topic)
            .map_or(0, Sender::receiver_count)
    }
}

/// A live subscription to one topic. Dropping it unsubscribes at once; the last subscription
/// to leave removes the topic.
pub struct Subscription {
    /// `None` only while dropping.
    stream: Option<BroadcastStream<Arc<Message>>>,
    registry: Arc<Registry>,
    topic: Arc<str>,
}

impl Subscription {
    /// The topic subscribed to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Polls for the next message; `None` once the bus is closed.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Received>> {
        let Some(stream) = self.stream.as_mut() else {
            return Poll::Ready(None);
        };
        std::pin::Pin::new(stream).poll_next(cx).map(|next| {
            next.map(|item| match item {
                Ok(message) => Received::Message(message),
                Err(BroadcastStreamRecvError::Lagged(lost)) => Received::Lagged(lost),
            })
        })
    }

    /// Waits for the next message; `None` once the bus is closed.
    pub async fn recv(&mut self) -> Option<Received> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }
}

impl Stream for Subscription {
    type Item = Received;

    fn poll_next(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx)
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // The receiver is dropped under the write lock, and subscribe() also holds it, so the
        // count read here cannot race with a new subscriber joining this topic.
        let mut topics = self.registry.write();
        drop(self.stream.take());
        let empty = topics
            .get(&*self.topic)
            .is_some_and(|sender| sender.receiver_count() == 0);
        if empty {
            topics.remove(&*self.topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    /// Polls once without a runtime (the broadcast channel needs none).
    fn try_next(subscription: &mut Subscription) -> Poll<Option<Received>> {
        subscription.poll_recv(&mut Context::from_waker(Waker::noop()))
    }

    fn message(received: Poll<Option<Received>>) -> Arc<Message> {
        match received {
            Poll::Ready(Some(Received::Message(m))) => m,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[test]
    fn delivers_to_every_subscriber_in_order() {
        let bus = LocalBus::new("12D3KooWpeer");
        let mut a = bus.subscribe("t").unwrap();
        let mut b = bus.subscribe("t").unwrap();
        let mut other = bus.subscribe("u").unwrap();
        let first = bus.publish("t", Bytes::from_static(b"one")).unwrap();
        let second = bus.publish("t", Bytes::from_static(b"two")).unwrap();
        assert!(second > first);
        for sub in [&mut a, &mut b] {
            let m = message(try_next(sub));
            assert_eq!(&m.data[..], b"one");
            assert_eq!(m.seqno, first);
            assert_eq!(&*m.from, "12D3KooWpeer");
            assert_eq!(m.topics.as_slice(), &[Arc::<str>::from("t")]);
            assert_eq!(m.seqno_bytes(), first.to_be_bytes());
            assert_eq!(message(try_next(sub)).seqno, second);
            assert!(try_next(sub).is_pending());
        }
        assert!(try_next(&mut other).is_pending());
    }

    #[test]
    fn only_messages_after_subscribing_arrive() {
        let bus = LocalBus::new("p");
        let _keep = bus.subscribe("t").unwrap();
        bus.publish("t", Bytes::from_static(b"early")).unwrap();
        let mut late = bus.subscribe("t").unwrap();
        assert!(try_next(&mut late).is_pending());
        bus.publish("t", Bytes::from_static(b"late")).unwrap();
        assert_eq!(&message(try_next(&mut late)).data[..], b"late");
    }

    #[test]
    fn topics_come_and_go_with_subscribers() {
        let bus = LocalBus::new("p");
        assert!(!bus.is_subscribed("t"));
        let a = bus.subscribe("t").unwrap();
        let b = bus.subscribe("t").unwrap();
        assert_eq!(bus.subscriber_count("t"), 2);
        assert!(bus.is_subscribed("t"));
        drop(a);
        assert_eq!(bus.subscriber_count("t"), 1);
        assert_eq!(bus.topic_count(), 1);
        drop(b);
        assert_eq!(bus.subscriber_count("t"), 0);
        assert_eq!(bus.topic_count(), 0);
        // Publishing to a topic nobody listens to creates nothing.
        bus.publish("t", Bytes::new()).unwrap();
        assert_eq!(bus.topic_count(), 0);
    }

    #[test]
    fn many_topics_leave_nothing_behind() {
        let bus = LocalBus::new("p");
        for i in 0..10_000 {
            let topic = format!("topic-{i}");
            let mut sub = bus.subscribe(&topic).unwrap();
            bus.publish(&topic, Bytes::from_static(b"x")).unwrap();
            message(try_next(&mut sub));
        }
        assert_eq!(bus.topic_count(), 0);
    }

    #[test]
    fn lagging_subscriber_is_told_how_many_it_lost_then_continues() {
        let bus = LocalBus::with_buffer("p", 4);
        let mut slow = bus.subscribe("t").unwrap();
        let mut fast = bus.subscribe("t").unwrap();
        let mut seqnos = Vec::new();
        for i in 0..10u8 {
            seqnos.push(bus.publish("t", Bytes::copy_from_slice(&[i])).unwrap());
            // The fast one keeps up; publishing never waits for the slow one.
            assert_eq!(message(try_next(&mut fast)).data[0], i);
        }
        assert_eq!(try_next(&mut slow), Poll::Ready(Some(Received::Lagged(6))));
        for (i, seqno) in seqnos.iter().enumerate().skip(6) {
            let m = message(try_next(&mut slow));
            assert_eq!((m.seqno, usize::from(m.data[0])), (*seqno, i));
        }
        assert!(try_next(&mut slow).is_pending());
    }

    #[test]
    fn size_limit_is_one_mebibyte_inclusive() {
        let bus = LocalBus::new("p");
        let mut sub = bus.subscribe("t").unwrap();
        let max = Bytes::from(vec![7u8; MAX_MESSAGE_BYTES]);
        bus.publish("t", max.clone()).unwrap();
        assert_eq!(message(try_next(&mut sub)).data, max);
        assert_eq!(
            bus.publish("t", Bytes::from(vec![0u8; MAX_MESSAGE_BYTES + 1])),
            Err(PubsubError::TooLarge {
                len: MAX_MESSAGE_BYTES + 1
            })
        );
        assert!(try_next(&mut sub).is_pending());
    }

    #[test]
    fn empty_topic_is_refused() {
        let bus = LocalBus::new("p");
        assert_eq!(bus.subscribe("").unwrap_err(), PubsubError::EmptyTopic);
        assert_eq!(
            bus.publish("", Bytes::new()).unwrap_err(),
            PubsubError::EmptyTopic
        );
    }

    #[test]
    fn close_ends_subscriptions_and_refuses_more() {
        let bus = LocalBus::new("p");
        let mut sub = bus.subscribe("t").unwrap();
        bus.close();
        assert_eq!(try_next(&mut sub), Poll::Ready(None));
        assert_eq!(bus.subscribe("t").unwrap_err(), PubsubError::Closed);
        assert_eq!(
            bus.publish("t", Bytes::new()).unwrap_err(),
            PubsubError::Closed
        );
        drop(sub);
        assert_eq!(bus.topic_count(), 0);
    }

    #[test]
    fn seqnos_increase_across_topics() {
        let bus = LocalBus::new("p");
        let a = bus.publish("a", Bytes::new()).unwrap();
        let b = bus.publish("b", Bytes::new()).unwrap();
        let c = bus.publish("a", Bytes::new()).unwrap();
        assert!(a < b && b < c);
    }

    #[tokio::test]
    async fn recv_wakes_when_a_message_is_published() {
        let bus = Arc::new(LocalBus::new("p"));
        let mut sub = bus.subscribe("t").unwrap();
        let publisher = Arc::clone(&bus);
        let task = tokio::spawn(async move {
            tokio::task::yield_now().await;
            publisher.publish("t", Bytes::from_static(b"hi")).unwrap()
        });
        let got = sub.recv().await;
        let seqno = task.await.unwrap();
        match got {
            Some(Received::Message(m)) => assert_eq!((m.seqno, &m.data[..]), (seqno, &b"hi"[..])),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn concurrent_subscribe_and_drop_never_lose_a_live_topic() {
        let bus = Arc::new(LocalBus::new("p"));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let bus = Arc::clone(&bus);
                std::thread::spawn(move || {
                    for _ in 0..2_000 {
                        let mut sub = bus.subscribe("shared").unwrap();
                        // While this subscription lives, the topic must exist and reach it.
                        assert!(bus.subscriber_count("shared") >= 1);
                        bus.publish("shared", Bytes::from_static(b"x")).unwrap();
                        match try_next(&mut sub) {
                            Poll::Ready(Some(_)) => {}
                            other => panic!("own message not delivered: {other:?}"),
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(bus.topic_count(), 0);
    }
}
