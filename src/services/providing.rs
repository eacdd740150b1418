//! Announcing what this node holds, so other nodes (Kubo's among them) find it as a provider:
//! provider records in the DHT for the roots of its pins (`--provide pinned`, the default,
//! like Kubo's `Reprovider.Strategy=pinned`… of roots), for every block it keeps
//! (`--provide all`), or for nothing (`none`).
//!
//! New pins are announced within [`SWEEP`] of being made; everything is announced again every
//! [`REPROVIDE`] (records expire: go-libp2p-kad-dht keeps them 48 h, and Kubo reprovides every
//! 22 h).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cid::Cid;
use multihash::Multihash;

use super::pins::Pinset;
use crate::ipld::cid::codec;
use crate::network::NetworkHandle;
use crate::store::Blockstore;

/// How often new pins are looked for.
pub const SWEEP: Duration = Duration::from_secs(10);
/// How often everything is announced again.
pub const REPROVIDE: Duration = Duration::from_secs(22 * 3600);
/// At most this many records are announced in one sweep (the rest wait for the next), so a
/// store of millions of blocks in `all` mode does not hold the DHT busy for hours at once.
const PER_SWEEP: usize = 1024;

/// What is announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProvideMode {
    /// The roots of pins.
    #[default]
    Pinned,
    /// Every kept block.
    All,
    /// Nothing.
    None,
}

impl ProvideMode {
    pub fn parse(text: &str) -> Option<ProvideMode> {
        match text {
            "pinned" => Some(ProvideMode::Pinned),
            "all" => Some(ProvideMode::All),
            "none" => Some(ProvideMode::None),
            _ => None,
        }
    }
}

/// Announces what `mode` says, for as long as the node runs.
pub async fn run(
    node: NetworkHandle,
    store: Arc<Blockstore>,
    pins: Arc<Pinset>,
    mode: ProvideMode,
) {
    if mode == ProvideMode::None {
        return;
    }
    let mut announced: HashSet<Multihash<64>> = HashSet::new();
    let mut since_reprovide = Instant::now();
    loop {
        if since_reprovide.elapsed() >= REPROVIDE {
            announced.clear();
            since_reprovide = Instant::now();
        }
        let (store, pins) = (Arc::clone(&store), Arc::clone(&pins));
        let wanted = tokio::task::spawn_blocking(move || held(&store, &pins, mode)).await;
        let wanted = match wanted {
            Ok(Ok(wanted)) => wanted,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "providing: cannot list what to announce");
                Vec::new()
            }
            Err(_) => return,
        };
        let fresh: Vec<Cid> = wanted
            .into_iter()
            .filter(|cid| !announced.contains(cid.hash()))
            .take(PER_SWEEP)
            .collect();
        for cid in fresh {
            match node.start_providing(&cid).await {
                Ok(()) => {
                    announced.insert(*cid.hash());
                }
                Err(crate::network::NetworkError::Stopped) => return,
                Err(e) => tracing::debug!(%cid, error = %e, "providing failed"),
            }
        }
        tokio::time::sleep(SWEEP).await;
    }
}

/// What the mode announces, read from disk.
fn held(store: &Blockstore, pins: &Pinset, mode: ProvideMode) -> super::Result<Vec<Cid>> {
    match mode {
        ProvideMode::None => Ok(Vec::new()),
        ProvideMode::Pinned => pins.list()?.iter().map(|p| p.root()).collect(),
        ProvideMode::All => {
            let mut all = Vec::new();
            store.for_each_block(|mh| {
                all.push(Cid::new_v1(codec::RAW, mh));
                Ok(())
            })?;
            Ok(all)
        }
    }
}
