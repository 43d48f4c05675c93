"""Header policies through the real data plane (issue 9, headers family): CORS
preflights answered by the proxy without reaching the backend, origin
matching (exact, one-label wildcard, "*"), credentials, the Access-Control-*
headers of actual requests; request-headers and response-headers edits;
hide-headers, hide-backend-identity and server-tokens; over HTTP/1.1 and
HTTP/2. The last test drives the annotations (custom-headers with its
ConfigMap included) through the real controller on the file source."""

import json
import re
import subprocess

import pytest

from controller_harness import (NAMESPACE, ControlledDataplane, Controller, ManifestDir,
                                endpoints, ingress, ingress_class, service,
                                settings_config_map, subdir)
from controller_harness import start as track
from harness import header_values, route, snapshot, vhost, wait_until

APP = "https://app.example"


def request(port, path="/", host="cors.test", method="GET", headers=None, http2=False):
    """One request with curl; returns (status, {lower-case name: [values]}, body bytes)."""
    argv = ["curl", "-sS", "--max-time", "10", "-X", method, "-D", "-", "-o", "-",
            "-H", f"Host: {host}"]
    argv.append("--http2-prior-knowledge" if http2 else "--http1.1")
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(f"http://127.0.0.1:{port}{path}")
    proc = subprocess.run(argv, capture_output=True, timeout=15, check=True)
    head, _, body = proc.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        hdrs.setdefault(name.strip().lower(), []).append(value.strip())
    return status, hdrs, body


def one(hdrs, name):
    values = hdrs.get(name, [])
    assert len(values) == 1, (name, hdrs)
    return values[0]


def preflight(origin, method="PUT"):
    return {"Origin": origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type"}


def cors_route(name, path, origins, credentials, **extra):
    r = route(name, path, "web")
    r["cors"] = {"allowOrigins": origins, "allowMethods": ["GET", "PUT", "POST"],
                 "allowHeaders": ["Content-Type", "Authorization"],
                 "exposeHeaders": ["X-Total-Count"], "allowCredentials": credentials,
                 "maxAgeSeconds": 600, **extra}
    return r


def op(kind, name, value=""):
    return {"kind": kind, "name": name, "value": value}


@pytest.fixture(scope="module")
def backend(module_launch):
    return module_launch.backend("web")


@pytest.fixture(scope="module")
def proxy(module_launch, backend):
    edits = route("edits", "/", "web")
    edits["requestHeaders"] = {"ops": [op("KIND_SET", "x-tenant", "blue"),
                                       op("KIND_ADD", "x-trace", "portico"),
                                       op("KIND_REMOVE", "x-debug")]}
    edits["responseHeaders"] = {"ops": [op("KIND_SET", "x-set", "new"),
                                        op("KIND_ADD", "x-added", "1"),
                                        op("KIND_REMOVE", "x-remove")]}
    snap = snapshot(
        [vhost("cors", ["cors.test"],
               [cors_route("cors", "/", [APP, "https://*.example.com"], True)]),
         vhost("star", ["star.test"], [cors_route("star", "/", ["*"], False)]),
         vhost("edit", ["edit.test"], [edits])],
        {"web": ({}, [backend.endpoint()])},
        settings={"hideHeaders": ["x-aspnet-version"], "hideBackendIdentity": True,
                  "serverTokens": True})
    return module_launch.dataplane(snap, extra_args=["--h2c"])  # HTTP/2 with prior knowledge


def backend_requests(backend):
    return backend.stats()["requests"]


@pytest.mark.parametrize("http2", [False, True])
def test_preflight_is_answered_by_the_proxy(proxy, backend, http2):
    before = backend_requests(backend)
    status, hdrs, body = request(proxy.port, "/api", method="OPTIONS",
                                 headers=preflight("https://shop.example.com"), http2=http2)
    assert status == 204 and body == b""
    assert one(hdrs, "access-control-allow-origin") == "https://shop.example.com"
    assert one(hdrs, "access-control-allow-credentials") == "true"
    assert one(hdrs, "access-control-allow-methods") == "GET, PUT, POST"
    assert one(hdrs, "access-control-allow-headers") == "Content-Type, Authorization"
    assert one(hdrs, "access-control-max-age") == "600"
    assert one(hdrs, "vary") == "Origin"
    assert one(hdrs, "server") == "portico"  # server-tokens: Portico's own answer
    assert "content-length" not in hdrs or hdrs["content-length"] == ["0"]
    assert backend_requests(backend) == before  # (the stats requests do not count)


def test_preflight_from_another_origin_is_proxied_without_cors_headers(proxy, backend):
    before = backend_requests(backend)
    status, hdrs, body = request(proxy.port, "/api?hdr=Access-Control-Allow-Origin:*",
                                 method="OPTIONS", headers=preflight("https://evil.test"))
    assert status == 200 and json.loads(body)["method"] == "OPTIONS"
    assert backend_requests(backend) == before + 1
    # The route owns the Access-Control-* headers: the backend's "*" is dropped.
    assert not [h for h in hdrs if h.startswith("access-control-")], hdrs


@pytest.mark.parametrize("http2", [False, True])
@pytest.mark.parametrize("origin", [APP, "https://shop.example.com"])
def test_actual_request_from_an_allowed_origin(proxy, origin, http2):
    status, hdrs, body = request(proxy.port, "/data?hdr=Vary:Accept-Encoding",
                                 headers={"Origin": origin}, http2=http2)
    assert status == 200
    assert one(hdrs, "access-control-allow-origin") == origin
    assert one(hdrs, "access-control-allow-credentials") == "true"
    assert one(hdrs, "access-control-expose-headers") == "X-Total-Count"
    assert "access-control-allow-methods" not in hdrs  # preflight-only headers
    assert hdrs["vary"] == ["Accept-Encoding", "Origin"]


@pytest.mark.parametrize("origin", ["https://example.com", "https://a.b.example.com",
                                    "http://shop.example.com", "https://app.example.evil",
                                    "null"])
def test_actual_request_from_another_origin_gets_no_cors_headers(proxy, origin):
    status, hdrs, _ = request(proxy.port, "/data?hdr=Access-Control-Allow-Credentials:true",
                              headers={"Origin": origin})
    assert status == 200
    assert not [h for h in hdrs if h.startswith("access-control-")], hdrs
    assert one(hdrs, "vary") == "Origin"


def test_star_without_credentials_says_star(proxy):
    status, hdrs, _ = request(proxy.port, host="star.test", headers={"Origin": "https://x.test"})
    assert status == 200
    assert one(hdrs, "access-control-allow-origin") == "*"
    assert "access-control-allow-credentials" not in hdrs
    status, hdrs, _ = request(proxy.port, host="star.test", method="OPTIONS",
                              headers=preflight("https://x.test"))
    assert status == 204 and one(hdrs, "access-control-allow-origin") == "*"


@pytest.mark.parametrize("http2", [False, True])
def test_request_headers_are_edited_before_the_backend_sees_them(proxy, http2):
    status, _, body = request(proxy.port, host="edit.test", http2=http2,
                              headers={"X-Tenant": "red", "X-Trace": "client",
                                       "X-Debug": "1"})
    assert status == 200
    echo = json.loads(body)
    assert header_values(echo, "x-tenant") == ["blue"]
    assert header_values(echo, "x-trace") == ["client", "portico"]
    assert header_values(echo, "x-debug") == []


@pytest.mark.parametrize("http2", [False, True])
def test_response_headers_set_add_remove_and_hidden(proxy, http2):
    query = "&".join(f"hdr={h}" for h in ["X-Set:old", "X-Remove:1", "X-Added:0",
                                          "Server:gunicorn/20", "X-Powered-By:PHP/8",
                                          "X-AspNet-Version:4.0", "X-Kept:yes"])
    status, hdrs, _ = request(proxy.port, f"/?{query}", host="edit.test", http2=http2)
    assert status == 200
    assert one(hdrs, "x-set") == "new"
    assert hdrs["x-added"] == ["0", "1"]
    assert "x-remove" not in hdrs
    # hide-headers, and hide-backend-identity's Server and X-Powered-By; a
    # proxied response keeps no Server at all (server-tokens names only
    # Portico's own answers).
    for hidden in ("x-aspnet-version", "server", "x-powered-by"):
        assert hidden not in hdrs, hdrs
    assert one(hdrs, "x-kept") == "yes"


def test_local_replies_carry_the_server_token(proxy):
    status, hdrs, _ = request(proxy.port, host="unknown.test")
    assert status == 404
    assert one(hdrs, "server") == "portico"


# --- annotations through the real controller ---------------------------------------

@pytest.mark.timeout_s(90)
def test_annotations_and_custom_headers_through_the_controller(launch):
    echo = launch.backend("echo")
    nginx = "nginx.ingress.kubernetes.io/"
    manifests = ManifestDir(launch.tmp_dir / "manifests")
    manifests.write("00-base.yaml", [
        ingress_class(), service("echo"), endpoints("echo", [echo]),
        settings_config_map("portico-settings", {"hide-backend-identity": "true",
                                                 "hide-headers": "X-Runtime"}),
        settings_config_map("security-headers", {"X-Frame-Options": "DENY",
                                                 "Referrer-Policy": "no-referrer"})])
    manifests.write("10-ingresses.yaml", [
        ingress("cors", "cors.test", [("/", "echo", 80)],
                annotations={nginx + "enable-cors": "true",
                             nginx + "cors-allow-origin": "https://*.example.com",
                             nginx + "cors-allow-credentials": "false"}),
        ingress("edits", "edits.test", [("/", "echo", 80)],
                annotations={"portico.dev/request-headers": "set X-Tenant: blue\n",
                             "portico.dev/response-headers": "add X-Served-By: portico\n",
                             nginx + "custom-headers": f"{NAMESPACE}/security-headers"}),
        ingress("broken", "broken.test", [("/", "echo", 80)],
                annotations={"portico.dev/response-headers": "set X-A: 1\nset Host: b\n",
                             "portico.dev/request-headers": "set X-Tenant: green\n"})])
    controller = track(launch, lambda: Controller(
        subdir(launch, "controller"), manifests.path,
        extra_args=[f"--settings_config_map={NAMESPACE}/portico-settings"]))
    dp = track(launch, lambda: ControlledDataplane(subdir(launch, "dp"), [controller.address],
                                                   "dp", workers=2))
    wait_until(lambda: request(dp.port, host="broken.test")[0] == 200, 20,
               "the routes to be served")
    assert re.search(r"InvalidAnnotation: annotation portico.dev/response-headers is invalid "
                     r"\(line 2", controller.stderr()), controller.stderr()[-3000:]

    before = echo.stats()["requests"]
    status, hdrs, _ = request(dp.port, host="cors.test", method="OPTIONS",
                              headers=preflight("https://shop.example.com"))
    assert status == 204
    assert one(hdrs, "access-control-allow-origin") == "https://shop.example.com"
    assert "access-control-allow-credentials" not in hdrs
    assert one(hdrs, "access-control-allow-methods") == "GET, PUT, POST, DELETE, PATCH, OPTIONS"
    assert one(hdrs, "access-control-max-age") == "1728000"
    assert echo.stats()["requests"] == before
    status, hdrs, _ = request(dp.port, host="cors.test", headers={"Origin": "https://x.test"})
    assert status == 200 and "access-control-allow-origin" not in hdrs

    status, hdrs, body = request(dp.port, "/?hdr=Server:gunicorn&hdr=X-Runtime:0.1",
                                 host="edits.test", headers={"X-Tenant": "red"})
    assert status == 200
    assert header_values(json.loads(body), "x-tenant") == ["blue"]
    assert one(hdrs, "x-frame-options") == "DENY"
    assert one(hdrs, "referrer-policy") == "no-referrer"
    assert one(hdrs, "x-served-by") == "portico"
    assert "server" not in hdrs and "x-runtime" not in hdrs

    # The invalid response-headers is ignored; the valid request-headers still applies.
    status, hdrs, body = request(dp.port, host="broken.test")
    assert status == 200 and "x-a" not in hdrs
    assert header_values(json.loads(body), "x-tenant") == ["green"]
