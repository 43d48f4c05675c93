"""Processes under test: echo backends and the real portico-dataplane, plus
snapshot builders and small client helpers. Every wait polls a condition with
a deadline; every child dies with the test process (PR_SET_PDEATHSIG) and is
killed explicitly by the fixtures that start it."""

import contextlib
import ctypes
import hashlib
import http.client
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ECHO_BACKEND = ROOT / "tests" / "backends" / "echo_backend.py"
PYTHON = "/usr/bin/python3"
PATTERN_PERIOD = bytes(range(256))

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def portico_bin():
    return Path(os.environ.get("PORTICO_BIN", ROOT / "build" / "bin" / "portico-dataplane"))


def wait_until(condition, timeout, what, interval=0.02):
    """Polls condition() until it returns something truthy; raises after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def _die_with_parent():
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Process:
    """A child whose stdout and stderr go to files (a pipe could fill and block it)."""

    def __init__(self, argv, workdir, name):
        self.name = name
        self.stdout_path = Path(workdir) / f"{name}.stdout"
        self.stderr_path = Path(workdir) / f"{name}.stderr"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen([str(a) for a in argv], stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL,
                                         preexec_fn=_die_with_parent)
        self.pid = self.proc.pid

    def stdout(self):
        return self.stdout_path.read_text(errors="replace")

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        """Exit code, or None if still running after timeout."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        """SIGKILL: teardown must not depend on the graceful paths under test."""
        if self.alive():
            self.proc.kill()
        self.proc.wait(timeout=10)

    @contextlib.contextmanager
    def stopped_on_error(self):
        """Kills the child when starting it fails, so no caller has to."""
        try:
            yield
        except BaseException:
            self.stop()
            raise

    def wait_for_output(self, pattern, timeout, stream="stderr"):
        """Polls the output file for a regex; returns the match."""
        read = self.stderr if stream == "stderr" else self.stdout

        def check():
            match = re.search(pattern, read())
            if not match and not self.alive():
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before "
                                   f"printing {pattern!r}:\n{self.stderr()[-3000:]}")
            return match
        return wait_until(check, timeout, f"{pattern!r} from {self.name}")


class Backend(Process):
    """tests/backends/echo_backend.py on an ephemeral loopback port."""

    def __init__(self, workdir, name, host="127.0.0.1", idle_timeout_ms=0, status=200,
                 extra_args=()):
        super().__init__([PYTHON, ECHO_BACKEND, "--host", host, "--port", "0", "--name", name,
                          "--idle-timeout", idle_timeout_ms, "--status", status, *extra_args],
                         workdir, f"backend-{name}")
        self.host = host
        self.backend_name = name
        with self.stopped_on_error():
            self.port = int(self.wait_for_output(r"PORT (\d+)", 10, "stdout").group(1))

    def get(self, path, timeout=5):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def stats(self):
        return json.loads(self.get("/__stats")[1])

    def release(self):
        self.get("/__release")

    def endpoint(self, **extra):
        return {"address": self.host, "port": self.port, "ready": True, **extra}


class Dataplane(Process):
    """The real portico-dataplane serving a snapshot file."""

    def __init__(self, workdir, snapshot, workers=2, trusted_proxies=None, access_log="off",
                 drain_timeout="5s", extra_args=(), wait_ready=True):
        binary = portico_bin()
        if not binary.exists():
            raise RuntimeError(f"{binary} does not exist; build it or set PORTICO_BIN")
        self.workdir = Path(workdir)
        self.snapshot_path = self.workdir / "snapshot.json"
        if snapshot is not None:
            self.write_snapshot(snapshot)
        argv = [binary, f"--snapshot={self.snapshot_path}", "--http-listen=127.0.0.1:0", "--https-listen=127.0.0.1:0",
                "--admin-listen=127.0.0.1:0", f"--workers={workers}",
                f"--access-log={access_log}", f"--drain-timeout={drain_timeout}"]
        if trusted_proxies:
            argv.append(f"--trusted-proxies={','.join(trusted_proxies)}")
        super().__init__(argv + list(extra_args), workdir, "dataplane")
        with self.stopped_on_error():
            self.port = int(self.wait_for_output(r"http listening on 127\.0\.0\.1:(\d+)", 10)[1])
            self.https_port = int(self.wait_for_output(r"https listening on 127\.0\.0\.1:(\d+)",
                                                       10)[1])
            self.admin_port = int(self.wait_for_output(r"admin listening on 127\.0\.0\.1:(\d+)",
                                                       10)[1])
            if wait_ready:
                self.wait_ready()

    def write_snapshot(self, snapshot):
        """Replaces the snapshot file atomically (write a temp file, rename it over)."""
        tmp = self.snapshot_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(snapshot, indent=1))
        os.replace(tmp, self.snapshot_path)

    def admin(self, path, timeout=5):
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def wait_ready(self, timeout=10):
        def ready():
            if not self.alive():
                raise RuntimeError(f"dataplane exited:\n{self.stderr()[-3000:]}")
            try:
                return self.admin("/readyz", timeout=1)[0] == 200
            except OSError:
                return False
        wait_until(ready, timeout, "dataplane /readyz == 200")

    def config_info(self):
        """The admin /config document: version, loaded, applies, errors, last_error."""
        status, text = self.admin("/config")
        assert status == 200, text
        return json.loads(text)

    def rss_kb(self):
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))

    def metrics(self):
        status, text = self.admin("/metrics")
        assert status == 200, text
        return text

    def access_log(self):
        """Parsed JSON lines from stdout (the access log)."""
        lines = [line for line in self.stdout().splitlines() if line.startswith("{")]
        return [json.loads(line) for line in lines]


# --- snapshot builders (proto3 JSON mapping of proto/portico/v1/snapshot.proto) ---

def route(name, path, cluster, match="TYPE_PREFIX"):
    return {"name": name, "match": {"type": match, "path": path}, "action": {"cluster": cluster}}


def vhost(name, hostnames, routes):
    return {"name": name, "hostnames": list(hostnames), "routes": list(routes)}


def snapshot(vhosts, clusters, version=1, settings=None):
    """clusters: {name: (cluster options, [endpoint dicts])}."""
    snap = {"version": str(version), "virtualHosts": list(vhosts),
            "clusters": [{"name": n, "connectTimeout": "1s", **opts}
                         for n, (opts, _) in clusters.items()],
            "endpoints": [{"cluster": n, "endpoints": eps} for n, (_, eps) in clusters.items()]}
    if settings:
        snap["settings"] = settings
    return snap


def single_route_snapshot(backend, version=1, settings=None, hostnames=(), cluster_opts=None):
    """Any host, prefix "/" -> cluster "c1" -> backend."""
    return snapshot([vhost("vh", hostnames, [route("r1", "/", "c1")])],
                    {"c1": (cluster_opts or {}, [backend.endpoint()])},
                    version=version, settings=settings)


# --- clients ---

def curl(*args, timeout=30):
    """Runs curl; returns (http status, body bytes). -w appends the status."""
    proc = subprocess.run(["curl", "-sS", "--http1.1", "--max-time", str(timeout),
                           "-o", "-", "-w", "\n%{http_code}", *map(str, args)],
                          capture_output=True, timeout=timeout + 5)
    body, _, code = proc.stdout.rpartition(b"\n")
    if proc.returncode != 0:
        raise RuntimeError(f"curl {args} failed ({proc.returncode}): {proc.stderr!r}")
    return int(code), body


def pattern_sha256(n):
    """SHA-256 of the first n bytes of the echo backend's /bytes pattern."""
    block = PATTERN_PERIOD * 4096  # 1 MiB
    sha = hashlib.sha256()
    while n >= len(block):
        sha.update(block)
        n -= len(block)
    sha.update(block[:n])
    return sha.hexdigest()


def header_values(echo, name):
    """Values of a header in an echo backend's JSON description of a request."""
    return [v for n, v in echo["headers"] if n.lower() == name.lower()]

