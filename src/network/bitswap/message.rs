//! The Bitswap message: its types, its protobuf encoding and a bounded decoder.
//!
//! The schema is the spec's "Bitswap 1.2.0: Wire Format" (boxo's `message.proto`, field numbers
//! checked against both):
//!
//! ```text
//! Message { Wantlist wantlist = 1; repeated bytes blocks = 2; repeated Block payload = 3;
//!           repeated BlockPresence blockPresences = 4; int32 pendingBytes = 5; }
//! Wantlist { repeated Entry entries = 1; bool full = 2; }
//! Entry { bytes block = 1; int32 priority = 2; bool cancel = 3; WantType wantType = 4;
//!         bool sendDontHave = 5; }                      // WantType: Block = 0, Have = 1
//! Block { bytes prefix = 1; bytes data = 2; }
//! BlockPresence { bytes cid = 1; BlockPresenceType type = 2; }  // Have = 0, DontHave = 1
//! ```
//!
//! Decoding takes the message as [`Bytes`] and keeps block data as slices of it (no copy).
//! A `payload` block's CID is rebuilt from its prefix by hashing its data, so every [`Block`]
//! a message holds is verified by construction. A 1.0.0 `blocks` entry carries no CID: it
//! stays raw in [`Message::legacy_blocks`] until [`verify_legacy_blocks`] matches it against
//! the CIDs the caller wants. Unknown fields are skipped; everything a peer can get wrong is
//! an [`Error`], never a panic, and the [`Limits`] bound the work and memory one message costs.

use std::collections::HashMap;

use bytes::Bytes;
use cid::{Cid, Version};
use multihash::Multihash;
use multihash_codetable::{Code, MultihashDigest};

use super::{Error, Protocol, MAX_CID_LEN, MAX_MESSAGE_ITEMS, MAX_MESSAGE_SIZE};
use crate::ipld::cid::{codec, hash};
use crate::ipld::protobuf::{
    self, bytes_field_len, put_bytes_field, put_len_prefix, put_varint_field, tag,
    varint_field_len, FieldError, FieldValue, WIRE_LEN, WIRE_VARINT,
};
use crate::ipld::varint::{self, VarintError};

// Field numbers (boxo bitswap/message/pb/message.proto; the spec's wire formats).
const MESSAGE_WANTLIST: u64 = 1;
const MESSAGE_BLOCKS: u64 = 2;
const MESSAGE_PAYLOAD: u64 = 3;
const MESSAGE_PRESENCES: u64 = 4;
const MESSAGE_PENDING_BYTES: u64 = 5;
const WANTLIST_ENTRIES: u64 = 1;
const WANTLIST_FULL: u64 = 2;
const ENTRY_BLOCK: u64 = 1;
const ENTRY_PRIORITY: u64 = 2;
const ENTRY_CANCEL: u64 = 3;
const ENTRY_WANT_TYPE: u64 = 4;
const ENTRY_SEND_DONT_HAVE: u64 = 5;
const BLOCK_PREFIX: u64 = 1;
const BLOCK_DATA: u64 = 2;
const PRESENCE_CID: u64 = 1;
const PRESENCE_TYPE: u64 = 2;

const fn len_tag(number: u64) -> u8 {
    tag(number as u8, WIRE_LEN)
}

const fn varint_tag(number: u64) -> u8 {
    tag(number as u8, WIRE_VARINT)
}

/// Largest digest a [`Cid`] holds (`cid::Cid` is `Cid<64>`).
const MAX_DIGEST: usize = 64;

/// What a wantlist entry asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WantType {
    /// Send the block (0, the default; the only kind before 1.2.0).
    #[default]
    Block,
    /// Say whether you have it (1.2.0).
    Have,
}

/// One wantlist entry: a want, or the cancel of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub cid: Cid,
    /// Higher first; the spec calls it "normalized", boxo sends positive values.
    pub priority: i32,
    /// Revokes an earlier want for `cid` (the other fields are then meaningless).
    pub cancel: bool,
    pub want_type: WantType,
    /// Ask for a DONT_HAVE when the peer does not have the block (1.2.0).
    pub send_dont_have: bool,
}

impl Entry {
    /// A want for the block itself.
    pub fn want_block(cid: Cid, priority: i32, send_dont_have: bool) -> Self {
        Entry {
            cid,
            priority,
            cancel: false,
            want_type: WantType::Block,
            send_dont_have,
        }
    }

    /// A want for a HAVE (or DONT_HAVE) about the block.
    pub fn want_have(cid: Cid, priority: i32, send_dont_have: bool) -> Self {
        Entry {
            want_type: WantType::Have,
            ..Entry::want_block(cid, priority, send_dont_have)
        }
    }

    /// The cancel of any want for `cid`.
    pub fn cancel(cid: Cid) -> Self {
        Entry {
            cancel: true,
            ..Entry::want_block(cid, 0, false)
        }
    }
}

/// A wantlist: changes to the sender's wants, or (`full`) all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wantlist {
    pub entries: Vec<Entry>,
    /// The entries replace every earlier want of the sender.
    pub full: bool,
}

/// A block whose data hashes to its CID: only a decoder that rebuilt the CID from the data,
/// [`Block::new`] (which checks) and [`verify_legacy_blocks`] make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    cid: Cid,
    data: Bytes,
}

impl Block {
    /// A block, once `data` is checked against `cid` ([`crate::store::verify`]).
    pub fn new(cid: Cid, data: Bytes) -> Result<Self, crate::store::Error> {
        crate::store::verify(&cid, &data)?;
        Ok(Block { cid, data })
    }

    /// A block from a [`crate::store::BlockSource`], which verifies what it returns.
    pub(super) fn from_source(cid: Cid, data: Bytes) -> Self {
        Block { cid, data }
    }

    pub fn cid(&self) -> &Cid {
        &self.cid
    }

    pub fn data(&self) -> &Bytes {
        &self.data
    }

    pub fn into_parts(self) -> (Cid, Bytes) {
        (self.cid, self.data)
    }
}

/// Whether the sender has a block (1.2.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PresenceType {
    /// 0.
    Have,
    /// 1.
    DontHave,
}

/// A HAVE or DONT_HAVE about one CID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockPresence {
    pub cid: Cid,
    pub kind: PresenceType,
}

/// One Bitswap message. Fields a protocol version lacks are left out when encoding for it
/// (see [`Message::encode`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub wantlist: Option<Wantlist>,
    /// Blocks with their CIDs (`payload`, 1.1.0 and later), each verified.
    pub blocks: Vec<Block>,
    /// 1.0.0 `blocks`: bare data, unverified, for [`verify_legacy_blocks`].
    pub legacy_blocks: Vec<Bytes>,
    pub presences: Vec<BlockPresence>,
    /// Bytes the sender still has queued for the receiver (1.2.0; 0 when not said).
    pub pending_bytes: i32,
}

/// Bounds on what one incoming message may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message body (length prefix excluded).
    pub max_message_size: usize,
    /// Most wantlist entries, blocks (both kinds) and presences together.
    pub max_items: usize,
    /// Longest binary CID.
    pub max_cid_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: MAX_MESSAGE_SIZE,
            max_items: MAX_MESSAGE_ITEMS,
            max_cid_len: MAX_CID_LEN,
        }
    }
}

impl Message {
    /// Nothing to say: no wantlist, blocks or presences.
    pub fn is_empty(&self) -> bool {
        self.wantlist.is_none()
            && self.blocks.is_empty()
            && self.legacy_blocks.is_empty()
            && self.presences.is_empty()
    }

    /// The encoding for a peer speaking `protocol`: for 1.0.0 blocks go as bare `blocks`
    /// (field 2), otherwise as `payload` with their prefix (field 3); before 1.2.0 presences
    /// and pending bytes are left out. Fields at their default are not written (proto3).
    pub fn encode(&self, protocol: Protocol) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len(protocol));
        self.encode_into(&mut out, protocol);
        out
    }

    /// [`Message::encode`], appended to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>, protocol: Protocol) {
        if let Some(wantlist) = &self.wantlist {
            put_len_prefix(out, len_tag(MESSAGE_WANTLIST), wantlist_body_len(wantlist));
            for entry in &wantlist.entries {
                put_len_prefix(out, len_tag(WANTLIST_ENTRIES), entry_body_len(entry));
                write_entry(out, entry);
            }
            if wantlist.full {
                put_varint_field(out, varint_tag(WANTLIST_FULL), 1);
            }
        }
        for data in &self.legacy_blocks {
            put_bytes_field(out, len_tag(MESSAGE_BLOCKS), data);
        }
        for block in &self.blocks {
            write_block(out, block, protocol);
        }
        if protocol.has_presences() {
            for presence in &self.presences {
                write_presence(out, &presence.cid, presence.kind);
            }
            if self.pending_bytes != 0 {
                put_varint_field(
                    out,
                    varint_tag(MESSAGE_PENDING_BYTES),
                    int32_wire(self.pending_bytes),
                );
            }
        }
    }

    /// Bytes [`Message::encode`] writes for `protocol`.
    pub fn encoded_len(&self, protocol: Protocol) -> usize {
        let mut len = 0;
        if let Some(wantlist) = &self.wantlist {
            len += bytes_field_len(wantlist_body_len(wantlist));
        }
        len += self
            .legacy_blocks
            .iter()
            .map(|data| bytes_field_len(data.len()))
            .sum::<usize>();
        len += self
            .blocks
            .iter()
            .map(|block| block_field_len(&block.cid, block.data.len(), protocol))
            .sum::<usize>();
        if protocol.has_presences() {
            len += self
                .presences
                .iter()
                .map(|presence| presence_field_len(&presence.cid, presence.kind))
                .sum::<usize>();
            if self.pending_bytes != 0 {
                len += varint_field_len(int32_wire(self.pending_bytes));
            }
        }
        len
    }

    /// Decodes one message body within `limits`. Every `payload` block is hashed to rebuild its
    /// CID; 1.0.0 `blocks` are kept raw.
    pub fn decode(bytes: Bytes, limits: &Limits) -> Result<Message, Error> {
        if bytes.len() > limits.max_message_size {
            return Err(Error::MessageTooLarge {
                len: bytes.len() as u64,
                max: limits.max_message_size,
            });
        }
        let mut decoder = Decoder {
            buf: &bytes,
            bytes: &bytes,
            limits,
            items: 0,
        };
        decoder.message()
    }
}

/// Matches 1.0.0 `blocks` (bare data) against the CIDs the caller wants: each block that hashes
/// to a wanted CID becomes a verified [`Block`] under that CID (one per CID it matches, so the
/// same bytes wanted as CIDv0 and CIDv1 give two); the rest are dropped. Each block is hashed
/// once per distinct hash function and digest length among `wanted`; CIDs whose hash function
/// cairn cannot compute match nothing.
pub fn verify_legacy_blocks<'a>(
    blocks: &[Bytes],
    wanted: impl IntoIterator<Item = &'a Cid>,
) -> Vec<Block> {
    // (multihash code, digest size) → multihash → the wanted CIDs with it.
    let mut groups: HashMap<(u64, u8), HashMap<Multihash<64>, Vec<Cid>>> = HashMap::new();
    for cid in wanted {
        let mh = cid.hash();
        let cids = groups
            .entry((mh.code(), mh.size()))
            .or_default()
            .entry(*mh)
            .or_default();
        if !cids.contains(cid) {
            cids.push(*cid);
        }
    }
    let mut out = Vec::new();
    for data in blocks {
        for (&(code, size), by_hash) in &groups {
            let Some(mh) = multihash_of(code, size, data) else {
                continue;
            };
            if let Some(cids) = by_hash.get(&mh) {
                out.extend(cids.iter().map(|cid| Block {
                    cid: *cid,
                    data: data.clone(),
                }));
            }
        }
    }
    out
}

/// The multihash of `data` under hash function `code`, truncated to `size` bytes: `None` when
/// the function is not one cairn computes or `size` is 0 or longer than its output. Identity
/// "hashes" only when `data` is exactly `size` bytes.
fn multihash_of(code: u64, size: u8, data: &[u8]) -> Option<Multihash<64>> {
    if size == 0 {
        return None;
    }
    if code == hash::IDENTITY {
        return (data.len() == usize::from(size))
            .then(|| Multihash::wrap(code, data).ok())
            .flatten();
    }
    let full = Code::try_from(code).ok()?.digest(data);
    (size <= full.size()).then(|| full.truncate(size))
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/// An int32 as protobuf writes it: negative values sign-extended to ten bytes.
fn int32_wire(value: i32) -> u64 {
    i64::from(value) as u64
}

fn entry_body_len(entry: &Entry) -> usize {
    let mut len = bytes_field_len(entry.cid.encoded_len());
    if entry.priority != 0 {
        len += varint_field_len(int32_wire(entry.priority));
    }
    len += 2
        * (usize::from(entry.cancel)
            + usize::from(entry.want_type == WantType::Have)
            + usize::from(entry.send_dont_have));
    len
}

fn write_entry(out: &mut Vec<u8>, entry: &Entry) {
    put_len_prefix(out, len_tag(ENTRY_BLOCK), entry.cid.encoded_len());
    crate::ipld::cid::write_binary(out, &entry.cid);
    if entry.priority != 0 {
        put_varint_field(out, varint_tag(ENTRY_PRIORITY), int32_wire(entry.priority));
    }
    if entry.cancel {
        put_varint_field(out, varint_tag(ENTRY_CANCEL), 1);
    }
    if entry.want_type == WantType::Have {
        put_varint_field(out, varint_tag(ENTRY_WANT_TYPE), 1);
    }
    if entry.send_dont_have {
        put_varint_field(out, varint_tag(ENTRY_SEND_DONT_HAVE), 1);
    }
}

fn wantlist_body_len(wantlist: &Wantlist) -> usize {
    let entries: usize = wantlist
        .entries
        .iter()
        .map(|entry| bytes_field_len(entry_body_len(entry)))
        .sum();
    entries + if wantlist.full { 2 } else { 0 }
}

/// The CID prefix of a `payload` block: version, codec, multihash code and digest length, as
/// varints (what boxo's `cid.Prefix.Bytes` writes; a CIDv0 is `0, 0x70, 0x12, 32`).
fn prefix_parts(cid: &Cid) -> [u64; 4] {
    let version = match cid.version() {
        Version::V0 => 0,
        Version::V1 => 1,
    };
    let mh = cid.hash();
    [version, cid.codec(), mh.code(), u64::from(mh.size())]
}

fn prefix_len(cid: &Cid) -> usize {
    prefix_parts(cid).into_iter().map(varint::len).sum()
}

fn block_body_len(cid: &Cid, data_len: usize) -> usize {
    bytes_field_len(prefix_len(cid))
        + if data_len == 0 {
            0
        } else {
            bytes_field_len(data_len)
        }
}

/// Bytes a block of `data_len` bytes takes in a message for `protocol`.
pub(super) fn block_field_len(cid: &Cid, data_len: usize, protocol: Protocol) -> usize {
    if protocol.has_payload() {
        bytes_field_len(block_body_len(cid, data_len))
    } else {
        bytes_field_len(data_len)
    }
}

fn write_block(out: &mut Vec<u8>, block: &Block, protocol: Protocol) {
    if !protocol.has_payload() {
        put_bytes_field(out, len_tag(MESSAGE_BLOCKS), &block.data);
        return;
    }
    put_len_prefix(
        out,
        len_tag(MESSAGE_PAYLOAD),
        block_body_len(&block.cid, block.data.len()),
    );
    put_len_prefix(out, len_tag(BLOCK_PREFIX), prefix_len(&block.cid));
    for part in prefix_parts(&block.cid) {
        varint::put(out, part);
    }
    if !block.data.is_empty() {
        put_bytes_field(out, len_tag(BLOCK_DATA), &block.data);
    }
}

fn presence_body_len(cid: &Cid, kind: PresenceType) -> usize {
    bytes_field_len(cid.encoded_len()) + if kind == PresenceType::DontHave { 2 } else { 0 }
}

/// Bytes a presence takes in a 1.2.0 message.
pub(super) fn presence_field_len(cid: &Cid, kind: PresenceType) -> usize {
    bytes_field_len(presence_body_len(cid, kind))
}

fn write_presence(out: &mut Vec<u8>, cid: &Cid, kind: PresenceType) {
    put_len_prefix(
        out,
        len_tag(MESSAGE_PRESENCES),
        presence_body_len(cid, kind),
    );
    put_len_prefix(out, len_tag(PRESENCE_CID), cid.encoded_len());
    crate::ipld::cid::write_binary(out, cid);
    if kind == PresenceType::DontHave {
        put_varint_field(out, varint_tag(PRESENCE_TYPE), 1);
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

struct Decoder<'a> {
    buf: &'a [u8],
    /// The same bytes, for zero-copy slices of block data.
    bytes: &'a Bytes,
    limits: &'a Limits,
    /// Entries, blocks and presences so far, against `limits.max_items`.
    items: usize,
}

/// A known field's value of the wrong wire type.
fn wrong_wire(what: &str, at: usize) -> Error {
    Error::malformed(format!("{what} has the wrong wire type"), at)
}

fn field_error(e: FieldError) -> Error {
    let at = match e {
        FieldError::Varint { at, .. }
        | FieldError::FieldNumber { at, .. }
        | FieldError::WireType { at, .. }
        | FieldError::Truncated { at } => at,
    };
    let what = match e {
        FieldError::Varint {
            fault: VarintError::Truncated,
            ..
        } => "truncated varint".to_owned(),
        FieldError::Varint { .. } => "varint longer than 64 bits".to_owned(),
        FieldError::FieldNumber { number, .. } => format!("invalid field number {number}"),
        FieldError::WireType { wire, .. } => format!("unsupported wire type {wire}"),
        FieldError::Truncated { .. } => "field runs past the end of its message".to_owned(),
    };
    Error::Malformed { what, at }
}

fn as_len(value: FieldValue, what: &str, at: usize) -> Result<(usize, usize), Error> {
    match value {
        FieldValue::Len { start, end } => Ok((start, end)),
        _ => Err(wrong_wire(what, at)),
    }
}

fn as_varint(value: FieldValue, what: &str, at: usize) -> Result<u64, Error> {
    match value {
        FieldValue::Varint(v) => Ok(v),
        _ => Err(wrong_wire(what, at)),
    }
}

/// An int32 as protobuf reads it: the low 32 bits of the varint.
fn int32_of(value: u64) -> i32 {
    value as u32 as i32
}

impl Decoder<'_> {
    /// Calls `each(number, value, tag offset)` for every field in `start..end`.
    fn fields(
        &mut self,
        start: usize,
        end: usize,
        mut each: impl FnMut(&mut Self, u64, FieldValue, usize) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut pos = start;
        while pos < end {
            let (number, value, next) =
                protobuf::read_field(self.buf, pos, end).map_err(field_error)?;
            each(self, number, value, pos)?;
            pos = next;
        }
        Ok(())
    }

    fn count_item(&mut self) -> Result<(), Error> {
        self.items += 1;
        if self.items > self.limits.max_items {
            return Err(Error::TooManyItems {
                max: self.limits.max_items,
            });
        }
        Ok(())
    }

    fn message(&mut self) -> Result<Message, Error> {
        let mut message = Message::default();
        self.fields(0, self.buf.len(), |d, number, value, at| {
            match number {
                MESSAGE_WANTLIST => {
                    let (start, end) = as_len(value, "wantlist", at)?;
                    // A repeated embedded message merges into the first (protobuf rules).
                    let wantlist = message.wantlist.get_or_insert_with(Wantlist::default);
                    d.wantlist(start, end, wantlist)?;
                }
                MESSAGE_BLOCKS => {
                    let (start, end) = as_len(value, "blocks", at)?;
                    d.count_item()?;
                    message.legacy_blocks.push(d.bytes.slice(start..end));
                }
                MESSAGE_PAYLOAD => {
                    let (start, end) = as_len(value, "payload", at)?;
                    d.count_item()?;
                    message.blocks.push(d.block(start, end, at)?);
                }
                MESSAGE_PRESENCES => {
                    let (start, end) = as_len(value, "blockPresences", at)?;
                    d.count_item()?;
                    message.presences.push(d.presence(start, end, at)?);
                }
                MESSAGE_PENDING_BYTES => {
                    message.pending_bytes = int32_of(as_varint(value, "pendingBytes", at)?);
                }
                _ => {}
            }
            Ok(())
        })?;
        Ok(message)
    }

    fn wantlist(&mut self, start: usize, end: usize, wantlist: &mut Wantlist) -> Result<(), Error> {
        self.fields(start, end, |d, number, value, at| {
            match number {
                WANTLIST_ENTRIES => {
                    let (start, end) = as_len(value, "wantlist entry", at)?;
                    d.count_item()?;
                    wantlist.entries.push(d.entry(start, end, at)?);
                }
                WANTLIST_FULL => wantlist.full = as_varint(value, "wantlist.full", at)? != 0,
                _ => {}
            }
            Ok(())
        })
    }

    fn entry(&mut self, start: usize, end: usize, entry_at: usize) -> Result<Entry, Error> {
        let mut cid = None;
        let (mut priority, mut cancel, mut want_type, mut send_dont_have) =
            (0, false, WantType::Block, false);
        self.fields(start, end, |d, number, value, at| {
            match number {
                ENTRY_BLOCK => {
                    let (start, end) = as_len(value, "entry.block", at)?;
                    cid = Some(d.cid(start, end)?);
                }
                ENTRY_PRIORITY => priority = int32_of(as_varint(value, "priority", at)?),
                ENTRY_CANCEL => cancel = as_varint(value, "cancel", at)? != 0,
                ENTRY_WANT_TYPE => {
                    want_type = match as_varint(value, "wantType", at)? {
                        0 => WantType::Block,
                        1 => WantType::Have,
                        other => {
                            return Err(Error::malformed(format!("unknown wantType {other}"), at))
                        }
                    }
                }
                ENTRY_SEND_DONT_HAVE => send_dont_have = as_varint(value, "sendDontHave", at)? != 0,
                _ => {}
            }
            Ok(())
        })?;
        let cid = cid.ok_or_else(|| Error::malformed("wantlist entry without a CID", entry_at))?;
        Ok(Entry {
            cid,
            priority,
            cancel,
            want_type,
            send_dont_have,
        })
    }

    fn presence(
        &mut self,
        start: usize,
        end: usize,
        presence_at: usize,
    ) -> Result<BlockPresence, Error> {
        let mut cid = None;
        let mut kind = PresenceType::Have;
        self.fields(start, end, |d, number, value, at| {
            match number {
                PRESENCE_CID => {
                    let (start, end) = as_len(value, "blockPresence.cid", at)?;
                    cid = Some(d.cid(start, end)?);
                }
                PRESENCE_TYPE => {
                    kind = match as_varint(value, "blockPresence.type", at)? {
                        0 => PresenceType::Have,
                        1 => PresenceType::DontHave,
                        other => {
                            return Err(Error::malformed(
                                format!("unknown block presence type {other}"),
                                at,
                            ))
                        }
                    }
                }
                _ => {}
            }
            Ok(())
        })?;
        let cid =
            cid.ok_or_else(|| Error::malformed("block presence without a CID", presence_at))?;
        Ok(BlockPresence { cid, kind })
    }

    fn block(&mut self, start: usize, end: usize, block_at: usize) -> Result<Block, Error> {
        let mut prefix = None;
        let mut data = (start, start);
        self.fields(start, end, |_, number, value, at| {
            match number {
                BLOCK_PREFIX => prefix = Some(as_len(value, "block prefix", at)?),
                BLOCK_DATA => data = as_len(value, "block data", at)?,
                _ => {}
            }
            Ok(())
        })?;
        let (prefix_start, prefix_end) =
            prefix.ok_or_else(|| Error::malformed("block without a CID prefix", block_at))?;
        let data = self.bytes.slice(data.0..data.1);
        let cid = cid_from_prefix(&self.buf[prefix_start..prefix_end], &data, prefix_start)?;
        Ok(Block { cid, data })
    }

    fn cid(&self, start: usize, end: usize) -> Result<Cid, Error> {
        let len = end - start;
        if len > self.limits.max_cid_len {
            return Err(Error::CidTooLong {
                len,
                max: self.limits.max_cid_len,
                at: start,
            });
        }
        crate::ipld::cid::from_bytes(&self.buf[start..end])
            .map_err(|e| Error::malformed(format!("invalid CID ({})", e.message()), start))
    }
}

/// Rebuilds a block's CID from its prefix (CID version, codec, multihash code, digest length)
/// by hashing `data`: the CID is right for the data by construction. `at` is the prefix's
/// offset, for errors.
fn cid_from_prefix(prefix: &[u8], data: &[u8], at: usize) -> Result<Cid, Error> {
    let mut parts = [0u64; 4];
    let mut pos = 0;
    for part in &mut parts {
        let (value, used) = varint::decode_at(prefix, pos)
            .map_err(|_| Error::malformed("truncated or overlong block prefix", at + pos))?;
        *part = value;
        pos += used;
    }
    if pos != prefix.len() {
        return Err(Error::malformed(
            "trailing bytes after block prefix",
            at + pos,
        ));
    }
    let [version, codec_code, hash_code, size] = parts;
    let bad = |what: &str| Error::malformed(format!("block prefix: {what}"), at);
    if size == 0 || size > MAX_DIGEST as u64 {
        return Err(bad("digest length out of range"));
    }
    let mh = if hash_code == hash::IDENTITY {
        if data.len() as u64 != size {
            return Err(bad("identity digest length differs from the data"));
        }
        Multihash::wrap(hash::IDENTITY, data).map_err(|_| bad("identity digest too long"))?
    } else {
        let code = Code::try_from(hash_code).map_err(|_| Error::UnsupportedHash {
            code: hash_code,
            at,
        })?;
        let full = code.digest(data);
        if size > u64::from(full.size()) {
            return Err(bad("digest length longer than the hash function's"));
        }
        full.truncate(size as u8)
    };
    match version {
        0 if codec_code == codec::DAG_PB => {
            Cid::new_v0(mh).map_err(|_| bad("CIDv0 must be sha2-256, 32 bytes"))
        }
        0 => Err(bad("CIDv0 must be dag-pb")),
        1 => Ok(Cid::new_v1(codec_code, mh)),
        _ => Err(bad("unknown CID version")),
    }
}

#[cfg(test)]
mod tests;
