//! The store layer's one error type.

use std::io;
use std::path::{Path, PathBuf};

use cid::Cid;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The disk failed us; the message names the operation and the file.
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Bytes offered for a CID do not hash to it.
    #[error("block data does not match its CID {cid}")]
    HashMismatch { cid: Cid },
    /// A CID whose hash function cairn cannot compute, so its block cannot be verified.
    #[error("unsupported multihash code 0x{code:x} in {cid}")]
    UnsupportedHash { cid: Cid, code: u64 },
    /// A block over the size limit.
    #[error(
        "block {cid} is {size} bytes, over the {} byte limit",
        super::MAX_BLOCK_SIZE
    )]
    TooLarge { cid: Cid, size: usize },
    /// No source could provide the block: every one asked failed (timed out, refused the
    /// connection, answered with an error or with bytes that are not the block). `source`
    /// says what was tried (in the message, so a 504 explains itself); the layer that asked
    /// may downcast it to its own diagnostics.
    #[error("block {cid} could not be retrieved: {reason}")]
    Unavailable {
        cid: Cid,
        reason: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// A read handed to another thread never came back (the runtime is shutting down).
    #[error("block read worker failed: {0}")]
    Worker(String),
    /// Garbage collection waited its deadline for writers in progress (uploads not yet
    /// pinned) to finish.
    #[error(
        "writes in progress held the store for {waited:.0?}; garbage collection did not run, \
         try again later"
    )]
    Busy { waited: std::time::Duration },
}

impl Error {
    pub(crate) fn io(op: &'static str, path: &Path, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
