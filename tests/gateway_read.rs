//! The read side of the gateway, against the real binary over HTTP, with the official
//! conformance fixtures imported.

mod support;

use support::{Response, Server};

const DIR_WITH_FILES: &str = "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";
const DIR_LISTING: &str = "bafybeig6ka5mlwkl4subqhaiatalkcleo4jgnr3hqwvpmsqfca27cijp3i";
const CACHE_ROOT: &str = "bafybeib3ffl2teiqdncv3mkz4r23b5ctrwkzrrhctdbne6iboayxuxk5ui";
const SYMLINK_DIR: &str = "QmWvY6FaqFMS89YAQ9NAPjVP4WZKA1qbHbicc9HeSKQTgt";
const MISSING_BLOCK_FILE: &str = "QmYhmPjhFjYFyaoiuNzYv8WGavpSRDwdHWe5B4M5du5Rtk";
const HAMT_DIR: &str = "bafybeidbclfqleg2uojchspzd4bob56dqetqjsj27gy2cq3klkkgxtpn4i";
const PERCENT_DIR: &str = "bafybeig675grnxcmshiuzdaz2xalm6ef4thxxds6o6ypakpghm5kghpc34";
const HELLO_LF: &str = "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am";

fn assert_cors(r: &Response) {
    assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{r:?}");
    let methods = r.header("access-control-allow-methods").unwrap_or("");
    for m in ["GET", "HEAD", "POST", "PUT", "DELETE"] {
        assert!(methods.contains(m), "{methods}");
    }
    let exposed = r.header("access-control-expose-headers").unwrap_or("");
    for h in [
        "Content-Range",
        "Etag",
        "Ipfs-Hash",
        "Location",
        "X-Chunked-Output",
        "X-Ipfs-Path",
        "X-Ipns-Path",
        "X-Stream-Output",
    ] {
        assert!(exposed.contains(h), "{exposed} lacks {h}");
    }
    let allowed = r.header("access-control-allow-headers").unwrap_or("");
    for h in [
        "Content-Type",
        "Range",
        "User-Agent",
        "X-Ipfs-Pin",
        "X-Requested-With",
    ] {
        assert!(allowed.contains(h), "{allowed} lacks {h}");
    }
}

#[test]
fn files_are_served_byte_for_byte_with_their_headers() {
    let server = Server::with_fixtures();
    let path = format!("/ipfs/{DIR_WITH_FILES}/hello.txt");
    let r = server.get(&path);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, b"hello world\n");
    let hello_cid = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";
    assert_eq!(r.header("etag"), Some(&*format!("\"{hello_cid}\"")));
    assert_eq!(r.header("ipfs-hash"), Some(hello_cid));
    assert_eq!(r.header("x-ipfs-path"), Some(&*path));
    assert_eq!(
        r.header("x-ipfs-roots"),
        Some(&*format!("{DIR_WITH_FILES},{hello_cid}"))
    );
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=29030400, immutable")
    );
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("content-length"), Some("12"));
    assert_cors(&r);

    let r = server.get(&format!("/ipfs/{DIR_WITH_FILES}/ascii.txt"));
    assert_eq!(r.body, b"hello application/vnd.ipld.car\n");

    // A trailing slash on a file still serves the file (js-ipfs-fetch #4).
    let r = server.get(&format!("/ipfs/{DIR_WITH_FILES}/hello.txt/"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello world\n");

    // UTF-8 names, percent-encoded in the URL.
    let r = server.get(&format!(
        "/ipfs/{DIR_LISTING}/%C4%85/%C4%99/file-%C5%BA%C5%82.txt"
    ));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"I am a txt file on path with utf8\n");
    assert_eq!(
        r.header("ipfs-hash"),
        Some("bafkreialihlqnf5uwo4byh4n3cmwlntwqzxxs2fg5vanqdi3d7tb2l5xkm")
    );

    // A name that itself holds "%2C" and "+": the '%' is escaped as %25.
    let r = server.get(&format!(
        "/ipfs/{PERCENT_DIR}/Portugal%252C+Espa%C3%B1a=Peninsula%20Ib%C3%A9rica.txt"
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, b"hello from a percent encoded filename\n");
}

#[test]
fn cidv0_input_gives_cidv1_output() {
    let server = Server::with_fixtures();
    let r = server.get(&format!("/ipfs/{SYMLINK_DIR}/foo"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"content\n");
    let roots = r.header("x-ipfs-roots").unwrap();
    assert!(
        roots.split(',').all(|c| c.starts_with("baf")),
        "roots must be CIDv1: {roots}"
    );
    assert!(r.header("ipfs-hash").unwrap().starts_with("baf"));
    assert!(r.header("etag").unwrap().starts_with("\"baf"));
}

#[test]
fn symlinks_are_served_as_themselves() {
    let server = Server::with_fixtures();
    let r = server.get(&format!("/ipfs/{SYMLINK_DIR}/bar"));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"foo");
    assert_eq!(r.header("content-type"), Some("inode/symlink"));
}

#[test]
fn inline_cids_need_no_store() {
    let server = Server::start_in(tempfile::tempdir().unwrap(), &[]);
    let r = server.get("/ipfs/bafkqabtimvwgy3yk");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello\n");
    assert_cors(&r);
}

#[test]
fn head_has_the_get_headers_and_no_body() {
    let server = Server::with_fixtures();
    let path = format!("/ipfs/{DIR_WITH_FILES}/multiblock.txt");
    let get = server.get(&path);
    let head = server.request("HEAD", &path, &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    for name in [
        "etag",
        "content-length",
        "content-type",
        "x-ipfs-roots",
        "ipfs-hash",
    ] {
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
    assert_eq!(
        get.header("content-length").unwrap(),
        get.body.len().to_string()
    );
}

#[test]
fn if_none_match_answers_304() {
    let server = Server::with_fixtures();
    let path = format!("/ipfs/{DIR_WITH_FILES}/hello.txt");
    let etag = server.get(&path).header("etag").unwrap().to_string();
    let weak = format!("W/{etag}");
    let list = format!("\"nope\", {etag}");
    for value in [etag.as_str(), weak.as_str(), list.as_str(), "*"] {
        let r = server.request("GET", &path, &[("If-None-Match", value)]);
        assert_eq!(r.status, 304, "If-None-Match: {value}");
        assert!(r.body.is_empty());
        assert_eq!(r.header("etag"), Some(etag.as_str()));
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=29030400, immutable")
        );
        assert_cors(&r);
    }
    let r = server.request("GET", &path, &[("If-None-Match", "\"other\"")]);
    assert_eq!(r.status, 200);
}

/// The multi-block file of dir-with-files (256-byte chunks).
fn multiblock(server: &Server) -> Vec<u8> {
    let r = server.get(&format!("/ipfs/{DIR_WITH_FILES}/multiblock.txt"));
    assert_eq!(r.status, 200);
    assert!(r.body.len() > 1024, "expected a multi-block file");
    r.body
}

#[test]
fn single_suffix_and_open_ranges() {
    let server = Server::with_fixtures();
    let full = multiblock(&server);
    let size = full.len();
    let path = format!("/ipfs/{DIR_WITH_FILES}/multiblock.txt");
    let cases = [
        ("bytes=0-4", 0, 4),
        ("bytes=250-700", 250, 700), // across block boundaries
        ("bytes=-10", size - 10, size - 1),
        (&*format!("bytes={}-", size - 3), size - 3, size - 1),
        (&*format!("bytes=5-{}", size + 100), 5, size - 1),
    ];
    for (range, first, last) in cases {
        let r = server.request("GET", &path, &[("Range", range)]);
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(r.body, &full[first..=last], "{range}");
        assert_eq!(
            r.header("content-range"),
            Some(&*format!("bytes {first}-{last}/{size}")),
            "{range}"
        );
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    }
}

#[test]
fn unsatisfiable_and_invalid_ranges() {
    let server = Server::with_fixtures();
    let size = multiblock(&server).len();
    let path = format!("/ipfs/{DIR_WITH_FILES}/multiblock.txt");
    let r = server.request("GET", &path, &[("Range", &format!("bytes={size}-"))]);
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some(&*format!("bytes */{size}")));
    assert_cors(&r);
    let r = server.request("GET", &path, &[("Range", "bytes=9-2")]);
    assert_eq!(r.status, 400);
}

#[test]
fn multiple_ranges_come_as_multipart_byteranges() {
    let server = Server::with_fixtures();
    let full = multiblock(&server);
    let size = full.len();
    let path = format!("/ipfs/{DIR_WITH_FILES}/multiblock.txt");
    let r = server.request("GET", &path, &[("Range", "bytes=0-9, 600-619, -5")]);
    assert_eq!(r.status, 206);
    let content_type = r.header("content-type").unwrap().to_string();
    let boundary = content_type
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap_or_else(|| panic!("{content_type}"));
    assert_eq!(
        r.header("content-length").unwrap(),
        r.body.len().to_string()
    );
    let body = r.body;
    let delimiter = format!("--{boundary}");
    let text = String::from_utf8_lossy(&body);
    let parts: Vec<&str> = text.split(&delimiter).collect();
    // preamble, three parts, closing "--\r\n"
    assert_eq!(parts.len(), 5, "{text}");
    assert!(parts[4].starts_with("--"));
    let expect = [(0, 9), (600, 619), (size - 5, size - 1)];
    for (part, (first, last)) in parts[1..4].iter().zip(expect) {
        let (head, data) = part.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("Content-Range: bytes {first}-{last}/{size}")),
            "{head}"
        );
        assert!(
            head.contains("Content-Type: text/plain; charset=utf-8"),
            "{head}"
        );
        let data = data.strip_suffix("\r\n").unwrap();
        assert_eq!(data.as_bytes(), &full[first..=last]);
    }
}

#[test]
fn if_range_decides_between_range_and_whole() {
    let server = Server::with_fixtures();
    let path = format!("/ipfs/{DIR_WITH_FILES}/multiblock.txt");
    let full = server.get(&path);
    let etag = full.header("etag").unwrap().to_string();
    let r = server.request("GET", &path, &[("Range", "bytes=0-1"), ("If-Range", &etag)]);
    assert_eq!(r.status, 206);
    let r = server.request(
        "GET",
        &path,
        &[("Range", "bytes=0-1"), ("If-Range", "\"something-else\"")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, full.body);
}

#[test]
fn ranges_succeed_when_blocks_outside_them_are_missing() {
    let server = Server::with_fixtures();
    let path = format!("/ipfs/{MISSING_BLOCK_FILE}");
    for (range, len) in [
        ("bytes=0-1023", 1024),
        ("bytes=2048-3071", 1024),
        ("bytes=10-20", 11),
    ] {
        let r = server.request("GET", &path, &[("Range", range)]);
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(r.body.len(), len);
        assert_eq!(
            r.header("content-range").unwrap(),
            format!("bytes {}/3072", range.trim_start_matches("bytes="))
        );
    }
    // The whole file cannot be sent: the connection is cut before a complete body, so no
    // client takes the short body for the file.
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    use std::io::{Read, Write};
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let body_len = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(0, |head_end| raw.len() - head_end - 4);
    assert!(
        body_len < 3072,
        "a body with a missing block must be cut short"
    );
}

#[test]
fn missing_content_is_404_promptly() {
    let server = Server::with_fixtures();
    let start = std::time::Instant::now();
    let r = server.get("/ipfs/bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert!(matches!(r.status, 400 | 404), "{}", r.status);
    let absent = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
    let r = server.get(&format!("/ipfs/{absent}"));
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
    assert_cors(&r);
    let r = server.get(&format!("/ipfs/{DIR_WITH_FILES}/no-such-file"));
    assert_eq!(r.status, 404);
    let r = server.get(&format!("/ipfs/{DIR_WITH_FILES}/hello.txt/deeper"));
    assert_eq!(r.status, 404);
}

#[test]
fn directories_redirect_to_a_trailing_slash_keeping_the_query() {
    let server = Server::with_fixtures();
    let r = server.get(&format!("/ipfs/{DIR_WITH_FILES}"));
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some(&*format!("/ipfs/{DIR_WITH_FILES}/"))
    );
    let r = server.get(&format!("/ipfs/{CACHE_ROOT}/root2?noResolve&x=1"));
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some(&*format!("/ipfs/{CACHE_ROOT}/root2/?noResolve&x=1"))
    );
    assert_cors(&r);
}

#[test]
fn index_html_is_served_for_its_directory_unless_no_resolve() {
    let server = Server::with_fixtures();
    let dir = format!("/ipfs/{CACHE_ROOT}/root2/root3/root4/");
    let r = server.get(&dir);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello\n");
    assert_eq!(r.header("content-type"), Some("text/html"));
    let dir_cid = "bafybeifq2rzpqnqrsdupncmkmhs3ckxxjhuvdcbvydkgvch3ms24k5lo7q";
    assert_eq!(r.header("etag"), Some(&*format!("\"{dir_cid}\"")));
    assert_eq!(r.header("ipfs-hash"), Some(dir_cid));

    let r = server.get(&format!("{dir}?noResolve"));
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), r#"["index.html"]"#);
    assert_eq!(r.header("content-type"), Some("application/json"));
    // The file itself, by path.
    let r = server.get(&format!("{dir}index.html"));
    assert_eq!(r.header("ipfs-hash"), Some(HELLO_LF));
}

#[test]
fn listings_are_json_without_accept_and_html_otherwise() {
    let server = Server::with_fixtures();
    let dir = format!("/ipfs/{DIR_LISTING}/");
    let r = server.get(&dir);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("vary"), Some("Accept, Accept-Encoding"));
    let names: Vec<String> = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(names, ["api/", "ipfs/", "ipns/", "ą/"]);
    let json_etag = r.header("etag").unwrap().to_string();
    assert_eq!(json_etag, format!("\"DirIndex-json_CID-{DIR_LISTING}\""));
    assert_eq!(r.header("ipfs-hash"), Some(DIR_LISTING));

    let r = server.request("GET", &dir, &[("Accept", "application/json")]);
    assert_eq!(r.header("content-type"), Some("application/json"));

    let r = server.request("GET", &dir, &[("Accept", "text/html,*/*;q=0.8")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html"));
    let html = r.text();
    for name in ["api", "ipfs", "ipns", "ą"] {
        assert!(
            html.contains(&format!(">{name}</a>")),
            "{name} missing from {html}"
        );
    }
    assert!(
        html.contains(&format!("href=\"{dir}%C4%85\"")),
        "names are percent-encoded in links"
    );
    let html_etag = r.header("etag").unwrap();
    assert!(
        html_etag.starts_with("\"DirIndex-")
            && html_etag.ends_with(&format!("_CID-{DIR_LISTING}\""))
    );
    assert_ne!(html_etag, json_etag);
    // Listing Etags take part in If-None-Match too.
    let r = server.request("GET", &dir, &[("If-None-Match", &json_etag)]);
    assert_eq!(r.status, 304);

    let r = server.request("GET", &format!("{dir}%C4%85/%C4%99/"), &[]);
    let names: Vec<String> = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(names, ["file-źł.txt"]);
}

#[test]
fn html_listings_escape_names() {
    // dir-with-files has only plain names; check the breadcrumbs and a hostile query instead.
    let server = Server::with_fixtures();
    let r = server.request(
        "GET",
        &format!("/ipfs/{DIR_LISTING}/%C4%85/"),
        &[("Accept", "text/html")],
    );
    let html = r.text();
    assert!(html.contains("ę"), "{html}");
    assert!(!html.contains("<script"), "{html}");
}

#[test]
fn hamt_directories_list_and_resolve() {
    let server = Server::with_fixtures();
    let r = server.get(&format!("/ipfs/{HAMT_DIR}/"));
    assert_eq!(r.status, 200, "{}", r.text());
    let names: Vec<String> = serde_json::from_slice(&r.body).unwrap();
    assert!(
        names.len() > 100,
        "a HAMT fixture holds many entries, got {}",
        names.len()
    );
    // Every listed name resolves through the shards.
    for name in names.iter().take(40) {
        let name = name.trim_end_matches('/');
        let encoded = support::percent_encode(name);
        let r = server.request("HEAD", &format!("/ipfs/{HAMT_DIR}/{encoded}"), &[]);
        assert!(matches!(r.status, 200 | 301), "{name}: {}", r.status);
    }
    let r = server.get(&format!("/ipfs/{HAMT_DIR}/definitely-not-there.txt"));
    assert_eq!(r.status, 404);
}

#[test]
fn filename_and_download_set_content_disposition() {
    let server = Server::with_fixtures();
    let base = format!("/ipfs/{HELLO_LF}");
    let r = server.get(&format!("{base}?filename=hello%20w%C3%B3rld.html"));
    assert_eq!(r.status, 200);
    // Both forms escaped with Go's url.PathEscape, as Kubo writes them.
    assert_eq!(
        r.header("content-disposition"),
        Some("inline; filename=\"hello%20w_rld.html\"; filename*=UTF-8''hello%20w%C3%B3rld.html")
    );
    assert_eq!(r.header("content-type"), Some("text/html"));
    let r = server.get(&format!("{base}?filename=a.txt&download=true"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"a.txt\"; filename*=UTF-8''a.txt")
    );
}

#[test]
fn content_type_is_sniffed_without_an_extension() {
    let server = Server::with_fixtures();
    // A bare CID has no name: the bytes decide.
    let r = server.get(&format!("/ipfs/{HELLO_LF}"));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
}

#[test]
fn options_preflight_answers_with_cors() {
    let server = Server::with_fixtures();
    let r = server.request(
        "OPTIONS",
        "/ipfs/anything",
        &[
            ("Origin", "https://example.org"),
            ("Access-Control-Request-Method", "PUT"),
        ],
    );
    assert!((200..300).contains(&r.status));
    assert!(r.body.is_empty());
    assert_cors(&r);
    assert_eq!(r.header("access-control-max-age"), Some("86400"));
}

#[test]
fn client_mistakes_get_4xx_with_a_message() {
    let server = Server::with_fixtures();
    let r = server.get("/ipfs/not-a-cid");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("invalid CID"), "{}", r.text());
    assert_cors(&r);
    let r = server.get("/ipfs/");
    assert_eq!(r.status, 400);
    let r = server.get("/nothing-here");
    assert_eq!(r.status, 404);
    assert_cors(&r);
    let r = server.request("PATCH", &format!("/ipfs/{HELLO_LF}"), &[]);
    assert_eq!(r.status, 405);
    assert!(r.header("allow").unwrap().contains("GET"));
    assert_cors(&r);
    let long = format!("/ipfs/{HELLO_LF}?{}", "a".repeat(10_000));
    assert_eq!(server.get(&long).status, 414);
    let deep = format!("/ipfs/{DIR_WITH_FILES}/{}", "a/".repeat(200));
    assert_eq!(server.get(&deep).status, 400);
    let r = server.get(&format!("/ipfs/{DIR_WITH_FILES}/%ff"));
    assert_eq!(r.status, 400);
    let big = "x".repeat(70_000);
    let r = server.request("GET", &format!("/ipfs/{HELLO_LF}"), &[("X-Big", &big)]);
    assert_eq!(r.status, 431);
    // HTML error bodies for browsers.
    let r = server.request("GET", "/ipfs/not-a-cid", &[("Accept", "text/html")]);
    assert_eq!(r.status, 400);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    use std::io::{BufReader, Write};
    let server = Server::with_fixtures();
    let stream = std::net::TcpStream::connect(server.addr).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    for _ in 0..3 {
        writer
            .write_all(format!("GET /ipfs/{HELLO_LF} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .unwrap();
        let r = support::read_response(&mut reader, false);
        assert_eq!(r.body, b"hello\n");
    }
}

#[test]
fn a_namespace_written_twice_redirects_to_the_path_meant() {
    let server = Server::with_fixtures();
    let r = server.get(&format!("/ipfs/ipfs/{HELLO_LF}?filename=a.txt"));
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some(format!("/ipfs/{HELLO_LF}?filename=a.txt").as_str())
    );
    let r = server.get("/ipfs/ipns/example.org/a");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("/ipns/example.org/a"));
}
