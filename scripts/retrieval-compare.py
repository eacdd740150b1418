#!/usr/bin/env python3
"""Cold fetches through gateways that do not hold the content, side by side in one run.

A Kubo daemon is the origin (it holds a random 64 MiB file, CIDv1; online, with no bootstrap
peers, listening on 127.0.0.1 only). Each gateway below starts empty, fetches the file once
(cold) with curl, and is stopped; this repeats --rounds times and the median is printed, with
the gateway's peak RSS (VmHWM):
  - the origin's own gateway (content local: the ceiling);
  - per --modes entry `block`/`car`: cairn with --remote-backend <origin gateway>, and Rainbow
    in remote-backend mode, over the same origin gateway;
  - for `bitswap`: cairn, Kubo B and Rainbow, each peered with the origin (connected before
    the fetch) and fetching over Bitswap.
Then 1,000 distinct cold 4 KiB files are fetched by 64 concurrent clients from each gateway
but the origin (req/s and p99).

Everything listens on 127.0.0.1; Rainbow runs with the DHT, delegated routers and autoconf
off. Run as root to have the script re-run itself inside a network namespace that holds only
`lo` (as the project's rules ask for anything that might probe beyond loopback).

Usage: scripts/retrieval-compare.py --cairn target/release/cairn [--rounds 3] [--size-mib 64]
           [--modes block,car,bitswap] [--cairn-args "--cache-size 67108864"]
Needs: Kubo (`ipfs`), Rainbow (`rainbow`, optional), curl; for the small files
`cargo build --release --example cold_fetch` (else a slower Python client is used).
"""

import argparse
import concurrent.futures
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from loopback import (find, free_port, in_netns as enter_netns, ipfs, quiet_listeners, start_kubo,
                      wait_connected, wait_port)

NETNS = "cairn-retrieval-bench"








def find_example(name):
    """target/release/examples/NAME next to this checkout (`cargo build --release --example
    NAME`), if built."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release",
                        "examples", name)
    return path if os.access(path, os.X_OK) else None




def start_cairn(binary, work, origin, mode, extra):
    """cairn over the origin: its gateway as a remote backend (`block`/`car`), or peered with
    it over Bitswap (`bitswap`, connected before this returns)."""
    data = tempfile.mkdtemp(dir=work)
    port = free_port()
    if mode == "bitswap":
        net = ["--swarm", f"/ip4/127.0.0.1/tcp/{free_port()}", "--peer", origin["swarm"]]
    else:
        net = ["--offline", "--remote-backend", f"http://127.0.0.1:{origin['gateway']}",
               "--remote-backend-mode", mode]
    proc = subprocess.Popen([binary, "serve", "--data", data, "--gateway", f"127.0.0.1:{port}",
                             *quiet_listeners(binary), *net, *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, RUST_LOG="warn"))
    wait_port(port, proc, "cairn")
    if mode == "bitswap":
        peer_id = subprocess.run([binary, "id", "--data", data], capture_output=True, text=True,
                                 check=True).stdout.strip()
        wait_connected(origin["repo"], peer_id)
    return proc, port


def start_kubo_b(work, origin):
    """A second Kubo peered with the origin, fetching over Bitswap."""
    name = f"kubo-b-{time.monotonic_ns()}"
    repo, proc, gw, addr = start_kubo(work, name, peer=origin["swarm"])
    ipfs(repo, "swarm", "connect", origin["swarm"])
    wait_connected(origin["repo"], addr.rsplit("/p2p/", 1)[1])
    return proc, gw


def start_rainbow(binary, work, origin, mode):
    data = tempfile.mkdtemp(dir=work)
    os.makedirs(os.path.join(data, "denylists"))
    port, ctl, swarm = free_port(), free_port(), free_port()
    if mode == "bitswap":
        net = ["--libp2p=true", "--bitswap=true", f"--peering={origin['swarm']}",
               f"--libp2p-listen-addrs=/ip4/127.0.0.1/tcp/{swarm}", "--seed-peering=false"]
    else:
        net = ["--libp2p=false", "--bitswap=false",
               f"--remote-backends=http://127.0.0.1:{origin['gateway']}",
               f"--remote-backends-mode={mode}"]
    log = open(os.path.join(data, "rainbow.log"), "w+")
    proc = subprocess.Popen([binary, *net, "--dht-routing=off",
                             "--http-routers=", "--bootstrap=", "--autoconf=false",
                             "--http-retrieval-enable=false",
                             "--dnslink-resolvers=. : https://127.0.0.1:1/dns-query",
                             f"--gateway-listen-address=127.0.0.1:{port}",
                             f"--ctl-listen-address=127.0.0.1:{ctl}"],
                            env=dict(os.environ, RAINBOW_DATADIR=data),
                            stdout=log, stderr=subprocess.STDOUT)
    wait_port(port, proc, "rainbow")
    if mode == "bitswap":
        # boxo's peering first dials after ~10 s: have the origin connect now.
        log.seek(0)
        rid = re.search(r"PeerID: (\w+)", log.read()).group(1)
        ipfs(origin["repo"], "swarm", "connect", f"/ip4/127.0.0.1/tcp/{swarm}/p2p/{rid}")
        wait_connected(origin["repo"], rid)
    return proc, port


def peak_rss_mib(proc):
    """The process's peak resident set (VmHWM), MiB."""
    with open(f"/proc/{proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def start(kind, mode, binary, rainbow, work, origin, extra):
    if kind == "cairn":
        return start_cairn(binary, work, origin, mode, extra)
    if kind == "kubo":
        return start_kubo_b(work, origin)
    return start_rainbow(rainbow, work, origin, mode)


def curl(port, path):
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_starttransfer} %{speed_download} %{size_download}",
                          f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), float(out[1]), float(out[2]), int(out[3])


def stop(proc):
    proc.kill()
    proc.wait()


def many_small(port, cids, clients):
    """req/s and p99 of fetching every CID once with `clients` concurrent clients: the
    project's `cold_fetch` example when built (a Python client tops out near 2,000 req/s on
    two cores), else Python threads."""
    fetcher = os.environ.get("CAIRN_COLD_FETCH") or find_example("cold_fetch")
    if fetcher:
        paths = os.path.join(tempfile.mkdtemp(), "paths.txt")
        with open(paths, "w") as f:
            f.write("".join(f"/ipfs/{cid}\n" for cid in cids))
        out = subprocess.run([fetcher, "--addr", f"127.0.0.1:{port}", "--paths", paths,
                              "--clients", str(clients)], capture_output=True, text=True,
                             check=True).stdout
        fields = dict(kv.split("=") for kv in out.split()[1:])
        assert fields["failed"] == "0", out
        return float(fields["rps"]), float(fields["p99_ms"]) / 1e3
    latencies = []

    def one(cid):
        t = time.perf_counter()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ipfs/{cid}", timeout=60) as r:
            r.read()
            assert r.status == 200
        return time.perf_counter() - t

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        latencies = list(pool.map(one, cids))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return len(cids) / elapsed, latencies[int(len(latencies) * 0.99) - 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cairn", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size-mib", type=int, default=64)
    ap.add_argument("--modes", default="block")
    ap.add_argument("--cairn-args", default="", help="extra flags for cairn serve")
    ap.add_argument("--small", type=int, default=1000, help="cold 4 KiB files (0: skip)")
    args = ap.parse_args()
    enter_netns(NETNS)
    binary = os.path.abspath(args.cairn)
    extra = shlex.split(args.cairn_args)
    rainbow = find("rainbow")
    work = tempfile.mkdtemp(prefix="cairn-retrieval-")
    kubo_repo, kubo, gateway, swarm = start_kubo(work)
    origin = {"repo": kubo_repo, "gateway": gateway, "swarm": swarm}
    try:
        big = os.path.join(work, "big.bin")
        with open(big, "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1 << 20))
        cid = ipfs(kubo_repo, "add", "-Q", "--cid-version=1", big)
        os.remove(big)
        small = []
        if args.small:
            small_dir = os.path.join(work, "small")
            os.makedirs(small_dir)
            for i in range(args.small):
                with open(os.path.join(small_dir, f"{i}.bin"), "wb") as f:
                    f.write(os.urandom(4096))
            small = [l.split()[1] for l in
                     ipfs(kubo_repo, "add", "-r", "--cid-version=1", small_dir).splitlines()
                     if l.startswith("added") and l.split()[2].startswith("small/")]
        rows = []
        runs = [("origin's own gateway (local)", None)]
        for mode in args.modes.split(","):
            label = "bitswap" if mode == "bitswap" else f"remote-{mode}"
            runs.append((f"cairn {label}", ("cairn", mode)))
            if mode == "bitswap":
                runs.append(("Kubo B bitswap", ("kubo", mode)))
            if rainbow:
                runs.append((f"Rainbow {label}", ("rainbow", mode)))
        for name, how in runs:
            ttfb, speed, rss = [], [], []
            for _ in range(args.rounds):
                if how is None:
                    proc, port = None, gateway
                else:
                    proc, port = start(how[0], how[1], binary, rainbow, work, origin, extra)
                code, t, s, n = curl(port, f"/ipfs/{cid}")
                assert code == 200 and n == args.size_mib << 20, (name, code, n)
                ttfb.append(t)
                speed.append(s / (1 << 20))
                rss.append(peak_rss_mib(proc or kubo))
                if proc:
                    stop(proc)
            rows.append((name, statistics.median(ttfb), statistics.median(speed), max(rss)))
        print(f"\nCold {args.size_mib} MiB fetch, median of {args.rounds} (origin: Kubo "
              f"{ipfs(kubo_repo, 'version', '-n')}; cairn flags: {args.cairn_args or 'none'})\n")
        print("| gateway | TTFB | MiB/s | peak RSS |\n|---|---|---|---|")
        for name, t, s, r in rows:
            print(f"| {name} | {t * 1000:.1f} ms | {s:.0f} | {r:.0f} MiB |")
        if small:
            print(f"\n{len(small)} cold 4 KiB files, 64 concurrent clients\n")
            print("| gateway | req/s | p99 |\n|---|---|---|")
            for name, how in runs[1:]:
                proc, port = start(how[0], how[1], binary, rainbow, work, origin, extra)
                rps, p99 = many_small(port, small, 64)
                stop(proc)
                print(f"| {name} | {rps:.0f} | {p99 * 1000:.0f} ms |")
    finally:
        stop(kubo)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
