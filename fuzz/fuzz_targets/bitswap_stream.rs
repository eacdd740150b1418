//! A peer's Bitswap stream on arbitrary bytes, as the node reads one: length-prefixed
//! messages, each charged to the peer's budget, its wants applied to the server's ledger and
//! its blocks and presences handed to the client. Never panics; the ledger never holds more
//! wants than its cap; the client counts no more unsolicited blocks and presences than the
//! message carries (1.0.0 blocks as one).
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use cairn::network::bitswap::budget::{unsolicited_cost, wantlist_cost, BudgetConfig, Budgets};
use cairn::network::bitswap::client::Outbox;
use cairn::network::bitswap::{
    Client, ClientConfig, Limits, Message, MessageReader, Protocol, Server, ServerConfig,
};
use cairn::store::{BlockSource, SourceFuture};
use cid::Cid;
use libfuzzer_sys::fuzz_target;

/// A store with nothing in it.
struct Empty;

impl BlockSource for Empty {
    fn get(&self, _: &Cid) -> SourceFuture<cairn::store::Result<Option<Bytes>>> {
        SourceFuture::ready(Ok(None))
    }
    fn has(&self, _: &Cid) -> SourceFuture<cairn::store::Result<bool>> {
        SourceFuture::ready(Ok(false))
    }
    fn size(&self, _: &Cid) -> SourceFuture<cairn::store::Result<Option<u64>>> {
        SourceFuture::ready(Ok(None))
    }
}

/// Wants go nowhere.
struct Nowhere;

impl Outbox<u8> for Nowhere {
    fn send(&self, _: &u8, _: Message) {}
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

const CAP: usize = 8;

fuzz_target!(|data: &[u8]| {
    runtime().block_on(async {
        let config = ServerConfig {
            max_wantlist_entries: CAP,
            ..ServerConfig::default()
        };
        let ledger = Server::new(Arc::new(Empty), config).peer(Protocol::V120);
        // One client for every run, as a node has: it wants nothing, so no run changes it.
        // (One per run would pile up: its timer task never gets to run, since nothing here
        // ever waits, and the runtime only runs other tasks when the future waits.)
        static CLIENT: OnceLock<Client<u8>> = OnceLock::new();
        let client =
            CLIENT.get_or_init(|| Client::new(Arc::new(Nowhere), None, ClientConfig::default()));
        let budgets = Budgets::new(BudgetConfig::default());
        let mut reader = MessageReader::new(data, Limits::default());
        while let Ok(Some(message)) = reader.next().await {
            let _ = budgets.charge(&0u8, wantlist_cost(&message), Instant::now());
            let _ = ledger.receive(&message);
            assert!(ledger.wantlist_len() <= CAP, "the ledger passed its cap");
            let unsolicited = client.receive(&0, &message);
            let _ = budgets.charge(&0u8, unsolicited_cost(&unsolicited), Instant::now());
            let most = message.blocks.len() + usize::from(!message.legacy_blocks.is_empty());
            assert!(
                unsolicited.blocks <= most,
                "{unsolicited:?} of {most} blocks"
            );
            assert!(unsolicited.presences <= message.presences.len());
        }
    });
});
