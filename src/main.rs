//! The `cairn` command line. Parsing only; the work is in `cairn::app`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use cairn::app::{self, RemoteMode, ServeOptions};
use cairn::gateway::{GatewayLimits, ListingDefault};
use cairn::http::access_log::LogFormat;
use cairn::http::cors::OriginPolicy;
use cairn::http::server::{shutdown_channel, ServerLimits};
use cairn::network::config::{parse_bootstrap, parse_listen_addr, parse_peer_addr};
use cairn::network::http_client::Endpoint;
use cairn::network::{ConnectionLimits, DhtMode, Multiaddr, NetworkConfig};
use cairn::services::denylist::DenylistOptions;
use cairn::services::names::{self, DnsServers, NameOptions};
use cairn::services::providing::ProvideMode;
use cairn::store::StoreOptions;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "cairn",
    version,
    about = "IPFS gateway with an embedded block store"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Format of the logs on standard error and of the access log: `text` or `json` (one
    /// object per line)
    #[arg(long, global = true, value_name = "text|json", default_value = "text", value_parser = parse_log_format)]
    log_format: LogFormat,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway on the data directory's block store.
    Serve(Box<ServeArgs>),
    /// Import CAR files (v1 or v2) into the block store and print their roots.
    Import {
        /// Data directory [default: $CAIRN_DATA, else the platform data directory]
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Pin each CAR's roots (recursively), as `ipfs dag import` does.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
        pin_roots: bool,
        /// CAR files to import.
        #[arg(required = true, value_name = "FILE.car")]
        files: Vec<PathBuf>,
    },
    /// Add files or directories, with the CIDs `ipfs add` gives them (Kubo's flags).
    Add(Box<AddArgs>),
    /// Print the node's peer ID (its libp2p identity, also its IPNS `self` name).
    Id {
        /// Data directory [default: $CAIRN_DATA, else the platform data directory]
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
    },
    /// Remove every block that no pin reaches (safe beside a running server).
    Gc {
        /// Data directory [default: $CAIRN_DATA, else the platform data directory]
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Print nothing but errors.
        #[arg(short, long)]
        quiet: bool,
        /// Longest wait for uploads in progress (on a running server) to finish; past it, gc
        /// gives up without removing anything (e.g. 60s, 5m)
        #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_timeout)]
        wait: Duration,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Data directory [default: $CAIRN_DATA, else the platform data directory]
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Address the gateway listens on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    gateway: SocketAddr,
    /// Bytes of hot blocks kept in memory.
    #[arg(long, value_name = "BYTES", default_value_t = 256 << 20)]
    cache_size: u64,
    /// Bytes of blocks fetched from the network kept on disk (unpinned, least recently used
    /// evicted first; pinned and added blocks never count)
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 30)]
    fetch_cache_size: u64,
    /// Bytes of finished responses kept in memory and replayed to requests that come again
    /// exactly alike (immutable content only, bodies up to 64 KiB; 0: off)
    #[arg(long, value_name = "BYTES", default_value_t = 32 << 20)]
    response_cache_size: u64,
    /// Accept POST/PUT/DELETE even when the gateway listens beyond loopback (writes are on
    /// by default only on a loopback address).
    #[arg(long)]
    writable: bool,
    /// Largest upload accepted, in bytes; larger ones get 413. Unlimited if not given.
    #[arg(long, value_name = "BYTES")]
    max_upload: Option<u64>,
    /// Bytes of pubsub messages held for subscribers that have not read them yet, all topics
    /// together (at least 1 MiB); past it a slow subscriber loses its oldest messages, those
    /// of the topic holding the most first
    #[arg(long, value_name = "BYTES", default_value_t = cairn::services::pubsub::DEFAULT_MEMORY)]
    pubsub_memory: usize,
    /// Address of the IPFS Cluster REST API, or `off`.
    #[arg(long, value_name = "ADDR|off", default_value = "127.0.0.1:9094")]
    cluster_api: String,
    /// Address of the Kubo RPC API (`/api/v0/…`, what ipfs-cluster-service and `ipfs --api`
    /// use), or `off`.
    #[arg(long, value_name = "ADDR|off", default_value = "127.0.0.1:5001")]
    rpc_api: String,
    /// Address of the Prometheus metrics listener (`GET /debug/metrics/prometheus`), or `off`
    /// (then nothing is counted)
    #[arg(long, value_name = "ADDR|off", default_value = "127.0.0.1:8091")]
    metrics: String,
    /// Cluster API credentials (repeatable); turns on Basic and JWT authentication.
    #[arg(long, value_name = "USER:PASSWORD")]
    cluster_auth: Vec<String>,
    /// DNS server for DNSLink lookups, IP:PORT [default: the system's resolver
    /// configuration]
    #[arg(long, value_name = "IP:PORT", value_parser = names::parse_dns_server)]
    dns_resolver: Option<SocketAddr>,
    /// A static DNSLink entry, DOMAIN=/ipfs/<cid>[/path] or DOMAIN=/ipns/<name>
    /// (repeatable; wins over DNS)
    #[arg(long = "dnslink", value_name = "DOMAIN=PATH")]
    dnslinks: Vec<String>,
    /// Static DNSLink entries in Kubo's format: domain:/ipfs/<cid>,domain2:/ipns/<name>
    #[arg(long, env = "IPFS_NS_MAP", value_name = "MAP")]
    ipfs_ns_map: Option<String>,
    /// How long IPNS records published here stay valid (48h, 30m, 90s…); they are
    /// re-signed while the key exists
    #[arg(long, value_name = "DURATION", default_value = "48h", value_parser = parse_lifetime)]
    ipns_lifetime: Duration,
    /// How often local keys' IPNS records are put into the DHT and the delegated routers
    /// again (Kubo's Ipns.RepublishPeriod)
    #[arg(long, value_name = "DURATION", default_value = "4h", value_parser = parse_republish_period)]
    ipns_republish_period: Duration,
    /// Serve HOST as a subdomain gateway (repeatable): <cid>.ipfs.HOST and
    /// <name>.ipns.HOST each get their own origin, and HOST/ipfs/<cid> redirects there
    #[arg(long = "subdomain-host", value_name = "HOST")]
    subdomain_hosts: Vec<String>,
    /// What a directory answers to a request without an Accept header: `json` (the
    /// Agregore spec) or `html` (Kubo)
    #[arg(long, value_name = "json|html", default_value = "json", value_parser = parse_listing_default)]
    listing_without_accept: ListingDefault,
    /// Requests served at once; more get 429 with Retry-After (0: no cap). Event streams and
    /// answers replayed from the response cache are not counted
    #[arg(long, value_name = "N", default_value_t = 4096)]
    max_concurrent_requests: usize,
    /// Longest wait for a read's response to start (e.g. 30s, 2m; 0: none); past it, 504
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_timeout)]
    retrieval_timeout: Duration,
    /// Refuse Range requests on files larger than BYTES with 501 (unlimited if not given)
    #[arg(long, value_name = "BYTES")]
    max_range_file_size: Option<u64>,
    /// Longest a read may take in all, from its arrival to the last byte of its response
    /// (e.g. 1h, 10m; 0: none); past it, 504 if the response has not started, else it is cut
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_timeout)]
    max_request_duration: Duration,
    /// Refuse deserialized responses (files, directories, JSON/CBOR as the web sees them)
    /// for content larger than BYTES with 410; raw blocks, CARs and TARs are not concerned
    /// (unlimited if not given)
    #[arg(long, value_name = "BYTES")]
    max_deserialized_response_size: Option<u64>,
    /// Refuse responses of any format, raw blocks, CARs and TARs included, for UnixFS files
    /// and directories (or blocks) larger than BYTES with 410 (unlimited if not given)
    #[arg(long, value_name = "BYTES")]
    max_unixfs_dag_response_size: Option<u64>,
    /// Serve HOST as a trustless gateway only (repeatable): raw blocks (?format=raw), CARs
    /// (?format=car) and IPNS records (?format=ipns-record), or the matching Accept types;
    /// anything else gets 406. No DNSLink or subdomain gateway on it
    #[arg(long = "trustless-only-host", value_name = "HOST")]
    trustless_hosts: Vec<String>,
    /// A trustless gateway (http:// or https://) asked for blocks this node does not have
    /// (repeatable; requests are spread across them, a failing one is skipped). Redirects
    /// are never followed
    #[arg(long = "remote-backend", value_name = "URL", value_parser = parse_endpoint)]
    remote_backends: Vec<Endpoint>,
    /// How remote backends are asked: `block` (one `?format=raw` request per block) or `car`
    /// (one `?format=car` request per request, with dag-scope and entity-bytes, so a range
    /// fetches only its blocks)
    #[arg(long, value_name = "block|car", default_value = "block", value_parser = parse_remote_mode)]
    remote_backend_mode: RemoteMode,
    /// A Delegated Routing V1 server (http:// or https://, e.g. a Kubo gateway with
    /// Gateway.ExposeRoutingAPI) asked who provides a CID; the providers are dialed and asked
    /// over Bitswap (repeatable; needs the libp2p node)
    #[arg(long = "routing-v1", value_name = "URL", value_parser = parse_endpoint)]
    routing_v1: Vec<Endpoint>,
    /// libp2p listen address, TCP or QUIC-v1 (repeatable) [default: /ip4/0.0.0.0/tcp/4001
    /// and /ip4/0.0.0.0/udp/4001/quic-v1]
    #[arg(long = "swarm", value_name = "MULTIADDR", value_parser = parse_listen_addr)]
    swarm: Vec<Multiaddr>,
    /// DHT bootstrap peer, /…/p2p/<id> (repeatable); `public` adds Kubo's public bootstrap
    /// peers. Without any (and no --peer), the node dials nobody on its own
    #[arg(long = "bootstrap", value_name = "MULTIADDR|public", value_parser = parse_bootstrap_list)]
    bootstrap: Vec<BootstrapList>,
    /// Peer to stay connected to, /…/p2p/<id>, redialed with backoff (repeatable; Kubo's
    /// Peering)
    #[arg(long = "peer", value_name = "MULTIADDR", value_parser = parse_peer_addr)]
    peers: Vec<Multiaddr>,
    /// Public DHT mode: `server` answers queries, `client` only asks, `auto` is a server only
    /// with a listen address on a public IP. The LAN DHT answers unless `client`
    #[arg(long, value_name = "server|client|auto", default_value = "auto")]
    dht: DhtMode,
    /// What the node announces in the DHT: `pinned` (the roots of pins), `all` (every kept
    /// block) or `none`; announced again every 22 h
    #[arg(long, value_name = "pinned|all|none", default_value = "pinned", value_parser = parse_provide)]
    provide: ProvideMode,
    /// Most established libp2p connections, inbound and outbound together (a peer usually
    /// has one); connections past it are refused
    #[arg(long, value_name = "N", default_value_t = ConnectionLimits::default().max_established,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_peers: u32,
    /// An IPIP-383 denylist besides DATA/denylists/*.deny: a file, a directory of .deny
    /// files, or an http(s) URL followed as an append-only list (repeatable; later lists
    /// win). Blocked content answers 410 and is never fetched nor served to peers
    #[arg(long = "denylist", value_name = "PATH|URL")]
    denylists: Vec<String>,
    /// How often denylist URLs are asked for what was appended (files are looked at every
    /// 2s)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_refresh)]
    denylist_refresh: Duration,
    /// Write a line per gateway request (time, client, request, status, bytes, duration,
    /// where its blocks came from, Host) to FILE (appended to), or to standard output with
    /// `-`
    #[arg(long, value_name = "FILE|-")]
    access_log: Option<String>,
    /// Longest a client may take to send a request head, and a new connection its first
    /// bytes (e.g. 30s, 2m); past it the connection is closed
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_positive_duration)]
    header_timeout: Duration,
    /// Longest a request body may stall between two pieces (e.g. 30s, 2m); past it, 408
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_positive_duration)]
    body_timeout: Duration,
    /// Uploads (POST/PUT bodies being imported) in flight at once, across both APIs; more
    /// get 503 with Retry-After
    #[arg(long, value_name = "N", default_value_t = cairn::http::upload::DEFAULT_MAX_UPLOADS,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_uploads: u32,
    /// Uploads one client address may have in flight at once (default: a quarter of
    /// --max-uploads). Behind a reverse proxy every client has the proxy's address: raise it
    /// to --max-uploads there and limit clients at the proxy
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_uploads_per_client: Option<u32>,
    /// An origin (scheme://host[:port]) whose pages may write through the gateway and change
    /// things through the Cluster API (repeatable). Without any, pages of every origin may
    /// write through the gateway (the Agregore contract) and none may change the Cluster API;
    /// with some, a write carrying another Origin gets 403. Requests without an Origin
    /// (curl, the Agregore browser's own) are never refused for it
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// A bearer token every gateway write must carry (Authorization: Bearer TOKEN); 401
    /// without it. Prefer the environment variable: arguments are visible to other users
    #[arg(
        long,
        env = "CAIRN_WRITE_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    write_token: Option<String>,
    /// Run no libp2p node: the gateway serves the local store only
    #[arg(long, conflicts_with_all = ["swarm", "bootstrap", "peers", "dht", "routing_v1", "max_peers"])]
    offline: bool,
}

/// The addresses one `--bootstrap` value stands for.
#[derive(Clone)]
struct BootstrapList(Vec<Multiaddr>);

fn parse_bootstrap_list(text: &str) -> Result<BootstrapList, String> {
    parse_bootstrap(text).map(BootstrapList)
}

impl ServeArgs {
    /// The libp2p node's configuration, or None with `--offline`.
    fn network(&self) -> Option<NetworkConfig> {
        if self.offline {
            return None;
        }
        let defaults = NetworkConfig::default();
        Some(NetworkConfig {
            listen: if self.swarm.is_empty() {
                defaults.listen.clone()
            } else {
                self.swarm.clone()
            },
            bootstrap: self.bootstrap.iter().flat_map(|b| b.0.clone()).collect(),
            peers: self.peers.clone(),
            dht: self.dht,
            limits: ConnectionLimits {
                max_established: self.max_peers,
                ..defaults.limits.clone()
            },
            ..defaults
        })
    }
}

#[derive(clap::Args)]
struct AddArgs {
    /// Data directory [default: $CAIRN_DATA, else the platform data directory]
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Files or directories to add; `-` (or none) reads standard input.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Add directories recursively.
    #[arg(short, long)]
    recursive: bool,
    /// Wrap the added files in a directory.
    #[arg(short = 'w', long)]
    wrap_with_directory: bool,
    /// Include files whose names start with a dot.
    #[arg(short = 'H', long)]
    hidden: bool,
    /// Print only CIDs.
    #[arg(short, long)]
    quiet: bool,
    /// Print only the final CID.
    #[arg(short = 'Q', long)]
    quieter: bool,
    /// Compute CIDs; store nothing.
    #[arg(short = 'n', long)]
    only_hash: bool,
    /// Pin what is added (recursively).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pin: bool,
    /// Name to give data read from standard input.
    #[arg(long, value_name = "NAME")]
    stdin_name: Option<String>,
    /// Import defaults: unixfs-v0-2015 (Kubo's default) or unixfs-v1-2025 (IPIP-499).
    #[arg(long, value_name = "PROFILE")]
    profile: Option<String>,
    /// CID version: 0 or 1 (1 implies raw leaves).
    #[arg(long, value_name = "N")]
    cid_version: Option<u8>,
    /// Store file leaves as raw blocks.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    raw_leaves: Option<bool>,
    /// Chunker: size-N, rabin[-MIN-AVG-MAX] or buzhash.
    #[arg(short = 's', long, value_name = "CHUNKER")]
    chunker: Option<String>,
    /// Use the trickle DAG layout.
    #[arg(short, long)]
    trickle: bool,
    /// Most links per file node.
    #[arg(long, value_name = "N")]
    max_file_links: Option<usize>,
    /// Most links per plain directory before it is sharded.
    #[arg(long, value_name = "N")]
    max_directory_links: Option<usize>,
    /// HAMT fanout of sharded directories.
    #[arg(long, value_name = "N")]
    max_hamt_fanout: Option<u64>,
    /// Hash function (sha2-256, blake3, …).
    #[arg(long, value_name = "NAME")]
    hash: Option<String>,
    /// Inline small blocks into identity CIDs.
    #[arg(long)]
    inline: bool,
    /// Largest block inlined with --inline.
    #[arg(long, value_name = "BYTES")]
    inline_limit: Option<usize>,
    /// Record file modes (UnixFS 1.5).
    #[arg(long)]
    preserve_mode: bool,
    /// Record modification times (UnixFS 1.5).
    #[arg(long)]
    preserve_mtime: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    let log_format = cli.log_format;
    let result = match cli.command {
        Command::Serve(args) => {
            let network = args.network();
            let ServeArgs {
                data,
                gateway,
                cache_size,
                fetch_cache_size,
                response_cache_size,
                writable,
                max_upload,
                cluster_api,
                rpc_api,
                metrics,
                cluster_auth,
                dns_resolver,
                dnslinks,
                ipfs_ns_map,
                ipns_lifetime,
                ipns_republish_period,
                subdomain_hosts,
                listing_without_accept,
                max_concurrent_requests,
                retrieval_timeout,
                max_range_file_size,
                max_request_duration,
                max_deserialized_response_size,
                max_unixfs_dag_response_size,
                trustless_hosts,
                remote_backends,
                remote_backend_mode,
                routing_v1,
                provide,
                denylists,
                denylist_refresh,
                access_log,
                header_timeout,
                body_timeout,
                max_uploads,
                max_uploads_per_client,
                allow_origins,
                write_token,
                pubsub_memory,
                ..
            } = *args;
            let listeners = parse_listen("--cluster-api", &cluster_api).and_then(|cluster_api| {
                Ok((
                    cluster_api,
                    parse_listen("--rpc-api", &rpc_api)?,
                    parse_listen("--metrics", &metrics)?,
                ))
            });
            listeners.and_then(|(cluster_api, rpc_api, metrics)| {
                let names = name_options(
                    dns_resolver,
                    &dnslinks,
                    ipfs_ns_map.as_deref(),
                    ipns_lifetime,
                    ipns_republish_period,
                )?;
                serve(ServeOptions {
                    data: app::data_dir(data),
                    gateway,
                    store: StoreOptions {
                        cache_bytes: cache_size,
                        fetch_cache_bytes: Some(fetch_cache_size),
                    },
                    limits: ServerLimits {
                        head_timeout: header_timeout,
                        body_timeout,
                        ..ServerLimits::default()
                    },
                    max_uploads: max_uploads as usize,
                    max_uploads_per_client: max_uploads_per_client.map_or(
                        cairn::http::upload::default_uploads_per_client(max_uploads as usize),
                        |n| n as usize,
                    ),
                    allowed_origins: OriginPolicy::new(&allow_origins)
                        .map_err(|e| format!("--allow-origin: {e}"))?,
                    write_token,
                    writable,
                    response_cache_bytes: response_cache_size,
                    max_upload,
                    cluster_api,
                    rpc_api,
                    metrics,
                    cluster_auth,
                    names,
                    subdomain_hosts,
                    trustless_hosts,
                    listing_without_accept,
                    gateway_limits: GatewayLimits {
                        max_concurrent_requests: (max_concurrent_requests > 0)
                            .then_some(max_concurrent_requests),
                        retrieval_timeout: (!retrieval_timeout.is_zero())
                            .then_some(retrieval_timeout),
                        max_range_file_size,
                        body_timeout: Some(body_timeout),
                        max_request_duration: (!max_request_duration.is_zero())
                            .then_some(max_request_duration),
                        max_deserialized_response_size,
                        max_unixfs_dag_response_size,
                    },
                    remote_backends,
                    remote_backend_mode,
                    routing_v1,
                    network,
                    provide,
                    denylists: DenylistOptions {
                        lists: denylists,
                        url_interval: denylist_refresh,
                        ..DenylistOptions::default()
                    },
                    access_log,
                    log_format,
                    pubsub_memory,
                })
            })
        }
        Command::Add(args) => {
            let args = *args;
            let options = app::add::AddOptions {
                paths: args.paths,
                recursive: args.recursive,
                wrap: args.wrap_with_directory,
                hidden: args.hidden,
                quiet: args.quiet,
                quieter: args.quieter,
                only_hash: args.only_hash,
                pin: args.pin,
                stdin_name: args.stdin_name,
                flags: app::add::ImportFlags {
                    profile: args.profile,
                    cid_version: args.cid_version,
                    raw_leaves: args.raw_leaves,
                    chunker: args.chunker,
                    trickle: args.trickle,
                    max_file_links: args.max_file_links,
                    max_directory_links: args.max_directory_links,
                    max_hamt_fanout: args.max_hamt_fanout,
                    hash: args.hash,
                    inline: args.inline,
                    inline_limit: args.inline_limit,
                    preserve_mode: args.preserve_mode,
                    preserve_mtime: args.preserve_mtime,
                },
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            app::add::add(&app::data_dir(args.data), &options, &mut out).and_then(|_| {
                std::io::Write::flush(&mut out).map_err(|e| format!("writing output: {e}"))
            })
        }
        Command::Id { data } => app::node_keypair(&app::data_dir(data)).map(|keypair| {
            println!("{}", keypair.public().to_peer_id());
        }),
        Command::Gc { data, quiet, wait } => app::gc(&app::data_dir(data), wait).map(|report| {
            if !quiet {
                for cid in &report.removed {
                    println!("removed {cid}");
                }
            }
            for root in &report.incomplete_pins {
                eprintln!("warning: pinned DAG {root} has blocks missing from the store");
            }
        }),
        Command::Import {
            data,
            pin_roots,
            files,
        } => app::import(&app::data_dir(data), &files, pin_roots).map(|reports| {
            for (file, report) in files.iter().zip(reports) {
                for root in &report.roots {
                    println!("{}", cairn::ipld::cid::to_v1_string(root));
                }
                eprintln!(
                    "{}: {} blocks ({} new, {} bytes)",
                    file.display(),
                    report.blocks,
                    report.new_blocks,
                    report.block_bytes
                );
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cairn: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The tracing logs on standard error: `RUST_LOG` filters (default `info`), as text (with
/// colours only when standard error is a terminal and `NO_COLOR` is not set) or as JSON.
fn init_logs(format: LogFormat) {
    use std::io::IsTerminal;
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Kademlia warns at each start that it cannot bootstrap without known peers, which is
    // what cairn wants when given no --bootstrap; shown only when RUST_LOG asks for kad.
    if !std::env::var("RUST_LOG").is_ok_and(|v| v.contains("libp2p_kad")) {
        if let Ok(quiet) = "libp2p_kad::behaviour=error".parse() {
            filter = filter.add_directive(quiet);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            builder.with_ansi(colour).init()
        }
    }
}

fn parse_log_format(text: &str) -> Result<LogFormat, String> {
    LogFormat::parse(text).ok_or_else(|| format!("expected text or json, not {text:?}"))
}

/// IPNS options from the command line; `IPFS_NS_MAP` entries first, `--dnslink` ones after
/// (a later entry for the same domain wins).
fn name_options(
    dns_resolver: Option<SocketAddr>,
    dnslinks: &[String],
    ipfs_ns_map: Option<&str>,
    lifetime: Duration,
    republish_period: Duration,
) -> Result<NameOptions, String> {
    let mut static_dnslinks = match ipfs_ns_map {
        Some(map) => names::parse_ns_map(map).map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    for entry in dnslinks {
        static_dnslinks.push(names::parse_static_dnslink(entry).map_err(|e| e.to_string())?);
    }
    Ok(NameOptions {
        lifetime,
        republish_period,
        dns_servers: dns_resolver.map_or(DnsServers::System, DnsServers::One),
        static_dnslinks,
        ..NameOptions::default()
    })
}

fn parse_refresh(text: &str) -> Result<Duration, String> {
    let period = names::parse_duration(text)?;
    if period < Duration::from_secs(1) {
        return Err("the denylist refresh period must be at least 1s".into());
    }
    Ok(period)
}

fn parse_republish_period(text: &str) -> Result<Duration, String> {
    let period = names::parse_duration(text)?;
    if period < Duration::from_secs(1) {
        return Err("the IPNS republish period must be at least 1s".into());
    }
    Ok(period)
}

fn parse_lifetime(text: &str) -> Result<Duration, String> {
    let lifetime = names::parse_duration(text)?;
    if lifetime < Duration::from_secs(1) {
        return Err("the IPNS record lifetime must be at least 1s".into());
    }
    Ok(lifetime)
}

fn serve(options: ServeOptions) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async {
        let (trigger, shutdown) = shutdown_channel();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down");
            trigger.trigger();
        });
        let data = options.data.clone();
        app::serve(options, shutdown, |listening| {
            // Tests and scripts read these lines to learn the ports when given port 0: the
            // swarm's first, then the gateway's, then the Cluster API's, then the RPC's, then
            // the metrics'.
            for addr in &listening.swarm {
                println!("swarm listening on {addr}");
            }
            println!("gateway listening on http://{}", listening.gateway);
            if let Some(cluster) = listening.cluster {
                println!("cluster api listening on http://{cluster}");
            }
            if let Some(rpc) = listening.rpc {
                println!("rpc api listening on http://{rpc}");
            }
            if let Some(metrics) = listening.metrics {
                println!("metrics listening on http://{metrics}");
            }
            tracing::info!(data = %data.display(), "serving");
        })
        .await
    })
}

/// A listener flag's value: an address, or `off`.
fn parse_listen(flag: &str, text: &str) -> Result<Option<SocketAddr>, String> {
    if text == "off" {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|e| format!("{flag} {text:?}: {e} (an address, or off)"))
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn parse_listing_default(text: &str) -> Result<ListingDefault, String> {
    match text {
        "json" => Ok(ListingDefault::Json),
        "html" => Ok(ListingDefault::Html),
        other => Err(format!("expected json or html, not {other:?}")),
    }
}

fn parse_provide(text: &str) -> Result<ProvideMode, String> {
    ProvideMode::parse(text).ok_or_else(|| format!("expected pinned, all or none, not {text:?}"))
}

fn parse_endpoint(text: &str) -> Result<Endpoint, String> {
    Endpoint::parse(text).map_err(|e| e.to_string())
}

fn parse_remote_mode(text: &str) -> Result<RemoteMode, String> {
    match text {
        "block" => Ok(RemoteMode::Block),
        "car" => Ok(RemoteMode::Car),
        other => Err(format!("expected block or car, not {other:?}")),
    }
}

fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    let duration = names::parse_duration(text)?;
    if duration.is_zero() {
        return Err("must be longer than 0".into());
    }
    Ok(duration)
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    names::parse_duration(text)
}
