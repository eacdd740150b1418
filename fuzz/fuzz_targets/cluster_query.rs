//! Cluster API query parameters (pin options, add parameters, filters, Go durations) on
//! arbitrary query strings: never panic.
#![no_main]

use cairn::cluster::params::{self, Query};
use cairn::cluster::types::Timestamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let query = Query::parse(text);
    let now = Timestamp::from_unix(1_700_000_000, 0);
    let _ = params::pin_options_from_query(&query, now);
    let _ = params::add_params_from_query(&query, now);
    let _ = params::allocations_filter(&query);
    let _ = params::status_filter(&query);
    let _ = params::status_cids(&query);
    let _ = params::parse_duration(text);
    let _ = params::parse_bool(text);
});
