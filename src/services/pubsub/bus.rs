//! The in-process topic bus: every subscriber of a topic receives every message delivered to
//! it after it subscribed, in order; publishers never wait.
//!
//! A topic exists while it has subscribers (the first creates it, the last to leave removes
//! it), so topics nobody listens to cost nothing. Each topic keeps the messages some
//! subscriber has not read yet; a message is freed once every subscriber has read it.
//!
//! **One memory budget for all topics** ([`BusLimits::memory`]): the bytes of every held
//! message together (its data plus [`MESSAGE_OVERHEAD`]) never exceed it. When a new message
//! would, the oldest messages of the topic holding the most are dropped first — so a stalled
//! subscriber on a flooded topic loses that topic's old messages instead of taking memory from
//! others — and each topic also holds at most [`BusLimits::per_topic`] messages. A subscriber
//! that falls behind what is held loses the oldest messages and is told how many
//! ([`Received::Lagged`]) before it continues with the ones still held: the behaviour of
//! go-libp2p-pubsub, whose subscriptions drop messages for slow readers rather than slow the
//! publisher down.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use smallvec::{smallvec, SmallVec};
use tokio_stream::Stream;

use super::{check_message, Message, PubsubError, MAX_MESSAGE_BYTES};

/// Messages a topic holds at most for its slowest subscriber before that subscriber starts
/// losing them.
pub const DEFAULT_TOPIC_BUFFER: usize = 128;

/// The default budget for the messages held on all topics together: 64 MiB.
pub const DEFAULT_MEMORY: usize = 64 << 20;

/// What a held message counts besides its data: the message, its slot and its share of the
/// topic's bookkeeping.
pub const MESSAGE_OVERHEAD: usize = 128;

/// How much a bus holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusLimits {
    /// Messages held per topic (at least 1).
    pub per_topic: usize,
    /// Bytes held on all topics together (at least one largest message).
    pub memory: usize,
}

impl Default for BusLimits {
    fn default() -> Self {
        BusLimits {
            per_topic: DEFAULT_TOPIC_BUFFER,
            memory: DEFAULT_MEMORY,
        }
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

/// Told when a topic gets its first subscriber (`true`) and loses its last (`false`), in that
/// order for any one topic (it runs under the bus's lock, so it must not call the bus).
pub type TopicHook = Box<dyn Fn(&str, bool) + Send + Sync>;

/// The in-process pubsub bus.
pub struct LocalBus {
    inner: Arc<Inner>,
    peer_id: Arc<str>,
    next_seqno: AtomicU64,
    /// Messages delivered here that this node published, and that peers did.
    published: AtomicU64,
    received: AtomicU64,
}

struct Inner {
    state: Mutex<State>,
    limits: BusLimits,
    hook: Option<TopicHook>,
}

impl Inner {
    // Every change to the state completes under the lock, so a panic elsewhere while holding
    // it cannot leave the state half-changed; poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Default)]
struct State {
    topics: HashMap<Arc<str>, Topic>,
    /// Bytes held on all topics.
    held: usize,
    /// `(bytes held, topic)` of every topic holding something: the largest is evicted first.
    by_held: BTreeSet<(usize, Arc<str>)>,
    next_reader: u64,
    closed: bool,
}

struct Topic {
    /// The messages some subscriber has not read; `slots[0]` is message number `head`.
    slots: VecDeque<Slot>,
    head: u64,
    held: usize,
    readers: HashMap<u64, Reader>,
}

struct Slot {
    message: Arc<Message>,
    /// Subscribers that have not read it yet.
    unread: usize,
    cost: usize,
}

struct Reader {
    /// The number of the next message it reads.
    next: u64,
    waker: Option<Waker>,
}

impl Topic {
    fn end(&self) -> u64 {
        self.head + self.slots.len() as u64
    }

    /// Drops read messages from the front; returns the bytes freed.
    fn release_read(&mut self) -> usize {
        let mut freed = 0;
        while self.slots.front().is_some_and(|slot| slot.unread == 0) {
            freed += self.pop_front();
        }
        freed
    }

    fn pop_front(&mut self) -> usize {
        match self.slots.pop_front() {
            Some(slot) => {
                self.head += 1;
                self.held -= slot.cost;
                slot.cost
            }
            None => 0,
        }
    }
}

impl State {
    /// Records that `name`'s held bytes went from `before` to what it holds now (nothing if
    /// it is gone).
    fn account(&mut self, name: &Arc<str>, before: usize) {
        let after = self.topics.get(name).map_or(0, |t| t.held);
        if before == after {
            return;
        }
        if before > 0 {
            self.by_held.remove(&(before, Arc::clone(name)));
        }
        if after > 0 {
            self.by_held.insert((after, Arc::clone(name)));
        }
        self.held = self.held + after - before;
    }

    /// Drops the oldest message of `name`.
    fn evict(&mut self, name: &Arc<str>) {
        let Some(topic) = self.topics.get_mut(name) else {
            return;
        };
        let before = topic.held;
        topic.pop_front();
        self.account(name, before);
    }

    /// The largest topic, if any holds something.
    fn largest(&self) -> Option<Arc<str>> {
        self.by_held.last().map(|(_, name)| Arc::clone(name))
    }
}

impl LocalBus {
    /// A bus whose messages come from `peer_id`, with the default limits.
    pub fn new(peer_id: impl Into<Arc<str>>) -> Self {
        Self::with_limits(peer_id, BusLimits::default(), None)
    }

    /// A bus holding `buffer` messages per topic (at least 1) and the default memory budget.
    pub fn with_buffer(peer_id: impl Into<Arc<str>>, buffer: usize) -> Self {
        let limits = BusLimits {
            per_topic: buffer,
            ..BusLimits::default()
        };
        Self::with_limits(peer_id, limits, None)
    }

    /// A bus with these limits; `hook` hears of topics coming and going.
    pub fn with_limits(
        peer_id: impl Into<Arc<str>>,
        limits: BusLimits,
        hook: Option<TopicHook>,
    ) -> Self {
        // go-libp2p starts its sequence numbers at the current time in nanoseconds, so they
        // keep increasing across restarts; do the same.
        let start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX / 2));
        let limits = BusLimits {
            per_topic: limits.per_topic.max(1),
            memory: limits.memory.max(MAX_MESSAGE_BYTES + MESSAGE_OVERHEAD),
        };
        LocalBus {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                limits,
                hook,
            }),
            peer_id: peer_id.into(),
            next_seqno: AtomicU64::new(start),
            published: AtomicU64::new(0),
            received: AtomicU64::new(0),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> BusLimits {
        self.inner.limits
    }

    /// Number of topics with at least one subscriber.
    pub fn topic_count(&self) -> usize {
        self.inner.lock().topics.len()
    }

    /// Bytes the held messages count against [`BusLimits::memory`] now.
    pub fn held_bytes(&self) -> usize {
        self.inner.lock().held
    }

    /// Shuts the bus down: every subscription ends (its stream yields `None`), and later
    /// subscribes and publishes fail with [`PubsubError::Closed`]. Lets open event streams
    /// finish when the server stops.
    pub fn close(&self) {
        let mut wake = Vec::new();
        {
            let mut state = self.inner.lock();
            state.closed = true;
            for topic in state.topics.values_mut() {
                wake.extend(topic.readers.values_mut().filter_map(|r| r.waker.take()));
            }
            state.topics.clear();
            state.by_held.clear();
            state.held = 0;
        }
        wake.into_iter().for_each(Waker::wake);
    }

    /// Starts receiving messages delivered to `topic` from now on.
    pub fn subscribe(&self, topic: &str) -> Result<Subscription, PubsubError> {
        if topic.is_empty() {
            return Err(PubsubError::EmptyTopic);
        }
        let mut state = self.inner.lock();
        if state.closed {
            return Err(PubsubError::Closed);
        }
        let id = state.next_reader;
        state.next_reader += 1;
        let key = match state.topics.get_key_value(topic) {
            Some((key, _)) => Arc::clone(key),
            None => {
                let key: Arc<str> = Arc::from(topic);
                state.topics.insert(
                    Arc::clone(&key),
                    Topic {
                        slots: VecDeque::new(),
                        head: 0,
                        held: 0,
                        readers: HashMap::new(),
                    },
                );
                if let Some(hook) = &self.inner.hook {
                    hook(topic, true);
                }
                key
            }
        };
        let entry = state.topics.get_mut(&key).expect("inserted above");
        let next = entry.end();
        entry.readers.insert(id, Reader { next, waker: None });
        Ok(Subscription {
            inner: Arc::clone(&self.inner),
            topic: key,
            id,
        })
    }

    /// Publishes `data` from this node to `topic`'s subscribers here, returning the message's
    /// sequence number.
    pub fn publish(&self, topic: &str, data: Bytes) -> Result<u64, PubsubError> {
        check_message(topic, &data)?;
        if self.inner.lock().closed {
            return Err(PubsubError::Closed);
        }
        // Concurrent publishers to one topic may deliver in a different order than their
        // numbers; one publisher's messages arrive in order, as in libp2p.
        let seqno = self.next_seqno.fetch_add(1, Ordering::Relaxed);
        self.deliver(topic, Arc::clone(&self.peer_id), seqno, data)?;
        Ok(seqno)
    }

    /// Hands a message (from this node or another) to `topic`'s subscribers here; with none,
    /// it is dropped.
    pub fn deliver(
        &self,
        topic: &str,
        from: Arc<str>,
        seqno: u64,
        data: Bytes,
    ) -> Result<(), PubsubError> {
        let counter = if *from == *self.peer_id {
            &self.published
        } else {
            &self.received
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let limits = self.inner.limits;
        let mut wake: SmallVec<[Waker; 8]> = SmallVec::new();
        {
            let mut state = self.inner.lock();
            if state.closed {
                return Err(PubsubError::Closed);
            }
            let Some((key, _)) = state.topics.get_key_value(topic) else {
                return Ok(());
            };
            let key = Arc::clone(key);
            let entry = state.topics.get_mut(&key).expect("looked up above");
            let cost = data.len() + MESSAGE_OVERHEAD;
            let before = entry.held;
            entry.slots.push_back(Slot {
                message: Arc::new(Message {
                    from,
                    seqno,
                    data,
                    topics: smallvec![Arc::clone(&key)],
                }),
                unread: entry.readers.len(),
                cost,
            });
            entry.held += cost;
            wake.extend(entry.readers.values_mut().filter_map(|r| r.waker.take()));
            while entry.slots.len() > limits.per_topic {
                entry.pop_front();
            }
            state.account(&key, before);
            while state.held > limits.memory {
                match state.largest() {
                    Some(largest) => state.evict(&largest),
                    None => break,
                }
            }
        }
        wake.into_iter().for_each(Waker::wake);
        Ok(())
    }

    /// Messages delivered so far (whether or not a subscriber was there): those this node
    /// published, and those that came from peers.
    pub fn message_counts(&self) -> (u64, u64) {
        (
            self.published.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
        )
    }

    /// Number of live subscriptions to `topic` on this node.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.inner
            .lock()
            .topics
            .get(topic)
            .map_or(0, |t| t.readers.len())
    }

    /// Whether `topic` has a subscriber here.
    pub fn is_subscribed(&self, topic: &str) -> bool {
        self.subscriber_count(topic) > 0
    }

    /// This node's peer ID.
    pub fn peer_id(&self) -> &str {
        &self.peer_id
    }
}

impl fmt::Debug for LocalBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalBus")
            .field("peer_id", &self.peer_id)
            .field("topics", &self.topic_count())
            .field("limits", &self.inner.limits)
            .finish()
    }
}

impl super::PubsubBackend for LocalBus {
    fn peer_id(&self) -> &str {
        &self.peer_id
    }

    fn subscribe(&self, topic: &str) -> Result<Subscription, PubsubError> {
        LocalBus::subscribe(self, topic)
    }

    fn publish(&self, topic: &str, data: Bytes) -> super::Publishing<'_> {
        let result = LocalBus::publish(self, topic, data);
        Box::pin(std::future::ready(result))
    }

    fn subscriber_count(&self, topic: &str) -> usize {
        LocalBus::subscriber_count(self, topic)
    }
}

/// A live subscription to one topic. Dropping it unsubscribes at once (its unread messages
/// are released); the last subscription to leave removes the topic.
pub struct Subscription {
    inner: Arc<Inner>,
    topic: Arc<str>,
    id: u64,
}

impl Subscription {
    /// The topic subscribed to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Polls for the next message; `None` once the bus is closed.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Received>> {
        let mut state = self.inner.lock();
        if state.closed {
            return Poll::Ready(None);
        }
        let Some(topic) = state.topics.get_mut(&self.topic) else {
            return Poll::Ready(None);
        };
        let (head, end) = (topic.head, topic.end());
        let Some(reader) = topic.readers.get_mut(&self.id) else {
            return Poll::Ready(None);
        };
        if reader.next < head {
            let lost = head - reader.next;
            reader.next = head;
            return Poll::Ready(Some(Received::Lagged(lost)));
        }
        if reader.next == end {
            match &reader.waker {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => reader.waker = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        let index = (reader.next - head) as usize;
        reader.next += 1;
        let slot = &mut topic.slots[index];
        slot.unread -= 1;
        let message = Arc::clone(&slot.message);
        if index == 0 && slot.unread == 0 {
            let before = topic.held;
            topic.release_read();
            let key = Arc::clone(&self.topic);
            state.account(&key, before);
        }
        Poll::Ready(Some(Received::Message(message)))
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
        let mut state = self.inner.lock();
        let Some(topic) = state.topics.get_mut(&self.topic) else {
            return;
        };
        let before = topic.held;
        if let Some(reader) = topic.readers.remove(&self.id) {
            let first = reader.next.max(topic.head);
            for slot in topic.slots.iter_mut().skip((first - topic.head) as usize) {
                slot.unread -= 1;
            }
            topic.release_read();
        }
        let last = topic.readers.is_empty();
        if last {
            // With the topic gone, its bytes are accounted away below.
            state.topics.remove(&self.topic);
        }
        state.account(&self.topic, before);
        if last {
            if let Some(hook) = &self.inner.hook {
                hook(&self.topic, false);
            }
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

    /// 1 KiB messages and a budget of exactly `n` of them.
    fn small_budget(n: usize) -> (BusLimits, usize) {
        let cost = 1024 + MESSAGE_OVERHEAD;
        let limits = BusLimits {
            per_topic: 100_000,
            memory: MAX_MESSAGE_BYTES + MESSAGE_OVERHEAD,
        };
        assert!(n * cost <= limits.memory);
        (limits, limits.memory / cost)
    }

    fn kib(i: u64) -> Bytes {
        let mut data = vec![0u8; 1024];
        data[..8].copy_from_slice(&i.to_be_bytes());
        Bytes::from(data)
    }

    /// Reads what is ready: (messages lost, data of the messages received).
    fn drain(sub: &mut Subscription) -> (u64, Vec<Bytes>) {
        let (mut lost, mut got) = (0, Vec::new());
        loop {
            match try_next(sub) {
                Poll::Ready(Some(Received::Message(m))) => got.push(m.data.clone()),
                Poll::Ready(Some(Received::Lagged(n))) => lost += n,
                _ => return (lost, got),
            }
        }
    }

    #[test]
    fn one_budget_holds_for_all_topics_together() {
        let (limits, fits) = small_budget(900);
        let bus = LocalBus::with_limits("p", limits, None);
        let topics = ["a", "b", "c", "d"];
        let mut stalled: Vec<_> = topics.iter().map(|t| bus.subscribe(t).unwrap()).collect();
        for i in 0..2_000u64 {
            for topic in topics {
                bus.publish(topic, kib(i)).unwrap();
                assert!(bus.held_bytes() <= limits.memory);
            }
        }
        // Before, each topic's ring alone could hold this; now all four share one budget,
        // spread evenly since the largest topic always gives way.
        for sub in &mut stalled {
            let (lost, got) = drain(sub);
            assert_eq!(lost + got.len() as u64, 2_000);
            assert!(got.len() >= fits / 4 - 1, "{} kept of {fits}", got.len());
            // What is left is the newest, in order.
            let numbers: Vec<u64> = got
                .iter()
                .map(|d| u64::from_be_bytes(d[..8].try_into().unwrap()))
                .collect();
            assert_eq!(*numbers.last().unwrap(), 1_999);
            assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1));
        }
        assert_eq!(bus.held_bytes(), 0, "read messages are freed");
        drop(stalled);
        assert_eq!((bus.held_bytes(), bus.topic_count()), (0, 0));
    }

    #[test]
    fn a_flooded_topic_gives_way_before_a_quiet_one() {
        let (limits, fits) = small_budget(900);
        let bus = LocalBus::with_limits("p", limits, None);
        let mut quiet = bus.subscribe("quiet").unwrap();
        let mut flooded = bus.subscribe("flooded").unwrap();
        for i in 0..10 {
            bus.publish("quiet", kib(i)).unwrap();
        }
        for i in 0..(3 * fits as u64) {
            bus.publish("flooded", kib(i)).unwrap();
        }
        let (lost, got) = drain(&mut quiet);
        assert_eq!(
            (lost, got.len()),
            (0, 10),
            "the quiet topic kept everything"
        );
        let (lost, got) = drain(&mut flooded);
        assert_eq!(got.len() + 10, fits);
        assert_eq!(lost as usize + got.len(), 3 * fits);
    }

    #[test]
    fn messages_are_freed_once_every_subscriber_has_them() {
        let bus = LocalBus::new("p");
        let mut a = bus.subscribe("t").unwrap();
        let mut b = bus.subscribe("t").unwrap();
        for i in 0..3 {
            bus.publish("t", kib(i)).unwrap();
        }
        let three = 3 * (1024 + MESSAGE_OVERHEAD);
        assert_eq!(bus.held_bytes(), three);
        assert_eq!(drain(&mut a).1.len(), 3);
        assert_eq!(bus.held_bytes(), three, "b has not read them");
        message(try_next(&mut b));
        assert_eq!(bus.held_bytes(), three - 1024 - MESSAGE_OVERHEAD);
        // A subscriber leaving releases what it had not read.
        drop(b);
        assert_eq!(bus.held_bytes(), 0);
        bus.publish("t", kib(9)).unwrap();
        drop(a);
        assert_eq!((bus.held_bytes(), bus.topic_count()), (0, 0));
    }

    #[test]
    fn the_hook_hears_topics_come_and_go_in_order() {
        let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = Arc::clone(&heard);
        let hook: TopicHook = Box::new(move |topic, on| {
            log.lock().unwrap().push((topic.to_owned(), on));
        });
        let bus = LocalBus::with_limits("p", BusLimits::default(), Some(hook));
        let a = bus.subscribe("t").unwrap();
        let b = bus.subscribe("t").unwrap();
        let u = bus.subscribe("u").unwrap();
        drop(a);
        drop(b);
        let again = bus.subscribe("t").unwrap();
        drop((u, again));
        assert_eq!(
            *heard.lock().unwrap(),
            [
                ("t".into(), true),
                ("u".into(), true),
                ("t".into(), false),
                ("t".into(), true),
                ("u".into(), false),
                ("t".into(), false),
            ]
        );
    }

    #[test]
    fn accounting_stays_exact_under_random_traffic() {
        let (limits, _) = small_budget(900);
        let limits = BusLimits {
            per_topic: 50,
            ..limits
        };
        let bus = LocalBus::with_limits("p", limits, None);
        let mut subs: Vec<Subscription> = Vec::new();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let topic = ["a", "b", "c", "d", "e"][(next() % 5) as usize];
            match next() % 10 {
                0 if subs.len() < 12 => subs.push(bus.subscribe(topic).unwrap()),
                1 if !subs.is_empty() => {
                    let i = (next() as usize) % subs.len();
                    drop(subs.swap_remove(i));
                }
                2..=4 if !subs.is_empty() => {
                    let i = (next() as usize) % subs.len();
                    for _ in 0..(next() % 20) {
                        let _ = try_next(&mut subs[i]);
                    }
                }
                _ => {
                    let len = (next() % 40_000) as usize;
                    bus.publish(topic, Bytes::from(vec![1; len])).unwrap();
                }
            }
            let state = bus.inner.lock();
            let sum: usize = state.topics.values().map(|t| t.held).sum();
            assert_eq!(state.held, sum);
            assert!(state.held <= limits.memory);
            let listed: usize = state.by_held.iter().map(|(n, _)| n).sum();
            assert_eq!(listed, sum);
            for topic in state.topics.values() {
                assert!(topic.slots.len() <= limits.per_topic);
                let slot_sum: usize = topic.slots.iter().map(|s| s.cost).sum();
                assert_eq!(slot_sum, topic.held);
                for slot in &topic.slots {
                    assert!(slot.unread <= topic.readers.len());
                }
            }
        }
        drop(subs);
        assert_eq!((bus.held_bytes(), bus.topic_count()), (0, 0));
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
