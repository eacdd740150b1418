//! Where denylists come from, and keeping them current without a restart.
//!
//! - `DATA/denylists/*.deny`, in file-name order; files that appear are loaded and files
//!   that go are dropped. A `--denylist` naming a directory is read the same way.
//! - `--denylist FILE`: one list.
//! - `--denylist URL` (http or https): fetched through the network layer's HTTP client, then
//!   followed as an append-only list: each refresh asks for the bytes past what was read
//!   (`Range`, overlapping a few bytes already read to notice a list that was replaced), and
//!   a server that ignores `Range` has its whole list read again.
//!
//! Files are polled (size, modification time, inode), not watched: that works on every file
//! system and for files replaced by rename. A file that grew has only its new whole lines
//! read (the spec's append-only lists, so a list of millions of entries is not parsed again
//! for each line added); one that shrank, was replaced or changed before what was read is
//! read again whole. A final line without a newline is read at once, and the list read again
//! whole when it grows (the line may have been cut mid-way).
//!
//! A list that cannot be read at start (a missing file, a header that is not YAML, an
//! unsupported version) is an error; later, the error is logged and the list kept as it was.
//! Lines that hold no valid rule are logged with their line number and skipped.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use http::{header, StatusCode, Uri};

use super::parse::{self, ListError};
use super::{Denylist, List};
use crate::network::http_client::{BodyStream, ClientOptions, HttpClient};

/// Where the lists are and how often they are looked at again.
#[derive(Debug, Clone)]
pub struct DenylistOptions {
    /// `DATA/denylists`: every `*.deny` file in it (none when it does not exist).
    pub dir: Option<PathBuf>,
    /// `--denylist` values in order: a file, a directory of `*.deny` files, or an http(s)
    /// URL. Their rules win over the directory's, and a later one's over an earlier one's.
    pub lists: Vec<String>,
    /// How often files are looked at for changes.
    pub file_interval: Duration,
    /// How often URLs are asked for what was appended.
    pub url_interval: Duration,
}

impl Default for DenylistOptions {
    fn default() -> Self {
        DenylistOptions {
            dir: None,
            lists: Vec::new(),
            file_interval: Duration::from_secs(2),
            url_interval: Duration::from_secs(300),
        }
    }
}

/// Bytes of a list already read that a later read compares again, to notice a list that
/// was replaced rather than appended to.
const TAIL_BYTES: usize = 4096;
/// The overlap asked for again on each refresh of a URL.
const URL_OVERLAP: u64 = 64;
/// Largest list read from a URL in one response.
const MAX_URL_BYTES: u64 = 1 << 30;
/// Longest wait for a list server to answer, and between two chunks of its body.
const URL_TIMEOUT: Duration = Duration::from_secs(30);

/// What is followed, and how far each list was read.
#[derive(Default)]
pub(super) struct Following {
    options: Option<DenylistOptions>,
    files: HashMap<PathBuf, FileState>,
    urls: Vec<UrlState>,
    next_source: u64,
}

/// A list file and how far it was read.
struct FileState {
    source: u64,
    stat: Stat,
    read: Progress,
}

/// What a list source was read up to.
#[derive(Default, Clone)]
struct Progress {
    /// Bytes read and parsed.
    consumed: u64,
    /// The last bytes of those (up to [`TAIL_BYTES`]), compared again on the next read.
    tail: Vec<u8>,
    /// The number the next appended line gets.
    next_line: u64,
    /// The last line read had no newline (so it may be incomplete).
    unterminated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    dev: u64,
    ino: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl Stat {
    fn of(path: &Path) -> std::io::Result<Stat> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path)?;
        Ok(Stat {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

/// A list followed over HTTP.
#[derive(Clone)]
struct UrlState {
    source: u64,
    uri: Uri,
    order: (usize, String),
    /// Nothing read yet (or the list must be read again whole).
    loaded: bool,
    read: Progress,
}

/// Parses a whole list into a [`List`] of `source` (named by its header, else `name`).
pub(super) fn parse_list(
    source: u64,
    order: (usize, String),
    name: &str,
    text: &[u8],
) -> Result<List, ListError> {
    Ok(parse_whole(source, order, name, text)?.0)
}

/// [`parse_list`], and how far it read.
fn parse_whole(
    source: u64,
    order: (usize, String),
    name: &str,
    text: &[u8],
) -> Result<(List, Progress), ListError> {
    let (header, start) = parse::split_header(text)?;
    let name: Arc<str> = header.name.as_deref().unwrap_or(name).into();
    let mut list = List::new(source, order, name);
    list.hints = header.hints;
    let first_line = 1 + memchr::memchr_iter(b'\n', &text[..start]).count() as u64;
    let body = &text[start..];
    list.add_lines(body.strip_suffix(b"\n").unwrap_or(body), first_line);
    let progress = Progress {
        consumed: text.len() as u64,
        tail: text[text.len().saturating_sub(TAIL_BYTES)..].to_vec(),
        next_line: first_line + memchr::memchr_iter(b'\n', body).count() as u64,
        unterminated: !text.is_empty() && !text.ends_with(b"\n"),
    };
    Ok((list, progress))
}

/// The whole lines at the start of `text` (with their final newline), if any.
fn whole_lines(text: &[u8]) -> &[u8] {
    match memchr::memrchr(b'\n', text) {
        Some(end) => &text[..=end],
        None => &[],
    }
}

impl Progress {
    /// `lines` (whole lines) were read past what was read before.
    fn advance(&mut self, lines: &[u8]) {
        self.consumed += lines.len() as u64;
        self.next_line += memchr::memchr_iter(b'\n', lines).count() as u64;
        self.tail.extend_from_slice(lines);
        if self.tail.len() > TAIL_BYTES {
            self.tail.drain(..self.tail.len() - TAIL_BYTES);
        }
    }
}

/// A `--denylist` value's kind.
enum Named {
    Url(Uri),
    Dir(PathBuf),
    File(PathBuf),
}

fn named(value: &str) -> Result<Named, String> {
    if value.starts_with("http://") || value.starts_with("https://") {
        let uri: Uri = value
            .parse()
            .map_err(|e| format!("--denylist {value}: {e}"))?;
        if uri.host().is_none_or(str::is_empty) {
            return Err(format!("--denylist {value}: no host"));
        }
        return Ok(Named::Url(uri));
    }
    let path = PathBuf::from(value);
    if path.is_dir() {
        Ok(Named::Dir(path))
    } else {
        Ok(Named::File(path))
    }
}

/// The `*.deny` files of a directory, in name order (none when it does not exist).
fn deny_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "deny") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

impl Denylist {
    /// Loads the lists `options` name: the files now (an error if one cannot be read), the
    /// URLs on [`Denylist::refresh_urls`]. Nothing is followed until [`Denylist::follow`].
    pub fn open(options: &DenylistOptions) -> Result<Arc<Denylist>, String> {
        let denylist = Denylist::empty();
        {
            let mut following = denylist.lock_following();
            following.options = Some(options.clone());
            for (group, value) in options.lists.iter().enumerate() {
                if let Named::Url(uri) = named(value)? {
                    following.next_source += 1;
                    let source = following.next_source;
                    following.urls.push(UrlState {
                        source,
                        order: (group + 1, String::new()),
                        uri,
                        loaded: false,
                        read: Progress::default(),
                    });
                }
                if let Named::File(path) = named(value)? {
                    if !path.is_file() {
                        return Err(format!("--denylist {value}: no such file"));
                    }
                }
            }
        }
        denylist.reload_files(true)?;
        let (lists, rules) = denylist.size();
        if lists > 0 {
            tracing::info!(lists, rules, "denylists loaded");
        }
        Ok(denylist)
    }

    fn lock_following(&self) -> std::sync::MutexGuard<'_, Following> {
        self.following.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Looks at every list file again: new files are loaded, gone ones dropped, grown ones
    /// read past what was read, changed ones read again. With `strict`, a list that cannot
    /// be read is an error (at start); otherwise it is logged and the old rules kept.
    /// Blocking file IO: call it off the async workers.
    pub fn reload_files(&self, strict: bool) -> Result<(), String> {
        let mut following = self.lock_following();
        let Some(options) = following.options.clone() else {
            return Ok(());
        };
        // Every file wanted now, with its place among the lists.
        let mut wanted: Vec<(PathBuf, (usize, String))> = Vec::new();
        if let Some(dir) = &options.dir {
            let files = deny_files(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            wanted.extend(files.into_iter().map(|p| {
                let name = file_name(&p);
                (p, (0, name))
            }));
        }
        for (group, value) in options.lists.iter().enumerate() {
            match named(value)? {
                Named::Dir(dir) => {
                    let files = deny_files(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                    wanted.extend(files.into_iter().map(|p| {
                        let name = file_name(&p);
                        (p, (group + 1, name))
                    }));
                }
                Named::File(path) => wanted.push((path, (group + 1, String::new()))),
                Named::Url(_) => {}
            }
        }
        let gone: Vec<PathBuf> = following
            .files
            .keys()
            .filter(|p| !wanted.iter().any(|(w, _)| w == *p))
            .cloned()
            .collect();
        for path in gone {
            if let Some(state) = following.files.remove(&path) {
                tracing::info!(list = %path.display(), "denylist removed");
                self.replace(state.source, None);
            }
        }
        for (path, order) in wanted {
            if let Err(e) = self.reload_file(&mut following, &path, order) {
                let message = format!("denylist {}: {e}", path.display());
                if strict {
                    return Err(message);
                }
                tracing::error!("{message} (its previous rules stay in force)");
            }
        }
        Ok(())
    }

    fn reload_file(
        &self,
        following: &mut Following,
        path: &Path,
        order: (usize, String),
    ) -> Result<(), ListError> {
        let io = |e: std::io::Error| ListError::Io(e.to_string());
        let stat = match Stat::of(path) {
            Ok(stat) => stat,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(state) = following.files.remove(path) {
                    tracing::info!(list = %path.display(), "denylist removed");
                    self.replace(state.source, None);
                }
                return Ok(());
            }
            Err(e) => return Err(io(e)),
        };
        let Some(state) = following.files.get_mut(path) else {
            following.next_source += 1;
            let source = following.next_source;
            let read = self.load_file(source, order, path)?;
            following
                .files
                .insert(path.to_owned(), FileState { source, stat, read });
            return Ok(());
        };
        if stat == state.stat {
            return Ok(());
        }
        let replaced = stat.dev != state.stat.dev
            || stat.ino != state.stat.ino
            || stat.len < state.read.consumed
            || (state.read.unterminated && stat.len != state.read.consumed);
        if !replaced {
            // Read from a little before the end of what was read: if those bytes changed,
            // the file was rewritten, not appended to.
            let mut file = std::fs::File::open(path).map_err(io)?;
            let from = state.read.consumed - state.read.tail.len() as u64;
            file.seek(SeekFrom::Start(from)).map_err(io)?;
            let mut bytes = Vec::with_capacity((stat.len - from) as usize);
            file.take(stat.len - from)
                .read_to_end(&mut bytes)
                .map_err(io)?;
            if bytes.starts_with(&state.read.tail) {
                let lines = whole_lines(&bytes[state.read.tail.len()..]);
                if !lines.is_empty() {
                    let before = self.list_rules(state.source);
                    self.append(
                        state.source,
                        lines.strip_suffix(b"\n").unwrap_or(lines),
                        state.read.next_line,
                    );
                    state.read.advance(lines);
                    tracing::info!(
                        list = %path.display(),
                        added = self.list_rules(state.source).saturating_sub(before),
                        "denylist grew"
                    );
                }
                // A partial last line is read once its newline comes.
                state.stat = Stat {
                    len: state.read.consumed,
                    ..stat
                };
                return Ok(());
            }
        }
        let source = state.source;
        let read = self.load_file(source, order, path)?;
        if let Some(state) = following.files.get_mut(path) {
            state.stat = stat;
            state.read = read;
        }
        Ok(())
    }

    /// Reads a list file whole and puts it in place of `source`'s list.
    fn load_file(
        &self,
        source: u64,
        order: (usize, String),
        path: &Path,
    ) -> Result<Progress, ListError> {
        let text = std::fs::read(path).map_err(|e| ListError::Io(e.to_string()))?;
        let (list, read) = parse_whole(source, order, &file_name(path), &text)?;
        tracing::info!(
            list = %path.display(),
            name = %list.name,
            rules = list.rules,
            skipped = list.skipped,
            "denylist loaded"
        );
        self.replace(source, Some(list));
        Ok(read)
    }

    fn list_rules(&self, source: u64) -> usize {
        let rules = self.rules.read().unwrap_or_else(|p| p.into_inner());
        rules
            .lists
            .iter()
            .find(|l| l.source == source)
            .map_or(0, |l| l.rules)
    }

    /// Asks every denylist URL for what was appended since it was last read (the whole list
    /// the first time). Failures are logged; the rules already read stay in force.
    pub async fn refresh_urls(&self, client: &HttpClient) {
        let urls: Vec<UrlState> = self.lock_following().urls.clone();
        for url in urls {
            let (source, uri) = (url.source, url.uri);
            let outcome = self
                .refresh_url(client, source, &uri, url.order, url.loaded, url.read)
                .await;
            let mut following = self.lock_following();
            let Some(state) = following.urls.iter_mut().find(|u| u.source == source) else {
                continue;
            };
            match outcome {
                Ok(Some(read)) => {
                    state.loaded = true;
                    state.read = read;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(list = %uri, "denylist not refreshed: {e} (its rules stay in force)")
                }
            }
        }
    }

    /// One refresh of one URL: the new progress, or `None` when nothing changed.
    async fn refresh_url(
        &self,
        client: &HttpClient,
        source: u64,
        uri: &Uri,
        order: (usize, String),
        loaded: bool,
        read: Progress,
    ) -> Result<Option<Progress>, String> {
        let follow_on = loaded && !read.unterminated;
        let overlap = if follow_on {
            URL_OVERLAP.min(read.consumed).min(read.tail.len() as u64)
        } else {
            0
        };
        let from = read.consumed - overlap;
        let mut request = HttpClient::request(http::Method::GET, uri.clone(), "text/plain, */*");
        if follow_on {
            if let Ok(range) = header::HeaderValue::from_str(&format!("bytes={from}-")) {
                request.headers_mut().insert(header::RANGE, range);
            }
        }
        let deadline = tokio::time::Instant::now() + URL_TIMEOUT;
        let response = client
            .send(request, deadline, URL_TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let content_range = response
            .headers()
            .get(header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match status {
            StatusCode::RANGE_NOT_SATISFIABLE if follow_on => {
                // Nothing past what was read, unless the list is now shorter than that.
                let total = content_range
                    .as_deref()
                    .and_then(|r| r.strip_prefix("bytes */"))
                    .and_then(|n| n.trim().parse::<u64>().ok());
                if total.is_some_and(|total| total < read.consumed) {
                    return Box::pin(self.refresh_url(client, source, uri, order, false, read))
                        .await;
                }
                Ok(None)
            }
            StatusCode::PARTIAL_CONTENT if follow_on => {
                let starts_at = content_range
                    .as_deref()
                    .and_then(|r| r.strip_prefix("bytes "))
                    .and_then(|r| r.split('-').next())
                    .and_then(|n| n.trim().parse::<u64>().ok());
                if starts_at != Some(from) {
                    return Err(format!("answered the range from {starts_at:?}, not {from}"));
                }
                let body = BodyStream::new(response, MAX_URL_BYTES, URL_TIMEOUT)
                    .map_err(|e| e.to_string())?
                    .collect()
                    .await
                    .map_err(|e| e.to_string())?;
                let overlap = overlap as usize;
                let expected = &read.tail[read.tail.len() - overlap..];
                if !body.starts_with(expected) {
                    // Replaced, not appended to: read it again whole.
                    return Box::pin(self.refresh_url(client, source, uri, order, false, read))
                        .await;
                }
                let lines = whole_lines(&body[overlap..]);
                if lines.is_empty() {
                    return Ok(None);
                }
                let mut read = read;
                self.append(
                    source,
                    lines.strip_suffix(b"\n").unwrap_or(lines),
                    read.next_line,
                );
                read.advance(lines);
                tracing::info!(list = %uri, "denylist grew");
                Ok(Some(read))
            }
            StatusCode::OK => {
                let body = BodyStream::new(response, MAX_URL_BYTES, URL_TIMEOUT)
                    .map_err(|e| e.to_string())?
                    .collect()
                    .await
                    .map_err(|e| e.to_string())?;
                if follow_on && body.len() as u64 == read.consumed && body.ends_with(&read.tail) {
                    return Ok(None);
                }
                let name = uri.to_string();
                let (list, progress) =
                    parse_whole(source, order, &name, &body).map_err(|e| e.to_string())?;
                tracing::info!(
                    list = %uri,
                    name = %list.name,
                    rules = list.rules,
                    skipped = list.skipped,
                    "denylist loaded"
                );
                self.replace(source, Some(list));
                Ok(Some(progress))
            }
            other => Err(format!("answered {other}")),
        }
    }

    /// Keeps the lists current: files looked at every `file_interval`, URLs asked every
    /// `url_interval`, until the denylist is dropped. Runs on the current Tokio runtime.
    pub fn follow(self: &Arc<Self>) {
        let Some(options) = self.lock_following().options.clone() else {
            return;
        };
        let has_urls = !self.lock_following().urls.is_empty();
        let client = if has_urls {
            match HttpClient::new(&ClientOptions::default()) {
                Ok(client) => Some(client),
                Err(e) => {
                    tracing::error!("denylist URLs will not be followed: {e}");
                    None
                }
            }
        } else {
            None
        };
        let weak: Weak<Denylist> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut files = tokio::time::interval(options.file_interval);
            let mut urls = tokio::time::interval(options.url_interval);
            files.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            urls.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first ticks are immediate: the lists were just read.
            files.tick().await;
            urls.tick().await;
            loop {
                tokio::select! {
                    _ = files.tick() => {
                        let Some(denylist) = weak.upgrade() else { return };
                        let _ = tokio::task::spawn_blocking(move || denylist.reload_files(false))
                            .await;
                    }
                    _ = urls.tick(), if client.is_some() => {
                        let Some(denylist) = weak.upgrade() else { return };
                        if let Some(client) = &client {
                            denylist.refresh_urls(client).await;
                        }
                    }
                }
            }
        });
    }

    /// Fetches every denylist URL once now (at start, before serving).
    pub async fn load_urls(&self) {
        if self.lock_following().urls.is_empty() {
            return;
        }
        match HttpClient::new(&ClientOptions::default()) {
            Ok(client) => self.refresh_urls(&client).await,
            Err(e) => tracing::error!("denylist URLs cannot be fetched: {e}"),
        }
    }
}
