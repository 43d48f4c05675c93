"""portico-controller --source=kube against a real kube-apiserver (1.20): what
is written through the API server is what the data plane serves. Routing
follows Ingress, Service and EndpointSlice changes and deletions; the
IngressClass rules (by name, legacy annotation, default class; others
ignored); --watch-namespace; an API server restart and an expired
resourceVersion (410, re-list) lose and duplicate nothing; both kubeconfig
layouts work, a user without RBAC gets a clear "forbidden" and no readiness;
a TLS Secret rotated through the API server reaches new handshakes while a
connection opened before keeps working; and how long a change takes from
`kubectl apply` to being served.

Each test has its own namespace(s) and its own IngressClass (the controller's
--ingress-class), so that what other tests leave in the shared control plane
is another class's business and ignored."""

import base64
import hashlib
import http.client
import json
import socket
import ssl
import subprocess
import time

import pytest

from cluster import CERT_USER
from controller_harness import Client, percentile
from kube_harness import (OTHER_CONTROLLER_NAME, SERVE_TIMEOUT_S, KubeController, Namespace,
                          PortBackend, endpoint_slice, expect_served, ingress, ingress_class,
                          ingress_events,
                          metric_total, served, service, start, start_controller,
                          start_dataplane, subdir, unique, wait_served, wait_until)

LATENCY_CHANGES = 10
LATENCY_BOUND_S = 5.0
RECOVERY_TIMEOUT_S = 40  # API server back to the change served: informer backoff included
ROTATION_TIMEOUT_S = 10  # Secret replaced -> new handshakes present the new certificate


@pytest.fixture
def ns(cluster):
    namespace = Namespace(cluster)
    yield namespace.name
    namespace.cleanup()


def serve_three(launch, cluster, ns, klass):
    """Ingresses keep, drop and edit on backend one (a second backend, two, on
    127.0.0.2 is ready for edits), all served by a fresh controller and data plane."""
    one = launch.backend("one")
    two = start(launch, lambda: PortBackend(launch.tmp_dir, "two", "127.0.0.2", one.port))
    names = ["keep", "drop", "edit"]
    cluster.apply([*backend_objects(ns, "echo", one.port, [one]),
                   *[ingress(n, ns, host_of(n, ns), [("/", "echo", 80)], class_name=klass)
                     for n in names]])
    controller, dp = stack(launch, cluster, klass)
    for n in names:
        wait_served(dp, host_of(n, ns), "/", "one")
    return one, two, names, controller, dp


def stack(launch, cluster, klass, user="portico-controller", extra_args=()):
    controller = start_controller(launch, cluster, user=user, ingress_class=klass,
                                  extra_args=extra_args)
    return controller, start_dataplane(launch, [controller])


def backend_objects(ns, name, port, backends, slice_name=None):
    """A selector-less Service `name` (port 80 "http" -> targetPort "http") and one
    EndpointSlice with `backends` on `port`."""
    return [service(name, ns),
            endpoint_slice(slice_name or f"{name}-1", ns, name, port, backends)]


def host_of(name, ns):
    return f"{name}.{ns}.test"


def counts_in_cluster(cluster):
    """Objects the API server holds, by the controller's portico_controller_objects kinds."""
    kinds = {"Ingress": "ingresses.networking.k8s.io", "Service": "services",
             "EndpointSlice": "endpointslices.discovery.k8s.io",
             "IngressClass": "ingressclasses.networking.k8s.io"}
    return {kind: len(cluster.kubectl("get", resource, "-A", "-o", "name").split())
            for kind, resource in kinds.items()}


def counts_in_controller(controller):
    return {kind: int(v) for kind, v in
            controller.metric_by("portico_controller_objects", "kind").items()
            if kind in ("Ingress", "Service", "EndpointSlice", "IngressClass")}


def watch_counters(controller):
    samples = controller.metrics()
    return {name: metric_total(samples, f"portico_controller_{name}")
            for name in ("watch_lists_total", "watch_relists_total", "watch_restarts_total",
                         "api_errors_total")}


# --- 1. routing follows the API server ------------------------------------------------------

@pytest.mark.timeout_s(120)
def test_ingress_service_and_endpointslice_changes_are_served(cluster, launch, ns, klass):
    one = launch.backend("one")
    controller, dp = stack(launch, cluster, klass)
    host = host_of("web", ns)
    assert served(dp, host, "/a") == (404, None)

    cluster.apply([*backend_objects(ns, "web", one.port, [one]),
                   ingress("web", ns, host, [("/a", "web", 80)], class_name=klass)])
    wait_served(dp, host, "/a", "one")
    assert served(dp, host, "/a/deeper") == (200, "one")
    assert served(dp, host, "/b")[0] == 404

    # The Ingress's path changes: the new one is served, the old one is gone.
    cluster.apply(ingress("web", ns, host, [("/b", "web", 80)], class_name=klass))
    wait_served(dp, host, "/b", "one")
    assert served(dp, host, "/a")[0] == 404

    # The EndpointSlice moves to a second backend on the same port (127.0.0.2).
    two = start(launch, lambda: PortBackend(launch.tmp_dir, "two", "127.0.0.2", one.port))
    cluster.apply(endpoint_slice("web-1", ns, "web", one.port, [two]))
    wait_served(dp, host, "/b", "two")
    answers = {served(dp, host, f"/b/{i}") for i in range(20)}
    assert answers == {(200, "two")}, answers

    # The Service goes: the route stays and answers 503 (docs/ingress.md: broken
    # backends never fall through), its EndpointSlice notwithstanding.
    cluster.delete("service", "web", ns)
    wait_served(dp, host, "/b", status=503)
    # The Ingress goes: nothing routes the host any more.
    cluster.delete("ingress", "web", ns)
    wait_served(dp, host, "/b", status=404)
    assert controller.alive() and dp.alive()


# --- 2. IngressClass ------------------------------------------------------------------------

@pytest.mark.timeout_s(120)
def test_ingress_class_by_name_legacy_annotation_and_default(cluster, launch, ns, klass):
    one = launch.backend("one")
    other_class = unique("other")
    cluster.apply(ingress_class(other_class, controller=OTHER_CONTROLLER_NAME))
    try:
        controller, dp = stack(launch, cluster, klass)
        cases = {  # ingress name -> (class fields, served?)
            "by-name": ({"class_name": klass}, True),
            "legacy": ({"legacy_class": klass}, True),
            "unknown-class": ({"class_name": unique("nonexistent")}, False),
            "other-controller": ({"class_name": other_class}, False),
            "other-legacy": ({"legacy_class": other_class}, False),
            # No class while no IngressClass is the default: nobody's.
            "classless": ({}, False),
        }
        cluster.apply([*backend_objects(ns, "echo", one.port, [one])] + [
            # A named Service port here: resolved through Service and slice port names.
            ingress(name, ns, host_of(name, ns), [("/", "echo", "http")], **fields)
            for name, (fields, _) in cases.items()])
        for name, (_, ours) in cases.items():
            if ours:
                wait_served(dp, host_of(name, ns), "/", "one")
        # The others are not served, also once the served ones are.
        for name, (_, ours) in cases.items():
            if not ours:
                assert served(dp, host_of(name, ns), "/")[0] == 404, name

        # Our class becomes the default: the class-less Ingress (created before,
        # so the DefaultIngressClass admission plugin left it class-less) is ours.
        cluster.apply(ingress_class(klass, default=True))
        try:
            wait_served(dp, host_of("classless", ns), "/", "one")
            spec = cluster.kubectl_json("get", "ingress", "classless", "-n", ns)["spec"]
            assert "ingressClassName" not in spec, spec
            for name in ("unknown-class", "other-controller", "other-legacy"):
                assert served(dp, host_of(name, ns), "/")[0] == 404, name
        finally:
            cluster.apply(ingress_class(klass, default=False))
        wait_served(dp, host_of("classless", ns), "/", status=404)
        # The rest is untouched by the class changes.
        for name in ("by-name", "legacy"):
            assert served(dp, host_of(name, ns), "/") == (200, "one"), name

        # An Ingress that changes class leaves, and one that changes to ours joins.
        cluster.apply([
            ingress("by-name", ns, host_of("by-name", ns), [("/", "echo", "http")],
                    class_name=other_class),
            ingress("other-controller", ns, host_of("other-controller", ns),
                    [("/", "echo", "http")], class_name=klass)])
        wait_served(dp, host_of("by-name", ns), "/", status=404)
        wait_served(dp, host_of("other-controller", ns), "/", "one")
    finally:
        cluster.delete("ingressclass", other_class)


# --- 3. --watch-namespace -------------------------------------------------------------------

@pytest.mark.timeout_s(120)
def test_watch_namespace_ignores_other_namespaces(cluster, launch, klass):
    one = launch.backend("one")
    a, b = Namespace(cluster, "e2e-ks-a"), Namespace(cluster, "e2e-ks-b")
    try:
        for namespace in (a.name, b.name):
            cluster.apply([*backend_objects(namespace, "echo", one.port, [one]),
                           ingress("web", namespace, host_of("web", namespace),
                                   [("/", "echo", 80)], class_name=klass)])
        controller, dp = stack(launch, cluster, klass, extra_args=[f"--watch-namespace={a}"])
        wait_served(dp, host_of("web", a.name), "/", "one")
        assert served(dp, host_of("web", b.name), "/")[0] == 404

        # A change in b is not seen; one in a is.
        cluster.apply(ingress("web", b.name, host_of("web", b.name), [("/", "echo", 80)],
                              class_name=klass, annotations={"e2e.example.test/touch": "1"}))
        cluster.apply(ingress("late", a.name, host_of("late", a.name), [("/", "echo", 80)],
                              class_name=klass))
        wait_served(dp, host_of("late", a.name), "/", "one")
        assert served(dp, host_of("web", b.name), "/")[0] == 404

        synced = controller.metric_by("portico_controller_watch_synced", "resource")
        for resource in ("ingresses", "services", "endpointslices", "secrets", "secrets-opaque"):
            assert synced.get(f"{resource}/{a}") == 1, synced
            assert resource not in synced and f"{resource}/{b}" not in synced, synced
        assert synced.get("ingressclasses") == 1, synced  # cluster-scoped, always watched
        objects = counts_in_controller(controller)
        assert objects["Ingress"] == 2 and objects["Service"] == 1, objects
    finally:
        a.cleanup()
        b.cleanup()


# --- 4. API server restart and 410 ----------------------------------------------------------

@pytest.mark.timeout_s(180)
def test_apiserver_restart_mid_watch_misses_no_change(own_cluster, launch, ns, klass):
    c = own_cluster
    one = launch.backend("one")
    host = host_of("web", ns)
    c.apply([*backend_objects(ns, "echo", one.port, [one]),
             ingress("web", ns, host, [("/before", "echo", 80)], class_name=klass)])
    controller, dp = stack(launch, c, klass)
    wait_served(dp, host, "/before", "one")
    before = watch_counters(controller)

    c.timings["restart"] = c.restart_apiserver()
    # Nothing can change while the API server is down; the first change after
    # it is back must be served (the informers reconnect and resume or re-list).
    c.apply(ingress("web", ns, host, [("/after", "echo", 80)], class_name=klass))
    seconds = wait_served(dp, host, "/after", "one", timeout=RECOVERY_TIMEOUT_S)
    assert served(dp, host, "/before")[0] == 404
    after = watch_counters(controller)
    assert (after["watch_restarts_total"] > before["watch_restarts_total"]
            or after["api_errors_total"] > before["api_errors_total"]), (before, after)

    # And the next change is followed as quickly as ever.
    c.apply(ingress("web", ns, host, [("/later", "echo", 80)], class_name=klass))
    wait_served(dp, host, "/later", "one", timeout=5)
    assert counts_in_controller(controller) == counts_in_cluster(c)
    assert controller.alive() and dp.alive()
    assert seconds < RECOVERY_TIMEOUT_S


@pytest.mark.timeout_s(180)
def test_expired_resource_version_relists_without_losing_or_duplicating(own_cluster, launch,
                                                                       ns, klass):
    c = own_cluster
    one, two, names, controller, dp = serve_three(launch, c, ns, klass)
    # A write the controller does not watch: every informer's resourceVersion is
    # now older than the revision the restarted API server's watch cache starts
    # at (without it they would be equal, and the watches would just resume).
    c.apply({"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "tick", "namespace": ns}, "data": {"k": "v"}})
    before = watch_counters(controller)

    c.expire_resource_versions()
    # Right after the API server is back, before or while the informers re-list:
    # a deletion, an addition, an edit and an endpoint change. The re-list must
    # notice each of them, whichever of LIST or WATCH delivers them.
    c.delete("ingress", "drop", ns)
    c.apply([ingress("new", ns, host_of("new", ns), [("/", "echo", 80)], class_name=klass),
             ingress("edit", ns, host_of("edit", ns), [("/edited", "echo", 80)],
                     class_name=klass),
             endpoint_slice("echo-1", ns, "echo", one.port, [two])])
    wait_until(lambda: watch_counters(controller)["watch_relists_total"] >
               before["watch_relists_total"], RECOVERY_TIMEOUT_S, "a re-list", interval=0.1)
    expected = {(host_of("keep", ns), "/"): (200, "two"),
                (host_of("new", ns), "/"): (200, "two"),
                (host_of("edit", ns), "/edited"): (200, "two"),
                (host_of("edit", ns), "/"): (404, None),
                (host_of("drop", ns), "/"): (404, None)}
    wait_until(lambda: not expect_served(dp, expected), RECOVERY_TIMEOUT_S,
               "exactly the expected routes after the re-list", interval=0.05)
    # Exactly those: the controller holds what the API server holds, no more.
    assert counts_in_controller(controller) == counts_in_cluster(c)
    assert {served(dp, host_of("keep", ns), f"/{i}") for i in range(10)} == {(200, "two")}

    # Watching goes on after the re-list.
    c.apply(ingress("keep", ns, host_of("keep", ns), [("/moved", "echo", 80)],
                    class_name=klass))
    wait_served(dp, host_of("keep", ns), "/moved", "two", timeout=5)
    wait_served(dp, host_of("keep", ns), "/", status=404, timeout=5)
    c.delete("ingress", "new", ns)
    wait_served(dp, host_of("new", ns), "/", status=404, timeout=5)
    assert not expect_served(dp, {(host_of("edit", ns), "/edited"): (200, "two"),
                                  (host_of("drop", ns), "/"): (404, None)})
    after = watch_counters(controller)
    assert after["watch_relists_total"] > before["watch_relists_total"], (before, after)
    assert "re-listed" in controller.stderr()


@pytest.mark.timeout_s(180)
def test_changes_made_while_the_controllers_apiserver_was_down_are_relisted(own_cluster, launch,
                                                                            ns, klass):
    """What the informers cannot see by watching: while the controller's API
    server is down, a second API server (same etcd) deletes, adds and edits
    objects, then etcd is compacted. When the first API server is back, the
    watches' resourceVersions are gone (410), the informers re-list, and the
    re-list alone must remove the deleted object and bring in the rest."""
    c = own_cluster
    one, two, names, controller, dp = serve_three(launch, c, ns, klass)
    before = watch_counters(controller)

    c.stop_apiserver()
    side = c.start_side_apiserver()
    try:
        c.delete("ingress", "drop", ns, server=side.server)
        c.apply([ingress("new", ns, host_of("new", ns), [("/", "echo", 80)], class_name=klass),
                 ingress("edit", ns, host_of("edit", ns), [("/edited", "echo", 80)],
                         class_name=klass),
                 endpoint_slice("echo-1", ns, "echo", one.port, [two])], server=side.server)
        c.compact_etcd()
        # The controller cannot know yet: the data plane serves the last snapshot.
        assert not expect_served(dp, {(host_of(n, ns), "/"): (200, "one") for n in names})
        assert served(dp, host_of("new", ns), "/")[0] == 404
    finally:
        side.stop()
        c.start_apiserver()

    expected = {(host_of("keep", ns), "/"): (200, "two"),
                (host_of("new", ns), "/"): (200, "two"),
                (host_of("edit", ns), "/edited"): (200, "two"),
                (host_of("edit", ns), "/"): (404, None),
                (host_of("drop", ns), "/"): (404, None)}
    wait_until(lambda: not expect_served(dp, expected), RECOVERY_TIMEOUT_S,
               "exactly the expected routes after the re-list", interval=0.05)
    after = watch_counters(controller)
    assert after["watch_relists_total"] > before["watch_relists_total"], (before, after)
    relisted = controller.log_matches(r"ingresses: re-listed: (\d+) added, (\d+) updated, "
                                      r"(\d+) deleted")
    assert ("1", "1", "1") in relisted, relisted
    assert counts_in_controller(controller) == counts_in_cluster(c)
    # And it watches again.
    c.apply(ingress("keep", ns, host_of("keep", ns), [("/moved", "echo", 80)],
                    class_name=klass))
    wait_served(dp, host_of("keep", ns), "/moved", "two", timeout=5)


# --- 5. credentials -------------------------------------------------------------------------

@pytest.mark.timeout_s(90)
@pytest.mark.parametrize("user", ["portico-controller", CERT_USER],
                         ids=["token-inline-ca", "client-certificate-files"])
def test_kubeconfig_layouts(own_cluster, launch, ns, klass, user):
    one = launch.backend("one")
    host = host_of("web", ns)
    own_cluster.apply([*backend_objects(ns, "echo", one.port, [one]),
                       ingress("web", ns, host, [("/", "echo", 80)], class_name=klass)])
    controller, dp = stack(launch, own_cluster, klass, user=user)
    wait_served(dp, host, "/", "one")
    own_cluster.apply(ingress("web", ns, host, [("/x", "echo", 80)], class_name=klass))
    wait_served(dp, host, "/x", "one")
    assert "connected to https://127.0.0.1:" in controller.stderr()
    samples = controller.metrics()
    assert metric_total(samples, "portico_controller_api_errors_total") == 0


@pytest.mark.timeout_s(60)
def test_user_without_rbac_is_told_forbidden_and_never_ready(own_cluster, launch, klass):
    controller = start(launch, lambda: KubeController(
        subdir(launch, "unbound"), own_cluster.controller_args("portico-unbound"),
        ingress_class=klass, name="unbound", wait_started=False))
    line = controller.wait_for_output(r"[^\n]*forbidden[^\n]*", 20).group(0)
    # It names the verb and the resource it was refused.
    assert '"list"' in line or "list" in line.split("forbidden", 1)[1], line
    assert any(r in line for r in ("ingresses", "ingressclasses", "services", "endpointslices",
                                   "secrets", "configmaps")), line
    # Bounded: it keeps retrying (with backoff) and never gets ready.
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        assert controller.alive(), controller.stderr()[-2000:]
        assert "admin listening" not in controller.stderr()
        assert "grpc listening" not in controller.stderr()
        time.sleep(0.2)
    assert len(controller.log_matches("forbidden")) >= 2, "no retry after the 403"


# --- 6. TLS Secret rotation -----------------------------------------------------------------

class SelfSigned:
    """A self-signed certificate for one DNS name (openssl req -x509) and its key."""

    def __init__(self, directory, name, host):
        self.cert_path = directory / f"{name}.pem"
        self.key_path = directory / f"{name}-key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", f"/CN={host}",
                        "-addext", f"subjectAltName=DNS:{host}", "-keyout", str(self.key_path),
                        "-out", str(self.cert_path)],
                       check=True, capture_output=True, timeout=60)
        self.pem = self.cert_path.read_text()
        self.der = ssl.PEM_cert_to_DER_cert(self.pem)
        self.fingerprint = hashlib.sha256(self.der).hexdigest()[:16]


def tls_secret(name, ns, cert):
    def b64(path):
        return base64.b64encode(path.read_bytes()).decode()
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": name, "namespace": ns},
            "data": {"tls.crt": b64(cert.cert_path), "tls.key": b64(cert.key_path)}}


def tls_connect(port, host, cadata=None, timeout=5):
    """A TLS connection to the data plane's HTTPS port with SNI `host`: verified
    against `cadata` (host name included), or, without it, unverified, to see
    whatever certificate is presented."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cadata is None:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx.load_verify_locations(cadata=cadata)
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=host)
    except BaseException:
        raw.close()
        raise


def presented(port, host):
    """The DER certificate a new handshake for `host` gets, or None if it failed."""
    try:
        with tls_connect(port, host) as s:
            return s.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None


def keep_alive_get(conn, host, path):
    """One request on an open HTTPConnection whose socket is an established TLS
    connection; (status, echo backend name). http.client would reconnect on a
    closed socket, so the caller checks conn.sock is still the same object."""
    conn.request("GET", path, headers={"Host": host})
    resp = conn.getresponse()
    body = resp.read()
    assert not resp.will_close, "the data plane closed the keep-alive connection"
    return resp.status, json.loads(body).get("name") if resp.status == 200 else None


@pytest.mark.timeout_s(120)
def test_rotated_tls_secret_is_served_without_dropping_connections(cluster, launch, ns, klass,
                                                                   tmp_path, capsys,
                                                                   record_property):
    one = launch.backend("one")
    host = "rotate.example.test"
    first, second = SelfSigned(tmp_path, "first", host), SelfSigned(tmp_path, "second", host)
    web = ingress("web", ns, host, [("/", "echo", 80)], class_name=klass)
    web["spec"]["tls"] = [{"hosts": [host], "secretName": "rotate-tls"}]
    cluster.apply([*backend_objects(ns, "echo", one.port, [one]),
                   tls_secret("rotate-tls", ns, first), web])
    try:
        controller, dp = stack(launch, cluster, klass)
        # ControlledDataplane binds --https_listen=127.0.0.1:0 and logs the port.
        https_port = int(dp.wait_for_output(r"https listening on 127\.0\.0\.1:(\d+)", 10)[1])
        # Served once plain HTTP is redirected: a host with TLS gets 308 there.
        wait_served(dp, host, "/", status=308)
        wait_until(lambda: presented(https_port, host) == first.der, SERVE_TIMEOUT_S,
                   f"{host} presenting the first certificate ({first.fingerprint})",
                   interval=0.05)

        # A connection opened before the rotation, verified against the first
        # certificate only, one request done, kept alive.
        old_sock = tls_connect(https_port, host, cadata=first.pem)
        old = http.client.HTTPConnection(host, https_port, timeout=5)
        old.sock = old_sock
        try:
            assert keep_alive_get(old, host, "/before") == (200, "one")

            cluster.apply(tls_secret("rotate-tls", ns, second))
            applied = time.monotonic()
            seen = []

            def rotated():
                der = presented(https_port, host)
                seen.append(hashlib.sha256(der).hexdigest()[:16] if der else None)
                return der == second.der
            try:
                wait_until(rotated, ROTATION_TIMEOUT_S,
                           f"{host} presenting the second certificate ({second.fingerprint})",
                           interval=0.02)
            except TimeoutError as e:
                raise TimeoutError(f"{e}; fingerprints seen: {sorted(set(seen))}") from None
            seconds = time.monotonic() - applied
            # Every handshake from now on gets the new certificate.
            assert all(presented(https_port, host) == second.der for _ in range(5))

            # The old connection is untouched: same socket, same certificate,
            # and it still carries requests.
            assert keep_alive_get(old, host, "/after") == (200, "one")
            assert old.sock is old_sock
            assert old_sock.getpeercert(binary_form=True) == first.der
        finally:
            old.close()

        # A client that trusts only the new certificate gets the backend's answer.
        curl = subprocess.run(
            ["curl", "-sS", "--max-time", "5", "--resolve", f"{host}:{https_port}:127.0.0.1",
             "--cacert", str(second.cert_path), "-o", "-", "-w", "\n%{http_code}",
             f"https://{host}:{https_port}/curl"],
            capture_output=True, text=True, timeout=15)
        assert curl.returncode == 0, curl.stderr
        body, _, code = curl.stdout.rpartition("\n")
        assert code == "200" and json.loads(body)["name"] == "one", curl.stdout
        assert controller.alive() and dp.alive()
    finally:
        cluster.delete("secret", "rotate-tls", ns)

    record_property("rotation_to_served_ms", round(seconds * 1000, 1))
    with capsys.disabled():
        print(f"\nTLS Secret rotation: kubectl apply returned -> new handshakes present the "
              f"new certificate in {seconds * 1000:.1f} ms")
    assert seconds < ROTATION_TIMEOUT_S


# --- 7. change-to-served latency ------------------------------------------------------------

@pytest.mark.timeout_s(120)
def test_change_to_served_latency(cluster, launch, ns, klass, capsys, record_property):
    one = launch.backend("one")
    host = host_of("web", ns)
    cluster.apply([*backend_objects(ns, "echo", one.port, [one]),
                   ingress("web", ns, host, [("/p0", "echo", 80)], class_name=klass)])
    controller, dp = stack(launch, cluster, klass)
    wait_served(dp, host, "/p0", "one")
    client = Client(dp.port)
    latencies = []
    try:
        for k in range(1, LATENCY_CHANGES + 1):
            paths = [(f"/p{i}", "echo", 80) for i in range(k + 1)]
            assert client.served_by(host, f"/p{k}") is None
            cluster.apply(ingress("web", ns, host, paths, class_name=klass))
            applied = time.monotonic()
            wait_until(lambda: client.served_by(host, f"/p{k}") == "one", LATENCY_BOUND_S * 2,
                       f"/p{k} to be served", interval=0.002)
            latencies.append(time.monotonic() - applied)
    finally:
        client.close()
    p50, worst = percentile(latencies, 50), max(latencies)
    summary = (f"kube source change-to-served over {len(latencies)} changes (kubectl apply "
               f"returned -> data plane serves the new path): p50 {p50 * 1000:.1f} ms, "
               f"max {worst * 1000:.1f} ms (--debounce=20ms, plaintext gRPC)")
    record_property("latency_p50_ms", round(p50 * 1000, 1))
    record_property("latency_max_ms", round(worst * 1000, 1))
    with capsys.disabled():
        print(f"\n{summary}")
    assert worst < LATENCY_BOUND_S, latencies


# --- 8. ConfigMaps named by custom-headers ---------------------------------------------------

def response_header(dp, host, name, path="/"):
    """(status, the response's header `name` or None); (None, None) on a failed request."""
    conn = http.client.HTTPConnection("127.0.0.1", dp.port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader(name)
    except (OSError, http.client.HTTPException):
        return None, None
    finally:
        conn.close()


def config_map(name, ns, data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns},
            "data": data}


@pytest.mark.timeout_s(120)
def test_custom_headers_config_map_is_watched_and_served_live(cluster, launch, ns, klass):
    one = launch.backend("one")
    host = host_of("web", ns)
    web = ingress("web", ns, host, [("/", "echo", 80)], class_name=klass,
                  annotations={"nginx.ingress.kubernetes.io/custom-headers": "sec-headers"})
    cluster.apply([*backend_objects(ns, "echo", one.port, [one]),
                   config_map("sec-headers", ns, {"X-Frame-Options": "DENY"}), web])
    controller, dp = stack(launch, cluster, klass)
    wait_until(lambda: response_header(dp, host, "X-Frame-Options") == (200, "DENY"),
               SERVE_TIMEOUT_S, "the ConfigMap's header on the response")

    # An unrelated ConfigMap changes nothing that is served: no snapshot version
    # of its own (it may share a debounced update with the next change).
    version = controller.version()
    cluster.apply(config_map("unrelated", ns, {"key": "value"}))
    cluster.apply(config_map("sec-headers", ns, {"X-Frame-Options": "SAMEORIGIN"}))
    wait_until(lambda: response_header(dp, host, "X-Frame-Options") == (200, "SAMEORIGIN"),
               SERVE_TIMEOUT_S, "the edited ConfigMap's header")
    assert controller.version() == version + 1

    # Deleted: the headers stop, the Ingress gets an Event, traffic still flows.
    cluster.delete("configmap", "sec-headers", ns)
    wait_until(lambda: response_header(dp, host, "X-Frame-Options") == (200, None),
               SERVE_TIMEOUT_S, "the header gone with its ConfigMap")
    wait_until(lambda: any("sec-headers" in e.get("message", "")
                           for e in ingress_events(cluster, ns, "web", "InvalidAnnotation")),
               SERVE_TIMEOUT_S, "an InvalidAnnotation Event naming the ConfigMap")
    assert controller.alive() and dp.alive()
