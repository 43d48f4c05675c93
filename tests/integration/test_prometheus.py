"""The admin /metrics of both binaries against Debian's Prometheus: `promtool
check metrics` finds nothing to complain about (with traffic, with and without
--metrics-compat=ingress-nginx), and a real Prometheus scraping both admin
ports sees exactly the requests sent through a route with an Ingress origin.
Loopback only; every wait polls with a deadline; every process is killed by
the fixture that started it."""

import json
import re
import shutil
import signal
import socket
import subprocess
import urllib.parse
import urllib.request

import pytest

from controller_harness import Controller, ManifestDir, ingress_class, parse_metrics, start, subdir
from harness import ROOT, Process, route, snapshot, vhost, wait_until
from rawhttp import Conn

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
needs_prometheus = pytest.mark.skipif(
    PROMTOOL is None or PROMETHEUS is None,
    reason="Debian's prometheus package is not installed (scripts/install-deps.sh test)")

ORIGIN = {"namespace": "shop", "ingress": "storefront", "service": "web", "servicePort": "http"}


def origin_snapshot(backend):
    """/ -> c1 with an Ingress origin; /bare -> c1 without one."""
    with_origin = {**route("r-shop", "/", "c1"), "origin": ORIGIN}
    return snapshot([vhost("vh", [], [with_origin, route("r-bare", "/bare", "c1")])],
                    {"c1": ({}, [backend.endpoint()])})


def project_version():
    """The version in CMakeLists.txt's project(), which build_info reports."""
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(r"project\(portico VERSION ([0-9.]+)", text).group(1)


def assert_build_info(samples, family):
    infos = [(dict(ls), v) for (n, ls), v in samples.items() if n == family]
    assert len(infos) == 1, infos
    labels, value = infos[0]
    assert value == 1
    assert labels["version"] == project_version()
    assert labels["build_type"] and labels["compiler"], labels


def send(proxy, method, path, count, host="shop.example"):
    with Conn(proxy.port) as conn:
        for _ in range(count):
            body = b"x" if method in ("POST", "PUT") else b""
            resp = conn.request(method, path, host=host, body=body)
            assert resp.status < 500, resp.status


def promtool_check(text):
    """Returns promtool's complaints (empty when the exposition is clean)."""
    proc = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                          capture_output=True, timeout=30)
    return proc.returncode, (proc.stdout + proc.stderr).decode(errors="replace")


# ingress-nginx's own counter lacks "_total"; the compat family keeps its name so
# existing dashboards work, and this is the one lint promtool may report.
NGINX_NAME_LINT = 'nginx_ingress_controller_requests counter metrics should have "_total" suffix'


def assert_clean(text, allowed=()):
    code, out = promtool_check(text)
    complaints = [line for line in out.splitlines() if line.strip() and line not in allowed]
    assert not complaints and (code == 0 or allowed), \
        f"promtool check metrics ({code}):\n{out}\n---\n{text[:3000]}"


def start_controller(launch):
    manifests = ManifestDir(subdir(launch, "manifests"))
    manifests.write("class.yaml", [ingress_class()])
    return start(launch, lambda: Controller(subdir(launch, "controller"), manifests.path))


@needs_prometheus
def test_dataplane_metrics_pass_promtool(launch):
    backend = launch.backend()
    proxy = launch.dataplane(origin_snapshot(backend), workers=2)
    send(proxy, "GET", "/", 5)
    send(proxy, "POST", "/status/404", 2)
    send(proxy, "PROPFIND", "/", 1)
    send(proxy, "GET", "/bare", 1)
    text = proxy.metrics()
    assert_clean(text)
    samples = parse_metrics(text)
    labels = (("ingress", "storefront"), ("method", "GET"), ("namespace", "shop"),
              ("service", "web"), ("status", "200"))
    assert samples[("portico_requests_total", labels)] == 5
    assert samples[("portico_request_duration_seconds_count", labels)] == 5
    other = (("ingress", "storefront"), ("method", "other"), ("namespace", "shop"),
             ("service", "web"))
    assert sum(v for (n, ls), v in samples.items()
               if n == "portico_requests_total" and set(other) <= set(ls)) == 1
    unrouted = (("ingress", ""), ("method", "GET"), ("namespace", ""), ("service", ""),
                ("status", "200"))
    assert samples[("portico_requests_total", unrouted)] == 1
    assert not any(n.startswith("nginx_ingress_controller") for n, _ in samples)
    assert not any(dict(ls).get("host") for _, ls in samples)
    for family in ("process_resident_memory_bytes", "process_open_fds",
                   "process_start_time_seconds"):
        assert samples[(family, ())] > 0, family
    # CPU time is counted in clock ticks (10 ms): a process this idle may show 0.
    assert samples[("process_cpu_seconds_total", ())] >= 0
    assert_build_info(samples, "portico_build_info")


@needs_prometheus
def test_rejections_are_counted_by_policy(launch):
    backend = launch.backend()
    settings = {"maxRequestBodyBytes": 16, "maxRequestHeaderBytes": 1024}
    proxy = launch.dataplane(snapshot([vhost("vh", [], [route("r", "/", "c1")])],
                                      {"c1": ({}, [backend.endpoint()])}, settings=settings),
                             workers=1)

    def rejected():
        samples = parse_metrics(proxy.metrics())
        return {dict(ls)["policy"]: v for (n, ls), v in samples.items()
                if n == "portico_requests_rejected_total"}
    # Every policy that exists is exposed before anything was refused.
    before = rejected()
    assert set(before) >= {"body_size", "header_size", "protocol", "h2_flood", "ip_filter",
                           "rate_limit", "limit_connections", "basic_auth"}
    assert all(v == 0 for v in before.values())
    with Conn(proxy.port) as conn:
        assert conn.request("POST", "/", body=b"x" * 17).status == 413
    with Conn(proxy.port) as conn:
        assert conn.request("GET", "/", headers=[("X-Big", "v" * 2000)]).status == 431
    with Conn(proxy.port) as conn:
        conn.send(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        assert conn.read_response().status == 400
    assert rejected() == {**before, "body_size": 1, "header_size": 1, "protocol": 1}
    assert_clean(proxy.metrics())


def two_cluster_snapshot(used, unused, version=1, with_unused=True):
    clusters = {"c1": ({}, [used.endpoint()])}
    routes = [route("r1", "/", "c1")]
    if with_unused:
        clusters["c2"] = ({}, [unused.endpoint()])
        routes.append(route("r2", "/unused", "c2"))
    return snapshot([vhost("vh", [], routes)], clusters, version=version)


@needs_prometheus
def test_upstream_connects_and_connections_by_cluster(launch):
    used, unused = launch.backend("used"), launch.backend("unused")
    proxy = launch.dataplane(two_cluster_snapshot(used, unused), workers=2)

    def samples():
        return parse_metrics(proxy.metrics())

    def by_cluster(s):
        return {(dict(ls)["cluster"], dict(ls)["state"]): v for (n, ls), v in s.items()
                if n == "portico_upstream_cluster_connections"}
    connects = ("portico_upstream_connect_duration_seconds_count", ())
    before = samples()
    assert before[connects] == 0  # nothing proxied yet: no connect
    # Clusters of the snapshot are listed before they carry a connection.
    assert by_cluster(before) == {("c1", "active"): 0, ("c1", "idle"): 0,
                                  ("c2", "active"): 0, ("c2", "idle"): 0}
    with Conn(proxy.port) as conn:
        assert conn.request("GET", "/").status == 200
    after = samples()
    assert after[connects] == 1, "one proxied request to a fresh backend is one connect"
    inf = ("portico_upstream_connect_duration_seconds_bucket", (("le", "+Inf"),))
    assert after[inf] == 1
    assert 0 <= after[("portico_upstream_connect_duration_seconds_sum", ())] < 1
    # The connection is kept alive for the next request, in c1's count.
    wait_until(lambda: by_cluster(samples())[("c1", "idle")] == 1, 10, "c1's idle connection")
    assert by_cluster(samples())[("c2", "idle")] == 0
    assert_clean(proxy.metrics())

    # A cluster that leaves the snapshot leaves the metrics.
    proxy.write_snapshot(two_cluster_snapshot(used, unused, version=2, with_unused=False))
    proxy.signal(signal.SIGHUP)
    wait_until(lambda: proxy.config_info()["version"] == 2, 10, "version 2")
    assert set(by_cluster(samples())) == {("c1", "active"), ("c1", "idle")}


@needs_prometheus
def test_nginx_compat_and_per_host_pass_promtool(launch):
    backend = launch.backend()
    proxy = launch.dataplane(origin_snapshot(backend), workers=2,
                             extra_args=["--metrics-compat=ingress-nginx", "--metrics-per-host"])
    send(proxy, "GET", "/", 3, host="a.example")
    send(proxy, "DELETE", "/", 2, host="B.Example:8080")
    text = proxy.metrics()
    assert_clean(text, allowed=[NGINX_NAME_LINT])
    samples = parse_metrics(text)
    nginx = (("host", "a.example"), ("ingress", "storefront"), ("method", "GET"),
             ("namespace", "shop"), ("path", ""), ("service", "web"), ("status", "200"))
    assert samples[("nginx_ingress_controller_requests", nginx)] == 3
    assert samples[("nginx_ingress_controller_request_duration_seconds_count", nginx)] == 3
    portico = (("host", "b.example"), ("ingress", "storefront"), ("method", "DELETE"),
               ("namespace", "shop"), ("service", "web"), ("status", "200"))
    assert samples[("portico_requests_total", portico)] == 2


def test_bad_metrics_compat_is_refused(launch, tmp_path):
    from harness import portico_bin
    proc = subprocess.run([str(portico_bin()), "--metrics-compat=haproxy",
                           f"--snapshot={tmp_path / 'none.json'}"],
                          capture_output=True, timeout=10)
    assert proc.returncode == 2
    assert b"metrics_compat" in proc.stderr


@needs_prometheus
def test_controller_metrics_pass_promtool(launch):
    controller = start_controller(launch)
    status, text = controller.admin("/metrics")
    assert status == 200
    assert_clean(text)
    assert "# TYPE process_resident_memory_bytes gauge" in text
    assert_build_info(parse_metrics(text), "portico_controller_build_info")


# --- a real Prometheus ---------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus(Process):
    """prometheus scraping `targets` (host:port) every second, on a free loopback port.
    Prometheus cannot listen on port 0, so a port is picked, released and tried; a
    start that loses the race is retried on another port."""

    def __init__(self, workdir, targets, attempts=5):
        config = workdir / "prometheus.yml"
        config.write_text(json.dumps({  # JSON is YAML
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                       "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": "portico",
                                "static_configs": [{"targets": list(targets)}]}]}))
        for attempt in range(attempts):
            self.port = free_port()
            data = workdir / f"data{attempt}"
            super().__init__([PROMETHEUS, f"--config.file={config}",
                              f"--storage.tsdb.path={data}",
                              f"--web.listen-address=127.0.0.1:{self.port}",
                              "--log.level=warn"], workdir, f"prometheus{attempt}")
            try:
                wait_until(self._ready, 30, "prometheus /-/ready", interval=0.1)
                return
            except (RuntimeError, TimeoutError):
                self.stop()
                if attempt == attempts - 1:
                    raise

    def _ready(self):
        if not self.alive():
            raise RuntimeError(f"prometheus exited:\n{self.stderr()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def api(self, path, **params):
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as resp:
            body = json.loads(resp.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr):
        """The value of an instant vector query with one result, else None."""
        result = self.api("query", query=expr)["result"]
        return float(result[0]["value"][1]) if len(result) == 1 else None

    def targets_up(self):
        targets = self.api("targets")["activeTargets"]
        return targets if targets and all(t["health"] == "up" for t in targets) else None


@needs_prometheus
@pytest.mark.timeout_s(150)
def test_prometheus_scrapes_request_counts(launch):
    n = 37
    backend = launch.backend()
    proxy = launch.dataplane(origin_snapshot(backend), workers=2,
                             extra_args=["--metrics-compat=ingress-nginx"])
    controller = start_controller(launch)
    targets = [f"127.0.0.1:{proxy.admin_port}", f"127.0.0.1:{controller.admin_port}"]
    prom = start(launch, lambda: Prometheus(subdir(launch, "prometheus"), targets))
    wait_until(prom.targets_up, 20, "both admin endpoints scraped healthy", interval=0.25)

    send(proxy, "GET", "/", n)
    send(proxy, "GET", "/bare", 3)  # no origin: must not count for the ingress

    def scraped(expr):
        return lambda: prom.query(expr) == n
    wait_until(scraped('sum(portico_requests_total{ingress="storefront"})'), 20,
               f"Prometheus to see {n} requests for ingress storefront", interval=0.25)
    assert prom.query('sum(nginx_ingress_controller_requests{ingress="storefront"})') == n
    assert prom.query('sum(portico_requests_total{ingress=""})') == 3
    # The controller is scraped too, process metrics included.
    instance = f"127.0.0.1:{controller.admin_port}"
    assert prom.query(f'process_start_time_seconds{{instance="{instance}"}}') > 0
