"""HTTPS redirects and HSTS with curl against the real data plane: plain HTTP
to a route with an HTTPS redirect gets 308 (or the route's 301) to
https://<host><target> with the query and --https-redirect-port, IPv6 hosts in
brackets; ACME HTTP-01 challenges are proxied; a trusted proxy's
X-Forwarded-Proto: https counts as HTTPS, an untrusted one's does not;
Strict-Transport-Security comes on TLS responses only (HTTP/1.1 and HTTP/2,
local replies too), the upstream's own wins. Then the real controller on the
file source: TLS hosts redirect by default, ssl-redirect "false" disables it,
force-ssl-redirect redirects a host without TLS, HSTS annotations, a bad value
is reported and falls back, and the ConfigMap's http-redirect-code and hsts
keys apply when the ConfigMap appears."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from controller_harness import (NAMESPACE, ControlledDataplane, Controller, ManifestDir,
                                endpoints, ingress, ingress_class, service,
                                settings_config_map, subdir)
from controller_harness import start as track
from harness import route, snapshot, vhost, wait_until

REDIRECT_PORT = 8443  # --https-redirect-port: what a Service would publish
HSTS_DEFAULT = "max-age=31536000; includeSubDomains"


def make_cert(directory, names):
    """A self-signed ECDSA certificate for `names` (SANs), by the openssl CLI."""
    cert, key = Path(directory) / "cert.pem", Path(directory) / "key.pem"
    san = ",".join(f"DNS:{n}" for n in names)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-subj",
                    f"/CN={names[0]}", "-addext", f"subjectAltName={san}", "-keyout", key,
                    "-out", cert], check=True, capture_output=True, timeout=60)
    return cert.read_text(), key.read_text()


class Reply:
    def __init__(self, status, version, headers, body):
        self.status, self.version, self.headers, self.body = status, version, headers, body

    def header_all(self, name):
        return [v for n, v in self.headers if n == name.lower()]

    def header(self, name):
        values = self.header_all(name)
        assert len(values) <= 1, (name, values)
        return values[0] if values else None

    def __repr__(self):
        return f"<Reply {self.status} HTTP/{self.version} {self.headers} {self.body[:200]!r}>"


def curl(tmp, url, *args, timeout=10):
    """curl without following redirects unless -L is passed; the headers of the
    last response only."""
    head, body = Path(tmp) / "curl.head", Path(tmp) / "curl.body"
    proc = subprocess.run(["curl", "-sS", "--max-time", str(timeout), "-D", head, "-o", body,
                           "-w", "%{http_code} %{http_version}", *map(str, args), url],
                          capture_output=True, text=True, timeout=timeout + 5)
    if proc.returncode != 0:
        raise RuntimeError(f"curl {url} {args} failed ({proc.returncode}): {proc.stderr}")
    status, version = proc.stdout.split()
    blocks = [b for b in head.read_text().replace("\r\n", "\n").split("\n\n") if b.strip()]
    headers = [tuple(part.strip() for part in line.split(":", 1))
               for line in blocks[-1].splitlines()[1:] if ":" in line]
    return Reply(int(status), version, [(n.lower(), v) for n, v in headers], body.read_bytes())


def plain(proxy, tmp, host, target, *args):
    return curl(tmp, f"http://127.0.0.1:{proxy.port}{target}", "-H", f"Host: {host}", *args)


def tls(proxy, tmp, host, target, *args, http2=False):
    https_port = proxy.https_port
    return curl(tmp, f"https://{host}:{https_port}{target}", "-k",
                "--resolve", f"{host}:{https_port}:127.0.0.1",
                "--http2" if http2 else "--http1.1", *args)


# --- the data plane alone, from a snapshot ---------------------------------------

def policy_route(name, path, cluster, match="TYPE_PREFIX", redirect=None, hsts=None):
    r = route(name, path, cluster, match)
    if redirect is not None:
        r["httpsRedirect"] = redirect
    if hsts is not None:
        r["hsts"] = hsts
    return r


@pytest.fixture(scope="module")
def env(module_launch, tmp_path_factory):
    certs = tmp_path_factory.mktemp("certs")
    pem, key = make_cert(certs, ["secure.test"])
    echo = module_launch.backend("echo")
    hsts = {"maxAgeSeconds": 31536000, "includeSubdomains": True}
    secure = vhost("secure", ["secure.test"], [
        policy_route("root", "/", "echo", redirect={}, hsts=hsts),
        policy_route("old", "/old", "echo", redirect={"code": 301}, hsts=hsts),
        policy_route("down", "/down", "empty", redirect={}, hsts=hsts),
        policy_route("hsts-only", "/hsts-only", "echo",
                     hsts={"maxAgeSeconds": 600, "preload": True})])
    secure["tlsSecret"] = "t/secure"
    any_host = vhost("any", [], [policy_route("root", "/", "echo", redirect={})])
    open_host = vhost("open", ["open.test"], [route("root", "/", "echo")])
    snap = snapshot([secure, any_host, open_host],
                    {"echo": ({}, [echo.endpoint()]), "empty": ({}, [])})
    snap["secrets"] = [{"name": "t/secure", "certificateChain": pem, "privateKey": key}]
    # Only 127.0.0.2 is a trusted proxy: curl --interface picks the source address.
    return module_launch.dataplane(snap, trusted_proxies=["127.0.0.2/32"],
                                   extra_args=[f"--https-redirect-port={REDIRECT_PORT}"])


@pytest.mark.parametrize("host,target,location", [
    ("secure.test", "/", "https://secure.test:8443/"),
    ("secure.test", "/a/b?x=1&y=%20z", "https://secure.test:8443/a/b?x=1&y=%20z"),
    ("SECURE.test:8080", "/p?q", "https://secure.test:8443/p?q"),
    ("secure.test", "/a/../b?c", "https://secure.test:8443/a/../b?c"),
    ("[::1]:8080", "/v6?x", "https://[::1]:8443/v6?x"),
    ("127.0.0.1:8080", "/v4", "https://127.0.0.1:8443/v4"),
])
def test_plain_http_is_redirected_with_308(env, tmp_path, host, target, location):
    reply = plain(env, tmp_path, host, target, "--path-as-is")
    assert reply.status == 308, reply
    assert reply.header("location") == location
    assert reply.header("strict-transport-security") is None  # never over plain HTTP


def test_redirect_code_and_methods(env, tmp_path):
    assert plain(env, tmp_path, "secure.test", "/old/x").status == 301
    # 308 keeps the method and body: a POST is redirected, not proxied.
    reply = plain(env, tmp_path, "secure.test", "/form", "--data", "a=1")
    assert reply.status == 308, reply
    assert reply.header("location") == "https://secure.test:8443/form"
    assert plain(env, tmp_path, "secure.test", "/x", "-I").status == 308


def test_following_the_redirect_reaches_the_backend_over_tls(env, tmp_path):
    reply = curl(tmp_path, "http://secure.test/a?b=1", "-L", "-k", "--http1.1",
                 "--connect-to", f"secure.test:80:127.0.0.1:{env.port}",
                 "--connect-to", f"secure.test:{REDIRECT_PORT}:127.0.0.1:{env.https_port}")
    assert reply.status == 200, reply
    assert reply.header("strict-transport-security") == HSTS_DEFAULT
    echo = json.loads(reply.body)
    assert echo["target"] == "/a?b=1"
    assert [v for n, v in echo["headers"] if n.lower() == "x-forwarded-proto"] == ["https"]


@pytest.mark.parametrize("target", ["/.well-known/acme-challenge/tok3n",
                                    "/.well-known/acme-challenge/a/b?c=d"])
def test_acme_challenges_are_proxied(env, tmp_path, target):
    reply = plain(env, tmp_path, "secure.test", target)
    assert reply.status == 200, reply
    assert json.loads(reply.body)["target"] == target
    assert reply.header("strict-transport-security") is None


def test_only_a_real_acme_path_is_exempt(env, tmp_path):
    # Dot segments are resolved before the check: this is /admin.
    reply = plain(env, tmp_path, "secure.test", "/.well-known/acme-challenge/../../admin",
                  "--path-as-is")
    assert reply.status == 308, reply
    assert plain(env, tmp_path, "secure.test", "/.well-known/acme-challengex").status == 308


def test_forwarded_proto_counts_from_trusted_proxies_only(env, tmp_path):
    trusted = plain(env, tmp_path, "secure.test", "/x", "--interface", "127.0.0.2",
                    "-H", "X-Forwarded-Proto: https")
    assert trusted.status == 200, trusted
    # Behind a proxy, HSTS is the TLS terminator's business: it is not added here.
    assert trusted.header("strict-transport-security") is None
    assert plain(env, tmp_path, "secure.test", "/x", "--interface", "127.0.0.2",
                 "-H", "X-Forwarded-Proto: http").status == 308
    assert plain(env, tmp_path, "secure.test", "/x", "--interface", "127.0.0.2").status == 308
    untrusted = plain(env, tmp_path, "secure.test", "/x", "-H", "X-Forwarded-Proto: https")
    assert untrusted.status == 308, untrusted


def test_routes_without_redirect_are_served_over_plain_http(env, tmp_path):
    reply = plain(env, tmp_path, "open.test", "/x")
    assert reply.status == 200 and reply.header("strict-transport-security") is None
    reply = plain(env, tmp_path, "secure.test", "/hsts-only")
    assert reply.status == 200 and reply.header("strict-transport-security") is None


@pytest.mark.parametrize("http2", [False, True])
def test_hsts_over_tls(env, tmp_path, http2):
    reply = tls(env, tmp_path, "secure.test", "/x", http2=http2)
    assert reply.status == 200, reply
    assert reply.version == ("2" if http2 else "1.1")
    assert reply.header("strict-transport-security") == HSTS_DEFAULT
    reply = tls(env, tmp_path, "secure.test", "/hsts-only", http2=http2)
    assert reply.header("strict-transport-security") == "max-age=600; preload"
    # Local replies of the route carry it too.
    reply = tls(env, tmp_path, "secure.test", "/down", http2=http2)
    assert reply.status == 503, reply
    assert reply.header("strict-transport-security") == HSTS_DEFAULT
    # No HSTS on the route: none added.
    reply = tls(env, tmp_path, "open.test", "/", http2=http2)
    assert reply.status == 200 and reply.header("strict-transport-security") is None


@pytest.mark.parametrize("http2", [False, True])
def test_the_upstreams_hsts_is_kept(env, tmp_path, http2):
    reply = tls(env, tmp_path, "secure.test", "/x?hdr=Strict-Transport-Security:max-age%3D60",
                http2=http2)
    assert reply.status == 200, reply
    assert reply.header_all("strict-transport-security") == ["max-age=60"]


# --- the controller's decisions ----------------------------------------------------

def tls_ingress(name, host, secret, annotations=None, with_tls=True):
    ing = ingress(name, host, [("/", "echo", 80)], annotations=annotations)
    if with_tls:
        ing["spec"]["tls"] = [{"hosts": [host], "secretName": secret}]
    return ing


@pytest.mark.timeout_s(90)
def test_controller_annotations_and_settings(launch, tmp_path):
    hosts = ["secure.test", "nr.test", "custom.test", "bad.test"]
    pem, key = make_cert(tmp_path, hosts)
    echo = launch.backend("echo")
    manifests = ManifestDir(launch.tmp_dir / "manifests")
    manifests.write("00-base.yaml", [
        ingress_class(), service("echo"), endpoints("echo", [echo]),
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
         "metadata": {"name": "tls", "namespace": NAMESPACE},
         "stringData": {"tls.crt": pem, "tls.key": key}}])
    manifests.write("10-ingresses.yaml", [
        tls_ingress("secure", "secure.test", "tls"),
        tls_ingress("nr", "nr.test", "tls", {"nginx.ingress.kubernetes.io/ssl-redirect": "false"}),
        tls_ingress("forced", "forced.test", None,
                    {"portico.dev/force-ssl-redirect": "true"}, with_tls=False),
        tls_ingress("open", "open.test", None, with_tls=False),
        tls_ingress("custom", "custom.test", "tls", {
            "portico.dev/hsts-max-age": "600", "portico.dev/hsts-include-subdomains": "false",
            "portico.dev/hsts-preload": "true"}),
        tls_ingress("bad", "bad.test", "tls", {"portico.dev/ssl-redirect": "maybe",
                                               "portico.dev/hsts-max-age": "1y"})])
    controller = track(launch, lambda: Controller(
        subdir(launch, "controller"), manifests.path,
        extra_args=[f"--settings_config_map={NAMESPACE}/portico-settings"]))
    dp = track(launch, lambda: ControlledDataplane(
        subdir(launch, "dp"), [controller.address], "dp",
        extra_args=[f"--https-redirect-port={REDIRECT_PORT}"]))
    dp.https_port = int(dp.wait_for_output(r"https listening on 127\.0\.0\.1:(\d+)", 10)[1])

    log = controller.stderr()
    assert re.search(r"InvalidAnnotation: annotation portico.dev/ssl-redirect must be "
                     r"\"true\" or \"false\"", log), log[-3000:]
    assert re.search(r"InvalidAnnotation: annotation portico.dev/hsts-max-age", log), log[-3000:]

    def code(host):
        return plain(dp, tmp_path, host, "/p?q=1").status

    assert code("secure.test") == 308
    assert plain(dp, tmp_path, "secure.test", "/p?q=1").header("location") == \
        "https://secure.test:8443/p?q=1"
    assert code("nr.test") == 200
    assert code("forced.test") == 308
    assert code("open.test") == 200
    assert code("bad.test") == 308  # the bad value falls back to the default
    assert plain(dp, tmp_path, "secure.test", "/.well-known/acme-challenge/t").status == 200

    def hsts(host):
        return tls(dp, tmp_path, host, "/").header("strict-transport-security")

    assert hsts("secure.test") == HSTS_DEFAULT
    assert hsts("nr.test") == HSTS_DEFAULT  # ssl-redirect does not turn HSTS off
    assert hsts("custom.test") == "max-age=600; preload"
    assert hsts("bad.test") == HSTS_DEFAULT
    assert hsts("forced.test") is None  # no certificate of its own: no HSTS
    assert hsts("open.test") is None

    # The ConfigMap appears: 301 everywhere, HSTS off unless an Ingress says so.
    manifests.write("20-settings.yaml", [settings_config_map("portico-settings", {
        "http-redirect-code": "301", "hsts": "false", "hsts-max-age": "86400"})])
    wait_until(lambda: code("secure.test") == 301, 20, "the ConfigMap's http-redirect-code")
    assert code("forced.test") == 301
    assert hsts("secure.test") is None
    assert hsts("custom.test") is None  # its max-age and preload, but HSTS is off globally
    manifests.write("10-ingresses.yaml", [
        tls_ingress("secure", "secure.test", "tls", {"portico.dev/hsts": "true"})])
    wait_until(lambda: hsts("secure.test") == "max-age=86400; includeSubDomains", 20,
               "portico.dev/hsts on top of the ConfigMap's hsts-max-age")
