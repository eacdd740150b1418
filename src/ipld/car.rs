//! CAR (Content Addressable aRchive) framing: a push-style ("sans-IO") decoder for CARv1 and
//! CARv2 streams, and the encoding helpers needed to stream a CARv1 out.
//!
//! Implements the IPLD specs `transport/car/carv1` (header = varint length + DAG-CBOR
//! `{"roots": [CID...], "version": 1}`, then sections of varint length + binary CID + block
//! bytes) and `transport/car/carv2` (11-byte pragma, 40-byte fixed header, padding up to the
//! data offset, an inner CARv1 payload of exactly "data size" bytes, then an optional index that
//! this module skips).
//!
//! The decoder does no I/O: callers [`CarDecoder::push`] chunks (file reads, HTTP body frames,
//! fuzz input) and pull [`CarEvent`]s with [`CarDecoder::next`]. Block data is handed out as a
//! zero-copy slice of the pushed chunk whenever a section lies inside one chunk. Every length is
//! checked against [`CarLimits`] before the decoder waits for (and so buffers) the bytes it
//! announces. Block hashes are *not* verified here: the block store does that on write.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};
use cid::Cid;
use multihash::Multihash;

use super::cbor::{
    self, HeadError, MAJOR_ARRAY as CBOR_ARRAY, MAJOR_BYTES as CBOR_BYTES, MAJOR_MAP as CBOR_MAP,
    MAJOR_TAG as CBOR_TAG, MAJOR_TEXT as CBOR_TEXT, MAJOR_UINT as CBOR_UINT,
    TAG_CID as CBOR_TAG_CID,
};
use super::varint::{self, VarintError};
use crate::ipld::{Error, Result};

/// The CARv2 pragma: varint(10) followed by the DAG-CBOR map `{"version": 2}` (CARv2 spec,
/// "Pragma"). A CARv1 reader sees it as a header of an unsupported version.
pub const CARV2_PRAGMA: [u8; 11] = [
    0x0a, 0xa1, 0x67, b'v', b'e', b'r', b's', b'i', b'o', b'n', 0x02,
];

/// Length of the CARv2 fixed header that follows the pragma: characteristics (16 bytes), then
/// data offset, data size and index offset (u64 little-endian each).
const CARV2_FIXED_HEADER_LEN: usize = 40;

/// The smallest legal CARv2 data offset: the pragma plus the fixed header.
const CARV2_MIN_DATA_OFFSET: u64 = (CARV2_PRAGMA.len() + CARV2_FIXED_HEADER_LEN) as u64;

/// A u64 LEB128 varint is at most 10 bytes (the 10th carrying only bit 63).
const MAX_VARINT_LEN: usize = varint::MAX_LEN;

/// `cid::Cid` stores digests in a 64-byte array; longer (identity) digests cannot be represented.
const MAX_DIGEST_LEN: usize = 64;

/// The longest binary CID this module can produce or accept: version (1 byte), codec and hash
/// code varints (up to 10 bytes each), digest size (1 byte, since it is at most 64) and digest.
pub const MAX_CID_LEN: usize = 1 + MAX_VARINT_LEN + MAX_VARINT_LEN + 1 + MAX_DIGEST_LEN;

/// Default cap on block data in a section. Kubo/boxo refuse blocks over 2 MiB on Bitswap and
/// warn from 1 MiB; 4 MiB leaves headroom for CARs produced by other tools without letting one
/// section pin an unbounded buffer.
pub const DEFAULT_MAX_BLOCK_LEN: usize = 4 << 20;

/// Default cap on a CARv1 header. A typical header holds one ~40-byte root; 64 KiB still fits
/// over 700 roots of the longest representable CID while bounding what a hostile stream can make
/// us buffer before the first block.
pub const DEFAULT_MAX_HEADER_LEN: usize = 64 << 10;

/// Bounds the decoder enforces before buffering the bytes a length prefix announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarLimits {
    /// Largest accepted CARv1 header (the DAG-CBOR bytes after the length varint).
    pub max_header_len: usize,
    /// Largest accepted section (CID bytes plus block data, after the length varint).
    pub max_section_len: usize,
}

impl Default for CarLimits {
    fn default() -> Self {
        CarLimits {
            max_header_len: DEFAULT_MAX_HEADER_LEN,
            max_section_len: DEFAULT_MAX_BLOCK_LEN + MAX_CID_LEN,
        }
    }
}

/// One decoded item of a CAR stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CarEvent {
    /// The (inner) CARv1 header. Always the first event. `version` is the container version:
    /// 1 for a plain CARv1, 2 for a CARv2 (whose payload header said version 1).
    Header { version: u8, roots: Vec<Cid> },
    /// One section: the CID and the block bytes exactly as stored (hash not verified).
    Block { cid: Cid, data: Bytes },
}

/// Where the decoder is in the stream.
#[derive(Debug)]
enum State {
    /// Expecting the first length varint: a CARv1 header or the CARv2 pragma.
    Start,
    /// After the CARv2 pragma: expecting the 40-byte fixed header.
    V2FixedHeader,
    /// Skipping bytes between the CARv2 fixed header and the data offset.
    V2Padding { data_offset: u64 },
    /// Expecting the CARv1 header at the start of a CARv2 data payload.
    InnerHeader,
    /// Expecting a section or the end of the (payload) stream.
    Sections,
    /// All sections decoded; further input (a CARv2 index) is discarded.
    Done,
    /// A decoding error; it is returned again by every later call.
    Failed(Error),
}

/// What one state transition produced.
enum Step {
    Event(CarEvent),
    NeedMore,
    Continue,
}

/// A push-style CAR decoder.
///
/// Protocol: [`push`](Self::push) input chunks, call [`next`](Self::next) until it returns
/// `Ok(None)`, push more, and call [`finish`](Self::finish) once the input has ended. Before
/// `finish`, `Ok(None)` means "need more input" (or, for a CARv2, possibly that the payload has
/// ended: see [`is_done`](Self::is_done)); after `finish` it means the CAR was complete. A
/// truncated stream is an error after `finish`. Once an error is returned, every later call
/// returns it again.
///
/// Memory: the decoder keeps pushed chunks until consumed; as long as callers drain `next` after
/// each push, it holds at most one header or section (bounded by [`CarLimits`]) plus one chunk.
/// Zero-copy block slices keep their whole source chunk alive.
#[derive(Debug)]
pub struct CarDecoder {
    limits: CarLimits,
    /// Unconsumed input, oldest first. The front chunk is trimmed as bytes are consumed.
    chunks: VecDeque<Bytes>,
    /// Total bytes in `chunks`.
    buffered: usize,
    /// Absolute stream offset of the first byte in `chunks`.
    offset: u64,
    finished: bool,
    state: State,
    /// Number of blocks emitted so far (the index of the next section).
    blocks: u64,
    /// For a CARv2: absolute offset one past the data payload.
    payload_end: Option<u64>,
}

impl CarDecoder {
    /// A decoder at the start of a CAR stream.
    pub fn new(limits: CarLimits) -> Self {
        CarDecoder {
            limits,
            chunks: VecDeque::new(),
            buffered: 0,
            offset: 0,
            finished: false,
            state: State::Start,
            blocks: 0,
            payload_end: None,
        }
    }

    /// Appends input. Chunks are queued, not concatenated. Input after the CARv2 payload (the
    /// index) is discarded; input after [`finish`](Self::finish) is a caller bug and fails the
    /// decoder.
    pub fn push(&mut self, chunk: Bytes) {
        if chunk.is_empty() || matches!(self.state, State::Failed(_)) {
            return;
        }
        if self.finished {
            self.fail(Error::car("input pushed after finish()"));
            return;
        }
        if matches!(self.state, State::Done) {
            return;
        }
        self.buffered += chunk.len();
        self.chunks.push_back(chunk);
    }

    /// Marks the end of input: from now on missing bytes are truncation errors.
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// True once the whole CAR has been decoded (for a CARv2, as soon as the data payload ends,
    /// even before [`finish`](Self::finish)).
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Bytes pushed but not yet consumed, for callers that want to apply back-pressure.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Absolute offset of the next unconsumed input byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Number of blocks decoded so far.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Decodes the next event. `Ok(None)`: need more input before `finish`, end of the CAR
    /// after it (see the type docs).
    // Not an `Iterator`: "need more input" is not the end of the sequence.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<CarEvent>> {
        loop {
            let step = match &self.state {
                State::Failed(error) => return Err(error.clone()),
                State::Done => return Ok(None),
                State::Start => self.read_outer_header(),
                State::V2FixedHeader => self.read_v2_fixed_header(),
                State::V2Padding { data_offset } => {
                    let data_offset = *data_offset;
                    self.skip_padding(data_offset)
                }
                State::InnerHeader => self.read_inner_header(),
                State::Sections => self.read_section(),
            };
            match step {
                Ok(Step::Event(event)) => return Ok(Some(event)),
                Ok(Step::Continue) => continue,
                Ok(Step::NeedMore) if self.finished => {
                    // Every step reports its own truncation; this is a backstop so that
                    // `Ok(None)` after `finish` can only ever mean "complete".
                    let error =
                        Error::car(format!("unexpected end of input at byte {}", self.offset));
                    self.fail(error.clone());
                    return Err(error);
                }
                Ok(Step::NeedMore) => return Ok(None),
                Err(error) => {
                    self.fail(error.clone());
                    return Err(error);
                }
            }
        }
    }

    fn fail(&mut self, error: Error) {
        self.state = State::Failed(error);
        self.chunks.clear();
        self.buffered = 0;
    }

    fn finish_stream(&mut self) {
        self.state = State::Done;
        self.chunks.clear();
        self.buffered = 0;
    }

    /// Bytes that may be consumed now: the buffer, cut at the end of a CARv2 payload.
    fn available(&self) -> usize {
        match self.payload_end {
            Some(end) => {
                let remaining = end.saturating_sub(self.offset);
                usize::try_from(remaining).map_or(self.buffered, |r| r.min(self.buffered))
            }
            None => self.buffered,
        }
    }

    /// Called when `needed` bytes from the current offset are not all available: an error if
    /// they run past the CARv2 payload or the input has ended, `Ok` (wait for input) otherwise.
    fn starved(&self, needed: u64, what: impl FnOnce() -> String) -> Result<()> {
        if let Some(end) = self.payload_end {
            if self.offset.saturating_add(needed) > end {
                return Err(Error::car(format!(
                    "{} overruns the CARv2 data payload, which ends at byte {end}",
                    what()
                )));
            }
        }
        if self.finished {
            let missing = needed.saturating_sub(self.buffered as u64);
            return Err(Error::car(format!(
                "truncated {}: need {missing} more bytes",
                what()
            )));
        }
        Ok(())
    }

    /// Decodes the length varint at the front of the buffer without consuming it.
    /// `Ok(None)`: incomplete within the available bytes.
    fn peek_varint(&self, what: &dyn Fn() -> String) -> Result<Option<(u64, usize)>> {
        let available = self.available();
        let bytes = self
            .chunks
            .iter()
            .flat_map(|chunk| chunk.iter().copied())
            .take(available.min(MAX_VARINT_LEN));
        match varint::decode_minimal(bytes) {
            Ok((value, len)) => Ok(Some((value, len))),
            Err(VarintError::Truncated) => Ok(None),
            Err(fault) => Err(Error::car(format!(
                "length varint of {}: {}",
                what(),
                varint_fault(fault)
            ))),
        }
    }

    /// Called on an incomplete length varint: an error if it runs into the end of a CARv2
    /// payload or the input has ended, `Ok` (wait for input) otherwise.
    fn starved_varint(&self, what: &dyn Fn() -> String) -> Result<()> {
        if let Some(end) = self.payload_end {
            if self.offset + self.buffered as u64 >= end {
                return Err(Error::car(format!(
                    "length varint of {} overruns the CARv2 data payload, which ends at byte \
                     {end}",
                    what()
                )));
            }
        }
        if self.finished {
            return Err(Error::car(format!("truncated length varint of {}", what())));
        }
        Ok(())
    }

    /// Reads and parses a length-prefixed header: its fields and absolute start offset, or
    /// `Ok(None)` to wait for more input.
    fn read_header(&mut self) -> Result<Option<(ParsedHeader, u64)>> {
        let start = self.offset;
        let what = || format!("header at byte {start}");
        let Some((bytes, start)) = self.read_length_prefixed(&what, self.limits.max_header_len)?
        else {
            return Ok(None);
        };
        Ok(Some((parse_header(&bytes, start)?, start)))
    }

    /// Reads a varint length (1 to `max`) and the bytes it announces: those bytes and their
    /// absolute start offset, or `Ok(None)` to wait for more input. `what` names the item.
    fn read_length_prefixed(
        &mut self,
        what: &dyn Fn() -> String,
        max: usize,
    ) -> Result<Option<(Bytes, u64)>> {
        let Some((len, varint_len)) = self.peek_varint(what)? else {
            self.starved_varint(what)?;
            return Ok(None);
        };
        if len == 0 {
            return Err(Error::car(format!("{} has length 0", what())));
        }
        let len = match usize::try_from(len) {
            Ok(len) if len <= max => len,
            _ => {
                return Err(Error::car(format!(
                    "{} is {len} bytes, over the {max}-byte limit",
                    what()
                )))
            }
        };
        let total = varint_len + len;
        if self.available() < total {
            self.starved(total as u64, what)?;
            return Ok(None);
        }
        self.consume(varint_len);
        let start = self.offset;
        Ok(Some((self.take(len), start)))
    }

    /// The first header of the stream: a CARv1 header or the CARv2 pragma.
    fn read_outer_header(&mut self) -> Result<Step> {
        let Some((header, start)) = self.read_header()? else {
            return Ok(Step::NeedMore);
        };
        match (header.version, header.roots) {
            (1, Some(roots)) => {
                self.state = State::Sections;
                Ok(Step::Event(CarEvent::Header { version: 1, roots }))
            }
            (1, None) => Err(Error::car(format!(
                "header at byte {start} has no roots key"
            ))),
            // Strict canonical parsing means this is byte-for-byte the CARv2 pragma.
            (2, None) => {
                self.state = State::V2FixedHeader;
                Ok(Step::Continue)
            }
            (2, Some(_)) => Err(Error::car(format!(
                "version 2 header at byte {start} is not the CARv2 pragma (it has roots)"
            ))),
            (version, _) => Err(Error::car(format!(
                "unsupported CAR version {version} in header at byte {start}"
            ))),
        }
    }

    /// The CARv1 header at the start of a CARv2 data payload.
    fn read_inner_header(&mut self) -> Result<Step> {
        let Some((header, start)) = self.read_header()? else {
            return Ok(Step::NeedMore);
        };
        match (header.version, header.roots) {
            (1, Some(roots)) => {
                self.state = State::Sections;
                Ok(Step::Event(CarEvent::Header { version: 2, roots }))
            }
            (1, None) => Err(Error::car(format!(
                "CARv2 payload header at byte {start} has no roots key"
            ))),
            (version, _) => Err(Error::car(format!(
                "CARv2 payload header at byte {start} says version {version}; it must be a CARv1"
            ))),
        }
    }

    fn read_v2_fixed_header(&mut self) -> Result<Step> {
        if self.buffered < CARV2_FIXED_HEADER_LEN {
            let start = self.offset;
            self.starved(CARV2_FIXED_HEADER_LEN as u64, || {
                format!("CARv2 header at byte {start}")
            })?;
            return Ok(Step::NeedMore);
        }
        let start = self.offset;
        let mut fixed = [0u8; CARV2_FIXED_HEADER_LEN];
        self.copy_front(&mut fixed);
        self.consume(CARV2_FIXED_HEADER_LEN);
        // The characteristics bitfield (bytes 0..16) does not change how the payload is framed
        // (go-car uses it only for "fully indexed"), so it is ignored.
        let data_offset = read_u64_le(&fixed[16..24]);
        let data_size = read_u64_le(&fixed[24..32]);
        let index_offset = read_u64_le(&fixed[32..40]);
        if data_offset < CARV2_MIN_DATA_OFFSET {
            return Err(Error::car(format!(
                "CARv2 header at byte {start}: data offset {data_offset} points inside the \
                 {CARV2_MIN_DATA_OFFSET}-byte pragma and header"
            )));
        }
        if data_size == 0 {
            return Err(Error::car(format!(
                "CARv2 header at byte {start}: data size is 0"
            )));
        }
        let Some(payload_end) = data_offset.checked_add(data_size) else {
            return Err(Error::car(format!(
                "CARv2 header at byte {start}: data offset {data_offset} + size {data_size} \
                 overflows"
            )));
        };
        // CARv2 spec, "Index payload": the index, if any, must start after the data payload.
        if index_offset != 0 && index_offset < payload_end {
            return Err(Error::car(format!(
                "CARv2 header at byte {start}: index offset {index_offset} points inside the \
                 data payload (bytes {data_offset}..{payload_end})"
            )));
        }
        self.payload_end = Some(payload_end);
        self.state = State::V2Padding { data_offset };
        Ok(Step::Continue)
    }

    /// Skips the bytes between the CARv2 header and the data offset (CARv2 spec: decoders must
    /// honour the offset, not assume the payload follows the header).
    fn skip_padding(&mut self, data_offset: u64) -> Result<Step> {
        let remaining = data_offset.saturating_sub(self.offset);
        let skip = usize::try_from(remaining).map_or(self.buffered, |r| r.min(self.buffered));
        self.consume(skip);
        if self.offset == data_offset {
            self.state = State::InnerHeader;
            return Ok(Step::Continue);
        }
        if self.finished {
            return Err(Error::car(format!(
                "truncated CARv2 padding at byte {}: the data payload starts at byte {data_offset}",
                self.offset
            )));
        }
        Ok(Step::NeedMore)
    }

    fn read_section(&mut self) -> Result<Step> {
        match self.payload_end {
            // A CARv2 payload ends at exactly data-size bytes; the rest (index) is ignored.
            Some(end) if self.offset >= end => {
                self.finish_stream();
                return Ok(Step::Continue);
            }
            // A CARv1 ends where the input ends, on a section boundary.
            None if self.buffered == 0 && self.finished => {
                self.finish_stream();
                return Ok(Step::Continue);
            }
            _ => {}
        }
        let block = self.blocks;
        let start = self.offset;
        let what = || format!("section at byte {start} (block {block})");
        let Some((section, cid_start)) =
            self.read_length_prefixed(&what, self.limits.max_section_len)?
        else {
            return Ok(Step::NeedMore);
        };
        let (cid, cid_len) = parse_cid(&section).map_err(|fault| {
            fault.into_error(format_args!(
                "CID in section at byte {cid_start} (block {block})"
            ))
        })?;
        self.blocks += 1;
        Ok(Step::Event(CarEvent::Block {
            cid,
            data: section.slice(cid_len..),
        }))
    }

    /// Removes `n <= buffered` bytes from the front of the buffer.
    fn consume(&mut self, mut n: usize) {
        debug_assert!(n <= self.buffered);
        n = n.min(self.buffered);
        self.buffered -= n;
        self.offset += n as u64;
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            if front.len() > n {
                front.advance(n);
                break;
            }
            n -= front.len();
            self.chunks.pop_front();
        }
    }

    /// Removes and returns `n <= buffered` bytes: a zero-copy slice when they lie in the front
    /// chunk, otherwise one copy into a buffer of exactly `n` bytes (`n` is limit-checked).
    fn take(&mut self, n: usize) -> Bytes {
        debug_assert!(n <= self.buffered);
        if let Some(front) = self.chunks.front_mut() {
            if front.len() >= n {
                let taken = front.split_to(n);
                if front.is_empty() {
                    self.chunks.pop_front();
                }
                self.buffered -= n;
                self.offset += n as u64;
                return taken;
            }
        }
        let mut joined = BytesMut::with_capacity(n);
        while joined.len() < n {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            let part = front.len().min(n - joined.len());
            joined.extend_from_slice(&front[..part]);
            if part == front.len() {
                self.chunks.pop_front();
            } else {
                front.advance(part);
            }
        }
        self.buffered -= joined.len();
        self.offset += joined.len() as u64;
        joined.freeze()
    }

    /// Copies the first `out.len() <= buffered` bytes without consuming them.
    fn copy_front(&self, out: &mut [u8]) {
        let mut filled = 0;
        for chunk in &self.chunks {
            if filled == out.len() {
                break;
            }
            let part = chunk.len().min(out.len() - filled);
            out[filled..filled + part].copy_from_slice(&chunk[..part]);
            filled += part;
        }
    }
}

fn read_u64_le(bytes: &[u8]) -> u64 {
    let mut array = [0u8; 8];
    array.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(array)
}

/// How a bad unsigned varint (multiformats unsigned-varint: minimal form only) is described.
fn varint_fault(fault: VarintError) -> &'static str {
    match fault {
        VarintError::Truncated => "truncated varint",
        VarintError::TooLong => "varint is longer than 10 bytes",
        VarintError::Overflow => "varint overflows 64 bits",
        VarintError::NotMinimal => "varint is not minimally encoded",
    }
}

/// Why a binary CID did not parse.
enum CidFault {
    Invalid(&'static str),
    Unsupported(&'static str),
}

impl CidFault {
    fn into_error(self, context: std::fmt::Arguments<'_>) -> Error {
        match self {
            CidFault::Invalid(reason) => Error::cid(format!("{context}: {reason}")),
            CidFault::Unsupported(reason) => Error::unsupported(format!("{context}: {reason}")),
        }
    }
}

/// Parses one binary CID from the front of `bytes` (CID spec, "Decoding"), returning it and its
/// encoded length. CIDv0 is a bare sha2-256 multihash (`0x12 0x20` + 32 bytes); CIDv1 is
/// varint version (1), varint codec, multihash.
fn parse_cid(bytes: &[u8]) -> std::result::Result<(Cid, usize), CidFault> {
    const TRUNCATED: CidFault = CidFault::Invalid("truncated CID");
    if bytes.first() == Some(&0x12) {
        // 0x12 can only start a CIDv0 (as a version varint it would be 18).
        if bytes.len() >= 2 && bytes[1] != 0x20 {
            return Err(CidFault::Invalid(
                "CIDv0 multihash must be sha2-256 with a 32-byte digest",
            ));
        }
        let digest = bytes.get(2..34).ok_or(TRUNCATED)?;
        let hash = Multihash::wrap(0x12, digest).map_err(|_| TRUNCATED)?;
        let cid = Cid::new_v0(hash).map_err(|_| CidFault::Invalid("bad CIDv0 multihash"))?;
        return Ok((cid, 34));
    }
    let mut pos = 0;
    let next_varint = |pos: &mut usize| -> std::result::Result<u64, CidFault> {
        match varint::decode_minimal(bytes[*pos..].iter().copied()) {
            Ok((value, len)) => {
                *pos += len;
                Ok(value)
            }
            Err(VarintError::Truncated) => Err(TRUNCATED),
            Err(fault) => Err(CidFault::Invalid(varint_fault(fault))),
        }
    };
    match next_varint(&mut pos)? {
        1 => {}
        0 => {
            return Err(CidFault::Invalid(
                "explicit CID version 0 (a CIDv0 is a bare sha2-256 multihash)",
            ))
        }
        _ => {
            return Err(CidFault::Invalid(
                "unsupported CID version (only 0 and 1 exist)",
            ))
        }
    }
    let codec = next_varint(&mut pos)?;
    let hash_code = next_varint(&mut pos)?;
    let digest_len = next_varint(&mut pos)?;
    if digest_len > MAX_DIGEST_LEN as u64 {
        return Err(CidFault::Unsupported(
            "multihash digest longer than 64 bytes",
        ));
    }
    let end = pos + digest_len as usize;
    let digest = bytes.get(pos..end).ok_or(TRUNCATED)?;
    let hash = Multihash::wrap(hash_code, digest)
        .map_err(|_| CidFault::Unsupported("multihash digest longer than 64 bytes"))?;
    Ok((Cid::new_v1(codec, hash), end))
}

/// The fields of a CAR header map.
struct ParsedHeader {
    version: u64,
    /// `None` when the map has no `roots` key (as in the CARv2 pragma).
    roots: Option<Vec<Cid>>,
}

/// A reader for the DAG-CBOR subset a CAR header uses. Rejects what DAG-CBOR forbids
/// (indefinite lengths, non-minimal integer heads) so that one header has one encoding.
struct CborReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Absolute stream offset of `bytes[0]`, for error messages.
    base: u64,
}

impl<'a> CborReader<'a> {
    fn error(&self, at: usize, what: impl std::fmt::Display) -> Error {
        Error::car(format!("{what} at byte {}", self.base + at as u64))
    }

    /// Reads an item head: (major type, argument). `item` names the item for errors.
    fn head(&mut self, item: &str) -> Result<(u8, u64)> {
        let start = self.pos;
        let head = match cbor::read_head(self.bytes, start) {
            Ok(head) => head,
            Err(HeadError::Truncated | HeadError::ArgumentTruncated) => {
                return Err(self.error(start, format_args!("header ends inside {item}")))
            }
            Err(HeadError::Reserved(cbor::INFO_INDEFINITE)) => {
                return Err(self.error(
                    start,
                    format_args!("indefinite-length {item} (forbidden in DAG-CBOR)"),
                ))
            }
            Err(HeadError::Reserved(info)) => {
                return Err(self.error(
                    start,
                    format_args!("reserved CBOR additional info {info} in {item}"),
                ))
            }
        };
        if !head.is_minimal() {
            return Err(self.error(
                start,
                format_args!("non-minimal integer encoding in {item} (forbidden in DAG-CBOR)"),
            ));
        }
        self.pos += head.len;
        Ok((head.major, head.arg))
    }

    /// Reads `len` raw bytes (the payload of a byte or text string).
    fn payload(&mut self, len: u64, item: &str) -> Result<&'a [u8]> {
        let start = self.pos;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| start.checked_add(len))
            .filter(|&end| end <= self.bytes.len());
        let Some(end) = end else {
            return Err(self.error(start, format_args!("header ends inside {item}")));
        };
        self.pos = end;
        Ok(&self.bytes[start..end])
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }
}

/// Parses a CAR header: a DAG-CBOR map with exactly the keys `roots` (array of tag-42 CIDs) and
/// `version` (unsigned integer), in either order, and nothing else (`roots` may be absent: the
/// caller decides, since the CARv2 pragma has only `version`).
///
/// Empty `roots` arrays are accepted: the CARv1 spec's "one or more" constraint is listed under
/// unresolved items, go-car/v2 and js-car both read and write empty-roots CARs, and the spec
/// maintainers advise new implementations to allow them (ipld/ipld#287).
fn parse_header(bytes: &[u8], base: u64) -> Result<ParsedHeader> {
    let mut reader = CborReader {
        bytes,
        pos: 0,
        base,
    };
    let (major, entries) = reader.head("header map")?;
    if major != CBOR_MAP {
        return Err(reader.error(0, "header is not a CBOR map"));
    }
    if entries == 0 || entries > 2 {
        return Err(reader.error(
            0,
            format_args!("header map has {entries} entries; expected roots and version"),
        ));
    }
    let mut version = None;
    let mut roots = None;
    for _ in 0..entries {
        let key_start = reader.pos;
        let (major, len) = reader.head("header key")?;
        if major != CBOR_TEXT {
            return Err(reader.error(key_start, "header key is not a text string"));
        }
        let key = reader.payload(len, "header key")?;
        match key {
            b"version" if version.is_none() => {
                let value_start = reader.pos;
                let (major, value) = reader.head("version")?;
                if major != CBOR_UINT {
                    return Err(reader.error(value_start, "version is not an unsigned integer"));
                }
                version = Some(value);
            }
            b"roots" if roots.is_none() => roots = Some(read_roots(&mut reader)?),
            b"version" | b"roots" => {
                return Err(reader.error(
                    key_start,
                    format_args!("duplicate header key {:?}", String::from_utf8_lossy(key)),
                ))
            }
            _ => {
                let shown = &key[..key.len().min(32)];
                return Err(reader.error(
                    key_start,
                    format_args!(
                        "unexpected header key {:?}; only roots and version are allowed",
                        String::from_utf8_lossy(shown)
                    ),
                ));
            }
        }
    }
    if reader.remaining() != 0 {
        return Err(reader.error(reader.pos, "trailing bytes after the header map"));
    }
    let Some(version) = version else {
        return Err(reader.error(0, "header has no version key"));
    };
    Ok(ParsedHeader { version, roots })
}

/// Reads the `roots` array: tag 42 around a byte string of 0x00 (identity multibase) + CID.
fn read_roots(reader: &mut CborReader<'_>) -> Result<Vec<Cid>> {
    let array_start = reader.pos;
    let (major, count) = reader.head("roots")?;
    if major != CBOR_ARRAY {
        return Err(reader.error(array_start, "roots is not an array"));
    }
    // Each root takes at least 8 bytes (tag 2, string head 1, 0x00, 4-byte CID); bounding the
    // count by the remaining bytes keeps the allocation proportional to the (limited) header.
    let remaining = reader.remaining() as u64;
    if count > remaining / 8 {
        return Err(reader.error(
            array_start,
            format_args!("roots array claims {count} entries, more than the header can hold"),
        ));
    }
    let mut roots = Vec::with_capacity(count as usize);
    for index in 0..count {
        let root_start = reader.pos;
        let (major, tag) = reader.head("root CID")?;
        if major != CBOR_TAG || tag != CBOR_TAG_CID {
            return Err(reader.error(
                root_start,
                format_args!("root {index} is not a tag-42 CID link"),
            ));
        }
        let string_start = reader.pos;
        let (major, len) = reader.head("root CID")?;
        if major != CBOR_BYTES {
            return Err(reader.error(
                string_start,
                format_args!("root {index}: tag 42 does not wrap a byte string"),
            ));
        }
        let payload = reader.payload(len, "root CID")?;
        let Some((&0x00, cid_bytes)) = payload.split_first() else {
            return Err(reader.error(
                string_start,
                format_args!("root {index}: CID bytes lack the 0x00 multibase prefix"),
            ));
        };
        let at = reader.base + string_start as u64;
        let (cid, cid_len) = parse_cid(cid_bytes)
            .map_err(|fault| fault.into_error(format_args!("root CID {index} at byte {at}")))?;
        if cid_len != cid_bytes.len() {
            return Err(Error::cid(format!(
                "root CID {index} at byte {at}: {} trailing bytes after the CID",
                cid_bytes.len() - cid_len
            )));
        }
        roots.push(cid);
    }
    Ok(roots)
}

// ---- Encoding ---------------------------------------------------------------------------------

/// Encodes a CARv1 header: varint length + canonical DAG-CBOR `{"roots": [...], "version": 1}`
/// (map keys sorted by length then bytes, so `roots` precedes `version`).
pub fn v1_header(roots: &[Cid]) -> Vec<u8> {
    let mut body_len = 1 // map(2)
        + 1 + b"roots".len()
        + cbor::head_len(roots.len() as u64)
        + 1 + b"version".len()
        + 1; // uint(1)
    for root in roots {
        let string_len = 1 + root.encoded_len();
        body_len += 2 + cbor::head_len(string_len as u64) + string_len;
    }
    let mut out = Vec::with_capacity(varint::len(body_len as u64) + body_len);
    varint::put(&mut out, body_len as u64);
    cbor::write_head(&mut out, CBOR_MAP, 2);
    cbor::write_head(&mut out, CBOR_TEXT, 5);
    out.extend_from_slice(b"roots");
    cbor::write_head(&mut out, CBOR_ARRAY, roots.len() as u64);
    for root in roots {
        cbor::write_head(&mut out, CBOR_TAG, CBOR_TAG_CID);
        cbor::write_head(&mut out, CBOR_BYTES, 1 + root.encoded_len() as u64);
        out.push(0x00);
        super::cid::write_binary(&mut out, root);
    }
    cbor::write_head(&mut out, CBOR_TEXT, 7);
    out.extend_from_slice(b"version");
    cbor::write_head(&mut out, CBOR_UINT, 1);
    debug_assert_eq!(out.len(), varint::len(body_len as u64) + body_len);
    out
}

/// Appends the part of a CAR section that precedes the block data: varint(CID length + data
/// length) and the CID bytes. A response body can send this, then the block's `Bytes` as is.
/// At most `MAX_VARINT_LEN + MAX_CID_LEN` bytes.
pub fn section_prefix(cid: &Cid, data_len: usize, out: &mut Vec<u8>) {
    let cid_len = cid.encoded_len();
    out.reserve(MAX_VARINT_LEN + cid_len);
    varint::put(out, (cid_len + data_len) as u64);
    super::cid::write_binary(out, cid);
}

/// Total encoded length of a section (prefix plus `data_len` data bytes), e.g. to compute a
/// `Content-Length` up front.
pub fn section_encoded_len(cid: &Cid, data_len: usize) -> usize {
    let section_len = cid.encoded_len() + data_len;
    varint::len(section_len as u64) + section_len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipld::ErrorKind;
    use sha2::{Digest, Sha256};
    use std::path::{Path, PathBuf};

    // ---- helpers ----

    fn sha256(data: &[u8]) -> Vec<u8> {
        Sha256::digest(data).to_vec()
    }

    fn raw_cid(data: &[u8]) -> Cid {
        Cid::new_v1(0x55, Multihash::wrap(0x12, &sha256(data)).unwrap())
    }

    fn v0_cid(data: &[u8]) -> Cid {
        Cid::new_v0(Multihash::wrap(0x12, &sha256(data)).unwrap()).unwrap()
    }

    fn cid_bytes(cid: &Cid) -> Vec<u8> {
        let mut out = Vec::new();
        crate::ipld::cid::write_binary(&mut out, cid);
        out
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn varint(value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        varint::put(&mut out, value);
        out
    }

    /// A set of blocks covering CIDv0, CIDv1, identity, an empty block, a 64-byte digest with a
    /// multi-byte hash code, and 1-, 2- and 3-byte section length varints.
    fn sample_blocks(with_large: bool) -> Vec<(Cid, Vec<u8>)> {
        let mut blocks = vec![
            (raw_cid(b"hello"), b"hello".to_vec()),
            (v0_cid(&[7u8; 300]), vec![7u8; 300]),
            (
                Cid::new_v1(0x55, Multihash::wrap(0x00, b"hi").unwrap()),
                b"hi".to_vec(),
            ),
            (raw_cid(b""), Vec::new()),
            (
                Cid::new_v1(0x71, Multihash::wrap(0xb240, &[0xab; 64]).unwrap()),
                b"not really hashed".to_vec(),
            ),
        ];
        if with_large {
            let large: Vec<u8> = (0..20_000u32).map(|i| (i * 31 % 251) as u8).collect();
            blocks.push((raw_cid(&large), large));
        }
        blocks
    }

    /// Writes a CARv1 with the helpers; returns the bytes and the section boundaries (offsets
    /// where a cut leaves a valid, shorter CAR).
    fn build_car(roots: &[Cid], blocks: &[(Cid, Vec<u8>)]) -> (Vec<u8>, Vec<usize>) {
        let mut out = v1_header(roots);
        let mut boundaries = vec![out.len()];
        for (cid, data) in blocks {
            let before = out.len();
            section_prefix(cid, data.len(), &mut out);
            out.extend_from_slice(data);
            assert_eq!(out.len() - before, section_encoded_len(cid, data.len()));
            boundaries.push(out.len());
        }
        (out, boundaries)
    }

    fn expected_events(version: u8, roots: &[Cid], blocks: &[(Cid, Vec<u8>)]) -> Vec<CarEvent> {
        let mut events = vec![CarEvent::Header {
            version,
            roots: roots.to_vec(),
        }];
        for (cid, data) in blocks {
            events.push(CarEvent::Block {
                cid: *cid,
                data: Bytes::copy_from_slice(data),
            });
        }
        events
    }

    /// Wraps a CARv1 in a CARv2 with `padding` bytes before the payload and `index` after it.
    fn build_v2(v1: &[u8], padding: usize, index: &[u8]) -> Vec<u8> {
        let data_offset = CARV2_MIN_DATA_OFFSET + padding as u64;
        let data_size = v1.len() as u64;
        let index_offset = if index.is_empty() {
            0
        } else {
            data_offset + data_size
        };
        v2_with_fields(v1, padding, index, data_offset, data_size, index_offset)
    }

    fn v2_with_fields(
        v1: &[u8],
        padding: usize,
        index: &[u8],
        data_offset: u64,
        data_size: u64,
        index_offset: u64,
    ) -> Vec<u8> {
        let mut out = CARV2_PRAGMA.to_vec();
        out.extend_from_slice(&[0u8; 16]);
        out.extend_from_slice(&data_offset.to_le_bytes());
        out.extend_from_slice(&data_size.to_le_bytes());
        out.extend_from_slice(&index_offset.to_le_bytes());
        out.extend(std::iter::repeat_n(0xeeu8, padding));
        out.extend_from_slice(v1);
        out.extend_from_slice(index);
        out
    }

    /// Feeds `chunks`, draining events after each push, then finishes. Returns the events
    /// seen and the final result.
    fn run(
        chunks: impl IntoIterator<Item = Bytes>,
        limits: CarLimits,
    ) -> (Vec<CarEvent>, Result<()>) {
        let mut decoder = CarDecoder::new(limits);
        let mut events = Vec::new();
        let drain = |decoder: &mut CarDecoder, events: &mut Vec<CarEvent>| -> Result<()> {
            // Bounded loop: a decoder that never stops yielding would be a bug.
            for _ in 0..1_000_000 {
                match decoder.next()? {
                    Some(event) => events.push(event),
                    None => return Ok(()),
                }
            }
            panic!("decoder did not stop");
        };
        for chunk in chunks {
            decoder.push(chunk);
            if let Err(error) = drain(&mut decoder, &mut events) {
                return (events, Err(error));
            }
        }
        decoder.finish();
        let result = drain(&mut decoder, &mut events);
        if result.is_ok() {
            assert!(decoder.is_done());
            assert_eq!(decoder.next(), Ok(None));
        }
        (events, result)
    }

    fn decode_whole(bytes: &[u8]) -> (Vec<CarEvent>, Result<()>) {
        run([Bytes::copy_from_slice(bytes)], CarLimits::default())
    }

    fn chunks_of(bytes: &[u8], size: usize) -> Vec<Bytes> {
        bytes.chunks(size).map(Bytes::copy_from_slice).collect()
    }

    /// Deterministic pseudo-random numbers (no rand dependency).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn random_chunks(bytes: &[u8], rng: &mut Lcg, max: usize) -> Vec<Bytes> {
        let mut chunks = Vec::new();
        let mut pos = 0;
        while pos < bytes.len() {
            let size = 1 + rng.below(max);
            let end = (pos + size).min(bytes.len());
            chunks.push(Bytes::copy_from_slice(&bytes[pos..end]));
            pos = end;
        }
        chunks
    }

    fn expect_error(bytes: &[u8], kind: ErrorKind, needle: &str) -> Error {
        let (_, result) = decode_whole(bytes);
        let error = result.expect_err("decoding should fail");
        assert_eq!(error.kind(), kind, "{error}");
        assert!(
            error.message().contains(needle),
            "{error:?} does not mention {needle:?}"
        );
        // The same error must come out under 1-byte chunking too.
        let (_, result) = run(chunks_of(bytes, 1), CarLimits::default());
        assert_eq!(result.expect_err("decoding should fail").kind(), kind);
        error
    }

    fn with_header(cbor: &[u8]) -> Vec<u8> {
        let mut out = varint(cbor.len() as u64);
        out.extend_from_slice(cbor);
        out
    }

    fn cbor_text(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        cbor::write_head(&mut out, CBOR_TEXT, text.len() as u64);
        out.extend_from_slice(text.as_bytes());
        out
    }

    fn cbor_root(cid_bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![0xd8, 0x2a];
        cbor::write_head(&mut out, CBOR_BYTES, cid_bytes.len() as u64 + 1);
        out.push(0x00);
        out.extend_from_slice(cid_bytes);
        out
    }

    fn header_cbor(roots: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![0xa2];
        out.extend(cbor_text("roots"));
        cbor::write_head(&mut out, CBOR_ARRAY, roots.len() as u64);
        for root in roots {
            out.extend_from_slice(root);
        }
        out.extend(cbor_text("version"));
        out.push(0x01);
        out
    }

    fn good_root() -> Vec<u8> {
        cbor_root(&cid_bytes(&raw_cid(b"root")))
    }

    /// A valid header followed by one section with the given raw content.
    fn with_section(section: &[u8]) -> Vec<u8> {
        let mut out = v1_header(&[raw_cid(b"root")]);
        out.extend(varint(section.len() as u64));
        out.extend_from_slice(section);
        out
    }

    // ---- spec fixtures (ipld/ipld specs/transport/car/fixture) ----

    const CARV1_BASIC_HEX: &str = concat!(
        "63a265726f6f747382d82a58250001711220f88bc853804cf294fe417e4fa83028689fcdb1b1592c5102e1474dbc200f",
        "ab8bd82a5825000171122069ea0740f9807a28f4d932c62e7c1c83be055e55072c90266ab3e79df63a365b6776657273",
        "696f6e015b01711220f88bc853804cf294fe417e4fa83028689fcdb1b1592c5102e1474dbc200fab8ba2646c696e6bd8",
        "2a582300122002acecc5de2438ea4126a3010ecb1f8a599c8eff22fff1a1dcffe999b27fd3de646e616d6564626c6970",
        "8301122002acecc5de2438ea4126a3010ecb1f8a599c8eff22fff1a1dcffe999b27fd3de122e0a2401551220b6fbd675",
        "f98e2abd22d4ed29fdc83150fedc48597e92dd1a7a24381d44a274511204626561721804122f0a22122079a982de3c99",
        "07953d4d323cee1d0fb1ed8f45f8ef02870c0cb9e09246bd530a12067365636f6e641895012801551220b6fbd675f98e",
        "2abd22d4ed29fdc83150fedc48597e92dd1a7a24381d44a27451636363638001122079a982de3c9907953d4d323cee1d",
        "0fb1ed8f45f8ef02870c0cb9e09246bd530a122d0a240155122081cc5b17018674b401b42f35ba07bb79e211239c23bf",
        "fe658da1577e3e6468771203646f671804122d0a221220e7dc486e97e6ebe5cdabab3e392bdad128b6e09acc94bb4e2a",
        "a2af7b986d24d0120566697273741833280155122081cc5b17018674b401b42f35ba07bb79e211239c23bffe658da157",
        "7e3e64687762626262511220e7dc486e97e6ebe5cdabab3e392bdad128b6e09acc94bb4e2aa2af7b986d24d0122d0a24",
        "0155122061be55a8e2f6b4e172338bddf184d6dbee29c98853e0a0485ecee7f27b9af0b4120363617418042801551220",
        "61be55a8e2f6b4e172338bddf184d6dbee29c98853e0a0485ecee7f27b9af0b461616161360171122069ea0740f9807a",
        "28f4d932c62e7c1c83be055e55072c90266ab3e79df63a365ba2646c696e6bf6646e616d65656c696d626f",);
    const CARV2_BASIC_HEX: &str = concat!(
        "0aa16776657273696f6e02000000000000000000000000000000003300000000000000c001000000000000f301000000",
        "00000038a265726f6f747381d82a5823001220fb16f5083412ef1371d031ed4aa239903d84efdadf1ba3cd678e6475b1",
        "a232f86776657273696f6e01511220fb16f5083412ef1371d031ed4aa239903d84efdadf1ba3cd678e6475b1a232f812",
        "2d0a221220d9c0d5376d26f1931f7ad52d7acc00fc1090d2edb0808bf61eeb0a152826f6261204f09f8da418a4018501",
        "1220d9c0d5376d26f1931f7ad52d7acc00fc1090d2edb0808bf61eeb0a152826f62612310a221220d745b7757f5b4593",
        "eeab7820306c7bc64eb496a7410a0d07df7a34ffec4b97f1120962617272656c657965183a122e0a2401551220a2e1c4",
        "0da1ae335d4dffe729eb4d5ca23b74b9e51fc535f4a804a261080c294d1204f09f90a11807581220d745b7757f5b4593",
        "eeab7820306c7bc64eb496a7410a0d07df7a34ffec4b97f112340a2401551220b474a99a2705e23cf905a484ec6d14ef",
        "58b56bbe62e9292783466ec363b5072d120a666973686d6f6e67657218042801551220b474a99a2705e23cf905a484ec",
        "6d14ef58b56bbe62e9292783466ec363b5072d666973682b01551220a2e1c40da1ae335d4dffe729eb4d5ca23b74b9e5",
        "1fc535f4a804a261080c294d6c6f62737465720100000028000000c800000000000000a2e1c40da1ae335d4dffe729eb",
        "4d5ca23b74b9e51fc535f4a804a261080c294d9401000000000000b474a99a2705e23cf905a484ec6d14ef58b56bbe62",
        "e9292783466ec363b5072d6b01000000000000d745b7757f5b4593eeab7820306c7bc64eb496a7410a0d07df7a34ffec",
        "4b97f11201000000000000d9c0d5376d26f1931f7ad52d7acc00fc1090d2edb0808bf61eeb0a152826f6268b00000000",
        "000000fb16f5083412ef1371d031ed4aa239903d84efdadf1ba3cd678e6475b1a232f83900000000000000",);

    #[test]
    fn carv1_basic_spec_fixture() {
        let car = hex(CARV1_BASIC_HEX);
        let roots: Vec<Cid> = [
            "bafyreihyrpefhacm6kkp4ql6j6udakdit7g3dmkzfriqfykhjw6cad5lrm",
            "bafyreidj5idub6mapiupjwjsyyxhyhedxycv4vihfsicm2vt46o7morwlm",
        ]
        .iter()
        .map(|text| Cid::try_from(*text).unwrap())
        .collect();
        // (CID, section end offset) from carv1-basic.json (offset + length).
        let blocks = [
            (
                "bafyreihyrpefhacm6kkp4ql6j6udakdit7g3dmkzfriqfykhjw6cad5lrm",
                192,
            ),
            ("QmNX6Tffavsya4xgBi2VJQnSuqy9GsxongxZZ9uZBqp16d", 325),
            (
                "bafkreifw7plhl6mofk6sfvhnfh64qmkq73oeqwl6sloru6rehaoujituke",
                366,
            ),
            ("QmWXZxVQ9yZfhQxLD35eDR8LiMRsYtHxYqTFCBbJoiJVys", 496),
            (
                "bafkreiebzrnroamgos2adnbpgw5apo3z4iishhbdx77gldnbk57d4zdio4",
                537,
            ),
            ("QmdwjhxpxzcMsR3qUuj7vUL8pbA7MgR3GAxWi2GLHjsKCT", 619),
            (
                "bafkreidbxzk2ryxwwtqxem4l3xyyjvw35yu4tcct4cqeqxwo47zhxgxqwq",
                660,
            ),
            (
                "bafyreidj5idub6mapiupjwjsyyxhyhedxycv4vihfsicm2vt46o7morwlm",
                715,
            ),
        ];
        let mut decoder = CarDecoder::new(CarLimits::default());
        decoder.push(Bytes::from(car.clone()));
        decoder.finish();
        assert_eq!(
            decoder.next().unwrap(),
            Some(CarEvent::Header {
                version: 1,
                roots: roots.clone()
            })
        );
        assert_eq!(decoder.offset(), 100);
        let mut rebuilt = v1_header(&roots);
        // The writer produces the fixture's header byte for byte (canonical DAG-CBOR).
        assert_eq!(rebuilt, car[..100]);
        for (text, end) in blocks {
            let Some(CarEvent::Block { cid, data }) = decoder.next().unwrap() else {
                panic!("expected a block");
            };
            assert_eq!(cid, Cid::try_from(text).unwrap());
            assert_eq!(decoder.offset(), end);
            if cid.hash().code() == 0x12 {
                assert_eq!(cid.hash().digest(), sha256(&data));
            }
            section_prefix(&cid, data.len(), &mut rebuilt);
            rebuilt.extend_from_slice(&data);
        }
        assert_eq!(decoder.next().unwrap(), None);
        assert!(decoder.is_done());
        assert_eq!(decoder.blocks(), 8);
        assert_eq!(rebuilt, car);
    }

    #[test]
    fn carv2_basic_spec_fixture() {
        let car = hex(CARV2_BASIC_HEX);
        let root = Cid::try_from("QmfEoLyB5NndqeKieExd1rtJzTduQUPEV8TwAYcUiy3H5Z").unwrap();
        // (CID, absolute section end offset) from carv2-basic.json.
        let blocks = [
            ("QmfEoLyB5NndqeKieExd1rtJzTduQUPEV8TwAYcUiy3H5Z", 190),
            ("QmczfirA7VEH7YVvKPTPoU69XM3qY4DC39nnTsWd4K3SkM", 325),
            ("Qmcpz2FHJD7VAhg1fxFXdYJKePtkx1BsHuCrAgWVnaHMTE", 414),
            (
                "bafkreifuosuzujyf4i6psbneqtwg2fhplc2wxptc5euspa2gn3bwhnihfu",
                455,
            ),
            (
                "bafkreifc4hca3inognou377hfhvu2xfchn2ltzi7yu27jkaeujqqqdbjju",
                499,
            ),
        ];
        let mut decoder = CarDecoder::new(CarLimits::default());
        decoder.push(Bytes::from(car.clone()));
        assert_eq!(
            decoder.next().unwrap(),
            Some(CarEvent::Header {
                version: 2,
                roots: vec![root]
            })
        );
        for (text, end) in blocks {
            let Some(CarEvent::Block { cid, data }) = decoder.next().unwrap() else {
                panic!("expected a block");
            };
            assert_eq!(cid, Cid::try_from(text).unwrap());
            assert_eq!(decoder.offset(), end);
            assert_eq!(cid.hash().digest(), sha256(&data));
        }
        // The payload is complete even though finish() was not called; the index is ignored.
        assert_eq!(decoder.next().unwrap(), None);
        assert!(decoder.is_done());
        assert_eq!(decoder.buffered(), 0);

        let (full, result) = decode_whole(&car);
        result.unwrap();
        assert_eq!(full.len(), 6);
        // Truncation anywhere in the index is fine; anywhere before the payload end is not.
        for cut in 0..car.len() {
            let (events, result) = decode_whole(&car[..cut]);
            if cut >= 499 {
                result.unwrap();
                assert_eq!(events, full);
            } else {
                assert_eq!(result.unwrap_err().kind(), ErrorKind::Car, "cut {cut}");
                assert_eq!(events[..], full[..events.len()]);
            }
        }
    }

    // ---- gateway-conformance fixtures ----

    const FIXTURE_DIR: &str = crate::test_support::FIXTURES;

    fn find_cars(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                find_cars(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "car") {
                out.push(path);
            }
        }
    }

    #[test]
    fn decodes_every_gateway_conformance_fixture() {
        let dir = Path::new(FIXTURE_DIR);
        let table = std::fs::read_to_string(dir.join("_derived_car_roots.tsv")).unwrap();
        let mut expected = std::collections::HashMap::new();
        for line in table.lines().skip(1).filter(|line| !line.trim().is_empty()) {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 5, "bad row {line:?}");
            let roots: Vec<Cid> = fields[2]
                .split([',', ' ', ';'])
                .filter(|text| !text.is_empty())
                .map(|text| Cid::try_from(text).unwrap())
                .collect();
            let version: u8 = fields[1].parse().unwrap();
            let blocks: usize = fields[3].parse().unwrap();
            let verified: usize = fields[4].parse().unwrap();
            expected.insert(fields[0].to_string(), (version, roots, blocks, verified));
        }
        let mut cars = Vec::new();
        find_cars(dir, &mut cars);
        cars.sort();
        // The table also lists two files that are not in the fixture tree; every file that is
        // there must be listed, and there must be plenty of them.
        assert!(cars.len() >= 30, "only {} fixtures found", cars.len());
        let mut rng = Lcg(7);
        for path in &cars {
            let name = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let (version, roots, block_count, verified) = expected
                .get(&name)
                .unwrap_or_else(|| panic!("{name} not in table"));
            let bytes = std::fs::read(path).unwrap();
            let (events, result) = decode_whole(&bytes);
            result.unwrap_or_else(|error| panic!("{name}: {error}"));
            assert_eq!(
                events[0],
                CarEvent::Header {
                    version: *version,
                    roots: roots.clone()
                },
                "{name}"
            );
            assert_eq!(events.len() - 1, *block_count, "{name}");
            let mut sha256_checked = 0;
            let mut rebuilt = match &events[0] {
                CarEvent::Header { roots, .. } => v1_header(roots),
                _ => unreachable!(),
            };
            for event in &events[1..] {
                let CarEvent::Block { cid, data } = event else {
                    panic!("{name}: second header");
                };
                if cid.hash().code() == 0x12 {
                    assert_eq!(cid.hash().digest(), sha256(data), "{name}: {cid}");
                    sha256_checked += 1;
                }
                // Our CID parser agrees with the cid crate's.
                let bytes = cid_bytes(cid);
                assert_eq!(Cid::read_bytes(&bytes[..]).unwrap(), *cid);
                section_prefix(cid, data.len(), &mut rebuilt);
                rebuilt.extend_from_slice(data);
            }
            assert_eq!(sha256_checked, *verified, "{name}");
            // Re-encoding with the writer helpers reproduces the file byte for byte.
            assert_eq!(rebuilt, bytes, "{name}");
            // Chunking does not change the result.
            let (chunked, result) = run(random_chunks(&bytes, &mut rng, 700), CarLimits::default());
            result.unwrap();
            assert_eq!(chunked, events, "{name}");
            let (bytewise, result) = run(chunks_of(&bytes, 1), CarLimits::default());
            result.unwrap();
            assert_eq!(bytewise, events, "{name}");
        }
    }

    // ---- round trips ----

    #[test]
    fn round_trip_in_many_chunkings() {
        let blocks = sample_blocks(true);
        let roots = [blocks[0].0, blocks[1].0];
        let (car, _) = build_car(&roots, &blocks);
        let expected = expected_events(1, &roots, &blocks);

        let (events, result) = decode_whole(&car);
        result.unwrap();
        assert_eq!(events, expected);

        let (events, result) = run(chunks_of(&car, 1), CarLimits::default());
        result.unwrap();
        assert_eq!(events, expected);

        let mut rng = Lcg(42);
        for max in [2, 3, 7, 64, 1000, 30_000] {
            for _ in 0..5 {
                let (events, result) =
                    run(random_chunks(&car, &mut rng, max), CarLimits::default());
                result.unwrap();
                assert_eq!(events, expected, "max chunk {max}");
            }
        }
    }

    #[test]
    fn every_split_point_of_a_small_car() {
        let blocks = sample_blocks(false);
        let roots = [blocks[2].0];
        let (car, _) = build_car(&roots, &blocks);
        let expected = expected_events(1, &roots, &blocks);
        for split in 0..=car.len() {
            let (events, result) = run(
                [
                    Bytes::copy_from_slice(&car[..split]),
                    Bytes::copy_from_slice(&car[split..]),
                ],
                CarLimits::default(),
            );
            result.unwrap();
            assert_eq!(events, expected, "split at {split}");
        }
    }

    #[test]
    fn block_data_is_zero_copy_within_a_chunk() {
        let blocks = sample_blocks(true);
        let (car, _) = build_car(&[blocks[0].0], &blocks);
        let car = Bytes::from(car);
        let range = car.as_ptr() as usize..car.as_ptr() as usize + car.len();
        let (events, result) = run([car.clone()], CarLimits::default());
        result.unwrap();
        for event in &events[1..] {
            let CarEvent::Block { data, .. } = event else {
                panic!()
            };
            if !data.is_empty() {
                assert!(range.contains(&(data.as_ptr() as usize)));
            }
        }
        // Split inside the large block: it is copied once and still correct.
        let split = car.len() - 100;
        let (events, result) = run(
            [car.slice(..split), car.slice(split..)],
            CarLimits::default(),
        );
        result.unwrap();
        let Some(CarEvent::Block { data, .. }) = events.last() else {
            panic!()
        };
        assert_eq!(data[..], blocks.last().unwrap().1[..]);
        assert!(!range.contains(&(data.as_ptr() as usize)));
    }

    #[test]
    fn carv2_round_trip_with_padding_and_index() {
        let blocks = sample_blocks(true);
        let roots = [blocks[1].0];
        let (v1, _) = build_car(&roots, &blocks);
        let car = build_v2(&v1, 13, b"\x80\x08 any index bytes");
        let expected = expected_events(2, &roots, &blocks);
        let (events, result) = decode_whole(&car);
        result.unwrap();
        assert_eq!(events, expected);
        let (events, result) = run(chunks_of(&car, 1), CarLimits::default());
        result.unwrap();
        assert_eq!(events, expected);
        let mut rng = Lcg(3);
        for _ in 0..20 {
            let (events, result) = run(random_chunks(&car, &mut rng, 500), CarLimits::default());
            result.unwrap();
            assert_eq!(events, expected);
        }
        // No padding, no index.
        let (events, result) = decode_whole(&build_v2(&v1, 0, b""));
        result.unwrap();
        assert_eq!(events, expected);
    }

    #[test]
    fn empty_roots_and_zero_blocks_are_accepted() {
        let (events, result) = decode_whole(&v1_header(&[]));
        result.unwrap();
        assert_eq!(
            events,
            vec![CarEvent::Header {
                version: 1,
                roots: vec![]
            }]
        );
        // Hand-built to check v1_header's encoding of an empty array too.
        assert_eq!(v1_header(&[]), with_header(&header_cbor(&[])));
    }

    #[test]
    fn header_keys_in_either_order() {
        let mut cbor = vec![0xa2];
        cbor.extend(cbor_text("version"));
        cbor.push(0x01);
        cbor.extend(cbor_text("roots"));
        cbor.push(0x81);
        cbor.extend(good_root());
        let (events, result) = decode_whole(&with_header(&cbor));
        result.unwrap();
        assert_eq!(
            events,
            vec![CarEvent::Header {
                version: 1,
                roots: vec![raw_cid(b"root")]
            }]
        );
    }

    #[test]
    fn writer_helpers_encode_known_bytes() {
        let cid = raw_cid(b"hello");
        let mut prefix = Vec::new();
        section_prefix(&cid, 5, &mut prefix);
        // 36-byte CIDv1 raw sha2-256 + 5 data bytes = 41 = 0x29.
        let mut expected = vec![0x29, 0x01, 0x55, 0x12, 0x20];
        expected.extend(sha256(b"hello"));
        assert_eq!(prefix, expected);
        assert_eq!(cid_bytes(&cid), cid.to_bytes());
        let v0 = v0_cid(b"x");
        assert_eq!(cid_bytes(&v0), v0.to_bytes());
        assert_eq!(v0.encoded_len(), 34);
        // Length varints of 2 and 3 bytes.
        let mut prefix = Vec::new();
        section_prefix(&cid, 200, &mut prefix);
        assert_eq!(prefix[..2], [0xec, 0x01]); // 236
        assert_eq!(section_encoded_len(&cid, 200), 2 + 236);
        assert_eq!(section_encoded_len(&cid, 20_000), 3 + 20_036);
    }

    // ---- truncation ----

    #[test]
    fn truncation_at_every_offset() {
        let blocks = sample_blocks(false);
        let roots = [blocks[0].0];
        let (car, boundaries) = build_car(&roots, &blocks);
        let expected = expected_events(1, &roots, &blocks);
        for cut in 0..car.len() {
            for chunk_size in [car.len(), 1] {
                let (events, result) =
                    run(chunks_of(&car[..cut], chunk_size), CarLimits::default());
                // Whatever came out is a correct prefix: never a wrong or short block.
                assert_eq!(events[..], expected[..events.len()], "cut {cut}");
                if let Some(index) = boundaries.iter().position(|&b| b == cut) {
                    // A cut on a section boundary is a valid, shorter CARv1.
                    result.unwrap();
                    assert_eq!(events.len(), index + 1);
                } else {
                    let error = result.expect_err("truncated CAR must fail");
                    assert_eq!(error.kind(), ErrorKind::Car, "cut {cut}: {error}");
                }
            }
        }
    }

    #[test]
    fn truncated_section_error_names_block_offset_and_shortfall() {
        let blocks = sample_blocks(false);
        let (car, boundaries) = build_car(&[blocks[0].0], &blocks);
        // Cut 10 bytes into block 1's section (300 data bytes + 34-byte CIDv0, 2-byte varint).
        let start = boundaries[1];
        let cut = start + 10;
        let (events, result) = decode_whole(&car[..cut]);
        assert_eq!(events.len(), 2);
        let error = result.unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "malformed CAR: truncated section at byte {start} (block 1): need {} more bytes",
                2 + 334 - 10
            )
        );
    }

    #[test]
    fn carv2_truncated_in_payload_fails_but_in_index_is_fine() {
        let blocks = sample_blocks(false);
        let roots = [blocks[0].0];
        let (v1, _) = build_car(&roots, &blocks);
        let index = b"\x80\x08index";
        let car = build_v2(&v1, 5, index);
        let payload_end = car.len() - index.len();
        let expected = expected_events(2, &roots, &blocks);
        for cut in 0..car.len() {
            let (events, result) = decode_whole(&car[..cut]);
            assert_eq!(events[..], expected[..events.len()], "cut {cut}");
            if cut >= payload_end {
                result.unwrap();
                assert_eq!(events, expected);
            } else {
                assert_eq!(result.unwrap_err().kind(), ErrorKind::Car, "cut {cut}");
            }
        }
        // Padding cut short.
        let error = expect_error(
            &car[..CARV2_MIN_DATA_OFFSET as usize + 2],
            ErrorKind::Car,
            "padding",
        );
        assert!(error.message().contains("byte 53"), "{error}");
    }

    // ---- limits and varints ----

    #[test]
    fn bad_length_varints() {
        expect_error(&[0x80; 11], ErrorKind::Car, "longer than 10 bytes");
        expect_error(&[0x85, 0x00], ErrorKind::Car, "not minimally encoded");
        let mut overflow = vec![0xff; 9];
        overflow.push(0x02);
        expect_error(&overflow, ErrorKind::Car, "overflows 64 bits");
        expect_error(&[0x00], ErrorKind::Car, "length 0");
        expect_error(
            &[0x85],
            ErrorKind::Car,
            "truncated length varint of header at byte 0",
        );
        expect_error(&with_section(&[]), ErrorKind::Car, "has length 0");
        let mut car = v1_header(&[raw_cid(b"root")]);
        car.extend_from_slice(&[0xa9, 0x00]);
        expect_error(&car, ErrorKind::Car, "not minimally encoded");
        car.pop();
        expect_error(
            &car,
            ErrorKind::Car,
            "truncated length varint of section at byte 59 (block 0)",
        );
    }

    #[test]
    fn lengths_over_limits_fail_before_buffering() {
        // Only the length varint is pushed and finish() is not called: the limit check must
        // not wait for the announced bytes.
        let mut decoder = CarDecoder::new(CarLimits::default());
        decoder.push(Bytes::from(varint(DEFAULT_MAX_HEADER_LEN as u64 + 1)));
        let error = decoder.next().unwrap_err();
        assert!(
            error.message().contains("over the 65536-byte limit"),
            "{error}"
        );
        // Errors are sticky.
        assert_eq!(decoder.next().unwrap_err(), error);
        decoder.push(Bytes::from_static(b"more"));
        assert_eq!(decoder.next().unwrap_err(), error);

        let mut decoder = CarDecoder::new(CarLimits::default());
        decoder.push(Bytes::from(v1_header(&[raw_cid(b"root")])));
        assert!(matches!(decoder.next(), Ok(Some(CarEvent::Header { .. }))));
        decoder.push(Bytes::from(varint(
            CarLimits::default().max_section_len as u64 + 1,
        )));
        let error = decoder.next().unwrap_err();
        assert!(
            error
                .message()
                .contains("section at byte 59 (block 0) is 4194391 bytes"),
            "{error}"
        );

        // A varint claiming u64::MAX is a limit error, not an allocation.
        let mut decoder = CarDecoder::new(CarLimits::default());
        decoder.push(Bytes::from(varint(u64::MAX)));
        assert!(decoder.next().is_err());

        // Custom limits apply.
        let limits = CarLimits {
            max_header_len: 1000,
            max_section_len: 40,
        };
        let (car, _) = build_car(&[raw_cid(b"a")], &[(raw_cid(b"a"), b"a".to_vec())]);
        let (_, result) = run([Bytes::from(car.clone())], limits);
        result.unwrap();
        let (car, _) = build_car(&[raw_cid(b"a")], &[(raw_cid(b"abcde"), b"abcde".to_vec())]);
        let (_, result) = run([Bytes::from(car)], limits);
        assert!(result
            .unwrap_err()
            .message()
            .contains("over the 40-byte limit"));
    }

    // ---- bad CIDs ----

    #[test]
    fn bad_section_cids() {
        let digest = sha256(b"x");
        let mut v2_cid = vec![0x02, 0x55, 0x12, 0x20];
        v2_cid.extend_from_slice(&digest);
        expect_error(
            &with_section(&v2_cid),
            ErrorKind::Cid,
            "unsupported CID version",
        );
        let mut explicit_v0 = vec![0x00, 0x70, 0x12, 0x20];
        explicit_v0.extend_from_slice(&digest);
        expect_error(
            &with_section(&explicit_v0),
            ErrorKind::Cid,
            "explicit CID version 0",
        );
        let mut short_v0 = vec![0x12, 0x20];
        short_v0.extend_from_slice(&digest[..10]);
        expect_error(&with_section(&short_v0), ErrorKind::Cid, "truncated CID");
        let mut wrong_v0 = vec![0x12, 0x21];
        wrong_v0.extend_from_slice(&digest);
        expect_error(&with_section(&wrong_v0), ErrorKind::Cid, "32-byte digest");
        // Digest length runs past the section end.
        expect_error(
            &with_section(&[0x01, 0x55, 0x12, 0x20, 1, 2, 3]),
            ErrorKind::Cid,
            "truncated CID",
        );
        expect_error(
            &with_section(&[0x01, 0x55]),
            ErrorKind::Cid,
            "truncated CID",
        );
        // Non-minimal codec varint.
        let mut non_minimal = vec![0x01, 0xd5, 0x00, 0x12, 0x20];
        non_minimal.extend_from_slice(&digest);
        expect_error(
            &with_section(&non_minimal),
            ErrorKind::Cid,
            "not minimally encoded",
        );
        // A 65-byte identity digest cannot be represented by cid::Cid.
        let mut long_identity = vec![0x01, 0x55, 0x00, 65];
        long_identity.extend_from_slice(&[0u8; 65]);
        let error = expect_error(
            &with_section(&long_identity),
            ErrorKind::Unsupported,
            "64 bytes",
        );
        let header_len = v1_header(&[raw_cid(b"root")]).len();
        assert!(
            error
                .message()
                .contains(&format!("at byte {} (block 0)", header_len + 1)),
            "{error}"
        );
        // A CID that fills its section exactly is an empty block.
        let (events, result) = decode_whole(&with_section(&cid_bytes(&raw_cid(b""))));
        result.unwrap();
        assert_eq!(
            events[1],
            CarEvent::Block {
                cid: raw_cid(b""),
                data: Bytes::new()
            }
        );
    }

    // ---- bad headers ----

    #[test]
    fn bad_header_cbor() {
        let root = good_root();
        let mut cbor = vec![0xa1];
        cbor.extend(cbor_text("roots"));
        cbor.push(0x81);
        cbor.extend_from_slice(&root);
        expect_error(&with_header(&cbor), ErrorKind::Car, "no version key");

        let mut cbor = vec![0xa1];
        cbor.extend(cbor_text("version"));
        cbor.push(0x01);
        expect_error(&with_header(&cbor), ErrorKind::Car, "no roots key");

        let mut cbor = header_cbor(std::slice::from_ref(&root));
        cbor[0] = 0xa3;
        cbor.extend(cbor_text("extra"));
        cbor.push(0x00);
        expect_error(&with_header(&cbor), ErrorKind::Car, "3 entries");

        let mut cbor = header_cbor(std::slice::from_ref(&root));
        cbor[2..7].copy_from_slice(b"rootz");
        expect_error(
            &with_header(&cbor),
            ErrorKind::Car,
            "unexpected header key \"rootz\"",
        );

        let mut cbor = vec![0xa2];
        cbor.extend(cbor_text("version"));
        cbor.push(0x01);
        cbor.extend(cbor_text("version"));
        cbor.push(0x01);
        expect_error(&with_header(&cbor), ErrorKind::Car, "duplicate header key");

        let mut cbor = header_cbor(std::slice::from_ref(&root));
        cbor[0] = 0xbf;
        cbor.push(0xff);
        expect_error(
            &with_header(&cbor),
            ErrorKind::Car,
            "indefinite-length header map",
        );

        let mut cbor = vec![0xa2];
        cbor.extend(cbor_text("roots"));
        cbor.push(0x9f);
        cbor.extend_from_slice(&root);
        cbor.push(0xff);
        cbor.extend(cbor_text("version"));
        cbor.push(0x01);
        expect_error(
            &with_header(&cbor),
            ErrorKind::Car,
            "indefinite-length roots",
        );

        let mut cbor = vec![0xa2, 0x7f, 0x65];
        cbor.extend_from_slice(b"roots");
        cbor.push(0xff);
        expect_error(
            &with_header(&cbor),
            ErrorKind::Car,
            "indefinite-length header key",
        );

        let mut cbor = header_cbor(std::slice::from_ref(&root));
        *cbor.last_mut().unwrap() = 0x03;
        expect_error(
            &with_header(&cbor),
            ErrorKind::Car,
            "unsupported CAR version 3",
        );
        *cbor.last_mut().unwrap() = 0x02;
        expect_error(&with_header(&cbor), ErrorKind::Car, "not the CARv2 pragma");
        *cbor.last_mut().unwrap() = 0x20; // -1
        expect_error(
            &with_header(&cbor),
            ErrorKind::Car,
            "not an unsigned integer",
        );
        *cbor.last_mut().unwrap() = 0x18;
        cbor.push(0x01);
        expect_error(&with_header(&cbor), ErrorKind::Car, "non-minimal integer");

        let mut cbor = header_cbor(std::slice::from_ref(&root));
        cbor[0] = 0x82;
        expect_error(
            &with_header(&cbor),
            ErrorKind::Car,
            "header is not a CBOR map at byte 1",
        );

        let mut cbor = header_cbor(std::slice::from_ref(&root));
        cbor.push(0x00);
        expect_error(
            &with_header(&cbor),
            ErrorKind::Car,
            "trailing bytes after the header map",
        );

        let mut cbor = header_cbor(std::slice::from_ref(&root));
        cbor.truncate(cbor.len() - 1);
        expect_error(
            &with_header(&cbor),
            ErrorKind::Car,
            "header ends inside version",
        );

        let mut cbor = vec![0xa2];
        cbor.extend(cbor_text("roots"));
        cbor.extend_from_slice(&[0x9b, 0, 0, 0, 1, 0, 0, 0, 0]);
        cbor.extend(cbor_text("version"));
        cbor.push(0x01);
        expect_error(
            &with_header(&cbor),
            ErrorKind::Car,
            "more than the header can hold",
        );

        let mut cbor = vec![0xa2];
        cbor.extend(cbor_text("roots"));
        cbor.push(0xa0);
        cbor.extend(cbor_text("version"));
        cbor.push(0x01);
        expect_error(&with_header(&cbor), ErrorKind::Car, "roots is not an array");

        let mut cbor = vec![0xa2, 0x01, 0x01];
        cbor.extend(cbor_text("version"));
        cbor.push(0x01);
        expect_error(&with_header(&cbor), ErrorKind::Car, "not a text string");
    }

    #[test]
    fn bad_root_links() {
        let cid = cid_bytes(&raw_cid(b"root"));
        // Not tagged.
        let mut untagged = Vec::new();
        cbor::write_head(&mut untagged, CBOR_BYTES, cid.len() as u64 + 1);
        untagged.push(0);
        untagged.extend_from_slice(&cid);
        expect_error(
            &with_header(&header_cbor(&[untagged])),
            ErrorKind::Car,
            "not a tag-42",
        );
        // Wrong tag.
        let mut tag43 = good_root();
        tag43[1] = 43;
        expect_error(
            &with_header(&header_cbor(&[tag43])),
            ErrorKind::Car,
            "not a tag-42",
        );
        // Tag 42 around a text string.
        let mut text = good_root();
        text[2] += 0x20;
        expect_error(
            &with_header(&header_cbor(&[text])),
            ErrorKind::Car,
            "byte string",
        );
        // Missing the 0x00 multibase prefix.
        let mut no_prefix = vec![0xd8, 0x2a];
        cbor::write_head(&mut no_prefix, CBOR_BYTES, cid.len() as u64);
        no_prefix.extend_from_slice(&cid);
        expect_error(
            &with_header(&header_cbor(&[no_prefix])),
            ErrorKind::Car,
            "0x00 multibase",
        );
        let empty = vec![0xd8, 0x2a, 0x40];
        expect_error(
            &with_header(&header_cbor(&[empty])),
            ErrorKind::Car,
            "0x00 multibase",
        );
        // Trailing bytes after the CID inside the byte string.
        let mut long = cid.clone();
        long.push(0x00);
        expect_error(
            &with_header(&header_cbor(&[cbor_root(&long)])),
            ErrorKind::Cid,
            "1 trailing bytes",
        );
        // An invalid CID.
        let mut bad = cid.clone();
        bad[0] = 0x03;
        expect_error(
            &with_header(&header_cbor(&[cbor_root(&bad)])),
            ErrorKind::Cid,
            "root CID 0",
        );
        // The second root is bad: its index is reported.
        let roots = [good_root(), cbor_root(&cid[..10])];
        expect_error(
            &with_header(&header_cbor(&roots)),
            ErrorKind::Cid,
            "root CID 1",
        );
    }

    // ---- CARv2 ----

    #[test]
    fn bad_carv2_headers() {
        let (v1, _) = build_car(&[raw_cid(b"a")], &[(raw_cid(b"a"), b"a".to_vec())]);
        let size = v1.len() as u64;
        let min = CARV2_MIN_DATA_OFFSET;
        expect_error(
            &v2_with_fields(&v1, 0, b"", 50, size, 0),
            ErrorKind::Car,
            "data offset 50 points inside",
        );
        expect_error(
            &v2_with_fields(&v1, 0, b"", 0, size, 0),
            ErrorKind::Car,
            "data offset 0",
        );
        expect_error(
            &v2_with_fields(&v1, 0, b"", min, 0, 0),
            ErrorKind::Car,
            "data size is 0",
        );
        expect_error(
            &v2_with_fields(&v1, 0, b"", min, u64::MAX - 10, 0),
            ErrorKind::Car,
            "overflows",
        );
        expect_error(
            &v2_with_fields(&v1, 0, b"", min, size, min + 1),
            ErrorKind::Car,
            "index offset 52 points inside",
        );
        // A payload shorter than the CARv1 cuts the last section.
        expect_error(
            &v2_with_fields(&v1, 0, b"", min, size - 1, 0),
            ErrorKind::Car,
            "overruns the CARv2 data payload",
        );
        // A payload that ends inside the inner header.
        expect_error(
            &v2_with_fields(&v1, 0, b"", min, 5, 0),
            ErrorKind::Car,
            "header at byte 51 overruns",
        );
        // A payload that ends inside a section length varint.
        let mut big = v1_header(&[raw_cid(b"a")]);
        section_prefix(&raw_cid(b"a"), 200, &mut big);
        big.extend_from_slice(&[0u8; 200]);
        let header_len = v1_header(&[raw_cid(b"a")]).len() as u64;
        expect_error(
            &v2_with_fields(&big, 0, b"", min, header_len + 1, 0),
            ErrorKind::Car,
            &format!(
                "length varint of section at byte {} (block 0) overruns",
                min + header_len
            ),
        );
        // A payload longer than the input.
        expect_error(
            &v2_with_fields(&v1, 0, b"", min, size + 1, 0),
            ErrorKind::Car,
            "truncated",
        );
        // The payload must be a CARv1, not another CARv2.
        let mut nested = CARV2_PRAGMA.to_vec();
        nested.extend_from_slice(&v1);
        expect_error(
            &v2_with_fields(&nested, 0, b"", min, nested.len() as u64, 0),
            ErrorKind::Car,
            "says version 2; it must be a CARv1",
        );
        // The pragma alone.
        expect_error(
            &CARV2_PRAGMA,
            ErrorKind::Car,
            "truncated CARv2 header at byte 11: need 40",
        );
        // Non-zero characteristics are ignored.
        let mut car = build_v2(&v1, 0, b"");
        car[11] = 0x80;
        let (events, result) = decode_whole(&car);
        result.unwrap();
        assert_eq!(events.len(), 2);
    }

    // ---- protocol ----

    #[test]
    fn push_after_finish_fails_and_is_done_tracks_progress() {
        let (car, _) = build_car(&[raw_cid(b"a")], &[(raw_cid(b"a"), b"a".to_vec())]);
        let mut decoder = CarDecoder::new(CarLimits::default());
        assert_eq!(decoder.next(), Ok(None));
        decoder.push(Bytes::from(car));
        decoder.push(Bytes::new());
        assert!(matches!(decoder.next(), Ok(Some(CarEvent::Header { .. }))));
        assert!(matches!(decoder.next(), Ok(Some(CarEvent::Block { .. }))));
        // A CARv1 can always continue: not done until finish().
        assert_eq!(decoder.next(), Ok(None));
        assert!(!decoder.is_done());
        decoder.finish();
        assert_eq!(decoder.next(), Ok(None));
        assert!(decoder.is_done());
        decoder.push(Bytes::from_static(b"late"));
        assert!(decoder
            .next()
            .unwrap_err()
            .message()
            .contains("after finish"));
    }

    /// Random corruption and chunking must never panic or hang, and whatever decodes must be
    /// internally consistent.
    #[test]
    fn corrupted_inputs_never_panic() {
        let blocks = sample_blocks(false);
        let (v1, _) = build_car(&[blocks[0].0], &blocks);
        let v2 = build_v2(&v1, 3, b"\x80\x08idx");
        let mut rng = Lcg(99);
        for round in 0..3000 {
            let mut input = if round % 2 == 0 {
                v1.clone()
            } else {
                v2.clone()
            };
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(input.len());
                input[at] = rng.next() as u8;
            }
            if rng.below(4) == 0 {
                input.truncate(rng.below(input.len()));
            }
            let chunks = random_chunks(&input, &mut rng, 64);
            let (events, result) = run(chunks, CarLimits::default());
            if result.is_ok() {
                assert!(matches!(events.first(), Some(CarEvent::Header { .. })));
            }
            for event in events.iter().skip(1) {
                assert!(matches!(event, CarEvent::Block { .. }));
            }
        }
    }
}
