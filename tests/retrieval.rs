//! Serving content this node does not hold: `cairn serve --remote-backend URL` in front of
//! another cairn and of Kubo's gateway. Files, ranges, directories and CARs come through it;
//! fetched blocks stay in the fetch cache; what nobody has is a 504 that says what was tried.

mod support;

use support::{pseudo_random, Kubo, Server};

/// An empty cairn whose only source beyond its store is `backend`, asked block by block.
fn edge_in_front_of(backend: std::net::SocketAddr) -> Server {
    edge_with_mode(backend, "block")
}

/// An empty cairn in front of `backend`, in remote-backend `mode` (block or car).
fn edge_with_mode(backend: std::net::SocketAddr, mode: &str) -> Server {
    let url = format!("http://{backend}");
    Server::start_in(
        tempfile::tempdir().unwrap(),
        &[
            "--cluster-api",
            "off",
            "--remote-backend",
            &url,
            "--remote-backend-mode",
            mode,
            "--retrieval-timeout",
            "10s",
        ],
    )
}

/// Adds `data` to `origin` as a multi-block file (1 KiB chunks, raw leaves) and returns its
/// CIDv1.
fn add_to_cairn(origin: &Server, data: &[u8]) -> String {
    support::cairn_add(origin.data.path(), data)
}

#[test]
fn an_edge_serves_files_ranges_and_cars_it_never_had() {
    for mode in ["block", "car"] {
        edge_serves_what_it_never_had(mode);
    }
}

fn edge_serves_what_it_never_had(mode: &str) {
    let origin = Server::start_in(tempfile::tempdir().unwrap(), &["--cluster-api", "off"]);
    let data = pseudo_random(300_000, 7);
    let cid = add_to_cairn(&origin, &data);
    let edge = edge_with_mode(origin.addr, mode);

    // Not here yet: only-if-cached says so without asking anyone.
    let cached_only = edge.request(
        "GET",
        &format!("/ipfs/{cid}"),
        &[("Cache-Control", "only-if-cached")],
    );
    assert_eq!(cached_only.status, 412);

    let range = edge.request(
        "GET",
        &format!("/ipfs/{cid}"),
        &[("Range", "bytes=200000-200099")],
    );
    assert_eq!(range.status, 206);
    assert_eq!(range.body, &data[200_000..200_100]);

    let whole = edge.get(&format!("/ipfs/{cid}"));
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body, data);
    assert_eq!(
        whole.header("etag"),
        origin.get(&format!("/ipfs/{cid}")).header("etag")
    );

    let car = edge.get(&format!("/ipfs/{cid}?format=car"));
    assert_eq!(car.status, 200);
    assert_eq!(
        car.body,
        origin.get(&format!("/ipfs/{cid}?format=car")).body
    );

    // Everything is local now.
    let cached_only = edge.request(
        "GET",
        &format!("/ipfs/{cid}"),
        &[("Cache-Control", "only-if-cached")],
    );
    assert_eq!(cached_only.status, 200);
}

#[test]
fn fetched_blocks_outlive_the_backend_and_a_restart() {
    let origin = Server::start_in(tempfile::tempdir().unwrap(), &["--cluster-api", "off"]);
    let data = pseudo_random(50_000, 8);
    let cid = add_to_cairn(&origin, &data);
    let edge = edge_in_front_of(origin.addr);
    assert_eq!(edge.get(&format!("/ipfs/{cid}")).body, data);
    drop(origin);

    // The same data directory, offline: the fetch cache answers.
    let offline = Server::start_in(edge.stop(), &["--cluster-api", "off"]);
    let again = offline.get(&format!("/ipfs/{cid}"));
    assert_eq!(again.status, 200);
    assert_eq!(again.body, data);
}

#[test]
fn what_no_backend_has_is_a_504_naming_what_was_tried() {
    let origin = Server::start_in(tempfile::tempdir().unwrap(), &["--cluster-api", "off"]);
    let edge = edge_in_front_of(origin.addr);
    let absent = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
    let response = edge.get(&format!("/ipfs/{absent}"));
    assert_eq!(response.status, 504);
    let text = response.text();
    assert!(text.contains(absent), "{text}");
    assert!(text.contains(&format!("http://{}", origin.addr)), "{text}");
    // Offline, the same CID is simply not here.
    assert_eq!(origin.get(&format!("/ipfs/{absent}")).status, 404);
}

#[test]
fn kubos_gateway_is_a_backend_for_files_and_directories() {
    let Some(kubo) = Kubo::init() else { return };
    let daemon = kubo.daemon();
    let dir = tempfile::tempdir().unwrap();
    let data = pseudo_random(400_000, 9);
    std::fs::create_dir(dir.path().join("site")).unwrap();
    std::fs::write(dir.path().join("site/big.bin"), &data).unwrap();
    std::fs::write(dir.path().join("site/index.html"), b"<h1>hello</h1>").unwrap();
    let root = String::from_utf8(kubo.run(&[
        "add",
        "-Q",
        "-r",
        "--cid-version=1",
        dir.path().join("site").to_str().unwrap(),
    ]))
    .unwrap()
    .trim()
    .to_owned();
    for mode in ["block", "car"] {
        let edge = edge_with_mode(daemon.gateway, mode);
        let range = edge.request(
            "GET",
            &format!("/ipfs/{root}/big.bin"),
            &[("Range", "bytes=300000-300999")],
        );
        assert_eq!(range.status, 206, "{mode}");
        assert_eq!(range.body, &data[300_000..301_000], "{mode}");
        let big = edge.get(&format!("/ipfs/{root}/big.bin"));
        assert_eq!(big.status, 200, "{mode}");
        assert_eq!(big.body, data, "{mode}");
        let index = edge.get(&format!("/ipfs/{root}/"));
        assert_eq!(index.status, 200, "{mode}");
        assert_eq!(index.body, b"<h1>hello</h1>", "{mode}");
    }
}

/// The status of `cid` on the Cluster API of `server` (this peer's entry).
fn pin_status(server: &Server, cid: &str) -> (String, String) {
    let response =
        support::http_request(server.cluster.unwrap(), "GET", &format!("/pins/{cid}"), &[]);
    assert_eq!(response.status, 200, "{}", response.text());
    let info: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    let peer = info["peer_map"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    (
        peer["status"].as_str().unwrap().to_owned(),
        peer["error"].as_str().unwrap_or("").to_owned(),
    )
}

fn wait_for_status(server: &Server, cid: &str, want: &str) -> (String, String) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let status = pin_status(server, cid);
        if status.0 == want || std::time::Instant::now() > deadline {
            return status;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_cluster_pin_of_absent_content_fetches_and_keeps_it() {
    let origin = Server::start_in(tempfile::tempdir().unwrap(), &["--cluster-api", "off"]);
    let data = pseudo_random(200_000, 11);
    let cid = add_to_cairn(&origin, &data);
    let url = format!("http://{}", origin.addr);
    let edge = Server::start_in(
        tempfile::tempdir().unwrap(),
        &["--remote-backend", &url, "--retrieval-timeout", "2s"],
    );
    let pinned = support::http_request(edge.cluster.unwrap(), "POST", &format!("/pins/{cid}"), &[]);
    assert_eq!(pinned.status, 200, "{}", pinned.text());
    assert_eq!(wait_for_status(&edge, &cid, "pinned").0, "pinned");

    // Kept, not cached: without the origin and after a GC, the pin still holds every block.
    drop(origin);
    let dir = edge.stop();
    let gc = std::process::Command::new(support::cairn_bin())
        .args(["gc", "-q", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(gc.status.success());
    let offline = Server::start_in(dir, &["--cluster-api", "off"]);
    assert_eq!(offline.get(&format!("/ipfs/{cid}")).body, data);
}

#[test]
fn a_pin_nobody_can_provide_fails_and_recover_fetches_it_once_it_can() {
    let origin = Server::start_in(tempfile::tempdir().unwrap(), &["--cluster-api", "off"]);
    // Content made elsewhere, so the origin does not have it yet.
    let elsewhere = Server::start_in(tempfile::tempdir().unwrap(), &["--cluster-api", "off"]);
    let data = pseudo_random(5_000, 12);
    let cid = add_to_cairn(&elsewhere, &data);
    let url = format!("http://{}", origin.addr);
    let edge = Server::start_in(
        tempfile::tempdir().unwrap(),
        &["--remote-backend", &url, "--retrieval-timeout", "1s"],
    );
    let cluster = edge.cluster.unwrap();
    let pinned = support::http_request(cluster, "POST", &format!("/pins/{cid}"), &[]);
    assert_eq!(pinned.status, 200, "{}", pinned.text());
    let (status, error) = wait_for_status(&edge, &cid, "pin_error");
    assert_eq!(status, "pin_error");
    assert!(!error.is_empty());

    // The origin gets the content; recover fetches it.
    let car = elsewhere.get(&format!("/ipfs/{cid}?format=car"));
    let car_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(car_file.path(), &car.body).unwrap();
    support::import(origin.data.path(), &[car_file.path().to_path_buf()]);
    let recovered = support::http_request(cluster, "POST", &format!("/pins/{cid}/recover"), &[]);
    assert_eq!(recovered.status, 200, "{}", recovered.text());
    assert_eq!(wait_for_status(&edge, &cid, "pinned").0, "pinned");
    assert_eq!(edge.get(&format!("/ipfs/{cid}")).body, data);
}

// ---------------------------------------------------------------------------------------------
// Writes into trees that are elsewhere: PUT/DELETE /ipfs/<cid>/<path> and IPNS publishing
// ---------------------------------------------------------------------------------------------

/// A tree made on `origin`: `a.txt`, `sub/b.txt` and `big.bin` (300 kB: several blocks).
/// Returns its root and big.bin's contents.
fn tree_on(origin: &Server) -> (String, Vec<u8>) {
    let big = pseudo_random(300_000, 21);
    let (content_type, body) = support::form(&[
        ("file", Some("a.txt"), "text/plain", b"file a\n"),
        ("file", Some("sub/b.txt"), "text/plain", b"file b\n"),
        ("file", Some("big.bin"), "application/octet-stream", &big),
    ]);
    let r = origin.send("POST", "/ipfs/", &[("Content-Type", &content_type)], &body);
    assert_eq!(r.status, 201, "{}", r.text());
    (r.header("ipfs-hash").unwrap().to_owned(), big)
}

/// The CID `path` ends at on `server` (the last of its `X-Ipfs-Roots`).
fn cid_at(server: &Server, path: &str) -> String {
    let r = server.request("HEAD", path, &[]);
    assert_eq!(r.status, 200, "{path}");
    let roots = r.header("x-ipfs-roots").unwrap();
    roots.rsplit(',').next().unwrap().trim().to_owned()
}

/// Whether `cid`'s root block is in `server`'s store (nothing is fetched to answer).
fn is_local(server: &Server, cid: &str) -> bool {
    let r = server.request(
        "HEAD",
        &format!("/ipfs/{cid}"),
        &[("Cache-Control", "only-if-cached")],
    );
    r.status == 200
}

/// Stops `edge` (its origin gone already), collects its garbage, and starts it again offline:
/// what it then serves is what it kept, not what it cached.
fn kept_by(edge: Server) -> Server {
    let dir = edge.stop();
    let gc = std::process::Command::new(support::cairn_bin())
        .args(["gc", "-q", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        gc.status.success(),
        "{}",
        String::from_utf8_lossy(&gc.stderr)
    );
    Server::start_in(dir, &["--cluster-api", "off"])
}

#[test]
fn a_pinned_put_into_a_tree_elsewhere_keeps_the_whole_new_tree() {
    let origin = Server::start_in(tempfile::tempdir().unwrap(), &["--cluster-api", "off"]);
    let (root, big) = tree_on(&origin);
    let big_cid = cid_at(&origin, &format!("/ipfs/{root}/big.bin"));
    let edge = edge_in_front_of(origin.addr);
    let path = format!("/ipfs/{root}/sub/new.txt");

    // Without X-Ipfs-Pin only the directories on the path are fetched: big.bin is not.
    let unpinned = edge.send("PUT", &path, &[], b"new file\n");
    assert_eq!(unpinned.status, 201, "{}", unpinned.text());
    let new_root = unpinned.header("ipfs-hash").unwrap().to_owned();
    assert!(
        !is_local(&edge, &big_cid),
        "an untouched subtree was fetched"
    );
    // The same edit on the origin gives the same tree.
    let there = origin.send("PUT", &path, &[], b"new file\n");
    assert_eq!(there.status, 201, "{}", there.text());
    assert_eq!(there.header("ipfs-hash"), Some(&*new_root));

    // With it, the 201 comes once the whole new tree is kept.
    let pinned = edge.send("PUT", &path, &[("X-Ipfs-Pin", "")], b"new file\n");
    assert_eq!(pinned.status, 201, "{}", pinned.text());
    assert_eq!(pinned.header("ipfs-hash"), Some(&*new_root));
    assert_eq!(
        pinned.header("location"),
        Some(&*format!("ipfs://{new_root}/sub/new.txt"))
    );
    assert!(is_local(&edge, &big_cid));

    drop(origin);
    let offline = kept_by(edge);
    for (file, body) in [
        ("a.txt", &b"file a\n"[..]),
        ("sub/b.txt", b"file b\n"),
        ("sub/new.txt", b"new file\n"),
        ("big.bin", &big),
    ] {
        let r = offline.get(&format!("/ipfs/{new_root}/{file}"));
        assert_eq!(r.status, 200, "{file}: {}", r.text());
        assert_eq!(r.body, body, "{file}");
    }
}

#[test]
fn a_pinned_delete_in_a_tree_elsewhere_keeps_what_remains() {
    let origin = Server::start_in(tempfile::tempdir().unwrap(), &["--cluster-api", "off"]);
    let (root, big) = tree_on(&origin);
    let edge = edge_in_front_of(origin.addr);
    let path = format!("/ipfs/{root}/sub/b.txt");
    let deleted = edge.send("DELETE", &path, &[("X-Ipfs-Pin", "")], b"");
    assert_eq!(deleted.status, 201, "{}", deleted.text());
    let new_root = deleted.header("ipfs-hash").unwrap().to_owned();
    assert_eq!(
        deleted.header("location"),
        Some(&*format!("ipfs://{new_root}/sub/"))
    );
    let there = origin.send("DELETE", &path, &[], b"");
    assert_eq!(there.status, 201, "{}", there.text());
    assert_eq!(there.header("ipfs-hash"), Some(&*new_root));

    drop(origin);
    let offline = kept_by(edge);
    assert_eq!(
        offline.get(&format!("/ipfs/{new_root}/a.txt")).body,
        b"file a\n"
    );
    assert_eq!(offline.get(&format!("/ipfs/{new_root}/big.bin")).body, big);
    assert_eq!(
        offline.get(&format!("/ipfs/{new_root}/sub/b.txt")).status,
        404
    );
}

#[test]
fn a_name_published_to_content_elsewhere_keeps_all_of_it() {
    let origin = Server::start_in(tempfile::tempdir().unwrap(), &["--cluster-api", "off"]);
    let (root, big) = tree_on(&origin);
    let extra = pseudo_random(20_000, 22);
    let extra_cid = add_to_cairn(&origin, &extra);
    let edge = edge_in_front_of(origin.addr);
    let created = edge.send("POST", "/ipns/localhost?key=site", &[], b"");
    assert_eq!(created.status, 201, "{}", created.text());

    // The name points at the remote tree; then a remote file is set at a path inside it.
    let published = edge.send(
        "POST",
        "/ipns/site",
        &[],
        format!("/ipfs/{root}").as_bytes(),
    );
    assert_eq!(published.status, 200, "{}", published.text());
    assert_eq!(published.header("ipfs-hash"), Some(&*root));
    let linked = edge.send(
        "POST",
        "/ipns/site/more/extra.bin",
        &[],
        format!("/ipfs/{extra_cid}").as_bytes(),
    );
    assert_eq!(linked.status, 200, "{}", linked.text());

    drop(origin);
    let offline = kept_by(edge);
    for (file, body) in [
        ("a.txt", &b"file a\n"[..]),
        ("sub/b.txt", b"file b\n"),
        ("big.bin", &big),
        ("more/extra.bin", &extra),
    ] {
        let r = offline.get(&format!("/ipns/site/{file}"));
        assert_eq!(r.status, 200, "{file}: {}", r.text());
        assert_eq!(r.body, body, "{file}");
    }
}

#[test]
fn an_edit_of_a_tree_nobody_provides_is_a_504_within_the_retrieval_timeout() {
    // A backend that takes connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let backend = silent.local_addr().unwrap();
    let held = std::thread::spawn(move || {
        let mut connections = Vec::new();
        for connection in silent.incoming().take(16) {
            connections.push(connection);
        }
    });
    let url = format!("http://{backend}");
    let edge = Server::start_in(
        tempfile::tempdir().unwrap(),
        &[
            "--cluster-api",
            "off",
            "--remote-backend",
            &url,
            "--retrieval-timeout",
            "1s",
        ],
    );
    let absent = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
    for (method, pin) in [("PUT", None), ("DELETE", Some(("X-Ipfs-Pin", "")))] {
        let started = std::time::Instant::now();
        let headers: Vec<(&str, &str)> = pin.into_iter().collect();
        let r = edge.send(method, &format!("/ipfs/{absent}/x.txt"), &headers, b"x");
        assert_eq!(r.status, 504, "{method}: {}", r.text());
        let text = r.text();
        assert!(text.contains(&format!("cannot edit {absent}")), "{text}");
        assert!(text.contains("could not be retrieved"), "{text}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(8),
            "{method} took {:?}",
            started.elapsed()
        );
    }
    // A name cannot be pointed there either, and is left as it was.
    let created = edge.send("POST", "/ipns/localhost?key=site", &[], b"");
    assert_eq!(created.status, 201);
    let before = edge
        .get("/ipns/site/")
        .header("ipfs-hash")
        .map(str::to_owned);
    let r = edge.send(
        "POST",
        "/ipns/site",
        &[],
        format!("/ipfs/{absent}").as_bytes(),
    );
    assert_eq!(r.status, 504, "{}", r.text());
    assert_eq!(
        edge.get("/ipns/site/")
            .header("ipfs-hash")
            .map(str::to_owned),
        before
    );
    drop(edge);
    drop(held);
}
