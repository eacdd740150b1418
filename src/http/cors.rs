//! CORS headers, on every response of the gateway (errors and preflights included), as the
//! Agregore spec lists them, merged with Kubo's list so that clients of either work.
//! Preflight (`OPTIONS`) answers are built from the same constants (Fetch standard, CORS
//! protocol; `Access-Control-Max-Age` caches them for a day).
//!
//! Also here: the operator's list of origins allowed to write ([`OriginPolicy`],
//! `--allow-origin`), shared by the gateway and the Cluster API, and Private Network Access
//! preflights (WICG Private Network Access: a public page's preflight to a loopback or private
//! address carries `Access-Control-Request-Private-Network: true`, and the browser goes on only
//! if the answer grants it with `Access-Control-Allow-Private-Network: true`).

use http::header::{
    self, HeaderMap, HeaderValue, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
};

const ALLOW_ORIGIN: HeaderValue = HeaderValue::from_static("*");
const ALLOW_METHODS: HeaderValue =
    HeaderValue::from_static("GET, HEAD, POST, PUT, DELETE, OPTIONS");
const ALLOW_HEADERS: HeaderValue = HeaderValue::from_static(
    "Authorization, Content-Type, Range, User-Agent, X-Ipfs-Pin, X-Requested-With",
);
const EXPOSE_HEADERS: HeaderValue = HeaderValue::from_static(
    "Content-Length, Content-Range, Etag, Ipfs-Hash, Location, X-Chunked-Output, X-Ipfs-Path, \
     X-Ipfs-Roots, X-Ipns-Path, X-Stream-Output",
);
const MAX_AGE: HeaderValue = HeaderValue::from_static("86400");

/// Adds the CORS headers to a response's headers.
pub fn apply(headers: &mut HeaderMap) {
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW_ORIGIN);
    headers.insert(ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS);
    headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS);
    headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS);
    headers.insert(ACCESS_CONTROL_MAX_AGE, MAX_AGE);
}

/// `Access-Control-Request-Private-Network`, sent in a preflight by browsers that enforce
/// Private Network Access.
pub const REQUEST_PRIVATE_NETWORK: &str = "access-control-request-private-network";

/// `Access-Control-Allow-Private-Network`: the grant.
pub const ALLOW_PRIVATE_NETWORK: header::HeaderName =
    header::HeaderName::from_static("access-control-allow-private-network");

/// Whether a preflight asks for private network access.
pub fn private_network_requested(headers: &HeaderMap) -> bool {
    headers
        .get(REQUEST_PRIVATE_NETWORK)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
}

/// The origins an operator allows to write (`--allow-origin`, repeatable). Empty: every
/// origin, as the Agregore contract grants. Requests without `Origin` (curl, the Agregore
/// browser's own requests, Go clients) are never refused for their origin.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    /// Serialized origins (`scheme://host[:port]`), lower case, no trailing slash.
    allowed: Vec<String>,
}

impl OriginPolicy {
    /// A policy allowing exactly `origins` (each `scheme://host[:port]`, or `null`).
    pub fn new<S: AsRef<str>>(origins: &[S]) -> Result<Self, String> {
        let mut allowed = Vec::new();
        for origin in origins {
            let origin = origin.as_ref().trim();
            let normal = normalize(origin);
            let valid = normal == "null"
                || normal.split_once("://").is_some_and(|(scheme, host)| {
                    !scheme.is_empty() && !host.is_empty() && !host.contains(['/', '?', '#', ' '])
                });
            if !valid {
                return Err(format!(
                    "{origin:?} is not an origin (scheme://host[:port], e.g. https://app.example)"
                ));
            }
            allowed.push(normal);
        }
        Ok(OriginPolicy { allowed })
    }

    /// Whether an allow-list is in force (otherwise every origin may write on the gateway).
    pub fn restricts(&self) -> bool {
        !self.allowed.is_empty()
    }

    /// Whether `origin` is on the list.
    pub fn lists(&self, origin: &[u8]) -> bool {
        let Ok(origin) = std::str::from_utf8(origin) else {
            return false;
        };
        let origin = normalize(origin);
        self.allowed.contains(&origin)
    }
}

fn normalize(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_compared_as_serialized() {
        let policy = OriginPolicy::new(&["https://App.example/", "http://127.0.0.1:3000"]).unwrap();
        assert!(policy.restricts());
        assert!(policy.lists(b"https://app.example"));
        assert!(policy.lists(b"http://127.0.0.1:3000"));
        assert!(!policy.lists(b"http://127.0.0.1:3001"));
        assert!(!policy.lists(b"null"));
        assert!(OriginPolicy::new(&["app.example"]).is_err());
        assert!(OriginPolicy::new(&["https://a/b"]).is_err());
        assert!(!OriginPolicy::default().restricts());
    }
}
