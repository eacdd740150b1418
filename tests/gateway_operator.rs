//! What boxo 0.39–0.42 gave gateway operators, against the real binary over HTTP:
//! `--max-request-duration` (504 before the response starts), `--max-deserialized-response-size`
//! and `--max-unixfs-dag-response-size` (410 beyond, cacheable), 304s that carry `Etag` and
//! `Cache-Control` (`If-None-Match` and `If-Modified-Since`), DNSLink `Cache-Control` from
//! the TXT record's TTL, the `bafkqaaa` probe, and `--trustless-only-host` (406 for anything a
//! client cannot verify). Where Kubo 0.43.1 behaves the same, its gateway is asked too.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use support::{http_request, Kubo, Response, Server};

/// path_gateway_unixfs/dir-with-files.car: hello.txt ("hello world\n") and multiblock.txt.
const DIR_WITH_FILES: &str = "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";
const MULTIBLOCK_SIZE: usize = 1026;

fn server_with(args: &[&str]) -> Server {
    let data = tempfile::tempdir().unwrap();
    support::import(
        data.path(),
        &[support::fixtures().join("path_gateway_unixfs/dir-with-files.car")],
    );
    Server::start_in_with_env(data, args, &[("IPFS_NS_MAP", "")])
}

const SIZE_LIMIT_CACHE: &str = "public, max-age=604800, stale-while-revalidate=2678400";

#[track_caller]
fn assert_gone(r: &Response, text: &str) {
    assert_eq!(r.status, 410, "{r:?}");
    assert_eq!(r.header("cache-control"), Some(SIZE_LIMIT_CACHE), "{r:?}");
    if !r.body.is_empty() {
        assert_eq!(
            r.text(),
            format!(
                "{text}: for large content, run your own IPFS node \
                 (https://docs.ipfs.tech/install/)\n"
            )
        );
    }
}

#[test]
fn deserialized_responses_over_the_limit_get_410_trustless_ones_do_not() {
    let server = server_with(&["--max-deserialized-response-size", "100"]);
    let text = "deserialized responses are not supported for content larger than 100 bytes";
    let multiblock = format!("/ipfs/{DIR_WITH_FILES}/multiblock.txt");
    for method in ["GET", "HEAD"] {
        // A file and a directory (its DAG size as its links record it) over the limit.
        assert_gone(&server.request(method, &multiblock, &[]), text);
        assert_gone(
            &server.request(method, &format!("/ipfs/{DIR_WITH_FILES}/"), &[]),
            text,
        );
        // Even a small range of a file over the limit (boxo).
        assert_gone(
            &server.request(method, &multiblock, &[("Range", "bytes=0-9")]),
            text,
        );
    }
    // Under the limit: served.
    let r = server.get(&format!("/ipfs/{DIR_WITH_FILES}/hello.txt"));
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello world\n"[..]));
    // Trustless formats are not concerned.
    let r = server.get(&format!("{multiblock}?format=car"));
    assert_eq!(r.status, 200, "{r:?}");
    let r = server.get(&format!("/ipfs/{DIR_WITH_FILES}?format=raw"));
    assert_eq!(r.status, 200, "{r:?}");
    // Nor are TARs (boxo applies only the DAG limit to them).
    let r = server.get(&format!("{multiblock}?format=tar"));
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn any_response_over_the_dag_limit_gets_410() {
    let server = server_with(&["--max-unixfs-dag-response-size", "100"]);
    let text = "responses are not supported for content larger than 100 bytes";
    let multiblock = format!("/ipfs/{DIR_WITH_FILES}/multiblock.txt");
    for query in ["", "?format=car", "?format=tar", "?format=raw"] {
        assert_gone(&server.get(&format!("{multiblock}{query}")), text);
    }
    assert_gone(
        &server.get(&format!("/ipfs/{DIR_WITH_FILES}?format=car")),
        text,
    );
    assert_gone(
        &server.request(
            "GET",
            &multiblock,
            &[("Accept", "application/vnd.ipld.car")],
        ),
        text,
    );
    // Small content passes in every format.
    let hello = format!("/ipfs/{DIR_WITH_FILES}/hello.txt");
    for query in ["", "?format=car", "?format=tar", "?format=raw"] {
        let r = server.get(&format!("{hello}{query}"));
        assert_eq!(r.status, 200, "{query}: {r:?}");
    }
    // Without the flags, everything is served.
    let unlimited = server_with(&[]);
    let r = unlimited.get(&multiblock);
    assert_eq!((r.status, r.body.len()), (200, MULTIBLOCK_SIZE));
}

/// A DNS server that never answers: a bound UDP socket nobody reads.
fn silent_dns() -> std::net::UdpSocket {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap()
}

#[test]
fn a_read_that_cannot_start_within_the_maximum_request_duration_gets_504() {
    let silent = silent_dns();
    let resolver = silent.local_addr().unwrap().to_string();
    let server = server_with(&[
        "--dns-resolver",
        &resolver,
        "--retrieval-timeout",
        "0",
        "--max-request-duration",
        "1s",
    ]);
    let started = std::time::Instant::now();
    let r = server.get("/ipns/some.example.org/");
    assert_eq!(r.status, 504, "{r:?}");
    assert_eq!(
        r.text(),
        "Unable to serve the request within the maximum request duration (1 s)\n"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // Reads that finish in time are not affected.
    let r = server.get(&format!("/ipfs/{DIR_WITH_FILES}/hello.txt"));
    assert_eq!(r.status, 200, "{r:?}");
    drop(silent);
}

/// Adds `file` with its mtime recorded (UnixFS 1.5) into `data`; returns its CID.
fn add_with_mtime(data: &Path, file: &Path) -> String {
    let out = Command::new(support::cairn_bin())
        .args(["add", "--quieter", "--cid-version", "1", "--preserve-mtime"])
        .arg("--data")
        .arg(data)
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn not_modified_responses_carry_the_etag_and_cache_control_of_the_200() {
    let data = tempfile::tempdir().unwrap();
    support::import(
        data.path(),
        &[support::fixtures().join("path_gateway_unixfs/dir-with-files.car")],
    );
    let source = tempfile::tempdir().unwrap();
    let file = source.path().join("dated.txt");
    std::fs::write(&file, b"dated\n").unwrap();
    let dated = add_with_mtime(data.path(), &file);
    let server = Server::start_in_with_env(
        data,
        &[
            "--dnslink",
            &format!("site.example.test=/ipfs/{DIR_WITH_FILES}"),
        ],
        &[("IPFS_NS_MAP", "")],
    );

    // If-None-Match, for each kind of answer.
    for path in [
        format!("/ipfs/{DIR_WITH_FILES}/hello.txt"),
        format!("/ipfs/{DIR_WITH_FILES}/"),
        format!("/ipfs/{DIR_WITH_FILES}?format=car"),
        format!("/ipfs/{DIR_WITH_FILES}?format=raw"),
        format!("/ipfs/{DIR_WITH_FILES}?format=tar"),
        "/ipns/site.example.test/hello.txt".to_owned(),
    ] {
        let full = server.get(&path);
        assert_eq!(full.status, 200, "{path}: {full:?}");
        let etag = full.header("etag").expect("an Etag").to_owned();
        let cache = full.header("cache-control").expect("Cache-Control");
        let r = server.request("GET", &path, &[("If-None-Match", &etag)]);
        assert_eq!(r.status, 304, "{path}: {r:?}");
        assert_eq!(r.header("etag"), Some(etag.as_str()), "{path}");
        assert_eq!(r.header("cache-control"), Some(cache), "{path}");
        assert!(r.body.is_empty());
    }

    // If-Modified-Since against the UnixFS 1.5 mtime.
    let path = format!("/ipfs/{dated}");
    let full = server.get(&path);
    assert_eq!((full.status, full.body.as_slice()), (200, &b"dated\n"[..]));
    let modified = full
        .header("last-modified")
        .expect("Last-Modified")
        .to_owned();
    let etag = full.header("etag").unwrap().to_owned();
    let r = server.request("GET", &path, &[("If-Modified-Since", &modified)]);
    assert_eq!(r.status, 304, "{r:?}");
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=29030400, immutable")
    );
    let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
    assert_eq!(
        server
            .request("GET", &path, &[("If-Modified-Since", &later)])
            .status,
        304
    );
    // Modified since: the whole file.
    let earlier = httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(86400));
    let r = server.request("GET", &path, &[("If-Modified-Since", &earlier)]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"dated\n"[..]));
    // If-None-Match decides when both are sent (RFC 9110 §13.1.3).
    let r = server.request(
        "GET",
        &path,
        &[
            ("If-None-Match", "\"other\""),
            ("If-Modified-Since", &later),
        ],
    );
    assert_eq!(r.status, 200, "{r:?}");
    // A file without an mtime has no date to compare: always served.
    let r = server.request(
        "GET",
        &format!("/ipfs/{DIR_WITH_FILES}/hello.txt"),
        &[("If-Modified-Since", &later)],
    );
    assert_eq!(r.status, 200, "{r:?}");

    // Kubo (boxo 0.43) answers the same.
    let Some(kubo) = Kubo::init() else {
        return;
    };
    let added = kubo.run(&[
        "add",
        "-Q",
        "--cid-version=1",
        "--preserve-mtime",
        file.to_str().unwrap(),
    ]);
    assert_eq!(String::from_utf8(added).unwrap().trim(), dated);
    let daemon = kubo.daemon();
    for headers in [
        [("If-Modified-Since", modified.as_str())],
        [("If-None-Match", etag.as_str())],
    ] {
        let ours = server.request("GET", &path, &headers);
        let theirs = daemon.gateway_get(&path, &headers);
        assert_eq!(theirs.status, 304, "Kubo: {theirs:?}");
        for name in ["etag", "cache-control"] {
            assert_eq!(
                theirs.header(name),
                ours.header(name),
                "{name}: {headers:?}"
            );
        }
    }
}

#[test]
fn dnslink_hosts_are_cached_for_the_txt_records_ttl() {
    let dns = support::dns::start(&[(
        "_dnslink.site.example.test",
        120,
        &[&format!("dnslink=/ipfs/{DIR_WITH_FILES}")],
    )]);
    let server = server_with(&["--dns-resolver", &dns.to_string()]);
    let max_age = |r: &Response| -> u64 {
        r.header("cache-control")
            .and_then(|c| c.strip_prefix("public, max-age="))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{r:?}"))
    };
    let host = [("X-Forwarded-Host", "site.example.test")];
    let r = http_request(server.addr, "GET", "/hello.txt", &host);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello world\n"[..]));
    assert!((100..=120).contains(&max_age(&r)), "{r:?}");
    // Revalidated: the 304 renews the freshness the record still allows.
    let etag = r.header("etag").unwrap().to_owned();
    let r = http_request(
        server.addr,
        "GET",
        "/hello.txt",
        &[host[0], ("If-None-Match", &etag)],
    );
    assert_eq!(r.status, 304, "{r:?}");
    assert!((100..=120).contains(&max_age(&r)), "{r:?}");
}

#[test]
fn the_empty_identity_probe_always_answers_200() {
    let server = server_with(&["--trustless-only-host", "trustless.example"]);
    let kubo = Kubo::init();
    let daemon = kubo.as_ref().map(Kubo::daemon);
    for (method, headers) in [
        ("GET", &[][..]),
        ("HEAD", &[][..]),
        ("GET", &[("X-Forwarded-Host", "trustless.example")][..]),
    ] {
        let r = server.request(method, "/ipfs/bafkqaaa?format=raw", headers);
        assert_eq!((r.status, r.body.len()), (200, 0), "{method}: {r:?}");
        assert_eq!(r.header("content-type"), Some("application/vnd.ipld.raw"));
        assert_eq!(r.header("content-length"), Some("0"), "{r:?}");
        if let Some(daemon) = &daemon {
            let k = http_request(daemon.gateway, method, "/ipfs/bafkqaaa?format=raw", &[]);
            assert_eq!((k.status, k.body.len()), (200, 0), "Kubo: {k:?}");
            assert_eq!(k.header("content-type"), r.header("content-type"));
            assert_eq!(k.header("etag"), r.header("etag"), "{k:?} {r:?}");
        }
    }
}

/// What boxo answers a deserialized request on a trustless-only gateway.
const ONLY_TRUSTLESS: &str = "only trustless requests are accepted on this gateway: \
                              https://specs.ipfs.tech/http-gateways/trustless-gateway/";

#[test]
fn trustless_only_hosts_serve_verifiable_responses_and_refuse_the_rest() {
    let server = server_with(&["--trustless-only-host", "trustless.example"]);
    // Kubo with the same host as a public gateway without deserialized responses.
    let kubo = Kubo::init();
    let daemon = kubo.as_ref().map(|kubo| {
        kubo.run(&[
            "config",
            "--json",
            "Gateway.PublicGateways",
            r#"{"trustless.example": {"Paths": ["/ipfs", "/ipns"], "UseSubdomains": false, "DeserializedResponses": false}}"#,
        ]);
        let car = support::fixtures().join("path_gateway_unixfs/dir-with-files.car");
        kubo.run(&["dag", "import", car.to_str().unwrap()]);
        kubo.daemon()
    });
    let on_host = |path: &str, extra: &[(&str, &str)]| -> (Response, Option<Response>) {
        let mut headers = vec![("X-Forwarded-Host", "trustless.example")];
        headers.extend_from_slice(extra);
        let ours = server.request("GET", path, &headers);
        let theirs = daemon
            .as_ref()
            .map(|d| http_request(d.gateway, "GET", path, &headers));
        (ours, theirs)
    };
    let dir = format!("/ipfs/{DIR_WITH_FILES}");
    for (path, accept) in [
        (dir.clone(), None),
        (format!("{dir}/hello.txt"), None),
        (format!("{dir}/hello.txt?format=raw"), None),
        (format!("{dir}?format=tar"), None),
        (format!("{dir}?format=dag-json"), None),
        (dir.clone(), Some("text/html")),
    ] {
        let extra: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept", *a)).collect();
        let (r, kubo) = on_host(&path, &extra);
        assert_eq!(r.status, 406, "{path}: {r:?}");
        if r.header("content-type") == Some("text/plain; charset=utf-8") {
            assert_eq!(r.text(), format!("{ONLY_TRUSTLESS}\n"), "{path}");
        }
        if let Some(k) = kubo {
            assert_eq!(k.status, 406, "Kubo {path}: {k:?}");
            assert!(
                k.text().contains(ONLY_TRUSTLESS),
                "Kubo {path}: {}",
                k.text()
            );
        }
    }
    for (path, accept) in [
        (format!("{dir}?format=raw"), None),
        (dir.clone(), Some("application/vnd.ipld.raw")),
        (format!("{dir}?format=car"), None),
        (format!("{dir}/hello.txt?format=car"), None),
        (dir.clone(), Some("application/vnd.ipld.car")),
    ] {
        let extra: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept", *a)).collect();
        let (r, kubo) = on_host(&path, &extra);
        assert_eq!(r.status, 200, "{path}: {r:?}");
        if let Some(k) = kubo {
            assert_eq!(k.status, 200, "Kubo {path}: {k:?}");
            if !path.contains("car") && accept != Some("application/vnd.ipld.car") {
                assert_eq!(k.body, r.body, "Kubo {path}");
            }
        }
    }
    // Writes are refused on it (even on loopback, where the gateway is writable).
    let r = server.send(
        "POST",
        "/ipfs/",
        &[("X-Forwarded-Host", "trustless.example")],
        b"x",
    );
    assert_eq!(r.status, 405, "{r:?}");
    // Other hosts serve everything as before.
    let r = server.get(&format!("{dir}/hello.txt"));
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello world\n"[..]));
}

#[test]
fn cairn_add_without_a_terminal_prints_only_the_added_lines() {
    let data = tempfile::tempdir().unwrap();
    let source = tempfile::tempdir().unwrap();
    let file = source.path().join("big.bin");
    std::fs::write(&file, support::pseudo_random(3 << 20, 7)).unwrap();
    let out = Command::new(support::cairn_bin())
        .args(["add", "--cid-version", "1", "--data"])
        .arg(data.path())
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stderr, b"", "no progress bar without a terminal");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("added bafy") && stdout.ends_with(" big.bin\n"),
        "{stdout:?}"
    );
    assert_eq!(stdout.lines().count(), 1);
}

/// With a terminal (util-linux `script` gives the command one), the bar is drawn and erased;
/// skipped where `script` is missing.
#[test]
fn cairn_add_on_a_terminal_draws_and_erases_a_progress_bar() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` to run cairn add on a terminal");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let source = tempfile::tempdir().unwrap();
    let file = source.path().join("big.bin");
    std::fs::write(&file, support::pseudo_random(3 << 20, 7)).unwrap();
    let command = format!(
        "{} add --cid-version 1 --data {} {}",
        support::cairn_bin(),
        data.path().display(),
        file.display()
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    // Redrawn in place: back to the line's start, the line, the rest of the old one erased.
    assert!(text.contains(" / 3.00 MiB ["), "{text:?}");
    assert!(text.contains("% ") && text.contains("/s ETA "), "{text:?}");
    assert!(text.starts_with('\r'), "{text:?}");
    // Erased before the added line is printed.
    let erased = text.rfind("\r\x1b[K").expect("the bar erased");
    let added = text.find("added bafy").expect("the added line");
    assert!(erased < added, "{text:?}");
}
