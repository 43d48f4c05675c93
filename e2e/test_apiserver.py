"""The e2e harness itself against a real kube-apiserver (1.20): reachability,
the controller's RBAC (what it grants and what it refuses), the objects the
controller's tests will create (selector-less Services, v1beta1
EndpointSlices with loopback addresses), API discovery, and the two events an
informer must survive: an API server restart and an expired resourceVersion
(410 Gone)."""

import json
import re
import secrets
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from cluster import CERT_USER, CONTROLLER_NAMESPACE, RBAC_MANIFEST, ROOT, KubeCluster, \
    KubectlError
from harness import wait_until

HELM_RBAC = ROOT / "deploy" / "helm" / "portico" / "templates" / "rbac.yaml"
RBAC_DOC = ROOT / "docs" / "rbac.md"
CONTROLLER = "portico-controller"


@pytest.fixture(scope="module")
def ns(cluster):
    """A namespace of this module's own (a random suffix: external clusters get reruns)."""
    name = f"e2e-api-{secrets.token_hex(3)}"
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    # Without a controller-manager no namespace controller finalizes it: do not wait.
    cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")


def forbidden(run):
    """True when run() fails with 403 Forbidden; re-raises any other failure."""
    try:
        run()
    except KubectlError as e:
        if e.forbidden:
            return True
        raise
    return False


def configmap(name, ns, **data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns},
            "data": data}


def ingress(name, ns, service="backend"):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"rules": [{"host": f"{name}.example.test", "http": {"paths": [
                {"path": "/", "pathType": "Prefix",
                 "backend": {"service": {"name": service, "port": {"number": 80}}}}]}}]}}


def now_rfc3339():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def watch_events(cluster, path):
    """(HTTP status, [(type, code, reason)]) of a watch that ends by itself."""
    status, events = cluster.watch(path, timeout=15)
    summary = []
    for event in events:
        obj = event.get("object", {}) if isinstance(event, dict) else {}
        summary.append((event.get("type") if isinstance(event, dict) else event,
                        obj.get("code"), obj.get("reason")))
    return status, summary


# --- reachability and identities ---------------------------------------------------------

def test_admin_kubeconfig_reaches_the_api_server(cluster):
    version = cluster.kubectl_json("version")["serverVersion"]
    assert version["major"] == "1"
    if not cluster.external:
        assert version["minor"] == "20", version
    assert cluster.kubectl("get", "--raw", "/readyz").strip() == "ok"
    assert "namespace/default" in cluster.kubectl("get", "namespaces", "-o", "name").split()


def test_kubeconfig_layouts_authenticate_each_controller(own_cluster):
    """Token with inline CA data; client certificate, key and CA as relative file
    paths. Both layouts are what the C++ client's kubeconfig parser reads."""
    token = yaml.safe_load(own_cluster.controller_kubeconfig.read_text())
    assert set(token["clusters"][0]["cluster"]) == {"server", "certificate-authority-data"}
    assert set(token["users"][0]["user"]) == {"token"}
    cert = yaml.safe_load(own_cluster.cert_kubeconfig.read_text())
    paths = [cert["clusters"][0]["cluster"]["certificate-authority"],
             *cert["users"][0]["user"].values()]
    assert len(paths) == 3 and not any(Path(p).is_absolute() for p in paths), paths
    for user in (CONTROLLER, "portico-controller-2", CERT_USER):
        answer = own_cluster.as_controller("auth", "can-i", "list",
                                           "ingresses.networking.k8s.io", "--all-namespaces",
                                           user=user)
        assert answer.strip() == "yes", user
    # The certificate identity is its CN and nothing else: no group grants more.
    assert forbidden(lambda: own_cluster.as_controller("get", "pods", "-A", user=CERT_USER))


# --- RBAC ---------------------------------------------------------------------------------

WATCHED = [  # (kubectl resource, list path)
    ("ingresses.networking.k8s.io", "/apis/networking.k8s.io/v1/ingresses"),
    ("ingressclasses.networking.k8s.io", "/apis/networking.k8s.io/v1/ingressclasses"),
    ("services", "/api/v1/services"),
    ("endpointslices.discovery.k8s.io", "/apis/discovery.k8s.io/v1beta1/endpointslices"),
    ("secrets", "/api/v1/secrets"),
    ("configmaps", "/api/v1/configmaps"),
]


def test_controller_lists_and_watches_cluster_wide(cluster):
    for resource, path in WATCHED:
        cluster.as_controller("get", resource, "--all-namespaces", "-o", "name")
        # A watch the server ends after 1 s: allowed means it opened at all.
        cluster.as_controller("get", "--raw", f"{path}?watch=1&timeoutSeconds=1")
    # --publish-service: one Service by name.
    cluster.as_controller("get", "service", "kubernetes", "-n", "default", "-o", "name")
    # Discovery, for the EndpointSlice version.
    cluster.as_controller("get", "--raw", "/apis/discovery.k8s.io")


def test_controller_writes_events_ingress_status_and_its_lease(cluster, ns, tmp_path):
    cluster.apply(ingress("web", ns))
    listed = json.loads(cluster.as_controller("get", "ingresses", "-n", ns, "-o", "json"))
    web = next(i for i in listed["items"] if i["metadata"]["name"] == "web")

    # An Event on the Ingress: create, then patch its count.
    event_name = f"web.{secrets.token_hex(4)}"
    cluster.as_controller("create", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": event_name, "namespace": ns},
        "involvedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                           "name": "web", "namespace": ns, "uid": web["metadata"]["uid"]},
        "reason": "E2E", "message": "harness check", "type": "Normal",
        "source": {"component": CONTROLLER}, "count": 1,
        "firstTimestamp": now_rfc3339(), "lastTimestamp": now_rfc3339()}))
    if not cluster.external:
        # kubectl patch GETs the object first; the controller PATCHes directly.
        code, reply = cluster.request(
            "PATCH", f"/api/v1/namespaces/{ns}/events/{event_name}", user=CONTROLLER,
            body={"count": 2, "lastTimestamp": now_rfc3339()},
            content_type="application/merge-patch+json")
        assert code == 200, reply
        assert cluster.kubectl_json("get", "event", event_name, "-n", ns)["count"] == 2
        assert forbidden(lambda: cluster.as_controller("get", "event", event_name, "-n", ns))

    # Ingress status: update (PUT) of the status subresource.
    status_path = f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/web/status"
    web["status"] = {"loadBalancer": {"ingress": [{"ip": "127.0.0.10"}]}}
    body = tmp_path / "web-status.json"
    body.write_text(json.dumps(web))
    cluster.as_controller("replace", "--raw", status_path, "-f", body)
    got = cluster.kubectl_json("get", "ingress", "web", "-n", ns)
    assert got["status"]["loadBalancer"]["ingress"] == [{"ip": "127.0.0.10"}]
    # ... and a merge patch of it, with the controller's own token.
    if not cluster.external:
        code, reply = cluster.request(
            "PATCH", status_path, user=CONTROLLER,
            body={"status": {"loadBalancer": {"ingress": [{"hostname": "lb.example.test"}]}}},
            content_type="application/merge-patch+json")
        assert code == 200, reply
        got = cluster.kubectl_json("get", "ingress", "web", "-n", ns)
        assert got["status"]["loadBalancer"]["ingress"] == [{"hostname": "lb.example.test"}]
        assert got["spec"] == web["spec"]

    # The leader-election Lease in the controller's namespace: create, get, update.
    lease = f"portico-e2e-{secrets.token_hex(3)}"
    cluster.as_controller("create", "-f", "-", input=json.dumps({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": lease, "namespace": CONTROLLER_NAMESPACE},
        "spec": {"holderIdentity": "replica-a", "leaseDurationSeconds": 15}}))
    current = json.loads(cluster.as_controller("get", "lease", lease, "-n",
                                               CONTROLLER_NAMESPACE, "-o", "json"))
    current["spec"]["holderIdentity"] = "replica-b"
    cluster.as_controller("replace", "-f", "-", input=json.dumps(current))
    got = cluster.kubectl_json("get", "lease", lease, "-n", CONTROLLER_NAMESPACE)
    assert got["spec"]["holderIdentity"] == "replica-b"
    cluster.delete("lease", lease, CONTROLLER_NAMESPACE)


def test_controller_is_refused_what_it_was_not_granted(cluster, ns, tmp_path):
    cluster.apply([ingress("locked", ns), configmap("settings", ns, a="1"),
                   {"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": "keep", "namespace": ns},
                    "spec": {"ports": [{"name": "http", "port": 80}]}}])
    spec = cluster.kubectl_json("get", "ingress", "locked", "-n", ns)
    spec["spec"]["rules"][0]["host"] = "changed.example.test"
    body = tmp_path / "locked.json"
    body.write_text(json.dumps(spec))
    refused = {
        "get one Ingress": ("get", "ingress", "locked", "-n", ns),
        "get one Secret": ("get", "secret", "any", "-n", ns),
        "get one ConfigMap": ("get", "configmap", "settings", "-n", ns),
        "list Pods": ("get", "pods", "--all-namespaces"),
        "list Endpoints": ("get", "endpoints", "--all-namespaces"),
        "list Nodes": ("get", "nodes"),
        "delete a Service": ("delete", "service", "keep", "-n", ns),
        "update an Ingress spec": ("replace", "--raw",
                                   f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/locked",
                                   "-f", body),
        "create a ConfigMap": ("create", "configmap", "mine", "-n", ns),
        "list Leases": ("get", "leases", "-n", CONTROLLER_NAMESPACE),
        "create a Lease elsewhere": ("create", "-f", "-"),
    }
    other_lease = json.dumps({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                              "metadata": {"name": "portico", "namespace": ns}, "spec": {}})
    for what, args in refused.items():
        stdin = other_lease if args[-1] == "-" else None
        assert forbidden(lambda: cluster.as_controller(*args, input=stdin)), what
    assert cluster.kubectl_json("get", "service", "keep", "-n", ns)["metadata"]["name"] == "keep"
    assert forbidden(lambda: cluster.as_controller("get", "ingresses", "--all-namespaces",
                                                   user="portico-unbound"))


def test_rbac_file_is_what_grants_access(own_cluster):
    """Without the bindings the controller gets 403; applying the file grants it."""
    c = own_cluster
    list_ingresses = lambda: c.as_controller("get", "ingresses", "--all-namespaces")  # noqa
    try:
        c.kubectl("delete", "clusterrolebinding", CONTROLLER)
        c.kubectl("delete", "rolebinding", "portico-controller-leader-election",
                  "-n", CONTROLLER_NAMESPACE)
        wait_until(lambda: forbidden(list_ingresses), 30, "403 without the binding", 0.1)
        assert forbidden(lambda: c.as_controller("get", "--raw",
                                                 "/apis/discovery.k8s.io/v1beta1/endpointslices"))
        assert forbidden(lambda: c.as_controller("get", "lease", "x", "-n",
                                                 CONTROLLER_NAMESPACE))
    finally:
        c.apply_rbac()
    list_ingresses()
    with pytest.raises(KubectlError, match="NotFound"):
        c.as_controller("get", "lease", "x", "-n", CONTROLLER_NAMESPACE)


def test_rbac_files_agree():
    """deploy/rbac, the Helm chart and docs/rbac.md show the same rules."""
    docs = list(yaml.safe_load_all(RBAC_MANIFEST.read_text()))
    by_kind = {d["kind"]: d for d in docs}
    assert by_kind["ClusterRole"]["metadata"]["name"] == CONTROLLER
    assert by_kind["Role"]["metadata"]["namespace"] == CONTROLLER_NAMESPACE
    plain = [by_kind["ClusterRole"]["rules"], by_kind["Role"]["rules"]]
    # The chart is a template; its rules blocks hold no template expressions.
    chart = [yaml.safe_load(block)["rules"] for block in
             re.findall(r"^(rules:\n(?:  .*\n)+)", HELM_RBAC.read_text(), re.M)]
    documented = [yaml.safe_load(block)["rules"] for block in
                  re.findall(r"```yaml\n(.*?)```", RBAC_DOC.read_text(), re.S)]
    assert chart == plain
    assert documented == plain


# --- objects the controller tests use ------------------------------------------------------

def test_selectorless_service_with_v1beta1_endpointslice_on_loopback(cluster, ns):
    """Backends on 127.0.0.x for a real API server: a Service without selector
    and an EndpointSlice written by hand (nothing else writes one: no
    controller-manager). Core Endpoints refuse loopback addresses."""
    cluster.apply([
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "backend", "namespace": ns},
         "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}},
        {"apiVersion": "discovery.k8s.io/v1beta1", "kind": "EndpointSlice",
         "metadata": {"name": "backend-1", "namespace": ns,
                      "labels": {"kubernetes.io/service-name": "backend"}},
         "addressType": "IPv4",
         "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
         "endpoints": [{"addresses": ["127.0.0.2"], "conditions": {"ready": True}},
                       {"addresses": ["127.0.0.3"], "conditions": {"ready": False}}]},
    ])
    slices = json.loads(cluster.as_controller(
        "get", "endpointslices.discovery.k8s.io", "-n", ns,
        "-l", "kubernetes.io/service-name=backend", "-o", "json"))["items"]
    assert [s["metadata"]["name"] for s in slices] == ["backend-1"]
    assert slices[0]["apiVersion"] == "discovery.k8s.io/v1beta1"
    assert [(e["addresses"], e["conditions"]["ready"]) for e in slices[0]["endpoints"]] == \
        [(["127.0.0.2"], True), (["127.0.0.3"], False)]
    service = json.loads(cluster.as_controller("get", "service", "backend", "-n", ns,
                                               "-o", "json"))
    assert "selector" not in service["spec"]

    with pytest.raises(KubectlError, match="loopback"):
        cluster.apply({"apiVersion": "v1", "kind": "Endpoints",
                       "metadata": {"name": "backend", "namespace": ns},
                       "subsets": [{"addresses": [{"ip": "127.0.0.2"}],
                                    "ports": [{"name": "http", "port": 8080}]}]})


def test_endpointslice_v1_is_not_served_on_1_20(cluster):
    group = json.loads(cluster.as_controller("get", "--raw", "/apis/discovery.k8s.io"))
    versions = [v["version"] for v in group["versions"]]
    if cluster.server_minor() >= 21:
        assert "v1" in versions
        return
    assert versions == ["v1beta1"]
    assert group["preferredVersion"]["version"] == "v1beta1"
    with pytest.raises(KubectlError, match="NotFound"):
        cluster.as_controller("get", "--raw", "/apis/discovery.k8s.io/v1")


# --- restart and 410 -------------------------------------------------------------------------

@pytest.mark.timeout_s(120)
def test_restart_apiserver_keeps_data(own_cluster, ns):
    c = own_cluster
    c.apply(configmap("survivor", ns, key="value"))
    before = c.kubectl_json("get", "configmap", "survivor", "-n", ns)
    port = c.port
    seconds = c.restart_apiserver()
    c.timings["restart"] = seconds
    assert c.port == port and c.apiserver.alive()
    after = c.kubectl_json("get", "configmap", "survivor", "-n", ns)
    assert after["data"] == {"key": "value"}
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    c.apply(configmap("survivor", ns, key="changed"))
    changed = c.kubectl_json("get", "configmap", "survivor", "-n", ns)
    assert int(changed["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    c.wait_controller_allowed()  # RBAC lives in etcd too


@pytest.mark.timeout_s(120)
def test_compaction_then_restart_expires_old_resource_versions(own_cluster, ns):
    """What an informer meets. With the watch cache (on, as in every real cluster)
    a compaction alone does not expire what the cache still holds; a restart
    after it does. The 410 of a watch is an ERROR event in a 200 stream, that of
    a stale continue token a 410 response."""
    c = own_cluster
    c.apply(configmap("b", ns, n="0"))
    c.apply(configmap("a", ns, n="0"))
    old = c.kubectl_json("get", "configmap", "a", "-n", ns)["metadata"]["resourceVersion"]
    for i in range(1, 4):
        c.apply(configmap("a", ns, n=str(i)))
    code, page = c.request("GET", f"/api/v1/namespaces/{ns}/configmaps?limit=1")
    assert code == 200 and page["metadata"]["continue"], page
    c.apply(configmap("b", ns, n="1"))  # the page's revision is now older than the current
    watch_old = (f"/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion={old}"
                 "&timeoutSeconds=1")

    revision = c.compact_etcd()
    assert revision > int(old)
    status, events = watch_events(c, watch_old)
    # Served from the watch cache: a, a, a, b.
    assert status == 200 and events == [("MODIFIED", None, None)] * 4, events
    token = page["metadata"]["continue"]
    code, reply = c.request("GET", f"/api/v1/namespaces/{ns}/configmaps?limit=1&continue={token}")
    assert code == 410 and reply["reason"] == "Expired", reply

    c.restart_apiserver()
    status, events = watch_events(c, watch_old)
    assert status == 200 and events == [("ERROR", 410, "Expired")], events
    # The informer's way out: LIST, then WATCH from the list's resourceVersion.
    code, listed = c.request("GET", f"/api/v1/namespaces/{ns}/configmaps")
    assert code == 200
    fresh = listed["metadata"]["resourceVersion"]
    c.apply(configmap("b", ns, n="2"))
    status, events = watch_events(
        c, f"/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion={fresh}&timeoutSeconds=1")
    assert status == 200 and events == [("MODIFIED", None, None)], events


@pytest.mark.timeout_s(120)
def test_restart_alone_expires_resource_versions_of_the_watch_cache(own_cluster, ns):
    """No compaction at all: the new watch cache starts at the current revision."""
    c = own_cluster
    c.apply(configmap("c", ns, n="0"))
    old = c.kubectl_json("get", "configmap", "c", "-n", ns)["metadata"]["resourceVersion"]
    c.apply(configmap("c", ns, n="1"))
    c.restart_apiserver()
    status, events = watch_events(
        c, f"/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion={old}&timeoutSeconds=1")
    assert status == 200 and events == [("ERROR", 410, "Expired")], events


@pytest.mark.timeout_s(150)
def test_compaction_without_watch_cache_expires_at_once(own_cluster, tmp_path):
    """--watch-cache=false: watches are served by etcd, so a compaction alone
    gives the 410 (no restart). A second control plane, started for this test.
    Two writes after the old resourceVersion, not one: a watch from RV asks etcd
    for RV+1 on, and when the compaction revision is exactly RV+1, etcd does not
    refuse it but sends that event without its previous value, and 1.20 ends
    the watch with a 500 ERROR event (PrevKv=nil) instead of a 410."""
    c = KubeCluster(tmp_path / "nocache", apiserver_bin=own_cluster.apiserver_bin,
                    extra_apiserver_args=["--watch-cache=false"])
    try:
        c.start()
        c.apply(configmap("d", "default", n="0"))
        old = c.kubectl_json("get", "configmap", "d", "-n", "default")["metadata"][
            "resourceVersion"]
        c.apply(configmap("d", "default", n="1"))
        c.apply(configmap("d", "default", n="2"))
        watch_old = (f"/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={old}"
                     "&timeoutSeconds=1")
        assert watch_events(c, watch_old) == (200, [("MODIFIED", None, None)] * 2)
        c.compact_etcd()
        assert watch_events(c, watch_old) == (200, [("ERROR", 410, "Expired")])
    finally:
        c.stop()
