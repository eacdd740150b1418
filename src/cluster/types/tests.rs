//! Unit tests of the Cluster API types against what Go emits and parses.

use super::enums::*;
use super::go::*;
use super::*;

const PID: &str = "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo";
const PID2: &str = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
const CID1: &str = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
const CID0: &str = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG";
const MA: &str = "/ip4/1.2.3.4/tcp/9096/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo";

fn pid(s: &str) -> PeerId {
    PeerId::parse(s).unwrap()
}
fn cid(s: &str) -> Cid {
    parse_cid(s).unwrap()
}
fn ma(s: &str) -> Multiaddr {
    Multiaddr::parse(s).unwrap()
}
fn json<T: Serialize>(v: &T) -> String {
    let mut b = to_go_json(v).unwrap();
    assert_eq!(b.pop(), Some(b'\n'));
    String::from_utf8(b).unwrap()
}
/// 2024-01-02T03:04:05.12Z
fn ts() -> Timestamp {
    Timestamp::parse_rfc3339("2024-01-02T03:04:05.12Z").unwrap()
}

// Every expected JSON literal below was printed by json.Marshal in a Go program importing
// github.com/ipfs-cluster/ipfs-cluster/api v1.1.6 (Go 1.26) with the same values.

#[test]
fn zero_pin_matches_go() {
    let pin = Pin {
        options: PinOptions::default(),
        cid: None,
        pin_type: PinType::Bad,
        allocations: None,
        max_depth: 0,
        reference: None,
        timestamp: Timestamp::ZERO,
    };
    assert_eq!(
        json(&pin),
        r#"{"replication_factor_min":0,"replication_factor_max":0,"name":"","mode":"recursive","shard_size":0,"user_allocations":null,"expire_at":"0001-01-01T00:00:00Z","metadata":null,"pin_update":null,"origins":null,"cid":null,"type":"bad-type","allocations":null,"max_depth":0,"reference":null,"timestamp":"0001-01-01T00:00:00Z"}"#
    );
}

#[test]
fn full_pin_matches_go() {
    let mut metadata = BTreeMap::new();
    metadata.insert("z".to_string(), "1".to_string());
    metadata.insert("a".to_string(), "2".to_string());
    let pin = Pin {
        options: PinOptions {
            replication_factor_min: -1,
            replication_factor_max: -1,
            name: "a<b>&c".into(),
            mode: PinMode::Direct,
            shard_size: 5,
            user_allocations: None,
            expire_at: Timestamp::parse_rfc3339("2030-01-01T00:00:00+02:00").unwrap(),
            metadata: Some(metadata),
            pin_update: Some(cid(CID0)),
            origins: Some(vec![ma(
                "/ip4/1.2.3.4/tcp/9096/ipfs/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo",
            )]),
        },
        cid: Some(cid(CID1)),
        pin_type: PinType::Data,
        allocations: Some(vec![pid(PID), pid(PID2)]),
        max_depth: 0,
        reference: Some(cid(CID0)),
        timestamp: ts(),
    };
    assert_eq!(
        json(&pin),
        r#"{"replication_factor_min":-1,"replication_factor_max":-1,"name":"a\u003cb\u003e\u0026c","mode":"direct","shard_size":5,"user_allocations":null,"expire_at":"2030-01-01T00:00:00+02:00","metadata":{"a":"2","z":"1"},"pin_update":"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG","origins":["/ip4/1.2.3.4/tcp/9096/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"],"cid":"bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy","type":"pin","allocations":["12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo","QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"],"max_depth":0,"reference":"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG","timestamp":"2024-01-02T03:04:05.12Z"}"#
    );
}

#[test]
fn pin_type_and_status_names_match_go() {
    let types = [
        PinType::Bad,
        PinType::Data,
        PinType::Meta,
        PinType::ClusterDag,
        PinType::Shard,
    ];
    assert_eq!(
        json(&types),
        r#"["bad-type","pin","meta-pin","clusterdag-pin","shard-pin"]"#
    );
    let statuses: Vec<TrackerStatus> = TRACKER_STATUS_NAMES
        .iter()
        .map(|&(b, _)| TrackerStatus(b))
        .collect();
    assert_eq!(
        json(&statuses),
        r#"["undefined","cluster_error","pin_error","unpin_error","error","pinned","pinning","unpinning","unpinned","remote","pin_queued","unpin_queued","queued","sharded","unexpectedly_unpinned"]"#
    );
    // A bit set that is no known alias lists every name sharing a bit.
    assert_eq!(
        TrackerStatus(TrackerStatus::PINNED.0 | TrackerStatus::PIN_ERROR.0).to_string(),
        "pin_error,error,pinned"
    );
}

#[test]
fn tracker_status_filters_match_go() {
    // Values printed by api.TrackerStatusFromString.
    for (s, want) in [
        ("", 0),
        ("pinned", 16),
        ("error", 14),
        ("queued", 1536),
        ("pinned,bogus", 16),
        ("bogus", 0),
        ("undefined", 0),
        (" pin ned, error", 30),
        ("pinned,,queued", 1552),
    ] {
        assert_eq!(TrackerStatus::from_filter(s).0, want, "{s:?}");
    }
    let error = TrackerStatus::ERROR;
    assert!(TrackerStatus::PIN_ERROR.matches(error));
    assert!(!TrackerStatus::PINNED.matches(error));
    assert!(TrackerStatus::PINNED.matches(TrackerStatus::UNDEFINED));
    assert!(TrackerStatus::UNDEFINED.matches(TrackerStatus::PINNED));
}

#[test]
fn pin_type_filter() {
    assert!(PinTypeFilter::ALL.matches(PinType::Shard));
    let f = PinTypeFilter(PinType::Data.bit() | PinType::Bad.bit());
    assert!(f.matches(PinType::Data));
    assert!(!f.matches(PinType::Meta));
}

#[test]
fn id_matches_go() {
    let id = Id {
        id: pid(PID),
        addresses: Some(vec![ma(MA)]),
        cluster_peers: vec![pid(PID)],
        cluster_peers_addresses: vec![],
        version: "1.1.6".into(),
        commit: String::new(),
        rpc_protocol_version: "/ipfscluster/1.0/rpc".into(),
        error: String::new(),
        ipfs: IpfsId {
            id: Some(pid(PID2)),
            addresses: Some(vec![ma(MA)]),
            error: String::new(),
        },
        peername: "n".into(),
    };
    assert_eq!(
        json(&id),
        r#"{"id":"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo","addresses":["/ip4/1.2.3.4/tcp/9096/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"],"cluster_peers":["12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"],"cluster_peers_addresses":[],"version":"1.1.6","commit":"","rpc_protocol_version":"/ipfscluster/1.0/rpc","error":"","ipfs":{"id":"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N","addresses":["/ip4/1.2.3.4/tcp/9096/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"],"error":""},"peername":"n"}"#
    );
    // Go's zero IPFSID: id omitted, addresses null.
    assert_eq!(json(&IpfsId::default()), r#"{"addresses":null,"error":""}"#);
    assert_eq!(
        json(&Version {
            version: "1.1.6".into()
        }),
        r#"{"version":"1.1.6"}"#
    );
}

#[test]
fn global_pin_info_matches_go() {
    let mut peer_map = BTreeMap::new();
    peer_map.insert(
        PID.to_string(),
        PinInfoShort {
            peername: "p1".into(),
            ipfs_peer_id: Some(pid(PID2)),
            ipfs_peer_addresses: vec![ma(MA)],
            status: TrackerStatus::PINNED,
            timestamp: ts(),
            error: String::new(),
            attempt_count: 2,
            priority_pin: true,
        },
    );
    peer_map.insert(
        PID2.to_string(),
        PinInfoShort {
            peername: "p2".into(),
            ipfs_peer_id: None,
            ipfs_peer_addresses: vec![],
            status: TrackerStatus::PIN_ERROR,
            timestamp: Timestamp::ZERO,
            error: "boom".into(),
            attempt_count: 0,
            priority_pin: false,
        },
    );
    let gpi = GlobalPinInfo {
        cid: Some(cid(CID1)),
        name: "x".into(),
        allocations: None,
        origins: None,
        created: ts(),
        metadata: None,
        peer_map: Some(peer_map),
    };
    assert_eq!(
        json(&gpi),
        r#"{"cid":"bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy","name":"x","allocations":null,"origins":null,"created":"2024-01-02T03:04:05.12Z","metadata":null,"peer_map":{"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo":{"peername":"p1","ipfs_peer_id":"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N","ipfs_peer_addresses":["/ip4/1.2.3.4/tcp/9096/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"],"status":"pinned","timestamp":"2024-01-02T03:04:05.12Z","error":"","attempt_count":2,"priority_pin":true},"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N":{"peername":"p2","status":"pin_error","timestamp":"0001-01-01T00:00:00Z","error":"boom","attempt_count":0,"priority_pin":false}}}"#
    );
    let zero = GlobalPinInfo {
        cid: None,
        name: String::new(),
        allocations: None,
        origins: None,
        created: Timestamp::ZERO,
        metadata: None,
        peer_map: None,
    };
    assert_eq!(
        json(&zero),
        r#"{"cid":null,"name":"","allocations":null,"origins":null,"created":"0001-01-01T00:00:00Z","metadata":null,"peer_map":null}"#
    );
}

#[test]
fn added_output_matches_go() {
    let added = AddedOutput {
        name: "hello.txt".into(),
        cid: Some(cid(CID1)),
        bytes: 0,
        size: 20,
        allocations: vec![pid(PID)],
    };
    assert_eq!(
        json(&added),
        r#"{"name":"hello.txt","cid":"bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy","size":20,"allocations":["12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"]}"#
    );
    let progress = AddedOutput {
        name: "hello.txt".into(),
        cid: None,
        bytes: 5,
        size: 0,
        allocations: vec![],
    };
    assert_eq!(
        json(&progress),
        r#"{"name":"hello.txt","cid":null,"bytes":5}"#
    );
}

#[test]
fn metric_and_alert_match_go() {
    let m = Metric {
        name: "freespace".into(),
        peer: pid(PID),
        value: "1000".into(),
        expire: 1_700_000_000_000_000_000,
        valid: true,
        weight: 1000,
        partitionable: false,
        received_at: 1_690_000_000_000_000_000,
    };
    assert_eq!(
        json(&m),
        r#"{"name":"freespace","peer":"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo","value":"1000","expire":1700000000000000000,"valid":true,"weight":1000,"partitionable":false,"received_at":1690000000000000000}"#
    );
    let a = Alert {
        metric: m,
        triggered_at: ts(),
    };
    assert_eq!(
        json(&a),
        r#"{"name":"freespace","peer":"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo","value":"1000","expire":1700000000000000000,"valid":true,"weight":1000,"partitionable":false,"received_at":1690000000000000000,"triggered_at":"2024-01-02T03:04:05.12Z"}"#
    );
}

#[test]
fn connect_graph_matches_go() {
    let g = ConnectGraph {
        cluster_id: pid(PID),
        id_to_peername: [(PID.to_string(), "n".to_string())].into(),
        ipfs_links: [(PID2.to_string(), vec![])].into(),
        cluster_links: [(PID.to_string(), vec![pid(PID)])].into(),
        cluster_trust_links: [(PID.to_string(), true)].into(),
        cluster_to_ipfs: [(PID.to_string(), pid(PID2))].into(),
    };
    assert_eq!(
        json(&g),
        r#"{"cluster_id":"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo","id_to_peername":{"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo":"n"},"ipfs_links":{"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N":[]},"cluster_links":{"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo":["12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"]},"cluster_trust_links":{"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo":true},"cluster_to_ipfs":{"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo":"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"}}"#
    );
}

#[test]
fn bandwidth_floats_match_go() {
    let mut bw = BandwidthByProtocol::new();
    bw.insert(
        "/ipfs/id/1.0.0".into(),
        Bandwidth {
            total_in: 10,
            total_out: 20,
            rate_in: 0.0,
            rate_out: 1.5,
        },
    );
    bw.insert(
        "/x".into(),
        Bandwidth {
            rate_in: 100.0,
            rate_out: 1e21,
            ..Default::default()
        },
    );
    bw.insert(
        "/y".into(),
        Bandwidth {
            rate_in: 1e-7,
            rate_out: 1.5e-6,
            ..Default::default()
        },
    );
    bw.insert(
        "/z".into(),
        Bandwidth {
            rate_in: 123456789012345678901.0,
            rate_out: 9007199254740993.0,
            ..Default::default()
        },
    );
    assert_eq!(
        json(&bw),
        r#"{"/ipfs/id/1.0.0":{"total_in":10,"total_out":20,"rate_in":0,"rate_out":1.5},"/x":{"total_in":0,"total_out":0,"rate_in":100,"rate_out":1e+21},"/y":{"total_in":0,"total_out":0,"rate_in":1e-7,"rate_out":0.0000015},"/z":{"total_in":0,"total_out":0,"rate_in":123456789012345680000,"rate_out":9007199254740992}}"#
    );
    assert_eq!(go_format_f64(-2.5e-10), "-2.5e-10");
    assert_eq!(go_format_f64(1.25e300), "1.25e+300");
    assert_eq!(go_format_f64(f64::NAN), "null");
}

#[test]
fn repo_gc_and_error_match_go() {
    let mut peer_map = BTreeMap::new();
    peer_map.insert(
        PID.to_string(),
        RepoGc {
            peer: pid(PID),
            peername: "n".into(),
            keys: vec![
                IpfsRepoGc {
                    key: Some(cid(CID1)),
                    error: String::new(),
                },
                IpfsRepoGc {
                    key: None,
                    error: "e".into(),
                },
            ],
            error: String::new(),
        },
    );
    peer_map.insert(
        PID2.to_string(),
        RepoGc {
            peer: pid(PID2),
            peername: String::new(),
            keys: vec![],
            error: "down".into(),
        },
    );
    assert_eq!(
        json(&GlobalRepoGc { peer_map }),
        r#"{"peer_map":{"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo":{"peer":"12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo","peername":"n","keys":[{"key":"bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"},{"key":null,"error":"e"}]},"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N":{"peer":"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N","peername":"","keys":[],"error":"down"}}}"#
    );
    assert_eq!(
        json(&ApiError {
            code: 404,
            message: "not found".into()
        }),
        r#"{"code":404,"message":"not found"}"#
    );
    assert_eq!(
        to_go_json(&TokenReply { token: "t".into() }).unwrap(),
        b"{\"token\":\"t\"}\n"
    );
}

#[test]
fn string_escaping_matches_go() {
    let s = "\u{2028}\u{2029}<>&\u{1}\u{7f}\u{8}\u{c}\n\r\t\"\\é";
    assert_eq!(
        json(&[s]),
        "[\"\\u2028\\u2029\\u003c\\u003e\\u0026\\u0001\u{7f}\\b\\f\\n\\r\\t\\\"\\\\é\"]"
    );
}

#[test]
fn peer_ids_parse_like_go() {
    // (input, Go's peer.ID.String())
    for (input, want) in [
        (PID, PID),
        (PID2, PID2),
        (
            "bafzaajaiaejcbzdibmxyzdjbbehgvizh6g5tikvy47mshdy6gwbruvgwvd24seje",
            "12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK",
        ),
        (
            "k51qzi5uqu5dlmnvz1ncd1f8b0nnk0tfnqk8kmc0t67xuk6bv3rdy1zbhn0m10",
            "12D3KooWQXPxtc8KgBxeigoFtT1627fciYY8Pi65dmy4VcqVrqCX",
        ),
        // Base58 "11" is [0, 0]: an empty identity multihash, which go-libp2p accepts.
        ("11", "11"),
    ] {
        assert_eq!(PeerId::parse(input).unwrap().as_str(), want, "{input}");
    }
    for (input, msg) in [
        (
            "1",
            "failed to parse peer ID: multihash too short. must be >= 2 bytes",
        ),
        (
            "Qm",
            "failed to parse peer ID: length greater than remaining number of bytes in buffer",
        ),
        (
            "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2X0",
            "failed to parse peer ID: input isn't valid multihash",
        ),
        (CID1, "can't convert CID of type \"raw\" to a peer ID"),
    ] {
        assert_eq!(
            PeerId::parse(input).unwrap_err().to_string(),
            msg,
            "{input}"
        );
    }
    assert!(PeerId::parse("").is_err());
    assert_eq!(
        PeerId::parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5")
            .unwrap_err()
            .to_string(),
        "failed to parse peer ID: multihash length inconsistent: expected 2; got 4"
    );
    assert!(PeerId::parse(&"1".repeat(10_000)).is_err());
    // Non-minimal varint in the multihash header.
    assert!(PeerId::from_multihash_bytes(&[0x80, 0x00, 0x00]).is_err());
    assert_eq!(
        PeerId::from_multihash_bytes(&[0, 0]).unwrap().as_str(),
        "11"
    );
}

#[test]
fn multiaddrs_parse_like_go() {
    // (input, go-multiaddr's String())
    for (input, want) in [
        ("/ip4/1.2.3.4", "/ip4/1.2.3.4"),
        ("/ip4/1.2.3.4/", "/ip4/1.2.3.4"),
        ("/ip4/::ffff:1.2.3.4/tcp/1", "/ip4/1.2.3.4/tcp/1"),
        ("/ip6/::1/tcp/80", "/ip6/::1/tcp/80"),
        ("/ip6/1.2.3.4", "/ip6/::ffff:1.2.3.4"),
        ("/ip6/2001:DB8:0:0:1:0:0:1/udp/1/quic-v1", "/ip6/2001:db8::1:0:0:1/udp/1/quic-v1"),
        ("/ip6/::ffff:1.2.3.4", "/ip6/::ffff:1.2.3.4"),
        ("/tcp/0080", "/tcp/80"),
        ("/unix/a/b", "/unix/a/b"),
        ("/unix//a/b", "/unix//a/b"),
        ("/unix//a/b/", "/unix//a/b"),
        ("/p2p-circuit", "/p2p-circuit"),
        ("/ipfs/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N", "/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"),
        (
            "/p2p/bafzaajaiaejcbzdibmxyzdjbbehgvizh6g5tikvy47mshdy6gwbruvgwvd24seje",
            "/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK",
        ),
        ("/ip6zone/eth0/ip6/fe80::1", "/ip6zone/eth0/ip6/fe80::1"),
        ("/ipcidr/24", "/ipcidr/24"),
        ("/memory/5", "/memory/5"),
        ("/http-path/a%2Fb", "/http-path/a%2Fb"),
        (
            "/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g",
            "/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g",
        ),
        ("/dns/example.com/tcp/443/tls/sni/example.com/http", "/dns/example.com/tcp/443/tls/sni/example.com/http"),
        ("/onion/aaimaq4ygg2iegci:80", "/onion/aaimaq4ygg2iegci:80"),
        (
            "/onion3/vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd:1234",
            "/onion3/vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd:1234",
        ),
        (
            "/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N/p2p-circuit/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo",
            "/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N/p2p-circuit/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo",
        ),
        ("/ip4/1.2.3.4/tcp/1/ws", "/ip4/1.2.3.4/tcp/1/ws"),
        ("/ip6/::1.2.3.4", "/ip6/::102:304"),
        ("/ip6/::", "/ip6/::"),
        ("/ip6/1:0:0:1:0:0:0:1", "/ip6/1:0:0:1::1"),
        (
            "/garlic32/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "/garlic32/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ),
        (
            "/certhash/zQmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
            "/certhash/uEiCdbCvlD3BpU0eaud8s4-3KkLaAU8ALMAS38KzL4eju3w",
        ),
        ("/http-path/a+b%20c", "/http-path/a+b+c"),
    ] {
        let got = Multiaddr::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(got.as_str(), want, "{input}");
    }
    for (input, msg) in [
        (
            "/ip4/01.2.3.4",
            r#"failed to parse multiaddr "/ip4/01.2.3.4": invalid value "01.2.3.4" for protocol ip4: failed to parse ip4 addr: 01.2.3.4"#,
        ),
        (
            "/tcp/65536",
            r#"failed to parse multiaddr "/tcp/65536": invalid value "65536" for protocol tcp: failed to parse port addr: strconv.ParseUint: parsing "65536": value out of range"#,
        ),
        (
            "/tcp/-1",
            r#"failed to parse multiaddr "/tcp/-1": invalid value "-1" for protocol tcp: failed to parse port addr: strconv.ParseUint: parsing "-1": invalid syntax"#,
        ),
        (
            "/tcp/+1",
            r#"failed to parse multiaddr "/tcp/+1": invalid value "+1" for protocol tcp: failed to parse port addr: strconv.ParseUint: parsing "+1": invalid syntax"#,
        ),
        (
            "/dns4/",
            r#"failed to parse multiaddr "/dns4": unexpected end of multiaddr"#,
        ),
        (
            "/dns4//tcp/1",
            r#"failed to parse multiaddr "/dns4//tcp/1": invalid value "" for protocol dns4: empty dns addr"#,
        ),
        (
            "/p2p/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
            r#"failed to parse multiaddr "/p2p/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy": invalid value "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy" for protocol p2p: failed to parse p2p addr: bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy has the invalid codec 85"#,
        ),
        (
            "/bogus/1",
            r#"failed to parse multiaddr "/bogus/1": unknown protocol bogus"#,
        ),
        ("/", r#"failed to parse multiaddr "": empty multiaddr"#),
        ("", r#"failed to parse multiaddr "": empty multiaddr"#),
        (
            "bogus",
            r#"failed to parse multiaddr "bogus": must begin with /"#,
        ),
        (
            "//ip4/1.2.3.4",
            r#"failed to parse multiaddr "//ip4/1.2.3.4": unknown protocol "#,
        ),
        (
            "/ip4/1.2.3.4//tcp/1",
            r#"failed to parse multiaddr "/ip4/1.2.3.4//tcp/1": unknown protocol "#,
        ),
        (
            "/ip4",
            r#"failed to parse multiaddr "/ip4": unexpected end of multiaddr"#,
        ),
        (
            "/ipcidr/256",
            r#"failed to parse multiaddr "/ipcidr/256": invalid value "256" for protocol ipcidr: strconv.ParseUint: parsing "256": value out of range"#,
        ),
        (
            "/p2p/1",
            r#"failed to parse multiaddr "/p2p/1": invalid value "1" for protocol p2p: failed to parse p2p addr: 1 multihash too short. must be >= 2 bytes"#,
        ),
        (
            "/x-parity-ws/%2F",
            r#"failed to parse multiaddr "/x-parity-ws/%2F": unknown protocol x-parity-ws"#,
        ),
    ] {
        match Multiaddr::parse(input) {
            Ok(m) => panic!("{input} parsed as {m}"),
            Err(e) => assert_eq!(e.to_string(), msg, "{input}"),
        }
    }
    assert_eq!(ma(MA).p2p_value(), Some(PID));
    assert_eq!(ma("/ip4/1.2.3.4/tcp/1").p2p_value(), None);
    assert_eq!(ma("/unix/p2p/x").p2p_value(), None);
}

#[test]
fn go_base64_is_lenient_like_go() {
    let mut out = Vec::new();
    go_base64_decode(b"dXNlcjpwYXNz", BASE64_STD_ALPHABET, true, &mut out).unwrap();
    assert_eq!(out, b"user:pass");
    out.clear();
    // Non-zero trailing bits are ignored by Go's non-strict decoder.
    go_base64_decode(b"YR==", BASE64_STD_ALPHABET, true, &mut out).unwrap();
    assert_eq!(out, b"a");
    out.clear();
    go_base64_decode(b"YQ\r\n==", BASE64_STD_ALPHABET, true, &mut out).unwrap();
    assert_eq!(out, b"a");
    for bad in [
        &b"YQ"[..],
        b"YQ=",
        b"YQ==YQ==",
        b"Y===",
        b"Y",
        b"YQ==x",
        b"=",
        b"Y Q==",
    ] {
        out.clear();
        assert!(
            go_base64_decode(bad, BASE64_STD_ALPHABET, true, &mut out).is_err(),
            "{bad:?}"
        );
    }
    out.clear();
    go_base64_decode(b"YQ", BASE64_URL_ALPHABET, false, &mut out).unwrap();
    assert_eq!(out, b"a");
    out.clear();
    assert!(go_base64_decode(b"YQ==", BASE64_URL_ALPHABET, false, &mut out).is_err());
    assert!(go_base64_decode(b"Y", BASE64_URL_ALPHABET, false, &mut out).is_err());
}
