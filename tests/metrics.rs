//! Prometheus metrics (`--metrics ADDR|off`) of the real binary: gateway requests of several
//! kinds counted by status and response type under boxo's names, the node's and the process's
//! own metrics, an exposition `promtool check metrics` accepts (skipped visibly without
//! promtool), and no listener at all with `--metrics off`.

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use support::{http_request, Response, Server};

// subdomain_gateway/fixtures.car
/// "hello\n" as a raw CIDv1 (blocked by the test's denylist).
const HELLO_V1: &str = "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am";
// path_gateway_unixfs/dir-with-files.car: hello.txt ("hello world\n") and multiblock.txt.
const DIR_WITH_FILES: &str = "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";

const METRICS_PATH: &str = "/debug/metrics/prometheus";

/// A data directory with the fixtures, and a denylist blocking [`HELLO_V1`].
fn data() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    let fixtures = support::fixtures();
    support::import(
        data.path(),
        &[
            fixtures.join("subdomain_gateway/fixtures.car"),
            fixtures.join("path_gateway_unixfs/dir-with-files.car"),
        ],
    );
    std::fs::create_dir_all(data.path().join("denylists")).unwrap();
    std::fs::write(
        data.path().join("denylists/test.deny"),
        format!("/ipfs/{HELLO_V1}\n"),
    )
    .unwrap();
    data
}

fn scrape(addr: SocketAddr) -> Response {
    let r = http_request(addr, "GET", METRICS_PATH, &[]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    r
}

/// The value of the sample named exactly `series` (name and labels as written).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().unwrap())
}

#[track_caller]
fn value(text: &str, series: &str) -> f64 {
    sample(text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

/// Scrapes until `done` holds of the exposition (a response's record is written when its
/// body is dropped, just after the client has read it), or fails after a few seconds.
fn scrape_until(addr: SocketAddr, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = scrape(addr).text();
        if done(&text) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Requests of several kinds: 200s of each response type, a 404, a 410.
fn make_requests(server: &Server) {
    let file = format!("/ipfs/{DIR_WITH_FILES}/hello.txt");
    for _ in 0..2 {
        let r = server.get(&file);
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.body, b"hello world\n");
    }
    let r = server.get(&format!("/ipfs/{DIR_WITH_FILES}?format=car"));
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/vnd.ipld.car"));
    let r = server.get(&format!("{file}?format=raw"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/vnd.ipld.raw"));
    let r = server.request(
        "GET",
        &format!("/ipfs/{DIR_WITH_FILES}/"),
        &[("Accept", "application/json")],
    );
    assert_eq!(r.status, 200, "{r:?}");
    let r = server.get("/no-such-route");
    assert_eq!(r.status, 404);
    let r = server.get(&format!("/ipfs/{HELLO_V1}"));
    assert_eq!(r.status, 410, "{r:?}");
    // Probes are not counted.
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn gateway_requests_are_counted_by_status_and_response_type() {
    let server = Server::start_in(data(), &["--metrics", "127.0.0.1:0"]);
    let metrics = server.metrics.expect("the metrics listener's address");
    // Nothing counted yet: no response code has a sample, and no request is in flight.
    let text = scrape(metrics).text();
    assert_eq!(
        sample(&text, "ipfs_http_gw_responses_total{code=\"200\"}"),
        None
    );
    assert_eq!(value(&text, "ipfs_http_gw_concurrent_requests"), 0.0);

    make_requests(&server);
    let text = scrape_until(metrics, |text| {
        sample(text, "ipfs_http_gw_get_duration_seconds_count") == Some(5.0)
    });
    for (code, count) in [("200", 5.0), ("404", 1.0), ("410", 1.0)] {
        let series = format!("ipfs_http_gw_responses_total{{code=\"{code}\"}}");
        assert_eq!(value(&text, &series), count, "{series}\n{text}");
    }
    assert_eq!(
        sample(&text, "ipfs_http_gw_responses_total{code=\"500\"}"),
        None
    );
    for (kind, count) in [
        ("unixfs_file", 2.0),
        ("car", 1.0),
        ("raw", 1.0),
        ("unixfs_dir_listing", 1.0),
        ("tar", 0.0),
    ] {
        let series = format!("ipfs_http_gw_request_types_total{{type=\"{kind}\"}}");
        assert_eq!(value(&text, &series), count, "{series}\n{text}");
    }
    // Successful GETs are timed, overall and by type; a 404 or 410 is not.
    assert_eq!(value(&text, "ipfs_http_gw_get_duration_seconds_count"), 5.0);
    assert_eq!(
        value(
            &text,
            "ipfs_http_gw_get_duration_seconds_bucket{le=\"+Inf\"}"
        ),
        5.0
    );
    for (histogram, count) in [
        ("ipfs_http_gw_unixfs_file_get_duration_seconds", 2.0),
        ("ipfs_http_gw_car_stream_get_duration_seconds", 1.0),
        ("ipfs_http_gw_raw_block_get_duration_seconds", 1.0),
        (
            "ipfs_http_gw_unixfs_gen_dir_listing_get_duration_seconds",
            1.0,
        ),
        ("ipfs_http_gw_tar_stream_get_duration_seconds", 0.0),
    ] {
        assert_eq!(value(&text, &format!("{histogram}_count")), count, "{text}");
    }
    assert_eq!(value(&text, "ipfs_http_gw_concurrent_requests"), 0.0);
    assert_eq!(
        value(
            &text,
            "ipfs_http_gw_retrieval_timeouts_total{code=\"504\",truncated=\"false\"}"
        ),
        0.0
    );
    // The file asked for twice alike: the second answer was replayed, and counted as the
    // first was.
    assert_eq!(value(&text, "cairn_gateway_replayed_responses_total"), 1.0);

    // The node's own: blocks read (all local here), the store's cache, what the store holds.
    assert!(value(&text, "cairn_retrieval_blocks_total{source=\"local\"}") >= 4.0);
    assert_eq!(
        value(&text, "cairn_retrieval_blocks_total{source=\"bitswap\"}"),
        0.0
    );
    let requests = value(&text, "ipfs_http_blockstore_cache_requests_total");
    let hits = value(&text, "ipfs_http_blockstore_cache_hit_total");
    assert!(requests >= 4.0 && hits <= requests && hits > 0.0, "{text}");
    assert!(value(&text, "cairn_store_blocks") > 0.0);
    assert!(value(&text, "cairn_store_size_bytes{area=\"kept\"}") > 0.0);
    // `cairn import` pins each CAR's roots.
    assert!(value(&text, "cairn_pins") >= 2.0);
    assert_eq!(value(&text, "cairn_gc_runs_total"), 0.0);
    // Offline: no peers, no Bitswap.
    assert_eq!(sample(&text, "cairn_p2p_connected_peers"), None);
    assert_eq!(
        value(&text, "cairn_pubsub_messages_total{origin=\"local\"}"),
        0.0
    );

    // The process's, under the standard names.
    assert!(value(&text, "process_resident_memory_bytes") > 1e6);
    assert!(value(&text, "process_virtual_memory_bytes") > 1e6);
    assert!(value(&text, "process_open_fds") >= 3.0);
    assert!(value(&text, "process_max_fds") >= value(&text, "process_open_fds"));
    assert!(value(&text, "process_cpu_seconds_total") >= 0.0);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = value(&text, "process_start_time_seconds");
    assert!(
        started <= now + 2.0 && started > now - 600.0,
        "{started} {now}"
    );

    // Labels never carry what a client sent.
    assert!(
        !text.contains("bafy") && !text.contains("hello.txt"),
        "{text}"
    );
    assert!(!text.contains("no-such-route"), "{text}");

    // Only the exposition is served there.
    let r = http_request(metrics, "GET", "/", &[]);
    assert_eq!(r.status, 404);
    let r = http_request(metrics, "POST", METRICS_PATH, &[]);
    assert_eq!(r.status, 405);
}

#[test]
fn the_exposition_passes_promtool() {
    let Some(promtool) = support::peer("promtool") else {
        return;
    };
    let server = Server::start_in(data(), &["--metrics", "127.0.0.1:0"]);
    let metrics = server.metrics.unwrap();
    make_requests(&server);
    let text = scrape_until(metrics, |text| {
        sample(text, "ipfs_http_gw_get_duration_seconds_count") == Some(5.0)
    });
    promtool_check(&promtool, &text);
}

/// Runs `promtool check metrics` on `text`: it must exit 0 and report nothing.
fn promtool_check(promtool: &std::path::Path, text: &str) {
    let out = support::output_with_stdin(
        std::process::Command::new(promtool).args(["check", "metrics"]),
        text.as_bytes(),
    );
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.trim().is_empty(),
        "promtool: {report}\n{text}"
    );
}

/// Sockets `pid` listens on over TCP (its descriptors matched against the kernel's tables).
fn listening_sockets(pid: u32) -> usize {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_owned(),
            )
        })
        .collect();
    let mut listening = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // `st` 0A is LISTEN; the inode is the tenth field.
            if fields.get(3) == Some(&"0A") && fields.get(9).is_some_and(|i| inodes.contains(*i)) {
                listening += 1;
            }
        }
    }
    listening
}

#[test]
fn metrics_off_binds_nothing() {
    let off = Server::start_in(data(), &["--cluster-api", "off", "--metrics", "off"]);
    assert_eq!(off.metrics, None);
    // The gateway alone (offline, the RPC and Cluster APIs off).
    assert_eq!(listening_sockets(off.pid()), 1);
    // Requests are served as ever.
    assert_eq!(
        off.get(&format!("/ipfs/{DIR_WITH_FILES}/hello.txt")).status,
        200
    );
    let on = Server::start_in(
        data(),
        &["--cluster-api", "off", "--metrics", "127.0.0.1:0"],
    );
    assert_eq!(listening_sockets(on.pid()), 2);
    let metrics = on.metrics.unwrap();
    assert_eq!(scrape(metrics).status, 200);
}

#[test]
fn blocks_fetched_over_bitswap_are_counted_on_both_nodes() {
    const LOOPBACK_TCP: &str = "/ip4/127.0.0.1/tcp/0";
    let holder = Server::start_in(
        data(),
        &["--swarm", LOOPBACK_TCP, "--metrics", "127.0.0.1:0"],
    );
    let peer = holder.swarm[0].clone();
    let fetcher = Server::start_in(
        tempfile::tempdir().unwrap(),
        &[
            "--swarm",
            LOOPBACK_TCP,
            "--peer",
            &peer,
            "--metrics",
            "127.0.0.1:0",
        ],
    );
    let connected = scrape_until(fetcher.metrics.unwrap(), |text| {
        sample(text, "cairn_p2p_connected_peers") == Some(1.0)
    });
    assert_eq!(
        value(&connected, "cairn_p2p_connected_peers"),
        1.0,
        "{connected}"
    );
    let r = fetcher.get(&format!("/ipfs/{DIR_WITH_FILES}/hello.txt"));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, b"hello world\n");

    // The directory block and the file's: fetched by one, sent by the other.
    let fetched = scrape_until(fetcher.metrics.unwrap(), |text| {
        sample(text, "ipfs_http_gw_get_duration_seconds_count") == Some(1.0)
    });
    let received = value(&fetched, "ipfs_bitswap_blocks_received_total");
    assert!(received >= 2.0, "{fetched}");
    assert!(value(&fetched, "ipfs_bitswap_data_received_bytes_total") >= 12.0);
    assert!(value(&fetched, "cairn_retrieval_blocks_total{source=\"bitswap\"}") >= 2.0);
    let sent = scrape_until(holder.metrics.unwrap(), |text| {
        sample(text, "ipfs_bitswap_blocks_sent_total").is_some_and(|n| n >= received)
    });
    assert!(
        value(&sent, "ipfs_bitswap_blocks_sent_total") >= received,
        "{sent}"
    );
    assert!(value(&sent, "ipfs_bitswap_data_sent_bytes_total") >= 12.0);
    assert_eq!(value(&sent, "cairn_p2p_connected_peers"), 1.0);
    // Online, with the node's families too, the exposition still passes promtool.
    if let Some(promtool) = support::peer("promtool") {
        promtool_check(&promtool, &sent);
        promtool_check(&promtool, &fetched);
    }
}
