//! CIDs as cairn reads and writes them: any multibase and CIDv0 on input; CIDv1 in base32 on
//! output (IPNS names excepted, which are printed in base36 elsewhere), as the Agregore spec
//! requires of every CID the API writes.

use ::cid::Cid;

use super::varint;
use super::{Error, Result};

/// Multicodec codes cairn gives meaning to.
pub mod codec {
    pub const RAW: u64 = 0x55;
    pub const DAG_PB: u64 = 0x70;
    pub const DAG_CBOR: u64 = 0x71;
    pub const LIBP2P_KEY: u64 = 0x72;
    pub const CBOR: u64 = 0x51;
    pub const JSON: u64 = 0x0200;
    pub const DAG_JSON: u64 = 0x0129;

    /// The multicodec table's name of the codecs above (`None` for any other code).
    pub fn name(code: u64) -> Option<&'static str> {
        Some(match code {
            RAW => "raw",
            DAG_PB => "dag-pb",
            DAG_CBOR => "dag-cbor",
            DAG_JSON => "dag-json",
            JSON => "json",
            CBOR => "cbor",
            LIBP2P_KEY => "libp2p-key",
            _ => return None,
        })
    }

    /// The code of a codec above by its multicodec table name (`None` for any other name).
    pub fn by_name(name: &str) -> Option<u64> {
        [RAW, DAG_PB, DAG_CBOR, DAG_JSON, JSON, CBOR, LIBP2P_KEY]
            .into_iter()
            .find(|code| self::name(*code) == Some(name))
    }
}

/// Multihash codes cairn gives meaning to.
pub mod hash {
    pub const IDENTITY: u64 = 0x00;
    pub const SHA2_256: u64 = 0x12;
}

/// Longest CID text accepted: a 64-byte digest in base2 would be far longer, but nothing real
/// is; this bounds work on hostile input.
pub(crate) const MAX_CID_TEXT: usize = 256;

/// Parses a CID written in any multibase (CIDv1) or base58btc (CIDv0).
pub fn parse(text: &str) -> Result<Cid> {
    if text.is_empty() {
        return Err(Error::cid("empty CID"));
    }
    if text.len() > MAX_CID_TEXT {
        return Err(Error::cid(format!(
            "CID longer than {MAX_CID_TEXT} characters"
        )));
    }
    // Base32 lower case is what nearly every request carries: decode it on the stack.
    if let Some(b32) = text.strip_prefix('b') {
        let mut buf = [0u8; MAX_CID_TEXT];
        let enc = data_encoding::BASE32_NOPAD_NOCASE;
        if let Ok(len) = enc.decode_len(b32.len()) {
            if let Ok(n) = enc.decode_mut(b32.as_bytes(), &mut buf[..len]) {
                return from_bytes(&buf[..n])
                    .map_err(|e| Error::cid(format!("{text:?}: {}", e.message())));
            }
        }
        return Err(Error::cid(format!("{text:?}: not valid base32")));
    }
    Cid::try_from(text).map_err(|e| Error::cid(format!("{text:?}: {e}")))
}

/// Longest CIDv1 in bytes: version, codec and hash code varints plus a 64-byte digest.
const MAX_CID_BYTES: usize = 96;

/// A CID's CIDv1 base32 text, formatted on the stack (no heap allocation).
pub struct CidText {
    buf: [u8; 1 + MAX_CID_BYTES * 8 / 5 + 1],
    len: usize,
}

impl CidText {
    pub fn as_str(&self) -> &str {
        // Only ASCII (the multibase prefix and base32 digits) is ever written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Display for CidText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The CIDv1 base32 text of `cid` (CIDv0 converted), without allocating.
pub fn v1_text(cid: &Cid) -> CidText {
    let mut raw = [0u8; MAX_CID_BYTES];
    let v1 = to_v1(cid);
    let n = v1.write_bytes(&mut raw[..]).unwrap_or(0);
    let mut text = CidText {
        buf: [0u8; 1 + MAX_CID_BYTES * 8 / 5 + 1],
        len: 0,
    };
    let enc = data_encoding::BASE32_NOPAD;
    let out = enc.encode_len(n);
    text.buf[0] = b'b';
    enc.encode_mut(&raw[..n], &mut text.buf[1..1 + out]);
    text.buf[1..1 + out].make_ascii_lowercase();
    text.len = 1 + out;
    text
}

/// Reads a binary CID that must span all of `bytes`.
pub fn from_bytes(bytes: &[u8]) -> Result<Cid> {
    let mut reader = bytes;
    let cid = Cid::read_bytes(&mut reader).map_err(|e| Error::cid(e.to_string()))?;
    if !reader.is_empty() {
        return Err(Error::cid("trailing bytes after CID"));
    }
    Ok(cid)
}

/// The same content as CIDv1 (a CIDv0 becomes dag-pb CIDv1).
pub fn to_v1(cid: &Cid) -> Cid {
    if cid.version() == ::cid::Version::V0 {
        Cid::new_v1(codec::DAG_PB, *cid.hash())
    } else {
        *cid
    }
}

/// CIDv1, base32 lower case: what every response carries.
pub fn to_v1_string(cid: &Cid) -> String {
    to_v1(cid).to_string()
}

/// Appends a CID's binary form (what `Cid::to_bytes` gives, `cid.encoded_len()` bytes) without
/// an intermediate `Vec`: CIDv0 is the bare multihash; CIDv1 is `varint(1) varint(codec)
/// multihash`.
pub(crate) fn write_binary(out: &mut Vec<u8>, cid: &Cid) {
    if cid.version() == ::cid::Version::V1 {
        varint::put(out, 1);
        varint::put(out, cid.codec());
    }
    let hash = cid.hash();
    varint::put(out, hash.code());
    varint::put(out, u64::from(hash.size()));
    out.extend_from_slice(hash.digest());
}

/// True for an identity-hash CID: its content is the digest itself, so no store is needed.
pub fn is_inline(cid: &Cid) -> bool {
    cid.hash().code() == hash::IDENTITY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_names_are_the_multicodec_tables() {
        assert_eq!(codec::name(codec::DAG_PB), Some("dag-pb"));
        assert_eq!(codec::name(0x0129), Some("dag-json"));
        assert_eq!(codec::by_name("dag-cbor"), Some(codec::DAG_CBOR));
        assert_eq!(codec::by_name("git-raw"), None);
        assert_eq!(codec::name(codec::LIBP2P_KEY), Some("libp2p-key"));
        assert_eq!(codec::name(0x1234), None);
    }

    #[test]
    fn binary_writer_matches_cid_crate() {
        let sha256 = |bytes: &[u8]| {
            use sha2::Digest;
            multihash::Multihash::<64>::wrap(hash::SHA2_256, &sha2::Sha256::digest(bytes)).unwrap()
        };
        for cid in [
            Cid::new_v0(sha256(b"1")).unwrap(),
            Cid::new_v1(codec::RAW, sha256(b"2")),
            Cid::new_v1(codec::DAG_JSON, sha256(b"3")),
            Cid::new_v1(
                codec::RAW,
                multihash::Multihash::wrap(0, b"identity!").unwrap(),
            ),
            Cid::new_v1(
                codec::DAG_CBOR,
                multihash::Multihash::wrap(0xb240, &[0xab; 64]).unwrap(),
            ),
        ] {
            let mut out = Vec::new();
            write_binary(&mut out, &cid);
            assert_eq!(out, cid.to_bytes());
            assert_eq!(out.len(), cid.encoded_len());
        }
    }

    #[test]
    fn v0_and_v1_parse_to_the_same_v1() {
        let v0 = parse("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap();
        let v1 = parse("bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354").unwrap();
        assert_eq!(to_v1(&v0), v1);
        assert_eq!(
            to_v1_string(&v0),
            "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"
        );
    }

    #[test]
    fn other_multibases_are_accepted() {
        let b32 = parse("bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am").unwrap();
        let b58 = Cid::try_from(
            b32.to_string_of_base(::cid::multibase::Base::Base58Btc)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(b32, b58);
        let b36 = b32
            .to_string_of_base(::cid::multibase::Base::Base36Lower)
            .unwrap();
        assert_eq!(parse(&b36).unwrap(), b32);
    }

    #[test]
    fn inline_cid_is_recognised() {
        let cid = parse("bafkqabtimvwgy3yk").unwrap();
        assert!(is_inline(&cid));
        assert_eq!(cid.hash().digest(), b"hello\n");
    }

    #[test]
    fn stack_text_matches_the_cid_crate() {
        for text in [
            "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am",
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
            "bafkqabtimvwgy3yk",
        ] {
            let cid = parse(text).unwrap();
            assert_eq!(v1_text(&cid).as_str(), to_v1_string(&cid));
        }
        let big = Cid::new_v1(
            codec::DAG_JSON,
            multihash::Multihash::<64>::wrap(0x13, &[7u8; 64]).unwrap(),
        );
        assert_eq!(v1_text(&big).as_str(), big.to_string());
        assert_eq!(parse(&big.to_string()).unwrap(), big);
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in [
            "",
            "bafy",
            "Qm123",
            "zzzz",
            &"b".repeat(300),
            "bafkqabtimvwgy3y!",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(from_bytes(&[0x01, 0x55]).is_err());
    }
}
