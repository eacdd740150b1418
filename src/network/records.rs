//! Value records in the DHT (libp2p Kademlia `PUT_VALUE`/`GET_VALUE`): which records this
//! node keeps for its peers and for how long.
//!
//! Like Kubo's DHT, which validates by namespace, the node keeps only IPNS records
//! (`/ipns/<multihash bytes>` keys, IPNS spec "Routing Record"), and only one that verifies
//! for the name its key names (IPNS spec "Record Verification": signature V2, V1 fields,
//! EOL in the future). Of two valid records for one name the fresher one stays (IPNS spec
//! "Record Selection": higher sequence, then later EOL), so a peer cannot roll a name back
//! by putting an older record. Anything else — other namespaces (`/pk/` keys are no longer
//! needed: IPNS records carry or inline their key), expired, forged or malformed records —
//! is refused, and is therefore never served to others either.
//!
//! A kept record expires at its EOL or after [`MAX_RECORD_AGE`], whichever is sooner (Kubo
//! keeps a peer's record 48 hours); publishers re-put theirs before then.

use std::cmp::Ordering;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use libp2p::kad::Record as KadRecord;

use crate::ipld::ipns::{IpnsName, Record};

/// The namespace prefix of IPNS keys.
pub const IPNS_PREFIX: &[u8] = b"/ipns/";
/// Longest this node keeps a record put by a peer (Kubo's `MaxRecordAge`).
pub const MAX_RECORD_AGE: Duration = Duration::from_secs(48 * 3600);

/// The IPNS name a DHT key is about, if it is an IPNS key.
pub fn ipns_name_of_key(key: &[u8]) -> Option<IpnsName> {
    IpnsName::from_multihash(key.strip_prefix(IPNS_PREFIX)?).ok()
}

/// A record that verifies for `name` at `now`, read from the bytes a peer sent.
pub fn verified_ipns_record(
    name: &IpnsName,
    value: &[u8],
    now: SystemTime,
) -> Result<Record, String> {
    let record = Record::from_bytes(Bytes::copy_from_slice(value)).map_err(|e| e.to_string())?;
    record.validate(name, now).map_err(|e| e.to_string())?;
    Ok(record)
}

/// Decides whether to keep `incoming`, which a peer asked this node to store, given the
/// record kept for the same key now (`kept`). Returns how long to keep it, or why not.
pub fn admit(
    incoming: &KadRecord,
    kept: Option<&KadRecord>,
    now: SystemTime,
) -> Result<Duration, String> {
    let name = ipns_name_of_key(incoming.key.as_ref())
        .ok_or_else(|| "only IPNS records (/ipns/ keys) are kept".to_owned())?;
    let record = verified_ipns_record(&name, &incoming.value, now)?;
    if let Some(kept) = kept {
        // A kept record that no longer verifies (it expired) is replaced by any valid one.
        if let Ok(kept) = verified_ipns_record(&name, &kept.value, now) {
            if record.cmp_freshness(&kept) != Ordering::Greater {
                return Err(format!(
                    "a record of {name} as fresh or fresher (sequence {}) is kept",
                    kept.sequence()
                ));
            }
        }
    }
    let eol = record.validity().map_err(|e| e.to_string())?;
    let remaining = eol.duration_since(now).unwrap_or(Duration::ZERO);
    Ok(remaining.min(MAX_RECORD_AGE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use libp2p::kad::RecordKey;

    fn signed(key: &SigningKey, sequence: u64, eol: SystemTime) -> (IpnsName, KadRecord) {
        let name = IpnsName::from_ed25519(&key.verifying_key());
        let record = Record::create(
            key,
            "/ipfs/bafkqaaa",
            sequence,
            eol,
            Duration::from_secs(60),
            true,
        )
        .unwrap();
        let kad = KadRecord::new(
            RecordKey::new(&name.routing_key()),
            record.to_bytes().to_vec(),
        );
        (name, kad)
    }

    #[test]
    fn keeps_a_valid_ipns_record_until_its_eol_or_48_hours() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let now = SystemTime::now();
        let (_, soon) = signed(&key, 1, now + Duration::from_secs(600));
        let kept = admit(&soon, None, now).unwrap();
        assert!(kept <= Duration::from_secs(600) && kept > Duration::from_secs(590));
        let (_, late) = signed(&key, 1, now + Duration::from_secs(30 * 24 * 3600));
        assert_eq!(admit(&late, None, now).unwrap(), MAX_RECORD_AGE);
    }

    #[test]
    fn refuses_expired_forged_misfiled_and_other_namespaces() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let now = SystemTime::now();
        let (_, expired) = signed(&key, 1, now - Duration::from_secs(1));
        assert!(admit(&expired, None, now).unwrap_err().contains("EOL"));

        let (_, mut forged) = signed(&key, 1, now + Duration::from_secs(600));
        let last = forged.value.len() - 1;
        forged.value[last] ^= 1;
        assert!(admit(&forged, None, now).is_err());

        // A valid record filed under another name's key.
        let other = SigningKey::from_bytes(&[8; 32]);
        let (other_name, _) = signed(&other, 1, now + Duration::from_secs(600));
        let (_, mut misfiled) = signed(&key, 1, now + Duration::from_secs(600));
        misfiled.key = RecordKey::new(&other_name.routing_key());
        assert!(admit(&misfiled, None, now).is_err());

        let (_, mut pk) = signed(&key, 1, now + Duration::from_secs(600));
        pk.key = RecordKey::new(&b"/pk/whatever".to_vec());
        assert!(admit(&pk, None, now).unwrap_err().contains("only IPNS"));
    }

    #[test]
    fn an_older_record_does_not_replace_a_fresher_one() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let now = SystemTime::now();
        let eol = now + Duration::from_secs(600);
        let (_, old) = signed(&key, 1, eol);
        let (_, new) = signed(&key, 2, eol);
        assert!(admit(&old, Some(&new), now).is_err());
        assert!(admit(&new, Some(&new), now).is_err());
        assert!(admit(&new, Some(&old), now).is_ok());
        // An expired kept record gives way even to a lower sequence.
        let (_, expired) = signed(&key, 5, now - Duration::from_secs(1));
        assert!(admit(&old, Some(&expired), now).is_ok());
    }
}
