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
