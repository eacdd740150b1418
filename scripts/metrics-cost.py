#!/usr/bin/env python3
"""What counting requests costs: a hot 1 KiB GET under wrk over loopback, with `--metrics off`
and with the metrics listener on, alternating (the machine is shared and noisy), and the
median of the rounds for each: req/s, and the server's CPU time per request (user + system,
from /proc), which other load on the machine disturbs far less than req/s. Only 127.0.0.1 is
contacted; every server is stopped.

Usage: scripts/metrics-cost.py [--cairn PATH] [--rounds N] [--seconds N] [--connections N]
Needs: wrk, a release build of cairn (default: $CARGO_TARGET_DIR or target, release/cairn).
"""
import argparse, os, re, shutil, signal, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loopback import free_port, wait_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(port, path, seconds, connections, pid):
    cpu = cpu_seconds(pid)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
         f"http://127.0.0.1:{port}{path}"],
        check=True, capture_output=True, text=True).stdout
    cpu = cpu_seconds(pid) - cpu
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+(\S+)", out).group(1)
    p99 = re.search(r"99%\s+(\S+)", out).group(1)
    return rps, p50, p99, cpu / requests * 1e6


def main():
    ap = argparse.ArgumentParser()
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    ap.add_argument("--cairn", default=os.path.join(target, "release", "cairn"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed (apt-get install wrk)")
    work = tempfile.mkdtemp(prefix="cairn-metrics-cost-")
    try:
        data = os.path.join(work, "data")
        payload = os.path.join(work, "1k.bin")
        with open(payload, "wb") as f:
            f.write(bytes((i * 7 + 3) % 256 for i in range(1024)))
        cid = subprocess.run([args.cairn, "add", "-Q", "--cid-version=1", "--data", data, payload],
                             check=True, capture_output=True, text=True).stdout.strip()
        path = f"/ipfs/{cid}"
        modes = {
            "metrics off": ["--metrics", "off"],
            "metrics on": ["--metrics", f"127.0.0.1:{free_port()}"],
        }
        results = {mode: [] for mode in modes}
        for round_ in range(args.rounds):
            for mode, flags in modes.items():
                port = free_port()
                server = subprocess.Popen(
                    [args.cairn, "serve", "--data", data, "--gateway", f"127.0.0.1:{port}",
                     "--cluster-api", "off", "--rpc-api", "off", "--offline", *flags],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    env=dict(os.environ, RUST_LOG="error"))
                try:
                    wait_port(port, server, "cairn")
                    wrk(port, path, 2, args.connections, server.pid)  # warm the caches
                    rps, p50, p99, cpu = wrk(port, path, args.seconds, args.connections,
                                             server.pid)
                    results[mode].append((rps, p50, p99, cpu))
                    print(f"round {round_ + 1}: {mode}: {rps:.0f} req/s, p50 {p50}, p99 {p99}, "
                          f"{cpu:.2f} µs CPU per request", file=sys.stderr)
                finally:
                    server.send_signal(signal.SIGTERM)
                    server.wait(timeout=30)
        print(f"wrk -t1 -c{args.connections}, {args.seconds} s per run, {args.rounds} rounds "
              f"alternating, GET of a 1 KiB file (hot)\n")
        print("| server | req/s (median) | req/s per round | server CPU µs per request "
              "(median) | per round |")
        print("|---|---|---|---|---|")
        medians = {}
        for mode, runs in results.items():
            rates = sorted(r[0] for r in runs)
            cpus = sorted(r[3] for r in runs)
            median, cpu = rates[len(rates) // 2], cpus[len(cpus) // 2]
            medians[mode] = (median, cpu)
            print(f"| {mode} | {median:.0f} | {', '.join(f'{r[0]:.0f}' for r in runs)} "
                  f"| {cpu:.2f} | {', '.join(f'{r[3]:.2f}' for r in runs)} |")
        (off, off_cpu), (on, on_cpu) = medians["metrics off"], medians["metrics on"]
        print(f"\nWith metrics on: {on_cpu - off_cpu:+.2f} µs of server CPU per request, "
              f"{(on / off - 1) * 100:+.1f} % req/s.")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
