//! Content blocking with IPIP-383 denylists, against the real binary over HTTP: a request per
//! rule kind answering 410 Gone on every route and origin (path, subdomain and DNSLink
//! gateways, trustless formats, `_redirects` targets, the Cluster API), lists reloaded
//! without a restart (files appended to, new files, a URL followed as it grows), and a Kubo
//! peer that cannot fetch a blocked block from cairn over bitswap (skipped visibly without
//! Kubo).

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cid::Cid;
use sha2::Digest;
use support::{Response, Server};

// subdomain_gateway/fixtures.car
/// "hello\n" as a raw CIDv1.
const HELLO_V1: &str = "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am";
/// "hello\n" as a dag-pb file, CIDv0 (what `ipfs add` gives it).
const HELLO_V0: &str = "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN";
/// A directory: hello, api/file.txt, ipfs/file.txt, ipfs/ipns/bar.
const DIR: &str = "bafybeiht6dtwk3les7vqm6ibpvz6qpohidvlshsfyr7l5mpysdw2vmbbhe";
// redirects_file/redirects-spa.car: `/* /index.html 200`, index.html = "hello world\n".
const SPA_ROOT: &str = "bafybeib5lboymwd6p2eo4qb2lkueaine577flvsjjeuevmp2nlio72xv5q";
// path_gateway_unixfs/dir-with-files.car: hello.txt ("hello world\n") and multiblock.txt.
const DIR_WITH_FILES: &str = "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";

fn cid(text: &str) -> Cid {
    text.parse().unwrap()
}

/// `//<hex sha2-256 of "<CIDv1 base32>/<path>">`: the Bad Bits (legacy) form.
fn legacy_double_hash(cid: &Cid, path: &str) -> String {
    let v1 = Cid::new_v1(cid.codec(), *cid.hash()).to_string();
    let digest = sha2::Sha256::digest(format!("{v1}/{path}").as_bytes());
    format!("//{}", hex::encode(digest))
}

/// `//<b58 sha2-256 multihash of "<b58 multihash>[/<path>]">`: the spec's modern form.
fn double_hash(key: &str) -> String {
    let digest = sha2::Sha256::digest(key.as_bytes());
    let mut multihash = vec![0x12, 0x20];
    multihash.extend_from_slice(&digest);
    format!("//{}", bs58::encode(multihash).into_string())
}

fn b58_multihash(cid: &Cid) -> String {
    bs58::encode(cid.hash().to_bytes()).into_string()
}

/// A data directory with the fixtures the tests read, and `list` as `denylists/test.deny`.
fn data_with(list: &str) -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    let fixtures = support::fixtures();
    support::import(
        data.path(),
        &[
            fixtures.join("subdomain_gateway/fixtures.car"),
            fixtures.join("redirects_file/redirects-spa.car"),
            fixtures.join("path_gateway_unixfs/dir-with-files.car"),
        ],
    );
    std::fs::create_dir_all(data.path().join("denylists")).unwrap();
    std::fs::write(data.path().join("denylists/test.deny"), list).unwrap();
    data
}

#[track_caller]
fn assert_gone(r: &Response, what: &str) {
    assert_eq!(r.status, 410, "{what}: {r:?}");
    if !r.body.is_empty() {
        assert!(r.text().contains("is blocked"), "{what}: {}", r.text());
    }
}

#[track_caller]
fn assert_ok(r: &Response, what: &str) {
    assert_eq!(r.status, 200, "{what}: {r:?}");
}

/// One request with `host` as its only Host line.
fn at_host(server: &Server, host: &str, path: &str) -> Response {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    server.raw(request.as_bytes(), false)
}

/// Polls `check` until it holds (lists are looked at again every 2 s).
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(15);
    while Instant::now() < end {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{what}: not within 15 s");
}

#[test]
fn every_rule_kind_answers_410_on_every_route() {
    let hello = cid(HELLO_V1);
    let list = format!(
        "version: 1\nname: cairn test list\ndescription: every rule kind\n---\n\
         # A CID, written as CIDv0: blocks the multihash in any form.\n\
         /ipfs/{hello_v0_form}\n\
         # A path, and a prefix with an exception.\n\
         /ipfs/{DIR}/api/file.txt\n\
         /ipfs/{DIR}/ipfs*\n\
         !/ipfs/{DIR}/ipfs/ipns/bar\n\
         # _redirects: the page every path of the SPA is rewritten to.\n\
         /ipfs/{SPA_ROOT}/index.html\n\
         # DNSLink names.\n\
         /ipns/blocked.example\n\
         /ipns/blocked-path.example/secret\n\
         # Double hashes: the Bad Bits form of a CID, and the modern form of a path.\n\
         {legacy}\n\
         {modern}\n",
        hello_v0_form = Cid::new_v0(*hello.hash()).unwrap(),
        legacy = legacy_double_hash(&cid(HELLO_V0), ""),
        modern = double_hash(&format!(
            "{}/hello.txt",
            b58_multihash(&cid(DIR_WITH_FILES))
        )),
    );
    let server = Server::start_in(
        data_with(&list),
        &[
            "--subdomain-host",
            "localhost",
            "--dnslink",
            &format!("blocked.example=/ipfs/{DIR}"),
            "--dnslink",
            &format!("blocked-path.example=/ipfs/{DIR}"),
            "--dnslink",
            &format!("fine.example=/ipfs/{DIR}"),
        ],
    );
    let port = server.addr.port();

    // A CID: every form of its multihash, every format, HEAD too.
    for path in [
        format!("/ipfs/{HELLO_V1}"),
        format!("/ipfs/{}", Cid::new_v0(*hello.hash()).unwrap()),
        format!("/ipfs/{HELLO_V1}?format=raw"),
        format!("/ipfs/{HELLO_V1}?format=car"),
    ] {
        assert_gone(&server.get(&path), &path);
    }
    assert_gone(
        &server.request(
            "GET",
            &format!("/ipfs/{HELLO_V1}"),
            &[("Accept", "application/vnd.ipld.raw")],
        ),
        "trustless raw by Accept",
    );
    assert_eq!(
        server
            .request("HEAD", &format!("/ipfs/{HELLO_V1}"), &[])
            .status,
        410
    );
    // …and on its subdomain origin.
    assert_gone(
        &at_host(&server, &format!("{HELLO_V1}.ipfs.localhost:{port}"), "/"),
        "subdomain",
    );

    // A path and a prefix; what they do not name is served.
    assert_gone(
        &server.get(&format!("/ipfs/{DIR}/api/file.txt")),
        "path rule",
    );
    assert_gone(
        &server.get(&format!("/ipfs/{DIR}/ipfs/ipns/")),
        "prefix rule",
    );
    assert_ok(
        &server.get(&format!("/ipfs/{DIR}/ipfs/ipns/bar")),
        "exception",
    );
    // `hello` is the blocked CID; the directory holding it still lists.
    assert_gone(
        &server.get(&format!("/ipfs/{DIR}/hello")),
        "a blocked CID by its path",
    );
    let listing = server.request("GET", &format!("/ipfs/{DIR}/"), &[("Accept", "text/html")]);
    assert_ok(&listing, "the directory of a blocked file");
    assert!(listing.text().contains("hello"), "{}", listing.text());
    assert_gone(
        &at_host(
            &server,
            &format!("{DIR}.ipfs.localhost:{port}"),
            "/api/file.txt",
        ),
        "path rule on the subdomain origin",
    );

    // _redirects: a rewrite to a blocked target is blocked; the root itself is not.
    let spa = format!("{SPA_ROOT}.ipfs.localhost:{port}");
    assert_gone(&at_host(&server, &spa, "/some/page"), "_redirects target");
    assert_gone(
        &server.get(&format!("/ipfs/{SPA_ROOT}/index.html")),
        "the page itself",
    );

    // DNSLink names, on the path gateway, as a Host, and inlined on the subdomain gateway.
    assert_gone(&server.get("/ipns/blocked.example"), "/ipns/<domain>");
    assert_gone(
        &server.get("/ipns/blocked.example/api/file.txt"),
        "below it",
    );
    assert_gone(
        &at_host(&server, &format!("blocked.example:{port}"), "/"),
        "DNSLink host",
    );
    assert_gone(
        &at_host(
            &server,
            &format!("blocked-example.ipns.localhost:{port}"),
            "/",
        ),
        "inlined DNSLink on the subdomain gateway",
    );
    assert_ok(
        &server.get("/ipns/fine.example/ipfs/ipns/bar"),
        "another name",
    );
    // What a name resolves to is checked too.
    assert_gone(
        &server.get("/ipns/fine.example/api/file.txt"),
        "a blocked path reached through a name",
    );
    assert_gone(
        &server.get("/ipns/blocked-path.example/secret"),
        "a name's path",
    );
    assert_ok(
        &server.get("/ipns/blocked-path.example/ipfs/ipns/bar"),
        "its other paths",
    );

    // Double hashes.
    assert_gone(
        &server.get(&format!("/ipfs/{HELLO_V0}")),
        "legacy double hash",
    );
    assert_gone(
        &server.get(&format!("/ipfs/{DIR_WITH_FILES}/hello.txt")),
        "modern double hash",
    );
    assert_ok(
        &server.get(&format!("/ipfs/{DIR_WITH_FILES}/multiblock.txt")),
        "another path",
    );

    // The reason names the list and the line.
    let text = server.get(&format!("/ipfs/{HELLO_V1}")).text();
    assert!(
        text.contains("cairn test list") && text.contains("line 6"),
        "{text}"
    );

    // Cluster API: a pin of a blocked CID, of a blocked path, and an add of blocked content.
    let cluster = server.cluster.unwrap();
    for path in [
        format!("/pins/{HELLO_V1}"),
        format!("/pins/ipfs/{DIR}/api/file.txt"),
        "/pins/ipns/blocked.example".to_owned(),
    ] {
        let r = support::http_request_with_body(cluster, "POST", &path, &[], b"");
        assert_eq!(r.status, 410, "cluster {path}: {}", r.text());
    }
    let (content_type, body) = support::form(&[(
        "file",
        Some("hello.txt"),
        "application/octet-stream",
        b"hello\n",
    )]);
    let r = support::http_request_with_body(
        cluster,
        "POST",
        "/add?raw-leaves=true&cid-version=1",
        &[("Content-Type", &content_type)],
        &body,
    );
    assert_eq!(r.status, 410, "cluster add: {}", r.text());
    let r = support::http_request_with_body(cluster, "POST", &format!("/pins/{DIR}"), &[], b"");
    assert_eq!(r.status, 200, "an unblocked pin: {}", r.text());
}

#[test]
fn lists_are_reloaded_without_a_restart() {
    let data = data_with("# nothing yet\n");
    let list = data.path().join("denylists/test.deny");
    let server = Server::start_in(data, &[]);
    assert_ok(&server.get(&format!("/ipfs/{HELLO_V1}")), "before");
    // Appended to.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&list)
        .unwrap();
    writeln!(file, "/ipfs/{HELLO_V1}").unwrap();
    eventually("an appended rule", || {
        server.get(&format!("/ipfs/{HELLO_V1}")).status == 410
    });
    // A new list file.
    std::fs::write(
        server.data.path().join("denylists/more.deny"),
        format!("/ipfs/{DIR}/*\n"),
    )
    .unwrap();
    eventually("a new list", || {
        server.get(&format!("/ipfs/{DIR}/api/file.txt")).status == 410
    });
    // An exception appended after the rule it undoes.
    writeln!(file, "!/ipfs/{HELLO_V1}").unwrap();
    eventually("an exception", || {
        server.get(&format!("/ipfs/{HELLO_V1}")).status == 200
    });
    // A list removed.
    std::fs::remove_file(server.data.path().join("denylists/more.deny")).unwrap();
    eventually("a removed list", || {
        server.get(&format!("/ipfs/{DIR}/api/file.txt")).status == 200
    });
}

/// A list served over HTTP with `Range` support, recording the ranges asked for.
struct ListServer {
    addr: SocketAddr,
    text: Arc<Mutex<Vec<u8>>>,
    ranges: Arc<Mutex<Vec<String>>>,
}

impl ListServer {
    fn start(text: &str) -> ListServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let text = Arc::new(Mutex::new(text.as_bytes().to_vec()));
        let ranges = Arc::new(Mutex::new(Vec::new()));
        let (served, asked) = (Arc::clone(&text), Arc::clone(&ranges));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut range = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                        range = value.trim().trim_end_matches('-').parse::<usize>().ok();
                        asked.lock().unwrap().push(value.trim().to_owned());
                    }
                }
                let all = served.lock().unwrap().clone();
                let (status, extra, body) = match range {
                    Some(from) if from >= all.len() => (
                        "416 Range Not Satisfiable",
                        format!("Content-Range: bytes */{}\r\n", all.len()),
                        Vec::new(),
                    ),
                    Some(from) => (
                        "206 Partial Content",
                        format!(
                            "Content-Range: bytes {from}-{}/{}\r\n",
                            all.len() - 1,
                            all.len()
                        ),
                        all[from..].to_vec(),
                    ),
                    None => ("200 OK", String::new(), all),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
                let _ = stream.flush();
                let mut rest = Vec::new();
                let _ = reader.read_to_end(&mut rest);
            }
        });
        ListServer { addr, text, ranges }
    }

    fn append(&self, line: &str) {
        self.text.lock().unwrap().extend_from_slice(line.as_bytes());
    }
}

#[test]
fn a_list_url_is_followed_as_it_grows() {
    let list = ListServer::start(&format!("name: remote\n---\n/ipfs/{HELLO_V1}\n"));
    let url = format!("http://{}/badbits.deny", list.addr);
    let server = Server::start_in(
        data_with(""),
        &["--denylist", &url, "--denylist-refresh", "1s"],
    );
    // Read before the gateway serves.
    assert_gone(
        &server.get(&format!("/ipfs/{HELLO_V1}")),
        "the list's first rule",
    );
    assert_ok(
        &server.get(&format!("/ipfs/{DIR}/api/file.txt")),
        "before it grows",
    );
    list.append(&format!("/ipfs/{DIR}/api/file.txt\n"));
    eventually("a rule appended to the URL", || {
        server.get(&format!("/ipfs/{DIR}/api/file.txt")).status == 410
    });
    // Only what was appended was asked for (with a few bytes already read, to notice a list
    // that was replaced rather than grown).
    let ranges = list.ranges.lock().unwrap().clone();
    assert!(!ranges.is_empty(), "no Range request");
    let first_len = format!("name: remote\n---\n/ipfs/{HELLO_V1}\n").len();
    assert!(
        ranges
            .iter()
            .all(|r| r.trim_end_matches('-').parse::<usize>().unwrap() >= first_len - 64),
        "{ranges:?}"
    );
    let text = server.get(&format!("/ipfs/{DIR}/api/file.txt")).text();
    assert!(text.contains("denylist remote, line 4"), "{text}");
}

#[test]
fn a_blocked_block_is_never_served_to_a_kubo_peer() {
    let Some(kubo) = support::Kubo::init_online() else {
        return;
    };
    let daemon = kubo.online_daemon();
    let blocked_leaf = cid(HELLO_V1);
    let server = Server::start_in(
        data_with(&format!("/ipfs/{HELLO_V1}\n")),
        &["--swarm", "/ip4/127.0.0.1/tcp/0", "--cluster-api", "off"],
    );
    let addr = server
        .swarm
        .iter()
        .find(|a| a.contains("/tcp/"))
        .expect("a TCP swarm address")
        .clone();
    let r = daemon.rpc(&format!("swarm/connect?arg={addr}"));
    assert_eq!(r.status, 200, "{}", r.text());
    // An unblocked block cairn has: Kubo gets it over bitswap.
    let out = kubo
        .command(&["block", "get", "--timeout=20s", DIR])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The blocked one: cairn has it, but tells Kubo it does not.
    let out = kubo
        .command(&["block", "get", "--timeout=5s", &blocked_leaf.to_string()])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "Kubo got a blocked block: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Nor does cairn fetch blocked content from Kubo.
    let added = kubo
        .command(&["add", "-Q", "--pin=false", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(b"only on kubo\n")?;
            child.wait_with_output()
        })
        .unwrap();
    let only_on_kubo = String::from_utf8(added.stdout).unwrap().trim().to_owned();
    // Appended in one write with a rule for a local block, whose 410 shows both are in force
    // before the Kubo-only content is ever asked for.
    let list = server.data.path().join("denylists/test.deny");
    let mut file = std::fs::OpenOptions::new().append(true).open(list).unwrap();
    file.write_all(format!("/ipfs/{only_on_kubo}\n/ipfs/{DIR_WITH_FILES}\n").as_bytes())
        .unwrap();
    eventually("the new rules", || {
        server.get(&format!("/ipfs/{DIR_WITH_FILES}")).status == 410
    });
    let started = Instant::now();
    assert_gone(
        &server.get(&format!("/ipfs/{only_on_kubo}")),
        "Kubo-only content",
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered without a fetch"
    );
}

/// The Kubo RPC refuses what the lists block, as Kubo's does: a blocked path before it is
/// resolved, a blocked block wherever its path came from, and a pin of either.
#[test]
fn the_rpc_refuses_blocked_content() {
    let list = format!("/ipfs/{HELLO_V1}\n/ipfs/{DIR}/api/file.txt\n");
    let server = Server::start_in(
        data_with(&list),
        &["--rpc-api", "127.0.0.1:0", "--cluster-api", "off"],
    );
    let rpc = server.rpc.expect("the RPC listens");
    let call = |command: &str| {
        support::http_request_with_body(rpc, "POST", &format!("/api/v0/{command}"), &[], b"")
    };
    let refused = |command: &str| {
        let r = call(command);
        assert_eq!(r.status, 500, "{command}: {r:?}");
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let message = body["Message"].as_str().unwrap_or_default();
        assert!(message.contains("is blocked"), "{command}: {message}");
    };
    refused(&format!("block/get?arg={HELLO_V1}"));
    // The same multihash written as CIDv0.
    let hello_v0_form = Cid::new_v0(*cid(HELLO_V1).hash()).unwrap();
    refused(&format!("block/stat?arg={hello_v0_form}"));
    refused(&format!("block/get?arg=/ipfs/{DIR}/api/file.txt"));
    refused(&format!("pin/add?arg={HELLO_V1}"));
    // The directory's own `hello` entry is the blocked block, reached by a path no rule names.
    refused(&format!("block/get?arg=/ipfs/{DIR}/hello"));
    // What no rule names is served.
    let r = call(&format!("block/get?arg=/ipfs/{DIR}/ipfs/file.txt"));
    assert_eq!(r.status, 200, "{r:?}");
    let r = call(&format!("pin/add?arg={DIR_WITH_FILES}"));
    assert_eq!(r.status, 200, "{}", r.text());
}
