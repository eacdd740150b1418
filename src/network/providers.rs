//! Content routing for the Bitswap client: who provides a CID, from the node's DHTs and from
//! Delegated Routing V1 servers (`--routing-v1`), asked together and merged.
//!
//! A provider is handed to the client only once it can be asked: the DHT's are being dialed
//! by the node as the query finds them (the client's first want waits for that connection),
//! and a router's are dialed here at the addresses the router gave (or, for a record without
//! any, those its `/peers/<id>` gives), and handed over when connected. A router's provider that offers only other transfer protocols (an HTTP
//! gateway) is skipped: the client speaks Bitswap.

use std::collections::HashSet;
use std::sync::Arc;

use cid::Cid;
use futures_util::stream::{self, FuturesUnordered, StreamExt};
use libp2p::{Multiaddr, PeerId};

use super::bitswap::client::{FindProviders, ProviderStream};
use super::routing_v1::{Provider, RoutingV1};
use super::NetworkHandle;

/// The Bitswap transfer protocol's name in routing records.
const TRANSPORT_BITSWAP: &str = "transport-bitswap";

/// Providers from the node's DHTs (WAN and LAN).
pub struct DhtProviders(pub NetworkHandle);

impl FindProviders<PeerId> for DhtProviders {
    fn find_providers(&self, cid: &Cid, limit: usize) -> ProviderStream<PeerId> {
        let (node, cid) = (self.0.clone(), *cid);
        Box::pin(
            stream::once(async move { node.get_providers(&cid, limit).await.unwrap_or_default() })
                .flat_map(stream::iter),
        )
    }
}

/// Providers from delegated routers, each dialed at the addresses the routers gave.
pub struct DelegatedProviders {
    pub routing: Arc<RoutingV1>,
    pub node: NetworkHandle,
}

impl FindProviders<PeerId> for DelegatedProviders {
    fn find_providers(&self, cid: &Cid, limit: usize) -> ProviderStream<PeerId> {
        let (routing, node, cid) = (Arc::clone(&self.routing), self.node.clone(), *cid);
        let me = node.peer_id();
        Box::pin(
            stream::once(async move {
                let records = match routing.find_providers(&cid).await {
                    Ok(records) => records,
                    Err(e) => {
                        tracing::debug!(%cid, error = %e, "delegated routing");
                        Vec::new()
                    }
                };
                let dials: FuturesUnordered<_> = records
                    .iter()
                    .filter_map(bitswap_peer)
                    .filter(|(peer, _)| *peer != me)
                    .take(limit)
                    .map(|(peer, addrs)| {
                        let (node, routing) = (node.clone(), Arc::clone(&routing));
                        async move {
                            // A record without addresses: the routers' `/peers/<id>` may know.
                            let addrs = if addrs.is_empty() {
                                addresses_of(&routing, &peer).await
                            } else {
                                addrs
                            };
                            match node.dial_peer(peer, addrs).await {
                                Ok(()) => Some(peer),
                                Err(e) => {
                                    tracing::debug!(%peer, error = %e, "dialing a provider");
                                    None
                                }
                            }
                        }
                    })
                    .collect();
                dials.filter_map(std::future::ready)
            })
            .flatten(),
        )
    }
}

/// Where the routers say `peer` is (none when they do not know).
async fn addresses_of(routing: &RoutingV1, peer: &PeerId) -> Vec<Multiaddr> {
    match routing.find_peer(&peer.to_string()).await {
        Ok(addrs) => addrs.iter().filter_map(|a| a.parse().ok()).collect(),
        Err(e) => {
            tracing::debug!(%peer, error = %e, "delegated routing: peer addresses");
            Vec::new()
        }
    }
}

/// The peer and its addresses, when the record offers Bitswap (or does not say) and names
/// a peer ID.
fn bitswap_peer(record: &Provider) -> Option<(PeerId, Vec<Multiaddr>)> {
    let offers_bitswap =
        record.protocols.is_empty() || record.protocols.iter().any(|p| p == TRANSPORT_BITSWAP);
    if !offers_bitswap {
        return None;
    }
    let peer = record.peer_id.parse().ok()?;
    let addrs = record.addrs.iter().filter_map(|a| a.parse().ok()).collect();
    Some((peer, addrs))
}

/// Several finders asked at once; each peer handed over once, as soon as any finder has it.
pub struct AllProviders(pub Vec<Arc<dyn FindProviders<PeerId>>>);

impl FindProviders<PeerId> for AllProviders {
    fn find_providers(&self, cid: &Cid, limit: usize) -> ProviderStream<PeerId> {
        let mut seen = HashSet::new();
        Box::pin(
            stream::select_all(self.0.iter().map(|f| f.find_providers(cid, limit)))
                .filter(move |peer| std::future::ready(seen.insert(*peer))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(peer: &str, addrs: &[&str], protocols: &[&str]) -> Provider {
        Provider {
            peer_id: peer.to_owned(),
            addrs: addrs.iter().map(|a| (*a).to_owned()).collect(),
            protocols: protocols.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    const PEER: &str = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";

    #[test]
    fn only_bitswap_providers_with_peer_ids_are_taken() {
        let (peer, addrs) =
            bitswap_peer(&record(PEER, &["/ip4/127.0.0.1/tcp/4001", "nonsense"], &[])).unwrap();
        assert_eq!(peer.to_string(), PEER);
        assert_eq!(
            addrs,
            vec!["/ip4/127.0.0.1/tcp/4001".parse::<Multiaddr>().unwrap()]
        );
        assert!(bitswap_peer(&record(PEER, &[], &["transport-bitswap"])).is_some());
        assert!(bitswap_peer(&record(PEER, &[], &["transport-ipfs-gateway-http"])).is_none());
        assert!(bitswap_peer(&record("not-a-peer", &[], &[])).is_none());
    }

    struct Fixed(Vec<PeerId>);

    impl FindProviders<PeerId> for Fixed {
        fn find_providers(&self, _: &Cid, _: usize) -> ProviderStream<PeerId> {
            Box::pin(stream::iter(self.0.clone()))
        }
    }

    /// A router that knows B provides everything but gives its addresses only at
    /// `/peers/<id>`: A dials B at them and hands B over once connected.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_routers_provider_without_addresses_is_dialed_at_its_peer_record() {
        use crate::network::test_server::{body, TestServer};
        use crate::network::{start, NetworkConfig};
        let config = || NetworkConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            ..NetworkConfig::default()
        };
        let keypair = libp2p::identity::Keypair::generate_ed25519;
        let (a, b) = (
            start(keypair(), config()).await.unwrap(),
            start(keypair(), config()).await.unwrap(),
        );
        let (b_id, b_addr) = (b.peer_id(), b.listen_addrs().await.unwrap().remove(0));
        let router = TestServer::start(move |request| {
            let path = request.uri().path().to_owned();
            let text = if path.starts_with("/routing/v1/providers/") {
                format!(r#"{{"Providers":[{{"Schema":"peer","ID":"{b_id}","Addrs":[]}}]}}"#)
            } else if path.starts_with("/routing/v1/peers/") {
                format!(r#"{{"Peers":[{{"Schema":"peer","ID":"{b_id}","Addrs":["{b_addr}"]}}]}}"#)
            } else {
                String::new()
            };
            async move { body::typed("application/json", text) }
        })
        .await;
        let routing = RoutingV1::new(vec![router.endpoint()], Default::default()).unwrap();
        let delegated = DelegatedProviders {
            routing: Arc::new(routing),
            node: a.clone(),
        };
        let cid: Cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
            .parse()
            .unwrap();
        let found: Vec<PeerId> = delegated.find_providers(&cid, 5).collect().await;
        assert_eq!(found, vec![b_id]);
        assert!(a.connected_peers().await.unwrap().contains(&b_id));
        assert_eq!(router.hits(), 2, "providers, then the peer record");
        a.shutdown().await;
        b.shutdown().await;
    }

    #[tokio::test]
    async fn all_providers_merges_without_repeats() {
        let [a, b, c] = [(); 3].map(|()| PeerId::random());
        let all = AllProviders(vec![
            Arc::new(Fixed(vec![a, b])),
            Arc::new(Fixed(vec![b, c, a])),
        ]);
        let cid: Cid = "bafkqaaa".parse().unwrap();
        let mut got: Vec<PeerId> = all.find_providers(&cid, 10).collect().await;
        got.sort();
        let mut want = vec![a, b, c];
        want.sort();
        assert_eq!(got, want);
    }
}
