//! Range parsing and planning on arbitrary headers and sizes: never panics, and every planned
//! range lies inside the representation.
#![no_main]

use cairn::http::range::{parse_range, RangePlan, RangeRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if input.len() < 8 {
        return;
    }
    let (size, header) = input.split_at(8);
    let size = u64::from_le_bytes(size.try_into().unwrap_or([0; 8])) % (1 << 40);
    if let Ok(RangeRequest::Bytes(set)) = parse_range(header) {
        if let RangePlan::Partial(ranges) = set.plan(size) {
            for r in ranges {
                assert!(r.start <= r.end && r.end < size, "{r:?} outside {size}");
            }
        }
    }
    let _ = cairn::http::conditional::if_none_match(header, "\"bafy\"");
    let _ = cairn::http::conditional::if_range(header, "\"bafy\"", None);
});
