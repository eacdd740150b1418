//! The node's one block source: the local store first, then the network. Requests, response
//! bodies, exports and walks read through it and never know where a block came from.
//!
//! A block not on disk is asked of every network source at once (bitswap peers, remote
//! trustless backends…); the first verified answer wins, is handed to the reader at once and
//! goes to the store's fetch cache off the request path. Each network source verifies what it
//! returns against the CID (the [`BlockSource`] contract); nothing unverified gets here.
//!
//! Offline (no network sources) this is the store. Online, a block nobody has is an error
//! that says what was tried ([`store::Error::Unavailable`]), answered 504 by the gateway —
//! never a 404: absence on the network cannot be proven, only not found in time.

use std::sync::Arc;

use bytes::Bytes;
use cid::Cid;
use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::store::{self, BlockSource, Blockstore, SharedSource, SourceFuture};

/// A source of blocks on the network, with the name error messages give it.
#[derive(Clone)]
pub struct NetworkSource {
    pub name: String,
    pub source: SharedSource,
}

/// The store, then the network.
pub struct Retrieval {
    store: Arc<Blockstore>,
    network: Arc<[NetworkSource]>,
}

impl Retrieval {
    pub fn new(store: Arc<Blockstore>, network: Vec<NetworkSource>) -> Retrieval {
        Retrieval {
            store,
            network: network.into(),
        }
    }

    /// Whether any network source is configured.
    pub fn is_online(&self) -> bool {
        !self.network.is_empty()
    }
}

impl BlockSource for Retrieval {
    fn get(&self, cid: &Cid) -> SourceFuture<store::Result<Option<Bytes>>> {
        let local = BlockSource::get(&*self.store, cid);
        if self.network.is_empty() {
            return local;
        }
        match local {
            // In memory or in the page cache: no allocation, no task.
            SourceFuture::Ready(Some(Ok(Some(block)))) => SourceFuture::ready(Ok(Some(block))),
            SourceFuture::Ready(Some(Err(e))) => SourceFuture::ready(Err(e)),
            local => {
                let (cid, store, network) =
                    (*cid, Arc::clone(&self.store), Arc::clone(&self.network));
                SourceFuture::pending(async move {
                    if let Some(block) = local.await? {
                        return Ok(Some(block));
                    }
                    fetch(cid, &store, &network).await.map(Some)
                })
            }
        }
    }

    /// Whether the block is here, in the store: the network is not asked (anything might be
    /// out there; this answers what a read would find without waiting on peers).
    fn has(&self, cid: &Cid) -> SourceFuture<store::Result<bool>> {
        BlockSource::has(&*self.store, cid)
    }

    fn size(&self, cid: &Cid) -> SourceFuture<store::Result<Option<u64>>> {
        if self.network.is_empty() {
            return BlockSource::size(&*self.store, cid);
        }
        let size = BlockSource::size(&*self.store, cid);
        if let SourceFuture::Ready(Some(Ok(Some(size)))) = size {
            return SourceFuture::ready(Ok(Some(size)));
        }
        let block = self.get(cid);
        SourceFuture::pending(async move { Ok(block.await?.map(|b| b.len() as u64)) })
    }
}

/// Asks every network source for the block at once; the first to have it wins.
async fn fetch(
    cid: Cid,
    store: &Arc<Blockstore>,
    network: &[NetworkSource],
) -> store::Result<Bytes> {
    let mut asked: FuturesUnordered<_> = network
        .iter()
        .map(|n| {
            let answer = n.source.get(&cid);
            async move { (n.name.as_str(), answer.await) }
        })
        .collect();
    let mut tried = Vec::new();
    while let Some((name, answer)) = asked.next().await {
        match answer {
            Ok(Some(block)) => {
                keep_fetched(store, cid, block.clone());
                return Ok(block);
            }
            Ok(None) => tried.push(format!("{name}: not found")),
            Err(e) => tried.push(format!("{name}: {e}")),
        }
    }
    Err(store::Error::Unavailable {
        cid,
        reason: Box::new(Tried(tried)),
    })
}

/// What each network source answered, for the error a reader sees.
#[derive(Debug)]
struct Tried(Vec<String>);

impl std::fmt::Display for Tried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tried ")?;
        f.write_str(&self.0.join("; "))
    }
}

impl std::error::Error for Tried {}

/// Writes a fetched block to the fetch cache without making the reader wait for the disk.
fn keep_fetched(store: &Arc<Blockstore>, cid: Cid, block: Bytes) {
    let store = Arc::clone(store);
    let write = move || {
        if let Err(e) = store.cache_fetched(&cid, &block) {
            tracing::warn!(error = %e, "could not keep a fetched block on disk");
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn_blocking(write)),
        Err(_) => write(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;
    use crate::test_support::block_on;
    use multihash_codetable::{Code, MultihashDigest};
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// A network source holding some blocks, counting the reads it was asked for.
    #[derive(Default)]
    struct Peer {
        blocks: HashMap<Cid, Bytes>,
        failing: bool,
        asked: Mutex<Vec<Cid>>,
    }

    impl BlockSource for Peer {
        fn get(&self, cid: &Cid) -> SourceFuture<store::Result<Option<Bytes>>> {
            self.asked.lock().unwrap().push(*cid);
            if self.failing {
                return SourceFuture::ready(Err(store::Error::Worker("connection reset".into())));
            }
            let block = self.blocks.get(cid).cloned();
            // Answers later, as a peer does.
            SourceFuture::pending(async move {
                tokio::task::yield_now().await;
                Ok(block)
            })
        }
        fn has(&self, cid: &Cid) -> SourceFuture<store::Result<bool>> {
            SourceFuture::ready(Ok(self.blocks.contains_key(cid)))
        }
        fn size(&self, cid: &Cid) -> SourceFuture<store::Result<Option<u64>>> {
            SourceFuture::ready(Ok(self.blocks.get(cid).map(|b| b.len() as u64)))
        }
    }

    fn block(data: &[u8]) -> (Cid, Bytes) {
        (
            Cid::new_v1(0x55, Code::Sha2_256.digest(data)),
            Bytes::copy_from_slice(data),
        )
    }

    fn store(dir: &std::path::Path) -> Arc<Blockstore> {
        let options = StoreOptions {
            fetch_cache_bytes: Some(1 << 20),
            ..StoreOptions::default()
        };
        Arc::new(Blockstore::open(dir, options).unwrap())
    }

    fn named(name: &str, peer: &Arc<Peer>) -> NetworkSource {
        NetworkSource {
            name: name.to_owned(),
            source: Arc::clone(peer) as SharedSource,
        }
    }

    #[test]
    fn a_block_not_here_is_fetched_once_and_then_read_locally() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let (cid, data) = block(b"out there");
        let empty = Arc::new(Peer::default());
        let holder = Arc::new(Peer {
            blocks: HashMap::from([(cid, data.clone())]),
            ..Peer::default()
        });
        let retrieval = Retrieval::new(
            Arc::clone(&store),
            vec![named("empty", &empty), named("holder", &holder)],
        );
        assert!(!block_on(retrieval.has(&cid)).unwrap());
        assert_eq!(block_on(retrieval.get(&cid)).unwrap(), Some(data.clone()));
        assert_eq!(holder.asked.lock().unwrap().len(), 1);
        // The fetched block is in the store now (written on this thread: no runtime here).
        assert!(store.has(&cid).unwrap());
        assert_eq!(store.fetched_bytes(), data.len() as u64);
        assert_eq!(block_on(retrieval.get(&cid)).unwrap(), Some(data));
        assert_eq!(
            holder.asked.lock().unwrap().len(),
            1,
            "read locally the second time"
        );
    }

    #[test]
    fn local_blocks_never_reach_the_network() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let (cid, data) = block(b"here");
        store.put(&cid, &data).unwrap();
        let peer = Arc::new(Peer::default());
        let retrieval = Retrieval::new(Arc::clone(&store), vec![named("peer", &peer)]);
        assert!(matches!(
            retrieval.get(&cid),
            SourceFuture::Ready(Some(Ok(Some(_))))
        ));
        assert_eq!(block_on(retrieval.size(&cid)).unwrap(), Some(4));
        assert!(peer.asked.lock().unwrap().is_empty());
    }

    #[test]
    fn a_block_nobody_has_is_unavailable_with_what_was_tried_not_absent() {
        let dir = tempfile::tempdir().unwrap();
        let (cid, _) = block(b"nowhere");
        let empty = Arc::new(Peer::default());
        let broken = Arc::new(Peer {
            failing: true,
            ..Peer::default()
        });
        let retrieval = Retrieval::new(
            store(dir.path()),
            vec![named("backend a", &empty), named("backend b", &broken)],
        );
        match block_on(retrieval.get(&cid)) {
            Err(store::Error::Unavailable { cid: c, reason }) => {
                assert_eq!(c, cid);
                let tried = reason.to_string();
                assert!(tried.contains("backend a: not found"), "{tried}");
                assert!(
                    tried.contains("backend b: ") && tried.contains("connection reset"),
                    "{tried}"
                );
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    #[test]
    fn offline_it_is_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let (cid, _) = block(b"absent");
        let retrieval = Retrieval::new(store(dir.path()), Vec::new());
        assert!(!retrieval.is_online());
        assert_eq!(block_on(retrieval.get(&cid)).unwrap(), None);
    }
}
