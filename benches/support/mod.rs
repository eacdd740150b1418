//! Shared setup for benches: a gateway over a store holding the conformance fixtures, and a
//! way to drain a response body in-process (no sockets, so only cairn's own work is timed).

#![allow(dead_code)]

use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use cairn::gateway::Gateway;
use cairn::http::Body;
use cairn::store::{Blockstore, StoreOptions};
use http_body::Body as _;

pub const DIR_WITH_FILES: &str = "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";
pub const DIR_LISTING: &str = "bafybeig6ka5mlwkl4subqhaiatalkcleo4jgnr3hqwvpmsqfca27cijp3i";
pub const HAMT_DIR: &str = "bafybeidbclfqleg2uojchspzd4bob56dqetqjsj27gy2cq3klkkgxtpn4i";

/// A gateway over a fresh store with the fixture CARs imported.
pub fn gateway(data: &Path) -> Gateway {
    gateway_with(data, cairn::gateway::GatewayOptions::default())
}

/// The same with the given options (limits, subdomain hosts, …).
pub fn gateway_with(data: &Path, options: cairn::gateway::GatewayOptions) -> Gateway {
    let store = Arc::new(Blockstore::open(data, StoreOptions::default()).unwrap());
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gateway-conformance");
    for car in [
        "path_gateway_unixfs/dir-with-files.car",
        "dir_listing/fixtures.car",
        "trustless_gateway_car/single-layer-hamt-with-multi-block-files.car",
    ] {
        let file = std::fs::File::open(fixtures.join(car)).unwrap();
        cairn::services::import::import_car(&store, std::io::BufReader::new(file)).unwrap();
    }
    let pins = std::sync::Arc::new(cairn::services::pins::Pinset::open(data).unwrap());
    let pubsub = Arc::new(cairn::services::pubsub::LocalBus::new("12D3KooWBench"));
    Gateway::new(store, pins, pubsub, options)
}

pub fn get(path: &str, headers: &[(&str, &str)]) -> Request {
    let mut builder = http::Request::get(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(http_body_util::Empty::new()).unwrap()
}

/// A request as benches send it: no body.
pub type Request = http::Request<http_body_util::Empty<bytes::Bytes>>;

/// Another request like `request` (requests are consumed by the gateway).
pub fn copy(request: &Request) -> Request {
    let mut builder = http::Request::builder()
        .method(request.method().clone())
        .uri(request.uri().clone());
    if let Some(headers) = builder.headers_mut() {
        *headers = request.headers().clone();
    }
    builder.body(http_body_util::Empty::new()).unwrap()
}

/// The gateway's response to `request`, through the same spine the server uses, on a
/// current-thread runtime (blocks not yet cached are read on its blocking pool).
pub fn respond(gateway: &Gateway, request: Request) -> cairn::http::Response {
    runtime().block_on(gateway.respond(request))
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// Polls a body to its end, returning the bytes it produced. Cached blocks answer at once;
/// one not cached yet is waited for on the runtime (its read runs on the blocking pool).
pub fn drain(mut body: Body) -> u64 {
    let mut cx = Context::from_waker(Waker::noop());
    let mut total = 0;
    // Reads that miss the cache are handed to this runtime's blocking pool.
    let _runtime = runtime().enter();
    loop {
        let mut polled = Pin::new(&mut body).poll_frame(&mut cx);
        if polled.is_pending() {
            polled = Poll::Ready(runtime().block_on(std::future::poll_fn(|cx| {
                Pin::new(&mut body).poll_frame(cx)
            })));
        }
        match polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    total += data.len() as u64;
                }
            }
            Poll::Ready(Some(Err(e))) => panic!("body failed: {e}"),
            Poll::Ready(None) => return total,
            Poll::Pending => unreachable!("waited for above"),
        }
    }
}
