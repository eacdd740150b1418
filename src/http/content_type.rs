//! Content-Type selection for files served by the gateway, matching what
//! Kubo (Go, via boxo's `gateway/handler_unixfs_file.go`) puts in the
//! `Content-Type` header, because clients and the gateway-conformance suite
//! compare that header byte for byte.
//!
//! This module owns three things:
//! - [`by_extension`]: Go's `mime.TypeByExtension(path.Ext(name))` — Go's
//!   built-in table (Go 1.26, `src/mime/type.go` `builtinTypesLower`) first,
//!   then a broad table (`mime_guess`) standing in for the system MIME
//!   database Go loads on Unix, with `; charset=utf-8` appended to `text/*`
//!   types as Go's `setExtensionType` does.
//! - [`sniff`]: Go's `http.DetectContentType` (`src/net/http/sniff.go`), the
//!   WHATWG MIME Sniffing Standard's rules as Go implements them: a 512-byte
//!   window, an ordered signature table (§6 "Matching a MIME type pattern",
//!   §7.1 "Identifying a resource with an unknown MIME type"), then the
//!   text-versus-binary rule (§7.1 step 8, "binary data byte").
//! - [`for_file`]: the gateway's composition of the two, including boxo's
//!   rewrite of `text/html; …` to bare `text/html` (kubo#2203).
//!
//! Every function returns a `&'static str` and never allocates.

/// Go considers at most this many leading bytes (`sniffLen` in sniff.go).
const SNIFF_WINDOW: usize = 512;

/// The fallback when nothing matches and the data looks binary.
const OCTET_STREAM: &str = "application/octet-stream";
/// What Go reports for data with no binary bytes (including empty data).
const TEXT_PLAIN_UTF8: &str = "text/plain; charset=utf-8";
const TEXT_HTML_UTF8: &str = "text/html; charset=utf-8";

/// Longest extension either table knows (`mime_guess` has
/// "ssisdeploymentmanifest", 22 bytes); anything longer cannot match, so
/// case folding works in a fixed stack buffer.
const MAX_EXTENSION_LEN: usize = 32;

/// Go's `mime.TypeByExtension(path.Ext(file_name))`, falling back to a broad
/// extension table for extensions Go's built-in table does not know.
///
/// The extension is what follows the last `.` of the last `/`-separated
/// segment (Go's `path.Ext`); it is matched case-insensitively. Returns
/// `None` when there is no extension or it is unknown.
pub fn by_extension(file_name: &str) -> Option<&'static str> {
    let extension = extension_of(file_name)?;
    let mut folded = [0u8; MAX_EXTENSION_LEN];
    let extension = fold_case(extension, &mut folded)?;
    go_builtin_type(extension).or_else(|| broad_table_type(extension))
}

/// Go's `http.DetectContentType`: the Content-Type of data judged from (at
/// most) its first 512 bytes. Always returns a valid media type, falling
/// back to `application/octet-stream`.
pub fn sniff(data: &[u8]) -> &'static str {
    let window = data.get(..SNIFF_WINDOW).unwrap_or(data);
    // HTML and XML patterns are matched after leading whitespace (WHATWG
    // §7.1 "Identifying a resource with an unknown MIME type", step 3 of the
    // "text" patterns); every other pattern is anchored at byte 0.
    let first_non_ws = window
        .iter()
        .position(|&byte| !is_whitespace(byte))
        .unwrap_or(window.len());
    let after_ws = &window[first_non_ws..];

    for signature in SIGNATURES {
        if signature.pattern.matches(window, after_ws) {
            return signature.content_type;
        }
    }
    // §7.1 step 8: no binary data byte means text. Whitespace bytes are never
    // binary, so scanning the whole window equals Go's scan after the
    // leading whitespace.
    if window.iter().any(|&byte| is_binary_data_byte(byte)) {
        OCTET_STREAM
    } else {
        TEXT_PLAIN_UTF8
    }
}

/// The Content-Type the gateway sends for a file: by the file name's
/// extension, else sniffed from its first bytes; then any `text/html; …` is
/// cut to bare `text/html`, as boxo does after either path so that browsers
/// pick the charset themselves (kubo#2203).
///
/// `first_bytes` should hold the file's first 512 bytes (or all of it if
/// shorter); empty input sniffs as `text/plain; charset=utf-8`, as in Go.
pub fn for_file(file_name: Option<&str>, first_bytes: &[u8]) -> &'static str {
    let content_type =
        file_name
            .and_then(by_extension)
            .unwrap_or_else(|| match sniff(first_bytes) {
                TEXT_PLAIN_UTF8 if is_json(first_bytes) => JSON,
                sniffed => sniffed,
            });
    if content_type.starts_with("text/html;") {
        "text/html"
    } else {
        content_type
    }
}

/// Bytes of a file's start that JSON detection looks at (the default read limit of
/// gabriel-vasile/mimetype, which boxo sniffs with).
pub const JSON_WINDOW: usize = 3072;

const JSON: &str = "application/json";

/// mimetype's JSON rule, which boxo applies before falling back to text: an object or array
/// at the top, valid JSON to the end, or up to the window's edge when the file is longer.
fn is_json(first_bytes: &[u8]) -> bool {
    use serde::de::{Deserialize, IgnoredAny};
    let start = first_bytes
        .iter()
        .position(|&b| !is_whitespace(b))
        .unwrap_or(first_bytes.len());
    if !matches!(first_bytes.get(start), Some(b'{' | b'[')) {
        return false;
    }
    let mut reader = serde_json::Deserializer::from_slice(first_bytes);
    match IgnoredAny::deserialize(&mut reader) {
        Ok(_) => reader.end().is_ok(),
        Err(e) => e.is_eof() && first_bytes.len() >= JSON_WINDOW,
    }
}

/// Go's `path.Ext` without the dot: the bytes after the last `.` of the last
/// `/`-separated segment. `None` when there is no dot or nothing follows it
/// (Go then looks up `""` or `"."`, neither of which has a type).
fn extension_of(file_name: &str) -> Option<&str> {
    let last_segment = file_name.rsplit('/').next().unwrap_or(file_name);
    let (_, extension) = last_segment.rsplit_once('.')?;
    if extension.is_empty() {
        None
    } else {
        Some(extension)
    }
}

/// Lower-cases `extension` into `buffer` the way Go's lookup does
/// (`strings.ToLower`, i.e. Unicode simple case mapping). Every key of both
/// tables is ASCII, and the only non-ASCII characters whose simple lower case
/// is ASCII are U+0130 (İ → i) and U+212A (Kelvin sign → k); any other
/// non-ASCII character makes a match impossible, so it yields `None`, as does
/// an extension longer than any key.
fn fold_case<'b>(extension: &str, buffer: &'b mut [u8; MAX_EXTENSION_LEN]) -> Option<&'b str> {
    let mut len = 0;
    for character in extension.chars() {
        let folded = match character {
            'A'..='Z' => character.to_ascii_lowercase(),
            '\u{0130}' => 'i',
            '\u{212A}' => 'k',
            _ if character.is_ascii() => character,
            _ => return None,
        };
        // `folded` is ASCII here, so it is exactly one byte.
        *buffer.get_mut(len)? = folded as u8;
        len += 1;
    }
    std::str::from_utf8(&buffer[..len]).ok()
}

/// Go 1.26's `builtinTypesLower` (src/mime/type.go), keyed by the lower-case
/// extension without its dot. In Go these win over the freedesktop globs2
/// database (its loader skips extensions already set); only the legacy
/// `/etc/mime.types` fallback, read when no globs2 exists, can override them.
fn go_builtin_type(extension: &str) -> Option<&'static str> {
    Some(match extension {
        "ai" => "application/postscript",
        "apk" => "application/vnd.android.package-archive",
        "apng" => "image/apng",
        "avif" => "image/avif",
        "bin" => "application/octet-stream",
        "bmp" => "image/bmp",
        "com" => "application/octet-stream",
        "css" => "text/css; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "ehtml" => "text/html; charset=utf-8",
        "eml" => "message/rfc822",
        "eps" => "application/postscript",
        "exe" => "application/octet-stream",
        "flac" => "audio/flac",
        "gif" => "image/gif",
        "gz" => "application/gzip",
        "htm" => "text/html; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "ico" => "image/vnd.microsoft.icon",
        "ics" => "text/calendar; charset=utf-8",
        "jfif" => "image/jpeg",
        "jpeg" => "image/jpeg",
        "jpg" => "image/jpeg",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "m4a" => "audio/mp4",
        "mjs" => "text/javascript; charset=utf-8",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        "oga" => "audio/ogg",
        "ogg" => "audio/ogg",
        "ogv" => "video/ogg",
        "opus" => "audio/ogg",
        "pdf" => "application/pdf",
        "pjp" => "image/jpeg",
        "pjpeg" => "image/jpeg",
        "png" => "image/png",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "ps" => "application/postscript",
        "rdf" => "application/rdf+xml",
        "rtf" => "application/rtf",
        "shtml" => "text/html; charset=utf-8",
        "svg" => "image/svg+xml",
        "text" => "text/plain; charset=utf-8",
        "tif" => "image/tiff",
        "tiff" => "image/tiff",
        "txt" => "text/plain; charset=utf-8",
        "vtt" => "text/vtt; charset=utf-8",
        "wasm" => "application/wasm",
        "wav" => "audio/wav",
        "webm" => "audio/webm",
        "webp" => "image/webp",
        "xbl" => "text/xml; charset=utf-8",
        "xbm" => "image/x-xbitmap",
        "xht" => "application/xhtml+xml",
        "xhtml" => "application/xhtml+xml",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xml" => "text/xml; charset=utf-8",
        "xsl" => "text/xml; charset=utf-8",
        "zip" => "application/zip",
        _ => return None,
    })
}

/// The broad table's first guess, with `text/*` types given
/// `; charset=utf-8` as Go's `setExtensionType` does for types loaded from
/// the system MIME database.
fn broad_table_type(extension: &str) -> Option<&'static str> {
    let media_type = mime_guess::from_ext(extension).first_raw()?;
    if media_type.starts_with("text/") {
        Some(text_type_with_charset(media_type))
    } else {
        Some(media_type)
    }
}

/// Static `text/*; charset=utf-8` strings for every text type `mime_guess`
/// 2.0.5 can return, so no string is built per call. A text type added by a
/// later `mime_guess` falls through unchanged (a unit test walks the whole
/// table so such a gap is caught on upgrade).
fn text_type_with_charset(media_type: &'static str) -> &'static str {
    match media_type {
        "text/cache-manifest" => "text/cache-manifest; charset=utf-8",
        "text/calendar" => "text/calendar; charset=utf-8",
        "text/coffeescript" => "text/coffeescript; charset=utf-8",
        "text/css" => "text/css; charset=utf-8",
        "text/csv" => "text/csv; charset=utf-8",
        "text/dlm" => "text/dlm; charset=utf-8",
        "text/gemini" => "text/gemini; charset=utf-8",
        "text/h323" => "text/h323; charset=utf-8",
        "text/html" => "text/html; charset=utf-8",
        "text/iuls" => "text/iuls; charset=utf-8",
        "text/jade" => "text/jade; charset=utf-8",
        "text/javascript" => "text/javascript; charset=utf-8",
        "text/less" => "text/less; charset=utf-8",
        "text/markdown" => "text/markdown; charset=utf-8",
        "text/mathml" => "text/mathml; charset=utf-8",
        "text/n3" => "text/n3; charset=utf-8",
        "text/plain" => "text/plain; charset=utf-8",
        "text/prs.lines.tag" => "text/prs.lines.tag; charset=utf-8",
        "text/richtext" => "text/richtext; charset=utf-8",
        "text/scriptlet" => "text/scriptlet; charset=utf-8",
        "text/sgml" => "text/sgml; charset=utf-8",
        "text/shex" => "text/shex; charset=utf-8",
        "text/slim" => "text/slim; charset=utf-8",
        "text/stylus" => "text/stylus; charset=utf-8",
        "text/tab-separated-values" => "text/tab-separated-values; charset=utf-8",
        "text/turtle" => "text/turtle; charset=utf-8",
        "text/uri-list" => "text/uri-list; charset=utf-8",
        "text/vbscript" => "text/vbscript; charset=utf-8",
        "text/vcard" => "text/vcard; charset=utf-8",
        "text/vnd.curl" => "text/vnd.curl; charset=utf-8",
        "text/vnd.curl.dcurl" => "text/vnd.curl.dcurl; charset=utf-8",
        "text/vnd.curl.mcurl" => "text/vnd.curl.mcurl; charset=utf-8",
        "text/vnd.curl.scurl" => "text/vnd.curl.scurl; charset=utf-8",
        "text/vnd.dvb.subtitle" => "text/vnd.dvb.subtitle; charset=utf-8",
        "text/vnd.fly" => "text/vnd.fly; charset=utf-8",
        "text/vnd.fmi.flexstor" => "text/vnd.fmi.flexstor; charset=utf-8",
        "text/vnd.graphviz" => "text/vnd.graphviz; charset=utf-8",
        "text/vnd.in3d.3dml" => "text/vnd.in3d.3dml; charset=utf-8",
        "text/vnd.in3d.spot" => "text/vnd.in3d.spot; charset=utf-8",
        "text/vnd.sun.j2me.app-descriptor" => "text/vnd.sun.j2me.app-descriptor; charset=utf-8",
        "text/vnd.wap.wml" => "text/vnd.wap.wml; charset=utf-8",
        "text/vnd.wap.wmlscript" => "text/vnd.wap.wmlscript; charset=utf-8",
        "text/vtt" => "text/vtt; charset=utf-8",
        "text/webviewhtml" => "text/webviewhtml; charset=utf-8",
        "text/x-c" => "text/x-c; charset=utf-8",
        "text/x-component" => "text/x-component; charset=utf-8",
        "text/x-fortran" => "text/x-fortran; charset=utf-8",
        "text/x-gherkin" => "text/x-gherkin; charset=utf-8",
        "text/x-handlebars-template" => "text/x-handlebars-template; charset=utf-8",
        "text/x-hdml" => "text/x-hdml; charset=utf-8",
        "text/x-html-insertion" => "text/x-html-insertion; charset=utf-8",
        "text/x-lua" => "text/x-lua; charset=utf-8",
        "text/x-markdown" => "text/x-markdown; charset=utf-8",
        "text/x-ms-contact" => "text/x-ms-contact; charset=utf-8",
        "text/x-ms-group" => "text/x-ms-group; charset=utf-8",
        "text/x-ms-iqy" => "text/x-ms-iqy; charset=utf-8",
        "text/x-ms-rqy" => "text/x-ms-rqy; charset=utf-8",
        "text/x-nfo" => "text/x-nfo; charset=utf-8",
        "text/x-opml" => "text/x-opml; charset=utf-8",
        "text/x-pascal" => "text/x-pascal; charset=utf-8",
        "text/x-processing" => "text/x-processing; charset=utf-8",
        "text/x-rust" => "text/x-rust; charset=utf-8",
        "text/x-sass" => "text/x-sass; charset=utf-8",
        "text/x-scss" => "text/x-scss; charset=utf-8",
        "text/x-setext" => "text/x-setext; charset=utf-8",
        "text/x-sfv" => "text/x-sfv; charset=utf-8",
        "text/x-suse-ymp" => "text/x-suse-ymp; charset=utf-8",
        "text/x-toml" => "text/x-toml; charset=utf-8",
        "text/x-uuencode" => "text/x-uuencode; charset=utf-8",
        "text/x-vcard" => "text/x-vcard; charset=utf-8",
        "text/x-yaml" => "text/x-yaml; charset=utf-8",
        "text/xml" => "text/xml; charset=utf-8",
        _ => media_type,
    }
}

/// WHATWG "whitespace byte" (0x09, 0x0A, 0x0C, 0x0D, 0x20).
fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b'\t' | b'\n' | 0x0C | b'\r' | b' ')
}

/// WHATWG "tag-terminating byte" (0x20, 0x3E): what must follow an HTML tag
/// name for the HTML pattern to match.
fn is_tag_terminating(byte: u8) -> bool {
    matches!(byte, b' ' | b'>')
}

/// WHATWG "binary data byte": control bytes other than TAB, LF, FF, CR and
/// ESC (0x1B).
fn is_binary_data_byte(byte: u8) -> bool {
    matches!(byte, 0x00..=0x08 | 0x0B | 0x0E..=0x1A | 0x1C..=0x1F)
}

/// One way a leading-bytes pattern can match.
enum Pattern {
    /// `<tag` (ASCII letters matched case-insensitively) after leading
    /// whitespace, immediately followed by a tag-terminating byte.
    HtmlTag(&'static [u8]),
    /// The window starts with these exact bytes (no whitespace skipping).
    Prefix(&'static [u8]),
    /// The bytes after leading whitespace start with these exact bytes.
    PrefixAfterWhitespace(&'static [u8]),
    /// WHATWG §6 pattern matching: `window[i] & mask[i] == pattern[i]` for
    /// every `i`, so the window must be at least as long as the pattern even
    /// where the mask ignores the byte.
    Masked {
        pattern: &'static [u8],
        mask: &'static [u8],
    },
    /// WHATWG §6.2.1 "signature for MP4".
    Mp4,
}

impl Pattern {
    fn matches(&self, window: &[u8], after_ws: &[u8]) -> bool {
        match *self {
            Pattern::HtmlTag(tag) => matches_html_tag(after_ws, tag),
            Pattern::Prefix(prefix) => window.starts_with(prefix),
            Pattern::PrefixAfterWhitespace(prefix) => after_ws.starts_with(prefix),
            Pattern::Masked { pattern, mask } => {
                pattern.len() == mask.len()
                    && window.len() >= pattern.len()
                    && window
                        .iter()
                        .zip(pattern.iter().zip(mask))
                        .all(|(&byte, (&want, &mask))| byte & mask == want)
            }
            Pattern::Mp4 => is_mp4(window),
        }
    }
}

fn matches_html_tag(after_ws: &[u8], tag: &[u8]) -> bool {
    // The tag plus its terminating byte must fit.
    let Some(candidate) = after_ws.get(..tag.len()) else {
        return false;
    };
    let Some(&terminator) = after_ws.get(tag.len()) else {
        return false;
    };
    let name_matches = candidate.iter().zip(tag).all(|(&byte, &want)| {
        // Only the pattern's letters are case-insensitive: clearing bit 5
        // upper-cases an ASCII letter (and is what Go does to the data byte).
        if want.is_ascii_uppercase() {
            byte & 0xDF == want
        } else {
            byte == want
        }
    });
    name_matches && is_tag_terminating(terminator)
}

/// WHATWG §6.2.1: an ISO-BMFF `ftyp` box at offset 0 that fits in the window
/// and lists an `mp4*` brand (the major brand, or a compatible brand — the
/// minor-version field at offset 12 is not a brand and is skipped).
fn is_mp4(window: &[u8]) -> bool {
    let Some(header) = window.get(..12) else {
        return false;
    };
    let box_size = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let Ok(box_size) = usize::try_from(box_size) else {
        return false;
    };
    if box_size > window.len() || box_size % 4 != 0 || &header[4..8] != b"ftyp" {
        return false;
    }
    (8..box_size)
        .step_by(4)
        .filter(|&offset| offset != 12)
        .any(|offset| window.get(offset..offset + 3) == Some(b"mp4".as_slice()))
}

struct Signature {
    pattern: Pattern,
    content_type: &'static str,
}

const fn html(tag: &'static [u8]) -> Signature {
    Signature {
        pattern: Pattern::HtmlTag(tag),
        content_type: TEXT_HTML_UTF8,
    }
}

const fn prefix(bytes: &'static [u8], content_type: &'static str) -> Signature {
    Signature {
        pattern: Pattern::Prefix(bytes),
        content_type,
    }
}

const fn masked(
    pattern: &'static [u8],
    mask: &'static [u8],
    content_type: &'static str,
) -> Signature {
    Signature {
        pattern: Pattern::Masked { pattern, mask },
        content_type,
    }
}

/// Go's `sniffSignatures`, in Go's order (first match wins). Masked patterns
/// whose mask is all 0xFF are written as plain prefixes: for a pattern of
/// length n both require n bytes equal to the pattern.
static SIGNATURES: &[Signature] = &[
    // HTML (WHATWG §7.1 step 3). Order matters only in that `<B` must not
    // shadow `<BR`/`<BODY`; the terminator rule keeps them apart.
    html(b"<!DOCTYPE HTML"),
    html(b"<HTML"),
    html(b"<HEAD"),
    html(b"<SCRIPT"),
    html(b"<IFRAME"),
    html(b"<H1"),
    html(b"<DIV"),
    html(b"<FONT"),
    html(b"<TABLE"),
    html(b"<A"),
    html(b"<STYLE"),
    html(b"<TITLE"),
    html(b"<B"),
    html(b"<BODY"),
    html(b"<BR"),
    html(b"<P"),
    html(b"<!--"),
    Signature {
        pattern: Pattern::PrefixAfterWhitespace(b"<?xml"),
        content_type: "text/xml; charset=utf-8",
    },
    prefix(b"%PDF-", "application/pdf"),
    prefix(b"%!PS-Adobe-", "application/postscript"),
    // Byte-order marks: the mask ignores the 3rd/4th bytes, but they must
    // exist, so a bare 2-byte BOM falls through to the text rule.
    masked(
        b"\xFE\xFF\x00\x00",
        b"\xFF\xFF\x00\x00",
        "text/plain; charset=utf-16be",
    ),
    masked(
        b"\xFF\xFE\x00\x00",
        b"\xFF\xFF\x00\x00",
        "text/plain; charset=utf-16le",
    ),
    masked(b"\xEF\xBB\xBF\x00", b"\xFF\xFF\xFF\x00", TEXT_PLAIN_UTF8),
    // Images (WHATWG §6.1). Go reports icons as image/x-icon per the current
    // standard, not the image/vnd.microsoft.icon of its extension table.
    prefix(b"\x00\x00\x01\x00", "image/x-icon"),
    prefix(b"\x00\x00\x02\x00", "image/x-icon"),
    prefix(b"BM", "image/bmp"),
    prefix(b"GIF87a", "image/gif"),
    prefix(b"GIF89a", "image/gif"),
    masked(
        b"RIFF\x00\x00\x00\x00WEBPVP",
        b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF\xFF\xFF",
        "image/webp",
    ),
    prefix(b"\x89PNG\x0D\x0A\x1A\x0A", "image/png"),
    prefix(b"\xFF\xD8\xFF", "image/jpeg"),
    // Audio and video (WHATWG §6.2), in the standard's order.
    masked(
        b"FORM\x00\x00\x00\x00AIFF",
        b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF",
        "audio/aiff",
    ),
    prefix(b"ID3", "audio/mpeg"),
    prefix(b"OggS\x00", "application/ogg"),
    prefix(b"MThd\x00\x00\x00\x06", "audio/midi"),
    masked(
        b"RIFF\x00\x00\x00\x00AVI ",
        b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF",
        "video/avi",
    ),
    masked(
        b"RIFF\x00\x00\x00\x00WAVE",
        b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF",
        "audio/wave",
    ),
    Signature {
        pattern: Pattern::Mp4,
        content_type: "video/mp4",
    },
    prefix(b"\x1A\x45\xDF\xA3", "video/webm"),
    // Fonts (WHATWG §6.3). Embedded OpenType: any 34 bytes, then "LP".
    masked(
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
          \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00LP",
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
          \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xFF\xFF",
        "application/vnd.ms-fontobject",
    ),
    prefix(b"\x00\x01\x00\x00", "font/ttf"),
    prefix(b"OTTO", "font/otf"),
    prefix(b"ttcf", "font/collection"),
    prefix(b"wOFF", "font/woff"),
    prefix(b"wOF2", "font/woff2"),
    // Archives (WHATWG §6.4). RAR uses RAR Labs' signatures, as Go does
    // (whatwg/mimesniff#63).
    prefix(b"\x1F\x8B\x08", "application/x-gzip"),
    prefix(b"PK\x03\x04", "application/zip"),
    prefix(b"Rar!\x1A\x07\x00", "application/x-rar-compressed"),
    prefix(b"Rar!\x1A\x07\x01\x00", "application/x-rar-compressed"),
    prefix(b"\x00asm", "application/wasm"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_files_are_detected_as_boxo_detects_them() {
        assert_eq!(for_file(None, b" {\"a\": [1, 2]}\n"), "application/json");
        assert_eq!(for_file(None, b"[]"), "application/json");
        // Not JSON, or not an object or array at the top: plain text.
        assert_eq!(for_file(None, b"{\"a\": "), "text/plain; charset=utf-8");
        assert_eq!(for_file(None, b"\"string\""), "text/plain; charset=utf-8");
        assert_eq!(for_file(None, b"{} trailing"), "text/plain; charset=utf-8");
        // A long document cut at the window still counts.
        let mut long = b"[".to_vec();
        while long.len() < JSON_WINDOW {
            long.extend_from_slice(b"123456789,");
        }
        assert_eq!(for_file(None, &long[..JSON_WINDOW]), "application/json");
        // The extension wins over sniffing.
        assert_eq!(for_file(Some("a.txt"), b"{}"), "text/plain; charset=utf-8");
    }

    /// The vector table of Go's src/net/http/sniff_test.go (`sniffTests`),
    /// ported as data: (description, input, Go's result).
    const GO_SNIFF_VECTORS: &[(&str, &[u8], &str)] = &[
        ("Empty", b"", "text/plain; charset=utf-8"),
        ("Binary", &[1, 2, 3], "application/octet-stream"),
        (
            "HTML document #1",
            b"<HtMl><bOdY>blah blah blah</body></html>",
            "text/html; charset=utf-8",
        ),
        (
            "HTML document #2",
            b"<HTML></HTML>",
            "text/html; charset=utf-8",
        ),
        (
            "HTML document #3 (leading whitespace)",
            b"   <!DOCTYPE HTML>...",
            "text/html; charset=utf-8",
        ),
        (
            "HTML document #4 (leading CRLF)",
            b"\r\n<html>...",
            "text/html; charset=utf-8",
        ),
        (
            "Plain text",
            "This is not HTML. It has \u{2603} though.".as_bytes(),
            "text/plain; charset=utf-8",
        ),
        ("XML", b"\n<?xml!", "text/xml; charset=utf-8"),
        ("Windows icon", b"\x00\x00\x01\x00", "image/x-icon"),
        ("Windows cursor", b"\x00\x00\x02\x00", "image/x-icon"),
        ("BMP image", b"BM...", "image/bmp"),
        ("GIF 87a", b"GIF87a", "image/gif"),
        ("GIF 89a", b"GIF89a...", "image/gif"),
        ("WEBP image", b"RIFF\x00\x00\x00\x00WEBPVP", "image/webp"),
        ("PNG image", b"\x89PNG\x0D\x0A\x1A\x0A", "image/png"),
        ("JPEG image", b"\xFF\xD8\xFF", "image/jpeg"),
        ("MIDI audio", b"MThd\x00\x00\x00\x06\x00\x01", "audio/midi"),
        (
            "MP3 audio/MPEG audio",
            b"ID3\x03\x00\x00\x00\x00\x0f",
            "audio/mpeg",
        ),
        (
            "WAV audio #1",
            b"RIFFb\xb8\x00\x00WAVEfmt \x12\x00\x00\x00\x06",
            "audio/wave",
        ),
        (
            "WAV audio #2",
            b"RIFF,\x00\x00\x00WAVEfmt \x12\x00\x00\x00\x06",
            "audio/wave",
        ),
        (
            "AIFF audio #1",
            b"FORM\x00\x00\x00\x00AIFFCOMM\x00\x00\x00\x12\x00\x01\x00\x00\x57\x55\x00\x10\x40\x0d\xf3\x34",
            "audio/aiff",
        ),
        (
            "OGG audio",
            b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x7e\x46\x00\x00\x00\x00\x00\x00\x1f\xf6\xb4\xfc\x01\x1e\x01\x76\x6f\x72",
            "application/ogg",
        ),
        ("Must not match OGG", b"owow\x00", "application/octet-stream"),
        ("Must not match OGG", b"oooS\x00", "application/octet-stream"),
        ("Must not match OGG", b"oggS\x00", "application/octet-stream"),
        (
            "MP4 video",
            b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom<\x06t\xbfmdat",
            "video/mp4",
        ),
        // Go's literal ends in "À", i.e. UTF-8 C3 80.
        ("AVI video #1", b"RIFF,O\n\x00AVI LIST\xC3\x80", "video/avi"),
        ("AVI video #2", b"RIFF,\n\x00\x00AVI LIST\xC3\x80", "video/avi"),
        (
            "TTF sample  I",
            b"\x00\x01\x00\x00\x00\x17\x01\x00\x00\x04\x01\x60\x4f",
            "font/ttf",
        ),
        (
            "TTF sample II",
            b"\x00\x01\x00\x00\x00\x0e\x00\x80\x00\x03\x00\x60\x46",
            "font/ttf",
        ),
        (
            "OTTO sample  I",
            b"\x4f\x54\x54\x4f\x00\x0e\x00\x80\x00\x03\x00\x60\x42\x41\x53\x45",
            "font/otf",
        ),
        (
            "woff sample  I",
            b"\x77\x4f\x46\x46\x00\x01\x00\x00\x00\x00\x30\x54\x00\x0d\x00\x00",
            "font/woff",
        ),
        (
            "woff2 sample",
            b"\x77\x4f\x46\x32\x00\x01\x00\x00\x00",
            "font/woff2",
        ),
        ("wasm sample", b"\x00\x61\x73\x6d\x01\x00", "application/wasm"),
        (
            "RAR v1.5-v4.0",
            b"Rar!\x1A\x07\x00",
            "application/x-rar-compressed",
        ),
        (
            "RAR v5+",
            b"Rar!\x1A\x07\x01\x00",
            "application/x-rar-compressed",
        ),
        (
            "Incorrect RAR v1.5-v4.0",
            b"Rar \x1A\x07\x00",
            "application/octet-stream",
        ),
        (
            "Incorrect RAR v5+",
            b"Rar \x1A\x07\x01\x00",
            "application/octet-stream",
        ),
    ];

    /// Edge cases of each rule, with the results Go 1.26's
    /// `http.DetectContentType` gives for them.
    const EDGE_SNIFF_VECTORS: &[(&[u8], &str)] = &[
        // HTML: the tag needs a terminating byte (' ' or '>'), and only
        // after it do the letters' case and leading whitespace not matter.
        (b"<HTML", "text/plain; charset=utf-8"),
        (b"<HTML ", "text/html; charset=utf-8"),
        (b"<html>", "text/html; charset=utf-8"),
        (b"<HTMLX>", "text/plain; charset=utf-8"),
        (b"<!DOCTYPE HTML\t", "text/plain; charset=utf-8"),
        (b"<!doctype html>", "text/html; charset=utf-8"),
        (b" \t\r\n\x0c<Body>", "text/html; charset=utf-8"),
        // VT is not whitespace but is a binary byte.
        (b"\x0b<html>", "application/octet-stream"),
        (b"<br>", "text/html; charset=utf-8"),
        (b"<b>", "text/html; charset=utf-8"),
        (b"<bR ", "text/html; charset=utf-8"),
        (b"<p>", "text/html; charset=utf-8"),
        (b"<!-- c -->", "text/html; charset=utf-8"),
        (b"<h1>", "text/html; charset=utf-8"),
        (b"<H1x", "text/plain; charset=utf-8"),
        // XML: case-sensitive, whitespace skipped.
        (b"<?XML", "text/plain; charset=utf-8"),
        (b"  <?xml version", "text/xml; charset=utf-8"),
        (b"<?xm", "text/plain; charset=utf-8"),
        // Exact signatures are anchored at byte 0.
        (b"%PDF-1.7", "application/pdf"),
        (b" %PDF-1.7", "text/plain; charset=utf-8"),
        (b"%pdf-", "text/plain; charset=utf-8"),
        (b"%!PS-Adobe-3.0", "application/postscript"),
        // BOM patterns need 4 bytes although the mask ignores some.
        (b"\xFE\xFF", "text/plain; charset=utf-8"),
        (b"\xFE\xFFab", "text/plain; charset=utf-16be"),
        (b"\xFF\xFE\x00\x00", "text/plain; charset=utf-16le"),
        (b"\xEF\xBB\xBF", "text/plain; charset=utf-8"),
        (b"\xEF\xBB\xBF\x01", "text/plain; charset=utf-8"),
        // RIFF family: the size field is masked out, the tail is not.
        (b"RIFF\x10\x20\x30\x40WEBPVP8 ", "image/webp"),
        (b"RIFF\x00\x00\x00\x00WEBPV", "application/octet-stream"),
        (b"RIFF\xff\xff\xff\xffWAVE", "audio/wave"),
        (b"RIFF\x00\x00\x00\x00WAV", "application/octet-stream"),
        (b"\x1A\x45\xDF\xA3\x01", "video/webm"),
        (b"\x1F\x8B\x08\x00", "application/x-gzip"),
        (b"\x1F\x8B", "application/octet-stream"),
        (b"PK\x03\x04\x14", "application/zip"),
        (b"ttcf", "font/collection"),
        (b"\x00asm", "application/wasm"),
        // MP4: box size must fit the data and be a multiple of 4; the
        // minor-version word at offset 12 is not a brand.
        (b"\x00\x00\x00\x0cftypmp42", "video/mp4"),
        (
            b"\x00\x00\x00\x10ftypisom\x00\x00\x00\x00",
            "application/octet-stream",
        ),
        (b"\x00\x00\x00\x10ftypisommp41", "application/octet-stream"),
        (b"\x00\x00\x00\x14ftypisommp41mp42", "video/mp4"),
        (b"\x00\x00\x00\x14ftypisom\x00\x00\x00\x00mp41", "video/mp4"),
        (
            b"\x00\x00\x00\x15ftypmp42\x00\x00\x00\x00mp41x",
            "application/octet-stream",
        ),
        (b"\x00\x00\x00\x18ftypmp42", "application/octet-stream"),
        (b"\x00\x00\x00\x0cftypMP42", "application/octet-stream"),
        // Text rule: ESC and DEL and non-UTF-8 high bytes are not binary.
        (b"\x1b[31mred\x1b[0m", "text/plain; charset=utf-8"),
        (b"del\x7f", "text/plain; charset=utf-8"),
        (b"caf\xc3\xa9 \xff\xfe", "text/plain; charset=utf-8"),
        (b"a\x00b", "application/octet-stream"),
    ];

    #[test]
    fn sniff_matches_go_test_table() {
        for &(description, data, want) in GO_SNIFF_VECTORS {
            assert_eq!(sniff(data), want, "{description}");
        }
    }

    #[test]
    fn sniff_matches_go_on_edge_cases() {
        for &(data, want) in EDGE_SNIFF_VECTORS {
            assert_eq!(sniff(data), want, "{:?}", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn embedded_opentype_needs_lp_at_offset_34() {
        // Any 34 bytes, even text-like ones, then "LP".
        let mut data = [b'a'; 36];
        data[34..].copy_from_slice(b"LP");
        assert_eq!(sniff(&data), "application/vnd.ms-fontobject");
        let mut data = [0u8; 36];
        data[34..].copy_from_slice(b"LP");
        assert_eq!(sniff(&data), "application/vnd.ms-fontobject");
        assert_eq!(sniff(&data[..35]), "application/octet-stream");
        data[35] = b'Q';
        assert_eq!(sniff(&data), "application/octet-stream");
    }

    #[test]
    fn only_the_first_512_bytes_are_considered() {
        let mut text = [b'a'; 600];
        text[512] = 0;
        assert_eq!(sniff(&text), "text/plain; charset=utf-8");
        text[511] = 0;
        assert_eq!(sniff(&text), "application/octet-stream");

        // Whitespace skipping also stops at the window's end: the tag and
        // its terminator must both lie within the first 512 bytes.
        let mut html = [b' '; 600];
        html[506..512].copy_from_slice(b"<html>");
        assert_eq!(sniff(&html), "text/html; charset=utf-8");
        let mut html = [b' '; 600];
        html[507..513].copy_from_slice(b"<html>");
        assert_eq!(sniff(&html), "text/plain; charset=utf-8");

        // An MP4 box larger than the window never matches.
        let mut mp4 = [0u8; 1024];
        mp4[..12].copy_from_slice(b"\x00\x00\x02\x04ftypmp42");
        assert_eq!(sniff(&mp4), "application/octet-stream");
        mp4[..4].copy_from_slice(&508u32.to_be_bytes());
        assert_eq!(sniff(&mp4), "video/mp4");
    }

    #[test]
    fn sniff_survives_adversarial_mp4_headers() {
        for size in [
            0u32,
            4,
            8,
            11,
            12,
            13,
            509,
            512,
            516,
            u32::MAX - 3,
            u32::MAX,
        ] {
            let mut data = [0u8; 40];
            data[..4].copy_from_slice(&size.to_be_bytes());
            data[4..8].copy_from_slice(b"ftyp");
            for len in 0..data.len() {
                let _ = sniff(&data[..len]);
            }
        }
    }

    #[test]
    fn signature_table_is_well_formed() {
        for signature in SIGNATURES {
            if let Pattern::Masked { pattern, mask } = signature.pattern {
                assert_eq!(pattern.len(), mask.len(), "{}", signature.content_type);
                // A pattern bit outside its mask could never match.
                assert!(pattern.iter().zip(mask).all(|(&p, &m)| p & !m == 0));
            }
        }
        let eot = SIGNATURES
            .iter()
            .find(|s| s.content_type == "application/vnd.ms-fontobject")
            .map(|s| &s.pattern);
        assert!(matches!(eot, Some(Pattern::Masked { pattern, .. }) if pattern.len() == 36));
    }

    #[test]
    fn extension_uses_go_builtin_table_first() {
        let cases: &[(&str, &str)] = &[
            ("a.avif", "image/avif"),
            ("a.css", "text/css; charset=utf-8"),
            ("a.gif", "image/gif"),
            ("a.htm", "text/html; charset=utf-8"),
            ("a.html", "text/html; charset=utf-8"),
            ("a.jpeg", "image/jpeg"),
            ("a.jpg", "image/jpeg"),
            ("a.js", "text/javascript; charset=utf-8"),
            ("a.json", "application/json"),
            ("a.mjs", "text/javascript; charset=utf-8"),
            ("a.pdf", "application/pdf"),
            ("a.png", "image/png"),
            ("a.svg", "image/svg+xml"),
            ("a.wasm", "application/wasm"),
            ("a.webp", "image/webp"),
            ("a.xml", "text/xml; charset=utf-8"),
            ("a.txt", "text/plain; charset=utf-8"),
            // Entries added in Go 1.26, some differing from mime_guess.
            ("a.ico", "image/vnd.microsoft.icon"),
            ("a.gz", "application/gzip"),
            ("a.mp3", "audio/mpeg"),
            ("a.webm", "audio/webm"),
            ("a.wav", "audio/wav"),
            ("a.xsl", "text/xml; charset=utf-8"),
            ("a.eml", "message/rfc822"),
            ("a.exe", "application/octet-stream"),
        ];
        for &(name, want) in cases {
            assert_eq!(by_extension(name), Some(want), "{name}");
        }
    }

    #[test]
    fn extension_parsing_follows_go_path_ext() {
        // Case-insensitive, ASCII and Go's two non-ASCII folds to ASCII.
        assert_eq!(by_extension("PHOTO.JPG"), Some("image/jpeg"));
        assert_eq!(by_extension("Page.HtMl"), Some("text/html; charset=utf-8"));
        assert_eq!(
            by_extension("app.AP\u{212A}"),
            Some("application/vnd.android.package-archive")
        );
        assert_eq!(
            by_extension("cal.\u{0130}CS"),
            Some("text/calendar; charset=utf-8")
        );
        assert_eq!(by_extension("x.p\u{00F1}g"), None);
        // Only the last dot counts.
        assert_eq!(by_extension("archive.tar.gz"), Some("application/gzip"));
        assert_eq!(
            by_extension("index.html.txt"),
            Some("text/plain; charset=utf-8")
        );
        // Only the last path segment counts.
        assert_eq!(by_extension("dir.png/README"), None);
        assert_eq!(by_extension("a/b.d/c.css"), Some("text/css; charset=utf-8"));
        // No extension, empty extension, empty name.
        assert_eq!(by_extension("Makefile"), None);
        assert_eq!(by_extension("file."), None);
        assert_eq!(by_extension("."), None);
        assert_eq!(by_extension(""), None);
        assert_eq!(by_extension("dir/"), None);
        // A dotfile's whole name is its extension, as with Go's path.Ext.
        assert_eq!(by_extension(".bashrc"), None);
        assert_eq!(by_extension(".png"), Some("image/png"));
        // Unknown and over-long extensions.
        assert_eq!(by_extension("x.nosuchextension"), None);
        assert_eq!(by_extension(&format!("x.{}", "a".repeat(1000))), None);
    }

    #[test]
    fn extension_falls_back_to_broad_table_with_go_charset_rule() {
        assert_eq!(
            by_extension("README.md"),
            Some("text/markdown; charset=utf-8")
        );
        assert_eq!(
            by_extension("Cargo.TOML"),
            Some("text/x-toml; charset=utf-8")
        );
        assert_eq!(by_extension("lib.rs"), Some("text/x-rust; charset=utf-8"));
        assert_eq!(by_extension("font.woff2"), Some("font/woff2"));
        assert_eq!(by_extension("movie.mp4"), Some("video/mp4"));
    }

    #[test]
    fn broad_table_is_fully_covered() {
        // Walks every extension mime_guess knows, so a mime_guess upgrade
        // that adds a text type without a static charset string, or a longer
        // or non-ASCII extension, fails here rather than silently diverging.
        let all = mime_guess::get_extensions("*", "*").unwrap_or(&[]);
        assert!(all.len() > 1000);
        // Keys with a dot ("dll.config") are unreachable through Go's
        // path.Ext, which takes only what follows the last dot.
        for &extension in all.iter().filter(|e| !e.contains('.')) {
            assert!(extension.is_ascii(), "{extension}");
            assert!(extension.len() <= MAX_EXTENSION_LEN, "{extension}");
            let name = format!("f.{}", extension.to_ascii_uppercase());
            let Some(found) = by_extension(&name) else {
                panic!("{extension} not found");
            };
            if found.starts_with("text/") {
                assert!(found.ends_with("; charset=utf-8"), "{extension}: {found}");
            }
            if go_builtin_type(extension).is_none() {
                let first = mime_guess::from_ext(extension).first_raw();
                assert_eq!(found.split(';').next(), first, "{extension}");
            }
        }
    }

    #[test]
    fn for_file_prefers_extension_then_sniffs() {
        // The extension wins over the content.
        assert_eq!(for_file(Some("x.png"), b"<html>"), "image/png");
        assert_eq!(for_file(Some("x.json"), b"\x00\x01"), "application/json");
        // No name, no extension or unknown extension: sniff.
        assert_eq!(for_file(None, b"\x89PNG\x0D\x0A\x1A\x0A"), "image/png");
        assert_eq!(
            for_file(Some("LICENSE"), b"MIT"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            for_file(Some("x.nosuchext"), b"\x00\x01"),
            "application/octet-stream"
        );
        assert_eq!(for_file(None, b""), "text/plain; charset=utf-8");
        // text/html loses its charset whichever way it was found…
        assert_eq!(for_file(None, b"  <!DOCTYPE html>"), "text/html");
        assert_eq!(for_file(Some("index.html"), b""), "text/html");
        assert_eq!(for_file(Some("page.HTM"), b"\x00"), "text/html");
        // …but no other type does.
        assert_eq!(for_file(Some("a.xml"), b""), "text/xml; charset=utf-8");
        assert_eq!(for_file(Some("a.css"), b""), "text/css; charset=utf-8");
        assert_eq!(for_file(None, b"<?xml"), "text/xml; charset=utf-8");
    }
}
