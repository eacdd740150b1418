//! IPNS record parsing and validation on arbitrary bytes: never panics; a record that
//! validates re-serialises to the same bytes.
#![no_main]

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use cairn::ipld::ipns::{IpnsName, Record};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let name = IpnsName::parse("k51qzi5uqu5dit2ku9mutlfgwyz8u730on38kd10m97m36bjt66my99hb6103f")
        .expect("fixture name");
    if let Ok(record) = Record::from_bytes(Bytes::copy_from_slice(data)) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let _ = record.validate(&name, now);
        let _ = record.value();
        let _ = record.validity();
        let _ = record.ttl();
        assert_eq!(&record.to_bytes()[..], data);
    }
});
