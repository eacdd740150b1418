//! Whole-DAG responses, streamed block by block as they are read:
//! - `application/vnd.ipld.car` (trustless-gateway spec, IPIP-402/412): the blocks of the path
//!   and of the DAG below it, per `dag-scope`, `entity-bytes`, `order` and `dups` (from `?…`,
//!   `?car-order=`/`?car-dups=`/`?car-version=` over the `Accept` parameters, IPIP-523);
//! - `application/x-tar` (path-gateway spec): a UnixFS DAG as a TAR archive.
//!
//! Both have unknown length (chunked), `Accept-Ranges: none` for CARs, `nosniff`, an
//! attachment `Content-Disposition`, and a weak Etag; a block missing mid-stream cuts the
//! connection so a client never takes a short archive for a whole one.

use std::fmt::Write;

use cid::Cid;
use http::header::{self, HeaderMap, HeaderValue};
use http::StatusCode;
use sha2::{Digest, Sha256};

use super::format::Format;
use super::path::query_param;
use super::response::{
    cache_control, content_disposition, not_modified, not_modified_response, with_status, Ask,
    CacheKind, RootsList, X_IPFS_PATH, X_IPFS_ROOTS,
};
use super::Gateway;
use crate::http::header_text::HeaderText;
use crate::http::{Body, HttpError, Response};
use crate::ipld::cid::v1_text;
use crate::services::car_export::{CarExport, CarParams, DagScope};
use crate::services::resolve;
use crate::services::tar::TarStream;
use crate::store::SharedSource;

const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");

/// `?format=car` / `Accept: application/vnd.ipld.car`.
pub(super) async fn car(
    gw: &Gateway,
    ask: &Ask<'_>,
    root: Cid,
    segments: &[&str],
) -> Result<Response, HttpError> {
    let options = CarOptions::from_request(ask)?;
    let params = CarParams::from_query(
        query_param(ask.query, "dag-scope").as_deref(),
        query_param(ask.query, "entity-bytes").as_deref(),
        options.dups,
    )?;
    let root_text = v1_text(&root);
    let etag = car_etag(root_text.as_str(), segments, &params, options.order_unknown);
    let mut headers = HeaderMap::with_capacity(16);
    let mut text = HeaderText::new();
    text.set(header::ETAG, &etag);
    cache_control(ask, CacheKind::Content, &mut headers, &mut text);
    if not_modified(ask.headers, &etag) {
        return Ok(not_modified_response(text, headers));
    }
    if gw.sizes.dag.is_some() {
        // The entity's size from its root block, which the export reads next anyway (from
        // the cache then). A failure fails the request rather than skip the limit (boxo).
        let resolved = resolve::resolve(&*gw.blocks, root, segments).await?;
        gw.check_size(super::read::entity_size(&resolved.node), false)?;
    }
    let export = CarExport::new(SharedSource::clone(&gw.blocks), root, segments, params).await?;
    let name = match segments.last() {
        Some(last) => format!("{}_{last}.car", root_text.as_str()),
        None => format!("{}.car", root_text.as_str()),
    };
    attachment(ask, &name, &mut text);
    text.set(X_IPFS_PATH, ask.content_path);
    text.set_fmt(X_IPFS_ROOTS, format_args!("{}", RootsList(export.roots())));
    text.set_fmt(
        header::CONTENT_TYPE,
        format_args!(
            "application/vnd.ipld.car; version=1; order={}; dups={}",
            if options.order_unknown { "unk" } else { "dfs" },
            if options.dups { "y" } else { "n" }
        ),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("none"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, NOSNIFF);
    text.apply(&mut headers);
    Ok(with_status(
        StatusCode::OK,
        headers,
        Body::chunks(export.into_stream()),
    ))
}

/// The CAR media-type parameters a request settled on.
struct CarOptions {
    /// `order=unk`: the client accepts any order (cairn writes depth-first either way).
    order_unknown: bool,
    /// `dups=y`: repeated blocks are sent each time the walk meets them.
    dups: bool,
}

impl CarOptions {
    /// `?car-version=`, `?car-order=`, `?car-dups=` win over the `Accept` parameters.
    fn from_request(ask: &Ask<'_>) -> Result<Self, HttpError> {
        let pick = |query_name: &str, accept_name: &str| {
            query_param(ask.query, query_name)
                .filter(|v| !v.is_empty())
                .map(|v| v.into_owned())
                .or_else(|| ask.negotiated.param(accept_name).map(str::to_owned))
        };
        match pick("car-version", "version").as_deref() {
            None | Some("1") => {}
            Some(other) => {
                return Err(HttpError::bad_request(format!(
                    "unsupported application/vnd.ipld.car version {other:?}: only version=1 is \
                     supported"
                )))
            }
        }
        let order_unknown = match pick("car-order", "order").as_deref() {
            None | Some("dfs") => false,
            Some("unk") => true,
            Some(other) => {
                return Err(HttpError::bad_request(format!(
                    "unsupported application/vnd.ipld.car order {other:?}: use dfs or unk"
                )))
            }
        };
        let dups = match pick("car-dups", "dups").as_deref() {
            None | Some("n") => false,
            Some("y") => true,
            Some(other) => {
                return Err(HttpError::bad_request(format!(
                    "unsupported application/vnd.ipld.car dups {other:?}: use y or n"
                )))
            }
        };
        Ok(CarOptions {
            order_unknown,
            dups,
        })
    }
}

/// `W/"<root>.car.<hash>"`, the hash covering the path and every parameter that changes the
/// bytes (boxo `getCarEtag`; the hash function is ours).
fn car_etag(root: &str, segments: &[&str], params: &CarParams, order_unknown: bool) -> String {
    let mut hasher = Sha256::new();
    hasher.update(root.as_bytes());
    for segment in segments {
        hasher.update(b"/");
        hasher.update(segment.as_bytes());
    }
    if params.scope != DagScope::All {
        hasher.update(b"\x00scope=");
        hasher.update(params.scope.as_str().as_bytes());
    }
    if order_unknown {
        hasher.update(b"\x00order=unk");
    }
    if params.dups {
        hasher.update(b"\x00dups=y");
    }
    if let Some(range) = &params.entity_bytes {
        hasher.update(b"\x00range=");
        hasher.update(range.from.to_le_bytes());
        if let Some(to) = range.to {
            hasher.update(to.to_le_bytes());
        }
    }
    let digest = hasher.finalize();
    let mut etag = format!("W/\"{root}.car.");
    for byte in &digest[..8] {
        let _ = write!(etag, "{byte:02x}");
    }
    etag.push('"');
    etag
}

/// `?format=tar` / `Accept: application/x-tar`: the DAG the path names as a TAR archive whose
/// top entry is named after its CID (as Kubo names it).
pub(super) async fn tar(
    gw: &Gateway,
    ask: &Ask<'_>,
    root: Cid,
    segments: &[&str],
) -> Result<Response, HttpError> {
    let resolved = resolve::resolve(&*gw.blocks, root, segments).await?;
    let cid_text = v1_text(&resolved.cid);
    let etag = format!("W/\"{}.{}\"", cid_text.as_str(), Format::Tar.etag_suffix());
    let mut headers = HeaderMap::with_capacity(16);
    let mut text = HeaderText::new();
    text.set(header::ETAG, &etag);
    cache_control(ask, CacheKind::Content, &mut headers, &mut text);
    text.set(X_IPFS_PATH, ask.content_path);
    text.set_fmt(X_IPFS_ROOTS, format_args!("{}", RootsList(&resolved.roots)));
    if not_modified(ask.headers, &etag) {
        return Ok(not_modified_response(text, headers));
    }
    gw.check_size(super::read::entity_size(&resolved.node), false)?;
    let stream = TarStream::new(
        SharedSource::clone(&gw.blocks),
        resolved.cid,
        cid_text.as_str(),
    )
    .await?;
    attachment(ask, &format!("{}.tar", cid_text.as_str()), &mut text);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(Format::Tar.media_type()),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, NOSNIFF);
    text.apply(&mut headers);
    Ok(with_status(
        StatusCode::OK,
        headers,
        Body::chunks(stream.into_stream()),
    ))
}

/// `Content-Disposition: attachment` with `?filename=` or `default_name`.
fn attachment(ask: &Ask<'_>, default_name: &str, text: &mut HeaderText) {
    let filename = query_param(ask.query, "filename").filter(|f| !f.is_empty());
    text.set(
        header::CONTENT_DISPOSITION,
        &content_disposition(filename.as_deref().unwrap_or(default_name), true),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::car_export::EntityBytes;

    #[test]
    fn car_etags_change_with_what_changes_the_bytes() {
        let base = CarParams::default();
        let a = car_etag("bafyroot", &["a"], &base, false);
        assert!(
            a.starts_with("W/\"bafyroot.car.") && a.ends_with('"'),
            "{a}"
        );
        assert_eq!(a, car_etag("bafyroot", &["a"], &base, false));
        let others = [
            car_etag("bafyroot", &["b"], &base, false),
            car_etag("bafyroot", &["a"], &base, true),
            car_etag(
                "bafyroot",
                &["a"],
                &CarParams {
                    dups: true,
                    ..CarParams::default()
                },
                false,
            ),
            car_etag(
                "bafyroot",
                &["a"],
                &CarParams {
                    scope: DagScope::Block,
                    ..CarParams::default()
                },
                false,
            ),
            car_etag(
                "bafyroot",
                &["a"],
                &CarParams {
                    scope: DagScope::Entity,
                    entity_bytes: Some(EntityBytes {
                        from: 0,
                        to: Some(9),
                    }),
                    dups: false,
                },
                false,
            ),
        ];
        for other in others {
            assert_ne!(a, other);
        }
    }
}
