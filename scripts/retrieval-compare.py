#!/usr/bin/env python3
"""Cold fetches through gateways that do not hold the content, side by side in one run.

An offline Kubo daemon is the origin (it holds a random 64 MiB file, CIDv1). Each gateway
below starts empty, fetches the file once (cold) with curl, and is stopped; this repeats
--rounds times and the median is printed:
  - the origin's own gateway (content local: the ceiling);
  - cairn with --remote-backend <origin gateway> (block mode);
  - Rainbow in remote-backend mode (block), over the same origin gateway.
Then 1,000 distinct cold 4 KiB files are fetched by 64 concurrent clients from cairn and from
Rainbow (req/s and p99).

Everything listens on 127.0.0.1; Rainbow runs with libp2p, the DHT, delegated routers and
autoconf off. Run as root to have the script re-run itself inside a network namespace that
holds only `lo` (as the project's rules ask for anything that might probe beyond loopback).

Usage: scripts/retrieval-compare.py --cairn target/release/cairn [--rounds 3] [--size-mib 64]
Needs: Kubo (`ipfs`), Rainbow (`rainbow`, optional), curl.
"""

import argparse
import concurrent.futures
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

NETNS = "cairn-retrieval-bench"


def in_netns():
    """Re-runs this script inside a network namespace holding only lo, when we are root."""
    if os.environ.get("CAIRN_IN_NETNS") or os.geteuid() != 0 or not shutil.which("ip"):
        return
    subprocess.run(["ip", "netns", "add", NETNS], stderr=subprocess.DEVNULL)
    subprocess.run(["ip", "netns", "exec", NETNS, "ip", "link", "set", "lo", "up"], check=True)
    env = dict(os.environ, CAIRN_IN_NETNS="1")
    code = subprocess.run(["ip", "netns", "exec", NETNS, sys.executable] + sys.argv, env=env).returncode
    subprocess.run(["ip", "netns", "delete", NETNS], stderr=subprocess.DEVNULL)
    sys.exit(code)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find(tool):
    for d in os.environ.get("PATH", "").split(os.pathsep) + [os.path.expanduser("~/go/bin")]:
        p = os.path.join(d, tool)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def wait_port(port, proc, name, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{name} exited early")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{name} did not listen on {port}")


def ipfs(repo, *args, check=True):
    env = dict(os.environ, IPFS_PATH=repo, IPFS_TELEMETRY="off")
    return subprocess.run(["ipfs", *args], env=env, check=check, capture_output=True, text=True).stdout.strip()


def start_kubo(work):
    repo = os.path.join(work, "kubo")
    ipfs(repo, "init", "--profile=test")
    gw, api = free_port(), free_port()
    for key, value in [
        ("Bootstrap", "[]"), ("Discovery.MDNS.Enabled", "false"), ("AutoConf.Enabled", "false"),
        ("AutoTLS.Enabled", "false"), ("Routing.DelegatedRouters", "[]"),
        ("Ipns.DelegatedPublishers", "[]"), ("DNS.Resolvers", "{}"),
        ("Swarm.DisableNatPortMap", "true"), ("Plugins.Plugins.telemetry.Config.Mode", '"off"'),
        ("Addresses.API", f'"/ip4/127.0.0.1/tcp/{api}"'),
        ("Addresses.Gateway", f'"/ip4/127.0.0.1/tcp/{gw}"'),
        ("Addresses.Swarm", '["/ip4/127.0.0.1/tcp/0"]'),
    ]:
        ipfs(repo, "config", "--json", key, value)
    env = dict(os.environ, IPFS_PATH=repo, IPFS_TELEMETRY="off")
    proc = subprocess.Popen(["ipfs", "daemon", "--offline"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(gw, proc, "kubo")
    return repo, proc, gw


def start_cairn(binary, work, backend, mode):
    data = tempfile.mkdtemp(dir=work)
    port = free_port()
    proc = subprocess.Popen([binary, "serve", "--data", data, "--gateway", f"127.0.0.1:{port}",
                             "--cluster-api", "off", "--offline", "--remote-backend", f"http://127.0.0.1:{backend}",
                             "--remote-backend-mode", mode],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, RUST_LOG="warn"))
    wait_port(port, proc, "cairn")
    return proc, port


def start_rainbow(binary, work, backend, mode):
    data = tempfile.mkdtemp(dir=work)
    os.makedirs(os.path.join(data, "denylists"))
    port, ctl = free_port(), free_port()
    proc = subprocess.Popen([binary, "--libp2p=false", "--bitswap=false", "--dht-routing=off",
                             "--http-routers=", "--bootstrap=", "--autoconf=false",
                             "--dnslink-resolvers=. : https://127.0.0.1:1/dns-query",
                             f"--remote-backends=http://127.0.0.1:{backend}",
                             f"--remote-backends-mode={mode}",
                             f"--gateway-listen-address=127.0.0.1:{port}",
                             f"--ctl-listen-address=127.0.0.1:{ctl}"],
                            env=dict(os.environ, RAINBOW_DATADIR=data),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, proc, "rainbow")
    return proc, port


def curl(port, path):
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_starttransfer} %{speed_download} %{size_download}",
                          f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), float(out[1]), float(out[2]), int(out[3])


def stop(proc):
    proc.kill()
    proc.wait()


def many_small(port, cids, clients):
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
    args = ap.parse_args()
    in_netns()
    binary = os.path.abspath(args.cairn)
    rainbow = find("rainbow")
    work = tempfile.mkdtemp(prefix="cairn-retrieval-")
    kubo_repo, kubo, origin = start_kubo(work)
    try:
        big = os.path.join(work, "big.bin")
        with open(big, "wb") as f:
            f.write(os.urandom(args.size_mib << 20))
        cid = ipfs(kubo_repo, "add", "-Q", "--cid-version=1", big)
        small_dir = os.path.join(work, "small")
        os.makedirs(small_dir)
        for i in range(1000):
            with open(os.path.join(small_dir, f"{i}.bin"), "wb") as f:
                f.write(os.urandom(4096))
        small = [l.split()[1] for l in ipfs(kubo_repo, "add", "-r", "--cid-version=1", small_dir).splitlines()
                 if l.startswith("added") and l.split()[2].startswith("small/")]
        rows = []
        runs = [("origin's own gateway (local)", None)]
        for mode in args.modes.split(","):
            runs.append((f"cairn remote-{mode}", ("cairn", mode)))
            if rainbow:
                runs.append((f"Rainbow remote-{mode}", ("rainbow", mode)))
        for name, how in runs:
            ttfb, speed = [], []
            for _ in range(args.rounds):
                if how is None:
                    proc, port = None, origin
                elif how[0] == "cairn":
                    proc, port = start_cairn(binary, work, origin, how[1])
                else:
                    proc, port = start_rainbow(rainbow, work, origin, how[1])
                code, t, s, n = curl(port, f"/ipfs/{cid}")
                assert code == 200 and n == args.size_mib << 20, (name, code, n)
                ttfb.append(t)
                speed.append(s / (1 << 20))
                if proc:
                    stop(proc)
            rows.append((name, statistics.median(ttfb), statistics.median(speed)))
        print(f"\nCold {args.size_mib} MiB fetch, median of {args.rounds} (origin: offline Kubo gateway)\n")
        print("| gateway | TTFB | MiB/s |\n|---|---|---|")
        for name, t, s in rows:
            print(f"| {name} | {t * 1000:.1f} ms | {s:.0f} |")
        print("\n1,000 cold 4 KiB files, 64 concurrent clients\n")
        print("| gateway | req/s | p99 |\n|---|---|---|")
        for name, how in runs[1:]:
            proc, port = (start_cairn(binary, work, origin, how[1]) if how[0] == "cairn"
                          else start_rainbow(rainbow, work, origin, how[1]))
            rps, p99 = many_small(port, small, 64)
            stop(proc)
            print(f"| {name} | {rps:.0f} | {p99 * 1000:.0f} ms |")
    finally:
        stop(kubo)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
