//! [`TreeBuilder`]: whole trees from relative paths, built bottom-up with every directory
//! through [`DirectoryBuilder`], and the `added` lines Kubo reports.

use super::*;

pub(super) enum TreeNode {
    Leaf(Entry),
    Dir(TreeDir),
}

#[derive(Default)]
pub(super) struct TreeDir {
    metadata: Metadata,
    /// Declared by [`TreeBuilder::add_dir`] (not only implied by a deeper path).
    explicit: bool,
    pub(super) children: BTreeMap<Box<str>, TreeNode>,
}

/// The result of [`TreeBuilder::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeOutput {
    /// The root directory.
    pub root: Entry,
    /// Every file, symlink and directory with its path relative to the root (`""` is the
    /// root), in the order `ipfs add` prints its `added` lines.
    pub added: Vec<(String, Entry)>,
}

/// Builds a directory tree from entries given as relative paths, in any order. Holds only
/// names and links, never file data.
///
/// Kubo's order and shape: `ipfs add -r DIR` makes DIR the root (add the paths under it);
/// `-w` makes the root a directory holding the given top-level names (add them with their
/// names as the first segment). Intermediate directories are created as needed, without
/// metadata. Kubo keeps empty directories and skips hidden files unless asked; both are the
/// caller's choice here. `params` apply to every directory, as in a stored `ipfs add`; with
/// `--only-hash` Kubo 0.42 ignores `--max-directory-links` and `--max-hamt-fanout` (and
/// `Import.UnixFSDirectoryMaxLinks`) for the root directory only, because that mode builds
/// its MFS root without the adder's options.
#[derive(Default)]
pub struct TreeBuilder {
    pub(super) root: TreeDir,
}

impl TreeBuilder {
    /// An empty tree (its root, finished alone, is the empty directory).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the root directory's metadata (Kubo records the top-level directory's mode/mtime
    /// with `--preserve-mode`/`--preserve-mtime`; a `-w` wrapper gets none).
    pub fn set_root_metadata(&mut self, metadata: Metadata) {
        self.root.metadata = metadata;
    }

    /// Adds a file or a symlink (see [`symlink_entry`]) at `path`.
    pub fn add_file(&mut self, path: &str, entry: Entry) -> Result<(), AddError> {
        let (parent, name) = self.parent_of(path)?;
        if parent.children.contains_key(name) {
            return Err(AddError::InvalidInput(format!("duplicate path {path:?}")));
        }
        parent.children.insert(name.into(), TreeNode::Leaf(entry));
        Ok(())
    }

    /// Declares a directory at `path` (possibly empty) with its metadata. A directory already
    /// implied by a deeper path takes the metadata; declaring one twice is an error.
    pub fn add_dir(&mut self, path: &str, metadata: Metadata) -> Result<(), AddError> {
        let (parent, name) = self.parent_of(path)?;
        match parent.children.get_mut(name) {
            None => {
                parent.children.insert(
                    name.into(),
                    TreeNode::Dir(TreeDir {
                        metadata,
                        explicit: true,
                        children: BTreeMap::new(),
                    }),
                );
                Ok(())
            }
            Some(TreeNode::Dir(dir)) if !dir.explicit => {
                dir.metadata = metadata;
                dir.explicit = true;
                Ok(())
            }
            Some(_) => Err(AddError::InvalidInput(format!("duplicate path {path:?}"))),
        }
    }

    /// Validates `path` and returns its parent directory (created as needed) and last name.
    /// Nothing is created unless the whole path is valid.
    fn parent_of<'a>(&mut self, path: &'a str) -> Result<(&mut TreeDir, &'a str), AddError> {
        let bad = |why: &str| AddError::InvalidInput(format!("invalid path {path:?}: {why}"));
        if path.is_empty() {
            return Err(bad("empty"));
        }
        if path.starts_with('/') {
            return Err(bad("absolute"));
        }
        let mut depth = 0;
        for segment in path.split('/') {
            check_segment(segment).map_err(bad)?;
            depth += 1;
        }
        if depth > MAX_TREE_DEPTH {
            return Err(bad("too deep"));
        }
        let (parents, name) = match path.rsplit_once('/') {
            Some((parents, name)) => (Some(parents), name),
            None => (None, path),
        };
        let mut dir = &mut self.root;
        for segment in parents.into_iter().flat_map(|parents| parents.split('/')) {
            if !dir.children.contains_key(segment) {
                dir.children
                    .insert(segment.into(), TreeNode::Dir(TreeDir::default()));
            }
            dir = match dir.children.get_mut(segment) {
                Some(TreeNode::Dir(child)) => child,
                _ => return Err(bad("a file is used as a directory")),
            };
        }
        Ok((dir, name))
    }

    /// Builds every directory bottom-up, emitting its blocks to `sink`, and returns the root
    /// with the `added` lines (see [`TreeOutput::added`]).
    pub fn finish<S: BlockSink + ?Sized>(
        self,
        params: &ImportParams,
        sink: &mut S,
    ) -> Result<TreeOutput, AddError> {
        let mut added = Vec::new();
        let root = self.finish_with(params, sink, |path, entry| {
            added.push((path.to_owned(), *entry));
            Ok(())
        })?;
        Ok(TreeOutput { root, added })
    }

    /// [`TreeBuilder::finish`], handing each `added` line to `on_added` instead of keeping
    /// them: first every file and symlink in depth-first bytewise name order (the order
    /// Kubo's adder walks and prints them), then every directory, children before parents,
    /// siblings in their parent's listing order (bytewise for a plain directory, name-hash
    /// order for a HAMT), the root (`""`) last.
    pub fn finish_with<S, F>(
        self,
        params: &ImportParams,
        sink: &mut S,
        mut on_added: F,
    ) -> Result<Entry, AddError>
    where
        S: BlockSink + ?Sized,
        F: FnMut(&str, &Entry) -> Result<(), AddError>,
    {
        DirParams::new(params)?;
        report_files(&self.root, &mut on_added)?;
        let (root, dirs) = build_tree(self.root, params, sink)?;
        for (path, entry) in &dirs {
            on_added(path, entry)?;
        }
        Ok(root)
    }
}

/// Why a path segment is not a valid name, if it is not.
pub(super) fn check_segment(name: &str) -> Result<(), &'static str> {
    match name {
        "" => Err("empty segment"),
        "." | ".." => Err("`.` or `..` segment"),
        _ => Ok(()),
    }
}

/// Reports the files and symlinks under `root` in Kubo's walk order (depth first, bytewise
/// name order). Iterative: trees may be [`MAX_TREE_DEPTH`] deep.
pub(super) fn report_files<F>(root: &TreeDir, on_added: &mut F) -> Result<(), AddError>
where
    F: FnMut(&str, &Entry) -> Result<(), AddError>,
{
    let mut path = String::new();
    // Per open directory: its remaining children and the path length before its name.
    let mut stack = vec![(root.children.iter(), 0usize)];
    while let Some((children, _)) = stack.last_mut() {
        let Some((name, node)) = children.next() else {
            if let Some((_, len)) = stack.pop() {
                path.truncate(len);
            }
            continue;
        };
        let len = path.len();
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(name);
        match node {
            TreeNode::Leaf(entry) => {
                on_added(&path, entry)?;
                path.truncate(len);
            }
            TreeNode::Dir(child) => stack.push((child.children.iter(), len)),
        }
    }
    Ok(())
}

/// A directory of the tree being built: its remaining children, its builder, and the
/// `added` lines of each finished child (in name order).
pub(super) struct BuildFrame<'p> {
    name: Box<str>,
    metadata: Metadata,
    children: std::collections::btree_map::IntoIter<Box<str>, TreeNode>,
    builder: DirectoryBuilder<'p>,
    lines: Vec<Vec<(String, Entry)>>,
}

impl<'p> BuildFrame<'p> {
    fn new(name: Box<str>, dir: TreeDir, params: &'p ImportParams) -> Self {
        BuildFrame {
            name,
            metadata: dir.metadata,
            builder: DirectoryBuilder::new(params, dir.metadata),
            lines: Vec::with_capacity(dir.children.len()),
            children: dir.children.into_iter(),
        }
    }
}

/// Builds `root` and everything under it bottom-up (iteratively); returns its entry and the
/// `added` lines of every directory, children before parents, siblings in their parent's
/// listing order, the root (`""`) last.
pub(super) fn build_tree<S: BlockSink + ?Sized>(
    root: TreeDir,
    params: &ImportParams,
    sink: &mut S,
) -> Result<(Entry, Vec<(String, Entry)>), AddError> {
    let mut stack = vec![BuildFrame::new("".into(), root, params)];
    while let Some(frame) = stack.last_mut() {
        match frame.children.next() {
            Some((name, TreeNode::Leaf(entry))) => {
                frame.builder.add_file(&name, &entry)?;
                frame.lines.push(Vec::new());
            }
            Some((name, TreeNode::Dir(dir))) => stack.push(BuildFrame::new(name, dir, params)),
            None => {
                let Some(done) = stack.pop() else { break };
                let built = done.builder.build(sink)?;
                let entry = dir_entry(built.link);
                let mut lines = done.lines;
                let mut ordered = Vec::new();
                for index in built.order {
                    if let Some(child_lines) = lines.get_mut(index) {
                        ordered.append(child_lines);
                    }
                }
                ordered.push((String::new(), entry));
                let Some(parent) = stack.last_mut() else {
                    return Ok((entry, ordered));
                };
                parent
                    .builder
                    .add_directory(&done.name, &entry, &done.metadata)?;
                let name = &done.name;
                for (path, _) in &mut ordered {
                    *path = if path.is_empty() {
                        name.to_string()
                    } else {
                        format!("{name}/{path}")
                    };
                }
                parent.lines.push(ordered);
            }
        }
    }
    Err(AddError::InvalidInput("empty tree stack".into()))
}
