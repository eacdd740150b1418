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


def ipfs(repo, *args, check=True):
    env = dict(os.environ, IPFS_PATH=repo, IPFS_TELEMETRY="off")
    return subprocess.run(["ipfs", *args], env=env, check=check, capture_output=True, text=True).stdout.strip()


def start_kubo(work, name="kubo", peer=None, config=()):
    """An online Kubo (no bootstrap, loopback only); `peer`: a multiaddr kept connected;
    `config`: more (key, JSON value) settings. Returns (repo, process, gateway port, swarm
    multiaddr with /p2p/); the RPC API port is in the repo's `api` file."""
    repo = os.path.join(work, name)
    ipfs(repo, "init", "--profile=test")
    gw, api, swarm = free_port(), free_port(), free_port()
    for key, value in [
        ("Bootstrap", "[]"), ("Discovery.MDNS.Enabled", "false"), ("AutoConf.Enabled", "false"),
        ("AutoTLS.Enabled", "false"), ("Routing.DelegatedRouters", "[]"),
        ("Ipns.DelegatedPublishers", "[]"), ("DNS.Resolvers", "{}"),
        ("Swarm.DisableNatPortMap", "true"), ("Plugins.Plugins.telemetry.Config.Mode", '"off"'),
        ("Addresses.API", f'"/ip4/127.0.0.1/tcp/{api}"'),
        ("Addresses.Gateway", f'"/ip4/127.0.0.1/tcp/{gw}"'),
        ("Addresses.Swarm", f'["/ip4/127.0.0.1/tcp/{swarm}"]'),
        ("Swarm.RelayClient.Enabled", "false"), ("Swarm.RelayService.Enabled", "false"),
        *config,
    ]:
        ipfs(repo, "config", "--json", key, value)
    if peer:
        pid = peer.rsplit("/p2p/", 1)[1]
        ipfs(repo, "config", "--json", "Peering.Peers",
             f'[{{"ID": "{pid}", "Addrs": ["{peer.rsplit("/p2p/", 1)[0]}"]}}]')
    env = dict(os.environ, IPFS_PATH=repo, IPFS_TELEMETRY="off")
    proc = subprocess.Popen(["ipfs", "daemon"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(gw, proc, name)
    wait_port(api, proc, name)
    peer_id = ipfs(repo, "id", "-f", "<id>")
    return repo, proc, gw, f"/ip4/127.0.0.1/tcp/{swarm}/p2p/{peer_id}"


def wait_connected(repo, peer_id, seconds=30):
    """Until the Kubo at `repo` has a connection to `peer_id`."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if peer_id in ipfs(repo, "swarm", "peers", check=False):
            return
        time.sleep(0.1)
    sys.exit(f"{peer_id} never connected")


def quiet_listeners(binary):
    """`cairn serve` flags that turn off the listeners a script does not use (the Cluster API
    on 9094, the Kubo RPC on 5001, the metrics on 8091), so that several servers, or a Kubo,
    can run side by side; only the flags `binary` knows (older builds are benchmarked too)."""
    help_text = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True).stdout
    flags = []
    for flag in ("--cluster-api", "--rpc-api", "--metrics"):
        if flag in help_text:
            flags += [flag, "off"]
    return flags
