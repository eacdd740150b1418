//! What the libp2p node is told at start: where it listens, whom it dials, how it runs the
//! DHT, and its connection limits — plus the parsers `cairn serve`'s flags use, so a bad
//! multiaddr is refused with the flag's name before anything starts.

use std::str::FromStr;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

/// Kubo's default listen addresses for TCP and QUIC (Kubo also listens on IPv6 and
/// WebTransport; cairn does neither).
pub const DEFAULT_LISTEN: &[&str] = &["/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"];

/// The public Amino DHT bootstrap peers Kubo 0.43 falls back to when it cannot fetch its
/// AutoConf: what `--bootstrap public` expands to. Only an operator asks for these; no test
/// or script dials them.
pub const PUBLIC_BOOTSTRAP: &[&str] = &[
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmQCU2EcMqAqQPR2i9bChDtGNJchTbq5TbXJJ16u19uLTa",
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb",
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt",
    "/dnsaddr/va1.bootstrap.libp2p.io/p2p/12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8",
    "/ip4/104.131.131.82/tcp/4001/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ",
    "/ip4/104.131.131.82/udp/4001/quic-v1/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ",
];

/// How the node takes part in the public Kademlia DHT (`/ipfs/kad/1.0.0`). The LAN DHT
/// (`/ipfs/lan/kad/1.0.0`, peers on private and loopback addresses) answers queries in
/// `Auto` and `Server`, and only asks in `Client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DhtMode {
    /// Client until the node has a confirmed external address, then server. cairn confirms
    /// no address by probing (no AutoNAT): only a listen address on a public (globally
    /// routable) IP counts, so a node behind NAT or on a private network stays a client and
    /// never advertises itself as a DHT server that peers cannot reach.
    #[default]
    Auto,
    /// Always answers public DHT queries (advertises `/ipfs/kad/1.0.0`), e.g. for a node
    /// reachable at an address cairn cannot confirm.
    Server,
    /// Queries the DHTs but never answers.
    Client,
}

impl FromStr for DhtMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "auto" => Ok(DhtMode::Auto),
            "server" => Ok(DhtMode::Server),
            "client" => Ok(DhtMode::Client),
            other => Err(format!("expected server, client or auto, not {other:?}")),
        }
    }
}

/// Connection limits. Dials and incoming connections past them are refused (a peered peer
/// is retried later with backoff).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionLimits {
    /// Established connections in all.
    pub max_established: u32,
    /// Established connections to one peer (TCP and QUIC, both directions).
    pub max_established_per_peer: u32,
    /// Incoming connections still in their handshake.
    pub max_pending_incoming: u32,
    /// Outgoing dials still in their handshake (DHT queries dial several peers at once).
    pub max_pending_outgoing: u32,
    /// New connections are refused while the process uses more than this fraction of the
    /// machine's memory.
    pub max_memory_fraction: f64,
    /// How often one source address may open a connection.
    pub inbound_rates: super::inbound_rate::InboundRates,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_established: 512,
            max_established_per_peer: 4,
            max_pending_incoming: 64,
            max_pending_outgoing: 128,
            max_memory_fraction: 0.9,
            inbound_rates: super::inbound_rate::InboundRates::default(),
        }
    }
}

/// Everything the node needs besides its key.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkConfig {
    /// Listen addresses (TCP and QUIC-v1 multiaddrs).
    pub listen: Vec<Multiaddr>,
    /// DHT bootstrap peers, each with `/p2p/<id>`: dialed at start and added to the routing
    /// table. Empty (and no `peers`): the node dials nobody on its own; only peers that
    /// connected to it first enter its DHT routing tables, and DHT upkeep may dial those
    /// back (as Kubo does).
    pub bootstrap: Vec<Multiaddr>,
    /// Peers kept connected, redialed with backoff whenever the connection drops (Kubo's
    /// `Peering.Peers`). Each address ends in `/p2p/<id>`.
    pub peers: Vec<Multiaddr>,
    /// DHT client/server choice.
    pub dht: DhtMode,
    /// Connection limits.
    pub limits: ConnectionLimits,
    /// How long a connection no protocol uses stays open.
    pub idle_connection_timeout: std::time::Duration,
    /// Gossipsub's bounds.
    pub pubsub: super::pubsub::PubsubLimits,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            listen: DEFAULT_LISTEN
                .iter()
                .map(|a| a.parse().expect("default listen address"))
                .collect(),
            bootstrap: Vec::new(),
            peers: Vec::new(),
            dht: DhtMode::Auto,
            limits: ConnectionLimits::default(),
            idle_connection_timeout: std::time::Duration::from_secs(60),
            pubsub: super::pubsub::PubsubLimits::default(),
        }
    }
}

/// A listen address: an IP multiaddr with TCP, or UDP with `quic-v1`, and no peer ID.
pub fn parse_listen_addr(text: &str) -> Result<Multiaddr, String> {
    let addr = parse_multiaddr(text)?;
    let mut parts = addr.iter();
    let ip = matches!(parts.next(), Some(Protocol::Ip4(_) | Protocol::Ip6(_)));
    let transport = matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(Protocol::Tcp(_)), None, None)
            | (Some(Protocol::Udp(_)), Some(Protocol::QuicV1), None)
    );
    if ip && transport {
        Ok(addr)
    } else {
        Err(format!(
            "{text:?} is not a listen address: expected /ip4|ip6/<ip>/tcp/<port> or \
             /ip4|ip6/<ip>/udp/<port>/quic-v1"
        ))
    }
}

/// A `--bootstrap` value: `public` (the [`PUBLIC_BOOTSTRAP`] list) or one multiaddr ending
/// in `/p2p/<id>`.
pub fn parse_bootstrap(text: &str) -> Result<Vec<Multiaddr>, String> {
    if text == "public" {
        return PUBLIC_BOOTSTRAP
            .iter()
            .map(|a| parse_peer_addr(a))
            .collect();
    }
    parse_peer_addr(text).map(|addr| vec![addr])
}

/// A dialable address of a known peer: a multiaddr ending in `/p2p/<peer id>`.
pub fn parse_peer_addr(text: &str) -> Result<Multiaddr, String> {
    let addr = parse_multiaddr(text)?;
    match peer_of(&addr) {
        Some(_) if addr.iter().count() > 1 => Ok(addr),
        Some(_) => Err(format!("{text:?} has a peer ID but no address to dial")),
        None => Err(format!("{text:?} does not end in /p2p/<peer id>")),
    }
}

/// The peer ID a multiaddr ends with, if any.
pub fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    match addr.iter().last() {
        Some(Protocol::P2p(peer)) => Some(peer),
        _ => None,
    }
}

/// The IP address a multiaddr starts with; an IPv4-mapped IPv6 address is that IPv4 address
/// (what a dual-stack listener reports for an IPv4 peer).
pub fn leading_ip(addr: &Multiaddr) -> Option<std::net::IpAddr> {
    match addr.iter().next()? {
        Protocol::Ip4(ip) => Some(ip.into()),
        Protocol::Ip6(ip) => Some(ip.to_ipv4_mapped().map_or(ip.into(), Into::into)),
        _ => None,
    }
}

fn parse_multiaddr(text: &str) -> Result<Multiaddr, String> {
    text.parse()
        .map_err(|e| format!("{text:?} is not a multiaddr: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_expands_to_kubos_bootstrap_peers() {
        let addrs = parse_bootstrap("public").unwrap();
        assert_eq!(addrs.len(), PUBLIC_BOOTSTRAP.len());
        let peers: std::collections::HashSet<PeerId> =
            addrs.iter().map(|a| peer_of(a).unwrap()).collect();
        // Four dnsaddr peers, va1, and mars (TCP and QUIC share one peer).
        assert_eq!(peers.len(), 6);
        assert!(addrs
            .iter()
            .any(|a| a.to_string() == "/ip4/104.131.131.82/udp/4001/quic-v1/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ"));
        assert!(addrs.iter().all(|a| matches!(
            a.iter().next(),
            Some(Protocol::Dnsaddr(_) | Protocol::Ip4(_))
        )));
    }

    #[test]
    fn one_bootstrap_address_is_itself() {
        let text =
            "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDGkfotu29vUrYq7drtct6fjjJJSuKaAzTX1WBUz7fRuG";
        let addrs = parse_bootstrap(text).unwrap();
        assert_eq!(addrs.len(), 1);
        assert_eq!(addrs[0].to_string(), text);
        assert_eq!(
            peer_of(&addrs[0]).unwrap().to_string(),
            "12D3KooWDGkfotu29vUrYq7drtct6fjjJJSuKaAzTX1WBUz7fRuG"
        );
    }

    #[test]
    fn bad_peer_addresses_are_refused_clearly() {
        for (text, says) in [
            ("127.0.0.1:4001", "not a multiaddr"),
            ("/ip4/127.0.0.1/tcp/notaport", "not a multiaddr"),
            ("/ip4/127.0.0.1/tcp/4001", "does not end in /p2p/"),
            (
                "/p2p/12D3KooWDGkfotu29vUrYq7drtct6fjjJJSuKaAzTX1WBUz7fRuG",
                "no address to dial",
            ),
            ("/ip4/127.0.0.1/tcp/4001/p2p/notapeer", "not a multiaddr"),
            ("publik", "not a multiaddr"),
        ] {
            let error = parse_bootstrap(text).unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
            assert!(error.contains(text), "{text}: {error}");
            assert!(parse_peer_addr(text).is_err());
        }
        // `public` is a bootstrap list, not one peer.
        assert!(parse_peer_addr("public").is_err());
    }

    #[test]
    fn listen_addresses_are_tcp_or_quic_v1_on_an_ip() {
        for ok in [
            "/ip4/127.0.0.1/tcp/0",
            "/ip4/0.0.0.0/tcp/4001",
            "/ip6/::1/tcp/0",
            "/ip4/127.0.0.1/udp/0/quic-v1",
        ] {
            assert_eq!(parse_listen_addr(ok).unwrap().to_string(), ok);
        }
        for bad in [
            "/ip4/127.0.0.1/udp/0",
            "/ip4/127.0.0.1/udp/0/quic",
            "/dns4/localhost/tcp/0",
            "/ip4/127.0.0.1/tcp/0/p2p/12D3KooWDGkfotu29vUrYq7drtct6fjjJJSuKaAzTX1WBUz7fRuG",
            "/ip4/127.0.0.1/tcp/0/ws",
            "0.0.0.0:4001",
        ] {
            assert!(parse_listen_addr(bad).is_err(), "{bad}");
        }
        assert_eq!(
            NetworkConfig::default()
                .listen
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>(),
            DEFAULT_LISTEN
        );
    }

    #[test]
    fn dht_modes_parse() {
        assert_eq!("auto".parse(), Ok(DhtMode::Auto));
        assert_eq!("server".parse(), Ok(DhtMode::Server));
        assert_eq!("client".parse(), Ok(DhtMode::Client));
        assert!("dhtserver"
            .parse::<DhtMode>()
            .unwrap_err()
            .contains("server, client or auto"));
    }
}
