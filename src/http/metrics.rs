//! Prometheus metrics on a listener of their own (`--metrics ADDR`, default `127.0.0.1:8091`
//! as Rainbow's), at `GET /debug/metrics/prometheus` (Kubo's and Rainbow's path), in the
//! Prometheus text exposition format, version 0.0.4.
//!
//! What is counted, and where:
//! - the gateway's requests, recorded here ([`GatewayMetrics`]) under boxo's names
//!   (`ipfs_http_gw_*`): responses by status code, retrieval timeouts, requests in flight,
//!   and for successful `GET`s the time to the end of the body, overall and by response type;
//! - the node's own counts, kept where the thing happens and read at scrape time
//!   ([`NodeMetrics`]): the store's memory cache and disk usage, blocks read by source
//!   ([`RetrievalStats`]), Bitswap blocks and bytes ([`BitswapStats`]), pubsub messages,
//!   pins, garbage collections, connected peers;
//! - the process's, under the standard `process_*` names, read from `/proc` (Linux).
//!
//! Labels come only from small closed sets (a status code, a response type, a block source),
//! never from a request's Host, path or CID, so a client cannot grow the exposition.
//!
//! The request path counts with pre-built atomics: no allocation and no lock per request
//! (see [`Observed`]). The exposition is written here rather than by `prometheus-client`:
//! that crate writes OpenMetrics only (counters as a family without the `_total` its samples
//! carry, which Prometheus-format parsers and `promtool check metrics` reject), and its
//! histograms take a lock per observation.
//!
//! Where boxo's name is a counter without `_total` (`ipfs_http_gw_request_types`,
//! `ipfs_http_blockstore_cache_hit`, `…_cache_requests`), the name carries it here: the
//! Prometheus naming rules require it of counters.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use hyper::body::Incoming;

use super::server::Handler;
use super::{Body, HttpError, Response};
use crate::network::bitswap::BitswapStats;
use crate::network::NetworkHandle;
use crate::services::pins::Pinset;
use crate::services::pubsub::LocalBus;
use crate::services::retrieval::RetrievalStats;
use crate::store::Blockstore;

/// Where the exposition is served (Kubo's and Rainbow's path).
pub const PATH: &str = "/debug/metrics/prometheus";

/// The Prometheus text format's media type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A monotonic count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// boxo's duration buckets, in seconds ("fixed … as we don't want to break existing buckets",
/// boxo gateway/metrics.go; suggested in kubo#8441).
pub const DURATION_BUCKETS: [f64; 15] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0,
];

/// A histogram of durations over [`DURATION_BUCKETS`]: one atomic per bucket (made cumulative
/// when written out) and the sum in nanoseconds.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations per bucket, the last one past every bound (`+Inf`).
    counts: [AtomicU64; DURATION_BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        let bucket = DURATION_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(DURATION_BUCKETS.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

/// What a successful gateway response served, as boxo tells its timings apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    UnixfsFile,
    UnixfsDirListing,
    Car,
    Raw,
    Tar,
    JsonCbor,
    IpnsRecord,
}

impl ResponseType {
    const ALL: [ResponseType; 7] = [
        ResponseType::UnixfsFile,
        ResponseType::UnixfsDirListing,
        ResponseType::Car,
        ResponseType::Raw,
        ResponseType::Tar,
        ResponseType::JsonCbor,
        ResponseType::IpnsRecord,
    ];

    /// The `type` label of `ipfs_http_gw_request_types_total`.
    pub fn label(self) -> &'static str {
        match self {
            ResponseType::UnixfsFile => "unixfs_file",
            ResponseType::UnixfsDirListing => "unixfs_dir_listing",
            ResponseType::Car => "car",
            ResponseType::Raw => "raw",
            ResponseType::Tar => "tar",
            ResponseType::JsonCbor => "jsoncbor",
            ResponseType::IpnsRecord => "ipns_record",
        }
    }

    /// boxo's histogram of this type's successful GETs, and its help.
    fn histogram(self) -> (&'static str, &'static str) {
        match self {
            ResponseType::UnixfsFile => (
                "ipfs_http_gw_unixfs_file_get_duration_seconds",
                "The time to serve an entire UnixFS file from the gateway.",
            ),
            ResponseType::UnixfsDirListing => (
                "ipfs_http_gw_unixfs_gen_dir_listing_get_duration_seconds",
                "The time to serve a generated UnixFS directory listing from the gateway.",
            ),
            ResponseType::Car => (
                "ipfs_http_gw_car_stream_get_duration_seconds",
                "The time to GET an entire CAR stream from the gateway.",
            ),
            ResponseType::Raw => (
                "ipfs_http_gw_raw_block_get_duration_seconds",
                "The time to GET an entire raw Block from the gateway.",
            ),
            ResponseType::Tar => (
                "ipfs_http_gw_tar_stream_get_duration_seconds",
                "The time to GET an entire TAR stream from the gateway.",
            ),
            ResponseType::JsonCbor => (
                "ipfs_http_gw_jsoncbor_get_duration_seconds",
                "The time to GET an entire DAG-JSON/CBOR block from the gateway.",
            ),
            ResponseType::IpnsRecord => (
                "ipfs_http_gw_ipns_record_get_duration_seconds",
                "The time to GET an entire IPNS Record from the gateway.",
            ),
        }
    }

    /// The type of a successful content response, from its headers: the media type, and the
    /// generated listing's ETag (`"DirIndex-…"`, which only listings carry); `None` for what
    /// is not content (probes, pubsub, writes).
    pub fn of(headers: &HeaderMap) -> Option<ResponseType> {
        if headers
            .get(header::ETAG)
            .is_some_and(|e| e.as_bytes().starts_with(b"\"DirIndex-"))
        {
            return Some(ResponseType::UnixfsDirListing);
        }
        let media = headers.get(header::CONTENT_TYPE)?.as_bytes();
        let essence = media.split(|&b| b == b';').next().unwrap_or(media);
        Some(match essence {
            b"application/vnd.ipld.car" => ResponseType::Car,
            b"application/vnd.ipld.raw" => ResponseType::Raw,
            b"application/x-tar" => ResponseType::Tar,
            b"application/vnd.ipfs.ipns-record" => ResponseType::IpnsRecord,
            b"application/vnd.ipld.dag-json"
            | b"application/vnd.ipld.dag-cbor"
            | b"application/json"
            | b"application/cbor" => ResponseType::JsonCbor,
            _ => ResponseType::UnixfsFile,
        })
    }
}

/// Status codes counted one by one: 100 to 599 (hyper sends no other).
const STATUSES: usize = 500;

/// The gateway's request metrics: pre-built counters indexed by status code and response
/// type, so recording one request is a few relaxed atomic additions.
#[derive(Debug)]
pub struct GatewayMetrics {
    /// `ipfs_http_gw_responses_total{code}`, index `code - 100`.
    responses: Box<[Counter]>,
    /// `ipfs_http_gw_retrieval_timeouts_total{code, truncated="false"}`: the 504s.
    timeouts: Counter,
    /// `…{code, truncated="true"}`: bodies cut after a stall, by the status they started with.
    truncated: Box<[Counter]>,
    concurrent: Gauge,
    types: [Counter; ResponseType::ALL.len()],
    get_duration: Histogram,
    type_durations: [Histogram; ResponseType::ALL.len()],
    /// `cairn_gateway_replayed_responses_total`: answers given from the response memo.
    replayed: Counter,
}

impl Default for GatewayMetrics {
    fn default() -> Self {
        GatewayMetrics {
            responses: (0..STATUSES).map(|_| Counter::default()).collect(),
            timeouts: Counter::default(),
            truncated: (0..STATUSES).map(|_| Counter::default()).collect(),
            concurrent: Gauge::default(),
            types: Default::default(),
            get_duration: Histogram::default(),
            type_durations: Default::default(),
            replayed: Counter::default(),
        }
    }
}

fn status_index(status: u16) -> Option<usize> {
    let index = usize::from(status).checked_sub(100)?;
    (index < STATUSES).then_some(index)
}

impl GatewayMetrics {
    /// A request arrived: it counts as in flight until the returned record is dropped (with
    /// its response's body, see [`Observed::answered`]).
    pub fn start(self: &Arc<Self>) -> Observed {
        self.concurrent.inc();
        Observed {
            metrics: Arc::clone(self),
            started: Instant::now(),
            status: 0,
            timed: None,
            truncated: false,
        }
    }

    /// Responses sent with `status` so far.
    pub fn responses(&self, status: u16) -> u64 {
        status_index(status).map_or(0, |i| self.responses[i].get())
    }

    /// Retrieval timeouts so far: 504s (`truncated` false), or bodies that started with
    /// `status` and were cut (`truncated` true).
    pub fn retrieval_timeouts(&self, status: u16, truncated: bool) -> u64 {
        match (truncated, status_index(status)) {
            (false, _) if status == 504 => self.timeouts.get(),
            (true, Some(i)) => self.truncated[i].get(),
            _ => 0,
        }
    }

    /// Writes the gateway's families.
    pub fn write(&self, out: &mut Exposition) {
        out.family(
            "ipfs_http_gw_responses_total",
            "counter",
            "Total number of HTTP responses sent by the gateway, labeled by status code.",
        );
        for (i, counter) in self.responses.iter().enumerate() {
            let count = counter.get();
            if count > 0 {
                out.sample_code("ipfs_http_gw_responses_total", i + 100, None, count);
            }
        }
        out.family(
            "ipfs_http_gw_retrieval_timeouts_total",
            "counter",
            "Total number of requests that timed out due to slow content retrieval.",
        );
        out.sample_code(
            "ipfs_http_gw_retrieval_timeouts_total",
            504,
            Some("false"),
            self.timeouts.get(),
        );
        for (i, counter) in self.truncated.iter().enumerate() {
            let count = counter.get();
            if count > 0 {
                out.sample_code(
                    "ipfs_http_gw_retrieval_timeouts_total",
                    i + 100,
                    Some("true"),
                    count,
                );
            }
        }
        out.gauge(
            "ipfs_http_gw_concurrent_requests",
            "Number of HTTP requests currently being processed by the gateway.",
            self.concurrent.get() as f64,
        );
        out.family(
            "ipfs_http_gw_request_types_total",
            "counter",
            "The number of successful content requests per response type.",
        );
        for (kind, counter) in ResponseType::ALL.iter().zip(&self.types) {
            out.sample(
                "ipfs_http_gw_request_types_total",
                &[("type", kind.label())],
                counter.get() as f64,
            );
        }
        out.histogram(
            "ipfs_http_gw_get_duration_seconds",
            "The time to GET a successful response to a request (all content types).",
            &self.get_duration,
        );
        for (kind, histogram) in ResponseType::ALL.iter().zip(&self.type_durations) {
            let (name, help) = kind.histogram();
            out.histogram(name, help, histogram);
        }
        out.counter(
            "cairn_gateway_replayed_responses_total",
            "Responses replayed from memory to a request seen before (--response-cache-size).",
            self.replayed.get(),
        );
    }
}

/// One gateway request's record, from its arrival until its response body is dropped (sent,
/// cut or abandoned): in flight meanwhile; on drop, a successful GET's duration is observed
/// and a cut body counted as a truncated retrieval timeout. Holds an `Arc` clone and an
/// `Instant`: nothing is allocated.
#[derive(Debug)]
pub struct Observed {
    metrics: Arc<GatewayMetrics>,
    started: Instant,
    /// 0 until answered.
    status: u16,
    /// Set for a successful GET: observed in the overall histogram and, with a type, in the
    /// type's.
    timed: Option<Option<ResponseType>>,
    truncated: bool,
}

impl Observed {
    /// The response is ready: counts its status (and, for a 504 of the retrieval timeout, the
    /// timeout; for a successful content GET, its type).
    pub fn answered(
        &mut self,
        method: &Method,
        status: StatusCode,
        headers: &HeaderMap,
        timed_out: bool,
    ) {
        let code = status.as_u16();
        self.status = code;
        if let Some(i) = status_index(code) {
            self.metrics.responses[i].inc();
        }
        if timed_out {
            self.metrics.timeouts.inc();
        }
        if *method == Method::GET && status.is_success() {
            let kind = ResponseType::of(headers);
            if let Some(kind) = kind {
                self.metrics.types[kind as usize].inc();
            }
            self.timed = Some(kind);
        }
    }

    /// The body was cut: its source stalled past the retrieval timeout.
    pub fn truncated(&mut self) {
        self.truncated = true;
    }

    /// Counts `response` as this request's answer ([`Observed::answered`]) and keeps the
    /// record with its body until the body is dropped.
    pub fn attach(mut self, method: &Method, response: &mut super::Response, timed_out: bool) {
        self.answered(method, response.status(), response.headers(), timed_out);
        response.body_mut().observe(self);
    }

    /// The response was replayed from the memo ([`crate::http::memo`]).
    pub fn replayed(&mut self) {
        self.metrics.replayed.inc();
    }
}

impl Drop for Observed {
    fn drop(&mut self) {
        let metrics = &self.metrics;
        metrics.concurrent.dec();
        if self.truncated {
            if let Some(i) = status_index(self.status) {
                metrics.truncated[i].inc();
            }
            return;
        }
        if let Some(kind) = self.timed {
            let elapsed = self.started.elapsed();
            metrics.get_duration.observe(elapsed);
            if let Some(kind) = kind {
                metrics.type_durations[kind as usize].observe(elapsed);
            }
        }
    }
}

/// A text exposition being written.
#[derive(Debug, Default)]
pub struct Exposition {
    text: String,
}

impl Exposition {
    pub fn into_string(self) -> String {
        self.text
    }

    /// A family's `HELP` and `TYPE` lines. Names and help texts are this module's constants:
    /// nothing needs escaping.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    /// A sample; label values come from closed sets of constants.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, text)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{label}=\"{text}\"");
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }

    fn sample_code(&mut self, name: &str, code: usize, truncated: Option<&str>, value: u64) {
        let _ = match truncated {
            Some(t) => writeln!(
                self.text,
                "{name}{{code=\"{code}\",truncated=\"{t}\"}} {value}"
            ),
            None => writeln!(self.text, "{name}{{code=\"{code}\"}} {value}"),
        };
    }

    pub fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.family(name, "counter", help);
        self.sample(name, &[], value as f64);
    }

    pub fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.family(name, "gauge", help);
        self.sample(name, &[], value);
    }

    /// A family of samples told apart by one label.
    pub fn labeled(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        label: &str,
        samples: &[(&str, f64)],
    ) {
        self.family(name, kind, help);
        for (value_of_label, value) in samples {
            self.sample(name, &[(label, value_of_label)], *value);
        }
    }

    pub fn histogram(&mut self, name: &str, help: &str, histogram: &Histogram) {
        self.family(name, "histogram", help);
        let mut cumulative = 0;
        for (i, count) in histogram.counts.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            match DURATION_BUCKETS.get(i) {
                Some(bound) => {
                    let _ = writeln!(self.text, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
                }
                None => {
                    let _ = writeln!(self.text, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
                }
            }
        }
        let sum = histogram.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(self.text, "{name}_sum {sum}");
        let _ = writeln!(self.text, "{name}_count {cumulative}");
    }
}

/// The node's counts, each kept by the part of the node it counts, read at scrape time.
pub struct NodeMetrics {
    pub gateway: Option<Arc<GatewayMetrics>>,
    pub store: Arc<Blockstore>,
    pub pins: Arc<Pinset>,
    pub retrieval: Option<Arc<RetrievalStats>>,
    pub bitswap: Option<Arc<BitswapStats>>,
    pub pubsub: Option<Arc<LocalBus>>,
    /// The libp2p node (None offline).
    pub node: Option<NetworkHandle>,
    /// Disk usage takes a `stat` per block: measured at most once per [`USAGE_TTL`].
    usage: Mutex<Option<(Instant, Usage)>>,
}

/// How long a measured disk usage (and pin count) is reported before being measured again.
const USAGE_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
struct Usage {
    blocks: u64,
    block_bytes: u64,
    fetched_bytes: u64,
    pins: u64,
}

impl NodeMetrics {
    pub fn new(store: Arc<Blockstore>, pins: Arc<Pinset>) -> NodeMetrics {
        NodeMetrics {
            gateway: None,
            store,
            pins,
            retrieval: None,
            bitswap: None,
            pubsub: None,
            node: None,
            usage: Mutex::new(None),
        }
    }

    async fn usage(&self) -> Option<Usage> {
        {
            let cached = self.usage.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, usage)) = *cached {
                if at.elapsed() < USAGE_TTL {
                    return Some(usage);
                }
            }
        }
        let (store, pins) = (Arc::clone(&self.store), Arc::clone(&self.pins));
        let measured = tokio::task::spawn_blocking(move || {
            let usage = store.usage().ok()?;
            let mut count = 0u64;
            pins.each(|_| {
                count += 1;
                true
            })
            .ok()?;
            Some(Usage {
                blocks: usage.blocks,
                block_bytes: usage.block_bytes,
                fetched_bytes: usage.fetched_bytes,
                pins: count,
            })
        })
        .await
        .ok()
        .flatten()?;
        *self.usage.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), measured));
        Some(measured)
    }

    /// The whole exposition.
    pub async fn render(&self) -> String {
        let mut out = Exposition::default();
        if let Some(gateway) = &self.gateway {
            gateway.write(&mut out);
        }
        let (requests, hits) = self.store.cache_stats();
        out.counter(
            "ipfs_http_blockstore_cache_hit_total",
            "Block reads answered from the store's memory cache.",
            hits,
        );
        out.counter(
            "ipfs_http_blockstore_cache_requests_total",
            "Block reads that asked the store's memory cache.",
            requests,
        );
        if let Some(retrieval) = &self.retrieval {
            let (local, bitswap, remote) = retrieval.counts();
            out.labeled(
                "cairn_retrieval_blocks_total",
                "counter",
                "Blocks read for requests, by where they came from.",
                "source",
                &[
                    ("local", local as f64),
                    ("bitswap", bitswap as f64),
                    ("remote", remote as f64),
                ],
            );
        }
        if let Some(bitswap) = &self.bitswap {
            let counts = bitswap.counts();
            out.counter(
                "ipfs_bitswap_blocks_received_total",
                "Total number of blocks received over Bitswap.",
                counts.blocks_received,
            );
            out.counter(
                "ipfs_bitswap_data_received_bytes_total",
                "Total number of block bytes received over Bitswap.",
                counts.data_received,
            );
            out.counter(
                "ipfs_bitswap_blocks_sent_total",
                "Total number of blocks sent over Bitswap.",
                counts.blocks_sent,
            );
            out.counter(
                "ipfs_bitswap_data_sent_bytes_total",
                "Total number of block bytes sent over Bitswap.",
                counts.data_sent,
            );
        }
        if let Some(node) = &self.node {
            if let Ok(peers) = node.connected_peers().await {
                out.gauge(
                    "cairn_p2p_connected_peers",
                    "Peers the libp2p node is connected to.",
                    peers.len() as f64,
                );
            }
        }
        if let Some(bus) = &self.pubsub {
            let (local, peers) = bus.message_counts();
            out.labeled(
                "cairn_pubsub_messages_total",
                "counter",
                "Pubsub messages delivered to this node's subscribers, by origin.",
                "origin",
                &[("local", local as f64), ("peer", peers as f64)],
            );
        }
        if let Some(usage) = self.usage().await {
            out.gauge(
                "cairn_store_blocks",
                "Blocks kept in the store (pinned or added; the fetch cache apart).",
                usage.blocks as f64,
            );
            out.labeled(
                "cairn_store_size_bytes",
                "gauge",
                "Bytes of blocks on disk: kept, and in the fetch cache.",
                "area",
                &[
                    ("kept", usage.block_bytes as f64),
                    ("fetch_cache", usage.fetched_bytes as f64),
                ],
            );
            out.gauge("cairn_pins", "Pins in the pinset.", usage.pins as f64);
        }
        out.counter(
            "cairn_gc_runs_total",
            "Garbage collections this process completed.",
            crate::services::gc::runs(),
        );
        process::write(&mut out);
        out.into_string()
    }
}

/// The process's metrics under the standard names, from `/proc` (nothing elsewhere).
mod process {
    use super::Exposition;

    pub(super) fn write(out: &mut Exposition) {
        let ticks = rustix::param::clock_ticks_per_second() as f64;
        let page = rustix::param::page_size() as f64;
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            // Fields after the command name, which may hold spaces, in parentheses.
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
            // utime, stime and starttime: fields 14, 15 and 22 (the state, field 3, is first).
            let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok());
            if let (Some(user), Some(system)) = (field(14), field(15)) {
                out.counter_f64(
                    "process_cpu_seconds_total",
                    "Total user and system CPU time spent in seconds.",
                    (user + system) / ticks,
                );
            }
            if let (Some(start), Some(boot)) = (field(22), boot_time()) {
                out.gauge(
                    "process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds.",
                    boot + start / ticks,
                );
            }
        }
        if let Ok(statm) = std::fs::read_to_string("/proc/self/statm") {
            let mut pages = statm.split_whitespace().map(|f| f.parse::<f64>().ok());
            if let (Some(Some(size)), Some(Some(resident))) = (pages.next(), pages.next()) {
                out.gauge(
                    "process_virtual_memory_bytes",
                    "Virtual memory size in bytes.",
                    size * page,
                );
                out.gauge(
                    "process_resident_memory_bytes",
                    "Resident memory size in bytes.",
                    resident * page,
                );
            }
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            out.gauge(
                "process_open_fds",
                "Number of open file descriptors.",
                fds.count() as f64,
            );
        }
        if let Some(max) = rustix::process::getrlimit(rustix::process::Resource::Nofile).current {
            out.gauge(
                "process_max_fds",
                "Maximum number of open file descriptors.",
                max as f64,
            );
        }
    }

    /// The boot time, seconds since the epoch (`btime` in `/proc/stat`).
    fn boot_time() -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        stat.lines()
            .find_map(|line| line.strip_prefix("btime "))
            .and_then(|t| t.trim().parse().ok())
    }
}

impl Exposition {
    fn counter_f64(&mut self, name: &str, help: &str, value: f64) {
        self.family(name, "counter", help);
        self.sample(name, &[], value);
    }
}

/// The metrics listener's API: the exposition at [`PATH`], 404 elsewhere, 405 for other
/// methods.
pub struct MetricsApi {
    metrics: Arc<NodeMetrics>,
}

impl MetricsApi {
    pub fn new(metrics: Arc<NodeMetrics>) -> MetricsApi {
        MetricsApi { metrics }
    }

    /// The answer to `request` (any body type: tests call it directly).
    pub async fn respond<B>(&self, request: &Request<B>) -> Response {
        if request.uri().path() != PATH {
            return HttpError::not_found(format!("metrics are at {PATH}")).into_response(false);
        }
        let method = request.method();
        if *method != Method::GET && *method != Method::HEAD {
            return HttpError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("method {method} is not allowed here"),
            )
            .with_header(header::ALLOW, HeaderValue::from_static("GET, HEAD"))
            .into_response(false);
        }
        let text = self.metrics.render().await;
        let mut response = Response::new(if *method == Method::HEAD {
            Body::empty()
        } else {
            Body::full(text)
        });
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

impl Handler for MetricsApi {
    type Begun = ();

    async fn handle(&self, request: Request<Incoming>, (): ()) -> Response {
        self.respond(&request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_end_at_inf() {
        let histogram = Histogram::default();
        histogram.observe(Duration::from_millis(10));
        histogram.observe(Duration::from_millis(300));
        histogram.observe(Duration::from_secs(5000));
        let mut out = Exposition::default();
        out.histogram("x_seconds", "X.", &histogram);
        let text = out.into_string();
        assert!(text.contains("x_seconds_bucket{le=\"0.05\"} 1\n"), "{text}");
        assert!(text.contains("x_seconds_bucket{le=\"0.5\"} 2\n"), "{text}");
        assert!(text.contains("x_seconds_bucket{le=\"1920\"} 2\n"), "{text}");
        assert!(text.contains("x_seconds_bucket{le=\"+Inf\"} 3\n"), "{text}");
        assert!(text.contains("x_seconds_count 3\n"), "{text}");
        assert!(text.contains("x_seconds_sum 5000.31\n"), "{text}");
    }

    #[test]
    fn a_request_is_in_flight_until_its_record_drops_and_timed_when_successful() {
        let metrics = Arc::new(GatewayMetrics::default());
        let mut observed = metrics.start();
        assert_eq!(metrics.concurrent.get(), 1);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/vnd.ipld.car; version=1"),
        );
        observed.answered(&Method::GET, StatusCode::OK, &headers, false);
        assert_eq!(metrics.responses(200), 1);
        assert_eq!(metrics.get_duration.count(), 0);
        drop(observed);
        assert_eq!(metrics.concurrent.get(), 0);
        assert_eq!(metrics.get_duration.count(), 1);
        assert_eq!(
            metrics.type_durations[ResponseType::Car as usize].count(),
            1
        );
        // A 404 is counted, never timed.
        let mut observed = metrics.start();
        observed.answered(
            &Method::GET,
            StatusCode::NOT_FOUND,
            &HeaderMap::new(),
            false,
        );
        drop(observed);
        assert_eq!(metrics.responses(404), 1);
        assert_eq!(metrics.get_duration.count(), 1);
    }

    #[test]
    fn listings_are_told_from_json_blocks_by_their_etag() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        assert_eq!(ResponseType::of(&headers), Some(ResponseType::JsonCbor));
        headers.insert(
            header::ETAG,
            HeaderValue::from_static("\"DirIndex-json_CID-bafy\""),
        );
        assert_eq!(
            ResponseType::of(&headers),
            Some(ResponseType::UnixfsDirListing)
        );
    }
}
