"""HTTP/1.1 client-side features: pipelining, Expect: 100-continue, and
request and response bodies streamed (chunked and Content-Length)."""

import hashlib
import os
import socket
import time

import pytest

from harness import curl, pattern_sha256, single_route_snapshot, wait_until
from rawhttp import Conn

MiB = 1 << 20


@pytest.fixture(scope="module")
def env(module_launch):
    backend = module_launch.backend("h1")
    return module_launch.dataplane(single_route_snapshot(backend)), backend


def test_pipelining_three_requests_in_one_write(env):
    proxy, _ = env
    with Conn(proxy.port) as conn:
        conn.send(b"GET /p1 HTTP/1.1\r\nHost: a\r\n\r\n"
                  b"POST /p2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                  b"GET /p3 HTTP/1.1\r\nHost: a\r\n\r\n")
        echoes = [conn.read_response().json() for _ in range(3)]
    assert [e["target"] for e in echoes] == ["/p1", "/p2", "/p3"]
    assert echoes[1]["body_preview"] == "abc"


def test_pipelining_fifty_requests(env):
    proxy, _ = env
    with Conn(proxy.port) as conn:
        conn.send(b"".join(b"GET /n%d HTTP/1.1\r\nHost: a\r\n\r\n" % i for i in range(50)))
        targets = [conn.read_response().json()["target"] for _ in range(50)]
    assert targets == [f"/n{i}" for i in range(50)]


def test_keepalive_request_cap_closes_gracefully(launch):
    """The last request allowed on a connection is answered with Connection: close."""
    backend = launch.backend()
    proxy = launch.dataplane(single_route_snapshot(backend, settings={"maxKeepaliveRequests": 5}))
    with Conn(proxy.port) as conn:
        for _ in range(4):
            resp = conn.request("GET", "/cap")
            assert resp.status == 200 and resp.header("Connection") != "close", resp
        resp = conn.request("GET", "/cap")
        assert resp.status == 200 and resp.header("Connection") == "close", resp
        assert conn.closed_by_peer()


def test_http10_request_is_answered_and_closed(env):
    proxy, _ = env
    with Conn(proxy.port) as conn:
        conn.send(b"GET /old HTTP/1.0\r\n\r\n")
        resp = conn.read_response()
        assert resp.status == 200, resp
        assert conn.closed_by_peer()


def test_http10_request_without_host_goes_upstream_with_one(env):
    """Upstream requests are HTTP/1.1, which requires Host (RFC 9112 3.2); an
    empty value is allowed when there is no authority to send."""
    proxy, _ = env
    with Conn(proxy.port) as conn:
        conn.send(b"GET /old-no-host HTTP/1.0\r\n\r\n")
        echo = conn.read_response().json()
    hosts = [v for n, v in echo["headers"] if n.lower() == "host"]
    assert len(hosts) == 1, echo["headers"]


def test_expect_100_continue(env):
    proxy, _ = env
    with Conn(proxy.port) as conn:
        conn.send(b"PUT /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                  b"Content-Length: 10\r\n\r\n")
        interim = conn.read_head(timeout=3)  # the body is not sent until 100 arrives
        assert interim.status == 100, interim
        conn.send(b"0123456789")
        final = conn.read_response()
        assert final.status == 200
        assert final.json()["body_length"] == 10
        # The proxy answered 100 itself; Expect is not forwarded (docs/dataplane.md).
        assert "expect" not in [n.lower() for n, _ in final.json()["headers"]]


def test_expect_100_continue_with_curl(env, tmp_path):
    proxy, _ = env
    data = os.urandom(2 * MiB)
    (tmp_path / "body").write_bytes(data)
    start = time.monotonic()
    status, body = curl("-H", "Expect: 100-continue", "--expect100-timeout", "5",
                        "--data-binary", f"@{tmp_path / 'body'}",
                        f"http://127.0.0.1:{proxy.port}/curl-expect")
    assert status == 200
    assert time.monotonic() - start < 4, "curl had to give up waiting for 100 Continue"
    assert b'"body_sha256": "%s"' % hashlib.sha256(data).hexdigest().encode() in body


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_upload_with_curl(env, tmp_path, framing):
    proxy, _ = env
    data = os.urandom(16 * MiB)
    (tmp_path / "body").write_bytes(data)
    extra = ["-H", "Transfer-Encoding: chunked"] if framing == "chunked" else []
    status, body = curl(*extra, "-H", "Expect:", "--data-binary", f"@{tmp_path / 'body'}",
                        f"http://127.0.0.1:{proxy.port}/up")
    assert status == 200
    assert b'"body_length": %d' % len(data) in body
    assert hashlib.sha256(data).hexdigest().encode() in body


def test_chunk_extensions_and_trailers(env):
    proxy, _ = env
    with Conn(proxy.port) as conn:
        conn.send(b"POST /ext HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
        resp = conn.read_response()
    assert resp.status == 200
    assert resp.json()["body_preview"] == "hello world"


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_upload_is_streamed(env, framing):
    """The backend gets the first MiB while the client still holds the rest."""
    proxy, backend = env
    first, rest = os.urandom(MiB), os.urandom(MiB)
    before = backend.stats()["body_bytes"]
    with Conn(proxy.port) as conn:
        if framing == "chunked":
            conn.send(b"POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"%x\r\n%s\r\n" % (MiB, first))
        else:
            conn.send(b"POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s"
                      % (2 * MiB, first))
        wait_until(lambda: backend.stats()["body_bytes"] - before >= MiB, 5,
                   "the first MiB at the backend")
        conn.send(b"%x\r\n%s\r\n0\r\n\r\n" % (MiB, rest) if framing == "chunked" else rest)
        echo = conn.read_response().json()
    assert echo["body_length"] == 2 * MiB
    assert echo["body_sha256"] == hashlib.sha256(first + rest).hexdigest()


@pytest.mark.parametrize("chunked", [False, True])
def test_download_is_streamed(env, chunked):
    """The backend sends half and waits; the client must get that half first."""
    proxy, backend = env
    size = 8 * MiB
    sha, received = hashlib.sha256(), [0]

    def sink(data):
        if received[0] < size // 2 <= received[0] + len(data):
            wait_until(lambda: backend.stats()["held"] == 1, 5, "the backend to hold")
            backend.release()
        received[0] += len(data)
        sha.update(data)
    with Conn(proxy.port) as conn:
        query = "hold=1&chunked=1" if chunked else "hold=1"
        conn.send(f"GET /bytes/{size}?{query} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
        resp = conn.read_head()
        assert resp.status == 200
        conn.read_body(resp, sink, timeout=10)
    assert received[0] == size
    assert sha.hexdigest() == pattern_sha256(size)


@pytest.mark.parametrize("query", ["", "?chunked=1"])
def test_download_with_curl(env, query):
    proxy, _ = env
    size = 32 * MiB
    status, body = curl(f"http://127.0.0.1:{proxy.port}/bytes/{size}{query}")
    assert status == 200 and len(body) == size
    assert hashlib.sha256(body).hexdigest() == pattern_sha256(size)


def test_pipelined_responses_keep_order_when_the_first_is_slow(env):
    proxy, _ = env
    with Conn(proxy.port) as conn:
        conn.send(b"GET /slow/delay/300 HTTP/1.1\r\nHost: a\r\n\r\n"
                  b"GET /fast1 HTTP/1.1\r\nHost: a\r\n\r\n"
                  b"GET /fast2 HTTP/1.1\r\nHost: a\r\n\r\n")
        targets = [conn.read_response().json()["target"] for _ in range(3)]
    assert targets == ["/slow/delay/300", "/fast1", "/fast2"]


def test_connection_close_request(env):
    proxy, _ = env
    with Conn(proxy.port) as conn:
        resp = conn.request("GET", "/bye", headers=[("Connection", "close")])
        assert resp.status == 200
        assert resp.header("Connection") == "close"
        assert conn.closed_by_peer()


def test_connection_close_after_a_complete_request_does_not_linger(env):
    """Nothing is expected after a complete Connection: close request, so the
    proxy closes its socket at once (as nginx does) rather than half-closing
    and draining the client for up to 2 s: what the client sends next meets a
    closed socket and is answered with a reset."""
    proxy, _ = env

    def send_fails(sock):
        try:
            sock.send(b"x")
        except (BrokenPipeError, ConnectionResetError):
            return True
        return False

    with Conn(proxy.port) as conn:
        conn.send(b"GET /bye HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        assert conn.read_response().status == 200
        assert conn.closed_by_peer()
        wait_until(lambda: send_fails(conn.sock), 1.0, "a reset from the closed proxy socket")


def test_client_half_close_still_gets_the_response(env):
    """A client that announced Connection: close may half-close and still read
    its response (docs/dataplane.md); without it, EOF is an abort (499)."""
    proxy, _ = env
    with Conn(proxy.port) as conn:
        conn.send(b"GET /half/delay/100 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        conn.sock.shutdown(socket.SHUT_WR)
        assert conn.read_response().status == 200


def test_client_eof_without_connection_close_aborts(env):
    proxy, backend = env
    with Conn(proxy.port) as conn:
        conn.send(b"GET /abort/delay/2000 HTTP/1.1\r\nHost: a\r\n\r\n")
        conn.sock.shutdown(socket.SHUT_WR)
        assert conn.closed_by_peer(timeout=1.5), "proxy kept the aborted request"


def test_idle_keepalive_connection_is_closed_after_keepalive_timeout(launch):
    backend = launch.backend()
    proxy = launch.dataplane(single_route_snapshot(backend, settings={"keepaliveTimeout": "1s"}))
    with Conn(proxy.port) as conn:
        assert conn.request("GET", "/idle").status == 200
        start = time.monotonic()
        assert conn.closed_by_peer(timeout=4), "idle connection still open after 4s"
        assert time.monotonic() - start >= 0.8


# An idle connection keeps no parser (docs/benchmarks.md, "Profiling and
# optimisations" item 3): each request after a park starts a fresh one. These
# pin that what the client sees does not change.


def test_requests_after_parking_parse_from_any_split(env):
    """After a response parks the connection, the next request may arrive one
    byte at a time, or preceded by the empty line RFC 9112 2.2 tolerates."""
    proxy, _ = env
    with Conn(proxy.port) as conn:
        assert conn.request("GET", "/first").json()["target"] == "/first"
        for byte in b"GET /second HTTP/1.1\r\nHost: a\r\n\r\n":
            conn.sock.sendall(bytes([byte]))
        assert conn.read_response().json()["target"] == "/second"
        conn.send(b"\r\nGET /third HTTP/1.1\r\nHost: a\r\n\r\n")
        assert conn.read_response().json()["target"] == "/third"
        conn.send(b"POST /fourth HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel")
        conn.send(b"lo")
        echo = conn.read_response().json()
        assert echo["target"] == "/fourth" and echo["body_preview"] == "hello"


def test_keepalive_after_local_replies_then_idle_timeout(launch):
    """A local reply (404 here) sent while the request is still being parsed
    parks the connection too: later requests work, pipelined ones included,
    and the keep-alive timeout still closes it on time."""
    backend = launch.backend()
    proxy = launch.dataplane(single_route_snapshot(backend, hostnames=["known.example"],
                                                   settings={"keepaliveTimeout": "1s"}))
    with Conn(proxy.port) as conn:
        assert conn.request("GET", "/a", host="unknown.example").status == 404
        assert conn.request("GET", "/b", host="known.example").status == 200
        conn.send(b"GET /c HTTP/1.1\r\nHost: unknown.example\r\n\r\n"
                  b"GET /d HTTP/1.1\r\nHost: known.example\r\n\r\n")
        assert conn.read_response().status == 404
        assert conn.read_response().json()["target"] == "/d"
        assert conn.request("GET", "/e", host="unknown.example").status == 404
        start = time.monotonic()
        assert conn.closed_by_peer(timeout=4), "idle connection still open after 4s"
        assert time.monotonic() - start >= 0.8


def test_new_connection_that_stays_silent_is_closed_after_header_timeout(launch):
    backend = launch.backend()
    proxy = launch.dataplane(single_route_snapshot(backend, settings={"clientHeaderTimeout": "1s"}))
    with Conn(proxy.port) as conn:
        start = time.monotonic()
        assert conn.closed_by_peer(timeout=4), "silent connection still open after 4s"
        assert time.monotonic() - start >= 0.8
