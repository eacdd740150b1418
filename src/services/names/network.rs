//! IPNS beyond this node: where records are put when a name is published here, and asked for
//! when a name that is not ours is resolved — the node's DHTs (WAN and LAN; key
//! `/ipns/<multihash bytes>`, IPNS spec "Routing Record") and the Delegated Routing V1 servers
//! (`--routing-v1`, `GET`/`PUT /routing/v1/ipns/<name>`), asked together.
//!
//! [`NameRouting`] is what the name service needs; [`NetworkNames`] is the node's. Records
//! found come back unverified: the name service verifies each and keeps the freshest.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;

use crate::ipld::ipns::IpnsName;
use crate::network::routing_v1::RoutingV1;
use crate::network::NetworkHandle;

/// Records asked of the DHTs per lookup (Kubo's DHT asks for 16 before it settles).
const DHT_RECORDS: usize = 16;

/// Records found for a name, and what was asked.
#[derive(Debug, Default)]
pub struct FoundRecords {
    /// Serialized records, unverified, as peers and servers sent them.
    pub records: Vec<Bytes>,
    /// What was asked and what each answered, for error messages (`the DHT: 2 record(s);
    /// router http://…: no record`).
    pub asked: Vec<String>,
}

/// Where IPNS records go and come from beyond this node.
pub trait NameRouting: Send + Sync {
    /// Puts the serialized `record` of `name` where others look for it; peers keep it for at
    /// most `keep`. Returns where it went, or why it went nowhere.
    fn publish<'a>(
        &'a self,
        name: &'a IpnsName,
        record: Bytes,
        keep: Duration,
    ) -> BoxFuture<'a, Result<String, String>>;

    /// The records others hold for `name`, within `timeout`.
    fn find<'a>(&'a self, name: &'a IpnsName, timeout: Duration) -> BoxFuture<'a, FoundRecords>;
}

/// The node's DHTs and the delegated routers.
pub struct NetworkNames {
    pub node: Option<NetworkHandle>,
    pub routers: Option<Arc<RoutingV1>>,
}

impl NameRouting for NetworkNames {
    fn publish<'a>(
        &'a self,
        name: &'a IpnsName,
        record: Bytes,
        keep: Duration,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let dht = async {
                match &self.node {
                    Some(node) => Some(
                        node.put_record(name.routing_key(), record.to_vec(), keep)
                            .await
                            .map(|()| "the DHT".to_owned())
                            .map_err(|e| e.to_string()),
                    ),
                    None => None,
                }
            };
            let routers = async {
                match &self.routers {
                    Some(routers) => Some(
                        routers
                            .put_ipns(name, record.clone())
                            .await
                            .map(|n| format!("{n} delegated router(s)"))
                            .map_err(|e| e.to_string()),
                    ),
                    None => None,
                }
            };
            let (dht, routers) = futures_util::join!(dht, routers);
            let (mut reached, mut failed) = (Vec::new(), Vec::new());
            for outcome in [dht, routers].into_iter().flatten() {
                match outcome {
                    Ok(place) => reached.push(place),
                    Err(why) => failed.push(why),
                }
            }
            if reached.is_empty() {
                Err(if failed.is_empty() {
                    "no DHT and no delegated router to publish to".to_owned()
                } else {
                    failed.join("; ")
                })
            } else {
                Ok(reached.join(" and "))
            }
        })
    }

    fn find<'a>(&'a self, name: &'a IpnsName, timeout: Duration) -> BoxFuture<'a, FoundRecords> {
        Box::pin(async move {
            let dht = async {
                let node = self.node.as_ref()?;
                let asked = tokio::time::timeout(
                    timeout,
                    node.get_records(name.routing_key(), DHT_RECORDS),
                )
                .await;
                Some(match asked {
                    Ok(Ok(found)) => Ok(found
                        .into_iter()
                        .map(|f| Bytes::from(f.value))
                        .collect::<Vec<_>>()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!("no answer within {timeout:?}")),
                })
            };
            let routers = async {
                let routers = self.routers.as_ref()?;
                Some(
                    match tokio::time::timeout(timeout, routers.get_ipns(name)).await {
                        Ok(Ok(found)) => Ok(found),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(_) => Err(format!("no answer within {timeout:?}")),
                    },
                )
            };
            let (dht, routers) = futures_util::join!(dht, routers);
            let mut found = FoundRecords::default();
            for (what, outcome) in [("the DHT", dht), ("the delegated routers", routers)] {
                match outcome {
                    None => {}
                    Some(Ok(records)) => {
                        found
                            .asked
                            .push(format!("{what}: {} record(s)", records.len()));
                        found.records.extend(records);
                    }
                    Some(Err(why)) => found.asked.push(format!("{what}: {why}")),
                }
            }
            found
        })
    }
}
