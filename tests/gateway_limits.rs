//! The operator limits of a public gateway, against the real binary over HTTP:
//! `--max-concurrent-requests` (429 with `Retry-After` and `Cache-Control: no-store`; event
//! streams not counted), `--retrieval-timeout` (504 for reads that have not started in time)
//! and `--max-range-file-size` (501 for Range on larger files).

mod support;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use support::dag::Blocks;
use support::{read_response, Response, Server};

/// path_gateway_unixfs/dir-with-files.car: hello.txt ("hello world\n") and multiblock.txt.
const DIR_WITH_FILES: &str = "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";
const MULTIBLOCK_SIZE: usize = 1026;

fn fixture(relative: &str) -> PathBuf {
    support::fixtures().join(relative)
}

/// Writes `blocks` as a CAR with `root` and imports it into `data`.
fn import_blocks(data: &std::path::Path, blocks: &Blocks, root: &cid::Cid) {
    let car = data.join("generated.car");
    std::fs::write(&car, blocks.car(root)).unwrap();
    support::import(data, std::slice::from_ref(&car));
    std::fs::remove_file(car).unwrap();
}

/// A request on its own connection whose response head has been read and whose body is
/// left unread: the response is still being sent while this lives.
struct Held {
    response: Response,
    reader: BufReader<TcpStream>,
}

fn hold(server: &Server, path: &str, headers: &[(&str, &str)]) -> Held {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let response = read_response(&mut reader, true);
    Held { response, reader }
}

/// Asks for `path` until the answer is not a 429 (a bounded number of times): the slot of a
/// finished response is given back when the server drops its body, just after the client
/// has seen the end of it.
fn until_admitted(server: &Server, path: &str) -> Response {
    for _ in 0..400 {
        let r = server.get(path);
        if r.status != 429 {
            return r;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("{path} was still refused with 429 after 400 tries");
}

#[track_caller]
fn assert_too_many_requests(r: &Response) {
    assert_eq!(r.status, 429, "{r:?}");
    assert_eq!(r.header("retry-after"), Some("60"), "{r:?}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "{r:?}");
    assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{r:?}");
    assert_eq!(
        r.text(),
        "Too many requests. Please retry after 60 seconds.\n"
    );
}

#[test]
fn requests_beyond_the_concurrency_cap_get_429_until_a_slot_frees() {
    // A file far larger than what socket buffers hold: its response cannot be sent in full
    // while the client does not read.
    const BIG: usize = 24 << 20;
    let data = tempfile::tempdir().unwrap();
    let mut blocks = Blocks::default();
    let (big, content) = blocks.file(BIG, 1 << 20);
    import_blocks(data.path(), &blocks, &big);
    drop(blocks);
    support::import(
        data.path(),
        &[fixture("path_gateway_unixfs/dir-with-files.car")],
    );
    let server = Server::start_in_with_env(
        data,
        &["--max-concurrent-requests", "1"],
        &[("IPFS_NS_MAP", "")],
    );
    let small = format!("/ipfs/{DIR_WITH_FILES}/hello.txt");
    let big_path = format!("/ipfs/{big}");

    // An event stream is open the whole time, and does not take the only slot.
    let stream = hold(&server, "/pubsub/room", &[("Accept", "text/event-stream")]);
    assert_eq!(stream.response.status, 200, "{:?}", stream.response);
    assert_eq!(
        stream.response.header("content-type"),
        Some("text/event-stream")
    );
    let r = server.get(&small);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello world\n"[..]));

    // 1. A response being sent holds the slot; finishing it frees the slot.
    let mut held = hold(&server, &big_path, &[]);
    assert_eq!(held.response.status, 200, "{:?}", held.response);
    assert_eq!(
        held.response.header("content-length"),
        Some(&*BIG.to_string())
    );
    // A request not seen before waits for the slot; the answer replayed to one seen before
    // does no work and takes none (`--response-cache-size`).
    let r = server.get(&format!("{small}?again"));
    assert_too_many_requests(&r);
    let r = server.get(&small);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello world\n"[..]));
    // HEAD, other routes and HTML clients are counted too.
    let r = server.request("HEAD", &small, &[]);
    assert_eq!(r.status, 429, "{r:?}");
    assert_eq!(r.header("retry-after"), Some("60"));
    let r = server.request("GET", "/no/such/route", &[("Accept", "text/html")]);
    assert_eq!(r.status, 429, "{r:?}");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert!(r.text().contains("Too many requests"), "{}", r.text());
    // Preflights and event streams are not.
    let r = server.request("OPTIONS", &small, &[]);
    assert_eq!(r.status, 204, "{r:?}");
    let second_stream = hold(&server, "/pubsub/other", &[("Accept", "text/event-stream")]);
    assert_eq!(second_stream.response.status, 200);
    drop(second_stream);

    let mut body = Vec::with_capacity(BIG);
    held.reader.read_to_end(&mut body).unwrap();
    assert!(body == content, "the held response's body differs");
    drop(held);
    let r = until_admitted(&server, &small);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello world\n"[..]));

    // 2. A client that goes away mid-body frees the slot as well.
    let held = hold(&server, &big_path, &[]);
    assert_eq!(held.response.status, 200);
    let r = server.get(&format!("{small}?once-more"));
    assert_too_many_requests(&r);
    drop(held);
    let r = until_admitted(&server, &small);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello world\n"[..]));

    // The event stream lived through all of it.
    drop(stream);
}

/// A DNS server that never answers: a bound UDP socket nobody reads.
fn silent_dns() -> std::net::UdpSocket {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap()
}

#[test]
fn reads_that_do_not_start_within_the_retrieval_timeout_get_504() {
    let silent = silent_dns();
    let resolver = silent.local_addr().unwrap().to_string();
    let with_limit = Server::start_in_with_env(
        tempfile::tempdir().unwrap(),
        &["--dns-resolver", &resolver, "--retrieval-timeout", "1s"],
        &[("IPFS_NS_MAP", "")],
    );
    let without = Server::start_in_with_env(
        tempfile::tempdir().unwrap(),
        &["--dns-resolver", &resolver],
        &[("IPFS_NS_MAP", "")],
    );

    // The DNSLink lookup hangs; the retrieval timeout answers before DNS gives up.
    let r = with_limit.get("/ipns/some.example.org/");
    assert_eq!(r.status, 504, "{r:?}");
    assert_eq!(
        r.text(),
        "Unable to retrieve content within timeout period (1 s)\n"
    );
    assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{r:?}");
    // The same for a Host whose DNSLink is being looked up (DNSLink gateway detection).
    let r = with_limit.raw(
        b"GET / HTTP/1.1\r\nHost: other.example.org\r\nConnection: close\r\n\r\n",
        false,
    );
    assert_eq!(r.status, 504, "{r:?}");
    assert!(
        r.text()
            .contains("Unable to retrieve content within timeout period"),
        "{}",
        r.text()
    );
    // Reads that do start are not affected.
    let r = with_limit.get("/ipfs/bafkqabtimvwgy3yk");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"hello\n"[..]),
        "{r:?}"
    );

    // Without the flag (30 s by default), the DNS timeout is what the client hears about.
    let r = without.get("/ipns/some.example.org/");
    assert_eq!(r.status, 504, "{r:?}");
    let text = r.text();
    assert!(
        text.starts_with("DNS did not answer for _dnslink.some.example.org within "),
        "{text}"
    );
    assert!(!text.contains("Unable to retrieve content"), "{text}");
    drop(silent);
}

#[test]
fn range_requests_on_files_above_the_limit_get_501() {
    let data = tempfile::tempdir().unwrap();
    // Files of exactly the limit and one byte more.
    let mut blocks = Blocks::default();
    let (at_limit, at_limit_content) = blocks.file(100, 64);
    let (above, _) = blocks.file(101, 64);
    let dir = blocks.directory(vec![
        ("at-limit.bin".into(), at_limit, 100),
        ("above.bin".into(), above, 101),
    ]);
    import_blocks(data.path(), &blocks, &dir);
    support::import(
        data.path(),
        &[fixture("path_gateway_unixfs/dir-with-files.car")],
    );
    let server = Server::start_in_with_env(
        data,
        &["--max-range-file-size", "100"],
        &[("IPFS_NS_MAP", "")],
    );
    let multiblock = format!("/ipfs/{DIR_WITH_FILES}/multiblock.txt");

    // Larger files refuse ranges with 501 and a message...
    for path in [multiblock.clone(), format!("/ipfs/{dir}/above.bin")] {
        for range in ["bytes=0-9", "bytes=-5", "bytes=0-0,5-6"] {
            let r = server.request("GET", &path, &[("Range", range)]);
            assert_eq!(r.status, 501, "{path} {range}: {r:?}");
            assert_eq!(r.header("content-range"), None);
            assert!(
                r.text().starts_with(
                    "range requests are not supported for files larger than 100 bytes"
                ),
                "{}",
                r.text()
            );
        }
    }
    // ...but are served whole without Range.
    let r = server.get(&multiblock);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body.len(), MULTIBLOCK_SIZE);
    assert_eq!(r.header("accept-ranges"), Some("bytes"));

    // Files up to the limit still get 206.
    let r = server.request(
        "GET",
        &format!("/ipfs/{DIR_WITH_FILES}/hello.txt"),
        &[("Range", "bytes=0-4")],
    );
    assert_eq!((r.status, r.body.as_slice()), (206, &b"hello"[..]), "{r:?}");
    assert_eq!(r.header("content-range"), Some("bytes 0-4/12"));
    let r = server.request(
        "GET",
        &format!("/ipfs/{dir}/at-limit.bin"),
        &[("Range", "bytes=90-")],
    );
    assert_eq!(r.status, 206, "{r:?}");
    assert_eq!(r.body, at_limit_content[90..]);
    assert_eq!(r.header("content-range"), Some("bytes 90-99/100"));
}
