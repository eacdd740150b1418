//! The UnixFS `Data` message (ipfs/specs `UNIXFS.md`, including UnixFS 1.5 `mode`/`mtime`):
//! the protobuf carried in a dag-pb node's `PBNode.Data` that says what the node is (file,
//! directory, symlink, HAMT shard, ...). Decoding is ordinary proto2 (fields in any order,
//! unknown fields of valid wire types skipped for forward compatibility, a repeated scalar
//! accepted packed or unpacked, a later scalar overriding an earlier one, embedded messages
//! merged) plus the checks a reader needs: `Type` present and known, wire types right for the
//! known fields, `mtime.Seconds` present (proto2 `required`), lengths inside the input, no
//! truncation. `Data` is a zero-copy slice of the input.
//!
//! Encoding writes fields in field-number order with `blocksizes` unpacked, which is what
//! Go's protobuf marshaller writes for boxo's proto2 schema, so Kubo's bytes are reproduced
//! exactly. Also: the file-size and child-offset arithmetic the gateway needs for `File`
//! nodes (spec: "The sister-lists `PBNode.Links` and `decode(PBNode.Data).blocksizes`").

use std::ops::Range;

use bytes::Bytes;
use smallvec::SmallVec;

use super::protobuf::{
    self, put_varint_field, tag, MAX_FIELD_NUMBER, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN,
    WIRE_VARINT,
};
use crate::ipld::{Error, Result};

/// `Data.Type`: what a UnixFS node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataType {
    /// 0: a file leaf from before raw leaves (deprecated but still read).
    Raw,
    /// 1: a directory whose links are its entries.
    Directory,
    /// 2: a file (leaf or root of a chunked file).
    File,
    /// 3: reserved metadata node.
    Metadata,
    /// 4: a symbolic link; `Data` is the target.
    Symlink,
    /// 5: a HAMT shard of a sharded directory.
    HamtShard,
}

impl DataType {
    /// The type for a wire value, if it is one the spec defines.
    pub fn from_code(code: u64) -> Option<Self> {
        Some(match code {
            0 => DataType::Raw,
            1 => DataType::Directory,
            2 => DataType::File,
            3 => DataType::Metadata,
            4 => DataType::Symlink,
            5 => DataType::HamtShard,
            _ => return None,
        })
    }

    /// The wire value.
    pub fn code(self) -> u64 {
        match self {
            DataType::Raw => 0,
            DataType::Directory => 1,
            DataType::File => 2,
            DataType::Metadata => 3,
            DataType::Symlink => 4,
            DataType::HamtShard => 5,
        }
    }
}

/// UnixFS 1.5 `mtime`: seconds since the epoch (may be negative) and optional nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UnixTime {
    /// `Seconds` (field 1, int64).
    pub seconds: i64,
    /// `FractionalNanoseconds` (field 2, fixed32), as found on the wire.
    pub nanos: Option<u32>,
}

impl UnixTime {
    /// Whether the spec's on-wire range holds: nanoseconds absent or in `1..=999_999_999`
    /// (spec "mtime Field": a fractional value of 0 is not valid either).
    pub fn is_valid(&self) -> bool {
        self.nanos.is_none_or(|n| (1..=999_999_999).contains(&n))
    }
}

/// A decoded UnixFS `Data` message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnixFsData {
    /// `Type` (field 1).
    pub kind: DataType,
    /// `Data` (field 2): file bytes, symlink target, or HAMT bitfield. A slice of the input.
    pub data: Option<Bytes>,
    /// `filesize` (field 3).
    pub filesize: Option<u64>,
    /// `blocksizes` (field 4): the content size under each link of a `File`.
    pub blocksizes: SmallVec<[u64; 8]>,
    /// `hashType` (field 5): the HAMT hash function's multihash code.
    pub hash_type: Option<u64>,
    /// `fanout` (field 6): the HAMT width.
    pub fanout: Option<u64>,
    /// `mode` (field 7), all 32 bits as on the wire (see [`UnixFsData::permissions`]).
    pub mode: Option<u32>,
    /// `mtime` (field 8) as on the wire (see [`UnixFsData::valid_mtime`]).
    pub mtime: Option<UnixTime>,
}

/// Decodes a UnixFS `Data` message. `data` in the result is a slice of `input`.
pub fn decode(input: &Bytes) -> Result<UnixFsData> {
    let buf: &[u8] = input;
    let mut pos = 0;
    let mut kind = None;
    let mut data = None;
    let mut filesize = None;
    let mut blocksizes = SmallVec::new();
    let mut hash_type = None;
    let mut fanout = None;
    let mut mode = None;
    // proto2 merges repeated occurrences of an embedded message field by field.
    let mut mtime_seen = false;
    let mut mtime_seconds = None;
    let mut mtime_nanos = None;

    while pos < buf.len() {
        let (field, wire, value_at) = read_tag(buf, pos, "Data")?;
        let tag_at = pos;
        pos = match (field, wire) {
            (1, WIRE_VARINT) => {
                let (code, next) = read_varint(buf, value_at, "Data.Type")?;
                match DataType::from_code(code) {
                    Some(t) => kind = Some(t),
                    None => {
                        return Err(Error::unixfs(format!(
                            "Data.Type {code} at byte {tag_at} is not a UnixFS type (0..=5)"
                        )))
                    }
                }
                next
            }
            (2, WIRE_LEN) => {
                let (start, end) = read_len_prefixed(buf, value_at, buf.len(), "Data.Data")?;
                data = Some(input.slice(start..end));
                end
            }
            (3, WIRE_VARINT) => read_u64_into(buf, value_at, "Data.filesize", &mut filesize)?,
            (4, WIRE_VARINT) => {
                let (size, next) = read_varint(buf, value_at, "Data.blocksizes")?;
                blocksizes.push(size);
                next
            }
            (4, WIRE_LEN) => {
                // Packed encoding: a run of varints filling the length exactly.
                let (start, end) =
                    read_len_prefixed(buf, value_at, buf.len(), "Data.blocksizes (packed)")?;
                let run = &buf[..end];
                let mut at = start;
                while at < end {
                    let (size, next) = read_varint(run, at, "Data.blocksizes (packed)")?;
                    blocksizes.push(size);
                    at = next;
                }
                end
            }
            (5, WIRE_VARINT) => read_u64_into(buf, value_at, "Data.hashType", &mut hash_type)?,
            (6, WIRE_VARINT) => read_u64_into(buf, value_at, "Data.fanout", &mut fanout)?,
            (7, WIRE_VARINT) => {
                let (value, next) = read_varint(buf, value_at, "Data.mode")?;
                match u32::try_from(value) {
                    Ok(value) => mode = Some(value),
                    Err(_) => {
                        return Err(Error::unixfs(format!(
                            "Data.mode {value} at byte {tag_at} does not fit in uint32"
                        )))
                    }
                }
                next
            }
            (8, WIRE_LEN) => {
                let (start, end) = read_len_prefixed(buf, value_at, buf.len(), "Data.mtime")?;
                mtime_seen = true;
                decode_unix_time(&buf[..end], start, &mut mtime_seconds, &mut mtime_nanos)?;
                end
            }
            (1..=8, _) => {
                return Err(Error::unixfs(format!(
                    "Data field {field} has wire type {wire}, which its type does not allow, at \
                     byte {tag_at}"
                )))
            }
            _ => skip_field(buf, value_at, wire, field, tag_at)?,
        };
    }

    let Some(kind) = kind else {
        return Err(Error::unixfs("Data.Type is missing (it is required)"));
    };
    let mtime = match (mtime_seen, mtime_seconds) {
        (false, _) => None,
        (true, Some(seconds)) => Some(UnixTime {
            seconds,
            nanos: mtime_nanos,
        }),
        (true, None) => {
            return Err(Error::unixfs(
                "Data.mtime has no Seconds (required when mtime is present)",
            ))
        }
    };
    Ok(UnixFsData {
        kind,
        data,
        filesize,
        blocksizes,
        hash_type,
        fanout,
        mode,
        mtime,
    })
}

/// Decodes the `UnixTime` message in `buf[start..]` (`buf` ends where the message ends),
/// merging into the fields seen so far.
fn decode_unix_time(
    buf: &[u8],
    start: usize,
    seconds: &mut Option<i64>,
    nanos: &mut Option<u32>,
) -> Result<()> {
    let mut pos = start;
    while pos < buf.len() {
        let tag_at = pos;
        let (field, wire, value_at) = read_tag(buf, pos, "Data.mtime")?;
        pos = match (field, wire) {
            (1, WIRE_VARINT) => {
                let (value, next) = read_varint(buf, value_at, "Data.mtime.Seconds")?;
                // int64 travels as its two's-complement bits (negative = 10-byte varint).
                *seconds = Some(value as i64);
                next
            }
            (2, WIRE_FIXED32) => {
                let (value, next) =
                    read_fixed32(buf, value_at, "Data.mtime.FractionalNanoseconds")?;
                *nanos = Some(value);
                next
            }
            (1 | 2, _) => {
                return Err(Error::unixfs(format!(
                    "Data.mtime field {field} has wire type {wire}, which its type does not \
                     allow, at byte {tag_at}"
                )))
            }
            _ => skip_field(buf, value_at, wire, field, tag_at)?,
        };
    }
    Ok(())
}

impl UnixFsData {
    /// A message of the given type with every other field absent.
    pub fn new(kind: DataType) -> Self {
        UnixFsData {
            kind,
            data: None,
            filesize: None,
            blocksizes: SmallVec::new(),
            hash_type: None,
            fanout: None,
            mode: None,
            mtime: None,
        }
    }

    /// The size of the content this node stands for: `filesize` when present; otherwise,
    /// for `File`/`Raw`, the spec's Blocksize (`Data` length plus the sum of `blocksizes`),
    /// which is the leaf's `Data` length for a leaf; for a `Symlink`, the target length
    /// (as boxo does); 0 for directories, shards and metadata. Saturates instead of
    /// overflowing on hostile numbers.
    pub fn file_size(&self) -> u64 {
        if let Some(size) = self.filesize {
            return size;
        }
        match self.kind {
            DataType::File | DataType::Raw => self.content_size(),
            DataType::Symlink => self.data_len(),
            DataType::Directory | DataType::HamtShard | DataType::Metadata => 0,
        }
    }

    /// Length of the `Data` field (0 when absent).
    pub fn data_len(&self) -> u64 {
        self.data.as_ref().map_or(0, |d| d.len() as u64)
    }

    /// The spec's Blocksize of a file node: `Data` length plus all `blocksizes`, saturating.
    pub fn content_size(&self) -> u64 {
        self.blocksizes
            .iter()
            .fold(self.data_len(), |sum, &size| sum.saturating_add(size))
    }

    /// Byte ranges, within this file node's content, covered by each child link in order:
    /// the first child starts after this node's own `Data` (spec "Offset List").
    pub fn child_ranges(&self) -> ChildRanges<'_> {
        ChildRanges {
            sizes: self.blocksizes.iter(),
            offset: self.data_len(),
        }
    }

    /// The index of the child holding content byte `offset` and that child's range, or
    /// `None` when the offset falls in this node's own `Data` or past the end.
    pub fn child_at(&self, offset: u64) -> Option<(usize, Range<u64>)> {
        // Linear: a node has at most a few thousand links and callers walk forwards.
        self.child_ranges()
            .enumerate()
            .find(|(_, range)| range.contains(&offset))
    }

    /// Checks a `File` node's sister lists (spec: a parser "MUST reject the node" when
    /// `blocksizes` and `Links` differ in length) and, when `filesize` is present, that it
    /// equals the Blocksize (spec: "otherwise the file is invalid").
    pub fn check_file_children(&self, link_count: usize) -> Result<()> {
        if self.blocksizes.len() != link_count {
            return Err(Error::unixfs(format!(
                "file node has {link_count} links but {} blocksizes",
                self.blocksizes.len()
            )));
        }
        let total = self
            .blocksizes
            .iter()
            .try_fold(self.data_len(), |sum, &size| sum.checked_add(size));
        match (total, self.filesize) {
            (None, _) => Err(Error::unixfs("file node's blocksizes overflow 64 bits")),
            (Some(total), Some(filesize)) if total != filesize => Err(Error::unixfs(format!(
                "file node's filesize {filesize} differs from its data plus blocksizes {total}"
            ))),
            _ => Ok(()),
        }
    }

    /// `mtime` if it is valid per the spec; an out-of-range nanosecond field makes it
    /// unusable and it reads as absent, as boxo's `FSNode.ModTime` does.
    pub fn valid_mtime(&self) -> Option<UnixTime> {
        self.mtime.filter(UnixTime::is_valid)
    }

    /// The permission bits the spec defines (`mode & 0o7777`); the rest are reserved.
    pub fn permissions(&self) -> Option<u32> {
        self.mode.map(|mode| mode & 0o7777)
    }

    /// Exact length of [`UnixFsData::encode`]'s output.
    pub fn encoded_len(&self) -> usize {
        let mut len = protobuf::varint_field_len(self.kind.code());
        if let Some(data) = &self.data {
            len += protobuf::bytes_field_len(data.len());
        }
        for value in [self.filesize]
            .into_iter()
            .chain(self.blocksizes.iter().map(|&s| Some(s)))
            .chain([self.hash_type, self.fanout, self.mode.map(u64::from)])
            .flatten()
        {
            len += protobuf::varint_field_len(value);
        }
        if let Some(mtime) = &self.mtime {
            len += protobuf::bytes_field_len(unix_time_len(mtime));
        }
        len
    }

    /// Appends the encoding to `out` (see [`UnixFsData::encode`]).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        put_varint_field(out, tag(1, WIRE_VARINT), self.kind.code());
        if let Some(data) = &self.data {
            protobuf::put_bytes_field(out, tag(2, WIRE_LEN), data);
        }
        if let Some(filesize) = self.filesize {
            put_varint_field(out, tag(3, WIRE_VARINT), filesize);
        }
        for &size in &self.blocksizes {
            // Unpacked: proto2 `repeated uint64` without `[packed=true]`, as Go writes it.
            put_varint_field(out, tag(4, WIRE_VARINT), size);
        }
        if let Some(hash_type) = self.hash_type {
            put_varint_field(out, tag(5, WIRE_VARINT), hash_type);
        }
        if let Some(fanout) = self.fanout {
            put_varint_field(out, tag(6, WIRE_VARINT), fanout);
        }
        if let Some(mode) = self.mode {
            put_varint_field(out, tag(7, WIRE_VARINT), u64::from(mode));
        }
        if let Some(mtime) = &self.mtime {
            protobuf::put_len_prefix(out, tag(8, WIRE_LEN), unix_time_len(mtime));
            put_varint_field(out, tag(1, WIRE_VARINT), mtime.seconds as u64);
            if let Some(nanos) = encodable_nanos(mtime) {
                out.push(tag(2, WIRE_FIXED32));
                out.extend_from_slice(&nanos.to_le_bytes());
            }
        }
    }

    /// Encodes in field-number order, `blocksizes` unpacked: byte for byte what Kubo (Go
    /// protobuf over boxo's schema) writes for the same fields. A zero nanosecond field is
    /// dropped, as the spec requires of encoders.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }
}

/// The nanoseconds an encoder writes: the spec says fractional 0 "MUST" be stripped.
fn encodable_nanos(mtime: &UnixTime) -> Option<u32> {
    mtime.nanos.filter(|&n| n != 0)
}

fn unix_time_len(mtime: &UnixTime) -> usize {
    protobuf::varint_field_len(mtime.seconds as u64) + encodable_nanos(mtime).map_or(0, |_| 1 + 4)
}

/// Iterator over the content ranges of a file node's children (see
/// [`UnixFsData::child_ranges`]). Offsets saturate at `u64::MAX` on hostile sizes.
#[derive(Clone, Debug)]
pub struct ChildRanges<'a> {
    sizes: std::slice::Iter<'a, u64>,
    offset: u64,
}

impl Iterator for ChildRanges<'_> {
    type Item = Range<u64>;

    fn next(&mut self) -> Option<Range<u64>> {
        let size = *self.sizes.next()?;
        let start = self.offset;
        self.offset = start.saturating_add(size);
        Some(start..self.offset)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.sizes.size_hint()
    }
}

impl ExactSizeIterator for ChildRanges<'_> {}

/// Reads a tag at `pos`; returns (field number, wire type, offset after the tag).
fn read_tag(buf: &[u8], pos: usize, message: &str) -> Result<(u64, u64, usize)> {
    let (tag, next) = read_varint(buf, pos, message)?;
    let field = tag >> 3;
    if field == 0 || field > MAX_FIELD_NUMBER {
        return Err(Error::unixfs(format!(
            "{message} has invalid field number {field} at byte {pos}"
        )));
    }
    Ok((field, tag & 7, next))
}

/// Skips an unknown field's value; returns the offset after it. Groups (wire types 3 and 4,
/// deprecated and never used by UnixFS) and the undefined wire types 6 and 7 are rejected.
fn skip_field(buf: &[u8], value_at: usize, wire: u64, field: u64, tag_at: usize) -> Result<usize> {
    let fixed = |width: usize| {
        if buf.len().saturating_sub(value_at) < width {
            Err(Error::unixfs(format!(
                "unknown field {field} at byte {tag_at} is truncated"
            )))
        } else {
            Ok(value_at + width)
        }
    };
    match wire {
        WIRE_VARINT => Ok(read_varint(buf, value_at, "unknown field")?.1),
        WIRE_FIXED64 => fixed(8),
        WIRE_LEN => Ok(read_len_prefixed(buf, value_at, buf.len(), "unknown field")?.1),
        WIRE_FIXED32 => fixed(4),
        _ => Err(Error::unixfs(format!(
            "field {field} at byte {tag_at} has unsupported wire type {wire}"
        ))),
    }
}

fn read_u64_into(buf: &[u8], pos: usize, what: &str, slot: &mut Option<u64>) -> Result<usize> {
    let (value, next) = read_varint(buf, pos, what)?;
    *slot = Some(value);
    Ok(next)
}

fn read_fixed32(buf: &[u8], pos: usize, what: &str) -> Result<(u32, usize)> {
    match buf.get(pos..).and_then(|rest| rest.first_chunk::<4>()) {
        Some(bytes) => Ok((u32::from_le_bytes(*bytes), pos + 4)),
        None => Err(Error::unixfs(format!(
            "{what}: fixed32 at byte {pos} is truncated"
        ))),
    }
}

/// Reads a protobuf varint at `buf[pos..]` (see [`protobuf::read_varint`]).
#[inline]
fn read_varint(buf: &[u8], pos: usize, what: &str) -> Result<(u64, usize)> {
    protobuf::read_varint(buf, pos, what, super::ErrorKind::UnixFs)
}

/// Reads a length prefix at `pos` and checks the payload ends by `end`; returns its range (see
/// [`protobuf::read_len_prefixed`]).
fn read_len_prefixed(buf: &[u8], pos: usize, end: usize, what: &str) -> Result<(usize, usize)> {
    protobuf::read_len_prefixed(buf, pos, end, what, super::ErrorKind::UnixFs, "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipld::ErrorKind;
    use sha2::{Digest, Sha256};

    fn dec(bytes: &[u8]) -> Result<UnixFsData> {
        decode(&Bytes::copy_from_slice(bytes))
    }

    fn err(bytes: &[u8]) -> Error {
        let e = dec(bytes).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnixFs, "{e}");
        e
    }

    #[test]
    fn empty_directory_vector() {
        let d = dec(&[0x08, 0x01]).unwrap();
        assert_eq!(d, UnixFsData::new(DataType::Directory));
        assert_eq!(d.encode(), [0x08, 0x01]);
        assert_eq!(d.file_size(), 0);
    }

    #[test]
    fn hello_file_leaf_matches_kubo() {
        let expected = [
            0x08, 0x02, 0x12, 0x06, b'h', b'e', b'l', b'l', b'o', b'\n', 0x18, 0x06,
        ];
        let mut leaf = UnixFsData::new(DataType::File);
        leaf.data = Some(Bytes::from_static(b"hello\n"));
        leaf.filesize = Some(6);
        assert_eq!(leaf.encode(), expected);
        assert_eq!(leaf.encoded_len(), expected.len());
        let input = Bytes::copy_from_slice(&expected);
        let decoded = decode(&input).unwrap();
        assert_eq!(decoded, leaf);
        // Zero-copy: Data points into the input.
        assert_eq!(decoded.data.as_ref().unwrap().as_ptr(), input[4..].as_ptr());
        assert_eq!(decoded.file_size(), 6);

        // Wrapped as PBNode.Data (`0a 0c` + message), hashed: Kubo's CIDv0 for "hello\n".
        let mut node = vec![0x0a, expected.len() as u8];
        node.extend_from_slice(&expected);
        let digest = Sha256::digest(&node);
        let mh = multihash::Multihash::<64>::wrap(0x12, &digest).unwrap();
        let cid = cid::Cid::new_v0(mh).unwrap();
        assert_eq!(
            cid.to_string(),
            "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"
        );
    }

    #[test]
    fn full_round_trip_in_field_order() {
        let mut d = UnixFsData::new(DataType::File);
        d.data = Some(Bytes::from_static(b"abc"));
        d.filesize = Some(3 + 262144 + 10);
        d.blocksizes = SmallVec::from_slice(&[262144, 10]);
        d.hash_type = Some(0x22);
        d.fanout = Some(256);
        d.mode = Some(0o100644);
        d.mtime = Some(UnixTime {
            seconds: -5,
            nanos: Some(999_999_999),
        });
        let bytes = d.encode();
        assert_eq!(bytes.len(), d.encoded_len());
        // Field order and unpacked blocksizes.
        let tags: Vec<u8> = {
            let mut tags = Vec::new();
            let mut pos = 0;
            let input = &bytes[..];
            while pos < input.len() {
                let (field, wire, next) = read_tag(input, pos, "t").unwrap();
                tags.push((field << 3 | wire) as u8);
                pos = match wire {
                    0 => read_varint(input, next, "t").unwrap().1,
                    _ => read_len_prefixed(input, next, input.len(), "t").unwrap().1,
                };
            }
            tags
        };
        assert_eq!(tags, [0x08, 0x12, 0x18, 0x20, 0x20, 0x28, 0x30, 0x38, 0x42]);
        // Negative seconds: a 10-byte varint.
        assert!(bytes.ends_with(
            &[0x42, 0x10, 0x08, 0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
                .iter()
                .chain(&[0xff, 0xff, 0x01, 0x15, 0xff, 0xc9, 0x9a, 0x3b])
                .copied()
                .collect::<Vec<u8>>()
        ));
        assert_eq!(dec(&bytes).unwrap(), d);
    }

    #[test]
    fn accepts_any_order_packed_blocksizes_and_unknown_fields() {
        // filesize, packed blocksizes [1, 300], an unknown varint field 9, unknown fixed64
        // field 10, unknown bytes field 11, unknown fixed32 field 12, then Type.
        let bytes = [
            0x18, 0x81, 0x02, // filesize 257
            0x22, 0x03, 0x01, 0xac, 0x02, // blocksizes packed [1, 300]
            0x48, 0x05, // field 9 varint
            0x51, 1, 2, 3, 4, 5, 6, 7, 8, // field 10 fixed64
            0x5a, 0x02, 0xff, 0xff, // field 11 bytes
            0x65, 1, 2, 3, 4, // field 12 fixed32
            0x20, 0x07, // blocksizes unpacked 7
            0x08, 0x02, // Type File
        ];
        let d = dec(&bytes).unwrap();
        assert_eq!(d.kind, DataType::File);
        assert_eq!(d.filesize, Some(257));
        assert_eq!(&d.blocksizes[..], &[1, 300, 7]);
        // Re-encoded canonically, unknown fields dropped.
        let mut expected = UnixFsData::new(DataType::File);
        expected.filesize = Some(257);
        expected.blocksizes = SmallVec::from_slice(&[1, 300, 7]);
        assert_eq!(d, expected);
    }

    #[test]
    fn later_scalars_win_and_mtime_merges() {
        let bytes = [
            0x08, 0x01, 0x08, 0x02, // Type Directory then File
            0x42, 0x02, 0x08, 0x07, // mtime { Seconds 7 }
            0x42, 0x05, 0x15, 0x01, 0x00, 0x00, 0x00, // mtime { nanos 1 }
        ];
        let d = dec(&bytes).unwrap();
        assert_eq!(d.kind, DataType::File);
        assert_eq!(
            d.mtime,
            Some(UnixTime {
                seconds: 7,
                nanos: Some(1)
            })
        );
    }

    #[test]
    fn rejects_malformed() {
        assert!(err(&[]).message().contains("Type is missing"));
        assert!(err(&[0x18, 0x01]).message().contains("Type is missing"));
        assert!(err(&[0x08, 0x06]).message().contains("not a UnixFS type"));
        assert!(err(&[0x08, 0x80, 0x80, 0x01])
            .message()
            .contains("not a UnixFS type"));
        // Wrong wire types for known fields.
        assert!(err(&[0x0a, 0x00]).message().contains("wire type 2"));
        assert!(err(&[0x08, 0x02, 0x10, 0x01]).message().contains("field 2"));
        assert!(err(&[0x08, 0x02, 0x45, 0, 0, 0, 0])
            .message()
            .contains("field 8"));
        // Truncations.
        assert!(err(&[0x08]).message().contains("truncated"));
        assert!(err(&[0x08, 0x02, 0x12, 0x05, b'a'])
            .message()
            .contains("runs past"));
        assert!(err(&[0x08, 0x02, 0x22, 0x01, 0x80])
            .message()
            .contains("truncated"));
        assert!(err(&[0x08, 0x02, 0x51, 1, 2, 3])
            .message()
            .contains("truncated"));
        assert!(err(&[0x08, 0x02, 0x65, 1]).message().contains("truncated"));
        assert!(err(&[0x08, 0x02, 0x42, 0x03, 0x15, 1, 2])
            .message()
            .contains("truncated"));
        // Packed blocksizes whose last varint would run past the packed length.
        let e = err(&[0x08, 0x02, 0x22, 0x01, 0x80, 0x01]);
        assert!(e.message().contains("truncated"), "{e}");
        // mtime without Seconds.
        assert!(err(&[0x08, 0x02, 0x42, 0x00])
            .message()
            .contains("no Seconds"));
        assert!(err(&[0x08, 0x02, 0x42, 0x05, 0x15, 1, 0, 0, 0])
            .message()
            .contains("no Seconds"));
        // mtime fields with wrong wire types.
        err(&[0x08, 0x02, 0x42, 0x02, 0x10, 0x01]);
        // mode beyond uint32.
        assert!(err(&[0x08, 0x02, 0x38, 0x80, 0x80, 0x80, 0x80, 0x10])
            .message()
            .contains("uint32"));
        // Groups, bad wire types, field 0.
        err(&[0x08, 0x02, 0x4b]);
        err(&[0x08, 0x02, 0x4c]);
        err(&[0x08, 0x02, 0x4e]);
        err(&[0x08, 0x02, 0x4f]);
        err(&[0x00, 0x00]);
        // Varint overflow.
        err(&[
            0x08, 0x02, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ]);
    }

    #[test]
    fn error_messages_carry_offsets() {
        let e = err(&[0x08, 0x02, 0x12, 0x05, b'a']);
        assert!(e.message().contains("byte 3"), "{e}");
        let e = err(&[0x08, 0x02, 0x08, 0x09]);
        assert!(e.message().contains("byte 2"), "{e}");
    }

    #[test]
    fn mtime_validity_and_encoding() {
        let mut d = UnixFsData::new(DataType::File);
        for (nanos, valid) in [
            (None, true),
            (Some(0), false),
            (Some(1), true),
            (Some(999_999_999), true),
            (Some(1_000_000_000), false),
        ] {
            d.mtime = Some(UnixTime { seconds: 1, nanos });
            assert_eq!(d.valid_mtime().is_some(), valid, "{nanos:?}");
        }
        // Decode keeps what was on the wire; encode strips a zero fraction.
        let wire = [0x08, 0x02, 0x42, 0x07, 0x08, 0x01, 0x15, 0, 0, 0, 0];
        let decoded = dec(&wire).unwrap();
        assert_eq!(
            decoded.mtime,
            Some(UnixTime {
                seconds: 1,
                nanos: Some(0)
            })
        );
        assert_eq!(decoded.valid_mtime(), None);
        assert_eq!(decoded.encode(), [0x08, 0x02, 0x42, 0x02, 0x08, 0x01]);
        assert_eq!(decoded.encoded_len(), 6);
    }

    #[test]
    fn mode_permissions() {
        let mut d = UnixFsData::new(DataType::File);
        d.mode = Some(0xFFFF_F1ED);
        assert_eq!(d.permissions(), Some(0o755));
        let round = dec(&d.encode()).unwrap();
        assert_eq!(round.mode, Some(0xFFFF_F1ED));
    }

    #[test]
    fn file_sizes_and_child_ranges() {
        let mut d = UnixFsData::new(DataType::File);
        d.data = Some(Bytes::from_static(b"xyz"));
        d.blocksizes = SmallVec::from_slice(&[20, 30]);
        assert_eq!(d.file_size(), 53);
        let ranges: Vec<_> = d.child_ranges().collect();
        assert_eq!(ranges, [3..23, 23..53]);
        assert_eq!(d.child_ranges().len(), 2);
        assert_eq!(d.child_at(0), None);
        assert_eq!(d.child_at(3), Some((0, 3..23)));
        assert_eq!(d.child_at(22), Some((0, 3..23)));
        assert_eq!(d.child_at(23), Some((1, 23..53)));
        assert_eq!(d.child_at(53), None);
        assert!(d.check_file_children(2).is_ok());
        assert!(d.check_file_children(1).is_err());
        d.filesize = Some(53);
        assert!(d.check_file_children(2).is_ok());
        d.filesize = Some(50);
        assert_eq!(d.file_size(), 50);
        assert!(d
            .check_file_children(2)
            .unwrap_err()
            .message()
            .contains("filesize"));

        // Hostile sizes saturate rather than overflow.
        d.filesize = None;
        d.blocksizes = SmallVec::from_slice(&[u64::MAX, 5]);
        assert_eq!(d.file_size(), u64::MAX);
        assert_eq!(d.child_ranges().last(), Some(u64::MAX..u64::MAX));
        assert!(d
            .check_file_children(2)
            .unwrap_err()
            .message()
            .contains("overflow"));

        // Raw leaf without filesize: its data length. Symlink: target length.
        let mut raw = UnixFsData::new(DataType::Raw);
        raw.data = Some(Bytes::from_static(b"12345"));
        assert_eq!(raw.file_size(), 5);
        let mut link = UnixFsData::new(DataType::Symlink);
        link.data = Some(Bytes::from_static(b"../target"));
        assert_eq!(link.file_size(), 9);
        let mut dir = UnixFsData::new(DataType::HamtShard);
        dir.data = Some(Bytes::from_static(b"\xff"));
        assert_eq!(dir.file_size(), 0);
    }

    #[test]
    fn data_types_round_trip() {
        for code in 0..6 {
            let kind = DataType::from_code(code).unwrap();
            assert_eq!(kind.code(), code);
            let d = dec(&[0x08, code as u8]).unwrap();
            assert_eq!(d.kind, kind);
        }
        assert_eq!(DataType::from_code(6), None);
    }

    #[test]
    fn never_panics_on_truncations_and_bit_flips() {
        let mut d = UnixFsData::new(DataType::HamtShard);
        d.data = Some(Bytes::from_static(&[0x80, 0, 1]));
        d.blocksizes = SmallVec::from_slice(&[1, 1 << 40]);
        d.hash_type = Some(0x22);
        d.fanout = Some(256);
        d.mode = Some(0o755);
        d.mtime = Some(UnixTime {
            seconds: 1_700_000_000,
            nanos: Some(5),
        });
        let bytes = d.encode();
        for cut in 0..bytes.len() {
            let _ = dec(&bytes[..cut]);
        }
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[i] ^= 1 << bit;
                if let Ok(mut decoded) = dec(&flipped) {
                    // The encoder strips a zero fraction (spec), so compare without it.
                    if let Some(mtime) = &mut decoded.mtime {
                        mtime.nanos = mtime.nanos.filter(|&n| n != 0);
                    }
                    assert_eq!(dec(&decoded.encode()).unwrap(), decoded);
                }
            }
        }
    }
}
