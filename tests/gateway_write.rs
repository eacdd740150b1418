//! The writable gateway: POST/PUT/DELETE on /ipfs as the Agregore spec describes, with the
//! CIDs Kubo gives the same content (`ipfs add --cid-version=1`).

mod support;

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use support::{form, Server};

const HELLO_WORLD: &str = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";
const PLANETS: &str = "bafybeih7e5dmkyk25up5vxug4q3hrg2fxbzf23dfrac2fns5h7z4aa7ioi";
const EMPTY_DIR: &str = "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354";

fn server() -> Server {
    Server::start_in(tempfile::tempdir().unwrap(), &[])
}

#[test]
fn post_a_plain_body_stores_one_file_with_kubos_cid() {
    let server = server();
    for path in ["/ipfs/", "/ipfs/localhost/"] {
        let r = server.send("POST", path, &[], b"hello world");
        assert_eq!(r.status, 201, "{path}: {}", r.text());
        assert_eq!(
            r.header("location"),
            Some(&*format!("ipfs://{HELLO_WORLD}"))
        );
        assert_eq!(r.header("ipfs-hash"), Some(HELLO_WORLD));
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    }
    assert_eq!(
        server.get(&format!("/ipfs/{HELLO_WORLD}")).body,
        b"hello world"
    );
}

#[test]
fn post_a_form_makes_a_directory_of_its_file_parts() {
    let server = server();
    let (content_type, body) = form(&[
        ("file", Some("mars.txt"), "text/plain", b"Hello Mars!\n"),
        (
            "other",
            Some("ignored.txt"),
            "text/plain",
            b"not a file field",
        ),
        ("file", None, "text/plain", b"no filename: skipped"),
        ("file", Some("venus.txt"), "text/plain", b"Hello Venus!\n"),
    ]);
    let r = server.send("POST", "/ipfs/", &[("Content-Type", &content_type)], &body);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("location"), Some(&*format!("ipfs://{PLANETS}/")));
    assert_eq!(r.header("ipfs-hash"), Some(PLANETS));
    let names: Vec<String> =
        serde_json::from_slice(&server.get(&format!("/ipfs/{PLANETS}/")).body).unwrap();
    assert_eq!(names, ["mars.txt", "venus.txt"]);

    // Nested names, sent raw as browsers send them (`/` separates directories).
    let (content_type, body) =
        form(&[("file", Some("dir/sub/hello there.txt"), "text/plain", b"hi")]);
    let r = server.send("POST", "/ipfs/", &[("Content-Type", &content_type)], &body);
    assert_eq!(r.status, 201, "{}", r.text());
    let root = r.header("ipfs-hash").unwrap().to_string();
    let got = server.get(&format!("/ipfs/{root}/dir/sub/hello%20there.txt"));
    assert_eq!(got.body, b"hi");
}

#[test]
fn chunked_uploads_work() {
    let server = server();
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(
            b"POST /ipfs/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n\
              6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n",
        )
        .unwrap();
    let r = support::read_response(&mut BufReader::new(stream), false);
    assert_eq!(r.status, 201);
    assert_eq!(r.header("ipfs-hash"), Some(HELLO_WORLD));
}

#[test]
fn x_ipfs_pin_pins_and_delete_unpins() {
    let server = server();
    let r = server.send("POST", "/ipfs/", &[("X-Ipfs-Pin", "")], b"hello world");
    assert_eq!(r.status, 201);
    let r = server.send("DELETE", &format!("/ipfs/{HELLO_WORLD}"), &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("ipfs-hash"), Some(HELLO_WORLD));
    let r = server.send("DELETE", &format!("/ipfs/{HELLO_WORLD}"), &[], b"");
    assert_eq!(r.status, 404, "no longer pinned");
}

#[test]
fn put_writes_into_trees_starting_from_either_empty_directory() {
    let server = server();
    for empty in [
        EMPTY_DIR,
        "bafyaabakaieac",
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
    ] {
        let r = server.send(
            "PUT",
            &format!("/ipfs/{empty}/mars.txt"),
            &[],
            b"Hello Mars!\n",
        );
        assert_eq!(r.status, 201, "{empty}: {}", r.text());
        let root = r.header("ipfs-hash").unwrap().to_string();
        assert_eq!(
            r.header("location"),
            Some(&*format!("ipfs://{root}/mars.txt"))
        );
        let r = server.send(
            "PUT",
            &format!("/ipfs/{root}/venus.txt"),
            &[],
            b"Hello Venus!\n",
        );
        assert_eq!(r.status, 201);
        assert_eq!(
            r.header("ipfs-hash"),
            Some(PLANETS),
            "same tree as Kubo's planets"
        );
    }
    // Missing parents are created; an existing file is replaced.
    let r = server.send("PUT", &format!("/ipfs/{PLANETS}/a/b/c.txt"), &[], b"deep");
    assert_eq!(r.status, 201);
    let root = r.header("ipfs-hash").unwrap().to_string();
    assert_eq!(
        r.header("location"),
        Some(&*format!("ipfs://{root}/a/b/c.txt"))
    );
    assert_eq!(server.get(&format!("/ipfs/{root}/a/b/c.txt")).body, b"deep");
    let r = server.send("PUT", &format!("/ipfs/{root}/mars.txt"), &[], b"replaced");
    let replaced = r.header("ipfs-hash").unwrap().to_string();
    assert_eq!(
        server.get(&format!("/ipfs/{replaced}/mars.txt")).body,
        b"replaced"
    );
    // Untouched subtrees keep their CIDs.
    let a_before = server
        .get(&format!("/ipfs/{root}/a/"))
        .header("ipfs-hash")
        .unwrap()
        .to_string();
    let a_after = server
        .get(&format!("/ipfs/{replaced}/a/"))
        .header("ipfs-hash")
        .unwrap()
        .to_string();
    assert_eq!(a_before, a_after);
    // Percent-encoded segments in Location.
    let r = server.send("PUT", &format!("/ipfs/{EMPTY_DIR}/a%20b.txt"), &[], b"x");
    let root = r.header("ipfs-hash").unwrap();
    assert_eq!(
        r.header("location"),
        Some(&*format!("ipfs://{root}/a%20b.txt"))
    );
}

#[test]
fn put_a_form_merges_into_the_directory_at_the_path() {
    let server = server();
    let (content_type, body) =
        form(&[("file", Some("venus.txt"), "text/plain", b"Hello Venus!\n")]);
    let r = server.send(
        "PUT",
        &format!("/ipfs/{EMPTY_DIR}"),
        &[("Content-Type", &content_type)],
        &body,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let root = r.header("ipfs-hash").unwrap().to_string();
    assert_eq!(r.header("location"), Some(&*format!("ipfs://{root}/")));
    let (content_type, body) = form(&[("file", Some("mars.txt"), "text/plain", b"Hello Mars!\n")]);
    let r = server.send(
        "PUT",
        &format!("/ipfs/{root}/"),
        &[("Content-Type", &content_type)],
        &body,
    );
    assert_eq!(r.header("ipfs-hash"), Some(PLANETS));
    // Into a sub-directory that does not exist yet.
    let r = server.send(
        "PUT",
        &format!("/ipfs/{PLANETS}/moons"),
        &[("Content-Type", &content_type)],
        &body,
    );
    assert_eq!(r.status, 201);
    let root = r.header("ipfs-hash").unwrap().to_string();
    assert_eq!(
        r.header("location"),
        Some(&*format!("ipfs://{root}/moons/"))
    );
    assert_eq!(
        server.get(&format!("/ipfs/{root}/moons/mars.txt")).body,
        b"Hello Mars!\n"
    );
}

#[test]
fn bad_puts_are_400() {
    let server = server();
    let r = server.send(
        "PUT",
        &format!("/ipfs/{EMPTY_DIR}"),
        &[],
        b"plain body, no path",
    );
    assert_eq!(r.status, 400);
    let r = server.send("POST", "/ipfs/", &[], b"hello world");
    let r = server.send(
        "PUT",
        &format!("/ipfs/{}/x.txt", r.header("ipfs-hash").unwrap()),
        &[],
        b"x",
    );
    assert_eq!(r.status, 400, "a file root cannot hold a path");
    let r = server.send("PUT", "/ipfs/not-a-cid/x.txt", &[], b"x");
    assert_eq!(r.status, 400);
    let (content_type, _) = form(&[]);
    let r = server.send(
        "POST",
        "/ipfs/",
        &[("Content-Type", &content_type)],
        b"--garbage",
    );
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn delete_removes_a_path() {
    let server = server();
    let r = server.send(
        "PUT",
        &format!("/ipfs/{EMPTY_DIR}/mars.txt"),
        &[],
        b"Hello Mars!\n",
    );
    let root = r.header("ipfs-hash").unwrap().to_string();
    let r = server.send(
        "PUT",
        &format!("/ipfs/{root}/venus.txt"),
        &[],
        b"Hello Venus!\n",
    );
    assert_eq!(r.header("ipfs-hash"), Some(PLANETS));
    let r = server.send("PUT", &format!("/ipfs/{PLANETS}/a/b/c.txt"), &[], b"deep");
    let root = r.header("ipfs-hash").unwrap().to_string();

    let r = server.send("DELETE", &format!("/ipfs/{root}/a/b/c.txt"), &[], b"");
    assert_eq!(r.status, 201, "{}", r.text());
    let new_root = r.header("ipfs-hash").unwrap().to_string();
    assert_eq!(
        r.header("location"),
        Some(&*format!("ipfs://{new_root}/a/b/"))
    );
    assert_eq!(
        server.get(&format!("/ipfs/{new_root}/a/b/c.txt")).status,
        404
    );
    let r = server.send("DELETE", &format!("/ipfs/{new_root}/a"), &[], b"");
    assert_eq!(
        r.header("ipfs-hash"),
        Some(PLANETS),
        "back to the tree we started from"
    );
    assert_eq!(r.header("location"), Some(&*format!("ipfs://{PLANETS}/")));
    let r = server.send("DELETE", &format!("/ipfs/{PLANETS}/nope.txt"), &[], b"");
    assert_eq!(r.status, 404);
}

#[test]
fn uploads_over_the_cap_get_413() {
    let server = Server::start_in(tempfile::tempdir().unwrap(), &["--max-upload", "1000"]);
    let r = server.send("POST", "/ipfs/", &[], &[7u8; 1000]);
    assert_eq!(r.status, 201);
    let r = server.send("POST", "/ipfs/", &[], &[7u8; 1001]);
    assert_eq!(r.status, 413);
    assert!(r.text().contains("1000"), "{}", r.text());
    // Chunked, so the size is only known while reading.
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut req =
        b"POST /ipfs/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        req.extend_from_slice(b"190\r\n");
        req.extend_from_slice(&[1u8; 400]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let _ = stream.write_all(&req);
    let r = support::read_response(&mut BufReader::new(stream), false);
    assert_eq!(r.status, 413);
}

#[test]
fn writes_are_off_beyond_loopback_unless_asked() {
    let server = Server::start_in(tempfile::tempdir().unwrap(), &["--gateway", "0.0.0.0:0"]);
    let r = server.send("POST", "/ipfs/", &[], b"hello world");
    assert_eq!(r.status, 405);
    assert!(r.text().contains("--writable"), "{}", r.text());
    let server = Server::start_in(
        tempfile::tempdir().unwrap(),
        &["--gateway", "0.0.0.0:0", "--writable"],
    );
    assert_eq!(
        server.send("POST", "/ipfs/", &[], b"hello world").status,
        201
    );
}

#[test]
fn gc_never_takes_an_upload_in_flight() {
    let server = server();
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // Start a chunked upload: its first megabytes reach the store before GC starts.
    stream
        .write_all(b"POST /ipfs/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Ipfs-Pin: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let chunk = vec![9u8; 1 << 20];
    for _ in 0..4 {
        stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .unwrap();
        stream.write_all(&chunk).unwrap();
        stream.write_all(b"\r\n").unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    let mut gc = Command::new(support::cairn_bin())
        .args(["gc", "--data"])
        .arg(server.data.path())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        gc.try_wait().unwrap().is_none(),
        "GC must wait for the upload in flight"
    );
    for _ in 0..4 {
        stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .unwrap();
        stream.write_all(&chunk).unwrap();
        stream.write_all(b"\r\n").unwrap();
    }
    stream.write_all(b"0\r\n\r\n").unwrap();
    let r = support::read_response(&mut BufReader::new(stream), false);
    assert_eq!(r.status, 201);
    assert!(gc.wait().unwrap().success());
    let root = r.header("ipfs-hash").unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let got = server.get(&format!("/ipfs/{root}"));
    assert_eq!(got.status, 200);
    assert_eq!(got.body.len(), 8 << 20);
    assert!(got.body.iter().all(|b| *b == 9));
}
