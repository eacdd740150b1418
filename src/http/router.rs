//! The route tables, matched by hand: the gateway's ([`route`]: the method and the first path
//! segment pick a route, and the rest of the path is handed on as a borrowed `&str`, still
//! percent-encoded) and the Kubo RPC's ([`rpc_route`]: `POST /api/v0/<command>`). Nothing is
//! allocated. Each table is one `match`.

use http::Method;

/// A matched route, borrowing the request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `OPTIONS` on any path: a CORS preflight.
    Preflight,
    /// `GET`/`HEAD /ipfs/<cid>[/<path>]`: `rest` is everything after `/ipfs/`.
    IpfsRead { rest: &'a str },
    /// `POST /ipfs/` or `/ipfs/localhost/` (what `ipfs://localhost/` becomes): a new upload.
    IpfsPost,
    /// `PUT /ipfs/<cid>[/<path>]`: write into an existing tree.
    IpfsPut { rest: &'a str },
    /// `DELETE /ipfs/<cid>[/<path>]`: remove from a tree, or unpin.
    IpfsDelete { rest: &'a str },
    /// `GET`/`HEAD /pubsub/<topic>`: `rest` is everything after `/pubsub/`.
    PubsubRead { rest: &'a str },
    /// `POST /pubsub/<topic>`: `rest` is everything after `/pubsub/`.
    PubsubPublish { rest: &'a str },
    /// `GET`/`HEAD /ipns/<name>[/<path>]` (and the key API `/ipns/localhost?key=`): `rest` is
    /// everything after `/ipns/`.
    IpnsRead { rest: &'a str },
    /// `POST /ipns/<key>[/<path>]` (and the key API).
    IpnsPost { rest: &'a str },
    /// `PUT /ipns/<key>[/<path>]`.
    IpnsPut { rest: &'a str },
    /// `DELETE /ipns/<key>/<path>` (and the key API).
    IpnsDelete { rest: &'a str },
    /// `GET`/`HEAD /routing/v1/ipns/<name>` (Delegated Routing V1): `name` still encoded.
    RoutingIpnsGet { name: &'a str },
    /// `PUT /routing/v1/ipns/<name>`.
    RoutingIpnsPut { name: &'a str },
}

/// Why no route matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoRoute {
    NotFound,
    /// The path exists for other methods; `allow` is the `Allow` header value.
    MethodNotAllowed {
        allow: &'static str,
    },
}

const IPFS_CONTENT: &str = "GET, HEAD, PUT, DELETE, OPTIONS";
const IPFS_UPLOAD: &str = "POST, OPTIONS";
const PUBSUB: &str = "GET, HEAD, POST, OPTIONS";
const IPNS_METHODS: &str = "GET, HEAD, POST, PUT, DELETE, OPTIONS";
const ROUTING_IPNS_METHODS: &str = "GET, HEAD, PUT, OPTIONS";

/// Matches a request. `path` is the URI path, starting with `/`.
pub fn route<'a>(method: &Method, path: &'a str) -> Result<Route<'a>, NoRoute> {
    if method == Method::OPTIONS {
        return Ok(Route::Preflight);
    }
    let path = path.strip_prefix('/').ok_or(NoRoute::NotFound)?;
    let (namespace, rest) = path.split_once('/').unwrap_or((path, ""));
    let m = method.as_str();
    match namespace {
        "ipfs" => {
            // `/ipfs/` and `/ipfs/localhost/` name no content: they are where uploads go.
            let upload_point = matches!(rest, "" | "localhost" | "localhost/");
            match (m, upload_point) {
                ("POST", true) => Ok(Route::IpfsPost),
                ("GET" | "HEAD", _) => Ok(Route::IpfsRead { rest }),
                ("PUT", false) => Ok(Route::IpfsPut { rest }),
                ("DELETE", false) => Ok(Route::IpfsDelete { rest }),
                (_, true) => Err(NoRoute::MethodNotAllowed { allow: IPFS_UPLOAD }),
                (_, false) => Err(NoRoute::MethodNotAllowed {
                    allow: IPFS_CONTENT,
                }),
            }
        }
        // `HEAD /pubsub/` and below always answers (the Agregore spec); the handlers check
        // the topic for the other methods.
        "pubsub" => match m {
            "GET" | "HEAD" => Ok(Route::PubsubRead { rest }),
            "POST" => Ok(Route::PubsubPublish { rest }),
            _ => Err(NoRoute::MethodNotAllowed { allow: PUBSUB }),
        },
        "ipns" => ipns_route(method, rest),
        "routing" => routing_route(method, rest),
        _ => Err(NoRoute::NotFound),
    }
}

fn ipns_route<'a>(method: &Method, rest: &'a str) -> Result<Route<'a>, NoRoute> {
    match *method {
        Method::GET | Method::HEAD => Ok(Route::IpnsRead { rest }),
        Method::POST => Ok(Route::IpnsPost { rest }),
        Method::PUT => Ok(Route::IpnsPut { rest }),
        Method::DELETE => Ok(Route::IpnsDelete { rest }),
        _ => Err(NoRoute::MethodNotAllowed {
            allow: IPNS_METHODS,
        }),
    }
}

/// Delegated Routing V1 (IPIP-337/379): only the IPNS endpoint is served.
fn routing_route<'a>(method: &Method, rest: &'a str) -> Result<Route<'a>, NoRoute> {
    let name = match rest.strip_prefix("v1/ipns/") {
        Some(name) if !name.is_empty() && !name.contains('/') => name,
        _ => return Err(NoRoute::NotFound),
    };
    match *method {
        Method::GET | Method::HEAD => Ok(Route::RoutingIpnsGet { name }),
        Method::PUT => Ok(Route::RoutingIpnsPut { name }),
        _ => Err(NoRoute::MethodNotAllowed {
            allow: ROUTING_IPNS_METHODS,
        }),
    }
}

/// A command of the Kubo RPC API that cairn answers (`POST /api/v0/<command>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcCommand {
    Version,
    Id,
    RepoStat,
    RepoGc,
    SwarmConnect,
    SwarmPeers,
    PinAdd,
    PinLs,
    PinRm,
    PinUpdate,
    BlockPut,
    BlockGet,
    BlockStat,
    Resolve,
    NameResolve,
    ConfigShow,
}

/// A matched RPC request, borrowing the request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcRoute<'a> {
    /// `OPTIONS` under `/api/v0/`: a CORS preflight, or a question about the methods.
    Options,
    /// A command; `arg` is a path segment after the command's own, which Kubo takes as the
    /// first argument (`/api/v0/block/get/<cid>`), still percent-encoded.
    Command {
        command: RpcCommand,
        arg: Option<&'a str>,
    },
    /// `/api/v0` without its slash: Go's `ServeMux` redirects to `/api/v0/`.
    AddSlash,
}

/// What the RPC answers a method other than `POST` (and `OPTIONS`) with: Kubo's `Allow`.
pub const RPC_METHODS: &str = "OPTIONS, POST";

/// Matches a Kubo RPC request. As in Kubo, only `/api/v0/` is served (404 elsewhere), the
/// method is checked before the command (405 even for an unknown one), and a command Kubo has
/// but cairn does not answer is a 404 like one Kubo does not have.
pub fn rpc_route<'a>(method: &Method, path: &'a str) -> Result<RpcRoute<'a>, NoRoute> {
    if path == "/api/v0" {
        return Ok(RpcRoute::AddSlash);
    }
    let command_path = path.strip_prefix("/api/v0/").ok_or(NoRoute::NotFound)?;
    if method == Method::OPTIONS {
        return Ok(RpcRoute::Options);
    }
    if method != Method::POST {
        return Err(NoRoute::MethodNotAllowed { allow: RPC_METHODS });
    }
    let (command, arg) = COMMANDS
        .iter()
        .find_map(|(name, command)| {
            let rest = command_path.strip_prefix(name)?;
            match rest {
                "" => Some((*command, None)),
                _ => rest
                    .strip_prefix('/')
                    .filter(|arg| !arg.is_empty() && !arg.contains('/'))
                    .map(|arg| (*command, Some(arg))),
            }
        })
        .ok_or(NoRoute::NotFound)?;
    Ok(RpcRoute::Command { command, arg })
}

/// Each command's path under `/api/v0/`.
const COMMANDS: &[(&str, RpcCommand)] = &[
    ("version", RpcCommand::Version),
    ("id", RpcCommand::Id),
    ("repo/stat", RpcCommand::RepoStat),
    ("repo/gc", RpcCommand::RepoGc),
    ("swarm/connect", RpcCommand::SwarmConnect),
    ("swarm/peers", RpcCommand::SwarmPeers),
    ("pin/add", RpcCommand::PinAdd),
    ("pin/ls", RpcCommand::PinLs),
    ("pin/rm", RpcCommand::PinRm),
    ("pin/update", RpcCommand::PinUpdate),
    ("block/put", RpcCommand::BlockPut),
    ("block/get", RpcCommand::BlockGet),
    ("block/stat", RpcCommand::BlockStat),
    ("resolve", RpcCommand::Resolve),
    ("name/resolve", RpcCommand::NameResolve),
    ("config/show", RpcCommand::ConfigShow),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(Method, &str, Result<Route<'_>, NoRoute>)] = &[
            (
                Method::GET,
                "/ipfs/bafy/a/b",
                Ok(Route::IpfsRead { rest: "bafy/a/b" }),
            ),
            (
                Method::HEAD,
                "/ipfs/bafy",
                Ok(Route::IpfsRead { rest: "bafy" }),
            ),
            (Method::GET, "/ipfs", Ok(Route::IpfsRead { rest: "" })),
            (Method::OPTIONS, "/anything/at/all", Ok(Route::Preflight)),
            (
                Method::PATCH,
                "/ipfs/bafy",
                Err(NoRoute::MethodNotAllowed {
                    allow: IPFS_CONTENT,
                }),
            ),
            (Method::POST, "/ipfs/", Ok(Route::IpfsPost)),
            (Method::POST, "/ipfs/localhost/", Ok(Route::IpfsPost)),
            (Method::POST, "/ipfs/localhost", Ok(Route::IpfsPost)),
            (
                Method::POST,
                "/ipfs/bafy",
                Err(NoRoute::MethodNotAllowed {
                    allow: IPFS_CONTENT,
                }),
            ),
            (
                Method::PUT,
                "/ipfs/",
                Err(NoRoute::MethodNotAllowed { allow: IPFS_UPLOAD }),
            ),
            (
                Method::PUT,
                "/ipfs/bafy/a.txt",
                Ok(Route::IpfsPut { rest: "bafy/a.txt" }),
            ),
            (
                Method::DELETE,
                "/ipfs/bafy",
                Ok(Route::IpfsDelete { rest: "bafy" }),
            ),
            (
                Method::GET,
                "/ipns/k51/a",
                Ok(Route::IpnsRead { rest: "k51/a" }),
            ),
            (
                Method::HEAD,
                "/ipns/x.com",
                Ok(Route::IpnsRead { rest: "x.com" }),
            ),
            (
                Method::POST,
                "/ipns/localhost",
                Ok(Route::IpnsPost { rest: "localhost" }),
            ),
            (Method::PUT, "/ipns/k/p", Ok(Route::IpnsPut { rest: "k/p" })),
            (
                Method::DELETE,
                "/ipns/k/p",
                Ok(Route::IpnsDelete { rest: "k/p" }),
            ),
            (
                Method::PATCH,
                "/ipns/k",
                Err(NoRoute::MethodNotAllowed {
                    allow: IPNS_METHODS,
                }),
            ),
            (
                Method::GET,
                "/routing/v1/ipns/k51",
                Ok(Route::RoutingIpnsGet { name: "k51" }),
            ),
            (
                Method::PUT,
                "/routing/v1/ipns/k51",
                Ok(Route::RoutingIpnsPut { name: "k51" }),
            ),
            (
                Method::POST,
                "/routing/v1/ipns/k51",
                Err(NoRoute::MethodNotAllowed {
                    allow: ROUTING_IPNS_METHODS,
                }),
            ),
            (Method::GET, "/routing/v1/ipns/", Err(NoRoute::NotFound)),
            (Method::GET, "/routing/v1/ipns/a/b", Err(NoRoute::NotFound)),
            (
                Method::GET,
                "/routing/v1/providers/bafy",
                Err(NoRoute::NotFound),
            ),
            (Method::GET, "/", Err(NoRoute::NotFound)),
            (Method::GET, "/ipfsx/bafy", Err(NoRoute::NotFound)),
            (Method::GET, "ipfs/bafy", Err(NoRoute::NotFound)),
            (
                Method::GET,
                "/pubsub/a%20b/c",
                Ok(Route::PubsubRead { rest: "a%20b/c" }),
            ),
            (Method::HEAD, "/pubsub/", Ok(Route::PubsubRead { rest: "" })),
            (Method::HEAD, "/pubsub", Ok(Route::PubsubRead { rest: "" })),
            (
                Method::POST,
                "/pubsub/t",
                Ok(Route::PubsubPublish { rest: "t" }),
            ),
            (
                Method::PUT,
                "/pubsub/t",
                Err(NoRoute::MethodNotAllowed { allow: PUBSUB }),
            ),
            (
                Method::DELETE,
                "/pubsub/t",
                Err(NoRoute::MethodNotAllowed { allow: PUBSUB }),
            ),
            (Method::GET, "/pubsubs/t", Err(NoRoute::NotFound)),
        ];
        for (method, path, want) in cases {
            assert_eq!(&route(method, path), want, "{method} {path}");
        }
    }

    #[test]
    fn rpc_table() {
        let command = |command, arg| Ok(RpcRoute::Command { command, arg });
        let cases: &[(Method, &str, Result<RpcRoute<'_>, NoRoute>)] = &[
            (Method::POST, "/api/v0/id", command(RpcCommand::Id, None)),
            (
                Method::POST,
                "/api/v0/pin/ls",
                command(RpcCommand::PinLs, None),
            ),
            (
                Method::POST,
                "/api/v0/block/get/bafkqaaa",
                command(RpcCommand::BlockGet, Some("bafkqaaa")),
            ),
            (
                Method::POST,
                "/api/v0/name/resolve",
                command(RpcCommand::NameResolve, None),
            ),
            (
                Method::POST,
                "/api/v0/block/get/a/b",
                Err(NoRoute::NotFound),
            ),
            (Method::POST, "/api/v0/pin/lsx", Err(NoRoute::NotFound)),
            (Method::POST, "/api/v0/add", Err(NoRoute::NotFound)),
            (Method::POST, "/api/v0/", Err(NoRoute::NotFound)),
            (Method::POST, "/api/v1/id", Err(NoRoute::NotFound)),
            (Method::GET, "/api/v1/id", Err(NoRoute::NotFound)),
            (Method::POST, "/", Err(NoRoute::NotFound)),
            (Method::POST, "/api/v0", Ok(RpcRoute::AddSlash)),
            (
                Method::GET,
                "/api/v0/id",
                Err(NoRoute::MethodNotAllowed { allow: RPC_METHODS }),
            ),
            (
                Method::GET,
                "/api/v0/nosuch",
                Err(NoRoute::MethodNotAllowed { allow: RPC_METHODS }),
            ),
            (
                Method::HEAD,
                "/api/v0/version",
                Err(NoRoute::MethodNotAllowed { allow: RPC_METHODS }),
            ),
            (Method::OPTIONS, "/api/v0/id", Ok(RpcRoute::Options)),
        ];
        for (method, path, want) in cases {
            assert_eq!(&rpc_route(method, path), want, "{method} {path}");
        }
    }
}
