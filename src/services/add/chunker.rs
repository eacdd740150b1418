//! Cutting a byte stream into chunks exactly where Kubo (boxo `chunker`) cuts it: the chunker
//! strings `ipfs add --chunker` accepts (`size-N`, `rabin`, `rabin-AVG`, `rabin-MIN-AVG-MAX`,
//! `buzhash`, with boxo's bounds and error conditions, `chunker/parse.go`) and a push/pop
//! splitter whose boundaries do not depend on how the input arrives.
//!
//! - `size-N`: fixed N-byte chunks. A chunk that lies inside one pushed buffer is a
//!   `Bytes::slice` of it (zero copy); only chunks straddling two buffers are assembled.
//! - `rabin`: the Rabin-fingerprint chunker boxo takes from `whyrusleeping/chunker`: a 16-byte
//!   window over the irreducible polynomial 0x3DF305DFB2A805 (degree 53), the first
//!   `min - 16` bytes of a chunk skipped, a cut where `digest & (2^floor(log2 avg) - 1) == 0`
//!   once the chunk holds `min` bytes, or at `max`.
//! - `buzhash`: boxo's 32-byte buzhash over its fixed byte table, chunks of 128 KiB to 512 KiB,
//!   a cut where the low 17 bits of the hash are zero.
//!
//! Content-defined boundaries are found as bytes are pushed (each byte is examined once), so
//! the work is linear and the state is a few dozen bytes; buffered input never exceeds the
//! largest chunk plus the last pushed buffer as long as the caller pops after each push.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;

use bytes::{Bytes, BytesMut};

use super::{AddError, ChunkerSpec};

/// boxo's `DefaultBlockSize`: the chunk size of `size-262144`, `default` and bare `rabin`.
pub const DEFAULT_CHUNK_SIZE: usize = 256 * 1024;
/// The bitswap block size limit (`chunker.BlockSizeLimit`); boxo refuses leaves above it.
pub const BLOCK_SIZE_LIMIT: usize = 2 * 1024 * 1024;
/// The largest chunk size a chunker string may ask for (`chunker.ChunkSizeLimit`): the block
/// limit minus 256 bytes of framing for dag-pb leaves.
pub const CHUNK_SIZE_LIMIT: usize = BLOCK_SIZE_LIMIT - 256;

/// Rabin's sliding window (`windowSize` in whyrusleeping/chunker).
const RABIN_WINDOW: usize = 16;
/// The polynomial boxo uses (`IpfsRabinPoly`).
const RABIN_POLYNOMIAL: u64 = 17_437_180_132_763_653;

/// Buzhash bounds and cut mask (boxo `buzMin`, `buzMax`, `buzMask`).
const BUZHASH_MIN: usize = 128 << 10;
const BUZHASH_MAX: usize = 512 << 10;
const BUZHASH_MASK: u32 = (1 << 17) - 1;
/// Buzhash's window.
const BUZHASH_WINDOW: usize = 32;

impl ChunkerSpec {
    /// Parses a chunker string as Kubo does (boxo `chunk.FromString`): the name is what comes
    /// before the first `-`; numbers are Go `strconv.Atoi` integers (optional sign, decimal).
    pub fn parse(text: &str) -> Result<ChunkerSpec, AddError> {
        if text.is_empty() || text == "default" {
            return Ok(ChunkerSpec::Size(DEFAULT_CHUNK_SIZE));
        }
        let name = text.split('-').next().unwrap_or_default();
        match name {
            "size" => parse_size(text),
            "rabin" => parse_rabin(text),
            // boxo ignores anything after `buzhash-`.
            "buzhash" => Ok(ChunkerSpec::Buzhash),
            _ => Err(invalid(format!("unrecognized chunker option: {text}"))),
        }
    }

    /// Checks a chunker built by hand against the bounds [`ChunkerSpec::parse`] enforces:
    /// a fixed size in `1..=CHUNK_SIZE_LIMIT`, a rabin maximum within `CHUNK_SIZE_LIMIT`.
    pub fn check(&self) -> Result<(), AddError> {
        match *self {
            ChunkerSpec::Size(0) => Err(invalid("chunker size must be greater than 0")),
            ChunkerSpec::Size(size) if size > CHUNK_SIZE_LIMIT => Err(size_max_error()),
            ChunkerSpec::Rabin { max, .. } if max > CHUNK_SIZE_LIMIT => Err(size_max_error()),
            _ => Ok(()),
        }
    }

    /// The longest chunk this chunker can produce. For a `rabin-AVG` whose minimum falls
    /// below the 16-byte window (AVG < 48) boxo never cuts; such a stream is one chunk, which
    /// boxo refuses past [`BLOCK_SIZE_LIMIT`].
    pub fn max_chunk_len(&self) -> usize {
        match *self {
            ChunkerSpec::Size(size) => size,
            ChunkerSpec::Rabin { min, max, .. } if min >= RABIN_WINDOW => max,
            ChunkerSpec::Rabin { .. } => BLOCK_SIZE_LIMIT,
            ChunkerSpec::Buzhash => BUZHASH_MAX,
        }
    }
}

impl FromStr for ChunkerSpec {
    type Err = AddError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ChunkerSpec::parse(text)
    }
}

/// Writes the string that parses back to the same chunker: `size-N`, `buzhash`, `rabin`
/// (boxo's default sizes), `rabin-AVG` (sizes derived from AVG) or `rabin-MIN-AVG-MAX`.
impl fmt::Display for ChunkerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ChunkerSpec::Size(size) => write!(f, "size-{size}"),
            ChunkerSpec::Buzhash => f.write_str("buzhash"),
            ChunkerSpec::Rabin { min, avg, max } => {
                if (min, max) == rabin_bounds_for_average(avg) {
                    if avg == DEFAULT_CHUNK_SIZE {
                        f.write_str("rabin")
                    } else {
                        write!(f, "rabin-{avg}")
                    }
                } else {
                    write!(f, "rabin-{min}-{avg}-{max}")
                }
            }
        }
    }
}

fn invalid(message: impl Into<String>) -> AddError {
    AddError::InvalidOption(message.into())
}

fn size_max_error() -> AddError {
    invalid(format!(
        "chunker parameters may not exceed the maximum chunk size of {CHUNK_SIZE_LIMIT}"
    ))
}

/// boxo `NewRabin`: min = avg/3, max = avg + avg/2.
fn rabin_bounds_for_average(avg: usize) -> (usize, usize) {
    (avg / 3, avg + avg / 2)
}

/// Go's `strconv.Atoi`: an optional `+`/`-`, then one or more ASCII digits, within `i64`.
fn go_atoi(text: &str) -> Result<i64, AddError> {
    let syntax = || invalid(format!("strconv.Atoi: parsing {text:?}: invalid syntax"));
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'+') => (false, &text[1..]),
        Some(b'-') => (true, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax());
    }
    let mut value: i64 = 0;
    for digit in digits.bytes() {
        let digit = i64::from(digit - b'0');
        value = value
            .checked_mul(10)
            .and_then(|v| {
                if negative {
                    v.checked_sub(digit)
                } else {
                    v.checked_add(digit)
                }
            })
            .ok_or_else(|| {
                invalid(format!(
                    "strconv.Atoi: parsing {text:?}: value out of range"
                ))
            })?;
    }
    Ok(value)
}

/// `size-N`: 0 < N <= CHUNK_SIZE_LIMIT (boxo `parseSizeString`).
fn parse_size(text: &str) -> Result<ChunkerSpec, AddError> {
    let parts: Vec<&str> = text.split('-').collect();
    let [_, size] = parts[..] else {
        return Err(invalid(
            "incorrect chunker string format (expected size-{size})",
        ));
    };
    let size = go_atoi(size)?;
    if size <= 0 {
        return Err(invalid("chunker size must be greater than 0"));
    }
    if size > CHUNK_SIZE_LIMIT as i64 {
        return Err(size_max_error());
    }
    Ok(ChunkerSpec::Size(size as usize))
}

/// One `rabin-MIN-AVG-MAX` field: a number, optionally labelled (`min:16`); boxo checks the
/// label only when there is one and takes the text after the last `:`.
fn rabin_field(part: &str, label: &str, label_error: &str) -> Result<i64, AddError> {
    let pieces: Vec<&str> = part.split(':').collect();
    if pieces.len() > 1 && pieces[0] != label {
        return Err(invalid(label_error));
    }
    go_atoi(pieces.last().copied().unwrap_or_default())
}

/// `rabin`, `rabin-AVG`, `rabin-MIN-AVG-MAX` (boxo `parseRabinString`).
fn parse_rabin(text: &str) -> Result<ChunkerSpec, AddError> {
    let parts: Vec<&str> = text.split('-').collect();
    match parts[..] {
        [_] => {
            let (min, max) = rabin_bounds_for_average(DEFAULT_CHUNK_SIZE);
            Ok(ChunkerSpec::Rabin {
                min,
                avg: DEFAULT_CHUNK_SIZE,
                max,
            })
        }
        [_, avg] => {
            let avg = go_atoi(avg)?;
            // boxo checks `int(float32(avg)*1.5) > ChunkSizeLimit`; in the range that can
            // pass, float32 is exact, so this is floor(1.5 * avg). (No sign can reach here:
            // a `-` would have split the string.)
            if avg < 0 || avg.saturating_mul(3) / 2 > CHUNK_SIZE_LIMIT as i64 {
                return Err(size_max_error());
            }
            let avg = avg as usize;
            let (min, max) = rabin_bounds_for_average(avg);
            Ok(ChunkerSpec::Rabin { min, avg, max })
        }
        [_, min, avg, max] => {
            let min = rabin_field(min, "min", "first label must be min")?;
            if min < RABIN_WINDOW as i64 {
                return Err(invalid("rabin min must be greater than 16"));
            }
            let avg = rabin_field(avg, "avg", "second label must be avg")?;
            let max = rabin_field(max, "max", "final label must be max")?;
            if min >= avg {
                return Err(invalid(
                    "incorrect format: rabin-min must be smaller than rabin-avg",
                ));
            }
            if avg >= max {
                return Err(invalid(
                    "incorrect format: rabin-avg must be smaller than rabin-max",
                ));
            }
            if max > CHUNK_SIZE_LIMIT as i64 {
                return Err(size_max_error());
            }
            // min >= 16 and min < avg < max <= CHUNK_SIZE_LIMIT, so all fit in usize.
            Ok(ChunkerSpec::Rabin {
                min: min as usize,
                avg: avg as usize,
                max: max as usize,
            })
        }
        _ => Err(invalid(
            "incorrect format (expected 'rabin' 'rabin-[avg]' or 'rabin-[min]-[avg]-[max]'",
        )),
    }
}

/// A streaming splitter: [`push`](Chunker::push) input in buffers of any size,
/// [`pop`](Chunker::pop) every chunk that is complete, then [`finish`](Chunker::finish) until
/// it returns `None`. The chunks are exactly Kubo's for the same bytes, however they were
/// split into buffers.
#[derive(Debug)]
pub struct Chunker {
    /// Fixed-size chunks of this many bytes, or `None` for a content-defined chunker.
    fixed: Option<usize>,
    /// Finds content-defined boundaries as bytes are pushed.
    boundaries: Boundaries,
    /// Pushed input not yet returned, in order.
    queue: VecDeque<Bytes>,
    /// Total length of `queue`.
    buffered: usize,
    /// Lengths of the next chunks whose end has been found (content-defined chunkers).
    cuts: VecDeque<usize>,
    /// No more input will come: the remainder is the last chunk.
    ended: bool,
}

impl Chunker {
    /// A splitter for `spec`.
    pub fn new(spec: ChunkerSpec) -> Chunker {
        let (fixed, boundaries) = match spec {
            // Sizes `parse` refuses (see `check`) are clamped so that a hand-built spec can
            // neither stall (`size-0`) nor buffer without bound: past the block limit the
            // chunks are refused by the file builder anyway.
            ChunkerSpec::Size(size) => {
                (Some(size.clamp(1, BLOCK_SIZE_LIMIT + 1)), Boundaries::None)
            }
            ChunkerSpec::Rabin { min, avg, max } => {
                (None, Boundaries::Rabin(RabinBoundaries::new(min, avg, max)))
            }
            ChunkerSpec::Buzhash => (None, Boundaries::Buzhash(BuzhashBoundaries::default())),
        };
        Chunker {
            fixed,
            boundaries,
            queue: VecDeque::new(),
            buffered: 0,
            cuts: VecDeque::new(),
            ended: false,
        }
    }

    /// Adds input. Fails only when a content-defined chunk would exceed
    /// [`BLOCK_SIZE_LIMIT`] (a `rabin-AVG` with AVG < 48 never cuts; boxo then refuses the
    /// leaf with "object size limit exceeded"), which also keeps memory bounded.
    pub fn push(&mut self, data: Bytes) -> Result<(), AddError> {
        if data.is_empty() {
            return Ok(());
        }
        if self.ended {
            return Err(AddError::InvalidInput(
                "input pushed to a chunker after its end".into(),
            ));
        }
        match &mut self.boundaries {
            Boundaries::None => {}
            Boundaries::Rabin(rabin) => rabin.scan(&data, &mut self.cuts),
            Boundaries::Buzhash(buzhash) => buzhash.scan(&data, &mut self.cuts),
        }
        if self.boundaries.open_len() > BLOCK_SIZE_LIMIT {
            return Err(AddError::InvalidInput(
                "object size limit exceeded: the chunker found no boundary within 2 MiB".into(),
            ));
        }
        self.buffered += data.len();
        self.queue.push_back(data);
        Ok(())
    }

    /// The next complete chunk, if any.
    pub fn pop(&mut self) -> Option<Bytes> {
        let len = match self.fixed {
            Some(size) if self.buffered >= size => size,
            None if !self.cuts.is_empty() => self.cuts.pop_front().unwrap_or_default(),
            _ if self.ended && self.buffered > 0 => self.buffered,
            _ => return None,
        };
        Some(self.take(len))
    }

    /// Marks the end of the input and returns the next chunk; call until `None`.
    pub fn finish(&mut self) -> Option<Bytes> {
        self.ended = true;
        self.pop()
    }

    /// Bytes pushed but not yet returned.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Removes the first `len` buffered bytes (`len <= self.buffered`): a slice of the first
    /// buffer when it holds them all, otherwise one copy of the pieces.
    fn take(&mut self, len: usize) -> Bytes {
        self.buffered -= len;
        let Some(front) = self.queue.front_mut() else {
            return Bytes::new();
        };
        if front.len() >= len {
            let chunk = front.split_to(len);
            if front.is_empty() {
                self.queue.pop_front();
            }
            return chunk;
        }
        let mut chunk = BytesMut::with_capacity(len);
        while chunk.len() < len {
            let Some(front) = self.queue.front_mut() else {
                break;
            };
            let want = (len - chunk.len()).min(front.len());
            chunk.extend_from_slice(&front[..want]);
            if want == front.len() {
                self.queue.pop_front();
            } else {
                bytes::Buf::advance(front, want);
            }
        }
        chunk.freeze()
    }
}

/// Splits a whole in-memory input into its chunks (convenience for tests and small inputs).
pub fn split(spec: ChunkerSpec, data: Bytes) -> Result<Vec<Bytes>, AddError> {
    let mut chunker = Chunker::new(spec);
    chunker.push(data)?;
    let mut chunks = Vec::new();
    while let Some(chunk) = chunker.finish() {
        chunks.push(chunk);
    }
    Ok(chunks)
}

/// Boundary finders of the content-defined chunkers.
#[derive(Debug)]
enum Boundaries {
    None,
    Rabin(RabinBoundaries),
    Buzhash(BuzhashBoundaries),
}

impl Boundaries {
    /// Bytes scanned since the last boundary.
    fn open_len(&self) -> usize {
        match self {
            Boundaries::None => 0,
            Boundaries::Rabin(rabin) => rabin.count,
            Boundaries::Buzhash(buzhash) => buzhash.count,
        }
    }
}

/// The lookup tables of a Rabin fingerprint over [`RABIN_POLYNOMIAL`], as whyrusleeping/chunker
/// builds them: `out[b]` removes byte `b` as it leaves the window (the fingerprint of `b`
/// followed by 15 zero bytes); `reduce[b]` folds the 8 bits shifted past the degree back in
/// (`(b·x^53 mod P) | b·x^53`, so one XOR both cancels the top bits and reduces).
struct RabinTables {
    out: [u64; 256],
    reduce: [u64; 256],
}

const fn polynomial_degree(p: u64) -> u32 {
    63 - p.leading_zeros()
}

/// `x mod p` over GF(2).
const fn polynomial_mod(mut x: u64, p: u64) -> u64 {
    let p_degree = polynomial_degree(p);
    while x != 0 && polynomial_degree(x) >= p_degree {
        x ^= p << (polynomial_degree(x) - p_degree);
    }
    x
}

const fn rabin_tables(p: u64) -> RabinTables {
    let degree = polynomial_degree(p);
    let mut tables = RabinTables {
        out: [0; 256],
        reduce: [0; 256],
    };
    let mut b = 0;
    while b < 256 {
        let mut hash = polynomial_mod(b as u64, p);
        let mut i = 0;
        while i < RABIN_WINDOW - 1 {
            hash = polynomial_mod(hash << 8, p);
            i += 1;
        }
        tables.out[b] = hash;
        tables.reduce[b] = polynomial_mod((b as u64) << degree, p) | ((b as u64) << degree);
        b += 1;
    }
    tables
}

static RABIN: RabinTables = rabin_tables(RABIN_POLYNOMIAL);
/// The top 8 bits of a digest (degree 53) start at bit 45.
const RABIN_SHIFT: u32 = polynomial_degree(RABIN_POLYNOMIAL) - 8;

/// Rabin boundary state for the chunk being scanned.
#[derive(Debug)]
struct RabinBoundaries {
    min: usize,
    max: usize,
    /// `2^floor(log2 avg) - 1`.
    mask: u64,
    /// Bytes skipped at the start of each chunk before the window starts (`min - 16`), or
    /// `None` when `min < 16`: boxo's unsigned `min - 16` then wraps and it never cuts.
    skip: Option<usize>,
    /// Bytes of the current chunk seen so far.
    count: usize,
    window: [u8; RABIN_WINDOW],
    window_pos: usize,
    digest: u64,
}

impl RabinBoundaries {
    fn new(min: usize, avg: usize, max: usize) -> Self {
        let mask = match avg {
            0 => u64::MAX,
            avg => (1u64 << (usize::BITS - 1 - avg.leading_zeros())) - 1,
        };
        RabinBoundaries {
            min,
            max,
            mask,
            skip: min.checked_sub(RABIN_WINDOW),
            count: 0,
            window: [0; RABIN_WINDOW],
            window_pos: 0,
            digest: 0,
        }
    }

    /// Starts a new chunk. boxo seeds the window with one byte 1, but that byte leaves the
    /// window before the first boundary check (16 bytes are always slid in first), so a zero
    /// start gives the same digests.
    fn reset(&mut self) {
        self.count = 0;
        self.window = [0; RABIN_WINDOW];
        self.window_pos = 0;
        self.digest = 0;
    }

    fn scan(&mut self, data: &[u8], cuts: &mut VecDeque<usize>) {
        let Some(skip) = self.skip else {
            self.count += data.len();
            return;
        };
        let mut pos = 0;
        while pos < data.len() {
            if self.count < skip {
                let skipped = (skip - self.count).min(data.len() - pos);
                self.count += skipped;
                pos += skipped;
                continue;
            }
            let mut digest = self.digest;
            let mut window_pos = self.window_pos;
            let mut count = self.count;
            let mut cut = false;
            while pos < data.len() {
                let byte = data[pos];
                pos += 1;
                let leaving = self.window[window_pos];
                self.window[window_pos] = byte;
                window_pos = (window_pos + 1) % RABIN_WINDOW;
                digest ^= RABIN.out[usize::from(leaving)];
                let top = (digest >> RABIN_SHIFT) as usize & 0xff;
                digest = ((digest << 8) | u64::from(byte)) ^ RABIN.reduce[top];
                count += 1;
                if count >= self.min && (digest & self.mask == 0 || count >= self.max) {
                    cut = true;
                    break;
                }
            }
            if cut {
                cuts.push_back(count);
                self.reset();
            } else {
                self.digest = digest;
                self.window_pos = window_pos;
                self.count = count;
            }
        }
    }
}

/// boxo's buzhash byte table.
static BUZHASH_TABLE: [u32; 256] = [
    0x6236e7d5, 0x10279b0b, 0x72818182, 0xdc526514, 0x2fd41e3d, 0x777ef8c8, 0x83ee5285, 0x2c8f3637,
    0x2f049c1a, 0x57df9791, 0x9207151f, 0x9b544818, 0x74eef658, 0x2028ca60, 0x0271d91a, 0x27ae587e,
    0xecf9fa5f, 0x236e71cd, 0xf43a8a2e, 0x0bb13380, 0x9e57912c, 0x89a26cdb, 0x9fcf3d71, 0xa86da6f1,
    0x9c49f376, 0x346aecc7, 0xf094a9ee, 0xea99e9cb, 0xb01713c6, 0x088acffb, 0x2960a0fb, 0x344a626c,
    0x7ff22a46, 0x6d7a1aa5, 0x6a714916, 0x41d454ca, 0x8325b830, 0x0b65f563, 0x447fecca, 0xf9d0ea5e,
    0xc1d9d3d4, 0xcb5ec574, 0x55aae902, 0x86edc0e7, 0x0d3a9e33, 0xe70dc1e1, 0xe3c5f639, 0x9b43140a,
    0xc6490ac5, 0x5e4030fb, 0x8e976dd5, 0xa87468ea, 0xf830ef6f, 0xcc1ed5a5, 0x611f4e78, 0xddd11905,
    0xf2613904, 0x566c67b9, 0x905a5ccc, 0x7b37b3a4, 0x4b53898a, 0x6b8fd29d, 0xaad81575, 0x511be414,
    0x3cfac1e7, 0x8029a179, 0xd40efeda, 0x07380e02, 0xdc9beffd, 0x2d049082, 0x99bc7831, 0xff5002a8,
    0x21ce7646, 0x01cd049b, 0x0f43994f, 0xc3c6c5a5, 0xbbda5f50, 0x0ec15ec7, 0x9adb19b6, 0x0c1e80b9,
    0xb9b52968, 0xae162419, 0x2542b405, 0x91a42e9d, 0x6be0f668, 0x6ed7a6b9, 0xbc2777b4, 0xe162ce56,
    0x4266aad5, 0x60fdb704, 0x66f832a5, 0x9595f6ca, 0xfee83ced, 0x55228d99, 0x12bf0e28, 0x66896459,
    0x0789afda, 0x0282baa8, 0x2367a343, 0x591491b0, 0x2ff1a4b1, 0x410739b6, 0x9b7055a0, 0x2e0eb229,
    0x24fc8252, 0x3327d3df, 0xb0782669, 0x1c62e069, 0x7f503101, 0xf50593ae, 0xd9eb275d, 0xe00eb678,
    0x5917ccde, 0x97b9660a, 0xdd06202d, 0xed229e22, 0xa9c735bf, 0xd6316fe6, 0x6fc72e4c, 0x0206dfa2,
    0xd6b15c5a, 0x69d87b49, 0x09c97745, 0x13445d61, 0x35a975aa, 0x859aa9b9, 0x65380013, 0xd1fb6391,
    0xc29255fd, 0x784a3b91, 0xb9e74c26, 0x63ce4d40, 0xc07cbe9e, 0xe6e4529e, 0x0fb3632f, 0x9438d9c9,
    0x682f94a8, 0xf8fd4611, 0x257ec1ed, 0x475ce3d6, 0x60ee2db1, 0x2afab002, 0x2b9e4878, 0x86b340de,
    0x1482fdca, 0xfe41b3bf, 0xd4a412b0, 0xe09db98c, 0xc1af5d53, 0x7e55e25f, 0xd3346b38, 0xb7a12cbd,
    0x9c6827ba, 0x71f78bee, 0x8c3a0f52, 0x150491b0, 0xf26de912, 0x233e3a4e, 0xd309ebba, 0xa0a9e0ff,
    0xca2b5921, 0xeeb9893c, 0x33829e88, 0x9870cc2a, 0x23c4b9d0, 0xeba32ea3, 0xbdac4d22, 0x3bc8c44c,
    0x1e8d0397, 0xf9327735, 0x783b009f, 0x0eb83742, 0x2621dc71, 0xed017d03, 0x5c760aa1, 0x5a69814b,
    0x96e3047f, 0xa93c9cde, 0x615c86f5, 0xb4322aa5, 0x4225534d, 0x0d2e2de3, 0xccfccc4b, 0x0bac2a57,
    0xf0a06d04, 0xbc78d737, 0xf2d1f766, 0xf5a7953c, 0xbcdfda85, 0x5213b7d5, 0xbce8a328, 0xd38f5f18,
    0xdb094244, 0xfe571253, 0x317fa7ee, 0x4a324f43, 0x3ffc39d9, 0x51b3fa8e, 0x7a4bee9f, 0x78bbc682,
    0x9f5c0350, 0x02fe286c, 0x245ab686, 0xed6bf7d7, 0x0ac4988a, 0x3fe010fa, 0xc65fe369, 0xa45749cb,
    0x2b84e537, 0xde9ff363, 0x20540f9a, 0xaa8c9b34, 0x5bc476b3, 0x1d574bd7, 0x929100ad, 0x4721de4d,
    0x27df1b05, 0x58b18546, 0xb7e76764, 0xdf904e58, 0x97af57a1, 0xbd4dc433, 0xa6256dfd, 0xf63998f3,
    0xf1e05833, 0xe20acf26, 0xf57fd9d6, 0x90300b4d, 0x89df4290, 0x68d01cbc, 0xcf893ee3, 0xcc42a046,
    0x778e181b, 0x67265c76, 0xe981a4c4, 0x82991da1, 0x708f7294, 0xe6e2ae62, 0xfc441870, 0x95e1b0b6,
    0x0445f825, 0x5a93b47f, 0x5e9cf4be, 0x84da71e7, 0x9d9582b0, 0x9bf835ef, 0x591f61e2, 0x43325985,
    0x5d2de32e, 0x8d8fbf0f, 0x95b30f38, 0x07ad5b6e, 0x4e934edf, 0x3cd4990e, 0x9053e259, 0x5c41857d,
];

/// Buzhash boundary state for the chunk being scanned.
#[derive(Debug, Default)]
struct BuzhashBoundaries {
    /// Bytes of the current chunk seen so far.
    count: usize,
    /// The rolling hash of the last 32 bytes: XOR of `rotl(T[b_k], 31 - k)`.
    hash: u32,
    /// The last 32 bytes, indexed by position mod 32.
    window: [u8; BUZHASH_WINDOW],
}

impl BuzhashBoundaries {
    /// boxo hashes the 32 bytes before `buzMin`, checks for a cut ending at `buzMin`, then
    /// rolls one byte at a time, cutting at the first window end whose hash has its low 17
    /// bits zero, or at `buzMax`.
    fn scan(&mut self, data: &[u8], cuts: &mut VecDeque<usize>) {
        const HASH_START: usize = BUZHASH_MIN - BUZHASH_WINDOW;
        let mut pos = 0;
        while pos < data.len() {
            if self.count < HASH_START {
                let skipped = (HASH_START - self.count).min(data.len() - pos);
                self.count += skipped;
                pos += skipped;
                continue;
            }
            let mut hash = self.hash;
            let mut count = self.count;
            let mut cut = false;
            while pos < data.len() {
                let byte = data[pos];
                pos += 1;
                let slot = count % BUZHASH_WINDOW;
                hash = hash.rotate_left(1) ^ BUZHASH_TABLE[usize::from(byte)];
                if count >= BUZHASH_MIN {
                    // The byte 32 back has been rotated a full turn: XOR removes it.
                    hash ^= BUZHASH_TABLE[usize::from(self.window[slot])];
                }
                self.window[slot] = byte;
                count += 1;
                if count >= BUZHASH_MIN && (hash & BUZHASH_MASK == 0 || count >= BUZHASH_MAX) {
                    cut = true;
                    break;
                }
            }
            if cut {
                cuts.push_back(count);
                self.count = 0;
                self.hash = 0;
            } else {
                self.hash = hash;
                self.count = count;
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Deterministic pseudo-random bytes (xorshift64, little-endian words).
    pub(in crate::services::add) fn xorshift(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed;
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            out.extend_from_slice(&state.to_le_bytes());
        }
        out.truncate(len);
        out
    }

    fn lengths(chunks: &[Bytes]) -> Vec<usize> {
        chunks.iter().map(Bytes::len).collect()
    }

    /// Pushes `data` cut at the given lengths, popping after every push.
    fn split_in_pieces(
        spec: ChunkerSpec,
        data: &[u8],
        piece_lens: &mut dyn Iterator<Item = usize>,
    ) -> Vec<Bytes> {
        let data = Bytes::copy_from_slice(data);
        let mut chunker = Chunker::new(spec);
        let mut chunks = Vec::new();
        let mut offset = 0;
        while offset < data.len() {
            let len = piece_lens
                .next()
                .unwrap_or(usize::MAX)
                .clamp(1, data.len() - offset);
            chunker.push(data.slice(offset..offset + len)).unwrap();
            offset += len;
            while let Some(chunk) = chunker.pop() {
                chunks.push(chunk);
            }
        }
        while let Some(chunk) = chunker.finish() {
            chunks.push(chunk);
        }
        chunks
    }

    #[test]
    fn parse_accepts_what_kubo_accepts() {
        let (default_min, default_max) = (87_381, 393_216);
        for (text, spec) in [
            ("", ChunkerSpec::Size(262_144)),
            ("default", ChunkerSpec::Size(262_144)),
            ("size-262144", ChunkerSpec::Size(262_144)),
            ("size-1", ChunkerSpec::Size(1)),
            ("size-+5", ChunkerSpec::Size(5)),
            ("size-05", ChunkerSpec::Size(5)),
            ("size-2096896", ChunkerSpec::Size(2_096_896)),
            (
                "rabin",
                ChunkerSpec::Rabin {
                    min: default_min,
                    avg: 262_144,
                    max: default_max,
                },
            ),
            (
                "rabin-0",
                ChunkerSpec::Rabin {
                    min: 0,
                    avg: 0,
                    max: 0,
                },
            ),
            (
                "rabin-30",
                ChunkerSpec::Rabin {
                    min: 10,
                    avg: 30,
                    max: 45,
                },
            ),
            (
                "rabin-+48",
                ChunkerSpec::Rabin {
                    min: 16,
                    avg: 48,
                    max: 72,
                },
            ),
            (
                "rabin-1397931",
                ChunkerSpec::Rabin {
                    min: 465_977,
                    avg: 1_397_931,
                    max: 2_096_896,
                },
            ),
            (
                "rabin-16-32-64",
                ChunkerSpec::Rabin {
                    min: 16,
                    avg: 32,
                    max: 64,
                },
            ),
            (
                "rabin-min:16-avg:32-max:64",
                ChunkerSpec::Rabin {
                    min: 16,
                    avg: 32,
                    max: 64,
                },
            ),
            (
                "rabin-min:x:16-32-64",
                ChunkerSpec::Rabin {
                    min: 16,
                    avg: 32,
                    max: 64,
                },
            ),
            (
                "rabin-16-32-2096896",
                ChunkerSpec::Rabin {
                    min: 16,
                    avg: 32,
                    max: 2_096_896,
                },
            ),
            ("buzhash", ChunkerSpec::Buzhash),
            ("buzhash-anything", ChunkerSpec::Buzhash),
        ] {
            assert_eq!(ChunkerSpec::parse(text).unwrap(), spec, "{text:?}");
            assert_eq!(text.parse::<ChunkerSpec>().unwrap(), spec, "{text:?}");
        }
    }

    #[test]
    fn parse_rejects_what_kubo_rejects() {
        for (text, message) in [
            ("size-0", "chunker size must be greater than 0"),
            (
                "size-2096897",
                "may not exceed the maximum chunk size of 2096896",
            ),
            ("size", "expected size-{size}"),
            ("size-1-2", "expected size-{size}"),
            ("size--5", "expected size-{size}"),
            ("size-1_0", "invalid syntax"),
            ("size- 5", "invalid syntax"),
            ("size-", "invalid syntax"),
            ("size-99999999999999999999", "out of range"),
            ("Size-5", "unrecognized chunker option"),
            ("fixed-5", "unrecognized chunker option"),
            ("rabin-1397932", "may not exceed the maximum chunk size"),
            (
                "rabin-99999999999999999",
                "may not exceed the maximum chunk size",
            ),
            ("rabin-1-2", "expected 'rabin'"),
            ("rabin-1-2-3-4", "expected 'rabin'"),
            ("rabin-15-32-64", "rabin min must be greater than 16"),
            ("rabin-x:16-avg:32-max:64", "first label must be min"),
            ("rabin-16-a:32-64", "second label must be avg"),
            ("rabin-16-32-m:64", "final label must be max"),
            ("rabin-16-16-64", "rabin-min must be smaller than rabin-avg"),
            ("rabin-16-64-64", "rabin-avg must be smaller than rabin-max"),
            (
                "rabin-16-32-2096897",
                "may not exceed the maximum chunk size",
            ),
        ] {
            match ChunkerSpec::parse(text) {
                Err(AddError::InvalidOption(got)) => {
                    assert!(got.contains(message), "{text:?}: {got:?} lacks {message:?}")
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn display_parses_back_to_the_same_chunker() {
        for (text, shown) in [
            ("size-1000", "size-1000"),
            ("default", "size-262144"),
            ("rabin", "rabin"),
            ("rabin-30", "rabin-30"),
            ("rabin-87381-262144-393216", "rabin"),
            ("rabin-16-32-64", "rabin-16-32-64"),
            ("buzhash-x", "buzhash"),
        ] {
            let spec = ChunkerSpec::parse(text).unwrap();
            assert_eq!(spec.to_string(), shown);
            assert_eq!(ChunkerSpec::parse(shown).unwrap(), spec);
        }
    }

    #[test]
    fn fixed_chunks_inside_one_buffer_are_slices_of_it() {
        let data = Bytes::from(xorshift(1, 10_000));
        let range = data.as_ptr() as usize..data.as_ptr() as usize + data.len();
        let mut chunker = Chunker::new(ChunkerSpec::Size(1000));
        chunker.push(data.clone()).unwrap();
        let mut count = 0;
        while let Some(chunk) = chunker.finish() {
            assert_eq!(chunk.len(), 1000);
            assert!(
                range.contains(&(chunk.as_ptr() as usize)),
                "chunk {count} was copied"
            );
            assert_eq!(chunk, data.slice(count * 1000..(count + 1) * 1000));
            count += 1;
        }
        assert_eq!(count, 10);
    }

    #[test]
    fn only_straddling_chunks_are_copied() {
        let data = Bytes::from(xorshift(2, 3000));
        let (first, second) = (data.slice(..1500), data.slice(1500..));
        let mut chunker = Chunker::new(ChunkerSpec::Size(1000));
        chunker.push(first.clone()).unwrap();
        let a = chunker.pop().unwrap();
        assert_eq!(a.as_ptr(), first.as_ptr());
        assert!(chunker.pop().is_none(), "500 bytes are not a chunk yet");
        chunker.push(second.clone()).unwrap();
        let b = chunker.pop().unwrap();
        assert_eq!(b, data.slice(1000..2000));
        assert!(b.as_ptr() != first[1000..].as_ptr() && b.as_ptr() != second.as_ptr());
        let c = chunker.pop().unwrap();
        assert_eq!(c.as_ptr(), second[500..].as_ptr());
        assert_eq!((chunker.pop(), chunker.finish()), (None, None));
    }

    #[test]
    fn fixed_size_edges() {
        for (len, expected) in [
            (0, vec![]),
            (1, vec![1]),
            (999, vec![999]),
            (1000, vec![1000]),
            (1001, vec![1000, 1]),
            (3000, vec![1000, 1000, 1000]),
        ] {
            let chunks = split(ChunkerSpec::Size(1000), Bytes::from(xorshift(3, len))).unwrap();
            assert_eq!(lengths(&chunks), expected, "{len}");
        }
    }

    #[test]
    fn boundaries_do_not_depend_on_how_input_is_pushed() {
        let data = xorshift(4, 1_400_000);
        for spec in [
            ChunkerSpec::Size(4096),
            ChunkerSpec::Size(262_144),
            ChunkerSpec::parse("rabin-16-1024-8192").unwrap(),
            ChunkerSpec::parse("rabin").unwrap(),
            ChunkerSpec::Buzhash,
        ] {
            let whole = split(spec, Bytes::copy_from_slice(&data)).unwrap();
            assert!(whole.len() > 2, "{spec}: too few chunks to be a test");
            let mut sizes = xorshift(5, 4096)
                .into_iter()
                .map(|b| usize::from(b) * 97 + 1)
                .cycle();
            let random = split_in_pieces(spec, &data, &mut sizes);
            assert_eq!(lengths(&random), lengths(&whole), "{spec}: random pieces");
            assert_eq!(random, whole);
            let mut by_chunk = std::iter::repeat(spec.max_chunk_len());
            assert_eq!(split_in_pieces(spec, &data, &mut by_chunk), whole, "{spec}");
            if data.len() <= 300_000 || matches!(spec, ChunkerSpec::Size(4096)) {
                let mut bytewise = std::iter::repeat(1);
                assert_eq!(
                    split_in_pieces(spec, &data, &mut bytewise),
                    whole,
                    "{spec}: 1-byte"
                );
            }
        }
        // 1-byte pushes through the content-defined chunkers, on a shorter input.
        let short = &data[..600_000];
        for spec in [
            ChunkerSpec::parse("rabin-16-1024-8192").unwrap(),
            ChunkerSpec::Buzhash,
        ] {
            let whole = split(spec, Bytes::copy_from_slice(short)).unwrap();
            let mut bytewise = std::iter::repeat(1);
            assert_eq!(
                split_in_pieces(spec, short, &mut bytewise),
                whole,
                "{spec}: 1-byte"
            );
        }
    }

    #[test]
    fn content_defined_chunks_respect_their_bounds() {
        let data = Bytes::from(xorshift(6, 3_000_000));
        let rabin = split(
            ChunkerSpec::parse("rabin-64-512-2048").unwrap(),
            data.clone(),
        )
        .unwrap();
        let (last, body) = rabin.split_last().unwrap();
        assert!(body.iter().all(|c| (64..=2048).contains(&c.len())));
        assert!(last.len() <= 2048);
        // With random data the average sits near 2^floor(log2 512) plus the skipped minimum.
        let average = data.len() / rabin.len();
        assert!((300..900).contains(&average), "average {average}");
        let buzhash = split(ChunkerSpec::Buzhash, data.clone()).unwrap();
        let (last, body) = buzhash.split_last().unwrap();
        assert!(body
            .iter()
            .all(|c| (BUZHASH_MIN..=BUZHASH_MAX).contains(&c.len())));
        assert!(last.len() <= BUZHASH_MAX);
        assert!(
            buzhash.len() > 5 && buzhash.len() < 23,
            "{} chunks",
            buzhash.len()
        );
        let joined: Vec<u8> = buzhash.iter().flat_map(|c| c.iter().copied()).collect();
        assert_eq!(joined, data);
    }

    #[test]
    fn constant_input_cuts_at_the_minimum() {
        // An all-zero window has fingerprint 0, so rabin cuts as soon as it may.
        let zeros = Bytes::from(vec![0u8; 10_000]);
        let chunks = split(ChunkerSpec::parse("rabin-100-1000-4000").unwrap(), zeros).unwrap();
        assert_eq!(lengths(&chunks), [vec![100; 100]].concat());
    }

    /// The rolling digest must equal the Rabin fingerprint of the 16-byte window computed
    /// from scratch (`sum b_k x^(8(15-k)) mod P`).
    #[test]
    fn rabin_rolling_digest_is_the_window_fingerprint() {
        let data = xorshift(7, 5000);
        let mut rabin = RabinBoundaries::new(16, 1 << 40, usize::MAX);
        rabin.mask = u64::MAX; // never cut: only the digest matters here
        for (i, &byte) in data.iter().enumerate() {
            let mut cuts = VecDeque::new();
            rabin.scan(&[byte], &mut cuts);
            if i + 1 >= RABIN_WINDOW {
                let mut expected = 0u64;
                for &b in &data[i + 1 - RABIN_WINDOW..=i] {
                    expected = polynomial_mod((expected << 8) | u64::from(b), RABIN_POLYNOMIAL);
                }
                assert_eq!(rabin.digest, expected, "at byte {i}");
            }
        }
        assert_eq!(polynomial_degree(RABIN_POLYNOMIAL), 53);
        assert_eq!((RABIN.out[0], RABIN.reduce[0]), (0, 0));
    }

    #[test]
    fn rabin_below_the_window_never_cuts_and_is_bounded() {
        // boxo's `min - 16` wraps for rabin-AVG with AVG < 48: no boundary, ever.
        let spec = ChunkerSpec::parse("rabin-30").unwrap();
        let chunks = split(spec, Bytes::from(xorshift(8, 100_000))).unwrap();
        assert_eq!(lengths(&chunks), vec![100_000]);
        let mut chunker = Chunker::new(spec);
        chunker
            .push(Bytes::from(vec![7u8; BLOCK_SIZE_LIMIT]))
            .unwrap();
        assert!(matches!(
            chunker.push(Bytes::from_static(b"x")),
            Err(AddError::InvalidInput(_))
        ));
    }

    #[test]
    fn hand_built_sizes_are_checked_and_clamped() {
        assert!(ChunkerSpec::Size(0).check().is_err());
        assert!(ChunkerSpec::Size(CHUNK_SIZE_LIMIT + 1).check().is_err());
        assert!(ChunkerSpec::Size(CHUNK_SIZE_LIMIT).check().is_ok());
        assert!(ChunkerSpec::parse("rabin").unwrap().check().is_ok());
        let chunks = split(ChunkerSpec::Size(0), Bytes::from_static(b"abc")).unwrap();
        assert_eq!(lengths(&chunks), [1, 1, 1]);
        let mut chunker = Chunker::new(ChunkerSpec::Size(usize::MAX));
        chunker
            .push(Bytes::from(vec![0u8; BLOCK_SIZE_LIMIT + 1]))
            .unwrap();
        assert_eq!(chunker.pop().map(|c| c.len()), Some(BLOCK_SIZE_LIMIT + 1));
    }

    #[test]
    fn pushing_after_the_end_is_an_error_and_empty_pushes_are_ignored() {
        let mut chunker = Chunker::new(ChunkerSpec::Size(10));
        chunker.push(Bytes::new()).unwrap();
        assert_eq!(chunker.buffered(), 0);
        chunker.push(Bytes::from_static(b"abc")).unwrap();
        assert_eq!(chunker.finish().as_deref(), Some(&b"abc"[..]));
        assert!(chunker.finish().is_none());
        assert!(chunker.push(Bytes::from_static(b"more")).is_err());
    }
}
