//! Differential test of `cairn add` against Kubo's `ipfs add`: a generated corpus (sizes at
//! and around chunk and width boundaries, more than 174×174 leaves, deep and wide trees,
//! unicode names, symlinks, hidden files, directories just under and over the sharding
//! threshold) under each flag combination; every output line (CID and name) must be equal.
//! `CAIRN_FULL_CORPUS=1` adds larger inputs and more combinations. Skips with a message when
//! Kubo is not installed (fails instead under CAIRN_REQUIRE_PEERS=1).

mod support;

use std::fs;
use std::path::Path;
use std::process::Command;

use support::Kubo;

/// Deterministic pseudo-random bytes (xorshift64*).
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

fn write(path: &Path, data: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

fn corpus(root: &Path, full: bool) {
    let files = root.join("files");
    let k = 1024;
    let mut sizes = vec![0, 1, 255, 256, 257, 174 * 256 - 1, 174 * 256, 174 * 256 + 1];
    sizes.extend([256 * k - 1, 256 * k, 256 * k + 1, 1024 * k + 1]);
    if full {
        sizes.extend([174 * 256 * k + 1, 64 * 1024 * k]);
    }
    for (i, size) in sizes.iter().enumerate() {
        write(
            &files.join(format!("size-{size}.bin")),
            &bytes(i as u64, *size),
        );
    }
    // More than 174×174 leaves under size-16 (a third level of the balanced DAG).
    write(
        &root.join("wide-dag/leaves.bin"),
        &bytes(99, 174 * 174 * 16 + 17),
    );
    // Deep, unicode, hidden, empty, symlinks.
    let deep = (0..12).fold(root.join("tree"), |p, i| p.join(format!("level-{i}")));
    write(&deep.join("bottom.txt"), b"at the bottom\n");
    write(
        &root.join("tree/zażółć gęślą jaźń.txt"),
        "unicode ✓\n".as_bytes(),
    );
    write(&root.join("tree/Ünïcödé/名前.txt"), &bytes(7, 3000));
    write(&root.join("tree/.hidden/secret"), b"hidden\n");
    fs::create_dir_all(root.join("tree/empty/also-empty")).unwrap();
    std::os::unix::fs::symlink("zażółć gęślą jaźń.txt", root.join("tree/link")).unwrap();
    std::os::unix::fs::symlink("../nowhere", root.join("tree/dangling")).unwrap();
    // Wide directories just under and just over the 256 KiB "links" estimate (CIDv0: each
    // entry costs its name length + 34 bytes): 5,800 × 45 < 262,144 < 5,850 × 45.
    for (dir, count) in [("under", 5800), ("over", 5850)] {
        let d = root.join(format!("shard-{dir}"));
        fs::create_dir_all(&d).unwrap();
        for i in 0..count {
            fs::write(d.join(format!("f-{i:05}.txt")), [b'a' + (i % 26) as u8]).unwrap();
        }
    }
    if full {
        let d = root.join("shard-deep");
        fs::create_dir_all(&d).unwrap();
        for i in 0..40_000 {
            fs::write(d.join(format!("{i}")), i.to_string()).unwrap();
        }
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn cairn_add_matches_kubo_add() {
    let Some(kubo) = Kubo::init() else { return };
    let full = std::env::var("CAIRN_FULL_CORPUS").is_ok_and(|v| v == "1");
    let dir = tempfile::tempdir().unwrap();
    let corpus_dir = dir.path().join("corpus");
    corpus(&corpus_dir, full);
    let data = tempfile::tempdir().unwrap();
    let mut combos: Vec<Vec<&str>> = vec![
        vec![],
        vec!["--cid-version=1"],
        vec!["--cid-version=1", "--raw-leaves=false"],
        vec!["--raw-leaves"],
        vec!["--chunker=size-16"],
        vec!["--chunker=size-16", "--trickle"],
        vec!["--chunker=rabin"],
        vec!["--chunker=rabin-16-64-256", "--cid-version=1"],
        vec!["--chunker=buzhash"],
        vec!["--max-file-links=7", "--chunker=size-64"],
        vec!["--inline", "--inline-limit=40"],
        vec!["--hash=sha2-512"],
        vec!["--hash=blake3"],
        vec!["--hidden"],
        vec!["-w"],
    ];
    if full {
        combos.extend([
            vec!["--trickle", "--cid-version=1"],
            vec!["--hash=sha3-256", "--cid-version=0"],
            vec!["--hash=blake2b-256"],
            vec![
                "--chunker=size-1048576",
                "--max-file-links=1024",
                "--cid-version=1",
            ],
        ]);
    }
    let target = corpus_dir.to_str().unwrap();
    let mut compared = 0;
    for flags in &combos {
        let mut args = vec!["add", "-n", "-r"];
        args.extend(flags);
        args.push(target);
        let theirs = run(kubo.command(&args).current_dir(dir.path()));
        let ours = run(Command::new(support::cairn_bin())
            .args(&args)
            .arg("--data")
            .arg(data.path())
            .current_dir(dir.path()));
        let (t, o): (Vec<&str>, Vec<&str>) = (theirs.lines().collect(), ours.lines().collect());
        assert_eq!(o.len(), t.len(), "line count with {flags:?}");
        for (ours, theirs) in o.iter().zip(&t) {
            assert_eq!(ours, theirs, "with flags {flags:?}");
        }
        compared += t.len();
    }
    // Metadata: Kubo cannot hash it with --only-hash, so both store (in scratch places).
    let metadata = ["--preserve-mode", "--preserve-mtime"];
    let theirs = run(&mut kubo.command(&["add", "-r", metadata[0], metadata[1], target]));
    let ours = run(Command::new(support::cairn_bin())
        .args(["add", "-r", metadata[0], metadata[1], target, "--data"])
        .arg(data.path()));
    assert_eq!(ours, theirs, "with {metadata:?}");
    compared += theirs.lines().count();
    // The unixfs-v1-2025 profile: Kubo takes it from its configuration.
    kubo.run(&["config", "profile", "apply", "unixfs-v1-2025"]);
    let theirs = run(&mut kubo.command(&["add", "-n", "-r", target]));
    let ours = run(Command::new(support::cairn_bin())
        .args([
            "add",
            "-n",
            "-r",
            "--profile",
            "unixfs-v1-2025",
            target,
            "--data",
        ])
        .arg(data.path()));
    assert_eq!(ours, theirs, "unixfs-v1-2025 profile");
    compared += theirs.lines().count();
    eprintln!(
        "compared {compared} CIDs with Kubo over {} flag sets",
        combos.len() + 2
    );
}

#[test]
fn added_content_is_stored_pinned_and_served() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("site/index.html"), b"<h1>hi</h1>\n");
    write(&dir.path().join("site/a.txt"), b"a\n");
    let data = tempfile::tempdir().unwrap();
    let out = run(Command::new(support::cairn_bin())
        .args(["add", "-r", "-Q", "--cid-version=1"])
        .arg(dir.path().join("site"))
        .arg("--data")
        .arg(data.path()));
    let root = out.trim().to_string();
    // Pinned by default: GC keeps it.
    run(Command::new(support::cairn_bin())
        .args(["gc", "--data"])
        .arg(data.path()));
    let server = support::Server::start_in(data, &[]);
    let r = server.get(&format!("/ipfs/{root}/"));
    assert_eq!(r.body, b"<h1>hi</h1>\n");
    assert_eq!(server.get(&format!("/ipfs/{root}/a.txt")).body, b"a\n");
    // And while the server runs, more can be added beside it.
    let out = run(Command::new(support::cairn_bin())
        .args(["add", "-Q", "--cid-version=1"])
        .arg("--data")
        .arg(server.data.path())
        .arg(dir.path().join("site/a.txt")));
    assert_eq!(server.get(&format!("/ipfs/{}", out.trim())).body, b"a\n");
}
