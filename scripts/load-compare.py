#!/usr/bin/env python3
"""Side-by-side load comparison: cairn, an offline Kubo and nginx over the same bytes.

Starts the three servers on loopback, loads the same content into each (asserting that
cairn's CIDs equal Kubo's), runs wrk against each in turn for every scenario, and prints a
Markdown report (req/s, p50/p99 latency, throughput, CPU seconds, peak RSS, and the ratios
cairn/Kubo and cairn/nginx). Every run stops by itself; only 127.0.0.1 is contacted.

Usage: scripts/load-compare.py [--seconds N] [--connections N] [--quick] [--out FILE]
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
        "p50": lat.get("50", "?"),
        "p99": lat.get("99", "?"),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--quick", action="store_true", help="small files only, 3 s runs")
    ap.add_argument("--out", help="append the report to this file (e.g. BENCHMARKS.md)")
    ap.add_argument("--only", help="run only the scenarios whose name contains this text")
    args = ap.parse_args()
    if args.quick:
        args.seconds = 3
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            sys.exit(f"{tool} is needed (apt-get install wrk nginx-light)")
    ipfs = shutil.which("ipfs") or os.path.join(sh(["go", "env", "GOPATH"]).strip(), "bin", "ipfs")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    cairn = os.path.join(ROOT, "target", "release", "cairn")
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
        # Same bytes into both stores, same settings: the CIDs must agree.
        cairn_data = os.path.join(work, "cairn")
        kubo_repo = os.path.join(work, "kubo")
        env = dict(os.environ, IPFS_PATH=kubo_repo, IPFS_TELEMETRY="off")
        sh([ipfs, "init", "--profile=test"], env=env)
        cids = {}
        for name in list(files) + ["dir10k"]:
            path = os.path.join(content, name)
            ours = sh([cairn, "add", "--data", cairn_data, "-r", "-Q", "--cid-version=1", path]).strip()
            theirs = sh([ipfs, "add", "-r", "-Q", "--cid-version=1", path], env=env).strip()
            assert ours == theirs, f"{name}: cairn {ours} != kubo {theirs}"
            cids[name] = ours
        # Servers.
        ports = {"cairn": free_port(), "nginx": free_port()}
        procs.append(("cairn", subprocess.Popen(
            [cairn, "serve", "--data", cairn_data, "--gateway", f"127.0.0.1:{ports['cairn']}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
        kport = free_port()
        sh([ipfs, "config", "Addresses.Gateway", f"/ip4/127.0.0.1/tcp/{kport}"], env=env)
        ports["kubo"] = kport
        procs.append(("kubo", subprocess.Popen([ipfs, "daemon", "--offline"], env=env,
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
        conf = os.path.join(work, "nginx.conf")
        with open(conf, "w") as f:
            user = "user root;" if os.geteuid() == 0 else ""
            f.write(f"""{user} worker_processes 2; daemon off; pid {work}/nginx.pid;
error_log {work}/nginx-error.log; events {{ worker_connections 4096; }}
http {{ access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;
  client_body_temp_path {work}/nb; proxy_temp_path {work}/np; fastcgi_temp_path {work}/nf;
  uwsgi_temp_path {work}/nu; scgi_temp_path {work}/ns;
  server {{ listen 127.0.0.1:{ports['nginx']}; root {content}; autoindex on; }} }}
""")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        procs.append(("nginx", subprocess.Popen([nginx, "-c", conf, "-p", work],
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
        pids = {name: p.pid for name, p in procs}
        for port in ports.values():
            wait_port(port)
        time.sleep(1)
        absent = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
        scenarios = [
            ("1 KiB file (hot)", {"cairn": f"/ipfs/{cids['1k.bin']}", "kubo": f"/ipfs/{cids['1k.bin']}", "nginx": "/1k.bin"}, ()),
            ("100 KiB file (hot)", {"cairn": f"/ipfs/{cids['100k.bin']}", "kubo": f"/ipfs/{cids['100k.bin']}", "nginx": "/100k.bin"}, ()),
            ("10,000-entry listing", {"cairn": f"/ipfs/{cids['dir10k']}/", "kubo": f"/ipfs/{cids['dir10k']}/", "nginx": "/dir10k/"}, ("Accept: text/html",)),
            ("404", {"cairn": f"/ipfs/{absent}", "kubo": f"/ipfs/{absent}", "nginx": "/absent"}, ()),
        ]
        if not args.quick:
            deep = 700_000_000
            scenarios[2:2] = [
                ("64 MiB file", {"cairn": f"/ipfs/{cids['64m.bin']}", "kubo": f"/ipfs/{cids['64m.bin']}", "nginx": "/64m.bin"}, ()),
                ("64 KiB range deep in 1 GiB", {"cairn": f"/ipfs/{cids['1g.bin']}", "kubo": f"/ipfs/{cids['1g.bin']}", "nginx": "/1g.bin"}, (f"Range: bytes={deep}-{deep + 65535}",)),
            ]
            # Trustless and archive formats: no nginx equivalent.
            scenarios += [
                ("raw block of the 1 KiB file (trustless)", {"cairn": f"/ipfs/{cids['1k.bin']}?format=raw", "kubo": f"/ipfs/{cids['1k.bin']}?format=raw", "nginx": None}, ()),
                ("CAR of the 64 MiB file (trustless)", {"cairn": f"/ipfs/{cids['64m.bin']}?format=car", "kubo": f"/ipfs/{cids['64m.bin']}?format=car", "nginx": None}, ()),
                ("TAR of the 10,000-entry directory", {"cairn": f"/ipfs/{cids['dir10k']}?format=tar", "kubo": f"/ipfs/{cids['dir10k']}?format=tar", "nginx": None}, ()),
            ]
        if args.only:
            scenarios = [sc for sc in scenarios if args.only in sc[0]] or scenarios[:1]
        results = []
        for label, paths, headers in scenarios:
            row = {"scenario": label}
            for name in ("cairn", "kubo", "nginx"):
                if paths[name] is None:
                    row[name] = None
                    continue
                url = f"http://127.0.0.1:{ports[name]}{paths[name]}"
                # Big bodies: fewer connections, so each run completes many requests.
                big = ("64 MiB" in label or "listing" in label or "directory" in label)
                conns = 8 if big else args.connections
                wrk(url, 1, conns, headers)  # warm up
                cpu0 = proc_cpu(pids[name])
                r = wrk(url, args.seconds, conns, headers)
                r["cpu_s"] = proc_cpu(pids[name]) - cpu0
                r["rss_mib"] = rss_kib(pids[name], "VmHWM") / 1024
                row[name] = r
            results.append(row)
        # 1,000 idle keep-alive connections: resident memory with them open.
        idle = {}
        for name in () if args.only else ("cairn", "kubo", "nginx"):
            before = rss_kib(pids[name])
            socks = []
            for _ in range(1000):
                s = socket.create_connection(("127.0.0.1", ports[name]))
                s.sendall(f"GET {scenarios[0][1][name] or '/'} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                socks.append(s)
            time.sleep(2)
            idle[name] = (before / 1024, rss_kib(pids[name]) / 1024)
            for s in socks:
                s.close()
        report(results, idle, args)
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


def report(results, idle, args):
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except StopIteration:
        pass
    lines = [f"\n## Load comparison — `scripts/load-compare.py` ({datetime.date.today()})\n",
             f"Machine: {os.cpu_count()} cores ({cpu}), {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / (1 << 30))} GiB; "
             f"wrk -t2 -c{args.connections} (8 for the 64 MiB file and the listing), {args.seconds} s per run, loopback.\n",
             "| scenario | server | req/s | p50 | p99 | throughput | CPU s | peak RSS | vs Kubo | vs nginx |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in results:
        for name in ("cairn", "kubo", "nginx"):
            r = row[name]
            if r is None:
                continue
            vs_k = r["rps"] / row["kubo"]["rps"] if row["kubo"]["rps"] else float("inf")
            nginx = row["nginx"]
            vs_n = (r["rps"] / nginx["rps"] if nginx["rps"] else float("inf")) if nginx else None
            bad = f" ({r['non2xx']} non-2xx)" if r["non2xx"] and row["scenario"] != "404" else ""
            lines.append(f"| {row['scenario'] if name == 'cairn' else ''} | {name} | {r['rps']:.0f}{bad} | {r['p50']} | {r['p99']} | "
                         f"{human(r['bytes_per_s'])}/s | {r['cpu_s']:.1f} | {r['rss_mib']:.0f} MiB | {vs_k:.2f}× | "
                         + (f"{vs_n:.2f}× |" if vs_n is not None else "— |"))
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
