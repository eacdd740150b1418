//! Response format negotiation on arbitrary `?format=` queries and `Accept` headers: never
//! panics, `?format=` always wins when it names a format, and `Content-Location` (when
//! written) is the request path with a query that names the chosen format.
#![no_main]

use cairn::gateway::format::{content_location, negotiate, Format};
use http::header::{HeaderMap, HeaderValue, ACCEPT};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&split, rest)) = input.split_first() else {
        return;
    };
    let split = usize::from(split).min(rest.len());
    let (query, accept) = rest.split_at(split);
    let query = String::from_utf8_lossy(query);
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(accept) {
        headers.insert(ACCEPT, value);
    }
    let Ok(negotiated) = negotiate(Some(&query), &headers) else {
        return;
    };
    if negotiated.from_query {
        assert_ne!(negotiated.format, Format::Default);
    }
    if let Some(location) = content_location("/ipfs/bafy/x", Some(&query), &negotiated) {
        assert!(location.starts_with("/ipfs/bafy/x?"), "{location}");
        assert!(
            location.contains(&format!("format={}", negotiated.format.param())),
            "{location}"
        );
        assert!(HeaderValue::from_str(&location).is_ok(), "{location}");
    }
});
