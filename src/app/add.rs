//! `cairn add`: files and directory trees into the store with exactly the CIDs `ipfs add`
//! gives them under the same flags, printed as Kubo prints them (`added <cid> <name>`). Reads
//! in fixed-size chunks, so memory stays flat for any input size. Runs beside a server on the
//! same data directory (it holds the store's write lease until its roots are pinned).

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::services::add::dir::TreeBuilder;
use crate::services::add::file::hash_code_for_name;
use crate::services::add::{
    BlockSink, ChunkerSpec, DiscardSink, Entry, ImportParams, Layout, Metadata,
};
use crate::services::ingest::{self, LocalOptions};
use crate::services::pins::{Pin, Pinset};
use crate::store::StoreOptions;

/// The flags of `ipfs add` that decide CIDs, as given (None = not given), so Kubo's defaulting
/// rules can be applied in one place.
#[derive(Debug, Clone, Default)]
pub struct ImportFlags {
    /// `unixfs-v0-2015` (default) or `unixfs-v1-2025`.
    pub profile: Option<String>,
    pub cid_version: Option<u8>,
    pub raw_leaves: Option<bool>,
    pub chunker: Option<String>,
    pub trickle: bool,
    pub max_file_links: Option<usize>,
    pub max_directory_links: Option<usize>,
    pub max_hamt_fanout: Option<u64>,
    pub hash: Option<String>,
    pub inline: bool,
    pub inline_limit: Option<usize>,
    pub preserve_mode: bool,
    pub preserve_mtime: bool,
}

impl ImportFlags {
    /// The import parameters these flags mean, by Kubo's rules: a profile sets the defaults;
    /// a hash other than sha2-256 implies CIDv1; CIDv1 implies raw leaves unless
    /// `--raw-leaves` says otherwise; recorded metadata forbids an explicit `--raw-leaves`.
    pub fn params(&self) -> Result<ImportParams, String> {
        let mut params = match self.profile.as_deref() {
            None | Some("unixfs-v0-2015") | Some("legacy-cid-v0") => ImportParams::default(),
            Some("unixfs-v1-2025") => ImportParams::unixfs_v1_2025(),
            Some(other) => return Err(format!("unknown profile {other:?}")),
        };
        if let Some(hash) = &self.hash {
            params.hash = hash_code_for_name(hash).map_err(|e| e.to_string())?;
        }
        let version = self.cid_version.unwrap_or(if params.hash != 0x12 {
            1
        } else {
            params.cid_version
        });
        if version > 1 {
            return Err(format!("unknown CID version {version}"));
        }
        if version != params.cid_version {
            params.cid_version = version;
            params.raw_leaves = version == 1;
        }
        let metadata = self.preserve_mode || self.preserve_mtime;
        match self.raw_leaves {
            Some(_) if metadata => {
                return Err(
                    "--raw-leaves cannot be combined with --preserve-mode or --preserve-mtime"
                        .into(),
                )
            }
            Some(raw) => params.raw_leaves = raw,
            None => {}
        }
        if let Some(chunker) = &self.chunker {
            params.chunker = ChunkerSpec::parse(chunker).map_err(|e| e.to_string())?;
        }
        if self.trickle {
            params.layout = Layout::Trickle;
        }
        if let Some(links) = self.max_file_links {
            params.max_file_links = links;
        }
        if let Some(links) = self.max_directory_links {
            params.max_directory_links = links;
        }
        if let Some(fanout) = self.max_hamt_fanout {
            params.hamt_fanout = fanout;
        }
        params.inline = self.inline;
        if let Some(limit) = self.inline_limit {
            params.inline_limit = limit;
        }
        params.preserve_mode = self.preserve_mode;
        params.preserve_mtime = self.preserve_mtime;
        Ok(params)
    }
}

/// What to add and how to report it.
#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    /// Files and directories; `-` (or nothing) reads standard input.
    pub paths: Vec<PathBuf>,
    pub recursive: bool,
    pub wrap: bool,
    pub hidden: bool,
    /// Print only CIDs.
    pub quiet: bool,
    /// Print only the final CID.
    pub quieter: bool,
    /// Compute CIDs without storing anything.
    pub only_hash: bool,
    pub pin: bool,
    pub stdin_name: Option<String>,
    pub flags: ImportFlags,
}

/// Runs `cairn add`, writing Kubo's output lines to `out`. Returns the roots.
///
/// Blocks go through one write batch (see [`crate::store::WriteBatch`]); the lines are
/// printed only after its final commit, so a printed CID is on disk.
pub fn add(data: &Path, options: &AddOptions, out: &mut dyn Write) -> Result<Vec<Entry>, String> {
    let params = options.flags.params()?;
    let stored = if options.only_hash {
        None
    } else {
        let store = super::open_store(data, StoreOptions::default())?;
        let pins = Pinset::open(data).map_err(|e| e.to_string())?;
        Some((store, pins))
    };
    let _lease = match &stored {
        Some((store, _)) => Some(store.write_lease().map_err(|e| e.to_string())?),
        None => None,
    };
    let mut batch = stored.as_ref().map(|(store, _)| store.batch());
    let mut discard = DiscardSink;
    let sink: &mut dyn BlockSink = match &mut batch {
        Some(batch) => batch,
        None => &mut discard,
    };
    let mut progress =
        Progress::new(!options.quiet && !options.quieter && io::stderr().is_terminal());
    let mut advance = |n: u64| progress.advance(n);
    let local = LocalOptions {
        recursive: options.recursive,
        hidden: options.hidden,
    };
    let mut tree = TreeBuilder::new();
    let mut top_level: Vec<String> = Vec::new();
    let paths: Vec<PathBuf> = if options.paths.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        options.paths.clone()
    };
    for path in &paths {
        let name = if path.as_os_str() == "-" {
            let entry = ingest::add_reader(
                io::stdin().lock(),
                None,
                &params,
                Metadata::default(),
                sink,
                &mut advance,
            )
            .map_err(|e| e.to_string())?;
            let name = options
                .stdin_name
                .clone()
                .unwrap_or_else(|| entry.cid.to_string());
            tree.add_file(&name, entry).map_err(|e| e.to_string())?;
            name
        } else {
            let name = base_name(path)?;
            ingest::add_local(path, &name, local, &params, &mut tree, sink, &mut advance)
                .map_err(|e| e.to_string())?;
            name
        };
        top_level.push(name);
    }
    progress.done();
    let output = tree.finish(&params, sink).map_err(|e| e.to_string())?;
    if let Some(batch) = &mut batch {
        batch.commit().map_err(|e| e.to_string())?;
    }
    drop(batch);
    let find = |name: &str| {
        output
            .added
            .iter()
            .find(|(p, _)| p == name)
            .map(|(_, e)| *e)
    };
    let roots: Vec<Entry> = if options.wrap {
        vec![output.root]
    } else {
        top_level.iter().filter_map(|n| find(n)).collect()
    };
    let mut print = |line: std::fmt::Arguments<'_>| -> Result<(), String> {
        out.write_fmt(line)
            .map_err(|e| format!("writing output: {e}"))
    };
    if options.quieter {
        if let Some(last) = roots.last() {
            print(format_args!("{}\n", last.cid))?;
        }
    } else {
        for (path, entry) in &output.added {
            if path.is_empty() && !options.wrap {
                continue;
            }
            if options.quiet {
                print(format_args!("{}\n", entry.cid))?;
            } else {
                print(format_args!("added {} {path}\n", entry.cid))?;
            }
        }
    }
    if let Some((_, pins)) = &stored {
        if options.pin {
            for root in &roots {
                pins.add(&Pin::recursive(&root.cid))
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(roots)
}

fn base_name(path: &Path) -> Result<String, String> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{}: no file name", path.display()))?;
    name.to_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{}: name is not UTF-8", path.display()))
}

/// A one-line byte counter on a terminal's stderr, redrawn at most ten times a second.
struct Progress {
    enabled: bool,
    bytes: u64,
    started: Instant,
    last_drawn: Option<Instant>,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        Progress {
            enabled,
            bytes: 0,
            started: Instant::now(),
            last_drawn: None,
        }
    }

    fn advance(&mut self, n: u64) {
        self.bytes += n;
        if !self.enabled || self.started.elapsed() < Duration::from_millis(500) {
            return;
        }
        if self
            .last_drawn
            .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last_drawn = Some(Instant::now());
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let mib = self.bytes as f64 / (1 << 20) as f64;
        eprint!("\r {mib:>10.1} MiB  {:>8.1} MiB/s", mib / secs);
    }

    fn done(&mut self) {
        if self.enabled && self.last_drawn.is_some() {
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lists the block files and temporary files of a store, as another process sees them.
    fn on_disk(data: &Path) -> (Vec<PathBuf>, usize) {
        let mut blocks = Vec::new();
        if let Ok(shards) = std::fs::read_dir(data.join("blocks")) {
            for shard in shards {
                for file in std::fs::read_dir(shard.unwrap().path()).unwrap() {
                    blocks.push(file.unwrap().path());
                }
            }
        }
        blocks.sort();
        let tmp = std::fs::read_dir(data.join("tmp")).map_or(0, |d| d.count());
        (blocks, tmp)
    }

    /// Output that snapshots the store when the first line is written.
    struct Snapshot {
        data: PathBuf,
        seen: Option<(Vec<PathBuf>, usize)>,
    }

    impl Write for Snapshot {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.seen.is_none() {
                self.seen = Some(on_disk(&self.data));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn added_lines_are_printed_once_every_block_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("site");
        std::fs::create_dir_all(tree.join("a/b")).unwrap();
        for i in 0..40 {
            let sub = if i % 2 == 0 { "a" } else { "a/b" };
            std::fs::write(tree.join(format!("{sub}/f{i}.txt")), format!("file {i}\n")).unwrap();
        }
        let data = dir.path().join("data");
        let mut out = Snapshot {
            data: data.clone(),
            seen: None,
        };
        let options = AddOptions {
            paths: vec![tree],
            recursive: true,
            pin: true,
            flags: ImportFlags {
                cid_version: Some(1),
                ..Default::default()
            },
            ..Default::default()
        };
        let roots = add(&data, &options, &mut out).unwrap();
        let (blocks_then, tmp_then) = out.seen.expect("lines were printed");
        assert_eq!(
            tmp_then, 0,
            "no block was still pending when the first line went out"
        );
        // Every block (40 raw leaves, the directories) visible before the first line: none
        // appeared after it.
        assert!(blocks_then.len() > 40, "{blocks_then:?}");
        assert_eq!(on_disk(&data), (blocks_then, 0));
        let store = crate::store::Blockstore::open(&data, StoreOptions::default()).unwrap();
        assert!(store.has(&roots[0].cid).unwrap());
    }

    #[test]
    fn kubo_flag_rules() {
        let p = ImportFlags::default().params().unwrap();
        assert_eq!((p.cid_version, p.raw_leaves), (0, false));
        let p = ImportFlags {
            cid_version: Some(1),
            ..Default::default()
        }
        .params()
        .unwrap();
        assert_eq!((p.cid_version, p.raw_leaves), (1, true));
        let p = ImportFlags {
            cid_version: Some(1),
            raw_leaves: Some(false),
            ..Default::default()
        }
        .params()
        .unwrap();
        assert!(!p.raw_leaves);
        let p = ImportFlags {
            hash: Some("blake3".into()),
            ..Default::default()
        }
        .params()
        .unwrap();
        assert_eq!(p.cid_version, 1, "a non-sha2-256 hash implies CIDv1");
        let p = ImportFlags {
            profile: Some("unixfs-v1-2025".into()),
            ..Default::default()
        }
        .params()
        .unwrap();
        assert_eq!(p, ImportParams::unixfs_v1_2025());
        assert!(ImportFlags {
            raw_leaves: Some(true),
            preserve_mtime: true,
            ..Default::default()
        }
        .params()
        .is_err());
        assert!(ImportFlags {
            profile: Some("nope".into()),
            ..Default::default()
        }
        .params()
        .is_err());
    }
}
