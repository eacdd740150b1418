//! Parsers and codecs on the hot paths: Range parsing and planning, If-None-Match
//! evaluation, dag-pb decode (eager and lazy) and encode, CAR read and write.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

use cairn::http::{conditional, range};
use cairn::ipld::{car, dagpb};

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/gateway-conformance")
            .join(path),
    )
    .unwrap()
}

fn http_headers(c: &mut Criterion) {
    let mut group = c.benchmark_group("headers");
    for (label, header) in [
        ("range_single", &b"bytes=700000000-700065535"[..]),
        ("range_multi", &b"bytes=0-99, 200-299, -500"[..]),
    ] {
        group.bench_function(label, |b| {
            b.iter(|| match range::parse_range(black_box(header)) {
                Ok(range::RangeRequest::Bytes(set)) => set.plan(black_box(1 << 30)),
                _ => range::RangePlan::Full,
            })
        });
    }
    let etag = "\"bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4\"";
    let list = format!("\"a\", W/\"b\", {etag}");
    group.bench_function("if_none_match_list", |b| {
        b.iter(|| conditional::if_none_match(black_box(list.as_bytes()), black_box(etag)))
    });
    group.finish();
}

fn dag_pb(c: &mut Criterion) {
    // The HAMT fixture's root shard: 256-way, many links.
    let mut decoder = car::CarDecoder::new(car::CarLimits::default());
    decoder.push(Bytes::from(fixture(
        "trustless_gateway_car/single-layer-hamt-with-multi-block-files.car",
    )));
    decoder.finish();
    let mut biggest = Bytes::new();
    while let Ok(Some(event)) = decoder.next() {
        if let car::CarEvent::Block { cid, data } = event {
            if cid.codec() == 0x70 && data.len() > biggest.len() {
                biggest = data;
            }
        }
    }
    let node = dagpb::decode(&biggest).unwrap();
    let mut group = c.benchmark_group("dag_pb");
    group.throughput(Throughput::Bytes(biggest.len() as u64));
    group.bench_function("decode", |b| b.iter(|| dagpb::decode(black_box(&biggest))));
    group.bench_function("decode_lazily_scan", |b| {
        b.iter(|| {
            dagpb::decode_lazily(black_box(&biggest))
                .unwrap()
                .links
                .filter_map(Result::ok)
                .count()
        })
    });
    group.bench_function("encode", |b| b.iter(|| black_box(&node).to_bytes()));
    group.finish();
}

fn car_rw(c: &mut Criterion) {
    let bytes = Bytes::from(fixture(
        "trustless_gateway_car/single-layer-hamt-with-multi-block-files.car",
    ));
    let mut group = c.benchmark_group("car");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("read", |b| {
        b.iter(|| {
            let mut decoder = car::CarDecoder::new(car::CarLimits::default());
            decoder.push(bytes.clone());
            decoder.finish();
            let mut blocks = Vec::new();
            while let Ok(Some(event)) = decoder.next() {
                if let car::CarEvent::Block { cid, data } = event {
                    blocks.push((cid, data));
                }
            }
            blocks
        })
    });
    let mut decoder = car::CarDecoder::new(car::CarLimits::default());
    decoder.push(bytes.clone());
    decoder.finish();
    let mut roots = Vec::new();
    let mut blocks = Vec::new();
    while let Ok(Some(event)) = decoder.next() {
        match event {
            car::CarEvent::Header { roots: r, .. } => roots = r,
            car::CarEvent::Block { cid, data } => blocks.push((cid, data)),
        }
    }
    group.bench_function("write", |b| {
        b.iter(|| {
            let mut out = car::v1_header(&roots);
            for (cid, data) in &blocks {
                car::section_prefix(cid, data.len(), &mut out);
                out.extend_from_slice(data);
            }
            out
        })
    });
    group.finish();
}

criterion_group!(benches, http_headers, dag_pb, car_rw);
criterion_main!(benches);
