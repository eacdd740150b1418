//! The node's commands: `version`, `id`, `config/show`, `repo/stat`, `repo/gc`,
//! `swarm/connect`, `swarm/peers`, with Kubo's output shapes (`core/commands/{version,id,
//! config,repo,swarm}.go`).

use std::collections::BTreeMap;
use std::sync::Arc;

use cid::multibase::Base;
use cid::Cid;
use serde::Serialize;

use super::args::Args;
use super::reply::{self, Failure};
use super::{online, with_p2p, RpcApi};
use crate::http::Response;
use crate::ipld::cid::codec;
use crate::network::bitswap::transport::Versions;
use crate::network::config::peer_of;
use crate::network::node::{agent_version, LAN_KAD_PROTOCOL};
use crate::network::Multiaddr;
use crate::services::gc;
use libp2p::multiaddr::Protocol;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VersionOutput {
    version: &'static str,
    commit: &'static str,
    repo: &'static str,
    system: String,
    golang: &'static str,
}

/// `version`: cairn's own version (Kubo's CLI reads it as a semantic version); the fields
/// that describe a Go build are empty.
pub(super) fn version() -> Result<Response, Failure> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    reply::single(&VersionOutput {
        version: env!("CARGO_PKG_VERSION"),
        commit: "",
        repo: "",
        system: format!("{arch}/{}", std::env::consts::OS),
        golang: "",
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct IdOutput {
    #[serde(rename = "ID")]
    id: String,
    public_key: String,
    addresses: Option<Vec<String>>,
    agent_version: String,
    protocols: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PeerEntry {
    addr: String,
    peer: String,
    identify: IdOutput,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PeersOutput {
    peers: Option<Vec<PeerEntry>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StringsOutput {
    strings: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RepoStatOutput {
    repo_size: u64,
    storage_max: u64,
    num_objects: u64,
    repo_path: String,
    version: String,
}

#[derive(Serialize)]
struct GcKey {
    #[serde(rename = "/")]
    cid: String,
}

#[derive(Serialize)]
struct GcOutput {
    #[serde(rename = "Key")]
    key: GcKey,
}

impl RpcApi {
    /// `id`: this node's identity, addresses (each with `/p2p/<id>`), agent and the protocols
    /// it always serves. Another peer's ID is not looked up.
    pub(super) async fn id(&self, args: &Args<'_>) -> Result<Response, Failure> {
        let peer = self.options.peer_id;
        if let Some(asked) = args.all().first() {
            if asked.parse::<crate::network::PeerId>().ok() != Some(peer) {
                return Err(Failure::command(format!(
                    "cairn answers id for its own peer ID only, not {asked}"
                )));
            }
        }
        let id = match args.string(&["peerid-base"]).unwrap_or("b58mh") {
            "b58mh" => peer.to_base58(),
            base => {
                let base = match base {
                    "base36" | "k" => Base::Base36Lower,
                    "base32" | "b" => Base::Base32Lower,
                    other => {
                        return Err(Failure::command(format!(
                            "peerid-base {other:?}: cairn writes b58mh, base36 or base32"
                        )))
                    }
                };
                let digest = multihash::Multihash::<64>::from_bytes(&peer.to_bytes())
                    .map_err(|e| Failure::command(e.to_string()))?;
                Cid::new_v1(codec::LIBP2P_KEY, digest)
                    .to_string_of_base(base)
                    .map_err(|e| Failure::command(e.to_string()))?
            }
        };
        let addresses = match &self.network {
            Some(network) => {
                let addrs = network
                    .listen_addrs()
                    .await
                    .map_err(|e| Failure::command(e.to_string()))?;
                Some(
                    addrs
                        .into_iter()
                        .map(|a| with_p2p(a, peer).to_string())
                        .collect(),
                )
            }
            None => None,
        };
        reply::single(&IdOutput {
            id,
            public_key: data_encoding::BASE64.encode(&self.options.public_key),
            addresses,
            agent_version: agent_version(),
            protocols: Some(protocols()),
        })
    }

    /// `config/show`: the parts of Kubo's configuration that describe where this node is
    /// (its identity without the private key, its addresses); cairn has no config file.
    pub(super) async fn config_show(&self) -> Result<Response, Failure> {
        let swarm: Vec<String> = match &self.network {
            Some(network) => network
                .listen_addrs()
                .await
                .map_err(|e| Failure::command(e.to_string()))?
                .iter()
                .map(|a| a.to_string())
                .collect(),
            None => Vec::new(),
        };
        let tcp = |addr: std::net::SocketAddr| {
            let ip = match addr.ip() {
                std::net::IpAddr::V4(ip) => format!("/ip4/{ip}"),
                std::net::IpAddr::V6(ip) => format!("/ip6/{ip}"),
            };
            format!("{ip}/tcp/{}", addr.port())
        };
        let mut addresses = serde_json::Map::new();
        addresses.insert("API".into(), tcp(self.options.listen).into());
        if let Some(gateway) = self.options.gateway {
            addresses.insert("Gateway".into(), tcp(gateway).into());
        }
        addresses.insert("Swarm".into(), swarm.into());
        let mut identity = serde_json::Map::new();
        identity.insert("PeerID".into(), self.options.peer_id.to_base58().into());
        let mut config = BTreeMap::new();
        config.insert("Addresses", serde_json::Value::Object(addresses));
        config.insert("Identity", serde_json::Value::Object(identity));
        reply::single(&config)
    }

    /// `repo/stat`: the bytes of blocks held (kept and fetched), and as `StorageMax` those plus
    /// the free space of the file system they are on (cairn has no configured maximum; the
    /// cluster's `freespace` metric, `StorageMax - RepoSize`, is then the disk's free space).
    pub(super) async fn repo_stat(&self, args: &Args<'_>) -> Result<Response, Failure> {
        let size_only = args.bool(&["size-only"], false)?;
        let store = Arc::clone(&self.store);
        let (usage, free) = tokio::task::spawn_blocking(move || {
            store.usage().map(|usage| (usage, store.free_space()))
        })
        .await
        .map_err(|e| Failure::command(e.to_string()))??;
        let repo_size = usage.block_bytes + usage.fetched_bytes;
        reply::single(&RepoStatOutput {
            repo_size,
            storage_max: repo_size.saturating_add(free),
            num_objects: if size_only { 0 } else { usage.blocks },
            repo_path: if size_only {
                String::new()
            } else {
                self.options.data_dir.display().to_string()
            },
            version: if size_only {
                String::new()
            } else {
                concat!("cairn@", env!("CARGO_PKG_VERSION")).to_owned()
            },
        })
    }

    /// `repo/gc`: removes every block no pin reaches, one `{"Key":{"/":cid}}` line per block
    /// removed (as CIDv1 raw: the store knows multihashes, not codecs, as Kubo's).
    pub(super) async fn repo_gc(&self, args: &Args<'_>) -> Result<Response, Failure> {
        let (store, pins) = (Arc::clone(&self.store), Arc::clone(&self.pins));
        Ok(reply::stream(args.trailers(), |out| async move {
            let report = tokio::task::spawn_blocking(move || gc::collect(&store, &pins, &[]))
                .await
                .map_err(|e| Failure::command(e.to_string()))??;
            for cid in report.removed {
                let line = GcOutput {
                    key: GcKey {
                        cid: cid.to_string(),
                    },
                };
                if !out.emit(&line).await {
                    break;
                }
            }
            Ok(())
        })
        .await)
    }

    /// `swarm/connect`: dials each address (which must name its peer); one line per peer.
    pub(super) async fn swarm_connect(&self, args: &Args<'_>) -> Result<Response, Failure> {
        let addrs = args.required_all("address")?;
        let network = online(&self.network)?;
        let mut strings = Vec::new();
        let mut peers = Vec::new();
        for text in addrs {
            let addr: Multiaddr = text.parse().map_err(|e| {
                Failure::command(format!("failed to parse multiaddr {text:?}: {e}"))
            })?;
            let Some(peer) = peer_of(&addr) else {
                return Err(Failure::command(format!("found no ipfs peers at {text}")));
            };
            if peers.contains(&peer) {
                continue;
            }
            peers.push(peer);
            if let Err(e) = network.dial(addr).await {
                return Err(Failure::command(format!("connect {peer} failure: {e}")));
            }
            strings.push(format!("connect {peer} success"));
        }
        reply::single(&StringsOutput { strings })
    }

    /// `swarm/peers`: each connection, with the empty `Identify` Kubo adds when not verbose.
    pub(super) async fn swarm_peers(&self) -> Result<Response, Failure> {
        let network = online(&self.network)?;
        let mut connections = network
            .connections()
            .await
            .map_err(|e| Failure::command(e.to_string()))?;
        connections.sort_by_cached_key(|(peer, addr)| (peer.to_base58(), addr.to_string()));
        let peers: Vec<PeerEntry> = connections
            .into_iter()
            .map(|(peer, addr)| PeerEntry {
                // The dialer's side of a connection names the peer in its address; Kubo
                // lists the transport address alone.
                addr: addr
                    .iter()
                    .filter(|p| !matches!(p, Protocol::P2p(_)))
                    .collect::<Multiaddr>()
                    .to_string(),
                peer: peer.to_base58(),
                identify: IdOutput {
                    id: String::new(),
                    public_key: String::new(),
                    addresses: None,
                    agent_version: String::new(),
                    protocols: None,
                },
            })
            .collect();
        reply::single(&PeersOutput {
            peers: (!peers.is_empty()).then_some(peers),
        })
    }
}

/// The protocols the node always serves, sorted as Kubo lists them.
fn protocols() -> Vec<String> {
    let mut protocols: Vec<String> = Versions::IDS.iter().map(|p| p.to_string()).collect();
    protocols.extend(
        [
            libp2p::identify::PROTOCOL_NAME,
            libp2p::identify::PUSH_PROTOCOL_NAME,
            libp2p::ping::PROTOCOL_NAME,
            LAN_KAD_PROTOCOL,
        ]
        .iter()
        .map(|p| p.to_string()),
    );
    protocols.sort();
    protocols
}
