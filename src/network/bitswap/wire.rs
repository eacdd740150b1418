//! Messages on a stream: each is its body's length as an unsigned varint (the multiformats
//! spec: minimal, at most 9 bytes), then the body ("Bitswap 1.0.0: Protocol Format"; the same
//! for every version). [`MessageReader`] yields messages one by one and refuses a length above
//! the limit before reading or allocating anything of the body; [`write_message`] writes one.

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{Error, Limits, Message, Protocol, MAX_MESSAGE_SIZE};
use crate::ipld::varint;

/// The body buffer starts at most this large, so a peer announcing 4 MiB and sending nothing
/// costs little; once that much has arrived the rest is allocated at once, at its exact size.
/// (Growing by doubling left a 256 KiB block in a 512 KiB buffer, and blocks are slices of
/// their message: the block cache then held twice its budget.)
const INITIAL_BODY_CAPACITY: usize = 64 << 10;

/// Reads length-prefixed messages from a stream.
pub struct MessageReader<R> {
    reader: R,
    limits: Limits,
}

impl<R: AsyncRead + Unpin> MessageReader<R> {
    pub fn new(reader: R, limits: Limits) -> Self {
        MessageReader { reader, limits }
    }

    /// The next message; `None` when the stream ends cleanly between messages. After an error
    /// the stream is out of step and should be closed.
    pub async fn next(&mut self) -> Result<Option<Message>, Error> {
        match self.next_body().await? {
            Some(body) => Message::decode(body, &self.limits).map(Some),
            None => Ok(None),
        }
    }

    /// The next message body, undecoded (bounded like [`MessageReader::next`]).
    pub async fn next_body(&mut self) -> Result<Option<Bytes>, Error> {
        let Some(len) = self.length_prefix().await? else {
            return Ok(None);
        };
        if len > self.limits.max_message_size as u64 {
            return Err(Error::MessageTooLarge {
                len,
                max: self.limits.max_message_size,
            });
        }
        // `len` is at most the limit, so it fits a usize.
        let len = len as usize;
        let mut body = Vec::with_capacity(len.min(INITIAL_BODY_CAPACITY));
        let mut body_reader = (&mut self.reader).take(len as u64);
        while body.len() < len {
            if body.len() == body.capacity() {
                body.reserve_exact(len - body.len());
            }
            // Into the spare capacity, never past it (the loop reserves before it is full)
            // nor past the message (`take`): no zero-filling, no growth by doubling.
            if body_reader.read_buf(&mut body).await? == 0 {
                return Err(Error::Truncated);
            }
        }
        Ok(Some(Bytes::from(body)))
    }

    /// The stream, to close or reuse.
    pub fn into_inner(self) -> R {
        self.reader
    }

    async fn length_prefix(&mut self) -> Result<Option<u64>, Error> {
        let mut prefix = [0u8; varint::MAX_LEN];
        for n in 0..prefix.len() {
            let byte = match self.reader.read_u8().await {
                Ok(byte) => byte,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return if n == 0 {
                        Ok(None)
                    } else {
                        Err(Error::Truncated)
                    };
                }
                Err(e) => return Err(e.into()),
            };
            prefix[n] = byte;
            if byte & 0x80 == 0 {
                let (len, _) = varint::decode_minimal(prefix[..=n].iter().copied())
                    .map_err(|_| Error::BadLengthPrefix)?;
                return Ok(Some(len));
            }
        }
        Err(Error::BadLengthPrefix)
    }
}

/// Writes `message` encoded for `protocol`, length first, and flushes. A message that would
/// encode to more than [`MAX_MESSAGE_SIZE`] is refused (nothing is written).
pub async fn write_message<W: AsyncWrite + Unpin>(
    writer: &mut W,
    message: &Message,
    protocol: Protocol,
) -> Result<(), Error> {
    let len = message.encoded_len(protocol);
    if len > MAX_MESSAGE_SIZE {
        return Err(Error::OutgoingTooLarge {
            len,
            max: MAX_MESSAGE_SIZE,
        });
    }
    let mut frame = Vec::with_capacity(varint::len(len as u64) + len);
    varint::put(&mut frame, len as u64);
    message.encode_into(&mut frame, protocol);
    debug_assert_eq!(frame.len(), varint::len(len as u64) + len);
    writer.write_all(&frame).await?;
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::bitswap::{Entry, Wantlist};
    use multihash_codetable::{Code, MultihashDigest};

    fn cid(n: u32) -> cid::Cid {
        cid::Cid::new_v1(0x55, Code::Sha2_256.digest(&n.to_be_bytes()))
    }

    fn wants(n: u32) -> Message {
        Message {
            wantlist: Some(Wantlist {
                entries: (0..n).map(|i| Entry::want_have(cid(i), 1, true)).collect(),
                full: false,
            }),
            ..Message::default()
        }
    }

    #[tokio::test]
    async fn messages_come_back_one_by_one_then_none() {
        let (mut a, b) = tokio::io::duplex(1 << 16);
        let sent = [wants(1), Message::default(), wants(300)];
        for message in &sent {
            write_message(&mut a, message, Protocol::V120)
                .await
                .unwrap();
        }
        drop(a);
        let mut reader = MessageReader::new(b, Limits::default());
        for message in &sent {
            assert_eq!(reader.next().await.unwrap().as_ref(), Some(message));
        }
        assert!(reader.next().await.unwrap().is_none());
        assert!(reader.next().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_oversized_length_is_refused_before_the_body_arrives() {
        let (mut a, b) = tokio::io::duplex(64);
        let mut prefix = Vec::new();
        varint::put(&mut prefix, (MAX_MESSAGE_SIZE + 1) as u64);
        a.write_all(&prefix).await.unwrap();
        // `a` stays open and sends no body: the reader must not wait for one.
        let mut reader = MessageReader::new(b, Limits::default());
        let e = tokio::time::timeout(std::time::Duration::from_secs(5), reader.next())
            .await
            .expect("no waiting for the body")
            .unwrap_err();
        assert!(
            matches!(e, Error::MessageTooLarge { len, max } if len == MAX_MESSAGE_SIZE as u64 + 1 && max == MAX_MESSAGE_SIZE),
            "{e}"
        );
        // A smaller limit is the one enforced.
        let (mut a, b) = tokio::io::duplex(64);
        a.write_all(&[0x81, 0x01]).await.unwrap(); // 129
        let limits = Limits {
            max_message_size: 128,
            ..Limits::default()
        };
        let e = MessageReader::new(b, limits).next().await.unwrap_err();
        assert!(
            matches!(e, Error::MessageTooLarge { len: 129, max: 128 }),
            "{e}"
        );
        drop(a);
    }

    #[tokio::test]
    async fn the_largest_allowed_message_is_read() {
        let body = {
            // One legacy block filling the message exactly.
            let data_len = MAX_MESSAGE_SIZE - 1 - varint::len(MAX_MESSAGE_SIZE as u64);
            let message = Message {
                legacy_blocks: vec![Bytes::from(vec![7u8; data_len])],
                ..Message::default()
            };
            assert_eq!(message.encoded_len(Protocol::V120), MAX_MESSAGE_SIZE);
            message
        };
        let (mut a, b) = tokio::io::duplex(1 << 16);
        let writer = tokio::spawn(async move {
            write_message(&mut a, &body, Protocol::V120).await.unwrap();
            body
        });
        let mut reader = MessageReader::new(b, Limits::default());
        let got = reader.next().await.unwrap().unwrap();
        assert_eq!(got, writer.await.unwrap());
    }

    #[tokio::test]
    async fn a_body_is_held_in_a_buffer_of_its_exact_size() {
        // A 256 KiB block and its message's few bytes more: past the initial capacity.
        let message = Message {
            legacy_blocks: vec![Bytes::from(vec![3u8; 256 << 10])],
            ..Message::default()
        };
        let len = message.encoded_len(Protocol::V120);
        let (mut a, b) = tokio::io::duplex(1 << 12);
        tokio::spawn(async move { write_message(&mut a, &message, Protocol::V120).await });
        let mut reader = MessageReader::new(b, Limits::default());
        let body = reader.next_body().await.unwrap().unwrap();
        assert_eq!(body.len(), len);
        // Blocks are slices of this buffer: none of it may be slack.
        assert_eq!(body.try_into_mut().unwrap().capacity(), len);
    }

    #[tokio::test]
    async fn truncated_streams_and_bad_prefixes_are_errors() {
        async fn read(bytes: &[u8]) -> Result<Option<Message>, Error> {
            MessageReader::new(bytes, Limits::default()).next().await
        }
        assert!(read(&[]).await.unwrap().is_none());
        // EOF inside the prefix, inside the body.
        assert!(matches!(read(&[0x80]).await, Err(Error::Truncated)));
        assert!(matches!(read(&[0x05, 0x0a]).await, Err(Error::Truncated)));
        // Non-minimal (the unsigned-varint spec forbids it) and over-long prefixes.
        assert!(matches!(
            read(&[0x81, 0x00]).await,
            Err(Error::BadLengthPrefix)
        ));
        assert!(matches!(
            read(&[0xff; 11]).await,
            Err(Error::BadLengthPrefix)
        ));
        // A well-framed body that is not a message.
        assert!(matches!(
            read(&[0x02, 0x0a, 0x05]).await,
            Err(Error::Malformed { .. })
        ));
        // A zero-length message is the empty message.
        assert_eq!(read(&[0x00]).await.unwrap(), Some(Message::default()));
    }

    #[tokio::test]
    async fn oversized_outgoing_messages_are_not_written() {
        let message = Message {
            legacy_blocks: vec![Bytes::from(vec![0u8; MAX_MESSAGE_SIZE])],
            ..Message::default()
        };
        let mut out = Vec::new();
        let e = write_message(&mut out, &message, Protocol::V120)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::OutgoingTooLarge { .. }), "{e}");
        assert!(out.is_empty());
    }
}
