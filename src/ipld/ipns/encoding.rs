//! The record's wire codec: the `IpnsEntry` protobuf envelope (IPNS spec "Record Serialization
//! Format"), its DAG-CBOR `data` map (canonical encoding, strict decoding), and the RFC 3339
//! `Validity` text as Go's `time.RFC3339Nano` writes and parses it.

use super::*;

pub(super) enum ProtoField {
    Varint(u64),
    Bytes(Range<usize>),
    Fixed,
}

pub(super) struct ProtoReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> ProtoReader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        ProtoReader { bytes, pos: 0 }
    }

    /// The next (field number, value), or `None` at the end.
    pub(super) fn next_field(&mut self) -> IpnsResult<Option<(u64, ProtoField)>> {
        if self.pos == self.bytes.len() {
            return Ok(None);
        }
        let tag = read_varint(self.bytes, &mut self.pos)?;
        let number = tag >> 3;
        if number == 0 || number > protobuf::MAX_FIELD_NUMBER {
            return malformed("protobuf field number out of range");
        }
        let field = match tag & 7 {
            protobuf::WIRE_VARINT => ProtoField::Varint(read_varint(self.bytes, &mut self.pos)?),
            protobuf::WIRE_LEN => {
                let len = read_varint(self.bytes, &mut self.pos)?;
                let remaining = (self.bytes.len() - self.pos) as u64;
                if len > remaining {
                    return malformed("protobuf length runs past the end");
                }
                let start = self.pos;
                self.pos += len as usize;
                ProtoField::Bytes(start..self.pos)
            }
            wire @ (protobuf::WIRE_FIXED64 | protobuf::WIRE_FIXED32) => {
                let width = if wire == protobuf::WIRE_FIXED64 { 8 } else { 4 };
                if self.bytes.len() - self.pos < width {
                    return malformed("protobuf fixed field runs past the end");
                }
                self.pos += width;
                ProtoField::Fixed
            }
            _ => return malformed("unsupported protobuf wire type"),
        };
        Ok(Some((number, field)))
    }
}

/// Reads a protobuf varint (at most 10 bytes, no bits beyond 64).
pub(super) fn read_varint(bytes: &[u8], pos: &mut usize) -> IpnsResult<u64> {
    match varint::decode_at(bytes, *pos) {
        Ok((value, used)) => {
            *pos += used;
            Ok(value)
        }
        Err(VarintError::Truncated) => malformed("truncated varint"),
        Err(_) => malformed("varint overflows 64 bits"),
    }
}

pub(super) fn write_proto_bytes(out: &mut Vec<u8>, number: u8, bytes: &[u8]) {
    protobuf::put_bytes_field(out, protobuf::tag(number, protobuf::WIRE_LEN), bytes);
}

pub(super) fn write_proto_varint(out: &mut Vec<u8>, number: u8, value: u64) {
    protobuf::put_varint_field(out, protobuf::tag(number, protobuf::WIRE_VARINT), value);
}

// ---------------------------------------------------------------------------------------------
// DAG-CBOR `data`
// ---------------------------------------------------------------------------------------------

/// The five signed fields, as ranges of `data` (bytes) or int64 values.
pub(super) struct DataFields {
    pub(super) value: Range<usize>,
    pub(super) validity: Range<usize>,
    pub(super) validity_type: i64,
    pub(super) sequence: i64,
    pub(super) ttl: i64,
}

/// Nesting allowed inside extension values (the record's own fields are flat).
pub(super) const MAX_CBOR_DEPTH: usize = 16;

/// Encodes the `data` map with keys in DAG-CBOR canonical order (length first, then
/// bytewise): TTL, Value, Sequence, Validity, ValidityType.
pub(super) fn encode_data(value: &[u8], validity: &[u8], sequence: i64, ttl_ns: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + validity.len() + 64);
    cbor::write_head(&mut out, 5, 5);
    write_cbor_text(&mut out, "TTL");
    write_cbor_int(&mut out, ttl_ns);
    write_cbor_text(&mut out, "Value");
    cbor::write_head(&mut out, 2, value.len() as u64);
    out.extend_from_slice(value);
    write_cbor_text(&mut out, "Sequence");
    write_cbor_int(&mut out, sequence);
    write_cbor_text(&mut out, "Validity");
    cbor::write_head(&mut out, 2, validity.len() as u64);
    out.extend_from_slice(validity);
    write_cbor_text(&mut out, "ValidityType");
    write_cbor_int(&mut out, 0);
    out
}

pub(super) fn write_cbor_text(out: &mut Vec<u8>, text: &str) {
    cbor::write_head(out, 3, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

pub(super) fn write_cbor_int(out: &mut Vec<u8>, value: i64) {
    if value >= 0 {
        cbor::write_head(out, cbor::MAJOR_UINT, value as u64);
    } else {
        cbor::write_head(out, cbor::MAJOR_NEGATIVE, (-1 - value) as u64);
    }
}

/// One decoded CBOR head.
pub(super) enum CborHead {
    /// Major types 0–6 with their argument.
    Major(u8, u64),
    /// `false`, `true`, `null` or a float64 (the only major-7 items DAG-CBOR allows).
    Simple,
}

pub(super) struct CborReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> CborReader<'a> {
    /// Reads a head, enforcing DAG-CBOR: definite lengths, minimal argument encoding, only
    /// false/true/null/float64 among simple values.
    fn head(&mut self) -> IpnsResult<CborHead> {
        let Some(&initial) = self.bytes.get(self.pos) else {
            return malformed("CBOR truncated");
        };
        let (major, info) = cbor::split_initial(initial);
        if major == cbor::MAJOR_SIMPLE && !matches!(info, 20..=22 | 27) {
            return malformed("CBOR simple value or float width not allowed in DAG-CBOR");
        }
        let head = match cbor::read_head(self.bytes, self.pos) {
            Ok(head) => head,
            Err(HeadError::Truncated | HeadError::ArgumentTruncated) => {
                return malformed("CBOR length runs past the end")
            }
            Err(HeadError::Reserved(cbor::INFO_INDEFINITE)) => {
                return malformed("indefinite-length CBOR is not DAG-CBOR")
            }
            Err(HeadError::Reserved(_)) => {
                return malformed("reserved CBOR additional information")
            }
        };
        self.pos += head.len;
        if major == cbor::MAJOR_SIMPLE {
            // false, true, null, or a float64 (its bits are the argument).
            if info == 27 && !f64::from_bits(head.arg).is_finite() {
                return malformed("DAG-CBOR forbids NaN and infinities");
            }
            return Ok(CborHead::Simple);
        }
        if !head.is_minimal() {
            return malformed("CBOR integer not minimally encoded");
        }
        Ok(CborHead::Major(major, head.arg))
    }

    fn take(&mut self, len: u64) -> IpnsResult<&'a [u8]> {
        let remaining = (self.bytes.len() - self.pos) as u64;
        if len > remaining {
            return malformed("CBOR length runs past the end");
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok(&self.bytes[start..self.pos])
    }

    fn take_range(&mut self, len: u64) -> IpnsResult<Range<usize>> {
        let start = self.pos;
        self.take(len)?;
        Ok(start..self.pos)
    }

    /// Skips one well-formed DAG-CBOR item (extension data under unknown keys).
    fn skip(&mut self, depth: usize) -> IpnsResult<()> {
        if depth > MAX_CBOR_DEPTH {
            return malformed("CBOR nested too deeply");
        }
        match self.head()? {
            CborHead::Simple | CborHead::Major(0 | 1, _) => Ok(()),
            CborHead::Major(2, len) => self.take(len).map(drop),
            CborHead::Major(3, len) => {
                let text = self.take(len)?;
                std::str::from_utf8(text)
                    .map(drop)
                    .map_err(|_| IpnsError::new(IpnsErrorKind::Malformed, "CBOR text not UTF-8"))
            }
            // Every item takes at least one byte, so a huge count hits the end and stops.
            CborHead::Major(4, count) => (0..count).try_for_each(|_| self.skip(depth + 1)),
            CborHead::Major(5, count) => (0..count).try_for_each(|_| {
                match self.head()? {
                    CborHead::Major(3, len) => self.take(len).map(drop)?,
                    _ => return malformed("DAG-CBOR map keys must be strings"),
                }
                self.skip(depth + 1)
            }),
            CborHead::Major(6, 42) => match self.head()? {
                // DAG-CBOR links: tag 42 on a byte string holding 0x00 ++ binary CID.
                CborHead::Major(2, len) if len > 1 && self.take(len)?[0] == 0 => Ok(()),
                _ => malformed("CBOR tag 42 must wrap a 0x00-prefixed CID"),
            },
            CborHead::Major(..) => malformed("CBOR tag other than 42 is not DAG-CBOR"),
        }
    }

    fn int(&mut self, key: &str) -> IpnsResult<i64> {
        match self.head()? {
            CborHead::Major(0, value) if value <= i64::MAX as u64 => Ok(value as i64),
            CborHead::Major(1, value) if value <= i64::MAX as u64 => Ok(-1 - value as i64),
            _ => malformed(format!("data field {key} is not an int64")),
        }
    }

    fn byte_string(&mut self, key: &str) -> IpnsResult<Range<usize>> {
        match self.head()? {
            CborHead::Major(2, len) => self.take_range(len),
            _ => malformed(format!("data field {key} is not a byte string")),
        }
    }
}

/// Decodes `data`: one DAG-CBOR map with string keys (no duplicates), nothing after it; the
/// five IPNS fields with their types; any extension values well-formed.
pub(super) fn decode_data(data: &[u8]) -> IpnsResult<DataFields> {
    let mut reader = CborReader {
        bytes: data,
        pos: 0,
    };
    let CborHead::Major(5, count) = reader.head()? else {
        return malformed("data is not a CBOR map");
    };
    let mut value = None;
    let mut validity = None;
    let mut validity_type = None;
    let mut sequence = None;
    let mut ttl = None;
    let mut keys: SmallVec<[Range<usize>; 8]> = SmallVec::new();
    for _ in 0..count {
        let key_range = match reader.head()? {
            CborHead::Major(3, len) => reader.take_range(len)?,
            _ => return malformed("DAG-CBOR map keys must be strings"),
        };
        let key = std::str::from_utf8(&data[key_range.clone()])
            .map_err(|_| IpnsError::new(IpnsErrorKind::Malformed, "CBOR map key not UTF-8"))?;
        keys.push(key_range);
        match key {
            "Value" => value = Some(reader.byte_string(key)?),
            "Validity" => validity = Some(reader.byte_string(key)?),
            "ValidityType" => validity_type = Some(reader.int(key)?),
            "Sequence" => sequence = Some(reader.int(key)?),
            "TTL" => ttl = Some(reader.int(key)?),
            _ => reader.skip(1)?,
        }
    }
    if reader.pos != data.len() {
        return malformed("bytes after the data map");
    }
    reject_duplicate_keys(data, &mut keys)?;
    match (value, validity, validity_type, sequence, ttl) {
        (Some(value), Some(validity), Some(validity_type), Some(sequence), Some(ttl)) => {
            Ok(DataFields {
                value,
                validity,
                validity_type,
                sequence,
                ttl,
            })
        }
        _ => malformed("data lacks one of Value, Validity, ValidityType, Sequence, TTL"),
    }
}

/// Refuses repeated map keys (go-ipld-prime's map builder refuses them too): a repeated
/// `Value` could make two decoders see two different signed values.
pub(super) fn reject_duplicate_keys(data: &[u8], keys: &mut [Range<usize>]) -> IpnsResult<()> {
    let canonical = |a: &Range<usize>, b: &Range<usize>| {
        a.len()
            .cmp(&b.len())
            .then_with(|| data[a.clone()].cmp(&data[b.clone()]))
    };
    // Canonical DAG-CBOR is strictly ordered, which rules out repeats without sorting.
    if keys
        .windows(2)
        .all(|pair| canonical(&pair[0], &pair[1]) == Ordering::Less)
    {
        return Ok(());
    }
    keys.sort_unstable_by(canonical);
    if keys
        .windows(2)
        .any(|pair| canonical(&pair[0], &pair[1]) == Ordering::Equal)
    {
        return malformed("data map repeats a key");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// RFC 3339 timestamps, as Go's time.RFC3339Nano ("2006-01-02T15:04:05.999999999Z07:00")
// ---------------------------------------------------------------------------------------------

/// Formats `time` in UTC as Go's `time.RFC3339Nano` does: fraction with trailing zeros
/// trimmed (none at all for whole seconds), `Z` for UTC. Years outside 0000–9999 are refused
/// (Go would write a form its own parser rejects).
pub fn format_rfc3339_nano(time: SystemTime) -> IpnsResult<String> {
    let time = Timestamp::from_system_time(time);
    let min = days_from_civil(0, 1, 1) * SECONDS_PER_DAY;
    let max = days_from_civil(10_000, 1, 1) * SECONDS_PER_DAY - 1;
    if !(min..=max).contains(&time.unix_secs()) {
        return err(IpnsErrorKind::InvalidValue, "time outside years 0000-9999");
    }
    Ok(time.to_string())
}

/// Parses an RFC 3339 timestamp as Go's `time.Parse(time.RFC3339Nano, …)` does on its strict
/// path: `T` and `Z` upper case, optional fraction of any length (digits past nanoseconds
/// ignored), `Z` or a `±hh:mm` offset, calendar-valid date, no leap second; at most 64 bytes.
pub fn parse_rfc3339(text: &[u8]) -> IpnsResult<SystemTime> {
    let bad = || {
        IpnsError::new(
            IpnsErrorKind::Malformed,
            "Validity is not an RFC 3339 timestamp",
        )
    };
    if text.len() > 64 {
        return Err(bad());
    }
    let time = Timestamp::parse_rfc3339_strict(text).ok_or_else(bad)?;
    let seconds = time.unix_secs();
    let nanos = time.subsec_nanos();
    let time = if seconds >= 0 {
        UNIX_EPOCH.checked_add(Duration::new(seconds as u64, nanos))
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(seconds.unsigned_abs()))
            .and_then(|t| t.checked_add(Duration::from_nanos(u64::from(nanos))))
    };
    time.ok_or_else(bad)
}
