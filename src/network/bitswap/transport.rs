//! Bitswap's streams on the libp2p node: a [`NetworkBehaviour`] of its own, so that no
//! inbound stream is ever dropped and an outbound one negotiates the newest version both
//! sides speak in one multistream-select exchange.
//!
//! Why not `libp2p-stream`: it hands inbound streams over a channel of capacity zero and
//! drops a stream when that channel is full, and boxo opens a new stream for every message
//! it sends (each response carrying blocks), so a burst of responses lost blocks and stalled
//! fetches. Here every inbound stream goes into an unbounded queue; what bounds it is the
//! connection's own stream limits (yamux, libp2p's negotiating-streams cap, the node's
//! connection limits) and the reader that drains it at once.
//!
//! Besides streams, the behaviour reports when a peer's first connection opens and its last
//! one closes ([`Event`]), which is when the Bitswap client starts and stops counting on it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{ready, Ready};
use std::task::{Context, Poll, Waker};

use libp2p::core::transport::PortUse;
use libp2p::core::upgrade::{InboundUpgrade, OutboundUpgrade, UpgradeInfo};
use libp2p::core::Endpoint;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::handler::{
    ConnectionEvent, DialUpgradeError, FullyNegotiatedInbound, FullyNegotiatedOutbound,
};
use libp2p::swarm::{
    ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent, ConnectionId, DialError,
    FromSwarm, NetworkBehaviour, NotifyHandler, Stream, StreamProtocol, StreamUpgradeError,
    SubstreamProtocol, THandler, THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};

use super::Protocol;

/// What the behaviour tells the Bitswap task.
#[derive(Debug)]
pub enum Event {
    /// The peer's first connection is up.
    Connected(PeerId),
    /// The peer's last connection closed.
    Disconnected(PeerId),
    /// The peer opened a stream to write Bitswap messages on.
    Inbound {
        peer: PeerId,
        protocol: Protocol,
        stream: Stream,
    },
}

/// Why a stream could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("not connected to the peer")]
    NotConnected,
    #[error("the peer speaks no bitswap version")]
    Unsupported,
    #[error("opening a bitswap stream timed out")]
    Timeout,
    #[error("opening a bitswap stream: {0}")]
    Io(#[from] std::io::Error),
}

type Reply = oneshot::Sender<Result<(Stream, Protocol), OpenError>>;

struct OpenRequest {
    peer: PeerId,
    reply: Reply,
}

/// Opens Bitswap streams to connected peers; cheap to clone.
#[derive(Clone)]
pub struct Opener {
    requests: mpsc::UnboundedSender<OpenRequest>,
}

impl Opener {
    /// A stream to `peer` with the newest Bitswap version it speaks. A peer not connected is
    /// dialed at the addresses the node knows for it (the DHT's, for a provider just found);
    /// when that dial fails, so does this.
    pub async fn open(&self, peer: PeerId) -> Result<(Stream, Protocol), OpenError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(OpenRequest { peer, reply })
            .map_err(|_| OpenError::NotConnected)?;
        // A dropped reply means the connection (or the node) went away first.
        answer.await.unwrap_or(Err(OpenError::NotConnected))
    }
}

/// The behaviour; `Event`s go to the receiver made with it.
pub struct Behaviour {
    events: mpsc::UnboundedSender<Event>,
    requests: mpsc::UnboundedReceiver<OpenRequest>,
    /// Open connections per peer, to know a peer's first and last.
    connections: HashMap<PeerId, usize>,
    /// Streams asked of peers being dialed.
    dialing: HashMap<PeerId, Vec<Reply>>,
    /// Streams to ask of a connection now up, and the task to wake for them.
    ready: Vec<(PeerId, ConnectionId, Reply)>,
    waker: Option<Waker>,
}

impl Behaviour {
    /// The behaviour, an [`Opener`] for it and the receiver of its [`Event`]s.
    pub fn new() -> (Behaviour, Opener, mpsc::UnboundedReceiver<Event>) {
        let (events, received) = mpsc::unbounded_channel();
        let (opener, requests) = mpsc::unbounded_channel();
        let behaviour = Behaviour {
            events,
            requests,
            connections: HashMap::new(),
            dialing: HashMap::new(),
            ready: Vec::new(),
            waker: None,
        };
        (behaviour, Opener { requests: opener }, received)
    }

    fn handler(&self, peer: PeerId) -> Handler {
        Handler {
            peer,
            events: self.events.clone(),
            to_open: Vec::new(),
        }
    }
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
        Ok(self.handler(peer))
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(self.handler(peer))
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(established) => {
                let peer = established.peer_id;
                let count = self.connections.entry(peer).or_default();
                *count += 1;
                if *count == 1 {
                    let _ = self.events.send(Event::Connected(peer));
                }
                if let Some(replies) = self.dialing.remove(&peer) {
                    let connection = established.connection_id;
                    self.ready
                        .extend(replies.into_iter().map(|reply| (peer, connection, reply)));
                    if let Some(waker) = self.waker.take() {
                        waker.wake();
                    }
                }
            }
            FromSwarm::DialFailure(failure) => {
                // A dial refused because one is under way already is not that dial failing.
                if let (Some(peer), false) = (
                    failure.peer_id,
                    matches!(failure.error, DialError::DialPeerConditionFalse(_)),
                ) {
                    if !self.connections.contains_key(&peer) {
                        for reply in self.dialing.remove(&peer).unwrap_or_default() {
                            let _ = reply.send(Err(OpenError::NotConnected));
                        }
                    }
                }
            }
            FromSwarm::ConnectionClosed(closed) if closed.remaining_established == 0 => {
                self.connections.remove(&closed.peer_id);
                let _ = self.events.send(Event::Disconnected(closed.peer_id));
            }
            FromSwarm::ConnectionClosed(closed) => {
                if let Some(count) = self.connections.get_mut(&closed.peer_id) {
                    *count = closed.remaining_established;
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
        if let Some((peer_id, connection, reply)) = self.ready.pop() {
            return Poll::Ready(ToSwarm::NotifyHandler {
                peer_id,
                handler: NotifyHandler::One(connection),
                event: reply,
            });
        }
        if let Poll::Ready(Some(OpenRequest { peer, reply })) = self.requests.poll_recv(cx) {
            if self.connections.contains_key(&peer) {
                return Poll::Ready(ToSwarm::NotifyHandler {
                    peer_id: peer,
                    handler: NotifyHandler::Any,
                    event: reply,
                });
            }
            let first = !self.dialing.contains_key(&peer);
            self.dialing.entry(peer).or_default().push(reply);
            if first {
                let opts = DialOpts::peer_id(peer)
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build();
                return Poll::Ready(ToSwarm::Dial { opts });
            }
            cx.waker().wake_by_ref();
        }
        self.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// One connection's Bitswap streams.
pub struct Handler {
    peer: PeerId,
    events: mpsc::UnboundedSender<Event>,
    /// Streams asked for and not yet requested from the connection.
    to_open: Vec<Reply>,
}

impl ConnectionHandler for Handler {
    type FromBehaviour = Reply;
    type ToBehaviour = Infallible;
    type InboundProtocol = Versions;
    type OutboundProtocol = Versions;
    type InboundOpenInfo = ();
    type OutboundOpenInfo = Reply;

    fn listen_protocol(&self) -> SubstreamProtocol<Versions, ()> {
        SubstreamProtocol::new(Versions, ())
    }

    fn poll(
        &mut self,
        _: &mut Context<'_>,
    ) -> Poll<ConnectionHandlerEvent<Versions, Reply, Infallible>> {
        match self.to_open.pop() {
            Some(reply) => Poll::Ready(ConnectionHandlerEvent::OutboundSubstreamRequest {
                protocol: SubstreamProtocol::new(Versions, reply),
            }),
            None => Poll::Pending,
        }
    }

    fn on_behaviour_event(&mut self, reply: Reply) {
        self.to_open.push(reply);
    }

    fn on_connection_event(&mut self, event: ConnectionEvent<Versions, Versions, (), Reply>) {
        match event {
            ConnectionEvent::FullyNegotiatedInbound(FullyNegotiatedInbound {
                protocol: (stream, protocol),
                ..
            }) => {
                let _ = self.events.send(Event::Inbound {
                    peer: self.peer,
                    protocol,
                    stream,
                });
            }
            ConnectionEvent::FullyNegotiatedOutbound(FullyNegotiatedOutbound {
                protocol,
                info: reply,
            }) => {
                let _ = reply.send(Ok(protocol));
            }
            ConnectionEvent::DialUpgradeError(DialUpgradeError { info: reply, error }) => {
                let error = match error {
                    StreamUpgradeError::Timeout => OpenError::Timeout,
                    StreamUpgradeError::NegotiationFailed => OpenError::Unsupported,
                    StreamUpgradeError::Io(e) => OpenError::Io(e),
                    StreamUpgradeError::Apply(never) => match never {},
                };
                let _ = reply.send(Err(error));
            }
            _ => {}
        }
    }
}

/// Every Bitswap protocol id, newest first: a dialer proposes them in this order, a listener
/// accepts any.
#[derive(Debug, Clone, Copy)]
pub struct Versions;

impl Versions {
    /// The protocol ids, newest first.
    pub const IDS: [&'static str; 4] = [
        Protocol::V120.id(),
        Protocol::V110.id(),
        Protocol::V100.id(),
        Protocol::LEGACY_ID,
    ];
}

impl UpgradeInfo for Versions {
    type Info = StreamProtocol;
    type InfoIter = std::array::IntoIter<StreamProtocol, 4>;

    fn protocol_info(&self) -> Self::InfoIter {
        Versions::IDS.map(StreamProtocol::new).into_iter()
    }
}

fn negotiated(stream: Stream, id: &StreamProtocol) -> (Stream, Protocol) {
    // Only ids from `Versions::IDS` can be negotiated, and each names a version.
    let protocol = Protocol::from_id(id.as_ref()).unwrap_or(Protocol::V100);
    (stream, protocol)
}

impl InboundUpgrade<Stream> for Versions {
    type Output = (Stream, Protocol);
    type Error = Infallible;
    type Future = Ready<Result<(Stream, Protocol), Infallible>>;

    fn upgrade_inbound(self, stream: Stream, id: StreamProtocol) -> Self::Future {
        ready(Ok(negotiated(stream, &id)))
    }
}

impl OutboundUpgrade<Stream> for Versions {
    type Output = (Stream, Protocol);
    type Error = Infallible;
    type Future = Ready<Result<(Stream, Protocol), Infallible>>;

    fn upgrade_outbound(self, stream: Stream, id: StreamProtocol) -> Self::Future {
        ready(Ok(negotiated(stream, &id)))
    }
}
