//! Streaming, sans-IO parser for `multipart/form-data` upload bodies (RFC 7578), framed as
//! RFC 2046 §5.1 describes, as sent by browsers' `FormData` and by the Go IPFS clients
//! (`boxo/files.MultiFileReader`, used by ipfs-cluster-ctl and Kubo's HTTP API client).
//!
//! This module owns:
//! - the boundary parameter of the request's `Content-Type` ([`boundary_from_content_type`]),
//! - the delimiter framing: preamble and epilogue are skipped, transport padding after a
//!   boundary is allowed, the close delimiter ends the body (RFC 2046 §5.1.1),
//! - each part's header block and its `Content-Disposition` (RFC 7578 §4.2, RFC 6266
//!   parameter syntax, `filename*` per RFC 8187) and `Content-Type`,
//! - the Go clients' conventions on top of it: `%`-encoded paths in `filename`, `mode`/`mtime`
//!   in the `name` query, and the directory/symlink content types ([`PartKind`]).
//!
//! The parser is push-style ([`MultipartParser::push`], [`MultipartParser::finish`],
//! [`MultipartParser::next`]) and never buffers a part body: data is handed on as
//! [`Bytes`] slices of the pushed chunks as soon as it is known not to be the start of a
//! delimiter; at most `boundary.len() + 3` bytes (a proper prefix of `CRLF--boundary`)
//! are held back. Header blocks are buffered (and copied) up to
//! [`Limits::max_header_bytes`].
//!
//! Strictness choices (each deliberate):
//! - Lines end in CRLF. Go's `mime/multipart` switches to bare-LF mode when the first
//!   boundary line ends in LF; multer and the RFC do not, and neither browsers nor Go's
//!   `multipart.Writer` ever send it, so a bare LF gets its own error instead.
//! - `CRLF--boundary` followed by anything but `--`, whitespace or CRLF is an error, not data
//!   (RFC 2046 §5.1.1: the delimiter must not appear as the prefix of any line; multer does
//!   the same; Go treats it as data).
//! - A part's body starts after its header block's empty line; Go additionally accepts a
//!   delimiter that shares that CRLF (`...\r\n\r\n--b`), no writer produces it, we do not.
//! - Duplicate `Content-Disposition`/`Content-Type` headers and conflicting duplicate
//!   `name`/`filename` parameters are errors (a parameter-smuggling guard; Go rejects the
//!   conflicting parameters too).
//! - `Content-Transfer-Encoding` is not interpreted (RFC 7578 §4.7 deprecates it).

use std::borrow::Cow;
use std::collections::VecDeque;

use bytes::{Buf, Bytes};
use memchr::memmem::Finder;
use smallvec::SmallVec;

/// Most headers a part may carry, whatever [`Limits::max_headers`] says: the header slots
/// live on the stack.
pub const MAX_HEADERS_HARD_CAP: usize = 64;

/// Bounds on what a body may make the parser hold or count. Defaults: 8 KiB header block,
/// 16 headers, 10,000 parts, 4 KiB names, 64 KiB preamble, 256 bytes of padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest header block of one part, its terminating empty line included.
    pub max_header_bytes: usize,
    /// Most header fields in one part (clamped to [`MAX_HEADERS_HARD_CAP`]).
    pub max_headers: usize,
    /// Most parts in one body.
    pub max_parts: usize,
    /// Longest `name` or `filename` (after `filename*` decoding), in bytes.
    pub max_name_bytes: usize,
    /// The first boundary's `--` must start at most this many bytes into the body.
    pub max_preamble_bytes: usize,
    /// Most transport-padding bytes (SP/HT) after a boundary, before its CRLF.
    pub max_padding_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 8 * 1024,
            max_headers: 16,
            max_parts: 10_000,
            max_name_bytes: 4 * 1024,
            max_preamble_bytes: 64 * 1024,
            max_padding_bytes: 256,
        }
    }
}

/// Why a body (or its `Content-Type`) was rejected. Offsets are 0-based byte offsets into
/// the body; parts are numbered from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    /// The request's media type is something other than `multipart/form-data`.
    #[error("Content-Type `{media_type}` is not multipart/form-data")]
    NotFormData { media_type: String },
    /// The request's `Content-Type` does not parse as `type; param=value...`.
    #[error("malformed Content-Type header: {detail}")]
    MalformedContentType { detail: &'static str },
    /// `multipart/form-data` without `boundary=`.
    #[error("no boundary parameter in Content-Type")]
    NoBoundary,
    /// Two `boundary` parameters with different values.
    #[error("Content-Type has conflicting boundary parameters")]
    DuplicateBoundary,
    /// The boundary breaks RFC 2046 §5.1.1.
    #[error("invalid multipart boundary: {reason}")]
    InvalidBoundary { reason: &'static str },
    /// No delimiter starts within [`Limits::max_preamble_bytes`].
    #[error("no boundary delimiter within the first {limit} bytes of the body")]
    PreambleTooLong { limit: usize },
    /// The body ended before any delimiter.
    #[error("body ended at byte {offset} before the first boundary delimiter")]
    MissingFirstBoundary { offset: u64 },
    /// Something other than `--`, whitespace or CRLF follows a boundary.
    #[error(
        "malformed boundary line at byte {offset}: expected \"--\", whitespace or CRLF after \
         the boundary, found byte 0x{found:02x}"
    )]
    MalformedDelimiter { offset: u64, found: u8 },
    /// A boundary line ends in LF alone.
    #[error(
        "boundary line ends in a bare LF at byte {offset}; CRLF is required (RFC 2046 §5.1.1)"
    )]
    BareLfDelimiter { offset: u64 },
    /// Too much whitespace after a boundary.
    #[error("boundary line at byte {offset} has more than {limit} bytes of transport padding")]
    PaddingTooLong { offset: u64, limit: usize },
    /// The body ended in the middle of a boundary line.
    #[error("body ended at byte {offset} inside a boundary line")]
    EndInDelimiter { offset: u64 },
    /// One part more than [`Limits::max_parts`].
    #[error("more than {limit} parts (the boundary of the next one is at byte {offset})")]
    TooManyParts { limit: usize, offset: u64 },
    /// A header block longer than [`Limits::max_header_bytes`].
    #[error("part {part} headers exceed {limit} bytes (headers start at byte {offset})")]
    HeadersTooLarge {
        part: usize,
        offset: u64,
        limit: usize,
    },
    /// More header fields than [`Limits::max_headers`].
    #[error("part {part} has more than {limit} headers (headers start at byte {offset})")]
    TooManyHeaders {
        part: usize,
        offset: u64,
        limit: usize,
    },
    /// A header line ends in LF alone.
    #[error("part {part} headers have a bare LF at byte {offset}; CRLF is required")]
    BareLfInHeaders { part: usize, offset: u64 },
    /// A header line that is not `name: value`.
    #[error("part {part} headers at byte {offset} are malformed: {detail}")]
    MalformedHeaders {
        part: usize,
        offset: u64,
        detail: &'static str,
    },
    /// `Content-Disposition` or `Content-Type` given twice.
    #[error("part {part} has more than one {header} header (headers start at byte {offset})")]
    DuplicateHeader {
        part: usize,
        offset: u64,
        header: &'static str,
    },
    /// A header this parser decodes is not UTF-8.
    #[error("part {part} {header} header is not valid UTF-8 (headers start at byte {offset})")]
    InvalidUtf8 {
        part: usize,
        offset: u64,
        header: &'static str,
    },
    /// `Content-Disposition` does not parse.
    #[error(
        "part {part} has a malformed Content-Disposition header (headers start at byte \
         {offset}): {detail}"
    )]
    MalformedContentDisposition {
        part: usize,
        offset: u64,
        detail: &'static str,
    },
    /// `name`, `filename` or `filename*` given twice with different values.
    #[error(
        "part {part} Content-Disposition has conflicting `{param}` parameters (headers start \
         at byte {offset})"
    )]
    DuplicateParameter {
        part: usize,
        offset: u64,
        param: &'static str,
    },
    /// `name` or `filename` longer than [`Limits::max_name_bytes`].
    #[error("part {part} {field} is longer than {limit} bytes (headers start at byte {offset})")]
    NameTooLong {
        part: usize,
        offset: u64,
        field: &'static str,
        limit: usize,
    },
    /// The body ended before a part's header block was complete.
    #[error("body ended at byte {offset} inside the headers of part {part}")]
    EndInHeaders { part: usize, offset: u64 },
    /// The body ended inside a part, before the closing boundary.
    #[error("body ended at byte {offset} inside part {part}, before the closing boundary")]
    EndInBody { part: usize, offset: u64 },
    /// The caller pushed a chunk after [`MultipartParser::finish`].
    #[error("multipart parser: push() called after finish()")]
    PushAfterFinish,
}

/// What a part stands for, from its `Content-Type` (the Go clients' convention, see
/// `boxo/files/multipartfile.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    /// A regular file or a plain form field (`application/octet-stream`, anything else, or
    /// no `Content-Type`).
    File,
    /// `application/x-directory` (or `multipart/form-data`, as boxo also accepts): a
    /// directory entry; its body is empty.
    Directory,
    /// `application/symlink`: the body is the link target.
    Symlink,
}

/// File metadata the Go clients put in the query of the `name` parameter
/// (`name="file?mode=0644&mtime=1700000000&mtime-nsecs=5"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileMeta {
    /// Go `os.FileMode` bits, parsed as octal: permissions in `mode & 0o7777`, Go's type
    /// bits (e.g. `1 << 31` for directories) above them.
    pub mode: Option<u32>,
    /// Modification time, seconds since the Unix epoch.
    pub mtime: Option<i64>,
    /// Nanoseconds within `mtime` (0 when absent), always below 1e9.
    pub mtime_nsecs: u32,
}

/// The headers of one part, with the fields uploads need decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartHeaders {
    /// The `Content-Disposition` type, lowercased: `form-data` from browsers and Go form
    /// uploads, `attachment` from Go's non-form mode.
    pub disposition: Option<String>,
    /// The `name` parameter, as sent (Go clients append `?mode=...`; see
    /// [`PartHeaders::field_name`] and [`PartHeaders::file_meta`]).
    pub name: Option<String>,
    /// The filename: `filename*` (RFC 8187, UTF-8 or US-ASCII) when present and decodable,
    /// else `filename` with quoted-string escapes removed. Not `%`-decoded: see
    /// [`PartHeaders::path`].
    pub filename: Option<String>,
    /// The `Content-Type` header value, trimmed.
    pub content_type: Option<String>,
    /// Every header field in order, as sent (name, value): slices of one copy of the
    /// part's header block.
    pub raw: SmallVec<[(Bytes, Bytes); 4]>,
}

impl PartHeaders {
    /// The first header named `name` (case-insensitive), as sent.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.raw
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| &v[..])
    }

    /// Directory, symlink or file, from the media type of `Content-Type`.
    pub fn kind(&self) -> PartKind {
        let Some(content_type) = &self.content_type else {
            return PartKind::File;
        };
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if media_type.eq_ignore_ascii_case("application/x-directory")
            || media_type.eq_ignore_ascii_case("multipart/form-data")
        {
            PartKind::Directory
        } else if media_type.eq_ignore_ascii_case("application/symlink") {
            PartKind::Symlink
        } else {
            PartKind::File
        }
    }

    /// `name` without the Go clients' `?query` suffix.
    pub fn field_name(&self) -> Option<&str> {
        let name = self.name.as_deref()?;
        Some(name.split_once('?').map_or(name, |(field, _)| field))
    }

    /// `mode`/`mtime`/`mtime-nsecs` from the query in `name`, read the way boxo's
    /// `fileInfo` reads them: `url.ParseQuery` (any malformed pair or a `;` drops all of
    /// it), first value wins, `mode` octal `u32`, `mtime`/`mtime-nsecs` decimal `i64`, an
    /// unparsable `mtime` drops the time. Unlike Go, an absent `mtime` stays `None` rather
    /// than becoming the epoch.
    pub fn file_meta(&self) -> FileMeta {
        match self.name.as_deref().and_then(|name| name.split_once('?')) {
            Some((_, query)) => parse_file_meta(query),
            None => FileMeta::default(),
        }
    }

    /// The file path the Go server side would use, before cleaning: `filename` through
    /// Go's `url.QueryUnescape` (`%XX` to bytes and `+` to space), or `filename` unchanged
    /// when that fails (a bad `%` escape, or a result that is not UTF-8), exactly as
    /// boxo's `fileName` does. Browsers send raw names, so a browser's `a+b.txt` becomes
    /// `a b.txt` here, as it does in Kubo; use [`PartHeaders::filename`] for the raw name.
    /// The result is not cleaned: callers must reject `..`, empty and absolute components.
    pub fn path(&self) -> Option<String> {
        let filename = self.filename.as_deref()?;
        Some(match query_unescape(filename) {
            Some(decoded) => decoded.into_owned(),
            None => filename.to_owned(),
        })
    }

    /// The Go clients' `abspath-encoded` header through `url.QueryUnescape`, else the
    /// legacy raw `abspath` header (used by Kubo's filestore/nocopy adds).
    pub fn abspath(&self) -> Option<String> {
        if let Some(encoded) = self.header("abspath-encoded") {
            let encoded = std::str::from_utf8(encoded).ok()?;
            return query_unescape(encoded).map(Cow::into_owned);
        }
        let raw = self.header("abspath")?;
        std::str::from_utf8(raw).ok().map(str::to_owned)
    }
}

/// One step of a parse: `PartStart`, zero or more `Data`, `PartEnd`, per part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A part's header block is complete (boxed: it is far larger than the other events).
    PartStart(Box<PartHeaders>),
    /// Body bytes of the current part, never empty; a slice of a pushed chunk.
    Data(Bytes),
    /// The current part's body is complete.
    PartEnd,
}

/// The boundary parameter of a `multipart/form-data` `Content-Type` value: token or
/// quoted-string, parameter name case-insensitive, validated per RFC 2046 §5.1.1.
pub fn boundary_from_content_type(value: &str) -> Result<Cow<'_, str>, MultipartError> {
    let mut boundary: Option<Cow<'_, [u8]>> = None;
    let mut conflict = false;
    let media_type = parse_header_params(value.as_bytes(), |name, param| {
        if name.eq_ignore_ascii_case(b"boundary") {
            match &boundary {
                Some(previous) => conflict |= *previous != param,
                None => boundary = Some(param),
            }
        }
    })
    .map_err(|detail| MultipartError::MalformedContentType { detail })?;
    if !media_type.eq_ignore_ascii_case(b"multipart/form-data") {
        let shown = &media_type[..media_type.len().min(100)];
        return Err(MultipartError::NotFormData {
            media_type: String::from_utf8_lossy(shown).into_owned(),
        });
    }
    if conflict {
        return Err(MultipartError::DuplicateBoundary);
    }
    let boundary = boundary.ok_or(MultipartError::NoBoundary)?;
    validate_boundary(&boundary)?;
    // bchars are ASCII, so validation guarantees UTF-8; map the impossible case anyway.
    let not_utf8 = MultipartError::InvalidBoundary {
        reason: "boundary is not ASCII",
    };
    match boundary {
        Cow::Borrowed(bytes) => std::str::from_utf8(bytes)
            .map(Cow::Borrowed)
            .map_err(|_| not_utf8),
        Cow::Owned(bytes) => String::from_utf8(bytes)
            .map(Cow::Owned)
            .map_err(|_| not_utf8),
    }
}

/// RFC 2046 §5.1.1: `boundary := 0*69<bchars> bcharsnospace`, at least one character.
fn validate_boundary(boundary: &[u8]) -> Result<(), MultipartError> {
    if boundary.is_empty() || boundary.len() > 70 {
        return Err(MultipartError::InvalidBoundary {
            reason: "boundary must be 1 to 70 characters long (RFC 2046 §5.1.1)",
        });
    }
    let is_bchar = |b: &u8| b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(b);
    if !boundary.iter().all(is_bchar) {
        return Err(MultipartError::InvalidBoundary {
            reason: "boundary has a character outside RFC 2046 bchars",
        });
    }
    if boundary.last() == Some(&b' ') {
        return Err(MultipartError::InvalidBoundary {
            reason: "boundary ends in a space (RFC 2046 §5.1.1)",
        });
    }
    Ok(())
}

/// Where the parser is in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Skipping bytes before the first delimiter.
    Preamble,
    /// Just after `--boundary`: expecting `--`, or transport padding and CRLF.
    Tail(Tail),
    /// Gathering a part's header block.
    Headers,
    /// Inside a part's body.
    Body,
    /// After the close delimiter: everything is discarded.
    Epilogue,
    /// An error was returned; it is returned again.
    Failed(MultipartError),
}

/// Position within the rest of a boundary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// Right after the boundary.
    Start,
    /// After one `-`: the close delimiter if another follows.
    Dash,
    /// After this many SP/HT.
    Padding(usize),
    /// After the CR of the line's CRLF.
    Cr,
}

/// Outcome of a delimiter search over the queued chunks.
enum Scan {
    /// Bytes known to precede any delimiter.
    Data(Bytes),
    /// A full `CRLF--boundary` was consumed.
    Delimiter,
    /// What is queued might start a delimiter; more input decides.
    NeedMore,
}

/// The push-style multipart parser: [`push`](Self::push) chunks, call
/// [`next`](Self::next) until it returns `Ok(None)`, repeat, then [`finish`](Self::finish)
/// and drain again. `Ok(None)` means "need more input" before `finish` and "done" after it
/// ([`is_complete`](Self::is_complete) tells whether the close delimiter has been seen).
/// Errors are sticky.
#[derive(Debug)]
pub struct MultipartParser {
    /// Finds `CRLF--boundary`, which is also its needle.
    finder: Finder<'static>,
    limits: Limits,
    /// Unconsumed input. Starts with a synthetic CRLF so that a delimiter at the very
    /// start of the body (which RFC 2046 allows without the CRLF) needs no special case.
    queue: VecDeque<Bytes>,
    /// Bytes in `queue`.
    queued: usize,
    /// Position of `queue`'s front in the synthetic stream (CRLF + body): body offset + 2.
    pos: u64,
    /// Body bytes pushed so far.
    pushed: u64,
    state: State,
    finished: bool,
    /// Parts started so far (the current part's number).
    parts: usize,
    /// Synthetic-stream position of the latest delimiter's CR (= body offset of its `--`).
    delimiter_at: u64,
    /// Body offset of the current part's header block.
    headers_at: u64,
    /// A header block that spans chunks, gathered here (reused; at most max_header_bytes).
    header_buf: Vec<u8>,
}

impl MultipartParser {
    /// A parser for bodies delimited by `boundary` (validated per RFC 2046 §5.1.1).
    pub fn new(boundary: &str, limits: Limits) -> Result<Self, MultipartError> {
        validate_boundary(boundary.as_bytes())?;
        let mut delimiter = Vec::with_capacity(boundary.len() + 4);
        delimiter.extend_from_slice(b"\r\n--");
        delimiter.extend_from_slice(boundary.as_bytes());
        let mut queue = VecDeque::with_capacity(8);
        queue.push_back(Bytes::from_static(b"\r\n"));
        Ok(MultipartParser {
            finder: Finder::new(&delimiter).into_owned(),
            limits,
            queue,
            queued: 2,
            pos: 0,
            pushed: 0,
            state: State::Preamble,
            finished: false,
            parts: 0,
            delimiter_at: 0,
            headers_at: 0,
            header_buf: Vec::new(),
        })
    }

    /// A parser for a request whose `Content-Type` is `content_type`.
    pub fn from_content_type(content_type: &str, limits: Limits) -> Result<Self, MultipartError> {
        let boundary = boundary_from_content_type(content_type)?;
        Self::new(&boundary, limits)
    }

    /// Queues the next chunk of the body (not copied). Chunks arriving after the close
    /// delimiter are dropped at once.
    pub fn push(&mut self, chunk: Bytes) {
        if self.finished {
            self.fail(MultipartError::PushAfterFinish);
            return;
        }
        self.pushed += chunk.len() as u64;
        if chunk.is_empty() || matches!(self.state, State::Epilogue | State::Failed(_)) {
            return;
        }
        self.queued += chunk.len();
        self.queue.push_back(chunk);
    }

    /// Marks the end of the body.
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// Whether the close delimiter has been seen (the rest of the body is epilogue).
    pub fn is_complete(&self) -> bool {
        self.state == State::Epilogue
    }

    /// Bytes the parser holds: the undecided tail of the input and any partial header
    /// block.
    pub fn buffered(&self) -> usize {
        self.queued + self.header_buf.len()
    }

    /// The next event, `Ok(None)` when more input is needed (before `finish`) or the body
    /// is done (after it).
    #[allow(clippy::should_implement_trait)] // fallible and resumable: not an Iterator
    pub fn next(&mut self) -> Result<Option<Event>, MultipartError> {
        if let State::Failed(error) = &self.state {
            return Err(error.clone());
        }
        let result = self.step();
        if let Err(error) = &result {
            self.fail(error.clone());
        }
        result
    }

    fn fail(&mut self, error: MultipartError) {
        self.state = State::Failed(error);
        self.queue.clear();
        self.queued = 0;
        self.header_buf = Vec::new();
    }

    /// Body offset of a synthetic-stream position.
    fn body_offset(position: u64) -> u64 {
        position.saturating_sub(2)
    }

    fn step(&mut self) -> Result<Option<Event>, MultipartError> {
        loop {
            match self.state {
                State::Preamble => match self.scan() {
                    Scan::Data(_) => {
                        // No delimiter starts before `pos`, so none within the limit.
                        let limit = self.limits.max_preamble_bytes;
                        if self.pos > limit as u64 && self.pushed > limit as u64 {
                            return Err(MultipartError::PreambleTooLong { limit });
                        }
                    }
                    Scan::Delimiter => {
                        let start = self.pos - self.finder.needle().len() as u64;
                        let limit = self.limits.max_preamble_bytes;
                        if start > limit as u64 {
                            return Err(MultipartError::PreambleTooLong { limit });
                        }
                        self.delimiter_at = start;
                        self.state = State::Tail(Tail::Start);
                    }
                    Scan::NeedMore => return self.starved(),
                },
                State::Tail(tail) => {
                    let Some(byte) = self.queue.front().and_then(|chunk| chunk.first().copied())
                    else {
                        return self.starved();
                    };
                    let offset = Self::body_offset(self.pos);
                    self.advance(1);
                    self.state = match (tail, byte) {
                        (Tail::Start, b'-') => State::Tail(Tail::Dash),
                        (Tail::Dash, b'-') => {
                            self.queue.clear();
                            self.queued = 0;
                            State::Epilogue
                        }
                        (Tail::Start, b' ' | b'\t') => self.padding(0, offset)?,
                        (Tail::Padding(count), b' ' | b'\t') => self.padding(count, offset)?,
                        (Tail::Start | Tail::Padding(_), b'\r') => State::Tail(Tail::Cr),
                        (Tail::Start | Tail::Padding(_), b'\n') => {
                            return Err(MultipartError::BareLfDelimiter { offset })
                        }
                        (Tail::Cr, b'\n') => {
                            if self.parts >= self.limits.max_parts {
                                return Err(MultipartError::TooManyParts {
                                    limit: self.limits.max_parts,
                                    offset: self.delimiter_at,
                                });
                            }
                            self.parts += 1;
                            self.headers_at = Self::body_offset(self.pos);
                            State::Headers
                        }
                        (_, found) => {
                            return Err(MultipartError::MalformedDelimiter { offset, found })
                        }
                    };
                }
                State::Headers => {
                    let Some(block) = self.gather_headers()? else {
                        return Ok(None);
                    };
                    let headers =
                        parse_header_block(&block, self.parts, self.headers_at, &self.limits)?;
                    self.state = State::Body;
                    return Ok(Some(Event::PartStart(Box::new(headers))));
                }
                State::Body => {
                    return match self.scan() {
                        Scan::Data(data) => Ok(Some(Event::Data(data))),
                        Scan::Delimiter => {
                            self.delimiter_at = self.pos - self.finder.needle().len() as u64;
                            self.state = State::Tail(Tail::Start);
                            Ok(Some(Event::PartEnd))
                        }
                        Scan::NeedMore => self.starved(),
                    };
                }
                State::Epilogue => return Ok(None),
                State::Failed(ref error) => return Err(error.clone()),
            }
        }
    }

    /// One more byte of transport padding (RFC 2046 §5.1.1 `transport-padding`).
    fn padding(&self, count: usize, offset: u64) -> Result<State, MultipartError> {
        let limit = self.limits.max_padding_bytes;
        if count >= limit {
            return Err(MultipartError::PaddingTooLong { offset, limit });
        }
        Ok(State::Tail(Tail::Padding(count + 1)))
    }

    /// The queue ran dry: wait for input, or report where the body ended too soon.
    fn starved(&self) -> Result<Option<Event>, MultipartError> {
        if !self.finished {
            return Ok(None);
        }
        let offset = self.pushed;
        Err(match self.state {
            State::Preamble => {
                let limit = self.limits.max_preamble_bytes;
                if self.pushed > limit as u64 {
                    MultipartError::PreambleTooLong { limit }
                } else {
                    MultipartError::MissingFirstBoundary { offset }
                }
            }
            State::Tail(_) => MultipartError::EndInDelimiter { offset },
            State::Body => MultipartError::EndInBody {
                part: self.parts,
                offset,
            },
            State::Headers => MultipartError::EndInHeaders {
                part: self.parts,
                offset,
            },
            State::Epilogue => return Ok(None),
            State::Failed(ref error) => error.clone(),
        })
    }

    /// Drops `count` queued bytes (fewer if fewer are queued).
    fn advance(&mut self, mut count: usize) {
        while count > 0 {
            let Some(front) = self.queue.front_mut() else {
                return;
            };
            let step = count.min(front.len());
            front.advance(step);
            if front.is_empty() {
                self.queue.pop_front();
            }
            self.queued -= step;
            self.pos += step as u64;
            count -= step;
        }
    }

    /// The first `count` bytes of the front chunk, zero-copy (`count` <= its length).
    fn take_front(&mut self, count: usize) -> Bytes {
        let Some(front) = self.queue.front_mut() else {
            return Bytes::new();
        };
        let taken = front.split_to(count.min(front.len()));
        if front.is_empty() {
            self.queue.pop_front();
        }
        self.queued -= taken.len();
        self.pos += taken.len() as u64;
        taken
    }

    /// Searches the queue for `CRLF--boundary`. Full matches inside the front chunk are
    /// found by memmem; one that straddles chunks is recognised from the front chunk's
    /// tail, which is then at most `delimiter.len() - 1` bytes. The boundary has no CR
    /// (bchars), so CR occurs in the delimiter only first: a tail that could start a
    /// delimiter starts at the chunk's last CR, and if the bytes after it diverge, no
    /// delimiter starts anywhere in that tail.
    fn scan(&mut self) -> Scan {
        enum Step {
            Emit(usize),
            Consume,
            NeedMore,
        }
        let needle = self.finder.needle();
        let needle_len = needle.len();
        let Some(front) = self.queue.front() else {
            return Scan::NeedMore;
        };
        let step = match self.finder.find(front) {
            Some(0) => Step::Consume,
            Some(at) => Step::Emit(at),
            None => {
                let tail_start = front.len().saturating_sub(needle.len() - 1);
                match memchr::memrchr(b'\r', &front[tail_start..]) {
                    Some(cr) if needle.starts_with(&front[tail_start + cr..]) => {
                        if tail_start + cr > 0 {
                            Step::Emit(tail_start + cr)
                        } else {
                            // The whole front chunk is a delimiter prefix: follow it into
                            // the chunks behind it.
                            let mut matched = front.len();
                            let mut step = Step::NeedMore;
                            for chunk in self.queue.iter().skip(1) {
                                let take = (needle.len() - matched).min(chunk.len());
                                if chunk[..take] != needle[matched..matched + take] {
                                    step = Step::Emit(front.len());
                                    break;
                                }
                                matched += take;
                                if matched == needle.len() {
                                    step = Step::Consume;
                                    break;
                                }
                            }
                            step
                        }
                    }
                    _ => Step::Emit(front.len()),
                }
            }
        };
        match step {
            Step::Emit(count) => Scan::Data(self.take_front(count)),
            Step::Consume => {
                self.advance(needle_len);
                Scan::Delimiter
            }
            Step::NeedMore => Scan::NeedMore,
        }
    }

    /// The current part's header block (through its empty line), or `None` if more input
    /// is needed. A block spanning chunks is gathered in `header_buf`, never more than
    /// `max_header_bytes`. The block is always copied out (it is small and bounded), so a
    /// kept [`PartHeaders`] does not pin the possibly large chunk it arrived in.
    fn gather_headers(&mut self) -> Result<Option<Bytes>, MultipartError> {
        let max = self.limits.max_header_bytes;
        loop {
            let Some(front) = self.queue.front() else {
                if self.finished {
                    return Err(header_failure(
                        &self.header_buf,
                        self.parts,
                        self.headers_at,
                        max,
                        self.pushed,
                    ));
                }
                return Ok(None);
            };
            if self.header_buf.is_empty() {
                let window = &front[..front.len().min(max)];
                if let Some(end) = find_header_end(window, 0) {
                    let block = Bytes::copy_from_slice(&window[..end]);
                    self.advance(end);
                    return Ok(Some(block));
                }
                if window.len() >= max {
                    return Err(header_failure(
                        window,
                        self.parts,
                        self.headers_at,
                        max,
                        self.pushed,
                    ));
                }
            }
            let before = self.header_buf.len();
            let take = front.len().min(max - before);
            self.header_buf.extend_from_slice(&front[..take]);
            if let Some(end) = find_header_end(&self.header_buf, before.saturating_sub(3)) {
                // The previous search saw no end in the first `before` bytes, so `end`
                // lies in what was just copied.
                self.advance(end - before);
                self.header_buf.truncate(end);
                let block = Bytes::copy_from_slice(&self.header_buf);
                self.header_buf.clear();
                return Ok(Some(block));
            }
            self.advance(take);
            if self.header_buf.len() >= max {
                return Err(header_failure(
                    &self.header_buf,
                    self.parts,
                    self.headers_at,
                    max,
                    self.pushed,
                ));
            }
        }
    }
}

/// End of a header block in `window`: right after its empty line. An empty block is just
/// CRLF (a part with no headers); otherwise the block ends at the first CRLFCRLF.
/// `from` skips a prefix already searched.
fn find_header_end(window: &[u8], from: usize) -> Option<usize> {
    if window.starts_with(b"\r\n") {
        return Some(2);
    }
    let from = from.min(window.len());
    memchr::memmem::find(&window[from..], b"\r\n\r\n").map(|at| from + at + 4)
}

/// The first LF not preceded by CR.
fn first_bare_lf(bytes: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'\n', bytes).find(|&at| at == 0 || bytes[at - 1] != b'\r')
}

/// Why no header block ends within `window` (the first `max` bytes of the part, or all
/// of the rest of the body if that is shorter).
fn header_failure(window: &[u8], part: usize, offset: u64, max: usize, end: u64) -> MultipartError {
    if let Some(at) = first_bare_lf(window) {
        MultipartError::BareLfInHeaders {
            part,
            offset: offset + at as u64,
        }
    } else if window.len() >= max {
        MultipartError::HeadersTooLarge {
            part,
            offset,
            limit: max,
        }
    } else {
        MultipartError::EndInHeaders { part, offset: end }
    }
}

/// `sub` as a slice of `block` when it lies inside it (httparse returns subslices of its
/// input), else a copy.
fn subslice(block: &Bytes, sub: &[u8]) -> Bytes {
    let start = (sub.as_ptr() as usize).wrapping_sub(block.as_ptr() as usize);
    match start.checked_add(sub.len()) {
        Some(end) if end <= block.len() && start <= end => block.slice(start..end),
        _ => Bytes::copy_from_slice(sub),
    }
}

fn trim_lwsp(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// Parses a complete header block (ending in its empty line) of part `part`, which starts
/// at body offset `offset`.
fn parse_header_block(
    block: &Bytes,
    part: usize,
    offset: u64,
    limits: &Limits,
) -> Result<PartHeaders, MultipartError> {
    // httparse accepts bare-LF lines; RFC 2046/5322 headers end in CRLF.
    if let Some(at) = first_bare_lf(block) {
        return Err(MultipartError::BareLfInHeaders {
            part,
            offset: offset + at as u64,
        });
    }
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS_HARD_CAP];
    let slot_count = limits.max_headers.min(MAX_HEADERS_HARD_CAP);
    let malformed = |detail| MultipartError::MalformedHeaders {
        part,
        offset,
        detail,
    };
    let fields = match httparse::parse_headers(block, &mut slots[..slot_count]) {
        Ok(httparse::Status::Complete((used, fields))) if used == block.len() => fields,
        Ok(_) => return Err(malformed("the header block does not end in an empty line")),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(MultipartError::TooManyHeaders {
                part,
                offset,
                limit: slot_count,
            })
        }
        Err(httparse::Error::HeaderName) => {
            return Err(malformed(
                "a header line is not `name: value` (folded lines are not accepted)",
            ))
        }
        Err(httparse::Error::HeaderValue) => {
            return Err(malformed("a header value has a control character"))
        }
        Err(_) => return Err(malformed("invalid header line")),
    };

    let mut headers = PartHeaders::default();
    let mut seen_disposition = false;
    for field in fields.iter() {
        let value = trim_lwsp(field.value);
        if field.name.eq_ignore_ascii_case("content-disposition") {
            if seen_disposition {
                return Err(MultipartError::DuplicateHeader {
                    part,
                    offset,
                    header: "Content-Disposition",
                });
            }
            seen_disposition = true;
            let disposition = parse_content_disposition(value).map_err(|error| match error {
                DispositionError::Syntax(detail) => MultipartError::MalformedContentDisposition {
                    part,
                    offset,
                    detail,
                },
                DispositionError::Duplicate(param) => MultipartError::DuplicateParameter {
                    part,
                    offset,
                    param,
                },
                DispositionError::NotUtf8 => MultipartError::InvalidUtf8 {
                    part,
                    offset,
                    header: "Content-Disposition",
                },
            })?;
            headers.disposition = Some(disposition.kind);
            headers.name = disposition.name;
            headers.filename = disposition.filename;
        } else if field.name.eq_ignore_ascii_case("content-type") {
            if headers.content_type.is_some() {
                return Err(MultipartError::DuplicateHeader {
                    part,
                    offset,
                    header: "Content-Type",
                });
            }
            let content_type =
                std::str::from_utf8(value).map_err(|_| MultipartError::InvalidUtf8 {
                    part,
                    offset,
                    header: "Content-Type",
                })?;
            headers.content_type = Some(content_type.to_owned());
        }
        headers.raw.push((
            subslice(block, field.name.as_bytes()),
            subslice(block, field.value),
        ));
    }

    let limit = limits.max_name_bytes;
    for (field, value) in [("name", &headers.name), ("filename", &headers.filename)] {
        if value.as_ref().is_some_and(|value| value.len() > limit) {
            return Err(MultipartError::NameTooLong {
                part,
                offset,
                field,
                limit,
            });
        }
    }
    Ok(headers)
}

/// A parsed `Content-Disposition`.
struct Disposition {
    kind: String,
    name: Option<String>,
    filename: Option<String>,
}

enum DispositionError {
    Syntax(&'static str),
    Duplicate(&'static str),
    NotUtf8,
}

/// `disposition-type *( ";" parameter )` (RFC 6266 §4.1, RFC 7578 §4.2). `filename*`
/// (RFC 8187) wins over `filename` when it decodes, as in Go's `mime.ParseMediaType`;
/// other parameters are checked for syntax and ignored. RFC 2231 continuations
/// (`filename*0=`) are not supported (no browser or Go client sends them).
fn parse_content_disposition(value: &[u8]) -> Result<Disposition, DispositionError> {
    let mut name: Option<Cow<'_, [u8]>> = None;
    let mut filename: Option<Cow<'_, [u8]>> = None;
    let mut filename_ext: Option<Cow<'_, [u8]>> = None;
    let mut duplicate: Option<&'static str> = None;
    let kind = parse_header_params(value, |param, param_value| {
        let (slot, label) = if param.eq_ignore_ascii_case(b"name") {
            (&mut name, "name")
        } else if param.eq_ignore_ascii_case(b"filename") {
            (&mut filename, "filename")
        } else if param.eq_ignore_ascii_case(b"filename*") {
            (&mut filename_ext, "filename*")
        } else {
            return;
        };
        match slot {
            // Go allows repeats with the same value and rejects conflicting ones.
            Some(previous) if *previous != param_value => duplicate = duplicate.or(Some(label)),
            Some(_) => {}
            None => *slot = Some(param_value),
        }
    })
    .map_err(DispositionError::Syntax)?;
    if let Some(param) = duplicate {
        return Err(DispositionError::Duplicate(param));
    }
    if kind.is_empty() || !kind.iter().all(|&b| is_token_char(b)) {
        return Err(DispositionError::Syntax(
            "the disposition type is not a token",
        ));
    }
    let to_string = |bytes: Cow<'_, [u8]>| {
        String::from_utf8(bytes.into_owned()).map_err(|_| DispositionError::NotUtf8)
    };
    let filename = match filename_ext.as_deref().and_then(decode_ext_value) {
        Some(decoded) => Some(decoded),
        None => filename.map(to_string).transpose()?,
    };
    Ok(Disposition {
        kind: String::from_utf8_lossy(kind).to_ascii_lowercase(),
        name: name.map(to_string).transpose()?,
        filename,
    })
}

/// RFC 8187 `ext-value` (`charset'language'pct-encoded`): only UTF-8 and US-ASCII, as in
/// Go; `None` when undecodable, so that `filename` is used instead.
fn decode_ext_value(value: &[u8]) -> Option<String> {
    let mut pieces = value.splitn(3, |&b| b == b'\'');
    let charset = pieces.next()?;
    let _language = pieces.next()?;
    let encoded = pieces.next()?;
    if !(charset.eq_ignore_ascii_case(b"utf-8") || charset.eq_ignore_ascii_case(b"us-ascii")) {
        return None;
    }
    let decoded = percent_decode_strict(encoded, false)?;
    String::from_utf8(decoded.into_owned()).ok()
}

/// Go's `mime` token characters: printable ASCII except tspecials.
fn is_token_char(byte: u8) -> bool {
    byte > 0x20 && byte < 0x7f && !b"()<>@,;:\\\"/[]?=".contains(&byte)
}

/// Go's `mime` tspecials: the characters a quoted-string may escape.
fn is_tspecial(byte: u8) -> bool {
    b"()<>@,;:\\\"/[]?=".contains(&byte)
}

fn skip_lwsp(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    bytes
}

/// Splits `value; name=value; ...` the way Go's `mime.ParseMediaType` does and returns the
/// leading value (trimmed). Parameter values are tokens or quoted-strings; in the latter a
/// backslash escapes only a tspecial and is otherwise literal (Go's rule, kept for MSIE's
/// unescaped `C:\path` filenames, and for browsers, which never backslash-escape). A
/// trailing `;` is allowed.
fn parse_header_params<'a>(
    input: &'a [u8],
    mut on_param: impl FnMut(&'a [u8], Cow<'a, [u8]>),
) -> Result<&'a [u8], &'static str> {
    let split = memchr::memchr(b';', input).unwrap_or(input.len());
    let leading = trim_lwsp(&input[..split]);
    let mut rest = &input[split..];
    loop {
        rest = skip_lwsp(rest);
        let Some(after_semicolon) = rest.strip_prefix(b";") else {
            if rest.is_empty() {
                return Ok(leading);
            }
            return Err("expected `;` between parameters");
        };
        rest = skip_lwsp(after_semicolon);
        if rest.is_empty() {
            return Ok(leading);
        }
        let name_len = rest
            .iter()
            .position(|&b| !is_token_char(b) && b != b'*')
            .unwrap_or(rest.len());
        if name_len == 0 {
            return Err("a parameter has no name");
        }
        let (name, after_name) = rest.split_at(name_len);
        let Some(after_equals) = skip_lwsp(after_name).strip_prefix(b"=") else {
            return Err("a parameter has no `=`");
        };
        rest = skip_lwsp(after_equals);
        let value;
        if let Some(quoted) = rest.strip_prefix(b"\"") {
            (value, rest) = parse_quoted_string(quoted)?;
        } else {
            let len = rest
                .iter()
                .position(|&b| !is_token_char(b))
                .unwrap_or(rest.len());
            if len == 0 {
                return Err("a parameter value is neither a token nor a quoted-string");
            }
            value = Cow::Borrowed(&rest[..len]);
            rest = &rest[len..];
        }
        on_param(name, value);
    }
}

/// The content of a quoted-string whose opening quote is already consumed, and the input
/// after its closing quote.
fn parse_quoted_string(input: &[u8]) -> Result<(Cow<'_, [u8]>, &[u8]), &'static str> {
    let mut owned: Option<Vec<u8>> = None;
    let mut at = 0;
    while let Some(&byte) = input.get(at) {
        match byte {
            b'"' => {
                let value = match owned {
                    Some(bytes) => Cow::Owned(bytes),
                    None => Cow::Borrowed(&input[..at]),
                };
                return Ok((value, &input[at + 1..]));
            }
            b'\r' | b'\n' => return Err("a quoted-string has a line break"),
            b'\\' if input.get(at + 1).copied().is_some_and(is_tspecial) => {
                let bytes = owned.get_or_insert_with(|| input[..at].to_vec());
                bytes.push(input[at + 1]);
                at += 2;
                continue;
            }
            _ => {
                if let Some(bytes) = owned.as_mut() {
                    bytes.push(byte);
                }
            }
        }
        at += 1;
    }
    Err("a quoted-string is not terminated")
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// `%XX` decoding that fails on a malformed escape, like Go's `url.QueryUnescape`
/// (`plus_is_space`) and `mime`'s RFC 2231 decoder (not).
fn percent_decode_strict(input: &[u8], plus_is_space: bool) -> Option<Cow<'_, [u8]>> {
    if !input
        .iter()
        .any(|&b| b == b'%' || (plus_is_space && b == b'+'))
    {
        return Some(Cow::Borrowed(input));
    }
    let mut out = Vec::with_capacity(input.len());
    let mut rest = input;
    while let [byte, tail @ ..] = rest {
        match byte {
            b'%' => {
                let [high, low, after @ ..] = tail else {
                    return None;
                };
                out.push((hex_value(*high)? << 4) | hex_value(*low)?);
                rest = after;
                continue;
            }
            b'+' if plus_is_space => out.push(b' '),
            _ => out.push(*byte),
        }
        rest = tail;
    }
    Some(Cow::Owned(out))
}

/// Go's `url.QueryUnescape`, with a non-UTF-8 result counted as failure.
fn query_unescape(input: &str) -> Option<Cow<'_, str>> {
    match percent_decode_strict(input.as_bytes(), true)? {
        Cow::Borrowed(_) => Some(Cow::Borrowed(input)),
        Cow::Owned(bytes) => String::from_utf8(bytes).ok().map(Cow::Owned),
    }
}

/// boxo's `fileInfo` reading of the `name` query (see [`PartHeaders::file_meta`]).
fn parse_file_meta(query: &str) -> FileMeta {
    let mut mode = None;
    let mut mtime = None;
    let mut nsecs = None;
    for pair in query.split('&') {
        if pair.is_empty() {
            continue;
        }
        // Go's url.ParseQuery rejects `;`, and boxo then drops all metadata.
        if pair.contains(';') {
            return FileMeta::default();
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(key), Some(value)) = (query_unescape(key), query_unescape(value)) else {
            return FileMeta::default();
        };
        let slot = match &*key {
            "mode" => &mut mode,
            "mtime" => &mut mtime,
            "mtime-nsecs" => &mut nsecs,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(value);
        }
    }
    let mut meta = FileMeta {
        // strconv.ParseUint(v, 8, 32): octal digits only, no sign.
        mode: mode
            .filter(|v| !v.is_empty() && v.bytes().all(|b| (b'0'..=b'7').contains(&b)))
            .and_then(|v| u32::from_str_radix(&v, 8).ok()),
        ..FileMeta::default()
    };
    // strconv.ParseInt(v, 10, 64); then time.Unix(secs, nsecs) normalises nsecs.
    if let Some(secs) = mtime.and_then(|v| v.parse::<i64>().ok()) {
        let nsecs = nsecs.and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        let carry = nsecs.div_euclid(1_000_000_000);
        if let Some(secs) = secs.checked_add(carry) {
            meta.mtime = Some(secs);
            meta.mtime_nsecs = nsecs.rem_euclid(1_000_000_000) as u32;
        }
    }
    meta
}

/// Whole-buffer reference parse with default [`Limits`]: every part's headers and body.
/// Tests and the `multipart` fuzz target only.
#[cfg(any(test, fuzzing))]
pub fn parse_all(
    body: &[u8],
    boundary: &str,
) -> Result<Vec<(PartHeaders, Vec<u8>)>, MultipartError> {
    parse_all_with(body, boundary, &Limits::default())
}

/// Whole-buffer reference parse, written independently of [`MultipartParser`]'s chunk
/// handling (it shares only the header-block parsing), so that the two can check each
/// other: for any body and any chunking the streaming parser yields the same parts, or
/// the same error. Tests and the `multipart` fuzz target only.
#[cfg(any(test, fuzzing))]
pub fn parse_all_with(
    body: &[u8],
    boundary: &str,
    limits: &Limits,
) -> Result<Vec<(PartHeaders, Vec<u8>)>, MultipartError> {
    validate_boundary(boundary.as_bytes())?;
    let mut delimiter = Vec::with_capacity(boundary.len() + 4);
    delimiter.extend_from_slice(b"\r\n--");
    delimiter.extend_from_slice(boundary.as_bytes());
    let finder = Finder::new(&delimiter);
    // Positions below are in CRLF + body, so that a delimiter at the very start of the
    // body is found like any other; body offset = position - 2.
    let mut stream = Vec::with_capacity(body.len() + 2);
    stream.extend_from_slice(b"\r\n");
    stream.extend_from_slice(body);
    let stream = Bytes::from(stream);
    let body_offset = |position: usize| (position as u64).saturating_sub(2);
    let end = body.len() as u64;

    let mut delimiter_at = match finder.find(&stream) {
        Some(at) if at <= limits.max_preamble_bytes => at,
        _ if body.len() > limits.max_preamble_bytes => {
            return Err(MultipartError::PreambleTooLong {
                limit: limits.max_preamble_bytes,
            })
        }
        _ => return Err(MultipartError::MissingFirstBoundary { offset: end }),
    };
    let mut parts = Vec::new();
    loop {
        // The rest of the boundary line.
        let mut at = delimiter_at + delimiter.len();
        let byte_at = |position: usize| stream.get(position).copied();
        let mut padding = 0;
        loop {
            match byte_at(at) {
                None => return Err(MultipartError::EndInDelimiter { offset: end }),
                Some(b'-') if padding == 0 => match byte_at(at + 1) {
                    Some(b'-') => return Ok(parts),
                    None => return Err(MultipartError::EndInDelimiter { offset: end }),
                    Some(found) => {
                        return Err(MultipartError::MalformedDelimiter {
                            offset: body_offset(at + 1),
                            found,
                        })
                    }
                },
                Some(b' ' | b'\t') => {
                    if padding >= limits.max_padding_bytes {
                        return Err(MultipartError::PaddingTooLong {
                            offset: body_offset(at),
                            limit: limits.max_padding_bytes,
                        });
                    }
                    padding += 1;
                    at += 1;
                }
                Some(b'\r') => match byte_at(at + 1) {
                    Some(b'\n') => break,
                    None => return Err(MultipartError::EndInDelimiter { offset: end }),
                    Some(found) => {
                        return Err(MultipartError::MalformedDelimiter {
                            offset: body_offset(at + 1),
                            found,
                        })
                    }
                },
                Some(b'\n') => {
                    return Err(MultipartError::BareLfDelimiter {
                        offset: body_offset(at),
                    })
                }
                Some(found) => {
                    return Err(MultipartError::MalformedDelimiter {
                        offset: body_offset(at),
                        found,
                    })
                }
            }
        }
        if parts.len() >= limits.max_parts {
            return Err(MultipartError::TooManyParts {
                limit: limits.max_parts,
                offset: delimiter_at as u64,
            });
        }
        let part = parts.len() + 1;

        let headers_start = at + 2;
        let window_end = stream.len().min(headers_start + limits.max_header_bytes);
        let window = &stream[headers_start..window_end];
        let Some(headers_len) = find_header_end(window, 0) else {
            return Err(header_failure(
                window,
                part,
                body_offset(headers_start),
                limits.max_header_bytes,
                end,
            ));
        };
        let block = stream.slice(headers_start..headers_start + headers_len);
        let headers = parse_header_block(&block, part, body_offset(headers_start), limits)?;

        let body_start = headers_start + headers_len;
        let Some(body_len) = finder.find(&stream[body_start..]) else {
            return Err(MultipartError::EndInBody { part, offset: end });
        };
        parts.push((headers, stream[body_start..body_start + body_len].to_vec()));
        delimiter_at = body_start + body_len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parts = Vec<(PartHeaders, Vec<u8>)>;

    /// Collects events, checking their grammar and the hold-back bound along the way.
    struct Collector {
        parts: Parts,
        open: Option<(PartHeaders, Vec<u8>)>,
    }

    impl Collector {
        fn drain(&mut self, parser: &mut MultipartParser) -> Result<(), MultipartError> {
            while let Some(event) = parser.next()? {
                match event {
                    Event::PartStart(headers) => {
                        assert!(self.open.is_none(), "PartStart inside a part");
                        self.open = Some((*headers, Vec::new()));
                    }
                    Event::Data(data) => {
                        assert!(!data.is_empty(), "empty Data event");
                        self.open
                            .as_mut()
                            .expect("Data outside a part")
                            .1
                            .extend_from_slice(&data);
                    }
                    Event::PartEnd => self
                        .parts
                        .push(self.open.take().expect("PartEnd outside a part")),
                }
            }
            Ok(())
        }
    }

    fn stream_parse<'a>(
        chunks: impl IntoIterator<Item = &'a [u8]>,
        boundary: &str,
        limits: &Limits,
    ) -> Result<Parts, MultipartError> {
        let mut parser = MultipartParser::new(boundary, limits.clone())?;
        let mut collector = Collector {
            parts: Vec::new(),
            open: None,
        };
        let delimiter_len = boundary.len() + 4;
        for chunk in chunks {
            parser.push(Bytes::copy_from_slice(chunk));
            collector.drain(&mut parser)?;
            match parser.state {
                State::Preamble | State::Body => assert!(
                    parser.buffered() < delimiter_len,
                    "held back {} bytes",
                    parser.buffered()
                ),
                State::Headers => assert!(parser.buffered() <= limits.max_header_bytes),
                _ => assert_eq!(parser.buffered(), 0),
            }
        }
        parser.finish();
        collector.drain(&mut parser)?;
        assert!(parser.is_complete());
        assert!(collector.open.is_none());
        Ok(collector.parts)
    }

    /// A small deterministic PRNG (xorshift64*), so tests need no extra crate.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, bound: usize) -> usize {
            (self.next_u64() % bound.max(1) as u64) as usize
        }
    }

    fn random_chunks<'a>(body: &'a [u8], rng: &mut Rng, max_chunk: usize) -> Vec<&'a [u8]> {
        let mut chunks = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            let len = 1 + rng.below(max_chunk.min(rest.len()));
            let (chunk, tail) = rest.split_at(len);
            chunks.push(chunk);
            rest = tail;
        }
        chunks
    }

    /// Streaming in one chunk, in 1-byte chunks, split in two at every position, and in
    /// random chunkings all equal the reference parse (parts or error).
    fn assert_chunking_invariant(
        body: &[u8],
        boundary: &str,
        limits: &Limits,
    ) -> Result<Parts, MultipartError> {
        let reference = parse_all_with(body, boundary, limits);
        assert_eq!(
            stream_parse([body], boundary, limits),
            reference,
            "one chunk"
        );
        assert_eq!(
            stream_parse(body.chunks(1), boundary, limits),
            reference,
            "1-byte chunks"
        );
        for split in 0..=body.len() {
            let (a, b) = body.split_at(split);
            assert_eq!(
                stream_parse([a, b], boundary, limits),
                reference,
                "split at {split}"
            );
        }
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ body.len() as u64);
        for max_chunk in [2, 3, 7, 16] {
            let chunks = random_chunks(body, &mut rng, max_chunk);
            assert_eq!(
                stream_parse(chunks, boundary, limits),
                reference,
                "max chunk {max_chunk}"
            );
        }
        reference
    }

    const B: &str = "XyZ-bound";

    fn browser_body() -> Vec<u8> {
        concat!(
            "--XyZ-bound\r\n",
            "Content-Disposition: form-data; name=\"title\"\r\n",
            "\r\n",
            "hello world\r\n",
            "--XyZ-bound\r\n",
            "Content-Disposition: form-data; name=\"file\"; filename=\"a b+c.txt\"\r\n",
            "Content-Type: text/plain\r\n",
            "\r\n",
            "line one\r\nline two\r\n\r\n",
            "\r\n--XyZ-bound--\r\n",
        )
        .as_bytes()
        .to_vec()
    }

    fn go_body() -> Vec<u8> {
        concat!(
            "--XyZ-bound\r\n",
            "Abspath-Encoded: %2Fhome%2Fu%2Fdir\r\n",
            "Content-Disposition: form-data; name=\"file?mode=020000000755&mtime=1700000000\"; filename=\"dir\"\r\n",
            "Content-Type: application/x-directory\r\n",
            "\r\n",
            "\r\n--XyZ-bound\r\n",
            "Content-Disposition: form-data; name=\"file?mode=0644&mtime=1700000001&mtime-nsecs=250\"; filename=\"dir%2Fa+b%25.txt\"\r\n",
            "Content-Type: application/octet-stream\r\n",
            "\r\n",
            "file data\r\n--XyZ-bounc\r\n--XyZ-boun",
            "\r\n--XyZ-bound\r\n",
            "Content-Disposition: form-data; name=\"file\"; filename=\"dir%2Flink\"\r\n",
            "Content-Type: application/symlink\r\n",
            "\r\n",
            "a+b%.txt",
            "\r\n--XyZ-bound--",
        )
        .as_bytes()
        .to_vec()
    }

    #[test]
    fn browser_form_parses_into_fields_and_files() {
        let parts = assert_chunking_invariant(&browser_body(), B, &Limits::default()).unwrap();
        assert_eq!(parts.len(), 2);
        let (title, data) = &parts[0];
        assert_eq!(title.disposition.as_deref(), Some("form-data"));
        assert_eq!(title.name.as_deref(), Some("title"));
        assert_eq!(title.filename, None);
        assert_eq!(title.content_type, None);
        assert_eq!(title.kind(), PartKind::File);
        assert_eq!(data, b"hello world");
        let (file, data) = &parts[1];
        assert_eq!(file.filename.as_deref(), Some("a b+c.txt"));
        assert_eq!(file.content_type.as_deref(), Some("text/plain"));
        assert_eq!(file.header("CONTENT-TYPE"), Some(&b"text/plain"[..]));
        assert_eq!(file.raw.len(), 2);
        assert_eq!(&file.raw[0].0[..], b"Content-Disposition");
        assert_eq!(data, b"line one\r\nline two\r\n\r\n");
    }

    #[test]
    fn event_sequence_is_start_data_end() {
        let mut parser = MultipartParser::new(B, Limits::default()).unwrap();
        parser.push(Bytes::from(browser_body()));
        parser.finish();
        let mut kinds = Vec::new();
        while let Some(event) = parser.next().unwrap() {
            kinds.push(match event {
                Event::PartStart(_) => 'S',
                Event::Data(_) => 'D',
                Event::PartEnd => 'E',
            });
        }
        assert_eq!(kinds.iter().collect::<String>(), "SDESDE");
        assert!(parser.is_complete());
        assert_eq!(parser.next(), Ok(None));
    }

    #[test]
    fn go_client_upload_kinds_paths_and_metadata() {
        let parts = assert_chunking_invariant(&go_body(), B, &Limits::default()).unwrap();
        assert_eq!(parts.len(), 3);

        let (dir, data) = &parts[0];
        assert_eq!(dir.kind(), PartKind::Directory);
        assert!(data.is_empty());
        assert_eq!(dir.field_name(), Some("file"));
        assert_eq!(dir.path().as_deref(), Some("dir"));
        assert_eq!(dir.abspath().as_deref(), Some("/home/u/dir"));
        let meta = dir.file_meta();
        assert_eq!(meta.mode, Some(0o20000000755));
        assert_eq!(meta.mode.map(|m| m & 0o7777), Some(0o755));
        assert_eq!(meta.mtime, Some(1_700_000_000));

        let (file, data) = &parts[1];
        assert_eq!(file.kind(), PartKind::File);
        assert_eq!(file.filename.as_deref(), Some("dir%2Fa+b%25.txt"));
        // url.QueryUnescape: %2F -> '/', '+' -> ' ', %25 -> '%'.
        assert_eq!(file.path().as_deref(), Some("dir/a b%.txt"));
        assert_eq!(
            file.file_meta(),
            FileMeta {
                mode: Some(0o644),
                mtime: Some(1_700_000_001),
                mtime_nsecs: 250
            }
        );
        assert_eq!(data, b"file data\r\n--XyZ-bounc\r\n--XyZ-boun");

        let (link, data) = &parts[2];
        assert_eq!(link.kind(), PartKind::Symlink);
        assert_eq!(link.path().as_deref(), Some("dir/link"));
        assert_eq!(link.file_meta(), FileMeta::default());
        assert_eq!(data, b"a+b%.txt");
    }

    #[test]
    fn path_follows_go_query_unescape() {
        let with = |filename: &str| PartHeaders {
            filename: Some(filename.into()),
            ..Default::default()
        };
        assert_eq!(with("a%2Fb.txt").path().as_deref(), Some("a/b.txt"));
        assert_eq!(with("a+b.txt").path().as_deref(), Some("a b.txt"));
        assert_eq!(with("caf%C3%A9").path().as_deref(), Some("café"));
        assert_eq!(with("café +").path().as_deref(), Some("café  "));
        // A malformed escape makes Go keep the name as sent, '+' included.
        assert_eq!(with("100%+a+b").path().as_deref(), Some("100%+a+b"));
        assert_eq!(with("bad%zz").path().as_deref(), Some("bad%zz"));
        assert_eq!(with("end%2").path().as_deref(), Some("end%2"));
        // Not UTF-8 after decoding: kept as sent.
        assert_eq!(with("x%FF").path().as_deref(), Some("x%FF"));
        assert_eq!(PartHeaders::default().path(), None);
    }

    #[test]
    fn file_meta_matches_boxo_parsing() {
        let meta = |name: &str| {
            PartHeaders {
                name: Some(name.into()),
                ..Default::default()
            }
            .file_meta()
        };
        assert_eq!(meta("file"), FileMeta::default());
        assert_eq!(meta("file?mode=0755").mode, Some(0o755));
        assert_eq!(meta("file?mode=0755").mtime, None);
        assert_eq!(
            meta("file?mode=755&mode=700").mode,
            Some(0o755),
            "first value wins"
        );
        assert_eq!(meta("file?mode=0789").mode, None, "not octal");
        assert_eq!(meta("file?mode=+755").mode, None, "ParseUint takes no sign");
        assert_eq!(meta("file?mode=77777777777").mode, None, "over 32 bits");
        assert_eq!(meta("file?mtime=-5").mtime, Some(-5));
        assert_eq!(
            meta("file?mtime=x&mode=0644"),
            FileMeta {
                mode: Some(0o644),
                ..Default::default()
            }
        );
        assert_eq!(
            meta("file?mtime=10&mtime-nsecs=bad"),
            FileMeta {
                mtime: Some(10),
                ..Default::default()
            }
        );
        // time.Unix normalises out-of-range nanoseconds.
        assert_eq!(
            meta("file?mtime=10&mtime-nsecs=2500000000"),
            FileMeta {
                mtime: Some(12),
                mtime_nsecs: 500_000_000,
                ..Default::default()
            }
        );
        assert_eq!(
            meta("file?mtime=10&mtime-nsecs=-1"),
            FileMeta {
                mtime: Some(9),
                mtime_nsecs: 999_999_999,
                ..Default::default()
            }
        );
        assert_eq!(
            meta("file?mtime=9223372036854775807&mtime-nsecs=1000000000").mtime,
            None
        );
        // url.ParseQuery errors drop everything.
        assert_eq!(meta("file?mode=0644;mtime=1"), FileMeta::default());
        assert_eq!(meta("file?mode=0644&bad=%zz"), FileMeta::default());
        assert_eq!(
            meta("file?mo%64e=0%36"),
            FileMeta {
                mode: Some(0o6),
                ..Default::default()
            }
        );
    }

    #[test]
    fn content_disposition_parameters() {
        let parse = |cd: &str| {
            let body = format!("--{B}\r\nContent-Disposition: {cd}\r\n\r\nx\r\n--{B}--");
            parse_all(body.as_bytes(), B).map(|mut parts| parts.remove(0).0)
        };
        let h = parse(r#"form-data; name="a\"b\\c"; filename="C:\dir\x.txt""#).unwrap();
        assert_eq!(h.name.as_deref(), Some("a\"b\\c"));
        // Go's rule: backslash before a non-tspecial is literal.
        assert_eq!(h.filename.as_deref(), Some(r"C:\dir\x.txt"));

        let h = parse("Form-Data ; NAME = tok_en ; FileName=plain.txt ;").unwrap();
        assert_eq!(h.disposition.as_deref(), Some("form-data"));
        assert_eq!(h.name.as_deref(), Some("tok_en"));
        assert_eq!(h.filename.as_deref(), Some("plain.txt"));

        // filename* wins, in either order; the language tag is ignored.
        let h =
            parse("form-data; filename*=UTF-8''%E2%82%AC%20rates.txt; filename=\"EUR rates.txt\"")
                .unwrap();
        assert_eq!(h.filename.as_deref(), Some("€ rates.txt"));
        let h = parse("attachment; filename=\"fallback\"; FILENAME*=utf-8'en'caf%C3%A9+x").unwrap();
        assert_eq!(h.disposition.as_deref(), Some("attachment"));
        assert_eq!(h.filename.as_deref(), Some("café+x"));
        // Undecodable filename* falls back to filename.
        let h = parse("form-data; filename=\"fallback\"; filename*=iso-8859-1''caf%E9").unwrap();
        assert_eq!(h.filename.as_deref(), Some("fallback"));
        let h = parse("form-data; filename=\"fallback\"; filename*=UTF-8''bad%zz").unwrap();
        assert_eq!(h.filename.as_deref(), Some("fallback"));
        let h = parse("form-data; filename*=UTF-8''%FF").unwrap();
        assert_eq!(h.filename, None);

        // Raw UTF-8 in a quoted filename (browsers) and an empty filename (no file chosen).
        let h = parse("form-data; name=\"f\"; filename=\"日本 語.txt\"").unwrap();
        assert_eq!(h.filename.as_deref(), Some("日本 語.txt"));
        assert_eq!(
            parse("form-data; name=\"f\"; filename=\"\"")
                .unwrap()
                .filename
                .as_deref(),
            Some("")
        );
        // Same value twice is allowed.
        assert_eq!(
            parse("form-data; name=a; name=\"a\"")
                .unwrap()
                .name
                .as_deref(),
            Some("a")
        );

        let err = |cd: &str| parse(cd).unwrap_err();
        assert!(matches!(
            err("form-data; name=\"a\"; name=\"b\""),
            MultipartError::DuplicateParameter { param: "name", .. }
        ));
        assert!(matches!(
            err("form-data; filename=a; filename=b"),
            MultipartError::DuplicateParameter {
                param: "filename",
                ..
            }
        ));
        assert!(matches!(
            err("form-data; name=\"unterminated"),
            MultipartError::MalformedContentDisposition { .. }
        ));
        assert!(matches!(
            err("form-data; name"),
            MultipartError::MalformedContentDisposition { .. }
        ));
        assert!(matches!(
            err("form-data; name="),
            MultipartError::MalformedContentDisposition { .. }
        ));
        assert!(matches!(
            err("form-data; =x"),
            MultipartError::MalformedContentDisposition { .. }
        ));
        assert!(matches!(
            err("form-data name=x"),
            MultipartError::MalformedContentDisposition { .. }
        ));
        assert!(matches!(
            err("; name=x"),
            MultipartError::MalformedContentDisposition { .. }
        ));
        assert!(matches!(
            err("form-data; name=a b"),
            MultipartError::MalformedContentDisposition { .. }
        ));
        let message = err("form-data; name=\"a\"; name=\"b\"").to_string();
        assert_eq!(message, "part 1 Content-Disposition has conflicting `name` parameters (headers start at byte 13)");
    }

    #[test]
    fn non_utf8_and_duplicate_headers_are_rejected() {
        let mut body = format!("--{B}\r\nContent-Disposition: form-data; name=\"").into_bytes();
        body.extend_from_slice(b"\xff\xfe\"\r\n\r\nx\r\n--XyZ-bound--");
        assert!(matches!(
            parse_all(&body, B),
            Err(MultipartError::InvalidUtf8 {
                header: "Content-Disposition",
                ..
            })
        ));
        let body = format!("--{B}\r\nContent-Type: a\r\ncontent-type: b\r\n\r\nx\r\n--{B}--");
        assert!(matches!(
            parse_all(body.as_bytes(), B),
            Err(MultipartError::DuplicateHeader {
                header: "Content-Type",
                part: 1,
                ..
            })
        ));
        let body = format!("--{B}\r\nContent-Disposition: form-data\r\nContent-Disposition: form-data; name=x\r\n\r\nx\r\n--{B}--");
        assert!(matches!(
            parse_all(body.as_bytes(), B),
            Err(MultipartError::DuplicateHeader { .. })
        ));
    }

    #[test]
    fn delimiter_lookalikes_inside_data_are_data() {
        let tricky: &[&[u8]] = &[
            b"",
            b"\r",
            b"\r\n",
            b"\r\n-",
            b"\r\n--",
            b"\r\n--XyZ-boun",
            b"--XyZ-bound",
            b"x--XyZ-bound--",
            b"\n--XyZ-bound",
            b"\r\r\n--XyZ-bounD",
            b"data\r\n--XyZ-bounx\r\n--\r\n--X\r",
            b"ends in CR\r",
            b"ends in CR CR\r\r",
        ];
        for data in tricky {
            let mut body =
                format!("--{B}\r\nContent-Disposition: form-data; name=\"d\"\r\n\r\n").into_bytes();
            body.extend_from_slice(data);
            body.extend_from_slice(format!("\r\n--{B}\r\n\r\n").as_bytes());
            body.extend_from_slice(data);
            body.extend_from_slice(format!("\r\n--{B}--\r\n").as_bytes());
            let parts = assert_chunking_invariant(&body, B, &Limits::default()).unwrap();
            assert_eq!(parts.len(), 2, "{:?}", String::from_utf8_lossy(data));
            assert_eq!(&parts[0].1, data);
            assert_eq!(&parts[1].1, data);
            assert_eq!(parts[1].0, PartHeaders::default(), "a part with no headers");
        }
    }

    #[test]
    fn preamble_epilogue_padding_and_missing_final_crlf() {
        let body = format!(
            "This is the preamble.\r\n--not-it\r\n\r\n--{B} \t \r\n\r\none\r\n--{B}\t\r\n\r\ntwo\r\n--{B}--  epilogue\r\n--{B}\r\nmore"
        );
        let parts = assert_chunking_invariant(body.as_bytes(), B, &Limits::default()).unwrap();
        assert_eq!(
            parts.iter().map(|(_, d)| d.as_slice()).collect::<Vec<_>>(),
            [&b"one"[..], b"two"]
        );

        // Close delimiter with nothing after it, and a body that is only a close delimiter.
        let body = format!("--{B}\r\n\r\nx\r\n--{B}--");
        assert_eq!(
            assert_chunking_invariant(body.as_bytes(), B, &Limits::default())
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            assert_chunking_invariant(format!("--{B}--").as_bytes(), B, &Limits::default()),
            Ok(vec![])
        );
        // Empty part bodies, back to back.
        let body = format!("--{B}\r\n\r\n\r\n--{B}\r\n\r\n\r\n--{B}--\r\n");
        let parts = assert_chunking_invariant(body.as_bytes(), B, &Limits::default()).unwrap();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|(_, data)| data.is_empty()));
    }

    #[test]
    fn truncated_bodies_fail_after_finish_only() {
        let body = browser_body();
        let cut = body.len() - 20;
        let mut parser = MultipartParser::new(B, Limits::default()).unwrap();
        parser.push(Bytes::copy_from_slice(&body[..cut]));
        let mut collector = Collector {
            parts: Vec::new(),
            open: None,
        };
        collector.drain(&mut parser).unwrap();
        assert!(!parser.is_complete());
        parser.finish();
        let error = collector.drain(&mut parser).unwrap_err();
        assert_eq!(
            error,
            MultipartError::EndInBody {
                part: 2,
                offset: cut as u64
            }
        );
        assert_eq!(
            error.to_string(),
            format!("body ended at byte {cut} inside part 2, before the closing boundary")
        );
        // Sticky.
        assert_eq!(parser.next(), Err(error));

        // Every truncation of a valid body is an error, and the same in any chunking.
        let body = go_body();
        let limits = Limits::default();
        let mut rng = Rng(7);
        for cut in 0..body.len() - 4 {
            let truncated = &body[..cut];
            let reference = parse_all_with(truncated, B, &limits);
            assert!(reference.is_err(), "cut at {cut} parsed");
            assert_eq!(stream_parse([truncated], B, &limits), reference);
            assert_eq!(stream_parse(truncated.chunks(1), B, &limits), reference);
            assert_eq!(
                stream_parse(random_chunks(truncated, &mut rng, 9), B, &limits),
                reference
            );
        }
        let cases: [(&str, MultipartError); 5] = [
            ("", MultipartError::MissingFirstBoundary { offset: 0 }),
            (
                "preamble only",
                MultipartError::MissingFirstBoundary { offset: 13 },
            ),
            ("--XyZ-bound", MultipartError::EndInDelimiter { offset: 11 }),
            (
                "--XyZ-bound-",
                MultipartError::EndInDelimiter { offset: 12 },
            ),
            (
                "--XyZ-bound\r\nA: b\r\n",
                MultipartError::EndInHeaders {
                    part: 1,
                    offset: 19,
                },
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(
                assert_chunking_invariant(body.as_bytes(), B, &Limits::default()),
                Err(expected),
                "{body:?}"
            );
        }
    }

    #[test]
    fn malformed_boundary_lines() {
        let limits = Limits::default();
        let check = |body: &str, expected: MultipartError| {
            assert_eq!(
                assert_chunking_invariant(body.as_bytes(), B, &limits),
                Err(expected),
                "{body:?}"
            );
        };
        check(
            "--XyZ-boundX\r\n",
            MultipartError::MalformedDelimiter {
                offset: 11,
                found: b'X',
            },
        );
        check(
            "--XyZ-bound-x",
            MultipartError::MalformedDelimiter {
                offset: 12,
                found: b'x',
            },
        );
        check(
            "--XyZ-bound \r\r",
            MultipartError::MalformedDelimiter {
                offset: 13,
                found: b'\r',
            },
        );
        check(
            "--XyZ-bound -- ",
            MultipartError::MalformedDelimiter {
                offset: 12,
                found: b'-',
            },
        );
        check(
            "--XyZ-bound\n\n",
            MultipartError::BareLfDelimiter { offset: 11 },
        );
        check(
            "--XyZ-bound\r\n\r\nx\r\n--XyZ-bound?",
            MultipartError::MalformedDelimiter {
                offset: 29,
                found: b'?',
            },
        );
        let padded = format!("--{B}{}\r\n", " ".repeat(257));
        check(
            &padded,
            MultipartError::PaddingTooLong {
                offset: 11 + 256,
                limit: 256,
            },
        );
        let ok = format!("--{B}{}\r\n\r\n\r\n--{B}--", " ".repeat(256));
        assert_eq!(
            assert_chunking_invariant(ok.as_bytes(), B, &limits)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn bare_lf_headers_are_rejected() {
        let body = format!("--{B}\r\nContent-Disposition: form-data; name=a\n\nx\r\n--{B}--");
        assert_eq!(
            assert_chunking_invariant(body.as_bytes(), B, &Limits::default()),
            Err(MultipartError::BareLfInHeaders {
                part: 1,
                offset: 13 + 38
            })
        );
        // LF-only framing throughout (Go's lenient mode) fails at the first boundary line.
        let body = format!("--{B}\nContent-Disposition: form-data; name=a\n\nx\n--{B}--\n");
        assert_eq!(
            parse_all(body.as_bytes(), B),
            Err(MultipartError::BareLfDelimiter { offset: 11 })
        );
        // Folded header lines are not accepted.
        let body = format!("--{B}\r\nContent-Type: a\r\n b\r\n\r\nx\r\n--{B}--");
        assert!(matches!(
            parse_all(body.as_bytes(), B),
            Err(MultipartError::MalformedHeaders {
                part: 1,
                offset: 13,
                ..
            })
        ));
    }

    #[test]
    fn limits_are_enforced_with_distinct_errors() {
        let limits = Limits {
            max_header_bytes: 64,
            max_headers: 2,
            max_parts: 2,
            max_name_bytes: 8,
            max_preamble_bytes: 16,
            max_padding_bytes: 2,
        };
        let part = |headers: &str| format!("--{B}\r\n{headers}\r\nbody\r\n");
        let check = |body: String, expected: MultipartError, message: &str| {
            let result = assert_chunking_invariant(body.as_bytes(), B, &limits);
            assert_eq!(result, Err(expected.clone()));
            assert_eq!(expected.to_string(), message);
        };
        check(
            format!(
                "{}{}--{B}--",
                part(""),
                part(&format!("X: {}\r\n", "y".repeat(60)))
            ),
            MultipartError::HeadersTooLarge {
                part: 2,
                offset: 34,
                limit: 64,
            },
            "part 2 headers exceed 64 bytes (headers start at byte 34)",
        );
        check(
            format!("{}--{B}--", part("A: 1\r\nB: 2\r\nC: 3\r\n")),
            MultipartError::TooManyHeaders {
                part: 1,
                offset: 13,
                limit: 2,
            },
            "part 1 has more than 2 headers (headers start at byte 13)",
        );
        check(
            format!("{}{}{}--{B}--", part(""), part(""), part("")),
            MultipartError::TooManyParts {
                limit: 2,
                offset: 42,
            },
            "more than 2 parts (the boundary of the next one is at byte 42)",
        );
        check(
            format!(
                "{}--{B}--",
                part("Content-Disposition: form-data; name=abcdefghi\r\n")
            ),
            MultipartError::NameTooLong {
                part: 1,
                offset: 13,
                field: "name",
                limit: 8,
            },
            "part 1 name is longer than 8 bytes (headers start at byte 13)",
        );
        check(
            format!(
                "{}--{B}--",
                part("Content-Disposition: form-data; filename*=utf-8''abcdefghi\r\n")
            ),
            MultipartError::NameTooLong {
                part: 1,
                offset: 13,
                field: "filename",
                limit: 8,
            },
            "part 1 filename is longer than 8 bytes (headers start at byte 13)",
        );
        check(
            format!("0123456789abcdefg\r\n{}--{B}--", part("")),
            MultipartError::PreambleTooLong { limit: 16 },
            "no boundary delimiter within the first 16 bytes of the body",
        );
        check(
            "0123456789abcdefg".to_string(),
            MultipartError::PreambleTooLong { limit: 16 },
            "no boundary delimiter within the first 16 bytes of the body",
        );
        check(
            "0123456789abcdef".to_string(),
            MultipartError::MissingFirstBoundary { offset: 16 },
            "body ended at byte 16 before the first boundary delimiter",
        );
        check(
            format!("--{B}   \r\n"),
            MultipartError::PaddingTooLong {
                offset: 13,
                limit: 2,
            },
            "boundary line at byte 13 has more than 2 bytes of transport padding",
        );
        // At the limits exactly, all is fine.
        let fine = format!(
            "0123456789abcd\r\n{}{}--{B}--",
            part("Content-Disposition: form-data; name=abcdefgh\r\n"),
            part(&format!("X: {}\r\n", "y".repeat(57)))
        );
        assert_eq!(
            assert_chunking_invariant(fine.as_bytes(), B, &limits)
                .unwrap()
                .len(),
            2
        );
        // Default limits: an 8 KiB header block.
        let big = format!("--{B}\r\nX: {}\r\n\r\n\r\n--{B}--", "y".repeat(9000));
        assert_eq!(
            parse_all(big.as_bytes(), B).unwrap_err().to_string(),
            "part 1 headers exceed 8192 bytes (headers start at byte 13)"
        );
    }

    #[test]
    fn boundary_parameter_parsing() {
        let ok = |ct: &str, expected: &str| {
            assert_eq!(
                boundary_from_content_type(ct).as_deref(),
                Ok(expected),
                "{ct}"
            )
        };
        ok(
            "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
            "----WebKitFormBoundary7MA4YWxkTrZu0gW",
        );
        ok("Multipart/Form-Data;BOUNDARY=abc", "abc");
        ok(
            "multipart/form-data; charset=utf-8; boundary=\"a b'()+_,-./:=?z\"",
            "a b'()+_,-./:=?z",
        );
        ok("multipart/form-data; boundary=abc; boundary=abc", "abc");
        let err = |ct: &str| boundary_from_content_type(ct).unwrap_err();
        assert_eq!(
            err("multipart/form-data").to_string(),
            "no boundary parameter in Content-Type"
        );
        assert_eq!(
            err("multipart/form-data; charset=x").to_string(),
            "no boundary parameter in Content-Type"
        );
        assert!(matches!(
            err("text/plain; boundary=abc"),
            MultipartError::NotFormData { .. }
        ));
        assert!(matches!(
            err("multipart/form-data; boundary=a; boundary=b"),
            MultipartError::DuplicateBoundary
        ));
        assert!(matches!(
            err("multipart/form-data; boundary=\"abc"),
            MultipartError::MalformedContentType { .. }
        ));
        assert!(matches!(
            err("multipart/form-data; boundary=\"\""),
            MultipartError::InvalidBoundary { .. }
        ));
        assert!(matches!(
            err("multipart/form-data; boundary=\"ends in space \""),
            MultipartError::InvalidBoundary { .. }
        ));
        assert!(matches!(
            err(&format!("multipart/form-data; boundary={}", "a".repeat(71))),
            MultipartError::InvalidBoundary { .. }
        ));
        assert!(boundary_from_content_type(&format!(
            "multipart/form-data; boundary={}",
            "a".repeat(70)
        ))
        .is_ok());
        assert!(matches!(
            err("multipart/form-data; boundary=\"a\\\"b\""),
            MultipartError::InvalidBoundary { .. }
        ));
        assert!(matches!(
            err("multipart/form-data; boundary=\"tab\tchar\""),
            MultipartError::InvalidBoundary { .. }
        ));
        assert!(MultipartParser::new("has\rcr", Limits::default()).is_err());
        assert!(MultipartParser::from_content_type(
            "multipart/form-data; boundary=zz",
            Limits::default()
        )
        .is_ok());
    }

    #[test]
    fn quoted_boundary_with_special_characters_frames_the_body() {
        let boundary =
            boundary_from_content_type("multipart/form-data; boundary=\"(a+b)=c?/d:e, f.g'h_ -i\"")
                .unwrap();
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n--{boundary}\r\n--(a+b)\r\n--{boundary}--\r\n"
        );
        let parts =
            assert_chunking_invariant(body.as_bytes(), &boundary, &Limits::default()).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].1, format!("--{boundary}\r\n--(a+b)").as_bytes());
    }

    #[test]
    fn part_data_is_zero_copy() {
        let mut body =
            format!("--{B}\r\nContent-Type: application/octet-stream\r\n\r\n").into_bytes();
        let header_len = body.len();
        body.extend((0..10_000u32).map(|i| (i % 251) as u8 | 0x80));
        body.extend_from_slice(format!("\r\n--{B}--").as_bytes());
        for split in [
            header_len - 3,
            header_len + 1,
            body.len() - 7,
            body.len() - 30,
        ] {
            let chunks = [
                Bytes::copy_from_slice(&body[..split]),
                Bytes::copy_from_slice(&body[split..]),
            ];
            let mut parser = MultipartParser::new(B, Limits::default()).unwrap();
            let mut total = 0;
            for chunk in &chunks {
                parser.push(chunk.clone());
                while let Some(event) = parser.next().unwrap() {
                    if let Event::Data(data) = event {
                        let inside = chunks.iter().any(|c| {
                            let range = c.as_ptr_range();
                            data.as_ptr() >= range.start && data.as_ptr_range().end <= range.end
                        });
                        assert!(inside, "data event is not a slice of a pushed chunk");
                        total += data.len();
                    }
                }
            }
            parser.finish();
            assert_eq!(parser.next(), Ok(None));
            assert_eq!(total, 10_000);
        }
    }

    #[test]
    fn push_after_finish_and_epilogue_chunks() {
        let mut parser = MultipartParser::new(B, Limits::default()).unwrap();
        parser.push(Bytes::from(format!("--{B}--")));
        assert_eq!(parser.next(), Ok(None));
        assert!(parser.is_complete());
        parser.push(Bytes::from(vec![b'x'; 100_000]));
        assert_eq!(parser.buffered(), 0, "epilogue is dropped on arrival");
        parser.finish();
        assert_eq!(parser.next(), Ok(None));
        parser.push(Bytes::from_static(b"late"));
        assert_eq!(parser.next(), Err(MultipartError::PushAfterFinish));
    }

    #[test]
    fn mutated_bodies_parse_identically_in_any_chunking() {
        let seeds = [
            browser_body(),
            go_body(),
            format!("pre\r\n--{B} \r\n\r\n\r\n--{B}--\r\nepi").into_bytes(),
        ];
        let small = Limits {
            max_header_bytes: 100,
            max_headers: 3,
            max_parts: 2,
            max_name_bytes: 10,
            max_preamble_bytes: 8,
            max_padding_bytes: 1,
        };
        let interesting = [b'\r', b'\n', b'-', b' ', b'"', b';', b'X', b'%', 0];
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let mut outcomes = [0usize; 2];
        for round in 0..4000 {
            let mut body = seeds[round % seeds.len()].clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(body.len());
                match rng.below(5) {
                    0 => body[at] = interesting[rng.below(interesting.len())],
                    1 => body[at] = rng.next_u64() as u8,
                    2 => {
                        body.remove(at);
                    }
                    3 => {
                        let len = rng.below(20).min(body.len() - at);
                        let copy = body[at..at + len].to_vec();
                        let to = rng.below(body.len());
                        body.splice(to..to, copy);
                    }
                    _ => body.truncate(at),
                }
                if body.is_empty() {
                    break;
                }
            }
            let limits = if round % 3 == 0 {
                small.clone()
            } else {
                Limits::default()
            };
            let reference = parse_all_with(&body, B, &limits);
            outcomes[reference.is_ok() as usize] += 1;
            assert_eq!(stream_parse([&body[..]], B, &limits), reference);
            for max_chunk in [1, 4, 33] {
                let chunks = random_chunks(&body, &mut rng, max_chunk);
                assert_eq!(
                    stream_parse(chunks, B, &limits),
                    reference,
                    "round {round}, {:?}",
                    String::from_utf8_lossy(&body)
                );
            }
        }
        // The mutations must exercise both outcomes.
        assert!(outcomes[0] > 500 && outcomes[1] > 500, "{outcomes:?}");
    }

    /// (name, filename, content type, data) of one part.
    type Summary = (Option<String>, Option<String>, Option<String>, Vec<u8>);

    /// multer on the same bytes, fed in `chunk`-byte chunks.
    fn multer_parse(body: &[u8], boundary: &str, chunk: usize) -> Vec<Summary> {
        let chunks: Vec<Result<Bytes, std::convert::Infallible>> = body
            .chunks(chunk)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut multipart =
                multer::Multipart::new(futures_util::stream::iter(chunks), boundary);
            let mut parts = Vec::new();
            while let Some(mut field) = multipart.next_field().await.unwrap() {
                let name = field.name().map(str::to_owned);
                let filename = field.file_name().map(str::to_owned);
                let content_type = field.content_type().map(|m| m.to_string());
                let mut data = Vec::new();
                while let Some(chunk) = field.chunk().await.unwrap() {
                    data.extend_from_slice(&chunk);
                }
                parts.push((name, filename, content_type, data));
            }
            parts
        })
    }

    #[test]
    fn agrees_with_multer() {
        let bodies = [
            browser_body(),
            go_body(),
            format!(
                "--{B}\r\nContent-Disposition: form-data; name=\"empty\"; filename=\"e.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--{B}\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n\r\n\r\n--{B}--\r\n"
            )
            .into_bytes(),
        ];
        for body in &bodies {
            let ours: Vec<_> = parse_all(body, B)
                .unwrap()
                .into_iter()
                .map(|(h, data)| (h.name, h.filename, h.content_type, data))
                .collect();
            for chunk in [1, 5, 64, body.len()] {
                assert_eq!(multer_parse(body, B, chunk), ours, "chunk {chunk}");
            }
        }
    }
}
