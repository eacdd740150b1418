//! `cairn import`: CARv1 and CARv2 in, every block hash-checked, malformed input refused with
//! a message naming what and where, nothing corrupt left behind — and all of it safe beside a
//! running server on the same data directory.

mod support;

use std::process::Command;

use support::dag::{carv2, raw_cid, Blocks};
use support::Server;

fn import_status(data: &std::path::Path, car: &std::path::Path) -> (bool, String, String) {
    let out = Command::new(support::cairn_bin())
        .args(["import", "--data"])
        .arg(data)
        .arg(car)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn import_prints_roots_and_serves_while_a_server_runs() {
    let data = tempfile::tempdir().unwrap();
    let data_path = data.path().to_path_buf();
    let server = Server::start_in(data, &[]);
    let root = "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";
    assert_eq!(server.get(&format!("/ipfs/{root}/hello.txt")).status, 404);
    let car = support::fixtures().join("path_gateway_unixfs/dir-with-files.car");
    let out = support::import(&data_path, &[car]);
    assert_eq!(out.trim(), root, "prints the root as CIDv1");
    let r = server.get(&format!("/ipfs/{root}/hello.txt"));
    assert_eq!(
        r.status, 200,
        "blocks imported by a second process are served at once"
    );
    assert_eq!(r.body, b"hello world\n");
}

#[test]
fn carv2_is_imported() {
    let mut blocks = Blocks::default();
    let (root, content) = blocks.file(3000, 1000);
    let v2 = carv2(&blocks.car(&root), 13);
    let dir = tempfile::tempdir().unwrap();
    let car_path = dir.path().join("file.car");
    std::fs::write(&car_path, v2).unwrap();
    let data = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = import_status(data.path(), &car_path);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), root.to_string());
    let server = Server::start_in(data, &[]);
    assert_eq!(server.get(&format!("/ipfs/{root}")).body, content);
}

#[test]
fn truncated_car_is_refused_with_where() {
    let original =
        std::fs::read(support::fixtures().join("path_gateway_unixfs/dir-with-files.car")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let car_path = dir.path().join("cut.car");
    std::fs::write(&car_path, &original[..original.len() - 10]).unwrap();
    let data = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = import_status(data.path(), &car_path);
    assert!(!ok);
    assert!(stderr.contains("cut.car"), "names the file: {stderr}");
    assert!(stderr.contains("byte"), "says where: {stderr}");
    assert!(stderr.contains("truncated"), "says what: {stderr}");
}

#[test]
fn a_block_that_does_not_match_its_cid_is_refused_and_not_stored() {
    let mut blocks = Blocks::default();
    let good = blocks.add(raw_cid(b"good block"), b"good block".to_vec());
    let bad_cid = raw_cid(b"the real content");
    blocks.add(bad_cid, b"forged content!!".to_vec());
    let car = blocks.car(&good);
    let dir = tempfile::tempdir().unwrap();
    let car_path = dir.path().join("forged.car");
    std::fs::write(&car_path, car).unwrap();
    let data = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = import_status(data.path(), &car_path);
    assert!(!ok);
    assert!(stderr.contains("does not match"), "{stderr}");
    assert!(stderr.contains("block 2"), "says which block: {stderr}");
    let server = Server::start_in(data, &[]);
    assert_eq!(server.get(&format!("/ipfs/{bad_cid}")).status, 404);
    assert_eq!(server.get(&format!("/ipfs/{good}")).body, b"good block");
}

#[test]
fn garbage_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let car_path = dir.path().join("garbage.car");
    std::fs::write(&car_path, b"this is not a CAR file at all").unwrap();
    let data = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = import_status(data.path(), &car_path);
    assert!(!ok);
    assert!(
        stderr.contains("garbage.car") && stderr.contains("CAR"),
        "{stderr}"
    );
}

#[test]
fn wide_directories_list_without_their_children() {
    // 10,000 entries whose blocks are absent: the listing needs the directory block only.
    let mut blocks = Blocks::default();
    let entries: Vec<(String, cid::Cid, u64)> = (0..10_000)
        .map(|i| {
            let name = format!("file-{i:05}.txt");
            let cid = raw_cid(name.as_bytes());
            (name, cid, 12)
        })
        .collect();
    let root = blocks.directory(entries);
    let dir = tempfile::tempdir().unwrap();
    let car_path = dir.path().join("wide.car");
    std::fs::write(&car_path, blocks.car(&root)).unwrap();
    let data = tempfile::tempdir().unwrap();
    support::import(data.path(), &[car_path]);
    let server = Server::start_in(data, &[]);
    let html = server.request("GET", &format!("/ipfs/{root}/"), &[("Accept", "text/html")]);
    assert_eq!(html.status, 200);
    let links = format!("<a href=\"/ipfs/{root}/file-");
    assert_eq!(html.text().matches(&links).count(), 10_000);
    let json = server.get(&format!("/ipfs/{root}/"));
    let names: Vec<String> = serde_json::from_slice(&json.body).unwrap();
    assert_eq!(names.len(), 10_000);
    assert_eq!(names[0], "file-00000.txt");
    // A child itself is absent: 404, promptly.
    assert_eq!(
        server.get(&format!("/ipfs/{root}/file-00042.txt")).status,
        404
    );
}
