//! Requests whose Host gives the content its own origin, and the redirects that lead there
//! (subdomain-gateway and dnslink-gateway specs; see [`super::host`] for the matching):
//! - on a `--subdomain-host` itself, `GET /ipfs/<cid>/…` and `/ipns/<name>/…` answer 301 to
//!   `<label>.<ns>.<host>/…` (path and query kept; `https` when `X-Forwarded-Proto` says so);
//! - `<label>.ipfs.<host>/<path>` serves `/ipfs/<label>/<path>`, after a 301 to the canonical
//!   label when the Host holds another encoding of the CID;
//! - `<name>.ipns.<host>/<path>` serves `/ipns/<name>/<path>`, `<name>` being an IPNS name
//!   (canonicalised to base36 libp2p-key by 301) or a DNSLink name, inlined or not;
//! - a Host with a DNSLink serves `/ipns/<host>/<path>`.
//!
//! Only reads are served on these origins; `/ipfs` and `/ipns` are not mounted below them.

use std::sync::Arc;

use http::header::{self, HeaderMap};
use http::{Method, StatusCode, Uri};

use super::host::{self, Namespace};
use super::path::{decode_path, escape_path};
use super::read;
use super::response::{with_status, Ask, Origin};
use super::Gateway;
use crate::http::header_text::HeaderText;
use crate::http::{Body, HttpError, Response};
use crate::ipld::cid::{codec, parse as parse_cid};
use crate::services::names::{NameService, Resolution};

/// The parts of a request these handlers read (none reads a body).
#[derive(Clone, Copy)]
pub(super) struct Head<'r> {
    pub method: &'r Method,
    pub uri: &'r Uri,
    pub headers: &'r HeaderMap,
}

/// `GET /ipfs/<root>/…` or `/ipns/<root>/…` on a subdomain gateway's own host: the redirect
/// to the root's subdomain, or `None` when the path names no root to move (the request is
/// then served as on a path gateway: `/ipfs/` uploads, errors about invalid CIDs, …).
pub(super) async fn redirect_to_subdomain(
    gw: &Gateway,
    req: &Head<'_>,
    gateway_host: &str,
) -> Result<Option<Response>, HttpError> {
    if !matches!(*req.method, Method::GET | Method::HEAD) {
        return Ok(None);
    }
    let path = req.uri.path();
    let (namespace, rest) = match path.strip_prefix("/ipfs/") {
        Some(rest) => (Namespace::Ipfs, rest),
        None => match path.strip_prefix("/ipns/") {
            Some(rest) => (Namespace::Ipns, rest),
            None => return Ok(None),
        },
    };
    let (root, after) = rest.split_once('/').unwrap_or((rest, ""));
    let root = decode_path(root);
    // `/ipns/localhost?key=` is the Agregore key API, not a name to give an origin.
    if root.is_empty() || (namespace == Namespace::Ipns && root == super::ipns::KEY_API_NAME) {
        return Ok(None);
    }
    let label = match namespace {
        Namespace::Ipfs => match parse_cid(&root) {
            Ok(cid) => host::cid_label(&cid, Namespace::Ipfs)
                .map_err(|e| HttpError::bad_request(e.to_string()))?,
            // Not a CID: the path gateway explains what is wrong with it.
            Err(_) => return Ok(None),
        },
        Namespace::Ipns => match host::ipns_name_label(&root) {
            Some(label) => label.map_err(|e| HttpError::bad_request(e.to_string()))?,
            None => ipns_domain_label(gw, &root).await,
        },
    };
    let location = subdomain_url(req, &label, namespace, gateway_host, &decode_path(after));
    Ok(Some(redirect(StatusCode::MOVED_PERMANENTLY, &location)))
}

/// The subdomain label of a DNSLink name: inlined into one DNS label (subdomain-gateway
/// spec, "DNSLink inlining") when it has a DNSLink and fits, so one wildcard TLS certificate
/// covers it; otherwise the name as written.
async fn ipns_domain_label(gw: &Gateway, name: &str) -> String {
    if name.contains('.') && has_dnslink(gw.names.as_ref(), name).await {
        if let Some(label) = host::inline_dnslink(name) {
            return label;
        }
    }
    name.to_owned()
}

async fn has_dnslink(names: Option<&Arc<NameService>>, name: &str) -> bool {
    match names {
        Some(names) => names.resolve(name).await.is_ok(),
        None => false,
    }
}

/// `<scheme>://<label>.<ns>.<gateway>/<path>?<query>`.
fn subdomain_url(
    req: &Head<'_>,
    label: &str,
    namespace: Namespace,
    gateway_host: &str,
    decoded_rest: &str,
) -> String {
    let scheme = if host::is_https(req.uri, req.headers) {
        "https"
    } else {
        "http"
    };
    let mut url = format!(
        "{scheme}://{label}.{}.{gateway_host}/{}",
        namespace.as_str(),
        escape_path(decoded_rest)
    );
    if let Some(query) = req.uri.query() {
        url.push('?');
        url.push_str(query);
    }
    url
}

fn redirect(status: StatusCode, location: &str) -> Response {
    let mut headers = HeaderMap::with_capacity(4);
    let mut text = HeaderText::new();
    text.set(header::LOCATION, location);
    text.apply(&mut headers);
    with_status(status, headers, Body::empty())
}

/// `<root>.<ns>.<gateway>/<path>`.
pub(super) async fn serve_subdomain(
    gw: &Gateway,
    req: &Head<'_>,
    namespace: Namespace,
    root: &str,
    gateway_host: &str,
) -> Result<Response, HttpError> {
    let url_path = req.uri.path();
    let mut name = root.to_owned();
    // As Kubo: a label that names the root and fits DNS is served as it is; one too long
    // for a DNS label, or an IPNS key CID without the libp2p-key codec, moves (301) to the
    // canonical label.
    match (namespace, parse_cid(root)) {
        (_, Ok(cid))
            if root.len() > host::DNS_LABEL_MAX
                || (namespace == Namespace::Ipns && cid.codec() != codec::LIBP2P_KEY) =>
        {
            let label = host::cid_label(&cid, namespace)
                .map_err(|e| HttpError::bad_request(e.to_string()))?;
            return Ok(canonical_redirect(req, &label, namespace, gateway_host));
        }
        (Namespace::Ipns, Err(_)) if !root.contains('.') && root.contains('-') => {
            // An inlined DNSLink name (`my-v--long-example-com`): the dotted name is what
            // was meant, unless only the label itself has a DNSLink.
            let fqdn = host::uninline_dnslink(root);
            let names = gw.names.as_ref();
            if has_dnslink(names, &fqdn).await || !has_dnslink(names, root).await {
                name = fqdn;
            }
        }
        _ => {}
    }
    let content_path = format!("/{}/{name}{url_path}", namespace.as_str());
    let origin = Origin::Subdomain {
        gateway: gateway_host,
    };
    serve(gw, req, namespace, &content_path, origin, None).await
}

/// The same request on the root's canonical subdomain, so a root always has one origin.
fn canonical_redirect(
    req: &Head<'_>,
    label: &str,
    namespace: Namespace,
    gateway_host: &str,
) -> Response {
    let path = decode_path(req.uri.path());
    let location = subdomain_url(
        req,
        label,
        namespace,
        gateway_host,
        path.trim_start_matches('/'),
    );
    redirect(StatusCode::MOVED_PERMANENTLY, &location)
}

/// A host whose DNSLink names the content (`resolved`): `/ipns/<name>/<path>`.
pub(super) async fn serve_dnslink(
    gw: &Gateway,
    req: &Head<'_>,
    name: &str,
    host: &str,
    resolved: Resolution,
) -> Result<Response, HttpError> {
    let content_path = format!("/ipns/{name}{}", req.uri.path());
    let origin = Origin::DnsLink { host };
    serve(
        gw,
        req,
        Namespace::Ipns,
        &content_path,
        origin,
        Some(resolved),
    )
    .await
}

async fn serve(
    gw: &Gateway,
    req: &Head<'_>,
    namespace: Namespace,
    content_path: &str,
    origin: Origin<'_>,
    resolved: Option<Resolution>,
) -> Result<Response, HttpError> {
    let ask = Ask::new(
        req.uri.path(),
        content_path,
        req.uri.query(),
        req.headers,
        origin,
    )?;
    // Skip "/<ns>/".
    let rest = &content_path[namespace.as_str().len() + 2..];
    match namespace {
        Namespace::Ipfs => read::serve_ipfs(gw, &ask, rest).await,
        Namespace::Ipns => {
            let names = gw.names.as_ref().ok_or_else(|| {
                HttpError::new(
                    StatusCode::NOT_IMPLEMENTED,
                    "IPNS is not enabled on this gateway",
                )
            })?;
            let (name, sub_path) = rest.split_once('/').unwrap_or((rest, ""));
            super::ipns::serve_name(gw, names, ask, name, sub_path, resolved).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut builder = http::Request::builder().uri(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn head(parts: &http::request::Parts) -> Head<'_> {
        Head {
            method: &parts.method,
            uri: &parts.uri,
            headers: &parts.headers,
        }
    }

    #[test]
    fn subdomain_urls_keep_path_and_query() {
        let p = parts("/ipfs/x/a%20b?filename=c", &[]);
        assert_eq!(
            subdomain_url(
                &head(&p),
                "bafyx",
                Namespace::Ipfs,
                "example.com:8080",
                "a b"
            ),
            "http://bafyx.ipfs.example.com:8080/a%20b?filename=c"
        );
        let p = parts("/ipns/x", &[("x-forwarded-proto", "https")]);
        assert_eq!(
            subdomain_url(&head(&p), "k51x", Namespace::Ipns, "example.com", ""),
            "https://k51x.ipns.example.com/"
        );
    }
}
