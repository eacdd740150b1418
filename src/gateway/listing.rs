//! Directory listings: the compact JSON array of the Agregore spec (names, `/` after
//! directories) and an HTML page for browsers (names, sizes, CIDs, breadcrumbs), everything
//! escaped. Both are built from the directory's own blocks (see `services::dir`).

use std::fmt::Write;
use std::sync::LazyLock;

use sha2::{Digest, Sha256};

use super::path::encode_segment;
use crate::http::error::escape_html;
use crate::ipld::cid::to_v1_string;
use crate::services::dir::{self, DirEntry};
use crate::store::Blockstore;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;\
padding:0 1em;color:#222}h1{font-size:1.1em;word-break:break-all}\
table{border-collapse:collapse;width:100%}td{padding:.3em .6em;border-bottom:1px solid #eee}\
td.size{text-align:right;white-space:nowrap;color:#666}td.cid{font-family:monospace;\
font-size:.85em}a{color:#0b5cad;text-decoration:none}a:hover{text-decoration:underline}\
.crumbs a{margin:0 .1em}";

/// Identifies this version of the page layout, for the listing's Etag
/// (`"DirIndex-<hash>_CID-<cid>"`): a change to the page changes every listing's Etag.
pub static ASSET_HASH: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::new()
        .chain_update(STYLE)
        .chain_update(env!("CARGO_PKG_VERSION"))
        .finalize();
    digest[..8].iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
});

/// `["a.txt","sub/"]`: names in block order, `/` after directories.
pub fn json(store: &Blockstore, entries: &[DirEntry]) -> String {
    let names: Vec<String> = entries
        .iter()
        .map(|entry| {
            let mut name = entry.name().to_owned();
            if dir::entry_is_directory(store, entry) {
                name.push('/');
            }
            name
        })
        .collect();
    serde_json::to_string(&names).unwrap_or_else(|_| "[]".to_owned())
}

/// The HTML page for `request_path` (which ends in `/`).
pub fn html(request_path: &str, dir_cid: &str, entries: &[DirEntry]) -> String {
    let mut page = String::with_capacity(1024 + entries.len() * 256);
    let title = escape_html(&decode_for_display(request_path));
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\n<h1 class=\"crumbs\">"
    );
    breadcrumbs(&mut page, request_path);
    let _ = write!(
        page,
        "</h1>\n<p>CID: <a class=\"cid\" href=\"/ipfs/{dir_cid}/\">{dir_cid}</a></p>\n<table>\n"
    );
    if request_path.trim_end_matches('/').matches('/').count() > 2 {
        page.push_str("<tr><td><a href=\"..\">..</a></td><td></td><td></td></tr>\n");
    }
    for entry in entries {
        let name = entry.name();
        let href = format!("{request_path}{}", encode_segment(name));
        let cid = to_v1_string(&entry.cid);
        let size = entry.tsize.map(human_bytes).unwrap_or_default();
        let _ = writeln!(
            page,
            "<tr><td><a href=\"{}\">{}</a></td><td class=\"cid\"><a href=\"/ipfs/{cid}?filename={}\">{}</a></td><td class=\"size\">{size}</td></tr>",
            escape_html(&href),
            escape_html(name),
            escape_html(&encode_segment(name)),
            short_cid(&cid),
        );
    }
    page.push_str("</table>\n</body></html>\n");
    page
}

/// Links each ancestor of the path: `/ipfs/<cid>/a/b/` → `ipfs / <cid> / a / b`.
fn breadcrumbs(page: &mut String, request_path: &str) {
    let mut so_far = String::with_capacity(request_path.len());
    for (i, part) in request_path.trim_matches('/').split('/').enumerate() {
        so_far.push('/');
        so_far.push_str(part);
        page.push_str(" / ");
        if i == 0 {
            page.push_str(&escape_html(part));
        } else {
            let _ = write!(
                page,
                "<a href=\"{}/\">{}</a>",
                escape_html(&so_far),
                escape_html(&decode_for_display(part))
            );
        }
    }
}

fn decode_for_display(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

fn short_cid(cid: &str) -> String {
    if cid.len() <= 16 {
        cid.to_owned()
    } else {
        format!("{}\u{2026}{}", &cid[..8], &cid[cid.len() - 6..])
    }
}

/// Sizes as Kubo's listing shows them (SI units, like go-humanize's `Bytes`).
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if n < 10 {
        return format!("{n} B");
    }
    let exp = ((n as f64).ln() / 1000f64.ln()).floor() as usize;
    let exp = exp.min(UNITS.len() - 1);
    let value = n as f64 / 1000f64.powi(exp as i32);
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[exp])
    } else {
        format!("{value:.0} {}", UNITS[exp])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_go_humanize() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(9), "9 B");
        assert_eq!(human_bytes(82), "82 B");
        assert_eq!(human_bytes(1000), "1.0 kB");
        assert_eq!(human_bytes(1234), "1.2 kB");
        assert_eq!(human_bytes(12345), "12 kB");
        assert_eq!(human_bytes(5_000_000), "5.0 MB");
    }

    #[test]
    fn page_escapes_names_and_paths() {
        let page = html("/ipfs/bafy/<x>/", "bafy", &[]);
        assert!(!page.contains("<x>"));
        assert!(page.contains("&lt;x&gt;"));
    }
}
