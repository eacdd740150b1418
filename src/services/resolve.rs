//! Path resolution: from a root CID and path segments to the node they name, through UnixFS
//! directories, HAMT shards and the links of dag-cbor and dag-json blocks, recording the CID
//! each segment resolved to (for `X-Ipfs-Roots`) and, when asked, every block read on the way
//! (for CAR responses, which must carry them). Symlinks are not followed mid-path, as in Kubo:
//! a symlink can only be the last segment, and is then served as itself.
//!
//! Inside a dag-cbor or dag-json block a segment selects a map key (or a list index); a link
//! reached that way is followed into its block. A path that ends on a value that is not a link
//! is refused as unsupported (501), as boxo does: only whole blocks are served.

use bytes::Bytes;
use cid::Cid;
use smallvec::SmallVec;

use super::{fetch, Error, Result};
use crate::ipld::cid::codec;
use crate::ipld::dagpath::{self, Cursor};
use crate::ipld::dagpb::{self, PbNode};
use crate::ipld::unixfs::{self, DataType, UnixFsData};
use crate::ipld::{hamt, Error as IpldError};
use crate::store::BlockSource;

/// Deepest path accepted; deeper paths are refused before any block is read.
pub const MAX_PATH_DEPTH: usize = 128;

/// What a CID's block is, as far as serving it goes.
pub enum Node {
    /// A file: a raw block, or a dag-pb UnixFS File/Raw node (its DAG may span many blocks).
    File(FileRoot),
    /// A plain UnixFS directory.
    Directory(PbNode),
    /// A HAMT-sharded UnixFS directory (its root shard).
    HamtDirectory(PbNode, u64),
    /// A UnixFS symlink, with its target.
    Symlink(Bytes),
    /// A block of another codec (dag-cbor, dag-json, …), served as its bytes.
    Other(u64, Bytes),
}

/// The root of a file DAG.
// Lives briefly on the stack of one request; boxing the large variant would cost an
// allocation per request for nothing.
#[allow(clippy::large_enum_variant)]
pub enum FileRoot {
    Raw(Bytes),
    UnixFs { node: PbNode, data: UnixFsData },
}

impl FileRoot {
    /// The file's size in bytes, as its root declares it.
    pub fn size(&self) -> u64 {
        match self {
            FileRoot::Raw(bytes) => bytes.len() as u64,
            FileRoot::UnixFs { data, .. } => data.file_size(),
        }
    }

    /// The UnixFS 1.5 modification time, when the root carries a valid one.
    pub fn mtime(&self) -> Option<unixfs::UnixTime> {
        match self {
            FileRoot::Raw(_) => None,
            FileRoot::UnixFs { data, .. } => data.valid_mtime(),
        }
    }
}

impl Node {
    /// Reads and classifies the block of `cid`.
    pub async fn load(source: &dyn BlockSource, cid: &Cid) -> Result<Node> {
        let block = fetch(source, cid).await?;
        Node::decode(cid, block)
    }

    /// Classifies a block already in hand.
    pub fn decode(cid: &Cid, block: Bytes) -> Result<Node> {
        match cid.codec() {
            codec::RAW => Ok(Node::File(FileRoot::Raw(block))),
            codec::DAG_PB => {
                let node = dagpb::decode(&block)?;
                let data = match &node.data {
                    Some(data) => unixfs::decode(data)?,
                    None => return Err(IpldError::unixfs("dag-pb node has no UnixFS Data").into()),
                };
                Ok(match data.kind {
                    DataType::File | DataType::Raw => Node::File(FileRoot::UnixFs { node, data }),
                    DataType::Directory => Node::Directory(node),
                    DataType::HamtShard => {
                        let fanout = hamt_fanout(&data)?;
                        Node::HamtDirectory(node, fanout)
                    }
                    DataType::Symlink => Node::Symlink(data.data.unwrap_or_default()),
                    DataType::Metadata => {
                        return Err(IpldError::unsupported("UnixFS Metadata nodes").into())
                    }
                })
            }
            other => Ok(Node::Other(other, block)),
        }
    }

    pub fn is_directory(&self) -> bool {
        matches!(self, Node::Directory(_) | Node::HamtDirectory(..))
    }
}

/// The outcome of resolving a path.
pub struct Resolved {
    /// The CID the whole path names.
    pub cid: Cid,
    pub node: Node,
    /// The root, then the CID each segment resolved to (the last is `cid`).
    pub roots: SmallVec<[Cid; 4]>,
}

/// Resolves `segments` (already percent-decoded, without empty, `.` or `..` segments) below
/// `root`. Intermediate directories are scanned lazily, link by link, without building a
/// node; only the block the path ends at is fully decoded.
pub async fn resolve(source: &dyn BlockSource, root: Cid, segments: &[&str]) -> Result<Resolved> {
    resolve_traced(source, root, segments, &mut |_: &Cid, _: &Bytes| {}).await
}

/// [`resolve`], calling `trace` with every block read, in the order read: the root, each
/// block a segment leads to, and the HAMT shards looked through on the way. The last call is
/// for the block the path ends at.
pub async fn resolve_traced<F: FnMut(&Cid, &Bytes)>(
    source: &dyn BlockSource,
    root: Cid,
    segments: &[&str],
    trace: &mut F,
) -> Result<Resolved> {
    let Located { cid, block, roots } =
        locate_traced(source, root, segments, Remainder::Refuse, trace).await?;
    let node = Node::decode(&cid, block)?;
    Ok(Resolved { cid, node, roots })
}

/// Where a path ends, before the block there is classified.
pub struct Located {
    /// The CID the whole path names.
    pub cid: Cid,
    /// Its block, as read.
    pub block: Bytes,
    /// The root, then the CID of the block each segment ended in (the last is `cid`).
    pub roots: SmallVec<[Cid; 4]>,
}

/// What to do when a path ends inside a dag-cbor/dag-json block on a value that is not a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remainder {
    /// Refuse: reading IPLD kinds other than links is not implemented (the path gateway's 501).
    Refuse,
    /// The block holding the value is the result (boxo's CAR responses: the client verifies
    /// the rest of the path inside that block itself).
    ContainingBlock,
}

/// [`resolve_traced`] without decoding the block the path ends at, which may be of any codec
/// (a CAR export serves dag-pb blocks that are not UnixFS, too).
pub async fn locate_traced<F: FnMut(&Cid, &Bytes)>(
    source: &dyn BlockSource,
    root: Cid,
    segments: &[&str],
    remainder: Remainder,
    trace: &mut F,
) -> Result<Located> {
    let mut cid = root;
    let mut block = fetch(source, &root).await?;
    trace(&cid, &block);
    let mut roots = SmallVec::new();
    roots.push(root);
    // The value reached inside a dag-cbor/dag-json block, when the last segment stopped on a
    // value that is not a link.
    let mut inside: Option<Cursor> = None;
    for (depth, &segment) in segments.iter().enumerate() {
        if depth >= MAX_PATH_DEPTH {
            return Err(Error::InvalidInput(format!(
                "path is deeper than {MAX_PATH_DEPTH} segments"
            )));
        }
        let child = match cid.codec() {
            codec::DAG_PB => child_of(source, &block, segment, trace).await?,
            c if dagpath::is_pathable(c) => {
                let here = match inside.take() {
                    Some(cursor) => cursor,
                    None => Cursor::root(c, block.clone())?,
                };
                match here.step(segment)? {
                    Some(value) => match value.link()? {
                        Some(link) => Some(link),
                        None => {
                            inside = Some(value);
                            roots.push(cid);
                            continue;
                        }
                    },
                    None => None,
                }
            }
            _ => None,
        };
        let Some(child) = child else {
            return Err(Error::NotFound(format!(
                "no link named {segment:?} under {}",
                crate::ipld::cid::to_v1_string(&cid)
            )));
        };
        cid = child;
        block = fetch(source, &cid).await?;
        trace(&cid, &block);
        roots.push(cid);
    }
    if inside.is_some() && remainder == Remainder::Refuse {
        return Err(IpldError::unsupported(format!(
            "the path ends inside block {} on a value that is not a link: reading IPLD kinds \
             other than links is not implemented",
            crate::ipld::cid::to_v1_string(&cid)
        ))
        .into());
    }
    Ok(Located { cid, block, roots })
}

/// The child named `name` of a dag-pb block, if the block is a directory that has one.
async fn child_of<F: FnMut(&Cid, &Bytes)>(
    source: &dyn BlockSource,
    block: &Bytes,
    name: &str,
    trace: &mut F,
) -> Result<Option<Cid>> {
    let node = dagpb::decode_lazily(block)?;
    let Some(data) = &node.data else {
        return Ok(None);
    };
    let data = unixfs::decode(data)?;
    match data.kind {
        DataType::Directory => {
            for link in node.links {
                let link = link?;
                if link.name_str() == name {
                    return Ok(Some(link.cid));
                }
            }
            Ok(None)
        }
        DataType::HamtShard => {
            let fanout = hamt_fanout(&data)?;
            // Boxed: a HAMT descent is a large future, and every path resolution would carry it.
            Box::pin(hamt_lookup_lazily(
                source,
                block.clone(),
                fanout,
                name,
                trace,
            ))
            .await
        }
        _ => Ok(None),
    }
}

pub(crate) fn hamt_fanout(data: &UnixFsData) -> Result<u64> {
    let fanout = data.fanout.unwrap_or(0);
    hamt::prefix_len(fanout)?;
    if data.hash_type != Some(hamt::MURMUR3_X64_64) {
        return Err(IpldError::hamt("HAMT hash function is not murmur3-x64-64").into());
    }
    Ok(fanout)
}

/// The named link of a plain directory.
pub fn find_link(dir: &PbNode, name: &str) -> Option<Cid> {
    dir.links
        .iter()
        .find(|link| link.name_str() == name)
        .map(|link| link.cid)
}

/// Looks `name` up in a decoded HAMT root.
pub async fn hamt_lookup(
    source: &dyn BlockSource,
    root: &PbNode,
    fanout: u64,
    name: &str,
) -> Result<Option<Cid>> {
    let width = hamt::prefix_len(fanout)?;
    let mut hash = hamt::HashBits::new(name.as_bytes(), fanout)?;
    let slot = hash.next_slot()?;
    match slot_link(root.links.iter().cloned().map(Ok), slot, width, name)? {
        Slot::Found(cid) => Ok(Some(cid)),
        Slot::Absent => Ok(None),
        Slot::Shard(next) => {
            descend_hamt(source, next, fanout, width, hash, name, &mut |_, _| {}).await
        }
    }
}

/// Looks `name` up in a HAMT given its root block, fetching only the shards on its hash path.
async fn hamt_lookup_lazily<F: FnMut(&Cid, &Bytes)>(
    source: &dyn BlockSource,
    root: Bytes,
    fanout: u64,
    name: &str,
    trace: &mut F,
) -> Result<Option<Cid>> {
    let width = hamt::prefix_len(fanout)?;
    let mut hash = hamt::HashBits::new(name.as_bytes(), fanout)?;
    let slot = hash.next_slot()?;
    match slot_link(dagpb::decode_lazily(&root)?.links, slot, width, name)? {
        Slot::Found(cid) => Ok(Some(cid)),
        Slot::Absent => Ok(None),
        Slot::Shard(next) => descend_hamt(source, next, fanout, width, hash, name, trace).await,
    }
}

async fn descend_hamt<F: FnMut(&Cid, &Bytes)>(
    source: &dyn BlockSource,
    mut shard: Cid,
    fanout: u64,
    width: usize,
    mut hash: hamt::HashBits,
    name: &str,
    trace: &mut F,
) -> Result<Option<Cid>> {
    loop {
        let block = fetch(source, &shard).await?;
        trace(&shard, &block);
        let node = dagpb::decode_lazily(&block)?;
        check_shard_data(node.data.as_ref(), fanout)?;
        let slot = hash.next_slot()?;
        match slot_link(node.links, slot, width, name)? {
            Slot::Found(cid) => return Ok(Some(cid)),
            Slot::Absent => return Ok(None),
            Slot::Shard(next) => shard = next,
        }
    }
}

enum Slot {
    Found(Cid),
    Absent,
    Shard(Cid),
}

/// What a shard's links say about `name` at hash slot `slot`.
fn slot_link(
    links: impl IntoIterator<Item = crate::ipld::Result<dagpb::PbLink>>,
    slot: u32,
    width: usize,
    name: &str,
) -> Result<Slot> {
    for link in links {
        let link = link?;
        let (link_slot, kind) = hamt::classify_link(link.name_str(), width)?;
        if link_slot != slot {
            continue;
        }
        return Ok(match kind {
            hamt::HamtLink::Entry(entry) if entry == name => Slot::Found(link.cid),
            hamt::HamtLink::Entry(_) => Slot::Absent,
            hamt::HamtLink::Shard => Slot::Shard(link.cid),
        });
    }
    Ok(Slot::Absent)
}

/// A HAMT child shard must be a HAMT node with the same fanout as its parent.
pub(crate) fn check_shard(node: &PbNode, fanout: u64) -> Result<()> {
    check_shard_data(node.data.as_ref(), fanout)
}

fn check_shard_data(data: Option<&Bytes>, fanout: u64) -> Result<()> {
    let data = data.ok_or_else(|| IpldError::hamt("shard has no UnixFS Data"))?;
    let data = unixfs::decode(data)?;
    if data.kind != DataType::HamtShard || data.fanout != Some(fanout) {
        return Err(IpldError::hamt("child shard is not a HAMT node of the same fanout").into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipld::ErrorKind;
    use crate::services::testing::{hamt_dir, store_with};
    use crate::store::Blockstore;
    use crate::test_support::block_on;

    fn cid(text: &str) -> Cid {
        text.parse().unwrap()
    }

    fn failure(result: Result<Resolved>) -> Error {
        match result {
            Ok(resolved) => panic!("resolved to {}", resolved.cid),
            Err(e) => e,
        }
    }

    /// Resolves with tracing, returning the outcome and the CIDs read.
    fn traced(store: &Blockstore, root: &str, path: &[&str]) -> (Result<Resolved>, Vec<Cid>) {
        let mut read = Vec::new();
        let result = block_on(resolve_traced(store, cid(root), path, &mut |c, _| {
            read.push(*c)
        }));
        (result, read)
    }

    const CBOR_ROOT: &str = "bafyreibs4utpgbn7uqegmd2goqz4bkyflre2ek2iwv743fhvylwi4zeeim";
    const CBOR_LINK: &str = "bafyreig5alecq2l2akgajxywgnv22kuxh6xcagsnelepylqovt4t5jxt6u";
    const CBOR_END: &str = "bafyreiaefvpp22slf5bzd4lqgzwbztqahwlldtqkpgmlhv7mh23pudle7y";
    const JSON_ROOT: &str = "baguqeeram5ujjqrwheyaty3w5gdsmoz6vittchvhk723jjqxk7hakxkd47xq";
    const JSON_LINK: &str = "baguqeeraxpdqyfizawpb7zl5gnpg7jw3myuynb42ngzmeo7xn5kmm5pabt6q";
    const JSON_END: &str = "baguqeerabz2ohuxlrfgan3sxrgsfeyi5woxikwoiun5i5cesn2zgp3evmy4q";

    /// The conformance suite's `TestPathing`: `{"foo": {"link": L1, …}}`, L1 = `{"bar": L2}`.
    #[test]
    fn paths_follow_dag_cbor_and_dag_json_links() {
        let (_dir, store) = store_with(&[
            "path_gateway_dag/dag-cbor-traversal.car",
            "path_gateway_dag/dag-json-traversal.car",
        ]);
        for (root, link, end) in [
            (CBOR_ROOT, CBOR_LINK, CBOR_END),
            (JSON_ROOT, JSON_LINK, JSON_END),
        ] {
            let (result, read) = traced(&store, root, &["foo", "link", "bar"]);
            let resolved = result.unwrap();
            assert_eq!(resolved.cid, cid(end));
            assert!(matches!(resolved.node, Node::Other(..)));
            // One root per segment: "foo" stays in the root block.
            assert_eq!(
                resolved.roots.as_slice(),
                [cid(root), cid(root), cid(link), cid(end)]
            );
            assert_eq!(read, [cid(root), cid(link), cid(end)]);

            // Ending on a map, or on a number, inside a block: 501.
            for path in [&["foo"][..], &["foo", "object", "banana"]] {
                let err = failure(block_on(resolve(&*store, cid(root), path)));
                assert!(
                    matches!(&err, Error::Ipld(e) if e.kind() == ErrorKind::Unsupported),
                    "{path:?}: {err}"
                );
            }
            // Keys that are not there, or a path through a scalar: 404.
            for path in [
                &["foo", "i-do-not-exist"][..],
                &["nope"],
                &["foo", "object", "banana", "x"],
                &["foo", "link", "bar", "hello", "x"],
            ] {
                let err = failure(block_on(resolve(&*store, cid(root), path)));
                assert!(matches!(err, Error::NotFound(_)), "{path:?}: {err}");
            }
        }
    }

    #[test]
    fn paths_cross_from_unixfs_into_dag_cbor_and_back() {
        let (_dir, store) = store_with(&["trustless_gateway_car/dir-with-dag-cbor-with-links.car"]);
        let root = "bafybeia264q44a3kmfc2otctzu4egp2k235o3t7mslz2yjraymp4nv6asi";
        let document = cid("bafyreidy4q6mmetut5jzc54ambsfnatbyoujmwbfzyyolqw24majazwgha");
        let single = cid("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4");
        let (result, read) = traced(&store, root, &["document", "files", "single"]);
        let resolved = result.unwrap();
        assert_eq!(resolved.cid, single);
        assert!(matches!(resolved.node, Node::File(FileRoot::Raw(_))));
        assert_eq!(read, [cid(root), document, single]);
        // Through a link to a UnixFS file DAG: a file has no children to path into.
        let multiblock = block_on(resolve(&*store, document, &["files", "multiblock"])).unwrap();
        assert!(matches!(
            multiblock.node,
            Node::File(FileRoot::UnixFs { .. })
        ));
        let err = failure(block_on(resolve(
            &*store,
            document,
            &["files", "multiblock", "x"],
        )));
        assert!(matches!(err, Error::NotFound(_)), "{err}");
    }

    #[test]
    fn tracing_records_the_hamt_shards_on_the_way() {
        let dir = tempfile::tempdir().unwrap();
        let store = Blockstore::open(dir.path(), Default::default()).unwrap();
        let (root, entries) = hamt_dir(&store, 300, 8);
        let mut deepest = 0;
        for (name, target) in &entries {
            let mut read: Vec<(Cid, Bytes)> = Vec::new();
            let resolved = block_on(resolve_traced(
                &store,
                root,
                &[name.as_str()],
                &mut |c, b| read.push((*c, b.clone())),
            ))
            .unwrap();
            assert_eq!(resolved.cid, *target);
            assert_eq!(resolved.roots.as_slice(), [root, *target]);
            // Root, the chain of shards (each a sub-shard link of the one before), the entry.
            assert_eq!(read.first().map(|r| r.0), Some(root));
            assert_eq!(read.last().map(|r| r.0), Some(*target));
            for pair in read.windows(2) {
                let node = dagpb::decode(&pair[0].1).unwrap();
                let link = node.links.iter().find(|l| l.cid == pair[1].0).unwrap();
                let width = hamt::prefix_len(8).unwrap();
                let is_shard = link.name_str().len() == width;
                assert_eq!(is_shard, pair[1].0 != *target, "{name}");
            }
            deepest = deepest.max(read.len() - 2);
        }
        assert!(deepest >= 2, "the HAMT has several levels ({deepest})");
    }

    /// What the suite's `MustGetCIDsInHAMTTraversal(nil, "685.txt")` expects between the root
    /// and the file: the one sub-shard boxo's `Find` loads.
    #[test]
    fn hamt_fixture_reads_root_shard_then_entry() {
        let (_dir, store) =
            store_with(&["trustless_gateway_car/single-layer-hamt-with-multi-block-files.car"]);
        let root = "bafybeidbclfqleg2uojchspzd4bob56dqetqjsj27gy2cq3klkkgxtpn4i";
        let shard = cid("bafybeifajm5xyg46n4hjxg7clq2f7vcn7eg7bn3yevylcemr6vd7mp6gta");
        let file = cid("bafybeigcisqd7m5nf3qmuvjdbakl5bdnh4ocrmacaqkpuh77qjvggmt2sa");
        let (result, read) = traced(&store, root, &["685.txt"]);
        let resolved = result.unwrap();
        assert_eq!(resolved.cid, file);
        assert_eq!(read, [cid(root), shard, file]);
        assert!(matches!(resolved.node, Node::File(_)));
        // The untraced path reads the same blocks and lands on the same node.
        assert_eq!(
            block_on(resolve(&*store, cid(root), &["685.txt"]))
                .unwrap()
                .cid,
            file
        );
    }
}
