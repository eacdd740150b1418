//! Checking a block against its CID's multihash before it is stored.

use cid::Cid;
use multihash_codetable::{Code, MultihashDigest};

use super::{Error, Result};

/// Checks that `data` hashes to `cid`. Identity CIDs must carry exactly `data`.
pub fn verify(cid: &Cid, data: &[u8]) -> Result<()> {
    let mh = cid.hash();
    let matches = if mh.code() == 0x00 {
        mh.digest() == data
    } else {
        let code = Code::try_from(mh.code()).map_err(|_| Error::UnsupportedHash {
            cid: *cid,
            code: mh.code(),
        })?;
        let computed = code.digest(data);
        // A truncated digest (size below the function's output) is legal in multihash.
        let want = mh.digest();
        computed.digest().get(..want.len()) == Some(want) && !want.is_empty()
    };
    if matches {
        Ok(())
    } else {
        Err(Error::HashMismatch { cid: *cid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sha256_vector_verifies() {
        let cid: Cid = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
            .parse()
            .unwrap();
        verify(&cid, b"hello world").unwrap();
        assert!(verify(&cid, b"hello world!").is_err());
    }

    #[test]
    fn other_hash_functions_verify() {
        for code in [
            Code::Sha2_512,
            Code::Sha3_256,
            Code::Blake2b256,
            Code::Blake3_256,
        ] {
            let cid = Cid::new_v1(0x55, code.digest(b"abc"));
            verify(&cid, b"abc").unwrap();
            assert!(verify(&cid, b"abd").is_err());
        }
    }

    #[test]
    fn unknown_hash_function_is_reported() {
        let mh = multihash::Multihash::<64>::wrap(0x3333, &[1, 2, 3]).unwrap();
        let cid = Cid::new_v1(0x55, mh);
        assert!(matches!(
            verify(&cid, b"x"),
            Err(Error::UnsupportedHash { .. })
        ));
    }
}
