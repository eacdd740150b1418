//! Byte-range requests: parsing `Range`, planning the 200/206/416 answer,
//! `Content-Range` values and the `multipart/byteranges` body layout.
//!
//! Implements RFC 9110 §14.1 (range units, range specifiers, byte ranges),
//! §14.2 (`Range`, including the licence to ignore abusive range sets),
//! §14.4 (`Content-Range`), §14.6 (`multipart/byteranges`), §15.3.7 (206),
//! §15.5.17 (416) and the multipart framing of RFC 2046 §5.1.1.
//! `If-Range` is evaluated by [`crate::http::conditional::if_range`]; this
//! module depends on nothing else in the crate.
//!
//! # How a caller uses it
//!
//! ```text
//! // only for GET, after If-Range (if present) evaluated true
//! match parse_range(range_header_bytes) {
//!     Err(_) => 400 Bad Request,
//!     Ok(RangeRequest::UnsupportedUnit) => 200 with the full body,
//!     Ok(RangeRequest::Bytes(set)) => match set.plan(size) {
//!         RangePlan::Full => 200 with the full body (also the answer for size 0),
//!         RangePlan::Unsatisfiable =>
//!             416, Content-Range: content_range_unsatisfied(size).as_str(),
//!         RangePlan::Partial(ranges) if ranges.len() == 1 =>
//!             206, Content-Range: content_range(ranges[0], size).as_str(),
//!             Content-Length: ranges[0].len(), body = bytes start..=end,
//!         RangePlan::Partial(ranges) => {
//!             let boundary = Boundary::generate();
//!             match MultipartByteranges::new(&ranges, size, content_type, &boundary) {
//!                 None => 200 with the full body,
//!                 Some(body) => 206,
//!                     Content-Type: boundary.content_type().as_str(),
//!                     Content-Length: body.content_length(),
//!                     stream body.segments() in order: Bytes as-is,
//!                     Range(r) as the representation's bytes r.start..=r.end,
//!             }
//!         }
//!     },
//! }
//! ```

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};
use smallvec::SmallVec;

/// Most range-specs a `Range` header may list before the whole header is
/// ignored (RFC 9110 §14.2 lets a server ignore abusive range sets). Same
/// value as Apache httpd's `MaxRanges` default; it also bounds the memory
/// [`ByteRangeSet::plan`] uses.
pub const MAX_RANGE_SPECS: usize = 200;

/// Most parts a multipart/byteranges answer may have after coalescing;
/// beyond this the range set is ignored and the full representation served.
pub const MAX_PARTS: usize = 32;

/// From this many parts on, a range set whose parts average fewer than
/// [`TINY_PART_LEN`] bytes is considered abusive: the multipart framing
/// (roughly 100–150 bytes per part) would outweigh the payload, and every
/// part costs the gateway a separate seek into the DAG.
pub const TINY_PARTS_MIN_COUNT: usize = 8;

/// Average payload per part below which a set of at least
/// [`TINY_PARTS_MIN_COUNT`] parts is ignored as abusive.
pub const TINY_PART_LEN: u64 = 128;

/// Why a `Range` header value is syntactically invalid (RFC 9110 §14.1.1).
/// The gateway answers 400 Bad Request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// No `=` separates the range unit from the range set (`bytes 0-1`).
    #[error("Range header has no '=' after the range unit")]
    MissingEquals,
    /// The range unit is empty or not a token.
    #[error("Range header has an invalid range unit")]
    InvalidUnit,
    /// The `bytes` range set lists no range-spec (`bytes=` or `bytes=,`).
    #[error("Range header lists no range")]
    EmptyRangeSet,
    /// A range-spec is not `first-last`, `first-` or `-suffix` with digits.
    #[error("Range header has a malformed range")]
    InvalidSpec,
    /// A position does not fit in 64 bits.
    #[error("Range header has a position too large to represent")]
    Overflow,
    /// `last < first` in an int-range (`bytes=5-1`).
    #[error("Range header has a range whose last position precedes its first")]
    LastBeforeFirst,
}

/// One range-spec as written by the client (RFC 9110 §14.1.2), before it is
/// resolved against a representation size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `first-last`, inclusive; `first <= last` is guaranteed by parsing.
    FromTo(u64, u64),
    /// `first-`: from `first` to the end.
    From(u64),
    /// `-suffix`: the last `suffix` bytes.
    Suffix(u64),
}

impl RangeSpec {
    /// Resolves the spec against a representation of `size` bytes, or `None`
    /// if it is unsatisfiable (RFC 9110 §14.1.1: first-pos at or past the end,
    /// or a zero suffix-length).
    pub fn resolve(self, size: u64) -> Option<ByteRange> {
        let last_pos = size.checked_sub(1)?;
        match self {
            RangeSpec::FromTo(first, last) if first <= last_pos && first <= last => {
                Some(ByteRange {
                    start: first,
                    end: last.min(last_pos),
                })
            }
            RangeSpec::From(first) if first <= last_pos => Some(ByteRange {
                start: first,
                end: last_pos,
            }),
            // §14.1.2: a suffix longer than the representation selects all of it.
            RangeSpec::Suffix(suffix) if suffix > 0 => Some(ByteRange {
                start: size.saturating_sub(suffix),
                end: last_pos,
            }),
            _ => None,
        }
    }
}

/// An inclusive byte range `start..=end` of a representation.
///
/// Ranges produced by [`ByteRangeSet::plan`] satisfy
/// `start <= end < size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByteRange {
    /// Offset of the first byte.
    pub start: u64,
    /// Offset of the last byte (inclusive).
    pub end: u64,
}

impl ByteRange {
    /// Number of bytes in the range (saturating; never 0 for a valid range).
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start).saturating_add(1)
    }

    /// Always `false` for a valid range: an inclusive range holds at least one
    /// byte. Present for API symmetry with [`ByteRange::len`].
    pub fn is_empty(&self) -> bool {
        self.end < self.start
    }
}

/// What the gateway should do with a `bytes` range request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangePlan {
    /// Ignore the Range header and answer 200 with the whole representation:
    /// the representation is empty, or the range set is abusive (§14.2).
    Full,
    /// Answer 206 with these ranges: one range → a single-part response with
    /// `Content-Range`; several → `multipart/byteranges`. Ranges are disjoint,
    /// non-adjacent, and listed in the order the client first asked for them
    /// (§14.6: "in the same order that the corresponding range-spec appeared",
    /// with coalesced ranges placed where their earliest constituent was).
    Partial(SmallVec<[ByteRange; 1]>),
    /// Answer 416 with `Content-Range: bytes */SIZE` (see
    /// [`content_range_unsatisfied`]).
    Unsatisfiable,
}

/// A parsed `Range` header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest<'a> {
    /// A syntactically valid `bytes` range set.
    Bytes(ByteRangeSet<'a>),
    /// A range unit other than `bytes`: RFC 9110 §14.2 says to ignore the
    /// header, so the caller answers 200 with the full representation.
    UnsupportedUnit,
}

/// A syntactically valid `bytes=` range set, borrowed from the header value.
/// Specs are re-scanned on demand rather than copied, so parsing never
/// allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRangeSet<'a> {
    /// The text after `bytes=`, already validated.
    set: &'a [u8],
    /// Number of (non-empty) range-specs in `set`.
    count: usize,
}

/// Parses a `Range` header value (RFC 9110 §14.1.1, §14.2).
///
/// The unit is matched case-insensitively (§14.1: range units are
/// case-insensitive). Empty list elements and OWS around them are accepted
/// (§5.6.1.2). Positions are `1*DIGIT` with no sign and must fit in a `u64`.
pub fn parse_range(value: &[u8]) -> Result<RangeRequest<'_>, RangeError> {
    let value = trim_ows(value);
    let equals = memchr::memchr(b'=', value).ok_or(RangeError::MissingEquals)?;
    let (unit, rest) = value.split_at(equals);
    let set = rest.get(1..).unwrap_or_default();
    if unit.is_empty() || !unit.iter().all(|&b| is_tchar(b)) {
        return Err(RangeError::InvalidUnit);
    }
    if !unit.eq_ignore_ascii_case(b"bytes") {
        return Ok(RangeRequest::UnsupportedUnit);
    }
    let mut count = 0usize;
    for spec in (SpecScanner { rest: set }) {
        spec?;
        count += 1;
    }
    if count == 0 {
        return Err(RangeError::EmptyRangeSet);
    }
    Ok(RangeRequest::Bytes(ByteRangeSet { set, count }))
}

impl<'a> ByteRangeSet<'a> {
    /// Number of range-specs the client listed.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Always `false`: parsing rejects an empty range set.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The range-specs in the order the client listed them.
    pub fn specs(&self) -> impl Iterator<Item = RangeSpec> + 'a {
        // Already validated by `parse_range`, so no error can occur here.
        SpecScanner { rest: self.set }.filter_map(Result::ok)
    }

    /// Decides how to answer for a representation of `size` bytes.
    ///
    /// Unsatisfiable specs are dropped (§14.1.1); none left → `Unsatisfiable`.
    /// Size 0 → `Full` (nothing can be addressed, and a 200 with an empty body
    /// is more useful than a 416). Overlapping or adjacent ranges are
    /// coalesced; more than [`MAX_RANGE_SPECS`] specs, more than
    /// [`MAX_PARTS`] parts after coalescing, or many tiny parts (see
    /// [`TINY_PARTS_MIN_COUNT`]) → `Full`, as §14.2 permits.
    pub fn plan(&self, size: u64) -> RangePlan {
        if size == 0 || self.count > MAX_RANGE_SPECS {
            return RangePlan::Full;
        }
        if self.count == 1 {
            // Hot path: a single range never needs sorting or a heap.
            return match self.specs().next().and_then(|spec| spec.resolve(size)) {
                Some(range) => RangePlan::Partial(smallvec::smallvec![range]),
                None => RangePlan::Unsatisfiable,
            };
        }

        // Each satisfiable range with the position of its spec in the header,
        // so request order can be restored after sort-and-coalesce.
        // Bounded by MAX_RANGE_SPECS.
        let mut ranges: SmallVec<[(ByteRange, usize); 4]> = self
            .specs()
            .enumerate()
            .filter_map(|(position, spec)| Some((spec.resolve(size)?, position)))
            .collect();
        if ranges.is_empty() {
            return RangePlan::Unsatisfiable;
        }

        ranges.sort_unstable_by_key(|&(range, _)| (range.start, range.end));
        let mut merged = 0usize;
        for index in 0..ranges.len() {
            let Some(&(next, position)) = ranges.get(index) else {
                break;
            };
            match merged.checked_sub(1).and_then(|last| ranges.get_mut(last)) {
                // Overlapping or adjacent (`end + 1 == start`); `end < size`
                // so the addition cannot overflow, saturating regardless.
                Some((current, first_position)) if next.start <= current.end.saturating_add(1) => {
                    current.end = current.end.max(next.end);
                    *first_position = (*first_position).min(position);
                }
                _ => {
                    if let Some(slot) = ranges.get_mut(merged) {
                        *slot = (next, position);
                    }
                    merged += 1;
                }
            }
        }
        ranges.truncate(merged);

        if ranges.len() > MAX_PARTS {
            return RangePlan::Full;
        }
        if ranges.len() >= TINY_PARTS_MIN_COUNT {
            let payload: u64 = ranges
                .iter()
                .fold(0u64, |sum, (range, _)| sum.saturating_add(range.len()));
            if payload < TINY_PART_LEN.saturating_mul(ranges.len() as u64) {
                return RangePlan::Full;
            }
        }

        ranges.sort_unstable_by_key(|&(_, position)| position);
        RangePlan::Partial(ranges.iter().map(|&(range, _)| range).collect())
    }
}

/// Scans the comma-separated range-specs of a `bytes=` set, skipping empty
/// elements and OWS (RFC 9110 §5.6.1.2).
struct SpecScanner<'a> {
    rest: &'a [u8],
}

impl Iterator for SpecScanner<'_> {
    type Item = Result<RangeSpec, RangeError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (element, rest) = match memchr::memchr(b',', self.rest) {
                Some(comma) => {
                    let (element, rest) = self.rest.split_at(comma);
                    (element, rest.get(1..).unwrap_or_default())
                }
                None => (self.rest, &[][..]),
            };
            self.rest = rest;
            let element = trim_ows(element);
            if !element.is_empty() {
                return Some(parse_spec(element));
            }
        }
    }
}

/// Parses one non-empty range-spec: `first-last`, `first-` or `-suffix`.
fn parse_spec(element: &[u8]) -> Result<RangeSpec, RangeError> {
    let dash = memchr::memchr(b'-', element).ok_or(RangeError::InvalidSpec)?;
    let (first, rest) = element.split_at(dash);
    let last = rest.get(1..).unwrap_or_default();
    match (first.is_empty(), last.is_empty()) {
        (true, true) => Err(RangeError::InvalidSpec),
        (true, false) => Ok(RangeSpec::Suffix(parse_position(last)?)),
        (false, true) => Ok(RangeSpec::From(parse_position(first)?)),
        (false, false) => {
            let first = parse_position(first)?;
            let last = parse_position(last)?;
            if last < first {
                return Err(RangeError::LastBeforeFirst);
            }
            Ok(RangeSpec::FromTo(first, last))
        }
    }
}

/// Parses `1*DIGIT` into a `u64`; any other byte (sign, space, `-`) is invalid.
fn parse_position(digits: &[u8]) -> Result<u64, RangeError> {
    if digits.is_empty() {
        return Err(RangeError::InvalidSpec);
    }
    digits.iter().try_fold(0u64, |value, &byte| {
        if !byte.is_ascii_digit() {
            return Err(RangeError::InvalidSpec);
        }
        value
            .checked_mul(10)
            .and_then(|value| value.checked_add(u64::from(byte - b'0')))
            .ok_or(RangeError::Overflow)
    })
}

/// Strips leading and trailing OWS (SP / HTAB, RFC 9110 §5.6.3).
fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// `tchar` of RFC 9110 §5.6.2.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// ASCII text of at most `N` bytes held inline, for header values built
/// without a heap allocation. Turn it into an `http::HeaderValue` with
/// `HeaderValue::from_bytes(text.as_bytes())` (always valid: only visible
/// ASCII and spaces are ever written).
#[derive(Clone, Copy)]
pub struct InlineText<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> InlineText<N> {
    const fn new() -> Self {
        InlineText {
            buf: [0; N],
            len: 0,
        }
    }

    /// Appends `bytes`; callers size `N` for the worst case, so the
    /// truncation branch is unreachable in practice (and caught in debug).
    fn push(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        debug_assert!(end <= N, "InlineText<{N}> overflow");
        if let Some(slot) = self.buf.get_mut(self.len..end) {
            slot.copy_from_slice(bytes);
            self.len = end;
        }
    }

    /// Appends the decimal digits of `value`.
    fn push_u64(&mut self, mut value: u64) {
        let mut digits = [0u8; 20]; // u64::MAX has 20 digits
        let mut start = digits.len();
        loop {
            start -= 1;
            if let Some(slot) = digits.get_mut(start) {
                *slot = b'0' + (value % 10) as u8;
            }
            value /= 10;
            if value == 0 || start == 0 {
                break;
            }
        }
        self.push(digits.get(start..).unwrap_or_default());
    }

    /// The text as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// The text as a string slice.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever pushed, so this never falls back.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl<const N: usize> fmt::Debug for InlineText<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> fmt::Display for InlineText<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> PartialEq for InlineText<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl<const N: usize> Eq for InlineText<N> {}

impl<const N: usize> PartialEq<str> for InlineText<N> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl<const N: usize> PartialEq<&str> for InlineText<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl<const N: usize> AsRef<[u8]> for InlineText<N> {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// A `Content-Range` value: `"bytes " + 3 × u64 (20 digits) + "-" + "/"` fits in 68.
pub type ContentRange = InlineText<68>;

/// `Content-Range: bytes START-END/SIZE` for a 206 part (RFC 9110 §14.4).
pub fn content_range(range: ByteRange, size: u64) -> ContentRange {
    let mut text = ContentRange::new();
    text.push(b"bytes ");
    text.push_u64(range.start);
    text.push(b"-");
    text.push_u64(range.end);
    text.push(b"/");
    text.push_u64(size);
    text
}

/// `Content-Range: bytes */SIZE` for a 416 answer (RFC 9110 §14.4, §15.5.17).
pub fn content_range_unsatisfied(size: u64) -> ContentRange {
    let mut text = ContentRange::new();
    text.push(b"bytes */");
    text.push_u64(size);
    text
}

/// Longest boundary RFC 2046 §5.1.1 allows.
pub const BOUNDARY_MAX_LEN: usize = 70;

/// Length of a [`Boundary::generate`]d boundary: 32 lowercase hex digits.
pub const GENERATED_BOUNDARY_LEN: usize = 32;

/// `"multipart/byteranges; boundary="` followed by at most 70 boundary chars.
pub type MultipartContentType = InlineText<{ 31 + BOUNDARY_MAX_LEN }>;

/// A multipart boundary (RFC 2046 §5.1.1).
///
/// Only the subset of `bchars` that are also `tchar`s (letters, digits,
/// `'+-._`) is accepted, so the `boundary` parameter never needs quoting.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Boundary(InlineText<BOUNDARY_MAX_LEN>);

impl Boundary {
    /// Generates a fresh 32-hex-digit (128-bit) boundary.
    ///
    /// Trade-off: no random-number crate is used. The bits come from SipHash
    /// keyed by `std`'s `RandomState` (seeded from the OS's randomness once
    /// per thread, then stepped per instance), over a process-wide counter
    /// and the current time. That is not a cryptographic guarantee, but the
    /// keys are unknown outside the process, so neither accidental
    /// collisions with content (2^-128 per position) nor someone crafting
    /// content to contain a future boundary is realistic — and since the
    /// parts' lengths are fixed by `Content-Range`, a client that parses by
    /// length is unaffected either way. A collision would only confuse a
    /// client that splits the body by boundary search.
    pub fn generate() -> Boundary {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let sequence = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let keys = RandomState::new();
        let mut text = InlineText::new();
        for half in 0u8..2 {
            let mut hasher = keys.build_hasher();
            hasher.write_u8(half);
            hasher.write_u64(sequence);
            hasher.write_u128(nanos);
            push_hex_u64(&mut text, hasher.finish());
        }
        Boundary(text)
    }

    /// Uses a caller-chosen boundary: 1 to 70 of letters, digits and `'+-._`.
    pub fn new(boundary: &str) -> Option<Boundary> {
        let bytes = boundary.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= BOUNDARY_MAX_LEN
            && bytes.iter().all(|&b| {
                b.is_ascii_alphanumeric() || matches!(b, b'\'' | b'+' | b'-' | b'.' | b'_')
            });
        if !valid {
            return None;
        }
        let mut text = InlineText::new();
        text.push(bytes);
        Some(Boundary(text))
    }

    /// The boundary text (without the leading `--`).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// `multipart/byteranges; boundary=BOUNDARY`, the 206 `Content-Type`
    /// for a multi-part answer (RFC 9110 §14.6).
    pub fn content_type(&self) -> MultipartContentType {
        let mut text = MultipartContentType::new();
        text.push(b"multipart/byteranges; boundary=");
        text.push(self.0.as_bytes());
        text
    }
}

impl fmt::Debug for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

fn push_hex_u64<const N: usize>(text: &mut InlineText<N>, value: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    for (index, digit) in digits.iter_mut().enumerate() {
        let nibble = (value >> (60 - 4 * index)) & 0xf;
        *digit = HEX.get(nibble as usize).copied().unwrap_or(b'0');
    }
    text.push(&digits);
}

/// Content type used for the parts when the caller's is not a valid field
/// value (it would otherwise allow header injection into the body).
const FALLBACK_PART_CONTENT_TYPE: &str = "application/octet-stream";

/// One part of a multipart/byteranges body: its header block, then the
/// representation's bytes `range.start..=range.end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartPart {
    /// Delimiter and part headers, ending with the blank line.
    pub header: Bytes,
    /// The bytes of the representation that follow `header`.
    pub range: ByteRange,
}

/// One piece of the multipart body, in streaming order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodySegment {
    /// Framing bytes to send as they are.
    Bytes(Bytes),
    /// Bytes `start..=end` of the representation.
    Range(ByteRange),
}

/// The complete layout of a `multipart/byteranges` body (RFC 9110 §14.6,
/// RFC 2046 §5.1.1): every part's header, the ranges between them, the
/// closing delimiter, and the exact `Content-Length`, known before the first
/// byte is streamed.
///
/// Layout: `--B CRLF Content-Type: T CRLF Content-Range: bytes a-b/n CRLF CRLF`
/// data, then `CRLF --B ...` for each later part, then `CRLF --B-- CRLF`.
/// All framing lives in one buffer; the `Bytes` handed out are slices of it.
#[derive(Debug, Clone)]
pub struct MultipartByteranges {
    parts: SmallVec<[MultipartPart; 2]>,
    closing: Bytes,
    content_length: u64,
}

impl MultipartByteranges {
    /// Lays out the body for `ranges` (in the order given) of a
    /// representation of `size` bytes whose type is `content_type` (an empty
    /// string omits the parts' `Content-Type`; one that is not a valid field
    /// value is replaced by `application/octet-stream`).
    ///
    /// `None` if `ranges` is empty, a range is not within `0..size`, or the
    /// body length does not fit in a `u64` (possible only for a forged
    /// multi-exabyte size); the caller then serves the full representation.
    pub fn new(
        ranges: &[ByteRange],
        size: u64,
        content_type: &str,
        boundary: &Boundary,
    ) -> Option<MultipartByteranges> {
        if ranges.is_empty()
            || ranges
                .iter()
                .any(|range| range.start > range.end || range.end >= size)
        {
            return None;
        }
        let content_type = if content_type.bytes().all(is_field_value_byte) {
            content_type
        } else {
            FALLBACK_PART_CONTENT_TYPE
        };
        let boundary = boundary.0.as_bytes();

        // Exact size of all framing, so the buffer is allocated once.
        let type_line = if content_type.is_empty() {
            0
        } else {
            "Content-Type: ".len() + content_type.len() + 2
        };
        // Per part: [CRLF] "--" boundary CRLF [type line] "Content-Range: " value CRLF CRLF.
        let fixed_per_part =
            2 + 2 + boundary.len() + 2 + type_line + "Content-Range: ".len() + 2 + 2;
        // Closing CRLF "--" boundary "--" CRLF, minus the first part's absent CRLF.
        let mut framing_len = 2 + 2 + boundary.len() + 2 + 2 - 2;
        for range in ranges {
            framing_len = framing_len
                .saturating_add(fixed_per_part)
                .saturating_add(content_range(*range, size).as_bytes().len());
        }
        let mut framing = BytesMut::with_capacity(framing_len);

        let mut header_ends: SmallVec<[usize; 2]> = SmallVec::with_capacity(ranges.len());
        for (index, range) in ranges.iter().enumerate() {
            // The first delimiter has no preceding CRLF (RFC 2046: the CRLF
            // before a delimiter belongs to the delimiter, and nothing
            // precedes the first one here).
            if index > 0 {
                framing.put_slice(b"\r\n");
            }
            framing.put_slice(b"--");
            framing.put_slice(boundary);
            framing.put_slice(b"\r\n");
            if !content_type.is_empty() {
                framing.put_slice(b"Content-Type: ");
                framing.put_slice(content_type.as_bytes());
                framing.put_slice(b"\r\n");
            }
            framing.put_slice(b"Content-Range: ");
            framing.put_slice(content_range(*range, size).as_bytes());
            framing.put_slice(b"\r\n\r\n");
            header_ends.push(framing.len());
        }
        framing.put_slice(b"\r\n--");
        framing.put_slice(boundary);
        framing.put_slice(b"--\r\n");
        debug_assert_eq!(framing.len(), framing_len);

        let framing = framing.freeze();
        let mut content_length = framing.len() as u64;
        let mut parts = SmallVec::with_capacity(ranges.len());
        let mut header_start = 0usize;
        for (range, &header_end) in ranges.iter().zip(&header_ends) {
            content_length = content_length.checked_add(range.len())?;
            parts.push(MultipartPart {
                header: framing.slice(header_start..header_end),
                range: *range,
            });
            header_start = header_end;
        }
        let closing = framing.slice(header_start..);
        Some(MultipartByteranges {
            parts,
            closing,
            content_length,
        })
    }

    /// Exact length of the whole body, for `Content-Length`.
    pub fn content_length(&self) -> u64 {
        self.content_length
    }

    /// The parts, in body order.
    pub fn parts(&self) -> &[MultipartPart] {
        &self.parts
    }

    /// The closing delimiter `CRLF --BOUNDARY-- CRLF`, sent after the last part.
    pub fn closing_delimiter(&self) -> &Bytes {
        &self.closing
    }

    /// Every segment of the body in streaming order: for each part its
    /// header then its range, then the closing delimiter. Cloning a `Bytes`
    /// only bumps a reference count.
    pub fn segments(&self) -> impl Iterator<Item = BodySegment> + '_ {
        self.parts
            .iter()
            .flat_map(|part| {
                [
                    BodySegment::Bytes(part.header.clone()),
                    BodySegment::Range(part.range),
                ]
            })
            .chain(std::iter::once(BodySegment::Bytes(self.closing.clone())))
    }
}

/// Bytes allowed in a field value (RFC 9110 §5.5): VCHAR, SP, HTAB, obs-text.
/// Rejects CR, LF, NUL and other controls.
fn is_field_value_byte(byte: u8) -> bool {
    byte == b'\t' || (byte >= 0x20 && byte != 0x7f)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIZE: u64 = 10_000;

    fn set(header: &str) -> ByteRangeSet<'_> {
        match parse_range(header.as_bytes()) {
            Ok(RangeRequest::Bytes(set)) => set,
            other => panic!("{header:?} did not parse as bytes: {other:?}"),
        }
    }

    fn plan(header: &str, size: u64) -> RangePlan {
        set(header).plan(size)
    }

    fn partial(ranges: &[(u64, u64)]) -> RangePlan {
        RangePlan::Partial(
            ranges
                .iter()
                .map(|&(start, end)| ByteRange { start, end })
                .collect(),
        )
    }

    // RFC 9110 §14.1.2 examples, representation of length 10000.
    #[test]
    fn rfc9110_examples() {
        assert_eq!(plan("bytes=0-499", SIZE), partial(&[(0, 499)]));
        assert_eq!(plan("bytes=500-999", SIZE), partial(&[(500, 999)]));
        assert_eq!(plan("bytes=-500", SIZE), partial(&[(9500, 9999)]));
        assert_eq!(plan("bytes=9500-", SIZE), partial(&[(9500, 9999)]));
        assert_eq!(plan("bytes=0-0,-1", SIZE), partial(&[(0, 0), (9999, 9999)]));
        assert_eq!(
            plan("bytes= 0-999, 4500-5499, -1000", SIZE),
            partial(&[(0, 999), (4500, 5499), (9000, 9999)])
        );
        // "Other valid (but not canonical) specifications of the second 500 bytes"
        assert_eq!(plan("bytes=500-600,601-999", SIZE), partial(&[(500, 999)]));
        assert_eq!(plan("bytes=500-700,601-999", SIZE), partial(&[(500, 999)]));
    }

    #[test]
    fn specs_are_reported_as_written() {
        let specs: Vec<_> = set("bytes=1-2, 3-,-4").specs().collect();
        assert_eq!(
            specs,
            [
                RangeSpec::FromTo(1, 2),
                RangeSpec::From(3),
                RangeSpec::Suffix(4)
            ]
        );
        assert_eq!(set("bytes=1-2, 3-,-4").len(), 3);
    }

    #[test]
    fn last_pos_past_end_is_clamped() {
        assert_eq!(plan("bytes=9000-20000", SIZE), partial(&[(9000, 9999)]));
        assert_eq!(
            plan(&format!("bytes=0-{}", u64::MAX), SIZE),
            partial(&[(0, 9999)])
        );
    }

    #[test]
    fn suffix_longer_than_representation_selects_all() {
        assert_eq!(plan("bytes=-20000", SIZE), partial(&[(0, 9999)]));
        assert_eq!(plan("bytes=-10000", SIZE), partial(&[(0, 9999)]));
        assert_eq!(plan(&format!("bytes=-{}", u64::MAX), 5), partial(&[(0, 4)]));
    }

    #[test]
    fn unsatisfiable() {
        assert_eq!(plan("bytes=10000-", SIZE), RangePlan::Unsatisfiable);
        assert_eq!(plan("bytes=10000-10001", SIZE), RangePlan::Unsatisfiable);
        assert_eq!(plan("bytes=-0", SIZE), RangePlan::Unsatisfiable);
        assert_eq!(plan("bytes=-0,20000-", SIZE), RangePlan::Unsatisfiable);
        // 416 decision vs. size 0, which is served as 200.
        assert_eq!(plan("bytes=0-", 1), partial(&[(0, 0)]));
        assert_eq!(plan("bytes=1-", 1), RangePlan::Unsatisfiable);
    }

    #[test]
    fn empty_representation_is_served_full() {
        for header in [
            "bytes=0-",
            "bytes=0-0",
            "bytes=-1",
            "bytes=-0",
            "bytes=5-9,-3",
        ] {
            assert_eq!(plan(header, 0), RangePlan::Full, "{header}");
        }
    }

    #[test]
    fn unsatisfiable_specs_mixed_with_valid_ones_are_dropped() {
        assert_eq!(plan("bytes=20000-30000,0-9", SIZE), partial(&[(0, 9)]));
        assert_eq!(
            plan("bytes=20000-,100-199,-0,10000-10000,50-59", SIZE),
            partial(&[(100, 199), (50, 59)])
        );
    }

    #[test]
    fn coalesces_overlapping_and_adjacent_ranges() {
        // Adjacent.
        assert_eq!(plan("bytes=0-9,10-19", SIZE), partial(&[(0, 19)]));
        // Contained.
        assert_eq!(plan("bytes=0-99,10-19", SIZE), partial(&[(0, 99)]));
        // Overlapping out of order, with a gap of one byte that must not merge.
        assert_eq!(
            plan("bytes=50-60,0-9,55-70,72-80", SIZE),
            partial(&[(50, 70), (0, 9), (72, 80)])
        );
        // Suffix overlapping an open range.
        assert_eq!(plan("bytes=9000-,-500", SIZE), partial(&[(9000, 9999)]));
        // Duplicate ranges.
        assert_eq!(plan("bytes=5-6,5-6,5-6", SIZE), partial(&[(5, 6)]));
        // Chain merging across several sorted entries.
        assert_eq!(
            plan("bytes=30-39,0-9,10-19,20-29", SIZE),
            partial(&[(0, 39)])
        );
    }

    #[test]
    fn keeps_request_order_for_disjoint_ranges() {
        assert_eq!(plan("bytes=6-16,0-4", SIZE), partial(&[(6, 16), (0, 4)]));
        // A merged range sits where its earliest constituent was.
        assert_eq!(
            plan("bytes=900-999,0-9,950-1200,500-599", SIZE),
            partial(&[(900, 1200), (0, 9), (500, 599)])
        );
        // ...even when that constituent sorts after the one it merges into.
        assert_eq!(
            plan("bytes=500-599,950-1200,0-9,900-999", SIZE),
            partial(&[(500, 599), (900, 1200), (0, 9)])
        );
    }

    #[test]
    fn too_many_parts_fall_back_to_full() {
        let header = |count: u64| {
            let specs: Vec<String> = (0..count)
                .map(|i| format!("{}-{}", i * 1000, i * 1000 + 499))
                .collect();
            format!("bytes={}", specs.join(","))
        };
        assert!(matches!(plan(&header(32), 100_000), RangePlan::Partial(r) if r.len() == 32));
        assert_eq!(plan(&header(33), 100_000), RangePlan::Full);
        // Many specs that coalesce into one are fine up to MAX_RANGE_SPECS...
        let overlapping = format!("bytes={}", vec!["0-10"; MAX_RANGE_SPECS].join(","));
        assert_eq!(plan(&overlapping, SIZE), partial(&[(0, 10)]));
        // ...and ignored beyond it.
        let overlapping = format!("bytes={}", vec!["0-10"; MAX_RANGE_SPECS + 1].join(","));
        assert_eq!(plan(&overlapping, SIZE), RangePlan::Full);
    }

    #[test]
    fn many_tiny_parts_fall_back_to_full() {
        let tiny: Vec<String> = (0..TINY_PARTS_MIN_COUNT as u64)
            .map(|i| format!("{}-{}", i * 100, i * 100 + 9))
            .collect();
        assert_eq!(
            plan(&format!("bytes={}", tiny.join(",")), SIZE),
            RangePlan::Full
        );
        // One fewer tiny part is still served.
        let fewer = tiny.get(1..).unwrap_or_default().join(",");
        assert!(
            matches!(plan(&format!("bytes={fewer}"), SIZE), RangePlan::Partial(r) if r.len() == TINY_PARTS_MIN_COUNT - 1)
        );
        // As many parts of reasonable size are served.
        let big: Vec<String> = (0..TINY_PARTS_MIN_COUNT as u64)
            .map(|i| format!("{}-{}", i * 1000, i * 1000 + 199))
            .collect();
        assert!(
            matches!(plan(&format!("bytes={}", big.join(",")), SIZE), RangePlan::Partial(r) if r.len() == TINY_PARTS_MIN_COUNT)
        );
    }

    #[test]
    fn syntax_leniencies() {
        assert_eq!(plan("bytes=0-1,,3-4", SIZE), partial(&[(0, 1), (3, 4)]));
        assert_eq!(plan("bytes=,0-1,", SIZE), partial(&[(0, 1)]));
        assert_eq!(plan("bytes=0-1 ,\t3-4", SIZE), partial(&[(0, 1), (3, 4)]));
        assert_eq!(plan("BYTES=0-1", SIZE), partial(&[(0, 1)]));
        assert_eq!(plan("Bytes=0-1", SIZE), partial(&[(0, 1)]));
        assert_eq!(plan("  bytes=0-1  ", SIZE), partial(&[(0, 1)]));
        assert_eq!(plan("bytes=0000-0001", SIZE), partial(&[(0, 1)]));
        assert_eq!(
            plan("bytes=00000000000000000000000000042-", SIZE),
            partial(&[(42, 9999)])
        );
    }

    #[test]
    fn invalid_syntax_is_an_error() {
        let cases: &[(&str, RangeError)] = &[
            ("bytes=", RangeError::EmptyRangeSet),
            ("bytes=,", RangeError::EmptyRangeSet),
            ("bytes= , ,", RangeError::EmptyRangeSet),
            ("bytes=a-b", RangeError::InvalidSpec),
            ("bytes=5-1", RangeError::LastBeforeFirst),
            ("bytes=--1", RangeError::InvalidSpec),
            ("bytes=-", RangeError::InvalidSpec),
            ("bytes=1", RangeError::InvalidSpec),
            ("bytes=1-2-3", RangeError::InvalidSpec),
            ("bytes=+1-2", RangeError::InvalidSpec),
            ("bytes=-+1", RangeError::InvalidSpec),
            ("bytes=1 -2", RangeError::InvalidSpec),
            ("bytes=1- 2", RangeError::InvalidSpec),
            ("bytes=0-1,x", RangeError::InvalidSpec),
            ("bytes=0x10-", RangeError::InvalidSpec),
            ("bytes=18446744073709551616-", RangeError::Overflow),
            ("bytes=0-18446744073709551616", RangeError::Overflow),
            ("bytes=-99999999999999999999999", RangeError::Overflow),
            ("bytes 0-1", RangeError::MissingEquals),
            ("bytes", RangeError::MissingEquals),
            ("", RangeError::MissingEquals),
            ("=0-1", RangeError::InvalidUnit),
            ("by tes=0-1", RangeError::InvalidUnit),
            ("bytes =0-1", RangeError::InvalidUnit),
        ];
        for &(header, expected) in cases {
            assert_eq!(parse_range(header.as_bytes()), Err(expected), "{header:?}");
        }
        // Invalid UTF-8 and controls never panic.
        assert_eq!(
            parse_range(b"bytes=\xff-\x00"),
            Err(RangeError::InvalidSpec)
        );
        // Largest position is accepted.
        assert_eq!(
            set("bytes=18446744073709551615-").specs().next(),
            Some(RangeSpec::From(u64::MAX))
        );
    }

    #[test]
    fn unknown_unit_is_ignored() {
        assert_eq!(parse_range(b"items=0-1"), Ok(RangeRequest::UnsupportedUnit));
        assert_eq!(
            parse_range(b"none=whatever!"),
            Ok(RangeRequest::UnsupportedUnit)
        );
        assert_eq!(
            parse_range(b"bytesx=0-1"),
            Ok(RangeRequest::UnsupportedUnit)
        );
    }

    #[test]
    fn content_range_values() {
        let r = |start, end| ByteRange { start, end };
        // RFC 9110 §14.4 examples.
        assert_eq!(content_range(r(42, 1233), 1234), "bytes 42-1233/1234");
        assert_eq!(
            content_range(r(21010, 47021), 47022),
            "bytes 21010-47021/47022"
        );
        assert_eq!(content_range_unsatisfied(47022), "bytes */47022");
        assert_eq!(content_range(r(0, 0), 1), "bytes 0-0/1");
        assert_eq!(content_range_unsatisfied(0), "bytes */0");
        let max = u64::MAX;
        assert_eq!(
            content_range(r(max, max), max).as_str(),
            "bytes 18446744073709551615-18446744073709551615/18446744073709551615"
        );
        assert_eq!(
            content_range_unsatisfied(max).as_str(),
            "bytes */18446744073709551615"
        );
        assert_eq!(content_range(r(max, max), max).as_bytes().len(), 68);
    }

    #[test]
    fn byte_range_len() {
        assert_eq!(ByteRange { start: 0, end: 0 }.len(), 1);
        assert_eq!(ByteRange { start: 5, end: 9 }.len(), 5);
        assert_eq!(
            ByteRange {
                start: 0,
                end: u64::MAX
            }
            .len(),
            u64::MAX
        );
        assert!(!ByteRange { start: 0, end: 0 }.is_empty());
    }

    fn render(body: &MultipartByteranges, representation: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for segment in body.segments() {
            match segment {
                BodySegment::Bytes(bytes) => out.extend_from_slice(&bytes),
                BodySegment::Range(range) => out
                    .extend_from_slice(&representation[range.start as usize..=range.end as usize]),
            }
        }
        out
    }

    #[test]
    fn multipart_layout_is_exact() {
        let representation: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
        let boundary = Boundary::new("THIS_STRING_SEPARATES").unwrap();
        let ranges = [
            ByteRange { start: 0, end: 4 },
            ByteRange { start: 10, end: 12 },
        ];
        let body = MultipartByteranges::new(&ranges, 100, "text/plain", &boundary).unwrap();
        let expected = "--THIS_STRING_SEPARATES\r\n\
             Content-Type: text/plain\r\n\
             Content-Range: bytes 0-4/100\r\n\r\n\
             abcde\r\n\
             --THIS_STRING_SEPARATES\r\n\
             Content-Type: text/plain\r\n\
             Content-Range: bytes 10-12/100\r\n\r\n\
             klm\r\n\
             --THIS_STRING_SEPARATES--\r\n";
        let rendered = render(&body, &representation);
        assert_eq!(String::from_utf8_lossy(&rendered), expected);
        assert_eq!(body.content_length(), expected.len() as u64);
        assert_eq!(body.parts().len(), 2);
        assert_eq!(body.parts()[1].range, ranges[1]);
        assert_eq!(
            &body.closing_delimiter()[..],
            b"\r\n--THIS_STRING_SEPARATES--\r\n"
        );
        assert_eq!(
            boundary.content_type().as_str(),
            "multipart/byteranges; boundary=THIS_STRING_SEPARATES"
        );
    }

    #[test]
    fn multipart_content_length_matches_segments() {
        let boundary = Boundary::generate();
        for content_type in ["", "application/octet-stream", "text/html; charset=utf-8"] {
            let plan = plan("bytes=0-0,-1,4500-5499,100-", SIZE);
            let RangePlan::Partial(ranges) = plan else {
                panic!("expected partial");
            };
            let body = MultipartByteranges::new(&ranges, SIZE, content_type, &boundary).unwrap();
            let total: u64 = body
                .segments()
                .map(|segment| match segment {
                    BodySegment::Bytes(bytes) => bytes.len() as u64,
                    BodySegment::Range(range) => range.len(),
                })
                .sum();
            assert_eq!(body.content_length(), total, "{content_type:?}");
            let first = &body.parts()[0].header;
            assert!(first.starts_with(format!("--{}\r\n", boundary.as_str()).as_bytes()));
            assert!(body.parts()[1].header.starts_with(b"\r\n--"));
            assert_eq!(
                content_type.is_empty(),
                !first.windows(13).any(|w| w == b"Content-Type:")
            );
        }
    }

    #[test]
    fn multipart_with_huge_sizes() {
        let boundary = Boundary::new("b").unwrap();
        let max = u64::MAX;
        // Content-Length would overflow.
        let ranges = [
            ByteRange {
                start: 0,
                end: max / 2,
            },
            ByteRange {
                start: max / 2 + 2,
                end: max - 1,
            },
        ];
        assert!(MultipartByteranges::new(&ranges, max, "", &boundary).is_none());
        // Large but representable.
        let ranges = [
            ByteRange { start: 0, end: 0 },
            ByteRange {
                start: max - 2,
                end: max - 1,
            },
        ];
        let body = MultipartByteranges::new(&ranges, max, "", &boundary).unwrap();
        let framing: u64 = body
            .segments()
            .filter_map(|s| match s {
                BodySegment::Bytes(b) => Some(b.len() as u64),
                BodySegment::Range(_) => None,
            })
            .sum();
        assert_eq!(body.content_length(), framing + 3);
        assert!(body.parts()[1]
            .header
            .ends_with(b"Content-Range: bytes 18446744073709551613-18446744073709551614/18446744073709551615\r\n\r\n"));
    }

    #[test]
    fn multipart_rejects_bad_input() {
        let boundary = Boundary::new("b").unwrap();
        let ok = ByteRange { start: 0, end: 1 };
        assert!(MultipartByteranges::new(&[], 10, "", &boundary).is_none());
        assert!(MultipartByteranges::new(
            &[ok, ByteRange { start: 5, end: 10 }],
            10,
            "",
            &boundary
        )
        .is_none());
        assert!(
            MultipartByteranges::new(&[ok, ByteRange { start: 5, end: 4 }], 10, "", &boundary)
                .is_none()
        );
        // Header injection through the content type is neutralised.
        let body =
            MultipartByteranges::new(&[ok], 10, "text/plain\r\nX-Evil: 1", &boundary).unwrap();
        let header = &body.parts()[0].header;
        assert!(header
            .windows(38)
            .any(|w| w == b"Content-Type: application/octet-stream"));
        assert!(!header.windows(6).any(|w| w == b"X-Evil"));
    }

    #[test]
    fn boundaries() {
        let a = Boundary::generate();
        let b = Boundary::generate();
        assert_ne!(a, b);
        for boundary in [a, b] {
            assert_eq!(boundary.as_str().len(), GENERATED_BOUNDARY_LEN);
            assert!(boundary
                .as_str()
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
            assert_eq!(Boundary::new(boundary.as_str()), Some(boundary));
        }
        let many: std::collections::HashSet<String> = (0..1000)
            .map(|_| Boundary::generate().as_str().to_owned())
            .collect();
        assert_eq!(many.len(), 1000);

        assert!(Boundary::new("").is_none());
        assert!(Boundary::new("has space").is_none());
        assert!(Boundary::new("a\r\nb").is_none());
        assert!(Boundary::new("quote\"").is_none());
        assert!(Boundary::new(&"x".repeat(70)).is_some());
        assert!(Boundary::new(&"x".repeat(71)).is_none());
        let longest = Boundary::new(&"x".repeat(70)).unwrap();
        assert_eq!(longest.content_type().as_str().len(), 31 + 70);
    }
}
