#!/usr/bin/env python3
"""Side-by-side load comparison: cairn, an offline Kubo and nginx over the same bytes.

Starts the servers on loopback, loads the same content into each (asserting that every
cairn's CIDs equal Kubo's), runs wrk against each in turn for every scenario, and prints a
Markdown report (req/s, p50/p99 latency, throughput, CPU seconds, peak RSS, and the ratios
to Kubo and to nginx). Every run stops by itself; only 127.0.0.1 is contacted.

Several cairn binaries can run side by side in one run, e.g. a build before and after a
change: `--cairn before=/path/to/old/cairn --cairn after=target/release/cairn`. Without
`--cairn`, the tree's own release build is made and used, named `cairn`.

The machine is noisy (2 cores, shared with builds), so the runs are repeated: `--rounds N`
(default 3) goes N times through the whole scenario list, each round visiting the servers
in a rotated order, and the report gives the median of the rounds for every figure (the
per-round req/s alongside). The 1-minute load average is recorded before each round.

nginx is tuned as an operator would: as many workers as cairn's tokio runtime has (one per
core), open_file_cache, access_log off, sendfile, tcp_nopush, long keep-alive.

Usage: scripts/load-compare.py [--seconds N] [--connections N] [--rounds N] [--quick]
           [--cairn NAME=PATH ...] [--only TEXT] [--out FILE]
Needs: wrk and nginx (Debian packages), Kubo (`ipfs`), a release build of cairn.
"""
import argparse, datetime, json, os, platform, re, shutil, signal, socket, subprocess, sys
import tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


def proc_cpu(pid):
    """User+system CPU seconds of a process and its children so far."""
    total = 0.0
    for p in [pid] + children(pid):
        try:
            fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def children(pid):
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]
    except Exception:
        return []


def rss_kib(pid, key="VmRSS"):
    total = 0
    for p in [pid] + children(pid):
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith(key + ":"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def data_bytes(n, seed):
    import random
    rnd = random.Random(seed)
    return rnd.randbytes(n)


def wrk(url, seconds, connections, headers=()):
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for h in headers:
        cmd += ["-H", h]
    out = sh(cmd + [url])
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    tr = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out)
    scale = {"B": 1, "KB": 1024, "MB": 1 << 20, "GB": 1 << 30}[tr.group(2)]
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": rps,
        "bytes_per_s": float(tr.group(1)) * scale,
        "p50": micros(lat.get("50")),
        "p99": micros(lat.get("99")),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def micros(text):
    """wrk's latency ("462.00us", "2.18ms", "1.03s", "1.00m") in microseconds."""
    if not text:
        return float("nan")
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6}[m.group(2)]


def duration(us):
    if us != us:
        return "?"
    if us < 1000:
        return f"{us:.0f}us"
    if us < 1e6:
        return f"{us / 1e3:.2f}ms"
    return f"{us / 1e6:.2f}s"


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def cairn_binaries(specs):
    """--cairn NAME=PATH (or a bare PATH, named `cairn`); none: build this tree's own."""
    if not specs:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        return [("cairn", os.path.join(target, "release", "cairn"))]
    out = []
    for spec in specs:
        name, _, path = spec.rpartition("=")
        name = name or "cairn"
        if name in ("kubo", "nginx") or name in dict(out):
            sys.exit(f"--cairn {spec}: the name must be unique and not kubo or nginx")
        if not os.access(path, os.X_OK):
            sys.exit(f"--cairn {spec}: {path} is not an executable")
        out.append((name, os.path.abspath(path)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3,
                    help="passes over the scenario list; the report gives the medians")
    ap.add_argument("--cairn", action="append", default=[], metavar="NAME=PATH",
                    help="a cairn binary to compare (repeatable); default: this tree's build")
    ap.add_argument("--quick", action="store_true", help="small files only, 3 s runs, 1 round")
    ap.add_argument("--out", help="append the report to this file (e.g. BENCHMARKS.md)")
    ap.add_argument("--only", help="run only the scenarios whose name contains this text "
                    "(several texts separated by |)")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.rounds = 3, 1
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            sys.exit(f"{tool} is needed (apt-get install wrk nginx-light)")
    ipfs = shutil.which("ipfs") or os.path.join(sh(["go", "env", "GOPATH"]).strip(), "bin", "ipfs")
    cairns = cairn_binaries(args.cairn)
    work = tempfile.mkdtemp(prefix="cairn-load-")
    os.chmod(work, 0o755)  # nginx's workers must be able to read the content
    procs = []
    try:
        content = os.path.join(work, "content")
        os.makedirs(os.path.join(content, "dir10k"))
        files = {"1k.bin": 1024, "100k.bin": 100 * 1024}
        if not args.quick:
            files["64m.bin"] = 64 << 20
            files["1g.bin"] = 1 << 30
        for i, (name, size) in enumerate(files.items()):
            with open(os.path.join(content, name), "wb") as f:
                left, chunk = size, 0
                while left:
                    n = min(left, 16 << 20)
                    f.write(data_bytes(n, i * 1000 + chunk))
                    left -= n
                    chunk += 1
        for i in range(10_000):
            with open(os.path.join(content, "dir10k", f"entry-{i:05}.txt"), "w") as f:
                f.write(f"{i}\n")
        # Same bytes into every store, same settings: the CIDs must agree. Each cairn adds
        # into a store of its own, with its own binary (store formats may differ).
        kubo_repo = os.path.join(work, "kubo")
        env = dict(os.environ, IPFS_PATH=kubo_repo, IPFS_TELEMETRY="off")
        sh([ipfs, "init", "--profile=test"], env=env)
        cids = {}
        for name in list(files) + ["dir10k"]:
            path = os.path.join(content, name)
            cids[name] = sh([ipfs, "add", "-r", "-Q", "--cid-version=1", path], env=env).strip()
            for cname, binary in cairns:
                data = os.path.join(work, f"cairn-{cname}")
                ours = sh([binary, "add", "--data", data, "-r", "-Q", "--cid-version=1", path]).strip()
                assert ours == cids[name], f"{name}: cairn {cname} {ours} != kubo {cids[name]}"
        # Servers, each logging to a file of its own in the work directory.
        def log(name):
            return open(os.path.join(work, f"{name}.log"), "w")

        ports = {}
        for cname, binary in cairns:
            ports[cname] = free_port()
            # No libp2p node: the figures are the gateway's. Builds older than the node have
            # no such flag (and no node).
            help_text = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
            offline = ["--offline"] if "--offline" in help_text else []
            # Two builds side by side: the second would find 5001 taken by the first's RPC.
            rpc_off = ["--rpc-api", "off"] if "--rpc-api" in help_text else []
            # Likewise 8091 and the metrics listener; counting is measured on its own
            # (BENCHMARKS.md, metrics on and off).
            rpc_off += ["--metrics", "off"] if "--metrics" in help_text else []
            procs.append((cname, subprocess.Popen(
                [binary, "serve", "--data", os.path.join(work, f"cairn-{cname}"),
                 "--gateway", f"127.0.0.1:{ports[cname]}", "--cluster-api", "off"] + offline + rpc_off,
                stdout=subprocess.DEVNULL, stderr=log(f"cairn-{cname}"))))
        kport = free_port()
        sh([ipfs, "config", "Addresses.Gateway", f"/ip4/127.0.0.1/tcp/{kport}"], env=env)
        ports["kubo"] = kport
        procs.append(("kubo", subprocess.Popen([ipfs, "daemon", "--offline"], env=env,
                                               stdout=subprocess.DEVNULL, stderr=log("kubo"))))
        ports["nginx"] = free_port()
        conf = os.path.join(work, "nginx.conf")
        with open(conf, "w") as f:
            user = "user root;" if os.geteuid() == 0 else ""
            # Tuned as an operator would: one worker per core (cairn's tokio runtime has as
            # many worker threads), open files and their stat results cached, no access log,
            # sendfile with TCP_CORK, keep-alive connections that last.
            f.write(f"""{user} worker_processes {os.cpu_count()}; daemon off; pid {work}/nginx.pid;
error_log {work}/nginx-error.log; events {{ worker_connections 4096; }}
http {{ access_log off; sendfile on; tcp_nopush on; tcp_nodelay on; keepalive_requests 100000;
  open_file_cache max=10000 inactive=60s; open_file_cache_valid 60s;
  open_file_cache_min_uses 1; open_file_cache_errors on;
  client_body_temp_path {work}/nb; proxy_temp_path {work}/np; fastcgi_temp_path {work}/nf;
  uwsgi_temp_path {work}/nu; scgi_temp_path {work}/ns;
  server {{ listen 127.0.0.1:{ports['nginx']}; root {content}; autoindex on; }} }}
""")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        procs.append(("nginx", subprocess.Popen([nginx, "-c", conf, "-p", work],
                                                stdout=subprocess.DEVNULL, stderr=log("nginx"))))
        pids = {name: p.pid for name, p in procs}
        for name, port in ports.items():
            try:
                wait_port(port)
            except RuntimeError:
                sys.exit(f"{name} did not start:\n" + open(os.path.join(work, f"{name if name in ('kubo', 'nginx') else 'cairn-' + name}.log")).read()[-2000:])
        time.sleep(1)
        absent = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"

        def ipfs_path(p):
            return {"cairn": p, "kubo": p}

        scenarios = [
            ("1 KiB file (hot)", dict(ipfs_path(f"/ipfs/{cids['1k.bin']}"), nginx="/1k.bin"), ()),
            ("100 KiB file (hot)", dict(ipfs_path(f"/ipfs/{cids['100k.bin']}"), nginx="/100k.bin"), ()),
            ("10,000-entry listing", dict(ipfs_path(f"/ipfs/{cids['dir10k']}/"), nginx="/dir10k/"), ("Accept: text/html",)),
            ("404", dict(ipfs_path(f"/ipfs/{absent}"), nginx="/absent"), ()),
        ]
        if not args.quick:
            deep = 700_000_000
            scenarios[2:2] = [
                ("64 MiB file", dict(ipfs_path(f"/ipfs/{cids['64m.bin']}"), nginx="/64m.bin"), ()),
                ("64 KiB range deep in 1 GiB", dict(ipfs_path(f"/ipfs/{cids['1g.bin']}"), nginx="/1g.bin"), (f"Range: bytes={deep}-{deep + 65535}",)),
            ]
            # Trustless and archive formats: no nginx equivalent.
            scenarios += [
                ("raw block of the 1 KiB file (trustless)", dict(ipfs_path(f"/ipfs/{cids['1k.bin']}?format=raw"), nginx=None), ()),
                ("CAR of the 64 MiB file (trustless)", dict(ipfs_path(f"/ipfs/{cids['64m.bin']}?format=car"), nginx=None), ()),
                ("TAR of the 10,000-entry directory", dict(ipfs_path(f"/ipfs/{cids['dir10k']}?format=tar"), nginx=None), ()),
            ]
        if args.only:
            scenarios = [sc for sc in scenarios
                         if any(o in sc[0] for o in args.only.split("|"))] or scenarios[:1]
        servers = [c for c, _ in cairns] + ["kubo", "nginx"]
        kind = {name: "cairn" for name, _ in cairns}
        kind.update(kubo="kubo", nginx="nginx")
        runs = {(label, name): [] for label, _, _ in scenarios for name in servers}
        loads = []
        for rnd in range(args.rounds):
            loads.append(os.getloadavg()[0])
            print(f"round {rnd + 1}/{args.rounds}, load average {loads[-1]:.2f}", file=sys.stderr)
            # Rotate the order each round: no server always runs first, or right after
            # another's heavy run.
            order = servers[rnd % len(servers):] + servers[:rnd % len(servers)]
            for label, paths, headers in scenarios:
                for name in order:
                    path = paths[kind[name]]
                    if path is None:
                        continue
                    url = f"http://127.0.0.1:{ports[name]}{path}"
                    # Big bodies: fewer connections, so each run completes many requests.
                    big = ("64 MiB" in label or "listing" in label or "directory" in label)
                    conns = 8 if big else args.connections
                    wrk(url, 1, conns, headers)  # warm up
                    cpu0 = proc_cpu(pids[name])
                    r = wrk(url, args.seconds, conns, headers)
                    r["cpu_s"] = proc_cpu(pids[name]) - cpu0
                    r["rss_mib"] = rss_kib(pids[name], "VmHWM") / 1024
                    runs[(label, name)].append(r)
                    print(f"  {label} | {name}: {r['rps']:.0f} req/s, p99 {duration(r['p99'])}",
                          file=sys.stderr)
        loads.append(os.getloadavg()[0])
        results = []
        for label, _, _ in scenarios:
            row = {"scenario": label}
            for name in servers:
                rs = runs[(label, name)]
                if not rs:
                    row[name] = None
                    continue
                row[name] = {k: median([r[k] for r in rs])
                             for k in ("rps", "bytes_per_s", "p50", "p99", "cpu_s", "non2xx")}
                # Peak RSS grows over the run: the first round's is the peak up to this
                # scenario's first run, before any later scenario's working set.
                row[name]["rss_mib"] = rs[0]["rss_mib"]
                row[name]["rounds"] = [r["rps"] for r in rs]
            results.append(row)
        # 1,000 idle keep-alive connections: resident memory with them open.
        idle = {}
        for name in () if args.only else servers:
            before = rss_kib(pids[name])
            socks = []
            for _ in range(1000):
                s = socket.create_connection(("127.0.0.1", ports[name]))
                s.sendall(f"GET {scenarios[0][1][kind[name]] or '/'} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                socks.append(s)
            time.sleep(2)
            idle[name] = (before / 1024, rss_kib(pids[name]) / 1024)
            for s in socks:
                s.close()
        report(results, idle, args, [c for c, _ in cairns], loads)
    finally:
        for _, p in procs:
            p.send_signal(signal.SIGTERM)
        for _, p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


def human(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def ratio(a, b):
    return f"{a / b:.2f}×" if b else "∞"


def report(results, idle, args, cairns, loads):
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except StopIteration:
        pass
    servers = cairns + ["kubo", "nginx"]
    first = cairns[0] if len(cairns) > 1 else None
    lines = [f"\n## Load comparison — `scripts/load-compare.py` ({datetime.date.today()})\n",
             f"Machine: {os.cpu_count()} cores ({cpu}), {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / (1 << 30))} GiB; "
             f"wrk -t2 -c{args.connections} (8 for the 64 MiB file, the listing and the TAR), {args.seconds} s per run, loopback; "
             f"{args.rounds} round(s), servers in a rotated order each round, every figure the median of the rounds "
             f"(req/s of each round in brackets). 1-minute load average before each round and at the end: "
             + ", ".join(f"{l:.2f}" for l in loads) + ".\n",
             "| scenario | server | req/s | p50 | p99 | throughput | CPU s | peak RSS | vs Kubo | vs nginx |"
             + (f" vs {first} |" if first else ""),
             "|---|---|---|---|---|---|---|---|---|---|" + ("---|" if first else "")]
    for row in results:
        shown = False
        for name in servers:
            r = row[name]
            if r is None:
                continue
            nginx = row["nginx"]
            vs_n = ratio(r["rps"], nginx["rps"]) if nginx else "—"
            bad = f" ({r['non2xx']:.0f} non-2xx)" if r["non2xx"] and row["scenario"] != "404" else ""
            per_round = f" ({'/'.join(f'{x:.0f}' for x in r['rounds'])})" if len(r["rounds"]) > 1 else ""
            vs_first = ""
            if first:
                vs_first = f" {ratio(r['rps'], row[first]['rps'])} |" if name in cairns else " |"
            lines.append(f"| {'' if shown else row['scenario']} | {name} | {r['rps']:.0f}{per_round}{bad} | "
                         f"{duration(r['p50'])} | {duration(r['p99'])} | "
                         f"{human(r['bytes_per_s'])}/s | {r['cpu_s']:.1f} | {r['rss_mib']:.0f} MiB | "
                         f"{ratio(r['rps'], row['kubo']['rps'])} | {vs_n} |{vs_first}")
            shown = True
    if first:
        # Per-round ratios of each later cairn to the first: a change beyond noise shows in
        # most rounds, not only in the median.
        lines.append(f"\n| scenario | " + " | ".join(f"{c}/{first} req/s per round" for c in cairns[1:]) + " |")
        lines.append("|---|" + "---|" * (len(cairns) - 1))
        for row in results:
            cells = []
            for c in cairns[1:]:
                cells.append(", ".join(f"{a / b:.2f}" for a, b in zip(row[c]["rounds"], row[first]["rounds"])))
            lines.append(f"| {row['scenario']} | " + " | ".join(cells) + " |")
    hot = next((row for row in results if row["scenario"].startswith("1 KiB")), None)
    if hot and hot["nginx"]:
        lines.append("")
        n = hot["nginx"]
        for c in cairns:
            r = hot[c]
            verdict = "meets" if r["rps"] >= n["rps"] and r["p99"] <= n["p99"] else "does not meet"
            lines.append(f"1 KiB hot GET, {c}: {r['rps'] / n['rps']:.2f}× nginx's req/s, p99 "
                         f"{duration(r['p99'])} vs nginx's {duration(n['p99'])}: {verdict} "
                         f"\"≥ 1.0× nginx with p99 no worse\".  ")
    if idle:
        lines.append("\n| 1,000 idle keep-alive connections | RSS before | RSS with them open |")
        lines.append("|---|---|---|")
    for name, (before, after) in idle.items():
        lines.append(f"| {name} | {before:.0f} MiB | {after:.0f} MiB |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write(text)


if __name__ == "__main__":
    main()
