//! Building a response's computed header values (paths, CIDs, Etags, lengths) in one buffer:
//! every value is written into a single `BytesMut` and handed to the `HeaderMap` as a
//! zero-copy slice of it, so a response's dynamic headers cost one allocation in all instead
//! of one or two each.

use std::fmt::{self, Write};
use std::ops::Range;

use bytes::BytesMut;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use smallvec::SmallVec;

/// Computed header values waiting to be placed in a `HeaderMap`.
pub struct HeaderText {
    buf: BytesMut,
    pending: SmallVec<[(HeaderName, Range<usize>); 8]>,
}

impl HeaderText {
    pub fn with_capacity(bytes: usize) -> Self {
        HeaderText {
            buf: BytesMut::with_capacity(bytes),
            pending: SmallVec::new(),
        }
    }

    /// Sets `name` to `value`.
    pub fn set(&mut self, name: HeaderName, value: &str) {
        let start = self.buf.len();
        self.buf.extend_from_slice(value.as_bytes());
        self.pending.push((name, start..self.buf.len()));
    }

    /// Sets `name` to formatted text (`format_args!`).
    pub fn set_fmt(&mut self, name: HeaderName, args: fmt::Arguments<'_>) {
        let start = self.buf.len();
        let _ = self.buf.write_fmt(args);
        self.pending.push((name, start..self.buf.len()));
    }

    /// Sets `name` to a decimal number.
    pub fn set_u64(&mut self, name: HeaderName, n: u64) {
        self.set_fmt(name, format_args!("{n}"));
    }

    /// Moves every value into `headers`. A value that is not valid in a header (a control
    /// character in a path, say) is left out rather than sent broken.
    pub fn apply(self, headers: &mut HeaderMap) {
        let buf = self.buf.freeze();
        for (name, range) in self.pending {
            match HeaderValue::from_maybe_shared(buf.slice(range)) {
                Ok(value) => {
                    headers.insert(name, value);
                }
                Err(_) => tracing::debug!(header = %name, "value not valid in a header; left out"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header;

    #[test]
    fn values_land_in_the_map() {
        let mut text = HeaderText::with_capacity(64);
        text.set(header::ETAG, "\"abc\"");
        text.set_u64(header::CONTENT_LENGTH, 12345);
        text.set_fmt(header::LOCATION, format_args!("/ipfs/{}/", "x"));
        text.set(header::HeaderName::from_static("x-bad"), "a\nb");
        let mut map = HeaderMap::new();
        text.apply(&mut map);
        assert_eq!(map[header::ETAG], "\"abc\"");
        assert_eq!(map[header::CONTENT_LENGTH], "12345");
        assert_eq!(map[header::LOCATION], "/ipfs/x/");
        assert!(!map.contains_key("x-bad"));
    }
}
