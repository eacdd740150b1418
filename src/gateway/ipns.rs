//! IPNS on the gateway port, served asynchronously (resolution may ask DNS):
//! - `GET`/`HEAD /ipns/<name>[/<path>]`: the name (IPNS name in any form, local key name or
//!   DNSLink domain) is resolved, then the content is served as `/ipfs` serves it, with
//!   `X-Ipfs-Path` the request path, `Ipfs-Hash` the resolved CID and `Cache-Control` from the
//!   TTL the name resolved with (path-gateway spec; boxo). A name in a form other than base36
//!   CIDv1 redirects (302) to that form, as boxo does. `?format=ipns-record` (or
//!   `Accept: application/vnd.ipfs.ipns-record`) answers the signed record itself (trustless
//!   gateway spec).
//! - The key API, `/ipns/localhost?key=NAME` (Agregore spec; cairn's choices in docs/gateway-api.md):
//!   GET 302 to `ipns://<k51…>[/<path>]`, POST 201 (creates the key, pointing at the empty
//!   directory), DELETE 200; missing `?key` 400, unknown key 404.
//! - `POST /ipns/<key>[/<path>]`: publish a content path (`/ipfs/<cid>[/p]`, `ipfs://<cid>[/p]`
//!   or `<cid>[/p]`) to a local key, or set it at `<path>` inside the name's current tree.
//!   `PUT`/`DELETE /ipns/<key>/<path>` edit that tree as `/ipfs` writes do. Content not here
//!   is fetched: the 200 comes once the whole DAG the name now points at is kept (pinned);
//!   content that cannot be had within the retrieval timeout is a 504 and the name is left
//!   as it was.
//! - Delegated Routing V1 (IPIP-337/379): `GET /routing/v1/ipns/<name>` answers the record as
//!   `application/vnd.ipfs.ipns-record`; `PUT` stores a valid record (400 for an invalid one,
//!   413 past the 10 KiB record limit).
//!
//! Statuses come from `HttpError` conversions of [`NameError`] in `http::error`.

use std::borrow::Cow;
use std::fmt::Display;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Request, StatusCode};
use sha2::{Digest, Sha256};
use smallvec::SmallVec;

use super::format::Format;
use super::path::{self, encode_segment, query_param};
use super::read;
use super::response::{self, Ask, Origin, IPFS_HASH};
use super::{Gateway, RequestBody};
use crate::http::header_text::HeaderText;
use crate::http::router::Route;
use crate::http::{Body, HttpError, Response};
use crate::ipld::cid::{to_v1, v1_text};
use crate::ipld::ipns::{IpnsName, MAX_RECORD_SIZE};
use crate::services::names::{ContentPath, NameError, NameService, Resolution, StoredRecord};

const X_IPNS_PATH: HeaderName = HeaderName::from_static("x-ipns-path");
/// IPNS record media type (IPNS spec; trustless gateway spec).
const IPNS_RECORD: &str = "application/vnd.ipfs.ipns-record";
/// Largest `POST /ipns` body: one content path.
const MAX_PATH_BODY: usize = 8 << 10;
/// The name under which Agregore reaches the key API (`ipns://localhost?key=NAME`).
pub(super) const KEY_API_NAME: &str = "localhost";
/// Bytes past a body limit still read (and dropped) so that the 413 reaches the client.
const MAX_DRAINED: usize = 64 << 10;
/// 9999-12-31T23:59:59Z, the last instant an HTTP date can express.
const LAST_HTTP_DATE: Duration = Duration::from_secs(253_402_300_799);

/// Answers a request the router sent to an `/ipns` or `/routing` route. Writes (the key
/// API's POST and DELETE, publishing, storing records) need a writable gateway.
pub(super) async fn handle<B: RequestBody>(
    gw: &Gateway,
    route: Route<'_>,
    request: Request<B>,
) -> Result<Response, HttpError> {
    let (parts, body) = request.into_parts();
    let names = gw.names.as_ref().ok_or_else(|| {
        HttpError::new(
            StatusCode::NOT_IMPLEMENTED,
            "IPNS is not enabled on this gateway",
        )
    })?;
    if matches!(
        route,
        Route::IpnsPost { .. }
            | Route::IpnsPut { .. }
            | Route::IpnsDelete { .. }
            | Route::RoutingIpnsPut { .. }
    ) {
        gw.check_writable()?;
    }
    match route {
        Route::IpnsRead { rest } => read_name(gw, names, &parts, rest).await,
        Route::IpnsPost { rest } => post(names, &parts, body, rest, gw.body_timeout).await,
        Route::IpnsDelete { rest } if first_segment(rest) == KEY_API_NAME => {
            delete_key(names, &parts).await
        }
        Route::IpnsPut { rest } => put(gw, names, &parts, body, rest).await,
        Route::IpnsDelete { rest } => delete(names, rest).await,
        Route::RoutingIpnsGet { name } => routing_get(names, &parts, name).await,
        Route::RoutingIpnsPut { name } => {
            routing_put(names, &parts, body, name, gw.body_timeout).await
        }
        // The gateway sends no other route here.
        _ => Err(HttpError::not_found(format!(
            "no such route: {} (names live under /ipns/<name>, records under \
             /routing/v1/ipns/<name>)",
            parts.uri.path()
        ))),
    }
}

fn first_segment(rest: &str) -> &str {
    rest.split_once('/').map_or(rest, |(first, _)| first)
}

// ---------------------------------------------------------------------------------------------
// GET/HEAD /ipns/<name>[/<path>]
// ---------------------------------------------------------------------------------------------

async fn read_name(
    gw: &Gateway,
    names: &Arc<NameService>,
    parts: &Parts,
    rest: &str,
) -> Result<Response, HttpError> {
    let (name_raw, sub_path) = rest.split_once('/').unwrap_or((rest, ""));
    if name_raw.is_empty() {
        if let Some(redirect) = read::protocol_handler_redirect(parts.uri.query()) {
            return redirect;
        }
        return Err(HttpError::bad_request(
            "no name in the path: expected /ipns/<name>[/<path>]",
        ));
    }
    let name = path::decode_segment(name_raw)?;
    let query = parts.uri.query();
    if name == KEY_API_NAME {
        return key_location(names, query, sub_path);
    }
    if let Ok(ipns_name) = IpnsName::parse(&name) {
        let canonical = ipns_name.to_base36();
        if canonical != name {
            return redirect_to_canonical(&canonical, rest.get(name_raw.len()..), query);
        }
    }
    let ask = Ask::new(
        parts.uri.path(),
        parts.uri.path(),
        query,
        &parts.headers,
        Origin::Path,
    )?;
    serve_name(gw, names, ask, &name, sub_path, None).await
}

/// Serves `/ipns/<name>/<sub_path>` (`sub_path` still percent-encoded) once `name` is
/// resolved (or with `resolved`, when the caller has just resolved it), on any origin;
/// `?format=ipns-record` answers the name's signed record instead.
pub(super) async fn serve_name(
    gw: &Gateway,
    names: &Arc<NameService>,
    mut ask: Ask<'_>,
    name: &str,
    sub_path: &str,
    resolved: Option<Resolution>,
) -> Result<Response, HttpError> {
    let segments = path::segments(sub_path)?;
    {
        let segments: SmallVec<[&str; 8]> = segments.iter().map(|s| &**s).collect();
        gw.check_ipns(name, &segments)?;
    }
    if ask.negotiated.format == Format::IpnsRecord {
        let ipns_name = IpnsName::parse(name).map_err(|_| {
            HttpError::bad_request(format!(
                "{name:?} is not an IPNS name, so it has no IPNS record"
            ))
        })?;
        return serve_record(names, &ipns_name, sub_path, ask.query, ask.headers).await;
    }
    let resolution = match resolved {
        Some(resolution) => resolution,
        None => names.resolve(name).await?,
    };
    let all: SmallVec<[&str; 8]> = resolution
        .segments
        .iter()
        .map(String::as_str)
        .chain(segments.iter().map(|s| &**s))
        .collect();
    ask.ttl = Some(resolution.ttl);
    read::serve_content(gw, &ask, resolution.root, &all).await
}

/// boxo: `/ipns/<peer ID or other encoding>` → 302 to the base36 CIDv1 form, path and query
/// kept, so names fit one DNS label and every URL of a name is the same.
fn redirect_to_canonical(
    canonical: &str,
    after_name: Option<&str>,
    query: Option<&str>,
) -> Result<Response, HttpError> {
    let mut location = format!("/ipns/{canonical}{}", after_name.unwrap_or(""));
    if let Some(query) = query {
        location.push('?');
        location.push_str(query);
    }
    let mut headers = HeaderMap::with_capacity(4);
    headers.insert(header::LOCATION, header_value(&location)?);
    Ok(response::with_status(
        StatusCode::FOUND,
        headers,
        Body::empty(),
    ))
}

/// The trustless gateway's `?format=ipns-record`: the signed record, as boxo serves it.
async fn serve_record(
    names: &NameService,
    name: &IpnsName,
    sub_path: &str,
    query: Option<&str>,
    request_headers: &HeaderMap,
) -> Result<Response, HttpError> {
    if !sub_path.trim_matches('/').is_empty() {
        return Err(HttpError::bad_request(
            "an IPNS record belongs to a name, not to a path below it",
        ));
    }
    let record = names.record(name).await?;
    let bytes = record.bytes();
    let etag = record_etag(&bytes);
    let mut headers = HeaderMap::with_capacity(12);
    let mut text = HeaderText::new();
    text.set(header::ETAG, &etag);
    // Before the 304 too, so that a revalidating cache renews its copy (RFC 9111 §4.3.4).
    let max_age = record.max_age(SystemTime::now()).as_secs();
    text.set_fmt(
        header::CACHE_CONTROL,
        format_args!("public, max-age={max_age}"),
    );
    if response::not_modified(request_headers, &etag) {
        return Ok(response::not_modified_response(text, headers));
    }
    let filename = match query_param(query, "filename") {
        Some(filename) if !filename.is_empty() => filename,
        _ => Cow::Owned(format!("{name}.ipns-record")),
    };
    text.set(
        header::CONTENT_DISPOSITION,
        &response::content_disposition(&filename, true),
    );
    text.set_u64(header::CONTENT_LENGTH, bytes.len() as u64);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(IPNS_RECORD));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    text.apply(&mut headers);
    Ok(response::with_status(
        StatusCode::OK,
        headers,
        Body::full(bytes),
    ))
}

/// A strong validator of the record bytes (boxo hashes them too; any collision-resistant
/// hash serves).
fn record_etag(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut etag = String::with_capacity(34);
    etag.push('"');
    for byte in &digest[..16] {
        etag.push_str(&format!("{byte:02x}"));
    }
    etag.push('"');
    etag
}

// ---------------------------------------------------------------------------------------------
// The key API: /ipns/localhost?key=NAME
// ---------------------------------------------------------------------------------------------

fn key_param(query: Option<&str>) -> Result<String, HttpError> {
    match query_param(query, "key") {
        Some(key) if !key.is_empty() => Ok(key.into_owned()),
        _ => Err(HttpError::bad_request(
            "missing ?key=NAME: the key API is /ipns/localhost?key=NAME",
        )),
    }
}

/// `GET /ipns/localhost[/<path>]?key=NAME`: 302 to the key's name.
fn key_location(
    names: &NameService,
    query: Option<&str>,
    sub_path: &str,
) -> Result<Response, HttpError> {
    let key = names.key(&key_param(query)?)?;
    let mut location = format!("ipns://{}", key.ipns_name());
    if !sub_path.is_empty() {
        location.push('/');
        location.push_str(sub_path);
    }
    let mut headers = HeaderMap::with_capacity(4);
    headers.insert(header::LOCATION, header_value(&location)?);
    Ok(response::with_status(
        StatusCode::FOUND,
        headers,
        Body::empty(),
    ))
}

/// `POST /ipns/localhost?key=NAME`: 201; a new key is published pointing at the empty
/// directory, an existing one is left as it is.
async fn create_key(names: &Arc<NameService>, query: Option<&str>) -> Result<Response, HttpError> {
    let key_name = key_param(query)?;
    let service = Arc::clone(names);
    let key = blocking(move || service.create_key(&key_name)).await?;
    let mut headers = HeaderMap::with_capacity(4);
    headers.insert(
        header::LOCATION,
        header_value(&format!("ipns://{}/", key.ipns_name()))?,
    );
    Ok(response::with_status(
        StatusCode::CREATED,
        headers,
        Body::empty(),
    ))
}

/// `DELETE /ipns/localhost?key=NAME`: 200; the key, its record and its pin are gone.
async fn delete_key(names: &Arc<NameService>, parts: &Parts) -> Result<Response, HttpError> {
    let key_name = key_param(parts.uri.query())?;
    let service = Arc::clone(names);
    blocking(move || service.delete_key(&key_name)).await?;
    Ok(response::with_status(
        StatusCode::OK,
        HeaderMap::new(),
        Body::empty(),
    ))
}

// ---------------------------------------------------------------------------------------------
// POST /ipns/<key>[/<path>]
// ---------------------------------------------------------------------------------------------

async fn post<B>(
    names: &Arc<NameService>,
    parts: &Parts,
    body: B,
    rest: &str,
    stall: Option<std::time::Duration>,
) -> Result<Response, HttpError>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin,
    B::Error: Display,
{
    let key_raw = first_segment(rest);
    if !key_raw.is_empty() && path::decode_segment(key_raw)? == KEY_API_NAME {
        return create_key(names, parts.uri.query()).await;
    }
    let (key_ref, key_text, at) = key_and_path(rest)?;
    let body = read_body(
        body,
        &parts.headers,
        MAX_PATH_BODY,
        "the content path",
        stall,
    )
    .await?;
    let target = parse_target(&body)?;
    let published = names.publish(&key_ref, &target, &at).await?;
    let at: Vec<&str> = at.iter().map(String::as_str).collect();
    let headers = ipns_path_headers(&key_text, &at, false, &published.root);
    Ok(response::with_status(
        StatusCode::OK,
        headers,
        Body::empty(),
    ))
}

/// The key and the decoded path of `/ipns/<key>[/<path>]`, with the key as headers name it
/// (an IPNS name in base36, a key name as written).
fn key_and_path(rest: &str) -> Result<(String, String, Vec<String>), HttpError> {
    let (key_raw, sub_path) = rest.split_once('/').unwrap_or((rest, ""));
    if key_raw.is_empty() {
        return Err(HttpError::bad_request(
            "no key in the path: expected /ipns/<key>[/<path>]",
        ));
    }
    let key_ref = path::decode_segment(key_raw)?.into_owned();
    let key_text = match IpnsName::parse(&key_ref) {
        Ok(name) => name.to_base36(),
        Err(_) => encode_segment(&key_ref).into_owned(),
    };
    let at: Vec<String> = path::segments(sub_path)?
        .into_iter()
        .map(Cow::into_owned)
        .collect();
    Ok((key_ref, key_text, at))
}

fn ipns_path_headers(
    key_text: &str,
    at: &[&str],
    trailing_slash: bool,
    root: &cid::Cid,
) -> HeaderMap {
    let mut path_text = String::new();
    for segment in at {
        if !path_text.is_empty() {
            path_text.push('/');
        }
        path_text.push_str(&encode_segment(segment));
    }
    if trailing_slash && !path_text.is_empty() {
        path_text.push('/');
    }
    let mut headers = HeaderMap::with_capacity(6);
    let mut text = HeaderText::new();
    if path_text.is_empty() {
        text.set_fmt(X_IPNS_PATH, format_args!("/ipns/{key_text}"));
    } else {
        text.set_fmt(X_IPNS_PATH, format_args!("/ipns/{key_text}/{path_text}"));
    }
    text.set_fmt(
        header::LOCATION,
        format_args!("ipns://{key_text}/{path_text}"),
    );
    text.set(IPFS_HASH, v1_text(root).as_str());
    text.apply(&mut headers);
    headers
}

/// `PUT /ipns/<key>[/<path>]`: like `PUT /ipfs`, into the tree the name points at; the new
/// root is published (pinned, the previous one unpinned).
async fn put<B>(
    gw: &Gateway,
    names: &Arc<NameService>,
    parts: &Parts,
    body: B,
    rest: &str,
) -> Result<Response, HttpError>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin,
    B::Error: Display,
{
    let (key_ref, key_text, at) = key_and_path(rest)?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let form = crate::http::upload::is_form(content_type);
    if at.is_empty() && !form {
        return Err(HttpError::bad_request(
            "PUT of a plain body needs a path to write the file to: /ipns/<key>/<path>",
        ));
    }
    let length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let uploaded = crate::http::upload::upload(
        Arc::clone(&gw.store),
        body,
        content_type,
        length,
        super::write::upload_options(gw, crate::http::server::client_ip(&parts.extensions)),
    )
    .await?;
    let added = uploaded.added;
    let target = at.clone();
    let published = names
        .update_tree(&key_ref, move |tree, current| {
            let at: Vec<&str> = target.iter().map(String::as_str).collect();
            Ok(super::write::apply_upload(tree, &current, &at, &added, form)?.cid)
        })
        .await?;
    drop(uploaded.lease);
    let at: Vec<&str> = at.iter().map(String::as_str).collect();
    let headers = ipns_path_headers(&key_text, &at, form, &published.root);
    Ok(response::with_status(
        StatusCode::OK,
        headers,
        Body::empty(),
    ))
}

/// `DELETE /ipns/<key>/<path>`: removes the path from the name's tree and publishes the
/// result. `X-Ipns-Path` names the directory that held it.
async fn delete(names: &Arc<NameService>, rest: &str) -> Result<Response, HttpError> {
    let (key_ref, key_text, at) = key_and_path(rest)?;
    if at.is_empty() {
        return Err(HttpError::bad_request(
            "DELETE needs a path inside the name: /ipns/<key>/<path> (DELETE \
             /ipns/localhost?key=<name> removes a key)",
        ));
    }
    let target = at.clone();
    let published = names
        .update_tree(&key_ref, move |tree, current| {
            let at: Vec<&str> = target.iter().map(String::as_str).collect();
            let params = super::write::params();
            Ok(crate::services::edit::remove_at(tree, &current, &at, &params)?.cid)
        })
        .await?;
    let parent: Vec<&str> = at[..at.len() - 1].iter().map(String::as_str).collect();
    let headers = ipns_path_headers(&key_text, &parent, true, &published.root);
    Ok(response::with_status(
        StatusCode::OK,
        headers,
        Body::empty(),
    ))
}

/// Reads a `POST /ipns` body: `/ipfs/<cid>[/<path>]`, `ipfs://<cid>[/<path>]` or a naked
/// `<cid>[/<path>]`, surrounding whitespace ignored; path segments percent-decoded.
fn parse_target(body: &[u8]) -> Result<ContentPath, HttpError> {
    let usage = "expected /ipfs/<cid>[/path], ipfs://<cid>[/path] or <cid>[/path]";
    let text = std::str::from_utf8(body)
        .map_err(|_| HttpError::bad_request(format!("the body is not UTF-8: {usage}")))?
        .trim();
    if text.is_empty() {
        return Err(HttpError::bad_request(format!(
            "the body is empty: {usage}"
        )));
    }
    let rest = if let Some(url) = strip_prefix_ignore_case(text, "ipfs://") {
        url.split(['?', '#']).next().unwrap_or("")
    } else if let Some(path) = text.strip_prefix("/ipfs/") {
        path
    } else if text.starts_with("/ipns/") || strip_prefix_ignore_case(text, "ipns://").is_some() {
        return Err(HttpError::bad_request(format!(
            "an IPNS path cannot be published to a name: {usage}"
        )));
    } else if text.starts_with('/') || text.contains("://") {
        return Err(HttpError::bad_request(format!(
            "{:?} is not a content path: {usage}",
            text.chars().take(128).collect::<String>()
        )));
    } else {
        text
    };
    let (cid_text, sub_path) = rest.split_once('/').unwrap_or((rest, ""));
    if cid_text.is_empty() {
        return Err(HttpError::bad_request(format!(
            "no CID in the body: {usage}"
        )));
    }
    let root = crate::ipld::cid::parse(&path::decode_segment(cid_text)?)?;
    let segments = path::segments(sub_path)?
        .into_iter()
        .map(Cow::into_owned)
        .collect();
    Ok(ContentPath {
        root: to_v1(&root),
        segments,
    })
}

fn strip_prefix_ignore_case<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

// ---------------------------------------------------------------------------------------------
// Delegated Routing V1: /routing/v1/ipns/<name>
// ---------------------------------------------------------------------------------------------

fn routing_name(raw: &str) -> Result<IpnsName, HttpError> {
    let text = path::decode_segment(raw)?;
    IpnsName::parse(&text)
        .map_err(|e| HttpError::bad_request(format!("{text:?} is not an IPNS name: {e}")))
}

/// `GET /routing/v1/ipns/<name>`: the record, with caching bounded by its EOL (boxo's
/// routing server).
async fn routing_get(
    names: &NameService,
    parts: &Parts,
    name_raw: &str,
) -> Result<Response, HttpError> {
    let accept = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !(accept.is_empty() || accept.contains("*/*") || accept.contains(IPNS_RECORD)) {
        return Err(HttpError::new(
            StatusCode::NOT_ACCEPTABLE,
            format!("IPNS records are only served as {IPNS_RECORD}"),
        ));
    }
    let name = routing_name(name_raw)?;
    let record = match names.record(&name).await {
        Ok(record) => record,
        Err(NameError::NoRecord(message)) => return Err(HttpError::not_found(message)),
        Err(e) => return Err(e.into()),
    };
    let bytes = record.bytes();
    let mut headers = HeaderMap::with_capacity(12);
    let mut text = HeaderText::new();
    set_routing_cache_headers(&mut text, &record, SystemTime::now());
    text.set(header::ETAG, &record_etag(&bytes));
    text.set(
        header::LAST_MODIFIED,
        &httpdate::fmt_http_date(SystemTime::now()),
    );
    text.set_fmt(
        header::CONTENT_DISPOSITION,
        format_args!("attachment; filename=\"{name}.ipns-record\""),
    );
    text.set_u64(header::CONTENT_LENGTH, bytes.len() as u64);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(IPNS_RECORD));
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    text.apply(&mut headers);
    Ok(response::with_status(
        StatusCode::OK,
        headers,
        Body::full(bytes),
    ))
}

/// `Cache-Control` and `Expires` for a record: fresh for its TTL, stale-servable until its
/// EOL, never past it (boxo `setIPNSCacheControl`).
fn set_routing_cache_headers(text: &mut HeaderText, record: &StoredRecord, now: SystemTime) {
    let remaining = record
        .eol()
        .duration_since(now)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    if remaining == 0 {
        text.set(header::CACHE_CONTROL, "no-store");
    } else {
        let max_age = record.ttl().as_secs().min(remaining);
        let stale = remaining - max_age;
        text.set_fmt(
            header::CACHE_CONTROL,
            format_args!(
                "public, max-age={max_age}, stale-while-revalidate={stale}, stale-if-error={stale}"
            ),
        );
    }
    // HTTP dates end at year 9999; a later EOL is left without Expires.
    let eol = record.eol();
    if eol < SystemTime::UNIX_EPOCH + LAST_HTTP_DATE {
        text.set(header::EXPIRES, &httpdate::fmt_http_date(eol));
    }
}

/// `PUT /routing/v1/ipns/<name>`: verify and store (400 for a record that fails
/// verification, 413 over the IPNS spec's 10 KiB record limit).
async fn routing_put<B>(
    names: &Arc<NameService>,
    parts: &Parts,
    body: B,
    name_raw: &str,
    stall: Option<std::time::Duration>,
) -> Result<Response, HttpError>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin,
    B::Error: Display,
{
    let name = routing_name(name_raw)?;
    let raw = read_body(
        body,
        &parts.headers,
        MAX_RECORD_SIZE,
        "an IPNS record",
        stall,
    )
    .await?;
    let service = Arc::clone(names);
    blocking(move || service.put_record(&name, raw)).await?;
    Ok(response::with_status(
        StatusCode::OK,
        HeaderMap::new(),
        Body::empty(),
    ))
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Reads a request body of at most `limit` bytes (413 past it), each wait for more at most
/// `stall` (408 past it). A body a little over the limit is read to its end and dropped before
/// answering, so the client is not reset (TCP RST on close with unread data) before it reads
/// the 413; a much larger one is refused unread.
async fn read_body<B>(
    mut body: B,
    headers: &HeaderMap,
    limit: usize,
    what: &str,
    stall: Option<std::time::Duration>,
) -> Result<Bytes, HttpError>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin,
    B::Error: Display,
{
    let too_large = || {
        HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("{what} may be at most {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let drain_limit = limit.saturating_add(MAX_DRAINED);
    if declared.is_some_and(|len| len > drain_limit as u64) {
        return Err(too_large());
    }
    let mut buf = BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = crate::http::upload::next_frame(&mut body, stall).await? {
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len());
            if seen <= limit {
                buf.extend_from_slice(&data);
            } else if seen > drain_limit {
                break;
            }
        }
    }
    if seen > limit {
        return Err(too_large());
    }
    Ok(buf.freeze())
}

/// Runs a name-store operation (file writes and fsyncs) off the async workers.
async fn blocking<T: Send + 'static>(
    operation: impl FnOnce() -> Result<T, NameError> + Send + 'static,
) -> Result<T, HttpError> {
    tokio::task::spawn_blocking(operation)
        .await
        .map_err(|e| {
            HttpError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the IPNS operation failed: {e}"),
            )
        })?
        .map_err(HttpError::from)
}

fn header_value(text: &str) -> Result<HeaderValue, HttpError> {
    HeaderValue::from_str(text)
        .map_err(|_| HttpError::bad_request("the path holds characters a header cannot carry"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: &str = "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354";

    #[test]
    fn the_key_api_is_the_first_segment() {
        assert_eq!(first_segment("localhost/a/b"), "localhost");
        assert_eq!(first_segment("localhost"), "localhost");
    }

    #[test]
    fn publish_bodies_in_every_accepted_form() {
        let v0 = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn";
        let forms = [
            format!("/ipfs/{DIR}/a/b"),
            format!("ipfs://{DIR}/a/b"),
            format!("IPFS://{DIR}/a/b?query#fragment"),
            format!("{DIR}/a/b"),
            format!("  \n{v0}/a//b/\t\n"),
            format!("/ipfs/{DIR}/a/x/../b"),
        ];
        for form in &forms {
            let path = parse_target(form.as_bytes()).unwrap_or_else(|e| panic!("{form}: {e:?}"));
            assert_eq!(path.to_string(), format!("/ipfs/{DIR}/a/b"), "{form}");
        }
        let decoded = parse_target(format!("/ipfs/{DIR}/Screen%20Shot.png").as_bytes()).unwrap();
        assert_eq!(decoded.segments, ["Screen Shot.png"]);
        for bad in [
            "".to_owned(),
            "   ".to_owned(),
            "/ipns/k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8".to_owned(),
            "ipns://example.com".to_owned(),
            "/ipfs/".to_owned(),
            "/ipfs/notacid".to_owned(),
            "https://example.com/ipfs/x".to_owned(),
            "/other/x".to_owned(),
            format!("/ipfs/{DIR}/a%2Fb"),
        ] {
            let err = parse_target(bad.as_bytes()).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST, "{bad:?}");
        }
        assert_eq!(
            parse_target(b"\xff\xfe").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn key_parameter_is_required() {
        assert_eq!(key_param(Some("key=my+site")).unwrap(), "my site");
        for query in [None, Some(""), Some("key="), Some("other=1")] {
            assert_eq!(
                key_param(query).unwrap_err().status,
                StatusCode::BAD_REQUEST,
                "{query:?}"
            );
        }
    }

    #[test]
    fn record_etags_are_stable_and_distinct() {
        assert_eq!(record_etag(b"a"), record_etag(b"a"));
        assert_ne!(record_etag(b"a"), record_etag(b"b"));
        let etag = record_etag(b"a");
        assert_eq!(etag.len(), 34);
        assert!(etag.starts_with('"') && etag.ends_with('"'));
    }

    #[test]
    fn canonical_redirect_keeps_path_and_query() {
        let response = redirect_to_canonical("k51x", Some("/root2/"), Some("a=1")).unwrap();
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(
            response.headers()[header::LOCATION],
            "/ipns/k51x/root2/?a=1"
        );
        let bare = redirect_to_canonical("k51x", Some(""), None).unwrap();
        assert_eq!(bare.headers()[header::LOCATION], "/ipns/k51x");
    }

    #[tokio::test]
    async fn bodies_past_the_limit_are_refused() {
        let small = http_body_util::Full::new(Bytes::from_static(b"12345"));
        let headers = HeaderMap::new();
        assert_eq!(
            read_body(small, &headers, 5, "x", None).await.unwrap(),
            Bytes::from_static(b"12345")
        );
        let big = http_body_util::Full::new(Bytes::from_static(b"123456"));
        let err = read_body(big, &headers, 5, "x", None).await.unwrap_err();
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
        // A declared length far over the limit is refused before reading.
        let mut declared = HeaderMap::new();
        let far = (5 + MAX_DRAINED + 1).to_string();
        declared.insert(header::CONTENT_LENGTH, HeaderValue::from_str(&far).unwrap());
        let empty = http_body_util::Full::new(Bytes::new());
        let err = read_body(empty, &declared, 5, "x", None).await.unwrap_err();
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
