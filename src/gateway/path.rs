//! Reading the request target: percent-decoding path segments, lexical cleaning (`.`, `..`,
//! empty segments, as Go's `path.Clean` does for Kubo), and query parameters with form
//! decoding (`+` is a space), as Go's `URL.Query` reads them.

use std::borrow::Cow;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use smallvec::SmallVec;

use crate::http::HttpError;

/// Path segments, decoded; most paths are short enough to stay on the stack.
pub type Segments<'a> = SmallVec<[Cow<'a, str>; 8]>;

/// Most segments a path may have (deeper paths are refused before any lookup).
pub const MAX_SEGMENTS: usize = 128;

/// Decodes one `%XX`-escaped segment; the result must be UTF-8 and free of `/` and NUL.
pub fn decode_segment(raw: &str) -> Result<Cow<'_, str>, HttpError> {
    if !raw.contains('%') {
        return Ok(Cow::Borrowed(raw));
    }
    let decoded = percent_decode_str(raw).decode_utf8().map_err(|_| {
        HttpError::bad_request(format!("path segment {raw:?} is not UTF-8 once decoded"))
    })?;
    if decoded.contains(['/', '\0']) {
        return Err(HttpError::bad_request(format!(
            "path segment {raw:?} decodes to a name with '/' or NUL"
        )));
    }
    Ok(decoded)
}

/// Splits and decodes a path, dropping empty and `.` segments and applying `..` lexically
/// (never above the first segment).
pub fn segments(raw: &str) -> Result<Segments<'_>, HttpError> {
    let mut out = Segments::new();
    for part in raw.split('/') {
        let part = decode_segment(part)?;
        match &*part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            _ => {
                if out.len() >= MAX_SEGMENTS {
                    return Err(HttpError::bad_request(format!(
                        "path has more than {MAX_SEGMENTS} segments"
                    )));
                }
                out.push(part)
            }
        }
    }
    Ok(out)
}

/// Characters escaped in a path segment we write (RFC 3986 §3.3 `pchar` allows the rest).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
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

/// Percent-encodes one name for use as a path segment in a URL we write.
pub fn encode_segment(name: &str) -> Cow<'_, str> {
    utf8_percent_encode(name, SEGMENT).into()
}

/// Bytes Go's `url.URL.EscapedPath` leaves as they are in a path (`shouldEscape` with
/// `encodePath`): unreserved characters and `$&+,/:;=@`; everything else is `%XX`-escaped.
/// Kubo's redirects and listing links are written this way, and clients compare them.
const GO_PATH: &AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b',')
    .remove(b'/')
    .remove(b':')
    .remove(b';')
    .remove(b'=')
    .remove(b'@');

/// Go's `url.PathEscape` (`encodePathSegment`): as [`GO_PATH`], and `/`, `;`, `,` too.
const GO_PATH_SEGMENT: &AsciiSet = &GO_PATH.add(b'/').add(b';').add(b',');

/// Escapes one path segment as Go's `url.PathEscape` does.
pub fn escape_path_segment(decoded: &str) -> Cow<'_, str> {
    utf8_percent_encode(decoded, GO_PATH_SEGMENT).into()
}

/// Escapes a decoded path (slashes kept) as Go's `url.URL{Path: p}.String()` does.
pub fn escape_path(decoded: &str) -> Cow<'_, str> {
    utf8_percent_encode(decoded, GO_PATH).into()
}

/// Decodes a path as written on the wire (`%XX` escapes) for display and re-escaping; invalid
/// UTF-8 is replaced rather than refused, as this never selects content.
pub fn decode_path(raw: &str) -> Cow<'_, str> {
    if !raw.contains('%') {
        return Cow::Borrowed(raw);
    }
    percent_decode_str(raw).decode_utf8_lossy()
}

/// Looks a query parameter up. `Some("")` for a bare `?name`.
pub fn query_param<'q>(query: Option<&'q str>, name: &str) -> Option<Cow<'q, str>> {
    let query = query?;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if form_decode(key) == name {
            return Some(form_decode(value));
        }
    }
    None
}

/// `application/x-www-form-urlencoded` decoding of one key or value (`+` is a space).
pub(super) fn form_decode(raw: &str) -> Cow<'_, str> {
    if !raw.contains(['%', '+']) {
        return Cow::Borrowed(raw);
    }
    let spaced = raw.replace('+', " ");
    Cow::Owned(percent_decode_str(&spaced).decode_utf8_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(raw: &str) -> Vec<String> {
        segments(raw)
            .unwrap()
            .into_iter()
            .map(|s| s.into_owned())
            .collect()
    }

    #[test]
    fn cleaning() {
        assert_eq!(segs("a/b/c"), ["a", "b", "c"]);
        assert_eq!(segs("a//b/./c/"), ["a", "b", "c"]);
        assert_eq!(segs("a/../b"), ["b"]);
        assert_eq!(segs("../../a"), ["a"]);
        assert_eq!(segs("Screen%20Shot.png"), ["Screen Shot.png"]);
        assert_eq!(segs("%C4%85/%C4%99"), ["ą", "ę"]);
        assert!(segs("").is_empty());
    }

    #[test]
    fn bad_segments() {
        assert!(segments("a%2Fb").is_err());
        assert!(segments("%ff").is_err());
        assert!(segments("a%00").is_err());
        assert!(segments(&"a/".repeat(MAX_SEGMENTS + 1)).is_err());
    }

    #[test]
    fn encoding_round_trips() {
        for name in [
            "plain.txt",
            "Screen Shot.png",
            "a#b?c%d",
            "ą ę/x",
            "Portugal%2C+España",
        ] {
            let encoded = encode_segment(name);
            assert!(!encoded.contains([' ', '#', '?', '/']), "{encoded}");
            assert_eq!(percent_decode_str(&encoded).decode_utf8().unwrap(), name);
        }
    }

    #[test]
    fn paths_escape_as_go_does() {
        assert_eq!(
            escape_path("/ipfs/x/Portugal%2C+España=Peninsula Ibérica.txt"),
            "/ipfs/x/Portugal%252C+Espa%C3%B1a=Peninsula%20Ib%C3%A9rica.txt"
        );
        assert_eq!(escape_path("/a/(b)!*'"), "/a/%28b%29%21%2A%27");
        assert_eq!(decode_path("/%C4%85/%C4%99/"), "/ą/ę/");
        // Vectors from Go's url.PathEscape.
        assert_eq!(
            escape_path_segment("a,b;c=d@e:f$g&h+i!j*k'l(m)n#o^p`q|r~s.txt"),
            "a%2Cb%3Bc=d@e:f$g&h+i%21j%2Ak%27l%28m%29n%23o%5Ep%60q%7Cr~s.txt"
        );
        assert_eq!(
            escape_path_segment("a\"b\\c/d?e%f.txt"),
            "a%22b%5Cc%2Fd%3Fe%25f.txt"
        );
    }

    #[test]
    fn query() {
        let q = Some("filename=a+b%20c.txt&download=true&noResolve");
        assert_eq!(query_param(q, "filename").unwrap(), "a b c.txt");
        assert_eq!(query_param(q, "download").unwrap(), "true");
        assert_eq!(query_param(q, "noResolve").unwrap(), "");
        assert_eq!(query_param(q, "format"), None);
        assert_eq!(query_param(None, "format"), None);
    }
}
