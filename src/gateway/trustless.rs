//! Trustless-only hosts (`--trustless-only-host`): a Host the operator names serves only what a
//! client can verify (trustless-gateway spec,
//! <https://specs.ipfs.tech/http-gateways/trustless-gateway/>), as a boxo gateway whose
//! public-gateway entry has `DeserializedResponses: false` does (Rainbow's trustless
//! hostnames):
//! - `GET`/`HEAD /ipfs/<cid>` as a raw block (`?format=raw`, `Accept:
//!   application/vnd.ipld.raw`), `/ipfs/<cid>[/<path>]` as a CAR (`?format=car`, `Accept:
//!   application/vnd.ipld.car`), `/ipns/<ipns-name>` as its signed record
//!   (`?format=ipns-record`, `Accept: application/vnd.ipfs.ipns-record`); no DNSLink names;
//! - the Delegated Routing V1 API (`/routing/v1/…`), whose records are signed, and CORS
//!   preflights;
//! - any other read answers 406 with boxo's text; any other method, 405.
//!
//! Such a host is a path gateway only: it is never taken for a DNSLink name or a subdomain
//! gateway.

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode, Uri};

use super::format::{self, Format};
use super::host::strip_port;
use super::path;
use crate::http::HttpError;
use crate::ipld::ipns::IpnsName;

/// The hosts named, lower-case, without ports.
#[derive(Debug, Clone, Default)]
pub(super) struct TrustlessHosts(Vec<String>);

impl TrustlessHosts {
    pub(super) fn new(hosts: &[String]) -> Self {
        TrustlessHosts(
            hosts
                .iter()
                .map(|h| strip_port(h.trim()).to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        )
    }

    /// Whether `host` (as the client sent it, port included) is one of them.
    pub(super) fn contains(&self, host: &str) -> bool {
        let name = strip_port(host);
        self.0.iter().any(|h| h.eq_ignore_ascii_case(name))
    }
}

/// boxo's answer to a deserialized request on a trustless-only gateway.
const ONLY_TRUSTLESS: &str = "only trustless requests are accepted on this gateway: \
                              https://specs.ipfs.tech/http-gateways/trustless-gateway/";

/// Whether a trustless-only host may answer this request (boxo `isTrustlessRequest`): `Ok`
/// to route it as usual, else the refusal.
pub(super) fn check(method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<(), HttpError> {
    if *method == Method::OPTIONS {
        return Ok(());
    }
    if !matches!(*method, Method::GET | Method::HEAD) {
        return Err(HttpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("method {method} is not allowed: this host serves only trustless responses"),
        )
        .with_header(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        ));
    }
    let path = uri.path();
    if path.starts_with("/routing/v1/") {
        return Ok(());
    }
    let format = format::negotiate(uri.query(), headers)?.format;
    let refused = || HttpError::new(StatusCode::NOT_ACCEPTABLE, ONLY_TRUSTLESS);
    let (namespace, rest) = match (path.strip_prefix("/ipfs/"), path.strip_prefix("/ipns/")) {
        (Some(rest), _) => ("ipfs", rest),
        (_, Some(rest)) => ("ipns", rest),
        _ => return Err(refused()),
    };
    let rest = rest.trim_matches('/');
    let (first, below) = rest.split_once('/').unwrap_or((rest, ""));
    let first = path::decode_segment(first).map_err(|_| refused())?;
    let allowed = match (namespace, format) {
        ("ipfs", Format::Car) => crate::ipld::cid::parse(&first).is_ok(),
        ("ipfs", Format::Raw) => below.is_empty() && crate::ipld::cid::parse(&first).is_ok(),
        ("ipns", Format::IpnsRecord) => below.is_empty() && IpnsName::parse(&first).is_ok(),
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(method: &str, target: &str, accept: Option<&str>) -> Result<(), StatusCode> {
        let mut headers = HeaderMap::new();
        if let Some(accept) = accept {
            headers.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
        }
        let uri: Uri = target.parse().unwrap();
        check(&method.parse().unwrap(), &uri, &headers).map_err(|e| e.into_response(false).status())
    }

    const CID: &str = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";
    const NAME: &str = "k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w";

    #[test]
    fn only_verifiable_responses_pass() {
        let ok = |m, t: &str, a| assert_eq!(verdict(m, t, a), Ok(()), "{m} {t} {a:?}");
        let refused = |m, t: &str, a, status| {
            assert_eq!(verdict(m, t, a), Err(status), "{m} {t} {a:?}");
        };
        ok("GET", &format!("/ipfs/{CID}?format=raw"), None);
        ok(
            "HEAD",
            &format!("/ipfs/{CID}/"),
            Some("application/vnd.ipld.raw"),
        );
        ok("GET", &format!("/ipfs/{CID}/a/b?format=car"), None);
        ok(
            "GET",
            &format!("/ipfs/{CID}/a"),
            Some("application/vnd.ipld.car"),
        );
        ok("GET", &format!("/ipns/{NAME}?format=ipns-record"), None);
        ok(
            "GET",
            &format!("/ipns/{NAME}"),
            Some("application/vnd.ipfs.ipns-record"),
        );
        ok("GET", &format!("/routing/v1/ipns/{NAME}"), None);
        ok("OPTIONS", &format!("/ipfs/{CID}"), None);

        let not_acceptable = StatusCode::NOT_ACCEPTABLE;
        refused("GET", &format!("/ipfs/{CID}"), None, not_acceptable);
        refused(
            "GET",
            &format!("/ipfs/{CID}/a?format=raw"),
            None,
            not_acceptable,
        );
        refused(
            "GET",
            &format!("/ipfs/{CID}?format=tar"),
            None,
            not_acceptable,
        );
        refused(
            "GET",
            &format!("/ipfs/{CID}?format=dag-json"),
            None,
            not_acceptable,
        );
        refused("GET", "/ipfs/not-a-cid?format=raw", None, not_acceptable);
        refused("GET", &format!("/ipns/{NAME}"), None, not_acceptable);
        refused(
            "GET",
            &format!("/ipns/{NAME}?format=car"),
            None,
            not_acceptable,
        );
        refused(
            "GET",
            "/ipns/example.org?format=ipns-record",
            None,
            not_acceptable,
        );
        refused("GET", "/pubsub/topic", None, not_acceptable);
        refused("GET", "/", None, not_acceptable);
        refused("POST", "/ipfs/", None, StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn hosts_match_without_port_or_case() {
        let hosts = TrustlessHosts::new(&["Trustless.Example:8080".into()]);
        assert!(hosts.contains("trustless.example"));
        assert!(hosts.contains("TRUSTLESS.example:80"));
        assert!(!hosts.contains("other.example"));
        assert!(!hosts.contains("sub.trustless.example"));
    }
}
