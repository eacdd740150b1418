//! Go's `net/url` escaping where cairn must write exactly what Kubo and ipfs-cluster write
//! (clients and the conformance suite compare the text): `url.QueryEscape`.

/// Go's `url.QueryEscape`: letters, digits and `-_.~` stay, a space becomes `+`, every other
/// byte `%XX` (upper-case hex).
pub fn query_escape_into(bytes: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0x0f)]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_go_does() {
        // url.QueryEscape("a b+c/d~é&=") in Go 1.26.
        let mut out = String::new();
        query_escape_into("a b+c/d~é&=".as_bytes(), &mut out);
        assert_eq!(out, "a+b%2Bc%2Fd~%C3%A9%26%3D");
    }
}
