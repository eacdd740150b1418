//! IPNS on the gateway, against the real binary over HTTP: the key API, `/ipns` reads and
//! `POST /ipns` (pins observed through `cairn gc`), Delegated Routing V1 with the conformance
//! suite's records, records cairn signs checked by an independent Ed25519 verification (and by
//! Kubo when installed), republishing, and DNSLink through a real DNS server on loopback.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use support::{dns, Response, Server};

const DIR_WITH_FILES: &str = "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";
const DIR_LISTING: &str = "bafybeig6ka5mlwkl4subqhaiatalkcleo4jgnr3hqwvpmsqfca27cijp3i";
/// gateway-cache/fixtures.car: root2/root3/root4/index.html = "hello\n".
const CACHE_ROOT: &str = "bafybeib3ffl2teiqdncv3mkz4r23b5ctrwkzrrhctdbne6iboayxuxk5ui";
const HELLO_LF: &str = "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am";
const EMPTY_DIR: &str = "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354";
/// The gateway-cache record: points at CACHE_ROOT, 100-year TTL and lifetime.
const CACHE_NAME: &str = "k51qzi5uqu5dlxdsdu5fpuu7h69wu4ohp32iwm9pdt9nq3y5rpn3ln9j12zfhe";

fn fixture(relative: &str) -> PathBuf {
    support::fixtures().join(relative)
}

/// Runs a cairn subcommand on a data directory; returns success and all output.
fn cairn(args: &[&str], data: &Path) -> (bool, String) {
    let out = Command::new(support::cairn_bin())
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// Imports CARs without pinning their roots.
fn import_unpinned(data: &Path, cars: &[&str]) {
    let mut args = vec!["import", "--pin-roots=false"];
    let paths: Vec<String> = cars
        .iter()
        .map(|c| fixture(c).to_string_lossy().into_owned())
        .collect();
    args.extend(paths.iter().map(String::as_str));
    let (ok, out) = cairn(&args, data);
    assert!(ok, "{out}");
}

/// One request with a body.
fn send(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    server.send(method, path, headers, body)
}

fn post(server: &Server, path: &str, body: &str) -> Response {
    send(server, "POST", path, &[], body.as_bytes())
}

/// Creates a key through the key API and returns its k51 name.
fn create_key(server: &Server, key: &str) -> String {
    let r = post(server, &format!("/ipns/localhost?key={key}"), "");
    assert_eq!(r.status, 201, "{r:?}");
    let location = r.header("location").unwrap();
    location
        .strip_prefix("ipns://")
        .and_then(|l| l.strip_suffix('/'))
        .unwrap_or_else(|| panic!("{location}"))
        .to_owned()
}

fn assert_cors(r: &Response) {
    assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{r:?}");
}

// ---------------------------------------------------------------------------------------------
// The key API
// ---------------------------------------------------------------------------------------------

#[test]
fn the_key_api_answers_every_status() {
    let server = Server::start_in(tempfile::tempdir().unwrap(), &[]);
    let r = post(&server, "/ipns/localhost?key=site", "");
    assert_eq!(r.status, 201);
    assert_cors(&r);
    let location = r.header("location").unwrap().to_owned();
    assert!(
        location.starts_with("ipns://k51") && location.ends_with('/'),
        "{location}"
    );
    let name = &location["ipns://".len()..location.len() - 1];

    // An existing name answers the same and stays as it was.
    let again = post(&server, "/ipns/localhost?key=site", "");
    assert_eq!(
        (again.status, again.header("location")),
        (201, Some(&*location))
    );

    let r = server.get("/ipns/localhost?key=site");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some(&*format!("ipns://{name}")));
    assert_cors(&r);
    let r = server.get("/ipns/localhost/a/b%20c?key=site");
    assert_eq!(
        r.header("location"),
        Some(&*format!("ipns://{name}/a/b%20c"))
    );

    // A new key points at the empty directory at once.
    let r = server.get(&format!("/ipns/{name}/"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("ipfs-hash"), Some(EMPTY_DIR));
    assert_eq!(r.text(), "[]");
    let r = server.get("/ipns/site/");
    assert_eq!((r.status, r.header("ipfs-hash")), (200, Some(EMPTY_DIR)));

    for (method, path, status) in [
        ("GET", "/ipns/localhost?key=nope", 404),
        ("DELETE", "/ipns/localhost?key=nope", 404),
        ("GET", "/ipns/localhost", 400),
        ("POST", "/ipns/localhost", 400),
        ("DELETE", "/ipns/localhost", 400),
        ("GET", "/ipns/localhost?key=", 400),
        ("POST", "/ipns/localhost?key=a%2Fb", 400),
        ("DELETE", "/ipns/localhost?key=self", 400),
        ("PATCH", "/ipns/localhost?key=site", 405),
    ] {
        let r = send(&server, method, path, &[], b"");
        assert_eq!(r.status, status, "{method} {path}: {}", r.text());
        assert_cors(&r);
        assert!(!r.text().trim().is_empty(), "errors say what went wrong");
    }

    let r = send(&server, "DELETE", "/ipns/localhost?key=site", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_cors(&r);
    assert_eq!(server.get("/ipns/localhost?key=site").status, 404);
    assert_eq!(
        send(&server, "DELETE", "/ipns/localhost?key=site", &[], b"").status,
        404
    );
    assert_eq!(
        server.get(&format!("/ipns/{name}/")).status,
        502,
        "its record went too"
    );
    // The identity key can be looked up like any other.
    assert_eq!(server.get("/ipns/localhost?key=self").status, 302);
}

// ---------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------

#[test]
fn names_serve_content_as_ipfs_does_with_ipns_headers() {
    let data = tempfile::tempdir().unwrap();
    import_unpinned(data.path(), &["gateway-cache/fixtures.car"]);
    let server = Server::start_in(data, &[]);
    let name = create_key(&server, "site");
    let r = post(&server, "/ipns/site", &format!("/ipfs/{CACHE_ROOT}"));
    assert_eq!(r.status, 200, "{}", r.text());

    let path = format!("/ipns/{name}/root2/root3/root4/index.html");
    let r = server.get(&path);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, b"hello\n");
    assert_eq!(r.header("x-ipfs-path"), Some(&*path));
    assert_eq!(r.header("ipfs-hash"), Some(HELLO_LF));
    assert_eq!(r.header("etag"), Some(&*format!("\"{HELLO_LF}\"")));
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    assert!(r.header("x-ipfs-roots").unwrap().starts_with(CACHE_ROOT));
    assert_cors(&r);

    // The same through the key's local name, and as HEAD.
    let by_key = server.request("HEAD", "/ipns/site/root2/root3/root4/index.html", &[]);
    assert_eq!(by_key.status, 200);
    assert!(by_key.body.is_empty());
    assert_eq!(by_key.header("content-length"), Some("6"));
    assert_eq!(by_key.header("ipfs-hash"), Some(HELLO_LF));

    let etag = format!("\"{HELLO_LF}\"");
    let r = server.request("GET", &path, &[("If-None-Match", &etag)]);
    assert_eq!(r.status, 304);
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));

    // Listings: mutable caching, a trailing-slash redirect, index.html.
    let r = server.get(&format!("/ipns/{name}/root2/root3/"));
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=300, stale-while-revalidate=2678400")
    );
    let r = server.get(&format!("/ipns/{name}/root2?x=1"));
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some(&*format!("/ipns/{name}/root2/?x=1"))
    );
    let r = server.get(&format!("/ipns/{name}/root2/root3/root4/"));
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello\n"[..]));

    // Peer IDs and other encodings redirect to the base36 CID (conformance vectors).
    let r = server.get("/ipns/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK/root2/");
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some("/ipns/k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8/root2/")
    );
    let r = server.get("/ipns/QmcJM7PRfkSbcM5cf1QugM5R37TLRKyJGgBEhXjLTB8uA2/root2/");
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some("/ipns/k2k4r8ol4m8kkcqz509c1rcjwunebj02gcnm5excpx842u736nja8ger/root2/")
    );

    for (path, status) in [
        (format!("/ipns/{name}/root2/missing"), 404),
        (
            "/ipns/k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8/".into(),
            502,
        ),
        ("/ipns/no-such-key".into(), 404),
        ("/ipns/bad..domain".into(), 400),
        ("/ipns/".into(), 400),
        ("/routing/v1/providers/bafy".into(), 404),
    ] {
        let r = server.get(&path);
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert_cors(&r);
    }
    let r = server.request("GET", "/ipns/no-such-key", &[("Accept", "text/html")]);
    assert!(r.text().contains("<html"), "HTML errors for browsers");
}

#[test]
fn the_trustless_gateway_serves_the_record_itself() {
    let server = Server::start_in(tempfile::tempdir().unwrap(), &[]);
    let name = create_key(&server, "site");
    let r = server.get(&format!("/ipns/{name}?format=ipns-record"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.ipfs.ipns-record")
    );
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(
        r.header("content-disposition"),
        Some(&*format!(
            "attachment; filename=\"{name}.ipns-record\"; filename*=UTF-8''{name}.ipns-record"
        ))
    );
    let etag = r.header("etag").unwrap().to_owned();
    verify_record(&name, &r.body, &format!("/ipfs/{EMPTY_DIR}"));
    let by_accept = server.request(
        "GET",
        &format!("/ipns/{name}"),
        &[("Accept", "application/vnd.ipfs.ipns-record")],
    );
    assert_eq!(by_accept.body, r.body);
    let r = server.request(
        "GET",
        &format!("/ipns/{name}?format=ipns-record"),
        &[("If-None-Match", &etag)],
    );
    assert_eq!(r.status, 304);
    // The 304 renews a cache's copy as the 200 would (boxo#329).
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    let r = server.get(&format!(
        "/ipns/{name}?format=ipns-record&filename=test%D1%82.ipns-record"
    ));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"test_.ipns-record\"; filename*=UTF-8''test%D1%82.ipns-record")
    );
    assert_eq!(
        server
            .get(&format!("/ipns/{name}/sub?format=ipns-record"))
            .status,
        400
    );
    assert_eq!(
        server.get("/ipns/example.org?format=ipns-record").status,
        400
    );
}

// ---------------------------------------------------------------------------------------------
// POST /ipns/<key>[/<path>]
// ---------------------------------------------------------------------------------------------

#[test]
fn posting_publishes_and_moves_the_pin() {
    let data = tempfile::tempdir().unwrap();
    let data_path = data.path().to_path_buf();
    import_unpinned(
        &data_path,
        &[
            "path_gateway_unixfs/dir-with-files.car",
            "dir_listing/fixtures.car",
        ],
    );
    let server = Server::start_in(data, &[]);
    let name = create_key(&server, "site");

    let r = post(
        &server,
        "/ipns/site",
        &format!("  /ipfs/{DIR_WITH_FILES}\n"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-ipns-path"), Some("/ipns/site"));
    assert_eq!(r.header("location"), Some("ipns://site/"));
    assert_eq!(r.header("ipfs-hash"), Some(DIR_WITH_FILES));
    assert_cors(&r);
    assert_eq!(server.get("/ipns/site/hello.txt").body, b"hello world\n");

    // GC keeps what the name points at and removes what nothing pins.
    let (ok, out) = cairn(&["gc"], &data_path);
    assert!(ok, "{out}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        server
            .get(&format!("/ipfs/{DIR_WITH_FILES}/multiblock.txt"))
            .status,
        200
    );
    assert_eq!(server.get(&format!("/ipfs/{DIR_LISTING}/")).status, 404);

    // Publishing elsewhere releases the previous root.
    import_unpinned(&data_path, &["gateway-cache/fixtures.car"]);
    let r = post(
        &server,
        &format!("/ipns/{name}"),
        &format!("ipfs://{CACHE_ROOT}"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-ipns-path"), Some(&*format!("/ipns/{name}")));
    let (ok, out) = cairn(&["gc"], &data_path);
    assert!(ok, "{out}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        server
            .get(&format!("/ipfs/{DIR_WITH_FILES}/hello.txt"))
            .status,
        404
    );
    assert_eq!(
        server.get("/ipns/site/root2/root3/root4/index.html").body,
        b"hello\n"
    );

    // Setting a path inside the current tree: parents are created, the rest stays.
    let r = post(&server, "/ipns/site/new%20dir/deeper/hi.txt", HELLO_LF);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("x-ipns-path"),
        Some("/ipns/site/new%20dir/deeper/hi.txt")
    );
    assert_eq!(
        r.header("location"),
        Some("ipns://site/new%20dir/deeper/hi.txt")
    );
    let new_root = r.header("ipfs-hash").unwrap().to_owned();
    assert_ne!(new_root, CACHE_ROOT);
    let (ok, out) = cairn(&["gc"], &data_path);
    assert!(ok, "{out}");
    std::thread::sleep(Duration::from_millis(1500));
    let r = server.get("/ipns/site/new%20dir/deeper/hi.txt");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello\n"[..]));
    assert_eq!(
        server.get("/ipns/site/root2/root3/root4/index.html").body,
        b"hello\n"
    );
    assert_eq!(
        server.get("/ipns/site/").header("ipfs-hash"),
        Some(&*new_root)
    );

    // Deleting the key releases what it pointed at.
    assert_eq!(
        send(&server, "DELETE", "/ipns/localhost?key=site", &[], b"").status,
        200
    );
    let (ok, out) = cairn(&["gc"], &data_path);
    assert!(ok, "{out}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(server.get(&format!("/ipfs/{new_root}/")).status, 404);
}

#[test]
fn posting_refuses_what_cannot_be_published() {
    let data = tempfile::tempdir().unwrap();
    import_unpinned(data.path(), &["path_gateway_unixfs/dir-with-files.car"]);
    let server = Server::start_in(data, &[]);
    create_key(&server, "site");
    let good = format!("/ipfs/{DIR_WITH_FILES}");
    assert_eq!(post(&server, "/ipns/site", &good).status, 200);
    let foreign = "k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8";
    for (path, body, status) in [
        ("/ipns/site", format!("/ipns/{foreign}"), 400),
        ("/ipns/site", "ipns://example.org".to_owned(), 400),
        ("/ipns/site", "".to_owned(), 400),
        ("/ipns/site", "not a cid".to_owned(), 400),
        ("/ipns/site", "https://example.org/x".to_owned(), 400),
        (&*format!("/ipns/{foreign}"), good.clone(), 403),
        ("/ipns/unknown", good.clone(), 404),
        ("/ipns/site/hello.txt/inside", good.clone(), 400),
        (
            "/ipns/site/x",
            format!("/ipfs/{DIR_WITH_FILES}/missing"),
            404,
        ),
        ("/ipns/", good.clone(), 400),
    ] {
        let r = post(&server, path, &body);
        assert_eq!(r.status, status, "POST {path} {body:?}: {}", r.text());
        assert_cors(&r);
    }
    let r = send(&server, "POST", "/ipns/site", &[], &vec![b'a'; 9000]);
    assert_eq!(r.status, 413);
    // Nothing above changed the name.
    assert_eq!(
        server.get("/ipns/site/").header("ipfs-hash"),
        Some(DIR_WITH_FILES)
    );
}

// ---------------------------------------------------------------------------------------------
// Delegated Routing V1 and the conformance records
// ---------------------------------------------------------------------------------------------

/// Every `.ipns-record` of the conformance fixtures, with the name its file is named after.
fn conformance_records() -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let mut dirs = vec![support::fixtures()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "ipns-record") {
                let file = path.file_name().unwrap().to_str().unwrap();
                let name = file.split(['_', '.']).next().unwrap().to_owned();
                found.push((name, path));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn routing_v1_stores_valid_records_and_refuses_invalid_ones() {
    let server = Server::with_fixtures();
    let refused = [
        "k51qzi5uqu5dm4tm0wt8srkg9h9suud4wuiwjimndrkydqm81cqtlb5ak6p7ku",
        "k51qzi5uqu5dlmit2tuwdvnx4sbnyqgmvbxftl0eo3f33wwtb9gr7yozae9kpw",
        "k51qzi5uqu5diamp7qnnvs1p1gzmku3eijkeijs3418j23j077zrkok63xdm8c",
    ];
    let records = conformance_records();
    assert!(records.len() >= 15, "{records:?}");
    for (name, path) in &records {
        let bytes = std::fs::read(path).unwrap();
        let r = send(
            &server,
            "PUT",
            &format!("/routing/v1/ipns/{name}"),
            &[("Content-Type", "application/vnd.ipfs.ipns-record")],
            &bytes,
        );
        if refused.contains(&name.as_str()) {
            assert_eq!(r.status, 400, "{}: {}", path.display(), r.text());
            assert!(r.text().contains("record refused"), "{}", r.text());
            // Only a refused record was offered: the name does not resolve, with a 5xx
            // (IPIP-428 conformance), and routing has nothing for it.
            let r = server.get(&format!("/ipns/{name}"));
            assert!((500..600).contains(&r.status), "{name}: {r:?}");
            assert_eq!(server.get(&format!("/routing/v1/ipns/{name}")).status, 404);
            continue;
        }
        assert_eq!(r.status, 200, "{}: {}", path.display(), r.text());
        assert_cors(&r);
        let got = server.get(&format!("/routing/v1/ipns/{name}"));
        assert_eq!(got.status, 200, "{name}");
        assert_eq!(got.body, bytes, "{name}: the record as stored");
        assert_eq!(
            got.header("content-type"),
            Some("application/vnd.ipfs.ipns-record")
        );
        assert!(got
            .header("cache-control")
            .unwrap()
            .starts_with("public, max-age="));
        assert!(got.header("expires").is_some());

        // /ipns/<name> answers what /ipfs/<value> answers.
        let canonical = if name.starts_with('k') {
            name.clone()
        } else {
            let r = server.get(&format!("/ipns/{name}"));
            assert_eq!(r.status, 302, "{name}");
            let location = r.header("location").unwrap();
            location.trim_start_matches("/ipns/").to_owned()
        };
        let value = record_value(&bytes);
        let via_name = server.get(&format!("/ipns/{canonical}"));
        let direct = server.get(&value);
        assert_eq!(
            via_name.status,
            direct.status,
            "{name} → {value}: {}",
            via_name.text()
        );
        assert_eq!(via_name.body, direct.body, "{name} → {value}");
        assert_eq!(via_name.header("ipfs-hash"), direct.header("ipfs-hash"));
        if via_name.status == 200 {
            assert!(via_name
                .header("cache-control")
                .unwrap()
                .starts_with("public, max-age="));
        }
    }
    // The V1+V2 conformance vectors by name (IPIP-428).
    let v2 = server.get("/ipns/k51qzi5uqu5dit2ku9mutlfgwyz8u730on38kd10m97m36bjt66my99hb6103f");
    let inline = cid::Cid::try_from("bafkqadtwgiww63tmpeqhezldn5zgi").unwrap();
    assert_eq!(
        (v2.status, v2.body.as_slice()),
        (200, inline.hash().digest()),
        "{}",
        v2.text()
    );
    let broken_v1 =
        server.get("/ipns/k51qzi5uqu5dilgf7gorsh9vcqqq4myo6jd4zmqkuy9pxyxi5fua3uf7axph4y");
    assert_eq!(broken_v1.status, 200);
    let r = server.get(
        "/ipns/k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w?format=ipns-record",
    );
    assert_eq!(r.header("cache-control"), Some("public, max-age=1800"));
    // The sub-path record (gateway-cache).
    let r = server.get(
        "/ipns/k51qzi5uqu5djokp3m1keo36hoxtd6u3a1d2rg1camf6al7p3huy63dojlm57c/root3/root4/index.html",
    );
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello\n"[..]));

    // Errors of the routing endpoint.
    let v2_bytes = std::fs::read(fixture(
        "ipns_records/k51qzi5uqu5dit2ku9mutlfgwyz8u730on38kd10m97m36bjt66my99hb6103f_v2.ipns-record",
    ))
    .unwrap();
    let other = "k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w";
    for (method, path, body, status) in [
        (
            "PUT",
            format!("/routing/v1/ipns/{other}"),
            v2_bytes.clone(),
            400,
        ),
        (
            "PUT",
            "/routing/v1/ipns/not-a-name".into(),
            v2_bytes.clone(),
            400,
        ),
        (
            "PUT",
            format!("/routing/v1/ipns/{other}"),
            vec![0u8; 10 * 1024 + 1],
            413,
        ),
        (
            "PUT",
            format!("/routing/v1/ipns/{other}"),
            b"garbage".to_vec(),
            400,
        ),
        (
            "GET",
            "/routing/v1/ipns/k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8"
                .into(),
            vec![],
            404,
        ),
        ("GET", "/routing/v1/ipns/bafy".into(), vec![], 400),
        ("POST", format!("/routing/v1/ipns/{other}"), vec![], 405),
    ] {
        let r = send(&server, method, &path, &[], &body);
        assert_eq!(r.status, status, "{method} {path}: {}", r.text());
        assert_cors(&r);
    }
    let r = server.request(
        "GET",
        &format!("/routing/v1/ipns/{other}"),
        &[("Accept", "text/html")],
    );
    assert_eq!(r.status, 406);
}

/// The `Value` of a record, read with the small decoder below.
fn record_value(record: &[u8]) -> String {
    let data = proto_field(record, 9).expect("data");
    let value = cbor_text_after(&data, b"Value").expect("Value");
    String::from_utf8(value).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Independent verification of what cairn signs
// ---------------------------------------------------------------------------------------------

/// The last length-delimited field `number` of a protobuf message.
fn proto_field(mut bytes: &[u8], number: u64) -> Option<Vec<u8>> {
    fn varint(bytes: &mut &[u8]) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = bytes.split_first()?;
            *bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
    let mut found = None;
    while !bytes.is_empty() {
        let tag = varint(&mut bytes)?;
        match tag & 7 {
            0 => {
                varint(&mut bytes)?;
            }
            2 => {
                let len = usize::try_from(varint(&mut bytes)?).ok()?;
                let field = bytes.get(..len)?;
                if tag >> 3 == number {
                    found = Some(field.to_vec());
                }
                bytes = &bytes[len..];
            }
            _ => return None,
        }
    }
    found
}

/// The byte string following the CBOR text key `key` in a map (both short, as IPNS has them).
fn cbor_text_after(data: &[u8], key: &[u8]) -> Option<Vec<u8>> {
    let mut pattern = vec![0x60 | key.len() as u8];
    pattern.extend_from_slice(key);
    let at = data.windows(pattern.len()).position(|w| w == pattern)? + pattern.len();
    let head = *data.get(at)?;
    let (len, start) = match head {
        0x40..=0x57 => (usize::from(head - 0x40), at + 1),
        0x58 => (usize::from(*data.get(at + 1)?), at + 2),
        0x59 => (
            usize::from(u16::from_be_bytes([*data.get(at + 1)?, *data.get(at + 2)?])),
            at + 3,
        ),
        _ => return None,
    };
    data.get(start..start + len).map(<[u8]>::to_vec)
}

/// Checks a record cairn published with ed25519-dalek directly: the key inlined in the name,
/// SignatureV2 over `"ipns-signature:" ++ data`, and the signed value.
fn verify_record(name: &str, record: &[u8], expected_value: &str) {
    use ed25519_dalek::{Signature, VerifyingKey};
    let cid = cid::Cid::try_from(name).unwrap();
    assert_eq!(cid.codec(), 0x72, "libp2p-key");
    assert_eq!(cid.hash().code(), 0x00, "Ed25519 keys are inlined");
    let public_key = cid.hash().digest();
    // libp2p PublicKey protobuf: Type=Ed25519 (08 01), Data = 32 bytes (12 20 …).
    assert_eq!(&public_key[..4], &[0x08, 0x01, 0x12, 0x20]);
    let key: [u8; 32] = public_key[4..].try_into().unwrap();
    let key = VerifyingKey::from_bytes(&key).unwrap();
    let signature = proto_field(record, 8).expect("signatureV2");
    let data = proto_field(record, 9).expect("data");
    let signature = Signature::from_slice(&signature).unwrap();
    let signed = [b"ipns-signature:".as_slice(), &data].concat();
    key.verify_strict(&signed, &signature)
        .expect("SignatureV2 verifies");
    assert_eq!(
        cbor_text_after(&data, b"Value").unwrap(),
        expected_value.as_bytes()
    );
    // V1 compatibility copy of the value (field 1) matches.
    assert_eq!(proto_field(record, 1).unwrap(), expected_value.as_bytes());
}

#[test]
fn published_records_verify_independently_and_with_kubo() {
    let data = tempfile::tempdir().unwrap();
    import_unpinned(data.path(), &["path_gateway_unixfs/dir-with-files.car"]);
    let server = Server::start_in(data, &[]);
    let name = create_key(&server, "site");
    let first = server.get(&format!("/routing/v1/ipns/{name}"));
    assert_eq!(first.status, 200);
    verify_record(&name, &first.body, &format!("/ipfs/{EMPTY_DIR}"));
    assert_eq!(
        first.header("content-disposition"),
        Some(&*format!("attachment; filename=\"{name}.ipns-record\""))
    );
    let cache_control = first.header("cache-control").unwrap();
    assert!(
        cache_control.starts_with("public, max-age=300, stale-while-revalidate="),
        "{cache_control}"
    );

    let value = format!("/ipfs/{DIR_WITH_FILES}/sub");
    let r = post(&server, "/ipns/site", &value);
    assert_eq!(r.status, 200, "{}", r.text());
    let second = server.get(&format!("/routing/v1/ipns/{name}"));
    verify_record(&name, &second.body, &value);
    // A forged copy fails the same check.
    let mut forged = second.body.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let result = std::panic::catch_unwind(|| verify_record(&name, &forged, &value));
    assert!(result.is_err(), "a flipped bit must not verify");

    let Some(kubo) = support::Kubo::init() else {
        return;
    };
    let mut child = kubo
        .command(&["name", "inspect", "--enc=json", "--verify", &name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&second.body).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["Validation"]["Valid"], true, "{report}");
    assert_eq!(report["Entry"]["Value"], value.as_str(), "{report}");
    assert_eq!(report["Entry"]["Sequence"], 1, "{report}");
}

#[test]
fn records_are_republished_before_they_expire() {
    let server = Server::start_in(tempfile::tempdir().unwrap(), &["--ipns-lifetime", "4s"]);
    let name = create_key(&server, "site");
    let expires = |r: &Response| httpdate::parse_http_date(r.header("expires").unwrap()).unwrap();
    let first = server.get(&format!("/routing/v1/ipns/{name}"));
    let first_eol = expires(&first);
    assert!(first_eol <= SystemTime::now() + Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(5500));
    // Past the first record's EOL, the name still resolves, through a renewed record.
    let r = server.get(&format!("/ipns/{name}/"));
    assert_eq!(r.status, 200, "{}", r.text());
    let renewed = server.get(&format!("/routing/v1/ipns/{name}"));
    assert!(expires(&renewed) > first_eol);
    verify_record(&name, &renewed.body, &format!("/ipfs/{EMPTY_DIR}"));
}

// ---------------------------------------------------------------------------------------------
// DNSLink through a real DNS server
// ---------------------------------------------------------------------------------------------

#[test]
fn dnslink_resolves_through_a_real_dns_server() {
    let site = format!("dnslink=/ipfs/{CACHE_ROOT}");
    let multi_low = format!("dnslink=/ipfs/{CACHE_ROOT}/root2");
    let multi_high = format!("dnslink=/ipfs/{DIR_WITH_FILES}");
    let named = format!("dnslink=/ipns/{CACHE_NAME}/root2");
    let dns = dns::start(&[
        ("_dnslink.site.example.test", 120, &[&site]),
        (
            "_dnslink.multi.example.test",
            60,
            &["google-site-verification=abc", &multi_high, &multi_low],
        ),
        (
            "_dnslink.alias.example.test",
            60,
            &["dnslink=/ipns/site.example.test/root2"],
        ),
        ("_dnslink.named.example.test", 60, &[&named]),
        (
            "_dnslink.loop.example.test",
            60,
            &["dnslink=/ipns/loop.example.test"],
        ),
        (
            "_dnslink.junk.example.test",
            60,
            &["dnslink=junk", "v=spf1 -all"],
        ),
    ]);
    let data = tempfile::tempdir().unwrap();
    import_unpinned(
        data.path(),
        &[
            "gateway-cache/fixtures.car",
            "path_gateway_unixfs/dir-with-files.car",
        ],
    );
    let resolver = dns.to_string();
    let flag = format!("flag.example.test=/ipfs/{CACHE_ROOT}/root2");
    let ns_map = format!(
        "nsmap.example.test:/ipfs/{DIR_WITH_FILES},site.example.test:/ipfs/{DIR_WITH_FILES}"
    );
    let server = Server::start_in_with_env(
        data,
        &["--dns-resolver", &resolver, "--dnslink", &flag],
        &[("IPFS_NS_MAP", "")],
    );
    let with_map = {
        let data = tempfile::tempdir().unwrap();
        import_unpinned(
            data.path(),
            &[
                "gateway-cache/fixtures.car",
                "path_gateway_unixfs/dir-with-files.car",
            ],
        );
        Server::start_in_with_env(
            data,
            &["--dns-resolver", &resolver],
            &[("IPFS_NS_MAP", &ns_map)],
        )
    };

    let r = server.get("/ipns/site.example.test/root2/root3/root4/index.html");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, b"hello\n");
    assert_eq!(
        r.header("x-ipfs-path"),
        Some("/ipns/site.example.test/root2/root3/root4/index.html")
    );
    assert_eq!(r.header("ipfs-hash"), Some(HELLO_LF));
    let max_age: u64 = r
        .header("cache-control")
        .and_then(|c| c.strip_prefix("public, max-age="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{r:?}"));
    assert!(
        (100..=120).contains(&max_age),
        "the TXT record's TTL: {max_age}"
    );

    // Of several dnslink= entries the lexicographically first wins; other TXT are ignored.
    let r = server.get("/ipns/multi.example.test/root3/root4/index.html");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"hello\n"[..]),
        "{}",
        r.text()
    );
    // /ipns/ values recurse: through another domain, and through an IPNS name.
    let r = server.get("/ipns/alias.example.test/root3/root4/index.html");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"hello\n"[..]),
        "{}",
        r.text()
    );
    let record =
        std::fs::read(fixture(&format!("gateway-cache/{CACHE_NAME}.ipns-record"))).unwrap();
    let put = send(
        &server,
        "PUT",
        &format!("/routing/v1/ipns/{CACHE_NAME}"),
        &[],
        &record,
    );
    assert_eq!(put.status, 200);
    let r = server.get("/ipns/named.example.test/root3/root4/index.html");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"hello\n"[..]),
        "{}",
        r.text()
    );

    // Failures are quick and say why.
    for (path, status, words) in [
        ("/ipns/nothing.example.test/", 404, "no DNSLink"),
        ("/ipns/junk.example.test/", 404, "no DNSLink"),
        ("/ipns/loop.example.test/", 508, "32 steps"),
    ] {
        let started = Instant::now();
        let r = server.get(path);
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert!(r.text().contains(words), "{path}: {}", r.text());
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{path} took {:?}",
            started.elapsed()
        );
        assert_cors(&r);
    }

    // Static entries: --dnslink, and IPFS_NS_MAP (which wins over DNS).
    let r = server.get("/ipns/flag.example.test/root3/root4/index.html");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"hello\n"[..]),
        "{}",
        r.text()
    );
    let r = with_map.get("/ipns/nsmap.example.test/hello.txt");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"hello world\n"[..]),
        "{}",
        r.text()
    );
    let r = with_map.get("/ipns/site.example.test/hello.txt");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"hello world\n"[..]),
        "{}",
        r.text()
    );
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
}

#[test]
fn an_unresponsive_dns_server_fails_fast() {
    // A UDP socket nobody reads: every query times out.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let resolver = silent.local_addr().unwrap().to_string();
    let server = Server::start_in(tempfile::tempdir().unwrap(), &["--dns-resolver", &resolver]);
    let started = Instant::now();
    let r = server.get("/ipns/slow.example.test/");
    assert!((500..600).contains(&r.status), "{r:?}");
    assert!(
        r.text().contains("_dnslink.slow.example.test"),
        "{}",
        r.text()
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    drop(silent);
}

#[test]
fn bad_options_stop_the_server_with_a_message() {
    for args in [
        &["--dns-resolver", "dns.example:53"][..],
        &["--dnslink", "no-equals-sign"],
        &["--ipns-lifetime", "0s"],
    ] {
        let data = tempfile::tempdir().unwrap();
        let out = Command::new(support::cairn_bin())
            .arg("serve")
            .arg("--data")
            .arg(data.path())
            .args(["--gateway", "127.0.0.1:0", "--offline"])
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(support::cairn_bin())
        .args(["serve", "--offline", "--gateway", "127.0.0.1:0", "--data"])
        .arg(data.path())
        .env("IPFS_NS_MAP", "broken")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("IPFS_NS_MAP"));
}

#[test]
fn ipns_writes_are_off_beyond_loopback_unless_asked() {
    let server = Server::start_in(tempfile::tempdir().unwrap(), &["--gateway", "0.0.0.0:0"]);
    let record =
        std::fs::read(fixture(&format!("gateway-cache/{CACHE_NAME}.ipns-record"))).unwrap();
    for (method, path, body) in [
        ("POST", "/ipns/localhost?key=site".to_owned(), Vec::new()),
        ("DELETE", "/ipns/localhost?key=self".to_owned(), Vec::new()),
        (
            "POST",
            "/ipns/self".to_owned(),
            format!("/ipfs/{EMPTY_DIR}").into_bytes(),
        ),
        (
            "PUT",
            format!("/routing/v1/ipns/{CACHE_NAME}"),
            record.clone(),
        ),
    ] {
        let r = send(&server, method, &path, &[], &body);
        assert_eq!(r.status, 405, "{method} {path}: {}", r.text());
        assert!(r.text().contains("--writable"), "{}", r.text());
    }
    // Reads stay on.
    assert_eq!(server.get("/ipns/localhost?key=self").status, 302);
    let server = Server::start_in(
        tempfile::tempdir().unwrap(),
        &["--gateway", "0.0.0.0:0", "--writable"],
    );
    let r = send(
        &server,
        "PUT",
        &format!("/routing/v1/ipns/{CACHE_NAME}"),
        &[],
        &record,
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn put_and_delete_edit_the_tree_a_name_points_at() {
    let server = Server::start_in(tempfile::tempdir().unwrap(), &[]);
    let r = server.send("POST", "/ipns/localhost?key=site", &[], b"");
    assert_eq!(r.status, 201, "{}", r.text());
    let name = r
        .header("location")
        .unwrap()
        .trim_start_matches("ipns://")
        .trim_end_matches('/')
        .to_string();

    let r = server.send("PUT", "/ipns/site/index.html", &[], b"<h1>hi</h1>");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-ipns-path"), Some("/ipns/site/index.html"));
    assert_eq!(r.header("location"), Some("ipns://site/index.html"));
    let root = r.header("ipfs-hash").unwrap().to_string();
    assert_eq!(
        server.get(&format!("/ipns/{name}/index.html")).body,
        b"<h1>hi</h1>"
    );
    assert_eq!(
        server.get(&format!("/ipfs/{root}/index.html")).body,
        b"<h1>hi</h1>"
    );

    // A form merges into the directory at the path (created if missing).
    let (content_type, body) = support::form(&[("file", Some("a.txt"), "text/plain", b"a\n")]);
    let r = server.send(
        "PUT",
        &format!("/ipns/{name}/docs"),
        &[("Content-Type", &content_type)],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("x-ipns-path"),
        Some(&*format!("/ipns/{name}/docs/"))
    );
    assert_eq!(server.get(&format!("/ipns/{name}/docs/a.txt")).body, b"a\n");
    assert_eq!(
        server.get(&format!("/ipns/{name}/index.html")).body,
        b"<h1>hi</h1>"
    );

    // A plain body needs a path; DELETE needs one too.
    assert_eq!(server.send("PUT", "/ipns/site", &[], b"x").status, 400);
    assert_eq!(server.send("DELETE", "/ipns/site", &[], b"").status, 400);

    let r = server.send("DELETE", "/ipns/site/docs/a.txt", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-ipns-path"), Some("/ipns/site/docs/"));
    assert_eq!(server.get(&format!("/ipns/{name}/docs/a.txt")).status, 404);
    assert_eq!(
        server.send("DELETE", "/ipns/site/nope", &[], b"").status,
        404
    );
    // Not our key: refused, not a server error.
    let r = server.send(
        "PUT",
        "/ipns/k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w/x.txt",
        &[],
        b"x",
    );
    assert!((400..500).contains(&r.status), "{}", r.status);
}
