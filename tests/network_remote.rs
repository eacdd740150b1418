//! The network layer's HTTP clients against real servers: Kubo's gateway, a running cairn and
//! Rainbow (in its remote-backend mode, over cairn) as trustless block backends (blocks and
//! CAR streams), and Kubo's Delegated Routing V1 API. Tests skip visibly when Kubo or Rainbow
//! is absent (and fail under `CAIRN_REQUIRE_PEERS=1`).

mod support;

use std::time::Duration;

use cairn::network::http_client::Endpoint;
use cairn::network::remote::{
    Attempt, CarRequest, DagScope, EntityBytes, Outcome, RemoteBlocks, RemoteOptions,
};
use cairn::network::routing_v1::{RoutingOptions, RoutingV1};
use cairn::store::BlockSource;
use cid::Cid;
use futures_util::StreamExt;
use support::{pseudo_random, Kubo, Server};

/// A file of `len` bytes added to `kubo` in 1 KiB raw leaves (more than one level of links
/// past 174 leaves): its root, and every block below it in depth-first order.
fn add_file(kubo: &Kubo, data: &[u8]) -> (Cid, Vec<Cid>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.bin");
    std::fs::write(&path, data).unwrap();
    let root = text(&kubo.run(&[
        "add",
        "-Q",
        "--cid-version=1",
        "--chunker=size-1024",
        path.to_str().unwrap(),
    ]));
    let refs = text(&kubo.run(&["refs", "-r", &root]));
    let below = refs.lines().map(|l| l.parse().unwrap()).collect();
    (root.parse().unwrap(), below)
}

fn text(out: &[u8]) -> String {
    String::from_utf8(out.to_vec()).unwrap().trim().to_string()
}

fn endpoint(addr: std::net::SocketAddr) -> Endpoint {
    Endpoint::parse(&format!("http://{addr}")).unwrap()
}

/// Reads the file back through `remote`: every block fetched (and so checked), the raw
/// leaves, in order, making the file.
async fn read_back(remote: &RemoteBlocks, root: &Cid, below: &[Cid], data: &[u8]) {
    assert!(remote.get(root).await.unwrap().is_some());
    let mut file = Vec::new();
    for cid in below {
        let block = remote.get(cid).await.unwrap().unwrap();
        if cid.codec() == 0x55 {
            file.extend_from_slice(&block);
        }
    }
    assert_eq!(file.len(), data.len());
    assert!(file == data, "the leaves do not make the file");
    assert!(remote.has(root).await.unwrap());
    assert_eq!(
        remote.size(&below[0]).await.unwrap(),
        Some(remote.get(&below[0]).await.unwrap().unwrap().len() as u64)
    );
}

/// A CID nobody has.
fn absent() -> Cid {
    use multihash_codetable::{Code, MultihashDigest};
    Cid::new_v1(
        0x55,
        Code::Sha2_256.digest(b"cairn network_remote: nobody has this"),
    )
}

/// The CAR of the whole DAG, and of the first 1000 bytes of the file, streamed and checked.
async fn cars(remote: &RemoteBlocks, root: &Cid, below: &[Cid]) {
    let stream = remote
        .fetch_car(&CarRequest::new(*root))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stream.roots(), [*root]);
    let got: Vec<Cid> = stream.map(|item| item.unwrap().0).collect().await;
    let mut want = vec![*root];
    want.extend_from_slice(below);
    assert_eq!(got, want, "DFS order, every block");

    let range = CarRequest::new(*root)
        .scope(DagScope::Entity)
        .entity_bytes(EntityBytes {
            from: 0,
            to: Some(999),
        });
    let stream = remote.fetch_car(&range).await.unwrap().unwrap();
    let got: Vec<Cid> = stream.map(|item| item.unwrap().0).collect().await;
    // The root, the first intermediate node, and the one leaf holding bytes 0–999.
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0], *root);
    assert_eq!(got[2].codec(), 0x55);
    assert_eq!(got[1..], below[..2]);
}

#[tokio::test]
async fn kubo_gateway_is_a_block_backend() {
    let Some(kubo) = Kubo::init() else { return };
    kubo.isolate();
    let data = pseudo_random(200_000, 1);
    let (root, below) = add_file(&kubo, &data);
    assert!(
        below.len() > 174,
        "one level of links only: {}",
        below.len()
    );
    let daemon = kubo.daemon();
    let remote =
        RemoteBlocks::new(vec![endpoint(daemon.gateway)], RemoteOptions::default()).unwrap();
    read_back(&remote, &root, &below, &data).await;
    // Byte for byte what Kubo stores.
    let root_text = root.to_string();
    assert_eq!(
        remote.get(&root).await.unwrap().unwrap(),
        kubo.run(&["block", "get", &root_text])
    );
    assert_eq!(remote.get(&absent()).await.unwrap(), None);
    assert!(!remote.has(&absent()).await.unwrap());
    cars(&remote, &root, &below).await;
    // Kubo answers a CAR of content it lacks with 200, a header and an error text: no block
    // came, so that is a failed attempt, not a stream.
    let error = remote
        .fetch_car(&CarRequest::new(absent()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error.attempts[..],
            [Attempt {
                outcome: Outcome::BadCar(_),
                ..
            }]
        ),
        "{error}"
    );
}

#[tokio::test]
async fn cairn_gateway_is_a_block_backend() {
    let Some(kubo) = Kubo::init() else { return };
    let data = pseudo_random(200_000, 2);
    let (root, below) = add_file(&kubo, &data);
    // Kubo's DAG, moved into cairn as a CAR.
    let car = tempfile::NamedTempFile::new().unwrap();
    let exported = kubo.run(&["dag", "export", &root.to_string()]);
    std::fs::write(car.path(), exported).unwrap();
    let dir = tempfile::tempdir().unwrap();
    support::import(dir.path(), &[car.path().to_path_buf()]);
    let server = Server::start_in(dir, &[]);

    let remote = RemoteBlocks::new(vec![endpoint(server.addr)], RemoteOptions::default()).unwrap();
    read_back(&remote, &root, &below, &data).await;
    assert_eq!(remote.get(&absent()).await.unwrap(), None);
    assert!(!remote.has(&absent()).await.unwrap());
    cars(&remote, &root, &below).await;
    // cairn knows before streaming that it lacks the root: a 404, so none.
    assert!(remote
        .fetch_car(&CarRequest::new(absent()))
        .await
        .unwrap()
        .is_none());
}

/// Two cairn servers, one without the content: requests alternate between them, the empty
/// one answers 404 and the other is asked next.
#[tokio::test]
async fn cairn_backends_share_the_requests() {
    let Some(kubo) = Kubo::init() else { return };
    let data = pseudo_random(20_000, 3);
    let (root, below) = add_file(&kubo, &data);
    let car = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(car.path(), kubo.run(&["dag", "export", &root.to_string()])).unwrap();
    let full = tempfile::tempdir().unwrap();
    support::import(full.path(), &[car.path().to_path_buf()]);
    let full = Server::start_in(full, &[]);
    let empty = Server::start_in(tempfile::tempdir().unwrap(), &[]);
    let remote = RemoteBlocks::new(
        vec![endpoint(empty.addr), endpoint(full.addr)],
        RemoteOptions::default(),
    )
    .unwrap();
    read_back(&remote, &root, &below, &data).await;
}

/// A running Rainbow, killed on drop.
struct Rainbow {
    child: std::process::Child,
    gateway: std::net::SocketAddr,
    _data: tempfile::TempDir,
}

impl Rainbow {
    /// Rainbow in its remote-backend block mode over `backend`, with libp2p, bitswap, the DHT,
    /// delegated routers, bootstrap peers and autoconf off, so it reaches nothing else.
    fn start(backend: std::net::SocketAddr) -> Option<Rainbow> {
        let bin = support::peer("rainbow")?;
        let data = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(data.path().join("denylists")).unwrap();
        let free = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
        };
        let (gateway, ctl) = (free(), free());
        let child = std::process::Command::new(bin)
            .env("RAINBOW_DATADIR", data.path())
            .args([
                "--libp2p=false",
                "--bitswap=false",
                "--dht-routing=off",
                "--http-routers=",
                "--bootstrap=",
                "--autoconf=false",
                // Never asked here; named so no default resolver is configured.
                "--dnslink-resolvers=. : https://127.0.0.1:1/dns-query",
                &format!("--remote-backends=http://{backend}"),
                "--remote-backends-mode=block",
                &format!("--gateway-listen-address={gateway}"),
                &format!("--ctl-listen-address={ctl}"),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start rainbow");
        let rainbow = Rainbow {
            child,
            gateway,
            _data: data,
        };
        let ready = std::time::Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(gateway).is_err() {
            assert!(std::time::Instant::now() < ready, "rainbow did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(rainbow)
    }
}

impl Drop for Rainbow {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// cairn as the remote backend of Rainbow (its block mode), and Rainbow as a backend of
/// `RemoteBlocks`: blocks and CARs pass through both.
#[tokio::test]
async fn rainbow_over_cairn_is_a_block_backend() {
    let Some(kubo) = Kubo::init() else { return };
    let data = pseudo_random(200_000, 5);
    let (root, below) = add_file(&kubo, &data);
    let car = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(car.path(), kubo.run(&["dag", "export", &root.to_string()])).unwrap();
    let dir = tempfile::tempdir().unwrap();
    support::import(dir.path(), &[car.path().to_path_buf()]);
    let cairn = Server::start_in(dir, &[]);
    let Some(rainbow) = Rainbow::start(cairn.addr) else {
        return;
    };
    let remote =
        RemoteBlocks::new(vec![endpoint(rainbow.gateway)], RemoteOptions::default()).unwrap();
    read_back(&remote, &root, &below, &data).await;
    cars(&remote, &root, &below).await;
}

/// Kubo with `Gateway.ExposeRoutingAPI`: a second node, connected to the first, learns that
/// the first provides a CID; both routing APIs then name the first node as its provider,
/// with its address, and know where it is.
#[tokio::test]
async fn kubo_routing_v1_finds_providers_and_peers() {
    let (Some(a), Some(b)) = (Kubo::init(), Kubo::init()) else {
        return;
    };
    for kubo in [&a, &b] {
        kubo.isolate();
        kubo.run(&["config", "--json", "Gateway.ExposeRoutingAPI", "true"]);
    }
    let (root, _) = add_file(&a, &pseudo_random(5_000, 4));
    let a_id = text(&a.run(&["config", "Identity.PeerID"]));
    let (a_daemon, b_daemon) = (a.daemon_with(&[]), b.daemon_with(&[]));
    let b_id = text(&b.run(&["config", "Identity.PeerID"]));
    let b_swarm = b_daemon.swarm.expect("b listens");
    let b_addr = format!("/ip4/127.0.0.1/tcp/{}/p2p/{b_id}", b_swarm.port());
    a.run(&["swarm", "connect", &b_addr]);
    a.run(&["routing", "provide", &root.to_string()]);
    let a_addr = format!(
        "/ip4/127.0.0.1/tcp/{}",
        a_daemon.swarm.expect("a listens").port()
    );

    let options = RoutingOptions {
        timeout: Duration::from_secs(20),
        ..RoutingOptions::default()
    };
    for daemon in [&a_daemon, &b_daemon] {
        let routing = RoutingV1::new(vec![endpoint(daemon.gateway)], options.clone()).unwrap();
        let providers = routing.find_providers(&root).await.unwrap();
        let provider = providers
            .iter()
            .find(|p| p.peer_id == a_id)
            .unwrap_or_else(|| panic!("{a_id} not among {providers:?}"));
        assert!(provider.addrs.contains(&a_addr), "{provider:?}");
    }
    let routing = RoutingV1::new(vec![endpoint(b_daemon.gateway)], options).unwrap();
    assert!(routing.find_peer(&a_id).await.unwrap().contains(&a_addr));
    assert!(routing.find_providers(&absent()).await.unwrap().is_empty());
}
