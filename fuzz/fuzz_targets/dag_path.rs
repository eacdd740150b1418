//! Walking paths through dag-cbor and dag-json blocks, and rendering dag-cbor as text, on
//! arbitrary bytes: never panics, and a rendering stays near its size limit.
#![no_main]

use bytes::Bytes;
use cairn::ipld::cbor_text;
use cairn::ipld::dagpath::Cursor;
use libfuzzer_sys::fuzz_target;

const DAG_CBOR: u64 = 0x71;
const DAG_JSON: u64 = 0x0129;

fuzz_target!(|input: &[u8]| {
    let Some((&selector, rest)) = input.split_first() else {
        return;
    };
    let codec = if selector & 1 == 0 { DAG_CBOR } else { DAG_JSON };
    // Path segments (separated by '/'), a 0xff byte, then the block.
    let (path, block) = match rest.iter().position(|&b| b == 0xff) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (&b"a/0/b"[..], rest),
    };
    let block = Bytes::copy_from_slice(block);
    if let Ok(mut cursor) = Cursor::root(codec, block.clone()) {
        for segment in String::from_utf8_lossy(path).split('/') {
            let _ = cursor.link();
            match cursor.step(segment) {
                Ok(Some(next)) => cursor = next,
                _ => break,
            }
        }
    }
    let limit = usize::from(selector) * 16;
    if let Ok(text) = cbor_text::render(&block, limit) {
        // Strings are cut at the limit and containers checked before each item, but the
        // closing lines of a nest opened below the limit still follow it: at most about as
        // long again, plus a line of indentation (64 levels) and a cut escape sequence.
        assert!(text.len() <= 2 * limit + 512, "{} over a limit of {limit}", text.len());
    }
});
