"""Fixtures for the end-to-end suite: `cluster`, one real control plane
(etcd + kube-apiserver, e2e/cluster.py) for the whole session with the
controller's RBAC applied, or the cluster of PORTICO_E2E_KUBECONFIG/KUBECONFIG
when PORTICO_E2E_EXTERNAL=1; `own_cluster`, the same but skipping on an
external cluster (for tests that restart the API server or compact etcd).

The per-test watchdog (`@pytest.mark.timeout_s(n)`, default 60 s) and the
`launch`/`module_launch` fixtures for data planes and backends are
tests/integration/conftest.py's, loaded from there rather than copied."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent
INTEGRATION_DIR = E2E_DIR.parent / "tests" / "integration"
sys.path.insert(0, str(INTEGRATION_DIR))  # harness, controller_harness


def _load_integration_conftest():
    spec = importlib.util.spec_from_file_location("integration_conftest",
                                                  INTEGRATION_DIR / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_integration = _load_integration_conftest()
watchdog = _integration.watchdog
launch = _integration.launch
module_launch = _integration.module_launch

from cluster import ExternalCluster, KubeCluster  # noqa: E402

_clusters = []  # live clusters, for failure reports and the timing summary


def pytest_configure(config):
    _integration.pytest_configure(config)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    logs = "".join(launcher.logs() for launcher in _integration.Launcher.live)
    if logs:
        report.sections.append(("portico processes", logs))
    for cluster in _clusters:
        tail = cluster.log_tail()
        if tail:
            report.sections.append((f"control plane in {cluster.workdir}", tail))


def pytest_terminal_summary(terminalreporter):
    for cluster in _clusters:
        if cluster.timings:
            times = ", ".join(f"{k} {v:.2f}s" for k, v in cluster.timings.items())
            terminalreporter.write_line(f"e2e control plane start-up: {times}")


def external_kubeconfig():
    """The kubeconfig of a cluster to use instead of starting one, or None."""
    if os.environ.get("PORTICO_E2E_EXTERNAL") != "1":
        return None
    path = os.environ.get("PORTICO_E2E_KUBECONFIG") or os.environ.get("KUBECONFIG")
    if not path:
        raise pytest.UsageError("PORTICO_E2E_EXTERNAL=1 needs PORTICO_E2E_KUBECONFIG or "
                                "KUBECONFIG")
    return path.split(os.pathsep)[0]


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """A running cluster with deploy/rbac/portico-controller-rbac.yaml applied.
    Setting it up may build kube-apiserver the first time (e2e/cluster.py's
    kube_apiserver_binary, bounded by its own timeout): session fixtures are set
    up before the per-test watchdog starts."""
    kubeconfig = external_kubeconfig()
    if kubeconfig:
        instance = ExternalCluster(kubeconfig)
    else:
        instance = KubeCluster(tmp_path_factory.mktemp("kube"))
    _clusters.append(instance)
    try:
        instance.start()
        instance.apply_rbac()
    except BaseException:
        instance.stop()
        raise
    yield instance
    instance.stop()


@pytest.fixture
def own_cluster(cluster):
    """`cluster`, when the suite started it itself (restart, compaction allowed)."""
    if cluster.external:
        pytest.skip("needs the control plane the suite starts itself "
                    "(not PORTICO_E2E_EXTERNAL's)")
    return cluster


@pytest.fixture
def klass(cluster):
    """An IngressClass of portico's controller, named for this test only."""
    from kube_harness import ingress_class, unique
    name = unique("portico")
    cluster.apply(ingress_class(name))
    yield name
    cluster.delete("ingressclass", name)
