//! IPNS names and records: pure data handling, no IO.
//!
//! Owns:
//! - [`IpnsName`]: the multihash of a libp2p public key (IPNS spec "IPNS Name"; libp2p peer-id
//!   spec). Parsed from CIDv1 `libp2p-key` text in any multibase (`k51…`) or from base58btc peer
//!   IDs (`12D3KooW…` identity multihash of an Ed25519 key, `Qm…` sha2-256 of a bigger key);
//!   printed as base36 CIDv1 and as a base58btc peer ID.
//! - [`Record`]: the `IpnsEntry` protobuf (IPNS spec "Record Serialization Format") with its
//!   DAG-CBOR `data` document, creation ("Record Creation", V1 compatibility fields included on
//!   request as boxo does by default), and verification exactly in the order of the spec's
//!   "Record Verification" section (IPIP-428: SignatureV2 is the only signature ever checked,
//!   V1 protobuf fields must equal the signed CBOR ones, EOL must be in the future).
//! - The libp2p key encodings the names and records are built from (`PublicKey`/`PrivateKey`
//!   protobufs), and signature verification for Ed25519, RSA (PKCS#1 v1.5/SHA-256, records
//!   published with legacy RSA keys carry their key in `pubKey`) and secp256k1 keys, through
//!   vetted crates (ed25519-dalek, aws-lc-rs).
//! - The `Validity` text: RFC 3339 exactly as Go's `time.RFC3339Nano` writes and parses it (the
//!   calendar and Go-time rules are [`crate::ipld::time`]'s).
//!
//! This file owns the error type and the shared constants; the pieces live in `name`
//! (names), `keys` (libp2p keys and signatures), `record` (creation and verification) and
//! `encoding` (protobuf envelope, DAG-CBOR data, RFC 3339 text).
//!
//! Failures carry an [`IpnsErrorKind`] so callers can tell an expired record from a forged one.

mod encoding;
mod keys;
mod name;
mod record;
#[cfg(test)]
mod tests;

pub use encoding::{format_rfc3339_nano, parse_rfc3339};
pub use keys::{
    decode_ed25519_private_key, ed25519_public_key_protobuf, encode_ed25519_private_key,
};
pub use name::IpnsName;
pub use record::Record;

use encoding::*;
use keys::*;

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ops::Range;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cid::multibase::Base;
use cid::Cid;
use ed25519_dalek::ed25519::signature::MultipartVerifier;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use smallvec::SmallVec;

use super::cbor::{self, HeadError};
use super::cid::{codec, hash};
use super::protobuf;
use super::time::{days_from_civil, Timestamp, SECONDS_PER_DAY};
use super::varint::{self, VarintError};

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a name or record was refused. Callers map kinds, never message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpnsErrorKind {
    /// Text or bytes that are not an IPNS name (not a libp2p-key CID or peer ID).
    InvalidName,
    /// Record bytes that do not decode (protobuf, DAG-CBOR, timestamp), or lack a field.
    Malformed,
    /// A record over the 10 KiB limit (IPNS spec "Record Size Limit").
    TooLarge,
    /// No `signatureV2`/`data`: a legacy V1-only record, never trusted (IPIP-428).
    MissingSignatureV2,
    /// No usable public key: `pubKey` does not hash to the name, does not decode, or is absent
    /// while the name is a hash rather than an inlined key.
    PublicKey,
    /// A key type this implementation cannot verify (ECDSA, unknown).
    UnsupportedKeyType,
    /// `signatureV2` does not verify over `"ipns-signature:" ++ data`.
    BadSignature,
    /// A legacy V1 protobuf field differs from its signed DAG-CBOR counterpart.
    V1Mismatch,
    /// `ValidityType` other than 0 (EOL), the only type the spec defines.
    UnsupportedValidityType,
    /// The record's EOL is in the past.
    Expired,
    /// `Value` that is not a content path (`/ipfs/<cid>…`, `/ipns/<name>…`) or binary CID; also
    /// creation arguments that cannot form a record.
    InvalidValue,
}

/// An IPNS failure: its kind and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpnsError {
    kind: IpnsErrorKind,
    message: Cow<'static, str>,
}

impl IpnsError {
    /// An error of `kind` with a message saying what was wrong.
    pub fn new(kind: IpnsErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        IpnsError {
            kind,
            message: message.into(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> IpnsErrorKind {
        self.kind
    }

    /// The human-readable detail.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for IpnsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            IpnsErrorKind::InvalidName => "invalid IPNS name",
            IpnsErrorKind::Malformed => "malformed IPNS record",
            IpnsErrorKind::TooLarge => "IPNS record too large",
            IpnsErrorKind::MissingSignatureV2 => "IPNS record has no V2 signature",
            IpnsErrorKind::PublicKey => "IPNS public key unusable",
            IpnsErrorKind::UnsupportedKeyType => "unsupported IPNS key type",
            IpnsErrorKind::BadSignature => "IPNS signature verification failed",
            IpnsErrorKind::V1Mismatch => "IPNS V1 fields do not match signed data",
            IpnsErrorKind::UnsupportedValidityType => "unsupported IPNS validity type",
            IpnsErrorKind::Expired => "IPNS record expired",
            IpnsErrorKind::InvalidValue => "invalid IPNS value",
        };
        write!(f, "{what}: {}", self.message)
    }
}

impl std::error::Error for IpnsError {}

/// Result of IPNS operations.
pub type IpnsResult<T> = std::result::Result<T, IpnsError>;

fn err<T>(kind: IpnsErrorKind, message: impl Into<Cow<'static, str>>) -> IpnsResult<T> {
    Err(IpnsError::new(kind, message))
}

fn malformed<T>(message: impl Into<Cow<'static, str>>) -> IpnsResult<T> {
    err(IpnsErrorKind::Malformed, message)
}

// ---------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------

/// Largest serialized record accepted or produced (IPNS spec "Record Size Limit": 10 KiB).
pub const MAX_RECORD_SIZE: usize = 10 * 1024;
/// boxo's default record lifetime (`DefaultRecordLifetime`, matches the Amino DHT expiry).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(48 * 3600);
/// boxo's default record TTL (`DefaultRecordTTL`).
pub const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);
/// The value boxo substitutes for an empty `Value`: the identity CID of zero bytes.
pub const NOOP_VALUE: &str = "/ipfs/bafkqaaa";

/// Prefix of the bytes SignatureV2 signs (IPNS spec "Record Creation", step 5).
const SIGNATURE_V2_PREFIX: &[u8] = b"ipns-signature:";
/// How boxo renders `ValidityType` EOL in the V1 signature input: `fmt.Append(nil,
/// e.GetValidityType())` formats the protobuf enum through its `String()` method.
const V1_VALIDITY_TYPE_EOL: &[u8] = b"EOL";

const MULTIHASH_IDENTITY: u8 = hash::IDENTITY as u8;
const MULTIHASH_SHA2_256: u8 = hash::SHA2_256 as u8;
/// libp2p peer-id spec: keys whose protobuf is at most 42 bytes are inlined (identity
/// multihash); larger ones are hashed with sha2-256.
const MAX_INLINE_KEY_LEN: usize = 42;
/// Longest name multihash: identity code, length byte, 42-byte key.
const MAX_NAME_MULTIHASH_LEN: usize = 2 + MAX_INLINE_KEY_LEN;
/// Longest text accepted as a name; base2 of the longest name CID fits, and it bounds the
/// quadratic base-x decoders.
const MAX_NAME_TEXT_LEN: usize = 512;

/// libp2p `KeyType` enum values (crypto.proto).
const KEY_TYPE_RSA: u64 = 0;
const KEY_TYPE_ED25519: u64 = 1;
const KEY_TYPE_SECP256K1: u64 = 2;
const KEY_TYPE_ECDSA: u64 = 3;
