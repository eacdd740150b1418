//! The hand-written streaming multipart parser next to the multer crate on the same bodies
//! (many small parts, one large part, mixed), fed in 64 KiB chunks.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use cairn::http::multipart::{Event, Limits, MultipartParser};

const BOUNDARY: &str = "------------------------cairnbenchboundary";

fn body(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in parts {
        out.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

fn chunks(body: &Bytes) -> Vec<Bytes> {
    (0..body.len())
        .step_by(64 << 10)
        .map(|at| body.slice(at..(at + (64 << 10)).min(body.len())))
        .collect()
}

fn cairn_parse(pieces: &[Bytes]) -> u64 {
    let mut parser = MultipartParser::new(
        BOUNDARY,
        Limits {
            max_parts: 1_000_000,
            ..Limits::default()
        },
    )
    .unwrap();
    let mut total = 0u64;
    let mut drain = |parser: &mut MultipartParser| {
        while let Some(event) = parser.next().unwrap() {
            if let Event::Data(d) = event {
                total += d.len() as u64;
            }
        }
    };
    for piece in pieces {
        parser.push(piece.clone());
        drain(&mut parser);
    }
    parser.finish();
    drain(&mut parser);
    total
}

fn multer_parse(runtime: &tokio::runtime::Runtime, pieces: &[Bytes]) -> u64 {
    let stream = futures_util::stream::iter(
        pieces
            .iter()
            .cloned()
            .map(Ok::<Bytes, std::io::Error>)
            .collect::<Vec<_>>(),
    );
    runtime.block_on(async move {
        let mut multipart = multer::Multipart::new(stream, BOUNDARY);
        let mut total = 0u64;
        while let Some(mut field) = multipart.next_field().await.unwrap() {
            while let Some(chunk) = field.chunk().await.unwrap() {
                total += chunk.len() as u64;
            }
        }
        total
    })
}

fn multipart(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let small: Vec<(String, Vec<u8>)> = (0..10_000)
        .map(|i| (format!("dir%2Ffile-{i}.txt"), vec![b'x'; 300]))
        .collect();
    let large = vec![("big.bin".to_owned(), vec![7u8; 64 << 20])];
    let mut mixed: Vec<(String, Vec<u8>)> = (0..200)
        .map(|i| (format!("f{i}"), vec![b'y'; 4096]))
        .collect();
    mixed.push(("m.bin".into(), vec![3u8; 16 << 20]));
    let mut group = c.benchmark_group("multipart");
    group.sample_size(10);
    for (label, parts) in [
        ("small_parts", small),
        ("one_large_part", large),
        ("mixed", mixed),
    ] {
        let body = Bytes::from(body(&parts));
        let pieces = chunks(&body);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(format!("cairn/{label}"), |b| {
            b.iter(|| cairn_parse(&pieces))
        });
        group.bench_function(format!("multer/{label}"), |b| {
            b.iter(|| multer_parse(&runtime, &pieces))
        });
    }
    group.finish();
}

criterion_group!(benches, multipart);
criterion_main!(benches);
