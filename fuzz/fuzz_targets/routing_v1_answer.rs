//! Delegated Routing V1 answers (JSON and NDJSON) on arbitrary bytes: never panics, never
//! keeps more records than asked, and every record kept names a peer ID that parses.
#![no_main]

use cairn::network::routing_v1::parse_answer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for ndjson in [false, true] {
        if let Ok(records) = parse_answer(data, ndjson, "Providers", 8) {
            assert!(records.len() <= 8);
            for record in records {
                assert!(record.peer_id.parse::<cairn::network::PeerId>().is_ok(), "{record:?}");
                assert!(record.addrs.iter().all(|a| a.starts_with('/')));
            }
        }
    }
});
