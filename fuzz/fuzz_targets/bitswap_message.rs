//! Bitswap message decoding on arbitrary bytes: never panics; every block a message holds
//! hashes to its CID (payload blocks by construction, 1.0.0 blocks once matched against the
//! wantlist's CIDs); whatever decodes re-encodes to a message that decodes the same.
#![no_main]

use bytes::Bytes;
use cairn::network::bitswap::{verify_legacy_blocks, Limits, Message, Protocol};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(message) = Message::decode(Bytes::copy_from_slice(data), &limits) else {
        return;
    };
    for block in &message.blocks {
        cairn::store::verify(block.cid(), block.data()).expect("payload blocks are verified");
    }
    let wanted: Vec<_> = message
        .wantlist
        .iter()
        .flat_map(|wantlist| wantlist.entries.iter().map(|entry| entry.cid))
        .collect();
    for block in verify_legacy_blocks(&message.legacy_blocks, &wanted) {
        cairn::store::verify(block.cid(), block.data()).expect("matched blocks are verified");
    }
    for protocol in Protocol::ALL {
        let encoded = message.encode(protocol);
        assert_eq!(encoded.len(), message.encoded_len(protocol));
        let again =
            Message::decode(Bytes::from(encoded), &limits).expect("re-encoded message decodes");
        if protocol == Protocol::V120 {
            assert_eq!(again, message);
        } else {
            assert_eq!(again.wantlist, message.wantlist);
        }
    }
});
