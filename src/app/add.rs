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
    // The bar is drawn only for a person at a terminal: scripts (stderr not a terminal) see
    // exactly the lines below and nothing else.
    let mut progress = if !options.quiet && !options.quieter && io::stderr().is_terminal() {
        Progress::new(Some(io::stderr()), input_size(options))
    } else {
        Progress::new(None, None)
    };
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

/// The bytes `cairn add` is about to read, for the bar's percentage and ETA (Kubo sizes its
/// inputs the same way before adding): the files' lengths, walking directories when
/// `--recursive` (dot files only with `--hidden`; symlinks not followed). `None` when
/// standard input is read, whose length is unknown.
fn input_size(options: &AddOptions) -> Option<u64> {
    fn walk(path: &Path, options: &AddOptions) -> u64 {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return 0;
        };
        if meta.is_file() {
            return meta.len();
        }
        if !meta.is_dir() || !options.recursive {
            return 0;
        }
        let Ok(entries) = std::fs::read_dir(path) else {
            return 0;
        };
        entries
            .flatten()
            .filter(|e| options.hidden || !e.file_name().as_encoded_bytes().starts_with(b"."))
            .map(|e| walk(&e.path(), options))
            .fold(0, u64::saturating_add)
    }
    if options.paths.is_empty() || options.paths.iter().any(|p| p.as_os_str() == "-") {
        return None;
    }
    Some(
        options
            .paths
            .iter()
            .map(|p| walk(p, options))
            .fold(0, u64::saturating_add),
    )
}

/// `ipfs add`'s progress bar: one line on a terminal's stderr (bytes done, total, bar,
/// percent, speed, ETA; see [`progress_line`]), redrawn in place at most ten times a second and
/// erased when the add is over, so that only the `added` lines stay.
struct Progress<W: Write> {
    /// Where the line goes; `None`: nowhere (not a terminal, or quiet).
    out: Option<W>,
    total: Option<u64>,
    bytes: u64,
    started: Instant,
    last_drawn: Option<Instant>,
}

/// Time between two redraws.
const REDRAW: Duration = Duration::from_millis(100);

impl<W: Write> Progress<W> {
    fn new(out: Option<W>, total: Option<u64>) -> Self {
        Progress {
            out,
            total,
            bytes: 0,
            started: Instant::now(),
            last_drawn: None,
        }
    }

    fn advance(&mut self, n: u64) {
        self.bytes += n;
        let Some(out) = &mut self.out else {
            return;
        };
        if self.last_drawn.is_some_and(|t| t.elapsed() < REDRAW) {
            return;
        }
        self.last_drawn = Some(Instant::now());
        let line = progress_line(self.bytes, self.total, self.started.elapsed());
        // Back to the line's start, the line, then the rest of the previous one erased
        // (ECMA-48 EL); a failed write to a terminal is not worth failing the add for.
        let _ = write!(out, "\r{line}\x1b[K");
        let _ = out.flush();
    }

    /// Erases the line, if one was drawn.
    fn done(&mut self) {
        if let Some(out) = &mut self.out {
            if self.last_drawn.take().is_some() {
                let _ = write!(out, "\r\x1b[K");
                let _ = out.flush();
            }
        }
    }
}

impl<W: Write> Drop for Progress<W> {
    /// An add that fails midway erases its line too, before the error is printed.
    fn drop(&mut self) {
        self.done();
    }
}

/// The progress line for `done` bytes of `total` (unknown for standard input) after
/// `elapsed`: `12.50 MiB / 100.00 MiB [=>        ]  12.50% 4.17 MiB/s ETA 21s`, or
/// `12.50 MiB 4.17 MiB/s` without a total. At most 79 columns, so that it never wraps on an
/// 80-column terminal (a wrapped line cannot be redrawn in place).
pub fn progress_line(done: u64, total: Option<u64>, elapsed: Duration) -> String {
    const BAR: usize = 12;
    let secs = elapsed.as_secs_f64();
    let speed = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    let speed_text = format!("{}/s", human_bytes(speed));
    let Some(total) = total else {
        return format!("{} {speed_text}", human_bytes(done as f64));
    };
    let done = done.min(total);
    let fraction = if total == 0 {
        1.0
    } else {
        done as f64 / total as f64
    };
    let filled = ((fraction * BAR as f64) as usize).min(BAR);
    let mut bar = "=".repeat(filled);
    if filled < BAR {
        bar.push('>');
        bar.push_str(&" ".repeat(BAR - filled - 1));
    }
    let eta = if done == total {
        "0s".to_owned()
    } else if speed > 0.0 {
        human_duration(((total - done) as f64 / speed).ceil())
    } else {
        "--".to_owned()
    };
    format!(
        "{} / {} [{bar}] {:6.2}% {speed_text} ETA {eta}",
        human_bytes(done as f64),
        human_bytes(total as f64),
        fraction * 100.0
    )
}

/// Bytes in binary units with two decimals (`1.50 KiB`), plain bytes below 1 KiB.
fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024.0 {
        return format!("{} B", bytes as u64);
    }
    let mut value = bytes / 1024.0;
    let mut unit = 0;
    // 1023.995 and over would print as 1024.00: go up a unit instead.
    while value >= 1023.995 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2} {}", UNITS[unit])
}

/// Whole seconds as `1h02m03s`, `2m05s` or `7s`; `>99h` beyond.
fn human_duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds >= 100.0 * 3600.0 {
        return ">99h".to_owned();
    }
    let s = seconds.max(0.0) as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, min, sec) => format!("{min}m{sec:02}s"),
        (h, min, sec) => format!("{h}h{min:02}m{sec:02}s"),
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
    fn the_progress_line_shows_total_percent_speed_and_eta() {
        let mib = 1 << 20;
        assert_eq!(
            progress_line(25 * mib, Some(100 * mib), Duration::from_secs(5)),
            "25.00 MiB / 100.00 MiB [===>        ]  25.00% 5.00 MiB/s ETA 15s"
        );
        assert_eq!(
            progress_line(100 * mib, Some(100 * mib), Duration::from_secs(20)),
            "100.00 MiB / 100.00 MiB [============] 100.00% 5.00 MiB/s ETA 0s"
        );
        // Nothing read yet: no speed, so no ETA.
        assert_eq!(
            progress_line(0, Some(3000), Duration::ZERO),
            "0 B / 2.93 KiB [>           ]   0.00% 0 B/s ETA --"
        );
        // Long ETAs in hours and minutes.
        assert!(progress_line(mib, Some(1 << 40), Duration::from_secs(1)).ends_with("ETA >99h"));
        assert!(
            progress_line(mib, Some(3700 * mib), Duration::from_secs(1)).ends_with("ETA 1h01m39s")
        );
        assert!(progress_line(mib, Some(126 * mib), Duration::from_secs(1)).ends_with("ETA 2m05s"));
        // More read than announced (a file grew): capped at 100 %.
        assert!(progress_line(5000, Some(4000), Duration::from_secs(1)).contains("100.00%"));
        // Standard input: no total, so no bar.
        assert_eq!(
            progress_line(3 * mib / 2, None, Duration::from_secs(3)),
            "1.50 MiB 512.00 KiB/s"
        );
    }

    #[test]
    fn the_progress_line_never_wraps_an_80_column_terminal() {
        let big = 1023 * (1 << 30) + 1013 * (1 << 20);
        for (done, elapsed) in [
            (big - (1 << 20), Duration::from_millis(999)),
            (1023 * (1 << 20) + 1013 * 1024, Duration::from_secs(1)),
            (1023 * (1 << 20) + 1013 * 1024, Duration::from_secs(3500)),
            (1023 * 1024 + 1013, Duration::from_secs(1)),
        ] {
            let line = progress_line(done, Some(big), elapsed);
            assert!(line.len() <= 79, "{} columns: {line}", line.len());
        }
        assert_eq!(human_bytes(1023.999 * 1024.0), "1.00 MiB");
        assert_eq!(human_bytes(1023.0), "1023 B");
    }

    #[test]
    fn the_bar_is_redrawn_in_place_and_erased_at_the_end() {
        let mut drawn = Vec::new();
        {
            let mut progress = Progress::new(Some(&mut drawn), Some(10));
            progress.advance(4);
            // Within the redraw interval: not drawn again.
            progress.advance(1);
            progress.done();
        }
        let text = String::from_utf8(drawn).unwrap();
        assert!(text.starts_with("\r4 B / 10 B ["), "{text:?}");
        assert!(text.ends_with("\x1b[K\r\x1b[K"), "{text:?}");
        assert_eq!(text.matches('\r').count(), 2, "{text:?}");

        // Nowhere to draw (not a terminal): nothing written, ever.
        let mut progress: Progress<Vec<u8>> = Progress::new(None, Some(10));
        progress.advance(10);
        progress.done();
        assert!(progress.out.is_none());
    }

    #[test]
    fn a_failed_add_erases_its_bar_too() {
        let mut drawn = Vec::new();
        {
            let mut progress = Progress::new(Some(&mut drawn), None);
            progress.advance(4);
        }
        assert!(String::from_utf8(drawn).unwrap().ends_with("\r\x1b[K"));
    }

    #[test]
    fn the_total_is_what_the_add_will_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("d/e")).unwrap();
        std::fs::write(dir.path().join("d/a"), [0u8; 10]).unwrap();
        std::fs::write(dir.path().join("d/e/b"), [0u8; 20]).unwrap();
        std::fs::write(dir.path().join("d/.hidden"), [0u8; 40]).unwrap();
        std::fs::write(dir.path().join("f"), [0u8; 5]).unwrap();
        let options = |paths: &[&str], recursive, hidden| AddOptions {
            paths: paths.iter().map(|p| dir.path().join(p)).collect(),
            recursive,
            hidden,
            ..Default::default()
        };
        assert_eq!(input_size(&options(&["d", "f"], true, false)), Some(35));
        assert_eq!(input_size(&options(&["d"], true, true)), Some(70));
        assert_eq!(input_size(&options(&["f"], false, false)), Some(5));
        assert_eq!(input_size(&AddOptions::default()), None, "standard input");
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
