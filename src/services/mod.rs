//! The services layer: what the APIs do with blocks — resolve paths through UnixFS, dag-cbor
//! and dag-json DAGs, stream file bytes, list directories, import CARs, export DAGs as CAR
//! and TAR, read `_redirects` files. No HTTP types here; the http layer maps [`Error`] kinds
//! to statuses in one place.

pub mod add;
pub mod car_export;
pub mod denylist;
pub mod dir;
pub mod edit;
pub mod file;
pub mod gc;
pub mod go_url;
pub mod import;
pub mod ingest;
pub mod keystore;
pub mod names;
pub mod pinning;
pub mod pins;
pub mod providing;
pub mod pubsub;
pub mod redirects;
pub mod resolve;
pub mod retrieval;
pub mod tar;

use cid::Cid;

use crate::store::{BlockSource, SourceFuture};
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
    /// Something on our side failed (a worker died, a disk write failed mid-import).
    #[error("{0}")]
    Internal(String),
}

impl From<add::AddError> for Error {
    fn from(e: add::AddError) -> Self {
        match e {
            add::AddError::NotFound(m) => Error::NotFound(m),
            add::AddError::InvalidInput(_) | add::AddError::InvalidOption(_) => {
                Error::InvalidInput(e.to_string())
            }
            add::AddError::Sink(e) => Error::Store(e),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// The empty UnixFS directory node (`bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354`):
/// always available, stored or not, so it can serve as a starting point for writes.
pub const EMPTY_DIRECTORY: &[u8] = &[0x0a, 0x02, 0x08, 0x01];

/// The sha2-256 multihash of [`EMPTY_DIRECTORY`].
const EMPTY_DIRECTORY_SHA256: [u8; 32] = [
    0x59, 0x94, 0x84, 0x39, 0x06, 0x5f, 0x29, 0x61, 0x9e, 0xf4, 0x12, 0x80, 0xcb, 0xb9, 0x32, 0xbe,
    0x52, 0xc5, 0x6d, 0x99, 0xc5, 0x96, 0x6b, 0x65, 0xe0, 0x11, 0x12, 0x39, 0xf0, 0x98, 0xbb, 0xef,
];

/// Fetches a block that must be present (the empty directory always is).
pub async fn fetch(source: &dyn BlockSource, cid: &Cid) -> Result<bytes::Bytes> {
    if let Some(block) = source.get(cid).await? {
        return Ok(block);
    }
    missing_unless_empty_directory(cid)
}

/// [`fetch`] within `limit` (none: as long as the source takes). A block not come by then is
/// [`store::Error::Unavailable`] — a 504 on the gateway, like a read past the retrieval
/// timeout — never absent: the network may still have it.
pub async fn fetch_within(
    source: &dyn BlockSource,
    cid: &Cid,
    limit: Option<std::time::Duration>,
) -> Result<bytes::Bytes> {
    let Some(limit) = limit else {
        return fetch(source, cid).await;
    };
    match tokio::time::timeout(limit, fetch(source, cid)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(Error::Store(store::Error::Unavailable {
            cid: *cid,
            reason: format!("not retrieved within the retrieval timeout ({limit:?})").into(),
        })),
    }
}

/// The local store read on the calling thread, for code on threads that may block (the
/// importer, tree edits, GC walks, the CLI): the same async resolution code runs over it
/// and completes in one poll, with no runtime needed ([`in_place`]).
pub struct InPlace<'s>(pub &'s store::Blockstore);

impl BlockSource for InPlace<'_> {
    fn get(&self, cid: &Cid) -> SourceFuture<store::Result<Option<bytes::Bytes>>> {
        SourceFuture::ready(self.0.get(cid))
    }

    fn has(&self, cid: &Cid) -> SourceFuture<store::Result<bool>> {
        SourceFuture::ready(self.0.has(cid))
    }

    fn size(&self, cid: &Cid) -> SourceFuture<store::Result<Option<u64>>> {
        SourceFuture::ready(self.0.get(cid).map(|block| block.map(|b| b.len() as u64)))
    }
}

/// Runs a read over [`InPlace`] to completion on this thread. Every read there is ready at
/// once, so the future completes on its first poll; one that does not (a read of another
/// source slipped in) is an internal error rather than a hang.
pub fn in_place<T>(read: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    let mut read = std::pin::pin!(read);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match read.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(result) => result,
        std::task::Poll::Pending => Err(Error::Internal(
            "a local read did not complete in place".to_owned(),
        )),
    }
}

fn missing_unless_empty_directory(cid: &Cid) -> Result<bytes::Bytes> {
    empty_directory_block(cid).ok_or(Error::BlockMissing(*cid))
}

/// The empty directory's block when `cid` names it: available whether stored or not.
pub(crate) fn empty_directory_block(cid: &Cid) -> Option<bytes::Bytes> {
    let mh = cid.hash();
    (mh.code() == ipld::cid::hash::SHA2_256 && mh.digest() == EMPTY_DIRECTORY_SHA256)
        .then_some(bytes::Bytes::from_static(EMPTY_DIRECTORY))
}

/// Stores for unit tests, filled from the gateway-conformance fixture CARs.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;

    use crate::store::{Blockstore, SharedSource, StoreOptions};
    pub use crate::test_support::block_on;

    /// The store as the source responses read from.
    pub fn source(store: &Arc<Blockstore>) -> SharedSource {
        Arc::clone(store) as SharedSource
    }

    pub use crate::test_support::FIXTURES;

    /// A fresh store holding the blocks of the named fixture CARs (paths under [`FIXTURES`]).
    pub fn store_with(cars: &[&str]) -> (tempfile::TempDir, Arc<Blockstore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Blockstore::open(dir.path(), StoreOptions::default()).unwrap());
        for car in cars {
            let file = std::fs::File::open(format!("{FIXTURES}/{car}")).unwrap();
            super::import::import_car(&store, file).unwrap();
        }
        (dir, store)
    }

    /// Stores a HAMT-sharded directory of `count` one-block files named `file-<i>.txt` (each
    /// holding its name), sharded from the first entry with this fanout, so a small fanout
    /// gives several levels. Returns the root and the entries.
    pub fn hamt_dir(
        store: &Blockstore,
        count: usize,
        fanout: u64,
    ) -> (cid::Cid, Vec<(String, cid::Cid)>) {
        use super::add::{self, dir::DirectoryBuilder, ImportParams, StoreSink};
        let params = ImportParams {
            hamt_threshold: 1,
            hamt_fanout: fanout,
            ..ImportParams::cid_v1()
        };
        let mut sink = StoreSink::new(store);
        let mut builder = DirectoryBuilder::new(&params, add::Metadata::default());
        let mut entries = Vec::new();
        for i in 0..count {
            let name = format!("file-{i}.txt");
            let content = bytes::Bytes::from(name.clone());
            let entry = add::file::import_file(
                &params,
                add::Metadata::default(),
                std::iter::once(content),
                &mut sink,
            )
            .unwrap();
            builder.add_file(&name, &entry).unwrap();
            entries.push((name, entry.cid));
        }
        let root = builder.finish(&mut sink).unwrap();
        (root.cid, entries)
    }
}

#[cfg(test)]
mod tests {
    use multihash_codetable::{Code, MultihashDigest};

    #[test]
    fn empty_directory_digest_is_right() {
        let mh = Code::Sha2_256.digest(super::EMPTY_DIRECTORY);
        assert_eq!(mh.digest(), super::EMPTY_DIRECTORY_SHA256);
    }
}
