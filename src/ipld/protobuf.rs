//! Protobuf wire-format pieces shared by the dag-pb and UnixFS decoders.

use super::{Error, ErrorKind, Result};

/// Reads a protobuf varint at `buf[pos..]`: at most 10 bytes, no bits past 64. Returns the
/// value and the offset after it; errors carry `kind` and name `what` was being read.
#[inline]
pub(crate) fn read_varint(
    buf: &[u8],
    pos: usize,
    what: &str,
    kind: ErrorKind,
) -> Result<(u64, usize)> {
    // Fast path: most tags and small lengths are one byte.
    if let Some(&byte) = buf.get(pos) {
        if byte < 0x80 {
            return Ok((u64::from(byte), pos + 1));
        }
    }
    let mut value = 0u64;
    for i in 0..10 {
        let Some(&byte) = buf.get(pos + i) else {
            return Err(Error::new(
                kind,
                format!("{what}: varint at byte {pos} is truncated"),
            ));
        };
        if i == 9 && byte > 1 {
            // The 10th byte carries bit 63 only; anything more is past 64 bits.
            let problem = if byte >= 0x80 {
                "is longer than 10 bytes"
            } else {
                "overflows 64 bits"
            };
            return Err(Error::new(
                kind,
                format!("{what}: varint at byte {pos} {problem}"),
            ));
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Ok((value, pos + i + 1));
        }
    }
    // Not reached: the tenth byte either ends the varint or is rejected above.
    Err(Error::new(
        kind,
        format!("{what}: varint at byte {pos} is longer than 10 bytes"),
    ))
}
