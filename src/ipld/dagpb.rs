//! The dag-pb codec (IPLD `block-layer/codecs/dag-pb.md`): a strict, zero-copy decoder and a
//! canonical encoder for `PBNode { Links: [PBLink] = 2, Data: bytes = 1 }` and
//! `PBLink { Hash: bytes = 1, Name: string = 2, Tsize: uint64 = 3 }`.
//!
//! Decoding follows the spec's "Protobuf Strictness" section:
//! 1. `PBLink` fields must appear in field-number order (Hash, Name, Tsize);
//! 2. `PBNode` fields should be Links then Data, but the spec says decoders accept either
//!    order "as IPFS data exists in both forms"; the Links entries must form one contiguous
//!    run (as go-codec-dagpb and js-dag-pb require);
//! 3. duplicate fields are rejected;
//! 4. fields and wire types not in the schema are rejected.
//!
//! and its "Constraints" section: `Hash` is required and must be exactly one binary CID
//! (CIDv0 = a bare sha2-256 multihash, or CIDv1); `Name` must be UTF-8. Varints follow the
//! protobuf wire format: at most 10 bytes and no bits past 64; the spec does not ask for
//! minimal varints and the reference decoders accept padded ones, so this decoder does too.
//!
//! Decoded `Data` and `Name` are slices of the input block (`Bytes::slice`), never copies.
//! Encoding writes the canonical form (Links first, then Data), pre-sized exactly.

use bytes::Bytes;
use cid::Cid;

use super::protobuf::{self, put_len_prefix, put_varint_field, WIRE_LEN, WIRE_VARINT};
use crate::ipld::{Error, Result};

/// `PBNode.Data` (field 1, length-delimited).
const NODE_DATA: u64 = 1;
/// `PBNode.Links` (field 2, length-delimited).
const NODE_LINKS: u64 = 2;
/// `PBLink.Hash` (field 1, length-delimited).
const LINK_HASH: u64 = 1;
/// `PBLink.Name` (field 2, length-delimited).
const LINK_NAME: u64 = 2;
/// `PBLink.Tsize` (field 3, varint).
const LINK_TSIZE: u64 = 3;

/// Tag bytes of the fields, as written by the encoder (field << 3 | wire type).
const TAG_NODE_DATA: u8 = protobuf::tag(NODE_DATA as u8, WIRE_LEN);
const TAG_NODE_LINKS: u8 = protobuf::tag(NODE_LINKS as u8, WIRE_LEN);
const TAG_LINK_HASH: u8 = protobuf::tag(LINK_HASH as u8, WIRE_LEN);
const TAG_LINK_NAME: u8 = protobuf::tag(LINK_NAME as u8, WIRE_LEN);
const TAG_LINK_TSIZE: u8 = protobuf::tag(LINK_TSIZE as u8, WIRE_VARINT);

/// A decoded dag-pb node. `data` is a slice of the block it was decoded from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PbNode {
    /// `PBNode.Links`, in block order (the spec forbids sorting on decode).
    pub links: Vec<PbLink>,
    /// `PBNode.Data`; `None` when the field is absent, `Some(empty)` when present but empty.
    pub data: Option<Bytes>,
}

impl PbNode {
    /// Length of this node's canonical encoding.
    pub fn encoded_len(&self) -> usize {
        let links = self
            .links
            .iter()
            .map(|link| link_field_len(&link.cid, link.name.as_deref(), link.tsize))
            .sum::<usize>();
        links + data_field_len(self.data.as_deref())
    }

    /// Appends this node's canonical encoding (links in their current order) to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        for link in &self.links {
            write_link(out, &link.cid, link.name.as_deref(), link.tsize);
        }
        write_data(out, self.data.as_deref());
    }

    /// This node's canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }
}

/// A decoded `PBLink`. The name is kept as a slice of the block and is known to be UTF-8,
/// which is why it is only reachable through accessors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PbLink {
    /// `PBLink.Hash`, the target.
    pub cid: Cid,
    /// `PBLink.Name`, validated UTF-8. `Some(empty)` is distinct from `None` on the wire.
    name: Option<Bytes>,
    /// `PBLink.Tsize`, the cumulative size of the target DAG, when present.
    pub tsize: Option<u64>,
}

impl PbLink {
    /// Builds a link; fails if `name` is not UTF-8.
    pub fn new(cid: Cid, name: Option<Bytes>, tsize: Option<u64>) -> Result<Self> {
        if let Some(name) = &name {
            if let Err(e) = std::str::from_utf8(name) {
                return Err(Error::dag_pb(format!("PBLink.Name is not UTF-8: {e}")));
            }
        }
        Ok(PbLink { cid, name, tsize })
    }

    /// `PBLink.Name` as it was on the wire (a slice of the block), if present.
    pub fn name(&self) -> Option<&Bytes> {
        self.name.as_ref()
    }

    /// `PBLink.Name` bytes as a cheap handle on the block (empty when absent).
    pub fn name_bytes(&self) -> Bytes {
        self.name.clone().unwrap_or_default()
    }

    /// `PBLink.Name` as text; an absent name reads as "" (as the spec's sorting rule treats
    /// it). Never fails: every constructor checked the bytes are UTF-8.
    pub fn name_str(&self) -> &str {
        match self.name.as_deref() {
            // `from_utf8` cannot fail here (validated on construction); re-checking costs a
            // few nanoseconds on names and keeps this free of `unsafe`.
            Some(name) => std::str::from_utf8(name).unwrap_or_default(),
            None => "",
        }
    }

    /// A borrowed view for [`encode`].
    pub fn as_ref(&self) -> PbLinkRef<'_> {
        PbLinkRef {
            cid: &self.cid,
            name: self.name.as_deref().map(|_| self.name_str()),
            tsize: self.tsize,
        }
    }
}

/// A link to encode: borrowed parts, so callers need not build owned links.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PbLinkRef<'a> {
    /// `PBLink.Hash`.
    pub cid: &'a Cid,
    /// `PBLink.Name`: `None` omits the field, `Some("")` writes an empty one (`12 00`), as
    /// Kubo does for file chunk links.
    pub name: Option<&'a str>,
    /// `PBLink.Tsize`: `None` omits the field.
    pub tsize: Option<u64>,
}

/// Decodes and fully validates a dag-pb block. `data` and link names are slices of `block`.
pub fn decode(block: &Bytes) -> Result<PbNode> {
    let lazy = decode_lazily(block)?;
    let mut links = Vec::with_capacity(lazy.links.remaining());
    for link in lazy.links {
        links.push(link?);
    }
    Ok(PbNode {
        links,
        data: lazy.data,
    })
}

/// A dag-pb node whose outer structure has been validated (fields, wire types, lengths,
/// order, duplicates, trailing bytes) but whose links are decoded on demand.
#[derive(Clone, Debug)]
pub struct LazyPbNode<'a> {
    /// `PBNode.Data`, a slice of the block.
    pub data: Option<Bytes>,
    /// The links, decoded and validated one at a time as the iterator is advanced.
    pub links: Links<'a>,
}

/// Validates the outer structure of a dag-pb block and returns its Data plus an
/// allocation-free iterator over its links. Each link is validated when it is reached, so a
/// malformed link surfaces as an `Err` item; [`decode`] validates everything up front.
pub fn decode_lazily(block: &Bytes) -> Result<LazyPbNode<'_>> {
    let buf: &[u8] = block;
    let mut pos = 0;
    let mut data = None;
    let mut links_start = None;
    let mut links_end = 0;
    let mut link_count = 0;
    // Set once Data follows Links: any later Links entry would split the run.
    let mut links_closed = false;

    while pos < buf.len() {
        let tag_at = pos;
        let (tag, after_tag) = read_varint(buf, pos, "PBNode field tag")?;
        let (field, wire) = (tag >> 3, tag & 7);
        if field != NODE_DATA && field != NODE_LINKS {
            return Err(Error::dag_pb(format!(
                "PBNode has field {field}, which dag-pb does not define (only Data=1 and \
                 Links=2), at byte {tag_at}"
            )));
        }
        if wire != WIRE_LEN {
            return Err(Error::dag_pb(format!(
                "PBNode field {field} has wire type {wire}, expected 2 (length-delimited), at \
                 byte {tag_at}"
            )));
        }
        let (start, end) = read_len_prefixed(buf, after_tag, buf.len(), "PBNode field")?;
        if field == NODE_DATA {
            if data.is_some() {
                return Err(Error::dag_pb(format!(
                    "PBNode has a second Data field at byte {tag_at}"
                )));
            }
            data = Some(block.slice(start..end));
            links_closed = links_start.is_some();
        } else {
            if links_closed {
                return Err(Error::dag_pb(format!(
                    "PBNode Links continue after Data at byte {tag_at}: Links must be one \
                     contiguous run"
                )));
            }
            if links_start.is_none() {
                links_start = Some(tag_at);
            }
            links_end = end;
            link_count += 1;
        }
        pos = end;
    }

    let links_start = links_start.unwrap_or(0);
    Ok(LazyPbNode {
        data,
        links: Links {
            block,
            pos: links_start,
            end: links_end.max(links_start),
            remaining: link_count,
        },
    })
}

/// Iterator over the links of a [`LazyPbNode`]. Yields each link in block order; after an
/// `Err` it yields nothing more. Allocation-free: names are slices of the block.
#[derive(Clone, Debug)]
pub struct Links<'a> {
    block: &'a Bytes,
    /// Offset of the next `Links` entry's tag.
    pos: usize,
    /// End of the contiguous run of `Links` entries.
    end: usize,
    /// Entries not yet yielded.
    remaining: usize,
}

impl Links<'_> {
    /// Number of links not yet yielded.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    fn next_link(&mut self) -> Result<PbLink> {
        let buf: &[u8] = &self.block[..self.end];
        // The outer pass checked these, but re-reading them without trusting that keeps the
        // iterator panic-free on its own.
        let (tag, after_tag) = read_varint(buf, self.pos, "PBNode field tag")?;
        if tag != (NODE_LINKS << 3 | WIRE_LEN) {
            return Err(Error::dag_pb(format!(
                "expected a Links entry at byte {}",
                self.pos
            )));
        }
        let (start, end) = read_len_prefixed(buf, after_tag, buf.len(), "PBNode Links entry")?;
        self.pos = end;
        decode_link(self.block, start, end)
    }
}

impl Iterator for Links<'_> {
    type Item = Result<PbLink>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let link = self.next_link();
        // Stop after an error: the position past a malformed entry means nothing.
        self.remaining = if link.is_ok() { self.remaining - 1 } else { 0 };
        Some(link)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // An error ends the iteration early, so only the upper bound is exact.
        (0, Some(self.remaining))
    }
}

/// Decodes the `PBLink` message occupying `block[start..end]`.
fn decode_link(block: &Bytes, start: usize, end: usize) -> Result<PbLink> {
    // Bound every read by the end of this message, not of the block.
    let buf: &[u8] = &block[..end];
    let mut pos = start;
    let mut cid = None;
    let mut name = None;
    let mut tsize = None;
    // Highest field number seen so far: fields must strictly increase (spec rules 1 and 3).
    let mut last_field = 0;

    while pos < end {
        let tag_at = pos;
        let (tag, after_tag) = read_varint(buf, pos, "PBLink field tag")?;
        let (field, wire) = (tag >> 3, tag & 7);
        let (field_name, expected_wire) = match field {
            LINK_HASH => ("Hash", WIRE_LEN),
            LINK_NAME => ("Name", WIRE_LEN),
            LINK_TSIZE => ("Tsize", WIRE_VARINT),
            _ => {
                return Err(Error::dag_pb(format!(
                    "PBLink has field {field}, which dag-pb does not define (only Hash=1, \
                     Name=2, Tsize=3), at byte {tag_at}"
                )))
            }
        };
        if field == last_field {
            return Err(Error::dag_pb(format!(
                "PBLink has a second {field_name} field at byte {tag_at}"
            )));
        }
        if field < last_field {
            return Err(Error::dag_pb(format!(
                "PBLink field {field_name} is out of order (fields must be Hash, Name, Tsize) \
                 at byte {tag_at}"
            )));
        }
        if wire != expected_wire {
            return Err(Error::dag_pb(format!(
                "PBLink.{field_name} has wire type {wire}, expected {expected_wire}, at byte \
                 {tag_at}"
            )));
        }
        last_field = field;
        match field {
            LINK_HASH => {
                let (hash_start, hash_end) = read_len_prefixed(buf, after_tag, end, "PBLink.Hash")?;
                cid = Some(parse_cid(&buf[hash_start..hash_end], hash_start)?);
                pos = hash_end;
            }
            LINK_NAME => {
                let (name_start, name_end) = read_len_prefixed(buf, after_tag, end, "PBLink.Name")?;
                if let Err(e) = std::str::from_utf8(&buf[name_start..name_end]) {
                    return Err(Error::dag_pb(format!(
                        "PBLink.Name at byte {name_start} is not UTF-8: {e}"
                    )));
                }
                name = Some(block.slice(name_start..name_end));
                pos = name_end;
            }
            _ => {
                let (value, after) = read_varint(buf, after_tag, "PBLink.Tsize")?;
                tsize = Some(value);
                pos = after;
            }
        }
    }

    match cid {
        Some(cid) => Ok(PbLink { cid, name, tsize }),
        None => Err(Error::dag_pb(format!(
            "PBLink at byte {start} has no Hash (it is required)"
        ))),
    }
}

/// Parses a binary CID that must span all of `bytes` (`at` is its offset, for messages).
fn parse_cid(bytes: &[u8], at: usize) -> Result<Cid> {
    let mut reader = bytes;
    let cid = Cid::read_bytes(&mut reader)
        .map_err(|e| Error::dag_pb(format!("PBLink.Hash at byte {at} is not a CID: {e}")))?;
    // Reject trailing bytes, and an explicit version-0 prefix (whose CID re-encodes shorter),
    // so that every accepted Hash re-encodes to the same bytes.
    if !reader.is_empty() || cid.encoded_len() != bytes.len() {
        return Err(Error::dag_pb(format!(
            "PBLink.Hash at byte {at} has {} bytes but its CID takes {}",
            bytes.len(),
            cid.encoded_len()
        )));
    }
    Ok(cid)
}

/// Reads a protobuf varint at `buf[pos..]` (see [`protobuf::read_varint`]).
#[inline]
fn read_varint(buf: &[u8], pos: usize, what: &str) -> Result<(u64, usize)> {
    protobuf::read_varint(buf, pos, what, super::ErrorKind::DagPb)
}

/// Reads a length prefix at `pos` and checks the payload fits before `end` (see
/// [`protobuf::read_len_prefixed`]). Returns the payload's `(start, end)` offsets.
#[inline]
fn read_len_prefixed(buf: &[u8], pos: usize, end: usize, what: &str) -> Result<(usize, usize)> {
    protobuf::read_len_prefixed(
        buf,
        pos,
        end,
        what,
        super::ErrorKind::DagPb,
        " of its message",
    )
}

/// Encodes a dag-pb node in canonical form: every link (in the given order; the spec asks
/// encoders to sort named links by name bytes, which is the caller's job), then Data.
pub fn encode(links: &[PbLinkRef<'_>], data: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(links, data));
    encode_into(links, data, &mut out);
    out
}

/// Appends the canonical encoding of a node to `out` (see [`encode`]).
pub fn encode_into(links: &[PbLinkRef<'_>], data: Option<&[u8]>, out: &mut Vec<u8>) {
    out.reserve(encoded_len(links, data));
    for link in links {
        write_link(out, link.cid, link.name.map(str::as_bytes), link.tsize);
    }
    write_data(out, data);
}

/// Exact length of [`encode`]'s output.
pub fn encoded_len(links: &[PbLinkRef<'_>], data: Option<&[u8]>) -> usize {
    links
        .iter()
        .map(|link| link_field_len(link.cid, link.name.map(str::as_bytes), link.tsize))
        .sum::<usize>()
        + data_field_len(data)
}

/// Length of a `PBLink` message body.
fn link_body_len(cid: &Cid, name: Option<&[u8]>, tsize: Option<u64>) -> usize {
    let mut len = protobuf::bytes_field_len(cid.encoded_len());
    if let Some(name) = name {
        len += protobuf::bytes_field_len(name.len());
    }
    if let Some(tsize) = tsize {
        len += protobuf::varint_field_len(tsize);
    }
    len
}

/// Length of a whole `PBNode.Links` entry (tag, length, body).
fn link_field_len(cid: &Cid, name: Option<&[u8]>, tsize: Option<u64>) -> usize {
    protobuf::bytes_field_len(link_body_len(cid, name, tsize))
}

fn data_field_len(data: Option<&[u8]>) -> usize {
    data.map_or(0, |data| protobuf::bytes_field_len(data.len()))
}

fn write_link(out: &mut Vec<u8>, cid: &Cid, name: Option<&[u8]>, tsize: Option<u64>) {
    put_len_prefix(out, TAG_NODE_LINKS, link_body_len(cid, name, tsize));
    put_len_prefix(out, TAG_LINK_HASH, cid.encoded_len());
    super::cid::write_binary(out, cid);
    if let Some(name) = name {
        protobuf::put_bytes_field(out, TAG_LINK_NAME, name);
    }
    if let Some(tsize) = tsize {
        put_varint_field(out, TAG_LINK_TSIZE, tsize);
    }
}

fn write_data(out: &mut Vec<u8>, data: Option<&[u8]>) {
    if let Some(data) = data {
        protobuf::put_bytes_field(out, TAG_NODE_DATA, data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipld::varint;
    use crate::ipld::ErrorKind;
    use sha2::{Digest, Sha256};

    const SHA2_256: u64 = 0x12;
    const DAG_PB: u64 = 0x70;
    const RAW: u64 = 0x55;

    fn sha256_mh(bytes: &[u8]) -> multihash::Multihash<64> {
        multihash::Multihash::wrap(SHA2_256, &Sha256::digest(bytes)).unwrap()
    }

    fn cid_v1(codec: u64, bytes: &[u8]) -> Cid {
        Cid::new_v1(codec, sha256_mh(bytes))
    }

    fn cid_v0(bytes: &[u8]) -> Cid {
        Cid::new_v0(sha256_mh(bytes)).unwrap()
    }

    fn err(block: &[u8]) -> crate::ipld::Error {
        let e = decode(&Bytes::copy_from_slice(block)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DagPb, "{e}");
        e
    }

    fn ok(block: &[u8]) -> PbNode {
        decode(&Bytes::copy_from_slice(block)).unwrap()
    }

    /// A link entry (`12 len body`) with the given raw body.
    fn link_entry(body: &[u8]) -> Vec<u8> {
        let mut out = vec![0x12];
        varint::put(&mut out, body.len() as u64);
        out.extend_from_slice(body);
        out
    }

    /// A raw `Hash` field for `cid`.
    fn hash_field(cid: &Cid) -> Vec<u8> {
        let bytes = cid.to_bytes();
        let mut out = vec![0x0a];
        varint::put(&mut out, bytes.len() as u64);
        out.extend_from_slice(&bytes);
        out
    }

    #[test]
    fn empty_block_is_a_node_with_nothing() {
        let node = ok(&[]);
        assert!(node.links.is_empty());
        assert_eq!(node.data, None);
        // Spec "Zero-length blocks": its CIDv1.
        assert_eq!(
            cid_v1(DAG_PB, &[]).to_string(),
            "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
        );
        assert_eq!(
            cid_v0(&[]).to_string(),
            "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n"
        );
        assert_eq!(encode(&[], None), Vec::<u8>::new());
    }

    #[test]
    fn empty_unixfs_directory_vector() {
        let block = encode(&[], Some(&[0x08, 0x01]));
        assert_eq!(block, [0x0a, 0x02, 0x08, 0x01]);
        assert_eq!(
            cid_v1(DAG_PB, &block).to_string(),
            "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"
        );
        assert_eq!(
            cid_v0(&block).to_string(),
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
        );
        let node = ok(&block);
        assert!(node.links.is_empty());
        assert_eq!(node.data.as_deref(), Some(&[0x08, 0x01][..]));
    }

    #[test]
    fn data_is_a_zero_copy_slice() {
        let block = Bytes::from(encode(&[], Some(b"payload")));
        let node = decode(&block).unwrap();
        let data = node.data.unwrap();
        assert_eq!(&data[..], b"payload");
        // Same memory as the block: a slice, not a copy.
        assert_eq!(data.as_ptr(), block[2..].as_ptr());
    }

    #[test]
    fn ipip_550_fixtures_decode_in_both_field_orders() {
        // From go-codec-dagpb's fieldorder_test.go (IPIP-550): a directory holding hello.txt,
        // Links-first and Data-first.
        let links_first = hex::decode(
            "12330a24015512205891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03\
             120968656c6c6f2e74787418060a020801",
        )
        .unwrap();
        let data_first = hex::decode(
            "0a02080112330a24015512205891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e8\
             46f6be03120968656c6c6f2e7478741806",
        )
        .unwrap();
        let a = ok(&links_first);
        let b = ok(&data_first);
        assert_eq!(a, b);
        assert_eq!(a.links.len(), 1);
        let link = &a.links[0];
        assert_eq!(link.name_str(), "hello.txt");
        assert_eq!(link.tsize, Some(6));
        assert_eq!(link.cid.codec(), RAW);
        assert_eq!(a.data.as_deref(), Some(&[0x08, 0x01][..]));
        // Re-encoding is canonical: Links first.
        assert_eq!(a.to_bytes(), links_first);
        assert_eq!(b.to_bytes(), links_first);
    }

    #[test]
    fn round_trip_with_all_link_shapes() {
        let c0 = cid_v0(b"a");
        let c1 = cid_v1(RAW, b"b");
        let c2 = cid_v1(DAG_PB, b"c");
        let links = [
            PbLinkRef {
                cid: &c0,
                name: None,
                tsize: None,
            },
            PbLinkRef {
                cid: &c1,
                name: Some(""),
                tsize: Some(0),
            },
            PbLinkRef {
                cid: &c2,
                name: Some("ünïcödé name"),
                tsize: Some(u64::MAX),
            },
        ];
        for data in [None, Some(&b""[..]), Some(&[7u8; 300][..])] {
            let block = encode(&links, data);
            assert_eq!(block.len(), encoded_len(&links, data));
            let node = ok(&block);
            assert_eq!(node.data.as_deref(), data);
            assert_eq!(node.links.len(), 3);
            assert_eq!(node.links[0].cid, c0);
            assert_eq!(node.links[0].name(), None);
            assert_eq!(node.links[0].name_str(), "");
            assert_eq!(node.links[0].tsize, None);
            assert_eq!(node.links[1].name(), Some(&Bytes::new()));
            assert_eq!(node.links[2].name_bytes(), "ünïcödé name".as_bytes());
            assert_eq!(node.links[1].tsize, Some(0));
            assert_eq!(node.links[2].name_str(), "ünïcödé name");
            assert_eq!(node.links[2].tsize, Some(u64::MAX));
            let refs: Vec<_> = node.links.iter().map(PbLink::as_ref).collect();
            assert_eq!(encode(&refs, node.data.as_deref()), block);
            assert_eq!(node.to_bytes(), block);
            assert_eq!(node.encoded_len(), block.len());
        }
    }

    #[test]
    fn empty_name_writes_an_empty_name_field() {
        let c = cid_v0(b"x");
        let with_empty = encode(
            &[PbLinkRef {
                cid: &c,
                name: Some(""),
                tsize: Some(5),
            }],
            None,
        );
        let mut expected = hash_field(&c);
        expected.extend_from_slice(&[0x12, 0x00, 0x18, 0x05]);
        assert_eq!(with_empty, link_entry(&expected));
        let without = encode(
            &[PbLinkRef {
                cid: &c,
                name: None,
                tsize: None,
            }],
            None,
        );
        assert_eq!(without, link_entry(&hash_field(&c)));
    }

    #[test]
    fn rejects_bad_node_fields() {
        // Unknown field 3.
        assert!(err(&[0x1a, 0x00]).message().contains("field 3"));
        // Data with wire type 0.
        assert!(err(&[0x08, 0x01]).message().contains("wire type 0"));
        // Field 0.
        err(&[0x02, 0x00]);
        // Duplicate Data.
        let e = err(&[0x0a, 0x00, 0x0a, 0x00]);
        assert!(e.message().contains("second Data") && e.message().contains("byte 2"));
        // Truncated Data length and payload.
        assert!(err(&[0x0a]).message().contains("truncated"));
        let e = err(&[0x0a, 0x05, 0x01]);
        assert!(e.message().contains("runs past"), "{e}");
        // A lone byte of trailing garbage is a truncated tag or an unknown field.
        err(&[0x0a, 0x00, 0x00]);
        err(&[0x0a, 0x00, 0xff]);
        // Enormous length.
        err(&[
            0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ]);
    }

    #[test]
    fn link_order_around_data() {
        let c = cid_v0(b"x");
        let entry = link_entry(&hash_field(&c));
        // Links, Data, Links: the run is split.
        let mut block = entry.clone();
        block.extend_from_slice(&[0x0a, 0x00]);
        block.extend_from_slice(&entry);
        let e = err(&block);
        assert!(e.message().contains("contiguous"), "{e}");
        // Data, Links, Links: fine.
        let mut block = vec![0x0a, 0x00];
        block.extend_from_slice(&entry);
        block.extend_from_slice(&entry);
        assert_eq!(ok(&block).links.len(), 2);
        // Data, Links, Data: a second Data.
        block.extend_from_slice(&[0x0a, 0x00]);
        assert!(err(&block).message().contains("second Data"));
    }

    #[test]
    fn rejects_bad_links() {
        let c = cid_v1(RAW, b"x");
        let hash = hash_field(&c);
        let name = [0x12, 0x01, b'n'];
        let tsize = [0x18, 0x01];

        // Missing Hash.
        let mut body = name.to_vec();
        body.extend_from_slice(&tsize);
        assert!(err(&link_entry(&body)).message().contains("no Hash"));
        assert!(err(&link_entry(&[])).message().contains("no Hash"));

        // Out of order: Name before Hash, Tsize before Name.
        let mut body = name.to_vec();
        body.extend_from_slice(&hash);
        assert!(err(&link_entry(&body)).message().contains("out of order"));
        let mut body = hash.clone();
        body.extend_from_slice(&tsize);
        body.extend_from_slice(&name);
        assert!(err(&link_entry(&body)).message().contains("out of order"));

        // Duplicates.
        let mut body = hash.clone();
        body.extend_from_slice(&hash);
        assert!(err(&link_entry(&body)).message().contains("second Hash"));
        let mut body = hash.clone();
        body.extend_from_slice(&name);
        body.extend_from_slice(&name);
        assert!(err(&link_entry(&body)).message().contains("second Name"));
        let mut body = hash.clone();
        body.extend_from_slice(&tsize);
        body.extend_from_slice(&tsize);
        assert!(err(&link_entry(&body)).message().contains("second Tsize"));

        // Wrong wire types.
        let mut body = hash.clone();
        body.extend_from_slice(&[0x10, 0x01]); // Name as varint
        assert!(err(&link_entry(&body)).message().contains("wire type 0"));
        let mut body = hash.clone();
        body.extend_from_slice(&[0x1a, 0x00]); // Tsize as bytes
        assert!(err(&link_entry(&body)).message().contains("wire type 2"));
        let mut body = vec![0x08];
        body.extend_from_slice(&c.to_bytes()); // Hash as varint
        err(&link_entry(&body));

        // Unknown field.
        let mut body = hash.clone();
        body.extend_from_slice(&[0x20, 0x01]);
        assert!(err(&link_entry(&body)).message().contains("field 4"));

        // Name not UTF-8.
        let mut body = hash.clone();
        body.extend_from_slice(&[0x12, 0x02, 0xc3, 0x28]);
        assert!(err(&link_entry(&body)).message().contains("not UTF-8"));

        // Tsize varint truncated at the end of the link (even though the block continues).
        let mut body = hash.clone();
        body.extend_from_slice(&[0x18, 0x80]);
        let mut block = link_entry(&body);
        block.extend_from_slice(&[0x0a, 0x00]);
        assert!(err(&block).message().contains("truncated"));

        // Name length past the link's end but within the block.
        let mut body = hash.clone();
        body.extend_from_slice(&[0x12, 0x05, b'a']);
        let mut block = link_entry(&body);
        block.extend_from_slice(&[0x0a, 0x03, 0, 0, 0]);
        assert!(err(&block).message().contains("runs past"));
    }

    #[test]
    fn rejects_bad_hashes() {
        let good = cid_v1(RAW, b"x").to_bytes();
        let with = |hash: &[u8]| {
            let mut body = vec![0x0a];
            varint::put(&mut body, hash.len() as u64);
            body.extend_from_slice(hash);
            link_entry(&body)
        };
        assert!(!ok(&with(&good)).links.is_empty());
        // Trailing byte after the CID.
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(err(&with(&trailing)).message().contains("takes"));
        // Truncated CID.
        assert!(err(&with(&good[..good.len() - 1]))
            .message()
            .contains("not a CID"));
        // Empty Hash.
        err(&with(&[]));
        // CIDv0-looking multihash with the wrong digest length.
        let mut short_v0 = vec![0x12, 0x20];
        short_v0.extend_from_slice(&[0u8; 31]);
        err(&with(&short_v0));
        // Version 2.
        let mut v2 = good.clone();
        v2[0] = 2;
        err(&with(&v2));
        // Explicit version 0 prefix.
        let mut explicit_v0 = vec![0x00, 0x70];
        explicit_v0.extend_from_slice(&cid_v0(b"x").to_bytes());
        err(&with(&explicit_v0));
        // A bare sha2-256 multihash is a CIDv0.
        let v0 = cid_v0(b"x");
        assert_eq!(ok(&with(&v0.to_bytes())).links[0].cid, v0);
    }

    #[test]
    fn error_offsets_are_absolute() {
        let c = cid_v0(b"x");
        let mut block = vec![0x0a, 0x01, 0xaa]; // Data first (3 bytes)
        let mut body = hash_field(&c);
        body.extend_from_slice(&[0x12, 0x02, 0xc3, 0x28]);
        block.extend_from_slice(&link_entry(&body));
        // name bytes start after: Data(3) + link tag/len(2) + hash field(36) + name tag/len(2)
        let e = err(&block);
        assert!(e.message().contains("byte 43"), "{e}");
    }

    #[test]
    fn lazy_iteration() {
        let c = cid_v0(b"x");
        let links: Vec<_> = (0..5)
            .map(|i| {
                (
                    c,
                    format!("name{i}"),
                    if i % 2 == 0 { Some(i as u64) } else { None },
                )
            })
            .collect();
        let refs: Vec<_> = links
            .iter()
            .map(|(cid, name, tsize)| PbLinkRef {
                cid,
                name: Some(name),
                tsize: *tsize,
            })
            .collect();
        let block = Bytes::from(encode(&refs, Some(b"d")));
        let lazy = decode_lazily(&block).unwrap();
        assert_eq!(lazy.data.as_deref(), Some(&b"d"[..]));
        assert_eq!(lazy.links.remaining(), 5);
        let names: Vec<String> = lazy
            .links
            .map(|l| l.unwrap().name_str().to_owned())
            .collect();
        assert_eq!(names, ["name0", "name1", "name2", "name3", "name4"]);

        // A bad second link: first yields Ok, then one Err, then the iterator ends.
        let mut bad = link_entry(&hash_field(&c));
        bad.extend_from_slice(&link_entry(&[0x12, 0x00]));
        bad.extend_from_slice(&link_entry(&hash_field(&c)));
        let bad = Bytes::from(bad);
        let mut it = decode_lazily(&bad).unwrap().links;
        assert!(it.next().unwrap().is_ok());
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
    }

    #[test]
    fn link_constructor_checks_utf8() {
        let c = cid_v0(b"x");
        assert!(PbLink::new(c, Some(Bytes::from_static(b"ok")), None).is_ok());
        let e = PbLink::new(c, Some(Bytes::from_static(&[0xff])), None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DagPb);
    }

    #[test]
    fn never_panics_on_truncations_and_bit_flips() {
        let c0 = cid_v0(b"a");
        let c1 = cid_v1(RAW, b"b");
        let refs = [
            PbLinkRef {
                cid: &c0,
                name: Some("first"),
                tsize: Some(300),
            },
            PbLinkRef {
                cid: &c1,
                name: Some(""),
                tsize: None,
            },
        ];
        let block = encode(&refs, Some(b"\x08\x02\x12\x03abc\x18\x03"));
        for cut in 0..block.len() {
            let _ = decode(&Bytes::copy_from_slice(&block[..cut]));
        }
        for i in 0..block.len() {
            for bit in 0..8 {
                let mut flipped = block.clone();
                flipped[i] ^= 1 << bit;
                if let Ok(node) = decode(&Bytes::copy_from_slice(&flipped)) {
                    // Whatever is accepted re-decodes to the same node after re-encoding.
                    assert_eq!(decode(&Bytes::from(node.to_bytes())).unwrap(), node);
                }
            }
        }
    }

    /// Differential test against the `ipld-dagpb` crate. Cases where the two are expected to
    /// disagree are listed with the reason; everything else must agree on accept/reject and,
    /// when both accept, on the decoded content.
    #[test]
    fn differential_against_ipld_dagpb() {
        let c0 = cid_v0(b"a");
        let c1 = cid_v1(RAW, b"b");
        let h0 = hash_field(&c0);
        let h1 = hash_field(&c1);
        let cat = |parts: &[&[u8]]| parts.concat();

        // (description, block, where ipld-dagpb is expected to differ from this decoder)
        let cases: Vec<(&str, Vec<u8>, bool)> = vec![
            ("empty", vec![], false),
            ("data only", vec![0x0a, 0x02, 0x08, 0x01], false),
            ("empty data", vec![0x0a, 0x00], false),
            ("one link", link_entry(&h0), false),
            (
                "link+name+tsize, data",
                cat(&[
                    &link_entry(&cat(&[&h1, &[0x12, 0x01, b'a', 0x18, 0x05]])),
                    &[0x0a, 0x01, 0x00],
                ]),
                false,
            ),
            (
                "data first",
                cat(&[&[0x0a, 0x00], &link_entry(&h0), &link_entry(&h1)]),
                false,
            ),
            (
                "links split by data",
                cat(&[&link_entry(&h0), &[0x0a, 0x00], &link_entry(&h1)]),
                false,
            ),
            ("unknown node field", vec![0x1a, 0x00], false),
            ("data wrong wire type", vec![0x08, 0x00], false),
            ("truncated data", vec![0x0a, 0x03, 0x00], false),
            ("truncated tag", vec![0x8a], false),
            ("missing hash", link_entry(&[0x12, 0x00]), false),
            (
                "bad utf8 name",
                link_entry(&cat(&[&h0, &[0x12, 0x01, 0xff]])),
                false,
            ),
            (
                "hash not a cid",
                link_entry(&[0x0a, 0x02, 0x01, 0x55]),
                false,
            ),
            (
                "unknown link field",
                link_entry(&cat(&[&h0, &[0x20, 0x00]])),
                false,
            ),
            ("non-minimal length varint", vec![0x0a, 0x80, 0x00], false),
            (
                "tsize u64::MAX",
                link_entry(&cat(&[
                    &h0,
                    &[
                        0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                    ],
                ])),
                false,
            ),
            (
                "tsize varint of 11 bytes",
                link_entry(&cat(&[
                    &h0,
                    &[
                        0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80, 0x00,
                    ],
                ])),
                false,
            ),
            (
                "explicit CIDv0 version prefix",
                link_entry(&[0x0a, 0x02, 0x00, 0x70]),
                false,
            ),
            (
                "non-minimal tag varint",
                cat(&[&[0x8a, 0x00, 0x00], &link_entry(&h0)]),
                false,
            ),
            // Spec rule 3 (duplicates) and rule 1 (PBLink order): ipld-dagpb lets a later
            // field overwrite an earlier one.
            ("duplicate data", vec![0x0a, 0x00, 0x0a, 0x00], true),
            (
                "data, links, data",
                cat(&[&[0x0a, 0x00], &link_entry(&h0), &[0x0a, 0x00]]),
                true,
            ),
            ("duplicate hash", link_entry(&cat(&[&h0, &h1])), true),
            (
                "name before hash",
                link_entry(&cat(&[&[0x12, 0x01, b'a'], &h0])),
                true,
            ),
            (
                "tsize before name",
                link_entry(&cat(&[&h0, &[0x18, 0x01, 0x12, 0x01, b'a']])),
                true,
            ),
            (
                "duplicate tsize",
                link_entry(&cat(&[&h0, &[0x18, 0x01, 0x18, 0x02]])),
                true,
            ),
            (
                "tsize varint past 64 bits",
                link_entry(&cat(&[
                    &h0,
                    &[
                        0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
                    ],
                ])),
                true,
            ),
            // Constraints: Hash bytes must be a CID; ipld-dagpb ignores bytes after it.
            (
                "trailing bytes after hash cid",
                link_entry(&cat(&[&[0x0a, 0x23], &c0.to_bytes(), &[0x00]])),
                true,
            ),
        ];

        for (what, block, expect_disagreement) in cases {
            let ours = decode(&Bytes::copy_from_slice(&block));
            let theirs = ipld_dagpb::PbNode::from_bytes(Bytes::copy_from_slice(&block));
            if expect_disagreement {
                assert!(ours.is_err(), "{what}: we must reject");
                assert!(theirs.is_ok(), "{what}: ipld-dagpb was expected to accept");
                continue;
            }
            match (ours, theirs) {
                (Ok(ours), Ok(theirs)) => {
                    assert_eq!(ours.data, theirs.data, "{what}");
                    assert_eq!(ours.links.len(), theirs.links.len(), "{what}");
                    for (a, b) in ours.links.iter().zip(&theirs.links) {
                        assert_eq!(a.cid.to_bytes(), b.cid.to_bytes(), "{what}");
                        assert_eq!(a.name().map(|_| a.name_str()), b.name.as_deref(), "{what}");
                        assert_eq!(a.tsize, b.size, "{what}");
                    }
                }
                (Err(_), Err(_)) => {}
                (ours, theirs) => panic!(
                    "{what}: disagreement: ours ok={} theirs ok={}",
                    ours.is_ok(),
                    theirs.is_ok()
                ),
            }
        }
    }
}
