//! CIDs as cairn reads and writes them: any multibase and CIDv0 on input; CIDv1 in base32 on
//! output (IPNS names excepted, which are printed in base36 elsewhere), as the Agregore spec
//! requires of every CID the API writes.

use ::cid::Cid;

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
}

/// Multihash codes cairn gives meaning to.
pub mod hash {
    pub const IDENTITY: u64 = 0x00;
    pub const SHA2_256: u64 = 0x12;
}

/// Longest CID text accepted: a 64-byte digest in base2 would be far longer, but nothing real
/// is; this bounds work on hostile input.
const MAX_CID_TEXT: usize = 256;

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
    Cid::try_from(text).map_err(|e| Error::cid(format!("{text:?}: {e}")))
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

/// True for an identity-hash CID: its content is the digest itself, so no store is needed.
pub fn is_inline(cid: &Cid) -> bool {
    cid.hash().code() == hash::IDENTITY
}

#[cfg(test)]
mod tests {
    use super::*;

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
