"""Configuration changes under load: a snapshot file swap (and SIGHUP) applies
the new routes without failing a single request or closing a connection."""

import signal
import threading

import pytest

from harness import route, single_route_snapshot, snapshot, vhost, wait_until
from rawhttp import Conn


def config(old, new, version, with_new_route):
    routes = [route("old", "/", "old")]
    clusters = {"old": ({}, [old.endpoint()])}
    if with_new_route:
        routes.append(route("new", "/new", "new"))
        clusters["new"] = ({}, [new.endpoint()])
    # Connections must survive the reload, not hit the per-connection request cap.
    settings = {"maxKeepaliveRequests": 1000000}
    return snapshot([vhost("vh", [], routes)], clusters, version=version, settings=settings)


class Load:
    """Client threads, each on one keep-alive connection that must never break;
    one of them sends slow requests that straddle the reload."""

    def __init__(self, port, threads=4):
        self.port = port
        self.stop = threading.Event()
        self.done = [0] * threads
        self.failures = []
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]
        for t in self.threads:
            t.start()

    def run(self, index):
        target = "/load/delay/200" if index == 0 else "/load"
        try:
            with Conn(self.port) as conn:
                while not self.stop.is_set() and self.done[index] < 100000:
                    resp = conn.request("GET", target)
                    if resp.status != 200 or resp.json()["name"] != "old":
                        self.failures.append(repr(resp))
                        return
                    self.done[index] += 1
        except Exception as e:  # noqa: BLE001 — any failure is the test's result
            self.failures.append(f"thread {index}: {e!r}")

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=10)
        assert not any(t.is_alive() for t in self.threads), "load threads did not stop"


def served_by_new(proxy):
    with Conn(proxy.port) as conn:
        resp = conn.request("GET", "/new/x")
    return resp.status == 200 and resp.json()["name"] == "new"


@pytest.mark.timeout_s(60)
@pytest.mark.parametrize("how", ["file-swap", "sighup"])
def test_reload_under_load(launch, how):
    old, new = launch.backend("old"), launch.backend("new")
    proxy = launch.dataplane(config(old, new, 1, False))
    load = Load(proxy.port)
    try:
        wait_until(lambda: min(load.done) >= 3 or load.failures, 10, "load to start")
        proxy.write_snapshot(config(old, new, 2, True))
        if how == "sighup":
            proxy.signal(signal.SIGHUP)
        wait_until(lambda: served_by_new(proxy), 10, "the new route to be served")
        marks = list(load.done)
        wait_until(lambda: all(d >= m + 3 for d, m in zip(load.done, marks)) or load.failures,
                   10, "more requests after the reload")
    finally:
        load.finish()
    assert load.failures == []
    assert proxy.alive()


def test_invalid_snapshot_is_rejected_and_old_one_kept(launch):
    old, new = launch.backend("old"), launch.backend("new")
    proxy = launch.dataplane(config(old, new, 1, False))
    bad = config(old, new, 2, True)
    bad["virtualHosts"][0]["routes"].append(route("dangling", "/dangling", "no-such-cluster"))
    errors = proxy.config_info()["errors"]
    proxy.write_snapshot(bad)
    proxy.signal(signal.SIGHUP)
    wait_until(lambda: proxy.config_info()["errors"] > errors, 10, "the rejection")
    info = proxy.config_info()
    assert info["version"] == 1 and "no-such-cluster" in info["last_error"], info
    assert not served_by_new(proxy)  # no route of the bad snapshot is ever served
    with Conn(proxy.port) as conn:
        assert conn.request("GET", "/still").json()["name"] == "old"
    proxy.write_snapshot(config(old, new, 3, True))
    proxy.signal(signal.SIGHUP)
    wait_until(lambda: served_by_new(proxy), 10, "the next good snapshot")


def test_sighup_rereads_an_unchanged_snapshot(launch):
    """SIGHUP alone (no file change for the watcher to see) re-applies the file."""
    proxy = launch.dataplane(config(launch.backend("old"), None, 1, False))
    applies = proxy.config_info()["applies"]
    proxy.signal(signal.SIGHUP)
    wait_until(lambda: proxy.config_info()["applies"] > applies, 5, "a re-apply after SIGHUP")
    assert proxy.alive()


def test_changed_endpoints_take_over_and_old_pooled_connections_go(launch):
    """Cluster c1 moves from backend A to B: pooled connections to A are not reused."""
    a, b = launch.backend("A"), launch.backend("B")
    proxy = launch.dataplane(single_route_snapshot(a))
    with Conn(proxy.port) as conn:  # leaves a pooled upstream connection to A
        assert conn.request("GET", "/warm").json()["name"] == "A"
        proxy.write_snapshot(single_route_snapshot(b, version=2))
        wait_until(lambda: proxy.config_info()["version"] == 2, 10, "version 2")
        # The same client connection and fresh ones all reach B now.
        assert conn.request("GET", "/after").json()["name"] == "B"
    for _ in range(10):
        with Conn(proxy.port) as conn:
            assert conn.request("GET", "/after").json()["name"] == "B"
    # 1: the /__stats request's own connection.
    wait_until(lambda: a.stats()["open_connections"] == 1, 10, "connections to A to close")
