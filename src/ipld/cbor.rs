//! CBOR item heads (RFC 8949 §3.1): the initial byte's major type and additional information,
//! the big-endian argument after it, and the minimal head DAG-CBOR requires of encoders. The
//! one head reader, writer and length function every CBOR user in cairn calls (CAR headers,
//! IPNS `data`, dag-cbor paths and links, the text preview); callers word the errors.

/// Major type 0: an unsigned integer.
pub(crate) const MAJOR_UINT: u8 = 0;
/// Major type 1: a negative integer, `-1 - argument`.
pub(crate) const MAJOR_NEGATIVE: u8 = 1;
/// Major type 2: a byte string.
pub(crate) const MAJOR_BYTES: u8 = 2;
/// Major type 3: a UTF-8 text string.
pub(crate) const MAJOR_TEXT: u8 = 3;
/// Major type 4: an array.
pub(crate) const MAJOR_ARRAY: u8 = 4;
/// Major type 5: a map.
pub(crate) const MAJOR_MAP: u8 = 5;
/// Major type 6: a tag.
pub(crate) const MAJOR_TAG: u8 = 6;
/// Major type 7: simple values and floats.
pub(crate) const MAJOR_SIMPLE: u8 = 7;

/// The tag DAG-CBOR puts on CID links (DAG-CBOR spec, "Links").
pub(crate) const TAG_CID: u64 = 42;

/// Additional information 31: an indefinite length (or a "break"), forbidden in DAG-CBOR.
pub(crate) const INFO_INDEFINITE: u8 = 31;

/// Why a head did not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// No initial byte.
    Truncated,
    /// Additional information 28 to 31 (reserved, or [`INFO_INDEFINITE`]), carried here.
    Reserved(u8),
    /// The argument bytes run past the end.
    ArgumentTruncated,
}

/// One item head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub major: u8,
    pub info: u8,
    /// The argument: `info` itself below 24, else the big-endian bytes after the initial byte.
    pub arg: u64,
    /// Bytes the head took, initial byte included.
    pub len: usize,
}

impl Head {
    /// Whether the argument took the fewest bytes it could (what DAG-CBOR requires).
    pub(crate) fn is_minimal(&self) -> bool {
        self.len == head_len(self.arg)
    }
}

/// The major type and additional information of an initial byte.
#[inline]
pub(crate) fn split_initial(initial: u8) -> (u8, u8) {
    (initial >> 5, initial & 0x1f)
}

/// Bytes of argument after an initial byte with additional information `info`: none below
/// 24, then 1, 2, 4 or 8; `None` for 28 to 31.
#[inline]
pub(crate) fn argument_width(info: u8) -> Option<usize> {
    match info {
        0..=23 => Some(0),
        24 => Some(1),
        25 => Some(2),
        26 => Some(4),
        27 => Some(8),
        _ => None,
    }
}

/// Reads the argument of a head with additional information `info` from `after`, the bytes
/// after its initial byte. Returns the argument and the bytes it took there.
#[inline]
pub(crate) fn read_argument(after: &[u8], info: u8) -> Result<(u64, usize), HeadError> {
    let width = argument_width(info).ok_or(HeadError::Reserved(info))?;
    if width == 0 {
        return Ok((u64::from(info), 0));
    }
    let bytes = after.get(..width).ok_or(HeadError::ArgumentTruncated)?;
    Ok((
        bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
        width,
    ))
}

/// Reads the head at `buf[pos..]`.
#[inline]
pub(crate) fn read_head(buf: &[u8], pos: usize) -> Result<Head, HeadError> {
    let initial = *buf.get(pos).ok_or(HeadError::Truncated)?;
    let (major, info) = split_initial(initial);
    let (arg, width) = read_argument(&buf[pos + 1..], info)?;
    Ok(Head {
        major,
        info,
        arg,
        len: 1 + width,
    })
}

/// Bytes of the minimal head carrying `arg`.
#[inline]
pub(crate) fn head_len(arg: u64) -> usize {
    match arg {
        0..=23 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// Appends the minimal head of major type `major` carrying `arg`.
pub(crate) fn write_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let major = major << 5;
    match head_len(arg) {
        1 => out.push(major | arg as u8),
        2 => out.extend_from_slice(&[major | 24, arg as u8]),
        3 => {
            out.push(major | 25);
            out.extend_from_slice(&(arg as u16).to_be_bytes());
        }
        5 => {
            out.push(major | 26);
            out.extend_from_slice(&(arg as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend_from_slice(&arg.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_minimal_and_read_back() {
        let cases: [(u64, &[u8]); 10] = [
            (0, &[0x40]),
            (23, &[0x57]),
            (24, &[0x58, 24]),
            (0xff, &[0x58, 0xff]),
            (0x100, &[0x59, 0x01, 0x00]),
            (0xffff, &[0x59, 0xff, 0xff]),
            (0x1_0000, &[0x5a, 0, 1, 0, 0]),
            (0xffff_ffff, &[0x5a, 0xff, 0xff, 0xff, 0xff]),
            (0x1_0000_0000, &[0x5b, 0, 0, 0, 1, 0, 0, 0, 0]),
            (
                u64::MAX,
                &[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
        ];
        for (arg, bytes) in cases {
            let mut out = Vec::new();
            write_head(&mut out, MAJOR_BYTES, arg);
            assert_eq!(out, bytes, "{arg}");
            assert_eq!(head_len(arg), bytes.len());
            let head = read_head(&out, 0).unwrap();
            assert_eq!(
                (head.major, head.arg, head.len),
                (MAJOR_BYTES, arg, bytes.len())
            );
            assert!(head.is_minimal());
        }
    }

    #[test]
    fn bad_heads_are_told_apart() {
        assert_eq!(read_head(&[], 0), Err(HeadError::Truncated));
        assert_eq!(read_head(&[0x18], 1), Err(HeadError::Truncated));
        assert_eq!(
            read_head(&[0x19, 0x01], 0),
            Err(HeadError::ArgumentTruncated)
        );
        assert_eq!(
            read_head(&[0x5f], 0),
            Err(HeadError::Reserved(INFO_INDEFINITE))
        );
        assert_eq!(read_head(&[0x1c], 0), Err(HeadError::Reserved(28)));
        // A padded argument reads but is not minimal.
        let padded = read_head(&[0x19, 0x00, 0x17], 0).unwrap();
        assert_eq!((padded.arg, padded.len), (23, 3));
        assert!(!padded.is_minimal());
        assert_eq!(split_initial(0xd8), (MAJOR_TAG, 24));
        assert_eq!(argument_width(26), Some(4));
        assert_eq!(argument_width(30), None);
        assert_eq!(read_argument(&[0x2a], 24), Ok((TAG_CID, 1)));
    }
}
