"""The Helm chart (deploy/helm/portico) rendered as `helm template` would and
validated by a real kube-apiserver (1.20).

No Helm binary is packaged in Debian: deploy/helm/render/build.sh builds a
renderer from Go's text/template and Helm's own function library (sprig), with
Helm 3's values merging, values.schema.json validation, built-in objects and
output format (deploy/helm/render/README.md says what it leaves out). Each
rendering below, with defaults and with the main options switched, goes to
`kubectl apply --dry-run=server`: kubectl validates every object against the
server's OpenAPI schema (unknown or mistyped fields) and the API server runs
its validation and admission on it, persisting nothing. Kinds the server does
not serve (the Prometheus Operator's ServiceMonitor on a bare API server) are
checked here instead. The renderer is given the server's own version and
API versions, as `helm install` discovers them, so the chart's
.Capabilities choices (PodDisruptionBudget and HorizontalPodAutoscaler
versions) are the ones it would make on this cluster.

One rendering is applied for real, to check with `kubectl auth can-i` that
the chart's RBAC gives its ServiceAccount what the controller needs, where it
needs it. The rest are structural facts no API server checks: the kinds and
names rendered, the controller's flags, security contexts, selectors that
match their pods, mTLS material that is a CA and two certificates it signed,
and the errors the chart's `required`, `fail` and schema produce."""

import base64
import json
import re
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
import yaml

from cluster import ROOT, KubectlError
from harness import wait_until

CHART = ROOT / "deploy" / "helm" / "portico"
BUILD_SH = ROOT / "deploy" / "helm" / "render" / "build.sh"
BUILD_TIMEOUT_S = 900  # may install golang-go and the -dev packages first
RENDER_TIMEOUT_S = 60
RELEASE = "portico"


# --- the renderer ----------------------------------------------------------------------------

@dataclass
class Doc:
    source: str  # portico/templates/FILE
    text: str    # the document as rendered
    obj: dict

    @property
    def kind(self):
        return self.obj.get("kind")

    @property
    def name(self):
        return self.obj["metadata"]["name"]

    @property
    def api(self):
        return self.obj.get("apiVersion")


class RenderError(RuntimeError):
    pass


@pytest.fixture(scope="module")
def renderer():
    proc = subprocess.run(["bash", str(BUILD_SH)], capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT_S)
    assert proc.returncode == 0, f"build.sh failed: {proc.stderr}"
    path = Path(proc.stdout.strip().splitlines()[-1])
    assert path.is_file(), proc.stdout
    return path


@pytest.fixture(scope="module")
def capabilities(cluster):
    """(kube version, API versions) the way `helm install` discovers them: every
    served group/version and group/version/Kind."""
    version = cluster.get_raw("/version")["gitVersion"]
    apis = set()
    for v in cluster.get_raw("/api")["versions"]:
        apis.add(v)
        apis.update(f"{v}/{r['kind']}" for r in cluster.get_raw(f"/api/{v}")["resources"])
    for group in cluster.get_raw("/apis")["groups"]:
        for gv in group["versions"]:
            gv = gv["groupVersion"]
            apis.add(gv)
            apis.update(f"{gv}/{r['kind']}" for r in cluster.get_raw(f"/apis/{gv}")["resources"])
    return version, sorted(apis)


def run_renderer(renderer, *args, namespace="default", release=RELEASE, capabilities=None):
    argv = [str(renderer), release, str(CHART), "-n", namespace]
    if capabilities:
        version, apis = capabilities
        argv += ["--kube-version", version, "-a", ",".join(apis)]
    proc = subprocess.run([*argv, *map(str, args)], capture_output=True, text=True,
                          timeout=RENDER_TIMEOUT_S)
    if proc.returncode != 0:
        raise RenderError(proc.stderr.strip())
    return proc.stdout


def parse_stream(text):
    """`helm template` output -> [Doc]: each document is "---", "# Source: ...", body."""
    docs = []
    for chunk in re.split(r"^---\n", text, flags=re.M):
        if not chunk.strip():
            continue
        first, _, body = chunk.partition("\n")
        assert first.startswith("# Source: portico/templates/"), chunk[:200]
        obj = yaml.safe_load(body)
        assert isinstance(obj, dict), f"{first}: not an object: {body[:200]}"
        docs.append(Doc(first[len("# Source: "):], body, obj))
    return docs


def render(renderer, *args, **kwargs):
    return parse_stream(run_renderer(renderer, *args, **kwargs))


def by_kind(docs, kind):
    return [d for d in docs if d.kind == kind]


def one(docs, kind, name):
    found = [d.obj for d in docs if d.kind == kind and d.name == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
    return found[0]


def container(workload):
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


# --- the API server --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def namespaces(cluster):
    """namespaces.new() makes a namespace for this module; all go at the end."""
    made = []

    class Namespaces:
        @staticmethod
        def new(prefix="e2e-helm"):
            name = f"{prefix}-{secrets.token_hex(3)}"
            cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
            made.append(name)
            return name

    yield Namespaces
    for name in made:
        # Without a controller-manager no namespace controller finalizes it: do not wait.
        cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")


@pytest.fixture(scope="module")
def ns(namespaces):
    return namespaces.new()


def served(doc, apis):
    return f"{doc.api}/{doc.kind}" in apis


def check_service_monitor(doc, docs, namespace):
    """What kubectl cannot check on a cluster without the CRD: the fields the
    Prometheus Operator needs, and that it selects the chart's admin Services
    by labels and port name."""
    sm = doc.obj
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["metadata"]["name"] and sm["metadata"]["namespace"] == namespace
    selector = sm["spec"]["selector"]["matchLabels"]
    assert sm["spec"]["namespaceSelector"] == {"matchNames": [namespace]}
    endpoints = sm["spec"]["endpoints"]
    assert endpoints and all(e.get("port") for e in endpoints)
    selected = [d.obj for d in by_kind(docs, "Service")
                if selector.items() <= d.obj["metadata"]["labels"].items()]
    assert sorted(s["metadata"]["name"] for s in selected) == \
        [f"{RELEASE}-controller", f"{RELEASE}-dataplane-admin"]
    for svc in selected:
        names = {p["name"] for p in svc["spec"]["ports"]}
        assert all(e["port"] in names for e in endpoints), svc["metadata"]["name"]


def dry_run(cluster, docs, apis, namespace):
    """Server-side dry run of every served document; the others are checked here.
    Returns the kinds that went to the server."""
    to_server = [d for d in docs if served(d, apis)]
    for d in docs:
        if not served(d, apis):
            assert d.kind == "ServiceMonitor", f"{d.api}/{d.kind} is not served by this cluster"
            check_service_monitor(d, docs, namespace)
    out = cluster.kubectl("apply", "--dry-run=server", "-f", "-",
                          input="\n---\n".join(d.text for d in to_server))
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == len(to_server), out
    assert all("(server dry run)" in line for line in lines), out
    return sorted({d.kind for d in to_server})


# --- every main option, through the API server -----------------------------------------------

HPA_VALUES = """
dataplane:
  autoscaling:
    enabled: true
    minReplicas: 3
    maxReplicas: 12
    targetMemoryUtilizationPercentage: 80
    behavior:
      scaleDown:
        stabilizationWindowSeconds: 300
        policies:
          - {type: Pods, value: 1, periodSeconds: 60}
"""

FILE_SOURCE_VALUES = """
controller:
  source: file
  manifests:
    web.yaml: |
      apiVersion: networking.k8s.io/v1
      kind: Ingress
      metadata: {name: web, namespace: default}
      spec:
        ingressClassName: portico
        rules:
          - host: web.example.com
            http:
              paths:
                - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
"""

VARIANTS = {
    "defaults": [],
    "daemonset": ["--set", "dataplane.kind=DaemonSet"],
    "nodeport": ["--set", "dataplane.service.type=NodePort,dataplane.service.nodePorts.http=30080,"
                 "dataplane.service.nodePorts.https=30443,"
                 "dataplane.service.externalTrafficPolicy=Local"],
    "clusterip": ["--set", "dataplane.service.type=ClusterIP"],
    "loadbalancer-options": ["--set", "dataplane.service.loadBalancerSourceRanges={10.0.0.0/8,"
                             "192.168.0.0/16}", "--set-string",
                             "dataplane.service.annotations.example\\.com/lb=internal"],
    "hpa": ["-f", HPA_VALUES],
    "pdb-min-available": ["--set-string", "dataplane.podDisruptionBudget.minAvailable=50%",
                          "--set", "controller.podDisruptionBudget.minAvailable=1"],
    "pdb-off": ["--set", "dataplane.podDisruptionBudget.enabled=false,"
                "controller.podDisruptionBudget.enabled=false"],
    "networkpolicy": ["--set", "networkPolicy.enabled=true", "--set-string",
                      "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.name=monitoring"],
    "servicemonitor": ["--set", "metrics.serviceMonitor.enabled=true",
                       "--set-string", "metrics.serviceMonitor.labels.release=prometheus"],
    "default-class": ["--set", "ingressClass.default=true"],
    "file-source": ["-f", FILE_SOURCE_VALUES],
    "kube-options": ["--set", "controller.watchNamespaces={team-a,team-b},"
                     "controller.publishAddress={203.0.113.10},controller.extraArgs={--lease-duration=20s},"
                     "controller.watchIngressWithoutClass=true,"
                     "controller.defaultBackendService=default/fallback,"
                     "dataplane.trustedProxies=10.0.0.0/8,imagePullSecrets[0].name=registry",
                     "--set-string", "controller.nodeSelector.kubernetes\\.io/os=linux"],
    "nothing-optional": ["--set", "rbac.create=false,serviceAccount.create=false,"
                         "serviceAccount.name=existing,ingressClass.create=false,"
                         "dataplane.podDisruptionBudget.enabled=false,"
                         "controller.podDisruptionBudget.enabled=false"],
}


def variant_args(args, tmp_path):
    """Inline YAML after -f becomes a file."""
    out = []
    for i, a in enumerate(args):
        if i > 0 and args[i - 1] == "-f":
            path = tmp_path / f"values-{i}.yaml"
            path.write_text(a)
            a = path
        out.append(a)
    return out


@pytest.mark.timeout_s(120)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_server_dry_run(variant, renderer, capabilities, cluster, ns, tmp_path):
    docs = render(renderer, *variant_args(VARIANTS[variant], tmp_path), namespace=ns,
                  capabilities=capabilities)
    kinds = dry_run(cluster, docs, set(capabilities[1]), ns)
    assert {"Deployment", "Secret", "Service"} <= set(kinds)


@pytest.mark.timeout_s(120)
def test_custom_namespace_and_release(renderer, capabilities, cluster, namespaces):
    """Another release name and namespace: every name and reference follows."""
    other = namespaces.new("e2e-helm-custom")
    docs = render(renderer, "--set", "ingressClass.name=edge", namespace=other, release="edge",
                  capabilities=capabilities)
    dry_run(cluster, docs, set(capabilities[1]), other)
    for d in docs:
        if d.kind not in ("ClusterRole", "ClusterRoleBinding", "IngressClass"):
            assert d.obj["metadata"]["namespace"] == other, d.source
        assert d.obj["metadata"]["labels"]["app.kubernetes.io/instance"] == "edge"
    dp = container(one(docs, "Deployment", "edge-portico-dataplane"))
    assert f"--controller=edge-portico-controller.{other}.svc:18000" in dp["args"]
    ctl = container(one(docs, "Deployment", "edge-portico-controller"))
    assert f"--publish-service={other}/edge-portico-dataplane" in ctl["args"]
    assert "--ingress-class=edge" in ctl["args"]


@pytest.mark.timeout_s(120)
def test_dry_run_catches_a_bad_field(renderer, capabilities, cluster, ns):
    """The negative control: a misspelt field that the chart passes through
    (podSecurityContext is free-form in the schema) is refused by kubectl's
    validation against the server's OpenAPI, so the dry runs above would see one."""
    docs = render(renderer, "--set", "podSecurityContext.runAsNonroot=true", namespace=ns,
                  capabilities=capabilities)
    with pytest.raises(KubectlError) as err:
        dry_run(cluster, docs, set(capabilities[1]), ns)
    assert "runAsNonroot" in err.value.stderr


# --- the chart's RBAC, applied for real -------------------------------------------------------

@pytest.mark.timeout_s(120)
def test_rbac_grants_what_the_controller_needs(renderer, capabilities, cluster, namespaces):
    release_ns = namespaces.new("e2e-helm-rbac")
    other_ns = namespaces.new("e2e-helm-other")
    release = f"rbac-{secrets.token_hex(2)}"
    klass = f"portico-{secrets.token_hex(3)}"
    text = run_renderer(renderer, "--set", f"ingressClass.name={klass}", namespace=release_ns,
                        release=release, capabilities=capabilities)
    docs = parse_stream(text)
    cluster_scoped = [(d.kind, d.name) for d in docs
                      if d.kind in ("ClusterRole", "ClusterRoleBinding", "IngressClass")]
    try:
        cluster.kubectl("apply", "-f", "-", input=text)
        sa = f"system:serviceaccount:{release_ns}:{release}-portico"

        def can(*args):
            try:
                return cluster.kubectl("auth", "can-i", *args, f"--as={sa}").strip() == "yes"
            except KubectlError as e:
                if e.stdout.strip() == "no":
                    return False
                raise

        # The RBAC authorizer learns of new bindings through an informer: poll.
        wait_until(lambda: can("watch", "ingresses.networking.k8s.io", "--all-namespaces"), 30,
                   "the chart's ClusterRoleBinding in effect", interval=0.2)
        wait_until(lambda: can("update", "leases.coordination.k8s.io", "-n", release_ns), 30,
                   "the chart's RoleBinding in effect", interval=0.2)
        for args in [
            ("list", "ingresses.networking.k8s.io", "--all-namespaces"),
            ("list", "ingressclasses.networking.k8s.io"),
            ("update", "ingresses.networking.k8s.io", "--subresource=status", "-n", other_ns),
            ("patch", "ingresses.networking.k8s.io", "--subresource=status", "-n", other_ns),
            ("watch", "services", "--all-namespaces"),
            ("list", "secrets", "--all-namespaces"),
            ("watch", "endpointslices.discovery.k8s.io", "--all-namespaces"),
            ("create", "events", "-n", other_ns),
            ("create", "leases.coordination.k8s.io", "-n", release_ns),
            ("get", "leases.coordination.k8s.io", "-n", release_ns),
        ]:
            assert can(*args), args
        for args in [
            ("create", "leases.coordination.k8s.io", "-n", other_ns),  # the Lease is namespaced
            ("get", "secrets", "-n", other_ns),                        # list/watch only
            ("update", "ingresses.networking.k8s.io", "-n", other_ns),  # status only
            ("delete", "leases.coordination.k8s.io", "-n", release_ns),
            ("create", "pods", "-n", release_ns),
        ]:
            assert not can(*args), args
        # The data plane's pods get no token at all.
        dp = one(docs, "Deployment", f"{release}-portico-dataplane")
        assert dp["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    finally:
        for kind, name in cluster_scoped:
            cluster.delete(kind.lower(), name)


# --- structure of the default rendering -------------------------------------------------------

@pytest.fixture(scope="module")
def defaults(renderer, capabilities, ns):
    return render(renderer, namespace=ns, capabilities=capabilities), ns


def test_default_kinds_and_names(defaults):
    docs, _ = defaults
    assert sorted((d.kind, d.name) for d in docs) == sorted([
        ("PodDisruptionBudget", "portico-controller"),
        ("PodDisruptionBudget", "portico-dataplane"),
        ("ServiceAccount", "portico"),
        ("Secret", "portico-controller-tls"),
        ("Secret", "portico-dataplane-tls"),
        ("ClusterRole", "portico"),
        ("ClusterRoleBinding", "portico"),
        ("Role", "portico-leader-election"),
        ("RoleBinding", "portico-leader-election"),
        ("Service", "portico-controller"),
        ("Service", "portico-dataplane"),
        ("Service", "portico-dataplane-admin"),
        ("Deployment", "portico-controller"),
        ("Deployment", "portico-dataplane"),
        ("IngressClass", "portico"),
    ])
    # helm template's order: by kind in Helm's install order, then by file.
    order = ["PodDisruptionBudget", "ServiceAccount", "Secret", "ClusterRole",
             "ClusterRoleBinding", "Role", "RoleBinding", "Service", "Deployment", "IngressClass"]
    kinds = [d.kind for d in docs]
    assert kinds == sorted(kinds, key=order.index)
    # 1.20 serves policy/v1beta1 only.
    assert {d.api for d in by_kind(docs, "PodDisruptionBudget")} == {"policy/v1beta1"}


def test_controller_runs_the_kube_source_with_leader_election(defaults):
    docs, ns = defaults
    ctl = one(docs, "Deployment", "portico-controller")
    assert ctl["spec"]["replicas"] == 2
    args = container(ctl)["args"]
    for flag in ["--source=kube", "--leader-elect", "--leader-election-namespace=$(POD_NAMESPACE)",
                 "--leader-election-id=portico-leader", "--leader-election-identity=$(POD_NAME)",
                 f"--publish-service={ns}/portico-dataplane", "--ingress-class=portico",
                 "--grpc-listen=0.0.0.0:18000", "--admin-listen=0.0.0.0:10255",
                 "--client-name=portico-dataplane"]:
        assert flag in args, flag
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container(ctl)["env"]}
    assert env == {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}
    pod = ctl["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "portico"
    assert pod["automountServiceAccountToken"] is True
    # The Lease Role lives where --leader-election-namespace points: the release namespace.
    assert one(docs, "Role", "portico-leader-election")["metadata"]["namespace"] == ns


@pytest.mark.parametrize("component", ["controller", "dataplane"])
def test_hardened_pods(defaults, component):
    docs, _ = defaults
    workload = one(docs, "Deployment", f"portico-{component}")
    pod = workload["spec"]["template"]["spec"]
    c = container(workload)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert c["securityContext"] == {"allowPrivilegeEscalation": False,
                                    "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}}
    assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]
    assert c["resources"]["limits"]["memory"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    for probe, path in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")]:
        assert c[probe]["httpGet"] == {"path": path, "port": "admin"}, probe
    assert "admin" in ports
    assert not any("insecure" in a for a in c["args"]), "plaintext snapshot stream"


def test_selectors_match_their_pods(defaults):
    docs, _ = defaults
    pods = {name: one(docs, "Deployment", f"portico-{name}")["spec"]["template"]
            for name in ("controller", "dataplane")}
    for name, template in pods.items():
        labels = template["metadata"]["labels"]
        workload = one(docs, "Deployment", f"portico-{name}")
        assert workload["spec"]["selector"]["matchLabels"].items() <= labels.items()
        pdb = one(docs, "PodDisruptionBudget", f"portico-{name}")
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert pdb["spec"].get("maxUnavailable") == 1
    for svc_name, component in [("portico-controller", "controller"),
                                ("portico-dataplane", "dataplane"),
                                ("portico-dataplane-admin", "dataplane")]:
        svc = one(docs, "Service", svc_name)
        template = pods[component]
        assert svc["spec"]["selector"].items() <= template["metadata"]["labels"].items()
        # Selects only its component's pods.
        other = pods["dataplane" if component == "controller" else "controller"]
        assert not svc["spec"]["selector"].items() <= other["metadata"]["labels"].items()
        port_names = {p["name"] for p in container({"spec": {"template": template}})["ports"]}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in port_names, (svc_name, port)
    traffic = one(docs, "Service", "portico-dataplane")["spec"]
    assert traffic["type"] == "LoadBalancer"
    assert [(p["name"], p["port"]) for p in traffic["ports"]] == [("http", 80), ("https", 443)]
    assert one(docs, "Service", "portico-dataplane-admin")["spec"]["type"] == "ClusterIP"


def _openssl(*args, input=None):
    proc = subprocess.run(["openssl", *args], input=input, capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def test_mtls_material(defaults, tmp_path):
    """Two kubernetes.io/tls Secrets holding one CA and a certificate it signed
    for each side; the controller's names the address the data planes dial; each
    key matches its certificate; both workloads mount their own Secret."""
    docs, ns = defaults
    secrets_ = {}
    for side in ("controller", "dataplane"):
        s = one(docs, "Secret", f"portico-{side}-tls")
        assert s["type"] == "kubernetes.io/tls"
        assert sorted(s["data"]) == ["ca.crt", "tls.crt", "tls.key"]
        data = {k: base64.b64decode(v, validate=True) for k, v in s["data"].items()}
        assert data["tls.crt"].startswith(b"-----BEGIN CERTIFICATE-----")
        assert b"PRIVATE KEY-----" in data["tls.key"]
        secrets_[side] = data
    assert secrets_["controller"]["ca.crt"] == secrets_["dataplane"]["ca.crt"]
    ca = tmp_path / "ca.crt"
    ca.write_bytes(secrets_["controller"]["ca.crt"])
    assert "CA:TRUE" in _openssl("x509", "-noout", "-text", "-in", str(ca))
    for side, data in secrets_.items():
        cert = tmp_path / f"{side}.crt"
        cert.write_bytes(data["tls.crt"])
        assert _openssl("verify", "-CAfile", str(ca), str(cert)).strip().endswith("OK")
        cert_key = _openssl("x509", "-noout", "-pubkey", "-in", str(cert))
        key = _openssl("pkey", "-pubout", input=data["tls.key"])
        assert cert_key == key, f"{side}: key does not match the certificate"
        text = _openssl("x509", "-noout", "-text", "-in", str(cert))
        assert f"CN = portico-{side}" in text or f"CN=portico-{side}" in text
    ctl_text = _openssl("x509", "-noout", "-text", "-in", str(tmp_path / "controller.crt"))
    assert f"DNS:portico-controller.{ns}.svc" in ctl_text
    dp_args = container(one(docs, "Deployment", "portico-dataplane"))["args"]
    assert f"--controller=portico-controller.{ns}.svc:18000" in dp_args
    assert "--https-listen=0.0.0.0:8443" in dp_args and "--http-listen=0.0.0.0:8080" in dp_args
    for side in ("controller", "dataplane"):
        workload = one(docs, "Deployment", f"portico-{side}")
        volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
        assert volumes["tls"]["secret"]["secretName"] == f"portico-{side}-tls"
        args = container(workload)["args"]
        for flag in ("--tls-cert=/etc/portico/tls/tls.crt", "--tls-key=/etc/portico/tls/tls.key",
                     "--tls-ca=/etc/portico/tls/ca.crt"):
            assert flag in args


def test_no_secret_outside_the_tls_pair(defaults):
    docs, _ = defaults
    assert sorted(d.name for d in by_kind(docs, "Secret")) == \
        ["portico-controller-tls", "portico-dataplane-tls"]
    assert not by_kind(docs, "ConfigMap")


# --- the options, rendered ---------------------------------------------------------------------

def test_daemonset(renderer, capabilities):
    docs = render(renderer, "--set", "dataplane.kind=DaemonSet", capabilities=capabilities)
    ds = one(docs, "DaemonSet", "portico-dataplane")
    assert "replicas" not in ds["spec"]
    assert ds["spec"]["updateStrategy"]["rollingUpdate"] == {"maxUnavailable": 1}
    assert not [d for d in by_kind(docs, "Deployment") if d.name == "portico-dataplane"]


def test_service_types(renderer):
    clusterip = one(render(renderer, "--set", "dataplane.service.type=ClusterIP"),
                    "Service", "portico-dataplane")["spec"]
    assert clusterip["type"] == "ClusterIP" and "externalTrafficPolicy" not in clusterip
    nodeport = one(render(renderer, "--set", "dataplane.service.type=NodePort,"
                          "dataplane.service.nodePorts.http=30080"),
                   "Service", "portico-dataplane")["spec"]
    assert [p.get("nodePort") for p in nodeport["ports"]] == [30080, None]


def test_hpa_picks_its_api_version(renderer, capabilities, tmp_path):
    values = tmp_path / "hpa.yaml"
    values.write_text(HPA_VALUES)
    docs = render(renderer, "-f", values, capabilities=capabilities)
    hpa = one(docs, "HorizontalPodAutoscaler", "portico-dataplane")
    assert hpa["apiVersion"] == "autoscaling/v2beta2"  # what 1.20 serves
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "portico-dataplane"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu", "memory"]
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    # The HPA owns the replica count.
    assert "replicas" not in one(docs, "Deployment", "portico-dataplane")["spec"]
    # A newer cluster: autoscaling/v2 and policy/v1.
    newer = render(renderer, "-f", values, "--kube-version", "1.25.0", "-a",
                   "autoscaling/v2,autoscaling/v2/HorizontalPodAutoscaler,"
                   "policy/v1,policy/v1/PodDisruptionBudget")
    assert one(newer, "HorizontalPodAutoscaler", "portico-dataplane")["apiVersion"] == \
        "autoscaling/v2"
    assert {d.api for d in by_kind(newer, "PodDisruptionBudget")} == {"policy/v1"}


def test_networkpolicy(renderer):
    docs = render(renderer, "--set", "networkPolicy.enabled=true")
    ctl = one(docs, "NetworkPolicy", "portico-controller")["spec"]
    assert ctl["policyTypes"] == ["Ingress"]
    grpc, admin = ctl["ingress"]
    assert grpc["ports"] == [{"port": 18000, "protocol": "TCP"}]
    dp_labels = one(docs, "Deployment", "portico-dataplane")["spec"]["template"]["metadata"][
        "labels"]
    assert grpc["from"][0]["podSelector"]["matchLabels"].items() <= dp_labels.items()
    assert "from" not in admin  # metricsFrom empty: any source
    dp = one(docs, "NetworkPolicy", "portico-dataplane")["spec"]
    assert dp["ingress"][0]["ports"] == [{"port": 8080, "protocol": "TCP"},
                                         {"port": 8443, "protocol": "TCP"}]


def test_default_ingress_class(renderer):
    klass = one(render(renderer, "--set", "ingressClass.default=true"), "IngressClass", "portico")
    assert klass["metadata"]["annotations"] == {
        "ingressclass.kubernetes.io/is-default-class": "true"}
    assert klass["spec"] == {"controller": "portico.dev/ingress-controller"}
    plain = one(render(renderer), "IngressClass", "portico")
    assert "annotations" not in plain["metadata"]


def test_file_source(renderer, tmp_path):
    values = tmp_path / "file.yaml"
    values.write_text(FILE_SOURCE_VALUES)
    docs = render(renderer, "-f", values)
    ctl = one(docs, "Deployment", "portico-controller")
    args = container(ctl)["args"]
    assert "--source=file:/etc/portico/manifests" in args
    assert not [a for a in args if a.startswith("--leader-elect")]
    pod = ctl["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["manifests"]["configMap"]["name"] == "portico-manifests"
    cm = one(docs, "ConfigMap", "portico-manifests")
    assert sorted(cm["data"]) == ["00-ingressclass.yaml", "web.yaml"]
    assert yaml.safe_load(cm["data"]["00-ingressclass.yaml"])["kind"] == "IngressClass"
    assert yaml.safe_load(cm["data"]["web.yaml"])["spec"]["rules"][0]["host"] == "web.example.com"


def test_notes(renderer):
    notes = run_renderer(renderer, "--notes", namespace="edge-ns")
    app_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    assert f"Portico {app_version} is installed as release portico in namespace edge-ns." in notes
    assert "portico-controller.edge-ns.svc:18000 (mTLS)" in notes
    assert "get service portico-dataplane -w" in notes
    other = run_renderer(renderer, "--notes", "--set",
                         "dataplane.service.type=ClusterIP,dataplane.kind=DaemonSet,"
                         "controller.source=file")
    assert "DaemonSet: one pod per node" in other
    assert "port-forward service/portico-dataplane" in other
    assert "controller.source=file" in other
    assert "<no value>" not in notes + other


# --- values.schema.json and the chart's own checks ---------------------------------------------

@pytest.fixture(scope="module")
def schema():
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return schema


def test_values_yaml_meets_the_schema(schema):
    jsonschema.Draft7Validator(schema).validate(yaml.safe_load((CHART / "values.yaml").read_text()))


@pytest.mark.parametrize("path,value,message", [
    ("dataplane.kind", "Pod", "dataplane.kind must be one of the following"),
    ("dataplane.service.type", "ExternalName", "dataplane.service.type must be one of"),
    ("controller.source", "api", "controller.source must be one of"),
    ("controller.replica", 3, "Additional property replica is not allowed"),
    ("controller.grpcPort", 70000, "Must be less than or equal to 65535"),
    ("controller.debounce", "soon", "Does not match pattern"),
    ("image.repository", "", "String length must be greater than or equal to 1"),
])
def test_bad_values_fail_the_schema(schema, renderer, path, value, message):
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    node = values
    *parents, leaf = path.split(".")
    for key in parents:
        node = node[key]
    node[leaf] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(values)
    # The renderer validates the merged values before rendering, as Helm does.
    flag = "--set-string" if isinstance(value, str) else "--set"
    with pytest.raises(RenderError) as err:
        run_renderer(renderer, flag, f"{path}={value}")
    assert "values don't meet the specifications of the schema(s)" in str(err.value)
    assert message in str(err.value), str(err.value)


@pytest.mark.parametrize("args,message", [
    (["--set", "dataplane.kind=DaemonSet,dataplane.autoscaling.enabled=true"],
     "dataplane.autoscaling.enabled needs dataplane.kind=Deployment"),
    (["--set", "dataplane.autoscaling.enabled=true,"
      "dataplane.autoscaling.targetCPUUtilizationPercentage=0"],
     "needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage"),
    (["--set", "dataplane.autoscaling.minReplicas=5,dataplane.autoscaling.maxReplicas=3"],
     "minReplicas is greater than maxReplicas"),
    (["--set", "controller.existingManifestsConfigMap=mine"],
     "controller.existingManifestsConfigMap is for controller.source=file"),
    # required: the schema would refuse the empty string first, hence the skip.
    (["--set", "image.repository=", "--skip-schema-validation"], "image.repository is required"),
])
def test_chart_errors_surface(renderer, args, message):
    with pytest.raises(RenderError) as err:
        run_renderer(renderer, *args)
    text = str(err.value)
    assert text.startswith("Error: execution error at (portico/templates/"), text
    assert message in text, text


def test_kube_version_constraint(renderer):
    with pytest.raises(RenderError) as err:
        run_renderer(renderer, "--kube-version", "1.18.3")
    assert "chart requires kubeVersion: >=1.19.0-0 which is incompatible with Kubernetes " \
           "v1.18.3" in str(err.value)
