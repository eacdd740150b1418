//! The network layer: protocols that exchange blocks with other IPFS nodes. Each protocol is
//! transport-independent (it reads and writes any async byte stream), so the libp2p swarm that
//! carries it is wiring above this layer. Uses the store (blocks served are read through
//! [`crate::store::BlockSource`]) and ipld (CIDs, varints, protobuf); nothing above.

pub mod bitswap;
