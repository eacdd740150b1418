//! Sessions by DAG, for callers that only know CIDs (a block source): the spec's sessions —
//! "first ask the peers that had the previous blocks of the same DAG" — without a request
//! handle travelling down the read path.
//!
//! A get of a CID that no session expects opens a new session: as far as this node can tell,
//! it is the root of a DAG. The links of every block a session fetched are expected by that
//! session, so the rest of the DAG is first asked of the peers that sent its earlier blocks
//! (boxo opens a session per request for the same effect). Expectations are bounded (a
//! [`DagSessions::new`] capacity, least recently used forgotten first) and leave once their
//! block is fetched; a forgotten CID only starts a session of its own.

use bytes::Bytes;
use cid::Cid;

use super::{Client, Fetch, PeerKey, Session};
use crate::ipld::links::links;

/// The sessions of the DAGs being fetched, by the CIDs they expect next.
pub struct DagSessions<K: PeerKey> {
    client: Client<K>,
    expected: quick_cache::sync::Cache<Cid, Session<K>>,
}

impl<K: PeerKey> DagSessions<K> {
    /// Sessions over `client`, expecting at most `capacity` CIDs at a time.
    pub fn new(client: Client<K>, capacity: usize) -> Self {
        DagSessions {
            client,
            expected: quick_cache::sync::Cache::new(capacity.max(1)),
        }
    }

    /// Fetches `cid` in the session of its DAG (a new one for a CID no session expects).
    /// Hand the block to [`DagSessions::fetched`] with the session, so its links join it.
    pub fn get(&self, cid: Cid) -> (Fetch<K>, Session<K>) {
        let session = self
            .expected
            .remove(&cid)
            .map(|(_, session)| session)
            .unwrap_or_else(|| self.client.session());
        (self.client.get(cid, &session), session)
    }

    /// Notes that `session` fetched `block` (of `cid`): the session expects its links.
    pub fn fetched(&self, cid: &Cid, block: &Bytes, session: &Session<K>) {
        let mut children = Vec::new();
        // A block that does not decode has no links to expect; whoever reads it will say why.
        if links(cid, block, &mut children).is_ok() {
            for child in children {
                if !crate::ipld::cid::is_inline(&child) {
                    self.expected.insert(child, session.clone());
                }
            }
        }
    }

    /// How many CIDs sessions expect now.
    pub fn expected(&self) -> usize {
        self.expected.len()
    }
}
