//! Pubsub fan-out throughput, in deliveries (one message reaching one subscriber) per second:
//! the bus alone (publish, then every subscriber drains), the same with subscribers as tasks on
//! a two-worker runtime (wake-ups included), and the bus plus SSE event encoding.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use http_body::Body as _;

use cairn::gateway::pubsub::{EventStream, Format};
use cairn::services::pubsub::{LocalBus, Received};

const PEER: &str = "12D3KooWGzBRkDP1B1Qw1sSeXSDR2qZgGQwtgHgLBiaQTPjbbmNh";
const MESSAGES: usize = 1_000;
const PAYLOAD: &[u8] = &[b'x'; 64];

fn fan_out(c: &mut Criterion) {
    let mut group = c.benchmark_group("pubsub_fanout");
    group.measurement_time(Duration::from_secs(5));
    group.sample_size(20);
    let payload = Bytes::from_static(PAYLOAD);

    for subscribers in [10usize, 200] {
        group.throughput(Throughput::Elements((subscribers * MESSAGES) as u64));

        // The bus alone: publish a batch, then each subscriber drains it (no runtime).
        group.bench_with_input(
            BenchmarkId::new("bus", subscribers),
            &subscribers,
            |b, &n| {
                let bus = LocalBus::with_buffer(PEER, MESSAGES);
                let mut subs: Vec<_> = (0..n).map(|_| bus.subscribe("t").unwrap()).collect();
                let mut cx = Context::from_waker(Waker::noop());
                b.iter(|| {
                    for _ in 0..MESSAGES {
                        bus.publish("t", payload.clone()).unwrap();
                    }
                    for sub in &mut subs {
                        for _ in 0..MESSAGES {
                            match sub.poll_recv(&mut cx) {
                                Poll::Ready(Some(Received::Message(_))) => {}
                                other => panic!("{other:?}"),
                            }
                        }
                    }
                })
            },
        );

        // Subscribers as tasks on a two-worker runtime: publishing wakes them.
        group.bench_with_input(
            BenchmarkId::new("bus_tasks", subscribers),
            &subscribers,
            |b, &n| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .build()
                    .unwrap();
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let bus = Arc::new(LocalBus::with_buffer(PEER, MESSAGES));
                        let tasks: Vec<_> = (0..n)
                            .map(|_| {
                                let mut sub = bus.subscribe("t").unwrap();
                                runtime.spawn(async move {
                                    for _ in 0..MESSAGES {
                                        match sub.recv().await {
                                            Some(Received::Message(_)) => {}
                                            other => panic!("{other:?}"),
                                        }
                                    }
                                })
                            })
                            .collect();
                        let start = Instant::now();
                        let bus2 = Arc::clone(&bus);
                        let payload = payload.clone();
                        runtime.block_on(async move {
                            for i in 0..MESSAGES {
                                bus2.publish("t", payload.clone()).unwrap();
                                if i % 64 == 63 {
                                    tokio::task::yield_now().await;
                                }
                            }
                            for task in tasks {
                                task.await.unwrap();
                            }
                        });
                        total += start.elapsed();
                    }
                    total
                })
            },
        );

        // The bus and the SSE body: each delivery encoded as an event (base64 data).
        group.bench_with_input(
            BenchmarkId::new("bus_sse_encode", subscribers),
            &subscribers,
            |b, &n| {
                let bus = LocalBus::with_buffer(PEER, MESSAGES);
                let mut bodies: Vec<_> = (0..n)
                    .map(|_| {
                        EventStream::new(
                            bus.subscribe("t").unwrap(),
                            Format::Base64,
                            Duration::from_secs(15),
                        )
                    })
                    .collect();
                let mut cx = Context::from_waker(Waker::noop());
                b.iter(|| {
                    for _ in 0..MESSAGES {
                        bus.publish("t", payload.clone()).unwrap();
                    }
                    for body in &mut bodies {
                        let mut bytes = 0;
                        while let Poll::Ready(Some(frame)) =
                            Pin::new(&mut *body).poll_frame(&mut cx)
                        {
                            bytes += frame.unwrap().into_data().unwrap().len();
                        }
                        assert!(bytes > MESSAGES * PAYLOAD.len());
                    }
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, fan_out);
criterion_main!(benches);
