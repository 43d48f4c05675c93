"""TLS termination with real clients: SNI picks among three exact-host
certificates, a wildcard and the default (RSA-2048 and ECDSA P-256 both);
ALPN; TLS 1.2 and 1.3 handshake and TLS 1.0/1.1 are refused; session tickets
resume; a certificate rotated in the snapshot under h2load load reaches new
handshakes with no failed request or handshake; an unusable Secret costs its
host its certificate and nothing else; the real controller drops expired and
mismatched Secrets and warns about one close to expiry. Certificates come from
the openssl command line; every client is on loopback."""

import http.client
import re
import socket
import ssl
import subprocess
import threading
import time
import warnings

import pytest

from controller_harness import (NAMESPACE, ControlledDataplane, Controller, ManifestDir,
                                dev_certs, endpoints, ingress, ingress_class, service, subdir)
from controller_harness import start as track
from harness import route, snapshot, vhost, wait_until

# name -> (key kind, subject CN / SAN DNS name)
CERTS = {
    "a": ("rsa", "a.test"),
    "b": ("ec", "b.test"),
    "c": ("rsa", "c.test"),
    "w": ("ec", "*.w.test"),
    "default": ("ec", "default.test"),
    "a2": ("ec", "a.test"),  # a.test's certificate after the rotation
}
HOSTED = ("a", "b", "c", "w")  # the Secrets of the first snapshot, "tls/<name>"


def openssl(*args):
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)


class Cert:
    """A self-signed certificate for cn and its key, by the openssl command
    line: valid for `days` from now, or over `dates` (start, end as
    YYYYMMDDHHMMSSZ: `openssl ca` is the 3.0 CLI that can backdate)."""

    def __init__(self, directory, name, kind, cn, days=90, dates=None):
        self.name, self.kind, self.cn = name, kind, cn
        self.cert_path = directory / f"{name}.pem"
        self.key_path = directory / f"{name}-key.pem"
        newkey = (["-newkey", "rsa:2048"] if kind == "rsa" else
                  ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
        subject = ["-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}"]
        if dates is None:
            openssl("req", "-x509", *newkey, "-nodes", "-days", days, *subject,
                    "-keyout", self.key_path, "-out", self.cert_path)
        else:
            ca = directory / f"{name}-ca"
            ca.mkdir()
            (ca / "index.txt").write_text("")
            (ca / "serial").write_text("01\n")
            (ca / "ca.cnf").write_text(
                f"[ca]\ndefault_ca = backdated\n[backdated]\ndatabase = {ca}/index.txt\n"
                f"new_certs_dir = {ca}\nserial = {ca}/serial\ndefault_md = sha256\n"
                "policy = any\nunique_subject = no\ncopy_extensions = copy\n"
                "[any]\ncommonName = supplied\n")
            openssl("req", "-new", *newkey, "-nodes", *subject, "-keyout", self.key_path,
                    "-out", ca / "req.csr")
            openssl("ca", "-batch", "-config", ca / "ca.cnf", "-selfsign", "-keyfile",
                    self.key_path, "-in", ca / "req.csr", "-startdate", dates[0], "-enddate",
                    dates[1], "-notext", "-out", self.cert_path)
        self.pem = self.cert_path.read_text()
        self.key = self.key_path.read_text()
        self.der = ssl.PEM_cert_to_DER_cert(self.pem)

    def secret(self, name=None):
        return {"name": name or f"tls/{self.name}", "certificateChain": self.pem,
                "privateKey": self.key}


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("certs")
    return {name: Cert(directory, name, kind, cn) for name, (kind, cn) in CERTS.items()}


def tls_snapshot(backend, secrets, version=1, extra_hosts=()):
    """One virtual host per Secret (hostname = its certificate's name) plus a
    catch-all without a certificate; all route to the echo backend.
    secrets: {"a": secret dict, ...}; extra_hosts: (hostname, secret dict)."""
    hosts = [(CERTS[name][1], secret) for name, secret in secrets.items()] + list(extra_hosts)
    vhosts = []
    for i, (hostname, secret) in enumerate(hosts):
        vh = vhost(f"vh{i}", [hostname], [route("r", "/", "c1")])
        vh["tlsSecret"] = secret["name"]
        vhosts.append(vh)
    vhosts.append(vhost("any", [], [route("r", "/", "c1")]))
    snap = snapshot(vhosts, {"c1": ({}, [backend.endpoint()])}, version=version)
    snap["secrets"] = sorted((s for _, s in hosts), key=lambda s: s["name"])
    return snap


def start(launcher, certs, snap):
    backend = launcher.backend("tls")
    proxy = launcher.dataplane(
        snap(backend),
        extra_args=[f"--default-certificate={certs['default'].cert_path}",
                    f"--default-certificate-key={certs['default'].key_path}"])
    return proxy, backend


@pytest.fixture(scope="module")
def env(module_launch, certs):
    return start(module_launch, certs,
                 lambda backend: tls_snapshot(backend, {n: certs[n].secret() for n in HOSTED}))


def client_context(certs, minimum=None, maximum=None, alpn=None):
    """Trusts every generated certificate (each is self-signed), so that
    getpeercert() decodes what the server presented; host names are checked
    by the tests themselves."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata="".join(c.pem for c in certs.values()))
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    if alpn is not None:
        ctx.set_alpn_protocols(alpn)
    return ctx


def connect(port, sni, ctx, session=None, timeout=5):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=sni, session=session)
    except BaseException:
        raw.close()
        raise


def get(tls_sock, host, path="/"):
    """One HTTP/1.1 request on an established TLS socket; returns the status.
    The socket stays open (the caller's `with` closes it): its session is
    still readable."""
    conn = http.client.HTTPConnection(host)
    conn.sock = tls_sock
    conn.request("GET", path)
    resp = conn.getresponse()
    resp.read()
    return resp.status


def served(port, sni, ctx):
    """(DER, subject CN, SAN DNS names) of the certificate presented for sni."""
    with connect(port, sni, ctx) as s:
        der = s.getpeercert(binary_form=True)
        cert = s.getpeercert()
    cn = [v for rdn in cert["subject"] for k, v in rdn if k == "commonName"]
    san = [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]
    return der, cn, san


def metric(proxy, name):
    m = re.search(rf"^{name} (\d+)", proxy.metrics(), re.M)
    assert m, f"{name} not in /metrics"
    return int(m.group(1))


# SNI -> which certificate must be presented.
SNI_CASES = [
    ("a.test", "a"), ("b.test", "b"), ("c.test", "c"), ("B.Test", "b"),
    ("x.w.test", "w"),           # one label under the wildcard
    ("x.y.w.test", "default"),   # a wildcard covers one label only
    ("w.test", "default"),
    ("unknown.test", "default"),
    (None, "default"),           # no SNI at all
]


@pytest.mark.parametrize("sni,expected", SNI_CASES, ids=[str(s) for s, _ in SNI_CASES])
def test_sni_selects_the_certificate(env, certs, sni, expected):
    proxy, _ = env
    der, cn, san = served(proxy.https_port, sni, client_context(certs))
    want = certs[expected]
    assert cn == [want.cn] and san == [want.cn]
    assert der == want.der, f"{sni}: same name, different certificate"
    with connect(proxy.https_port, sni, client_context(certs)) as s:
        assert get(s, sni or "unknown.test") == 200


def test_rsa_and_ecdsa_certificates_negotiate_their_suites(env, certs):
    proxy, _ = env
    ctx = client_context(certs, maximum=ssl.TLSVersion.TLSv1_2)
    for sni, auth in (("a.test", "ECDHE-RSA-"), ("b.test", "ECDHE-ECDSA-")):
        with connect(proxy.https_port, sni, ctx) as s:
            name, _, _ = s.cipher()
            assert name.startswith(auth) and ("GCM" in name or "CHACHA20" in name), name


@pytest.mark.parametrize("offer,expected", [
    (["http/1.1"], "http/1.1"),
    (["h2", "http/1.1"], "h2"),
    (["http/1.1", "h2"], "h2"),     # server preference
    (["spdy/3", "h3"], None),       # nothing in common: no ALPN, HTTP/1.1
])
def test_alpn(env, certs, offer, expected):
    proxy, _ = env
    with connect(proxy.https_port, "a.test", client_context(certs, alpn=offer)) as s:
        assert s.selected_alpn_protocol() == expected
        if expected != "h2":
            assert get(s, "a.test") == 200


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls12_and_tls13_handshake(env, certs, version):
    proxy, _ = env
    label = "TLSv1.2" if version == ssl.TLSVersion.TLSv1_2 else "TLSv1.3"
    before = proxy.metrics()
    ctx = client_context(certs, minimum=version, maximum=version)
    with connect(proxy.https_port, "b.test", ctx) as s:
        assert s.version() == label
        assert get(s, "b.test") == 200
    pattern = rf'^portico_tls_handshakes_total{{version="{label}"}} (\d+)'
    assert int(re.search(pattern, proxy.metrics(), re.M)[1]) == \
        int(re.search(pattern, before, re.M)[1]) + 1


def finished_with_first_bytes(port, ctx, sni, first):
    """A TLS 1.3 handshake through memory BIOs whose last client flight (its
    Finished) and `first` (application data) leave in one send(2), so the
    server reads them in one go; returns the server's first answer (or what
    came before EOF or 5 s)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                raw.sendall(outgoing.read())
                data = raw.recv(65536)
                assert data, "the server closed during the handshake"
                incoming.write(data)
        tls.write(first)
        raw.sendall(outgoing.read())  # Finished + the first bytes
        answer = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                answer += tls.read(65536)
                if alpn_done(tls, answer):
                    break
                continue
            except ssl.SSLWantReadError:
                pass
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                break
            try:
                data = raw.recv(65536)
            except socket.timeout:
                break
            if not data:
                break
            incoming.write(data)
        return answer


def alpn_done(tls, answer):
    """Enough of an answer: an HTTP/1.1 head, or the server's HTTP/2 SETTINGS
    ACK (proof that it read our SETTINGS)."""
    if tls.selected_alpn_protocol() == "h2":
        return SETTINGS_ACK in answer
    return b"\r\n\r\n" in answer


SETTINGS_ACK = bytes([0, 0, 0, 4, 1, 0, 0, 0, 0])


@pytest.mark.parametrize("alpn", ["http/1.1", "h2"])
def test_data_sent_with_the_client_finished_is_served(env, certs, alpn):
    # The handshake reads ahead: the request that arrives with the client's
    # Finished is in OpenSSL's buffer, not in the socket, when the codec takes
    # the connection. It must be served at once, not after a header timeout.
    proxy, _ = env
    ctx = client_context(certs, minimum=ssl.TLSVersion.TLSv1_3, alpn=[alpn])
    if alpn == "h2":
        first = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
    else:
        first = b"GET / HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\r\n"
    started = time.monotonic()
    answer = finished_with_first_bytes(proxy.https_port, ctx, "b.test", first)
    if alpn == "h2":
        assert SETTINGS_ACK in answer, answer[:64]
    else:
        assert answer.startswith(b"HTTP/1.1 200"), answer[:64]
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_1"])
def test_tls10_and_tls11_are_refused_by_the_server(env, certs, version):
    proxy, _ = env
    before = metric(proxy, "portico_tls_handshake_failures_total")
    with warnings.catch_warnings():  # the client deprecates them too: that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        old = getattr(ssl.TLSVersion, version)
        ctx = client_context(certs, minimum=old, maximum=old)
    # Let our own OpenSSL send the old ClientHello whatever its security
    # level, so that the refusal is the server's: a protocol_version alert.
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with pytest.raises(ssl.SSLError, match="TLSV1_ALERT_PROTOCOL_VERSION"):
        connect(proxy.https_port, "a.test", ctx).close()
    wait_until(lambda: metric(proxy, "portico_tls_handshake_failures_total") == before + 1, 5,
               "the refused handshake counted")
    # The listener is unharmed.
    with connect(proxy.https_port, "a.test", client_context(certs)) as s:
        assert get(s, "a.test") == 200


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_session_tickets_resume(env, certs, version):
    proxy, backend = env
    before = metric(proxy, "portico_tls_resumptions_total")
    ctx = client_context(certs, minimum=version, maximum=version)
    with connect(proxy.https_port, "c.test", ctx) as s:
        assert not s.session_reused
        assert get(s, "c.test") == 200  # reading is what delivers a TLS 1.3 ticket
        session = s.session
    assert session is not None and session.has_ticket
    # Workers are SO_REUSEPORT siblings: reconnects from new ports spread
    # over them (likely, not asserted: no per-worker metric), and each
    # resumes (one ticket key ring per process).
    resumed = 8
    for _ in range(resumed):
        with connect(proxy.https_port, "c.test", ctx, session=session) as s:
            assert s.session_reused
            assert get(s, "c.test") == 200
    assert metric(proxy, "portico_tls_resumptions_total") == before + resumed


def test_session_resumes_across_a_configuration_change(launch, certs):
    proxy, backend = start(launch, certs, lambda b: tls_snapshot(b, {"a": certs["a"].secret()}))
    ctx = client_context(certs)
    with connect(proxy.https_port, "a.test", ctx) as s:
        assert get(s, "a.test") == 200
        session = s.session
    proxy.write_snapshot(tls_snapshot(backend, {"a": certs["a"].secret(),
                                                "b": certs["b"].secret()}, version=2))
    wait_until(lambda: proxy.config_info()["version"] == 2, 10, "snapshot 2 applied")
    with connect(proxy.https_port, "a.test", ctx, session=session) as s:
        assert s.session_reused


class Handshaker(threading.Thread):
    """New TLS connections to a.test back to back; records, for each, when it
    started and which certificate it got (or the error)."""

    def __init__(self, port, certs):
        super().__init__(daemon=True)
        self.port, self.ctx = port, client_context(certs)
        self.results = []  # (monotonic start, DER or None, error or None)
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                with connect(self.port, "a.test", self.ctx) as s:
                    self.results.append((started, s.getpeercert(binary_form=True), None))
            except (OSError, ssl.SSLError) as e:
                self.results.append((started, None, repr(e)))


@pytest.mark.timeout_s(90)
def test_certificate_rotated_under_load(launch, certs):
    proxy, backend = start(launch, certs, lambda b: tls_snapshot(b, {"a": certs["a"].secret()}))
    failures_before = metric(proxy, "portico_tls_handshake_failures_total")
    port = proxy.https_port
    h2load = subprocess.Popen(
        ["h2load", "-D", "6", "-c", "4", "-m", "4", f"--connect-to=127.0.0.1:{port}",
         f"https://a.test:{port}/rotate"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    handshaker = Handshaker(port, certs)
    try:
        handshaker.start()
        # Rotate once both clients are busy: h2load's requests flow and
        # handshakes with the old certificate have been seen.
        wait_until(lambda: backend.stats()["requests"] >= 2000, 10, "h2load under way")
        wait_until(lambda: sum(1 for r in handshaker.results if r[1] == certs["a"].der) >= 20,
                   10, "handshakes with the first certificate")
        proxy.write_snapshot(tls_snapshot(backend, {"a": certs["a2"].secret("tls/a")}, version=2))
        wait_until(lambda: proxy.config_info()["version"] == 2, 10, "snapshot 2 applied")
        applied = time.monotonic()
        requests_at_swap = backend.stats()["requests"]
        out, _ = h2load.communicate(timeout=60)
    finally:
        handshaker.stop.set()
        handshaker.join(10)
        if h2load.poll() is None:
            h2load.kill()
            h2load.wait()

    m = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) "
                  r"failed, (\d+) errored, (\d+) timeout", out)
    assert m, out
    assert int(m.group(3)) > 0 and m.group(4) == m.group(5) == m.group(6) == "0", out
    assert re.search(r"status codes: \d+ 2xx, 0 3xx, 0 4xx, 0 5xx", out), out
    assert "Application protocol: h2" in out, out
    # h2load's connections, opened before the swap, carried on after it.
    assert backend.stats()["requests"] > requests_at_swap + 1000

    errors = [r[2] for r in handshaker.results if r[2] is not None]
    assert not errors, errors[:5]
    after = [r for r in handshaker.results if r[0] >= applied]
    assert len(after) >= 20, f"only {len(after)} handshakes after the swap"
    assert all(r[1] == certs["a2"].der for r in after), "old certificate after the swap"
    assert metric(proxy, "portico_tls_handshake_failures_total") == failures_before
    print(f"h2load: {m.group(3)} requests; handshakes: {len(handshaker.results)} "
          f"({len(after)} after the swap)")


def test_unusable_secret_falls_back_to_the_default(launch, certs):
    marker = "PORTICOKEYMATERIALMARKER"
    garbage = {"name": "tls/d",
               "certificateChain": "-----BEGIN CERTIFICATE-----\nnot a certificate\n"
                                   "-----END CERTIFICATE-----\n",
               "privateKey": f"-----BEGIN PRIVATE KEY-----\n{marker}\n-----END PRIVATE KEY-----\n"}
    mismatched = {"name": "tls/e", "certificateChain": certs["b"].pem,
                  "privateKey": certs["c"].key}
    proxy, backend = start(launch, certs,
                           lambda b: tls_snapshot(b, {"a": certs["a"].secret()}))
    proxy.write_snapshot(tls_snapshot(backend, {"a": certs["a"].secret(), "b": certs["b"].secret()},
                                      version=2,
                                      extra_hosts=[("d.test", garbage), ("e.test", mismatched)]))
    # The snapshot applies as a whole: only the two hosts lose their certificate.
    wait_until(lambda: proxy.config_info()["version"] == 2, 10, "snapshot 2 applied")
    assert proxy.config_info()["last_error"] == ""
    ctx = client_context(certs)
    for sni, expected in (("d.test", "default"), ("e.test", "default"), ("a.test", "a"),
                          ("b.test", "b")):
        assert served(proxy.https_port, sni, ctx)[0] == certs[expected].der, sni
        with connect(proxy.https_port, sni, ctx) as s:
            assert get(s, sni) == 200
    assert proxy.alive()
    assert proxy.admin("/readyz")[0] == 200
    log = proxy.stderr()
    assert "tls/d" in log and "tls/e" in log, log[-2000:]
    assert marker not in log
    assert certs["c"].key.splitlines()[1] not in log


# --- the controller's Secret checks, end to end ----------------------------------

def tls_secret(name, cert_pem, key_pem):
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": NAMESPACE}, "type": "kubernetes.io/tls",
            "stringData": {"tls.crt": cert_pem, "tls.key": key_pem}}


def tls_ingress(name, host, secret):
    ing = ingress(name, host, [("/", "echo", 80)])
    ing["spec"]["tls"] = [{"hosts": [host], "secretName": secret}]
    return ing


@pytest.mark.timeout_s(90)
def test_controller_skips_expired_and_mismatched_secrets(launch, certs, tmp_path):
    """The real controller, on the real clock: an expired certificate and a key
    that does not match are errors and never reach the data plane (their hosts
    get the default certificate); one expiring in 7 days is a warning and is
    served."""
    expired = Cert(tmp_path, "expired", "ec", "e.test",
                   dates=("20250101000000Z", "20250102000000Z"))
    soon = Cert(tmp_path, "soon", "rsa", "s.test", days=7)
    echo = launch.backend("echo")
    manifests = ManifestDir(launch.tmp_dir / "manifests")
    manifests.write("00-base.yaml", [ingress_class(), service("echo"),
                                     endpoints("echo", [echo])])
    manifests.write("10-tls.yaml", [
        tls_secret("a-tls", certs["a"].pem, certs["a"].key),
        tls_secret("soon-tls", soon.pem, soon.key),
        tls_secret("expired-tls", expired.pem, expired.key),
        tls_secret("mismatch-tls", certs["b"].pem, certs["c"].key),
        tls_ingress("a", "a.test", "a-tls"), tls_ingress("s", "s.test", "soon-tls"),
        tls_ingress("e", "e.test", "expired-tls"), tls_ingress("m", "m.test", "mismatch-tls")])
    mtls = dev_certs(tmp_path / "mtls")
    controller = track(launch, lambda: Controller(subdir(launch, "controller"), manifests.path,
                                                  certs=mtls))
    dp = track(launch, lambda: ControlledDataplane(
        subdir(launch, "dp"), [controller.address], "dp", certs=mtls,
        extra_args=[f"--default-certificate={certs['default'].cert_path}",
                    f"--default-certificate-key={certs['default'].key_path}"]))
    https_port = int(dp.wait_for_output(r"https listening on 127\.0\.0\.1:(\d+)", 10)[1])

    log = controller.stderr()
    assert re.search(r'InvalidSecret: TLS Secret "t/expired-tls" is not usable: the '
                     r"certificate expired at 2025-01-02T00:00:00Z", log), log[-3000:]
    assert re.search(r'InvalidSecret: TLS Secret "t/mismatch-tls" is not usable: tls.key does '
                     r"not match the certificate in tls.crt", log), log[-3000:]
    assert re.search(r'CertificateExpiresSoon: TLS Secret "t/soon-tls": the certificate '
                     r"expires at \S+Z, in less than 14 days", log), log[-3000:]
    assert controller.metric("portico_controller_diagnostics") == 3
    for key in (certs["a"].key, soon.key, expired.key, certs["c"].key):
        for line in key.splitlines()[1:-1]:
            assert line not in log and line not in dp.stderr()

    ctx = client_context({**certs, "soon": soon, "expired": expired})
    for sni, cert in (("a.test", certs["a"]), ("s.test", soon), ("e.test", certs["default"]),
                      ("m.test", certs["default"])):
        assert served(https_port, sni, ctx)[0] == cert.der, sni
        with connect(https_port, sni, ctx) as s:
            assert get(s, sni) == 200
    # Only usable Secrets were shipped: the data plane had nothing to reject.
    assert "expired-tls" not in dp.stderr() and "mismatch-tls" not in dp.stderr()
