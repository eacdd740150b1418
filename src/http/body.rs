//! Response bodies: nothing, one buffer, or a sequence of segments where each segment is a
//! buffer or a stream of block slices (a UnixFS file range). Block bytes go to the socket as
//! the `Bytes` the store returned, never copied. A stream that fails midway ends the body with
//! an error, so hyper cuts the connection rather than pass a short body off as complete.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use crate::services::file::FileStream;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A body produced asynchronously (event streams, streamed JSON): any `http_body::Body`.
pub type DynBody = Pin<Box<dyn http_body::Body<Data = Bytes, Error = BoxError> + Send>>;

/// One piece of a body.
pub enum Segment {
    Bytes(Bytes),
    /// Boxed: a stream is 128 bytes, and every response's body moves several times on its
    /// way to hyper.
    File(Box<FileStream>),
}

impl Segment {
    fn len(&self) -> u64 {
        match self {
            Segment::Bytes(b) => b.len() as u64,
            Segment::File(f) => f.remaining(),
        }
    }
}

/// A response body. One-piece bodies (the common case: a file, a listing) hold their piece
/// inline; only multi-part bodies keep a queue.
///
/// A body moves by value several times between the handler and hyper (into the response,
/// through each wrapper, out of each future), so it is kept to a few words: what only a
/// served answer carries (a replayed one has none of it) is boxed in [`Guards`].
pub struct Body {
    kind: Kind,
    remaining: u64,
    /// The request's metrics, recorded when the body is dropped (see [`Body::observe`]).
    observed: Option<super::metrics::Observed>,
    guards: Option<Box<Guards>>,
}

/// What holds or cuts a served body.
#[derive(Default)]
struct Guards {
    /// A concurrency slot the response holds until its body is dropped (sent or abandoned).
    slot: Option<tokio::sync::OwnedSemaphorePermit>,
    /// Cuts the body when its source stalls (see [`Body::cut_after_stall`]).
    stall: Option<StallGuard>,
    /// Cuts the body at a fixed instant (see [`Body::cut_at`]).
    deadline: Option<Deadline>,
}

/// The instant past which the body is cut, whatever it is waiting for, and the request's
/// whole allowance (for the error). The clock is read on every poll; a timer is made only
/// when the body first waits for its source (a body sent in one go allocates none).
struct Deadline {
    at: tokio::time::Instant,
    allowance: std::time::Duration,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// The longest a body may wait for its source between two chunks. The timer runs only while
/// the body itself waits (a block not yet arrived), never while the client is slow to read:
/// hyper polls the body only when it wants more.
struct StallGuard {
    limit: std::time::Duration,
    /// Armed on the first wait and reset on later ones, so it is allocated at most once.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    armed: bool,
}

enum Kind {
    Empty,
    One(Segment),
    Many(VecDeque<Segment>),
    /// Length unknown up front; never mixed with segments.
    Stream(DynBody),
    /// A segment failed; the error is returned on the next poll (once hyper has flushed).
    Failed(Option<BoxError>),
}

impl Body {
    pub fn empty() -> Self {
        Body {
            kind: Kind::Empty,
            remaining: 0,
            observed: None,
            guards: None,
        }
    }

    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        let mut body = Body::empty();
        if !bytes.is_empty() {
            body.push(Segment::Bytes(bytes));
        }
        body
    }

    pub fn file(stream: FileStream) -> Self {
        let mut body = Body::empty();
        body.push(Segment::File(Box::new(stream)));
        body
    }

    /// A body whose frames come from `body` as it produces them (sent chunked, or as HTTP/2
    /// DATA frames; its trailers, if any, are passed on).
    pub fn stream(
        body: impl http_body::Body<Data = Bytes, Error = BoxError> + Send + 'static,
    ) -> Self {
        Body {
            kind: Kind::Stream(Box::pin(body)),
            remaining: 0,
            observed: None,
            guards: None,
        }
    }

    /// A body of unknown length whose chunks a stream produces as hyper asks for them (CAR
    /// and TAR exports: block bytes, uncopied, as their blocks arrive). A producer error ends
    /// the body with that error, so the connection is cut rather than the stream passed off
    /// as complete — one poll later, so that hyper flushes the status line and the bytes
    /// before it.
    pub fn chunks<S, E>(producer: S) -> Self
    where
        S: futures_core::Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: std::error::Error + Send + Sync + 'static,
    {
        Body::stream(Chunks {
            producer: Box::pin(producer),
            failed: None,
        })
    }

    /// Keeps `slot` taken until the body has been sent (or the client went away), so a
    /// concurrency limit counts responses still streaming, not just handlers running.
    pub fn hold(&mut self, slot: tokio::sync::OwnedSemaphorePermit) {
        self.guards().slot = Some(slot);
    }

    /// Keeps the request's metrics record until the body has been sent (or abandoned): the
    /// request counts as in flight until then, and its duration covers the whole body.
    pub fn observe(&mut self, observed: super::metrics::Observed) {
        self.observed = Some(observed);
    }

    /// Ends the body with an error when no chunk comes from its source within `limit` of
    /// asking (boxo cuts a stalled retrieval the same way): the client sees a truncated
    /// response, never a connection held open forever.
    pub fn cut_after_stall(&mut self, limit: std::time::Duration) {
        self.guards().stall = Some(StallGuard {
            limit,
            timer: None,
            armed: false,
        });
    }

    /// Ends the body with an error once `deadline` has passed, so that a request never
    /// outlives the operator's maximum request duration (`allowance`, counted from its
    /// arrival): boxo ends the request's context then, which cuts a response already
    /// streaming. The client sees a truncated response (the connection cut), never a short
    /// body passed off as complete.
    pub fn cut_at(&mut self, deadline: tokio::time::Instant, allowance: std::time::Duration) {
        self.guards().deadline = Some(Deadline {
            at: deadline,
            allowance,
            timer: None,
        });
    }

    fn guards(&mut self) -> &mut Guards {
        self.guards.get_or_insert_with(Default::default)
    }

    /// Appends a segment. (Not for stream bodies, whose length is not known.)
    pub fn push(&mut self, segment: Segment) {
        self.remaining += segment.len();
        self.kind = match std::mem::replace(&mut self.kind, Kind::Empty) {
            Kind::Empty => Kind::One(segment),
            Kind::One(first) => Kind::Many(VecDeque::from([first, segment])),
            Kind::Many(mut queue) => {
                queue.push_back(segment);
                Kind::Many(queue)
            }
            Kind::Stream(_) | Kind::Failed(_) => {
                debug_assert!(false, "segments cannot follow a stream");
                Kind::One(segment)
            }
        };
    }

    /// The body's bytes when it is one in-memory buffer (a page cairn generated), for
    /// re-encoding it whole; `None` for files, streams and multi-part bodies.
    pub fn buffer(&self) -> Option<&Bytes> {
        match &self.kind {
            Kind::One(Segment::Bytes(bytes)) => Some(bytes),
            _ => None,
        }
    }

    /// Replaces the body's bytes, keeping its slot and stall guard.
    pub fn replace_buffer(&mut self, bytes: Bytes) {
        self.remaining = bytes.len() as u64;
        self.kind = if bytes.is_empty() {
            Kind::Empty
        } else {
            Kind::One(Segment::Bytes(bytes))
        };
    }

    /// Reads the whole body into one buffer when its length is known and at most `max` bytes
    /// (`None`, untouched, otherwise): the body then holds that buffer, keeping its slot and
    /// guards, and a copy of it is returned. One piece is handed back without a copy. When
    /// the source fails midway the body is left to send what came, then end with the error
    /// (the client sees the same cut answer it would have without the gathering).
    pub async fn gather(&mut self, max: u64) -> Option<Bytes> {
        use http_body_util::BodyExt;
        if matches!(self.kind, Kind::Stream(_) | Kind::Failed(_)) || self.remaining > max {
            return None;
        }
        let mut pieces: smallvec::SmallVec<[Bytes; 2]> = smallvec::SmallVec::new();
        loop {
            match self.frame().await {
                None => break,
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        pieces.push(data);
                    }
                }
                Some(Err(error)) => {
                    let came = Ok(concat(&pieces));
                    let cut = Body::chunks(futures_util::stream::iter([came, Err(Carried(error))]));
                    self.remaining = 0;
                    self.kind = cut.kind;
                    return None;
                }
            }
        }
        let whole = concat(&pieces);
        self.replace_buffer(whole.clone());
        Some(whole)
    }

    /// Exact number of bytes the body will produce.
    pub fn len(&self) -> u64 {
        self.remaining
    }

    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }

    fn front(&mut self) -> Option<&mut Segment> {
        match &mut self.kind {
            Kind::Empty | Kind::Stream(_) | Kind::Failed(_) => None,
            Kind::One(segment) => Some(segment),
            Kind::Many(queue) => queue.front_mut(),
        }
    }

    fn pop_front(&mut self) {
        match &mut self.kind {
            Kind::Empty | Kind::Stream(_) | Kind::Failed(_) => {}
            Kind::One(_) => self.kind = Kind::Empty,
            Kind::Many(queue) => {
                queue.pop_front();
                if queue.is_empty() {
                    self.kind = Kind::Empty;
                }
            }
        }
    }
}

/// `pieces` as one buffer (the piece itself when there is one).
fn concat(pieces: &[Bytes]) -> Bytes {
    match pieces {
        [] => Bytes::new(),
        [one] => one.clone(),
        many => {
            let mut whole = bytes::BytesMut::with_capacity(many.iter().map(Bytes::len).sum());
            for piece in many {
                whole.extend_from_slice(piece);
            }
            whole.freeze()
        }
    }
}

/// A body's error carried through [`Body::chunks`] (which takes a typed error).
#[derive(Debug)]
struct Carried(BoxError);

impl std::fmt::Display for Carried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Carried {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// [`Body::chunks`]' adapter: one frame per produced chunk.
struct Chunks<S> {
    producer: Pin<Box<S>>,
    /// The producer's error, held back one poll (see [`Body::chunks`]).
    failed: Option<BoxError>,
}

impl<S, E> http_body::Body for Chunks<S>
where
    S: futures_core::Stream<Item = Result<Bytes, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(error) = self.failed.take() {
            return Poll::Ready(Some(Err(error)));
        }
        match self.producer.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
            Poll::Ready(Some(Err(e))) => {
                tracing::warn!(error = %e, "response stream failed midway");
                // Give hyper a turn to flush the status line and what was produced before
                // the error cuts the connection; otherwise an early failure leaves the client
                // with no response at all.
                self.failed = Some(Box::new(e));
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Poll::Ready(None) => Poll::Ready(None),
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Body::full(s)
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Body::full(Bytes::from_static(s.as_bytes()))
    }
}

impl Body {
    /// The next frame, waiting on the source as long as it takes.
    fn poll_source(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self;
        match &mut this.kind {
            Kind::Stream(inner) => return inner.as_mut().poll_frame(cx),
            Kind::Failed(error) => return Poll::Ready(error.take().map(Err)),
            _ => {}
        }
        loop {
            let Some(front) = this.front() else {
                return Poll::Ready(None);
            };
            let next = match front {
                Segment::Bytes(b) => {
                    let b = std::mem::take(b);
                    this.pop_front();
                    if b.is_empty() {
                        continue;
                    }
                    Ok(b)
                }
                Segment::File(stream) => match stream.poll_chunk(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Some(Ok(chunk))) => Ok(chunk),
                    Poll::Ready(Some(Err(e))) => {
                        tracing::warn!(error = %e, "response body failed midway");
                        this.remaining = 0;
                        this.kind = Kind::Failed(Some(Box::new(e)));
                        // Give hyper a turn to flush what it has (the status line at least)
                        // before the error cuts the connection.
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    Poll::Ready(None) => {
                        this.pop_front();
                        continue;
                    }
                },
            };
            return Poll::Ready(Some(next.map(|chunk| {
                this.remaining = this.remaining.saturating_sub(chunk.len() as u64);
                Frame::data(chunk)
            })));
        }
    }
}

/// The error a stalled body ends with.
#[derive(Debug)]
struct Stalled(std::time::Duration);

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no data could be retrieved within the retrieval timeout ({} s)",
            self.0.as_secs_f64()
        )
    }
}

impl std::error::Error for Stalled {}

/// The error a body cut at the maximum request duration ends with.
#[derive(Debug)]
struct TooLong(std::time::Duration);

impl std::fmt::Display for TooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request took longer than the maximum request duration ({} s)",
            self.0.as_secs_f64()
        )
    }
}

impl std::error::Error for TooLong {}

impl Body {
    /// Ends the body at the maximum request duration: the error it ends with.
    fn cut_too_long(&mut self, guards: &mut Guards) -> BoxError {
        let allowance = guards
            .deadline
            .take()
            .map_or_else(Default::default, |d| d.allowance);
        tracing::warn!(
            ?allowance,
            "response outlived the maximum request duration: cut"
        );
        self.cut(guards);
        Box::new(TooLong(allowance))
    }

    /// Ends the body where it is: nothing more is read from its source, and the next poll
    /// ends it (after the error that cut it).
    fn cut(&mut self, guards: &mut Guards) {
        guards.stall = None;
        self.remaining = 0;
        self.kind = Kind::Failed(None);
    }

    /// [`Body::poll_source`] under the deadline and the stall guard.
    fn poll_guarded(
        &mut self,
        guards: &mut Guards,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(deadline) = &mut guards.deadline {
            let expired = tokio::time::Instant::now() >= deadline.at;
            if expired {
                return Poll::Ready(Some(Err(self.cut_too_long(guards))));
            }
        }
        let polled = self.poll_source(cx);
        if polled.is_pending() {
            if let Some(deadline) = &mut guards.deadline {
                // The timer wakes the task at the deadline while the source keeps it waiting.
                let at = deadline.at;
                let timer = deadline
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
                if timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Some(Err(self.cut_too_long(guards))));
                }
            }
        }
        let Some(guard) = &mut guards.stall else {
            return polled;
        };
        if polled.is_ready() {
            guard.armed = false;
            return polled;
        }
        let deadline = tokio::time::Instant::now() + guard.limit;
        let timer = match &mut guard.timer {
            Some(timer) => {
                if !guard.armed {
                    timer.as_mut().reset(deadline);
                }
                timer
            }
            None => guard
                .timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        guard.armed = true;
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let limit = guard.limit;
        tracing::warn!(?limit, "response body stalled: cut");
        if let Some(observed) = &mut self.observed {
            observed.truncated();
        }
        self.cut(guards);
        Poll::Ready(Some(Err(Box::new(Stalled(limit)))))
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let Some(mut guards) = this.guards.take() else {
            return this.poll_source(cx);
        };
        // Out of the body while its source is polled; the slot goes back with the rest.
        let polled = this.poll_guarded(&mut guards, cx);
        this.guards = Some(guards);
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Empty | Kind::Failed(None) => true,
            Kind::Stream(inner) => inner.is_end_stream(),
            _ => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Stream(inner) => inner.size_hint(),
            _ => SizeHint::with_exact(self.remaining),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;
    use std::sync::Arc;

    #[derive(Debug)]
    struct Broken;

    impl std::fmt::Display for Broken {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a block is missing")
        }
    }

    impl std::error::Error for Broken {}

    #[test]
    fn a_failing_producer_yields_once_before_its_error() {
        let chunks = vec![Ok(Bytes::from_static(b"header")), Err(Broken)];
        let mut body = Body::chunks(futures_util::stream::iter(chunks));
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut poll = || Pin::new(&mut body).poll_frame(&mut cx);
        match poll() {
            Poll::Ready(Some(Ok(frame))) => assert_eq!(frame.into_data().unwrap(), "header"),
            other => panic!("expected the first chunk, got {other:?}"),
        }
        // Pending first, so that hyper flushes the status line and the header chunk.
        assert!(poll().is_pending());
        match poll() {
            Poll::Ready(Some(Err(e))) => assert_eq!(e.to_string(), "a block is missing"),
            other => panic!("expected the error, got {other:?}"),
        }
    }

    #[test]
    fn held_slots_are_released_with_the_body() {
        let slots = Arc::new(tokio::sync::Semaphore::new(1));
        let mut body = Body::full("x");
        body.hold(Arc::clone(&slots).try_acquire_owned().unwrap());
        assert_eq!(slots.available_permits(), 0);
        drop(body);
        assert_eq!(slots.available_permits(), 1);
    }
}
