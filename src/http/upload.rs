//! Streaming uploads: the http side of [`crate::services::ingest`]. This module decodes the
//! wire format (multipart framing, the clients' name escaping) and pumps the request body into
//! the ingest service chunk by chunk; the service decides what becomes an entry, writes the
//! blocks on a blocking thread and hands back the result once they are durable, with the
//! store's write lease. Both APIs (the writable gateway and the Cluster API's `/add`) upload
//! through here, so they produce the same CIDs.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;

use super::multipart::{Event, Limits, MultipartParser, PartKind};
use super::HttpError;
use crate::services::add::ImportParams;
use crate::services::ingest::{self, FormDecoder, FormEvent, FormPart, FormPolicy, Ingest, Input};
use crate::store::Blockstore;

/// The outcome of an upload: the root, the entries added, and the write lease that keeps
/// garbage collection off them until dropped.
pub use crate::services::ingest::Ingested as Uploaded;

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

/// Whether a Content-Type names multipart/form-data.
pub fn is_form(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("multipart/form-data"))
    })
}

/// Reads `body` into the store through the ingest service: a plain body becomes one file, a
/// form a tree of its parts.
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
    check_length(options.max_bytes, content_length)?;
    let input = match form_decoder(content_type, options.form_names, form_limits())? {
        Some(decoder) => Input::Form(decoder),
        None => Input::File,
    };
    let policy = FormPolicy {
        field: match options.form_names {
            FormNames::Agregore => Some("file"),
            FormNames::GoClient => None,
        },
        hidden: options.hidden,
    };
    let ingest = ingest::tree(store, input, options.params, policy);
    Ok(pump(body, ingest, options.max_bytes).await??)
}

/// Refuses a body whose declared length is over the limit, before reading any of it.
pub fn check_length(max_bytes: Option<u64>, content_length: Option<u64>) -> Result<(), HttpError> {
    match (max_bytes, content_length) {
        (Some(max), Some(len)) if len > max => Err(too_large(max)),
        _ => Ok(()),
    }
}

/// A decoder for a form body (`None` when the body is not a form), naming parts as the given
/// clients encode names.
pub fn form_decoder(
    content_type: Option<&str>,
    names: FormNames,
    limits: Limits,
) -> Result<Option<Box<dyn FormDecoder>>, HttpError> {
    if !is_form(content_type) {
        return Ok(None);
    }
    let parser = MultipartParser::from_content_type(content_type.unwrap_or(""), limits)
        .map_err(|e| HttpError::bad_request(format!("malformed multipart body: {e}")))?;
    Ok(Some(Box::new(Multipart { parser, names })))
}

/// Feeds `body` to `ingest` and waits for its result. The outer error is the transfer's (the
/// body failed, or went over `max_bytes`: the ingest is abandoned); the inner one the
/// ingest's, for the caller to map.
pub async fn pump<B, T>(
    body: B,
    ingest: Ingest<T>,
    max_bytes: Option<u64>,
) -> Result<crate::services::Result<T>, HttpError>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
    T: Send + 'static,
{
    let mut body = body;
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                ingest.abort().await;
                return Err(HttpError::bad_request(format!(
                    "reading the body failed: {e}"
                )));
            }
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len() as u64;
        if let Some(max) = max_bytes.filter(|max| total > *max) {
            ingest.abort().await;
            return Err(too_large(max));
        }
        if !ingest.push(data).await {
            break; // the worker stopped early: its error says why
        }
    }
    Ok(ingest.finish().await)
}

fn too_large(max: u64) -> HttpError {
    HttpError::new(
        http::StatusCode::PAYLOAD_TOO_LARGE,
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

/// The multipart parser as the ingest service's form decoder: part kinds from the headers,
/// names unescaped as the clients escaped them.
struct Multipart {
    parser: MultipartParser,
    names: FormNames,
}

impl FormDecoder for Multipart {
    fn push(&mut self, chunk: Bytes) {
        self.parser.push(chunk);
    }

    fn finish(&mut self) {
        self.parser.finish();
    }

    fn next(&mut self) -> Result<Option<FormEvent>, String> {
        Ok(match self.parser.next().map_err(|e| e.to_string())? {
            None => None,
            Some(Event::Data(data)) => Some(FormEvent::Data(data)),
            Some(Event::PartEnd) => Some(FormEvent::PartEnd),
            Some(Event::PartStart(headers)) => {
                let path = match self.names {
                    FormNames::Agregore => headers.filename.as_deref().map(|f| {
                        percent_encoding::percent_decode_str(f)
                            .decode_utf8_lossy()
                            .into_owned()
                    }),
                    FormNames::GoClient => headers.path(),
                };
                Some(FormEvent::PartStart(FormPart {
                    field: headers.field_name().map(str::to_owned),
                    path,
                    kind: match headers.kind() {
                        PartKind::Directory => ingest::PartKind::Directory,
                        PartKind::Symlink => ingest::PartKind::Symlink,
                        PartKind::File => ingest::PartKind::File,
                    },
                }))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_detection() {
        assert!(is_form(Some("multipart/form-data; boundary=x")));
        assert!(is_form(Some("Multipart/Form-Data;boundary=x")));
        assert!(!is_form(Some("application/octet-stream")));
        assert!(!is_form(None));
    }
}
