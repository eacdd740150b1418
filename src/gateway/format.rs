//! Response format negotiation (path-gateway spec "Response Payload"; trustless-gateway spec;
//! IPIP-523): `?format=` wins over `Accept`; from `Accept`, the first entry naming a media type
//! the gateway serves decides, in the order written (boxo does not weigh `q`). A response whose
//! format came from `Accept` carries `Content-Location` with the equivalent `?format=` URL so
//! that caches keep the representations apart.

use std::borrow::Cow;

use http::header::{self, HeaderMap};
use smallvec::SmallVec;

use super::path::{form_decode, query_param};
use crate::http::HttpError;
use crate::services::go_url::query_escape_into;

/// The representation a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// No explicit format: a UnixFS file, directory or symlink as the web sees it, or a
    /// JSON/CBOR block as its codec's media type.
    Default,
    Raw,
    Car,
    Tar,
    Json,
    Cbor,
    DagJson,
    DagCbor,
    IpnsRecord,
}

impl Format {
    const ALL: [Format; 8] = [
        Format::Raw,
        Format::Car,
        Format::Tar,
        Format::Json,
        Format::Cbor,
        Format::DagJson,
        Format::DagCbor,
        Format::IpnsRecord,
    ];

    /// The `?format=` value.
    pub fn param(self) -> &'static str {
        match self {
            Format::Default => "",
            Format::Raw => "raw",
            Format::Car => "car",
            Format::Tar => "tar",
            Format::Json => "json",
            Format::Cbor => "cbor",
            Format::DagJson => "dag-json",
            Format::DagCbor => "dag-cbor",
            Format::IpnsRecord => "ipns-record",
        }
    }

    /// The media type (without parameters).
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Default => "",
            Format::Raw => "application/vnd.ipld.raw",
            Format::Car => "application/vnd.ipld.car",
            Format::Tar => "application/x-tar",
            Format::Json => "application/json",
            Format::Cbor => "application/cbor",
            Format::DagJson => "application/vnd.ipld.dag-json",
            Format::DagCbor => "application/vnd.ipld.dag-cbor",
            Format::IpnsRecord => "application/vnd.ipfs.ipns-record",
        }
    }

    fn from_param(param: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.param() == param)
    }

    fn from_media_type(media_type: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.media_type().eq_ignore_ascii_case(media_type))
    }

    /// The Etag suffix boxo appends to the CID for this format (`"<cid>.<suffix>"`): the last
    /// `/`- or `.`-separated word of the media type.
    pub fn etag_suffix(self) -> &'static str {
        let media_type = self.media_type();
        let cut = media_type.rfind(['/', '.']).map_or(0, |i| i + 1);
        &media_type[cut..]
    }
}

/// Media-type parameters from `Accept` (`order=dfs`, `dups=y`, `version=1`), lower-cased
/// names, unquoted values.
pub type Params<'r> = SmallVec<[(Cow<'r, str>, Cow<'r, str>); 4]>;

/// The outcome of negotiation.
#[derive(Debug)]
pub struct Negotiated<'r> {
    pub format: Format,
    /// Parameters of the `Accept` entry that chose the format (or that matched `?format=`).
    pub params: Params<'r>,
    /// Whether `?format=` named this format (no `Content-Location` needed then).
    pub from_query: bool,
}

impl Negotiated<'_> {
    /// The value of an `Accept` parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| &**v)
    }
}

/// Media types whose presence in `Accept` makes the gateway answer something other than its
/// default (boxo `customResponseFormat`); any other `application/vnd.ipld.*` or
/// `application/vnd.ipfs.*` type is refused with 400.
const NEGOTIABLE_PREFIXES: [&str; 5] = [
    "application/vnd.ipld",
    "application/vnd.ipfs",
    "application/x-tar",
    "application/json",
    "application/cbor",
];

/// Picks the response format of a request.
pub fn negotiate<'r>(
    query: Option<&'r str>,
    headers: &'r HeaderMap,
) -> Result<Negotiated<'r>, HttpError> {
    // An unknown ?format= is ignored, as boxo does, leaving the decision to Accept.
    let from_query = query_param(query, "format").and_then(|f| Format::from_param(&f));
    let mut from_accept: Option<(Format, Params<'r>)> = None;
    'headers: for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for entry in value.split(',') {
            let entry = entry.trim();
            if !NEGOTIABLE_PREFIXES
                .iter()
                .any(|p| starts_with_ignore_case(entry, p))
            {
                continue;
            }
            let (media_type, params) = parse_media_type(entry)?;
            match Format::from_media_type(media_type) {
                Some(format) => from_accept = Some((format, params)),
                None if from_query.is_some() => {}
                None => {
                    return Err(HttpError::bad_request(format!(
                        "unsupported response format {media_type:?} in the Accept header"
                    )))
                }
            }
            break 'headers;
        }
    }
    Ok(match (from_query, from_accept) {
        // Accept's parameters count only when it names the same format (IPIP-523).
        (Some(format), Some((accepted, params))) if accepted == format => Negotiated {
            format,
            params,
            from_query: true,
        },
        (Some(format), _) => Negotiated {
            format,
            params: Params::new(),
            from_query: true,
        },
        (None, Some((format, params))) => Negotiated {
            format,
            params,
            from_query: false,
        },
        (None, None) => Negotiated {
            format: Format::Default,
            params: Params::new(),
            from_query: false,
        },
    })
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Splits `type/subtype; a=b; c="d"` (RFC 9110 §8.3.1). A malformed parameter is a 400, as
/// Go's `mime.ParseMediaType` refuses it.
fn parse_media_type(entry: &str) -> Result<(&str, Params<'_>), HttpError> {
    let mut parts = entry.split(';');
    let media_type = parts.next().unwrap_or("").trim();
    let mut params = Params::new();
    for part in parts {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((name, value)) = part.split_once('=') else {
            return Err(HttpError::bad_request(format!(
                "malformed media type parameter {part:?} in the Accept header"
            )));
        };
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(HttpError::bad_request(format!(
                "malformed media type parameter {part:?} in the Accept header"
            )));
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        };
        params.push((name, Cow::Borrowed(value)));
    }
    Ok((media_type, params))
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `Content-Location` for a response whose format the `Accept` header chose: the request path
/// with the query it had plus `format=<fmt>` and each Accept parameter as `<fmt>-<name>`
/// (unless the URL already sets it), keys sorted as Go's `url.Values.Encode` writes them.
pub fn content_location(
    path: &str,
    query: Option<&str>,
    negotiated: &Negotiated<'_>,
) -> Option<String> {
    if negotiated.format == Format::Default || negotiated.from_query {
        return None;
    }
    let format = negotiated.format.param();
    let mut pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = form_decode(k);
        if k == "format" {
            continue;
        }
        pairs.push((k, form_decode(v)));
    }
    pairs.push((Cow::Borrowed("format"), Cow::Borrowed(format)));
    for (name, value) in &negotiated.params {
        let key = format!("{format}-{name}");
        if !pairs.iter().any(|(k, _)| *k == key) {
            pairs.push((Cow::Owned(key), value.clone()));
        }
    }
    // Go sorts by key and keeps the order of values under one key.
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut location = String::with_capacity(path.len() + 64);
    location.push_str(path);
    location.push('?');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            location.push('&');
        }
        query_escape_into(k.as_bytes(), &mut location);
        location.push('=');
        query_escape_into(v.as_bytes(), &mut location);
    }
    Some(location)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn query_wins_over_accept() {
        let headers = accept("application/vnd.ipld.car");
        let n = negotiate(Some("format=raw"), &headers).unwrap();
        assert_eq!(n.format, Format::Raw);
        assert!(n.params.is_empty());
        assert!(n.from_query);
    }

    #[test]
    fn accept_params_count_when_formats_agree() {
        let headers = accept("application/vnd.ipld.car; order=dfs; dups=y");
        let n = negotiate(Some("format=car"), &headers).unwrap();
        assert_eq!(n.format, Format::Car);
        assert_eq!(n.param("order"), Some("dfs"));
        assert_eq!(n.param("dups"), Some("y"));
    }

    #[test]
    fn first_negotiable_accept_entry_decides() {
        let headers = accept("text/html, application/vnd.ipld.dag-json, application/vnd.ipld.raw");
        assert_eq!(negotiate(None, &headers).unwrap().format, Format::DagJson);
        let browser = accept("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
        assert_eq!(negotiate(None, &browser).unwrap().format, Format::Default);
        let none = HeaderMap::new();
        assert_eq!(negotiate(None, &none).unwrap().format, Format::Default);
        let record = accept("application/vnd.ipfs.ipns-record");
        assert_eq!(negotiate(None, &record).unwrap().format, Format::IpnsRecord);
        assert_eq!(
            negotiate(Some("format=ipns-record"), &none).unwrap().format,
            Format::IpnsRecord
        );
    }

    #[test]
    fn unknown_vendor_type_is_refused_unknown_param_ignored() {
        let headers = accept("application/vnd.ipld.foo");
        assert_eq!(negotiate(None, &headers).unwrap_err().status, 400);
        let none = HeaderMap::new();
        let n = negotiate(Some("format=nonsense"), &none).unwrap();
        assert_eq!(n.format, Format::Default);
    }

    #[test]
    fn etag_suffixes_follow_boxo() {
        assert_eq!(Format::Raw.etag_suffix(), "raw");
        assert_eq!(Format::DagJson.etag_suffix(), "dag-json");
        assert_eq!(Format::Tar.etag_suffix(), "x-tar");
        assert_eq!(Format::Json.etag_suffix(), "json");
    }

    #[test]
    fn content_location_only_for_accept_negotiation() {
        let headers = accept("application/vnd.ipld.car; order=dfs");
        let n = negotiate(Some("filename=a b"), &headers).unwrap();
        assert_eq!(
            content_location("/ipfs/bafy/x", Some("filename=a b"), &n).as_deref(),
            Some("/ipfs/bafy/x?car-order=dfs&filename=a+b&format=car")
        );
        let n = negotiate(Some("format=car"), &headers).unwrap();
        assert_eq!(content_location("/ipfs/bafy", Some("format=car"), &n), None);
        let none = HeaderMap::new();
        let n = negotiate(None, &none).unwrap();
        assert_eq!(content_location("/ipfs/bafy", None, &n), None);
    }

    #[test]
    fn malformed_accept_params_are_a_bad_request() {
        let headers = accept("application/vnd.ipld.car; order");
        assert_eq!(negotiate(None, &headers).unwrap_err().status, 400);
    }
}
