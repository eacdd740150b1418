//! Building HAMT shards (UnixFS spec "dag-pb HAMTDirectory", boxo `ipld/unixfs/hamt`): slots
//! from murmur3 name hashes, bitfields, and the canonical trie of shard blocks.

use super::*;

/// The bits of a 64-bit name hash that pick the slot at `offset` (MSB first, boxo `hashBits`).
pub(super) fn slot_at(hash: u64, offset: u32, bits: u32) -> Result<u32, AddError> {
    if offset + bits > hamt::HASH_BITS {
        return Err(AddError::InvalidInput(
            "sharded directory too deep: two names share all 64 hash bits".into(),
        ));
    }
    Ok(((hash << offset) >> (hamt::HASH_BITS - bits)) as u32)
}

pub(super) fn name_hash(name: &str) -> u64 {
    u64::from_be_bytes(hamt::hash_name(name.as_bytes()))
}

/// A HAMT shard's UnixFS Data (boxo `HAMTShardDataWithStat`).
pub(super) fn shard_data(
    bitfield: &[u8],
    shard: &ShardParams,
    metadata: Option<&Metadata>,
) -> Vec<u8> {
    let first = bitfield.iter().position(|&b| b != 0);
    let mut data = match metadata {
        Some(metadata) => directory_data(DataType::HamtShard, metadata),
        None => UnixFsData::new(DataType::HamtShard),
    };
    data.data = first.map(|first| Bytes::copy_from_slice(&bitfield[first..]));
    data.hash_type = Some(hamt::MURMUR3_X64_64);
    data.fanout = Some(u64::from(shard.fanout()));
    data.encode()
}

pub(super) fn set_bit(bitfield: &mut [u8], index: u32) {
    let len = bitfield.len();
    if let Some(byte) = len
        .checked_sub(index as usize / 8 + 1)
        .and_then(|at| bitfield.get_mut(at))
    {
        *byte |= 1 << (index % 8);
    }
}

pub(super) fn clear_bit(bitfield: &mut [u8], index: u32) {
    let len = bitfield.len();
    if let Some(byte) = len
        .checked_sub(index as usize / 8 + 1)
        .and_then(|at| bitfield.get_mut(at))
    {
        *byte &= !(1 << (index % 8));
    }
}

/// An entry on its way into a HAMT: its name hash, name and link.
pub(super) struct Keyed<'a> {
    pub(super) hash: u64,
    pub(super) name: &'a str,
    pub(super) link: Link,
}

/// Builds the canonical (sub-)trie of `entries` (sorted by hash) whose slots start at hash bit
/// `offset`, emitting every shard (children first), and returns the link to its root.
pub(super) fn build_shard<S: BlockSink + ?Sized>(
    entries: &[Keyed<'_>],
    offset: u32,
    shard: &ShardParams,
    metadata: Option<&Metadata>,
    dp: &DirParams<'_>,
    sink: &mut S,
) -> Result<Link, AddError> {
    let bits = shard.bits_per_level();
    let mut bitfield = [0u8; MAX_BITFIELD];
    let bitfield = &mut bitfield[..shard.fanout() as usize / 8];
    let mut names: Vec<String> = Vec::new();
    let mut links: Vec<Link> = Vec::new();
    let mut rest = entries;
    while let Some(first) = rest.first() {
        let slot = slot_at(first.hash, offset, bits)?;
        let mut run = 1;
        while let Some(next) = rest.get(run) {
            if slot_at(next.hash, offset, bits)? != slot {
                break;
            }
            run += 1;
        }
        let prefix = shard.slot_prefix(slot).map_err(ipld_input)?;
        let (group, tail) = rest.split_at(run);
        set_bit(bitfield, slot);
        if let [only] = group {
            names.push(format!("{prefix}{}", only.name));
            links.push(only.link);
        } else {
            names.push(prefix.as_str().to_owned());
            links.push(build_shard(group, offset + bits, shard, None, dp, sink)?);
        }
        rest = tail;
    }
    let data = shard_data(bitfield, shard, metadata);
    emit_shard(&names, &links, &data, dp, sink)
}

/// Encodes a shard whose links are already in slot order (so also in name order).
pub(super) fn emit_shard<S: BlockSink + ?Sized>(
    names: &[String],
    links: &[Link],
    data: &[u8],
    dp: &DirParams<'_>,
    sink: &mut S,
) -> Result<Link, AddError> {
    let refs: Vec<PbLinkRef<'_>> = names
        .iter()
        .zip(links)
        .map(|(name, link)| PbLinkRef {
            cid: &link.cid,
            name: Some(name),
            tsize: Some(link.tsize),
        })
        .collect();
    let block = dagpb::encode(&refs, Some(data));
    let children: u64 = links.iter().map(|l| l.tsize).sum();
    let mut link = dp.emit(block, sink)?;
    link.tsize += children;
    Ok(link)
}

/// Builds a whole HAMT directory of these entries; returns its link and the entries' order in
/// it (ascending name hash, which is also the order `ipfs ls` and Kubo's adder list them).
pub(super) fn build_hamt<S: BlockSink + ?Sized>(
    entries: &[(Box<str>, Link)],
    metadata: &Metadata,
    dp: &DirParams<'_>,
    sink: &mut S,
) -> Result<(Link, Vec<usize>), AddError> {
    let mut keyed: Vec<(Keyed<'_>, usize)> = entries
        .iter()
        .enumerate()
        .map(|(i, (name, link))| {
            (
                Keyed {
                    hash: name_hash(name),
                    name,
                    link: *link,
                },
                i,
            )
        })
        .collect();
    keyed.sort_unstable_by_key(|(k, _)| k.hash);
    let order = keyed.iter().map(|(_, i)| *i).collect();
    let keyed: Vec<Keyed<'_>> = keyed.into_iter().map(|(k, _)| k).collect();
    let link = build_shard(&keyed, 0, &dp.shard, Some(metadata), dp, sink)?;
    Ok((link, order))
}

pub(super) fn ipld_input(e: crate::ipld::Error) -> AddError {
    AddError::InvalidInput(e.to_string())
}
