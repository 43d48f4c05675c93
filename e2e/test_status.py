"""What the controller writes back to the API server: Ingress
status.loadBalancer (from --publish-address or --publish-service) on the
Ingresses of its class only, cleared when one leaves the class; leader
election with a coordination.k8s.io/v1 Lease (exactly one leader writes; a
killed leader is replaced within the lease duration, a stopped one releases
the Lease at once); translator diagnostics as de-duplicated Warning Events on
the Ingress they concern.

The controller flags these tests use (--leader-elect, --leader-election-*,
--lease-duration, --renew-deadline, --retry-period, --publish-service,
--publish-address, --update-status) are specified in e2e/README.md; a
controller without them exits at start and the tests fail with its log."""

import json
import signal
import time

import pytest

from kube_harness import (CONTROLLER_NAMESPACE, OTHER_CONTROLLER_NAME, Namespace, endpoint_slice,
                          ingress, ingress_class, ingress_events, lb_ingress, lease_spec,
                          service, set_lb_status, start_controller, unique, wait_until)

PUBLISH = "127.0.0.10,lb.example.test"
PUBLISHED = sorted([{"ip": "127.0.0.10"}, {"hostname": "lb.example.test"}],
                   key=lambda e: json.dumps(e, sort_keys=True))
STATUS_TIMEOUT_S = 15
COMPONENT = "portico-controller"

# Short leader election timings (the defaults are 15 s / 10 s / 2 s).
LEASE_S, RENEW_S, RETRY_S = 3, 2, 0.5
TAKEOVER_MARGIN_S = 5  # a noisy machine, two processes polling


@pytest.fixture
def ns(cluster):
    namespace = Namespace(cluster, "e2e-st")
    yield namespace.name
    namespace.cleanup()


@pytest.fixture
def other_class(cluster):
    """An IngressClass of another controller."""
    name = unique("other")
    cluster.apply(ingress_class(name, controller=OTHER_CONTROLLER_NAME))
    yield name
    cluster.delete("ingressclass", name)


def web(name, ns, **class_fields):
    return ingress(name, ns, f"{name}.{ns}.test", [("/", "echo", 80)], **class_fields)


def echo_objects(ns):
    """The Service the Ingresses point at (no backend needs to run: only status is checked)."""
    return [service("echo", ns), endpoint_slice("echo-1", ns, "echo", 8080, ["127.0.0.1"])]


def wait_status(cluster, ns, name, expected, timeout=STATUS_TIMEOUT_S):
    seen = []

    def check():
        got = lb_ingress(cluster, ns, name)
        if not seen or seen[-1] != got:
            seen.append(got)
        return got == expected
    try:
        wait_until(check, timeout, f"{ns}/{name} status {expected}", interval=0.1)
    except TimeoutError as e:
        raise TimeoutError(f"{e}; seen: {seen[-5:]}") from None


def count(controller, name, **labels):
    value = controller.metric(name, **labels)
    return 0 if value is None else value


def leader_args(election_id, identity, lease=LEASE_S, renew=RENEW_S, retry=RETRY_S):
    return ["--leader-elect", f"--leader-election-namespace={CONTROLLER_NAMESPACE}",
            f"--leader-election-id={election_id}", f"--leader-election-identity={identity}",
            f"--lease-duration={lease}s", f"--renew-deadline={renew}s",
            f"--retry-period={int(retry * 1000)}ms", f"--publish-address={PUBLISH}"]


def start_pair(launch, cluster, klass, **timings):
    """Two replicas with leader election, users portico-controller and
    portico-controller-2; returns (election id, {identity: controller})."""
    election_id = unique("portico-leader")
    replicas = {}
    for user, name in (("portico-controller", "ctrl-a"), ("portico-controller-2", "ctrl-b")):
        identity = unique(name)
        replicas[identity] = start_controller(
            launch, cluster, user=user, name=name, ingress_class=klass,
            extra_args=leader_args(election_id, identity, **timings))
    return election_id, replicas


def leaders(replicas):
    """Identities whose controller says it leads (portico_controller_leader == 1)."""
    return {identity for identity, c in replicas.items()
            if c.alive() and c.metric("portico_controller_leader") == 1}


def wait_one_leader(replicas, timeout):
    def one():
        found = leaders(replicas)
        return next(iter(found)) if len(found) == 1 else None
    return wait_until(one, timeout, "exactly one leader", interval=0.05)


# --- status from --publish-address / --publish-service -------------------------------------

@pytest.mark.timeout_s(90)
def test_status_written_and_cleared_when_the_ingress_leaves_the_class(cluster, launch, ns, klass,
                                                                      other_class):
    cluster.apply([*echo_objects(ns), web("web", ns, class_name=klass)])
    controller = start_controller(launch, cluster, ingress_class=klass,
                                  extra_args=[f"--publish-address={PUBLISH}"])
    wait_status(cluster, ns, "web", PUBLISHED)
    assert count(controller, "portico_controller_status_updates_total") >= 1

    # An Ingress created later gets it too, by legacy annotation as well.
    cluster.apply([web("late", ns, class_name=klass), web("legacy", ns, legacy_class=klass)])
    wait_status(cluster, ns, "late", PUBLISHED)
    wait_status(cluster, ns, "legacy", PUBLISHED)

    # "web" moves to another controller's class: ours clears the address it wrote.
    cluster.apply(web("web", ns, class_name=other_class))
    wait_status(cluster, ns, "web", [])
    # Deleting the Ingress leaves nothing to clear; the others keep theirs.
    cluster.delete("ingress", "late", ns)
    assert lb_ingress(cluster, ns, "legacy") == PUBLISHED
    assert controller.alive()


@pytest.mark.timeout_s(90)
def test_other_classes_ingress_status_is_never_touched(cluster, launch, ns, klass, other_class,
                                                       tmp_path):
    theirs = [{"ip": "127.0.0.99"}]
    cluster.apply([*echo_objects(ns), web("theirs", ns, class_name=other_class),
                   web("theirs-legacy", ns, legacy_class=other_class),
                   web("unknown", ns, class_name=unique("nonexistent")),
                   web("ours", ns, class_name=klass)])
    versions = {}
    for name in ("theirs", "theirs-legacy", "unknown"):
        stored = set_lb_status(cluster, ns, name, theirs, tmp_path)
        versions[name] = stored["metadata"]["resourceVersion"]
        assert lb_ingress(cluster, ns, name) == theirs

    controller = start_controller(launch, cluster, ingress_class=klass,
                                  extra_args=[f"--publish-address={PUBLISH}"])
    wait_status(cluster, ns, "ours", PUBLISHED)
    # Several re-translations later (each change to "ours" is one), still untouched.
    for i in range(3):
        version = controller.version()
        cluster.apply(ingress("ours", ns, f"ours.{ns}.test", [(f"/p{i}", "echo", 80)],
                              class_name=klass))
        wait_until(lambda: controller.version() > version, 10, "a new snapshot")
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        for name, rv in versions.items():
            got = cluster.kubectl_json("get", "ingress", name, "-n", ns)
            assert got["metadata"]["resourceVersion"] == rv, (name, got.get("status"))
        time.sleep(0.2)
    assert lb_ingress(cluster, ns, "ours") == PUBLISHED


@pytest.mark.timeout_s(90)
def test_publish_service_external_ips_then_cluster_ip(cluster, launch, ns, klass):
    # Service validation refuses loopback externalIPs; TEST-NET-1 (RFC 5737) is
    # only written into status, nothing connects to it.
    lb = service("portico-lb", ns, external_ips=["192.0.2.11"])
    cluster.apply([*echo_objects(ns), lb, web("web", ns, class_name=klass)])
    start_controller(launch, cluster, ingress_class=klass,
                     extra_args=[f"--publish-service={ns}/portico-lb"])
    wait_status(cluster, ns, "web", [{"ip": "192.0.2.11"}])

    # Without externalIPs (and no load balancer status): the clusterIP.
    cluster.apply(service("portico-lb", ns))
    cluster_ip = cluster.kubectl_json("get", "service", "portico-lb", "-n", ns)["spec"][
        "clusterIP"]
    assert cluster_ip and cluster_ip != "None"
    wait_status(cluster, ns, "web", [{"ip": cluster_ip}])


@pytest.mark.timeout_s(60)
def test_update_status_false_writes_nothing(cluster, launch, ns, klass):
    cluster.apply([*echo_objects(ns), web("web", ns, class_name=klass)])
    controller = start_controller(launch, cluster, ingress_class=klass,
                                  extra_args=[f"--publish-address={PUBLISH}",
                                              "--update-status=false"])
    version = controller.version()
    cluster.apply(web("second", ns, class_name=klass))
    wait_until(lambda: controller.version() > version, 10, "a new snapshot")
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert lb_ingress(cluster, ns, "web") == [] and lb_ingress(cluster, ns, "second") == []
        time.sleep(0.2)
    assert count(controller, "portico_controller_status_updates_total") == 0


# --- leader election -----------------------------------------------------------------------

@pytest.mark.timeout_s(90)
def test_exactly_one_leader_writes_status_and_events(cluster, launch, ns, klass):
    election_id, replicas = start_pair(launch, cluster, klass)
    leader = wait_one_leader(replicas, LEASE_S + TAKEOVER_MARGIN_S)
    follower = next(i for i in replicas if i != leader)
    # Both serve snapshots: both are ready.
    assert all(c.readyz() == 200 for c in replicas.values())
    assert lease_spec(cluster, CONTROLLER_NAMESPACE, election_id)["holderIdentity"] == leader

    cluster.apply([*echo_objects(ns), web("web", ns, class_name=klass),
                   ingress("bad", ns, f"bad.{ns}.test", [("/", "echo", 80)], class_name=klass,
                           annotations={"portico.dev/use-regex": "maybe"})])
    wait_status(cluster, ns, "web", PUBLISHED)
    wait_until(lambda: ingress_events(cluster, ns, "bad", "InvalidAnnotation"), STATUS_TIMEOUT_S,
               "the InvalidAnnotation Event", interval=0.2)
    # Several lease renewals later, still one leader, and the follower wrote nothing.
    time.sleep(RETRY_S * 4)
    assert leaders(replicas) == {leader}
    assert count(replicas[leader], "portico_controller_status_updates_total") >= 1
    assert count(replicas[follower], "portico_controller_status_updates_total") == 0
    assert count(replicas[follower], "portico_controller_events_total", result="sent") == 0
    assert count(replicas[follower], "portico_controller_leader") == 0
    assert len(ingress_events(cluster, ns, "bad", "InvalidAnnotation")) == 1
    assert replicas[leader].log_matches("became leader")
    assert not replicas[follower].log_matches("became leader")


@pytest.mark.timeout_s(90)
def test_killed_leader_is_replaced_within_the_lease_duration(cluster, launch, ns, klass,
                                                             capsys):
    election_id, replicas = start_pair(launch, cluster, klass)
    leader = wait_one_leader(replicas, LEASE_S + TAKEOVER_MARGIN_S)
    other = next(i for i in replicas if i != leader)
    cluster.apply([*echo_objects(ns), web("web", ns, class_name=klass)])
    wait_status(cluster, ns, "web", PUBLISHED)

    replicas[leader].signal(signal.SIGKILL)
    killed = time.monotonic()
    assert replicas[leader].wait_exit(10) is not None
    wait_until(lambda: replicas[other].metric("portico_controller_leader") == 1,
               LEASE_S + TAKEOVER_MARGIN_S, f"{other} to take over", interval=0.05)
    takeover = time.monotonic() - killed
    assert lease_spec(cluster, CONTROLLER_NAMESPACE, election_id)["holderIdentity"] == other
    assert replicas[other].log_matches("became leader")
    with capsys.disabled():
        print(f"\nleader SIGKILLed: taken over after {takeover:.2f}s "
              f"(lease {LEASE_S}s, retry {RETRY_S}s)")
    # A killed leader releases nothing: the new one waited for the lease to expire.
    assert takeover >= LEASE_S - RETRY_S * 2, takeover

    # The new leader writes status.
    cluster.apply(web("after", ns, class_name=klass))
    wait_status(cluster, ns, "after", PUBLISHED)
    assert count(replicas[other], "portico_controller_status_updates_total") >= 1


@pytest.mark.timeout_s(90)
def test_stopped_leader_steps_down_and_the_other_takes_over_at_once(cluster, launch, ns, klass,
                                                                     capsys):
    lease = 10  # long, so that waiting it out cannot pass for a release
    election_id, replicas = start_pair(launch, cluster, klass, lease=lease, renew=6)
    leader = wait_one_leader(replicas, lease + TAKEOVER_MARGIN_S)
    other = next(i for i in replicas if i != leader)

    replicas[leader].signal(signal.SIGTERM)
    stopped = time.monotonic()
    wait_until(lambda: replicas[other].metric("portico_controller_leader") == 1, lease,
               f"{other} to take over", interval=0.05)
    takeover = time.monotonic() - stopped
    assert replicas[leader].wait_exit(15) == 0, replicas[leader].stderr()[-2000:]
    assert replicas[leader].log_matches("stepped down")
    holder = lease_spec(cluster, CONTROLLER_NAMESPACE, election_id)["holderIdentity"]
    assert holder in ("", None, other), holder
    with capsys.disabled():
        print(f"\nleader SIGTERMed: taken over after {takeover:.2f}s (lease {lease}s)")
    assert takeover < lease / 2, takeover  # released: no waiting for the lease to expire

    cluster.apply([*echo_objects(ns), web("web", ns, class_name=klass)])
    wait_status(cluster, ns, "web", PUBLISHED)


# --- Events ---------------------------------------------------------------------------------

@pytest.mark.timeout_s(90)
def test_diagnostics_become_deduplicated_warning_events(cluster, launch, ns, klass):
    cluster.apply([*echo_objects(ns),
                   ingress("bad", ns, f"bad.{ns}.test", [("/", "echo", 80)], class_name=klass,
                           annotations={"portico.dev/use-regex": "maybe"}),
                   ingress("missing", ns, f"missing.{ns}.test", [("/", "nope", 80)],
                           class_name=klass),
                   web("fine", ns, class_name=klass)])
    controller = start_controller(launch, cluster, ingress_class=klass,
                                  extra_args=[f"--publish-address={PUBLISH}"])
    uids = {name: cluster.kubectl_json("get", "ingress", name, "-n", ns)["metadata"]["uid"]
            for name in ("bad", "missing")}
    found = {}
    for name, reason in (("bad", "InvalidAnnotation"), ("missing", "ServiceNotFound")):
        found[name] = wait_until(lambda: ingress_events(cluster, ns, name, reason),
                                 STATUS_TIMEOUT_S, f"a {reason} Event on {name}", interval=0.2)[0]
    # What users look at: kubectl describe lists an object's Events by
    # involvedObject name, namespace, kind and uid.
    described = cluster.kubectl("describe", "ingress", "bad", "-n", ns)
    assert "InvalidAnnotation" in described.split("Events:", 1)[-1], described
    for name, event in found.items():
        assert event["type"] == "Warning", event
        assert event["source"].get("component") == COMPONENT, event
        assert event.get("message"), event
        involved = event["involvedObject"]
        assert involved.get("namespace") == ns, involved
        assert involved.get("apiVersion", "networking.k8s.io/v1") == "networking.k8s.io/v1"
        assert involved.get("uid") == uids[name], involved
    assert "use-regex" in found["bad"]["message"], found["bad"]
    assert "nope" in found["missing"]["message"], found["missing"]
    assert not ingress_events(cluster, ns, "fine")

    # Re-translations (each change to "fine" is one) repeat the same diagnostics:
    # no new Event objects, at most a higher count.
    for i in range(4):
        version = controller.version()
        cluster.apply(ingress("fine", ns, f"fine.{ns}.test", [(f"/p{i}", "echo", 80)],
                              class_name=klass))
        wait_until(lambda: controller.version() > version, 10, "a new snapshot")
    time.sleep(1)  # let a would-be duplicate reach the API server
    for name, reason in (("bad", "InvalidAnnotation"), ("missing", "ServiceNotFound")):
        events = ingress_events(cluster, ns, name, reason)
        assert len(events) == 1, [(e["metadata"]["name"], e.get("count")) for e in events]
        assert events[0].get("count", 1) >= 1
    assert not ingress_events(cluster, ns, "fine")
    assert count(controller, "portico_controller_events_total", result="sent") >= 2
    assert count(controller, "portico_controller_events_total", result="failed") == 0
