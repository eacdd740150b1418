//! Fetches every path in a file exactly once from a gateway on loopback, with N concurrent
//! keep-alive clients, and prints the rate and the latency percentiles. For cold-content
//! benchmarks (scripts/retrieval-compare.py): each path is asked once, so every request
//! is a miss on a gateway that started empty — which `wrk` cannot do (it picks up a new
//! request whenever a connection frees, and drops one on a reconnect).
//!
//! Usage: cold_fetch --addr 127.0.0.1:8080 --paths FILE [--clients 64]
//! Prints: `cold-fetch: requests=N failed=F seconds=S rps=R p50_ms=… p99_ms=… max_ms=…`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let (Some(addr), Some(paths)) = (flag("--addr"), flag("--paths")) else {
        eprintln!("usage: cold_fetch --addr 127.0.0.1:8080 --paths FILE [--clients 64]");
        std::process::exit(2);
    };
    let ip: std::net::SocketAddr = addr.parse().expect("--addr is IP:PORT");
    assert!(
        ip.ip().is_loopback(),
        "only loopback addresses are fetched from"
    );
    let clients: usize = flag("--clients").map_or(64, |c| c.parse().expect("--clients"));
    let paths: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(&paths)
            .expect("read --paths")
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(clients)
            .build_http();
        let next = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let workers: Vec<_> = (0..clients)
            .map(|_| {
                let (client, paths, next, failed) = (
                    client.clone(),
                    Arc::clone(&paths),
                    Arc::clone(&next),
                    Arc::clone(&failed),
                );
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = paths.get(i) else {
                            return latencies;
                        };
                        let uri: hyper::Uri = format!("http://{ip}{path}").parse().unwrap();
                        let at = Instant::now();
                        let ok = match client.get(uri).await {
                            Ok(response) => {
                                let status = response.status();
                                let body = response.into_body().collect().await;
                                status == 200 && body.is_ok()
                            }
                            Err(_) => false,
                        };
                        latencies.push(at.elapsed());
                        if !ok {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        let mut latencies: Vec<Duration> = Vec::new();
        for worker in workers {
            latencies.extend(worker.await.unwrap());
        }
        let seconds = started.elapsed().as_secs_f64();
        latencies.sort_unstable();
        let at = |q: f64| {
            let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len());
            latencies[i - 1].as_secs_f64() * 1e3
        };
        println!(
            "cold-fetch: requests={} failed={} seconds={seconds:.3} rps={:.0} p50_ms={:.1} p99_ms={:.1} max_ms={:.1}",
            latencies.len(),
            failed.load(Ordering::Relaxed),
            latencies.len() as f64 / seconds,
            at(0.50),
            at(0.99),
            at(1.0),
        );
    });
}
