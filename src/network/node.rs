//! The libp2p node: a swarm over TCP and QUIC-v1 (Noise and Yamux on TCP), with Identify
//! (`/ipfs/id/1.0.0`, agent `cairn/<version>`), Ping, Kademlia, connection limits (counts
//! and memory), peering, Bitswap's streams ([`super::bitswap::transport`]) and gossipsub
//! ([`super::pubsub`]).
//! The swarm runs in a task of its own; the rest of the program holds a cloneable
//! [`NetworkHandle`] that talks to it over a channel.
//!
//! Like Kubo, the node runs two DHTs: the public one (WAN, `/ipfs/kad/1.0.0`, client or
//! server per [`DhtMode`]) and the LAN one (`/ipfs/lan/kad/1.0.0`), whose routing table
//! holds only peers met on private or loopback addresses, and which serves unless
//! `--dht client`. Kubo puts a peer whose addresses are all private into its LAN table only,
//! so this is how Kubo on the same network (or loopback) finds cairn's provider records.
//! Provider lookups and announcements go to both.
//!
//! The node dials out only when asked: `--bootstrap` peers (then the DHT finds more),
//! `--peer` peers (kept connected), [`NetworkHandle::dial`], and providers found by
//! [`NetworkHandle::get_providers`]. With none of these it only listens; a peer that
//! connects to it and speaks a DHT protocol enters a routing table, and DHT upkeep
//! (bootstrap queries after a table change) may then dial that peer back, as Kubo's does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use libp2p::identity::Keypair;
use libp2p::kad::store::{MemoryStore, RecordStore};
use libp2p::kad::{self, GetProvidersOk, QueryId, QueryResult, RecordKey};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, NetworkBehaviour, SwarmEvent};
use libp2p::{
    connection_limits, identify, memory_connection_limits, noise, ping, tcp, yamux, Multiaddr,
    PeerId, StreamProtocol, Swarm,
};
use tokio::sync::{mpsc, oneshot};

use super::bitswap::transport;
use super::config::{leading_ip, peer_of, DhtMode, NetworkConfig};
use super::inbound_rate;
use super::peering;
use super::pubsub;
use super::records;

/// The Amino DHT's protocol (Kubo's `/ipfs/kad/1.0.0`; libp2p Kademlia spec,
/// github.com/libp2p/specs/blob/master/kad-dht/README.md).
pub const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/ipfs/kad/1.0.0");
/// The LAN DHT's protocol (Kubo's dual DHT).
pub const LAN_KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/ipfs/lan/kad/1.0.0");
/// The Identify `protocolVersion` Kubo sends (the stream protocol is `/ipfs/id/1.0.0`).
const IDENTIFY_PROTOCOL_VERSION: &str = "ipfs/0.1.0";
/// How long listeners have to report an address before start gives up.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);
/// A DHT query's time budget.
const KAD_QUERY_TIMEOUT: Duration = Duration::from_secs(60);
/// Listen addresses taken from one peer's Identify message into the routing table.
const MAX_ADDRS_PER_PEER: usize = 16;
/// Commands waiting for the swarm task.
const COMMAND_QUEUE: usize = 64;

/// The agent version cairn announces over Identify.
pub fn agent_version() -> String {
    format!("cairn/{}", env!("CARGO_PKG_VERSION"))
}

/// What went wrong in the network.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NetworkError {
    /// The swarm could not be built (transport setup).
    #[error("cannot start the libp2p node: {0}")]
    Setup(String),
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: Multiaddr, reason: String },
    /// A dial failed.
    #[error("cannot connect to {addr}: {reason}")]
    Dial { addr: String, reason: String },
    /// A DHT operation failed.
    #[error("DHT: {0}")]
    Dht(String),
    /// The node has stopped.
    #[error("the libp2p node has stopped")]
    Stopped,
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    // Limits first: a refused connection is refused before other behaviours see it, and
    // the rate first of all, so that a refused source does not count as pending.
    inbound_rate: inbound_rate::Behaviour,
    limits: connection_limits::Behaviour,
    memory: memory_connection_limits::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    kad: kad::Behaviour<MemoryStore>,
    lan_kad: kad::Behaviour<MemoryStore>,
    peering: peering::Behaviour,
    bitswap: transport::Behaviour,
    gossipsub: pubsub::Behaviour,
}

enum Command {
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    ConnectedPeers(oneshot::Sender<Vec<PeerId>>),
    Connections(oneshot::Sender<Vec<(PeerId, Multiaddr)>>),
    Dial(Multiaddr, oneshot::Sender<Result<PeerId, NetworkError>>),
    Disconnect(PeerId),
    DialPeer(
        PeerId,
        Vec<Multiaddr>,
        oneshot::Sender<Result<PeerId, NetworkError>>,
    ),
    GetProviders {
        key: RecordKey,
        limit: usize,
        reply: oneshot::Sender<Result<Vec<PeerId>, NetworkError>>,
    },
    StartProviding {
        key: RecordKey,
        reply: oneshot::Sender<Result<(), NetworkError>>,
    },
    Publish {
        topic: String,
        data: bytes::Bytes,
        reply: oneshot::Sender<Result<u64, pubsub::PublishError>>,
    },
    PutRecord {
        record: kad::Record,
        reply: oneshot::Sender<Result<(), NetworkError>>,
    },
    GetRecords {
        key: RecordKey,
        limit: usize,
        reply: oneshot::Sender<Vec<FoundRecord>>,
    },
    Shutdown(oneshot::Sender<()>),
}

/// The rest of the program's way to the node. Cheap to clone; the node stops when the last
/// clone is dropped or [`NetworkHandle::shutdown`] is called.
#[derive(Clone)]
pub struct NetworkHandle {
    peer_id: PeerId,
    commands: mpsc::Sender<Command>,
    bitswap: transport::Opener,
    /// Taken by the one Bitswap task that serves the node.
    bitswap_events: Arc<Mutex<Option<mpsc::UnboundedReceiver<transport::Event>>>>,
    pubsub: Arc<pubsub::Shared>,
}

impl std::fmt::Debug for NetworkHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkHandle")
            .field("peer_id", &self.peer_id)
            .finish_non_exhaustive()
    }
}

impl NetworkHandle {
    /// The node's peer ID.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Where the node listens now (without `/p2p/`; with `0.0.0.0`, one per interface).
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, NetworkError> {
        self.ask(Command::ListenAddrs).await
    }

    /// Peers with at least one established connection.
    pub async fn connected_peers(&self) -> Result<Vec<PeerId>, NetworkError> {
        self.ask(Command::ConnectedPeers).await
    }

    /// Every established connection: the peer and its remote address.
    pub async fn connections(&self) -> Result<Vec<(PeerId, Multiaddr)>, NetworkError> {
        self.ask(Command::Connections).await
    }

    /// Connects to `addr` (with or without `/p2p/<id>`) and returns the peer there; at once
    /// if that peer is already connected.
    pub async fn dial(&self, addr: Multiaddr) -> Result<PeerId, NetworkError> {
        self.ask(|reply| Command::Dial(addr, reply)).await?
    }

    /// Closes every connection to `peer` (one that broke a protocol's rules). It may dial
    /// again, and is answered again, as any peer would be.
    pub async fn disconnect(&self, peer: PeerId) -> Result<(), NetworkError> {
        self.commands
            .send(Command::Disconnect(peer))
            .await
            .map_err(|_| NetworkError::Stopped)
    }

    /// Connects to `peer` at any of `addrs` (a delegated router's answer); at once if it is
    /// connected already.
    pub async fn dial_peer(&self, peer: PeerId, addrs: Vec<Multiaddr>) -> Result<(), NetworkError> {
        self.ask(|reply| Command::DialPeer(peer, addrs, reply))
            .await?
            .map(|_| ())
    }

    /// Opens Bitswap streams to connected peers.
    pub fn bitswap_opener(&self) -> transport::Opener {
        self.bitswap.clone()
    }

    /// The node's Bitswap events (peers coming and going, their inbound streams): `Some` once,
    /// for the task that runs Bitswap on this node.
    pub fn take_bitswap_events(&self) -> Option<mpsc::UnboundedReceiver<transport::Event>> {
        self.bitswap_events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Asks the DHT who provides `cid` (its multihash is the key, as in Kubo) and returns up
    /// to `limit` providers, other than this node, once `limit` are found or the query ends.
    /// The node starts connecting to each provider as it is found: the DHT gives their
    /// addresses only for the query's lifetime.
    pub async fn get_providers(
        &self,
        cid: &cid::Cid,
        limit: usize,
    ) -> Result<Vec<PeerId>, NetworkError> {
        let key = RecordKey::new(&cid.hash().to_bytes());
        self.ask(|reply| Command::GetProviders {
            key,
            limit: limit.max(1),
            reply,
        })
        .await?
    }

    /// Records this node as a provider of `cid` and announces it to the DHT peers closest to
    /// it; returns when the announcement ends. The record is kept and re-announced every 12
    /// hours by the DHT itself.
    pub async fn start_providing(&self, cid: &cid::Cid) -> Result<(), NetworkError> {
        let key = RecordKey::new(&cid.hash().to_bytes());
        self.ask(|reply| Command::StartProviding { key, reply })
            .await?
    }

    /// Subscribes the node to `topic` on the network (gossipsub), so that peers send it the
    /// topic's messages ([`NetworkHandle::take_pubsub_messages`]). Returns at once; the swarm
    /// task applies it moments later. Subscribing twice is subscribing once.
    pub fn pubsub_subscribe(&self, topic: &str) {
        self.pubsub.want(topic, true);
    }

    /// Ends the node's subscription to `topic` (at once, like [`Self::pubsub_subscribe`]).
    pub fn pubsub_unsubscribe(&self, topic: &str) {
        self.pubsub.want(topic, false);
    }

    /// Whether the node is subscribed to `topic` on the network now (false for a topic
    /// longer than [`pubsub::PubsubLimits::max_topic_len`], which stays local).
    pub fn pubsub_is_subscribed(&self, topic: &str) -> bool {
        self.pubsub.is_subscribed(topic)
    }

    /// Signs `data` with the node's key and publishes it to `topic`; returns its seqno. With
    /// no peer subscribed to the topic, the message reaches nobody (not an error).
    pub async fn pubsub_publish(
        &self,
        topic: &str,
        data: bytes::Bytes,
    ) -> Result<u64, pubsub::PublishError> {
        let topic = topic.to_owned();
        self.ask(|reply| Command::Publish { topic, data, reply })
            .await
            .map_err(|_| pubsub::PublishError::Stopped)?
    }

    /// The messages peers publish to the topics the node is subscribed to: `Some` once, for
    /// the task that hands them on.
    pub fn take_pubsub_messages(&self) -> Option<pubsub::Messages> {
        self.pubsub.take_messages()
    }

    /// Puts a value record under `key` into both DHTs (locally, and at the peers closest to
    /// the key), to be kept for at most `keep`; returns once the puts end, successfully if
    /// one peer took it. Only what [`records::admit`] accepts is worth putting: peers
    /// validate as this node does.
    pub async fn put_record(
        &self,
        key: Vec<u8>,
        value: Vec<u8>,
        keep: Duration,
    ) -> Result<(), NetworkError> {
        let mut record = kad::Record::new(RecordKey::new(&key), value);
        record.expires = Some(std::time::Instant::now() + keep);
        self.ask(|reply| Command::PutRecord { record, reply })
            .await?
    }

    /// Asks both DHTs for the value records under `key` and returns up to `limit` of them,
    /// once `limit` are found or the queries end. Nothing is validated here: records come
    /// from anyone.
    pub async fn get_records(
        &self,
        key: Vec<u8>,
        limit: usize,
    ) -> Result<Vec<FoundRecord>, NetworkError> {
        let key = RecordKey::new(&key);
        self.ask(|reply| Command::GetRecords {
            key,
            limit: limit.max(1),
            reply,
        })
        .await
    }

    /// Stops the node (closing its connections) and waits until it has.
    pub async fn shutdown(&self) {
        let _ = self.ask(Command::Shutdown).await;
    }

    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NetworkError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| NetworkError::Stopped)?;
        answer.await.map_err(|_| NetworkError::Stopped)
    }
}

/// Starts the node under `keypair`: binds every listen address (an error if one cannot be
/// bound or reports no address within 10 s), dials the bootstrap peers and the peered ones,
/// and returns the handle once it listens.
pub async fn start(keypair: Keypair, config: NetworkConfig) -> Result<NetworkHandle, NetworkError> {
    let peer_id = keypair.public().to_peer_id();
    let (bitswap, bitswap_opener, bitswap_events) = transport::Behaviour::new();
    let (gossipsub, gossip) =
        pubsub::behaviour(&keypair, &config.pubsub).map_err(NetworkError::Setup)?;
    let pubsub = Arc::clone(&gossip.shared);
    let mut swarm = build_swarm(keypair, &config, bitswap, gossipsub)?;

    let mut waiting = HashMap::new();
    for addr in &config.listen {
        probe_tcp_port(addr)?;
        let id = swarm
            .listen_on(addr.clone())
            .map_err(|e| NetworkError::Listen {
                addr: addr.clone(),
                reason: transport_error_text(&e),
            })?;
        waiting.insert(id, addr.clone());
    }
    let mut node = Node {
        swarm,
        dht: config.dht,
        listen_addrs: Vec::new(),
        remotes: HashMap::new(),
        dials: HashMap::new(),
        requests: 0,
        owners: HashMap::new(),
        find_providers: HashMap::new(),
        find_records: HashMap::new(),
        provides: HashMap::new(),
        gossip,
    };
    let deadline = tokio::time::sleep(LISTEN_TIMEOUT);
    tokio::pin!(deadline);
    while !waiting.is_empty() {
        let event = tokio::select! {
            _ = &mut deadline => {
                let addr = waiting.into_values().next().expect("a listener is waiting");
                return Err(NetworkError::Listen { addr, reason: "no address within 10 s".into() });
            }
            event = node.swarm.select_next_some() => event,
        };
        match &event {
            SwarmEvent::NewListenAddr { listener_id, .. } => {
                waiting.remove(listener_id);
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                if let Some(addr) = waiting.remove(listener_id) {
                    let reason = match reason {
                        Ok(()) => "the listener closed".to_owned(),
                        Err(e) => e.to_string(),
                    };
                    return Err(NetworkError::Listen { addr, reason });
                }
            }
            SwarmEvent::ListenerError { listener_id, error } => {
                if let Some(addr) = waiting.remove(listener_id) {
                    return Err(NetworkError::Listen {
                        addr,
                        reason: error.to_string(),
                    });
                }
            }
            _ => {}
        }
        node.on_swarm_event(event);
    }

    // Bootstrap: seed the routing table and let a bootstrap query dial and walk the DHT.
    if !config.bootstrap.is_empty() {
        let kad = &mut node.swarm.behaviour_mut().kad;
        for addr in &config.bootstrap {
            if let Some(peer) = peer_of(addr) {
                kad.add_address(&peer, without_p2p(addr));
            }
        }
        if let Err(e) = kad.bootstrap() {
            tracing::warn!("DHT bootstrap: {e}");
        }
    }

    let (commands, inbox) = mpsc::channel(COMMAND_QUEUE);
    tokio::spawn(node.run(inbox));
    Ok(NetworkHandle {
        peer_id,
        commands,
        bitswap: bitswap_opener,
        bitswap_events: Arc::new(Mutex::new(Some(bitswap_events))),
        pubsub,
    })
}

fn build_swarm(
    keypair: Keypair,
    config: &NetworkConfig,
    bitswap: transport::Behaviour,
    gossipsub: pubsub::Behaviour,
) -> Result<Swarm<Behaviour>, NetworkError> {
    let setup = |e: &dyn std::fmt::Display| NetworkError::Setup(e.to_string());
    let limits = &config.limits;
    // /dns and /dnsaddr addresses (the public bootstrap list) resolve with the system's
    // resolver; without a configuration, such addresses just fail to resolve.
    let (dns_config, dns_options) = hickory_resolver::system_conf::read_system_conf()
        .unwrap_or_else(|e| {
            tracing::warn!("no system DNS configuration ({e}); /dns addresses will not resolve");
            (
                hickory_resolver::config::ResolverConfig::from_name_servers(Vec::new()),
                Default::default(),
            )
        });
    let peered: Vec<(PeerId, Multiaddr)> = config
        .peers
        .iter()
        .filter_map(|addr| Some((peer_of(addr)?, without_p2p(addr))))
        .collect();
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| setup(&e))?
        .with_quic()
        .with_dns_config(dns_config, dns_options)
        .with_behaviour(|key| {
            let local = key.public().to_peer_id();
            let kad = dht(
                local,
                KAD_PROTOCOL,
                !config.bootstrap.is_empty(),
                match config.dht {
                    DhtMode::Auto => None,
                    DhtMode::Server => Some(kad::Mode::Server),
                    DhtMode::Client => Some(kad::Mode::Client),
                },
            );
            let lan_kad = dht(
                local,
                LAN_KAD_PROTOCOL,
                false,
                Some(match config.dht {
                    DhtMode::Client => kad::Mode::Client,
                    DhtMode::Auto | DhtMode::Server => kad::Mode::Server,
                }),
            );
            Behaviour {
                inbound_rate: inbound_rate::Behaviour(inbound_rate::Limiter::new(
                    limits.inbound_rates.clone(),
                )),
                limits: connection_limits::Behaviour::new(
                    connection_limits::ConnectionLimits::default()
                        .with_max_established(Some(limits.max_established))
                        .with_max_established_per_peer(Some(limits.max_established_per_peer))
                        .with_max_pending_incoming(Some(limits.max_pending_incoming))
                        .with_max_pending_outgoing(Some(limits.max_pending_outgoing)),
                ),
                memory: memory_connection_limits::Behaviour::with_max_percentage(
                    limits.max_memory_fraction,
                ),
                identify: identify::Behaviour::new(
                    identify::Config::new(IDENTIFY_PROTOCOL_VERSION.to_owned(), key.public())
                        .with_agent_version(agent_version())
                        .with_push_listen_addr_updates(true),
                ),
                ping: ping::Behaviour::default(),
                kad,
                lan_kad,
                peering: peering::Behaviour::new(peered),
                bitswap,
                gossipsub,
            }
        })
        .map_err(|e| setup(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(config.idle_connection_timeout))
        .build();
    Ok(swarm)
}

/// One Kademlia behaviour: `protocol`, a memory store, the given mode (None: automatic).
fn dht(
    local: PeerId,
    protocol: StreamProtocol,
    periodic_bootstrap: bool,
    mode: Option<kad::Mode>,
) -> kad::Behaviour<MemoryStore> {
    let mut config = kad::Config::new(protocol);
    config.set_query_timeout(KAD_QUERY_TIMEOUT);
    // Records and provider announcements from peers come to `Node` as events, so that only
    // provider records (which kad checks came from the provider itself) and value records
    // that `records::admit` accepts (valid IPNS records) are stored and served.
    config.set_record_filtering(kad::StoreInserts::FilterBoth);
    // Records are re-put by their publishers (cairn's own by the name service's
    // republisher), as in Kubo's DHT, which neither republishes nor replicates others'.
    config.set_publication_interval(None);
    config.set_replication_interval(None);
    if !periodic_bootstrap {
        // Nothing to walk from: no periodic bootstrap (it would only log failures).
        config.set_periodic_bootstrap_interval(None);
    }
    let store = MemoryStore::with_config(
        local,
        kad::store::MemoryStoreConfig {
            // IPNS records are at most 10 KiB (IPNS spec); nothing larger is kept.
            max_value_bytes: 10 * 1024,
            ..Default::default()
        },
    );
    let mut kad = kad::Behaviour::with_config(local, store, config);
    kad.set_mode(mode);
    kad
}

/// Which of the two DHTs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Dht {
    Wan,
    Lan,
}

/// A request answered from queries on both DHTs.
struct Pending<T> {
    /// The DHT queries still running for it.
    running: Vec<(Dht, QueryId)>,
    state: T,
}

struct FindProviders {
    found: Vec<PeerId>,
    limit: usize,
    reply: oneshot::Sender<Result<Vec<PeerId>, NetworkError>>,
}

/// A value record a DHT query found.
#[derive(Debug, Clone)]
pub struct FoundRecord {
    /// The peer that sent it; None for this node's own store.
    pub peer: Option<PeerId>,
    pub value: Vec<u8>,
}

struct FindRecords {
    found: Vec<FoundRecord>,
    limit: usize,
    reply: oneshot::Sender<Vec<FoundRecord>>,
}

/// A provider announcement or a record put, on both DHTs.
struct Provide {
    succeeded: bool,
    error: Option<String>,
    reply: oneshot::Sender<Result<(), NetworkError>>,
}

/// The swarm and the requests waiting on it; owned by the swarm task.
struct Node {
    swarm: Swarm<Behaviour>,
    dht: DhtMode,
    listen_addrs: Vec<Multiaddr>,
    /// The peer and remote address of each connection, to judge the addresses a peer
    /// announces (and to list connections).
    remotes: HashMap<ConnectionId, (PeerId, Multiaddr)>,
    dials: HashMap<ConnectionId, (String, oneshot::Sender<Result<PeerId, NetworkError>>)>,
    /// Requests by number, and the request each DHT query serves.
    requests: u64,
    owners: HashMap<(Dht, QueryId), u64>,
    find_providers: HashMap<u64, Pending<FindProviders>>,
    find_records: HashMap<u64, Pending<FindRecords>>,
    provides: HashMap<u64, Pending<Provide>>,
    gossip: pubsub::Gossip,
}

impl Node {
    async fn run(mut self, mut inbox: mpsc::Receiver<Command>) {
        let pubsub = Arc::clone(&self.gossip.shared);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                () = pubsub.changed.notified() => {
                    self.gossip.apply_changes(&mut self.swarm.behaviour_mut().gossipsub);
                }
                command = inbox.recv() => match command {
                    Some(command) => {
                        if let Some(done) = self.on_command(command) {
                            drop(self);
                            let _ = done.send(());
                            return;
                        }
                    }
                    None => return,
                },
            }
        }
    }

    /// Carries out a command; returns the reply channel of a shutdown.
    fn on_command(&mut self, command: Command) -> Option<oneshot::Sender<()>> {
        match command {
            Command::ListenAddrs(reply) => {
                let _ = reply.send(self.listen_addrs.clone());
            }
            Command::ConnectedPeers(reply) => {
                let _ = reply.send(self.swarm.connected_peers().copied().collect());
            }
            Command::Connections(reply) => {
                let _ = reply.send(self.remotes.values().cloned().collect());
            }
            Command::Dial(addr, reply) => self.dial(addr, reply),
            Command::Disconnect(peer) => {
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Command::DialPeer(peer, addrs, reply) => {
                if self.swarm.is_connected(&peer) {
                    let _ = reply.send(Ok(peer));
                } else {
                    let opts = DialOpts::peer_id(peer)
                        .addresses(addrs.iter().map(without_p2p).collect())
                        .condition(PeerCondition::Disconnected)
                        .build();
                    self.start_dial(opts, peer.to_string(), reply);
                }
            }
            Command::GetProviders { key, limit, reply } => {
                let request = self.next_request();
                let behaviour = self.swarm.behaviour_mut();
                let running = vec![
                    (Dht::Wan, behaviour.kad.get_providers(key.clone())),
                    (Dht::Lan, behaviour.lan_kad.get_providers(key)),
                ];
                for query in &running {
                    self.owners.insert(*query, request);
                }
                let state = FindProviders {
                    found: Vec::new(),
                    limit,
                    reply,
                };
                self.find_providers
                    .insert(request, Pending { running, state });
            }
            Command::StartProviding { key, reply } => self.on_both_dhts(reply, |kad| {
                kad.start_providing(key.clone()).map_err(|e| e.to_string())
            }),
            Command::PutRecord { record, reply } => self.on_both_dhts(reply, |kad| {
                kad.put_record(record.clone(), kad::Quorum::One)
                    .map_err(|e| e.to_string())
            }),
            Command::GetRecords { key, limit, reply } => {
                let request = self.next_request();
                let behaviour = self.swarm.behaviour_mut();
                let running = vec![
                    (Dht::Wan, behaviour.kad.get_record(key.clone())),
                    (Dht::Lan, behaviour.lan_kad.get_record(key)),
                ];
                for query in &running {
                    self.owners.insert(*query, request);
                }
                let state = FindRecords {
                    found: Vec::new(),
                    limit,
                    reply,
                };
                self.find_records
                    .insert(request, Pending { running, state });
            }
            Command::Publish { topic, data, reply } => {
                let local = *self.swarm.local_peer_id();
                let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
                let _ = reply.send(self.gossip.publish(gossipsub, &local, &topic, data));
            }
            Command::Shutdown(done) => return Some(done),
        }
        None
    }

    /// Starts `start` on both DHTs (a provider announcement or a record put); `reply` gets
    /// the outcome once both end: success if either reached a peer.
    fn on_both_dhts(
        &mut self,
        reply: oneshot::Sender<Result<(), NetworkError>>,
        mut start: impl FnMut(&mut kad::Behaviour<MemoryStore>) -> Result<QueryId, String>,
    ) {
        let request = self.next_request();
        let behaviour = self.swarm.behaviour_mut();
        let mut running = Vec::new();
        let mut error = None;
        for (dht, kad) in [
            (Dht::Wan, &mut behaviour.kad),
            (Dht::Lan, &mut behaviour.lan_kad),
        ] {
            match start(kad) {
                Ok(id) => running.push((dht, id)),
                Err(e) => error = Some(e),
            }
        }
        if running.is_empty() {
            let _ = reply.send(Err(NetworkError::Dht(error.unwrap_or_default())));
            return;
        }
        for query in &running {
            self.owners.insert(*query, request);
        }
        let state = Provide {
            succeeded: false,
            error,
            reply,
        };
        self.provides.insert(request, Pending { running, state });
    }

    fn dial(&mut self, addr: Multiaddr, reply: oneshot::Sender<Result<PeerId, NetworkError>>) {
        let text = addr.to_string();
        let opts = match peer_of(&addr) {
            Some(peer) if self.swarm.is_connected(&peer) => {
                let _ = reply.send(Ok(peer));
                return;
            }
            Some(peer) => DialOpts::peer_id(peer)
                .addresses(vec![without_p2p(&addr)])
                .condition(PeerCondition::Always)
                .build(),
            None => DialOpts::unknown_peer_id().address(addr).build(),
        };
        self.start_dial(opts, text, reply);
    }

    /// Dials per `opts`; `reply` gets the peer once connected, or why not (`text` names the
    /// dialed address or peer).
    fn start_dial(
        &mut self,
        opts: DialOpts,
        text: String,
        reply: oneshot::Sender<Result<PeerId, NetworkError>>,
    ) {
        let id = opts.connection_id();
        match self.swarm.dial(opts) {
            Ok(()) => {
                self.dials.insert(id, (text, reply));
            }
            Err(e) => {
                let _ = reply.send(Err(NetworkError::Dial {
                    addr: text,
                    reason: e.to_string(),
                }));
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::debug!(%address, "swarm listening");
                // The only address cairn confirms by itself is one on a public IP of this
                // machine; in auto mode that makes the DHT a server (see `DhtMode::Auto`).
                if self.dht == DhtMode::Auto && scope(&address) == Some(Scope::Public) {
                    self.swarm.add_external_address(address.clone());
                }
                if !self.listen_addrs.contains(&address) {
                    self.listen_addrs.push(address);
                }
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listen_addrs.retain(|a| *a != address);
                self.swarm.remove_external_address(&address);
            }
            SwarmEvent::ListenerError { error, .. } => {
                tracing::warn!("swarm listener: {error}");
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => {
                tracing::debug!(peer = %peer_id, addr = %endpoint.get_remote_address(), "connected");
                self.remotes.insert(
                    connection_id,
                    (peer_id, endpoint.get_remote_address().clone()),
                );
                if let Some((_, reply)) = self.dials.remove(&connection_id) {
                    let _ = reply.send(Ok(peer_id));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                cause,
                ..
            } => {
                tracing::debug!(peer = %peer_id, ?cause, "connection closed");
                self.remotes.remove(&connection_id);
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                error,
                ..
            } => {
                if let Some((addr, reply)) = self.dials.remove(&connection_id) {
                    let _ = reply.send(Err(NetworkError::Dial {
                        addr,
                        reason: error.to_string(),
                    }));
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                connection_id,
                peer_id,
                info,
            })) => self.on_identify(connection_id, peer_id, info),
            SwarmEvent::Behaviour(BehaviourEvent::Kad(event)) => self.on_kad(Dht::Wan, event),
            SwarmEvent::Behaviour(BehaviourEvent::LanKad(event)) => self.on_kad(Dht::Lan, event),
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(event)) => {
                if let Some(slow) = self.gossip.on_event(event) {
                    let _ = self.swarm.disconnect_peer_id(slow);
                }
            }
            _ => {}
        }
    }

    /// A peer that speaks a DHT protocol goes into that DHT's routing table with the
    /// addresses it announces — those as reachable as the connection it came on (a public
    /// peer's loopback or LAN addresses would mislead everyone who asks us for it), and for
    /// the LAN DHT only private and loopback ones.
    fn on_identify(&mut self, connection: ConnectionId, peer: PeerId, info: identify::Info) {
        tracing::debug!(%peer, agent = %info.agent_version, "identified");
        let floor = self
            .remotes
            .get(&connection)
            .and_then(|(_, remote)| scope(remote))
            .unwrap_or(Scope::Public);
        let usable: Vec<(Scope, Multiaddr)> = info
            .listen_addrs
            .iter()
            .filter_map(|a| Some((scope(a).filter(|s| *s >= floor)?, without_p2p(a))))
            .take(MAX_ADDRS_PER_PEER)
            .collect();
        let behaviour = self.swarm.behaviour_mut();
        if info.protocols.contains(&KAD_PROTOCOL) {
            for (_, addr) in &usable {
                behaviour.kad.add_address(&peer, addr.clone());
            }
        }
        if info.protocols.contains(&LAN_KAD_PROTOCOL) {
            for (_, addr) in usable.iter().filter(|(s, _)| *s != Scope::Public) {
                behaviour.lan_kad.add_address(&peer, addr.clone());
            }
        }
    }

    fn next_request(&mut self) -> u64 {
        self.requests += 1;
        self.requests
    }

    fn kad(&mut self, dht: Dht) -> &mut kad::Behaviour<MemoryStore> {
        match dht {
            Dht::Wan => &mut self.swarm.behaviour_mut().kad,
            Dht::Lan => &mut self.swarm.behaviour_mut().lan_kad,
        }
    }

    fn on_kad(&mut self, dht: Dht, event: kad::Event) {
        match event {
            kad::Event::OutboundQueryProgressed {
                id, result, step, ..
            } => match result {
                QueryResult::GetProviders(result) => self.on_providers(dht, id, result, step.last),
                QueryResult::StartProviding(result) => {
                    self.on_provided(dht, id, result.map(|_| ()).map_err(|e| e.to_string()))
                }
                QueryResult::PutRecord(result) => {
                    self.on_provided(dht, id, result.map(|_| ()).map_err(|e| e.to_string()))
                }
                QueryResult::GetRecord(result) => self.on_records(dht, id, result, step.last),
                _ => {}
            },
            kad::Event::InboundRequest {
                request:
                    kad::InboundRequest::PutRecord {
                        source,
                        record: Some(record),
                        ..
                    },
            } => {
                let store = self.kad(dht).store_mut();
                let kept = store.get(&record.key);
                match records::admit(&record, kept.as_deref(), SystemTime::now()) {
                    Ok(keep) => {
                        let mut record = record;
                        record.expires = Some(std::time::Instant::now() + keep);
                        if let Err(e) = store.put(record) {
                            tracing::debug!(%source, "record not stored: {e}");
                        }
                    }
                    Err(why) => tracing::debug!(%source, "record refused: {why}"),
                }
            }
            kad::Event::InboundRequest {
                request:
                    kad::InboundRequest::AddProvider {
                        record: Some(record),
                    },
            } => {
                // kad has checked that the record names the peer that sent it.
                if let Err(e) = self.kad(dht).store_mut().add_provider(record) {
                    tracing::debug!("provider record not stored: {e}");
                }
            }
            kad::Event::ModeChanged { new_mode } => {
                tracing::info!("{dht:?} DHT mode: {new_mode}");
            }
            _ => {}
        }
    }

    fn on_providers(&mut self, dht: Dht, id: QueryId, result: kad::GetProvidersResult, last: bool) {
        let local = *self.swarm.local_peer_id();
        let Some(&request) = self.owners.get(&(dht, id)) else {
            return;
        };
        let Some(pending) = self.find_providers.get_mut(&request) else {
            return;
        };
        let query = &mut pending.state;
        let ended = match result {
            Ok(GetProvidersOk::FoundProviders { providers, .. }) => {
                for peer in providers {
                    if peer == local
                        || query.found.contains(&peer)
                        || query.found.len() >= query.limit
                    {
                        continue;
                    }
                    query.found.push(peer);
                    // The addresses the DHT returned live only as long as the query: dial now.
                    let _ = self.swarm.dial(
                        DialOpts::peer_id(peer)
                            .condition(PeerCondition::DisconnectedAndNotDialing)
                            .build(),
                    );
                }
                last
            }
            Ok(GetProvidersOk::FinishedWithNoAdditionalRecord { .. }) => true,
            // A timeout ends the query with what was found.
            Err(e) => {
                tracing::debug!("provider query: {e}");
                true
            }
        };
        if ended {
            pending.running.retain(|q| *q != (dht, id));
            self.owners.remove(&(dht, id));
        }
        if pending.running.is_empty() || query.found.len() >= query.limit {
            let pending = self
                .find_providers
                .remove(&request)
                .expect("looked up above");
            self.stop_queries(&pending.running);
            let _ = pending.state.reply.send(Ok(pending.state.found));
        }
    }

    fn on_records(&mut self, dht: Dht, id: QueryId, result: kad::GetRecordResult, last: bool) {
        let Some(&request) = self.owners.get(&(dht, id)) else {
            return;
        };
        let Some(pending) = self.find_records.get_mut(&request) else {
            return;
        };
        let query = &mut pending.state;
        let ended = match result {
            Ok(kad::GetRecordOk::FoundRecord(found)) => {
                if query.found.len() < query.limit {
                    query.found.push(FoundRecord {
                        peer: found.peer,
                        value: found.record.value,
                    });
                }
                last
            }
            Ok(kad::GetRecordOk::FinishedWithNoAdditionalRecord { .. }) => true,
            Err(e) => {
                tracing::debug!("record query: {e}");
                true
            }
        };
        if ended {
            pending.running.retain(|q| *q != (dht, id));
            self.owners.remove(&(dht, id));
        }
        if pending.running.is_empty() || query.found.len() >= query.limit {
            let pending = self.find_records.remove(&request).expect("looked up above");
            self.stop_queries(&pending.running);
            let _ = pending.state.reply.send(pending.state.found);
        }
    }

    fn on_provided(&mut self, dht: Dht, id: QueryId, result: Result<(), String>) {
        let Some(request) = self.owners.remove(&(dht, id)) else {
            return;
        };
        let Some(pending) = self.provides.get_mut(&request) else {
            return;
        };
        pending.running.retain(|q| *q != (dht, id));
        match result {
            Ok(()) => pending.state.succeeded = true,
            Err(e) => pending.state.error = Some(e),
        }
        if pending.running.is_empty() {
            let Provide {
                succeeded,
                error,
                reply,
            } = self
                .provides
                .remove(&request)
                .expect("looked up above")
                .state;
            let _ = reply.send(match (succeeded, error) {
                (false, Some(error)) => Err(NetworkError::Dht(error)),
                _ => Ok(()),
            });
        }
    }

    /// Ends DHT queries whose answer nobody waits for any more.
    fn stop_queries(&mut self, queries: &[(Dht, QueryId)]) {
        for &(dht, id) in queries {
            self.owners.remove(&(dht, id));
            if let Some(mut query) = self.kad(dht).query_mut(&id) {
                query.finish();
            }
        }
    }
}

/// How far an address reaches, narrowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Scope {
    Loopback,
    Private,
    Public,
}

/// The scope of an IP or DNS multiaddr; None for an unspecified IP or another kind.
fn scope(addr: &Multiaddr) -> Option<Scope> {
    use std::net::IpAddr::{V4, V6};
    match leading_ip(addr) {
        Some(V4(ip)) => ipv4_scope(ip),
        Some(V6(ip)) if ip.is_unspecified() || ip.is_multicast() => None,
        Some(V6(ip)) if ip.is_loopback() => Some(Scope::Loopback),
        // fc00::/7 unique local, fe80::/10 link local, 2001:db8::/32 documentation.
        Some(V6(ip))
            if (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
                || (ip.segments()[0] == 0x2001 && ip.segments()[1] == 0x0db8) =>
        {
            Some(Scope::Private)
        }
        Some(V6(_)) => Some(Scope::Public),
        None => match addr.iter().next()? {
            Protocol::Dns(_) | Protocol::Dns4(_) | Protocol::Dns6(_) | Protocol::Dnsaddr(_) => {
                Some(Scope::Public)
            }
            _ => None,
        },
    }
}

fn ipv4_scope(ip: std::net::Ipv4Addr) -> Option<Scope> {
    let [a, b, ..] = ip.octets();
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() {
        None
    } else if ip.is_loopback() {
        Some(Scope::Loopback)
    } else if ip.is_private()
        || ip.is_link_local()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        // 100.64.0.0/10 shared (carrier-grade NAT), 198.18.0.0/15 benchmarking,
        // 192.0.0.0/24 protocol assignments.
        || (a == 100 && (b & 0xc0) == 64)
        || (a == 198 && (b & 0xfe) == 18)
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
    {
        Some(Scope::Private)
    } else {
        Some(Scope::Public)
    }
}

/// libp2p-tcp binds its listeners with `SO_REUSEPORT` (so that dials can leave from the
/// listening port), which lets a second node bind a port another one listens on and share
/// its connections unnoticed. A plain bind first turns that into an "address in use" error.
fn probe_tcp_port(addr: &Multiaddr) -> Result<(), NetworkError> {
    let mut parts = addr.iter();
    let ip: std::net::IpAddr = match parts.next() {
        Some(Protocol::Ip4(ip)) => ip.into(),
        Some(Protocol::Ip6(ip)) => ip.into(),
        _ => return Ok(()),
    };
    match parts.next() {
        Some(Protocol::Tcp(port)) if port != 0 => std::net::TcpListener::bind((ip, port))
            .map(drop)
            .map_err(|e| NetworkError::Listen {
                addr: addr.clone(),
                reason: e.to_string(),
            }),
        _ => Ok(()),
    }
}

fn without_p2p(addr: &Multiaddr) -> Multiaddr {
    let mut addr = addr.clone();
    if matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
        addr.pop();
    }
    addr
}

/// A listen error's text, with the underlying I/O error (e.g. "Address already in use").
fn transport_error_text<E: std::error::Error>(error: &libp2p::TransportError<E>) -> String {
    match error {
        libp2p::TransportError::MultiaddrNotSupported(_) => {
            "no transport for this address (TCP or QUIC-v1 on an IP)".to_owned()
        }
        libp2p::TransportError::Other(e) => {
            let mut text = e.to_string();
            let mut source = e.source();
            while let Some(inner) = source {
                text.push_str(": ");
                text.push_str(&inner.to_string());
                source = inner.source();
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::config::ConnectionLimits;
    use crate::network::identity::keypair_from_ed25519_seed;
    use libp2p::futures::{AsyncReadExt, AsyncWriteExt};

    fn loopback_config(dht: DhtMode) -> NetworkConfig {
        NetworkConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            dht,
            ..NetworkConfig::default()
        }
    }

    async fn tcp_addr(node: &NetworkHandle) -> Multiaddr {
        let addr = node.listen_addrs().await.unwrap().remove(0);
        addr.with(Protocol::P2p(node.peer_id()))
    }

    async fn eventually<F, Fut>(what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !check().await {
            assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn two_nodes_dial_find_providers_and_exchange_streams() {
        let a = start(
            Keypair::generate_ed25519(),
            loopback_config(DhtMode::Server),
        )
        .await
        .unwrap();
        let b = start(
            Keypair::generate_ed25519(),
            loopback_config(DhtMode::Server),
        )
        .await
        .unwrap();
        let b_addr = tcp_addr(&b).await;
        assert!(b_addr.to_string().starts_with("/ip4/127.0.0.1/tcp/"));
        assert_eq!(a.dial(b_addr.clone()).await.unwrap(), b.peer_id());
        // Dialing a connected peer answers at once.
        assert_eq!(a.dial(b_addr).await.unwrap(), b.peer_id());
        assert!(a.connected_peers().await.unwrap().contains(&b.peer_id()));
        eventually("b sees a", || async {
            b.connected_peers().await.unwrap().contains(&a.peer_id())
        })
        .await;

        // b provides a CID; a finds b through the DHT (once Identify has put b into a's
        // routing table).
        let cid: cid::Cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
            .parse()
            .unwrap();
        b.start_providing(&cid).await.unwrap();
        eventually("a finds b as a provider", || async {
            a.get_providers(&cid, 5).await.unwrap() == vec![b.peer_id()]
        })
        .await;
        // Nobody provides another CID.
        let other: cid::Cid = "bafkqaaa".parse().unwrap();
        assert_eq!(a.get_providers(&other, 5).await.unwrap(), vec![]);

        // Bitswap streams: a burst of streams b opens (as boxo opens one per message) all
        // reach a, each with the version negotiated (the newest), none dropped.
        let mut events = a.take_bitswap_events().unwrap();
        assert!(a.take_bitswap_events().is_none(), "taken once");
        const BURST: usize = 200;
        let opener = b.bitswap_opener();
        let opened = futures_util::future::join_all((0..BURST).map(|i| {
            let opener = opener.clone();
            let a = a.peer_id();
            async move {
                let (mut stream, protocol) = opener.open(a).await.unwrap();
                assert_eq!(protocol, crate::network::bitswap::Protocol::V120);
                stream.write_all(&[i as u8]).await.unwrap();
                stream.close().await.unwrap();
            }
        }));
        let received = async {
            let mut bytes = Vec::new();
            while bytes.len() < BURST {
                match events.recv().await.unwrap() {
                    transport::Event::Inbound {
                        peer,
                        protocol,
                        mut stream,
                    } => {
                        assert_eq!(
                            (peer, protocol),
                            (b.peer_id(), crate::network::bitswap::Protocol::V120)
                        );
                        let mut byte = Vec::new();
                        stream.read_to_end(&mut byte).await.unwrap();
                        bytes.extend(byte);
                    }
                    transport::Event::Connected(peer) => assert_eq!(peer, b.peer_id()),
                    transport::Event::Disconnected(peer) => panic!("{peer} left"),
                }
            }
            bytes.sort_unstable();
            bytes
        };
        let (_, bytes) = tokio::join!(opened, received);
        assert_eq!(bytes, (0..BURST).map(|i| i as u8).collect::<Vec<_>>());
        // A peer that is not connected is not dialed.
        let stranger = Keypair::generate_ed25519().public().to_peer_id();
        assert!(matches!(
            opener.open(stranger).await,
            Err(transport::OpenError::NotConnected)
        ));

        a.shutdown().await;
        assert!(matches!(
            a.connected_peers().await,
            Err(NetworkError::Stopped)
        ));
        b.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_taken_port_is_a_clear_error() {
        let a = start(Keypair::generate_ed25519(), loopback_config(DhtMode::Auto))
            .await
            .unwrap();
        let taken = a.listen_addrs().await.unwrap().remove(0);
        let config = NetworkConfig {
            listen: vec![taken.clone()],
            ..NetworkConfig::default()
        };
        let error = start(Keypair::generate_ed25519(), config)
            .await
            .unwrap_err();
        let text = error.to_string();
        assert!(text.contains(&taken.to_string()), "{text}");
        assert!(text.contains("in use"), "{text}");

        let quic = start(
            Keypair::generate_ed25519(),
            NetworkConfig {
                listen: vec!["/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap()],
                ..NetworkConfig::default()
            },
        )
        .await
        .unwrap();
        let taken = quic.listen_addrs().await.unwrap().remove(0);
        assert!(taken.to_string().ends_with("/quic-v1"), "{taken}");
        let config = NetworkConfig {
            listen: vec![taken.clone()],
            ..NetworkConfig::default()
        };
        let text = start(Keypair::generate_ed25519(), config)
            .await
            .unwrap_err()
            .to_string();
        assert!(text.contains(&taken.to_string()), "{text}");
        assert!(text.contains("in use"), "{text}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn peered_peers_are_redialed_after_they_come_back() {
        let seed = [9u8; 32];
        let b = start(
            keypair_from_ed25519_seed(seed),
            loopback_config(DhtMode::Client),
        )
        .await
        .unwrap();
        let b_addr = tcp_addr(&b).await;
        let b_id = b.peer_id();
        let a = start(
            Keypair::generate_ed25519(),
            NetworkConfig {
                peers: vec![b_addr.clone()],
                // Short enough that a connection nobody keeps alive would close here.
                idle_connection_timeout: Duration::from_millis(200),
                ..loopback_config(DhtMode::Client)
            },
        )
        .await
        .unwrap();
        eventually("a connects to its peer", || async {
            a.connected_peers().await.unwrap().contains(&b_id)
        })
        .await;
        // Idle, but kept open: it is a peered connection.
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert!(a.connected_peers().await.unwrap().contains(&b_id));

        // b goes away; a notices, then b comes back on the same address and a redials.
        b.shutdown().await;
        eventually("a sees b gone", || async {
            !a.connected_peers().await.unwrap().contains(&b_id)
        })
        .await;
        let config = NetworkConfig {
            listen: vec![without_p2p(&b_addr)],
            ..loopback_config(DhtMode::Client)
        };
        let b = start(keypair_from_ed25519_seed(seed), config)
            .await
            .unwrap();
        assert_eq!(b.peer_id(), b_id);
        eventually("a redials b", || async {
            a.connected_peers().await.unwrap().contains(&b_id)
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn unpeered_idle_connections_close() {
        let b = start(
            Keypair::generate_ed25519(),
            loopback_config(DhtMode::Client),
        )
        .await
        .unwrap();
        let a = start(
            Keypair::generate_ed25519(),
            NetworkConfig {
                idle_connection_timeout: Duration::from_millis(200),
                ..loopback_config(DhtMode::Client)
            },
        )
        .await
        .unwrap();
        a.dial(tcp_addr(&b).await).await.unwrap();
        eventually("the idle connection closes", || async {
            a.connected_peers().await.unwrap().is_empty()
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn connection_limits_refuse_extra_peers() {
        let hub = start(
            Keypair::generate_ed25519(),
            NetworkConfig {
                limits: ConnectionLimits {
                    max_established: 1,
                    ..ConnectionLimits::default()
                },
                ..loopback_config(DhtMode::Client)
            },
        )
        .await
        .unwrap();
        let hub_addr = tcp_addr(&hub).await;
        let first = start(
            Keypair::generate_ed25519(),
            loopback_config(DhtMode::Client),
        )
        .await
        .unwrap();
        let second = start(
            Keypair::generate_ed25519(),
            loopback_config(DhtMode::Client),
        )
        .await
        .unwrap();
        first.dial(hub_addr.clone()).await.unwrap();
        eventually("the hub has its one connection", || async {
            hub.connected_peers().await.unwrap().len() == 1
        })
        .await;
        // The second peer's handshake may complete on its side before the hub refuses it;
        // either way the hub never holds more than one.
        let _ = second.dial(hub_addr).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(hub.connected_peers().await.unwrap(), vec![first.peer_id()]);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_source_that_reconnects_too_often_is_refused_before_its_handshake() {
        use crate::network::inbound_rate::{InboundRates, SubnetRate};
        use crate::network::token_bucket::Rate;

        let per_address = |burst| {
            vec![SubnetRate {
                prefix_len: 32,
                rate: Rate {
                    per_second: 0.001,
                    burst,
                },
            }]
        };
        let hub = start(
            Keypair::generate_ed25519(),
            NetworkConfig {
                limits: ConnectionLimits {
                    inbound_rates: InboundRates {
                        ipv4: per_address(2.0),
                        ipv6: Vec::new(),
                        exempt_loopback: false,
                    },
                    ..ConnectionLimits::default()
                },
                ..loopback_config(DhtMode::Client)
            },
        )
        .await
        .unwrap();
        let hub_addr = tcp_addr(&hub).await;
        // Each attempt with a fresh identity, as a flooder that is cut off would come back.
        let (mut outcomes, mut peers) = (Vec::new(), Vec::new());
        for _ in 0..4 {
            let peer = start(
                Keypair::generate_ed25519(),
                loopback_config(DhtMode::Client),
            )
            .await
            .unwrap();
            outcomes.push(peer.dial(hub_addr.clone()).await.is_ok());
            peers.push(peer);
        }
        assert_eq!(outcomes, [true, true, false, false]);
        assert_eq!(hub.connected_peers().await.unwrap().len(), 2);
    }

    #[test]
    fn scopes_order_loopback_private_public() {
        let s = |t: &str| scope(&t.parse().unwrap());
        assert_eq!(s("/ip4/127.0.0.1/tcp/1"), Some(Scope::Loopback));
        assert_eq!(s("/ip6/::1/tcp/1"), Some(Scope::Loopback));
        for private in [
            "/ip4/10.1.2.3/tcp/1",
            "/ip4/192.168.1.1/tcp/1",
            "/ip4/172.16.0.1/tcp/1",
            "/ip4/169.254.1.1/tcp/1",
            "/ip4/100.64.0.1/tcp/1",
            "/ip6/fd00::1/tcp/1",
            "/ip6/fe80::1/tcp/1",
            "/ip6/::ffff:10.0.0.1/tcp/1",
        ] {
            assert_eq!(s(private), Some(Scope::Private), "{private}");
        }
        for public in [
            "/ip4/104.131.131.82/tcp/4001",
            "/ip4/100.128.0.1/tcp/1",
            "/ip6/2604:a880::1/tcp/1",
            "/dnsaddr/bootstrap.libp2p.io",
        ] {
            assert_eq!(s(public), Some(Scope::Public), "{public}");
        }
        assert_eq!(s("/ip4/0.0.0.0/tcp/1"), None);
        assert_eq!(s("/ip6/::/tcp/1"), None);
        assert!(Scope::Loopback < Scope::Private && Scope::Private < Scope::Public);
    }

    #[test]
    fn p2p_suffixes_are_stripped() {
        let with: Multiaddr =
            "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWDGkfotu29vUrYq7drtct6fjjJJSuKaAzTX1WBUz7fRuG"
                .parse()
                .unwrap();
        assert_eq!(without_p2p(&with).to_string(), "/ip4/127.0.0.1/tcp/1");
        assert_eq!(without_p2p(&without_p2p(&with)), without_p2p(&with));
    }
}
