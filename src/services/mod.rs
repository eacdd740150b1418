//! The services layer: what the APIs do with blocks — resolve paths through UnixFS DAGs, stream
//! file bytes, list directories, import CARs. No HTTP types here; the http layer maps
//! [`Error`] kinds to statuses in one place.

pub mod dir;
pub mod file;
pub mod gc;
pub mod import;
pub mod keystore;
pub mod pins;
pub mod resolve;

use cid::Cid;

use crate::{ipld, store};

/// The services layer's one error type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A path segment that names nothing, or a path through a file.
    #[error("{0}")]
    NotFound(String),
    /// A block the operation needs is not in the store.
    #[error("block {} is not available", ipld::cid::to_v1_string(.0))]
    BlockMissing(Cid),
    /// A path or argument that is malformed as written by the client.
    #[error("{0}")]
    InvalidInput(String),
    /// Stored data that is malformed or of a kind cairn cannot serve.
    #[error("{0}")]
    Ipld(#[from] ipld::Error),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] store::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

/// Fetches a block that must be present.
pub(crate) fn fetch(store: &store::Blockstore, cid: &Cid) -> Result<bytes::Bytes> {
    store.get(cid)?.ok_or(Error::BlockMissing(*cid))
}
