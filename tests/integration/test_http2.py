"""HTTP/2 downstream with real clients: curl, nghttp and h2load over TLS (ALPN
h2) and h2c with prior knowledge; bodies streamed both ways; hostile frame
sequences (rapid reset, endless CONTINUATION, oversized header blocks,
SETTINGS/PING/empty-DATA floods, a window that never opens) end the offending
connection with GOAWAY while a well-behaved client in parallel sees no error."""

import hashlib
import json
import re
import signal
import subprocess
import threading
import time

import pytest

from h2raw import (CANCEL, CONTINUATION, DATA, END_HEADERS, END_STREAM, ENHANCE_YOUR_CALM,
                   GOAWAY, HEADERS, NO_ERROR, PING, RST_STREAM, SETTINGS, RawH2, frame,
                   settings)
from harness import pattern_sha256, single_route_snapshot, wait_until

STALL = 2  # --http2-stall-timeout, seconds


@pytest.fixture(scope="module")
def env(module_launch):
    backend = module_launch.backend("h2")
    proxy = module_launch.dataplane(single_route_snapshot(backend, hostnames=("portico.test",)),
                                    extra_args=["--h2c", f"--http2-stall-timeout={STALL}s"])
    return proxy, backend


def curl(*args, timeout=30):
    """curl with verbose output; returns (exit code, body bytes, stderr text)."""
    proc = subprocess.run(["curl", "-sS", "-v", "--max-time", str(timeout), *map(str, args)],
                          capture_output=True, timeout=timeout + 5)
    return proc.returncode, proc.stdout, proc.stderr.decode(errors="replace")


def https(proxy, path):
    return [f"--resolve", f"portico.test:{proxy.https_port}:127.0.0.1", "-k",
            f"https://portico.test:{proxy.https_port}{path}"]


def h2c(proxy, path):
    return ["--http2-prior-knowledge", "-H", "Host: portico.test",
            f"http://127.0.0.1:{proxy.port}{path}"]


def flood_count(proxy, guard):
    m = re.search(rf'^portico_http2_floods_total{{guard="{guard}"}} (\d+)', proxy.metrics(), re.M)
    return int(m.group(1))


def test_curl_over_tls_negotiates_h2(env):
    proxy, _ = env
    rc, body, err = curl("--http2", *https(proxy, "/tls"))
    assert rc == 0, err
    assert "ALPN: server accepted h2" in err and "< HTTP/2 200" in err
    echo = json.loads(body)
    assert echo["path"] == "/tls"
    assert ["x-forwarded-proto", "https"] in echo["headers"]


def test_curl_h2c_prior_knowledge(env):
    proxy, _ = env
    rc, body, err = curl(*h2c(proxy, "/h2c"))
    assert rc == 0, err
    assert "< HTTP/2 200" in err
    assert json.loads(body)["path"] == "/h2c"


def test_alpn_falls_back_to_http11(env):
    proxy, _ = env
    rc, body, err = curl("--http1.1", *https(proxy, "/one"))
    assert rc == 0, err
    assert "< HTTP/1.1 200" in err
    # Plain HTTP/1.1 still works on the h2c-enabled listener too.
    rc, body, err = curl("--http1.1", "-H", "Host: portico.test", f"http://127.0.0.1:{proxy.port}/")
    assert rc == 0 and "< HTTP/1.1 200" in err, err


def test_nghttp_client(env):
    proxy, _ = env
    out = subprocess.run(["nghttp", "-nv", "-H", ":authority: portico.test",
                          f"https://127.0.0.1:{proxy.https_port}/nghttp"],
                         capture_output=True, text=True, timeout=20).stdout
    assert re.search(r":status: 200", out), out
    out = subprocess.run(["nghttp", "-nv", "-H", ":authority: portico.test",
                          f"http://127.0.0.1:{proxy.port}/nghttp"],
                         capture_output=True, text=True, timeout=20).stdout
    assert re.search(r":status: 200", out), out


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_h2load_multiplexed(env, scheme):
    proxy, _ = env
    port = proxy.https_port if scheme == "https" else proxy.port
    out = subprocess.run(["h2load", "-n", "2000", "-c", "4", "-m", "20", "-H",
                          ":authority: portico.test", f"{scheme}://127.0.0.1:{port}/load"],
                         capture_output=True, text=True, timeout=120).stdout
    assert "2000 succeeded, 0 failed, 0 errored, 0 timeout" in out, out
    assert "status codes: 2000 2xx" in out, out


def test_large_download_and_upload(env, tmp_path):
    proxy, _ = env
    n = 8 * 1024 * 1024
    rc, body, err = curl(*h2c(proxy, f"/bytes/{n}"))
    assert rc == 0, err[-2000:]
    assert len(body) == n and hashlib.sha256(body).hexdigest() == pattern_sha256(n)
    upload = tmp_path / "upload.bin"
    data = bytes(range(256)) * (4 * 4096)  # 4 MiB
    upload.write_bytes(data)
    rc, body, err = curl("--http2", "--data-binary", f"@{upload}", *https(proxy, "/upload"))
    assert rc == 0, err[-2000:]
    echo = json.loads(body)
    assert echo["body_length"] == len(data)
    assert echo["body_sha256"] == hashlib.sha256(data).hexdigest()


def test_cookie_crumbs_joined_and_connection_headers_refused(env):
    proxy, _ = env
    c = RawH2(proxy.port)
    c.request(1, "/cookies", extra=[("cookie", "a=1"), ("cookie", "b=2")])
    f = c.wait_for(lambda f: f.type == HEADERS and f.stream_id == 1)
    assert c.status(f) == 200
    data = b""
    while True:
        d = c.wait_for(lambda f: f.type == DATA and f.stream_id == 1)
        data += d.payload
        if d.flags & END_STREAM:
            break
    assert ["cookie", "a=1; b=2"] in json.loads(data)["headers"]
    # RFC 9113 8.2.2: a connection-specific header makes the request malformed.
    c.request(3, "/bad", extra=[("connection", "keep-alive")])
    f = c.wait_for(lambda f: f.stream_id == 3 and f.type in (RST_STREAM, HEADERS))
    assert f.type == RST_STREAM
    c.close()


def test_oversized_header_block_gets_431(env):
    proxy, _ = env
    c = RawH2(proxy.port)
    block = c.header_block("/big", extra=[(f"x-h{i}", "v" * 4000) for i in range(12)])
    chunks = [block[i:i + 16000] for i in range(0, len(block), 16000)]
    c.send(frame(HEADERS, END_STREAM if len(chunks) == 1 else END_STREAM, 1, chunks[0]))
    for i, chunk in enumerate(chunks[1:], 1):
        c.send(frame(CONTINUATION, END_HEADERS if i == len(chunks) - 1 else 0, 1, chunk))
    f = c.wait_for(lambda f: f.stream_id == 1 and f.type in (HEADERS, RST_STREAM))
    assert f is not None and f.type == HEADERS and c.status(f) == 431
    # The connection survives the refused request.
    c.request(3, "/after")
    f = c.wait_for(lambda f: f.stream_id == 3 and f.type == HEADERS)
    assert f is not None and c.status(f) == 200
    c.close()


class WellBehaved:
    """h2load in the background on its own connections; must see no error."""

    def __init__(self, proxy, seconds):
        self.proc = subprocess.Popen(
            ["h2load", "-D", str(seconds), "-c", "2", "-m", "4", "-H", ":authority: portico.test",
             f"http://127.0.0.1:{proxy.port}/bystander"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def check(self):
        out, _ = self.proc.communicate(timeout=60)
        m = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) "
                      r"failed, (\d+) errored, (\d+) timeout", out)
        assert m, out
        assert int(m.group(3)) > 0 and m.group(4) == m.group(5) == m.group(6) == "0", out


def expect_calm_goaway(c, timeout=10):
    f = c.goaway(timeout)
    assert f is not None, "no GOAWAY"
    assert f.error_code() == ENHANCE_YOUR_CALM
    assert c.wait_closed(timeout)


FLOODS = {
    # HEADERS then RST_STREAM, over and over (CVE-2023-44487).
    "rapid_reset": lambda c: b"".join(
        frame(HEADERS, END_HEADERS | END_STREAM, sid, c.header_block("/", authority="nohost.test"))
        + frame(RST_STREAM, 0, sid, b"\0\0\0\x08") for sid in range(1, 2 * 1500, 2)),
    "settings": lambda c: frame(SETTINGS, 0, 0) * 1000,
    "ping": lambda c: frame(PING, 0, 0, b"12345678") * 1000,
    "empty_data": lambda c: frame(HEADERS, END_HEADERS, 1, c.header_block(
        "/", method="POST")) + frame(DATA, 0, 1) * 1000,
}


@pytest.mark.parametrize("guard", sorted(FLOODS))
def test_flood_gets_goaway_and_spares_others(env, guard):
    proxy, _ = env
    before = flood_count(proxy, guard)
    bystander = WellBehaved(proxy, 3)
    time.sleep(0.5)
    c = RawH2(proxy.port)
    c.send(FLOODS[guard](c))
    expect_calm_goaway(c)
    bystander.check()
    assert proxy.alive()
    assert flood_count(proxy, guard) == before + 1


def test_endless_continuation_gets_goaway(env):
    proxy, _ = env
    before = flood_count(proxy, "continuation")
    bystander = WellBehaved(proxy, 3)
    time.sleep(0.5)
    c = RawH2(proxy.port)
    c.send(frame(HEADERS, END_STREAM, 1, c.header_block("/")))
    piece = c.encoder.encode([("x-a", "b")])
    for _ in range(10000):
        if not c.send(frame(CONTINUATION, 0, 1, piece)):
            break
    expect_calm_goaway(c)
    bystander.check()
    assert flood_count(proxy, "continuation") == before + 1


def test_tls_flood_too(env):
    proxy, _ = env
    c = RawH2(proxy.https_port, tls=True)
    c.send(frame(PING, 0, 0, b"12345678") * 1000)
    expect_calm_goaway(c)


def test_stalled_window_resets_the_stream(env):
    proxy, _ = env
    before = flood_count(proxy, "stalled_window")
    # A zero stream window: the response body can never be sent.
    c = RawH2(proxy.port, initial_settings=settings(initial_window_size=0))
    c.request(1, "/bytes/100000")
    started = time.monotonic()
    f = c.wait_for(lambda f: f.stream_id == 1 and f.type == RST_STREAM, timeout=STALL + 8)
    assert f is not None and f.error_code() == CANCEL
    assert STALL - 0.5 <= time.monotonic() - started <= STALL + 4
    assert flood_count(proxy, "stalled_window") == before + 1
    # The connection itself had window left and stays usable.
    c.send(settings(initial_window_size=65535))
    c.request(3, "/after")
    f = c.wait_for(lambda f: f.stream_id == 3 and f.type == HEADERS)
    assert f is not None and c.status(f) == 200
    c.close()


def test_reused_stream_id_is_a_connection_error(env):
    proxy, _ = env
    c = RawH2(proxy.port)
    c.request(5, "/five")
    c.request(3, "/three")
    f = c.goaway()
    assert f is not None and f.error_code() == 0x1  # PROTOCOL_ERROR


def test_drain_sends_goaway_and_finishes_streams(launch):
    backend = launch.backend("drain")
    proxy = launch.dataplane(single_route_snapshot(backend), extra_args=["--h2c"])
    c = RawH2(proxy.port)
    c.request(1, "/delay/1500")
    wait_until(lambda: backend.stats()["requests"] >= 1, 5, "request reached the backend")
    proxy.signal(signal.SIGTERM)
    g = c.goaway()
    assert g is not None and g.error_code() == NO_ERROR
    f = c.wait_for(lambda f: f.stream_id == 1 and f.type == HEADERS, timeout=10)
    assert f is not None and c.status(f) == 200
    assert c.wait_closed(10)
    assert proxy.wait_exit(10) == 0


def test_http11_upgrade_to_h2c(env):
    proxy, _ = env
    rc, body, err = curl("--http2", "-H", "Host: portico.test",
                         f"http://127.0.0.1:{proxy.port}/upgraded?q=1")
    assert rc == 0, err
    assert "< HTTP/1.1 101 Switching Protocols" in err and "< HTTP/2 200" in err, err
    echo = json.loads(body)
    assert echo["target"] == "/upgraded?q=1"
    assert not any(name.lower() in ("upgrade", "http2-settings") for name, _ in echo["headers"])


def test_upgrade_ignored_without_h2c(launch):
    backend = launch.backend("plain")
    proxy = launch.dataplane(single_route_snapshot(backend))
    rc, body, err = curl("--http2", f"http://127.0.0.1:{proxy.port}/")
    assert rc == 0, err
    assert "< HTTP/1.1 200" in err and "101" not in err, err
