//! The gateway API on its own port: the Agregore IPFS gateway routes and Kubo's path-gateway
//! read behaviour. Requests are routed by [`crate::http::router`]; each handler returns a
//! response or an [`HttpError`], and every response leaves here with CORS headers.

mod ipns;
mod listing;
pub mod path;
pub mod pubsub;
mod read;
mod write;

use std::sync::Arc;

use http::{header, HeaderValue, Method, Request, StatusCode};
use hyper::body::Incoming;

use crate::http::router::{self, NoRoute, Route};
use crate::http::server::Handler;
use crate::http::{cors, Body, HttpError, Response};
use crate::services::names::NameService;
use crate::services::pins::Pinset;
use crate::services::pubsub::PubsubBackend;
use crate::store::Blockstore;

/// Longest request target (path and query) accepted; longer ones get 414.
pub const MAX_URI_BYTES: usize = 8 << 10;

/// How the gateway is set up.
#[derive(Debug, Clone, Default)]
pub struct GatewayOptions {
    /// Whether POST/PUT/DELETE are allowed.
    pub writable: bool,
    /// Largest upload accepted, in bytes (413 beyond).
    pub max_upload: Option<u64>,
}

/// The gateway's state, shared by every connection.
pub struct Gateway {
    store: Arc<Blockstore>,
    pins: Arc<Pinset>,
    writable: bool,
    max_upload: Option<u64>,
    pubsub: pubsub::PubsubApi,
    /// IPNS: `/ipns`, the key API, Delegated Routing V1 (absent: those routes answer 501).
    names: Option<Arc<NameService>>,
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
        }
    }

    /// Serves IPNS from `names`.
    pub fn with_names(mut self, names: Arc<NameService>) -> Self {
        self.names = Some(names);
        self
    }

    /// Routes that take a request body, then everything else.
    async fn dispatch_async(&self, request: Request<Incoming>) -> Result<Response, HttpError> {
        let path = request.uri().path().to_owned();
        match router::route(request.method(), &path) {
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
                write::delete(self, &request, rest)
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
    async fn handle(&self, request: Request<Incoming>) -> Response {
        let html = prefers_html(&request);
        let mut response = match self.dispatch_async(request).await {
            Ok(response) => response,
            Err(error) => error.into_response(html),
        };
        cors::apply(response.headers_mut());
        response
    }
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
