//! The client's state machine: wants, the peers asked for each, and sessions. No I/O and no
//! clock of its own: every call takes `now` and leaves what to send in an [`Outgoing`], which
//! [`super::Client`] hands to the transport. The algorithm is described in [`super`].

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use bytes::Bytes;
use cid::Cid;
use multihash::Multihash;
use tokio::sync::oneshot;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::diagnosis::{Asked, Diagnosis, Outcome, PeerReport, ProviderLookups, SessionStats};
use super::{ClientConfig, PeerKey, Unsolicited, MIN_DELAY};
use crate::network::bitswap::{
    verify_legacy_blocks, Block, Entry, Message, PresenceType, Protocol,
};

pub(super) type SessionId = u64;
pub(super) type WaiterId = u64;

/// Blocks delivered lately, kept so that a 1.0.0 block arriving after its want was met (a peer
/// answering before our cancel reached it) is recognised as a late duplicate and not taken for
/// garbage.
const RECENTLY_DELIVERED: usize = 256;

/// Wants ended lately (met or withdrawn), remembered by digest so that a block answering one
/// of them is not counted as unsolicited: peers answer wants until our cancel reaches them,
/// and a session sends a want to several peers. 16k is a full wantlist message's worth;
/// each costs 8 bytes twice.
const RECENTLY_ENDED: usize = 16 * 1024;

/// The part of a multihash digest that identifies it among the recently ended wants (a
/// collision only spares one block from being counted).
fn digest_key(hash: &Multihash<64>) -> u64 {
    let digest = hash.digest();
    let mut key = [0u8; 8];
    let n = digest.len().min(8);
    key[..n].copy_from_slice(&digest[..n]);
    u64::from_le_bytes(key) ^ hash.code().rotate_left(32)
}

/// What one engine call wants done, in order.
pub(super) struct Outgoing<K> {
    index: HashMap<K, usize>,
    /// Wantlist entries per peer, peers in the order first addressed.
    pub(super) messages: Vec<(K, Vec<Entry>)>,
    /// Provider lookups to start: the CID and the lookup's id.
    pub(super) lookups: Vec<(Cid, u64)>,
}

impl<K> Default for Outgoing<K> {
    fn default() -> Self {
        Outgoing {
            index: HashMap::new(),
            messages: Vec::new(),
            lookups: Vec::new(),
        }
    }
}

impl<K: PeerKey> Outgoing<K> {
    fn push(&mut self, peer: &K, entry: Entry) {
        let at = *self.index.entry(peer.clone()).or_insert_with(|| {
            self.messages.push((peer.clone(), Vec::new()));
            self.messages.len() - 1
        });
        self.messages[at].1.push(entry);
    }
}

/// A connected peer.
struct Peer {
    protocol: Protocol,
    /// Connection order, for a stable choice among equals.
    seq: u64,
    /// Wanted blocks it sent first, across sessions: broadcasts ask good peers first.
    blocks: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AskState {
    /// Sent; counts as no answer at `until`.
    Waiting {
        until: Instant,
    },
    /// Said HAVE (or is a provider): to be sent a want-block.
    Have,
    DontHave,
    TimedOut,
    /// Disconnected before answering.
    Gone,
    BadBlock,
}

/// One peer's part in the current round of a want.
#[derive(Debug, Clone, Copy)]
struct Ask {
    kind: Asked,
    state: AskState,
    /// The one want-block the want has in flight (sent to a peer believed to have the block),
    /// as opposed to a want-block a 1.0.0/1.1.0 peer gets in place of a want-have.
    targeted: bool,
    /// Said HAVE this round.
    said_have: bool,
    /// Order within the round, for a stable choice among equals.
    order: u64,
}

impl Ask {
    fn waiting(&self) -> bool {
        matches!(self.state, AskState::Waiting { .. })
    }

    /// The peer said HAVE and has not failed since: the block should come from it.
    fn live_have(&self) -> bool {
        self.said_have && matches!(self.state, AskState::Have | AskState::Waiting { .. })
    }
}

enum Lookup {
    /// None this round.
    Idle,
    Running {
        id: u64,
        abort: Option<AbortHandle>,
    },
    /// Ran this round.
    Ran,
}

/// One round of asking for a want: the first starts with the want, another with each
/// rebroadcast.
struct Round<K> {
    started: Instant,
    asks: HashMap<K, Ask>,
    next_order: u64,
    /// Sessions whose peers were asked this round.
    sessions_asked: HashSet<SessionId>,
    /// Providers found this round.
    providers: Vec<K>,
    /// When the next broadcast batch may go while answers are still awaited.
    next_batch: Instant,
}

impl<K> Round<K> {
    fn new(now: Instant) -> Self {
        Round {
            started: now,
            asks: HashMap::new(),
            next_order: 0,
            sessions_asked: HashSet::new(),
            providers: Vec::new(),
            next_batch: now,
        }
    }
}

/// What a peer did about a want over all rounds, for [`Diagnosis`] and for the cancels.
struct History {
    asked: Option<Asked>,
    outcome: Outcome,
    provider: bool,
    /// Order first heard of, for the report.
    order: u64,
}

struct Waiter {
    session: SessionId,
    tx: oneshot::Sender<Block>,
}

/// One block wanted by one or more gets.
struct Want<K> {
    priority: i32,
    created: Instant,
    waiters: HashMap<WaiterId, Waiter>,
    round: Round<K>,
    rounds: u32,
    lookup: Lookup,
    lookups_run: u32,
    history: HashMap<K, History>,
    /// The earliest time the want must be looked at again (its entry in `Engine::timers`).
    deadline: Option<Instant>,
}

impl<K: PeerKey> Want<K> {
    fn sessions(&self) -> Vec<SessionId> {
        let mut sessions: Vec<SessionId> = self.waiters.values().map(|w| w.session).collect();
        sessions.sort_unstable();
        sessions.dedup();
        sessions
    }

    fn note(&mut self, peer: &K, outcome: Outcome) -> &mut History {
        let order = self.history.len() as u64;
        let history = self.history.entry(peer.clone()).or_insert(History {
            asked: None,
            outcome,
            provider: false,
            order,
        });
        history.outcome = outcome;
        history
    }

    /// Sends a want to `peer` and records it. A peer without want-have (1.0.0, 1.1.0) is sent a
    /// want-block without DONT_HAVE, as boxo does: it will only ever answer with the block.
    #[allow(clippy::too_many_arguments)]
    fn ask(
        &mut self,
        cid: &Cid,
        peer: &K,
        kind: Asked,
        targeted: bool,
        protocol: Option<Protocol>,
        ctx: &Ctx<'_, K>,
        out: &mut Outgoing<K>,
    ) {
        // A peer not connected (a provider) is assumed to speak 1.2.0: the transport encodes
        // for what it negotiates, and an older server reads a want-have as a want-block.
        let presences = protocol.is_none_or(Protocol::has_presences);
        let (kind, targeted) = if presences {
            (kind, targeted)
        } else {
            (Asked::Block, targeted && kind == Asked::Block)
        };
        out.push(
            peer,
            match kind {
                Asked::Have => Entry::want_have(*cid, self.priority, true),
                Asked::Block => Entry::want_block(*cid, self.priority, presences),
            },
        );
        let order = self.round.next_order;
        self.round.next_order += 1;
        let said_have = self.round.asks.get(peer).is_some_and(|a| a.said_have);
        self.round.asks.insert(
            peer.clone(),
            Ask {
                kind,
                state: AskState::Waiting {
                    until: ctx.now + ctx.config.peer_timeout,
                },
                targeted,
                said_have,
                order,
            },
        );
        let history = self.note(peer, Outcome::Waiting);
        history.asked = history.asked.max(Some(kind));
    }

    /// Peers sent a want at some point, less those that disconnected since (their server
    /// dropped the want with the connection, and a message would only make the transport dial
    /// them again): they get the cancel.
    fn asked_peers(&self) -> impl Iterator<Item = &K> {
        self.history
            .iter()
            .filter(|(_, h)| h.asked.is_some() && h.outcome != Outcome::Disconnected)
            .map(|(peer, _)| peer)
    }
}

/// A session's view of peers.
struct SessionState<K> {
    peers: HashMap<K, SessionPeer>,
    penalised: HashSet<K>,
    blocks: u64,
    /// Ticks at each credit, for recency.
    clock: u64,
}

struct SessionPeer {
    blocks: u64,
    last: u64,
}

impl<K: PeerKey> SessionState<K> {
    fn new() -> Self {
        SessionState {
            peers: HashMap::new(),
            penalised: HashSet::new(),
            blocks: 0,
            clock: 0,
        }
    }

    /// Best first: most blocks sent, then most recent.
    fn ranked(&self) -> Vec<(&K, &SessionPeer)> {
        let mut peers: Vec<_> = self.peers.iter().collect();
        peers.sort_by_key(|(_, p)| std::cmp::Reverse((p.blocks, p.last)));
        peers
    }

    /// `peer` sent `blocks` blocks (0: said HAVE).
    fn credit(&mut self, peer: &K, blocks: u64, cap: usize) {
        if self.penalised.contains(peer) {
            return;
        }
        self.clock += 1;
        let clock = self.clock;
        let entry = self.peers.entry(peer.clone()).or_insert(SessionPeer {
            blocks: 0,
            last: clock,
        });
        entry.blocks += blocks;
        entry.last = clock;
        if self.peers.len() > cap {
            let worst = self
                .peers
                .iter()
                .filter(|(p, _)| *p != peer)
                .min_by_key(|(_, s)| (s.blocks, s.last))
                .map(|(p, _)| p.clone());
            if let Some(worst) = worst {
                self.peers.remove(&worst);
            }
        }
    }

    fn penalise(&mut self, peer: &K, cap: usize) {
        self.peers.remove(peer);
        // A session that met this many bad peers has no use for more names of them.
        if self.penalised.len() < cap {
            self.penalised.insert(peer.clone());
        }
    }
}

/// What a want's step reads besides the want.
struct Ctx<'a, K> {
    config: &'a ClientConfig,
    peers: &'a HashMap<K, Peer>,
    sessions: &'a HashMap<SessionId, SessionState<K>>,
    has_finder: bool,
    now: Instant,
}

impl<K: PeerKey> Ctx<'_, K> {
    fn protocol(&self, peer: &K) -> Option<Protocol> {
        self.peers.get(peer).map(|p| p.protocol)
    }

    fn penalised(&self, sessions: &[SessionId], peer: &K) -> bool {
        sessions.iter().any(|s| {
            self.sessions
                .get(s)
                .is_some_and(|s| s.penalised.contains(peer))
        })
    }

    /// How much the want's sessions like `peer`: the most blocks it sent any of them.
    fn session_blocks(&self, sessions: &[SessionId], peer: &K) -> u64 {
        sessions
            .iter()
            .filter_map(|s| self.sessions.get(s)?.peers.get(peer).map(|p| p.blocks))
            .max()
            .unwrap_or(0)
    }
}

/// The 1.0.0 blocks of a message, matched against the CIDs they may answer.
#[derive(Default)]
pub(super) struct Legacy {
    /// Verified, under each CID they hash to.
    pub(super) blocks: Vec<Block>,
    /// Some block matched none of them: not an answer to anything we asked.
    pub(super) garbage: bool,
}

/// Matches 1.0.0 blocks (bare data) against `candidates` (see [`Engine::legacy_candidates`]).
/// Hashing a message's blocks takes a while, so [`super::Client::receive`] does it without the
/// engine locked.
pub(super) fn match_legacy(data: &[Bytes], candidates: &[Cid]) -> Legacy {
    let blocks = verify_legacy_blocks(data, candidates);
    let matched: HashSet<&[u8]> = blocks.iter().map(|b| &b.data()[..]).collect();
    let garbage = data.iter().any(|d| !matched.contains(&d[..]));
    Legacy { blocks, garbage }
}

pub(super) struct Engine<K> {
    config: ClientConfig,
    has_finder: bool,
    peers: HashMap<K, Peer>,
    wants: HashMap<Cid, Want<K>>,
    /// Wanted CIDs by multihash: a block arriving under another CID of the same multihash
    /// (another version or codec) is the same bytes.
    by_hash: HashMap<Multihash<64>, Vec<Cid>>,
    /// Wants by deadline.
    timers: BTreeSet<(Instant, Cid)>,
    sessions: HashMap<SessionId, SessionState<K>>,
    recent: VecDeque<Cid>,
    /// Digests of wants ended lately ([`RECENTLY_ENDED`]), oldest first, and as a set.
    ended: VecDeque<u64>,
    ended_set: HashSet<u64>,
    next_id: u64,
    closed: bool,
}

impl<K: PeerKey> Engine<K> {
    pub(super) fn new(config: ClientConfig, has_finder: bool) -> Self {
        Engine {
            config,
            has_finder,
            peers: HashMap::new(),
            wants: HashMap::new(),
            by_hash: HashMap::new(),
            timers: BTreeSet::new(),
            sessions: HashMap::new(),
            recent: VecDeque::new(),
            ended: VecDeque::new(),
            ended_set: HashSet::new(),
            next_id: 0,
            closed: false,
        }
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed
    }

    pub(super) fn len(&self) -> usize {
        self.wants.len()
    }

    /// Wants scheduled (each pending want has exactly one entry).
    #[cfg(test)]
    pub(super) fn timers(&self) -> usize {
        self.timers.len()
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.timers.first().map(|(at, _)| *at)
    }

    pub(super) fn open_session(&mut self) -> SessionId {
        let id = self.next_id();
        self.sessions.insert(id, SessionState::new());
        id
    }

    pub(super) fn close_session(&mut self, id: SessionId) {
        self.sessions.remove(&id);
    }

    pub(super) fn session_stats(&self, id: SessionId) -> SessionStats<K> {
        let Some(session) = self.sessions.get(&id) else {
            return SessionStats::default();
        };
        SessionStats {
            blocks: session.blocks,
            peers: session
                .ranked()
                .into_iter()
                .map(|(peer, s)| (peer.clone(), s.blocks))
                .collect(),
            penalised: session.penalised.iter().cloned().collect(),
        }
    }

    /// Registers a get of `cid` for `session`: a new want, or a waiter on the existing one.
    /// The receiver yields the block, or an error once the client shuts down.
    pub(super) fn want(
        &mut self,
        cid: Cid,
        session: SessionId,
        now: Instant,
        out: &mut Outgoing<K>,
    ) -> (WaiterId, oneshot::Receiver<Block>) {
        let waiter = self.next_id();
        let (tx, rx) = oneshot::channel();
        if self.closed {
            return (waiter, rx);
        }
        let waiter_entry = Waiter { session, tx };
        if let Some(want) = self.wants.get_mut(&cid) {
            want.waiters.insert(waiter, waiter_entry);
        } else {
            let seq = self.next_id();
            // Earlier wants first (boxo counts down from the largest int32 the same way): a
            // DAG walk asks for blocks in the order it needs them.
            let priority = i32::MAX - (seq % i32::MAX as u64) as i32;
            self.wants.insert(
                cid,
                Want {
                    priority,
                    created: now,
                    waiters: HashMap::from([(waiter, waiter_entry)]),
                    round: Round::new(now),
                    rounds: 1,
                    lookup: Lookup::Idle,
                    lookups_run: 0,
                    history: HashMap::new(),
                    deadline: None,
                },
            );
            self.by_hash.entry(*cid.hash()).or_default().push(cid);
        }
        self.step(&cid, now, out);
        (waiter, rx)
    }

    /// A get went away: its want is cancelled when it was the last one waiting.
    pub(super) fn drop_waiter(&mut self, cid: &Cid, waiter: WaiterId, out: &mut Outgoing<K>) {
        let Some(want) = self.wants.get_mut(cid) else {
            return;
        };
        want.waiters.remove(&waiter);
        if want.waiters.is_empty() {
            if let Some(want) = self.remove_want(cid) {
                for peer in want.asked_peers() {
                    out.push(peer, Entry::cancel(*cid));
                }
            }
        }
    }

    fn remove_want(&mut self, cid: &Cid) -> Option<Want<K>> {
        let want = self.wants.remove(cid)?;
        let key = digest_key(cid.hash());
        if self.ended_set.insert(key) {
            if self.ended.len() == RECENTLY_ENDED {
                if let Some(old) = self.ended.pop_front() {
                    self.ended_set.remove(&old);
                }
            }
            self.ended.push_back(key);
        }
        if let Some(at) = want.deadline {
            self.timers.remove(&(at, *cid));
        }
        if let Some(cids) = self.by_hash.get_mut(cid.hash()) {
            cids.retain(|c| c != cid);
            if cids.is_empty() {
                self.by_hash.remove(cid.hash());
            }
        }
        if let Lookup::Running {
            abort: Some(abort), ..
        } = &want.lookup
        {
            abort.abort();
        }
        Some(want)
    }

    pub(super) fn connected(
        &mut self,
        peer: K,
        protocol: Protocol,
        now: Instant,
        out: &mut Outgoing<K>,
    ) {
        let seq = self.next_id();
        self.peers
            .entry(peer)
            .and_modify(|p| p.protocol = protocol)
            .or_insert(Peer {
                protocol,
                seq,
                blocks: 0,
            });
        // A want with nobody left to ask gets the newcomer.
        let cids: Vec<Cid> = self.wants.keys().copied().collect();
        for cid in cids {
            self.step(&cid, now, out);
        }
    }

    pub(super) fn disconnected(&mut self, peer: &K, now: Instant, out: &mut Outgoing<K>) {
        self.peers.remove(peer);
        for session in self.sessions.values_mut() {
            session.peers.remove(peer);
        }
        let mut touched = Vec::new();
        for (cid, want) in &mut self.wants {
            let Some(ask) = want.round.asks.get_mut(peer) else {
                continue;
            };
            if matches!(ask.state, AskState::Waiting { .. } | AskState::Have) {
                ask.state = AskState::Gone;
                want.note(peer, Outcome::Disconnected);
                touched.push(*cid);
            }
        }
        for cid in touched {
            self.step(&cid, now, out);
        }
    }

    /// A message from `peer`: its blocks meet wants, its presences steer them. Its wantlist is
    /// the server's business.
    /// The CIDs a 1.0.0 block may answer: those wanted, and those delivered lately (a late
    /// duplicate is not garbage). See [`match_legacy`].
    pub(super) fn legacy_candidates(&self) -> Vec<Cid> {
        self.wants.keys().chain(&self.recent).copied().collect()
    }

    /// A message from `peer`: its blocks (1.0.0 ones already matched, by [`match_legacy`])
    /// meet wants, its presences steer them. Its wantlist is the server's business. Returns
    /// what of it was unsolicited (see [`Unsolicited`]); that is dropped.
    pub(super) fn receive(
        &mut self,
        peer: &K,
        message: &Message,
        legacy: Legacy,
        now: Instant,
        out: &mut Outgoing<K>,
    ) -> Unsolicited {
        let mut unsolicited = Unsolicited::default();
        for block in message.blocks.iter().chain(&legacy.blocks) {
            if !self.deliver(block, peer, out) {
                unsolicited.blocks += 1;
            }
        }
        if legacy.garbage {
            unsolicited.blocks += 1;
            self.penalise(peer, now, out);
        }
        let mut touched = Vec::new();
        for presence in &message.presences {
            let Some(want) = self.wants.get_mut(&presence.cid) else {
                unsolicited.presences += 1;
                continue;
            };
            let order = want.round.next_order;
            match presence.kind {
                PresenceType::Have => {
                    want.round.next_order += 1;
                    let ask = want.round.asks.entry(peer.clone()).or_insert(Ask {
                        kind: Asked::Have,
                        state: AskState::Have,
                        targeted: false,
                        said_have: true,
                        order,
                    });
                    if ask.state == AskState::BadBlock {
                        // A peer that sent garbage is not taken at its word.
                        continue;
                    }
                    ask.said_have = true;
                    // A want-block in flight stays in flight: the block is coming.
                    if !(ask.waiting() && ask.kind == Asked::Block) {
                        ask.state = AskState::Have;
                    }
                    want.note(peer, Outcome::Have);
                    for session in want.sessions() {
                        if let Some(session) = self.sessions.get_mut(&session) {
                            session.credit(peer, 0, self.config.max_session_peers);
                        }
                    }
                }
                PresenceType::DontHave => {
                    want.round.next_order += 1;
                    let ask = want.round.asks.entry(peer.clone()).or_insert(Ask {
                        kind: Asked::Have,
                        state: AskState::DontHave,
                        targeted: false,
                        said_have: false,
                        order,
                    });
                    ask.state = AskState::DontHave;
                    ask.said_have = false;
                    want.note(peer, Outcome::DontHave);
                }
            }
            touched.push(presence.cid);
        }
        // Presences for the same CID need one step (a message may repeat them).
        touched.sort_unstable();
        touched.dedup();
        for cid in touched {
            self.step(&cid, now, out);
        }
        unsolicited
    }

    /// A verified block from `from`: every want it meets is answered, credited to `from` and
    /// cancelled everywhere else. False when it meets no want, pending or ended lately.
    fn deliver(&mut self, block: &Block, from: &K, out: &mut Outgoing<K>) -> bool {
        let cids: Vec<Cid> = self
            .by_hash
            .get(block.cid().hash())
            .cloned()
            .unwrap_or_default();
        if cids.is_empty() {
            return self.ended_set.contains(&digest_key(block.cid().hash()));
        }
        for cid in cids {
            let Some(want) = self.remove_want(&cid) else {
                continue;
            };
            let delivered = if cid == *block.cid() {
                block.clone()
            } else {
                // Same multihash, so the same verified bytes under the CID asked for.
                Block::from_source(cid, block.data().clone())
            };
            for peer in want.asked_peers() {
                if peer != from {
                    out.push(peer, Entry::cancel(cid));
                }
            }
            if let Some(peer) = self.peers.get_mut(from) {
                peer.blocks += 1;
            }
            for session in want.sessions() {
                if let Some(session) = self.sessions.get_mut(&session) {
                    session.blocks += 1;
                    session.credit(from, 1, self.config.max_session_peers);
                }
            }
            for waiter in want.waiters.into_values() {
                // A get dropped meanwhile has nobody to tell.
                let _ = waiter.tx.send(delivered.clone());
            }
            if self.recent.len() == RECENTLY_DELIVERED {
                self.recent.pop_front();
            }
            self.recent.push_back(cid);
        }
        true
    }

    /// `peer` sent a block that answers nothing: the sessions waiting on it stop asking it, and
    /// every want-block it holds counts as answered badly.
    fn penalise(&mut self, peer: &K, now: Instant, out: &mut Outgoing<K>) {
        let mut touched = Vec::new();
        for (cid, want) in &mut self.wants {
            let Some(ask) = want.round.asks.get_mut(peer) else {
                continue;
            };
            if ask.kind != Asked::Block {
                continue;
            }
            ask.state = AskState::BadBlock;
            ask.said_have = false;
            want.note(peer, Outcome::BadBlock);
            for session in want.sessions() {
                if let Some(session) = self.sessions.get_mut(&session) {
                    session.penalise(peer, self.config.max_session_peers);
                }
            }
            touched.push(*cid);
        }
        for cid in touched {
            self.step(&cid, now, out);
        }
    }

    pub(super) fn provider_found(
        &mut self,
        cid: &Cid,
        lookup: u64,
        peer: K,
        now: Instant,
        out: &mut Outgoing<K>,
    ) {
        let Some(want) = self.wants.get_mut(cid) else {
            return;
        };
        if !matches!(want.lookup, Lookup::Running { id, .. } if id == lookup) {
            return;
        }
        let order = want.history.len() as u64;
        want.history
            .entry(peer.clone())
            .or_insert(History {
                asked: None,
                outcome: Outcome::Have,
                provider: false,
                order,
            })
            .provider = true;
        if !want.round.providers.contains(&peer) {
            want.round.providers.push(peer);
        }
        self.step(cid, now, out);
    }

    pub(super) fn lookup_started(&mut self, cid: &Cid, lookup: u64, handle: AbortHandle) {
        match self.wants.get_mut(cid) {
            Some(Want {
                lookup: Lookup::Running { id, abort },
                ..
            }) if *id == lookup => *abort = Some(handle),
            // The want went away before the task was spawned.
            _ => handle.abort(),
        }
    }

    pub(super) fn lookup_done(
        &mut self,
        cid: &Cid,
        lookup: u64,
        now: Instant,
        out: &mut Outgoing<K>,
    ) {
        let Some(want) = self.wants.get_mut(cid) else {
            return;
        };
        if matches!(want.lookup, Lookup::Running { id, .. } if id == lookup) {
            want.lookup = Lookup::Ran;
            self.step(cid, now, out);
        }
    }

    /// Acts on every want whose deadline has come.
    pub(super) fn tick(&mut self, now: Instant, out: &mut Outgoing<K>) {
        let mut due = Vec::new();
        while let Some(&(at, cid)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            if let Some(want) = self.wants.get_mut(&cid) {
                want.deadline = None;
            }
            due.push(cid);
        }
        for cid in due {
            self.step(&cid, now, out);
        }
    }

    /// Fails every get (their futures see the client closed) and cancels every want.
    pub(super) fn shutdown(&mut self, out: &mut Outgoing<K>) {
        self.closed = true;
        let cids: Vec<Cid> = self.wants.keys().copied().collect();
        for cid in cids {
            if let Some(want) = self.remove_want(&cid) {
                for peer in want.asked_peers() {
                    out.push(peer, Entry::cancel(cid));
                }
            }
        }
        self.sessions.clear();
    }

    pub(super) fn diagnose(&self, cid: &Cid, now: Instant) -> Option<Diagnosis<K>> {
        let want = self.wants.get(cid)?;
        let mut peers: Vec<(&K, &History)> = want.history.iter().collect();
        peers.sort_by_key(|(_, h)| h.order);
        Some(Diagnosis {
            cid: *cid,
            elapsed: now.saturating_duration_since(want.created),
            rounds: want.rounds,
            connected: self.peers.len(),
            peers: peers
                .iter()
                .map(|(peer, h)| PeerReport {
                    peer: (*peer).clone(),
                    asked: h.asked,
                    outcome: h.outcome,
                    provider: h.provider,
                })
                .collect(),
            providers: ProviderLookups {
                runs: want.lookups_run,
                running: matches!(want.lookup, Lookup::Running { .. }),
                found: peers
                    .iter()
                    .filter(|(_, h)| h.provider)
                    .map(|(peer, _)| (*peer).clone())
                    .collect(),
            },
        })
    }

    /// Moves one want along (see the module docs of [`super`]) and reschedules it.
    fn step(&mut self, cid: &Cid, now: Instant, out: &mut Outgoing<K>) {
        let Engine {
            config,
            has_finder,
            peers,
            wants,
            timers,
            sessions,
            next_id,
            ..
        } = self;
        let Some(want) = wants.get_mut(cid) else {
            return;
        };
        let ctx = Ctx {
            config,
            peers,
            sessions,
            has_finder: *has_finder,
            now,
        };
        let old = want.deadline;
        if step_want(cid, want, &ctx, out) {
            *next_id += 1;
            want.lookup = Lookup::Running {
                id: *next_id,
                abort: None,
            };
            want.lookups_run += 1;
            out.lookups.push((*cid, *next_id));
        }
        if old != want.deadline {
            if let Some(at) = old {
                timers.remove(&(at, *cid));
            }
            if let Some(at) = want.deadline {
                timers.insert((at, *cid));
            }
        }
    }
}

/// One step of a want at `ctx.now`; true when a provider lookup should start. Sets
/// `want.deadline` to when it needs another step.
fn step_want<K: PeerKey>(
    cid: &Cid,
    want: &mut Want<K>,
    ctx: &Ctx<'_, K>,
    out: &mut Outgoing<K>,
) -> bool {
    let now = ctx.now;
    let config = ctx.config;

    // Rebroadcast: a new round asks everyone afresh (servers such as cairn's forget a want once
    // answered, so a block they got meanwhile is found only by asking again).
    if now >= want.round.started + config.rebroadcast_interval {
        if let Lookup::Running {
            abort: Some(abort), ..
        } = &want.lookup
        {
            abort.abort();
        }
        want.lookup = Lookup::Idle;
        want.round = Round::new(now);
        want.rounds += 1;
    }

    // An ask unanswered past the per-peer timeout counts as DONT_HAVE for this round.
    let mut expired = Vec::new();
    for (peer, ask) in &mut want.round.asks {
        if matches!(ask.state, AskState::Waiting { until } if until <= now) {
            ask.state = AskState::TimedOut;
            expired.push(peer.clone());
        }
    }
    for peer in expired {
        want.note(&peer, Outcome::NoAnswer);
    }

    let sessions = want.sessions();
    let block_asks = |want: &Want<K>, confirmed: bool| {
        want.round.asks.values().any(|a| {
            a.targeted && a.kind == Asked::Block && a.waiting() && (a.said_have || !confirmed)
        })
    };
    let mut in_flight = block_asks(want, false);

    // 1. A peer that said HAVE gets the want-block, one at a time: the best by what the
    //    sessions know of it, then by blocks sent to anyone, then by who said HAVE first. A
    //    want-block sent on a guess (to a session's best peer, to a provider) does not hold
    //    it back: a HAVE is better evidence.
    if !block_asks(want, true) {
        let best = want
            .round
            .asks
            .iter()
            .filter(|(peer, a)| a.state == AskState::Have && !ctx.penalised(&sessions, peer))
            .max_by_key(|(peer, a)| {
                (
                    ctx.session_blocks(&sessions, peer),
                    ctx.peers.get(*peer).map_or(0, |p| p.blocks),
                    std::cmp::Reverse(a.order),
                )
            })
            .map(|(peer, _)| peer.clone());
        if let Some(peer) = best {
            want.ask(
                cid,
                &peer,
                Asked::Block,
                true,
                ctx.protocol(&peer),
                ctx,
                out,
            );
            in_flight = true;
        }
    }

    // 2. Each session's best peers, once a round: a want-block to the best (unless one is in
    //    flight), want-haves to the next few.
    for session in &sessions {
        if !want.round.sessions_asked.insert(*session) {
            continue;
        }
        let Some(state) = ctx.sessions.get(session) else {
            continue;
        };
        let chosen: Vec<K> = state
            .ranked()
            .into_iter()
            .map(|(peer, _)| peer)
            .filter(|peer| {
                ctx.peers.contains_key(*peer)
                    && !want.round.asks.contains_key(*peer)
                    && !ctx.penalised(&sessions, peer)
            })
            .take(config.session_fanout)
            .cloned()
            .collect();
        if !chosen.is_empty() {
            // Broadcasting waits a while for the session's peers.
            want.round.next_batch = want.round.next_batch.max(now + config.broadcast_delay);
        }
        for peer in chosen {
            let kind = if in_flight { Asked::Have } else { Asked::Block };
            want.ask(cid, &peer, kind, true, ctx.protocol(&peer), ctx, out);
            in_flight |= kind == Asked::Block;
        }
    }

    // 3. Providers found this round count as HAVEs (as in boxo): the first gets the
    //    want-block, the others want-haves.
    let providers: Vec<K> = want
        .round
        .providers
        .iter()
        .filter(|peer| !want.round.asks.contains_key(*peer) && !ctx.penalised(&sessions, peer))
        .cloned()
        .collect();
    for peer in providers {
        let kind = if in_flight { Asked::Have } else { Asked::Block };
        want.ask(cid, &peer, kind, true, ctx.protocol(&peer), ctx, out);
        in_flight |= kind == Asked::Block;
    }

    // 4. Nobody has said HAVE: widen. Connected peers not yet asked this round get want-haves,
    //    `broadcast_fanout` at a time: a batch goes when every ask so far is answered, or
    //    `broadcast_delay` after the last. Best peers (most blocks sent) first, then in the
    //    order they connected.
    let evidence = want.round.asks.values().any(Ask::live_have);
    let mut start_lookup = false;
    let mut more_to_ask = false;
    if !evidence {
        let mut candidates: Vec<(&K, &Peer)> = ctx
            .peers
            .iter()
            .filter(|(peer, _)| {
                !want.round.asks.contains_key(*peer) && !ctx.penalised(&sessions, peer)
            })
            .collect();
        let pending = want.round.asks.values().any(Ask::waiting);
        if !candidates.is_empty() && (!pending || now >= want.round.next_batch) {
            candidates.sort_by_key(|(_, p)| (std::cmp::Reverse(p.blocks), p.seq));
            let batch: Vec<(K, Protocol)> = candidates
                .iter()
                .take(config.broadcast_fanout.max(1))
                .map(|(peer, p)| ((*peer).clone(), p.protocol))
                .collect();
            more_to_ask = candidates.len() > batch.len();
            for (peer, protocol) in batch {
                want.ask(cid, &peer, Asked::Have, false, Some(protocol), ctx, out);
            }
            want.round.next_batch = now + config.broadcast_delay;
        } else {
            more_to_ask = !candidates.is_empty();
        }

        // 5. Every connected peer asked and none has it (or nobody said HAVE for
        //    `provider_search_delay`): look for providers, once a round.
        let pending = want.round.asks.values().any(Ask::waiting);
        let exhausted = !pending && !more_to_ask;
        start_lookup = ctx.has_finder
            && matches!(want.lookup, Lookup::Idle)
            && (exhausted || now >= want.round.started + config.provider_search_delay);
    }

    // When to look again: the first ask to time out, the next broadcast batch, the provider
    // search delay, the rebroadcast.
    let mut deadline = want.round.started + config.rebroadcast_interval;
    for ask in want.round.asks.values() {
        if let AskState::Waiting { until } = ask.state {
            deadline = deadline.min(until);
        }
    }
    if !evidence && more_to_ask {
        deadline = deadline.min(want.round.next_batch);
    }
    if !evidence && ctx.has_finder && matches!(want.lookup, Lookup::Idle) && !start_lookup {
        deadline = deadline.min(want.round.started + config.provider_search_delay);
    }
    debug_assert!(
        deadline > now,
        "a want stepped at {now:?} is due again at once"
    );
    // A scheduling mistake costs a retry a moment later rather than a busy loop.
    want.deadline = Some(deadline.max(now + MIN_DELAY));
    start_lookup
}
