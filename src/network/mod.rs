//! The network layer: blocks and routing answers from other nodes. Everything it hands up is
//! checked first (every block against its CID); every answer from a peer is bounded in size
//! and time. It may use [`crate::store`] and [`crate::ipld`], never the layers above; nothing
//! here knows about HTTP serving, the gateway or the Cluster API.
//!
//! - [`node`]: the libp2p swarm (TCP and QUIC, Noise, Yamux, Identify, Ping, the Kademlia
//!   DHTs, connection limits, peering, Bitswap's streams), driven through [`NetworkHandle`];
//!   [`config`] and [`identity`] configure it; [`inbound_rate`] refuses sources that connect
//!   too often.
//! - [`token_bucket`]: the one token bucket (Bitswap budgets, pubsub admission, connection
//!   rates).
//! - [`bitswap`]: the Bitswap wire format, server and client (transport-independent), and
//!   both run on the node ([`bitswap::swarm`]).
//! - [`pubsub`]: the gossipsub router (publish/subscribe between peers, as go-libp2p-pubsub
//!   speaks it) and its bounds.
//! - [`records`]: which DHT value records (IPNS) the node keeps for its peers.
//! - [`providers`]: content routing for the Bitswap client (the DHTs, delegated routers).
//! - [`http_client`]: the one HTTP client (plain or TLS, no redirects, bounded bodies).
//! - [`remote`]: trustless gateways as a [`crate::store::BlockSource`] (blocks, CAR streams).
//! - [`routing_v1`]: a Delegated Routing V1 HTTP client (providers, peers, IPNS records).

pub mod bitswap;
pub mod config;
pub mod http_client;
pub mod identity;
pub mod inbound_rate;
pub mod node;
mod peering;
pub mod providers;
pub mod pubsub;
pub mod records;
pub mod remote;
pub mod routing_v1;
pub mod token_bucket;

pub use config::{ConnectionLimits, DhtMode, NetworkConfig};
pub use libp2p::{Multiaddr, PeerId};
pub use node::{start, FoundRecord, NetworkError, NetworkHandle};
pub use pubsub::{PubsubLimits, PubsubMessage};

#[cfg(test)]
pub(crate) mod test_server;
