"""What the benchmark scripts that start peers share: running inside a network namespace that
holds only `lo`, free ports on 127.0.0.1, finding tools, waiting for a daemon to listen."""

import os
import shutil
import socket
import subprocess
import sys
import time


def in_netns(name):
    """Re-runs the calling script inside network namespace `name` holding only lo, when we
    are root (as the project's rules ask for anything that might probe beyond loopback)."""
    if os.environ.get("CAIRN_IN_NETNS") or os.geteuid() != 0 or not shutil.which("ip"):
        return
    subprocess.run(["ip", "netns", "add", name], stderr=subprocess.DEVNULL)
    subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
    env = dict(os.environ, CAIRN_IN_NETNS="1")
    code = subprocess.run(["ip", "netns", "exec", name, sys.executable] + sys.argv, env=env).returncode
    subprocess.run(["ip", "netns", "delete", name], stderr=subprocess.DEVNULL)
    sys.exit(code)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find(tool):
    """`tool` on PATH or in ~/go/bin (where the peers are installed), else None."""
    for d in os.environ.get("PATH", "").split(os.pathsep) + [os.path.expanduser("~/go/bin")]:
        p = os.path.join(d, tool)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def wait_port(port, proc, name, seconds=30):
    """Until something listens on 127.0.0.1:`port`; exits if `proc` dies or time runs out."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{name} exited early")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{name} did not listen on {port}")


def quiet_listeners(binary):
    """`cairn serve` flags that turn off the listeners a script does not use (the Cluster API
    on 9094, the Kubo RPC on 5001), so that several servers, or a Kubo, can run side by side;
    only the flags `binary` knows (older builds are benchmarked too)."""
    help_text = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
    flags = []
    for flag in ("--cluster-api", "--rpc-api"):
        if flag in help_text:
            flags += [flag, "off"]
    return flags
