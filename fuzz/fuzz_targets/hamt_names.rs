//! HAMT helpers on arbitrary names and fanouts: link-name classification, hash-bit
//! extraction and slot prefixes never panic, and a name's slot prefix classifies back to the
//! same slot.
#![no_main]

use cairn::ipld::hamt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&f, rest)) = input.split_first() else {
        return;
    };
    let fanout = 1u64 << (f % 12);
    let Ok(width) = hamt::prefix_len(fanout) else {
        return;
    };
    if let Ok(text) = std::str::from_utf8(rest) {
        let _ = hamt::classify_link(text, width);
    }
    if let Ok(mut bits) = hamt::HashBits::new(rest, fanout) {
        for _ in 0..16 {
            let Ok(slot) = bits.next_slot() else { break };
            assert!(u64::from(slot) < fanout);
            let mut buf = [0u8; 4];
            let prefix = hamt::slot_prefix(slot, width, &mut buf).expect("valid slot");
            let (back, kind) = hamt::classify_link(prefix, width).expect("own prefix");
            assert_eq!(back, slot);
            assert!(matches!(kind, hamt::HamtLink::Shard));
        }
    }
});
