//! `/pubsub/<topic>`: the Agregore pubsub API over HTTP (Agregore gateway spec, "PubSub API";
//! the cairn choices in docs/gateway-api.md, "Pubsub"), on top of a
//! [`PubsubBackend`](crate::services::pubsub::PubsubBackend).
//!
//! - `GET` without `Accept: text/event-stream`: JSON about the topic (`id`, `topic`,
//!   `subscribed`).
//! - `GET` with it: a Server-Sent Events stream (WHATWG HTML §9.2, "Server-sent events") of
//!   the topic's messages that stays open until the client leaves; the subscription lives
//!   exactly as long as the response body, so a client that disconnects unsubscribes at once.
//!   `?format=base64|utf8|json` says how message bytes appear in the `data` field.
//! - `POST`: publish the request body (at most 1 MiB) to the topic.
//! - `HEAD` on `/pubsub/` or anything below: the headers `GET` would send, never an error.
//!
//! The topic is everything after `/pubsub/`, percent-decoded, slashes included.

use std::borrow::Cow;
use std::fmt::{Display, Write as _};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, StatusCode};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use percent_encoding::percent_decode_str;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::path::query_param;
use crate::http::body::BoxError;
use crate::http::header_text::HeaderText;
use crate::http::{Body, HttpError, Response};
use crate::services::pubsub::{Message, PubsubBackend, Received, Subscription, MAX_MESSAGE_BYTES};

/// How often an idle event stream sends a comment line, so that proxies and load balancers
/// that cut silent connections (commonly after 30–60 s) keep it open.
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// The node's peer ID on every pubsub response, as the Agregore daemon sends it, so that
/// clients can recognise their own messages.
pub const X_IPFS_ID: HeaderName = HeaderName::from_static("x-ipfs-id");

/// Asks nginx-style proxies not to buffer the event stream.
const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

/// Messages ready at once are sent in one body frame of up to about this many bytes.
const COALESCE_BYTES: usize = 64 << 10;

/// Time a client has to send a message body.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// After refusing an oversized message, up to this many more bytes are read and discarded
/// (for at most [`LINGER_TIME`]) so the client sees the 413 instead of a connection reset
/// (RFC 9112 §9.6: closing with unread data makes the peer's TCP discard the response).
const LINGER_BYTES: u64 = 4 * MAX_MESSAGE_BYTES as u64;
const LINGER_TIME: Duration = Duration::from_secs(2);

const KEEP_ALIVE_COMMENT: &[u8] = b": keep-alive\n\n";

/// The pubsub API's state: the backend and the node's peer ID as a header value.
pub struct PubsubApi {
    backend: Arc<dyn PubsubBackend>,
    peer_id_header: Option<HeaderValue>,
}

impl PubsubApi {
    pub fn new(backend: Arc<dyn PubsubBackend>) -> Self {
        let peer_id_header = HeaderValue::from_str(backend.peer_id()).ok();
        PubsubApi {
            backend,
            peer_id_header,
        }
    }

    /// The backend messages go through.
    pub fn backend(&self) -> &Arc<dyn PubsubBackend> {
        &self.backend
    }

    /// Headers every pubsub response carries.
    fn base_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        // The same URL answers JSON or an event stream depending on Accept.
        headers.insert(header::VARY, HeaderValue::from_static("Accept"));
        if let Some(id) = &self.peer_id_header {
            headers.insert(X_IPFS_ID, id.clone());
        }
        headers
    }
}

/// How message bytes appear in an event's `data` field (`?format=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A standard-base64 string (the default).
    Base64,
    /// A string; bytes that are not UTF-8 give an `error-decode` event instead.
    Utf8,
    /// The JSON value the bytes hold; bytes that are not JSON give an `error-decode` event.
    Json,
}

impl Format {
    /// Reads `?format=` (case-insensitive; absent means base64).
    pub fn from_query(query: Option<&str>) -> Result<Format, HttpError> {
        let Some(value) = query_param(query, "format") else {
            return Ok(Format::Base64);
        };
        if value.eq_ignore_ascii_case("base64") {
            Ok(Format::Base64)
        } else if value.eq_ignore_ascii_case("utf8") {
            Ok(Format::Utf8)
        } else if value.eq_ignore_ascii_case("json") {
            Ok(Format::Json)
        } else {
            Err(HttpError::bad_request(format!(
                "unknown format {value:?}: use json, utf8 or base64"
            )))
        }
    }
}

/// The topic named by the path after `/pubsub/`: percent-decoded, slashes kept, not empty.
pub fn decode_topic(rest: &str) -> Result<Cow<'_, str>, HttpError> {
    let topic = percent_decode_str(rest)
        .decode_utf8()
        .map_err(|_| HttpError::bad_request(format!("topic {rest:?} is not UTF-8 once decoded")))?;
    if topic.is_empty() {
        return Err(HttpError::bad_request(
            "no topic given: use /pubsub/<topic>",
        ));
    }
    Ok(topic)
}

/// `GET`/`HEAD /pubsub/<rest>`.
pub fn read<B>(api: &PubsubApi, request: &Request<B>, rest: &str) -> Result<Response, HttpError> {
    let stream = accepts_event_stream(request.headers());
    if request.method() == Method::HEAD {
        // The spec: HEAD works on /pubsub/ and anything below it and always answers with the
        // GET headers, so no topic or format check, and no subscription.
        return Ok(if stream {
            event_stream_response(api, Body::empty())
        } else {
            info(api, &percent_decode_str(rest).decode_utf8_lossy())
        });
    }
    let topic = decode_topic(rest)?;
    if !stream {
        return Ok(info(api, &topic));
    }
    let format = Format::from_query(request.uri().query())?;
    let subscription = api.backend.subscribe(&topic)?;
    let events = EventStream::new(subscription, format, KEEP_ALIVE_INTERVAL);
    Ok(event_stream_response(api, Body::stream(events)))
}

/// `POST /pubsub/<rest>`: publishes the body. `headers` are the request's.
pub async fn publish<B>(
    api: &PubsubApi,
    headers: &HeaderMap,
    rest: &str,
    body: B,
) -> Result<Response, HttpError>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Display,
{
    let topic = decode_topic(rest)?;
    let data = read_message(headers, body).await?;
    api.backend.publish(&topic, data).await?;
    let mut headers = api.base_headers();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    let mut response = Response::new(Body::empty());
    *response.headers_mut() = headers;
    Ok(response)
}

/// Whether Accept names `text/event-stream` (what `EventSource` sends).
fn accepts_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|range| {
            let media = range.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case("text/event-stream")
        })
}

/// The JSON answer: `{"id":…,"topic":…,"subscribed":…}`.
fn info(api: &PubsubApi, topic: &str) -> Response {
    let subscribed = api.backend.is_subscribed(topic);
    let mut json = BytesMut::with_capacity(64 + topic.len() + api.backend.peer_id().len());
    json.put_slice(b"{\"id\":");
    push_json_str(&mut json, api.backend.peer_id());
    json.put_slice(b",\"topic\":");
    push_json_str(&mut json, topic);
    json.put_slice(if subscribed {
        b",\"subscribed\":true}"
    } else {
        b",\"subscribed\":false}"
    });
    let mut headers = api.base_headers();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let mut text = HeaderText::new();
    text.set_u64(header::CONTENT_LENGTH, json.len() as u64);
    text.apply(&mut headers);
    let mut response = Response::new(Body::full(json.freeze()));
    *response.headers_mut() = headers;
    response
}

fn event_stream_response(api: &PubsubApi, body: Body) -> Response {
    let mut headers = api.base_headers();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(X_ACCEL_BUFFERING, HeaderValue::from_static("no"));
    let mut response = Response::new(body);
    *response.headers_mut() = headers;
    response
}

fn too_large(size: impl Display) -> HttpError {
    HttpError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "a pubsub message is at most {MAX_MESSAGE_BYTES} bytes (1 MiB); this one has {size}"
        ),
    )
}

/// Reads a message body of at most [`MAX_MESSAGE_BYTES`]: refused up front when its
/// Content-Length says it is larger, and counted as it arrives otherwise (chunked bodies).
async fn read_message<B>(headers: &HeaderMap, mut body: B) -> Result<Bytes, HttpError>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Display,
{
    let declared = match headers.get(header::CONTENT_LENGTH) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| HttpError::bad_request("malformed Content-Length"))?,
        ),
    };
    if let Some(len) = declared.filter(|&len| len > MAX_MESSAGE_BYTES as u64) {
        // With `Expect: 100-continue` the client has not sent the body and waits: reading it
        // would make hyper invite it to.
        if len <= LINGER_BYTES && !expects_continue(headers) {
            linger(&mut body).await;
        }
        return Err(too_large(format!("{len} (Content-Length)")));
    }
    let read = async {
        // One frame (the usual case for small messages) is kept as is; more are joined.
        let mut first: Option<Bytes> = None;
        let mut joined = BytesMut::new();
        let mut total = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame
                .map_err(|e| HttpError::bad_request(format!("reading the message failed: {e}")))?;
            let Ok(data) = frame.into_data() else {
                continue; // trailers
            };
            total += data.len();
            if total > MAX_MESSAGE_BYTES {
                linger(&mut body).await;
                return Err(too_large(format!("more than {MAX_MESSAGE_BYTES}")));
            }
            match first.take() {
                None if joined.is_empty() => first = Some(data),
                earlier => {
                    if let Some(earlier) = earlier {
                        // Bounded: the declared length was checked, and `total` is.
                        let hint = declared.map_or(0, |len| len as usize);
                        joined.reserve(hint.max(earlier.len() + data.len()));
                        joined.put(earlier);
                    }
                    joined.put(data);
                }
            }
        }
        Ok(first.unwrap_or_else(|| joined.freeze()))
    };
    tokio::time::timeout(BODY_READ_TIMEOUT, read)
        .await
        .map_err(|_| {
            HttpError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the message body did not arrive within {} s",
                    BODY_READ_TIMEOUT.as_secs()
                ),
            )
        })?
}

fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
}

/// Reads and discards the rest of a refused body, within [`LINGER_BYTES`] and [`LINGER_TIME`].
async fn linger<B>(body: &mut B)
where
    B: http_body::Body<Data = Bytes> + Unpin,
{
    let discard = async {
        let mut seen = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(data) = frame.data_ref() {
                seen += data.len() as u64;
                if seen > LINGER_BYTES {
                    break;
                }
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, discard).await;
}

/// The event stream of one subscription, as a response body: one event per message, an
/// `error` event when messages were lost to a slow reader, and a comment line every keep-alive
/// period. Dropping it (hyper does when the client goes away) ends the subscription.
pub struct EventStream {
    subscription: Subscription,
    format: Format,
    keep_alive_period: Duration,
    /// Made on the first poll, inside the runtime (creating a timer needs one).
    keep_alive: Option<Interval>,
    ended: bool,
}

impl EventStream {
    pub fn new(subscription: Subscription, format: Format, keep_alive: Duration) -> Self {
        EventStream {
            subscription,
            format,
            keep_alive_period: keep_alive.max(Duration::from_millis(1)),
            keep_alive: None,
            ended: false,
        }
    }

    fn poll_keep_alive(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.keep_alive.is_none() {
            if tokio::runtime::Handle::try_current().is_err() {
                return Poll::Pending; // polled outside a runtime (a bench): no timer
            }
            let period = self.keep_alive_period;
            let mut interval = tokio::time::interval_at(Instant::now() + period, period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            self.keep_alive = Some(interval);
        }
        match &mut self.keep_alive {
            Some(interval) => interval.poll_tick(cx).map(drop),
            None => Poll::Pending,
        }
    }
}

impl http_body::Body for EventStream {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        let mut out = BytesMut::new();
        while out.len() < COALESCE_BYTES {
            match this.subscription.poll_recv(cx) {
                Poll::Ready(Some(Received::Message(message))) => {
                    encode_message(&mut out, &message, this.format);
                }
                Poll::Ready(Some(Received::Lagged(lost))) => {
                    // Writing to a BytesMut cannot fail.
                    let _ = write!(out, "event: error\ndata: lost {lost} messages\n\n");
                }
                Poll::Ready(None) => {
                    // The bus closed (server shutdown): end the response cleanly.
                    this.ended = true;
                    break;
                }
                Poll::Pending => break,
            }
        }
        if !out.is_empty() {
            return Poll::Ready(Some(Ok(Frame::data(out.freeze()))));
        }
        if this.ended {
            return Poll::Ready(None);
        }
        match this.poll_keep_alive(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(
                KEEP_ALIVE_COMMENT,
            ))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// Appends one message's event: `id: <base64 seqno>` and
/// `data: {"from":…,"data":…,"topics":[…]}`; or an `error-decode` event (no id, as the
/// Agregore daemon sends it) when the bytes do not decode in `format`.
pub fn encode_message(out: &mut BytesMut, message: &Message, format: Format) {
    let data = &message.data[..];
    match format {
        Format::Utf8 if std::str::from_utf8(data).is_err() => {
            push_event(out, "error-decode", "not valid UTF-8");
            return;
        }
        Format::Json => {
            // Validated without building a value; the text itself is sent (below).
            if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(data) {
                push_event(out, "error-decode", &e.to_string());
                return;
            }
        }
        _ => {}
    }
    let value_len = match format {
        Format::Base64 => data_encoding::BASE64.encode_len(data.len()) + 2,
        _ => data.len() + 2,
    };
    out.reserve(64 + message.from.len() + value_len + 8 * message.topics.len());
    out.put_slice(b"id: ");
    push_base64(out, &message.seqno_bytes());
    out.put_slice(b"\ndata: {\"from\":");
    push_json_str(out, &message.from);
    out.put_slice(b",\"data\":");
    match format {
        Format::Base64 => {
            out.put_u8(b'"');
            push_base64(out, data);
            out.put_u8(b'"');
        }
        // Checked above.
        Format::Utf8 => push_json_str(out, std::str::from_utf8(data).unwrap_or_default()),
        Format::Json => push_json_text(out, data),
    }
    out.put_slice(b",\"topics\":[");
    for (i, topic) in message.topics.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        push_json_str(out, topic);
    }
    out.put_slice(b"]}\n\n");
}

fn push_base64(out: &mut BytesMut, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + data_encoding::BASE64.encode_len(bytes.len()), 0);
    data_encoding::BASE64.encode_mut(bytes, &mut out[start..]);
}

/// Appends `text` as a JSON string literal (escaped, so never a line break).
fn push_json_str(out: &mut BytesMut, text: &str) {
    // Writing a &str to an in-memory buffer cannot fail.
    let _ = serde_json::to_writer(out.writer(), text);
}

/// Appends valid JSON text on one line. JSON strings cannot hold raw CR or LF (RFC 8259 §7),
/// so any there are whitespace between tokens and become spaces; SSE would otherwise read
/// them as the end of the `data:` line.
fn push_json_text(out: &mut BytesMut, json: &[u8]) {
    let json = json.trim_ascii();
    if memchr::memchr2(b'\n', b'\r', json).is_none() {
        out.put_slice(json);
        return;
    }
    out.extend(
        json.iter()
            .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
    );
}

/// Appends an event with no id: `event: <name>` and one `data:` line holding `text`, whose CR
/// and LF become spaces so that it cannot end the line early (an SSE line ends at either).
fn push_event(out: &mut BytesMut, name: &str, text: &str) {
    out.put_slice(b"event: ");
    out.put_slice(name.as_bytes());
    out.put_slice(b"\ndata: ");
    out.extend(
        text.bytes()
            .map(|b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
    );
    out.put_slice(b"\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::pubsub::LocalBus;
    use http_body_util::Full;
    use smallvec::smallvec;
    use std::task::Waker;

    const PEER: &str = "12D3KooWGzBRkDP1B1Qw1sSeXSDR2qZgGQwtgHgLBiaQTPjbbmNh";

    fn api() -> (Arc<LocalBus>, PubsubApi) {
        let bus = Arc::new(LocalBus::new(PEER));
        (bus.clone(), PubsubApi::new(bus))
    }

    fn msg(seqno: u64, data: &[u8], topics: &[&str]) -> Message {
        Message {
            from: Arc::from(PEER),
            seqno,
            data: Bytes::copy_from_slice(data),
            topics: topics.iter().map(|t| Arc::from(*t)).collect(),
        }
    }

    fn error(result: Result<Response, HttpError>) -> HttpError {
        match result {
            Ok(response) => panic!("expected an error, got {}", response.status()),
            Err(e) => e,
        }
    }

    fn encoded(message: &Message, format: Format) -> String {
        let mut out = BytesMut::new();
        encode_message(&mut out, message, format);
        String::from_utf8(out.to_vec()).unwrap()
    }

    fn request(method: Method, uri: &str, accept: Option<&str>) -> Request<()> {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(accept) = accept {
            builder = builder.header(header::ACCEPT, accept);
        }
        builder.body(()).unwrap()
    }

    fn poll_body(
        body: &mut (impl http_body::Body<Data = Bytes, Error = BoxError> + Unpin),
    ) -> Poll<Option<String>> {
        let mut cx = Context::from_waker(Waker::noop());
        Pin::new(body).poll_frame(&mut cx).map(|frame| {
            frame.map(|f| {
                let data = f.unwrap().into_data().unwrap();
                String::from_utf8(data.to_vec()).unwrap()
            })
        })
    }

    #[test]
    fn spec_example_event() {
        // The seed's example: id FuhB2orEIwE= is these 8 bytes; data "hello" is aGVsbG8=.
        let seqno = u64::from_be_bytes([0x16, 0xe8, 0x41, 0xda, 0x8a, 0xc4, 0x23, 0x01]);
        let m = Message {
            from: Arc::from("QmfULfLaRtF7Kg3ShjFdiYL97P7eEcyL4PcvQLhkzCPCeG"),
            seqno,
            data: Bytes::from_static(b"hello"),
            topics: smallvec![Arc::from("test")],
        };
        assert_eq!(
            encoded(&m, Format::Base64),
            "id: FuhB2orEIwE=\ndata: {\"from\":\"QmfULfLaRtF7Kg3ShjFdiYL97P7eEcyL4PcvQLhkzCPCeG\",\
             \"data\":\"aGVsbG8=\",\"topics\":[\"test\"]}\n\n"
        );
    }

    #[test]
    fn formats() {
        let m = msg(1, "héllo \"x\"\n".as_bytes(), &["a b/c", "q\"t"]);
        let utf8 = encoded(&m, Format::Utf8);
        assert_eq!(
            utf8,
            format!(
                "id: AAAAAAAAAAE=\ndata: {{\"from\":\"{PEER}\",\"data\":\"héllo \\\"x\\\"\\n\",\
                 \"topics\":[\"a b/c\",\"q\\\"t\"]}}\n\n"
            )
        );
        // Newlines inside JSON whitespace stay off the data line; the value is unchanged.
        let json = msg(2, b" {\"a\":\r\n [1, 2.50, \"x\\ny\"]}\n", &["t"]);
        let line = encoded(&json, Format::Json);
        let data_line = line.lines().nth(1).unwrap().strip_prefix("data: ").unwrap();
        assert_eq!(line.matches('\n').count(), 3, "{line:?}");
        let value: serde_json::Value = serde_json::from_str(data_line).unwrap();
        assert_eq!(value["data"], serde_json::json!({"a": [1, 2.5, "x\ny"]}));
        assert!(data_line.contains("2.50"), "the publisher's text is kept");
        let raw = msg(3, &[0, 255, 10], &["t"]);
        let base64 = encoded(&raw, Format::Base64);
        assert!(base64.contains("\"data\":\"AP8K\""), "{base64}");
    }

    #[test]
    fn decode_errors() {
        let bad_utf8 = msg(1, &[0x66, 0xff], &["t"]);
        assert_eq!(
            encoded(&bad_utf8, Format::Utf8),
            "event: error-decode\ndata: not valid UTF-8\n\n"
        );
        for bad_json in [&b"{\"a\":"[..], b"[1] x", b"\xff", b"", b"\"a\nb\""] {
            let event = encoded(&msg(1, bad_json, &["t"]), Format::Json);
            let rest = event.strip_prefix("event: error-decode\ndata: ").unwrap();
            let text = rest.strip_suffix("\n\n").unwrap();
            assert!(
                !text.is_empty() && !text.contains(['\n', '\r']),
                "{event:?}"
            );
        }
        // Nesting deeper than serde_json's limit is an error, not a stack overflow.
        let deep = "[".repeat(100_000);
        assert!(encoded(&msg(1, deep.as_bytes(), &["t"]), Format::Json)
            .starts_with("event: error-decode\n"));
    }

    #[test]
    fn format_parameter() {
        assert_eq!(Format::from_query(None).unwrap(), Format::Base64);
        assert_eq!(Format::from_query(Some("x=1")).unwrap(), Format::Base64);
        assert_eq!(
            Format::from_query(Some("format=JSON")).unwrap(),
            Format::Json
        );
        assert_eq!(
            Format::from_query(Some("format=Utf8")).unwrap(),
            Format::Utf8
        );
        assert_eq!(
            Format::from_query(Some("format=base64")).unwrap(),
            Format::Base64
        );
        for bad in ["format=", "format=text", "format=utf-8"] {
            assert_eq!(
                Format::from_query(Some(bad)).unwrap_err().status,
                StatusCode::BAD_REQUEST
            );
        }
    }

    #[test]
    fn topics() {
        assert_eq!(decode_topic("a%20b/c").unwrap(), "a b/c");
        assert_eq!(decode_topic("x/y/").unwrap(), "x/y/");
        assert_eq!(
            decode_topic("").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            decode_topic("%ff").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn accept_matching() {
        let mut headers = HeaderMap::new();
        assert!(!accepts_event_stream(&headers));
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, Text/Event-Stream;q=0.9"),
        );
        assert!(accepts_event_stream(&headers));
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/event-streamx"),
        );
        assert!(!accepts_event_stream(&headers));
    }

    #[test]
    fn info_reports_subscription() {
        let (bus, api) = api();
        let get = request(Method::GET, "/pubsub/a%2Fb", None);
        let body = |response: Response| {
            let mut body = response.into_body();
            match poll_body(&mut body) {
                Poll::Ready(Some(text)) => text,
                other => panic!("{other:?}"),
            }
        };
        let response = read(&api, &get, "a%2Fb").unwrap();
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[X_IPFS_ID], PEER);
        assert_eq!(
            body(response),
            format!("{{\"id\":\"{PEER}\",\"topic\":\"a/b\",\"subscribed\":false}}")
        );
        let sub = bus.subscribe("a/b").unwrap();
        assert!(body(read(&api, &get, "a%2Fb").unwrap()).ends_with("\"subscribed\":true}"));
        drop(sub);
        assert!(body(read(&api, &get, "a%2Fb").unwrap()).ends_with("\"subscribed\":false}"));
    }

    #[test]
    fn head_never_fails_and_never_subscribes() {
        let (bus, api) = api();
        for (rest, accept) in [
            ("", None),
            ("x?format=bogus", Some("text/event-stream")),
            ("%ff", None),
        ] {
            let head = request(Method::HEAD, &format!("/pubsub/{rest}"), accept);
            let response = read(&api, &head, rest.split('?').next().unwrap()).unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(bus.topic_count(), 0);
        }
        // Same headers as GET.
        let get = read(&api, &request(Method::GET, "/pubsub/t", None), "t").unwrap();
        let head = read(&api, &request(Method::HEAD, "/pubsub/t", None), "t").unwrap();
        assert_eq!(get.headers(), head.headers());
    }

    #[test]
    fn stream_request_checks() {
        let (bus, api) = api();
        let sse = Some("text/event-stream");
        let bad = read(
            &api,
            &request(Method::GET, "/pubsub/t?format=xml", sse),
            "t",
        );
        assert_eq!(error(bad).status, StatusCode::BAD_REQUEST);
        let empty = read(&api, &request(Method::GET, "/pubsub/", sse), "");
        assert_eq!(error(empty).status, StatusCode::BAD_REQUEST);
        assert_eq!(bus.topic_count(), 0);
        let ok = read(&api, &request(Method::GET, "/pubsub/t", sse), "t").unwrap();
        assert_eq!(ok.headers()[header::CONTENT_TYPE], "text/event-stream");
        assert_eq!(ok.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(ok.headers()["x-accel-buffering"], "no");
        assert!(ok.headers().get(header::CONTENT_LENGTH).is_none());
        assert_eq!(bus.subscriber_count("t"), 1);
        drop(ok);
        assert_eq!(
            bus.subscriber_count("t"),
            0,
            "dropping the body unsubscribes"
        );
    }

    #[test]
    fn stream_body_delivers_coalesces_reports_loss_and_ends() {
        let bus = Arc::new(LocalBus::with_buffer(PEER, 4));
        let mut body = EventStream::new(
            bus.subscribe("t").unwrap(),
            Format::Utf8,
            KEEP_ALIVE_INTERVAL,
        );
        assert_eq!(poll_body(&mut body), Poll::Pending);
        bus.publish("t", Bytes::from_static(b"one")).unwrap();
        bus.publish("t", Bytes::from_static(b"two")).unwrap();
        let Poll::Ready(Some(frame)) = poll_body(&mut body) else {
            panic!("no frame")
        };
        assert_eq!(
            frame.matches("\n\n").count(),
            2,
            "two events in one frame: {frame}"
        );
        assert!(frame.find("\"one\"").unwrap() < frame.find("\"two\"").unwrap());
        for i in 0..10 {
            bus.publish("t", Bytes::from(format!("m{i}"))).unwrap();
        }
        let Poll::Ready(Some(frame)) = poll_body(&mut body) else {
            panic!("no frame")
        };
        assert!(
            frame.starts_with("event: error\ndata: lost 6 messages\n\n"),
            "{frame}"
        );
        assert!(frame.contains("\"m6\"") && frame.contains("\"m9\"") && !frame.contains("\"m5\""));
        bus.close();
        assert_eq!(poll_body(&mut body), Poll::Ready(None));
        assert!(http_body::Body::is_end_stream(&body));
    }

    #[test]
    fn frames_are_bounded() {
        let bus = Arc::new(LocalBus::new(PEER));
        let mut body = EventStream::new(
            bus.subscribe("t").unwrap(),
            Format::Base64,
            KEEP_ALIVE_INTERVAL,
        );
        for _ in 0..100 {
            bus.publish("t", Bytes::from(vec![1u8; 10_000])).unwrap();
        }
        let mut events = 0;
        while let Poll::Ready(Some(frame)) = poll_body(&mut body) {
            assert!(frame.len() < COALESCE_BYTES + 20_000);
            events += frame.matches("\n\n").count();
        }
        assert_eq!(events, 100);
    }

    #[tokio::test]
    async fn keep_alive_comment_when_idle() {
        let bus = Arc::new(LocalBus::new(PEER));
        let body = EventStream::new(
            bus.subscribe("t").unwrap(),
            Format::Base64,
            Duration::from_millis(30),
        );
        let mut body = Body::stream(body);
        let started = Instant::now();
        let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(&frame[..], KEEP_ALIVE_COMMENT);
        assert!(started.elapsed() >= Duration::from_millis(25));
        bus.publish("t", Bytes::from_static(b"x")).unwrap();
        let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert!(frame.starts_with(b"id: "));
    }

    async fn post(
        api: &PubsubApi,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Response, HttpError> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        publish(api, &map, "t", Full::new(body)).await
    }

    #[tokio::test]
    async fn publish_limits() {
        let (bus, api) = api();
        let mut sub = bus.subscribe("t").unwrap();
        let max = Bytes::from(vec![b'a'; MAX_MESSAGE_BYTES]);
        let ok = post(&api, &[], max.clone()).await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        match sub.recv().await {
            Some(Received::Message(m)) => assert_eq!(m.data, max),
            other => panic!("{other:?}"),
        }
        // Counted while reading (no Content-Length) …
        let over = Bytes::from(vec![b'a'; MAX_MESSAGE_BYTES + 1]);
        let err = error(post(&api, &[], over.clone()).await);
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(err.message.contains("1 MiB"));
        // … and refused up front by Content-Length, even one that lies about a short body.
        let err = error(
            post(
                &api,
                &[("content-length", "1048577")],
                Bytes::from_static(b"x"),
            )
            .await,
        );
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
        let err = error(
            post(
                &api,
                &[
                    ("content-length", "99999999999999"),
                    ("expect", "100-continue"),
                ],
                Bytes::new(),
            )
            .await,
        );
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
        let err = error(post(&api, &[("content-length", "x")], Bytes::new()).await);
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        // Nothing refused was delivered.
        bus.publish("t", Bytes::from_static(b"end")).unwrap();
        match sub.recv().await {
            Some(Received::Message(m)) => assert_eq!(&m.data[..], b"end"),
            other => panic!("{other:?}"),
        }
        // An empty message is a message.
        post(&api, &[], Bytes::new()).await.unwrap();
        match sub.recv().await {
            Some(Received::Message(m)) => assert!(m.data.is_empty()),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn multi_frame_bodies_are_joined_and_counted() {
        use http_body_util::StreamBody;
        let (bus, api) = api();
        let mut sub = bus.subscribe("t").unwrap();
        let chunks = |sizes: Vec<usize>| {
            StreamBody::new(tokio_stream::iter(sizes.into_iter().enumerate().map(
                |(i, n)| {
                    Ok::<_, std::convert::Infallible>(Frame::data(Bytes::from(vec![i as u8; n])))
                },
            )))
        };
        let headers = HeaderMap::new();
        publish(&api, &headers, "t", chunks(vec![3, 0, 2, 1]))
            .await
            .unwrap();
        match sub.recv().await {
            Some(Received::Message(m)) => assert_eq!(&m.data[..], &[0, 0, 0, 2, 2, 3]),
            other => panic!("{other:?}"),
        }
        let half = MAX_MESSAGE_BYTES / 2;
        let err = error(publish(&api, &headers, "t", chunks(vec![half, half, 1])).await);
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
        publish(&api, &headers, "t", chunks(vec![half, half]))
            .await
            .unwrap();
        match sub.recv().await {
            Some(Received::Message(m)) => assert_eq!(m.data.len(), MAX_MESSAGE_BYTES),
            other => panic!("{other:?}"),
        }
    }
}
