//! The one place where errors become HTTP statuses. Handlers return [`HttpError`]; lower-layer
//! errors convert into it here by kind, never by message text, and keep their source chain
//! (logged for server errors). Every API renders the same [`HttpError`] its own way — the
//! gateway as text or HTML ([`HttpError::into_response`]), the Cluster API as Go-style JSON —
//! so one failure has one status everywhere.
//!
//! A disk that fails answers without naming a local path (the log has the whole chain): a full
//! disk or quota is 507 Insufficient Storage (RFC 4918 §11.5), any other I/O failure a plain
//! 500. Reads do not depend on free space, so they keep working; writes work again as soon as
//! space returns (nothing is latched).

use http::{header, HeaderValue, StatusCode};

use super::{cors, Body, Response};
use crate::ipld::ErrorKind as IpldKind;
use crate::services::keystore::KeystoreError;
use crate::services::names::NameError;
use crate::{services, store};

/// An error response: a status and a message for the client.
#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub message: String,
    /// Extra headers (e.g. `Allow` for 405, `Content-Range` for 416, `Retry-After` for 429).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
    /// The lower-layer error this came from, kept for the log.
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl HttpError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        HttpError {
            status,
            message: message.into(),
            headers: Vec::new(),
            source: None,
        }
    }

    /// An error of a lower layer, with the status its kind maps to; the error itself is
    /// kept as the source, and logged with its whole chain when the fault is ours (5xx).
    fn caused_by(
        status: StatusCode,
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::caused_by_with(status, error.to_string(), error)
    }

    /// [`HttpError::caused_by`] with a message of the caller's (one that names no local path).
    fn caused_by_with(
        status: StatusCode,
        message: String,
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        if status.is_server_error() {
            tracing::warn!(error = %Chain(&error), %status, "request failed");
        }
        HttpError {
            status,
            message,
            headers: Vec::new(),
            source: Some(Box::new(error)),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Renders the error. `html` is whether the client's Accept prefers text/html.
    pub fn into_response(self, html: bool) -> Response {
        let (content_type, body) = if html {
            let text = escape_html(&self.message);
            let status = self.status;
            (
                "text/html; charset=utf-8",
                format!(
                    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{status}</title></head>\
                     <body><h1>{status}</h1><p>{text}</p></body></html>\n"
                ),
            )
        } else {
            ("text/plain; charset=utf-8", format!("{}\n", self.message))
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        cors::apply(headers);
        response
    }
}

/// An error and its sources, `: `-joined. A source whose text its wrapper already shows (a
/// wrapper that displays as its source) is not repeated.
struct Chain<'e>(&'e (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.0.to_string();
        f.write_str(&shown)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !shown.contains(&text) {
                write!(f, ": {text}")?;
            }
            shown = text;
            source = cause.source();
        }
        Ok(())
    }
}

/// Whether an I/O failure means the disk (or the user's quota) is full.
pub fn is_storage_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull
        || matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

/// What a client is told of a disk failure: never the local path the store's error names.
const STORAGE_FULL: &str =
    "not enough storage space on this node to store that (reads keep working; retry once space \
     is freed)";
const STORAGE_FAILED: &str = "the node's storage failed (the server log has the details)";

/// The status a services-layer failure answers with, on every API.
pub fn status_of(e: &services::Error) -> StatusCode {
    use services::Error as E;
    match e {
        E::Store(store::Error::Io { source, .. }) if is_storage_full(source) => {
            StatusCode::INSUFFICIENT_STORAGE
        }
        // GC waited its deadline for uploads in progress.
        E::Store(store::Error::Busy { .. }) => StatusCode::SERVICE_UNAVAILABLE,
        E::NotFound(_) | E::BlockMissing(_) => StatusCode::NOT_FOUND,
        E::InvalidInput(_) => StatusCode::BAD_REQUEST,
        E::Ipld(inner) => match inner.kind() {
            // A CID the client wrote.
            IpldKind::Cid => StatusCode::BAD_REQUEST,
            // Stored data cairn cannot serve: the content, not the client, is at fault.
            IpldKind::Unsupported => StatusCode::NOT_IMPLEMENTED,
            _ => StatusCode::BAD_GATEWAY,
        },
        E::Store(store::Error::Io { .. } | store::Error::Worker(_)) | E::Internal(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        // Every source asked (remote gateways, peers) failed or nobody had the block: the
        // upstream, not cairn or the client, is at fault; online, never a 404 (absence on the
        // network cannot be proven).
        E::Store(store::Error::Unavailable { .. }) => StatusCode::GATEWAY_TIMEOUT,
        // The operator's denylist blocks it (IPIP-383; Kubo, Rainbow and boxo answer 410).
        E::Store(store::Error::Blocked(_)) => StatusCode::GONE,
        // Bytes a client offered that do not hash to their CID, a block over the limit.
        E::Store(_) => StatusCode::BAD_REQUEST,
    }
}

impl From<services::Error> for HttpError {
    fn from(e: services::Error) -> Self {
        let status = status_of(&e);
        match &e {
            services::Error::Store(store::Error::Io { .. }) => {
                let message = match status {
                    StatusCode::INSUFFICIENT_STORAGE => STORAGE_FULL,
                    _ => STORAGE_FAILED,
                };
                HttpError::caused_by_with(status, message.to_owned(), e)
            }
            _ => HttpError::caused_by(status, e),
        }
    }
}

impl From<store::Error> for HttpError {
    fn from(e: store::Error) -> Self {
        services::Error::from(e).into()
    }
}

impl From<services::pubsub::PubsubError> for HttpError {
    fn from(e: services::pubsub::PubsubError) -> Self {
        use services::pubsub::PubsubError as E;
        let status = match &e {
            E::EmptyTopic => StatusCode::BAD_REQUEST,
            E::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            E::Busy => {
                return HttpError::caused_by(StatusCode::TOO_MANY_REQUESTS, e)
                    .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
            }
            E::Network(_) => StatusCode::BAD_GATEWAY,
            E::Closed => StatusCode::SERVICE_UNAVAILABLE,
        };
        HttpError::caused_by(status, e)
    }
}

impl From<NameError> for HttpError {
    fn from(e: NameError) -> Self {
        use NameError as E;
        let e = match e {
            // Reading content or editing a tree: the same statuses as /ipfs.
            E::Content(inner) => return inner.into(),
            other => other,
        };
        let status = match &e {
            E::InvalidName(_) | E::InvalidValue(_) | E::InvalidRecord(_) => StatusCode::BAD_REQUEST,
            E::Keystore(KeystoreError::InvalidName(_) | KeystoreError::Reserved) => {
                StatusCode::BAD_REQUEST
            }
            E::NotLocal(_) => StatusCode::FORBIDDEN,
            E::UnknownKey(_) | E::NoDnsLink(_) => StatusCode::NOT_FOUND,
            // The name is fine; no valid record or answer for it could be had. Kubo answers
            // 5xx here too, and the conformance suite expects it for refused records.
            E::NoRecord(_) | E::DnsFailure(_) => StatusCode::BAD_GATEWAY,
            E::DnsTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            E::Conflict(_) => StatusCode::CONFLICT,
            E::TooDeep(_) => StatusCode::LOOP_DETECTED,
            E::Keystore(_) | E::Io(_) | E::Content(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if matches!(e, E::Keystore(KeystoreError::Io { .. }) | E::Io(_)) {
            // Their text names files of the data directory.
            return HttpError::caused_by_with(status, STORAGE_FAILED.to_owned(), e);
        }
        HttpError::caused_by(status, e)
    }
}

impl From<crate::ipld::Error> for HttpError {
    fn from(e: crate::ipld::Error) -> Self {
        services::Error::from(e).into()
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Leaf;
    impl std::fmt::Display for Leaf {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("disk on fire")
        }
    }
    impl std::error::Error for Leaf {}

    /// Displays as its source, or as its own context.
    #[derive(Debug)]
    struct Wrapper(Leaf, Option<&'static str>);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self.1 {
                Some(context) => f.write_str(context),
                None => write!(f, "{}", self.0),
            }
        }
    }
    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn the_chain_shows_each_cause_once() {
        assert_eq!(Chain(&Wrapper(Leaf, None)).to_string(), "disk on fire");
        assert_eq!(
            Chain(&Wrapper(Leaf, Some("reading block x"))).to_string(),
            "reading block x: disk on fire"
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape_html(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn name_errors_map_to_statuses() {
        use crate::services::names::NameError as E;
        let cases = [
            (E::InvalidName("x".into()), StatusCode::BAD_REQUEST),
            (E::InvalidValue("x".into()), StatusCode::BAD_REQUEST),
            (E::UnknownKey("x".into()), StatusCode::NOT_FOUND),
            (E::NotLocal("x".into()), StatusCode::FORBIDDEN),
            (E::NoRecord("x".into()), StatusCode::BAD_GATEWAY),
            (E::NoDnsLink("x".into()), StatusCode::NOT_FOUND),
            (E::DnsTimeout("x".into()), StatusCode::GATEWAY_TIMEOUT),
            (E::TooDeep("x".into()), StatusCode::LOOP_DETECTED),
            (E::Conflict("x".into()), StatusCode::CONFLICT),
            (
                E::Keystore(KeystoreError::Reserved),
                StatusCode::BAD_REQUEST,
            ),
            (
                E::Content(services::Error::NotFound("x".into())),
                StatusCode::NOT_FOUND,
            ),
        ];
        for (error, status) in cases {
            let text = error.to_string();
            assert_eq!(HttpError::from(error).status, status, "{text}");
        }
    }

    #[test]
    fn a_full_disk_is_507_and_no_disk_error_names_a_path() {
        let failure = |source: std::io::Error| -> HttpError {
            store::Error::Io {
                op: "write block",
                path: "/srv/cairn/data/tmp/12-3.tmp".into(),
                source,
            }
            .into()
        };
        for full in [
            std::io::Error::from_raw_os_error(libc::ENOSPC),
            std::io::Error::from_raw_os_error(libc::EDQUOT),
        ] {
            let e = failure(full);
            assert_eq!(e.status, StatusCode::INSUFFICIENT_STORAGE);
            assert!(!e.message.contains("/srv"), "{}", e.message);
        }
        let other = failure(std::io::Error::from_raw_os_error(libc::EIO));
        assert_eq!(other.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!other.message.contains("/srv"), "{}", other.message);
        // Through the importer's sink, the kind survives.
        let sink: services::Error = crate::services::add::AddError::Sink(store::Error::Io {
            op: "write block",
            path: "/srv/x".into(),
            source: std::io::Error::from_raw_os_error(libc::ENOSPC),
        })
        .into();
        assert_eq!(status_of(&sink), StatusCode::INSUFFICIENT_STORAGE);
    }

    #[test]
    fn kinds_map_to_statuses() {
        let nf: HttpError = services::Error::NotFound("x".into()).into();
        assert_eq!(nf.status, StatusCode::NOT_FOUND);
        let bad: HttpError = crate::ipld::Error::cid("x").into();
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        let corrupt: HttpError = crate::ipld::Error::dag_pb("x").into();
        assert_eq!(corrupt.status, StatusCode::BAD_GATEWAY);
        let unavailable: HttpError = store::Error::Unavailable {
            cid: "bafkqabtimvwgy3yk".parse().unwrap(),
            reason: "every backend timed out".into(),
        }
        .into();
        assert_eq!(unavailable.status, StatusCode::GATEWAY_TIMEOUT);
        assert!(
            unavailable.message.contains("every backend timed out"),
            "{}",
            unavailable.message
        );
        let blocked: HttpError = store::Error::from(store::Blocked {
            what: "/ipfs/bafkqabtimvwgy3yk".into(),
            list: "badbits".into(),
            line: 7,
        })
        .into();
        assert_eq!(blocked.status, StatusCode::GONE);
        assert!(
            blocked.message.contains("is blocked"),
            "{}",
            blocked.message
        );
        // Through a name's content too.
        let blocked: HttpError = NameError::Content(services::Error::Store(
            store::Blocked {
                what: "/ipns/example.org".into(),
                list: "l".into(),
                line: 1,
            }
            .into(),
        ))
        .into();
        assert_eq!(blocked.status, StatusCode::GONE);
    }
}
