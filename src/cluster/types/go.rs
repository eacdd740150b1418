//! Go's text conventions as upstream's error messages and inputs meet them: `strconv.Quote`,
//! `strconv.ParseUint`, `url.QueryUnescape`, and the non-strict `encoding/base64` decoder
//! with its alphabets.

pub(crate) use crate::http::go_query::{go_query_unescape, go_quote};

/// Go's `strconv.ParseUint(s, 10, bits)`: ASCII digits only (no sign, no underscores), with
/// Go's error text.
pub(crate) fn go_parse_uint(s: &str, bits: u32) -> Result<u64, String> {
    let fail = |what: &str| format!("strconv.ParseUint: parsing {}: {what}", go_quote(s));
    if s.is_empty() {
        return Err(fail("invalid syntax"));
    }
    let max = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let mut n: u64 = 0;
    // Left to right, as Go: a bad character or an overflow is reported where it is met.
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            return Err(fail("invalid syntax"));
        }
        n = match n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
        {
            Some(n) if n <= max => n,
            _ => return Err(fail("value out of range")),
        };
    }
    Ok(n)
}

/// Decodes base64 the way Go's non-strict `encoding/base64` does: `\r`/`\n` skipped anywhere,
/// non-zero trailing bits tolerated; with `padded`, `=` padding is required and must end the input.
pub(crate) fn go_base64_decode(
    input: &[u8],
    alphabet: &[u8; 64],
    padded: bool,
    out: &mut Vec<u8>,
) -> Result<(), ()> {
    let mut table = [0xffu8; 256];
    for (i, &c) in alphabet.iter().enumerate() {
        table[usize::from(c)] = i as u8;
    }
    let mut quantum = [0u8; 4];
    let mut j = 0usize;
    let mut i = 0usize;
    while i < input.len() {
        let c = input[i];
        i += 1;
        if c == b'\r' || c == b'\n' {
            continue;
        }
        if padded && c == b'=' {
            // `=` may stand only in the third or fourth place of a quantum.
            match j {
                2 => {
                    // One more `=` must follow (newlines may sit between).
                    while i < input.len() && (input[i] == b'\r' || input[i] == b'\n') {
                        i += 1;
                    }
                    if i >= input.len() || input[i] != b'=' {
                        return Err(());
                    }
                    i += 1;
                }
                3 => {}
                _ => return Err(()),
            }
            // Only newlines may follow the padding.
            if input[i..].iter().any(|&b| b != b'\r' && b != b'\n') {
                return Err(());
            }
            flush_quantum(&quantum, j, out);
            return Ok(());
        }
        let v = table[usize::from(c)];
        if v == 0xff {
            return Err(());
        }
        quantum[j] = v;
        j += 1;
        if j == 4 {
            flush_quantum(&quantum, 4, out);
            j = 0;
        }
    }
    match j {
        0 => Ok(()),
        1 => Err(()),
        _ if padded => Err(()),
        _ => {
            flush_quantum(&quantum, j, out);
            Ok(())
        }
    }
}

pub(super) fn flush_quantum(q: &[u8; 4], n: usize, out: &mut Vec<u8>) {
    let v = (u32::from(q[0]) << 18)
        | (u32::from(q[1]) << 12)
        | (u32::from(q[2]) << 6)
        | u32::from(q[3]);
    let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
    // n sextets carry n-1 whole bytes; leftover bits are ignored, as Go's non-strict mode does.
    out.extend_from_slice(&bytes[..n - 1]);
}

pub(super) const STD_B64: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub(super) const GARLIC_B64: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-~";
/// The standard base64 alphabet, for Basic credentials.
pub(crate) const BASE64_STD_ALPHABET: &[u8; 64] = STD_B64;
/// The URL-safe base64 alphabet, for JWT segments.
pub(crate) const BASE64_URL_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
