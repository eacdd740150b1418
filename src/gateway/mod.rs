//! The gateway API on its own port: the Agregore IPFS gateway routes and Kubo's path,
//! trustless, subdomain and DNSLink gateway behaviour. The Host picks the gateway
//! ([`host`], [`origins`]); on the path gateway requests are routed by
//! [`crate::http::router`]; each handler returns a response or an [`HttpError`], and every
//! response leaves here with CORS headers (and without a body for `HEAD`).

mod dag_html;
mod export;
pub mod format;
pub mod host;
mod ipns;
mod listing;
mod origins;
pub mod path;
pub mod pubsub;
mod read;
mod write;

use std::sync::Arc;
use std::time::Duration;

use http::{header, HeaderValue, Method, Request, StatusCode};
use hyper::body::Incoming;
use tokio::sync::Semaphore;

use crate::http::router::{self, NoRoute, Route};
use crate::http::server::Handler;
use crate::http::{cors, Body, HttpError, Response};
use crate::services::names::NameService;
use crate::services::pins::Pinset;
use crate::services::pubsub::PubsubBackend;
use crate::store::Blockstore;

/// Longest request target (path and query) accepted; longer ones get 414.
pub const MAX_URI_BYTES: usize = 8 << 10;

/// What a directory answers to a request without `Accept`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ListingDefault {
    /// The Agregore spec: "No Accept header also returns JSON".
    #[default]
    Json,
    /// Kubo: the HTML listing whatever the client accepts.
    Html,
}

/// How the gateway is set up.
#[derive(Debug, Clone, Default)]
pub struct GatewayOptions {
    /// Whether POST/PUT/DELETE are allowed.
    pub writable: bool,
    /// Largest upload accepted, in bytes (413 beyond).
    pub max_upload: Option<u64>,
    /// Hosts served as subdomain gateways (`<cid>.ipfs.<host>`, `<name>.ipns.<host>`).
    pub subdomain_hosts: Vec<String>,
    /// What a directory answers to a request without `Accept`.
    pub listing_without_accept: ListingDefault,
    /// Operator limits (boxo#881, #994, #856).
    pub limits: GatewayLimits,
}

/// Limits an operator sets on a public gateway, as boxo offers them.
#[derive(Debug, Clone, Default)]
pub struct GatewayLimits {
    /// Requests served at once; more get 429 with `Retry-After` (`None`: no cap). Event
    /// streams and preflights are not counted: they cost nothing while idle.
    pub max_concurrent_requests: Option<usize>,
    /// Longest wait for a read's response to start (`None`: no limit); past it, 504.
    pub retrieval_timeout: Option<Duration>,
    /// Files larger than this refuse `Range` requests with 501, because CDNs in front of
    /// gateways do not cache ranges of very large files (boxo#856).
    pub max_range_file_size: Option<u64>,
}

/// How long a client is told to wait after a 429 (boxo uses the same fixed value).
const RETRY_AFTER_SECONDS: u64 = 60;

/// The gateway's state, shared by every connection.
pub struct Gateway {
    store: Arc<Blockstore>,
    pins: Arc<Pinset>,
    writable: bool,
    max_upload: Option<u64>,
    pubsub: pubsub::PubsubApi,
    /// IPNS: `/ipns`, the key API, Delegated Routing V1 (absent: those routes answer 501).
    names: Option<Arc<NameService>>,
    hosts: host::GatewayHosts,
    listing_default: ListingDefault,
    /// Free request slots, when concurrency is capped.
    slots: Option<Arc<Semaphore>>,
    retrieval_timeout: Option<Duration>,
    max_range_file_size: Option<u64>,
}

impl Gateway {
    /// A gateway over `store`, whose `/pubsub` API goes through `pubsub`.
    pub fn new(
        store: Arc<Blockstore>,
        pins: Arc<Pinset>,
        pubsub: Arc<dyn PubsubBackend>,
        options: GatewayOptions,
    ) -> Self {
        Gateway {
            store,
            pins,
            pubsub: pubsub::PubsubApi::new(pubsub),
            writable: options.writable,
            max_upload: options.max_upload,
            names: None,
            hosts: host::GatewayHosts::new(&options.subdomain_hosts),
            listing_default: options.listing_without_accept,
            slots: options
                .limits
                .max_concurrent_requests
                .map(|n| Arc::new(Semaphore::new(n.min(Semaphore::MAX_PERMITS)))),
            retrieval_timeout: options.limits.retrieval_timeout,
            max_range_file_size: options.limits.max_range_file_size,
        }
    }

    /// Serves IPNS from `names`.
    pub fn with_names(mut self, names: Arc<NameService>) -> Self {
        self.names = Some(names);
        self
    }

    /// Requests for content origins (by Host), then routes that take a request body, then
    /// everything else.
    async fn dispatch_async(&self, request: Request<Incoming>) -> Result<Response, HttpError> {
        if let Some(response) = self.dispatch_by_host(&request).await? {
            return Ok(response);
        }
        // The handlers below take the request (its body); the route borrows the path from a
        // clone of the URI, which shares its bytes with the request's (no copy).
        let uri = request.uri().clone();
        match router::route(request.method(), uri.path()) {
            Ok(Route::IpfsPost) => {
                self.check_writable()?;
                write::post(self, request).await
            }
            Ok(Route::IpfsPut { rest }) => {
                self.check_writable()?;
                write::put(self, request, rest).await
            }
            Ok(Route::IpfsDelete { rest }) => {
                self.check_writable()?;
                write::delete(self, &request, rest).await
            }
            Ok(Route::PubsubPublish { rest }) => {
                let (parts, body) = request.into_parts();
                pubsub::publish(&self.pubsub, &parts.headers, rest, body).await
            }
            // Resolution may ask DNS; publishing takes a body.
            Ok(
                Route::IpnsRead { .. }
                | Route::IpnsPost { .. }
                | Route::IpnsPut { .. }
                | Route::IpnsDelete { .. }
                | Route::RoutingIpnsGet { .. }
                | Route::RoutingIpnsPut { .. },
            ) => Ok(ipns::respond(self, request).await),
            _ => Ok(self.respond(&request)),
        }
    }

    /// The answer for requests whose Host names a subdomain or DNSLink origin, or a redirect
    /// to one; `None` for the path gateway.
    async fn dispatch_by_host<B>(
        &self,
        request: &Request<B>,
    ) -> Result<Option<Response>, HttpError> {
        if request.method() == Method::OPTIONS {
            return Ok(None);
        }
        let head = origins::Head {
            method: request.method(),
            uri: request.uri(),
            headers: request.headers(),
        };
        let host = host::request_host(head.uri, head.headers);
        match self.hosts.classify(host) {
            host::HostKind::Path => Ok(None),
            host::HostKind::SubdomainParent { host } => {
                origins::redirect_to_subdomain(self, &head, host).await
            }
            host::HostKind::Subdomain {
                namespace,
                root,
                gateway,
            } => origins::serve_subdomain(self, &head, namespace, root, gateway)
                .await
                .map(Some),
            host::HostKind::MaybeDnsLink { name, host } => {
                let Some(names) = &self.names else {
                    return Ok(None);
                };
                // No DNSLink (or no answer): the path gateway serves it.
                let Ok(resolved) = names.resolve(name).await else {
                    return Ok(None);
                };
                origins::serve_dnslink(self, &head, name, host, resolved)
                    .await
                    .map(Some)
            }
        }
    }

    fn check_writable(&self) -> Result<(), HttpError> {
        if self.writable {
            Ok(())
        } else {
            Err(HttpError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "this gateway is read-only (start it with --writable to accept uploads)",
            )
            .with_header(
                header::ALLOW,
                HeaderValue::from_static("GET, HEAD, OPTIONS"),
            ))
        }
    }

    /// Answers a request that needs no request body (every read route). Used by the server
    /// and, with any body type, by benches.
    pub fn respond<B>(&self, request: &Request<B>) -> Response {
        let mut response = match self.dispatch(request) {
            Ok(response) => response,
            Err(error) => error.into_response(prefers_html(request)),
        };
        if request.method() == Method::HEAD {
            // Headers (Content-Length included) stay as for GET; no body is sent.
            *response.body_mut() = Body::empty();
        }
        cors::apply(response.headers_mut());
        response
    }

    fn dispatch<B>(&self, request: &Request<B>) -> Result<Response, HttpError> {
        let uri = request.uri();
        let target_len = uri.path_and_query().map_or(0, |pq| pq.as_str().len());
        if target_len > MAX_URI_BYTES {
            return Err(HttpError::new(
                StatusCode::URI_TOO_LONG,
                format!("request target is longer than {MAX_URI_BYTES} bytes"),
            ));
        }
        match router::route(request.method(), uri.path()) {
            Ok(Route::Preflight) => Ok(preflight()),
            Ok(Route::IpfsRead { rest }) => read::ipfs(self, request, rest),
            Ok(Route::PubsubRead { rest }) => pubsub::read(&self.pubsub, request, rest),
            Ok(
                Route::IpfsPost
                | Route::IpfsPut { .. }
                | Route::IpfsDelete { .. }
                | Route::PubsubPublish { .. },
            ) => Err(HttpError::bad_request("this route needs the request body")),
            Ok(
                Route::IpnsRead { .. }
                | Route::IpnsPost { .. }
                | Route::IpnsPut { .. }
                | Route::IpnsDelete { .. }
                | Route::RoutingIpnsGet { .. }
                | Route::RoutingIpnsPut { .. },
            ) => Err(HttpError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "IPNS routes are served asynchronously (Gateway::handle)",
            )),
            Err(NoRoute::NotFound) => Err(HttpError::not_found(format!(
                "no such route: {} (content lives under /ipfs/<cid>)",
                uri.path()
            ))),
            Err(NoRoute::MethodNotAllowed { allow }) => Err(HttpError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("method {} is not allowed here", request.method()),
            )
            .with_header(header::ALLOW, HeaderValue::from_static(allow))),
        }
    }
}

impl Handler for Gateway {
    /// Tunnels to a subdomain gateway host (or a subdomain of one) are served here: a client
    /// using the gateway as its HTTP proxy reaches the same content.
    fn serves_tunnel_to(&self, authority: &str) -> bool {
        matches!(
            self.hosts.classify(authority),
            host::HostKind::SubdomainParent { .. } | host::HostKind::Subdomain { .. }
        )
    }

    async fn handle(&self, request: Request<Incoming>) -> Response {
        let html = prefers_html(&request);
        let method = request.method().clone();
        let head = method == Method::HEAD;
        let event_stream = request.uri().path().starts_with("/pubsub");
        let slot = match &self.slots {
            Some(slots) if method != Method::OPTIONS && !event_stream => {
                match Arc::clone(slots).try_acquire_owned() {
                    Ok(slot) => Some(slot),
                    Err(_) => return too_many_requests(html),
                }
            }
            _ => None,
        };
        let read = matches!(method, Method::GET | Method::HEAD) && !event_stream;
        let outcome = match self.retrieval_timeout {
            Some(limit) if read => {
                match tokio::time::timeout(limit, self.dispatch_async(request)).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(HttpError::new(
                        StatusCode::GATEWAY_TIMEOUT,
                        format!(
                            "Unable to retrieve content within timeout period ({} s)",
                            limit.as_secs_f64()
                        ),
                    )),
                }
            }
            _ => self.dispatch_async(request).await,
        };
        let mut response = match outcome {
            Ok(response) => response,
            Err(error) => error.into_response(html),
        };
        if head {
            // Headers (Content-Length included) stay as for GET; no body is sent.
            *response.body_mut() = Body::empty();
        }
        if let Some(slot) = slot {
            response.body_mut().hold(slot);
        }
        cors::apply(response.headers_mut());
        response
    }
}

/// 429 with `Retry-After` and `Cache-Control: no-store` (a cache must not keep it).
fn too_many_requests(html: bool) -> Response {
    let mut response = HttpError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!("Too many requests. Please retry after {RETRY_AFTER_SECONDS} seconds."),
    )
    .into_response(html);
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn preflight() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// Whether the client's Accept header asks for HTML (browsers), for error bodies.
fn prefers_html<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}
