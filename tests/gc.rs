//! `cairn gc`: pinned DAGs stay, everything else goes — also beside a running server.

mod support;

use std::process::Command;

use support::Server;

const DIR_WITH_FILES: &str = "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";
const DIR_LISTING: &str = "bafybeig6ka5mlwkl4subqhaiatalkcleo4jgnr3hqwvpmsqfca27cijp3i";
/// A file in [`DIR_LISTING`]: `ą/ę/file-źł.txt`.
const UNPINNED_FILE: &str = "/ipfs/bafybeig6ka5mlwkl4subqhaiatalkcleo4jgnr3hqwvpmsqfca27cijp3i/%C4%85/%C4%99/file-%C5%BA%C5%82.txt";

fn cairn(args: &[&str], data: &std::path::Path) -> (bool, String) {
    let out = Command::new(support::cairn_bin())
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn gc_keeps_pinned_and_removes_unpinned_beside_a_running_server() {
    let data = tempfile::tempdir().unwrap();
    let fixtures = support::fixtures();
    let pinned = fixtures.join("path_gateway_unixfs/dir-with-files.car");
    let unpinned = fixtures.join("dir_listing/fixtures.car");
    let (ok, out) = cairn(&["import", pinned.to_str().unwrap()], data.path());
    assert!(ok, "{out}");
    let (ok, out) = cairn(
        &["import", "--pin-roots=false", unpinned.to_str().unwrap()],
        data.path(),
    );
    assert!(ok, "{out}");
    let data_path = data.path().to_path_buf();
    let server = Server::start_in(data, &[]);
    assert_eq!(server.get(&format!("/ipfs/{DIR_LISTING}/")).status, 200);
    // Twice: the second answer is replayed from memory, which must stop too.
    for _ in 0..2 {
        assert_eq!(server.get(UNPINNED_FILE).status, 200);
    }

    let (ok, out) = cairn(&["gc"], &data_path);
    assert!(ok, "{out}");
    let removed = out.lines().filter(|l| l.starts_with("removed ")).count();
    assert_eq!(removed, 10, "the unpinned CAR had 10 blocks: {out}");

    // The server notices the collection within a second and stops serving removed blocks,
    // from memory too (its block cache and its replayed answers).
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let r = server.get(&format!("/ipfs/{DIR_WITH_FILES}/multiblock.txt"));
    assert_eq!(r.status, 200, "pinned content is kept, every block of it");
    assert_eq!(server.get(&format!("/ipfs/{DIR_LISTING}/")).status, 404);
    assert_eq!(server.get(UNPINNED_FILE).status, 404);
    // A second run has nothing left to do.
    let (ok, out) = cairn(&["gc"], &data_path);
    assert!(ok);
    assert_eq!(out.lines().filter(|l| l.starts_with("removed ")).count(), 0);
}
