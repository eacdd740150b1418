//! cairn: an IPFS gateway and IPFS Cluster API server with an embedded block store.
//!
//! Layers, each importing only those before it:
//! [`store`] (blocks on disk) → [`ipld`] (CIDs, dag-pb, UnixFS, HAMT, CAR) → [`network`]
//! (libp2p, bitswap, routing, remote backends) → [`services`] (path resolution, file
//! streaming, listings, import, one block source over store and network) → [`http`]
//! (server, router, bodies, Range/ETag, CORS, error mapping) → [`gateway`], [`cluster`] and
//! [`rpc`] (the APIs: the gateway, the IPFS Cluster REST API, the Kubo RPC) → [`app`] (wiring the pieces into the commands `main.rs` exposes).

pub mod app;
pub mod cluster;
pub mod gateway;
pub mod http;
pub mod ipld;
pub mod network;
pub mod rpc;
pub mod services;
pub mod store;

#[cfg(test)]
pub(crate) mod test_support;
