//! Streaming uploads: a request body goes through the shared UnixFS importer on a blocking
//! worker (block writes are synchronous and fsync'd), fed chunk by chunk through a small
//! bounded channel — so memory stays flat whatever the upload size, and a slow disk slows the
//! client instead of filling memory. A plain body becomes one file; a `multipart/form-data`
//! body becomes a directory tree of its file parts. Both APIs (the writable gateway and the
//! Cluster API's `/add`) upload through here, so they produce the same CIDs.
//!
//! The worker holds the store's write lease, handed back with the result: garbage collection
//! cannot take the upload's blocks until the caller has pinned the root (or dropped the
//! lease), and every block is durable (synced) before the result is returned.

use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt;

use super::multipart::{Event, Limits, MultipartParser, PartKind};
use super::HttpError;
use crate::services::add::{self, dir, AddError, Entry, ImportParams, Metadata, StoreSink};
use crate::store::{Blockstore, GcLock};

/// Chunks in flight between the body reader and the importer.
const CHANNEL_DEPTH: usize = 16;

/// How form parts become paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormNames {
    /// The Agregore gateway: only parts named `file` count; names are percent-decoded
    /// (`+` stays `+`: browsers send names raw).
    Agregore,
    /// Go clients (ipfs-cluster-ctl, Kubo's RPC): any field name; names were
    /// `url.QueryEscape`d, so they are decoded as Go's `url.QueryUnescape` does.
    GoClient,
}

/// What to upload and how.
#[derive(Debug, Clone)]
pub struct UploadOptions {
    pub params: ImportParams,
    /// Refuse bodies over this many bytes (413).
    pub max_bytes: Option<u64>,
    pub form_names: FormNames,
    /// Include hidden (dot-file) paths of a form (Kubo's `--hidden`).
    pub hidden: bool,
}

/// The outcome of an upload.
pub struct Uploaded {
    /// The file (plain body) or the new directory holding the form's top-level entries.
    pub root: Entry,
    /// Whether the body was a form (the root is then a directory).
    pub form: bool,
    /// Each file and directory added, children before parents, root last (path `""`).
    pub added: Vec<(String, Entry)>,
    /// Keeps garbage collection off the new blocks until dropped.
    pub lease: GcLock,
}

/// Whether a Content-Type names multipart/form-data.
pub fn is_form(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("multipart/form-data"))
    })
}

/// Reads `body` into the store through the importer.
pub async fn upload<B>(
    store: Arc<Blockstore>,
    body: B,
    content_type: Option<&str>,
    content_length: Option<u64>,
    options: UploadOptions,
) -> Result<Uploaded, HttpError>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    if let (Some(max), Some(len)) = (options.max_bytes, content_length) {
        if len > max {
            return Err(too_large(max));
        }
    }
    let parser = if is_form(content_type) {
        Some(
            MultipartParser::from_content_type(content_type.unwrap_or(""), form_limits())
                .map_err(|e| HttpError::bad_request(format!("malformed multipart body: {e}")))?,
        )
    } else {
        None
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(CHANNEL_DEPTH);
    let worker_store = Arc::clone(&store);
    let worker_options = options.clone();
    let worker = tokio::task::spawn_blocking(move || {
        import_worker(&worker_store, rx, parser, &worker_options)
    });
    let mut body = body;
    let mut total = 0u64;
    let mut failure = None;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                failure = Some(HttpError::bad_request(format!(
                    "reading the body failed: {e}"
                )));
                break;
            }
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len() as u64;
        if options.max_bytes.is_some_and(|max| total > max) {
            failure = options.max_bytes.map(too_large);
            break;
        }
        if tx.send(data).await.is_err() {
            break; // the worker stopped early: its error says why
        }
    }
    drop(tx);
    let outcome = worker.await.map_err(|e| {
        HttpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("upload worker failed: {e}"),
        )
    })?;
    if let Some(failure) = failure {
        return Err(failure);
    }
    outcome
}

fn too_large(max: u64) -> HttpError {
    HttpError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("upload is larger than the {max}-byte limit"),
    )
}

fn form_limits() -> Limits {
    Limits {
        // A recursive add sends a part per file and directory.
        max_parts: 1_000_000,
        ..Limits::default()
    }
}

fn import_worker(
    store: &Blockstore,
    mut rx: tokio::sync::mpsc::Receiver<Bytes>,
    parser: Option<MultipartParser>,
    options: &UploadOptions,
) -> Result<Uploaded, HttpError> {
    let lease = store.write_lease()?;
    let mut sink = StoreSink::new(store);
    let uploaded = match parser {
        None => {
            let mut file = add::file::FileImporter::new(&options.params, Metadata::default())
                .map_err(add_error)?;
            while let Some(chunk) = rx.blocking_recv() {
                file.push(chunk, &mut sink).map_err(add_error)?;
            }
            let root = file.finish(&mut sink).map_err(add_error)?;
            (root, false, vec![(String::new(), root)])
        }
        Some(mut parser) => {
            let (root, added) = import_form(&mut parser, &mut rx, &mut sink, options)?;
            (root, true, added)
        }
    };
    store.sync()?;
    Ok(Uploaded {
        root: uploaded.0,
        form: uploaded.1,
        added: uploaded.2,
        lease,
    })
}

/// One form part being imported. (One lives per upload, so the size difference between
/// variants costs nothing worth an allocation per part.)
#[allow(clippy::large_enum_variant)]
enum Current {
    Skip,
    File(String, add::file::FileImporter),
    Symlink(String, Vec<u8>),
}

fn import_form(
    parser: &mut MultipartParser,
    rx: &mut tokio::sync::mpsc::Receiver<Bytes>,
    sink: &mut StoreSink<'_>,
    options: &UploadOptions,
) -> Result<(Entry, Vec<(String, Entry)>), HttpError> {
    let mut tree = dir::TreeBuilder::new();
    let mut current = Current::Skip;
    let mut any = false;
    let mut input_done = false;
    loop {
        let event = parser
            .next()
            .map_err(|e| HttpError::bad_request(format!("malformed multipart body: {e}")))?;
        match event {
            Some(Event::PartStart(headers)) => {
                current = Current::Skip;
                let wanted = match options.form_names {
                    FormNames::Agregore => headers.field_name() == Some("file"),
                    FormNames::GoClient => true,
                };
                let path = match options.form_names {
                    FormNames::Agregore => headers.filename.as_deref().map(|f| {
                        percent_encoding::percent_decode_str(f)
                            .decode_utf8_lossy()
                            .into_owned()
                    }),
                    FormNames::GoClient => headers.path(),
                };
                let Some(path) = path.filter(|_| wanted) else {
                    continue;
                };
                let path = clean_path(&path)?;
                if path.is_empty() || (!options.hidden && is_hidden(&path)) {
                    continue;
                }
                any = true;
                match headers.kind() {
                    PartKind::Directory => tree
                        .add_dir(&path, Metadata::default())
                        .map_err(add_error)?,
                    PartKind::Symlink => current = Current::Symlink(path, Vec::new()),
                    PartKind::File => {
                        let importer =
                            add::file::FileImporter::new(&options.params, Metadata::default())
                                .map_err(add_error)?;
                        current = Current::File(path, importer);
                    }
                }
            }
            Some(Event::Data(data)) => match &mut current {
                Current::Skip => {}
                Current::File(_, importer) => importer.push(data, sink).map_err(add_error)?,
                Current::Symlink(_, target) => {
                    if target.len() + data.len() > 4096 {
                        return Err(HttpError::bad_request("symlink target over 4096 bytes"));
                    }
                    target.extend_from_slice(&data);
                }
            },
            Some(Event::PartEnd) => match std::mem::replace(&mut current, Current::Skip) {
                Current::Skip => {}
                Current::File(path, importer) => {
                    let entry = importer.finish(sink).map_err(add_error)?;
                    tree.add_file(&path, entry).map_err(add_error)?;
                }
                Current::Symlink(path, target) => {
                    let target = String::from_utf8(target)
                        .map_err(|_| HttpError::bad_request("symlink target is not UTF-8"))?;
                    let entry =
                        dir::symlink_entry(&target, &Metadata::default(), &options.params, sink)
                            .map_err(add_error)?;
                    tree.add_file(&path, entry).map_err(add_error)?;
                }
            },
            None if input_done => break,
            None => match rx.blocking_recv() {
                Some(chunk) => parser.push(chunk),
                None => {
                    parser.finish();
                    input_done = true;
                }
            },
        }
    }
    if !any {
        return Err(HttpError::bad_request(match options.form_names {
            FormNames::Agregore => "the form has no part named \"file\" with a filename",
            FormNames::GoClient => "the form has no file parts",
        }));
    }
    let output = tree.finish(&options.params, sink).map_err(add_error)?;
    Ok((output.root, output.added))
}

/// Cleans a relative path from a form: no empty, `.` or `..` segments, no leading `/`.
fn clean_path(path: &str) -> Result<String, HttpError> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(HttpError::bad_request(format!(
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

fn add_error(e: AddError) -> HttpError {
    crate::services::Error::from(e).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_detection_and_paths() {
        assert!(is_form(Some("multipart/form-data; boundary=x")));
        assert!(is_form(Some("Multipart/Form-Data;boundary=x")));
        assert!(!is_form(Some("application/octet-stream")));
        assert!(!is_form(None));
        assert_eq!(clean_path("/a//b/./c").unwrap(), "a/b/c");
        assert!(clean_path("a/../../etc").is_err());
        assert!(is_hidden("a/.git/config"));
        assert!(!is_hidden("a/b.txt"));
    }
}
