//! A readable text rendering of a (dag-)CBOR block, for the gateway's HTML preview of DAG
//! nodes: maps, lists, strings and numbers as in DAG-JSON, links (tag 42) as `{"/": "<cid>"}`
//! and byte strings as `{"/": {"bytes": "<base64>"}}` (DAG-JSON spec). It is a preview, not
//! an encoder: nothing is canonicalised, output is cut at a size limit, and malformed input
//! yields an error rather than partial text.

use std::fmt::Write;

use data_encoding::BASE64_NOPAD;

use super::cbor::{self, HeadError};
use super::{Error, Result};

/// Deepest nesting rendered.
const MAX_NESTING: usize = 64;

/// Renders `block` as indented DAG-JSON-like text of at most about `max_len` bytes (an
/// ellipsis marks a cut).
pub fn render(block: &[u8], max_len: usize) -> Result<String> {
    let mut out = Renderer {
        buf: block,
        pos: 0,
        out: String::with_capacity(block.len().min(max_len) * 2),
        max_len,
        cut: false,
    };
    out.value(0)?;
    if !out.cut && out.pos != block.len() {
        return Err(err("data after the first item", out.pos));
    }
    Ok(out.out)
}

fn err(what: &str, at: usize) -> Error {
    Error::unsupported(format!("CBOR: {what} at byte {at}"))
}

struct Renderer<'a> {
    buf: &'a [u8],
    pos: usize,
    out: String,
    max_len: usize,
    /// Set once output reached `max_len`: every level stops where it is.
    cut: bool,
}

impl<'a> Renderer<'a> {
    /// Whether to stop here (marking the cut once).
    fn stop(&mut self) -> bool {
        if !self.cut && self.out.len() >= self.max_len {
            self.cut = true;
            self.out.push('…');
        }
        self.cut
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let at = self.pos;
        let end = at
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or_else(|| err("truncated", at))?;
        self.pos = end;
        Ok(&self.buf[at..end])
    }

    fn argument(&mut self, info: u8) -> Result<u64> {
        let at = self.pos;
        match cbor::read_argument(self.buf.get(at..).unwrap_or_default(), info) {
            Ok((arg, width)) => {
                self.pos = at + width;
                Ok(arg)
            }
            Err(HeadError::Reserved(_)) => Err(err("indefinite or reserved length", at)),
            Err(HeadError::Truncated | HeadError::ArgumentTruncated) => Err(err("truncated", at)),
        }
    }

    fn length(&mut self, info: u8) -> Result<usize> {
        let at = self.pos;
        let n = self.argument(info)?;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.buf.len())
            .ok_or_else(|| err("length larger than the block", at))
    }

    fn indent(&mut self, depth: usize) {
        self.out.push('\n');
        for _ in 0..depth {
            self.out.push_str("  ");
        }
    }

    fn value(&mut self, depth: usize) -> Result<()> {
        if self.cut {
            return Ok(());
        }
        if depth > MAX_NESTING {
            return Err(err("nesting too deep", self.pos));
        }
        let at = self.pos;
        let head = *self.take(1)?.first().unwrap_or(&0);
        let (major, info) = cbor::split_initial(head);
        match major {
            0 => {
                let n = self.argument(info)?;
                let _ = write!(self.out, "{n}");
            }
            1 => {
                let n = self.argument(info)?;
                let _ = write!(self.out, "-{}", u128::from(n) + 1);
            }
            2 => {
                let len = self.length(info)?;
                let bytes = self.take(len)?;
                // Only as much as the budget has room for (base64: 4 characters per 3 bytes).
                let room = self.max_len.saturating_sub(self.out.len()) / 4 * 3 + 3;
                let shown = &bytes[..bytes.len().min(room)];
                let encoded = BASE64_NOPAD.encode(shown);
                let _ = write!(self.out, "{{\"/\": {{\"bytes\": \"{encoded}");
                if shown.len() < bytes.len() {
                    self.out.push('…');
                    self.cut = true;
                    return Ok(());
                }
                self.out.push_str("\"}}");
            }
            3 => {
                let len = self.length(info)?;
                let bytes = self.take(len)?;
                let text =
                    std::str::from_utf8(bytes).map_err(|_| err("text string is not UTF-8", at))?;
                self.string(text);
                if self.cut {
                    return Ok(());
                }
            }
            4 => {
                let len = self.length(info)?;
                self.out.push('[');
                for i in 0..len {
                    if self.stop() {
                        return Ok(());
                    }
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.indent(depth + 1);
                    self.value(depth + 1)?;
                }
                if self.cut {
                    return Ok(());
                }
                if len > 0 {
                    self.indent(depth);
                }
                self.out.push(']');
            }
            5 => {
                let len = self.length(info)?;
                self.out.push('{');
                for i in 0..len {
                    if self.stop() {
                        return Ok(());
                    }
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.indent(depth + 1);
                    self.value(depth + 1)?;
                    self.out.push_str(": ");
                    self.value(depth + 1)?;
                }
                if self.cut {
                    return Ok(());
                }
                if len > 0 {
                    self.indent(depth);
                }
                self.out.push('}');
            }
            6 => {
                let tag = self.argument(info)?;
                if tag != cbor::TAG_CID {
                    return Err(err("tag other than 42 (a link)", at));
                }
                let inner = *self.take(1)?.first().unwrap_or(&0);
                let (inner_major, inner_info) = cbor::split_initial(inner);
                if inner_major != cbor::MAJOR_BYTES {
                    return Err(err("link is not a byte string", at));
                }
                let len = self.length(inner_info)?;
                let bytes = self.take(len)?;
                // DAG-CBOR links carry a 0x00 multibase prefix before the binary CID.
                let cid = bytes
                    .split_first()
                    .filter(|(prefix, _)| **prefix == 0)
                    .and_then(|(_, cid)| super::cid::from_bytes(cid).ok())
                    .ok_or_else(|| err("link is not a CID", at))?;
                let _ = write!(
                    self.out,
                    "{{\"/\": \"{}\"}}",
                    super::cid::v1_text(&cid).as_str()
                );
            }
            _ => match info {
                20 => self.out.push_str("false"),
                21 => self.out.push_str("true"),
                22 => self.out.push_str("null"),
                25 => {
                    let bits = self.argument(info)? as u16;
                    let _ = write!(self.out, "{:?}", half_to_f64(bits));
                }
                26 => {
                    let bits = self.argument(info)? as u32;
                    let _ = write!(self.out, "{:?}", f32::from_bits(bits));
                }
                27 => {
                    let bits = self.argument(info)?;
                    let _ = write!(self.out, "{:?}", f64::from_bits(bits));
                }
                _ => return Err(err("unsupported simple value", at)),
            },
        }
        Ok(())
    }

    /// A JSON string, cut (and the rendering with it) where the budget runs out.
    fn string(&mut self, text: &str) {
        self.out.push('"');
        for c in text.chars() {
            if self.out.len() >= self.max_len {
                self.out.push('…');
                self.cut = true;
                return;
            }
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(self.out, "\\u{:04x}", c as u32);
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }
}

/// IEEE 754 half precision to double.
fn half_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let fraction = f64::from(bits & 0x3ff);
    sign * match exponent {
        0 => fraction * 2f64.powi(-24),
        31 if fraction == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + fraction / 1024.0) * 2f64.powi(e - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_maps_links_and_scalars() {
        // {"hello": "this is not a link"} as the conformance suite writes it
        let mut block = vec![0xa1, 0x65];
        block.extend_from_slice(b"hello");
        block.push(0x72);
        block.extend_from_slice(b"this is not a link");
        let text = render(&block, 1 << 20).unwrap();
        assert_eq!(text, "{\n  \"hello\": \"this is not a link\"\n}");

        // [1, -2, true, null, h'0102', 42(link)]
        let cid = crate::ipld::cid::parse("bafkqabtimvwgy3yk").unwrap();
        let mut link = vec![0x00];
        link.extend_from_slice(&cid.to_bytes());
        let mut block = vec![0x86, 0x01, 0x21, 0xf5, 0xf6, 0x42, 0x01, 0x02, 0xd8, 0x2a];
        block.push(0x40 | link.len() as u8);
        block.extend_from_slice(&link);
        let text = render(&block, 1 << 20).unwrap();
        assert!(text.contains("-2"), "{text}");
        assert!(text.contains("{\"/\": {\"bytes\": \"AQI\"}}"), "{text}");
        assert!(text.contains("{\"/\": \"bafkqabtimvwgy3yk\"}"), "{text}");
    }

    #[test]
    fn refuses_malformed_input() {
        assert!(render(&[0x65, b'a'], 100).is_err()); // truncated string
        assert!(render(&[0x01, 0x02], 100).is_err()); // trailing data
        assert!(render(&[0x9f], 100).is_err()); // indefinite length
        let deep = vec![0x81; MAX_NESTING + 2];
        assert!(render(&deep, 1 << 20).is_err());
        assert!(render(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 100).is_err());
    }

    #[test]
    fn cut_nested_output_stays_near_the_limit() {
        // Forty nested lists of sixteen: indentation alone would run far past the limit if
        // every level wrote its separator after the cut (found by the dag_path fuzz target).
        let mut block = vec![0x90u8; 40];
        block.push(0x74);
        let text = render(&block, 624).unwrap();
        assert!(text.len() <= 624 + 2 * (MAX_NESTING + 2), "{}", text.len());
    }

    #[test]
    fn long_strings_and_bytes_are_cut_at_the_limit() {
        // A 100 KiB text string and a 100 KiB byte string, each alone in a list.
        for major in [0x60u8, 0x40] {
            let mut block = vec![0x81, major | 26];
            block.extend_from_slice(&(100u32 << 10).to_be_bytes());
            block.extend(std::iter::repeat_n(b'a', 100 << 10));
            let text = render(&block, 1000).unwrap();
            assert!(text.len() < 1200 && text.ends_with('…'), "{}", text.len());
        }
    }

    #[test]
    fn cuts_long_output() {
        let mut block = vec![0x99, 0x03, 0xe8]; // a list of 1000 items
        block.extend(std::iter::repeat_n(0x01, 1000));
        let text = render(&block, 100).unwrap();
        assert!(text.len() < 200 && text.ends_with('…'), "{text}");
    }
}
