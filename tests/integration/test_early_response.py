"""A response that is complete before its request body (a 404, a redirect)
is the only response the client gets: the rest of the body is read and dropped
up to a limit (keep-alive survives), beyond it the connection just closes."""

import socket
import time

from harness import single_route_snapshot
from rawhttp import Conn


def test_small_body_to_missing_route_keeps_connection(launch):
    backend = launch.backend("b")
    proxy = launch.dataplane(single_route_snapshot(backend, hostnames=["known.example"]))
    with Conn(proxy.port) as c:
        resp = c.request("POST", "/x", host="unknown.example", body=b"x" * 10000)
        assert resp.status == 404
        # The same connection serves the next request.
        resp = c.request("GET", "/y", host="known.example")
        assert resp.status == 200


def test_huge_body_to_missing_route_gets_one_response_then_close(launch):
    backend = launch.backend("b")
    proxy = launch.dataplane(single_route_snapshot(backend, hostnames=["known.example"]))
    body_size = 8 * 1024 * 1024
    with Conn(proxy.port) as c:
        c.send(b"POST /x HTTP/1.1\r\nHost: unknown.example\r\n"
               b"Content-Length: %d\r\n\r\n" % body_size)
        resp = c.read_response()
        assert resp.status == 404
        # Keep sending: past the discard limit the proxy closes without a
        # second response on the wire.
        chunk = b"y" * 65536
        sent = 0
        deadline = time.monotonic() + 10
        try:
            while sent < body_size and time.monotonic() < deadline:
                c.sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        extra = b""
        try:
            c.sock.settimeout(5)
            while True:
                data = c.sock.recv(65536)
                if not data:
                    break
                extra += data
        except (ConnectionResetError, socket.timeout):
            pass
        assert b"HTTP/1.1" not in c.buf + extra
