//! Replies as go-ipfs-cmds writes them for Kubo (`http/responseemitter.go`): JSON encoded as
//! Go's `json.Encoder` encodes it (a newline after each value), every command reply chunked
//! with `Trailer: X-Stream-Error` and the `Access-Control-*-Headers` naming Kubo's stream
//! headers, and
//! - one value ([`single`]): `Content-Type: application/json`;
//! - a stream of values ([`stream`]): `X-Chunked-Output: 1`, one JSON value per line;
//! - bytes ([`raw`]): `X-Stream-Output: 1`;
//! - a failure ([`Failure`]): before the first value, `500 {"Message","Code":0,"Type":"error"}`
//!   (Kubo's commands return plain errors, code 0, which go-ipfs-cmds sends as 500); after
//!   it, the `X-Stream-Error` trailer; a request go-ipfs-cmds cannot even parse (a missing
//!   argument, an option that does not convert) a `400` in plain text, as `http.Error` writes.

use std::future::Future;

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::StatusCode;
use serde::Serialize;

use crate::http::go_json::to_go_json;
use crate::http::lines::{self, LineSender, Started};
use crate::http::{Body, Response};

const X_CHUNKED_OUTPUT: HeaderName = HeaderName::from_static("x-chunked-output");
const X_STREAM_OUTPUT: HeaderName = HeaderName::from_static("x-stream-output");
/// The headers go-ipfs-cmds lets browsers read (`Access-Control-Allow-Headers` and
/// `-Expose-Headers` on every command reply).
const STREAM_HEADERS: &str = "X-Stream-Output, X-Chunked-Output, X-Content-Length";
/// Chunks a stream's producer may be ahead of the client.
const STREAM_CAPACITY: usize = 16;

/// Why a command did not answer.
#[derive(Debug)]
pub enum Failure {
    /// The request itself is unusable (400, plain text).
    Request(String),
    /// The command failed (500, Kubo's JSON error).
    Command(String),
}

impl Failure {
    pub fn request(message: impl Into<String>) -> Failure {
        Failure::Request(message.into())
    }

    pub fn command(message: impl Into<String>) -> Failure {
        Failure::Command(message.into())
    }

    pub fn message(&self) -> &str {
        match self {
            Failure::Request(m) | Failure::Command(m) => m,
        }
    }

    pub fn into_response(self) -> Response {
        match self {
            Failure::Request(message) => plain(StatusCode::BAD_REQUEST, &message),
            Failure::Command(message) => command_error(&message),
        }
    }
}

/// A failure of the layers below is the command's: Kubo answers its own with code 0 (500).
impl From<crate::services::Error> for Failure {
    fn from(e: crate::services::Error) -> Self {
        Failure::Command(e.to_string())
    }
}

impl From<crate::store::Error> for Failure {
    fn from(e: crate::store::Error) -> Self {
        Failure::Command(e.to_string())
    }
}

/// Kubo's error object.
#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "Message")]
    message: &'a str,
    #[serde(rename = "Code")]
    code: u8,
    #[serde(rename = "Type")]
    kind: &'static str,
}

fn command_error(message: &str) -> Response {
    let body = to_go_json(&ErrorBody {
        message,
        code: 0,
        kind: "error",
    })
    .unwrap_or_default();
    let mut response = preamble(StatusCode::INTERNAL_SERVER_ERROR, chunked(body.into()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A body of known bytes sent chunked, as Go sends a reply of unknown length.
fn chunked(bytes: Bytes) -> Body {
    let (tx, body) = lines::channel(1);
    // The channel has room for the one chunk: this cannot fail.
    let _ = tx.try_send(bytes);
    Body::stream(body)
}

/// The headers every command reply carries (go-ipfs-cmds' `doPreamble`, and Kubo's `Server`).
fn preamble(status: StatusCode, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(STREAM_HEADERS),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(STREAM_HEADERS),
    );
    headers.insert(header::TRAILER, HeaderValue::from_static("X-Stream-Error"));
    headers.insert(header::SERVER, HeaderValue::from_static(SERVER));
    response
}

const SERVER: &str = concat!("cairn/", env!("CARGO_PKG_VERSION"));

/// One JSON value.
pub fn single<T: Serialize + ?Sized>(value: &T) -> Result<Response, Failure> {
    let body = to_go_json(value).map_err(|e| Failure::command(e.to_string()))?;
    let mut response = preamble(StatusCode::OK, chunked(body.into()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// Bytes (a block): `X-Stream-Output`, with the content type Kubo gives them.
pub fn raw(bytes: Bytes, content_type: &'static str) -> Response {
    let mut response = preamble(StatusCode::OK, chunked(bytes));
    let headers = response.headers_mut();
    headers.insert(X_STREAM_OUTPUT, HeaderValue::from_static("1"));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Where a stream's producer sends its values.
#[derive(Clone)]
pub struct Emitter {
    tx: LineSender,
}

impl Emitter {
    /// Sends one value as a JSON line; false when the client has gone away.
    pub async fn emit<T: Serialize + ?Sized>(&self, value: &T) -> bool {
        match to_go_json(value) {
            Ok(line) => self.tx.send(line).await,
            Err(_) => false,
        }
    }

    /// Sends bytes holding whole JSON lines (a producer batching many small values); false
    /// when the client has gone away. For a producer on a blocking thread.
    pub fn blocking_send(&self, lines: Vec<u8>) -> bool {
        self.tx.blocking_send(lines)
    }
}

/// A stream of values: `producer` runs on its own task with an [`Emitter`]. The reply waits
/// for its first value: a failure before it is an error status; one after it ends the stream
/// with the `X-Stream-Error` trailer (`trailers`: the client takes them), else by cutting the
/// connection.
pub async fn stream<F, Fut>(trailers: bool, producer: F) -> Response
where
    F: FnOnce(Emitter) -> Fut,
    Fut: Future<Output = Result<(), Failure>> + Send + 'static,
{
    let (tx, body) = lines::channel(STREAM_CAPACITY);
    let work = producer(Emitter { tx: tx.clone() });
    tokio::spawn(async move {
        if let Err(failure) = work.await {
            tx.fail(failure.message()).await;
        }
    });
    match body.start().await {
        Started::Failed(message) => command_error(&message),
        Started::Body(body) => {
            let body = if trailers {
                body
            } else {
                body.cut_on_failure()
            };
            let mut response = preamble(StatusCode::OK, Body::stream(body));
            let headers = response.headers_mut();
            headers.insert(X_CHUNKED_OUTPUT, HeaderValue::from_static("1"));
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
    }
}

/// A reply go-ipfs-cmds writes with `http.Error`: plain text, before any command runs.
pub fn plain(status: StatusCode, text: &str) -> Response {
    let mut response = Response::new(Body::from(format!("{text}\n")));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

pub fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// Go's `ServeMux` redirect of a subtree's root without its slash.
pub fn redirect(location: &'static str) -> Response {
    let mut response = empty(StatusCode::TEMPORARY_REDIRECT);
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(location));
    response
}
