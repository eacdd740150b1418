//! Building a response's computed header values (paths, CIDs, Etags, lengths) in one buffer:
//! every value is written into a single buffer and handed to the `HeaderMap` as a zero-copy
//! slice of it, so a response's dynamic headers cost one allocation in all instead of one or
//! two each. The buffer starts inline ([`INLINE`] bytes, enough for a file's headers a few
//! directories deep) and becomes the `Bytes` owner as it is: a `Vec` would cost a second
//! allocation for the reference count its slices share.

use std::fmt::{self, Write};
use std::ops::Range;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use smallvec::SmallVec;

/// Bytes of header values held without a heap allocation of their own.
pub const INLINE: usize = 384;

/// Computed header values waiting to be placed in a `HeaderMap`.
pub struct HeaderText {
    buf: SmallVec<[u8; INLINE]>,
    pending: SmallVec<[(HeaderName, Range<usize>); 8]>,
}

/// `fmt::Write` into the buffer.
struct Sink<'a>(&'a mut SmallVec<[u8; INLINE]>);

impl fmt::Write for Sink<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.0.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

impl Default for HeaderText {
    fn default() -> Self {
        Self::new()
    }
}

impl HeaderText {
    pub fn new() -> Self {
        HeaderText {
            buf: SmallVec::new(),
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
        let _ = Sink(&mut self.buf).write_fmt(args);
        self.pending.push((name, start..self.buf.len()));
    }

    /// Sets `name` to a decimal number.
    pub fn set_u64(&mut self, name: HeaderName, n: u64) {
        self.set_fmt(name, format_args!("{n}"));
    }

    /// Moves every value into `headers`. A value that is not valid in a header (a control
    /// character in a path, say) is left out rather than sent broken.
    pub fn apply(self, headers: &mut HeaderMap) {
        if self.pending.is_empty() {
            return;
        }
        let buf = Bytes::from_owner(self.buf);
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
        let mut text = HeaderText::new();
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

    #[test]
    fn values_past_the_inline_room_land_too() {
        let long = "x".repeat(INLINE * 3);
        let mut text = HeaderText::new();
        text.set(header::ETAG, "\"abc\"");
        text.set(header::LOCATION, &long);
        let mut map = HeaderMap::new();
        text.apply(&mut map);
        assert_eq!(map[header::ETAG], "\"abc\"");
        assert_eq!(map[header::LOCATION], long.as_str());
    }
}
