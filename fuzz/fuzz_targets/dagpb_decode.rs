//! Strict dag-pb decoding on arbitrary blocks: never panics; whatever decodes re-encodes to a
//! block that decodes to the same node (and the lazy decoder agrees with the eager one).
#![no_main]

use bytes::Bytes;
use cairn::ipld::dagpb;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let block = Bytes::copy_from_slice(data);
    let eager = dagpb::decode(&block);
    if let Ok(lazy) = dagpb::decode_lazily(&block) {
        let links: Result<Vec<_>, _> = lazy.links.collect();
        if let (Ok(node), Ok(links)) = (&eager, links) {
            assert_eq!(node.links, links);
            assert_eq!(node.data, lazy.data);
        }
    }
    if let Ok(node) = eager {
        let again = dagpb::decode(&Bytes::from(node.to_bytes())).expect("re-encoded node decodes");
        assert_eq!(again, node);
    }
});
