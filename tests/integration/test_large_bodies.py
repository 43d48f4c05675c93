"""1 GiB through the proxy both ways, with its memory bounded: bodies are
streamed with backpressure, never buffered. Hashes are computed on both
sides as the bytes pass; neither the test nor the backend holds a body."""

import hashlib
import select
import time

import pytest

from harness import PATTERN_PERIOD, pattern_sha256, single_route_snapshot, wait_until
from rawhttp import Conn

MiB = 1 << 20
GiB = 1 << 30
RSS_GROWTH_LIMIT_KB = 200 * 1024
BLOCK = PATTERN_PERIOD * 4097  # 1 MiB of the pattern from any offset


def pattern_at(offset, n):
    """n <= 1 MiB bytes of the backend's pattern starting at offset."""
    return BLOCK[offset % 256:offset % 256 + n]


class RssWatch:
    """Peak resident memory of the proxy, sampled as the transfer progresses."""

    def __init__(self, proxy):
        self.proxy = proxy
        self.base = proxy.rss_kb()
        self.peak = self.base

    def sample(self):
        self.peak = max(self.peak, self.proxy.rss_kb())

    def check(self):
        self.sample()
        growth = self.peak - self.base
        print(f"proxy RSS {self.base // 1024} MiB, peak {self.peak // 1024} MiB")
        assert growth < RSS_GROWTH_LIMIT_KB, f"proxy RSS grew by {growth // 1024} MiB"


@pytest.fixture(scope="module")
def env(module_launch):
    backend = module_launch.backend("bulk")
    proxy = module_launch.dataplane(single_route_snapshot(backend))
    with Conn(proxy.port) as conn:  # warm up the workers before measuring
        for _ in range(10):
            assert conn.request("GET", "/warmup").status == 200
    return proxy, backend


def send_body(conn, total, chunked, rss):
    sha, sent = hashlib.sha256(), 0
    while sent < total:
        piece = pattern_at(sent, min(MiB, total - sent))
        conn.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        sha.update(piece)
        sent += len(piece)
        if sent % (64 * MiB) == 0:
            rss.sample()
    if chunked:
        conn.send(b"0\r\n\r\n")
    return sha.hexdigest()


@pytest.mark.timeout_s(120)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_upload_1gib(env, chunked):
    proxy, _ = env
    rss = RssWatch(proxy)
    with Conn(proxy.port, timeout=60) as conn:
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {GiB}"
        conn.send(f"PUT /upload HTTP/1.1\r\nHost: a\r\n{framing}\r\n\r\n".encode())
        sent_sha = send_body(conn, GiB, chunked, rss)
        echo = conn.read_response(timeout=60).json()
    rss.check()
    assert echo["body_length"] == GiB
    assert echo["body_sha256"] == sent_sha


def read_body_sampling(conn, resp, rss, timeout=60):
    sha, received = hashlib.sha256(), [0]

    def sink(data):
        before = received[0]
        received[0] += len(data)
        sha.update(data)
        if before // (64 * MiB) != received[0] // (64 * MiB):
            rss.sample()
    conn.read_body(resp, sink, timeout=timeout)
    return received[0], sha.hexdigest()


@pytest.mark.timeout_s(120)
@pytest.mark.parametrize("query", ["", "?chunked=1"], ids=["content-length", "chunked"])
def test_download_1gib(env, query):
    proxy, _ = env
    rss = RssWatch(proxy)
    with Conn(proxy.port, timeout=60) as conn:
        conn.send(f"GET /bytes/{GiB}{query} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
        resp = conn.read_head()
        assert resp.status == 200
        received, sha = read_body_sampling(conn, resp, rss)
    rss.check()
    assert received == GiB
    assert sha == pattern_sha256(GiB)


def wait_stable(value, settle, timeout, what):
    """Waits until value() stops changing for `settle` seconds; returns it."""
    last, since = value(), time.monotonic()

    def settled():
        nonlocal last, since
        now = value()
        if now != last:
            last, since = now, time.monotonic()
        return time.monotonic() - since >= settle
    wait_until(settled, timeout, what, interval=0.05)
    return last


@pytest.mark.timeout_s(120)
def test_slow_reader_stalls_the_backend(env):
    """A client that stops reading must stop the backend, not fill the proxy."""
    proxy, backend = env
    rss = RssWatch(proxy)
    start = backend.stats()["bytes_sent"]
    with Conn(proxy.port, timeout=60) as conn:
        conn.send(f"GET /bytes/{GiB} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
        resp = conn.read_head()
        assert resp.status == 200
        stalled_at = wait_stable(lambda: backend.stats()["bytes_sent"], 0.5, 20,
                                 "the backend to stall") - start
        rss.check()
        assert stalled_at < 256 * MiB, f"{stalled_at // MiB} MiB sent to a stalled client"
        received, sha = read_body_sampling(conn, resp, rss)
    rss.check()
    assert received == GiB and sha == pattern_sha256(GiB)


@pytest.mark.timeout_s(120)
def test_stalled_backend_stops_the_uploader(env):
    """A backend that does not read must stop the client, not fill the proxy."""
    proxy, backend = env
    rss = RssWatch(proxy)
    with Conn(proxy.port, timeout=60) as conn:
        conn.send(f"PUT /bytes-in?hold_body=1 HTTP/1.1\r\nHost: a\r\n"
                  f"Content-Length: {GiB}\r\n\r\n".encode())
        wait_until(lambda: backend.stats()["held"] == 1, 10, "the backend to hold the body")
        sha, sent = hashlib.sha256(), 0
        conn.sock.setblocking(False)
        # Push until the socket stays unwritable for a second: backpressure reached us.
        while sent < GiB and select.select([], [conn.sock], [], 1.0)[1]:
            n = conn.sock.send(pattern_at(sent, min(MiB, GiB - sent)))
            sha.update(pattern_at(sent, n))
            sent += n
        rss.check()
        assert sent < 256 * MiB, f"{sent // MiB} MiB accepted while the backend held the body"
        conn.sock.setblocking(True)
        conn.sock.settimeout(60)
        backend.release()
        while sent < GiB:
            piece = pattern_at(sent, min(MiB, GiB - sent))
            conn.send(piece)
            sha.update(piece)
            sent += len(piece)
        echo = conn.read_response(timeout=60).json()
    rss.check()
    assert echo["body_length"] == GiB
    assert echo["body_sha256"] == sha.hexdigest()


@pytest.mark.timeout_s(120)
def test_pipelined_requests_from_a_client_that_does_not_read(env):
    """1000 pipelined 1 MiB downloads, unread: the proxy stops, it does not buffer 1 GiB."""
    proxy, backend = env
    rss = RssWatch(proxy)
    start = backend.stats()["bytes_sent"]
    with Conn(proxy.port, timeout=60) as conn:
        conn.send(b"GET /bytes/1048576 HTTP/1.1\r\nHost: a\r\n\r\n" * 1000)
        stalled_at = wait_stable(lambda: backend.stats()["bytes_sent"], 0.5, 20,
                                 "the backend to stall") - start
        rss.check()
        assert stalled_at < 256 * MiB, f"{stalled_at // MiB} MiB sent to a stalled client"
        for _ in range(1000):
            resp = conn.read_head()
            received, sha = read_body_sampling(conn, resp, rss)
            assert (resp.status, received) == (200, MiB)
    rss.check()
    assert sha == pattern_sha256(MiB)
