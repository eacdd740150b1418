//! [`IpnsName`]: the multihash of a libp2p public key (IPNS spec "IPNS Name"; libp2p peer-id
//! spec). Parsed from CIDv1 `libp2p-key` text in any multibase (`k51…`) or from base58btc peer
//! IDs (`12D3KooW…` identity multihash of an Ed25519 key, `Qm…` sha2-256 of a bigger key);
//! printed as base36 CIDv1 and as a base58btc peer ID.

use super::*;

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
