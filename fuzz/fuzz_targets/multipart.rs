//! The streaming multipart parser on arbitrary bodies in arbitrary chunkings: never panics,
//! and yields exactly the parts (or the error) of the whole-buffer reference parse.
#![no_main]

use bytes::Bytes;
use cairn::http::multipart::{parse_all_with, Event, Limits, MultipartParser};
use libfuzzer_sys::fuzz_target;

const BOUNDARY: &str = "XyZ-b0undary";

fn limits() -> Limits {
    Limits {
        max_parts: 64,
        ..Limits::default()
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&seed, body)) = input.split_first() else {
        return;
    };
    let reference = parse_all_with(body, BOUNDARY, &limits());
    let mut parser = match MultipartParser::new(BOUNDARY, limits()) {
        Ok(parser) => parser,
        Err(_) => return,
    };
    let mut parts = Vec::new();
    let mut failure = None;
    let mut step = usize::from(seed % 13) + 1;
    let mut rest = body;
    let drain = |parser: &mut MultipartParser, parts: &mut Vec<(_, Vec<u8>)>| loop {
        match parser.next() {
            Ok(Some(Event::PartStart(headers))) => parts.push((*headers, Vec::new())),
            Ok(Some(Event::Data(data))) => {
                if let Some(last) = parts.last_mut() {
                    last.1.extend_from_slice(&data);
                }
            }
            Ok(Some(Event::PartEnd)) => {}
            Ok(None) => return None,
            Err(e) => return Some(e),
        }
    };
    while !rest.is_empty() && failure.is_none() {
        let n = step.min(rest.len());
        parser.push(Bytes::copy_from_slice(&rest[..n]));
        rest = &rest[n..];
        step = step * 7 % 31 + 1;
        failure = drain(&mut parser, &mut parts);
    }
    if failure.is_none() {
        parser.finish();
        failure = drain(&mut parser, &mut parts);
    }
    match (reference, failure) {
        (Ok(expected), None) => assert_eq!(expected, parts),
        (Err(expected), Some(got)) => assert_eq!(expected, got),
        (reference, failure) => panic!("streaming {failure:?} vs reference {reference:?}"),
    }
});
