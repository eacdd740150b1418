//! Wiring: opens the data directory and runs what each CLI command asks for. `main.rs` only
//! parses arguments and calls in here, so tests and benches can drive the same code.

pub mod add;

use std::fs::File;
use std::io::BufReader;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cluster::auth::Credentials;
use crate::cluster::{ClusterApi, ClusterOptions};
use crate::gateway::{Gateway, GatewayLimits, GatewayOptions, ListingDefault};
use crate::http::access_log::{AccessLog, LogFormat};
use crate::http::cors::OriginPolicy;
use crate::http::health::Health;
use crate::http::metrics::{GatewayMetrics, MetricsApi, NodeMetrics};
use crate::http::server::{self, ByteCounters, ServerLimits, Shutdown};
use crate::http::upload::UploadSlots;
use crate::http::workers::ConnectionWorkers;
use crate::network::bitswap::client::FindProviders;
use crate::network::bitswap::swarm::Bitswap;
use crate::network::http_client::Endpoint;
use crate::network::providers::{AllProviders, DelegatedProviders, DhtProviders};
use crate::network::remote::{RemoteBlocks, RemoteOptions};
use crate::network::routing_v1::{RoutingOptions, RoutingV1};
use crate::network::{self, bitswap, Multiaddr, NetworkConfig, PeerId};
use crate::rpc::{RpcApi, RpcOptions};
use crate::services::denylist::{Denylist, DenylistOptions, Withheld};
use crate::services::gc::{self, GcReport};
use crate::services::import::{import_car, CarImport};
use crate::services::keystore::Keystore;
use crate::services::names::{NameOptions, NameService, NetworkNames};
use crate::services::pinning::Pinning;
use crate::services::pins::{Pin, Pinset};
use crate::services::providing::{self, ProvideMode};
use crate::services::pubsub::{BusLimits, LocalBus, NetworkPubsub, PubsubBackend};
use crate::services::retrieval::{NetworkSource, Retrieval, SourceKind, WalkSource};
use crate::store::{Blockstore, SharedSource, StoreOptions};

/// The data directory: `--data`, else `$CAIRN_DATA`, else the platform's data directory.
pub fn data_dir(explicit: Option<PathBuf>) -> PathBuf {
    explicit
        .or_else(|| std::env::var_os("CAIRN_DATA").map(PathBuf::from))
        .or_else(|| dirs::data_dir().map(|d| d.join("cairn")))
        .unwrap_or_else(|| PathBuf::from(".cairn"))
}

/// Opens the store in a data directory.
pub fn open_store(data: &Path, options: StoreOptions) -> Result<Arc<Blockstore>, String> {
    Blockstore::open(data, options)
        .map(Arc::new)
        .map_err(|e| format!("cannot open the block store in {}: {e}", data.display()))
}

/// What `cairn serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub data: PathBuf,
    pub gateway: SocketAddr,
    pub store: StoreOptions,
    pub limits: ServerLimits,
    /// Accept writes even on a non-loopback address.
    pub writable: bool,
    /// Where the IPFS Cluster REST API listens (None: off).
    pub cluster_api: Option<SocketAddr>,
    /// Where the Kubo RPC API listens (None: off).
    pub rpc_api: Option<SocketAddr>,
    /// Where the Prometheus metrics are served (None: off, and nothing is counted).
    pub metrics: Option<SocketAddr>,
    /// `USER:PASSWORD` pairs turning on Cluster API authentication.
    pub cluster_auth: Vec<String>,
    /// Largest upload accepted (bytes).
    pub max_upload: Option<u64>,
    /// IPNS: record lifetime, DNS for DNSLink, static DNSLink entries.
    pub names: NameOptions,
    /// Hosts served as subdomain gateways.
    pub subdomain_hosts: Vec<String>,
    /// Hosts that serve only trustless responses (raw blocks, CARs, IPNS records).
    pub trustless_hosts: Vec<String>,
    /// What a directory answers to a request without `Accept`.
    pub listing_without_accept: ListingDefault,
    /// Concurrency cap, retrieval timeout, range size limit.
    pub gateway_limits: GatewayLimits,
    /// Trustless gateways asked for blocks this node does not have.
    pub remote_backends: Vec<Endpoint>,
    /// How they are asked.
    pub remote_backend_mode: RemoteMode,
    /// Delegated Routing V1 servers asked for providers (with a libp2p node).
    pub routing_v1: Vec<Endpoint>,
    /// The libp2p node's configuration; None: no libp2p node (`--offline`).
    pub network: Option<NetworkConfig>,
    /// What the node announces in the DHT.
    pub provide: ProvideMode,
    /// Denylists besides `DATA/denylists/*.deny` (`--denylist`), and how often they are
    /// looked at again. `dir` is set from `data` when `None`.
    pub denylists: DenylistOptions,
    /// Where the gateway's access log goes (`-`: standard output), if anywhere.
    pub access_log: Option<String>,
    /// The access log's format (the tracing logs' format is set up by the caller).
    pub log_format: LogFormat,
    /// Uploads in flight at once, across both APIs.
    pub max_uploads: usize,
    /// Uploads one client address may have in flight at once.
    pub max_uploads_per_client: usize,
    /// Origins allowed to write (gateway) or change anything (Cluster API); empty: any origin
    /// on the gateway, none on the Cluster API.
    pub allowed_origins: OriginPolicy,
    /// The bearer token gateway writes need, if any.
    pub write_token: Option<String>,
    /// Bytes pubsub holds for subscribers, all topics together.
    pub pubsub_memory: usize,
    /// Bytes of replayed gateway responses (0: none; see [`crate::http::memo`]).
    pub response_cache_bytes: u64,
}

/// How remote backends are asked for content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RemoteMode {
    /// One `?format=raw` request per block.
    #[default]
    Block,
    /// One `?format=car` request per request's walk (with `dag-scope` and `entity-bytes`),
    /// blocks missing from it asked for one by one.
    Car,
}

/// Bitswap's name in a 504's list of what was tried: with where providers are looked up.
fn bitswap_source_name(options: &ServeOptions) -> String {
    let mut routing = vec!["the DHT".to_owned()];
    routing.extend(options.routing_v1.iter().map(|r| format!("router {r}")));
    format!("bitswap peers (providers from {})", routing.join(", "))
}

/// Where the Bitswap client finds providers: the node's DHTs, and the delegated routers the
/// options name.
fn providers_of(
    node: &network::NetworkHandle,
    routers: Option<&Arc<RoutingV1>>,
) -> Arc<dyn FindProviders<PeerId>> {
    let dht = Arc::new(DhtProviders(node.clone())) as Arc<dyn FindProviders<PeerId>>;
    let Some(routers) = routers else {
        return dht;
    };
    let delegated = DelegatedProviders {
        routing: Arc::clone(routers),
        node: node.clone(),
    };
    Arc::new(AllProviders(vec![dht, Arc::new(delegated)]))
}

/// The delegated routers the options name (None: none).
fn routers_of(options: &ServeOptions) -> Result<Option<Arc<RoutingV1>>, String> {
    if options.routing_v1.is_empty() {
        return Ok(None);
    }
    RoutingV1::new(options.routing_v1.clone(), RoutingOptions::default())
        .map(|routers| Some(Arc::new(routers)))
        .map_err(|e| format!("cannot set up the delegated routers: {e}"))
}

/// The block source requests read from: the store, then Bitswap `peers` (with a libp2p
/// node) and whatever remote backends the options name.
fn retrieval(
    store: &Arc<Blockstore>,
    options: &ServeOptions,
    peers: Option<NetworkSource>,
    denylist: Arc<Denylist>,
) -> Result<Retrieval, String> {
    let mut network: Vec<NetworkSource> = peers.into_iter().collect();
    let mut walks = None;
    if !options.remote_backends.is_empty() {
        let names: Vec<String> = options
            .remote_backends
            .iter()
            .map(|e| e.to_string())
            .collect();
        let remote_options = RemoteOptions {
            // Backends are tried one after another: one that hangs must leave the others
            // time within the request's retrieval timeout.
            timeout: options
                .gateway_limits
                .retrieval_timeout
                .map_or(REMOTE_TIMEOUT, |t| (t / 3).min(REMOTE_TIMEOUT)),
            ..RemoteOptions::default()
        };
        let remote = RemoteBlocks::new(options.remote_backends.clone(), remote_options)
            .map_err(|e| format!("cannot set up the remote backends: {e}"))?;
        network.push(NetworkSource {
            name: format!("remote backends ({})", names.join(", ")),
            kind: SourceKind::Remote,
            source: Arc::new(remote.clone()),
        });
        if options.remote_backend_mode == RemoteMode::Car {
            walks = Some(Arc::new(remote) as Arc<dyn WalkSource>);
        }
    }
    let retrieval = Retrieval::new(Arc::clone(store), network).with_denylist(denylist);
    Ok(match walks {
        Some(walks) => retrieval.with_walks(walks),
        None => retrieval,
    })
}

/// The longest one request to one remote backend may take.
const REMOTE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Where `cairn serve` listens, once it does.
#[derive(Debug, Clone)]
pub struct Listening {
    pub gateway: SocketAddr,
    /// The Cluster API, if on.
    pub cluster: Option<SocketAddr>,
    /// The Kubo RPC API, if on.
    pub rpc: Option<SocketAddr>,
    /// The metrics listener, if on.
    pub metrics: Option<SocketAddr>,
    /// The libp2p node's listen addresses, each ending in `/p2p/<peer id>` (empty offline).
    pub swarm: Vec<Multiaddr>,
}

/// The node's libp2p identity: the keystore's `self` key (created on first use; a corrupt
/// key file is an error, never replaced), which also names it in IPNS, pubsub and the
/// Cluster API.
pub fn node_keypair(data: &Path) -> Result<network::identity::Keypair, String> {
    let keystore = Keystore::open(data).map_err(|e| e.to_string())?;
    Ok(keypair_of(&keystore))
}

fn keypair_of(keystore: &Keystore) -> network::identity::Keypair {
    network::identity::keypair_from_ed25519_seed(keystore.self_key().signing_key().to_bytes())
}

/// Serves until `shutdown` fires. `on_ready` is told the bound addresses (gateway, Cluster
/// API, libp2p node), useful with port 0.
pub async fn serve(
    options: ServeOptions,
    shutdown: Shutdown,
    on_ready: impl FnOnce(&Listening),
) -> Result<(), String> {
    if let Some(limit) = server::raise_descriptor_limit() {
        tracing::debug!(limit, "open-file limit");
    }
    let store = open_store(&options.data, options.store.clone())?;
    let denylist = open_denylists(&options).await?;
    let pins = Arc::new(Pinset::open(&options.data).map_err(|e| e.to_string())?);
    let keystore = Keystore::open(&options.data).map_err(|e| e.to_string())?;
    let listener = server::bind(options.gateway)
        .await
        .map_err(|e| e.to_string())?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let cluster_listener = match options.cluster_api {
        Some(addr) => Some(server::bind(addr).await.map_err(|e| e.to_string())?),
        None => None,
    };
    let cluster_bound = match &cluster_listener {
        Some(l) => Some(l.local_addr().map_err(|e| e.to_string())?),
        None => None,
    };
    let rpc_listener = match options.rpc_api {
        Some(addr) => Some(server::bind(addr).await.map_err(|e| e.to_string())?),
        None => None,
    };
    let rpc_bound = match &rpc_listener {
        Some(l) => Some(l.local_addr().map_err(|e| e.to_string())?),
        None => None,
    };
    let metrics_listener = match options.metrics {
        Some(addr) => Some(server::bind(addr).await.map_err(|e| e.to_string())?),
        None => None,
    };
    let metrics_bound = match &metrics_listener {
        Some(l) => Some(l.local_addr().map_err(|e| e.to_string())?),
        None => None,
    };
    // Counted only when served.
    let mut metrics = metrics_listener.as_ref().map(|_| {
        let mut metrics = NodeMetrics::new(Arc::clone(&store), Arc::clone(&pins));
        metrics.gateway = Some(Arc::new(GatewayMetrics::default()));
        metrics
    });
    // Another process's GC (`cairn gc`) must not leave removed blocks served from memory.
    let watched = Arc::clone(&store);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            watched.notice_collections();
        }
    });
    // Writes are safe by default only where nobody else can reach them.
    let writable = options.writable || bound.ip().is_loopback();
    if !writable {
        tracing::info!("gateway is read-only (not on loopback; --writable to accept uploads)");
    }
    let uploads = UploadSlots::new(options.max_uploads, options.max_uploads_per_client);
    let body_timeout = Some(options.limits.body_timeout);
    let gateway_options = GatewayOptions {
        writable,
        max_upload: options.max_upload,
        subdomain_hosts: options.subdomain_hosts.clone(),
        trustless_hosts: options.trustless_hosts.clone(),
        listing_without_accept: options.listing_without_accept,
        limits: GatewayLimits {
            body_timeout,
            ..options.gateway_limits.clone()
        },
        uploads: uploads.clone(),
        allowed_origins: options.allowed_origins.clone(),
        write_token: options.write_token.clone(),
        dnslink_hosts: options
            .names
            .static_dnslinks
            .iter()
            .map(|(domain, _)| domain.clone())
            .collect(),
        response_cache_bytes: options.response_cache_bytes,
    };
    let gateway_counters = Arc::new(ByteCounters::default());
    let node = match options.network.clone() {
        Some(config) => Some(
            network::start(keypair_of(&keystore), config)
                .await
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    // Pubsub: on the node's gossipsub when there is one, else between local clients only.
    let bus_limits = BusLimits {
        memory: options.pubsub_memory,
        ..BusLimits::default()
    };
    let (pubsub, bus): (Arc<dyn PubsubBackend>, Arc<LocalBus>) = match &node {
        Some(node) => {
            let pubsub = NetworkPubsub::start(node.clone(), bus_limits);
            let bus = Arc::clone(pubsub.bus());
            (Arc::new(pubsub), bus)
        }
        None => {
            let bus = Arc::new(LocalBus::with_limits(
                keystore.self_key().peer_id(),
                bus_limits,
                None,
            ));
            (Arc::clone(&bus) as Arc<dyn PubsubBackend>, bus)
        }
    };
    // Event streams never end by themselves: closing the bus ends them, so shutdown does not
    // wait out its grace period for them.
    if let Some(metrics) = &mut metrics {
        metrics.pubsub = Some(Arc::clone(&bus));
        metrics.node = node.clone();
    }
    let mut stopping = shutdown.clone();
    tokio::spawn(async move {
        stopping.wait().await;
        bus.close();
    });
    let routers = routers_of(&options)?;
    let mut peers = None;
    if let Some(node) = &node {
        // Peers are answered from what is here; a want never sends this node to the network.
        // Blocked blocks are not here as far as peers can tell.
        let served = Withheld::new(Arc::clone(&store) as SharedSource, Arc::clone(&denylist));
        let server = bitswap::Server::new(Arc::new(served), bitswap::ServerConfig::default());
        let bitswap = Bitswap::start(
            node,
            server,
            Some(providers_of(node, routers.as_ref())),
            bitswap::client::ClientConfig::default(),
        )
        .map_err(|e| format!("cannot run bitswap: {e}"))?;
        if let Some(metrics) = &mut metrics {
            metrics.bitswap = Some(Arc::clone(bitswap.stats()));
        }
        // Bitswap gives up a little before the gateway's timeout, so that the 504 says what
        // was tried rather than only that time ran out.
        let give_up = options
            .gateway_limits
            .retrieval_timeout
            .map(|limit| limit.mul_f64(0.9));
        peers = Some(NetworkSource {
            name: bitswap_source_name(&options),
            kind: SourceKind::Bitswap,
            source: Arc::new(bitswap.blocks(give_up)),
        });
        tokio::spawn(providing::run(
            node.clone(),
            Arc::clone(&store),
            Arc::clone(&pins),
            options.provide,
        ));
    }
    let blocks = Arc::new(retrieval(&store, &options, peers, Arc::clone(&denylist))?);
    if let Some(metrics) = &mut metrics {
        metrics.retrieval = Some(Arc::clone(blocks.stats()));
    }
    let pinning = Pinning::new(
        Arc::clone(&store),
        // Pinning writes what it fetches to the kept blocks itself.
        Arc::new(blocks.keeping()) as SharedSource,
        options.gateway_limits.retrieval_timeout,
    );
    let names = NameService::open(
        &options.data,
        Arc::clone(&store),
        Arc::clone(&pins),
        options.names.clone(),
    )
    .map(|names| names.with_pinning(Arc::clone(&pinning)))
    .map(|names| match (&node, &routers) {
        (None, None) => names,
        _ => names.with_routing(Arc::new(NetworkNames {
            node: node.clone(),
            routers: routers.clone(),
        })),
    })
    .map(Arc::new)
    .map_err(|e| format!("cannot open the IPNS name store: {e}"))?;
    names.spawn_republisher();
    let health = Arc::new(Health::default());
    let mut gateway = Gateway::new(
        Arc::clone(&store),
        Arc::clone(&pins),
        pubsub,
        gateway_options,
    );
    if let Some(counted) = metrics.as_ref().and_then(|m| m.gateway.as_ref()) {
        gateway = gateway.with_metrics(Arc::clone(counted));
    }
    if let Some(target) = &options.access_log {
        let log = AccessLog::open(target, options.log_format)
            .map_err(|e| format!("--access-log: {e}"))?;
        gateway = gateway.with_access_log(log);
    }
    let gateway = Arc::new(
        gateway
            .with_retrieval(blocks)
            .with_pinning(Arc::clone(&pinning))
            .with_names(Arc::clone(&names))
            .with_denylist(Arc::clone(&denylist))
            .with_health(Arc::clone(&health)),
    );
    let workers = ConnectionWorkers::per_core()
        .map(Arc::new)
        .map_err(|e| format!("cannot start the connection workers: {e}"))?;
    let swarm = match &node {
        Some(node) => node
            .listen_addrs()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|addr| addr.with_p2p(node.peer_id()).unwrap_or_else(|addr| addr))
            .collect(),
        None => Vec::new(),
    };
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(listener) = cluster_listener {
        let counters = Arc::new(ByteCounters::default());
        let mut credentials = cluster_credentials(&options.data)?;
        for spec in &options.cluster_auth {
            credentials
                .add_spec(spec)
                .map_err(|e| format!("--cluster-auth: {e}"))?;
        }
        let cluster = ClusterApi::new(
            Arc::clone(&store),
            Arc::clone(&pins),
            ClusterOptions {
                peer_id: keystore.self_key().peer_id(),
                peername: hostname(),
                credentials,
                data_dir: options.data.clone(),
                max_upload: options.max_upload,
                names: Some(Arc::clone(&names)),
                bandwidth: vec![
                    ("/http/gateway".to_owned(), Arc::clone(&gateway_counters)),
                    ("/http/cluster-api".to_owned(), Arc::clone(&counters)),
                ],
                pinning: Some(Arc::clone(&pinning)),
                ipfs_addresses: swarm.iter().map(|a| a.to_string()).collect(),
                denylist: Arc::clone(&denylist),
                uploads: uploads.clone(),
                body_timeout,
                allowed_origins: options.allowed_origins.clone(),
            },
        )?;
        let (limits, shutdown) = (options.limits.clone(), shutdown.clone());
        tasks.spawn(server::serve(
            listener,
            Arc::new(cluster),
            limits,
            counters,
            Some(Arc::clone(&workers)),
            shutdown,
        ));
    }
    if let (Some(listener), Some(listen)) = (rpc_listener, rpc_bound) {
        let public = keypair_of(&keystore).public();
        let rpc = RpcApi::new(
            Arc::clone(&store),
            Arc::clone(&pins),
            Arc::clone(&pinning),
            Arc::clone(&names),
            node.clone(),
            RpcOptions {
                peer_id: public.to_peer_id(),
                public_key: public.encode_protobuf(),
                data_dir: options.data.clone(),
                listen,
                gateway: Some(bound),
                uploads,
                body_timeout,
                denylist: Arc::clone(&denylist),
            },
        );
        tasks.spawn(server::serve(
            listener,
            Arc::new(rpc),
            options.limits.clone(),
            Arc::new(ByteCounters::default()),
            Some(Arc::clone(&workers)),
            shutdown.clone(),
        ));
    }
    if let (Some(listener), Some(metrics)) = (metrics_listener, metrics) {
        tasks.spawn(server::serve(
            listener,
            Arc::new(MetricsApi::new(Arc::new(metrics))),
            options.limits.clone(),
            Arc::new(ByteCounters::default()),
            Some(Arc::clone(&workers)),
            shutdown.clone(),
        ));
    }
    on_ready(&Listening {
        gateway: bound,
        cluster: cluster_bound,
        rpc: rpc_bound,
        metrics: metrics_bound,
        swarm,
    });
    // Ready: the store is open, the denylists read, every listener bound. From shutdown on,
    // not ready, so balancers stop sending while in-flight requests drain.
    health.set_ready();
    let mut draining = shutdown.clone();
    let stopping = Arc::clone(&health);
    tokio::spawn(async move {
        draining.wait().await;
        stopping.set_stopping();
    });
    tasks.spawn(server::serve(
        listener,
        gateway,
        options.limits,
        gateway_counters,
        Some(workers),
        shutdown,
    ));
    while tasks.join_next().await.is_some() {}
    if let Some(node) = node {
        node.shutdown().await;
    }
    Ok(())
}

/// The longest start waits for denylist URLs before serving without them (they are fetched
/// again at each refresh).
const DENYLIST_URL_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Loads the denylists (`DATA/denylists/*.deny` and `--denylist`) before anything is served,
/// and keeps following them.
async fn open_denylists(options: &ServeOptions) -> Result<Arc<Denylist>, String> {
    let mut lists = options.denylists.clone();
    if lists.dir.is_none() {
        lists.dir = Some(options.data.join("denylists"));
    }
    let denylist = tokio::task::spawn_blocking(move || Denylist::open(&lists))
        .await
        .map_err(|e| e.to_string())??;
    if tokio::time::timeout(DENYLIST_URL_WAIT, denylist.load_urls())
        .await
        .is_err()
    {
        tracing::warn!("denylist URLs not fetched in time; serving without them until they are");
    }
    denylist.follow();
    Ok(denylist)
}

/// Credentials from `<data>/cluster.json` (`{"basic_auth_credentials": {"user": "pass"}}`,
/// as in ipfs-cluster's service.json), if that file exists.
fn cluster_credentials(data: &Path) -> Result<Credentials, String> {
    let mut credentials = Credentials::new();
    let path = data.join("cluster.json");
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(credentials),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let config: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(map) = config
        .get("basic_auth_credentials")
        .and_then(|v| v.as_object())
    {
        for (user, password) in map {
            let password = password
                .as_str()
                .ok_or_else(|| format!("{}: password of {user} is not a string", path.display()))?;
            credentials
                .add_spec(&format!("{user}:{password}"))
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(credentials)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "cairn".to_owned())
}

/// Imports CAR files, returning one report per file in order. With `pin_roots`, each CAR's
/// roots are pinned recursively (as `ipfs dag import` does by default).
pub fn import(data: &Path, files: &[PathBuf], pin_roots: bool) -> Result<Vec<CarImport>, String> {
    let store = open_store(data, StoreOptions::default())?;
    let pins = Pinset::open(data).map_err(|e| e.to_string())?;
    // Hold GC off until the roots are pinned.
    let _lease = store.write_lease().map_err(|e| e.to_string())?;
    files
        .iter()
        .map(|path| {
            let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let report = import_car(&store, BufReader::with_capacity(1 << 16, file))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if pin_roots {
                for root in &report.roots {
                    pins.add(&Pin::recursive(root))
                        .map_err(|e| format!("pinning {root}: {e}"))?;
                }
            }
            Ok(report)
        })
        .collect()
}

/// Removes every block no pin reaches, waiting at most `wait` for uploads in progress.
pub fn gc(data: &Path, wait: std::time::Duration) -> Result<GcReport, String> {
    let store = open_store(data, StoreOptions::default())?;
    let pins = Pinset::open(data).map_err(|e| e.to_string())?;
    gc::collect_within(&store, &pins, &[], wait).map_err(|e| e.to_string())
}
