//! Bitswap peers that misbehave against `cairn serve`, driven by raw libp2p nodes on loopback
//! (cairn's own node type, with Bitswap's streams taken by hand instead of served): a peer
//! flooding wantlists, or sending blocks nobody asked for, is disconnected
//! (`network::bitswap::budget`) while a well-behaved peer keeps being served, and a Kubo
//! fetching thousands of small blocks is never taken for a flooder. Malformed messages and
//! stream floods are in `tests/network.rs` (`bitswap_peers_that_break_the_protocol_…`).

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use cairn::network::bitswap::transport::Opener;
use cairn::network::bitswap::{
    write_message, Block, Entry, Message, Protocol, Wantlist, MAX_MESSAGE_ITEMS,
};
use cairn::network::{Multiaddr, PeerId};
use cid::Cid;
use multihash_codetable::{Code, MultihashDigest};
use support::raw_peer::RawPeer;
use support::Server;
use tokio_util::compat::FuturesAsyncReadCompatExt;

const LOOPBACK_TCP: &str = "/ip4/127.0.0.1/tcp/0";

fn cid_of(data: &[u8]) -> Cid {
    Cid::new_v1(0x55, Code::Sha2_256.digest(data))
}

fn wants(entries: Vec<Entry>) -> Message {
    Message {
        wantlist: Some(Wantlist {
            entries,
            full: false,
        }),
        ..Message::default()
    }
}

/// A full-size wantlist (16k want-haves) of CIDs nobody has, the `round`th of a flood.
fn flood_message(round: u32) -> Message {
    let entries = (0..MAX_MESSAGE_ITEMS as u32)
        .map(|i| {
            let cid = cid_of(format!("flood {round} {i}").as_bytes());
            Entry::want_have(cid, 1, true)
        })
        .collect();
    wants(entries)
}

fn start_cairn(data: &[u8]) -> (Server, PeerId, Multiaddr, Cid) {
    let dir = tempfile::tempdir().unwrap();
    let root = support::cairn_add(dir.path(), data);
    let server = Server::start_in(dir, &["--swarm", LOOPBACK_TCP, "--cluster-api", "off"]);
    let addr = server
        .swarm
        .iter()
        .find(|a| a.contains("/tcp/"))
        .expect("a TCP swarm address")
        .clone();
    let peer = addr.rsplit_once("/p2p/").unwrap().1.parse().unwrap();
    let root = cairn::ipld::cid::parse(&root).unwrap();
    (server, peer, addr.parse().unwrap(), root)
}

/// Writes `message` over and over (each round a fresh one) until the stream fails; how many
/// were written.
async fn flood(opener: Opener, cairn: PeerId, message: impl Fn(u32) -> Message) -> u32 {
    let Ok((stream, _)) = opener.open(cairn).await else {
        return 0;
    };
    let mut stream = stream.compat();
    let mut written = 0;
    loop {
        if write_message(&mut stream, &message(written), Protocol::V120)
            .await
            .is_err()
        {
            return written;
        }
        written += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wantlist_flooder_is_cut_off_while_a_good_peer_is_served() {
    let data = support::pseudo_random(4_000, 31);
    let (server, cairn, target, root) = tokio::task::spawn_blocking(move || start_cairn(&data))
        .await
        .unwrap();

    let mut good = RawPeer::start().await;
    assert_eq!(good.node.dial(target.clone()).await.unwrap(), cairn);
    let mut flooder = RawPeer::start().await;
    assert_eq!(flooder.node.dial(target.clone()).await.unwrap(), cairn);

    let started = Instant::now();
    let flooding = tokio::spawn(flood(flooder.opener.clone(), cairn, flood_message));

    // Meanwhile the good peer asks for the root block, again and again, on one stream (as boxo
    // does for a while), and gets it each time.
    let (asks, _) = good.opener.open(cairn).await.unwrap();
    let mut asks = asks.compat();
    let mut answers = None;
    for round in 0..5 {
        let want = wants(vec![Entry::want_block(root, 1, true)]);
        write_message(&mut asks, &want, Protocol::V120)
            .await
            .unwrap();
        if answers.is_none() {
            answers = Some(good.answers(Duration::from_secs(10)).await);
        }
        let reader = answers.as_mut().unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(10), reader.next())
            .await
            .unwrap_or_else(|_| panic!("no answer in round {round}"))
            .unwrap()
            .expect("an answer");
        assert_eq!(
            answer.blocks.iter().map(|b| *b.cid()).collect::<Vec<_>>(),
            [root],
            "round {round}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    assert!(
        flooder.disconnected(cairn, Duration::from_secs(10)).await,
        "the flooder is still connected"
    );
    let written = flooding.await.unwrap();
    eprintln!(
        "flooder cut off after {:?}, {written} messages of {MAX_MESSAGE_ITEMS} wants written",
        started.elapsed()
    );
    assert!(
        !good.disconnected(cairn, Duration::from_millis(500)).await,
        "the good peer was dropped"
    );

    // Reconnecting at once buys nothing: its debt (a full bucket, 4 s of refill) is still
    // owed, so the stream it opens is not even read (opening may fail: cairn hangs up first).
    assert_eq!(flooder.node.dial(target.clone()).await.unwrap(), cairn);
    if let Ok((again, _)) = flooder.opener.open(cairn).await {
        let mut again = again.compat();
        let one = wants(vec![Entry::want_block(root, 1, true)]);
        let _ = write_message(&mut again, &one, Protocol::V120).await;
    }
    assert!(
        flooder.disconnected(cairn, Duration::from_secs(10)).await,
        "the flooder came back and was let in"
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_sending_blocks_nobody_asked_for_is_cut_off_and_they_are_not_kept() {
    let data = support::pseudo_random(2_000, 32);
    let (server, cairn, target, _) = tokio::task::spawn_blocking(move || start_cairn(&data))
        .await
        .unwrap();
    let mut pusher = RawPeer::start().await;
    assert_eq!(pusher.node.dial(target).await.unwrap(), cairn);

    // 100 small blocks a message, none ever wanted.
    let block = |round: u32, i: u32| {
        let data = Bytes::from(format!("unsolicited {round} {i}"));
        Block::new(cid_of(&data), data).unwrap()
    };
    let pushing = tokio::spawn(flood(pusher.opener.clone(), cairn, move |round| Message {
        blocks: (0..100).map(|i| block(round, i)).collect(),
        ..Message::default()
    }));
    assert!(
        pusher.disconnected(cairn, Duration::from_secs(10)).await,
        "a peer pushing unsolicited blocks is still connected"
    );
    let written = pushing.await.unwrap();
    eprintln!("pusher cut off after {written} messages of 100 blocks");

    // None of them was kept.
    let server = std::sync::Arc::new(server);
    for (round, i) in [(0, 0), (0, 99), (1, 50)] {
        let cid = block(round, i).cid().to_string();
        let server = std::sync::Arc::clone(&server);
        let response = tokio::task::spawn_blocking(move || {
            server.request(
                "GET",
                &format!("/ipfs/{cid}?format=raw"),
                &[("Cache-Control", "only-if-cached")],
            )
        })
        .await
        .unwrap();
        assert_eq!(response.status, 412, "{}", response.text());
    }
}

/// Kubo fetching a file of ~4,000 one-KiB blocks from cairn, its only peer: it sends its
/// wants as boxo does (thousands, with their cancels, in bursts), is served, and stays
/// connected.
#[test]
fn kubo_fetching_thousands_of_small_blocks_is_never_taken_for_a_flooder() {
    let Some(kubo) = support::Kubo::init_online() else {
        return;
    };
    let daemon = kubo.online_daemon();
    let data = support::pseudo_random(4 << 20, 33);
    let (server, cairn, target, root) = start_cairn(&data);
    let connect = daemon.rpc(&format!("swarm/connect?arg={target}"));
    assert_eq!(connect.status, 200, "{}", connect.text());
    let out = kubo
        .command(&["cat", "--timeout=120s", &root.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout == data, "Kubo got other bytes");
    let peers = daemon.rpc("swarm/peers").text();
    assert!(
        peers.contains(&cairn.to_string()),
        "cairn dropped Kubo: {peers}"
    );
    drop(server);
}

/// CPU seconds (user + system) a process has used, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) start at its closing paren.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// A `/proc/<pid>/status` figure in MiB (`VmRSS`, `VmHWM`).
fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field}"));
    let kib: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024.0
}

/// Not a check: measures what a wantlist flooder costs cairn. For `CAIRN_FLOOD_SECONDS`
/// (default 20) a peer floods full 16k-entry wantlists, redialing at once whenever cut off
/// (unless `CAIRN_FLOOD_RECONNECT=0`), with a fresh identity each time if
/// `CAIRN_FLOOD_NEW_IDENTITY=1`; prints cairn's CPU use and memory. `CAIRN_FLOOD_BIN` runs
/// another build of cairn (e.g. one without the budget) in its place; `CAIRN_FLOOD_SWARM`
/// sets cairn's listen address (default loopback, which the connection rate exempts: use an
/// address of a dummy interface inside a network namespace to see the rate at work).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by hand"]
async fn measure_a_wantlist_flood() {
    use futures_util::AsyncWriteExt;

    let seconds: u64 = std::env::var("CAIRN_FLOOD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let shell = std::env::var("CAIRN_FLOOD_BIN")
        .ok()
        .filter(|bin| !bin.is_empty())
        .map(|_| "exec \"$CAIRN_FLOOD_BIN\" \"$@\"".to_owned());
    let (server, cairn, target) = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        support::cairn_add(dir.path(), b"something to serve");
        let launch = support::Launch {
            shell,
            stderr: None,
        };
        let swarm = std::env::var("CAIRN_FLOOD_SWARM").unwrap_or_else(|_| LOOPBACK_TCP.into());
        let args = ["--swarm", &swarm, "--cluster-api", "off"];
        let server = Server::launch(dir, &args, &[], &launch);
        let addr = server.swarm.iter().find(|a| a.contains("/tcp/")).unwrap();
        let peer: PeerId = addr.rsplit_once("/p2p/").unwrap().1.parse().unwrap();
        let target: Multiaddr = addr.parse().unwrap();
        (server, peer, target)
    })
    .await
    .unwrap();
    let pid = server.pid();
    // Eight distinct messages, encoded once, so that the flooder's own CPU is not the limit.
    let mut frames = Vec::new();
    for round in 0..8 {
        let mut frame: Vec<u8> = Vec::new();
        write_message(&mut frame, &flood_message(round), Protocol::V120)
            .await
            .unwrap();
        frames.push(frame);
    }
    let idle_rss = memory_mib(pid, "VmRSS");
    let new_identity = std::env::var("CAIRN_FLOOD_NEW_IDENTITY").is_ok_and(|v| v == "1");
    let mut flooder = RawPeer::start().await;
    let (cpu0, t0) = (cpu_seconds(pid), Instant::now());
    let deadline = t0 + Duration::from_secs(seconds);
    let reconnect = std::env::var("CAIRN_FLOOD_RECONNECT").map_or(true, |v| v != "0");
    let (mut sent, mut connections, mut refused, mut peak_rss) = (0u64, 0u64, 0u64, idle_rss);
    while Instant::now() < deadline {
        if connections > 0 && !reconnect {
            tokio::time::sleep(Duration::from_millis(100)).await;
            peak_rss = peak_rss.max(memory_mib(pid, "VmRSS"));
            continue;
        }
        if new_identity && connections > 0 {
            flooder = RawPeer::start().await;
        }
        if flooder.node.dial(target.clone()).await.is_err() {
            refused += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        connections += 1;
        let Ok((mut stream, _)) = flooder.opener.open(cairn).await else {
            continue;
        };
        while Instant::now() < deadline {
            let frame = &frames[(sent % 8) as usize];
            let write = async {
                stream.write_all(frame).await?;
                stream.flush().await
            };
            match tokio::time::timeout(Duration::from_secs(2), write).await {
                Ok(Ok(())) => sent += 1,
                _ => break,
            }
            if sent % 16 == 0 {
                peak_rss = peak_rss.max(memory_mib(pid, "VmRSS"));
            }
        }
    }
    let (cpu, wall) = (cpu_seconds(pid) - cpu0, t0.elapsed().as_secs_f64());
    peak_rss = peak_rss.max(memory_mib(pid, "VmRSS"));
    eprintln!(
        "flood for {wall:.1} s: {sent} messages of {MAX_MESSAGE_ITEMS} wants written over \
         {connections} connections ({refused} dials refused); cairn used {cpu:.2} CPU s ({:.0}% of a core), RSS {idle_rss:.1} \
         MiB idle, {peak_rss:.1} MiB peak sampled, VmHWM {:.1} MiB",
        100.0 * cpu / wall,
        memory_mib(pid, "VmHWM"),
    );
    drop(server);
}
