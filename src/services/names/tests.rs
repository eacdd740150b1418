//! Unit tests of the name service: value parsing, options, the record store, DNSLink choice,
//! resolution, the key API, publishing, tree updates and republishing.

use super::*;
use crate::ipld::cid::codec;
use crate::test_support::block_on;
use ed25519_dalek::SigningKey;
use multihash_codetable::{Code, MultihashDigest};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

const EMPTY_DIR: &str = "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354";
const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/gateway-conformance"
);

struct Harness {
    _dir: tempfile::TempDir,
    data: PathBuf,
    store: Arc<Blockstore>,
    pins: Arc<Pinset>,
    names: Arc<NameService>,
}

fn options(lifetime: Duration) -> NameOptions {
    NameOptions {
        lifetime,
        // Never the system resolver in tests: a port nothing answers on.
        dns_servers: DnsServers::One(SocketAddr::from(([127, 0, 0, 1], 9))),
        dns_timeout: Duration::from_millis(200),
        ..NameOptions::default()
    }
}

fn harness_with(options: NameOptions) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let store = Arc::new(Blockstore::open(&data, Default::default()).unwrap());
    let pins = Arc::new(Pinset::open(&data).unwrap());
    let names =
        Arc::new(NameService::open(&data, Arc::clone(&store), Arc::clone(&pins), options).unwrap());
    Harness {
        _dir: dir,
        data,
        store,
        pins,
        names,
    }
}

/// Resolves a path through the store, on this thread (inside async tests too).
fn local_resolve(
    store: &Blockstore,
    root: Cid,
    path: &[&str],
) -> super::super::Result<resolve::Resolved> {
    super::super::in_place(resolve::resolve(&super::super::InPlace(store), root, path))
}

/// A harness whose names fetch what is not here from `network` (through the node's
/// retrieval, as `cairn serve` sets it up), each block within `timeout`.
fn harness_fetching(network: crate::store::SharedSource, timeout: Duration) -> Harness {
    use crate::services::retrieval::{NetworkSource, Retrieval, SourceKind};
    let mut h = harness();
    let retrieval = Retrieval::new(
        Arc::clone(&h.store),
        vec![NetworkSource {
            name: "origin".into(),
            kind: SourceKind::Remote,
            source: network,
        }],
    );
    let pinning = Pinning::new(Arc::clone(&h.store), Arc::new(retrieval), Some(timeout));
    let names = NameService::open(
        &h.data,
        Arc::clone(&h.store),
        Arc::clone(&h.pins),
        options(ipns::DEFAULT_LIFETIME),
    )
    .unwrap();
    h.names = Arc::new(names.with_pinning(pinning));
    h
}

/// Whether `cid` is among the kept blocks of `h` (not in memory, not fetched and cached).
fn kept(h: &Harness, cid: &Cid) -> bool {
    Blockstore::open(&h.data, Default::default())
        .unwrap()
        .has(cid)
        .unwrap()
}

fn harness() -> Harness {
    harness_with(options(ipns::DEFAULT_LIFETIME))
}

/// Stores `bytes` as a raw block.
fn raw_block(store: &Blockstore, bytes: &[u8]) -> Cid {
    let cid = Cid::new_v1(codec::RAW, Code::Sha2_256.digest(bytes));
    store.put(&cid, bytes).unwrap();
    cid
}

fn foreign_key(seed: u8) -> (SigningKey, IpnsName) {
    let key = SigningKey::from_bytes(&[seed; 32]);
    let name = IpnsName::from_ed25519(&key.verifying_key());
    (key, name)
}

fn record(key: &SigningKey, value: &str, sequence: u64, eol: SystemTime) -> Record {
    Record::create(key, value, sequence, eol, Duration::from_secs(60), false).unwrap()
}

fn in_an_hour() -> SystemTime {
    SystemTime::now() + Duration::from_secs(3600)
}

fn stored_value(h: &Harness, name: &IpnsName) -> Option<(String, u64)> {
    h.names
        .records
        .load(name)
        .unwrap()
        .map(|r| (r.value().to_owned(), r.sequence()))
}

#[test]
fn the_empty_directory_is_there_without_being_stored() {
    let h = harness();
    assert_eq!(empty_directory().to_string(), EMPTY_DIR);
    let v0 = Cid::try_from("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap();
    assert!(!h.store.has(&v0).unwrap());
    let resolved = block_on(resolve::resolve(&*h.store, v0, &[])).unwrap();
    assert!(resolved.node.is_directory());
}

#[test]
fn values_split_and_paths_clean() {
    assert_eq!(
        split_value("/ipfs/bafy/a/b").unwrap(),
        (Namespace::Ipfs, "bafy", "a/b")
    );
    assert_eq!(
        split_value("/ipns/example.com").unwrap(),
        (Namespace::Ipns, "example.com", "")
    );
    assert_eq!(split_value("/ipld/x").unwrap().0, Namespace::Ipfs);
    for bad in ["", "/", "ipfs/x", "/ipfs/", "/ipfs", "/foo/x", "/ipns//a"] {
        assert!(split_value(bad).is_err(), "{bad:?}");
    }
    let mut segments = vec!["keep".to_owned()];
    push_segments("a//./b/../c/", &mut segments);
    assert_eq!(segments, ["keep", "a", "c"]);
    // `..` never climbs above what was there before.
    push_segments("x/../../..", &mut segments);
    assert_eq!(segments, ["keep", "a", "c"]);

    let v0 = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn";
    let path = parse_ipfs_value(&format!("/ipfs/{v0}/x/./y")).unwrap();
    assert_eq!(path.to_string(), format!("/ipfs/{EMPTY_DIR}/x/y"));
    assert!(parse_ipfs_value("/ipns/k51").is_err());
    assert!(parse_ipfs_value("/ipfs/notacid").is_err());
    assert_eq!(ipfs_root(&format!("/ipfs/{v0}")), Some(empty_directory()));
    assert_eq!(ipfs_root("/ipns/example.com"), None);
}

#[test]
fn static_entries_parse_in_kubos_format() {
    let map = parse_ns_map(&format!(
        " a.example.org:/ipfs/{EMPTY_DIR} , B.Example.ORG.:/ipns/k51x/p,,"
    ))
    .unwrap();
    assert_eq!(
        map,
        [
            ("a.example.org".to_owned(), format!("/ipfs/{EMPTY_DIR}")),
            ("b.example.org".to_owned(), "/ipns/k51x/p".to_owned()),
        ]
    );
    assert!(parse_ns_map("").unwrap().is_empty());
    for bad in [
        "nocolon",
        "a.org:ipfs/x",
        "a.org:/ipfs/",
        "single:/ipfs/x",
        "a..org:/ipfs/x",
        "é.org:/ipfs/x",
    ] {
        assert!(parse_ns_map(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        parse_static_dnslink("site.test=/ipns/other.test").unwrap(),
        ("site.test".to_owned(), "/ipns/other.test".to_owned())
    );
    assert!(parse_static_dnslink("site.test:/ipfs/x").is_err());
    assert!(normalize_domain(&format!("{}.org", "a".repeat(64))).is_err());
    assert!(normalize_domain(&"a.".repeat(130)).is_err());
    assert_eq!(normalize_domain("_x-y.Z9.").unwrap(), "_x-y.z9");
}

#[test]
fn durations_and_servers_parse() {
    let cases = [
        ("48h", 48 * 3600),
        ("1h30m", 5400),
        ("90s", 90),
        ("10", 10),
        ("2m5s", 125),
    ];
    for (text, seconds) in cases {
        assert_eq!(
            parse_duration(text).unwrap(),
            Duration::from_secs(seconds),
            "{text}"
        );
    }
    assert_eq!(
        parse_duration("1500ms").unwrap(),
        Duration::from_millis(1500)
    );
    for bad in ["", "h", "5x", "1.5h", "-1s", "s5", "99999999999h"] {
        assert!(parse_duration(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        parse_dns_server("127.0.0.1:5353").unwrap(),
        SocketAddr::from(([127, 0, 0, 1], 5353))
    );
    assert_eq!(parse_dns_server("::1").unwrap().port(), 53);
    assert_eq!(parse_dns_server("[::1]:54").unwrap().port(), 54);
    assert!(parse_dns_server("dns.example:53").is_err());
}

#[test]
fn dnslink_entries_are_chosen_as_the_spec_says() {
    let texts = |list: &[&[u8]]| list.iter().map(|t| t.to_vec()).collect::<Vec<_>>();
    assert_eq!(
        pick_dnslink(texts(&[
            b"v=spf1 -all",
            b"dnslink=/ipfs/zzz",
            b"dnslink=/ipfs/aaa/x",
            b"dnslink=not-a-path",
            b"dnslink=/ipns/",
            b"\xff\xfednslink=/ipfs/000",
        ])),
        Some("/ipfs/aaa/x".to_owned())
    );
    assert_eq!(
        pick_dnslink(texts(&[b"  dnslink=/ipns/example.org  "])),
        Some("/ipns/example.org".to_owned())
    );
    assert_eq!(pick_dnslink(texts(&[b"dnslink", b"DNSLINK=/ipfs/x"])), None);
    assert_eq!(pick_dnslink(Vec::new()), None);
}

#[test]
fn a_new_key_points_at_the_empty_directory_and_an_existing_one_is_left_alone() {
    let h = harness();
    let key = h.names.create_key("site").unwrap();
    let name = key.ipns_name();
    assert_eq!(
        stored_value(&h, &name),
        Some((format!("/ipfs/{EMPTY_DIR}"), 0))
    );
    let pin = h.pins.get(&empty_directory()).unwrap().unwrap();
    assert!(pin.name.starts_with(PIN_NAME_PREFIX));
    // Stored for GC's sake, though it would be served without.
    assert!(h.store.has(&empty_directory()).unwrap());
    let again = h.names.create_key("site").unwrap();
    assert_eq!(again.ipns_name(), name);
    assert_eq!(stored_value(&h, &name).unwrap().1, 0, "left unchanged");
    assert_eq!(h.names.key("site").unwrap().ipns_name(), name);
    assert!(matches!(h.names.key("nope"), Err(NameError::UnknownKey(_))));
    assert!(matches!(
        h.names.create_key("a/b"),
        Err(NameError::Keystore(KeystoreError::InvalidName(_)))
    ));
}

#[tokio::test]
async fn publishing_grows_the_sequence_and_moves_the_pin() {
    let h = harness();
    let key = h.names.create_key("site").unwrap();
    let name = key.ipns_name();
    let a = raw_block(&h.store, b"a");
    let b = raw_block(&h.store, b"b");
    let before = SystemTime::now();
    let published = h
        .names
        .publish("site", &ContentPath::new(a), &[] as &[&str])
        .await
        .unwrap();
    assert_eq!(published.sequence, 1);
    assert_eq!(published.root, a);
    assert_eq!(published.value, format!("/ipfs/{a}"));
    assert!(h.pins.get(&a).unwrap().is_some());
    assert!(
        h.pins.get(&empty_directory()).unwrap().is_none(),
        "released"
    );

    // By IPNS name, too, in any form.
    let published = h
        .names
        .publish(&name.to_peer_id(), &ContentPath::new(b), &[] as &[&str])
        .await
        .unwrap();
    assert_eq!(published.sequence, 2);
    assert!(h.pins.get(&a).unwrap().is_none());
    assert!(h.pins.get(&b).unwrap().is_some());

    let record = h.names.record(&name).await.unwrap();
    let signed = Record::from_bytes(record.bytes()).unwrap();
    signed.validate(&name, SystemTime::now()).unwrap();
    assert!(signed.has_v1_fields(), "V1 fields for older Kubo");
    assert_eq!(signed.ttl(), ipns::DEFAULT_TTL);
    let lifetime = record.eol().duration_since(before).unwrap();
    assert!(
        lifetime >= ipns::DEFAULT_LIFETIME
            && lifetime < ipns::DEFAULT_LIFETIME + Duration::from_secs(60),
        "{lifetime:?}"
    );
}

#[tokio::test]
async fn publishing_needs_a_local_key() {
    let h = harness();
    let a = raw_block(&h.store, b"a");
    let target = ContentPath::new(a);
    let (_, foreign) = foreign_key(7);
    assert!(matches!(
        h.names
            .publish(&foreign.to_base36(), &target, &[] as &[&str])
            .await,
        Err(NameError::NotLocal(_))
    ));
    assert!(matches!(
        h.names.publish("missing", &target, &[] as &[&str]).await,
        Err(NameError::UnknownKey(_))
    ));
}

#[tokio::test]
async fn shared_roots_and_user_pins_are_not_released() {
    let h = harness();
    h.names.create_key("one").unwrap();
    h.names.create_key("two").unwrap();
    let shared = raw_block(&h.store, b"shared");
    let other = raw_block(&h.store, b"other");
    let mine = raw_block(&h.store, b"pinned by the user");
    h.pins.add(&Pin::recursive(&mine)).unwrap();
    for key in ["one", "two"] {
        h.names
            .publish(key, &ContentPath::new(shared), &[] as &[&str])
            .await
            .unwrap();
    }
    h.names
        .publish("one", &ContentPath::new(other), &[] as &[&str])
        .await
        .unwrap();
    assert!(
        h.pins.get(&shared).unwrap().is_some(),
        "two still points there"
    );
    h.names
        .publish("two", &ContentPath::new(mine), &[] as &[&str])
        .await
        .unwrap();
    assert!(
        h.pins.get(&shared).unwrap().is_none(),
        "nobody points there now"
    );
    h.names
        .publish("two", &ContentPath::new(other), &[] as &[&str])
        .await
        .unwrap();
    let kept = h.pins.get(&mine).unwrap().unwrap();
    assert_eq!(kept.name, "", "the user's pin is untouched");
}

#[tokio::test]
async fn deleting_a_key_drops_its_record_and_pin() {
    let h = harness();
    let name = h.names.create_key("gone").unwrap().ipns_name();
    let a = raw_block(&h.store, b"a");
    h.names
        .publish("gone", &ContentPath::new(a), &[] as &[&str])
        .await
        .unwrap();
    assert_eq!(h.names.resolve("gone").await.unwrap().root, a);
    h.names.delete_key("gone").unwrap();
    assert!(matches!(
        h.names.resolve("gone").await,
        Err(NameError::UnknownKey(_))
    ));
    assert!(matches!(
        h.names.resolve(&name.to_base36()).await,
        Err(NameError::NoRecord(_))
    ));
    assert!(h.names.keystore().get("gone").unwrap().is_none());
    assert!(h.pins.get(&a).unwrap().is_none());
    assert!(stored_value(&h, &name).is_none());
    assert!(!h.data.join("ipns").join(name.to_base36()).exists());
    assert!(matches!(
        h.names.delete_key("gone"),
        Err(NameError::UnknownKey(_))
    ));
    assert!(matches!(
        h.names.delete_key("self"),
        Err(NameError::Keystore(KeystoreError::Reserved))
    ));
}

#[tokio::test]
async fn resolution_follows_keys_records_and_domains() {
    let (other_key, other_name) = foreign_key(3);
    let h = harness_with(NameOptions {
        static_dnslinks: vec![
            (
                "site.example.org".into(),
                format!("/ipns/{}/y", other_name.to_peer_id()),
            ),
            (
                "loop-a.example.org".into(),
                "/ipns/loop-b.example.org".into(),
            ),
            (
                "loop-b.example.org".into(),
                "/ipns/loop-a.example.org".into(),
            ),
        ],
        ..options(ipns::DEFAULT_LIFETIME)
    });
    let key = h.names.create_key("site").unwrap();
    let a = raw_block(&h.store, b"a");
    let mut target = ContentPath::new(a);
    target.segments.push("sub".into());
    h.names
        .publish("site", &target, &[] as &[&str])
        .await
        .unwrap();
    let value = format!("/ipns/{}/x", key.ipns_name());
    h.names
        .put_record(
            &other_name,
            record(&other_key, &value, 1, in_an_hour()).to_bytes(),
        )
        .unwrap();

    let by_key_name = h.names.resolve("site").await.unwrap();
    assert_eq!(
        (by_key_name.root, by_key_name.segments.clone()),
        (a, vec!["sub".to_owned()])
    );
    assert_eq!(by_key_name.ttl, ipns::DEFAULT_TTL);
    assert_eq!(
        h.names.resolve(&key.ipns_name().to_base36()).await.unwrap(),
        by_key_name
    );
    let chained = h.names.resolve("SITE.example.org.").await.unwrap();
    assert_eq!(chained.root, a);
    assert_eq!(chained.segments, ["sub", "x", "y"]);
    assert_eq!(chained.ttl, Duration::from_secs(60), "the smallest TTL");

    assert!(matches!(
        h.names.resolve("loop-a.example.org").await,
        Err(NameError::TooDeep(_))
    ));
    assert!(matches!(
        h.names.resolve("nokey").await,
        Err(NameError::UnknownKey(_))
    ));
    assert!(matches!(
        h.names.resolve("bad..example").await,
        Err(NameError::InvalidName(_))
    ));
    let (_, unknown) = foreign_key(4);
    assert!(matches!(
        h.names.resolve(&unknown.to_base36()).await,
        Err(NameError::NoRecord(_))
    ));
}

#[tokio::test]
async fn a_self_referencing_record_is_a_bounded_loop() {
    let h = harness();
    let (key, name) = foreign_key(5);
    let value = format!("/ipns/{name}");
    h.names
        .put_record(&name, record(&key, &value, 0, in_an_hour()).to_bytes())
        .unwrap();
    assert!(matches!(
        h.names.resolve(&name.to_base36()).await,
        Err(NameError::TooDeep(_))
    ));
}

#[tokio::test]
async fn dns_failures_are_reported_quickly() {
    // Port 9 on loopback: nothing answers, so the lookup must time out, fast.
    let h = harness();
    let started = Instant::now();
    let outcome = h.names.resolve("nothing-here.example.org").await;
    assert!(
        matches!(
            outcome,
            Err(NameError::DnsTimeout(_) | NameError::DnsFailure(_))
        ),
        "{outcome:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn expired_records_fail_unless_the_key_is_local() {
    let h = harness();
    let (key, name) = foreign_key(6);
    let past = SystemTime::now() - Duration::from_secs(10);
    let expired = record(&key, &format!("/ipfs/{EMPTY_DIR}"), 9, past);
    // Refused when offered…
    assert!(matches!(
        h.names.put_record(&name, expired.to_bytes()),
        Err(NameError::InvalidRecord(_))
    ));
    // …and useless when it expired in store.
    h.names
        .records
        .store(&name, expired, SystemTime::UNIX_EPOCH)
        .unwrap();
    let outcome = h.names.resolve(&name.to_base36()).await;
    assert!(
        matches!(&outcome, Err(NameError::NoRecord(m)) if m.contains("expired")),
        "{outcome:?}"
    );

    // A local key's expired record is renewed on the spot, same value, next sequence.
    let local = h.names.create_key("mine").unwrap();
    let a = raw_block(&h.store, b"a");
    let value = format!("/ipfs/{a}");
    let stale = Record::create(
        local.signing_key(),
        &value,
        4,
        past,
        ipns::DEFAULT_TTL,
        true,
    )
    .unwrap();
    h.names
        .records
        .store(&local.ipns_name(), stale, SystemTime::UNIX_EPOCH)
        .unwrap();
    let resolved = h.names.resolve("mine").await.unwrap();
    assert_eq!(resolved.root, a);
    assert_eq!(stored_value(&h, &local.ipns_name()), Some((value, 5)));
}

#[tokio::test]
async fn a_local_key_without_a_record_gets_one() {
    let h = harness();
    // The identity key never had a record.
    let self_name = h.names.keystore().self_key().ipns_name();
    let resolved = h.names.resolve(&self_name.to_base36()).await.unwrap();
    assert_eq!(resolved.root, empty_directory());
    assert_eq!(stored_value(&h, &self_name).unwrap().1, 0);
}

#[tokio::test]
async fn keys_another_process_adds_are_seen() {
    let h = harness();
    let (_, stranger) = foreign_key(11);
    // This lookup reads (and remembers) the key directory.
    assert!(matches!(
        h.names.resolve(&stranger.to_base36()).await,
        Err(NameError::NoRecord(_))
    ));
    // Past the file system's timestamp granularity.
    std::thread::sleep(Duration::from_millis(20));
    let outside = Keystore::open(&h.data)
        .unwrap()
        .generate("outside")
        .unwrap();
    let resolved = h
        .names
        .resolve(&outside.ipns_name().to_base36())
        .await
        .unwrap();
    assert_eq!(resolved.root, empty_directory());
}

#[tokio::test]
async fn stored_records_only_give_way_to_fresher_ones() {
    let h = harness();
    let (key, name) = foreign_key(8);
    let put = |sequence: u64, eol: SystemTime| {
        let value = format!("/ipfs/{EMPTY_DIR}/{sequence}");
        h.names
            .put_record(&name, record(&key, &value, sequence, eol).to_bytes())
    };
    assert_eq!(put(5, in_an_hour()).unwrap(), PutOutcome::Stored);
    assert_eq!(put(3, in_an_hour()).unwrap(), PutOutcome::Kept);
    assert_eq!(
        put(5, in_an_hour()).unwrap(),
        PutOutcome::Stored,
        "later EOL"
    );
    let later = in_an_hour() + Duration::from_secs(60);
    assert_eq!(put(6, later).unwrap(), PutOutcome::Stored);
    assert_eq!(stored_value(&h, &name).unwrap().1, 6);

    // A record for another name, or with a broken signature, is refused and not stored.
    let (other_key, _) = foreign_key(9);
    let foreign = record(&other_key, "/ipfs/bafkqaaa", 100, in_an_hour());
    assert!(matches!(
        h.names.put_record(&name, foreign.to_bytes()),
        Err(NameError::InvalidRecord(_))
    ));
    let mut forged = record(&key, "/ipfs/bafkqaaa", 100, in_an_hour())
        .to_bytes()
        .to_vec();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert!(h.names.put_record(&name, Bytes::from(forged)).is_err());
    assert!(h
        .names
        .put_record(&name, Bytes::from_static(b"\x00garbage"))
        .is_err());
    assert_eq!(stored_value(&h, &name).unwrap().1, 6);

    // Another process opening the same directory reads the same record.
    let reopened = NameService::open(
        &h.data,
        Arc::clone(&h.store),
        Arc::clone(&h.pins),
        options(ipns::DEFAULT_LIFETIME),
    )
    .unwrap();
    assert_eq!(reopened.record(&name).await.unwrap().sequence(), 6);
}

#[tokio::test]
async fn a_damaged_record_file_counts_as_absent() {
    let h = harness();
    let (key, name) = foreign_key(10);
    let good = record(&key, "/ipfs/bafkqaaa", 1, in_an_hour());
    let path = h.data.join("ipns").join(name.to_base36());
    let mut bytes = good.to_bytes().to_vec();
    bytes[10] ^= 0x55;
    fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        h.names.record(&name).await,
        Err(NameError::NoRecord(_))
    ));
    // A valid record replaces it.
    assert_eq!(
        h.names.put_record(&name, good.to_bytes()).unwrap(),
        PutOutcome::Stored
    );
    assert_eq!(fs::read(&path).unwrap(), good.to_bytes());
}

#[tokio::test]
async fn conformance_records_are_accepted_or_refused() {
    let h = harness();
    // (file, expected value or None when the record must be refused)
    let cases: &[(&str, Option<&str>)] = &[
        ("ipns_records/k51qzi5uqu5dm4tm0wt8srkg9h9suud4wuiwjimndrkydqm81cqtlb5ak6p7ku_v1", None),
        ("ipns_records/k51qzi5uqu5dlmit2tuwdvnx4sbnyqgmvbxftl0eo3f33wwtb9gr7yozae9kpw_v1-v2-broken-v1-value", None),
        ("ipns_records/k51qzi5uqu5diamp7qnnvs1p1gzmku3eijkeijs3418j23j077zrkok63xdm8c_v1-v2-broken-signature-v2", None),
        ("ipns_records/k51qzi5uqu5dilgf7gorsh9vcqqq4myo6jd4zmqkuy9pxyxi5fua3uf7axph4y_v1-v2-broken-signature-v1", Some("/ipfs/bafkqahtwgevxmmrao5uxi2bamjzg623fnyqhg2lhnzqxi5lsmuqhmmi")),
        ("ipns_records/k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w_v1-v2", Some("/ipfs/bafkqaddwgevxmmraojswg33smq")),
        ("ipns_records/k51qzi5uqu5dit2ku9mutlfgwyz8u730on38kd10m97m36bjt66my99hb6103f_v2", Some("/ipfs/bafkqadtwgiww63tmpeqhezldn5zgi")),
        ("gateway-cache/k51qzi5uqu5dlxdsdu5fpuu7h69wu4ohp32iwm9pdt9nq3y5rpn3ln9j12zfhe", Some("/ipfs/bafybeib3ffl2teiqdncv3mkz4r23b5ctrwkzrrhctdbne6iboayxuxk5ui")),
        ("gateway-cache/k51qzi5uqu5djokp3m1keo36hoxtd6u3a1d2rg1camf6al7p3huy63dojlm57c", Some("/ipfs/bafybeib3ffl2teiqdncv3mkz4r23b5ctrwkzrrhctdbne6iboayxuxk5ui/root2")),
    ];
    for (file, expected) in cases {
        let path = Path::new(FIXTURES).join(format!("{file}.ipns-record"));
        let bytes = Bytes::from(fs::read(&path).unwrap());
        let label = path.file_name().unwrap().to_str().unwrap();
        let name = IpnsName::parse(label.split(['_', '.']).next().unwrap()).unwrap();
        let outcome = h.names.put_record(&name, bytes);
        match expected {
            None => {
                assert!(
                    matches!(outcome, Err(NameError::InvalidRecord(_))),
                    "{file}: {outcome:?}"
                );
                assert!(matches!(
                    h.names.resolve(&name.to_base36()).await,
                    Err(NameError::NoRecord(_))
                ));
            }
            Some(value) => {
                assert_eq!(outcome.unwrap(), PutOutcome::Stored, "{file}");
                assert_eq!(h.names.record(&name).await.unwrap().value(), *value);
                let resolved = h.names.resolve(&name.to_base36()).await.unwrap();
                let expected = parse_ipfs_value(value).unwrap();
                assert_eq!(
                    (resolved.root, resolved.segments),
                    (expected.root, expected.segments)
                );
            }
        }
    }
}

#[tokio::test]
async fn setting_a_path_builds_the_tree_around_it() {
    let h = harness();
    let name = h.names.create_key("site").unwrap().ipns_name();
    let hello = raw_block(&h.store, b"hello");
    let bye = raw_block(&h.store, b"bye");
    let first = h
        .names
        .publish("site", &ContentPath::new(hello), &["a", "b", "c.txt"])
        .await
        .unwrap();
    let at = |root: Cid, path: &[&str]| local_resolve(&h.store, root, path).map(|r| r.cid);
    assert_eq!(at(first.root, &["a", "b", "c.txt"]).unwrap(), hello);
    assert!(h.pins.get(&first.root).unwrap().is_some());
    // A sibling leaves the rest in place; the same path is replaced.
    let second = h
        .names
        .publish("site", &ContentPath::new(bye), &["a", "x"])
        .await
        .unwrap();
    assert_eq!(at(second.root, &["a", "b", "c.txt"]).unwrap(), hello);
    assert_eq!(at(second.root, &["a", "x"]).unwrap(), bye);
    let third = h
        .names
        .publish("site", &ContentPath::new(bye), &["a", "b", "c.txt"])
        .await
        .unwrap();
    assert_eq!(at(third.root, &["a", "b", "c.txt"]).unwrap(), bye);
    assert!(h.pins.get(&first.root).unwrap().is_none());
    assert_eq!(
        stored_value(&h, &name).unwrap().0,
        format!("/ipfs/{}", third.root)
    );

    // A file in the way, and a target that does not exist, are refused.
    assert!(matches!(
        h.names
            .publish("site", &ContentPath::new(bye), &["a", "x", "inside"])
            .await,
        Err(NameError::Content(super::super::Error::InvalidInput(_)))
    ));
    let absent = Cid::new_v1(codec::RAW, Code::Sha2_256.digest(b"absent"));
    assert!(matches!(
        h.names
            .publish("site", &ContentPath::new(absent), &["y"])
            .await,
        Err(NameError::Content(super::super::Error::BlockMissing(_)))
    ));
    // The name still points at the last good tree.
    assert_eq!(
        stored_value(&h, &name).unwrap().0,
        format!("/ipfs/{}", third.root)
    );

    // A name pointing at a file cannot hold paths.
    h.names
        .publish("site", &ContentPath::new(hello), &[] as &[&str])
        .await
        .unwrap();
    assert!(matches!(
        h.names
            .publish("site", &ContentPath::new(bye), &["z"])
            .await,
        Err(NameError::InvalidValue(_))
    ));
}

#[tokio::test]
async fn tree_updates_publish_their_result_or_nothing() {
    let h = harness();
    h.names.create_key("site").unwrap();
    let hello = raw_block(&h.store, b"hello");
    h.names
        .publish("site", &ContentPath::new(hello), &["a", "b.txt"])
        .await
        .unwrap();
    let remove = |path: &'static [&'static str]| {
        move |tree: &Tree<'_>, root: Cid| {
            Ok(edit::remove_at(tree, &root, path, &ImportParams::cid_v1())?.cid)
        }
    };
    let published = h
        .names
        .update_tree("site", remove(&["a", "b.txt"]))
        .await
        .unwrap();
    let a = local_resolve(&h.store, published.root, &["a"]).unwrap();
    assert!(a.node.is_directory());
    assert!(local_resolve(&h.store, published.root, &["a", "b.txt"]).is_err());
    let before = h.names.record(&published.name).await.unwrap().sequence();
    assert!(matches!(
        h.names.update_tree("site", remove(&["missing"])).await,
        Err(NameError::Content(super::super::Error::NotFound(_)))
    ));
    assert_eq!(
        h.names.record(&published.name).await.unwrap().sequence(),
        before
    );
}

#[tokio::test]
async fn the_republisher_renews_records_past_half_their_lifetime() {
    let lifetime = Duration::from_secs(20);
    let h = harness_with(options(lifetime));
    let key = h.names.create_key("site").unwrap();
    let name = key.ipns_name();
    assert_eq!(h.names.republish_due().unwrap(), 0, "fresh records stay");
    assert_eq!(h.names.republish_interval(), Duration::from_millis(2500));

    let a = raw_block(&h.store, b"a");
    let value = format!("/ipfs/{a}");
    let soon = SystemTime::now() + Duration::from_secs(5);
    let aging =
        Record::create(key.signing_key(), &value, 7, soon, ipns::DEFAULT_TTL, true).unwrap();
    h.names
        .records
        .store(&name, aging, SystemTime::UNIX_EPOCH)
        .unwrap();
    assert_eq!(h.names.republish_due().unwrap(), 1);
    let renewed = h.names.record(&name).await.unwrap();
    assert_eq!((renewed.value(), renewed.sequence()), (value.as_str(), 8));
    assert!(renewed.eol() > SystemTime::now() + Duration::from_secs(15));
    assert_eq!(h.names.republish_due().unwrap(), 0);
}

#[tokio::test]
async fn names_point_only_at_content_kept_here_in_full() {
    let origin_dir = tempfile::tempdir().unwrap();
    let origin = Arc::new(Blockstore::open(origin_dir.path(), Default::default()).unwrap());
    let params = ImportParams::cid_v1();
    let there = Tree::local(&origin);
    let (a, b, c) = (
        raw_block(&origin, b"a"),
        raw_block(&origin, b"b"),
        raw_block(&origin, b"c"),
    );
    let entry = |cid: &Cid| edit::entry_for(&there, cid).unwrap();
    let root = edit::put_at(&there, &empty_directory(), &["x", "a"], &entry(&a), &params)
        .unwrap()
        .cid;
    let root = edit::put_at(&there, &root, &["b"], &entry(&b), &params)
        .unwrap()
        .cid;
    let x = local_resolve(&origin, root, &["x"]).unwrap().cid;
    let h = harness_fetching(Arc::clone(&origin) as _, Duration::from_secs(5));
    h.names.create_key("site").unwrap();

    // A whole new value: its DAG is kept before the name points there.
    let published = h
        .names
        .publish("site", &ContentPath::new(root), &[] as &[&str])
        .await
        .unwrap();
    assert_eq!(published.root, root);
    for cid in [root, x, a, b] {
        assert!(kept(&h, &cid), "{cid}");
    }
    assert!(h.pins.get(&root).unwrap().is_some());

    // A path set to content from elsewhere: fetched and kept with the new tree.
    let published = h
        .names
        .publish("site", &ContentPath::new(c), &["x", "c"])
        .await
        .unwrap();
    assert_eq!(
        local_resolve(&h.store, published.root, &["x", "c"])
            .unwrap()
            .cid,
        c
    );
    assert!(kept(&h, &c));
    let there_too = edit::put_at(&there, &root, &["x", "c"], &entry(&c), &params).unwrap();
    assert_eq!(published.root, there_too.cid, "the same tree as made there");
}

#[tokio::test]
async fn content_nobody_provides_in_time_leaves_the_name_as_it_was() {
    struct Silent;
    impl crate::store::BlockSource for Silent {
        fn get(&self, _: &Cid) -> crate::store::SourceFuture<crate::store::Result<Option<Bytes>>> {
            crate::store::SourceFuture::pending(std::future::pending())
        }
        fn has(&self, _: &Cid) -> crate::store::SourceFuture<crate::store::Result<bool>> {
            crate::store::SourceFuture::ready(Ok(false))
        }
        fn size(&self, _: &Cid) -> crate::store::SourceFuture<crate::store::Result<Option<u64>>> {
            crate::store::SourceFuture::ready(Ok(None))
        }
    }
    let h = harness_fetching(Arc::new(Silent), Duration::from_millis(50));
    let name = h.names.create_key("site").unwrap().ipns_name();
    let before = stored_value(&h, &name);
    let absent = Cid::new_v1(codec::RAW, Code::Sha2_256.digest(b"nowhere"));
    let unavailable = |outcome: Result<Published>| {
        matches!(
            outcome,
            Err(NameError::Content(super::super::Error::Store(
                crate::store::Error::Unavailable { cid, .. }
            ))) if cid == absent
        )
    };
    let target = ContentPath::new(absent);
    assert!(unavailable(
        h.names.publish("site", &target, &[] as &[&str]).await
    ));
    assert!(unavailable(h.names.publish("site", &target, &["x"]).await));
    assert_eq!(stored_value(&h, &name), before);
    assert!(h.pins.get(&absent).unwrap().is_none());
}

#[tokio::test]
async fn an_edit_racing_another_publish_runs_again_on_its_result() {
    let h = harness();
    let key = h.names.create_key("site").unwrap();
    let (one, two) = (raw_block(&h.store, b"one"), raw_block(&h.store, b"two"));
    let (names, raced) = (
        Arc::clone(&h.names),
        Arc::new(std::sync::atomic::AtomicUsize::new(0)),
    );
    let runs = Arc::clone(&raced);
    let published = h
        .names
        .update_tree("site", move |tree, current| {
            let entry = |cid: &Cid| edit::entry_for(tree, cid);
            if runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                // Another update lands while this one is under way.
                let theirs = edit::put_at(tree, &current, &["one"], &entry(&one)?, &params())?;
                names
                    .commit(
                        &key,
                        Expect::Anything,
                        &ContentPath::new(theirs.cid).to_string(),
                    )
                    .unwrap();
            }
            Ok(edit::put_at(tree, &current, &["two"], &entry(&two)?, &params())?.cid)
        })
        .await
        .unwrap();
    assert_eq!(raced.load(std::sync::atomic::Ordering::SeqCst), 2);
    // Neither change is lost.
    assert_eq!(
        local_resolve(&h.store, published.root, &["one"])
            .unwrap()
            .cid,
        one
    );
    assert_eq!(
        local_resolve(&h.store, published.root, &["two"])
            .unwrap()
            .cid,
        two
    );
}

fn params() -> ImportParams {
    ImportParams::cid_v1()
}

/// A network that holds given records for every name and remembers what was put into it.
#[derive(Default)]
struct FakeNetwork {
    holds: Mutex<Vec<Bytes>>,
    lookups: std::sync::atomic::AtomicUsize,
    put: Mutex<Vec<(IpnsName, u64)>>,
}

impl NameRouting for FakeNetwork {
    fn publish<'a>(
        &'a self,
        name: &'a IpnsName,
        record: Bytes,
        _keep: Duration,
    ) -> futures_util::future::BoxFuture<'a, std::result::Result<String, String>> {
        let sequence = Record::from_bytes(record).unwrap().sequence();
        self.put.lock().unwrap().push((*name, sequence));
        Box::pin(async { Ok("the fake network".to_owned()) })
    }

    fn find<'a>(
        &'a self,
        _name: &'a IpnsName,
        _timeout: Duration,
    ) -> futures_util::future::BoxFuture<'a, FoundRecords> {
        self.lookups
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let records = self.holds.lock().unwrap().clone();
        Box::pin(async move {
            // Slow enough for concurrent resolutions to overlap.
            tokio::time::sleep(Duration::from_millis(50)).await;
            FoundRecords {
                records,
                asked: vec!["the fake network".into()],
            }
        })
    }
}

fn harness_on(network: &Arc<FakeNetwork>) -> Harness {
    let mut h = harness();
    let names = NameService::open(
        &h.data,
        Arc::clone(&h.store),
        Arc::clone(&h.pins),
        options(ipns::DEFAULT_LIFETIME),
    )
    .unwrap()
    .with_routing(Arc::clone(network) as Arc<dyn NameRouting>);
    h.names = Arc::new(names);
    h
}

fn record_of(signer: &SigningKey, value: &str, sequence: u64, ttl: Duration) -> Bytes {
    let eol = SystemTime::now() + Duration::from_secs(3600);
    Record::create(signer, value, sequence, eol, ttl, true)
        .unwrap()
        .to_bytes()
}

#[tokio::test]
async fn names_not_ours_resolve_to_the_freshest_valid_record_found_then_cached_for_its_ttl() {
    let network = Arc::new(FakeNetwork::default());
    let h = harness_on(&network);
    let key = SigningKey::from_bytes(&[21; 32]);
    let name = IpnsName::from_ed25519(&key.verifying_key());
    let other = SigningKey::from_bytes(&[22; 32]);
    let ttl = Duration::from_millis(300);
    let old = format!("/ipfs/{EMPTY_DIR}/old");
    let new = format!("/ipfs/{EMPTY_DIR}/new");
    *network.holds.lock().unwrap() = vec![
        record_of(&key, &old, 1, ttl),
        record_of(&key, &new, 3, ttl),
        // Higher, but signed by another key: refused.
        record_of(&other, "/ipfs/bafkqaaa", 9, ttl),
        Bytes::from_static(b"not a record"),
    ];
    let resolved = h.names.resolve(&name.to_string()).await.unwrap();
    assert_eq!(resolved.segments, ["new"]);
    assert_eq!(h.names.record(&name).await.unwrap().sequence(), 3);
    // Within the TTL the stored record answers; the network is not asked again.
    assert_eq!(network.lookups.load(std::sync::atomic::Ordering::SeqCst), 1);

    // Past it, the network is asked again, and an older record found does not win.
    *network.holds.lock().unwrap() = vec![record_of(&key, &old, 2, ttl)];
    tokio::time::sleep(ttl * 2).await;
    assert_eq!(h.names.record(&name).await.unwrap().sequence(), 3);
    assert_eq!(network.lookups.load(std::sync::atomic::Ordering::SeqCst), 2);

    // A name nobody has a valid record for is an error that says what was refused.
    let unknown = IpnsName::from_ed25519(&SigningKey::from_bytes(&[23; 32]).verifying_key());
    *network.holds.lock().unwrap() = vec![record_of(&other, &new, 1, ttl)];
    match h.names.record(&unknown).await {
        Err(NameError::NoRecord(message)) => {
            assert!(message.contains("1 record(s) refused"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn local_names_are_put_into_the_network_and_never_looked_up() {
    let network = Arc::new(FakeNetwork::default());
    let h = harness_on(&network);
    let key = h.names.create_key("site").unwrap();
    let name = key.ipns_name();
    // Our own key's record is the truth: resolving it never asks the network.
    h.names.resolve("site").await.unwrap();
    assert_eq!(network.lookups.load(std::sync::atomic::Ordering::SeqCst), 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while network.put.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the new record was never put");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(network.put.lock().unwrap()[0], (name, 0));
    assert_eq!(h.names.announce_all().unwrap(), 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while network.put.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "the record was not put again");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_resolutions_of_one_name_share_one_lookup() {
    let network = Arc::new(FakeNetwork::default());
    let h = harness_on(&network);
    let key = SigningKey::from_bytes(&[24; 32]);
    let name = IpnsName::from_ed25519(&key.verifying_key());
    let value = format!("/ipfs/{EMPTY_DIR}");
    *network.holds.lock().unwrap() = vec![record_of(&key, &value, 1, Duration::from_secs(60))];
    let resolutions: Vec<_> = (0..16)
        .map(|_| {
            let names = Arc::clone(&h.names);
            tokio::spawn(async move { names.resolve(&name.to_string()).await })
        })
        .collect();
    for resolution in resolutions {
        resolution.await.unwrap().unwrap();
    }
    assert_eq!(network.lookups.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_name_is_cached_no_longer_than_its_record_stays_valid() {
    // A TTL of an hour on a record that expires in a minute (boxo#1166): the answer's TTL, the
    // gateway's `Cache-Control: max-age`, is the minute.
    let h = harness();
    let key = SigningKey::from_bytes(&[23; 32]);
    let name = IpnsName::from_ed25519(&key.verifying_key());
    let eol = SystemTime::now() + Duration::from_secs(60);
    let record = Record::create(
        &key,
        &format!("/ipfs/{EMPTY_DIR}"),
        1,
        eol,
        Duration::from_secs(3600),
        true,
    )
    .unwrap();
    h.names.put_record(&name, record.to_bytes()).unwrap();
    let resolved = h.names.resolve(&name.to_string()).await.unwrap();
    assert!(
        resolved.ttl <= Duration::from_secs(60),
        "{:?}",
        resolved.ttl
    );
    assert!(
        resolved.ttl >= Duration::from_secs(55),
        "{:?}",
        resolved.ttl
    );
}
