"""Request smuggling and hostile input die at the codec: the proxy answers
400 (431 for header floods, 414 for an over-long request line), closes the
connection, and the backend never sees a request it could disagree about."""

import re
import time

import pytest

from harness import single_route_snapshot
from rawhttp import Conn, exchange

SETTINGS = {"clientHeaderTimeout": "1s", "clientBodyTimeout": "1s", "maxRequestHeaders": 20,
            "maxRequestHeaderBytes": 8192, "maxRequestLineBytes": 4096}
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"


@pytest.fixture(scope="module")
def env(module_launch):
    backend = module_launch.backend("victim")
    proxy = module_launch.dataplane(single_route_snapshot(backend, settings=SETTINGS))
    return proxy, backend


def head(*lines):
    return b"".join(line + b"\r\n" for line in lines) + b"\r\n"


GET = b"GET / HTTP/1.1"
POST = b"POST / HTTP/1.1"
HOST = b"Host: a"

# (id, bytes sent, expected status or statuses); none may reach the backend.
REJECTED_BEFORE_UPSTREAM = [
    ("cl-and-te", head(POST, HOST, b"Content-Length: 5", b"Transfer-Encoding: chunked")
     + b"0\r\n\r\n" + SMUGGLED, 400),
    ("te-and-cl", head(POST, HOST, b"Transfer-Encoding: chunked", b"Content-Length: 40")
     + b"0\r\n\r\n" + SMUGGLED, 400),
    ("two-differing-cl", head(POST, HOST, b"Content-Length: 5", b"Content-Length: 6")
     + b"hello!", 400),
    ("cl-list-differing", head(POST, HOST, b"Content-Length: 5, 6") + b"hello!", 400),
    ("cl-negative", head(POST, HOST, b"Content-Length: -1"), 400),
    ("cl-not-a-number", head(POST, HOST, b"Content-Length: 1x"), 400),
    ("te-not-chunked", head(POST, HOST, b"Transfer-Encoding: gzip") + SMUGGLED, 400),
    ("te-chunked-not-last", head(POST, HOST, b"Transfer-Encoding: chunked, gzip") + SMUGGLED,
     400),
    ("te-chunked-twice", head(POST, HOST, b"Transfer-Encoding: chunked",
                              b"Transfer-Encoding: chunked") + b"0\r\n\r\n" + SMUGGLED, 400),
    ("cl-overflow", head(POST, HOST, b"Content-Length: 99999999999999999999999"), (400, 413)),
    ("empty-header-name", head(GET, HOST, b": v"), 400),
    ("host-with-space", head(GET, b"Host: a b"), 400),
    ("host-with-slash", head(GET, b"Host: a/b"), 400),
    ("origin-form-without-slash", head(b"GET foo HTTP/1.1", HOST), 400),
    ("te-xchunked", head(POST, HOST, b"Transfer-Encoding: xchunked") + SMUGGLED, 400),
    ("obs-fold", head(GET, HOST, b"X-A: 1", b"  continued"), 400),
    ("space-before-colon", head(GET, HOST, b"X-A : 1"), 400),
    ("space-before-colon-host", head(GET, b"Host : a"), 400),
    ("nul-in-value", head(GET, HOST, b"X-A: a\x00b"), 400),
    ("cr-in-value", head(GET, HOST, b"X-A: a\rb"), 400),
    ("ctl-in-value", head(GET, HOST, b"X-A: a\x01b"), 400),
    ("ctl-in-name", head(GET, HOST, b"X\x01A: b"), 400),
    ("del-in-name", head(GET, HOST, b"X\x7fA: b"), 400),
    ("nul-in-name", head(GET, HOST, b"X\x00A: b"), 400),
    ("bare-lf", b"GET / HTTP/1.1\nHost: a\n\n", 400),
    ("bare-lf-in-headers", b"GET / HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n", 400),
    ("bare-cr", b"GET / HTTP/1.1\r\nHost: a\rX-A: b\r\n\r\n", 400),
    ("missing-host", head(GET, b"X-A: b"), 400),
    ("two-hosts", head(GET, HOST, b"Host: b"), 400),
    ("request-line-extra-word", head(b"GET / HTTP/1.1 x", HOST), 400),
    ("request-line-no-version", head(b"GET /", HOST), (400, 505)),  # HTTP/0.9
    ("method-not-a-token", head(b"GE(T / HTTP/1.1", HOST), 400),
    ("ctl-in-target", head(b"GET /a\x01b HTTP/1.1", HOST), 400),
    ("two-equal-cl", head(POST, HOST, b"Content-Length: 5", b"Content-Length: 5") + b"hello",
     400),  # docs/dataplane.md: rejected even when equal
    ("fragment-in-target", head(b"GET /a#frag HTTP/1.1", HOST), 400),
    ("http-1.2", head(b"GET / HTTP/1.2", HOST), 505),
    ("http-2.0", head(b"GET / HTTP/2.0", HOST), 505),
    ("connect", head(b"CONNECT a:443 HTTP/1.1", b"Host: a:443"), (400, 405)),
    ("trace", head(b"TRACE / HTTP/1.1", HOST), 405),
    ("expect-other", head(POST, HOST, b"Expect: 200-ok", b"Content-Length: 1") + b"x", 417),
    ("too-many-headers", head(GET, HOST, *[b"X-N%d: v" % i for i in range(40)]), 431),
    ("header-too-large", head(GET, HOST, b"X-Big: " + b"v" * 9000), 431),
    ("request-line-too-long", head(b"GET /" + b"a" * 5000 + b" HTTP/1.1", HOST), 414),
]


@pytest.mark.parametrize("data,expected", [c[1:] for c in REJECTED_BEFORE_UPSTREAM],
                         ids=[c[0] for c in REJECTED_BEFORE_UPSTREAM])
def test_rejected_before_upstream(env, data, expected):
    proxy, backend = env
    before = backend.stats()["requests"]
    resp, closed = exchange(proxy.port, data)
    assert resp is not None, "connection closed without a response"
    assert resp.status in (expected if isinstance(expected, tuple) else (expected,)), resp
    assert resp.header("X-Backend-Name") is None
    assert closed, "connection left open after a rejected request"
    assert backend.stats()["requests"] == before, backend.stats()["recent"]


# Bodies are streamed, so a request may reach the backend before its body
# turns out to be malformed; the proxy must still answer 400 and close, and
# nothing after the bad chunk may be taken as a request.
BAD_BODIES = [
    ("chunk-size-not-hex", b"zz\r\nhello\r\n0\r\n\r\n"),
    ("chunk-size-overflow", b"fffffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
    ("chunk-size-negative", b"-5\r\nhello\r\n0\r\n\r\n"),
    ("chunk-data-too-long", b"3\r\nhello\r\n0\r\n\r\n"),
    ("chunk-bare-lf", b"5\nhello\n0\n\n"),
]


@pytest.mark.parametrize("body", [c[1] for c in BAD_BODIES], ids=[c[0] for c in BAD_BODIES])
def test_bad_chunked_body(env, body):
    proxy, backend = env
    data = head(POST, HOST, b"Transfer-Encoding: chunked") + body + SMUGGLED
    resp, closed = exchange(proxy.port, data)
    assert resp is not None, "connection closed without a response"
    assert resp.status == 400 and resp.header("X-Backend-Name") is None, resp
    assert closed
    assert "GET /smuggled" not in backend.stats()["recent"]


def test_valid_request_still_served(env):
    resp, _ = exchange(env[0].port, head(GET, HOST, b"Connection: close"))
    assert resp.status == 200


@pytest.mark.timeout_s(20)
def test_slow_header_sender_gets_408(env):
    """One byte every 100 ms never finishes a header block: 408 after ~1s."""
    proxy, backend = env
    start = time.monotonic()
    with Conn(proxy.port) as conn:
        conn.send(b"GET / HTTP/1.1\r\nHost: a\r\n")
        trickle = iter(b"X-Slow: " + b"s" * 1000)
        # Each readable() wait doubles as the pause between two bytes.
        while not conn.readable(0.1) and time.monotonic() - start < 5:
            conn.send(bytes([next(trickle)]))
        elapsed = time.monotonic() - start
        resp = conn.read_response()
        assert resp.status == 408, resp
        assert 0.8 <= elapsed <= 3, f"408 after {elapsed:.2f}s for a 1s header timeout"
        assert conn.closed_by_peer()


@pytest.mark.timeout_s(20)
def test_slow_body_sender_gets_408(env):
    """A body that stops arriving: 408 (no response started yet) and close after ~1s."""
    proxy, backend = env
    with Conn(proxy.port) as conn:
        conn.send(head(POST, HOST, b"Content-Length: 10") + b"12345")
        start = time.monotonic()
        resp = conn.read_response(timeout=5)
        elapsed = time.monotonic() - start
        assert resp.status == 408 and resp.header("X-Backend-Name") is None, resp
        assert 0.8 <= elapsed <= 3, f"408 after {elapsed:.2f}s for a 1s body timeout"
        assert conn.closed_by_peer()


def test_header_count_at_the_limit_passes(env):
    """maxRequestHeaders is 20: Host + 19 more is fine, one more is 431 (above)."""
    resp, _ = exchange(env[0].port, head(GET, HOST, *[b"X-N%d: v" % i for i in range(19)]))
    assert resp.status == 200, resp
    resp, _ = exchange(env[0].port, head(GET, HOST, *[b"X-N%d: v" % i for i in range(20)]))
    assert resp.status == 431, resp


def test_nothing_after_connection_close_is_served(env):
    proxy, backend = env
    with Conn(proxy.port) as conn:
        conn.send(head(GET, HOST, b"Connection: close") + SMUGGLED)
        assert conn.read_response().status == 200
        assert conn.closed_by_peer()
    assert "GET /smuggled" not in backend.stats()["recent"]


def protocol_errors(proxy):
    text = proxy.metrics()
    return {code: float(v) for code, v in
            re.findall(r'^portico_protocol_errors_total\{code="(\w+)"\} (\S+)$', text, re.M)}


@pytest.mark.parametrize("data,code", [(head(GET, b"X-A: no host"), "400"),
                                       (head(b"TRACE / HTTP/1.1", HOST), "405"),
                                       (head(b"GET / HTTP/2.0", HOST), "505")],
                         ids=["400", "405", "505"])
def test_rejections_are_counted(env, data, code):
    before = protocol_errors(env[0]).get(code, 0)
    exchange(env[0].port, data)
    assert protocol_errors(env[0]).get(code, 0) == before + 1
