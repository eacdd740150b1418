//! `RoutingV1` against in-process routing servers.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use multihash_codetable::{Code, MultihashDigest};

use super::*;
use crate::network::test_server::{body, TestBody, TestServer};

const ED25519: &str = "12D3KooWShzSCnQJbtKY7PkbaCBsYGZQCR27MRpjjM284MYrS7uD";
/// The same peer as a CIDv1 of the libp2p-key codec.
const ED25519_CID: &str = "bafzaajaiaejcb6xutzuwpexlv7kkfnbzawrux2ydgo32j5lrxes4qmcksu7idjee";
const RSA: &str = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";

fn cid() -> Cid {
    Cid::new_v1(0x55, Code::Sha2_256.digest(b"routed"))
}

fn options() -> RoutingOptions {
    RoutingOptions {
        // Generous: only the tests of the timeout rely on it, and set their own; a loaded CI
        // machine once took over 5 s to stream 64 KiB to the body limit.
        timeout: Duration::from_secs(30),
        ..RoutingOptions::default()
    }
}

/// A server answering every request with `answer()`, recording the path and Accept header.
async fn server<F>(answer: F) -> (TestServer, Arc<Mutex<Vec<String>>>)
where
    F: Fn() -> http::Response<TestBody> + Send + Sync + 'static,
{
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&asked);
    let answer = Arc::new(answer);
    let server = TestServer::start(move |request| {
        let accept = request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        log.lock()
            .unwrap()
            .push(format!("{} accept={accept}", request.uri().path()));
        let response = answer();
        async move { response }
    })
    .await;
    (server, asked)
}

fn client(servers: &[&TestServer]) -> RoutingV1 {
    RoutingV1::new(servers.iter().map(|s| s.endpoint()).collect(), options()).unwrap()
}

fn peer(id: &str, addrs: &[&str], protocols: &[&str]) -> PeerRecord {
    PeerRecord {
        peer_id: id.to_string(),
        addrs: addrs.iter().map(|a| a.to_string()).collect(),
        protocols: protocols.iter().map(|p| p.to_string()).collect(),
    }
}

const JSON_PROVIDERS: &str = r#"{"Providers": [
    {"Schema": "peer", "ID": "12D3KooWShzSCnQJbtKY7PkbaCBsYGZQCR27MRpjjM284MYrS7uD",
     "Addrs": ["/ip4/127.0.0.1/tcp/4001", 7, "not-a-multiaddr"],
     "Protocols": ["transport-bitswap"]},
    {"Schema": "bitswap", "Protocol": "transport-bitswap",
     "ID": "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N", "Addrs": ["/dns4/x.example/tcp/1"]},
    {"Schema": "some-future-schema", "ID": "12D3KooWShzSCnQJbtKY7PkbaCBsYGZQCR27MRpjjM284MYrS7uD"},
    {"Schema": "peer", "ID": "not a peer id", "Addrs": []},
    {"Schema": "peer", "ID": 12},
    "a string",
    {"Schema": "peer", "ID": "bafkqabtimvwgy3yk"}
]}"#;

#[tokio::test]
async fn json_providers_are_read() {
    let (server, asked) = server(|| body::typed("application/json", JSON_PROVIDERS)).await;
    let providers = client(&[&server]).find_providers(&cid()).await.unwrap();
    assert_eq!(
        providers,
        [
            peer(
                ED25519,
                &["/ip4/127.0.0.1/tcp/4001"],
                &["transport-bitswap"]
            ),
            peer(RSA, &["/dns4/x.example/tcp/1"], &["transport-bitswap"]),
        ]
    );
    assert_eq!(
        asked.lock().unwrap()[0],
        format!("/routing/v1/providers/{} accept={ACCEPT}", v1_text(&cid()))
    );
}

#[tokio::test]
async fn ndjson_providers_are_read_as_they_stream() {
    let lines = format!(
        "{{\"Schema\":\"peer\",\"ID\":\"{ED25519}\",\"Addrs\":[\"/ip4/1.2.3.4/tcp/1\"]}}\n\n\
         {{\"Schema\":\"unknown\"}}\r\n\
         {{\"Schema\":\"peer\",\"ID\":\"{RSA}\",\"Protocols\":[\"transport-ipfs-gateway-http\"]}}"
    );
    // Split at awkward places: inside records and between the CR and LF.
    let chunks: Vec<Vec<u8>> = lines.as_bytes().chunks(7).map(<[u8]>::to_vec).collect();
    let (server, _) = server(move || {
        body::typed_chunks("application/x-ndjson; charset=utf-8", chunks.clone(), false)
    })
    .await;
    let providers = client(&[&server]).find_providers(&cid()).await.unwrap();
    assert_eq!(
        providers,
        [
            peer(ED25519, &["/ip4/1.2.3.4/tcp/1"], &[]),
            peer(RSA, &[], &["transport-ipfs-gateway-http"]),
        ]
    );
}

#[tokio::test]
async fn not_found_is_no_providers_and_errors_are_errors() {
    let (missing, _) = server(|| body::full(StatusCode::NOT_FOUND, Bytes::new())).await;
    assert_eq!(
        client(&[&missing]).find_providers(&cid()).await.unwrap(),
        []
    );
    let (null, _) = server(|| body::typed("application/json", r#"{"Providers":null}"#)).await;
    assert_eq!(client(&[&null]).find_providers(&cid()).await.unwrap(), []);

    let (broken, _) = server(|| body::full(StatusCode::INTERNAL_SERVER_ERROR, Bytes::new())).await;
    let error = client(&[&broken]).find_providers(&cid()).await.unwrap_err();
    assert_eq!(
        error.failures,
        [(
            broken.endpoint(),
            Failure::Status(StatusCode::INTERNAL_SERVER_ERROR)
        )]
    );
    assert!(error.to_string().contains("500"), "{error}");

    let (redirect, _) = server(|| body::redirect("http://127.0.0.1:9/elsewhere")).await;
    let error = client(&[&redirect])
        .find_providers(&cid())
        .await
        .unwrap_err();
    assert_eq!(error.failures[0].1, Failure::Status(StatusCode::FOUND));
}

#[tokio::test]
async fn malformed_answers_are_errors_not_panics() {
    let deep = "[".repeat(100_000);
    let cases: Vec<(&str, String)> = vec![
        ("application/json", "{\"Providers\": [".to_string()),
        ("application/json", "not json".to_string()),
        ("application/json", "[1, 2]".to_string()),
        ("application/json", "{\"Providers\": 5}".to_string()),
        ("application/json", format!("{{\"Providers\": {deep}")),
        (
            "application/x-ndjson",
            format!("{{\"Schema\":\"peer\",\"ID\":\"{ED25519}\"}}\n{{oops\n"),
        ),
        ("application/x-ndjson", deep.clone()),
    ];
    for (content_type, text) in cases {
        let (s, _) = server(move || body::typed(content_type, text.clone())).await;
        let error = client(&[&s]).find_providers(&cid()).await.unwrap_err();
        assert!(
            matches!(error.failures[0].1, Failure::Malformed(_)),
            "{content_type}: {error}"
        );
    }
}

#[tokio::test]
async fn answers_are_bounded() {
    // An endless NDJSON stream: the first `max_records` are kept and the stream closed.
    const LINE: &[u8] =
        b"{\"Schema\":\"peer\",\"ID\":\"12D3KooWShzSCnQJbtKY7PkbaCBsYGZQCR27MRpjjM284MYrS7uD\"}\n";
    let (endless, _) = server(|| body::repeating("application/x-ndjson", LINE)).await;
    let routing = RoutingV1::new(
        vec![endless.endpoint()],
        RoutingOptions {
            max_records: 3,
            ..options()
        },
    )
    .unwrap();
    // One peer, many times over: merged into one record.
    assert_eq!(routing.find_providers(&cid()).await.unwrap().len(), 1);

    // An endless stream of records that are all skipped: stopped by the body limit.
    const SKIPPED: &[u8] = b"{\"Schema\":\"other\"}\n";
    let (skipped, _) = server(|| body::repeating("application/x-ndjson", SKIPPED)).await;
    let small = RoutingOptions {
        max_body_bytes: 64 << 10,
        ..options()
    };
    let routing = RoutingV1::new(vec![skipped.endpoint()], small.clone()).unwrap();
    let error = routing.find_providers(&cid()).await.unwrap_err();
    assert_eq!(
        error.failures[0].1,
        Failure::Request(RequestError::TooLarge { limit: 64 << 10 })
    );
    // An endless JSON document: refused at the body limit.
    let (json, _) = server(|| body::repeating("application/json", b"[[[[")).await;
    let routing = RoutingV1::new(vec![json.endpoint()], small).unwrap();
    let error = routing.find_providers(&cid()).await.unwrap_err();
    assert_eq!(
        error.failures[0].1,
        Failure::Request(RequestError::TooLarge { limit: 64 << 10 })
    );

    // Distinct peers beyond `max_records` are dropped.
    let many: String = (0..10u8)
        .map(|i| {
            let key = multihash::Multihash::<64>::wrap(0x12, &[i; 32]).unwrap();
            format!("{{\"Schema\":\"peer\",\"ID\":\"{}\"}}\n", peer_text(&key))
        })
        .collect();
    let (many, _) = server(move || body::typed("application/x-ndjson", many.clone())).await;
    let routing = RoutingV1::new(
        vec![many.endpoint()],
        RoutingOptions {
            max_records: 4,
            ..options()
        },
    )
    .unwrap();
    assert_eq!(routing.find_providers(&cid()).await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_stream_cut_by_the_timeout_keeps_what_it_read() {
    let line = format!("{{\"Schema\":\"peer\",\"ID\":\"{ED25519}\"}}\n").into_bytes();
    let (partial, _) =
        server(move || body::typed_chunks("application/x-ndjson", vec![line.clone()], true)).await;
    let (silent, _) = server(|| body::typed_chunks("application/x-ndjson", Vec::new(), true)).await;
    let options = RoutingOptions {
        timeout: Duration::from_millis(1000),
        ..options()
    };
    let routing = RoutingV1::new(vec![partial.endpoint()], options.clone()).unwrap();
    assert_eq!(
        routing.find_providers(&cid()).await.unwrap(),
        [peer(ED25519, &[], &[])]
    );
    let routing = RoutingV1::new(vec![silent.endpoint()], options).unwrap();
    let error = routing.find_providers(&cid()).await.unwrap_err();
    assert!(matches!(
        error.failures[0].1,
        Failure::Request(RequestError::Timeout(_))
    ));
}

#[tokio::test]
async fn servers_are_asked_together_and_merged() {
    let a_answer = format!(
        r#"{{"Providers":[{{"Schema":"peer","ID":"{ED25519}","Addrs":["/ip4/1.1.1.1/tcp/1"],"Protocols":["transport-bitswap"]}}]}}"#
    );
    // The same peer written as a CID, with another address.
    let b_answer = format!(
        "{{\"Schema\":\"peer\",\"ID\":\"{ED25519_CID}\",\"Addrs\":[\"/ip4/2.2.2.2/tcp/2\",\"/ip4/1.1.1.1/tcp/1\"]}}\n\
         {{\"Schema\":\"peer\",\"ID\":\"{RSA}\"}}\n"
    );
    let (a, _) = server(move || body::typed("application/json", a_answer.clone())).await;
    let (b, _) = server(move || body::typed("application/x-ndjson", b_answer.clone())).await;
    let (down, _) = server(|| body::full(StatusCode::SERVICE_UNAVAILABLE, Bytes::new())).await;
    let providers = client(&[&a, &down, &b])
        .find_providers(&cid())
        .await
        .unwrap();
    assert_eq!(
        providers,
        [
            peer(
                ED25519,
                &["/ip4/1.1.1.1/tcp/1", "/ip4/2.2.2.2/tcp/2"],
                &["transport-bitswap"]
            ),
            peer(RSA, &[], &[]),
        ]
    );
    assert_eq!((a.hits(), down.hits(), b.hits()), (1, 1, 1));
}

#[tokio::test]
async fn peers_are_found_by_id() {
    let answer = format!(
        r#"{{"Peers":[{{"Schema":"peer","ID":"{ED25519}","Addrs":["/ip4/127.0.0.1/tcp/4001","/ip4/127.0.0.1/tcp/4001"]}},
                      {{"Schema":"peer","ID":"{RSA}","Addrs":["/ip4/6.6.6.6/tcp/6"]}}]}}"#
    );
    let (s, asked) = server(move || body::typed("application/json", answer.clone())).await;
    // The base URL may carry the API's prefix.
    let endpoint = Endpoint::parse(&format!("{}/routing/v1/", s.endpoint())).unwrap();
    let routing = RoutingV1::new(vec![endpoint], options()).unwrap();
    for id in [ED25519, ED25519_CID] {
        // Another peer's record in the answer is not this peer's address.
        assert_eq!(
            routing.find_peer(id).await.unwrap(),
            ["/ip4/127.0.0.1/tcp/4001"]
        );
    }
    assert_eq!(
        asked.lock().unwrap()[0],
        format!("/routing/v1/peers/{ED25519_CID} accept={ACCEPT}")
    );
    let (missing, _) = server(|| body::full(StatusCode::NOT_FOUND, Bytes::new())).await;
    assert!(client(&[&missing]).find_peer(RSA).await.unwrap().is_empty());
    for bad in ["", "hello", "bafkqabtimvwgy3yk", "12", "Qm"] {
        let error = client(&[&missing]).find_peer(bad).await.unwrap_err();
        assert!(error.failures.is_empty(), "{bad:?}");
    }
    assert_eq!(missing.hits(), 1, "invalid peer IDs were sent");
}

#[test]
fn peer_ids_are_read_in_both_forms() {
    let from_text = peer_multihash(ED25519).unwrap();
    assert_eq!(peer_multihash(ED25519_CID), Some(from_text));
    assert_eq!(peer_text(&from_text), ED25519);
    let rsa = peer_multihash(RSA).unwrap();
    assert_eq!(rsa.code(), hash::SHA2_256);
    assert_eq!(peer_text(&rsa), RSA);
    // A CID of another codec, a hash libp2p does not use, an over-long inline key.
    let sha3 = Code::Sha3_256.digest(b"k");
    assert_eq!(peer_multihash(&peer_text(&sha3)), None);
    let long = multihash::Multihash::<64>::wrap(0x00, &[1; 60]).unwrap();
    assert_eq!(peer_multihash(&peer_text(&long)), None);
    assert_eq!(peer_multihash("bafkqabtimvwgy3yk"), None);
}

#[test]
fn no_servers_is_an_error() {
    assert!(RoutingV1::new(Vec::new(), RoutingOptions::default()).is_err());
}
