//! libp2p keys (crypto.proto: `PublicKey`/`PrivateKey { KeyType Type = 1; bytes Data = 2; }`):
//! the Ed25519 key protobufs names and keystores are built from, and the public keys record
//! signatures are checked with, as go-libp2p verifies them (libp2p peer-id spec, "Keys"):
//!
//! - Ed25519: ed25519-dalek (cofactorless, canonical S, as Go's `crypto/ed25519`);
//! - RSA: `Data` is a PKIX (SubjectPublicKeyInfo) DER key of 2048 to 8192 bits (go-libp2p's
//!   `MinRsaKeyBits`/`maxRsaKeyBits`), signatures RSASSA-PKCS1-v1_5 with SHA-256;
//! - secp256k1: `Data` is a SEC1 point (33-byte compressed as go-libp2p writes it, 65-byte
//!   uncompressed accepted), signatures ASN.1 DER ECDSA over SHA-256 of the message.
//!
//! RSA and secp256k1 go through aws-lc-rs (already the TLS provider of the network layer), so no
//! big-number arithmetic or DER parsing is written here. ECDSA keys (type 3) are not accepted:
//! Kubo cannot make them.

use super::*;

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
pub(super) fn decode_key_protobuf(protobuf: &[u8]) -> IpnsResult<(u64, &[u8])> {
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
pub(super) fn encode_public_key_protobuf(key_type: u64, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 16);
    write_proto_varint(&mut out, 1, key_type);
    write_proto_bytes(&mut out, 2, data);
    out
}

/// A public key that can verify record signatures.
pub(super) enum PublicKey {
    Ed25519(VerifyingKey),
    /// RSA or secp256k1, parsed and checked by aws-lc-rs.
    Vetted(aws_lc_rs::signature::ParsedPublicKey),
}

/// go-libp2p refuses RSA keys outside these sizes (`MinRsaKeyBits`, `maxRsaKeyBits`).
const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=8192;

impl PublicKey {
    pub(super) fn from_type_and_data(key_type: u64, data: &[u8]) -> IpnsResult<Self> {
        use aws_lc_rs::signature::{
            ParsedPublicKey, ECDSA_P256K1_SHA256_ASN1, RSA_PKCS1_2048_8192_SHA256,
        };
        let malformed = |what: String| IpnsError::new(IpnsErrorKind::PublicKey, what);
        match key_type {
            KEY_TYPE_ED25519 => {
                let bytes: &[u8; 32] = data.try_into().map_err(|_| {
                    IpnsError::new(IpnsErrorKind::PublicKey, "Ed25519 key is not 32 bytes")
                })?;
                VerifyingKey::from_bytes(bytes)
                    .map(PublicKey::Ed25519)
                    .map_err(|_| IpnsError::new(IpnsErrorKind::PublicKey, "invalid Ed25519 key"))
            }
            KEY_TYPE_RSA => {
                // The size check first, as go-libp2p's `UnmarshalRsaPublicKey` does it.
                let key = aws_lc_rs::rsa::PublicEncryptingKey::from_der(data)
                    .map_err(|e| malformed(format!("invalid RSA key: {e}")))?;
                let bits = key.key_size_bits();
                if !RSA_BITS.contains(&bits) {
                    return Err(malformed(format!(
                        "RSA key of {bits} bits, outside {}..={}",
                        RSA_BITS.start(),
                        RSA_BITS.end()
                    )));
                }
                ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, data)
                    .map(PublicKey::Vetted)
                    .map_err(|e| malformed(format!("invalid RSA key: {e}")))
            }
            KEY_TYPE_SECP256K1 => {
                if !matches!(data.len(), 33 | 65) {
                    return Err(malformed(format!(
                        "secp256k1 key of {} bytes (a SEC1 point is 33 or 65)",
                        data.len()
                    )));
                }
                ParsedPublicKey::new(&ECDSA_P256K1_SHA256_ASN1, data)
                    .map(PublicKey::Vetted)
                    .map_err(|e| malformed(format!("invalid secp256k1 key: {e}")))
            }
            KEY_TYPE_ECDSA => err(
                IpnsErrorKind::UnsupportedKeyType,
                format!("key type {key_type} (ECDSA) is not supported"),
            ),
            _ => err(
                IpnsErrorKind::UnsupportedKeyType,
                format!("unknown key type {key_type}"),
            ),
        }
    }

    pub(super) fn from_protobuf(protobuf: &[u8]) -> IpnsResult<Self> {
        let (key_type, data) = decode_key_protobuf(protobuf)
            .map_err(|e| IpnsError::new(IpnsErrorKind::PublicKey, e.message))?;
        Self::from_type_and_data(key_type, data)
    }

    /// Verifies `signature` over the concatenation of `parts`.
    pub(super) fn verify(&self, parts: &[&[u8]], signature: &[u8]) -> bool {
        match self {
            PublicKey::Ed25519(key) => {
                let Ok(signature) = Signature::from_slice(signature) else {
                    return false;
                };
                // go-libp2p uses Go's crypto/ed25519 Verify: cofactorless, canonical S; dalek's
                // `verify` is the same equation. Multipart: no copy of the signed bytes.
                key.multipart_verify(parts, &signature).is_ok()
            }
            PublicKey::Vetted(key) => {
                // The signed bytes are small (a record's data is at most 10 KiB).
                let message: Vec<u8> = parts.concat();
                key.verify_sig(&message, signature).is_ok()
            }
        }
    }
}
