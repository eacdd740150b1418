//! A real IPFS Cluster over cairn nodes: `scripts/cluster-3.py` starts 3 × (cairn +
//! ipfs-cluster-service v1.1.6, CRDT), each cluster peer driving its cairn through the Kubo RPC
//! API, inside a network namespace holding only `lo`, and runs the scenario with
//! ipfs-cluster-ctl: `add` (PINNED on every peer), `pin add --replication 2` of a DAG only the
//! first cairn holds (the second fetches it over Bitswap after the connector's
//! `swarm/connect`), `pin rm`, `recover` of a pin one cairn lost, and the removal of a peer.
//!
//! It needs ipfs-cluster-service and ipfs-cluster-ctl, python3, root and `ip` (for the
//! namespace: ipfs-cluster-service probes the LAN's router at start whatever its
//! configuration): without them it is skipped with a message, and fails under
//! CAIRN_REQUIRE_PEERS=1.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

/// Why the scenario cannot run here, if it cannot.
fn missing_prerequisite() -> Option<String> {
    for tool in ["ipfs-cluster-service", "ipfs-cluster-ctl"] {
        if support::peer(tool).is_none() {
            return Some(format!("{tool} is not installed"));
        }
    }
    let runs = |program: &str, arg: &str| {
        Command::new(program)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !runs("python3", "--version") {
        return Some("python3 is not installed".into());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if !root {
        return Some("not root: no network namespace to keep ipfs-cluster-service in".into());
    }
    if !runs("ip", "-V") {
        return Some("`ip` is not installed: no network namespace".into());
    }
    None
}

#[test]
fn a_cluster_of_three_cairn_nodes_pins_replicates_recovers_and_loses_a_peer() {
    if let Some(why) = missing_prerequisite() {
        if support::peer::peers_required() {
            panic!("the cluster scenario cannot run (CAIRN_REQUIRE_PEERS=1): {why}");
        }
        eprintln!("SKIP: the cluster scenario did not run: {why}");
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let summary = scratch.path().join("summary.json");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/cluster-3.py");
    let out = Command::new("python3")
        .arg(&script)
        .args([
            "--backend",
            "cairn",
            "--cairn",
            support::cairn_bin(),
            "--summary",
        ])
        .arg(&summary)
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the scenario failed:\n{log}");
    let summary: Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    let steps = &summary["cairn"]["scenario"];
    let all = |status: &str| json!({"cairn1": status, "cairn2": status, "cairn3": status});
    assert_eq!(steps["add"], all("pinned"), "{log}");
    assert_eq!(
        steps["replicate"],
        json!({"cairn1": "pinned", "cairn2": "pinned", "cairn3": "remote"}),
        "{log}"
    );
    assert_eq!(steps["replicate_daemon2_pin"]["Type"], "recursive", "{log}");
    assert_eq!(steps["pin_rm"], all("unpinned"), "{log}");
    assert_eq!(
        steps["lost"]["cairn3"], "unexpectedly_unpinned",
        "cairn3's daemon was unpinned behind the cluster's back:\n{log}"
    );
    assert_eq!(steps["recover"], all("pinned"), "{log}");
    assert_eq!(
        steps["peers_after_removal"],
        json!(["cairn1", "cairn2"]),
        "{log}"
    );
}
