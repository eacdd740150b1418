//! libp2p keys (crypto.proto: `PublicKey`/`PrivateKey { KeyType Type = 1; bytes Data = 2; }`):
//! the Ed25519 key protobufs names and keystores are built from, and the public keys record
//! signatures are checked with (Ed25519, and RSA through [`super::rsa`]).

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
    Rsa(RsaPublicKey),
}

impl PublicKey {
    pub(super) fn from_type_and_data(key_type: u64, data: &[u8]) -> IpnsResult<Self> {
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
            PublicKey::Rsa(key) => key.verify_pkcs1v15_sha256(parts, signature),
        }
    }
}
