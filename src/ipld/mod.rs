//! The ipld layer: content identifiers and the formats blocks come in (dag-pb, UnixFS, HAMT
//! shards, CAR streams, IPNS records, paths inside dag-cbor and dag-json blocks). Pure data
//! handling: no IO, no HTTP, no store.

pub mod car;
pub mod cbor_text;
pub mod cid;
pub mod dagpath;
pub mod dagpb;
mod error;
pub mod hamt;
pub mod ipns;
pub mod links;
mod protobuf;
pub mod unixfs;

pub use error::{Error, ErrorKind, Result};
