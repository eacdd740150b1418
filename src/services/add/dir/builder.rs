//! [`DirectoryBuilder`]: one directory from its entries, plain or sharded as Kubo's adder
//! (through MFS) leaves it; empty directories and symlink nodes.

use super::*;

/// The one rule for the name of a directory entry, whatever writes it (a form's file names, a
/// `PUT` path, the Cluster API's `/add`, `cairn add`, an edit): not empty, `.` or `..`, and no
/// `/` or NUL (a NUL cannot be carried by a TAR export, a file system or a C string; the path
/// gateway refuses it in a URL segment too).
pub fn check_name(name: &str) -> Result<(), AddError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(AddError::InvalidInput(format!(
            "{name:?} is not a valid directory entry name"
        )));
    }
    Ok(())
}

/// One entry of a directory being built.
pub(super) struct Child {
    name: Box<str>,
    link: Link,
    /// For a subdirectory built in the same import: its empty form, which Kubo links first.
    initial: Option<Link>,
}

/// A finished directory, with its entries in Kubo's listing order.
pub(super) struct BuiltDir {
    pub(super) link: Link,
    /// Indexes into the (name-sorted) children, in listing order.
    pub(super) order: Vec<usize>,
}

/// Builds one directory as Kubo's adder would: add entries in any order, then
/// [`DirectoryBuilder::finish`]. Holds only names and links.
pub struct DirectoryBuilder<'p> {
    params: &'p ImportParams,
    metadata: Metadata,
    children: Vec<Child>,
}

impl<'p> DirectoryBuilder<'p> {
    /// An empty directory with this metadata (`Metadata::default()` for none).
    pub fn new(params: &'p ImportParams, metadata: Metadata) -> Self {
        DirectoryBuilder {
            params,
            metadata,
            children: Vec::new(),
        }
    }

    /// Adds a file or symlink (or any entry whose link Kubo writes once, final).
    pub fn add_file(&mut self, name: &str, entry: &Entry) -> Result<(), AddError> {
        check_name(name)?;
        self.children.push(Child {
            name: name.into(),
            link: Link::of(entry),
            initial: None,
        });
        Ok(())
    }

    /// Adds a subdirectory built in the same import, with the metadata it was built with.
    /// Kubo links it first as an empty directory with that metadata and replaces the link at
    /// the end, which can change whether this directory is sharded (see the module docs).
    pub fn add_directory(
        &mut self,
        name: &str,
        entry: &Entry,
        metadata: &Metadata,
    ) -> Result<(), AddError> {
        check_name(name)?;
        let dp = DirParams::new(self.params)?;
        self.children.push(Child {
            name: name.into(),
            link: Link::of(entry),
            initial: Some(empty_directory_link(metadata, &dp)?),
        });
        Ok(())
    }

    /// Entries added so far.
    pub fn len(&self) -> usize {
        self.children.len()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// Builds the directory (plain or HAMT, as Kubo would), emits its blocks, and returns it.
    /// Fails on duplicate names.
    pub fn finish<S: BlockSink + ?Sized>(self, sink: &mut S) -> Result<Entry, AddError> {
        Ok(dir_entry(self.build(sink)?.link))
    }

    /// [`DirectoryBuilder::finish`], also giving the listing order of the children.
    pub(super) fn build<S: BlockSink + ?Sized>(
        mut self,
        sink: &mut S,
    ) -> Result<BuiltDir, AddError> {
        let dp = DirParams::new(self.params)?;
        self.children
            .sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        if let Some(pair) = self.children.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(AddError::InvalidInput(format!(
                "duplicate directory entry {:?}",
                pair[0].name
            )));
        }
        let sharded = self.replay_kubo_history(&dp)?;
        let mut links: Vec<(Box<str>, Link)> = self
            .children
            .into_iter()
            .map(|child| (child.name, child.link))
            .collect();
        if sharded {
            let (link, order) = build_hamt(&links, &self.metadata, &dp, sink)?;
            Ok(BuiltDir { link, order })
        } else {
            let link = build_plain(&mut links, &self.metadata, &dp, sink)?;
            Ok(BuiltDir {
                link,
                order: (0..links.len()).collect(),
            })
        }
    }

    /// Whether Kubo ends up sharding this directory: its adder adds the (name-sorted) entries
    /// one by one, subdirectories in their empty form, then replaces each subdirectory with
    /// its final node (Kubo: random order; here: name order).
    fn replay_kubo_history(&self, dp: &DirParams<'_>) -> Result<bool, AddError> {
        let mut size = DynamicSize::new(self.params, dp.shard.prefix_len(), &self.metadata);
        for child in &self.children {
            size.add_child(
                child.name.len(),
                None,
                child.initial.as_ref().unwrap_or(&child.link),
            )?;
        }
        for child in &self.children {
            if let Some(initial) = &child.initial {
                size.add_child(child.name.len(), Some(initial), &child.link)?;
            }
        }
        Ok(size.is_sharded())
    }
}

/// The link of an empty directory with this metadata (not emitted: Kubo links it only until
/// the real node replaces it).
pub(super) fn empty_directory_link(
    metadata: &Metadata,
    dp: &DirParams<'_>,
) -> Result<Link, AddError> {
    let data = directory_data(DataType::Directory, metadata).encode();
    let block = dagpb::encode(&[], Some(&data));
    Ok(Link {
        cid: dp.cid_of(&block)?,
        tsize: block.len() as u64,
    })
}

/// Builds and emits a UnixFS Symlink node pointing at `target`. Kubo never records a
/// symlink's mode (its adder sets only the mtime), so `metadata.mode` is ignored.
pub fn symlink_entry<S: BlockSink + ?Sized>(
    target: &str,
    metadata: &Metadata,
    params: &ImportParams,
    sink: &mut S,
) -> Result<Entry, AddError> {
    let dp = DirParams::new(params)?;
    let mut data = UnixFsData::new(DataType::Symlink);
    data.data = Some(Bytes::copy_from_slice(target.as_bytes()));
    data.mtime = metadata.mtime;
    let block = dagpb::encode(&[], Some(&data.encode()));
    let link = dp.emit(block, sink)?;
    Ok(Entry {
        cid: link.cid,
        size: target.len() as u64,
        tsize: link.tsize,
    })
}
