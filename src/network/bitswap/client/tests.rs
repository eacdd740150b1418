//! The client against cairn's own server over an in-memory transport: every message is encoded
//! for the peer's protocol and decoded again, wants go to [`PeerLedger::receive`] and the
//! ledgers' answers come back through [`Client::receive`]. Time is tokio's paused clock, so
//! timeouts are exact and instant.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use cid::Cid;
use futures_util::StreamExt as _;
use multihash::Multihash;
use multihash_codetable::{Code, MultihashDigest};
use tokio::time::Instant;

use super::*;
use crate::network::bitswap::{
    BlockPresence, Limits, Message, PeerLedger, PresenceType, Protocol, Server, ServerConfig,
    WantType,
};
use crate::store::{BlockSource, SourceFuture};

type Peer = &'static str;

/// Blocks in memory that a test may add to later.
#[derive(Default)]
struct Blocks(Mutex<HashMap<Multihash<64>, Bytes>>);

impl Blocks {
    fn add(&self, data: &Bytes) {
        self.0
            .lock()
            .unwrap()
            .insert(*cid_of(data).hash(), data.clone());
    }
}

impl BlockSource for Blocks {
    fn get(&self, cid: &Cid) -> SourceFuture<crate::store::Result<Option<Bytes>>> {
        SourceFuture::ready(Ok(self.0.lock().unwrap().get(cid.hash()).cloned()))
    }

    fn has(&self, cid: &Cid) -> SourceFuture<crate::store::Result<bool>> {
        SourceFuture::ready(Ok(self.0.lock().unwrap().contains_key(cid.hash())))
    }

    fn size(&self, cid: &Cid) -> SourceFuture<crate::store::Result<Option<u64>>> {
        let blocks = self.0.lock().unwrap();
        SourceFuture::ready(Ok(blocks.get(cid.hash()).map(|b| b.len() as u64)))
    }
}

fn cid_of(data: &[u8]) -> Cid {
    Cid::new_v1(0x55, Code::Sha2_256.digest(data))
}

/// A block above the server's 1024-byte limit for answering a want-have with the block, so
/// want-haves get a HAVE.
fn large(n: u8) -> Bytes {
    Bytes::from(vec![n; 2000])
}

/// The message as the peer reads it: encoded for its protocol, decoded.
fn over_the_wire(message: &Message, protocol: Protocol) -> Message {
    Message::decode(Bytes::from(message.encode(protocol)), &Limits::default()).unwrap()
}

enum Remote {
    /// A cairn server; a muted one reads nothing.
    Server {
        ledger: PeerLedger,
        muted: Arc<AtomicBool>,
    },
    /// Reads and never answers.
    Silent,
    /// Answers every want with a 1.0.0 block of garbage.
    Garbage,
}

/// The in-memory transport: logs what the client sends and delivers it.
#[derive(Default)]
struct Net {
    sent: Mutex<Vec<(Peer, Message)>>,
    remotes: Mutex<HashMap<Peer, Remote>>,
    client: OnceLock<Client<Peer>>,
}

impl Outbox<Peer> for Net {
    fn send(&self, peer: &Peer, message: Message) {
        self.sent.lock().unwrap().push((*peer, message.clone()));
        match self.remotes.lock().unwrap().get(peer) {
            Some(Remote::Server { ledger, muted }) => {
                if !muted.load(Ordering::SeqCst) {
                    let wire = over_the_wire(&message, ledger.protocol());
                    ledger.receive(&wire).unwrap();
                }
            }
            Some(Remote::Garbage) => {
                let wants = message.wantlist.iter().flat_map(|w| &w.entries);
                if wants.into_iter().any(|e| !e.cancel) {
                    // Answered from another task: the client is locked while it sends.
                    let client = self.client.get().unwrap().clone();
                    let peer = *peer;
                    tokio::spawn(async move {
                        let garbage = Message {
                            legacy_blocks: vec![Bytes::from_static(b"garbage")],
                            ..Message::default()
                        };
                        client.receive(&peer, &over_the_wire(&garbage, Protocol::V100));
                    });
                }
            }
            Some(Remote::Silent) | None => {}
        }
    }
}

/// Providers to return; a hanging finder never returns and notes when its stream is dropped.
#[derive(Default)]
struct Finder {
    providers: Vec<Peer>,
    hang: bool,
    calls: Mutex<Vec<Cid>>,
    dropped: Arc<AtomicBool>,
}

struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl FindProviders<Peer> for Finder {
    fn find_providers(&self, cid: &Cid, _limit: usize) -> ProviderStream<Peer> {
        self.calls.lock().unwrap().push(*cid);
        if self.hang {
            let flag = DropFlag(Arc::clone(&self.dropped));
            Box::pin(futures_util::stream::pending::<Peer>().map(move |peer| {
                let _ = &flag;
                peer
            }))
        } else {
            Box::pin(futures_util::stream::iter(self.providers.clone()))
        }
    }
}

struct World {
    client: Client<Peer>,
    net: Arc<Net>,
    finder: Arc<Finder>,
}

impl World {
    fn new(config: ClientConfig) -> Self {
        World::build(config, None)
    }

    fn with_finder(config: ClientConfig, finder: Finder) -> Self {
        World::build(config, Some(finder))
    }

    fn build(config: ClientConfig, finder: Option<Finder>) -> Self {
        let net = Arc::new(Net::default());
        let finder = finder.map(Arc::new);
        let client = Client::new(
            Arc::clone(&net) as Arc<dyn Outbox<Peer>>,
            finder.clone().map(|f| f as Arc<dyn FindProviders<Peer>>),
            config,
        );
        assert!(net.client.set(client.clone()).is_ok());
        World {
            client,
            net,
            finder: finder.unwrap_or_default(),
        }
    }

    /// A cairn server holding `blocks`, not connected yet (the transport reaches it when
    /// sent to, as it would dial a provider).
    fn remote_server(&self, name: Peer, protocol: Protocol, blocks: &[&Bytes]) -> Arc<Blocks> {
        let source = Arc::new(Blocks::default());
        for data in blocks {
            source.add(data);
        }
        let ledger = Server::new(source.clone(), ServerConfig::default()).peer(protocol);
        let pump = ledger.clone();
        let client = self.client.clone();
        tokio::spawn(async move {
            while let Some(answer) = pump.next_message().await {
                client.receive(&name, &over_the_wire(&answer, protocol));
            }
        });
        self.net.remotes.lock().unwrap().insert(
            name,
            Remote::Server {
                ledger,
                muted: Arc::default(),
            },
        );
        source
    }

    /// A connected cairn server holding `blocks`.
    fn server(&self, name: Peer, protocol: Protocol, blocks: &[&Bytes]) -> Arc<Blocks> {
        let source = self.remote_server(name, protocol, blocks);
        self.client.peer_connected(name, protocol);
        source
    }

    fn connect(&self, name: Peer, protocol: Protocol, remote: Remote) {
        self.net.remotes.lock().unwrap().insert(name, remote);
        self.client.peer_connected(name, protocol);
    }

    fn mute(&self, name: Peer) {
        match self.net.remotes.lock().unwrap().get(name) {
            Some(Remote::Server { muted, .. }) => muted.store(true, Ordering::SeqCst),
            _ => panic!("{name} is not a server"),
        }
    }

    /// What `peer` was sent about `cid`, in order: "have", "block" (with send-dont-have),
    /// "block-only" (without: a 1.0.0/1.1.0 want) or "cancel".
    fn sent(&self, peer: Peer, cid: &Cid) -> Vec<&'static str> {
        let sent = self.net.sent.lock().unwrap();
        sent.iter()
            .filter(|(to, _)| *to == peer)
            .flat_map(|(_, m)| m.wantlist.iter().flat_map(|w| w.entries.iter()))
            .filter(|e| e.cid == *cid)
            .map(|e| match (e.cancel, e.want_type, e.send_dont_have) {
                (true, _, _) => "cancel",
                (false, WantType::Have, _) => "have",
                (false, WantType::Block, true) => "block",
                (false, WantType::Block, false) => "block-only",
            })
            .collect()
    }

    /// Asserts nothing is left: no want, no timer.
    fn assert_empty(&self) {
        assert_eq!(self.client.held(), (0, 0), "wants and timers left behind");
    }
}

/// Lets spawned tasks run without moving the paused clock.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

/// Fanout 1 and a long broadcast delay: peers are asked one by one, each after the last
/// answered (or timed out), in the order they connected.
fn one_by_one() -> ClientConfig {
    ClientConfig {
        broadcast_fanout: 1,
        broadcast_delay: Duration::from_secs(600),
        ..ClientConfig::default()
    }
}

#[tokio::test(start_paused = true)]
async fn the_peer_with_the_block_sends_it_and_the_others_get_cancels() {
    let world = World::new(ClientConfig::default());
    let data = large(1);
    let cid = cid_of(&data);
    world.server("B", Protocol::V120, &[&data]);
    world.server("C", Protocol::V120, &[]);
    let session = world.client.session();
    let start = Instant::now();
    let block = world.client.get(cid, &session).await.unwrap();
    assert_eq!(block.data(), &data);
    assert_eq!(*block.cid(), cid);
    assert_eq!(start.elapsed(), Duration::ZERO, "no timer was needed");
    // B said HAVE to the broadcast want-have and was sent the want-block; C said DONT_HAVE
    // and is told the want is over.
    assert_eq!(world.sent("B", &cid), ["have", "block"]);
    assert_eq!(world.sent("C", &cid), ["have", "cancel"]);
    assert_eq!(session.stats().peers, [("B", 1)]);
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn a_session_asks_the_peer_that_sent_its_last_block_first() {
    let world = World::new(ClientConfig::default());
    let (first, second, third) = (large(1), large(2), large(3));
    world.server("B", Protocol::V120, &[&first, &second, &third]);
    // C has the second block too, but the session knows B.
    world.server("C", Protocol::V120, &[&second, &third]);
    let session = world.client.session();
    world.client.get(cid_of(&first), &session).await.unwrap();
    assert_eq!(world.sent("C", &cid_of(&first)), ["have", "cancel"]);

    let block = world.client.get(cid_of(&second), &session).await.unwrap();
    assert_eq!(block.data(), &second);
    assert_eq!(
        world.sent("B", &cid_of(&second)),
        ["block"],
        "straight to B"
    );
    assert!(
        world.sent("C", &cid_of(&second)).is_empty(),
        "C was not asked"
    );
    assert_eq!(session.stats().peers, [("B", 2)]);

    // Another session knows nobody: it broadcasts.
    let other = world.client.session();
    world.client.get(cid_of(&third), &other).await.unwrap();
    assert_eq!(world.sent("C", &cid_of(&third)).first(), Some(&"have"));
    assert_eq!(world.sent("B", &cid_of(&third)).first(), Some(&"have"));
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_does_not_answer_is_timed_out_and_the_next_asked() {
    let world = World::new(one_by_one());
    let data = large(1);
    let cid = cid_of(&data);
    world.connect("S", Protocol::V120, Remote::Silent);
    world.server("B", Protocol::V120, &[&data]);
    let session = world.client.session();
    let start = Instant::now();
    let mut fetch = world.client.get(cid, &session);
    assert!(tokio::time::timeout(Duration::from_secs(1), &mut fetch)
        .await
        .is_err());
    let diagnosis = fetch.diagnosis().unwrap();
    assert_eq!(
        diagnosis.with_outcome(Outcome::Waiting).collect::<Vec<_>>(),
        [&"S"]
    );
    assert!(world.sent("B", &cid).is_empty(), "B waits its turn");

    let block = fetch.await.unwrap();
    assert_eq!(block.data(), &data);
    assert_eq!(start.elapsed(), ClientConfig::default().peer_timeout);
    assert_eq!(world.sent("S", &cid), ["have", "cancel"]);
    assert_eq!(world.sent("B", &cid), ["have", "block"]);
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn a_dont_have_moves_on_to_the_next_peer_at_once() {
    let world = World::new(one_by_one());
    let data = large(1);
    let cid = cid_of(&data);
    world.server("C", Protocol::V120, &[]);
    world.server("B", Protocol::V120, &[&data]);
    let session = world.client.session();
    let start = Instant::now();
    world.client.get(cid, &session).await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(world.sent("C", &cid), ["have", "cancel"]);
    assert_eq!(world.sent("B", &cid), ["have", "block"]);
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn a_block_nobody_has_times_out_with_what_was_tried() {
    let world = World::new(ClientConfig::default());
    let cid = cid_of(b"nobody has this");
    world.server("C", Protocol::V120, &[]);
    world.connect("S", Protocol::V120, Remote::Silent);
    let session = world.client.session();
    let err = world
        .client
        .get(cid, &session)
        .within(Duration::from_secs(10))
        .await
        .unwrap_err();
    let FetchError::TimedOut(diagnosis) = err else {
        panic!("expected a timeout, got {err:?}");
    };
    assert_eq!(diagnosis.cid, cid);
    assert_eq!(diagnosis.elapsed, Duration::from_secs(10));
    assert_eq!(diagnosis.asked(), 2);
    assert_eq!(diagnosis.connected, 2);
    assert_eq!(diagnosis.rounds, 1);
    assert_eq!(
        diagnosis
            .with_outcome(Outcome::DontHave)
            .collect::<Vec<_>>(),
        [&"C"]
    );
    assert_eq!(
        diagnosis
            .with_outcome(Outcome::NoAnswer)
            .collect::<Vec<_>>(),
        [&"S"]
    );
    assert_eq!(diagnosis.providers.runs, 0);
    let text = diagnosis.to_string();
    assert!(text.contains("asked 2 peer(s)"), "{text}");
    assert!(text.contains("1 said DONT_HAVE: C"), "{text}");
    assert!(text.contains("1 did not answer in time: S"), "{text}");
    assert!(text.contains("no provider lookup"), "{text}");
    // Giving up withdrew the want.
    assert_eq!(world.sent("C", &cid), ["have", "cancel"]);
    assert_eq!(world.sent("S", &cid), ["have", "cancel"]);
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn concurrent_gets_of_one_block_share_one_want() {
    let world = World::new(ClientConfig::default());
    let data = large(1);
    let cid = cid_of(&data);
    world.server("B", Protocol::V120, &[&data]);
    let (one, two) = (world.client.session(), world.client.session());
    let gets = [
        world.client.get(cid, &one),
        world.client.get(cid, &two),
        world.client.get(cid, &one),
    ];
    assert_eq!(world.client.pending_wants(), 1);
    for block in futures_util::future::join_all(gets).await {
        assert_eq!(block.unwrap().data(), &data);
    }
    assert_eq!(world.sent("B", &cid), ["have", "block"], "asked once");
    // Both sessions learnt where the block came from.
    assert_eq!(one.stats().peers, [("B", 1)]);
    assert_eq!(two.stats().peers, [("B", 1)]);
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn dropping_the_last_get_cancels_the_want() {
    let world = World::new(ClientConfig::default());
    let cid = cid_of(b"wanted for a while");
    world.connect("S", Protocol::V120, Remote::Silent);
    let session = world.client.session();
    let first = world.client.get(cid, &session);
    let second = world.client.get(cid, &world.client.session());
    assert_eq!(world.sent("S", &cid), ["have"]);
    drop(first);
    assert_eq!(world.client.held(), (1, 1), "another get still waits");
    assert_eq!(world.sent("S", &cid), ["have"]);
    // The caller's timeout drops the second.
    assert!(tokio::time::timeout(Duration::from_secs(3), second)
        .await
        .is_err());
    assert_eq!(world.sent("S", &cid), ["have", "cancel"]);
    world.assert_empty();
    // The timer task has nothing left to do: time may pass without anything sent.
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(world.net.sent.lock().unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn providers_are_looked_up_only_when_connected_peers_lack_the_block() {
    let data = large(1);
    let cid = cid_of(&data);

    // A connected peer has it: no lookup.
    let finder = Finder {
        providers: vec!["D"],
        ..Finder::default()
    };
    let world = World::with_finder(ClientConfig::default(), finder);
    world.server("B", Protocol::V120, &[&data]);
    world
        .client
        .get(cid, &world.client.session())
        .await
        .unwrap();
    settle().await;
    assert!(world.finder.calls.lock().unwrap().is_empty());
    world.assert_empty();

    // The only connected peer says DONT_HAVE: the lookup finds D, which is asked for the
    // block (the transport reaches it).
    let finder = Finder {
        providers: vec!["D"],
        ..Finder::default()
    };
    let world = World::with_finder(ClientConfig::default(), finder);
    world.server("C", Protocol::V120, &[]);
    world.remote_server("D", Protocol::V120, &[&data]);
    let session = world.client.session();
    let start = Instant::now();
    let block = world.client.get(cid, &session).await.unwrap();
    assert_eq!(block.data(), &data);
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "no delay once C said DONT_HAVE"
    );
    assert_eq!(*world.finder.calls.lock().unwrap(), [cid]);
    assert_eq!(world.sent("D", &cid), ["block"]);
    assert_eq!(world.sent("C", &cid), ["have", "cancel"]);
    assert_eq!(session.stats().peers, [("D", 1)]);
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn a_lookup_reported_in_the_diagnosis_and_stopped_with_the_want() {
    let finder = Finder {
        hang: true,
        ..Finder::default()
    };
    let world = World::with_finder(ClientConfig::default(), finder);
    let cid = cid_of(b"nowhere");
    let session = world.client.session();
    // Nobody connected: the lookup starts at once.
    let fetch = world.client.get(cid, &session);
    settle().await;
    assert_eq!(*world.finder.calls.lock().unwrap(), [cid]);
    let diagnosis = fetch.diagnosis().unwrap();
    assert_eq!(diagnosis.providers.runs, 1);
    assert!(diagnosis.providers.running);
    assert!(diagnosis
        .to_string()
        .contains("1 provider lookup(s) (one running) found 0"));
    drop(fetch);
    settle().await;
    assert!(
        world.finder.dropped.load(Ordering::SeqCst),
        "the lookup task was aborted"
    );
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn a_lookup_waits_for_connected_peers_only_so_long() {
    let finder = Finder {
        hang: true,
        ..Finder::default()
    };
    let world = World::with_finder(ClientConfig::default(), finder);
    let cid = cid_of(b"slow peers");
    world.connect("S", Protocol::V120, Remote::Silent);
    let mut fetch = world.client.get(cid, &world.client.session());
    settle().await;
    assert!(
        world.finder.calls.lock().unwrap().is_empty(),
        "S may answer"
    );
    let delay = ClientConfig::default().provider_search_delay;
    assert!(tokio::time::timeout(delay, &mut fetch).await.is_err());
    settle().await;
    assert_eq!(*world.finder.calls.lock().unwrap(), [cid]);
}

#[tokio::test(start_paused = true)]
async fn a_legacy_peer_gets_want_blocks_and_its_blocks_are_verified() {
    let world = World::new(ClientConfig::default());
    let data = large(1);
    let cid = cid_of(&data);
    world.server("L", Protocol::V100, &[&data]);
    let block = world
        .client
        .get(cid, &world.client.session())
        .await
        .unwrap();
    assert_eq!(block.data(), &data);
    assert_eq!(*block.cid(), cid);
    assert_eq!(world.sent("L", &cid), ["block-only"]);
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn a_legacy_block_matching_nothing_gets_its_sender_penalised() {
    let world = World::new(one_by_one());
    let (first, second) = (large(1), large(2));
    world.connect("G", Protocol::V100, Remote::Garbage);
    world.server("B", Protocol::V120, &[&first, &second]);
    let session = world.client.session();
    let start = Instant::now();
    let block = world.client.get(cid_of(&first), &session).await.unwrap();
    assert_eq!(block.data(), &first);
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "the bad block counted as an answer"
    );
    assert_eq!(world.sent("G", &cid_of(&first)), ["block-only", "cancel"]);
    let stats = session.stats();
    assert_eq!(stats.penalised, ["G"]);
    assert_eq!(stats.peers, [("B", 1)]);

    // The session no longer asks G, even in a broadcast.
    world.mute("B");
    let mut fetch = world.client.get(cid_of(&second), &session);
    assert!(tokio::time::timeout(Duration::from_secs(10), &mut fetch)
        .await
        .is_err());
    assert!(world.sent("G", &cid_of(&second)).is_empty());
    drop(fetch);

    // Another session does ask it (after B, which sent a block, and now times out), and its
    // diagnosis tells.
    let err = world
        .client
        .get(cid_of(b"absent"), &world.client.session())
        .within(Duration::from_secs(10))
        .await
        .unwrap_err();
    let FetchError::TimedOut(diagnosis) = err else {
        panic!("{err:?}");
    };
    assert_eq!(
        diagnosis
            .with_outcome(Outcome::BadBlock)
            .collect::<Vec<_>>(),
        [&"G"]
    );
    assert_eq!(
        diagnosis
            .with_outcome(Outcome::NoAnswer)
            .collect::<Vec<_>>(),
        [&"B"]
    );
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn pending_wants_are_asked_again_each_rebroadcast() {
    let world = World::new(ClientConfig::default());
    let data = large(1);
    let cid = cid_of(&data);
    let source = world.server("C", Protocol::V120, &[]);
    let start = Instant::now();
    let mut fetch = world.client.get(cid, &world.client.session());
    assert!(tokio::time::timeout(Duration::from_secs(10), &mut fetch)
        .await
        .is_err());
    assert_eq!(world.sent("C", &cid), ["have"]);
    // C gets the block meanwhile; it forgot the want when it said DONT_HAVE.
    source.add(&data);
    let block = fetch.await.unwrap();
    assert_eq!(block.data(), &data);
    assert_eq!(
        start.elapsed(),
        ClientConfig::default().rebroadcast_interval
    );
    assert_eq!(world.sent("C", &cid), ["have", "have", "block"]);
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn a_disconnected_peer_is_replaced_at_once() {
    let world = World::new(one_by_one());
    let data = large(1);
    let cid = cid_of(&data);
    world.connect("S", Protocol::V120, Remote::Silent);
    world.server("B", Protocol::V120, &[&data]);
    let start = Instant::now();
    let fetch = world.client.get(cid, &world.client.session());
    assert_eq!(world.sent("S", &cid), ["have"]);
    world.client.peer_disconnected(&"S");
    let diagnosis = fetch.diagnosis().unwrap();
    assert_eq!(
        diagnosis
            .with_outcome(Outcome::Disconnected)
            .collect::<Vec<_>>(),
        [&"S"]
    );
    assert_eq!(diagnosis.connected, 1);
    fetch.await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
    // S is gone: no cancel to dial it back for.
    assert_eq!(world.sent("S", &cid), ["have"]);
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn a_silent_session_peer_is_bypassed_after_the_broadcast_delay() {
    let world = World::new(ClientConfig::default());
    let (first, second) = (large(1), large(2));
    world.server("M", Protocol::V120, &[&first, &second]);
    world.server("B", Protocol::V120, &[&second]);
    let session = world.client.session();
    world.client.get(cid_of(&first), &session).await.unwrap();
    assert_eq!(session.stats().peers, [("M", 1)]);

    world.mute("M");
    let start = Instant::now();
    let block = world.client.get(cid_of(&second), &session).await.unwrap();
    assert_eq!(block.data(), &second);
    // M was sent the want-block on the session's guess; at the broadcast delay B was asked,
    // said HAVE and was sent a want-block without waiting for M's timeout.
    assert_eq!(start.elapsed(), ClientConfig::default().broadcast_delay);
    assert_eq!(world.sent("M", &cid_of(&second)), ["block", "cancel"]);
    assert_eq!(world.sent("B", &cid_of(&second)), ["have", "block"]);
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn one_want_block_at_a_time_among_peers_that_said_have() {
    // The test plays P and Q itself.
    let world = World::new(ClientConfig::default());
    let data = large(1);
    let cid = cid_of(&data);
    world.connect("P", Protocol::V120, Remote::Silent);
    world.connect("Q", Protocol::V120, Remote::Silent);
    let session = world.client.session();
    let fetch = world.client.get(cid, &session);
    let presence = |kind| Message {
        presences: vec![BlockPresence { cid, kind }],
        ..Message::default()
    };
    world.client.receive(&"P", &presence(PresenceType::Have));
    world.client.receive(&"Q", &presence(PresenceType::Have));
    assert_eq!(world.sent("P", &cid), ["have", "block"]);
    assert_eq!(world.sent("Q", &cid), ["have"], "Q waits while P is asked");
    world
        .client
        .receive(&"P", &presence(PresenceType::DontHave));
    assert_eq!(world.sent("Q", &cid), ["have", "block"]);
    let block = Block::new(cid, data.clone()).unwrap();
    world.client.receive(
        &"Q",
        &Message {
            blocks: vec![block],
            ..Message::default()
        },
    );
    assert_eq!(fetch.await.unwrap().data(), &data);
    assert_eq!(world.sent("P", &cid), ["have", "block", "cancel"]);
    assert_eq!(world.sent("Q", &cid), ["have", "block"]);
    // Both are worth asking next time; Q first.
    assert_eq!(session.stats().peers, [("Q", 1), ("P", 0)]);
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn a_block_under_another_cid_of_the_same_hash_meets_the_want() {
    let world = World::new(ClientConfig::default());
    world.connect("P", Protocol::V120, Remote::Silent);
    let data = Bytes::from_static(b"same bytes, other codec");
    let wanted = cid_of(&data);
    let other = Cid::new_v1(0x70, *wanted.hash());
    let fetch = world.client.get(wanted, &world.client.session());
    let unwanted = Block::new(cid_of(b"unwanted"), Bytes::from_static(b"unwanted")).unwrap();
    world.client.receive(
        &"P",
        &Message {
            blocks: vec![unwanted, Block::new(other, data.clone()).unwrap()],
            ..Message::default()
        },
    );
    let block = fetch.within(Duration::from_secs(1)).await.unwrap();
    assert_eq!(*block.cid(), wanted);
    assert_eq!(block.data(), &data);
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_pending_gets_and_cancels_their_wants() {
    let world = World::new(ClientConfig::default());
    let cid = cid_of(b"never");
    world.connect("S", Protocol::V120, Remote::Silent);
    let session = world.client.session();
    let fetch = world.client.get(cid, &session);
    world.client.shutdown();
    assert!(matches!(fetch.await, Err(FetchError::Closed)));
    assert_eq!(world.sent("S", &cid), ["have", "cancel"]);
    assert!(matches!(
        world.client.get(cid, &session).await,
        Err(FetchError::Closed)
    ));
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn identity_cids_need_no_peer() {
    let world = World::new(ClientConfig::default());
    world.connect("S", Protocol::V120, Remote::Silent);
    let cid = Cid::new_v1(0x55, Multihash::wrap(0x00, b"inline").unwrap());
    let block = world
        .client
        .get(cid, &world.client.session())
        .await
        .unwrap();
    assert_eq!(&block.data()[..], b"inline");
    assert!(world.net.sent.lock().unwrap().is_empty());
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn a_peer_connecting_later_is_asked_for_wants_nobody_had() {
    let world = World::new(ClientConfig::default());
    let data = large(1);
    let cid = cid_of(&data);
    world.server("C", Protocol::V120, &[]);
    let fetch = world.client.get(cid, &world.client.session());
    settle().await;
    assert_eq!(world.sent("C", &cid), ["have"]);
    world.server("B", Protocol::V120, &[&data]);
    let start = Instant::now();
    fetch.await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
    world.assert_empty();
}

/// A message carrying `data` as a 1.0.0 peer sends it.
fn legacy_block(data: &Bytes) -> Message {
    over_the_wire(
        &Message {
            legacy_blocks: vec![data.clone()],
            ..Message::default()
        },
        Protocol::V100,
    )
}

/// A message carrying the block of `data`.
fn payload_block(data: &Bytes) -> Message {
    Message {
        blocks: vec![Block::new(cid_of(data), data.clone()).unwrap()],
        ..Message::default()
    }
}

#[tokio::test(start_paused = true)]
async fn a_late_duplicate_legacy_block_is_not_taken_for_garbage() {
    // The test plays two 1.0.0 peers that both have X.
    let world = World::new(ClientConfig::default());
    let (x, y) = (large(1), large(2));
    world.connect("L1", Protocol::V100, Remote::Silent);
    world.connect("L2", Protocol::V100, Remote::Silent);
    let session = world.client.session();
    let fetch_x = world.client.get(cid_of(&x), &session);
    let fetch_y = world.client.get(cid_of(&y), &session);
    assert_eq!(world.sent("L2", &cid_of(&y)), ["block-only"]);
    world.client.receive(&"L1", &legacy_block(&x));
    assert_eq!(fetch_x.await.unwrap().data(), &x);
    // L2 answered before our cancel reached it: not a bad peer, still asked for Y.
    world.client.receive(&"L2", &legacy_block(&x));
    assert!(session.stats().penalised.is_empty());
    let diagnosis = fetch_y.diagnosis().unwrap();
    assert_eq!(diagnosis.with_outcome(Outcome::BadBlock).count(), 0);
    world
        .client
        .receive(&"L2", &legacy_block(&Bytes::from_static(b"garbage")));
    assert_eq!(session.stats().penalised, ["L2"]);
    drop(fetch_y);
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn a_session_sends_its_best_peer_the_want_block_and_the_next_want_haves() {
    // The test plays P, Q and R.
    let world = World::new(ClientConfig::default());
    for peer in ["P", "Q", "R"] {
        world.connect(peer, Protocol::V120, Remote::Silent);
    }
    let session = world.client.session();
    for (n, from) in [(1, "P"), (2, "P"), (3, "Q")] {
        let data = large(n);
        let fetch = world.client.get(cid_of(&data), &session);
        world.client.receive(&from, &payload_block(&data));
        fetch.await.unwrap();
    }
    assert_eq!(session.stats().peers, [("P", 2), ("Q", 1)]);
    let cid = cid_of(&large(4));
    let mut fetch = world.client.get(cid, &session);
    assert_eq!(world.sent("P", &cid), ["block"]);
    assert_eq!(world.sent("Q", &cid), ["have"]);
    assert!(
        world.sent("R", &cid).is_empty(),
        "R waits for the broadcast"
    );
    assert!(
        tokio::time::timeout(ClientConfig::default().broadcast_delay, &mut fetch)
            .await
            .is_err()
    );
    settle().await;
    assert_eq!(world.sent("R", &cid), ["have"]);
    drop(fetch);
}

#[tokio::test(start_paused = true)]
async fn broadcasts_are_bounded_and_widen_over_time() {
    let world = World::new(ClientConfig::default());
    let names = ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"];
    for peer in names {
        world.connect(peer, Protocol::V120, Remote::Silent);
    }
    let cid = cid_of(b"far away");
    let asked = |world: &World| {
        names
            .iter()
            .filter(|p| !world.sent(p, &cid).is_empty())
            .count()
    };
    let mut fetch = world.client.get(cid, &world.client.session());
    let config = ClientConfig::default();
    assert_eq!(asked(&world), config.broadcast_fanout);
    assert!(tokio::time::timeout(config.broadcast_delay, &mut fetch)
        .await
        .is_err());
    settle().await;
    assert_eq!(asked(&world), names.len());
    // Each asked once.
    assert!(names.iter().all(|p| world.sent(p, &cid) == ["have"]));
    drop(fetch);
    world.assert_empty();
}

#[tokio::test(start_paused = true)]
async fn earlier_wants_have_higher_priority() {
    let world = World::new(ClientConfig::default());
    world.connect("S", Protocol::V120, Remote::Silent);
    let session = world.client.session();
    let (a, b) = (cid_of(b"a"), cid_of(b"b"));
    let _first = world.client.get(a, &session);
    let _second = world.client.get(b, &session);
    let sent = world.net.sent.lock().unwrap();
    let priority = |cid| {
        sent.iter()
            .flat_map(|(_, m)| m.wantlist.iter().flat_map(|w| w.entries.iter()))
            .find(|e| e.cid == cid)
            .map(|e| e.priority)
            .unwrap()
    };
    assert!(priority(a) > priority(b));
    assert!(priority(b) > 0);
}

/// Sends nowhere.
struct Nowhere;

impl Outbox<Peer> for Nowhere {
    fn send(&self, _: &Peer, _: Message) {}
}

#[tokio::test(start_paused = true)]
async fn the_timer_task_ends_with_the_client() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let client = Client::new(Arc::new(Nowhere), None, ClientConfig::default());
    client.peer_connected("S", Protocol::V120);
    let fetch = client.get(cid_of(b"x"), &client.session());
    settle().await;
    assert_eq!(metrics.num_alive_tasks(), before + 1);
    drop(fetch);
    // The task parks with nothing to do…
    settle().await;
    assert_eq!(metrics.num_alive_tasks(), before + 1);
    // …and leaves when the client goes.
    drop(client);
    settle().await;
    assert_eq!(metrics.num_alive_tasks(), before);
}

/// A dag-pb node linking to `children` (padded past the HAVE-as-block limit), and its CID.
fn parent_of(children: &[&Bytes], pad: u8) -> (Bytes, Cid) {
    use crate::ipld::dagpb::{PbLink, PbNode};
    let node = PbNode {
        links: children
            .iter()
            .map(|c| PbLink::new(cid_of(c), None, Some(c.len() as u64)).unwrap())
            .collect(),
        data: Some(Bytes::from(vec![pad; 2000])),
    };
    let data = Bytes::from(node.to_bytes());
    let cid = Cid::new_v1(0x70, Code::Sha2_256.digest(&data));
    (data, cid)
}

#[tokio::test(start_paused = true)]
async fn each_dag_gets_a_session_that_asks_the_peers_of_its_earlier_blocks() {
    let world = World::new(ClientConfig::default());
    let (one_a, one_b) = (large(11), large(12));
    let (two_a, two_b) = (large(21), large(22));
    let (root_one_data, root_one) = parent_of(&[&one_a, &one_b], 1);
    let (root_two_data, root_two) = parent_of(&[&two_a, &two_b], 2);
    world.server("B", Protocol::V120, &[&root_one_data, &one_a, &one_b]);
    // C has DAG two, and one block of DAG one as well.
    world.server(
        "C",
        Protocol::V120,
        &[&root_two_data, &two_a, &two_b, &one_b],
    );
    let sessions = DagSessions::new(world.client.clone(), 16);
    let fetch = |cid: Cid| {
        let sessions = &sessions;
        async move {
            let (fetch, session) = sessions.get(cid);
            let block = fetch.await.unwrap();
            sessions.fetched(&cid, block.data(), &session);
            block
        }
    };
    fetch(root_two).await;
    fetch(cid_of(&two_a)).await;
    assert_eq!(
        world.sent("C", &cid_of(&two_a)),
        ["block"],
        "DAG two asks C"
    );
    assert_eq!(sessions.expected(), 1, "two_b is still expected");

    // A new root: a session of its own, which learns B, and asks B alone for the rest.
    fetch(root_one).await;
    assert_eq!(world.sent("C", &root_one).first(), Some(&"have"));
    let block = fetch(cid_of(&one_b)).await;
    assert_eq!(block.data(), &one_b);
    assert_eq!(world.sent("B", &cid_of(&one_b)), ["block"]);
    assert!(
        world.sent("C", &cid_of(&one_b)).is_empty(),
        "C sent DAG two, not DAG one: it is not asked"
    );
}

#[tokio::test(start_paused = true)]
async fn blocks_nobody_asked_for_are_counted_and_dropped() {
    let world = World::new(ClientConfig::default());
    world.connect("P", Protocol::V120, Remote::Silent);
    world.connect("Q", Protocol::V120, Remote::Silent);
    let blocks = |data: &[&'static [u8]]| Message {
        blocks: data
            .iter()
            .map(|d| Block::new(cid_of(d), Bytes::from_static(d)).unwrap())
            .collect(),
        ..Message::default()
    };

    // Never wanted: counted, and not kept for a later get (the client stores nothing).
    assert_eq!(
        world
            .client
            .receive(&"P", &blocks(&[b"never", b"asked"]))
            .blocks,
        2
    );
    let later = world.client.get(cid_of(b"never"), &world.client.session());
    assert!(
        later.within(Duration::from_secs(1)).await.is_err(),
        "an unsolicited block answered a later get"
    );

    // Wanted: not counted; the same block again from a slower peer, after the want was met,
    // is a late duplicate and not counted either; nor a block for a want withdrawn since.
    let fetch = world.client.get(cid_of(b"wanted"), &world.client.session());
    assert_eq!(
        world.client.receive(&"P", &blocks(&[b"wanted"])),
        Unsolicited::default()
    );
    fetch.await.unwrap();
    assert_eq!(
        world.client.receive(&"Q", &blocks(&[b"wanted"])),
        Unsolicited::default()
    );
    drop(
        world
            .client
            .get(cid_of(b"withdrawn"), &world.client.session()),
    );
    assert_eq!(
        world.client.receive(&"Q", &blocks(&[b"withdrawn"])).blocks,
        0
    );

    // HAVEs and DONT_HAVEs about nothing wanted count one each.
    let presences = Message {
        presences: vec![
            BlockPresence {
                cid: cid_of(b"never"),
                kind: PresenceType::Have,
            },
            BlockPresence {
                cid: cid_of(b"asked"),
                kind: PresenceType::DontHave,
            },
        ],
        ..Message::default()
    };
    assert_eq!(world.client.receive(&"P", &presences).presences, 2);

    // A 1.0.0 message whose blocks match nothing counts once.
    let legacy = Message {
        legacy_blocks: vec![
            Bytes::from_static(b"junk"),
            Bytes::from_static(b"more junk"),
        ],
        ..Message::default()
    };
    assert_eq!(world.client.receive(&"P", &legacy).blocks, 1);
    world.assert_empty();
}
