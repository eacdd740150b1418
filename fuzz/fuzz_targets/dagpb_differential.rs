//! cairn's strict dag-pb decoder against a second implementation (the ipld-dagpb crate):
//! whatever cairn accepts, ipld-dagpb must accept with the same links and data (cairn is
//! stricter — it refuses duplicate fields and trailing CID bytes the spec forbids — so the
//! converse need not hold).
#![no_main]

use bytes::Bytes;
use cairn::ipld::dagpb;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ours = dagpb::decode(&Bytes::copy_from_slice(data));
    let theirs = ipld_dagpb::PbNode::from_bytes(Bytes::copy_from_slice(data));
    if let Ok(node) = ours {
        let other = theirs.expect("ipld-dagpb refuses a block cairn accepts");
        assert_eq!(node.data.as_deref(), other.data.as_deref());
        assert_eq!(node.links.len(), other.links.len());
        for (a, b) in node.links.iter().zip(&other.links) {
            assert_eq!(a.cid.to_bytes(), b.cid.to_bytes());
            assert_eq!(
                a.name().map(|n| &n[..]),
                b.name.as_deref().map(str::as_bytes)
            );
            assert_eq!(a.tsize, b.size);
        }
    }
});
