//! The libp2p node of `cairn serve` against a real Kubo daemon on loopback: peering (cairn
//! dials Kubo and redials after a disconnect), Kubo dialing cairn over TCP and QUIC, what
//! Identify tells Kubo (agent, protocols, the DHT only in server mode), no dialing without
//! being told to, the identity's persistence, and refused flags. Every address is on
//! 127.0.0.1 with an ephemeral port; Kubo runs with no bootstrap peers and nothing that
//! reaches beyond the machine (`Kubo::init_online`).

mod support;

use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{cairn_bin, http_request, Kubo, KuboDaemon, Server};

const LOOPBACK_TCP: &str = "/ip4/127.0.0.1/tcp/0";
const LOOPBACK_QUIC: &str = "/ip4/127.0.0.1/udp/0/quic-v1";

/// An online Kubo daemon, or None (skipped visibly) when Kubo is not installed.
fn kubo() -> Option<(Kubo, KuboDaemon)> {
    kubo_with(&[])
}

/// An online Kubo daemon with extra `ipfs config --json KEY VALUE` settings.
fn kubo_with(config: &[(&str, &str)]) -> Option<(Kubo, KuboDaemon)> {
    let kubo = Kubo::init_online()?;
    for (key, value) in config {
        kubo.run(&["config", "--json", key, value]);
    }
    let daemon = kubo.online_daemon();
    Some((kubo, daemon))
}

/// `POST /api/v0/<command>` on Kubo's RPC API; panics unless it answers 200 with JSON.
fn rpc(kubo: &KuboDaemon, command: &str) -> Value {
    let response = kubo.rpc(command);
    assert_eq!(response.status, 200, "{command}: {}", response.text());
    // Streaming commands (ping) answer one JSON object per line; keep the last.
    let text = response.text();
    let last = text
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("null");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{command}: {e}: {text}"))
}

/// Kubo's peer ID and its TCP and QUIC addresses (with `/p2p/<id>`).
fn kubo_addrs(kubo: &KuboDaemon) -> (String, String, String) {
    let id = rpc(kubo, "id");
    let peer = id["ID"].as_str().unwrap().to_owned();
    let addrs: Vec<String> = id["Addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    let find = |needle: &str| {
        addrs
            .iter()
            .find(|a| a.starts_with("/ip4/127.0.0.1/") && a.contains(needle))
            .unwrap_or_else(|| panic!("no {needle} address in {addrs:?}"))
            .clone()
    };
    (peer, find("/tcp/"), find("/quic-v1/"))
}

/// `ipfs swarm peers`: (peer ID, address) of each connection.
fn kubo_peers(kubo: &KuboDaemon) -> Vec<(String, String)> {
    match &rpc(kubo, "swarm/peers")["Peers"] {
        Value::Array(peers) => peers
            .iter()
            .map(|p| {
                (
                    p["Peer"].as_str().unwrap().to_owned(),
                    p["Addr"].as_str().unwrap().to_owned(),
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn kubo_sees(kubo: &KuboDaemon, peer: &str) -> bool {
    kubo_peers(kubo).iter().any(|(p, _)| p == peer)
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

/// The peer ID cairn prints in its `swarm listening on …/p2p/<id>` lines (one ID for all).
fn swarm_peer_id(server: &Server) -> String {
    assert!(!server.swarm.is_empty(), "cairn printed no swarm address");
    let ids: HashSet<&str> = server
        .swarm
        .iter()
        .map(|a| a.rsplit_once("/p2p/").expect("address with /p2p/").1)
        .collect();
    assert_eq!(ids.len(), 1, "{:?}", server.swarm);
    ids.into_iter().next().unwrap().to_owned()
}

fn swarm_addr<'a>(server: &'a Server, transport: &str) -> &'a str {
    server
        .swarm
        .iter()
        .find(|a| a.contains(transport))
        .unwrap_or_else(|| panic!("no {transport} address in {:?}", server.swarm))
}

fn start_cairn(args: &[&str]) -> Server {
    Server::start_in(tempfile::tempdir().unwrap(), args)
}

/// Kubo's view of a peer once Identify has run: (agent, protocols).
fn identified(kubo: &KuboDaemon, peer: &str) -> (String, Vec<String>) {
    let mut result = (String::new(), Vec::new());
    wait_until("Kubo identifies cairn", Duration::from_secs(20), || {
        let id = rpc(kubo, &format!("id?arg={peer}"));
        result.0 = id["AgentVersion"].as_str().unwrap_or("").to_owned();
        result.1 = id["Protocols"]
            .as_array()
            .map(|p| p.iter().map(|p| p.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        !result.0.is_empty() && !result.1.is_empty()
    });
    result
}

#[test]
fn cairn_peers_with_kubo_and_identifies_itself() {
    let Some((_repo, kubo)) = kubo() else { return };
    let (_, kubo_tcp, _) = kubo_addrs(&kubo);
    let server = start_cairn(&[
        "--swarm",
        LOOPBACK_TCP,
        "--swarm",
        LOOPBACK_QUIC,
        "--peer",
        &kubo_tcp,
        "--dht",
        "server",
    ]);
    let cairn = swarm_peer_id(&server);
    assert!(cairn.starts_with("12D3KooW"), "{cairn}");
    assert!(
        server.swarm[0].starts_with("/ip4/127.0.0.1/tcp/"),
        "{:?}",
        server.swarm
    );
    wait_until("Kubo sees cairn", Duration::from_secs(20), || {
        kubo_sees(&kubo, &cairn)
    });

    let (agent, protocols) = identified(&kubo, &cairn);
    assert_eq!(agent, format!("cairn/{}", env!("CARGO_PKG_VERSION")));
    for protocol in ["/ipfs/id/1.0.0", "/ipfs/ping/1.0.0", "/ipfs/kad/1.0.0"] {
        assert!(
            protocols.iter().any(|p| p == protocol),
            "{protocol} not in {protocols:?}"
        );
    }
    // Ping answers.
    let ping = rpc(&kubo, &format!("ping?arg={cairn}&count=1"));
    assert_eq!(ping["Success"], true, "{ping}");

    // The same peer ID everywhere cairn names itself: `cairn id` and the Cluster API.
    let out = Command::new(cairn_bin())
        .args(["id", "--data"])
        .arg(server.data.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), cairn);
    let id = http_request(server.cluster.unwrap(), "GET", "/id", &[]);
    let id: Value = serde_json::from_slice(&id.body).unwrap();
    assert_eq!(id["ipfs"]["id"], cairn.as_str(), "{id}");
    // The addresses ipfs-cluster-service would dial the daemon's peers at: the swarm's.
    let reported: Vec<&str> = id["ipfs"]["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(reported, server.swarm, "{id}");
}

#[test]
fn the_public_dht_serves_only_when_asked_on_loopback() {
    let Some((_repo, kubo)) = kubo() else { return };
    let (_, kubo_tcp, _) = kubo_addrs(&kubo);
    // `auto` (the default) is a client of the public DHT (no public address) and serves the
    // LAN one; `client` serves neither.
    for (mode, lan) in [(None, true), (Some("client"), false)] {
        let mut args = vec!["--swarm", LOOPBACK_TCP, "--peer", &kubo_tcp];
        if let Some(mode) = mode {
            args.extend(["--dht", mode]);
        }
        let server = start_cairn(&args);
        let cairn = swarm_peer_id(&server);
        wait_until("Kubo sees cairn", Duration::from_secs(20), || {
            kubo_sees(&kubo, &cairn)
        });
        let (agent, protocols) = identified(&kubo, &cairn);
        assert!(agent.starts_with("cairn/"), "{agent}");
        assert!(
            protocols.iter().any(|p| p == "/ipfs/id/1.0.0"),
            "{protocols:?}"
        );
        assert!(
            !protocols.iter().any(|p| p == "/ipfs/kad/1.0.0"),
            "{mode:?}: {protocols:?}"
        );
        assert_eq!(
            protocols.iter().any(|p| p == "/ipfs/lan/kad/1.0.0"),
            lan,
            "{mode:?}: {protocols:?}"
        );
    }
}

#[test]
fn kubo_and_cairn_find_each_others_provider_records() {
    use cairn::network::{self, identity::Keypair, NetworkConfig};
    let Some((repo, kubo)) = kubo() else { return };
    let (kubo_id, kubo_tcp, _) = kubo_addrs(&kubo);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let node = runtime
        .block_on(network::start(
            Keypair::generate_ed25519(),
            NetworkConfig {
                listen: vec![LOOPBACK_TCP.parse().unwrap()],
                peers: vec![kubo_tcp.parse().unwrap()],
                ..NetworkConfig::default()
            },
        ))
        .unwrap();
    let cairn = node.peer_id().to_string();
    // Kubo keeps a peer whose addresses are all loopback in its LAN DHT only.
    wait_until(
        "Kubo's LAN DHT holds cairn",
        Duration::from_secs(20),
        || kubo.rpc("stats/dht?arg=lan").text().contains(&cairn),
    );

    // cairn provides a CID; Kubo's `routing findprovs` finds cairn.
    let ours: cid::Cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
        .parse()
        .unwrap();
    runtime.block_on(node.start_providing(&ours)).unwrap();
    let found = kubo.rpc(&format!("routing/findprovs?arg={ours}&num-providers=1"));
    assert_eq!(found.status, 200);
    assert!(found.text().contains(&cairn), "{}", found.text());

    // Kubo provides a block of its own; cairn finds Kubo.
    let block = repo.repo.path().join("block");
    std::fs::write(&block, b"provided by kubo").unwrap();
    let theirs = String::from_utf8(repo.run(&["block", "put", block.to_str().unwrap()]))
        .unwrap()
        .trim()
        .to_owned();
    repo.run(&["routing", "provide", &theirs]);
    let theirs: cid::Cid = theirs.parse().unwrap();
    let providers = runtime
        .block_on(node.get_providers(&theirs, 5))
        .unwrap()
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>();
    assert_eq!(providers, vec![kubo_id]);
    runtime.block_on(node.shutdown());
}

#[test]
fn kubo_connects_to_cairn_over_tcp_and_quic() {
    let Some((_repo, kubo)) = kubo() else { return };
    // One cairn per transport, each listening on that transport only, so the connection
    // Kubo reports can only be over it.
    for (listen, transport) in [(LOOPBACK_TCP, "/tcp/"), (LOOPBACK_QUIC, "/quic-v1")] {
        let server = start_cairn(&["--swarm", listen]);
        let cairn = swarm_peer_id(&server);
        assert!(!kubo_sees(&kubo, &cairn));
        let addr = swarm_addr(&server, transport);
        let connected = rpc(&kubo, &format!("swarm/connect?arg={addr}"));
        assert!(
            connected["Strings"][0]
                .as_str()
                .unwrap()
                .ends_with("success"),
            "{connected}"
        );
        let peers = kubo_peers(&kubo);
        let (_, over) = peers
            .iter()
            .find(|(p, _)| *p == cairn)
            .unwrap_or_else(|| panic!("cairn not in {peers:?}"));
        assert!(over.contains(transport), "{over}");
        assert!(over.starts_with("/ip4/127.0.0.1/"), "{over}");
        let (agent, _) = identified(&kubo, &cairn);
        assert!(agent.starts_with("cairn/"), "{agent}");
    }
}

#[test]
fn a_peered_kubo_is_redialed_after_a_disconnect() {
    // Kubo without a DHT: neither side then has the other in a DHT routing table, whose
    // upkeep could reconnect them too; only peering can.
    let Some((_repo, kubo)) = kubo_with(&[("Routing.Type", r#""none""#)]) else {
        return;
    };
    let (_, _, kubo_quic) = kubo_addrs(&kubo);
    // Over QUIC this time; TCP peering is the first test's.
    let server = start_cairn(&["--swarm", LOOPBACK_QUIC, "--peer", &kubo_quic]);
    let cairn = swarm_peer_id(&server);
    wait_until("Kubo sees cairn", Duration::from_secs(20), || {
        kubo_sees(&kubo, &cairn)
    });
    for round in 0..2 {
        let (_, addr) = kubo_peers(&kubo)
            .into_iter()
            .find(|(p, _)| *p == cairn)
            .expect("cairn connected");
        let out = rpc(&kubo, &format!("swarm/disconnect?arg={addr}/p2p/{cairn}"));
        assert!(
            out["Strings"][0].as_str().unwrap().contains("success"),
            "{out}"
        );
        // The first redial comes about a second after the drop (1 s, then 2 s, … backoff).
        let took = wait_until("cairn redials Kubo", Duration::from_secs(15), || {
            kubo_sees(&kubo, &cairn)
        });
        eprintln!("round {round}: back after {took:?}");
    }

    // A cairn Kubo dialed, not told to keep Kubo, stays disconnected.
    let other = start_cairn(&["--swarm", LOOPBACK_TCP]);
    let other_id = swarm_peer_id(&other);
    rpc(&kubo, &format!("swarm/connect?arg={}", other.swarm[0]));
    assert!(kubo_sees(&kubo, &other_id));
    rpc(&kubo, &format!("swarm/disconnect?arg={}", other.swarm[0]));
    std::thread::sleep(Duration::from_secs(3));
    assert!(!kubo_sees(&kubo, &other_id));
    assert!(kubo_sees(&kubo, &cairn));
}

#[test]
fn without_dial_flags_cairn_dials_nobody() {
    let Some((_repo, kubo)) = kubo() else { return };
    let server = start_cairn(&["--swarm", LOOPBACK_TCP, "--dht", "server"]);
    let cairn = swarm_peer_id(&server);
    // Past the DHT's start-up bootstrap attempt (0.5 s after listening).
    std::thread::sleep(Duration::from_secs(3));
    assert!(kubo_peers(&kubo).is_empty(), "{:?}", kubo_peers(&kubo));
    // Nothing outbound at all: every TCP socket cairn holds is a listener.
    let sockets = tcp_sockets(server.pid());
    assert!(!sockets.is_empty(), "no TCP sockets found for cairn");
    let others: Vec<_> = sockets.iter().filter(|(state, _)| state != "0A").collect();
    assert!(
        others.is_empty(),
        "{cairn} has non-listening sockets: {others:?}"
    );
}

/// The TCP sockets a process holds: (state as in /proc/net/tcp, "local remote").
fn tcp_sockets(pid: u32) -> Vec<(String, String)> {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            Some(link.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let mut sockets = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() > 9 && inodes.contains(fields[9]) {
                sockets.push((fields[3].to_owned(), format!("{} {}", fields[1], fields[2])));
            }
        }
    }
    sockets
}

#[test]
fn the_identity_persists_and_a_corrupt_key_stops_cairn() {
    let data = tempfile::tempdir().unwrap();
    let id = |data: &std::path::Path| {
        Command::new(cairn_bin())
            .args(["id", "--data"])
            .arg(data)
            .output()
            .unwrap()
    };
    let first = id(data.path());
    assert!(first.status.success());
    let peer = String::from_utf8(first.stdout).unwrap().trim().to_owned();
    assert!(peer.starts_with("12D3KooW"), "{peer}");
    let key = data.path().join("keys/key_onswyzq");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The node runs under that key, restart after restart.
    let server = Server::start_in(data, &["--swarm", LOOPBACK_TCP, "--cluster-api", "off"]);
    assert_eq!(swarm_peer_id(&server), peer);
    let data = stop(server);
    let server = Server::start_in(data, &["--swarm", LOOPBACK_TCP, "--cluster-api", "off"]);
    assert_eq!(swarm_peer_id(&server), peer);
    let data = stop(server);

    // A corrupt key is an error, left in place, never replaced by a new identity.
    std::fs::write(&key, b"not a key").unwrap();
    let out = Command::new(cairn_bin())
        .args(["serve", "--gateway", "127.0.0.1:0", "--cluster-api", "off"])
        .args(["--rpc-api", "off", "--metrics", "off"])
        .args(["--swarm", LOOPBACK_TCP, "--data"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("key_onswyzq") && stderr.contains("unusable"),
        "{stderr}"
    );
    let out = id(data.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unusable"));
    assert_eq!(std::fs::read(&key).unwrap(), b"not a key");
}

fn stop(server: Server) -> tempfile::TempDir {
    server.stop()
}

#[test]
fn bad_network_flags_stop_cairn_with_a_message() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = format!(
        "/ip4/127.0.0.1/tcp/{}",
        listener.local_addr().unwrap().port()
    );
    for (args, says) in [
        (&["--swarm", "0.0.0.0:4001"][..], "not a multiaddr"),
        (&["--swarm", "/ip4/127.0.0.1/udp/0"], "not a listen address"),
        (
            &["--peer", "/ip4/127.0.0.1/tcp/4001"],
            "does not end in /p2p/",
        ),
        (
            &["--bootstrap", "/ip4/127.0.0.1/tcp/notaport"],
            "not a multiaddr",
        ),
        (&["--dht", "dhtserver"], "server, client or auto"),
        (
            &["--offline", "--swarm", LOOPBACK_TCP],
            "cannot be used with",
        ),
        (&["--swarm", &taken], "in use"),
        (&["--max-peers", "0"], "not in 1.."),
        (&["--max-peers", "many"], "invalid digit"),
        (&["--offline", "--max-peers", "2"], "cannot be used with"),
    ] {
        let data = tempfile::tempdir().unwrap();
        let out = Command::new(cairn_bin())
            .args([
                "serve",
                "--gateway",
                "127.0.0.1:0",
                "--cluster-api",
                "off",
                "--rpc-api",
                "off",
                "--data",
            ])
            .arg(data.path())
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// `--max-peers 2`: two peers connect and stay, a third is refused (its handshake may finish
/// on its side, but cairn closes the connection); once one of the two leaves, the third gets
/// in. The peers are cairn's own libp2p node in this process, DHT clients on loopback.
#[test]
fn max_peers_caps_the_connections_cairn_keeps() {
    let server = start_cairn(&["--swarm", LOOPBACK_TCP, "--max-peers", "2"]);
    let cairn: cairn::network::PeerId = swarm_peer_id(&server).parse().unwrap();
    let target: cairn::network::Multiaddr = swarm_addr(&server, "/tcp/").parse().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let node = || async {
            let config = cairn::network::NetworkConfig {
                listen: vec![LOOPBACK_TCP.parse().unwrap()],
                dht: cairn::network::DhtMode::Client,
                ..Default::default()
            };
            let key = libp2p::identity::Keypair::generate_ed25519();
            cairn::network::start(key, config).await.unwrap()
        };
        let connected = |node: &cairn::network::NetworkHandle| {
            let node = node.clone();
            async move { node.connected_peers().await.unwrap().contains(&cairn) }
        };
        let (first, second, third) = (node().await, node().await, node().await);
        for peer in [&first, &second] {
            assert_eq!(peer.dial(target.clone()).await.unwrap(), cairn);
        }
        // Refused either during the dial or right after the handshake. Counted from the
        // three peers' side: which two hold the places may change (a loaded machine can drop
        // one), never that at most two do.
        let _ = third.dial(target.clone()).await;
        let holding = || async {
            let mut n = 0;
            for peer in [&first, &second, &third] {
                n += usize::from(connected(peer).await);
            }
            n
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while holding().await > 2 {
            assert!(Instant::now() < deadline, "cairn kept a third connection");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(holding().await <= 2, "cairn kept a third connection");

        // A limit on the count, not on who: with one gone, the third is let in.
        first.shutdown().await;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if third.dial(target.clone()).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(500)).await;
                if connected(&third).await {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "the third peer never got in");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
}

/// `cairn add` of `data` into a fresh data directory (before serving it), and its CIDv1.
fn data_dir_with(data: &[u8]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let cid = support::cairn_add(dir.path(), data);
    (dir, cid)
}

#[test]
fn kubo_fetches_content_added_on_cairn_over_bitswap() {
    let Some((kubo_repo, kubo)) = kubo() else {
        return;
    };
    // Over each transport, content Kubo has never seen: it asks its connected peers, and
    // cairn answers over bitswap, block by block.
    for (seed, listen, transport) in [(21, LOOPBACK_TCP, "/tcp/"), (22, LOOPBACK_QUIC, "/quic-v1")]
    {
        let data = support::pseudo_random(300_000, seed);
        let (dir, cid) = data_dir_with(&data);
        let server = Server::start_in(dir, &["--swarm", listen, "--cluster-api", "off"]);
        rpc(
            &kubo,
            &format!("swarm/connect?arg={}", swarm_addr(&server, transport)),
        );
        let out = kubo_repo
            .command(&["cat", "--timeout=20s", &cid])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{transport}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, data, "{transport}");
    }
}

#[test]
fn kubo_finds_cairn_as_the_provider_of_what_it_pins() {
    let Some((_repo, kubo)) = kubo() else { return };
    let data = support::pseudo_random(5_000, 23);
    for (mode, leaf_too) in [("pinned", false), ("all", true)] {
        let (dir, root) = data_dir_with(&data);
        let server = Server::start_in(
            dir,
            &[
                "--swarm",
                LOOPBACK_TCP,
                "--cluster-api",
                "off",
                "--provide",
                mode,
            ],
        );
        let cairn = swarm_peer_id(&server);
        rpc(
            &kubo,
            &format!("swarm/connect?arg={}", swarm_addr(&server, "/tcp/")),
        );
        wait_until(
            "Kubo's LAN DHT holds cairn",
            Duration::from_secs(20),
            || kubo.rpc("stats/dht?arg=lan").text().contains(&cairn),
        );
        let finds = |cid: &str| {
            kubo.rpc(&format!("routing/findprovs?arg={cid}&num-providers=1"))
                .text()
                .contains(&cairn)
        };
        wait_until(
            &format!("{mode}: Kubo finds cairn for the root"),
            Duration::from_secs(30),
            || finds(&root),
        );
        if leaf_too {
            // The first 1 KiB chunk is a raw leaf of the file.
            let leaf = support::dag::raw_cid(&data[..1024]).to_string();
            wait_until(
                &format!("{mode}: Kubo finds cairn for a leaf"),
                Duration::from_secs(30),
                || finds(&leaf),
            );
        }
        // Kubo forgets nothing between rounds; the next round's cairn has a new identity.
        drop(server);
    }
}

#[test]
fn a_kubo_two_hops_away_finds_cairn_through_the_dht_and_fetches() {
    let Some((_a_repo, kubo_a)) = kubo() else {
        return;
    };
    let Some((b_repo, kubo_b)) = kubo() else {
        return;
    };
    let data = support::pseudo_random(100_000, 24);
    let (dir, cid) = data_dir_with(&data);
    let server = Server::start_in(dir, &["--swarm", LOOPBACK_TCP, "--cluster-api", "off"]);
    let cairn = swarm_peer_id(&server);
    // cairn — Kubo A — Kubo B: B is never told about cairn.
    rpc(
        &kubo_a,
        &format!("swarm/connect?arg={}", swarm_addr(&server, "/tcp/")),
    );
    let (_, a_tcp, _) = kubo_addrs(&kubo_a);
    rpc(&kubo_b, &format!("swarm/connect?arg={a_tcp}"));
    wait_until(
        "Kubo A's LAN DHT holds cairn",
        Duration::from_secs(20),
        || kubo_a.rpc("stats/dht?arg=lan").text().contains(&cairn),
    );
    // B may meet cairn by itself too (its DHT upkeep learns cairn from A); what matters is
    // that B's DHT, through A, names cairn as the provider.
    wait_until(
        "Kubo B finds cairn as the provider through A",
        Duration::from_secs(30),
        || {
            kubo_b
                .rpc(&format!("routing/findprovs?arg={cid}&num-providers=1"))
                .text()
                .contains(&cairn)
        },
    );
    let out = b_repo
        .command(&["cat", "--timeout=30s", &cid])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, data);
    assert!(
        kubo_sees(&kubo_b, &cairn),
        "B fetched from cairn, so it dialed it"
    );
}

/// A cairn kept peered with `kubo` (with this retrieval timeout), once Kubo sees it.
fn cairn_peered_with(kubo: &KuboDaemon, retrieval_timeout: &str) -> Server {
    let (_, kubo_tcp, _) = kubo_addrs(kubo);
    let server = start_cairn(&[
        "--swarm",
        LOOPBACK_TCP,
        "--peer",
        &kubo_tcp,
        "--cluster-api",
        "off",
        "--retrieval-timeout",
        retrieval_timeout,
    ]);
    let cairn = swarm_peer_id(&server);
    wait_until("Kubo sees cairn", Duration::from_secs(20), || {
        kubo_sees(kubo, &cairn)
    });
    server
}

/// `ipfs add` of `data` on a Kubo (CIDv1, 1 KiB chunks: a DAG of several levels).
fn add_on_kubo(kubo: &Kubo, data: &[u8]) -> String {
    let file = kubo.repo.path().join("added.bin");
    std::fs::write(&file, data).unwrap();
    let out = kubo.run(&[
        "add",
        "-Q",
        "--cid-version=1",
        "--chunker=size-1024",
        file.to_str().unwrap(),
    ]);
    String::from_utf8(out).unwrap().trim().to_owned()
}

/// `ipfs add -r` on a Kubo of a directory of `files` small files, sharded (HAMT) past a
/// 1 KiB estimated size.
fn add_hamt_on_kubo(kubo: &Kubo, files: usize) -> String {
    kubo.run(&[
        "config",
        "--json",
        "Import.UnixFSHAMTDirectorySizeThreshold",
        "\"1KiB\"",
    ]);
    let dir = kubo.repo.path().join("hamt");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..files {
        std::fs::write(dir.join(format!("file-{i:04}.txt")), format!("file {i}\n")).unwrap();
    }
    let out = kubo.run(&["add", "-Q", "-r", "--cid-version=1", dir.to_str().unwrap()]);
    String::from_utf8(out).unwrap().trim().to_owned()
}

#[test]
fn cairn_serves_content_from_a_peered_kubo_over_bitswap() {
    let Some(repo) = Kubo::init_online() else {
        return;
    };
    // The HAMT threshold is read at start: set before the daemon runs.
    let hamt = add_hamt_on_kubo(&repo, 300);
    let kubo = repo.online_daemon();
    let data = support::pseudo_random(400_000, 31);
    let cid = add_on_kubo(&repo, &data);
    let small = add_on_kubo(&repo, b"one block, from Kubo");
    let server = cairn_peered_with(&kubo, "20s");
    let one = server.get(&format!("/ipfs/{small}"));
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(one.body, b"one block, from Kubo");
    // A range first: only its blocks (and the path to them) are fetched.
    let range = server.request(
        "GET",
        &format!("/ipfs/{cid}"),
        &[("Range", "bytes=123456-124455")],
    );
    assert_eq!(range.status, 206, "{}", range.text());
    assert_eq!(range.body, &data[123_456..124_456]);
    let whole = server.get(&format!("/ipfs/{cid}"));
    assert_eq!(whole.status, 200, "{}", whole.text());
    assert_eq!(whole.body, data);
    for content in [&cid, &hamt] {
        let car = server.get(&format!("/ipfs/{content}?format=car"));
        assert_eq!(car.status, 200, "{}", car.text());
        let kubo_car = kubo.gateway_get(&format!("/ipfs/{content}?format=car"), &[]);
        assert_eq!(car.body, kubo_car.body, "{content}");
    }
    let inside = server.get(&format!("/ipfs/{hamt}/file-0123.txt"));
    assert_eq!(inside.status, 200, "{}", inside.text());
    assert_eq!(inside.text(), "file 123\n");
}

#[test]
fn cairn_finds_a_provider_it_is_not_connected_to_through_the_dht() {
    let Some((_a_repo, kubo_a)) = kubo() else {
        return;
    };
    let Some((b_repo, kubo_b)) = kubo_with(&[("Routing.Type", "\"dhtclient\"")]) else {
        return;
    };
    let data = support::pseudo_random(50_000, 32);
    let cid = add_on_kubo(&b_repo, &data);
    // cairn — Kubo A — Kubo B: only B has the content, and cairn is told only of A. Both
    // cairn and B are DHT clients, so neither enters A's routing table: A never names one to
    // the other as a close peer, and only a provider lookup brings cairn to B.
    let (_, a_tcp, _) = kubo_addrs(&kubo_a);
    rpc(&kubo_b, &format!("swarm/connect?arg={a_tcp}"));
    b_repo.run(&["routing", "provide", &cid]);
    let server = start_cairn(&[
        "--swarm",
        LOOPBACK_TCP,
        "--peer",
        &a_tcp,
        "--dht",
        "client",
        "--cluster-api",
        "off",
        "--retrieval-timeout",
        "30s",
    ]);
    let cairn = swarm_peer_id(&server);
    wait_until("Kubo A sees cairn", Duration::from_secs(20), || {
        kubo_sees(&kubo_a, &cairn)
    });
    assert!(!kubo_sees(&kubo_b, &cairn));
    let got = server.get(&format!("/ipfs/{cid}"));
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.body, data);
    assert!(kubo_sees(&kubo_b, &cairn), "cairn dialed B, the provider");
}

#[test]
fn cairn_finds_a_provider_through_a_kubo_routing_v1_endpoint() {
    let Some((_a_repo, kubo_a)) = kubo_with(&[("Gateway.ExposeRoutingAPI", "true")]) else {
        return;
    };
    let Some((b_repo, kubo_b)) = kubo() else {
        return;
    };
    let data = support::pseudo_random(60_000, 33);
    let cid = add_on_kubo(&b_repo, &data);
    // Kubo A knows B (and, through its DHT, that B provides the content); cairn knows only
    // A's HTTP routing endpoint, and no peer at all.
    let (_, a_tcp, _) = kubo_addrs(&kubo_a);
    rpc(&kubo_b, &format!("swarm/connect?arg={a_tcp}"));
    b_repo.run(&["routing", "provide", &cid]);
    let router = format!("http://{}", kubo_a.gateway);
    wait_until(
        "Kubo A's routing API knows B provides the content",
        Duration::from_secs(20),
        || {
            http_request(
                kubo_a.gateway,
                "GET",
                &format!("/routing/v1/providers/{cid}"),
                &[],
            )
            .text()
            .contains("Addrs")
        },
    );
    let server = start_cairn(&[
        "--swarm",
        LOOPBACK_TCP,
        "--routing-v1",
        &router,
        "--cluster-api",
        "off",
        "--retrieval-timeout",
        "30s",
    ]);
    let cairn = swarm_peer_id(&server);
    // cairn starts knowing no peer: only the router can name B. (Once connected to B, cairn's
    // DHT upkeep may go on to meet A; that is after the fact.)
    assert!(!kubo_sees(&kubo_a, &cairn) && !kubo_sees(&kubo_b, &cairn));
    let got = server.get(&format!("/ipfs/{cid}"));
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.body, data);
    assert!(kubo_sees(&kubo_b, &cairn), "cairn dialed B, the provider");
}

#[test]
fn a_cid_no_peer_has_is_a_504_saying_what_was_tried() {
    let Some((_repo, kubo)) = kubo() else { return };
    let (kubo_id, _, _) = kubo_addrs(&kubo);
    let server = cairn_peered_with(&kubo, "4s");
    // Content nobody has (a CID of bytes never added anywhere).
    let absent = support::dag::raw_cid(b"nobody has these bytes").to_string();
    let started = Instant::now();
    let response = server.get(&format!("/ipfs/{absent}"));
    let took = started.elapsed();
    assert_eq!(response.status, 504, "{}", response.text());
    let text = response.text();
    assert!(text.contains(&absent), "{text}");
    assert!(text.contains("bitswap peers"), "{text}");
    assert!(text.contains("said DONT_HAVE"), "{text}");
    assert!(text.contains(&kubo_id), "names the peer asked: {text}");
    assert!(text.contains("provider lookup"), "{text}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

/// The `k51…` name `ipfs name publish` printed ("Published to k51…: /ipfs/…").
fn published_name(out: &[u8]) -> String {
    let text = String::from_utf8_lossy(out);
    text.split_whitespace()
        .find_map(|word| word.strip_prefix("k51").map(|rest| format!("k51{rest}")))
        .map(|name| name.trim_end_matches(':').to_owned())
        .unwrap_or_else(|| panic!("no name in {text:?}"))
}

/// `ipfs name publish` (with `flags`) of `/ipfs/<cid>` on `kubo`: the `k51…` name.
fn publish_on_kubo(kubo: &Kubo, flags: &[&str], cid: &str) -> String {
    let path = format!("/ipfs/{cid}");
    let args = [
        &["name", "publish", "--ipns-base=base36"],
        flags,
        &[path.as_str()],
    ]
    .concat();
    published_name(&kubo.run(&args))
}

/// `GET /routing/v1/ipns/<name>` on cairn.
fn routing_record(server: &Server, name: &str) -> support::Response {
    server.request(
        "GET",
        &format!("/routing/v1/ipns/{name}"),
        &[("Accept", "application/vnd.ipfs.ipns-record")],
    )
}

/// Kubo A — Kubo B — cairn, each only told about its neighbour; waits until B's LAN DHT
/// holds both, so records put on one end reach the other through B.
fn ipns_chain() -> Option<(Kubo, KuboDaemon, Kubo, KuboDaemon, Server)> {
    let (a_repo, kubo_a) = kubo()?;
    let (b_repo, kubo_b) = kubo()?;
    let (a_peer, a_tcp, _) = kubo_addrs(&kubo_a);
    rpc(&kubo_b, &format!("swarm/connect?arg={a_tcp}"));
    let server = cairn_peered_with(&kubo_b, "30s");
    let cairn = swarm_peer_id(&server);
    wait_until(
        "Kubo B's LAN DHT holds A and cairn",
        Duration::from_secs(20),
        || {
            let table = kubo_b.rpc("stats/dht?arg=lan").text();
            table.contains(&cairn) && table.contains(&a_peer)
        },
    );
    Some((a_repo, kubo_a, b_repo, kubo_b, server))
}

#[test]
fn cairn_resolves_a_name_kubo_published_two_hops_away() {
    let Some((a_repo, _kubo_a, _b_repo, _kubo_b, server)) = ipns_chain() else {
        return;
    };
    let data = support::pseudo_random(50_000, 41);
    let cid = add_on_kubo(&a_repo, &data);
    let name = publish_on_kubo(&a_repo, &["--ttl=2s"], &cid);
    // cairn was never told about A: the record comes through the DHT (from B), verified.
    let record = routing_record(&server, &name);
    assert_eq!(record.status, 200, "{}", record.text());
    let content = server.get(&format!("/ipns/{name}"));
    assert_eq!(content.status, 200, "{}", content.text());
    assert_eq!(content.body, data);

    // A newer record replaces the one cairn holds once that one's TTL has passed.
    let newer = add_on_kubo(&a_repo, b"the second version");
    a_repo.run(&["name", "publish", "--ttl=2s", &format!("/ipfs/{newer}")]);
    wait_until("cairn sees the new value", Duration::from_secs(30), || {
        server.get(&format!("/ipns/{name}")).body == b"the second version"
    });
}

#[test]
fn kubo_resolves_a_name_cairn_published_two_hops_away() {
    let Some((a_repo, _kubo_a, _b_repo, _kubo_b, server)) = ipns_chain() else {
        return;
    };
    let created = server.send("POST", "/ipns/localhost?key=site", &[], b"");
    assert_eq!(created.status, 201, "{}", created.text());
    let name = created
        .header("location")
        .and_then(|l| l.strip_prefix("ipns://"))
        .map(|l| l.trim_end_matches('/').to_owned())
        .expect("the new key's ipns:// location");
    let added = server.send("POST", "/ipfs/", &[], b"published on cairn");
    assert_eq!(added.status, 201, "{}", added.text());
    let cid = added.header("ipfs-hash").unwrap().to_owned();
    let published = server.send("POST", "/ipns/site", &[], format!("/ipfs/{cid}").as_bytes());
    assert_eq!(published.status, 200, "{}", published.text());
    // The record goes into the DHT in the background: A, two hops away, resolves it.
    wait_until(
        "Kubo A resolves cairn's name",
        Duration::from_secs(30),
        || {
            let out = a_repo
                .command(&["name", "resolve", "--nocache", "--timeout=10s", &name])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim() == format!("/ipfs/{cid}")
        },
    );
    let cat = a_repo
        .command(&["cat", "--timeout=30s", &format!("/ipns/{name}")])
        .output()
        .unwrap();
    assert_eq!(
        cat.stdout,
        b"published on cairn",
        "{}",
        String::from_utf8_lossy(&cat.stderr)
    );
}

/// A libp2p peer that speaks the LAN DHT and does what a well-behaved one would not: it puts
/// records that do not verify into others' stores and serves them from its own.
mod planting_peer {
    use std::collections::HashMap;
    use std::time::Duration;

    use futures_util::StreamExt;
    use libp2p::kad::store::{MemoryStore, RecordStore};
    use libp2p::kad::{self, GetRecordOk, QueryId, QueryResult, Quorum, Record, RecordKey};
    use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
    use libp2p::{identify, noise, tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm};
    use tokio::sync::{mpsc, oneshot};

    #[derive(NetworkBehaviour)]
    struct Behaviour {
        identify: identify::Behaviour,
        kad: kad::Behaviour<MemoryStore>,
    }

    type Values = Vec<Vec<u8>>;

    enum Ask {
        PutTo(Record, PeerId),
        Keep(Record),
        Get(RecordKey, oneshot::Sender<Vec<Vec<u8>>>),
    }

    pub struct Peer {
        asks: mpsc::UnboundedSender<Ask>,
    }

    impl Peer {
        /// Connects to `target` (with `/p2p/`) as a LAN DHT server.
        pub fn connect(target: &str) -> Peer {
            let addr: Multiaddr = target.parse().unwrap();
            let Some(libp2p::multiaddr::Protocol::P2p(target_peer)) = addr.iter().last() else {
                panic!("{target} has no /p2p/");
            };
            let mut swarm: Swarm<Behaviour> = libp2p::SwarmBuilder::with_new_identity()
                .with_tokio()
                .with_tcp(
                    tcp::Config::default(),
                    noise::Config::new,
                    yamux::Config::default,
                )
                .unwrap()
                .with_behaviour(|key| {
                    let me = key.public().to_peer_id();
                    let config = kad::Config::new(StreamProtocol::new("/ipfs/lan/kad/1.0.0"));
                    let mut kad = kad::Behaviour::with_config(me, MemoryStore::new(me), config);
                    kad.set_mode(Some(kad::Mode::Server));
                    Behaviour {
                        identify: identify::Behaviour::new(identify::Config::new(
                            "ipfs/0.1.0".into(),
                            key.public(),
                        )),
                        kad,
                    }
                })
                .unwrap()
                .build();
            swarm
                .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
                .unwrap();
            swarm
                .behaviour_mut()
                .kad
                .add_address(&target_peer, addr.clone());
            swarm.dial(addr).unwrap();
            let (asks, mut inbox) = mpsc::unbounded_channel();
            tokio::spawn(async move {
                let mut gets: HashMap<QueryId, (Values, oneshot::Sender<Values>)> = HashMap::new();
                loop {
                    tokio::select! {
                        ask = inbox.recv() => match ask {
                            Some(Ask::PutTo(record, peer)) => {
                                swarm.behaviour_mut().kad.put_record_to(record, std::iter::once(peer), Quorum::One);
                            }
                            Some(Ask::Keep(record)) => {
                                swarm.behaviour_mut().kad.store_mut().put(record).unwrap();
                            }
                            Some(Ask::Get(key, reply)) => {
                                let id = swarm.behaviour_mut().kad.get_record(key);
                                gets.insert(id, (Vec::new(), reply));
                            }
                            None => return,
                        },
                        event = swarm.select_next_some() => {
                            if let SwarmEvent::Behaviour(BehaviourEvent::Kad(
                                kad::Event::OutboundQueryProgressed { id, result: QueryResult::GetRecord(result), step, .. },
                            )) = event {
                                let done = match result {
                                    Ok(GetRecordOk::FoundRecord(found)) => {
                                        if let Some((values, _)) = gets.get_mut(&id) {
                                            values.push(found.record.value);
                                        }
                                        step.last
                                    }
                                    _ => true,
                                };
                                if done {
                                    if let Some((values, reply)) = gets.remove(&id) {
                                        let _ = reply.send(values);
                                    }
                                }
                            }
                        }
                    }
                }
            });
            Peer { asks }
        }

        /// Puts `record` into `peer`'s store (not this peer's).
        pub fn put_to(&self, record: Record, peer: PeerId) {
            self.asks.send(Ask::PutTo(record, peer)).unwrap();
        }

        /// Keeps `record` in this peer's store, unchecked, to be served to whoever asks.
        pub fn keep(&self, record: Record) {
            self.asks.send(Ask::Keep(record)).unwrap();
        }

        /// The values the DHT (this peer's store aside: it holds none of them) has for `key`.
        pub async fn get(&self, key: RecordKey) -> Vec<Vec<u8>> {
            let (reply, answer) = oneshot::channel();
            self.asks.send(Ask::Get(key, reply)).unwrap();
            tokio::time::timeout(Duration::from_secs(20), answer)
                .await
                .expect("the DHT query ends")
                .unwrap()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipns_records_that_do_not_verify_are_neither_kept_nor_used() {
    use cairn::ipld::ipns::{IpnsName, Record};
    use libp2p::kad::{Record as KadRecord, RecordKey};

    let server = tokio::task::spawn_blocking(|| {
        start_cairn(&["--swarm", LOOPBACK_TCP, "--cluster-api", "off"])
    })
    .await
    .unwrap();
    let server = std::sync::Arc::new(server);
    let cairn: libp2p::PeerId = swarm_peer_id(&server).parse().unwrap();
    let peer = planting_peer::Peer::connect(swarm_addr(&server, "/tcp/"));

    let now = std::time::SystemTime::now();
    let hour = Duration::from_secs(3600);
    let record = |seed: u8, signer: u8, eol: std::time::SystemTime| {
        let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        let name = IpnsName::from_ed25519(&key.verifying_key());
        let signing = ed25519_dalek::SigningKey::from_bytes(&[signer; 32]);
        let signed = Record::create(&signing, "/ipfs/bafkqaaa", 1, eol, hour, true).unwrap();
        let kad = KadRecord::new(
            RecordKey::new(&name.routing_key()),
            signed.to_bytes().to_vec(),
        );
        (name, kad)
    };
    let (valid_name, valid) = record(1, 1, now + hour);
    let (expired_name, expired) = record(2, 2, now - hour);
    // Signed by another key than the one the name is.
    let (forged_name, forged) = record(3, 9, now + hour);

    // Put into cairn's DHT store: only the valid record is kept, and served back.
    let stored = |key: RecordKey| {
        let peer = &peer;
        async move { peer.get(key).await }
    };
    for attempt in 0..50 {
        for record in [&valid, &expired, &forged] {
            peer.put_to(record.clone(), cairn);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        if !stored(valid.key.clone()).await.is_empty() {
            break;
        }
        assert!(attempt < 49, "cairn never kept the valid record");
    }
    assert_eq!(stored(valid.key.clone()).await, vec![valid.value.clone()]);
    assert!(
        stored(expired.key.clone()).await.is_empty(),
        "expired record kept"
    );
    assert!(
        stored(forged.key.clone()).await.is_empty(),
        "forged record kept"
    );

    // Served by the peer when cairn resolves: only the valid one is used.
    for record in [&expired, &forged] {
        peer.keep(record.clone());
    }
    let ask = |path: String| {
        let server = std::sync::Arc::clone(&server);
        tokio::task::spawn_blocking(move || server.get(&path))
    };
    let valid_answer = ask(format!("/ipns/{valid_name}")).await.unwrap();
    assert_eq!(valid_answer.status, 200, "{}", valid_answer.text());
    for name in [expired_name, forged_name] {
        let answer = ask(format!("/ipns/{name}")).await.unwrap();
        assert_eq!(answer.status, 502, "{name}: {}", answer.text());
        assert!(answer.text().contains("refused"), "{}", answer.text());
    }
}

#[test]
fn names_travel_through_a_kubo_routing_v1_endpoint() {
    let Some((repo, kubo)) = kubo_with(&[("Gateway.ExposeRoutingAPI", "true")]) else {
        return;
    };
    let router = format!("http://{}", kubo.gateway);
    // cairn and Kubo are not connected: only the router links them.
    let server = start_cairn(&[
        "--swarm",
        LOOPBACK_TCP,
        "--cluster-api",
        "off",
        "--routing-v1",
        &router,
    ]);
    let cid = add_on_kubo(&repo, b"named on kubo");
    let name = publish_on_kubo(&repo, &["--allow-offline"], &cid);
    let record = routing_record(&server, &name);
    assert_eq!(record.status, 200, "{}", record.text());
    assert_eq!(
        record.body,
        kubo.gateway_get(&format!("/routing/v1/ipns/{name}"), &[])
            .body
    );

    // cairn's own name goes to the router: Kubo then serves it.
    let created = server.send("POST", "/ipns/localhost?key=mine", &[], b"");
    assert_eq!(created.status, 201, "{}", created.text());
    let mine = created
        .header("location")
        .and_then(|l| l.strip_prefix("ipns://"))
        .map(|l| l.trim_end_matches('/').to_owned())
        .unwrap();
    wait_until(
        "Kubo's router holds cairn's record",
        Duration::from_secs(20),
        || {
            kubo.gateway_get(&format!("/routing/v1/ipns/{mine}"), &[])
                .status
                == 200
        },
    );
}

#[test]
fn bitswap_peers_that_break_the_protocol_are_disconnected() {
    use futures_util::AsyncWriteExt;

    let server = start_cairn(&["--swarm", LOOPBACK_TCP, "--cluster-api", "off"]);
    let cairn: cairn::network::PeerId = swarm_peer_id(&server).parse().unwrap();
    let target: cairn::network::Multiaddr = swarm_addr(&server, "/tcp/").parse().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut peer = support::raw_peer::RawPeer::start().await;
        let (node, opener) = (peer.node.clone(), peer.opener.clone());

        // Well-behaved: a few streams, each an empty message. The connection stays.
        assert_eq!(node.dial(target.clone()).await.unwrap(), cairn);
        let mut kept = Vec::new();
        for _ in 0..8 {
            let (mut stream, _) = opener.open(cairn).await.unwrap();
            stream.write_all(&[0]).await.unwrap();
            stream.flush().await.unwrap();
            kept.push(stream);
        }
        assert!(
            !peer.disconnected(cairn, Duration::from_secs(1)).await,
            "a good peer was dropped"
        );
        drop(kept);

        // A message that is not protobuf.
        let (mut stream, _) = opener.open(cairn).await.unwrap();
        stream
            .write_all(&[5, 0xff, 0xff, 0xff, 0xff, 0xff])
            .await
            .unwrap();
        stream.flush().await.unwrap();
        assert!(
            peer.disconnected(cairn, Duration::from_secs(10)).await,
            "still connected after garbage"
        );

        // Streams by the hundred, held open.
        assert_eq!(node.dial(target.clone()).await.unwrap(), cairn);
        let opens = (0..100).map(|_| opener.open(cairn));
        let streams = futures_util::future::join_all(opens).await;
        assert!(
            peer.disconnected(cairn, Duration::from_secs(10)).await,
            "still connected after a stream flood"
        );
        drop(streams);
    });
}
