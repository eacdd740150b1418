//! The IPFS Cluster REST API (wire-compatible with ipfs-cluster v1.1.6, so `ipfs-cluster-ctl`
//! and the Go/JS clients work unmodified) on its own port. cairn is a one-peer cluster: every
//! pin is allocated to this node, whose identity key names the peer. The pinset is the one
//! the writable gateway uses; uploads go through the same importer.
//!
//! - [`types`]: the JSON shapes, written as Go's encoding/json writes them.
//! - [`params`]: query parameters as upstream reads them.
//! - [`auth`]: Basic and JWT (HS256) authentication.
//! - this module: the route table, the handlers, streaming replies (NDJSON with an
//!   `X-Stream-Error` trailer; 204 when empty) and the error shape.
//!
//! Per request, nothing a client sends is buffered whole: parameters come from the query (the
//! target is at most 64 KiB, with the head), `/add` streams its form through the shared upload
//! path (bounded there), and no route reads a JSON body. Replies are built in memory from
//! local state: the pin routes one line per pin (the pinset's size), `/add` one line per entry
//! added (at most the form's parts), a pin's status one walk of its DAG (a set of its blocks'
//! hashes). State changes from web pages are refused unless their origin is allowed
//! (`--allow-origin`).

pub mod auth;
pub mod params;
pub mod types;

use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin as StdPin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use cid::Cid;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, StatusCode};
use http_body::Frame;
use hyper::body::Incoming;
use serde::Serialize;

use crate::http::body::BoxError;
use crate::http::server::{ByteCounters, Handler};
use crate::http::upload::{self, FormNames, UploadOptions};
use crate::http::{Body, HttpError, Response};
use crate::services::add::{ChunkerSpec, ImportParams, Layout};
use crate::services::ingest;
use crate::services::names::NameService;
use crate::services::pinning::{PinProgress, Pinning};
use crate::services::pins::{Pin as StoredPin, PinMode as StoredMode, Pinset};
use crate::services::{gc, resolve};
use crate::store::{BlockSource, Blockstore};
use types::{
    AddedOutput, ApiError, GlobalPinInfo, Metric, PeerId, Pin, PinInfoShort, PinOptions, PinType,
    Timestamp, TrackerStatus,
};

/// The version this API reports (upstream's, which clients check for compatibility).
pub const CLUSTER_VERSION: &str = "1.1.6";
const X_STREAM_ERROR: HeaderName = HeaderName::from_static("x-stream-error");

/// What the Cluster API needs from the node.
pub struct ClusterApi {
    store: Arc<Blockstore>,
    pins: Arc<Pinset>,
    peer: PeerId,
    peername: String,
    credentials: auth::Credentials,
    data_dir: std::path::PathBuf,
    max_upload: Option<u64>,
    started: Instant,
    /// Byte counters of the listeners, by protocol name, for `/health/bandwidth`.
    bandwidth: Vec<(String, Arc<ByteCounters>)>,
    /// Resolves `/ipns` paths to pin.
    names: Option<Arc<NameService>>,
    /// Fetches and keeps pinned DAGs (absent: pins of missing content stay `pin_error`).
    pinning: Option<Arc<Pinning>>,
    /// Where the node's libp2p side listens (empty offline).
    ipfs_addresses: Vec<types::Multiaddr>,
    last_rates: Mutex<BTreeMap<String, (Instant, u64, u64)>>,
    /// Pins and adds of what it blocks are refused with 410.
    denylist: Arc<crate::services::denylist::Denylist>,
    uploads: upload::UploadSlots,
    body_timeout: Option<std::time::Duration>,
    allowed_origins: crate::http::cors::OriginPolicy,
}

/// How the Cluster API is set up.
pub struct ClusterOptions {
    pub peer_id: String,
    pub peername: String,
    pub credentials: auth::Credentials,
    pub data_dir: std::path::PathBuf,
    pub max_upload: Option<u64>,
    pub names: Option<Arc<NameService>>,
    pub bandwidth: Vec<(String, Arc<ByteCounters>)>,
    /// Fetches what a pin needs from the network and keeps it.
    pub pinning: Option<Arc<Pinning>>,
    /// The libp2p node's addresses (`…/p2p/<id>`), reported as the IPFS daemon's.
    pub ipfs_addresses: Vec<String>,
    /// The operator's denylists: blocked content is neither pinned nor added.
    pub denylist: Arc<crate::services::denylist::Denylist>,
    /// The upload slots, shared with the process's other APIs.
    pub uploads: upload::UploadSlots,
    /// Longest wait for the next piece of an upload's body (408 past it).
    pub body_timeout: Option<std::time::Duration>,
    /// The only origins whose pages may change anything here (POST, DELETE); none by default.
    pub allowed_origins: crate::http::cors::OriginPolicy,
}

impl ClusterApi {
    pub fn new(
        store: Arc<Blockstore>,
        pins: Arc<Pinset>,
        options: ClusterOptions,
    ) -> Result<Self, String> {
        Ok(ClusterApi {
            store,
            pins,
            peer: PeerId::parse(&options.peer_id).map_err(|e| e.to_string())?,
            peername: options.peername,
            credentials: options.credentials,
            data_dir: options.data_dir,
            max_upload: options.max_upload,
            started: Instant::now(),
            bandwidth: options.bandwidth,
            names: options.names,
            pinning: options.pinning,
            // Addresses the node printed always parse; one that did not would only be missing.
            ipfs_addresses: options
                .ipfs_addresses
                .iter()
                .filter_map(|a| types::Multiaddr::parse(a).ok())
                .collect(),
            last_rates: Mutex::new(BTreeMap::new()),
            denylist: options.denylist,
            uploads: options.uploads,
            body_timeout: options.body_timeout,
            allowed_origins: options.allowed_origins,
        })
    }

    /// 410 when the denylist blocks `/ipfs/<cid>` (its block or the whole DAG below it).
    fn check_blocked(&self, cid: &Cid) -> Result<(), ApiFailure> {
        match self.denylist.check_ipfs(cid, &[]) {
            Some(blocked) => Err(crate::store::Error::from(blocked).into()),
            None => Ok(()),
        }
    }

    async fn dispatch(&self, request: Request<Incoming>) -> Result<Response, ApiFailure> {
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let query_text = request.uri().query().unwrap_or("").to_owned();
        let query = params::Query::parse(&query_text);
        if !self.credentials.is_empty() && !auth::is_public(method.as_str(), &path) {
            let header = request
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes());
            if let Err(failure) = auth::check(header, &self.credentials) {
                return Err(ApiFailure::Auth(failure));
            }
        }
        if method == Method::OPTIONS {
            let mut response = empty(StatusCode::NO_CONTENT);
            // Private Network Access: granted only to the origins the operator allows, as
            // nothing here is for pages to change.
            let origin = request.headers().get(header::ORIGIN);
            if crate::http::cors::private_network_requested(request.headers())
                && origin.is_some_and(|o| self.allowed_origins.lists(o.as_bytes()))
            {
                response.headers_mut().insert(
                    crate::http::cors::ALLOW_PRIVATE_NETWORK,
                    HeaderValue::from_static("true"),
                );
            }
            return Ok(response);
        }
        // The Cluster API is not for pages to change: a simple cross-origin POST needs no
        // preflight, so the Origin is checked here (reads keep their CORS).
        if !matches!(method, Method::GET | Method::HEAD) {
            if let Some(origin) = request.headers().get(header::ORIGIN) {
                if !self.allowed_origins.lists(origin.as_bytes()) {
                    return Err(ApiFailure::status(
                        StatusCode::FORBIDDEN,
                        format!(
                            "requests from origin {} may not change anything here; allow it \
                             with --allow-origin",
                            String::from_utf8_lossy(origin.as_bytes())
                        ),
                    ));
                }
            }
        }
        if path.len() > 1 && path.ends_with('/') {
            // Upstream's router redirects a trailing slash away.
            let mut location = path.trim_end_matches('/').to_owned();
            if !query_text.is_empty() {
                location.push('?');
                location.push_str(&query_text);
            }
            let mut response = empty(StatusCode::TEMPORARY_REDIRECT);
            if let Ok(v) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            return Ok(response);
        }
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let m = method.as_str();
        match (m, segments.as_slice()) {
            ("GET", ["health"]) => Ok(empty(StatusCode::NO_CONTENT)),
            ("GET", ["id"]) => json(&self.id()),
            ("GET", ["version"]) => json(&types::Version {
                version: CLUSTER_VERSION.to_owned(),
            }),
            ("GET", ["peers"]) => stream(vec![self.id()]),
            ("DELETE", ["peers", peer]) => {
                let peer = PeerId::parse(peer).map_err(|e| ApiFailure::bad(e.to_string()))?;
                if peer == self.peer {
                    Err(ApiFailure::status(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "cannot remove the only peer of this cluster".into(),
                    ))
                } else {
                    Err(ApiFailure::status(
                        StatusCode::NOT_FOUND,
                        format!("peer {peer} is not part of the cluster"),
                    ))
                }
            }
            ("POST", ["add"]) => self.add(request, &query).await,
            ("GET", ["allocations"]) => {
                let filter = params::allocations_filter(&query).map_err(ApiFailure::param)?;
                let pins: Vec<Pin> = self
                    .pins
                    .list()
                    .map_err(ApiFailure::from)?
                    .iter()
                    .map(|p| self.cluster_pin(p))
                    .filter(|p| filter.matches(p.pin_type))
                    .collect();
                stream(pins)
            }
            ("GET", ["allocations", cid]) => {
                let cid = parse_cid(cid)?;
                match self.pins.get(&cid).map_err(ApiFailure::from)? {
                    Some(pin) => json(&self.cluster_pin(&pin)),
                    None => Err(not_in_pinset()),
                }
            }
            ("GET", ["pins"]) => {
                let filter = params::status_filter(&query).map_err(ApiFailure::param)?;
                let mut infos = Vec::new();
                match params::status_cids(&query).map_err(ApiFailure::param)? {
                    Some(cids) => {
                        for cid in &cids {
                            infos.push(self.status(cid).await?);
                        }
                    }
                    None => {
                        for pin in self.pins.list().map_err(ApiFailure::from)? {
                            infos.push(self.status_of_pin(&pin).await);
                        }
                    }
                }
                let infos = infos
                    .into_iter()
                    .filter(|info| {
                        filter == TrackerStatus::UNDEFINED
                            || info
                                .peer_map
                                .as_ref()
                                .is_some_and(|m| m.values().any(|s| s.status.matches(filter)))
                    })
                    .collect();
                stream(infos)
            }
            ("POST", ["pins", "recover"]) => {
                let mut infos: Vec<GlobalPinInfo> = Vec::new();
                for pin in self.pins.list().map_err(ApiFailure::from)? {
                    self.recover(&pin).await;
                    infos.push(self.status_of_pin(&pin).await);
                }
                stream(infos)
            }
            ("GET", ["pins", cid]) => json(&self.status(&parse_cid(cid)?).await?),
            ("POST", ["pins", cid, "recover"]) => {
                let cid = parse_cid(cid)?;
                if let Some(pin) = self.pins.get(&cid).map_err(ApiFailure::from)? {
                    self.recover(&pin).await;
                }
                json(&self.status(&cid).await?)
            }
            ("POST", ["pins", kind @ ("ipfs" | "ipns" | "ipld"), rest @ ..]) => {
                let cid = self.resolve_path(kind, rest).await?;
                self.pin(cid, &query).await
            }
            ("POST", ["pins", cid]) => self.pin(parse_cid(cid)?, &query).await,
            ("DELETE", ["pins", kind @ ("ipfs" | "ipns" | "ipld"), rest @ ..]) => {
                let cid = self.resolve_path(kind, rest).await?;
                self.unpin(&cid).await
            }
            ("DELETE", ["pins", cid]) => self.unpin(&parse_cid(cid)?).await,
            ("GET", ["monitor", "metrics"]) => json(&["freespace", "numpin", "ping", "tag:group"]),
            ("GET", ["monitor", "metrics", name]) => json(&self.metrics(name)?),
            ("GET", ["health", "alerts"]) => json(&Vec::<types::Alert>::new()),
            ("GET", ["health", "graph"]) => json(&self.graph()),
            ("GET", ["health", "bandwidth"]) => json(&self.bandwidth()),
            ("POST", ["ipfs", "gc"]) => self.gc().await,
            ("POST", ["token"]) => self.token(&request),
            (_, route) if known_route(route) => Err(ApiFailure::status(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed".into(),
            )),
            _ => Err(ApiFailure::status(
                StatusCode::NOT_FOUND,
                "not found".into(),
            )),
        }
    }

    fn id(&self) -> types::Id {
        types::Id {
            id: self.peer.clone(),
            addresses: Some(Vec::new()),
            cluster_peers: vec![self.peer.clone()],
            cluster_peers_addresses: Vec::new(),
            version: format!("{CLUSTER_VERSION}+cairn-{}", env!("CARGO_PKG_VERSION")),
            commit: String::new(),
            rpc_protocol_version: "/ipfscluster/1.0/rpc".to_owned(),
            error: String::new(),
            ipfs: types::IpfsId {
                id: Some(self.peer.clone()),
                addresses: Some(self.ipfs_addresses.clone()),
                error: String::new(),
            },
            peername: self.peername.clone(),
        }
    }

    /// A stored pin as the Cluster API shows it.
    fn cluster_pin(&self, pin: &StoredPin) -> Pin {
        let user_allocations: Vec<PeerId> = pin
            .user_allocations
            .iter()
            .filter_map(|p| PeerId::parse(p).ok())
            .collect();
        let mode = match pin.mode {
            StoredMode::Recursive => types::PinMode::Recursive,
            StoredMode::Direct => types::PinMode::Direct,
        };
        let allocations = if user_allocations.is_empty() {
            Vec::new()
        } else {
            vec![self.peer.clone()]
        };
        Pin {
            options: PinOptions {
                replication_factor_min: i64::from(pin.replication_factor_min),
                replication_factor_max: i64::from(pin.replication_factor_max),
                name: pin.name.clone(),
                mode,
                shard_size: pin.shard_size,
                user_allocations: (!user_allocations.is_empty()).then_some(user_allocations),
                expire_at: if pin.expire_at == 0 {
                    Timestamp::ZERO
                } else {
                    Timestamp::from_unix(pin.expire_at as i64, 0)
                },
                metadata: Some(pin.metadata.clone()),
                pin_update: pin.pin_update.as_deref().and_then(|c| c.parse().ok()),
                origins: Some(
                    pin.origins
                        .iter()
                        .filter_map(|o| types::Multiaddr::parse(o).ok())
                        .collect(),
                ),
            },
            cid: pin.root().ok(),
            pin_type: PinType::Data,
            allocations: Some(allocations),
            max_depth: mode.max_depth(),
            reference: None,
            timestamp: Timestamp::from_unix(pin.timestamp as i64, 0),
        }
    }

    /// Status of a pinned DAG: pinned when every block is here, else a pin error saying what
    /// is missing (there is no remote source of blocks to fetch from yet).
    async fn status_of_pin(&self, pin: &StoredPin) -> GlobalPinInfo {
        let cluster = self.cluster_pin(pin);
        let progress = match (&self.pinning, pin.root()) {
            (Some(pinning), Ok(root)) => pinning.progress(&root),
            _ => PinProgress::Idle,
        };
        let (status, error) = match (progress, pin.root()) {
            (PinProgress::Running, Ok(_)) => (TrackerStatus::PINNING, String::new()),
            (PinProgress::Failed(why), Ok(_)) => (TrackerStatus::PIN_ERROR, why),
            (PinProgress::Idle, Ok(root)) => {
                let complete = match pin.mode {
                    StoredMode::Direct => {
                        BlockSource::has(&*self.store, &root).await.unwrap_or(false)
                    }
                    StoredMode::Recursive => {
                        gc::is_complete(&*self.store, root).await.unwrap_or(false)
                    }
                };
                if complete {
                    (TrackerStatus::PINNED, String::new())
                } else {
                    (
                        TrackerStatus::PIN_ERROR,
                        "blocks of this DAG are missing from the store and no peer can provide \
                         them; import them (e.g. a CAR) and recover"
                            .to_owned(),
                    )
                }
            }
            (_, Err(e)) => (TrackerStatus::PIN_ERROR, e.to_string()),
        };
        self.global_info(cluster.cid, &cluster, status, error)
    }

    fn global_info(
        &self,
        cid: Option<Cid>,
        pin: &Pin,
        status: TrackerStatus,
        error: String,
    ) -> GlobalPinInfo {
        let mut peer_map = BTreeMap::new();
        peer_map.insert(
            self.peer.to_string(),
            PinInfoShort {
                peername: self.peername.clone(),
                ipfs_peer_id: Some(self.peer.clone()),
                ipfs_peer_addresses: self.ipfs_addresses.clone(),
                status,
                timestamp: Timestamp::now(),
                error,
                attempt_count: 0,
                priority_pin: false,
            },
        );
        GlobalPinInfo {
            cid,
            name: pin.options.name.clone(),
            allocations: pin.allocations.clone(),
            origins: pin.options.origins.clone(),
            created: pin.timestamp,
            metadata: pin.options.metadata.clone(),
            peer_map: Some(peer_map),
        }
    }

    async fn status(&self, cid: &Cid) -> Result<GlobalPinInfo, ApiFailure> {
        match self.pins.get(cid).map_err(ApiFailure::from)? {
            Some(pin) => Ok(self.status_of_pin(&pin).await),
            None => {
                let pin = Pin {
                    options: PinOptions::default(),
                    cid: Some(*cid),
                    pin_type: PinType::Bad,
                    allocations: None,
                    max_depth: 0,
                    reference: None,
                    timestamp: Timestamp::ZERO,
                };
                Ok(self.global_info(Some(*cid), &pin, TrackerStatus::UNPINNED, String::new()))
            }
        }
    }

    /// The CID an `/ipfs`, `/ipld` or `/ipns` path names (IPNS names and DNSLink domains
    /// resolved first).
    async fn resolve_path(&self, kind: &str, rest: &[&str]) -> Result<Cid, ApiFailure> {
        let bad = |e: String| ApiFailure::bad(format!("error parsing path: {e}"));
        let Some((first, path)) = rest.split_first() else {
            return Err(bad("no CID or name in the path".into()));
        };
        let mut segments: Vec<String> = Vec::new();
        let asked: Vec<&str> = path.iter().copied().filter(|s| !s.is_empty()).collect();
        let blocked = if kind == "ipns" {
            self.denylist.check_ipns(first, &asked)
        } else {
            crate::ipld::cid::parse(first)
                .ok()
                .and_then(|root| self.denylist.check_ipfs(&root, &asked))
        };
        if let Some(blocked) = blocked {
            return Err(crate::store::Error::from(blocked).into());
        }
        let root = if kind == "ipns" {
            let names = self
                .names
                .as_ref()
                .ok_or_else(|| bad("IPNS is not enabled".into()))?;
            let resolution = names.resolve(first).await.map_err(|e| bad(e.to_string()))?;
            segments = resolution.segments;
            resolution.root
        } else {
            crate::ipld::cid::parse(first).map_err(|e| bad(e.to_string()))?
        };
        segments.extend(path.iter().filter(|s| !s.is_empty()).map(|s| s.to_string()));
        if segments.is_empty() {
            return Ok(root);
        }
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        resolve::resolve(&*self.store, root, &segments)
            .await
            .map(|r| r.cid)
            .map_err(|e| bad(e.to_string()))
    }

    /// Runs pinset and store work (file writes and fsyncs, GC walks) on the blocking pool,
    /// never on an async worker.
    async fn on_disk<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Blockstore, &Pinset) -> Result<T, ApiFailure> + Send + 'static,
    ) -> Result<T, ApiFailure> {
        let (store, pins) = (Arc::clone(&self.store), Arc::clone(&self.pins));
        tokio::task::spawn_blocking(move || op(&store, &pins))
            .await
            .map_err(ApiFailure::internal)?
    }

    async fn pin(&self, cid: Cid, query: &params::Query<'_>) -> Result<Response, ApiFailure> {
        self.check_blocked(&cid)?;
        let options =
            params::pin_options_from_query(query, Timestamp::now()).map_err(ApiFailure::param)?;
        let mut stored = stored_pin(&cid, &options);
        let previous = options.pin_update;
        let stored = self
            .on_disk(move |_, pins| {
                if let Some(previous) = previous {
                    if let Some(old) = pins.get(&previous)? {
                        if stored.name.is_empty() {
                            stored.name = old.name.clone();
                        }
                        if stored.metadata.is_empty() {
                            stored.metadata = old.metadata.clone();
                        }
                    }
                }
                pins.add(&stored)?;
                if let Some(previous) = previous {
                    if previous.hash() != cid.hash() {
                        pins.remove(&previous)?;
                    }
                }
                Ok(stored)
            })
            .await?;
        if let (Some(pinning), Ok(root)) = (&self.pinning, stored.root()) {
            pinning.start(root, stored.mode == StoredMode::Recursive);
        }
        json(&self.cluster_pin(&stored))
    }

    /// Fetches again what a pin in error lacks (`recover`): a pin whose DAG is incomplete
    /// and not being fetched gets a new job.
    async fn recover(&self, pin: &StoredPin) {
        let (Some(pinning), Ok(root)) = (&self.pinning, pin.root()) else {
            return;
        };
        if pinning.progress(&root) == PinProgress::Running {
            return;
        }
        let complete = match pin.mode {
            StoredMode::Direct => BlockSource::has(&*self.store, &root).await.unwrap_or(false),
            StoredMode::Recursive => gc::is_complete(&*self.store, root).await.unwrap_or(false),
        };
        if !complete || matches!(pinning.progress(&root), PinProgress::Failed(_)) {
            pinning.start(root, pin.mode == StoredMode::Recursive);
        }
    }

    async fn unpin(&self, cid: &Cid) -> Result<Response, ApiFailure> {
        let cid = *cid;
        match self.on_disk(move |_, pins| Ok(pins.remove(&cid)?)).await? {
            Some(pin) => json(&self.cluster_pin(&pin)),
            None => Err(not_in_pinset()),
        }
    }

    fn metrics(&self, name: &str) -> Result<Vec<Metric>, ApiFailure> {
        let now_ns = unix_nanos();
        let value = match name {
            "freespace" => crate::store::free_space(&self.data_dir).to_string(),
            "numpin" => self
                .pins
                .list()
                .map_err(ApiFailure::from)?
                .len()
                .to_string(),
            "ping" => String::new(),
            "tag:group" => "default".to_owned(),
            _ => return Ok(Vec::new()),
        };
        Ok(vec![Metric {
            name: name.to_owned(),
            peer: self.peer.clone(),
            value,
            // Metrics are computed when asked, so they are always fresh: valid for 30 s.
            expire: now_ns + 30_000_000_000,
            valid: true,
            weight: 0,
            partitionable: name == "freespace",
            received_at: now_ns,
        }])
    }

    fn graph(&self) -> types::ConnectGraph {
        let me = self.peer.to_string();
        types::ConnectGraph {
            cluster_id: self.peer.clone(),
            id_to_peername: BTreeMap::from([(me.clone(), self.peername.clone())]),
            ipfs_links: BTreeMap::from([(me.clone(), Vec::new())]),
            cluster_links: BTreeMap::from([(me.clone(), Vec::new())]),
            cluster_trust_links: BTreeMap::from([(me.clone(), true)]),
            cluster_to_ipfs: BTreeMap::from([(me, self.peer.clone())]),
        }
    }

    fn bandwidth(&self) -> types::BandwidthByProtocol {
        let mut out = types::BandwidthByProtocol::new();
        let now = Instant::now();
        let mut last = self.last_rates.lock().unwrap_or_else(|e| e.into_inner());
        for (protocol, counters) in &self.bandwidth {
            let total_in = counters.read();
            let total_out = counters.written();
            let (since, prev_in, prev_out) =
                last.get(protocol).copied().unwrap_or((self.started, 0, 0));
            let secs = now.duration_since(since).as_secs_f64().max(1e-3);
            out.insert(
                protocol.clone(),
                types::Bandwidth {
                    total_in: total_in as i64,
                    total_out: total_out as i64,
                    rate_in: (total_in - prev_in.min(total_in)) as f64 / secs,
                    rate_out: (total_out - prev_out.min(total_out)) as f64 / secs,
                },
            );
            last.insert(protocol.clone(), (now, total_in, total_out));
        }
        out
    }

    async fn gc(&self) -> Result<Response, ApiFailure> {
        let report = self
            .on_disk(|store, pins| Ok(gc::collect(store, pins, &[])?))
            .await?;
        let keys = report
            .removed
            .into_iter()
            .map(|cid| types::IpfsRepoGc {
                key: Some(cid),
                error: String::new(),
            })
            .collect();
        let mut peer_map = BTreeMap::new();
        peer_map.insert(
            self.peer.to_string(),
            types::RepoGc {
                peer: self.peer.clone(),
                peername: self.peername.clone(),
                keys,
                error: String::new(),
            },
        );
        json(&types::GlobalRepoGc { peer_map })
    }

    fn token(&self, request: &Request<Incoming>) -> Result<Response, ApiFailure> {
        if self.credentials.is_empty() {
            return Err(ApiFailure::status(
                StatusCode::UNAUTHORIZED,
                "unauthorized: no credentials configured".into(),
            ));
        }
        let header = request
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        let user = auth::check(header, &self.credentials).map_err(ApiFailure::Auth)?;
        let token = auth::token_for(&self.credentials, &user)
            .ok_or_else(|| ApiFailure::status(StatusCode::UNAUTHORIZED, "unauthorized".into()))?;
        json(&types::TokenReply { token })
    }

    /// `POST /add`: the multipart format Go clients send (or a CAR with `format=car`),
    /// through the shared importer; AddedOutput lines as upstream writes them.
    async fn add(
        &self,
        request: Request<Incoming>,
        query: &params::Query<'_>,
    ) -> Result<Response, ApiFailure> {
        let add =
            params::add_params_from_query(query, Timestamp::now()).map_err(ApiFailure::param)?;
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let length = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        // Upstream reads the body with Go's `Request.MultipartReader` and answers 400 to
        // anything else (an empty body included): never a body pinned as a file.
        if !upload::is_form(content_type.as_deref()) {
            return Err(ApiFailure::bad(
                "request Content-Type isn't multipart/form-data".into(),
            ));
        }
        let client = crate::http::server::client_ip(request.extensions());
        let mut lines: Vec<AddedOutput> = Vec::new();
        let allocations = Vec::new();
        let root = match add.format {
            params::AddFormat::Car => {
                let (root, bytes, size, lease) = self
                    .add_car(request.into_body(), content_type.as_deref(), length, client)
                    .await?;
                lines.push(AddedOutput {
                    name: String::new(),
                    cid: Some(root),
                    bytes,
                    size,
                    allocations,
                });
                (root, lease)
            }
            _ => {
                let params = import_params(&add)?;
                let uploaded = upload::upload(
                    Arc::clone(&self.store),
                    request.into_body(),
                    content_type.as_deref(),
                    length,
                    UploadOptions {
                        params,
                        max_bytes: self.max_upload,
                        form_names: FormNames::GoClient,
                        hidden: add.hidden,
                        body_timeout: self.body_timeout,
                        slots: self.uploads.clone(),
                        client,
                    },
                )
                .await
                .map_err(ApiFailure::Http)?;
                let top_level: Vec<&(String, crate::services::add::Entry)> = uploaded
                    .added
                    .iter()
                    .filter(|(p, _)| !p.is_empty() && !p.contains('/'))
                    .collect();
                let root = if add.wrap {
                    uploaded.root
                } else {
                    match top_level.last() {
                        Some((_, entry)) => *entry,
                        None => uploaded.root,
                    }
                };
                for (path, entry) in &uploaded.added {
                    if path.is_empty() && !add.wrap {
                        continue;
                    }
                    if add.progress {
                        lines.push(AddedOutput {
                            name: path.clone(),
                            cid: None,
                            bytes: entry.size,
                            size: 0,
                            allocations: Vec::new(),
                        });
                    }
                    lines.push(AddedOutput {
                        name: path.clone(),
                        cid: Some(entry.cid),
                        bytes: 0,
                        size: entry.tsize,
                        allocations: Vec::new(),
                    });
                }
                (root.cid, uploaded.lease)
            }
        };
        let (root, lease) = root;
        // Blocked content is neither pinned nor reported as added (its blocks, unpinned, go
        // at the next GC).
        self.check_blocked(&root)?;
        if !add.no_pin {
            // A disk write: off the async workers, before the lease goes.
            let stored = stored_pin(&root, &add.pin_options);
            let pins = Arc::clone(&self.pins);
            tokio::task::spawn_blocking(move || pins.add(&stored))
                .await
                .map_err(ApiFailure::internal)??;
        }
        drop(lease);
        if let Some(last) = lines.last_mut() {
            last.allocations = vec![self.peer.clone()];
        }
        if add.stream_channels {
            let mut response = stream(lines)?;
            response
                .headers_mut()
                .insert("x-chunked-output", HeaderValue::from_static("1"));
            Ok(response)
        } else {
            json(&lines)
        }
    }

    /// A CAR sent as the body or as the one file part of a form, through the ingest
    /// service: its one root, block bytes twice (upstream reports them as both `bytes` and
    /// `size`), and the write lease.
    async fn add_car(
        &self,
        body: Incoming,
        content_type: Option<&str>,
        length: Option<u64>,
        client: Option<std::net::IpAddr>,
    ) -> Result<(Cid, u64, u64, crate::store::GcLock), ApiFailure> {
        upload::check_length(self.max_upload, length).map_err(ApiFailure::Http)?;
        let _slot = self.uploads.admit(client).map_err(ApiFailure::Http)?;
        let form = upload::form_decoder(
            content_type,
            FormNames::GoClient,
            crate::http::multipart::Limits::default(),
        )
        .map_err(ApiFailure::Http)?;
        let ingest = ingest::car(Arc::clone(&self.store), form, true);
        let added = upload::pump(body, ingest, self.max_upload, self.body_timeout)
            .await
            .map_err(ApiFailure::Http)?
            .map_err(|e| match e {
                // Our disk or worker failing is ours; anything else is the CAR's.
                crate::services::Error::Store(crate::store::Error::Io { .. })
                | crate::services::Error::Internal(_) => ApiFailure::from(e),
                e => ApiFailure::bad(e.to_string()),
            })?;
        let root = added.import.roots.first().copied().ok_or_else(|| {
            ApiFailure::bad("a CAR to add must have exactly one root; this one has 0".into())
        })?;
        let bytes = added.import.block_bytes;
        Ok((root, bytes, bytes, added.lease))
    }
}

fn import_params(add: &params::AddParams) -> Result<ImportParams, ApiFailure> {
    let cid_version = match add.cid_version {
        0 => 0,
        1 => 1,
        other => return Err(ApiFailure::bad(format!("unknown CID version {other}"))),
    };
    let hash = crate::services::add::file::hash_code_for_name(&add.hash_fun)
        .map_err(|e| ApiFailure::bad(e.to_string()))?;
    Ok(ImportParams {
        // A hash other than sha2-256 needs CIDv1, as in Kubo.
        cid_version: if hash != 0x12 { 1 } else { cid_version },
        raw_leaves: add.raw_leaves,
        chunker: ChunkerSpec::parse(&add.chunker).map_err(|e| ApiFailure::bad(e.to_string()))?,
        hash,
        layout: match add.layout {
            params::Layout::Trickle => Layout::Trickle,
            _ => Layout::Balanced,
        },
        ..ImportParams::default()
    })
}

fn stored_pin(cid: &Cid, options: &PinOptions) -> StoredPin {
    let mut pin = StoredPin::recursive(cid);
    pin.mode = match options.mode {
        types::PinMode::Direct => StoredMode::Direct,
        types::PinMode::Recursive => StoredMode::Recursive,
    };
    pin.name = options.name.clone();
    // 0 means "the cluster's default", which for a one-peer cluster is everywhere (-1).
    let factor = |f: i64| {
        if f == 0 {
            -1
        } else {
            f.clamp(-1, i64::from(i32::MAX)) as i32
        }
    };
    pin.replication_factor_min = factor(options.replication_factor_min);
    pin.replication_factor_max = factor(options.replication_factor_max);
    pin.shard_size = options.shard_size;
    pin.user_allocations = options
        .user_allocations
        .iter()
        .flatten()
        .map(|p| p.to_string())
        .collect();
    pin.expire_at = if options.expire_at.is_unset() {
        0
    } else {
        options.expire_at.unix_secs().max(1) as u64
    };
    pin.metadata = options.metadata.clone().unwrap_or_default();
    pin.pin_update = options.pin_update.map(|c| c.to_string());
    pin.origins = options
        .origins
        .iter()
        .flatten()
        .map(|o| o.to_string())
        .collect();
    pin
}

fn known_route(segments: &[&str]) -> bool {
    matches!(
        segments,
        ["health"]
            | ["id"]
            | ["version"]
            | ["peers"]
            | ["peers", _]
            | ["add"]
            | ["allocations"]
            | ["allocations", _]
            | ["pins", ..]
            | ["monitor", "metrics", ..]
            | ["health", _]
            | ["ipfs", "gc"]
            | ["token"]
    )
}

fn parse_cid(text: &str) -> Result<Cid, ApiFailure> {
    types::parse_cid(text).map_err(|e| ApiFailure::bad(format!("error decoding Cid: {e}")))
}

fn not_in_pinset() -> ApiFailure {
    ApiFailure::status(
        StatusCode::NOT_FOUND,
        "pin is not part of the pinset".into(),
    )
}

fn unix_nanos() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// Why a Cluster API request failed: rendered as `{"code":…,"message":…}`.
enum ApiFailure {
    Status(StatusCode, String),
    Auth(auth::AuthFailure),
    Http(HttpError),
}

/// Failures of the layers below answer with the status the gateway gives them too
/// ([`crate::http::error::status_of`]), rendered as the Cluster API renders errors.
impl From<crate::services::Error> for ApiFailure {
    fn from(e: crate::services::Error) -> Self {
        ApiFailure::Http(e.into())
    }
}

impl From<crate::store::Error> for ApiFailure {
    fn from(e: crate::store::Error) -> Self {
        ApiFailure::Http(e.into())
    }
}

impl ApiFailure {
    fn status(status: StatusCode, message: String) -> Self {
        ApiFailure::Status(status, message)
    }
    fn bad(message: String) -> Self {
        ApiFailure::Status(StatusCode::BAD_REQUEST, message)
    }
    fn param(e: params::ParamError) -> Self {
        ApiFailure::bad(e.0.into_owned())
    }
    fn internal(e: impl std::fmt::Display) -> Self {
        ApiFailure::Status(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }

    fn into_response(self) -> Response {
        let mut extra = Vec::new();
        let (status, message, www) = match self {
            ApiFailure::Status(status, message) => (status, message, &[][..]),
            ApiFailure::Http(e) => {
                // `Retry-After`, `Connection: close` and the like go with the JSON error.
                extra = e.headers;
                (e.status, e.message, &[][..])
            }
            ApiFailure::Auth(failure) => (
                StatusCode::from_u16(failure.status()).unwrap_or(StatusCode::UNAUTHORIZED),
                failure.message().to_owned(),
                failure.www_authenticate(),
            ),
        };
        let body = types::to_go_json(&ApiError {
            code: status.as_u16(),
            message,
        })
        .unwrap_or_default();
        let mut response = Response::new(Body::full(body));
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for value in www {
            response
                .headers_mut()
                .append(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
        }
        for (name, value) in extra {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// One JSON value (Go's encoding, newline-terminated).
fn json<T: Serialize + ?Sized>(value: &T) -> Result<Response, ApiFailure> {
    let body = types::to_go_json(value).map_err(ApiFailure::internal)?;
    let mut response = Response::new(Body::full(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// A streaming reply: one JSON object per line, 204 when there are none, ending with the
/// `X-Stream-Error` trailer (empty on success).
fn stream<T: Serialize>(items: Vec<T>) -> Result<Response, ApiFailure> {
    if items.is_empty() {
        return Ok(empty(StatusCode::NO_CONTENT));
    }
    let lines = items
        .iter()
        .map(|item| types::to_go_json(item).map(Bytes::from))
        .collect::<Result<VecDeque<_>, _>>()
        .map_err(ApiFailure::internal)?;
    let mut response = Response::new(Body::stream(NdjsonBody {
        lines,
        trailer_sent: false,
    }));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::TRAILER, HeaderValue::from_static("X-Stream-Error"));
    Ok(response)
}

/// Lines, then the trailer.
struct NdjsonBody {
    lines: VecDeque<Bytes>,
    trailer_sent: bool,
}

impl http_body::Body for NdjsonBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: StdPin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(line) = self.lines.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(line))));
        }
        if self.trailer_sent {
            return Poll::Ready(None);
        }
        self.trailer_sent = true;
        let mut trailers = HeaderMap::new();
        trailers.insert(X_STREAM_ERROR, HeaderValue::from_static(""));
        Poll::Ready(Some(Ok(Frame::trailers(trailers))))
    }

    fn is_end_stream(&self) -> bool {
        self.lines.is_empty() && self.trailer_sent
    }
}

impl Handler for ClusterApi {
    type Begun = ();

    async fn handle(&self, request: Request<Incoming>, (): ()) -> Response {
        let head = request.method() == Method::HEAD;
        let mut response = match self.dispatch(request).await {
            Ok(response) => response,
            Err(failure) => failure.into_response(),
        };
        if head {
            *response.body_mut() = Body::empty();
        }
        apply_cors(response.headers_mut());
        response
    }

    /// The server's refusals (a bad `Host`, an oversized head) as the API's JSON errors.
    fn refuse(&self, error: HttpError) -> Response {
        let mut response = ApiFailure::Http(error).into_response();
        apply_cors(response.headers_mut());
        response
    }
}

/// Upstream's CORS defaults.
fn apply_cors(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(
            "Content-Type, X-Stream-Output, X-Chunked-Output, X-Content-Length",
        ),
    );
}

#[cfg(test)]
mod error_tests {
    use super::*;

    /// One failure, one status: the Cluster API answers a lower layer's failure with the
    /// status the gateway gives it (a disk error is a 500 on both, a block that does not
    /// match its CID a 400 on both).
    #[test]
    fn failures_get_the_gateways_status() {
        let cid: Cid = "bafkqaaa".parse().unwrap();
        let disk = || crate::store::Error::Io {
            op: "write block",
            path: "blocks/x".into(),
            source: std::io::Error::other("no space left on device"),
        };
        let cases: Vec<(crate::services::Error, StatusCode)> = vec![
            (disk().into(), StatusCode::INTERNAL_SERVER_ERROR),
            (
                crate::store::Error::HashMismatch { cid }.into(),
                StatusCode::BAD_REQUEST,
            ),
            (
                crate::services::Error::NotFound("x".into()),
                StatusCode::NOT_FOUND,
            ),
        ];
        for (error, status) in cases {
            let text = error.to_string();
            assert_eq!(crate::http::error::status_of(&error), status, "{text}");
            let response = ApiFailure::from(error).into_response();
            assert_eq!(response.status(), status, "{text}");
        }
        let gateway = HttpError::from(disk());
        assert_eq!(gateway.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            ApiFailure::from(disk()).into_response().status(),
            gateway.status
        );
        // The cause is kept, not flattened into text only.
        let source = gateway.source.expect("the store error is the source");
        assert!(std::error::Error::source(&*source).is_some());
    }
}
