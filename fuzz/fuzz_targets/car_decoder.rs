//! The CAR decoder on arbitrary bytes in arbitrary chunkings: never panics, and every chunking
//! yields the same events (or the same failure) as one whole push.
#![no_main]

use bytes::Bytes;
use cairn::ipld::car::{CarDecoder, CarEvent, CarLimits};
use libfuzzer_sys::fuzz_target;

fn decode(chunks: impl Iterator<Item = Bytes>) -> (Vec<CarEvent>, bool) {
    let mut decoder = CarDecoder::new(CarLimits::default());
    let mut events = Vec::new();
    for chunk in chunks {
        decoder.push(chunk);
        loop {
            match decoder.next() {
                Ok(Some(event)) => events.push(event),
                Ok(None) => break,
                Err(_) => return (events, false),
            }
        }
    }
    decoder.finish();
    loop {
        match decoder.next() {
            Ok(Some(event)) => events.push(event),
            Ok(None) => return (events, true),
            Err(_) => return (events, false),
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&split, data)) = input.split_first() else {
        return;
    };
    let whole = decode(std::iter::once(Bytes::copy_from_slice(data)));
    let step = usize::from(split % 17) + 1;
    let pieces = data.chunks(step).map(Bytes::copy_from_slice);
    let chunked = decode(pieces);
    assert_eq!(whole, chunked, "chunking changed the result");
});
