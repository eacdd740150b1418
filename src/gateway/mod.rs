//! The gateway API on its own port: the Agregore IPFS gateway routes and Kubo's path,
//! trustless, subdomain and DNSLink gateway behaviour. The Host picks the gateway
//! ([`host`], [`origins`]); on the path gateway requests are routed by
//! [`crate::http::router`]; each handler returns a response or an [`HttpError`], and every
//! response leaves here with CORS headers (and without a body for `HEAD`). Writes pass
//! [`access`] first.
//!
//! What one request may make the gateway hold, each bound where it is enforced:
//! - the request head: 64 KiB ([`crate::http::server::ServerLimits`]), the target 8 KiB
//!   ([`MAX_URI_BYTES`]), at most 128 path segments ([`path::MAX_SEGMENTS`]);
//! - request bodies: uploads stream through ([`crate::http::upload`]: a bounded channel of
//!   chunks, a form's part headers and names bounded by the multipart parser and the ingest);
//!   an IPNS content path at most 8 KiB, an IPNS record at most 10 KiB (`ipns`); a pubsub
//!   message (`pubsub`);
//! - responses: files, CARs and TARs stream block by block (a block is at most 4 MiB); a
//!   directory listing at most `services::dir::MAX_ENTRIES` entries and 32 MiB of body
//!   (`listing`); a TAR at most that many entries waiting across its levels; a DAG preview
//!   256 KiB (`dag_html`); a `_redirects` file 64 KiB.

pub mod access;
mod dag_html;
mod export;
pub mod format;
pub mod host;
mod ipns;
mod listing;
mod origins;
pub mod path;
pub mod pubsub;
mod read;
mod response;
mod trustless;
mod write;

use std::sync::Arc;
use std::time::Duration;

use http::{header, HeaderValue, Method, Request, StatusCode};
use hyper::body::Incoming;
use tokio::sync::Semaphore;

use crate::http::access_log::AccessLog;
use crate::http::error::Looked;
use crate::http::health::Health;
use crate::http::memo::{Lookup, Pending, ResponseMemo};
use crate::http::metrics::{GatewayMetrics, Observed};
use crate::http::router::{self, NoRoute, Route};
use crate::http::server::Handler;
use crate::http::{compress, cors, Body, HttpError, Response};
use crate::services::denylist::Denylist;
use crate::services::names::NameService;
use crate::services::pinning::Pinning;
use crate::services::pins::Pinset;
use crate::services::pubsub::PubsubBackend;
use crate::services::retrieval::Retrieval;
use crate::store::{Blockstore, SharedSource};

/// Longest request target (path and query) accepted; longer ones get 414.
pub const MAX_URI_BYTES: usize = 8 << 10;

/// How long an answer given as the path gateway under a Host that may carry a DNSLink (and
/// had none) is replayed: a DNSLink added since shows within this.
const DNSLINK_FALLBACK_REPLAY: Duration = Duration::from_secs(60);

/// What a directory answers to a request without `Accept`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListingDefault {
    /// The Agregore spec: "No Accept header also returns JSON".
    #[default]
    Json,
    /// Kubo: the HTML listing whatever the client accepts.
    Html,
}

/// How the gateway is set up.
#[derive(Debug, Clone, Default)]
pub struct GatewayOptions {
    /// Whether POST/PUT/DELETE are allowed.
    pub writable: bool,
    /// Largest upload accepted, in bytes (413 beyond).
    pub max_upload: Option<u64>,
    /// Hosts served as subdomain gateways (`<cid>.ipfs.<host>`, `<name>.ipns.<host>`).
    pub subdomain_hosts: Vec<String>,
    /// What a directory answers to a request without `Accept`.
    pub listing_without_accept: ListingDefault,
    /// Operator limits (boxo#881, #994, #856).
    pub limits: GatewayLimits,
    /// The upload slots, shared with the process's other APIs.
    pub uploads: crate::http::upload::UploadSlots,
    /// Origins allowed to write (`--allow-origin`; empty: any).
    pub allowed_origins: crate::http::cors::OriginPolicy,
    /// The bearer token writes need (`--write-token`; `None`: none).
    pub write_token: Option<String>,
    /// Names with a static DNSLink entry: writes may name them as Host.
    pub dnslink_hosts: Vec<String>,
    /// Hosts that serve only trustless responses (`--trustless-only-host`; boxo's
    /// `DeserializedResponses: false` for a public gateway): see [`trustless`].
    pub trustless_hosts: Vec<String>,
    /// Bytes of finished answers to repeated requests for immutable content kept in memory
    /// and replayed (`--response-cache-size`; 0: none): see [`crate::http::memo`].
    pub response_cache_bytes: u64,
}

/// Limits an operator sets on a public gateway, as boxo offers them.
#[derive(Debug, Clone, Default)]
pub struct GatewayLimits {
    /// Requests served at once; more get 429 with `Retry-After` (`None`: no cap). Event
    /// streams and preflights are not counted: they cost nothing while idle; nor are answers
    /// replayed from the memo, which do no work and whose bodies are already in memory.
    pub max_concurrent_requests: Option<usize>,
    /// Longest wait for a read's response to start (`None`: no limit); past it, 504.
    pub retrieval_timeout: Option<Duration>,
    /// Files larger than this refuse `Range` requests with 501, because CDNs in front of
    /// gateways do not cache ranges of very large files (boxo#856).
    pub max_range_file_size: Option<u64>,
    /// Longest wait for the next piece of a request body (`None`: no limit); past it, 408.
    pub body_timeout: Option<Duration>,
    /// Longest a read may take in all, from its arrival to its body's last byte (`None`: no
    /// limit; boxo's `MaxRequestDuration`, 1 h by default there): past it a response not
    /// yet started is a 504, one streaming is cut.
    pub max_request_duration: Option<Duration>,
    /// Largest UnixFS file or directory DAG (bytes) served in a deserialized response (boxo's
    /// `MaxDeserializedResponseSize`); larger content gets 410. Raw blocks, CARs and TARs are
    /// not concerned.
    pub max_deserialized_response_size: Option<u64>,
    /// Largest content (bytes) served in any format, raw blocks, CARs and TARs included
    /// (boxo's `MaxUnixFSDAGResponseSize`); larger content gets 410.
    pub max_unixfs_dag_response_size: Option<u64>,
}

/// How long a client is told to wait after a 429 (boxo uses the same fixed value).
const RETRY_AFTER_SECONDS: u64 = 60;

/// The gateway's state, shared by every connection.
pub struct Gateway {
    /// Where writes go, and what `only-if-cached` asks about.
    store: Arc<Blockstore>,
    /// Where every read comes from.
    blocks: SharedSource,
    /// The same source, told of each request's walk ahead (CAR-mode remote backends).
    retrieval: Option<Arc<Retrieval>>,
    pins: Arc<Pinset>,
    /// Fetches and keeps the DAGs writes pin (see [`Gateway::pinning`]).
    pinning: Option<Arc<Pinning>>,
    writable: bool,
    max_upload: Option<u64>,
    pubsub: pubsub::PubsubApi,
    /// IPNS: `/ipns`, the key API, Delegated Routing V1 (absent: those routes answer 501).
    names: Option<Arc<NameService>>,
    hosts: host::GatewayHosts,
    listing_default: ListingDefault,
    /// Free request slots, when concurrency is capped.
    slots: Option<Arc<Semaphore>>,
    retrieval_timeout: Option<Duration>,
    max_request_duration: Option<Duration>,
    max_range_file_size: Option<u64>,
    sizes: SizeLimits,
    trustless_hosts: trustless::TrustlessHosts,
    /// Content it blocks answers 410 on every origin, before anything is resolved.
    denylist: Arc<Denylist>,
    /// Answers `/healthz` and `/readyz` (absent: those are ordinary paths).
    health: Option<Arc<Health>>,
    /// Where each request gets its line (absent: no access log).
    access_log: Option<Arc<AccessLog>>,
    /// Where each request is counted (absent: metrics off).
    metrics: Option<Arc<GatewayMetrics>>,
    body_timeout: Option<Duration>,
    uploads: crate::http::upload::UploadSlots,
    /// Who may write (see [`access`]).
    access: access::WriteAccess,
    /// Answers replayed to repeated requests (absent: every request is served afresh).
    memo: Option<ResponseMemo>,
}

impl Gateway {
    /// A gateway over `store`, whose `/pubsub` API goes through `pubsub`.
    pub fn new(
        store: Arc<Blockstore>,
        pins: Arc<Pinset>,
        pubsub: Arc<dyn PubsubBackend>,
        options: GatewayOptions,
    ) -> Self {
        Gateway {
            blocks: Arc::clone(&store) as SharedSource,
            retrieval: None,
            store,
            pins,
            pinning: None,
            pubsub: pubsub::PubsubApi::new(pubsub),
            writable: options.writable,
            max_upload: options.max_upload,
            names: None,
            hosts: host::GatewayHosts::new(&options.subdomain_hosts),
            listing_default: options.listing_without_accept,
            slots: options
                .limits
                .max_concurrent_requests
                .map(|n| Arc::new(Semaphore::new(n.min(Semaphore::MAX_PERMITS)))),
            retrieval_timeout: options.limits.retrieval_timeout,
            max_request_duration: options.limits.max_request_duration,
            max_range_file_size: options.limits.max_range_file_size,
            sizes: SizeLimits {
                deserialized: options.limits.max_deserialized_response_size,
                dag: options.limits.max_unixfs_dag_response_size,
            },
            trustless_hosts: trustless::TrustlessHosts::new(&options.trustless_hosts),
            body_timeout: options.limits.body_timeout,
            uploads: options.uploads,
            access: access::WriteAccess::new(
                options.allowed_origins,
                options.write_token,
                &options.subdomain_hosts,
                &options.dnslink_hosts,
            ),
            denylist: Denylist::empty(),
            health: None,
            access_log: None,
            metrics: None,
            memo: ResponseMemo::new(options.response_cache_bytes),
        }
    }

    /// Counts every request (probes apart) in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<GatewayMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Answers the liveness and readiness probes (`/healthz`, `/readyz`) from `health`.
    pub fn with_health(mut self, health: Arc<Health>) -> Self {
        self.health = Some(health);
        self
    }

    /// Logs every request to `log`, a line each.
    pub fn with_access_log(mut self, log: Arc<AccessLog>) -> Self {
        self.access_log = Some(log);
        self
    }

    /// A probe's answer, before admission and the retrieval timeout (a saturated gateway
    /// still says it is alive). Probes are answered on every Host but content origins
    /// (`<cid>.ipfs.<host>`), whose paths are the content's.
    fn probe<B>(&self, request: &Request<B>) -> Option<Response> {
        let health = self.health.as_ref()?;
        let path = request.uri().path();
        if !Health::is_probe(path) {
            return None;
        }
        let host = host::request_host(request.uri(), request.headers());
        if matches!(self.hosts.classify(host), host::HostKind::Subdomain { .. }) {
            return None;
        }
        health.answer(request.method(), path)
    }

    /// Answers 410 Gone for the paths and names `denylist` blocks (the blocks themselves are
    /// refused by the block source: see [`Retrieval::with_denylist`]).
    pub fn with_denylist(mut self, denylist: Arc<Denylist>) -> Self {
        self.denylist = denylist;
        self
    }

    /// 410 when `/ipfs/<root>/<segments…>` is blocked.
    fn check_ipfs(&self, root: &cid::Cid, segments: &[&str]) -> Result<(), HttpError> {
        match self.denylist.check_ipfs(root, segments) {
            Some(blocked) => Err(crate::store::Error::from(blocked).into()),
            None => Ok(()),
        }
    }

    /// 410 when `/ipns/<name>/<segments…>` is blocked.
    fn check_ipns(&self, name: &str, segments: &[&str]) -> Result<(), HttpError> {
        match self.denylist.check_ipns(name, segments) {
            Some(blocked) => Err(crate::store::Error::from(blocked).into()),
            None => Ok(()),
        }
    }

    /// Reads blocks from `source` instead of the store alone (the network, or a test's).
    pub fn with_source(mut self, source: SharedSource) -> Self {
        self.blocks = source;
        self
    }

    /// Reads blocks through `retrieval` (the store, then the network) and tells it of each
    /// request's walk before reading.
    pub fn with_retrieval(mut self, retrieval: Arc<Retrieval>) -> Self {
        self.blocks = Arc::clone(&retrieval) as SharedSource;
        self.retrieval = Some(retrieval);
        self
    }

    /// Keeps the DAGs writes pin through `pinning` (the node's jobs, shared with the Cluster
    /// API), so a pin being fetched shows as such there.
    pub fn with_pinning(mut self, pinning: Arc<Pinning>) -> Self {
        self.pinning = Some(pinning);
        self
    }

    /// The pinning jobs: the node's, or (a gateway set up without them) jobs of this request
    /// over the gateway's own block source.
    fn pinning(&self) -> Arc<Pinning> {
        match &self.pinning {
            Some(pinning) => Arc::clone(pinning),
            None => Pinning::new(
                Arc::clone(&self.store),
                Arc::clone(&self.blocks),
                self.retrieval_timeout,
            ),
        }
    }

    /// Serves IPNS from `names`.
    pub fn with_names(mut self, names: Arc<NameService>) -> Self {
        self.names = Some(names);
        self
    }

    /// The one path every request takes: [`Gateway::begin`] (a probe's answer, or a replay),
    /// then [`Gateway::serve_begun`]. The server takes the two steps itself (see
    /// [`Handler::begin`]); benches and tests come in here, with any body type.
    pub async fn respond<B: RequestBody>(&self, request: Request<B>) -> Response {
        match self.begin(&request) {
            Ok(answered) => answered,
            // Boxed, so that the future of a request answered at once holds (and moves) no
            // room for serving's, which is kilobytes.
            Err(begun) => Box::pin(self.serve_begun(request, begun)).await,
        }
    }

    /// What is done at once as a request arrives: a health probe is answered, and an answer
    /// kept in the memo is replayed (counted in the metrics). Otherwise, what serving goes on
    /// from: the request's metrics record, and the memo's note of what to keep.
    pub fn begin<B>(&self, request: &Request<B>) -> Result<Response, Begun> {
        if let Some(response) = self.probe(request) {
            return Ok(response);
        }
        // Counted from here until the response's body is dropped (probes are not counted:
        // balancers send them all the time).
        let observed = self.metrics.as_ref().map(|metrics| metrics.start());
        let pending = match &self.memo {
            Some(memo) => match memo.lookup(request, self.memo_epoch()) {
                Lookup::Hit(mut response) => {
                    if let Some(mut observed) = observed {
                        observed.replayed();
                        observed.attach(request.method(), &mut response, false);
                    }
                    return Ok(response);
                }
                Lookup::Miss(pending) => pending,
            },
            None => None,
        };
        Err(Begun { observed, pending })
    }

    /// Serves a request [`Gateway::begin`] could not answer: admission (the concurrency cap),
    /// `Gateway::serve` under the retrieval timeout, then `Gateway::finish`; counted in the
    /// metrics if on, then offered to the memo (counted first, so that a body cut while the
    /// memo reads it counts as cut).
    pub async fn serve_begun<B: RequestBody>(&self, request: Request<B>, begun: Begun) -> Response {
        let Begun { observed, pending } = begun;
        let method = request.method().clone();
        // A Host that may carry a DNSLink but had none (or whose lookup failed) is served as
        // the path gateway: that answer holds only until the name gets one, which no epoch
        // follows, so it is given again for a short while only.
        let for_at_most = pending.as_ref().and_then(|_| {
            let host = host::request_host(request.uri(), request.headers());
            let maybe_dnslink = matches!(
                self.hosts.classify(host),
                host::HostKind::MaybeDnsLink { .. }
            );
            (self.names.is_some() && maybe_dnslink).then_some(DNSLINK_FALLBACK_REPLAY)
        });
        let (mut response, timed_out) = self.admit_and_serve(request).await;
        if let Some(observed) = observed {
            observed.attach(&method, &mut response, timed_out);
        }
        if let (Some(memo), Some(pending)) = (&self.memo, pending) {
            memo.keep(pending, &mut response, self.memo_epoch(), for_at_most)
                .await;
        }
        response
    }

    /// What a replayed answer must have been kept under: it moves when blocks may have gone
    /// from the store or the denylist changed, the two things that can make an immutable
    /// answer wrong.
    fn memo_epoch(&self) -> u64 {
        self.store.removals() + self.denylist.generation()
    }

    /// Admission, `Gateway::serve` under the retrieval timeout and the maximum request
    /// duration, then `Gateway::finish`; also whether the retrieval timeout answered (504).
    async fn admit_and_serve<B: RequestBody>(&self, request: Request<B>) -> (Response, bool) {
        let client = Client::of(&request);
        let method = request.method().clone();
        let event_stream = request.uri().path().starts_with("/pubsub");
        let slot = match &self.slots {
            Some(slots) if method != Method::OPTIONS && !event_stream => {
                match Arc::clone(slots).try_acquire_owned() {
                    Ok(slot) => Some(slot),
                    Err(_) => {
                        let refused = self.finish(&method, Err(too_many_requests()), &client, None);
                        return (refused, false);
                    }
                }
            }
            _ => None,
        };
        let read = matches!(method, Method::GET | Method::HEAD) && !event_stream;
        let stall = self.retrieval_timeout.filter(|_| read);
        let total = self.max_request_duration.filter(|_| read);
        // The retrieval timeout bounds the wait for the response to start (504) and, once it
        // has, each wait of its body for the next block (the stream is cut); the maximum
        // request duration bounds both together (504 before the start, cut after).
        let first = match (stall, total) {
            (None, None) => {
                let outcome = self.serve(request).await;
                return (self.finish(&method, outcome, &client, slot), false);
            }
            (Some(stall), Some(total)) => stall.min(total),
            (Some(limit), None) | (None, Some(limit)) => limit,
        };
        let arrived = tokio::time::Instant::now();
        let mut timed_out = false;
        let outcome = match tokio::time::timeout(first, self.serve(request)).await {
            Ok(outcome) => outcome,
            Err(_) if stall == Some(first) => {
                timed_out = true;
                Err(retrieval_timed_out(first))
            }
            Err(_) => Err(request_too_long(first)),
        };
        // Only what was served is cut: an error's text is at hand, and is the answer.
        let served = outcome.is_ok();
        let mut response = self.finish(&method, outcome, &client, slot);
        if let Some(limit) = stall {
            response.body_mut().cut_after_stall(limit);
        }
        if let Some(total) = total.filter(|_| served) {
            response.body_mut().cut_at(arrived + total, total);
        }
        (response, timed_out)
    }

    /// 410 when content of `size` bytes is over the operator's limits: any response for the
    /// DAG limit, deserialized ones for the other (boxo `exceedsMaxUnixFSDAGResponseSize`,
    /// `exceedsMaxDeserializedResponseSize`, with their texts). Cacheable as boxo makes it:
    /// the content's size never changes.
    fn check_size(&self, size: u64, deserialized: bool) -> Result<(), HttpError> {
        let over = |limit: Option<u64>| limit.filter(|&limit| size > limit);
        let text = if let Some(limit) = over(self.sizes.dag) {
            format!("responses are not supported for content larger than {limit} bytes")
        } else if let Some(limit) = over(self.sizes.deserialized).filter(|_| deserialized) {
            format!(
                "deserialized responses are not supported for content larger than {limit} bytes"
            )
        } else {
            return Ok(());
        };
        Err(HttpError::new(
            StatusCode::GONE,
            format!(
                "{text}: for large content, run your own IPFS node (https://docs.ipfs.tech/install/)"
            ),
        )
        .with_header(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=604800, stale-while-revalidate=2678400"),
        ))
    }

    /// Checks what holds for every request, picks the origin by Host, then the handler.
    async fn serve<B: RequestBody>(&self, request: Request<B>) -> Result<Response, HttpError> {
        let target_len = request
            .uri()
            .path_and_query()
            .map_or(0, |pq| pq.as_str().len());
        if target_len > MAX_URI_BYTES {
            return Err(HttpError::new(
                StatusCode::URI_TOO_LONG,
                format!("request target is longer than {MAX_URI_BYTES} bytes"),
            ));
        }
        let host = host::request_host(request.uri(), request.headers());
        if self.trustless_hosts.contains(host) {
            // A path gateway for verifiable responses only: no DNSLink, no subdomains.
            trustless::check(request.method(), request.uri(), request.headers())?;
            return Box::pin(self.route(request)).await;
        }
        if !matches!(
            *request.method(),
            Method::GET | Method::HEAD | Method::OPTIONS
        ) {
            self.access.check(request.headers(), request.uri())?;
        }
        if request.method() != Method::OPTIONS {
            if let Some(response) = self.serve_by_host(&request).await? {
                return Ok(response);
            }
        }
        // Boxed: the handlers' futures are kilobytes (7 KiB for `route`), and every level
        // above would hold, and move as it starts, a copy of one; memmove was 9–11 % of a hot
        // 1 KiB GET's CPU. One allocation instead: 3–10 % more requests a second
        // (BENCHMARKS.md, session 8).
        Box::pin(self.route(request)).await
    }

    /// Routes a path-gateway request to its one handler.
    async fn route<B: RequestBody>(&self, request: Request<B>) -> Result<Response, HttpError> {
        // The handlers take the request (its body); the route borrows the path from a clone
        // of the URI, which shares its bytes with the request's (no copy).
        let uri = request.uri().clone();
        let route = router::route(request.method(), uri.path());
        match route {
            Ok(Route::Preflight) => {
                let mut response = preflight();
                self.access
                    .preflight(request.headers(), response.headers_mut());
                Ok(response)
            }
            Ok(Route::IpfsRead { rest }) => read::ipfs(self, &request, rest).await,
            Ok(Route::PubsubRead { rest }) => pubsub::read(&self.pubsub, &request, rest),
            // Writes, publishing and names are boxed: their futures are large, and the read
            // path's future (moved on every request) would otherwise be as large.
            Ok(Route::PubsubPublish { rest }) => {
                let (parts, body) = request.into_parts();
                Box::pin(pubsub::publish(&self.pubsub, &parts.headers, rest, body)).await
            }
            Ok(Route::IpfsPost) => {
                self.check_writable()?;
                Box::pin(write::post(self, request)).await
            }
            Ok(Route::IpfsPut { rest }) => {
                self.check_writable()?;
                Box::pin(write::put(self, request, rest)).await
            }
            Ok(Route::IpfsDelete { rest }) => {
                self.check_writable()?;
                Box::pin(write::delete(self, &request, rest)).await
            }
            Ok(
                route @ (Route::IpnsRead { .. }
                | Route::IpnsPost { .. }
                | Route::IpnsPut { .. }
                | Route::IpnsDelete { .. }
                | Route::RoutingIpnsGet { .. }
                | Route::RoutingIpnsPut { .. }),
            ) => Box::pin(ipns::handle(self, route, request)).await,
            Err(NoRoute::NotFound) => Err(HttpError::not_found(format!(
                "no such route: {} (content lives under /ipfs/<cid>)",
                uri.path()
            ))),
            Err(NoRoute::MethodNotAllowed { allow }) => Err(HttpError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("method {} is not allowed here", request.method()),
            )
            .with_header(header::ALLOW, HeaderValue::from_static(allow))),
        }
    }

    /// The answer for requests whose Host names a subdomain or DNSLink origin, or a redirect
    /// to one; `None` for the path gateway.
    async fn serve_by_host<B>(&self, request: &Request<B>) -> Result<Option<Response>, HttpError> {
        let head = origins::Head {
            method: request.method(),
            uri: request.uri(),
            headers: request.headers(),
        };
        let host = host::request_host(head.uri, head.headers);
        match self.hosts.classify(host) {
            host::HostKind::Path => Ok(None),
            // Other origins' futures are boxed, so that path-gateway requests do not carry
            // (and move) their size.
            host::HostKind::SubdomainParent { host } => {
                Box::pin(origins::redirect_to_subdomain(self, &head, host)).await
            }
            host::HostKind::Subdomain {
                namespace,
                root,
                gateway,
            } => {
                check_read_only(head.method)?;
                Box::pin(origins::serve_subdomain(
                    self, &head, namespace, root, gateway,
                ))
                .await
                .map(Some)
            }
            host::HostKind::MaybeDnsLink { name, host } => {
                let Some(names) = &self.names else {
                    return Ok(None);
                };
                // A blocked name is not even resolved (IPIP-383: names before resolving).
                if let Ok(segments) = path::segments(head.uri.path()) {
                    let segments: smallvec::SmallVec<[&str; 8]> =
                        segments.iter().map(|s| &**s).collect();
                    self.check_ipns(name, &segments)?;
                }
                // No DNSLink (or no answer): the path gateway serves it.
                let Ok(resolved) = Box::pin(names.resolve(name)).await else {
                    return Ok(None);
                };
                check_read_only(head.method)?;
                Box::pin(origins::serve_dnslink(self, &head, name, host, resolved))
                    .await
                    .map(Some)
            }
        }
    }

    /// What every response gets, whatever answered it: the error rendered (an HTML page
    /// for browsers), generated pages compressed as the client accepts (file bytes never
    /// are), no body for `HEAD` (headers, `Content-Length` included, stay as for GET), the
    /// concurrency slot held until the body is sent, and CORS headers.
    fn finish(
        &self,
        method: &Method,
        outcome: Result<Response, HttpError>,
        client: &Client,
        slot: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> Response {
        let mut response = match outcome {
            Ok(response) => response,
            Err(error) => match &client.page {
                Some(uri) => error.into_page(Some(&Looked {
                    path: uri.path(),
                    query: uri.query(),
                })),
                None => error.into_response(false),
            },
        };
        compress::apply(&mut response, client.accept_encoding.as_ref());
        if method == Method::HEAD {
            *response.body_mut() = Body::empty();
        }
        if let Some(slot) = slot {
            response.body_mut().hold(slot);
        }
        cors::apply(response.headers_mut());
        response
    }

    fn check_writable(&self) -> Result<(), HttpError> {
        if self.writable {
            Ok(())
        } else {
            Err(HttpError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "this gateway is read-only (start it with --writable to accept uploads)",
            )
            .with_header(
                header::ALLOW,
                HeaderValue::from_static("GET, HEAD, OPTIONS"),
            ))
        }
    }
}

/// What a request body must be for the gateway: hyper's `Incoming` on the wire, any body in
/// benches and tests.
pub trait RequestBody:
    http_body::Body<Data = bytes::Bytes, Error: std::fmt::Display> + Send + Unpin + 'static
{
}

/// What [`Gateway::begin`] hands to serving: the request's metrics record (metrics on) and
/// the memo's note of what to keep (memo on, an answer it may keep).
#[derive(Default)]
pub struct Begun {
    observed: Option<Observed>,
    pending: Option<Pending>,
}

impl<B> RequestBody for B where
    B: http_body::Body<Data = bytes::Bytes, Error: std::fmt::Display> + Send + Unpin + 'static
{
}

impl Handler for Gateway {
    /// Tunnels to a subdomain gateway host (or a subdomain of one) are served here: a client
    /// using the gateway as its HTTP proxy reaches the same content.
    fn serves_tunnel_to(&self, authority: &str) -> bool {
        matches!(
            self.hosts.classify(authority),
            host::HostKind::SubdomainParent { .. } | host::HostKind::Subdomain { .. }
        )
    }

    type Begun = Begun;

    fn begin(&self, request: &Request<Incoming>) -> Result<Response, Begun> {
        Gateway::begin(self, request)
    }

    async fn handle(&self, request: Request<Incoming>, begun: Begun) -> Response {
        self.serve_begun(request, begun).await
    }

    fn access_log(&self) -> Option<&Arc<AccessLog>> {
        self.access_log.as_ref()
    }
}

/// Content origins are read-only: `/ipfs` and `/ipns` are not mounted below them.
fn check_read_only(method: &Method) -> Result<(), HttpError> {
    if matches!(*method, Method::GET | Method::HEAD) {
        return Ok(());
    }
    Err(HttpError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed on a content origin (only GET and HEAD)"),
    )
    .with_header(
        header::ALLOW,
        HeaderValue::from_static("GET, HEAD, OPTIONS"),
    ))
}

/// 504 when a read's response has not started within the retrieval timeout (boxo's text).
fn retrieval_timed_out(limit: Duration) -> HttpError {
    HttpError::new(
        StatusCode::GATEWAY_TIMEOUT,
        format!(
            "Unable to retrieve content within timeout period ({} s)",
            limit.as_secs_f64()
        ),
    )
}

/// 504 when a read has not started within the maximum request duration (boxo answers the
/// expired request context with 504 too).
fn request_too_long(limit: Duration) -> HttpError {
    HttpError::new(
        StatusCode::GATEWAY_TIMEOUT,
        format!(
            "Unable to serve the request within the maximum request duration ({} s)",
            limit.as_secs_f64()
        ),
    )
}

/// The operator's size limits ([`GatewayLimits`]).
#[derive(Debug, Clone, Copy, Default)]
struct SizeLimits {
    deserialized: Option<u64>,
    dag: Option<u64>,
}

/// 429 with `Retry-After` and `Cache-Control: no-store` (a cache must not keep it).
fn too_many_requests() -> HttpError {
    HttpError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!("Too many requests. Please retry after {RETRY_AFTER_SECONDS} seconds."),
    )
    .with_header(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS))
    .with_header(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
}

fn preflight() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// What [`Gateway::finish`] needs of the request once its handler has taken it.
struct Client {
    /// The request's URI when the client's Accept asks for HTML (a browser): its error page
    /// names the path and links around it.
    page: Option<http::Uri>,
    /// The client's `Accept-Encoding`, for generated pages.
    accept_encoding: Option<HeaderValue>,
}

impl Client {
    fn of<B>(request: &Request<B>) -> Self {
        Client {
            page: prefers_html(request).then(|| request.uri().clone()),
            accept_encoding: request.headers().get(header::ACCEPT_ENCODING).cloned(),
        }
    }
}

/// Whether the client's Accept header asks for HTML (browsers), for error bodies.
fn prefers_html<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use http_body_util::BodyExt;

    use super::*;
    use crate::services::testing::store_with;
    use crate::test_support::GatedSource;

    /// `multiblock.txt`: 1026 bytes in five raw leaves.
    const MULTIBLOCK: &str = "bafybeigcisqd7m5nf3qmuvjdbakl5bdnh4ocrmacaqkpuh77qjvggmt2sa";
    const LIMIT: Duration = Duration::from_millis(300);

    /// A gateway with a retrieval timeout over a source whose file leaves wait for permits.
    fn gateway_over_gated_leaves() -> (Gateway, Arc<Semaphore>, tempfile::TempDir) {
        let (dir, store) = store_with(&["trustless_gateway_car/subdir-with-mixed-block-files.car"]);
        let root: cid::Cid = MULTIBLOCK.parse().unwrap();
        let block = store.get(&root).unwrap().unwrap();
        let leaves: Vec<cid::Cid> = crate::ipld::dagpb::decode(&block)
            .unwrap()
            .links
            .iter()
            .map(|link| link.cid)
            .collect();
        let gated = GatedSource::new(Arc::clone(&store), leaves);
        let gate = gated.gate();
        let pins = Arc::new(Pinset::open(dir.path()).unwrap());
        let pubsub = Arc::new(crate::services::pubsub::LocalBus::new("12D3KooWTest"));
        let options = GatewayOptions {
            limits: GatewayLimits {
                retrieval_timeout: Some(LIMIT),
                ..Default::default()
            },
            ..Default::default()
        };
        let gateway =
            Gateway::new(store, pins, pubsub, options).with_source(Arc::new(gated) as SharedSource);
        (gateway, gate, dir)
    }

    fn get(path: &str) -> Request<http_body_util::Empty<bytes::Bytes>> {
        Request::get(path)
            .body(http_body_util::Empty::new())
            .unwrap()
    }

    #[tokio::test]
    async fn a_body_whose_source_stalls_is_cut_after_the_retrieval_timeout() {
        let (gateway, gate, _dir) = gateway_over_gated_leaves();
        // The name gives the type, so no byte is read before the response starts.
        let response = gateway
            .respond(get(&format!("/ipfs/{MULTIBLOCK}?filename=m.txt")))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let mut body = response.into_body();
        gate.add_permits(1);
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first.len(), 256);
        // The second leaf never comes: the body ends with an error, not a hang.
        let started = Instant::now();
        let error = body.frame().await.unwrap().unwrap_err();
        assert!(started.elapsed() >= LIMIT);
        assert!(started.elapsed() < LIMIT * 10);
        assert!(error.to_string().contains("retrieval timeout"), "{error}");
    }

    #[tokio::test]
    async fn a_body_keeps_going_while_blocks_keep_coming() {
        let (gateway, gate, _dir) = gateway_over_gated_leaves();
        let response = gateway
            .respond(get(&format!("/ipfs/{MULTIBLOCK}?filename=m.txt")))
            .await;
        let mut body = response.into_body();
        // Each block takes half the limit to come (the other half is the margin a loaded
        // machine needs), the whole file more than twice it; the body waits on the source all
        // along.
        let started = Instant::now();
        let releases = tokio::spawn(async move {
            for _ in 0..5 {
                tokio::time::sleep(LIMIT / 2).await;
                gate.add_permits(1);
            }
        });
        let mut total = 0;
        while let Some(frame) = body.frame().await {
            total += frame.unwrap().into_data().unwrap().len();
        }
        assert_eq!(total, 1026);
        assert!(started.elapsed() > LIMIT * 2);
        releases.await.unwrap();
    }

    /// A gateway with `limits` over a source whose `gated` blocks wait for permits.
    fn gateway_over(
        gated: Vec<cid::Cid>,
        limits: GatewayLimits,
    ) -> (Gateway, Arc<Semaphore>, tempfile::TempDir) {
        let (dir, store) = store_with(&["trustless_gateway_car/subdir-with-mixed-block-files.car"]);
        let gated = GatedSource::new(Arc::clone(&store), gated);
        let gate = gated.gate();
        let pins = Arc::new(Pinset::open(dir.path()).unwrap());
        let pubsub = Arc::new(crate::services::pubsub::LocalBus::new("12D3KooWTest"));
        let options = GatewayOptions {
            limits,
            ..Default::default()
        };
        let gateway =
            Gateway::new(store, pins, pubsub, options).with_source(Arc::new(gated) as SharedSource);
        (gateway, gate, dir)
    }

    fn multiblock_leaves() -> Vec<cid::Cid> {
        let (_dir, store) =
            store_with(&["trustless_gateway_car/subdir-with-mixed-block-files.car"]);
        let block = store.get(&MULTIBLOCK.parse().unwrap()).unwrap().unwrap();
        crate::ipld::dagpb::decode(&block)
            .unwrap()
            .links
            .iter()
            .map(|link| link.cid)
            .collect()
    }

    #[tokio::test]
    async fn a_body_still_streaming_at_the_maximum_request_duration_is_cut() {
        let limits = GatewayLimits {
            max_request_duration: Some(LIMIT),
            ..Default::default()
        };
        let (gateway, gate, _dir) = gateway_over(multiblock_leaves(), limits);
        let started = Instant::now();
        let response = gateway
            .respond(get(&format!("/ipfs/{MULTIBLOCK}?filename=m.txt")))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let mut body = response.into_body();
        // Blocks keep coming, each well within any stall limit, but the whole takes longer
        // than the request may.
        let releases = tokio::spawn(async move {
            for _ in 0..5 {
                gate.add_permits(1);
                tokio::time::sleep(LIMIT / 3).await;
            }
        });
        let mut total = 0;
        let error = loop {
            match body.frame().await {
                Some(Ok(frame)) => total += frame.into_data().unwrap().len(),
                Some(Err(error)) => break error,
                None => panic!("the body ended whole ({total} bytes) past the deadline"),
            }
        };
        assert!(total < 1026, "{total}");
        assert!(started.elapsed() >= LIMIT);
        assert!(started.elapsed() < LIMIT * 3);
        assert!(
            error.to_string().contains("maximum request duration"),
            "{error}"
        );
        releases.await.unwrap();
    }

    #[tokio::test]
    async fn a_read_not_started_by_the_maximum_request_duration_is_a_504() {
        let limits = GatewayLimits {
            max_request_duration: Some(LIMIT),
            ..Default::default()
        };
        let (gateway, _gate, _dir) = gateway_over(multiblock_leaves(), limits);
        let started = Instant::now();
        // Without a name the type is sniffed from the first leaf, which never comes.
        let response = gateway.respond(get(&format!("/ipfs/{MULTIBLOCK}"))).await;
        assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
        assert!(started.elapsed() < LIMIT * 3);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(
            String::from_utf8_lossy(&body).contains("maximum request duration"),
            "{body:?}"
        );
    }

    #[tokio::test]
    async fn the_empty_identity_probe_needs_no_block_source() {
        // The source could never give the empty block: the probe is answered without it.
        let empty: cid::Cid = "bafkqaaa".parse().unwrap();
        let limits = GatewayLimits {
            retrieval_timeout: Some(LIMIT),
            ..Default::default()
        };
        let (gateway, _gate, _dir) = gateway_over(vec![empty], limits);
        for method in [Method::GET, Method::HEAD] {
            let request = Request::builder()
                .method(method.clone())
                .uri("/ipfs/bafkqaaa?format=raw")
                .body(http_body_util::Empty::<bytes::Bytes>::new())
                .unwrap();
            let response = gateway.respond(request).await;
            assert_eq!(response.status(), StatusCode::OK, "{method}");
            assert_eq!(
                response.headers()[header::CONTENT_TYPE],
                "application/vnd.ipld.raw"
            );
            assert_eq!(response.headers()[header::CONTENT_LENGTH], "0");
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert!(body.is_empty());
        }
        // Anything else about that CID still goes to the source (and times out here).
        let response = gateway.respond(get("/ipfs/bafkqaaa")).await;
        assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    }

    #[tokio::test]
    async fn retrieval_timeouts_are_counted_as_boxo_counts_them() {
        let (gateway, gate, _dir) = gateway_over_gated_leaves();
        let metrics = Arc::new(GatewayMetrics::default());
        let gateway = gateway.with_metrics(Arc::clone(&metrics));
        // A response that cannot start: a 504, not truncated.
        let response = gateway.respond(get(&format!("/ipfs/{MULTIBLOCK}"))).await;
        assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
        drop(response);
        assert_eq!(metrics.retrieval_timeouts(504, false), 1);
        assert_eq!(metrics.responses(504), 1);
        // A body cut after a stall: its 200 is counted, and a truncated timeout with it.
        let response = gateway
            .respond(get(&format!("/ipfs/{MULTIBLOCK}?filename=m.txt")))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let mut body = response.into_body();
        gate.add_permits(1);
        body.frame().await.unwrap().unwrap();
        body.frame().await.unwrap().unwrap_err();
        assert_eq!(metrics.retrieval_timeouts(200, true), 0);
        drop(body);
        assert_eq!(metrics.retrieval_timeouts(200, true), 1);
        assert_eq!(metrics.retrieval_timeouts(504, false), 1);
        assert_eq!(metrics.responses(200), 1);
    }

    #[tokio::test]
    async fn a_response_that_cannot_start_in_time_is_a_504() {
        let (gateway, _gate, _dir) = gateway_over_gated_leaves();
        // Without a name the type is sniffed from the first leaf, which never comes.
        let response = gateway.respond(get(&format!("/ipfs/{MULTIBLOCK}"))).await;
        assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    }
}
