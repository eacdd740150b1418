//! Bitswap carried by the libp2p node: peers' wants arrive on streams they open to us (any of
//! the three protocol versions), and the answers leave on a stream we open to them, as boxo
//! does — a Bitswap stream is one-way, its opener only writes.
//!
//! Each peer gets one [`PeerLedger`] (of the version of its first stream) and one writer task
//! holding our stream to it. When the peer's stream ends, what it still wants is answered and
//! the ledger goes; a new stream starts a new one. A malformed message closes the peer's
//! ledger and both streams.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::StreamExt;
use libp2p::{PeerId, StreamProtocol};
use tokio_util::compat::FuturesAsyncReadCompatExt;

use super::{PeerLedger, Protocol, Server};

/// The ledgers of the peers being served, by peer.
type Ledgers = Arc<Mutex<HashMap<PeerId, PeerLedger>>>;

/// Answers every peer's wantlists from `server` on the node `control` belongs to, until the
/// node stops. Must run inside a Tokio runtime.
pub fn serve(
    control: libp2p_stream::Control,
    server: Server,
) -> Result<(), libp2p_stream::AlreadyRegistered> {
    let ledgers: Ledgers = Arc::default();
    let server = Arc::new(server);
    for protocol in Protocol::ALL {
        let mut incoming = control.clone().accept(StreamProtocol::new(protocol.id()))?;
        let (control, server, ledgers) =
            (control.clone(), Arc::clone(&server), Arc::clone(&ledgers));
        tokio::spawn(async move {
            while let Some((peer, stream)) = incoming.next().await {
                let ledger = ledger_for(peer, protocol, &server, &ledgers, &control);
                let ledgers = Arc::clone(&ledgers);
                tokio::spawn(async move {
                    match ledger.read_from(stream.compat()).await {
                        Ok(()) => ledger.finish(),
                        Err(e) => {
                            tracing::debug!(%peer, error = %e, "bitswap: dropping a peer's stream");
                            ledger.close();
                        }
                    }
                    forget(&ledgers, peer, &ledger);
                });
            }
        });
    }
    Ok(())
}

/// The peer's ledger, made (with its writer) on its first stream.
fn ledger_for(
    peer: PeerId,
    protocol: Protocol,
    server: &Server,
    ledgers: &Ledgers,
    control: &libp2p_stream::Control,
) -> PeerLedger {
    let mut all = lock(ledgers);
    if let Some(ledger) = all.get(&peer) {
        return ledger.clone();
    }
    let ledger = server.peer(protocol);
    all.insert(peer, ledger.clone());
    let (writer, ledgers, mut control) = (ledger.clone(), Arc::clone(ledgers), control.clone());
    tokio::spawn(async move {
        match control
            .open_stream(peer, StreamProtocol::new(protocol.id()))
            .await
        {
            Ok(stream) => {
                if let Err(e) = writer.write_to(stream.compat()).await {
                    tracing::debug!(%peer, error = %e, "bitswap: answering a peer failed");
                }
            }
            Err(e) => tracing::debug!(%peer, error = %e, "bitswap: cannot open a stream back"),
        }
        writer.close();
        forget(&ledgers, peer, &writer);
    });
    ledger
}

/// Removes the peer's entry if it is still this ledger (a newer one may have replaced it).
fn forget(ledgers: &Ledgers, peer: PeerId, ledger: &PeerLedger) {
    let mut all = lock(ledgers);
    if all
        .get(&peer)
        .is_some_and(|current| current.same_as(ledger))
    {
        all.remove(&peer);
    }
}

fn lock(ledgers: &Ledgers) -> MutexGuard<'_, HashMap<PeerId, PeerLedger>> {
    ledgers.lock().unwrap_or_else(|p| p.into_inner())
}
