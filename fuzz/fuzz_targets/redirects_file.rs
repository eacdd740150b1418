//! `_redirects` parsing and matching on arbitrary files and paths: never panics, every rule
//! has a supported status, and every `Location` a match yields can be sent as a header.
#![no_main]

use cairn::services::redirects::{Redirects, SUPPORTED_STATUSES};
use http::HeaderValue;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    // The file, then (after the last NUL) request paths separated by newlines.
    let (file, paths) = match input.iter().rposition(|&b| b == 0) {
        Some(at) => (&input[..at], &input[at + 1..]),
        None => (input, &b"/a/b\n/"[..]),
    };
    let Ok(rules) = Redirects::parse(file) else {
        return;
    };
    for rule in rules.rules() {
        assert!(SUPPORTED_STATUSES.contains(&rule.status()));
    }
    for path in String::from_utf8_lossy(paths).split('\n') {
        let path = format!("/{}", path.trim_start_matches('/'));
        if let Some(redirect) = rules.find(&path) {
            assert!(SUPPORTED_STATUSES.contains(&redirect.status));
            let location = redirect.location(Some("q=1&r=%20"));
            assert!(HeaderValue::from_str(&location).is_ok(), "{location:?}");
            let _ = redirect.target_path();
        }
    }
});
