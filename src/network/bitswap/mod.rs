//! Bitswap, the IPFS block exchange protocol (<https://specs.ipfs.tech/bitswap-protocol/>),
//! without a transport: [`message`] is the protobuf message (encoded and decoded by hand,
//! bounded, blocks verified against their CIDs by construction), [`wire`] frames messages on
//! any tokio byte stream, [`server`] answers peers' wantlists from a
//! [`crate::store::SharedSource`], and [`client`] fetches blocks from peers through a transport
//! it is given ([`client::Outbox`], [`client::FindProviders`]).
//!
//! The three protocol versions differ only in which message fields they carry ([`Protocol`]):
//! 1.0.0 sends blocks as bare bytes (field 2), 1.1.0 sends them with a CID prefix (field 3),
//! 1.2.0 adds want-have, DONT_HAVE and block presences (fields 4 and 5 and the wantlist's
//! `wantType` and `sendDontHave`).
//!
//! Streams are tokio's `AsyncRead`/`AsyncWrite`; a `futures` stream (libp2p's) plugs in through
//! `tokio_util::compat`. On the libp2p node, [`transport`] carries the streams and [`swarm`]
//! runs the server and the client over them; [`budget`] bounds what each peer's messages may
//! cost and has a peer that overdraws it disconnected.

pub mod budget;
pub mod client;
pub mod message;
pub mod server;
pub mod swarm;
pub mod transport;
pub mod wire;

pub use client::{Client, ClientConfig, Diagnosis, Fetch, FetchError, Session, Unsolicited};
pub use message::{
    verify_legacy_blocks, Block, BlockPresence, Entry, Limits, Message, PresenceType, WantType,
    Wantlist,
};
pub use server::{PeerLedger, Server, ServerConfig};
pub use wire::{write_message, MessageReader};

/// Largest message, length prefix excluded: "All protocol messages MUST be less than or equal
/// to 4MiB in size" (spec, Bitswap 1.0.0: Protocol Format); go-libp2p's
/// `network.MessageSizeMax` (1 << 22), which boxo reads with, is the same.
pub const MAX_MESSAGE_SIZE: usize = 4 << 20;

/// Longest binary CID accepted: boxo's `MaximumAllowedCid` (four 10-byte varints and a
/// 128-byte digest).
pub const MAX_CID_LEN: usize = 4 * 10 + 128;

/// Most wantlist entries, blocks and block presences, together, in one message. boxo has no
/// such bound (only the 4 MiB one), but a 4 MiB message of minimal entries would decode to
/// about 50 MB of entries; this keeps decoded size within a few times the wire size, and is
/// 16 times the wantlist a server keeps per peer ([`ServerConfig::max_wantlist_entries`]).
pub const MAX_MESSAGE_ITEMS: usize = 16 * 1024;

/// A Bitswap protocol version, as negotiated for a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// `/ipfs/bitswap/1.0.0`: blocks are bare bytes (CIDv0 implied).
    V100,
    /// `/ipfs/bitswap/1.1.0`: blocks carry a CID prefix.
    V110,
    /// `/ipfs/bitswap/1.2.0`: want-have, DONT_HAVE, block presences, pending bytes.
    V120,
}

impl Protocol {
    /// Every version, newest first: the order to offer them in.
    pub const ALL: [Protocol; 3] = [Protocol::V120, Protocol::V110, Protocol::V100];

    /// The libp2p protocol id.
    pub const fn id(self) -> &'static str {
        match self {
            Protocol::V100 => "/ipfs/bitswap/1.0.0",
            Protocol::V110 => "/ipfs/bitswap/1.1.0",
            Protocol::V120 => "/ipfs/bitswap/1.2.0",
        }
    }

    /// The unversioned id boxo and Kubo still register, equivalent to 1.0.0.
    pub const LEGACY_ID: &'static str = "/ipfs/bitswap";

    /// The version a libp2p protocol id names (`None`: not Bitswap, or a version not known).
    pub fn from_id(id: &str) -> Option<Self> {
        if id == Self::LEGACY_ID {
            return Some(Protocol::V100);
        }
        Protocol::ALL.into_iter().find(|p| p.id() == id)
    }

    /// Whether blocks go with their CID prefix (`payload`, field 3) rather than as bare bytes
    /// (`blocks`, field 2).
    pub const fn has_payload(self) -> bool {
        !matches!(self, Protocol::V100)
    }

    /// Whether want-have, DONT_HAVE, block presences and pending bytes exist.
    pub const fn has_presences(self) -> bool {
        matches!(self, Protocol::V120)
    }
}

/// Blocks and their bytes this node's Bitswap received from peers and sent to them (the
/// counts boxo's client and server keep: `blocks_received`, `data_received`, `blocks_sent`,
/// `data_sent`). Shared by the [`Server`] and the swarm's readers; read for metrics.
#[derive(Debug, Default)]
pub struct BitswapStats {
    blocks_received: std::sync::atomic::AtomicU64,
    data_received: std::sync::atomic::AtomicU64,
    blocks_sent: std::sync::atomic::AtomicU64,
    data_sent: std::sync::atomic::AtomicU64,
}

/// A reading of [`BitswapStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BitswapCounts {
    pub blocks_received: u64,
    pub data_received: u64,
    pub blocks_sent: u64,
    pub data_sent: u64,
}

impl BitswapStats {
    /// A message's blocks arrived from a peer.
    pub fn received(&self, message: &Message) {
        Self::count(&self.blocks_received, &self.data_received, message);
    }

    /// A message's blocks were written to a peer.
    pub fn sent(&self, message: &Message) {
        Self::count(&self.blocks_sent, &self.data_sent, message);
    }

    fn count(
        blocks: &std::sync::atomic::AtomicU64,
        bytes: &std::sync::atomic::AtomicU64,
        message: &Message,
    ) {
        use std::sync::atomic::Ordering::Relaxed;
        if message.blocks.is_empty() {
            return;
        }
        let len: usize = message.blocks.iter().map(|b| b.data().len()).sum();
        blocks.fetch_add(message.blocks.len() as u64, Relaxed);
        bytes.fetch_add(len as u64, Relaxed);
    }

    pub fn counts(&self) -> BitswapCounts {
        use std::sync::atomic::Ordering::Relaxed;
        BitswapCounts {
            blocks_received: self.blocks_received.load(Relaxed),
            data_received: self.data_received.load(Relaxed),
            blocks_sent: self.blocks_sent.load(Relaxed),
            data_sent: self.data_sent.load(Relaxed),
        }
    }
}

/// Everything that can go wrong reading, writing or serving Bitswap messages. A peer that
/// causes one of these has its stream closed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A length prefix above the limit; nothing of the message was read or allocated.
    #[error("bitswap message of {len} bytes exceeds the {max}-byte limit")]
    MessageTooLarge { len: u64, max: usize },
    /// The stream ended inside a message (in its length prefix or its body).
    #[error("bitswap stream ended inside a message")]
    Truncated,
    /// A length prefix that is not a minimal unsigned varint.
    #[error("bitswap length prefix is not a valid unsigned varint")]
    BadLengthPrefix,
    /// Bytes that are not a Bitswap message; `at` is the offset in the message body.
    #[error("malformed bitswap message: {what} at byte {at}")]
    Malformed { what: String, at: usize },
    /// More wantlist entries, blocks and presences than [`Limits::max_items`].
    #[error("bitswap message carries more than {max} entries, blocks and presences")]
    TooManyItems { max: usize },
    /// A CID longer than [`Limits::max_cid_len`].
    #[error("CID of {len} bytes at byte {at} exceeds the {max}-byte limit")]
    CidTooLong { len: usize, max: usize, at: usize },
    /// A block whose prefix names a hash function cairn cannot compute, so it cannot be
    /// verified.
    #[error("block at byte {at} uses unsupported multihash code 0x{code:x}")]
    UnsupportedHash { code: u64, at: usize },
    /// A peer asked for an identity CID, whose content is the CID itself: only a broken client
    /// does that (boxo closes the connection too).
    #[error("peer asked for identity CID {0}")]
    IdentityWant(cid::Cid),
    /// The peer's messages cost more than its budget allows ([`budget`]): a wantlist flood,
    /// or blocks nobody asked for.
    #[error("the peer's bitswap messages exceed its budget (a flood)")]
    OverBudget,
    /// A message to send that encodes to more than [`MAX_MESSAGE_SIZE`].
    #[error("outgoing bitswap message of {len} bytes exceeds the {max}-byte limit")]
    OutgoingTooLarge { len: usize, max: usize },
    /// The stream failed.
    #[error("bitswap stream: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// Whether the peer broke the protocol's rules (as opposed to a stream cut short): such a
    /// peer is disconnected, not only its stream closed.
    pub fn is_violation(&self) -> bool {
        matches!(
            self,
            Error::MessageTooLarge { .. }
                | Error::BadLengthPrefix
                | Error::Malformed { .. }
                | Error::TooManyItems { .. }
                | Error::CidTooLong { .. }
                | Error::IdentityWant(_)
                | Error::OverBudget
        )
    }
}

impl Error {
    pub(crate) fn malformed(what: impl Into<String>, at: usize) -> Self {
        Error::Malformed {
            what: what.into(),
            at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_ids_round_trip_and_order() {
        for p in Protocol::ALL {
            assert_eq!(Protocol::from_id(p.id()), Some(p));
        }
        assert_eq!(Protocol::from_id("/ipfs/bitswap"), Some(Protocol::V100));
        assert_eq!(Protocol::from_id("/ipfs/bitswap/"), None);
        assert_eq!(Protocol::from_id("/ipfs/bitswap/1.3.0"), None);
        assert_eq!(Protocol::ALL[0], Protocol::V120);
        assert!(!Protocol::V100.has_payload() && Protocol::V110.has_payload());
        assert!(!Protocol::V110.has_presences() && Protocol::V120.has_presences());
    }

    /// Whatever a peer gets wrong in a message's bytes gets it disconnected, not only its
    /// stream closed; a stream cut short is no fault.
    #[test]
    fn malformed_messages_and_floods_are_violations() {
        let limits = Limits::default();
        let cases: [(&str, &[u8]); 5] = [
            ("a truncated tag", &[0xff]),
            ("a field past the end", &[0x0a, 0x05, 0x01]),
            ("a wantlist entry without a CID", &[0x0a, 0x02, 0x0a, 0x00]),
            ("a wantlist with the wrong wire type", &[0x08, 0x01]),
            (
                "a CID that does not parse",
                &[0x0a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 0xff],
            ),
        ];
        for (what, bytes) in cases {
            let error = Message::decode(bytes::Bytes::from_static(bytes), &limits).unwrap_err();
            assert!(error.is_violation(), "{what}: {error}");
        }
        let tight = Limits {
            max_items: 1,
            ..limits
        };
        let cid = cid::Cid::new_v1(0x55, multihash::Multihash::wrap(0x12, &[7; 32]).unwrap());
        let two = Message {
            wantlist: Some(Wantlist {
                entries: vec![Entry::cancel(cid), Entry::cancel(cid)],
                full: false,
            }),
            ..Message::default()
        };
        let error = Message::decode(two.encode(Protocol::V120).into(), &tight).unwrap_err();
        assert!(error.is_violation(), "{error}");
        assert!(Error::OverBudget.is_violation());
        assert!(!Error::Truncated.is_violation());
    }
}
