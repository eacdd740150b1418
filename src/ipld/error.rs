//! The ipld layer's one error type: everything that can be wrong with bytes that claim to be
//! IPLD data (CIDs, dag-pb, dag-cbor, dag-json, UnixFS, HAMT, CAR). Messages name what was
//! wrong and, where a position is known, where.

use std::borrow::Cow;

/// What kind of data was malformed. Upper layers map kinds, never message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A CID (binary or text) that does not parse.
    Cid,
    /// A dag-pb block that breaks the dag-pb spec.
    DagPb,
    /// A dag-cbor block that does not decode (truncated, indefinite lengths, a bad link).
    DagCbor,
    /// A dag-json block that does not parse, or holds a malformed link.
    DagJson,
    /// UnixFS `Data` that does not decode, or a node of the wrong UnixFS type.
    UnixFs,
    /// A HAMT shard that breaks the HAMT rules (fanout, hash type, link names).
    Hamt,
    /// A CAR stream that is malformed or truncated.
    Car,
    /// Well-formed data this implementation does not handle (a codec, a hash function).
    Unsupported,
}

/// A malformed-data error, with a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn cid(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Cid, message)
    }
    pub fn dag_pb(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::DagPb, message)
    }
    pub fn dag_cbor(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::DagCbor, message)
    }
    pub fn dag_json(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::DagJson, message)
    }
    pub fn unixfs(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::UnixFs, message)
    }
    pub fn hamt(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Hamt, message)
    }
    pub fn car(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Car, message)
    }
    pub fn unsupported(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            ErrorKind::Cid => "invalid CID",
            ErrorKind::DagPb => "malformed dag-pb block",
            ErrorKind::DagCbor => "malformed dag-cbor block",
            ErrorKind::DagJson => "malformed dag-json block",
            ErrorKind::UnixFs => "malformed UnixFS data",
            ErrorKind::Hamt => "malformed HAMT shard",
            ErrorKind::Car => "malformed CAR",
            ErrorKind::Unsupported => "unsupported",
        };
        write!(f, "{what}: {}", self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
