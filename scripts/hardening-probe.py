#!/usr/bin/env python3
"""What a cairn build does with hostile input, crashes and a full disk (issue 18): each probe
drives `cairn serve` with its default settings and prints what it observed, so two builds
(before and after a change) can be compared line by line:

    python3 scripts/hardening-probe.py --cairn BUILD [--only NAME,NAME]

Probes take about three minutes in all (most wait out the 30 s default timeouts). Run as root:
the script then runs in a network namespace holding only `lo`, and the full-disk probe mounts
a small tmpfs (skipped otherwise). Kubo-made IPNS records come from tests/fixtures/kubo-ipns.
"""

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loopback  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECP256K1_NAME = "kzwfwjn5ji4pun3thulrd0ap1wl89acd4s54rh0pfep6xoq7xuq6ue5nwq0bs45"


class Node:
    """A `cairn serve` on loopback over `data` (a fresh directory unless given)."""

    def __init__(self, cairn, data=None, shell=None, extra=()):
        self.data = data or tempfile.mkdtemp(prefix="cairn-probe-")
        self.port = loopback.free_port()
        self.cluster = loopback.free_port()
        command = [cairn, "serve", "--data", self.data, "--gateway", f"127.0.0.1:{self.port}",
                   "--cluster-api", f"127.0.0.1:{self.cluster}", "--offline",
                   "--metrics", "off", *extra]
        if shell:
            command = ["sh", "-c", f'{shell}; exec "$0" "$@"'] + command
        self.log = tempfile.NamedTemporaryFile(prefix="cairn-probe-log-", delete=False)
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self.log,
                                     env=dict(os.environ, RUST_LOG="warn"))
        loopback.wait_port(self.port, self.proc, "cairn")

    def stop(self, kill=False):
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        self.proc.wait()

    def log_text(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()


def exchange(port, raw, timeout=10.0):
    """Sends raw bytes; returns (status or None, headers dict, body, seconds)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    started = time.time()
    s.sendall(raw)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head, body = data.split(b"\r\n\r\n", 1)
                length = None
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                if length is not None and len(body) >= length:
                    break
    except socket.timeout:
        pass
    elapsed = time.time() - started
    s.close()
    if not data.startswith(b"HTTP/"):
        return None, {}, b"", elapsed
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode()] = value.strip().decode(errors="replace")
    return int(lines[0].split()[1]), headers, body, elapsed


def request(port, method, path, headers=(), body=b"", host=None, timeout=10.0):
    host = host or f"127.0.0.1:{port}"
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
    head += f"Content-Length: {len(body)}\r\n"
    for name, value in headers:
        head += f"{name}: {value}\r\n"
    return exchange(port, head.encode() + b"\r\n" + body, timeout)


def closed_within(sock, seconds):
    """Seconds until the server closed `sock`, or None if it is open after `seconds`."""
    sock.settimeout(0.5)
    started = time.time()
    while time.time() - started < seconds:
        try:
            if sock.recv(4096) == b"":
                return time.time() - started
        except socket.timeout:
            continue
        except OSError:
            return time.time() - started
    return None


def form(name, content=b"x"):
    boundary = "probe-boundary-7MA4YWxk"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    body += content + f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def report(item, what, observed):
    print(f"[{item}] {what}: {observed}", flush=True)


# --------------------------------------------------------------------------------------------

def probe_idle(cairn):
    node = Node(cairn)
    silent = socket.create_connection(("127.0.0.1", node.port))
    preface = socket.create_connection(("127.0.0.1", node.port))
    preface.sendall(b"PRI * HTTP/2.0\r\n")
    results = {}
    threads = [threading.Thread(target=lambda k, s: results.__setitem__(k, closed_within(s, 40)),
                                args=(k, s)) for k, s in (("silent", silent), ("preface", preface))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for kind in ("silent", "preface"):
        closed = results[kind]
        report(1, f"{kind} connection",
               f"closed after {closed:.1f} s" if closed is not None else "still open after 40 s")
    node.stop()


def probe_rlimit(cairn):
    node = Node(cairn, shell="ulimit -Sn 256")
    with open(f"/proc/{node.proc.pid}/limits") as f:
        line = next(l for l in f if l.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    report(1, "soft descriptor limit started at 256", f"soft {soft}, hard {hard}")
    node.stop()


def probe_emfile(cairn):
    if not shutil.which("prlimit"):
        report(1, "descriptor exhaustion", "skipped (no prlimit)")
        return
    node = Node(cairn)
    pid = node.proc.pid
    limit = len(os.listdir(f"/proc/{pid}/fd")) + 8
    subprocess.run(["prlimit", "--pid", str(pid), f"--nofile={limit}:{limit}"], check=True)
    held = [socket.create_connection(("127.0.0.1", node.port)) for _ in range(40)]
    with open(f"/proc/{pid}/stat") as f:
        ticks0 = sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:13])
    time.sleep(3)
    with open(f"/proc/{pid}/stat") as f:
        ticks1 = sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:13])
    report(1, "CPU while out of descriptors", f"{(ticks1 - ticks0) / os.sysconf('SC_CLK_TCK') / 3:.0%} of a core")
    lines = [l for l in node.log_text().splitlines() if "accept" in l or "descriptor" in l]
    report(1, "log lines in 3 s out of descriptors", f"{len(lines)}")
    time.sleep(32)  # past the 30 s header timeout
    status = request(node.port, "GET", "/ipfs/bafkqaaa", timeout=5)[0]
    report(1, "a normal request after 35 s (silent connections still held)", status or "no answer")
    for s in held:
        s.close()
    node.stop()


def stalled(port, path, headers=(), sent=b"first bytes", length=1 << 20):
    s = socket.create_connection(("127.0.0.1", port))
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {length}\r\n"
    for name, value in headers:
        head += f"{name}: {value}\r\n"
    s.sendall(head.encode() + b"\r\n" + sent)
    return s


def probe_stall_and_gc(cairn):
    node = Node(cairn)
    upload = stalled(node.port, "/ipfs/")
    time.sleep(1)
    started = time.time()
    gc = subprocess.Popen([cairn, "gc", "--data", node.data], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    gc_done = {}

    def wait_gc():
        try:
            gc.wait(timeout=75)
            gc_done["after"] = time.time() - started
        except subprocess.TimeoutExpired:
            gc.kill()
            gc.wait()

    waiter = threading.Thread(target=wait_gc)
    waiter.start()
    upload.settimeout(45)
    try:
        answer = upload.recv(200).split(b"\r\n")[0].decode(errors="replace")
    except socket.timeout:
        answer = None
    report(2, "a stalled upload", f"{answer} after {time.time() - started:.0f} s" if answer
           else "no answer after 45 s")
    waiter.join()
    if "after" in gc_done:
        report(2, "`cairn gc` beside it",
               f"exit {gc.returncode} after {gc_done['after']:.0f} s")
    else:
        report(2, "`cairn gc` beside it", "still waiting after 75 s (killed)")
    upload.close()
    node.stop()


def probe_uploads_in_flight(cairn):
    node = Node(cairn)
    held = [stalled(node.port, "/ipfs/") for _ in range(1200)]
    time.sleep(2)
    status, headers, _, elapsed = request(node.port, "POST", "/ipfs/", body=b"hello world",
                                          timeout=10)
    report(2, "an upload while 1,200 stall",
           f"{status} in {elapsed:.1f} s" + (f" (Retry-After {headers['retry-after']})"
                                             if "retry-after" in headers else "")
           if status else f"no answer in {elapsed:.0f} s")
    status = request(node.port, "GET", "/ipfs/bafkqaaa", timeout=10)[0]
    report(2, "a read while 1,200 stall", status or "no answer")
    for s in held:
        s.close()
    node.stop()


def probe_crash_leftovers(cairn):
    node = Node(cairn)
    upload = stalled(node.port, "/ipfs/", sent=os.urandom(2 << 20), length=3 << 20)
    deadline = time.time() + 10
    tmp = os.path.join(node.data, "tmp")
    while time.time() < deadline and len(os.listdir(tmp)) < 4:
        time.sleep(0.1)
    node.stop(kill=True)
    upload.close()
    left = len(os.listdir(tmp))
    restarted = Node(cairn, data=node.data)
    report(3, "tmp files of a kill -9", f"{left} before restart, {len(os.listdir(tmp))} after")
    restarted.stop()


def probe_full_disk(cairn):
    if os.geteuid() != 0:
        report(4, "full disk", "skipped (not root)")
        return
    mount = tempfile.mkdtemp(prefix="cairn-probe-disk-")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mount]).returncode:
        report(4, "full disk", "skipped (no tmpfs)")
        return
    try:
        data = os.path.join(mount, "data")
        node = Node(cairn, data=data)
        kept = request(node.port, "POST", "/ipfs/", body=b"kept", headers=[("X-Ipfs-Pin", "1")])[1]
        with open(os.path.join(mount, "filler"), "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        status, _, body, _ = request(node.port, "POST", "/ipfs/", body=os.urandom(1 << 20))
        leak = mount in body.decode(errors="replace")
        report(4, "an upload on a full disk",
               f"{status}, body {'names' if leak else 'does not name'} the data directory: "
               f"{body.decode(errors='replace').strip()[:100]!r}")
        content_type, body = form("big.bin", os.urandom(1 << 20))
        status = request(node.cluster, "POST", "/add", [("Content-Type", content_type)], body)[0]
        report(4, "a Cluster /add on a full disk", status)
        status = request(node.port, "GET", f"/ipfs/{kept.get('ipfs-hash', 'bafkqaaa')}")[0]
        report(4, "a read on a full disk", status)
        os.remove(os.path.join(mount, "filler"))
        status = request(node.port, "POST", "/ipfs/", body=os.urandom(1 << 20))[0]
        report(4, "an upload once space returns", status)
        node.stop()
    finally:
        subprocess.run(["umount", "-l", mount])


def probe_input(cairn):
    node = Node(cairn)
    status = request(node.cluster, "POST", "/add", body=b"not a form")[0]
    report(5, "Cluster POST /add of a plain body", status)
    status = request(node.cluster, "POST", "/add")[0]
    report(5, "Cluster POST /add of an empty body", status)
    content_type, body = form("a\0b.txt")
    status = request(node.port, "POST", "/ipfs/", [("Content-Type", content_type)], body)[0]
    report(5, "POST /ipfs/ of a form name with a raw NUL", status)
    content_type, body = form("a%00b.txt")
    status, headers, _, _ = request(node.port, "POST", "/ipfs/", [("Content-Type", content_type)],
                                    body)
    tar = b""
    if status == 201:
        tar_status, _, tar, _ = request(node.port, "GET",
                                        f"/ipfs/{headers.get('ipfs-hash')}?format=tar")
        tar = f", its TAR export: {tar_status} ({len(tar)} bytes)".encode()
    report(5, "POST /ipfs/ of the form name a%00b.txt", f"{status}{tar.decode()}")
    status = request(node.cluster, "POST", "/add", [("Content-Type", content_type)], body)[0]
    report(5, "Cluster /add of the form name a%00b.txt (Go escaping: a NUL)", status)
    content_type, body = form("report%20final.txt")
    status, headers, _, _ = request(node.port, "POST", "/ipfs/", [("Content-Type", content_type)],
                                    body)
    listing = request(node.port, "GET", f"/ipfs/{headers.get('ipfs-hash')}/",
                      [("Accept", "application/json")])[2]
    report(5, "form name report%20final.txt is stored as", listing.decode(errors="replace"))
    for what, raw in [
        ("HTTP/1.1 without Host", b"GET /ipfs/bafkqaaa HTTP/1.1\r\nConnection: close\r\n\r\n"),
        ("two Host headers",
         b"GET /ipfs/bafkqaaa HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n"),
        ("Host 'a b'", b"GET /ipfs/bafkqaaa HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n"),
    ]:
        report(5, what, exchange(node.port, raw)[0])
    _, _, _, elapsed = exchange(node.port, b"GET /ipfs/bafkqaaa\r\n", timeout=40)
    report(5, "HTTP/0.9 request", f"closed after {elapsed:.1f} s")
    big = b"x" * (100 << 10)
    status, headers, _, _ = exchange(
        node.port, b"GET /ipfs/bafkqaaa HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + big + b"\r\n\r\n")
    report(5, "oversized head", f"{status}, CORS {'yes' if 'access-control-allow-origin' in headers else 'no'}")
    status, _, body, _ = request(node.port, "PUT", "/ipfs/notes.txt", body=b"notes")
    report(5, "PUT /ipfs/notes.txt", f"{status}: {body.decode(errors='replace').strip()[:120]!r}")
    node.stop()


def probe_pages(cairn):
    node = Node(cairn)
    status = request(node.port, "POST", "/ipfs/", body=b"hello",
                     host=f"evil.example:{node.port}",
                     headers=[("Origin", f"http://evil.example:{node.port}")])[0]
    report(6, "POST /ipfs/ with Host evil.example (DNS rebinding)", status)
    status = request(node.port, "POST", "/ipfs/", body=b"hello",
                     headers=[("Origin", "https://any-page.example")])[0]
    report(6, "POST /ipfs/ from a page of another origin on 127.0.0.1", status)
    _, headers, _, _ = request(node.port, "OPTIONS", "/ipfs/", headers=[
        ("Origin", "https://any-page.example"), ("Access-Control-Request-Method", "POST"),
        ("Access-Control-Request-Private-Network", "true")])
    report(6, "Private Network Access preflight",
           headers.get("access-control-allow-private-network", "not granted"))
    status = request(node.cluster, "POST", "/pins/bafkqaaa",
                     headers=[("Origin", "https://any-page.example")])[0]
    report(6, "Cluster POST /pins from a page", status)
    status, headers, _, _ = request(node.cluster, "GET", "/id",
                                    headers=[("Origin", "https://any-page.example")])
    report(6, "Cluster GET /id from a page", f"{status}, ACAO {headers.get('access-control-allow-origin')}")
    node.stop()


def probe_ipns(cairn):
    node = Node(cairn)
    path = os.path.join(ROOT, "tests/fixtures/kubo-ipns", f"{SECP256K1_NAME}.ipns-record")
    with open(path, "rb") as f:
        record = f.read()
    status, _, body, _ = request(node.port, "PUT", f"/routing/v1/ipns/{SECP256K1_NAME}",
                                 [("Content-Type", "application/vnd.ipfs.ipns-record")], record)
    report(8, "a Kubo-made secp256k1 IPNS record",
           f"{status} {body.decode(errors='replace').strip()[:80]!r}")
    tampered = bytearray(record)
    tampered[-3] ^= 1
    status = request(node.port, "PUT", f"/routing/v1/ipns/{SECP256K1_NAME}",
                     [("Content-Type", "application/vnd.ipfs.ipns-record")], bytes(tampered))[0]
    report(8, "the same record, one bit flipped", status)
    node.stop()


PROBES = {
    "idle": probe_idle, "rlimit": probe_rlimit, "emfile": probe_emfile,
    "stall": probe_stall_and_gc, "uploads": probe_uploads_in_flight,
    "crash": probe_crash_leftovers, "disk": probe_full_disk, "input": probe_input,
    "pages": probe_pages, "ipns": probe_ipns,
}


def main():
    loopback.in_netns("cairn-probe")
    parser = argparse.ArgumentParser()
    parser.add_argument("--cairn", required=True)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    names = [n for n in args.only.split(",") if n] or list(PROBES)
    threads = [threading.Thread(target=PROBES[n], args=(args.cairn,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
