//! Test harness: starts the real `cairn` binary on an ephemeral port over a fresh data
//! directory, speaks plain HTTP/1.1 to it over a socket (so tests see exactly what goes on the
//! wire), and finds the external peers (Kubo) that comparison tests use.

#![allow(dead_code)]

pub mod dag;
pub mod dns;
pub mod peer;
pub mod raw_peer;
pub mod sse;

pub use peer::peer;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The gateway-conformance fixtures kept in the repository (`tests/fixtures/`).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gateway-conformance")
}

/// Every `.car` fixture the gateway is tested with (the suite's own tooling CARs excluded).
pub fn fixture_cars() -> Vec<PathBuf> {
    let mut cars = Vec::new();
    let mut dirs = vec![fixtures()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixtures directory") {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("_tooling") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "car") {
                cars.push(path);
            }
        }
    }
    cars.sort();
    cars
}

pub fn cairn_bin() -> &'static str {
    env!("CARGO_BIN_EXE_cairn")
}

/// Runs `cairn import` on CAR files into `data`; returns stdout.
pub fn import(data: &Path, cars: &[PathBuf]) -> String {
    let out = Command::new(cairn_bin())
        .arg("import")
        .arg("--data")
        .arg(data)
        .args(cars)
        .output()
        .expect("run cairn import");
    assert!(
        out.status.success(),
        "cairn import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// How [`Server::launch`] starts the process.
#[derive(Default)]
pub struct Launch {
    /// Shell commands run before the server replaces the shell (`ulimit -Sn 256`).
    pub shell: Option<String>,
    /// Where the server's standard error goes (default: the test's).
    pub stderr: Option<PathBuf>,
}

/// A running `cairn serve`, killed on drop.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// The Cluster API's address, unless started with `--cluster-api off`.
    pub cluster: Option<SocketAddr>,
    /// The Kubo RPC API's address, when started with `--rpc-api ADDR` (off by default here,
    /// so that parallel tests never share port 5001).
    pub rpc: Option<SocketAddr>,
    /// The metrics listener's address, when started with `--metrics ADDR` (off by default
    /// here, so that parallel tests never share port 8091).
    pub metrics: Option<SocketAddr>,
    /// The libp2p node's listen addresses (`…/p2p/<id>`); empty when offline.
    pub swarm: Vec<String>,
    pub data: tempfile::TempDir,
}

/// Flags that configure the libp2p node; with none of them the harness runs `--offline`, so
/// parallel tests never share port 4001 nor listen beyond loopback.
const NETWORK_FLAGS: &[&str] = &[
    "--swarm",
    "--peer",
    "--bootstrap",
    "--dht",
    "--routing-v1",
    "--max-peers",
    "--offline",
];

impl Server {
    /// Starts a server over a new data directory holding every fixture CAR.
    pub fn with_fixtures() -> Server {
        let data = tempfile::tempdir().unwrap();
        import(data.path(), &fixture_cars());
        Server::start_in(data, &[])
    }

    /// Starts a server over `data` with extra arguments.
    pub fn start_in(data: tempfile::TempDir, args: &[&str]) -> Server {
        Server::start_in_with_env(data, args, &[])
    }

    /// Starts a server over `data` with extra arguments and environment variables.
    pub fn start_in_with_env(
        data: tempfile::TempDir,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        Server::launch(data, args, env, &Launch::default())
    }

    /// Starts a server as [`Server::start_in_with_env`] does, run through `launch.shell`
    /// (e.g. to set resource limits first) and with its standard error sent to
    /// `launch.stderr` (a file the test reads) instead of the test's own.
    pub fn launch(
        data: tempfile::TempDir,
        args: &[&str],
        env: &[(&str, &str)],
        launch: &Launch,
    ) -> Server {
        let mut command = match &launch.shell {
            // `sh -c '<prefix>; exec "$0" "$@"' cairn serve …`: the server keeps the shell's pid.
            Some(prefix) => {
                let mut command = Command::new("sh");
                command
                    .arg("-c")
                    .arg(format!("{prefix}; exec \"$0\" \"$@\""))
                    .arg(cairn_bin());
                command
            }
            None => Command::new(cairn_bin()),
        };
        command.arg("serve").arg("--data").arg(data.path());
        if !args.contains(&"--gateway") {
            command.args(["--gateway", "127.0.0.1:0"]);
        }
        let cluster_on = !args.windows(2).any(|w| w == ["--cluster-api", "off"]);
        if !args.contains(&"--cluster-api") {
            command.args(["--cluster-api", "127.0.0.1:0"]);
        }
        let rpc_on =
            args.contains(&"--rpc-api") && !args.windows(2).any(|w| w == ["--rpc-api", "off"]);
        if !args.contains(&"--rpc-api") {
            command.args(["--rpc-api", "off"]);
        }
        let metrics_on =
            args.contains(&"--metrics") && !args.windows(2).any(|w| w == ["--metrics", "off"]);
        if !args.contains(&"--metrics") {
            command.args(["--metrics", "off"]);
        }
        if !args.iter().any(|a| NETWORK_FLAGS.contains(a)) {
            command.arg("--offline");
        }
        let mut child = command
            .args(args)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(match &launch.stderr {
                Some(path) => Stdio::from(std::fs::File::create(path).expect("stderr file")),
                None => Stdio::inherit(),
            })
            .spawn()
            .expect("start cairn serve");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        // `swarm listening on <multiaddr>` lines come first, then the gateway's line.
        let mut swarm = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            stdout.read_line(&mut line).unwrap();
            match line.trim().strip_prefix("swarm listening on ") {
                Some(addr) => swarm.push(addr.to_owned()),
                None => break,
            }
        }
        let parse_addr = |line: &str| -> SocketAddr {
            line.trim()
                .rsplit("http://")
                .next()
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| panic!("no address in {line:?}"))
        };
        let addr = parse_addr(&line);
        let cluster = cluster_on.then(|| {
            line.clear();
            stdout.read_line(&mut line).unwrap();
            parse_addr(&line)
        });
        let rpc = rpc_on.then(|| {
            line.clear();
            stdout.read_line(&mut line).unwrap();
            parse_addr(&line)
        });
        let metrics = metrics_on.then(|| {
            line.clear();
            stdout.read_line(&mut line).unwrap();
            parse_addr(&line)
        });
        // Keep the pipe open and drained: a write to a closed stdout would fail.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Server {
            child,
            addr,
            cluster,
            rpc,
            metrics,
            swarm,
            data,
        }
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        http_request_with_body(self.addr, method, path, headers, body)
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[])
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        http_request(self.addr, method, path, headers)
    }

    /// Sends raw bytes and reads one response.
    pub fn raw(&self, request: &[u8], head: bool) -> Response {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream.write_all(request).unwrap();
        read_response(&mut BufReader::new(stream), head)
    }

    /// The process id, to send signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server and hands back its data directory (to start another on it).
    pub fn stop(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.data, tempfile::tempdir().unwrap())
    }

    /// Waits for the process to exit by itself.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP response as read off the wire.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Trailer fields of a chunked body.
    pub trailers: Vec<(String, String)>,
}

impl Response {
    /// The first value of a header (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn read_response(reader: &mut impl BufRead, head: bool) -> Response {
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').expect("header line");
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
        trailers: Vec::new(),
    };
    if head || status == 204 || status == 304 {
        return response;
    }
    if let Some(len) = response.header("content-length") {
        let len: usize = len.parse().unwrap();
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        response.body = body;
    } else if response
        .header("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).unwrap();
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap(), 16).unwrap();
            if size == 0 {
                // Trailer fields, then the empty line.
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let line = line.trim_end_matches(['\r', '\n']);
                    if line.is_empty() {
                        break;
                    }
                    let (name, value) = line.split_once(':').expect("trailer line");
                    response
                        .trailers
                        .push((name.to_string(), value.trim().to_string()));
                }
                break;
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).unwrap();
            response.body.extend_from_slice(&chunk[..size]);
        }
    } else {
        reader.read_to_end(&mut response.body).unwrap();
    }
    response
}

/// Deterministic bytes that do not compress or deduplicate.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

/// `cairn add` of `data` into the data directory `data_dir` as a file of 1 KiB chunks, CIDv1
/// (raw leaves): a few kilobytes make a DAG of several blocks. Returns the root's CID.
pub fn cairn_add(data_dir: &Path, data: &[u8]) -> String {
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("file.bin");
    std::fs::write(&file, data).unwrap();
    let out = Command::new(cairn_bin())
        .args([
            "add",
            "-Q",
            "--cid-version=1",
            "--chunker=size-1024",
            "--data",
        ])
        .arg(data_dir)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Percent-encodes everything but RFC 3986 unreserved characters (for names in test URLs).
pub fn percent_encode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// An offline Kubo repository in a temporary directory (`ipfs init --profile=test`); commands
/// run without a daemon.
pub struct Kubo {
    bin: PathBuf,
    pub repo: tempfile::TempDir,
}

impl Kubo {
    pub fn init() -> Option<Kubo> {
        let bin = peer("ipfs")?;
        let repo = tempfile::tempdir().unwrap();
        let kubo = Kubo { bin, repo };
        kubo.run(&["init", "--profile=test"]);
        Some(kubo)
    }

    /// Runs an `ipfs` command and returns its stdout; panics on failure.
    pub fn run(&self, args: &[&str]) -> Vec<u8> {
        let out = self.command(args).output().expect("run ipfs");
        assert!(
            out.status.success(),
            "ipfs {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// A repository for an online daemon that stays on this machine (`ipfs init
    /// --profile=test`, then no bootstrap peers, mDNS, AutoConf, AutoTLS, delegated routers or
    /// publishers, DNS resolvers, NAT port mapping, relays or telemetry; every address on
    /// 127.0.0.1 with an ephemeral port, swarm over TCP and QUIC-v1).
    pub fn init_online() -> Option<Kubo> {
        let kubo = Kubo::init()?;
        kubo.isolate();
        Some(kubo)
    }

    /// Starts `ipfs daemon --offline` on this repository (loopback, ephemeral ports).
    pub fn daemon(&self) -> KuboDaemon {
        self.daemon_with(&["--offline"])
    }

    /// Starts `ipfs daemon` with libp2p on (a repository from [`Kubo::init_online`]).
    pub fn online_daemon(&self) -> KuboDaemon {
        self.daemon_with(&[])
    }

    /// Starts `ipfs daemon` with `args` on this repository. Online (no `--offline`), it must
    /// have been configured to stay on this machine first ([`Kubo::isolate`]).
    pub fn daemon_with(&self, args: &[&str]) -> KuboDaemon {
        let mut child = self
            .command(&[&["daemon"], args].concat())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ipfs daemon");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut api, mut gateway, mut swarm) = (None, None, None);
        let port_of = |line: &str| -> Option<SocketAddr> {
            let port = line.rsplit("/tcp/").next()?.trim().parse::<u16>().ok()?;
            Some(SocketAddr::from(([127, 0, 0, 1], port)))
        };
        for line in lines.by_ref() {
            let line = line.expect("read ipfs daemon output");
            if line.starts_with("RPC API server listening on") {
                api = port_of(&line);
            } else if line.starts_with("Gateway server listening on") {
                gateway = port_of(&line);
            } else if let Some(rest) = line.strip_prefix("Swarm listening on ") {
                // "Swarm listening on 127.0.0.1:40083 (TCP)"
                if rest.ends_with("(TCP)") {
                    swarm = rest.split(' ').next().and_then(|a| a.parse().ok());
                }
            } else if line.contains("Daemon is ready") {
                break;
            }
        }
        // Keep draining stdout so the daemon never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        KuboDaemon {
            child,
            api: api.expect("RPC API address"),
            gateway: gateway.expect("gateway address"),
            swarm,
        }
    }

    /// Configures the repository so an online daemon stays on this machine: no bootstrap
    /// peers, discovery, delegated routers or publishers, NAT mapping, relays, AutoTLS,
    /// AutoConf or telemetry; every address on 127.0.0.1 with an ephemeral port, the swarm
    /// over TCP and QUIC-v1.
    pub fn isolate(&self) {
        for (key, value) in [
            ("Bootstrap", "[]"),
            ("Discovery.MDNS.Enabled", "false"),
            ("AutoConf.Enabled", "false"),
            ("AutoTLS.Enabled", "false"),
            ("Routing.DelegatedRouters", "[]"),
            ("Ipns.DelegatedPublishers", "[]"),
            ("DNS.Resolvers", "{}"),
            ("Swarm.DisableNatPortMap", "true"),
            ("Swarm.RelayClient.Enabled", "false"),
            ("Swarm.RelayService.Enabled", "false"),
            ("Plugins.Plugins.telemetry.Config.Mode", "\"off\""),
            ("Addresses.API", "\"/ip4/127.0.0.1/tcp/0\""),
            ("Addresses.Gateway", "\"/ip4/127.0.0.1/tcp/0\""),
            (
                "Addresses.Swarm",
                r#"["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"]"#,
            ),
        ] {
            self.run(&["config", "--json", key, value]);
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env("IPFS_PATH", self.repo.path())
            .env("IPFS_TELEMETRY", "off")
            .stdin(Stdio::null());
        cmd
    }
}

/// A running offline Kubo daemon, stopped on drop.
pub struct KuboDaemon {
    child: Child,
    pub api: SocketAddr,
    pub gateway: SocketAddr,
    /// The libp2p TCP address, when online.
    pub swarm: Option<SocketAddr>,
}

impl KuboDaemon {
    /// `GET` on Kubo's gateway.
    pub fn gateway_get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        http_request(self.gateway, "GET", path, headers)
    }

    /// `POST /api/v0/<command>?<query>` on the RPC API.
    pub fn rpc(&self, command_and_query: &str) -> Response {
        http_request(
            self.api,
            "POST",
            &format!("/api/v0/{command_and_query}"),
            &[("Content-Length", "0")],
        )
    }
}

impl Drop for KuboDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request with a body on a new connection (`Content-Length` set from the body).
pub fn http_request_with_body(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    req.push_str("\r\n");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    // The server may answer (413, 400) before reading the whole body; ignore write errors.
    let _ = stream.write_all(&bytes);
    read_response(&mut BufReader::new(stream), method == "HEAD")
}

/// A multipart/form-data body: `(field name, filename, content type, data)` parts.
pub fn form(parts: &[(&str, Option<&str>, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "cairn-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, filename, content_type, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n")
                    .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(format!("Content-Type: {content_type}\r\n\r\n").as_bytes());
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// One request on a new connection.
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Response {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    req.push_str("\r\n");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(req.as_bytes()).unwrap();
    read_response(&mut BufReader::new(stream), method == "HEAD")
}

/// Runs `command` with `stdin` as its standard input and collects its output.
pub fn output_with_stdin(
    command: &mut std::process::Command,
    stdin: &[u8],
) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}
