"""Websockets over HTTP/1.1 through the proxy: the Upgrade reaches the
upstream on a connection of its own, a 101 turns both connections into a byte
tunnel (messages of any size, either side closing, an idle timeout), and an
upstream that answers anything but 101 gives an ordinary response."""

import asyncio
import json
import time

import pytest
import websockets

from harness import PYTHON, ROOT, Process, curl, route, snapshot, vhost, wait_until

WS_BACKEND = ROOT / "tests" / "backends" / "ws_backend.py"


class WsBackend(Process):
    def __init__(self, workdir):
        super().__init__([PYTHON, WS_BACKEND, "--host", "127.0.0.1", "--port", "0"], workdir,
                         "backend-ws")
        with self.stopped_on_error():
            self.port = int(self.wait_for_output(r"PORT (\d+)", 10, "stdout").group(1))

    def endpoint(self):
        return {"address": "127.0.0.1", "port": self.port, "ready": True}


@pytest.fixture
def proxy(launch, tmp_path):
    """/ws -> the websocket echo server, everything else -> the HTTP echo backend."""
    return start(launch, tmp_path, {})


def start(launch, tmp_path, ws_cluster_opts):
    ws = launch._track(lambda: WsBackend(tmp_path))
    echo = launch.backend("echo")
    snap = snapshot([vhost("vh", [], [route("ws", "/ws", "ws"), route("r1", "/", "c1")])],
                    {"ws": (ws_cluster_opts, [ws.endpoint()]), "c1": ({}, [echo.endpoint()])})
    return launch.dataplane(snap)


def connect(proxy, path="/ws"):
    return websockets.connect(f"ws://127.0.0.1:{proxy.port}{path}", max_size=None,
                              ping_interval=None, open_timeout=5, close_timeout=5)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_text_and_binary_echo(proxy):
    async def go():
        async with connect(proxy) as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"
            await ws.send(b"\x00\x01\xffbinary")
            assert await ws.recv() == b"\x00\x01\xffbinary"
    run(go())


def test_one_mebibyte_message(proxy):
    payload = bytes(range(256)) * 4096

    async def go():
        async with connect(proxy) as ws:
            await ws.send(payload)
            assert await ws.recv() == payload
    run(go())


def test_hundred_messages_in_a_row(proxy):
    async def go():
        async with connect(proxy) as ws:
            for i in range(100):
                await ws.send(f"message {i}")
            for i in range(100):
                assert await ws.recv() == f"message {i}"
    run(go())


def test_server_close_propagates(proxy):
    async def go():
        async with connect(proxy) as ws:
            await ws.send("close-me")
            with pytest.raises(websockets.exceptions.ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 4000
            assert ws.close_reason == "server-bye"
    run(go())


def test_client_close_propagates(proxy):
    async def go():
        ws = await connect(proxy)
        await ws.send("x")
        assert await ws.recv() == "x"
        await ws.close(code=1000, reason="client-bye")
        # The server's answering close frame came back through the tunnel.
        assert ws.close_code == 1000
        assert ws.close_reason == "client-bye"
    run(go())
    # Both sockets of the tunnel are gone once each side closed.
    wait_until(lambda: active_connections(proxy) == 0, 5, "the tunnel to close")


def active_connections(proxy):
    """Open client connections (a tunnel counts as one)."""
    lines = [line for line in proxy.metrics().splitlines()
             if line.startswith("portico_downstream_connections_active{")]
    assert lines, "no portico_downstream_connections_active metric"
    return sum(int(float(line.split()[-1])) for line in lines)


def test_idle_timeout_closes_tunnel(launch, tmp_path):
    proxy = start(launch, tmp_path, {"responseTimeout": "1s"})

    async def go():
        async with connect(proxy) as ws:
            await ws.send("alive")
            assert await ws.recv() == "alive"
            started = time.monotonic()
            with pytest.raises(websockets.exceptions.ConnectionClosedError):
                await ws.recv()
            assert 0.8 <= time.monotonic() - started < 10
    run(go())


def test_non_101_answer_is_an_ordinary_response(proxy):
    async def go():
        # "/" is the plain HTTP echo backend: it answers the upgrade with a 200.
        with pytest.raises(websockets.exceptions.InvalidStatusCode) as err:
            async with connect(proxy, "/plain"):
                pass
        assert err.value.status_code == 200
    run(go())
    status, _ = curl(f"http://127.0.0.1:{proxy.port}/after")
    assert status == 200


def test_plain_requests_served_while_tunnels_are_open(proxy):
    async def go():
        sockets = [await connect(proxy) for _ in range(5)]
        for i in range(20):
            status, body = await asyncio.to_thread(curl, f"http://127.0.0.1:{proxy.port}/p{i}")
            assert status == 200
            ws = sockets[i % len(sockets)]
            await ws.send(f"m{i}")
            assert await ws.recv() == f"m{i}"
        for ws in sockets:
            await ws.close()
    run(go())


def test_other_upgrades_are_stripped(proxy):
    status, body = curl("-H", "Connection: upgrade", "-H", "Upgrade: h2c",
                        f"http://127.0.0.1:{proxy.port}/x")
    assert status == 200
    names = [n.lower() for n, _ in json.loads(body)["headers"]]
    assert "upgrade" not in names


def test_http2_extended_connect_is_refused(launch, tmp_path):
    """RFC 8441 is not implemented: the server does not announce
    SETTINGS_ENABLE_CONNECT_PROTOCOL, and a CONNECT with :protocol gets a
    clean stream error while the connection goes on serving."""
    from h2raw import HEADERS, PROTOCOL_ERROR, RST_STREAM, SETTINGS, RawH2

    echo = launch.backend("echo")
    snap = snapshot([vhost("vh", [], [route("r1", "/", "c1")])], {"c1": ({}, [echo.endpoint()])})
    proxy = launch.dataplane(snap, extra_args=["--h2c"])
    c = RawH2(proxy.port)
    try:
        server_settings = c.wait_for(lambda f: f.type == SETTINGS and not f.flags & 1)
        ids = [int.from_bytes(server_settings.payload[i:i + 2], "big")
               for i in range(0, len(server_settings.payload), 6)]
        assert 0x8 not in ids  # SETTINGS_ENABLE_CONNECT_PROTOCOL
        c.request(1, "/ws", method="CONNECT", extra=[(":protocol", "websocket")])
        answer = c.wait_for(lambda f: f.stream_id == 1 and f.type in (HEADERS, RST_STREAM))
        # nghttp2 itself refuses :protocol when the setting was not sent.
        assert answer is not None and answer.type == RST_STREAM
        assert answer.error_code() == PROTOCOL_ERROR
        c.request(3, "/after")
        ok = c.wait_for(lambda f: f.stream_id == 3 and f.type == HEADERS)
        assert ok is not None and RawH2.status(ok) == 200
    finally:
        c.close()


def ws_frame(opcode, payload):
    """A client frame, masked with the zero key (valid, and the payload stays as is)."""
    n = len(payload)
    if n < 126:
        length = bytes([0x80 | n])
    elif n < 65536:
        length = bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        length = bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return bytes([0x80 | opcode]) + length + b"\0\0\0\0" + payload


def test_backpressure_bounds_proxy_memory(proxy):
    """An upstream that stops reading: the tunnel must stop reading the
    client rather than buffer what it sends."""
    import base64
    import os
    import socket

    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    key = base64.b64encode(os.urandom(16))
    sock.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                 b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                 b"Sec-WebSocket-Key: " + key + b"\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 101 "), head
    sock.sendall(ws_frame(1, b"stall"))
    base = proxy.rss_kb()
    frame = ws_frame(2, bytes(range(256)) * 4096)  # 1 MiB
    sock.setblocking(False)
    pushed, idle_since, limit = 0, time.monotonic(), 512 * 1024 * 1024
    view = memoryview(frame)
    offset = 0
    while pushed < limit and time.monotonic() - idle_since < 1.0:
        try:
            n = sock.send(view[offset:])
        except BlockingIOError:
            time.sleep(0.01)
            continue
        pushed += n
        offset = (offset + n) % len(frame)
        idle_since = time.monotonic()
    try:
        assert pushed < limit, "the proxy never pushed back"
        assert proxy.rss_kb() - base < 16 * 1024
    finally:
        sock.close()


def test_drain_waits_for_tunnels_then_closes_them(launch, tmp_path):
    import signal
    ws_backend = launch._track(lambda: WsBackend(tmp_path))
    snap = snapshot([vhost("vh", [], [route("ws", "/ws", "ws")])],
                    {"ws": ({}, [ws_backend.endpoint()])})
    proxy = launch.dataplane(snap, drain_timeout="2s")

    async def go():
        async with connect(proxy) as ws:
            proxy.signal(signal.SIGTERM)
            started = time.monotonic()
            # The tunnel keeps working while the drain waits for it.
            await ws.send("during drain")
            assert await ws.recv() == "during drain"
            with pytest.raises(websockets.exceptions.ConnectionClosed):
                await ws.recv()
            assert time.monotonic() - started >= 1.5
    run(go())
    assert proxy.wait_exit(10) is not None


def test_upgrade_answer_gets_the_header_policies(launch, tmp_path):
    """response-headers and hide-backend-identity apply to the 101 as to any
    response; the handshake's Sec-WebSocket-* fields survive any edit."""
    ws = launch._track(lambda: WsBackend(tmp_path))
    r = route("ws", "/ws", "ws")
    r["responseHeaders"] = {"ops": [
        {"kind": "KIND_SET", "name": "x-frame-options", "value": "DENY"},
        {"kind": "KIND_REMOVE", "name": "sec-websocket-accept"}]}
    snap = snapshot([vhost("vh", [], [r])], {"ws": ({}, [ws.endpoint()])},
                    settings={"hideBackendIdentity": True})
    proxy = launch.dataplane(snap)

    async def go():
        async with connect(proxy) as conn:  # the client checks Sec-WebSocket-Accept
            headers = conn.response_headers
            await conn.send("still a tunnel")
            assert await conn.recv() == "still a tunnel"
            return headers
    headers = run(go())
    assert headers.get_all("X-Frame-Options") == ["DENY"]
    assert headers.get_all("Server") == []
    assert len(headers.get_all("Sec-WebSocket-Accept")) == 1
