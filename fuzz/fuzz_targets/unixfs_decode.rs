//! UnixFS `Data` decoding on arbitrary bytes: never panics; the size helpers never overflow.
#![no_main]

use bytes::Bytes;
use cairn::ipld::unixfs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = unixfs::decode(&Bytes::copy_from_slice(data)) {
        let _ = decoded.file_size();
        let _ = decoded.child_ranges().count();
        let _ = decoded.valid_mtime();
        let _ = unixfs::decode(&Bytes::from(decoded.encode()));
    }
});
