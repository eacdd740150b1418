#!/usr/bin/env python3
"""IPNS publish and resolve times, cairn and Kubo side by side on one loopback network.

The network is a chain: Kubo A — Kubo B — {cairn, Kubo C}; cairn and Kubo C are each kept
connected to B only, so records travel through the DHT (B's LAN DHT), never over a direct
link to A. Each round uses fresh names:
  - resolve: A publishes a new name; Kubo C resolves it (`name/resolve?nocache=true` over its
    RPC API) and cairn resolves it (`GET /routing/v1/ipns/<name>`, a DHT lookup, verified);
  - publish: Kubo C publishes a new name (`name/publish`, which returns once the DHT put is
    done) and cairn publishes one (`POST /ipns/<key>`, which returns once the record is
    stored; the DHT put runs behind it); for both, the time until A resolves the new value.
Medians over --rounds are printed as a Markdown table.

Everything listens on 127.0.0.1. Run as root to have the script re-run itself inside a
network namespace that holds only `lo`.

Usage: scripts/ipns-bench.py --cairn target/release/cairn [--rounds 10]
Needs: Kubo (`ipfs`).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from loopback import free_port, in_netns, ipfs, quiet_listeners, start_kubo, wait_connected, wait_port

VALUE = "/ipfs/bafkqaaa"


def rpc(repo, command, **params):
    """POST /api/v0/<command> on the Kubo at `repo`; the JSON answer."""
    with open(os.path.join(repo, "api")) as f:
        port = f.read().strip().rsplit("/", 1)[1]
    query = urllib.parse.urlencode(params)
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v0/{command}?{query}",
                                     method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def http(port, method, path, body=b"", headers=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body or None,
                                     method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, response.headers, response.read()


def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def until_resolved(repo, name, value, seconds=60):
    """Seconds until the Kubo at `repo` resolves `name` to `value`."""
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        try:
            if rpc(repo, "name/resolve", arg=name, nocache="true").get("Path") == value:
                return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.01)
    sys.exit(f"{name} never resolved to {value}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cairn", required=True)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    in_netns("cairn-ipns-bench")
    work = tempfile.mkdtemp(prefix="ipns-bench-")
    procs = []
    try:
        a_repo, a_proc, _, a_addr = start_kubo(work, "kubo-a")
        procs.append(a_proc)
        b_repo, b_proc, _, b_addr = start_kubo(work, "kubo-b", peer=a_addr)
        procs.append(b_proc)
        c_repo, c_proc, _, c_addr = start_kubo(work, "kubo-c", peer=b_addr)
        procs.append(c_proc)
        data = tempfile.mkdtemp(dir=work)
        port = free_port()
        cairn = subprocess.Popen(
            [args.cairn, "serve", "--data", data, "--gateway", f"127.0.0.1:{port}",
             *quiet_listeners(args.cairn), "--swarm", f"/ip4/127.0.0.1/tcp/{free_port()}",
             "--peer", b_addr],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=dict(os.environ, RUST_LOG="warn"))
        procs.append(cairn)
        wait_port(port, cairn, "cairn")
        cairn_id = subprocess.run([args.cairn, "id", "--data", data], capture_output=True,
                                  text=True, check=True).stdout.strip()
        for peer in (a_addr, c_addr):
            wait_connected(b_repo, peer.rsplit("/p2p/", 1)[1])
        wait_connected(b_repo, cairn_id)
        # B's LAN DHT must hold all three before records can travel through it.
        deadline = time.time() + 30
        while time.time() < deadline:
            table = ipfs(b_repo, "stats", "dht", "lan", check=False)
            if all(p in table for p in (cairn_id, a_addr.rsplit("/p2p/", 1)[1],
                                        c_addr.rsplit("/p2p/", 1)[1])):
                break
            time.sleep(0.2)

        times = {key: [] for key in ("kubo-resolve", "cairn-resolve", "kubo-publish",
                                     "kubo-visible", "cairn-publish", "cairn-visible")}
        for n in range(args.rounds):
            key = f"bench{n}"
            # Resolve a name A publishes.
            ipfs(a_repo, "key", "gen", key)
            a_name = rpc(a_repo, "name/publish", arg=VALUE, key=key, **{"ipns-base": "base36"})["Name"]
            t, answer = timed(lambda: rpc(c_repo, "name/resolve", arg=a_name, nocache="true"))
            assert answer["Path"] == VALUE, answer
            times["kubo-resolve"].append(t)
            t, (status, _, _) = timed(lambda: http(
                port, "GET", f"/routing/v1/ipns/{a_name}",
                headers={"Accept": "application/vnd.ipfs.ipns-record"}))
            assert status == 200
            times["cairn-resolve"].append(t)

            # Kubo C publishes; A resolves.
            ipfs(c_repo, "key", "gen", key)
            t, answer = timed(lambda: rpc(c_repo, "name/publish", arg=VALUE, key=key,
                                          **{"ipns-base": "base36"}))
            times["kubo-publish"].append(t)
            times["kubo-visible"].append(t + until_resolved(a_repo, answer["Name"], VALUE))

            # cairn publishes (the key exists first, pointing at the empty directory).
            status, headers, _ = http(port, "POST", f"/ipns/localhost?key={key}")
            assert status == 201
            name = headers["Location"].removeprefix("ipns://").rstrip("/")
            t, (status, _, _) = timed(lambda: http(port, "POST", f"/ipns/{key}", VALUE.encode()))
            assert status == 200
            times["cairn-publish"].append(t)
            times["cairn-visible"].append(t + until_resolved(a_repo, name, VALUE))

        ms = {k: statistics.median(v) * 1000 for k, v in times.items()}
        print(f"IPNS over the DHT, chain A — B — resolver/publisher, {args.rounds} rounds "
              "(medians):\n")
        print("| | Kubo | cairn |\n|---|---:|---:|")
        print(f"| resolve a name A published (uncached) | {ms['kubo-resolve']:.1f} ms "
              f"| {ms['cairn-resolve']:.1f} ms |")
        print(f"| publish (the call returns) | {ms['kubo-publish']:.1f} ms "
              f"| {ms['cairn-publish']:.1f} ms |")
        print(f"| publish until A resolves the new value | {ms['kubo-visible']:.1f} ms "
              f"| {ms['cairn-visible']:.1f} ms |")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
