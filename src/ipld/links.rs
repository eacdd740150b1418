//! The links out of a block, whatever its codec: dag-pb `Links`, dag-cbor tag-42 CIDs,
//! dag-json `{"/": "<cid>"}` objects. Raw and other leaf codecs have none. Used to walk DAGs
//! (pins, garbage collection, CAR export).

use bytes::Bytes;
use cid::Cid;

use super::cbor::{self, HeadError};
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
        codec::DAG_JSON => json_links(block, out),
        _ => Ok(()),
    }
}

fn cbor_err(what: &str, at: usize) -> Error {
    Error::dag_cbor(format!("{what} at byte {at}"))
}

/// Reads one CBOR argument (the value after the major type), returning it.
fn cbor_arg(buf: &[u8], pos: &mut usize, info: u8) -> Result<u64> {
    let at = *pos;
    match cbor::read_argument(buf.get(at..).unwrap_or_default(), info) {
        Ok((arg, width)) => {
            *pos = at + width;
            Ok(arg)
        }
        Err(HeadError::Reserved(_)) => Err(cbor_err("indefinite or reserved length", at)),
        Err(HeadError::Truncated | HeadError::ArgumentTruncated) => Err(cbor_err("truncated", at)),
    }
}

fn cbor_links(buf: &[u8], pos: &mut usize, depth: usize, out: &mut Vec<Cid>) -> Result<()> {
    if depth > MAX_NESTING {
        return Err(cbor_err("nesting too deep", *pos));
    }
    let at = *pos;
    let head = *buf.get(*pos).ok_or_else(|| cbor_err("truncated", at))?;
    *pos += 1;
    let (major, info) = cbor::split_initial(head);
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
            if tag == cbor::TAG_CID {
                // A link: a byte string holding 0x00 (identity multibase) then a binary CID.
                let start = *pos;
                let head = *buf.get(start).ok_or_else(|| cbor_err("truncated", start))?;
                let (major, info) = cbor::split_initial(head);
                if major != cbor::MAJOR_BYTES {
                    return Err(cbor_err("tag 42 without a byte string", start));
                }
                *pos += 1;
                let len = cbor_arg(buf, pos, info)? as usize;
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
            match cbor::argument_width(info) {
                Some(width) => *pos += width,
                None => return Err(cbor_err("reserved or indefinite value", at)),
            }
            if *pos > buf.len() {
                return Err(cbor_err("truncated", at));
            }
        }
    }
    Ok(())
}

/// Walks a dag-json block's values in the order the block writes them (as go-ipld-prime
/// does, so a DAG walk meets links in Kubo's order; a `serde_json::Value` would sort map keys
/// instead) without building a tree. serde_json caps nesting at 128 levels.
fn json_links(block: &[u8], out: &mut Vec<Cid>) -> Result<()> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_slice(block);
    JsonLinks(out)
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| Error::dag_json(format!("block does not parse: {e}")))
}

/// Collects the links of one dag-json value into the vector, in document order.
struct JsonLinks<'a>(&'a mut Vec<Cid>);

impl<'de> serde::de::DeserializeSeed<'de> for JsonLinks<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> std::result::Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonLinks<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a dag-json value")
    }

    fn visit_bool<E>(self, _: bool) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<(), A::Error> {
        while seq.next_element_seed(JsonLinks(self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<(), A::Error> {
        // `{"/": "<cid>"}` is a link only as a map's sole entry, which is known at its end.
        let mut entries = 0usize;
        let mut link_text = None;
        while let Some(is_slash) = map.next_key_seed(IsSlash)? {
            entries += 1;
            if is_slash && entries == 1 {
                link_text = map.next_value_seed(SlashValue(self.0))?;
            } else {
                map.next_value_seed(JsonLinks(self.0))?;
            }
        }
        if let (1, Some(text)) = (entries, link_text) {
            let cid = super::cid::parse(&text).map_err(|e| {
                serde::de::Error::custom(format_args!("link holds an invalid CID: {}", e.message()))
            })?;
            self.0.push(cid);
        }
        Ok(())
    }
}

/// Reads a map key, telling whether it is `"/"`.
struct IsSlash;

impl<'de> serde::de::DeserializeSeed<'de> for IsSlash {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        de: D,
    ) -> std::result::Result<bool, D::Error> {
        de.deserialize_str(self)
    }
}

impl serde::de::Visitor<'_> for IsSlash {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a map key")
    }

    fn visit_str<E>(self, key: &str) -> std::result::Result<bool, E> {
        Ok(key == "/")
    }
}

/// The value under a leading `"/"` key: a string is kept (it is a link if the map has no other
/// entry); anything else is walked for links like any value.
struct SlashValue<'a>(&'a mut Vec<Cid>);

impl<'de> serde::de::DeserializeSeed<'de> for SlashValue<'_> {
    type Value = Option<String>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        de: D,
    ) -> std::result::Result<Option<String>, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for SlashValue<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a dag-json value")
    }

    fn visit_str<E>(self, text: &str) -> std::result::Result<Option<String>, E> {
        Ok(Some(text.to_owned()))
    }
    fn visit_bool<E>(self, _: bool) -> std::result::Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> std::result::Result<Option<String>, E> {
        Ok(None)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        seq: A,
    ) -> std::result::Result<Option<String>, A::Error> {
        serde::de::Visitor::visit_seq(JsonLinks(self.0), seq).map(|()| None)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        map: A,
    ) -> std::result::Result<Option<String>, A::Error> {
        serde::de::Visitor::visit_map(JsonLinks(self.0), map).map(|()| None)
    }
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
    fn dag_json_links_come_in_block_order() {
        // Canonical dag-json sorts keys length-first ("b" before "aa"), as dag-cbor does; a
        // DAG walk must meet the links in that order, not alphabetically.
        let one = "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am";
        let two = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";
        let text = format!(
            r#"{{"b":{{"/":"{one}"}},"aa":[{{"/":"{two}"}}],"c":{{"/":"{one}","x":1}},"d":{{"x":1,"/":"{two}"}}}}"#
        );
        let container = Cid::new_v1(codec::DAG_JSON, *cid(one).hash());
        let mut out = Vec::new();
        links(&container, &Bytes::from(text), &mut out).unwrap();
        assert_eq!(
            out,
            [cid(one), cid(two)],
            "maps with more than the \"/\" key are maps"
        );
        for bad in [&br#"{"/":"nope"}"#[..], b"[1,", b"{} {}", b"{\"a\":1,}"] {
            let err = links(&container, &Bytes::copy_from_slice(bad), &mut out).unwrap_err();
            assert_eq!(err.kind(), crate::ipld::ErrorKind::DagJson, "{err}");
        }
        let deep = Bytes::from("[".repeat(1000) + &"]".repeat(1000));
        assert!(
            links(&container, &deep, &mut out).is_err(),
            "nesting is capped"
        );
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
