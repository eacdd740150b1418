//! The trustless and format-negotiating side of the gateway (trustless-gateway spec, path-gateway
//! "Response Payload", IPIP-402/412/523/524), against the real binary over HTTP with the
//! conformance fixtures imported: raw blocks, DAG-JSON/DAG-CBOR blocks served as themselves,
//! pathing through DAG codecs, CAR exports block by block, TAR archives, `only-if-cached` and
//! the `?uri=` protocol-handler redirect.
//!
//! Expected block lists and their order are those of the conformance suite (v0.13.2,
//! `trustless_gateway_car_test.go`) and of Kubo 0.42 for the same requests; block bytes are
//! checked against the fixture CARs read independently of the server.

#[path = "support/formats.rs"]
mod formats;
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::Bytes;
use formats::{decode_car, fixture_blocks, read_tar, TarEntry};
use support::{Response, Server};

// gateway-raw-block.car: a directory `dir` holding `ascii.txt`.
const RAW_ROOT: &str = "bafybeie72edlprgtlwwctzljf6gkn2wnlrddqjbkxo3jomh4n7omwblxly";
const RAW_DIR: &str = "bafybeifaqksygmsbnqe76kwvxoqxtkzcwssq5jkhuo65ldtqiunr3bxlra";
const RAW_ASCII: &str = "bafkreihhpc5y2pqvl5rbe5uuyhqjouybfs3rvlmisccgzue2kkt5zq6upq";

// path_gateway_dag/dag-{json,cbor}-traversal.car: {"foo": {"link": <cid>}, …} → {"bar": <cid>}
// → {"hello": "this is not a link"}.
const DAG_JSON: &str = "baguqeeram5ujjqrwheyaty3w5gdsmoz6vittchvhk723jjqxk7hakxkd47xq";
const DAG_JSON_LINK: &str = "baguqeeraxpdqyfizawpb7zl5gnpg7jw3myuynb42ngzmeo7xn5kmm5pabt6q";
const DAG_JSON_BAR: &str = "baguqeerabz2ohuxlrfgan3sxrgsfeyi5woxikwoiun5i5cesn2zgp3evmy4q";
const DAG_CBOR: &str = "bafyreibs4utpgbn7uqegmd2goqz4bkyflre2ek2iwv743fhvylwi4zeeim";
const DAG_CBOR_LINK: &str = "bafyreig5alecq2l2akgajxywgnv22kuxh6xcagsnelepylqovt4t5jxt6u";
const DAG_CBOR_BAR: &str = "bafyreiaefvpp22slf5bzd4lqgzwbztqahwlldtqkpgmlhv7mh23pudle7y";

// path_gateway_dag/gateway-json-cbor.car: ą/ę/file-źł.txt is a raw-leaf UnixFS file.
const JSON_CBOR_DIR: &str = "bafybeiafyvqlazbbbtjnn6how5d6h6l6rxbqc4qgpbmteaiskjrffmyy4a";
const UTF8_FILE: &str = "bafkreialihlqnf5uwo4byh4n3cmwlntwqzxxs2fg5vanqdi3d7tb2l5xkm";

// trustless_gateway_car fixtures.
const TWO_FILES: &str = "bafybeietjm63oynimmv5yyqay33nui4y4wx6u3peezwetxgiwvfmelutzu";
const TWO_FILES_SUBDIR: &str = "bafybeiggghzz6dlue3m6nb2dttnbrygxh3lrjl5764f2m4gq7dgzdt55o4";
const MIXED: &str = "bafybeidh6k2vzukelqtrjsmd4p52cpmltd2ufqrdtdg6yigi73in672fwu";
const MIXED_SUBDIR: &str = "bafybeicnmple4ehlz3ostv2sbojz3zhh5q7tz5r2qkfdpqfilgggeen7xm";
const HAMT: &str = "bafybeidbclfqleg2uojchspzd4bob56dqetqjsj27gy2cq3klkkgxtpn4i";
const CBOR_LINKS_DIR: &str = "bafybeia264q44a3kmfc2otctzu4egp2k235o3t7mslz2yjraymp4nv6asi";
const CBOR_DOCUMENT: &str = "bafyreidy4q6mmetut5jzc54ambsfnatbyoujmwbfzyyolqw24majazwgha";
const DUPLICATES: &str = "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";
const MISSING_BLOCK_FILE: &str = "QmYhmPjhFjYFyaoiuNzYv8WGavpSRDwdHWe5B4M5du5Rtk";

/// `ascii.txt` ("hello application/vnd.ipld.car\n") and `hello.txt` ("hello world\n").
const ASCII: &str = "bafkreifkam6ns4aoolg3wedr4uzrs3kvq66p4pecirz6y2vlrngla62mxm";
const HELLO: &str = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";
/// `multiblock.txt`: 1026 bytes, a dag-pb root over four 256-byte leaves and a 2-byte one.
const MULTIBLOCK: &str = "bafybeigcisqd7m5nf3qmuvjdbakl5bdnh4ocrmacaqkpuh77qjvggmt2sa";
const MULTIBLOCK_LEAVES: [&str; 5] = [
    "bafkreie5noke3mb7hqxukzcy73nl23k6lxszxi5w3dtmuwz62wnvkpsscm",
    "bafkreih4ephajybraj6wnxsbwjwa77fukurtpl7oj7t7pfq545duhot7cq",
    "bafkreigu7buvm3cfunb35766dn7tmqyh2um62zcio63en2btvxuybgcpue",
    "bafkreicll3huefkc3qnrzeony7zcfo7cr3nbx64hnxrqzsixpceg332fhe",
    "bafkreifst3pqztuvj57lycamoi7z34b4emf7gawxs74nwrc2c7jncmpaqm",
];

// path_gateway_tar fixtures (fixtures.car is the same DAG as dir_listing/fixtures.car).
const TAR_DIR: &str = "bafybeig6ka5mlwkl4subqhaiatalkcleo4jgnr3hqwvpmsqfca27cijp3i";
const INSIDE_ROOT: &str = "bafybeibfevfxlvxp5vxobr5oapczpf7resxnleb7tkqmdorc4gl5cdva3y";
const OUTSIDE_ROOT: &str = "bafybeicaj7kvxpcv4neaqzwhrqqmdstu4dhrwfpknrgebq6nzcecfucvyu";
// path_gateway_unixfs/symlink.car: `bar` → `foo`; its CIDv1 names the TAR's root entry.
const SYMLINK_DIR: &str = "QmWvY6FaqFMS89YAQ9NAPjVP4WZKA1qbHbicc9HeSKQTgt";
const SYMLINK_DIR_V1: &str = "bafybeid7rpbh2clkm6tj2zuq6oq4lyvmo5b6y7mf23h4kaqlfq4ulz4zje";

// gateway-cache/fixtures.car: root2/root3/root4/index.html.
const CACHE_ROOT: &str = "bafybeib3ffl2teiqdncv3mkz4r23b5ctrwkzrrhctdbne6iboayxuxk5ui";
const CACHE_ROOT4: &str = "bafybeifq2rzpqnqrsdupncmkmhs3ckxxjhuvdcbvydkgvch3ms24k5lo7q";
/// A CID no fixture holds (the conformance suite's).
const ABSENT: &str = "QmYzfKSE55XCjD1MW128RfciAf2DViABhEiXfgVFMabSjN";

const IMMUTABLE: &str = "public, max-age=29030400, immutable";
const CAR_DFS_N: &str = "application/vnd.ipld.car; version=1; order=dfs; dups=n";
const CAR_DFS_Y: &str = "application/vnd.ipld.car; version=1; order=dfs; dups=y";

fn assert_header(r: &Response, name: &str, expected: Option<&str>) {
    assert_eq!(r.header(name), expected, "header {name} of {r:?}");
}

fn disposition(kind: &str, name: &str) -> String {
    format!("{kind}; filename=\"{name}\"; filename*=UTF-8''{name}")
}

fn block(blocks: &std::collections::HashMap<String, Bytes>, cid: &str) -> Vec<u8> {
    blocks
        .get(cid)
        .unwrap_or_else(|| panic!("{cid} is not in the fixture"))
        .to_vec()
}

/// `GET` of a CAR: asserts 200 and the default CAR headers, returns the response and the block
/// CIDs in stream order (after checking each block's bytes hash to its CID's multihash).
fn car(server: &Server, path: &str, headers: &[(&str, &str)]) -> (Response, Vec<String>) {
    let r = server.request("GET", path, headers);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    assert_header(&r, "accept-ranges", Some("none"));
    assert_header(&r, "x-content-type-options", Some("nosniff"));
    assert_header(&r, "cache-control", Some(IMMUTABLE));
    assert!(
        r.header("content-length").is_none(),
        "a CAR is streamed: {r:?}"
    );
    let decoded = decode_car(&r.body, path);
    for (cid, data) in &decoded.blocks {
        let digest = multihash_codetable::MultihashDigest::digest(
            &multihash_codetable::Code::try_from(cid.hash().code()).unwrap(),
            data,
        );
        assert_eq!(
            &digest,
            cid.hash(),
            "{path}: block {cid} does not match its CID"
        );
    }
    let cids = decoded.cids();
    (r, cids)
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn raw_blocks_by_format_and_accept() {
    let server = Server::with_fixtures();
    let blocks = fixture_blocks("gateway-raw-block.car");
    let dir_block = block(&blocks, RAW_DIR);
    let path = format!("/ipfs/{RAW_ROOT}/dir");

    // ?format=raw: no Content-Location, the URL already names the representation.
    let by_query = server.get(&format!("{path}?format=raw"));
    assert_eq!(by_query.status, 200, "{}", by_query.text());
    assert_eq!(by_query.body, dir_block);
    assert_header(&by_query, "content-type", Some("application/vnd.ipld.raw"));
    assert_header(&by_query, "x-content-type-options", Some("nosniff"));
    let bin = disposition("attachment", &format!("{RAW_DIR}.bin"));
    assert_header(&by_query, "content-disposition", Some(&bin));
    assert_header(&by_query, "etag", Some(&format!("\"{RAW_DIR}.raw\"")));
    assert_header(&by_query, "cache-control", Some(IMMUTABLE));
    assert_header(&by_query, "content-length", Some("57"));
    assert_header(&by_query, "x-ipfs-path", Some(&path));
    assert_header(
        &by_query,
        "x-ipfs-roots",
        Some(&format!("{RAW_ROOT},{RAW_DIR}")),
    );
    assert_header(&by_query, "content-location", None);

    // Accept: the same bytes and headers, plus Content-Location naming the format.
    let by_accept = server.request("GET", &path, &[("Accept", "application/vnd.ipld.raw")]);
    assert_eq!(by_accept.status, 200);
    assert_eq!(by_accept.body, dir_block);
    for name in [
        "content-type",
        "x-content-type-options",
        "content-disposition",
        "etag",
        "cache-control",
        "content-length",
        "x-ipfs-roots",
    ] {
        assert_eq!(by_accept.header(name), by_query.header(name), "{name}");
    }
    assert_header(
        &by_accept,
        "content-location",
        Some(&format!("{path}?format=raw")),
    );

    // A file's block, with ?filename= (the query is kept in Content-Location).
    let r = server.request(
        "GET",
        &format!("/ipfs/{RAW_ROOT}/dir/ascii.txt?filename=foobar.bin"),
        &[("Accept", "application/vnd.ipld.raw")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello application/vnd.ipld.raw\n");
    assert_eq!(r.body, block(&blocks, RAW_ASCII));
    assert_header(
        &r,
        "content-disposition",
        Some(&disposition("attachment", "foobar.bin")),
    );
    assert_header(&r, "etag", Some(&format!("\"{RAW_ASCII}.raw\"")));
    assert_header(
        &r,
        "content-location",
        Some(&format!(
            "/ipfs/{RAW_ROOT}/dir/ascii.txt?filename=foobar.bin&format=raw"
        )),
    );

    // ?format= wins over Accept, both ways (IPIP-523).
    let r = server.request(
        "GET",
        &format!("{path}?format=raw"),
        &[("Accept", "application/vnd.ipld.car")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, dir_block);
    assert_header(&r, "content-type", Some("application/vnd.ipld.raw"));
    assert_header(&r, "content-location", None);
    let r = server.request(
        "GET",
        &format!("{path}?format=car"),
        &[("Accept", "application/vnd.ipld.raw")],
    );
    assert_eq!(r.status, 200);
    assert_header(&r, "content-type", Some(CAR_DFS_N));
    assert_eq!(
        decode_car(&r.body, "format=car over Accept raw").cids(),
        strings(&[RAW_ROOT, RAW_DIR, RAW_ASCII])
    );

    // An application/vnd.ipld.* type the gateway does not know is refused.
    let r = server.request("GET", &path, &[("Accept", "application/vnd.ipld.foo")]);
    assert_eq!(r.status, 400, "{}", r.text());

    // Range on a raw block (the conformance suite's exact request).
    let r = server.request(
        "GET",
        &path,
        &[
            ("Accept", "application/vnd.ipld.raw"),
            ("Range", "bytes=6-16"),
        ],
    );
    assert_eq!(r.status, 206, "{}", r.text());
    assert_eq!(r.body, dir_block[6..17]);
    assert_header(&r, "content-range", Some("bytes 6-16/57"));
    assert_header(&r, "content-type", Some("application/vnd.ipld.raw"));
    assert_header(&r, "content-length", Some("11"));

    // HEAD: the GET headers, no body.
    let head = server.request("HEAD", &path, &[("Accept", "application/vnd.ipld.raw")]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    for name in [
        "content-type",
        "content-length",
        "etag",
        "content-disposition",
    ] {
        assert_eq!(head.header(name), by_accept.header(name), "HEAD {name}");
    }

    // If-None-Match with the raw Etag.
    let etag = format!("\"{RAW_DIR}.raw\"");
    let r = server.request(
        "GET",
        &format!("{path}?format=raw"),
        &[("If-None-Match", &etag)],
    );
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
}

#[test]
fn dag_codecs_are_served_as_themselves_and_never_converted() {
    let server = Server::with_fixtures();
    let json_blocks = fixture_blocks("path_gateway_dag/dag-json-traversal.car");
    let cbor_blocks = fixture_blocks("path_gateway_dag/dag-cbor-traversal.car");
    let json_block = block(&json_blocks, DAG_JSON);
    let cbor_block = block(&cbor_blocks, DAG_CBOR);

    // Native representation, without and with an explicit format or Accept.
    for (cid, body, media, suffix, kind, ext) in [
        (
            DAG_JSON,
            &json_block,
            "application/vnd.ipld.dag-json",
            "dag-json",
            "inline",
            "json",
        ),
        (
            DAG_CBOR,
            &cbor_block,
            "application/vnd.ipld.dag-cbor",
            "dag-cbor",
            "attachment",
            "cbor",
        ),
    ] {
        let path = format!("/ipfs/{cid}");
        for (query, accept, location) in [
            ("", None, None),
            (&*format!("?format={suffix}"), None, None),
            ("", Some(media), Some(format!("{path}?format={suffix}"))),
        ] {
            let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept", *a)).collect();
            let r = server.request("GET", &format!("{path}{query}"), &headers);
            let what = format!("{path}{query} {accept:?}");
            assert_eq!(r.status, 200, "{what}: {}", r.text());
            assert_eq!(&r.body, body, "{what}");
            assert_header(&r, "content-type", Some(media));
            assert_header(&r, "etag", Some(&format!("\"{cid}.{suffix}\"")));
            assert_header(
                &r,
                "content-disposition",
                Some(&disposition(kind, &format!("{cid}.{ext}"))),
            );
            assert_header(&r, "x-content-type-options", Some("nosniff"));
            assert_header(&r, "cache-control", Some(IMMUTABLE));
            assert_header(&r, "content-length", Some(&body.len().to_string()));
            assert_header(&r, "x-ipfs-roots", Some(cid));
            assert_header(&r, "content-location", location.as_deref());
        }
        // The plain media type for the same bytes (interop), Etag suffixed with it.
        let r = server.get(&format!("{path}?format={ext}"));
        assert_eq!(r.status, 200, "{path}?format={ext}: {}", r.text());
        assert_eq!(&r.body, body);
        assert_header(&r, "content-type", Some(&format!("application/{ext}")));
        assert_header(&r, "etag", Some(&format!("\"{cid}.{ext}\"")));
        assert_header(
            &r,
            "content-disposition",
            Some(&disposition(kind, &format!("{cid}.{ext}"))),
        );
        let r = server.request("GET", &path, &[("Accept", &format!("application/{ext}"))]);
        assert_eq!(r.status, 200);
        assert_eq!(&r.body, body);
        assert_header(&r, "content-type", Some(&format!("application/{ext}")));
        assert_header(
            &r,
            "content-location",
            Some(&format!("{path}?format={ext}")),
        );
        // ?download=true forces an attachment, under ?filename=.
        let r = server.get(&format!(
            "{path}?format={suffix}&filename=foobar.{ext}&download=true"
        ));
        assert_header(
            &r,
            "content-disposition",
            Some(&disposition("attachment", &format!("foobar.{ext}"))),
        );
        // HEAD has the headers of GET and no body.
        let head = server.request("HEAD", &path, &[]);
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
        assert_header(&head, "content-type", Some(media));
        assert_header(&head, "content-length", Some(&body.len().to_string()));
        assert_header(&head, "etag", Some(&format!("\"{cid}.{suffix}\"")));
    }

    // IPIP-524: asking for another codec is 406, by query or by Accept.
    let dag_pb_file = format!("/ipfs/{MIXED}/subdir/multiblock.txt");
    let raw_leaf_file = format!("/ipfs/{JSON_CBOR_DIR}/%C4%85/%C4%99/file-%C5%BA%C5%82.txt");
    let dag_pb_dir = format!("/ipfs/{MIXED}/subdir/");
    for (path, query, accept) in [
        (&dag_pb_file, "?format=dag-json", None),
        (&dag_pb_file, "?format=dag-cbor", None),
        (&dag_pb_file, "", Some("application/vnd.ipld.dag-json")),
        (&raw_leaf_file, "?format=dag-json", None),
        (&raw_leaf_file, "?format=dag-cbor", None),
        (&raw_leaf_file, "", Some("application/vnd.ipld.dag-cbor")),
        (&dag_pb_dir, "?format=dag-json", None),
        (&format!("/ipfs/{DAG_CBOR}"), "?format=dag-json", None),
        (
            &format!("/ipfs/{DAG_CBOR}"),
            "",
            Some("application/vnd.ipld.dag-json"),
        ),
        (&format!("/ipfs/{DAG_JSON}"), "?format=dag-cbor", None),
        (
            &format!("/ipfs/{DAG_JSON}"),
            "",
            Some("application/vnd.ipld.dag-cbor"),
        ),
    ] {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept", *a)).collect();
        let r = server.request("GET", &format!("{path}{query}"), &headers);
        assert_eq!(r.status, 406, "{path}{query} {accept:?}: {}", r.text());
        assert!(
            r.text().contains("codec conversion is not supported"),
            "{r:?}"
        );
        let head = server.request("HEAD", &format!("{path}{query}"), &headers);
        assert_eq!(head.status, 406, "HEAD {path}{query} {accept:?}");
    }
    // A UnixFS file asked for as plain JSON is still the file (a JSON file stays JSON).
    let r = server.get(&format!(
        "/ipfs/{JSON_CBOR_DIR}/%C4%85/%C4%99/t.json?format=json"
    ));
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"{ \"test\": \"i am a plain json file\" }\n");
    assert_header(&r, "content-type", Some("application/json"));
    let r = server.request("GET", &raw_leaf_file, &[("Accept", "application/json")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"I am a txt file on path with utf8\n");
    assert_header(
        &r,
        "x-ipfs-roots",
        Some(&*format!(
            "{JSON_CBOR_DIR},bafybeienlj4irosstkepniowsfdc2rcfqawtaivloweuyedt7hi42fa3pe,\
         bafybeifbrhaqujlo62d5pduqjjdajhwhhwvsipzjuxd2hmfgqzggqczgke,{UTF8_FILE}"
        )),
    );

    // A browser asking for a DAG block gets an HTML preview: first the trailing slash…
    for cid in [DAG_JSON, DAG_CBOR] {
        let r = server.request("GET", &format!("/ipfs/{cid}"), &[("Accept", "text/html")]);
        assert_eq!(r.status, 301, "{cid}");
        assert_header(&r, "location", Some(&format!("/ipfs/{cid}/")));
        let r = server.request(
            "GET",
            &format!("/ipfs/{cid}?filename=x"),
            &[("Accept", "text/html")],
        );
        assert_eq!(r.status, 301);
        assert_header(&r, "location", Some(&format!("/ipfs/{cid}/?filename=x")));
        // …then the page: DagIndex Etag, no Cache-Control, no Content-Disposition.
        let page = server.request("GET", &format!("/ipfs/{cid}/"), &[("Accept", "text/html")]);
        assert_eq!(page.status, 200, "{}", page.text());
        assert_header(&page, "content-type", Some("text/html"));
        let etag = page.header("etag").unwrap();
        assert!(
            etag.starts_with("\"DagIndex-") && etag.ends_with(&format!("_CID-{cid}\"")),
            "{etag}"
        );
        assert_header(&page, "cache-control", None);
        assert_header(&page, "content-disposition", None);
        let text = page.text();
        assert!(
            text.contains(cid) && text.trim_end().ends_with("</html>"),
            "{text}"
        );
        let r = server.request(
            "GET",
            &format!("/ipfs/{cid}/"),
            &[("Accept", "text/html"), ("If-None-Match", etag)],
        );
        assert_eq!(r.status, 304);
        // An explicit format still wins over the browser's Accept.
        let r = server.request(
            "GET",
            &format!("/ipfs/{cid}/?format=raw"),
            &[("Accept", "text/html")],
        );
        assert_eq!(r.status, 200);
        assert_header(&r, "content-type", Some("application/vnd.ipld.raw"));
    }
}

#[test]
fn paths_through_dag_json_and_dag_cbor_follow_links_only() {
    let server = Server::with_fixtures();
    let cbor_bar: &[u8] = &[
        0xa1, 0x65, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x72, 0x74, 0x68, 0x69, 0x73, 0x20, 0x69, 0x73,
        0x20, 0x6e, 0x6f, 0x74, 0x20, 0x61, 0x20, 0x6c, 0x69, 0x6e, 0x6b,
    ];
    for (root, link, bar, format, body, media) in [
        (
            DAG_JSON,
            DAG_JSON_LINK,
            DAG_JSON_BAR,
            "dag-json",
            &b"{\"hello\":\"this is not a link\"}"[..],
            "application/vnd.ipld.dag-json",
        ),
        (
            DAG_CBOR,
            DAG_CBOR_LINK,
            DAG_CBOR_BAR,
            "dag-cbor",
            cbor_bar,
            "application/vnd.ipld.dag-cbor",
        ),
    ] {
        for query in ["", &*format!("?format={format}")] {
            let path = format!("/ipfs/{root}/foo/link/bar");
            let r = server.get(&format!("{path}{query}"));
            assert_eq!(r.status, 200, "{path}{query}: {}", r.text());
            assert_eq!(r.body, body, "{path}{query}");
            assert_header(&r, "content-type", Some(media));
            assert_header(&r, "etag", Some(&format!("\"{bar}.{format}\"")));
            assert_header(&r, "x-ipfs-path", Some(&path));
            // The root block is read twice (foo, then foo/link inside it), as Kubo reports.
            assert_header(
                &r,
                "x-ipfs-roots",
                Some(&format!("{root},{root},{link},{bar}")),
            );
            // A path ending inside a block, on a value that is not a link: not implemented.
            let r = server.get(&format!("/ipfs/{root}/foo{query}"));
            assert_eq!(r.status, 501, "{root}/foo{query}: {}", r.text());
            // A key the block does not have.
            let r = server.get(&format!("/ipfs/{root}/foo/i-do-not-exist{query}"));
            assert_eq!(
                r.status,
                404,
                "{root}/foo/i-do-not-exist{query}: {}",
                r.text()
            );
        }
        // Through a link into the block it names, as a raw block.
        let r = server.get(&format!("/ipfs/{root}/foo/link?format=raw"));
        assert_eq!(r.status, 200);
        assert_header(&r, "etag", Some(&format!("\"{link}.raw\"")));
    }
    // From a UnixFS directory into a DAG-CBOR document and back into UnixFS.
    let r = server.get(&format!("/ipfs/{CBOR_LINKS_DIR}/document/files/single"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, b"hello world\n");
    assert_header(
        &r,
        "x-ipfs-roots",
        // The document is read for `files`, then again for `single` inside it (as Kubo says).
        Some(&format!(
            "{CBOR_LINKS_DIR},{CBOR_DOCUMENT},{CBOR_DOCUMENT},{HELLO}"
        )),
    );
}

#[test]
fn car_exports_carry_exactly_the_blocks_asked_for() {
    let server = Server::with_fixtures();
    let leaves = MULTIBLOCK_LEAVES;

    // Headers of a default CAR on a path.
    let path = format!("/ipfs/{TWO_FILES}/subdir/ascii.txt");
    let (r, cids) = car(&server, &format!("{path}?format=car"), &[]);
    assert_eq!(cids, strings(&[TWO_FILES, TWO_FILES_SUBDIR, ASCII]));
    assert_header(&r, "content-type", Some(CAR_DFS_N));
    assert_header(
        &r,
        "content-disposition",
        Some(&disposition(
            "attachment",
            &format!("{TWO_FILES}_ascii.txt.car"),
        )),
    );
    assert_header(&r, "x-ipfs-path", Some(&path));
    assert_header(
        &r,
        "x-ipfs-roots",
        Some(&format!("{TWO_FILES},{TWO_FILES_SUBDIR},{ASCII}")),
    );
    assert_header(&r, "content-location", None);
    // The CAR header's root is where the path ends (boxo's choice; clients ignore it).
    let decoded = decode_car(&r.body, &path);
    assert_eq!(decoded.roots.len(), 1);
    assert_eq!(decoded.roots[0].to_string(), ASCII);
    let etag = r.header("etag").unwrap().to_owned();
    assert!(
        etag.starts_with(&format!("W/\"{TWO_FILES}.car.")) && etag.ends_with('"'),
        "{etag}"
    );
    let (r, _) = car(&server, &format!("/ipfs/{TWO_FILES}?format=car"), &[]);
    assert_header(
        &r,
        "content-disposition",
        Some(&disposition("attachment", &format!("{TWO_FILES}.car"))),
    );
    // Accept chose the format: Content-Location spells it (with its parameters) as a query.
    let (r, _) = car(
        &server,
        &path,
        &[("Accept", "application/vnd.ipld.car; version=1; order=dfs")],
    );
    assert_header(
        &r,
        "content-location",
        Some(&format!("{path}?car-order=dfs&car-version=1&format=car")),
    );
    assert_eq!(r.header("etag"), Some(&*etag));

    // dag-scope through a directory.
    let mixed_all = [
        vec![MIXED, MIXED_SUBDIR, ASCII, HELLO, MULTIBLOCK],
        leaves.to_vec(),
    ]
    .concat();
    let multiblock_path = format!("/ipfs/{MIXED}/subdir/multiblock.txt");
    let multiblock_whole = [vec![MIXED, MIXED_SUBDIR, MULTIBLOCK], leaves.to_vec()].concat();
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            format!("/ipfs/{MIXED}/subdir?format=car&dag-scope=all"),
            mixed_all.clone(),
        ),
        (format!("/ipfs/{MIXED}/subdir?format=car"), mixed_all),
        (
            format!("/ipfs/{MIXED}/subdir?format=car&dag-scope=entity"),
            vec![MIXED, MIXED_SUBDIR],
        ),
        (
            format!("/ipfs/{MIXED}/subdir?format=car&dag-scope=block"),
            vec![MIXED, MIXED_SUBDIR],
        ),
        (
            format!("{multiblock_path}?format=car&dag-scope=entity"),
            multiblock_whole.clone(),
        ),
        (
            format!("{multiblock_path}?format=car&dag-scope=all"),
            multiblock_whole.clone(),
        ),
        (
            format!("{multiblock_path}?format=car&dag-scope=block"),
            vec![MIXED, MIXED_SUBDIR, MULTIBLOCK],
        ),
        (
            format!("/ipfs/{TWO_FILES}?format=car&dag-scope=entity"),
            vec![TWO_FILES],
        ),
        (
            format!("/ipfs/{TWO_FILES}/subdir/ascii.txt?format=car&dag-scope=block"),
            vec![TWO_FILES, TWO_FILES_SUBDIR, ASCII],
        ),
        // Through a DAG-CBOR document: the document's links are followed by `all` only.
        (
            format!("/ipfs/{CBOR_LINKS_DIR}/document?format=car&dag-scope=entity"),
            vec![CBOR_LINKS_DIR, CBOR_DOCUMENT],
        ),
        (
            format!("/ipfs/{CBOR_LINKS_DIR}/document?format=car"),
            [
                vec![CBOR_LINKS_DIR, CBOR_DOCUMENT, HELLO, MULTIBLOCK],
                leaves.to_vec(),
            ]
            .concat(),
        ),
        (
            format!("/ipfs/{CBOR_DOCUMENT}/files/single?format=car"),
            vec![CBOR_DOCUMENT, HELLO],
        ),
        (
            format!("/ipfs/{CBOR_LINKS_DIR}/document/files/single?format=car"),
            vec![CBOR_LINKS_DIR, CBOR_DOCUMENT, HELLO],
        ),
        (
            format!("/ipfs/{CBOR_DOCUMENT}?format=car&dag-scope=block"),
            vec![CBOR_DOCUMENT],
        ),
        (
            format!("/ipfs/{DAG_CBOR}?format=car"),
            vec![DAG_CBOR, DAG_CBOR_LINK, DAG_CBOR_BAR],
        ),
        (
            format!("/ipfs/{DAG_JSON}/foo/link?format=car&dag-scope=entity"),
            vec![DAG_JSON, DAG_JSON_LINK],
        ),
        // entity-bytes: only the blocks holding the range (multiblock.txt is 1026 bytes).
        (
            format!("{multiblock_path}?format=car&dag-scope=entity&entity-bytes=0:*"),
            multiblock_whole.clone(),
        ),
        (
            format!("/ipfs/{MULTIBLOCK}?format=car&dag-scope=entity&entity-bytes=512:*"),
            vec![MULTIBLOCK, leaves[2], leaves[3], leaves[4]],
        ),
        (
            format!("/ipfs/{MULTIBLOCK}?format=car&dag-scope=entity&entity-bytes=512:1023"),
            vec![MULTIBLOCK, leaves[2], leaves[3]],
        ),
        (
            format!("/ipfs/{MULTIBLOCK}?format=car&dag-scope=entity&entity-bytes=512:-256"),
            vec![MULTIBLOCK, leaves[2], leaves[3]],
        ),
        (
            format!("/ipfs/{MULTIBLOCK}?format=car&dag-scope=entity&entity-bytes=-5:*"),
            vec![MULTIBLOCK, leaves[3], leaves[4]],
        ),
        (
            format!("/ipfs/{MULTIBLOCK}?format=car&dag-scope=entity&entity-bytes=-9999:*"),
            [vec![MULTIBLOCK], leaves.to_vec()].concat(),
        ),
        (
            format!("/ipfs/{MULTIBLOCK}?format=car&dag-scope=entity&entity-bytes=-9999:-3"),
            vec![MULTIBLOCK, leaves[0], leaves[1], leaves[2], leaves[3]],
        ),
        (
            format!("/ipfs/{MULTIBLOCK}?format=car&dag-scope=entity&entity-bytes=0:0"),
            vec![MULTIBLOCK, leaves[0]],
        ),
        // A range entirely past the end: the root block only.
        (
            format!("/ipfs/{MULTIBLOCK}?format=car&dag-scope=entity&entity-bytes=5000:*"),
            vec![MULTIBLOCK],
        ),
        // The spec: entity-bytes implies dag-scope=entity (Kubo 0.42 treats it as `all`).
        (
            format!("/ipfs/{MULTIBLOCK}?format=car&entity-bytes=0:0"),
            vec![MULTIBLOCK, leaves[0]],
        ),
        // The fixture lacks the file's middle block; ranges that do not need it succeed.
        (
            format!("/ipfs/{MISSING_BLOCK_FILE}?format=car&dag-scope=entity&entity-bytes=0:1000"),
            vec![
                MISSING_BLOCK_FILE,
                "QmPKt7ptM2ZYSGPUc8PmPT2VBkLDK3iqpG9TBJY7PCE9rF",
            ],
        ),
        (
            format!("/ipfs/{MISSING_BLOCK_FILE}?format=car&dag-scope=entity&entity-bytes=2200:*"),
            vec![
                MISSING_BLOCK_FILE,
                "QmWXY482zQdwecnfBsj78poUUuPXvyw2JAFAEMw4tzTavV",
            ],
        ),
        (
            format!("/ipfs/{MISSING_BLOCK_FILE}?format=car&dag-scope=block"),
            vec![MISSING_BLOCK_FILE],
        ),
        // Identity CIDs are never written, even with dups=y.
        (
            "/ipfs/bafkqaf3imvwgy3zaneqgc3janfxgy2lomvscay3jmqfa?format=car&car-dups=y".to_owned(),
            vec![],
        ),
    ];
    for (path, expected) in &cases {
        let (_, cids) = car(&server, path, &[]);
        assert_eq!(&cids, &strings(expected), "{path}");
    }

    // A HAMT directory: `entity` is the root and every shard (in link order), not the
    // entries; pathing through it carries only the shard on the way.
    let hamt_blocks =
        fixture_blocks("trustless_gateway_car/single-layer-hamt-with-multi-block-files.car");
    let mut shards = Vec::new();
    hamt_shards(&hamt_blocks, HAMT, &mut shards);
    assert_eq!(shards.len(), 236, "the fixture's HAMT has 236 shards");
    let (_, cids) = car(
        &server,
        &format!("/ipfs/{HAMT}?format=car&dag-scope=entity"),
        &[],
    );
    assert_eq!(cids, [vec![HAMT.to_owned()], shards.clone()].concat());
    assert_eq!(
        cids[1],
        "bafybeiaebmuestgbpqhkkbrwl2qtjtvs3whkmp2trkbkimuod4yv7oygni"
    );
    let (_, cids) = car(
        &server,
        &format!("/ipfs/{HAMT}?format=car&dag-scope=entity&entity-bytes=0:*"),
        &[],
    );
    assert_eq!(cids.len(), 237, "entity-bytes is ignored on a directory");
    let (_, all) = car(&server, &format!("/ipfs/{HAMT}?format=car"), &[]);
    assert_eq!(all.len(), 243, "every block of the fixture, each once");
    assert_eq!(all[..2], [HAMT.to_owned(), shards[0].clone()]);
    let (_, cids) = car(
        &server,
        &format!("/ipfs/{HAMT}/1.txt?format=car&dag-scope=block"),
        &[],
    );
    assert_eq!(
        cids,
        strings(&[
            HAMT,
            "bafybeiawjmzmi5c6v5h75nepfpx7jj5ns5t54girned3kilvakmhctxlxy",
            MULTIBLOCK
        ])
    );
    let (_, cids) = car(&server, &format!("/ipfs/{HAMT}/685.txt?format=car"), &[]);
    assert_eq!(
        cids,
        [
            vec![
                HAMT,
                "bafybeifajm5xyg46n4hjxg7clq2f7vcn7eg7bn3yevylcemr6vd7mp6gta",
                MULTIBLOCK
            ],
            leaves.to_vec()
        ]
        .concat()
    );
}

/// The sub-shards below a HAMT shard, depth-first in link order, read from the fixture: a link
/// whose name is just the two hex digits of its bucket (256-wide fan-out) is a shard.
fn hamt_shards(
    blocks: &std::collections::HashMap<String, Bytes>,
    shard: &str,
    out: &mut Vec<String>,
) {
    let node = cairn::ipld::dagpb::decode(&blocks[shard]).unwrap();
    for link in node.links.iter().filter(|link| link.name_str().len() == 2) {
        let cid = link.cid.to_string();
        out.push(cid.clone());
        hamt_shards(blocks, &cid, out);
    }
}

/// A CAR request's query and headers, the Content-Type expected and the blocks in order.
type CarCase<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a [&'a str]);

#[test]
fn car_duplicates_order_versions_etags_and_errors() {
    let server = Server::with_fixtures();
    let leaves = MULTIBLOCK_LEAVES;
    let path = format!("/ipfs/{DUPLICATES}");
    let once = [vec![DUPLICATES, ASCII, HELLO, MULTIBLOCK], leaves.to_vec()].concat();
    // ascii.txt and ascii-copy.txt are the same block.
    let twice = [
        vec![DUPLICATES, ASCII, ASCII, HELLO, MULTIBLOCK],
        leaves.to_vec(),
    ]
    .concat();
    let cases: &[CarCase] = &[
        (
            "",
            &[(
                "Accept",
                "application/vnd.ipld.car; version=1; order=dfs; dups=y",
            )],
            CAR_DFS_Y,
            &twice,
        ),
        (
            "",
            &[(
                "Accept",
                "application/vnd.ipld.car; version=1; order=dfs; dups=n",
            )],
            CAR_DFS_N,
            &once,
        ),
        ("?format=car", &[], CAR_DFS_N, &once),
        ("?format=car&car-dups=y", &[], CAR_DFS_Y, &twice),
        // Accept's parameters count when ?format= names the same format…
        (
            "?format=car",
            &[(
                "Accept",
                "application/vnd.ipld.car; version=1; order=dfs; dups=y",
            )],
            CAR_DFS_Y,
            &twice,
        ),
        // …and the query's own parameters win over them (IPIP-523).
        (
            "?format=car&car-dups=y",
            &[("Accept", "application/vnd.ipld.car; dups=n")],
            CAR_DFS_Y,
            &twice,
        ),
        (
            "?format=car&car-order=dfs",
            &[("Accept", "application/vnd.ipld.car; order=unk")],
            CAR_DFS_N,
            &once,
        ),
        // order=unk is echoed; cairn still walks depth-first.
        (
            "",
            &[("Accept", "application/vnd.ipld.car; version=1; order=unk")],
            "application/vnd.ipld.car; version=1; order=unk; dups=n",
            &once,
        ),
    ];
    for (query, headers, content_type, expected) in cases {
        let (r, cids) = car(&server, &format!("{path}{query}"), headers);
        assert_header(&r, "content-type", Some(*content_type));
        assert_eq!(&cids, &strings(expected), "{path}{query} {headers:?}");
    }
    // With dups=y every repeat carries the same bytes again.
    let r = server.get(&format!("{path}?format=car&car-dups=y"));
    let decoded = decode_car(&r.body, "dups=y");
    assert_eq!(decoded.blocks[1], decoded.blocks[2]);

    // The Etag: weak, stable, and different for each variant of the bytes.
    let etag_of = |query: &str| {
        let r = server.request("HEAD", &format!("{path}?format=car{query}"), &[]);
        assert_eq!(r.status, 200, "HEAD {query}");
        assert!(r.body.is_empty());
        assert_header(
            &r,
            "content-type",
            Some(if query.contains("dups=y") {
                CAR_DFS_Y
            } else {
                CAR_DFS_N
            }),
        );
        r.header("etag").unwrap().to_owned()
    };
    let variants = [
        "",
        "&dag-scope=entity",
        "&dag-scope=block",
        "&car-dups=y",
        "&dag-scope=entity&entity-bytes=0:100",
        "&dag-scope=entity&entity-bytes=0:200",
        "&dag-scope=entity&entity-bytes=-100:*",
    ];
    let etags: Vec<String> = variants.iter().map(|v| etag_of(v)).collect();
    for (i, a) in etags.iter().enumerate() {
        assert!(
            a.starts_with(&format!("W/\"{DUPLICATES}.car.")) && a.ends_with('"'),
            "{a}"
        );
        for (j, b) in etags.iter().enumerate().skip(i + 1) {
            assert_ne!(a, b, "{} and {} share an Etag", variants[i], variants[j]);
        }
    }
    assert_eq!(etag_of(""), etags[0], "the Etag is deterministic");
    assert_eq!(
        etag_of("&dag-scope=all"),
        etags[0],
        "all is the default scope"
    );
    let get = server.get(&format!("{path}?format=car&dag-scope=entity"));
    assert_eq!(get.header("etag"), Some(&*etags[1]), "HEAD and GET agree");

    // If-None-Match with the CAR Etag: 304, nothing streamed.
    let r = server.request(
        "GET",
        &format!("{path}?format=car&dag-scope=entity"),
        &[("If-None-Match", &etags[1])],
    );
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_header(&r, "etag", Some(&etags[1]));
    let r = server.request(
        "GET",
        &format!("{path}?format=car"),
        &[("If-None-Match", &etags[1])],
    );
    assert_eq!(r.status, 200, "another scope's Etag does not match");

    // Only CARv1 is produced.
    let r = server.request(
        "GET",
        &path,
        &[("Accept", "application/vnd.ipld.car; version=2")],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = server.get(&format!("{path}?format=car&car-version=2"));
    assert_eq!(r.status, 400, "{}", r.text());
    // Malformed parameters.
    for query in [
        "?format=car&dag-scope=everything",
        "?format=car&dag-scope=entity&entity-bytes=100:10",
        "?format=car&dag-scope=entity&entity-bytes=nope",
        "?format=car&car-dups=maybe",
        "?format=car&car-order=bfs",
    ] {
        let r = server.get(&format!("{path}{query}"));
        assert_eq!(r.status, 400, "{query}: {}", r.text());
    }
    // A path naming nothing is found out before streaming: 404 (a conformance option).
    let r = server.get(&format!(
        "/ipfs/{TWO_FILES}/subdir/i-do-not-exist?format=car"
    ));
    assert_eq!(r.status, 404, "{}", r.text());
    let r = server.get(&format!("/ipfs/{ABSENT}?format=car"));
    assert_eq!(r.status, 404, "{}", r.text());
}

/// A block missing mid-walk must never produce a complete-looking `200` CAR: the stream is cut,
/// after the status line and the blocks before it (as Kubo sends them), never before.
#[test]
fn car_with_a_missing_block_is_never_passed_off_as_complete() {
    let server = Server::with_fixtures();
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET /ipfs/{MISSING_BLOCK_FILE}?format=car HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    // The server may reset the connection rather than close it: either ends the read.
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains("application/vnd.ipld.car"),
        "the headers were not sent before the stream was cut: {text}"
    );
    assert!(
        !raw.ends_with(b"\r\n0\r\n\r\n"),
        "the chunked body was terminated as if complete: {text}"
    );
}

fn entry<'a>(entries: &'a [TarEntry], name: &str) -> &'a TarEntry {
    entries
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no entry {name:?} in {entries:?}"))
}

fn summary(entries: &[TarEntry]) -> Vec<(String, char, u64, u32)> {
    entries
        .iter()
        .map(|e| (e.name.clone(), e.kind as char, e.size, e.mode))
        .collect()
}

#[test]
fn tar_archives_of_unixfs() {
    let server = Server::with_fixtures();

    // A file by ?format=tar and by Accept.
    for (query, accept) in [("?format=tar", None), ("", Some("application/x-tar"))] {
        let path = format!("/ipfs/{UTF8_FILE}");
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept", *a)).collect();
        let r = server.request("GET", &format!("{path}{query}"), &headers);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_header(&r, "content-type", Some("application/x-tar"));
        assert_header(&r, "etag", Some(&format!("W/\"{UTF8_FILE}.x-tar\"")));
        assert_header(
            &r,
            "content-disposition",
            Some(&disposition("attachment", &format!("{UTF8_FILE}.tar"))),
        );
        assert_header(&r, "x-content-type-options", Some("nosniff"));
        assert_header(&r, "cache-control", Some(IMMUTABLE));
        let location = accept.map(|_| format!("{path}?format=tar"));
        assert_header(&r, "content-location", location.as_deref());
        let entries = read_tar(&r.body).unwrap();
        assert_eq!(
            summary(&entries),
            vec![(UTF8_FILE.to_owned(), '0', 34, 0o644)]
        );
        assert_eq!(entries[0].data, b"I am a txt file on path with utf8\n");
    }

    // A directory tree, non-ASCII names included (PAX headers), in pre-order.
    let r = server.get(&format!("/ipfs/{TAR_DIR}?format=tar"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_header(&r, "etag", Some(&format!("W/\"{TAR_DIR}.x-tar\"")));
    let entries = read_tar(&r.body).unwrap();
    let d = |rest: &str| {
        if rest.is_empty() {
            TAR_DIR.to_owned()
        } else {
            format!("{TAR_DIR}/{rest}")
        }
    };
    assert_eq!(
        summary(&entries),
        vec![
            (d(""), '5', 0, 0o755),
            (d("api"), '5', 0, 0o755),
            (d("api/file.txt"), '0', 38, 0o644),
            (d("ipfs"), '5', 0, 0o755),
            (d("ipfs/file.txt"), '0', 39, 0o644),
            (d("ipns"), '5', 0, 0o755),
            (d("ipns/file.txt"), '0', 39, 0o644),
            (d("ą"), '5', 0, 0o755),
            (d("ą/ę"), '5', 0, 0o755),
            (d("ą/ę/file-źł.txt"), '0', 34, 0o644),
        ]
    );
    assert_eq!(
        entry(&entries, &d("api/file.txt")).data,
        b"I am a txt file in confusing /api dir\n"
    );
    assert_eq!(
        entry(&entries, &d("ipns/file.txt")).data,
        b"I am a txt file in confusing /ipns dir\n"
    );
    assert_eq!(
        entry(&entries, &d("ą/ę/file-źł.txt")).data,
        b"I am a txt file on path with utf8\n"
    );
    // The same file reached through the directory is the same bytes as the file alone.
    let r = server.get(&format!("/ipfs/{TAR_DIR}/%C4%85/%C4%99?format=tar"));
    assert_eq!(r.status, 200);
    let sub = read_tar(&r.body).unwrap();
    let sub_cid = "bafybeih24awytf2cmnuycs4nslllfrdzhd6yliyzgd7mxwuxcgv2gm5mda";
    assert_eq!(
        summary(&sub),
        vec![
            (sub_cid.to_owned(), '5', 0, 0o755),
            (format!("{sub_cid}/file-źł.txt"), '0', 34, 0o644),
        ]
    );
    assert_header(
        &r,
        "content-disposition",
        Some(&disposition("attachment", &format!("{sub_cid}.tar"))),
    );

    // ?filename= replaces the name; non-ASCII goes to filename* (the conformance vector).
    let r = server.get(&format!(
        "/ipfs/{TAR_DIR}?format=tar&filename=test%D1%82%D0%B5%D1%81%D1%82.tar"
    ));
    assert_header(
        &r,
        "content-disposition",
        Some("attachment; filename=\"test____.tar\"; filename*=UTF-8''test%D1%82%D0%B5%D1%81%D1%82.tar"),
    );

    // Symlinks are archived as symlinks; a CIDv0 root is named by its CIDv1.
    let r = server.get(&format!("/ipfs/{SYMLINK_DIR}?format=tar"));
    assert_eq!(r.status, 200);
    assert_header(&r, "etag", Some(&format!("W/\"{SYMLINK_DIR_V1}.x-tar\"")));
    let entries = read_tar(&r.body).unwrap();
    assert_eq!(
        summary(&entries),
        vec![
            (SYMLINK_DIR_V1.to_owned(), '5', 0, 0o755),
            (format!("{SYMLINK_DIR_V1}/bar"), '2', 0, 0o777),
            (format!("{SYMLINK_DIR_V1}/foo"), '0', 8, 0o644),
        ]
    );
    assert_eq!(entries[1].link, "foo");
    assert_eq!(entries[2].data, b"content\n");

    // `../file` one level down stays inside the root: written under its cleaned path.
    let r = server.get(&format!("/ipfs/{INSIDE_ROOT}?format=tar"));
    assert_eq!(r.status, 200, "{}", r.text());
    let entries = read_tar(&r.body).unwrap();
    assert_eq!(
        summary(&entries),
        vec![
            (INSIDE_ROOT.to_owned(), '5', 0, 0o755),
            (format!("{INSIDE_ROOT}/foobar"), '5', 0, 0o755),
            (format!("{INSIDE_ROOT}/foobar/directory"), '5', 0, 0o755),
            (format!("{INSIDE_ROOT}/foobar/file"), '0', 14, 0o644),
        ]
    );
    assert_eq!(entries[3].data, b"Hello, world!\n");

    // `../foo` at the root escapes it: refused before any archive byte.
    let r = server.get(&format!("/ipfs/{OUTSIDE_ROOT}?format=tar"));
    assert!((400..600).contains(&r.status), "{r:?}");
    assert_ne!(r.header("content-type"), Some("application/x-tar"));
    assert!(
        r.text()
            .contains("relative UnixFS paths outside the root are not allowed"),
        "{}",
        r.text()
    );

    // Conditional and HEAD requests.
    let etag = format!("W/\"{TAR_DIR}.x-tar\"");
    let r = server.request(
        "GET",
        &format!("/ipfs/{TAR_DIR}?format=tar"),
        &[("If-None-Match", &etag)],
    );
    assert_eq!(r.status, 304);
    let head = server.request("HEAD", &format!("/ipfs/{TAR_DIR}?format=tar"), &[]);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_header(&head, "content-type", Some("application/x-tar"));
    assert_header(&head, "etag", Some(&etag));
    // Not UnixFS: no archive.
    let r = server.get(&format!("/ipfs/{DAG_CBOR}?format=tar"));
    assert!((400..600).contains(&r.status), "{r:?}");
}

#[test]
fn only_if_cached_and_protocol_handler_redirects() {
    let server = Server::with_fixtures();
    let only = [("Cache-Control", "only-if-cached")];
    for method in ["GET", "HEAD"] {
        for path in [
            format!("/ipfs/{ABSENT}"),
            format!("/ipfs/{ABSENT}?format=raw"),
            format!("/ipfs/{ABSENT}?format=car"),
            format!("/ipfs/{CACHE_ROOT}/root2/not-here"),
        ] {
            let r = server.request(method, &path, &only);
            assert_eq!(r.status, 412, "{method} {path}: {}", r.text());
        }
        let raw = format!("/ipfs/{CACHE_ROOT}/root2/root3/root4/?format=raw");
        let r = server.request(method, &raw, &only);
        assert_eq!(r.status, 200, "{method} {raw}: {}", r.text());
        assert_header(&r, "etag", Some(&format!("\"{CACHE_ROOT4}.raw\"")));
        assert_header(&r, "cache-control", Some(IMMUTABLE));
        if method == "GET" {
            assert_eq!(
                r.body,
                block(&fixture_blocks("gateway-cache/fixtures.car"), CACHE_ROOT4)
            );
        }
        let page = format!("/ipfs/{CACHE_ROOT}/root2/root3/root4/index.html");
        let r = server.request(method, &page, &only);
        assert_eq!(r.status, 200, "{method} {page}");
        assert_header(&r, "content-length", Some("6"));
    }
    // Without the directive a missing CID is a plain 404.
    assert_eq!(server.get(&format!("/ipfs/{ABSENT}")).status, 404);

    // navigator.registerProtocolHandler URLs.
    for (url, location) in [
        (
            format!("/ipfs/?uri=ipfs%3A%2F%2F{CACHE_ROOT}%2Fa%2Fb"),
            format!("/ipfs/{CACHE_ROOT}/a/b"),
        ),
        (
            format!("/ipfs/?uri=ipfs%3A%2F%2F{CACHE_ROOT}"),
            format!("/ipfs/{CACHE_ROOT}"),
        ),
        (
            format!("/ipfs/?uri=ipfs%3A%2F%2F{CACHE_ROOT}%2Fa%3Fx%3D1%23frag"),
            format!("/ipfs/{CACHE_ROOT}/a?x=1"),
        ),
        (
            "/ipns/?uri=ipns%3A%2F%2Fexample.org".to_owned(),
            "/ipns/example.org".to_owned(),
        ),
        (
            "/ipns/?uri=ipns%3A%2F%2Fexample.org%2Fwiki%2F".to_owned(),
            "/ipns/example.org/wiki".to_owned(),
        ),
        (
            "/ipfs/?uri=ipns%3A%2F%2Fexample.org".to_owned(),
            "/ipns/example.org".to_owned(),
        ),
    ] {
        let r = server.get(&url);
        assert_eq!(r.status, 301, "{url}: {}", r.text());
        assert_header(&r, "location", Some(&location));
    }
    for url in [
        "/ipfs/?uri=https%3A%2F%2Fexample.com",
        "/ipns/?uri=ftp%3A%2F%2Fexample.org",
        "/ipns/?uri=example.org",
    ] {
        let r = server.get(url);
        assert_eq!(r.status, 400, "{url}: {}", r.text());
        assert_header(&r, "location", None);
    }
}
