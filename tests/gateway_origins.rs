//! Subdomain and DNSLink gateways against the real binary over HTTP, with the values the
//! gateway-conformance suite (v0.13.2) expects: `subdomain_gateway_ipfs_test.go`,
//! `subdomain_gateway_ipns_test.go`, `dnslink_gateway_test.go`, `dnslink_gateway_ipns_test.go`,
//! `redirects_file_test.go` and `TestUnixFSDirectoryListing` of `path_gateway_unixfs_test.go`.
//!
//! The server has every fixture CAR imported, the suite's IPNS records stored through
//! Delegated Routing, `IPFS_NS_MAP` set from `_derived_dnslinks.IPFS_NS_MAP`, and
//! `--subdomain-host example.com --subdomain-host localhost`. DNS goes to a stub server on
//! loopback that knows no DNSLink, so a Host without a static DNSLink never leaves the machine.
//! Each request writes its own `Host` line (the harness's default one would be a second Host).

mod support;

use support::{Response, Server};

// subdomain_gateway/fixtures.car
/// `hello-CIDv1`: "hello\n" as a raw CIDv1.
const HELLO_V1: &str = "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am";
/// `hello-CIDv0`: the same text as a dag-pb CIDv0...
const HELLO_V0: &str = "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN";
/// ...and that CIDv0 as CIDv1 (`hello-CIDv0to1`).
const HELLO_V0_TO_V1: &str = "bafybeiffndsajwhk3lwjewwdxqntmjm4b5wxaaanokonsggenkbw6slwk4";
/// `hello-CIDv1_TOO_LONG`: sha2-512, too long for a DNS label even in base36.
const HELLO_TOO_LONG: &str = "bafkrgqhhyivzstcz3hhswshfjgy6ertgmnqeleynhwt4dlfsthi4hn7zgh4uvlsb5xncykzapi3ocd4lzogukir6ksdy6wzrnz6ohnv4aglcs";
/// `testdirlisting`: hello, api/file.txt, ipfs/file.txt, ipfs/ipns/bar.
const DIR_CID: &str = "bafybeiht6dtwk3les7vqm6ibpvz6qpohidvlshsfyr7l5mpysdw2vmbbhe";
/// The Wikipedia CID of the protocol-handler test (not in the store; only redirected to).
const WIKIPEDIA: &str = "QmXoypizjW3WknFiJnKLwHCnL72vedxjQkDDP1mXWo6uco";

// The subdomain_gateway IPNS records (both point at HELLO_V1).
const ED25519_PEER_ID: &str = "12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2d";
const ED25519_LABEL: &str = "k51qzi5uqu5dk3v4rmjber23h16xnr23bsggmqqil9z2gduiis5se8dht36dam";
/// The ed25519 name as a dag-pb CIDv1 in base36 (`ED25519_IPNS_IDv1_DAGPB`).
const ED25519_DAG_PB: &str = "k50rm9yjlt0jey4fqg6wafvqprktgbkpgkqdg27tpqje6iimzxewnhvtin9hhq";
const RSA_PEER_ID: &str = "QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3";
const RSA_LABEL: &str = "k2k4r8m7xvggw5pxxk3abrkwyer625hg01hfyggrai7lk1m63fuihi7w";
const RSA_DAG_PB: &str = "k2jmtxu61bnhrtj301lw7zizknztocdbeqhxgv76l2q9t36fn9jbzipo";

// path_gateway_unixfs/dir-with-percent-encoded-filename.car
const PERCENT_DIR: &str = "bafybeig675grnxcmshiuzdaz2xalm6ef4thxxds6o6ypakpghm5kghpc34";

// dir_listing/fixtures.car: api/, ipfs/, ipns/, ą/ę/file-źł.txt
const LISTING_ROOT: &str = "bafybeig6ka5mlwkl4subqhaiatalkcleo4jgnr3hqwvpmsqfca27cijp3i";
const LISTING_A: &str = "bafybeidx5mxi45eqpzxsxdbz4v7gnza6f6arwhnrj5aqak2yqxhlspphta";
const LISTING_AE: &str = "bafybeih24awytf2cmnuycs4nslllfrdzhd6yliyzgd7mxwuxcgv2gm5mda";
const LISTING_FILE: &str = "bafkreialihlqnf5uwo4byh4n3cmwlntwqzxxs2fg5vanqdi3d7tb2l5xkm";

// redirects_file/redirects.car, its directories as DNS-safe CIDv1
const REDIRECTS_EXAMPLES: &str = "bafybeiesjgoros75o5meijhfvnxmy7kzkynhqijlzmypw3nry6nvsjqkzy";
const REDIRECTS_EXAMPLES_V0: &str = "QmYBhLYDwVFvxos9h8CGU2ibaY66QNgv8hpfewxaQrPiZj";
const REDIRECTS_FORCED: &str = "bafybeicv4452oppsenilwr54bcej2xxr5olcwu3y5xc2k3lemvrvtokljm";
const REDIRECTS_TOO_LARGE: &str = "bafybeia7qpipssvt5ric7m2kuzgnj454njcz5q6vj3fqq67be2dm7r522m";
const REDIRECTS_BAD_CODES: &str = "bafybeignwkoxmt6a2l3jyvph4m2pmfctvqlom7znwufpkpzgoxtuyjptea";
const REDIRECTS_NEWLINES: &str = "bafybeie6hxr2huda5imzvblcwgxuddackbw5wi35elm3jzeuk4v2ul54kq";
const REDIRECTS_GOOD_CODES: &str = "bafybeidweedjvp3uvnnj63vdavdkmva76ogc3veurukknvpnmtumpfyhcm";
const REDIRECTS_INVALID: &str = "bafybeibrxzg63d3e7tgpxyvcaqesf52n7xgymmvfm27gkebsztpjgxtuhq";
// Files of examples/, as linked (CIDv0) and as CIDv1.
const CUSTOM_404: &str = "Qmd9GD7Bauh6N2ZLfNnYS3b7QVAijbud83b8GE8LPMNBBP";
const CUSTOM_410: &str = "QmSmR9NShZ89VEBrn9SBy7Xxvjw8Qe6XArD5GqtHvbtBM3";
const CUSTOM_451: &str = "QmVQqj9oZig9tH3ENHo4bxV5pNgssUwFCXUjAJAVcZVbJG";
const EXAMPLES_INDEX: &str = "QmS6ZNKE9s8fsHoEnArsZXnzMWijKddhXXDsAev8LdTT5z";
const EXAMPLES_ONE: &str = "QmNwEgMrExwSsE8DCjZjahYfHUfkSWRhtqSkQUh4Fk3udD";
const EXAMPLES_ONE_V1: &str = "bafybeiai3queu444hzgciat5jdjgynzetongt43pounjgcnbehpi7maeaq";
// redirects_file/redirects-spa.car: `/* /index.html 200`, index.html = "hello world\n".
const SPA_ROOT: &str = "bafybeib5lboymwd6p2eo4qb2lkueaine577flvsjjeuevmp2nlio72xv5q";
const SPA_INDEX: &str = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";

/// "public, max-age=29030400, immutable": `/ipfs` content.
const IMMUTABLE: &str = "public, max-age=29030400, immutable";

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// The server the suite runs against: every fixture, the subdomain_gateway IPNS records,
/// the fixtures' DNSLinks, `example.com` and `localhost` as subdomain gateways.
fn origins_server() -> Server {
    let data = tempfile::tempdir().unwrap();
    support::import(data.path(), &support::fixture_cars());
    let ns_map =
        std::fs::read_to_string(support::fixtures().join("_derived_dnslinks.IPFS_NS_MAP")).unwrap();
    let dns = support::dns::start(&[]).to_string();
    let server = Server::start_in_with_env(
        data,
        &[
            "--subdomain-host",
            "example.com",
            "--subdomain-host",
            "localhost",
            "--dns-resolver",
            &dns,
        ],
        &[("IPFS_NS_MAP", ns_map.trim())],
    );
    for name in [ED25519_PEER_ID, RSA_PEER_ID] {
        let record = std::fs::read(
            support::fixtures().join(format!("subdomain_gateway/{name}.ipns-record")),
        )
        .unwrap();
        let r = server.send("PUT", &format!("/routing/v1/ipns/{name}"), &[], &record);
        assert_eq!(r.status, 200, "storing the record of {name}: {}", r.text());
    }
    server
}

/// One request with `host` as its only Host line.
fn at(server: &Server, method: &str, host: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if matches!(method, "POST" | "PUT") {
        request.push_str("Content-Length: 0\r\n");
    }
    request.push_str("\r\n");
    server.raw(request.as_bytes(), method == "HEAD")
}

fn get(server: &Server, host: &str, path: &str) -> Response {
    at(server, "GET", host, path, &[])
}

/// `GET` asking for HTML, as a browser (and the suite's listing tests) would.
fn get_html(server: &Server, host: &str, path: &str) -> Response {
    at(server, "GET", host, path, &[("Accept", "text/html")])
}

/// `example.com:<port>`, the subdomain gateway as the client addresses it.
fn gateway(server: &Server) -> String {
    format!("example.com:{}", server.addr.port())
}

/// `<root>.<ns>.example.com:<port>`.
fn origin(server: &Server, root: &str, namespace: &str) -> String {
    format!("{root}.{namespace}.example.com:{}", server.addr.port())
}

#[track_caller]
fn assert_redirect(r: &Response, status: u16, location: &str) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.header("location"), Some(location), "{r:?}");
}

#[track_caller]
fn assert_body(r: &Response, status: u16, body: &str) {
    assert_eq!((r.status, r.text().as_str()), (status, body), "{r:?}");
}

#[track_caller]
fn assert_contains(r: &Response, needles: &[&str]) {
    let text = r.text();
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} is not in:\n{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// Subdomain gateway: redirects from the gateway's own host
// ---------------------------------------------------------------------------------------------

#[test]
fn path_requests_on_a_subdomain_host_redirect_to_the_roots_origin() {
    let server = origins_server();
    let port = server.addr.port();
    let gw = gateway(&server);

    // A CIDv1 keeps its text; a CIDv0 becomes its base32 CIDv1; directories too.
    let r = get(&server, &gw, &format!("/ipfs/{HELLO_V1}/"));
    assert_redirect(
        &r,
        301,
        &format!("http://{HELLO_V1}.ipfs.example.com:{port}/"),
    );
    let r = get(&server, &gw, &format!("/ipfs/{HELLO_V0}/"));
    assert_redirect(
        &r,
        301,
        &format!("http://{HELLO_V0_TO_V1}.ipfs.example.com:{port}/"),
    );
    let r = get(&server, &gw, &format!("/ipfs/{DIR_CID}/"));
    assert_redirect(
        &r,
        301,
        &format!("http://{DIR_CID}.ipfs.example.com:{port}/"),
    );
    let r = at(&server, "HEAD", &gw, &format!("/ipfs/{DIR_CID}"), &[]);
    assert_redirect(
        &r,
        301,
        &format!("http://{DIR_CID}.ipfs.example.com:{port}/"),
    );
    // The rest of the path is preserved with Kubo's escaping (non-ASCII escaped, `%25` kept),
    // and so is the query.
    let r = get(
        &server,
        &gw,
        &format!("/ipfs/{PERCENT_DIR}/Portugal%252C+Espa%C3%B1a=Peninsula%20Ib%C3%A9rica.txt"),
    );
    assert_redirect(
        &r,
        301,
        &format!(
            "http://{PERCENT_DIR}.ipfs.example.com:{port}/Portugal%252C+Espa%C3%B1a=Peninsula%20Ib%C3%A9rica.txt"
        ),
    );
    let r = get(
        &server,
        &gw,
        &format!("/ipfs/{DIR_CID}/hello?download=true"),
    );
    assert_redirect(
        &r,
        301,
        &format!("http://{DIR_CID}.ipfs.example.com:{port}/hello?download=true"),
    );
    // ...and what the redirect points at is the file.
    let r = get(
        &server,
        &origin(&server, PERCENT_DIR, "ipfs"),
        "/Portugal%252C+Espa%C3%B1a=Peninsula%20Ib%C3%A9rica.txt",
    );
    assert_body(&r, 200, "hello from a percent encoded filename\n");

    // Every configured host is a subdomain gateway.
    let r = get(
        &server,
        &format!("localhost:{port}"),
        &format!("/ipfs/{HELLO_V1}"),
    );
    assert_redirect(
        &r,
        301,
        &format!("http://{HELLO_V1}.ipfs.localhost:{port}/"),
    );

    // X-Forwarded-Proto picks the scheme.
    for (proto, scheme) in [("https", "https"), ("http", "http")] {
        let r = at(
            &server,
            "GET",
            &gw,
            &format!("/ipfs/{HELLO_V1}/"),
            &[("X-Forwarded-Proto", proto)],
        );
        assert_redirect(
            &r,
            301,
            &format!("{scheme}://{HELLO_V1}.ipfs.example.com:{port}/"),
        );
    }

    // X-Forwarded-Host overrides Host; without it, an unknown Host is a path gateway.
    let r = get(&server, "fake.domain.com", &format!("/ipfs/{HELLO_V1}"));
    assert_body(&r, 200, "hello\n");
    let r = at(
        &server,
        "GET",
        "fake.domain.com",
        &format!("/ipfs/{HELLO_V1}"),
        &[("X-Forwarded-Host", "example.com")],
    );
    assert_redirect(&r, 301, &format!("http://{HELLO_V1}.ipfs.example.com/"));
    let r = at(
        &server,
        "GET",
        "fake.domain.com",
        &format!("/ipfs/{HELLO_V1}"),
        &[
            ("X-Forwarded-Host", "example.com"),
            ("X-Forwarded-Proto", "https"),
        ],
    );
    assert_redirect(&r, 301, &format!("https://{HELLO_V1}.ipfs.example.com/"));

    // Roots that cannot have an origin are errors, not redirects.
    let r = get(&server, &gw, &format!("/ipfs/{HELLO_TOO_LONG}/"));
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.header("location"), None);
    assert_contains(&r, &["CID incompatible with DNS label length limit of 63"]);
    let r = get(&server, &gw, "/ipfs/QmInvalidCID");
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.header("location"), None);
    assert_contains(&r, &[r#"invalid path "/ipfs/QmInvalidCID""#]);

    // IPNS names: base36 CIDv1 with the libp2p-key codec, whatever form the path used.
    for (name, label) in [
        (ED25519_PEER_ID, ED25519_LABEL),
        (ED25519_LABEL, ED25519_LABEL),
        (RSA_PEER_ID, RSA_LABEL),
        (RSA_LABEL, RSA_LABEL),
    ] {
        let r = get(&server, &gw, &format!("/ipns/{name}"));
        assert_redirect(&r, 301, &format!("http://{label}.ipns.example.com:{port}/"));
    }
    // A DNSLink name is inlined into one label (with or without TLS).
    let r = get(&server, &gw, "/ipns/en.wikipedia-on-ipfs.example.org/wiki/");
    assert_redirect(
        &r,
        301,
        &format!("http://en-wikipedia--on--ipfs-example-org.ipns.example.com:{port}/wiki/"),
    );
    let r = at(
        &server,
        "GET",
        &gw,
        "/ipns/en.wikipedia-on-ipfs.example.org/wiki/",
        &[("X-Forwarded-Proto", "https")],
    );
    assert_redirect(
        &r,
        301,
        &format!("https://en-wikipedia--on--ipfs-example-org.ipns.example.com:{port}/wiki/"),
    );

    // Protocol-handler URLs become content paths on the same host.
    let r = get(
        &server,
        &gw,
        &format!("/ipfs/?uri=ipfs%3A%2F%2F{WIKIPEDIA}%2Fwiki%2FDiego_Maradona.html"),
    );
    assert_redirect(
        &r,
        301,
        &format!("/ipfs/{WIKIPEDIA}/wiki/Diego_Maradona.html"),
    );
    let r = get(
        &server,
        &gw,
        "/ipns/?uri=ipns%3A%2F%2Fen.wikipedia-on-ipfs.example.org",
    );
    assert_redirect(&r, 301, "/ipns/en.wikipedia-on-ipfs.example.org");

    // Uploads are not redirected: POST /ipfs/ still reaches the upload route.
    let mut request = format!(
        "POST /ipfs/ HTTP/1.1\r\nHost: {gw}\r\nConnection: close\r\nContent-Length: 6\r\n\r\n"
    )
    .into_bytes();
    request.extend_from_slice(b"hello\n");
    let r = server.raw(&request, false);
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.header("location"), Some(&*format!("ipfs://{HELLO_V1}")));
    assert_eq!(r.header("ipfs-hash"), Some(HELLO_V1));

    // Anything else on the gateway's host is the path gateway.
    let r = get(&server, &gw, "/");
    assert_eq!(r.status, 404, "{r:?}");
    assert_contains(&r, &["no such route: /"]);
}

// ---------------------------------------------------------------------------------------------
// Subdomain gateway: serving the origins
// ---------------------------------------------------------------------------------------------

#[test]
fn subdomain_origins_serve_their_root_and_only_reads() {
    let server = origins_server();
    let port = server.addr.port();
    let hello = origin(&server, HELLO_V1, "ipfs");

    let r = get(&server, &hello, "/");
    assert_body(&r, 200, "hello\n");
    assert_eq!(r.header("etag"), Some(&*format!("\"{HELLO_V1}\"")));
    assert_eq!(r.header("cache-control"), Some(IMMUTABLE));
    assert_eq!(
        r.header("x-ipfs-path"),
        Some(&*format!("/ipfs/{HELLO_V1}/"))
    );

    // /ipfs is not mounted below an origin...
    let r = get(&server, &hello, &format!("/ipfs/{HELLO_V1}/"));
    assert_eq!(r.status, 404, "{r:?}");
    // ...but a directory named ipfs in the content is served as itself.
    let dir = origin(&server, DIR_CID, "ipfs");
    let r = get(&server, &dir, "/ipfs/file.txt");
    assert_body(&r, 200, "I am a txt file\n");
    let r = get(&server, &dir, "/ipfs/ipns/bar");
    assert_body(&r, 200, "text-file-content\n");

    // A label too long for DNS is refused here too.
    let r = get(&server, &origin(&server, HELLO_TOO_LONG, "ipfs"), "/");
    assert_eq!(r.status, 400, "{r:?}");
    assert_contains(&r, &["CID incompatible with DNS label length limit of 63"]);

    // IPNS names with records.
    for label in [ED25519_LABEL, RSA_LABEL] {
        let r = get(&server, &origin(&server, label, "ipns"), "/");
        assert_body(&r, 200, "hello\n");
        assert_eq!(r.header("x-ipfs-path"), Some(&*format!("/ipns/{label}/")));
        assert_eq!(r.header("etag"), Some(&*format!("\"{HELLO_V1}\"")));
        assert!(
            !r.header("cache-control")
                .unwrap_or("")
                .contains("immutable"),
            "{r:?}"
        );
    }
    // A name written as a CIDv1 with another codec (dag-pb) moves to the libp2p-key label,
    // path and query kept.
    for (label, canonical) in [(ED25519_DAG_PB, ED25519_LABEL), (RSA_DAG_PB, RSA_LABEL)] {
        let r = get(&server, &origin(&server, label, "ipns"), "/");
        assert_redirect(
            &r,
            301,
            &format!("http://{canonical}.ipns.example.com:{port}/"),
        );
    }
    let r = get(
        &server,
        &origin(&server, ED25519_DAG_PB, "ipns"),
        "/foo/b%20r?x=1",
    );
    assert_redirect(
        &r,
        301,
        &format!("http://{ED25519_LABEL}.ipns.example.com:{port}/foo/b%20r?x=1"),
    );

    // DNSLink names below .ipns., dotted or inlined; also when the DNSLink is /ipns/<key>.
    for name in [
        "dnslink-test.example.org",
        "dnslink--test-example-org",
        "dnslink-over-ipns.example.org",
        "dnslink--over--ipns-example-org",
        "dnslink-over-ipns-cidv1.example.org",
        "dnslink--over--ipns--cidv1-example-org",
    ] {
        let r = get(&server, &origin(&server, name, "ipns"), "/");
        assert_body(&r, 200, "hello\n");
    }
    let r = get(
        &server,
        &origin(&server, "dnslink--test-example-org", "ipns"),
        "/",
    );
    assert_eq!(
        r.header("x-ipfs-path"),
        Some("/ipns/dnslink-test.example.org/")
    );

    // Writes are refused on every origin; preflights are answered.
    let ipns = origin(&server, ED25519_LABEL, "ipns");
    let dnslink = origin(&server, "dnslink-test.example.org", "ipns");
    for host in [&hello, &ipns, &dnslink] {
        for method in ["PUT", "POST", "DELETE"] {
            let r = at(&server, method, host, "/", &[]);
            assert_eq!(r.status, 405, "{method} on {host}: {r:?}");
            assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"), "{r:?}");
            assert_contains(&r, &["not allowed on a content origin"]);
        }
    }
    let r = at(&server, "OPTIONS", &hello, "/", &[]);
    assert_eq!(r.status, 204, "{r:?}");
    // The content is untouched.
    let r = get(&server, &hello, "/");
    assert_body(&r, 200, "hello\n");
}

#[test]
fn listings_on_subdomain_origins_link_to_the_origin_and_the_gateway() {
    let server = origins_server();
    let port = server.addr.port();
    let gw = format!("//example.com:{port}");

    // The root: name links relative to the origin, no `..`, breadcrumbs on the gateway.
    let dir = origin(&server, DIR_CID, "ipfs");
    let r = get_html(&server, &dir, "/");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert_contains(
        &r,
        &[
            "Index of",
            r#"<a href="/hello">hello</a>"#,
            r#"<a href="/ipfs">ipfs</a>"#,
            &format!(r#"/ipfs/<a href="{gw}/ipfs/{DIR_CID}">{DIR_CID}</a>"#),
            &format!(
                r#"<a class="ipfs-hash" translate="no" href="{gw}/ipfs/{HELLO_V1}?filename=hello">"#
            ),
        ],
    );
    assert!(!r.text().contains(">..</a>"), "{}", r.text());

    // A sneaky `ipfs/ipns/` subdirectory.
    let r = get_html(&server, &dir, "/ipfs/ipns/");
    assert_eq!(r.status, 200, "{r:?}");
    assert_contains(
        &r,
        &[
            r#"<a href="/ipfs/ipns/..">..</a>"#,
            r#"<a href="/ipfs/ipns/bar">bar</a>"#,
            &format!(
                r#"/ipfs/<a href="{gw}/ipfs/{DIR_CID}">{DIR_CID}</a>/<a href="{gw}/ipfs/{DIR_CID}/ipfs">ipfs</a>/<a href="{gw}/ipfs/{DIR_CID}/ipfs/ipns">ipns</a>"#
            ),
        ],
    );

    // dir_listing: a directory without its slash, then its listing.
    let root = origin(&server, LISTING_ROOT, "ipfs");
    let r = get(&server, &root, "/%C4%85/%C4%99");
    assert_redirect(&r, 301, "/%C4%85/%C4%99/");
    let r = get_html(&server, &root, "/");
    assert_eq!(r.status, 200, "{r:?}");
    assert_contains(&r, &["Index of"]);
    assert!(!r.text().contains(r#"<a href="/">..</a>"#), "{}", r.text());
    let r = get_html(&server, &root, "/%C4%85/%C4%99/");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("etag")
            .map(|e| e.starts_with("\"DirIndex-") && e.ends_with(&format!("_CID-{LISTING_AE}\""))),
        Some(true),
        "{r:?}"
    );
    assert_contains(
        &r,
        &[
            "Index of",
            r#"<a href="/%C4%85/%C4%99/..">..</a>"#,
            &format!(
                r#"/ipfs/<a href="{gw}/ipfs/{LISTING_ROOT}">{LISTING_ROOT}</a>/<a href="{gw}/ipfs/{LISTING_ROOT}/%C4%85">ą</a>/<a href="{gw}/ipfs/{LISTING_ROOT}/%C4%85/%C4%99">ę</a>"#
            ),
            r#"<a href="/%C4%85/%C4%99/file-%C5%BA%C5%82.txt">file-źł.txt</a>"#,
            &format!(
                r#"<a class="ipfs-hash" translate="no" href="{gw}/ipfs/{LISTING_FILE}?filename=file-%25C5%25BA%25C5%2582.txt">"#
            ),
        ],
    );
    // The name link works on the origin.
    let r = get(&server, &root, "/%C4%85/%C4%99/file-%C5%BA%C5%82.txt");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("ipfs-hash"), Some(LISTING_FILE));
}

// ---------------------------------------------------------------------------------------------
// DNSLink gateway
// ---------------------------------------------------------------------------------------------

#[test]
fn a_host_with_a_dnslink_is_served_from_its_content() {
    let server = origins_server();

    let r = get(&server, "dnslink-test.example.org", "/");
    assert_body(&r, 200, "hello\n");
    assert_eq!(
        r.header("x-ipfs-path"),
        Some("/ipns/dnslink-test.example.org/")
    );
    assert_eq!(r.header("etag"), Some(&*format!("\"{HELLO_V1}\"")));
    assert!(
        !r.header("cache-control")
            .unwrap_or("")
            .contains("immutable"),
        "{r:?}"
    );
    // The port is not part of the name.
    let r = get(
        &server,
        &format!("dnslink-test.example.org:{}", server.addr.port()),
        "/",
    );
    assert_body(&r, 200, "hello\n");

    // dnslink=/ipfs/<cid>/root2: request paths continue the DNSLink's path.
    let r = get(
        &server,
        "dnslink-subpath.example.org",
        "/root3/root4/index.html",
    );
    assert_body(&r, 200, "hello\n");
    assert_eq!(
        r.header("x-ipfs-path"),
        Some("/ipns/dnslink-subpath.example.org/root3/root4/index.html")
    );

    // dnslink=/ipns/<key>: resolved through the stored record, key written either way.
    for host in [
        "dnslink-over-ipns.example.org",
        "dnslink-over-ipns-cidv1.example.org",
    ] {
        let r = get(&server, host, "/");
        assert_body(&r, 200, "hello\n");
        assert_eq!(r.header("ipfs-hash"), Some(HELLO_V1));
    }

    // Only reads.
    for method in ["PUT", "POST", "DELETE"] {
        let r = at(&server, method, "dnslink-test.example.org", "/", &[]);
        assert_eq!(r.status, 405, "{method}: {r:?}");
        assert_eq!(r.header("allow"), Some("GET, HEAD, OPTIONS"), "{r:?}");
    }

    // A Host without a DNSLink (NXDOMAIN, or a name the DNS server refuses) is the path
    // gateway.
    for host in ["nothing.example.test", "fake.domain.com"] {
        let r = get(&server, host, &format!("/ipfs/{HELLO_V1}"));
        assert_body(&r, 200, "hello\n");
        assert_eq!(r.header("etag"), Some(&*format!("\"{HELLO_V1}\"")));
        let r = get(&server, host, "/");
        assert_eq!(r.status, 404, "{r:?}");
        assert_contains(&r, &["no such route: /"]);
    }
}

#[test]
fn listings_on_a_dnslink_host_are_laid_out_as_kubos() {
    let server = origins_server();
    let host = "dnslink-dir-listing.example.org";

    let r = get_html(&server, host, "/");
    assert_eq!(r.status, 200, "{r:?}");
    assert_contains(
        &r,
        &[
            "Index of",
            r#"/ipns/<a href="//dnslink-dir-listing.example.org/">dnslink-dir-listing.example.org</a>"#,
            r#"<a href="/%C4%85">ą</a>"#,
            &format!(
                r#"<a class="ipfs-hash" translate="no" href="https://cid.ipfs.tech/#{LISTING_A}" target="_blank" rel="noreferrer noopener">"#
            ),
        ],
    );
    assert!(!r.text().contains(">..</a>"), "{}", r.text());
    assert!(!r.text().contains("?filename="), "{}", r.text());

    let r = get(&server, host, "/%C4%85/%C4%99");
    assert_redirect(&r, 301, "/%C4%85/%C4%99/");

    let r = get_html(&server, host, "/%C4%85/%C4%99/");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("etag").map(|e| e.starts_with("\"DirIndex-")),
        Some(true),
        "{r:?}"
    );
    assert_contains(
        &r,
        &[
            "Index of",
            r#"<a href="/%C4%85/%C4%99/..">..</a>"#,
            r#"/ipns/<a href="//dnslink-dir-listing.example.org/">dnslink-dir-listing.example.org</a>/<a href="//dnslink-dir-listing.example.org/%C4%85">ą</a>/<a href="//dnslink-dir-listing.example.org/%C4%85/%C4%99">ę</a>"#,
            r#"<a href="/%C4%85/%C4%99/file-%C5%BA%C5%82.txt">file-źł.txt</a>"#,
            &format!(
                r#"<a class="ipfs-hash" translate="no" href="https://cid.ipfs.tech/#{LISTING_FILE}" target="_blank" rel="noreferrer noopener">"#
            ),
        ],
    );
    assert!(!r.text().contains("/ipfs/"), "{}", r.text());
}

// ---------------------------------------------------------------------------------------------
// _redirects
// ---------------------------------------------------------------------------------------------

#[test]
fn redirects_files_apply_on_subdomain_origins() {
    let server = origins_server();
    let examples = origin(&server, REDIRECTS_EXAMPLES, "ipfs");

    for (path, status, location) in [
        ("/redirect-one", 301, "/one.html"),
        ("/301-redirect-one", 301, "/one.html"),
        ("/302-redirect-two", 302, "/two.html"),
        (
            "/posts/2022/01/01/hello-world",
            301,
            "/articles/2022/01/01/hello-world",
        ),
        ("/splat/one.html", 301, "/redirected-splat/one.html"),
    ] {
        let r = get(&server, &examples, path);
        assert_redirect(&r, status, location);
        assert!(r.body.is_empty(), "{r:?}");
    }
    // 200: the target is served in place, with its own headers.
    for path in ["/200-index", "/catch-all"] {
        let r = get(&server, &examples, path);
        assert_body(&r, 200, "my index\n");
        assert_eq!(r.header("etag"), Some(&*format!("\"{EXAMPLES_INDEX}\"")));
        assert_eq!(r.header("cache-control"), Some(IMMUTABLE));
    }
    // 404, 410, 451: the custom page with that status; Etag is the page's CID as linked.
    for (path, status, page, body) in [
        (
            "/not-found/has-no-redirects-entry",
            404,
            CUSTOM_404,
            "my 404\n",
        ),
        ("/gone/has-no-redirects-entry", 410, CUSTOM_410, "my 410\n"),
        (
            "/unavail/has-no-redirects-entry",
            451,
            CUSTOM_451,
            "my 451\n",
        ),
    ] {
        let r = get(&server, &examples, path);
        assert_body(&r, status, body);
        assert_eq!(r.header("etag"), Some(&*format!("\"{page}\"")), "{r:?}");
        assert_eq!(r.header("cache-control"), Some(IMMUTABLE), "{r:?}");
        assert_eq!(r.header("content-type"), Some("text/html"), "{r:?}");
    }
    // A path that exists is served as itself.
    let r = get(&server, &examples, "/one.html");
    assert_body(&r, 200, "my one\n");
    assert_eq!(r.header("etag"), Some(&*format!("\"{EXAMPLES_ONE}\"")));
    // Rules are for web pages only: other formats of a missing path are a plain 404.
    let r = get(&server, &examples, "/redirect-one?format=raw");
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(r.header("location"), None);

    // CRLF line ends; every redirect status.
    let r = get(
        &server,
        &origin(&server, REDIRECTS_NEWLINES, "ipfs"),
        "/redirect-one",
    );
    assert_redirect(&r, 301, "/one.html");
    let good = origin(&server, REDIRECTS_GOOD_CODES, "ipfs");
    for code in [301, 302, 303, 307, 308] {
        let r = get(&server, &good, &format!("/a{code}"));
        assert_redirect(&r, code, &format!("/b{code}"));
    }
    // A rewrite or error page whose target does not exist is the usual 404.
    for code in [200, 404, 410, 451] {
        let r = get(&server, &good, &format!("/a{code}"));
        assert_eq!(r.status, 404, "/a{code}: {r:?}");
        assert_contains(&r, &[&format!("no link named \"a{code}\"")]);
    }

    // Files that cannot be used: 500 for a missing path, no harm to existing ones.
    for (root, words) in [
        (REDIRECTS_FORCED, "forced redirects"),
        (REDIRECTS_TOO_LARGE, "redirects file size cannot exceed"),
        (REDIRECTS_BAD_CODES, "999"),
        (REDIRECTS_INVALID, "line 1: missing 'to' path"),
    ] {
        let r = get(&server, &origin(&server, root, "ipfs"), "/not-found");
        assert_eq!(r.status, 500, "{root}: {r:?}");
        assert!(
            r.text().starts_with("could not parse _redirects:"),
            "{root}: {}",
            r.text()
        );
        assert_contains(&r, &[words]);
    }
    let r = get(
        &server,
        &origin(&server, REDIRECTS_BAD_CODES, "ipfs"),
        "/found.html",
    );
    assert_body(&r, 200, "my found\n");
    let r = get(
        &server,
        &origin(&server, REDIRECTS_FORCED, "ipfs"),
        "/_redirects",
    );
    assert_body(&r, 200, "/a /b 301!\n");

    // Never on the path gateway, whether the site is under /ipfs or /ipns.
    for path in [
        format!("/ipfs/{REDIRECTS_EXAMPLES}/redirect-one"),
        format!("/ipfs/{REDIRECTS_EXAMPLES_V0}/not-found/has-no-redirects-entry"),
        "/ipns/dnslink-redirects-examples.example.org/redirect-one".to_owned(),
    ] {
        let r = server.get(&path);
        assert_eq!(r.status, 404, "{path}: {r:?}");
        assert_eq!(r.header("location"), None);
        assert!(!r.text().contains("my 404"), "{}", r.text());
    }
    // The path gateway writes CIDv1 in Etags; origins write the CID as the DAG links it.
    let r = server.get(&format!("/ipfs/{REDIRECTS_EXAMPLES_V0}/one.html"));
    assert_body(&r, 200, "my one\n");
    assert_eq!(r.header("etag"), Some(&*format!("\"{EXAMPLES_ONE_V1}\"")));
}

#[test]
fn redirects_files_apply_on_dnslink_hosts_without_immutable_caching() {
    let server = origins_server();
    let host = "dnslink-redirects-examples.example.org";

    let r = get(&server, host, "/redirect-one");
    assert_redirect(&r, 301, "/one.html");
    let r = get(&server, host, "/not-found/has-no-redirects-entry");
    assert_body(&r, 404, "my 404\n");
    assert_eq!(r.header("etag"), Some(&*format!("\"{CUSTOM_404}\"")));
    let cache = r.header("cache-control").unwrap_or("");
    assert!(!cache.contains("immutable"), "{r:?}");
    assert!(r.header("date").is_some(), "{r:?}");
    // The same site under .ipns. on the subdomain gateway behaves alike.
    let inlined = origin(&server, "dnslink--redirects--examples-example-org", "ipns");
    let r = get(&server, &inlined, "/splat/one.html");
    assert_redirect(&r, 301, "/redirected-splat/one.html");
    let r = get(&server, &inlined, "/gone/x");
    assert_body(&r, 410, "my 410\n");
    assert!(
        !r.header("cache-control")
            .unwrap_or("")
            .contains("immutable"),
        "{r:?}"
    );
}

#[test]
fn a_rewritten_page_answers_if_none_match_with_304() {
    let server = origins_server();
    for host in [
        origin(&server, SPA_ROOT, "ipfs"),
        origin(&server, "dnslink--enabled--with--spa-example-org", "ipns"),
        "dnslink-enabled-with-spa.example.org".to_owned(),
    ] {
        let r = get_html(&server, &host, "/missing-page");
        assert_body(&r, 200, "hello world\n");
        let etag = r
            .header("etag")
            .unwrap_or_else(|| panic!("{r:?}"))
            .to_owned();
        assert_eq!(etag, format!("\"{SPA_INDEX}\""), "{host}");
        let r = at(
            &server,
            "GET",
            &host,
            "/missing-page",
            &[("Accept", "text/html"), ("If-None-Match", &etag)],
        );
        assert_eq!(r.status, 304, "{host}: {r:?}");
        assert!(r.body.is_empty());
        assert_eq!(r.header("etag"), Some(&*etag));
        // Another Etag gets the page.
        let r = at(
            &server,
            "GET",
            &host,
            "/missing-page",
            &[("Accept", "text/html"), ("If-None-Match", "\"other\"")],
        );
        assert_body(&r, 200, "hello world\n");
    }
}

/// Kubo (boxo `serve4xx`) writes a custom 404/410/451 page with its status whatever the
/// request's conditional and Range headers say, and RFC 9110 §13.2.1 says preconditions are
/// ignored when the response would not be 2xx; a 304 or 206 here tells caches and clients
/// that an error page is a success.
#[test]
fn custom_error_pages_ignore_conditional_and_range_headers() {
    let server = origins_server();
    let examples = origin(&server, REDIRECTS_EXAMPLES, "ipfs");
    let path = "/not-found/has-no-redirects-entry";
    let etag = format!("\"{CUSTOM_404}\"");
    let r = at(&server, "GET", &examples, path, &[("If-None-Match", &etag)]);
    assert_body(&r, 404, "my 404\n");
    let r = at(&server, "GET", &examples, path, &[("Range", "bytes=0-1")]);
    assert_body(&r, 404, "my 404\n");
    assert_eq!(r.header("content-range"), None);
}

// ---------------------------------------------------------------------------------------------
// Kubo's listing on the path gateway
// ---------------------------------------------------------------------------------------------

#[test]
fn path_gateway_listings_have_kubos_layout_and_json_without_accept() {
    let server = Server::with_fixtures();
    let root = format!("/ipfs/{LISTING_ROOT}");

    let r = server.request("GET", &format!("{root}/"), &[("Accept", "text/html")]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert_contains(
        &r,
        &[
            "Index of",
            &format!(r#"/ipfs/<a href="{root}">{LISTING_ROOT}</a>"#),
            &format!(r#"<a href="{root}/%C4%85">ą</a>"#),
            &format!(r#"<a href="{root}/api">api</a>"#),
            &format!(
                r#"<a class="ipfs-hash" translate="no" href="/ipfs/{LISTING_A}?filename=%25C4%2585">"#
            ),
        ],
    );
    assert!(!r.text().contains(">..</a>"), "{}", r.text());

    let r = server.get(&format!("{root}/%C4%85/%C4%99"));
    assert_redirect(&r, 301, &format!("{root}/%C4%85/%C4%99/"));

    let r = server.request(
        "GET",
        &format!("{root}/%C4%85/%C4%99/"),
        &[("Accept", "text/html")],
    );
    assert_eq!(r.status, 200, "{r:?}");
    let etag = r.header("etag").unwrap_or("").to_owned();
    assert!(
        etag.starts_with("\"DirIndex-") && etag.ends_with(&format!("_CID-{LISTING_AE}\"")),
        "{etag}"
    );
    assert_contains(
        &r,
        &[
            "Index of",
            &format!(
                r#"/ipfs/<a href="{root}">{LISTING_ROOT}</a>/<a href="{root}/%C4%85">ą</a>/<a href="{root}/%C4%85/%C4%99">ę</a>"#
            ),
            &format!(r#"<a href="{root}/%C4%85/%C4%99/..">..</a>"#),
            &format!(r#"<a href="{root}/%C4%85/%C4%99/file-%C5%BA%C5%82.txt">file-źł.txt</a>"#),
            &format!(
                r#"<a class="ipfs-hash" translate="no" href="/ipfs/{LISTING_FILE}?filename=file-%25C5%25BA%25C5%2582.txt">"#
            ),
        ],
    );
    let r = server.get(&format!("{root}/i-do-not-exist"));
    assert_eq!(r.status, 404, "{r:?}");

    // No Accept: the Agregore JSON listing, with its own Etag.
    let r = server.get(&format!("{root}/"));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.text(), r#"["api/","ipfs/","ipns/","ą/"]"#);
    assert_eq!(
        r.header("etag"),
        Some(&*format!("\"DirIndex-json_CID-{LISTING_ROOT}\""))
    );
    let r = server.get(&format!("{root}/%C4%85/%C4%99/"));
    assert_eq!(r.text(), r#"["file-źł.txt"]"#);

    // --listing-without-accept html: Kubo's choice; JSON still when asked for.
    let data = tempfile::tempdir().unwrap();
    support::import(data.path(), &support::fixture_cars());
    let html = Server::start_in(data, &["--listing-without-accept", "html"]);
    let r = html.get(&format!("{root}/%C4%85/%C4%99/"));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert_contains(
        &r,
        &[
            "Index of",
            &format!(r#"<a href="{root}/%C4%85/%C4%99/..">..</a>"#),
        ],
    );
    let r = html.request(
        "GET",
        &format!("{root}/%C4%85/%C4%99/"),
        &[("Accept", "application/json")],
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.text(), r#"["file-źł.txt"]"#);
}

/// Kubo serves any label that names the root and fits DNS as it is; only an IPNS key CID
/// without the libp2p-key codec (or a label too long for DNS) moves to the canonical label.
#[test]
fn labels_that_fit_dns_are_served_as_written() {
    let server = origins_server();
    // The directory as a base36 CIDv1 under `.ipfs.` (Kubo serves it, no redirect).
    let base36 = "k2jmtxxfzm82q1mifmumes86syiunxkedc89j6u2cp0l9y8heho5bayh";
    let r = get(&server, &origin(&server, base36, "ipfs"), "/hello");
    assert_body(&r, 200, "hello\n");
    // The RSA key as a base32 libp2p-key CIDv1 under `.ipns.` (59 characters; an ed25519 key
    // would need 65 in base32, which is why base36 is the canonical form).
    let base32 = "bafzbeidqpod5usytqwxqfg4h4dm6lwlccqswirauz7j2le3syzaiq45qpq";
    let r = get(&server, &origin(&server, base32, "ipns"), "/");
    assert_body(&r, 200, "hello\n");
    // The same key as a dag-pb CIDv1: the codec is fixed by a redirect.
    let r = get(&server, &origin(&server, ED25519_DAG_PB, "ipns"), "/");
    assert_redirect(
        &r,
        301,
        &format!(
            "http://{ED25519_LABEL}.ipns.example.com:{}/",
            server.addr.port()
        ),
    );
}

/// The gateway as its own HTTP proxy (gateway-conformance "proxy-gateway"): absolute-form
/// request targets, and `CONNECT` tunnels to its own address or hosts, served in place;
/// tunnels anywhere else are refused.
#[test]
fn the_gateway_serves_as_its_own_http_proxy() {
    use std::io::{BufReader, Read, Write};
    let server = origins_server();
    let port = server.addr.port();

    // Absolute-form target, as an HTTP proxy client sends it.
    let request = format!(
        "GET http://{HELLO_V1}.ipfs.example.com:{port}/ HTTP/1.1\r\nHost: \
         {HELLO_V1}.ipfs.example.com:{port}\r\nConnection: close\r\n\r\n"
    );
    assert_body(&server.raw(request.as_bytes(), false), 200, "hello\n");

    // A tunnel to the gateway's own address, then a request inside it.
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n",
        server.addr
    )
    .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let connected = support::read_response(&mut reader, true);
    assert_eq!(connected.status, 200, "{connected:?}");
    write!(
        stream,
        "GET /ipfs/{HELLO_V0}/ HTTP/1.1\r\nHost: example.com:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let inside = support::read_response(&mut reader, false);
    assert_redirect(
        &inside,
        301,
        &format!("http://{HELLO_V0_TO_V1}.ipfs.example.com:{port}/"),
    );

    // A tunnel to a subdomain of a gateway host.
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let target = format!("{HELLO_V1}.ipfs.example.com:{port}");
    write!(
        stream,
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    assert_eq!(support::read_response(&mut reader, true).status, 200);
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: {target}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    assert_body(&support::read_response(&mut reader, false), 200, "hello\n");

    // Anywhere else: refused, and nothing is forwarded.
    let mut stream = std::net::TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 405"), "{text}");
}

/// Agregore reaches its key API as `http://localhost:8080/ipns/localhost?key=…`: a gateway
/// that also serves `localhost` as a subdomain host must keep that API where it is.
#[test]
fn the_key_api_stays_on_a_subdomain_host() {
    let server = origins_server();
    let host = format!("localhost:{}", server.addr.port());
    let r = at(&server, "POST", &host, "/ipns/localhost?key=site", &[]);
    assert_eq!(r.status, 201, "{r:?}");
    let name = r.header("location").unwrap().to_owned();
    assert!(name.starts_with("ipns://k51"), "{name}");
    let r = get(&server, &host, "/ipns/localhost?key=site");
    assert_redirect(&r, 302, name.trim_end_matches('/'));
    let r = get(&server, &host, "/ipns/localhost?key=nobody");
    assert_eq!(r.status, 404, "{r:?}");
}
