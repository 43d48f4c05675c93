"""Route actions other than a single cluster (redirects, direct responses,
weighted clusters, the default action), regex paths, load balancing across
endpoints, and the body-size, Via and upstream-idle settings."""

import collections

import pytest

from harness import route, single_route_snapshot, snapshot, vhost, wait_until
from rawhttp import Conn


def action_route(name, path, action, match="TYPE_PREFIX"):
    return {"name": name, "match": {"type": match, "path": path}, "action": action}


@pytest.fixture(scope="module")
def env(module_launch):
    b = {n: module_launch.backend(n) for n in ("a", "b", "re", "fallback")}
    routes = [
        route("root", "/", "a"),
        action_route("to-https", "/https", {"redirect": {"scheme": "https"}}),
        action_route("moved", "/moved", {"redirect": {"host": "new.example.com", "path": "/new",
                                                      "code": 302, "stripQuery": True}}),
        action_route("port", "/port", {"redirect": {"scheme": "https", "port": 8443,
                                                    "code": 307}}),
        action_route("teapot", "/teapot", {"directResponse": {
            "status": 418, "body": "short and stout", "contentType": "text/plain"}}),
        action_route("split", "/split", {"weightedClusters": {"clusters": [
            {"cluster": "a", "weight": 3}, {"cluster": "b", "weight": 1}]}}),
        route("rr", "/rr", "rr"),
        route("weighted-eps", "/wep", "wep"),
    ]
    clusters = {
        "a": ({}, [b["a"].endpoint()]), "b": ({}, [b["b"].endpoint()]),
        "re": ({}, [b["re"].endpoint()]), "fallback": ({}, [b["fallback"].endpoint()]),
        "rr": ({}, [b["a"].endpoint(), b["b"].endpoint()]),
        "wep": ({"lbPolicy": "LB_POLICY_ROUND_ROBIN"},
                [b["a"].endpoint(weight=3), b["b"].endpoint(weight=1)]),
    }
    # Regex routes are consulted after Exact and Prefix ones: they get their own host.
    regex_routes = [route("regex", "/re/[0-9]+", "re", "TYPE_REGEX"),
                    route("other", "/other", "a")]
    snap = snapshot([vhost("vh", ["r.example.com"], routes),
                     vhost("re", ["re.example.com"], regex_routes)], clusters)
    snap["defaultAction"] = {"cluster": "fallback"}
    return module_launch.dataplane(snap)


def get(proxy, target, host="r.example.com"):
    with Conn(proxy.port) as conn:
        return conn.request("GET", target, host=host)


@pytest.mark.parametrize("target,code,location", [
    ("/https/a?b=1", 301, "https://r.example.com/https/a?b=1"),
    ("/moved/x?q=1", 302, "http://new.example.com/new"),
    ("/port/p?q=1", 307, "https://r.example.com:8443/port/p?q=1"),
])
def test_redirect(env, target, code, location):
    resp = get(env, target)
    assert resp.status == code, resp
    assert resp.header("Location") == location


def test_direct_response(env):
    resp = get(env, "/teapot")
    assert resp.status == 418
    assert resp.body == b"short and stout"
    assert resp.header("Content-Type").startswith("text/plain")


@pytest.mark.parametrize("target,backend", [
    ("/re/12", "re"), ("/re/12/x", "re"), ("/other/re/1", "a"),
    ("/re/ab", "fallback"), ("/x/re/12", "fallback")])  # no route: the default action
def test_regex_route_is_anchored_at_the_start(env, target, backend):
    assert get(env, target, host="re.example.com").json()["name"] == backend


def test_default_action_takes_unmatched_hosts(env):
    resp = get(env, "/anything", host="unknown.test")
    assert resp.status == 200 and resp.json()["name"] == "fallback"


def spread(proxy, target, n=400):
    counts = collections.Counter()
    for _ in range(n // 20):  # several connections: both workers take part
        with Conn(proxy.port) as conn:
            for _ in range(20):
                counts[conn.request("GET", target, host="r.example.com").json()["name"]] += 1
    return counts


def test_weighted_clusters_split_by_weight(env):
    counts = spread(env, "/split")
    assert 240 <= counts["a"] <= 360 and counts["a"] + counts["b"] == 400, counts


def test_round_robin_spreads_evenly(env):
    counts = spread(env, "/rr")
    assert 170 <= counts["a"] <= 230 and counts["a"] + counts["b"] == 400, counts


def test_endpoint_weights(env):
    counts = spread(env, "/wep")
    assert 260 <= counts["a"] <= 340 and counts["a"] + counts["b"] == 400, counts


@pytest.fixture(scope="module")
def limited(module_launch):
    backend = module_launch.backend("limited")
    settings = {"maxRequestBodyBytes": "1000", "addViaHeader": True}
    proxy = module_launch.dataplane(single_route_snapshot(
        backend, settings=settings, cluster_opts={"idleTimeout": "0.3s"}))
    return proxy, backend


def test_body_at_the_limit_passes(limited):
    with Conn(limited[0].port) as conn:
        resp = conn.request("POST", "/ok", body=b"x" * 1000)
    assert resp.status == 200 and resp.json()["body_length"] == 1000


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_over_the_limit_is_413(limited, chunked):
    proxy, backend = limited
    before = backend.stats()["body_bytes"]
    with Conn(proxy.port) as conn:
        if chunked:
            conn.send(b"POST /big HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"7d0\r\n" + b"x" * 2000 + b"\r\n0\r\n\r\n")
        else:
            conn.send(b"POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n"
                      + b"x" * 2000)
        try:
            resp = conn.read_response()
        except EOFError:
            resp = None  # a chunked body may be cut after its head went upstream
        assert resp is None or (resp.status == 413 and resp.header("X-Backend-Name") is None), \
            resp
        if not chunked:
            assert resp is not None, "no 413 for a declared over-limit Content-Length"
    assert backend.stats()["body_bytes"] - before <= 1000


def test_via_header_added_both_ways(limited):
    with Conn(limited[0].port) as conn:
        resp = conn.request("GET", "/via")
    vias = [v for n, v in resp.json()["headers"] if n.lower() == "via"]
    assert vias == ["1.1 portico"], resp.json()["headers"]
    assert resp.header_all("Via") == ["1.1 portico"], resp.headers


def test_idle_upstream_connections_expire(limited):
    proxy, backend = limited
    with Conn(proxy.port) as conn:
        assert conn.request("GET", "/idle").status == 200
    # 1: the /__stats request's own connection.
    wait_until(lambda: backend.stats()["open_connections"] == 1, 5,
               "the proxy to close its idle upstream connection")
