//! Peering: a fixed set of peers (`--peer`) kept connected, like Kubo's `Peering.Peers`.
//! Each is dialed at start; when its last connection closes or a dial fails it is redialed
//! after a backoff that starts at [`INITIAL_BACKOFF`] and doubles (with jitter) up to
//! [`MAX_BACKOFF`], returning to the start once a connection has lasted [`STABLE_AFTER`].
//! Connections to these peers are kept open while idle (their handlers ask to be kept
//! alive), so the swarm's idle timeout never closes them.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use libp2p::core::transport::PortUse;
use libp2p::core::upgrade::DeniedUpgrade;
use libp2p::core::Endpoint;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::handler::ConnectionEvent;
use libp2p::swarm::{
    ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent, ConnectionId, FromSwarm,
    NetworkBehaviour, SubstreamProtocol, THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};
use tokio::time::{Instant, Sleep};

/// Delay before the first redial after a connection drops or a dial fails.
pub const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// Longest delay between redials.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);
/// A connection that lasted this long resets the backoff: the peer is healthy again.
pub const STABLE_AFTER: Duration = Duration::from_secs(30);

struct Peer {
    addrs: Vec<Multiaddr>,
    connections: usize,
    /// The dial in flight, if any.
    dialing: Option<ConnectionId>,
    /// When to dial next (None: connected or dialing).
    next_dial: Option<Instant>,
    backoff: Duration,
    connected_since: Option<Instant>,
}

/// The peering behaviour.
pub struct Behaviour {
    peers: HashMap<PeerId, Peer>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl Behaviour {
    /// Peers from `(peer, address)` pairs; several addresses of one peer are merged.
    pub fn new(peers: impl IntoIterator<Item = (PeerId, Multiaddr)>) -> Behaviour {
        let now = Instant::now();
        let mut map: HashMap<PeerId, Peer> = HashMap::new();
        for (peer, addr) in peers {
            let entry = map.entry(peer).or_insert_with(|| Peer {
                addrs: Vec::new(),
                connections: 0,
                dialing: None,
                next_dial: Some(now),
                backoff: INITIAL_BACKOFF,
                connected_since: None,
            });
            if !entry.addrs.contains(&addr) {
                entry.addrs.push(addr);
            }
        }
        Behaviour {
            peers: map,
            timer: None,
        }
    }

    /// Whether `peer` is one of the peered peers.
    pub fn is_peered(&self, peer: &PeerId) -> bool {
        self.peers.contains_key(peer)
    }

    fn schedule_redial(peer: &mut Peer, now: Instant) {
        peer.next_dial = Some(now + jittered(peer.backoff));
        peer.backoff = (peer.backoff * 2).min(MAX_BACKOFF);
    }

    fn handler(&self, peer: &PeerId) -> Handler {
        Handler {
            keep_alive: self.is_peered(peer),
        }
    }
}

/// `delay` give or take a fifth, so peers that dropped together do not redial in lockstep.
fn jittered(delay: Duration) -> Duration {
    let fifth = delay / 5;
    let spread = fifth.as_millis() as u64 * 2;
    if spread == 0 {
        return delay;
    }
    let offset = getrandom::u64().unwrap_or(0) % (spread + 1);
    delay - fifth + Duration::from_millis(offset)
}

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = Handler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(self.handler(&peer))
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(self.handler(&peer))
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        let now = Instant::now();
        match event {
            FromSwarm::ConnectionEstablished(established) => {
                if let Some(peer) = self.peers.get_mut(&established.peer_id) {
                    peer.connections += 1;
                    if peer.connections == 1 {
                        peer.connected_since = Some(now);
                    }
                    if peer.dialing == Some(established.connection_id) {
                        peer.dialing = None;
                    }
                    peer.next_dial = None;
                }
            }
            FromSwarm::ConnectionClosed(closed) => {
                if let Some(peer) = self.peers.get_mut(&closed.peer_id) {
                    peer.connections = closed.remaining_established;
                    if closed.remaining_established == 0 {
                        if peer
                            .connected_since
                            .is_some_and(|since| now - since >= STABLE_AFTER)
                        {
                            peer.backoff = INITIAL_BACKOFF;
                        }
                        peer.connected_since = None;
                        if peer.dialing.is_none() {
                            tracing::info!(peer = %closed.peer_id, "peered connection closed; redialing");
                            Self::schedule_redial(peer, now);
                            self.timer = None;
                        }
                    }
                }
            }
            FromSwarm::DialFailure(failure) => {
                let Some(id) = failure.peer_id else { return };
                let Some(peer) = self.peers.get_mut(&id) else {
                    return;
                };
                if peer.dialing == Some(failure.connection_id) {
                    peer.dialing = None;
                    if peer.connections == 0 {
                        tracing::info!(
                            peer = %id,
                            retry_in = ?peer.backoff,
                            "cannot reach peered peer: {}", failure.error
                        );
                        Self::schedule_redial(peer, now);
                        self.timer = None;
                    }
                }
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        loop {
            let now = Instant::now();
            let mut earliest: Option<Instant> = None;
            for (id, peer) in &mut self.peers {
                let Some(at) = peer.next_dial else { continue };
                if peer.connections > 0 || peer.dialing.is_some() {
                    peer.next_dial = None;
                    continue;
                }
                if at <= now {
                    let opts = DialOpts::peer_id(*id)
                        .addresses(peer.addrs.clone())
                        .condition(PeerCondition::DisconnectedAndNotDialing)
                        .build();
                    peer.dialing = Some(opts.connection_id());
                    peer.next_dial = None;
                    return Poll::Ready(ToSwarm::Dial { opts });
                }
                earliest = Some(earliest.map_or(at, |e| e.min(at)));
            }
            let Some(at) = earliest else {
                self.timer = None;
                return Poll::Pending;
            };
            match &mut self.timer {
                Some(timer) if timer.deadline() == at => {}
                _ => self.timer = Some(Box::pin(tokio::time::sleep_until(at))),
            }
            let timer = self.timer.as_mut().expect("timer set above");
            if timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.timer = None;
        }
    }
}

/// Keeps a connection to a peered peer open while idle; opens and accepts no streams.
pub struct Handler {
    keep_alive: bool,
}

impl ConnectionHandler for Handler {
    type FromBehaviour = Infallible;
    type ToBehaviour = Infallible;
    type InboundProtocol = DeniedUpgrade;
    type OutboundProtocol = DeniedUpgrade;
    type InboundOpenInfo = ();
    type OutboundOpenInfo = ();

    fn listen_protocol(&self) -> SubstreamProtocol<DeniedUpgrade> {
        SubstreamProtocol::new(DeniedUpgrade, ())
    }

    fn connection_keep_alive(&self) -> bool {
        self.keep_alive
    }

    fn poll(
        &mut self,
        _: &mut Context<'_>,
    ) -> Poll<ConnectionHandlerEvent<DeniedUpgrade, (), Infallible>> {
        Poll::Pending
    }

    fn on_behaviour_event(&mut self, event: Infallible) {
        match event {}
    }

    fn on_connection_event(&mut self, _: ConnectionEvent<DeniedUpgrade, DeniedUpgrade>) {
        // DeniedUpgrade negotiates nothing: no stream ever reaches this handler.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_a_fifth() {
        for _ in 0..200 {
            let d = jittered(Duration::from_secs(10));
            assert!(
                d >= Duration::from_secs(8) && d <= Duration::from_secs(12),
                "{d:?}"
            );
        }
        assert_eq!(jittered(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn backoff_doubles_to_the_cap() {
        let mut peer = Peer {
            addrs: Vec::new(),
            connections: 0,
            dialing: None,
            next_dial: None,
            backoff: INITIAL_BACKOFF,
            connected_since: None,
        };
        let now = Instant::now();
        let mut delays = Vec::new();
        for _ in 0..12 {
            Behaviour::schedule_redial(&mut peer, now);
            delays.push(peer.next_dial.unwrap() - now);
        }
        assert!(delays[0] <= INITIAL_BACKOFF + INITIAL_BACKOFF / 5);
        assert!(delays[1] >= INITIAL_BACKOFF * 2 - INITIAL_BACKOFF * 2 / 5);
        assert_eq!(peer.backoff, MAX_BACKOFF);
        assert!(delays.iter().all(|d| *d <= MAX_BACKOFF + MAX_BACKOFF / 5));
    }

    #[test]
    fn addresses_of_one_peer_are_merged() {
        let peer = PeerId::random();
        let tcp: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        let quic: Multiaddr = "/ip4/127.0.0.1/udp/1/quic-v1".parse().unwrap();
        let behaviour = Behaviour::new([(peer, tcp.clone()), (peer, quic), (peer, tcp)]);
        assert_eq!(behaviour.peers.len(), 1);
        assert_eq!(behaviour.peers[&peer].addrs.len(), 2);
        assert!(behaviour.is_peered(&peer));
        assert!(!behaviour.is_peered(&PeerId::random()));
    }
}
