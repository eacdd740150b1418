//! The IPFS Cluster REST API's JSON shapes and value types, byte-compatible with what
//! ipfs-cluster v1.1.6 emits through Go's `encoding/json` (`api/types.go`, `api/add.go`).
//!
//! Owns:
//! - the reply objects (`ID`, `Version`, `Pin` with its flattened `PinOptions`, `GlobalPinInfo`,
//!   `PinInfoShort`, `AddedOutput`, `Metric`, `Alert`, `ConnectGraph`, `BandwidthByProtocol`,
//!   `GlobalRepoGC`/`RepoGC`/`IPFSRepoGC`, the error object and `{"token":…}`), with fields in Go's
//!   declaration order (Go emits struct fields in that order) and Go's `omitempty` rules. Go's
//!   `omitempty` has no effect on struct-typed fields (`api.Cid`, `time.Time`, `IPFSID`), so those
//!   are always present; a nil slice or map is `null`, which is why the fields where upstream
//!   sometimes has nil and sometimes an empty value are `Option<Vec<_>>`/`Option<BTreeMap<_, _>>`
//!   (`None` = `null`, `Some(empty)` = `[]`/`{}`).
//! - the value types those carry: CIDs as plain strings (`api.Cid.MarshalJSON`: `null` when
//!   undefined, else `cid.String()`: base58btc for v0, base32 for v1), [`PeerId`] (base58btc of the
//!   multihash, parsed like go-libp2p's `peer.Decode`), [`Multiaddr`] (parsed and re-rendered like
//!   go-multiaddr v0.16's `NewMultiaddr`/`String`), [`Timestamp`] (Go's `time.Time`: RFC 3339 with
//!   nanoseconds, trailing zeros trimmed, the zero time `0001-01-01T00:00:00Z`), the status and
//!   pin-type enums with their wire names, including the `error`/`queued` filter aliases.
//! - [`to_go_json`]/[`write_go_json`] (from [`crate::http::go_json`]): JSON as Go's
//!   `encoding/json` writes it.
//!
//! This file owns the reply objects; the value types and Go conventions live in `ids` (peer IDs,
//! CIDs), `multiaddr`, `enums` (pin and status enums) and `go` (quoting, unescaping, base64);
//! [`Timestamp`] is `crate::ipld::time`'s, serialized here.

mod enums;
mod go;
mod ids;
mod multiaddr;
#[cfg(test)]
mod tests;

pub use crate::http::go_json::{go_format_f64, to_go_json, write_go_json, GoJsonFormatter};
pub use enums::{PinMode, PinType, PinTypeFilter, TrackerStatus};
pub(crate) use go::{
    go_base64_decode, go_parse_uint, go_query_unescape, go_quote, BASE64_STD_ALPHABET,
    BASE64_URL_ALPHABET,
};
pub use ids::{parse_cid, PeerId, PeerIdError};
pub use multiaddr::{Multiaddr, MultiaddrError};

use go::*;
use ids::*;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use cid::multibase::Base;
use cid::Cid;
use serde::{Serialize, Serializer};

use crate::ipld::cid::codec::{self, DAG_PB, LIBP2P_KEY as LIBP2P_KEY_CODEC};
use crate::ipld::cid::hash::{IDENTITY, SHA2_256};
pub(crate) use crate::ipld::time::go_time_quote;
pub use crate::ipld::time::{TimeParseError, Timestamp};
use crate::ipld::varint::{self, VarintError};
use crate::services::go_url::query_escape_into;

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `api.Cid` in JSON: the CID's string, or `null` when undefined.
fn ser_opt_cid<S: Serializer>(c: &Option<Cid>, s: S) -> Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.collect_str(c),
        None => s.serialize_none(),
    }
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

// ---------------------------------------------------------------------------------------------
// Reply objects

/// `api.ID` (GET /id, the /peers stream).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Id {
    pub id: PeerId,
    /// Upstream builds this by appending to a nil slice: `null` when the peer has no address.
    pub addresses: Option<Vec<Multiaddr>>,
    /// Initialised to `[]` upstream; includes this peer.
    pub cluster_peers: Vec<PeerId>,
    /// Initialised to `[]` upstream.
    pub cluster_peers_addresses: Vec<Multiaddr>,
    pub version: String,
    pub commit: String,
    /// `"/ipfscluster/1.0/rpc"` upstream.
    pub rpc_protocol_version: String,
    pub error: String,
    /// `json:"ipfs,omitempty"` on a struct: always present.
    pub ipfs: IpfsId,
    pub peername: String,
}

/// `api.IPFSID`, the IPFS daemon's identity inside [`Id`].
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct IpfsId {
    /// `omitempty` on a string-kinded peer ID: omitted when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<PeerId>,
    /// `null` when upstream could not reach the daemon.
    pub addresses: Option<Vec<Multiaddr>>,
    pub error: String,
}

/// `api.Version` (GET /version).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Version {
    pub version: String,
}

/// `api.PinOptions`, flattened into [`Pin`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PinOptions {
    pub replication_factor_min: i64,
    pub replication_factor_max: i64,
    pub name: String,
    pub mode: PinMode,
    pub shard_size: u64,
    /// `null` unless the `user-allocations` query was non-empty (then a list, possibly `[]`).
    pub user_allocations: Option<Vec<PeerId>>,
    /// Go zero time when unset.
    pub expire_at: Timestamp,
    /// `{}` from a pin request (upstream always makes the map); `null` for pins read back from
    /// upstream's state without metadata.
    pub metadata: Option<BTreeMap<String, String>>,
    /// `omitempty` on a struct: always present, `null` when unset.
    #[serde(serialize_with = "ser_opt_cid")]
    pub pin_update: Option<Cid>,
    /// `null` unless given in the request; `[]` for pins read back from upstream's state.
    pub origins: Option<Vec<Multiaddr>>,
}

impl Default for PinOptions {
    fn default() -> Self {
        PinOptions {
            replication_factor_min: 0,
            replication_factor_max: 0,
            name: String::new(),
            mode: PinMode::Recursive,
            shard_size: 0,
            user_allocations: None,
            expire_at: Timestamp::ZERO,
            metadata: None,
            pin_update: None,
            origins: None,
        }
    }
}

/// `api.Pin` (POST/DELETE /pins…, GET /allocations…): the options first (embedded struct),
/// then the pin's own fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pin {
    #[serde(flatten)]
    pub options: PinOptions,
    #[serde(serialize_with = "ser_opt_cid")]
    pub cid: Option<Cid>,
    #[serde(rename = "type")]
    pub pin_type: PinType,
    /// `[]` = everywhere (upstream's `PinCid` makes it `[]`; its everywhere path sets nil).
    pub allocations: Option<Vec<PeerId>>,
    /// -1 recursive, 0 direct, 1 for shards.
    pub max_depth: i64,
    /// `null` unless a sharded DAG links pins.
    #[serde(serialize_with = "ser_opt_cid")]
    pub reference: Option<Cid>,
    pub timestamp: Timestamp,
}

/// `api.PinInfoShort`: one peer's view of a pin, inside [`GlobalPinInfo::peer_map`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PinInfoShort {
    pub peername: String,
    /// `omitempty`: omitted when the IPFS peer is unknown.
    #[serde(rename = "ipfs_peer_id", skip_serializing_if = "Option::is_none")]
    pub ipfs_peer_id: Option<PeerId>,
    /// `omitempty`: omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ipfs_peer_addresses: Vec<Multiaddr>,
    pub status: TrackerStatus,
    pub timestamp: Timestamp,
    pub error: String,
    pub attempt_count: i64,
    pub priority_pin: bool,
}

/// `api.GlobalPinInfo` (GET /pins…, POST /pins/…/recover).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlobalPinInfo {
    #[serde(serialize_with = "ser_opt_cid")]
    pub cid: Option<Cid>,
    pub name: String,
    pub allocations: Option<Vec<PeerId>>,
    pub origins: Option<Vec<Multiaddr>>,
    pub created: Timestamp,
    pub metadata: Option<BTreeMap<String, String>>,
    /// Keyed by cluster peer ID text; Go sorts map keys, as `BTreeMap` does.
    pub peer_map: Option<BTreeMap<String, PinInfoShort>>,
}

/// `api.AddedOutput` (the POST /add stream).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddedOutput {
    pub name: String,
    /// `null` on progress lines.
    #[serde(serialize_with = "ser_opt_cid")]
    pub cid: Option<Cid>,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub bytes: u64,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub size: u64,
    /// `omitempty`: omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allocations: Vec<PeerId>,
}

/// `api.Metric` (GET /monitor/metrics/{name}).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    pub name: String,
    pub peer: PeerId,
    pub value: String,
    /// Unix nanoseconds.
    pub expire: i64,
    pub valid: bool,
    pub weight: i64,
    pub partitionable: bool,
    /// Unix nanoseconds.
    pub received_at: i64,
}

/// `api.Alert` (GET /health/alerts): the metric's fields, then `triggered_at`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    #[serde(flatten)]
    pub metric: Metric,
    pub triggered_at: Timestamp,
}

/// `api.ConnectGraph` (GET /health/graph). Upstream initialises every map, so they are never
/// `null`; keys are peer ID texts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectGraph {
    pub cluster_id: PeerId,
    pub id_to_peername: BTreeMap<String, String>,
    pub ipfs_links: BTreeMap<String, Vec<PeerId>>,
    pub cluster_links: BTreeMap<String, Vec<PeerId>>,
    pub cluster_trust_links: BTreeMap<String, bool>,
    pub cluster_to_ipfs: BTreeMap<String, PeerId>,
}

/// `api.Bandwidth`, one protocol's traffic.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Bandwidth {
    pub total_in: i64,
    pub total_out: i64,
    /// Printed as Go prints floats only through [`to_go_json`].
    pub rate_in: f64,
    pub rate_out: f64,
}

/// `api.BandwidthByProtocol` (GET /health/bandwidth): protocol ID → traffic.
pub type BandwidthByProtocol = BTreeMap<String, Bandwidth>;

/// `api.IPFSRepoGC`: one collected key, or an error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IpfsRepoGc {
    /// `omitempty` on a struct: always present, `null` when unset.
    #[serde(serialize_with = "ser_opt_cid")]
    pub key: Option<Cid>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// `api.RepoGC`: one peer's garbage collection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepoGc {
    pub peer: PeerId,
    pub peername: String,
    /// Upstream always initialises this (`[]`).
    pub keys: Vec<IpfsRepoGc>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// `api.GlobalRepoGC` (POST /ipfs/gc), keyed by peer ID text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlobalRepoGc {
    pub peer_map: BTreeMap<String, RepoGc>,
}

/// `api.Error`, every error body: `{"code":…,"message":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    pub code: u16,
    pub message: String,
}

/// The `POST /token` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenReply {
    pub token: String,
}
