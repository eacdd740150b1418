//! In-process HTTP(S) servers on 127.0.0.1 for the network layer's tests: each answers with a
//! closure, counts the requests it saw, and can send the bodies a misbehaving peer sends
//! (never ending, stalling, redirects).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use super::http_client::Endpoint;

/// What comes after a [`TestBody`]'s chunks.
enum Then {
    End,
    /// 64 KiB chunks of zeros for ever.
    Endless,
    /// This chunk again and again, for ever.
    Repeat(Bytes),
    /// Nothing more, never.
    Stall,
}

/// A response body from a test server.
pub struct TestBody {
    chunks: VecDeque<Bytes>,
    announced: Option<u64>,
    then: Then,
    /// Waited before each chunk.
    pace: Option<(Duration, Pin<Box<tokio::time::Sleep>>)>,
}

impl http_body::Body for TestBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some((interval, sleep)) = &mut this.pace {
            if !this.chunks.is_empty() {
                std::task::ready!(sleep.as_mut().poll(_cx));
                let next = tokio::time::Instant::now() + *interval;
                sleep.as_mut().reset(next);
            }
        }
        if let Some(chunk) = this.chunks.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        match this.then {
            Then::End => Poll::Ready(None),
            Then::Endless => {
                Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&[0u8; 64 << 10])))))
            }
            Then::Repeat(ref chunk) => Poll::Ready(Some(Ok(Frame::data(chunk.clone())))),
            // Never woken: the connection stays open with nothing more to read.
            Then::Stall => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty() && matches!(self.then, Then::End)
    }

    fn size_hint(&self) -> SizeHint {
        match self.announced {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

/// Response builders.
pub mod body {
    use super::*;
    use http::StatusCode;

    fn response(status: StatusCode, body: TestBody) -> Response<TestBody> {
        let mut response = Response::new(body);
        *response.status_mut() = status;
        response
    }

    /// `data` with a `Content-Length`.
    pub fn full(status: StatusCode, data: impl Into<Bytes>) -> Response<TestBody> {
        let data = data.into();
        response(
            status,
            TestBody {
                announced: Some(data.len() as u64),
                chunks: VecDeque::from([data]),
                then: Then::End,
                pace: None,
            },
        )
    }

    /// `data` with a `Content-Type`.
    pub fn typed(content_type: &str, data: impl Into<Bytes>) -> Response<TestBody> {
        let mut r = full(StatusCode::OK, data);
        r.headers_mut()
            .insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
        r
    }

    /// Chunked, one frame per item.
    pub fn chunks(chunks: Vec<Vec<u8>>) -> Response<TestBody> {
        response(
            StatusCode::OK,
            TestBody {
                chunks: chunks.into_iter().map(Bytes::from).collect(),
                announced: None,
                then: Then::End,
                pace: None,
            },
        )
    }

    /// Chunked, each chunk sent `interval` after the one before (the first at once).
    pub fn paced(chunks: Vec<Vec<u8>>, interval: Duration) -> Response<TestBody> {
        response(
            StatusCode::OK,
            TestBody {
                chunks: chunks.into_iter().map(Bytes::from).collect(),
                announced: None,
                then: Then::End,
                pace: Some((interval, Box::pin(tokio::time::sleep(Duration::ZERO)))),
            },
        )
    }

    /// Chunked and never ending.
    pub fn endless() -> Response<TestBody> {
        response(
            StatusCode::OK,
            TestBody {
                chunks: VecDeque::new(),
                announced: None,
                then: Then::Endless,
                pace: None,
            },
        )
    }

    /// `chunk` for ever, with a `Content-Type`.
    pub fn repeating(content_type: &str, chunk: &'static [u8]) -> Response<TestBody> {
        let mut r = response(
            StatusCode::OK,
            TestBody {
                chunks: VecDeque::new(),
                announced: None,
                then: Then::Repeat(Bytes::from_static(chunk)),
                pace: None,
            },
        );
        r.headers_mut()
            .insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
        r
    }

    /// `first`, then silence on an open connection.
    pub fn stalled(first: Vec<u8>) -> Response<TestBody> {
        response(
            StatusCode::OK,
            TestBody {
                chunks: VecDeque::from([Bytes::from(first)]),
                announced: None,
                then: Then::Stall,
                pace: None,
            },
        )
    }

    /// Chunked `chunks` with a `Content-Type`, then silence on an open connection if `stall`.
    pub fn typed_chunks(
        content_type: &str,
        chunks: Vec<Vec<u8>>,
        stall: bool,
    ) -> Response<TestBody> {
        let mut r = response(
            StatusCode::OK,
            TestBody {
                chunks: chunks.into_iter().map(Bytes::from).collect(),
                announced: None,
                then: if stall { Then::Stall } else { Then::End },
                pace: None,
            },
        );
        r.headers_mut()
            .insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
        r
    }

    /// `302 Found` to `location`.
    pub fn redirect(location: &str) -> Response<TestBody> {
        let mut r = full(StatusCode::FOUND, Bytes::new());
        r.headers_mut()
            .insert(http::header::LOCATION, location.parse().unwrap());
        r
    }
}

type Handler = Arc<
    dyn Fn(Request<Incoming>) -> Pin<Box<dyn Future<Output = Response<TestBody>> + Send>>
        + Send
        + Sync,
>;

/// A server answering every request with its handler, until dropped.
pub struct TestServer {
    addr: SocketAddr,
    tls: bool,
    hits: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// A plain HTTP server.
    pub async fn start<F, Fut>(handler: F) -> TestServer
    where
        F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<TestBody>> + Send + 'static,
    {
        Self::spawn(handler, None).await
    }

    /// An HTTPS server with the test certificate for `localhost` (`tests/fixtures/tls`).
    pub async fn start_tls<F, Fut>(handler: F) -> TestServer
    where
        F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<TestBody>> + Send + 'static,
    {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = vec![CertificateDer::from_pem_slice(LOCALHOST_CERT.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(LOCALHOST_KEY.as_bytes()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Self::spawn(
            handler,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        )
        .await
    }

    async fn spawn<F, Fut>(handler: F, tls: Option<tokio_rustls::TlsAcceptor>) -> TestServer
    where
        F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<TestBody>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let handler: Handler = Arc::new(move |request| Box::pin(handler(request)));
        let is_tls = tls.is_some();
        let task = {
            let hits = Arc::clone(&hits);
            let connections = Arc::clone(&connections);
            tokio::spawn(async move {
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let handler = Arc::clone(&handler);
                    let hits = Arc::clone(&hits);
                    let tls = tls.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            hits.fetch_add(1, Ordering::SeqCst);
                            let answer = handler(request);
                            async move { Ok::<_, Infallible>(answer.await) }
                        });
                        let builder =
                            hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                        match tls {
                            Some(acceptor) => {
                                if let Ok(stream) = acceptor.accept(tcp).await {
                                    let _ = builder
                                        .serve_connection(TokioIo::new(stream), service)
                                        .await;
                                }
                            }
                            None => {
                                let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                            }
                        }
                    });
                }
            })
        };
        TestServer {
            addr,
            tls: is_tls,
            hits,
            connections,
            task,
        }
    }

    /// The server's base URL (`https://localhost:…` for a TLS server, as its certificate
    /// names it).
    pub fn endpoint(&self) -> Endpoint {
        let text = if self.tls {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("http://{}", self.addr)
        };
        Endpoint::parse(&text).unwrap()
    }

    /// Requests answered (or being answered) so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Connections accepted so far (for TLS: handshakes begun).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The test certificate authority (`tests/fixtures/tls/ca.pem`).
pub const TEST_CA: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/tls/ca.pem"
));
const LOCALHOST_CERT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/tls/localhost.pem"
));
const LOCALHOST_KEY: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/tls/localhost.key"
));
