//! Finding the external peers some tests compare against (Kubo, ipfs-cluster-ctl, …). Shared
//! by the integration harness and the library's unit tests (`src/test_support.rs` includes
//! this file), so both skip or fail the same way.

use std::path::PathBuf;

/// Whether tests must fail, rather than skip, when a peer is missing.
pub fn peers_required() -> bool {
    std::env::var("CAIRN_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Finds an external tool on PATH or in Go's bin directory; prints a visible skip message (or
/// fails under `CAIRN_REQUIRE_PEERS=1`) when it is absent.
pub fn peer(tool: &str) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(tool)).collect())
        .unwrap_or_default();
    if let Some(gopath) = std::env::var_os("GOPATH") {
        candidates.push(PathBuf::from(gopath).join("bin").join(tool));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join("go/bin").join(tool));
    }
    if let Some(found) = candidates.into_iter().find(|c| c.is_file()) {
        return Some(found);
    }
    if peers_required() {
        panic!("{tool} is required (CAIRN_REQUIRE_PEERS=1) but was not found");
    }
    eprintln!("SKIP: {tool} not installed; the comparison with it did not run");
    None
}
