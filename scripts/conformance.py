#!/usr/bin/env python3
"""Runs the official IPFS gateway-conformance suite (v0.13.2) against cairn.

    python3 scripts/conformance.py [--cairn target/release/cairn] [--json report.json]

What it does, as Kubo's own CI does for Kubo:
  1. makes sure `gateway-conformance` v0.13.2 is installed (scripts/install-peers.sh);
  2. loads the suite's fixtures into a fresh data directory: every CAR with
     `cairn import --pin-roots=false`, every `.ipns-record` with `PUT /routing/v1/ipns/<name>`,
     DNSLink through `IPFS_NS_MAP`;
  3. starts `cairn serve --subdomain-host localhost --subdomain-host example.com` on an ephemeral
     loopback port and runs the specs trustless-gateway, path-gateway, subdomain-gateway,
     dnslink-gateway, redirects-file and proxy-gateway (the gateway as its own HTTP proxy);
  4. prints pass, fail and skip counts per spec, and exits non-zero on any failure that is not in
     scripts/conformance-known-failures.txt (one `<test name><TAB><reason>` a line).

`--against kubo` runs the same specs against an offline Kubo (`ipfs init --profile=test`,
`ipfs daemon --offline`, configured as Kubo's own CI configures it) for side-by-side figures;
the known-failures list does not apply to it.

The suite comes from scripts/install-peers.sh (`go install …@v0.13.2`, or a build from the
source tree named by GATEWAY_CONFORMANCE_SRC where the Go module proxy refuses the module); this
script runs it when the suite is missing. The suite runs `go test` in its own source tree, found
in this order: GATEWAY_CONFORMANCE_HOME, the copy install-peers.sh keeps in its peer cache, the
Go module cache. When the suite still cannot be found it prints `SKIP: …` and exits 0, or
`FAIL: …` and exits 1 when CAIRN_REQUIRE_PEERS=1 (as in CI). A spec that runs no test, or a
suite that produces no results, fails too.
"""

import argparse
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

VERSION = "v0.13.2"
MODULE = "github.com/ipfs/gateway-conformance"
ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "gateway-conformance"
KNOWN_FAILURES = ROOT / "scripts" / "conformance-known-failures.txt"
SPECS = ["trustless-gateway", "path-gateway", "subdomain-gateway", "dnslink-gateway", "redirects-file",
         "proxy-gateway"]
# Each suite file holds the tests of one spec; its name says which.
FILE_PREFIX_TO_SPEC = {
    "subdomain_gateway_proxy_": "proxy-gateway",
    "trustless_gateway_": "trustless-gateway",
    "path_gateway_": "path-gateway",
    "subdomain_gateway_": "subdomain-gateway",
    "dnslink_gateway_": "dnslink-gateway",
    "redirects_file_": "redirects-file",
}


def go_env(name):
    return subprocess.run(["go", "env", name], capture_output=True, text=True, check=True).stdout.strip()


def peer_cache():
    cache = os.environ.get("XDG_CACHE_HOME") or str(pathlib.Path.home() / ".cache")
    return pathlib.Path(os.environ.get("CAIRN_PEER_BUILD_DIR") or pathlib.Path(cache) / "cairn-peers")


def installed_suite():
    """The suite's binary at the right version, or None."""
    gobin = pathlib.Path(go_env("GOPATH")) / "bin"
    for binary in (shutil.which("gateway-conformance"), gobin / "gateway-conformance"):
        if binary and pathlib.Path(binary).is_file():
            done = subprocess.run([str(binary), "--version"], capture_output=True, text=True)
            if done.stdout.strip().endswith(" " + VERSION):
                return pathlib.Path(binary)
    return None


def find_suite():
    """The suite's binary and the source tree it runs `go test` in, installing it if needed."""
    binary = installed_suite()
    if binary is None:
        print(f"gateway-conformance {VERSION} is not installed; running scripts/install-peers.sh",
              flush=True)
        done = subprocess.run(["bash", str(ROOT / "scripts" / "install-peers.sh"),
                               "gateway-conformance"])
        binary = installed_suite()
        if binary is None:
            return None, [f"scripts/install-peers.sh could not install it (status {done.returncode})"]
    candidates = [os.environ.get("GATEWAY_CONFORMANCE_HOME"),
                  peer_cache() / f"gateway-conformance-{VERSION}",
                  pathlib.Path(go_env("GOMODCACHE")) / f"{MODULE}@{VERSION}"]
    for home in candidates:
        if home and (pathlib.Path(home) / "tests").is_dir():
            return (binary, pathlib.Path(home)), None
    return None, ["the suite's source tree (with tests/) is in none of: "
                  + ", ".join(str(c) for c in candidates if c)
                  + " (set GATEWAY_CONFORMANCE_HOME)"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_fixtures(cairn, data):
    cars = sorted(p for p in FIXTURES.rglob("*.car") if "_tooling" not in p.parts)
    done = subprocess.run(
        [str(cairn), "import", "--data", str(data), "--pin-roots=false", *map(str, cars)],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        sys.exit(f"cairn import failed:\n{done.stderr}")
    return len(cars)


def put_records(base):
    """Stores every record; the suite's deliberately broken ones are refused (400), as by Kubo."""
    records = sorted(p for p in FIXTURES.rglob("*.ipns-record") if "_tooling" not in p.parts)
    stored = 0
    for record in records:
        name = record.name.split("_", 1)[0].removesuffix(".ipns-record")
        request = urllib.request.Request(
            f"{base}/routing/v1/ipns/{name}", data=record.read_bytes(), method="PUT",
            headers={"Content-Type": "application/vnd.ipfs.ipns-record"},
        )
        try:
            with urllib.request.urlopen(request) as response:
                response.read()
                stored += 1
        except urllib.error.HTTPError as refused:
            if refused.code != 400:
                raise
    return stored, len(records)


def wait_for(port, server, deadline=30):
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        if server.poll() is not None:
            sys.exit(f"cairn exited early with status {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit("cairn did not start listening in time")


def spec_of_tests(home):
    """Top-level test function → spec, read from the suite's own file names."""
    mapping = {}
    for source in (home / "tests").glob("*_test.go"):
        spec = next((s for p, s in FILE_PREFIX_TO_SPEC.items() if source.name.startswith(p)), None)
        if spec is None:
            continue
        for line in source.read_text().splitlines():
            if line.startswith("func Test"):
                mapping[line[5:].split("(", 1)[0]] = spec
    return mapping


def leaf_results(events):
    """The last action of each test that has no subtests: pass, fail or skip."""
    outcome = {}
    for event in events:
        test, action = event.get("Test"), event.get("Action")
        if test and action in ("pass", "fail", "skip"):
            outcome[test] = action
    names = set(outcome)
    parents = {n.rsplit("/", 1)[0] for n in names if "/" in n}
    return {n: a for n, a in outcome.items() if n not in parents}


def read_known_failures():
    known = {}
    if KNOWN_FAILURES.exists():
        for line in KNOWN_FAILURES.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                name, _, reason = line.partition("\t")
                known[name.strip()] = reason.strip()
    return known


def ns_map():
    return (FIXTURES / "_derived_dnslinks.IPFS_NS_MAP").read_text().strip()


def start_cairn(args, scratch):
    """cairn over the fixtures, with the suite's subdomain hosts; returns (process, URL, port)."""
    cairn = pathlib.Path(args.cairn)
    if not cairn.exists():
        subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)
    data = scratch / "data"
    cars = load_fixtures(cairn, data)
    port = free_port()
    env = dict(os.environ, IPFS_NS_MAP=ns_map())
    env.setdefault("RUST_LOG", "cairn=warn")
    log = open(scratch / "cairn.log", "w")
    server = subprocess.Popen(
        [str(cairn), "serve", "--data", str(data), "--gateway", f"127.0.0.1:{port}",
         "--cluster-api", "off", "--rpc-api", "off", "--metrics", "off", "--offline",
         "--subdomain-host", "localhost",
         "--subdomain-host", "example.com",
         # The suite's client sends no Accept header and expects Kubo's HTML listing;
         # the Agregore spec answers such requests with JSON (cairn's default).
         "--listing-without-accept", "html"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    wait_for(port, server)
    base = f"http://127.0.0.1:{port}"
    stored, records = put_records(base)
    print(f"loaded {cars} CARs and {stored} of {records} IPNS records (the others are"
          f" broken on purpose); cairn on {base}", flush=True)
    return server, base, port


def start_kubo(args, scratch):
    """An offline Kubo over the fixtures, configured as Kubo's CI runs the suite."""
    ipfs = shutil.which("ipfs") or str(pathlib.Path(go_env("GOPATH")) / "bin" / "ipfs")
    env = dict(os.environ, IPFS_PATH=str(scratch / "kubo"), IPFS_NS_MAP=ns_map(), IPFS_TELEMETRY="off")
    run = lambda *a: subprocess.run([ipfs, *a], env=env, check=True, capture_output=True)
    run("init", "--profile=test")
    port = free_port()
    run("config", "Addresses.Gateway", f"/ip4/127.0.0.1/tcp/{port}")
    run("config", "Addresses.API", f"/ip4/127.0.0.1/tcp/{free_port()}")
    run("config", "--json", "Gateway.PublicGateways", json.dumps({
        host: {"UseSubdomains": True, "InlineDNSLink": True, "Paths": ["/ipfs", "/ipns"]}
        for host in ("example.com", "localhost")
    }))
    cars = sorted(p for p in FIXTURES.rglob("*.car") if "_tooling" not in p.parts)
    for car in cars:
        run("dag", "import", "--pin-roots=false", str(car))
    log = open(scratch / "kubo.log", "w")
    server = subprocess.Popen([ipfs, "daemon", "--offline"], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    wait_for(port, server)
    time.sleep(2)
    stored = 0
    records = sorted(p for p in FIXTURES.rglob("*.ipns-record") if "_tooling" not in p.parts)
    for record in records:
        name = record.name.split("_", 1)[0].removesuffix(".ipns-record")
        done = subprocess.run([ipfs, "routing", "put", "--allow-offline", f"/ipns/{name}",
                               str(record)], env=env, capture_output=True)
        stored += done.returncode == 0
    print(f"loaded {len(cars)} CARs and {stored} of {len(records)} IPNS records; Kubo on "
          f"http://127.0.0.1:{port}", flush=True)
    return server, f"http://127.0.0.1:{port}", port


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cairn", default=str(ROOT / "target" / "release" / "cairn"))
    parser.add_argument("--json", default=None, help="where to keep the suite's JSON report")
    parser.add_argument("--specs", default=",".join(SPECS))
    parser.add_argument("--run", default=None, help="go test -run pattern, to rerun some tests")
    parser.add_argument("--against", choices=["cairn", "kubo"], default="cairn",
                        help="the gateway to test (kubo: an offline Kubo, for comparison)")
    args = parser.parse_args()

    suite, why = find_suite()
    if suite is None:
        reason = " / ".join(why)
        if os.environ.get("CAIRN_REQUIRE_PEERS") == "1":
            print(f"FAIL: gateway-conformance {VERSION} is required (CAIRN_REQUIRE_PEERS=1) but is"
                  f" not available: {reason}", flush=True)
            return 1
        print(f"SKIP: gateway-conformance {VERSION} is not available, the suite did not run: "
              f"{reason}", flush=True)
        return 0
    binary, home = suite

    with tempfile.TemporaryDirectory(prefix="cairn-conformance-") as scratch:
        scratch = pathlib.Path(scratch)
        report = pathlib.Path(args.json) if args.json else scratch / "report.json"
        start = start_kubo if args.against == "kubo" else start_cairn
        server, base, port = start(args, scratch)
        try:
            command = [
                str(binary), "test", "--gateway-url", base,
                "--subdomain-url", f"http://example.com:{port}",
                "--specs", args.specs, "--json-output", str(report), "--",
                "-timeout", "30m",
            ]
            if args.run:
                command += ["-run", args.run]
            suite_env = dict(os.environ, GATEWAY_CONFORMANCE_HOME=str(home))
            suite_status = subprocess.run(command, env=suite_env, stdout=subprocess.DEVNULL).returncode
        finally:
            server.terminate()
            server.wait(timeout=15)
        lines = report.read_text().splitlines() if report.exists() else []
        events = [json.loads(line) for line in lines if line.startswith("{")]

    spec_of = spec_of_tests(home)
    counts = {spec: {"pass": 0, "fail": 0, "skip": 0} for spec in args.specs.split(",")}
    failures = []
    for name, action in sorted(leaf_results(events).items()):
        spec = spec_of.get(name.split("/", 1)[0], "other")
        counts.setdefault(spec, {"pass": 0, "fail": 0, "skip": 0})[action] += 1
        if action == "fail":
            failures.append(name)

    print(f"\n{'spec':<20} {'pass':>6} {'fail':>6} {'skip':>6}")
    for spec, c in counts.items():
        total = c["pass"] + c["fail"]
        share = f"{100 * c['pass'] / total:.1f}%" if total else "-"
        print(f"{spec:<20} {c['pass']:>6} {c['fail']:>6} {c['skip']:>6}   {share}")

    if args.against == "kubo":
        print(f"\n{len(failures)} failing (Kubo)")
        return 0
    # A suite that did not build, crashed or ran nothing must not look like a pass.
    broken = []
    if suite_status != 0 and not failures:
        broken.append(f"the suite exited with status {suite_status} but reported no failing test"
                      " (did `go test` build? see the output above)")
    if args.run is None:
        broken += [f"spec {spec} ran no test" for spec in args.specs.split(",")
                   if not spec.startswith(("+", "-")) and counts.get(spec, {}).get("pass", 0) + counts.get(spec, {}).get("fail", 0) == 0]
    known = read_known_failures()
    unexpected = [f for f in failures if f not in known]
    for name in failures:
        print(("known   " if name in known else "FAIL    ") + name + (f"  ({known[name]})" if name in known else ""))
    stale = [k for k in known if k not in failures]
    for name in stale:
        print(f"note: known failure now passes or did not run: {name}")
    for reason in broken:
        print("FAIL    " + reason)
    print(f"\n{len(failures)} failing, {len(unexpected)} not in {KNOWN_FAILURES.name}")
    return 1 if unexpected or broken else 0


if __name__ == "__main__":
    sys.exit(main())
