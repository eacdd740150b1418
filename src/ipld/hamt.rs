//! Hashing and naming rules of UnixFS HAMT sharded directories (ipfs/specs `UNIXFS.md`,
//! "dag-pb HAMTDirectory"), as boxo's `ipld/unixfs/hamt` implements them:
//!
//! - the key hash is murmur3 x64 128-bit with seed 0, of which only the first 64-bit half
//!   (`h1`) is kept, big-endian (Go: `spaolacci/murmur3` `New64()` + `Sum(nil)`; multihash
//!   code `0x22`, "murmur3-x64-64");
//! - each level consumes `log2(fanout)` bits of those 8 bytes, most significant bit first
//!   (boxo `hashBits.Next`); when the 64 bits run out the directory is "too deep" and lookup
//!   fails (boxo does not rehash), so depth is at most `64 / log2(fanout)` levels;
//! - a link name starts with the slot index in upper-case hex, zero-padded to the width of
//!   `fanout - 1` in hex (boxo `"%0{n}X"`; 2 digits for fanout 256); a name that is only the
//!   prefix points to a sub-shard, prefix + name is an entry;
//! - fanout is a power of two from 8 to 1024 (spec: "a power of two, a multiple of 8 ... and
//!   at most 1024", the upper bound against CVE-2023-23625);
//! - the shard's `Data` is a go-bitfield: a big-endian bit string of `fanout` bits with
//!   leading zero bytes dropped, bit `i` set when slot `i` is occupied.
//!
//! Nothing here allocates except to word an error.

use crate::ipld::{Error, Result};

/// Multihash code of the only HAMT hash function in use ("murmur3-x64-64").
pub const MURMUR3_X64_64: u64 = 0x22;
/// Smallest fanout the spec allows (the bitfield must be whole bytes).
pub const MIN_FANOUT: u64 = 8;
/// Largest fanout the spec allows.
pub const MAX_FANOUT: u64 = 1024;
/// Bits of hash available to a lookup.
pub const HASH_BITS: u32 = 64;

/// MurmurHash3 x64 128-bit of `data` with `seed`, as `(h1, h2)`. This is the canonical
/// `MurmurHash3_x64_128` (Austin Appleby's SMHasher), whose output bytes are `h1` then `h2`,
/// each little-endian; Go's `murmur3.Sum64` and `New64().Sum(nil)` return `h1` alone.
pub fn murmur3_x64_128(data: &[u8], seed: u32) -> (u64, u64) {
    const C1: u64 = 0x87c3_7b91_1142_53d5;
    const C2: u64 = 0x4cf5_ad43_2745_937f;

    let mut h1 = u64::from(seed);
    let mut h2 = u64::from(seed);

    let (blocks, tail) = data.as_chunks::<16>();
    for block in blocks {
        let k1 = le_u64(&block[..8]);
        let k2 = le_u64(&block[8..]);

        h1 ^= mix_k1(k1, C1, C2);
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);

        h2 ^= mix_k2(k2, C1, C2);
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }

    // Tail: bytes 8..15 feed k2, bytes 0..7 feed k1, little-endian, each only if present.
    if tail.len() > 8 {
        h2 ^= mix_k2(le_u64(&tail[8..]), C1, C2);
    }
    if !tail.is_empty() {
        h1 ^= mix_k1(le_u64(&tail[..tail.len().min(8)]), C1, C2);
    }

    let len = data.len() as u64;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (h1, h2)
}

#[inline]
fn mix_k1(k1: u64, c1: u64, c2: u64) -> u64 {
    k1.wrapping_mul(c1).rotate_left(31).wrapping_mul(c2)
}

#[inline]
fn mix_k2(k2: u64, c1: u64, c2: u64) -> u64 {
    k2.wrapping_mul(c2).rotate_left(33).wrapping_mul(c1)
}

#[inline]
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

/// Little-endian value of up to 8 bytes (missing high bytes are zero).
#[inline]
fn le_u64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(8)
        .enumerate()
        .fold(0, |value, (i, &byte)| value | u64::from(byte) << (8 * i))
}

/// The HAMT key hash of a directory entry name: murmur3 x64 `h1`, seed 0, as 8 big-endian
/// bytes (boxo's `HAMTHashFunction`).
pub fn hash_name(name: &[u8]) -> [u8; 8] {
    murmur3_x64_128(name, 0).0.to_be_bytes()
}

/// Bits of hash one level of a HAMT with this fanout consumes; rejects fanouts the spec
/// does not allow.
pub fn bits_per_level(fanout: u64) -> Result<u32> {
    if !fanout.is_power_of_two() || !(MIN_FANOUT..=MAX_FANOUT).contains(&fanout) {
        return Err(Error::hamt(format!(
            "fanout {fanout} is not a power of two from {MIN_FANOUT} to {MAX_FANOUT}"
        )));
    }
    Ok(fanout.trailing_zeros())
}

/// Width in hex digits of the slot prefix of link names: the length of `fanout - 1` in
/// upper-case hex (boxo: `len(fmt.Sprintf("%X", fanout-1))`), e.g. 2 for 256, 3 for 1024.
pub fn prefix_len(fanout: u64) -> Result<usize> {
    Ok(bits_per_level(fanout)?.div_ceil(4) as usize)
}

/// Formats `index` as `width` upper-case hex digits into `out` (no allocation) and returns
/// them. Fails when `width` is not 1..=4 or `index` does not fit in `width` digits.
pub fn slot_prefix(index: u32, width: usize, out: &mut [u8; 4]) -> Result<&str> {
    if !(1..=4).contains(&width) || u64::from(index) >> (4 * width) != 0 {
        return Err(Error::hamt(format!(
            "slot {index} does not fit a {width}-digit hex prefix"
        )));
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for (i, digit) in out[..width].iter_mut().enumerate() {
        let shift = 4 * (width - 1 - i);
        *digit = HEX[((index >> shift) & 0xf) as usize];
    }
    // ASCII by construction, so this never fails.
    std::str::from_utf8(&out[..width]).map_err(|_| Error::hamt("slot prefix is not ASCII"))
}

/// A slot prefix held by value (see [`ShardParams::slot_prefix`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotPrefix {
    digits: [u8; 4],
    len: u8,
}

impl SlotPrefix {
    /// The prefix, e.g. `"0A"`.
    pub fn as_str(&self) -> &str {
        // Only upper-case hex digits are ever stored.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The prefix bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.digits[..usize::from(self.len).min(self.digits.len())]
    }
}

impl std::fmt::Display for SlotPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for SlotPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SlotPrefix({:?})", self.as_str())
    }
}

/// What a link of a HAMT shard points to, judged by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HamtLink<'a> {
    /// The name is the slot prefix alone: the link is a sub-shard.
    Shard,
    /// The name is the slot prefix followed by this directory entry name.
    Entry(&'a str),
}

/// Splits a shard link name into its slot index and what it points to, given the prefix
/// width. Rejects names shorter than the prefix and prefixes that are not `width`
/// upper-case hex digits (the spec: "The prefix MUST use uppercase hex characters").
pub fn classify_link(name: &str, width: usize) -> Result<(u32, HamtLink<'_>)> {
    if !(1..=4).contains(&width) {
        return Err(Error::hamt(format!("invalid slot prefix width {width}")));
    }
    let bytes = name.as_bytes();
    let Some(prefix) = bytes.get(..width) else {
        return Err(Error::hamt(format!(
            "link name {name:?} is shorter than the {width}-digit slot prefix"
        )));
    };
    let mut index = 0u32;
    for &digit in prefix {
        let value = match digit {
            b'0'..=b'9' => digit - b'0',
            b'A'..=b'F' => digit - b'A' + 10,
            _ => {
                return Err(Error::hamt(format!(
                    "link name {name:?} does not start with {width} upper-case hex digits"
                )))
            }
        };
        index = index << 4 | u32::from(value);
    }
    // The prefix is ASCII, so `width` is a char boundary; `get` keeps this panic-free anyway.
    match name.get(width..) {
        Some("") => Ok((index, HamtLink::Shard)),
        Some(entry) => Ok((index, HamtLink::Entry(entry))),
        None => Err(Error::hamt(format!("link name {name:?} is malformed"))),
    }
}

/// The slot indexes of a name down a HAMT: consumes its 64-bit key hash `log2(fanout)` bits
/// per level, most significant bit first (boxo `hashBits`). Running out of bits is an error
/// ("sharded directory too deep"), never a panic or a wrap-around.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashBits {
    hash: u64,
    consumed: u32,
    bits_per_level: u32,
}

impl HashBits {
    /// The hash bits of a directory entry name in a HAMT of this fanout.
    pub fn new(name: &[u8], fanout: u64) -> Result<Self> {
        Self::from_hash(hash_name(name), fanout)
    }

    /// Bits of an already computed 8-byte hash, for a HAMT of this fanout.
    pub fn from_hash(hash: [u8; 8], fanout: u64) -> Result<Self> {
        Ok(HashBits {
            hash: u64::from_be_bytes(hash),
            consumed: 0,
            bits_per_level: bits_per_level(fanout)?,
        })
    }

    /// The slot index at the next level down (the root's first).
    pub fn next_slot(&mut self) -> Result<u32> {
        self.next_bits(self.bits_per_level)
    }

    /// Level of the next [`HashBits::next_slot`] (0 = the root shard).
    pub fn depth(&self) -> usize {
        (self.consumed / self.bits_per_level) as usize
    }

    /// Bits consumed so far.
    pub fn consumed(&self) -> u32 {
        self.consumed
    }

    /// The next `bits` bits (1..=32) as an integer, whatever the fanout (boxo `Next(i)`).
    pub fn next_bits(&mut self, bits: u32) -> Result<u32> {
        if !(1..=32).contains(&bits) {
            return Err(Error::hamt(format!("cannot take {bits} hash bits at once")));
        }
        if self.consumed + bits > HASH_BITS {
            return Err(Error::hamt(format!(
                "sharded directory too deep: {} of {HASH_BITS} hash bits used, {bits} more \
                 needed",
                self.consumed
            )));
        }
        // consumed <= 63 and bits >= 1 here, so both shifts are in range.
        let value = (self.hash << self.consumed) >> (HASH_BITS - bits);
        self.consumed += bits;
        Ok(value as u32)
    }
}

/// How many levels a HAMT of this fanout can have before the 64 hash bits run out (8 for
/// 256, 6 for 1024); levels are numbered from 0 at the root, so depths `0..max_depth` exist.
/// An invalid fanout gives 0.
pub fn max_depth(fanout: u64) -> usize {
    bits_per_level(fanout).map_or(0, |bits| (HASH_BITS / bits) as usize)
}

/// The slot index of `name` at `depth` (0 = root shard) in a HAMT of this fanout: the direct
/// reference [`HashBits`] is checked against (tests only).
#[cfg(test)]
pub fn lookup_step(name: &[u8], depth: usize, fanout: u64) -> Result<u32> {
    let bits = bits_per_level(fanout)?;
    let start = u32::try_from(depth)
        .ok()
        .and_then(|depth| depth.checked_mul(bits))
        .filter(|&start| start <= HASH_BITS - bits)
        .ok_or_else(|| {
            Error::hamt(format!(
                "sharded directory too deep: depth {depth} needs more than {HASH_BITS} hash bits"
            ))
        })?;
    let mut hash_bits = HashBits::new(name, fanout)?;
    hash_bits.consumed = start;
    hash_bits.next_slot()
}

/// Whether slot `index` is set in a shard's bitfield (the UnixFS `Data` of a HAMTShard).
pub fn bitfield_has(bitfield: &[u8], index: u32) -> bool {
    let from_end = (index / 8) as usize;
    match bitfield.len().checked_sub(from_end + 1) {
        Some(at) => bitfield[at] >> (index % 8) & 1 == 1,
        None => false,
    }
}

/// Number of set slots below `index`: the position among the shard's links of the link for
/// slot `index` (boxo `OnesBefore`), since links are stored in slot order.
pub fn bitfield_rank(bitfield: &[u8], index: u32) -> usize {
    let full_bytes = (index / 8) as usize;
    let partial_bits = index % 8;
    let mut ones = 0;
    for (from_end, &byte) in bitfield.iter().rev().enumerate() {
        if from_end < full_bytes {
            ones += byte.count_ones() as usize;
        } else {
            if from_end == full_bytes && partial_bits > 0 {
                ones += (byte & ((1u8 << partial_bits) - 1)).count_ones() as usize;
            }
            break;
        }
    }
    ones
}

/// The validated parameters of one HAMT: fanout, bits per level and prefix width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardParams {
    fanout: u32,
    bits_per_level: u32,
    prefix_len: usize,
}

impl ShardParams {
    /// Parameters for a fanout the spec allows.
    pub fn new(fanout: u64) -> Result<Self> {
        let bits_per_level = bits_per_level(fanout)?;
        Ok(ShardParams {
            // At most 1024 after the check above.
            fanout: fanout as u32,
            bits_per_level,
            prefix_len: bits_per_level.div_ceil(4) as usize,
        })
    }

    /// Parameters from a HAMTShard node's UnixFS `hashType` and `fanout`: both required;
    /// only murmur3-x64-64 is known (anything else is `Unsupported`, as in boxo).
    pub fn from_unixfs(hash_type: Option<u64>, fanout: Option<u64>) -> Result<Self> {
        match hash_type {
            Some(MURMUR3_X64_64) => {}
            Some(other) => {
                return Err(Error::unsupported(format!(
                    "HAMT hash function 0x{other:x} (only murmur3-x64-64, 0x22, is known)"
                )))
            }
            None => return Err(Error::hamt("HAMT shard has no hashType")),
        }
        match fanout {
            Some(fanout) => Self::new(fanout),
            None => Err(Error::hamt("HAMT shard has no fanout")),
        }
    }

    /// Slots per shard.
    pub fn fanout(&self) -> u32 {
        self.fanout
    }

    /// Hash bits consumed per level.
    pub fn bits_per_level(&self) -> u32 {
        self.bits_per_level
    }

    /// Hex digits of the slot prefix of link names.
    pub fn prefix_len(&self) -> usize {
        self.prefix_len
    }

    /// Deepest level count a lookup can reach before the hash runs out (8 for fanout 256).
    pub fn max_depth(&self) -> usize {
        (HASH_BITS / self.bits_per_level) as usize
    }

    /// The slot indexes of `name`, level by level.
    pub fn hash_bits(&self, name: &[u8]) -> HashBits {
        HashBits {
            hash: u64::from_be_bytes(hash_name(name)),
            consumed: 0,
            bits_per_level: self.bits_per_level,
        }
    }

    /// The link-name prefix of slot `index`.
    pub fn slot_prefix(&self, index: u32) -> Result<SlotPrefix> {
        if index >= self.fanout {
            return Err(Error::hamt(format!(
                "slot {index} is outside a shard of fanout {}",
                self.fanout
            )));
        }
        let mut digits = [0u8; 4];
        slot_prefix(index, self.prefix_len, &mut digits)?;
        Ok(SlotPrefix {
            digits,
            len: self.prefix_len as u8,
        })
    }

    /// Classifies a link name of a shard with these parameters (see
    /// [`classify_link`]) and checks its slot is below the fanout.
    pub fn classify<'a>(&self, name: &'a str) -> Result<(u32, HamtLink<'a>)> {
        let (index, link) = classify_link(name, self.prefix_len)?;
        if index >= self.fanout {
            return Err(Error::hamt(format!(
                "link name {name:?} names slot {index}, outside a shard of fanout {}",
                self.fanout
            )));
        }
        Ok((index, link))
    }

    /// Checks a shard's bitfield fits the fanout (boxo's bitfield would panic otherwise).
    pub fn check_bitfield(&self, bitfield: &[u8]) -> Result<()> {
        let max = (self.fanout / 8) as usize;
        if bitfield.len() > max {
            return Err(Error::hamt(format!(
                "bitfield of {} bytes is longer than the {max} bytes of fanout {}",
                bitfield.len(),
                self.fanout
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipld::ErrorKind;

    /// murmur3 x64 128, seed 0, of the bytes 0, 1, ..., n-1: (n, h1, h2). Computed with the
    /// Python `mmh3` package (5.3.1, `hash128(x64arch=True)`), which wraps Appleby's C code;
    /// covers every tail length and the 16- and 32-byte block boundaries.
    const COUNTING_VECTORS: [(usize, u64, u64); 34] = [
        (0, 0x0000000000000000, 0x0000000000000000),
        (1, 0x4610abe56eff5cb5, 0x51622daa78f83583),
        (2, 0x7cb3f5c58dab264c, 0xf03c01326ec2e044),
        (3, 0xb872a12fef53e6be, 0xfb6255c252b396b6),
        (4, 0xe1c594ae0ddfaf10, 0xd3d605bd13c2fde2),
        (5, 0x41ee8cd4a6f94036, 0xf8d0155e630c23f6),
        (6, 0x66983abba4f5043c, 0x57e0240b16512ca0),
        (7, 0xbd4c6987ca4b0d68, 0x613addd4bd25c787),
        (8, 0x47a7e1bdd68e2fc8, 0x60e6ee02ec31dcc7),
        (9, 0xfbb4cb0f6e812d32, 0x78de751d0200ffb9),
        (10, 0xcfca25e89e58e463, 0x254313c472ad2076),
        (11, 0xc57b4f47c7564f88, 0x6965ea8d20711bb0),
        (12, 0xb35da7e69212a5ca, 0x8075f146ecf75346),
        (13, 0x4b52d9f2c55f41c2, 0x84ff869eafa6d8fc),
        (14, 0x5fa933ee35906d64, 0x0d782573380fc9df),
        (15, 0x47231598fd4925e9, 0xcd846dee88c67de9),
        (16, 0x444924b591903f30, 0xab906456762fe845),
        (17, 0x5c76f40f9fe7c20e, 0xc15f026b9edaa824),
        (18, 0x1648e4d1bae9c47b, 0xce2684180bb9eb5f),
        (19, 0xa665a45564a30163, 0x954f7960bfae1fdc),
        (20, 0xa3d253705736954b, 0x5a1f06256c7b9c7a),
        (21, 0xcdd13da028d41203, 0x6bc50efc2da2e7cb),
        (22, 0x45f8f3bf27c12a71, 0x1730a373601e5662),
        (23, 0xb9a1376f153581db, 0x26451c93b42a4941),
        (24, 0x734e846275b2dfde, 0x94707eabbbfb9e52),
        (25, 0x3bbe7cb52ee982cb, 0xa2d35433beef9ffc),
        (26, 0xa515dcfe02226f72, 0x2e0c68dcfcc47d78),
        (27, 0x111602884d592eed, 0x28741948dc1db519),
        (28, 0xdc14ff62ee05813c, 0x662050bb4567cb8b),
        (29, 0xaae494b11518cf1a, 0x649e12f78ccfe176),
        (30, 0xf069080d38a201e3, 0x22f3687fe3d26b19),
        (31, 0x053dd3e1a32cd094, 0x9ee59aefb4005490),
        (32, 0xc66d9022b62f500f, 0x1c050a6e34c31151),
        (33, 0x7d41281bfaba4612, 0x55ac8073a7d6a30b),
    ];

    #[test]
    fn murmur3_known_vectors() {
        assert_eq!(murmur3_x64_128(b"", 0), (0, 0));
        assert_eq!(
            murmur3_x64_128(b"hello", 0),
            (0xcbd8a7b341bd9b02, 0x5b1e906a48ae1d19)
        );
        assert_eq!(
            murmur3_x64_128(b"The quick brown fox jumps over the lazy dog", 0),
            (0xe34bbc7bbc071b6c, 0x7a433ca9c49a9347)
        );
        assert_eq!(
            murmur3_x64_128(b"hello", 42),
            (0xc4b8b3c960af6f08, 0x2334b875b0efbc7a)
        );
        assert_eq!(
            murmur3_x64_128(b"hello", 0xdeadbeef),
            (0xb21ef7a3cc8bdd8e, 0x60b8785895ea020a)
        );
        let input: Vec<u8> = (0..33).collect();
        for (n, h1, h2) in COUNTING_VECTORS {
            assert_eq!(murmur3_x64_128(&input[..n], 0), (h1, h2), "length {n}");
        }
        assert_eq!(
            hash_name(b"hello"),
            [0xcb, 0xd8, 0xa7, 0xb3, 0x41, 0xbd, 0x9b, 0x02]
        );
        assert_eq!(hash_name(&[0xff; 8]), 0xa0e4b27a1abaed73u64.to_be_bytes());
    }

    #[test]
    fn spec_example_470_txt() {
        // UNIXFS.md, "Finding 470.txt in a HAMT with fanout=256": bucket 00, then 6E; and
        // 742.txt lands in 00 then FF.
        let params = ShardParams::new(256).unwrap();
        let mut path = params.hash_bits(b"470.txt");
        assert_eq!(path.depth(), 0);
        assert_eq!(path.next_slot().unwrap(), 0x00);
        assert_eq!(path.next_slot().unwrap(), 0x6E);
        assert_eq!(path.depth(), 2);
        assert_eq!(path, {
            let mut same = HashBits::new(b"470.txt", 256).unwrap();
            same.next_slot().unwrap();
            same.next_slot().unwrap();
            same
        });
        assert_eq!(params.slot_prefix(0x6E).unwrap().as_str(), "6E");
        assert_eq!(lookup_step(b"742.txt", 0, 256).unwrap(), 0x00);
        assert_eq!(lookup_step(b"742.txt", 1, 256).unwrap(), 0xFF);
    }

    #[test]
    fn ipip_550_hamt_fixture() {
        // go-codec-dagpb fieldorder_test.go: a fanout-256 shard holding "DFhello.txt", whose
        // UnixFS Data field is the bitfield 80 00 (x27): slot 0xDF set, 28 bytes after
        // boxo drops the leading zero bytes of the 32-byte field.
        assert_eq!(lookup_step(b"hello.txt", 0, 256).unwrap(), 0xDF);
        let mut bitfield = [0u8; 28];
        bitfield[0] = 0x80;
        let params = ShardParams::from_unixfs(Some(0x22), Some(256)).unwrap();
        params.check_bitfield(&bitfield).unwrap();
        assert!(bitfield_has(&bitfield, 0xDF));
        assert_eq!(bitfield_rank(&bitfield, 0xDF), 0);
        assert_eq!(bitfield_rank(&bitfield, 0xFF), 1);
        assert!((0..256)
            .filter(|&i| i != 0xDF)
            .all(|i| !bitfield_has(&bitfield, i)));
        assert_eq!(
            params.classify("DFhello.txt").unwrap(),
            (0xDF, HamtLink::Entry("hello.txt"))
        );
    }

    #[test]
    fn bits_msb_first_like_boxo() {
        // boxo util_test.go TestHashBitsEvenSizes / TestHashBitsUneven.
        let buf = [255, 127, 79, 45, 116, 99, 35, 17];
        let mut hb = HashBits::from_hash(buf, 256).unwrap();
        for &byte in &buf {
            assert_eq!(hb.next_bits(8).unwrap(), u32::from(byte));
        }
        assert!(hb.next_bits(1).is_err());

        let mut hb = HashBits::from_hash(buf, 256).unwrap();
        assert_eq!(hb.next_bits(4).unwrap(), 15);
        assert_eq!(hb.next_bits(4).unwrap(), 15);
        assert_eq!(hb.next_bits(3).unwrap(), 3);
        assert_eq!(hb.next_bits(3).unwrap(), 7);
        assert_eq!(hb.next_bits(3).unwrap(), 6);
        assert_eq!(hb.next_bits(15).unwrap(), 20269);
    }

    #[test]
    fn bits_across_byte_boundaries_for_each_width() {
        let hash = 0x0123_4567_89ab_cdef_u64;
        for width in [1u32, 2, 3, 4, 5, 7, 8, 9, 10, 16, 32] {
            let mut hb = HashBits::from_hash(hash.to_be_bytes(), 1024).unwrap();
            let mut reassembled = 0u128;
            let mut taken = 0;
            while taken + width <= 64 {
                let v = hb.next_bits(width).unwrap();
                assert!(u64::from(v) < 1 << width);
                reassembled = reassembled << width | u128::from(v);
                taken += width;
            }
            // The pieces, concatenated, are the top `taken` bits of the hash.
            assert_eq!(reassembled as u64, hash >> (64 - taken), "width {width}");
            let e = hb.next_bits(width).unwrap_err();
            assert!(e.message().contains("too deep"), "width {width}");
        }
        // Fanout 1024: 10 bits straddling bytes, e.g. 0x01 0x23 -> 0b0000000100 = 4.
        let mut hb = HashBits::from_hash(hash.to_be_bytes(), 1024).unwrap();
        assert_eq!(hb.next_bits(10).unwrap(), 0b00_0000_0100);
        assert_eq!(hb.next_bits(10).unwrap(), 0b10_0011_0100);
        assert!(HashBits::from_hash([0; 8], 256)
            .unwrap()
            .next_bits(0)
            .is_err());
        assert!(HashBits::from_hash([0; 8], 256)
            .unwrap()
            .next_bits(33)
            .is_err());
    }

    #[test]
    fn lookup_step_depth_limits() {
        // Fanout 256: depths 0..=7 are the 8 hash bytes; depth 8 is too deep.
        let hash = hash_name(b"hello");
        for (depth, &byte) in hash.iter().enumerate() {
            assert_eq!(lookup_step(b"hello", depth, 256).unwrap(), u32::from(byte));
        }
        assert_eq!(
            lookup_step(b"hello", 8, 256).unwrap_err().kind(),
            ErrorKind::Hamt
        );
        // Fanout 1024: 6 levels of 10 bits (60 of 64).
        assert!(lookup_step(b"hello", 5, 1024).is_ok());
        assert!(lookup_step(b"hello", 6, 1024).is_err());
        assert_eq!(ShardParams::new(1024).unwrap().max_depth(), 6);
        assert_eq!(ShardParams::new(256).unwrap().max_depth(), 8);
        assert_eq!(ShardParams::new(16).unwrap().max_depth(), 16);
        assert!(lookup_step(b"hello", usize::MAX, 256).is_err());
        // depth * 8 fits in u32 but adding the next 8 bits would not.
        assert!(lookup_step(b"hello", (u32::MAX / 8) as usize, 256).is_err());
        // Fanout 16 takes nibbles.
        let high = u32::from(hash[0] >> 4);
        let low = u32::from(hash[0] & 0xf);
        assert_eq!(lookup_step(b"hello", 0, 16).unwrap(), high);
        assert_eq!(lookup_step(b"hello", 1, 16).unwrap(), low);
        // HashBits agrees with lookup_step, to the last level and no further.
        let params = ShardParams::new(64).unwrap();
        let mut path = params.hash_bits(b"some name");
        assert_eq!(max_depth(64), 10);
        for depth in 0..params.max_depth() {
            assert_eq!(path.depth(), depth);
            assert_eq!(
                path.next_slot().unwrap(),
                lookup_step(b"some name", depth, 64).unwrap()
            );
        }
        let e = path.next_slot().unwrap_err();
        assert!(e.message().contains("too deep"), "{e}");
        assert_eq!(max_depth(256), 8);
        assert_eq!(max_depth(1024), 6);
        assert_eq!(max_depth(100), 0);
        assert!(HashBits::new(b"x", 4).is_err());
    }

    #[test]
    fn fanout_validation_and_prefix_widths() {
        for (fanout, width) in [(8, 1), (16, 1), (32, 2), (64, 2), (128, 2), (256, 2)] {
            assert_eq!(prefix_len(fanout).unwrap(), width, "{fanout}");
        }
        assert_eq!(prefix_len(512).unwrap(), 3);
        assert_eq!(prefix_len(1024).unwrap(), 3);
        for bad in [0, 1, 2, 4, 100, 255, 257, 2048, 1 << 40, u64::MAX] {
            let e = prefix_len(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Hamt, "{bad}");
            assert!(ShardParams::new(bad).is_err());
            assert!(lookup_step(b"x", 0, bad).is_err());
        }
        assert_eq!(
            ShardParams::from_unixfs(Some(0x23), Some(256))
                .unwrap_err()
                .kind(),
            ErrorKind::Unsupported
        );
        assert_eq!(
            ShardParams::from_unixfs(None, Some(256))
                .unwrap_err()
                .kind(),
            ErrorKind::Hamt
        );
        assert_eq!(
            ShardParams::from_unixfs(Some(0x22), None)
                .unwrap_err()
                .kind(),
            ErrorKind::Hamt
        );
    }

    #[test]
    fn prefix_formatting() {
        let mut out = [0u8; 4];
        assert_eq!(slot_prefix(0, 2, &mut out).unwrap(), "00");
        assert_eq!(slot_prefix(0x0a, 2, &mut out).unwrap(), "0A");
        assert_eq!(slot_prefix(0xff, 2, &mut out).unwrap(), "FF");
        assert_eq!(slot_prefix(0x3ff, 3, &mut out).unwrap(), "3FF");
        assert_eq!(slot_prefix(7, 1, &mut out).unwrap(), "7");
        assert_eq!(slot_prefix(0xbeef, 4, &mut out).unwrap(), "BEEF");
        assert!(slot_prefix(0x100, 2, &mut out).is_err());
        assert!(slot_prefix(0, 0, &mut out).is_err());
        assert!(slot_prefix(0, 5, &mut out).is_err());
        assert!(slot_prefix(u32::MAX, 4, &mut out).is_err());

        let p1024 = ShardParams::new(1024).unwrap();
        assert_eq!(p1024.slot_prefix(5).unwrap().as_str(), "005");
        assert_eq!(p1024.slot_prefix(1023).unwrap().to_string(), "3FF");
        assert!(p1024.slot_prefix(1024).is_err());
        let p256 = ShardParams::new(256).unwrap();
        // Matches Go's fmt.Sprintf("%02X", i) for every slot.
        for i in 0..256 {
            assert_eq!(p256.slot_prefix(i).unwrap().as_str(), format!("{i:02X}"));
        }
    }

    #[test]
    fn link_classification() {
        let p = ShardParams::new(256).unwrap();
        assert_eq!(p.classify("A3").unwrap(), (0xA3, HamtLink::Shard));
        assert_eq!(p.classify("00").unwrap(), (0, HamtLink::Shard));
        assert_eq!(
            p.classify("FFfile.txt").unwrap(),
            (0xFF, HamtLink::Entry("file.txt"))
        );
        // The entry part may itself look like hex or be non-ASCII.
        assert_eq!(p.classify("0A0A").unwrap(), (0x0A, HamtLink::Entry("0A")));
        assert_eq!(p.classify("1Bünï").unwrap(), (0x1B, HamtLink::Entry("ünï")));

        // Malformed: too short, lower-case, non-hex, non-ASCII inside the prefix.
        for bad in ["", "A", "a3", "fFx", "G0", " 0", "0-", "é", "0é"] {
            let e = p.classify(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Hamt, "{bad:?}");
        }
        // Slot out of range for the fanout: 3 digits allow up to FFF but fanout 1024 stops
        // at 3FF; fanout 8 has one digit up to 7.
        let p1024 = ShardParams::new(1024).unwrap();
        assert_eq!(
            p1024.classify("3FFx").unwrap(),
            (0x3FF, HamtLink::Entry("x"))
        );
        assert!(p1024.classify("400").is_err());
        let p8 = ShardParams::new(8).unwrap();
        assert_eq!(p8.classify("7").unwrap(), (7, HamtLink::Shard));
        assert!(p8.classify("8name").is_err());

        assert_eq!(
            classify_link("ABCDname", 4).unwrap(),
            (0xABCD, HamtLink::Entry("name"))
        );
        assert!(classify_link("AB", 0).is_err());
        assert!(classify_link("ABCDE", 5).is_err());
    }

    #[test]
    fn bitfield_queries() {
        // go-bitfield layout: bit i lives in byte len-1-i/8, at bit i%8.
        let bitfield = [0b1000_0001, 0b0000_0110]; // slots 1, 2, 8, 15
        let set: Vec<u32> = (0..64).filter(|&i| bitfield_has(&bitfield, i)).collect();
        assert_eq!(set, [1, 2, 8, 15]);
        let ranks: Vec<usize> = [0, 1, 2, 3, 8, 9, 15, 16, 1000]
            .iter()
            .map(|&i| bitfield_rank(&bitfield, i))
            .collect();
        assert_eq!(ranks, [0, 0, 1, 2, 2, 3, 3, 4, 4]);
        assert!(!bitfield_has(&[], 0));
        assert_eq!(bitfield_rank(&[], 500), 0);
        assert!(!bitfield_has(&bitfield, u32::MAX));
        assert_eq!(bitfield_rank(&bitfield, u32::MAX), 4);

        let p = ShardParams::new(256).unwrap();
        assert!(p.check_bitfield(&[0xff; 32]).is_ok());
        assert!(p.check_bitfield(&[0xff; 33]).is_err());
        assert!(p.check_bitfield(&[]).is_ok());
    }
}
