//! Go-compatible JSON writing: a serde_json formatter that escapes like Go (`<`, `>`, `&`,
//! U+2028, U+2029 as `\u…`) and prints floats like Go (`0` not `0.0`, `1e+21`, `1e-7`); Go's
//! `json.Encoder` ends each value with `\n`, and so does [`to_go_json`]. The APIs that speak
//! to Go clients (the Cluster REST API, the Kubo RPC) write their JSON through here.

use std::io;

use serde::Serialize;

/// A serde_json formatter producing what Go's `encoding/json` produces: HTML-sensitive
/// characters and the JavaScript line separators escaped, floats in Go's `strconv` style.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoJsonFormatter;

impl serde_json::ser::Formatter for GoJsonFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let esc: Option<&[u8]> = match bytes[i] {
                b'<' => Some(b"\\u003c"),
                b'>' => Some(b"\\u003e"),
                b'&' => Some(b"\\u0026"),
                // U+2028 and U+2029 are E2 80 A8 / E2 80 A9.
                0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => {
                    Some(b"\\u2028")
                }
                0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => {
                    Some(b"\\u2029")
                }
                _ => None,
            };
            if let Some(esc) = esc {
                w.write_all(&bytes[start..i])?;
                w.write_all(esc)?;
                i += if bytes[i] == 0xE2 { 3 } else { 1 };
                start = i;
            } else {
                i += 1;
            }
        }
        w.write_all(&bytes[start..])
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(go_format_f64(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        w.write_all(go_format_f64(f64::from(value)).as_bytes())
    }
}

/// A float as Go's `encoding/json` writes it: shortest round-trip digits, plain notation for
/// 1e-6 <= |x| < 1e21, else exponent form with Go's `e+21`/`e-7` exponent. Go refuses NaN and
/// infinities (the whole reply fails); they are written as `null` here.
pub fn go_format_f64(value: f64) -> String {
    if !value.is_finite() {
        return "null".into();
    }
    let abs = value.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        // Rust's Display is shortest round-trip and never uses an exponent.
        return format!("{value}");
    }
    let sci = format!("{value:e}");
    match sci.split_once('e') {
        Some((mantissa, exp)) => match exp.strip_prefix('-') {
            Some(neg) => format!("{mantissa}e-{neg}"),
            None => format!("{mantissa}e+{exp:0>2}"),
        },
        None => sci,
    }
}

/// Writes `value` as Go's `json.Marshal` would (no trailing newline).
pub fn write_go_json<W: io::Write, T: ?Sized + Serialize>(
    writer: W,
    value: &T,
) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(writer, GoJsonFormatter);
    value.serialize(&mut ser)
}

/// `value` as Go's `json.Encoder.Encode` writes it: the JSON text and a `\n`.
pub fn to_go_json<T: ?Sized + Serialize>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    write_go_json(&mut out, value)?;
    out.push(b'\n');
    Ok(out)
}
