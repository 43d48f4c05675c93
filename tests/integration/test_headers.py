"""What reaches the backend: hop-by-hop headers stripped both ways,
end-to-end headers kept in order, and the client-identity headers
(X-Forwarded-*, X-Real-IP) replaced or appended depending on trust."""

import pytest

from harness import header_values as values
from harness import single_route_snapshot
from rawhttp import Conn

SPOOFED = [("X-Forwarded-For", "203.0.113.7"), ("X-Real-IP", "203.0.113.8"),
           ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil.test"),
           ("X-Forwarded-Port", "1")]


@pytest.fixture(scope="module")
def backend(module_launch):
    return module_launch.backend("hdr")


@pytest.fixture(scope="module")
def untrusted(module_launch, backend):
    return module_launch.dataplane(single_route_snapshot(backend))


def echo(proxy, headers, target="/h", host="foo.example.com"):
    with Conn(proxy.port) as conn:
        resp = conn.request("GET", target, host=host, headers=headers)
    assert resp.status == 200, resp
    return resp, resp.json()


def test_request_hop_by_hop_headers_are_stripped(untrusted):
    _, got = echo(untrusted, [
        ("Connection", "keep-alive, X-Hop"), ("X-Hop", "1"), ("Keep-Alive", "timeout=99"),
        ("Proxy-Connection", "keep-alive"), ("TE", "trailers, deflate"),
        ("Upgrade", "h2c"), ("X-E2E", "a"), ("X-E2E", "b")])
    for name in ("X-Hop", "Keep-Alive", "Proxy-Connection", "Upgrade"):
        assert values(got, name) == [], got["headers"]
    assert all("x-hop" not in v.lower() for v in values(got, "Connection")), got["headers"]
    assert values(got, "TE") in ([], ["trailers"]), got["headers"]
    assert values(got, "X-E2E") == ["a", "b"]  # repeated end-to-end headers keep their order
    assert values(got, "Host") == ["foo.example.com"]


def test_response_hop_by_hop_headers_are_stripped(untrusted):
    resp, _ = echo(untrusted, [], target="/h?hdr=Connection:X-Resp-Hop&hdr=X-Resp-Hop:1"
                                         "&hdr=Keep-Alive:timeout=99&hdr=X-Resp-E2E:kept")
    assert resp.header("X-Resp-Hop") is None, resp.headers
    assert "timeout=99" not in resp.header_all("Keep-Alive"), resp.headers
    assert resp.header("X-Resp-E2E") == "kept"


def test_untrusted_peer_forwarding_headers_are_replaced(untrusted):
    _, got = echo(untrusted, SPOOFED)
    assert values(got, "X-Forwarded-For") == ["127.0.0.1"]
    assert values(got, "X-Real-IP") == ["127.0.0.1"]
    assert values(got, "X-Forwarded-Proto") == ["http"]
    assert values(got, "X-Forwarded-Host") == ["foo.example.com"]
    assert values(got, "X-Forwarded-Port") == [str(untrusted.port)]


def test_forwarding_headers_set_without_incoming_ones(untrusted):
    _, got = echo(untrusted, [])
    assert values(got, "X-Forwarded-For") == ["127.0.0.1"]
    assert values(got, "X-Real-IP") == ["127.0.0.1"]
    assert values(got, "X-Forwarded-Proto") == ["http"]
    assert values(got, "X-Forwarded-Host") == ["foo.example.com"]
    assert values(got, "X-Forwarded-Port") == [str(untrusted.port)]


@pytest.fixture(scope="module", params=["flag", "snapshot"])
def trusted(request, module_launch, backend):
    """127.0.0.0/8 trusted through --trusted-proxies or the snapshot's settings."""
    if request.param == "flag":
        return module_launch.dataplane(single_route_snapshot(backend),
                                       trusted_proxies=["127.0.0.0/8", "::1/128"])
    settings = {"trustedProxies": ["127.0.0.0/8"]}
    return module_launch.dataplane(single_route_snapshot(backend, settings=settings))


def test_trusted_peer_forwarding_headers_are_appended_and_kept(trusted):
    _, got = echo(trusted, SPOOFED)
    assert values(got, "X-Forwarded-For") == ["203.0.113.7, 127.0.0.1"]
    assert values(got, "X-Real-IP") == ["203.0.113.7"]
    assert values(got, "X-Forwarded-Proto") == ["https"]
    assert values(got, "X-Forwarded-Host") == ["evil.test"]
    assert values(got, "X-Forwarded-Port") == ["1"]


def test_trusted_client_ip_is_rightmost_untrusted_hop(trusted):
    _, got = echo(trusted, [("X-Forwarded-For", "198.51.100.1, 203.0.113.9, 127.0.0.2")])
    assert values(got, "X-Forwarded-For") == ["198.51.100.1, 203.0.113.9, 127.0.0.2, 127.0.0.1"]
    assert values(got, "X-Real-IP") == ["203.0.113.9"]


def test_trusted_multiple_xff_headers_are_one_list(trusted):
    _, got = echo(trusted, [("X-Forwarded-For", "198.51.100.1"),
                            ("X-Forwarded-For", "203.0.113.9")])
    assert [v.replace(" ", "") for v in values(got, "X-Forwarded-For")] == \
        ["198.51.100.1,203.0.113.9,127.0.0.1"]
    assert values(got, "X-Real-IP") == ["203.0.113.9"]


@pytest.mark.parametrize("xff,client", [
    ("garbage, 203.0.113.9", "203.0.113.9"),
    ("203.0.113.9, garbage", "127.0.0.1"),  # the walk stops at the unparseable entry
    ("2001:db8::1", "2001:db8::1"),
])
def test_trusted_client_ip_with_odd_entries(trusted, xff, client):
    _, got = echo(trusted, [("X-Forwarded-For", xff)])
    assert values(got, "X-Real-IP") == [client]
