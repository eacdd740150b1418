//! What the client tried for a block, in a form an error page (a gateway's 504) or a log line
//! can show: which peers were asked and what each said, and what provider lookups found.

use std::fmt;
use std::time::Duration;

use cid::Cid;

use super::PeerKey;

/// What a peer was asked for (the strongest of its asks: a want-block after a want-have is
/// `Block`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Asked {
    Have,
    Block,
}

/// A peer's last word on a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Asked, no answer yet.
    Waiting,
    /// Said HAVE (or was found as a provider): asked for the block.
    Have,
    /// Said DONT_HAVE.
    DontHave,
    /// Did not answer within the per-peer timeout.
    NoAnswer,
    /// Disconnected (or could not be reached) before answering.
    Disconnected,
    /// Sent a block that matched nothing wanted: penalised for the session.
    BadBlock,
}

/// One peer the client asked or heard from about a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerReport<K> {
    pub peer: K,
    /// `None`: the peer spoke unasked (a HAVE or DONT_HAVE for a want it got from elsewhere).
    pub asked: Option<Asked>,
    pub outcome: Outcome,
    /// Found by a provider lookup.
    pub provider: bool,
}

/// Provider lookups run for a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderLookups<K> {
    /// Lookups started.
    pub runs: u32,
    /// One is under way.
    pub running: bool,
    /// Every peer they returned.
    pub found: Vec<K>,
}

/// What the client did for a block still missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis<K> {
    pub cid: Cid,
    /// Since the first get asked for it.
    pub elapsed: Duration,
    /// Rounds of asking: 1, plus one per rebroadcast.
    pub rounds: u32,
    /// Peers connected now.
    pub connected: usize,
    /// Every peer asked or heard from, in the order first asked.
    pub peers: Vec<PeerReport<K>>,
    pub providers: ProviderLookups<K>,
}

impl<K: PeerKey> Diagnosis<K> {
    /// Peers sent a want for the block.
    pub fn asked(&self) -> usize {
        self.peers.iter().filter(|p| p.asked.is_some()).count()
    }

    /// Peers whose last word is `outcome`.
    pub fn with_outcome(&self, outcome: Outcome) -> impl Iterator<Item = &K> {
        self.peers
            .iter()
            .filter(move |p| p.outcome == outcome)
            .map(|p| &p.peer)
    }
}

/// Peers listed by name in [`Diagnosis`]'s `Display` per outcome; the rest are counted.
const LISTED_PER_OUTCOME: usize = 5;

impl<K: PeerKey> fmt::Display for Diagnosis<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not found after {:.1} s; asked {} peer(s) ({} connected)",
            self.elapsed.as_secs_f64(),
            self.asked(),
            self.connected
        )?;
        let outcomes = [
            (Outcome::DontHave, "said DONT_HAVE"),
            (Outcome::NoAnswer, "did not answer in time"),
            (Outcome::Disconnected, "disconnected"),
            (Outcome::BadBlock, "sent a bad block"),
            (Outcome::Have, "said HAVE, block not yet received"),
            (Outcome::Waiting, "still to answer"),
        ];
        for (outcome, what) in outcomes {
            let peers: Vec<&K> = self.with_outcome(outcome).collect();
            if peers.is_empty() {
                continue;
            }
            write!(f, "; {} {what}:", peers.len())?;
            for peer in peers.iter().take(LISTED_PER_OUTCOME) {
                write!(f, " {peer}")?;
            }
            if peers.len() > LISTED_PER_OUTCOME {
                write!(f, " …")?;
            }
        }
        if self.rounds > 1 {
            write!(f, "; wants re-sent {} time(s)", self.rounds - 1)?;
        }
        let lookups = &self.providers;
        match (lookups.runs, lookups.running) {
            (0, _) => write!(f, "; no provider lookup"),
            (runs, running) => {
                write!(
                    f,
                    "; {runs} provider lookup(s){} found {} peer(s)",
                    if running { " (one running)" } else { "" },
                    lookups.found.len()
                )?;
                for peer in lookups.found.iter().take(LISTED_PER_OUTCOME) {
                    write!(f, " {peer}")?;
                }
                Ok(())
            }
        }
    }
}

/// What a session has learnt about peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStats<K> {
    /// Blocks the session's gets received.
    pub blocks: u64,
    /// Peers that sent the session blocks (with how many) or said HAVE (0), best first: the
    /// order the session asks them in.
    pub peers: Vec<(K, u64)>,
    /// Peers that sent a bad block; the session no longer asks them.
    pub penalised: Vec<K>,
}

impl<K> Default for SessionStats<K> {
    fn default() -> Self {
        SessionStats {
            blocks: 0,
            peers: Vec::new(),
            penalised: Vec::new(),
        }
    }
}
