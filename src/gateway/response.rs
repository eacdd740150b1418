//! What every gateway response is built from, whichever handler builds it: the request as
//! the handlers see it ([`Ask`], [`Origin`]), the header names and caching rules shared by
//! files, listings, exports and names, and the small response builders (`304`, redirects).
//! Handlers import this module; it imports none of them.

use std::time::Duration;

use cid::Cid;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::StatusCode;

use super::format::{self, Format, Negotiated};
use super::path;
use crate::http::header_text::HeaderText;
use crate::http::{conditional, Body, HttpError, Response};
use crate::ipld::cid::v1_text;

pub(super) const X_IPFS_PATH: HeaderName = HeaderName::from_static("x-ipfs-path");

pub(super) const X_IPFS_ROOTS: HeaderName = HeaderName::from_static("x-ipfs-roots");

pub(crate) const IPFS_HASH: HeaderName = HeaderName::from_static("ipfs-hash");

/// `/ipfs` content never changes: cache it for a year (Kubo's value).
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=29030400, immutable");

/// Generated pages change between versions: a week, then stale for a month (boxo).
const LISTING_CACHE: HeaderValue =
    HeaderValue::from_static("public, max-age=604800, stale-while-revalidate=2678400");

/// Where the request arrived: decides links, redirects and whether `_redirects` applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin<'r> {
    /// `/ipfs/…` and `/ipns/…` URLs on a shared origin.
    Path,
    /// `<root>.<ns>.<gateway>`: `gateway` is the gateway's own host (port kept).
    Subdomain { gateway: &'r str },
    /// A host whose DNSLink names the content (port kept).
    DnsLink { host: &'r str },
}

impl Origin<'_> {
    /// Whether the content has an origin of its own (web hosting: `_redirects` applies).
    pub(super) fn is_isolated(&self) -> bool {
        !matches!(self, Origin::Path)
    }
}

/// What the request asked for beyond its root and path.
pub(super) struct Ask<'r> {
    /// The request path as written, for redirects and listing links.
    pub(super) url_path: &'r str,
    /// The content path (`/ipfs/<cid>/…`, `/ipns/<name>/…`) for `X-Ipfs-Path` and listings:
    /// the request path on a path gateway, rebuilt from the Host on the others.
    pub(super) content_path: &'r str,
    pub(super) query: Option<&'r str>,
    pub(super) headers: &'r HeaderMap,
    /// `None` for immutable `/ipfs` content; for `/ipns` the TTL the name resolved with, which
    /// replaces the immutable caching (boxo `contentCacheControl`, `dirListingCacheControl`).
    pub(super) ttl: Option<Duration>,
    pub(super) origin: Origin<'r>,
    pub(super) negotiated: Negotiated<'r>,
}

impl<'r> Ask<'r> {
    pub(super) fn new(
        url_path: &'r str,
        content_path: &'r str,
        query: Option<&'r str>,
        headers: &'r HeaderMap,
        origin: Origin<'r>,
    ) -> Result<Self, HttpError> {
        Ok(Ask {
            url_path,
            content_path,
            query,
            headers,
            ttl: None,
            origin,
            negotiated: format::negotiate(query, headers)?,
        })
    }

    pub(super) fn format(&self) -> Format {
        self.negotiated.format
    }

    /// `Cache-Control: only-if-cached` (path-gateway spec): answer only from local blocks.
    pub(super) fn only_if_cached(&self) -> bool {
        self.headers
            .get(header::CACHE_CONTROL)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"only-if-cached"))
    }
}

/// `X-Ipfs-Roots`: the CIDs the path went through, comma-joined.
pub(super) struct RootsList<'a>(pub(super) &'a [Cid]);

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

/// `304 Not Modified` carrying the validator and caching headers gathered so far (RFC 9110
/// §15.4.5: the 304 repeats what a 200 would say about caching).
pub(super) fn not_modified_response(text: HeaderText, mut headers: HeaderMap) -> Response {
    text.apply(&mut headers);
    with_status(StatusCode::NOT_MODIFIED, headers, Body::empty())
}

/// `301` to the same URL with a `/` after the path, query kept: directories and DAG previews
/// are pages whose relative links need it.
pub(super) fn redirect_to_trailing_slash(ask: &Ask<'_>, mut text: HeaderText) -> Response {
    match ask.query {
        Some(q) => text.set_fmt(header::LOCATION, format_args!("{}/?{q}", ask.url_path)),
        None => text.set_fmt(header::LOCATION, format_args!("{}/", ask.url_path)),
    }
    let mut headers = HeaderMap::with_capacity(8);
    text.apply(&mut headers);
    with_status(StatusCode::MOVED_PERMANENTLY, headers, Body::empty())
}

/// What is cached how (boxo `contentCacheControl`, `dirListingCacheControl`).
#[derive(Clone, Copy)]
pub(super) enum CacheKind {
    /// Content: immutable under `/ipfs`, the name's TTL under `/ipns`.
    Content,
    /// Generated pages (listings), which change between versions: a week, stale for a month.
    Generated,
}

/// `Cache-Control` for `ask`: nothing when an `/ipns` name's TTL is unknown (0).
pub(super) fn cache_control(
    ask: &Ask<'_>,
    kind: CacheKind,
    headers: &mut HeaderMap,
    text: &mut HeaderText,
) {
    match (ask.ttl.map(|ttl| ttl.as_secs()), kind) {
        (None, CacheKind::Content) => {
            headers.insert(header::CACHE_CONTROL, IMMUTABLE);
        }
        (None, CacheKind::Generated) => {
            headers.insert(header::CACHE_CONTROL, LISTING_CACHE);
        }
        (Some(0), _) => {}
        (Some(seconds), CacheKind::Content) => text.set_fmt(
            header::CACHE_CONTROL,
            format_args!("public, max-age={seconds}"),
        ),
        (Some(seconds), CacheKind::Generated) => text.set_fmt(
            header::CACHE_CONTROL,
            format_args!("public, max-age={seconds}, stale-while-revalidate=2678400"),
        ),
    }
}

/// `If-None-Match` evaluated against the representation's Etag (RFC 9110 §13.1.2).
pub(super) fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| conditional::if_none_match(v.as_bytes(), etag))
}

/// `inline; filename="<ascii>"; filename*=UTF-8''<escaped>` (RFC 6266 §4.3, RFC 8187), as
/// Kubo writes it: both forms escaped with Go's `url.PathEscape`, non-ASCII characters
/// replaced by `_` in the first; `attachment` when a download is asked for.
pub(super) fn content_disposition(filename: &str, download: bool) -> String {
    let kind = if download { "attachment" } else { "inline" };
    let ascii: String = filename
        .chars()
        .map(|c| if c.is_ascii() { c } else { '_' })
        .collect();
    format!(
        "{kind}; filename=\"{}\"; filename*=UTF-8''{}",
        path::escape_path_segment(&ascii),
        path::escape_path_segment(filename)
    )
}

pub(super) fn with_status(status: StatusCode, headers: HeaderMap, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}
