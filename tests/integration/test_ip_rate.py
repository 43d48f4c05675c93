"""IP filtering and rate limiting through the real data plane. Distinct
clients are distinct loopback source addresses (127.0.0.2, 127.0.0.3, ...);
127.0.0.5 is the one trusted proxy, so its X-Forwarded-For counts and nobody
else's does."""

import http.client
import re
import socket
import threading
import time

import h2.config
import h2.connection
import h2.events

import pytest

from controller_harness import (NAMESPACE, ControlledDataplane, Controller, ManifestDir,
                                endpoints, ingress, ingress_class, service,
                                settings_config_map, subdir)
from controller_harness import start as track
from harness import route, snapshot, vhost, wait_until

TRUSTED = "127.0.0.5"


def get(proxy, host, source, headers=None, path="/", timeout=10):
    """GET from a given loopback source address; returns (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=timeout,
                                      source_address=(source, 0))
    try:
        conn.request("GET", path, headers={"Host": host, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), resp.read()
    finally:
        conn.close()


def rejected(proxy, policy):
    match = re.search(rf'^portico_requests_rejected_total{{policy="{policy}"}} (\S+)$',
                      proxy.metrics(), re.M)
    assert match, f"no rejection series for {policy}"
    return float(match.group(1))


def filtered_route(name, ip_filter=None, rate_limit=None):
    r = route(name, "/", "web")
    if ip_filter is not None:
        r["ipFilter"] = ip_filter
    if rate_limit is not None:
        r["rateLimit"] = rate_limit
    return r


@pytest.fixture(scope="module")
def backend(module_launch):
    return module_launch.backend("web")


@pytest.fixture(scope="module")
def proxy(module_launch, backend):
    vhosts = [
        vhost("allow", ["allow.test"], [filtered_route(
            "allow", {"allow": ["127.0.0.2/32", "10.9.0.0/16", "::1/128"]})]),
        vhost("deny", ["deny.test"], [filtered_route("deny", {"deny": ["127.0.0.3/32"]})]),
        vhost("closed", ["closed.test"], [filtered_route("closed", {"denyAll": True})]),
        vhost("rate", ["rate.test"], [filtered_route(
            "rate", rate_limit={"rps": 1, "burstMultiplier": 3, "exempt": ["127.0.0.4/32"],
                                "zone": "default/rate"})]),
        vhost("conn", ["conn.test"], [filtered_route(
            "conn", rate_limit={"connections": 2, "zone": "default/conn"})]),
        vhost("open", ["open.test"], [route("open", "/", "web")]),
    ]
    snap = snapshot(vhosts, {"web": ({}, [backend.endpoint()])})
    return module_launch.dataplane(snap, trusted_proxies=[f"{TRUSTED}/32"])


def test_allow_list_admits_only_its_clients(proxy):
    assert get(proxy, "allow.test", "127.0.0.2")[0] == 200
    status, _, body = get(proxy, "allow.test", "127.0.0.1")
    assert status == 403, body
    assert get(proxy, "open.test", "127.0.0.1")[0] == 200  # other routes are not filtered


def test_spoofed_forwarded_for_from_an_untrusted_peer_is_still_denied(proxy):
    before = rejected(proxy, "ip_filter")
    for spoof in ["127.0.0.2", "10.9.1.1", "127.0.0.2, 127.0.0.2", "::1"]:
        status, _, _ = get(proxy, "allow.test", "127.0.0.1",
                           {"X-Forwarded-For": spoof, "X-Real-IP": "127.0.0.2"})
        assert status == 403, spoof
    assert rejected(proxy, "ip_filter") >= before + 4


def test_forwarded_for_from_a_trusted_proxy_is_honoured(proxy):
    assert get(proxy, "allow.test", TRUSTED, {"X-Forwarded-For": "10.9.3.4"})[0] == 200
    # The right-most untrusted hop is the client: a spoofed entry further left
    # does not help a client outside the list.
    assert get(proxy, "allow.test", TRUSTED,
               {"X-Forwarded-For": "10.9.3.4, 192.0.2.7"})[0] == 403
    # The trusted proxy itself is not on the list.
    assert get(proxy, "allow.test", TRUSTED)[0] == 403


def test_deny_list(proxy):
    assert get(proxy, "deny.test", "127.0.0.3")[0] == 403
    assert get(proxy, "deny.test", "127.0.0.2")[0] == 200
    assert get(proxy, "deny.test", TRUSTED, {"X-Forwarded-For": "127.0.0.3"})[0] == 403
    assert get(proxy, "deny.test", "127.0.0.3", {"X-Forwarded-For": "127.0.0.9"})[0] == 403


def test_fail_closed_route_refuses_everyone(proxy):
    for source in ["127.0.0.1", "127.0.0.2", TRUSTED]:
        assert get(proxy, "closed.test", source)[0] == 403


def burst_until_limited(proxy, host, source, limit=50):
    """Requests back to back on one keep-alive connection until one is refused."""
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10,
                                      source_address=(source, 0))
    statuses = []
    try:
        for _ in range(limit):
            conn.request("GET", "/", headers={"Host": host})
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
            if resp.status != 200:
                return statuses, dict((k.lower(), v) for k, v in resp.getheaders())
    finally:
        conn.close()
    return statuses, {}


def test_rate_limit_429_after_the_burst_with_retry_after_then_recovers(proxy):
    before = rejected(proxy, "rate_limit")
    statuses, headers = burst_until_limited(proxy, "rate.test", "127.0.0.6")
    # A bucket of rps x multiplier = 3 requests; refills add at most a few
    # while the burst runs.
    assert statuses[-1] == 429, statuses
    assert len(statuses) >= 4 and set(statuses[:3]) == {200}, statuses
    assert headers.get("retry-after") == "1"
    assert rejected(proxy, "rate_limit") >= before + 1
    # Another client has its own bucket.
    assert get(proxy, "rate.test", "127.0.0.7")[0] == 200
    # One token per second: waiting recovers.
    wait_until(lambda: get(proxy, "rate.test", "127.0.0.6")[0] == 200, 10,
               "the rate-limited client to be served again", interval=0.2)


def test_limit_whitelist_is_exempt(proxy):
    statuses, _ = burst_until_limited(proxy, "rate.test", "127.0.0.4", limit=30)
    assert statuses == [200] * 30


def test_rate_limit_counts_the_forwarded_client_behind_a_trusted_proxy(proxy):
    statuses, _ = burst_until_limited(proxy, "rate.test", TRUSTED)
    assert statuses[-1] == 429
    # Behind the same proxy, another client is another bucket.
    assert get(proxy, "rate.test", TRUSTED, {"X-Forwarded-For": "192.0.2.44"})[0] == 200


@pytest.mark.timeout_s(60)
def test_limit_connections_refuses_concurrent_requests_beyond_the_limit(proxy, backend):
    before = rejected(proxy, "limit_connections")
    results = []

    def held_request():
        results.append(get(proxy, "conn.test", "127.0.0.8", path="/?hold_body=1",
                           timeout=30)[0])

    threads = [threading.Thread(target=held_request) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: backend.stats()["held"] >= 2, 10, "two requests held by the backend")
        status, headers, _ = get(proxy, "conn.test", "127.0.0.8")
        assert status == 503
        assert rejected(proxy, "limit_connections") >= before + 1
        # Other clients are counted on their own.
        assert get(proxy, "conn.test", "127.0.0.9")[0] == 200
    finally:
        backend.release()
        for t in threads:
            t.join(20)
    assert results == [200, 200]
    # The slots were given back.
    assert get(proxy, "conn.test", "127.0.0.8")[0] == 200


def test_repeat_offenders_are_blocked_on_every_route_for_the_cool_down(launch):
    backend = launch.backend("web")
    vhosts = [
        vhost("rate", ["rate.test"], [filtered_route(
            "rate", rate_limit={"rps": 1, "burstMultiplier": 1, "zone": "z"})]),
        vhost("open", ["open.test"], [route("open", "/", "web")]),
    ]
    settings = {"rateLimit": {"statusCode": 503, "blockAfter": 2, "blockWindow": "60s",
                              "blockDuration": "2s"}}
    proxy = launch.dataplane(snapshot(vhosts, {"web": ({}, [backend.endpoint()])},
                                      settings=settings))
    offender = "127.0.0.10"
    assert get(proxy, "open.test", offender)[0] == 200
    # Two refusals (status 503 from limit-req-status-code) make a block.
    refused = 0
    for _ in range(20):
        status, _, _ = get(proxy, "rate.test", offender)
        if status != 200:
            assert status == 503
            refused += 1
        if refused == 2:
            break
    assert refused == 2
    status, headers, _ = get(proxy, "open.test", offender)
    assert status == 503
    assert 1 <= int(headers["retry-after"]) <= 2
    assert get(proxy, "open.test", "127.0.0.11")[0] == 200
    wait_until(lambda: get(proxy, "open.test", offender)[0] == 200, 10,
               "the block to end", interval=0.2)


# --- annotations and settings through the real controller --------------------------

@pytest.mark.timeout_s(90)
def test_annotations_and_settings_through_the_controller(launch):
    echo = launch.backend("echo")
    manifests = ManifestDir(launch.tmp_dir / "manifests")
    manifests.write("00-base.yaml", [
        ingress_class(), service("echo"), endpoints("echo", [echo]),
        settings_config_map("portico-settings", {
            "denylist-source-range": "127.0.0.3/32",
            "use-forwarded-headers": "true", "proxy-real-ip-cidr": f"{TRUSTED}/32",
            "limit-req-status-code": "503"})])
    nginx = "nginx.ingress.kubernetes.io/"
    manifests.write("10-ingresses.yaml", [
        ingress("allow", "allow.test", [("/", "echo", 80)],
                annotations={nginx + "whitelist-source-range": "127.0.0.2, 10.9.0.0/16"}),
        ingress("broken", "broken.test", [("/", "echo", 80)],
                annotations={"portico.dev/allowlist-source-range": "127.0.0.2, 10.9.0.0/33"}),
        ingress("rate", "rate.test", [("/", "echo", 80)],
                annotations={nginx + "limit-rps": "1", nginx + "limit-burst-multiplier": "2",
                             nginx + "limit-allowlist": "127.0.0.4"}),
        ingress("open", "open.test", [("/", "echo", 80)])])
    controller = track(launch, lambda: Controller(
        subdir(launch, "controller"), manifests.path,
        extra_args=[f"--settings_config_map={NAMESPACE}/portico-settings"]))
    dp = track(launch, lambda: ControlledDataplane(subdir(launch, "dp"), [controller.address],
                                                   "dp", workers=2))
    wait_until(lambda: get(dp, "open.test", "127.0.0.2")[0] == 200, 20, "the routes to be served")

    log = controller.stderr()
    assert re.search(r"InvalidAnnotation: annotation portico.dev/allowlist-source-range is not "
                     r"a CIDR list.*fail closed", log), log[-3000:]

    # The Ingress's allow-list; a spoofed header from an untrusted peer does not help,
    # the same header from the ConfigMap's trusted proxy does.
    assert get(dp, "allow.test", "127.0.0.2")[0] == 200
    assert get(dp, "allow.test", "127.0.0.6")[0] == 403
    assert get(dp, "allow.test", "127.0.0.6", {"X-Forwarded-For": "10.9.0.1"})[0] == 403
    assert get(dp, "allow.test", TRUSTED, {"X-Forwarded-For": "10.9.0.1"})[0] == 200
    # An invalid allow-list fails closed, even for the client it meant to allow.
    assert get(dp, "broken.test", "127.0.0.2")[0] == 403
    # The ConfigMap's deny-list applies to every Ingress.
    assert get(dp, "open.test", "127.0.0.3")[0] == 403
    assert get(dp, "allow.test", "127.0.0.3")[0] == 403
    # Rate limit: a burst of 2, then limit-req-status-code (503) with Retry-After;
    # the limit-allowlist client is never limited.
    statuses, headers = burst_until_limited(dp, "rate.test", "127.0.0.7")
    assert statuses[-1] == 503 and set(statuses[:2]) == {200}, statuses
    assert headers.get("retry-after") == "1"
    assert burst_until_limited(dp, "rate.test", "127.0.0.4", limit=20)[0] == [200] * 20
    assert rejected(dp, "ip_filter") >= 5
    assert rejected(dp, "rate_limit") >= 1


def test_limit_connections_counts_requests_in_flight_not_idle_keep_alive(proxy):
    # conn.test allows 2 concurrent requests per client: three keep-alive
    # connections that each finished a request hold nothing, so all are served,
    # and again on each of them.
    conns = [http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10,
                                        source_address=("127.0.0.12", 0)) for _ in range(3)]
    try:
        for _ in range(2):
            for conn in conns:
                conn.request("GET", "/", headers={"Host": "conn.test"})
                resp = conn.getresponse()
                resp.read()
                assert resp.status == 200
    finally:
        for conn in conns:
            conn.close()


class H2Client:
    """h2c with prior knowledge from a given loopback source, on the h2 library."""

    def __init__(self, port, source):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10,
                                             source_address=(source, 0))
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())
        self.status = {}
        self.ended = set()

    def get(self, stream_id, host, path):
        self.conn.send_headers(stream_id, [(":method", "GET"), (":scheme", "http"),
                                           (":authority", host), (":path", path)],
                               end_stream=True)
        self.sock.sendall(self.conn.data_to_send())

    def read_until(self, done, seconds=10):
        deadline = time.monotonic() + seconds
        while not done():
            assert time.monotonic() < deadline, f"h2 responses so far: {self.status}"
            data = self.sock.recv(65536)
            assert data, "connection closed"
            for event in self.conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    self.status[event.stream_id] = int(dict(event.headers)[b":status"])
                elif isinstance(event, h2.events.DataReceived):
                    self.conn.acknowledge_received_data(event.flow_controlled_length,
                                                        event.stream_id)
                elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                    self.ended.add(event.stream_id)
            self.sock.sendall(self.conn.data_to_send())

    def close(self):
        self.sock.close()


@pytest.mark.timeout_s(60)
def test_limit_connections_counts_each_http2_stream(launch):
    backend = launch.backend("web")
    vhosts = [vhost("conn", ["conn.test"], [filtered_route(
        "conn", rate_limit={"connections": 2, "zone": "default/conn"})])]
    proxy = launch.dataplane(snapshot(vhosts, {"web": ({}, [backend.endpoint()])}),
                             extra_args=["--h2c"])
    client = H2Client(proxy.port, "127.0.0.13")
    try:
        client.get(1, "conn.test", "/?hold_body=1")
        client.get(3, "conn.test", "/?hold_body=1")
        wait_until(lambda: backend.stats()["held"] >= 2, 10, "two streams held by the backend")
        # A third stream on the same connection is one request too many.
        client.get(5, "conn.test", "/")
        client.read_until(lambda: 5 in client.ended)
        assert client.status[5] == 503
        assert rejected(proxy, "limit_connections") == 1
        backend.release()
        client.read_until(lambda: {1, 3} <= client.ended)
        assert client.status[1] == client.status[3] == 200
        # Their slots were given back: the same connection is served again.
        client.get(7, "conn.test", "/")
        client.read_until(lambda: 7 in client.ended)
        assert client.status[7] == 200
    finally:
        backend.release()
        client.close()
