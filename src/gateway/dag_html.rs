//! The HTML preview of a DAG-JSON or DAG-CBOR block for browsers (path-gateway spec: a
//! request with `Accept: text/html` and no explicit format): the CID, the codec and the data
//! as readable DAG-JSON-like text, with links to the raw block and to each format. Not a codec
//! conversion (IPIP-524 keeps HTML rendering): the page is for people.
//!
//! Like boxo: the URL must end in `/` (301 otherwise), the Etag is `"DagIndex-<assets>_CID-<cid>"`
//! (the page changes between versions), no `Cache-Control` and no `Content-Disposition`.

use std::fmt::Write;

use bytes::Bytes;
use cid::Cid;
use http::header::{self, HeaderMap, HeaderValue};
use http::StatusCode;

use super::listing::ASSET_HASH;
use super::response::{
    not_modified, not_modified_response, redirect_to_trailing_slash, with_status, Ask,
};
use crate::http::error::escape_html;
use crate::http::header_text::HeaderText;
use crate::http::{Body, HttpError, Response};
use crate::ipld::cbor_text;
use crate::ipld::cid::{codec, v1_text};

/// Longest preview shown; larger blocks are cut (the raw block link has them whole).
const MAX_PREVIEW: usize = 256 << 10;

pub(super) fn serve(
    ask: &Ask<'_>,
    cid: Cid,
    block_codec: u64,
    block: &Bytes,
    mut text: HeaderText,
) -> Result<Response, HttpError> {
    if !ask.url_path.ends_with('/') {
        return Ok(redirect_to_trailing_slash(ask, text));
    }
    let mut headers = HeaderMap::with_capacity(12);
    let cid_text = v1_text(&cid);
    let etag = format!(
        "\"DagIndex-{}_CID-{}\"",
        ASSET_HASH.as_str(),
        cid_text.as_str()
    );
    text.set(header::ETAG, &etag);
    if not_modified(ask.headers, &etag) {
        return Ok(not_modified_response(text, headers));
    }
    let page = page(ask.content_path, cid_text.as_str(), block_codec, block);
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    text.set_u64(header::CONTENT_LENGTH, page.len() as u64);
    text.apply(&mut headers);
    Ok(with_status(StatusCode::OK, headers, Body::from(page)))
}

fn page(content_path: &str, cid: &str, block_codec: u64, block: &[u8]) -> String {
    // Only DAG-JSON and DAG-CBOR blocks get a preview; each is also its own format's name.
    let codec_name = match block_codec {
        codec::DAG_JSON => codec::name(codec::DAG_JSON),
        _ => codec::name(codec::DAG_CBOR),
    }
    .unwrap_or_default();
    let native_format = codec_name;
    let preview = match block_codec {
        codec::DAG_JSON => {
            let text = String::from_utf8_lossy(block);
            let cut = text
                .char_indices()
                .nth(MAX_PREVIEW)
                .map_or(text.len(), |(i, _)| i);
            Ok(text[..cut].to_owned())
        }
        _ => cbor_text::render(block, MAX_PREVIEW),
    };
    let path = escape_html(&super::path::decode_path(content_path));
    let mut out = String::with_capacity(1024 + block.len() * 2);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1.0\">\n\
         <title>{path}</title>\n</head>\n<body>\n<main id=\"main\">\n<header>\n\
         <strong>CID: <code translate=\"no\">{cid}</code></strong><br>\n\
         <strong>Codec:</strong> {codec_name} (0x{block_codec:x})\n</header>\n<section>\n\
         <p>You can download this block as:</p>\n<ul>\n\
         <li><a href=\"?format=raw\" rel=\"nofollow\">Raw block</a> (application/vnd.ipld.raw)</li>\n\
         <li><a href=\"?format=car\" rel=\"nofollow\">CAR</a> (application/vnd.ipld.car)</li>\n\
         <li><a href=\"?format={native_format}\" rel=\"nofollow\">{codec_name}</a> \
         (application/vnd.ipld.{native_format})</li>\n</ul>\n</section>\n<section>\n"
    );
    match preview {
        Ok(text) => {
            let _ = writeln!(out, "<pre translate=\"no\">{}</pre>", escape_html(&text));
        }
        Err(e) => {
            let _ = writeln!(
                out,
                "<p>This block cannot be previewed: {}</p>",
                escape_html(e.message())
            );
        }
    }
    out.push_str("</section>\n</main>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_shows_cid_codec_and_data() {
        let block = br#"{"hello":"<world>"}"#;
        let text = page("/ipfs/bafyx/", "bafyx", codec::DAG_JSON, block);
        assert!(text.contains("bafyx"));
        assert!(text.contains("dag-json (0x129)"));
        assert!(text.contains("&lt;world&gt;"));
        assert!(text.ends_with("</html>\n"));
        // A malformed CBOR block still gets a page, saying why there is no preview.
        let text = page("/ipfs/bafyx/", "bafyx", codec::DAG_CBOR, &[0x65, b'a']);
        assert!(text.contains("cannot be previewed"));
    }
}
