#!/usr/bin/env python3
"""What the operator features cost on the gateway's hot path: a small cached file served by
a release cairn (offline, loopback) under wrk, with nothing on, the access log on, a 100,000
entry denylist loaded (CIDs, paths, names and both double-hash forms, none matching), and
both. Each configuration is its own cairn process over the same data directory; rounds
rotate the order and the report gives medians of cairn's CPU time per request (what the
features cost, little swayed by other processes) and of throughput and latency (which a
shared, noisy machine sways a lot: the load average before each round is printed too).

Usage: scripts/operator-cost.py [--cairn PATH] [--seconds N] [--connections N] [--rounds N]
Needs: wrk (Debian package), a release build of cairn (built when --cairn is not given).
"""
import argparse, hashlib, importlib.util, os, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("lc", os.path.join(ROOT, "scripts/load-compare.py"))
lc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lc)

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58(data):
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def b32(data):
    import base64
    return base64.b32encode(data).decode().lower().rstrip("=")


def denylist(entries):
    """`entries` rules of every kind, none of which blocks the file served."""
    lines = ["version: 1", "name: cost", "---"]
    for i in range(entries):
        digest = hashlib.sha256(f"entry {i}".encode()).digest()
        mh = b"\x12\x20" + digest
        cid = "b" + b32(b"\x01\x70" + mh)
        kind = i % 20
        if kind < 12:
            lines.append(f"/ipfs/{cid}")
        elif kind < 14:
            lines.append(f"/ipfs/{cid}/some/path/{i}.html")
        elif kind == 14:
            lines.append(f"/ipfs/{cid}/prefix*")
        elif kind == 15:
            lines.append(f"/ipns/site-{i}.example.org")
        elif kind < 19:
            lines.append("//" + hashlib.sha256(f"{cid}/".encode()).hexdigest())
        else:
            lines.append("//" + b58(b"\x12\x20" + hashlib.sha256(b58(mh).encode()).digest()))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cairn")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    cairn = args.cairn
    if not cairn:
        lc.sh(["cargo", "build", "--release", "--bin", "cairn"], cwd=ROOT)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        cairn = os.path.join(target, "release/cairn")
    work = tempfile.mkdtemp(prefix="cairn-cost-")
    data = os.path.join(work, "data")
    src = os.path.join(work, "file.txt")
    with open(src, "wb") as f:
        f.write(os.urandom(4096))
    cid = lc.sh([cairn, "add", "-Q", "--cid-version=1", "--data", data, src]).strip()
    lists = os.path.join(work, "lists")
    os.makedirs(lists)
    with open(os.path.join(lists, "cost.deny"), "w") as f:
        f.write(denylist(100_000))
    configs = {
        "plain": [],
        "access log": ["--access-log", os.path.join(work, "access.log")],
        "denylist 100k": ["--denylist", lists],
        "both": ["--access-log", os.path.join(work, "access.log"), "--denylist", lists],
    }
    results = {name: [] for name in configs}
    for rnd in range(args.rounds):
        print(f"round {rnd + 1}: load average {os.getloadavg()[0]:.2f}", file=sys.stderr)
        order = list(configs)[rnd % len(configs):] + list(configs)[:rnd % len(configs)]
        for name in order:
            port = lc.free_port()
            proc = subprocess.Popen(
                [cairn, "serve", "--offline", "--cluster-api", "off", "--data", data,
                 "--gateway", f"127.0.0.1:{port}"] + configs[name],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env={**os.environ, "RUST_LOG": "warn"})
            try:
                lc.wait_port(port)
                url = f"http://127.0.0.1:{port}/ipfs/{cid}"
                lc.wrk(url, 1, args.connections)
                cpu = lc.proc_cpu(proc.pid)
                r = lc.wrk(url, args.seconds, args.connections)
                # CPU time per request: what the work costs, less swayed than throughput by
                # other processes on a shared machine.
                r["cpu_us"] = (lc.proc_cpu(proc.pid) - cpu) / (r["rps"] * args.seconds) * 1e6
                assert r["non2xx"] == 0, r
                results[name].append(r)
                print(f"  {name}: {r['rps']:.0f} req/s p50 {lc.duration(r['p50'])} "
                      f"p99 {lc.duration(r['p99'])} cpu {r['cpu_us']:.2f}us/req", file=sys.stderr)
            finally:
                proc.terminate()
                proc.wait()
    base = lc.median([r["rps"] for r in results["plain"]])
    base_cpu = lc.median([r["cpu_us"] for r in results["plain"]])
    print(f"| configuration | cairn CPU µs/request | vs plain | req/s | vs plain | p50 | p99 |")
    print("|---|---|---|---|---|---|---|")
    for name, rs in results.items():
        rps = lc.median([r["rps"] for r in rs])
        cpu = lc.median([r["cpu_us"] for r in rs])
        p50 = lc.median([r["p50"] for r in rs])
        p99 = lc.median([r["p99"] for r in rs])
        print(f"| {name} | {cpu:.2f} | {cpu - base_cpu:+.2f} µs | {rps:.0f} | "
              f"{100 * (rps / base - 1):+.1f}% | {lc.duration(p50)} | {lc.duration(p99)} |")
    log = os.path.join(work, "access.log")
    if os.path.exists(log):
        with open(log) as f:
            n = sum(1 for _ in f)
        print(f"\naccess log lines written: {n}")


if __name__ == "__main__":
    main()
