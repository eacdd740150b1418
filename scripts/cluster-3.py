#!/usr/bin/env python3
"""A real IPFS Cluster over three IPFS daemons: 3 × (cairn + ipfs-cluster-service v1.1.6, CRDT
consensus), or the same over 3 × Kubo, each cluster peer driving its daemon through the Kubo
RPC API (cairn's `--rpc-api`). Everything listens on 127.0.0.1, inside a network namespace
holding only `lo` when run as root (ipfs-cluster-service probes the LAN's router at start
whatever its configuration; see `loopback.in_netns`).

    python3 scripts/cluster-3.py [--backend cairn|kubo|both] [--cairn BIN]
                                 [--replicate-mib N] [--pin-ls N] [--summary FILE]

The scenario, driven with ipfs-cluster-ctl against peer 1, each step's output printed with
the status every peer reports:
  1. `add` of a 1 MiB file: PINNED on all three peers (replication -1);
  2. `pin add --replication 2` (allocated to peers 1 and 2) of a DAG only daemon 1 holds:
     PINNED on both; daemon 2 fetched it over Bitswap from daemon 1, which the connector had
     it `swarm/connect` to;
  3. `pin rm` of it, then `status`;
  4. `recover`: daemon 3 loses its pin of the file of step 1 (unpinned behind the cluster's
     back), the cluster reports it, `recover` pins it there again;
  5. removing a peer: `peers rm` of peer 3 (CRDT clusters re-allocate its pins and answer
     that the peer itself cannot be removed), peer 3 is stopped, `peers ls` lists two.

`--replicate-mib N` times `pin add --replication 2 --wait` of an N MiB file only daemon 1
holds (allocated to peers 1 and 2): the time for the second daemon to fetch and pin it.
`--pin-ls N` times `pin/ls?stream=true&type=recursive` of N pins on one daemon, through its
RPC, with the daemon's peak RSS during the listing (VmHWM reset once the restarted daemon has
settled; the peak of its start is reported too).

Without `--cairn`, cairn is built (`cargo build --release`). Kubo (`ipfs`), ipfs-cluster-service
and ipfs-cluster-ctl are found on PATH or in ~/go/bin. `--summary FILE` writes the statuses
and figures as JSON (tests/cluster_service.rs reads it).
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loopback import find, free_port, in_netns, wait_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = 3


def log(*parts):
    print(*parts, flush=True)


def http(method, url, body=None, headers=None, timeout=600):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def rpc(port, command, body=None, headers=None, timeout=600):
    return http("POST", f"http://127.0.0.1:{port}/api/v0/{command}", body, headers, timeout)


def rpc_json(port, command):
    return json.loads(rpc(port, command))


def pseudo_random(size, seed):
    """Bytes that neither compress nor deduplicate (a fresh generator per seed)."""
    import random
    return random.Random(seed).randbytes(size)


def vm(pid, field):
    """A /proc/<pid>/status field in KiB (VmRSS, VmHWM)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Daemon:
    """One IPFS daemon (cairn or Kubo) on 127.0.0.1."""

    def __init__(self, kind, work, index, tools):
        self.kind, self.tools, self.index = kind, tools, index
        self.dir = os.path.join(work, f"{kind}{index}")
        os.makedirs(self.dir, exist_ok=True)
        self.rpc, self.gateway, self.swarm = free_port(), free_port(), free_port()
        self.proc = None
        if kind == "kubo":
            self.ipfs("init", "--profile=test")
            for key, value in [
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
                ("Plugins.Plugins.telemetry.Config.Mode", '"off"'),
                ("Addresses.API", f'"/ip4/127.0.0.1/tcp/{self.rpc}"'),
                ("Addresses.Gateway", f'"/ip4/127.0.0.1/tcp/{self.gateway}"'),
                ("Addresses.Swarm", f'["/ip4/127.0.0.1/tcp/{self.swarm}"]'),
            ]:
                self.ipfs("config", "--json", key, value)

    def env(self):
        return dict(os.environ, IPFS_PATH=self.dir, IPFS_TELEMETRY="off", RUST_LOG="warn")

    def ipfs(self, *args):
        return subprocess.run([self.tools["ipfs"], *args], env=self.env(), check=True,
                              capture_output=True, text=True).stdout

    def start(self):
        out = open(os.path.join(self.dir, "daemon.log"), "a")
        if self.kind == "cairn":
            command = [self.tools["cairn"], "serve", "--data", self.dir,
                       "--gateway", f"127.0.0.1:{self.gateway}", "--cluster-api", "off",
                       "--rpc-api", f"127.0.0.1:{self.rpc}", "--metrics", "off",
                       "--swarm", f"/ip4/127.0.0.1/tcp/{self.swarm}"]
        else:
            command = [self.tools["ipfs"], "daemon"]
        self.proc = subprocess.Popen(command, env=self.env(), stdout=out, stderr=subprocess.STDOUT)
        wait_port(self.rpc, self.proc, f"{self.kind}{self.index}", seconds=60)
        deadline = time.time() + 30
        while True:
            try:
                self.id = rpc_json(self.rpc, "id")["ID"]
                return
            except (urllib.error.URLError, OSError, ValueError):
                if time.time() > deadline:
                    sys.exit(f"{self.kind}{self.index} does not answer id")
                time.sleep(0.1)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def add_local(self, path=None, chunks=None):
        """Adds a file (or the bytes `chunks` yields, through standard input) to this daemon
        only, outside the cluster: its root CID (Kubo's default CIDv0 on both)."""
        if self.kind == "cairn":
            command = [self.tools["cairn"], "add", "-Q", "--data", self.dir, path or "-"]
        else:
            command = [self.tools["ipfs"], "add", "-Q"] + ([path] if path else [])
        proc = subprocess.Popen(command, env=self.env(), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for chunk in chunks or []:
            proc.stdin.write(chunk)
        proc.stdin.close()
        root = proc.stdout.read().decode().strip()
        if proc.wait() != 0:
            sys.exit(f"adding to {self.kind}{self.index} failed: {proc.stderr.read().decode()}")
        return root


class ClusterPeer:
    def __init__(self, work, index, daemon, secret, tools):
        self.index, self.daemon, self.tools = index, daemon, tools
        self.dir = os.path.join(work, f"cluster{index}")
        self.rest, self.swarm = free_port(), free_port()
        self.proc = None
        env = self.env()
        subprocess.run([tools["ipfs-cluster-service"], "init", "--consensus", "crdt", "-f"],
                       env=env, check=True, capture_output=True)
        path = os.path.join(self.dir, "service.json")
        with open(path) as f:
            config = json.load(f)
        node = f"/ip4/127.0.0.1/tcp/{daemon.rpc}"
        cluster = config["cluster"]
        cluster.update(secret=secret, peername=f"{daemon.kind}{index}",
                       listen_multiaddress=[f"/ip4/127.0.0.1/tcp/{self.swarm}"],
                       monitor_ping_interval="2s", peer_watch_interval="2s", mdns_interval="0s",
                       enable_relay_hop=False, peer_addresses=[], disable_repinning=False)
        config["consensus"]["crdt"]["trusted_peers"] = ["*"]
        for informer in config["informer"].values():
            informer["metric_ttl"] = "5s"
        config["monitor"]["pubsubmon"]["check_interval"] = "2s"
        api = config["api"]
        api["restapi"]["http_listen_multiaddress"] = f"/ip4/127.0.0.1/tcp/{self.rest}"
        api["ipfsproxy"]["listen_multiaddress"] = f"/ip4/127.0.0.1/tcp/{free_port()}"
        api["ipfsproxy"]["node_multiaddress"] = node
        api["pinsvcapi"]["http_listen_multiaddress"] = f"/ip4/127.0.0.1/tcp/{free_port()}"
        connector = config["ipfs_connector"]["ipfshttp"]
        connector["node_multiaddress"] = node
        # The connector connects the daemons of the cluster's peers after this delay.
        connector["connect_swarms_delay"] = "1s"
        pebble = config.get("datastore", {}).get("pebble", {}).get("pebble_options")
        if pebble:
            pebble["cache_size_bytes"] = 64 << 20
        with open(path, "w") as f:
            json.dump(config, f, indent=2)
        with open(os.path.join(self.dir, "identity.json")) as f:
            self.id = json.load(f)["id"]

    def env(self):
        return dict(os.environ, IPFS_CLUSTER_PATH=self.dir)

    def addr(self):
        return f"/ip4/127.0.0.1/tcp/{self.swarm}/p2p/{self.id}"

    def start(self, bootstrap=None):
        out = open(os.path.join(self.dir, "service.log"), "a")
        command = [self.tools["ipfs-cluster-service"], "daemon"]
        if bootstrap:
            command += ["--bootstrap", bootstrap]
        self.proc = subprocess.Popen(command, env=self.env(), stdout=out, stderr=subprocess.STDOUT)
        wait_port(self.rest, self.proc, f"cluster{self.index}", seconds=90)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def get(self, path):
        return json.loads(http("GET", f"http://127.0.0.1:{self.rest}{path}"))


class Cluster:
    def __init__(self, kind, work, tools):
        self.kind, self.tools = kind, tools
        self.daemons = [Daemon(kind, work, i + 1, tools) for i in range(PEERS)]
        secret = os.urandom(32).hex()
        self.peers = [ClusterPeer(work, i + 1, d, secret, tools) for i, d in enumerate(self.daemons)]

    def start(self):
        for daemon in self.daemons:
            daemon.start()
        # Every peer knows every other's address: with --bootstrap alone, peers 2 and 3 reach
        # each other only through peer 1 (the cluster's DHT drops loopback addresses).
        for peer in self.peers:
            with open(os.path.join(peer.dir, "peerstore"), "w") as f:
                f.write("".join(p.addr() + "\n" for p in self.peers if p is not peer))
        for i, peer in enumerate(self.peers):
            peer.start(None if i == 0 else self.peers[0].addr())
        self.wait("every peer answers and sees the others", lambda: all(
            len(self.ctl_json(p, "/peers")) == PEERS for p in self.peers), 90)
        # Allocation needs every peer's freespace metric.
        self.wait("freespace metrics from every peer",
                  lambda: len(self.peers[0].get("/monitor/metrics/freespace")) >= PEERS, 60)
        # The connectors connect their daemons to each other (swarm/connect).
        self.wait("the daemons connected to each other", lambda: all(
            len(rpc_json(d.rpc, "swarm/peers").get("Peers") or []) >= PEERS - 1
            for d in self.daemons), 60)

    def ctl_json(self, peer, path):
        """A streamed REST reply (one JSON value per line) or a single value."""
        text = http("GET", f"http://127.0.0.1:{peer.rest}{path}").decode()
        values = [json.loads(line) for line in text.splitlines() if line.strip()]
        return values

    def stop(self):
        for peer in self.peers:
            peer.stop()
        for daemon in self.daemons:
            daemon.stop()

    def ctl(self, *args, peer=0, check=True):
        """Runs ipfs-cluster-ctl against a peer's REST API; prints and returns its output."""
        host = f"/ip4/127.0.0.1/tcp/{self.peers[peer].rest}"
        log(f"$ ipfs-cluster-ctl {' '.join(args)}")
        out = subprocess.run([self.tools["ipfs-cluster-ctl"], "--host", host, *args],
                             capture_output=True, text=True)
        text = (out.stdout + out.stderr).rstrip()
        for line in text.splitlines():
            log("    " + line)
        if check and out.returncode != 0:
            sys.exit(f"ipfs-cluster-ctl {args} failed")
        return text

    def statuses(self, cid):
        """Status of `cid` per peer name (via peer 1)."""
        info = self.peers[0].get(f"/pins/{cid}")
        return {v["peername"]: v["status"] for v in (info.get("peer_map") or {}).values()}

    def wait(self, what, done, seconds):
        deadline = time.time() + seconds
        while True:
            try:
                if done():
                    return
            except (urllib.error.URLError, OSError, ValueError, KeyError):
                pass
            if time.time() > deadline:
                sys.exit(f"timed out waiting for: {what}")
            time.sleep(0.25)

    def wait_status(self, cid, want, seconds=120):
        """Until every peer named in `want` reports its status; returns all statuses."""
        self.wait(f"{cid}: {want}", lambda: all(
            self.statuses(cid).get(name) == status for name, status in want.items()), seconds)
        return self.statuses(cid)


def fresh(cluster, peers):
    """Until peer 1's monitor holds an unexpired freespace metric from each of `peers`."""
    wanted = {p.id for p in peers}

    def fresh_peers():
        # `expire` is in Unix nanoseconds; a second's margin for the `pin add` to come.
        soon = time.time_ns() + 1_000_000_000
        return {m.get("peer") for m in cluster.peers[0].get("/monitor/metrics/freespace")
                if m.get("valid", True) and m.get("expire", soon + 1) > soon}

    cluster.wait("fresh freespace metrics from the allocated peers",
                 lambda: wanted <= fresh_peers(), 60)


def scenario(cluster, work):
    kind = cluster.kind
    names = [f"{kind}{i + 1}" for i in range(PEERS)]
    steps = {}

    def record(step, statuses):
        steps[step] = statuses
        log(f"  -> {step}: " + ", ".join(f"{n} {s}" for n, s in sorted(statuses.items())))

    log(f"\n== {kind}: 1. add (replication -1: every peer)")
    path = os.path.join(work, "file-1mib.bin")
    with open(path, "wb") as f:
        f.write(pseudo_random(1 << 20, 1))
    added = cluster.ctl("add", path)
    file_cid = added.split()[1]
    record("add", cluster.wait_status(file_cid, {n: "pinned" for n in names}))

    log(f"\n== {kind}: 2. pin add --replication 2 of a DAG only {names[0]}'s daemon holds")
    path = os.path.join(work, "dag-4mib.bin")
    with open(path, "wb") as f:
        f.write(pseudo_random(4 << 20, 2))
    dag = cluster.daemons[0].add_local(path)
    on_two = ",".join(p.id for p in cluster.peers[:2])
    # The allocator passes over a peer whose freespace metric has expired (5 s here): on a
    # loaded machine a late one made ipfs-cluster allocate elsewhere. Both are fresh first.
    fresh(cluster, cluster.peers[:2])
    cluster.ctl("pin", "add", "--replication", "2", "--allocations", on_two, "--wait", dag)
    statuses = cluster.wait_status(dag, {names[0]: "pinned", names[1]: "pinned"})
    record("replicate", statuses)
    # Daemon 2 now holds the whole DAG: its own RPC lists the pin.
    listed = rpc_json(cluster.daemons[1].rpc, f"pin/ls?arg={dag}&type=recursive&stream=true")
    steps["replicate_daemon2_pin"] = listed
    log(f"  -> {names[1]}'s daemon: pin/ls {dag}: {listed}")
    cluster.ctl("status", dag)

    log(f"\n== {kind}: 3. pin rm, then status")
    cluster.ctl("pin", "rm", "--wait", dag)
    cluster.wait("the pin gone from the cluster's state",
                 lambda: all(s == "unpinned" for s in cluster.statuses(dag).values()), 60)
    record("pin_rm", cluster.statuses(dag))
    cluster.ctl("status")

    log(f"\n== {kind}: 4. recover: {names[2]}'s daemon loses the file's pin")
    rpc(cluster.daemons[2].rpc, f"pin/rm?arg={file_cid}")
    # The peer's tracker learns of it when it next asks its daemon (a status asks at once).
    cluster.wait(f"{names[2]} no longer reporting the file pinned",
                 lambda: cluster.statuses(file_cid).get(names[2]) != "pinned", 60)
    record("lost", cluster.statuses(file_cid))
    cluster.ctl("status", file_cid)
    cluster.ctl("recover", file_cid)
    record("recover", cluster.wait_status(file_cid, {n: "pinned" for n in names}))
    cluster.ctl("status", file_cid)

    log(f"\n== {kind}: 5. removing {names[2]}")
    cluster.ctl("peers", "rm", cluster.peers[2].id, check=False)
    cluster.peers[2].stop()
    cluster.daemons[2].stop()
    seen = []

    def two_left():
        # The peer set as peer 1 lists it: answering peers only, the same twice in a row
        # (a stopped peer is listed, with an error, until its metrics expire).
        peers = cluster.ctl_json(cluster.peers[0], "/peers")
        names = sorted(p.get("peername", "") for p in peers if not p.get("error"))
        seen.append(names if len(peers) == len(names) else None)
        return len(seen) >= 2 and seen[-1] == seen[-2] and seen[-1] is not None \
            and len(seen[-1]) == PEERS - 1

    cluster.wait(f"{names[2]} gone from the peer set", two_left, 120)
    steps["peers_after_removal"] = seen[-1]
    cluster.ctl("peers", "ls")
    log(f"  -> peers: {steps['peers_after_removal']}")
    return steps


def replicate(cluster, work, mib):
    """Seconds for `pin add --replication 2 --wait` of `mib` MiB that only daemon 1 holds."""
    root = cluster.daemons[0].add_local(
        chunks=(pseudo_random(1 << 20, 1000 + i) for i in range(mib)))
    on_two = ",".join(p.id for p in cluster.peers[:2])
    log(f"\n== {cluster.kind}: replicating a {mib} MiB DAG ({root}) to a second peer")
    started = time.time()
    cluster.ctl("pin", "add", "--replication", "2", "--allocations", on_two, "--wait",
                "--wait-timeout", "1h", root)
    cluster.wait_status(root, {f"{cluster.kind}1": "pinned", f"{cluster.kind}2": "pinned"}, 3600)
    seconds = time.time() - started
    log(f"  -> PINNED on two peers after {seconds:.1f} s")
    return seconds


def pin_ls(kind, work, tools, count):
    """Time and peak RSS of listing `count` recursive pins through the RPC."""
    daemon = Daemon(kind, os.path.join(work, "pinls"), 1, tools)
    daemon.start()
    boundary = "pinlsboundary"
    log(f"\n== {kind}: making {count} pins (block/put pin=true)")
    started = time.time()
    batch = 10_000
    for first in range(0, count, batch):
        parts = []
        for n in range(first, min(count, first + batch)):
            parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                         f"filename=\"b\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                         f"pin number {n}\r\n".encode())
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        rpc(daemon.rpc, "block/put?pin=true", body,
            {"Content-Type": f"multipart/form-data; boundary={boundary}"}, timeout=3600)
    log(f"  -> {time.time() - started:.1f} s")
    daemon.stop()
    daemon.start()
    # Let start-up work settle (cairn announces its pins' roots at start), then reset the
    # peak (VmHWM) before each listing so that it measures the listing alone.
    time.sleep(20)
    before = vm(daemon.proc.pid, "VmRSS")
    settled_peak = vm(daemon.proc.pid, "VmHWM")
    runs = []
    for _ in range(3):
        with open(f"/proc/{daemon.proc.pid}/clear_refs", "w") as f:
            f.write("5")
        started = time.time()
        lines = 0
        request = urllib.request.Request(
            f"http://127.0.0.1:{daemon.rpc}/api/v0/pin/ls?stream=true&type=recursive",
            method="POST")
        with urllib.request.urlopen(request, timeout=3600) as response:
            for line in response:
                if line.strip():
                    lines += 1
        runs.append((time.time() - started, vm(daemon.proc.pid, "VmHWM")))
        ours = lines - (1 if kind == "kubo" else 0)  # Kubo's repository pins its empty directory
        if ours != count:
            sys.exit(f"pin/ls listed {ours} pins, not {count}")
    daemon.stop()
    seconds = sorted(r[0] for r in runs)[1]
    peak = max(r[1] for r in runs)
    log(f"  -> {count} pins listed in {', '.join(f'{r[0]:.2f}' for r in runs)} s; RSS "
        f"{before / 1024:.0f} MiB before (peak since start {settled_peak / 1024:.0f} MiB), "
        f"peak during a listing {peak / 1024:.0f} MiB")
    return {"pins": count, "seconds_median_of_3": round(seconds, 3),
            "rss_before_mib": round(before / 1024, 1),
            "start_peak_rss_mib": round(settled_peak / 1024, 1),
            "listing_peak_rss_mib": round(peak / 1024, 1)}


def tools_for(args):
    tools = {}
    for tool in ("ipfs-cluster-service", "ipfs-cluster-ctl"):
        tools[tool] = find(tool) or sys.exit(f"{tool} not found (scripts/install-peers.sh cluster)")
    if "kubo" in args.backends:
        tools["ipfs"] = find("ipfs") or sys.exit("Kubo (ipfs) not found (scripts/install-peers.sh kubo)")
    if "cairn" in args.backends:
        if args.cairn:
            tools["cairn"] = os.path.abspath(args.cairn)
        else:
            subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)
            target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
            tools["cairn"] = os.path.join(target, "release", "cairn")
    return tools


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["cairn", "kubo", "both"], default="both")
    parser.add_argument("--cairn", help="cairn binary [default: cargo build --release]")
    parser.add_argument("--no-scenario", action="store_true", help="skip the scenario")
    parser.add_argument("--replicate-mib", type=int, default=0,
                        help="time replicating a DAG of this many MiB to a second peer")
    parser.add_argument("--pin-ls", type=int, default=0, help="time pin/ls of this many pins")
    parser.add_argument("--summary", help="write statuses and figures to this JSON file")
    args = parser.parse_args()
    args.backends = ["cairn", "kubo"] if args.backend == "both" else [args.backend]
    # Tools first (a build needs the network), then into the namespace with the binary named.
    tools = tools_for(args)
    if "cairn" in tools and not args.cairn:
        sys.argv += ["--cairn", tools["cairn"]]
    in_netns(f"cairn-cluster-{os.getpid()}")
    if not os.environ.get("CAIRN_IN_NETNS"):
        log("note: not root (or no `ip`), so not in a network namespace: ipfs-cluster-service "
            "will probe the LAN's router (UPnP, NAT-PMP)")
    summary = {}
    for kind in args.backends:
        work = tempfile.mkdtemp(prefix=f"cluster-{kind}-")
        result = summary.setdefault(kind, {})
        try:
            if not args.no_scenario or args.replicate_mib:
                cluster = Cluster(kind, work, tools)
                try:
                    log(f"\n== {kind}: starting 3 daemons and 3 cluster peers")
                    started = time.time()
                    cluster.start()
                    log(f"  -> ready in {time.time() - started:.1f} s")
                    if args.replicate_mib:
                        result["replicate_seconds"] = round(replicate(cluster, work, args.replicate_mib), 1)
                        result["replicate_mib"] = args.replicate_mib
                    if not args.no_scenario:
                        result["scenario"] = scenario(cluster, work)
                finally:
                    cluster.stop()
            if args.pin_ls:
                result["pin_ls"] = pin_ls(kind, work, tools, args.pin_ls)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump(summary, f, indent=2)
    log("\n" + json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
