//! The server side of Bitswap: what each peer wants of us, and the messages that answer it.
//!
//! One [`Server`] per node holds the block source and the settings; [`Server::peer`] gives a
//! [`PeerLedger`] per connected peer. The ledger is fed the peer's messages
//! ([`PeerLedger::receive`]) and hands out the answers one message at a time
//! ([`PeerLedger::next_message`]); [`PeerLedger::serve`] does both over a stream pair.
//!
//! Per the spec (Bitswap 1.2.0: Interaction Pattern), for each want:
//! - want-block for a block we have: the block;
//! - want-have for a block we have: HAVE, or the block itself when it is at most
//!   [`ServerConfig::max_have_as_block`] bytes (boxo's `maxBlockSizeReplaceHasWithBlock`,
//!   1024: the spec allows answering with the block "if the block is very small");
//! - either, for a block we lack, with `sendDontHave`: DONT_HAVE; without it: nothing;
//! - a cancel removes the want, also while its block is being read (the block is then dropped);
//! - a `full` wantlist replaces every earlier want.
//!
//! Peers on 1.0.0 and 1.1.0 have neither want-have nor presences: their wants are all
//! want-blocks and absent blocks go unanswered.
//!
//! Bounds: a peer's wants (queued plus being answered) are capped at
//! [`ServerConfig::max_wantlist_entries`] (boxo's `MaxQueuedWantlistEntriesPerPeer`, 1024);
//! wants past the cap are dropped and counted, as boxo does (on the libp2p node, what a
//! peer's wants cost in CPU is bounded too: [`super::budget`] disconnects a flooder). Each peer has at most one message
//! in the making or in flight: the next is built once the last was handed out, so a peer that
//! does not read its stream holds one message and nothing more. A message is filled up to
//! [`ServerConfig::target_message_size`] (boxo's 16 KiB) or one block, and never past
//! [`super::MAX_MESSAGE_SIZE`]: a block too large to fit is treated as absent.
//!
//! Fairness: messages are built under a FIFO semaphore of [`ServerConfig::concurrent_builds`]
//! slots shared by all peers (boxo runs 8 task workers): a peer with a long wantlist gets one
//! message per turn and then queues behind every peer already waiting.
//!
//! Unlike boxo, a want is forgotten once answered (or found absent): the ledger holds no wants
//! for blocks that might arrive later. Clients rebroadcast their wants (boxo every minute), so
//! a block stored later is still found. `pendingBytes` is not sent (the spec makes it
//! optional).

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use cid::Cid;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, Semaphore};

use super::message::{block_field_len, presence_field_len};
use super::{
    write_message, Block, BlockPresence, Error, Limits, Message, MessageReader, PresenceType,
    Protocol, WantType, MAX_MESSAGE_SIZE,
};
use crate::store::SharedSource;

/// How the server treats peers. The defaults are boxo's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// Wants kept per peer, queued or being answered (boxo: 1024).
    pub max_wantlist_entries: usize,
    /// Bytes of blocks and presences gathered into one message before it is sent (boxo: 16
    /// KiB). A message may pass it by its last item.
    pub target_message_size: usize,
    /// Largest block sent instead of a HAVE (boxo: 1024 bytes).
    pub max_have_as_block: u64,
    /// Peers whose next message is built at the same time; the others wait their turn in
    /// order (boxo: 8 workers).
    pub concurrent_builds: usize,
    /// Bounds on the messages [`PeerLedger::read_from`] reads.
    pub limits: Limits,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_wantlist_entries: 1024,
            target_message_size: 16 << 10,
            max_have_as_block: 1024,
            concurrent_builds: 8,
            limits: Limits::default(),
        }
    }
}

/// The Bitswap server of one node: cheap to clone, shared by every peer's ledger.
#[derive(Clone)]
pub struct Server {
    shared: Arc<Shared>,
}

struct Shared {
    source: SharedSource,
    config: ServerConfig,
    /// Turns at building a message, handed out first come, first served (tokio's semaphore is
    /// fair).
    builds: Semaphore,
    /// Blocks written to peers (and those received, counted by the swarm's readers).
    stats: Arc<super::BitswapStats>,
}

impl Server {
    pub fn new(source: SharedSource, config: ServerConfig) -> Self {
        let builds = Semaphore::new(config.concurrent_builds.max(1));
        Server {
            shared: Arc::new(Shared {
                source,
                config,
                builds,
                stats: Arc::default(),
            }),
        }
    }

    pub fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    /// The node's Bitswap counts: blocks written by this server's ledgers, and those the
    /// swarm's readers received.
    pub fn stats(&self) -> &Arc<super::BitswapStats> {
        &self.shared.stats
    }

    /// A ledger for a newly connected peer whose outgoing stream speaks `protocol`. Keep one per
    /// peer (every stream the peer opens feeds the same ledger); drop or
    /// [`close`](PeerLedger::close) it when the peer disconnects.
    pub fn peer(&self, protocol: Protocol) -> PeerLedger {
        PeerLedger {
            peer: Arc::new(Peer {
                shared: Arc::clone(&self.shared),
                protocol,
                ledger: Mutex::new(Ledger::default()),
                wake: Notify::new(),
            }),
        }
    }
}

/// One peer's wantlist and the answers owed to it. Clones share the ledger: any number of tasks
/// may [`receive`](PeerLedger::receive), one at a time should take
/// [`next_message`](PeerLedger::next_message).
#[derive(Clone)]
pub struct PeerLedger {
    peer: Arc<Peer>,
}

struct Peer {
    shared: Arc<Shared>,
    protocol: Protocol,
    ledger: Mutex<Ledger>,
    /// Woken when wants arrive or the ledger closes.
    wake: Notify,
}

#[derive(Debug, Clone, Copy)]
struct Want {
    priority: i32,
    want_type: WantType,
    send_dont_have: bool,
    /// Arrival order, for first come first served among equal priorities.
    seq: u64,
}

#[derive(Debug, Clone, Copy)]
struct InFlight {
    want_type: WantType,
    /// False once a `full` wantlist left it out: its answer is dropped.
    live: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Status {
    #[default]
    Open,
    /// No more wants will come: answer the queued ones, then end.
    Finishing,
    Closed,
}

#[derive(Default)]
struct Ledger {
    queued: HashMap<Cid, Want>,
    /// The queued wants, highest priority first, then oldest first.
    order: BTreeMap<(Reverse<i32>, u64), Cid>,
    /// Wants taken off the queue whose answer is being read.
    in_flight: HashMap<Cid, InFlight>,
    next_seq: u64,
    dropped: u64,
    status: Status,
}

/// What a want gets.
enum Answer {
    Block(Bytes),
    Have,
    DontHave,
    Nothing,
}

impl Ledger {
    fn len(&self) -> usize {
        self.queued.len() + self.in_flight.len()
    }

    fn remove_queued(&mut self, cid: &Cid) {
        if let Some(want) = self.queued.remove(cid) {
            self.order.remove(&(Reverse(want.priority), want.seq));
        }
    }

    fn enqueue(&mut self, cid: Cid, priority: i32, want_type: WantType, send_dont_have: bool) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.queued.insert(
            cid,
            Want {
                priority,
                want_type,
                send_dont_have,
                seq,
            },
        );
        self.order.insert((Reverse(priority), seq), cid);
    }

    /// Applies one want (not a cancel); `cap` bounds the wants kept.
    fn want(
        &mut self,
        cid: Cid,
        priority: i32,
        want_type: WantType,
        send_dont_have: bool,
        cap: usize,
    ) {
        if let Some(want) = self.queued.get_mut(&cid) {
            // The same CID again: a want-block outranks a want-have, a DONT_HAVE asked for
            // once stays asked for, the priority is the latest (boxo merges the same way).
            if want_type == WantType::Block {
                want.want_type = WantType::Block;
            }
            want.send_dont_have |= send_dont_have;
            if want.priority != priority {
                let old = (Reverse(want.priority), want.seq);
                want.priority = priority;
                let new = (Reverse(priority), want.seq);
                self.order.remove(&old);
                self.order.insert(new, cid);
            }
            return;
        }
        if let Some(flight) = self.in_flight.get_mut(&cid) {
            flight.live = true;
            // The answer on its way covers this want unless it is a HAVE and a block is
            // wanted now: then the block is queued as well.
            if !(flight.want_type == WantType::Have && want_type == WantType::Block) {
                return;
            }
        }
        if self.len() >= cap {
            self.dropped += 1;
            return;
        }
        self.enqueue(cid, priority, want_type, send_dont_have);
    }

    /// Takes the most urgent queued want off the queue and marks it in flight.
    fn pop(&mut self) -> Option<(Cid, Want)> {
        let (_, cid) = self.order.pop_first()?;
        let want = self.queued.remove(&cid)?;
        self.in_flight.insert(
            cid,
            InFlight {
                want_type: want.want_type,
                live: true,
            },
        );
        Some((cid, want))
    }

    /// Ends a want's flight: whether its answer is still wanted (not cancelled or replaced
    /// meanwhile).
    fn land(&mut self, cid: &Cid) -> bool {
        self.in_flight.remove(cid).is_some_and(|flight| flight.live)
    }
}

impl PeerLedger {
    /// The protocol the answers are encoded for.
    pub fn protocol(&self) -> Protocol {
        self.peer.protocol
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        // A panic while holding the lock leaves the ledger consistent (every change is a few
        // map operations), so a poisoned lock is still usable.
        self.peer
            .ledger
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies the wantlist of a message from the peer (its blocks and presences are the
    /// client's business, not the server's). A want for an identity CID is an error and
    /// changes nothing: the peer is broken and its stream should be closed.
    pub fn receive(&self, message: &Message) -> Result<(), Error> {
        let Some(wantlist) = &message.wantlist else {
            return Ok(());
        };
        if let Some(entry) = wantlist
            .entries
            .iter()
            .find(|entry| crate::ipld::cid::is_inline(&entry.cid))
        {
            return Err(Error::IdentityWant(entry.cid));
        }
        let cap = self.peer.shared.config.max_wantlist_entries;
        let presences = self.peer.protocol.has_presences();
        let mut ledger = self.ledger();
        if ledger.status == Status::Closed {
            return Ok(());
        }
        if wantlist.full {
            ledger.queued.clear();
            ledger.order.clear();
            for flight in ledger.in_flight.values_mut() {
                flight.live = false;
            }
        }
        for entry in &wantlist.entries {
            if entry.cancel {
                ledger.remove_queued(&entry.cid);
                ledger.in_flight.remove(&entry.cid);
            } else if presences {
                ledger.want(
                    entry.cid,
                    entry.priority,
                    entry.want_type,
                    entry.send_dont_have,
                    cap,
                );
            } else {
                // Before 1.2.0 every want is a want-block and nothing is said of absent blocks.
                ledger.want(entry.cid, entry.priority, WantType::Block, false, cap);
            }
        }
        let work = !ledger.queued.is_empty();
        drop(ledger);
        if work {
            self.peer.wake.notify_one();
        }
        Ok(())
    }

    /// The next message for the peer, once there is something to say; `None` when the ledger
    /// is closed, or finishing with nothing left to answer. Waits for wants, then for the
    /// peer's turn to build.
    pub async fn next_message(&self) -> Option<Message> {
        loop {
            loop {
                {
                    let ledger = self.ledger();
                    match ledger.status {
                        Status::Closed => return None,
                        _ if !ledger.queued.is_empty() => break,
                        Status::Finishing => return None,
                        Status::Open => {}
                    }
                }
                // `notify_one` keeps a permit when nobody waits, so wants that arrive between
                // the check and this wait are not missed.
                self.peer.wake.notified().await;
            }
            let turn = self.peer.shared.builds.acquire().await.ok()?;
            let message = self.build().await;
            drop(turn);
            if !message.is_empty() {
                return Some(message);
            }
        }
    }

    /// Answers queued wants, most urgent first, until the message reaches the target size or
    /// the queue is empty.
    async fn build(&self) -> Message {
        let config = &self.peer.shared.config;
        let protocol = self.peer.protocol;
        let mut message = Message::default();
        let mut size = 0;
        while size < config.target_message_size {
            let Some((cid, want)) = self.ledger().pop() else {
                break;
            };
            let answer = self.answer(&cid, want).await;
            if !self.ledger().land(&cid) {
                continue;
            }
            match answer {
                Answer::Block(data) => {
                    size += block_field_len(&cid, data.len(), protocol);
                    message.blocks.push(Block::from_source(cid, data));
                }
                Answer::Have => {
                    size += presence_field_len(&cid, PresenceType::Have);
                    message.presences.push(BlockPresence {
                        cid,
                        kind: PresenceType::Have,
                    });
                }
                Answer::DontHave => {
                    size += presence_field_len(&cid, PresenceType::DontHave);
                    message.presences.push(BlockPresence {
                        cid,
                        kind: PresenceType::DontHave,
                    });
                }
                Answer::Nothing => {}
            }
        }
        message
    }

    /// Reads what the source knows of `cid` and decides the answer to `want`.
    async fn answer(&self, cid: &Cid, want: Want) -> Answer {
        let shared = &self.peer.shared;
        let protocol = self.peer.protocol;
        // A block fits when it fits after a message filled up to just below the target.
        let fits = |len: u64| {
            (block_field_len(cid, len as usize, protocol) as u64)
                .saturating_add(shared.config.target_message_size as u64)
                <= MAX_MESSAGE_SIZE as u64
        };
        let absent = if want.send_dont_have && protocol.has_presences() {
            Answer::DontHave
        } else {
            Answer::Nothing
        };
        let block = || async {
            match shared.source.get(cid).await {
                Ok(Some(data)) if fits(data.len() as u64) => Some(data),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(%cid, error = %e, "bitswap: reading a wanted block failed");
                    None
                }
            }
        };
        match want.want_type {
            WantType::Block => block().await.map_or(absent, Answer::Block),
            WantType::Have => match shared.source.size(cid).await {
                Ok(Some(size)) if size <= shared.config.max_have_as_block => {
                    block().await.map_or(absent, Answer::Block)
                }
                Ok(Some(size)) if fits(size) => Answer::Have,
                Ok(_) => absent,
                Err(e) => {
                    tracing::warn!(%cid, error = %e, "bitswap: sizing a wanted block failed");
                    absent
                }
            },
        }
    }

    /// The peer will send no more wants: [`next_message`](PeerLedger::next_message) answers
    /// those queued, then returns `None`.
    pub fn finish(&self) {
        let mut ledger = self.ledger();
        if ledger.status == Status::Open {
            ledger.status = Status::Finishing;
        }
        drop(ledger);
        self.peer.wake.notify_one();
    }

    /// The peer is gone: its wants are dropped, answers being read are discarded and
    /// [`next_message`](PeerLedger::next_message) returns `None`.
    pub fn close(&self) {
        let mut ledger = self.ledger();
        ledger.status = Status::Closed;
        ledger.queued.clear();
        ledger.order.clear();
        ledger.in_flight.clear();
        drop(ledger);
        self.peer.wake.notify_one();
    }

    /// Whether `other` is a clone of this ledger (the same peer's, not a newer one).
    pub fn same_as(&self, other: &PeerLedger) -> bool {
        Arc::ptr_eq(&self.peer, &other.peer)
    }

    /// Wants held (queued or being answered).
    pub fn wantlist_len(&self) -> usize {
        self.ledger().len()
    }

    /// The queued wants, most urgent first.
    pub fn wantlist(&self) -> Vec<(Cid, WantType)> {
        let ledger = self.ledger();
        ledger
            .order
            .values()
            .filter_map(|cid| Some((*cid, ledger.queued.get(cid)?.want_type)))
            .collect()
    }

    /// Wants dropped because the peer's wantlist was full.
    pub fn dropped_wants(&self) -> u64 {
        self.ledger().dropped
    }

    /// Reads the peer's messages from one stream into the ledger until the stream ends (`Ok`)
    /// or a message is bad (the error; the caller should close the stream).
    pub async fn read_from<R: AsyncRead + Unpin>(&self, reader: R) -> Result<(), Error> {
        let mut reader = MessageReader::new(reader, self.peer.shared.config.limits);
        while let Some(message) = reader.next().await? {
            self.receive(&message)?;
        }
        Ok(())
    }

    /// Writes the answers to `writer` until the ledger closes or finishes, then shuts the
    /// writer down.
    pub async fn write_to<W: AsyncWrite + Unpin>(&self, mut writer: W) -> Result<(), Error> {
        while let Some(message) = self.next_message().await {
            write_message(&mut writer, &message, self.peer.protocol).await?;
            self.peer.shared.stats.sent(&message);
        }
        writer.shutdown().await?;
        Ok(())
    }

    /// Serves the peer over a stream pair: its wants from `reader`, the answers to `writer`.
    /// When `reader` ends, what is queued is answered and then `writer` is shut down. A bad
    /// message or a failed write ends both at once with the error, the ledger closed and both
    /// halves dropped (the stream closed).
    pub async fn serve<R, W>(&self, reader: R, writer: W) -> Result<(), Error>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let write = self.write_to(writer);
        tokio::pin!(write);
        let result = tokio::select! {
            read = self.read_from(reader) => match read {
                Ok(()) => {
                    self.finish();
                    write.await
                }
                Err(e) => Err(e),
            },
            written = &mut write => written,
        };
        self.close();
        result
    }
}

#[cfg(test)]
mod tests;
