//! The UnixFS importer: turns byte streams and directory trees into the exact DAGs Kubo builds
//! with the same settings (a CID is forever: a divergence breaks links between the two).
//!
//! One importer behind a small API serves every upload path (`cairn add`, the writable
//! gateway, the Cluster API's `/add`): bytes come in as `Bytes` chunks, blocks go out through
//! a [`BlockSink`], and memory stays bounded whatever the input size.
//!
//! - [`chunker`]: splitting a stream (`size-N`, `rabin[-min-avg-max]`, `buzhash`).
//! - [`file`]: building a file DAG from chunks (balanced or trickle; raw or dag-pb leaves;
//!   CIDv0/v1; inlining; any supported hash function).
//! - [`dir`]: building directories (plain dag-pb, or HAMT-sharded where Kubo shards) and whole
//!   trees from paths.

pub mod chunker;
pub mod dir;
pub mod file;

use bytes::Bytes;
use cid::Cid;

/// Where finished blocks go: the store, or nowhere (`--only-hash`).
pub trait BlockSink {
    /// Receives one block with its CID. Called once per block, children before parents.
    fn put(&mut self, cid: &Cid, block: Bytes) -> Result<(), AddError>;
}

/// A sink that keeps nothing: computes CIDs only.
pub struct DiscardSink;

impl BlockSink for DiscardSink {
    fn put(&mut self, _cid: &Cid, _block: Bytes) -> Result<(), AddError> {
        Ok(())
    }
}

/// The importer's one error type.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// Parameters that cannot work (bad chunker string, unknown hash, limits out of range).
    #[error("invalid import option: {0}")]
    InvalidOption(String),
    /// A tree that cannot be built (duplicate or empty names, a file used as a directory).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A path or block that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The sink failed (disk full, …): the store's error, kind and all.
    #[error("storing a block failed: {0}")]
    Sink(#[source] crate::store::Error),
}

/// How a stream is cut into chunks (Kubo's `--chunker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkerSpec {
    /// `size-N`: fixed N-byte chunks (Kubo's default is `size-262144`).
    Size(usize),
    /// `rabin-MIN-AVG-MAX` (bare `rabin` = Kubo's defaults).
    Rabin { min: usize, avg: usize, max: usize },
    /// `buzhash`.
    Buzhash,
}

/// The shape of a file DAG (Kubo's `--trickle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Balanced,
    Trickle,
}

/// How a directory's size is estimated against the sharding threshold (IPIP-499).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeEstimation {
    /// Sum of link name and CID byte lengths (Kubo's default, `unixfs-v0-2015`).
    Links,
    /// The full serialized block size (`unixfs-v1-2025`).
    Block,
}

/// Everything that decides the CIDs of an import. Defaults are Kubo's `ipfs add` defaults
/// (the `unixfs-v0-2015` profile: CIDv0, dag-pb leaves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportParams {
    /// 0 or 1.
    pub cid_version: u8,
    /// Leaves as raw blocks (codec 0x55) instead of UnixFS dag-pb nodes.
    pub raw_leaves: bool,
    pub chunker: ChunkerSpec,
    pub layout: Layout,
    /// Most links in one file node (Kubo's `--max-file-links`, default 174).
    pub max_file_links: usize,
    /// Multihash code (0x12 = sha2-256).
    pub hash: u64,
    /// `--inline`: blocks up to `inline_limit` bytes get identity-hash CIDs.
    pub inline: bool,
    pub inline_limit: usize,
    /// Shard a directory once its estimated size exceeds this many bytes (Kubo: 256 KiB).
    pub hamt_threshold: usize,
    pub hamt_fanout: u64,
    pub size_estimation: SizeEstimation,
    /// Most links in a plain directory before sharding regardless of size (0 = no limit).
    pub max_directory_links: usize,
    /// UnixFS 1.5 metadata to record when asked (`--preserve-mode`, `--preserve-mtime`).
    pub preserve_mode: bool,
    pub preserve_mtime: bool,
}

impl Default for ImportParams {
    fn default() -> Self {
        ImportParams {
            cid_version: 0,
            raw_leaves: false,
            chunker: ChunkerSpec::Size(256 * 1024),
            layout: Layout::Balanced,
            max_file_links: 174,
            hash: 0x12,
            inline: false,
            inline_limit: 32,
            hamt_threshold: 256 * 1024,
            hamt_fanout: 256,
            size_estimation: SizeEstimation::Links,
            max_directory_links: 0,
            preserve_mode: false,
            preserve_mtime: false,
        }
    }
}

impl ImportParams {
    /// `--cid-version=1` as Kubo applies it: raw leaves unless `--raw-leaves` says otherwise.
    pub fn cid_v1() -> Self {
        ImportParams {
            cid_version: 1,
            raw_leaves: true,
            ..ImportParams::default()
        }
    }

    /// The IPIP-499 `unixfs-v1-2025` profile.
    pub fn unixfs_v1_2025() -> Self {
        ImportParams {
            cid_version: 1,
            raw_leaves: true,
            chunker: ChunkerSpec::Size(1024 * 1024),
            max_file_links: 1024,
            size_estimation: SizeEstimation::Block,
            ..ImportParams::default()
        }
    }
}

/// A finished file or directory: what a parent links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub cid: Cid,
    /// Content bytes (a file's size; 0 for a directory).
    pub size: u64,
    /// Cumulative size of every block in the DAG (the parent link's Tsize).
    pub tsize: u64,
}

/// UnixFS 1.5 metadata of one file, directory or symlink.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metadata {
    pub mode: Option<u32>,
    pub mtime: Option<crate::ipld::unixfs::UnixTime>,
}

pub use dir::BlockSource;

/// A sink that stores each block at once, syncing its data (its name is durable once
/// [`crate::store::Blockstore::sync`] runs), counting what it wrote. For a handful of blocks
/// (directory edits); an import of many goes through a [`crate::store::WriteBatch`], which is
/// a sink too and pays for durability once per batch.
pub struct StoreSink<'s> {
    store: &'s crate::store::Blockstore,
    /// Blocks handed to the sink.
    pub blocks: u64,
    /// Bytes of block data handed to the sink.
    pub bytes: u64,
}

impl<'s> StoreSink<'s> {
    pub fn new(store: &'s crate::store::Blockstore) -> Self {
        StoreSink {
            store,
            blocks: 0,
            bytes: 0,
        }
    }
}

impl BlockSink for StoreSink<'_> {
    fn put(&mut self, cid: &Cid, block: Bytes) -> Result<(), AddError> {
        self.blocks += 1;
        self.bytes += block.len() as u64;
        self.store
            .put(cid, &block)
            .map(|_| ())
            .map_err(AddError::Sink)
    }
}

/// Blocks go to the batch: visible and durable at its next commit, which the caller runs
/// before acknowledging anything.
impl BlockSink for crate::store::WriteBatch<'_> {
    fn put(&mut self, cid: &Cid, block: Bytes) -> Result<(), AddError> {
        crate::store::WriteBatch::put(self, cid, &block)
            .map(|_| ())
            .map_err(AddError::Sink)
    }
}
