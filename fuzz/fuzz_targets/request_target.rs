//! The request target as the gateway reads it: routing, path segment decoding and cleaning,
//! query parameters and CID parsing on arbitrary text. Never panics.
#![no_main]

use cairn::gateway::path;
use cairn::http::router;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (target, query) = text.split_once('?').unwrap_or((text, ""));
    let _ = router::route(&http_method(data), target);
    if let Ok(segments) = path::segments(target) {
        for segment in &segments {
            assert!(!segment.is_empty() && segment != "." && segment != "..");
            assert!(!segment.contains('/'));
        }
        if let Some(first) = segments.first() {
            if let Ok(cid) = cairn::ipld::cid::parse(first) {
                let text = cairn::ipld::cid::v1_text(&cid);
                assert_eq!(
                    cairn::ipld::cid::parse(text.as_str()).ok(),
                    Some(cairn::ipld::cid::to_v1(&cid))
                );
            }
        }
    }
    let _ = path::query_param(Some(query), "filename");
});

fn http_method(data: &[u8]) -> http::Method {
    match data.first().map(|b| b % 4) {
        Some(0) => http::Method::GET,
        Some(1) => http::Method::HEAD,
        Some(2) => http::Method::OPTIONS,
        _ => http::Method::POST,
    }
}
