use super::*;
use multihash_codetable::{Code, MultihashDigest};

const HELLO: &[u8] = b"hello world";
/// bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e: raw, sha2-256 of HELLO.
const HELLO_CID: &str = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";

fn hello_cid() -> Cid {
    HELLO_CID.parse().unwrap()
}

fn hex(text: &str) -> Vec<u8> {
    let text: String = text.split_whitespace().collect();
    ::hex::decode(text).unwrap()
}

fn decode(bytes: &[u8]) -> Result<Message, Error> {
    Message::decode(Bytes::copy_from_slice(bytes), &Limits::default())
}

fn decode_err(bytes: &[u8]) -> Error {
    decode(bytes).unwrap_err()
}

fn raw_cid(data: &[u8]) -> Cid {
    Cid::new_v1(codec::RAW, Code::Sha2_256.digest(data))
}

fn block(cid: Cid, data: &'static [u8]) -> Block {
    Block::new(cid, Bytes::from_static(data)).unwrap()
}

/// The CID of HELLO_CID in binary, as hex.
const HELLO_CID_HEX: &str =
    "01551220 b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";

#[test]
fn spec_vectors_decode_and_encode_byte_for_byte() {
    // A wantlist with one want-have, priority 1, sendDontHave: Message{wantlist(1){entries(1){
    // block(1), priority(2), wantType(4), sendDontHave(5)}}}.
    let want_have = hex(&format!("0a2e 0a2c 0a24 {HELLO_CID_HEX} 1001 2001 2801"));
    let message = decode(&want_have).unwrap();
    assert_eq!(
        message,
        Message {
            wantlist: Some(Wantlist {
                entries: vec![Entry::want_have(hello_cid(), 1, true)],
                full: false,
            }),
            ..Message::default()
        }
    );
    assert_eq!(message.encode(Protocol::V120), want_have);

    // A full wantlist holding one cancel.
    let cancel = hex(&format!("0a2c 0a28 0a24 {HELLO_CID_HEX} 1801 1001"));
    let message = decode(&cancel).unwrap();
    let wantlist = message.wantlist.as_ref().unwrap();
    assert!(wantlist.full);
    assert_eq!(wantlist.entries, [Entry::cancel(hello_cid())]);
    assert_eq!(message.encode(Protocol::V120), cancel);

    // A 1.1.0 payload block: prefix (v1, raw, sha2-256, 32) and data.
    let payload = hex("1a13 0a04 01551220 120b 68656c6c6f20776f726c64");
    let message = decode(&payload).unwrap();
    assert_eq!(message.blocks, [block(hello_cid(), HELLO)]);
    assert_eq!(message.encode(Protocol::V120), payload);
    assert_eq!(message.encode(Protocol::V110), payload);

    // A DONT_HAVE and pendingBytes 300.
    let presence = hex(&format!("2228 0a24 {HELLO_CID_HEX} 1001 28ac02"));
    let message = decode(&presence).unwrap();
    assert_eq!(
        message.presences,
        [BlockPresence {
            cid: hello_cid(),
            kind: PresenceType::DontHave
        }]
    );
    assert_eq!(message.pending_bytes, 300);
    assert_eq!(message.encode(Protocol::V120), presence);
    // Neither exists before 1.2.0.
    assert!(message.encode(Protocol::V110).is_empty());

    // A 1.0.0 block: bare bytes in field 2.
    let legacy = hex("120b 68656c6c6f20776f726c64");
    let message = decode(&legacy).unwrap();
    assert_eq!(message.legacy_blocks, [Bytes::from_static(HELLO)]);
    assert!(message.blocks.is_empty());
    assert_eq!(message.encode(Protocol::V100), legacy);
}

#[test]
fn encoding_for_1_0_0_sends_blocks_bare() {
    let message = Message {
        blocks: vec![block(hello_cid(), HELLO)],
        presences: vec![BlockPresence {
            cid: hello_cid(),
            kind: PresenceType::Have,
        }],
        pending_bytes: 5,
        ..Message::default()
    };
    let bytes = message.encode(Protocol::V100);
    assert_eq!(bytes, hex("120b 68656c6c6f20776f726c64"));
    assert_eq!(bytes.len(), message.encoded_len(Protocol::V100));
    let back = decode(&bytes).unwrap();
    assert_eq!(back.legacy_blocks, [Bytes::from_static(HELLO)]);
    assert_eq!(
        verify_legacy_blocks(&back.legacy_blocks, [&hello_cid()]),
        message.blocks
    );
}

#[test]
fn payload_cids_are_rebuilt_from_the_data() {
    let encoded = |prefix: &str, data: &[u8]| {
        let mut body = hex(&format!("0a{:02x}{prefix}", prefix.len() / 2));
        put_bytes_field(&mut body, len_tag(BLOCK_DATA), data);
        let mut out = Vec::new();
        put_bytes_field(&mut out, len_tag(MESSAGE_PAYLOAD), &body);
        out
    };
    let cid_of = |prefix: &str, data: &[u8]| {
        let message = decode(&encoded(prefix, data)).unwrap();
        assert_eq!(message.blocks.len(), 1);
        let block = message.blocks[0].clone();
        assert_eq!(block.data(), data);
        crate::store::verify(block.cid(), data).unwrap();
        *block.cid()
    };
    // CIDv0: dag-pb, sha2-256, 32 bytes.
    assert_eq!(
        cid_of("00701220", b"node"),
        Cid::new_v0(Code::Sha2_256.digest(b"node")).unwrap()
    );
    // Other hash functions and codecs.
    assert_eq!(
        cid_of("01711e20", b"x"),
        Cid::new_v1(codec::DAG_CBOR, Code::Blake3_256.digest(b"x"))
    );
    assert_eq!(
        cid_of("0155c0e40240", b"x"),
        Cid::new_v1(codec::RAW, Code::Blake2b512.digest(b"x"))
    );
    // A truncated digest.
    let truncated = cid_of("01551214", b"x");
    assert_eq!(truncated.hash().size(), 20);
    assert_eq!(
        truncated.hash().digest(),
        &Code::Sha2_256.digest(b"x").digest()[..20]
    );
    // Identity: the data is the digest.
    let identity = cid_of("01550003", b"abc");
    assert_eq!(identity.hash().digest(), b"abc");
    // Empty data (the field left out) is an empty block.
    let empty = decode(&hex("1a06 0a04 01551220")).unwrap();
    assert_eq!(empty.blocks, [block(raw_cid(b""), b"")]);
    assert_eq!(empty.encode(Protocol::V120), hex("1a06 0a04 01551220"));
    // Changed data gives another CID, so it cannot pass for the wanted block.
    assert_ne!(cid_of("01551220", b"hello worle"), hello_cid());
}

#[test]
fn bad_prefixes_are_errors() {
    let with_prefix = |prefix: &[u8], data: &[u8]| {
        let mut body = Vec::new();
        put_bytes_field(&mut body, len_tag(BLOCK_PREFIX), prefix);
        put_bytes_field(&mut body, len_tag(BLOCK_DATA), data);
        let mut out = Vec::new();
        put_bytes_field(&mut out, len_tag(MESSAGE_PAYLOAD), &body);
        decode_err(&out)
    };
    let malformed = |prefix: &[u8], data: &[u8], wording: &str| {
        let e = with_prefix(prefix, data);
        assert!(
            matches!(&e, Error::Malformed { what, .. } if what.contains(wording)),
            "{prefix:02x?}: {e}"
        );
    };
    malformed(&[0x01, 0x55, 0x12], b"x", "truncated or overlong");
    malformed(&[0x01, 0x55, 0x12, 0x20, 0x00], b"x", "trailing bytes");
    malformed(
        &[0x01, 0x55, 0x12, 0x00],
        b"x",
        "digest length out of range",
    );
    malformed(
        &[0x01, 0x55, 0x12, 0x41],
        b"x",
        "digest length out of range",
    );
    malformed(
        &[0x01, 0x55, 0x12, 0x21],
        b"x",
        "longer than the hash function's",
    );
    malformed(&[0x01, 0x55, 0x00, 0x02], b"x", "identity digest length");
    malformed(&[0x00, 0x55, 0x12, 0x20], b"x", "CIDv0 must be dag-pb");
    malformed(&[0x00, 0x70, 0x12, 0x14], b"x", "CIDv0 must be sha2-256");
    malformed(&[0x02, 0x55, 0x12, 0x20], b"x", "unknown CID version");
    // md5 (0xd5) is a multihash cairn does not compute.
    let e = with_prefix(&[0x01, 0x55, 0xd5, 0x01, 0x10], b"x");
    assert!(
        matches!(e, Error::UnsupportedHash { code: 0xd5, .. }),
        "{e}"
    );
    let e = with_prefix(&[0x01, 0x55, 0x81, 0x20, 0x20], b"x");
    assert!(
        matches!(e, Error::UnsupportedHash { code: 0x1001, .. }),
        "{e}"
    );
    // No prefix at all.
    let e = decode_err(&hex("1a03 1201 78"));
    assert!(matches!(&e, Error::Malformed { what, .. } if what.contains("without a CID prefix")));
}

#[test]
fn malformed_messages_are_typed_errors() {
    let cases: &[(&str, &str)] = &[
        // Entry without a CID.
        ("0a04 0a02 1001", "without a CID"),
        // Unknown wantType.
        (
            &format!("0a2a 0a28 0a24 {HELLO_CID_HEX} 2002"),
            "unknown wantType 2",
        ),
        // Unknown presence type.
        (
            &format!("2228 0a24 {HELLO_CID_HEX} 1002"),
            "unknown block presence type 2",
        ),
        // Presence without a CID.
        ("2202 1001", "block presence without a CID"),
        // Bytes that are not a CID.
        ("0a06 0a04 0a02 0102", "invalid CID"),
        ("2204 0a02 1220", "invalid CID"),
        // Known fields of the wrong wire type.
        ("0801", "wantlist has the wrong wire type"),
        ("2a01 00", "pendingBytes has the wrong wire type"),
        ("0a02 1200", "wantlist.full has the wrong wire type"),
        ("1001", "blocks has the wrong wire type"),
        // Framing faults.
        ("0a05 0a", "runs past the end"),
        ("28", "truncated varint"),
        ("0b", "unsupported wire type 3"),
        ("00", "invalid field number 0"),
        // A field inside the wantlist running past the wantlist's end.
        ("0a02 0a05 0a0a0a0a0a", "runs past the end"),
    ];
    for (bytes, wording) in cases {
        let e = decode_err(&hex(bytes));
        assert!(
            matches!(&e, Error::Malformed { what, .. } if what.contains(wording)),
            "{bytes}: {e}"
        );
    }
    // Offsets name the byte in the message.
    let e = decode_err(&hex(&format!("0a2a 0a28 0a24 {HELLO_CID_HEX} 2002")));
    assert!(matches!(e, Error::Malformed { at: 42, .. }), "{e}");
}

#[test]
fn unknown_fields_are_skipped_everywhere() {
    // Unknown fields of every wire type: varint 15, fixed64 14, bytes 13, fixed32 12.
    let unknown = "7801 7100000000000000 00 6a02abcd 6501020304";
    let unknown_len = hex(unknown).len();
    let entry_body = format!("0a24 {HELLO_CID_HEX} {unknown} 1007");
    let entry_len = hex(&entry_body).len();
    let wantlist_body = format!("0a{entry_len:02x} {entry_body} {unknown}");
    let wantlist_len = hex(&wantlist_body).len();
    let presence_body = format!("{unknown} 0a24 {HELLO_CID_HEX}");
    let block_body = format!("0a04 01551220 {unknown} 120b 68656c6c6f20776f726c64");
    let message = format!(
        "{unknown} 0a{wantlist_len:02x} {wantlist_body} 22{:02x} {presence_body} \
         1a{:02x} {block_body} {unknown}",
        hex(&presence_body).len(),
        hex(&block_body).len()
    );
    assert_eq!(unknown_len, 20);
    let message = decode(&hex(&message)).unwrap();
    assert_eq!(
        message,
        Message {
            wantlist: Some(Wantlist {
                entries: vec![Entry::want_block(hello_cid(), 7, false)],
                full: false,
            }),
            blocks: vec![block(hello_cid(), HELLO)],
            presences: vec![BlockPresence {
                cid: hello_cid(),
                kind: PresenceType::Have
            }],
            ..Message::default()
        }
    );
}

#[test]
fn repeated_wantlists_merge_and_scalars_take_the_last_value() {
    let one = Message {
        wantlist: Some(Wantlist {
            entries: vec![Entry::want_block(raw_cid(b"1"), 1, false)],
            full: true,
        }),
        pending_bytes: 1,
        ..Message::default()
    };
    let two = Message {
        wantlist: Some(Wantlist {
            entries: vec![Entry::want_have(raw_cid(b"2"), 2, true)],
            full: false,
        }),
        pending_bytes: 2,
        ..Message::default()
    };
    let mut bytes = one.encode(Protocol::V120);
    bytes.extend(two.encode(Protocol::V120));
    let merged = decode(&bytes).unwrap();
    let wantlist = merged.wantlist.unwrap();
    assert_eq!(wantlist.entries.len(), 2);
    // `full: false` is not written, so the first wantlist's `full` stands.
    assert!(wantlist.full);
    assert_eq!(merged.pending_bytes, 2);
}

#[test]
fn negative_int32s_round_trip() {
    let message = Message {
        wantlist: Some(Wantlist {
            entries: vec![
                Entry::want_block(raw_cid(b"a"), -1, false),
                Entry::want_block(raw_cid(b"b"), i32::MIN, false),
                Entry::want_block(raw_cid(b"c"), i32::MAX, false),
            ],
            full: false,
        }),
        pending_bytes: -5,
        ..Message::default()
    };
    let bytes = message.encode(Protocol::V120);
    assert_eq!(bytes.len(), message.encoded_len(Protocol::V120));
    assert_eq!(decode(&bytes).unwrap(), message);
    // Negative int32s are written sign-extended to ten bytes, as protobuf requires.
    let mut one = Vec::new();
    put_varint_field(&mut one, varint_tag(MESSAGE_PENDING_BYTES), int32_wire(-1));
    assert_eq!(one, hex("28 ffffffffffffffffff01"));
    // A value written as 32 bits only (some encoders do) reads the same.
    assert_eq!(decode(&hex("28 ffffffff0f")).unwrap().pending_bytes, -1);
}

#[test]
fn limits_bound_items_cid_length_and_size() {
    let limits = Limits {
        max_items: 3,
        ..Limits::default()
    };
    let entries = |n: u32| Message {
        wantlist: Some(Wantlist {
            entries: (0..n)
                .map(|i| Entry::want_block(raw_cid(&i.to_be_bytes()), 1, false))
                .collect(),
            full: false,
        }),
        ..Message::default()
    };
    let decode_with =
        |message: &Message| Message::decode(Bytes::from(message.encode(Protocol::V120)), &limits);
    assert!(decode_with(&entries(3)).is_ok());
    assert!(matches!(
        decode_with(&entries(4)),
        Err(Error::TooManyItems { max: 3 })
    ));
    // Blocks and presences count with entries.
    let mut mixed = entries(2);
    mixed.legacy_blocks.push(Bytes::from_static(b"x"));
    assert!(decode_with(&mixed).is_ok());
    mixed.presences.push(BlockPresence {
        cid: hello_cid(),
        kind: PresenceType::Have,
    });
    assert!(matches!(
        decode_with(&mixed),
        Err(Error::TooManyItems { max: 3 })
    ));
    let mut blocks = Message::default();
    for _ in 0..4 {
        blocks.blocks.push(block(hello_cid(), HELLO));
    }
    assert!(matches!(
        decode_with(&blocks),
        Err(Error::TooManyItems { max: 3 })
    ));

    // A CID longer than the limit is refused before it is parsed.
    let long = vec![0x01; MAX_CID_LEN + 1];
    let mut entry = Vec::new();
    put_bytes_field(&mut entry, len_tag(ENTRY_BLOCK), &long);
    let mut wantlist = Vec::new();
    put_bytes_field(&mut wantlist, len_tag(WANTLIST_ENTRIES), &entry);
    let mut message = Vec::new();
    put_bytes_field(&mut message, len_tag(MESSAGE_WANTLIST), &wantlist);
    assert!(matches!(
        decode_err(&message),
        Error::CidTooLong { len, max: MAX_CID_LEN, .. } if len == MAX_CID_LEN + 1
    ));

    // The body size limit.
    let small = Limits {
        max_message_size: 10,
        ..Limits::default()
    };
    assert!(matches!(
        Message::decode(Bytes::from(vec![0u8; 11]), &small),
        Err(Error::MessageTooLarge { len: 11, max: 10 })
    ));
}

#[test]
fn legacy_blocks_are_kept_only_for_wanted_cids() {
    let data = Bytes::from_static(b"legacy");
    let other = Bytes::from_static(b"unwanted");
    let v0 = Cid::new_v0(Code::Sha2_256.digest(&data)).unwrap();
    let v1 = Cid::new_v1(codec::DAG_PB, *v0.hash());
    let raw = raw_cid(&data);
    let blake = Cid::new_v1(codec::RAW, Code::Blake3_256.digest(&data));
    let truncated = Cid::new_v1(codec::RAW, Code::Sha2_256.digest(&data).truncate(16));
    let unsupported = Cid::new_v1(codec::RAW, Multihash::wrap(0x1001, &[0; 32]).unwrap());
    let not_this = raw_cid(b"something else");
    let wanted = [v0, v1, raw, raw, blake, truncated, unsupported, not_this];
    let got = verify_legacy_blocks(&[data.clone(), other], &wanted);
    let mut cids: Vec<Cid> = got.iter().map(|b| *b.cid()).collect();
    cids.sort();
    let mut expected = vec![v0, v1, raw, blake, truncated];
    expected.sort();
    assert_eq!(cids, expected);
    for block in &got {
        assert_eq!(block.data(), &data);
        crate::store::verify(block.cid(), block.data()).unwrap();
    }
    assert!(verify_legacy_blocks(&[data], &[not_this]).is_empty());
    // Identity wants match only the exact bytes.
    let identity = Cid::new_v1(codec::RAW, Multihash::wrap(0, b"id").unwrap());
    assert_eq!(
        verify_legacy_blocks(
            &[Bytes::from_static(b"id"), Bytes::from_static(b"idx")],
            &[identity]
        )
        .len(),
        1
    );
}

#[test]
fn blocks_are_checked_when_made_by_hand() {
    assert!(Block::new(hello_cid(), Bytes::from_static(HELLO)).is_ok());
    assert!(Block::new(hello_cid(), Bytes::from_static(b"hello")).is_err());
    let (cid, data) = block(hello_cid(), HELLO).into_parts();
    assert_eq!((cid, &data[..]), (hello_cid(), HELLO));
}

// ---------------------------------------------------------------------------------------------
// Property tests: random messages round-trip; mangled ones never panic.
// ---------------------------------------------------------------------------------------------

/// xorshift64*: deterministic, so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bool(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn bytes(&mut self, max: u64) -> Vec<u8> {
        let len = self.below(max + 1) as usize;
        (0..len).map(|_| self.next() as u8).collect()
    }

    fn int32(&mut self) -> i32 {
        match self.below(4) {
            0 => 0,
            1 => self.below(10) as i32,
            2 => -(self.below(10) as i32),
            _ => self.next() as i32,
        }
    }

    /// A block with a random CID shape: v0, or v1 with a random codec, one of the supported
    /// hash functions, maybe truncated, or identity.
    fn block(&mut self) -> Block {
        let data = self.bytes(300);
        let codes = [
            Code::Sha2_256,
            Code::Sha2_512,
            Code::Sha3_256,
            Code::Blake2b256,
            Code::Blake2s256,
            Code::Blake3_256,
        ];
        let cid = match self.below(4) {
            0 => Cid::new_v0(Code::Sha2_256.digest(&data)).unwrap(),
            1 if data.len() <= 64 && !data.is_empty() => {
                Cid::new_v1(codec::RAW, Multihash::wrap(0, &data).unwrap())
            }
            _ => {
                let code = codes[self.below(codes.len() as u64) as usize];
                let mut mh = code.digest(&data);
                if self.bool() {
                    mh = mh.truncate(1 + self.below(u64::from(mh.size())) as u8);
                }
                let codec =
                    [codec::RAW, codec::DAG_PB, codec::DAG_CBOR, 0x30_0000][self.below(4) as usize];
                Cid::new_v1(codec, mh)
            }
        };
        Block::new(cid, Bytes::from(data)).unwrap()
    }

    fn cid(&mut self) -> Cid {
        let seed = self.next().to_be_bytes();
        match self.below(3) {
            0 => Cid::new_v0(Code::Sha2_256.digest(&seed)).unwrap(),
            1 => Cid::new_v1(codec::RAW, Code::Blake3_256.digest(&seed)),
            _ => Cid::new_v1(codec::DAG_CBOR, Code::Sha2_512.digest(&seed)),
        }
    }

    fn message(&mut self) -> Message {
        let wantlist = self.bool().then(|| Wantlist {
            entries: (0..self.below(6))
                .map(|_| Entry {
                    cid: self.cid(),
                    priority: self.int32(),
                    cancel: self.bool(),
                    want_type: if self.bool() {
                        WantType::Have
                    } else {
                        WantType::Block
                    },
                    send_dont_have: self.bool(),
                })
                .collect(),
            full: self.bool(),
        });
        Message {
            wantlist,
            blocks: (0..self.below(4)).map(|_| self.block()).collect(),
            legacy_blocks: (0..self.below(3))
                .map(|_| Bytes::from(self.bytes(100)))
                .collect(),
            presences: (0..self.below(5))
                .map(|_| BlockPresence {
                    cid: self.cid(),
                    kind: if self.bool() {
                        PresenceType::Have
                    } else {
                        PresenceType::DontHave
                    },
                })
                .collect(),
            pending_bytes: self.int32(),
        }
    }
}

#[test]
fn random_messages_round_trip() {
    for seed in 1..=2000u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let message = rng.message();
        let bytes = message.encode(Protocol::V120);
        assert_eq!(
            bytes.len(),
            message.encoded_len(Protocol::V120),
            "seed {seed}"
        );
        let back = decode(&bytes).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(back, message, "seed {seed}");

        // For 1.1.0 presences and pending bytes are left out; for 1.0.0 blocks go bare too.
        let v110 = decode(&message.encode(Protocol::V110)).unwrap();
        assert_eq!(v110.blocks, message.blocks, "seed {seed}");
        assert!(v110.presences.is_empty() && v110.pending_bytes == 0);
        let v100 = decode(&message.encode(Protocol::V100)).unwrap();
        assert!(v100.blocks.is_empty());
        let bare: Vec<Bytes> = message
            .legacy_blocks
            .iter()
            .cloned()
            .chain(message.blocks.iter().map(|b| b.data().clone()))
            .collect();
        assert_eq!(v100.legacy_blocks, bare, "seed {seed}");
        assert_eq!(v100.wantlist, message.wantlist, "seed {seed}");
    }
}

#[test]
fn mangled_messages_never_panic() {
    let mut rng = Rng(42);
    for round in 0..40 {
        let message = rng.message();
        let bytes = message.encode(Protocol::V120);
        let check = |mangled: &[u8]| {
            if let Ok(decoded) = decode(mangled) {
                // Whatever is accepted re-encodes to a message that decodes the same.
                let again = decode(&decoded.encode(Protocol::V120))
                    .unwrap_or_else(|e| panic!("round {round}: {e}"));
                assert_eq!(again, decoded, "round {round}");
            }
        };
        for cut in 0..bytes.len() {
            check(&bytes[..cut]);
        }
        for _ in 0..200 {
            let mut flipped = bytes.clone();
            if flipped.is_empty() {
                break;
            }
            let i = rng.below(flipped.len() as u64) as usize;
            flipped[i] ^= 1 << rng.below(8);
            check(&flipped);
        }
    }
}
