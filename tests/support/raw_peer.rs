//! A libp2p node on loopback that speaks Bitswap by hand (cairn's own node type, its Bitswap
//! streams taken instead of served): tests play misbehaving or well-behaved peers with it.

use std::time::Duration;

use cairn::network::bitswap::transport::{Event, Opener};
use cairn::network::bitswap::{Limits, MessageReader};
use cairn::network::{NetworkHandle, PeerId};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::compat::FuturesAsyncReadCompatExt;

const LOOPBACK_TCP: &str = "/ip4/127.0.0.1/tcp/0";

/// A libp2p node that speaks Bitswap by hand.
pub struct RawPeer {
    pub node: NetworkHandle,
    pub events: UnboundedReceiver<Event>,
    pub opener: Opener,
}

impl RawPeer {
    pub async fn start() -> RawPeer {
        let config = cairn::network::NetworkConfig {
            listen: vec![LOOPBACK_TCP.parse().unwrap()],
            dht: cairn::network::DhtMode::Client,
            ..Default::default()
        };
        let key = libp2p::identity::Keypair::generate_ed25519();
        let node = cairn::network::start(key, config).await.unwrap();
        let events = node.take_bitswap_events().unwrap();
        let opener = node.bitswap_opener();
        RawPeer {
            node,
            events,
            opener,
        }
    }

    /// Whether cairn closed the connection within `limit`.
    pub async fn disconnected(&mut self, cairn: PeerId, limit: Duration) -> bool {
        let events = &mut self.events;
        let closing = async {
            while let Some(event) = events.recv().await {
                if matches!(event, Event::Disconnected(peer) if peer == cairn) {
                    return;
                }
            }
        };
        tokio::time::timeout(limit, closing).await.is_ok()
    }

    /// The next stream cairn opens to answer on.
    pub async fn answers(&mut self, limit: Duration) -> MessageReader<impl tokio::io::AsyncRead> {
        let inbound = async {
            while let Some(event) = self.events.recv().await {
                if let Event::Inbound { stream, .. } = event {
                    return stream;
                }
            }
            panic!("the node stopped");
        };
        let stream = tokio::time::timeout(limit, inbound)
            .await
            .expect("cairn answers");
        MessageReader::new(stream.compat(), Limits::default())
    }
}
