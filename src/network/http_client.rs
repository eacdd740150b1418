//! The one HTTP client the network layer fetches with (remote gateways, delegated routing):
//! hyper's pooled client over plain TCP or rustls, with the rules every fetch from another
//! node needs in one place.
//!
//! - **No redirects.** hyper's client never follows them; callers treat a 3xx as a failed
//!   answer. A trustless backend that redirects is misconfigured, and following it would let
//!   any backend send cairn to an address nobody configured.
//! - **Bounded bodies.** [`BodyStream`] counts what it reads and fails past its limit (at once
//!   when `Content-Length` announces more); nothing is buffered beyond what the caller keeps.
//! - **Time limits.** Connects are bounded here; callers bound each exchange (a block fetch
//!   as a whole, a stream by the wait for its next bytes) with the helpers below.
//! - **TLS.** `https://` goes through rustls with its `aws-lc-rs` provider (post-quantum
//!   hybrid key exchange preferred) and Mozilla's root certificates (`webpki-roots`), plus any
//!   extra roots configured; HTTP/2 is negotiated by ALPN where the server offers it, so many
//!   block requests to one backend share a connection.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{header, Request, Response, Uri};
use http_body::Body as _;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::time::{Instant, Sleep};

/// What cairn says it is to the servers it fetches from.
pub const USER_AGENT: &str = concat!("cairn/", env!("CARGO_PKG_VERSION"));

/// The base URL of a server: `http(s)://host[:port][/prefix]`, without query or fragment.
/// Request paths are appended to the prefix, so a backend mounted under a path works.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    scheme: Scheme,
    authority: Authority,
    /// Empty, or `/…` without a trailing slash.
    prefix: String,
}

impl Endpoint {
    /// Parses a base URL. Only `http` and `https` are accepted; a query, fragment or user
    /// info is refused rather than silently dropped.
    pub fn parse(text: &str) -> Result<Endpoint, EndpointError> {
        let bad = |why: &str| EndpointError(format!("{text:?}: {why}"));
        if text.contains('#') {
            return Err(bad("a fragment has no place in a base URL"));
        }
        let uri: Uri = text.parse().map_err(|e| bad(&format!("{e}")))?;
        let scheme = uri
            .scheme()
            .cloned()
            .ok_or_else(|| bad("no scheme (http:// or https://)"))?;
        if scheme != Scheme::HTTP && scheme != Scheme::HTTPS {
            return Err(bad("only http:// and https:// are supported"));
        }
        let authority = uri.authority().cloned().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("user info in the URL is not supported"));
        }
        if authority.host().is_empty() {
            return Err(bad("no host"));
        }
        if uri.query().is_some() {
            return Err(bad("a query has no place in a base URL"));
        }
        let prefix = uri.path().trim_end_matches('/').to_string();
        Ok(Endpoint {
            scheme,
            authority,
            prefix,
        })
    }

    /// This endpoint with `suffix` removed from the end of its path, if it ends so (routing
    /// URLs are configured both with and without their `/routing/v1`).
    pub(crate) fn without_suffix(mut self, suffix: &str) -> Endpoint {
        if let Some(rest) = self.prefix.strip_suffix(suffix) {
            self.prefix = rest.to_string();
        }
        self
    }

    /// The URI of `path_and_query` (starting with `/`) under this endpoint.
    pub fn uri(&self, path_and_query: &str) -> Result<Uri, EndpointError> {
        let full = format!("{}{path_and_query}", self.prefix);
        let pq = PathAndQuery::from_str(&full)
            .map_err(|e| EndpointError(format!("{full:?} is not a valid request path: {e}")))?;
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(pq)
            .build()
            .map_err(|e| EndpointError(e.to_string()))
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.prefix)
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({self})")
    }
}

impl FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Endpoint::parse(text)
    }
}

/// A base URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid endpoint URL {0}")]
pub struct EndpointError(String);

/// Why an HTTP exchange gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No answer (or no next bytes of one) within the time allowed.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The connection could not be made or broke: refused, reset, DNS, TLS.
    #[error("{0}")]
    Transport(String),
    /// The body is (or announced to be) longer than the caller accepts.
    #[error("body over the {limit}-byte limit")]
    TooLarge { limit: u64 },
}

impl RequestError {
    fn transport(e: &(dyn std::error::Error + 'static)) -> Self {
        // hyper's errors say little at the top ("client error (Connect)"); the cause chain
        // says what happened (connection refused, an invalid certificate).
        let mut text = e.to_string();
        let mut source = e.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        RequestError::Transport(text)
    }
}

/// Settings of an [`HttpClient`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Longest wait for a TCP connection (TLS handshakes count against the request's own
    /// time limit).
    pub connect_timeout: Duration,
    /// How long an unused pooled connection is kept.
    pub pool_idle_timeout: Duration,
    /// Idle connections kept per host. An edge gateway has as many requests to its backend
    /// in flight as its clients make, and each 64 MiB file read keeps 32 block requests
    /// going: with too few kept, every burst opens (and leaves in TIME_WAIT) new connections.
    pub pool_max_idle_per_host: usize,
    /// Certificates (DER) trusted for `https://` besides Mozilla's roots: for servers behind
    /// a private certificate authority (see [`certificates_from_pem`]).
    pub extra_roots: Vec<Vec<u8>>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_host: 256,
            extra_roots: Vec::new(),
        }
    }
}

/// A client that cannot be set up: a certificate that does not parse, no usable TLS
/// protocol versions, nothing to connect to.
#[derive(Debug, thiserror::Error)]
#[error("HTTP client setup failed: {0}")]
pub struct ClientError(String);

impl ClientError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        ClientError(message.into())
    }
}

/// The DER certificates in PEM text (`-----BEGIN CERTIFICATE-----` sections; anything else is
/// skipped), for [`ClientOptions::extra_roots`].
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<Vec<u8>>, ClientError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut out = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| ClientError(format!("PEM certificate: {e}")))?;
        out.push(cert.to_vec());
    }
    if out.is_empty() {
        return Err(ClientError("no certificate in the PEM text".into()));
    }
    Ok(out)
}

/// rustls' client settings: the `aws-lc-rs` provider, its safe protocol versions, Mozilla's
/// roots and the extra ones. The provider is named rather than taken from the process default,
/// which is ambiguous (and panics) when other crates enable a second one.
fn tls_config(extra_roots: &[Vec<u8>]) -> Result<rustls::ClientConfig, ClientError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for der in extra_roots {
        roots
            .add(rustls::pki_types::CertificateDer::from(der.clone()))
            .map_err(|e| ClientError(format!("extra root certificate: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Largest read buffer of one HTTP/1 connection (hyper's minimum is 8 KiB).
const HTTP1_READ_BUFFER: usize = 64 << 10;

/// A pooled HTTP/1.1 and HTTP/2 client for body-less requests (GET, HEAD) and small bodies
/// sent whole (a `PUT` of an IPNS record). Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HttpClient {
    pub fn new(options: &ClientOptions) -> Result<HttpClient, ClientError> {
        let mut tcp = HttpConnector::new();
        // The TLS wrapper handles https:// itself; plain TCP must accept both schemes.
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(options.connect_timeout));
        tcp.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(&options.extra_roots)?)
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(options.pool_idle_timeout)
            .pool_max_idle_per_host(options.pool_max_idle_per_host)
            // hyper's read buffer grows to ~400 KiB per connection by default; with hundreds
            // of pooled connections that is memory held for nothing. Bodies stream through.
            .http1_max_buf_size(HTTP1_READ_BUFFER)
            .build(connector);
        Ok(HttpClient { client })
    }

    /// A request for `uri` with cairn's `User-Agent` and the given `Accept`.
    pub fn request(method: http::Method, uri: Uri, accept: &str) -> Request<Full<Bytes>> {
        Self::request_with_body(method, uri, accept, Bytes::new())
    }

    /// A request as [`HttpClient::request`] makes it, carrying `body` (an empty body sends no
    /// `Content-Length` on a GET).
    pub fn request_with_body(
        method: http::Method,
        uri: Uri,
        accept: &str,
        body: Bytes,
    ) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.insert(
            header::USER_AGENT,
            header::HeaderValue::from_static(USER_AGENT),
        );
        if let Ok(accept) = header::HeaderValue::from_str(accept) {
            headers.insert(header::ACCEPT, accept);
        }
        request
    }

    /// Sends `request` and waits for the response head until `deadline`. The body is left
    /// to the caller, who reads it through a [`BodyStream`]. Redirects come back as they are.
    pub async fn send(
        &self,
        request: Request<Full<Bytes>>,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Response<Incoming>, RequestError> {
        match tokio::time::timeout_at(deadline, self.client.request(request)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(RequestError::transport(&e)),
            Err(_) => Err(RequestError::Timeout(timeout)),
        }
    }
}

/// A response body read chunk by chunk, refused past `limit` bytes and when the server sends
/// nothing for `idle` while it is being waited on. Time the reader spends elsewhere between
/// chunks does not count: a slow consumer is not the server's fault.
pub struct BodyStream {
    body: Incoming,
    read: u64,
    limit: u64,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
    /// The reader is waiting for the server (the timer runs).
    waiting: bool,
    ended: bool,
}

impl BodyStream {
    /// Starts reading `response`'s body. A `Content-Length` over `limit` fails here, before
    /// any byte is read.
    pub fn new(
        response: Response<Incoming>,
        limit: u64,
        idle: Duration,
    ) -> Result<Self, RequestError> {
        if let Some(length) = response.body().size_hint().exact() {
            if length > limit {
                return Err(RequestError::TooLarge { limit });
            }
        }
        Ok(BodyStream {
            body: response.into_body(),
            read: 0,
            limit,
            idle,
            timer: Box::pin(tokio::time::sleep(idle)),
            waiting: false,
            ended: false,
        })
    }

    /// Bytes read so far.
    pub fn read(&self) -> u64 {
        self.read
    }

    /// The next chunk of data; `None` at the end of the body.
    pub fn poll_chunk(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, RequestError>>> {
        loop {
            if self.ended {
                return Poll::Ready(None);
            }
            match Pin::new(&mut self.body).poll_frame(cx) {
                Poll::Pending => {
                    if !self.waiting {
                        self.waiting = true;
                        self.timer.as_mut().reset(Instant::now() + self.idle);
                    }
                    ready!(self.timer.as_mut().poll(cx));
                    self.ended = true;
                    return Poll::Ready(Some(Err(RequestError::Timeout(self.idle))));
                }
                Poll::Ready(None) => {
                    self.ended = true;
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(e))) => {
                    self.ended = true;
                    return Poll::Ready(Some(Err(RequestError::transport(&e))));
                }
                Poll::Ready(Some(Ok(frame))) => {
                    self.waiting = false;
                    // Trailers carry nothing cairn uses.
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    self.read += data.len() as u64;
                    if self.read > self.limit {
                        self.ended = true;
                        return Poll::Ready(Some(Err(RequestError::TooLarge {
                            limit: self.limit,
                        })));
                    }
                    if data.is_empty() {
                        continue;
                    }
                    return Poll::Ready(Some(Ok(data)));
                }
            }
        }
    }

    /// [`poll_chunk`](Self::poll_chunk) as a future.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, RequestError>> {
        poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// The whole rest of the body (at most `limit` bytes in all). One chunk is returned as it
    /// came, without a copy.
    pub async fn collect(mut self) -> Result<Bytes, RequestError> {
        let Some(first) = self.chunk().await.transpose()? else {
            return Ok(Bytes::new());
        };
        let Some(second) = self.chunk().await.transpose()? else {
            return Ok(first);
        };
        // The hint is what is left to read: the buffer gets the whole body's size at once, so
        // it is never regrown (a regrown buffer keeps up to twice a block's bytes alive in
        // whatever caches the block).
        let rest = self.body.size_hint().exact().unwrap_or(0);
        let total = (first.len() + second.len()) as u64 + rest;
        let mut all = BytesMut::with_capacity(total.min(self.limit) as usize);
        all.extend_from_slice(&first);
        all.extend_from_slice(&second);
        while let Some(chunk) = self.chunk().await.transpose()? {
            all.extend_from_slice(&chunk);
        }
        Ok(all.freeze())
    }
}

impl fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyStream")
            .field("read", &self.read)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::test_server::{body, TestServer};
    use http::StatusCode;

    #[test]
    fn endpoints_parse_and_join() {
        let e = Endpoint::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(e.to_string(), "http://127.0.0.1:8080");
        assert_eq!(
            e.uri("/ipfs/x?format=raw").unwrap().to_string(),
            "http://127.0.0.1:8080/ipfs/x?format=raw"
        );
        let e = Endpoint::parse("https://example.org/mount/").unwrap();
        assert_eq!(
            e.uri("/ipfs/x").unwrap().to_string(),
            "https://example.org/mount/ipfs/x"
        );
        let e = Endpoint::parse("https://r.example/routing/v1")
            .unwrap()
            .without_suffix("/routing/v1");
        assert_eq!(e.to_string(), "https://r.example");
        for bad in [
            "",
            "127.0.0.1:8080",
            "ftp://example.org",
            "http://",
            "http://user:pw@example.org",
            "http://example.org/?a=b",
            "http://example.org/#x",
            "/ipfs",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    async fn get(server: &TestServer, path: &str) -> Response<Incoming> {
        let client = HttpClient::new(&ClientOptions::default()).unwrap();
        let uri = server.endpoint().uri(path).unwrap();
        let timeout = Duration::from_secs(5);
        client
            .send(
                HttpClient::request(http::Method::GET, uri, "*/*"),
                Instant::now() + timeout,
                timeout,
            )
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn bodies_are_read_up_to_their_limit() {
        let server = TestServer::start(|request| async move {
            match request.uri().path() {
                "/small" => body::full(StatusCode::OK, b"0123456789".to_vec()),
                "/announced" => body::full(StatusCode::OK, vec![7u8; 100]),
                "/endless" => body::endless(),
                "/chunks" => body::chunks(vec![b"ab".to_vec(), b"cd".to_vec(), b"ef".to_vec()]),
                _ => body::full(StatusCode::NOT_FOUND, Vec::new()),
            }
        })
        .await;
        let idle = Duration::from_secs(5);
        let small = BodyStream::new(get(&server, "/small").await, 10, idle).unwrap();
        assert_eq!(small.collect().await.unwrap(), &b"0123456789"[..]);
        // Announced too long: refused before reading.
        let err = BodyStream::new(get(&server, "/announced").await, 99, idle).unwrap_err();
        assert_eq!(err, RequestError::TooLarge { limit: 99 });
        // Never-ending and unannounced: refused once the limit is passed.
        let endless = BodyStream::new(get(&server, "/endless").await, 1 << 20, idle).unwrap();
        assert_eq!(
            endless.collect().await.unwrap_err(),
            RequestError::TooLarge { limit: 1 << 20 }
        );
        let chunks = BodyStream::new(get(&server, "/chunks").await, 6, idle).unwrap();
        assert_eq!(chunks.collect().await.unwrap(), &b"abcdef"[..]);
        let chunks = BodyStream::new(get(&server, "/chunks").await, 5, idle).unwrap();
        assert!(matches!(
            chunks.collect().await,
            Err(RequestError::TooLarge { .. })
        ));
    }

    #[tokio::test]
    async fn an_announced_body_is_collected_into_one_buffer_of_its_size() {
        const LEN: usize = 300_000;
        let server =
            TestServer::start(|_| async move { body::full(StatusCode::OK, vec![9u8; LEN]) }).await;
        let stream = BodyStream::new(get(&server, "/").await, 1 << 20, Duration::from_secs(5));
        let all = stream.unwrap().collect().await.unwrap();
        assert_eq!(all.len(), LEN);
        // A buffer regrown while reading would hold up to twice the block in a cache.
        match all.try_into_mut() {
            Ok(buffer) => assert_eq!(buffer.capacity(), LEN),
            Err(_) => panic!("a {LEN}-byte body should arrive in more than one chunk"),
        }
    }

    #[tokio::test]
    async fn a_stalled_body_times_out() {
        let server = TestServer::start(|_| async move { body::stalled(b"start".to_vec()) }).await;
        let mut stream =
            BodyStream::new(get(&server, "/").await, 1 << 20, Duration::from_millis(200)).unwrap();
        assert_eq!(stream.chunk().await.unwrap().unwrap(), &b"start"[..]);
        assert_eq!(
            stream.chunk().await.unwrap().unwrap_err(),
            RequestError::Timeout(Duration::from_millis(200))
        );
        assert!(stream.chunk().await.is_none());
    }

    /// The idle limit counts the server's silence while the reader waits, not the time the
    /// reader takes between chunks.
    #[tokio::test]
    async fn a_slow_reader_is_not_a_timeout() {
        let idle = Duration::from_millis(1000);
        let server = TestServer::start(|_| async move {
            body::paced(
                vec![b"one".to_vec(), b"two".to_vec()],
                Duration::from_millis(1500),
            )
        })
        .await;
        let mut stream = BodyStream::new(get(&server, "/").await, 100, idle).unwrap();
        assert_eq!(stream.chunk().await.unwrap().unwrap(), &b"one"[..]);
        // Busy elsewhere for longer than the idle limit; the server sends 300 ms after the
        // reader is back, within the limit counted from then.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(stream.chunk().await.unwrap().unwrap(), &b"two"[..]);
        assert!(stream.chunk().await.is_none());
    }

    #[tokio::test]
    async fn redirects_are_returned_not_followed() {
        let target =
            TestServer::start(|_| async move { body::full(StatusCode::OK, b"x".to_vec()) }).await;
        let location = target.endpoint().uri("/elsewhere").unwrap().to_string();
        let server = TestServer::start(move |_| {
            let location = location.clone();
            async move { body::redirect(&location) }
        })
        .await;
        let response = get(&server, "/").await;
        assert_eq!(response.status(), StatusCode::FOUND);
        assert_eq!(target.hits(), 0);
    }

    #[tokio::test]
    async fn refused_connections_are_transport_errors() {
        // Bind then drop: nothing listens on the port any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = HttpClient::new(&ClientOptions::default()).unwrap();
        let uri: Uri = format!("http://127.0.0.1:{port}/").parse().unwrap();
        let timeout = Duration::from_secs(5);
        let err = client
            .send(
                HttpClient::request(http::Method::GET, uri, "*/*"),
                Instant::now() + timeout,
                timeout,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, RequestError::Transport(_)), "{err}");
    }

    /// https:// speaks TLS and checks the certificate: one from an unknown authority is
    /// refused; trusting that authority (an extra root) makes the same request succeed.
    #[tokio::test]
    async fn https_checks_certificates() {
        use crate::network::test_server::TEST_CA;
        let server =
            TestServer::start_tls(
                |_| async move { body::full(StatusCode::OK, b"secret".to_vec()) },
            )
            .await;
        let uri = server.endpoint().uri("/").unwrap();
        assert_eq!(uri.scheme_str(), Some("https"));
        let timeout = Duration::from_secs(5);
        let send = |client: HttpClient| {
            let uri = uri.clone();
            async move {
                client
                    .send(
                        HttpClient::request(http::Method::GET, uri, "*/*"),
                        Instant::now() + timeout,
                        timeout,
                    )
                    .await
            }
        };
        let err = send(HttpClient::new(&ClientOptions::default()).unwrap())
            .await
            .unwrap_err();
        let RequestError::Transport(text) = &err else {
            panic!("{err:?}");
        };
        assert!(text.contains("certificate"), "{text}");
        assert_eq!(server.hits(), 0);
        assert!(server.connections() >= 1);

        let options = ClientOptions {
            extra_roots: certificates_from_pem(TEST_CA.as_bytes()).unwrap(),
            ..ClientOptions::default()
        };
        let response = send(HttpClient::new(&options).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        // ALPN chose HTTP/2.
        assert_eq!(response.version(), http::Version::HTTP_2);
        let data = BodyStream::new(response, 100, timeout)
            .unwrap()
            .collect()
            .await;
        assert_eq!(data.unwrap(), &b"secret"[..]);
        assert_eq!(server.hits(), 1);
        assert!(certificates_from_pem(b"not pem").is_err());
    }
}
