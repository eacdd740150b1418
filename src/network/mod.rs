//! The network layer: blocks and routing answers from other nodes. Everything it hands up is
//! checked first (every block against its CID); every answer from a peer is bounded in size
//! and time. Protocols are transport-independent (they read and write any async byte
//! stream), so the libp2p swarm that carries them is wiring. It may use [`crate::store`] and
//! [`crate::ipld`], never the layers above.
//!
//! - [`bitswap`]: the Bitswap wire format and its server side.
//! - [`http_client`]: the one HTTP client (plain or TLS, no redirects, bounded bodies).
//! - [`remote`]: trustless gateways as a [`crate::store::BlockSource`] (blocks, CAR streams).
//! - [`routing_v1`]: a Delegated Routing V1 HTTP client (providers and peers).

pub mod bitswap;
pub mod http_client;
pub mod remote;
pub mod routing_v1;

#[cfg(test)]
pub(crate) mod test_server;
