//! `RemoteBlocks` against in-process gateways that behave well and badly.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use http::header;
use multihash_codetable::{Code, MultihashDigest};

use super::*;
use crate::ipld::car::{section_prefix, v1_header};
use crate::network::test_server::{body, TestServer, TEST_CA};

fn raw(data: &[u8]) -> (Cid, Bytes) {
    (
        Cid::new_v1(0x55, Code::Sha2_256.digest(data)),
        Bytes::copy_from_slice(data),
    )
}

fn options() -> RemoteOptions {
    RemoteOptions {
        timeout: Duration::from_secs(5),
        ..RemoteOptions::default()
    }
}

fn remote(servers: &[&TestServer], options: RemoteOptions) -> RemoteBlocks {
    RemoteBlocks::new(servers.iter().map(|s| s.endpoint()).collect(), options).unwrap()
}

/// A well-behaved trustless gateway over `blocks`: 200 with the block for
/// `/ipfs/{cid}?format=raw` (GET or HEAD), 404 otherwise. It records what it was asked.
async fn gateway(blocks: Vec<(Cid, Bytes)>) -> (TestServer, Arc<Mutex<Vec<String>>>) {
    let blocks: Arc<HashMap<String, Bytes>> = Arc::new(
        blocks
            .into_iter()
            .map(|(cid, data)| (v1_text(&cid).to_string(), data))
            .collect(),
    );
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&asked);
    let server = TestServer::start(move |request| {
        let blocks = Arc::clone(&blocks);
        let log = Arc::clone(&log);
        async move {
            let accept = request
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            log.lock().unwrap().push(format!(
                "{} {} accept={accept}",
                request.method(),
                request.uri()
            ));
            let found = request
                .uri()
                .path()
                .strip_prefix("/ipfs/")
                .filter(|_| request.uri().query() == Some("format=raw"))
                .and_then(|cid| blocks.get(cid));
            match found {
                Some(data) if request.method() == Method::HEAD => {
                    let mut r = body::full(StatusCode::OK, Bytes::new());
                    r.headers_mut()
                        .insert(header::CONTENT_LENGTH, data.len().into());
                    r
                }
                Some(data) => body::full(StatusCode::OK, data.clone()),
                None => body::full(StatusCode::NOT_FOUND, Bytes::new()),
            }
        }
    })
    .await;
    (server, asked)
}

/// A gateway answering every request with `status` and an empty body.
async fn status(status: StatusCode) -> TestServer {
    TestServer::start(move |_| async move { body::full(status, Bytes::new()) }).await
}

/// The outcomes of a failed `get`, by backend position.
fn outcomes(error: &store::Error) -> Vec<Outcome> {
    FetchError::of(error)
        .unwrap_or_else(|| panic!("not a remote fetch error: {error}"))
        .attempts
        .iter()
        .map(|a| a.outcome.clone())
        .collect()
}

#[tokio::test]
async fn a_block_is_fetched_raw_and_checked() {
    let (cid, data) = raw(b"hello remote");
    let (server, asked) = gateway(vec![(cid, data.clone())]).await;
    let source = remote(&[&server], options());
    assert_eq!(source.get(&cid).await.unwrap().unwrap(), data);
    assert_eq!(
        asked.lock().unwrap()[0],
        format!(
            "GET /ipfs/{}?format=raw accept=application/vnd.ipld.raw",
            v1_text(&cid)
        )
    );
    assert!(source.has(&cid).await.unwrap());
    assert!(asked.lock().unwrap()[1].starts_with("HEAD "));
    assert_eq!(source.size(&cid).await.unwrap(), Some(data.len() as u64));

    // A CIDv0 is asked as its CIDv1: the same block.
    let (pb_cid, pb) = (
        Cid::new_v0(Code::Sha2_256.digest(b"\x0a\x02\x08\x01")).unwrap(),
        Bytes::from_static(b"\x0a\x02\x08\x01"),
    );
    let (server, _) = gateway(vec![(Cid::new_v1(0x70, *pb_cid.hash()), pb.clone())]).await;
    assert_eq!(
        remote(&[&server], options())
            .get(&pb_cid)
            .await
            .unwrap()
            .unwrap(),
        pb
    );
}

#[tokio::test]
async fn absent_everywhere_is_none() {
    let (cid, _) = raw(b"nowhere");
    let (a, _) = gateway(Vec::new()).await;
    let b = status(StatusCode::GONE).await;
    let source = remote(&[&a, &b], options());
    assert_eq!(source.get(&cid).await.unwrap(), None);
    assert!(!source.has(&cid).await.unwrap());
    assert_eq!(source.size(&cid).await.unwrap(), None);
    assert_eq!((a.hits(), b.hits()), (3, 3));
}

#[tokio::test]
async fn a_wrong_block_is_refused_and_the_next_backend_asked() {
    let (cid, data) = raw(b"the right bytes");
    let liar = TestServer::start(|_| async move {
        body::full(StatusCode::OK, Bytes::from_static(b"the wrong bytes"))
    })
    .await;
    let (honest, _) = gateway(vec![(cid, data.clone())]).await;
    // The first request starts at the first backend: the liar.
    let source = remote(&[&liar, &honest], options());
    assert_eq!(source.get(&cid).await.unwrap().unwrap(), data);
    assert_eq!((liar.hits(), honest.hits()), (1, 1));

    // With only liars, the block is unavailable, and the error says why.
    let error = remote(&[&liar], options()).get(&cid).await.unwrap_err();
    assert_eq!(outcomes(&error), [Outcome::WrongBlock]);
    assert!(matches!(error, store::Error::Unavailable { cid: c, .. } if c == cid));
    let text = error.to_string();
    assert!(text.contains(&liar.endpoint().to_string()), "{text}");
    assert!(text.contains("does not match the CID"), "{text}");
}

#[tokio::test]
async fn server_errors_move_on_to_the_next_backend() {
    let (cid, data) = raw(b"five hundred");
    let broken = status(StatusCode::INTERNAL_SERVER_ERROR).await;
    let limited = status(StatusCode::TOO_MANY_REQUESTS).await;
    let (good, _) = gateway(vec![(cid, data.clone())]).await;
    let source = remote(&[&broken, &limited, &good], options());
    assert_eq!(source.get(&cid).await.unwrap().unwrap(), data);
    assert_eq!((broken.hits(), limited.hits(), good.hits()), (1, 1, 1));

    // A 404 from one and a 500 from another is not "absent": the 500 may have had it.
    let (empty, _) = gateway(Vec::new()).await;
    let error = remote(&[&empty, &broken], options())
        .get(&cid)
        .await
        .unwrap_err();
    assert_eq!(
        outcomes(&error),
        [
            Outcome::NotFound(StatusCode::NOT_FOUND),
            Outcome::Status(StatusCode::INTERNAL_SERVER_ERROR)
        ]
    );
}

#[tokio::test]
async fn a_slow_backend_times_out_and_the_next_is_asked() {
    let (cid, data) = raw(b"slow");
    let slow = TestServer::start(|_| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        body::full(StatusCode::OK, Bytes::new())
    })
    .await;
    // Answers the head at once, then never finishes the body.
    let stalling = TestServer::start(|_| async move { body::stalled(b"sl".to_vec()) }).await;
    let (good, _) = gateway(vec![(cid, data.clone())]).await;
    let timeout = Duration::from_millis(1000);
    let options = RemoteOptions {
        timeout,
        ..RemoteOptions::default()
    };
    let source = remote(&[&slow, &stalling, &good], options.clone());
    let started = std::time::Instant::now();
    assert_eq!(source.get(&cid).await.unwrap().unwrap(), data);
    assert!(started.elapsed() < Duration::from_secs(10));

    let error = remote(&[&slow, &stalling], options)
        .get(&cid)
        .await
        .unwrap_err();
    assert_eq!(
        outcomes(&error),
        [
            Outcome::Failed(RequestError::Timeout(timeout)),
            Outcome::Failed(RequestError::Timeout(timeout))
        ]
    );
    assert!(FetchError::of(&error).unwrap().timed_out());
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (cid, data) = raw(b"over there");
    let (target, _) = gateway(vec![(cid, data.clone())]).await;
    let location = target
        .endpoint()
        .uri(&format!("/ipfs/{}?format=raw", v1_text(&cid)))
        .unwrap()
        .to_string();
    let redirecting = TestServer::start(move |_| {
        let location = location.clone();
        async move { body::redirect(&location) }
    })
    .await;
    let error = remote(&[&redirecting], options())
        .get(&cid)
        .await
        .unwrap_err();
    assert_eq!(outcomes(&error), [Outcome::Status(StatusCode::FOUND)]);
    assert!(error.to_string().contains("not followed"), "{error}");
    assert_eq!(target.hits(), 0, "the redirect was followed");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let (cid, data) = raw(b"small");
    let endless = TestServer::start(|_| async move { body::endless() }).await;
    let announced =
        TestServer::start(|_| async move { body::full(StatusCode::OK, vec![0u8; 2000]) }).await;
    let (good, _) = gateway(vec![(cid, data.clone())]).await;
    let options = RemoteOptions {
        max_block_bytes: 1000,
        ..options()
    };
    let source = remote(&[&endless, &announced, &good], options.clone());
    assert_eq!(source.get(&cid).await.unwrap().unwrap(), data);
    let error = remote(&[&endless, &announced], options)
        .get(&cid)
        .await
        .unwrap_err();
    let too_large = Outcome::Failed(RequestError::TooLarge { limit: 1000 });
    assert_eq!(outcomes(&error), [too_large.clone(), too_large]);
}

#[tokio::test]
async fn a_block_at_the_default_limit_passes() {
    let data = vec![7u8; 2 << 20];
    let (cid, data) = raw(&data);
    let (server, _) = gateway(vec![(cid, data.clone())]).await;
    assert_eq!(
        remote(&[&server], options())
            .get(&cid)
            .await
            .unwrap()
            .unwrap(),
        data
    );
}

#[tokio::test]
async fn unreachable_backends_are_transport_failures() {
    let (cid, data) = raw(b"reachable");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let (good, _) = gateway(vec![(cid, data.clone())]).await;
    let source = RemoteBlocks::new(vec![dead.clone(), good.endpoint()], options()).unwrap();
    assert_eq!(source.get(&cid).await.unwrap().unwrap(), data);
    let source = RemoteBlocks::new(vec![dead], options()).unwrap();
    let error = source.get(&cid).await.unwrap_err();
    assert!(matches!(
        outcomes(&error)[..],
        [Outcome::Failed(RequestError::Transport(_))]
    ));
}

#[tokio::test]
async fn requests_are_spread_round_robin() {
    let blocks: Vec<_> = (0..6u8).map(|i| raw(&[i])).collect();
    let (a, _) = gateway(blocks.clone()).await;
    let (b, _) = gateway(blocks.clone()).await;
    let (c, _) = gateway(blocks.clone()).await;
    let source = remote(&[&a, &b, &c], options());
    for (cid, data) in &blocks {
        assert_eq!(&source.get(cid).await.unwrap().unwrap(), data);
    }
    assert_eq!((a.hits(), b.hits(), c.hits()), (2, 2, 2));
}

#[tokio::test]
async fn identity_and_unsupported_cids_need_no_backend() {
    let (server, _) = gateway(Vec::new()).await;
    let source = remote(&[&server], options());
    let identity: Cid = "bafkqabtimvwgy3yk".parse().unwrap();
    assert_eq!(
        source.get(&identity).await.unwrap().unwrap(),
        &b"hello\n"[..]
    );
    assert!(source.has(&identity).await.unwrap());
    let unknown = Cid::new_v1(
        0x55,
        multihash::Multihash::<64>::wrap(0x3333, &[1; 8]).unwrap(),
    );
    assert!(matches!(
        source.get(&unknown).await,
        Err(store::Error::UnsupportedHash { .. })
    ));
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn https_backends_work() {
    let (cid, data) = raw(b"over tls");
    let served = data.clone();
    let server = TestServer::start_tls(move |_| {
        let served = served.clone();
        async move { body::full(StatusCode::OK, served) }
    })
    .await;
    let options = RemoteOptions {
        client: ClientOptions {
            extra_roots: crate::network::http_client::certificates_from_pem(TEST_CA.as_bytes())
                .unwrap(),
            ..ClientOptions::default()
        },
        ..options()
    };
    assert_eq!(
        remote(&[&server], options)
            .get(&cid)
            .await
            .unwrap()
            .unwrap(),
        data
    );
    // Without the test authority, the certificate is refused and no request is sent.
    let error = remote(&[&server], self::options())
        .get(&cid)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("certificate"), "{error}");
    assert_eq!(server.hits(), 1);
}

#[test]
fn no_backends_is_an_error() {
    assert!(RemoteBlocks::new(Vec::new(), RemoteOptions::default()).is_err());
}

// ---- CAR mode ----

fn car(roots: &[Cid], blocks: &[(Cid, Bytes)]) -> Vec<u8> {
    let mut out = v1_header(roots);
    for (cid, data) in blocks {
        section_prefix(cid, data.len(), &mut out);
        out.extend_from_slice(data);
    }
    out
}

/// A gateway answering every request with `car` (in 100-byte chunks), recording the
/// request line and Accept header.
async fn car_gateway(car: Vec<u8>) -> (TestServer, Arc<Mutex<Vec<String>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&asked);
    let server = TestServer::start(move |request| {
        let chunks: Vec<Vec<u8>> = car.chunks(100).map(<[u8]>::to_vec).collect();
        let log = Arc::clone(&log);
        async move {
            let accept = request
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            log.lock().unwrap().push(format!(
                "{} accept={accept}",
                request.uri().path_and_query().unwrap()
            ));
            body::chunks(chunks)
        }
    })
    .await;
    (server, asked)
}

async fn collect(blocks: CarBlocks) -> (Vec<(Cid, Bytes)>, Option<CarError>) {
    let mut out = Vec::new();
    let mut stream = Box::pin(blocks);
    while let Some(item) = stream.next().await {
        match item {
            Ok(block) => out.push(block),
            Err(e) => {
                assert!(stream.next().await.is_none(), "items after an error");
                return (out, Some(e));
            }
        }
    }
    (out, None)
}

#[test]
fn car_requests_are_written_per_ipip_402() {
    let (root, _) = raw(b"root");
    let root_text = v1_text(&root).to_string();
    assert_eq!(
        CarRequest::new(root).path_and_query(),
        format!("/ipfs/{root_text}?format=car&dag-scope=all")
    );
    let request = CarRequest::new(root)
        .at_path(["a dir", "ü?#%/x"])
        .unwrap()
        .scope(DagScope::Entity)
        .entity_bytes(EntityBytes {
            from: -100,
            to: None,
        });
    assert_eq!(
        request.path_and_query(),
        format!(
            "/ipfs/{root_text}/a%20dir/%C3%BC%3F%23%25%2Fx?format=car&dag-scope=entity&entity-bytes=-100:*"
        )
    );
    let request = CarRequest::new(root)
        .scope(DagScope::Block)
        .entity_bytes(EntityBytes {
            from: 0,
            to: Some(1023),
        });
    assert!(request
        .path_and_query()
        .ends_with("dag-scope=block&entity-bytes=0:1023"));
    for bad in ["", ".", ".."] {
        assert!(CarRequest::new(root).at_path(["a", bad]).is_err());
    }
}

#[tokio::test]
async fn car_blocks_stream_out_checked() {
    let blocks: Vec<_> = (0..20u8).map(|i| raw(&[i; 150])).collect();
    let root = blocks[0].0;
    let (server, asked) = car_gateway(car(&[root], &blocks)).await;
    let source = remote(&[&server], options());
    let request = CarRequest::new(root).at_path(["f"]).unwrap();
    let stream = source.fetch_car(&request).await.unwrap().unwrap();
    assert_eq!(stream.roots(), [root]);
    assert_eq!(stream.backend(), &server.endpoint());
    let (got, error) = collect(stream).await;
    assert_eq!(error, None);
    assert_eq!(got, blocks);
    assert_eq!(
        asked.lock().unwrap()[0],
        format!("{} accept={CAR}", request.path_and_query())
    );
}

#[tokio::test]
async fn a_wrong_block_in_a_car_ends_the_stream() {
    let mut blocks: Vec<_> = (0..5u8).map(|i| raw(&[i; 50])).collect();
    blocks[3].1 = Bytes::from_static(b"tampered");
    let (server, _) = car_gateway(car(&[blocks[0].0], &blocks)).await;
    let stream = remote(&[&server], options())
        .fetch_car(&CarRequest::new(blocks[0].0))
        .await
        .unwrap()
        .unwrap();
    let (got, error) = collect(stream).await;
    assert_eq!(got, blocks[..3]);
    assert!(matches!(error, Some(CarError::Block(_))), "{error:?}");
}

#[tokio::test]
async fn car_requests_move_on_until_a_backend_starts_a_car() {
    let blocks = vec![raw(b"one"), raw(b"two")];
    let root = blocks[0].0;
    let broken = status(StatusCode::BAD_GATEWAY).await;
    let (garbage, _) = car_gateway(b"\x05hello, not a CAR".to_vec()).await;
    let (good, _) = car_gateway(car(&[root], &blocks)).await;
    let source = remote(&[&broken, &garbage, &good], options());
    let stream = source
        .fetch_car(&CarRequest::new(root))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stream.backend(), &good.endpoint());
    assert_eq!(collect(stream).await, (blocks.clone(), None));

    let error = remote(&[&broken, &garbage], options())
        .fetch_car(&CarRequest::new(root))
        .await
        .unwrap_err();
    assert_eq!(error.attempts.len(), 2);
    assert_eq!(
        error.attempts[0].outcome,
        Outcome::Status(StatusCode::BAD_GATEWAY)
    );
    assert!(matches!(error.attempts[1].outcome, Outcome::BadCar(_)));

    // A 200 whose CAR ends before its first block (Kubo's answer for content it lacks: the
    // header, then an error text), or whose first block is wrong: the next backend is asked.
    let mut cut = car(&[root], &[]);
    cut.extend_from_slice(b"\n\n[Gateway Error: CAR stream truncated, response is incomplete]");
    let (lacking, _) = car_gateway(cut).await;
    let (empty, _) = car_gateway(car(&[root], &[])).await;
    let (wrong, _) = car_gateway(car(&[root], &[(root, Bytes::from_static(b"two"))])).await;
    let source = remote(&[&lacking, &empty, &wrong, &good], options());
    let stream = source
        .fetch_car(&CarRequest::new(root))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stream.backend(), &good.endpoint());
    assert_eq!(collect(stream).await, (blocks.clone(), None));
    let error = remote(&[&lacking, &empty, &wrong], options())
        .fetch_car(&CarRequest::new(root))
        .await
        .unwrap_err();
    assert!(matches!(error.attempts[0].outcome, Outcome::BadCar(_)));
    assert!(matches!(error.attempts[1].outcome, Outcome::BadCar(_)));
    assert_eq!(error.attempts[2].outcome, Outcome::WrongBlock);

    let (a, b) = (
        status(StatusCode::NOT_FOUND).await,
        status(StatusCode::GONE).await,
    );
    assert!(remote(&[&a, &b], options())
        .fetch_car(&CarRequest::new(root))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn car_streams_are_bounded() {
    let blocks = vec![raw(&[1; 3000]), raw(&[2; 500])];
    let root = blocks[0].0;
    let bytes = car(&[root], &blocks);
    // A section over the block limit is refused before it is buffered.
    let (server, _) = car_gateway(bytes.clone()).await;
    let options = RemoteOptions {
        max_block_bytes: 1000,
        ..options()
    };
    let error = remote(&[&server], options)
        .fetch_car(&CarRequest::new(root))
        .await
        .unwrap_err();
    assert!(
        matches!(&error.attempts[0].outcome, Outcome::BadCar(why) if why.contains("limit")),
        "{error}"
    );
    // The whole response is bounded when asked.
    let options = RemoteOptions {
        max_car_bytes: Some(bytes.len() as u64 - 1),
        ..self::options()
    };
    let stream = remote(&[&server], options)
        .fetch_car(&CarRequest::new(root))
        .await
        .unwrap()
        .unwrap();
    let (got, error) = collect(stream).await;
    assert_eq!(got, blocks[..1]);
    assert!(
        matches!(error, Some(CarError::Body(RequestError::TooLarge { .. }))),
        "{error:?}"
    );
    // A truncated CAR is an error, not a quiet end.
    let (cut, _) = car_gateway(bytes[..bytes.len() - 10].to_vec()).await;
    let stream = remote(&[&cut], self::options())
        .fetch_car(&CarRequest::new(root))
        .await
        .unwrap()
        .unwrap();
    let (got, error) = collect(stream).await;
    assert_eq!(got, blocks[..1]);
    assert!(matches!(error, Some(CarError::Car(_))), "{error:?}");
}

#[tokio::test]
async fn a_stalled_car_stream_times_out() {
    let blocks = vec![raw(b"first")];
    let mut first = car(&[blocks[0].0], &blocks);
    first.extend_from_slice(&[0x30]); // the start of a section that never comes
    let server = TestServer::start(move |_| {
        let first = first.clone();
        async move { body::stalled(first) }
    })
    .await;
    let options = RemoteOptions {
        car_idle_timeout: Duration::from_millis(300),
        ..options()
    };
    let stream = remote(&[&server], options)
        .fetch_car(&CarRequest::new(blocks[0].0))
        .await
        .unwrap()
        .unwrap();
    let (got, error) = collect(stream).await;
    assert_eq!(got, blocks);
    assert_eq!(
        error,
        Some(CarError::Body(RequestError::Timeout(
            Duration::from_millis(300)
        )))
    );
}
