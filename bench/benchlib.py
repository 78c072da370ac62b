"""Shared parts of berth's Docker-level benchmarks: the engines they compare (berth-agent in
native mode, a private dockerd, a berth VM instance), the docker CLI pointed at each, and
timing helpers. Every engine runs on private sockets and directories under a work dir and
is stopped at the end, so nothing on the machine is touched."""
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
IMAGE = "berth.bench/busybox:1"


def die(msg):
    sys.exit(f"{os.path.basename(sys.argv[0])}: {msg}")


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def median_ms(samples):
    return statistics.median(samples) * 1000


def wait_for_socket(path, timeout, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            break
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return
        except OSError:
            time.sleep(0.05)
        finally:
            s.close()
    tail = open(log, errors="replace").read()[-3000:] if log and os.path.exists(log) else ""
    die(f"{path} never answered\n{tail}")


class Engine:
    """A Docker API endpoint and the docker CLI pointed at it."""

    def __init__(self, name, host, procs=(), marker=None):
        self.name = name
        self.host = host  # DOCKER_HOST value
        self.procs = list(procs)
        self.marker = marker

    def docker(self, *args, input=None, check=True):
        env = dict(os.environ, DOCKER_HOST=self.host)
        r = subprocess.run(["docker", *args], input=input, capture_output=True, env=env)
        if check and r.returncode != 0:
            die(f"{self.name}: docker {' '.join(args)} failed: {r.stderr.decode(errors='replace').strip()}")
        return r

    def timed(self, *args, input=None):
        start = time.perf_counter()
        self.docker(*args, input=input)
        return time.perf_counter() - start

    def load_image(self, work):
        tar = os.path.join(work, "busybox.tar")
        if not os.path.exists(tar):
            subprocess.run([os.path.join(ROOT, "tests/support/make-busybox-image"), tar, IMAGE], check=True,
                           stdout=subprocess.DEVNULL)
        self.docker("load", "-i", tar)

    def daemon_rss_kib(self):
        """RSS of the engine's first process alone (berth-agent, dockerd)."""
        return _rss_kib(self.procs[0].pid) if self.procs else 0

    def rss_kib(self):
        """Summed RSS of the engine's daemons and everything they started."""
        return tree_rss_kib([p.pid for p in self.procs], self.marker or "\0")

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _process_table():
    """pid -> (parent pid, command line)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        table[int(entry)] = (int(stat[stat.rindex(")") + 2:].split()[1]), cmdline)
    return table


def rss_of_named_kib(marker, word):
    """RSS of each process whose command line names both `marker` and `word` (a shim, say)."""
    return [_rss_kib(pid) for pid, (_, cmd) in _process_table().items() if marker in cmd and word in cmd]


def tree_rss_kib(roots, marker):
    """Summed RSS of the roots, of every process whose command line names `marker` (the
    engine's private directory: containerd's shims leave the daemon's process tree), and of
    all their descendants (the containers)."""
    table = _process_table()
    found = set(roots) | {pid for pid, (_, cmd) in table.items() if marker in cmd}
    frontier = set(found)
    while frontier:
        frontier = {pid for pid, (ppid, _) in table.items() if ppid in frontier} - found
        found |= frontier
    return sum(_rss_kib(pid) for pid in found)


def start_native_agent(build, work):
    agent = os.path.join(build, "guestagent/berth-agent")
    if not os.access(agent, os.X_OK):
        die(f"{agent} is missing (ninja -C {build} berth-agent berth-shim berth-runtime)")
    d = os.path.join(work, "agent")
    os.makedirs(d, exist_ok=True)
    sock = os.path.join(d, "docker.sock")
    log = os.path.join(d, "agent.log")
    p = subprocess.Popen([agent, "--native", "--state-root", os.path.join(d, "state"), "--socket", sock],
                         stdout=open(log, "w"), stderr=subprocess.STDOUT)
    wait_for_socket(sock, 30, p, log)
    return Engine("berth-agent --native", "unix://" + sock, [p], marker=d)


def start_dockerd(work):
    if not shutil.which("dockerd"):
        die("dockerd is not installed (apt-get install docker.io)")
    d = os.path.join(work, "dockerd")
    os.makedirs(d, exist_ok=True)
    sock = os.path.join(d, "docker.sock")
    log = os.path.join(d, "dockerd.log")
    # Same networking as berth's containers get with --network none; no iptables changes.
    p = subprocess.Popen(["dockerd", "--data-root", os.path.join(d, "data"), "--exec-root", os.path.join(d, "exec"),
                          "-H", "unix://" + sock, "--pidfile", os.path.join(d, "docker.pid"), "--iptables=false",
                          "--ip-forward=false", "--ip-masq=false", "--bridge=none",
                          "--containerd-namespace", "berth-bench", "--containerd-plugins-namespace",
                          "berth-bench-plugins"], stdout=open(log, "w"), stderr=subprocess.STDOUT)
    wait_for_socket(sock, 60, p, log)
    return Engine("dockerd", "unix://" + sock, [p], marker=d)


class BerthVm:
    """A berth instance in a private BERTH_HOME, driven through the berth CLI."""

    def __init__(self, build, work, mounts=()):
        self.berth = os.path.join(build, "vmhost/berth")
        if not os.access(self.berth, os.X_OK):
            die(f"{self.berth} is missing (ninja -C {build} berth)")
        self.home = os.path.join(work, "berth-home")
        self.env = dict(os.environ, BERTH_HOME=self.home, DOCKER_CONFIG=os.path.join(work, "docker-config"))
        images = os.path.join(build, "images/amd64")
        if os.path.exists(os.path.join(images, "initramfs")):
            self.env["BERTH_IMAGE_DIR"] = images
        self.mounts = list(mounts)

    def run(self, *args, check=True):
        r = subprocess.run([self.berth, *args], capture_output=True, env=self.env)
        if check and r.returncode != 0:
            die(f"berth {' '.join(args)} failed: {r.stderr.decode(errors='replace').strip()}")
        return r

    def start(self):
        args = ["start"]
        for m in self.mounts:
            args += ["--mount", m]
        start = time.perf_counter()
        self.run(*args)
        return time.perf_counter() - start

    def stop(self):
        self.run("stop", check=False)

    def delete(self):
        self.run("delete", "--force", check=False)

    def engine(self):
        sock = os.path.join(self.home, "default", "docker.sock")
        return Engine("berth VM", "unix://" + sock)
