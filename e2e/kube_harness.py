"""The real portico-controller on the `kube` source against the e2e control
plane (cluster.py), data planes subscribed to it, builders for the objects the
tests write through the API server, and HTTP helpers that ask a data plane
which echo backend answered. Same rules as tests/integration/harness.py:
every wait polls with a deadline, every child writes its output to files and
is killed by the fixture that started it (conftest's `launch`)."""

import http.client
import json
import re
import secrets
import signal
import time
from pathlib import Path

from cluster import CONTROLLER_NAMESPACE  # re-exported for test_status.py
from controller_harness import (ControlledDataplane, PortBackend, admin_get, controller_bin,
                                parse_metrics, start, subdir)
from harness import Process, wait_until

PORTICO_CONTROLLER_NAME = "portico.dev/ingress-controller"  # IngressClass spec.controller
OTHER_CONTROLLER_NAME = "example.test/other-controller"
SYNC_TIMEOUT_S = 30    # controller start to "admin listening": LIST of every resource
SERVE_TIMEOUT_S = 15   # an API change to the data plane serving it (normally < 0.5 s)
STOP_TIMEOUT_S = 15

__all__ = [
    "KubeController", "ControlledDataplane", "PortBackend", "start", "subdir", "wait_until",
    "ingress_class", "ingress", "service", "endpoint_slice", "served", "wait_served",
    "unique", "Namespace", "start_controller", "start_dataplane", "metric_total",
    "expect_served", "CONTROLLER_NAMESPACE", "lb_ingress", "set_lb_status", "lease_spec",
    "ingress_events",
]


def unique(prefix):
    """A name of its own for this run (an external cluster keeps what reruns left)."""
    return f"{prefix}-{secrets.token_hex(3)}"


# --- the controller ------------------------------------------------------------------------

class KubeController(Process):
    """portico-controller --source=kube: `kube_args` are the credentials
    (cluster.controller_args(user), i.e. --kubeconfig=FILE), gRPC and admin on
    port 0 of loopback, plaintext gRPC. The ports are logged only once the
    caches have synced, so wait_started=False is for a controller expected
    never to get there (no RBAC)."""

    def __init__(self, workdir, kube_args, ingress_class="portico", debounce="20ms",
                 log_level="info", extra_args=(), name="controller", wait_started=True,
                 timeout=SYNC_TIMEOUT_S):
        binary = controller_bin()
        if not binary.exists():
            raise RuntimeError(f"{binary} does not exist; build it or set PORTICO_BIN")
        self.ingress_class = ingress_class
        argv = [binary, "--source=kube", *kube_args, f"--ingress-class={ingress_class}",
                "--grpc_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0", "--insecure",
                f"--debounce={debounce}", f"--log_level={log_level}", *extra_args]
        super().__init__(argv, workdir, name)
        self.argv = argv
        self.grpc_port = self.admin_port = None
        if wait_started:
            with self.stopped_on_error():
                self.wait_started(timeout)

    def wait_started(self, timeout=SYNC_TIMEOUT_S):
        self.grpc_port = int(self.wait_for_output(r"grpc listening on port (\d+)", timeout)[1])
        self.admin_port = int(
            self.wait_for_output(r"admin listening on 127\.0\.0\.1:(\d+)", timeout)[1])
        self.wait_ready(timeout)
        return self

    @property
    def address(self):
        return f"127.0.0.1:{self.grpc_port}"

    def admin(self, path, timeout=5):
        return admin_get(self.admin_port, path, timeout)

    def readyz(self):
        try:
            return self.admin("/readyz", timeout=1)[0]
        except OSError:
            return None

    def wait_ready(self, timeout=SYNC_TIMEOUT_S):
        def ready():
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n"
                                   f"{self.stderr()[-3000:]}")
            return self.readyz() == 200
        wait_until(ready, timeout, f"{self.name} /readyz == 200", interval=0.05)

    def metrics(self):
        status, text = self.admin("/metrics")
        assert status == 200, text
        return parse_metrics(text)

    def metric(self, name, **labels):
        """One sample's value, or None when the sample is absent."""
        return self.metrics().get((name, tuple(sorted(labels.items()))))

    def metric_by(self, name, label):
        """{label value: sample value} of one family."""
        return {dict(labels).get(label): value for (n, labels), value in self.metrics().items()
                if n == name}

    def version(self):
        return int(self.metric("portico_controller_snapshot_version"))

    def log_matches(self, pattern):
        return re.findall(pattern, self.stderr())

    def terminate(self, timeout=STOP_TIMEOUT_S):
        """SIGTERM; returns the exit code (None if it did not exit in time)."""
        if self.alive():
            self.signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def kill(self):
        self.signal(signal.SIGKILL)
        return self.wait_exit(STOP_TIMEOUT_S)


def metric_total(samples, name):
    """Sum of a family over all label sets (parse_metrics output)."""
    return sum(v for (n, _), v in samples.items() if n == name)


def start_controller(launch, cluster, user="portico-controller", name="controller", **kwargs):
    """A KubeController with `user`'s credentials, killed by the launch fixture."""
    return start(launch, lambda: KubeController(subdir(launch, name),
                                                cluster.controller_args(user), name=name,
                                                **kwargs))


def start_dataplane(launch, controllers, node_id="dp", **kwargs):
    return start(launch, lambda: ControlledDataplane(
        subdir(launch, f"dp-{node_id}"), [c.address for c in controllers], node_id, **kwargs))


# --- objects -------------------------------------------------------------------------------

def ingress_class(name, controller=PORTICO_CONTROLLER_NAME, default=False):
    meta = {"name": name}
    if default:
        meta["annotations"] = {"ingressclass.kubernetes.io/is-default-class": "true"}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": meta,
            "spec": {"controller": controller}}


def ingress(name, ns, host, paths, class_name=None, legacy_class=None, annotations=None):
    """paths: [(path, service, port[, pathType])], port a number or a port name.
    class_name sets spec.ingressClassName, legacy_class the kubernetes.io/ingress.class
    annotation; neither: a class-less Ingress."""
    meta = {"name": name, "namespace": ns}
    annotations = dict(annotations or {})
    if legacy_class is not None:
        annotations["kubernetes.io/ingress.class"] = legacy_class
    if annotations:
        meta["annotations"] = annotations
    spec = {"rules": [{"host": host, "http": {"paths": [
        {"path": p[0], "pathType": p[3] if len(p) > 3 else "Prefix",
         "backend": {"service": {"name": p[1], "port": (
             {"number": p[2]} if isinstance(p[2], int) else {"name": p[2]})}}}
        for p in paths]}}]}
    if class_name is not None:
        spec["ingressClassName"] = class_name
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta,
            "spec": spec}


def service(name, ns, ports=(("http", 80, "http"),), external_ips=None):
    """A Service without selector (no controller-manager would fill its
    Endpoints anyway); ports: [(name, port, targetPort)]."""
    spec = {"ports": [{"name": n, "port": p, "targetPort": t, "protocol": "TCP"}
                      for n, p, t in ports]}
    if external_ips:
        spec["externalIPs"] = list(external_ips)
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": spec}


def endpoint_slice(name, ns, service_name, port, addresses, port_name="http", ready=True):
    """A discovery.k8s.io/v1beta1 EndpointSlice (what 1.20 serves) of loopback
    addresses sharing one port: `addresses` are strings or backends."""
    addresses = [a if isinstance(a, str) else a.host for a in addresses]
    return {"apiVersion": "discovery.k8s.io/v1beta1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": ns,
                         "labels": {"kubernetes.io/service-name": service_name}},
            "addressType": "IPv4",
            "ports": [{"name": port_name, "port": port, "protocol": "TCP"}],
            "endpoints": [{"addresses": [a], "conditions": {"ready": ready}} for a in addresses]}


class Namespace:
    """A namespace of a test's own; cleanup() deletes what the tests create in it,
    then the namespace (without waiting: no namespace controller finalizes it)."""

    def __init__(self, cluster, prefix="e2e-ks"):
        self.cluster = cluster
        self.name = unique(prefix)
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.name}})

    def __str__(self):
        return self.name

    def cleanup(self):
        self.cluster.kubectl("delete", "ingresses.networking.k8s.io,services,"
                             "endpointslices.discovery.k8s.io", "--all", "-n", self.name,
                             "--wait=false", "--ignore-not-found")
        self.cluster.kubectl("delete", "namespace", self.name, "--wait=false",
                             "--ignore-not-found")


# --- HTTP through the data plane -----------------------------------------------------------

def served(dataplane, host, path="/", timeout=5):
    """One GET through the data plane with a Host header: (status, the echo
    backend's name or None). (None, None) when the request failed outright."""
    port = dataplane if isinstance(dataplane, int) else dataplane.port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        body = resp.read()
        name = resp.getheader("X-Backend-Name")
        if name is None and resp.status == 200:
            try:
                name = json.loads(body).get("name")
            except (ValueError, AttributeError):
                name = None
        return resp.status, name
    except (OSError, http.client.HTTPException):
        return None, None
    finally:
        conn.close()


def wait_served(dataplane, host, path="/", backend=None, status=200, timeout=SERVE_TIMEOUT_S,
                interval=0.02):
    """Polls until a request for host+path gets `status` (and, when given, was
    answered by the echo backend named `backend`); returns the seconds it took."""
    t0 = time.monotonic()
    seen = []

    def check():
        got = served(dataplane, host, path)
        if not seen or seen[-1] != got:
            seen.append(got)
        return got[0] == status and (backend is None or got[1] == backend)
    try:
        wait_until(check, timeout, f"{host}{path} -> {status} {backend or ''}", interval)
    except TimeoutError as e:
        raise TimeoutError(f"{e}; answers seen (status, backend): {seen[-10:]}") from None
    return time.monotonic() - t0


def expect_served(dataplane, expected):
    """Every (host, path) of `expected` answers as given: {(host, path): (status,
    backend or None)}; returns the mismatches as {(host, path): (want, got)}."""
    wrong = {}
    for (host, path), (status, backend) in expected.items():
        got = served(dataplane, host, path)
        if got[0] != status or (backend is not None and got[1] != backend):
            wrong[(host, path)] = ((status, backend), got)
    return wrong


def write_json(directory, name, obj):
    path = Path(directory) / name
    path.write_text(json.dumps(obj))
    return path


# --- status, Leases, Events (test_status.py) -----------------------------------------------

def lb_ingress(cluster, ns, name):
    """status.loadBalancer.ingress of an Ingress ([] when unset), sorted for comparing."""
    obj = cluster.kubectl_json("get", "ingress", name, "-n", ns)
    entries = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return sorted(entries, key=lambda e: json.dumps(e, sort_keys=True))


def set_lb_status(cluster, ns, name, entries, tmp_dir):
    """Writes status.loadBalancer.ingress as admin through the /status subresource
    (another controller's doing); returns the Ingress as stored."""
    obj = cluster.kubectl_json("get", "ingress", name, "-n", ns)
    obj["status"] = {"loadBalancer": {"ingress": list(entries)}}
    body = write_json(tmp_dir, f"status-{ns}-{name}.json", obj)
    path = f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/{name}/status"
    return json.loads(cluster.kubectl("replace", "--raw", path, "-f", body))


def lease_spec(cluster, ns, name):
    """The Lease's spec as admin reads it, or None when there is no such Lease."""
    out = cluster.kubectl("get", "leases.coordination.k8s.io", "-n", ns, "-o", "json",
                          f"--field-selector=metadata.name={name}")
    items = json.loads(out)["items"]
    return items[0].get("spec", {}) if items else None


def ingress_events(cluster, ns, name, reason=None):
    """Core v1 Events of namespace ns whose involvedObject is Ingress `name`."""
    events = cluster.kubectl_json("get", "events", "-n", ns)["items"]
    return [e for e in events
            if e.get("involvedObject", {}).get("kind") == "Ingress"
            and e["involvedObject"].get("name") == name
            and (reason is None or e.get("reason") == reason)]
