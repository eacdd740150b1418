#!/usr/bin/env python3
"""Load held under attack: the latency of a normal client while hostile clients hold thousands of
connections open on the same gateway (issue 18, "Show").

Starts `cairn serve` (offline, a fresh data directory holding one 1 KiB file) on loopback, then:

1. baseline: a normal client sends N sequential GETs of the 1 KiB file over one kept-alive
   connection and the latencies are recorded;
2. attack: H hostile connections are opened and held: a third send nothing, a third send part of
   the HTTP/2 preface, a third part of a request head (slowloris); the normal client runs again
   while they are held;
3. after the header timeout: how many hostile connections the server has closed, and whether a
   new client still gets an answer.

Prints p50/p99/max for both runs. Run it as root to get a network namespace holding only `lo`
(scripts/loopback.py); the script raises its own descriptor limit to hold the connections.

    python3 scripts/hostile-load.py --cairn target/release/cairn [--hostile 3000] [--requests 5000]
"""

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loopback  # noqa: E402


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def read_response(sock, buf):
    """Reads one response with Content-Length from `sock`; returns (status, leftover bytes)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        rest += chunk
    return status, rest[length:]


def normal_client(port, path, requests):
    """Sequential GETs over one kept-alive connection; latencies in milliseconds."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    latencies = []
    buf = b""
    for _ in range(requests):
        started = time.perf_counter()
        sock.sendall(request)
        status, buf = read_response(sock, buf)
        latencies.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise SystemExit(f"unexpected status {status}")
    sock.close()
    return sorted(latencies)


HOSTILE_KINDS = [
    ("silent", b""),
    ("partial HTTP/2 preface", b"PRI * HTTP/2.0\r\n"),
    ("partial request head", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "),
]


def open_hostile(port, count):
    held = []
    for i in range(count):
        kind, first = HOSTILE_KINDS[i % len(HOSTILE_KINDS)]
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if first:
                s.sendall(first)
            s.setblocking(False)
            held.append((kind, s))
        except OSError as e:
            print(f"  hostile connection {i} failed to open: {e}")
            break
    return held


def still_open(held):
    """Per kind, how many held connections the server has not closed."""
    counts = {}
    for kind, s in held:
        try:
            data = s.recv(4096)
            open_ = data != b""
        except BlockingIOError:
            open_ = True
        except OSError:
            open_ = False
        counts.setdefault(kind, [0, 0])
        counts[kind][1] += 1
        if open_:
            counts[kind][0] += 1
    return counts


def fmt(latencies):
    return (
        f"p50 {percentile(latencies, 50):.3f} ms, p99 {percentile(latencies, 99):.3f} ms, "
        f"max {latencies[-1]:.3f} ms ({len(latencies)} requests)"
    )


def main():
    loopback.in_netns("cairn-hostile")
    parser = argparse.ArgumentParser()
    parser.add_argument("--cairn", required=True)
    parser.add_argument("--hostile", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--header-timeout", default=None,
                        help="passed as --header-timeout when the binary knows it")
    parser.add_argument("--wait", type=float, default=35.0,
                        help="seconds to wait before counting closed hostile connections")
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    data = tempfile.mkdtemp(prefix="cairn-hostile-")
    payload = os.path.join(data, "file.bin")
    with open(payload, "wb") as f:
        f.write(os.urandom(1024))
    cid = subprocess.run(
        [args.cairn, "add", "-Q", "--cid-version=1", "--data", data, payload],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    port = loopback.free_port()
    command = [args.cairn, "serve", "--data", data, "--gateway", f"127.0.0.1:{port}",
               "--cluster-api", "off", "--offline"]
    if args.header_timeout:
        command += ["--header-timeout", args.header_timeout]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=dict(os.environ, RUST_LOG="error"))
    try:
        loopback.wait_port(port, server, "cairn")
        path = f"/ipfs/{cid}"
        normal_client(port, path, 500)  # warm up
        baseline = normal_client(port, path, args.requests)
        print(f"baseline: {fmt(baseline)}")

        held = open_hostile(port, args.hostile)
        time.sleep(1)
        print(f"holding {len(held)} hostile connections "
              f"({', '.join(k for k, _ in HOSTILE_KINDS)}, in turn)")
        attacked = normal_client(port, path, args.requests)
        print(f"under attack: {fmt(attacked)}")

        time.sleep(args.wait)
        for kind, (open_, total) in still_open(held).items():
            print(f"after {args.wait:.0f} s: {open_} of {total} '{kind}' connections still open")
        try:
            late = normal_client(port, path, 100)
            print(f"a new client after the wait: answered ({fmt(late)})")
        except OSError as e:
            print(f"a new client after the wait: no answer ({e})")
        for _, s in held:
            s.close()
    finally:
        server.terminate()
        server.wait()
        subprocess.run(["rm", "-rf", data])


if __name__ == "__main__":
    main()
