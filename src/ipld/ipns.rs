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
//!   protobufs), Ed25519 signatures, and RSA PKCS#1 v1.5/SHA-256 verification for records
//!   published with legacy RSA keys (which carry their key in `pubKey`).
//! - RFC 3339 timestamps exactly as Go's `time.RFC3339Nano` writes and parses them.
//!
//! Failures carry an [`IpnsErrorKind`] so callers can tell an expired record from a forged one.

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
    /// A key type this implementation cannot verify (secp256k1, ECDSA, unknown).
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

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/// An IPNS name: the multihash of a libp2p public key (identity for Ed25519, sha2-256 for
/// RSA). Stored inline; `Copy` and cheap to compare and hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpnsName {
    len: u8,
    multihash: [u8; MAX_NAME_MULTIHASH_LEN],
}

impl IpnsName {
    /// A name from binary multihash bytes: identity (an inlined key of at most 42 bytes) or
    /// sha2-256, minimally encoded, nothing trailing.
    pub fn from_multihash(bytes: &[u8]) -> IpnsResult<Self> {
        let [code, digest_len, digest @ ..] = bytes else {
            return err(IpnsErrorKind::InvalidName, "multihash is truncated");
        };
        // Codes and lengths below 0x80 are single-byte varints; a continuation bit here would
        // be a non-minimal or out-of-range varint, which no key name uses.
        let digest_len = usize::from(*digest_len);
        let length_ok = match *code {
            MULTIHASH_IDENTITY => (1..=MAX_INLINE_KEY_LEN).contains(&digest_len),
            MULTIHASH_SHA2_256 => digest_len == 32,
            _ => {
                return err(
                    IpnsErrorKind::InvalidName,
                    "multihash is neither identity nor sha2-256",
                )
            }
        };
        if !length_ok || digest.len() != digest_len {
            return err(IpnsErrorKind::InvalidName, "multihash length is wrong");
        }
        let mut multihash = [0u8; MAX_NAME_MULTIHASH_LEN];
        multihash[..bytes.len()].copy_from_slice(bytes);
        Ok(IpnsName {
            len: bytes.len() as u8,
            multihash,
        })
    }

    /// A name from a CID, which must have the `libp2p-key` codec (boxo `NameFromCid`).
    pub fn from_cid(cid: &Cid) -> IpnsResult<Self> {
        if cid.codec() != codec::LIBP2P_KEY {
            return err(
                IpnsErrorKind::InvalidName,
                format!("CID codec 0x{:x} is not libp2p-key (0x72)", cid.codec()),
            );
        }
        Self::from_multihash(&cid.hash().to_bytes())
    }

    /// Parses a name as text (boxo `NameFromString`, libp2p `peer.Decode`): an optional
    /// `/ipns/` prefix, then a base58btc peer ID (`12D3KooW…`, `Qm…`: text starting with `1` or
    /// `Qm`) or a multibase CIDv1 with the libp2p-key codec (`k51…`, `bafz…`).
    pub fn parse(text: &str) -> IpnsResult<Self> {
        let text = text.strip_prefix("/ipns/").unwrap_or(text);
        if text.is_empty() || text.len() > MAX_NAME_TEXT_LEN {
            return err(IpnsErrorKind::InvalidName, "name is empty or too long");
        }
        if text.starts_with('1') || text.starts_with("Qm") {
            let bytes = Base::Base58Btc
                .decode(text)
                .map_err(|_| IpnsError::new(IpnsErrorKind::InvalidName, "invalid base58btc"))?;
            return Self::from_multihash(&bytes);
        }
        let cid = Cid::try_from(text)
            .map_err(|e| IpnsError::new(IpnsErrorKind::InvalidName, format!("not a CID: {e}")))?;
        Self::from_cid(&cid)
    }

    /// The name of an Ed25519 key: the identity multihash of its libp2p `PublicKey` protobuf.
    pub fn from_ed25519(key: &VerifyingKey) -> Self {
        let protobuf = ed25519_public_key_protobuf(key);
        let mut multihash = [0u8; MAX_NAME_MULTIHASH_LEN];
        multihash[0] = MULTIHASH_IDENTITY;
        multihash[1] = protobuf.len() as u8;
        multihash[2..2 + protobuf.len()].copy_from_slice(&protobuf);
        IpnsName {
            len: (2 + protobuf.len()) as u8,
            multihash,
        }
    }

    /// The name of any libp2p `PublicKey` protobuf (peer-id spec: inline when at most 42
    /// bytes, else sha2-256).
    pub fn from_public_key_protobuf(protobuf: &[u8]) -> Self {
        let mut multihash = [0u8; MAX_NAME_MULTIHASH_LEN];
        let len = if protobuf.len() <= MAX_INLINE_KEY_LEN {
            multihash[0] = MULTIHASH_IDENTITY;
            multihash[1] = protobuf.len() as u8;
            multihash[2..2 + protobuf.len()].copy_from_slice(protobuf);
            2 + protobuf.len()
        } else {
            multihash[0] = MULTIHASH_SHA2_256;
            multihash[1] = 32;
            multihash[2..34].copy_from_slice(&Sha256::digest(protobuf));
            34
        };
        IpnsName {
            len: len as u8,
            multihash,
        }
    }

    /// The binary multihash (the peer ID bytes).
    pub fn as_multihash_bytes(&self) -> &[u8] {
        &self.multihash[..usize::from(self.len)]
    }

    /// The name as a CIDv1 with the libp2p-key codec.
    pub fn to_cid(&self) -> Cid {
        // The multihash was validated on construction (digest at most 42 bytes, under the
        // 64-byte capacity), so reading it back cannot fail; the default is unreachable.
        let multihash =
            cid::multihash::Multihash::from_bytes(self.as_multihash_bytes()).unwrap_or_default();
        Cid::new_v1(codec::LIBP2P_KEY, multihash)
    }

    /// The canonical text form: base36 (lowercase) CIDv1 libp2p-key, `k51…` for Ed25519.
    pub fn to_base36(&self) -> String {
        let mut cid_bytes: SmallVec<[u8; 2 + MAX_NAME_MULTIHASH_LEN]> = SmallVec::new();
        cid_bytes.extend_from_slice(&[0x01, codec::LIBP2P_KEY as u8]);
        cid_bytes.extend_from_slice(self.as_multihash_bytes());
        let mut text = String::with_capacity(64);
        text.push('k');
        text.push_str(&Base::Base36Lower.encode(&cid_bytes));
        text
    }

    /// The base58btc peer ID form (`12D3KooW…`, `Qm…`).
    pub fn to_peer_id(&self) -> String {
        Base::Base58Btc.encode(self.as_multihash_bytes())
    }

    /// The routing key: `/ipns/` followed by the raw multihash bytes (IPNS spec "Routing
    /// Record").
    pub fn routing_key(&self) -> Vec<u8> {
        let mut key = Vec::with_capacity(6 + usize::from(self.len));
        key.extend_from_slice(b"/ipns/");
        key.extend_from_slice(self.as_multihash_bytes());
        key
    }

    /// The libp2p `PublicKey` protobuf inlined in an identity-multihash name.
    pub fn inline_public_key_protobuf(&self) -> Option<&[u8]> {
        (self.multihash[0] == MULTIHASH_IDENTITY).then(|| self.digest())
    }

    fn digest(&self) -> &[u8] {
        &self.multihash[2..usize::from(self.len)]
    }
}

impl std::fmt::Display for IpnsName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_base36())
    }
}

impl std::fmt::Debug for IpnsName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IpnsName({})", self.to_base36())
    }
}

impl std::str::FromStr for IpnsName {
    type Err = IpnsError;
    fn from_str(text: &str) -> IpnsResult<Self> {
        Self::parse(text)
    }
}

// ---------------------------------------------------------------------------------------------
// libp2p keys (crypto.proto: `PublicKey`/`PrivateKey { KeyType Type = 1; bytes Data = 2; }`)
// ---------------------------------------------------------------------------------------------

/// The libp2p `PublicKey` protobuf of an Ed25519 key: Type=Ed25519, Data=32 bytes.
pub fn ed25519_public_key_protobuf(key: &VerifyingKey) -> [u8; 36] {
    let mut protobuf = [0u8; 36];
    protobuf[..4].copy_from_slice(&[0x08, KEY_TYPE_ED25519 as u8, 0x12, 32]);
    protobuf[4..].copy_from_slice(key.as_bytes());
    protobuf
}

/// The libp2p `PrivateKey` protobuf of an Ed25519 key as go-libp2p and Kubo's keystore store
/// it: Type=Ed25519, Data = 32-byte seed followed by the 32-byte public key.
pub fn encode_ed25519_private_key(key: &SigningKey) -> [u8; 68] {
    let mut protobuf = [0u8; 68];
    protobuf[..4].copy_from_slice(&[0x08, KEY_TYPE_ED25519 as u8, 0x12, 64]);
    protobuf[4..].copy_from_slice(&key.to_keypair_bytes());
    protobuf
}

/// Decodes a libp2p `PrivateKey` protobuf holding an Ed25519 key. Accepts go-libp2p's 64-byte
/// form and its legacy 96-byte form (public key repeated); the embedded public key must be the
/// one the seed derives.
pub fn decode_ed25519_private_key(protobuf: &[u8]) -> IpnsResult<SigningKey> {
    let (key_type, data) = decode_key_protobuf(protobuf)?;
    if key_type != KEY_TYPE_ED25519 {
        return err(
            IpnsErrorKind::UnsupportedKeyType,
            format!("private key type {key_type} is not Ed25519"),
        );
    }
    let (seed, public) = match data.len() {
        64 => (&data[..32], &data[32..]),
        96 if data[32..64] == data[64..] => (&data[..32], &data[32..64]),
        _ => return malformed("Ed25519 private key must be 64 bytes"),
    };
    let mut seed_bytes = [0u8; 32];
    seed_bytes.copy_from_slice(seed);
    let key = SigningKey::from_bytes(&seed_bytes);
    seed_bytes.fill(0);
    if key.verifying_key().as_bytes()[..] != *public {
        return malformed("Ed25519 private key's public half does not match its seed");
    }
    Ok(key)
}

/// Decodes a `PublicKey`/`PrivateKey` protobuf into (type, data). Both fields are required;
/// repeated fields take the last value and unknown fields are skipped, as protobuf decoders do.
fn decode_key_protobuf(protobuf: &[u8]) -> IpnsResult<(u64, &[u8])> {
    let mut key_type = None;
    let mut data = None;
    let mut reader = ProtoReader::new(protobuf);
    while let Some((number, field)) = reader.next_field()? {
        match (number, field) {
            (1, ProtoField::Varint(value)) => key_type = Some(value),
            (2, ProtoField::Bytes(range)) => data = Some(&protobuf[range]),
            (1 | 2, _) => return malformed("key protobuf field has the wrong wire type"),
            _ => {}
        }
    }
    match (key_type, data) {
        (Some(key_type), Some(data)) => Ok((key_type, data)),
        _ => malformed("key protobuf lacks Type or Data"),
    }
}

/// The canonical `PublicKey` protobuf for (type, data): what go-libp2p hashes into a peer ID
/// (it re-marshals the key rather than hashing the bytes it received).
fn encode_public_key_protobuf(key_type: u64, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 16);
    write_proto_varint(&mut out, 1, key_type);
    write_proto_bytes(&mut out, 2, data);
    out
}

/// A public key that can verify record signatures.
enum PublicKey {
    Ed25519(VerifyingKey),
    Rsa(RsaPublicKey),
}

impl PublicKey {
    fn from_type_and_data(key_type: u64, data: &[u8]) -> IpnsResult<Self> {
        match key_type {
            KEY_TYPE_ED25519 => {
                let bytes: &[u8; 32] = data.try_into().map_err(|_| {
                    IpnsError::new(IpnsErrorKind::PublicKey, "Ed25519 key is not 32 bytes")
                })?;
                VerifyingKey::from_bytes(bytes)
                    .map(PublicKey::Ed25519)
                    .map_err(|_| IpnsError::new(IpnsErrorKind::PublicKey, "invalid Ed25519 key"))
            }
            KEY_TYPE_RSA => RsaPublicKey::from_pkix_der(data).map(PublicKey::Rsa),
            KEY_TYPE_SECP256K1 | KEY_TYPE_ECDSA => err(
                IpnsErrorKind::UnsupportedKeyType,
                format!("key type {key_type} (secp256k1/ECDSA) is not supported"),
            ),
            _ => err(
                IpnsErrorKind::UnsupportedKeyType,
                format!("unknown key type {key_type}"),
            ),
        }
    }

    fn from_protobuf(protobuf: &[u8]) -> IpnsResult<Self> {
        let (key_type, data) = decode_key_protobuf(protobuf)
            .map_err(|e| IpnsError::new(IpnsErrorKind::PublicKey, e.message))?;
        Self::from_type_and_data(key_type, data)
    }

    /// Verifies `signature` over the concatenation of `parts`.
    fn verify(&self, parts: &[&[u8]], signature: &[u8]) -> bool {
        match self {
            PublicKey::Ed25519(key) => {
                let Ok(signature) = Signature::from_slice(signature) else {
                    return false;
                };
                // go-libp2p uses Go's crypto/ed25519 Verify: cofactorless, canonical S; dalek's
                // `verify` is the same equation. Multipart: no copy of the signed bytes.
                key.multipart_verify(parts, &signature).is_ok()
            }
            PublicKey::Rsa(key) => key.verify_pkcs1v15_sha256(parts, signature),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// RSA (go-libp2p RSA keys: PKIX DER public keys, PKCS#1 v1.5 signatures over SHA-256)
// ---------------------------------------------------------------------------------------------

/// go-libp2p refuses RSA keys outside these sizes (`MinRsaKeyBits`, `maxRsaKeyBits`).
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;
/// DER of AlgorithmIdentifier OID rsaEncryption (1.2.840.113549.1.1.1).
const RSA_ENCRYPTION_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// DER DigestInfo prefix for SHA-256 (RFC 8017 section 9.2 note 1).
const SHA256_DIGEST_INFO: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// An RSA public key: modulus as little-endian 64-bit limbs, public exponent.
struct RsaPublicKey {
    modulus: Vec<u64>,
    exponent: u32,
    modulus_len: usize,
}

impl RsaPublicKey {
    /// Parses a DER SubjectPublicKeyInfo with an rsaEncryption key, as Go's
    /// `x509.ParsePKIXPublicKey` does (NULL parameters required, minimal DER).
    fn from_pkix_der(der: &[u8]) -> IpnsResult<Self> {
        let bad = |what: &'static str| IpnsError::new(IpnsErrorKind::PublicKey, what);
        let mut outer_pos = 0;
        let spki =
            der_read(der, &mut outer_pos, 0x30).ok_or(bad("RSA key is not a DER SEQUENCE"))?;
        if outer_pos != der.len() {
            return Err(bad("trailing bytes after RSA key"));
        }
        let mut pos = 0;
        let algorithm = der_read(spki, &mut pos, 0x30).ok_or(bad("RSA key lacks an algorithm"))?;
        let bit_string = der_read(spki, &mut pos, 0x03).ok_or(bad("RSA key lacks a BIT STRING"))?;
        if pos != spki.len() {
            return Err(bad("trailing bytes in RSA SubjectPublicKeyInfo"));
        }
        let mut alg_pos = 0;
        let oid =
            der_read(algorithm, &mut alg_pos, 0x06).ok_or(bad("RSA algorithm lacks an OID"))?;
        let params =
            der_read(algorithm, &mut alg_pos, 0x05).ok_or(bad("RSA algorithm lacks NULL"))?;
        if oid != RSA_ENCRYPTION_OID || !params.is_empty() || alg_pos != algorithm.len() {
            return Err(IpnsError::new(
                IpnsErrorKind::UnsupportedKeyType,
                "PKIX key is not rsaEncryption",
            ));
        }
        let [0, rsa_key @ ..] = bit_string else {
            return Err(bad("RSA BIT STRING has unused bits"));
        };
        let mut key_pos = 0;
        let sequence =
            der_read(rsa_key, &mut key_pos, 0x30).ok_or(bad("RSAPublicKey is not a SEQUENCE"))?;
        if key_pos != rsa_key.len() {
            return Err(bad("trailing bytes after RSAPublicKey"));
        }
        let mut int_pos = 0;
        let modulus = der_positive_integer(sequence, &mut int_pos).ok_or(bad("bad RSA modulus"))?;
        let exponent =
            der_positive_integer(sequence, &mut int_pos).ok_or(bad("bad RSA exponent"))?;
        if int_pos != sequence.len() {
            return Err(bad("trailing bytes in RSAPublicKey"));
        }
        let bits = modulus.len() * 8 - modulus[0].leading_zeros() as usize;
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(bad("RSA modulus size outside 2048..=8192 bits"));
        }
        if modulus[modulus.len() - 1] & 1 == 0 {
            return Err(bad("RSA modulus is even"));
        }
        // Go's rsa package: 2 <= E <= 2^31 - 1.
        if exponent.len() > 4 {
            return Err(bad("RSA exponent too large"));
        }
        let exponent = exponent
            .iter()
            .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        if !(2..=0x7fff_ffff).contains(&exponent) {
            return Err(bad("RSA exponent out of range"));
        }
        Ok(RsaPublicKey {
            modulus: limbs_from_be(modulus, modulus.len().div_ceil(8)),
            exponent,
            modulus_len: modulus.len(),
        })
    }

    /// RSASSA-PKCS1-v1_5 verification with SHA-256 (RFC 8017 section 8.2.2), as go-libp2p's
    /// `RsaPublicKey.Verify`: the signature is exactly the modulus length and below it, and
    /// the recovered encoding equals `00 01 FF… 00 DigestInfo(SHA-256(message))` exactly.
    fn verify_pkcs1v15_sha256(&self, parts: &[&[u8]], signature: &[u8]) -> bool {
        let k = self.modulus_len;
        if signature.len() != k || k < SHA256_DIGEST_INFO.len() + 32 + 11 {
            return false;
        }
        let limbs = self.modulus.len();
        let s = limbs_from_be(signature, limbs);
        if compare_limbs(&s, &self.modulus) != Ordering::Less {
            return false;
        }
        let m = modpow(&s, self.exponent, &self.modulus);
        let recovered = limbs_to_be(&m, k);

        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        let digest = hasher.finalize();
        let padding_end = k - SHA256_DIGEST_INFO.len() - 32 - 1;
        recovered[0] == 0
            && recovered[1] == 1
            && recovered[2..padding_end].iter().all(|&b| b == 0xff)
            && recovered[padding_end] == 0
            && recovered[padding_end + 1..k - 32] == *SHA256_DIGEST_INFO
            && recovered[k - 32..] == digest[..]
    }
}

/// Reads one DER TLV with the given tag at `*pos` (definite, minimally encoded length).
fn der_read<'a>(input: &'a [u8], pos: &mut usize, tag: u8) -> Option<&'a [u8]> {
    let rest = input.get(*pos..)?;
    let [found_tag, first_len, rest @ ..] = rest else {
        return None;
    };
    if *found_tag != tag {
        return None;
    }
    let (len, header) = if *first_len < 0x80 {
        (usize::from(*first_len), 2)
    } else {
        let count = usize::from(first_len & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        // DER: long form only for lengths >= 128, without leading zero bytes.
        if len < 0x80 || rest[0] == 0 {
            return None;
        }
        (len, 2 + count)
    };
    let start = *pos + header;
    let end = start.checked_add(len)?;
    let value = input.get(start..end)?;
    *pos = end;
    Some(value)
}

/// Reads a DER INTEGER that must be positive; returns its magnitude without the sign byte.
fn der_positive_integer<'a>(input: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let value = der_read(input, pos, 0x02)?;
    match value {
        [] => None,
        [first, ..] if first & 0x80 != 0 => None, // negative
        [0] => None,                              // zero
        [0, second, ..] if second & 0x80 == 0 => None, // non-minimal
        [0, rest @ ..] => Some(rest),
        _ => Some(value),
    }
}

/// Big-endian bytes to `limbs` little-endian 64-bit limbs (bytes must fit).
fn limbs_from_be(bytes: &[u8], limbs: usize) -> Vec<u64> {
    let mut out = vec![0u64; limbs];
    for (i, &byte) in bytes.iter().rev().enumerate() {
        if let Some(limb) = out.get_mut(i / 8) {
            *limb |= u64::from(byte) << (8 * (i % 8));
        }
    }
    out
}

/// Little-endian limbs to exactly `len` big-endian bytes (high bytes beyond `len` dropped;
/// callers pass values below a `len`-byte modulus).
fn limbs_to_be(limbs: &[u64], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    for (i, byte) in out.iter_mut().rev().enumerate() {
        if let Some(limb) = limbs.get(i / 8) {
            *byte = (limb >> (8 * (i % 8))) as u8;
        }
    }
    out
}

fn compare_limbs(a: &[u64], b: &[u64]) -> Ordering {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        match x.cmp(y) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    Ordering::Equal
}

/// `a -= b`, returning the borrow.
fn sub_limbs(a: &mut [u64], b: &[u64]) -> bool {
    let mut borrow = false;
    for (x, &y) in a.iter_mut().zip(b) {
        let (d1, b1) = x.overflowing_sub(y);
        let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
        *x = d2;
        borrow = b1 || b2;
    }
    borrow
}

/// Montgomery multiplication (CIOS): `out = a * b / R mod n`, R = 2^(64·limbs), for odd n and
/// a, b < n. `scratch` holds limbs + 2 words.
fn mont_mul(a: &[u64], b: &[u64], n: &[u64], n0_inv: u64, scratch: &mut [u64], out: &mut [u64]) {
    let limbs = n.len();
    scratch.fill(0);
    for &b_i in b {
        let mut carry = 0u64;
        for j in 0..limbs {
            let sum =
                u128::from(scratch[j]) + u128::from(a[j]) * u128::from(b_i) + u128::from(carry);
            scratch[j] = sum as u64;
            carry = (sum >> 64) as u64;
        }
        let sum = u128::from(scratch[limbs]) + u128::from(carry);
        scratch[limbs] = sum as u64;
        scratch[limbs + 1] = (sum >> 64) as u64;

        let m = scratch[0].wrapping_mul(n0_inv);
        let sum = u128::from(scratch[0]) + u128::from(m) * u128::from(n[0]);
        let mut carry = (sum >> 64) as u64;
        for j in 1..limbs {
            let sum = u128::from(scratch[j]) + u128::from(m) * u128::from(n[j]) + u128::from(carry);
            scratch[j - 1] = sum as u64;
            carry = (sum >> 64) as u64;
        }
        let sum = u128::from(scratch[limbs]) + u128::from(carry);
        scratch[limbs - 1] = sum as u64;
        scratch[limbs] = scratch[limbs + 1] + (sum >> 64) as u64;
        scratch[limbs + 1] = 0;
    }
    // The result is below 2n; one conditional subtraction brings it below n.
    if scratch[limbs] != 0 || compare_limbs(&scratch[..limbs], n) != Ordering::Less {
        sub_limbs(&mut scratch[..limbs], n);
    }
    out.copy_from_slice(&scratch[..limbs]);
}

/// `base^exponent mod n` for odd n and base < n.
fn modpow(base: &[u64], exponent: u32, n: &[u64]) -> Vec<u64> {
    let limbs = n.len();
    // -n^-1 mod 2^64 by Newton iteration; n0 itself is correct to 3 bits for odd n and each
    // step doubles the correct bits (3, 6, 12, 24, 48, 96).
    let mut inverse = n[0];
    for _ in 0..5 {
        inverse = inverse.wrapping_mul(2u64.wrapping_sub(n[0].wrapping_mul(inverse)));
    }
    let n0_inv = inverse.wrapping_neg();

    // R^2 mod n by doubling 1 through 2·64·limbs steps; each step keeps the value below n.
    let mut r_squared = vec![0u64; limbs];
    r_squared[0] = 1;
    for _ in 0..2 * 64 * limbs {
        let mut carry = 0u64;
        for limb in r_squared.iter_mut() {
            let next = *limb >> 63;
            *limb = (*limb << 1) | carry;
            carry = next;
        }
        if carry != 0 || compare_limbs(&r_squared, n) != Ordering::Less {
            sub_limbs(&mut r_squared, n);
        }
    }

    let mut scratch = vec![0u64; limbs + 2];
    let mut base_mont = vec![0u64; limbs];
    mont_mul(base, &r_squared, n, n0_inv, &mut scratch, &mut base_mont);
    let mut acc = base_mont.clone();
    let mut tmp = vec![0u64; limbs];
    let top_bit = 31 - exponent.leading_zeros();
    for bit in (0..top_bit).rev() {
        mont_mul(&acc, &acc, n, n0_inv, &mut scratch, &mut tmp);
        std::mem::swap(&mut acc, &mut tmp);
        if exponent >> bit & 1 == 1 {
            mont_mul(&acc, &base_mont, n, n0_inv, &mut scratch, &mut tmp);
            std::mem::swap(&mut acc, &mut tmp);
        }
    }
    let mut one = vec![0u64; limbs];
    one[0] = 1;
    mont_mul(&acc, &one, n, n0_inv, &mut scratch, &mut tmp);
    tmp
}

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

/// A parsed IPNS record (`IpnsEntry`). Holds the exact bytes it was parsed from; every field
/// is a zero-copy slice of them. Parsing checks structure only; [`Record::validate`] checks
/// signature, consistency and expiry.
#[derive(Clone)]
pub struct Record {
    raw: Bytes,
    // Protobuf fields; an absent bytes field is empty, as protobuf getters return it.
    pb_value: Bytes,
    signature_v1: Bytes,
    pb_validity_type: Option<i32>,
    pb_validity: Bytes,
    pb_sequence: Option<u64>,
    pb_ttl: Option<u64>,
    pub_key: Bytes,
    signature_v2: Bytes,
    data: Bytes,
    // The signed DAG-CBOR fields of `data`. Integers are int64 as boxo writes them (it casts
    // the uint64 sequence to int64, so a sequence of 2^63 or more is a negative CBOR int).
    value: Bytes,
    validity: Bytes,
    validity_type: i64,
    sequence: i64,
    ttl: i64,
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("value", &String::from_utf8_lossy(&self.value))
            .field("validity", &String::from_utf8_lossy(&self.validity))
            .field("validity_type", &self.validity_type)
            .field("sequence", &self.sequence())
            .field("ttl_ns", &self.ttl)
            .field("has_v1_fields", &self.has_v1_fields())
            .field("size", &self.raw.len())
            .finish()
    }
}

impl Record {
    /// Parses a serialized record. Refuses records over [`MAX_RECORD_SIZE`], protobuf or
    /// DAG-CBOR that does not decode, V1-only records (no `signatureV2` or `data`), and `data`
    /// lacking any of `Value`, `Validity`, `ValidityType`, `Sequence`, `TTL` or holding them
    /// with the wrong CBOR types. Does not verify anything: call [`Record::validate`].
    pub fn from_bytes(raw: Bytes) -> IpnsResult<Record> {
        // IPNS spec verification step 1: size before parsing.
        if raw.len() > MAX_RECORD_SIZE {
            return err(
                IpnsErrorKind::TooLarge,
                format!(
                    "{} bytes is over the {MAX_RECORD_SIZE}-byte limit",
                    raw.len()
                ),
            );
        }
        let mut pb_value = Bytes::new();
        let mut signature_v1 = Bytes::new();
        let mut pb_validity_type = None;
        let mut pb_validity = Bytes::new();
        let mut pb_sequence = None;
        let mut pb_ttl = None;
        let mut pub_key = Bytes::new();
        let mut signature_v2 = Bytes::new();
        let mut data = Bytes::new();
        let mut reader = ProtoReader::new(&raw);
        while let Some((number, field)) = reader.next_field()? {
            // Repeated occurrences replace earlier ones (protobuf "last one wins"), as in Go.
            match (number, field) {
                (1, ProtoField::Bytes(range)) => pb_value = raw.slice(range),
                (2, ProtoField::Bytes(range)) => signature_v1 = raw.slice(range),
                // An enum is an int32 on the wire; Go truncates the varint to 32 bits.
                (3, ProtoField::Varint(value)) => pb_validity_type = Some(value as i32),
                (4, ProtoField::Bytes(range)) => pb_validity = raw.slice(range),
                (5, ProtoField::Varint(value)) => pb_sequence = Some(value),
                (6, ProtoField::Varint(value)) => pb_ttl = Some(value),
                (7, ProtoField::Bytes(range)) => pub_key = raw.slice(range),
                (8, ProtoField::Bytes(range)) => signature_v2 = raw.slice(range),
                (9, ProtoField::Bytes(range)) => data = raw.slice(range),
                (1..=9, _) => {
                    return malformed(format!("IpnsEntry field {number} has the wrong wire type"))
                }
                _ => {} // unknown fields: ignored for forward compatibility
            }
        }
        // Step 2: signatureV2 and data present and non-empty.
        if signature_v2.is_empty() || data.is_empty() {
            return err(
                IpnsErrorKind::MissingSignatureV2,
                "record lacks signatureV2 or data (legacy V1-only records are not trusted, IPIP-428)",
            );
        }
        // Step 4: data must be DAG-CBOR.
        let fields = decode_data(&data)?;
        Ok(Record {
            value: data.slice(fields.value),
            validity: data.slice(fields.validity),
            validity_type: fields.validity_type,
            sequence: fields.sequence,
            ttl: fields.ttl,
            raw,
            pb_value,
            signature_v1,
            pb_validity_type,
            pb_validity,
            pb_sequence,
            pb_ttl,
            pub_key,
            signature_v2,
            data,
        })
    }

    /// Creates and signs a record, as boxo's `NewRecord` does: DAG-CBOR `data` with `TTL`,
    /// `Value`, `Sequence`, `Validity`, `ValidityType` (canonical key order), SignatureV2 over
    /// `"ipns-signature:" ++ data`; with `include_v1`, the legacy protobuf copies and a V1
    /// signature over `value ++ validity ++ "EOL"` (boxo's default, for pre-0.9 nodes). No
    /// `pubKey`: an Ed25519 key is inlined in its name. `value` must be a content path
    /// (`/ipfs/<cid>[/path]`, `/ipns/<name>[/path]`, `/ipld/<cid>[/path]`).
    pub fn create(
        signing_key: &SigningKey,
        value: &str,
        sequence: u64,
        validity: SystemTime,
        ttl: Duration,
        include_v1: bool,
    ) -> IpnsResult<Record> {
        check_content_path(value)?;
        let validity_text = format_rfc3339_nano(validity)?;
        // boxo stores TTL as a Go time.Duration (int64 nanoseconds) and the sequence through
        // an int64 cast; do the same so Go decoders read the identical numbers back.
        let ttl_ns = i64::try_from(ttl.as_nanos()).unwrap_or(i64::MAX);
        let data = encode_data(
            value.as_bytes(),
            validity_text.as_bytes(),
            sequence as i64,
            ttl_ns,
        );
        let signature_v2 = signing_key.sign(&[SIGNATURE_V2_PREFIX, &data].concat());

        let mut protobuf = Vec::with_capacity(data.len() + 2 * value.len() + 256);
        if include_v1 {
            let signature_v1 = signing_key.sign(
                &[
                    value.as_bytes(),
                    validity_text.as_bytes(),
                    V1_VALIDITY_TYPE_EOL,
                ]
                .concat(),
            );
            write_proto_bytes(&mut protobuf, 1, value.as_bytes());
            write_proto_bytes(&mut protobuf, 2, &signature_v1.to_bytes());
            write_proto_varint(&mut protobuf, 3, 0);
            write_proto_bytes(&mut protobuf, 4, validity_text.as_bytes());
            write_proto_varint(&mut protobuf, 5, sequence);
            write_proto_varint(&mut protobuf, 6, ttl_ns as u64);
        }
        write_proto_bytes(&mut protobuf, 8, &signature_v2.to_bytes());
        write_proto_bytes(&mut protobuf, 9, &data);
        Record::from_bytes(Bytes::from(protobuf))
    }

    /// Verifies the record for `name` at time `now`, following the IPNS spec "Record
    /// Verification" steps in order and failing on the first error (boxo `ValidateWithName`):
    /// public key (`pubKey` hashing to the name, else the key inlined in the name), then
    /// SignatureV2 over `"ipns-signature:" ++ data`, then — if `signatureV1` or `value` is
    /// present — equality of the five V1 protobuf fields with the CBOR ones, then validity type
    /// EOL with EOL not before `now`, then a non-negative TTL. SignatureV1 is never checked.
    pub fn validate(&self, name: &IpnsName, now: SystemTime) -> IpnsResult<()> {
        // Steps 1, 2 and 4 ran in `from_bytes`.
        let key = self.public_key_for(name)?; // step 3
        if !key.verify(&[SIGNATURE_V2_PREFIX, &self.data], &self.signature_v2) {
            return err(IpnsErrorKind::BadSignature, "signatureV2 does not verify");
            // 5, 6
        }
        if !self.signature_v1.is_empty() || !self.pb_value.is_empty() {
            self.check_v1_fields_match()?; // step 7
        }
        let eol = self.validity()?; // step 8
        if now > eol {
            return err(
                IpnsErrorKind::Expired,
                format!("EOL {} has passed", String::from_utf8_lossy(&self.validity)),
            );
        }
        if self.ttl < 0 {
            return malformed("negative TTL");
        }
        Ok(())
    }

    /// Step 3: the key to verify with (boxo `ExtractPublicKey`).
    fn public_key_for(&self, name: &IpnsName) -> IpnsResult<PublicKey> {
        if self.pub_key.is_empty() {
            let Some(inline) = name.inline_public_key_protobuf() else {
                return err(
                    IpnsErrorKind::PublicKey,
                    "name is a key hash and the record carries no pubKey",
                );
            };
            return PublicKey::from_protobuf(inline);
        }
        let (key_type, data) = decode_key_protobuf(&self.pub_key)
            .map_err(|e| IpnsError::new(IpnsErrorKind::PublicKey, e.message))?;
        let derived =
            IpnsName::from_public_key_protobuf(&encode_public_key_protobuf(key_type, data));
        if derived != *name {
            return err(
                IpnsErrorKind::PublicKey,
                format!("record pubKey belongs to {derived}, not {name}"),
            );
        }
        PublicKey::from_type_and_data(key_type, data)
    }

    /// Step 7 (boxo `validateCborDataMatchesPbData`): absent protobuf fields compare as their
    /// zero values, as Go's getters return them.
    fn check_v1_fields_match(&self) -> IpnsResult<()> {
        let mismatch = |field: &'static str| {
            IpnsError::new(
                IpnsErrorKind::V1Mismatch,
                format!("field \"{field}\" differs between protobuf and CBOR"),
            )
        };
        if self.pb_value != self.value {
            return Err(mismatch("Value"));
        }
        if self.pb_validity != self.validity {
            return Err(mismatch("Validity"));
        }
        if i64::from(self.pb_validity_type.unwrap_or(0)) != self.validity_type {
            return Err(mismatch("ValidityType"));
        }
        if self.pb_sequence.unwrap_or(0) != self.sequence as u64 {
            return Err(mismatch("Sequence"));
        }
        if self.pb_ttl.unwrap_or(0) != self.ttl as u64 {
            return Err(mismatch("TTL"));
        }
        Ok(())
    }

    /// The content path the record points at (boxo `Record.Value`): the signed `Value` when
    /// it is a path; a binary CID (legacy) as `/ipfs/<cid>`; empty as [`NOOP_VALUE`].
    pub fn value(&self) -> IpnsResult<Cow<'_, str>> {
        if self.value.is_empty() {
            return Ok(Cow::Borrowed(NOOP_VALUE));
        }
        if self.value[0] == b'/' {
            let text = std::str::from_utf8(&self.value)
                .map_err(|_| IpnsError::new(IpnsErrorKind::InvalidValue, "Value is not UTF-8"))?;
            check_content_path(text)?;
            return Ok(Cow::Borrowed(text));
        }
        let cid = Cid::try_from(&self.value[..]).map_err(|e| {
            IpnsError::new(
                IpnsErrorKind::InvalidValue,
                format!("Value is neither a path nor a CID: {e}"),
            )
        })?;
        Ok(Cow::Owned(format!("/ipfs/{cid}")))
    }

    /// The signed `Value` bytes as stored.
    pub fn value_bytes(&self) -> &Bytes {
        &self.value
    }

    /// The signed sequence number (boxo casts the CBOR int64 back to uint64).
    pub fn sequence(&self) -> u64 {
        self.sequence as u64
    }

    /// The signed TTL; a negative TTL (refused by [`Record::validate`]) reads as zero.
    pub fn ttl(&self) -> Duration {
        Duration::from_nanos(u64::try_from(self.ttl).unwrap_or(0))
    }

    /// The EOL: the signed `Validity` parsed as RFC 3339, when `ValidityType` is EOL.
    pub fn validity(&self) -> IpnsResult<SystemTime> {
        if self.validity_type != 0 {
            return err(
                IpnsErrorKind::UnsupportedValidityType,
                format!("validity type {}", self.validity_type),
            );
        }
        parse_rfc3339(&self.validity)
    }

    /// The signed `Validity` bytes as stored (an RFC 3339 timestamp for EOL records).
    pub fn validity_text(&self) -> &Bytes {
        &self.validity
    }

    /// Whether any legacy V1 protobuf field is present.
    pub fn has_v1_fields(&self) -> bool {
        !self.pb_value.is_empty()
            || !self.signature_v1.is_empty()
            || self.pb_validity_type.is_some()
            || !self.pb_validity.is_empty()
            || self.pb_sequence.is_some()
            || self.pb_ttl.is_some()
    }

    /// The embedded `pubKey` protobuf (empty when the key is inlined in the name).
    pub fn public_key_bytes(&self) -> &Bytes {
        &self.pub_key
    }

    /// The signed DAG-CBOR `data` bytes.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// The exact serialized record, for serving as `application/vnd.ipfs.ipns-record`.
    pub fn to_bytes(&self) -> Bytes {
        self.raw.clone()
    }

    /// Orders two records of the same name by freshness, as boxo's record selection does:
    /// higher sequence wins, then later EOL (an unparsable EOL loses), then the bytewise
    /// larger serialization, so the choice is deterministic. Does not validate.
    pub fn cmp_freshness(&self, other: &Record) -> Ordering {
        self.sequence()
            .cmp(&other.sequence())
            .then_with(|| match (self.validity(), other.validity()) {
                (Ok(a), Ok(b)) => a.cmp(&b),
                (Ok(_), Err(_)) => Ordering::Greater,
                (Err(_), Ok(_)) => Ordering::Less,
                (Err(_), Err(_)) => Ordering::Equal,
            })
            .then_with(|| self.raw.cmp(&other.raw))
    }
}

/// Checks that `text` is a content path boxo's `path.NewPath` accepts for a record value:
/// `/ipfs/<cid>…` or `/ipld/<cid>…` with a parsable CID, or `/ipns/<non-empty>…`.
fn check_content_path(text: &str) -> IpnsResult<()> {
    let bad = |why: &str| {
        Err(IpnsError::new(
            IpnsErrorKind::InvalidValue,
            format!("{why}: {:?}", text.chars().take(128).collect::<String>()),
        ))
    };
    let Some(rest) = text.strip_prefix('/') else {
        return bad("value does not start with /");
    };
    let (namespace, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let root = rest.split('/').next().unwrap_or("");
    if root.is_empty() {
        return bad("value has no root after the namespace");
    }
    match namespace {
        "ipfs" | "ipld" => match Cid::try_from(root) {
            Ok(_) => Ok(()),
            Err(_) => bad("value root is not a CID"),
        },
        "ipns" => Ok(()),
        _ => bad("value namespace is not ipfs, ipns or ipld"),
    }
}

// ---------------------------------------------------------------------------------------------
// Protobuf wire format
// ---------------------------------------------------------------------------------------------

enum ProtoField {
    Varint(u64),
    Bytes(Range<usize>),
    Fixed,
}

struct ProtoReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> ProtoReader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        ProtoReader { bytes, pos: 0 }
    }

    /// The next (field number, value), or `None` at the end.
    fn next_field(&mut self) -> IpnsResult<Option<(u64, ProtoField)>> {
        if self.pos == self.bytes.len() {
            return Ok(None);
        }
        let tag = read_varint(self.bytes, &mut self.pos)?;
        let number = tag >> 3;
        if number == 0 || number > (1 << 29) - 1 {
            return malformed("protobuf field number out of range");
        }
        let field = match tag & 7 {
            0 => ProtoField::Varint(read_varint(self.bytes, &mut self.pos)?),
            2 => {
                let len = read_varint(self.bytes, &mut self.pos)?;
                let remaining = (self.bytes.len() - self.pos) as u64;
                if len > remaining {
                    return malformed("protobuf length runs past the end");
                }
                let start = self.pos;
                self.pos += len as usize;
                ProtoField::Bytes(start..self.pos)
            }
            wire @ (1 | 5) => {
                let width = if wire == 1 { 8 } else { 4 };
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
fn read_varint(bytes: &[u8], pos: &mut usize) -> IpnsResult<u64> {
    match varint::decode_at(bytes, *pos) {
        Ok((value, used)) => {
            *pos += used;
            Ok(value)
        }
        Err(VarintError::Truncated) => malformed("truncated varint"),
        Err(_) => malformed("varint overflows 64 bits"),
    }
}

fn write_proto_bytes(out: &mut Vec<u8>, number: u8, bytes: &[u8]) {
    protobuf::put_bytes_field(out, protobuf::tag(number, protobuf::WIRE_LEN), bytes);
}

fn write_proto_varint(out: &mut Vec<u8>, number: u8, value: u64) {
    protobuf::put_varint_field(out, protobuf::tag(number, protobuf::WIRE_VARINT), value);
}

// ---------------------------------------------------------------------------------------------
// DAG-CBOR `data`
// ---------------------------------------------------------------------------------------------

/// The five signed fields, as ranges of `data` (bytes) or int64 values.
struct DataFields {
    value: Range<usize>,
    validity: Range<usize>,
    validity_type: i64,
    sequence: i64,
    ttl: i64,
}

/// Nesting allowed inside extension values (the record's own fields are flat).
const MAX_CBOR_DEPTH: usize = 16;

/// Encodes the `data` map with keys in DAG-CBOR canonical order (length first, then
/// bytewise): TTL, Value, Sequence, Validity, ValidityType.
fn encode_data(value: &[u8], validity: &[u8], sequence: i64, ttl_ns: i64) -> Vec<u8> {
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

fn write_cbor_text(out: &mut Vec<u8>, text: &str) {
    cbor::write_head(out, 3, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

fn write_cbor_int(out: &mut Vec<u8>, value: i64) {
    if value >= 0 {
        cbor::write_head(out, cbor::MAJOR_UINT, value as u64);
    } else {
        cbor::write_head(out, cbor::MAJOR_NEGATIVE, (-1 - value) as u64);
    }
}

/// One decoded CBOR head.
enum CborHead {
    /// Major types 0–6 with their argument.
    Major(u8, u64),
    /// `false`, `true`, `null` or a float64 (the only major-7 items DAG-CBOR allows).
    Simple,
}

struct CborReader<'a> {
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
fn decode_data(data: &[u8]) -> IpnsResult<DataFields> {
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
fn reject_duplicate_keys(data: &[u8], keys: &mut [Range<usize>]) -> IpnsResult<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    const FIXTURES: &str = crate::test_support::FIXTURES;

    /// RFC 8032 section 7.1 test 1 key.
    const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    fn at(text: &str) -> SystemTime {
        parse_rfc3339(text.as_bytes()).unwrap()
    }

    /// A fixed "now" before every fixture's EOL (they are valid for 100 years from 2023).
    fn fixed_now() -> SystemTime {
        at("2025-06-01T00:00:00Z")
    }

    fn test_key() -> SigningKey {
        let seed: [u8; 32] = hex::decode(SEED).unwrap().try_into().unwrap();
        SigningKey::from_bytes(&seed)
    }

    /// A fixture's name (file name up to the first `_` or the extension) and bytes.
    fn load(relative: &str) -> (IpnsName, Bytes) {
        let path = Path::new(FIXTURES).join(relative);
        let file = path.file_name().unwrap().to_str().unwrap();
        let name = file.split(['_', '.']).next().unwrap();
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        (IpnsName::parse(name).unwrap(), Bytes::from(bytes))
    }

    fn verdict(relative: &str, now: SystemTime) -> IpnsResult<String> {
        let (name, bytes) = load(relative);
        let record = Record::from_bytes(bytes)?;
        record.validate(&name, now)?;
        Ok(record.value()?.into_owned())
    }

    // ---- conformance fixtures ----

    #[test]
    fn ipip_428_test_vectors_give_the_specified_verdicts() {
        let dir = "ipns_records/";
        let cases: [(&str, Result<&str, IpnsErrorKind>); 6] = [
            (
                "k51qzi5uqu5dm4tm0wt8srkg9h9suud4wuiwjimndrkydqm81cqtlb5ak6p7ku_v1",
                Err(IpnsErrorKind::MissingSignatureV2),
            ),
            (
                "k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w_v1-v2",
                Ok("/ipfs/bafkqaddwgevxmmraojswg33smq"),
            ),
            (
                "k51qzi5uqu5dlmit2tuwdvnx4sbnyqgmvbxftl0eo3f33wwtb9gr7yozae9kpw_v1-v2-broken-v1-value",
                Err(IpnsErrorKind::V1Mismatch),
            ),
            (
                "k51qzi5uqu5dilgf7gorsh9vcqqq4myo6jd4zmqkuy9pxyxi5fua3uf7axph4y_v1-v2-broken-signature-v1",
                Ok("/ipfs/bafkqahtwgevxmmrao5uxi2bamjzg623fnyqhg2lhnzqxi5lsmuqhmmi"),
            ),
            (
                "k51qzi5uqu5diamp7qnnvs1p1gzmku3eijkeijs3418j23j077zrkok63xdm8c_v1-v2-broken-signature-v2",
                Err(IpnsErrorKind::BadSignature),
            ),
            (
                "k51qzi5uqu5dit2ku9mutlfgwyz8u730on38kd10m97m36bjt66my99hb6103f_v2",
                Ok("/ipfs/bafkqadtwgiww63tmpeqhezldn5zgi"),
            ),
        ];
        for (file, expected) in cases {
            let got = verdict(&format!("{dir}{file}.ipns-record"), fixed_now());
            match (expected, &got) {
                (Ok(value), Ok(got)) => assert_eq!(got, value, "{file}"),
                (Err(kind), Err(e)) => assert_eq!(e.kind(), kind, "{file}: {e}"),
                _ => panic!("{file}: expected {expected:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn every_other_conformance_record_validates_to_its_readme_value() {
        let root1 = "/ipfs/bafybeib3ffl2teiqdncv3mkz4r23b5ctrwkzrrhctdbne6iboayxuxk5ui";
        let hello = "/ipfs/bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am";
        let cases = [
            (
                "gateway-cache/k51qzi5uqu5dlxdsdu5fpuu7h69wu4ohp32iwm9pdt9nq3y5rpn3ln9j12zfhe",
                root1.to_string(),
            ),
            (
                "gateway-cache/k51qzi5uqu5djokp3m1keo36hoxtd6u3a1d2rg1camf6al7p3huy63dojlm57c",
                format!("{root1}/root2"),
            ),
            (
                "subdomain_gateway/12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2d",
                hello.to_string(),
            ),
            // RSA: the key travels in pubKey and hashes (sha2-256) to the name.
            (
                "subdomain_gateway/QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3",
                hello.to_string(),
            ),
            (
                "path_gateway_dag/k51qzi5uqu5dghjous0agrwavl8vzl64xckoqzwqeqwudfr74kfd11zcyk3b7l",
                "/ipfs/bafyreibs4utpgbn7uqegmd2goqz4bkyflre2ek2iwv743fhvylwi4zeeim".to_string(),
            ),
            (
                "path_gateway_dag/k51qzi5uqu5dhjghbwdvbo6mi40htrq6e2z4pwgp15pgv3ho1azvidttzh8yy2",
                "/ipfs/baguqeeram5ujjqrwheyaty3w5gdsmoz6vittchvhk723jjqxk7hakxkd47xq".to_string(),
            ),
            (
                "_tooling/tooling/ipns/_fixtures/k51qzi5uqu5dgh7y9l90nqs6tvnzcm9erbt8fhzg3fu79p5qt9zb2izvfu51ki",
                "/ipfs/bafyaaeykceeaeeqlnbswy3dpo5xxe3debimaw".to_string(),
            ),
            (
                "_tooling/tooling/ipns/_fixtures/k51qzi5uqu5dh71qgwangrt6r0nd4094i88nsady6qgd1dhjcyfsaqmpp143ab",
                "/ipfs/bafkreidfdrlkeq4m4xnxuyx6iae76fdm4wgl5d4xzsb77ixhyqwumhz244".to_string(),
            ),
            (
                "_tooling/tooling/ipns/_fixtures/12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2d",
                hello.to_string(),
            ),
            (
                "_tooling/tooling/ipns/_fixtures/QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3",
                hello.to_string(),
            ),
        ];
        for (file, value) in cases {
            let got = verdict(&format!("{file}.ipns-record"), fixed_now());
            assert_eq!(got.as_deref(), Ok(value.as_str()), "{file}");
        }
        // The fixtures validate today too (100-year lifetimes).
        let got = verdict(
            "ipns_records/k51qzi5uqu5dit2ku9mutlfgwyz8u730on38kd10m97m36bjt66my99hb6103f_v2.ipns-record",
            SystemTime::now(),
        );
        assert!(got.is_ok(), "{got:?}");
    }

    #[test]
    fn fixture_fields_match_the_conformance_tooling() {
        // tooling/ipns/ipns_test.go: validity after 2123-03-01T01:00:00.801257Z.
        let (name, bytes) = load(
            "_tooling/tooling/ipns/_fixtures/k51qzi5uqu5dgh7y9l90nqs6tvnzcm9erbt8fhzg3fu79p5qt9zb2izvfu51ki.ipns-record",
        );
        let record = Record::from_bytes(bytes.clone()).unwrap();
        assert!(record.validity().unwrap() > at("2123-03-01T01:00:00.801257Z"));
        assert!(record.has_v1_fields());
        assert!(record.public_key_bytes().is_empty());
        assert_eq!(record.to_bytes(), bytes);
        assert_eq!(
            name.to_base36(),
            "k51qzi5uqu5dgh7y9l90nqs6tvnzcm9erbt8fhzg3fu79p5qt9zb2izvfu51ki"
        );
        // The RSA fixture embeds its key; the key hashes to the name.
        let (rsa_name, rsa_bytes) =
            load("subdomain_gateway/QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3.ipns-record");
        let rsa = Record::from_bytes(rsa_bytes).unwrap();
        assert_eq!(
            IpnsName::from_public_key_protobuf(rsa.public_key_bytes()),
            rsa_name
        );
        assert!(rsa.validity().unwrap() > at("2123-01-01T00:00:00Z"));
    }

    #[test]
    fn v1_signature_is_over_value_validity_and_the_enum_name() {
        // Confirms boxo's recordDataForSignatureV1 (value ++ validity ++ "EOL") against the
        // vectors: valid in the v1-v2 record, broken in the broken-signature-v1 one.
        for (file, v1_valid) in [
            ("k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w_v1-v2", true),
            ("k51qzi5uqu5dilgf7gorsh9vcqqq4myo6jd4zmqkuy9pxyxi5fua3uf7axph4y_v1-v2-broken-signature-v1", false),
        ] {
            let (name, bytes) = load(&format!("ipns_records/{file}.ipns-record"));
            let record = Record::from_bytes(bytes).unwrap();
            let key = record.public_key_for(&name).unwrap();
            let ok = key.verify(
                &[&record.pb_value, &record.pb_validity, b"EOL"],
                &record.signature_v1,
            );
            assert_eq!(ok, v1_valid, "{file}");
        }
    }

    #[test]
    fn fixtures_expire_after_their_eol_and_not_at_it() {
        let (name, bytes) = load(
            "ipns_records/k51qzi5uqu5dit2ku9mutlfgwyz8u730on38kd10m97m36bjt66my99hb6103f_v2.ipns-record",
        );
        let record = Record::from_bytes(bytes).unwrap();
        let eol = record.validity().unwrap();
        assert_eq!(record.validate(&name, eol), Ok(()));
        let later = eol + Duration::from_nanos(1);
        assert_eq!(
            record.validate(&name, later).unwrap_err().kind(),
            IpnsErrorKind::Expired
        );
    }

    #[test]
    fn records_fail_against_the_wrong_name() {
        let (_, bytes) = load(
            "subdomain_gateway/12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2d.ipns-record",
        );
        let record = Record::from_bytes(bytes).unwrap();
        let other = IpnsName::from_ed25519(&test_key().verifying_key());
        assert_eq!(
            record.validate(&other, fixed_now()).unwrap_err().kind(),
            IpnsErrorKind::BadSignature
        );
        // An RSA record's pubKey must hash to the name it is validated for.
        let (_, rsa_bytes) =
            load("subdomain_gateway/QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3.ipns-record");
        let rsa = Record::from_bytes(rsa_bytes).unwrap();
        assert_eq!(
            rsa.validate(&other, fixed_now()).unwrap_err().kind(),
            IpnsErrorKind::PublicKey
        );
        // A hash name with no pubKey in the record has no key to verify with.
        let hash_name = IpnsName::parse("QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3").unwrap();
        assert_eq!(
            record.validate(&hash_name, fixed_now()).unwrap_err().kind(),
            IpnsErrorKind::PublicKey
        );
    }

    /// Replaces the first occurrence of `from` in `bytes` by `to` (same length).
    fn patched(bytes: &[u8], from: &[u8], to: &[u8]) -> Bytes {
        assert_eq!(from.len(), to.len());
        let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
        let mut out = bytes.to_vec();
        out[at..at + to.len()].copy_from_slice(to);
        Bytes::from(out)
    }

    #[test]
    fn rsa_signatures_detect_tampering() {
        let (name, bytes) =
            load("subdomain_gateway/QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3.ipns-record");
        let record = Record::from_bytes(bytes.clone()).unwrap();
        // Flip one bit in the last byte of signatureV2.
        let signature = record.signature_v2.clone();
        let mut flipped = signature.to_vec();
        *flipped.last_mut().unwrap() ^= 1;
        let tampered = Record::from_bytes(patched(&bytes, &signature, &flipped)).unwrap();
        assert_eq!(
            tampered.validate(&name, fixed_now()).unwrap_err().kind(),
            IpnsErrorKind::BadSignature
        );
        // A signature of the wrong length never verifies.
        let key = record.public_key_for(&name).unwrap();
        assert!(!key.verify(&[SIGNATURE_V2_PREFIX, &record.data], &signature[1..]));
        assert!(key.verify(&[SIGNATURE_V2_PREFIX, &record.data], &signature));
        // The signature equal to the modulus (not below it) is refused.
        let PublicKey::Rsa(rsa) = &key else {
            panic!("not RSA")
        };
        let modulus = limbs_to_be(&rsa.modulus, rsa.modulus_len);
        assert!(!rsa.verify_pkcs1v15_sha256(&[b"x"], &modulus));
    }

    #[test]
    fn tampered_ed25519_records_are_refused_with_the_right_kind() {
        let (name, bytes) = load(
            "ipns_records/k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w_v1-v2.ipns-record",
        );
        let record = Record::from_bytes(bytes.clone()).unwrap();
        assert_eq!(record.validate(&name, fixed_now()), Ok(()));
        // The CBOR copy of the value is signed: changing it breaks signatureV2. The value
        // occurs twice (protobuf first), so patch inside `data`.
        let data = record.data().clone();
        let mut data_patched = data.to_vec();
        let value_at = data_patched.windows(5).position(|w| w == b"/ipfs").unwrap();
        data_patched[value_at + 7] ^= 1;
        let tampered = Record::from_bytes(patched(&bytes, &data, &data_patched)).unwrap();
        assert_eq!(
            tampered.validate(&name, fixed_now()).unwrap_err().kind(),
            IpnsErrorKind::BadSignature
        );
        // The protobuf copy is not signed, but must match the signed one.
        let value = record.pb_value.clone();
        let mut value_patched = value.to_vec();
        value_patched[7] ^= 1;
        let tampered = Record::from_bytes(patched(&bytes, &value, &value_patched)).unwrap();
        assert_eq!(
            tampered.validate(&name, fixed_now()).unwrap_err().kind(),
            IpnsErrorKind::V1Mismatch
        );
        // Truncation anywhere is an error, never a panic.
        for len in 0..bytes.len() {
            let result =
                Record::from_bytes(bytes.slice(..len)).and_then(|r| r.validate(&name, fixed_now()));
            assert!(result.is_err(), "truncated to {len} still validates");
        }
    }

    #[test]
    fn oversized_records_are_refused_before_parsing() {
        let mut bytes = vec![0u8; MAX_RECORD_SIZE + 1];
        bytes[0] = 0xff; // garbage: the size check must come first
        let error = Record::from_bytes(Bytes::from(bytes)).unwrap_err();
        assert_eq!(error.kind(), IpnsErrorKind::TooLarge);
        // Creating a record that would exceed the limit fails the same way.
        let long_value = format!("/ipns/{}", "a".repeat(MAX_RECORD_SIZE));
        let error = Record::create(&test_key(), &long_value, 0, fixed_now(), DEFAULT_TTL, true)
            .unwrap_err();
        assert_eq!(error.kind(), IpnsErrorKind::TooLarge);
    }

    #[test]
    fn random_mutations_never_panic_or_forge() {
        let (name, bytes) = load(
            "ipns_records/k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w_v1-v2.ipns-record",
        );
        let original = Record::from_bytes(bytes.clone()).unwrap();
        let original_value = original.value().unwrap().into_owned();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Each surviving parse costs a signature check (slow in debug builds): keep it modest.
        for _ in 0..400 {
            let mut mutated = bytes.to_vec();
            for _ in 0..1 + next() % 3 {
                let at = (next() as usize) % mutated.len();
                match next() % 3 {
                    0 => mutated[at] ^= 1 << (next() % 8),
                    1 => mutated[at] = next() as u8,
                    _ => {
                        mutated.insert(at, next() as u8);
                    }
                }
            }
            if let Ok(record) = Record::from_bytes(Bytes::from(mutated)) {
                if record.validate(&name, fixed_now()).is_ok() {
                    // Only unsigned, unchecked bytes (signatureV1, unknown fields) may change.
                    assert_eq!(record.value().unwrap(), original_value);
                    assert_eq!(record.data(), original.data());
                }
            }
        }
    }

    // ---- creation ----

    /// Signs arbitrary `data` into a V2-only record (protobuf built by hand).
    fn v2_record(key: &SigningKey, data: &[u8]) -> Bytes {
        let signature = key.sign(&[b"ipns-signature:".as_slice(), data].concat());
        let mut out = Vec::new();
        write_proto_bytes(&mut out, 8, &signature.to_bytes());
        write_proto_bytes(&mut out, 9, data);
        Bytes::from(out)
    }

    #[test]
    fn created_records_have_the_exact_canonical_layout_and_verify_independently() {
        let key = test_key();
        assert_eq!(hex::encode(key.verifying_key().as_bytes()), PUBLIC);
        let name = IpnsName::from_ed25519(&key.verifying_key());
        let record = Record::create(
            &key,
            "/ipfs/bafkqaaa",
            7,
            at("2030-01-01T00:00:00Z"),
            Duration::from_secs(300),
            false,
        )
        .unwrap();
        let expected_data = hex::decode(concat!(
            "a5",
            "6354544c",
            "1b00000045d964b800",
            "6556616c7565",
            "4e",
            "2f697066732f6261666b71616161",
            "6853657175656e6365",
            "07",
            "6856616c6964697479",
            "54",
            "323033302d30312d30315430303a30303a30305a",
            "6c56616c696469747954797065",
            "00",
        ))
        .unwrap();
        let bytes = record.to_bytes();
        // V2-only layout: field 8 (64-byte signature), field 9 (data); no pubKey for Ed25519.
        assert_eq!(bytes[0..2], [0x42, 0x40]);
        assert_eq!(bytes[66..68], [0x4a, expected_data.len() as u8]);
        assert_eq!(bytes[68..], expected_data[..]);
        // Independent verification with dalek directly.
        let verifying =
            VerifyingKey::from_bytes(&hex::decode(PUBLIC).unwrap().try_into().unwrap()).unwrap();
        let signature = Signature::from_slice(&bytes[2..66]).unwrap();
        let mut message = b"ipns-signature:".to_vec();
        message.extend_from_slice(&expected_data);
        verifying.verify_strict(&message, &signature).unwrap();

        assert_eq!(record.validate(&name, fixed_now()), Ok(()));
        assert_eq!(record.value().unwrap(), "/ipfs/bafkqaaa");
        assert_eq!(record.sequence(), 7);
        assert_eq!(record.ttl(), Duration::from_secs(300));
        assert_eq!(record.validity().unwrap(), at("2030-01-01T00:00:00Z"));
        assert!(!record.has_v1_fields());
    }

    #[test]
    fn created_v1_fields_copy_the_cbor_and_carry_a_v1_signature() {
        let key = test_key();
        let name = IpnsName::from_ed25519(&key.verifying_key());
        let value = "/ipfs/bafybeib3ffl2teiqdncv3mkz4r23b5ctrwkzrrhctdbne6iboayxuxk5ui/root2";
        let eol = at("2031-02-03T04:05:06.123456789Z");
        let record = Record::create(&key, value, u64::MAX, eol, DEFAULT_TTL, true).unwrap();
        assert_eq!(record.validate(&name, fixed_now()), Ok(()));
        assert_eq!(record.sequence(), u64::MAX);
        assert_eq!(
            &record.validity_text()[..],
            b"2031-02-03T04:05:06.123456789Z"
        );
        assert_eq!(record.validity().unwrap(), eol);
        assert!(record.has_v1_fields());
        // Layout: field 1 value, then field 2 the V1 signature.
        let bytes = record.to_bytes();
        assert_eq!(bytes[0], 0x0a);
        assert_eq!(usize::from(bytes[1]), value.len());
        assert_eq!(&bytes[2..2 + value.len()], value.as_bytes());
        let v1_at = 2 + value.len();
        assert_eq!(bytes[v1_at..v1_at + 2], [0x12, 0x40]);
        let v1 = Signature::from_slice(&bytes[v1_at + 2..v1_at + 66]).unwrap();
        let message = [value.as_bytes(), b"2031-02-03T04:05:06.123456789Z", b"EOL"].concat();
        key.verifying_key().verify_strict(&message, &v1).unwrap();
        // Sequence 2^64-1 travels as the int64 -1 (CBOR 0x20), as boxo writes it.
        assert!(record.data().windows(9).any(|w| w == b"Sequence\x20"));
    }

    #[test]
    fn create_refuses_values_that_are_not_content_paths() {
        let key = test_key();
        for value in [
            "",
            "ipfs/bafkqaaa",
            "/ipfs/",
            "/ipfs/notacid",
            "/foo/bar",
            "/ipns/",
        ] {
            let error = Record::create(&key, value, 1, fixed_now(), DEFAULT_TTL, true).unwrap_err();
            assert_eq!(error.kind(), IpnsErrorKind::InvalidValue, "{value:?}");
        }
        for value in [
            "/ipns/example.com/a",
            "/ipld/bafkqaaa",
            "/ipfs/QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn/x",
        ] {
            assert!(Record::create(&key, value, 1, fixed_now(), DEFAULT_TTL, true).is_ok());
        }
    }

    // ---- data map rules (hand-built, validly signed records) ----

    fn data_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        cbor::write_head(&mut out, 5, entries.len() as u64);
        for (key, encoded_value) in entries {
            write_cbor_text(&mut out, key);
            out.extend_from_slice(encoded_value);
        }
        out
    }

    fn cbor_bytes(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        cbor::write_head(&mut out, 2, bytes.len() as u64);
        out.extend_from_slice(bytes);
        out
    }

    fn check_data(data: &[u8]) -> IpnsResult<Record> {
        let key = test_key();
        let name = IpnsName::from_ed25519(&key.verifying_key());
        let record = Record::from_bytes(v2_record(&key, data))?;
        record.validate(&name, fixed_now())?;
        Ok(record)
    }

    #[test]
    fn data_map_accepts_extensions_and_any_key_order() {
        let value = cbor_bytes(b"/ipfs/bafkqaaa");
        let validity = cbor_bytes(b"2030-01-01T00:00:00Z");
        let base: Vec<(&str, &[u8])> = vec![
            ("TTL", &[0x01]),
            ("Value", &value),
            ("Sequence", &[0x02]),
            ("Validity", &validity),
            ("ValidityType", &[0x00]),
        ];
        assert!(check_data(&data_with(&base)).is_ok());
        let mut reversed = base.clone();
        reversed.reverse();
        let record = check_data(&data_with(&reversed)).unwrap();
        assert_eq!(record.sequence(), 2);
        // Extension metadata (IPNS spec "Extensible Data"): nested lists/maps, a CID link.
        let link = [&[0xd8, 0x2a, 0x45, 0x00][..], &[0x01, 0x55, 0x00, 0x00]].concat();
        let nested = [&[0x82, 0xa1, 0x61, b'a', 0xf5][..], &link].concat();
        let mut extended = base.clone();
        extended.push(("_meta", &nested));
        extended.push(("_float", &[0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]));
        assert!(check_data(&data_with(&extended)).is_ok());
    }

    #[test]
    fn data_map_violations_are_refused() {
        let value = cbor_bytes(b"/ipfs/bafkqaaa");
        let validity = cbor_bytes(b"2030-01-01T00:00:00Z");
        let text_value = [&[0x6e][..], b"/ipfs/bafkqaaa"].concat();
        let base: Vec<(&str, &[u8])> = vec![
            ("TTL", &[0x01]),
            ("Value", &value),
            ("Sequence", &[0x02]),
            ("Validity", &validity),
            ("ValidityType", &[0x00]),
        ];
        let with = |key: &str, replacement: &'static [u8]| -> Vec<u8> {
            let entries: Vec<(&str, &[u8])> = base
                .iter()
                .map(|&(k, v)| if k == key { (k, replacement) } else { (k, v) })
                .collect();
            data_with(&entries)
        };
        let kind = |data: &[u8]| check_data(data).unwrap_err().kind();
        use IpnsErrorKind::*;
        assert_eq!(
            kind(&with("ValidityType", &[0x01])),
            UnsupportedValidityType
        );
        assert_eq!(kind(&with("TTL", &[0x20])), Malformed); // -1
        assert_eq!(kind(&with("Sequence", &[0x18, 0x02])), Malformed); // non-minimal
        assert_eq!(
            kind(&with("TTL", &[0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0])),
            Malformed
        ); // > i64
        assert_eq!(kind(&with("Sequence", &[0xf9, 0x3c, 0x00])), Malformed); // float16
        let mut text = base.clone();
        text[1] = ("Value", &text_value);
        assert_eq!(kind(&data_with(&text)), Malformed);
        assert_eq!(kind(&data_with(&base[..4])), Malformed); // no ValidityType
        let mut duplicated = base.clone();
        duplicated.push(("Value", &value));
        let mut dup = data_with(&duplicated);
        dup[0] = 0xa6;
        assert_eq!(kind(&data_with(&duplicated)), Malformed);
        let mut dup_ext = base.clone();
        dup_ext.push(("_x", &[0x01]));
        dup_ext.insert(0, ("_x", &[0x02]));
        assert_eq!(kind(&data_with(&dup_ext)), Malformed);
        // Indefinite-length map; trailing bytes; deep nesting; undefined; other tags.
        let mut indefinite = data_with(&base);
        indefinite[0] = 0xbf;
        indefinite.push(0xff);
        assert_eq!(kind(&indefinite), Malformed);
        let mut trailing = data_with(&base);
        trailing.push(0x00);
        assert_eq!(kind(&trailing), Malformed);
        let deep = [vec![0x81; 40], vec![0x00]].concat();
        let mut deep_entries = base.clone();
        deep_entries.push(("_deep", &deep));
        assert_eq!(kind(&data_with(&deep_entries)), Malformed);
        let mut undefined = base.clone();
        undefined.push(("_u", &[0xf7]));
        assert_eq!(kind(&data_with(&undefined)), Malformed);
        let mut tagged = base.clone();
        tagged.push(("_t", &[0xc1, 0x00]));
        assert_eq!(kind(&data_with(&tagged)), Malformed);
        // A huge declared array length ends at the data's end instead of looping.
        let mut huge = base.clone();
        huge.push((
            "_h",
            &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ));
        assert_eq!(kind(&data_with(&huge)), Malformed);
        // Not a map at all.
        assert_eq!(kind(&[0x80]), Malformed);
    }

    #[test]
    fn protobuf_violations_are_refused() {
        let key = test_key();
        let good = Record::create(
            &key,
            "/ipfs/bafkqaaa",
            1,
            fixed_now() + DEFAULT_LIFETIME,
            DEFAULT_TTL,
            false,
        )
        .unwrap()
        .to_bytes();
        let kind = |bytes: Vec<u8>| Record::from_bytes(Bytes::from(bytes)).unwrap_err().kind();
        // Field 9 sent as a varint.
        assert_eq!(
            kind([good.to_vec(), vec![0x48, 0x01]].concat()),
            IpnsErrorKind::Malformed
        );
        // Length past the end.
        assert_eq!(
            kind([good.to_vec(), vec![0x0a, 0x05, 0x00]].concat()),
            IpnsErrorKind::Malformed
        );
        // Varint longer than 64 bits.
        assert_eq!(
            kind([good.to_vec(), vec![0x28], vec![0xff; 10]].concat()),
            IpnsErrorKind::Malformed
        );
        // Group wire type.
        assert_eq!(
            kind([good.to_vec(), vec![0x53]].concat()),
            IpnsErrorKind::Malformed
        );
        // Field number 0.
        assert_eq!(
            kind([good.to_vec(), vec![0x02, 0x00]].concat()),
            IpnsErrorKind::Malformed
        );
        // Unknown fields are skipped, and the record still validates.
        let extended = [
            good.to_vec(),
            vec![0x52, 0x01, 0xaa, 0x59, 1, 2, 3, 4, 5, 6, 7, 8],
        ]
        .concat();
        let record = Record::from_bytes(Bytes::from(extended)).unwrap();
        let name = IpnsName::from_ed25519(&key.verifying_key());
        assert_eq!(record.validate(&name, fixed_now()), Ok(()));
        // Empty input and V1-only input.
        assert_eq!(kind(vec![]), IpnsErrorKind::MissingSignatureV2);
        assert_eq!(
            kind(vec![0x0a, 0x01, b'/']),
            IpnsErrorKind::MissingSignatureV2
        );
    }

    #[test]
    fn embedded_pubkey_must_match_the_name_even_for_ed25519() {
        let key = test_key();
        let name = IpnsName::from_ed25519(&key.verifying_key());
        let record = Record::create(
            &key,
            "/ipfs/bafkqaaa",
            1,
            fixed_now() + DEFAULT_LIFETIME,
            DEFAULT_TTL,
            false,
        )
        .unwrap();
        let mut with_key = record.to_bytes().to_vec();
        write_proto_bytes(
            &mut with_key,
            7,
            &ed25519_public_key_protobuf(&key.verifying_key()),
        );
        let with_key = Record::from_bytes(Bytes::from(with_key)).unwrap();
        assert_eq!(with_key.validate(&name, fixed_now()), Ok(()));
        let other = SigningKey::from_bytes(&[9u8; 32]);
        let mut wrong_key = record.to_bytes().to_vec();
        write_proto_bytes(
            &mut wrong_key,
            7,
            &ed25519_public_key_protobuf(&other.verifying_key()),
        );
        let wrong_key = Record::from_bytes(Bytes::from(wrong_key)).unwrap();
        assert_eq!(
            wrong_key.validate(&name, fixed_now()).unwrap_err().kind(),
            IpnsErrorKind::PublicKey
        );
        let mut garbage = record.to_bytes().to_vec();
        write_proto_bytes(&mut garbage, 7, &[0xff]);
        let garbage = Record::from_bytes(Bytes::from(garbage)).unwrap();
        assert_eq!(
            garbage.validate(&name, fixed_now()).unwrap_err().kind(),
            IpnsErrorKind::PublicKey
        );
    }

    #[test]
    fn freshness_prefers_sequence_then_eol() {
        let key = test_key();
        let make = |seq, eol| {
            Record::create(&key, "/ipfs/bafkqaaa", seq, eol, DEFAULT_TTL, false).unwrap()
        };
        let early = at("2030-01-01T00:00:00Z");
        let late = at("2031-01-01T00:00:00Z");
        assert_eq!(
            make(2, early).cmp_freshness(&make(1, late)),
            Ordering::Greater
        );
        assert_eq!(make(1, early).cmp_freshness(&make(1, late)), Ordering::Less);
        assert_eq!(
            make(1, early).cmp_freshness(&make(1, early)),
            Ordering::Equal
        );
    }

    // ---- names ----

    #[test]
    fn names_round_trip_between_peer_ids_and_base36_cids() {
        // Vectors from gateway-conformance (path_gateway_ipns_test.go, tooling/ipns tests).
        let pairs = [
            (
                "12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK",
                "k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8",
            ),
            (
                "12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2d",
                "k51qzi5uqu5dk3v4rmjber23h16xnr23bsggmqqil9z2gduiis5se8dht36dam",
            ),
            (
                "QmcJM7PRfkSbcM5cf1QugM5R37TLRKyJGgBEhXjLTB8uA2",
                "k2k4r8ol4m8kkcqz509c1rcjwunebj02gcnm5excpx842u736nja8ger",
            ),
            (
                "QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3",
                "k2k4r8m7xvggw5pxxk3abrkwyer625hg01hfyggrai7lk1m63fuihi7w",
            ),
        ];
        for (peer_id, base36) in pairs {
            let from_peer = IpnsName::parse(peer_id).unwrap();
            let from_cid = IpnsName::parse(base36).unwrap();
            assert_eq!(from_peer, from_cid);
            assert_eq!(from_peer.to_base36(), base36);
            assert_eq!(from_cid.to_peer_id(), peer_id);
            assert_eq!(from_cid.to_string(), base36);
            assert_eq!(
                IpnsName::parse(&format!("/ipns/{base36}")).unwrap(),
                from_cid
            );
            assert_eq!(IpnsName::from_cid(&from_cid.to_cid()).unwrap(), from_cid);
            // Other multibases of the same CID, and upper-case base36.
            let base32 = from_cid.to_cid().to_string();
            assert_eq!(IpnsName::parse(&base32).unwrap(), from_cid);
            assert_eq!(IpnsName::parse(&base36.to_uppercase()).unwrap(), from_cid);
            let routing_key = from_cid.routing_key();
            assert_eq!(&routing_key[..6], b"/ipns/");
            assert_eq!(&routing_key[6..], from_cid.as_multihash_bytes());
        }
        let ed = IpnsName::parse("12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2d").unwrap();
        assert_eq!(ed.inline_public_key_protobuf().map(<[u8]>::len), Some(36));
        let rsa = IpnsName::parse("QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3").unwrap();
        assert_eq!(rsa.inline_public_key_protobuf(), None);
    }

    #[test]
    fn the_rfc8032_key_has_a_12d3koow_name() {
        let name = IpnsName::from_ed25519(&test_key().verifying_key());
        assert!(
            name.to_peer_id().starts_with("12D3KooW"),
            "{}",
            name.to_peer_id()
        );
        assert!(name.to_base36().starts_with("k51"), "{}", name.to_base36());
        let protobuf = ed25519_public_key_protobuf(&test_key().verifying_key());
        assert_eq!(IpnsName::from_public_key_protobuf(&protobuf), name);
        assert_eq!(
            &name.as_multihash_bytes()[..6],
            &[0x00, 0x24, 0x08, 0x01, 0x12, 0x20]
        );
    }

    #[test]
    fn invalid_names_are_refused() {
        let bad = [
            "",
            "/ipns/",
            "not-a-name",
            "example.com",
            // dag-pb CIDv1 of an Ed25519 key: the gateway redirects these, they are not names.
            "k50rm9yjlt0jey4fqg6wafvqprktgbkpgkqdg27tpqje6iimzxewnhvtin9hhq",
            // CIDv1 raw of sha2-256 content.
            "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am",
            // base58btc with an invalid character, and a truncated peer ID.
            "12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2l",
            "12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2",
        ];
        for text in bad {
            assert_eq!(
                IpnsName::parse(text).unwrap_err().kind(),
                IpnsErrorKind::InvalidName,
                "{text:?}"
            );
        }
        assert!(IpnsName::parse(&"k".repeat(MAX_NAME_TEXT_LEN + 1)).is_err());
        assert!(IpnsName::parse(&format!("1{}", "z".repeat(MAX_NAME_TEXT_LEN))).is_err());
        // Multihash rules: sha2-512, identity over 42 bytes, wrong digest length, trailing.
        assert!(IpnsName::from_multihash(&[[0x13, 0x40].as_slice(), &[0; 64]].concat()).is_err());
        assert!(IpnsName::from_multihash(&[[0x00, 43].as_slice(), &[0; 43]].concat()).is_err());
        assert!(IpnsName::from_multihash(&[[0x12, 0x20].as_slice(), &[0; 31]].concat()).is_err());
        assert!(IpnsName::from_multihash(&[[0x12, 0x20].as_slice(), &[0; 33]].concat()).is_err());
        assert!(IpnsName::from_multihash(&[0x00, 0x00]).is_err());
        assert!(IpnsName::from_multihash(&[]).is_err());
    }

    // ---- keys ----

    #[test]
    fn private_keys_round_trip_in_the_libp2p_protobuf() {
        let key = test_key();
        let encoded = encode_ed25519_private_key(&key);
        assert_eq!(encoded[..4], [0x08, 0x01, 0x12, 0x40]);
        assert_eq!(hex::encode(&encoded[4..36]), SEED);
        assert_eq!(hex::encode(&encoded[36..]), PUBLIC);
        let decoded = decode_ed25519_private_key(&encoded).unwrap();
        assert_eq!(decoded.to_bytes(), key.to_bytes());
        // Legacy 96-byte form.
        let legacy = [&[0x08, 0x01, 0x12, 0x60][..], &encoded[4..], &encoded[36..]].concat();
        assert_eq!(
            decode_ed25519_private_key(&legacy).unwrap().to_bytes(),
            key.to_bytes()
        );
        // Public half that does not match the seed; wrong type; wrong length; no type.
        let mut mismatched = encoded;
        mismatched[67] ^= 1;
        assert!(decode_ed25519_private_key(&mismatched).is_err());
        let mut rsa = encoded;
        rsa[1] = 0x00;
        assert_eq!(
            decode_ed25519_private_key(&rsa).unwrap_err().kind(),
            IpnsErrorKind::UnsupportedKeyType
        );
        assert!(decode_ed25519_private_key(&encoded[..67]).is_err());
        assert!(decode_ed25519_private_key(&encoded[2..]).is_err());
    }

    // ---- RFC 3339 ----

    #[test]
    fn timestamps_format_like_go_rfc3339nano() {
        let cases = [
            (UNIX_EPOCH, "1970-01-01T00:00:00Z"),
            (
                UNIX_EPOCH + Duration::from_nanos(1),
                "1970-01-01T00:00:00.000000001Z",
            ),
            (
                UNIX_EPOCH + Duration::from_millis(1500),
                "1970-01-01T00:00:01.5Z",
            ),
            (
                UNIX_EPOCH - Duration::from_nanos(1),
                "1969-12-31T23:59:59.999999999Z",
            ),
            (
                UNIX_EPOCH + Duration::from_secs(951_782_400),
                "2000-02-29T00:00:00Z",
            ),
            (
                UNIX_EPOCH + Duration::new(1_795_438_067, 921_941_308),
                "2026-11-23T12:47:47.921941308Z",
            ),
            (
                UNIX_EPOCH + Duration::new(4_833_306_000, 801_257_000),
                "2123-03-01T01:00:00.801257Z",
            ),
        ];
        for (time, text) in cases {
            assert_eq!(format_rfc3339_nano(time).unwrap(), text);
            assert_eq!(parse_rfc3339(text.as_bytes()).unwrap(), time, "{text}");
        }
        let too_late = at("9999-12-31T23:59:59.999999999Z") + Duration::from_nanos(1);
        assert!(format_rfc3339_nano(too_late).is_err());
        assert!(format_rfc3339_nano(at("0000-01-01T00:00:00Z")).is_ok());
    }

    #[test]
    fn timestamps_parse_offsets_and_refuse_what_go_refuses() {
        assert_eq!(at("2030-01-01T02:00:00+02:00"), at("2030-01-01T00:00:00Z"));
        assert_eq!(at("2029-12-31T19:30:00-04:30"), at("2030-01-01T00:00:00Z"));
        assert_eq!(
            at("2030-01-01T00:00:00.1234567899999Z"),
            at("2030-01-01T00:00:00.123456789Z")
        );
        for text in [
            "2030-01-01T00:00:00",
            "2030-01-01t00:00:00Z",
            "2030-01-01T00:00:00z",
            "2030-01-01 00:00:00Z",
            "2030-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2030-13-01T00:00:00Z",
            "2030-00-01T00:00:00Z",
            "2030-01-32T00:00:00Z",
            "2030-01-01T24:00:00Z",
            "2030-01-01T00:60:00Z",
            "2030-01-01T00:00:60Z",
            "2030-01-01T00:00:00.Z",
            "2030-01-01T00:00:00+24:00",
            "2030-01-01T00:00:00+0200",
            "2030-01-01T00:00:00ZZ",
            "+030-01-01T00:00:00Z",
            "",
        ] {
            assert!(parse_rfc3339(text.as_bytes()).is_err(), "{text:?}");
        }
        assert!(parse_rfc3339(b"2000-02-29T00:00:00Z").is_ok());
    }

    // ---- Kubo cross-checks ----

    struct Kubo {
        bin: PathBuf,
        repo: tempfile::TempDir,
    }

    impl Kubo {
        fn new() -> Option<Kubo> {
            let kubo = Kubo {
                bin: crate::test_support::peer("ipfs")?,
                repo: tempfile::tempdir().unwrap(),
            };
            kubo.run(&["init", "--profile=test"], None);
            Some(kubo)
        }

        fn command(&self) -> std::process::Command {
            let mut command = std::process::Command::new(&self.bin);
            command
                .env("IPFS_PATH", self.repo.path())
                .env("IPFS_TELEMETRY", "off");
            command
        }

        /// Runs `ipfs args…` (stdin from `input`), returning stdout; panics on failure.
        fn run(&self, args: &[&str], input: Option<&Path>) -> String {
            let mut command = self.command();
            command.args(args);
            if let Some(path) = input {
                command.stdin(std::fs::File::open(path).unwrap());
            }
            let output = command.output().unwrap();
            assert!(
                output.status.success(),
                "ipfs {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8(output.stdout).unwrap()
        }

        fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
            let path = self.repo.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        }
    }

    /// An `ipfs daemon --offline` we started; killed (by its own handle) on drop.
    struct Daemon {
        child: std::process::Child,
        gateway: String,
    }

    impl Drop for Daemon {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn start_daemon(kubo: &Kubo) -> Daemon {
        use std::io::BufRead;
        let mut child = kubo
            .command()
            .args(["daemon", "--offline"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut daemon = Daemon {
            child,
            gateway: String::new(),
        };
        loop {
            let line = receiver
                .recv_timeout(Duration::from_secs(60))
                .expect("Kubo daemon did not become ready");
            if let Some(address) = line.strip_prefix("Gateway server listening on /ip4/") {
                daemon.gateway = address.replace("/tcp/", ":");
            }
            if line.contains("Daemon is ready") {
                break;
            }
        }
        assert!(
            daemon.gateway.starts_with("127.0.0.1:"),
            "{}",
            daemon.gateway
        );
        daemon
    }

    /// GETs `/ipns/<name>?format=ipns-record` from the daemon's loopback gateway.
    fn fetch_record(daemon: &Daemon, name: &str) -> Bytes {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&daemon.gateway).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        write!(
            stream,
            "GET /ipns/{name}?format=ipns-record HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            daemon.gateway
        )
        .unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        let mut body = &response[split + 4..];
        if !head.contains("transfer-encoding: chunked") {
            return Bytes::copy_from_slice(body);
        }
        let mut out = Vec::new();
        loop {
            let line_end = body.windows(2).position(|w| w == b"\r\n").unwrap();
            let size_text = std::str::from_utf8(&body[..line_end]).unwrap();
            let size =
                usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
            body = &body[line_end + 2..];
            if size == 0 {
                return Bytes::from(out);
            }
            out.extend_from_slice(&body[..size]);
            body = &body[size + 2..];
        }
    }

    #[test]
    fn kubo_accepts_our_records_and_keys_and_we_accept_kubos() {
        let Some(kubo) = Kubo::new() else { return };
        // Our key file imports into Kubo under the same name.
        let key = test_key();
        let name = IpnsName::from_ed25519(&key.verifying_key());
        let key_file = kubo.file("ours.key", &encode_ed25519_private_key(&key));
        let imported = kubo.run(
            &[
                "key",
                "import",
                "--ipns-base=base36",
                "ours",
                key_file.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(imported.trim(), name.to_base36());
        let listed = kubo.run(&["key", "list", "-l", "--ipns-base=b58mh"], None);
        assert!(
            listed.contains(&format!("{} ours", name.to_peer_id())),
            "{listed}"
        );

        // Kubo verifies the records we create (V1+V2 and V2-only), and rejects a forged one.
        let eol = SystemTime::now() + DEFAULT_LIFETIME;
        for include_v1 in [true, false] {
            let record =
                Record::create(&key, "/ipfs/bafkqaaa/x", 42, eol, DEFAULT_TTL, include_v1).unwrap();
            let file = kubo.file("record", &record.to_bytes());
            let report = kubo.run(
                &[
                    "name",
                    "inspect",
                    "--dump=false",
                    "--verify",
                    &name.to_base36(),
                ],
                Some(&file),
            );
            assert!(report.contains("Valid: true"), "{report}");
            assert!(report.contains("Sequence:       42"), "{report}");
            let expected_type = if include_v1 { "V1+V2" } else { "V2" };
            assert!(
                report.contains(&format!("Signature Type: {expected_type}\n")),
                "{report}"
            );
        }
        let record = Record::create(&key, "/ipfs/bafkqaaa", 1, eol, DEFAULT_TTL, true).unwrap();
        let data = record.data().clone();
        let mut forged_data = data.to_vec();
        *forged_data.last_mut().unwrap() = 0x01; // ValidityType 1
        let forged = patched(&record.to_bytes(), &data, &forged_data);
        let file = kubo.file("forged", &forged);
        let report = kubo.run(
            &[
                "name",
                "inspect",
                "--dump=false",
                "--verify",
                &name.to_base36(),
            ],
            Some(&file),
        );
        assert!(!report.contains("Valid: true"), "{report}");

        // Kubo's keystore files decode to the names Kubo prints.
        let kubo_name = kubo.run(
            &[
                "key",
                "gen",
                "--type=ed25519",
                "--ipns-base=base36",
                "kubokey",
            ],
            None,
        );
        let kubo_name = IpnsName::parse(kubo_name.trim()).unwrap();
        let key_file_name = format!(
            "key_{}",
            data_encoding::BASE32_NOPAD
                .encode(b"kubokey")
                .to_lowercase()
        );
        let key_path = kubo.repo.path().join("keystore").join(key_file_name);
        let kubo_key = decode_ed25519_private_key(&std::fs::read(key_path).unwrap()).unwrap();
        assert_eq!(IpnsName::from_ed25519(&kubo_key.verifying_key()), kubo_name);
        let rsa_name = kubo.run(
            &[
                "key",
                "gen",
                "--type=rsa",
                "--size=2048",
                "--ipns-base=b58mh",
                "rsakey",
            ],
            None,
        );
        let rsa_name = IpnsName::parse(rsa_name.trim()).unwrap();
        assert!(rsa_name.to_peer_id().starts_with("Qm"));

        // Records Kubo publishes validate here (Ed25519 and RSA with an embedded key).
        let target = "/ipfs/bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am";
        for key_name in ["kubokey", "rsakey"] {
            kubo.run(
                &[
                    "name",
                    "publish",
                    "--allow-offline",
                    "--resolve=false",
                    "--key",
                    key_name,
                    "--ttl=1h",
                    target,
                ],
                None,
            );
        }
        let daemon = start_daemon(&kubo);
        for (published_name, has_pub_key) in [(kubo_name, false), (rsa_name, true)] {
            let bytes = fetch_record(&daemon, &published_name.to_base36());
            let record = Record::from_bytes(bytes).unwrap();
            assert_eq!(record.validate(&published_name, SystemTime::now()), Ok(()));
            assert_eq!(record.value().unwrap(), target);
            assert_eq!(record.ttl(), Duration::from_secs(3600));
            assert!(record.has_v1_fields());
            assert_eq!(!record.public_key_bytes().is_empty(), has_pub_key);
        }
    }
}
