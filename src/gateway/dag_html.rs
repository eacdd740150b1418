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
    not_modified, not_modified_response, redirect_to_trailing_slash, with_status, Ask, Origin,
};
use crate::http::error::escape_html;
use crate::http::header_text::HeaderText;
use crate::http::{compress, page as shell, Body, HttpError, Response};
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
    let links = match ask.origin {
        Origin::Path => LinkBase::Path,
        Origin::Subdomain { gateway } => LinkBase::Gateway(gateway),
        Origin::DnsLink { .. } => LinkBase::Inspector,
    };
    let page = page(
        ask.content_path,
        cid_text.as_str(),
        block_codec,
        block,
        links,
    );
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    text.set_u64(header::CONTENT_LENGTH, page.len() as u64);
    text.apply(&mut headers);
    let mut response = with_status(StatusCode::OK, headers, Body::from(page));
    compress::mark(&mut response);
    Ok(response)
}

/// Where the CIDs a preview shows link to: `/ipfs/<cid>` on the gateway that serves it.
#[derive(Debug, Clone, Copy)]
enum LinkBase<'a> {
    /// Same origin (a path gateway): `/ipfs/<cid>`.
    Path,
    /// `//<gateway>/ipfs/<cid>` (a subdomain origin mounts no `/ipfs`; its gateway
    /// redirects to the CID's own subdomain).
    Gateway(&'a str),
    /// A DNSLink origin has no gateway to link to: cid.ipfs.tech explains the CID.
    Inspector,
}

impl LinkBase<'_> {
    fn href(&self, cid: &str) -> String {
        match self {
            LinkBase::Path => format!("/ipfs/{cid}"),
            LinkBase::Gateway(host) => format!("//{host}/ipfs/{cid}"),
            LinkBase::Inspector => format!("https://cid.ipfs.tech/#{cid}"),
        }
    }
}

fn page(
    content_path: &str,
    cid: &str,
    block_codec: u64,
    block: &[u8],
    links: LinkBase<'_>,
) -> String {
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
            Ok(indent_json(&text[..cut]))
        }
        _ => cbor_text::render(block, MAX_PREVIEW),
    };
    let path = escape_html(&super::path::decode_path(content_path));
    let mut out = String::with_capacity(4096 + block.len() * 2);
    shell::start(&mut out, &path);
    let _ = write!(
        out,
        "<header>\n<h1 translate=\"no\">{path}</h1>\n\
         <div><strong>CID:</strong> <code translate=\"no\">{cid}</code></div>\n\
         <div><strong>Codec:</strong> {codec_name} (0x{block_codec:x})</div>\n</header>\n<section>\n\
         <h2>Download this block as</h2>\n<ul class=\"actions\">\n\
         <li><a href=\"?format=raw\" rel=\"nofollow\">Raw block <span class=\"muted\">application/vnd.ipld.raw</span></a></li>\n\
         <li><a href=\"?format=car\" rel=\"nofollow\">CAR <span class=\"muted\">application/vnd.ipld.car</span></a></li>\n\
         <li><a href=\"?format={native_format}\" rel=\"nofollow\">{codec_name} \
         <span class=\"muted\">application/vnd.ipld.{native_format}</span></a></li>\n</ul>\n</section>\n<section>\n"
    );
    match preview {
        Ok(text) => {
            out.push_str(
                "<h2>Data <span class=\"muted\">(links open the block they name)</span></h2>\n",
            );
            out.push_str("<pre class=\"dag\" translate=\"no\">");
            linkify(&mut out, &text, links);
            out.push_str("</pre>\n");
        }
        Err(e) => {
            let _ = writeln!(
                out,
                "<p>This block cannot be previewed: {}</p>",
                escape_html(e.message())
            );
        }
    }
    out.push_str("</section>\n");
    shell::end(&mut out);
    out
}

/// Writes `text` (DAG-JSON, or the DAG-JSON-like rendering of DAG-CBOR) escaped, with the
/// CID of each link — `{"/": "<cid>"}`, the DAG-JSON link form — made a link to that CID.
/// Only a string that parses as a CID becomes a link; everything else stays text.
fn linkify(out: &mut String, text: &str, links: LinkBase<'_>) {
    const LINK_KEY: &str = "\"/\"";
    let mut rest = text;
    while let Some(at) = rest.find(LINK_KEY) {
        let after_key = &rest[at + LINK_KEY.len()..];
        let value = after_key.trim_start();
        let Some(value) = value.strip_prefix(':').map(str::trim_start) else {
            out.push_str(&escape_html(&rest[..at + LINK_KEY.len()]));
            rest = after_key;
            continue;
        };
        let candidate = value
            .strip_prefix('"')
            .and_then(|v| v.split_once('"'))
            .map(|(cid, _)| cid)
            .filter(|cid| {
                !cid.is_empty()
                    && cid.len() <= 256
                    && cid.bytes().all(|b| b.is_ascii_alphanumeric())
            })
            .and_then(|text| crate::ipld::cid::parse(text).ok().map(|cid| (text, cid)));
        let Some((cid_text, cid)) = candidate else {
            out.push_str(&escape_html(&rest[..at + LINK_KEY.len()]));
            rest = after_key;
            continue;
        };
        // Everything up to the CID's opening quote, then the link, then the closing quote.
        let cid_start = text_offset(rest, value) + 1;
        out.push_str(&escape_html(&rest[..cid_start]));
        let target = v1_text(&cid);
        let _ = write!(
            out,
            "<a class=\"cid\" href=\"{}\">{}</a>",
            escape_html(&links.href(target.as_str())),
            escape_html(cid_text)
        );
        rest = &rest[cid_start + cid_text.len()..];
    }
    out.push_str(&escape_html(rest));
}

/// Deepest nesting indented; deeper levels stay at this indentation.
const MAX_INDENT: usize = 32;

/// DAG-JSON as stored is one line; this lays it out as the DAG-CBOR rendering is (two-space
/// indents, `"key": value`, links kept on one line as `{"/": "<cid>"}`). Lexical only — no
/// value is parsed, so numbers and strings show exactly as stored — and bounded: past twice
/// [`MAX_PREVIEW`] the rest is cut with an ellipsis.
fn indent_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut chars = text.char_indices().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth.min(MAX_INDENT) {
            out.push_str("  ");
        }
    };
    while let Some((at, c)) = chars.next() {
        if out.len() > 2 * MAX_PREVIEW {
            out.push('\u{2026}');
            break;
        }
        match c {
            '"' => {
                // A string, copied as it is (escapes included).
                out.push('"');
                let mut escaped = false;
                for (_, c) in chars.by_ref() {
                    out.push(c);
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '{' | '[' => {
                if c == '{' {
                    if let Some((link, len)) = link_at(&text[at..]) {
                        let _ = write!(out, "{{\"/\": \"{link}\"}}");
                        while chars.peek().is_some_and(|(i, _)| *i < at + len) {
                            chars.next();
                        }
                        continue;
                    }
                }
                out.push(c);
                let close = if c == '{' { '}' } else { ']' };
                // `{}` and `[]` stay as they are.
                while chars.peek().is_some_and(|(_, c)| c.is_ascii_whitespace()) {
                    chars.next();
                }
                if chars.peek().is_some_and(|(_, next)| *next == close) {
                    chars.next();
                    out.push(close);
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// `{"/":"<text>"}` (any spacing) at the start of `text`: the link's text (no escapes) and
/// the length of the whole object.
fn link_at(text: &str) -> Option<(&str, usize)> {
    let rest = text.strip_prefix('{')?.trim_start();
    let rest = rest.strip_prefix("\"/\"")?.trim_start();
    let rest = rest.strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let (link, after) = rest.split_once('"')?;
    if link.contains('\\') {
        return None;
    }
    let after = after.trim_start().strip_prefix('}')?;
    Some((link, text.len() - after.len()))
}

/// Where `inner`, a subslice of `outer`, starts in it.
fn text_offset(outer: &str, inner: &str) -> usize {
    inner.as_ptr() as usize - outer.as_ptr() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_shows_cid_codec_and_data() {
        let block = br#"{"hello":"<world>"}"#;
        let text = page(
            "/ipfs/bafyx/",
            "bafyx",
            codec::DAG_JSON,
            block,
            LinkBase::Path,
        );
        assert!(text.contains("bafyx"));
        assert!(text.contains("dag-json (0x129)"));
        assert!(text.contains("&lt;world&gt;"));
        assert!(text.ends_with("</html>\n"));
        // A malformed CBOR block still gets a page, saying why there is no preview.
        let text = page(
            "/ipfs/bafyx/",
            "bafyx",
            codec::DAG_CBOR,
            &[0x65, b'a'],
            LinkBase::Path,
        );
        assert!(text.contains("cannot be previewed"));
    }

    const LEAF: &str = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";

    fn linked(text: &str, links: LinkBase<'_>) -> String {
        let mut out = String::new();
        linkify(&mut out, text, links);
        out
    }

    #[test]
    fn links_in_the_data_are_clickable() {
        // DAG-JSON as stored (no spaces) and as cbor_text renders it.
        let json = format!(r#"{{"a":{{"/":"{LEAF}"}},"b":"<i>"}}"#);
        let out = linked(&json, LinkBase::Path);
        assert!(
            out.contains(&format!(
                r#"&quot;/&quot;:&quot;<a class="cid" href="/ipfs/{LEAF}">{LEAF}</a>&quot;"#
            )),
            "{out}"
        );
        assert!(out.contains("&lt;i&gt;"), "{out}");
        let rendered = format!("{{\n  \"x\": {{\"/\": \"{LEAF}\"}}\n}}");
        let out = linked(&rendered, LinkBase::Gateway("gw.example"));
        assert!(
            out.contains(&format!(
                r#"<a class="cid" href="//gw.example/ipfs/{LEAF}">"#
            )),
            "{out}"
        );
        // A CIDv0 links to its v1 form; text that is no CID stays text.
        let v0 = "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn";
        let out = linked(&format!(r#"{{"/":"{v0}"}}"#), LinkBase::Inspector);
        assert!(
            out.contains("href=\"https://cid.ipfs.tech/#bafybei"),
            "{out}"
        );
        assert!(out.contains(&format!(">{v0}</a>")), "{out}");
        for plain in [
            r#"{"/":"not a cid"}"#,
            r#"{"/":"<script>"}"#,
            r#"{"/": 5}"#,
            r#""/""#,
            r#"{"/":"bafy"#,
        ] {
            let out = linked(plain, LinkBase::Path);
            assert!(!out.contains("<a"), "{plain}: {out}");
            assert!(!out.contains('<') || out.contains("&lt;"), "{out}");
            assert_eq!(out, escape_html(plain));
        }
    }

    #[test]
    fn dag_json_is_laid_out_as_stored() {
        let stored = format!(
            r#"{{"a":{{"/":"{LEAF}"}},"b":[1,2.50,{{}},[]],"c":"x,{{\"y\":[]}}","big":18446744073709551616}}"#
        );
        let out = indent_json(&stored);
        assert_eq!(
            out,
            format!(
                "{{\n  \"a\": {{\"/\": \"{LEAF}\"}},\n  \"b\": [\n    1,\n    2.50,\n    {{}},\n    []\n  ],\n  \
                 \"c\": \"x,{{\\\"y\\\":[]}}\",\n  \"big\": 18446744073709551616\n}}"
            )
        );
        // Deep nesting is indented only so far.
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(indent_json(&deep)
            .lines()
            .all(|l| l.len() <= 2 * MAX_INDENT + 2));
    }

    #[test]
    fn a_dag_cbor_page_links_its_cids() {
        // {"l": CID(LEAF)} as DAG-CBOR.
        let leaf: Cid = LEAF.parse().unwrap();
        let mut block = vec![0xa1, 0x61, b'l', 0xd8, 0x2a, 0x58, 37, 0x00];
        block.extend_from_slice(&leaf.to_bytes());
        let text = page(
            "/ipfs/bafyx/",
            "bafyx",
            codec::DAG_CBOR,
            &block,
            LinkBase::Path,
        );
        assert!(text.contains(&format!(r#"href="/ipfs/{LEAF}""#)), "{text}");
    }
}
