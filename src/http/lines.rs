//! Streamed replies of JSON values, the convention of Go's IPFS APIs (Kubo's RPC through
//! go-ipfs-cmds, the Cluster REST API): the body carries whatever the producer sends, as it
//! sends it, and an error that happens once the `200` has gone out ends the body with an
//! `X-Stream-Error` trailer carrying its message (the response announces it with
//! `Trailer: X-Stream-Error`).
//!
//! A server may send trailer fields over HTTP/1.1 only to a client that asked for them
//! (`TE: trailers`; hyper enforces it), and Go's HTTP client does not ask: for such a client a
//! failure cuts the connection instead ([`LinesBody::cut_on_failure`]), so that the client
//! sees a broken body rather than a stream that looks complete.
//!
//! The producer (an async task, or a thread doing blocking work) and the body meet through a
//! bounded channel, so a producer never runs ahead of a slow client by more than the channel
//! holds, and stops as soon as the client goes away (its sends fail).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http_body::Frame;
use tokio::sync::mpsc;

use super::body::BoxError;

/// The trailer naming an error that ended a stream.
pub const X_STREAM_ERROR: HeaderName = HeaderName::from_static("x-stream-error");

enum Item {
    Data(Bytes),
    Fail(String),
}

/// The producer's end: sends chunks, or the error that ends the stream.
#[derive(Clone)]
pub struct LineSender {
    tx: mpsc::Sender<Item>,
}

impl LineSender {
    /// Sends a chunk; false when the client has gone away (stop producing).
    pub async fn send(&self, chunk: impl Into<Bytes>) -> bool {
        self.tx.send(Item::Data(chunk.into())).await.is_ok()
    }

    /// Sends a chunk if the channel has room for it now; false otherwise.
    pub fn try_send(&self, chunk: impl Into<Bytes>) -> bool {
        self.tx.try_send(Item::Data(chunk.into())).is_ok()
    }

    /// [`LineSender::send`] from a thread that may block (never from an async task).
    pub fn blocking_send(&self, chunk: impl Into<Bytes>) -> bool {
        self.tx.blocking_send(Item::Data(chunk.into())).is_ok()
    }

    /// Ends the stream with `message` in the `X-Stream-Error` trailer.
    pub async fn fail(self, message: impl Into<String>) {
        let _ = self.tx.send(Item::Fail(message.into())).await;
    }

    /// [`LineSender::fail`] from a thread that may block.
    pub fn blocking_fail(self, message: impl Into<String>) {
        let _ = self.tx.blocking_send(Item::Fail(message.into()));
    }
}

/// The body's end: chunks in the order sent; after the last sender is dropped, the end of the
/// body, or the error trailer if a sender failed the stream.
pub struct LinesBody {
    rx: mpsc::Receiver<Item>,
    /// A chunk taken off the channel by [`LinesBody::start`], sent first.
    head: Option<Bytes>,
    /// Send `X-Stream-Error` (empty) even when nothing failed, as the Cluster API does.
    always_trailer: bool,
    /// End a failed stream with an error (hyper then cuts the connection) instead of the
    /// trailer, which the client would not get.
    cut_on_failure: bool,
    ended: bool,
}

/// How a stream began ([`LinesBody::start`]).
pub enum Started {
    /// The producer failed before sending anything: nothing has been promised yet, so the
    /// reply can still be an error status.
    Failed(String),
    /// It sent its first chunk, or ended without sending any: the body, from its start.
    Body(LinesBody),
}

impl LinesBody {
    /// Waits for the producer's first chunk (or its failure, or its end), so that a reply can
    /// commit to `200` only once there is something to send: go-ipfs-cmds writes the status
    /// with the first value, and an error before it is an error status, not a trailer.
    pub async fn start(mut self) -> Started {
        match self.rx.recv().await {
            Some(Item::Fail(message)) => Started::Failed(message),
            Some(Item::Data(chunk)) => {
                self.head = Some(chunk);
                Started::Body(self)
            }
            None => Started::Body(self),
        }
    }

    /// A failure cuts the connection instead of sending the trailer: for a client that did
    /// not ask for trailers (see the module docs).
    pub fn cut_on_failure(mut self) -> Self {
        self.cut_on_failure = true;
        self
    }

    /// Ends a stream that did not fail with an empty `X-Stream-Error` trailer too.
    pub fn with_empty_trailer(mut self) -> Self {
        self.always_trailer = true;
        self
    }
}

/// A linked sender and body; the channel holds up to `capacity` chunks.
pub fn channel(capacity: usize) -> (LineSender, LinesBody) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (
        LineSender { tx },
        LinesBody {
            rx,
            head: None,
            always_trailer: false,
            cut_on_failure: false,
            ended: false,
        },
    )
}

fn trailer(message: &str) -> Frame<Bytes> {
    let mut trailers = HeaderMap::new();
    // A message that is not a valid header value (a newline, a control character) is sent
    // with those bytes replaced: the client still learns that the stream failed.
    let value = HeaderValue::from_str(message).unwrap_or_else(|_| {
        let cleaned: String = message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        HeaderValue::from_str(&cleaned).unwrap_or(HeaderValue::from_static("stream failed"))
    });
    trailers.insert(X_STREAM_ERROR, value);
    Frame::trailers(trailers)
}

impl http_body::Body for LinesBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        if let Some(head) = self.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        match self.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Item::Data(chunk))) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
            Poll::Ready(Some(Item::Fail(message))) => {
                self.ended = true;
                if self.cut_on_failure {
                    return Poll::Ready(Some(Err(message.into())));
                }
                Poll::Ready(Some(Ok(trailer(&message))))
            }
            Poll::Ready(None) => {
                self.ended = true;
                if self.always_trailer {
                    Poll::Ready(Some(Ok(trailer(""))))
                } else {
                    Poll::Ready(None)
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn collect(body: LinesBody) -> (Vec<u8>, Option<HeaderMap>) {
        let collected = body.collect().await.unwrap();
        let trailers = collected.trailers().cloned();
        (collected.to_bytes().to_vec(), trailers)
    }

    #[tokio::test]
    async fn chunks_then_the_end_without_a_trailer() {
        let (tx, body) = channel(2);
        tokio::spawn(async move {
            assert!(tx.send(&b"{\"a\":1}\n"[..]).await);
            assert!(tx.send(&b"{\"a\":2}\n"[..]).await);
        });
        let (data, trailers) = collect(body).await;
        assert_eq!(data, b"{\"a\":1}\n{\"a\":2}\n");
        assert!(trailers.is_none());
    }

    #[tokio::test]
    async fn a_failure_ends_the_body_with_the_trailer() {
        let (tx, body) = channel(2);
        tokio::spawn(async move {
            assert!(tx.send(&b"x\n"[..]).await);
            tx.fail("block too big\nreally").await;
        });
        let (data, trailers) = collect(body).await;
        assert_eq!(data, b"x\n");
        assert_eq!(
            trailers.unwrap().get(X_STREAM_ERROR).unwrap(),
            "block too big really"
        );
    }

    #[tokio::test]
    async fn a_failure_is_an_error_for_a_client_without_trailers() {
        let (tx, body) = channel(2);
        tokio::spawn(async move {
            assert!(tx.send(&b"x\n"[..]).await);
            tx.fail("disk full").await;
        });
        let error = body.cut_on_failure().collect().await.err().unwrap();
        assert_eq!(error.to_string(), "disk full");
    }

    #[tokio::test]
    async fn an_empty_trailer_when_asked_and_a_gone_client_stops_the_producer() {
        let (tx, body) = channel(1);
        drop(tx);
        let (data, trailers) = collect(body.with_empty_trailer()).await;
        assert!(data.is_empty());
        assert_eq!(trailers.unwrap().get(X_STREAM_ERROR).unwrap(), "");
        let (tx, body) = channel(1);
        drop(body);
        assert!(!tx.send(&b"x"[..]).await);
    }

    #[tokio::test]
    async fn a_start_tells_an_early_failure_from_a_begun_stream() {
        let (tx, body) = channel(4);
        tx.fail("not pinned").await;
        assert!(matches!(body.start().await, Started::Failed(m) if m == "not pinned"));

        let (tx, body) = channel(4);
        tokio::spawn(async move {
            tx.send(&b"1\n"[..]).await;
            tx.send(&b"2\n"[..]).await;
            tx.fail("late").await;
        });
        let Started::Body(body) = body.start().await else {
            panic!("the stream began")
        };
        let (data, trailers) = collect(body).await;
        assert_eq!(data, b"1\n2\n");
        assert_eq!(trailers.unwrap().get(X_STREAM_ERROR).unwrap(), "late");

        let (tx, body) = channel(4);
        drop(tx);
        let Started::Body(body) = body.start().await else {
            panic!("an empty stream is a stream")
        };
        let (data, trailers) = collect(body).await;
        assert!(data.is_empty() && trailers.is_none());
    }
}
