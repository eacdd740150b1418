//! CORS headers, on every response of the gateway (errors and preflights included), as the
//! Agregore spec lists them, merged with Kubo's list so that clients of either work.
//! Preflight (`OPTIONS`) answers are built from the same constants (Fetch standard, CORS
//! protocol; `Access-Control-Max-Age` caches them for a day).

use http::header::{
    HeaderMap, HeaderValue, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
};

const ALLOW_ORIGIN: HeaderValue = HeaderValue::from_static("*");
const ALLOW_METHODS: HeaderValue =
    HeaderValue::from_static("GET, HEAD, POST, PUT, DELETE, OPTIONS");
const ALLOW_HEADERS: HeaderValue =
    HeaderValue::from_static("Content-Type, Range, User-Agent, X-Ipfs-Pin, X-Requested-With");
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
