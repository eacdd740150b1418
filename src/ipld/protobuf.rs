//! Protobuf wire-format pieces: wire types, field tags, varint reading with the ipld error
//! wording, and the field writers and length functions the dag-pb, UnixFS, IPNS and libp2p key
//! encoders share. Varints themselves are [`super::varint`]'s.

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
}
