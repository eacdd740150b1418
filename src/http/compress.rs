//! Content coding of the responses cairn generates — HTML and JSON listings, DAG previews,
//! error pages, the upload receipt: gzip or brotli as the client's `Accept-Encoding` prefers
//! (RFC 9110 §8.4.1, §12.5.3, q-values honoured), with `Vary: Accept-Encoding`.
//!
//! Only responses a handler marked [`Generated`] are touched. Content as stored — UnixFS file
//! bytes, raw blocks, DAG blocks served as themselves, CARs, TARs — never carries the mark, so
//! it goes out byte for byte (and its streaming path never passes through here). Generated
//! bodies are one in-memory buffer and small, so they are compressed in one go; those under
//! [`MIN_BYTES`] are sent as they are (a coding header and a gzip trailer would outweigh the
//! saving).
//!
//! The `Etag` is left as the handler set it: the gateway conformance suite sends Go's
//! default `Accept-Encoding: gzip` and then echoes the listing's Etag, quoted, in
//! `If-None-Match`, expecting a 304 (boxo's gateway, behind Kubo's compression, does the
//! same). Caches keep the variants apart by `Vary`.

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::StatusCode;

use super::Response;

/// Marks a response whose body cairn generated, and which may therefore be compressed.
#[derive(Debug, Clone, Copy)]
pub struct Generated;

/// Marks `response` as generated (see [`Generated`]).
pub fn mark(response: &mut Response) {
    response.extensions_mut().insert(Generated);
}

/// Bodies shorter than this are not compressed.
pub const MIN_BYTES: usize = 1024;

/// Brotli's quality for pages: most of quality 11's gain at a fraction of its time.
const BROTLI_QUALITY: i32 = 5;
const BROTLI_WINDOW: i32 = 22;

/// A content coding cairn can apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Brotli,
    Gzip,
}

impl Coding {
    /// The `Content-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
        }
    }
}

/// The coding `accept` (an `Accept-Encoding` value) prefers: the highest q among `br` and
/// `gzip` (`x-gzip` is gzip, RFC 9110 §8.4.1.3; `*` stands for either when not named),
/// brotli on ties; `None` when neither is acceptable (absent or `q=0`). A malformed q-value
/// counts as 0, so a garbled header never gets a coding the client may not decode.
pub fn choose(accept: &str) -> Option<Coding> {
    let (mut br, mut gzip, mut star): (Option<f32>, Option<f32>, Option<f32>) = (None, None, None);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let token = parts.next().unwrap_or("").trim();
        if token.is_empty() {
            continue;
        }
        let mut q = 1.0f32;
        for param in parts {
            if let Some((name, value)) = param.split_once('=') {
                if name.trim().eq_ignore_ascii_case("q") {
                    q = parse_q(value.trim()).unwrap_or(0.0);
                }
            }
        }
        let slot = if token.eq_ignore_ascii_case("br") {
            &mut br
        } else if token.eq_ignore_ascii_case("gzip") || token.eq_ignore_ascii_case("x-gzip") {
            &mut gzip
        } else if token == "*" {
            &mut star
        } else {
            continue;
        };
        *slot = Some(slot.map_or(q, |old: f32| old.max(q)));
    }
    let br = br.or(star).unwrap_or(0.0);
    let gzip = gzip.or(star).unwrap_or(0.0);
    if br <= 0.0 && gzip <= 0.0 {
        None
    } else if br >= gzip {
        Some(Coding::Brotli)
    } else {
        Some(Coding::Gzip)
    }
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )` (RFC 9110 §12.4.2).
fn parse_q(text: &str) -> Option<f32> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if !matches!(whole, "0" | "1")
        || fraction.len() > 3
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let q: f32 = text.parse().ok()?;
    (q <= 1.0).then_some(q)
}

/// Compresses `bytes` with `coding`.
pub fn encode(coding: Coding, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut out = Vec::with_capacity(bytes.len() / 3 + 64);
    match coding {
        Coding::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            encoder.write_all(bytes)?;
            out = encoder.finish()?;
        }
        Coding::Brotli => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: BROTLI_QUALITY,
                lgwin: BROTLI_WINDOW,
                size_hint: bytes.len(),
                ..Default::default()
            };
            brotli::BrotliCompress(&mut &bytes[..], &mut out, &params)?;
        }
    }
    Ok(out)
}

/// For a response marked [`Generated`]: adds `Accept-Encoding` to its `Vary` (whether or not
/// it is compressed, the choice depended on it), then compresses its body when
/// `accept_encoding` allows a coding, the body is one buffer of at least [`MIN_BYTES`], and
/// nothing else has coded or sliced it. `Content-Length` is set to the coded length (for
/// `HEAD` too, so call this before a HEAD body is dropped). Anything else passes untouched.
pub fn apply(response: &mut Response, accept_encoding: Option<&HeaderValue>) {
    if response.extensions().get::<Generated>().is_none() {
        return;
    }
    add_vary(response.headers_mut());
    if matches!(
        response.status(),
        StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED | StatusCode::NO_CONTENT
    ) || response.headers().contains_key(header::CONTENT_ENCODING)
        || response.headers().contains_key(header::CONTENT_RANGE)
    {
        return;
    }
    let Some(coding) = accept_encoding
        .and_then(|v| v.to_str().ok())
        .and_then(choose)
    else {
        return;
    };
    let Some(bytes) = response.body().buffer() else {
        return;
    };
    if bytes.len() < MIN_BYTES {
        return;
    }
    let coded = match encode(coding, bytes) {
        Ok(coded) if coded.len() < bytes.len() => coded,
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(error = %e, "compressing a page failed; sent uncompressed");
            return;
        }
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static(coding.token()),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(coded.len()));
    response.body_mut().replace_buffer(Bytes::from(coded));
}

/// `Vary: …, Accept-Encoding`, merged into an existing `Vary` (one field, so clients that
/// read only the first keep seeing every name).
fn add_vary(headers: &mut http::HeaderMap) {
    let merged = match headers.get(header::VARY).and_then(|v| v.to_str().ok()) {
        None => HeaderValue::from_static("Accept-Encoding"),
        Some(existing)
            if existing.split(',').any(|name| {
                name.trim().eq_ignore_ascii_case("accept-encoding") || name.trim() == "*"
            }) =>
        {
            return
        }
        Some(existing) => match HeaderValue::try_from(format!("{existing}, Accept-Encoding")) {
            Ok(value) => value,
            Err(_) => return,
        },
    };
    headers.insert(header::VARY, merged);
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::http::Body;

    #[test]
    fn q_values_choose_the_coding() {
        assert_eq!(choose("gzip, deflate, br"), Some(Coding::Brotli));
        assert_eq!(choose("gzip"), Some(Coding::Gzip));
        assert_eq!(choose("x-gzip"), Some(Coding::Gzip));
        assert_eq!(choose("br;q=0.5, gzip;q=0.8"), Some(Coding::Gzip));
        assert_eq!(choose("br;q=0.8, gzip;q=0.5"), Some(Coding::Brotli));
        assert_eq!(choose("gzip;q=0, br;q=0"), None);
        assert_eq!(choose("br;q=0, *"), Some(Coding::Gzip));
        assert_eq!(choose("*;q=0.1"), Some(Coding::Brotli));
        assert_eq!(choose("identity"), None);
        assert_eq!(choose(""), None);
        assert_eq!(choose("deflate"), None);
        assert_eq!(choose("GZIP;Q=1.0"), Some(Coding::Gzip));
        // Malformed q-values do not count.
        assert_eq!(choose("gzip;q=2"), None);
        assert_eq!(choose("gzip;q=abc, br;q=0.001"), Some(Coding::Brotli));
        assert_eq!(choose("gzip;q=0.1234"), None);
    }

    fn generated(body: &str) -> Response {
        let mut response = Response::new(Body::from(body.to_owned()));
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        mark(&mut response);
        response
    }

    fn gunzip(bytes: &[u8]) -> String {
        let mut out = String::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut out)
            .unwrap();
        out
    }

    fn unbrotli(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        brotli::Decompressor::new(bytes, 4096)
            .read_to_end(&mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn generated_bodies_round_trip_in_either_coding() {
        let page = "<p>hello, compressible page</p>\n".repeat(100);
        for (accept, token) in [("gzip", "gzip"), ("br, gzip", "br")] {
            let mut response = generated(&page);
            apply(&mut response, Some(&HeaderValue::from_static(accept)));
            assert_eq!(response.headers()[header::CONTENT_ENCODING], token);
            assert_eq!(response.headers()[header::VARY], "Accept-Encoding");
            let coded = response.body().buffer().unwrap().clone();
            assert!(coded.len() < page.len() / 4);
            assert_eq!(
                response.headers()[header::CONTENT_LENGTH],
                coded.len().to_string().as_str()
            );
            assert_eq!(response.body().len(), coded.len() as u64);
            let decoded = if token == "gzip" {
                gunzip(&coded)
            } else {
                unbrotli(&coded)
            };
            assert_eq!(decoded, page);
        }
    }

    #[test]
    fn small_unmarked_or_unaccepted_bodies_pass_untouched() {
        let page = "x".repeat(4096);
        // Not asked for: identity, but Vary says the choice depended on the header.
        let mut response = generated(&page);
        apply(&mut response, None);
        assert!(!response.headers().contains_key(header::CONTENT_ENCODING));
        assert_eq!(response.headers()[header::VARY], "Accept-Encoding");
        assert_eq!(response.body().len(), 4096);
        // Under the threshold.
        let mut response = generated(&"x".repeat(MIN_BYTES - 1));
        apply(&mut response, Some(&HeaderValue::from_static("gzip")));
        assert!(!response.headers().contains_key(header::CONTENT_ENCODING));
        // Not generated (content as stored): no coding, no Vary.
        let mut response = Response::new(Body::from(page.clone()));
        apply(&mut response, Some(&HeaderValue::from_static("gzip")));
        assert!(!response.headers().contains_key(header::CONTENT_ENCODING));
        assert!(!response.headers().contains_key(header::VARY));
        // A 206 keeps its bytes.
        let mut response = generated(&page);
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        apply(&mut response, Some(&HeaderValue::from_static("gzip")));
        assert!(!response.headers().contains_key(header::CONTENT_ENCODING));
    }

    #[test]
    fn vary_is_merged_once() {
        let mut response = generated("x");
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Accept"));
        apply(&mut response, None);
        apply(&mut response, None);
        assert_eq!(response.headers()[header::VARY], "Accept, Accept-Encoding");
    }
}
