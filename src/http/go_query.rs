//! Go's URL query conventions, as the Go clients of cairn's APIs (ipfs-cluster-ctl, Kubo's CLI
//! and RPC clients, ipfs-cluster-service) and Go servers meet them: `url.ParseQuery` as
//! `r.URL.Query()` uses it ([`Query`]: `&`-separated; a pair holding `;` is dropped, as Go has
//! done since 1.17; `+` is a space; a pair with a bad `%` escape is dropped; more than 10 000
//! pairs and Go returns nothing at all), `url.QueryUnescape`, `strconv.ParseBool` and the
//! `strconv.Quote` their error messages use.

use std::borrow::Cow;
use std::fmt::Write as _;

use smallvec::SmallVec;

/// Go's `strconv.Quote` for the ASCII cases error messages meet: printable ASCII as is, `"` and
/// `\` escaped, the usual C escapes, other control bytes as `\xNN`; non-ASCII characters are kept.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `url.QueryUnescape` (`+` is a space). A bad `%` escape fails with Go's
/// `invalid URL escape "%zz"` text.
pub fn go_query_unescape(s: &str) -> Result<Cow<'_, [u8]>, String> {
    let bytes = s.as_bytes();
    if !bytes.iter().any(|&b| b == b'%' || b == b'+') {
        return Ok(Cow::Borrowed(bytes));
    }
    let hex = |b: Option<&u8>| b.and_then(|&b| (b as char).to_digit(16));
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => match (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 3;
                }
                _ => {
                    let bad = &bytes[i..bytes.len().min(i + 3)];
                    return Err(format!(
                        "invalid URL escape {}",
                        go_quote(&String::from_utf8_lossy(bad))
                    ));
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(Cow::Owned(out))
}

/// Go's default cap on query pairs (`urlmaxqueryparams`, Go 1.24+): beyond it `ParseQuery`
/// fails and `URL.Query()` yields no parameters at all.
pub const MAX_QUERY_PAIRS: usize = 10_000;

/// A parsed query string: decoded `(key, value)` pairs in order. Decoded bytes that are not
/// UTF-8 are replaced with U+FFFD (Go keeps the bytes, but its JSON encoder makes the same
/// replacement, and no parameter with meaning can contain them).
#[derive(Debug, Clone, Default)]
pub struct Query<'a> {
    pairs: SmallVec<[(Cow<'a, str>, Cow<'a, str>); 24]>,
}

fn lossy(bytes: Cow<'_, [u8]>) -> Cow<'_, str> {
    match bytes {
        Cow::Borrowed(b) => String::from_utf8_lossy(b),
        Cow::Owned(v) => match String::from_utf8(v) {
            Ok(s) => Cow::Owned(s),
            Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        },
    }
}

impl<'a> Query<'a> {
    /// Parses a raw query string (the part after `?`, without it).
    pub fn parse(raw: &'a str) -> Query<'a> {
        let mut q = Query::default();
        if raw.bytes().filter(|&b| b == b'&').count() + 1 > MAX_QUERY_PAIRS {
            return q;
        }
        for pair in raw.split('&') {
            if pair.is_empty() || pair.contains(';') {
                continue;
            }
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (Ok(k), Ok(v)) = (go_query_unescape(k), go_query_unescape(v)) else {
                continue;
            };
            q.pairs.push((lossy(k), lossy(v)));
        }
        q
    }

    /// The first value of `key`, or `""` when absent (Go's `Values.Get`).
    pub fn get(&self, key: &str) -> &str {
        self.get_opt(key).unwrap_or("")
    }

    /// The first value of `key`, `None` when absent.
    pub fn get_opt(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }

    /// All decoded pairs, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))
    }
}

/// Go's `strconv.ParseBool`: `1 t T TRUE true True` / `0 f F FALSE false False`, else `None`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}
