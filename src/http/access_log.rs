//! The access log (`--access-log PATH|-`): one line per request, written once its response
//! is sent (or abandoned), with the time it came, the client, the method, the request target,
//! the status, the body bytes sent, how long it took, where its blocks came from (`local`,
//! `bitswap`, `remote`, `-` when none was read) and the Host. `text` lines are
//!
//! ```text
//! 2025-06-01T12:00:00.123Z 127.0.0.1:51234 "GET /ipfs/bafy…/a.txt HTTP/1.1" 200 1234 0.000412 local example.com
//! ```
//!
//! and `json` lines one object with the same fields.
//!
//! The request path does no formatting and no I/O: it captures the fields (cheap clones of
//! what the request already holds) and hands them to a writer thread through a bounded
//! queue. A full queue (the disk far behind) drops lines and counts them, rather than
//! slowing requests; the writer reports what it dropped.

use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderValue, Method, Uri, Version};
use http_body::{Frame, SizeHint};

use super::body::BoxError;
use super::Body;
use crate::services::retrieval::Provenance;

/// Lines waiting for the writer, at most (well over a nap's worth at 100,000 requests a
/// second); past that they are dropped.
const QUEUE: usize = 32 * 1024;

/// How the log's lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(text: &str) -> Option<LogFormat> {
        match text {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// Where access log lines go.
pub struct AccessLog {
    queue: SyncSender<Entry>,
    dropped: Arc<AtomicU64>,
}

/// One request, as logged.
struct Entry {
    time: SystemTime,
    client: SocketAddr,
    method: Method,
    text: Copied,
    version: Version,
    status: u16,
    bytes: u64,
    duration: Duration,
    source: &'static str,
}

impl AccessLog {
    /// Opens `target` (`-`: standard output; otherwise a file, appended to) and starts the
    /// writer thread, which ends when the log is dropped.
    pub fn open(target: &str, format: LogFormat) -> std::io::Result<Arc<AccessLog>> {
        let out: Box<dyn Write + Send> = if target == "-" {
            Box::new(std::io::stdout())
        } else {
            Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(target)
                    .map_err(|e| std::io::Error::new(e.kind(), format!("{target}: {e}")))?,
            )
        };
        Ok(Self::to_writer(out, format))
    }

    /// A log writing to `out` (tests).
    pub fn to_writer(out: Box<dyn Write + Send>, format: LogFormat) -> Arc<AccessLog> {
        let (queue, entries) = std::sync::mpsc::sync_channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&dropped);
        let spawned = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_lines(entries, out, format, &counted));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "no access log writer: requests will not be logged");
        }
        Arc::new(AccessLog { queue, dropped })
    }

    fn log(&self, entry: Entry) {
        match self.queue.try_send(entry) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Starts the record of `request`, sent by `client` and arriving now.
    pub fn start<B>(&self, request: &http::Request<B>, client: SocketAddr) -> Pending {
        Pending {
            time: SystemTime::now(),
            started: Instant::now(),
            client,
            method: request.method().clone(),
            text: Copied::of(request.uri(), request.headers().get(http::header::HOST)),
            version: request.version(),
            provenance: Arc::default(),
        }
    }
}

/// A request being served, until its response is sent.
pub struct Pending {
    time: SystemTime,
    started: Instant,
    client: SocketAddr,
    method: Method,
    text: Copied,
    version: Version,
    provenance: Arc<Provenance>,
}

/// The request target and Host, copied out of the request. Keeping the request's own bytes
/// (which share hyper's read buffer) until the line is written would keep hyper from
/// reusing that buffer: a new one for every request costs more than this copy.
struct Copied {
    /// The target, then the Host (empty when none).
    text: String,
    target_len: usize,
}

impl Copied {
    fn of(uri: &Uri, host: Option<&HeaderValue>) -> Copied {
        let host = host.map_or(&b""[..], HeaderValue::as_bytes);
        let mut text = String::with_capacity(uri.path().len() + 64 + host.len());
        match (uri.scheme(), uri.path_and_query()) {
            // Origin form, nearly every request.
            (None, Some(target)) => text.push_str(target.as_str()),
            _ => {
                let _ = write!(text, "{uri}");
            }
        }
        let target_len = text.len();
        text.push_str(&String::from_utf8_lossy(host));
        Copied { text, target_len }
    }

    fn target(&self) -> &str {
        &self.text[..self.target_len]
    }

    fn host(&self) -> &str {
        &self.text[self.target_len..]
    }
}

impl Pending {
    /// Where this request's reads are recorded.
    pub fn provenance(&self) -> &Arc<Provenance> {
        &self.provenance
    }
}

/// A response body that writes its request's access log line once it is sent or dropped;
/// without a log it is its body and nothing more.
pub struct Logged {
    body: Body,
    record: Option<Box<Record>>,
}

struct Record {
    log: Arc<AccessLog>,
    pending: Pending,
    status: u16,
    bytes: u64,
}

impl Logged {
    /// A body that is not logged.
    pub fn off(body: Body) -> Logged {
        Logged { body, record: None }
    }

    /// The body of the response to `pending`'s request, logged to `log`.
    pub fn on(
        response: super::Response,
        log: Arc<AccessLog>,
        pending: Pending,
    ) -> http::Response<Logged> {
        let status = response.status().as_u16();
        response.map(|body| Logged {
            body,
            record: Some(Box::new(Record {
                log,
                pending,
                status,
                bytes: 0,
            })),
        })
    }
}

impl http_body::Body for Logged {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let Some(record) = &mut this.record else {
            return Pin::new(&mut this.body).poll_frame(cx);
        };
        let body = &mut this.body;
        let polled =
            Provenance::enter(&record.pending.provenance, || Pin::new(body).poll_frame(cx));
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                record.bytes += data.len() as u64;
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let Some(record) = self.record.take() else {
            return;
        };
        let Record {
            log,
            pending,
            status,
            bytes,
        } = *record;
        log.log(Entry {
            time: pending.time,
            client: pending.client,
            method: pending.method,
            text: pending.text,
            version: pending.version,
            status,
            bytes,
            duration: pending.started.elapsed(),
            source: pending.provenance.describe(),
        });
    }
}

/// How long the writer sleeps once it has written everything queued. The writer never
/// blocks on the queue: a receiver parked on it would have every request wake it (a futex
/// call and a context switch per request, a quarter of the throughput of a small-file load
/// on two cores); polling costs one wake-up per interval and delays lines by at most this.
const WRITER_NAP: Duration = Duration::from_millis(20);

/// The writer thread: formats and writes what is queued, flushes, naps, until the log is
/// dropped.
fn write_lines(
    entries: Receiver<Entry>,
    out: Box<dyn Write + Send>,
    format: LogFormat,
    dropped: &AtomicU64,
) {
    use std::sync::mpsc::TryRecvError;
    let mut out = std::io::BufWriter::with_capacity(64 << 10, out);
    let mut line = String::with_capacity(512);
    let mut clock = Clock::default();
    let mut failed = false;
    loop {
        let entry = match entries.try_recv() {
            Ok(entry) => entry,
            Err(empty_or_closed) => {
                let lost = dropped.swap(0, Ordering::Relaxed);
                if lost > 0 {
                    tracing::warn!(lines = lost, "access log behind: lines dropped");
                }
                if out.flush().is_ok() {
                    failed = false;
                }
                if empty_or_closed == TryRecvError::Disconnected {
                    return;
                }
                std::thread::sleep(WRITER_NAP);
                continue;
            }
        };
        line.clear();
        match format {
            LogFormat::Text => text_line(&entry, &mut clock, &mut line),
            LogFormat::Json => json_line(&entry, &mut clock, &mut line),
        }
        if let Err(e) = out.write_all(line.as_bytes()) {
            if !failed {
                tracing::error!(error = %e, "cannot write the access log");
                failed = true;
            }
        }
    }
}

/// `time client "METHOD target VERSION" status bytes seconds source host`.
fn text_line(entry: &Entry, clock: &mut Clock, line: &mut String) {
    clock.push(line, entry.time);
    let _ = write!(line, " {} \"{} ", entry.client, entry.method);
    push_escaped(line, entry.text.target());
    let micros = entry.duration.as_micros();
    let _ = write!(
        line,
        " {:?}\" {} {} {}.{:06} {} ",
        entry.version,
        entry.status,
        entry.bytes,
        micros / 1_000_000,
        micros % 1_000_000,
        entry.source
    );
    match entry.text.host() {
        "" => line.push('-'),
        host => push_escaped(line, host),
    }
    line.push('\n');
}

/// The writer's clock: the date and time of the last second seen, formatted once for every
/// line of that second.
#[derive(Default)]
struct Clock {
    second: u64,
    text: String,
}

impl Clock {
    /// Appends `time` as RFC 3339 UTC with milliseconds: `2025-06-01T12:00:00.123Z`.
    fn push(&mut self, line: &mut String, time: SystemTime) {
        let since = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        if self.text.is_empty() || since.as_secs() != self.second {
            self.second = since.as_secs();
            self.text.clear();
            let secs = self.second as i64;
            let (y, m, d) = crate::ipld::time::civil_from_days(secs.div_euclid(86_400));
            let of_day = secs.rem_euclid(86_400);
            let _ = write!(
                self.text,
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
                of_day / 3600,
                of_day / 60 % 60,
                of_day % 60
            );
        }
        line.push_str(&self.text);
        let _ = write!(line, ".{:03}Z", since.subsec_millis());
    }
}

fn json_line(entry: &Entry, clock: &mut Clock, line: &mut String) {
    let mut time = String::with_capacity(24);
    clock.push(&mut time, entry.time);
    let value = serde_json::json!({
        "time": time,
        "client": entry.client.to_string(),
        "method": entry.method.as_str(),
        "target": entry.text.target(),
        "version": format!("{:?}", entry.version),
        "status": entry.status,
        "bytes": entry.bytes,
        "duration_ms": entry.duration.as_secs_f64() * 1000.0,
        "source": entry.source,
        "host": Some(entry.text.host()).filter(|h| !h.is_empty()),
    });
    line.push_str(&value.to_string());
    line.push('\n');
}

/// Text that may hold anything (a Host header): spaces, quotes, backslashes and control
/// characters escaped, so one line stays one record of space-separated fields.
fn push_escaped(line: &mut String, text: &str) {
    // Request targets are ASCII: one pass over the bytes decides.
    let plain_ascii = |b: u8| b > b' ' && b < 0x7f && b != b'"' && b != b'\\';
    let plain = |c: char| match c {
        '"' | '\\' => false,
        c if c.is_ascii() => c.is_ascii_graphic(),
        c => !c.is_control(),
    };
    if text.bytes().all(plain_ascii) || (!text.is_ascii() && text.chars().all(plain)) {
        line.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '"' => line.push_str("\\\""),
            '\\' => line.push_str("\\\\"),
            c if c.is_control() || c == ' ' => {
                let _ = write!(line, "\\x{:02x}", c as u32);
            }
            c => line.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;
    use std::sync::Mutex;

    /// A writer whose bytes a test can read.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged_lines(format: LogFormat) -> String {
        let out = Shared::default();
        let log = AccessLog::to_writer(Box::new(out.clone()), format);
        let request = http::Request::get("/ipfs/bafkqaaa?format=raw")
            .header(http::header::HOST, "example.com")
            .body(())
            .unwrap();
        let pending = log.start(&request, "127.0.0.1:5555".parse().unwrap());
        let mut response = super::super::Response::new(Body::from("hello"));
        *response.status_mut() = http::StatusCode::CREATED;
        let mut body = Logged::on(response, Arc::clone(&log), pending).into_body();
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        while let Poll::Ready(Some(_)) = Pin::new(&mut body).poll_frame(&mut cx) {}
        drop(body);
        drop(log);
        for _ in 0..200 {
            let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
            if text.ends_with('\n') {
                return text;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("nothing logged");
    }

    #[test]
    fn a_text_line_per_request() {
        let line = logged_lines(LogFormat::Text);
        let fields: Vec<&str> = line.trim_end().split(' ').collect();
        assert_eq!(fields.len(), 10, "{line}");
        assert!(fields[0].ends_with('Z') && fields[0].len() == 24, "{line}");
        assert_eq!(fields[1], "127.0.0.1:5555");
        assert_eq!(
            &fields[2..5],
            ["\"GET", "/ipfs/bafkqaaa?format=raw", "HTTP/1.1\""]
        );
        assert_eq!(&fields[5..7], ["201", "5"]);
        assert!(fields[7].parse::<f64>().is_ok(), "{line}");
        assert_eq!(&fields[8..], ["-", "example.com"]);
    }

    #[test]
    fn a_json_line_per_request() {
        let line = logged_lines(LogFormat::Json);
        let value: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(value["status"], 201);
        assert_eq!(value["bytes"], 5);
        assert_eq!(value["target"], "/ipfs/bafkqaaa?format=raw");
        assert_eq!(value["host"], "example.com");
        assert_eq!(value["source"], "-");
    }

    #[test]
    fn odd_text_stays_one_field() {
        let mut line = String::new();
        push_escaped(&mut line, "a b\"c\\\n");
        assert_eq!(line, "a\\x20b\\\"c\\\\\\x0a");
        let mut plain = String::new();
        push_escaped(&mut plain, "/ipfs/bafy/ą.txt?x=1");
        assert_eq!(plain, "/ipfs/bafy/ą.txt?x=1");
    }

    #[test]
    fn the_clock_formats_each_second_once() {
        let at = |ms| SystemTime::UNIX_EPOCH + Duration::from_millis(ms);
        let mut clock = Clock::default();
        for (ms, text) in [
            (1_700_000_000_123, "2023-11-14T22:13:20.123Z"),
            (1_700_000_000_999, "2023-11-14T22:13:20.999Z"),
            (1_700_000_061_005, "2023-11-14T22:14:21.005Z"),
        ] {
            let mut time = String::new();
            clock.push(&mut time, at(ms));
            assert_eq!(time, text);
        }
    }
}
