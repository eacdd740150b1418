#!/usr/bin/env python3
"""Resident memory of cairn and of Kubo with 1,000 connected libp2p peers, side by side.

Each node is started fresh and alone, TCP only on 127.0.0.1:
  - cairn: `serve --swarm /ip4/127.0.0.1/tcp/<port> --max-peers 1200 --cluster-api off`
    (DHT auto, i.e. a WAN client and a LAN server on loopback), fresh data directory;
  - Kubo (`ipfs`, online): `init --profile=test`, configured to stay on this machine (no
    bootstrap, MDNS, AutoConf, AutoTLS, delegated routers or publishers, DNS resolvers, NAT
    mapping, relays or telemetry), Swarm.ConnMgr LowWater 1100 / HighWater 1200 (its defaults,
    32/96, would trim the peers away), Swarm.ResourceMgr left enabled with its computed
    defaults (the script prints the System ConnsInbound and FD limits it reports; on a
    24 GiB machine 12052 and 10000, well above 1,000).
Both hold one 4 KiB block (the same raw-leaf CIDv1) before they start: larger than the 1 KiB
up to which both answer a want-have with the block itself, so each answers HAVE.

Then `peer_load` (examples/peer_load.rs) connects --peers peers to it (TCP, Noise, Yamux,
Identify, Ping; each peer asks the LAN DHT for a random key once and sends a Bitswap 1.2.0
want-have for the held block and for one nobody has, keeping its stream open), holds them
--hold seconds, and prints `hold end:`; the node's VmRSS and VmHWM (peak) are read from
/proc at that moment, while every peer is still connected. The idle figure is VmRSS
--settle seconds after the node started listening, before any peer.

Everything listens on 127.0.0.1 and peer_load refuses any other target. Run as root to have
the script re-run itself inside a network namespace holding only `lo`; it also raises
RLIMIT_NOFILE for itself and its children (each peer is a socket on both sides).

Usage: scripts/peers-rss.py --cairn target/release/cairn
           [--peer-load target/release/examples/peer_load] [--peers 1000] [--hold 30]
           [--no-kubo]
Needs: a release build of both (`cargo build --release --bin cairn --example peer_load`);
Kubo (`ipfs`, optional: skipped with a message when absent).
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from loopback import find, free_port, in_netns as enter_netns, quiet_listeners, wait_port

NETNS = "cairn-peers-rss"
KUBO = None  # the ipfs binary, once found




def raise_nofile(wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    if hard != resource.RLIM_INFINITY and hard < wanted:
        try:  # root may raise the hard limit too
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            wanted = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted








def memory(pid):
    """(VmRSS, VmHWM) in KiB."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["VmHWM"]


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cairn_add(binary, data, path, only_hash=False):
    args = [binary, "add", "--data", data, "-Q", "--cid-version", "1"] + (["-n"] if only_hash else []) + [path]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


def start_cairn(binary, work, block):
    data = tempfile.mkdtemp(dir=work, prefix="cairn-")
    cid = cairn_add(binary, data, block)
    swarm = free_port()
    proc = subprocess.Popen([binary, "serve", "--data", data, "--gateway", f"127.0.0.1:{free_port()}",
                             *quiet_listeners(binary), "--swarm", f"/ip4/127.0.0.1/tcp/{swarm}",
                             "--max-peers", "1200"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=dict(os.environ, RUST_LOG="warn"))
    target = None
    for line in proc.stdout:
        if line.startswith("swarm listening on "):
            target = line.split()[-1]
        if line.startswith("gateway listening on"):
            break
    if not target:
        stop(proc)
        sys.exit("cairn printed no swarm address")
    threading.Thread(target=lambda: proc.stdout.read(), daemon=True).start()
    return proc, target, cid, None


def ipfs(repo, *args):
    env = dict(os.environ, IPFS_PATH=repo, IPFS_TELEMETRY="off")
    return subprocess.run([KUBO, *args], env=env, check=True, capture_output=True, text=True).stdout.strip()


def start_kubo(work, block):
    repo = os.path.join(work, "kubo")
    ipfs(repo, "init", "--profile=test")
    api, swarm = free_port(), free_port()
    for key, value in [
        ("Bootstrap", "[]"), ("Discovery.MDNS.Enabled", "false"), ("AutoConf.Enabled", "false"),
        ("AutoTLS.Enabled", "false"), ("Routing.DelegatedRouters", "[]"),
        ("Ipns.DelegatedPublishers", "[]"), ("DNS.Resolvers", "{}"),
        ("Swarm.DisableNatPortMap", "true"), ("Swarm.RelayClient.Enabled", "false"),
        ("Swarm.RelayService.Enabled", "false"), ("Plugins.Plugins.telemetry.Config.Mode", '"off"'),
        ("Addresses.API", f'"/ip4/127.0.0.1/tcp/{api}"'),
        ("Addresses.Gateway", f'"/ip4/127.0.0.1/tcp/{free_port()}"'),
        ("Addresses.Swarm", f'["/ip4/127.0.0.1/tcp/{swarm}"]'),
        ("Swarm.ConnMgr.LowWater", "1100"), ("Swarm.ConnMgr.HighWater", "1200"),
    ]:
        ipfs(repo, "config", "--json", key, value)
    cid = ipfs(repo, "add", "-Q", "--cid-version=1", block)
    peer = ipfs(repo, "config", "Identity.PeerID")
    env = dict(os.environ, IPFS_PATH=repo, IPFS_TELEMETRY="off")
    proc = subprocess.Popen([KUBO, "daemon"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(api, proc, "kubo", seconds=60)
    wait_port(swarm, proc, "kubo", seconds=60)
    limits = {}
    try:
        out = json.loads(ipfs(repo, "swarm", "resources", "--enc=json"))
        system = out.get("System", {})
        limits = {k: system.get(k) for k in ("ConnsInbound", "FD")}
    except (subprocess.CalledProcessError, ValueError):
        pass
    return proc, f"/ip4/127.0.0.1/tcp/{swarm}/p2p/{peer}", cid, limits


def load(peer_load, target, wants, args, pid):
    """Runs peer_load against target; returns its two report lines and the node's memory and
    open files at hold end."""
    cmd = [peer_load, "--target", target, "--peers", str(args.peers), "--hold", str(args.hold),
           "--linger", "3", "--kad", "/ipfs/lan/kad/1.0.0"]
    for cid in wants:
        cmd += ["--want", cid]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    dialed = held = None
    at_end = None
    for line in proc.stdout:
        sys.stdout.write("    " + line)
        if line.startswith("dialed:"):
            dialed = parse(line)
        elif line.startswith("hold end:"):
            at_end = memory(pid) + (open_fds(pid),)
            held = parse(line)
    proc.wait()
    if dialed is None or held is None:
        sys.exit(f"peer_load ended without its report (exit {proc.returncode})")
    return dialed, held, at_end


def parse(line):
    return {k: v for k, _, v in (w.partition("=") for w in line.split(":", 1)[1].split()) if v}


def measure(name, start, peer_load, args, work, block, missing):
    print(f"\n{name}")
    proc, target, cid, limits = start(work, block)
    try:
        if limits:
            print(f"    ResourceMgr System limits: {limits}")
        time.sleep(args.settle)
        idle, _ = memory(proc.pid)
        idle_fds = open_fds(proc.pid)
        print(f"    idle: VmRSS {mib(idle)}, {idle_fds} open files")
        dialed, held, (rss, hwm, fds) = load(peer_load, target, [cid, missing], args, proc.pid)
        print(f"    hold end: VmRSS {mib(rss)}, VmHWM {mib(hwm)}, {fds} open files")
        return name, idle, rss, hwm, dialed, held, cid
    finally:
        stop(proc)


def main():
    global KUBO
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cairn", required=True, help="cairn binary (a release build)")
    ap.add_argument("--peer-load", help="peer_load example binary [default: examples/peer_load next to --cairn]")
    ap.add_argument("--peers", type=int, default=1000)
    ap.add_argument("--hold", type=int, default=30)
    ap.add_argument("--settle", type=float, default=3.0, help="seconds after start before the idle reading")
    ap.add_argument("--no-kubo", action="store_true")
    args = ap.parse_args()
    enter_netns(NETNS)
    cairn = os.path.abspath(args.cairn)
    peer_load = os.path.abspath(args.peer_load or os.path.join(os.path.dirname(cairn), "examples", "peer_load"))
    for path in (cairn, peer_load):
        if not os.access(path, os.X_OK):
            sys.exit(f"{path}: not found (cargo build --release --bin cairn --example peer_load)")
    nofile = raise_nofile(2 * args.peers + 1024)
    print(f"RLIMIT_NOFILE {nofile}; {os.cpu_count()} CPUs; in a network namespace: {bool(os.environ.get('CAIRN_IN_NETNS'))}")
    work = tempfile.mkdtemp(prefix="cairn-peers-rss-")
    try:
        block = os.path.join(work, "block.bin")
        with open(block, "wb") as f:
            f.write(os.urandom(4096))
        other = os.path.join(work, "other.bin")
        with open(other, "wb") as f:
            f.write(os.urandom(1024))
        missing = cairn_add(cairn, tempfile.mkdtemp(dir=work), other, only_hash=True)
        runs = [("cairn", lambda w, b: start_cairn(cairn, w, b))]
        if args.no_kubo:
            pass
        elif find("ipfs"):
            KUBO = find("ipfs")
            version = subprocess.run([KUBO, "version", "-n"], capture_output=True, text=True,
                                     env=dict(os.environ, IPFS_TELEMETRY="off")).stdout.strip()
            runs.append((f"Kubo {version}", start_kubo))
        else:
            print("Kubo (ipfs) not found: cairn only")
        rows = [measure(name, start, peer_load, args, work, block, missing) for name, start in runs]
        cids = {row[6] for row in rows}
        if len(cids) != 1:
            print(f"warning: the nodes hold different CIDs for the same bytes: {cids}")
        print(f"\n{args.peers} peers (TCP, Noise, Yamux, Identify, Ping, one LAN DHT query, a Bitswap "
              f"want-have for a held and a missing block), held {args.hold} s\n")
        print("| node | idle RSS | RSS, peers connected | peak RSS (VmHWM) | connected at hold end | dial time | answers: HAVE / block / DONT_HAVE |")
        print("|---|---|---|---|---|---|---|")
        for name, idle, rss, hwm, dialed, held, _ in rows:
            print(f"| {name} | {mib(idle)} | {mib(rss)} | {mib(hwm)} | {held['connected']} / {args.peers} "
                  f"| {dialed['seconds']} s | {held['have']} / {held['blocks']} / {held['dont_have']} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
