//! A Delegated Routing V1 HTTP client (<https://specs.ipfs.tech/routing/http-routing-v1/>):
//! who provides a CID (`GET /routing/v1/providers/{cid}`), where a peer is
//! (`GET /routing/v1/peers/{peer-id}`), and IPNS records (`GET` and `PUT
//! /routing/v1/ipns/{name}`), asked of servers such as someguy, Kubo with
//! `Gateway.ExposeRoutingAPI`, or `delegated-ipfs.dev`. IPNS records are handed up as the
//! server sent them (at most the IPNS spec's 10 KiB): the caller verifies them.
//!
//! Answers come as `application/json` (one object holding a list) or, when the server
//! streams, `application/x-ndjson` (one record a line); both are asked for and read. Records of
//! the `peer` schema are kept, and of the legacy `bitswap` schema (its one `Protocol` becomes
//! the protocol list); records of any other schema are skipped, as the spec asks of clients.
//! Everything is bounded: the body in bytes, the records kept, and the time (a stream cut by
//! the time limit still yields the records read before it).
//!
//! Peer IDs are handed up as base58btc text (`12D3KooW…`, `Qm…`), the form libp2p parses,
//! whatever form the server wrote them in; records whose ID is not a peer ID are dropped.

use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use cid::Cid;
use http::{header, Method, StatusCode};
use multihash::Multihash;
use serde_json::Value;
use tokio::time::Instant;

use super::http_client::{
    BodyStream, ClientError, ClientOptions, Endpoint, HttpClient, RequestError,
};
use crate::ipld::cid::{codec, hash, v1_text};
use crate::ipld::ipns::{IpnsName, MAX_RECORD_SIZE};

/// Streamed records preferred, one JSON document accepted.
const ACCEPT: &str = "application/x-ndjson, application/json";
/// The media type of a serialized IPNS record (IPNS spec; routing V1 `/ipns`).
const IPNS_RECORD: &str = "application/vnd.ipfs.ipns-record";

/// Multihash digests longer than this cannot be peer IDs: libp2p inlines public keys of up to
/// 42 bytes with the identity hash, and hashes longer ones with SHA-256.
const MAX_INLINE_KEY: usize = 42;

/// How a [`RoutingV1`] client behaves.
#[derive(Debug, Clone)]
pub struct RoutingOptions {
    /// Longest one request to one server may take, body included. A streamed answer cut by
    /// it keeps the records read so far.
    pub timeout: Duration,
    /// Records kept per lookup, over all servers; a stream is closed once it has sent them.
    pub max_records: usize,
    /// Largest response body read from one server.
    pub max_body_bytes: u64,
    /// The HTTP client's settings (connect timeout, pool, extra TLS roots).
    pub client: ClientOptions,
}

impl Default for RoutingOptions {
    fn default() -> Self {
        RoutingOptions {
            timeout: Duration::from_secs(30),
            // What servers such as someguy send in one JSON answer at most.
            max_records: 100,
            max_body_bytes: 4 << 20,
            client: ClientOptions::default(),
        }
    }
}

/// A peer as a routing server describes it: a provider of a CID, or the answer for a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRecord {
    /// base58btc text of the peer ID's multihash.
    pub peer_id: String,
    /// Multiaddrs as text (`/ip4/…/tcp/…`); possibly none, when the server does not know them.
    pub addrs: Vec<String>,
    /// Transfer protocols the peer offers the content by (`transport-bitswap`,
    /// `transport-ipfs-gateway-http`), when the server says.
    pub protocols: Vec<String>,
}

/// A provider of a CID.
pub type Provider = PeerRecord;

/// What went wrong with one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The exchange failed: a timeout, a broken connection, a body over the limit.
    Request(RequestError),
    /// An answer other than 200 or 404 (redirects included: they are not followed).
    Status(StatusCode),
    /// An answer that is not the JSON the spec describes.
    Malformed(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Request(e) => write!(f, "{e}"),
            Failure::Status(status) => write!(f, "HTTP {status}"),
            Failure::Malformed(why) => write!(f, "malformed answer: {why}"),
        }
    }
}

/// No server answered a lookup, or the lookup cannot be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingError {
    /// What was asked (`providers of bafy…`, `peer 12D3…`).
    pub what: String,
    /// Each server asked and how it failed (empty for a lookup that cannot be asked).
    pub failures: Vec<(Endpoint, Failure)>,
}

impl fmt::Display for RoutingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.failures.is_empty() {
            return write!(f, "cannot look up {}", self.what);
        }
        write!(f, "no routing server answered for {} (", self.what)?;
        for (i, (endpoint, failure)) in self.failures.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{endpoint}: {failure}")?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for RoutingError {}

/// A client of one or more Delegated Routing V1 servers, asked together; their answers are
/// merged (one record per peer, addresses and protocols combined).
pub struct RoutingV1 {
    client: HttpClient,
    endpoints: Vec<Endpoint>,
    options: RoutingOptions,
}

impl RoutingV1 {
    /// A client of `endpoints` (base URLs, with or without their `/routing/v1`).
    pub fn new(endpoints: Vec<Endpoint>, options: RoutingOptions) -> Result<Self, ClientError> {
        if endpoints.is_empty() {
            return Err(ClientError::new("no routing server given"));
        }
        Ok(RoutingV1 {
            client: HttpClient::new(&options.client)?,
            endpoints: endpoints
                .into_iter()
                .map(|e| e.without_suffix("/routing/v1"))
                .collect(),
            options,
        })
    }

    /// The peers that say they provide `cid` (empty when no server knows of any).
    pub async fn find_providers(&self, cid: &Cid) -> Result<Vec<Provider>, RoutingError> {
        let text = v1_text(cid);
        let path = format!("/routing/v1/providers/{text}");
        self.ask(&path, "Providers", format!("providers of {text}"))
            .await
    }

    /// The addresses of the peer `peer_id` (base58btc `12D3KooW…`/`Qm…`, or a CID of the
    /// `libp2p-key` codec); empty when no server knows them.
    pub async fn find_peer(&self, peer_id: &str) -> Result<Vec<String>, RoutingError> {
        let Some(key) = peer_multihash(peer_id) else {
            return Err(RoutingError {
                what: format!("{peer_id:?}, which is not a peer ID"),
                failures: Vec::new(),
            });
        };
        // The spec's form of a peer ID in a path: a CIDv1 of the libp2p-key codec.
        let cid = Cid::new_v1(codec::LIBP2P_KEY, key);
        let path = format!("/routing/v1/peers/{}", v1_text(&cid));
        let wanted = peer_text(&key);
        let records = self.ask(&path, "Peers", format!("peer {wanted}")).await?;
        let mut addrs: Vec<String> = Vec::new();
        for record in records.into_iter().filter(|r| r.peer_id == wanted) {
            for addr in record.addrs {
                if !addrs.contains(&addr) {
                    addrs.push(addr);
                }
            }
        }
        Ok(addrs)
    }

    /// The IPNS records the servers hold for `name`, one per server that has one (empty when
    /// none does). Not verified: that is the caller's job.
    pub async fn get_ipns(&self, name: &IpnsName) -> Result<Vec<Bytes>, RoutingError> {
        let path = format!("/routing/v1/ipns/{name}");
        let answers = futures_util::future::join_all(
            self.endpoints
                .iter()
                .map(|endpoint| self.exchange(endpoint, Method::GET, &path, Bytes::new())),
        )
        .await;
        let mut records = Vec::new();
        let mut failures = Vec::new();
        let mut answered = false;
        for (endpoint, answer) in self.endpoints.iter().zip(answers) {
            match answer {
                Ok(Some(record)) => {
                    answered = true;
                    records.push(record);
                }
                Ok(None) => answered = true,
                Err(failure) => failures.push((endpoint.clone(), failure)),
            }
        }
        if answered {
            Ok(records)
        } else {
            Err(RoutingError {
                what: format!("the IPNS record of {name}"),
                failures,
            })
        }
    }

    /// Hands `record` (serialized, signed for `name`) to every server; returns how many took
    /// it, or why none did.
    pub async fn put_ipns(&self, name: &IpnsName, record: Bytes) -> Result<usize, RoutingError> {
        let path = format!("/routing/v1/ipns/{name}");
        let answers = futures_util::future::join_all(
            self.endpoints
                .iter()
                .map(|endpoint| self.exchange(endpoint, Method::PUT, &path, record.clone())),
        )
        .await;
        let mut taken = 0;
        let mut failures = Vec::new();
        for (endpoint, answer) in self.endpoints.iter().zip(answers) {
            match answer {
                Ok(_) => taken += 1,
                Err(failure) => failures.push((endpoint.clone(), failure)),
            }
        }
        if taken > 0 {
            Ok(taken)
        } else {
            Err(RoutingError {
                what: format!("a put of the IPNS record of {name}"),
                failures,
            })
        }
    }

    /// One IPNS exchange with one server: a `GET` (the record, None on 404) or a `PUT` of
    /// `body` (None on success).
    async fn exchange(
        &self,
        endpoint: &Endpoint,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<Option<Bytes>, Failure> {
        let timeout = self.options.timeout;
        let deadline = Instant::now() + timeout;
        let uri = endpoint
            .uri(path)
            .map_err(|e| Failure::Request(RequestError::Transport(e.to_string())))?;
        let put = method == Method::PUT;
        let mut request = HttpClient::request_with_body(method, uri, IPNS_RECORD, body);
        if put {
            request.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static(IPNS_RECORD),
            );
        }
        let response = self
            .client
            .send(request, deadline, timeout)
            .await
            .map_err(Failure::Request)?;
        match response.status() {
            StatusCode::OK | StatusCode::NO_CONTENT if put => return Ok(None),
            StatusCode::OK => {}
            StatusCode::NOT_FOUND if !put => return Ok(None),
            status => return Err(Failure::Status(status)),
        }
        let body =
            BodyStream::new(response, MAX_RECORD_SIZE as u64, timeout).map_err(Failure::Request)?;
        match tokio::time::timeout_at(deadline, body.collect()).await {
            Ok(Ok(record)) => Ok(Some(record)),
            Ok(Err(e)) => Err(Failure::Request(e)),
            Err(_) => Err(Failure::Request(RequestError::Timeout(timeout))),
        }
    }

    /// Asks every server for `path` at once and merges the records of those that answered.
    async fn ask(
        &self,
        path: &str,
        list: &str,
        what: String,
    ) -> Result<Vec<PeerRecord>, RoutingError> {
        let answers = futures_util::future::join_all(
            self.endpoints
                .iter()
                .map(|endpoint| self.ask_one(endpoint, path, list)),
        )
        .await;
        let mut records = Vec::new();
        let mut failures = Vec::new();
        let mut answered = false;
        for (endpoint, answer) in self.endpoints.iter().zip(answers) {
            match answer {
                Ok(found) => {
                    answered = true;
                    for record in found {
                        merge(&mut records, record, self.options.max_records);
                    }
                }
                Err(failure) => {
                    tracing::debug!(%endpoint, %failure, %what, "routing server failed");
                    failures.push((endpoint.clone(), failure));
                }
            }
        }
        if answered {
            Ok(records)
        } else {
            Err(RoutingError { what, failures })
        }
    }

    /// One server's records for `path`: `list` is the JSON answer's field holding them.
    async fn ask_one(
        &self,
        endpoint: &Endpoint,
        path: &str,
        list: &str,
    ) -> Result<Vec<PeerRecord>, Failure> {
        let timeout = self.options.timeout;
        let deadline = Instant::now() + timeout;
        let uri = endpoint
            .uri(path)
            .map_err(|e| Failure::Request(RequestError::Transport(e.to_string())))?;
        let response = self
            .client
            .send(
                HttpClient::request(Method::GET, uri, ACCEPT),
                deadline,
                timeout,
            )
            .await
            .map_err(Failure::Request)?;
        match response.status() {
            StatusCode::OK => {}
            // "Not found" in the spec's earlier revisions; an empty list in later ones.
            StatusCode::NOT_FOUND => return Ok(Vec::new()),
            status => return Err(Failure::Status(status)),
        }
        let ndjson = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| {
                t.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/x-ndjson")
            });
        let body = BodyStream::new(response, self.options.max_body_bytes, timeout)
            .map_err(Failure::Request)?;
        let max = self.options.max_records;
        if ndjson {
            read_ndjson(body, deadline, timeout, max).await
        } else {
            let data = match tokio::time::timeout_at(deadline, body.collect()).await {
                Ok(data) => data.map_err(Failure::Request)?,
                Err(_) => return Err(Failure::Request(RequestError::Timeout(timeout))),
            };
            parse_json(&data, list, max)
        }
    }
}

/// The records in a whole answer body, JSON or NDJSON, as [`RoutingV1`] reads them (at most
/// `max`): the fuzz target's entry to the parsers of server answers.
#[cfg(any(test, fuzzing))]
pub fn parse_answer(
    data: &[u8],
    ndjson: bool,
    list: &str,
    max: usize,
) -> Result<Vec<PeerRecord>, Failure> {
    if !ndjson {
        return parse_json(data, list, max);
    }
    let mut records = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        if records.len() >= max {
            break;
        }
        records.extend(parse_line(line)?);
    }
    Ok(records)
}

/// The records of a JSON answer: `{"<list>": [record, …]}` (`null` or absent: none).
fn parse_json(data: &[u8], list: &str, max: usize) -> Result<Vec<PeerRecord>, Failure> {
    let value: Value =
        serde_json::from_slice(data).map_err(|e| Failure::Malformed(e.to_string()))?;
    let Value::Object(mut object) = value else {
        return Err(Failure::Malformed("the answer is not a JSON object".into()));
    };
    match object.remove(list) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items.iter().filter_map(record).take(max).collect()),
        Some(_) => Err(Failure::Malformed(format!("{list} is not an array"))),
    }
}

/// The records of an NDJSON stream, read until it ends, `max` records are kept, or the
/// deadline passes (then the records read so far are the answer, if there are any).
async fn read_ndjson(
    mut body: BodyStream,
    deadline: Instant,
    timeout: Duration,
    max: usize,
) -> Result<Vec<PeerRecord>, Failure> {
    let mut records = Vec::new();
    // At most the body limit: `BodyStream` refuses more.
    let mut pending = BytesMut::new();
    let mut ended = false;
    loop {
        // Every complete line in the buffer.
        while let Some(end) = memchr::memchr(b'\n', &pending) {
            let line = pending.split_to(end + 1);
            if let Some(record) = parse_line(&line[..end])? {
                records.push(record);
                if records.len() >= max {
                    // Dropping the body closes the stream: nothing more is wanted.
                    return Ok(records);
                }
            }
        }
        if ended {
            // A last line without its newline.
            if let Some(record) = parse_line(&pending)? {
                records.push(record);
            }
            return Ok(records);
        }
        match tokio::time::timeout_at(deadline, body.chunk()).await {
            Ok(Some(Ok(chunk))) => pending.extend_from_slice(&chunk),
            // Out of time (overall, or waiting for the next bytes) with records in hand: a
            // slow stream's first answers are still answers.
            Ok(Some(Err(RequestError::Timeout(_)))) | Err(_) if !records.is_empty() => {
                return Ok(records)
            }
            Ok(Some(Err(RequestError::Timeout(_)))) | Err(_) => {
                return Err(Failure::Request(RequestError::Timeout(timeout)))
            }
            Ok(Some(Err(e))) => return Err(Failure::Request(e)),
            Ok(None) => ended = true,
        }
    }
}

/// One NDJSON line: a record, `None` for a blank line or a record that is not kept.
fn parse_line(line: &[u8]) -> Result<Option<PeerRecord>, Failure> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return Ok(None);
    }
    let value: Value =
        serde_json::from_slice(line).map_err(|e| Failure::Malformed(e.to_string()))?;
    Ok(record(&value))
}

/// A record of the `peer` schema or the legacy `bitswap` one; `None` for any other schema or
/// a record without a valid peer ID.
fn record(value: &Value) -> Option<PeerRecord> {
    let object = value.as_object()?;
    let key = peer_multihash(object.get("ID")?.as_str()?)?;
    let strings = |field: &str| -> Vec<String> {
        object
            .get(field)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let protocols = match object.get("Schema")?.as_str()? {
        "peer" => strings("Protocols"),
        "bitswap" => object
            .get("Protocol")
            .and_then(Value::as_str)
            .map(|p| vec![p.to_owned()])
            .unwrap_or_default(),
        _ => return None,
    };
    let addrs = strings("Addrs")
        .into_iter()
        .filter(|a| a.starts_with('/'))
        .collect();
    Some(PeerRecord {
        peer_id: peer_text(&key),
        addrs,
        protocols,
    })
}

/// Adds `record` to `records`, combining it with a record of the same peer; at most `max`
/// peers.
fn merge(records: &mut Vec<PeerRecord>, record: PeerRecord, max: usize) {
    if let Some(known) = records.iter_mut().find(|r| r.peer_id == record.peer_id) {
        for addr in record.addrs {
            if !known.addrs.contains(&addr) {
                known.addrs.push(addr);
            }
        }
        for protocol in record.protocols {
            if !known.protocols.contains(&protocol) {
                known.protocols.push(protocol);
            }
        }
    } else if records.len() < max {
        records.push(record);
    }
}

/// The multihash of a peer ID written as base58btc (`12D3KooW…`, `Qm…`, `16Uiu2…`) or as a
/// CID of the `libp2p-key` codec (`bafz…`, `k51…`). Only the identity and SHA-256 multihashes
/// libp2p uses are peer IDs.
fn peer_multihash(text: &str) -> Option<Multihash<64>> {
    if text.is_empty() || text.len() > 128 {
        return None;
    }
    let key = if text.starts_with('1') || text.starts_with('Q') {
        let (_, bytes) = cid::multibase::decode(format!("z{text}")).ok()?;
        Multihash::<64>::from_bytes(&bytes).ok()?
    } else {
        let cid = crate::ipld::cid::parse(text).ok()?;
        if cid.codec() != codec::LIBP2P_KEY {
            return None;
        }
        *cid.hash()
    };
    let valid = match key.code() {
        hash::IDENTITY => key.size() as usize <= MAX_INLINE_KEY && key.size() > 0,
        hash::SHA2_256 => key.size() == 32,
        _ => false,
    };
    valid.then_some(key)
}

/// The base58btc text of a peer ID.
fn peer_text(key: &Multihash<64>) -> String {
    let text = cid::multibase::encode(cid::multibase::Base::Base58Btc, key.to_bytes());
    // Multibase prefixes base58btc with `z`; peer IDs are written without it.
    text.strip_prefix('z').map(str::to_owned).unwrap_or(text)
}

#[cfg(test)]
mod tests;
