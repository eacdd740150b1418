//! How often one source may open a connection to the node. A peer that reconnects the
//! moment it is cut off (with a fresh identity each time, so no per-peer budget follows it)
//! otherwise costs a Noise handshake per attempt: about a quarter of a core for one flooder
//! on loopback. Here each source address has a token bucket per subnet size, and an incoming
//! connection whose buckets are empty is refused before any handshake (libp2p's
//! `handle_pending_inbound_connection`), for the price of an accept and a close.
//!
//! The numbers are go-libp2p's (its resource manager's connection rate limiter, which Kubo
//! runs): an IPv4 address may open 16 connections at once and then one every 5 s; an IPv6
//! /56 likewise, and a whole /48 80 at once and then one every 2 s. Loopback is exempt, as
//! there: it is the operator's own tools.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::swarm::{
    dummy, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};

use super::config::leading_ip;
use super::token_bucket::{Rate, TokenBucket};

/// Buckets kept at most. A bucket goes once it has refilled; past this many sources in
/// debt at once, new sources are refused until some have refilled (each bucket is a few
/// dozen bytes, so this bounds the limiter to a few MiB).
pub const MAX_SOURCES: usize = 65_536;

/// How often a full map is swept for refilled buckets at most: a sweep reads every bucket,
/// and a new source arriving while the map is full must not cost one each time.
const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// A rate for every source in one subnet size: addresses that agree on their first
/// `prefix_len` bits share a bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubnetRate {
    pub prefix_len: u8,
    pub rate: Rate,
}

/// The inbound connection rates.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundRates {
    pub ipv4: Vec<SubnetRate>,
    pub ipv6: Vec<SubnetRate>,
    /// Whether loopback sources go unlimited.
    pub exempt_loopback: bool,
}

impl Default for InboundRates {
    fn default() -> Self {
        let per_address = Rate {
            per_second: 0.2,
            burst: 16.0,
        };
        InboundRates {
            ipv4: vec![SubnetRate {
                prefix_len: 32,
                rate: per_address,
            }],
            ipv6: vec![
                SubnetRate {
                    prefix_len: 56,
                    rate: per_address,
                },
                SubnetRate {
                    prefix_len: 48,
                    rate: Rate {
                        per_second: 0.5,
                        burst: 80.0,
                    },
                },
            ],
            exempt_loopback: true,
        }
    }
}

/// The limiter's state, apart from libp2p: which sources may connect now.
#[derive(Debug)]
pub struct Limiter {
    rates: InboundRates,
    /// Keyed by the subnet: its prefix length and its address with the rest zeroed.
    buckets: HashMap<(u8, IpAddr), TokenBucket>,
    refused: u64,
    /// When the map was last swept.
    swept: Option<Instant>,
}

impl Limiter {
    pub fn new(rates: InboundRates) -> Limiter {
        Limiter {
            rates,
            buckets: HashMap::new(),
            refused: 0,
            swept: None,
        }
    }

    /// Whether a connection from `source` may go ahead at `now`; if so, it is charged to
    /// every subnet `source` is in. A source that is not an IP address (none reaches a
    /// listener today) is let through.
    pub fn admit(&mut self, source: &Multiaddr, now: Instant) -> bool {
        let Some(ip) = leading_ip(source) else {
            return true;
        };
        if self.rates.exempt_loopback && ip.is_loopback() {
            return true;
        }
        let subnets = match ip {
            IpAddr::V4(_) => &self.rates.ipv4,
            IpAddr::V6(_) => &self.rates.ipv6,
        };
        let keys: Vec<((u8, IpAddr), Rate)> = subnets
            .iter()
            .map(|s| ((s.prefix_len, masked(ip, s.prefix_len)), s.rate))
            .collect();
        if self.buckets.len() + keys.len() > MAX_SOURCES {
            self.forget_refilled(now);
        }
        let tracked = keys.iter().all(|(key, _)| self.buckets.contains_key(key));
        if !tracked && self.buckets.len() + keys.len() > MAX_SOURCES {
            return self.refuse(ip, "too many sources in debt");
        }
        // Every subnet must have a token before any is charged.
        let ready = keys.iter().all(|(key, rate)| {
            let bucket = self
                .buckets
                .entry(*key)
                .or_insert_with(|| TokenBucket::full(rate, now));
            bucket.refill(rate, now);
            bucket.tokens >= 1.0
        });
        if !ready {
            return self.refuse(ip, "over its connection rate");
        }
        for (key, _) in &keys {
            if let Some(bucket) = self.buckets.get_mut(key) {
                bucket.tokens -= 1.0;
            }
        }
        true
    }

    /// Connections refused so far.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Sources tracked now.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }

    fn refuse(&mut self, ip: IpAddr, why: &str) -> bool {
        self.refused += 1;
        if self.refused.is_power_of_two() {
            tracing::warn!(source = %ip, refused = self.refused, "refusing an incoming connection: {why}");
        } else {
            tracing::debug!(source = %ip, "refusing an incoming connection: {why}");
        }
        false
    }

    fn forget_refilled(&mut self, now: Instant) {
        if self
            .swept
            .is_some_and(|at| now.saturating_duration_since(at) < SWEEP_INTERVAL)
        {
            return;
        }
        self.swept = Some(now);
        let rates = &self.rates;
        self.buckets.retain(|(prefix_len, ip), bucket| {
            let list = if ip.is_ipv4() {
                &rates.ipv4
            } else {
                &rates.ipv6
            };
            let Some(subnet) = list.iter().find(|s| s.prefix_len == *prefix_len) else {
                return false;
            };
            bucket.refill(&subnet.rate, now);
            !bucket.is_full(&subnet.rate)
        });
    }
}

/// `ip` with all but its first `prefix_len` bits zeroed.
fn masked(ip: IpAddr, prefix_len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix_len.min(32)))
                .unwrap_or(0);
            IpAddr::V4((bits & mask).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix_len.min(128)))
                .unwrap_or(0);
            IpAddr::V6((bits & mask).into())
        }
    }
}

/// The limiter as a libp2p behaviour: it only refuses pending inbound connections.
pub(crate) struct Behaviour(pub(crate) Limiter);

impl NetworkBehaviour for Behaviour {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = std::convert::Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        if self.0.admit(remote, Instant::now()) {
            Ok(())
        } else {
            Err(ConnectionDenied::new(RateExceeded))
        }
    }

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, _: FromSwarm) {}

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        std::task::Poll::Pending
    }
}

/// Why a connection was refused.
#[derive(Debug, thiserror::Error)]
#[error("the source is over its incoming connection rate")]
pub struct RateExceeded;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn addr(text: &str) -> Multiaddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_address_bursts_then_connects_at_the_rate() {
        let mut limiter = Limiter::new(InboundRates::default());
        let t0 = Instant::now();
        let a = addr("/ip4/203.0.113.7/tcp/4001");
        for i in 0..16 {
            assert!(limiter.admit(&a, t0), "connection {i} of the burst");
        }
        assert!(!limiter.admit(&a, t0), "past the burst");
        assert!(!limiter.admit(&a, t0 + Duration::from_secs(4)));
        assert!(
            limiter.admit(&a, t0 + Duration::from_secs(5)),
            "one per 5 s"
        );
        assert!(!limiter.admit(&a, t0 + Duration::from_secs(5)));
        // Another address, even next door, has a bucket of its own; QUIC counts the same.
        assert!(limiter.admit(&addr("/ip4/203.0.113.8/udp/4001/quic-v1"), t0));
        assert_eq!(limiter.refused(), 3);
    }

    #[test]
    fn loopback_is_exempt_unless_configured_otherwise() {
        let mut limiter = Limiter::new(InboundRates::default());
        let t0 = Instant::now();
        for _ in 0..100 {
            assert!(limiter.admit(&addr("/ip4/127.0.0.1/tcp/1"), t0));
            assert!(limiter.admit(&addr("/ip6/::1/tcp/1"), t0));
        }
        assert_eq!(limiter.tracked(), 0);
        let mut strict = Limiter::new(InboundRates {
            exempt_loopback: false,
            ..InboundRates::default()
        });
        let admitted = (0..100)
            .filter(|_| strict.admit(&addr("/ip4/127.0.0.1/tcp/1"), t0))
            .count();
        assert_eq!(admitted, 16);
    }

    #[test]
    fn ipv6_sources_share_their_56_and_their_48() {
        let mut limiter = Limiter::new(InboundRates::default());
        let t0 = Instant::now();
        // Sixteen from one /56, whatever the rest of the address.
        for i in 0..16 {
            let a = addr(&format!("/ip6/2001:db8:0:1{i:x}::{i:x}/tcp/1"));
            assert!(limiter.admit(&a, t0), "{i}");
        }
        assert!(!limiter.admit(&addr("/ip6/2001:db8:0:ff::1/tcp/1"), t0));
        // Other /56s of the same /48 go on until the /48's 80.
        let admitted = (0..200u32)
            .filter(|i| {
                let a = addr(&format!("/ip6/2001:db8:0:{:x}00::1/tcp/1", i + 1));
                limiter.admit(&a, t0)
            })
            .count();
        assert_eq!(admitted, 80 - 16);
        // A mapped IPv4 address is that IPv4 address.
        let mapped = addr("/ip6/::ffff:198.51.100.1/tcp/1");
        let plain = addr("/ip4/198.51.100.1/tcp/1");
        for _ in 0..8 {
            assert!(limiter.admit(&mapped, t0));
            assert!(limiter.admit(&plain, t0));
        }
        assert!(!limiter.admit(&plain, t0));
    }

    #[test]
    fn refilled_sources_are_forgotten_and_the_map_is_bounded() {
        let mut limiter = Limiter::new(InboundRates::default());
        let t0 = Instant::now();
        for i in 0..MAX_SOURCES as u32 {
            assert!(limiter.admit(
                &addr(&format!("/ip4/{}/tcp/1", std::net::Ipv4Addr::from(i + 1))),
                t0
            ));
        }
        assert_eq!(limiter.tracked(), MAX_SOURCES);
        // All in debt (one token spent): a new source is refused, not tracked.
        assert!(!limiter.admit(&addr("/ip4/198.51.100.99/tcp/1"), t0));
        assert_eq!(limiter.tracked(), MAX_SOURCES);
        // Once their one token is back (5 s), they are forgotten as room is needed, by a
        // sweep made at most once a second.
        let later = t0 + Duration::from_secs(6);
        assert!(limiter.admit(&addr("/ip4/198.51.100.99/tcp/1"), later));
        assert_eq!(limiter.tracked(), 1);
        // Full again, and in debt: sweeps are spaced, so refusals stay cheap.
        for i in 0..MAX_SOURCES as u32 - 1 {
            let source = addr(&format!("/ip4/{}/tcp/1", std::net::Ipv4Addr::from(i + 1)));
            assert!(limiter.admit(&source, later));
        }
        let swept = limiter.swept;
        let soon = later + Duration::from_millis(500);
        assert!(!limiter.admit(&addr("/ip4/198.51.100.100/tcp/1"), soon));
        assert_eq!(limiter.swept, swept, "no second sweep within the interval");
    }

    #[test]
    fn masks_keep_the_prefix() {
        let v6: IpAddr = "2001:db8:abcd:12ff::1".parse().unwrap();
        assert_eq!(
            masked(v6, 56),
            "2001:db8:abcd:1200::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(masked(v6, 48), "2001:db8:abcd::".parse::<IpAddr>().unwrap());
        assert_eq!(masked(v6, 0), "::".parse::<IpAddr>().unwrap());
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(masked(v4, 32), v4);
        assert_eq!(masked(v4, 24), "203.0.113.0".parse::<IpAddr>().unwrap());
    }
}
