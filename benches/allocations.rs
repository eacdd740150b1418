//! Counts heap allocations per request (a counting allocator around the system one), for
//! the closing notes and BENCHMARKS.md: `cargo bench --bench allocations`. Two tables: the
//! gateway's handler alone, in process; and the whole server — hyper's HTTP/1.1 connection,
//! tokio and cairn — answering keep-alive requests over loopback from a client thread that
//! allocates nothing while it runs.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use support::{copy, drain, get, respond, DIR_LISTING, DIR_WITH_FILES};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call unchanged to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let data = tempfile::tempdir().unwrap();
    let gateway = support::gateway(data.path());
    // The same gateway counting its requests (`--metrics`): the counting must not allocate.
    let counted = tempfile::tempdir().unwrap();
    let counting = support::gateway(counted.path()).with_metrics(std::sync::Arc::new(
        cairn::http::metrics::GatewayMetrics::default(),
    ));
    // The same gateway replaying answers (`cairn serve`'s default `--response-cache-size`).
    let replaying_dir = tempfile::tempdir().unwrap();
    let replaying = support::gateway_with(replaying_dir.path(), replaying_options());
    let small = get(&format!("/ipfs/{DIR_WITH_FILES}/hello.txt"), &[]);
    let cases = [
        (
            "cached small-file GET",
            get(&format!("/ipfs/{DIR_WITH_FILES}/hello.txt"), &[]),
        ),
        (
            "range GET (multi-block file)",
            get(
                &format!("/ipfs/{DIR_WITH_FILES}/multiblock.txt"),
                &[("Range", "bytes=300-700")],
            ),
        ),
        (
            "HTML listing (4 entries)",
            get(&format!("/ipfs/{DIR_LISTING}/"), &[("Accept", "text/html")]),
        ),
    ];
    println!("| request | allocations | bytes allocated |");
    println!("|---|---|---|");
    let cases = cases
        .into_iter()
        .map(|(label, request)| (label, request, &gateway))
        .chain([
            ("cached small-file GET, metrics on", copy(&small), &counting),
            ("cached small-file GET, replayed", small, &replaying),
        ]);
    for (label, request, gateway) in cases {
        // Warm the block cache first: the figure is for the cached path.
        drain(respond(gateway, copy(&request)).into_body());
        const N: u64 = 1000;
        // Requests are consumed: make them before counting.
        let requests: Vec<_> = (0..N).map(|_| copy(&request)).collect();
        let (a0, b0) = (
            ALLOCATIONS.load(Ordering::Relaxed),
            BYTES.load(Ordering::Relaxed),
        );
        for request in requests {
            drain(respond(gateway, request).into_body());
        }
        let (a1, b1) = (
            ALLOCATIONS.load(Ordering::Relaxed),
            BYTES.load(Ordering::Relaxed),
        );
        println!("| {label} | {} | {} |", (a1 - a0) / N, (b1 - b0) / N);
    }
    // The whole server runs with `cairn serve`'s defaults (a concurrency cap and a
    // retrieval timeout on every read, which cost their share per request; answers
    // replayed), then with every request served afresh (`--response-cache-size 0`).
    let served = tempfile::tempdir().unwrap();
    whole_server(
        support::gateway_with(served.path(), replaying_options()),
        "replayed (the default)",
    );
    let afresh = tempfile::tempdir().unwrap();
    let options = cairn::gateway::GatewayOptions {
        response_cache_bytes: 0,
        ..replaying_options()
    };
    whole_server(
        support::gateway_with(afresh.path(), options),
        "served afresh (`--response-cache-size 0`)",
    );
}

/// `cairn serve`'s default gateway options, as far as they bear on a read.
fn replaying_options() -> cairn::gateway::GatewayOptions {
    cairn::gateway::GatewayOptions {
        limits: cairn::gateway::GatewayLimits {
            max_concurrent_requests: Some(4096),
            retrieval_timeout: Some(std::time::Duration::from_secs(30)),
            max_range_file_size: None,
            body_timeout: Some(std::time::Duration::from_secs(30)),
            max_request_duration: Some(std::time::Duration::from_secs(3600)),
            ..Default::default()
        },
        response_cache_bytes: 32 << 20,
        ..Default::default()
    }
}

/// The same requests through the real server loop on a socket.
fn whole_server(gateway: cairn::gateway::Gateway, how: &str) {
    use std::io::{Read, Write};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (_trigger, shutdown) = cairn::http::server::shutdown_channel();
    runtime.spawn(cairn::http::server::serve(
        listener,
        std::sync::Arc::new(gateway),
        cairn::http::server::ServerLimits::default(),
        std::sync::Arc::new(cairn::http::server::ByteCounters::default()),
        None,
        shutdown,
    ));
    let cases = [
        (
            "cached small-file GET",
            format!("/ipfs/{DIR_WITH_FILES}/hello.txt"),
            "",
        ),
        (
            "range GET (multi-block file)",
            format!("/ipfs/{DIR_WITH_FILES}/multiblock.txt"),
            "Range: bytes=300-700\r\n",
        ),
        (
            "HTML listing (4 entries)",
            format!("/ipfs/{DIR_LISTING}/"),
            "Accept: text/html\r\n",
        ),
    ];
    println!();
    println!("| request (whole server, keep-alive; {how}) | allocations | bytes allocated |");
    println!("|---|---|---|");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut buf = vec![0u8; 1 << 16];
    for (label, path, extra) in cases {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}\r\n").into_bytes();
        // One exchange: write the request, read one response (headers, then Content-Length
        // bytes) into the fixed buffer; nothing here allocates.
        let mut exchange = || {
            stream.write_all(&request).unwrap();
            let mut filled = 0;
            loop {
                let n = stream.read(&mut buf[filled..]).unwrap();
                assert!(n > 0, "connection closed");
                filled += n;
                let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = &buf[..end];
                let length = head
                    .split(|&b| b == b'\n')
                    .find_map(|line| {
                        let line = std::str::from_utf8(line).ok()?.trim();
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .expect("content-length");
                while filled < end + 4 + length {
                    let n = stream.read(&mut buf[filled..]).unwrap();
                    assert!(n > 0, "connection closed");
                    filled += n;
                }
                return;
            }
        };
        for _ in 0..200 {
            exchange();
        }
        const N: u64 = 5000;
        let (a0, b0) = (
            ALLOCATIONS.load(Ordering::Relaxed),
            BYTES.load(Ordering::Relaxed),
        );
        for _ in 0..N {
            exchange();
        }
        let (a1, b1) = (
            ALLOCATIONS.load(Ordering::Relaxed),
            BYTES.load(Ordering::Relaxed),
        );
        println!("| {label} | {} | {} |", (a1 - a0) / N, (b1 - b0) / N);
    }
}
