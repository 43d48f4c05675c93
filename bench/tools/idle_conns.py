#!/usr/bin/python3
"""Opens N keep-alive connections to a proxy on loopback, sends one request on
each (HTTP/1.1 in clear, or HTTP/2 over TLS with ALPN h2), reads the whole
response, and then leaves the connections idle so that the proxy's memory per
idle connection can be measured.

Prints "READY <open connections> <failed>" on stdout once every connection is
idle, then holds them until stdin is closed (or --hold seconds pass), and
exits. At most --window connections are being set up at a time. Stdlib only:
the HTTP/2 frames are written by hand (preface, SETTINGS, one HEADERS frame
with a static-table HPACK block), so the client stays small at 10,000
connections."""

import argparse
import selectors
import socket
import ssl
import struct
import sys
import time

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
FRAME_DATA, FRAME_HEADERS, FRAME_SETTINGS, FRAME_PING, FRAME_GOAWAY = 0, 1, 4, 6, 7
FLAG_END_STREAM, FLAG_ACK = 0x1, 0x1


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(
        ">I", stream) + payload


def h2_request(authority):
    # :method GET (2), :path / (4), :scheme https (7), :authority (name 1, literal value).
    block = bytes([0x82, 0x84, 0x87, 0x01, len(authority)]) + authority.encode()
    return (H2_PREFACE + frame(FRAME_SETTINGS, 0, 0) +
            frame(FRAME_HEADERS, 0x4 | FLAG_END_STREAM, 1, block))


class Conn:
    __slots__ = ("sock", "state", "out", "buf", "done", "tls")

    def __init__(self, sock, tls):
        self.sock = sock
        self.tls = tls
        self.state = "connect"
        self.out = b""
        self.buf = b""
        self.done = False


def h1_response_complete(buf):
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    head = buf[:head_end].lower()
    body = buf[head_end + 4:]
    for line in head.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    if b"transfer-encoding: chunked" in head:
        return body.endswith(b"0\r\n\r\n")
    return False


def h2_consume(conn):
    """Parses whole frames in conn.buf; answers SETTINGS and PING; marks done
    at END_STREAM on stream 1."""
    while len(conn.buf) >= 9:
        length = int.from_bytes(conn.buf[:3], "big")
        if len(conn.buf) < 9 + length:
            return
        ftype, flags = conn.buf[3], conn.buf[4]
        stream = int.from_bytes(conn.buf[5:9], "big") & 0x7FFFFFFF
        payload = conn.buf[9:9 + length]
        conn.buf = conn.buf[9 + length:]
        if ftype == FRAME_SETTINGS and not flags & FLAG_ACK:
            conn.out += frame(FRAME_SETTINGS, FLAG_ACK, 0)
        elif ftype == FRAME_PING and not flags & FLAG_ACK:
            conn.out += frame(FRAME_PING, FLAG_ACK, 0, payload)
        elif ftype == FRAME_GOAWAY:
            raise ConnectionError("GOAWAY")
        elif ftype in (FRAME_DATA, FRAME_HEADERS) and stream == 1 and flags & FLAG_END_STREAM:
            conn.done = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--proto", choices=("h1", "h2"), default="h1")
    ap.add_argument("--window", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=120, help="to open them all")
    ap.add_argument("--hold", type=float, default=120, help="at most, once idle")
    args = ap.parse_args()
    host = "localhost"
    request = (b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n" if args.proto == "h1" else
               h2_request(host))
    ctx = None
    if args.proto == "h2":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])

    sel = selectors.DefaultSelector()
    started = idle = failed = 0
    pending = 0
    conns = []
    deadline = time.monotonic() + args.timeout

    def start_one():
        nonlocal started, pending
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", args.port))
        conn = Conn(sock, ctx is not None)
        conns.append(conn)
        sel.register(sock, selectors.EVENT_WRITE, conn)
        started += 1
        pending += 1

    def fail(conn):
        nonlocal failed, pending
        failed += 1
        pending -= 1
        sel.unregister(conn.sock)
        conn.sock.close()
        conn.state = "failed"

    while (idle + failed) < args.count and time.monotonic() < deadline:
        while pending < args.window and started < args.count:
            start_one()
        for key, _ in sel.select(timeout=1):
            conn = key.data
            try:
                if conn.state == "connect":
                    err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, "connect")
                    if conn.tls:
                        conn.sock = ctx.wrap_socket(conn.sock, server_hostname=host,
                                                    do_handshake_on_connect=False)
                        conn.state = "handshake"
                    else:
                        conn.state = "send"
                        conn.out = request
                if conn.state == "handshake":
                    try:
                        conn.sock.do_handshake()
                    except ssl.SSLWantReadError:
                        sel.modify(conn.sock, selectors.EVENT_READ, conn)
                        continue
                    except ssl.SSLWantWriteError:
                        sel.modify(conn.sock, selectors.EVENT_WRITE, conn)
                        continue
                    if conn.sock.selected_alpn_protocol() != "h2":
                        raise ConnectionError("no h2 by ALPN")
                    conn.state = "send"
                    conn.out = request
                if conn.out:
                    n = conn.sock.send(conn.out)
                    conn.out = conn.out[n:]
                if conn.state == "send" and not conn.out:
                    conn.state = "read"
                if conn.state in ("read", "idle"):
                    try:
                        data = conn.sock.recv(65536)
                    except (BlockingIOError, ssl.SSLWantReadError):
                        data = None
                    if data == b"":
                        raise ConnectionError("closed by the proxy")
                    if data:
                        conn.buf += data
                        if conn.tls:
                            h2_consume(conn)
                        elif conn.state == "read" and h1_response_complete(conn.buf):
                            conn.done = True
                            conn.buf = b""
                    if conn.done and conn.state == "read":
                        conn.state = "idle"
                        idle += 1
                        pending -= 1
                events = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.out else 0)
                sel.modify(conn.sock, events, conn)
            except (OSError, ConnectionError, ssl.SSLError, ValueError) as e:
                if failed < 5:
                    print(f"connection failed: {e!r}", file=sys.stderr)
                if conn.state == "idle":
                    idle -= 1
                    pending += 1
                fail(conn)
    print(f"READY {idle} {failed}", flush=True)
    # Hold: keep answering (PING, SETTINGS) until stdin closes or --hold passes.
    try:
        sel.register(sys.stdin, selectors.EVENT_READ, None)
    except (OSError, ValueError):
        pass  # not a pipe or terminal (/dev/null): hold for --hold
    hold_until = time.monotonic() + args.hold
    while time.monotonic() < hold_until:
        for key, _ in sel.select(timeout=1):
            if key.data is None:
                if not sys.stdin.readline():
                    hold_until = 0
                continue
            conn = key.data
            try:
                data = conn.sock.recv(65536)
                if data == b"":
                    raise ConnectionError("closed")
                conn.buf += data
                if conn.tls:
                    h2_consume(conn)
                if conn.out:
                    conn.sock.send(conn.out)
                    conn.out = b""
            except (BlockingIOError, ssl.SSLWantReadError):
                pass
            except (OSError, ConnectionError, ssl.SSLError, ValueError):
                sel.unregister(conn.sock)
                conn.sock.close()
    for conn in conns:
        conn.sock.close()


if __name__ == "__main__":
    main()
