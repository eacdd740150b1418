//! Directory listings: the compact JSON array of the Agregore spec (names, `/` after
//! directories) and an HTML page for browsers (names, sizes, CIDs, breadcrumbs), everything
//! escaped. Both are built from the directory's own blocks (see `services::dir`, which bounds
//! the entries a listing holds) and are at most [`MAX_LISTING_BYTES`] long: a listing that
//! would be longer is refused (501) rather than built.

use std::fmt::Write;
use std::sync::LazyLock;

use sha2::{Digest, Sha256};

use super::path::{decode_path, escape_path};
use crate::http::error::escape_html;
use crate::http::page as shell;
use crate::http::HttpError;
use crate::ipld::cid::to_v1_string;
use crate::services::dir::{self, DirEntry};
use crate::services::go_url::query_escape_into;
use crate::store::BlockSource;

/// Bumped when the listing's markup changes (the stylesheet is hashed as it is).
const LAYOUT_REVISION: &str = "2";

/// Identifies this version of the page layout, for the listing's Etag
/// (`"DirIndex-<hash>_CID-<cid>"`): a change to the page changes every listing's Etag.
pub static ASSET_HASH: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::new()
        .chain_update(shell::STYLE)
        .chain_update(LAYOUT_REVISION)
        .chain_update(env!("CARGO_PKG_VERSION"))
        .finalize();
    digest[..8].iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
});

/// Longest listing body built (JSON or HTML).
pub const MAX_LISTING_BYTES: usize = 32 << 20;

fn too_long() -> HttpError {
    HttpError::new(
        http::StatusCode::NOT_IMPLEMENTED,
        format!(
            "this directory's listing would be over {} MiB; its entries are still served by \
             path, and the whole DAG as a CAR (?format=car)",
            MAX_LISTING_BYTES >> 20
        ),
    )
}

/// Entries whose kind is read at once for a JSON listing: enough to keep a disk or a peer
/// busy, few enough that one listing cannot take every blocking thread.
const KIND_READS_IN_FLIGHT: usize = 16;

/// Whether each entry is a directory, read from the entries' own blocks a batch at a time (an
/// entry whose block cannot be had counts as a file).
pub async fn kinds(source: &dyn BlockSource, entries: &[DirEntry]) -> Vec<bool> {
    let mut kinds = Vec::with_capacity(entries.len());
    for batch in entries.chunks(KIND_READS_IN_FLIGHT) {
        let reads = batch
            .iter()
            .map(|entry| dir::entry_is_directory(source, entry));
        kinds.extend(futures_util::future::join_all(reads).await);
    }
    kinds
}

/// `["a.txt","sub/"]`: names in block order, `/` after directories.
pub async fn json(source: &dyn BlockSource, entries: &[DirEntry]) -> Result<String, HttpError> {
    // What the names take once written (quotes, comma, a `/`; escapes can only add more, and
    // the final length is checked too): known before any entry's block is read.
    let length = 2 + entries.iter().map(|e| e.name().len() + 4).sum::<usize>();
    if length > MAX_LISTING_BYTES {
        return Err(too_long());
    }
    let names: Vec<String> = entries
        .iter()
        .zip(kinds(source, entries).await)
        .map(|(entry, is_directory)| {
            let mut name = entry.name().to_owned();
            if is_directory {
                name.push('/');
            }
            name
        })
        .collect();
    let json = serde_json::to_string(&names).unwrap_or_else(|_| "[]".to_owned());
    if json.len() > MAX_LISTING_BYTES {
        return Err(too_long());
    }
    Ok(json)
}

/// Where a listing is shown, for its links.
pub struct ListingPage<'a> {
    /// The content path (`/ipfs/<cid>/a/b/`, `/ipns/<name>/…`): the title and breadcrumbs.
    pub content_path: &'a str,
    /// The request path as the client wrote it (ends in `/`): entry links and the `..` link
    /// are relative to it, so they work on subdomain and DNSLink origins too.
    pub url_path: &'a str,
    /// `//<host>` of the gateway the breadcrumbs and CID links point at: the subdomain
    /// gateway's own host or the DNSLink host; empty on a path gateway (same origin).
    pub gateway_url: &'a str,
    /// On a DNSLink origin no `/ipfs` is mounted: breadcrumbs drop `/ipns/<host>` and CIDs
    /// link to cid.ipfs.tech.
    pub dnslink: bool,
    /// The directory's CID.
    pub dir_cid: &'a str,
    /// Cumulative DAG size, when known.
    pub dag_size: Option<u64>,
}

/// The HTML page, laid out as Kubo's (boxo `assets/directory.html`): "Index of" with
/// breadcrumbs, a `..` link below a content root, then one row per entry with its link, a
/// short CID linking to the entry and its size. Every text is escaped.
///
/// `is_dir` says which entries are directories (see [`kinds`]; missing ones count as files):
/// they get a folder icon, a trailing `/` and the `dir` style, and are told apart from files
/// without relying on colour alone.
pub fn html(
    page: &ListingPage<'_>,
    entries: &[DirEntry],
    is_dir: &[bool],
) -> Result<String, HttpError> {
    let mut out = String::with_capacity((4096 + entries.len() * 480).min(MAX_LISTING_BYTES));
    let title = escape_html(&decode_path(page.content_path));
    shell::start(&mut out, &title);
    out.push_str("<header>\n<h1>\nIndex of\n");
    breadcrumbs(&mut out, page);
    let _ = write!(
        out,
        "\n</h1>\n<div class=\"muted\">CID <span class=\"ipfs-hash\" translate=\"no\">{}</span></div>\n",
        escape_html(page.dir_cid)
    );
    if let Some(size) = page.dag_size {
        let _ = writeln!(
            out,
            "<div class=\"size muted\">Total size <strong title=\"Cumulative size of IPFS DAG (data + metadata)\">{}</strong></div>",
            human_bytes(size)
        );
    }
    out.push_str(
        "</header>\n<section>\n<table>\n<thead><tr><th></th><th>Name</th><th>CID</th>\
         <th class=\"size\">Size</th></tr></thead>\n",
    );
    let decoded_url = decode_path(page.url_path);
    if !is_content_root(page.content_path) {
        let back = if decoded_url.ends_with('/') {
            format!("{decoded_url}..")
        } else {
            format!("{decoded_url}/..")
        };
        let _ = writeln!(
            out,
            "<tr class=\"up\"><td class=\"icon\">{UP_ICON}</td><td class=\"name\"><a href=\"{}\">..</a></td><td></td><td></td></tr>",
            escape_html(&escape_path(&back))
        );
    }
    for (i, entry) in entries.iter().enumerate() {
        if out.len() > MAX_LISTING_BYTES {
            return Err(too_long());
        }
        let name = entry.name();
        let dir = is_dir.get(i).copied().unwrap_or(false);
        // As Kubo links entries, folders too (no trailing `/`: the conformance suite expects
        // `<a href="/ipfs">ipfs</a>`); the folder then redirects to its listing.
        let href = escape_path(&join_clean(&decoded_url, name)).into_owned();
        let cid = to_v1_string(&entry.cid);
        let size = entry.tsize.map(human_bytes).unwrap_or_default();
        let cid_link = if page.dnslink {
            format!(
                "href=\"https://cid.ipfs.tech/#{}\" target=\"_blank\" rel=\"noreferrer noopener\"",
                escape_html(&escape_path(&cid))
            )
        } else {
            // The name is path-escaped, then escaped again as a query value (Kubo's template
            // does the same, and links in the wild rely on it).
            let mut filename = String::new();
            query_escape_into(escape_path(name).as_bytes(), &mut filename);
            format!(
                "href=\"{}/ipfs/{}?filename={}\"",
                escape_html(page.gateway_url),
                escape_html(&escape_path(&cid)),
                escape_html(&filename)
            )
        };
        let (class, icon, slash) = if dir {
            (" class=\"dir\"", DIR_ICON, "<span class=\"slash\">/</span>")
        } else {
            ("", FILE_ICON, "")
        };
        let _ = writeln!(
            out,
            "<tr{class}><td class=\"icon\">{icon}</td><td class=\"name\"><a href=\"{}\">{}</a>{slash}</td>\
             <td class=\"cid\"><a class=\"ipfs-hash\" translate=\"no\" {cid_link}>{}</a></td>\
             <td class=\"size\" title=\"Cumulative size of IPFS DAG (data + metadata)\">{size}</td></tr>",
            escape_html(&href),
            escape_html(name),
            short_cid(&cid),
        );
    }
    out.push_str("</table>\n</section>\n");
    shell::end(&mut out);
    if out.len() > MAX_LISTING_BYTES {
        return Err(too_long());
    }
    Ok(out)
}

/// Inline icons (no external asset, no emoji font needed); `aria-label` names the kind.
const DIR_ICON: &str = "<svg class=\"i\" viewBox=\"0 0 16 16\" role=\"img\" aria-label=\"folder\">\
<path d=\"M1.5 3A1.5 1.5 0 0 0 0 4.5v8A1.5 1.5 0 0 0 1.5 14h13a1.5 1.5 0 0 0 1.5-1.5v-7A1.5 1.5 0 0 0 \
14.5 4H7.7L6.3 2.6A2 2 0 0 0 4.9 2H1.5z\"/></svg>";
const FILE_ICON: &str = "<svg class=\"i\" viewBox=\"0 0 16 16\" role=\"img\" aria-label=\"file\">\
<path d=\"M3.5 0A1.5 1.5 0 0 0 2 1.5v13A1.5 1.5 0 0 0 3.5 16h9a1.5 1.5 0 0 0 1.5-1.5V5L9 0H3.5zM9 1.5 \
12.5 5H9.5a.5.5 0 0 1-.5-.5V1.5z\"/></svg>";
const UP_ICON: &str =
    "<svg class=\"i\" viewBox=\"0 0 16 16\" role=\"img\" aria-label=\"parent folder\">\
<path d=\"M8 2 2.5 7.5l1.4 1.4L7 5.8V14h2V5.8l3.1 3.1 1.4-1.4z\"/></svg>";

/// `/ipfs/<cid>` or `/ipfs/<cid>/`: nothing above it to go back to.
fn is_content_root(content_path: &str) -> bool {
    let parts: Vec<&str> = content_path.split('/').collect();
    parts.len() == 3 || (parts.len() == 4 && parts[3].is_empty())
}

/// `base` joined with `name` and lexically cleaned, as Go's `path.Join` does it.
fn join_clean(base: &str, name: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for part in base.split('/').chain(std::iter::once(name)) {
        match part {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            part => segments.push(part),
        }
    }
    let mut joined = String::with_capacity(base.len() + name.len() + 1);
    for segment in segments {
        joined.push('/');
        joined.push_str(segment);
    }
    if joined.is_empty() {
        joined.push('/');
    }
    joined
}

/// `Index of /ipfs/<cid>/a/b`, each segment after the namespace linking to its path on the
/// gateway (boxo `assets.Breadcrumbs`); on a DNSLink origin the `/ipns/<host>` prefix is the
/// site root.
fn breadcrumbs(out: &mut String, page: &ListingPage<'_>) {
    let decoded = decode_path(page.content_path);
    let segments: Vec<&str> = decoded.split('/').filter(|s| !s.is_empty()).collect();
    let mut so_far = String::with_capacity(decoded.len());
    for (i, segment) in segments.iter().enumerate() {
        so_far.push('/');
        so_far.push_str(segment);
        out.push('/');
        if i == 0 {
            out.push_str(&escape_html(segment));
            continue;
        }
        let target = if page.dnslink {
            if i == 1 {
                "/".to_owned()
            } else {
                let prefix_len = segments[0].len() + segments[1].len() + 2;
                so_far[prefix_len..].to_owned()
            }
        } else {
            so_far.clone()
        };
        let _ = write!(
            out,
            "<a href=\"{}{}\">{}</a>",
            escape_html(page.gateway_url),
            escape_html(&escape_path(&target)),
            escape_html(segment)
        );
    }
}

/// `bafy…wxyz`, as Kubo shortens CIDs in listings.
fn short_cid(cid: &str) -> String {
    if cid.len() <= 8 {
        cid.to_owned()
    } else {
        format!("{}\u{2026}{}", &cid[..4], &cid[cid.len() - 4..])
    }
}

/// Sizes as Kubo's listing shows them (SI units, like go-humanize's `Bytes`).
pub(super) fn human_bytes(n: u64) -> String {
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
        let page = ListingPage {
            content_path: "/ipfs/bafy/<x>/",
            url_path: "/ipfs/bafy/%3Cx%3E/",
            gateway_url: "",
            dnslink: false,
            dir_cid: "bafy",
            dag_size: None,
        };
        let page = html(&page, &[], &[]).unwrap();
        assert!(!page.contains("<x>"));
        assert!(page.contains("&lt;x&gt;"));
    }

    #[test]
    fn breadcrumbs_and_back_links_follow_the_origin() {
        let mut page = ListingPage {
            content_path: "/ipfs/bafyroot/%C4%85/%C4%99/",
            url_path: "/ipfs/bafyroot/%C4%85/%C4%99/",
            gateway_url: "",
            dnslink: false,
            dir_cid: "bafydir",
            dag_size: Some(1234),
        };
        let text = html(&page, &[], &[]).unwrap();
        assert!(text.contains(
            r#"/ipfs/<a href="/ipfs/bafyroot">bafyroot</a>/<a href="/ipfs/bafyroot/%C4%85">ą</a>/<a href="/ipfs/bafyroot/%C4%85/%C4%99">ę</a>"#
        ));
        assert!(text.contains(r#"<a href="/ipfs/bafyroot/%C4%85/%C4%99/..">..</a>"#));
        page.content_path = "/ipns/example.org/%C4%85/";
        page.url_path = "/%C4%85/";
        page.gateway_url = "//example.org";
        page.dnslink = true;
        let text = html(&page, &[], &[]).unwrap();
        assert!(text.contains(
            r#"/ipns/<a href="//example.org/">example.org</a>/<a href="//example.org/%C4%85">ą</a>"#
        ));
        assert!(text.contains(r#"<a href="/%C4%85/..">..</a>"#));
        page.content_path = "/ipns/example.org/";
        page.url_path = "/";
        assert!(!html(&page, &[], &[]).unwrap().contains(">..</a>"));
    }

    #[test]
    fn folders_are_marked_and_files_are_not() {
        let cid: cid::Cid = "bafkqaaa".parse().unwrap();
        let entries = [
            DirEntry::for_test("docs", cid),
            DirEntry::for_test("a.txt", cid),
        ];
        let page = ListingPage {
            content_path: "/ipfs/bafy/",
            url_path: "/ipfs/bafy/",
            gateway_url: "",
            dnslink: false,
            dir_cid: "bafy",
            dag_size: None,
        };
        let text = html(&page, &entries, &[true, false]).unwrap();
        let row = |name: &str| {
            text.lines()
                .find(|line| line.contains(&format!(">{name}</a>")))
                .unwrap_or_else(|| panic!("no row for {name}: {text}"))
                .to_owned()
        };
        let docs = row("docs");
        assert!(docs.starts_with("<tr class=\"dir\">"), "{docs}");
        assert!(docs.contains("aria-label=\"folder\""), "{docs}");
        assert!(
            docs.contains(r#"<a href="/ipfs/bafy/docs">docs</a><span class="slash">/</span>"#),
            "{docs}"
        );
        let file = row("a.txt");
        assert!(file.starts_with("<tr>"), "{file}");
        assert!(file.contains("aria-label=\"file\""), "{file}");
        assert!(
            file.contains(r#"<a href="/ipfs/bafy/a.txt">a.txt</a></td>"#),
            "{file}"
        );
        // Kinds not known count as files.
        let text = html(&page, &entries, &[]).unwrap();
        assert!(!text.contains("<tr class=\"dir\">"), "{text}");
    }

    #[test]
    fn joins_like_go_path_join() {
        assert_eq!(join_clean("/ipfs/x/a/", "b.txt"), "/ipfs/x/a/b.txt");
        assert_eq!(join_clean("/", "hello"), "/hello");
        assert_eq!(join_clean("/a/./b/../", "c"), "/a/c");
    }

    #[test]
    fn listings_longer_than_the_bound_are_refused() {
        let cid: cid::Cid = "bafkqaaa".parse().unwrap();
        let long = "n".repeat(1 << 20);
        let entries: Vec<DirEntry> = (0..(MAX_LISTING_BYTES >> 20) + 1)
            .map(|i| DirEntry::for_test(&format!("{long}{i}"), cid))
            .collect();
        let page = ListingPage {
            content_path: "/ipfs/bafy/",
            url_path: "/ipfs/bafy/",
            gateway_url: "",
            dnslink: false,
            dir_cid: "bafy",
            dag_size: None,
        };
        let html = html(&page, &entries, &[]).unwrap_err();
        assert_eq!(html.status, http::StatusCode::NOT_IMPLEMENTED);
        let store = crate::services::testing::store_with(&[]).1;
        let refused = crate::test_support::block_on(json(&*store, &entries)).unwrap_err();
        assert_eq!(refused.status, http::StatusCode::NOT_IMPLEMENTED);
        // One entry fewer fits in JSON.
        let fits = &entries[..entries.len() - 2];
        assert!(crate::test_support::block_on(json(&*store, fits)).is_ok());
    }
}
