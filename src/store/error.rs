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
    /// The operator's denylist blocks it: never fetched, served or kept (answered as gone).
    #[error("{0}")]
    Blocked(Box<Blocked>),
}

/// Content an operator's denylist blocks (a block, an `/ipfs` path or an `/ipns` name), and
/// the rule that does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// What was asked for: `/ipfs/<cid>[/<path>]`, `/ipns/<name>[/<path>]`, or a CID.
    pub what: String,
    /// The list holding the rule: its header's name, else its file name or URL.
    pub list: std::sync::Arc<str>,
    /// The rule's line in that list.
    pub line: u64,
}

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is blocked and cannot be provided (denylist {}, line {})",
            self.what, self.list, self.line
        )
    }
}

impl std::error::Error for Blocked {}

impl From<Blocked> for Error {
    fn from(blocked: Blocked) -> Self {
        Error::Blocked(Box::new(blocked))
    }
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
