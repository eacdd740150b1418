//! A client of the gateway's `/pubsub` event streams: opens a stream, reads its chunked body
//! as it arrives and splits it into server-sent events (WHATWG HTML §9.2); and a keep-alive
//! publisher.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{read_response, Response, Server};

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

impl Event {
    /// The `data` of a message event, parsed.
    pub fn json(&self) -> Value {
        assert_eq!(self.event, None, "not a message: {self:?}");
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("{e}: {:?}", self.data))
    }

    /// The id as the 8-byte sequence number it encodes.
    pub fn seqno(&self) -> u64 {
        let id = self.id.as_deref().expect("message event without id");
        let bytes = data_encoding::BASE64.decode(id.as_bytes()).unwrap();
        u64::from_be_bytes(bytes.try_into().expect("8-byte seqno"))
    }
}

/// A client of an event stream: sends the GET, then reads the chunked body incrementally and
/// splits it into events, skipping comment lines.
pub struct EventStream {
    reader: BufReader<TcpStream>,
    pending: Vec<u8>,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Comment lines (keep-alives) seen so far.
    pub comments: usize,
}

impl EventStream {
    pub fn open(server: &Server, path: &str) -> EventStream {
        EventStream::open_at(server.addr, path)
    }

    /// Opens `path` on the gateway at `addr`.
    pub fn open_at(addr: SocketAddr, path: &str) -> EventStream {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let status = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
        }
        let stream = EventStream {
            reader,
            pending: Vec::new(),
            status,
            headers,
            comments: 0,
        };
        assert_eq!(stream.status, 200, "{:?}", stream.headers);
        assert_eq!(stream.header("transfer-encoding"), Some("chunked"));
        stream
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Reads one chunk into `pending`; false at the end of the body.
    pub fn try_read_chunk(&mut self) -> bool {
        let mut size = String::new();
        self.reader.read_line(&mut size).unwrap();
        let size = usize::from_str_radix(size.trim(), 16)
            .unwrap_or_else(|_| panic!("bad chunk size line {size:?}"));
        if size == 0 {
            return false;
        }
        let start = self.pending.len();
        self.pending.resize(start + size + 2, 0);
        self.reader.read_exact(&mut self.pending[start..]).unwrap();
        assert_eq!(&self.pending[start + size..], b"\r\n");
        self.pending.truncate(start + size);
        true
    }

    pub fn read_chunk(&mut self) {
        assert!(self.try_read_chunk(), "the event stream ended");
    }

    pub fn next_event(&mut self) -> Event {
        self.next_event_before(None)
    }

    /// The next event, which must come within `limit` (keep-alive comments do not count).
    pub fn next_event_within(&mut self, limit: Duration) -> Event {
        self.next_event_before(Some(Instant::now() + limit))
    }

    fn next_event_before(&mut self, deadline: Option<Instant>) -> Event {
        loop {
            if let Some(deadline) = deadline {
                assert!(
                    Instant::now() < deadline,
                    "no event within the time allowed"
                );
            }
            if let Some(end) = self.pending.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.pending.drain(..end + 2).collect();
                let block = String::from_utf8(block).unwrap();
                let mut event = Event {
                    id: None,
                    event: None,
                    data: String::new(),
                };
                let mut fields = 0;
                for line in block.lines().filter(|l| !l.is_empty()) {
                    if line.starts_with(':') {
                        self.comments += 1;
                        continue;
                    }
                    let (name, value) = line.split_once(": ").unwrap_or((line, ""));
                    fields += 1;
                    match name {
                        "id" => event.id = Some(value.to_string()),
                        "event" => event.event = Some(value.to_string()),
                        "data" => {
                            assert!(event.data.is_empty(), "one data line per event");
                            event.data = value.to_string();
                        }
                        other => panic!("unexpected field {other:?} in {block:?}"),
                    }
                }
                if fields > 0 {
                    return event;
                }
                continue;
            }
            self.read_chunk();
        }
    }
}

/// A keep-alive connection that publishes.
pub struct Publisher {
    reader: BufReader<TcpStream>,
}

impl Publisher {
    pub fn new(server: &Server) -> Publisher {
        Publisher::at(server.addr)
    }

    /// A publisher to the gateway at `addr`.
    pub fn at(addr: SocketAddr) -> Publisher {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Publisher {
            reader: BufReader::new(stream),
        }
    }

    pub fn post(&mut self, path: &str, body: &[u8]) -> Response {
        let stream = self.reader.get_mut();
        // One write: a second small one would wait on Nagle's algorithm and delayed ACKs.
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        stream.write_all(&request).unwrap();
        read_response(&mut self.reader, false)
    }

    pub fn publish(&mut self, path: &str, body: &[u8]) {
        let response = self.post(path, body);
        assert_eq!(response.status, 200, "{}", response.text());
    }
}
