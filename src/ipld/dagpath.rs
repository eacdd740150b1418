//! Pathing inside dag-cbor and dag-json blocks: a path segment selects a map key (or, on a
//! list, an index), and the value reached is either a link to follow into another block or
//! some other IPLD value. This module owns the codec-level part: finding a key's value in one
//! block and telling whether it is a link (CBOR tag 42, dag-json `{"/": "<cid>"}`); fetching
//! the next block is the services layer's business.
//!
//! dag-cbor is scanned in place, never decoded into a tree: a step skips the entries before
//! the one it wants, with every length checked against the block and nesting capped. dag-json
//! is parsed once per block (serde_json caps nesting at 128 levels) and stepped through by
//! moving sub-values out, so no step copies what it does not keep.

use bytes::Bytes;
use cid::Cid;

use super::cbor::{self, HeadError};
use super::cid::codec;
use super::{Error, Result};

/// Deepest CBOR nesting skipped over; real DAG nodes are far shallower.
const MAX_NESTING: usize = 256;

/// CBOR tag of an IPLD link.
const TAG_LINK: u64 = 42;

/// Whether paths can select values inside blocks of this codec.
pub fn is_pathable(codec: u64) -> bool {
    matches!(codec, codec::DAG_CBOR | codec::DAG_JSON)
}

/// A position on one value inside a dag-cbor or dag-json block.
#[derive(Debug, Clone)]
pub struct Cursor {
    inner: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    /// The value whose head starts at `pos` in `block`.
    Cbor { block: Bytes, pos: usize },
    /// The value itself (moved out of the parsed block).
    Json(serde_json::Value),
}

impl Cursor {
    /// The top-level value of a block of `codec`, which must be [pathable](is_pathable).
    pub fn root(codec: u64, block: Bytes) -> Result<Cursor> {
        let inner = match codec {
            codec::DAG_CBOR => Inner::Cbor { block, pos: 0 },
            codec::DAG_JSON => Inner::Json(
                serde_json::from_slice(&block)
                    .map_err(|e| Error::dag_json(format!("block does not parse: {e}")))?,
            ),
            other => {
                return Err(Error::unsupported(format!(
                    "pathing inside blocks of codec 0x{other:x}"
                )))
            }
        };
        Ok(Cursor { inner })
    }

    /// The value `segment` names below this one: a map's value under that key, or a list's
    /// item at that decimal index. `None` when there is no such key or index, or when this
    /// value is not a map or list (a string, a number, bytes, a link).
    pub fn step(self, segment: &str) -> Result<Option<Cursor>> {
        match self.inner {
            Inner::Cbor { block, pos } => Ok(cbor_step(&block, pos, segment)?.map(|pos| Cursor {
                inner: Inner::Cbor { block, pos },
            })),
            Inner::Json(value) => Ok(json_step(value, segment).map(|value| Cursor {
                inner: Inner::Json(value),
            })),
        }
    }

    /// The CID this value links to, if it is a link.
    pub fn link(&self) -> Result<Option<Cid>> {
        match &self.inner {
            Inner::Cbor { block, pos } => cbor_link(block, *pos),
            Inner::Json(value) => json_link(value),
        }
    }
}

fn cbor_err(what: &str, at: usize) -> Error {
    Error::dag_cbor(format!("{what} at byte {at}"))
}

/// A CBOR item head: major type and argument. Indefinite lengths (not allowed in dag-cbor)
/// and the reserved additional-information values are refused.
fn cbor_head(buf: &[u8], pos: &mut usize) -> Result<(u8, u64)> {
    let at = *pos;
    match cbor::read_head(buf, at) {
        Ok(head) => {
            *pos = at + head.len;
            Ok((head.major, head.arg))
        }
        Err(HeadError::Truncated) => Err(cbor_err("truncated item", at)),
        Err(HeadError::Reserved(_)) => Err(cbor_err("indefinite length or reserved value", at)),
        Err(HeadError::ArgumentTruncated) => Err(cbor_err("truncated item head", at)),
    }
}

/// The range of a byte or text string's content of `len` bytes starting at `pos`.
fn cbor_span(buf: &[u8], pos: usize, len: u64, at: usize) -> Result<std::ops::Range<usize>> {
    usize::try_from(len)
        .ok()
        .and_then(|len| pos.checked_add(len))
        .filter(|&end| end <= buf.len())
        .map(|end| pos..end)
        .ok_or_else(|| cbor_err("string runs past the end of the block", at))
}

/// Moves `pos` past one whole item.
fn cbor_skip(buf: &[u8], pos: &mut usize, depth: usize) -> Result<()> {
    let at = *pos;
    if depth > MAX_NESTING {
        return Err(cbor_err("nesting too deep", at));
    }
    let (major, arg) = cbor_head(buf, pos)?;
    match major {
        2 | 3 => *pos = cbor_span(buf, *pos, arg, at)?.end,
        4 | 5 => {
            let items = if major == 5 {
                arg.saturating_mul(2)
            } else {
                arg
            };
            // Every item takes at least one byte: a count beyond the bytes left is a lie, and
            // refusing it up front bounds the loop by the block size.
            if items > (buf.len() - *pos) as u64 {
                return Err(cbor_err("more items than bytes left", at));
            }
            for _ in 0..items {
                cbor_skip(buf, pos, depth + 1)?;
            }
        }
        6 => cbor_skip(buf, pos, depth + 1)?,
        // Unsigned and negative integers, simple values and floats: the head is all there is.
        _ => {}
    }
    Ok(())
}

/// The position of the value `segment` selects in the map or list at `pos`.
fn cbor_step(buf: &[u8], pos: usize, segment: &str) -> Result<Option<usize>> {
    let at = pos;
    let mut pos = pos;
    let (major, count) = cbor_head(buf, &mut pos)?;
    match major {
        5 => {
            if count.saturating_mul(2) > (buf.len() - pos) as u64 {
                return Err(cbor_err("more map entries than bytes left", at));
            }
            for _ in 0..count {
                let key_at = pos;
                let (key_major, key_len) = cbor_head(buf, &mut pos)?;
                if key_major != 3 {
                    return Err(cbor_err("map key that is not a string", key_at));
                }
                let key = cbor_span(buf, pos, key_len, key_at)?;
                pos = key.end;
                if &buf[key] == segment.as_bytes() {
                    return Ok(Some(pos));
                }
                cbor_skip(buf, &mut pos, 1)?;
            }
            Ok(None)
        }
        4 => {
            let Some(index) = list_index(segment).filter(|&i| i < count) else {
                return Ok(None);
            };
            if count > (buf.len() - pos) as u64 {
                return Err(cbor_err("more list items than bytes left", at));
            }
            for _ in 0..index {
                cbor_skip(buf, &mut pos, 1)?;
            }
            Ok(Some(pos))
        }
        _ => Ok(None),
    }
}

/// The CID of the link at `pos`, if the item there is one (tag 42 over a byte string holding
/// 0x00, the identity multibase, then a binary CID).
fn cbor_link(buf: &[u8], pos: usize) -> Result<Option<Cid>> {
    let at = pos;
    let mut pos = pos;
    let (major, tag) = cbor_head(buf, &mut pos)?;
    if major != 6 || tag != TAG_LINK {
        return Ok(None);
    }
    let bytes_at = pos;
    let (major, len) = cbor_head(buf, &mut pos)?;
    if major != 2 {
        return Err(cbor_err("tag 42 without a byte string", bytes_at));
    }
    let span = cbor_span(buf, pos, len, bytes_at)?;
    match buf[span].split_first() {
        Some((0, cid)) => super::cid::from_bytes(cid)
            .map(Some)
            .map_err(|e| cbor_err(&format!("link holds an invalid CID ({})", e.message()), at)),
        _ => Err(cbor_err("link without the 0x00 prefix", at)),
    }
}

/// A list index as a path writes it: decimal digits only.
fn list_index(segment: &str) -> Option<u64> {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

/// Whether a dag-json map is one of the reserved `{"/": …}` forms (a link, or bytes as
/// `{"/": {"bytes": …}}`) rather than a map of its own.
fn json_is_reserved(map: &serde_json::Map<String, serde_json::Value>) -> bool {
    use serde_json::Value;
    if map.len() != 1 {
        return false;
    }
    match map.get("/") {
        Some(Value::String(_)) => true,
        Some(Value::Object(inner)) => inner.len() == 1 && inner.contains_key("bytes"),
        _ => false,
    }
}

fn json_step(value: serde_json::Value, segment: &str) -> Option<serde_json::Value> {
    use serde_json::Value;
    match value {
        Value::Object(mut map) if !json_is_reserved(&map) => map.remove(segment),
        Value::Array(mut items) => {
            let index = usize::try_from(list_index(segment)?).ok()?;
            (index < items.len()).then(|| items.swap_remove(index))
        }
        _ => None,
    }
}

fn json_link(value: &serde_json::Value) -> Result<Option<Cid>> {
    use serde_json::Value;
    let Value::Object(map) = value else {
        return Ok(None);
    };
    match map.get("/") {
        Some(Value::String(text)) if map.len() == 1 => super::cid::parse(text)
            .map(Some)
            .map_err(|e| Error::dag_json(format!("link holds an invalid CID: {}", e.message()))),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipld::ErrorKind;

    const TARGET: &str = "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am";

    fn link_bytes(cid: &Cid) -> Vec<u8> {
        let raw = cid.to_bytes();
        let mut out = vec![0xd8, 42, 0x58, (raw.len() + 1) as u8, 0x00];
        out.extend_from_slice(&raw);
        out
    }

    /// `{"a": [1, <link>], "b": {"c": <link>, "d": "x"}, "e": 1.5}`
    fn sample_cbor() -> Bytes {
        let link = link_bytes(&TARGET.parse().unwrap());
        let mut block = vec![0xa3, 0x61, b'a', 0x82, 0x01];
        block.extend_from_slice(&link);
        block.extend_from_slice(&[0x61, b'b', 0xa2, 0x61, b'c']);
        block.extend_from_slice(&link);
        block.extend_from_slice(&[0x61, b'd', 0x61, b'x']);
        block.extend_from_slice(&[0x61, b'e', 0xf9, 0x3e, 0x00]);
        Bytes::from(block)
    }

    fn walk(codec: u64, block: &Bytes, path: &[&str]) -> Result<Option<Cursor>> {
        let mut cursor = Cursor::root(codec, block.clone())?;
        for segment in path {
            match cursor.step(segment)? {
                Some(next) => cursor = next,
                None => return Ok(None),
            }
        }
        Ok(Some(cursor))
    }

    fn link_at(codec: u64, block: &Bytes, path: &[&str]) -> Option<Cid> {
        walk(codec, block, path).unwrap().unwrap().link().unwrap()
    }

    #[test]
    fn cbor_keys_and_indexes_reach_links() {
        let block = sample_cbor();
        let target: Cid = TARGET.parse().unwrap();
        let cbor = codec::DAG_CBOR;
        assert_eq!(link_at(cbor, &block, &["b", "c"]), Some(target));
        assert_eq!(link_at(cbor, &block, &["a", "1"]), Some(target));
        // Values that are not links.
        assert_eq!(link_at(cbor, &block, &["a", "0"]), None);
        assert_eq!(link_at(cbor, &block, &["b"]), None);
        assert_eq!(link_at(cbor, &block, &["e"]), None);
        assert_eq!(link_at(cbor, &block, &[]), None);
        // Names that select nothing.
        for path in [
            &["z"][..],
            &["a", "2"],
            &["a", "x"],
            &["a", "+1"],
            &["b", "d", "x"],
            &["e", "0"],
        ] {
            assert!(walk(cbor, &block, path).unwrap().is_none(), "{path:?}");
        }
    }

    #[test]
    fn cbor_is_bounds_checked_and_never_panics() {
        let block = sample_cbor();
        for n in 0..block.len() {
            let cut = block.slice(..n);
            for path in [&["b", "c"][..], &["e"], &["a", "1"], &["z"]] {
                if let Ok(Some(cursor)) = walk(codec::DAG_CBOR, &cut, path) {
                    let _ = cursor.link();
                }
            }
        }
        // Lying counts and lengths are refused, not looped over or sliced past.
        let lies: [&[u8]; 5] = [
            &[0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            &[0xa1, 0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            &[
                0xa2, 0x61, b'a', 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
            &[0xa1, 0x01, 0x01],
            &[0xbf, 0xff],
        ];
        for lie in lies {
            let err = walk(codec::DAG_CBOR, &Bytes::from_static(lie), &["b"]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::DagCbor, "{lie:?}: {err}");
        }
    }

    #[test]
    fn cbor_nesting_is_capped() {
        // {"a": [[[[…]]]], "b": 1} with the list nested far deeper than the cap.
        let mut block = vec![0xa2, 0x61, b'a'];
        block.extend(std::iter::repeat_n(0x81, MAX_NESTING + 10));
        block.push(0x01);
        block.extend_from_slice(&[0x61, b'b', 0x01]);
        let err = walk(codec::DAG_CBOR, &Bytes::from(block), &["b"]).unwrap_err();
        assert!(err.message().contains("nesting"), "{err}");
    }

    #[test]
    fn cbor_bad_links_are_errors() {
        // Tag 42 over a text string, and over bytes without the 0x00 prefix.
        for block in [
            &[0xa1, 0x61, b'l', 0xd8, 42, 0x61, b'x'][..],
            &[0xa1, 0x61, b'l', 0xd8, 42, 0x41, 0x01],
            &[0xa1, 0x61, b'l', 0xd8, 42, 0x42, 0x00, 0x01],
        ] {
            let block = Bytes::copy_from_slice(block);
            let cursor = walk(codec::DAG_CBOR, &block, &["l"]).unwrap().unwrap();
            assert_eq!(cursor.link().unwrap_err().kind(), ErrorKind::DagCbor);
        }
    }

    #[test]
    fn json_keys_and_indexes_reach_links() {
        let text = format!(
            r#"{{"a":[1,{{"/":"{TARGET}"}}],"b":{{"c":{{"/":"{TARGET}"}},"d":"x"}},"bytes":{{"/":{{"bytes":"aGk"}}}},"odd":{{"/":"x","y":1}}}}"#
        );
        let block = Bytes::from(text);
        let target: Cid = TARGET.parse().unwrap();
        let json = codec::DAG_JSON;
        assert_eq!(link_at(json, &block, &["b", "c"]), Some(target));
        assert_eq!(link_at(json, &block, &["a", "1"]), Some(target));
        assert_eq!(link_at(json, &block, &["a", "0"]), None);
        assert_eq!(link_at(json, &block, &["b"]), None);
        // A map with "/" beside other keys is a plain map.
        assert_eq!(link_at(json, &block, &["odd", "/"]), None);
        assert!(walk(json, &block, &["odd", "y"]).unwrap().is_some());
        // Reserved forms are not maps to path into.
        assert!(walk(json, &block, &["bytes", "/"]).unwrap().is_none());
        assert!(walk(json, &block, &["b", "c", "/"]).unwrap().is_none());
        assert!(walk(json, &block, &["a", "2"]).unwrap().is_none());
        assert!(walk(json, &block, &["nope"]).unwrap().is_none());
    }

    #[test]
    fn json_errors() {
        let bad = Cursor::root(codec::DAG_JSON, Bytes::from_static(b"{\"a\":")).unwrap_err();
        assert_eq!(bad.kind(), ErrorKind::DagJson);
        let block = Bytes::from_static(br#"{"l":{"/":"not-a-cid"}}"#);
        let cursor = walk(codec::DAG_JSON, &block, &["l"]).unwrap().unwrap();
        assert_eq!(cursor.link().unwrap_err().kind(), ErrorKind::DagJson);
        let deep = Bytes::from("[".repeat(10_000));
        assert!(Cursor::root(codec::DAG_JSON, deep).is_err());
    }

    #[test]
    fn only_dag_cbor_and_dag_json_are_pathable() {
        assert!(is_pathable(codec::DAG_CBOR) && is_pathable(codec::DAG_JSON));
        assert!(!is_pathable(codec::DAG_PB) && !is_pathable(codec::RAW));
        let err = Cursor::root(codec::RAW, Bytes::new()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }
}
