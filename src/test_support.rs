//! What unit tests share: the fixtures kept in the repository and the external peers some
//! tests compare against (found as the integration harness in `tests/support` finds them).

/// The gateway-conformance fixtures kept in the repository (`tests/fixtures/`).
pub const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/gateway-conformance"
);

#[path = "../tests/support/peer.rs"]
mod peer;

pub use peer::peer;

/// Runs a future to completion on this thread's test runtime (current-thread, with the
/// blocking pool store reads use), for tests that are not async themselves. The runtime
/// lives as long as the thread, so reads a stream started ahead survive between calls.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("test runtime");
    }
    RUNTIME.with(|runtime| runtime.block_on(future))
}

/// A deliberately slow block source for tests: blocks of the gated CIDs wait for a permit
/// (one per read, given by [`GatedSource::release`]); every other block comes from the
/// store at once. It counts the gated reads asked for, to show what a reader asks ahead.
pub struct GatedSource {
    store: std::sync::Arc<crate::store::Blockstore>,
    gated: std::collections::HashSet<multihash::Multihash<64>>,
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    asked: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl GatedSource {
    pub fn new(
        store: std::sync::Arc<crate::store::Blockstore>,
        gated: impl IntoIterator<Item = cid::Cid>,
    ) -> Self {
        GatedSource {
            store,
            gated: gated.into_iter().map(|cid| *cid.hash()).collect(),
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(0)),
            asked: Default::default(),
        }
    }

    /// Lets `n` more gated reads complete.
    pub fn release(&self, n: usize) {
        self.permits.add_permits(n);
    }

    /// How many gated reads have been asked for so far.
    pub fn asked(&self) -> usize {
        self.asked.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A handle that releases permits after the source was moved into a gateway.
    pub fn gate(&self) -> std::sync::Arc<tokio::sync::Semaphore> {
        std::sync::Arc::clone(&self.permits)
    }
}

impl crate::store::BlockSource for GatedSource {
    fn get(
        &self,
        cid: &cid::Cid,
    ) -> crate::store::SourceFuture<crate::store::Result<Option<bytes::Bytes>>> {
        let block = crate::store::Blockstore::get(&self.store, cid);
        if !self.gated.contains(cid.hash()) {
            return crate::store::SourceFuture::ready(block);
        }
        self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let permits = std::sync::Arc::clone(&self.permits);
        crate::store::SourceFuture::pending(async move {
            if let Ok(permit) = permits.acquire().await {
                permit.forget();
            }
            block
        })
    }

    fn has(&self, cid: &cid::Cid) -> crate::store::SourceFuture<crate::store::Result<bool>> {
        crate::store::SourceFuture::ready(crate::store::Blockstore::has(&self.store, cid))
    }

    fn size(
        &self,
        cid: &cid::Cid,
    ) -> crate::store::SourceFuture<crate::store::Result<Option<u64>>> {
        crate::store::SourceFuture::ready(
            crate::store::Blockstore::get(&self.store, cid).map(|b| b.map(|b| b.len() as u64)),
        )
    }
}
