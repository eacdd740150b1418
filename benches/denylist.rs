//! Denylist checks and loading with 100,000-entry lists (issue 17: at most ~1 µs per request
//! check, loaded in under a second). Two lists: a mixed one (CIDs, paths and prefixes,
//! DNSLink names, legacy and multihash double hashes) and a Bad Bits-like one (every entry a
//! legacy double hash, the form of the public badbits list). A request on the gateway costs
//! one path check (`check_ipfs`), and one `check_cid` per block it reads (CID verdicts are
//! remembered until the lists change: `_uncached` is the cost of computing one).

use cid::Cid;
use criterion::{criterion_group, criterion_main, Criterion};
use multihash_codetable::{Code, MultihashDigest};
use sha2::Digest;
use std::hint::black_box;

use cairn::services::denylist::Denylist;

const ENTRIES: usize = 100_000;

fn cid(i: usize) -> Cid {
    Cid::new_v1(0x70, Code::Sha2_256.digest(format!("entry {i}").as_bytes()))
}

fn hex_double_hash(cid: &Cid, path: &str) -> String {
    let digest = sha2::Sha256::digest(format!("{cid}/{path}").as_bytes());
    format!("//{}", data_encoding::HEXLOWER.encode(&digest))
}

fn b58_double_hash(key: &str) -> String {
    let digest = Code::Sha2_256.digest(key.as_bytes());
    format!("//{}", bs58::encode(digest.to_bytes()).into_string())
}

/// 100,000 rules of every kind: 60% CIDs, 10% paths, 5% prefixes, 5% names, 15% legacy and
/// 5% multihash double hashes.
fn mixed_list() -> String {
    let mut text = String::from("version: 1\nname: mixed\n---\n");
    for i in 0..ENTRIES {
        let c = cid(i);
        let line = match i % 20 {
            0..12 => format!("/ipfs/{c}"),
            12 | 13 => format!("/ipfs/{c}/some/path/{i}.html"),
            14 => format!("/ipfs/{c}/prefix*"),
            15 => format!("/ipns/site-{i}.example.org"),
            16..19 => hex_double_hash(&c, ""),
            _ => b58_double_hash(&bs58::encode(c.hash().to_bytes()).into_string()),
        };
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// 100,000 legacy double hashes, as the Bad Bits list is written.
fn badbits_list() -> String {
    let mut text = String::from("version: 1\nname: badbits-like\n---\n");
    for i in 0..ENTRIES {
        text.push_str(&hex_double_hash(&cid(i), ""));
        text.push('\n');
    }
    text
}

fn checks(c: &mut Criterion) {
    let mut group = c.benchmark_group("denylist");
    let missing = cid(ENTRIES + 1);
    let blocked = cid(0);
    let empty = Denylist::empty();
    group.bench_function("check_ipfs/no_lists", |b| {
        b.iter(|| empty.check_ipfs(black_box(&missing), black_box(&["a", "b.html"])))
    });
    for (name, text) in [
        ("mixed_100k", mixed_list()),
        ("badbits_100k", badbits_list()),
    ] {
        let list = Denylist::from_text(name, text.as_bytes()).unwrap();
        assert_eq!(list.size().1, ENTRIES);
        assert!(list.check_cid(&cid(17)).is_some(), "a double hash matches");
        // The same CID again: its remembered verdict.
        group.bench_function(format!("{name}/check_cid_miss"), |b| {
            b.iter(|| list.check_cid(black_box(&missing)))
        });
        // A new CID each time (far more than are remembered): the verdict computed.
        let fresh: Vec<Cid> = (0..64 * 1024).map(|i| cid(ENTRIES + 10 + i)).collect();
        let mut next = 0;
        group.bench_function(format!("{name}/check_cid_miss_uncached"), |b| {
            b.iter(|| {
                next = (next + 1) % fresh.len();
                list.check_cid(black_box(&fresh[next]))
            })
        });
        group.bench_function(format!("{name}/check_cid_hit"), |b| {
            b.iter(|| list.check_cid(black_box(&blocked)))
        });
        group.bench_function(format!("{name}/check_ipfs_path_miss"), |b| {
            b.iter(|| list.check_ipfs(black_box(&missing), black_box(&["docs", "index.html"])))
        });
        group.bench_function(format!("{name}/check_ipns_miss"), |b| {
            b.iter(|| list.check_ipns(black_box("docs.ipfs.tech"), black_box(&["index.html"])))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("denylist_load");
    group.sample_size(10);
    for (name, text) in [
        ("mixed_100k", mixed_list()),
        ("badbits_100k", badbits_list()),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| Denylist::from_text(name, black_box(text.as_bytes())).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, checks);
criterion_main!(benches);
