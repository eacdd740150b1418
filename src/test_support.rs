//! What unit tests share: the fixtures kept in the repository and the external peers some
//! tests compare against (found as the integration harness in `tests/support` finds them).

use std::path::PathBuf;

/// The gateway-conformance fixtures kept in the repository (`tests/fixtures/`).
pub const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/gateway-conformance"
);

/// Finds an external tool on PATH or in Go's bin directory. Absent, the caller skips with a
/// visible message, or the test fails when `CAIRN_REQUIRE_PEERS=1`.
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
    if std::env::var("CAIRN_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
        panic!("{tool} is required (CAIRN_REQUIRE_PEERS=1) but was not found");
    }
    eprintln!("SKIP: {tool} not installed; the comparison with it did not run");
    None
}

/// Runs a future to completion on this thread's test runtime (current-thread, with the
/// blocking pool store reads use), for tests that are not async themselves. The runtime
/// lives as long as the thread, so reads a stream started ahead survive between calls.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("test runtime");
    }
    RUNTIME.with(|runtime| runtime.block_on(future))
}
