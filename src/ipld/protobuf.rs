//! Protobuf wire-format pieces: wire types, field tags, varint reading with the ipld error
//! wording, and the field writers and length functions the dag-pb, UnixFS, IPNS and libp2p key
//! encoders share. Varints themselves are [`super::varint`]'s. [`read_field`] reads one whole
//! field (tag and value, unknown ones included) with an error of its own, for decoders of
//! messages that are not IPLD data (the network protocols).

use super::varint::{self, VarintError};
use super::{Error, ErrorKind, Result};

/// Wire type of a varint field.
pub(crate) const WIRE_VARINT: u64 = 0;
/// Wire type of a 64-bit fixed-width field.
pub(crate) const WIRE_FIXED64: u64 = 1;
/// Wire type of a length-delimited field.
pub(crate) const WIRE_LEN: u64 = 2;
/// Wire type of a 32-bit fixed-width field.
pub(crate) const WIRE_FIXED32: u64 = 5;

/// Largest field number protobuf allows (2^29 - 1).
pub(crate) const MAX_FIELD_NUMBER: u64 = (1 << 29) - 1;

/// The one-byte tag of field `number` (1 to 15) with wire type `wire`.
pub(crate) const fn tag(number: u8, wire: u64) -> u8 {
    number << 3 | wire as u8
}

/// Reads a protobuf varint at `buf[pos..]`: at most 10 bytes, no bits past 64. Returns the
/// value and the offset after it; errors carry `kind` and name `what` was being read.
#[inline]
pub(crate) fn read_varint(
    buf: &[u8],
    pos: usize,
    what: &str,
    kind: ErrorKind,
) -> Result<(u64, usize)> {
    match varint::decode_at(buf, pos) {
        Ok((value, used)) => Ok((value, pos + used)),
        Err(fault) => {
            let problem = match fault {
                VarintError::Truncated => "is truncated",
                VarintError::Overflow => "overflows 64 bits",
                VarintError::TooLong | VarintError::NotMinimal => "is longer than 10 bytes",
            };
            Err(Error::new(
                kind,
                format!("{what}: varint at byte {pos} {problem}"),
            ))
        }
    }
}

/// Reads a length prefix at `pos` and checks the payload ends by `end`: the payload's
/// `(start, end)` offsets. Errors carry `kind`, name `what` was being read and say where the
/// payload runs past "the end`{end_of}`" (a caller's wording).
#[inline]
pub(crate) fn read_len_prefixed(
    buf: &[u8],
    pos: usize,
    end: usize,
    what: &str,
    kind: ErrorKind,
    end_of: &str,
) -> Result<(usize, usize)> {
    let (len, start) = read_varint(buf, pos, what, kind)?;
    let available = end.saturating_sub(start);
    if len > available as u64 {
        return Err(Error::new(
            kind,
            format!(
                "{what}: length {len} at byte {pos} runs past the end{end_of} ({available} bytes \
                 left)"
            ),
        ));
    }
    // `len <= available` so this cannot overflow.
    Ok((start, start + len as usize))
}

/// Bytes a varint field with a one-byte tag takes.
#[inline]
pub(crate) fn varint_field_len(value: u64) -> usize {
    1 + varint::len(value)
}

/// Bytes a length-delimited field with a one-byte tag takes around `len` payload bytes.
#[inline]
pub(crate) fn bytes_field_len(len: usize) -> usize {
    1 + varint::len(len as u64) + len
}

/// Writes a varint field: `tag`, then `value`.
#[inline]
pub(crate) fn put_varint_field(out: &mut Vec<u8>, tag: u8, value: u64) {
    out.push(tag);
    varint::put(out, value);
}

/// Writes the head of a length-delimited field: `tag`, then `len`; the payload follows.
#[inline]
pub(crate) fn put_len_prefix(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    varint::put(out, len as u64);
}

/// Writes a length-delimited field: `tag`, the length of `bytes`, `bytes`.
#[inline]
pub(crate) fn put_bytes_field(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    put_len_prefix(out, tag, bytes.len());
    out.extend_from_slice(bytes);
}

/// A field's value as the wire carries it: varints and fixed-width values decoded, a
/// length-delimited payload as its `start..end` offsets in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldValue {
    Varint(u64),
    Fixed64(u64),
    Len { start: usize, end: usize },
    Fixed32(u32),
}

/// Why [`read_field`] stopped, and at which byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldError {
    /// A tag, varint value or length prefix that does not decode.
    Varint { at: usize, fault: VarintError },
    /// Field number 0 or above [`MAX_FIELD_NUMBER`].
    FieldNumber { at: usize, number: u64 },
    /// Wire types 3 and 4 (groups, deprecated) or the undefined 6 and 7.
    WireType { at: usize, wire: u64 },
    /// A fixed-width or length-delimited value that runs past `end`.
    Truncated { at: usize },
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldError::Varint { at, fault } => write!(f, "varint at byte {at}: {fault:?}"),
            FieldError::FieldNumber { at, number } => {
                write!(f, "invalid field number {number} at byte {at}")
            }
            FieldError::WireType { at, wire } => {
                write!(f, "unsupported wire type {wire} at byte {at}")
            }
            FieldError::Truncated { at } => write!(f, "field value at byte {at} is truncated"),
        }
    }
}

/// Reads the field whose tag starts at `buf[pos..end]`: its number, its value and the offset
/// after it. Nothing is copied; a length-delimited value is checked to end by `end`.
pub(crate) fn read_field(
    buf: &[u8],
    pos: usize,
    end: usize,
) -> std::result::Result<(u64, FieldValue, usize), FieldError> {
    let buf = &buf[..end.min(buf.len())];
    let varint_at = |at: usize| {
        varint::decode_at(buf, at)
            .map(|(value, used)| (value, at + used))
            .map_err(|fault| FieldError::Varint { at, fault })
    };
    let (tag, value_at) = varint_at(pos)?;
    let number = tag >> 3;
    if number == 0 || number > MAX_FIELD_NUMBER {
        return Err(FieldError::FieldNumber { at: pos, number });
    }
    let fixed = |width: usize| match buf.get(value_at..value_at + width) {
        Some(bytes) => Ok(bytes),
        None => Err(FieldError::Truncated { at: value_at }),
    };
    match tag & 7 {
        WIRE_VARINT => {
            let (value, next) = varint_at(value_at)?;
            Ok((number, FieldValue::Varint(value), next))
        }
        WIRE_FIXED64 => {
            let bytes = fixed(8)?;
            let value = u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]));
            Ok((number, FieldValue::Fixed64(value), value_at + 8))
        }
        WIRE_LEN => {
            let (len, start) = varint_at(value_at)?;
            if len > (buf.len() - start) as u64 {
                return Err(FieldError::Truncated { at: value_at });
            }
            let end = start + len as usize;
            Ok((number, FieldValue::Len { start, end }, end))
        }
        WIRE_FIXED32 => {
            let bytes = fixed(4)?;
            let value = u32::from_le_bytes(bytes.try_into().unwrap_or([0; 4]));
            Ok((number, FieldValue::Fixed32(value), value_at + 4))
        }
        wire => Err(FieldError::WireType { at: pos, wire }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(bytes: &[u8]) -> String {
        read_varint(bytes, 0, "t", ErrorKind::DagPb)
            .unwrap_err()
            .message()
            .to_owned()
    }

    #[test]
    fn varint_errors_name_the_problem_and_the_offset() {
        assert_eq!(message(&[0x80]), "t: varint at byte 0 is truncated");
        assert_eq!(
            message(&[0x80; 11]),
            "t: varint at byte 0 is longer than 10 bytes"
        );
        let mut overflow = [0xff; 10];
        overflow[9] = 0x02;
        assert_eq!(message(&overflow), "t: varint at byte 0 overflows 64 bits");
        assert_eq!(
            read_varint(&[0x00, 0x81, 0x00], 1, "t", ErrorKind::DagPb).unwrap(),
            (1, 3)
        );
    }

    #[test]
    fn length_prefixes_stay_inside_their_message() {
        let buf = [0x03, 1, 2, 3, 0x05, 9];
        assert_eq!(
            read_len_prefixed(&buf, 0, 4, "t", ErrorKind::UnixFs, ""),
            Ok((1, 4))
        );
        let e = read_len_prefixed(&buf, 4, buf.len(), "t", ErrorKind::DagPb, " of its message")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DagPb);
        assert_eq!(
            e.message(),
            "t: length 5 at byte 4 runs past the end of its message (1 bytes left)"
        );
        let e = read_len_prefixed(&buf, 0, 3, "t", ErrorKind::UnixFs, "").unwrap_err();
        assert_eq!(
            e.message(),
            "t: length 3 at byte 0 runs past the end (2 bytes left)"
        );
    }

    #[test]
    fn fields_are_written_as_their_lengths_say() {
        let mut out = Vec::new();
        put_varint_field(&mut out, tag(3, WIRE_VARINT), 300);
        assert_eq!(out, [0x18, 0xac, 0x02]);
        assert_eq!(out.len(), varint_field_len(300));
        out.clear();
        put_bytes_field(&mut out, tag(2, WIRE_LEN), &[7; 200]);
        assert_eq!(out[..3], [0x12, 0xc8, 0x01]);
        assert_eq!(out.len(), bytes_field_len(200));
        assert_eq!(tag(1, WIRE_FIXED32), 0x0d);
        assert_eq!(tag(1, WIRE_FIXED64), 0x09);
    }

    #[test]
    fn whole_fields_are_read_and_bounded() {
        // Field 1 varint 300, field 2 bytes "ab", field 3 fixed64, field 4 fixed32.
        let mut buf = Vec::new();
        put_varint_field(&mut buf, tag(1, WIRE_VARINT), 300);
        put_bytes_field(&mut buf, tag(2, WIRE_LEN), b"ab");
        buf.push(tag(3, WIRE_FIXED64));
        buf.extend_from_slice(&7u64.to_le_bytes());
        buf.push(tag(4, WIRE_FIXED32));
        buf.extend_from_slice(&9u32.to_le_bytes());
        let end = buf.len();
        assert_eq!(
            read_field(&buf, 0, end),
            Ok((1, FieldValue::Varint(300), 3))
        );
        assert_eq!(
            read_field(&buf, 3, end),
            Ok((2, FieldValue::Len { start: 5, end: 7 }, 7))
        );
        assert_eq!(
            read_field(&buf, 7, end),
            Ok((3, FieldValue::Fixed64(7), 16))
        );
        assert_eq!(
            read_field(&buf, 16, end),
            Ok((4, FieldValue::Fixed32(9), 21))
        );
        // The bytes field may not run past a smaller `end`.
        assert_eq!(read_field(&buf, 3, 6), Err(FieldError::Truncated { at: 4 }));
        assert_eq!(
            read_field(&buf, 7, 12),
            Err(FieldError::Truncated { at: 8 })
        );
        assert_eq!(
            read_field(&buf, 16, 19),
            Err(FieldError::Truncated { at: 17 })
        );
        assert_eq!(
            read_field(&[0x00, 0x00], 0, 2),
            Err(FieldError::FieldNumber { at: 0, number: 0 })
        );
        assert_eq!(
            read_field(&[0x0b], 0, 1),
            Err(FieldError::WireType { at: 0, wire: 3 })
        );
        assert_eq!(
            read_field(&[0x08, 0x80], 0, 2),
            Err(FieldError::Varint {
                at: 1,
                fault: VarintError::Truncated
            })
        );
        assert_eq!(
            read_field(&[0x08], 0, 1),
            Err(FieldError::Varint {
                at: 1,
                fault: VarintError::Truncated
            })
        );
        // Offsets past the buffer are a truncation, not a panic.
        assert!(read_field(&buf, 100, 200).is_err());
    }
}
