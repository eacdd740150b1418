//! Pages for people, against the real binary: HTML error pages for browsers (plain text for
//! API clients), folder markers in listings, clickable links in DAG previews, the page after
//! a browser upload, and gzip/brotli compression of generated responses — never of content
//! as stored.

mod support;

use std::io::Read;

use support::{form, http_request_with_body, Response, Server};

const DIR_LISTING: &str = "bafybeig6ka5mlwkl4subqhaiatalkcleo4jgnr3hqwvpmsqfca27cijp3i";
const DIR_WITH_FILES: &str = "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";
const DAG_JSON: &str = "baguqeeram5ujjqrwheyaty3w5gdsmoz6vittchvhk723jjqxk7hakxkd47xq";
const DAG_CBOR: &str = "bafyreibs4utpgbn7uqegmd2goqz4bkyflre2ek2iwv743fhvylwi4zeeim";
/// `multiblock.txt` of the trustless fixtures: 1026 bytes of text in five raw leaves.
const MULTIBLOCK: &str = "bafybeigcisqd7m5nf3qmuvjdbakl5bdnh4ocrmacaqkpuh77qjvggmt2sa";

const BROWSER: (&str, &str) = (
    "Accept",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
);

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn vary_names(r: &Response) -> Vec<String> {
    r.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("vary"))
        .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_ascii_lowercase()))
        .collect()
}

#[test]
fn browsers_get_an_error_page_and_api_clients_plain_text() {
    let server = Server::with_fixtures();
    // `<script>` in the path: shown decoded, never as markup.
    let path = format!("/ipfs/{DIR_WITH_FILES}/sub/%3Cscript%3Ealert(1).txt");
    let plain = server.get(&path);
    assert_eq!(plain.status, 404, "{}", plain.text());
    assert_eq!(
        plain.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let message = plain.text();
    assert!(
        message.ends_with('\n') && !message.contains('<'),
        "{message}"
    );

    let page = server.request("GET", &path, &[BROWSER]);
    assert_eq!(page.status, 404);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("access-control-allow-origin"), Some("*"));
    let html = page.text();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("/sub/&lt;script&gt;alert(1).txt"), "{html}");
    // The message API clients get is on the page too (escaped).
    let escaped_message = message
        .trim_end()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    assert!(html.contains(&escaped_message), "{html}");
    // What to do next: the parent, the raw block and the CAR.
    assert!(
        html.contains(&format!(r#"href="/ipfs/{DIR_WITH_FILES}/sub/""#)),
        "{html}"
    );
    assert!(
        html.contains(&format!(r#"href="{path}?format=raw""#)),
        "{html}"
    );
    assert!(
        html.contains(&format!(r#"href="{path}?format=car""#)),
        "{html}"
    );

    // HEAD: the page's headers, no body.
    let head = server.request("HEAD", &path, &[BROWSER]);
    assert_eq!(head.status, 404);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-type"),
        Some("text/html; charset=utf-8")
    );
}

#[test]
fn a_timeout_page_says_to_try_again() {
    // A DNSLink lookup that never gets an answer outlasts the 1 s retrieval timeout.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let resolver = silent.local_addr().unwrap().to_string();
    let server = Server::start_in_with_env(
        tempfile::tempdir().unwrap(),
        &["--dns-resolver", &resolver, "--retrieval-timeout", "1s"],
        &[("IPFS_NS_MAP", "")],
    );
    let r = server.request("GET", "/ipns/some.example.org/a/b", &[BROWSER]);
    assert_eq!(r.status, 504, "{r:?}");
    let html = r.text();
    assert!(html.contains("could not be fetched in time"), "{html}");
    assert!(html.contains("Unable to retrieve content within timeout period (1 s)"));
    assert!(html.contains(r#"href="">Try again</a>"#), "{html}");
    assert!(
        html.contains(r#"href="/ipns/some.example.org/a/""#),
        "{html}"
    );
    // API clients keep the plain text.
    let r = server.get("/ipns/some.example.org/");
    assert_eq!(r.status, 504);
    assert_eq!(
        r.text(),
        "Unable to retrieve content within timeout period (1 s)\n"
    );
    drop(silent);
}

#[test]
fn listings_mark_folders() {
    let server = Server::with_fixtures();
    let r = server.request("GET", &format!("/ipfs/{DIR_LISTING}/"), &[BROWSER]);
    assert_eq!(r.status, 200);
    let html = r.text();
    // Every entry of this directory is a folder.
    for name in ["api", "ipfs", "ipns", "ą"] {
        let row = html
            .lines()
            .find(|line| line.contains(&format!(">{name}</a>")))
            .unwrap_or_else(|| panic!("no row for {name}: {html}"));
        assert!(row.starts_with("<tr class=\"dir\">"), "{row}");
        assert!(row.contains("aria-label=\"folder\""), "{row}");
        assert!(
            row.contains(&format!(">{name}</a><span class=\"slash\">/</span>")),
            "{row}"
        );
    }
    // A directory of files: no folder marker.
    let r = server.request("GET", &format!("/ipfs/{DIR_WITH_FILES}/"), &[BROWSER]);
    let html = r.text();
    let row = html
        .lines()
        .find(|line| line.contains(">hello.txt</a>"))
        .unwrap_or_else(|| panic!("{html}"));
    assert!(
        row.starts_with("<tr>") && row.contains("aria-label=\"file\""),
        "{row}"
    );
}

#[test]
fn dag_previews_link_the_cids_they_hold() {
    let server = Server::with_fixtures();
    for root in [DAG_JSON, DAG_CBOR] {
        let r = server.request("GET", &format!("/ipfs/{root}/"), &[BROWSER]);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("content-type"), Some("text/html"));
        let html = r.text();
        let links: Vec<&str> = html
            .split("<a class=\"cid\" href=\"/ipfs/")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .collect();
        assert!(!links.is_empty(), "{root}: no link in {html}");
        // Each link leads to a block that is there.
        for cid in links {
            let r = server.get(&format!("/ipfs/{cid}?format=raw"));
            assert_eq!(r.status, 200, "{root} links to {cid}");
        }
    }
}

#[test]
fn a_browser_upload_gets_a_page_with_the_new_cid() {
    let server = Server::start_in(tempfile::tempdir().unwrap(), &["--writable"]);
    let (content_type, body) = form(&[
        ("file", Some("notes <1>.txt"), "text/plain", b"first\n"),
        ("file", Some("b.txt"), "text/plain", b"second\n"),
    ]);
    let upload = |headers: &[(&str, &str)]| {
        let mut all = vec![("Content-Type", content_type.as_str())];
        all.extend_from_slice(headers);
        http_request_with_body(server.addr, "POST", "/ipfs/", &all, &body)
    };
    let api = upload(&[]);
    assert_eq!(api.status, 201, "{}", api.text());
    assert!(api.body.is_empty());
    let cid = api.header("ipfs-hash").unwrap().to_owned();
    let location = api.header("location").unwrap().to_owned();
    assert_eq!(location, format!("ipfs://{cid}/"));

    let page = upload(&[BROWSER]);
    assert_eq!(page.status, 201);
    assert_eq!(page.header("ipfs-hash"), Some(cid.as_str()));
    assert_eq!(page.header("location"), Some(location.as_str()));
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text();
    assert!(
        html.contains(&format!(r#"href="/ipfs/{cid}/" translate="no">{cid}</a>"#)),
        "{html}"
    );
    assert!(html.contains("notes &lt;1&gt;.txt"), "{html}");
    assert!(!html.contains("<1>"), "{html}");
    // The linked CID serves what was uploaded.
    let listed = server.get(&format!("/ipfs/{cid}/b.txt"));
    assert_eq!(listed.body, b"second\n");
}

#[test]
fn generated_responses_are_compressed_as_accepted() {
    let server = Server::with_fixtures();
    let listing = format!("/ipfs/{DIR_LISTING}/");
    let identity = server.request("GET", &listing, &[BROWSER]);
    assert_eq!(identity.status, 200);
    assert!(identity.header("content-encoding").is_none());
    assert!(identity.body.len() > 1024);
    assert!(vary_names(&identity).contains(&"accept-encoding".to_owned()));
    assert!(vary_names(&identity).contains(&"accept".to_owned()));
    for (accept, coding) in [
        ("gzip", "gzip"),
        ("gzip, deflate, br", "br"),
        ("br;q=0.4, gzip;q=0.9", "gzip"),
        ("br;q=1.0, gzip;q=0.5, *;q=0", "br"),
    ] {
        let r = server.request("GET", &listing, &[BROWSER, ("Accept-Encoding", accept)]);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-encoding"), Some(coding), "{accept}");
        assert_eq!(
            r.header("content-length"),
            Some(r.body.len().to_string().as_str())
        );
        assert!(vary_names(&r).contains(&"accept-encoding".to_owned()));
        let decoded = if coding == "gzip" {
            gunzip(&r.body)
        } else {
            unbrotli(&r.body)
        };
        assert_eq!(decoded, identity.body, "{accept}");
        // The Etag is the page's, whatever its coding (clients echo it in If-None-Match).
        assert_eq!(r.header("etag"), identity.header("etag"));
    }
    // Nothing acceptable: identity.
    let r = server.request(
        "GET",
        &listing,
        &[BROWSER, ("Accept-Encoding", "gzip;q=0, br;q=0")],
    );
    assert!(r.header("content-encoding").is_none());
    assert_eq!(r.body, identity.body);
    // HEAD says what GET would send.
    let head = server.request("HEAD", &listing, &[BROWSER, ("Accept-Encoding", "br")]);
    assert_eq!(head.header("content-encoding"), Some("br"));
    assert!(head.body.is_empty());

    // An error page, and a DAG preview.
    let missing = format!("/ipfs/{DIR_WITH_FILES}/nope");
    let page = server.request("GET", &missing, &[BROWSER]);
    let r = server.request("GET", &missing, &[BROWSER, ("Accept-Encoding", "gzip")]);
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&r.body), page.body);
    let preview = format!("/ipfs/{DAG_JSON}/");
    let page = server.request("GET", &preview, &[BROWSER]);
    let r = server.request("GET", &preview, &[BROWSER, ("Accept-Encoding", "br")]);
    assert_eq!(r.header("content-encoding"), Some("br"));
    assert_eq!(unbrotli(&r.body), page.body);

    // Small bodies (a JSON listing of four names, a plain error) are sent as they are.
    let r = server.request("GET", &listing, &[("Accept-Encoding", "gzip, br")]);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("content-encoding").is_none());
    assert!(vary_names(&r).contains(&"accept-encoding".to_owned()));
    let r = server.request("GET", &missing, &[("Accept-Encoding", "gzip, br")]);
    assert_eq!(r.status, 404);
    assert!(r.header("content-encoding").is_none());
}

#[test]
fn content_as_stored_is_never_compressed() {
    let server = Server::with_fixtures();
    let coded = [("Accept-Encoding", "gzip, br"), BROWSER];
    // A text file over the threshold, whole and as a range.
    let plain = server.get(&format!("/ipfs/{MULTIBLOCK}"));
    assert_eq!(plain.status, 200);
    assert_eq!(plain.body.len(), 1026);
    let r = server.request("GET", &format!("/ipfs/{MULTIBLOCK}"), &coded);
    assert!(r.header("content-encoding").is_none(), "{r:?}");
    assert!(
        !vary_names(&r).contains(&"accept-encoding".to_owned()),
        "{r:?}"
    );
    assert_eq!(r.body, plain.body);
    // Raw blocks, CARs and DAG-JSON served as itself.
    for query in ["?format=raw", "?format=car", ""] {
        for target in [MULTIBLOCK, DAG_JSON] {
            let path = format!("/ipfs/{target}{query}");
            let plain = server.get(&path);
            let r = server.request("GET", &path, &[("Accept-Encoding", "gzip, br")]);
            assert_eq!(r.status, plain.status, "{path}");
            assert!(r.header("content-encoding").is_none(), "{path}: {r:?}");
            assert_eq!(r.body, plain.body, "{path}");
        }
    }
}
