"""Traffic policies through the real data plane (issue 9, traffic family):
canary splits and their header/cookie precedence, consistent hashing,
cookie session affinity, gzip/brotli compression over HTTP/1.1 and HTTP/2,
and the PROXY protocol (v1, v2, refused without a header) on both listeners."""

import gzip
import hashlib
import http.client
import json
import socket
import ssl
import struct
import subprocess

import pytest

from harness import curl, header_values, pattern_sha256, route, snapshot, vhost

try:
    import brotli  # Debian's python3-brotli
except ImportError:  # curl (built with brotli) decodes instead
    brotli = None


def get(port, path="/", host="t.test", headers=None, conn=None):
    """One request; returns (status, headers dict lower-case -> [values], body bytes)."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host, **(headers or {})})
        resp = conn.getresponse()
        body = resp.read()
        hdrs = {}
        for name, value in resp.getheaders():
            hdrs.setdefault(name.lower(), []).append(value)
        return resp.status, hdrs, body
    finally:
        if own:
            conn.close()


def backend_of(body):
    return json.loads(body)["name"]


# --- canary -------------------------------------------------------------------

@pytest.fixture(scope="module")
def canary(module_launch):
    main, alt = module_launch.backend("main"), module_launch.backend("canary")
    weighted = route("weighted", "/w", "main")
    weighted["canary"] = {"cluster": "alt", "weight": 30}
    rules = route("rules", "/r", "main")
    rules["canary"] = {"cluster": "alt", "header": "x-canary", "cookie": "canary", "weight": 0}
    everyone = route("everyone", "/all", "main")
    everyone["canary"] = {"cluster": "alt", "header": "x-canary", "cookie": "canary",
                          "weight": 100}
    pattern = route("pattern", "/p", "main")
    pattern["canary"] = {"cluster": "alt", "header": "x-version", "headerPattern": "beta|rc[0-9]+"}
    snap = snapshot([vhost("vh", [], [weighted, rules, everyone, pattern])],
                    {"main": ({}, [main.endpoint()]), "alt": ({}, [alt.endpoint()])})
    return module_launch.dataplane(snap)


def test_canary_weight_splits_2000_requests_within_tolerance(canary):
    conn = http.client.HTTPConnection("127.0.0.1", canary.port, timeout=10)
    counts = {"main": 0, "canary": 0}
    for _ in range(2000):
        status, _, body = get(canary.port, "/w", conn=conn)
        assert status == 200
        counts[backend_of(body)] += 1
    conn.close()
    # 30% expected; 4 standard deviations of a binomial(2000, 0.3) is ~4.1%.
    assert 0.26 * 2000 <= counts["canary"] <= 0.34 * 2000, counts


@pytest.mark.parametrize("path,headers,expected", [
    ("/r", {}, "main"),                                            # weight 0
    ("/r", {"X-Canary": "always"}, "canary"),
    ("/r", {"X-Canary": "never"}, "main"),
    ("/r", {"Cookie": "canary=always"}, "canary"),
    ("/r", {"Cookie": "a=1; canary=never"}, "main"),
    ("/r", {"X-Canary": "never", "Cookie": "canary=always"}, "main"),    # header first
    ("/r", {"X-Canary": "other", "Cookie": "canary=always"}, "canary"),  # undecided header
    ("/all", {}, "canary"),                                        # weight 100
    ("/all", {"X-Canary": "never"}, "main"),
    ("/all", {"Cookie": "canary=never"}, "main"),                  # cookie before weight
    ("/p", {"X-Version": "rc12"}, "canary"),
    ("/p", {"X-Version": "rc12-old"}, "main"),                     # full match only
    ("/p", {}, "main"),
])
def test_canary_header_then_cookie_then_weight(canary, path, headers, expected):
    for _ in range(5):
        status, _, body = get(canary.port, path, headers=headers)
        assert status == 200
        assert backend_of(body) == expected


# --- consistent hashing and affinity ---------------------------------------------

@pytest.fixture(scope="module")
def pool(module_launch):
    backends = [module_launch.backend(f"b{i}") for i in range(4)]
    endpoints = [b.endpoint() for b in backends]
    affinity = {"cookieName": "route", "maxAgeSeconds": "3600", "secure": True,
                "samesite": "Lax"}
    snap = snapshot(
        [vhost("vh", [], [route("hash", "/hash", "hashed"), route("uri", "/uri", "by_uri"),
                          route("ip", "/ip", "by_ip"), route("sticky", "/sticky", "sticky")])],
        {"hashed": ({"hashPolicy": {"source": "SOURCE_HEADER", "name": "x-user"}}, endpoints),
         "by_uri": ({"hashPolicy": {"source": "SOURCE_REQUEST_URI"}}, endpoints),
         "by_ip": ({"hashPolicy": {"source": "SOURCE_CLIENT_IP"}}, endpoints),
         "sticky": ({"affinity": affinity}, endpoints)})
    proxy = module_launch.dataplane(snap, trusted_proxies=["127.0.0.0/8"])
    proxy.endpoints = endpoints
    proxy.snap = snap
    return proxy


def test_hash_by_header_is_sticky_and_spreads(pool):
    owners = {}
    for user in range(40):
        seen = {backend_of(get(pool.port, "/hash", headers={"X-User": f"user-{user}"})[2])
                for _ in range(4)}
        assert len(seen) == 1, (user, seen)
        owners[user] = seen.pop()
    assert len(set(owners.values())) >= 3, owners  # 40 keys over 4 endpoints


def test_hash_by_uri_and_client_ip(pool):
    for path in ("/uri/a", "/uri/b?x=1", "/uri/c"):
        assert len({backend_of(get(pool.port, path)[2]) for _ in range(4)}) == 1
    # $remote_addr is the client after trusted proxies: the X-Forwarded-For address.
    for client in ("198.51.100.1", "198.51.100.2", "2001:db8::7"):
        got = {backend_of(get(pool.port, "/ip", headers={"X-Forwarded-For": client})[2])
               for _ in range(4)}
        assert len(got) == 1, (client, got)


def test_hash_without_the_key_still_serves(pool):
    assert {get(pool.port, "/hash")[0] for _ in range(8)} == {200}


def test_affinity_cookie_pins_the_client(pool):
    status, hdrs, body = get(pool.port, "/sticky")
    assert status == 200
    (cookie,) = hdrs["set-cookie"]
    name_value, *attributes = [p.strip() for p in cookie.split(";")]
    name, _, value = name_value.partition("=")
    assert name == "route" and len(value) == 16
    assert set(attributes) == {"Path=/sticky", "Max-Age=3600", "Secure", "SameSite=Lax",
                               "HttpOnly"}
    # Opaque: neither the address nor the port of any endpoint shows.
    for ep in pool.endpoints:
        assert str(ep["port"]) not in value and "127" not in value
    first = backend_of(body)
    for _ in range(20):
        status, hdrs, body = get(pool.port, "/sticky", headers={"Cookie": f"route={value}"})
        assert backend_of(body) == first
        assert "set-cookie" not in hdrs  # already pinned
    # Without the cookie, round robin spreads new clients.
    assert len({backend_of(get(pool.port, "/sticky")[2]) for _ in range(8)}) > 1


def test_affinity_cookie_naming_a_gone_endpoint_repicks(pool):
    status, hdrs, _ = get(pool.port, "/sticky", headers={"Cookie": "route=0123456789abcdef"})
    assert status == 200
    assert hdrs["set-cookie"][0].startswith("route=")
    assert not hdrs["set-cookie"][0].startswith("route=0123456789abcdef")


# --- compression --------------------------------------------------------------------

@pytest.fixture(scope="module")
def compressing(module_launch):
    backend = module_launch.backend("zip")
    off = route("off", "/off", "c1")
    off["compression"] = {}
    gzip_only = route("gzip-only", "/gz", "c1")
    gzip_only["compression"] = {"gzip": True}
    settings = {"compression": {"gzip": True, "brotli": True, "minLength": 100,
                                "mimeTypes": ["application/json", "application/octet-stream"]}}
    snap = snapshot([vhost("vh", [], [route("r", "/", "c1"), off, gzip_only])],
                    {"c1": ({}, [backend.endpoint()])}, settings=settings)
    return module_launch.dataplane(snap, extra_args=["--h2c"])


def decode_br(data):
    if brotli is not None:
        return brotli.decompress(data)
    return None


def test_gzip_decodes_to_the_original_streamed(compressing):
    n = 300000
    status, hdrs, body = get(compressing.port, f"/bytes/{n}?chunked=1",
                             headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert hdrs["content-encoding"] == ["gzip"]
    assert "content-length" not in hdrs
    assert hdrs["vary"] == ["Accept-Encoding"]
    assert len(body) < n / 4
    assert hashlib.sha256(gzip.decompress(body)).hexdigest() == pattern_sha256(n)


def test_brotli_preferred_and_decodes(compressing):
    n = 200000
    status, hdrs, body = get(compressing.port, f"/bytes/{n}",
                             headers={"Accept-Encoding": "gzip, br"})
    assert status == 200
    assert hdrs["content-encoding"] == ["br"]
    assert len(body) < n / 4
    if brotli is not None:
        assert hashlib.sha256(decode_br(body)).hexdigest() == pattern_sha256(n)
    # curl's own brotli decoder, whichever Python has.
    proc = subprocess.run(["curl", "-sS", "--compressed", "-H", "Accept-Encoding: br",
                           f"http://127.0.0.1:{compressing.port}/bytes/{n}"],
                          capture_output=True, timeout=30)
    assert hashlib.sha256(proc.stdout).hexdigest() == pattern_sha256(n)


def test_q_values_choose(compressing):
    _, hdrs, body = get(compressing.port, "/bytes/5000",
                        headers={"Accept-Encoding": "br;q=0.2, gzip;q=0.9"})
    assert hdrs["content-encoding"] == ["gzip"]
    _, hdrs, body = get(compressing.port, "/bytes/5000", headers={"Accept-Encoding": "br;q=0"})
    assert "content-encoding" not in hdrs and len(body) == 5000


def test_http2_downstream_compressed(compressing):
    n = 100000
    proc = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "--compressed",
                           "-H", "Accept-Encoding: br", "-D", "-", "-o", "/dev/null",
                           f"http://127.0.0.1:{compressing.port}/bytes/{n}"],
                          capture_output=True, timeout=30)
    assert b"HTTP/2 200" in proc.stdout
    assert b"content-encoding: br" in proc.stdout.lower()
    proc = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "--compressed",
                           f"http://127.0.0.1:{compressing.port}/bytes/{n}"],
                          capture_output=True, timeout=30)
    assert hashlib.sha256(proc.stdout).hexdigest() == pattern_sha256(n)


def test_already_encoded_is_not_recompressed(compressing):
    _, hdrs, body = get(compressing.port, "/x?hdr=Content-Encoding:gzip",
                        headers={"Accept-Encoding": "gzip, br"})
    assert hdrs["content-encoding"] == ["gzip"]  # the upstream's, alone
    assert json.loads(body)["name"] == "zip"     # the bytes as the upstream sent them


def test_small_unlisted_or_not_asked_is_left_alone(compressing):
    _, hdrs, body = get(compressing.port, "/x")  # no Accept-Encoding
    assert "content-encoding" not in hdrs and hdrs["vary"] == ["Accept-Encoding"]
    assert json.loads(body)["name"] == "zip"
    _, hdrs, body = get(compressing.port, "/bytes/50", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in hdrs and len(body) == 50  # below minLength


def test_route_override(compressing):
    _, hdrs, _ = get(compressing.port, "/off/bytes/5000", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in hdrs
    _, hdrs, _ = get(compressing.port, "/gz/bytes/5000", headers={"Accept-Encoding": "br, gzip"})
    assert hdrs["content-encoding"] == ["gzip"]


# --- PROXY protocol ------------------------------------------------------------------

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def v2_header(src, dst, sport, dport):
    body = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport)
    return V2_SIGNATURE + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


def raw_exchange(port, data, timeout=5):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and b"}\n" in chunks[-1]:
                break
        return b"".join(chunks)


REQUEST = b"GET /pp HTTP/1.1\r\nHost: t.test\r\nConnection: close\r\n\r\n"


@pytest.fixture(scope="module", params=["flag", "settings"])
def proxied(request, module_launch):
    backend = module_launch.backend(f"pp-{request.param}")
    settings = {"useProxyProtocol": True} if request.param == "settings" else None
    snap = snapshot([vhost("vh", [], [route("r", "/", "c1")])],
                    {"c1": ({}, [backend.endpoint()])}, settings=settings)
    extra = ["--proxy-protocol"] if request.param == "flag" else []
    return module_launch.dataplane(snap, extra_args=extra)


def echo_of(response):
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), response[:200]
    return json.loads(body)


def test_proxy_v1_source_becomes_the_client(proxied):
    echo = echo_of(raw_exchange(proxied.port,
                                b"PROXY TCP4 203.0.113.7 127.0.0.1 40000 80\r\n" + REQUEST))
    assert header_values(echo, "x-real-ip") == ["203.0.113.7"]
    assert header_values(echo, "x-forwarded-for") == ["203.0.113.7"]


def test_proxy_v1_ipv6(proxied):
    echo = echo_of(raw_exchange(proxied.port, b"PROXY TCP6 2001:db8::9 ::1 40000 80\r\n" + REQUEST))
    assert header_values(echo, "x-real-ip") == ["2001:db8::9"]


def test_proxy_v2_source_becomes_the_client(proxied):
    echo = echo_of(raw_exchange(proxied.port,
                                v2_header("198.51.100.23", "127.0.0.1", 1234, 80) + REQUEST))
    assert header_values(echo, "x-real-ip") == ["198.51.100.23"]


def test_proxy_v2_local_keeps_the_peer(proxied):
    local = V2_SIGNATURE + bytes([0x20, 0x00, 0, 0])
    echo = echo_of(raw_exchange(proxied.port, local + REQUEST))
    assert header_values(echo, "x-real-ip") == ["127.0.0.1"]


@pytest.mark.parametrize("data", [
    REQUEST,                                                   # no header at all
    b"PROXY TCP4 203.0.113.7 127.0.0.1 40000\r\n" + REQUEST,   # a field missing
    b"PROXY TCP4 999.0.113.7 127.0.0.1 1 2\r\n" + REQUEST,
    V2_SIGNATURE + bytes([0x31, 0x11, 0, 12]) + bytes(12) + REQUEST,  # version 3
    b"PROXY " + b"A" * 200,
])
def test_connection_without_a_valid_header_is_closed(proxied, data):
    # Closed without an answer; unread bytes make the close a reset.
    try:
        assert raw_exchange(proxied.port, data) == b""
    except ConnectionResetError:
        pass
    (line,) = [l for l in proxied.metrics().splitlines()
               if l.startswith("portico_proxy_protocol_errors_total ")]
    assert float(line.split()[1]) >= 1


def test_slow_header_times_out(module_launch):
    backend = module_launch.backend("pp-slow")
    snap = snapshot([vhost("vh", [], [route("r", "/", "c1")])], {"c1": ({}, [backend.endpoint()])},
                    settings={"useProxyProtocol": True, "clientHeaderTimeout": "1s"})
    proxy = module_launch.dataplane(snap)
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as s:
        s.sendall(b"PROXY TCP4 203.0.113.7 ")
        assert s.recv(100) == b""  # closed by the deadline, not by our timeout


def test_proxy_protocol_before_tls(proxied):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", proxied.https_port), timeout=10) as raw:
        raw.sendall(v2_header("192.0.2.55", "127.0.0.1", 999, 443))
        with ctx.wrap_socket(raw, server_hostname="t.test") as s:
            s.sendall(REQUEST)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    echo = echo_of(data)
    assert header_values(echo, "x-real-ip") == ["192.0.2.55"]
    assert header_values(echo, "x-forwarded-proto") == ["https"]
