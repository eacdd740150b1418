//! DNSLink TXT values and the static DNSLink maps (`IPFS_NS_MAP`, `--dnslink`) on arbitrary
//! input: never panic, and a chosen value is one of the TXT texts' `dnslink=` values, naming
//! an /ipfs, /ipld or /ipns path.
#![no_main]

use cairn::services::names::{parse_ns_map, parse_static_dnslink, pick_dnslink};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let texts: Vec<Vec<u8>> = data.split(|b| *b == 0).map(<[u8]>::to_vec).collect();
    if let Some(value) = pick_dnslink(texts.clone()) {
        assert!(
            ["/ipfs/", "/ipld/", "/ipns/"]
                .iter()
                .any(|ns| value.starts_with(ns)),
            "{value}"
        );
        assert!(texts
            .iter()
            .any(|t| String::from_utf8_lossy(t).contains(&value)));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_ns_map(text);
        let _ = parse_static_dnslink(text);
    }
});
