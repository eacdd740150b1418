//! The writable gateway (Agregore spec): `POST /ipfs/` uploads a file or a form, `PUT
//! /ipfs/<cid>/<path>` writes into an existing tree, `DELETE /ipfs/<cid>/<path>` removes from
//! one and `DELETE /ipfs/<cid>` unpins. Uploads stream through the shared importer
//! (Kubo-identical CIDs, CIDv1 with raw leaves); only directories on the edited path are
//! rewritten. A 201 goes out after the new blocks are durable and, with `X-Ipfs-Pin`, the new
//! root pinned; until then the upload's write lease keeps garbage collection away.
//!
//! The tree a PUT or DELETE edits need not be here: the directories on the edited path are
//! fetched through the gateway's block source (`edit::fetching`), each within the retrieval
//! timeout, and only the rewritten directories are written. With `X-Ipfs-Pin` the new root
//! links to subtrees that may still be elsewhere, so the 201 waits until its whole DAG is
//! fetched and kept (see [`keep_and_pin`]).

use std::sync::Arc;

use http::header::{self, HeaderMap, HeaderName};
use http::{Request, StatusCode};

use super::listing::human_bytes;
use super::path::{self, encode_segment};
use super::response::{with_status, IPFS_HASH};
use super::{Gateway, RequestBody};
use crate::http::error::escape_html;
use crate::http::header_text::HeaderText;
use crate::http::upload::{self, FormNames, UploadOptions};
use crate::http::{compress, page as shell, Body, HttpError, Response};
use crate::ipld::cid::v1_text;
use crate::services::add::{Entry, ImportParams};
use crate::services::edit::{self, Tree};
use crate::services::pins::Pin;

const X_IPFS_PIN: HeaderName = HeaderName::from_static("x-ipfs-pin");

/// The settings every gateway write uses: Kubo's `ipfs add --cid-version=1`.
pub(super) fn params() -> ImportParams {
    ImportParams::cid_v1()
}

pub(super) fn upload_options(gw: &Gateway, client: Option<std::net::IpAddr>) -> UploadOptions {
    UploadOptions {
        params: params(),
        max_bytes: gw.max_upload,
        form_names: FormNames::Agregore,
        hidden: true,
        body_timeout: gw.body_timeout,
        slots: gw.uploads.clone(),
        client,
    }
}

fn content_type<B>(request: &Request<B>) -> Option<&str> {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

fn content_length<B>(request: &Request<B>) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

fn wants_pin<B>(request: &Request<B>) -> bool {
    request.headers().contains_key(X_IPFS_PIN)
}

/// Pins `root` when the client asked for it, for a DAG that is here in full (an upload just
/// written, or one [`keep_and_pin`] kept). A disk write: off the async workers.
async fn pin_if_asked(gw: &Gateway, asked: bool, root: &Entry) -> Result<(), HttpError> {
    if asked {
        let pins = Arc::clone(&gw.pins);
        let cid = root.cid;
        off_worker(move || Ok(pins.add(&Pin::recursive(&cid))?)).await?;
    }
    Ok(())
}

/// Pins the new root of an edit when the client asked for it. The edit fetched only the
/// directories on its path; the subtrees the new root links to may still be elsewhere. A 201
/// that promises a pin means the DAG is kept, so this waits — as `ipfs pin add` does — until
/// every block is fetched and kept, each within the retrieval timeout (the bound on any one
/// wait, as for a read's body); a block that cannot be had is a 504 and nothing is pinned.
/// A client that hangs up meanwhile does not stop the fetch (it runs as a pinning job), but
/// the pin is recorded only by a request that saw it complete. The caller's write lease keeps
/// GC off the new blocks throughout.
async fn keep_and_pin(gw: &Gateway, asked: bool, root: &Entry) -> Result<(), HttpError> {
    if asked {
        gw.pinning()
            .keep(root.cid, true)
            .await
            .map_err(|e| unavailable(format!("cannot pin {}", v1_text(&root.cid)), e))?;
        pin_if_asked(gw, true, root).await?;
    }
    Ok(())
}

/// An edit's failure; a block nobody could provide (504) says what it was needed for.
fn unavailable(context: impl std::fmt::Display, e: crate::services::Error) -> HttpError {
    let mut error = HttpError::from(e);
    if error.status == StatusCode::GATEWAY_TIMEOUT {
        error.message = format!("{context}: {}", error.message);
    }
    error
}

/// Runs `edit` on the tree under `root`, fetching through the gateway's source (within the
/// retrieval timeout) the blocks on its path that are not here; a block that cannot be had
/// is a 504 that names the edit.
async fn edit_tree<T, F>(gw: &Gateway, root: &cid::Cid, edit: F) -> Result<T, HttpError>
where
    F: Fn(&Tree<'_>) -> Result<T, crate::services::Error> + Send + Sync + 'static,
    T: Send + 'static,
{
    edit::fetching(&gw.store, &*gw.blocks, gw.retrieval_timeout, edit)
        .await
        .map_err(|e| unavailable(format_args!("cannot edit {}", v1_text(root)), e))
}

/// Runs store and pinset work (reads of the tree being edited, block writes, syncs) on a
/// blocking thread, so a slow disk never stalls the requests an async worker serves.
async fn off_worker<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, HttpError> + Send + 'static,
) -> Result<T, HttpError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        HttpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the write worker failed: {e}"),
        )
    })?
}

/// `201 Created` with `Location` and `Ipfs-Hash`.
fn created(status: StatusCode, root: &Entry, location: &str) -> Response {
    let mut text = HeaderText::new();
    text.set(header::LOCATION, location);
    text.set(IPFS_HASH, v1_text(&root.cid).as_str());
    let mut headers = HeaderMap::with_capacity(8);
    text.apply(&mut headers);
    with_status(status, headers, Body::empty())
}

/// Streams the request body through the importer with the gateway's settings.
async fn upload_body<B: RequestBody>(
    gw: &Gateway,
    request: Request<B>,
) -> Result<upload::Uploaded, HttpError> {
    let kind = content_type(&request).map(str::to_owned);
    let length = content_length(&request);
    let options = upload_options(gw, crate::http::server::client_ip(request.extensions()));
    upload::upload(
        Arc::clone(&gw.store),
        request.into_body(),
        kind.as_deref(),
        length,
        options,
    )
    .await
}

/// `POST /ipfs/`: a plain body becomes one file; a form, a new directory of its files.
pub(super) async fn post<B: RequestBody>(
    gw: &Gateway,
    request: Request<B>,
) -> Result<Response, HttpError> {
    let pin = wants_pin(&request);
    let html = accepts_html(&request);
    let uploaded = upload_body(gw, request).await?;
    pin_if_asked(gw, pin, &uploaded.root).await?;
    let cid = v1_text(&uploaded.root.cid);
    let location = if uploaded.form {
        format!("ipfs://{cid}/")
    } else {
        format!("ipfs://{cid}")
    };
    let mut response = created(StatusCode::CREATED, &uploaded.root, &location);
    if html {
        // A browser's form: a page that shows the new CID and links to it; the status and
        // headers stay those every client gets.
        let page = receipt(&uploaded, pin);
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(header::CONTENT_LENGTH, http::HeaderValue::from(page.len()));
        *response.body_mut() = Body::from(page);
        compress::mark(&mut response);
    }
    Ok(response)
}

/// Whether the client's Accept asks for HTML (a browser submitting a form).
fn accepts_html<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// The page a browser sees after an upload: the new CID, linked on this gateway, and for a
/// form each top-level entry. Names come from the client: every one is escaped.
fn receipt(uploaded: &upload::Uploaded, pinned: bool) -> String {
    use std::fmt::Write;
    let cid = v1_text(&uploaded.root.cid);
    let cid = cid.as_str();
    let (href, what) = if uploaded.form {
        (format!("/ipfs/{cid}/"), "directory")
    } else {
        (format!("/ipfs/{cid}"), "file")
    };
    let mut out = String::with_capacity(4096);
    shell::start(&mut out, &format!("Uploaded {cid}"));
    let _ = write!(
        out,
        "<h1>Uploaded</h1>\n<p>Your {what} is stored on this gateway{pinned} and has this CID:</p>\n\
         <a class=\"path mono\" href=\"{href}\" translate=\"no\">{cid}</a>\n\
         <ul class=\"actions\">\n<li><a class=\"primary\" href=\"{href}\">Open it</a></li>\n\
         <li><a href=\"{href}?format=car\" rel=\"nofollow\">Download as CAR</a></li>\n</ul>\n\
         <p class=\"muted\">Address: <code translate=\"no\">ipfs://{cid}{slash}</code> &middot; \
         {size} in all</p>\n",
        pinned = if pinned { " (pinned)" } else { "" },
        slash = if uploaded.form { "/" } else { "" },
        size = human_bytes(uploaded.root.tsize),
    );
    let top: Vec<&(String, Entry)> = uploaded
        .added
        .iter()
        .filter(|(path, _)| !path.is_empty() && !path.contains('/'))
        .collect();
    if uploaded.form && !top.is_empty() {
        out.push_str("<h2>Contents</h2>\n<table>\n");
        for (name, entry) in top {
            // A folder of the form: some added path lies below it.
            let dir = uploaded.added.iter().any(|(path, _)| {
                path.strip_prefix(name.as_str())
                    .is_some_and(|r| r.starts_with('/'))
            });
            let (class, slash, size) = if dir {
                (" class=\"dir\"", "/", entry.tsize)
            } else {
                ("", "", entry.size)
            };
            let _ = writeln!(
                out,
                "<tr{class}><td class=\"name\"><a href=\"{href}{}{slash}\">{}</a>{slash}</td>\
                 <td class=\"cid\" translate=\"no\">{}</td><td class=\"size\">{}</td></tr>",
                escape_html(&encode_segment(name)),
                escape_html(name),
                v1_text(&entry.cid).as_str(),
                human_bytes(size),
            );
        }
        out.push_str("</table>\n");
    }
    shell::end(&mut out);
    out
}

/// `PUT /ipfs/<cid>[/<path>]`: a plain body is written as the file at `path`; a form's
/// entries are merged into the directory at `path` (same names replaced).
pub(super) async fn put<B: RequestBody>(
    gw: &Gateway,
    request: Request<B>,
    rest: &str,
) -> Result<Response, HttpError> {
    let (root, segments) = target(rest).map_err(|e| not_a_tree(rest, e))?;
    let form = upload::is_form(content_type(&request));
    if segments.is_empty() && !form {
        return Err(HttpError::bad_request(
            "PUT of a plain body needs a path to write the file to: /ipfs/<cid>/<path>",
        ));
    }
    edit_tree(gw, &root, move |tree: &Tree<'_>| {
        edit::require_directory(tree, &root)
    })
    .await?;
    let pin = wants_pin(&request);
    let uploaded = upload_body(gw, request).await?;
    let names: Vec<String> = segments.iter().map(|s| s.to_string()).collect();
    let (added, form, lease) = (uploaded.added, uploaded.form, uploaded.lease);
    let at = names.clone();
    let new_root = edit_tree(gw, &root, move |tree: &Tree<'_>| {
        let at: Vec<&str> = at.iter().map(String::as_str).collect();
        apply_upload(tree, &root, &at, &added, form)
    })
    .await?;
    // The edit wrote its directories block by block (data synced); their names too now.
    let store = Arc::clone(&gw.store);
    off_worker(move || Ok(store.sync()?)).await?;
    keep_and_pin(gw, pin, &new_root).await?;
    drop(lease);
    let mut location = format!("ipfs://{}", v1_text(&new_root.cid));
    for name in &names {
        location.push('/');
        location.push_str(&encode_segment(name));
    }
    if form {
        location.push('/');
    }
    Ok(created(StatusCode::CREATED, &new_root, &location))
}

/// Writes an upload into the tree `root` at `at`: a plain body's file goes to `at`; a form's
/// top-level entries are merged into the directory at `at` (same names replaced). Returns the
/// new root. `added` is the upload's entry list (root last, path `""`).
pub(super) fn apply_upload(
    tree: &Tree<'_>,
    root: &cid::Cid,
    at: &[&str],
    added: &[(String, Entry)],
    form: bool,
) -> Result<Entry, crate::services::Error> {
    if !form {
        let file = added
            .last()
            .map(|(_, entry)| *entry)
            .ok_or_else(|| crate::services::Error::InvalidInput("empty upload".into()))?;
        return edit::put_at(tree, root, at, &file, &params());
    }
    let mut current = *root;
    let mut entry = None;
    for (path, added) in added {
        if path.is_empty() || path.contains('/') {
            continue; // the form's own root, and entries below its top level
        }
        let mut target = at.to_vec();
        target.push(path);
        let updated = edit::put_at(tree, &current, &target, added, &params())?;
        current = updated.cid;
        entry = Some(updated);
    }
    match entry {
        Some(entry) => Ok(entry),
        None => edit::entry_for(tree, root),
    }
}

/// `DELETE /ipfs/<cid>/<path>` removes the entry; `DELETE /ipfs/<cid>` unpins.
pub(super) async fn delete<B>(
    gw: &Gateway,
    request: &Request<B>,
    rest: &str,
) -> Result<Response, HttpError> {
    let (root, segments) = target(rest)?;
    let pin = wants_pin(request);
    if segments.is_empty() {
        let pins = Arc::clone(&gw.pins);
        return match off_worker(move || Ok(pins.remove(&root)?)).await? {
            Some(_) => {
                let mut headers = HeaderMap::with_capacity(4);
                let mut text = HeaderText::new();
                text.set(IPFS_HASH, v1_text(&root).as_str());
                text.apply(&mut headers);
                Ok(with_status(StatusCode::OK, headers, Body::empty()))
            }
            None => Err(HttpError::not_found(format!(
                "{} is not pinned",
                v1_text(&root)
            ))),
        };
    }
    let names: Vec<String> = segments.iter().map(|s| s.to_string()).collect();
    let store = Arc::clone(&gw.store);
    let lease = off_worker(move || Ok(store.write_lease()?)).await?;
    let at = names.clone();
    let new_root = edit_tree(gw, &root, move |tree: &Tree<'_>| {
        let at: Vec<&str> = at.iter().map(String::as_str).collect();
        edit::remove_at(tree, &root, &at, &params())
    })
    .await?;
    let store = Arc::clone(&gw.store);
    off_worker(move || Ok(store.sync()?)).await?;
    keep_and_pin(gw, pin, &new_root).await?;
    drop(lease);
    let mut location = format!("ipfs://{}/", v1_text(&new_root.cid));
    for name in &names[..names.len() - 1] {
        location.push_str(&encode_segment(name));
        location.push('/');
    }
    Ok(created(StatusCode::CREATED, &new_root, &location))
}

/// A `PUT` whose first segment is no CID: most likely `curl -T FILE http://gw/ipfs/`, which
/// sends `PUT /ipfs/FILE`. Points at the upload route instead of only refusing the CID.
fn not_a_tree(rest: &str, error: HttpError) -> HttpError {
    let first = rest.split('/').next().unwrap_or(rest);
    if error.status != StatusCode::BAD_REQUEST || first.is_empty() {
        return error;
    }
    HttpError::bad_request(format!(
        "PUT /ipfs/<cid>/<path> writes into the tree <cid>, and {:?} is not a CID: to add a \
         new file, POST it to /ipfs/ (e.g. curl --data-binary @FILE http://HOST/ipfs/; \
         `curl -T FILE http://HOST/ipfs/` sends PUT /ipfs/FILE instead)",
        path::decode_path(first)
    ))
}

/// The root CID and decoded path segments of `/ipfs/<cid>[/<path>]`.
fn target(rest: &str) -> Result<(cid::Cid, path::Segments<'_>), HttpError> {
    let (cid_text, sub_path) = rest.split_once('/').unwrap_or((rest, ""));
    let root = crate::ipld::cid::parse(&path::decode_segment(cid_text)?)?;
    Ok((root, path::segments(sub_path)?))
}
