//! The IPFS Cluster REST API: every route's status and shape over HTTP, auth failures, and
//! the real `ipfs-cluster-ctl` v1.1.6 driving cairn as it would an ipfs-cluster peer (skipped
//! with a message when the client is not installed; required under CAIRN_REQUIRE_PEERS=1).

mod support;

use std::process::Command;

use support::{http_request, http_request_with_body, Server};

const TOKEN: &str =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJ1c2VyIn0.QezMUPmvhZET9xHCT52dxFfGlmLRebSpplZ1p4W9KTI";
const BASIC: &str = "Basic dXNlcjpwYXNz"; // user:pass

fn server() -> Server {
    let data = tempfile::tempdir().unwrap();
    let status = Command::new(support::cairn_bin())
        .args(["import", "--pin-roots=false", "--data"])
        .arg(data.path())
        .arg(support::fixtures().join("path_gateway_unixfs/dir-with-files.car"))
        .output()
        .unwrap()
        .status;
    assert!(status.success());
    Server::start_in(data, &["--cluster-auth", "user:pass"])
}

fn get(server: &Server, path: &str) -> support::Response {
    http_request(
        server.cluster.unwrap(),
        "GET",
        path,
        &[("Authorization", BASIC)],
    )
}

fn send(server: &Server, method: &str, path: &str) -> support::Response {
    http_request_with_body(
        server.cluster.unwrap(),
        method,
        path,
        &[("Authorization", BASIC)],
        b"",
    )
}

fn json(r: &support::Response) -> serde_json::Value {
    assert_eq!(r.header("content-type"), Some("application/json"), "{r:?}");
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.text()))
}

fn lines(r: &support::Response) -> Vec<serde_json::Value> {
    r.text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn auth_is_enforced_as_upstream_does() {
    let server = server();
    let addr = server.cluster.unwrap();
    // No credentials: 401 with both challenges.
    let r = http_request(addr, "GET", "/id", &[]);
    assert_eq!(r.status, 401);
    assert_eq!(json(&r)["message"], "unauthorized: no auth provided");
    let challenges: Vec<&str> = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    // Wrong password.
    let r = http_request(
        addr,
        "GET",
        "/id",
        &[("Authorization", "Basic dXNlcjp3cm9uZw==")],
    );
    assert_eq!(r.status, 401);
    assert_eq!(json(&r)["message"], "unauthorized: access denied");
    // Bad token.
    let r = http_request(
        addr,
        "GET",
        "/id",
        &[("Authorization", "Bearer abc.def.ghi")],
    );
    assert_eq!(r.status, 401);
    assert_eq!(json(&r)["message"], "unauthorized: invalid token");
    // Health and OPTIONS stay open; unknown paths are checked before routing.
    assert_eq!(http_request(addr, "GET", "/health", &[]).status, 204);
    assert_eq!(http_request(addr, "OPTIONS", "/pins", &[]).status, 204);
    assert_eq!(http_request(addr, "GET", "/nope", &[]).status, 401);
    // A token from POST /token works, and is the deterministic upstream one.
    let r = send(&server, "POST", "/token");
    assert_eq!(json(&r)["token"], TOKEN);
    let r = http_request(
        addr,
        "GET",
        "/id",
        &[("Authorization", &format!("Bearer {TOKEN}"))],
    );
    assert_eq!(r.status, 200);
}

#[test]
fn routes_answer_with_upstream_shapes() {
    let server = server();
    let id = json(&get(&server, "/id"));
    let me = id["id"].as_str().unwrap().to_string();
    assert!(me.starts_with("12D3KooW"), "{me}");
    assert_eq!(id["cluster_peers"], serde_json::json!([me]));
    assert_eq!(id["rpc_protocol_version"], "/ipfscluster/1.0/rpc");
    assert_eq!(json(&get(&server, "/version"))["version"], "1.1.6");
    let peers = get(&server, "/peers");
    assert_eq!(lines(&peers).len(), 1);
    assert_eq!(peers.header("trailer"), Some("X-Stream-Error"));

    // Empty streams are 204.
    assert_eq!(get(&server, "/allocations").status, 204);
    assert_eq!(get(&server, "/pins").status, 204);

    let root = "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";
    let r = send(
        &server,
        "POST",
        &format!("/pins/{root}?name=fixture&mode=recursive&replication-min=0&replication-max=0&meta-owner=me&expire-in=1h"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let pin = json(&r);
    assert_eq!(pin["name"], "fixture");
    assert_eq!(pin["metadata"]["owner"], "me");
    assert_eq!(pin["max_depth"], -1);
    assert_eq!(pin["type"], "pin");
    assert_ne!(pin["expire_at"], "0001-01-01T00:00:00Z");

    let allocations = lines(&get(&server, "/allocations?filter=all"));
    assert_eq!(allocations.len(), 1);
    assert_eq!(
        json(&get(&server, &format!("/allocations/{root}")))["cid"],
        root
    );
    assert_eq!(get(&server, "/allocations?filter=bogus").status, 400);

    // Pinning runs in the background (as in ipfs-cluster): "pinning", then "pinned".
    let status = eventually(&server, &format!("/pins/{root}?local=false"), &me, "pinned");
    assert_eq!(status["peer_map"][&me]["status"], "pinned");
    let statuses = lines(&get(&server, "/pins?local=false&filter=&cids="));
    assert_eq!(statuses.len(), 1);
    assert_eq!(get(&server, "/pins?filter=pin_error").status, 204);
    // Unknown CIDs are unpinned, not an error.
    let other = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";
    assert_eq!(
        json(&get(&server, &format!("/pins/{other}")))["peer_map"][&me]["status"],
        "unpinned"
    );
    // Absent content: pin_error with a message, until its blocks arrive.
    let r = send(&server, "POST", &format!("/pins/{other}"));
    assert_eq!(r.status, 200);
    let s = json(&send(&server, "POST", &format!("/pins/{other}/recover")));
    assert!(["pinning", "pin_error"].contains(&s["peer_map"][&me]["status"].as_str().unwrap()));
    let s = eventually(&server, &format!("/pins/{other}"), &me, "pin_error");
    assert_eq!(s["peer_map"][&me]["status"], "pin_error");
    assert!(s["peer_map"][&me]["error"]
        .as_str()
        .unwrap()
        .contains("missing"));
    assert_eq!(
        lines(&send(&server, "POST", "/pins/recover?local=false")).len(),
        2
    );
    // By path: resolved to the file's CID.
    let r = send(&server, "POST", &format!("/pins/ipfs/{root}/hello.txt"));
    assert_eq!(
        json(&r)["cid"],
        "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
    );
    let r = send(&server, "DELETE", &format!("/pins/ipfs/{root}/hello.txt"));
    assert_eq!(r.status, 200);
    // By IPNS path: a local key pointing at the fixture.
    let r = http_request_with_body(server.addr, "POST", "/ipns/localhost?key=k", &[], b"");
    assert_eq!(r.status, 201);
    let r = http_request_with_body(server.addr, "POST", "/ipns/k", &[], root.as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(&server, "POST", "/pins/ipns/k/hello.txt");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        json(&r)["cid"],
        "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
    );
    assert_eq!(
        send(&server, "DELETE", "/pins/ipns/k/hello.txt").status,
        200
    );
    assert_eq!(send(&server, "POST", "/pins/ipns/no-such-key").status, 400);
    // Errors.
    let r = send(&server, "DELETE", &format!("/pins/{other}/../x"));
    assert!(r.status >= 400);
    let r = send(&server, "DELETE", "/pins/bafkreiaaaa");
    assert_eq!(r.status, 400);
    assert!(json(&r)["message"]
        .as_str()
        .unwrap()
        .starts_with("error decoding Cid"));
    assert_eq!(
        send(&server, "DELETE", &format!("/pins/{other}")).status,
        200
    );
    let r = send(&server, "DELETE", &format!("/pins/{other}"));
    assert_eq!(r.status, 404);
    assert_eq!(json(&r)["message"], "pin is not part of the pinset");
    assert_eq!(get(&server, "/nothing").status, 404);
    assert_eq!(json(&get(&server, "/nothing"))["code"], 404);
    assert_eq!(send(&server, "PUT", "/id").status, 405);
    assert_eq!(get(&server, "/pins/").status, 307);

    // Monitoring.
    let names = json(&get(&server, "/monitor/metrics"));
    assert!(names.as_array().unwrap().iter().any(|n| n == "freespace"));
    let free = json(&get(&server, "/monitor/metrics/freespace"));
    let bytes: u64 = free[0]["value"].as_str().unwrap().parse().unwrap();
    assert!(bytes > 0);
    assert_eq!(
        json(&get(&server, "/monitor/metrics/numpin"))[0]["value"],
        "1"
    );
    assert_eq!(json(&get(&server, "/health/alerts")), serde_json::json!([]));
    assert_eq!(
        json(&get(&server, "/health/graph"))["cluster_id"],
        me.as_str()
    );
    let bandwidth = json(&get(&server, "/health/bandwidth"));
    assert!(bandwidth["/http/cluster-api"]["total_in"].as_i64().unwrap() > 0);
    // GC honours pins: the pinned fixture stays.
    let gc = json(&send(&server, "POST", "/ipfs/gc?local=false"));
    assert!(gc["peer_map"][&me]["keys"].is_array());
    let r = support::http_request(server.addr, "GET", &format!("/ipfs/{root}/hello.txt"), &[]);
    assert_eq!(r.status, 200);
}

#[test]
fn peer_removal_of_self_is_refused() {
    let server = server();
    let me = json(&get(&server, "/id"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(send(&server, "DELETE", &format!("/peers/{me}")).status, 500);
    assert_eq!(send(&server, "DELETE", "/peers/not-a-peer").status, 400);
}

#[test]
fn ipfs_cluster_ctl_works_unmodified() {
    let Some(ctl) = support::peer("ipfs-cluster-ctl") else {
        return;
    };
    let server = server();
    let host = format!("/ip4/127.0.0.1/tcp/{}", server.cluster.unwrap().port());
    let run = |args: &[&str]| -> String {
        let out = Command::new(&ctl)
            .args(["--host", &host, "--basic-auth", "user:pass", "--force-http"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ipfs-cluster-ctl {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let id = run(&["id"]);
    assert!(id.starts_with("12D3KooW"), "{id}");
    assert!(run(&["peers", "ls"]).contains("12D3KooW"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "hello\n").unwrap();
    std::fs::create_dir_all(dir.path().join("tree/sub")).unwrap();
    std::fs::write(dir.path().join("tree/a.txt"), "a\n").unwrap();
    std::fs::write(dir.path().join("tree/sub/b.txt"), "b\n").unwrap();
    let added = run(&["add", dir.path().join("hello.txt").to_str().unwrap()]);
    assert_eq!(
        added.trim(),
        "added QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN hello.txt",
        "the CID Kubo gives"
    );
    let added = run(&["add", "-r", dir.path().join("tree").to_str().unwrap()]);
    // Kubo's CIDs for the same tree.
    if let Some(kubo) = support::Kubo::init() {
        let theirs = kubo.run(&["add", "-n", "-r", dir.path().join("tree").to_str().unwrap()]);
        assert_eq!(added, String::from_utf8(theirs).unwrap());
    }
    let root = added
        .lines()
        .last()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .to_string();
    let fixture = "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";
    let pinned = run(&["pin", "add", fixture]);
    assert!(pinned.contains("PINNED"), "{pinned}");
    let ls = run(&["pin", "ls"]);
    assert!(ls.contains(fixture), "{ls}");
    let status = run(&["status"]);
    assert!(status.contains("PINNED"), "{status}");
    assert!(run(&["recover"]).contains("PINNED"));
    let removed = run(&["pin", "rm", fixture]);
    assert!(removed.contains("UNPINNED"), "{removed}");
    assert!(run(&["health", "metrics", "freespace"]).contains("freespace"));
    assert!(run(&["health", "graph"]).contains("digraph"));
    let gc = run(&["ipfs", "gc"]);
    assert!(
        gc.contains("CIDs") || gc.trim().is_empty() || !gc.contains("error"),
        "{gc}"
    );
    // Content added through ctl is served by the gateway.
    let r = support::http_request(server.addr, "GET", &format!("/ipfs/{root}/sub/b.txt"), &[]);
    assert_eq!(r.body, b"b\n");
}

/// A CID stays in the form the client gave: `add` prints `Qm…` (Kubo's CIDv0 default) and so
/// do `pin ls`, `status Qm…` and `pin add Qm…`, as with upstream, never the `bafy…` of the
/// same content.
#[test]
fn ctl_sees_each_cid_in_the_form_it_gave() {
    let Some(ctl) = support::peer("ipfs-cluster-ctl") else {
        return;
    };
    let server = server();
    let host = format!("/ip4/127.0.0.1/tcp/{}", server.cluster.unwrap().port());
    let run = |args: &[&str]| -> String {
        let out = Command::new(&ctl)
            .args(["--host", &host, "--basic-auth", "user:pass", "--force-http"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "ipfs-cluster-ctl {args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "hello\n").unwrap();
    let v0 = "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN";
    let v1 = "bafybeib6vuzeh6trmhxrpbjxqvw4hczkndf5pl5prhphe7b4m4xcelkfje";
    let added = run(&["add", dir.path().join("hello.txt").to_str().unwrap()]);
    assert!(added.contains(v0), "{added}");
    for (what, out) in [
        ("pin ls", run(&["pin", "ls"])),
        ("status", run(&["status"])),
        ("status of the CID", run(&["status", v0])),
        ("pin add of the CID", run(&["pin", "add", v0])),
    ] {
        assert!(out.contains(v0) && !out.contains(v1), "{what}: {out}");
    }
    // The fixture's directory, named by its CIDv0 (it was imported as CIDv1).
    let fixture: cid::Cid = "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy"
        .parse()
        .unwrap();
    let fixture_v0 = cid::Cid::new_v0(*fixture.hash()).unwrap().to_string();
    let pinned = run(&["pin", "add", &fixture_v0]);
    assert!(
        pinned.contains(&fixture_v0) && pinned.contains("PINNED"),
        "{pinned}"
    );
    let ls = run(&["pin", "ls"]);
    assert!(
        ls.contains(&fixture_v0) && !ls.contains(&fixture.to_string()),
        "{ls}"
    );
    assert!(run(&["pin", "rm", v0]).contains(v0));
}

/// Polls a pin's status until this peer reports `want` (or 10 s pass), as
/// `ipfs-cluster-ctl pin add --wait` does; returns the last status.
fn eventually(server: &Server, path: &str, me: &str, want: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let status = json(&get(server, path));
        if status["peer_map"][me]["status"] == want || std::time::Instant::now() > deadline {
            return status;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
