//! The ipld layer: content identifiers and the formats blocks come in (dag-pb, UnixFS, HAMT
//! shards, CAR streams, IPNS records, paths inside dag-cbor and dag-json blocks). Pure data
//! handling: no IO, no HTTP, no store.

pub mod car;
pub(crate) mod cbor;
pub mod cbor_text;
pub mod cid;
pub mod dag_scope;
pub mod dagpath;
pub mod dagpb;
mod error;
pub mod hamt;
pub mod ipns;
pub mod links;
pub(crate) mod protobuf;
pub mod time;
pub mod unixfs;
pub(crate) mod varint;

pub use error::{Error, ErrorKind, Result};
