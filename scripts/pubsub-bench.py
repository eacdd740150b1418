#!/usr/bin/env python3
"""Pubsub between cairn and Kubo on one loopback network: latency and throughput side by
side, and cairn's memory under floods.

The network: Kubo A and Kubo B connected to each other; cairn C kept connected to both.
  - latency: one message at a time, the three directions interleaved: Kubo A → Kubo B,
    cairn → Kubo B, Kubo A → cairn (a topic per direction, so each message takes the direct
    link). Kubo publishes over its RPC API (`pubsub/pub`) and receives on a `pubsub/sub`
    stream; cairn publishes with `POST /pubsub/<topic>` and receives on an event stream. The
    time is from the start of the publishing request to the message's arrival, on one clock.
  - throughput: bursts of 100-byte messages at increasing rates, for each direction; the
    highest rate at which every message arrived.
  - memory: cairn's resident set (sampled every 20 ms) while Kubo A and B flood 1 MiB
    messages to 8 topics on which cairn holds a stalled subscriber each; and, over HTTP
    alone, four stalled subscribers on four topics while 1 MiB messages are POSTed (issue
    18), with `--before` an older binary for comparison. Against `--pubsub-memory`.

Everything listens on 127.0.0.1. Run as root to have the script re-run itself inside a
network namespace that holds only `lo`.

Usage: scripts/pubsub-bench.py --cairn target/release/cairn [--before OLD_CAIRN] [--rounds 200]
Needs: Kubo (`ipfs`).
"""

import argparse
import base64
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from loopback import (find, free_port, in_netns, ipfs, quiet_listeners, start_kubo,
                      wait_connected, wait_port)

MIB = 1 << 20


def multibase(topic):
    return "u" + base64.urlsafe_b64encode(topic.encode()).decode().rstrip("=")


def unmultibase(text):
    text = text[1:]
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def api_port(repo):
    with open(os.path.join(repo, "api")) as f:
        return int(f.read().strip().rsplit("/", 1)[1])


class Kubo:
    def __init__(self, repo, proc, _gateway, addr):
        self.repo, self.proc, self.addr = repo, proc, addr
        self.id = addr.rsplit("/p2p/", 1)[1]
        self.api = api_port(repo)

    def rpc(self, command):
        conn = http.client.HTTPConnection("127.0.0.1", self.api, timeout=60)
        conn.request("POST", f"/api/v0/{command}")
        response = conn.getresponse()
        body = response.read()
        conn.close()
        return json.loads(body) if body.strip() else {}

    def topic_peers(self, topic):
        return self.rpc(f"pubsub/peers?arg={multibase(topic)}").get("Strings") or []

    def publisher(self):
        return KuboPublisher(self.api)

    def subscribe(self, topic, on_message):
        """A `pubsub/sub` stream read by a thread; `on_message(data bytes)` per message."""
        conn = http.client.HTTPConnection("127.0.0.1", self.api)
        conn.request("POST", f"/api/v0/pubsub/sub?arg={multibase(topic)}")
        response = conn.getresponse()

        def read():
            for line in response:
                if line.strip():
                    on_message(unmultibase(json.loads(line)["data"]))

        threading.Thread(target=read, daemon=True).start()
        return conn


class KuboPublisher:
    """`pubsub/pub` over one keep-alive connection."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def publish(self, topic, data):
        body = (b"--xXx\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d\"\r\n"
                b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n--xXx--\r\n")
        self.conn.request("POST", f"/api/v0/pubsub/pub?arg={multibase(topic)}", body,
                          {"Content-Type": "multipart/form-data; boundary=xXx"})
        response = self.conn.getresponse()
        response.read()
        return response.status == 200


class Cairn:
    def __init__(self, binary, work, name, peers=(), extra=(), env=None):
        self.gateway = free_port()
        self.swarm_port = swarm = free_port()
        args = [binary, "serve", "--data", os.path.join(work, name), "--gateway",
                f"127.0.0.1:{self.gateway}", *quiet_listeners(binary)]
        if peers:
            args += ["--swarm", f"/ip4/127.0.0.1/tcp/{swarm}"]
            for peer in peers:
                args += ["--peer", peer]
        else:
            args += ["--offline"]
        self.proc = subprocess.Popen(args + list(extra), stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL,
                                     env=dict(os.environ, RUST_LOG="warn", **(env or {})))
        self.id = None
        for line in self.proc.stdout:
            line = line.decode()
            if line.startswith("swarm listening on "):
                self.id = line.strip().rsplit("/p2p/", 1)[1]
            else:
                break
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        wait_port(self.gateway, self.proc, name)

    def publisher(self):
        return CairnPublisher(self.gateway)

    def subscribe(self, topic, on_message=None):
        """An event stream (utf8 format) read by a thread calling `on_message(data bytes)`;
        without `on_message`, opened and never read (a stalled subscriber)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.gateway)
        conn.request("GET", f"/pubsub/{topic}?format=utf8", headers={"Accept": "text/event-stream"})
        response = conn.getresponse()
        if on_message is None:
            return conn

        def read():
            for line in response:
                if line.startswith(b"data: {"):
                    on_message(json.loads(line[6:])["data"].encode())

        threading.Thread(target=read, daemon=True).start()
        return conn

    def subscribed(self, topic):
        conn = http.client.HTTPConnection("127.0.0.1", self.gateway, timeout=10)
        conn.request("GET", f"/pubsub/{topic}")
        answer = json.loads(conn.getresponse().read())
        conn.close()
        return answer["subscribed"]

    def rss(self, field="VmRSS"):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        return 0

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class CairnPublisher:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def publish(self, topic, data):
        self.conn.request("POST", f"/pubsub/{topic}", data)
        response = self.conn.getresponse()
        response.read()
        return response.status == 200


class Arrivals:
    """Arrival times of messages by their text, with waiting for one."""

    def __init__(self):
        self.times = {}
        self.cond = threading.Condition()

    def __call__(self, data):
        now = time.perf_counter()
        key = data[:40]
        with self.cond:
            self.times.setdefault(key, now)
            self.cond.notify_all()

    def wait(self, key, seconds):
        deadline = time.perf_counter() + seconds
        with self.cond:
            while key not in self.times:
                left = deadline - time.perf_counter()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.times[key]

    def count(self, prefix):
        with self.cond:
            return sum(1 for k in self.times if k.startswith(prefix))


def wait_until(what, check, seconds=30):
    deadline = time.time() + seconds
    while not check():
        if time.time() > deadline:
            sys.exit(f"timed out: {what}")
        time.sleep(0.1)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def latency(directions, rounds):
    """Interleaved rounds; per direction the latencies in ms (a lost message counts as lost)."""
    results = {name: [] for name in directions}
    lost = {name: 0 for name in directions}
    for r in range(rounds):
        for name, (publisher, topic, arrivals) in directions.items():
            key = f"{name}:{r}:".encode()
            data = key.ljust(40, b".")
            start = time.perf_counter()
            publisher.publish(topic, data)
            arrived = arrivals.wait(data[:40], 5)
            if arrived is None:
                lost[name] += 1
            else:
                results[name].append((arrived - start) * 1000)
            time.sleep(0.005)
    return results, lost


def burst(make_publisher, topic, arrivals, tag, rate, seconds, threads):
    """Publishes `rate`×`seconds` messages at `rate` per second from `threads` connections;
    returns (sent, received, achieved rate)."""
    total = int(rate * seconds)
    per_thread = total // threads
    start = time.perf_counter()

    def send(t):
        publisher = make_publisher()
        for i in range(per_thread):
            due = start + (i * threads + t) / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            publisher.publish(topic, f"{tag}:{t}:{i}:".encode().ljust(100, b"."))

    workers = [threading.Thread(target=send, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    time.sleep(2)
    received = arrivals.count(f"{tag}:".encode())
    return per_thread * threads, received, per_thread * threads / elapsed


def throughput(directions, rates, seconds):
    """Per direction, per rate: (achieved rate, sent, received)."""
    table = {}
    for name, (make_publisher, topic, arrivals) in directions.items():
        for rate in rates:
            tag = f"{name}-{rate}"
            threads = 1 if rate <= 500 else 4
            sent, received, achieved = burst(make_publisher, topic, arrivals, tag, rate,
                                             seconds, threads)
            table[(name, rate)] = (achieved, sent, received)
            print(f"  {name} {rate}/s: achieved {achieved:.0f}/s, {received}/{sent} arrived",
                  file=sys.stderr)
    return table


class RssWatch:
    def __init__(self, cairn):
        self.cairn, self.peak, self.running = cairn, 0, True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            self.peak = max(self.peak, self.cairn.rss())
            time.sleep(0.02)

    def stop(self):
        self.running = False
        self.thread.join()
        return max(self.peak, self.cairn.rss())


def flood_memory(cairn, kubos, seconds, topics=8):
    """Kubo A and B flood 1 MiB messages to `topics` topics, each with a stalled subscriber
    on cairn. Returns (baseline, peak, after, MiB offered, seconds)."""
    names = [f"flood-{i}" for i in range(topics)]
    time.sleep(1)
    baseline = cairn.rss()
    stalled = [cairn.subscribe(t) for t in names]
    for kubo in kubos:
        wait_until("Kubo sees cairn's flood topics",
                   lambda: all(cairn.id in kubo.topic_peers(t) for t in names))
    watch = RssWatch(cairn)
    sent = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds
    data = b"f" * (MIB - 300)

    def flood(kubo, offset):
        publisher = kubo.publisher()
        i = offset
        while time.perf_counter() < stop_at:
            if publisher.publish(names[i % topics], data):
                with lock:
                    sent[0] += 1
            i += 1

    workers = [threading.Thread(target=flood, args=(k, n)) for k in kubos for n in range(2)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    peak = watch.stop()
    for conn in stalled:
        conn.close()
    time.sleep(10)
    return baseline, peak, cairn.rss(), sent[0], elapsed


def stalled_http_memory(binary, work, name, extra, messages=160, topics=4):
    """Issue 18's case: `topics` stalled subscribers on as many topics, `messages` × 1 MiB
    POSTed to each. Returns (baseline, peak, after)."""
    cairn = Cairn(binary, work, name, extra=extra)
    try:
        warm = Arrivals()
        cairn.subscribe("warmup", warm)
        publisher = cairn.publisher()
        for i in range(4):
            publisher.publish("warmup", f"w{i}".encode().ljust(MIB, b"w"))
        time.sleep(1)
        baseline = cairn.rss()
        watch = RssWatch(cairn)
        stalled = [cairn.subscribe(f"stalled-{t}") for t in range(topics)]
        time.sleep(0.5)
        data = b"m" * MIB
        for _ in range(messages):
            for t in range(topics):
                publisher.publish(f"stalled-{t}", data)
        peak = watch.stop()
        for conn in stalled:
            conn.close()
        time.sleep(10)
        return baseline, peak, cairn.rss()
    finally:
        cairn.stop()


def mib(n):
    return f"{n / MIB:.0f} MiB"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cairn", required=True)
    parser.add_argument("--before", help="an older cairn binary, for the HTTP memory case")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--rates", default="50,100,200,500,1000,2000,4000")
    parser.add_argument("--flood-seconds", type=int, default=20)
    args = parser.parse_args()
    in_netns("cairn-pubsub")
    os.environ["PATH"] += os.pathsep + os.path.expanduser("~/go/bin")
    if not find("ipfs"):
        sys.exit("needs Kubo (ipfs)")
    cairn_bin = os.path.abspath(args.cairn)
    work = tempfile.mkdtemp(prefix="pubsub-bench-")
    procs = []
    try:
        pubsub = [("Pubsub.Enabled", "true"), ("Routing.Type", '"none"')]
        a = Kubo(*start_kubo(work, "a", config=pubsub))
        procs.append(a.proc)
        b = Kubo(*start_kubo(work, "b", peer=a.addr, config=pubsub))
        procs.append(b.proc)
        wait_connected(b.repo, a.id)
        c = Cairn(cairn_bin, work, "cairn", peers=[a.addr, b.addr])
        procs.append(c.proc)
        wait_connected(a.repo, c.id)
        wait_connected(b.repo, c.id)
        c_swarm = f"/ip4/127.0.0.1/tcp/{c.swarm_port}/p2p/{c.id}"
        d = Cairn(cairn_bin, work, "cairn-d", peers=[c_swarm])
        procs.append(d.proc)
        print(f"Kubo {ipfs(a.repo, 'version', '-n')}, cairn {cairn_bin}", file=sys.stderr)

        # Latency.
        at_b, at_c = Arrivals(), Arrivals()
        keep = [b.subscribe("lat-k2k", at_b), b.subscribe("lat-c2k", at_b),
                c.subscribe("lat-k2c", at_c)]
        wait_until("A knows B's topic", lambda: b.id in a.topic_peers("lat-k2k"))
        wait_until("cairn subscribed", lambda: c.subscribed("lat-k2c"))
        wait_until("A knows cairn's topic", lambda: c.id in a.topic_peers("lat-k2c"))
        time.sleep(2)  # cairn learns B's subscription
        directions = {
            "Kubo → Kubo": (a.publisher(), "lat-k2k", at_b),
            "cairn → Kubo": (c.publisher(), "lat-c2k", at_b),
            "Kubo → cairn": (a.publisher(), "lat-k2c", at_c),
        }
        # Warm-up round, not counted.
        latency(directions, 5)
        lat, lost = latency(directions, args.rounds)
        print(f"\n### Latency, {args.rounds} messages each (interleaved), ms\n")
        print("| direction | median | p90 | p99 | lost |")
        print("|---|---|---|---|---|")
        for name, values in lat.items():
            print(f"| {name} | {statistics.median(values):.2f} | {percentile(values, 0.9):.2f} | "
                  f"{percentile(values, 0.99):.2f} | {lost[name]} |")

        # Throughput (and cairn → cairn, C to D, for what cairn itself carries).
        at_d = Arrivals()
        keep.append(d.subscribe("tp-c2c", at_d))
        wait_until("cairn D subscribed", lambda: d.subscribed("tp-c2c"))
        time.sleep(2)
        rates = [int(r) for r in args.rates.split(",")]
        names = ["Kubo → Kubo", "cairn → Kubo", "Kubo → cairn", "cairn → cairn"]
        tp = throughput(dict(zip(names, [
            (a.publisher, "lat-k2k", at_b),
            (c.publisher, "lat-c2k", at_b),
            (a.publisher, "lat-k2c", at_c),
            (c.publisher, "tp-c2c", at_d),
        ])), rates, 3)
        print("\n### Throughput: 100-byte messages through one topic in 3 s bursts; arrived of "
              "sent (the rate the publisher reached)\n")
        print("| rate asked | " + " | ".join(names) + " |")
        print("|---" * (len(names) + 1) + "|")
        for rate in rates:
            cells = []
            for name in names:
                achieved, sent, received = tp[(name, rate)]
                mark = "" if received == sent else " ✗"
                cells.append(f"{received}/{sent} ({achieved:.0f}/s){mark}")
            print(f"| {rate}/s | " + " | ".join(cells) + " |")
        del keep
        d.stop()
        procs.remove(d.proc)

        # Memory under a flood from peers.
        baseline, peak, after, sent, elapsed = flood_memory(c, [a, b], args.flood_seconds)
        print("\n### cairn's memory while Kubo A and B flood 1 MiB messages to 8 topics, each "
              "with a stalled subscriber on cairn (default `--pubsub-memory` 64 MiB)\n")
        print(f"- offered: {sent} messages in {elapsed:.0f} s ({sent / elapsed:.0f} MiB/s)")
        print(f"- resident set: baseline {mib(baseline)}, peak {mib(peak)} "
              f"(+{mib(peak - baseline)}), 10 s after {mib(after)}")
        c.stop()
        procs.remove(c.proc)

        # Memory with stalled HTTP subscribers.
        print("\n### Four stalled subscribers on four topics, 160 × 1 MiB POSTed to each\n")
        print("| binary | baseline | peak | growth | 10 s after they left |")
        print("|---|---|---|---|---|")
        runs = [("this", cairn_bin, [])]
        if args.before:
            runs.insert(0, ("before", os.path.abspath(args.before), []))
        for label, binary, extra in runs:
            baseline, peak, after = stalled_http_memory(binary, work, f"http-{label}", extra)
            print(f"| {label} | {mib(baseline)} | {mib(peak)} | +{mib(peak - baseline)} | "
                  f"{mib(after)} |")
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
