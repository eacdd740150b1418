//! The DHT's record validator (`network::records::admit`, what the node keeps when a peer
//! puts a record) on arbitrary keys and values: never panics; what it admits is under an
//! `/ipns/` key, verifies for the name the key names, and is kept no longer than
//! `MAX_RECORD_AGE`. Input: key length (1 byte), key, value length (2 bytes, big endian),
//! value, then the value of the record kept now (if any bytes are left).
#![no_main]

use std::time::{Duration, SystemTime};

use cairn::network::records::{admit, ipns_name_of_key, verified_ipns_record, MAX_RECORD_AGE};
use libfuzzer_sys::fuzz_target;
use libp2p::kad::{Record, RecordKey};

fn split(data: &[u8], len: usize) -> (&[u8], &[u8]) {
    data.split_at(len.min(data.len()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&key_len, rest)) = data.split_first() else {
        return;
    };
    let (key, rest) = split(rest, key_len.into());
    let (len, rest) = split(rest, 2);
    let value_len = match len {
        [a, b] => usize::from(u16::from_be_bytes([*a, *b])),
        _ => rest.len(),
    };
    let (value, kept) = split(rest, value_len);
    let incoming = Record::new(RecordKey::new(&key), value.to_vec());
    let kept = (!kept.is_empty()).then(|| Record::new(RecordKey::new(&key), kept.to_vec()));
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    if let Ok(keep_for) = admit(&incoming, kept.as_ref(), now) {
        assert!(keep_for <= MAX_RECORD_AGE);
        let name = ipns_name_of_key(key).expect("admitted under an IPNS key");
        verified_ipns_record(&name, value, now).expect("admitted records verify");
    }
});
