//! Streaming uploads: the http side of [`crate::services::ingest`]. This module decodes the
//! wire format (multipart framing, the clients' name escaping) and pumps the request body into
//! the ingest service chunk by chunk; the service decides what becomes an entry, writes the
//! blocks on a blocking thread and hands back the result once they are durable, with the
//! store's write lease. Both APIs (the writable gateway and the Cluster API's `/add`) upload
//! through here, so they produce the same CIDs.
//!
//! What a client cannot hold here:
//! - **A stalled body.** Each wait for the next piece of a body is bounded
//!   ([`UploadOptions::body_timeout`]): past it the upload is abandoned (nothing of it
//!   committed but full batches) and the client gets 408 ([`next_frame`], used by every
//!   request body reader of the APIs).
//! - **Every blocking thread.** An ingest runs on a blocking thread for as long as its body
//!   comes in, so the uploads in flight at once are bounded ([`UploadSlots`], shared by the
//!   APIs of a process); one more gets 503 with `Retry-After` at once.
//! - **Every upload slot.** One client address holds at most a share of the slots
//!   (`--max-uploads-per-client`, a quarter by default, as nginx's `limit_conn` would), so a
//!   client that trickles its bodies just under the stall limit cannot keep everyone else's
//!   uploads out; past its share it gets 503 with `Retry-After`.
//! - **Memory.** Nothing of a body is buffered here: chunks go to the ingest as they come
//!   (at most a small bounded channel of them in flight). A form's part headers are bounded by
//!   the parser's [`Limits`] (8 KiB of headers and 4 KiB of name per part, 1,000,000 parts).
//!   Form names are taken as sent: only the three escapes browsers make (`%22`, `%0D`, `%0A`,
//!   HTML's multipart/form-data encoding) are undone; the name rule itself is the ingest's.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// Uploads in flight at once by default (see [`UploadSlots`]).
pub const DEFAULT_MAX_UPLOADS: u32 = 64;

/// Uploads one client address may hold by default: a quarter of `max`.
pub fn default_uploads_per_client(max: usize) -> usize {
    max / 4
}

/// How long a client is told to wait after a 503 for want of an upload slot.
const RETRY_AFTER_SECONDS: u64 = 5;

/// The uploads a process runs at once, across its APIs: each holds a blocking thread while its
/// body comes in, so without a bound a few hundred stalled uploads would take every one of
/// them (Tokio's pool stops at 512) and hang all other uploads and blocking work. Each client
/// address has a share of them.
#[derive(Debug, Clone)]
pub struct UploadSlots {
    slots: Arc<tokio::sync::Semaphore>,
    per_client: usize,
    held: HeldByClient,
}

/// Slots held, by client address (addresses holding none are not kept).
type HeldByClient = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// One upload's slot, given back when dropped.
#[derive(Debug)]
pub struct UploadSlot {
    _permit: tokio::sync::OwnedSemaphorePermit,
    client: Option<(IpAddr, HeldByClient)>,
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        if let Some((ip, held)) = &self.client {
            let mut held = lock(held);
            if let Some(count) = held.get_mut(ip) {
                *count -= 1;
                if *count == 0 {
                    held.remove(ip);
                }
            }
        }
    }
}

fn lock(held: &Mutex<HashMap<IpAddr, usize>>) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
    // A count change is one write: a poisoned lock is still consistent.
    held.lock().unwrap_or_else(|p| p.into_inner())
}

impl UploadSlots {
    /// `max` slots in all, at most `per_client` of them held by one client address.
    pub fn new(max: usize, per_client: usize) -> Self {
        let max = max.clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
        UploadSlots {
            slots: Arc::new(tokio::sync::Semaphore::new(max)),
            per_client: per_client.clamp(1, max),
            held: Arc::default(),
        }
    }

    /// A slot for one upload from `client` (`None`: an address not known, which only the
    /// total bounds), held until dropped; 503 with `Retry-After` when none is free or the
    /// client holds its share.
    pub fn admit(&self, client: Option<IpAddr>) -> Result<UploadSlot, HttpError> {
        let busy = |what: &str| {
            HttpError::new(
                http::StatusCode::SERVICE_UNAVAILABLE,
                format!("{what}; retry after {RETRY_AFTER_SECONDS} seconds"),
            )
            .with_header(
                http::header::RETRY_AFTER,
                http::HeaderValue::from(RETRY_AFTER_SECONDS),
            )
        };
        let Some(ip) = client else {
            let permit = Arc::clone(&self.slots)
                .try_acquire_owned()
                .map_err(|_| busy("too many uploads in progress"))?;
            return Ok(UploadSlot {
                _permit: permit,
                client: None,
            });
        };
        let mut held = lock(&self.held);
        let count = held.get(&ip).copied().unwrap_or(0);
        if count >= self.per_client {
            return Err(busy("too many uploads in progress from this address"));
        }
        let permit = Arc::clone(&self.slots)
            .try_acquire_owned()
            .map_err(|_| busy("too many uploads in progress"))?;
        held.insert(ip, count + 1);
        Ok(UploadSlot {
            _permit: permit,
            client: Some((ip, Arc::clone(&self.held))),
        })
    }
}

impl Default for UploadSlots {
    fn default() -> Self {
        let max = DEFAULT_MAX_UPLOADS as usize;
        UploadSlots::new(max, default_uploads_per_client(max))
    }
}

/// The next frame of a request body, waiting at most `stall` for it (`None`: as long as it
/// takes). A body that does not come in time is a 408 (the connection is closed after it:
/// the rest of the body will not be read).
pub async fn next_frame<B>(
    body: &mut B,
    stall: Option<Duration>,
) -> Result<Option<http_body::Frame<Bytes>>, HttpError>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let frame = match stall {
        None => body.frame().await,
        Some(limit) => match tokio::time::timeout(limit, body.frame()).await {
            Ok(frame) => frame,
            Err(_) => return Err(body_timed_out(limit)),
        },
    };
    frame
        .transpose()
        .map_err(|e| HttpError::bad_request(format!("reading the body failed: {e}")))
}

/// 408 for a body that stalled (RFC 9110 §15.5.9: the server closes the connection).
fn body_timed_out(limit: Duration) -> HttpError {
    HttpError::new(
        http::StatusCode::REQUEST_TIMEOUT,
        format!(
            "the request body stalled: nothing came for {} s",
            limit.as_secs_f64()
        ),
    )
    .with_header(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    )
}

/// How form parts become paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormNames {
    /// The Agregore gateway: only parts named `file` count; names are taken as sent, but for
    /// the three escapes browsers apply (`"`, CR and LF as `%22`, `%0D`, `%0A`).
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
    /// The longest wait for the next piece of the body (408 past it; `None`: no limit).
    pub body_timeout: Option<Duration>,
    /// The slots uploads share (503 when none is free).
    pub slots: UploadSlots,
    /// The client's address, for its share of the slots.
    pub client: Option<IpAddr>,
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
    let _slot = options.slots.admit(options.client)?;
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
    Ok(pump(body, ingest, options.max_bytes, options.body_timeout).await??)
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
/// body failed, stalled past `stall`, or went over `max_bytes`: the ingest is abandoned); the
/// inner one the ingest's, for the caller to map.
pub async fn pump<B, T>(
    body: B,
    ingest: Ingest<T>,
    max_bytes: Option<u64>,
    stall: Option<Duration>,
) -> Result<crate::services::Result<T>, HttpError>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
    T: Send + 'static,
{
    let mut body = body;
    let mut total = 0u64;
    loop {
        let frame = match next_frame(&mut body, stall).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(e) => {
                ingest.abort().await;
                return Err(e);
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
                    FormNames::Agregore => headers.filename.as_deref().map(browser_name),
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

/// A file name as a browser sent it in a form: HTML's multipart/form-data encoding replaces
/// `"`, CR and LF by `%22`, `%0D` and `%0A` and sends everything else raw, so only those are
/// undone (`report%20final.txt` stays as it is).
fn browser_name(sent: &str) -> String {
    if !sent.contains('%') {
        return sent.to_owned();
    }
    sent.replace("%22", "\"")
        .replace("%0D", "\r")
        .replace("%0A", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_holds_at_most_its_share_of_the_slots() {
        let slots = UploadSlots::new(4, 2);
        let a: IpAddr = "203.0.113.1".parse().unwrap();
        let b: IpAddr = "203.0.113.2".parse().unwrap();
        let a1 = slots.admit(Some(a)).unwrap();
        let _a2 = slots.admit(Some(a)).unwrap();
        let refused = slots.admit(Some(a)).unwrap_err();
        assert_eq!(refused.status, http::StatusCode::SERVICE_UNAVAILABLE);
        assert!(refused.message.contains("from this address"));
        let _b1 = slots.admit(Some(b)).unwrap();
        let _unknown = slots.admit(None).unwrap();
        // All four taken: the total holds for everyone.
        assert!(slots.admit(Some(b)).is_err());
        assert!(slots.admit(None).is_err());
        drop(a1);
        let _a3 = slots.admit(Some(a)).unwrap();
        assert_eq!(lock(&slots.held).get(&a), Some(&2));
        drop(_a3);
        drop(_a2);
        assert_eq!(
            lock(&slots.held).get(&a),
            None,
            "an address holding none is not kept"
        );
    }

    #[test]
    fn browser_names_are_kept_but_for_the_html_escapes() {
        assert_eq!(browser_name("report%20final.txt"), "report%20final.txt");
        assert_eq!(browser_name("dir/sub/a+b.txt"), "dir/sub/a+b.txt");
        assert_eq!(browser_name("say %22hi%22.txt"), "say \"hi\".txt");
        assert_eq!(browser_name("a%0D%0Ab"), "a\r\nb");
    }

    #[test]
    fn form_detection() {
        assert!(is_form(Some("multipart/form-data; boundary=x")));
        assert!(is_form(Some("Multipart/Form-Data;boundary=x")));
        assert!(!is_form(Some("application/octet-stream")));
        assert!(!is_form(None));
    }
}
