//! The links out of a block, whatever its codec: dag-pb `Links`, dag-cbor tag-42 CIDs,
//! dag-json `{"/": "<cid>"}` objects. Raw and other leaf codecs have none. Used to walk DAGs
//! (pins, garbage collection, CAR export).

use bytes::Bytes;
use cid::Cid;

use super::cid::codec;
use super::{dagpb, Error, Result};

/// Deepest CBOR/JSON nesting walked; real DAG nodes are far shallower.
const MAX_NESTING: usize = 256;

/// Appends the CIDs `block` links to. Codecs without links (raw, identity data, unknown
/// codecs) add nothing.
pub fn links(cid: &Cid, block: &Bytes, out: &mut Vec<Cid>) -> Result<()> {
    match cid.codec() {
        codec::DAG_PB => {
            for link in dagpb::decode_lazily(block)?.links {
                out.push(link?.cid);
            }
            Ok(())
        }
        codec::DAG_CBOR => {
            let mut pos = 0;
            cbor_links(block, &mut pos, 0, out)?;
            Ok(())
        }
        codec::DAG_JSON => {
            let value: serde_json::Value = serde_json::from_slice(block)
                .map_err(|e| Error::unsupported(format!("dag-json block does not parse: {e}")))?;
            json_links(&value, 0, out)
        }
        _ => Ok(()),
    }
}

fn cbor_err(what: &str, at: usize) -> Error {
    Error::unsupported(format!("dag-cbor block: {what} at byte {at}"))
}

/// Reads one CBOR argument (the value after the major type), returning it.
fn cbor_arg(buf: &[u8], pos: &mut usize, info: u8) -> Result<u64> {
    let at = *pos;
    let take = |pos: &mut usize, n: usize| -> Result<u64> {
        let bytes = buf
            .get(*pos..*pos + n)
            .ok_or_else(|| cbor_err("truncated", at))?;
        *pos += n;
        Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    };
    match info {
        0..=23 => Ok(u64::from(info)),
        24 => take(pos, 1),
        25 => take(pos, 2),
        26 => take(pos, 4),
        27 => take(pos, 8),
        _ => Err(cbor_err("indefinite or reserved length", at)),
    }
}

fn cbor_links(buf: &[u8], pos: &mut usize, depth: usize, out: &mut Vec<Cid>) -> Result<()> {
    if depth > MAX_NESTING {
        return Err(cbor_err("nesting too deep", *pos));
    }
    let at = *pos;
    let head = *buf.get(*pos).ok_or_else(|| cbor_err("truncated", at))?;
    *pos += 1;
    let (major, info) = (head >> 5, head & 0x1f);
    match major {
        0 | 1 => {
            cbor_arg(buf, pos, info)?;
        }
        2 | 3 => {
            let len = cbor_arg(buf, pos, info)?;
            let end = pos
                .checked_add(usize::try_from(len).map_err(|_| cbor_err("length", at))?)
                .filter(|end| *end <= buf.len())
                .ok_or_else(|| cbor_err("string runs past the end", at))?;
            *pos = end;
        }
        4 | 5 => {
            let items = cbor_arg(buf, pos, info)?;
            let items = if major == 5 {
                items.saturating_mul(2)
            } else {
                items
            };
            if items > (buf.len() - *pos) as u64 {
                return Err(cbor_err("more items than bytes", at));
            }
            for _ in 0..items {
                cbor_links(buf, pos, depth + 1, out)?;
            }
        }
        6 => {
            let tag = cbor_arg(buf, pos, info)?;
            if tag == 42 {
                // A link: a byte string holding 0x00 (identity multibase) then a binary CID.
                let start = *pos;
                let head = *buf.get(start).ok_or_else(|| cbor_err("truncated", start))?;
                if head >> 5 != 2 {
                    return Err(cbor_err("tag 42 without a byte string", start));
                }
                *pos += 1;
                let len = cbor_arg(buf, pos, head & 0x1f)? as usize;
                let bytes = buf
                    .get(*pos..pos.saturating_add(len))
                    .ok_or_else(|| cbor_err("truncated link", start))?;
                *pos += len;
                match bytes.split_first() {
                    Some((0, cid)) => out.push(super::cid::from_bytes(cid)?),
                    _ => return Err(cbor_err("link without the 0x00 prefix", start)),
                }
            } else {
                cbor_links(buf, pos, depth + 1, out)?;
            }
        }
        _ => {
            // Simple values and floats: skip their argument bytes.
            match info {
                24 => *pos += 1,
                25 => *pos += 2,
                26 => *pos += 4,
                27 => *pos += 8,
                28..=31 => return Err(cbor_err("reserved or indefinite value", at)),
                _ => {}
            }
            if *pos > buf.len() {
                return Err(cbor_err("truncated", at));
            }
        }
    }
    Ok(())
}

fn json_links(value: &serde_json::Value, depth: usize, out: &mut Vec<Cid>) -> Result<()> {
    use serde_json::Value;
    if depth > MAX_NESTING {
        return Err(Error::unsupported("dag-json block nests too deep"));
    }
    match value {
        Value::Object(map) => {
            if map.len() == 1 {
                if let Some(Value::String(text)) = map.get("/") {
                    out.push(super::cid::parse(text)?);
                    return Ok(());
                }
            }
            for v in map.values() {
                json_links(v, depth + 1, out)?;
            }
        }
        Value::Array(items) => {
            for v in items {
                json_links(v, depth + 1, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid(text: &str) -> Cid {
        text.parse().unwrap()
    }

    #[test]
    fn dag_cbor_links_are_found_at_any_depth() {
        let target = cid("bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am");
        let mut link = vec![0xd8, 42, 0x58, 37, 0x00];
        link.extend_from_slice(&target.to_bytes());
        // {"a": [1, <link>], "b": {"c": <link>}, "d": 1.5}
        let mut block = vec![0xa3, 0x61, b'a', 0x82, 0x01];
        block.extend_from_slice(&link);
        block.extend_from_slice(&[0x61, b'b', 0xa1, 0x61, b'c']);
        block.extend_from_slice(&link);
        block.extend_from_slice(&[0x61, b'd', 0xf9, 0x3e, 0x00]);
        let container = Cid::new_v1(codec::DAG_CBOR, *target.hash());
        let mut out = Vec::new();
        links(&container, &Bytes::from(block.clone()), &mut out).unwrap();
        assert_eq!(out, [target, target]);
        // Truncations never panic.
        for n in 0..block.len() {
            let _ = links(
                &container,
                &Bytes::copy_from_slice(&block[..n]),
                &mut Vec::new(),
            );
        }
    }

    #[test]
    fn dag_json_links() {
        let text = br#"{"x":[{"/":"bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am"}],"y":{"/":{"bytes":"aGk"}}}"#;
        let container = Cid::new_v1(
            codec::DAG_JSON,
            *cid("bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am").hash(),
        );
        let mut out = Vec::new();
        links(&container, &Bytes::from_static(text), &mut out).unwrap();
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn dag_pb_and_raw() {
        let empty_dir = Bytes::from_static(&[0x0a, 0x02, 0x08, 0x01]);
        let mut out = Vec::new();
        links(
            &cid("bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"),
            &empty_dir,
            &mut out,
        )
        .unwrap();
        assert!(out.is_empty());
        links(
            &cid("bafkqabtimvwgy3yk"),
            &Bytes::from_static(b"hello\n"),
            &mut out,
        )
        .unwrap();
        assert!(out.is_empty());
    }
}
