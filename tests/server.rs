//! Server-level behaviour: HTTP/2 over cleartext (h2c), and graceful shutdown on SIGTERM
//! letting in-flight responses finish.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::dag::Blocks;
use support::Server;

#[test]
fn h2c_prior_knowledge_is_served() {
    let server = Server::with_fixtures();
    let addr = server.addr;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        use http_body_util::{BodyExt, Empty};
        use hyper_util::rt::{TokioExecutor, TokioIo};
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(connection);
        for _ in 0..2 {
            let request = http::Request::get(format!(
                "http://{addr}/ipfs/bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy/hello.txt"
            ))
            .body(Empty::<bytes::Bytes>::new())
            .unwrap();
            let response = sender.send_request(request).await.unwrap();
            assert_eq!(response.version(), http::Version::HTTP_2);
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()["access-control-allow-origin"], "*");
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"hello world\n");
        }
    });
}

#[test]
fn sigterm_lets_in_flight_responses_finish() {
    // A 24 MiB file, so the response is still being written when the signal comes.
    let mut blocks = Blocks::default();
    let (root, content) = blocks.file(24 << 20, 256 << 10);
    let dir = tempfile::tempdir().unwrap();
    let car = dir.path().join("big.car");
    std::fs::write(&car, blocks.car(&root)).unwrap();
    let data = tempfile::tempdir().unwrap();
    support::import(data.path(), &[car]);
    let mut server = Server::start_in(data, &[]);

    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(format!("GET /ipfs/{root} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.contains("200"), "{line}");
    let mut length = 0usize;
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    assert_eq!(length, content.len());
    // Read a little, then ask the server to stop while most of the body is unsent.
    let mut body = vec![0u8; 1 << 20];
    reader.read_exact(&mut body).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(300));
    // New connections are no longer accepted…
    assert!(
        TcpStream::connect_timeout(&server.addr, Duration::from_secs(1)).is_err(),
        "listener should be closed after SIGTERM"
    );
    // …but the response in flight completes, byte for byte.
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    body.extend_from_slice(&rest);
    assert_eq!(body.len(), content.len());
    assert!(body == content);
    let exit = server.wait();
    assert!(exit.success(), "{exit:?}");
}
