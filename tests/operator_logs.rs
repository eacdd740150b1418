//! What an operator ships and probes: the access log (a line per request, text or JSON),
//! the tracing logs on standard error (no colour codes when it is not a terminal, JSON with
//! `--log-format json`), and the `/healthz` and `/readyz` probes on the gateway port.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::Server;

// subdomain_gateway/fixtures.car: "hello\n" as a raw CIDv1.
const HELLO: &str = "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am";

fn data() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    support::import(
        data.path(),
        &[support::fixtures().join("subdomain_gateway/fixtures.car")],
    );
    data
}

/// The log's lines once it holds `n` (it is written off the request path, a moment later).
fn lines(path: &Path, n: usize) -> Vec<String> {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if lines.len() >= n || Instant::now() > end {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_access_log_has_a_line_per_request() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("access.log");
    let server = Server::start_in(
        data(),
        &[
            "--access-log",
            log.to_str().unwrap(),
            "--cluster-api",
            "off",
        ],
    );
    let ok = server.get(&format!("/ipfs/{HELLO}?format=raw"));
    assert_eq!(ok.status, 200);
    let missing = server.get("/nothing/here");
    assert_eq!(missing.status, 404);
    let head = server.request("HEAD", &format!("/ipfs/{HELLO}"), &[]);
    assert_eq!(head.status, 200);
    let lines = lines(&log, 3);
    assert_eq!(lines.len(), 3, "{lines:?}");
    let fields: Vec<Vec<&str>> = lines.iter().map(|l| l.split(' ').collect()).collect();
    // time client "METHOD target VERSION" status bytes seconds source host
    let first = &fields[0];
    assert!(first[0].ends_with('Z'), "{lines:?}");
    assert!(first[1].starts_with("127.0.0.1:"), "{lines:?}");
    assert_eq!(
        &first[2..5],
        ["\"GET", &format!("/ipfs/{HELLO}?format=raw"), "HTTP/1.1\""]
    );
    assert_eq!(first[5], "200");
    assert_eq!(first[6], ok.body.len().to_string());
    assert!(first[7].parse::<f64>().unwrap() < 10.0);
    assert_eq!(first[8], "local", "{lines:?}");
    assert_eq!(first[9], server.addr.to_string());
    assert_eq!((fields[1][5], fields[1][8]), ("404", "-"), "{lines:?}");
    assert_eq!(
        (fields[2][2], fields[2][5], fields[2][6]),
        ("\"HEAD", "200", "0")
    );
}

#[test]
fn json_logs_and_no_colour_codes_off_a_terminal() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("access.json");
    for format in ["text", "json"] {
        let data = data();
        let mut child = Command::new(support::cairn_bin())
            .args([
                "serve",
                "--offline",
                "--gateway",
                "127.0.0.1:0",
                "--cluster-api",
                "off",
                "--metrics",
                "off",
            ])
            .args([
                "--log-format",
                format,
                "--access-log",
                log.to_str().unwrap(),
            ])
            .arg("--data")
            .arg(data.path())
            .env("RUST_LOG", "info")
            .env_remove("NO_COLOR")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr: std::net::SocketAddr = line
            .trim()
            .rsplit("http://")
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let r = support::http_request(addr, "GET", &format!("/ipfs/{HELLO}"), &[]);
        assert_eq!(r.status, 200);
        // The "serving" line is logged once the gateway listens.
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut logged = String::new();
        let end = Instant::now() + Duration::from_secs(10);
        while !logged.contains("serving") && Instant::now() < end {
            stderr.read_line(&mut logged).unwrap();
        }
        // This run's access line (the file is shared by both runs), before the server goes.
        let access = lines(&log, if format == "text" { 1 } else { 2 });
        let _ = child.kill();
        let _ = child.wait();
        assert!(logged.contains("serving"), "{logged}");
        assert!(!logged.contains('\u{1b}'), "colour codes in {logged:?}");
        if format == "json" {
            for line in logged.lines() {
                let value: serde_json::Value =
                    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
                assert!(value["level"].is_string(), "{line}");
            }
            let value: serde_json::Value = serde_json::from_str(access.last().unwrap()).unwrap();
            assert_eq!(value["status"], 200);
            assert_eq!(value["target"], format!("/ipfs/{HELLO}"));
            assert_eq!(value["source"], "local");
            assert_eq!(value["bytes"], 6);
        }
    }
}

#[test]
fn probes_answer_on_the_gateway_port() {
    let server = Server::start_in(data(), &["--subdomain-host", "localhost"]);
    let live = server.get("/healthz");
    assert_eq!((live.status, live.text().as_str()), (200, "ok\n"));
    assert_eq!(live.header("cache-control"), Some("no-store"));
    let ready = server.get("/readyz");
    assert_eq!((ready.status, ready.text().as_str()), (200, "ready\n"));
    assert_eq!(server.request("HEAD", "/readyz", &[]).status, 200);
    // On a content origin the path is the content's.
    let request = format!(
        "GET /readyz HTTP/1.1\r\nHost: {HELLO}.ipfs.localhost:{}\r\nConnection: close\r\n\r\n",
        server.addr.port()
    );
    let on_origin = server.raw(request.as_bytes(), false);
    assert_ne!(on_origin.text(), "ready\n", "{on_origin:?}");
    // Probes are not requests for content: a POST is routed as usual.
    assert_ne!(server.send("POST", "/healthz", &[], b"").status, 200);
}
