//! Single-entry edits of stored directories ([`insert`], [`remove`]) for the writable gateway:
//! boxo's `DynamicDirectory` over a freshly loaded block, plain or HAMT, quirks included.

use super::*;

pub(super) fn load_block<Src: BlockSource + ?Sized>(
    source: &Src,
    cid: &Cid,
) -> Result<Bytes, AddError> {
    if cid.hash().code() == IDENTITY {
        return Ok(Bytes::copy_from_slice(cid.hash().digest()));
    }
    let read = source.get(cid).now().ok_or_else(|| {
        AddError::Sink(crate::store::Error::Worker(format!(
            "reading block {cid} would wait: directory edits read a source that answers in place"
        )))
    })?;
    read.map_err(AddError::Sink)?
        .or_else(|| crate::services::empty_directory_block(cid))
        .ok_or_else(|| AddError::InvalidInput(format!("block {cid} is not available")))
}

/// A stored directory node, decoded.
pub(super) struct StoredDir {
    links: Vec<dagpb::PbLink>,
    data: Bytes,
    unixfs: UnixFsData,
}

pub(super) fn load_dir<Src: BlockSource + ?Sized>(
    source: &Src,
    cid: &Cid,
) -> Result<StoredDir, AddError> {
    let block = load_block(source, cid)?;
    let node = dagpb::decode(&block).map_err(ipld_input)?;
    let data = node
        .data
        .ok_or_else(|| AddError::InvalidInput(format!("{cid} is not a UnixFS directory")))?;
    let unixfs = unixfs::decode(&data).map_err(ipld_input)?;
    Ok(StoredDir {
        links: node.links,
        data,
        unixfs,
    })
}

/// A directory's metadata as boxo reads it back (`FSNode.Mode`, `FSNode.ModTime`): permission
/// bits only and none when zero; an out-of-range mtime reads as none.
pub(super) fn stored_metadata(data: &UnixFsData) -> Metadata {
    Metadata {
        mode: data
            .mode
            .map(|mode| mode & 0o7777)
            .filter(|&mode| mode != 0),
        mtime: data.valid_mtime(),
    }
}

/// The new directory after an edit.
pub(super) enum EditKind<'e> {
    Insert(&'e Entry),
    Remove,
}

/// Adds or replaces the entry `name` in the stored directory `dir` (plain or HAMT) and returns
/// the new directory, emitting its new blocks. Shards or un-shards as boxo's
/// `DynamicDirectory.AddChild` would on a freshly loaded directory (see the module docs).
pub fn insert<Src, Snk>(
    source: &Src,
    dir: &Cid,
    name: &str,
    entry: &Entry,
    params: &ImportParams,
    sink: &mut Snk,
) -> Result<Entry, AddError>
where
    Src: BlockSource + ?Sized,
    Snk: BlockSink + ?Sized,
{
    check_name(name)?;
    edit(source, dir, name, EditKind::Insert(entry), params, sink)?
        .ok_or_else(|| AddError::InvalidInput("insert removed nothing".into()))
}

/// Removes the entry `name` from the stored directory `dir` and returns the new directory
/// (`None` when there is no such entry), emitting its new blocks. A HAMT un-shards as boxo's
/// `DynamicDirectory.RemoveChild` would on a freshly loaded directory.
pub fn remove<Src, Snk>(
    source: &Src,
    dir: &Cid,
    name: &str,
    params: &ImportParams,
    sink: &mut Snk,
) -> Result<Option<Entry>, AddError>
where
    Src: BlockSource + ?Sized,
    Snk: BlockSink + ?Sized,
{
    edit(source, dir, name, EditKind::Remove, params, sink)
}

pub(super) fn edit<Src, Snk>(
    source: &Src,
    dir: &Cid,
    name: &str,
    kind: EditKind<'_>,
    params: &ImportParams,
    sink: &mut Snk,
) -> Result<Option<Entry>, AddError>
where
    Src: BlockSource + ?Sized,
    Snk: BlockSink + ?Sized,
{
    let dp = DirParams::new(params)?;
    let stored = load_dir(source, dir)?;
    match stored.unixfs.kind {
        DataType::Directory => edit_plain(stored, name, kind, &dp, sink),
        DataType::HamtShard => edit_hamt(source, dir, stored, name, kind, &dp, sink),
        other => Err(AddError::InvalidInput(format!(
            "{dir} is a UnixFS {other:?}, not a directory"
        ))),
    }
}

/// Edits a plain directory (boxo `BasicDirectory` loaded from its node: the Data bytes stay as
/// they were; links are re-sorted and written with Name and Tsize).
pub(super) fn edit_plain<Snk: BlockSink + ?Sized>(
    stored: StoredDir,
    name: &str,
    kind: EditKind<'_>,
    dp: &DirParams<'_>,
    sink: &mut Snk,
) -> Result<Option<Entry>, AddError> {
    let params = dp.params;
    let old = stored
        .links
        .iter()
        .find(|link| link.name_str() == name)
        .map(|link| Link {
            cid: link.cid,
            tsize: link.tsize.unwrap_or(0),
        });
    let mut links: Vec<(Box<str>, Link)> = stored
        .links
        .iter()
        .filter(|link| link.name_str() != name)
        .map(|link| {
            (
                link.name_str().into(),
                Link {
                    cid: link.cid,
                    tsize: link.tsize.unwrap_or(0),
                },
            )
        })
        .collect();
    let new = match kind {
        EditKind::Remove => {
            if old.is_none() {
                return Ok(None);
            }
            None
        }
        EditKind::Insert(entry) => Some(Link::of(entry)),
    };
    if let Some(new) = new {
        // BasicDirectory.needsToSwitchToHAMTDir over the node's own links and metadata.
        let metadata = stored_metadata(&stored.unixfs);
        let mode = params.size_estimation;
        let estimate = data_field_weight(mode, &metadata)
            + stored
                .links
                .iter()
                .map(|link| {
                    link_weight(
                        mode,
                        link.name_str().len(),
                        &Link {
                            cid: link.cid,
                            tsize: link.tsize.unwrap_or(0),
                        },
                    )
                })
                .sum::<i64>()
            - old.map_or(0, |old| link_weight(mode, name.len(), &old))
            + link_weight(mode, name.len(), &new);
        let max = params.max_directory_links;
        let over_links = old.is_none() && max > 0 && stored.links.len() + 1 > max;
        let threshold = i64::try_from(params.hamt_threshold).unwrap_or(i64::MAX);
        links.push((name.into(), new));
        if threshold != 0 && (estimate > threshold || over_links) {
            // switchToSharding keeps one link per name (a later duplicate wins).
            links.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            links.dedup_by(|later, earlier| {
                if later.0 == earlier.0 {
                    earlier.1 = later.1;
                    true
                } else {
                    false
                }
            });
            let (link, _) = build_hamt(&links, &metadata, dp, sink)?;
            return Ok(Some(dir_entry(link)));
        }
        if over_links {
            return Err(too_many_links(max));
        }
    }
    let block = encode_plain(&mut links, &stored.data);
    let children: u64 = links.iter().map(|(_, l)| l.tsize).sum();
    let mut link = dp.emit(block, sink)?;
    link.tsize += children;
    Ok(Some(dir_entry(link)))
}

/// A link of a loaded shard.
#[derive(Clone)]
pub(super) struct ShardLink {
    slot: u32,
    /// The link's name after the slot prefix (empty for a sub-shard).
    label: Box<str>,
    is_shard: bool,
    link: Link,
}

/// A loaded (and possibly modified) HAMT shard.
pub(super) struct Shard {
    params: ShardParams,
    bitfield: [u8; MAX_BITFIELD],
    /// In slot order.
    links: Vec<ShardLink>,
}

impl Shard {
    fn load<Src: BlockSource + ?Sized>(source: &Src, cid: &Cid) -> Result<Self, AddError> {
        let stored = load_dir(source, cid)?;
        Self::from_stored(stored, cid)
    }

    /// boxo `NewHamtFromDag` + `makeChilder`: the bitfield says which slots are used; the
    /// links are those slots in order; names only tell entries from sub-shards.
    fn from_stored(stored: StoredDir, cid: &Cid) -> Result<Self, AddError> {
        if stored.unixfs.kind != DataType::HamtShard {
            return Err(AddError::InvalidInput(format!("{cid} is not a HAMT shard")));
        }
        let params = ShardParams::from_unixfs(stored.unixfs.hash_type, stored.unixfs.fanout)
            .map_err(ipld_input)?;
        let raw_bits = stored.unixfs.data.clone().unwrap_or_default();
        params.check_bitfield(&raw_bits).map_err(ipld_input)?;
        let width = params.fanout() as usize / 8;
        let mut bitfield = [0u8; MAX_BITFIELD];
        bitfield[width - raw_bits.len()..width].copy_from_slice(&raw_bits);
        let slots: Vec<u32> = (0..params.fanout())
            .filter(|&slot| hamt::bitfield_has(&raw_bits, slot))
            .collect();
        if slots.len() != stored.links.len() {
            return Err(AddError::InvalidInput(format!(
                "HAMT shard {cid} has {} links but {} slots set",
                stored.links.len(),
                slots.len()
            )));
        }
        let prefix_len = params.prefix_len();
        let links = slots
            .into_iter()
            .zip(&stored.links)
            .map(|(slot, link)| {
                let name = link.name_str();
                let label = name.get(prefix_len..).ok_or_else(|| {
                    AddError::InvalidInput(format!("invalid HAMT link name {name:?} in {cid}"))
                })?;
                Ok(ShardLink {
                    slot,
                    label: label.into(),
                    is_shard: label.is_empty(),
                    link: Link {
                        cid: link.cid,
                        tsize: link.tsize.unwrap_or(0),
                    },
                })
            })
            .collect::<Result<Vec<_>, AddError>>()?;
        Ok(Shard {
            params,
            bitfield,
            links,
        })
    }

    fn bitfield(&self) -> &[u8] {
        &self.bitfield[..self.params.fanout() as usize / 8]
    }

    fn position(&self, slot: u32) -> Result<usize, usize> {
        self.links.binary_search_by_key(&slot, |l| l.slot)
    }

    /// Encodes and emits this shard (boxo `Shard.Node`: names re-prefixed from the slots).
    fn emit<S: BlockSink + ?Sized>(
        &self,
        metadata: Option<&Metadata>,
        dp: &DirParams<'_>,
        sink: &mut S,
    ) -> Result<Link, AddError> {
        let mut names = Vec::with_capacity(self.links.len());
        let mut links = Vec::with_capacity(self.links.len());
        for link in &self.links {
            let prefix = self.params.slot_prefix(link.slot).map_err(ipld_input)?;
            names.push(format!("{prefix}{}", link.label));
            links.push(link.link);
        }
        let data = shard_data(self.bitfield(), &self.params, metadata);
        emit_shard(&names, &links, &data, dp, sink)
    }
}

/// The stored entry `name` of a HAMT, with the full (prefixed) length of its link name.
pub(super) fn hamt_find<Src: BlockSource + ?Sized>(
    source: &Src,
    root: &Shard,
    name: &str,
) -> Result<Option<(usize, Link)>, AddError> {
    let hash = name_hash(name);
    let mut offset = 0;
    let mut loaded: Option<Shard> = None;
    for _ in 0..MAX_SHARD_DEPTH {
        let shard = loaded.as_ref().unwrap_or(root);
        let bits = shard.params.bits_per_level();
        let slot = slot_at(hash, offset, bits)?;
        offset += bits;
        let Ok(at) = shard.position(slot) else {
            return Ok(None);
        };
        let link = &shard.links[at];
        if !link.is_shard {
            return Ok((&*link.label == name)
                .then(|| (shard.params.prefix_len() + link.label.len(), link.link)));
        }
        let next = link.link.cid;
        loaded = Some(Shard::load(source, &next)?);
    }
    Err(AddError::InvalidInput("sharded directory too deep".into()))
}

/// Visits every entry of a HAMT (unprefixed name, link) until `visit` breaks; each sub-shard
/// is read once (boxo's walk keeps a visited set of shard CIDs).
pub(super) fn hamt_walk<Src, F>(
    source: &Src,
    root: &Shard,
    visit: &mut F,
) -> Result<ControlFlow<()>, AddError>
where
    Src: BlockSource + ?Sized,
    F: FnMut(&str, &Link) -> ControlFlow<()>,
{
    let mut seen = HashSet::new();
    walk_shard(source, root, 0, &mut seen, visit)
}

pub(super) fn walk_shard<Src, F>(
    source: &Src,
    shard: &Shard,
    depth: usize,
    seen: &mut HashSet<Cid>,
    visit: &mut F,
) -> Result<ControlFlow<()>, AddError>
where
    Src: BlockSource + ?Sized,
    F: FnMut(&str, &Link) -> ControlFlow<()>,
{
    if depth >= MAX_SHARD_DEPTH {
        return Err(AddError::InvalidInput("sharded directory too deep".into()));
    }
    for link in &shard.links {
        if link.is_shard {
            if !seen.insert(link.link.cid) {
                continue;
            }
            let child = Shard::load(source, &link.link.cid)?;
            if walk_shard(source, &child, depth + 1, seen, visit)?.is_break() {
                return Ok(ControlFlow::Break(()));
            }
        } else if visit(&link.label, &link.link).is_break() {
            return Ok(ControlFlow::Break(()));
        }
    }
    Ok(ControlFlow::Continue(()))
}

/// Edits a HAMT directory (boxo `HAMTDirectory` loaded from its root node, inside a
/// `DynamicDirectory`).
pub(super) fn edit_hamt<Src, Snk>(
    source: &Src,
    dir: &Cid,
    stored: StoredDir,
    name: &str,
    kind: EditKind<'_>,
    dp: &DirParams<'_>,
    sink: &mut Snk,
) -> Result<Option<Entry>, AddError>
where
    Src: BlockSource + ?Sized,
    Snk: BlockSink + ?Sized,
{
    let params = dp.params;
    let metadata = stored_metadata(&stored.unixfs);
    let root = Shard::from_stored(stored, dir)?;
    let existing = hamt_find(source, &root, name)?;
    let new = match kind {
        EditKind::Insert(entry) => Some(Link::of(entry)),
        EditKind::Remove => None,
    };
    if new.is_none() && existing.is_none() {
        return Ok(None);
    }

    // needsToSwitchToBasicDir: sizeChange is 0 on a freshly loaded directory and the link
    // count is the root shard's.
    let threshold = i64::try_from(params.hamt_threshold).unwrap_or(i64::MAX);
    if threshold != 0 {
        let mode = params.size_estimation;
        let max = params.max_directory_links;
        let new_total =
            root.links.len() + usize::from(new.is_some()) - usize::from(existing.is_some());
        let links_allow = !(max > 0 && new_total > max);
        let change = new.map_or(0, |new| link_weight(mode, 0, &new))
            - existing.map_or(0, |(stored_len, old)| link_weight(mode, stored_len, &old));
        if change < 0 && links_allow {
            let mut partial = data_field_weight(mode, &metadata);
            let flow = hamt_walk(source, &root, &mut |entry_name, link| {
                partial += link_weight(mode, entry_name.len(), link);
                if partial + change > threshold {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })?;
            if flow.is_continue() {
                return unshard(source, &root, name, new, &metadata, dp, sink).map(Some);
            }
        }
    }

    let mut root = root;
    let hash = name_hash(name);
    match new {
        Some(new) => hamt_insert(source, &mut root, hash, 0, name, new, dp, sink, 0)?,
        None => {
            if hamt_remove(source, &mut root, hash, 0, name, dp, sink, 0)?.is_none() {
                return Ok(None);
            }
        }
    }
    Ok(Some(dir_entry(root.emit(Some(&metadata), dp, sink)?)))
}

/// HAMT → plain (boxo `switchToBasic`): every entry, then the edit, under the HAMT's metadata.
pub(super) fn unshard<Src, Snk>(
    source: &Src,
    root: &Shard,
    name: &str,
    new: Option<Link>,
    metadata: &Metadata,
    dp: &DirParams<'_>,
    sink: &mut Snk,
) -> Result<Entry, AddError>
where
    Src: BlockSource + ?Sized,
    Snk: BlockSink + ?Sized,
{
    let mut links: Vec<(Box<str>, Link)> = Vec::new();
    let mut all = 0;
    let _ = hamt_walk(source, root, &mut |entry_name, link| {
        all += 1;
        if entry_name != name {
            links.push((entry_name.into(), *link));
        }
        ControlFlow::Continue(())
    })?;
    // switchToBasic re-adds every entry under the link limit (raised by one for a removal),
    // then the edit adds its entry.
    let max = dp.params.max_directory_links;
    let too_many = match new {
        Some(_) => all > max || (links.len() == all && all + 1 > max),
        None => all > max + 1,
    };
    if max > 0 && too_many {
        return Err(too_many_links(max));
    }
    if let Some(new) = new {
        links.push((name.into(), new));
    }
    Ok(dir_entry(build_plain(&mut links, metadata, dp, sink)?))
}

/// boxo `swapValue` with a value: walks down to `name`'s slot, replacing the entry, filling an
/// empty slot, or turning a slot taken by another name into a sub-shard holding both. Emits
/// the rewritten sub-shards; the caller emits `shard` itself.
#[allow(clippy::too_many_arguments)]
pub(super) fn hamt_insert<Src, Snk>(
    source: &Src,
    shard: &mut Shard,
    hash: u64,
    offset: u32,
    name: &str,
    new: Link,
    dp: &DirParams<'_>,
    sink: &mut Snk,
    depth: usize,
) -> Result<(), AddError>
where
    Src: BlockSource + ?Sized,
    Snk: BlockSink + ?Sized,
{
    if depth >= MAX_SHARD_DEPTH {
        return Err(AddError::InvalidInput("sharded directory too deep".into()));
    }
    let bits = shard.params.bits_per_level();
    let slot = slot_at(hash, offset, bits)?;
    match shard.position(slot) {
        Err(at) => {
            set_bit(
                &mut shard.bitfield[..shard.params.fanout() as usize / 8],
                slot,
            );
            shard.links.insert(
                at,
                ShardLink {
                    slot,
                    label: name.into(),
                    is_shard: false,
                    link: new,
                },
            );
        }
        Ok(at) => {
            let current = &mut shard.links[at];
            if current.is_shard {
                let mut child = Shard::load(source, &current.link.cid)?;
                hamt_insert(
                    source,
                    &mut child,
                    hash,
                    offset + bits,
                    name,
                    new,
                    dp,
                    sink,
                    depth + 1,
                )?;
                current.link = child.emit(None, dp, sink)?;
            } else if &*current.label == name {
                current.link = new;
            } else {
                // Two names in one slot: a new sub-shard (same fanout) holding both.
                let mut pair = [
                    Keyed {
                        hash: name_hash(&current.label),
                        name: &current.label,
                        link: current.link,
                    },
                    Keyed {
                        hash,
                        name,
                        link: new,
                    },
                ];
                pair.sort_unstable_by_key(|k| k.hash);
                let params = shard.params;
                let link = build_shard(&pair, offset + bits, &params, None, dp, sink)?;
                let current = &mut shard.links[at];
                current.label = "".into();
                current.is_shard = true;
                current.link = link;
            }
        }
    }
    Ok(())
}

/// boxo `swapValue` with no value: removes `name` below `shard`; a sub-shard left empty is
/// dropped and one left with a single entry collapses into its slot. Emits the rewritten
/// sub-shards; returns `None` when `name` is absent.
#[allow(clippy::too_many_arguments)]
pub(super) fn hamt_remove<Src, Snk>(
    source: &Src,
    shard: &mut Shard,
    hash: u64,
    offset: u32,
    name: &str,
    dp: &DirParams<'_>,
    sink: &mut Snk,
    depth: usize,
) -> Result<Option<()>, AddError>
where
    Src: BlockSource + ?Sized,
    Snk: BlockSink + ?Sized,
{
    if depth >= MAX_SHARD_DEPTH {
        return Err(AddError::InvalidInput("sharded directory too deep".into()));
    }
    let bits = shard.params.bits_per_level();
    let slot = slot_at(hash, offset, bits)?;
    let Ok(at) = shard.position(slot) else {
        return Ok(None);
    };
    let width = shard.params.fanout() as usize / 8;
    if !shard.links[at].is_shard {
        if &*shard.links[at].label != name {
            return Ok(None);
        }
        shard.links.remove(at);
        clear_bit(&mut shard.bitfield[..width], slot);
        return Ok(Some(()));
    }
    let mut child = Shard::load(source, &shard.links[at].link.cid)?;
    if hamt_remove(
        source,
        &mut child,
        hash,
        offset + bits,
        name,
        dp,
        sink,
        depth + 1,
    )?
    .is_none()
    {
        return Ok(None);
    }
    match child.links.as_slice() {
        [] => {
            shard.links.remove(at);
            clear_bit(&mut shard.bitfield[..width], slot);
        }
        [only] if !only.is_shard => {
            let current = &mut shard.links[at];
            current.label = only.label.clone();
            current.is_shard = false;
            current.link = only.link;
        }
        _ => shard.links[at].link = child.emit(None, dp, sink)?,
    }
    Ok(Some(()))
}
