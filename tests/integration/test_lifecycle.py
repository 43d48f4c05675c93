"""Process lifecycle and observability: admin endpoints, metrics, the JSON
access log, and a SIGTERM drain that lets requests in flight finish."""

import re
import signal
import socket
import threading
import time

import pytest

from harness import route, single_route_snapshot, snapshot, vhost, wait_until
from rawhttp import Conn

ACCESS_LOG_FIELDS = {"time", "client_ip", "method", "host", "path", "protocol", "status",
                     "bytes_in", "bytes_out", "duration", "upstream_addr",
                     "upstream_duration", "route", "cluster"}


def test_admin_endpoints(launch):
    proxy = launch.dataplane(single_route_snapshot(launch.backend()))
    assert proxy.admin("/healthz")[0] == 200
    assert proxy.admin("/readyz")[0] == 200
    assert proxy.admin("/no-such-page")[0] == 404


def test_metrics_count_requests(launch):
    proxy = launch.dataplane(single_route_snapshot(launch.backend()))
    with Conn(proxy.port) as conn:
        for _ in range(7):
            assert conn.request("GET", "/m").status == 200
        assert conn.request("GET", "/m/status/404").status == 404
    text = proxy.metrics()
    assert "# TYPE portico_requests_total counter" in text, text[:2000]
    # Labelled by route origin, method and exact status (docs/metrics.md).
    counts = {}
    for status, value in re.findall(r'^portico_requests_total\{.*status="(\d+)".*\} (\S+)$',
                                    text, re.M):
        counts[status] = counts.get(status, 0) + float(value)
    assert counts.get("200") == 7 and counts.get("404") == 1, text[:3000]
    assert re.search(r"^portico_config_version 1$", text, re.M)


def test_access_log_is_json_with_documented_fields(launch):
    backend = launch.backend()
    snap = snapshot([vhost("vh", ["log.example.com"], [route("r-log", "/", "c-log")])],
                    {"c-log": ({}, [backend.endpoint()])})
    proxy = launch.dataplane(snap, access_log="stdout")
    with Conn(proxy.port) as conn:
        conn.request("POST", "/logged?q=1", host="log.example.com", body=b"x" * 100)
        conn.request("GET", "/missing", host="nowhere.test")
    entries = wait_until(lambda: len(proxy.access_log()) >= 2 and proxy.access_log(), 5,
                         "two access log lines")
    ok = next(e for e in entries if e["status"] == 200)
    assert ACCESS_LOG_FIELDS <= set(ok), f"missing {ACCESS_LOG_FIELDS - set(ok)}"
    assert ok["client_ip"] == "127.0.0.1"
    assert (ok["method"], ok["host"], ok["protocol"]) == ("POST", "log.example.com", "HTTP/1.1")
    assert ok["path"] == "/logged?q=1"  # as received, with the query
    assert ok["bytes_in"] == 100 and ok["bytes_out"] > 0  # body bytes
    assert ok["upstream_addr"] == f"127.0.0.1:{backend.port}"
    assert ok["upstream_status"] == 200 and ok["upstream_duration"] <= ok["duration"]
    assert (ok["route"], ok["cluster"]) == ("r-log", "c-log")
    missing = next(e for e in entries if e["status"] == 404)
    assert missing["host"] == "nowhere.test" and missing["path"] == "/missing"
    assert missing["upstream_addr"] == "" and missing["upstream_duration"] is None


def test_client_gone_before_the_response_is_logged_as_499(launch):
    backend = launch.backend()
    proxy = launch.dataplane(single_route_snapshot(backend), access_log="stdout")
    with Conn(proxy.port) as conn:
        conn.send(b"GET /gone/delay/500 HTTP/1.1\r\nHost: a\r\n\r\n")
        wait_until(lambda: backend.stats()["in_flight"] == 1, 5, "the request at the backend")
    entries = wait_until(proxy.access_log, 5, "an access log line")
    assert entries[0]["status"] == 499 and entries[0]["path"] == "/gone/delay/500"


@pytest.mark.timeout_s(30)
def test_sigterm_drains_requests_in_flight(launch):
    backend = launch.backend()
    proxy = launch.dataplane(single_route_snapshot(backend), drain_timeout="5s")
    results = []

    def slow_request():
        try:
            with Conn(proxy.port, timeout=10) as conn:
                results.append(conn.request("GET", "/drain/delay/1000").status)
        except Exception as e:  # noqa: BLE001 — recorded and asserted below
            results.append(repr(e))
    threads = [threading.Thread(target=slow_request) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: backend.stats()["in_flight"] == 4, 5, "4 requests at the backend")
        start = time.monotonic()
        proxy.signal(signal.SIGTERM)
        code = proxy.wait_exit(timeout=7)
        elapsed = time.monotonic() - start
    finally:
        for t in threads:
            t.join(timeout=10)
    assert results == [200] * 4
    assert code == 0, f"exit code {code} after {elapsed:.2f}s"
    assert elapsed < 5.5, f"exit took {elapsed:.2f}s with a 5s drain timeout"


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True
    except ConnectionResetError:  # raced with the listener closing: ask again
        return False


def readyz_status(proxy):
    try:
        return proxy.admin("/readyz", timeout=1)[0]
    except OSError:
        return None


@pytest.mark.timeout_s(30)
def test_drain_closes_listeners_and_idle_connections(launch):
    """docs/dataplane.md "Shutdown": /readyz 503, listeners and idle keep-alive
    connections close, the response in flight ends with Connection: close."""
    backend = launch.backend()
    proxy = launch.dataplane(single_route_snapshot(backend), drain_timeout="5s")
    responses = []
    busy = Conn(proxy.port, timeout=10)
    worker = threading.Thread(target=lambda: responses.append(
        busy.request("GET", "/drain/delay/1500")))
    with Conn(proxy.port) as idle, busy:
        assert idle.request("GET", "/idle").status == 200
        worker.start()
        try:
            wait_until(lambda: backend.stats()["in_flight"] == 1, 5, "the request at the backend")
            proxy.signal(signal.SIGTERM)
            assert idle.closed_by_peer(timeout=2), "idle keep-alive connection left open"
            wait_until(lambda: refused(proxy.port), 2, "the listener to close")
            wait_until(lambda: readyz_status(proxy) == 503, 1, "/readyz 503 while draining")
        finally:
            worker.join(timeout=10)
    assert responses and responses[0].status == 200, responses
    assert responses[0].header("Connection") == "close", responses[0].headers
    assert proxy.wait_exit(timeout=5) == 0


@pytest.mark.timeout_s(30)
def test_sigterm_exits_at_drain_timeout_even_if_requests_hang(launch):
    backend = launch.backend()
    proxy = launch.dataplane(single_route_snapshot(backend), drain_timeout="1s")
    with Conn(proxy.port, timeout=10) as conn:
        conn.send(b"GET /hang/delay/20000 HTTP/1.1\r\nHost: a\r\n\r\n")
        wait_until(lambda: backend.stats()["in_flight"] == 1, 5, "the request at the backend")
        start = time.monotonic()
        proxy.signal(signal.SIGTERM)
        code = proxy.wait_exit(timeout=5)
        elapsed = time.monotonic() - start
    assert code is not None, "still running 5s after SIGTERM with a 1s drain timeout"
    assert elapsed < 2.5, f"exit took {elapsed:.2f}s with a 1s drain timeout"


def test_readyz_is_503_until_a_snapshot_exists(launch, tmp_path):
    backend = launch.backend()
    proxy = launch.dataplane(None, wait_ready=False)
    assert proxy.admin("/readyz")[0] == 503
    assert proxy.admin("/healthz")[0] == 200
    with Conn(proxy.port) as conn:
        assert conn.request("GET", "/early").status == 503
    proxy.write_snapshot(single_route_snapshot(backend))
    proxy.signal(signal.SIGHUP)
    proxy.wait_ready()
    with Conn(proxy.port) as conn:
        assert conn.request("GET", "/ready").status == 200
