//! Unsigned LEB128 varints (multiformats unsigned-varint, protobuf base-128 varints): the one
//! encoder, length function and decoder everything else calls. Callers turn a
//! [`VarintError`] into their own error type and wording.

/// The longest varint a u64 takes: 10 bytes (the tenth carries bit 63 only).
pub(crate) const MAX_LEN: usize = 10;

/// Why a varint did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VarintError {
    /// The bytes ended before the last varint byte.
    Truncated,
    /// The tenth byte has its continuation bit set.
    TooLong,
    /// The tenth byte carries bits past bit 63.
    Overflow,
    /// A shorter encoding of the same value exists (only [`decode_minimal`] checks).
    NotMinimal,
}

/// Bytes [`put`] writes for `value`: one per started group of 7 bits; zero still takes one.
#[inline]
pub(crate) fn len(value: u64) -> usize {
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Appends the varint encoding of `value` (always the minimal form).
#[inline]
pub(crate) fn put(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Decodes a varint from the front of `bytes`: at most [`MAX_LEN`] bytes, no bits past 64;
/// non-minimal encodings are accepted (protobuf allows them). Returns the value and the number
/// of bytes it took.
#[inline]
pub(crate) fn decode(bytes: impl IntoIterator<Item = u8>) -> Result<(u64, usize), VarintError> {
    let mut value: u64 = 0;
    for (index, byte) in bytes.into_iter().take(MAX_LEN).enumerate() {
        if index == MAX_LEN - 1 && byte > 1 {
            return Err(if byte & 0x80 != 0 {
                VarintError::TooLong
            } else {
                VarintError::Overflow
            });
        }
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Ok((value, index + 1));
        }
    }
    Err(VarintError::Truncated)
}

/// Decodes a varint from the front of `bytes` at `pos` (see [`decode`]), with a one-byte fast
/// path for the common small values.
#[inline]
pub(crate) fn decode_at(bytes: &[u8], pos: usize) -> Result<(u64, usize), VarintError> {
    match bytes.get(pos..) {
        Some([byte, ..]) if *byte < 0x80 => Ok((u64::from(*byte), 1)),
        Some(rest) => decode(rest.iter().copied()),
        None => Err(VarintError::Truncated),
    }
}

/// [`decode`], refusing non-minimal encodings as the unsigned-varint spec requires.
#[inline]
pub(crate) fn decode_minimal(
    bytes: impl IntoIterator<Item = u8>,
) -> Result<(u64, usize), VarintError> {
    let (value, used) = decode(bytes)?;
    if used != len(value) {
        return Err(VarintError::NotMinimal);
    }
    Ok((value, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put(&mut out, value);
        out
    }

    #[test]
    fn len_matches_the_encoder_and_decoding_round_trips() {
        for value in [
            0,
            1,
            127,
            128,
            16383,
            16384,
            u64::from(u32::MAX),
            u64::MAX >> 1,
            u64::MAX,
        ] {
            let bytes = encoded(value);
            assert_eq!(bytes.len(), len(value), "{value}");
            assert_eq!(decode(bytes.iter().copied()), Ok((value, bytes.len())));
            assert_eq!(
                decode_minimal(bytes.iter().copied()),
                Ok((value, bytes.len()))
            );
            assert_eq!(decode_at(&bytes, 0), Ok((value, bytes.len())));
        }
        assert_eq!(encoded(300), [0xac, 0x02]);
        assert_eq!(len(u64::MAX), MAX_LEN);
    }

    #[test]
    fn limits() {
        // Ten bytes with bit 63 set: the largest legal varint.
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(decode(max), Ok((u64::MAX, 10)));
        // Tenth byte with more than one bit: overflow.
        let overflow = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(decode(overflow), Err(VarintError::Overflow));
        // Eleven bytes.
        assert_eq!(decode([0x80; 11]), Err(VarintError::TooLong));
        // Truncated.
        assert_eq!(decode([0x80]), Err(VarintError::Truncated));
        assert_eq!(decode([]), Err(VarintError::Truncated));
        assert_eq!(decode_at(&[0x01], 1), Err(VarintError::Truncated));
        assert_eq!(decode_at(&[0x01], 2), Err(VarintError::Truncated));
        // Non-minimal varints are legal protobuf; the unsigned-varint spec refuses them.
        assert_eq!(decode([0x81, 0x00]), Ok((1, 2)));
        assert_eq!(decode_minimal([0x81, 0x00]), Err(VarintError::NotMinimal));
        assert_eq!(decode_minimal([0x85, 0x00]), Err(VarintError::NotMinimal));
        let mut padded_max = [0x80u8; 10];
        padded_max[9] = 0x00;
        assert_eq!(decode_minimal(padded_max), Err(VarintError::NotMinimal));
        // Trailing bytes are left alone.
        assert_eq!(decode_at(&[0x00, 0xac, 0x02, 0xff], 1), Ok((300, 2)));
    }
}
