//! Peer IDs and CIDs parsed as go-libp2p's `peer.Decode` and go-cid's `cid.Decode` parse them:
//! go-multihash `Cast` structure, go-varint's uvarints, go-multibase's lenient base32, and
//! [`PeerId`] with its JSON form.

use super::*;
use crate::ipld::cid::MAX_CID_TEXT;

/// go-varint's `FromUvarint` as go-multihash uses it: at most 9 bytes (63 bits), minimal encoding.
pub(super) fn go_uvarint(buf: &[u8]) -> Result<(u64, &[u8]), &'static str> {
    const MAX_LEN: usize = 9;
    match varint::decode_minimal(buf.iter().copied().take(MAX_LEN)) {
        Ok((value, used)) => Ok((value, &buf[used..])),
        Err(VarintError::Truncated) if buf.len() >= MAX_LEN => {
            Err("varints larger than uint63 not supported")
        }
        Err(VarintError::Truncated) => Err("varints malformed, could not reach the end"),
        // Nine bytes cannot be too long or overflow; only a padded encoding is left.
        Err(VarintError::NotMinimal | VarintError::TooLong | VarintError::Overflow) => {
            Err("varint not minimally encoded")
        }
    }
}

/// go-multihash `readMultihashFromBuf`: the code, digest length and total length of the
/// multihash at the start of `bytes` (more bytes may follow).
pub(super) fn multihash_prefix(bytes: &[u8]) -> Result<(u64, usize, usize), String> {
    if bytes.len() < 2 {
        return Err("multihash too short. must be >= 2 bytes".into());
    }
    let (code, rest) = go_uvarint(bytes)?;
    let (len, rest) = go_uvarint(rest)?;
    if len > i32::MAX as u64 {
        return Err("digest too long, supporting only <= 2^31-1".into());
    }
    let len = len as usize;
    if len > rest.len() {
        return Err("length greater than remaining number of bytes in buffer".into());
    }
    Ok((code, len, bytes.len() - rest.len() + len))
}

/// The code and digest length of a multihash whose bytes are exactly `bytes` (go-multihash
/// `Cast`: any code, declared length must match what follows).
pub(super) fn multihash_parts(bytes: &[u8]) -> Result<(u64, usize), String> {
    let (code, len, total) = multihash_prefix(bytes)?;
    if total != bytes.len() {
        // go-multihash reports the declared digest length and the size it implies.
        return Err(format!(
            "multihash length inconsistent: expected {len}; got {total}"
        ));
    }
    Ok((code, len))
}

/// Decodes RFC 4648 base32 without padding the way go-multibase (go-base32 v0.1) does for
/// `b`/`B`: case-insensitively, spare trailing bits ignored, and a final group of 1, 3 or 6
/// characters silently yielding nothing (that fork lacks Go's later check).
pub(super) fn go_base32_decode(text: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8 + 5);
    let mut group = [0u8; 8];
    let mut j = 0;
    for (i, &c) in text.iter().enumerate() {
        group[j] = match c {
            b'a'..=b'z' => c - b'a',
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            b'\r' | b'\n' => continue,
            _ => return Err(format!("illegal base32 data at input byte {i}")),
        };
        j += 1;
        if j == 8 {
            push_base32_group(&group, 8, &mut out);
            j = 0;
        }
    }
    push_base32_group(&group, j, &mut out);
    Ok(out)
}

/// The bytes `n` base32 digits of a group carry (none for 1, 3 or 6 digits, as go-base32).
pub(super) fn push_base32_group(g: &[u8; 8], n: usize, out: &mut Vec<u8>) {
    let bytes = match n {
        2 => 1,
        4 => 2,
        5 => 3,
        7 => 4,
        8 => 5,
        _ => return,
    };
    let v = g.iter().fold(0u64, |acc, &d| (acc << 5) | u64::from(d));
    out.extend_from_slice(&v.to_be_bytes()[3..3 + bytes]);
}

/// A CID's binary form checked as go-cid's `Decode` checks it; returns the bytes and the codec.
pub(super) fn go_cid_bytes(text: &str) -> Result<(Vec<u8>, u64), String> {
    if text.len() < 2 {
        return Err("invalid cid: cid too short".into());
    }
    if text.len() > MAX_CID_TEXT {
        return Err("invalid cid: cid too long".into());
    }
    if text.len() == 46 && text.starts_with("Qm") {
        let bytes = Base::Base58Btc
            .decode(text)
            .map_err(|_| "invalid cid: input isn't valid multihash".to_string())?;
        let (code, len) = multihash_parts(&bytes).map_err(|e| format!("invalid cid: {e}"))?;
        if code != SHA2_256 || len != 32 {
            return Err("invalid cid: invalid hash for cidv0".into());
        }
        return Ok((bytes, DAG_PB));
    }
    let data = match text.as_bytes()[0] {
        b'b' | b'B' => go_base32_decode(&text.as_bytes()[1..]),
        // go-multibase v0.3 knows these prefixes; the Rust crate knows a few more (base8,
        // base10, base32z) that Go refuses.
        b'\0' | b'0' | b'f' | b'F' | b'v' | b'V' | b'c' | b'C' | b't' | b'T' | b'k' | b'K'
        | b'z' | b'Z' | b'm' | b'M' | b'u' | b'U' => cid::multibase::decode(text)
            .map(|(_, d)| d)
            .map_err(|e| match e {
                cid::multibase::Error::UnknownBase(_) => "selected encoding not supported".into(),
                e => e.to_string(),
            }),
        _ => Err("selected encoding not supported".into()),
    }
    .map_err(|e| format!("invalid cid: {e}"))?;
    // go-cid wraps CidFromBytes's errors twice.
    let twice = |e: String| format!("invalid cid: invalid cid: {e}");
    // go-cid CidFromBytes: a bare sha2-256 multihash is a CIDv0.
    let (used, codec) = if data.len() > 2 && data[0] == 0x12 && data[1] == 32 {
        if data.len() < 34 {
            return Err(twice("not enough bytes for cid v0".into()));
        }
        multihash_parts(&data[..34]).map_err(twice)?;
        (34, DAG_PB)
    } else {
        let (version, rest) = go_uvarint(&data).map_err(|e| twice(e.into()))?;
        if version != 1 {
            return Err(twice(format!(
                "expected 1 as the cid version number, got: {version}"
            )));
        }
        let (codec, rest) = go_uvarint(rest).map_err(|e| twice(e.into()))?;
        let (_, _, mh_len) = multihash_prefix(rest).map_err(twice)?;
        (data.len() - rest.len() + mh_len, codec)
    };
    if used != data.len() {
        return Err("invalid cid: trailing bytes in data buffer passed to cid Cast".into());
    }
    Ok((data, codec))
}

/// The multihash inside a CID's binary form (a bare multihash for CIDv0).
pub(super) fn cid_multihash(bytes: &[u8]) -> &[u8] {
    if bytes.len() == 34 && bytes[0] == 0x12 {
        return bytes;
    }
    match go_uvarint(bytes).and_then(|(_, rest)| go_uvarint(rest)) {
        Ok((_, mh)) => mh,
        Err(_) => bytes,
    }
}

/// Longest peer ID text accepted. Real peer IDs are 46 (`Qm…`) to 53 (`16Uiu2…`) characters and
/// CID forms under 70; base58 decoding is quadratic, so hostile lengths are refused up front.
pub(super) const MAX_PEER_ID_TEXT: usize = 128;

/// A codec's name as go-multicodec's `Code.String` gives it.
pub(super) fn multicodec_name(code: u64) -> Cow<'static, str> {
    match codec::name(code) {
        Some(name) => name.into(),
        None => format!("Code({code})").into(),
    }
}

// ---------------------------------------------------------------------------------------------
// PeerId

/// A libp2p peer ID, kept as its canonical text: base58btc of the multihash bytes (go-libp2p
/// `peer.ID.String`). JSON: a string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(String);

/// Why a peer ID did not parse; `Display` is go-libp2p's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PeerIdError(String);

impl PeerId {
    /// Parses like go-libp2p's `peer.Decode`: text starting with `Qm` or `1` is a base58btc
    /// multihash (any hash code, structure checked); anything else must be a CID with the
    /// `libp2p-key` codec. The result is re-encoded in base58btc.
    pub fn parse(text: &str) -> Result<PeerId, PeerIdError> {
        if text.len() > MAX_PEER_ID_TEXT {
            return Err(PeerIdError("failed to parse peer ID: too long".into()));
        }
        if text.starts_with("Qm") || text.starts_with('1') {
            let bytes = Base::Base58Btc.decode(text).map_err(|_| {
                PeerIdError("failed to parse peer ID: input isn't valid multihash".into())
            })?;
            multihash_parts(&bytes)
                .map_err(|e| PeerIdError(format!("failed to parse peer ID: {e}")))?;
            // Base58 text that decodes is already canonical: keep it as written.
            return Ok(PeerId(text.to_owned()));
        }
        let (bytes, codec) =
            go_cid_bytes(text).map_err(|e| PeerIdError(format!("failed to parse peer ID: {e}")))?;
        if codec != LIBP2P_KEY_CODEC {
            return Err(PeerIdError(format!(
                "can't convert CID of type {} to a peer ID",
                go_quote(&multicodec_name(codec))
            )));
        }
        Ok(PeerId(Base::Base58Btc.encode(cid_multihash(&bytes))))
    }

    /// A peer ID from raw multihash bytes (go-libp2p `peer.IDFromBytes`).
    pub fn from_multihash_bytes(bytes: &[u8]) -> Result<PeerId, PeerIdError> {
        multihash_parts(bytes).map_err(PeerIdError)?;
        Ok(PeerId(Base::Base58Btc.encode(bytes)))
    }

    /// The base58btc text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for PeerId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Parses a CID in any multibase (v1) or base58btc (v0) with go-cid's `cid.Decode` rules
/// (base32 case-insensitive, no trailing bytes) and go-cid's error texts where they matter.
/// Digests longer than 64 bytes, which go-cid would take, are refused.
pub fn parse_cid(text: &str) -> Result<Cid, String> {
    let (bytes, _) = go_cid_bytes(text)?;
    Cid::try_from(&bytes[..]).map_err(|e| format!("invalid cid: {e}"))
}
