//! Import throughput (chunk + hash + encode, no storage): Kubo's default settings and
//! CIDv1 raw leaves, on pseudo-random data, next to plain SHA-256 of the same bytes.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sha2::Digest;
use std::hint::black_box;

use cairn::services::add::file::import_file;
use cairn::services::add::{DiscardSink, ImportParams, Metadata};

fn data(len: usize) -> Bytes {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

fn import(c: &mut Criterion) {
    let input = data(64 << 20);
    let mut group = c.benchmark_group("import");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.sample_size(10);
    for (label, params) in [
        ("kubo_default_v0", ImportParams::default()),
        ("cid_v1_raw_leaves", ImportParams::cid_v1()),
        ("unixfs_v1_2025", ImportParams::unixfs_v1_2025()),
    ] {
        group.bench_function(label, |b| {
            b.iter(|| {
                // Pushed in 1 MiB pieces, as `cairn add` reads files.
                let pieces = (0..input.len())
                    .step_by(1 << 20)
                    .map(|at| input.slice(at..(at + (1 << 20)).min(input.len())));
                import_file(&params, Metadata::default(), pieces, &mut DiscardSink).unwrap()
            })
        });
    }
    group.bench_function("sha256_only", |b| {
        b.iter(|| sha2::Sha256::digest(black_box(&input[..])))
    });
    group.finish();
}

criterion_group!(benches, import);
criterion_main!(benches);
