//! What one peer's Bitswap messages may cost us: a token bucket per peer, charged for the
//! work its messages make, and a peer that overdraws it is disconnected.
//!
//! The server's wantlist cap ([`super::ServerConfig::max_wantlist_entries`]) bounds the
//! *memory* one peer's wants hold, but not the *CPU*: wants past the cap are decoded, looked
//! up and dropped, and a peer may send full 16k-entry messages ([`super::MAX_MESSAGE_ITEMS`])
//! as fast as its link allows, on 64 streams at once. boxo bounds neither (it truncates the
//! wantlist and carries on); here every message is charged to its sender:
//! - a message with a wantlist: one unit, plus one per entry (wants and cancels alike);
//! - a block that answers no want of the client, pending or ended lately
//!   ([`super::Client::receive`]'s [`Unsolicited`]): [`UNSOLICITED_BLOCK_COST`] units;
//! - a HAVE or DONT_HAVE about a CID not wanted now: one unit.
//!
//! Blocks, HAVEs and DONT_HAVEs that answer our wants cost nothing: they are the traffic we
//! asked for, and a peer serving us fast sends thousands of messages a second.
//!
//! # The numbers, against what boxo (Kubo's Bitswap) sends
//!
//! boxo's client sends a peer its wants as they come, batched (a message goes out once 256
//! changes are pending or 20 ms after the first; at most 2 MiB), a CANCEL for each want met
//! elsewhere, and every 30 s it resends every want still pending (not as a `full` list: as
//! the same entries again). A session sends wants to its peers for every CID it is asked for
//! at once: a Kubo fetching a file's 16k leaves (a 4 GB file of 256 KiB blocks) sends all 16k
//! to its session peers in a burst, past any server's 1024 cap, and the rest again every 30 s.
//! So a well-behaved peer:
//! - bursts up to about twice its outstanding wants (the wants, then their cancels): the
//!   bucket holds [`BURST`] = 65,536 units, four full messages, two 16k-want bursts with
//!   their cancels;
//! - sustains about two entries per block it fetches (a want and a cancel, or a want-have
//!   broadcast and its cancel): [`PER_SECOND`] = 16,384 units a second covers 8,000 blocks a
//!   second, which is 2 GB/s of 256 KiB blocks and more small blocks than a boxo session
//!   fetches from one peer over loopback (its 30-second resend adds ~550 a second at most for
//!   16k wants).
//!
//! A flooder sending 16k-entry messages is cut off at its fourth (a few milliseconds of
//! decoding each); a peer that stays just under the rate costs at most 16k entries a second,
//! a few milliseconds of one core. Overdrawing costs a full bucket more, so the peer owes
//! [`BURST`] / [`PER_SECOND`] = 4 s of refill before any message of it is taken again, and
//! every message it sends meanwhile starts that again. The debt outlives the connection
//! ([`Budgets::release`] keeps a bucket until it has refilled), so reconnecting at once buys
//! nothing: the first message on the new connection is refused too.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Unsolicited;
use crate::network::token_bucket::{Rate, TokenBucket};

/// Units the bucket holds when full: the most a peer may spend in a burst.
pub const BURST: u64 = 65_536;

/// Units the bucket regains each second: the most a peer may spend for long.
pub const PER_SECOND: u64 = 16_384;

/// What a block nobody asked the peer for costs. A peer sends one now and then without
/// fault (the answer to a want cancelled while it was on its way, when the client has since
/// forgotten the want); 256 of them drain a full bucket, and 64 a second are sustainable.
pub const UNSOLICITED_BLOCK_COST: u64 = 256;

/// How a peer's bucket is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetConfig {
    /// Units when full.
    pub burst: u64,
    /// Units regained per second.
    pub per_second: u64,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig {
            burst: BURST,
            per_second: PER_SECOND,
        }
    }
}

/// One peer's bucket. It may go into debt (a whole message is charged at once, after it was
/// read), and a peer in debt is over its budget until it has paid it back. A peer that
/// overdraws owes at least a full bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: TokenBucket,
    /// Whether the peer's connection is open (a closed peer's bucket is kept only while it
    /// is not full).
    connected: bool,
}

impl BudgetConfig {
    fn rate(&self) -> Rate {
        Rate {
            per_second: self.per_second as f64,
            burst: self.burst as f64,
        }
    }
}

/// The buckets of every peer (connected, or gone with a debt). Keyed by whatever identifies
/// a peer (a libp2p `PeerId`).
#[derive(Debug)]
pub struct Budgets<K> {
    rate: Rate,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Eq + Hash + Clone> Budgets<K> {
    pub fn new(config: BudgetConfig) -> Self {
        Budgets {
            rate: config.rate(),
            buckets: Mutex::default(),
        }
    }

    /// Charges `cost` units to `peer` at `now`: whether the peer is still within its budget
    /// (false: it overdrew it, now or earlier, and should be disconnected). A new peer starts
    /// with a full bucket.
    pub fn charge(&self, peer: &K, cost: u64, now: Instant) -> bool {
        let mut buckets = self.lock();
        let bucket = buckets.entry(peer.clone()).or_insert(Bucket {
            level: TokenBucket::full(&self.rate, now),
            connected: true,
        });
        bucket.connected = true;
        let level = &mut bucket.level;
        level.refill(&self.rate, now);
        level.tokens -= cost as f64;
        if level.tokens < 0.0 {
            // Overdrawing costs a whole bucket on top: the peer is refused for the time a
            // bucket takes to fill, and every message it sends meanwhile restarts that.
            level.tokens = level.tokens.min(-self.rate.burst);
            return false;
        }
        true
    }

    /// `peer`'s last connection closed: its bucket goes, unless it is not full, in which case
    /// it stays until it is (so a peer cannot reconnect to start afresh). Buckets of other
    /// gone peers that have refilled meanwhile go too, so what is kept is bounded by the
    /// peers that overdrew lately.
    pub fn release(&self, peer: &K, now: Instant) {
        let mut buckets = self.lock();
        if let Some(bucket) = buckets.get_mut(peer) {
            bucket.connected = false;
        }
        let rate = self.rate;
        buckets.retain(|_, bucket| {
            bucket.connected || {
                bucket.level.refill(&rate, now);
                !bucket.level.is_full(&rate)
            }
        });
    }

    /// Buckets held (connected peers that sent something, gone peers still in debt).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `peer` owes units at `now` (it overdrew and has not paid back): its streams
    /// need not even be read. Asking charges nothing.
    pub fn in_debt(&self, peer: &K, now: Instant) -> bool {
        !self.debt_clears_in(peer, now).is_zero()
    }

    /// How long until `peer`, now in debt, is within its budget again (zero if it is).
    pub fn debt_clears_in(&self, peer: &K, now: Instant) -> Duration {
        let mut buckets = self.lock();
        let Some(bucket) = buckets.get_mut(peer) else {
            return Duration::ZERO;
        };
        bucket.level.refill(&self.rate, now);
        if bucket.level.tokens >= 0.0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(-bucket.level.tokens / self.rate.per_second.max(1.0))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Bucket>> {
        // Every change is a few field writes: a poisoned lock is still consistent.
        self.buckets.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What a message's wantlist costs: one unit, plus one per entry (none without a wantlist).
pub fn wantlist_cost(message: &super::Message) -> u64 {
    message
        .wantlist
        .as_ref()
        .map_or(0, |wantlist| 1 + wantlist.entries.len() as u64)
}

/// What the unsolicited part of a message costs: [`UNSOLICITED_BLOCK_COST`] a block, one
/// unit a presence.
pub fn unsolicited_cost(unsolicited: &Unsolicited) -> u64 {
    unsolicited.blocks as u64 * UNSOLICITED_BLOCK_COST + unsolicited.presences as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::bitswap::{Entry, Message, Wantlist};

    fn config() -> BudgetConfig {
        BudgetConfig {
            burst: 100,
            per_second: 10,
        }
    }

    #[test]
    fn a_peer_may_burst_to_the_bucket_then_only_at_the_rate() {
        let budgets = Budgets::new(config());
        let t0 = Instant::now();
        assert!(budgets.charge(&"p", 100, t0));
        assert!(!budgets.charge(&"p", 1, t0), "past the burst");
        // Overdrawn: it owes a full bucket, 10 s of refill.
        assert_eq!(budgets.debt_clears_in(&"p", t0), Duration::from_secs(10));
        assert_eq!(
            budgets.debt_clears_in(&"p", t0 + Duration::from_secs(9)),
            Duration::from_secs(1)
        );
        assert!(budgets.charge(&"p", 0, t0 + Duration::from_secs(10)));
        // Steady spending at the rate never runs out.
        let mut now = t0 + Duration::from_secs(10);
        for _ in 0..1000 {
            now += Duration::from_secs(1);
            assert!(budgets.charge(&"p", 10, now));
        }
        // Others have buckets of their own.
        assert!(budgets.charge(&"q", 100, t0));
    }

    #[test]
    fn the_bucket_never_holds_more_than_the_burst() {
        let budgets = Budgets::new(config());
        let t0 = Instant::now();
        assert!(budgets.charge(&"p", 0, t0));
        assert!(!budgets.charge(&"p", 101, t0 + Duration::from_secs(3600)));
    }

    #[test]
    fn messages_sent_while_refused_prolong_the_refusal() {
        let budgets = Budgets::new(config());
        let t0 = Instant::now();
        assert!(!budgets.charge(&"p", 101, t0));
        let t1 = t0 + Duration::from_secs(9);
        assert!(!budgets.charge(&"p", 1, t1));
        assert_eq!(budgets.debt_clears_in(&"p", t1), Duration::from_secs(10));
    }

    #[test]
    fn a_debt_outlives_the_connection_and_a_paid_one_is_forgotten() {
        let budgets = Budgets::new(config());
        let t0 = Instant::now();
        assert!(!budgets.charge(&"flood", 150, t0));
        assert!(budgets.charge(&"good", 10, t0));
        budgets.release(&"flood", t0);
        budgets.release(&"good", t0);
        // The good peer's bucket (90 of 100) is kept until full; the flooder's debt stays.
        assert_eq!(budgets.len(), 2);
        assert_eq!(
            budgets.debt_clears_in(&"flood", t0),
            Duration::from_secs(10)
        );
        assert!(budgets.in_debt(&"flood", t0) && !budgets.in_debt(&"good", t0));
        assert!(!budgets.in_debt(&"stranger", t0));
        // Reconnecting soon after: the first message is refused.
        assert!(!budgets.charge(&"flood", 1, t0 + Duration::from_secs(1)));
        budgets.release(&"flood", t0 + Duration::from_secs(1));
        // Once refilled, both are forgotten at the next release.
        assert!(!budgets.in_debt(&"flood", t0 + Duration::from_secs(60)));
        budgets.release(&"other", t0 + Duration::from_secs(60));
        assert!(budgets.is_empty());
    }

    #[test]
    fn messages_cost_their_wantlist_entries_and_what_nobody_asked_for() {
        use multihash_codetable::{Code, MultihashDigest};
        let cid = cid::Cid::new_v1(0x55, Code::Sha2_256.digest(b"x"));
        assert_eq!(wantlist_cost(&Message::default()), 0);
        let wants = Message {
            wantlist: Some(Wantlist {
                entries: vec![Entry::want_block(cid, 1, true), Entry::cancel(cid)],
                full: false,
            }),
            ..Message::default()
        };
        assert_eq!(wantlist_cost(&wants), 3);
        let unsolicited = Unsolicited {
            blocks: 2,
            presences: 5,
        };
        assert_eq!(
            unsolicited_cost(&unsolicited),
            2 * UNSOLICITED_BLOCK_COST + 5
        );
    }
}
