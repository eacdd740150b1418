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

use super::{compress, cors, page, Body, Response};
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

    /// Renders the error: plain text (the message and a newline) for API clients, or, when
    /// `html` (the client's Accept asks for text/html), the page [`HttpError::into_page`]
    /// renders without knowing the request.
    pub fn into_response(self, html: bool) -> Response {
        if html {
            return self.into_page(None);
        }
        let body = format!("{}\n", self.message);
        self.respond("text/plain; charset=utf-8", body)
    }

    /// The HTML page for browsers: what went wrong (status, a headline, the message), the
    /// path that was looked for and what to do next — the parent directory, the raw block and
    /// CAR forms of a content path, a retry on a timeout or overload. Everything that comes
    /// from the request or the error is escaped.
    pub fn into_page(self, looked: Option<&Looked<'_>>) -> Response {
        let body = page_for(&self, looked);
        self.respond("text/html; charset=utf-8", body)
    }

    fn respond(self, content_type: &'static str, body: String) -> Response {
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
        compress::mark(&mut response);
        response
    }
}

/// The request an error page answers, as the client sent it.
#[derive(Debug, Clone, Copy)]
pub struct Looked<'a> {
    /// The request path, percent-encoded as sent.
    pub path: &'a str,
    /// The query, without `?`.
    pub query: Option<&'a str>,
}

impl Looked<'_> {
    /// `/ipfs/<root>…` or `/ipns/<name>…`: content the raw and CAR forms exist for.
    fn is_content(&self) -> bool {
        let mut segments = self.path.split('/');
        segments.next() == Some("")
            && matches!(segments.next(), Some("ipfs" | "ipns"))
            && segments.next().is_some_and(|root| !root.is_empty())
    }

    /// The directory above a content path below its root (`/ipfs/<cid>/a/b` →
    /// `/ipfs/<cid>/a/`), ending in `/` so its listing is served without a redirect.
    fn parent(&self) -> Option<&str> {
        if !self.is_content() {
            return None;
        }
        let trimmed = self.path.trim_end_matches('/');
        let cut = trimmed.rfind('/')?;
        // `/ipfs/<cid>` has nothing above it worth a link.
        (trimmed[..cut].matches('/').count() >= 2).then(|| &trimmed[..=cut])
    }

    /// Whether the request already asked for this format.
    fn asked_for(&self, format: &str) -> bool {
        self.query.is_some_and(|q| {
            q.split('&')
                .any(|pair| pair.strip_prefix("format=") == Some(format))
        })
    }
}

/// A directory path as a link label: its last segment (`docs/`), or for a content root the
/// CID shortened (`bafy…xips4/`).
fn short_dir(path: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let trimmed = decoded.trim_end_matches('/');
    let name = trimmed.rsplit('/').next().unwrap_or(trimmed);
    if trimmed.matches('/').count() == 2 && name.len() > 12 && name.is_ascii() {
        format!("{}\u{2026}{}/", &name[..4], &name[name.len() - 5..])
    } else {
        format!("{name}/")
    }
}

/// A headline per status, in words a visitor reads.
fn headline(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "This request is not valid",
        403 => "This is not allowed here",
        404 => "Nothing was found at this path",
        405 => "This method is not allowed here",
        406 => "This content is not available in the format asked for",
        410 => "This content is blocked on this gateway",
        413 => "That is too large for this gateway",
        414 => "This address is too long",
        416 => "That range is not in the content",
        429 => "Too many requests right now",
        500 => "Something went wrong on this gateway",
        501 => "This gateway cannot serve this",
        502 => "The content could not be read",
        503 => "This gateway is busy",
        504 => "The content could not be fetched in time",
        507 => "This gateway is out of storage",
        _ => status.canonical_reason().unwrap_or("The request failed"),
    }
}

/// What to do next, per status.
fn hint(status: StatusCode, retry_after: Option<&str>) -> Option<String> {
    let text = match status.as_u16() {
        404 => "Check the path for typos; the directory above lists what is there. If the content \
                is only elsewhere on the network, this gateway may not be fetching it."
            .to_owned(),
        410 => "The operator of this gateway has blocked this content. Nothing can be done about \
                it here."
            .to_owned(),
        406 => "Ask for one of the formats below instead.".to_owned(),
        504 => "The blocks of this content were not found or did not arrive in time. Blocks that \
                did arrive are kept, so trying again in a little while often succeeds."
            .to_owned(),
        429 | 503 => match retry_after {
            Some(seconds) => format!("Try again in {seconds} seconds."),
            None => "Try again in a little while.".to_owned(),
        },
        502 => "The content's blocks are malformed or of a kind this gateway cannot read; its raw \
                blocks may still be downloaded."
            .to_owned(),
        _ => return None,
    };
    Some(text)
}

/// The error page's HTML.
fn page_for(error: &HttpError, looked: Option<&Looked<'_>>) -> String {
    use std::fmt::Write;
    let status = error.status;
    let code = status.as_u16();
    let headline = headline(status);
    let mut out = String::with_capacity(4096 + error.message.len());
    page::start(&mut out, &format!("{code} {headline}"));
    let class = if status.is_server_error() { " s5" } else { "" };
    let _ = writeln!(
        out,
        "<h1><span class=\"status{class}\">{code}</span>{headline}</h1>"
    );
    if let Some(looked) = looked {
        let decoded = percent_encoding::percent_decode_str(looked.path).decode_utf8_lossy();
        let _ = writeln!(
            out,
            "<h2>Path</h2>\n<code class=\"path\" translate=\"no\">{}</code>",
            escape_html(&decoded)
        );
    }
    let _ = writeln!(
        out,
        "<h2>What went wrong</h2>\n<pre>{}</pre>",
        escape_html(&error.message)
    );
    let retry_after = error
        .headers
        .iter()
        .find(|(name, _)| name == header::RETRY_AFTER)
        .and_then(|(_, value)| value.to_str().ok());
    let hint = hint(status, retry_after);
    let mut actions = String::new();
    if matches!(code, 429 | 503 | 504) {
        // The same URL, query included.
        actions.push_str("<li><a class=\"primary\" href=\"\">Try again</a></li>\n");
    }
    let mut forms = String::new();
    if let Some(looked) = looked {
        if let Some(parent) = looked.parent() {
            let class = if actions.is_empty() {
                " class=\"primary\""
            } else {
                ""
            };
            let _ = writeln!(
                actions,
                "<li><a{class} href=\"{}\">Up to {}</a></li>",
                escape_html(parent),
                escape_html(&short_dir(parent))
            );
        }
        let offers_forms = looked.is_content() && matches!(code, 404 | 406 | 500..=504);
        for (format, label) in [("raw", "Raw block"), ("car", "CAR")] {
            if offers_forms && !looked.asked_for(format) {
                let _ = writeln!(
                    forms,
                    "<li><a href=\"{}?format={format}\" rel=\"nofollow\">{label} \
                     <span class=\"muted\">?format={format}</span></a></li>",
                    escape_html(looked.path)
                );
            }
        }
    }
    if hint.is_some() || !actions.is_empty() || !forms.is_empty() {
        out.push_str("<h2>What you can do</h2>\n");
        if let Some(hint) = hint {
            let _ = writeln!(out, "<p class=\"hint\">{}</p>", escape_html(&hint));
        }
        if !actions.is_empty() {
            let _ = write!(out, "<ul class=\"actions\">\n{actions}</ul>\n");
        }
        if !forms.is_empty() {
            let _ = write!(
                out,
                "<p class=\"muted\">This path in a verifiable form, for IPFS tools:</p>\n\
                 <ul class=\"actions\">\n{forms}</ul>\n"
            );
        }
    }
    page::end(&mut out);
    out
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
            E::Io { source, .. } | E::Keystore(KeystoreError::Io { source, .. })
                if is_storage_full(source) =>
            {
                StatusCode::INSUFFICIENT_STORAGE
            }
            E::Keystore(_) | E::Io { .. } | E::Worker(_) | E::Content(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        if matches!(e, E::Keystore(KeystoreError::Io { .. }) | E::Io { .. }) {
            // Their text names files of the data directory.
            let message = match status {
                StatusCode::INSUFFICIENT_STORAGE => STORAGE_FULL,
                _ => STORAGE_FAILED,
            };
            return HttpError::caused_by_with(status, message.to_owned(), e);
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

    fn page_text(error: HttpError, looked: Option<&Looked<'_>>) -> (Response, String) {
        let response = error.into_page(looked);
        let body = response.body().buffer().cloned().unwrap_or_default();
        (response, String::from_utf8(body.to_vec()).unwrap())
    }

    #[test]
    fn plain_and_html_bodies() {
        let response = HttpError::not_found("no link named \"x\"").into_response(false);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            response.body().buffer().unwrap().as_ref(),
            b"no link named \"x\"\n"
        );
        let response = HttpError::not_found("gone").into_response(true);
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert!(response.extensions().get::<compress::Generated>().is_some());
    }

    #[test]
    fn error_pages_escape_what_the_request_and_error_hold() {
        let looked = Looked {
            path: "/ipfs/bafkqaaa/%3Cscript%3Ealert(1)%3C/script%3E/x%22y",
            query: Some("a=<b>"),
        };
        let (_, text) = page_text(
            HttpError::not_found("no link named \"<script>alert(1)</script>\""),
            Some(&looked),
        );
        assert!(!text.contains("<script>"), "{text}");
        assert!(
            text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{text}"
        );
        assert!(text.contains("x&quot;y"), "{text}");
        // Links keep the path as sent (percent-encoded), escaped for the attribute.
        assert!(
            text.contains(r#"href="/ipfs/bafkqaaa/%3Cscript%3Ealert(1)%3C/script%3E/""#),
            "{text}"
        );
    }

    #[test]
    fn a_404_page_names_the_path_and_links_around_it() {
        let looked = Looked {
            path: "/ipfs/bafyroot/docs/missing.txt",
            query: None,
        };
        let (response, text) = page_text(
            HttpError::not_found("no link named missing.txt"),
            Some(&looked),
        );
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(
            text.contains("<title>404 Nothing was found at this path</title>"),
            "{text}"
        );
        assert!(
            text.contains("/ipfs/bafyroot/docs/missing.txt</code>"),
            "{text}"
        );
        assert!(text.contains("no link named missing.txt"), "{text}");
        assert!(
            text.contains(r#"<a class="primary" href="/ipfs/bafyroot/docs/">Up to docs/</a>"#),
            "{text}"
        );
        assert!(
            text.contains(r#"href="/ipfs/bafyroot/docs/missing.txt?format=raw""#),
            "{text}"
        );
        assert!(
            text.contains(r#"href="/ipfs/bafyroot/docs/missing.txt?format=car""#),
            "{text}"
        );
        assert!(!text.contains("Try again"), "{text}");
        // A root has no parent link; a request for a CAR is not offered the CAR again.
        let looked = Looked {
            path: "/ipfs/bafyroot",
            query: Some("format=car"),
        };
        let (_, text) = page_text(HttpError::not_found("x"), Some(&looked));
        assert!(!text.contains("Up to"), "{text}");
        assert!(!text.contains("?format=car\""), "{text}");
        assert!(text.contains("?format=raw\""), "{text}");
        // No content path, no content links.
        let looked = Looked {
            path: "/nothing-here",
            query: None,
        };
        let (_, text) = page_text(HttpError::not_found("no such route"), Some(&looked));
        assert!(!text.contains("?format="), "{text}");
    }

    #[test]
    fn timeouts_and_overload_say_to_retry() {
        let looked = Looked {
            path: "/ipfs/bafyroot/a",
            query: None,
        };
        let (response, text) = page_text(
            HttpError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "Unable to retrieve content within timeout period (1 s)",
            ),
            Some(&looked),
        );
        assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
        assert!(
            text.contains(r#"<a class="primary" href="">Try again</a>"#),
            "{text}"
        );
        assert!(text.contains("trying again in a little while"), "{text}");
        assert!(text.contains("?format=car"), "{text}");
        let (response, text) = page_text(
            HttpError::new(StatusCode::TOO_MANY_REQUESTS, "busy")
                .with_header(header::RETRY_AFTER, HeaderValue::from_static("7")),
            None,
        );
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
        assert!(text.contains("Try again in 7 seconds."), "{text}");
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
        // The record store and the key store: the same answers.
        let names = |source: std::io::Error| -> HttpError {
            NameError::Io {
                what: "write",
                path: "/srv/cairn/data/ipns/k51.rec".into(),
                source,
            }
            .into()
        };
        let keys = |source: std::io::Error| -> HttpError {
            NameError::Keystore(KeystoreError::Io {
                path: "/srv/cairn/data/keys/self".into(),
                source,
            })
            .into()
        };
        for failure in [names, keys] {
            let full = failure(std::io::Error::from_raw_os_error(libc::ENOSPC));
            assert_eq!(full.status, StatusCode::INSUFFICIENT_STORAGE);
            assert_eq!(full.message, STORAGE_FULL);
            let other = failure(std::io::Error::from_raw_os_error(libc::EIO));
            assert_eq!(other.status, StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(other.message, STORAGE_FAILED);
        }
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
