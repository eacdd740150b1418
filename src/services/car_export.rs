//! Trustless CAR export (IPIP-402, with IPIP-412 `order=dfs` and `dups`): a lazy CARv1 stream
//! of the blocks a client needs to verify a content path — every block read to resolve the
//! path, then the blocks of the entity it names, as `dag-scope` and `entity-bytes` select.
//!
//! The path is resolved up front, so a path that names nothing fails (404) before a byte is
//! sent; everything after is produced block by block as the consumer pulls. Each section goes
//! out as a small prefix (length varint and CID) followed by the block's own `Bytes`, never
//! copied. Memory is bounded by the DAG's depth (one frame of links per level being walked)
//! plus, unless duplicates are asked for, the set of multihashes already sent.
//!
//! What is sent, matching boxo's gateway:
//! - the CAR header's one root is the CID the path resolves to (boxo's `LastSegment`);
//! - path blocks first, in the order read (HAMT shards on the way included), the block the
//!   path ends at last;
//! - `block`: nothing more; `all`: every block below, depth-first in link order, through
//!   dag-pb, dag-cbor and dag-json links alike; `entity`: for a UnixFS file the blocks holding
//!   its bytes (only those intersecting `entity-bytes` when given), for a HAMT directory its
//!   shards (not the entries), for anything else nothing;
//! - identity-hash blocks are read (they may have links) but never written, as go-car does;
//! - `dups=n` (the default) sends each block once, and a block already sent is not walked
//!   again (go-ipld-prime's `LinkVisitOnlyOnce`); `dups=y` sends blocks as often as the walk
//!   meets them.

use std::collections::HashSet;

use bytes::Bytes;
use cid::Cid;
use multihash::Multihash;
use smallvec::SmallVec;

use super::file::decode_file_node;
use super::resolve::{self, Located, Remainder};
use super::{fetch, Error, Result};
use crate::ipld::cid::{codec, is_inline};
use crate::ipld::dagpb::{self, PbNode};
use crate::ipld::unixfs::{self, DataType};
use crate::ipld::{car, hamt, links, Error as IpldError};
use crate::store::SharedSource;

/// Deepest DAG walked by `dag-scope=all`. Frames live on the heap and cost a few words plus
/// their links, so this only stops pathological chains.
const MAX_DAG_DEPTH: usize = 1 << 16;

/// Deepest UnixFS file DAG walked; balanced DAGs of real files are a handful of levels deep.
const MAX_FILE_DEPTH: usize = 64;

pub use crate::ipld::dag_scope::{DagScope, EntityBytes};

/// Parses a `dag-scope` value: `block`, `entity` or `all`.
pub fn parse_dag_scope(text: &str) -> Result<DagScope> {
    DagScope::parse(text).ok_or_else(|| {
        Error::InvalidInput(format!(
            "unsupported dag-scope {text:?} (expected block, entity or all)"
        ))
    })
}

/// Parses an `entity-bytes` value (see [`EntityBytes::parse`]).
pub fn parse_entity_bytes(text: &str) -> Result<EntityBytes> {
    EntityBytes::parse(text)
        .map_err(|why| Error::InvalidInput(format!("invalid entity-bytes {text:?}: {why}")))
}

/// What a CAR request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CarParams {
    pub scope: DagScope,
    /// Honoured with [`DagScope::Entity`] only (boxo ignores it under the other scopes).
    pub entity_bytes: Option<EntityBytes>,
    /// `dups=y`: send a block each time the walk meets it.
    pub dups: bool,
}

impl CarParams {
    /// Parameters from the request's `dag-scope` and `entity-bytes` query values (`None` when
    /// absent) and its `dups` choice. `entity-bytes` alone implies `dag-scope=entity`, as the
    /// spec says. Malformed values are `InvalidInput` (400).
    pub fn from_query(
        dag_scope: Option<&str>,
        entity_bytes: Option<&str>,
        dups: bool,
    ) -> Result<CarParams> {
        let entity_bytes = entity_bytes.map(parse_entity_bytes).transpose()?;
        let scope = match (dag_scope, entity_bytes) {
            (Some(text), _) => parse_dag_scope(text)?,
            (None, Some(_)) => DagScope::Entity,
            (None, None) => DagScope::All,
        };
        Ok(CarParams {
            scope,
            entity_bytes,
            dups,
        })
    }
}

/// One dag-pb file node being walked: its children and where the next one starts.
struct FileFrame {
    links: Vec<Cid>,
    sizes: SmallVec<[u64; 8]>,
    next: usize,
    /// File offset at which child `next` starts.
    offset: u64,
}

/// The walk below the block the path ends at.
enum Walk {
    Done,
    /// `dag-scope=all`: the links still to visit at each level, depth-first.
    All(Vec<std::vec::IntoIter<Cid>>),
    /// A UnixFS file's blocks holding bytes of `range` (inclusive; `None`: all of them).
    File {
        stack: Vec<FileFrame>,
        range: Option<(u64, u64)>,
    },
    /// A HAMT directory's sub-shards, depth-first.
    Hamt {
        stack: Vec<std::vec::IntoIter<Cid>>,
        fanout: u64,
        width: usize,
    },
}

/// A CARv1 response body, produced lazily: `Ok` chunks (the header, then each section as a
/// prefix and the block's own bytes) until the walk ends, or one `Err` when a block it needs
/// is missing or malformed, after which the stream ends (the response must then be aborted:
/// the client cannot tell a truncated CAR from a complete one otherwise).
///
/// Reads blocks from its source as it is pulled ([`CarExport::next_chunk`]), so a CAR of
/// blocks that arrive slowly goes out as they arrive.
pub struct CarExport {
    source: SharedSource,
    header: Option<Bytes>,
    /// Blocks read to resolve the path, not yet sent (the last is the terminal block).
    path: std::vec::IntoIter<(Cid, Bytes)>,
    /// The data of the section whose prefix was just produced.
    data: Option<Bytes>,
    walk: Walk,
    /// Multihashes sent (or identity blocks walked) so far; `None` with `dups=y`.
    seen: Option<HashSet<Multihash<64>>>,
    done: bool,
    terminal: Cid,
    roots: SmallVec<[Cid; 4]>,
}

impl CarExport {
    /// Resolves `segments` below `root` (recording the blocks read) and prepares the stream.
    /// Fails before anything is sent when the path names nothing (`NotFound`) or a block on it
    /// is missing (`BlockMissing`). A path that ends inside a dag-cbor/dag-json block on a
    /// value that is not a link selects that block (as boxo does: the client checks the rest
    /// of the path inside it).
    pub async fn new(
        source: SharedSource,
        root: Cid,
        segments: &[&str],
        params: CarParams,
    ) -> Result<Self> {
        let mut path = Vec::new();
        let Located { cid, block, roots } = resolve::locate_traced(
            &*source,
            root,
            segments,
            Remainder::ContainingBlock,
            &mut |c, b| path.push((*c, b.clone())),
        )
        .await?;
        let walk = match params.scope {
            DagScope::Block => Walk::Done,
            DagScope::All => {
                let mut children = Vec::new();
                links::links(&cid, &block, &mut children)?;
                Walk::All(vec![children.into_iter()])
            }
            DagScope::Entity => entity_walk(&cid, &block, params.entity_bytes)?,
        };
        Ok(CarExport {
            source,
            header: Some(Bytes::from(car::v1_header(&[cid]))),
            path: path.into_iter(),
            data: None,
            walk,
            seen: (!params.dups).then(HashSet::new),
            done: false,
            terminal: cid,
            roots,
        })
    }

    /// The CID the path resolved to: the CAR's root, and what `Etag` and file names derive
    /// from.
    pub fn terminal(&self) -> &Cid {
        &self.terminal
    }

    /// The root, then the CID each path segment resolved to (for `X-Ipfs-Roots`).
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// Records a block about to be sent; whether to send it (identity blocks never are, and
    /// with `dups=n` nothing is sent twice).
    fn admit(seen: &mut Option<HashSet<Multihash<64>>>, cid: &Cid) -> bool {
        let new = seen.as_mut().is_none_or(|seen| seen.insert(*cid.hash()));
        new && !is_inline(cid)
    }

    fn already_sent(seen: &Option<HashSet<Multihash<64>>>, cid: &Cid) -> bool {
        seen.as_ref().is_some_and(|seen| seen.contains(cid.hash()))
    }

    /// The next block of the walk to send, or `None` when the walk is over.
    async fn walk_next(&mut self) -> Result<Option<(Cid, Bytes)>> {
        let source = &*self.source;
        let seen = &mut self.seen;
        match &mut self.walk {
            Walk::Done => Ok(None),
            Walk::All(stack) => loop {
                let Some(level) = stack.last_mut() else {
                    return Ok(None);
                };
                let Some(cid) = level.next() else {
                    stack.pop();
                    continue;
                };
                // A block already sent was walked in full then: its subtree is in the CAR.
                if Self::already_sent(seen, &cid) {
                    continue;
                }
                let block = fetch(source, &cid).await?;
                let mut children = Vec::new();
                links::links(&cid, &block, &mut children)?;
                if !children.is_empty() {
                    if stack.len() >= MAX_DAG_DEPTH {
                        return Err(IpldError::unsupported(format!(
                            "DAG deeper than {MAX_DAG_DEPTH} levels"
                        ))
                        .into());
                    }
                    stack.push(children.into_iter());
                }
                if Self::admit(seen, &cid) {
                    return Ok(Some((cid, block)));
                }
            },
            Walk::File { stack, range } => loop {
                let Some(frame) = stack.last_mut() else {
                    return Ok(None);
                };
                let (Some(&cid), Some(&size)) =
                    (frame.links.get(frame.next), frame.sizes.get(frame.next))
                else {
                    stack.pop();
                    continue;
                };
                let start = frame.offset;
                frame.next += 1;
                frame.offset = start.saturating_add(size);
                if let Some((first, last)) = *range {
                    if start > last {
                        // This child and every later one lie past the range.
                        stack.pop();
                        continue;
                    }
                    if start.saturating_add(size) <= first {
                        continue; // wholly before the range: never read
                    }
                }
                // A leaf already sent needs no reading; an inner node does, for its children
                // may hold bytes its first occurrence did not cover.
                if cid.codec() == codec::RAW && Self::already_sent(seen, &cid) {
                    continue;
                }
                let block = fetch(source, &cid).await?;
                match cid.codec() {
                    codec::RAW => {}
                    codec::DAG_PB => {
                        let (node, data) = decode_file_node(&block)?;
                        if !node.links.is_empty() {
                            if stack.len() >= MAX_FILE_DEPTH {
                                return Err(IpldError::unixfs("file DAG is too deep").into());
                            }
                            stack.push(file_frame(&node, data, start)?);
                        }
                    }
                    other => {
                        return Err(IpldError::unsupported(format!(
                            "file DAG links to a block of codec 0x{other:x}"
                        ))
                        .into())
                    }
                }
                if Self::admit(seen, &cid) {
                    return Ok(Some((cid, block)));
                }
            },
            Walk::Hamt {
                stack,
                fanout,
                width,
            } => loop {
                let Some(level) = stack.last_mut() else {
                    return Ok(None);
                };
                let Some(cid) = level.next() else {
                    stack.pop();
                    continue;
                };
                let block = fetch(source, &cid).await?;
                let node = dagpb::decode(&block)?;
                resolve::check_shard(&node, *fanout)?;
                let children = sub_shards(&node, *width)?;
                if !children.is_empty() {
                    if stack.len() >= hamt::max_depth(*fanout) {
                        return Err(IpldError::hamt("HAMT has too many levels").into());
                    }
                    stack.push(children.into_iter());
                }
                if Self::admit(seen, &cid) {
                    return Ok(Some((cid, block)));
                }
            },
        }
    }

    /// The CAR as a stream of chunks, for a response body.
    pub fn into_stream(self) -> impl futures_core::Stream<Item = Result<Bytes>> + Send {
        futures_util::stream::unfold(self, |mut this| async move {
            let chunk = this.next_chunk().await?;
            Some((chunk, this))
        })
    }

    /// The next chunk of the CAR: the header, then each section as a prefix and the block's
    /// own bytes; `None` at the end, or after an error.
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes>> {
        if let Some(header) = self.header.take() {
            return Some(Ok(header));
        }
        if let Some(data) = self.data.take() {
            return Some(Ok(data));
        }
        if self.done {
            return None;
        }
        loop {
            let (cid, block) = match self.path.next() {
                Some(path_block) => {
                    if !Self::admit(&mut self.seen, &path_block.0) {
                        continue;
                    }
                    path_block
                }
                None => match self.walk_next().await {
                    Ok(Some(next)) => next,
                    Ok(None) => {
                        self.done = true;
                        return None;
                    }
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                },
            };
            let mut prefix = Vec::new();
            car::section_prefix(&cid, block.len(), &mut prefix);
            if !block.is_empty() {
                self.data = Some(block);
            }
            return Some(Ok(Bytes::from(prefix)));
        }
    }
}

/// The walk `dag-scope=entity` makes below the block the path ends at.
fn entity_walk(cid: &Cid, block: &Bytes, entity_bytes: Option<EntityBytes>) -> Result<Walk> {
    if cid.codec() != codec::DAG_PB {
        // A raw block is a whole file; dag-cbor, dag-json and the rest are their own block.
        return Ok(Walk::Done);
    }
    let node = dagpb::decode(block)?;
    // dag-pb that is not UnixFS is an entity of one block, as in boxo.
    let Some(data) = node.data.as_ref().and_then(|d| unixfs::decode(d).ok()) else {
        return Ok(Walk::Done);
    };
    match data.kind {
        // boxo sends a `Raw` node's block alone; every importer makes `Raw` nodes leaves, so
        // reading it as a file sends the same, and stays right if one ever has children.
        DataType::File | DataType::Raw => {
            let range = match entity_bytes {
                None => None,
                Some(bytes) => match bytes.resolve(data.file_size()) {
                    Some(range) => Some(range),
                    None => return Ok(Walk::Done),
                },
            };
            let stack = if node.links.is_empty() {
                Vec::new()
            } else {
                vec![file_frame(&node, data, 0)?]
            };
            Ok(Walk::File { stack, range })
        }
        DataType::HamtShard => {
            let fanout = resolve::hamt_fanout(&data)?;
            let width = hamt::prefix_len(fanout)?;
            Ok(Walk::Hamt {
                stack: vec![sub_shards(&node, width)?.into_iter()],
                fanout,
                width,
            })
        }
        // Listing a plain directory takes its block alone; symlinks and metadata are leaves.
        DataType::Directory | DataType::Symlink | DataType::Metadata => Ok(Walk::Done),
    }
}

/// The frame walking the children of a file node whose content starts at `base`.
fn file_frame(node: &PbNode, data: unixfs::UnixFsData, base: u64) -> Result<FileFrame> {
    data.check_file_children(node.links.len())?;
    Ok(FileFrame {
        links: node.links.iter().map(|link| link.cid).collect(),
        offset: base.saturating_add(data.data_len()),
        sizes: data.blocksizes,
        next: 0,
    })
}

/// The links of a HAMT shard that lead to sub-shards (not to entries), in link order.
fn sub_shards(node: &PbNode, width: usize) -> Result<Vec<Cid>> {
    let mut out = Vec::new();
    for link in &node.links {
        if let hamt::HamtLink::Shard = hamt::classify_link(link.name_str(), width)?.1 {
            out.push(link.cid);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipld::car::{CarDecoder, CarEvent, CarLimits};
    use crate::ipld::dagpb::PbLinkRef;
    use crate::services::testing::{block_on, source};
    use crate::services::testing::{hamt_dir, store_with, FIXTURES};
    use crate::store::Blockstore;
    use std::sync::Arc;

    /// Tests pull the stream as an iterator, each chunk on a runtime of its own.
    impl Iterator for CarExport {
        type Item = Result<Bytes>;

        fn next(&mut self) -> Option<Result<Bytes>> {
            block_on(self.next_chunk())
        }
    }

    fn cid(text: &str) -> Cid {
        text.parse().unwrap()
    }

    fn cids(texts: &[&str]) -> Vec<Cid> {
        texts.iter().map(|t| cid(t)).collect()
    }

    const TWO_FILES: &str = "trustless_gateway_car/subdir-with-two-single-block-files.car";
    const MIXED: &str = "trustless_gateway_car/subdir-with-mixed-block-files.car";
    const HAMT: &str = "trustless_gateway_car/single-layer-hamt-with-multi-block-files.car";
    const DAG_CBOR: &str = "trustless_gateway_car/dir-with-dag-cbor-with-links.car";
    const DUPLICATES: &str = "trustless_gateway_car/dir-with-duplicate-files.car";
    const MISSING: &str = "trustless_gateway_car/file-3k-and-3-blocks-missing-block.car";

    const TWO_FILES_ROOT: &str = "bafybeietjm63oynimmv5yyqay33nui4y4wx6u3peezwetxgiwvfmelutzu";
    const TWO_FILES_SUBDIR: &str = "bafybeiggghzz6dlue3m6nb2dttnbrygxh3lrjl5764f2m4gq7dgzdt55o4";
    const MIXED_ROOT: &str = "bafybeidh6k2vzukelqtrjsmd4p52cpmltd2ufqrdtdg6yigi73in672fwu";
    const MIXED_SUBDIR: &str = "bafybeicnmple4ehlz3ostv2sbojz3zhh5q7tz5r2qkfdpqfilgggeen7xm";
    const HAMT_ROOT: &str = "bafybeidbclfqleg2uojchspzd4bob56dqetqjsj27gy2cq3klkkgxtpn4i";
    const CBOR_DIR: &str = "bafybeia264q44a3kmfc2otctzu4egp2k235o3t7mslz2yjraymp4nv6asi";
    const DOCUMENT: &str = "bafyreidy4q6mmetut5jzc54ambsfnatbyoujmwbfzyyolqw24majazwgha";
    const DUPLICATES_ROOT: &str = "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";
    const MISSING_ROOT: &str = "QmYhmPjhFjYFyaoiuNzYv8WGavpSRDwdHWe5B4M5du5Rtk";
    const ASCII: &str = "bafkreifkam6ns4aoolg3wedr4uzrs3kvq66p4pecirz6y2vlrngla62mxm";
    const HELLO: &str = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";
    /// `multiblock.txt` (1026 bytes in 256-byte raw leaves), in several fixtures.
    const MULTIBLOCK: &str = "bafybeigcisqd7m5nf3qmuvjdbakl5bdnh4ocrmacaqkpuh77qjvggmt2sa";
    /// Its leaves, as the spec-level fixture recipe lists them.
    const LEAVES: [&str; 5] = [
        "bafkreie5noke3mb7hqxukzcy73nl23k6lxszxi5w3dtmuwz62wnvkpsscm",
        "bafkreih4ephajybraj6wnxsbwjwa77fukurtpl7oj7t7pfq545duhot7cq",
        "bafkreigu7buvm3cfunb35766dn7tmqyh2um62zcio63en2btvxuybgcpue",
        "bafkreicll3huefkc3qnrzeony7zcfo7cr3nbx64hnxrqzsixpceg332fhe",
        "bafkreifst3pqztuvj57lycamoi7z34b4emf7gawxs74nwrc2c7jncmpaqm",
    ];

    fn scope(scope: DagScope) -> CarParams {
        CarParams {
            scope,
            ..CarParams::default()
        }
    }

    fn entity_bytes(text: &str) -> CarParams {
        CarParams::from_query(Some("entity"), Some(text), false).unwrap()
    }

    /// Everything a stream produced: the chunks, and the error that ended it, if any.
    fn drain(export: CarExport) -> (Vec<Bytes>, Option<Error>) {
        let mut chunks = Vec::new();
        for item in export {
            match item {
                Ok(chunk) => chunks.push(chunk),
                Err(e) => return (chunks, Some(e)),
            }
        }
        (chunks, None)
    }

    /// Decodes a CAR, checking every block against its CID; returns roots and block CIDs.
    fn decode(chunks: &[Bytes]) -> (Vec<Cid>, Vec<Cid>) {
        let mut decoder = CarDecoder::new(CarLimits::default());
        for chunk in chunks {
            decoder.push(chunk.clone());
        }
        decoder.finish();
        let (mut roots, mut blocks) = (Vec::new(), Vec::new());
        while let Some(event) = decoder.next().unwrap() {
            match event {
                CarEvent::Header { version, roots: r } => {
                    assert_eq!(version, 1);
                    roots = r;
                }
                CarEvent::Block { cid, data } => {
                    crate::store::verify(&cid, &data).unwrap();
                    blocks.push(cid);
                }
            }
        }
        (roots, blocks)
    }

    /// The blocks of a complete export, checking that its root is the path's end.
    fn export(store: &Arc<Blockstore>, root: &str, path: &[&str], params: CarParams) -> Vec<Cid> {
        let export = block_on(CarExport::new(source(store), cid(root), path, params)).unwrap();
        let terminal = *export.terminal();
        let (chunks, error) = drain(export);
        assert!(error.is_none(), "{error:?}");
        let (roots, blocks) = decode(&chunks);
        assert_eq!(roots, [terminal]);
        blocks
    }

    /// Every block below `root` depth-first, repeats included (the suite's
    /// `MustGetDescendantsCids`), found independently of the exporter.
    fn descendants(store: &Blockstore, root: &Cid) -> Vec<Cid> {
        let block = store.get(root).unwrap().unwrap();
        let mut children = Vec::new();
        links::links(root, &block, &mut children).unwrap();
        let mut out = Vec::new();
        for child in children {
            out.push(child);
            out.extend(descendants(store, &child));
        }
        out
    }

    /// The sub-shards of a HAMT depth-first (the suite's `MustGetCidsInHAMT`).
    fn shards(store: &Blockstore, shard: &Cid, width: usize) -> Vec<Cid> {
        let node = dagpb::decode(&store.get(shard).unwrap().unwrap()).unwrap();
        let mut out = Vec::new();
        for link in &node.links {
            if link.name_str().len() == width {
                out.push(link.cid);
                out.extend(shards(store, &link.cid, width));
            }
        }
        out
    }

    /// The blocks a traced resolution reads (the suite's path blocks).
    fn path_blocks(store: &Blockstore, root: &str, path: &[&str]) -> Vec<Cid> {
        let mut read = Vec::new();
        block_on(resolve::resolve_traced(
            store,
            cid(root),
            path,
            &mut |c, _| read.push(*c),
        ))
        .unwrap();
        read
    }

    fn concat(parts: &[&[Cid]]) -> Vec<Cid> {
        parts.concat()
    }

    // ---- TestTrustlessCarPathing ----

    #[test]
    fn default_scope_carries_path_blocks_then_the_whole_entity() {
        let (_dir, store) = store_with(&[TWO_FILES, HAMT, DAG_CBOR]);
        assert_eq!(
            export(
                &store,
                TWO_FILES_ROOT,
                &["subdir", "ascii.txt"],
                CarParams::default()
            ),
            cids(&[TWO_FILES_ROOT, TWO_FILES_SUBDIR, ASCII])
        );
        // Through a HAMT: the shard on the way, then the multi-block file.
        let hamt_path = path_blocks(&store, HAMT_ROOT, &["685.txt"]);
        assert_eq!(hamt_path.len(), 3, "root, one sub-shard, the file");
        assert_eq!(hamt_path[2], cid(MULTIBLOCK));
        assert_eq!(
            export(&store, HAMT_ROOT, &["685.txt"], CarParams::default()),
            concat(&[&hamt_path, &descendants(&store, &cid(MULTIBLOCK))])
        );
        // From a dag-cbor root through its links: no block for the "files" map.
        assert_eq!(
            export(&store, DOCUMENT, &["files", "single"], CarParams::default()),
            cids(&[DOCUMENT, HELLO])
        );
    }

    #[test]
    fn a_path_that_names_nothing_fails_before_streaming() {
        let (_dir, store) = store_with(&[TWO_FILES]);
        let result = block_on(CarExport::new(
            source(&store),
            cid(TWO_FILES_ROOT),
            &["subdir", "i-do-not-exist"],
            CarParams::default(),
        ));
        assert!(matches!(result, Err(Error::NotFound(_))));
        let absent = cid("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy");
        let result = block_on(CarExport::new(
            source(&store),
            absent,
            &[],
            CarParams::default(),
        ));
        assert!(matches!(result, Err(Error::BlockMissing(c)) if c == absent));
    }

    #[test]
    fn a_path_ending_inside_a_block_selects_that_block() {
        let (_dir, store) = store_with(&[DAG_CBOR]);
        let export_of = block_on(CarExport::new(
            source(&store),
            cid(DOCUMENT),
            &["files"],
            CarParams::default(),
        ));
        assert_eq!(export_of.unwrap().terminal(), &cid(DOCUMENT));
        assert_eq!(
            export(&store, DOCUMENT, &["files"], scope(DagScope::Block)),
            cids(&[DOCUMENT])
        );
        // With the whole DAG below it, as Kubo answers `/ipfs/<doc>/files?format=car`.
        assert_eq!(
            export(&store, DOCUMENT, &["files"], CarParams::default()),
            export(&store, DOCUMENT, &[], CarParams::default())
        );
    }

    // ---- TestTrustlessCarDagScopeBlock ----

    #[test]
    fn block_scope_stops_at_the_end_of_the_path() {
        let (_dir, store) = store_with(&[TWO_FILES, HAMT]);
        let block = scope(DagScope::Block);
        assert_eq!(
            export(&store, TWO_FILES_ROOT, &["subdir"], block),
            cids(&[TWO_FILES_ROOT, TWO_FILES_SUBDIR])
        );
        assert_eq!(
            export(&store, TWO_FILES_ROOT, &["subdir", "ascii.txt"], block),
            cids(&[TWO_FILES_ROOT, TWO_FILES_SUBDIR, ASCII])
        );
        let one = path_blocks(&store, HAMT_ROOT, &["1.txt"]);
        assert!(one.len() >= 3, "the HAMT path holds a shard: {one:?}");
        assert_eq!(export(&store, HAMT_ROOT, &["1.txt"], block), one);
        // A multi-block file: its root only.
        assert_eq!(
            export(&store, HAMT_ROOT, &["685.txt"], block),
            path_blocks(&store, HAMT_ROOT, &["685.txt"])
        );
    }

    // ---- TestTrustlessCarDagScopeEntity ----

    #[test]
    fn entity_scope_of_directories_files_and_dag_cbor() {
        let (_dir, store) = store_with(&[TWO_FILES, HAMT, MIXED, DAG_CBOR]);
        let entity = scope(DagScope::Entity);
        assert_eq!(
            export(&store, TWO_FILES_ROOT, &[], entity),
            cids(&[TWO_FILES_ROOT])
        );
        let hamt_shards = shards(&store, &cid(HAMT_ROOT), 2);
        assert!(!hamt_shards.is_empty());
        assert_eq!(
            export(&store, HAMT_ROOT, &[], entity),
            concat(&[&cids(&[HAMT_ROOT]), &hamt_shards])
        );
        assert_eq!(
            export(&store, MIXED_ROOT, &["subdir", "ascii.txt"], entity),
            cids(&[MIXED_ROOT, MIXED_SUBDIR, ASCII])
        );
        assert_eq!(
            export(&store, MIXED_ROOT, &["subdir", "multiblock.txt"], entity),
            concat(&[
                &cids(&[MIXED_ROOT, MIXED_SUBDIR, MULTIBLOCK]),
                &cids(&LEAVES)
            ])
        );
        // A dag-cbor document: the block, not what its links point to.
        assert_eq!(
            export(&store, CBOR_DIR, &["document"], entity),
            cids(&[CBOR_DIR, DOCUMENT])
        );
    }

    #[test]
    fn entity_scope_of_a_multi_level_hamt_takes_every_shard_and_no_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(Blockstore::open(dir.path(), Default::default()).unwrap());
        let (root, entries) = hamt_dir(&store, 300, 8);
        let width = hamt::prefix_len(8).unwrap();
        let all_shards = shards(&store, &root, width);
        assert!(
            all_shards.len() > 8,
            "a deep HAMT: {} shards",
            all_shards.len()
        );
        let blocks = export(&store, &root.to_string(), &[], scope(DagScope::Entity));
        assert_eq!(blocks, concat(&[&[root], &all_shards]));
        assert!(!entries.iter().any(|(_, entry)| blocks.contains(entry)));
        // Under dag-scope=all every entry follows, each after the shard that holds it.
        let everything = export(&store, &root.to_string(), &[], scope(DagScope::All));
        assert_eq!(everything, concat(&[&[root], &descendants(&store, &root)]));
        assert_eq!(everything.len(), 1 + all_shards.len() + entries.len());
    }

    // ---- TestTrustlessCarDagScopeAll ----

    #[test]
    fn all_scope_walks_the_whole_dag_depth_first() {
        let (_dir, store) = store_with(&[MIXED, DAG_CBOR]);
        let all = scope(DagScope::All);
        assert_eq!(
            export(&store, MIXED_ROOT, &["subdir"], all),
            concat(&[
                &cids(&[MIXED_ROOT, MIXED_SUBDIR]),
                &descendants(&store, &cid(MIXED_SUBDIR)),
            ])
        );
        assert_eq!(
            export(&store, MIXED_ROOT, &["subdir", "multiblock.txt"], all),
            concat(&[
                &cids(&[MIXED_ROOT, MIXED_SUBDIR, MULTIBLOCK]),
                &cids(&LEAVES)
            ])
        );
        // dag-cbor links are followed in the order the block writes them.
        assert_eq!(
            export(&store, CBOR_DIR, &["document"], all),
            concat(&[
                &cids(&[CBOR_DIR, DOCUMENT, HELLO, MULTIBLOCK]),
                &cids(&LEAVES)
            ])
        );
    }

    // ---- TestTrustlessCarEntityBytes ----

    #[test]
    fn entity_bytes_never_touch_blocks_outside_the_range() {
        let (_dir, store) = store_with(&[MISSING]);
        let first = cid("QmPKt7ptM2ZYSGPUc8PmPT2VBkLDK3iqpG9TBJY7PCE9rF");
        let third = cid("QmWXY482zQdwecnfBsj78poUUuPXvyw2JAFAEMw4tzTavV");
        assert_eq!(
            export(&store, MISSING_ROOT, &[], entity_bytes("0:1000")),
            [cid(MISSING_ROOT), first]
        );
        assert_eq!(
            export(&store, MISSING_ROOT, &[], entity_bytes("2200:*")),
            [cid(MISSING_ROOT), third]
        );
        // The whole file needs the missing block: the stream ends with an error there, after
        // the blocks before it.
        for params in [scope(DagScope::Entity), scope(DagScope::All)] {
            let export = block_on(CarExport::new(
                source(&store),
                cid(MISSING_ROOT),
                &[],
                params,
            ))
            .unwrap();
            let (chunks, error) = drain(export);
            let missing = match error {
                Some(Error::BlockMissing(missing)) => missing,
                other => panic!("{other:?}"),
            };
            assert!(missing != first && missing != third);
            assert_eq!(decode(&chunks).1, [cid(MISSING_ROOT), first]);
        }
    }

    #[test]
    fn entity_bytes_select_the_minimal_blocks_of_a_file() {
        let (_dir, store) = store_with(&[MIXED, HAMT]);
        let leaves = cids(&LEAVES);
        let file = cid(MULTIBLOCK);
        let cases: [(&str, &[Cid]); 9] = [
            ("0:*", &leaves),
            ("512:*", &leaves[2..]),
            ("512:1023", &leaves[2..4]),
            ("512:-256", &leaves[2..4]),
            ("-5:*", &leaves[3..]),
            ("-9999:*", &leaves),
            ("-9999:-3", &leaves[..4]),
            ("0:0", &leaves[..1]),
            // Past the end: clamped to the file.
            ("1000:99999", &leaves[3..]),
        ];
        for (range, want) in cases {
            assert_eq!(
                export(&store, MULTIBLOCK, &[], entity_bytes(range)),
                concat(&[&[file], want]),
                "entity-bytes={range}"
            );
        }
        // Nothing of the file selected: its root alone, as dag-scope=block.
        for range in ["1026:*", "5000:6000", "10:-2000"] {
            assert_eq!(
                export(&store, MULTIBLOCK, &[], entity_bytes(range)),
                [file],
                "entity-bytes={range}"
            );
        }
        // Through a path, and on a directory (where the range means nothing).
        assert_eq!(
            export(
                &store,
                MIXED_ROOT,
                &["subdir", "multiblock.txt"],
                entity_bytes("0:*")
            ),
            concat(&[&cids(&[MIXED_ROOT, MIXED_SUBDIR, MULTIBLOCK]), &leaves])
        );
        assert_eq!(
            export(&store, HAMT_ROOT, &[], entity_bytes("0:*")),
            concat(&[&cids(&[HAMT_ROOT]), &shards(&store, &cid(HAMT_ROOT), 2)])
        );
        // Under the other scopes the range is ignored, as boxo does.
        let mut all = entity_bytes("0:0");
        all.scope = DagScope::All;
        assert_eq!(
            export(&store, MULTIBLOCK, &[], all),
            concat(&[&[file], &leaves])
        );
    }

    #[test]
    fn entity_bytes_walk_nested_file_nodes_and_their_own_data() {
        // A root holding 4 bytes of its own, then an inner node of two leaves, then a leaf.
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(Blockstore::open(dir.path(), Default::default()).unwrap());
        let put = |codec: u64, block: Vec<u8>| {
            use multihash_codetable::{Code, MultihashDigest};
            let cid = Cid::new_v1(codec, Code::Sha2_256.digest(&block));
            store.put(&cid, &block).unwrap();
            cid
        };
        let file_node = |own: &[u8], children: &[(Cid, u64)]| {
            let mut data = unixfs::UnixFsData::new(DataType::File);
            if !own.is_empty() {
                data.data = Some(Bytes::copy_from_slice(own));
            }
            data.blocksizes = children.iter().map(|c| c.1).collect();
            data.filesize = Some(own.len() as u64 + children.iter().map(|c| c.1).sum::<u64>());
            let refs: Vec<PbLinkRef<'_>> = children
                .iter()
                .map(|(cid, size)| PbLinkRef {
                    cid,
                    name: Some(""),
                    tsize: Some(*size),
                })
                .collect();
            dagpb::encode(&refs, Some(&data.encode()))
        };
        let a = put(codec::RAW, vec![b'a'; 10]); // bytes 4..14
        let b = put(codec::RAW, vec![b'b'; 10]); // 14..24
        let c = put(codec::RAW, vec![b'c'; 10]); // 24..34
        let inner = put(codec::DAG_PB, file_node(b"", &[(a, 10), (b, 10)]));
        let root = put(codec::DAG_PB, file_node(b"head", &[(inner, 20), (c, 10)]));
        let run = |range: &str| export(&store, &root.to_string(), &[], entity_bytes(range));
        assert_eq!(run("0:3"), [root], "the root's own data");
        assert_eq!(run("0:4"), [root, inner, a]);
        assert_eq!(run("14:14"), [root, inner, b]);
        assert_eq!(run("20:25"), [root, inner, b, c]);
        assert_eq!(
            run("24:*"),
            [root, c],
            "the inner node is skipped by its size"
        );
        assert_eq!(run("0:*"), [root, inner, a, b, c]);
    }

    // ---- TestTrustlessCarOrderAndDuplicates ----

    #[test]
    fn duplicates_are_sent_once_unless_asked_for() {
        let (_dir, store) = store_with(&[DUPLICATES]);
        let dups = CarParams {
            dups: true,
            ..CarParams::default()
        };
        // ascii-copy.txt and ascii.txt are the same block.
        assert_eq!(
            export(&store, DUPLICATES_ROOT, &[], dups),
            concat(&[
                &cids(&[DUPLICATES_ROOT, ASCII, ASCII, HELLO, MULTIBLOCK]),
                &cids(&LEAVES)
            ])
        );
        assert_eq!(
            export(&store, DUPLICATES_ROOT, &[], CarParams::default()),
            concat(&[
                &cids(&[DUPLICATES_ROOT, ASCII, HELLO, MULTIBLOCK]),
                &cids(&LEAVES)
            ])
        );
    }

    #[test]
    fn identity_blocks_are_walked_but_never_sent() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(Blockstore::open(dir.path(), Default::default()).unwrap());
        let inline = cid("bafkqaf3imvwgy3zaneqgc3janfxgy2lomvscay3jmqfa");
        let dups = CarParams {
            dups: true,
            ..CarParams::default()
        };
        let (chunks, error) =
            drain(block_on(CarExport::new(source(&store), inline, &[], dups)).unwrap());
        assert!(error.is_none());
        assert_eq!(decode(&chunks), (vec![inline], vec![]));

        // A directory holding an inlined file and an identity-hashed subdirectory (whose
        // link to a stored block must still be followed).
        let hello = Cid::new_v1(
            codec::RAW,
            multihash_codetable::MultihashDigest::digest(
                &multihash_codetable::Code::Sha2_256,
                b"hello world\n",
            ),
        );
        store.put(&hello, b"hello world\n").unwrap();
        let directory = |entries: &[(&str, Cid)]| {
            let refs: Vec<PbLinkRef<'_>> = entries
                .iter()
                .map(|(name, cid)| PbLinkRef {
                    cid,
                    name: Some(name),
                    tsize: Some(1),
                })
                .collect();
            dagpb::encode(
                &refs,
                Some(&unixfs::UnixFsData::new(DataType::Directory).encode()),
            )
        };
        let sub_block = directory(&[("hello.txt", hello)]);
        let sub = Cid::new_v1(
            codec::DAG_PB,
            Multihash::wrap(crate::ipld::cid::hash::IDENTITY, &sub_block).unwrap(),
        );
        let top_block = directory(&[("inline.txt", inline), ("sub", sub)]);
        let top = Cid::new_v1(
            codec::DAG_PB,
            multihash_codetable::MultihashDigest::digest(
                &multihash_codetable::Code::Sha2_256,
                &top_block,
            ),
        );
        store.put(&top, &top_block).unwrap();
        for params in [dups, CarParams::default()] {
            assert_eq!(export(&store, &top.to_string(), &[], params), [top, hello]);
        }
    }

    // ---- the stream itself ----

    #[test]
    fn sections_carry_the_stores_bytes_without_copying() {
        let (_dir, store) = store_with(&[MIXED]);
        let mut export = block_on(CarExport::new(
            source(&store),
            cid(MIXED_ROOT),
            &["subdir", "multiblock.txt"],
            CarParams::default(),
        ))
        .unwrap();
        assert_eq!(
            export.roots(),
            cids(&[MIXED_ROOT, MIXED_SUBDIR, MULTIBLOCK])
        );
        let header = export.next().unwrap().unwrap();
        assert_eq!(header, car::v1_header(&[cid(MULTIBLOCK)]));
        let mut sections = Vec::new();
        while let Some(prefix) = export.next() {
            let prefix = prefix.unwrap();
            let data = export.next().unwrap().unwrap();
            sections.push((prefix, data));
        }
        assert_eq!(sections.len(), 3 + LEAVES.len());
        for ((prefix, data), want) in sections.iter().zip(
            [MIXED_ROOT, MIXED_SUBDIR, MULTIBLOCK]
                .iter()
                .chain(LEAVES.iter()),
        ) {
            let want = cid(want);
            let stored = store.get(&want).unwrap().unwrap();
            assert_eq!(
                data.as_ptr(),
                stored.as_ptr(),
                "a slice of the cached block"
            );
            let mut expected = Vec::new();
            car::section_prefix(&want, stored.len(), &mut expected);
            assert_eq!(prefix, &expected);
        }
        assert!(export.next().is_none() && export.next().is_none());
    }

    #[test]
    fn a_stream_over_a_shared_store_can_move_to_a_blocking_thread() {
        fn sendable<T: Send + 'static>() {}
        sendable::<CarExport>();
    }

    #[test]
    fn cid_versions_are_kept_as_linked() {
        let (_dir, store) = store_with(&[MISSING]);
        let blocks = export(&store, MISSING_ROOT, &[], entity_bytes("0:0"));
        assert!(blocks.iter().all(|c| c.version() == cid::Version::V0));
    }

    #[test]
    fn every_fixture_exports_in_every_scope_without_panicking() {
        let table = std::fs::read_to_string(format!("{FIXTURES}/_derived_car_roots.tsv")).unwrap();
        for line in table.lines().skip(1) {
            let mut fields = line.split('\t');
            let (Some(file), _, Some(root)) = (fields.next(), fields.next(), fields.next()) else {
                continue;
            };
            // The table lists a few of the suite's own tooling CARs that are not shipped.
            if !std::path::Path::new(&format!("{FIXTURES}/{file}")).exists() {
                continue;
            }
            let (_dir, store) = store_with(&[file]);
            let root = cid(root);
            for scope in [DagScope::Block, DagScope::Entity, DagScope::All] {
                for dups in [false, true] {
                    let params = CarParams {
                        scope,
                        entity_bytes: None,
                        dups,
                    };
                    let Ok(export) = block_on(CarExport::new(source(&store), root, &[], params))
                    else {
                        continue;
                    };
                    let (chunks, _) = drain(export);
                    let (_, blocks) = decode(&chunks);
                    assert_eq!(blocks.first(), Some(&root).filter(|r| !is_inline(r)));
                }
            }
        }
    }

    // ---- parameters ----

    #[test]
    fn entity_bytes_parse_as_boxo_does() {
        let ok = |text: &str, from: i64, to: Option<i64>| {
            assert_eq!(
                parse_entity_bytes(text).unwrap(),
                EntityBytes { from, to },
                "{text}"
            );
        };
        ok("0:*", 0, None);
        ok("-5:*", -5, None);
        ok("512:1023", 512, Some(1023));
        ok("512:-256", 512, Some(-256));
        ok("-9999:-3", -9999, Some(-3));
        ok("-3:10", -3, Some(10));
        ok("0:0", 0, Some(0));
        for bad in [
            "",
            "0",
            "1:2:3",
            "a:1",
            "1:b",
            ":1",
            "1:",
            "*:*",
            "10:5",
            "-3:-5",
            " 1:2",
            "99999999999999999999:*",
        ] {
            assert!(
                matches!(parse_entity_bytes(bad), Err(Error::InvalidInput(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn entity_bytes_resolve_against_the_entity_size() {
        let eb = |text: &str| parse_entity_bytes(text).unwrap();
        assert_eq!(eb("0:*").resolve(1026), Some((0, 1025)));
        assert_eq!(eb("-9999:-3").resolve(1026), Some((0, 1023)));
        assert_eq!(eb("512:-256").resolve(1026), Some((512, 770)));
        assert_eq!(eb("0:5000").resolve(1026), Some((0, 1025)));
        assert_eq!(eb("0:*").resolve(0), None);
        assert_eq!(eb("1026:*").resolve(1026), None);
        assert_eq!(eb("10:-2000").resolve(1026), None);
        assert_eq!(eb("-3:10").resolve(5), Some((2, 4)));
        let extreme = EntityBytes {
            from: i64::MIN,
            to: Some(i64::MAX),
        };
        let top = i64::MAX as u64;
        assert_eq!(extreme.resolve(u64::MAX), Some((top, top)));
        let to_end = EntityBytes {
            from: i64::MIN,
            to: None,
        };
        assert_eq!(to_end.resolve(u64::MAX), Some((top, u64::MAX - 1)));
    }

    #[test]
    fn query_parameters() {
        let params = CarParams::from_query(None, None, false).unwrap();
        assert_eq!(params, CarParams::default());
        assert_eq!(params.scope, DagScope::All);
        let params = CarParams::from_query(None, Some("0:10"), true).unwrap();
        assert_eq!(
            params.scope,
            DagScope::Entity,
            "entity-bytes implies entity"
        );
        assert!(params.dups);
        for (text, scope) in [
            ("block", DagScope::Block),
            ("entity", DagScope::Entity),
            ("all", DagScope::All),
        ] {
            assert_eq!(parse_dag_scope(text).unwrap(), scope);
            assert_eq!(scope.as_str(), text);
        }
        for bad in [(Some("everything"), None), (Some("all"), Some("x"))] {
            assert!(matches!(
                CarParams::from_query(bad.0, bad.1, false),
                Err(Error::InvalidInput(_))
            ));
        }
    }

    // ---- a slow source ----

    #[tokio::test]
    async fn a_car_streams_each_block_as_it_arrives() {
        let (_dir, store) = store_with(&[MIXED]);
        let gated = crate::test_support::GatedSource::new(Arc::clone(&store), cids(&LEAVES));
        let gate = gated.gate();
        let source: SharedSource = Arc::new(gated);
        let export = CarExport::new(source, cid(MULTIBLOCK), &[], CarParams::default())
            .await
            .unwrap();
        // Pulled as a response body pulls it: a wait given up keeps its place.
        use futures_util::StreamExt;
        let mut export = std::pin::pin!(export.into_stream());
        // The header and the root's section need no leaf.
        let mut sent = Vec::new();
        for _ in 0..3 {
            sent.push(export.next().await.unwrap().unwrap());
        }
        let wait = std::time::Duration::from_millis(100);
        for leaf in LEAVES {
            // Nothing more goes out until the next leaf arrives …
            assert!(
                tokio::time::timeout(wait, export.next()).await.is_err(),
                "a chunk came out before its block arrived"
            );
            // … and as soon as it does, its section does.
            gate.add_permits(1);
            let prefix = export.next().await.unwrap().unwrap();
            let data = export.next().await.unwrap().unwrap();
            assert!(prefix.ends_with(&cid(leaf).to_bytes()), "{prefix:?} {leaf}");
            assert_eq!(data, store.get(&cid(leaf)).unwrap().unwrap());
            sent.extend([prefix, data]);
        }
        assert!(export.next().await.is_none());
        let (roots, blocks) = decode(&sent);
        assert_eq!(roots, [cid(MULTIBLOCK)]);
        assert_eq!(blocks, concat(&[&[cid(MULTIBLOCK)], &cids(&LEAVES)]));
    }
}
