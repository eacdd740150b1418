//! The server loop: accepts connections on a listener and serves HTTP/1.1 (keep-alive) and
//! HTTP/2 over cleartext (h2c, prior knowledge) on each with hyper, the protocol told by the
//! connection's first bytes (read here, see below).
//! Limits on the request head live here (hyper answers 431 past the header buffer and 414 for
//! an overlong URI); graceful shutdown stops accepting and lets in-flight responses finish
//! within a bounded wait.
//!
//! What a hostile client cannot do here:
//! - **Hold a connection without speaking.** Before hyper sees a connection, this loop reads
//!   its first bytes itself, within the header timeout: enough to tell HTTP/1 from the HTTP/2
//!   client preface (RFC 9113 §3.4: the magic string and the header of the client's SETTINGS
//!   frame). A connection that sends nothing, or part of a preface, is closed when the timeout
//!   runs out. After that, a connection with no request in flight for the header timeout is
//!   closed gracefully (HTTP/2: GOAWAY, RFC 9113 §6.8), as Go's `http.Server.IdleTimeout`
//!   does: on HTTP/1 that bounds each request head, the idle time between kept-alive requests
//!   included, as hyper's header timeout would. (hyper's arms a timer for every request: an
//!   allocation and two timer-wheel updates, a tenth of the user time of a small GET. This
//!   one reads the clock once as each response ends; see [`Activity`].)
//! - **Exhaust descriptors into a busy loop.** At start the soft `RLIMIT_NOFILE` is raised to
//!   the hard limit (as Go's runtime does). When `accept` still fails for want of descriptors,
//!   the loop frees a descriptor it keeps in reserve, accepts the waiting connection and closes
//!   it at once (shedding it rather than leaving it queued), takes the reserve back, and logs
//!   one line per episode; existing connections keep being served.
//! - **Skip the `Host` rules.** HTTP/1.1 requests without exactly one valid `Host` get 400
//!   (RFC 9112 §3.2), through [`Handler::refuse`] so the API's own headers go with it.
//! - **Get an answer without the API's CORS headers.** hyper answers a head it cannot parse
//!   (400), an overlong URI (414) or an oversized head (431) itself; this loop adds the
//!   handler's CORS headers to those answers as they are written (see [`Conn`]).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures_util::future::Either;
use http::{header, HeaderValue, Method, Request, StatusCode, Version};
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::access_log::{AccessLog, Logged};
use super::workers::ConnectionWorkers;
use super::{HttpError, Response};
use crate::services::retrieval::Provenance;

/// Bytes read and written on one listener's connections (for bandwidth reporting). Every
/// read and write of every connection adds to them, so each thread adds to a shard of its
/// own, on a cache line of its own: one pair of counters shared by all made both cores
/// contend for one line on every request.
#[derive(Debug, Default)]
pub struct ByteCounters {
    shards: [CounterShard; COUNTER_SHARDS],
}

const COUNTER_SHARDS: usize = 16;

#[derive(Debug, Default)]
#[repr(align(128))]
struct CounterShard {
    read: std::sync::atomic::AtomicU64,
    written: std::sync::atomic::AtomicU64,
}

impl ByteCounters {
    /// This thread's shard: threads take shards in turn as they first count.
    fn shard(&self) -> &CounterShard {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        thread_local! {
            static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % COUNTER_SHARDS;
        }
        &self.shards[SHARD.with(|shard| *shard)]
    }

    pub fn add_read(&self, n: usize) {
        self.shard().read.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn add_written(&self, n: usize) {
        self.shard().written.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Bytes read so far.
    pub fn read(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.read.load(Ordering::Relaxed))
            .sum()
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.written.load(Ordering::Relaxed))
            .sum()
    }
}

/// A connection as hyper sees it: counts the bytes going through it, first hands back the
/// bytes the server loop read itself (the preface check), and adds the handler's CORS headers
/// to the error answers hyper writes on its own.
struct Conn<T> {
    inner: T,
    counters: Arc<ByteCounters>,
    /// Bytes read before hyper took the connection, returned by the first reads.
    prefix: Bytes,
    /// Set on HTTP/1 connections whose handler has headers for hyper's own answers.
    patch: Option<Patch>,
    /// A patched answer being written: the bytes, how many are written, and how many bytes of
    /// hyper's buffer it stands for (reported once all are written).
    patched: Option<(Vec<u8>, usize, usize)>,
}

/// What [`Conn`] adds to hyper's own answers, and when.
struct Patch {
    /// `name: value\r\n` lines (the handler's CORS headers).
    lines: Bytes,
    /// The connection's requests in flight: hyper answers on its own only between two
    /// responses (it reads the next head once the last response is out), so bytes written
    /// while one is in flight are never taken for one of its answers.
    activity: Arc<Activity>,
}

impl Patch {
    /// Whether `buf` is an answer hyper wrote on its own: 400, 414 or 431, exactly the head
    /// hyper builds for a request it could not read (`connection: close`, an empty body),
    /// without CORS headers, written while no response of the handler is in progress.
    fn applies_to(&self, buf: &[u8]) -> bool {
        const STATUSES: [&[u8]; 3] = [b"HTTP/1.1 400 ", b"HTTP/1.1 414 ", b"HTTP/1.1 431 "];
        buf.len() < 512
            && STATUSES.iter().any(|s| buf.starts_with(s))
            && buf.ends_with(b"\r\n\r\n")
            && memchr::memmem::find(buf, b"\r\nconnection: close\r\n").is_some()
            && memchr::memmem::find(buf, b"\r\ncontent-length: 0\r\n").is_some()
            && memchr::memmem::find(buf, b"access-control-").is_none()
            && self.activity.in_flight.load(Ordering::Acquire) == 0
    }

    /// `buf` with the lines inserted after its status line.
    fn apply(&self, buf: &[u8]) -> Vec<u8> {
        let line_end = memchr::memmem::find(buf, b"\r\n").map_or(0, |i| i + 2);
        let mut out = Vec::with_capacity(buf.len() + self.lines.len());
        out.extend_from_slice(&buf[..line_end]);
        out.extend_from_slice(&self.lines);
        out.extend_from_slice(&buf[line_end..]);
        out
    }
}

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Conn<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            let head = self.prefix.split_to(n);
            buf.put_slice(&head);
            return std::task::Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let poll = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            self.counters.add_read(n);
        }
        poll
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> Conn<T> {
    /// Writes what is left of a patched answer; `Ready(Ok(n))` with the length of hyper's
    /// buffer once all of it is out.
    fn poll_patched(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::task::Poll;
        while let Some((bytes, written, stands_for)) = &mut self.patched {
            if *written == bytes.len() {
                let n = *stands_for;
                self.patched = None;
                return Poll::Ready(Ok(n));
            }
            match std::pin::Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]) {
                Poll::Ready(Ok(0)) => {
                    self.patched = None;
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => {
                    *written += n;
                    self.counters.add_written(n);
                }
                Poll::Ready(Err(e)) => {
                    self.patched = None;
                    return Poll::Ready(Err(e));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(0))
    }

    /// Starts writing `buf` patched when it is one of hyper's own answers; `None` otherwise.
    fn poll_patch(
        &mut self,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Option<std::task::Poll<std::io::Result<usize>>> {
        if self.patched.is_none() {
            let patch = self.patch.as_ref().filter(|p| p.applies_to(buf))?;
            self.patched = Some((patch.apply(buf), 0, buf.len()));
        }
        Some(self.poll_patched(cx))
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Conn<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if let Some(poll) = self.poll_patch(cx, buf) {
            return poll;
        }
        let poll = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        if let std::task::Poll::Ready(Ok(n)) = &poll {
            self.counters.add_written(*n);
        }
        poll
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if let Some(first) = bufs.iter().find(|b| !b.is_empty()) {
            // A partial write of the first buffer is a valid answer to a vectored write.
            if let Some(poll) = self.poll_patch(cx, first) {
                return poll;
            }
        }
        let poll = std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let std::task::Poll::Ready(Ok(n)) = &poll {
            self.counters.add_written(*n);
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.patched.is_some() {
            std::task::ready!(self.poll_patched(cx))?;
        }
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.patched.is_some() {
            std::task::ready!(self.poll_patched(cx))?;
        }
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A response body that counts as its connection's request in flight until it is dropped
/// (sent or abandoned): see [`Activity`].
struct Tracked {
    body: Logged,
    _active: Active,
}

/// How busy a connection is: its requests in flight (from the request's head until its
/// response body is sent or dropped), and since when it has had none. What closes an idle
/// connection ([`drive`]) and what tells hyper's own answers from the handler's ([`Patch`]).
/// Only the connection's own thread touches it: the atomics are never contended.
struct Activity {
    opened: std::time::Instant,
    in_flight: std::sync::atomic::AtomicUsize,
    /// Milliseconds after `opened` when the last request in flight ended.
    idle_since_ms: std::sync::atomic::AtomicU64,
}

impl Activity {
    fn new() -> Arc<Activity> {
        Arc::new(Activity {
            opened: std::time::Instant::now(),
            in_flight: Default::default(),
            idle_since_ms: Default::default(),
        })
    }

    fn now_ms(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64
    }

    /// Returns once the connection has had no request in flight for `limit`.
    async fn idled(&self, limit: Duration) {
        loop {
            let wait = if self.in_flight.load(Ordering::Acquire) > 0 {
                limit
            } else {
                let idle = self
                    .now_ms()
                    .saturating_sub(self.idle_since_ms.load(Ordering::Acquire));
                match limit.checked_sub(Duration::from_millis(idle)) {
                    Some(left) if !left.is_zero() => left,
                    _ => return,
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// One request in flight on a connection.
struct Active(Arc<Activity>);

impl Active {
    fn start(activity: &Arc<Activity>) -> Active {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Active(Arc::clone(activity))
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        // The time first: a check that sees no request in flight then sees this end.
        self.0
            .idle_since_ms
            .store(self.0.now_ms(), Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A hyper connection that can be asked to close once the responses under way are out.
trait Closing: Future<Output = Result<(), hyper::Error>> {
    fn close_gracefully(self: std::pin::Pin<&mut Self>);
}

impl<I, S, B> Closing for http1::UpgradeableConnection<I, S>
where
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    S::Error: Into<super::body::BoxError>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    B: http_body::Body + 'static,
    B::Error: Into<super::body::BoxError>,
{
    fn close_gracefully(self: std::pin::Pin<&mut Self>) {
        // Closes at once when no request is in progress (a head half read included).
        self.graceful_shutdown();
    }
}

impl<I, S, B, E> Closing for http2::Connection<I, S, E>
where
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    S::Error: Into<super::body::BoxError>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: http_body::Body + 'static,
    B::Error: Into<super::body::BoxError>,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, B>,
{
    fn close_gracefully(self: std::pin::Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

/// Drives one connection to its end. It is asked to close gracefully (finishing the
/// responses under way) when the server shuts down, or once it has had no request in flight
/// for `idle_limit`.
async fn drive<C: Closing>(
    connection: C,
    mut shutdown: Shutdown,
    activity: Arc<Activity>,
    idle_limit: Duration,
) -> Result<(), hyper::Error> {
    let mut connection = std::pin::pin!(connection);
    // How long the graceful close may take: unbounded on shutdown (the server bounds it),
    // the idle limit again for an idle connection.
    let closing = async {
        tokio::select! {
            () = shutdown.wait() => None,
            () = activity.idled(idle_limit) => Some(idle_limit),
        }
    };
    let bound = tokio::select! {
        result = connection.as_mut() => return result,
        bound = closing => bound,
    };
    connection.as_mut().close_gracefully();
    match bound {
        None => connection.await,
        // An HTTP/2 close waits for the client to answer a PING after the first GOAWAY
        // (RFC 9113 §6.8); a client that never answers is dropped.
        Some(limit) => tokio::time::timeout(limit, connection)
            .await
            .unwrap_or(Ok(())),
    }
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = super::body::BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

fn tracked(response: http::Response<Logged>, active: Active) -> http::Response<Tracked> {
    response.map(|body| Tracked {
        body,
        _active: active,
    })
}

/// The address a request came from, in the extensions of the requests that may upload
/// (`POST`, `PUT`): an upload takes its client's share of the slots by it
/// ([`super::upload::UploadSlots`]). Other requests go without, to spare the hot path an
/// allocation.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// The IP address a request came from, where the server recorded it in its extensions
/// ([`ClientAddr`]).
pub fn client_ip(extensions: &http::Extensions) -> Option<std::net::IpAddr> {
    extensions.get::<ClientAddr>().map(|c| c.0.ip())
}

/// What serves requests on a listener, in two steps: [`Handler::begin`] at once as the
/// request arrives, then [`Handler::handle`] unless `begin` answered.
pub trait Handler: Send + Sync + 'static {
    /// What `begin` learnt of a request, for `handle` to go on from.
    type Begun: Default + Send + 'static;

    /// The request's whole answer when it needs no waiting (the gateway's replays), or what
    /// `handle` goes on from. An answer given here costs no future: none is made, moved or
    /// polled for it. Default: nothing is answered at once.
    fn begin(&self, _request: &Request<Incoming>) -> Result<Response, Self::Begun> {
        Err(Self::Begun::default())
    }

    fn handle(
        &self,
        request: Request<Incoming>,
        begun: Self::Begun,
    ) -> impl Future<Output = Response> + Send;

    /// Whether `CONNECT <authority>` opens a tunnel that this server answers itself: HTTP/1.1
    /// spoken inside it reaches [`Handler::handle`] again, as a proxy client expects of a
    /// gateway used as its HTTP proxy (the gateway-conformance "proxy-gateway" spec). Nothing
    /// is ever forwarded elsewhere. Default: refuse every tunnel.
    fn serves_tunnel_to(&self, _authority: &str) -> bool {
        false
    }

    /// The answer to a request the server refuses before the handler sees it (a bad `Host`),
    /// in the API's own shape and with its CORS headers. Default: the gateway's rendering.
    fn refuse(&self, error: HttpError) -> Response {
        error.into_response(false)
    }

    /// Where this listener's requests are logged, a line each (default: nowhere).
    fn access_log(&self) -> Option<&Arc<AccessLog>> {
        None
    }
}

/// How a request is answered: at once (a refusal, a tunnel, what [`Handler::begin`]
/// answered), or later by [`Handler::handle`].
enum Answer<H: Handler> {
    AtOnce(http::Response<Logged>),
    Later(Handled<H>),
}

/// A request [`Handler::begin`] did not answer, on its way to [`Handler::handle`]: what
/// `begin` learnt, and the start of its access log line when the handler keeps a log.
struct Handled<H: Handler> {
    request: Request<Incoming>,
    begun: H::Begun,
    logging: Option<LogLine>,
}

impl<H: Handler> Handled<H> {
    /// [`Handler::begin`]: its answer (logged if the handler keeps a log), or the request
    /// for [`Handled::finish`].
    fn begin(handler: &H, request: Request<Incoming>, client: SocketAddr) -> Answer<H> {
        let logging = handler
            .access_log()
            .map(|log| (Arc::clone(log), log.start(&request, client)));
        match (handler.begin(&request), logging) {
            (Ok(response), None) => Answer::AtOnce(response.map(Logged::off)),
            (Ok(response), Some((log, line))) => Answer::AtOnce(Logged::on(response, log, line)),
            (Err(begun), logging) => Answer::Later(Handled {
                request,
                begun,
                logging,
            }),
        }
    }

    /// [`Handler::handle`], its reads recorded for the log line's source field.
    async fn finish(self, handler: &H) -> http::Response<Logged> {
        let Handled {
            request,
            begun,
            logging,
        } = self;
        match logging {
            None => handler.handle(request, begun).await.map(Logged::off),
            Some((log, line)) => {
                let provenance = Arc::clone(line.provenance());
                let response = Provenance::scope(provenance, handler.handle(request, begun)).await;
                Logged::on(response, log, line)
            }
        }
    }
}

/// A request's access log, and its line begun.
type LogLine = (Arc<AccessLog>, super::access_log::Pending);

/// Connection-level limits and timeouts.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Bytes of request head (request line and headers) buffered before answering 431.
    pub max_head_bytes: usize,
    /// Time allowed for a client to send a request head, and for a new connection to send
    /// its first bytes.
    pub head_timeout: Duration,
    /// Longest a request body may stall between two pieces: the APIs' body readers answer
    /// 408 past it (see [`crate::http::upload`]).
    pub body_timeout: Duration,
    /// How long shutdown waits for in-flight responses.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_head_bytes: 64 << 10,
            head_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// A shutdown signal shared by every listener of one process.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// Fires a [`Shutdown`].
pub struct ShutdownTrigger(watch::Sender<bool>);

impl ShutdownTrigger {
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}

/// A linked trigger and signal.
pub fn shutdown_channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger(tx), Shutdown(rx))
}

impl Shutdown {
    /// Waits until the shutdown fires.
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|fired| *fired).await;
    }
}

/// Serves `handler` on `listener` until `shutdown` fires, then drains connections. Each
/// connection runs on one of `workers` for its whole life, or on the calling runtime when
/// there are none (benches, in-process tests).
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    limits: ServerLimits,
    counters: Arc<ByteCounters>,
    workers: Option<Arc<ConnectionWorkers>>,
    mut shutdown: Shutdown,
) {
    // No timer for HTTP/1: hyper's header timeout is replaced by the idle limit of `drive`.
    let mut http1 = http1::Builder::new();
    http1
        .keep_alive(true)
        .max_buf_size(limits.max_head_bytes.max(8192));
    let mut http2 = http2::Builder::new(TokioExecutor::new());
    http2
        .timer(TokioTimer::new())
        .max_header_list_size(limits.max_head_bytes as u32);
    let patch_lines = refusal_header_lines(&*handler);
    // Each connection holds a receiver until it ends: shutdown waits for none to be left.
    let (drain, _) = watch::channel(());
    let mut shedding = Shedding::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait() => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => {
                shedding.recovered();
                pair
            }
            Err(e) => {
                shedding.failed(&listener, e).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let conn_shutdown = shutdown.clone();
        let counters = Arc::clone(&counters);
        let http1 = http1.clone();
        let http2 = http2.clone();
        let draining = drain.subscribe();
        let head_timeout = limits.head_timeout;
        let max_head_bytes = limits.max_head_bytes;
        let patch_lines = patch_lines.clone();
        let make = move |mut stream: tokio::net::TcpStream| {
            async move {
                let local = stream.local_addr().ok();
                let mut waiting = conn_shutdown.clone();
                let preface = tokio::select! {
                    read = tokio::time::timeout(head_timeout, read_preface(&mut stream)) => read,
                    _ = waiting.wait() => return,
                };
                let prefix = match preface {
                    Ok(Ok(Some(prefix))) => prefix,
                    Ok(Ok(None)) => return, // closed without a byte
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "connection failed before a request");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "closed a connection that sent no request in time");
                        return;
                    }
                };
                counters.add_read(prefix.len());
                let is_http2 = prefix.starts_with(H2_PREFACE);
                let activity = Activity::new();
                // hyper's own answers exist on HTTP/1 only.
                let patch = (!is_http2 && !patch_lines.is_empty()).then(|| Patch {
                    lines: patch_lines,
                    activity: Arc::clone(&activity),
                });
                let service_activity = Arc::clone(&activity);
                let connection_shutdown = conn_shutdown.clone();
                let handler = Arc::new(handler);
                let service = service_fn(move |mut request: Request<Incoming>| {
                    if matches!(*request.method(), Method::POST | Method::PUT) {
                        request.extensions_mut().insert(ClientAddr(peer));
                    }
                    let active = Active::start(&service_activity);
                    let checked =
                        check_head(&request, max_head_bytes).and_then(|()| check_host(&request));
                    let answer = match checked {
                        Err(error) => Answer::AtOnce(handler.refuse(error).map(Logged::off)),
                        Ok(()) if request.method() == Method::CONNECT => {
                            // The shutdown signal (shared by all) is cloned only for a
                            // tunnel, which outlives its request.
                            let tunnel = Tunnel {
                                local,
                                shutdown: conn_shutdown.clone(),
                                activity: Arc::clone(&service_activity),
                                idle_limit: head_timeout,
                            };
                            let opened = open_tunnel(Arc::clone(&*handler), request, tunnel);
                            Answer::AtOnce(opened.map(Logged::off))
                        }
                        Ok(()) => Handled::begin(&**handler, request, peer),
                    };
                    match answer {
                        Answer::AtOnce(response) => {
                            Either::Left(std::future::ready(Ok(tracked(response, active))))
                        }
                        Answer::Later(handled) => {
                            // Each request's future owns a reference to the handler. A
                            // clone of the `Arc` every connection shares would bump one
                            // count from both cores on every request (a contended cache
                            // line); this `Arc` is the connection's own, so only its
                            // thread touches its count.
                            let handler = Arc::clone(&handler);
                            // Boxed: the answers given at once (most, under load) move
                            // no room for serving's through hyper.
                            Either::Right(Box::pin(async move {
                                let response = handled.finish(&**handler).await;
                                Ok::<_, Infallible>(tracked(response, active))
                            }))
                        }
                    }
                });
                let stream = Conn {
                    inner: stream,
                    counters,
                    prefix,
                    patch,
                    patched: None,
                };
                let io = TokioIo::new(stream);
                let ended = if is_http2 {
                    let connection = http2.serve_connection(io, service);
                    drive(connection, connection_shutdown, activity, head_timeout).await
                } else {
                    let connection = http1.serve_connection(io, service).with_upgrades();
                    drive(connection, connection_shutdown, activity, head_timeout).await
                };
                if let Err(e) = ended {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                drop(draining);
            }
        };
        match &workers {
            Some(workers) => workers.run(stream, make),
            None => {
                tokio::spawn(make(stream));
            }
        }
    }
    drop(listener);
    tokio::select! {
        () = drain.closed() => tracing::info!("all connections closed"),
        _ = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!("shutdown grace period over; closing remaining connections");
        }
    }
}

/// The HTTP/2 client connection preface's magic string (RFC 9113 §3.4).
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The preface and the header of the SETTINGS frame that must follow it.
const H2_PREFACE_AND_SETTINGS_HEADER: usize = H2_PREFACE.len() + 9;

/// Reads a new connection's first bytes: up to the first byte that is not the HTTP/2 preface
/// (an HTTP/1 request), or the whole preface and the header of the client's SETTINGS frame.
/// `None` when the client closed without sending anything. The caller bounds the wait.
async fn read_preface(stream: &mut tokio::net::TcpStream) -> std::io::Result<Option<Bytes>> {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; H2_PREFACE_AND_SETTINGS_HEADER];
    let mut filled = 0;
    loop {
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            // Closed: hand hyper what came (it answers a partial request head itself).
            return Ok((filled > 0).then(|| Bytes::copy_from_slice(&buf[..filled])));
        }
        filled += n;
        let magic = filled.min(H2_PREFACE.len());
        if buf[..magic] != H2_PREFACE[..magic] || filled == buf.len() {
            return Ok(Some(Bytes::copy_from_slice(&buf[..filled])));
        }
    }
}

/// Refuses a request head over `max` bytes (431). hyper's buffer limit catches most, but not a
/// head that arrives in one read on a connection whose buffer has grown: this is the limit.
fn check_head<B>(request: &Request<B>, max: usize) -> Result<(), HttpError> {
    // Request line: method, target, version and the separators.
    let uri = request.uri();
    let target = uri.path_and_query().map_or(1, |pq| pq.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len() + 8);
    let mut size = request.method().as_str().len() + target + 12;
    for (name, value) in request.headers() {
        size += name.as_str().len() + value.len() + 4;
    }
    if size > max {
        return Err(HttpError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("the request head is larger than {max} bytes"),
        )
        .with_header(header::CONNECTION, HeaderValue::from_static("close")));
    }
    Ok(())
}

/// RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
/// request message that lacks a Host header field and to any request message that contains
/// more than one Host header field line or a Host header field with an invalid field value."
/// (HTTP/2 carries the authority in `:authority`; its requests are not checked here.) `CONNECT`
/// names its authority in the target and may omit `Host`, as Go's server allows.
fn check_host<B>(request: &Request<B>) -> Result<(), HttpError> {
    if !matches!(request.version(), Version::HTTP_10 | Version::HTTP_11) {
        return Ok(());
    }
    let mut hosts = request.headers().get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) => {
            if request.version() == Version::HTTP_11 && request.method() != Method::CONNECT {
                return Err(HttpError::bad_request(
                    "an HTTP/1.1 request needs a Host header (RFC 9112 §3.2)",
                ));
            }
            Ok(())
        }
        (Some(_), Some(_)) => Err(HttpError::bad_request(
            "a request may carry only one Host header (RFC 9112 §3.2)",
        )),
        (Some(host), None) if valid_host(host.as_bytes()) => Ok(()),
        (Some(_), None) => Err(HttpError::bad_request(
            "the Host header is not a valid host[:port] (RFC 9112 §3.2)",
        )),
    }
}

/// Whether `host` may be a Host value: RFC 3986 `host [ ":" port ]` characters (reg-name,
/// IPv4, bracketed IPv6), the set Go's `httpguts.ValidHostHeader` accepts. Empty is valid (a
/// target without an authority).
fn valid_host(host: &[u8]) -> bool {
    host.iter().all(|&b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b'-'
                    | b'.'
                    | b':'
                    | b';'
                    | b'='
                    | b'['
                    | b']'
                    | b'_'
                    | b'~'
            )
    })
}

/// The CORS headers the handler puts on its refusals, as `name: value\r\n` lines: what
/// [`Conn`] adds to hyper's own answers.
fn refusal_header_lines<H: Handler>(handler: &H) -> Bytes {
    let sample = handler.refuse(HttpError::new(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "",
    ));
    let mut lines = Vec::new();
    for (name, value) in sample.headers() {
        if name.as_str().starts_with("access-control-") {
            lines.extend_from_slice(name.as_str().as_bytes());
            lines.extend_from_slice(b": ");
            lines.extend_from_slice(value.as_bytes());
            lines.extend_from_slice(b"\r\n");
        }
    }
    Bytes::from(lines)
}

/// The accept loop's state when descriptors run out (see the module docs).
struct Shedding {
    /// A descriptor kept open to be closed when `accept` fails with `EMFILE`, so the waiting
    /// connection can be accepted and closed instead of staying queued (and the listener
    /// staying readable, which would spin the loop).
    reserve: Option<std::fs::File>,
    /// Connections shed in the current episode (`None`: not out of descriptors).
    shed: Option<u64>,
}

impl Shedding {
    fn new() -> Self {
        Shedding {
            reserve: Self::open_reserve(),
            shed: None,
        }
    }

    fn open_reserve() -> Option<std::fs::File> {
        std::fs::File::open("/dev/null").ok()
    }

    /// An accept succeeded: ends an episode, if one was under way.
    fn recovered(&mut self) {
        if let Some(shed) = self.shed.take() {
            tracing::warn!(
                shed,
                "file descriptors available again; accepting connections"
            );
        }
        if self.reserve.is_none() {
            self.reserve = Self::open_reserve();
        }
    }

    /// An accept failed with `error`.
    async fn failed(&mut self, listener: &TcpListener, error: std::io::Error) {
        let out_of_descriptors = matches!(
            error.raw_os_error(),
            Some(libc::EMFILE) | Some(libc::ENFILE)
        );
        if !out_of_descriptors {
            // ECONNABORTED and the like: the next connection may be fine.
            tracing::debug!(%error, "accept failed");
            if !matches!(
                error.kind(),
                std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset
            ) {
                // ENOBUFS, ENOMEM: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            return;
        }
        if self.shed.is_none() {
            tracing::warn!(
                %error,
                limit = ?descriptor_limit(),
                "out of file descriptors: shedding new connections (closed at once) until some \
                 close; connections already open keep being served"
            );
            self.shed = Some(0);
        }
        if self.reserve.take().is_some() {
            // The freed descriptor takes the waiting connection, which is closed at once.
            if let Ok(Ok((stream, _))) =
                tokio::time::timeout(Duration::from_millis(10), listener.accept()).await
            {
                drop(stream);
                if let Some(shed) = &mut self.shed {
                    *shed += 1;
                }
            }
            self.reserve = Self::open_reserve();
        }
        if self.reserve.is_none() {
            // Another thread took the freed descriptor: wait for some to close.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The process's descriptor limit (soft), if it can be read.
fn descriptor_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// Raises the soft limit on open descriptors to the hard limit, as Go's runtime does at
/// start: every connection holds one, and the distribution default (1,024 soft) is far below
/// what a node with thousands of connections needs. Returns the limit now in force.
pub fn raise_descriptor_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::debug!(error = %e, "could not raise the open-file limit");
        }
    }
    descriptor_limit()
}

/// What a `CONNECT` tunnel carries over from the connection it is opened on.
struct Tunnel {
    /// The listener's address, the one authority always served.
    local: Option<SocketAddr>,
    shutdown: Shutdown,
    /// The connection's: the tunnel's requests are written through it too.
    activity: Arc<Activity>,
    idle_limit: Duration,
}

/// Answers `CONNECT`: 200 and, once hyper hands over the connection, HTTP/1.1 inside the
/// tunnel served by the same handler (RFC 9110 §9.3.6). Only tunnels to this listener's own
/// address or to hosts the handler serves are opened (405 otherwise): the gateway never
/// forwards anything, so it is not an open proxy.
fn open_tunnel<H: Handler>(
    handler: Arc<H>,
    request: Request<Incoming>,
    tunnel: Tunnel,
) -> Response {
    let Tunnel {
        local,
        shutdown,
        activity,
        idle_limit,
    } = tunnel;
    let authority = request
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default();
    let to_this_listener = local.is_some_and(|local| authority.parse() == Ok(local));
    if !to_this_listener && !handler.serves_tunnel_to(&authority) {
        let mut refused = Response::new(super::Body::from(
            "CONNECT is only answered for hosts this gateway serves\n",
        ));
        *refused.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        refused.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, OPTIONS"),
        );
        return refused;
    }
    tokio::spawn(async move {
        let upgraded = match hyper::upgrade::on(request).await {
            Ok(upgraded) => upgraded,
            Err(e) => {
                tracing::debug!(error = %e, "CONNECT tunnel was not established");
                return;
            }
        };
        // The tunnel's requests are written through the same connection: they count as its
        // requests in flight.
        let service_activity = Arc::clone(&activity);
        let service = service_fn(move |request: Request<Incoming>| {
            let handler = handler.clone();
            let active = Active::start(&service_activity);
            async move {
                let response = match check_host(&request) {
                    Err(error) => handler.refuse(error),
                    Ok(()) => match handler.begin(&request) {
                        Ok(answered) => answered,
                        Err(begun) => handler.handle(request, begun).await,
                    },
                }
                .map(Logged::off);
                Ok::<_, Infallible>(tracked(response, active))
            }
        });
        let connection = http1::Builder::new()
            .serve_connection(upgraded, service)
            .with_upgrades();
        if let Err(e) = drive(connection, shutdown, activity, idle_limit).await {
            tracing::debug!(error = %e, "CONNECT tunnel ended with an error");
        }
    });
    Response::new(super::Body::empty())
}

/// Binds a listener, with a message naming the address on failure.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))
}
