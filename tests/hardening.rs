//! Hardening (issue 18): what a hostile client, a crash or a full disk must not do to a running
//! node. Each test drives the real binary over loopback.

mod support;

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use support::{read_response, Launch, Response, Server};

/// A server with short connection timeouts, so tests of them take seconds.
fn quick_server(extra: &[&str]) -> Server {
    let mut args = vec!["--header-timeout", "1s", "--body-timeout", "1s"];
    args.extend_from_slice(extra);
    Server::start_in(tempfile::tempdir().unwrap(), &args)
}

/// Whether the server closes `stream` within `limit` (a read that ends, or fails with a reset).
fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return true,
        }
    }
    false
}

/// Sends raw bytes on a new connection and reads one response (20 s at most).
fn raw(addr: SocketAddr, request: &[u8]) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(request).unwrap();
    read_response(&mut BufReader::new(stream), false)
}

/// The status of a GET on a new connection, `None` when the server does not answer in 2 s.
fn try_get(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

fn tool_exists(name: &str) -> bool {
    std::process::Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// CPU time (user + system) a process has used, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces): state is field 3, utime 14.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Connections that never speak
// ---------------------------------------------------------------------------------------------

#[test]
fn connections_that_never_speak_are_closed_after_the_header_timeout() {
    let server = quick_server(&[]);
    let mut silent = TcpStream::connect(server.addr).unwrap();
    // Part of the HTTP/2 client preface, then nothing.
    let mut partial_preface = TcpStream::connect(server.addr).unwrap();
    partial_preface.write_all(b"PRI * HTTP/2.0\r\n").unwrap();
    // The whole magic string, but no SETTINGS frame (RFC 9113 §3.4: it is part of the preface).
    let mut magic_only = TcpStream::connect(server.addr).unwrap();
    magic_only
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .unwrap();
    for (name, stream) in [
        ("silent", &mut silent),
        ("partial HTTP/2 preface", &mut partial_preface),
        ("HTTP/2 magic without SETTINGS", &mut magic_only),
    ] {
        assert!(
            closed_within(stream, Duration::from_secs(6)),
            "{name} connection still open"
        );
    }
    // The server still answers.
    assert_eq!(server.get("/ipfs/bafkqaaa").status, 200);
}

/// An HTTP/2 frame (RFC 9113 §4.1): length, type, flags, stream.
fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut frame = len.to_be_bytes()[1..].to_vec();
    frame.extend_from_slice(&[kind, flags]);
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// The client preface: the magic and an empty SETTINGS frame.
fn h2_preface() -> Vec<u8> {
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    bytes.extend(h2_frame(0x4, 0, 0, &[]));
    bytes
}

/// A HEADERS frame for `GET path` with one extra header, HPACK-encoded as literals with
/// incremental indexing (RFC 7541 §6.2.1; names from the static table: `:authority` 1,
/// `:path` 4, `accept` 19).
fn h2_get(stream: u32, authority: &str, path: &str, accept: &str) -> Vec<u8> {
    let mut block = vec![0x82, 0x86]; // :method GET, :scheme http
    for (name_index, value) in [(1u8, authority), (4, path), (19, accept)] {
        block.push(0x40 | name_index); // 6-bit prefix: every index here fits
        assert!(value.len() < 127);
        block.push(value.len() as u8);
        block.extend_from_slice(value.as_bytes());
    }
    h2_frame(0x1, 0x4 | 0x1, stream, &block) // END_HEADERS | END_STREAM
}

#[test]
fn idle_http2_connections_are_closed_after_the_header_timeout_busy_ones_are_not() {
    let server = quick_server(&[]);
    // The whole preface, then nothing: hyper has no idle limit for HTTP/2 of its own.
    let mut idle = TcpStream::connect(server.addr).unwrap();
    idle.write_all(&h2_preface()).unwrap();
    // A pubsub stream in flight, which outlives the header timeout.
    let mut busy = TcpStream::connect(server.addr).unwrap();
    busy.write_all(&h2_preface()).unwrap();
    let authority = server.addr.to_string();
    busy.write_all(&h2_get(1, &authority, "/pubsub/room", "text/event-stream"))
        .unwrap();
    assert!(
        closed_within(&mut idle, Duration::from_secs(6)),
        "an idle HTTP/2 connection is still open"
    );
    assert!(
        !closed_within(&mut busy, Duration::from_secs(3)),
        "an HTTP/2 connection was closed with a response in flight"
    );
}

#[test]
fn idle_and_dribbling_http1_connections_are_closed_after_the_header_timeout_busy_ones_are_not() {
    let server = quick_server(&[]);
    let host = format!("Host: {}\r\n", server.addr);
    // Kept alive after an answer, then silent.
    let mut kept_alive = TcpStream::connect(server.addr).unwrap();
    kept_alive
        .write_all(format!("GET /ipfs/bafkqaaa HTTP/1.1\r\n{host}\r\n").as_bytes())
        .unwrap();
    let answer = read_response(&mut BufReader::new(kept_alive.try_clone().unwrap()), false);
    assert_eq!(answer.status, 200);
    // A head sent a line at a time, each well within the timeout, never finished.
    let mut dribbling = TcpStream::connect(server.addr).unwrap();
    dribbling
        .write_all(format!("GET /ipfs/bafkqaaa HTTP/1.1\r\n{host}").as_bytes())
        .unwrap();
    // A pubsub stream in flight, which outlives the header timeout.
    let mut busy = TcpStream::connect(server.addr).unwrap();
    busy.write_all(
        format!("GET /pubsub/room HTTP/1.1\r\n{host}Accept: text/event-stream\r\n\r\n").as_bytes(),
    )
    .unwrap();

    let started = Instant::now();
    let mut dribble_closed = false;
    while started.elapsed() < Duration::from_secs(6) {
        if dribbling.write_all(b"X-Slow: 1\r\n").is_err()
            || closed_within(&mut dribbling, Duration::from_millis(300))
        {
            dribble_closed = true;
            break;
        }
    }
    assert!(
        dribble_closed,
        "a connection dribbling its head is still open"
    );
    assert!(
        closed_within(&mut kept_alive, Duration::from_secs(6)),
        "an idle kept-alive HTTP/1.1 connection is still open"
    );
    assert!(
        !closed_within(&mut busy, Duration::from_secs(3)),
        "an HTTP/1.1 connection was closed with a response in flight"
    );
}

#[test]
fn the_descriptor_limit_is_raised_to_the_hard_limit() {
    let launch = Launch {
        shell: Some("ulimit -Sn 256".into()),
        stderr: None,
    };
    let server = Server::launch(tempfile::tempdir().unwrap(), &[], &[], &launch);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields[3], fields[4], "soft limit not raised: {line}");
    assert_ne!(fields[3], "256", "{line}");
}

#[test]
fn out_of_descriptors_the_server_sheds_connections_without_spinning_and_recovers() {
    if !tool_exists("prlimit") {
        eprintln!("SKIP: prlimit (util-linux) not installed; descriptor exhaustion not tried");
        return;
    }
    let log = tempfile::NamedTempFile::new().unwrap();
    let launch = Launch {
        shell: None,
        stderr: Some(log.path().to_owned()),
    };
    let server = Server::launch(
        tempfile::tempdir().unwrap(),
        &["--header-timeout", "2s"],
        &[],
        &launch,
    );
    let pid = server.pid();
    // Room for a few more descriptors only.
    let limit = open_files(pid) + 8;
    let status = std::process::Command::new("prlimit")
        .args([
            "--pid",
            &pid.to_string(),
            &format!("--nofile={limit}:{limit}"),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    // Far more silent connections than descriptors.
    let mut silent: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    wait_for("the shedding log line", Duration::from_secs(5), || {
        std::fs::read_to_string(log.path())
            .unwrap()
            .contains("out of file descriptors")
    });
    // No busy accept loop: well under a tenth of a core while connections keep coming.
    let ticks = cpu_ticks(pid);
    let spin = Instant::now();
    while spin.elapsed() < Duration::from_secs(2) {
        if let Ok(stream) = TcpStream::connect(server.addr) {
            silent.push(stream);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let used = cpu_ticks(pid) - ticks;
    assert!(used < 20, "{used} ticks of CPU in 2 s while shedding");
    // Once the silent ones time out, a normal client is served again.
    drop(silent);
    let started = Instant::now();
    let answered = loop {
        let attempt = try_get(server.addr, "/ipfs/bafkqaaa");
        if attempt == Some(200) || started.elapsed() > Duration::from_secs(10) {
            break attempt;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(answered, Some(200));
    // One line per episode (an episode ends when a silent connection times out and frees a
    // descriptor), not one per refused connection: about 140 were tried.
    let text = std::fs::read_to_string(log.path()).unwrap();
    let lines = text.matches("out of file descriptors").count();
    assert!((1..=4).contains(&lines), "{lines} lines:\n{text}");
}

// ---------------------------------------------------------------------------------------------
// 5. Input that must be refused
// ---------------------------------------------------------------------------------------------

#[test]
fn http_1_1_requests_need_exactly_one_valid_host() {
    let server = quick_server(&[]);
    let cases: [(&[u8], u16); 6] = [
        (
            b"GET /ipfs/bafkqaaa HTTP/1.1\r\nConnection: close\r\n\r\n",
            400,
        ),
        (
            b"GET /ipfs/bafkqaaa HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
            400,
        ),
        (
            b"GET /ipfs/bafkqaaa HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n",
            400,
        ),
        (
            b"GET /ipfs/bafkqaaa HTTP/1.1\r\nHost: a/b\r\nConnection: close\r\n\r\n",
            400,
        ),
        // HTTP/1.0 may leave Host out.
        (b"GET /ipfs/bafkqaaa HTTP/1.0\r\n\r\n", 200),
        (
            b"GET /ipfs/bafkqaaa HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            200,
        ),
    ];
    for addr in [server.addr, server.cluster.unwrap()] {
        for (request, status) in cases {
            let request = if addr == server.addr {
                request.to_vec()
            } else {
                String::from_utf8_lossy(request)
                    .replace("/ipfs/bafkqaaa", "/version")
                    .into_bytes()
            };
            let r = raw(addr, &request);
            assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&request));
            if status == 400 {
                assert!(r.text().to_lowercase().contains("host"), "{}", r.text());
                assert_eq!(r.header("access-control-allow-origin"), Some("*"));
                if addr != server.addr {
                    // The Cluster API's own error shape.
                    let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                    assert_eq!(json["code"], 400);
                }
            }
        }
    }
}

#[test]
fn http_0_9_gets_a_close_at_once() {
    let server = Server::start_in(tempfile::tempdir().unwrap(), &[]);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.write_all(b"GET /ipfs/bafkqaaa\r\n").unwrap();
    let started = Instant::now();
    assert!(closed_within(&mut stream, Duration::from_secs(5)));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn an_oversized_head_gets_431_with_cors() {
    let server = quick_server(&[]);
    let big = "x".repeat(100 << 10);
    for addr in [server.addr, server.cluster.unwrap()] {
        // On a kept-alive connection, after a normal exchange too.
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(b"GET /ipfs/bafkqaaa HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let first = read_response(&mut reader, false);
        assert!(first.status < 500);
        let _ = stream.write_all(
            format!("GET /ipfs/bafkqaaa HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {big}\r\n\r\n")
                .as_bytes(),
        );
        let r = read_response(&mut reader, false);
        assert_eq!(r.status, 431);
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("*"),
            "{:?}",
            r.headers
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Body-read timeout, uploads in flight, GC
// ---------------------------------------------------------------------------------------------

/// Starts an upload that sends `sent` of its declared `length` bytes and then stalls.
fn stalled_upload(
    addr: SocketAddr,
    path: &str,
    headers: &str,
    sent: &[u8],
    length: usize,
) -> TcpStream {
    stalled_upload_from(
        TcpStream::connect(addr).unwrap(),
        addr,
        path,
        headers,
        sent,
        length,
    )
}

/// A connection to `to` from the loopback address `from` (any of 127.0.0.0/8).
fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
        socket.connect(to).await.unwrap().into_std().unwrap()
    });
    stream.set_nonblocking(false).unwrap();
    stream
}

fn stalled_upload_from(
    mut stream: TcpStream,
    addr: SocketAddr,
    path: &str,
    headers: &str,
    sent: &[u8],
    length: usize,
) -> TcpStream {
    stream
        .write_all(
            format!(
                "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {length}\r\n{headers}\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    stream.write_all(sent).unwrap();
    stream
}

/// Runs `cairn <args> --data <data>` with a deadline; `None` if it did not finish in time.
fn cairn_within(args: &[&str], data: &Path, limit: Duration) -> Option<(bool, String)> {
    let mut child = std::process::Command::new(support::cairn_bin())
        .args(args)
        .arg("--data")
        .arg(data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut text = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            return Some((status.success(), text));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_stalled_upload_gets_408_and_releases_what_it_held() {
    let server = quick_server(&[]);
    let (content_type, body) =
        support::form(&[("file", Some("a.txt"), "text/plain", &[b'x'; 4096])]);
    for (addr, path, headers, sent) in [
        (server.addr, "/ipfs/", String::new(), &b"first bytes"[..]),
        (
            server.addr,
            "/ipfs/",
            format!("Content-Type: {content_type}\r\n"),
            &body[..100],
        ),
        (
            server.cluster.unwrap(),
            "/add",
            format!("Content-Type: {content_type}\r\n"),
            &body[..100],
        ),
    ] {
        let stream = stalled_upload(addr, path, &headers, sent, 1 << 20);
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let started = Instant::now();
        let r = read_response(&mut BufReader::new(stream), false);
        assert_eq!(r.status, 408, "{path}: {}", r.text());
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(r.header("connection"), Some("close"));
        if addr != server.addr {
            let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(json["code"], 408);
        }
    }
    // The write lease went with them: a collection runs at once.
    let (ok, out) = cairn_within(
        &["gc", "--wait", "5s"],
        server.data.path(),
        Duration::from_secs(20),
    )
    .expect("gc finished");
    assert!(ok, "{out}");
}

/// A server with `max` upload slots, `per_client` for one address, and a body timeout long
/// enough for tests to hold slots with stalled uploads.
fn upload_server(max: u32, per_client: u32) -> Server {
    let (max, per_client) = (max.to_string(), per_client.to_string());
    let args = [
        "--max-uploads",
        &max,
        "--max-uploads-per-client",
        &per_client,
        "--body-timeout",
        "60s",
    ];
    Server::start_in(tempfile::tempdir().unwrap(), &args)
}

/// `n` uploads from 127.0.0.1 that stall after their head, each holding a slot.
fn hold_uploads(server: &Server, n: usize) -> Vec<TcpStream> {
    let held = (0..n)
        .map(|_| stalled_upload(server.addr, "/ipfs/", "", b"partial", 1 << 20))
        .collect();
    // Each has its slot once its head is read.
    std::thread::sleep(Duration::from_millis(500));
    held
}

#[test]
fn uploads_in_flight_are_bounded_and_the_rest_of_the_gateway_keeps_answering() {
    let server = upload_server(2, 2);
    let held = hold_uploads(&server, 2);
    let (content_type, form) =
        support::form(&[("file", Some("a.txt"), "text/plain", b"hello world")]);
    for (addr, path) in [(server.addr, "/ipfs/"), (server.cluster.unwrap(), "/add")] {
        let r = support::http_request_with_body(
            addr,
            "POST",
            path,
            &[("Content-Type", &content_type)],
            &form,
        );
        assert_eq!(r.status, 503, "{path}: {}", r.text());
        assert!(r.header("retry-after").is_some());
    }
    assert_eq!(server.get("/ipfs/bafkqaaa").status, 200);
    // A client that gives up frees its slot.
    drop(held);
    wait_for("a free upload slot", Duration::from_secs(10), || {
        server.send("POST", "/ipfs/", &[], b"hello world").status == 201
    });
}

#[test]
fn one_client_address_cannot_take_every_upload_slot() {
    let server = upload_server(8, 2);
    // A client trickling two bodies from 127.0.0.1 holds its share.
    let held = hold_uploads(&server, 2);
    let r = server.send("POST", "/ipfs/", &[], b"hello world");
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("from this address"), "{}", r.text());
    assert!(r.header("retry-after").is_some());
    // Another address still uploads, on both APIs.
    let upload_from = |to: SocketAddr, path: &str, content_type: &str, body: &[u8]| {
        let headers = format!("Content-Type: {content_type}\r\nConnection: close\r\n");
        let stream = connect_from("127.0.0.2", to);
        let stream = stalled_upload_from(stream, to, path, &headers, body, body.len());
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        read_response(&mut BufReader::new(stream), false)
    };
    let r = upload_from(server.addr, "/ipfs/", "text/plain", b"hello world");
    assert_eq!(r.status, 201, "{}", r.text());
    let (content_type, form) =
        support::form(&[("file", Some("a.txt"), "text/plain", b"hello world")]);
    let r = upload_from(server.cluster.unwrap(), "/add", &content_type, &form);
    assert_eq!(r.status, 200, "{}", r.text());
    // From the first address too, once its uploads end.
    drop(held);
    wait_for("the address's share back", Duration::from_secs(10), || {
        server.send("POST", "/ipfs/", &[], b"hello world").status == 201
    });
}

#[test]
fn gc_never_waits_without_a_deadline_for_an_upload() {
    let server = Server::start_in(tempfile::tempdir().unwrap(), &["--body-timeout", "2s"]);
    // An upload that drips a byte well within the body timeout, for as long as the test runs.
    let addr = server.addr;
    let dripping = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let drip = {
        let dripping = std::sync::Arc::clone(&dripping);
        std::thread::spawn(move || {
            let mut stream = stalled_upload(addr, "/ipfs/", "", b"x", 1 << 20);
            while dripping.load(std::sync::atomic::Ordering::Relaxed) {
                if stream.write_all(b"x").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let outcome = cairn_within(
        &["gc", "--wait", "2s"],
        server.data.path(),
        Duration::from_secs(30),
    );
    dripping.store(false, std::sync::atomic::Ordering::Relaxed);
    drip.join().unwrap();
    let (ok, out) = outcome.expect("gc gave up within its deadline instead of hanging");
    assert!(!ok, "{out}");
    assert!(out.contains("try again later"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

// ---------------------------------------------------------------------------------------------
// 3. Crash leftovers
// ---------------------------------------------------------------------------------------------

fn tmp_files(data: &Path) -> Vec<String> {
    std::fs::read_dir(data.join("tmp"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn temporary_files_of_a_killed_server_are_removed_at_start_and_by_gc() {
    let server = Server::start_in(tempfile::tempdir().unwrap(), &[]);
    let pid = server.pid();
    // An upload in progress: its blocks sit in tmp/ until the body ends.
    let data = support::pseudo_random(3 << 20, 7);
    let mut stream = stalled_upload(server.addr, "/ipfs/", "", &data[..(2 << 20)], 3 << 20);
    wait_for("blocks written to tmp/", Duration::from_secs(10), || {
        tmp_files(server.data.path()).len() >= 4
    });
    let data_dir = server.stop(); // SIGKILL
    let _ = stream.flush();
    let left = tmp_files(data_dir.path());
    assert!(
        left.iter().all(|n| n.starts_with(&format!("{pid}-"))),
        "{left:?}"
    );
    assert!(left.len() >= 4);
    // `cairn gc` removes them…
    let (ok, out) = cairn_within(&["gc"], data_dir.path(), Duration::from_secs(20)).unwrap();
    assert!(ok, "{out}");
    assert!(tmp_files(data_dir.path()).is_empty());
    // …and so does the next start.
    let leftover = data_dir.path().join("tmp").join(format!("{pid}-5.tmp"));
    std::fs::write(&leftover, b"torn").unwrap();
    let _server = Server::start_in(data_dir, &[]);
    assert!(!leftover.exists());
}

// ---------------------------------------------------------------------------------------------
// 4. Full disk
// ---------------------------------------------------------------------------------------------

/// A small tmpfs mounted for a test (needs root), unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(bytes: u64) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk to the last byte with a file; returns its path.
    fn fill(&self) -> std::path::PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 64 << 10];
        loop {
            if file.write_all(&chunk).is_err() {
                break;
            }
        }
        // Single bytes until nothing more fits.
        while file.write_all(b"x").is_ok() {}
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_full_disk_answers_507_without_a_path_keeps_reads_and_recovers() {
    let Some(disk) = SmallDisk::mount(8 << 20) else {
        eprintln!("SKIP: cannot mount a tmpfs (not root?); the full-disk test did not run");
        return;
    };
    let data_dir = tempfile::TempDir::new_in(disk.path()).unwrap();
    let secret = data_dir.path().to_string_lossy().into_owned();
    let server = Server::start_in(data_dir, &[]);
    let r = server.send(
        "POST",
        "/ipfs/",
        &[("X-Ipfs-Pin", "")],
        b"kept before the disk filled",
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let kept = r.header("ipfs-hash").unwrap().to_owned();

    let filler = disk.fill();
    let big = support::pseudo_random(1 << 20, 3);
    let r = server.send("POST", "/ipfs/", &[], &big);
    assert_eq!(r.status, 507, "{}", r.text());
    for leak in [secret.as_str(), "/tmp", ".tmp", "blocks/"] {
        assert!(!r.text().contains(leak), "{leak} in {}", r.text());
    }
    let (content_type, form) =
        support::form(&[("file", Some("big.bin"), "application/octet-stream", &big)]);
    let r = support::http_request_with_body(
        server.cluster.unwrap(),
        "POST",
        "/add",
        &[("Content-Type", &content_type)],
        &form,
    );
    assert_eq!(r.status, 507, "{}", r.text());
    let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(json["code"], 507);
    assert!(!r.text().contains(&secret), "{}", r.text());
    // Reads keep working.
    let r = server.get(&format!("/ipfs/{kept}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"kept before the disk filled");
    // Space returns: so do writes.
    std::fs::remove_file(filler).unwrap();
    let r = server.send("POST", "/ipfs/", &[], &big);
    assert_eq!(r.status, 201, "{}", r.text());
}

#[test]
fn cluster_add_refuses_a_body_that_is_not_a_form() {
    let server = quick_server(&[]);
    let cluster = server.cluster.unwrap();
    for (headers, body) in [
        (vec![], &b"just some bytes"[..]),
        (vec![], &b""[..]),
        (
            vec![("Content-Type", "application/octet-stream")],
            &b"bytes"[..],
        ),
        (
            vec![("Content-Type", "application/vnd.ipld.car")],
            &b"bytes"[..],
        ),
    ] {
        for query in ["", "?format=car"] {
            let r = support::http_request_with_body(
                cluster,
                "POST",
                &format!("/add{query}"),
                &headers,
                body,
            );
            assert_eq!(r.status, 400, "{headers:?} {query}: {}", r.text());
            let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert!(
                json["message"]
                    .as_str()
                    .unwrap()
                    .contains("multipart/form-data"),
                "{json}"
            );
        }
    }
    // Nothing was pinned.
    let r = support::http_request(cluster, "GET", "/allocations", &[]);
    assert_eq!(r.status, 204, "{}", r.text());
}

#[test]
fn one_name_rule_for_every_write_path() {
    let server = quick_server(&[]);
    let nul = "a\0b.txt";
    let (content_type, body) = support::form(&[("file", Some(nul), "text/plain", b"x")]);
    let r = server.send("POST", "/ipfs/", &[("Content-Type", &content_type)], &body);
    assert_eq!(r.status, 400, "{}", r.text());
    const EMPTY_DIR: &str = "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354";
    let r = server.send(
        "PUT",
        &format!("/ipfs/{EMPTY_DIR}/"),
        &[("Content-Type", &content_type)],
        &body,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = server.send("PUT", &format!("/ipfs/{EMPTY_DIR}/a%00b.txt"), &[], b"x");
    assert_eq!(r.status, 400, "{}", r.text());
    // A browser's form name is kept as sent: `%00` is three characters, not a NUL, and the
    // tree exports as TAR.
    let (content_type, body) = support::form(&[("file", Some("a%00b.txt"), "text/plain", b"x")]);
    let r = server.send("POST", "/ipfs/", &[("Content-Type", &content_type)], &body);
    assert_eq!(r.status, 201, "{}", r.text());
    let root = r.header("ipfs-hash").unwrap().to_owned();
    let tar = server.get(&format!("/ipfs/{root}?format=tar"));
    assert_eq!(tar.status, 200, "{}", tar.text());
    assert!(tar.body.windows(9).any(|w| w == b"a%00b.txt"));
    // The Go clients escape names: %00 is a NUL once unescaped.
    let (content_type, body) = support::form(&[("file", Some("a%00b.txt"), "text/plain", b"x")]);
    let r = support::http_request_with_body(
        server.cluster.unwrap(),
        "POST",
        "/add",
        &[("Content-Type", &content_type)],
        &body,
    );
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn form_file_names_are_kept_as_sent() {
    let server = quick_server(&[]);
    let (content_type, body) = support::form(&[
        ("file", Some("report%20final.txt"), "text/plain", b"literal"),
        ("file", Some("say %22hi%22.txt"), "text/plain", b"quoted"),
    ]);
    let r = server.send("POST", "/ipfs/", &[("Content-Type", &content_type)], &body);
    assert_eq!(r.status, 201, "{}", r.text());
    let root = r.header("ipfs-hash").unwrap().to_owned();
    let names: Vec<String> =
        serde_json::from_slice(&server.get(&format!("/ipfs/{root}/")).body).unwrap();
    assert_eq!(names, ["report%20final.txt", "say \"hi\".txt"]);
    let got = server.get(&format!("/ipfs/{root}/report%2520final.txt"));
    assert_eq!(got.body, b"literal");
}

#[test]
fn put_of_a_name_instead_of_a_cid_points_to_post() {
    let server = quick_server(&[]);
    // `curl -T notes.txt http://gw/ipfs/` sends this.
    let r = server.send("PUT", "/ipfs/notes.txt", &[], b"some notes");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("POST it to /ipfs/"), "{}", r.text());
    assert!(r.text().contains("notes.txt"), "{}", r.text());
}

// ---------------------------------------------------------------------------------------------
// 6. What web pages may do
// ---------------------------------------------------------------------------------------------

/// One request with `host` as its only Host line.
fn at_host(
    addr: SocketAddr,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    raw(addr, &bytes)
}

#[test]
fn dns_rebinding_cannot_write_but_pages_on_any_origin_still_can() {
    let server = quick_server(&[
        "--subdomain-host",
        "gw.example",
        "--dnslink",
        "site.example=/ipfs/bafkqaaa",
    ]);
    let port = server.addr.port();
    let page = [("Origin", "https://some-page.example")];
    // A name that resolves here only because an attacker made it: no writes.
    for host in [
        format!("evil.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
    ] {
        for (method, path) in [
            ("POST", "/ipfs/"),
            ("POST", "/pubsub/topic"),
            ("PUT", "/ipfs/bafkqaaa/x"),
        ] {
            let r = at_host(server.addr, method, &host, path, &page, b"data");
            assert_eq!(r.status, 403, "{method} {path} at {host}: {}", r.text());
            assert!(r.text().contains("DNS rebinding"), "{}", r.text());
            assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        }
        // Reads are not writes.
        let r = at_host(server.addr, "GET", &host, "/ipfs/bafkqaaa", &page, b"");
        assert_eq!(r.status, 200);
    }
    // The hosts this node is reached by on purpose: pages of any origin write (Agregore).
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        format!("gw.example:{port}"),
    ] {
        let r = at_host(server.addr, "POST", &host, "/ipfs/", &page, b"hello world");
        assert_eq!(r.status, 201, "{host}: {}", r.text());
    }
    // A configured DNSLink name passes the Host rule (its origin is read-only content).
    let r = at_host(
        server.addr,
        "POST",
        &format!("site.example:{port}"),
        "/ipfs/",
        &page,
        b"x",
    );
    assert_ne!(r.status, 403, "{}", r.text());
}

#[test]
fn private_network_preflights_are_answered_deliberately() {
    let preflight = |server: &Server, addr: SocketAddr, origin: &str| {
        let r = at_host(
            addr,
            "OPTIONS",
            &server.addr.to_string(),
            "/ipfs/",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Private-Network", "true"),
            ],
            b"",
        );
        assert!(r.status < 300, "{}", r.status);
        r.header("access-control-allow-private-network")
            .map(str::to_owned)
    };
    let open = quick_server(&[]);
    assert_eq!(
        preflight(&open, open.addr, "https://page.example").as_deref(),
        Some("true")
    );
    // The Cluster API grants it to nobody by default.
    assert_eq!(
        preflight(&open, open.cluster.unwrap(), "https://page.example"),
        None
    );
    let listed = quick_server(&["--allow-origin", "https://app.example"]);
    assert_eq!(
        preflight(&listed, listed.addr, "https://app.example").as_deref(),
        Some("true")
    );
    assert_eq!(
        preflight(&listed, listed.addr, "https://page.example"),
        None
    );
    assert_eq!(
        preflight(&listed, listed.cluster.unwrap(), "https://app.example").as_deref(),
        Some("true")
    );
}

#[test]
fn the_operator_can_narrow_writes_to_origins_and_a_token() {
    let server = Server::start_in_with_env(
        tempfile::tempdir().unwrap(),
        &[
            "--allow-origin",
            "https://app.example",
            "--allow-origin",
            "http://localhost:3000",
        ],
        &[("CAIRN_WRITE_TOKEN", "correct horse")],
    );
    let token = ("Authorization", "Bearer correct horse");
    let r = server.send("POST", "/ipfs/", &[], b"hello world");
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(r
        .header("www-authenticate")
        .is_some_and(|v| v.starts_with("Bearer")));
    let r = server.send(
        "POST",
        "/ipfs/",
        &[("Authorization", "Bearer wrong")],
        b"hello world",
    );
    assert_eq!(r.status, 401);
    let r = server.send("POST", "/ipfs/", &[token], b"hello world");
    assert_eq!(r.status, 201, "{}", r.text());
    for (origin, status) in [
        ("https://app.example", 201),
        ("http://localhost:3000", 201),
        ("https://other.example", 403),
        ("null", 403),
    ] {
        let r = server.send(
            "POST",
            "/ipfs/",
            &[token, ("Origin", origin)],
            b"hello world",
        );
        assert_eq!(r.status, status, "{origin}: {}", r.text());
    }
    // Reads need neither.
    assert_eq!(server.get("/ipfs/bafkqaaa").status, 200);
    // The token also stands in for the Host rule (a reverse proxy in front).
    let r = at_host(
        server.addr,
        "POST",
        "public.example",
        "/ipfs/",
        &[token],
        b"hello world",
    );
    assert_eq!(r.status, 201, "{}", r.text());
}

#[test]
fn pages_cannot_change_the_cluster_api() {
    let server = quick_server(&[]);
    let cluster = server.cluster.unwrap();
    let cid = "bafkqaaa";
    let (content_type, form) = support::form(&[("file", Some("a.txt"), "text/plain", b"x")]);
    for (method, path, headers) in [
        ("POST", format!("/pins/{cid}"), vec![]),
        ("DELETE", format!("/pins/{cid}"), vec![]),
        (
            "POST",
            "/add".to_owned(),
            vec![("Content-Type", content_type.as_str())],
        ),
        ("POST", "/ipfs/gc".to_owned(), vec![]),
    ] {
        let mut with_origin = headers.clone();
        with_origin.push(("Origin", "https://some-page.example"));
        let r = support::http_request_with_body(cluster, method, &path, &with_origin, &form);
        assert_eq!(r.status, 403, "{method} {path}: {}", r.text());
        let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(json["code"], 403);
    }
    // Without an Origin (ipfs-cluster-ctl, Go clients) it works…
    let r = support::http_request_with_body(cluster, "POST", &format!("/pins/{cid}"), &[], b"");
    assert!(r.status < 300, "{}", r.text());
    // …and reads keep their CORS.
    let r = support::http_request(
        cluster,
        "GET",
        "/id",
        &[("Origin", "https://some-page.example")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}
