"""External authentication (auth-url) through the real data plane, against a
real auth service (Python's http.server on loopback): an allow copies the
auth-response-headers upstream, 401 and 403 reach the client (401 with the
service's WWW-Authenticate, or the auth-signin redirect with rd), cached
allows skip the subrequest, an unreachable auth service gives 500, and a
request body waits for the verdict and still reaches the backend, over
HTTP/1.1 and HTTP/2."""

import hashlib
import http.client
import json
import os
import socket
import subprocess
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from controller_harness import parse_metrics
from harness import header_values, route, snapshot, vhost


class AuthService:
    """Decides by the Authorization header: "Bearer good" -> 200 with X-User,
    "Bearer forbidden" -> 403, "Bearer broken" -> 404 (not an auth answer),
    anything else -> 401 with a Basic challenge. Records what it received."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the data plane's pool expects

            def do_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with service.lock:
                    service.requests.append({"method": self.command, "path": self.path,
                                             "headers": {k.lower(): v for k, v in self.headers.items()},
                                             "body": body})
                auth = self.headers.get("Authorization", "")
                if auth == "Bearer good":
                    self.send_response(200)
                    self.send_header("X-User", "alice")
                    self.send_header("X-Unlisted", "not copied")
                elif auth == "Bearer forbidden":
                    self.send_response(403)
                elif auth == "Bearer broken":
                    self.send_response(404)
                else:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="portico-test"')
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"no")

            do_GET = do_POST = do_HEAD = do_any

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self):
        with self.lock:
            return len(self.requests)

    def last(self):
        with self.lock:
            return self.requests[-1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return port


def auth_route(name, cluster="auth", **extra):
    r = route(name, "/", "web")
    r["externalAuth"] = {"cluster": cluster, "host": "auth.internal", "path": "/check?app=1",
                         "responseHeaders": ["x-user"], **extra}
    return r


@pytest.fixture(scope="module")
def auth():
    service = AuthService()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def proxy(module_launch, auth):
    backend = module_launch.backend("web")
    signin = "https://login.test/start?rd=$pass_access_scheme://$http_host$escaped_request_uri"
    vhosts = [
        vhost("plain", ["auth.test"], [auth_route("plain")]),
        vhost("signin", ["signin.test"], [auth_route("signin", signinUrl=signin)]),
        vhost("cache", ["cache.test"], [auth_route(
            "cache", cacheKey=[{"source": "SOURCE_HEADER", "name": "authorization"}],
            cacheDuration="60s")]),
        vhost("down", ["down.test"], [auth_route("down", cluster="down")]),
        vhost("closed", ["closed.test"], [auth_route("closed", denyAll=True)]),
        vhost("open", ["open.test"], [route("open", "/", "web")]),
    ]
    snap = snapshot(vhosts, {
        "web": ({}, [backend.endpoint()]),
        "auth": ({}, [{"address": "127.0.0.1", "port": auth.port, "ready": True}]),
        "down": ({}, [{"address": "127.0.0.1", "port": closed_port(), "ready": True}]),
    })
    return module_launch.dataplane(snap, extra_args=["--h2c"])


def request(proxy, host, path="/", method="GET", headers=None, body=None, conn=None):
    own = conn is None
    if own:
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        resp = conn.getresponse()
        hdrs = {}
        for name, value in resp.getheaders():
            hdrs.setdefault(name.lower(), []).append(value)
        return resp.status, hdrs, resp.read()
    finally:
        if own:
            conn.close()


def test_allow_copies_response_headers_upstream(proxy, auth):
    status, _, body = request(proxy, "auth.test", "/app?x=1",
                              headers={"Authorization": "Bearer good", "X-User": "mallory"})
    assert status == 200, body
    echo = json.loads(body)
    assert header_values(echo, "x-user") == ["alice"]  # the client's own is replaced
    assert header_values(echo, "x-unlisted") == []
    assert header_values(echo, "authorization") == ["Bearer good"]
    sub = auth.last()
    assert sub["method"] == "GET"
    assert sub["path"] == "/check?app=1"
    assert sub["headers"]["host"] == "auth.internal"
    assert sub["headers"]["x-original-url"] == "http://auth.test/app?x=1"
    assert sub["headers"]["x-original-method"] == "GET"
    assert sub["headers"]["x-auth-request-redirect"] == "/app?x=1"
    assert sub["headers"]["x-real-ip"] == "127.0.0.1"
    assert sub["headers"]["x-forwarded-for"] == "127.0.0.1"


def test_unauthorized_gets_the_challenge(proxy, auth):
    status, headers, _ = request(proxy, "auth.test")
    assert status == 401
    assert headers["www-authenticate"] == ['Basic realm="portico-test"']


def rejected(proxy):
    samples = parse_metrics(proxy.metrics())
    return samples.get(("portico_requests_rejected_total", (("policy", "external_auth"),)), 0)


def test_denials_are_counted_allowed_requests_are_not(proxy):
    before = rejected(proxy)
    assert request(proxy, "auth.test")[0] == 401
    assert request(proxy, "auth.test", headers={"Authorization": "Bearer forbidden"})[0] == 403
    assert request(proxy, "closed.test")[0] == 503
    assert request(proxy, "auth.test", headers={"Authorization": "Bearer good"})[0] == 200
    assert request(proxy, "open.test")[0] == 200
    assert rejected(proxy) == before + 3


def test_forbidden_and_other_answers(proxy):
    assert request(proxy, "auth.test", headers={"Authorization": "Bearer forbidden"})[0] == 403
    # Neither 2xx, 401 nor 403: nginx's auth_request answers 500.
    assert request(proxy, "auth.test", headers={"Authorization": "Bearer broken"})[0] == 500


def test_signin_redirect_carries_the_original_url(proxy):
    status, headers, _ = request(proxy, "signin.test", "/deep/page?a=1&b=2")
    assert status == 302
    location = headers["location"][0]
    assert location.startswith("https://login.test/start?rd=http://signin.test%2F")
    rd = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["rd"][0]
    assert rd == "http://signin.test/deep/page?a=1&b=2"
    # An allowed request is not redirected, a forbidden one neither.
    assert request(proxy, "signin.test", headers={"Authorization": "Bearer good"})[0] == 200
    assert request(proxy, "signin.test", headers={"Authorization": "Bearer forbidden"})[0] == 403


def test_cache_hit_skips_the_subrequest(proxy, auth):
    # One connection: one worker, whose cache holds the answer.
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    try:
        before = auth.count()
        token = {"Authorization": "Bearer good"}
        first = request(proxy, "cache.test", "/one", headers=token, conn=conn)
        assert first[0] == 200
        assert auth.count() == before + 1
        second = request(proxy, "cache.test", "/two", headers=token, conn=conn)
        assert second[0] == 200
        assert header_values(json.loads(second[2]), "x-user") == ["alice"]  # cached headers
        assert auth.count() == before + 1
        # Denials are not cached, and another key is another entry.
        assert request(proxy, "cache.test", conn=conn)[0] == 401
        assert request(proxy, "cache.test", conn=conn)[0] == 401
        assert auth.count() == before + 3
    finally:
        conn.close()


def test_auth_service_down_is_500(proxy):
    status, _, _ = request(proxy, "down.test", headers={"Authorization": "Bearer good"})
    assert status == 500


def test_invalid_auth_url_fails_closed(proxy):
    assert request(proxy, "closed.test", headers={"Authorization": "Bearer good"})[0] == 503
    assert request(proxy, "open.test")[0] == 200


def test_post_body_waits_for_auth_and_reaches_the_backend(proxy, auth):
    body = os.urandom(300 * 1024)  # beyond what is buffered before the client is paused
    status, _, answer = request(proxy, "auth.test", "/upload", method="POST", body=body,
                                headers={"Authorization": "Bearer good",
                                         "Content-Type": "application/octet-stream"})
    assert status == 200, answer
    echo = json.loads(answer)
    assert echo["body_length"] == len(body)
    assert echo["body_sha256"] == hashlib.sha256(body).hexdigest()
    sub = auth.last()
    assert sub["method"] == "GET" and sub["body"] == b""
    assert sub["headers"].get("content-length") == "0"
    assert sub["headers"]["x-original-method"] == "POST"
    # Refused: the body never reaches the backend, the client gets the 401.
    assert request(proxy, "auth.test", "/upload", method="POST", body=body)[0] == 401


def test_post_body_over_http2(proxy, auth, tmp_path):
    data = tmp_path / "body.bin"
    payload = os.urandom(200 * 1024)
    data.write_bytes(payload)
    proc = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", "--max-time", "20", "-H", "Host: auth.test",
         "-H", "Authorization: Bearer good", "--data-binary", f"@{data}",
         f"http://127.0.0.1:{proxy.port}/h2upload", "-w", "\n%{http_code} %{http_version}"],
        capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    answer, _, status = proc.stdout.rpartition(b"\n")
    assert status == b"200 2", status
    echo = json.loads(answer)
    assert echo["body_length"] == len(payload)
    assert echo["body_sha256"] == hashlib.sha256(payload).hexdigest()
    assert header_values(echo, "x-user") == ["alice"]
    assert auth.last()["headers"]["x-original-method"] == "POST"
