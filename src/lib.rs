//! cairn: an IPFS gateway and IPFS Cluster API server with an embedded block store.
//!
//! Layers, each importing only those before it:
//! [`store`] (blocks on disk) → [`ipld`] (CIDs, dag-pb, UnixFS, HAMT, CAR) → [`network`]
//! (the libp2p node) → [`services`]
//! (path resolution, file streaming, listings, import) → [`http`] (server, router, bodies,
//! Range/ETag, CORS, error mapping) → [`gateway`] and [`cluster`] (the APIs) → [`app`] (wiring the pieces into
//! the commands `main.rs` exposes).

pub mod app;
pub mod cluster;
pub mod gateway;
pub mod http;
pub mod ipld;
pub mod network;
pub mod services;
pub mod store;

#[cfg(test)]
pub(crate) mod test_support;
