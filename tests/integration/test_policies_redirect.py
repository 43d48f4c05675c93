"""Redirects, rewrites and refused snippets (issue 9) from Ingress annotations
through the real controller and data plane, over HTTP/1.1 (http.client) and
HTTP/2 (curl, h2c with prior knowledge), to HTTP/1.1 and h2c backends: permanent and temporal redirects with
their code overrides, app-root, from-to-www-redirect both ways, rewrite-target
with capture groups and on a prefix (the query kept), x-forwarded-prefix and
upstream-vhost as the backend sees them, and *-snippet annotations refused
while the rest of the Ingress is served."""

import http.client
import json
import re
import socket
import subprocess
import threading
import types

import h2.config
import h2.connection
import h2.events
import pytest

from controller_harness import (ControlledDataplane, Controller, ManifestDir, endpoints,
                                ingress, ingress_class, service, subdir)
from controller_harness import start as track
from harness import header_values, wait_until

NGINX = "nginx.ingress.kubernetes.io/"


def get_h1(port, host, path):
    """GET over HTTP/1.1; returns (status, headers lower-case -> value, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def get_h2(port, host, path):
    """GET over HTTP/2 (h2c prior knowledge; curl sends Host as :authority)."""
    proc = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", "--max-time", "10", "-i",
         "-H", f"Host: {host}", f"http://127.0.0.1:{port}{path}"],
        capture_output=True, timeout=15)
    assert proc.returncode == 0, proc.stderr
    head, _, body = proc.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/2 "), lines[0]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


CLIENTS = {"http1": get_h1, "http2": get_h2}


class H2cEcho:
    """An h2c backend on loopback (python3-h2): answers every request with the
    JSON list of the header fields it received, pseudo-headers included."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = "127.0.0.1", self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _serve(sock):
        conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=False, header_encoding="utf-8"))
        conn.initiate_connection()
        with sock:
            sock.settimeout(30)
            sock.sendall(conn.data_to_send())
            while True:
                try:
                    data = sock.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.DataReceived):
                        conn.acknowledge_received_data(event.flow_controlled_length,
                                                       event.stream_id)
                    elif isinstance(event, h2.events.RequestReceived):
                        body = json.dumps({"headers": event.headers}).encode()
                        conn.send_headers(event.stream_id, [
                            (":status", "200"), ("content-type", "application/json"),
                            ("content-length", str(len(body)))])
                        conn.send_data(event.stream_id, body, end_stream=True)
                sock.sendall(conn.data_to_send())


@pytest.fixture(scope="module")
def proxy(module_launch):
    launch = module_launch
    echo = launch.backend("echo")
    h2echo = H2cEcho()
    manifests = ManifestDir(launch.tmp_dir / "manifests")
    root = [("/", "echo", 80)]
    manifests.write("00-base.yaml", [
        ingress_class(), service("echo"), endpoints("echo", [echo]), service("h2echo"),
        endpoints("h2echo", [types.SimpleNamespace(host=h2echo.host, port=h2echo.port)])])
    www = ingress("www", "example.org", root, annotations={NGINX + "from-to-www-redirect": "true"})
    www["spec"]["rules"].append({"host": "www.example.net",
                                 "http": www["spec"]["rules"][0]["http"]})
    manifests.write("10-ingresses.yaml", [
        ingress("perm", "perm.test", root, annotations={
            NGINX + "permanent-redirect": "https://new.example.com/landing?from=old"}),
        ingress("perm-code", "perm308.test", root, annotations={
            "portico.dev/permanent-redirect": "http://other.example.com:8080/x",
            "portico.dev/permanent-redirect-code": "308"}),
        ingress("temp", "temp.test", root, annotations={
            NGINX + "temporal-redirect": "https://maint.example.com/"}),
        ingress("temp-code", "temp307.test", root, annotations={
            NGINX + "temporal-redirect": "https://maint.example.com/down",
            NGINX + "temporal-redirect-code": "307"}),
        ingress("bad-redirect", "bad.test", root, annotations={
            NGINX + "permanent-redirect": "https://x.example.com/a b"}),
        ingress("approot", "approot.test", root, annotations={NGINX + "app-root": "/app1"}),
        www,
        ingress("rewrite", "rewrite.test",
                [("/something(/|$)(.*)", "echo", 80, "ImplementationSpecific")],
                annotations={NGINX + "use-regex": "true", NGINX + "rewrite-target": "/$2",
                             NGINX + "x-forwarded-prefix": "/something"}),
        ingress("prefix", "prefix.test", [("/app", "echo", 80)], annotations={
            "portico.dev/rewrite-target": "/", "portico.dev/upstream-vhost": "internal.svc"}),
        ingress("h2-upstream", "h2.test", [("/app", "h2echo", 80)], annotations={
            NGINX + "backend-protocol": "H2C", NGINX + "rewrite-target": "/v1",
            NGINX + "x-forwarded-prefix": "/app", NGINX + "upstream-vhost": "internal.h2"}),
        ingress("snippet", "snippet.test", root, annotations={
            NGINX + "configuration-snippet": 'more_set_headers "X-Evil: 1";',
            NGINX + "server-snippet": "location /admin { return 200; }"}),
    ])
    controller = track(launch, lambda: Controller(subdir(launch, "controller"), manifests.path))
    dp = track(launch, lambda: ControlledDataplane(subdir(launch, "dp"), [controller.address],
                                                   "dp", workers=2, extra_args=["--h2c"]))
    wait_until(lambda: get_h1(dp.port, "snippet.test", "/")[0] == 200, 20,
               "the routes to be served")
    dp.controller = controller
    yield dp
    h2echo.close()


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("host,path,code,location", [
    # permanent-redirect: the URL as given, nothing of the request appended.
    ("perm.test", "/any/path?q=1", 301, "https://new.example.com/landing?from=old"),
    ("perm308.test", "/", 308, "http://other.example.com:8080/x"),
    ("temp.test", "/a?b", 302, "https://maint.example.com/"),
    ("temp307.test", "/", 307, "https://maint.example.com/down"),
    # app-root: exactly "/" only, on the same host (and port), query kept.
    ("approot.test", "/", 302, "http://approot.test/app1"),
    ("approot.test:8080", "/?x=1", 302, "http://approot.test:8080/app1?x=1"),
    # from-to-www-redirect, both ways, path and query kept.
    ("www.example.org", "/p/q?x=1", 308, "http://example.org/p/q?x=1"),
    ("example.net", "/", 308, "http://www.example.net/"),
])
def test_redirects(proxy, client, host, path, code, location):
    status, headers, _ = CLIENTS[client](proxy.port, host, path)
    assert status == code, headers
    assert headers["location"] == location


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("host,path", [
    ("approot.test", "/other"),      # app-root answers "/" only
    ("example.org", "/p"),           # the rule hosts themselves are served
    ("www.example.net", "/"),
    ("bad.test", "/x"),              # an invalid redirect is disabled, the Ingress served
])
def test_served_not_redirected(proxy, client, host, path):
    status, _, body = CLIENTS[client](proxy.port, host, path)
    assert status == 200, body
    assert json.loads(body)["target"] == path


@pytest.mark.parametrize("client", CLIENTS)
def test_rewrite_with_captures_keeps_query_and_sends_prefix(proxy, client):
    status, _, body = CLIENTS[client](proxy.port, "rewrite.test", "/something/new/x?a=1&b=2")
    assert status == 200, body
    echo = json.loads(body)
    assert echo["target"] == "/new/x?a=1&b=2"
    assert header_values(echo, "X-Forwarded-Prefix") == ["/something"]
    assert header_values(echo, "Host") == ["rewrite.test"]
    status, _, body = CLIENTS[client](proxy.port, "rewrite.test", "/something")
    assert status == 200
    assert json.loads(body)["target"] == "/"


@pytest.mark.parametrize("client", CLIENTS)
def test_prefix_rewrite_and_upstream_vhost(proxy, client):
    status, _, body = CLIENTS[client](proxy.port, "prefix.test", "/app/x/y?z=1")
    assert status == 200, body
    echo = json.loads(body)
    assert echo["target"] == "/x/y?z=1"
    assert header_values(echo, "Host") == ["internal.svc"]
    # The client's host still reaches the backend as X-Forwarded-Host.
    assert header_values(echo, "X-Forwarded-Host") == ["prefix.test"]
    assert header_values(echo, "X-Forwarded-Prefix") == []
    status, _, body = CLIENTS[client](proxy.port, "prefix.test", "/app")
    assert status == 200
    assert json.loads(body)["target"] == "/"


def test_snippets_refused_and_the_ingress_served(proxy):
    status, headers, _ = get_h1(proxy.port, "snippet.test", "/")
    assert status == 200
    assert "x-evil" not in headers
    log = proxy.controller.stderr()
    for name in ("configuration-snippet", "server-snippet"):
        assert re.search(rf"SnippetRefused: annotation {NGINX}{name} is refused: Portico has no "
                         r"raw configuration escape hatch", log), log[-3000:]
    assert re.search(r"InvalidAnnotation: annotation nginx.ingress.kubernetes.io/"
                     r"permanent-redirect is not a valid redirect URL", log), log[-3000:]


@pytest.mark.parametrize("client", CLIENTS)
def test_rewrite_to_an_h2c_upstream(proxy, client):
    """Path, :authority and X-Forwarded-Prefix as an HTTP/2 backend receives them."""
    status, _, body = CLIENTS[client](proxy.port, "h2.test", "/app/x?z=1")
    assert status == 200, body
    fields = json.loads(body)["headers"]
    assert [v for n, v in fields if n == ":path"] == ["/v1/x?z=1"]
    assert [v for n, v in fields if n == ":authority"] == ["internal.h2"]
    assert [v for n, v in fields if n == "x-forwarded-prefix"] == ["/app"]
    assert [v for n, v in fields if n == "host"] == []  # HTTP/2 carries it as :authority
