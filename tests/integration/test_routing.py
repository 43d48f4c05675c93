"""Routing by host (exact, one-label wildcard) and path (Exact, Prefix by
element, longest match), driven with curl. Each cluster has its own backend,
so the backend's name says which route matched."""

import json

import pytest

from harness import curl, route, snapshot, vhost
from rawhttp import Conn

CLUSTERS = ["foo", "api", "v2", "exact", "eq_exact", "eq_prefix", "wild", "bar"]


@pytest.fixture(scope="module")
def proxy(module_launch):
    backends = {name: module_launch.backend(name) for name in CLUSTERS}
    vhosts = [
        vhost("foo", ["foo.example.com"], [
            route("root", "/", "foo"),
            route("api", "/api", "api"),
            route("v2", "/api/v2/", "v2"),  # trailing slash ignored
            route("exact", "/exact", "exact", "TYPE_EXACT"),
            route("eq-exact", "/eq", "eq_exact", "TYPE_EXACT"),
            route("eq-prefix", "/eq", "eq_prefix"),
        ]),
        vhost("wild", ["*.example.com"], [route("wild", "/", "wild")]),
        vhost("bar", ["bar.test"], [route("only", "/only", "bar", "TYPE_EXACT")]),
    ]
    clusters = {name: ({}, [b.endpoint()]) for name, b in backends.items()}
    return module_launch.dataplane(snapshot(vhosts, clusters))


def fetch(proxy, host, path):
    status, body = curl("-H", f"Host: {host}", f"http://127.0.0.1:{proxy.port}{path}")
    return status, body


@pytest.mark.parametrize("host,path,backend", [
    ("foo.example.com", "/", "foo"),
    ("foo.example.com", "/anything/deep", "foo"),
    ("foo.example.com", "/api", "api"),
    ("foo.example.com", "/api/", "api"),
    ("foo.example.com", "/api/x/y", "api"),
    ("foo.example.com", "/api?q=1", "api"),
    ("foo.example.com", "/apix", "foo"),  # prefixes match whole elements
    ("foo.example.com", "/api/v2", "v2"),
    ("foo.example.com", "/api/v2/z", "v2"),  # longest prefix wins
    ("foo.example.com", "/api/v22", "api"),
    ("foo.example.com", "/exact", "exact"),
    ("foo.example.com", "/exact?q=1", "exact"),  # the query is not part of the path
    ("foo.example.com", "/exact/", "foo"),
    ("foo.example.com", "/exact/x", "foo"),
    ("foo.example.com", "/eq", "eq_exact"),  # Exact beats Prefix on equal length
    ("foo.example.com", "/eq/x", "eq_prefix"),
    ("foo.example.com:8080", "/api", "api"),  # the port is not part of the host
    ("FOO.Example.COM", "/api", "api"),  # host names are case-insensitive
    ("foo.example.com.", "/api", "api"),  # one trailing dot is stripped
    ("a.example.com", "/", "wild"),
    ("b.example.com", "/api", "wild"),  # routes belong to their virtual host
    ("bar.test", "/only", "bar"),
])
def test_routed(proxy, host, path, backend):
    status, body = fetch(proxy, host, path)
    assert status == 200, body
    echo = json.loads(body)
    assert echo["name"] == backend
    assert echo["target"] == path  # the request target is forwarded unchanged


@pytest.mark.parametrize("target,backend,forwarded", [
    ("/api/../exact", "exact", "/exact"),
    ("/api/%2e%2e/exact", "exact", "/exact"),
    ("/api/%2E%2E/exact", "exact", "/exact"),
    ("/../../exact", "exact", "/exact"),
    ("/api/./x", "api", "/api/x"),
    ("//api", "api", "/api"),
    ("/api/../exact?q=/../x", "exact", "/exact?q=/../x"),  # the query is left alone
])
def test_dot_segments_are_resolved_before_routing(proxy, target, backend, forwarded):
    """What was routed is what the backend gets: /api/../exact cannot reach exact via api."""
    with Conn(proxy.port) as conn:
        resp = conn.request("GET", target, host="foo.example.com")
    assert resp.status == 200, resp
    assert (resp.json()["name"], resp.json()["target"]) == (backend, forwarded)


@pytest.mark.parametrize("host,path", [
    ("x.y.example.com", "/"),  # a wildcard covers exactly one label
    ("example.com", "/"),
    ("bar.test", "/"),
    ("bar.test", "/only/x"),
    ("unknown.test", "/"),
    ("foo.example.com.evil", "/"),
])
def test_not_found(proxy, host, path):
    status, body = fetch(proxy, host, path)
    assert status == 404
    assert b'"name"' not in body  # answered by the proxy, not a backend


def test_absolute_form_uses_its_authority(proxy):
    """RFC 9112 3.2.2: an absolute-form target's authority replaces Host."""
    status, body = curl("-H", "Host: unknown.test", "--request-target",
                        "http://bar.test/only", f"http://127.0.0.1:{proxy.port}/")
    assert status == 200, body


def test_body_of_an_unrouted_request_is_not_a_request(proxy):
    """A 404 must still consume the body: it must not be parsed as the next request."""
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: foo.example.com\r\n\r\n"
    with Conn(proxy.port) as conn:
        conn.send(b"POST / HTTP/1.1\r\nHost: unknown.test\r\nContent-Length: %d\r\n\r\n%s"
                  % (len(smuggled), smuggled))
        assert conn.read_response().status == 404
        try:
            nxt = conn.request("GET", "/next", host="foo.example.com")
        except EOFError:
            return  # closing after the 404 is fine too
        assert nxt.status == 200 and nxt.json()["target"] == "/next"


def test_expect_100_continue_on_an_unrouted_request_gets_the_final_status(proxy):
    with Conn(proxy.port) as conn:
        conn.send(b"POST / HTTP/1.1\r\nHost: unknown.test\r\nExpect: 100-continue\r\n"
                  b"Content-Length: 1000\r\n\r\n")
        assert conn.read_response(timeout=3).status == 404
