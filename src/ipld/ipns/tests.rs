//! Unit tests of the IPNS module: the conformance fixtures, creation, the data map rules, names,
//! keys, timestamps, and cross-checks against Kubo when it is installed.

use super::encoding::*;
use super::keys::*;
use super::record::*;
use super::*;
use std::path::{Path, PathBuf};

const FIXTURES: &str = crate::test_support::FIXTURES;

/// RFC 8032 section 7.1 test 1 key.
const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

fn at(text: &str) -> SystemTime {
    parse_rfc3339(text.as_bytes()).unwrap()
}

/// A fixed "now" before every fixture's EOL (they are valid for 100 years from 2023).
fn fixed_now() -> SystemTime {
    at("2025-06-01T00:00:00Z")
}

fn test_key() -> SigningKey {
    let seed: [u8; 32] = hex::decode(SEED).unwrap().try_into().unwrap();
    SigningKey::from_bytes(&seed)
}

/// A fixture's name (file name up to the first `_` or the extension) and bytes.
fn load(relative: &str) -> (IpnsName, Bytes) {
    let path = Path::new(FIXTURES).join(relative);
    let file = path.file_name().unwrap().to_str().unwrap();
    let name = file.split(['_', '.']).next().unwrap();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (IpnsName::parse(name).unwrap(), Bytes::from(bytes))
}

fn verdict(relative: &str, now: SystemTime) -> IpnsResult<String> {
    let (name, bytes) = load(relative);
    let record = Record::from_bytes(bytes)?;
    record.validate(&name, now)?;
    Ok(record.value()?.into_owned())
}

// ---- conformance fixtures ----

#[test]
fn ipip_428_test_vectors_give_the_specified_verdicts() {
    let dir = "ipns_records/";
    let cases: [(&str, Result<&str, IpnsErrorKind>); 6] = [
        (
            "k51qzi5uqu5dm4tm0wt8srkg9h9suud4wuiwjimndrkydqm81cqtlb5ak6p7ku_v1",
            Err(IpnsErrorKind::MissingSignatureV2),
        ),
        (
            "k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w_v1-v2",
            Ok("/ipfs/bafkqaddwgevxmmraojswg33smq"),
        ),
        (
            "k51qzi5uqu5dlmit2tuwdvnx4sbnyqgmvbxftl0eo3f33wwtb9gr7yozae9kpw_v1-v2-broken-v1-value",
            Err(IpnsErrorKind::V1Mismatch),
        ),
        (
            "k51qzi5uqu5dilgf7gorsh9vcqqq4myo6jd4zmqkuy9pxyxi5fua3uf7axph4y_v1-v2-broken-signature-v1",
            Ok("/ipfs/bafkqahtwgevxmmrao5uxi2bamjzg623fnyqhg2lhnzqxi5lsmuqhmmi"),
        ),
        (
            "k51qzi5uqu5diamp7qnnvs1p1gzmku3eijkeijs3418j23j077zrkok63xdm8c_v1-v2-broken-signature-v2",
            Err(IpnsErrorKind::BadSignature),
        ),
        (
            "k51qzi5uqu5dit2ku9mutlfgwyz8u730on38kd10m97m36bjt66my99hb6103f_v2",
            Ok("/ipfs/bafkqadtwgiww63tmpeqhezldn5zgi"),
        ),
    ];
    for (file, expected) in cases {
        let got = verdict(&format!("{dir}{file}.ipns-record"), fixed_now());
        match (expected, &got) {
            (Ok(value), Ok(got)) => assert_eq!(got, value, "{file}"),
            (Err(kind), Err(e)) => assert_eq!(e.kind(), kind, "{file}: {e}"),
            _ => panic!("{file}: expected {expected:?}, got {got:?}"),
        }
    }
}

#[test]
fn every_other_conformance_record_validates_to_its_readme_value() {
    let root1 = "/ipfs/bafybeib3ffl2teiqdncv3mkz4r23b5ctrwkzrrhctdbne6iboayxuxk5ui";
    let hello = "/ipfs/bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am";
    let cases = [
        (
            "gateway-cache/k51qzi5uqu5dlxdsdu5fpuu7h69wu4ohp32iwm9pdt9nq3y5rpn3ln9j12zfhe",
            root1.to_string(),
        ),
        (
            "gateway-cache/k51qzi5uqu5djokp3m1keo36hoxtd6u3a1d2rg1camf6al7p3huy63dojlm57c",
            format!("{root1}/root2"),
        ),
        (
            "subdomain_gateway/12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2d",
            hello.to_string(),
        ),
        // RSA: the key travels in pubKey and hashes (sha2-256) to the name.
        (
            "subdomain_gateway/QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3",
            hello.to_string(),
        ),
        (
            "path_gateway_dag/k51qzi5uqu5dghjous0agrwavl8vzl64xckoqzwqeqwudfr74kfd11zcyk3b7l",
            "/ipfs/bafyreibs4utpgbn7uqegmd2goqz4bkyflre2ek2iwv743fhvylwi4zeeim".to_string(),
        ),
        (
            "path_gateway_dag/k51qzi5uqu5dhjghbwdvbo6mi40htrq6e2z4pwgp15pgv3ho1azvidttzh8yy2",
            "/ipfs/baguqeeram5ujjqrwheyaty3w5gdsmoz6vittchvhk723jjqxk7hakxkd47xq".to_string(),
        ),
        (
            "_tooling/tooling/ipns/_fixtures/k51qzi5uqu5dgh7y9l90nqs6tvnzcm9erbt8fhzg3fu79p5qt9zb2izvfu51ki",
            "/ipfs/bafyaaeykceeaeeqlnbswy3dpo5xxe3debimaw".to_string(),
        ),
        (
            "_tooling/tooling/ipns/_fixtures/k51qzi5uqu5dh71qgwangrt6r0nd4094i88nsady6qgd1dhjcyfsaqmpp143ab",
            "/ipfs/bafkreidfdrlkeq4m4xnxuyx6iae76fdm4wgl5d4xzsb77ixhyqwumhz244".to_string(),
        ),
        (
            "_tooling/tooling/ipns/_fixtures/12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2d",
            hello.to_string(),
        ),
        (
            "_tooling/tooling/ipns/_fixtures/QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3",
            hello.to_string(),
        ),
    ];
    for (file, value) in cases {
        let got = verdict(&format!("{file}.ipns-record"), fixed_now());
        assert_eq!(got.as_deref(), Ok(value.as_str()), "{file}");
    }
    // The fixtures validate today too (100-year lifetimes).
    let got = verdict(
        "ipns_records/k51qzi5uqu5dit2ku9mutlfgwyz8u730on38kd10m97m36bjt66my99hb6103f_v2.ipns-record",
        SystemTime::now(),
    );
    assert!(got.is_ok(), "{got:?}");
}

#[test]
fn fixture_fields_match_the_conformance_tooling() {
    // tooling/ipns/ipns_test.go: validity after 2123-03-01T01:00:00.801257Z.
    let (name, bytes) = load(
        "_tooling/tooling/ipns/_fixtures/k51qzi5uqu5dgh7y9l90nqs6tvnzcm9erbt8fhzg3fu79p5qt9zb2izvfu51ki.ipns-record",
    );
    let record = Record::from_bytes(bytes.clone()).unwrap();
    assert!(record.validity().unwrap() > at("2123-03-01T01:00:00.801257Z"));
    assert!(record.has_v1_fields());
    assert!(record.public_key_bytes().is_empty());
    assert_eq!(record.to_bytes(), bytes);
    assert_eq!(
        name.to_base36(),
        "k51qzi5uqu5dgh7y9l90nqs6tvnzcm9erbt8fhzg3fu79p5qt9zb2izvfu51ki"
    );
    // The RSA fixture embeds its key; the key hashes to the name.
    let (rsa_name, rsa_bytes) =
        load("subdomain_gateway/QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3.ipns-record");
    let rsa = Record::from_bytes(rsa_bytes).unwrap();
    assert_eq!(
        IpnsName::from_public_key_protobuf(rsa.public_key_bytes()),
        rsa_name
    );
    assert!(rsa.validity().unwrap() > at("2123-01-01T00:00:00Z"));
}

#[test]
fn v1_signature_is_over_value_validity_and_the_enum_name() {
    // Confirms boxo's recordDataForSignatureV1 (value ++ validity ++ "EOL") against the
    // vectors: valid in the v1-v2 record, broken in the broken-signature-v1 one.
    for (file, v1_valid) in [
        ("k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w_v1-v2", true),
        ("k51qzi5uqu5dilgf7gorsh9vcqqq4myo6jd4zmqkuy9pxyxi5fua3uf7axph4y_v1-v2-broken-signature-v1", false),
    ] {
        let (name, bytes) = load(&format!("ipns_records/{file}.ipns-record"));
        let record = Record::from_bytes(bytes).unwrap();
        let key = record.public_key_for(&name).unwrap();
        let ok = key.verify(
            &[&record.pb_value, &record.pb_validity, b"EOL"],
            &record.signature_v1,
        );
        assert_eq!(ok, v1_valid, "{file}");
    }
}

#[test]
fn fixtures_expire_after_their_eol_and_not_at_it() {
    let (name, bytes) = load(
        "ipns_records/k51qzi5uqu5dit2ku9mutlfgwyz8u730on38kd10m97m36bjt66my99hb6103f_v2.ipns-record",
    );
    let record = Record::from_bytes(bytes).unwrap();
    let eol = record.validity().unwrap();
    assert_eq!(record.validate(&name, eol), Ok(()));
    let later = eol + Duration::from_nanos(1);
    assert_eq!(
        record.validate(&name, later).unwrap_err().kind(),
        IpnsErrorKind::Expired
    );
}

#[test]
fn records_fail_against_the_wrong_name() {
    let (_, bytes) =
        load("subdomain_gateway/12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2d.ipns-record");
    let record = Record::from_bytes(bytes).unwrap();
    let other = IpnsName::from_ed25519(&test_key().verifying_key());
    assert_eq!(
        record.validate(&other, fixed_now()).unwrap_err().kind(),
        IpnsErrorKind::BadSignature
    );
    // An RSA record's pubKey must hash to the name it is validated for.
    let (_, rsa_bytes) =
        load("subdomain_gateway/QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3.ipns-record");
    let rsa = Record::from_bytes(rsa_bytes).unwrap();
    assert_eq!(
        rsa.validate(&other, fixed_now()).unwrap_err().kind(),
        IpnsErrorKind::PublicKey
    );
    // A hash name with no pubKey in the record has no key to verify with.
    let hash_name = IpnsName::parse("QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3").unwrap();
    assert_eq!(
        record.validate(&hash_name, fixed_now()).unwrap_err().kind(),
        IpnsErrorKind::PublicKey
    );
}

/// Replaces the first occurrence of `from` in `bytes` by `to` (same length).
fn patched(bytes: &[u8], from: &[u8], to: &[u8]) -> Bytes {
    assert_eq!(from.len(), to.len());
    let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    Bytes::from(out)
}

#[test]
fn rsa_signatures_detect_tampering() {
    let (name, bytes) =
        load("subdomain_gateway/QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3.ipns-record");
    let record = Record::from_bytes(bytes.clone()).unwrap();
    // Flip one bit in the last byte of signatureV2.
    let signature = record.signature_v2.clone();
    let mut flipped = signature.to_vec();
    *flipped.last_mut().unwrap() ^= 1;
    let tampered = Record::from_bytes(patched(&bytes, &signature, &flipped)).unwrap();
    assert_eq!(
        tampered.validate(&name, fixed_now()).unwrap_err().kind(),
        IpnsErrorKind::BadSignature
    );
    // A signature of the wrong length never verifies.
    let key = record.public_key_for(&name).unwrap();
    assert!(!key.verify(&[SIGNATURE_V2_PREFIX, &record.data], &signature[1..]));
    assert!(key.verify(&[SIGNATURE_V2_PREFIX, &record.data], &signature));
    // A signature above the modulus (all ones) is refused.
    assert!(!key.verify(
        &[SIGNATURE_V2_PREFIX, &record.data],
        &vec![0xff; signature.len()]
    ));
}

/// Records Kubo 0.43.1 published with each key type it generates
/// (`tests/fixtures/kubo-ipns/README.md`).
const KUBO_RECORDS: [(&str, &str); 3] = [
    (
        "rsa",
        "k2k4r8o3yot3vj36zg8wwohroumqlb40k3ni38wc727t7xtd3vnu6cim",
    ),
    (
        "ed25519",
        "k51qzi5uqu5dmawndfps2umnnt6q3fgomoguzf8m7pbxwiddx4ow0zsgt86s0w",
    ),
    (
        "secp256k1",
        "kzwfwjn5ji4pun3thulrd0ap1wl89acd4s54rh0pfep6xoq7xuq6ue5nwq0bs45",
    ),
];

fn kubo_record(name: &str) -> Bytes {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kubo-ipns")
        .join(format!("{name}.ipns-record"));
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

#[test]
fn kubo_records_of_every_key_type_verify_and_tampered_copies_do_not() {
    let target = "/ipfs/bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am";
    for (kind, text) in KUBO_RECORDS {
        let name = IpnsName::parse(text).unwrap();
        let bytes = kubo_record(text);
        let record = Record::from_bytes(bytes.clone()).unwrap();
        assert_eq!(record.validate(&name, fixed_now()), Ok(()), "{kind}");
        assert_eq!(record.value().unwrap(), target, "{kind}");
        assert_eq!(
            record.public_key_bytes().is_empty(),
            kind != "rsa",
            "{kind}"
        );

        let refused = |tampered: Bytes, what: &str| {
            let outcome = Record::from_bytes(tampered).and_then(|r| r.validate(&name, fixed_now()));
            assert_eq!(
                outcome.map_err(|e| e.kind()),
                Err(IpnsErrorKind::BadSignature),
                "{kind}: {what}"
            );
        };
        // signatureV2 with a bit flipped at each end.
        let signature = record.signature_v2.clone();
        for at in [0, signature.len() / 2, signature.len() - 1] {
            let mut flipped = signature.to_vec();
            flipped[at] ^= 0x01;
            refused(
                patched(&bytes, &signature, &flipped),
                "flipped signature bit",
            );
        }
        // The signed data pointing somewhere else (same length, V1 value too).
        let other = "/ipfs/bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6aa";
        let mut data = record.data().to_vec();
        let at = data
            .windows(target.len())
            .position(|w| w == target.as_bytes())
            .unwrap();
        data[at..at + target.len()].copy_from_slice(other.as_bytes());
        let tampered = patched(&bytes, record.data(), &data);
        let tampered = patched(&tampered, target.as_bytes(), other.as_bytes());
        refused(tampered, "changed value");
        // Another key type's signature in its place.
        for (other_kind, other_text) in KUBO_RECORDS {
            if other_kind == kind {
                continue;
            }
            let foreign = Record::from_bytes(kubo_record(other_text)).unwrap();
            let key = record.public_key_for(&name).unwrap();
            assert!(
                !key.verify(&[SIGNATURE_V2_PREFIX, record.data()], &foreign.signature_v2),
                "{kind} key took a {other_kind} signature"
            );
        }
        // A record is no proof for another name.
        let (_, other_name) =
            KUBO_RECORDS[(KUBO_RECORDS.iter().position(|k| k.0 == kind).unwrap() + 1) % 3];
        assert!(record
            .validate(&IpnsName::parse(other_name).unwrap(), fixed_now())
            .is_err());
    }
}

#[test]
fn tampered_ed25519_records_are_refused_with_the_right_kind() {
    let (name, bytes) = load(
        "ipns_records/k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w_v1-v2.ipns-record",
    );
    let record = Record::from_bytes(bytes.clone()).unwrap();
    assert_eq!(record.validate(&name, fixed_now()), Ok(()));
    // The CBOR copy of the value is signed: changing it breaks signatureV2. The value
    // occurs twice (protobuf first), so patch inside `data`.
    let data = record.data().clone();
    let mut data_patched = data.to_vec();
    let value_at = data_patched.windows(5).position(|w| w == b"/ipfs").unwrap();
    data_patched[value_at + 7] ^= 1;
    let tampered = Record::from_bytes(patched(&bytes, &data, &data_patched)).unwrap();
    assert_eq!(
        tampered.validate(&name, fixed_now()).unwrap_err().kind(),
        IpnsErrorKind::BadSignature
    );
    // The protobuf copy is not signed, but must match the signed one.
    let value = record.pb_value.clone();
    let mut value_patched = value.to_vec();
    value_patched[7] ^= 1;
    let tampered = Record::from_bytes(patched(&bytes, &value, &value_patched)).unwrap();
    assert_eq!(
        tampered.validate(&name, fixed_now()).unwrap_err().kind(),
        IpnsErrorKind::V1Mismatch
    );
    // Truncation anywhere is an error, never a panic.
    for len in 0..bytes.len() {
        let result =
            Record::from_bytes(bytes.slice(..len)).and_then(|r| r.validate(&name, fixed_now()));
        assert!(result.is_err(), "truncated to {len} still validates");
    }
}

#[test]
fn oversized_records_are_refused_before_parsing() {
    let mut bytes = vec![0u8; MAX_RECORD_SIZE + 1];
    bytes[0] = 0xff; // garbage: the size check must come first
    let error = Record::from_bytes(Bytes::from(bytes)).unwrap_err();
    assert_eq!(error.kind(), IpnsErrorKind::TooLarge);
    // Creating a record that would exceed the limit fails the same way.
    let long_value = format!("/ipns/{}", "a".repeat(MAX_RECORD_SIZE));
    let error =
        Record::create(&test_key(), &long_value, 0, fixed_now(), DEFAULT_TTL, true).unwrap_err();
    assert_eq!(error.kind(), IpnsErrorKind::TooLarge);
}

#[test]
fn random_mutations_never_panic_or_forge() {
    let (name, bytes) = load(
        "ipns_records/k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w_v1-v2.ipns-record",
    );
    let original = Record::from_bytes(bytes.clone()).unwrap();
    let original_value = original.value().unwrap().into_owned();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    // Each surviving parse costs a signature check (slow in debug builds): keep it modest.
    for _ in 0..400 {
        let mut mutated = bytes.to_vec();
        for _ in 0..1 + next() % 3 {
            let at = (next() as usize) % mutated.len();
            match next() % 3 {
                0 => mutated[at] ^= 1 << (next() % 8),
                1 => mutated[at] = next() as u8,
                _ => {
                    mutated.insert(at, next() as u8);
                }
            }
        }
        if let Ok(record) = Record::from_bytes(Bytes::from(mutated)) {
            if record.validate(&name, fixed_now()).is_ok() {
                // Only unsigned, unchecked bytes (signatureV1, unknown fields) may change.
                assert_eq!(record.value().unwrap(), original_value);
                assert_eq!(record.data(), original.data());
            }
        }
    }
}

// ---- creation ----

/// Signs arbitrary `data` into a V2-only record (protobuf built by hand).
fn v2_record(key: &SigningKey, data: &[u8]) -> Bytes {
    let signature = key.sign(&[b"ipns-signature:".as_slice(), data].concat());
    let mut out = Vec::new();
    write_proto_bytes(&mut out, 8, &signature.to_bytes());
    write_proto_bytes(&mut out, 9, data);
    Bytes::from(out)
}

#[test]
fn created_records_have_the_exact_canonical_layout_and_verify_independently() {
    let key = test_key();
    assert_eq!(hex::encode(key.verifying_key().as_bytes()), PUBLIC);
    let name = IpnsName::from_ed25519(&key.verifying_key());
    let record = Record::create(
        &key,
        "/ipfs/bafkqaaa",
        7,
        at("2030-01-01T00:00:00Z"),
        Duration::from_secs(300),
        false,
    )
    .unwrap();
    let expected_data = hex::decode(concat!(
        "a5",
        "6354544c",
        "1b00000045d964b800",
        "6556616c7565",
        "4e",
        "2f697066732f6261666b71616161",
        "6853657175656e6365",
        "07",
        "6856616c6964697479",
        "54",
        "323033302d30312d30315430303a30303a30305a",
        "6c56616c696469747954797065",
        "00",
    ))
    .unwrap();
    let bytes = record.to_bytes();
    // V2-only layout: field 8 (64-byte signature), field 9 (data); no pubKey for Ed25519.
    assert_eq!(bytes[0..2], [0x42, 0x40]);
    assert_eq!(bytes[66..68], [0x4a, expected_data.len() as u8]);
    assert_eq!(bytes[68..], expected_data[..]);
    // Independent verification with dalek directly.
    let verifying =
        VerifyingKey::from_bytes(&hex::decode(PUBLIC).unwrap().try_into().unwrap()).unwrap();
    let signature = Signature::from_slice(&bytes[2..66]).unwrap();
    let mut message = b"ipns-signature:".to_vec();
    message.extend_from_slice(&expected_data);
    verifying.verify_strict(&message, &signature).unwrap();

    assert_eq!(record.validate(&name, fixed_now()), Ok(()));
    assert_eq!(record.value().unwrap(), "/ipfs/bafkqaaa");
    assert_eq!(record.sequence(), 7);
    assert_eq!(record.ttl(), Duration::from_secs(300));
    assert_eq!(record.validity().unwrap(), at("2030-01-01T00:00:00Z"));
    assert!(!record.has_v1_fields());
}

#[test]
fn created_v1_fields_copy_the_cbor_and_carry_a_v1_signature() {
    let key = test_key();
    let name = IpnsName::from_ed25519(&key.verifying_key());
    let value = "/ipfs/bafybeib3ffl2teiqdncv3mkz4r23b5ctrwkzrrhctdbne6iboayxuxk5ui/root2";
    let eol = at("2031-02-03T04:05:06.123456789Z");
    let record = Record::create(&key, value, u64::MAX, eol, DEFAULT_TTL, true).unwrap();
    assert_eq!(record.validate(&name, fixed_now()), Ok(()));
    assert_eq!(record.sequence(), u64::MAX);
    assert_eq!(
        &record.validity_text()[..],
        b"2031-02-03T04:05:06.123456789Z"
    );
    assert_eq!(record.validity().unwrap(), eol);
    assert!(record.has_v1_fields());
    // Layout: field 1 value, then field 2 the V1 signature.
    let bytes = record.to_bytes();
    assert_eq!(bytes[0], 0x0a);
    assert_eq!(usize::from(bytes[1]), value.len());
    assert_eq!(&bytes[2..2 + value.len()], value.as_bytes());
    let v1_at = 2 + value.len();
    assert_eq!(bytes[v1_at..v1_at + 2], [0x12, 0x40]);
    let v1 = Signature::from_slice(&bytes[v1_at + 2..v1_at + 66]).unwrap();
    let message = [value.as_bytes(), b"2031-02-03T04:05:06.123456789Z", b"EOL"].concat();
    key.verifying_key().verify_strict(&message, &v1).unwrap();
    // Sequence 2^64-1 travels as the int64 -1 (CBOR 0x20), as boxo writes it.
    assert!(record.data().windows(9).any(|w| w == b"Sequence\x20"));
}

#[test]
fn create_refuses_values_that_are_not_content_paths() {
    let key = test_key();
    for value in [
        "",
        "ipfs/bafkqaaa",
        "/ipfs/",
        "/ipfs/notacid",
        "/foo/bar",
        "/ipns/",
    ] {
        let error = Record::create(&key, value, 1, fixed_now(), DEFAULT_TTL, true).unwrap_err();
        assert_eq!(error.kind(), IpnsErrorKind::InvalidValue, "{value:?}");
    }
    for value in [
        "/ipns/example.com/a",
        "/ipld/bafkqaaa",
        "/ipfs/QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn/x",
    ] {
        assert!(Record::create(&key, value, 1, fixed_now(), DEFAULT_TTL, true).is_ok());
    }
}

// ---- data map rules (hand-built, validly signed records) ----

fn data_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    cbor::write_head(&mut out, 5, entries.len() as u64);
    for (key, encoded_value) in entries {
        write_cbor_text(&mut out, key);
        out.extend_from_slice(encoded_value);
    }
    out
}

fn cbor_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    cbor::write_head(&mut out, 2, bytes.len() as u64);
    out.extend_from_slice(bytes);
    out
}

fn check_data(data: &[u8]) -> IpnsResult<Record> {
    let key = test_key();
    let name = IpnsName::from_ed25519(&key.verifying_key());
    let record = Record::from_bytes(v2_record(&key, data))?;
    record.validate(&name, fixed_now())?;
    Ok(record)
}

#[test]
fn data_map_accepts_extensions_and_any_key_order() {
    let value = cbor_bytes(b"/ipfs/bafkqaaa");
    let validity = cbor_bytes(b"2030-01-01T00:00:00Z");
    let base: Vec<(&str, &[u8])> = vec![
        ("TTL", &[0x01]),
        ("Value", &value),
        ("Sequence", &[0x02]),
        ("Validity", &validity),
        ("ValidityType", &[0x00]),
    ];
    assert!(check_data(&data_with(&base)).is_ok());
    let mut reversed = base.clone();
    reversed.reverse();
    let record = check_data(&data_with(&reversed)).unwrap();
    assert_eq!(record.sequence(), 2);
    // Extension metadata (IPNS spec "Extensible Data"): nested lists/maps, a CID link.
    let link = [&[0xd8, 0x2a, 0x45, 0x00][..], &[0x01, 0x55, 0x00, 0x00]].concat();
    let nested = [&[0x82, 0xa1, 0x61, b'a', 0xf5][..], &link].concat();
    let mut extended = base.clone();
    extended.push(("_meta", &nested));
    extended.push(("_float", &[0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]));
    assert!(check_data(&data_with(&extended)).is_ok());
}

#[test]
fn data_map_violations_are_refused() {
    let value = cbor_bytes(b"/ipfs/bafkqaaa");
    let validity = cbor_bytes(b"2030-01-01T00:00:00Z");
    let text_value = [&[0x6e][..], b"/ipfs/bafkqaaa"].concat();
    let base: Vec<(&str, &[u8])> = vec![
        ("TTL", &[0x01]),
        ("Value", &value),
        ("Sequence", &[0x02]),
        ("Validity", &validity),
        ("ValidityType", &[0x00]),
    ];
    let with = |key: &str, replacement: &'static [u8]| -> Vec<u8> {
        let entries: Vec<(&str, &[u8])> = base
            .iter()
            .map(|&(k, v)| if k == key { (k, replacement) } else { (k, v) })
            .collect();
        data_with(&entries)
    };
    let kind = |data: &[u8]| check_data(data).unwrap_err().kind();
    use IpnsErrorKind::*;
    assert_eq!(
        kind(&with("ValidityType", &[0x01])),
        UnsupportedValidityType
    );
    assert_eq!(kind(&with("TTL", &[0x20])), Malformed); // -1
    assert_eq!(kind(&with("Sequence", &[0x18, 0x02])), Malformed); // non-minimal
    assert_eq!(
        kind(&with("TTL", &[0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0])),
        Malformed
    ); // > i64
    assert_eq!(kind(&with("Sequence", &[0xf9, 0x3c, 0x00])), Malformed); // float16
    let mut text = base.clone();
    text[1] = ("Value", &text_value);
    assert_eq!(kind(&data_with(&text)), Malformed);
    assert_eq!(kind(&data_with(&base[..4])), Malformed); // no ValidityType
    let mut duplicated = base.clone();
    duplicated.push(("Value", &value));
    let mut dup = data_with(&duplicated);
    dup[0] = 0xa6;
    assert_eq!(kind(&data_with(&duplicated)), Malformed);
    let mut dup_ext = base.clone();
    dup_ext.push(("_x", &[0x01]));
    dup_ext.insert(0, ("_x", &[0x02]));
    assert_eq!(kind(&data_with(&dup_ext)), Malformed);
    // Indefinite-length map; trailing bytes; deep nesting; undefined; other tags.
    let mut indefinite = data_with(&base);
    indefinite[0] = 0xbf;
    indefinite.push(0xff);
    assert_eq!(kind(&indefinite), Malformed);
    let mut trailing = data_with(&base);
    trailing.push(0x00);
    assert_eq!(kind(&trailing), Malformed);
    let deep = [vec![0x81; 40], vec![0x00]].concat();
    let mut deep_entries = base.clone();
    deep_entries.push(("_deep", &deep));
    assert_eq!(kind(&data_with(&deep_entries)), Malformed);
    let mut undefined = base.clone();
    undefined.push(("_u", &[0xf7]));
    assert_eq!(kind(&data_with(&undefined)), Malformed);
    let mut tagged = base.clone();
    tagged.push(("_t", &[0xc1, 0x00]));
    assert_eq!(kind(&data_with(&tagged)), Malformed);
    // A huge declared array length ends at the data's end instead of looping.
    let mut huge = base.clone();
    huge.push((
        "_h",
        &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ));
    assert_eq!(kind(&data_with(&huge)), Malformed);
    // Not a map at all.
    assert_eq!(kind(&[0x80]), Malformed);
}

#[test]
fn protobuf_violations_are_refused() {
    let key = test_key();
    let good = Record::create(
        &key,
        "/ipfs/bafkqaaa",
        1,
        fixed_now() + DEFAULT_LIFETIME,
        DEFAULT_TTL,
        false,
    )
    .unwrap()
    .to_bytes();
    let kind = |bytes: Vec<u8>| Record::from_bytes(Bytes::from(bytes)).unwrap_err().kind();
    // Field 9 sent as a varint.
    assert_eq!(
        kind([good.to_vec(), vec![0x48, 0x01]].concat()),
        IpnsErrorKind::Malformed
    );
    // Length past the end.
    assert_eq!(
        kind([good.to_vec(), vec![0x0a, 0x05, 0x00]].concat()),
        IpnsErrorKind::Malformed
    );
    // Varint longer than 64 bits.
    assert_eq!(
        kind([good.to_vec(), vec![0x28], vec![0xff; 10]].concat()),
        IpnsErrorKind::Malformed
    );
    // Group wire type.
    assert_eq!(
        kind([good.to_vec(), vec![0x53]].concat()),
        IpnsErrorKind::Malformed
    );
    // Field number 0.
    assert_eq!(
        kind([good.to_vec(), vec![0x02, 0x00]].concat()),
        IpnsErrorKind::Malformed
    );
    // Unknown fields are skipped, and the record still validates.
    let extended = [
        good.to_vec(),
        vec![0x52, 0x01, 0xaa, 0x59, 1, 2, 3, 4, 5, 6, 7, 8],
    ]
    .concat();
    let record = Record::from_bytes(Bytes::from(extended)).unwrap();
    let name = IpnsName::from_ed25519(&key.verifying_key());
    assert_eq!(record.validate(&name, fixed_now()), Ok(()));
    // Empty input and V1-only input.
    assert_eq!(kind(vec![]), IpnsErrorKind::MissingSignatureV2);
    assert_eq!(
        kind(vec![0x0a, 0x01, b'/']),
        IpnsErrorKind::MissingSignatureV2
    );
}

#[test]
fn embedded_pubkey_must_match_the_name_even_for_ed25519() {
    let key = test_key();
    let name = IpnsName::from_ed25519(&key.verifying_key());
    let record = Record::create(
        &key,
        "/ipfs/bafkqaaa",
        1,
        fixed_now() + DEFAULT_LIFETIME,
        DEFAULT_TTL,
        false,
    )
    .unwrap();
    let mut with_key = record.to_bytes().to_vec();
    write_proto_bytes(
        &mut with_key,
        7,
        &ed25519_public_key_protobuf(&key.verifying_key()),
    );
    let with_key = Record::from_bytes(Bytes::from(with_key)).unwrap();
    assert_eq!(with_key.validate(&name, fixed_now()), Ok(()));
    let other = SigningKey::from_bytes(&[9u8; 32]);
    let mut wrong_key = record.to_bytes().to_vec();
    write_proto_bytes(
        &mut wrong_key,
        7,
        &ed25519_public_key_protobuf(&other.verifying_key()),
    );
    let wrong_key = Record::from_bytes(Bytes::from(wrong_key)).unwrap();
    assert_eq!(
        wrong_key.validate(&name, fixed_now()).unwrap_err().kind(),
        IpnsErrorKind::PublicKey
    );
    let mut garbage = record.to_bytes().to_vec();
    write_proto_bytes(&mut garbage, 7, &[0xff]);
    let garbage = Record::from_bytes(Bytes::from(garbage)).unwrap();
    assert_eq!(
        garbage.validate(&name, fixed_now()).unwrap_err().kind(),
        IpnsErrorKind::PublicKey
    );
}

#[test]
fn freshness_prefers_sequence_then_eol() {
    let key = test_key();
    let make =
        |seq, eol| Record::create(&key, "/ipfs/bafkqaaa", seq, eol, DEFAULT_TTL, false).unwrap();
    let early = at("2030-01-01T00:00:00Z");
    let late = at("2031-01-01T00:00:00Z");
    assert_eq!(
        make(2, early).cmp_freshness(&make(1, late)),
        Ordering::Greater
    );
    assert_eq!(make(1, early).cmp_freshness(&make(1, late)), Ordering::Less);
    assert_eq!(
        make(1, early).cmp_freshness(&make(1, early)),
        Ordering::Equal
    );
}

// ---- names ----

#[test]
fn names_round_trip_between_peer_ids_and_base36_cids() {
    // Vectors from gateway-conformance (path_gateway_ipns_test.go, tooling/ipns tests).
    let pairs = [
        (
            "12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK",
            "k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8",
        ),
        (
            "12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2d",
            "k51qzi5uqu5dk3v4rmjber23h16xnr23bsggmqqil9z2gduiis5se8dht36dam",
        ),
        (
            "QmcJM7PRfkSbcM5cf1QugM5R37TLRKyJGgBEhXjLTB8uA2",
            "k2k4r8ol4m8kkcqz509c1rcjwunebj02gcnm5excpx842u736nja8ger",
        ),
        (
            "QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3",
            "k2k4r8m7xvggw5pxxk3abrkwyer625hg01hfyggrai7lk1m63fuihi7w",
        ),
    ];
    for (peer_id, base36) in pairs {
        let from_peer = IpnsName::parse(peer_id).unwrap();
        let from_cid = IpnsName::parse(base36).unwrap();
        assert_eq!(from_peer, from_cid);
        assert_eq!(from_peer.to_base36(), base36);
        assert_eq!(from_cid.to_peer_id(), peer_id);
        assert_eq!(from_cid.to_string(), base36);
        assert_eq!(
            IpnsName::parse(&format!("/ipns/{base36}")).unwrap(),
            from_cid
        );
        assert_eq!(IpnsName::from_cid(&from_cid.to_cid()).unwrap(), from_cid);
        // Other multibases of the same CID, and upper-case base36.
        let base32 = from_cid.to_cid().to_string();
        assert_eq!(IpnsName::parse(&base32).unwrap(), from_cid);
        assert_eq!(IpnsName::parse(&base36.to_uppercase()).unwrap(), from_cid);
        let routing_key = from_cid.routing_key();
        assert_eq!(&routing_key[..6], b"/ipns/");
        assert_eq!(&routing_key[6..], from_cid.as_multihash_bytes());
    }
    let ed = IpnsName::parse("12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2d").unwrap();
    assert_eq!(ed.inline_public_key_protobuf().map(<[u8]>::len), Some(36));
    let rsa = IpnsName::parse("QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3").unwrap();
    assert_eq!(rsa.inline_public_key_protobuf(), None);
}

#[test]
fn the_rfc8032_key_has_a_12d3koow_name() {
    let name = IpnsName::from_ed25519(&test_key().verifying_key());
    assert!(
        name.to_peer_id().starts_with("12D3KooW"),
        "{}",
        name.to_peer_id()
    );
    assert!(name.to_base36().starts_with("k51"), "{}", name.to_base36());
    let protobuf = ed25519_public_key_protobuf(&test_key().verifying_key());
    assert_eq!(IpnsName::from_public_key_protobuf(&protobuf), name);
    assert_eq!(
        &name.as_multihash_bytes()[..6],
        &[0x00, 0x24, 0x08, 0x01, 0x12, 0x20]
    );
}

#[test]
fn invalid_names_are_refused() {
    let bad = [
        "",
        "/ipns/",
        "not-a-name",
        "example.com",
        // dag-pb CIDv1 of an Ed25519 key: the gateway redirects these, they are not names.
        "k50rm9yjlt0jey4fqg6wafvqprktgbkpgkqdg27tpqje6iimzxewnhvtin9hhq",
        // CIDv1 raw of sha2-256 content.
        "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am",
        // base58btc with an invalid character, and a truncated peer ID.
        "12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2l",
        "12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2",
    ];
    for text in bad {
        assert_eq!(
            IpnsName::parse(text).unwrap_err().kind(),
            IpnsErrorKind::InvalidName,
            "{text:?}"
        );
    }
    assert!(IpnsName::parse(&"k".repeat(MAX_NAME_TEXT_LEN + 1)).is_err());
    assert!(IpnsName::parse(&format!("1{}", "z".repeat(MAX_NAME_TEXT_LEN))).is_err());
    // Multihash rules: sha2-512, identity over 42 bytes, wrong digest length, trailing.
    assert!(IpnsName::from_multihash(&[[0x13, 0x40].as_slice(), &[0; 64]].concat()).is_err());
    assert!(IpnsName::from_multihash(&[[0x00, 43].as_slice(), &[0; 43]].concat()).is_err());
    assert!(IpnsName::from_multihash(&[[0x12, 0x20].as_slice(), &[0; 31]].concat()).is_err());
    assert!(IpnsName::from_multihash(&[[0x12, 0x20].as_slice(), &[0; 33]].concat()).is_err());
    assert!(IpnsName::from_multihash(&[0x00, 0x00]).is_err());
    assert!(IpnsName::from_multihash(&[]).is_err());
}

// ---- keys ----

#[test]
fn private_keys_round_trip_in_the_libp2p_protobuf() {
    let key = test_key();
    let encoded = encode_ed25519_private_key(&key);
    assert_eq!(encoded[..4], [0x08, 0x01, 0x12, 0x40]);
    assert_eq!(hex::encode(&encoded[4..36]), SEED);
    assert_eq!(hex::encode(&encoded[36..]), PUBLIC);
    let decoded = decode_ed25519_private_key(&encoded).unwrap();
    assert_eq!(decoded.to_bytes(), key.to_bytes());
    // Legacy 96-byte form.
    let legacy = [&[0x08, 0x01, 0x12, 0x60][..], &encoded[4..], &encoded[36..]].concat();
    assert_eq!(
        decode_ed25519_private_key(&legacy).unwrap().to_bytes(),
        key.to_bytes()
    );
    // Public half that does not match the seed; wrong type; wrong length; no type.
    let mut mismatched = encoded;
    mismatched[67] ^= 1;
    assert!(decode_ed25519_private_key(&mismatched).is_err());
    let mut rsa = encoded;
    rsa[1] = 0x00;
    assert_eq!(
        decode_ed25519_private_key(&rsa).unwrap_err().kind(),
        IpnsErrorKind::UnsupportedKeyType
    );
    assert!(decode_ed25519_private_key(&encoded[..67]).is_err());
    assert!(decode_ed25519_private_key(&encoded[2..]).is_err());
}

// ---- RFC 3339 ----

#[test]
fn timestamps_format_like_go_rfc3339nano() {
    let cases = [
        (UNIX_EPOCH, "1970-01-01T00:00:00Z"),
        (
            UNIX_EPOCH + Duration::from_nanos(1),
            "1970-01-01T00:00:00.000000001Z",
        ),
        (
            UNIX_EPOCH + Duration::from_millis(1500),
            "1970-01-01T00:00:01.5Z",
        ),
        (
            UNIX_EPOCH - Duration::from_nanos(1),
            "1969-12-31T23:59:59.999999999Z",
        ),
        (
            UNIX_EPOCH + Duration::from_secs(951_782_400),
            "2000-02-29T00:00:00Z",
        ),
        (
            UNIX_EPOCH + Duration::new(1_795_438_067, 921_941_308),
            "2026-11-23T12:47:47.921941308Z",
        ),
        (
            UNIX_EPOCH + Duration::new(4_833_306_000, 801_257_000),
            "2123-03-01T01:00:00.801257Z",
        ),
    ];
    for (time, text) in cases {
        assert_eq!(format_rfc3339_nano(time).unwrap(), text);
        assert_eq!(parse_rfc3339(text.as_bytes()).unwrap(), time, "{text}");
    }
    let too_late = at("9999-12-31T23:59:59.999999999Z") + Duration::from_nanos(1);
    assert!(format_rfc3339_nano(too_late).is_err());
    assert!(format_rfc3339_nano(at("0000-01-01T00:00:00Z")).is_ok());
}

#[test]
fn timestamps_parse_offsets_and_refuse_what_go_refuses() {
    assert_eq!(at("2030-01-01T02:00:00+02:00"), at("2030-01-01T00:00:00Z"));
    assert_eq!(at("2029-12-31T19:30:00-04:30"), at("2030-01-01T00:00:00Z"));
    assert_eq!(
        at("2030-01-01T00:00:00.1234567899999Z"),
        at("2030-01-01T00:00:00.123456789Z")
    );
    for text in [
        "2030-01-01T00:00:00",
        "2030-01-01t00:00:00Z",
        "2030-01-01T00:00:00z",
        "2030-01-01 00:00:00Z",
        "2030-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z",
        "2030-13-01T00:00:00Z",
        "2030-00-01T00:00:00Z",
        "2030-01-32T00:00:00Z",
        "2030-01-01T24:00:00Z",
        "2030-01-01T00:60:00Z",
        "2030-01-01T00:00:60Z",
        "2030-01-01T00:00:00.Z",
        "2030-01-01T00:00:00+24:00",
        "2030-01-01T00:00:00+0200",
        "2030-01-01T00:00:00ZZ",
        "+030-01-01T00:00:00Z",
        "",
    ] {
        assert!(parse_rfc3339(text.as_bytes()).is_err(), "{text:?}");
    }
    assert!(parse_rfc3339(b"2000-02-29T00:00:00Z").is_ok());
}

// ---- Kubo cross-checks ----

struct Kubo {
    bin: PathBuf,
    repo: tempfile::TempDir,
}

impl Kubo {
    fn new() -> Option<Kubo> {
        let kubo = Kubo {
            bin: crate::test_support::peer("ipfs")?,
            repo: tempfile::tempdir().unwrap(),
        };
        kubo.run(&["init", "--profile=test"], None);
        Some(kubo)
    }

    fn command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(&self.bin);
        command
            .env("IPFS_PATH", self.repo.path())
            .env("IPFS_TELEMETRY", "off");
        command
    }

    /// Runs `ipfs args…` (stdin from `input`), returning stdout; panics on failure.
    fn run(&self, args: &[&str], input: Option<&Path>) -> String {
        let mut command = self.command();
        command.args(args);
        if let Some(path) = input {
            command.stdin(std::fs::File::open(path).unwrap());
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "ipfs {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.repo.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

/// An `ipfs daemon --offline` we started; killed (by its own handle) on drop.
struct Daemon {
    child: std::process::Child,
    gateway: String,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_daemon(kubo: &Kubo) -> Daemon {
    use std::io::BufRead;
    let mut child = kubo
        .command()
        .args(["daemon", "--offline"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut daemon = Daemon {
        child,
        gateway: String::new(),
    };
    loop {
        let line = receiver
            .recv_timeout(Duration::from_secs(60))
            .expect("Kubo daemon did not become ready");
        if let Some(address) = line.strip_prefix("Gateway server listening on /ip4/") {
            daemon.gateway = address.replace("/tcp/", ":");
        }
        if line.contains("Daemon is ready") {
            break;
        }
    }
    assert!(
        daemon.gateway.starts_with("127.0.0.1:"),
        "{}",
        daemon.gateway
    );
    daemon
}

/// GETs `/ipns/<name>?format=ipns-record` from the daemon's loopback gateway.
fn fetch_record(daemon: &Daemon, name: &str) -> Bytes {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(&daemon.gateway).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET /ipns/{name}?format=ipns-record HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        daemon.gateway
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let mut body = &response[split + 4..];
    if !head.contains("transfer-encoding: chunked") {
        return Bytes::copy_from_slice(body);
    }
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&body[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        body = &body[line_end + 2..];
        if size == 0 {
            return Bytes::from(out);
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

#[test]
fn kubo_accepts_our_records_and_keys_and_we_accept_kubos() {
    let Some(kubo) = Kubo::new() else { return };
    // Our key file imports into Kubo under the same name.
    let key = test_key();
    let name = IpnsName::from_ed25519(&key.verifying_key());
    let key_file = kubo.file("ours.key", &encode_ed25519_private_key(&key));
    let imported = kubo.run(
        &[
            "key",
            "import",
            "--ipns-base=base36",
            "ours",
            key_file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(imported.trim(), name.to_base36());
    let listed = kubo.run(&["key", "list", "-l", "--ipns-base=b58mh"], None);
    assert!(
        listed.contains(&format!("{} ours", name.to_peer_id())),
        "{listed}"
    );

    // Kubo verifies the records we create (V1+V2 and V2-only), and rejects a forged one.
    let eol = SystemTime::now() + DEFAULT_LIFETIME;
    for include_v1 in [true, false] {
        let record =
            Record::create(&key, "/ipfs/bafkqaaa/x", 42, eol, DEFAULT_TTL, include_v1).unwrap();
        let file = kubo.file("record", &record.to_bytes());
        let report = kubo.run(
            &[
                "name",
                "inspect",
                "--dump=false",
                "--verify",
                &name.to_base36(),
            ],
            Some(&file),
        );
        assert!(report.contains("Valid: true"), "{report}");
        assert!(report.contains("Sequence:       42"), "{report}");
        let expected_type = if include_v1 { "V1+V2" } else { "V2" };
        assert!(
            report.contains(&format!("Signature Type: {expected_type}\n")),
            "{report}"
        );
    }
    let record = Record::create(&key, "/ipfs/bafkqaaa", 1, eol, DEFAULT_TTL, true).unwrap();
    let data = record.data().clone();
    let mut forged_data = data.to_vec();
    *forged_data.last_mut().unwrap() = 0x01; // ValidityType 1
    let forged = patched(&record.to_bytes(), &data, &forged_data);
    let file = kubo.file("forged", &forged);
    let report = kubo.run(
        &[
            "name",
            "inspect",
            "--dump=false",
            "--verify",
            &name.to_base36(),
        ],
        Some(&file),
    );
    assert!(!report.contains("Valid: true"), "{report}");

    // Kubo's keystore files decode to the names Kubo prints.
    let kubo_name = kubo.run(
        &[
            "key",
            "gen",
            "--type=ed25519",
            "--ipns-base=base36",
            "kubokey",
        ],
        None,
    );
    let kubo_name = IpnsName::parse(kubo_name.trim()).unwrap();
    let key_file_name = format!(
        "key_{}",
        data_encoding::BASE32_NOPAD
            .encode(b"kubokey")
            .to_lowercase()
    );
    let key_path = kubo.repo.path().join("keystore").join(key_file_name);
    let kubo_key = decode_ed25519_private_key(&std::fs::read(key_path).unwrap()).unwrap();
    assert_eq!(IpnsName::from_ed25519(&kubo_key.verifying_key()), kubo_name);
    let rsa_name = kubo.run(
        &[
            "key",
            "gen",
            "--type=rsa",
            "--size=2048",
            "--ipns-base=b58mh",
            "rsakey",
        ],
        None,
    );
    let rsa_name = IpnsName::parse(rsa_name.trim()).unwrap();
    assert!(rsa_name.to_peer_id().starts_with("Qm"));

    // Records Kubo publishes validate here (Ed25519 and RSA with an embedded key).
    let target = "/ipfs/bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am";
    for key_name in ["kubokey", "rsakey"] {
        kubo.run(
            &[
                "name",
                "publish",
                "--allow-offline",
                "--resolve=false",
                "--key",
                key_name,
                "--ttl=1h",
                target,
            ],
            None,
        );
    }
    let daemon = start_daemon(&kubo);
    for (published_name, has_pub_key) in [(kubo_name, false), (rsa_name, true)] {
        let bytes = fetch_record(&daemon, &published_name.to_base36());
        let record = Record::from_bytes(bytes).unwrap();
        assert_eq!(record.validate(&published_name, SystemTime::now()), Ok(()));
        assert_eq!(record.value().unwrap(), target);
        assert_eq!(record.ttl(), Duration::from_secs(3600));
        assert!(record.has_v1_fields());
        assert_eq!(!record.public_key_bytes().is_empty(), has_pub_key);
    }
}
