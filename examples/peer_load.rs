//! Connects many libp2p peers, from this one process, to one node on this machine, and keeps
//! them connected for a while: the load behind "peak RSS with 1,000 connected peers"
//! (`scripts/peers-rss.py` runs it against cairn and Kubo).
//!
//! Each peer is a swarm of its own with its own ed25519 identity, speaking what a Kubo peer
//! speaks first: TCP, Noise, Yamux, Identify (`/ipfs/id/1.0.0`) and Ping. Optionally each also
//! - asks the target's DHT for the peers closest to a random key (`--kad PROTOCOL`, as a DHT
//!   client: it does not offer the protocol, so it never enters the target's routing table);
//! - opens a Bitswap stream (the newest version the target speaks, through cairn's own
//!   `bitswap::transport`) and sends a full wantlist of want-have entries for the `--want`
//!   CIDs with send-dont-have, leaving the stream open, so the target has a Bitswap ledger
//!   and an inbound stream per peer; its answers (HAVE, DONT_HAVE, or a block small enough
//!   to send instead of a HAVE) are counted.
//!
//! Peers connect `--concurrency` at a time (a node refuses handshakes past its pending-
//! connection limit; cairn's is 64), each trying up to `--attempts` times. Then all are held
//! `--hold` seconds, and the counts are printed; the process then closes every connection and
//! exits. Only the `--target` address is ever dialed, and it must be a loopback address.
//!
//! ```text
//! cargo run --release --example peer_load -- --target /ip4/127.0.0.1/tcp/4001/p2p/12D3Koo… \
//!     --peers 1000 --hold 30 [--want <cid>]… [--kad /ipfs/lan/kad/1.0.0]
//! ```
//!
//! Output: one `dialed:` line once every peer has connected or given up, one `hold end:` line
//! while all are still connected (`key=value` pairs, for scripts), then the process waits
//! `--linger` seconds before it closes the connections, so a script that reads the line can
//! measure the target while the peers are still there.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn::network::bitswap::transport::{self, Event as BitswapEvent};
use cairn::network::bitswap::{
    write_message, Entry, Limits, Message, MessageReader, PresenceType, Wantlist,
};
use clap::Parser;
use futures_util::StreamExt;
use libp2p::kad::{self, store::MemoryStore};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{behaviour::toggle::Toggle, NetworkBehaviour, SwarmEvent};
use libp2p::{identify, noise, ping, tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm};
use tokio::sync::{watch, Semaphore};
use tokio_util::compat::FuturesAsyncReadCompatExt;
use tokio_util::compat::FuturesAsyncWriteCompatExt;

#[derive(Parser)]
#[command(about = "Connect many libp2p peers to one node on loopback and hold them")]
struct Args {
    /// The node to load: /ip4/127.0.0.1/tcp/<port>/p2p/<id> (loopback only)
    #[arg(long, value_name = "MULTIADDR")]
    target: Multiaddr,
    /// Peers to connect, each with its own identity
    #[arg(long, default_value_t = 1000)]
    peers: usize,
    /// Seconds to keep them connected once every peer has connected or given up
    #[arg(long, default_value_t = 30)]
    hold: u64,
    /// Seconds to wait after the `hold end:` line before disconnecting
    #[arg(long, default_value_t = 2)]
    linger: u64,
    /// Handshakes under way at once
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Dials per peer before it gives up
    #[arg(long, default_value_t = 3)]
    attempts: u32,
    /// A CID each peer sends a want-have for over Bitswap (repeatable; none: no Bitswap)
    #[arg(long = "want", value_name = "CID")]
    wants: Vec<cid::Cid>,
    /// A DHT protocol each peer queries the target on once, as a client (e.g.
    /// /ipfs/lan/kad/1.0.0, which cairn and Kubo serve on loopback)
    #[arg(long, value_name = "PROTOCOL")]
    kad: Option<String>,
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    kad: Toggle<kad::Behaviour<MemoryStore>>,
    bitswap: transport::Behaviour,
}

/// What the peers did, counted across all of them.
#[derive(Default)]
struct Counts {
    connected_now: AtomicUsize,
    connected_ever: AtomicUsize,
    failed: AtomicUsize,
    /// Peers that lost their connection after having it.
    dropped: AtomicUsize,
    identified: AtomicUsize,
    kad_ok: AtomicUsize,
    kad_failed: AtomicUsize,
    wants_sent: AtomicUsize,
    want_failed: AtomicUsize,
    have: AtomicUsize,
    dont_have: AtomicUsize,
    /// Blocks sent instead of a HAVE (a server may for small blocks: boxo and cairn up to
    /// 1 KiB).
    blocks: AtomicUsize,
    /// Why dials failed, with how many times each.
    errors: Mutex<BTreeMap<String, usize>>,
}

impl Counts {
    fn error(&self, text: String) {
        let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        *errors.entry(text).or_default() += 1;
    }
}

struct Target {
    addr: Multiaddr,
    peer: PeerId,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let target = match check_target(&args.target) {
        Ok(peer) => Target {
            addr: args.target.clone(),
            peer,
        },
        Err(e) => {
            eprintln!("peer_load: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    // One socket per peer, plus the runtime's own and some slack.
    let needed = args.peers as u64 + 64;
    match open_files_limit() {
        Some(limit) if limit < needed => {
            eprintln!(
                "peer_load: {} peers need about {needed} file descriptors, the limit is \
                 {limit}; raise it (ulimit -n {needed})",
                args.peers
            );
            return std::process::ExitCode::from(2);
        }
        _ => {}
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("peer_load: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args, target));
    std::process::ExitCode::SUCCESS
}

async fn run(args: Args, target: Target) {
    let args = Arc::new(args);
    let target = Arc::new(target);
    let counts = Arc::new(Counts::default());
    let permits = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let (stop, stopped) = watch::channel(false);
    let (settled_tx, mut settled) = tokio::sync::mpsc::unbounded_channel::<()>();
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(args.peers);
    for _ in 0..args.peers {
        tasks.push(tokio::spawn(peer(
            args.clone(),
            target.clone(),
            counts.clone(),
            permits.clone(),
            stopped.clone(),
            settled_tx.clone(),
        )));
    }
    drop(settled_tx);
    // Every peer reports once: connected, or given up.
    let mut reported = 0;
    while reported < args.peers && settled.recv().await.is_some() {
        reported += 1;
    }
    println!(
        "dialed: peers={} connected={} failed={} seconds={:.1}",
        args.peers,
        counts.connected_ever.load(Relaxed),
        counts.failed.load(Relaxed),
        start.elapsed().as_secs_f64()
    );
    for (error, times) in counts
        .errors
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        println!("  dial error ({times}×): {error}");
    }
    let _ = std::io::stdout().flush();

    tokio::time::sleep(Duration::from_secs(args.hold)).await;
    println!(
        "hold end: connected={} dropped={} identified={} kad_ok={} kad_failed={} \
         wants_sent={} want_failed={} have={} dont_have={} blocks={}",
        counts.connected_now.load(Relaxed),
        counts.dropped.load(Relaxed),
        counts.identified.load(Relaxed),
        counts.kad_ok.load(Relaxed),
        counts.kad_failed.load(Relaxed),
        counts.wants_sent.load(Relaxed),
        counts.want_failed.load(Relaxed),
        counts.have.load(Relaxed),
        counts.dont_have.load(Relaxed),
        counts.blocks.load(Relaxed),
    );
    let _ = std::io::stdout().flush();
    tokio::time::sleep(Duration::from_secs(args.linger)).await;
    let _ = stop.send(true);
    let closing = futures_util::future::join_all(tasks);
    if tokio::time::timeout(Duration::from_secs(10), closing)
        .await
        .is_err()
    {
        eprintln!("peer_load: some peers did not close within 10 s");
    }
}

/// The target's peer ID, if its address is a loopback IP with TCP and ends in `/p2p/<id>`.
fn check_target(addr: &Multiaddr) -> Result<PeerId, String> {
    let mut parts = addr.iter();
    let loopback = match parts.next() {
        Some(Protocol::Ip4(ip)) => ip.is_loopback(),
        Some(Protocol::Ip6(ip)) => ip.is_loopback(),
        _ => false,
    };
    if !loopback {
        return Err(format!(
            "{addr}: only a loopback address (127.0.0.0/8, ::1) is dialed"
        ));
    }
    if !matches!(parts.next(), Some(Protocol::Tcp(_))) {
        return Err(format!("{addr}: expected /tcp/<port> after the IP"));
    }
    match (parts.next(), parts.next()) {
        (Some(Protocol::P2p(peer)), None) => Ok(peer),
        _ => Err(format!("{addr}: expected to end in /p2p/<peer id>")),
    }
}

/// The soft limit on open files, from /proc/self/limits (Linux); None if unknown.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn build_swarm(args: &Args, bitswap: transport::Behaviour) -> Result<Swarm<Behaviour>, String> {
    let kad_protocol = match &args.kad {
        Some(p) => Some(StreamProtocol::try_from_owned(p.clone()).map_err(|e| e.to_string())?),
        None => None,
    };
    let swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| e.to_string())?
        .with_behaviour(|key| {
            let local = key.public().to_peer_id();
            let kad = kad_protocol.map(|protocol| {
                let mut config = kad::Config::new(protocol);
                config.set_periodic_bootstrap_interval(None);
                config.set_query_timeout(Duration::from_secs(30));
                let mut kad = kad::Behaviour::with_config(local, MemoryStore::new(local), config);
                kad.set_mode(Some(kad::Mode::Client));
                kad
            });
            Behaviour {
                identify: identify::Behaviour::new(
                    identify::Config::new("ipfs/0.1.0".to_owned(), key.public())
                        .with_agent_version(format!(
                            "cairn-peer-load/{}",
                            env!("CARGO_PKG_VERSION")
                        )),
                ),
                ping: ping::Behaviour::default(),
                kad: kad.into(),
                bitswap,
            }
        })
        .map_err(|e| e.to_string())?
        // Never closed for idleness while held: the target decides.
        .with_swarm_config(|c| {
            c.with_idle_connection_timeout(Duration::from_secs(args.hold + args.linger + 600))
        })
        .build();
    Ok(swarm)
}

/// One peer: connects (holding a permit while its handshake is under way), reports, then
/// keeps its connection until told to stop.
async fn peer(
    args: Arc<Args>,
    target: Arc<Target>,
    counts: Arc<Counts>,
    permits: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
    settled: tokio::sync::mpsc::UnboundedSender<()>,
) {
    let (bitswap, opener, mut bitswap_events) = transport::Behaviour::new();
    let mut swarm = match build_swarm(&args, bitswap) {
        Ok(swarm) => swarm,
        Err(e) => {
            counts.error(format!("building the swarm: {e}"));
            counts.failed.fetch_add(1, Relaxed);
            let _ = settled.send(());
            return;
        }
    };

    let permit = permits.acquire().await;
    let mut connected = false;
    for attempt in 0..args.attempts.max(1) {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(250 << attempt.min(4))).await;
        }
        if let Err(e) = swarm.dial(target.addr.clone()) {
            counts.error(e.to_string());
            continue;
        }
        let deadline = tokio::time::sleep(Duration::from_secs(20));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => {
                    counts.error("no connection within 20 s".into());
                    break;
                }
                event = swarm.select_next_some() => match event {
                    SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == target.peer => {
                        connected = true;
                        break;
                    }
                    SwarmEvent::OutgoingConnectionError { error, .. } => {
                        counts.error(error_text(&error));
                        break;
                    }
                    _ => {}
                },
            }
        }
        if connected {
            break;
        }
    }
    drop(permit);
    if connected {
        counts.connected_now.fetch_add(1, Relaxed);
        counts.connected_ever.fetch_add(1, Relaxed);
    } else {
        counts.failed.fetch_add(1, Relaxed);
    }
    let _ = settled.send(());
    if !connected {
        return;
    }

    if let Some(kad) = swarm.behaviour_mut().kad.as_mut() {
        kad.add_address(&target.peer, without_p2p(&target.addr));
        kad.get_closest_peers(PeerId::random());
    }
    // The Bitswap stream is opened through the swarm, which must be polled meanwhile.
    let mut want: std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<libp2p::Stream, String>> + Send>,
    > = if args.wants.is_empty() {
        Box::pin(std::future::pending())
    } else {
        let opener = opener.clone();
        let peer = target.peer;
        let wants = args.wants.clone();
        Box::pin(async move { send_wants(&opener, peer, &wants).await })
    };
    // Kept open until the end: a Bitswap peer keeps its stream, and the target its wantlist.
    let mut _kept_stream = None;
    let mut held = true;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            result = &mut want => {
                want = Box::pin(std::future::pending());
                match result {
                    Ok(stream) => {
                        counts.wants_sent.fetch_add(1, Relaxed);
                        _kept_stream = Some(stream);
                    }
                    Err(e) => {
                        counts.want_failed.fetch_add(1, Relaxed);
                        counts.error(format!("bitswap: {e}"));
                    }
                }
            }
            Some(event) = bitswap_events.recv() => {
                if let BitswapEvent::Inbound { stream, .. } = event {
                    tokio::spawn(count_answers(stream, counts.clone()));
                }
            }
            event = swarm.select_next_some() => match event {
                SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. }
                    if peer_id == target.peer && held =>
                {
                    held = false;
                    counts.connected_now.fetch_sub(1, Relaxed);
                    counts.dropped.fetch_add(1, Relaxed);
                }
                SwarmEvent::ConnectionEstablished { peer_id, .. }
                    if peer_id == target.peer && !held =>
                {
                    // Only kad or Bitswap redial, and only the target.
                    held = true;
                    counts.connected_now.fetch_add(1, Relaxed);
                }
                SwarmEvent::Behaviour(BehaviourEvent::Identify(
                    identify::Event::Received { peer_id, .. },
                )) if peer_id == target.peer => {
                    counts.identified.fetch_add(1, Relaxed);
                }
                SwarmEvent::Behaviour(BehaviourEvent::Kad(
                    kad::Event::OutboundQueryProgressed {
                        result: kad::QueryResult::GetClosestPeers(result),
                        step,
                        ..
                    },
                )) if step.last => {
                    match result {
                        Ok(_) => counts.kad_ok.fetch_add(1, Relaxed),
                        Err(_) => counts.kad_failed.fetch_add(1, Relaxed),
                    };
                }
                _ => {}
            },
        }
    }
}

/// Opens a Bitswap stream to `peer` and writes one full wantlist of want-haves; returns the
/// stream, still open.
async fn send_wants(
    opener: &transport::Opener,
    peer: PeerId,
    wants: &[cid::Cid],
) -> Result<libp2p::Stream, String> {
    let (stream, protocol) = opener.open(peer).await.map_err(|e| e.to_string())?;
    let message = Message {
        wantlist: Some(Wantlist {
            entries: wants
                .iter()
                .map(|cid| Entry::want_have(*cid, 1, true))
                .collect(),
            full: true,
        }),
        ..Message::default()
    };
    let mut writer = stream.compat_write();
    write_message(&mut writer, &message, protocol)
        .await
        .map_err(|e| e.to_string())?;
    Ok(writer.into_inner())
}

/// Reads the messages a target sends on one stream and counts its HAVEs, DONT_HAVEs and
/// blocks (each checked against its CID by the decoder).
async fn count_answers(stream: libp2p::Stream, counts: Arc<Counts>) {
    let mut reader = MessageReader::new(stream.compat(), Limits::default());
    while let Ok(Some(message)) = reader.next().await {
        counts.blocks.fetch_add(message.blocks.len(), Relaxed);
        for presence in &message.presences {
            match presence.kind {
                PresenceType::Have => counts.have.fetch_add(1, Relaxed),
                PresenceType::DontHave => counts.dont_have.fetch_add(1, Relaxed),
            };
        }
    }
}

fn without_p2p(addr: &Multiaddr) -> Multiaddr {
    let mut addr = addr.clone();
    if matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
        addr.pop();
    }
    addr
}

/// A dial error with its causes (e.g. "Connection refused").
fn error_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
