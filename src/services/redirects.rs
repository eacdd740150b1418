//! The `_redirects` file of a website (the IPFS "Web Redirects File" spec,
//! <https://specs.ipfs.tech/http-gateways/web-redirects-file/>, IPIP-0002): reading it from a
//! site's root directory, parsing it, and matching a missing path against its rules, with
//! the behaviour of boxo (`go-ipfs-redirects-file`), which Kubo uses.
//!
//! Implemented from the spec:
//! - one rule per line, `from to [status]`, fields separated by whitespace; lines end in `\n`
//!   or `\r\n`; blank lines and lines starting with `#` are ignored;
//! - status 301 when none is given; only 200, 301, 302, 303, 307, 308, 404, 410 and 451 are
//!   accepted; forced rules (`301!`, Netlify's "shadowing") are refused, because redirects
//!   only ever apply to paths that do not exist ("No Forced Redirects");
//! - `:name` placeholders match one path segment, a final `*` (the splat) matches the rest of
//!   the path, and both are substituted into `to` (`:splat` for the splat);
//! - rules are tried in file order, the first match wins;
//! - a file over [`MAX_REDIRECTS_FILE_SIZE`] (64 KiB) is an error;
//! - every parse error names its line, and the gateway answers it with a 500 whose body
//!   starts with `could not parse _redirects:` (the conversion into [`Error`] does that).
//!
//! Matching follows boxo (which uses `ucarion/urlpath`): the request path is the decoded,
//! cleaned path below the site root, with a trailing `/` ignored on both the path and `from`;
//! placeholders and the splat are whole segments (`/foo*` is the literal name `foo*`), and
//! `/splat/*` needs at least one segment after `/splat/`. Where boxo is nondeterministic or
//! plainly broken, cairn does the evident thing and says so at the code: placeholders are
//! substituted left to right, longest name first (Go iterates a map); placeholder values are
//! percent-encoded into `to`, so `to` is always a URL reference; `from` segments written
//! percent-encoded (`/%C4%85`) also match the decoded request path (`/ą`); the query of a
//! rewrite target is dropped instead of being looked up as part of a file name; a leading
//! UTF-8 byte order mark is ignored; and a line that is not UTF-8 is an error (Go would
//! carry the bytes through).
//!
//! # How the gateway applies a match (boxo semantics)
//!
//! - Only on origins with isolation: subdomain gateways (`{cid}.ipfs.{host}`,
//!   `{name}.ipns.{host}`) and DNSLink gateways (`Host` is a DNSLink name); never on the
//!   plain `/ipfs/…` and `/ipns/…` path gateway, where every site shares one origin.
//! - Only for web (deserialized UnixFS) GET and HEAD requests — not for `?format=` or
//!   `Accept`-selected raw, CAR, TAR, IPNS-record or dag-* responses — and only when
//!   resolving the path failed because a segment does not exist. A path that exists is
//!   always served as itself, and a broken `_redirects` then does no harm.
//! - The file is `_redirects` in the root directory of the content root — the CID after
//!   DNSLink/IPNS resolution — read with [`load`]; rules match the path below that CID. No
//!   file, or no matching rule ([`Redirects::find`] is `None`): the usual 404. A file that
//!   cannot be used (not a file, too large, a bad line): 500 with the error text.
//! - 301–308 ([`RedirectKind::Redirect`]): that status with `Location:`
//!   [`Redirect::location`] (the request's query merged in); the target is not checked.
//! - 200 ([`RedirectKind::Rewrite`]): serve [`Redirect::target_path`] as if it had been
//!   requested — directory index, headers, ETag and `If-None-Match` → 304 all as for that
//!   path — with status 200, without consulting `_redirects` again. A target that does not
//!   exist, or a `to` that is a URL rather than a path, gives 404.
//! - 404, 410, 451 ([`RedirectKind::ErrorPage`]): serve the file at
//!   [`Redirect::target_path`] with the rule's status, `Content-Type: text/html`, and the
//!   `ETag`/`Cache-Control` of that file (immutable below `/ipfs`, not below a DNSLink or
//!   IPNS name). A missing target gives 404; a target that is not a file, 500.
//!
//! A parsed file depends only on the root CID, so it may be cached per CID.

use std::collections::BTreeMap;

use cid::Cid;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use smallvec::SmallVec;

use super::file::FileStream;
use super::go_url::query_escape_into;
use super::resolve::{self, Node};
use super::{Error, Result};
use crate::store::SharedSource;

/// Name of the file, in the root directory of a site.
pub const REDIRECTS_FILE: &str = "_redirects";

/// Largest `_redirects` accepted, in bytes (the spec's "Max File Size": 64 KiB).
pub const MAX_REDIRECTS_FILE_SIZE: u64 = 64 * 1024;

/// The statuses a rule may have (the spec's list; boxo accepts the same).
pub const SUPPORTED_STATUSES: [u16; 9] = [200, 301, 302, 303, 307, 308, 404, 410, 451];

/// Status of a rule that names none.
pub const DEFAULT_STATUS: u16 = 301;

/// Longest excerpt of a field quoted in an error, so a 64 KiB line does not become a 64 KiB
/// error message.
const EXCERPT_CHARS: usize = 64;

/// Bytes percent-encoded in a placeholder value substituted into `to`: whatever may not
/// stand in a URL path, plus `?`, `#` and `%` (they would change the URL's meaning) and
/// `&`, `+`, `;`, `=` (a `to` may put placeholders in its query, where these separate or
/// encode values). Non-ASCII is always encoded.
const VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'/')
    .add(b';')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The splat spans segments, so its `/`s stay.
const SPLAT_VALUE: &AsciiSet = &VALUE.remove(b'/');

/// Bytes that cannot be sent in a `Location` header as they are: controls, space, the
/// characters RFC 3986 never allows, and non-ASCII (which Go's `http.Redirect` escapes too).
/// `%`, `?`, `#`, `[` and `]` keep their URL meaning.
const LOCATION: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Why a `_redirects` file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectsError {
    /// Larger than [`MAX_REDIRECTS_FILE_SIZE`]; the words are the ones the conformance suite
    /// looks for.
    #[error("redirects file size cannot exceed {MAX_REDIRECTS_FILE_SIZE} bytes (it has {size})")]
    TooLarge { size: u64 },
    /// One line is malformed (`line` counts from 1).
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: LineError },
    /// `_redirects` exists but is a directory, symlink or non-UnixFS block.
    #[error("{REDIRECTS_FILE} is not a file")]
    NotAFile,
}

/// What is wrong with a line; values are quoted shortened to a few dozen characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("the line is not valid UTF-8")]
    NotUtf8,
    #[error("missing 'to' path (the format is 'from to [status]')")]
    MissingTo,
    #[error("must match format 'from to [status]', found {0} fields")]
    TooManyFields(usize),
    #[error("parsing 'from' {0:?}: path must begin with '/'")]
    FromNotAbsolute(String),
    #[error("parsing 'from' {0:?}: path must end with asterisk (a splat is only allowed last)")]
    SplatNotLast(String),
    #[error("parsing 'from' {0:?}: path can have at most one asterisk")]
    TooManySplats(String),
    #[error("parsing '{field}' {value:?}: invalid control character in URL")]
    ControlCharacter { field: &'static str, value: String },
    #[error(
        "parsing '{field}' {value:?}: invalid URL escape ('%' must be followed by two hex digits)"
    )]
    BadEscape { field: &'static str, value: String },
    #[error(
        "parsing 'to' {0:?}: must be a path starting with '/' or an http, https, ipfs or ipns URL"
    )]
    InvalidTo(String),
    #[error("parsing status {0:?}: forced redirects (or \"shadowing\") are not supported")]
    Forced(String),
    #[error("parsing status {0:?}: not a number")]
    StatusNotANumber(String),
    #[error(
        "parsing status {0:?}: status code {0} is not supported \
         (use 200, 301, 302, 303, 307, 308, 404, 410 or 451)"
    )]
    UnsupportedStatus(String),
}

/// The gateway answers any of these with a 500 (spec "Error Handling"); the prefix is the
/// one boxo writes and the conformance suite checks for.
impl From<RedirectsError> for Error {
    fn from(e: RedirectsError) -> Self {
        Error::Internal(format!("could not parse {REDIRECTS_FILE}: {e}"))
    }
}

/// The rules of one `_redirects` file, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redirects {
    rules: Vec<Rule>,
}

/// One rule: `from to [status]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    line: usize,
    from: String,
    pattern: Pattern,
    to: String,
    status: u16,
}

/// `from`, split into segments, with its trailing `/` dropped (boxo trims it before matching).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    segments: Vec<Segment>,
    /// Ends in a `*` segment: any further segments match, and become `:splat`.
    splat: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Matches itself, or — when it was written percent-encoded — its decoded form.
    Literal {
        text: String,
        decoded: Option<String>,
    },
    /// `:name`: matches any one segment.
    Placeholder(String),
}

/// The outcome of a matching rule, placeholders substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The rule's `to` with placeholders and `:splat` replaced by the (percent-encoded)
    /// segments they matched: a URL reference — a path from the site root, or an absolute
    /// URL — possibly with a query and a fragment.
    pub to: String,
    /// One of [`SUPPORTED_STATUSES`].
    pub status: u16,
    /// The rule's line in the file, for logs.
    pub line: usize,
}

/// What the gateway does with a [`Redirect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// 301, 302, 303, 307, 308: answer with `Location`.
    Redirect,
    /// 200: serve the target's content in place of the missing path.
    Rewrite,
    /// 404, 410, 451: serve the target file with the rule's status.
    ErrorPage,
}

impl Redirects {
    /// Parses a whole `_redirects` file. Errors name the first bad line and why it is bad; a
    /// file over [`MAX_REDIRECTS_FILE_SIZE`] is refused before any line is read.
    pub fn parse(text: &[u8]) -> std::result::Result<Redirects, RedirectsError> {
        Self::check_size(text.len() as u64)?;
        // Editors on Windows like to start text files with a byte order mark; it is not part
        // of the first rule.
        let text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
        let mut rules = Vec::new();
        for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
            let line = index + 1;
            if let Some(rule) =
                parse_line(raw, line).map_err(|reason| RedirectsError::Line { line, reason })?
            {
                rules.push(rule);
            }
        }
        Ok(Redirects { rules })
    }

    /// Refuses a file of `size` bytes over [`MAX_REDIRECTS_FILE_SIZE`], so a caller that
    /// knows the size can check it before reading anything.
    pub fn check_size(size: u64) -> std::result::Result<(), RedirectsError> {
        if size > MAX_REDIRECTS_FILE_SIZE {
            return Err(RedirectsError::TooLarge { size });
        }
        Ok(())
    }

    /// The first rule matching `path`, with placeholders and splat substituted into `to`.
    ///
    /// `path` is the request path below the site root, percent-decoded (as the gateway
    /// resolves it), starting with `/`. It is cleaned first as Go's `path.Clean` would — empty
    /// and `.` segments dropped, `..` applied — and a trailing `/` does not matter.
    pub fn find(&self, path: &str) -> Option<Redirect> {
        let path = clean(path);
        self.rules.iter().find_map(|rule| rule.apply(&path))
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

impl Rule {
    /// Line of the file the rule is on, counting from 1.
    pub fn line(&self) -> usize {
        self.line
    }

    /// `from` as written.
    pub fn from(&self) -> &str {
        &self.from
    }

    /// `to` as written, placeholders unsubstituted.
    pub fn to(&self) -> &str {
        &self.to
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    /// The redirect this rule makes of a cleaned path (`""` for the root), if it matches.
    fn apply(&self, path: &str) -> Option<Redirect> {
        let mut params: SmallVec<[(&str, &str); 4]> = SmallVec::new();
        let splat = self.pattern.matches(path, &mut params)?;
        Some(Redirect {
            to: substitute(&self.to, &params, splat),
            status: self.status,
            line: self.line,
        })
    }
}

impl Pattern {
    fn parse(from: &str) -> Pattern {
        // boxo trims one trailing slash from `from` before matching: `/docs/` matches `/docs`.
        let trimmed = from.strip_suffix('/').unwrap_or(from);
        let mut parts: Vec<&str> = trimmed.split('/').collect();
        // Only a whole last segment `*` is a splat; `foo*` stays a literal name (urlpath).
        let splat = parts.last() == Some(&"*");
        if splat {
            parts.pop();
        }
        let segments = parts
            .into_iter()
            .map(|part| match part.strip_prefix(':') {
                Some(name) => Segment::Placeholder(name.to_string()),
                None => Segment::Literal {
                    text: part.to_string(),
                    decoded: percent_decode_str(part)
                        .decode_utf8()
                        .ok()
                        .filter(|decoded| decoded != part)
                        .map(|decoded| decoded.into_owned()),
                },
            })
            .collect();
        Pattern { segments, splat }
    }

    /// Matches a cleaned path the way `urlpath.Path.Match` does: segment by segment, the
    /// last one taking no `/` unless a splat follows (which then needs at least one more
    /// segment). Returns what the splat matched (`""` without a splat), and pushes each
    /// placeholder's segment onto `params`.
    fn matches<'p, 's>(
        &'s self,
        path: &'p str,
        params: &mut SmallVec<[(&'s str, &'p str); 4]>,
    ) -> Option<&'p str> {
        let mut rest = path;
        let count = self.segments.len();
        for (index, segment) in self.segments.iter().enumerate() {
            let last = index + 1 == count;
            let (head, tail) = match rest.split_once('/') {
                Some(_) if last && !self.splat => return None,
                Some(split) => split,
                None if !last || self.splat => return None,
                None => (rest, ""),
            };
            match segment {
                Segment::Placeholder(name) => params.push((name.as_str(), head)),
                Segment::Literal { text, decoded } => {
                    if head != text && decoded.as_deref() != Some(head) {
                        return None;
                    }
                }
            }
            rest = tail;
        }
        Some(rest)
    }
}

impl Redirect {
    pub fn kind(&self) -> RedirectKind {
        match self.status {
            200 => RedirectKind::Rewrite,
            300..=399 => RedirectKind::Redirect,
            _ => RedirectKind::ErrorPage,
        }
    }

    /// For a rewrite or an error page: the path below the site root to serve, still
    /// percent-encoded (decode and clean it like a request path), without `to`'s query or
    /// fragment. `None` when `to` is a URL rather than a path; the gateway answers 404 then,
    /// as boxo does (it looks the URL up as a path, which never exists).
    pub fn target_path(&self) -> Option<&str> {
        if !self.to.starts_with('/') {
            return None;
        }
        let end = self.to.find(['?', '#']).unwrap_or(self.to.len());
        Some(&self.to[..end])
    }

    /// For a redirect: the `Location` value. With a request query (`Uri::query()`, without
    /// the `?`), its parameters are merged into `to`'s as boxo does — both parsed as a form,
    /// keys sorted, values of a key in order (`to`'s first), re-encoded — so
    /// `/a?x=1` with `?b=2` becomes `/a?b=2&x=1`. Characters a header cannot carry as they
    /// are (non-ASCII, controls, space, …) are percent-encoded.
    pub fn location(&self, request_query: Option<&str>) -> String {
        let merged;
        let target = match request_query {
            Some(query) if !query.is_empty() => {
                merged = merge_query(&self.to, query);
                &merged
            }
            _ => &self.to,
        };
        utf8_percent_encode(target, LOCATION).to_string()
    }
}

/// Reads and parses the `_redirects` file in the directory `root`. `Ok(None)` when there is
/// none (or `root` is not a directory); an error when it is not a file, is too large (checked
/// against the size the file's root declares, before any of its blocks is read) or does not
/// parse — those convert to [`Error::Internal`] with the text the gateway must answer with.
pub async fn load(source: &SharedSource, root: &Cid) -> Result<Option<Redirects>> {
    let resolved = match resolve::resolve(&**source, *root, &[REDIRECTS_FILE]).await {
        Ok(resolved) => resolved,
        Err(Error::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Node::File(file) = &resolved.node else {
        return Err(RedirectsError::NotAFile.into());
    };
    let size = file.size();
    Redirects::check_size(size)?;
    // At most 64 KiB, by the check above.
    let mut text = Vec::with_capacity(size as usize);
    let mut stream = FileStream::new(SharedSource::clone(source), file, 0, size)?;
    while let Some(chunk) = stream.next_chunk().await {
        text.extend_from_slice(&chunk?);
    }
    Ok(Some(Redirects::parse(&text)?))
}

/// One line of the file (its number is only for the rule): `Ok(None)` for a blank line or a
/// comment.
fn parse_line(raw: &[u8], line: usize) -> std::result::Result<Option<Rule>, LineError> {
    // A comment may hold any bytes: it is never read, so it need not be UTF-8.
    if raw.trim_ascii_start().starts_with(b"#") {
        return Ok(None);
    }
    let text = std::str::from_utf8(raw).map_err(|_| LineError::NotUtf8)?;
    // Go's strings.TrimSpace/Fields and Rust's trim/split_whitespace agree on what is
    // whitespace (Unicode White_Space), so a `\r` before the `\n` goes too.
    let text = text.trim();
    if text.is_empty() || text.starts_with('#') {
        return Ok(None);
    }
    let mut fields = text.split_whitespace();
    let from = fields.next().unwrap_or_default();
    let Some(to) = fields.next() else {
        return Err(LineError::MissingTo);
    };
    let status = fields.next();
    let extra = fields.count();
    if extra > 0 {
        return Err(LineError::TooManyFields(3 + extra));
    }
    let pattern = parse_from(from)?;
    check_to(to)?;
    let status = match status {
        Some(status) => parse_status(status)?,
        None => DEFAULT_STATUS,
    };
    Ok(Some(Rule {
        line,
        from: from.to_string(),
        pattern,
        to: to.to_string(),
        status,
    }))
}

/// `from` must be an absolute path, valid as a URL, with at most one `*`, at its end (the
/// checks of go-ipfs-redirects-file, in its order).
fn parse_from(from: &str) -> std::result::Result<Pattern, LineError> {
    let stars = from.matches('*').count();
    if stars > 0 && !from.ends_with('*') {
        return Err(LineError::SplatNotLast(excerpt(from)));
    }
    if stars > 1 {
        return Err(LineError::TooManySplats(excerpt(from)));
    }
    check_url("from", from)?;
    if !from.starts_with('/') {
        return Err(LineError::FromNotAbsolute(excerpt(from)));
    }
    Ok(Pattern::parse(from))
}

/// `to` must be a path from the site root or a URL with a safelisted scheme (boxo: http,
/// https, ipfs, ipns — never `javascript:` or `data:`), and valid as a URL.
fn check_to(to: &str) -> std::result::Result<(), LineError> {
    check_url("to", to)?;
    if !to.starts_with('/') {
        let allowed = scheme(to).is_some_and(|scheme| {
            ["http", "https", "ipfs", "ipns"]
                .iter()
                .any(|allowed| scheme.eq_ignore_ascii_case(allowed))
        });
        if !allowed {
            return Err(LineError::InvalidTo(excerpt(to)));
        }
    }
    Ok(())
}

/// Refuses in the field `name` what Go's url.Parse refuses: control bytes anywhere, and a `%`
/// not followed by two hex digits in the path or the fragment (it leaves the query alone).
fn check_url(name: &'static str, field: &str) -> std::result::Result<(), LineError> {
    if field.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(LineError::ControlCharacter {
            field: name,
            value: excerpt(field),
        });
    }
    let (before_fragment, fragment) = field.split_once('#').unwrap_or((field, ""));
    let path = before_fragment
        .split_once('?')
        .map_or(before_fragment, |(path, _)| path);
    for part in [path, fragment] {
        let bytes = part.as_bytes();
        for (at, _) in part.match_indices('%') {
            let hex = |i: usize| bytes.get(at + i).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(1) && hex(2)) {
                return Err(LineError::BadEscape {
                    field: name,
                    value: excerpt(field),
                });
            }
        }
    }
    Ok(())
}

/// The scheme of a URL (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`, then `:`).
fn scheme(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

/// A status field: a supported code, never a forced one (`301!`).
fn parse_status(text: &str) -> std::result::Result<u16, LineError> {
    if text.ends_with('!') {
        return Err(LineError::Forced(excerpt(text)));
    }
    // Go's strconv.Atoi takes an optional sign; a negative code is unsupported, not garbage.
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LineError::StatusNotANumber(excerpt(text)));
    }
    match text.parse::<u16>() {
        Ok(code) if SUPPORTED_STATUSES.contains(&code) => Ok(code),
        _ => Err(LineError::UnsupportedStatus(excerpt(text))),
    }
}

/// The first [`EXCERPT_CHARS`] characters of `text`, with `…` when there were more.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// The path as boxo matches it: `/`-joined segments without empty or `.` ones, `..` applied
/// (never above the root); the root is `""`, as boxo trims the `/` it would be.
fn clean(path: &str) -> String {
    let mut segments: SmallVec<[&str; 8]> = SmallVec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            segment => segments.push(segment),
        }
    }
    let mut out = String::with_capacity(path.len());
    for segment in segments {
        out.push('/');
        out.push_str(segment);
    }
    out
}

/// `to` with each `:name` replaced by the segment the placeholder `name` matched and
/// `:splat` by what the splat matched (`""` if the rule has none), percent-encoded. Where
/// names overlap (`:a`, `:ab`), the longest wins; a placeholder named `splat` wins over the
/// splat, and of two placeholders with one name the later one wins (as in boxo, where
/// placeholders are replaced first and a later match overwrites an earlier one). Substituted
/// text is never scanned again.
fn substitute(to: &str, params: &[(&str, &str)], splat: &str) -> String {
    let mut out = String::with_capacity(to.len() + splat.len());
    let mut rest = to;
    while let Some(at) = rest.find(':') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let mut best: Option<(usize, &str, &'static AsciiSet)> = None;
        if after.starts_with("splat") {
            best = Some(("splat".len(), splat, SPLAT_VALUE));
        }
        for &(name, value) in params {
            // An empty name (a bare `:` segment) would replace every colon: it matches, but
            // substitutes nothing.
            if !name.is_empty()
                && after.starts_with(name)
                && best.is_none_or(|(len, _, _)| name.len() >= len)
            {
                best = Some((name.len(), value, VALUE));
            }
        }
        match best {
            Some((len, value, set)) => {
                out.extend(utf8_percent_encode(value, set));
                rest = &after[len..];
            }
            None => {
                out.push(':');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `to` with its query replaced by the merge of its own and the request's, as boxo builds
/// it with Go's `url.Values`: keys sorted, each key's values in order, form-encoded.
fn merge_query(to: &str, request_query: &str) -> String {
    let (before_fragment, fragment) = match to.find('#') {
        Some(at) => (&to[..at], &to[at..]),
        None => (to, ""),
    };
    let (base, target_query) = before_fragment
        .split_once('?')
        .unwrap_or((before_fragment, ""));
    let mut merged: BTreeMap<Vec<u8>, Vec<Vec<u8>>> = BTreeMap::new();
    for (key, value) in parse_query(target_query).chain(parse_query(request_query)) {
        merged.entry(key).or_default().push(value);
    }
    let mut out = String::with_capacity(to.len() + request_query.len() + 1);
    out.push_str(base);
    let mut separator = '?';
    for (key, values) in &merged {
        for value in values {
            out.push(separator);
            separator = '&';
            query_escape_into(key, &mut out);
            out.push('=');
            query_escape_into(value, &mut out);
        }
    }
    out.push_str(fragment);
    out
}

/// Go's `url.ParseQuery`, keeping what it keeps: `&`-separated pairs, empty ones skipped,
/// pairs with `;` or a bad escape dropped, `+` a space.
fn parse_query(query: &str) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
    query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.contains(';'))
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((query_unescape(key)?, query_unescape(value)?))
        })
}

/// Go's `url.QueryUnescape`: `%XX` and `+`; `None` for a malformed escape.
fn query_unescape(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let high = hex_value(*bytes.get(i + 1)?)?;
                let low = hex_value(*bytes.get(i + 2)?)?;
                out.push(high << 4 | low);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::services::add::{self, ChunkerSpec, ImportParams, StoreSink};
    use crate::services::edit::{empty_directory, put_at, Tree};
    use crate::services::testing::{block_on, source};
    use crate::store::Blockstore;
    use crate::store::StoreOptions;
    use std::sync::Arc;

    /// `examples/_redirects` of the conformance fixture `redirects_file/redirects.car` (and of
    /// the spec's test fixtures); [`fixture_files_match_the_constants`] checks the copy.
    const EXAMPLES: &str = "/redirect-one /one.html
/301-redirect-one /one.html 301
/302-redirect-two /two.html 302
/200-index /index.html 200
/posts/:year/:month/:day/:title /articles/:year/:month/:day/:title 301
/splat/* /redirected-splat/:splat 301
/not-found/* /404.html 404
/gone/* /410.html 410
/unavail/* /451.html 451
/* /index.html 200
";
    /// `newlines/_redirects`: CRLF line ends.
    const NEWLINES: &str = "/redirect-one /one.html\r\n/200-index /index.html 200\r\n";
    /// `good-codes/_redirects`.
    const GOOD_CODES: &str = "/a200 /b200 200
/a301 /b301 301
/a302 /b302 302
/a303 /b303 303
/a307 /b307 307
/a308 /b308 308
/a404 /b404 404
/a410 /b410 410
/a451 /b451 451
";
    /// `bad-codes/_redirects`.
    const BAD_CODES: &str = "/a /b 999\n";
    /// `forced/_redirects` (the conformance suite's "invalid file" case).
    const FORCED: &str = "/a /b 301!\n";
    /// `invalid/_redirects`.
    const INVALID: &str = "hello\n";
    /// `_redirects` of `redirects_file/redirects-spa.car`.
    const SPA: &str = "# Map SPA routes to the main index HTML file.\n/* /index.html 200\n";
    /// The line `too-large/_redirects` repeats 4682 times (65548 bytes).
    const TOO_LARGE_LINE: &str = "/from /to 301\n";

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/gateway-conformance/redirects_file"
    );

    fn parse(text: &str) -> Redirects {
        match Redirects::parse(text.as_bytes()) {
            Ok(redirects) => redirects,
            Err(e) => panic!("{text:?} does not parse: {e}"),
        }
    }

    fn parse_error(text: &[u8]) -> RedirectsError {
        match Redirects::parse(text) {
            Ok(redirects) => panic!("{text:?} parses: {redirects:?}"),
            Err(e) => e,
        }
    }

    /// The reason for the error on `line`.
    fn line_error(text: &str, line: usize) -> LineError {
        match parse_error(text.as_bytes()) {
            RedirectsError::Line { line: at, reason } if at == line => reason,
            other => panic!("{text:?}: expected an error on line {line}, got {other:?}"),
        }
    }

    /// `(to, status)` of the match for `path`.
    fn find(redirects: &Redirects, path: &str) -> Option<(String, u16)> {
        redirects.find(path).map(|r| (r.to, r.status))
    }

    fn hit(to: &str, status: u16) -> Option<(String, u16)> {
        Some((to.to_string(), status))
    }

    // ---- the conformance suite's cases (redirects_file_test.go) ----

    #[test]
    fn examples_file_answers_every_conformance_request() {
        let redirects = parse(EXAMPLES);
        assert_eq!(redirects.len(), 10);
        let cases = [
            ("/redirect-one", "/one.html", 301),
            ("/301-redirect-one", "/one.html", 301),
            ("/302-redirect-two", "/two.html", 302),
            ("/200-index", "/index.html", 200),
            (
                "/posts/2022/01/01/hello-world",
                "/articles/2022/01/01/hello-world",
                301,
            ),
            ("/splat/one.html", "/redirected-splat/one.html", 301),
            ("/not-found/has-no-redirects-entry", "/404.html", 404),
            ("/gone/has-no-redirects-entry", "/410.html", 410),
            ("/unavail/has-no-redirects-entry", "/451.html", 451),
            ("/catch-all", "/index.html", 200),
        ];
        for (path, to, status) in cases {
            assert_eq!(find(&redirects, path), hit(to, status), "{path}");
        }
    }

    #[test]
    fn rules_apply_in_file_order() {
        // `/not-found/*` comes before the catch-all `/*`, which also matches.
        let redirects = parse(EXAMPLES);
        let found = redirects.find("/not-found/x").unwrap();
        assert_eq!((found.status, found.line), (404, 7));
        let reversed = parse("/* /index.html 200\n/not-found/* /404.html 404\n");
        assert_eq!(find(&reversed, "/not-found/x"), hit("/index.html", 200));
    }

    #[test]
    fn crlf_line_ends_are_line_ends() {
        let redirects = parse(NEWLINES);
        assert_eq!(find(&redirects, "/redirect-one"), hit("/one.html", 301));
        assert_eq!(find(&redirects, "/200-index"), hit("/index.html", 200));
        assert_eq!(redirects.rules()[1].line(), 2);
    }

    #[test]
    fn every_supported_status_parses() {
        let redirects = parse(GOOD_CODES);
        let statuses: Vec<u16> = redirects.rules().iter().map(Rule::status).collect();
        assert_eq!(statuses, SUPPORTED_STATUSES);
        assert_eq!(find(&redirects, "/a301"), hit("/b301", 301));
        for status in SUPPORTED_STATUSES {
            let path = format!("/a{status}");
            assert_eq!(find(&redirects, &path), hit(&format!("/b{status}"), status));
        }
    }

    #[test]
    fn unsupported_status_is_an_error_on_its_line() {
        let reason = line_error(BAD_CODES, 1);
        assert_eq!(reason, LineError::UnsupportedStatus("999".into()));
        assert!(reason
            .to_string()
            .contains("status code 999 is not supported"));
        for status in [
            "100", "201", "300", "304", "400", "500", "0", "-301", "65536",
        ] {
            let text = format!("# x\n/a /b {status}\n");
            assert!(
                matches!(line_error(&text, 2), LineError::UnsupportedStatus(_)),
                "{status}"
            );
        }
    }

    #[test]
    fn status_that_is_not_a_number_is_an_error() {
        for status in ["abc", "30x", "+", "3.0", "0x12d"] {
            let text = format!("/a /b {status}");
            assert_eq!(
                line_error(&text, 1),
                LineError::StatusNotANumber(status.into()),
                "{status}"
            );
        }
    }

    #[test]
    fn status_with_a_plus_sign_or_leading_zero_is_read_as_go_reads_it() {
        let redirects = parse("/a /b +302\n/c /d 0307\n");
        assert_eq!(find(&redirects, "/a"), hit("/b", 302));
        assert_eq!(find(&redirects, "/c"), hit("/d", 307));
    }

    #[test]
    fn forced_rules_are_refused() {
        let reason = line_error(FORCED, 1);
        assert_eq!(reason, LineError::Forced("301!".into()));
        assert!(reason.to_string().contains("forced redirects"));
        assert!(matches!(line_error("/a /b 200!", 1), LineError::Forced(_)));
    }

    #[test]
    fn line_without_to_is_an_error() {
        assert_eq!(line_error(INVALID, 1), LineError::MissingTo);
        assert_eq!(line_error("\n\n  /only-from  \n", 3), LineError::MissingTo);
    }

    #[test]
    fn error_messages_carry_the_prefix_the_conformance_suite_checks() {
        let e: Error = parse_error(FORCED.as_bytes()).into();
        assert!(matches!(e, Error::Internal(_)), "{e:?}");
        let text = e.to_string();
        assert!(
            text.starts_with("could not parse _redirects: line 1: "),
            "{text}"
        );
        let e: Error = parse_error(TOO_LARGE_LINE.repeat(4682).as_bytes()).into();
        let text = e.to_string();
        assert!(text.starts_with("could not parse _redirects: "), "{text}");
        assert!(text.contains("redirects file size cannot exceed"), "{text}");
    }

    #[test]
    fn file_over_64_kib_is_refused() {
        let big = TOO_LARGE_LINE.repeat(4682);
        assert_eq!(big.len(), 65548);
        assert_eq!(
            parse_error(big.as_bytes()),
            RedirectsError::TooLarge { size: 65548 }
        );
        // Exactly 64 KiB is allowed; one byte more is not.
        let mut exact = "# padding\n".repeat(6553).into_bytes();
        exact.extend_from_slice(b"/a /b\n");
        assert_eq!(exact.len() as u64, MAX_REDIRECTS_FILE_SIZE);
        assert_eq!(Redirects::parse(&exact).unwrap().len(), 1);
        exact.push(b'\n');
        assert_eq!(
            parse_error(&exact),
            RedirectsError::TooLarge { size: 65537 }
        );
        assert!(Redirects::check_size(MAX_REDIRECTS_FILE_SIZE).is_ok());
        assert!(Redirects::check_size(MAX_REDIRECTS_FILE_SIZE + 1).is_err());
    }

    #[test]
    fn spa_catch_all_rewrites_everything_missing() {
        let redirects = parse(SPA);
        assert_eq!(redirects.len(), 1);
        let found = redirects.find("/missing-page").unwrap();
        assert_eq!(found.kind(), RedirectKind::Rewrite);
        assert_eq!(found.target_path(), Some("/index.html"));
        assert_eq!(find(&redirects, "/deep/er/page/"), hit("/index.html", 200));
    }

    // ---- the fixture CARs, through the store ----

    fn store() -> (tempfile::TempDir, Arc<Blockstore>) {
        let dir = tempfile::tempdir().unwrap();
        let store =
            std::sync::Arc::new(Blockstore::open(dir.path(), StoreOptions::default()).unwrap());
        (dir, store)
    }

    fn import(store: &Blockstore, car: &str) -> Cid {
        let file = std::fs::File::open(Path::new(FIXTURES).join(car)).unwrap();
        let report = crate::services::import::import_car(store, file).unwrap();
        report.roots[0]
    }

    fn subdirectory(store: &Blockstore, root: &Cid, name: &str) -> Cid {
        block_on(resolve::resolve(store, *root, &[name]))
            .unwrap()
            .cid
    }

    #[test]
    fn fixture_files_load_as_the_conformance_suite_expects() {
        let (_dir, store) = store();
        let root = import(&store, "redirects.car");
        // The fixture root holds only directories: no rules there.
        assert_eq!(block_on(load(&source(&store), &root)).unwrap(), None);
        for (name, text) in [
            ("examples", EXAMPLES),
            ("newlines", NEWLINES),
            ("good-codes", GOOD_CODES),
        ] {
            let site = subdirectory(&store, &root, name);
            assert_eq!(
                block_on(load(&source(&store), &site)).unwrap(),
                Some(parse(text)),
                "{name}"
            );
        }
        for (name, expected) in [
            (
                "forced",
                "line 1: parsing status \"301!\": forced redirects",
            ),
            ("bad-codes", "line 1: parsing status \"999\""),
            ("invalid", "line 1: missing 'to' path"),
            ("too-large", "redirects file size cannot exceed 65536 bytes"),
        ] {
            let site = subdirectory(&store, &root, name);
            let e = block_on(load(&source(&store), &site)).unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, Error::Internal(_)), "{name}: {e:?}");
            assert!(text.starts_with("could not parse _redirects: "), "{text}");
            assert!(text.contains(expected), "{name}: {text}");
        }
        let spa = import(&store, "redirects-spa.car");
        let redirects = block_on(load(&source(&store), &spa)).unwrap().unwrap();
        assert_eq!(redirects, parse(SPA));
    }

    #[test]
    fn fixture_files_match_the_constants() {
        let (_dir, store) = store();
        let root = import(&store, "redirects.car");
        let read = |name: &str| {
            let resolved =
                block_on(resolve::resolve(&*store, root, &[name, REDIRECTS_FILE])).unwrap();
            let Node::File(file) = &resolved.node else {
                panic!("{name}/_redirects is not a file");
            };
            let mut text = Vec::new();
            let mut stream = FileStream::new(source(&store), file, 0, file.size()).unwrap();
            while let Some(chunk) = block_on(stream.next_chunk()) {
                text.extend_from_slice(&chunk.unwrap());
            }
            String::from_utf8(text).unwrap()
        };
        assert_eq!(read("examples"), EXAMPLES);
        assert_eq!(read("newlines"), NEWLINES);
        assert_eq!(read("good-codes"), GOOD_CODES);
        assert_eq!(read("bad-codes"), BAD_CODES);
        assert_eq!(read("forced"), FORCED);
        assert_eq!(read("invalid"), INVALID);
        // Not assert_eq: a failure would print 64 KiB twice.
        assert!(read("too-large") == TOO_LARGE_LINE.repeat(4682));
    }

    // ---- load ----

    fn file_entry(store: &Blockstore, text: &[u8], params: &ImportParams) -> add::Entry {
        let mut sink = StoreSink::new(store);
        add::file::import_file(
            params,
            add::Metadata::default(),
            std::iter::once(bytes::Bytes::copy_from_slice(text)),
            &mut sink,
        )
        .unwrap()
    }

    fn site(store: &Blockstore, path: &[&str], text: &[u8], params: &ImportParams) -> Cid {
        let file = file_entry(store, text, params);
        put_at(&Tree::local(store), &empty_directory(), path, &file, params)
            .unwrap()
            .cid
    }

    #[test]
    fn load_reads_a_file_of_many_blocks() {
        let (_dir, store) = store();
        let params = ImportParams {
            chunker: ChunkerSpec::Size(16),
            ..ImportParams::cid_v1()
        };
        let root = site(&store, &[REDIRECTS_FILE], EXAMPLES.as_bytes(), &params);
        assert_eq!(
            block_on(load(&source(&store), &root)).unwrap(),
            Some(parse(EXAMPLES))
        );
    }

    #[test]
    fn load_refuses_a_directory_named_redirects() {
        let (_dir, store) = store();
        let params = ImportParams::cid_v1();
        let root = site(&store, &[REDIRECTS_FILE, "x"], b"/a /b\n", &params);
        let e = block_on(load(&source(&store), &root)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "could not parse _redirects: _redirects is not a file"
        );
    }

    #[test]
    fn load_checks_the_size_before_reading_any_block() {
        let (_dir, store) = store();
        let params = ImportParams {
            chunker: ChunkerSpec::Size(1024),
            ..ImportParams::cid_v1()
        };
        let text = TOO_LARGE_LINE.repeat(4682);
        let root = site(&store, &[REDIRECTS_FILE], text.as_bytes(), &params);
        // Without its first leaf, reading the file would fail with a missing block.
        let leaf = multihash_codetable::MultihashDigest::digest(
            &multihash_codetable::Code::Sha2_256,
            &text.as_bytes()[..1024],
        );
        assert!(store.delete(&leaf).unwrap());
        let e = block_on(load(&source(&store), &root)).unwrap_err();
        assert!(
            e.to_string().contains("redirects file size cannot exceed"),
            "{e}"
        );
    }

    #[test]
    fn load_of_a_file_root_finds_nothing() {
        let (_dir, store) = store();
        let file = file_entry(&store, b"/a /b\n", &ImportParams::cid_v1());
        assert_eq!(block_on(load(&source(&store), &file.cid)).unwrap(), None);
    }

    // ---- format ----

    #[test]
    fn empty_file_has_no_rules() {
        for text in ["", "\n", "\r\n", "   \n\t\n", "# only\n# comments"] {
            let redirects = parse(text);
            assert!(redirects.is_empty(), "{text:?}");
            assert_eq!(redirects.find("/anything"), None);
        }
    }

    #[test]
    fn comments_and_blank_lines_are_skipped_and_lines_still_counted() {
        let text = "# a comment\n\n   # an indented one\n\t\n/a /b 302 \n  /c\t/d  \n";
        let redirects = parse(text);
        assert_eq!(redirects.len(), 2);
        assert_eq!(redirects.rules()[0].line(), 5);
        assert_eq!(redirects.rules()[1].line(), 6);
        assert_eq!(find(&redirects, "/a"), hit("/b", 302));
        assert_eq!(find(&redirects, "/c"), hit("/d", 301));
        // A `#` later in a line is not a comment: it is a fourth field here.
        assert_eq!(
            line_error("/a /b 301 # why", 1),
            LineError::TooManyFields(5)
        );
    }

    #[test]
    fn last_line_needs_no_line_end() {
        assert_eq!(find(&parse("/a /b"), "/a"), hit("/b", 301));
    }

    #[test]
    fn default_status_is_301() {
        let redirects = parse("/a /b\n");
        assert_eq!(redirects.rules()[0].status(), DEFAULT_STATUS);
        assert_eq!(DEFAULT_STATUS, 301);
    }

    #[test]
    fn rule_with_too_many_fields_is_an_error() {
        assert_eq!(
            line_error("/ok /fine\n/a /b 301 extra", 2),
            LineError::TooManyFields(4)
        );
    }

    #[test]
    fn non_utf8_line_is_an_error_but_a_non_utf8_comment_is_not() {
        assert_eq!(
            parse_error(b"/a /b\n/caf\xe9 /x\n"),
            RedirectsError::Line {
                line: 2,
                reason: LineError::NotUtf8
            }
        );
        let redirects = Redirects::parse(b"# caf\xe9\n/a /b\n").unwrap();
        assert_eq!(redirects.len(), 1);
    }

    #[test]
    fn byte_order_mark_is_not_part_of_the_first_rule() {
        let redirects = Redirects::parse(b"\xef\xbb\xbf/a /b\n").unwrap();
        assert_eq!(find(&redirects, "/a"), hit("/b", 301));
    }

    #[test]
    fn from_must_be_an_absolute_path() {
        assert_eq!(
            line_error("a /b", 1),
            LineError::FromNotAbsolute("a".into())
        );
        assert!(matches!(
            line_error("https://x.example/a /b", 1),
            LineError::FromNotAbsolute(_)
        ));
    }

    #[test]
    fn splat_must_be_single_and_last() {
        assert_eq!(
            line_error("/a/*/b /c", 1),
            LineError::SplatNotLast("/a/*/b".into())
        );
        assert_eq!(
            line_error("/a/** /b", 1),
            LineError::TooManySplats("/a/**".into())
        );
    }

    #[test]
    fn asterisk_inside_the_last_segment_is_a_literal_character() {
        // As in boxo (urlpath): only a whole `*` segment is a splat.
        let redirects = parse("/foo* /bar\n");
        assert_eq!(find(&redirects, "/foo*"), hit("/bar", 301));
        assert_eq!(find(&redirects, "/foobar"), None);
        assert_eq!(find(&redirects, "/foo/x"), None);
    }

    #[test]
    fn control_characters_and_bad_escapes_are_errors() {
        assert!(matches!(
            line_error("/a\x01 /b", 1),
            LineError::ControlCharacter { field: "from", .. }
        ));
        assert!(matches!(
            line_error("/a /b\x7f", 1),
            LineError::ControlCharacter { field: "to", .. }
        ));
        assert!(matches!(
            line_error("/100% /b", 1),
            LineError::BadEscape { field: "from", .. }
        ));
        assert!(matches!(
            line_error("/a /b%zz", 1),
            LineError::BadEscape { field: "to", .. }
        ));
        assert!(matches!(
            line_error("/a /b#%4", 1),
            LineError::BadEscape { field: "to", .. }
        ));
        // As Go's url.Parse: the query is not checked.
        assert_eq!(find(&parse("/a /b?q=100%\n"), "/a"), hit("/b?q=100%", 301));
    }

    #[test]
    fn to_must_be_a_path_or_a_safelisted_url() {
        for to in [
            "b.html",
            "javascript:alert(1)",
            "data:text/html,x",
            "ftp://x/",
            ":x",
        ] {
            assert!(
                matches!(line_error(&format!("/a {to}"), 1), LineError::InvalidTo(_)),
                "{to}"
            );
        }
        for to in [
            "https://example.net/x",
            "http://example.net",
            "HTTPS://example.net/",
            "ipfs://bafkqaaa",
            "ipns://example.org/x",
            "//example.net/protocol-relative",
        ] {
            let text = format!("/a {to} 302");
            assert_eq!(find(&parse(&text), "/a"), hit(to, 302), "{to}");
        }
    }

    #[test]
    fn long_values_are_shortened_in_errors() {
        let from = format!("a{}", "x".repeat(1000));
        let text = line_error(&format!("{from} /b"), 1).to_string();
        assert!(text.len() < 200, "{text}");
        assert!(text.contains('…'), "{text}");
    }

    // ---- matching ----

    #[test]
    fn trailing_slash_does_not_matter() {
        let redirects = parse("/docs/ /manual\n/exact /x\n");
        assert_eq!(find(&redirects, "/docs"), hit("/manual", 301));
        assert_eq!(find(&redirects, "/docs/"), hit("/manual", 301));
        assert_eq!(find(&redirects, "/exact/"), hit("/x", 301));
        assert_eq!(find(&redirects, "/docs/more"), None);
    }

    #[test]
    fn path_is_cleaned_before_matching() {
        let redirects = parse("/a/c /x\n");
        for path in ["/a/c", "//a//c", "/a/./c", "/a/b/../c", "a/c", "/../a/c"] {
            assert_eq!(find(&redirects, path), hit("/x", 301), "{path}");
        }
    }

    #[test]
    fn literal_segments_match_case_sensitively_and_whole() {
        let redirects = parse("/About /x\n");
        assert_eq!(find(&redirects, "/about"), None);
        assert_eq!(find(&redirects, "/About-us"), None);
        assert_eq!(find(&redirects, "/About/us"), None);
    }

    #[test]
    fn splat_needs_a_segment_after_its_prefix() {
        // boxo (urlpath): `/splat/*` does not match `/splat` itself.
        let redirects = parse("/splat/* /to/:splat\n");
        assert_eq!(find(&redirects, "/splat"), None);
        assert_eq!(find(&redirects, "/splat/"), None);
        assert_eq!(find(&redirects, "/splatter"), None);
        assert_eq!(
            find(&redirects, "/splat/a/b/c.html"),
            hit("/to/a/b/c.html", 301)
        );
    }

    #[test]
    fn root_catch_all_takes_the_whole_path_as_splat() {
        let redirects = parse("/* /new/:splat 302\n");
        assert_eq!(find(&redirects, "/a/b"), hit("/new/a/b", 302));
        // The root itself always exists, and boxo's matcher would not match it either.
        assert_eq!(find(&redirects, "/"), None);
    }

    #[test]
    fn placeholders_match_exactly_one_segment() {
        let redirects = parse("/posts/:year/:slug /articles/:slug-:year\n");
        assert_eq!(
            find(&redirects, "/posts/2022/hello"),
            hit("/articles/hello-2022", 301)
        );
        assert_eq!(find(&redirects, "/posts/2022"), None);
        assert_eq!(find(&redirects, "/posts/2022/hello/more"), None);
    }

    #[test]
    fn placeholders_and_splat_combine() {
        let redirects = parse("/u/:user/files/* /files/:user/:splat 307\n");
        assert_eq!(
            find(&redirects, "/u/ann/files/a/b.txt"),
            hit("/files/ann/a/b.txt", 307)
        );
    }

    #[test]
    fn splat_without_a_splat_rule_is_empty_and_unknown_names_stay() {
        let redirects = parse("/a/:x /b/:x/:splat/:other/:\n");
        assert_eq!(find(&redirects, "/a/1"), hit("/b/1//:other/:", 301));
    }

    #[test]
    fn longest_placeholder_name_wins_and_a_later_duplicate_overrides() {
        let redirects = parse("/:a/:ab /x/:ab/:a\n/d/:n/:n /y/:n\n");
        assert_eq!(find(&redirects, "/1/2"), hit("/x/2/1", 301));
        assert_eq!(find(&redirects, "/d/1/2"), hit("/y/2", 301));
    }

    #[test]
    fn placeholder_named_splat_wins_over_the_splat() {
        let redirects = parse("/:splat/* /x/:splat\n");
        assert_eq!(find(&redirects, "/a/b/c"), hit("/x/a", 301));
    }

    #[test]
    fn substituted_text_is_not_substituted_again() {
        // The matched segment ":b" must not be replaced by :b's value.
        let redirects = parse("/:a/:b /x/:a/:b\n");
        assert_eq!(find(&redirects, "/:b/2"), hit("/x/:b/2", 301));
    }

    #[test]
    fn bare_colon_placeholder_matches_but_substitutes_nothing() {
        // boxo would replace every `:` in `to` (the empty name); cairn leaves them.
        let redirects = parse("/a/: https://example.net:8443/b\n");
        assert_eq!(
            find(&redirects, "/a/anything"),
            hit("https://example.net:8443/b", 301)
        );
    }

    #[test]
    fn placeholder_values_are_percent_encoded_into_to() {
        let redirects = parse("/p/:name /q/:name\n/s/* /t/:splat\n");
        assert_eq!(
            find(&redirects, "/p/a b?c#d%e&f=g+h"),
            hit("/q/a%20b%3Fc%23d%25e%26f%3Dg%2Bh", 301)
        );
        assert_eq!(find(&redirects, "/p/ąę"), hit("/q/%C4%85%C4%99", 301));
        assert_eq!(find(&redirects, "/s/ą/b c"), hit("/t/%C4%85/b%20c", 301));
    }

    #[test]
    fn unicode_from_matches_the_decoded_path_written_either_way() {
        let redirects = parse("/ą /a\n/%C4%99 /e\n");
        assert_eq!(find(&redirects, "/ą"), hit("/a", 301));
        assert_eq!(find(&redirects, "/ę"), hit("/e", 301));
        // The form as written matches too, as in boxo (a path whose decoded name is "%C4%99").
        assert_eq!(find(&redirects, "/%C4%99"), hit("/e", 301));
    }

    #[test]
    fn query_in_to_is_kept() {
        let redirects = parse("/old /new?ref=old&x=1 302\n");
        assert_eq!(find(&redirects, "/old"), hit("/new?ref=old&x=1", 302));
    }

    // ---- Redirect ----

    fn redirect(to: &str, status: u16) -> Redirect {
        Redirect {
            to: to.to_string(),
            status,
            line: 1,
        }
    }

    #[test]
    fn kind_follows_the_status() {
        assert_eq!(redirect("/a", 200).kind(), RedirectKind::Rewrite);
        for status in [301, 302, 303, 307, 308] {
            assert_eq!(redirect("/a", status).kind(), RedirectKind::Redirect);
        }
        for status in [404, 410, 451] {
            assert_eq!(redirect("/a", status).kind(), RedirectKind::ErrorPage);
        }
    }

    #[test]
    fn target_path_drops_query_and_fragment_and_refuses_urls() {
        assert_eq!(
            redirect("/index.html", 200).target_path(),
            Some("/index.html")
        );
        assert_eq!(
            redirect("/a%20b?x=1#top", 200).target_path(),
            Some("/a%20b")
        );
        assert_eq!(redirect("/p#f?g", 404).target_path(), Some("/p"));
        assert_eq!(redirect("https://example.net/x", 200).target_path(), None);
        assert_eq!(redirect("ipfs://bafkqaaa", 404).target_path(), None);
    }

    #[test]
    fn location_without_a_request_query_is_to_made_header_safe() {
        assert_eq!(redirect("/one.html", 301).location(None), "/one.html");
        assert_eq!(redirect("/one.html", 301).location(Some("")), "/one.html");
        assert_eq!(
            redirect("/ę?q=ą#frag", 301).location(None),
            "/%C4%99?q=%C4%85#frag"
        );
        assert_eq!(
            redirect("/a\"b<c>{d}|e^f`g\\h", 302).location(None),
            "/a%22b%3Cc%3E%7Bd%7D%7Ce%5Ef%60g%5Ch"
        );
        // Escapes already there stay as they are.
        assert_eq!(redirect("/a%20b", 301).location(None), "/a%20b");
    }

    #[test]
    fn location_merges_the_request_query_as_boxo_does() {
        // boxo's gateway tests, with the rules of its redirects-query-params.car.
        let redirects = parse(
            "/source1/* /target-file?static-query1=static-val1&static-query2=static-val2 301\n\
             /source2/:code/:name /target-file?code=:code&name=:name 301\n\
             /source3/* https://example.net/target3/:splat 301\n",
        );
        let dynamic = Some("dynamic-query1=dynamic-value1&dynamic-query2=dynamic-value2");
        let cases = [
            (
                "/source1/source-file",
                "/target-file?dynamic-query1=dynamic-value1&dynamic-query2=dynamic-value2\
                 &static-query1=static-val1&static-query2=static-val2",
            ),
            (
                "/source2/codeA/nameA",
                "/target-file?code=codeA&dynamic-query1=dynamic-value1\
                 &dynamic-query2=dynamic-value2&name=nameA",
            ),
            (
                "/source3/this/is/catch-all/splat-with",
                "https://example.net/target3/this/is/catch-all/splat-with\
                 ?dynamic-query1=dynamic-value1&dynamic-query2=dynamic-value2",
            ),
        ];
        for (path, location) in cases {
            let found = redirects.find(path).unwrap();
            assert_eq!(found.location(dynamic), location, "{path}");
        }
    }

    #[test]
    fn merged_query_is_form_decoded_and_re_encoded() {
        let r = redirect("/t?b=2&a=x+y#frag", 302);
        // Values of one key keep their order, `to`'s first; keys sort; `;` pairs and bad
        // escapes are dropped (Go's ParseQuery); a key without `=` gets an empty value.
        assert_eq!(
            r.location(Some("b=1&c=%zz&d;e=1&&flag&s=%C4%85+%2B")),
            "/t?a=x+y&b=2&b=1&flag=&s=%C4%85+%2B#frag"
        );
        // A request query with nothing usable still re-encodes `to`'s query.
        assert_eq!(redirect("/t?x=a%20b", 301).location(Some("&")), "/t?x=a+b");
        assert_eq!(redirect("/t", 301).location(Some(";")), "/t");
    }
}
