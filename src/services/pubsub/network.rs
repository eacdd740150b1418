//! Pubsub on the network: a [`LocalBus`] whose topics are subscribed to on the libp2p node's
//! gossipsub while they have a subscriber here, fed by the messages peers publish, and whose
//! publishes are signed and sent to the peers subscribed to the topic
//! ([`crate::network::pubsub`] has the wire details and the network's bounds).

use std::sync::Arc;

use bytes::Bytes;

use super::bus::{BusLimits, LocalBus, Subscription};
use super::{check_message, Publishing, PubsubBackend, PubsubError};
use crate::network::pubsub::PublishError;
use crate::network::NetworkHandle;

/// The networked pubsub backend.
pub struct NetworkPubsub {
    bus: Arc<LocalBus>,
    node: NetworkHandle,
}

impl NetworkPubsub {
    /// Pubsub over `node`, holding messages for local subscribers within `limits`. Takes the
    /// node's received messages (once: a second backend on one node gets none) and hands them
    /// to the bus from a task of its own, until the node or the bus stops.
    pub fn start(node: NetworkHandle, limits: BusLimits) -> NetworkPubsub {
        let hooked = node.clone();
        let hook = Box::new(move |topic: &str, subscribed: bool| {
            if subscribed {
                hooked.pubsub_subscribe(topic);
            } else {
                hooked.pubsub_unsubscribe(topic);
            }
        });
        let bus = Arc::new(LocalBus::with_limits(
            node.peer_id().to_base58(),
            limits,
            Some(hook),
        ));
        if let Some(mut messages) = node.take_pubsub_messages() {
            let bus = Arc::clone(&bus);
            tokio::spawn(async move {
                while let Some(message) = messages.recv().await {
                    let from = Arc::from(message.from.to_base58());
                    let delivered = bus.deliver(&message.topic, from, message.seqno, message.data);
                    if delivered.is_err() {
                        break; // closed
                    }
                }
            });
        }
        NetworkPubsub { bus, node }
    }

    /// The bus local subscribers read from (to close it at shutdown).
    pub fn bus(&self) -> &Arc<LocalBus> {
        &self.bus
    }

    async fn publish_now(&self, topic: &str, data: Bytes) -> Result<u64, PubsubError> {
        check_message(topic, &data)?;
        match self.node.pubsub_publish(topic, data.clone()).await {
            Ok(seqno) => {
                // Gossipsub never hands a node its own messages: deliver here under the seqno
                // the peers see.
                let from = Arc::from(self.bus.peer_id());
                self.bus.deliver(topic, from, seqno, data)?;
                Ok(seqno)
            }
            Err(PublishError::TooLarge { .. }) => {
                // As go-libp2p-pubsub does: delivered here, never sent.
                tracing::info!(
                    %topic, len = data.len(),
                    "pubsub: message too large for the network; delivered to local subscribers only"
                );
                self.bus.publish(topic, data)
            }
            Err(PublishError::OverBudget) => Err(PubsubError::Busy),
            Err(PublishError::Stopped) => Err(PubsubError::Closed),
            Err(PublishError::Failed(e)) => Err(PubsubError::Network(e)),
        }
    }
}

impl std::fmt::Debug for NetworkPubsub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkPubsub")
            .field("bus", &self.bus)
            .finish_non_exhaustive()
    }
}

impl PubsubBackend for NetworkPubsub {
    fn peer_id(&self) -> &str {
        self.bus.peer_id()
    }

    fn subscribe(&self, topic: &str) -> Result<Subscription, PubsubError> {
        self.bus.subscribe(topic)
    }

    fn publish(&self, topic: &str, data: Bytes) -> Publishing<'_> {
        let topic = topic.to_owned();
        Box::pin(async move { self.publish_now(&topic, data).await })
    }

    fn subscriber_count(&self, topic: &str) -> usize {
        self.bus.subscriber_count(topic)
    }

    /// Whether the node is subscribed to `topic` on the network (it is while the topic has a
    /// subscriber here, moments after the first arrives).
    fn is_subscribed(&self, topic: &str) -> bool {
        self.node.pubsub_is_subscribed(topic)
    }
}
