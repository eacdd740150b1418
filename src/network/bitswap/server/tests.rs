use std::collections::HashSet;
use std::time::Duration;

use multihash::Multihash;
use multihash_codetable::{Code, MultihashDigest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::network::bitswap::{verify_legacy_blocks, Entry, Wantlist};
use crate::store::{BlockSource, SourceFuture};

/// Blocks in memory; reads of `gated` CIDs wait for a permit and are logged in order, and
/// reads of `failing` CIDs fail.
struct MemorySource {
    blocks: HashMap<Multihash<64>, Bytes>,
    gated: HashSet<Cid>,
    failing: HashSet<Cid>,
    gate: Arc<Semaphore>,
    asked: Arc<Mutex<Vec<Cid>>>,
}

impl Default for MemorySource {
    fn default() -> Self {
        MemorySource {
            blocks: HashMap::new(),
            gated: HashSet::new(),
            failing: HashSet::new(),
            gate: Arc::new(Semaphore::new(0)),
            asked: Default::default(),
        }
    }
}

impl MemorySource {
    fn with(blocks: &[&[u8]]) -> Self {
        let mut source = MemorySource::default();
        for data in blocks {
            source.add(Bytes::copy_from_slice(data));
        }
        source
    }

    fn add(&mut self, data: Bytes) -> Cid {
        let cid = cid_of(&data);
        self.blocks.insert(*cid.hash(), data);
        cid
    }
}

impl BlockSource for MemorySource {
    fn get(&self, cid: &Cid) -> SourceFuture<crate::store::Result<Option<Bytes>>> {
        if self.failing.contains(cid) {
            return SourceFuture::ready(Err(crate::store::Error::Worker("disk on fire".into())));
        }
        let block = self.blocks.get(cid.hash()).cloned();
        if !self.gated.contains(cid) {
            return SourceFuture::ready(Ok(block));
        }
        self.asked.lock().unwrap().push(*cid);
        let gate = Arc::clone(&self.gate);
        SourceFuture::pending(async move {
            if let Ok(permit) = gate.acquire().await {
                permit.forget();
            }
            Ok(block)
        })
    }

    fn has(&self, cid: &Cid) -> SourceFuture<crate::store::Result<bool>> {
        SourceFuture::ready(Ok(self.blocks.contains_key(cid.hash())))
    }

    fn size(&self, cid: &Cid) -> SourceFuture<crate::store::Result<Option<u64>>> {
        if self.failing.contains(cid) {
            return SourceFuture::ready(Err(crate::store::Error::Worker("disk on fire".into())));
        }
        SourceFuture::ready(Ok(self.blocks.get(cid.hash()).map(|b| b.len() as u64)))
    }
}

fn cid_of(data: &[u8]) -> Cid {
    Cid::new_v1(0x55, Code::Sha2_256.digest(data))
}

fn absent(n: u32) -> Cid {
    cid_of(format!("absent {n}").as_bytes())
}

fn wants(entries: Vec<Entry>) -> Message {
    Message {
        wantlist: Some(Wantlist {
            entries,
            full: false,
        }),
        ..Message::default()
    }
}

fn full(entries: Vec<Entry>) -> Message {
    Message {
        wantlist: Some(Wantlist {
            entries,
            full: true,
        }),
        ..Message::default()
    }
}

fn server(source: MemorySource, config: ServerConfig) -> Server {
    Server::new(Arc::new(source), config)
}

/// One item per message: answers come out one by one, in order.
fn one_by_one() -> ServerConfig {
    ServerConfig {
        target_message_size: 1,
        ..ServerConfig::default()
    }
}

async fn next(ledger: &PeerLedger) -> Message {
    tokio::time::timeout(Duration::from_secs(5), ledger.next_message())
        .await
        .expect("a message within 5 s")
        .expect("the ledger is open")
}

/// Asserts nothing is sent (within a short wait).
async fn nothing_more(ledger: &PeerLedger) {
    let got = tokio::time::timeout(Duration::from_millis(50), ledger.next_message()).await;
    assert!(got.is_err(), "unexpected message {got:?}");
}

fn block_cids(message: &Message) -> Vec<Cid> {
    message.blocks.iter().map(|b| *b.cid()).collect()
}

fn presences(message: &Message, kind: PresenceType) -> Vec<Cid> {
    message
        .presences
        .iter()
        .filter(|p| p.kind == kind)
        .map(|p| p.cid)
        .collect()
}

/// Waits until the gated source has been asked for `n` reads.
async fn asked(source: &Arc<Mutex<Vec<Cid>>>, n: usize) -> Vec<Cid> {
    for _ in 0..500 {
        {
            let asked = source.lock().unwrap();
            if asked.len() >= n {
                return asked.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!(
        "the source was asked for {n} reads: {:?}",
        source.lock().unwrap()
    );
}

/// A client over a duplex stream: sends `messages`, closes its sending side, and returns
/// every message the server sent until it closed the stream, with the server's result.
async fn exchange(
    server: &Server,
    protocol: Protocol,
    messages: &[Message],
) -> (Vec<Message>, Result<(), Error>) {
    let (client, remote) = tokio::io::duplex(1 << 16);
    let ledger = server.peer(protocol);
    let serving = tokio::spawn(async move {
        let (reader, writer) = tokio::io::split(remote);
        ledger.serve(reader, writer).await
    });
    let (client_reader, mut client_writer) = tokio::io::split(client);
    for message in messages {
        write_message(&mut client_writer, message, Protocol::V120)
            .await
            .unwrap();
    }
    client_writer.shutdown().await.unwrap();
    let mut reader = MessageReader::new(client_reader, Limits::default());
    let mut got = Vec::new();
    while let Some(message) = tokio::time::timeout(Duration::from_secs(10), reader.next())
        .await
        .expect("the server answers or closes")
        .unwrap()
    {
        got.push(message);
    }
    (got, serving.await.unwrap())
}

#[tokio::test]
async fn wants_are_answered_over_a_stream_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = crate::store::Blockstore::open(dir.path(), Default::default()).unwrap();
    let small = vec![1u8; 100];
    let large1 = vec![2u8; 5000];
    let large2 = vec![3u8; 5000];
    for data in [&small, &large1, &large2] {
        store.put(&cid_of(data), data).unwrap();
    }
    let server = Server::new(Arc::new(store), ServerConfig::default());
    let message = wants(vec![
        Entry::want_block(cid_of(&large1), 1, true),
        Entry::want_have(cid_of(&large2), 1, true),
        // At most 1024 bytes: the block itself instead of HAVE.
        Entry::want_have(cid_of(&small), 1, true),
        Entry::want_block(absent(1), 1, true),
        Entry::want_have(absent(2), 1, true),
        // No DONT_HAVE asked for: no answer.
        Entry::want_block(absent(3), 1, false),
        Entry::want_have(absent(4), 1, false),
    ]);
    let (got, result) = exchange(&server, Protocol::V120, &[message]).await;
    result.unwrap();
    let mut blocks = HashMap::new();
    let (mut haves, mut dont_haves) = (HashSet::new(), HashSet::new());
    for message in &got {
        assert!(message.wantlist.is_none());
        for block in &message.blocks {
            crate::store::verify(block.cid(), block.data()).unwrap();
            assert!(blocks.insert(*block.cid(), block.data().clone()).is_none());
        }
        haves.extend(presences(message, PresenceType::Have));
        dont_haves.extend(presences(message, PresenceType::DontHave));
    }
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[&cid_of(&large1)], large1);
    assert_eq!(blocks[&cid_of(&small)], small);
    assert_eq!(haves, HashSet::from([cid_of(&large2)]));
    assert_eq!(dont_haves, HashSet::from([absent(1), absent(2)]));
}

#[tokio::test]
async fn want_haves_get_blocks_of_at_most_1024_bytes() {
    let at = vec![1u8; 1024];
    let over = vec![2u8; 1025];
    let ledger =
        server(MemorySource::with(&[&at, &over]), ServerConfig::default()).peer(Protocol::V120);
    ledger
        .receive(&wants(vec![
            Entry::want_have(cid_of(&at), 1, false),
            Entry::want_have(cid_of(&over), 1, false),
        ]))
        .unwrap();
    let message = next(&ledger).await;
    assert_eq!(block_cids(&message), [cid_of(&at)]);
    assert_eq!(presences(&message, PresenceType::Have), [cid_of(&over)]);
}

#[tokio::test]
async fn higher_priorities_are_answered_first() {
    let source = MemorySource::with(&[b"a", b"b", b"c", b"d"]);
    let ledger = server(source, one_by_one()).peer(Protocol::V120);
    ledger
        .receive(&wants(vec![
            Entry::want_block(cid_of(b"a"), 1, false),
            Entry::want_block(cid_of(b"b"), 5, false),
            Entry::want_block(cid_of(b"c"), 5, false),
            Entry::want_block(cid_of(b"d"), 3, false),
        ]))
        .unwrap();
    assert_eq!(ledger.wantlist_len(), 4);
    let order: Vec<Cid> = ledger.wantlist().into_iter().map(|(cid, _)| cid).collect();
    let expected = [b"b", b"c", b"d", b"a"].map(|d| cid_of(d));
    assert_eq!(order, expected);
    for cid in expected {
        assert_eq!(block_cids(&next(&ledger).await), [cid]);
    }
    assert_eq!(ledger.wantlist_len(), 0);
    nothing_more(&ledger).await;
    // A later want with a new priority moves the queued one.
    ledger
        .receive(&wants(vec![
            Entry::want_block(cid_of(b"a"), 1, false),
            Entry::want_block(cid_of(b"b"), 2, false),
        ]))
        .unwrap();
    ledger
        .receive(&wants(vec![Entry::want_block(cid_of(b"a"), 9, false)]))
        .unwrap();
    assert_eq!(block_cids(&next(&ledger).await), [cid_of(b"a")]);
    assert_eq!(block_cids(&next(&ledger).await), [cid_of(b"b")]);
}

#[tokio::test]
async fn cancels_remove_queued_wants() {
    let source = MemorySource::with(&[b"a", b"b"]);
    let ledger = server(source, ServerConfig::default()).peer(Protocol::V120);
    ledger
        .receive(&wants(vec![
            Entry::want_block(cid_of(b"a"), 1, false),
            Entry::want_have(cid_of(b"b"), 1, false),
            Entry::want_block(absent(1), 1, true),
        ]))
        .unwrap();
    ledger
        .receive(&wants(vec![
            Entry::cancel(cid_of(b"a")),
            Entry::cancel(absent(1)),
            // Cancelling what was never wanted is harmless.
            Entry::cancel(absent(2)),
        ]))
        .unwrap();
    assert_eq!(ledger.wantlist_len(), 1);
    let message = next(&ledger).await;
    assert_eq!(block_cids(&message), [cid_of(b"b")]);
    assert!(message.presences.is_empty());
    nothing_more(&ledger).await;
}

#[tokio::test]
async fn a_cancel_while_the_block_is_read_drops_it() {
    let mut source = MemorySource::with(&[b"slow", b"fast"]);
    source.gated.insert(cid_of(b"slow"));
    let gate = Arc::clone(&source.gate);
    let log = Arc::clone(&source.asked);
    let ledger = server(source, ServerConfig::default()).peer(Protocol::V120);
    ledger
        .receive(&wants(vec![Entry::want_block(cid_of(b"slow"), 1, true)]))
        .unwrap();
    let building = tokio::spawn({
        let ledger = ledger.clone();
        async move { ledger.next_message().await }
    });
    asked(&log, 1).await;
    ledger
        .receive(&wants(vec![Entry::cancel(cid_of(b"slow"))]))
        .unwrap();
    assert_eq!(ledger.wantlist_len(), 0);
    gate.add_permits(1);
    // The read completes, its block is dropped and the builder waits for new wants.
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!building.is_finished());
    ledger
        .receive(&wants(vec![Entry::want_block(cid_of(b"fast"), 1, true)]))
        .unwrap();
    let message = tokio::time::timeout(Duration::from_secs(5), building)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(block_cids(&message), [cid_of(b"fast")]);
    assert!(message.presences.is_empty());
}

#[tokio::test]
async fn a_full_wantlist_replaces_earlier_wants() {
    let mut source = MemorySource::with(&[b"a", b"b", b"c", b"slow"]);
    source.gated.insert(cid_of(b"slow"));
    let gate = Arc::clone(&source.gate);
    let log = Arc::clone(&source.asked);
    let ledger = server(source, one_by_one()).peer(Protocol::V120);
    ledger
        .receive(&wants(vec![
            Entry::want_block(cid_of(b"slow"), 9, false),
            Entry::want_block(cid_of(b"a"), 1, false),
            Entry::want_block(cid_of(b"b"), 1, false),
        ]))
        .unwrap();
    let building = tokio::spawn({
        let ledger = ledger.clone();
        async move { ledger.next_message().await }
    });
    asked(&log, 1).await;
    // The full list leaves out the block being read and the queued ones.
    ledger
        .receive(&full(vec![Entry::want_block(cid_of(b"c"), 1, false)]))
        .unwrap();
    assert_eq!(
        ledger.wantlist(),
        [(cid_of(b"c"), WantType::Block)],
        "only the new list is queued"
    );
    gate.add_permits(1);
    let message = tokio::time::timeout(Duration::from_secs(5), building)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(block_cids(&message), [cid_of(b"c")]);
    nothing_more(&ledger).await;

    // A full list naming the block being read keeps its answer.
    ledger
        .receive(&wants(vec![Entry::want_block(cid_of(b"slow"), 1, false)]))
        .unwrap();
    let building = tokio::spawn({
        let ledger = ledger.clone();
        async move { ledger.next_message().await }
    });
    asked(&log, 2).await;
    ledger
        .receive(&full(vec![Entry::want_block(cid_of(b"slow"), 1, false)]))
        .unwrap();
    assert_eq!(
        ledger.wantlist(),
        [],
        "the want in flight is not queued twice"
    );
    gate.add_permits(1);
    let message = tokio::time::timeout(Duration::from_secs(5), building)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(block_cids(&message), [cid_of(b"slow")]);
}

#[tokio::test]
async fn repeated_wants_merge() {
    let big = vec![7u8; 4000];
    let mut source = MemorySource::default();
    let big_cid = source.add(Bytes::from(big.clone()));
    let slow = source.add(Bytes::from(vec![8u8; 4000]));
    source.gated.insert(slow);
    let gate = Arc::clone(&source.gate);
    let log = Arc::clone(&source.asked);
    let ledger = server(source, ServerConfig::default()).peer(Protocol::V120);
    // Want-have then want-block of the same queued CID: one want-block.
    ledger
        .receive(&wants(vec![
            Entry::want_have(big_cid, 1, false),
            Entry::want_block(big_cid, 1, false),
            Entry::want_have(big_cid, 1, false),
        ]))
        .unwrap();
    assert_eq!(ledger.wantlist(), [(big_cid, WantType::Block)]);
    let message = next(&ledger).await;
    assert_eq!(block_cids(&message), [big_cid]);
    assert!(message.presences.is_empty());

    // Wants for a block being read are covered by the answer on its way.
    ledger
        .receive(&wants(vec![Entry::want_block(slow, 1, false)]))
        .unwrap();
    let building = tokio::spawn({
        let ledger = ledger.clone();
        async move { ledger.next_message().await }
    });
    asked(&log, 1).await;
    ledger
        .receive(&wants(vec![
            Entry::want_have(slow, 1, false),
            Entry::want_block(slow, 1, false),
        ]))
        .unwrap();
    assert_eq!(ledger.wantlist(), []);
    gate.add_permits(1);
    let message = tokio::time::timeout(Duration::from_secs(5), building)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(block_cids(&message), [slow]);
    nothing_more(&ledger).await;
}

#[tokio::test]
async fn a_want_block_after_a_have_in_flight_is_answered_too() {
    // The HAVE is worked out from the size, so gate the size: a source whose `size` waits.
    struct SlowSize {
        inner: MemorySource,
        gate: Arc<Semaphore>,
        asked: Arc<Mutex<Vec<Cid>>>,
    }
    impl BlockSource for SlowSize {
        fn get(&self, cid: &Cid) -> SourceFuture<crate::store::Result<Option<Bytes>>> {
            self.inner.get(cid)
        }
        fn has(&self, cid: &Cid) -> SourceFuture<crate::store::Result<bool>> {
            self.inner.has(cid)
        }
        fn size(&self, cid: &Cid) -> SourceFuture<crate::store::Result<Option<u64>>> {
            let size = self.inner.blocks.get(cid.hash()).map(|b| b.len() as u64);
            self.asked.lock().unwrap().push(*cid);
            let gate = Arc::clone(&self.gate);
            SourceFuture::pending(async move {
                if let Ok(permit) = gate.acquire().await {
                    permit.forget();
                }
                Ok(size)
            })
        }
    }
    let mut inner = MemorySource::default();
    let cid = inner.add(Bytes::from(vec![5u8; 3000]));
    let source = SlowSize {
        inner,
        gate: Arc::new(Semaphore::new(0)),
        asked: Default::default(),
    };
    let (gate, log) = (Arc::clone(&source.gate), Arc::clone(&source.asked));
    let ledger = Server::new(Arc::new(source), one_by_one()).peer(Protocol::V120);
    ledger
        .receive(&wants(vec![Entry::want_have(cid, 1, false)]))
        .unwrap();
    let building = tokio::spawn({
        let ledger = ledger.clone();
        async move { ledger.next_message().await }
    });
    asked(&log, 1).await;
    ledger
        .receive(&wants(vec![Entry::want_block(cid, 1, false)]))
        .unwrap();
    assert_eq!(ledger.wantlist(), [(cid, WantType::Block)]);
    gate.add_permits(1);
    let message = tokio::time::timeout(Duration::from_secs(5), building)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(presences(&message, PresenceType::Have), [cid]);
    let message = next(&ledger).await;
    assert_eq!(block_cids(&message), [cid]);
}

#[tokio::test]
async fn a_peer_sending_ten_thousand_wants_gets_the_cap() {
    let server = server(MemorySource::default(), ServerConfig::default());
    let cap = server.config().max_wantlist_entries;
    assert_eq!(cap, 1024);
    let many = wants(
        (0..10_000)
            .map(|i| Entry::want_have(absent(i), 1, true))
            .collect(),
    );

    // Through the ledger: only the cap is kept, the rest counted.
    let ledger = server.peer(Protocol::V120);
    ledger.receive(&many).unwrap();
    assert_eq!(ledger.wantlist_len(), cap);
    assert_eq!(ledger.dropped_wants(), 10_000 - cap as u64);
    // More messages do not grow it.
    ledger
        .receive(&wants(
            (10_000..12_000)
                .map(|i| Entry::want_have(absent(i), 1, true))
                .collect(),
        ))
        .unwrap();
    assert_eq!(ledger.wantlist_len(), cap);
    // The first wants are the ones kept.
    assert_eq!(ledger.wantlist()[0].0, absent(0));
    assert_eq!(ledger.wantlist()[cap - 1].0, absent(cap as u32 - 1));

    // Over a stream: exactly `cap` DONT_HAVEs come back.
    let (got, result) = exchange(&server, Protocol::V120, &[many]).await;
    result.unwrap();
    let dont_haves: HashSet<Cid> = got
        .iter()
        .flat_map(|m| presences(m, PresenceType::DontHave))
        .collect();
    assert_eq!(dont_haves.len(), cap);
    assert_eq!(
        got.iter().map(|m| m.presences.len()).sum::<usize>(),
        cap,
        "each answered once"
    );
    assert!(dont_haves.contains(&absent(0)) && !dont_haves.contains(&absent(cap as u32)));
    // And in messages of about the target size, not one huge one.
    assert!(got.len() > 1);
    for message in &got {
        assert!(message.encoded_len(Protocol::V120) < 16 * 1024 + 100);
    }
}

#[tokio::test]
async fn messages_are_batched_up_to_the_target_size() {
    let mut source = MemorySource::default();
    let cids: Vec<Cid> = (0..20u8)
        .map(|i| source.add(Bytes::from(vec![i; 4000])))
        .collect();
    let ledger = server(source, ServerConfig::default()).peer(Protocol::V120);
    ledger
        .receive(&wants(
            cids.iter()
                .map(|cid| Entry::want_block(*cid, 1, false))
                .collect(),
        ))
        .unwrap();
    ledger.finish();
    let mut sent = Vec::new();
    while let Some(message) = ledger.next_message().await {
        // Filled past 16 KiB by its last block, never more.
        let len = message.encoded_len(Protocol::V120);
        assert!((16 * 1024..16 * 1024 + 4100).contains(&len), "{len}");
        assert_eq!(message.blocks.len(), 5);
        sent.extend(block_cids(&message));
    }
    // Same priority: first come, first served.
    assert_eq!(sent, cids);
}

#[tokio::test]
async fn blocks_too_large_for_any_message_are_treated_as_absent() {
    let mut source = MemorySource::default();
    let huge = source.add(Bytes::from(vec![0u8; MAX_MESSAGE_SIZE - 100]));
    let fits = source.add(Bytes::from(vec![1u8; 2 << 20]));
    let ledger = server(source, ServerConfig::default()).peer(Protocol::V120);
    ledger
        .receive(&wants(vec![
            Entry::want_block(huge, 1, true),
            Entry::want_block(fits, 1, true),
        ]))
        .unwrap();
    let message = next(&ledger).await;
    assert_eq!(presences(&message, PresenceType::DontHave), [huge]);
    assert_eq!(block_cids(&message), [fits]);
    assert!(message.encoded_len(Protocol::V120) <= MAX_MESSAGE_SIZE);
    ledger
        .receive(&wants(vec![Entry::want_have(huge, 1, true)]))
        .unwrap();
    assert_eq!(
        presences(&next(&ledger).await, PresenceType::DontHave),
        [huge]
    );
}

#[tokio::test]
async fn store_errors_are_answered_as_absent() {
    let mut source = MemorySource::with(&[b"ok"]);
    source.failing.insert(absent(1));
    source.failing.insert(absent(2));
    let ledger = server(source, ServerConfig::default()).peer(Protocol::V120);
    ledger
        .receive(&wants(vec![
            Entry::want_block(absent(1), 1, true),
            Entry::want_have(absent(2), 1, true),
            Entry::want_block(cid_of(b"ok"), 1, true),
        ]))
        .unwrap();
    let message = next(&ledger).await;
    assert_eq!(block_cids(&message), [cid_of(b"ok")]);
    assert_eq!(
        presences(&message, PresenceType::DontHave),
        [absent(1), absent(2)]
    );
}

#[tokio::test]
async fn older_protocols_get_blocks_and_no_presences() {
    let big = vec![4u8; 3000];
    let source = MemorySource::with(&[b"small", &big]);
    let server = server(source, ServerConfig::default());
    let message = wants(vec![
        // A want-have from an old peer is a want-block: it has no HAVE to receive.
        Entry::want_have(cid_of(&big), 1, true),
        Entry::want_block(cid_of(b"small"), 1, true),
        Entry::want_block(absent(1), 1, true),
    ]);

    let (got, result) = exchange(&server, Protocol::V100, std::slice::from_ref(&message)).await;
    result.unwrap();
    let legacy: Vec<Bytes> = got.iter().flat_map(|m| m.legacy_blocks.clone()).collect();
    assert!(got
        .iter()
        .all(|m| m.blocks.is_empty() && m.presences.is_empty()));
    assert_eq!(legacy.len(), 2);
    let matched = verify_legacy_blocks(&legacy, &[cid_of(&big), cid_of(b"small")]);
    assert_eq!(matched.len(), 2);

    let (got, result) = exchange(&server, Protocol::V110, &[message]).await;
    result.unwrap();
    let mut blocks: Vec<Cid> = got.iter().flat_map(block_cids).collect();
    blocks.sort();
    let mut expected = vec![cid_of(&big), cid_of(b"small")];
    expected.sort();
    assert_eq!(blocks, expected);
    assert!(got
        .iter()
        .all(|m| m.presences.is_empty() && m.legacy_blocks.is_empty()));
}

#[tokio::test]
async fn bad_messages_end_serving_and_close_the_stream() {
    let server = server(MemorySource::with(&[b"a"]), ServerConfig::default());

    /// Serves one stream; the client sends `bytes` and keeps its side open. Returns the
    /// server's result and what the client then reads (nothing: the stream closed).
    async fn serve_raw(server: &Server, bytes: &[u8]) -> (Result<(), Error>, Vec<u8>) {
        let (mut client, remote) = tokio::io::duplex(1 << 16);
        let ledger = server.peer(Protocol::V120);
        let serving = tokio::spawn(async move {
            let (reader, writer) = tokio::io::split(remote);
            ledger.serve(reader, writer).await
        });
        client.write_all(bytes).await.unwrap();
        let result = tokio::time::timeout(Duration::from_secs(5), serving)
            .await
            .expect("serving ends without the client closing")
            .unwrap();
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut rest))
            .await
            .expect("the stream is closed")
            .unwrap();
        (result, rest)
    }

    // A length prefix over 4 MiB: refused before any body arrives.
    let mut prefix = Vec::new();
    crate::ipld::varint::put(&mut prefix, (MAX_MESSAGE_SIZE + 1) as u64);
    let (result, rest) = serve_raw(&server, &prefix).await;
    assert!(
        matches!(result, Err(Error::MessageTooLarge { .. })),
        "{result:?}"
    );
    assert!(rest.is_empty());

    // A body that is not a message, after a good one.
    let mut bytes = Vec::new();
    write_message(
        &mut bytes,
        &wants(vec![Entry::want_block(cid_of(b"a"), 1, false)]),
        Protocol::V120,
    )
    .await
    .unwrap();
    bytes.extend([0x03, 0x0a, 0x05, 0x00]);
    let (result, _) = serve_raw(&server, &bytes).await;
    assert!(matches!(result, Err(Error::Malformed { .. })), "{result:?}");

    // A want for an identity CID.
    let identity = Cid::new_v1(0x55, Multihash::wrap(0, b"inline").unwrap());
    let mut bytes = Vec::new();
    write_message(
        &mut bytes,
        &wants(vec![Entry::want_block(identity, 1, true)]),
        Protocol::V120,
    )
    .await
    .unwrap();
    let (result, rest) = serve_raw(&server, &bytes).await;
    assert!(
        matches!(result, Err(Error::IdentityWant(c)) if c == identity),
        "{result:?}"
    );
    assert!(rest.is_empty());
}

#[tokio::test]
async fn an_identity_want_changes_nothing() {
    let ledger = server(MemorySource::with(&[b"a"]), ServerConfig::default()).peer(Protocol::V120);
    let identity = Cid::new_v1(0x55, Multihash::wrap(0, b"inline").unwrap());
    let e = ledger
        .receive(&wants(vec![
            Entry::want_block(cid_of(b"a"), 1, false),
            Entry::want_block(identity, 1, false),
        ]))
        .unwrap_err();
    assert!(matches!(e, Error::IdentityWant(_)));
    assert_eq!(ledger.wantlist_len(), 0);
}

#[tokio::test]
async fn peers_take_turns_building_messages() {
    let mut source = MemorySource::with(&[b"a1", b"a2", b"b1"]);
    for data in [b"a1", b"a2", b"b1"] {
        source.gated.insert(cid_of(data));
    }
    let gate = Arc::clone(&source.gate);
    let log = Arc::clone(&source.asked);
    let server = server(
        source,
        ServerConfig {
            concurrent_builds: 1,
            target_message_size: 1,
            ..ServerConfig::default()
        },
    );
    let a = server.peer(Protocol::V120);
    let b = server.peer(Protocol::V120);
    a.receive(&wants(vec![
        Entry::want_block(cid_of(b"a1"), 1, false),
        Entry::want_block(cid_of(b"a2"), 1, false),
    ]))
    .unwrap();
    b.receive(&wants(vec![Entry::want_block(cid_of(b"b1"), 1, false)]))
        .unwrap();
    let spawn = |ledger: &PeerLedger| {
        let ledger = ledger.clone();
        tokio::spawn(async move { ledger.next_message().await })
    };
    // A builds first and holds the one turn while its block is read.
    let a_first = spawn(&a);
    assert_eq!(asked(&log, 1).await, [cid_of(b"a1")]);
    // B waits for the turn: nothing of B is read meanwhile.
    let b_first = spawn(&b);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(log.lock().unwrap().len(), 1);
    // A's first message is done; A asks again at once, but B was waiting first.
    gate.add_permits(1);
    let message = a_first.await.unwrap().unwrap();
    assert_eq!(block_cids(&message), [cid_of(b"a1")]);
    let a_second = spawn(&a);
    assert_eq!(asked(&log, 2).await[1], cid_of(b"b1"));
    gate.add_permits(1);
    assert_eq!(
        block_cids(&b_first.await.unwrap().unwrap()),
        [cid_of(b"b1")]
    );
    assert_eq!(asked(&log, 3).await[2], cid_of(b"a2"));
    gate.add_permits(1);
    assert_eq!(
        block_cids(&a_second.await.unwrap().unwrap()),
        [cid_of(b"a2")]
    );
}

#[tokio::test]
async fn finish_and_close_end_the_answers() {
    let source = MemorySource::with(&[b"a", b"b"]);
    let server = server(source, one_by_one());
    // Finishing: what is queued is still answered, then `None`.
    let ledger = server.peer(Protocol::V120);
    ledger
        .receive(&wants(vec![
            Entry::want_block(cid_of(b"a"), 1, false),
            Entry::want_block(cid_of(b"b"), 1, false),
        ]))
        .unwrap();
    ledger.finish();
    assert_eq!(block_cids(&next(&ledger).await), [cid_of(b"a")]);
    assert_eq!(block_cids(&next(&ledger).await), [cid_of(b"b")]);
    assert!(ledger.next_message().await.is_none());

    // Closing: the wants are dropped, a waiting builder wakes with `None`, and later wants
    // are ignored.
    let ledger = server.peer(Protocol::V120);
    let waiting = tokio::spawn({
        let ledger = ledger.clone();
        async move { ledger.next_message().await }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    ledger
        .receive(&wants(vec![Entry::want_block(absent(1), 1, false)]))
        .unwrap();
    ledger.close();
    let woke = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .unwrap()
        .unwrap();
    assert!(woke.is_none());
    ledger
        .receive(&wants(vec![Entry::want_block(cid_of(b"a"), 1, false)]))
        .unwrap();
    assert_eq!(ledger.wantlist_len(), 0);
    assert!(ledger.next_message().await.is_none());
}

#[tokio::test]
async fn closing_during_a_read_drops_the_answer() {
    let mut source = MemorySource::with(&[b"slow"]);
    source.gated.insert(cid_of(b"slow"));
    let gate = Arc::clone(&source.gate);
    let log = Arc::clone(&source.asked);
    let ledger = server(source, ServerConfig::default()).peer(Protocol::V120);
    ledger
        .receive(&wants(vec![Entry::want_block(cid_of(b"slow"), 1, true)]))
        .unwrap();
    let building = tokio::spawn({
        let ledger = ledger.clone();
        async move { ledger.next_message().await }
    });
    asked(&log, 1).await;
    ledger.close();
    assert_eq!(ledger.wantlist_len(), 0);
    gate.add_permits(1);
    let got = tokio::time::timeout(Duration::from_secs(5), building)
        .await
        .unwrap()
        .unwrap();
    assert!(got.is_none(), "{got:?}");
}
