//! The GET hot path, in-process: routing, format negotiation, resolution, headers and body
//! production for a cached small file, a range inside a multi-block file, directory
//! listings, and the trustless formats (a raw block through a HAMT path, a whole CAR).

mod support;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use http::Method;
use std::hint::black_box;

use support::{copy, drain, get, respond, DIR_LISTING, DIR_WITH_FILES, HAMT_DIR};

fn hot_path(c: &mut Criterion) {
    let data = tempfile::tempdir().unwrap();
    let gateway = support::gateway(data.path());
    let mut group = c.benchmark_group("get");

    let small = get(&format!("/ipfs/{DIR_WITH_FILES}/hello.txt"), &[]);
    group.throughput(Throughput::Elements(1));
    group.bench_function("small_file_cached", |b| {
        b.iter_batched(
            || copy(&small),
            |r| drain(respond(&gateway, black_box(r)).into_body()),
            BatchSize::SmallInput,
        )
    });

    // The same with the request counted (`--metrics`): the difference is what counting costs.
    let counted_data = tempfile::tempdir().unwrap();
    let counting = support::gateway(counted_data.path()).with_metrics(std::sync::Arc::new(
        cairn::http::metrics::GatewayMetrics::default(),
    ));
    group.bench_function("small_file_cached_metrics", |b| {
        b.iter_batched(
            || copy(&small),
            |r| drain(respond(&counting, black_box(r)).into_body()),
            BatchSize::SmallInput,
        )
    });

    let range = get(
        &format!("/ipfs/{DIR_WITH_FILES}/multiblock.txt"),
        &[("Range", "bytes=300-700")],
    );
    group.bench_function("range_multiblock", |b| {
        b.iter_batched(
            || copy(&range),
            |r| drain(respond(&gateway, black_box(r)).into_body()),
            BatchSize::SmallInput,
        )
    });

    let conditional = get(
        &format!("/ipfs/{DIR_WITH_FILES}/hello.txt"),
        &[(
            "If-None-Match",
            "\"bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4\"",
        )],
    );
    group.bench_function("not_modified", |b| {
        b.iter_batched(
            || copy(&conditional),
            |r| drain(respond(&gateway, black_box(r)).into_body()),
            BatchSize::SmallInput,
        )
    });

    let listing = get(&format!("/ipfs/{DIR_LISTING}/"), &[("Accept", "text/html")]);
    group.bench_function("listing_html_small", |b| {
        b.iter_batched(
            || copy(&listing),
            |r| drain(respond(&gateway, black_box(r)).into_body()),
            BatchSize::SmallInput,
        )
    });
    let hamt = get(&format!("/ipfs/{HAMT_DIR}/"), &[("Accept", "text/html")]);
    group.bench_function("listing_html_hamt", |b| {
        b.iter_batched(
            || copy(&hamt),
            |r| drain(respond(&gateway, black_box(r)).into_body()),
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("trustless");
    let raw = get(&format!("/ipfs/{HAMT_DIR}/685.txt?format=raw"), &[]);
    group.bench_function("raw_block_through_hamt_path", |b| {
        b.iter_batched(
            || copy(&raw),
            |r| drain(respond(&gateway, black_box(r)).into_body()),
            BatchSize::SmallInput,
        )
    });
    let car = get(&format!("/ipfs/{HAMT_DIR}?format=car"), &[]);
    let car_bytes = drain(respond(&gateway, copy(&car)).into_body());
    group.throughput(Throughput::Bytes(car_bytes));
    group.bench_function("car_of_hamt_directory", |b| {
        b.iter_batched(
            || copy(&car),
            |r| drain(respond(&gateway, black_box(r)).into_body()),
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("negotiate");
    let browser = get(
        "/",
        &[(
            "Accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8",
        )],
    );
    group.bench_function("browser_accept", |b| {
        b.iter(|| cairn::gateway::format::negotiate(None, black_box(browser.headers())).is_ok())
    });
    let car_accept = get(
        "/",
        &[(
            "Accept",
            "application/vnd.ipld.car; version=1; order=dfs; dups=y",
        )],
    );
    group.bench_function("car_accept_with_params", |b| {
        b.iter(|| {
            cairn::gateway::format::negotiate(
                Some("dag-scope=entity"),
                black_box(car_accept.headers()),
            )
            .is_ok()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("router");
    group.bench_function("ipfs_read", |b| {
        b.iter(|| {
            cairn::http::router::route(
                black_box(&Method::GET),
                black_box("/ipfs/bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy/a/b"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
