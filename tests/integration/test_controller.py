"""The controller and the data plane together: manifests in a directory the
controller watches (file source), the snapshot stream over mTLS, real echo
backends. Changes must be served quickly and without breaking connections,
endpoint changes travel as small deltas, the data plane survives a dead
controller (and a restart without one), a version the data plane cannot take
(version skew, played by a scripted stand-in controller) is NACKed while the
old routes keep serving, a bad backend port is a diagnostic that blocks
nothing, a wrong client certificate is refused, and a broken file spoils
nothing else."""

import re
import signal
import threading
import time

import pytest

from controller_harness import (Client, ControlledDataplane, Controller, FakeController,
                                ManifestDir, PortBackend, StreamClient, compile_protos, dev_certs,
                                endpoint_slice, endpoints, external_service, ingress,
                                ingress_class, parse_metrics, percentile, service,
                                settings_config_map, start, subdir)
from harness import wait_until
from rawhttp import Conn

CHANGES_PER_SIZE = 10
LATENCY_BOUND_S = 5.0


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return dev_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def protos(tmp_path_factory):
    """(snapshot_pb2, snapshot_service_pb2), generated from proto/portico/v1."""
    return compile_protos(tmp_path_factory.mktemp("pb"))


@pytest.fixture(scope="module")
def pb(protos):
    return protos[1]


def start_controller(launch, certs, manifests, name="controller", **kwargs):
    return start(launch, lambda: Controller(subdir(launch, name), manifests.path, certs=certs,
                                            name=name, **kwargs))


def start_dataplane(launch, certs, controllers, node_id, workdir=None, **kwargs):
    return start(launch, lambda: ControlledDataplane(
        subdir(launch, workdir or f"dp-{node_id}"), [c.address for c in controllers], node_id,
        certs=certs, **kwargs))


def base_manifests(launch, backend):
    """IngressClass, Service "echo" with core Endpoints pointing at backend, and
    one Ingress for host one.test, in a fresh manifest directory."""
    manifests = ManifestDir(launch.tmp_dir / "manifests")
    manifests.write("00-base.yaml", [ingress_class(), service("echo"),
                                     endpoints("echo", [backend])])
    manifests.write("10-one.yaml", [ingress("one", "one.test", [("/", "echo", 80)])])
    return manifests


def dataplane_metric(dp, name, **labels):
    return parse_metrics(dp.metrics()).get((name, tuple(sorted(labels.items()))))


def wait_served(client, host, name, path="/", timeout=10, interval=0.005):
    wait_until(lambda: client.served_by(host, path) == name, timeout,
               f"{host}{path} served by {name}", interval=interval)


def keeps_serving(client, host, name, seconds):
    """Requests host for `seconds` (a bounded loop, not a sleep); returns how many
    succeeded, and fails on the first one that does not."""
    deadline = time.monotonic() + seconds
    done = 0
    while time.monotonic() < deadline:
        status, body = client.get(host, f"/still/{done}")
        assert status == 200 and body["name"] == name, (status, body)
        done += 1
    return done


# --- 1. a manifest change is served, and how fast ----------------------------------

@pytest.mark.timeout_s(90)
@pytest.mark.parametrize("ingresses", [100, 1000])
def test_manifest_change_is_served(launch, certs, capsys, ingresses):
    echo = launch.backend("echo")
    manifests = base_manifests(launch, echo)
    manifests.write("10-bulk.yaml", [ingress(f"bulk-{i}", f"bulk-{i}.test", [("/", "echo", 80)])
                                     for i in range(ingresses)])
    controller = start_controller(launch, certs, manifests)
    dp = start_dataplane(launch, certs, [controller], "dp")
    client = Client(dp.port)
    wait_served(client, f"bulk-{ingresses - 1}.test", "echo")

    latencies = []
    for k in range(CHANGES_PER_SIZE):
        host = f"change-{k}.test"
        assert client.get(host)[0] == 404
        changed = manifests.write(f"20-change-{k}.yaml",
                                  [ingress(f"change-{k}", host, [("/", "echo", 80)])])
        wait_until(lambda: client.served_by(host) == "echo", LATENCY_BOUND_S * 2,
                   f"{host} to be served", interval=0.002)
        latencies.append(time.monotonic() - changed)

    objects = controller.metric("portico_controller_objects", kind="Ingress")
    assert objects == 1 + ingresses + CHANGES_PER_SIZE
    assert dp.config_info()["errors"] == 0
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    with capsys.disabled():
        print(f"\nchange-to-served p50/p99 over {len(latencies)} changes at {ingresses + 1} "
              f"ingresses: {p50 * 1000:.1f} ms / {p99 * 1000:.1f} ms "
              f"(max {max(latencies) * 1000:.1f} ms; --debounce=20ms, file source, mTLS)")
    assert p99 < LATENCY_BOUND_S, latencies


# --- 2. route changes under keep-alive load -----------------------------------------

class KeepAliveLoad:
    """Threads, each sending back-to-back requests on one persistent connection.
    A connection the proxy closes is counted (reconnects) and replaced, so the
    test sees every close, not only the first."""

    def __init__(self, port, host, path, expect, connections=3):
        self.port, self.host, self.path, self.expect = port, host, path, expect
        self.stop = threading.Event()
        self.done = [0] * connections
        self.reconnects = [0] * connections
        self.failures = []
        self.threads = [threading.Thread(target=self.run, args=(i,))
                        for i in range(connections)]
        for t in self.threads:
            t.start()

    def run(self, index):
        conn = None
        try:
            while not self.stop.is_set():
                if conn is None:
                    conn = Conn(self.port)
                try:
                    resp = conn.request("GET", f"{self.path}/{self.done[index]}", host=self.host)
                except (EOFError, ConnectionResetError, BrokenPipeError):
                    self.reconnects[index] += 1
                    conn.close()
                    conn = None
                    continue
                if resp.status != 200 or resp.json()["name"] != self.expect:
                    self.failures.append(f"connection {index}: {resp!r}")
                if (resp.header("connection") or "").lower() == "close":
                    self.failures.append(f"connection {index}: proxy announced a close: {resp!r}")
                self.done[index] += 1
        except Exception as e:  # noqa: BLE001 — any failure is the test's result
            self.failures.append(f"connection {index}: {e!r}")
        finally:
            if conn is not None:
                conn.close()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=10)
        assert not any(t.is_alive() for t in self.threads), "load threads did not stop"


@pytest.mark.timeout_s(120)
def test_route_changes_under_keepalive_load(launch, certs):
    stable, a, b = launch.backend("stable"), launch.backend("a"), launch.backend("b")
    manifests = ManifestDir(launch.tmp_dir / "manifests")
    # The per-connection request cap (default 1000) would close the load's
    # connections by design; lift it so that any close is a bug.
    manifests.write("00-base.yaml", [
        ingress_class(), settings_config_map("portico-settings",
                                             {"keep-alive-requests": "100000000"}),
        *[obj for backend in (stable, a, b)
          for obj in (service(backend.backend_name), endpoints(backend.backend_name, [backend]))]])
    manifests.write("10-stable.yaml", [ingress("stable", "app.test", [("/stable", "stable", 80)])])
    manifests.write("20-flip.yaml", [ingress("flip", "app.test", [("/v0", "a", 80)])])
    controller = start_controller(launch, certs, manifests,
                                  extra_args=["--settings_config_map=t/portico-settings"])
    dp = start_dataplane(launch, certs, [controller], "dp", workers=2)
    client = Client(dp.port)
    wait_served(client, "app.test", "stable", "/stable")
    wait_served(client, "app.test", "a", "/v0")

    load = KeepAliveLoad(dp.port, "app.test", "/stable", "stable")
    try:
        wait_until(lambda: min(load.done) >= 3 or load.failures, 10, "the load to start")
        for i in range(1, 201):
            target = "a" if i % 2 == 0 else "b"
            manifests.write("20-flip.yaml", [ingress("flip", "app.test", [(f"/v{i}", target, 80)])])
            wait_served(client, "app.test", target, f"/v{i}/x")
            assert not load.failures, load.failures[:5]
        marks = list(load.done)
        wait_until(lambda: all(d >= m + 3 for d, m in zip(load.done, marks)) or load.failures,
                   10, "more requests on every connection after the last change")
    finally:
        load.finish()

    assert load.failures == [], load.failures[:5]
    assert load.reconnects == [0, 0, 0], f"connections closed by the proxy: {load.reconnects}"
    assert client.get("app.test", "/v199/x")[0] == 404  # the rewritten path is gone
    assert dp.config_info()["errors"] == 0
    assert dp.applied_version() == controller.version()
    assert controller.metric("portico_controller_full_snapshots_sent_total", node="dp") == 1
    assert controller.metric("portico_controller_deltas_sent_total", node="dp") >= 200
    print(f"requests on the persistent connections during 200 changes: {load.done}")


# --- 3. an EndpointSlice change sends only that cluster's endpoints --------------

def backend_pair(launch):
    """Two echo backends on one port, 127.0.0.1 and 127.0.0.2 (the endpoints of
    one slice share its port). Bounded retries in case the port is taken."""
    for attempt in range(5):
        second = launch.backend(f"a2-{attempt}", host="127.0.0.2")
        try:
            first = start(launch, lambda: PortBackend(launch.tmp_dir, f"a1-{attempt}",
                                                      "127.0.0.1", second.port))
            return first, second
        except RuntimeError:
            second.stop()
    raise RuntimeError("no port free on both 127.0.0.1 and 127.0.0.2")


@pytest.mark.timeout_s(60)
def test_endpoint_slice_change_sends_only_that_clusters_endpoints(launch, certs, pb):
    a1, a2 = backend_pair(launch)
    b = launch.backend("b")
    manifests = ManifestDir(launch.tmp_dir / "manifests")
    manifests.write("00-base.yaml", [ingress_class(), service("svc-a"), service("svc-b")])
    manifests.write("10-ing.yaml", [ingress("one", "one.test",
                                            [("/a", "svc-a", 80), ("/b", "svc-b", 80)])])
    manifests.write("20-slice-a.yaml", [endpoint_slice("svc-a-1", "svc-a", a1.port,
                                                       ["127.0.0.1"])])
    manifests.write("20-slice-b.yaml", [endpoint_slice("svc-b-1", "svc-b", b.port,
                                                       ["127.0.0.1"])])
    controller = start_controller(launch, certs, manifests)
    dp = start_dataplane(launch, certs, [controller], "dp")
    # A second subscriber that records the messages themselves: the metrics
    # count deltas but do not say what was in them.
    probe = StreamClient(pb, controller.address, certs, "probe")
    try:
        client = Client(dp.port)
        wait_served(client, "one.test", a1.backend_name, "/a")
        wait_served(client, "one.test", b.backend_name, "/b")
        before = controller.version()
        probe.wait_version(before)
        wait_until(lambda: controller.metric("portico_controller_dataplane_acked_version",
                                             node="dp") == before, 10, "dp to ack")
        deltas = controller.metric("portico_controller_deltas_sent_total", node="dp")
        fulls = controller.metric("portico_controller_full_snapshots_sent_total", node="dp")

        manifests.write("20-slice-a.yaml", [endpoint_slice("svc-a-1", "svc-a", a1.port,
                                                           ["127.0.0.1", "127.0.0.2"])])
        message = probe.wait_version(before + 1)
        wait_until(lambda: controller.metric("portico_controller_dataplane_acked_version",
                                             node="dp") == before + 1, 10, "dp to ack the change")

        assert controller.version() == before + 1
        assert controller.metric("portico_controller_deltas_sent_total", node="dp") == deltas + 1
        assert controller.metric("portico_controller_full_snapshots_sent_total",
                                 node="dp") == fulls
        # What travelled: one ClusterEndpoints, the changed cluster's, and nothing else.
        assert message.version == before + 1 and message.WhichOneof("payload") == "delta"
        delta = message.delta
        assert delta.base_version == before
        assert [e.cluster for e in delta.endpoints] == ["t/svc-a:80"]
        assert sorted((e.address, e.port, e.ready) for e in delta.endpoints[0].endpoints) == [
            ("127.0.0.1", a1.port, True), ("127.0.0.2", a1.port, True)]
        assert not (delta.virtual_hosts or delta.clusters or delta.secrets
                    or delta.removed_virtual_hosts or delta.removed_clusters
                    or delta.removed_endpoints or delta.removed_secrets
                    or delta.settings_changed or delta.default_action_changed), delta
        assert delta.ByteSize() < 200, delta.ByteSize()

        # And the data plane uses it: the new endpoint gets requests.
        served = set()

        def both_endpoints_served():
            served.add(client.served_by("one.test", "/a/x"))
            return {a1.backend_name, a2.backend_name} <= served
        wait_until(both_endpoints_served, 10, "requests on both endpoints of svc-a")
        assert client.served_by("one.test", "/b/x") == b.backend_name
        assert dp.config_info()["errors"] == 0
    finally:
        probe.close()


# --- 4. the controller dies, the data plane serves on --------------------------

@pytest.mark.timeout_s(60)
def test_data_plane_keeps_serving_when_the_controller_is_killed(launch, certs):
    echo = launch.backend("echo")
    manifests = base_manifests(launch, echo)
    controller = start_controller(launch, certs, manifests)
    dp = start_dataplane(launch, certs, [controller], "dp")
    client = Client(dp.port)
    wait_served(client, "one.test", "echo")
    assert dataplane_metric(dp, "portico_controller_connected", controller=controller.address) == 1

    controller.signal(signal.SIGKILL)
    assert controller.wait_exit(10) == -signal.SIGKILL
    wait_until(lambda: dataplane_metric(dp, "portico_controller_connected",
                                        controller=controller.address) == 0, 10,
               "the data plane to notice the stream is gone")
    done = keeps_serving(client, "one.test", "echo", seconds=3)
    assert done > 10
    assert dp.readyz() == 200 and dp.alive()


# --- 5. a data plane restarted without a controller serves the persisted snapshot

@pytest.mark.timeout_s(60)
def test_restarted_data_plane_serves_persisted_snapshot_without_controller(launch, certs):
    echo = launch.backend("echo")
    manifests = base_manifests(launch, echo)
    controller = start_controller(launch, certs, manifests)
    state_dir = subdir(launch, "state")
    dp = start_dataplane(launch, certs, [controller], "dp", state_dir=state_dir)
    client = Client(dp.port)
    wait_served(client, "one.test", "echo")
    # A later version, so that the file must have been rewritten after the first.
    manifests.write("20-two.yaml", [ingress("two", "two.test", [("/", "echo", 80)])])
    wait_served(client, "one.test", "echo")
    wait_served(client, "two.test", "echo")
    version = controller.version()
    assert version >= 2 and dp.applied_version() == version
    # /config shows a version as soon as it serves it; the file is written
    # after that and before the Ack (docs/snapshot-stream.md), so the Ack is
    # what says the file holds it.
    wait_until(lambda: controller.metric("portico_controller_dataplane_acked_version",
                                         node="dp") == version, 10, "dp to ack and persist")

    controller.signal(signal.SIGKILL)
    assert controller.wait_exit(10) is not None
    dp.signal(signal.SIGKILL)
    assert dp.wait_exit(10) is not None
    assert (state_dir / "snapshot.pb").exists()

    restarted = start_dataplane(launch, certs, [controller], "dp", workdir="dp-restarted",
                                state_dir=state_dir, wait_ready=False)
    restarted.wait_ready(timeout=15)
    client = Client(restarted.port)
    assert client.served_by("one.test") == "echo"
    assert client.served_by("two.test") == "echo"
    assert client.get("nowhere.test")[0] == 404
    assert restarted.applied_version() == version
    assert dataplane_metric(restarted, "portico_controller_connected",
                            controller=controller.address) == 0


# --- 6. a version the data plane rejects -------------------------------------------

def unknown_enum_value(enum):
    """The next number of an enum, which this build's data plane (compiled from
    the same proto) does not know: what a newer controller would send."""
    return max(enum.values()) + 1


@pytest.mark.timeout_s(60)
def test_version_skew_is_nacked_and_old_routes_keep_serving(launch, protos):
    """Version skew: a controller newer than the data plane sends a Cluster
    with an lb_policy this data plane does not know. The real data plane
    binary must reject that version (its compiler refuses unknown enum values),
    answer with a Nack naming the problem, keep serving the version before it,
    keep the stream open, and take the controller's next version: a Delta
    whose base is the rejected version, because the controller's stream does
    not rewind after a Nack and the data plane keeps its merged copy at the
    rejected version (docs/snapshot-stream.md).

    The newer controller is FakeController, a scripted gRPC server in this
    process: the real controller is built from the same proto as the data
    plane, so it cannot send a value the data plane does not know, and input
    it translates should never give a version the data plane rejects (the
    translator reports invalid input itself; see the next test). So this test
    does not cover the real controller's side of a Nack (its per-node Nack
    count and error, which it reports as portico_controller_dataplane_nacks_total);
    controller/push/snapshot_stream_test.cc covers that with the real
    SnapshotServer and the real Subscription
    (RejectedVersionIsNackedAndThePreviousOneKept)."""
    snap_pb, pb = protos
    echo = launch.backend("echo")
    fake = start(launch, lambda: FakeController(pb))
    dp = start(launch, lambda: ControlledDataplane(subdir(launch, "dp"), [fake.address], "dp",
                                                   certs=None, wait_ready=False))
    stream = fake.accept(timeout=10)
    hello = stream.receive(timeout=10)
    assert hello.WhichOneof("message") == "hello", hello
    assert hello.hello.node_id == "dp" and hello.hello.last_applied_version == 0, hello

    def endpoints_of(cluster):
        return snap_pb.ClusterEndpoints(cluster=cluster, endpoints=[snap_pb.Endpoint(
            address=echo.host, port=echo.port, ready=True)])

    def prefix_route(name, cluster):
        return snap_pb.Route(name=name, match=snap_pb.PathMatch(
            type=snap_pb.PathMatch.TYPE_PREFIX, path="/"),
            action=snap_pb.RouteAction(cluster=cluster))

    # Version 1: one.test -> cluster "echo", something both sides understand.
    stream.send(1, full=snap_pb.Snapshot(
        version=1,
        virtual_hosts=[snap_pb.VirtualHost(name="one", hostnames=["one.test"],
                                           routes=[prefix_route("one", "echo")])],
        clusters=[snap_pb.Cluster(name="echo")], endpoints=[endpoints_of("echo")]))
    ack = stream.receive(timeout=10)
    assert ack.WhichOneof("message") == "ack" and ack.ack.version == 1, ack
    dp.wait_ready(timeout=10)
    client = Client(dp.port)
    assert client.served_by("one.test") == "echo"
    assert dp.applied_version() == 1
    assert dataplane_metric(dp, "portico_controller_nacks_total") == 0

    # Version 2, as the newer controller sends it: a Delta from 1 that adds
    # new.test -> cluster "skew", whose lb_policy is a value this build lacks.
    future = unknown_enum_value(snap_pb.Cluster.LbPolicy)
    stream.send(2, delta=pb.Delta(
        base_version=1,
        virtual_hosts=[snap_pb.VirtualHost(name="new", hostnames=["new.test"],
                                           routes=[prefix_route("new", "skew")])],
        clusters=[snap_pb.Cluster(name="skew", lb_policy=future)],
        endpoints=[endpoints_of("skew")]))
    nack = stream.receive(timeout=10)
    assert nack.WhichOneof("message") == "nack" and nack.nack.version == 2, nack
    assert nack.nack.error == f'cluster "skew": unknown lb_policy {future}', nack

    assert dataplane_metric(dp, "portico_controller_nacks_total") == 1
    assert dataplane_metric(dp, "portico_controller_connected", controller=fake.address) == 1
    info = dp.config_info()
    assert info["version"] == 1 and info["errors"] == 1, info
    assert info["last_error"] == nack.nack.error, info
    assert "rejected version 2" in dp.stderr()
    keeps_serving(client, "one.test", "echo", seconds=1)
    assert client.get("new.test")[0] == 404  # nothing of the rejected version is served
    assert dp.readyz() == 200

    # Version 3 fixes the cluster. The real controller sends it as a Delta from
    # the last version it sent (2, rejected or not), with only what changed
    # since: the cluster. new.test is not repeated, so serving it proves that
    # the data plane merged 3 into its copy of the rejected version 2.
    stream.send(3, delta=pb.Delta(
        base_version=2,
        clusters=[snap_pb.Cluster(name="skew", lb_policy=snap_pb.Cluster.LB_POLICY_ROUND_ROBIN)]))
    ack = stream.receive(timeout=10)
    assert ack.WhichOneof("message") == "ack" and ack.ack.version == 3, ack
    info = dp.config_info()
    assert info["version"] == 3 and info["last_error"] == "" and info["errors"] == 1, info
    assert client.served_by("new.test") == "echo"
    assert client.served_by("one.test") == "echo"
    assert dataplane_metric(dp, "portico_controller_nacks_total") == 1
    # One stream throughout: neither the Nack nor the delta on top of the
    # rejected version made the data plane resynchronize.
    assert fake.accepted == 1 and not stream.ended.is_set() and not stream.pending()
    assert "resynchronizing" not in dp.stderr()


# --- 6b. a bad backend port is the translator's diagnostic, not a Nack ------------

def bad_external_backend():
    """An ExternalName Service with an IP address, reached on port 70000. The
    translator reports it (InvalidBackend) and routes bad.test to a 503; the
    port never reaches the data plane, which would reject a snapshot with it."""
    return [external_service("ext", "127.0.0.1"),
            ingress("bad", "bad.test", [("/", "ext", 70000)])]


@pytest.mark.timeout_s(60)
def test_invalid_backend_port_does_not_block_unrelated_changes(launch, certs):
    echo = launch.backend("echo")
    manifests = base_manifests(launch, echo)
    controller = start_controller(launch, certs, manifests)
    dp = start_dataplane(launch, certs, [controller], "dp")
    client = Client(dp.port)
    wait_served(client, "one.test", "echo")
    assert controller.metric("portico_controller_diagnostics") == 0
    manifests.write("30-bad.yaml", bad_external_backend())
    manifests.write("40-other.yaml", [ingress("other", "other.test", [("/", "echo", 80)])])
    wait_served(client, "other.test", "echo", timeout=3)

    wait_until(lambda: controller.metric("portico_controller_diagnostics") >= 1, 5,
               "a diagnostic for the bad backend port")
    wait_until(lambda: re.search(r"InvalidBackend: .*port 70000", controller.stderr()), 5,
               "the diagnostic naming the port in the controller's log")
    wait_until(lambda: controller.metric("portico_controller_dataplane_acked_version",
                                         node="dp") == controller.version(), 10,
               "dp to ack the latest version")
    assert controller.metric("portico_controller_dataplane_nacks_total", node="dp") == 0
    assert dataplane_metric(dp, "portico_controller_nacks_total") == 0
    assert dp.config_info()["errors"] == 0
    assert client.get("bad.test")[0] == 503
    assert client.served_by("one.test") == "echo"


# --- 7. mTLS: a client certificate from another CA is refused ------------------

@pytest.mark.timeout_s(60)
def test_data_plane_with_foreign_client_certificate_is_refused(launch, certs):
    # Another CA's data plane certificate, but the right CA for the controller,
    # so that only the client certificate is wrong.
    other = dev_certs(launch.tmp_dir / "other-ca")
    rogue_certs = subdir(launch, "rogue-certs")
    for name in ("dataplane.pem", "dataplane-key.pem"):
        (rogue_certs / name).write_bytes((other / name).read_bytes())
    (rogue_certs / "ca.pem").write_bytes((certs / "ca.pem").read_bytes())

    echo = launch.backend("echo")
    manifests = base_manifests(launch, echo)
    controller = start_controller(launch, certs, manifests)
    rogue = start_dataplane(launch, rogue_certs, [controller], "rogue", wait_ready=False)
    good = start_dataplane(launch, certs, [controller], "good")
    client = Client(good.port)
    wait_served(client, "one.test", "echo")

    # The rogue keeps trying (backoff from 100 ms); watch it for a while.
    deadline = time.monotonic() + 3

    def still_refused():
        assert rogue.readyz() == 503 and rogue.alive()
        return time.monotonic() >= deadline
    wait_until(still_refused, 10, "3 s of the rogue data plane not ready", interval=0.05)
    assert Client(rogue.port).get("one.test")[0] == 503
    assert rogue.config_info()["loaded"] is False
    assert dataplane_metric(rogue, "portico_controller_connected",
                            controller=controller.address) == 0
    nodes = controller.nodes()
    assert "rogue" not in nodes and "good" in nodes, nodes
    assert controller.metric("portico_controller_dataplanes_connected") == 1
    # Refused for its certificate (gRPC logs the failed handshake), and more than once.
    assert "certificate verify failed" in controller.stderr()
    assert "rogue" not in controller.stderr()
    assert rogue.stderr().count("stream to controller") >= 2, rogue.stderr()
    assert client.served_by("one.test") == "echo"


# --- 8. a broken manifest file spoils nothing else -----------------------------

@pytest.mark.timeout_s(60)
def test_broken_manifest_file_leaves_everything_else_served(launch, certs):
    echo = launch.backend("echo")
    manifests = base_manifests(launch, echo)
    controller = start_controller(launch, certs, manifests)
    dp = start_dataplane(launch, certs, [controller], "dp")
    client = Client(dp.port)
    wait_served(client, "one.test", "echo")
    translations = controller.metric("portico_controller_translations_total")

    # A half-written file (no atomic rename on purpose): valid YAML up to a
    # flow mapping that never closes. Next to it, a valid file changes.
    broken_text = ("apiVersion: networking.k8s.io/v1\nkind: Ingress\n"
                   "metadata: {name: broken, namespace: t\n"
                   "spec:\n  rules:\n  - host: broken.test\n")
    with open(manifests.path / "30-broken.yaml", "w") as f:
        f.write(broken_text)
    manifests.write("40-fresh.yaml", [ingress("fresh", "fresh.test", [("/", "echo", 80)])])

    wait_served(client, "fresh.test", "echo")
    assert client.served_by("one.test") == "echo"
    assert client.get("broken.test")[0] == 404
    assert controller.metric("portico_controller_translations_total") > translations
    assert controller.metric("portico_controller_diagnostics") >= 1
    assert controller.metric("portico_controller_source_errors_total") == 0
    assert controller.metric("portico_controller_objects", kind="Ingress") == 2
    wait_until(lambda: re.search(r"30-broken\.yaml: line \d+, column \d+", controller.stderr()),
               5, "a diagnostic naming the broken file, line and column")
    assert controller.alive() and dp.config_info()["errors"] == 0

    # Repaired, its Ingress is served as well.
    manifests.write("30-broken.yaml", [ingress("broken", "broken.test", [("/", "echo", 80)])])
    wait_served(client, "broken.test", "echo")
    assert client.served_by("fresh.test") == "echo"
