"""Upstream behaviour policies through the real data plane (issue 9):
proxy-body-size per route (413 for an announced Content-Length before any
body goes upstream, and for chunked bodies that grow past the limit), the
read and send timeouts (504), and proxy-next-upstream retries (on a 502 to
another endpoint, never a POST without non_idempotent, at most `tries`)."""

import socket
import threading
import time

import pytest

from harness import route, snapshot, vhost, wait_until
from rawhttp import Conn

LIMIT = 1024


def chunked_post(conn, target, pieces, host="t.test"):
    head = (f"POST {target} HTTP/1.1\r\nHost: {host}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    body = b"".join(b"%x\r\n" % len(p) + p + b"\r\n" for p in pieces) + b"0\r\n\r\n"
    conn.send(head + body)
    return conn.read_response("POST")


# --- proxy-body-size ----------------------------------------------------------

@pytest.fixture(scope="module")
def body_env(module_launch):
    echo = module_launch.backend("echo")
    small = route("small", "/small", "echo")
    small["maxRequestBodyBytes"] = str(LIMIT)
    unlimited = route("unlimited", "/unlimited", "echo")
    unlimited["maxRequestBodyBytes"] = "0"
    routes = [small, unlimited, route("other", "/", "echo")]
    # The global limit (4 KiB) applies where a route sets none; /unlimited lifts it.
    proxy = module_launch.dataplane(snapshot([vhost("vh", [], routes)],
                                             {"echo": ({}, [echo.endpoint()])},
                                             settings={"maxRequestBodyBytes": "4096"}),
                                    extra_args=["--h2c"])
    return proxy, echo


def test_content_length_above_the_route_limit_is_413_before_the_body(body_env):
    proxy, echo = body_env
    before = echo.stats()["requests"]
    with Conn(proxy.port) as conn:
        # Only the head is sent: the answer must not wait for the body.
        conn.send(b"POST /small/x HTTP/1.1\r\nHost: t.test\r\nContent-Length: 5000\r\n\r\n")
        resp = conn.read_response("POST", timeout=3)
        assert resp.status == 413, resp
    assert echo.stats()["requests"] == before, "the request reached the backend"


def test_body_within_the_route_limit_passes(body_env):
    proxy, _ = body_env
    with Conn(proxy.port) as conn:
        resp = conn.request("POST", "/small/x", host="t.test", body=b"a" * LIMIT)
        assert resp.status == 200, resp
        assert resp.json()["body_length"] == LIMIT


def test_chunked_body_growing_past_the_route_limit_is_413(body_env):
    proxy, echo = body_env
    with Conn(proxy.port) as conn:
        resp = chunked_post(conn, "/small/x", [b"b" * 600, b"c" * 600])
        assert resp.status == 413, resp
    with Conn(proxy.port) as conn:
        resp = chunked_post(conn, "/small/x", [b"b" * 500, b"c" * 500])
        assert resp.status == 200 and resp.json()["body_length"] == 1000, resp


def test_other_routes_keep_the_global_limit(body_env):
    proxy, _ = body_env
    with Conn(proxy.port) as conn:
        resp = conn.request("POST", "/other", host="t.test", body=b"d" * 3000)
        assert resp.status == 200 and resp.json()["body_length"] == 3000, resp
    with Conn(proxy.port) as conn:
        assert conn.request("POST", "/other", host="t.test", body=b"d" * 5000).status == 413
    with Conn(proxy.port) as conn:
        resp = chunked_post(conn, "/other", [b"e" * 3000, b"f" * 3000])
        assert resp.status == 413, resp


def test_a_route_may_lift_the_global_limit(body_env):
    proxy, _ = body_env
    size = 256 * 1024
    with Conn(proxy.port, timeout=10) as conn:
        resp = conn.request("POST", "/unlimited", host="t.test", body=b"g" * size)
        assert resp.status == 200 and resp.json()["body_length"] == size, resp
    with Conn(proxy.port, timeout=10) as conn:
        resp = chunked_post(conn, "/unlimited", [b"h" * 65536] * 4)
        assert resp.status == 200 and resp.json()["body_length"] == size, resp


def test_http2_body_above_the_route_limit_is_413(body_env):
    h2 = pytest.importorskip("h2.connection")
    import h2.config
    import h2.events
    proxy, _ = body_env

    def post(length_header, body):
        sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        headers = [(":method", "POST"), (":scheme", "http"), (":authority", "t.test"),
                   (":path", "/small/h2")]
        if length_header:
            headers.append(("content-length", str(len(body))))
        conn.send_headers(1, headers)
        conn.send_data(1, body, end_stream=True)
        sock.sendall(conn.data_to_send())
        deadline = time.monotonic() + 5
        status = None
        try:
            while time.monotonic() < deadline:
                data = sock.recv(65536)
                if not data:
                    break
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.ResponseReceived):
                        status = int(dict(event.headers)[b":status"])
                    if isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                        return status
                sock.sendall(conn.data_to_send())
        finally:
            sock.close()
        return status

    assert post(True, b"x" * (LIMIT + 1)) == 413
    assert post(False, b"x" * (LIMIT + 1)) == 413
    assert post(False, b"x" * LIMIT) == 200


# --- timeouts -----------------------------------------------------------------

def test_read_timeout_is_504(launch):
    slow = launch.backend("slow")
    proxy = launch.dataplane(snapshot([vhost("vh", [], [route("r", "/", "slow")])],
                                      {"slow": ({"responseTimeout": "0.5s"}, [slow.endpoint()])}))
    start = time.monotonic()
    with Conn(proxy.port, timeout=5) as conn:
        resp = conn.request("GET", "/delay/3000", host="t.test")
    elapsed = time.monotonic() - start
    assert resp.status == 504, resp
    assert 0.4 <= elapsed < 2.5, f"504 after {elapsed:.2f}s for a 0.5s read timeout"


def test_stalled_upstream_write_hits_the_send_timeout(launch):
    """The backend holds the request body unread (hold_body=1): the upload
    stalls once the socket buffers are full, and the attempt fails after the
    send timeout rather than the (longer) read timeout."""
    slow = launch.backend("slow")
    cluster = {"sendTimeout": "0.5s", "responseTimeout": "20s", "retry": {"off": True}}
    proxy = launch.dataplane(snapshot([vhost("vh", [], [route("r", "/", "slow")])],
                                      {"slow": (cluster, [slow.endpoint()])}))
    size = 32 * 1024 * 1024  # beyond any loopback socket buffers
    start = time.monotonic()
    try:
        with Conn(proxy.port, timeout=15) as conn:
            conn.send(f"POST /up?hold_body=1 HTTP/1.1\r\nHost: t.test\r\n"
                      f"Content-Length: {size}\r\n\r\n".encode())
            conn.sock.settimeout(0.2)
            sent = 0
            chunk = b"z" * 65536
            status = None
            while time.monotonic() - start < 10:
                if conn.readable(0):
                    status = conn.read_response("POST", timeout=5).status
                    break
                try:
                    sent += conn.sock.send(chunk)
                except (socket.timeout, BlockingIOError):
                    pass
            assert status == 504, status
    finally:
        slow.release()
    elapsed = time.monotonic() - start
    assert elapsed < 8, f"504 after {elapsed:.2f}s for a 0.5s send timeout"



class StallingH2Backend:
    """An h2c server that opens a 1 KiB stream window and never sends a
    WINDOW_UPDATE: a request body beyond the window stalls in the proxy."""

    def __init__(self):
        import h2.config
        import h2.connection
        import h2.settings
        self._h2 = h2
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        socks = []
        try:
            while not self.stop.is_set():
                try:
                    sock, _ = self.listener.accept()
                except socket.timeout:
                    continue
                socks.append(sock)
                threading.Thread(target=self._connection, args=(sock,), daemon=True).start()
        finally:
            for sock in socks:
                sock.close()
            self.listener.close()

    def _connection(self, sock):
        h2 = self._h2
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.local_settings = h2.settings.Settings(
            client=False, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1024})
        conn.initiate_connection()
        sock.settimeout(0.2)
        try:
            sock.sendall(conn.data_to_send())
            while not self.stop.is_set():
                try:
                    data = sock.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    return
                conn.receive_data(data)  # body bytes never acknowledged
                sock.sendall(conn.data_to_send())
        except (OSError, h2.exceptions.ProtocolError):
            return

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)


def test_stalled_http2_upstream_hits_the_send_timeout(launch):
    """An HTTP/2 backend whose flow-control window stays shut: the upload
    fails after the send timeout (504), not after the longer read timeout."""
    pytest.importorskip("h2.connection")
    backend = StallingH2Backend()
    cluster = {"sendTimeout": "0.5s", "responseTimeout": "20s", "retry": {"off": True},
               "protocol": "PROTOCOL_H2C"}
    endpoint = {"address": "127.0.0.1", "port": backend.port, "ready": True}
    try:
        proxy = launch.dataplane(snapshot([vhost("vh", [], [route("r", "/", "h2")])],
                                          {"h2": (cluster, [endpoint])}))
        size = 4 * 1024 * 1024
        start = time.monotonic()
        with Conn(proxy.port, timeout=15) as conn:
            conn.send(f"POST /up HTTP/1.1\r\nHost: t.test\r\n"
                      f"Content-Length: {size}\r\n\r\n".encode())
            conn.sock.settimeout(0.2)
            chunk = b"z" * 65536
            status = None
            while time.monotonic() - start < 10:
                if conn.readable(0):
                    status = conn.read_response("POST", timeout=5).status
                    break
                try:
                    conn.sock.send(chunk)
                except (socket.timeout, BlockingIOError):
                    pass
        elapsed = time.monotonic() - start
        assert status == 504, status
        assert elapsed < 8, f"504 after {elapsed:.2f}s for a 0.5s send timeout"
    finally:
        backend.close()


# --- proxy-next-upstream ------------------------------------------------------

NO_OUTLIERS = {"outlierDetection": {"disabled": True}}


@pytest.fixture(scope="module")
def retry_env(module_launch):
    good = module_launch.backend("good")
    bad = [module_launch.backend(f"bad{i}", status=502) for i in range(3)]
    clusters = {
        # One failing endpoint and one good one.
        "r502": ({**NO_OUTLIERS, "retry": {"conditions": ["CONDITION_HTTP_502"]}},
                 [bad[0].endpoint(), good.endpoint()]),
        "r502post": ({**NO_OUTLIERS, "retry": {"conditions": ["CONDITION_HTTP_502",
                                                              "CONDITION_NON_IDEMPOTENT"]}},
                     [bad[0].endpoint(), good.endpoint()]),
        "plain": (NO_OUTLIERS, [bad[0].endpoint(), good.endpoint()]),
        # Three failing endpoints and one good one: two tries are not always enough.
        "tries2": ({**NO_OUTLIERS, "retry": {"conditions": ["CONDITION_HTTP_502"], "tries": 2}},
                   [*(b.endpoint() for b in bad), good.endpoint()]),
        "tries4": ({**NO_OUTLIERS, "retry": {"conditions": ["CONDITION_HTTP_502"], "tries": 4}},
                   [*(b.endpoint() for b in bad), good.endpoint()]),
    }
    routes = [route(name, f"/{name}", name) for name in clusters]
    proxy = module_launch.dataplane(snapshot([vhost("vh", [], routes)], clusters))
    return proxy, good, bad


def statuses(proxy, method, target, n=8, body=b""):
    out = []
    for _ in range(n):
        with Conn(proxy.port) as conn:  # new connections: both workers take part
            resp = conn.request(method, target, host="t.test", body=body)
            out.append((resp.status, resp.header("X-Backend-Name")))
    return out


def retries_total(proxy):
    for line in proxy.metrics().splitlines():
        if line.startswith("portico_upstream_retries_total "):
            return float(line.split()[1])
    return 0.0


def test_a_502_is_retried_on_the_other_endpoint(retry_env):
    proxy, good, bad = retry_env
    before_bad = bad[0].stats()["requests"]
    before_retries = retries_total(proxy)
    got = statuses(proxy, "GET", "/r502/x")
    assert got == [(200, "good")] * 8, got
    tried_bad = bad[0].stats()["requests"] - before_bad
    assert tried_bad >= 1, "round robin never chose the failing endpoint first"
    assert retries_total(proxy) - before_retries == tried_bad


def test_without_http_502_the_502_passes_through(retry_env):
    proxy, _, _ = retry_env
    got = statuses(proxy, "GET", "/plain/x")
    assert (502, "bad0") in got and (200, "good") in got, got


def test_post_is_not_retried_without_non_idempotent(retry_env):
    proxy, _, _ = retry_env
    got = statuses(proxy, "POST", "/r502/x", body=b"payload")
    assert (502, "bad0") in got, got
    got = statuses(proxy, "POST", "/r502post/x", body=b"payload")
    assert got == [(200, "good")] * 8, got


def test_tries_limits_the_attempts(retry_env):
    proxy, good, bad = retry_env
    before = sum(b.stats()["requests"] for b in bad) + good.stats()["requests"]
    got = statuses(proxy, "GET", "/tries2/x", n=12)
    after = sum(b.stats()["requests"] for b in bad) + good.stats()["requests"]
    assert any(s == 502 for s, _ in got), got
    assert after - before <= 2 * 12, "more than two attempts for a request"
    got = statuses(proxy, "GET", "/tries4/x", n=12)
    assert got == [(200, "good")] * 12, got
