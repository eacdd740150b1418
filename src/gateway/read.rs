//! `GET`/`HEAD` of content: resolve the path, then answer in the negotiated format
//! ([`super::format`]): a UnixFS file (with Range, ETag and content-type rules), a symlink, a
//! directory (redirect to the trailing slash, `index.html`, or a JSON/HTML listing), a JSON or
//! CBOR block as itself (or an HTML preview for browsers), a raw block, a CAR or a TAR.
//!
//! The same code serves `/ipfs/<cid>/…` on the path gateway, `/ipns/<name>/…` once the name is
//! resolved, and both behind subdomain and DNSLink hosts ([`Origin`]); only links, redirects
//! and `_redirects` handling differ between origins.
//!
//! Header rules follow the Agregore spec (`Ipfs-Hash`, CIDv1 everywhere) and Kubo's path
//! gateway (`X-Ipfs-Path`, `X-Ipfs-Roots`, `Etag` per format, `Cache-Control`,
//! `Content-Disposition`, `Content-Location`, `X-Content-Type-Options`).

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use cid::Cid;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, StatusCode};
use smallvec::SmallVec;

use super::format::{self, Format};
use super::path::{self, query_param};
use super::response::{
    cache_control, content_disposition, not_modified, not_modified_response,
    redirect_to_trailing_slash, with_status, Ask, CacheKind, Origin, RootsList, IPFS_HASH,
    X_IPFS_PATH, X_IPFS_ROOTS,
};
use super::{listing, Gateway, ListingDefault};
use crate::http::body::Segment;
use crate::http::header_text::HeaderText;
use crate::http::range::{self, RangePlan, RangeRequest};
use crate::http::{compress, conditional, content_type, Body, HttpError, Response};
use crate::ipld::cid::{codec, v1_text};
use crate::ipld::dag_scope::{DagScope, EntityBytes};
use crate::services::file::FileStream;
use crate::services::redirects::{self, RedirectKind};
use crate::services::resolve::{self, FileRoot, Node, Resolved};
use crate::services::retrieval::Walk;
use crate::services::{dir, Error};
use crate::store::SharedSource;

const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");

/// Bytes looked at to sniff a content type (Go's 512-byte window, and the wider one JSON
/// detection needs).
const SNIFF_LEN: u64 = content_type::JSON_WINDOW as u64;

/// `GET`/`HEAD /ipfs/<cid>[/<path>]` on the path gateway.
pub(super) async fn ipfs<B>(
    gw: &Gateway,
    request: &Request<B>,
    rest: &str,
) -> Result<Response, HttpError> {
    let uri = request.uri();
    if rest.is_empty() {
        if let Some(redirect) = protocol_handler_redirect(uri.query()) {
            return redirect;
        }
    }
    let ask = Ask::new(
        uri.path(),
        uri.path(),
        uri.query(),
        request.headers(),
        Origin::Path,
    )?;
    serve_ipfs(gw, &ask, rest).await
}

/// `/ipfs/?uri=ipfs://<cid>/<path>` (and `/ipns/?uri=ipns://…`): the URL a browser builds
/// for a handler registered with `navigator.registerProtocolHandler` → 301 to the content path
/// (path-gateway spec; boxo `handleProtocolHandlerRedirect`). `None` without `?uri=`.
pub(super) fn protocol_handler_redirect(
    query: Option<&str>,
) -> Option<Result<Response, HttpError>> {
    let uri = query_param(query, "uri")?;
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Some(Err(HttpError::bad_request(
            "failed to parse the uri query parameter: expected ipfs://… or ipns://…",
        )));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "ipfs" && scheme != "ipns" {
        return Some(Err(HttpError::bad_request(
            "the uri query parameter's scheme must be ipfs or ipns",
        )));
    }
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let (rest, inner_query) = match rest.split_once('?') {
        Some((rest, q)) => (rest, Some(q)),
        None => (rest, None),
    };
    let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
    let mut location = String::with_capacity(uri.len() + 8);
    for segment in [scheme.as_str(), host]
        .into_iter()
        .chain(path.split('/'))
        .filter(|s| !s.is_empty() && *s != ".")
    {
        location.push('/');
        location.push_str(segment);
    }
    if let Some(q) = inner_query {
        location.push('?');
        location.push_str(&path::escape_path(q).replace('?', "%3F"));
    }
    let mut headers = HeaderMap::with_capacity(2);
    match HeaderValue::from_str(&location) {
        Ok(value) => headers.insert(header::LOCATION, value),
        Err(_) => {
            return Some(Err(HttpError::bad_request(
                "the uri query parameter holds characters a header cannot carry",
            )))
        }
    };
    Some(Ok(with_status(
        StatusCode::MOVED_PERMANENTLY,
        headers,
        Body::empty(),
    )))
}

/// Serves `rest` (`<cid>[/<path>]`, still percent-encoded) of the `/ipfs` namespace.
pub(super) async fn serve_ipfs(
    gw: &Gateway,
    ask: &Ask<'_>,
    rest: &str,
) -> Result<Response, HttpError> {
    let (cid_text, sub_path) = rest.split_once('/').unwrap_or((rest, ""));
    if cid_text.is_empty() {
        return Err(HttpError::bad_request(
            "no CID in the path: expected /ipfs/<cid>[/<path>]",
        ));
    }
    if ask.origin == Origin::Path && matches!(cid_text, "ipfs" | "ipns") && !sub_path.is_empty() {
        // `/ipfs/ipfs/<cid>`, `/ipfs/ipns/<name>`: a namespace written twice (boxo
        // `handleSuperfluousNamespace`) is sent to the path meant.
        let mut location = format!("/{rest}");
        if let Some(query) = ask.query {
            location.push('?');
            location.push_str(query);
        }
        let mut text = HeaderText::new();
        text.set(header::LOCATION, &location);
        let mut headers = HeaderMap::with_capacity(4);
        text.apply(&mut headers);
        return Ok(with_status(
            StatusCode::MOVED_PERMANENTLY,
            headers,
            Body::empty(),
        ));
    }
    let root = crate::ipld::cid::parse(&path::decode_segment(cid_text)?)
        .map_err(|e| HttpError::bad_request(format!("invalid path {:?}: {e}", ask.content_path)))?;
    let segments = path::segments(sub_path)?;
    let segments: SmallVec<[&str; 8]> = segments.iter().map(|s| &**s).collect();
    serve_content(gw, ask, root, &segments).await
}

/// The walk a request is about to make, in trustless-gateway terms, so a source that fetches
/// whole sub-DAGs can fetch just that: a CAR's own `dag-scope` and `entity-bytes`; a TAR, the
/// whole DAG; a raw block, one block; anything else, the entity at the path — for a file, the
/// bytes of a single `Range` when there is one.
fn walk_of(ask: &Ask<'_>, root: Cid, segments: &[&str]) -> Walk {
    let (scope, bytes) = match ask.format() {
        Format::Car => (
            query_param(ask.query, "dag-scope")
                .and_then(|s| DagScope::parse(&s))
                .unwrap_or_default(),
            query_param(ask.query, "entity-bytes").and_then(|b| EntityBytes::parse(&b).ok()),
        ),
        Format::Tar => (DagScope::All, None),
        Format::Raw => (DagScope::Block, None),
        _ => (
            DagScope::Entity,
            ask.headers.get(header::RANGE).and_then(single_range),
        ),
    };
    Walk {
        root,
        path: segments.iter().map(|s| (*s).to_owned()).collect(),
        scope,
        bytes,
    }
}

/// A `Range` of a single range-spec as entity bytes; several ranges, another unit or a
/// malformed header select the whole entity.
fn single_range(header: &HeaderValue) -> Option<EntityBytes> {
    let range::RangeRequest::Bytes(set) = range::parse_range(header.as_bytes()).ok()? else {
        return None;
    };
    if set.len() != 1 {
        return None;
    }
    let signed = |n: u64| i64::try_from(n).ok();
    match set.specs().next()? {
        range::RangeSpec::FromTo(first, last) => Some(EntityBytes {
            from: signed(first)?,
            to: Some(signed(last)?),
        }),
        range::RangeSpec::From(first) => Some(EntityBytes {
            from: signed(first)?,
            to: None,
        }),
        range::RangeSpec::Suffix(0) => None,
        range::RangeSpec::Suffix(n) => Some(EntityBytes {
            from: -signed(n)?,
            to: None,
        }),
    }
}

/// Serves the content `segments` name below `root`, in the negotiated format.
pub(super) async fn serve_content(
    gw: &Gateway,
    ask: &Ask<'_>,
    root: Cid,
    segments: &[&str],
) -> Result<Response, HttpError> {
    gw.check_ipfs(&root, segments)?;
    if ask.only_if_cached() && resolve::resolve(&*gw.store, root, segments).await.is_err() {
        // Nothing is fetched from elsewhere: what does not resolve locally is not cached.
        return Err(HttpError::new(
            StatusCode::PRECONDITION_FAILED,
            format!("{:?} is not in the local block store", ask.content_path),
        ));
    }
    // Only a source that streams walks is told of them: no walk is built for the others.
    if let Some(retrieval) = gw.retrieval.as_ref().filter(|r| r.streams_walks()) {
        retrieval.expect(walk_of(ask, root, segments));
    }
    let mut response =
        match ask.format() {
            Format::Car => Box::pin(super::export::car(gw, ask, root, segments)).await?,
            Format::Tar => Box::pin(super::export::tar(gw, ask, root, segments)).await?,
            Format::IpnsRecord => return Err(HttpError::bad_request(
                "format=ipns-record is only for /ipns/<name> (an IPNS record belongs to a name)",
            )),
            _ if is_empty_identity_probe(ask, &root, segments) => {
                serve_resolved(gw, ask, empty_identity_block(root), None).await?
            }
            _ => match resolve::resolve(&*gw.blocks, root, segments).await {
                Ok(resolved) => serve_resolved(gw, ask, resolved, segments.last().copied()).await?,
                Err(Error::NotFound(why))
                    if ask.origin.is_isolated() && ask.format() == Format::Default =>
                {
                    Box::pin(redirects_fallback(gw, ask, root, segments, why)).await?
                }
                Err(e) => return Err(e.into()),
            },
        };
    if let Some(location) = format::content_location(ask.url_path, ask.query, &ask.negotiated) {
        if let Ok(value) = HeaderValue::from_str(&location) {
            response
                .headers_mut()
                .insert(header::CONTENT_LOCATION, value);
        }
    }
    Ok(response)
}

/// The empty block addressed by an identity multihash (CIDv1, raw, zero-length digest): the
/// trustless gateway spec's probe ("Dedicated Probe Paths"), which boxo's HTTP block client
/// sends as `GET`/`HEAD /ipfs/bafkqaaa?format=raw` and a failed answer to which drops the
/// provider.
const EMPTY_IDENTITY: [u8; 4] = [0x01, 0x55, 0x00, 0x00];

/// Whether the request is that probe, answered without the block source (boxo
/// `isEmptyIdentityProbe`): 200 with an empty body even when no source could serve it.
fn is_empty_identity_probe(ask: &Ask<'_>, root: &Cid, segments: &[&str]) -> bool {
    segments.is_empty() && ask.format() == Format::Raw && root.to_bytes() == EMPTY_IDENTITY
}

/// The probe's block, as resolving it would give it.
fn empty_identity_block(root: Cid) -> Resolved {
    Resolved {
        cid: root,
        node: Node::File(FileRoot::Raw(Bytes::new())),
        roots: smallvec::smallvec![root],
    }
}

/// The bytes a response for `node` stands for, as boxo measures them against the operator's
/// size limits (from the block at hand, nothing more fetched): a file's size as its root
/// declares it, a directory's cumulative DAG size as its links record it, any other block's
/// length.
pub(super) fn entity_size(node: &Node) -> u64 {
    match node {
        Node::File(root) => root.size(),
        Node::Directory(dir) | Node::HamtDirectory(dir, _) => dir
            .links
            .iter()
            .fold(dir.encoded_len() as u64, |sum, link| {
                sum.saturating_add(link.tsize.unwrap_or(0))
            }),
        Node::Symlink(target) => target.len() as u64,
        Node::Other(_, bytes) => bytes.len() as u64,
    }
}

/// Whether `format` deserializes (boxo's default, `json` and `cbor` handler): what the
/// deserialized-response size limit concerns.
fn deserializes(format: Format) -> bool {
    matches!(format, Format::Default | Format::Json | Format::Cbor)
}

/// A path that names nothing, on a site with its own origin: the site's `_redirects` rules
/// decide (web-redirects-file spec; see [`redirects`] for the semantics), else the 404 stands.
pub(super) async fn redirects_fallback(
    gw: &Gateway,
    ask: &Ask<'_>,
    root: Cid,
    segments: &[&str],
    not_found: String,
) -> Result<Response, HttpError> {
    let Some(rules) = redirects::load(&gw.blocks, &root).await? else {
        return Err(HttpError::not_found(not_found));
    };
    let mut request_path = String::with_capacity(64);
    for segment in segments {
        request_path.push('/');
        request_path.push_str(segment);
    }
    let Some(redirect) = rules.find(&request_path) else {
        return Err(HttpError::not_found(not_found));
    };
    if redirect.kind() == RedirectKind::Redirect {
        let location = redirect.location(ask.query);
        let mut headers = HeaderMap::with_capacity(4);
        let value = HeaderValue::from_str(&location)
            .map_err(|_| HttpError::bad_request("the redirect target cannot be a header"))?;
        headers.insert(header::LOCATION, value);
        let status = StatusCode::from_u16(redirect.status).unwrap_or(StatusCode::MOVED_PERMANENTLY);
        return Ok(with_status(status, headers, Body::empty()));
    }
    // A rewrite (200) or an error page (404, 410, 451): the target is served as if asked for.
    let target = redirect
        .target_path()
        .ok_or_else(|| HttpError::not_found(not_found.clone()))?;
    let target_segments = path::segments(target.trim_start_matches('/'))?;
    let target_segments: SmallVec<[&str; 8]> = target_segments.iter().map(|s| &**s).collect();
    gw.check_ipfs(&root, &target_segments)?;
    let resolved = match resolve::resolve(&*gw.blocks, root, &target_segments).await {
        Ok(resolved) => resolved,
        Err(Error::NotFound(_)) => return Err(HttpError::not_found(not_found)),
        Err(e) => return Err(e.into()),
    };
    if redirect.kind() == RedirectKind::Rewrite {
        return serve_resolved(gw, ask, resolved, target_segments.last().copied()).await;
    }
    // An error page is not a success: preconditions and ranges do not apply to it (RFC 9110
    // §13.2.1, §14.2), and Kubo always sends the whole page, with the rule's status.
    let mut headers = ask.headers.clone();
    for name in [
        header::IF_NONE_MATCH,
        header::IF_MATCH,
        header::IF_MODIFIED_SINCE,
        header::IF_UNMODIFIED_SINCE,
        header::RANGE,
        header::IF_RANGE,
    ] {
        headers.remove(name);
    }
    let page_ask = Ask {
        url_path: ask.url_path,
        content_path: ask.content_path,
        query: ask.query,
        headers: &headers,
        ttl: ask.ttl,
        origin: ask.origin,
        negotiated: format::negotiate(None, &headers)?,
    };
    let mut response =
        serve_resolved(gw, &page_ask, resolved, target_segments.last().copied()).await?;
    if response.status() == StatusCode::OK {
        *response.status_mut() =
            StatusCode::from_u16(redirect.status).unwrap_or(StatusCode::NOT_FOUND);
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    }
    Ok(response)
}

/// Answers a resolved path in the negotiated format.
pub(super) async fn serve_resolved(
    gw: &Gateway,
    ask: &Ask<'_>,
    resolved: Resolved,
    name: Option<&str>,
) -> Result<Response, HttpError> {
    let Resolved { cid, node, roots } = resolved;
    if ask.format() != Format::Raw {
        gw.check_size(entity_size(&node), deserializes(ask.format()))?;
    }
    let mut text = HeaderText::new();
    text.set(X_IPFS_PATH, ask.content_path);
    text.set_fmt(X_IPFS_ROOTS, format_args!("{}", RootsList(&roots)));
    // Every file-like answer goes through one `serve_file` call, so the future holds one.
    let (root, rep) = match (ask.format(), node) {
        (Format::Raw, node) => {
            // The block is at hand for other codecs and raw leaves (a raw block is its file);
            // a dag-pb node was decoded, so its bytes are read again (from the cache).
            let block = match node {
                Node::Other(_, bytes) | Node::File(FileRoot::Raw(bytes)) => bytes,
                _ => crate::services::fetch(&*gw.blocks, &cid).await?,
            };
            gw.check_size(block.len() as u64, false)?;
            let rep = Representation {
                content_type: Some(Format::Raw.media_type()),
                etag_suffix: Some("raw"),
                disposition: Disposition::Always {
                    attachment: true,
                    default_name: Cow::Owned(format!("{}.bin", v1_text(&cid).as_str())),
                },
                nosniff: true,
            };
            (FileRoot::Raw(block), rep)
        }
        // Boxed: previews and listings are large futures every file request would carry.
        (_, Node::Other(block_codec, bytes)) if codec_media_type(block_codec).is_some() => {
            return Box::pin(serve_codec_block(gw, ask, cid, block_codec, bytes, text)).await;
        }
        (format @ (Format::DagJson | Format::DagCbor), node) => {
            return Err(codec_mismatch(format, node_codec(&node, &cid)));
        }
        (_, node @ (Node::Directory(_) | Node::HamtDirectory(..))) => {
            return Box::pin(serve_directory(gw, ask, cid, node, text)).await;
        }
        (_, Node::File(root)) => (root, Representation::unixfs()),
        (_, Node::Symlink(target)) => {
            let rep = Representation {
                content_type: Some("inode/symlink"),
                ..Representation::unixfs()
            };
            (FileRoot::Raw(target), rep)
        }
        (_, Node::Other(block_codec, bytes)) => {
            let rep = Representation {
                content_type: codec_content_type(block_codec),
                ..Representation::unixfs()
            };
            (FileRoot::Raw(bytes), rep)
        }
    };
    serve_file(gw, ask, cid, &root, name, text, &rep).await
}

fn node_codec(node: &Node, cid: &Cid) -> u64 {
    match node {
        Node::Other(c, _) => *c,
        _ => cid.codec(),
    }
}

/// IPIP-524: a gateway converts between codecs no more; asking for another one is a 406.
fn codec_mismatch(format: Format, block_codec: u64) -> HttpError {
    HttpError::new(
        StatusCode::NOT_ACCEPTABLE,
        format!(
            "format {:?} requested but the block has codec {}: codec conversion is not \
             supported, fetch the raw block with ?format=raw and convert it client-side",
            format.media_type(),
            codec_name(block_codec)
        ),
    )
}

fn codec_name(block_codec: u64) -> Cow<'static, str> {
    match codec::name(block_codec) {
        Some(name) => name.into(),
        None => format!("0x{block_codec:x}").into(),
    }
}

/// The media type a JSON or CBOR block is served as by default.
fn codec_media_type(block_codec: u64) -> Option<Format> {
    Some(match block_codec {
        codec::DAG_JSON => Format::DagJson,
        codec::DAG_CBOR => Format::DagCbor,
        codec::JSON => Format::Json,
        codec::CBOR => Format::Cbor,
        _ => return None,
    })
}

/// How a file-like body is labelled.
struct Representation {
    /// A fixed Content-Type (else by extension, then sniffed).
    content_type: Option<&'static str>,
    /// Appended to the CID in the Etag (`"<cid>.raw"`).
    etag_suffix: Option<&'static str>,
    disposition: Disposition,
    nosniff: bool,
}

impl Representation {
    /// A UnixFS file: `"<cid>"` whatever format was asked for (boxo's file handler computes
    /// its Etag without one).
    fn unixfs() -> Self {
        Representation {
            content_type: None,
            etag_suffix: None,
            disposition: Disposition::OnlyWithFilename,
            nosniff: false,
        }
    }
}

enum Disposition {
    /// `Content-Disposition` only for `?filename=` (inline, or attachment with `download`).
    OnlyWithFilename,
    /// Always: `?filename=` or `default_name`; `download=true` forces attachment.
    Always {
        attachment: bool,
        default_name: Cow<'static, str>,
    },
}

/// A JSON or CBOR block, served as its bytes (boxo `renderCodec`): as its codec's media type
/// by default or with the matching `json`/`cbor` plain type; an HTML preview for browsers
/// asking for a DAG codec without an explicit format; 406 for a conversion.
async fn serve_codec_block(
    gw: &Gateway,
    ask: &Ask<'_>,
    cid: Cid,
    block_codec: u64,
    bytes: Bytes,
    text: HeaderText,
) -> Result<Response, HttpError> {
    let native = codec_media_type(block_codec).unwrap_or(Format::Raw);
    let response_format = match ask.format() {
        Format::Default => native,
        Format::Json if matches!(block_codec, codec::JSON | codec::DAG_JSON) => Format::Json,
        Format::Cbor if matches!(block_codec, codec::CBOR | codec::DAG_CBOR) => Format::Cbor,
        format @ (Format::DagJson | Format::DagCbor) if format == native => format,
        format => return Err(codec_mismatch(format, block_codec)),
    };
    let download = query_param(ask.query, "download").is_some_and(|v| v == "true");
    let wants_html = ask
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if ask.format() == Format::Default
        && matches!(block_codec, codec::DAG_JSON | codec::DAG_CBOR)
        && wants_html
        && !download
    {
        return super::dag_html::serve(ask, cid, block_codec, &bytes, text);
    }
    let json = matches!(response_format, Format::Json | Format::DagJson);
    let extension = if json { "json" } else { "cbor" };
    let rep = Representation {
        content_type: Some(response_format.media_type()),
        etag_suffix: Some(response_format.etag_suffix()),
        disposition: Disposition::Always {
            // Browsers render JSON; CBOR is opaque bytes.
            attachment: !json,
            default_name: Cow::Owned(format!("{}.{extension}", v1_text(&cid).as_str())),
        },
        nosniff: true,
    };
    serve_file(gw, ask, cid, &FileRoot::Raw(bytes), None, text, &rep).await
}

/// The media type of a block of another codec served as its bytes (JSON and CBOR blocks go
/// through [`serve_codec_block`] instead).
fn codec_content_type(codec: u64) -> Option<&'static str> {
    (codec == codec::LIBP2P_KEY).then_some("application/vnd.ipfs.ipns-record")
}

pub(super) async fn serve_directory(
    gw: &Gateway,
    ask: &Ask<'_>,
    cid: Cid,
    node: Node,
    mut text: HeaderText,
) -> Result<Response, HttpError> {
    // A directory URL must end in '/' so relative links inside it work (agregore-browser
    // #193).
    if !ask.url_path.ends_with('/') {
        return Ok(redirect_to_trailing_slash(ask, text));
    }
    let mut headers = HeaderMap::with_capacity(16);
    if query_param(ask.query, "noResolve").is_none() {
        if let Some(index) = dir::lookup(&*gw.blocks, &node, "index.html").await? {
            if let Node::File(root) = resolve::Node::load(&*gw.blocks, &index).await? {
                // The page stands for the directory: Etag and Ipfs-Hash are the directory's.
                let rep = Representation::unixfs();
                return serve_file(gw, ask, cid, &root, Some("index.html"), text, &rep).await;
            }
        }
    }
    let dir_cid = v1_text(&cid);
    text.set(IPFS_HASH, dir_cid.as_str());
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    cache_control(ask, CacheKind::Generated, &mut headers, &mut text);
    let json = wants_json_listing(ask.headers, gw.listing_default);
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
        return Ok(not_modified_response(text, headers));
    }
    let entries = dir::list(&*gw.blocks, &node).await?;
    let (content_type, body) = if json {
        (
            "application/json",
            listing::json(&*gw.blocks, &entries).await?,
        )
    } else {
        let gateway_url = match ask.origin {
            Origin::Path => String::new(),
            Origin::Subdomain { gateway } => format!("//{gateway}"),
            Origin::DnsLink { host } => format!("//{host}"),
        };
        let page = listing::ListingPage {
            content_path: ask.content_path,
            url_path: ask.url_path,
            gateway_url: &gateway_url,
            dnslink: matches!(ask.origin, Origin::DnsLink { .. }),
            dir_cid: dir_cid.as_str(),
            dag_size: dir::dag_size(&node, &entries),
        };
        let kinds = listing::kinds(&*gw.blocks, &entries).await;
        ("text/html", listing::html(&page, &entries, &kinds)?)
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    text.set_u64(header::CONTENT_LENGTH, body.len() as u64);
    text.apply(&mut headers);
    let mut response = with_status(StatusCode::OK, headers, Body::full(body));
    compress::mark(&mut response);
    Ok(response)
}

/// JSON when Accept names application/json, HTML when it names anything else (the Agregore
/// spec); without Accept, what the operator chose (`--listing-without-accept`).
fn wants_json_listing(headers: &HeaderMap, default: ListingDefault) -> bool {
    match headers.get(header::ACCEPT) {
        None => default == ListingDefault::Json,
        Some(accept) => accept
            .to_str()
            .is_ok_and(|a| a.contains("application/json")),
    }
}

async fn serve_file(
    gw: &Gateway,
    ask: &Ask<'_>,
    cid: Cid,
    root: &FileRoot,
    name: Option<&str>,
    mut text: HeaderText,
    rep: &Representation,
) -> Result<Response, HttpError> {
    let mut headers = HeaderMap::with_capacity(16);
    let cid_text = v1_text(&cid);
    let mut etag_buf = [0u8; ETAG_CAPACITY];
    // The Agregore API writes CIDv1 everywhere; content origins follow Kubo, whose Etag is
    // the CID as the DAG links it (a CIDv0 stays `Qm…`).
    let linked;
    let etag_cid = if ask.origin.is_isolated() && cid.version() == cid::Version::V0 {
        linked = cid.to_string();
        linked.as_str()
    } else {
        cid_text.as_str()
    };
    let etag = quoted(etag_cid, rep.etag_suffix, &mut etag_buf);
    text.set(IPFS_HASH, cid_text.as_str());
    text.set(header::ETAG, etag);
    cache_control(ask, CacheKind::Content, &mut headers, &mut text);
    let last_modified = root.mtime().and_then(|t| {
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(t.seconds).ok()?))
    });
    if let Some(modified) = last_modified {
        text.set(header::LAST_MODIFIED, &httpdate::fmt_http_date(modified));
    }
    if not_modified(ask.headers, etag) || not_modified_since(ask.headers, last_modified) {
        return Ok(not_modified_response(text, headers));
    }
    let filename = query_param(ask.query, "filename").filter(|f| !f.is_empty());
    let download = query_param(ask.query, "download").is_some_and(|v| v == "true");
    match (&rep.disposition, &filename) {
        (Disposition::OnlyWithFilename, None) => {}
        (Disposition::OnlyWithFilename, Some(filename)) => text.set(
            header::CONTENT_DISPOSITION,
            &content_disposition(filename, download),
        ),
        (
            Disposition::Always {
                attachment,
                default_name,
            },
            _,
        ) => text.set(
            header::CONTENT_DISPOSITION,
            &content_disposition(
                filename.as_deref().unwrap_or(default_name),
                *attachment || download,
            ),
        ),
    }
    if rep.nosniff {
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, NOSNIFF);
    }
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));

    let size = root.size();
    if let Some(limit) = gw.max_range_file_size {
        if size > limit && ask.headers.contains_key(header::RANGE) {
            return Err(HttpError::new(
                StatusCode::NOT_IMPLEMENTED,
                format!(
                    "range requests are not supported for files larger than {limit} bytes: \
                     fetch verifiable blocks instead (application/vnd.ipld.raw)"
                ),
            ));
        }
    }
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
    let source = &gw.blocks;
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
            let content_type = match rep.content_type {
                Some(t) => t,
                None => match type_name.and_then(content_type::by_extension) {
                    Some(t) => trim_html(t),
                    // An empty file has nothing to sniff (boxo sends plain text).
                    None if size == 0 => "text/plain",
                    None => {
                        let head = read_prefix(source, root, &mut body, size).await?;
                        content_type::for_file(None, &head)
                    }
                },
            };
            let consumed = body.len();
            if consumed < size {
                body.push(Segment::File(Box::new(FileStream::new(
                    SharedSource::clone(source),
                    root,
                    consumed,
                    size - consumed,
                )?)));
            }
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            (StatusCode::OK, body)
        }
        RangePlan::Partial(ranges) => {
            let content_type = match rep.content_type {
                Some(t) => t,
                None => match type_name.and_then(content_type::by_extension) {
                    Some(t) => trim_html(t),
                    None => sniff_best_effort(source, root, size).await,
                },
            };
            if let [only] = ranges.as_slice() {
                let stream =
                    FileStream::new(SharedSource::clone(source), root, only.start, only.len())?;
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
                    body.push(Segment::File(Box::new(FileStream::new(
                        SharedSource::clone(source),
                        root,
                        part.range.start,
                        part.range.len(),
                    )?)));
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

/// Room for `"<cid>.<suffix>"` with the longest CID text.
const ETAG_CAPACITY: usize = 208;

/// `"<text>"` or `"<text>.<suffix>"`, written into `buf`.
fn quoted<'b>(text: &str, suffix: Option<&str>, buf: &'b mut [u8; ETAG_CAPACITY]) -> &'b str {
    let suffix = suffix.unwrap_or("");
    let dot = usize::from(!suffix.is_empty());
    let n = text.len().min(ETAG_CAPACITY - 3 - suffix.len());
    buf[0] = b'"';
    buf[1..1 + n].copy_from_slice(&text.as_bytes()[..n]);
    let mut end = 1 + n;
    if dot == 1 {
        buf[end] = b'.';
        buf[end + 1..end + 1 + suffix.len()].copy_from_slice(suffix.as_bytes());
        end += 1 + suffix.len();
    }
    buf[end] = b'"';
    std::str::from_utf8(&buf[..end + 1]).unwrap_or("\"\"")
}

/// `If-Modified-Since` at or after the file's UnixFS 1.5 mtime (RFC 9110 §13.1.3; boxo
/// `handleIfModifiedSince`), ignored when `If-None-Match` is present (the Etag decides then)
/// or the file records no mtime.
fn not_modified_since(headers: &HeaderMap, last_modified: Option<SystemTime>) -> bool {
    let Some(modified) = last_modified else {
        return false;
    };
    if headers.contains_key(header::IF_NONE_MATCH) {
        return false;
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| conditional::parse_http_date(v.as_bytes()))
        .is_some_and(|since| modified <= since)
}

/// Range applies unless an `If-Range` validator no longer matches (RFC 9110 §13.1.5).
fn range_applies(headers: &HeaderMap, etag: &str, last_modified: Option<SystemTime>) -> bool {
    match headers.get(header::IF_RANGE) {
        None => true,
        Some(v) => conditional::if_range(v.as_bytes(), etag, last_modified),
    }
}

/// Reads the file's first bytes for sniffing, moving them into `body` so they are not read
/// twice; returns them as one buffer (a copy only when they span several blocks).
async fn read_prefix(
    source: &SharedSource,
    root: &FileRoot,
    body: &mut Body,
    size: u64,
) -> Result<Bytes, HttpError> {
    let want = size.min(SNIFF_LEN);
    let mut stream = FileStream::new(SharedSource::clone(source), root, 0, want)?;
    let mut chunks: smallvec::SmallVec<[Bytes; 2]> = smallvec::SmallVec::new();
    while let Some(chunk) = stream.next_chunk().await {
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
async fn sniff_best_effort(source: &SharedSource, root: &FileRoot, size: u64) -> &'static str {
    let mut scratch = Body::empty();
    match read_prefix(source, root, &mut scratch, size).await {
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

fn value(text: &str) -> Result<HeaderValue, HttpError> {
    HeaderValue::from_str(text)
        .map_err(|_| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "bad header value"))
}
