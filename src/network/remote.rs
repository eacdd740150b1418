//! Trustless gateways as a block source: what Rainbow calls its remote-backend mode. Blocks
//! come from `GET {backend}/ipfs/{cid}?format=raw` (`Accept: application/vnd.ipld.raw`) and
//! whole DAGs from CAR responses, per the Trustless Gateway spec
//! (<https://specs.ipfs.tech/http-gateways/trustless-gateway/>) and IPIP-402 (`dag-scope`,
//! `entity-bytes`). Any gateway that implements it is a backend: Kubo, Rainbow, another cairn.
//!
//! Nothing a backend sends is trusted: every block is hashed against its CID before it is
//! handed up, bodies are bounded ([`RemoteOptions::max_block_bytes`]) and every exchange is
//! bounded in time. Requests are spread over the backends round robin; a backend that fails
//! one (an error status, a wrong block, a timeout, a broken connection, a redirect, which is
//! never followed) is skipped and the next one asked, each at most once per request. A block
//! every backend answers 404 or 410 for is absent (`None`); when some failed instead, the
//! answer is [`store::Error::Unavailable`] carrying a [`FetchError`] that lists every backend
//! asked and what it did, for the 504 the gateway answers.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use cid::Cid;
use futures_core::Stream;
use http::{Method, StatusCode};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use tokio::time::Instant;

use super::http_client::{
    BodyStream, ClientError, ClientOptions, Endpoint, HttpClient, RequestError,
};
use crate::ipld::car::{CarDecoder, CarEvent, CarLimits, MAX_CID_LEN};
use crate::ipld::cid::{hash, v1_text};
use crate::store::{self, verify, BlockSource, SourceFuture};

/// Media type of a single raw block.
const RAW: &str = "application/vnd.ipld.raw";

/// Media type asked for CAR responses: blocks in depth-first order with duplicates, so a
/// reader walking the DAG finds every block where the walk needs it.
const CAR: &str = "application/vnd.ipld.car; version=1; order=dfs; dups=y";

/// Largest block accepted by default: 2 MiB, the most a block may be to travel over bitswap
/// (and so the most any IPFS implementation produces for the network), plus slack for the
/// framing of a leaf chunked at exactly 2 MiB.
pub const DEFAULT_MAX_BLOCK_BYTES: usize = (2 << 20) + (4 << 10);

/// How a [`RemoteBlocks`] behaves.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// Longest one exchange with one backend may take: a block request from connecting to
    /// the last byte, or a CAR request up to its header. A backend over it is skipped.
    pub timeout: Duration,
    /// Longest a CAR stream may go without sending a byte, once it has started.
    pub car_idle_timeout: Duration,
    /// Largest block accepted; a longer body is refused as it arrives.
    pub max_block_bytes: usize,
    /// Largest CAR response accepted in all (`None`: no limit beyond one block at a time,
    /// which is all a stream ever holds).
    pub max_car_bytes: Option<u64>,
    /// The HTTP client's settings (connect timeout, pool, extra TLS roots).
    pub client: ClientOptions,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            timeout: Duration::from_secs(30),
            car_idle_timeout: Duration::from_secs(30),
            max_block_bytes: DEFAULT_MAX_BLOCK_BYTES,
            max_car_bytes: None,
            client: ClientOptions::default(),
        }
    }
}

/// What one backend did with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It answered 404 or 410: it does not have the content.
    NotFound(StatusCode),
    /// It answered with another status than 200: a 5xx, a 4xx, a redirect (not followed).
    Status(StatusCode),
    /// It sent bytes that do not hash to the CID asked for.
    WrongBlock,
    /// Its CAR response did not decode (a block inside it is checked as the stream is read).
    BadCar(String),
    /// The exchange failed: a timeout, a broken connection, a body over the limit.
    Failed(RequestError),
}

impl Outcome {
    fn from_status(status: StatusCode) -> Outcome {
        if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            Outcome::NotFound(status)
        } else {
            Outcome::Status(status)
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::NotFound(status) | Outcome::Status(status) if status.is_redirection() => {
                write!(f, "redirect ({status}), not followed")
            }
            Outcome::NotFound(status) | Outcome::Status(status) => write!(f, "HTTP {status}"),
            Outcome::WrongBlock => f.write_str("sent data that does not match the CID"),
            Outcome::BadCar(why) => write!(f, "sent a malformed CAR: {why}"),
            Outcome::Failed(e) => write!(f, "{e}"),
        }
    }
}

/// One backend asked, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub backend: Endpoint,
    pub outcome: Outcome,
    pub elapsed: Duration,
}

/// No backend could provide what was asked, with every attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    /// What was asked for: `block bafy…`, `CAR /ipfs/bafy…/a?…`.
    pub what: String,
    /// Every backend asked, in order.
    pub attempts: Vec<Attempt>,
}

impl FetchError {
    /// The diagnostics behind a [`store::Error::Unavailable`] from a [`RemoteBlocks`].
    pub fn of(error: &store::Error) -> Option<&FetchError> {
        match error {
            store::Error::Unavailable { reason, .. } => reason.downcast_ref(),
            _ => None,
        }
    }

    /// Whether any backend timed out (the others refused or failed otherwise).
    pub fn timed_out(&self) -> bool {
        self.attempts
            .iter()
            .any(|a| matches!(a.outcome, Outcome::Failed(RequestError::Timeout(_))))
    }

    /// Whether every backend said it does not have the content.
    fn all_not_found(&self) -> bool {
        self.attempts
            .iter()
            .all(|a| matches!(a.outcome, Outcome::NotFound(_)))
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no backend could provide {} (", self.what)?;
        for (i, attempt) in self.attempts.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(
                f,
                "{}: {} after {} ms",
                attempt.backend,
                attempt.outcome,
                attempt.elapsed.as_millis()
            )?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for FetchError {}

/// Trustless gateways as a [`BlockSource`] (see the module docs). Cheap to clone: clones
/// share the connection pool and the round-robin position.
#[derive(Clone)]
pub struct RemoteBlocks {
    inner: Arc<Inner>,
}

struct Inner {
    client: HttpClient,
    backends: Vec<Endpoint>,
    /// Where the next request starts in `backends`.
    next: AtomicUsize,
    options: RemoteOptions,
}

impl RemoteBlocks {
    /// A source over `backends` (base URLs: `https://host`, `http://127.0.0.1:8080`).
    pub fn new(backends: Vec<Endpoint>, options: RemoteOptions) -> Result<Self, ClientError> {
        if backends.is_empty() {
            return Err(ClientError::new("no remote backend given"));
        }
        Ok(RemoteBlocks {
            inner: Arc::new(Inner {
                client: HttpClient::new(&options.client)?,
                backends,
                next: AtomicUsize::new(0),
                options,
            }),
        })
    }

    pub fn backends(&self) -> &[Endpoint] {
        &self.inner.backends
    }

    /// Streams the blocks of a CAR response for `request`, each checked against its CID as
    /// it comes out. Backends are tried in turn until one answers 200 with a CAR header and
    /// a first block that checks out: a gateway that lacks the content may still answer 200
    /// and then cut the stream (Kubo does), so a backend is only committed to once it has
    /// sent a block. `None` when every backend answered 404 or 410. Once blocks have flowed, a
    /// failure ends the stream with an error (the caller knows which blocks it already has
    /// and may ask again, narrower).
    pub async fn fetch_car(&self, request: &CarRequest) -> Result<Option<CarBlocks>, FetchError> {
        let inner = &self.inner;
        let path = request.path_and_query();
        inner
            .each(format!("CAR {path}"), |backend| {
                inner.open_car(backend, &path)
            })
            .await
    }
}

impl Inner {
    /// The backends in the order this request asks them: round robin from a moving start.
    fn order(&self) -> impl Iterator<Item = &Endpoint> {
        let n = self.backends.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        (0..n).map(move |i| &self.backends[(start + i) % n])
    }

    /// Asks each backend in turn with `one` until one gives an answer; `None` when every one
    /// said not found.
    async fn each<'a, T, F, Fut>(&'a self, what: String, one: F) -> Result<Option<T>, FetchError>
    where
        F: Fn(&'a Endpoint) -> Fut,
        Fut: std::future::Future<Output = Result<T, Outcome>>,
    {
        let mut error = FetchError {
            what,
            attempts: Vec::new(),
        };
        for backend in self.order() {
            let started = Instant::now();
            match one(backend).await {
                Ok(answer) => return Ok(Some(answer)),
                Err(outcome) => error.attempts.push(Attempt {
                    backend: backend.clone(),
                    outcome,
                    elapsed: started.elapsed(),
                }),
            }
        }
        if error.all_not_found() {
            Ok(None)
        } else {
            Err(error)
        }
    }

    /// One block from one backend, checked.
    async fn block_from(&self, backend: &Endpoint, cid: &Cid) -> Result<Bytes, Outcome> {
        let timeout = self.options.timeout;
        let deadline = Instant::now() + timeout;
        let path = format!("/ipfs/{}?format=raw", v1_text(cid));
        let response = self.ask(backend, &path, Method::GET, RAW, deadline).await?;
        let body = BodyStream::new(response, self.options.max_block_bytes as u64, timeout)
            .map_err(Outcome::Failed)?;
        let data = match tokio::time::timeout_at(deadline, body.collect()).await {
            Ok(data) => data.map_err(Outcome::Failed)?,
            Err(_) => return Err(Outcome::Failed(RequestError::Timeout(timeout))),
        };
        verify(cid, &data).map_err(|_| Outcome::WrongBlock)?;
        Ok(data)
    }

    /// Whether one backend has the block, from the head of its answer (`HEAD`).
    async fn has_from(&self, backend: &Endpoint, cid: &Cid) -> Result<(), Outcome> {
        let path = format!("/ipfs/{}?format=raw", v1_text(cid));
        let deadline = Instant::now() + self.options.timeout;
        self.ask(backend, &path, Method::HEAD, RAW, deadline)
            .await
            .map(drop)
    }

    /// Sends one request to one backend; anything but a 200 is that backend's outcome.
    async fn ask(
        &self,
        backend: &Endpoint,
        path: &str,
        method: Method,
        accept: &'static str,
        deadline: Instant,
    ) -> Result<http::Response<hyper::body::Incoming>, Outcome> {
        let uri = backend
            .uri(path)
            .map_err(|e| Outcome::Failed(RequestError::Transport(e.to_string())))?;
        let request = HttpClient::request(method, uri, accept);
        let response = self
            .client
            .send(request, deadline, self.options.timeout)
            .await
            .map_err(Outcome::Failed)?;
        match response.status() {
            StatusCode::OK => Ok(response),
            status => Err(Outcome::from_status(status)),
        }
    }

    /// Starts a CAR response from one backend: reads its header and first block.
    async fn open_car(&self, backend: &Endpoint, path: &str) -> Result<CarBlocks, Outcome> {
        let timeout = self.options.timeout;
        let deadline = Instant::now() + timeout;
        let response = self.ask(backend, path, Method::GET, CAR, deadline).await?;
        let limit = self.options.max_car_bytes.unwrap_or(u64::MAX);
        let body = BodyStream::new(response, limit, self.options.car_idle_timeout)
            .map_err(Outcome::Failed)?;
        let limits = CarLimits {
            max_section_len: self.options.max_block_bytes + MAX_CID_LEN,
            ..CarLimits::default()
        };
        let mut blocks = CarBlocks {
            backend: backend.clone(),
            roots: Vec::new(),
            first: None,
            body,
            decoder: CarDecoder::new(limits),
            ended: false,
            done: false,
        };
        match tokio::time::timeout_at(deadline, blocks.start()).await {
            Ok(Ok(())) => Ok(blocks),
            Ok(Err(CarError::Body(e))) => Err(Outcome::Failed(e)),
            Ok(Err(CarError::Block(_))) => Err(Outcome::WrongBlock),
            Ok(Err(e)) => Err(Outcome::BadCar(e.to_string())),
            Err(_) => Err(Outcome::Failed(RequestError::Timeout(timeout))),
        }
    }
}

/// An identity CID's block (its digest), or the error for a hash function cairn cannot
/// check: answers that need no backend.
fn answer_locally(cid: &Cid) -> Option<store::Result<Bytes>> {
    if cid.hash().code() == hash::IDENTITY {
        return Some(Ok(Bytes::copy_from_slice(cid.hash().digest())));
    }
    // `verify` is the one place that knows which hash functions cairn computes: asking it
    // about empty data says whether this CID could ever be checked.
    match verify(cid, b"") {
        Err(e @ store::Error::UnsupportedHash { .. }) => Some(Err(e)),
        _ => None,
    }
}

fn unavailable(cid: Cid, error: FetchError) -> store::Error {
    store::Error::Unavailable {
        cid,
        reason: Box::new(error),
    }
}

impl BlockSource for RemoteBlocks {
    fn get(&self, cid: &Cid) -> SourceFuture<store::Result<Option<Bytes>>> {
        if let Some(answer) = answer_locally(cid) {
            return SourceFuture::ready(answer.map(Some));
        }
        let inner = Arc::clone(&self.inner);
        let cid = *cid;
        SourceFuture::pending(async move {
            inner
                .each(format!("block {}", v1_text(&cid)), |backend| {
                    inner.block_from(backend, &cid)
                })
                .await
                .map_err(|e| unavailable(cid, e))
        })
    }

    /// A `HEAD` request: a backend's word, unchecked (a block is only checked once read).
    fn has(&self, cid: &Cid) -> SourceFuture<store::Result<bool>> {
        if let Some(answer) = answer_locally(cid) {
            return SourceFuture::ready(answer.map(|_| true));
        }
        let inner = Arc::clone(&self.inner);
        let cid = *cid;
        SourceFuture::pending(async move {
            inner
                .each(format!("block {}", v1_text(&cid)), |backend| {
                    inner.has_from(backend, &cid)
                })
                .await
                .map(|found| found.is_some())
                .map_err(|e| unavailable(cid, e))
        })
    }

    /// By reading the block: a size a backend announces is not checked, and sizes end up in
    /// responses.
    fn size(&self, cid: &Cid) -> SourceFuture<store::Result<Option<u64>>> {
        let block = self.get(cid);
        SourceFuture::pending(async move { Ok(block.await?.map(|b| b.len() as u64)) })
    }
}

pub use crate::ipld::dag_scope::{DagScope, EntityBytes};

/// What a CAR request asks for: `/ipfs/{root}/{path…}` with a scope and, for an entity, a
/// byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarRequest {
    root: Cid,
    path: Vec<String>,
    scope: DagScope,
    entity_bytes: Option<EntityBytes>,
}

/// A CAR request that cannot be sent as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CAR request: {0}")]
pub struct InvalidRequest(String);

impl CarRequest {
    /// The whole DAG under `root`.
    pub fn new(root: Cid) -> CarRequest {
        CarRequest {
            root,
            path: Vec::new(),
            scope: DagScope::All,
            entity_bytes: None,
        }
    }

    /// Under `root`, at `path` (its names, unescaped). Empty names, `.` and `..` are refused:
    /// no UnixFS entry is called that, and servers would read them as steps of the path.
    pub fn at_path<S: Into<String>>(
        mut self,
        path: impl IntoIterator<Item = S>,
    ) -> Result<CarRequest, InvalidRequest> {
        let path: Vec<String> = path.into_iter().map(Into::into).collect();
        if let Some(bad) = path
            .iter()
            .find(|s| s.is_empty() || *s == "." || *s == "..")
        {
            return Err(InvalidRequest(format!("path segment {bad:?}")));
        }
        self.path = path;
        Ok(self)
    }

    pub fn scope(mut self, scope: DagScope) -> CarRequest {
        self.scope = scope;
        self
    }

    /// A byte range of the file at the path; only meaningful with [`DagScope::Entity`].
    pub fn entity_bytes(mut self, range: EntityBytes) -> CarRequest {
        self.entity_bytes = Some(range);
        self
    }

    /// `/ipfs/{root}/{path…}?format=car&dag-scope=…[&entity-bytes=…]`.
    pub fn path_and_query(&self) -> String {
        /// Everything but RFC 3986 unreserved characters is escaped in a path segment.
        const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~');
        let mut out = format!("/ipfs/{}", v1_text(&self.root));
        for segment in &self.path {
            out.push('/');
            out.extend(utf8_percent_encode(segment, SEGMENT));
        }
        out.push_str("?format=car&dag-scope=");
        out.push_str(self.scope.as_str());
        if let Some(range) = self.entity_bytes {
            out.push_str(&format!("&entity-bytes={}:", range.from));
            match range.to {
                Some(to) => out.push_str(&to.to_string()),
                None => out.push('*'),
            }
        }
        out
    }
}

/// Why a CAR stream stopped early.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CarError {
    /// The body failed: a timeout between bytes, a broken connection, over the size limit.
    #[error("CAR body: {0}")]
    Body(RequestError),
    /// The bytes are not a well-formed CAR.
    #[error("{0}")]
    Car(crate::ipld::Error),
    /// A block that does not hash to its CID, or whose hash cairn cannot compute.
    #[error("{0}")]
    Block(String),
}

/// The checked blocks of one CAR response, in the order the backend sent them. A stream of
/// `(cid, bytes)`; it ends at the end of the CAR, or with one error.
pub struct CarBlocks {
    backend: Endpoint,
    roots: Vec<Cid>,
    /// The first block, read (and checked) before the backend was committed to.
    first: Option<(Cid, Bytes)>,
    body: BodyStream,
    decoder: CarDecoder,
    /// The body has ended (the decoder was told).
    ended: bool,
    /// The stream has ended (the last item was returned).
    done: bool,
}

impl CarBlocks {
    /// The roots the CAR header names.
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// The backend sending this CAR.
    pub fn backend(&self) -> &Endpoint {
        &self.backend
    }

    /// Reads the header and the first block.
    async fn start(&mut self) -> Result<(), CarError> {
        match std::future::poll_fn(|cx| self.poll_event(cx)).await? {
            Some(CarEvent::Header { roots, .. }) => self.roots = roots,
            // The decoder always starts with the header; anything else is an empty body.
            _ => return Err(CarError::Car(crate::ipld::Error::car("no CAR header"))),
        }
        match std::future::poll_fn(|cx| self.poll_event(cx)).await? {
            Some(CarEvent::Block { cid, data }) => {
                checked(&cid, &data)?;
                self.first = Some((cid, data));
                Ok(())
            }
            Some(CarEvent::Header { .. }) => Err(second_header()),
            None => Err(CarError::Car(crate::ipld::Error::car(
                "a CAR without blocks",
            ))),
        }
    }

    /// The next decoded event, reading the body as needed.
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<CarEvent>, CarError>> {
        loop {
            match self.decoder.next() {
                Err(e) => return Poll::Ready(Err(CarError::Car(e))),
                Ok(Some(event)) => return Poll::Ready(Ok(Some(event))),
                // After `finish`, no event means the CAR is complete.
                Ok(None) if self.ended => return Poll::Ready(Ok(None)),
                Ok(None) => {}
            }
            match std::task::ready!(self.body.poll_chunk(cx)) {
                Some(Ok(chunk)) => self.decoder.push(chunk),
                Some(Err(e)) => return Poll::Ready(Err(CarError::Body(e))),
                None => {
                    self.decoder.finish();
                    self.ended = true;
                }
            }
        }
    }
}

impl Stream for CarBlocks {
    type Item = Result<(Cid, Bytes), CarError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        if this.done {
            return Poll::Ready(None);
        }
        let item = match std::task::ready!(this.poll_event(cx)) {
            Ok(Some(CarEvent::Block { cid, data })) => match checked(&cid, &data) {
                Ok(()) => return Poll::Ready(Some(Ok((cid, data)))),
                Err(e) => Err(e),
            },
            Ok(Some(CarEvent::Header { .. })) => Err(second_header()),
            Ok(None) => {
                this.done = true;
                return Poll::Ready(None);
            }
            Err(e) => Err(e),
        };
        this.done = true;
        Poll::Ready(Some(item))
    }
}

/// A block from a CAR, checked against its CID.
fn checked(cid: &Cid, data: &[u8]) -> Result<(), CarError> {
    verify(cid, data).map_err(|e| CarError::Block(e.to_string()))
}

fn second_header() -> CarError {
    CarError::Car(crate::ipld::Error::car("a second CAR header"))
}

impl fmt::Debug for CarBlocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CarBlocks")
            .field("backend", &self.backend)
            .field("roots", &self.roots)
            .field("read", &self.body.read())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
