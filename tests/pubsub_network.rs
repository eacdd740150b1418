//! Pubsub between cairn and real Kubo daemons (`Pubsub.Enabled`) on loopback: Kubo's
//! `pubsub pub` reaching cairn's event streams, cairn's POSTs reaching `ipfs pubsub sub`,
//! messages relayed through a chain (Kubo — cairn — Kubo and cairn — Kubo — Kubo, so they
//! travel through a mesh and not only over a direct link), Kubo's floodsub router, the 1 MiB
//! frame, and subscriptions following the gateway's subscribers. Every address is on
//! 127.0.0.1 with an ephemeral port; Kubo runs without bootstrap peers or routing
//! (`Kubo::init_online`, `Routing.Type none`), so the only connections are the ones made here.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::sse::{Event, EventStream, Publisher};
use support::{form, http_request_with_body, Kubo, KuboDaemon, Server};

const TIMEOUT: Duration = Duration::from_secs(30);

/// A Kubo daemon with pubsub on and no routing.
struct KuboPeer {
    repo: Kubo,
    daemon: KuboDaemon,
    id: String,
    /// Its TCP address on 127.0.0.1, with `/p2p/<id>`.
    tcp: String,
}

/// A Kubo daemon with pubsub and `config` (`ipfs config --json` pairs), or None (skipped
/// visibly) without Kubo.
fn kubo_with(config: &[(&str, &str)]) -> Option<KuboPeer> {
    let repo = Kubo::init_online()?;
    repo.run(&["config", "--json", "Pubsub.Enabled", "true"]);
    // No DHT: peers meet only through the connections the tests make.
    repo.run(&["config", "Routing.Type", "none"]);
    for (key, value) in config {
        repo.run(&["config", "--json", key, value]);
    }
    let daemon = repo.online_daemon();
    let id = rpc(&daemon, "id");
    let peer = id["ID"].as_str().unwrap().to_owned();
    let tcp = id["Addresses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .find(|a| a.starts_with("/ip4/127.0.0.1/tcp/"))
        .expect("a loopback TCP address")
        .to_owned();
    Some(KuboPeer {
        repo,
        daemon,
        id: peer,
        tcp,
    })
}

fn kubo() -> Option<KuboPeer> {
    kubo_with(&[])
}

/// `POST /api/v0/<command>`; panics unless it answers 200 with JSON (the last line of a
/// stream).
fn rpc(kubo: &KuboDaemon, command: &str) -> Value {
    let response = kubo.rpc(command);
    assert_eq!(response.status, 200, "{command}: {}", response.text());
    let text = response.text();
    let last = text.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("{}");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{command}: {e}: {text}"))
}

/// A topic as Kubo's RPC takes it: multibase base64url.
fn multibase(topic: &str) -> String {
    format!(
        "u{}",
        data_encoding::BASE64URL_NOPAD.encode(topic.as_bytes())
    )
}

fn unmultibase(text: &str) -> Vec<u8> {
    let rest = text.strip_prefix('u').expect("base64url multibase");
    data_encoding::BASE64URL_NOPAD
        .decode(rest.as_bytes())
        .unwrap()
}

impl KuboPeer {
    /// `ipfs pubsub pub` over the RPC API.
    fn publish(&self, topic: &str, data: &[u8]) {
        let (content_type, body) =
            form(&[("file", Some("data"), "application/octet-stream", data)]);
        let response = http_request_with_body(
            self.daemon.api,
            "POST",
            &format!("/api/v0/pubsub/pub?arg={}", multibase(topic)),
            &[("Content-Type", &content_type)],
            &body,
        );
        assert_eq!(response.status, 200, "pubsub pub: {}", response.text());
    }

    /// The peers Kubo knows to be subscribed to `topic`.
    fn topic_peers(&self, topic: &str) -> Vec<String> {
        let peers = rpc(
            &self.daemon,
            &format!("pubsub/peers?arg={}", multibase(topic)),
        );
        match &peers["Strings"] {
            Value::Array(list) => list
                .iter()
                .map(|p| p.as_str().unwrap().to_owned())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Waits until Kubo knows `peer` to be subscribed to `topic` (or not).
    fn wait_topic_peer(&self, topic: &str, peer: &str, subscribed: bool) {
        wait_until(
            &format!("Kubo sees {peer} subscribed={subscribed} to {topic}"),
            || self.topic_peers(topic).iter().any(|p| p == peer) == subscribed,
        );
    }

    fn connected_peers(&self) -> Vec<String> {
        match &rpc(&self.daemon, "swarm/peers")["Peers"] {
            Value::Array(peers) => peers
                .iter()
                .map(|p| p["Peer"].as_str().unwrap().to_owned())
                .collect(),
            _ => Vec::new(),
        }
    }

    fn connect(&self, addr: &str) {
        rpc(&self.daemon, &format!("swarm/connect?arg={addr}"));
    }

    /// `ipfs pubsub sub --enc=json <topic>` running in the background.
    fn subscribe(&self, topic: &str) -> KuboSubscription {
        let mut child = self
            .repo
            .command(&["pubsub", "sub", "--enc=json", topic])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ipfs pubsub sub");
        let stdout = child.stdout.take().unwrap();
        let (sender, messages) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let Ok(value) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if sender.send(KuboMessage::from_json(&value)).is_err() {
                    return;
                }
            }
        });
        KuboSubscription { child, messages }
    }
}

/// A message as `ipfs pubsub sub --enc=json` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KuboMessage {
    from: String,
    data: Vec<u8>,
    seqno: u64,
    topics: Vec<String>,
}

impl KuboMessage {
    fn from_json(value: &Value) -> KuboMessage {
        let seqno = unmultibase(value["seqno"].as_str().unwrap());
        KuboMessage {
            from: value["from"].as_str().unwrap().to_owned(),
            data: unmultibase(value["data"].as_str().unwrap()),
            seqno: u64::from_be_bytes(seqno.try_into().expect("8-byte seqno")),
            topics: value["topicIDs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| String::from_utf8(unmultibase(t.as_str().unwrap())).unwrap())
                .collect(),
        }
    }
}

struct KuboSubscription {
    child: Child,
    messages: mpsc::Receiver<KuboMessage>,
}

impl KuboSubscription {
    fn next(&self, within: Duration) -> Option<KuboMessage> {
        self.messages.recv_timeout(within).ok()
    }

    /// The next message whose data is `data`, skipping others; panics after [`TIMEOUT`].
    fn expect(&self, data: &[u8]) -> KuboMessage {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self.next(left).unwrap_or_else(|| {
                panic!("Kubo never received {:?}", String::from_utf8_lossy(data))
            });
            if message.data == data {
                return message;
            }
        }
    }
}

impl Drop for KuboSubscription {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < TIMEOUT, "not within {TIMEOUT:?}: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A cairn with its libp2p node on loopback, peered with `peers`.
fn cairn_peered_with(peers: &[&KuboPeer]) -> Server {
    let mut args = vec!["--swarm", "/ip4/127.0.0.1/tcp/0", "--cluster-api", "off"];
    for peer in peers {
        args.extend(["--peer", peer.tcp.as_str()]);
    }
    let server = Server::start_in(tempfile::tempdir().unwrap(), &args);
    let id = cairn_id(&server);
    for peer in peers {
        wait_until("Kubo sees cairn", || peer.connected_peers().contains(&id));
    }
    server
}

/// cairn's peer ID, from its swarm addresses.
fn cairn_id(server: &Server) -> String {
    let addr = server.swarm.first().expect("cairn printed a swarm address");
    addr.rsplit_once("/p2p/").unwrap().1.to_owned()
}

/// The JSON info of `/pubsub/<topic>`.
fn info(server: &Server, topic: &str) -> Value {
    let response = server.get(&format!("/pubsub/{topic}"));
    assert_eq!(response.status, 200, "{}", response.text());
    serde_json::from_slice(&response.body).unwrap()
}

/// The next message event on `stream` whose data (utf8 format) is `data`; panics after
/// [`TIMEOUT`].
fn next_with(stream: &mut EventStream, data: &str) -> Event {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = stream.next_event_within(left);
        if event.event.is_none() && event.json()["data"] == data {
            return event;
        }
    }
}

#[test]
fn kubo_publishes_to_cairn_event_streams() {
    let Some(kubo) = kubo() else { return };
    let server = cairn_peered_with(&[&kubo]);
    let cairn = cairn_id(&server);
    assert_eq!(info(&server, "from-kubo")["subscribed"], false);

    let mut stream = EventStream::open(&server, "/pubsub/from-kubo?format=utf8");
    // The gateway's subscriber subscribes the node: the JSON says so, and Kubo learns it.
    wait_until("cairn subscribed", || {
        info(&server, "from-kubo")["subscribed"] == true
    });
    kubo.wait_topic_peer("from-kubo", &cairn, true);
    // Kubo's own subscriber shows the seqno Kubo gave the message.
    let own = kubo.subscribe("from-kubo");
    std::thread::sleep(Duration::from_millis(300));
    kubo.publish("from-kubo", b"hello from kubo");

    let event = next_with(&mut stream, "hello from kubo");
    let json = event.json();
    assert_eq!(json["from"], kubo.id.as_str());
    assert_eq!(json["topics"], serde_json::json!(["from-kubo"]));
    let at_kubo = own.expect(b"hello from kubo");
    assert_eq!(event.seqno(), at_kubo.seqno, "the event id is Kubo's seqno");

    // Bytes that are not UTF-8 arrive intact (base64 format).
    let mut raw = EventStream::open(&server, "/pubsub/from-kubo?format=base64");
    std::thread::sleep(Duration::from_millis(200));
    kubo.publish("from-kubo", &[0, 255, 10, 13]);
    let event = raw.next_event_within(TIMEOUT);
    assert_eq!(event.json()["data"], "AP8KDQ==");

    // The last subscriber leaving unsubscribes the node.
    drop(stream);
    drop(raw);
    wait_until("cairn unsubscribed", || {
        info(&server, "from-kubo")["subscribed"] == false
    });
    kubo.wait_topic_peer("from-kubo", &cairn, false);
}

#[test]
fn cairn_posts_reach_kubo_subscribers() {
    let Some(kubo) = kubo() else { return };
    let server = cairn_peered_with(&[&kubo]);
    let cairn = cairn_id(&server);
    let at_kubo = kubo.subscribe("from-cairn");
    // cairn's own subscriber sees the message under the seqno Kubo sees.
    let mut local = EventStream::open(&server, "/pubsub/from-cairn?format=utf8");
    kubo.wait_topic_peer("from-cairn", &cairn, true);
    let mut publisher = Publisher::new(&server);
    // Kubo's subscription reaches cairn a moment after Kubo's subscriber starts: publish
    // until one arrives.
    let deadline = Instant::now() + TIMEOUT;
    let mut sent = 0;
    let received = loop {
        publisher.publish("/pubsub/from-cairn", b"hello from cairn");
        sent += 1;
        if let Some(message) = at_kubo.next(Duration::from_millis(300)) {
            break message;
        }
        assert!(
            Instant::now() < deadline,
            "Kubo never received cairn's message"
        );
    };
    assert_eq!(received.from, cairn, "signed by cairn's key");
    assert_eq!(received.data, b"hello from cairn");
    assert_eq!(received.topics, ["from-cairn"]);
    let seqnos: Vec<u64> = (0..sent)
        .map(|_| next_with(&mut local, "hello from cairn").seqno())
        .collect();
    assert!(
        seqnos.contains(&received.seqno),
        "cairn's subscriber saw {seqnos:?}, Kubo {}",
        received.seqno
    );

    // Messages in a row carry increasing seqnos. (One at a time: Kubo validates a peer's
    // messages concurrently and then ignores any whose seqno is below one it has already
    // accepted, so messages sent faster than it validates may be lost to reordering there.)
    let mut last = received.seqno;
    for i in 0..10 {
        publisher.publish("/pubsub/from-cairn", format!("n{i}").as_bytes());
        let message = at_kubo.expect(format!("n{i}").as_bytes());
        assert!(message.seqno > last);
        last = message.seqno;
    }

    // The largest message a 1 MiB frame carries reaches Kubo; a 1 MiB message is delivered
    // to cairn's own subscribers only (as go does), and the connection carries on.
    let fits = (1 << 20) - 200;
    let mut big = vec![b'b'; fits];
    big[0] = b'!';
    publisher.publish("/pubsub/from-cairn", &big);
    let message = at_kubo.expect(&big);
    assert_eq!(message.data.len(), fits);
    let whole = vec![b'w'; 1 << 20];
    publisher.publish("/pubsub/from-cairn", &whole);
    assert_eq!(
        next_with(&mut local, &"w".repeat(1 << 20)).json()["from"],
        cairn.as_str()
    );
    publisher.publish("/pubsub/from-cairn", b"after");
    let next = at_kubo.expect(b"after");
    assert_eq!(next.from, cairn);
}

#[test]
fn messages_cross_cairn_between_two_kubos() {
    // Kubo A — cairn — Kubo B: A and B never connect, so every message between them is
    // relayed by cairn's mesh.
    let (Some(a), Some(b)) = (kubo(), kubo()) else {
        return;
    };
    let server = cairn_peered_with(&[&a, &b]);
    let cairn = cairn_id(&server);
    let mut stream = EventStream::open(&server, "/pubsub/chain?format=utf8");
    let sub_a = a.subscribe("chain");
    let sub_b = b.subscribe("chain");
    a.wait_topic_peer("chain", &cairn, true);
    b.wait_topic_peer("chain", &cairn, true);
    // cairn must know both are subscribed before it can relay to them.
    std::thread::sleep(Duration::from_secs(1));

    a.publish("chain", b"from A");
    let at_b = sub_b.expect(b"from A");
    assert_eq!(at_b.from, a.id, "B sees A's signature, relayed by cairn");
    assert_eq!(
        next_with(&mut stream, "from A").json()["from"],
        a.id.as_str()
    );
    b.publish("chain", b"from B");
    assert_eq!(sub_a.expect(b"from B").from, b.id);
    Publisher::new(&server).publish("/pubsub/chain", b"from cairn");
    assert_eq!(sub_a.expect(b"from cairn").from, cairn);
    assert_eq!(sub_b.expect(b"from cairn").from, cairn);

    // Only through cairn.
    assert!(!a.connected_peers().contains(&b.id));
    assert!(!b.connected_peers().contains(&a.id));
}

#[test]
fn messages_cross_kubo_between_cairn_and_another_kubo() {
    // cairn — Kubo A — Kubo B: cairn's messages are relayed by go's mesh, and B's reach
    // cairn through A.
    let (Some(a), Some(b)) = (kubo(), kubo()) else {
        return;
    };
    b.connect(&a.tcp);
    let server = cairn_peered_with(&[&a]);
    let cairn = cairn_id(&server);
    let _relay = a.subscribe("far");
    let sub_b = b.subscribe("far");
    let mut stream = EventStream::open(&server, "/pubsub/far?format=utf8");
    a.wait_topic_peer("far", &cairn, true);
    a.wait_topic_peer("far", &b.id, true);
    std::thread::sleep(Duration::from_secs(1));

    let mut publisher = Publisher::new(&server);
    let deadline = Instant::now() + TIMEOUT;
    let received = loop {
        publisher.publish("/pubsub/far", b"two hops");
        if let Some(message) = sub_b.next(Duration::from_millis(500)) {
            break message;
        }
        assert!(
            Instant::now() < deadline,
            "B never received cairn's message"
        );
    };
    assert_eq!(
        (received.from.as_str(), &received.data[..]),
        (cairn.as_str(), &b"two hops"[..])
    );

    b.publish("far", b"back from B");
    let event = next_with(&mut stream, "back from B");
    assert_eq!(event.json()["from"], b.id.as_str());
    assert!(
        !b.connected_peers().contains(&cairn),
        "B and cairn never connected"
    );
}

#[test]
fn kubo_with_the_floodsub_router_talks_to_cairn() {
    let Some(kubo) = kubo_with(&[("Pubsub.Router", "\"floodsub\"")]) else {
        return;
    };
    let server = cairn_peered_with(&[&kubo]);
    let cairn = cairn_id(&server);
    let mut stream = EventStream::open(&server, "/pubsub/flood?format=utf8");
    let sub = kubo.subscribe("flood");
    kubo.wait_topic_peer("flood", &cairn, true);
    kubo.publish("flood", b"over floodsub");
    assert_eq!(
        next_with(&mut stream, "over floodsub").json()["from"],
        kubo.id.as_str()
    );
    let mut publisher = Publisher::new(&server);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        publisher.publish("/pubsub/flood", b"back over floodsub");
        if let Some(message) = sub.next(Duration::from_millis(300)) {
            if message.data == b"back over floodsub" {
                assert_eq!(message.from, cairn);
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "Kubo never received cairn's message"
        );
    }
}
