//! The Kubo RPC API (`--rpc-api`): Kubo's own CLI (`ipfs --api …`) driving cairn, each
//! command's status, headers and body shape beside a real Kubo 0.43.1 daemon given the same
//! requests, block/put streaming its answers while the body still arrives, blocks found by
//! multihash whatever codec they were put under, and `pin/add` fetching over Bitswap from the
//! peer `swarm/connect` reached (another cairn, or Kubo). Kubo is found with `peer("ipfs")`:
//! without it the comparisons are skipped with a message (they fail under
//! CAIRN_REQUIRE_PEERS=1). Every address is on 127.0.0.1 with an ephemeral port.

mod support;

use std::collections::BTreeSet;
use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{http_request_with_body, pseudo_random, Kubo, KuboDaemon, Response, Server};

const LOOPBACK_TCP: &str = "/ip4/127.0.0.1/tcp/0";
const BOUNDARY: &str = "cairnrpcboundary7d3f";

/// A cairn with the RPC on an ephemeral port, offline.
fn cairn() -> Server {
    Server::start_in(tempfile::tempdir().unwrap(), &["--rpc-api", "127.0.0.1:0"])
}

/// A cairn with the RPC and a libp2p node on loopback.
fn online_cairn() -> Server {
    Server::start_in(
        tempfile::tempdir().unwrap(),
        &["--rpc-api", "127.0.0.1:0", "--swarm", LOOPBACK_TCP],
    )
}

fn rpc_addr(server: &Server) -> SocketAddr {
    server.rpc.expect("the RPC listens")
}

/// `POST /api/v0/<command>` with headers and a body, taking trailers (`TE: trailers`, which
/// an HTTP/1.1 server needs before it may send any; Kubo sends them regardless).
fn post(addr: SocketAddr, command: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let mut headers = headers.to_vec();
    headers.push(("TE", "trailers"));
    http_request_with_body(addr, "POST", &format!("/api/v0/{command}"), &headers, body)
}

fn call(addr: SocketAddr, command: &str) -> Response {
    post(addr, command, &[], b"")
}

fn json(response: &Response) -> Value {
    serde_json::from_slice(&response.body)
        .unwrap_or_else(|e| panic!("{e}: {:?} {}", response.status, response.text()))
}

fn lines(response: &Response) -> Vec<Value> {
    response
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// A multipart body of one `file` part per block, as Go's `MultiFileReader` sends them.
fn multipart(blocks: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    for block in blocks {
        body.extend_from_slice(part_head().as_bytes());
        body.extend_from_slice(block);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn part_head() -> String {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"file\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
}

fn form_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

fn block_put(addr: SocketAddr, query: &str, blocks: &[&[u8]]) -> Response {
    let content_type = form_type();
    post(
        addr,
        &format!("block/put?{query}"),
        &[("Content-Type", &content_type)],
        &multipart(blocks),
    )
}

/// A Kubo daemon for side-by-side comparisons (online, isolated, no peers).
fn kubo() -> Option<(Kubo, KuboDaemon)> {
    let kubo = Kubo::init_online()?;
    let daemon = kubo.online_daemon();
    Some((kubo, daemon))
}

/// The headers a comparison looks at, as one reply carries them (names lower-cased; Date and
/// Server are the servers' own).
fn shape_headers(response: &Response) -> Vec<(String, String)> {
    const COMPARED: &[&str] = &[
        "content-type",
        "x-chunked-output",
        "x-stream-output",
        "trailer",
        "allow",
        "access-control-allow-origin",
        "access-control-allow-headers",
        "access-control-expose-headers",
        "access-control-allow-methods",
        "vary",
        "x-content-type-options",
        "location",
    ];
    let mut headers: Vec<(String, String)> = response
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .filter(|(n, _)| COMPARED.contains(&n.as_str()))
        .collect();
    headers.sort();
    headers
}

/// The shape of a JSON value: objects keep their keys, arrays their first element's shape,
/// strings and numbers only their kind.
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().take(1).map(shape).collect()),
        Value::String(_) => Value::String("string".into()),
        Value::Number(_) => Value::String("number".into()),
        other => other.clone(),
    }
}

/// Both servers answer `request` with the same status and headers (those compared), and:
/// `Same` bodies, bodies of the same JSON `Shape`, or the same `Lines` of JSON.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Body {
    Same,
    Shape,
    /// cairn's JSON is a part of Kubo's, of the same shape where it has something.
    Part,
    LineShapes,
}

/// Whether every key of `part` is in `whole`, with a value of the same shape.
fn within(part: &Value, whole: &Value) -> bool {
    match (part, whole) {
        (Value::Object(p), Value::Object(w)) => p
            .iter()
            .all(|(k, v)| w.get(k).is_some_and(|wv| within(v, wv))),
        (p, w) => p == w,
    }
}

fn compare(what: &str, kubo: &Response, cairn: &Response, body: Body) {
    assert_eq!(
        (kubo.status, shape_headers(kubo)),
        (cairn.status, shape_headers(cairn)),
        "{what}: status and headers (Kubo, then cairn)\nKubo: {}\ncairn: {}",
        kubo.text(),
        cairn.text()
    );
    match body {
        Body::Same => assert_eq!(kubo.text(), cairn.text(), "{what}: bodies"),
        Body::Shape => assert_eq!(
            shape(&json(kubo)),
            shape(&json(cairn)),
            "{what}: JSON shapes"
        ),
        Body::Part => assert!(
            within(&shape(&json(cairn)), &shape(&json(kubo))),
            "{what}: cairn's {} is not part of Kubo's {}",
            cairn.text(),
            kubo.text()
        ),
        Body::LineShapes => {
            let shapes = |r: &Response| -> BTreeSet<String> {
                lines(r).iter().map(|v| shape(v).to_string()).collect()
            };
            assert_eq!(shapes(kubo), shapes(cairn), "{what}: line shapes");
        }
    }
    let trailers = |r: &Response| -> Vec<(String, String)> {
        r.trailers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .collect()
    };
    assert_eq!(
        trailers(kubo),
        trailers(cairn),
        "{what}: trailers (Kubo, then cairn)"
    );
}

/// The same request to both.
fn both(
    kubo: &KuboDaemon,
    cairn: SocketAddr,
    command: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (Response, Response) {
    (
        post(kubo.api, command, headers, body),
        post(cairn, command, headers, body),
    )
}

#[test]
fn kubos_cli_drives_cairn() {
    let Some(ipfs) = support::peer("ipfs") else {
        return;
    };
    let server = online_cairn();
    let api = format!("/ip4/127.0.0.1/tcp/{}", rpc_addr(&server).port());
    let run = |args: &[&str], stdin: Option<&[u8]>| -> String {
        let scratch = tempfile::tempdir().unwrap();
        let out = support::output_with_stdin(
            Command::new(&ipfs)
                .arg("--api")
                .arg(&api)
                .args(args)
                // No repository: the CLI must work from the API address alone.
                .env("IPFS_PATH", scratch.path())
                .env("IPFS_TELEMETRY", "off"),
            stdin.unwrap_or(b""),
        );
        assert!(
            out.status.success(),
            "ipfs {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let id: Value = serde_json::from_str(&run(&["id"], None)).unwrap();
    let peer = server.swarm[0].rsplit_once("/p2p/").unwrap().1;
    assert_eq!(id["ID"], peer);
    assert_eq!(id["AgentVersion"], "cairn/0.1.0");
    assert!(id["Addresses"][0]
        .as_str()
        .unwrap()
        .ends_with(&format!("/p2p/{peer}")));

    // Kubo's CIDs for `hello` (raw and dag-pb CIDv1), from files given on the command line.
    let scratch = tempfile::tempdir().unwrap();
    let hello = scratch.path().join("hello");
    std::fs::write(&hello, b"hello").unwrap();
    let world = scratch.path().join("world");
    std::fs::write(&world, b"world").unwrap();
    let raw = "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq";
    let put = run(
        &[
            "block",
            "put",
            hello.to_str().unwrap(),
            world.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        put,
        format!("{raw}\nbafkreicin2sgejgrxnh3nahtj56jvwlkr4sozcf6opvi4wtmmuta5hfyu4\n")
    );
    let pb = run(&["block", "put", "--cid-codec=dag-pb"], Some(b"hello"));
    assert_eq!(
        pb.trim(),
        "bafybeibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"
    );
    assert_eq!(run(&["block", "get", raw], None), "hello");
    assert_eq!(
        run(&["block", "stat", pb.trim()], None),
        format!("Key: {}\nSize: 5\n", pb.trim())
    );
    assert_eq!(
        run(&["pin", "add", raw], None),
        format!("pinned {raw} recursively\n")
    );
    assert_eq!(run(&["pin", "ls"], None), format!("{raw} recursive\n"));
    assert_eq!(
        run(&["pin", "ls", "--type=recursive", "-q"], None),
        format!("{raw}\n")
    );
    assert_eq!(
        run(&["pin", "ls", "--stream", raw], None),
        format!("{raw} recursive\n")
    );
    assert_eq!(
        run(&["pin", "add", "--progress", "--name=greeting", raw], None),
        format!("pinned {raw} recursively\n")
    );
    assert_eq!(
        run(&["pin", "ls", "--names"], None),
        format!("{raw} recursive greeting\n")
    );
    assert_eq!(run(&["pin", "rm", raw], None), format!("unpinned {raw}\n"));
    assert_eq!(run(&["pin", "ls"], None), "");
    assert!(run(&["repo", "stat"], None).contains("NumObjects: 2\n"));
    assert_eq!(run(&["swarm", "peers"], None), "");
}

#[test]
fn requests_are_answered_as_kubo_answers_them() {
    let Some((_repo, kubo)) = kubo() else { return };
    let server = online_cairn();
    let cairn = rpc_addr(&server);
    // Methods, paths, origins: nothing of these depends on content.
    let kubo_origin = format!("http://127.0.0.1:{}", kubo.api.port());
    let cairn_origin = format!("http://127.0.0.1:{}", cairn.port());
    let kubo_localhost = format!("http://localhost:{}/webui", kubo.api.port());
    let cairn_localhost = format!("http://localhost:{}/webui", cairn.port());
    for (what, method, path, headers) in [
        ("GET", "GET", "/api/v0/version", vec![]),
        ("HEAD", "HEAD", "/api/v0/version", vec![]),
        ("PUT on an unknown command", "PUT", "/api/v0/nosuch", vec![]),
        ("an unknown command", "POST", "/api/v0/nosuch", vec![]),
        ("outside the API", "POST", "/nosuch", vec![]),
        ("the API's root", "POST", "/api/v0", vec![]),
        (
            "a foreign origin",
            "POST",
            "/api/v0/version",
            vec![("Origin", "http://evil.example")],
        ),
        (
            "a foreign referer",
            "POST",
            "/api/v0/version",
            vec![("Referer", "http://evil.example/x")],
        ),
        (
            "a browser without origin",
            "POST",
            "/api/v0/version",
            vec![("User-Agent", "Mozilla/5.0 (X11)")],
        ),
        (
            "Electron without origin",
            "POST",
            "/api/v0/version",
            vec![("User-Agent", "Mozilla/5.0 Electron/30")],
        ),
        (
            "a companion origin",
            "POST",
            "/api/v0/version",
            vec![(
                "Origin",
                "chrome-extension://nibjojkomfdiaoajekhjakgkdhaomnch",
            )],
        ),
        ("a plain OPTIONS", "OPTIONS", "/api/v0/id", vec![]),
        (
            "a preflight from a foreign origin",
            "OPTIONS",
            "/api/v0/id",
            vec![
                ("Origin", "http://evil.example"),
                ("Access-Control-Request-Method", "POST"),
            ],
        ),
        (
            "a preflight for GET",
            "OPTIONS",
            "/api/v0/id",
            vec![
                ("Origin", "http://localhost:1"),
                ("Access-Control-Request-Method", "GET"),
            ],
        ),
    ] {
        let k = http_request_with_body(kubo.api, method, path, &headers, b"");
        let c = http_request_with_body(cairn, method, path, &headers, b"");
        let body = if k.header("content-type") == Some("application/json") {
            Body::Shape
        } else {
            Body::Same
        };
        compare(what, &k, &c, body);
    }
    // The API's own origins, which differ by port.
    for (what, kubo_headers, cairn_headers) in [
        (
            "its own origin",
            vec![("Origin", kubo_origin.as_str())],
            vec![("Origin", cairn_origin.as_str())],
        ),
        (
            "a localhost referer",
            vec![("Referer", kubo_localhost.as_str())],
            vec![("Referer", cairn_localhost.as_str())],
        ),
    ] {
        let k = post(kubo.api, "version", &kubo_headers, b"");
        let c = post(cairn, "version", &cairn_headers, b"");
        assert_eq!(c.status, 200, "{what}");
        assert_eq!(k.status, 200, "{what}");
        assert_eq!(
            k.header("access-control-allow-origin")
                .map(|o| o.replace(&kubo.api.port().to_string(), "PORT")),
            c.header("access-control-allow-origin")
                .map(|o| o.replace(&cairn.port().to_string(), "PORT")),
            "{what}"
        );
    }
    let preflight = |addr: SocketAddr, origin: &str| {
        http_request_with_body(
            addr,
            "OPTIONS",
            "/api/v0/pin/ls",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "content-type"),
            ],
            b"",
        )
    };
    let (k, c) = (
        preflight(kubo.api, &kubo_origin),
        preflight(cairn, &cairn_origin),
    );
    assert_eq!(
        shape_headers(&k)
            .into_iter()
            .map(|(n, v)| (n, v.replace(&kubo.api.port().to_string(), "PORT")))
            .collect::<Vec<_>>(),
        shape_headers(&c)
            .into_iter()
            .map(|(n, v)| (n, v.replace(&cairn.port().to_string(), "PORT")))
            .collect::<Vec<_>>(),
        "an allowed preflight"
    );
    assert_eq!((k.status, c.status), (204, 204));

    // Commands, with the same content on both sides.
    let (blocks, root, leaf) = kubo_tree(&kubo);
    let form = form_type();
    let raw_blocks: Vec<&[u8]> = blocks.iter().map(|(_, b)| b.as_slice()).collect();
    // As the cluster sends them: every block as raw; Kubo and cairn both key by multihash.
    let cluster_query =
        "block/put?allow-big-block=true&cid-codec=raw&mhlen=32&mhtype=sha2-256&pin=false";
    let (k, c) = both(
        &kubo,
        cairn,
        cluster_query,
        &[("Content-Type", &form)],
        &multipart(&raw_blocks),
    );
    compare("block/put as the cluster sends it", &k, &c, Body::Same);
    assert_eq!(lines(&c).len(), blocks.len());
    for (what, command) in [
        ("version", "version".to_owned()),
        ("id", "id".to_owned()),
        ("config/show", "config/show".to_owned()),
        ("repo/stat", "repo/stat".to_owned()),
        ("repo/stat size-only", "repo/stat?size-only=true".to_owned()),
        ("swarm/peers, none", "swarm/peers".to_owned()),
        (
            "block/stat of a dag-pb block put as raw",
            format!("block/stat?arg={root}"),
        ),
        (
            "block/stat by path",
            format!("block/stat?arg=/ipfs/{root}/sub/a.txt"),
        ),
        ("resolve", format!("resolve?arg=/ipfs/{root}/sub/a.txt")),
        ("resolve of a root", format!("resolve?arg=/ipfs/{root}")),
        ("pin/add", format!("pin/add?arg={root}")),
        ("pin/ls of the pin", format!("pin/ls?arg={root}")),
        (
            "pin/ls of the pin by type",
            format!("pin/ls?arg={root}&type=recursive"),
        ),
        ("pin/ls of a leaf", format!("pin/ls?arg={leaf}")),
        (
            "pin/add direct of an indirect block",
            format!("pin/add?arg={leaf}&recursive=false"),
        ),
        (
            "pin/ls of the direct pin",
            format!("pin/ls?arg={leaf}&type=direct"),
        ),
        ("pin/rm of the direct pin", format!("pin/rm?arg={leaf}")),
        ("pin/rm of what is not pinned", format!("pin/rm?arg={leaf}")),
        (
            "pin/ls of what is not pinned",
            format!("pin/ls?arg={leaf}&stream=true&type=recursive"),
        ),
        ("pin/ls of a bad type", "pin/ls?type=bogus".to_owned()),
        ("pin/add of a bad path", "pin/add?arg=notacid".to_owned()),
        (
            "pin/update to itself",
            format!("pin/update?arg={root}&arg={root}"),
        ),
        (
            "pin/update from what is not pinned",
            format!("pin/update?arg={leaf}&arg={root}"),
        ),
        (
            "swarm/connect of a bad address",
            "swarm/connect?arg=garbage".to_owned(),
        ),
        (
            "swarm/connect of an address without peer",
            "swarm/connect?arg=/ip4/127.0.0.1/tcp/9".to_owned(),
        ),
    ] {
        let (k, c) = both(&kubo, cairn, &command, &[], b"");
        let body = match what {
            // Messages both sides word alike.
            "pin/rm of what is not pinned"
            | "pin/ls of what is not pinned"
            | "pin/ls of a bad type"
            | "pin/update from what is not pinned"
            | "block/stat of a dag-pb block put as raw"
            | "block/stat by path"
            | "resolve"
            | "resolve of a root"
            | "pin/add"
            | "pin/ls of the pin"
            | "pin/ls of the pin by type"
            | "pin/ls of the direct pin"
            | "pin/add direct of an indirect block"
            | "pin/rm of the direct pin" => Body::Same,
            "config/show" => Body::Part,
            _ => Body::Shape,
        };
        compare(what, &k, &c, body);
    }
    // Streams: the pin as a line; the tree's blocks as indirect pins.
    for (what, command) in [
        (
            "pin/ls stream of the pin",
            format!("pin/ls?arg={root}&stream=true"),
        ),
        (
            "pin/ls stream, recursive",
            "pin/ls?stream=true&type=recursive".to_owned(),
        ),
        (
            "pin/ls stream, indirect",
            "pin/ls?stream=true&type=indirect".to_owned(),
        ),
        (
            "pin/add with progress",
            format!("pin/add?arg={root}&progress=true"),
        ),
    ] {
        let (k, c) = both(&kubo, cairn, &command, &[], b"");
        compare(what, &k, &c, Body::LineShapes);
        // Kubo's repository holds its empty directory pinned besides.
        let empty_dir = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn";
        let set = |r: &Response| -> BTreeSet<String> {
            lines(r)
                .iter()
                .map(|v| v.to_string())
                .filter(|l| !l.contains(empty_dir))
                .collect()
        };
        if what != "pin/add with progress" {
            assert_eq!(set(&k), set(&c), "{what}");
        } else {
            assert_eq!(lines(&c).last().unwrap()["Pins"][0], root.as_str());
        }
    }
    // Arguments and options go-ipfs-cmds refuses before any command runs.
    for command in [
        "pin/add",
        "pin/ls?stream=maybe",
        "pin/add?arg=x&recursive=maybe",
        "block/get",
        "block/stat",
        "swarm/connect",
        "block/put",
        "resolve",
    ] {
        let (k, c) = both(&kubo, cairn, command, &[], b"");
        compare(command, &k, &c, Body::Same);
    }
    // block/put: Kubo's CIDs for every prefix option, its errors, and a block too big after a
    // good one (the line, then the trailer).
    let hello: &[&[u8]] = &[b"hello", b"world"];
    for query in [
        "",
        "cid-codec=dag-pb",
        "format=v0",
        "format=cbor",
        "cid-codec=dag-pb&mhlen=20",
        "mhtype=blake3",
        "mhtype=sha2-512",
        "mhtype=identity",
        "pin=true",
        "cid-codec=nosuch",
        "mhtype=nosuch",
        "mhlen=64",
        "mhlen=abc",
        "format=v0&cid-codec=dag-cbor",
    ] {
        let (k, c) = (
            block_put(kubo.api, query, hello),
            block_put(cairn, query, hello),
        );
        compare(&format!("block/put?{query}"), &k, &c, Body::Same);
    }
    let big = pseudo_random((2 << 20) + 1, 7);
    for (query, blocks) in [
        ("", vec![&big[..]]),
        ("", vec![&b"hello"[..], &big[..]]),
        ("allow-big-block=true", vec![&big[..]]),
    ] {
        let (k, c) = (
            block_put(kubo.api, query, &blocks),
            block_put(cairn, query, &blocks),
        );
        compare(
            &format!("block/put?{query} of a big block"),
            &k,
            &c,
            Body::Same,
        );
    }
    let (k, c) = both(
        &kubo,
        cairn,
        "block/get?arg=bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq",
        &[],
        b"",
    );
    compare("block/get", &k, &c, Body::Same);
    let (k, c) = both(&kubo, cairn, "pin/ls?stream=true&type=direct", &[], b"");
    compare("pin/ls, no direct pins", &k, &c, Body::Same);
    let (k, c) = both(&kubo, cairn, &format!("pin/rm?arg={root}"), &[], b"");
    compare("pin/rm", &k, &c, Body::Same);
    let (k, c) = both(&kubo, cairn, "repo/gc", &[], b"");
    compare("repo/gc", &k, &c, Body::LineShapes);
}

/// A small UnixFS tree added on Kubo (offline, CIDv0 as Kubo's default): every block
/// (CID, bytes), the root, and the one file's CID.
fn kubo_tree(kubo: &KuboDaemon) -> (Vec<(String, Vec<u8>)>, String, String) {
    let form = form_type();
    let mut body = Vec::new();
    for (name, kind, data) in [
        ("tree", "application/x-directory", Vec::new()),
        ("tree%2Fsub", "application/x-directory", Vec::new()),
        (
            "tree%2Fsub%2Fa.txt",
            "application/octet-stream",
            b"a file in a tree\n".to_vec(),
        ),
        (
            "tree%2Fb.bin",
            "application/octet-stream",
            pseudo_random(600_000, 3),
        ),
    ] {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: {kind}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    let added = post(
        kubo.api,
        "add?pin=false&quieter=true",
        &[("Content-Type", &form)],
        &body,
    );
    assert_eq!(added.status, 200, "{}", added.text());
    let root = lines(&added).last().unwrap()["Hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let refs = call(
        kubo.api,
        &format!("refs?arg={root}&recursive=true&unique=true"),
    );
    let mut cids = vec![root.clone()];
    cids.extend(
        lines(&refs)
            .iter()
            .map(|r| r["Ref"].as_str().unwrap().to_owned()),
    );
    let blocks = cids
        .iter()
        .map(|cid| {
            let got = call(kubo.api, &format!("block/get?arg={cid}"));
            assert_eq!(got.status, 200);
            (cid.clone(), got.body)
        })
        .collect();
    let leaf = json(&call(
        kubo.api,
        &format!("resolve?arg=/ipfs/{root}/sub/a.txt"),
    ))["Path"]
        .as_str()
        .unwrap()
        .trim_start_matches("/ipfs/")
        .to_owned();
    (blocks, root, leaf)
}

/// block/put answers each block while the body still arrives: the first block's line comes
/// back before the second block is sent (a pause commits what came), and the reply tells the
/// client the connection will close (its body was not all read when the reply began).
#[test]
fn block_put_answers_while_the_body_still_arrives() {
    let server = cairn();
    let addr = rpc_addr(&server);
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST /api/v0/block/put?pin=true HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {}\r\n\
         Transfer-Encoding: chunked\r\n\r\n",
        form_type()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = |stream: &mut TcpStream, data: &[u8]| {
        stream
            .write_all(format!("{:x}\r\n", data.len()).as_bytes())
            .unwrap();
        stream.write_all(data).unwrap();
        stream.write_all(b"\r\n").unwrap();
    };
    let mut first = part_head().into_bytes();
    first.extend_from_slice(b"hello");
    // The part ends with the delimiter's CRLF and the next part's head.
    first.extend_from_slice(b"\r\n");
    first.extend_from_slice(part_head().as_bytes());
    chunk(&mut stream, &first);
    // The reply and the first line, while the body is still open.
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut head_lines = Vec::new();
    loop {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        head_lines.push(line.trim_end().to_ascii_lowercase());
    }
    assert!(head_lines[0].starts_with("http/1.1 200"), "{head_lines:?}");
    assert!(
        head_lines.contains(&"connection: close".to_owned()),
        "{head_lines:?}"
    );
    assert!(
        head_lines.contains(&"x-chunked-output: 1".to_owned()),
        "{head_lines:?}"
    );
    let mut size = String::new();
    std::io::BufRead::read_line(&mut reader, &mut size).unwrap();
    let mut line = vec![0; usize::from_str_radix(size.trim(), 16).unwrap() + 2];
    std::io::Read::read_exact(&mut reader, &mut line).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&line),
        "{\"Key\":\"bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq\",\"Size\":5}\n\r\n"
    );
    // The line came after the block was durable and pinned (pin=true).
    let pinned = call(
        addr,
        "pin/ls?arg=bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq",
    );
    assert_eq!(pinned.status, 200, "{}", pinned.text());
    let mut rest = b"world\r\n".to_vec();
    rest.extend_from_slice(format!("--{BOUNDARY}--").as_bytes());
    chunk(&mut stream, &rest);
    // The body's last bytes come later: the reply must not end (and the connection close)
    // before they are read, or the client gets a reset instead of the reply's end.
    std::thread::sleep(Duration::from_millis(300));
    chunk(&mut stream, b"\r\n");
    stream.write_all(b"0\r\n\r\n").unwrap();
    let mut tail = String::new();
    std::io::Read::read_to_string(&mut reader, &mut tail).unwrap();
    assert!(
        tail.contains(
            "{\"Key\":\"bafkreicin2sgejgrxnh3nahtj56jvwlkr4sozcf6opvi4wtmmuta5hfyu4\",\"Size\":5}"
        ),
        "{tail:?}"
    );
    assert!(tail.ends_with("0\r\n\r\n"), "no error trailer: {tail:?}");
}

/// A body cut short: the blocks before the failure are kept and answered; the failure is the
/// `X-Stream-Error` trailer for a client that takes trailers, and a cut connection (no last
/// chunk) for one that does not, such as Go's HTTP client, so that it is never taken for a
/// complete answer.
#[test]
fn a_truncated_block_put_keeps_what_came_before_it() {
    let server = cairn();
    let addr = rpc_addr(&server);
    let mut body = multipart(&[b"hello"]);
    body.truncate(body.len() - format!("--{BOUNDARY}--\r\n").len());
    body.extend_from_slice(part_head().as_bytes());
    body.extend_from_slice(b"wor");
    let form = form_type();
    let response = post(addr, "block/put", &[("Content-Type", &form)], &body);
    assert_eq!(response.status, 200);
    assert_eq!(lines(&response).len(), 1);
    let (name, error) = &response.trailers[0];
    assert!(name.eq_ignore_ascii_case("x-stream-error"), "{name}");
    assert!(error.contains("ended"), "{error}");
    let stat = call(
        addr,
        "block/stat?arg=bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq",
    );
    assert_eq!(json(&stat)["Size"], 5);

    // Without `TE: trailers`: the line, then the connection ends without the last chunk.
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST /api/v0/block/put HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {form}\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body).unwrap();
    let mut raw = Vec::new();
    let _ = std::io::Read::read_to_end(&mut stream, &mut raw);
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.contains("\"Size\":5}"), "{raw}");
    assert!(
        !raw.ends_with("0\r\n\r\n"),
        "a failed stream must not end cleanly: {raw:?}"
    );
}

/// `pin/add` of content another node holds: after `swarm/connect`, the DAG comes over
/// Bitswap, progress lines while it does, then the pin; the blocks are kept (still there once
/// the other node is gone).
#[test]
fn pin_add_fetches_from_the_peer_swarm_connect_reached() {
    let a = online_cairn();
    let b = online_cairn();
    let (a_rpc, b_rpc) = (rpc_addr(&a), rpc_addr(&b));
    // A 1.5 MiB file on A (1 KiB chunks: ~1,500 blocks), pinned there.
    let data = pseudo_random(1536 << 10, 11);
    let root = support::cairn_add(a.data.path(), &data);
    let a_id = json(&call(a_rpc, "id"));
    let a_addr = a_id["Addresses"][0].as_str().unwrap();
    let a_peer = a_id["ID"].as_str().unwrap();
    let connected = call(b_rpc, &format!("swarm/connect?arg={a_addr}"));
    assert_eq!(
        json(&connected)["Strings"][0],
        format!("connect {a_peer} success")
    );
    let peers = json(&call(b_rpc, "swarm/peers"));
    let listed: Vec<&str> = peers["Peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Peer"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&a_peer), "{peers}");
    assert!(
        !peers["Peers"][0]["Addr"]
            .as_str()
            .unwrap()
            .contains("/p2p/"),
        "{peers}"
    );
    let started = Instant::now();
    let pinned = call(
        b_rpc,
        &format!("pin/add?arg={root}&recursive=true&progress=true"),
    );
    assert_eq!(pinned.status, 200, "{}", pinned.text());
    assert_eq!(pinned.header("x-chunked-output"), Some("1"));
    let got = lines(&pinned);
    assert_eq!(got.last().unwrap()["Pins"][0], root.as_str(), "{got:?}");
    let progress = &got[got.len() - 2];
    assert!(progress["Progress"].as_u64().unwrap() > 1000, "{got:?}");
    assert!(
        progress["Bytes"].as_u64().unwrap() >= data.len() as u64,
        "{got:?}"
    );
    eprintln!(
        "1.5 MiB in ~1,500 blocks pinned over Bitswap in {:?}",
        started.elapsed()
    );
    drop(a);
    let listed = call(
        b_rpc,
        &format!("pin/ls?arg={root}&type=recursive&stream=true"),
    );
    assert_eq!(
        lines(&listed),
        [serde_json::json!({"Cid": root, "Type": "recursive"})]
    );
    let gc = call(b_rpc, "repo/gc");
    assert_eq!(gc.status, 200);
    let served = support::http_request(b.addr, "GET", &format!("/ipfs/{root}"), &[]);
    assert_eq!(served.body, data, "the pinned file is whole on B alone");
}

/// The same from a Kubo peer, with the CIDv0 Kubo gives: pinned and reported as `Qm…`.
#[test]
fn pin_add_fetches_from_a_kubo_peer() {
    let Some((repo, kubo)) = kubo() else { return };
    let server = online_cairn();
    let cairn = rpc_addr(&server);
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("file");
    std::fs::write(&file, pseudo_random(700_000, 5)).unwrap();
    let out = repo.run(&["add", "-Q", file.to_str().unwrap()]);
    let root = String::from_utf8(out).unwrap().trim().to_owned();
    assert!(root.starts_with("Qm"));
    let id = json(&call(kubo.api, "id"));
    let addr = id["Addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .find(|a| a.contains("/tcp/"))
        .unwrap()
        .to_owned();
    let connected = call(
        cairn,
        &format!("swarm/connect?arg={}", addr.replace('/', "%2F")),
    );
    assert_eq!(connected.status, 200, "{}", connected.text());
    let pinned = call(cairn, &format!("pin/add?arg={root}"));
    assert_eq!(json(&pinned), serde_json::json!({"Pins": [root]}));
    assert!(pinned.header("x-chunked-output").is_none());
    let listed = call(cairn, "pin/ls?type=recursive");
    assert_eq!(
        json(&listed),
        serde_json::json!({"Keys": {root.clone(): {"Type": "recursive", "Name": ""}}})
    );
}

/// Without a libp2p node the swarm commands fail as an offline Kubo's do.
#[test]
fn swarm_commands_need_the_node() {
    let server = cairn();
    let addr = rpc_addr(&server);
    for command in ["swarm/peers", "swarm/connect?arg=/ip4/127.0.0.1/tcp/1/p2p/12D3KooWHd3e59w2YY4M5QU6ntsFFDZkdsKxVnySsE5jmZqQek1u"] {
        let response = call(addr, command);
        assert_eq!(response.status, 500);
        assert_eq!(
            json(&response),
            serde_json::json!({
                "Message": "this action must be run in online mode, try running 'ipfs daemon' first",
                "Code": 0,
                "Type": "error"
            })
        );
    }
    let Some(kubo) = Kubo::init() else { return };
    let offline = kubo.daemon();
    let response = call(offline.api, "swarm/peers");
    assert_eq!(
        json(&response)["Message"],
        "this action must be run in online mode, try running 'ipfs daemon' first"
    );
}

/// `--rpc-api off` runs no RPC; a bad address stops cairn with a message.
#[test]
fn the_rpc_listener_can_be_turned_off() {
    let server = Server::start_in(tempfile::tempdir().unwrap(), &["--rpc-api", "off"]);
    assert!(server.rpc.is_none());
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(support::cairn_bin())
        .args([
            "serve",
            "--offline",
            "--gateway",
            "127.0.0.1:0",
            "--cluster-api",
            "off",
        ])
        .args(["--rpc-api", "localhost:five", "--data"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--rpc-api \"localhost:five\""));
}
