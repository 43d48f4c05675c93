"""TLS from the data plane to its upstreams (HTTPS and GRPCS clusters), with
real TLS servers: the echo backend and a grpcio server wrapped in Python's
ssl / gRPC TLS credentials, certificates made by the openssl command line in
a temporary directory (a CA and a leaf for DNS:backend.test and IP:127.0.0.1,
plus an unrelated CA). Verification against the cluster's CA and name, SNI
as the backend saw it, verify off, fail-closed without a CA, retries past an
endpoint whose handshake fails, session resumption, large bodies, and gRPC
unary and streaming calls over h2 with TLS. Everything is on loopback."""

import hashlib
import http.client
import json
import re
import ssl
import subprocess
from pathlib import Path

import grpc
import pytest

from harness import (PYTHON, Backend, Process, curl, pattern_sha256, snapshot, vhost, route,
                     wait_until)

GRPC_BACKEND = Path(__file__).resolve().parents[1] / "backends" / "grpc_backend.py"
NAME = "backend.test"
CA_SECRET = "ns/upstream-ca"


def openssl(*args):
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)


class Pki:
    """A CA, a leaf it signed for NAME and 127.0.0.1, and an unrelated CA."""

    def __init__(self, directory):
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        for ca in ("ca", "other-ca"):
            openssl("req", "-x509", *ec, "-days", 30, "-subj", f"/CN=Portico test {ca}",
                    "-keyout", directory / f"{ca}-key.pem", "-out", directory / f"{ca}.pem")
        openssl("req", "-new", *ec, "-subj", f"/CN={NAME}", "-keyout", directory / "leaf-key.pem",
                "-out", directory / "leaf.csr")
        (directory / "ext.cnf").write_text(
            f"subjectAltName=DNS:{NAME},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        openssl("x509", "-req", "-in", directory / "leaf.csr", "-CA", directory / "ca.pem",
                "-CAkey", directory / "ca-key.pem", "-CAcreateserial", "-days", 30,
                "-extfile", directory / "ext.cnf", "-out", directory / "leaf.pem")
        # A second leaf, signed by the unrelated CA, for an endpoint that must not verify.
        openssl("req", "-new", *ec, "-subj", f"/CN={NAME}", "-keyout", directory / "rogue-key.pem",
                "-out", directory / "rogue.csr")
        openssl("x509", "-req", "-in", directory / "rogue.csr", "-CA", directory / "other-ca.pem",
                "-CAkey", directory / "other-ca-key.pem", "-CAcreateserial", "-days", 30,
                "-extfile", directory / "ext.cnf", "-out", directory / "rogue.pem")
        self.dir = directory
        self.ca = (directory / "ca.pem").read_text()
        self.other_ca = (directory / "other-ca.pem").read_text()

    def leaf(self, rogue=False):
        name = "rogue" if rogue else "leaf"
        return self.dir / f"{name}.pem", self.dir / f"{name}-key.pem"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


def tls_backend(launcher, pki, name="tls", rogue=False):
    cert, key = pki.leaf(rogue)
    return launcher._track(lambda: Backend(launcher.tmp_dir, name,
                                           extra_args=["--tls-cert", cert, "--tls-key", key]))


def https_snapshot(endpoints, tls, ca=None, protocol="PROTOCOL_HTTPS", version=1, opts=None):
    snap = snapshot([vhost("vh", [], [route("r1", "/", "c1")])],
                    {"c1": ({"protocol": protocol, "upstreamTls": tls, **(opts or {})},
                            endpoints)}, version=version)
    if ca is not None:
        snap["secrets"] = [{"name": CA_SECRET, "caBundle": ca}]
    return snap


def verified(server_name=NAME, **extra):
    return {"verify": True, "caSecret": CA_SECRET, "serverName": server_name, **extra}


def get(proxy, path="/"):
    status, body = curl(f"http://127.0.0.1:{proxy.port}{path}")
    return status, body


def echo(proxy, path="/"):
    status, body = get(proxy, path)
    assert status == 200, body
    return json.loads(body)


def backend_stats(backend):
    """The TLS echo backend's /__stats, straight from the test (not through the proxy)."""
    conn = http.client.HTTPSConnection("127.0.0.1", backend.port, timeout=5,
                                       context=ssl._create_unverified_context())
    try:
        conn.request("GET", "/__stats")
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def failures(proxy, reason):
    m = re.search(rf'portico_upstream_failures_total{{reason="{reason}"}} (\d+)', proxy.metrics())
    return int(m.group(1)) if m else 0


@pytest.fixture(scope="module")
def backend(module_launch, pki):
    return tls_backend(module_launch, pki)


def test_verified_https_upstream_sends_sni_and_alpn(launch, pki, backend):
    # One worker: each worker has its own upstream pool.
    proxy = launch.dataplane(https_snapshot([backend.endpoint()], verified(), pki.ca), workers=1)
    seen = echo(proxy, "/hello")
    assert seen["path"] == "/hello"
    assert seen["tls"]["sni"] == NAME
    assert seen["tls"]["alpn"] == "http/1.1"
    assert seen["tls"]["version"] == "TLSv1.3"
    # Keep-alive over TLS: the next request rides the same upstream connection.
    assert echo(proxy)["connection_id"] == echo(proxy)["connection_id"]


def test_wrong_ca_fails_the_handshake_with_502(launch, pki, backend):
    proxy = launch.dataplane(https_snapshot([backend.endpoint()], verified(), pki.other_ca))
    status, _ = get(proxy)
    assert status == 502
    assert failures(proxy, "tls_handshake_failed") >= 1
    proxy.wait_for_output(r"TLS handshake with 127\.0\.0\.1:\d+ failed: certificate verify "
                          r"failed", 5)


def test_wrong_name_fails_verification(launch, pki, backend):
    proxy = launch.dataplane(https_snapshot([backend.endpoint()], verified("other.test"), pki.ca))
    assert get(proxy)[0] == 502
    assert failures(proxy, "tls_handshake_failed") >= 1


def test_verify_off_accepts_any_certificate(launch, pki, backend):
    proxy = launch.dataplane(https_snapshot([backend.endpoint()],
                                            {"verify": False, "serverName": "unrelated.test"},
                                            pki.other_ca))
    seen = echo(proxy)
    assert seen["tls"]["sni"] == "unrelated.test"


def test_without_a_name_the_endpoint_ip_is_verified_and_no_sni_sent(launch, pki, backend):
    proxy = launch.dataplane(https_snapshot([backend.endpoint()], verified(""), pki.ca))
    assert echo(proxy)["tls"]["sni"] is None


def test_sni_can_be_turned_off(launch, pki, backend):
    proxy = launch.dataplane(https_snapshot([backend.endpoint()], verified(disableSni=True),
                                            pki.ca))
    assert echo(proxy)["tls"]["sni"] is None


def test_protocol_versions(launch, pki, backend):
    proxy = launch.dataplane(https_snapshot([backend.endpoint()],
                                            verified(maxVersion="VERSION_TLS1_2"), pki.ca))
    assert echo(proxy)["tls"]["version"] == "TLSv1.2"


@pytest.mark.parametrize("ca", [None, "not a certificate"])
def test_verify_without_a_usable_ca_fails_closed_with_503(launch, pki, backend, ca):
    proxy = launch.dataplane(https_snapshot([backend.endpoint()], verified(), ca))
    assert get(proxy)[0] == 503
    before = backend_stats(backend)["connections"]
    assert get(proxy)[0] == 503
    assert backend_stats(backend)["connections"] == before + 1  # our own /__stats only  # nothing went to the backend at all


def test_handshake_failure_retries_another_endpoint(launch, pki, backend):
    rogue = tls_backend(launch, pki, "rogue", rogue=True)
    proxy = launch.dataplane(https_snapshot([rogue.endpoint(), backend.endpoint()], verified(),
                                            pki.ca))
    for _ in range(6):
        assert echo(proxy)["name"] == "tls"
    assert failures(proxy, "tls_handshake_failed") >= 1


def test_sessions_resume_on_new_connections(launch, pki, backend):
    # One worker, so both connections share its session cache.
    proxy = launch.dataplane(https_snapshot([backend.endpoint()], verified(), pki.ca), workers=1)
    first = echo(proxy, "/close")  # the backend closes: the next request connects again
    assert first["tls"]["resumed"] is False

    def resumed():
        seen = echo(proxy, "/close")
        return seen["tls"]["resumed"]
    wait_until(resumed, 5, "a resumed TLS session to the upstream")


def test_large_bodies_both_ways_over_tls(launch, pki, backend):
    proxy = launch.dataplane(https_snapshot([backend.endpoint()], verified(), pki.ca))
    n = 8 << 20
    status, body = curl(f"http://127.0.0.1:{proxy.port}/bytes/{n}")
    assert status == 200 and len(body) == n
    assert hashlib.sha256(body).hexdigest() == pattern_sha256(n)
    upload = Path(launch.tmp_dir) / "upload.bin"
    upload.write_bytes(bytes(range(256)) * (12 << 12))  # 12 MiB
    status, body = curl("--data-binary", f"@{upload}", f"http://127.0.0.1:{proxy.port}/up")
    assert status == 200
    seen = json.loads(body)
    assert seen["body_length"] == 12 << 20
    assert seen["body_sha256"] == hashlib.sha256(upload.read_bytes()).hexdigest()


# --- GRPCS ---

class GrpcTlsBackend(Process):
    def __init__(self, workdir, pki):
        cert, key = pki.leaf()
        super().__init__([PYTHON, GRPC_BACKEND, "--host", "127.0.0.1", "--port", "0",
                          "--tls-cert", cert, "--tls-key", key], workdir, "grpcs-backend")
        with self.stopped_on_error():
            self.port = int(self.wait_for_output(r"PORT (\d+)", 15, "stdout").group(1))

    def endpoint(self):
        return {"address": "127.0.0.1", "port": self.port, "ready": True}


@pytest.fixture(scope="module")
def grpcs(module_launch, pki, tmp_path_factory):
    backend = module_launch._track(lambda: GrpcTlsBackend(tmp_path_factory.mktemp("grpcs"), pki))
    proxy = module_launch.dataplane(https_snapshot([backend.endpoint()], verified(), pki.ca,
                                                   protocol="PROTOCOL_H2"), extra_args=["--h2c"])
    channel = grpc.insecure_channel(f"127.0.0.1:{proxy.port}")
    yield proxy, channel
    channel.close()


def test_grpcs_unary(grpcs):
    _, channel = grpcs
    assert channel.unary_unary("/test.Echo/Unary")(b"over tls", timeout=10) == b"over tls"


def test_grpcs_server_streaming_and_bidi(grpcs):
    _, channel = grpcs
    replies = list(channel.unary_stream("/test.Echo/ServerStream")(b"5:70000", timeout=10))
    assert [len(r) for r in replies] == [70000] * 5
    assert [r[0] for r in replies] == [0, 1, 2, 3, 4]
    sent = [b"a", b"bb", b"ccc"]
    got = list(channel.stream_stream("/test.Echo/Bidi")(iter(sent), timeout=10))
    assert got == sent


def test_grpcs_status_from_the_backend(grpcs):
    _, channel = grpcs
    with pytest.raises(grpc.RpcError) as e:
        channel.unary_unary("/test.Echo/Fail")(b"", timeout=10)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_grpcs_with_the_wrong_ca_is_unavailable(launch, pki, tmp_path):
    backend = launch._track(lambda: GrpcTlsBackend(tmp_path, pki))
    proxy = launch.dataplane(https_snapshot([backend.endpoint()], verified(), pki.other_ca,
                                            protocol="PROTOCOL_H2"), extra_args=["--h2c"])
    with grpc.insecure_channel(f"127.0.0.1:{proxy.port}") as channel:
        with pytest.raises(grpc.RpcError) as e:
            channel.unary_unary("/test.Echo/Unary")(b"x", timeout=10)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    assert failures(proxy, "tls_handshake_failed") >= 1
