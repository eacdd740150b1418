//! `GET`/`HEAD /ipfs/<cid>[/<path>]`: resolve the path, then serve a file (with Range, ETag
//! and content-type rules), a symlink, a block of another codec, or a directory (redirect to
//! the trailing slash, `index.html`, or a JSON/HTML listing).
//!
//! Header rules follow the Agregore spec (`Ipfs-Hash`, CIDv1 everywhere) and Kubo's path
//! gateway (`X-Ipfs-Path`, `X-Ipfs-Roots`, `Etag`, `Cache-Control`, `Content-Disposition`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use cid::Cid;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, StatusCode};

use super::path::{self, query_param};
use super::{listing, Gateway};
use crate::http::body::Segment;
use crate::http::header_text::HeaderText;
use crate::http::range::{self, RangePlan, RangeRequest};
use crate::http::{conditional, content_type, Body, HttpError, Response};
use crate::ipld::cid::{codec, v1_text};
use crate::services::dir;
use crate::services::file::FileStream;
use crate::services::resolve::{self, FileRoot, Node, Resolved};

pub(super) const X_IPFS_PATH: HeaderName = HeaderName::from_static("x-ipfs-path");
pub(super) const X_IPFS_ROOTS: HeaderName = HeaderName::from_static("x-ipfs-roots");
pub(crate) const IPFS_HASH: HeaderName = HeaderName::from_static("ipfs-hash");

/// `/ipfs` content never changes: cache it for a year (Kubo's value).
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=29030400, immutable");

/// Bytes looked at to sniff a content type (Go's `sniffLen`).
const SNIFF_LEN: u64 = 512;

/// What the request asked for beyond its path.
pub(super) struct Ask<'r> {
    /// The request path as written, for `X-Ipfs-Path` and redirects.
    pub(super) raw_path: &'r str,
    pub(super) query: Option<&'r str>,
    pub(super) headers: &'r HeaderMap,
    /// `None` for immutable `/ipfs` content; for `/ipns` the TTL the name resolved with, which
    /// replaces the immutable caching (boxo `contentCacheControl`, `dirListingCacheControl`).
    pub(super) ttl: Option<Duration>,
}

pub(super) fn ipfs<B>(
    gw: &Gateway,
    request: &Request<B>,
    rest: &str,
) -> Result<Response, HttpError> {
    let (cid_text, sub_path) = rest.split_once('/').unwrap_or((rest, ""));
    if cid_text.is_empty() {
        return Err(HttpError::bad_request(
            "no CID in the path: expected /ipfs/<cid>[/<path>]",
        ));
    }
    let root = crate::ipld::cid::parse(&path::decode_segment(cid_text)?)?;
    let segments = path::segments(sub_path)?;
    let resolved = resolve::resolve(&gw.store, root, segments.iter().map(|s| &**s))?;
    let ask = Ask {
        raw_path: request.uri().path(),
        query: request.uri().query(),
        headers: request.headers(),
        ttl: None,
    };
    let name = segments.last().map(|s| &**s);
    serve_resolved(gw, &ask, resolved, name)
}

pub(super) fn serve_resolved(
    gw: &Gateway,
    ask: &Ask<'_>,
    resolved: Resolved,
    name: Option<&str>,
) -> Result<Response, HttpError> {
    let Resolved { cid, node, roots } = resolved;
    let mut text = HeaderText::with_capacity(ask.raw_path.len() + 64 * (roots.len() + 3));
    text.set(X_IPFS_PATH, ask.raw_path);
    text.set_fmt(X_IPFS_ROOTS, format_args!("{}", RootsList(&roots)));
    match node {
        Node::Directory(_) | Node::HamtDirectory(..) => serve_directory(gw, ask, cid, node, text),
        Node::File(root) => serve_file(gw, ask, cid, &root, name, text, None),
        Node::Symlink(target) => {
            let root = FileRoot::Raw(target);
            serve_file(gw, ask, cid, &root, name, text, Some("inode/symlink"))
        }
        Node::Other(codec, bytes) => {
            let root = FileRoot::Raw(bytes);
            serve_file(gw, ask, cid, &root, name, text, codec_content_type(codec))
        }
    }
}

/// `X-Ipfs-Roots`: the CIDs the path went through, comma-joined.
struct RootsList<'a>(&'a [Cid]);

impl std::fmt::Display for RootsList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, cid) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(v1_text(cid).as_str())?;
        }
        Ok(())
    }
}

fn codec_content_type(codec: u64) -> Option<&'static str> {
    Some(match codec {
        codec::DAG_CBOR => "application/vnd.ipld.dag-cbor",
        codec::DAG_JSON => "application/vnd.ipld.dag-json",
        codec::JSON => "application/json",
        codec::CBOR => "application/cbor",
        codec::LIBP2P_KEY => "application/vnd.ipfs.ipns-record",
        _ => return None,
    })
}

fn serve_directory(
    gw: &Gateway,
    ask: &Ask<'_>,
    cid: Cid,
    node: Node,
    mut text: HeaderText,
) -> Result<Response, HttpError> {
    let mut headers = HeaderMap::with_capacity(16);
    // A directory URL must end in '/' so relative links inside it work (agregore-browser
    // #193); the query is kept.
    if !ask.raw_path.ends_with('/') {
        match ask.query {
            Some(q) => text.set_fmt(header::LOCATION, format_args!("{}/?{q}", ask.raw_path)),
            None => text.set_fmt(header::LOCATION, format_args!("{}/", ask.raw_path)),
        }
        text.apply(&mut headers);
        return Ok(with_status(
            StatusCode::MOVED_PERMANENTLY,
            headers,
            Body::empty(),
        ));
    }
    if query_param(ask.query, "noResolve").is_none() {
        if let Some(index) = dir::lookup(&gw.store, &node, "index.html")? {
            if let Node::File(root) = resolve::Node::load(&gw.store, &index)? {
                // The page stands for the directory: Etag and Ipfs-Hash are the directory's.
                return serve_file(gw, ask, cid, &root, Some("index.html"), text, None);
            }
        }
    }
    let dir_cid = v1_text(&cid);
    text.set(IPFS_HASH, dir_cid.as_str());
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    match ask.ttl.map(|ttl| ttl.as_secs()) {
        None => {
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=604800, stale-while-revalidate=2678400"),
            );
        }
        Some(0) => {}
        Some(seconds) => text.set_fmt(
            header::CACHE_CONTROL,
            format_args!("public, max-age={seconds}, stale-while-revalidate=2678400"),
        ),
    }
    let json = wants_json_listing(ask.headers);
    let etag = if json {
        format!("\"DirIndex-json_CID-{dir_cid}\"")
    } else {
        format!(
            "\"DirIndex-{}_CID-{dir_cid}\"",
            listing::ASSET_HASH.as_str()
        )
    };
    text.set(header::ETAG, &etag);
    if not_modified(ask.headers, &etag) {
        text.apply(&mut headers);
        return Ok(with_status(
            StatusCode::NOT_MODIFIED,
            headers,
            Body::empty(),
        ));
    }
    let entries = dir::list(&gw.store, &node)?;
    let (content_type, body) = if json {
        ("application/json", listing::json(&gw.store, &entries))
    } else {
        (
            "text/html",
            listing::html(ask.raw_path, dir_cid.as_str(), &entries),
        )
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    text.set_u64(header::CONTENT_LENGTH, body.len() as u64);
    text.apply(&mut headers);
    Ok(with_status(StatusCode::OK, headers, Body::full(body)))
}

/// JSON when Accept is absent or names application/json; HTML for any other Accept
/// (the Agregore spec).
fn wants_json_listing(headers: &HeaderMap) -> bool {
    match headers.get(header::ACCEPT) {
        None => true,
        Some(accept) => accept
            .to_str()
            .is_ok_and(|a| a.contains("application/json")),
    }
}

fn serve_file(
    gw: &Gateway,
    ask: &Ask<'_>,
    cid: Cid,
    root: &FileRoot,
    name: Option<&str>,
    mut text: HeaderText,
    fixed_type: Option<&'static str>,
) -> Result<Response, HttpError> {
    let mut headers = HeaderMap::with_capacity(16);
    let cid_text = v1_text(&cid);
    let mut etag_buf = [0u8; ETAG_CAPACITY];
    let etag = quoted(cid_text.as_str(), &mut etag_buf);
    text.set(IPFS_HASH, cid_text.as_str());
    text.set(header::ETAG, etag);
    match ask.ttl.map(|ttl| ttl.as_secs()) {
        None => {
            headers.insert(header::CACHE_CONTROL, IMMUTABLE);
        }
        Some(0) => {}
        Some(seconds) => text.set_fmt(
            header::CACHE_CONTROL,
            format_args!("public, max-age={seconds}"),
        ),
    }
    let last_modified = root.mtime().and_then(|t| {
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(t.seconds).ok()?))
    });
    if let Some(modified) = last_modified {
        text.set(header::LAST_MODIFIED, &httpdate::fmt_http_date(modified));
    }
    if not_modified(ask.headers, etag) {
        text.apply(&mut headers);
        return Ok(with_status(
            StatusCode::NOT_MODIFIED,
            headers,
            Body::empty(),
        ));
    }
    let filename = query_param(ask.query, "filename");
    if let Some(filename) = &filename {
        let download = query_param(ask.query, "download").is_some_and(|v| v == "true");
        text.set(
            header::CONTENT_DISPOSITION,
            &content_disposition(filename, download),
        );
    }
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));

    let size = root.size();
    let plan = match ask.headers.get(header::RANGE) {
        Some(value) if range_applies(ask.headers, etag, last_modified) => {
            match range::parse_range(value.as_bytes())
                .map_err(|e| HttpError::bad_request(format!("invalid Range header: {e}")))?
            {
                RangeRequest::Bytes(set) => set.plan(size),
                RangeRequest::UnsupportedUnit => RangePlan::Full,
            }
        }
        _ => RangePlan::Full,
    };
    let store = &gw.store;
    let type_name = filename.as_deref().or(name);
    let (status, body) = match plan {
        RangePlan::Unsatisfiable => {
            return Err(HttpError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                format!("range not satisfiable: the file is {size} bytes"),
            )
            .with_header(
                header::CONTENT_RANGE,
                value(range::content_range_unsatisfied(size).as_str())?,
            ))
        }
        RangePlan::Full => {
            let mut body = Body::empty();
            let content_type = match fixed_type {
                Some(t) => t,
                None => match type_name.and_then(content_type::by_extension) {
                    Some(t) => trim_html(t),
                    // An empty file has nothing to sniff (boxo sends plain text).
                    None if size == 0 => "text/plain",
                    None => {
                        let head = read_prefix(store, root, &mut body, size)?;
                        content_type::for_file(None, &head)
                    }
                },
            };
            let consumed = body.len();
            if consumed < size {
                body.push(Segment::File(FileStream::new(
                    Arc::clone(store),
                    root,
                    consumed,
                    size - consumed,
                )?));
            }
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            (StatusCode::OK, body)
        }
        RangePlan::Partial(ranges) => {
            let content_type = match fixed_type {
                Some(t) => t,
                None => match type_name.and_then(content_type::by_extension) {
                    Some(t) => trim_html(t),
                    None => sniff_best_effort(store, root, size),
                },
            };
            if let [only] = ranges.as_slice() {
                let stream = FileStream::new(Arc::clone(store), root, only.start, only.len())?;
                text.set(
                    header::CONTENT_RANGE,
                    range::content_range(*only, size).as_str(),
                );
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                (StatusCode::PARTIAL_CONTENT, Body::file(stream))
            } else {
                let boundary = range::Boundary::generate();
                let Some(layout) =
                    range::MultipartByteranges::new(&ranges, size, content_type, &boundary)
                else {
                    return Err(HttpError::bad_request("ranges do not fit the file"));
                };
                let mut body = Body::empty();
                for part in layout.parts() {
                    body.push(Segment::Bytes(part.header.clone()));
                    body.push(Segment::File(FileStream::new(
                        Arc::clone(store),
                        root,
                        part.range.start,
                        part.range.len(),
                    )?));
                }
                body.push(Segment::Bytes(layout.closing_delimiter().clone()));
                text.set(header::CONTENT_TYPE, boundary.content_type().as_str());
                (StatusCode::PARTIAL_CONTENT, body)
            }
        }
    };
    text.set_u64(header::CONTENT_LENGTH, body.len());
    text.apply(&mut headers);
    Ok(with_status(status, headers, body))
}

/// Room for `"<cid>"` with the longest CID text.
const ETAG_CAPACITY: usize = 192;

/// `"<text>"`, written into `buf`.
fn quoted<'b>(text: &str, buf: &'b mut [u8; ETAG_CAPACITY]) -> &'b str {
    let n = text.len().min(ETAG_CAPACITY - 2);
    buf[0] = b'"';
    buf[1..1 + n].copy_from_slice(&text.as_bytes()[..n]);
    buf[1 + n] = b'"';
    std::str::from_utf8(&buf[..n + 2]).unwrap_or("\"\"")
}

/// Range applies unless an `If-Range` validator no longer matches (RFC 9110 §13.1.5).
fn range_applies(headers: &HeaderMap, etag: &str, last_modified: Option<SystemTime>) -> bool {
    match headers.get(header::IF_RANGE) {
        None => true,
        Some(v) => conditional::if_range(v.as_bytes(), etag, last_modified),
    }
}

/// `If-None-Match` evaluated against the representation's Etag (RFC 9110 §13.1.2).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| conditional::if_none_match(v.as_bytes(), etag))
}

/// Reads the file's first bytes for sniffing, moving them into `body` so they are not read
/// twice; returns them as one buffer (a copy only when they span several blocks).
fn read_prefix(
    store: &Arc<crate::store::Blockstore>,
    root: &FileRoot,
    body: &mut Body,
    size: u64,
) -> Result<Bytes, HttpError> {
    let want = size.min(SNIFF_LEN);
    let mut stream = FileStream::new(Arc::clone(store), root, 0, want)?;
    let mut chunks: smallvec::SmallVec<[Bytes; 2]> = smallvec::SmallVec::new();
    while let Some(chunk) = stream.next_chunk() {
        chunks.push(chunk?);
    }
    let head = match chunks.as_slice() {
        [one] => one.clone(),
        many => {
            let mut joined = BytesMut::with_capacity(want as usize);
            for c in many {
                joined.extend_from_slice(c);
            }
            joined.freeze()
        }
    };
    for chunk in chunks {
        body.push(Segment::Bytes(chunk));
    }
    Ok(head)
}

/// Sniffing for a range that does not start at 0: from the first bytes when they are at hand,
/// without failing the range if they are not (its blocks may be missing).
fn sniff_best_effort(
    store: &Arc<crate::store::Blockstore>,
    root: &FileRoot,
    size: u64,
) -> &'static str {
    let mut scratch = Body::empty();
    match read_prefix(store, root, &mut scratch, size) {
        Ok(head) => content_type::for_file(None, &head),
        Err(_) => "application/octet-stream",
    }
}

fn trim_html(content_type: &'static str) -> &'static str {
    if content_type.starts_with("text/html;") {
        "text/html"
    } else {
        content_type
    }
}

/// `inline; filename="<ascii>"; filename*=UTF-8''<escaped>` (RFC 6266 §4.3, RFC 8187), as
/// Kubo writes it; `attachment` when a download is asked for.
pub(super) fn content_disposition(filename: &str, download: bool) -> String {
    let kind = if download { "attachment" } else { "inline" };
    let ascii: String = filename
        .chars()
        .map(|c| match c {
            '"' | '\\' => '_',
            c if c.is_ascii() && !c.is_ascii_control() => c,
            _ => '_',
        })
        .collect();
    let escaped = percent_encoding::utf8_percent_encode(filename, RFC8187_ESCAPE);
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{escaped}")
}

/// RFC 8187 §3.2.1 `attr-char` is ALPHA / DIGIT / "!#$&+-.^_`|~"; everything else is escaped.
const RFC8187_ESCAPE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

fn value(text: &str) -> Result<HeaderValue, HttpError> {
    HeaderValue::from_str(text)
        .map_err(|_| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "bad header value"))
}

pub(super) fn with_status(status: StatusCode, headers: HeaderMap, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}
