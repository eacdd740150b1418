//! The Kubo RPC API (`POST /api/v0/<command>`, `--rpc-api`, default `127.0.0.1:5001`): the
//! commands ipfs-cluster-service's IPFS connector (`ipfsconn/ipfshttp` in ipfs-cluster v1.1.6)
//! and Kubo's own CLI (`ipfs --api …`) use, answered as Kubo 0.43 answers them, so that
//! ipfs-cluster-service can run over cairn nodes the way it runs over Kubo nodes.
//!
//! Kubo's conventions (go-ipfs-cmds `http/handler.go`, `http/responseemitter.go`; Kubo
//! `core/corehttp/commands.go`), kept here:
//! - only `POST` runs a command; any other method is `405` with `Allow: OPTIONS, POST`, and
//!   `OPTIONS` answers CORS preflights;
//! - protection against browsers: a request whose `Origin` (or `Referer`) is not one of the
//!   API's own localhost origins (`http(s)://127.0.0.1|localhost|[::1]:<port>`, plus the IPFS
//!   Companion extension's) is `403`, and so is a `POST` with neither header from a browser
//!   (a `User-Agent` starting with `Mozilla`);
//! - replies: one JSON value, or a stream of them (`X-Chunked-Output: 1`), or raw bytes
//!   (`X-Stream-Output: 1`), always chunked with `Trailer: X-Stream-Error`; an error before the
//!   first value is `500 {"Message","Code":0,"Type":"error"}`, one after it ends the stream with
//!   the `X-Stream-Error` trailer (for a client that takes trailers; for one that does not, such
//!   as Go's, hyper may not send them, so the connection is cut instead); a bad argument or
//!   option is a `400` in plain text.
//!
//! - [`args`]: arguments and options as go-ipfs-cmds reads them from the query.
//! - [`reply`]: the reply shapes and error conventions above.
//! - `node`, `pin`, `block`, `names`: the commands.

pub mod args;
mod block;
mod names;
mod node;
mod pin;
pub mod reply;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{Method, Request, StatusCode};
use hyper::body::Incoming;

use crate::http::router::{self, NoRoute, RpcCommand, RpcRoute};
use crate::http::server::Handler;
use crate::http::upload::UploadSlots;
use crate::http::{HttpError, Response};
use crate::network::{Multiaddr, NetworkHandle, PeerId};
use crate::services::denylist::Denylist;
use crate::services::names::NameService;
use crate::services::pinning::Pinning;
use crate::services::pins::Pinset;
use crate::store::Blockstore;
use args::Args;
use reply::Failure;

/// What the RPC is set up with besides the services.
#[derive(Debug, Clone)]
pub struct RpcOptions {
    /// The node's peer ID and public key (protobuf-encoded, as `id` reports it).
    pub peer_id: PeerId,
    pub public_key: Vec<u8>,
    /// The data directory (`repo/stat`'s `RepoPath`).
    pub data_dir: PathBuf,
    /// Where the RPC listens: its port names the origins allowed to call it.
    pub listen: SocketAddr,
    /// Where the gateway listens (`config/show`).
    pub gateway: Option<SocketAddr>,
    /// The uploads the process runs at once (`block/put` holds one while its body comes in).
    pub uploads: UploadSlots,
    /// Longest a request body may stall between two pieces.
    pub body_timeout: Option<Duration>,
    /// Content the node refuses: a path naming it fails before anything is resolved (its
    /// blocks are refused below, by the pinning source, whatever path reached them).
    pub denylist: Arc<Denylist>,
}

/// The Kubo RPC over a node's services. Cheap to clone (commands that stream take a clone
/// onto their own task).
#[derive(Clone)]
pub struct RpcApi {
    store: Arc<Blockstore>,
    pins: Arc<Pinset>,
    pinning: Arc<Pinning>,
    names: Arc<NameService>,
    /// The libp2p node (None offline: `swarm/*` then fail as Kubo's do offline).
    network: Option<NetworkHandle>,
    options: Arc<RpcOptions>,
    /// Origins a browser may call from (Kubo's defaults for this port).
    origins: Arc<[String]>,
}

impl RpcApi {
    pub fn new(
        store: Arc<Blockstore>,
        pins: Arc<Pinset>,
        pinning: Arc<Pinning>,
        names: Arc<NameService>,
        network: Option<NetworkHandle>,
        options: RpcOptions,
    ) -> RpcApi {
        let port = options.listen.port();
        let mut origins: Vec<String> = ["127.0.0.1", "[::1]", "localhost"]
            .iter()
            .flat_map(|host| ["http", "https"].map(|scheme| format!("{scheme}://{host}:{port}")))
            .collect();
        origins.extend(COMPANION_ORIGINS.iter().map(|o| o.to_string()));
        RpcApi {
            store,
            pins,
            pinning,
            names,
            network,
            options: Arc::new(options),
            origins: origins.into(),
        }
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == origin)
    }

    /// Kubo's CSRF checks (go-ipfs-cmds `allowOrigin`, `allowReferer`, `allowUserAgent`): a
    /// request from a page on another origin must not run commands. Clients that are not
    /// browsers send neither header and pass.
    fn browser_allowed(&self, request: &Request<Incoming>) -> bool {
        let headers = request.headers();
        let text = |name: header::HeaderName| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .filter(|v| !v.is_empty())
        };
        let origin = text(header::ORIGIN);
        let referer = text(header::REFERER);
        if let Some(origin) = &origin {
            if !self.origin_allowed(origin) {
                return false;
            }
        }
        if let Some(referer) = &referer {
            // The Referer's scheme and host, compared as an origin.
            let Some((scheme, rest)) = referer.split_once("://") else {
                return false;
            };
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            if !self.origin_allowed(&format!("{scheme}://{host}")) {
                return false;
            }
        }
        if origin.is_none() && referer.is_none() {
            // A browser's POST always carries one of the two; one without is refused.
            let agent = text(header::USER_AGENT).unwrap_or_default();
            if agent.starts_with("Mozilla") && !agent.contains("Electron") {
                return false;
            }
        }
        true
    }

    async fn dispatch(&self, request: Request<Incoming>) -> Response {
        let path = request.uri().path().to_owned();
        let route = match router::rpc_route(request.method(), &path) {
            Ok(route) => route,
            Err(NoRoute::NotFound) => {
                return reply::plain(StatusCode::NOT_FOUND, "404 page not found");
            }
            Err(NoRoute::MethodNotAllowed { allow }) => {
                let mut response =
                    reply::plain(StatusCode::METHOD_NOT_ALLOWED, "405 - Method Not Allowed");
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
                return response;
            }
        };
        let (command, path_arg) = match route {
            RpcRoute::AddSlash => return reply::redirect("/api/v0/"),
            RpcRoute::Options => return self.options_reply(&request),
            RpcRoute::Command { command, arg } => (command, arg),
        };
        if !self.browser_allowed(&request) {
            tracing::warn!(path, "RPC request refused: its origin is not allowed");
            return reply::plain(StatusCode::FORBIDDEN, "403 - Forbidden");
        }
        let query = request.uri().query().unwrap_or("").to_owned();
        let trailers = request.version() == http::Version::HTTP_2
            || request
                .headers()
                .get_all(header::TE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case("trailers"));
        let args = Args::parse(&query, path_arg).with_trailers(trailers);
        let outcome = match command {
            RpcCommand::Version => node::version(),
            RpcCommand::Id => self.id(&args).await,
            RpcCommand::ConfigShow => self.config_show().await,
            RpcCommand::RepoStat => self.repo_stat(&args).await,
            RpcCommand::RepoGc => self.repo_gc(&args).await,
            RpcCommand::SwarmConnect => self.swarm_connect(&args).await,
            RpcCommand::SwarmPeers => self.swarm_peers().await,
            RpcCommand::PinAdd => self.pin_add(&args).await,
            RpcCommand::PinLs => self.pin_ls(&args).await,
            RpcCommand::PinRm => self.pin_rm(&args).await,
            RpcCommand::PinUpdate => self.pin_update(&args).await,
            RpcCommand::BlockPut => self.block_put(&args, request).await,
            RpcCommand::BlockGet => self.block_get(&args).await,
            RpcCommand::BlockStat => self.block_stat(&args).await,
            RpcCommand::Resolve => self.resolve(&args).await,
            RpcCommand::NameResolve => self.name_resolve(&args).await,
        };
        match outcome {
            Ok(response) => response,
            Err(failure) => failure.into_response(),
        }
    }

    /// `OPTIONS`: a CORS preflight is answered as rs/cors answers it under Kubo's settings
    /// (only `POST`, a few request headers, this API's origins); a plain `OPTIONS` lists the
    /// methods.
    fn options_reply(&self, request: &Request<Incoming>) -> Response {
        let headers = request.headers();
        let Some(method) = headers.get(header::ACCESS_CONTROL_REQUEST_METHOD) else {
            let mut response = reply::empty(StatusCode::NO_CONTENT);
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(router::RPC_METHODS));
            return response;
        };
        let mut response = reply::empty(StatusCode::NO_CONTENT);
        let out = response.headers_mut();
        out.insert(
            header::VARY,
            HeaderValue::from_static(
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ),
        );
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let Some(origin) = origin.filter(|o| self.origin_allowed(o)) else {
            return response;
        };
        if !method.as_bytes().eq_ignore_ascii_case(b"POST") {
            return response;
        }
        let requested = headers
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let all_allowed = requested
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .all(|h| PREFLIGHT_HEADERS.iter().any(|a| a.eq_ignore_ascii_case(h)));
        if !all_allowed {
            return response;
        }
        if let Ok(origin) = HeaderValue::from_str(origin) {
            out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        }
        out.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST"),
        );
        if !requested.is_empty() {
            if let Ok(value) = HeaderValue::from_str(requested) {
                out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
            }
        }
        response
    }
}

/// The IPFS Companion browser extension's origins, which Kubo always allows.
const COMPANION_ORIGINS: &[&str] = &[
    "chrome-extension://nibjojkomfdiaoajekhjakgkdhaomnch",
    "chrome-extension://hjoieblefckbooibpepigmacodalfndh",
];

/// Request headers a preflight may ask for (Kubo's, plus `Origin`, which rs/cors always
/// allows).
const PREFLIGHT_HEADERS: &[&str] = &["Origin", "Accept", "Content-Type", "X-Requested-With"];

impl Handler for RpcApi {
    type Begun = ();

    async fn handle(&self, request: Request<Incoming>, (): ()) -> Response {
        let under_api = request.uri().path().starts_with("/api/v0/");
        let preflight = request.method() == Method::OPTIONS
            && request
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        let origin = request
            .headers()
            .get(header::ORIGIN)
            .filter(|o| o.to_str().is_ok_and(|o| self.origin_allowed(o)))
            .cloned();
        let post = request.method() == Method::POST;
        let mut response = self.dispatch(request).await;
        if under_api && !preflight {
            // rs/cors, around every request under the API: `Vary: Origin`, and the origin
            // echoed when it is allowed and the method is one CORS allows.
            let headers = response.headers_mut();
            headers.append(header::VARY, HeaderValue::from_static("Origin"));
            if let (Some(origin), true) = (origin, post) {
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            }
        }
        response
    }

    /// A request refused before it reaches the API (a bad `Host`): plain text, as Go's server
    /// writes its own refusals.
    fn refuse(&self, error: HttpError) -> Response {
        Failure::Http(error).into_response()
    }
}

/// Fails a command that needs the libp2p node when there is none (`--offline`), with Kubo's
/// words for an offline daemon.
fn online(network: &Option<NetworkHandle>) -> Result<&NetworkHandle, Failure> {
    network.as_ref().ok_or_else(|| {
        Failure::command("this action must be run in online mode, try running 'ipfs daemon' first")
    })
}

/// An address with the node's `/p2p/<id>` appended (as `id` lists them).
fn with_p2p(addr: Multiaddr, peer: PeerId) -> Multiaddr {
    addr.with_p2p(peer).unwrap_or_else(|addr| addr)
}
