//! `entity-bytes=from:to` parsing and clamping on arbitrary values and entity sizes: never
//! panics, and a selected range always lies inside the entity.
#![no_main]

use cairn::services::car_export::parse_entity_bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if input.len() < 8 {
        return;
    }
    let (len, text) = input.split_at(8);
    let len = u64::from_le_bytes(len.try_into().unwrap_or([0; 8])) >> (len[0] % 64);
    let Ok(range) = parse_entity_bytes(&String::from_utf8_lossy(text)) else {
        return;
    };
    if let Some((first, last)) = range.resolve(len) {
        assert!(first <= last && last < len, "{range:?} over {len}: {first}..={last}");
    }
});
