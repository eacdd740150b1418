//! The server loop: accepts connections on a listener and serves HTTP/1.1 (keep-alive) and
//! HTTP/2 over cleartext (h2c, prior knowledge) on each, through hyper-util's auto builder.
//! Limits on the request head live here (hyper answers 431 past the header buffer and 414 for
//! an overlong URI); graceful shutdown stops accepting and lets in-flight responses finish
//! within a bounded wait.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{header, HeaderValue, Method, Request, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::access_log::{AccessLog, Logged};
use super::workers::ConnectionWorkers;
use super::Response;
use crate::services::retrieval::Provenance;

/// Bytes read and written on one listener's connections (for bandwidth reporting).
#[derive(Debug, Default)]
pub struct ByteCounters {
    pub read: std::sync::atomic::AtomicU64,
    pub written: std::sync::atomic::AtomicU64,
}

/// A connection that counts the bytes going through it.
struct Counted<T> {
    inner: T,
    counters: Arc<ByteCounters>,
}

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Counted<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        self.counters
            .read
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        poll
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let poll = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        if let std::task::Poll::Ready(Ok(n)) = &poll {
            self.counters
                .written
                .fetch_add(*n as u64, std::sync::atomic::Ordering::Relaxed);
        }
        poll
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let poll = std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let std::task::Poll::Ready(Ok(n)) = &poll {
            self.counters
                .written
                .fetch_add(*n as u64, std::sync::atomic::Ordering::Relaxed);
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
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// What serves requests on a listener.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: Request<Incoming>) -> impl Future<Output = Response> + Send;

    /// Whether `CONNECT <authority>` opens a tunnel that this server answers itself: HTTP/1.1
    /// spoken inside it reaches [`Handler::handle`] again, as a proxy client expects of a
    /// gateway used as its HTTP proxy (the gateway-conformance "proxy-gateway" spec). Nothing
    /// is ever forwarded elsewhere. Default: refuse every tunnel.
    fn serves_tunnel_to(&self, _authority: &str) -> bool {
        false
    }

    /// Where this listener's requests are logged, a line each (default: nowhere).
    fn access_log(&self) -> Option<&Arc<AccessLog>> {
        None
    }
}

/// [`Handler::handle`], and the request's access log line once its response is sent when
/// the handler keeps a log (its reads recorded for the line's source field).
async fn respond<H: Handler>(
    handler: &H,
    request: Request<Incoming>,
    client: SocketAddr,
) -> http::Response<Logged> {
    let Some(log) = handler.access_log() else {
        return handler.handle(request).await.map(Logged::off);
    };
    let pending = log.start(&request, client);
    let provenance = Arc::clone(pending.provenance());
    let response = Provenance::scope(provenance, handler.handle(request)).await;
    Logged::on(response, Arc::clone(log), pending)
}

/// Connection-level limits and timeouts.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Bytes of request head (request line and headers) buffered before answering 431.
    pub max_head_bytes: usize,
    /// Time allowed for a client to send a request head.
    pub head_timeout: Duration,
    /// How long shutdown waits for in-flight responses.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_head_bytes: 64 << 10,
            head_timeout: Duration::from_secs(30),
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
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .max_buf_size(limits.max_head_bytes.max(8192))
        .header_read_timeout(limits.head_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(limits.max_head_bytes as u32);
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait() => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let tunnel_shutdown = shutdown.clone();
        let counters = Arc::clone(&counters);
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let make = move |stream: tokio::net::TcpStream| {
            let local = stream.local_addr().ok();
            let service = service_fn(move |request: Request<Incoming>| {
                let handler = handler.clone();
                let shutdown = tunnel_shutdown.clone();
                async move {
                    if request.method() == Method::CONNECT {
                        let response = open_tunnel(handler, request, local, shutdown);
                        return Ok::<_, Infallible>(response.map(Logged::off));
                    }
                    Ok::<_, Infallible>(respond(&*handler, request, peer).await)
                }
            });
            let stream = Counted {
                inner: stream,
                counters,
            };
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            let connection = watcher.watch(connection);
            async move {
                if let Err(e) = connection.await {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
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
        _ = graceful.shutdown() => tracing::info!("all connections closed"),
        _ = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!("shutdown grace period over; closing remaining connections");
        }
    }
}

/// Answers `CONNECT`: 200 and, once hyper hands over the connection, HTTP/1.1 inside the
/// tunnel served by the same handler (RFC 9110 §9.3.6). Only tunnels to this listener's own
/// address or to hosts the handler serves are opened (405 otherwise): the gateway never
/// forwards anything, so it is not an open proxy.
fn open_tunnel<H: Handler>(
    handler: Arc<H>,
    request: Request<Incoming>,
    local: Option<SocketAddr>,
    mut shutdown: Shutdown,
) -> Response {
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
        let service = service_fn(move |request: Request<Incoming>| {
            let handler = handler.clone();
            async move { Ok::<_, Infallible>(handler.handle(request).await) }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .serve_connection(upgraded, service);
        tokio::pin!(connection);
        let ended = tokio::select! {
            ended = &mut connection => ended,
            _ = shutdown.wait() => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(e) = ended {
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
