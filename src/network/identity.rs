//! The node's libp2p identity. cairn has one identity: the keystore's `self` key
//! (`<data>/keys/key_onswyzq`, a libp2p `PrivateKey` protobuf, mode 0600, created on first
//! start, a corrupt file an error — see `services::keystore`), which already names the node
//! in IPNS, pubsub (`from`) and the Cluster API (`ipfs.id`). The swarm runs under the same
//! Ed25519 key, so all of them report the peer ID other libp2p nodes see.
//!
//! The key file is read above this layer (the keystore is a service); this module only turns
//! the key into libp2p's type.

pub use libp2p::identity::Keypair;
use libp2p::PeerId;

/// The libp2p keypair of an Ed25519 private key given as its 32-byte seed (RFC 8032 secret
/// key). The copy passed in is zeroed.
pub fn keypair_from_ed25519_seed(mut seed: [u8; 32]) -> Keypair {
    // Cannot fail: every 32-byte string is an Ed25519 secret key.
    Keypair::ed25519_from_bytes(&mut seed).expect("32 bytes are an Ed25519 secret key")
}

/// The peer ID of a keypair, as printed by `cairn id` (`12D3KooW…`).
pub fn peer_id(keypair: &Keypair) -> PeerId {
    keypair.public().to_peer_id()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipld::ipns::{self, IpnsName};

    #[test]
    fn the_swarm_identity_is_the_ipns_self_name() {
        // A fixed seed: the libp2p peer ID and the IPNS name computed by cairn's own code
        // from the same key must be one string, or pubsub/Cluster would report a peer ID no
        // libp2p peer knows.
        let seed = [7u8; 32];
        let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
        let keypair = keypair_from_ed25519_seed(seed);
        let ipns = IpnsName::from_ed25519(&signing.verifying_key()).to_peer_id();
        assert_eq!(peer_id(&keypair).to_string(), ipns);
        assert!(ipns.starts_with("12D3KooW"));
        // The key file format the keystore writes decodes to the same libp2p key.
        let encoded = ipns::encode_ed25519_private_key(&signing);
        let decoded = Keypair::from_protobuf_encoding(&encoded).unwrap();
        assert_eq!(peer_id(&decoded), peer_id(&keypair));
        assert_eq!(decoded.to_protobuf_encoding().unwrap(), encoded);
    }

    #[test]
    fn different_seeds_are_different_peers() {
        assert_ne!(
            peer_id(&keypair_from_ed25519_seed([1; 32])),
            peer_id(&keypair_from_ed25519_seed([2; 32]))
        );
    }
}
