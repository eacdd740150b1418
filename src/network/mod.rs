//! The libp2p layer: the node's swarm (transports, Identify, Ping, the Kademlia DHT,
//! connection limits, peering, `libp2p-stream`), its identity and its configuration. It may
//! use `store` and `ipld`; nothing here knows about HTTP, the gateway or the Cluster API.
//! The rest of the program talks to the running node through [`NetworkHandle`].

pub mod config;
pub mod identity;
pub mod node;
mod peering;

pub use config::{ConnectionLimits, DhtMode, NetworkConfig};
pub use libp2p::{Multiaddr, PeerId};
pub use node::{start, NetworkError, NetworkHandle};
