//! The one way content comes in: raw bodies, forms and CARs over HTTP (`POST`/`PUT /ipfs`,
//! `PUT /ipns`, the Cluster API's `/add`), and local files and CARs from the command line
//! (`cairn add`, `cairn import`).
//!
//! - Every block goes through a [`WriteBatch`]: written without a sync per block, made durable
//!   and visible together at a commit, and committed before the result is handed back — so
//!   whoever acknowledges the result (a `201`, an `added` line) does so only for blocks on
//!   disk. Blocks of an ingest that fails or is abandoned never become visible (unless a full
//!   batch committed on its way; those are complete, valid blocks).
//! - Every disk write runs off the async workers: a streaming ingest runs on a blocking
//!   thread, fed the request body in `Bytes` chunks through a small bounded channel (memory
//!   stays flat and a slow disk slows the client rather than filling memory); the command line
//!   runs on its own thread anyway.
//! - The policy lives here: which form parts become entries ([`FormPolicy`]), hidden files,
//!   symlinks, path cleaning, what a local walk follows. The http layer only decodes the wire
//!   format ([`FormDecoder`]) and pumps bytes.
//! - The worker holds the store's write lease and hands it back with the result: garbage
//!   collection cannot take the new blocks until the caller has pinned what it wants.
//! - What an ingest holds in memory is bounded: a file streams through its importer (one
//!   chunk, the links of the levels being built); a form's tree is kept until its directories
//!   are written, so its names are bounded ([`MAX_FORM_NAME_BYTES`] in all, on top of the
//!   parser's limit on parts), as is a symlink's target ([`MAX_SYMLINK_TARGET`]); a CAR holds
//!   one section at a time (the CAR decoder's limits: a 64 KiB header, 4 MiB blocks).

use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

use super::add::chunker::DEFAULT_CHUNK_SIZE;
use super::add::dir::{symlink_entry, TreeBuilder};
use super::add::file::FileImporter;
use super::add::{BlockSink, Entry, ImportParams, Metadata};
use super::import::{CarImport, CarWriter};
use super::{Error, Result};
use crate::store::{Blockstore, GcLock, WriteBatch};

/// Chunks in flight between the body reader and the worker.
const CHANNEL_DEPTH: usize = 16;

/// Longest symlink target accepted from a form (Linux's `PATH_MAX`).
const MAX_SYMLINK_TARGET: usize = 4096;

/// Most bytes of paths one form may name in all: its tree (about 300 bytes per entry besides
/// the name) is held until its directories are written.
pub const MAX_FORM_NAME_BYTES: usize = 32 << 20;

/// Bytes read from a local file at a time.
const READ_SIZE: usize = 1 << 20;

// ---------------------------------------------------------------------------------------------
// Forms, as the http layer decodes them
// ---------------------------------------------------------------------------------------------

/// What a form part holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    File,
    Directory,
    Symlink,
}

/// A form part's header, decoded from the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormPart {
    /// The form field name (`name=`).
    pub field: Option<String>,
    /// The file name as the client meant it (wire escaping undone); `None` for a part
    /// without one.
    pub path: Option<String>,
    pub kind: PartKind,
}

/// One step of a form: `PartStart`, zero or more `Data`, `PartEnd`, per part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormEvent {
    PartStart(FormPart),
    Data(Bytes),
    PartEnd,
}

/// A streaming decoder of a form body (the http layer's multipart parser).
pub trait FormDecoder: Send {
    /// Appends body bytes.
    fn push(&mut self, chunk: Bytes);
    /// Marks the end of the body.
    fn finish(&mut self);
    /// The next event, `None` when more input is needed (or, after `finish`, at the end); an
    /// error message for a malformed body.
    fn next(&mut self) -> std::result::Result<Option<FormEvent>, String>;
}

/// Which form parts become entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormPolicy {
    /// Only parts of this field count (the Agregore gateway: `file`); `None`: every part
    /// with a file name (Go clients).
    pub field: Option<&'static str>,
    /// Keep dot-file paths (Kubo's `--hidden`).
    pub hidden: bool,
}

/// What a streamed body is.
pub enum Input {
    /// One file.
    File,
    /// A form: a tree of its file, directory and symlink parts.
    Form(Box<dyn FormDecoder>),
}

/// A finished file or tree ingest.
pub struct Ingested {
    /// The file (plain body) or the new directory holding the form's top-level entries.
    pub root: Entry,
    /// Whether the body was a form (the root is then a directory).
    pub form: bool,
    /// Each file and directory added, children before parents, root last (path `""`).
    pub added: Vec<(String, Entry)>,
    /// Keeps garbage collection off the new blocks until dropped.
    pub lease: GcLock,
}

/// A finished CAR ingest.
pub struct CarIngested {
    pub import: CarImport,
    /// Keeps garbage collection off the new blocks until dropped.
    pub lease: GcLock,
}

// ---------------------------------------------------------------------------------------------
// Streaming ingests
// ---------------------------------------------------------------------------------------------

/// An ingest running on a blocking thread: [`Ingest::push`] the body, then
/// [`Ingest::finish`] (the blocks are durable when it returns) or [`Ingest::abort`]. An ingest
/// dropped without either (the request went away mid-body) is abandoned as by `abort`: what
/// came of the body so far is not committed as if it were all of it.
pub struct Ingest<T> {
    // Fields drop in order: the abandon flag must be set before the channel closes, or the
    // worker could take the close for the end of the body and commit it.
    aborted: AbandonOnDrop,
    tx: mpsc::Sender<Bytes>,
    worker: tokio::task::JoinHandle<Result<T>>,
}

/// Marks the ingest abandoned when dropped, unless it was finished.
struct AbandonOnDrop(Option<Arc<AtomicBool>>);

impl AbandonOnDrop {
    fn abandon(&self) {
        if let Some(flag) = &self.0 {
            flag.store(true, Ordering::Release);
        }
    }

    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.abandon();
    }
}

impl<T: Send + 'static> Ingest<T> {
    fn spawn(work: impl FnOnce(&mut Chunks) -> Result<T> + Send + 'static) -> Ingest<T> {
        let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
        let aborted = Arc::new(AtomicBool::new(false));
        let mut chunks = Chunks {
            rx,
            aborted: Arc::clone(&aborted),
        };
        let worker = tokio::task::spawn_blocking(move || work(&mut chunks));
        Ingest {
            aborted: AbandonOnDrop(Some(aborted)),
            tx,
            worker,
        }
    }

    /// Hands the worker the next chunk of the body. `false` when the worker has stopped
    /// (failed): stop sending and [`Ingest::finish`] to learn why.
    pub async fn push(&self, chunk: Bytes) -> bool {
        self.tx.send(chunk).await.is_ok()
    }

    /// Ends the body and waits for the result: on success every block is durable.
    pub async fn finish(mut self) -> Result<T> {
        self.aborted.disarm();
        drop(self.tx);
        self.worker
            .await
            .map_err(|e| Error::Internal(format!("the ingest worker failed: {e}")))?
    }

    /// Abandons the ingest (the body failed or was refused): nothing of it is committed past
    /// what a full batch already committed, and its temporary files are gone when this
    /// returns.
    pub async fn abort(self) {
        self.aborted.abandon();
        drop(self.tx);
        let _ = self.worker.await;
    }
}

/// The worker's end of the channel.
struct Chunks {
    rx: mpsc::Receiver<Bytes>,
    aborted: Arc<AtomicBool>,
}

impl Chunks {
    /// The next chunk; `None` at the end of the body (or when it was abandoned).
    fn next(&mut self) -> Option<Bytes> {
        let chunk = self.rx.blocking_recv()?;
        (!self.aborted.load(Ordering::Acquire)).then_some(chunk)
    }

    /// Fails when the body was abandoned: what the worker made of a cut-off body must not be
    /// committed (the batch, dropped with the error, removes its temporary files).
    fn check_not_aborted(&self) -> Result<()> {
        if self.aborted.load(Ordering::Acquire) {
            return Err(Error::InvalidInput("the upload was abandoned".into()));
        }
        Ok(())
    }
}

/// Starts ingesting a plain body as one file, or a form as a tree.
pub fn tree(
    store: Arc<Blockstore>,
    input: Input,
    params: ImportParams,
    policy: FormPolicy,
) -> Ingest<Ingested> {
    Ingest::spawn(move |chunks| {
        let lease = store.write_lease()?;
        let mut batch = store.batch();
        let (root, form, added) = match input {
            Input::File => {
                let mut file = FileImporter::new(&params, Metadata::default())?;
                while let Some(chunk) = chunks.next() {
                    file.push(chunk, &mut batch)?;
                }
                let root = file.finish(&mut batch)?;
                (root, false, vec![(String::new(), root)])
            }
            Input::Form(mut decoder) => {
                let (root, added) = form(&mut *decoder, chunks, &mut batch, &params, policy)?;
                (root, true, added)
            }
        };
        chunks.check_not_aborted()?;
        batch.commit()?;
        Ok(Ingested {
            root,
            form,
            added,
            lease,
        })
    })
}

/// Starts ingesting a CAR, sent as the whole body or as the file part of a form
/// (`form`). With `single_root`, a CAR without exactly one root is refused before its
/// blocks are committed.
pub fn car(
    store: Arc<Blockstore>,
    form: Option<Box<dyn FormDecoder>>,
    single_root: bool,
) -> Ingest<CarIngested> {
    Ingest::spawn(move |chunks| {
        let lease = store.write_lease()?;
        let mut batch = store.batch();
        let mut car = CarWriter::new();
        let mut form = form;
        while let Some(chunk) = chunks.next() {
            match &mut form {
                None => car.push(chunk, &mut batch)?,
                Some(decoder) => {
                    decoder.push(chunk);
                    car_parts(&mut **decoder, &mut car, &mut batch)?;
                }
            }
        }
        if let Some(decoder) = &mut form {
            decoder.finish();
            car_parts(&mut **decoder, &mut car, &mut batch)?;
        }
        let import = car.finish(&mut batch)?;
        if single_root && import.roots.len() != 1 {
            return Err(Error::InvalidInput(format!(
                "a CAR to add must have exactly one root; this one has {}",
                import.roots.len()
            )));
        }
        chunks.check_not_aborted()?;
        batch.commit()?;
        Ok(CarIngested { import, lease })
    })
}

/// Feeds the bytes of a form's parts to the CAR decoder.
fn car_parts(
    decoder: &mut dyn FormDecoder,
    car: &mut CarWriter,
    batch: &mut WriteBatch<'_>,
) -> Result<()> {
    while let Some(event) = decoder.next().map_err(malformed)? {
        if let FormEvent::Data(data) = event {
            car.push(data, batch)?;
        }
    }
    Ok(())
}

fn malformed(message: String) -> Error {
    Error::InvalidInput(format!("malformed multipart body: {message}"))
}

/// One form part being imported. (One lives per upload, so the size difference between
/// variants costs nothing worth an allocation per part.)
#[allow(clippy::large_enum_variant)]
enum Current {
    Skip,
    File(String, FileImporter),
    Symlink(String, Vec<u8>),
}

/// Imports a form's parts as a tree: directory parts as directories, file parts as files,
/// symlink parts as symlinks; paths cleaned, hidden ones kept only when asked.
fn form(
    decoder: &mut dyn FormDecoder,
    chunks: &mut Chunks,
    sink: &mut dyn BlockSink,
    params: &ImportParams,
    policy: FormPolicy,
) -> Result<(Entry, Vec<(String, Entry)>)> {
    form_within(decoder, chunks, sink, params, policy, MAX_FORM_NAME_BYTES)
}

/// [`form`] with another bound on the names (tests).
fn form_within(
    decoder: &mut dyn FormDecoder,
    chunks: &mut Chunks,
    sink: &mut dyn BlockSink,
    params: &ImportParams,
    policy: FormPolicy,
    max_name_bytes: usize,
) -> Result<(Entry, Vec<(String, Entry)>)> {
    let mut tree = TreeBuilder::new();
    let mut current = Current::Skip;
    let mut any = false;
    let mut name_bytes = 0usize;
    let mut input_done = false;
    loop {
        match decoder.next().map_err(malformed)? {
            Some(FormEvent::PartStart(part)) => {
                current = Current::Skip;
                let wanted = policy
                    .field
                    .is_none_or(|field| part.field.as_deref() == Some(field));
                let Some(path) = part.path.filter(|_| wanted) else {
                    continue;
                };
                let path = clean_path(&path)?;
                if path.is_empty() || (!policy.hidden && is_hidden(&path)) {
                    continue;
                }
                name_bytes += path.len();
                if name_bytes > max_name_bytes {
                    return Err(Error::InvalidInput(format!(
                        "the form names more than {max_name_bytes} bytes of paths"
                    )));
                }
                any = true;
                match part.kind {
                    PartKind::Directory => tree.add_dir(&path, Metadata::default())?,
                    PartKind::Symlink => current = Current::Symlink(path, Vec::new()),
                    PartKind::File => {
                        let importer = FileImporter::new(params, Metadata::default())?;
                        current = Current::File(path, importer);
                    }
                }
            }
            Some(FormEvent::Data(data)) => match &mut current {
                Current::Skip => {}
                Current::File(_, importer) => importer.push(data, sink)?,
                Current::Symlink(_, target) => {
                    if target.len() + data.len() > MAX_SYMLINK_TARGET {
                        return Err(Error::InvalidInput(format!(
                            "symlink target over {MAX_SYMLINK_TARGET} bytes"
                        )));
                    }
                    target.extend_from_slice(&data);
                }
            },
            Some(FormEvent::PartEnd) => match std::mem::replace(&mut current, Current::Skip) {
                Current::Skip => {}
                Current::File(path, importer) => {
                    let entry = importer.finish(sink)?;
                    tree.add_file(&path, entry)?;
                }
                Current::Symlink(path, target) => {
                    let target = String::from_utf8(target)
                        .map_err(|_| Error::InvalidInput("symlink target is not UTF-8".into()))?;
                    let entry = symlink_entry(&target, &Metadata::default(), params, sink)?;
                    tree.add_file(&path, entry)?;
                }
            },
            None if input_done => break,
            None => match chunks.next() {
                Some(chunk) => decoder.push(chunk),
                None => {
                    decoder.finish();
                    input_done = true;
                }
            },
        }
    }
    if !any {
        return Err(Error::InvalidInput(match policy.field {
            Some(field) => format!("the form has no part named {field:?} with a filename"),
            None => "the form has no file parts".into(),
        }));
    }
    let output = tree.finish(params, sink)?;
    Ok((output.root, output.added))
}

/// Cleans a relative path from a form: no empty, `.` or `..` segments, no leading `/`.
fn clean_path(path: &str) -> Result<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(Error::InvalidInput(format!(
                    "file name {path:?} climbs out of the upload with '..'"
                )))
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

fn is_hidden(path: &str) -> bool {
    path.split('/').any(|p| p.starts_with('.'))
}

// ---------------------------------------------------------------------------------------------
// Local files (`cairn add`)
// ---------------------------------------------------------------------------------------------

/// How a local walk treats what it finds.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalOptions {
    /// Descend into directories (`-r`); without it a directory is an error.
    pub recursive: bool,
    /// Include dot-files below the given paths (`-H`).
    pub hidden: bool,
}

/// Adds the file, directory or symlink at `path` to `tree` as `tree_path` (symlinks are
/// stored as symlinks, never followed; children in name order). `progress` hears of every
/// byte read.
pub fn add_local(
    path: &Path,
    tree_path: &str,
    options: LocalOptions,
    params: &ImportParams,
    tree: &mut TreeBuilder,
    sink: &mut dyn BlockSink,
    progress: &mut dyn FnMut(u64),
) -> Result<()> {
    let at = |e: io::Error| Error::InvalidInput(format!("{}: {e}", path.display()));
    let meta = fs::symlink_metadata(path).map_err(at)?;
    let metadata = metadata_of(&meta, params);
    if meta.file_type().is_symlink() {
        let target = fs::read_link(path).map_err(at)?;
        let target = target.to_str().ok_or_else(|| {
            Error::InvalidInput(format!("{}: link target is not UTF-8", path.display()))
        })?;
        let entry = symlink_entry(target, &metadata, params, sink)?;
        return Ok(tree.add_file(tree_path, entry)?);
    }
    if meta.is_dir() {
        if !options.recursive {
            return Err(Error::InvalidInput(format!(
                "'{}' is a directory, use the '-r' flag to specify directories",
                path.display()
            )));
        }
        tree.add_dir(tree_path, metadata)?;
        let mut children: Vec<(String, std::path::PathBuf)> = Vec::new();
        for child in fs::read_dir(path).map_err(at)? {
            let child = child.map_err(at)?;
            let name = child.file_name().into_string().map_err(|n| {
                Error::InvalidInput(format!("{}: name {n:?} is not UTF-8", path.display()))
            })?;
            if !options.hidden && name.starts_with('.') {
                continue;
            }
            children.push((name, child.path()));
        }
        children.sort();
        for (name, child) in children {
            add_local(
                &child,
                &format!("{tree_path}/{name}"),
                options,
                params,
                tree,
                sink,
                progress,
            )?;
        }
        return Ok(());
    }
    let file = fs::File::open(path).map_err(at)?;
    let entry = add_reader(file, Some(meta.len()), params, metadata, sink, progress)
        .map_err(|e| Error::InvalidInput(format!("{}: {e}", path.display())))?;
    Ok(tree.add_file(tree_path, entry)?)
}

/// Imports everything `reader` yields as one file; `size_hint` (the file's size, when known)
/// sizes the read buffer.
pub fn add_reader(
    mut reader: impl Read,
    size_hint: Option<u64>,
    params: &ImportParams,
    metadata: Metadata,
    sink: &mut dyn BlockSink,
    progress: &mut dyn FnMut(u64),
) -> Result<Entry> {
    let mut importer = FileImporter::new(params, metadata)?;
    let full = READ_SIZE.max(DEFAULT_CHUNK_SIZE);
    let mut total = 0u64;
    loop {
        // Small files are the common case in a tree: a buffer the size of what is left of the
        // file (plus a little, so a file that grew is still read to its end) instead of a full
        // megabyte for each.
        let read_size = size_hint.map_or(full, |len| {
            let left = len.saturating_sub(total).saturating_add(1);
            usize::try_from(left).map_or(full, |left| left.clamp(64, full))
        });
        let mut buf = BytesMut::zeroed(read_size);
        let n = loop {
            match reader.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::InvalidInput(format!("reading: {e}"))),
            }
        };
        if n == 0 {
            break;
        }
        buf.truncate(n);
        total += n as u64;
        progress(n as u64);
        importer.push(buf.freeze(), sink)?;
    }
    Ok(importer.finish(sink)?)
}

/// UnixFS 1.5 metadata from the file system, when asked for.
fn metadata_of(meta: &fs::Metadata, params: &ImportParams) -> Metadata {
    use std::os::unix::fs::MetadataExt;
    let mode = params.preserve_mode.then(|| meta.mode() & 0o7777);
    let mtime = params
        .preserve_mtime
        .then(|| crate::ipld::unixfs::UnixTime {
            seconds: meta.mtime(),
            nanos: u32::try_from(meta.mtime_nsec()).ok().filter(|n| *n != 0),
        });
    Metadata { mode, mtime }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    fn store() -> (tempfile::TempDir, Arc<Blockstore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Blockstore::open(dir.path(), StoreOptions::default()).unwrap();
        (dir, Arc::new(store))
    }

    /// An ingest of a plain body as one file.
    fn one_file(store: &Arc<Blockstore>) -> Ingest<Ingested> {
        tree(
            Arc::clone(store),
            Input::File,
            ImportParams::cid_v1(),
            FormPolicy {
                field: None,
                hidden: false,
            },
        )
    }

    fn count(dir: &Path, sub: &str) -> usize {
        let mut n = 0;
        for entry in fs::read_dir(dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            n += if path.is_dir() {
                fs::read_dir(path).unwrap().count()
            } else {
                1
            };
        }
        n
    }

    /// Deterministic bytes that chunk into many distinct blocks.
    fn body(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn blocks_appear_only_once_the_ingest_is_durable() {
        let (dir, store) = store();
        let ingest = one_file(&store);
        let data = body(3 << 20);
        for chunk in data.chunks(64 << 10) {
            assert!(ingest.push(Bytes::copy_from_slice(chunk)).await);
        }
        // Wait until the worker has written the leaves it has been given.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while count(dir.path(), "tmp") < 11 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert!(
            count(dir.path(), "tmp") >= 11,
            "leaves written to temporary files"
        );
        assert_eq!(
            count(dir.path(), "blocks"),
            0,
            "nothing visible before the commit"
        );
        let done = ingest.finish().await.unwrap();
        assert_eq!(count(dir.path(), "tmp"), 0);
        // 12 leaves of 256 KiB and their parent, all visible to another opener.
        assert_eq!(count(dir.path(), "blocks"), 13);
        let other = Blockstore::open(dir.path(), StoreOptions::default()).unwrap();
        assert!(other.has(&done.root.cid).unwrap());
        assert_eq!(done.root.size, data.len() as u64);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_abandoned_ingest_leaves_nothing() {
        let (dir, store) = store();
        let ingest = one_file(&store);
        for chunk in body(2 << 20).chunks(64 << 10) {
            assert!(ingest.push(Bytes::copy_from_slice(chunk)).await);
        }
        ingest.abort().await;
        assert_eq!(count(dir.path(), "blocks"), 0);
        assert_eq!(count(dir.path(), "tmp"), 0, "temporary files removed");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_ingest_is_abandoned_not_committed() {
        let (dir, store) = store();
        let ingest = one_file(&store);
        for chunk in body(1 << 20).chunks(64 << 10) {
            assert!(ingest.push(Bytes::copy_from_slice(chunk)).await);
        }
        drop(ingest);
        // The worker notices, drops its batch and its lease.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while store
            .gc_lock_within(std::time::Duration::from_millis(10))
            .is_err()
        {
            assert!(std::time::Instant::now() < deadline, "lease never released");
        }
        assert_eq!(
            count(dir.path(), "blocks"),
            0,
            "a cut-off body is not committed"
        );
        assert_eq!(count(dir.path(), "tmp"), 0);
    }

    /// A CARv1 with the given roots and blocks.
    fn car_bytes(roots: &[cid::Cid], blocks: &[(cid::Cid, &[u8])]) -> Vec<u8> {
        let mut out = crate::ipld::car::v1_header(roots);
        for (cid, data) in blocks {
            crate::ipld::car::section_prefix(cid, data.len(), &mut out);
            out.extend_from_slice(data);
        }
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_car_without_one_root_is_refused_before_commit() {
        use multihash_codetable::{Code, MultihashDigest};
        let (dir, store) = store();
        let a = cid::Cid::new_v1(0x55, Code::Sha2_256.digest(b"a"));
        let b = cid::Cid::new_v1(0x55, Code::Sha2_256.digest(b"b"));
        let two_roots = car_bytes(&[a, b], &[(a, b"a"), (b, b"b")]);
        let ingest = car_ingest(&store, two_roots).await;
        let err = ingest.err().unwrap();
        assert!(err.to_string().contains("exactly one root"), "{err}");
        assert_eq!(count(dir.path(), "blocks"), 0);
        assert_eq!(count(dir.path(), "tmp"), 0);
        let one_root = car_bytes(&[a], &[(a, b"a"), (b, b"b")]);
        let done = car_ingest(&store, one_root).await.unwrap();
        assert_eq!(done.import.roots, vec![a]);
        assert_eq!(done.import.new_blocks, 2);
        assert!(store.has(&b).unwrap());
    }

    async fn car_ingest(store: &Arc<Blockstore>, bytes: Vec<u8>) -> Result<CarIngested> {
        let ingest = car(Arc::clone(store), None, true);
        for chunk in bytes.chunks(7) {
            if !ingest.push(Bytes::copy_from_slice(chunk)).await {
                break;
            }
        }
        ingest.finish().await
    }

    /// A form decoder that plays back events.
    struct Scripted(std::collections::VecDeque<FormEvent>);

    impl FormDecoder for Scripted {
        fn push(&mut self, _: Bytes) {}
        fn finish(&mut self) {}
        fn next(&mut self) -> std::result::Result<Option<FormEvent>, String> {
            Ok(self.0.pop_front())
        }
    }

    #[test]
    fn a_forms_names_are_bounded_in_all() {
        let (_dir, store) = store();
        let events = |names: &[&str]| {
            let mut events = std::collections::VecDeque::new();
            for name in names {
                events.push_back(FormEvent::PartStart(FormPart {
                    field: Some("file".into()),
                    path: Some((*name).into()),
                    kind: PartKind::File,
                }));
                events.push_back(FormEvent::Data(Bytes::from_static(b"x")));
                events.push_back(FormEvent::PartEnd);
            }
            Scripted(events)
        };
        let run = |max: usize| {
            let (tx, rx) = mpsc::channel(1);
            drop(tx);
            let mut chunks = Chunks {
                rx,
                aborted: Arc::new(AtomicBool::new(false)),
            };
            let mut decoder = events(&["aaaa", "bbbb", "cccc"]);
            let mut batch = store.batch();
            let policy = FormPolicy {
                field: None,
                hidden: false,
            };
            form_within(
                &mut decoder,
                &mut chunks,
                &mut batch,
                &ImportParams::cid_v1(),
                policy,
                max,
            )
            .map(|(_, added)| added.len())
        };
        let err = run(11).unwrap_err();
        assert!(err.to_string().contains("more than 11 bytes"), "{err}");
        assert_eq!(run(12).unwrap(), 4, "three files and their directory");
    }

    #[test]
    fn paths_are_cleaned_and_hidden_ones_recognised() {
        assert_eq!(clean_path("/a//b/./c").unwrap(), "a/b/c");
        assert!(clean_path("a/../../etc").is_err());
        assert!(is_hidden("a/.git/config"));
        assert!(!is_hidden("a/b.txt"));
    }
}
