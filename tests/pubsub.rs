//! The `/pubsub` API against the real binary: JSON info, event streams in each format, decode
//! errors, the 1 MiB limit, HEAD, topic decoding, errors, CORS, unsubscribing on disconnect,
//! and fan-out (many subscribers; a stalled one that loses messages without slowing others).

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::sse::{Event, EventStream, Publisher};
use support::{Response, Server};

const SSE: (&str, &str) = ("Accept", "text/event-stream");

fn server() -> Server {
    Server::start_in(tempfile::tempdir().unwrap(), &[])
}

/// The node's peer ID as its key store holds it.
fn peer_id(server: &Server) -> String {
    cairn::services::keystore::Keystore::open(server.data.path())
        .unwrap()
        .self_key()
        .peer_id()
}

/// A POST with a chunked body, on a new connection.
fn post_chunked(server: &Server, path: &str, body: &[u8]) -> Response {
    let mut request =
        format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
            .into_bytes();
    for chunk in body.chunks(100_000) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    server.raw(&request, false)
}

fn info(server: &Server, path: &str) -> Value {
    let response = server.get(path);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_cors(&response);
    serde_json::from_slice(&response.body).unwrap()
}

fn assert_cors(response: &Response) {
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("*"),
        "no CORS on {} {:?}",
        response.status,
        response.headers
    );
}

/// Polls the JSON info until `subscribed` is `want`.
fn wait_subscribed(server: &Server, path: &str, want: bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while info(server, path)["subscribed"] != want {
        assert!(
            Instant::now() < deadline,
            "subscribed never became {want} for {path}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn info_tracks_subscription_and_carries_the_peer_id() {
    let server = server();
    let peer = peer_id(&server);
    assert!(peer.starts_with("12D3KooW"), "{peer}");
    assert_eq!(
        info(&server, "/pubsub/room"),
        json!({"id": peer, "topic": "room", "subscribed": false})
    );
    let stream = EventStream::open(&server, "/pubsub/room");
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    assert_eq!(stream.header("cache-control"), Some("no-cache"));
    assert_eq!(stream.header("x-accel-buffering"), Some("no"));
    assert_eq!(stream.header("access-control-allow-origin"), Some("*"));
    assert_eq!(stream.header("x-ipfs-id"), Some(peer.as_str()));
    // Subscribed by the time the headers arrive.
    assert_eq!(info(&server, "/pubsub/room")["subscribed"], true);
    assert_eq!(info(&server, "/pubsub/other")["subscribed"], false);
    let second = EventStream::open(&server, "/pubsub/room");
    drop(stream);
    // One subscriber is left.
    thread::sleep(Duration::from_millis(100));
    assert_eq!(info(&server, "/pubsub/room")["subscribed"], true);
    drop(second);
    wait_subscribed(&server, "/pubsub/room", false);
}

#[test]
fn event_formats_and_decode_errors() {
    let server = server();
    let peer = peer_id(&server);
    let mut base64 = EventStream::open(&server, "/pubsub/fmt");
    let mut explicit = EventStream::open(&server, "/pubsub/fmt?format=Base64");
    let mut utf8 = EventStream::open(&server, "/pubsub/fmt?format=utf8");
    let mut json = EventStream::open(&server, "/pubsub/fmt?format=JSON");
    let messages: [&[u8]; 5] = [
        b"hello",
        b"{\"a\": [1, 2.5, \"x\\ny\"],\n \"b\": null}\n",
        b"\xff\xfe not utf-8",
        b"{\"unclosed\": ",
        "naïve \"quoted\"\nline".as_bytes(),
    ];
    let mut publisher = Publisher::new(&server);
    for m in messages {
        publisher.publish("/pubsub/fmt", m);
    }

    let mut last = 0;
    for (i, m) in messages.iter().enumerate() {
        let event = base64.next_event();
        assert_eq!(event, explicit.next_event());
        let seqno = event.seqno();
        assert!(i == 0 || seqno > last, "ids increase: {seqno} after {last}");
        last = seqno;
        assert_eq!(
            event.json(),
            json!({"from": peer, "data": data_encoding::BASE64.encode(m), "topics": ["fmt"]})
        );
    }

    let utf8_events: Vec<Event> = (0..5).map(|_| utf8.next_event()).collect();
    assert_eq!(utf8_events[0].json()["data"], "hello");
    assert_eq!(
        utf8_events[1].json()["data"],
        String::from_utf8(messages[1].to_vec()).unwrap()
    );
    assert_eq!(
        utf8_events[2],
        Event {
            id: None,
            event: Some("error-decode".into()),
            data: "not valid UTF-8".into()
        }
    );
    assert_eq!(utf8_events[3].json()["data"], "{\"unclosed\": ");
    assert_eq!(utf8_events[4].json()["data"], "naïve \"quoted\"\nline");
    assert_eq!(utf8_events[4].json()["from"], peer.as_str());

    let json_events: Vec<Event> = (0..5).map(|_| json.next_event()).collect();
    assert_eq!(
        json_events[1].json()["data"],
        json!({"a": [1, 2.5, "x\ny"], "b": null})
    );
    assert_eq!(json_events[1].seqno(), utf8_events[1].seqno());
    for i in [0, 2, 3, 4] {
        let event = &json_events[i];
        assert_eq!(event.event.as_deref(), Some("error-decode"), "{event:?}");
        assert_eq!(event.id, None);
        assert!(!event.data.is_empty());
    }
}

#[test]
fn one_mebibyte_is_the_limit() {
    let server = server();
    let mut stream = EventStream::open(&server, "/pubsub/big");
    let max = vec![b'z'; 1 << 20];
    let mut publisher = Publisher::new(&server);
    publisher.publish("/pubsub/big", &max);
    let event = stream.next_event();
    let data = event.json()["data"].as_str().unwrap().to_owned();
    assert_eq!(data_encoding::BASE64.decode(data.as_bytes()).unwrap(), max);

    // One byte more: refused by Content-Length, the connection still usable after it.
    let over = vec![b'z'; (1 << 20) + 1];
    let refused = publisher.post("/pubsub/big", &over);
    assert_eq!(refused.status, 413);
    assert!(refused.text().contains("1 MiB"), "{}", refused.text());
    assert_cors(&refused);
    // Chunked: counted while reading.
    let refused = post_chunked(&server, "/pubsub/big", &over);
    assert_eq!(refused.status, 413, "{}", refused.text());
    assert_cors(&refused);
    let accepted = post_chunked(&server, "/pubsub/big", &max);
    assert_eq!(accepted.status, 200, "{}", accepted.text());
    assert_cors(&accepted);
    // Only the accepted ones were delivered.
    let event = stream.next_event();
    assert_eq!(event.json()["data"].as_str().unwrap().len(), data.len());
    publisher.publish("/pubsub/big", b"end");
    assert_eq!(stream.next_event().json()["data"], "ZW5k");
}

#[test]
fn head_answers_on_pubsub_and_below() {
    let server = server();
    let get = server.get("/pubsub/t");
    for path in [
        "/pubsub/",
        "/pubsub",
        "/pubsub/t",
        "/pubsub/a/b/c",
        "/pubsub/%ff",
        "/pubsub/t?format=bogus",
    ] {
        let head = server.request("HEAD", path, &[]);
        assert_eq!(head.status, 200, "{path}");
        assert!(head.body.is_empty());
        assert_cors(&head);
        for name in ["content-type", "cache-control", "x-ipfs-id", "vary"] {
            assert_eq!(head.header(name), get.header(name), "{name} on {path}");
        }
    }
    let head = server.request("HEAD", "/pubsub/t", &[]);
    assert_eq!(head.header("content-length"), get.header("content-length"));
    let head = server.request("HEAD", "/pubsub/t", &[SSE]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    // HEAD never subscribes.
    assert_eq!(info(&server, "/pubsub/t")["subscribed"], false);
}

#[test]
fn topics_keep_slashes_and_are_percent_decoded() {
    let server = server();
    let mut stream = EventStream::open(&server, "/pubsub/a%20b/c");
    assert_eq!(info(&server, "/pubsub/a%20b/c")["topic"], "a b/c");
    assert_eq!(info(&server, "/pubsub/a%20b%2Fc")["subscribed"], true);
    assert_eq!(info(&server, "/pubsub/a%20b")["subscribed"], false);
    let mut publisher = Publisher::new(&server);
    publisher.publish("/pubsub/a%20b%2Fc", b"1");
    publisher.publish("/pubsub/a%20b/c/", b"not this topic");
    publisher.publish("/pubsub/a%20b/c", b"2");
    let first = stream.next_event().json();
    assert_eq!(first["topics"], json!(["a b/c"]));
    assert_eq!(first["data"], "MQ==");
    assert_eq!(stream.next_event().json()["data"], "Mg==");
}

#[test]
fn errors_are_statuses_with_cors() {
    let server = server();
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], u16);
    let cases: &[Case<'_>] = &[
        ("GET", "/pubsub/", &[], 400),
        ("GET", "/pubsub/", &[SSE], 400),
        ("GET", "/pubsub", &[SSE], 400),
        ("GET", "/pubsub/%ff", &[], 400),
        ("GET", "/pubsub/t?format=xml", &[SSE], 400),
        ("GET", "/pubsub/t?format=", &[SSE], 400),
        ("POST", "/pubsub/", &[("Content-Length", "0")], 400),
        ("PUT", "/pubsub/t", &[("Content-Length", "0")], 405),
        ("DELETE", "/pubsub/t", &[], 405),
        ("PATCH", "/pubsub/", &[], 405),
        ("OPTIONS", "/pubsub/t", &[], 204),
        ("POST", "/pubsub/t", &[("Content-Length", "0")], 200),
    ];
    for (method, path, headers, status) in cases {
        let response = server.request(method, path, headers);
        assert_eq!(
            response.status,
            *status,
            "{method} {path}: {}",
            response.text()
        );
        assert_cors(&response);
        if *status == 405 {
            assert_eq!(response.header("allow"), Some("GET, HEAD, POST, OPTIONS"));
        }
        if *status == 400 {
            assert!(!response.text().trim().is_empty());
        }
    }
    assert_eq!(info(&server, "/pubsub/t")["subscribed"], false);
}

#[test]
fn fan_out_reaches_every_subscriber_in_order() {
    const SUBSCRIBERS: usize = 200;
    const MESSAGES: usize = 200;
    let server = server();
    let mut streams: Vec<EventStream> = (0..SUBSCRIBERS)
        .map(|_| EventStream::open(&server, "/pubsub/fan?format=utf8"))
        .collect();
    let mut publisher = Publisher::new(&server);
    let started = Instant::now();
    for i in 0..MESSAGES {
        publisher.publish("/pubsub/fan", format!("message {i}").as_bytes());
    }
    let mut first_ids = Vec::new();
    for stream in &mut streams {
        let mut ids = Vec::with_capacity(MESSAGES);
        for i in 0..MESSAGES {
            let event = stream.next_event();
            assert_eq!(event.json()["data"], format!("message {i}"), "{event:?}");
            ids.push(event.seqno());
        }
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        if first_ids.is_empty() {
            first_ids = ids;
        } else {
            assert_eq!(ids, first_ids, "every subscriber sees the same messages");
        }
    }
    eprintln!(
        "fan-out: {} deliveries in {:?}",
        SUBSCRIBERS * MESSAGES,
        started.elapsed()
    );
    drop(streams);
    wait_subscribed(&server, "/pubsub/fan", false);
}

#[test]
fn a_stalled_subscriber_loses_messages_without_slowing_others() {
    // Messages large enough that the stalled reader's socket buffers fill and the topic's
    // buffer (128 messages) overflows for it.
    const MESSAGES: usize = 400;
    const SIZE: usize = 64 << 10;
    // The publisher stays at most WINDOW messages ahead of the slower active reader, so the
    // readers (slow in a debug build) never lag themselves; were the stalled subscriber to hold
    // delivery up, the publisher would wait forever and the readers would time out.
    const WINDOW: usize = 32;
    let server = server();
    let mut stalled = EventStream::open(&server, "/pubsub/slow");
    let progress: Arc<[AtomicUsize; 2]> = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let mut stream = EventStream::open(&server, "/pubsub/slow");
            let progress = Arc::clone(&progress);
            thread::spawn(move || {
                let mut last = None;
                for i in 0..MESSAGES {
                    let event = stream.next_event();
                    let value = event.json();
                    let data = data_encoding::BASE64
                        .decode(value["data"].as_str().unwrap().as_bytes())
                        .unwrap();
                    assert_eq!(data.len(), SIZE);
                    assert_eq!(data[0], (i % 251) as u8, "message {i} in order");
                    let seqno = event.seqno();
                    assert!(last.is_none_or(|l| seqno > l));
                    last = Some(seqno);
                    progress[r].store(i + 1, Ordering::Release);
                }
                last.unwrap()
            })
        })
        .collect();
    let mut publisher = Publisher::new(&server);
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 0..MESSAGES {
        while progress
            .iter()
            .any(|p| p.load(Ordering::Acquire) + WINDOW < i)
        {
            assert!(
                Instant::now() < deadline,
                "the active readers stopped at {i}"
            );
            thread::sleep(Duration::from_millis(1));
        }
        publisher.publish("/pubsub/slow", &vec![(i % 251) as u8; SIZE]);
    }
    // The readers finish while the stalled one has read nothing.
    let last: Vec<u64> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(last[0], last[1]);
    let last = last[0];

    let (mut received, mut lost, mut previous) = (0usize, 0u64, 0u64);
    let mut lost_reported_after = None;
    loop {
        let event = stalled.next_event();
        if event.event.as_deref() == Some("error") {
            let n: u64 = event
                .data
                .strip_prefix("lost ")
                .and_then(|d| d.strip_suffix(" messages"))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{event:?}"));
            assert!(n > 0);
            lost += n;
            lost_reported_after.get_or_insert(received);
            continue;
        }
        let seqno = event.seqno();
        assert!(seqno > previous, "in order after the loss");
        previous = seqno;
        received += 1;
        if seqno == last {
            break;
        }
    }
    assert!(lost > 0, "the stalled subscriber should have lost messages");
    assert!(
        lost_reported_after.is_some_and(|n| n < received),
        "messages follow the error event"
    );
    assert_eq!(
        received as u64 + lost,
        MESSAGES as u64,
        "every message delivered or counted"
    );
}

#[test]
fn shutdown_ends_open_event_streams() {
    let mut server = server();
    let mut stream = EventStream::open(&server, "/pubsub/bye");
    Publisher::new(&server).publish("/pubsub/bye", b"x");
    stream.next_event();
    let started = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The stream ends properly (last chunk) instead of being cut after the grace period.
    while stream.try_read_chunk() {}
    assert!(server.wait().success());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown waited {:?} for the open stream",
        started.elapsed()
    );
}
