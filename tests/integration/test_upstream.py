"""The upstream side: connection reuse, error statuses (502/503/504), retries
on connect failure, and backend statuses passed through untouched."""

import hashlib
import socket
import threading
import time

import pytest

from harness import pattern_sha256, route, single_route_snapshot, snapshot, vhost, wait_until
from rawhttp import Conn


@pytest.fixture(scope="module")
def refusing_port():
    """A port that refuses connections: bound but never listening, so no one
    else can take it while the tests run."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def env(module_launch, refusing_port):
    good = module_launch.backend("good")
    slow = module_launch.backend("slow")
    v6 = module_launch.backend("v6", host="::1") if ipv6_loopback() else good
    refused = {"address": "127.0.0.1", "port": refusing_port, "ready": True}
    clusters = {
        "good": ({}, [good.endpoint()]),
        "refused": ({"connectRetries": 0}, [refused]),
        "retry": ({}, [refused, good.endpoint(), refused]),
        "not-ready": ({}, [good.endpoint(ready=False)]),
        "empty": ({}, []),
        "slow": ({"responseTimeout": "0.5s"}, [slow.endpoint()]),
        "v6": ({}, [v6.endpoint()]),
    }
    routes = [route(name, f"/{name}", name) for name in clusters]
    proxy = module_launch.dataplane(snapshot([vhost("vh", [], routes)], clusters))
    return proxy, good, slow


def get(proxy, target, timeout=5):
    with Conn(proxy.port, timeout=timeout) as conn:
        return conn.request("GET", target)


def test_keepalive_connections_to_upstream_are_reused(env):
    proxy, good, _ = env
    before = good.stats()["connections"]
    for _ in range(5):  # several client connections, many requests each
        with Conn(proxy.port) as conn:
            for _ in range(40):
                resp = conn.request("GET", "/good/ka")
                assert resp.status == 200, resp
    opened = good.stats()["connections"] - before
    assert opened <= 4, f"200 sequential requests opened {opened} upstream connections"


def test_bursts_above_64_concurrent_requests_reuse_connections(env):
    """Bursts of concurrent requests (an HTTP/2 client multiplexing hundreds
    of streams looks like this): the connections one burst idles must serve
    the next, not be closed and connected again."""
    proxy, good, _ = env
    clients, rounds = 200, 4
    barrier = threading.Barrier(clients, timeout=30)
    errors = []

    def client():
        try:
            with Conn(proxy.port, timeout=20) as conn:
                for _ in range(rounds):
                    barrier.wait()  # every round starts together: 200 in flight at once
                    resp = conn.request("GET", "/good/delay/300")
                    if resp.status != 200:
                        errors.append(resp.status)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
            barrier.abort()

    before = good.stats()["connections"]
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors[:5]
    opened = good.stats()["connections"] - before
    # One connection per concurrent request at most; with idle connections
    # capped at 64 per worker the rest would be connected again every round.
    assert opened <= clients + 8, f"{clients * rounds} requests opened {opened} connections"


def test_upstream_closing_its_connection_is_not_an_error(env):
    proxy, good, _ = env
    with Conn(proxy.port) as conn:
        for i in range(10):
            resp = conn.request("GET", "/good/close" if i % 2 else "/good/x")
            assert resp.status == 200, resp


def test_connection_refused_is_502(env):
    assert get(env[0], "/refused").status == 502


def test_no_ready_endpoint_is_503(env):
    assert get(env[0], "/not-ready").status == 503


def test_no_endpoint_at_all_is_503(env):
    assert get(env[0], "/empty").status == 503


def test_response_timeout_is_504(env):
    proxy, _, slow = env
    start = time.monotonic()
    resp = get(proxy, "/slow/delay/3000")
    elapsed = time.monotonic() - start
    assert resp.status == 504
    assert 0.4 <= elapsed < 2.5, f"504 after {elapsed:.2f}s for a 0.5s response timeout"


def test_connect_failure_is_retried_on_another_endpoint(env):
    proxy, good, _ = env
    for _ in range(20):
        resp = get(proxy, "/retry/r")
        assert resp.status == 200, resp
        assert resp.json()["name"] == "good"


def test_ipv6_endpoint(env):
    if not ipv6_loopback():
        pytest.skip("no IPv6 loopback")
    resp = get(env[0], "/v6/x")
    assert resp.status == 200 and resp.json()["name"] == "v6"


@pytest.mark.parametrize("header", ["X-Bad:a%0Ab", "X-Bad:a%00b", "X-Bad:a%0Db", "X%01Bad:a"],
                         ids=["bare-lf", "nul", "bare-cr", "ctl-in-name"])
def test_malformed_upstream_response_is_502(env, header):
    """Response splitting dies at the codec too: nothing of it reaches the client."""
    with Conn(env[0].port) as conn:
        resp = conn.request("GET", f"/good/split?hdr={header}")
        assert resp.status == 502, resp
        assert resp.header("X-Backend-Name") is None


@pytest.mark.parametrize("status", [201, 204, 404, 500, 503])
def test_backend_status_passes_through(env, status):
    with Conn(env[0].port) as conn:
        resp = conn.request("GET", f"/good/status/{status}")
        assert resp.status == status
        assert resp.header("X-Backend-Name") == "good"
        assert conn.request("GET", "/good/after").status == 200  # framing intact


def test_head_response_has_no_body(env):
    with Conn(env[0].port) as conn:
        resp = conn.request("HEAD", "/good/bytes/1000")
        assert resp.status == 200 and resp.body == b""
        assert conn.request("GET", "/good/after").status == 200  # no stray body bytes


def test_pooled_connection_closed_by_the_backend_is_not_reused(launch):
    """The backend closes idle connections after 200 ms; the next request must not fail."""
    backend = launch.backend("idle", idle_timeout_ms=200)
    proxy = launch.dataplane(single_route_snapshot(backend))
    for i in range(3):
        with Conn(proxy.port) as conn:
            assert conn.request("GET", f"/idle{i}").status == 200
        # 1: the /__stats request's own connection.
        wait_until(lambda: backend.stats()["open_connections"] == 1, 5,
                   "the backend to close its idle connection")


def test_close_delimited_response_body_is_forwarded_whole(env):
    proxy, _, _ = env
    size = 3 * (1 << 20) + 7
    with Conn(proxy.port) as conn:
        resp = conn.request("GET", f"/good/bytes/{size}?close=1", timeout=10)
        assert resp.status == 200 and len(resp.body) == size
        assert hashlib.sha256(resp.body).hexdigest() == pattern_sha256(size)


@pytest.mark.parametrize("query", ["", "?chunked=1", "?close=1"])
def test_head_of_a_streamed_response(env, query):
    with Conn(env[0].port) as conn:
        resp = conn.request("HEAD", f"/good/bytes/1000{query}")
        assert resp.status == 200 and resp.body == b""
        if query != "?close=1":
            assert conn.request("GET", "/good/after").status == 200


@pytest.mark.timeout_s(20)
def test_response_timeout_between_reads_aborts_the_response(env):
    """Headers and half the body arrive, then nothing: the client sees a cut, not a hang."""
    proxy, _, slow = env
    try:
        with Conn(proxy.port, timeout=10) as conn:
            conn.send(b"GET /slow/bytes/2000000?hold=1 HTTP/1.1\r\nHost: a\r\n\r\n")
            resp = conn.read_head()
            assert resp.status == 200
            start = time.monotonic()
            with pytest.raises(EOFError):
                conn.read_body(resp, lambda data: None, timeout=5)
            assert time.monotonic() - start < 3
    finally:
        slow.release()


def test_many_concurrent_clients(env):
    proxy, good, _ = env
    failures = []

    def client():
        try:
            with Conn(proxy.port, timeout=10) as conn:
                for _ in range(10):
                    resp = conn.request("GET", "/good/delay/5")
                    if resp.status != 200:
                        failures.append(resp.status)
        except Exception as e:  # noqa: BLE001 — recorded and asserted below
            failures.append(repr(e))
    threads = [threading.Thread(target=client) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert failures == []


def test_endpoint_at_max_connections_is_skipped_then_503(launch):
    """maxConnections 1 per endpoint per worker: a second concurrent request is 503."""
    backend = launch.backend()
    proxy = launch.dataplane(single_route_snapshot(backend, cluster_opts={"maxConnections": 1}),
                             workers=1)
    with Conn(proxy.port, timeout=10) as busy, Conn(proxy.port) as other:
        busy.send(b"GET /busy/delay/1000 HTTP/1.1\r\nHost: a\r\n\r\n")
        wait_until(lambda: backend.stats()["in_flight"] == 1, 5, "the first request upstream")
        assert other.request("GET", "/second").status == 503
        assert busy.read_response().status == 200
        assert other.request("GET", "/third").status == 200  # the connection is free again


def test_failing_endpoint_is_ejected(launch):
    """Five 5xx in a row eject an endpoint (at most 50% of the cluster)."""
    bad, good = launch.backend("bad", status=500), launch.backend("good")
    proxy = launch.dataplane(snapshot([vhost("vh", [], [route("r", "/", "c")])],
                                      {"c": ({}, [bad.endpoint(), good.endpoint()])}), workers=1)
    with Conn(proxy.port) as conn:
        statuses = [conn.request("GET", "/o").status for _ in range(12)]
        assert statuses.count(500) == 5, statuses  # round robin until the 5th failure
        assert [conn.request("GET", "/o").status for _ in range(20)] == [200] * 20


def test_upstream_closing_without_a_response_is_502(env):
    proxy, good, _ = env
    with Conn(proxy.port) as conn:
        assert conn.request("GET", "/good/abort").status == 502
        assert conn.request("GET", "/good/after").status == 200


def test_non_idempotent_request_is_not_replayed_after_the_backend_got_it(launch):
    """A POST that reached the backend on a reused connection, which then closed
    without answering, may have had effects: it must not be sent again
    (RFC 9110 9.2.2)."""
    backend = launch.backend()
    proxy = launch.dataplane(single_route_snapshot(backend), workers=1)
    with Conn(proxy.port) as conn:
        assert conn.request("GET", "/warm").status == 200  # one pooled connection now
        before = backend.stats()["requests"]
        assert conn.request("POST", "/pay/abort", body=b"once").status == 502
    assert backend.stats()["requests"] - before == 1, backend.stats()["recent"]


def test_request_on_a_dead_pooled_connection_is_replayed_at_most_once(launch):
    """docs/dataplane.md: "retried once on a fresh connection", however many
    idle connections the pool holds."""
    backend = launch.backend()
    proxy = launch.dataplane(single_route_snapshot(backend), workers=1)
    conns = [Conn(proxy.port) for _ in range(4)]
    try:
        for conn in conns:  # concurrent requests leave 4 pooled connections
            conn.send(b"GET /warm/delay/200 HTTP/1.1\r\nHost: a\r\n\r\n")
        for conn in conns:
            assert conn.read_response().status == 200
        before = backend.stats()["requests"]
        assert conns[0].request("GET", "/x/abort").status == 502
        assert backend.stats()["requests"] - before <= 2, backend.stats()["recent"]
    finally:
        for conn in conns:
            conn.close()


@pytest.mark.parametrize("query", ["?chunked=1&hdr=Content-Length:3",
                                   "?hdr=Content-Length:3"],
                         ids=["te-and-cl", "two-differing-cl"])
def test_ambiguous_upstream_framing_never_desyncs_the_client(env, query):
    """Either 502, or the body as chunked framing says; never 3 bytes then garbage."""
    with Conn(env[0].port) as conn:
        resp = conn.request("GET", f"/good/bytes/10{query}")
        assert resp.status == 502 or (resp.status == 200 and len(resp.body) == 10), resp
        assert conn.request("GET", "/good/after").json()["target"] == "/good/after"
