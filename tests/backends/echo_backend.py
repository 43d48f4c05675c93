#!/usr/bin/python3
"""A small HTTP/1.1 echo server for Portico's integration tests and demos.

Every answer is JSON describing the request exactly as it arrived: method,
target, version, headers in received order, body length and SHA-256 (bodies
are streamed, never held whole), the peer address, a per-connection id and the
request's number on that connection. Keep-alive and pipelining work because a
connection serves its requests one after another from one buffered reader.

Special paths (any prefix may come first, e.g. a route's: /api/status/503):
  /status/NNN     answer with status NNN
  /delay/MS       answer after MS milliseconds
  /bytes/N        N bytes of PATTERN (Content-Length; ?chunked=1 for chunked)
  /close          answer with "Connection: close" and close
  /abort          close the connection without answering (after reading the body)
  /__stats        counters of this process (connections, requests, ...)
  /__release      wakes every request held by ?hold=1 or ?hold_body=1
Query parameters on any path:
  hdr=Name:Value  add a response header (repeatable)
  hold_body=1     wait for /__release before reading the request body
  hold=1          (/bytes only) send half the body, then wait for /__release
  close=1         (/bytes only) no Content-Length: the body ends when the connection closes
--idle-timeout MS closes keep-alive connections idle for that long (like most servers).
--status N answers every request with status N (a failing endpoint).
--tls-cert FILE --tls-key FILE serve HTTPS (TLS 1.2+, ALPN http/1.1); answers then
  carry "tls": {"sni", "version", "alpn", "resumed"} of their connection.

  echo_backend.py --host 127.0.0.1 --port 0 --name demo
prints "PORT <n>" as its first stdout line once it listens.
"""

import argparse
import asyncio
import collections
import hashlib
import itertools
import json
import ssl
import sys
import urllib.parse

# The /bytes pattern: period 256, so clients can hash what to expect cheaply.
PATTERN = bytes(range(256)) * 1024  # 256 KiB
PREVIEW_BYTES = 1024
MAX_LINE = 1 << 20


class BadRequest(Exception):
    pass


class Stats:
    def __init__(self):
        self.connections = 0
        self.open_connections = 0
        self.requests = 0
        self.in_flight = 0
        self.bytes_sent = 0  # body bytes of /bytes answers
        self.body_bytes = 0  # request body bytes read so far
        self.held = 0  # requests waiting for /__release
        self.recent = collections.deque(maxlen=100)  # "METHOD target" seen

    def as_dict(self):
        return {"connections": self.connections, "open_connections": self.open_connections,
                "requests": self.requests, "in_flight": self.in_flight,
                "bytes_sent": self.bytes_sent, "body_bytes": self.body_bytes,
                "held": self.held, "recent": list(self.recent)}


class Request:
    def __init__(self, method, target, version, headers):
        self.method, self.target, self.version, self.headers = method, target, version, headers
        split = urllib.parse.urlsplit(target)
        self.path = split.path
        self.query = urllib.parse.parse_qs(split.query)

    def header(self, name):
        """All values of a header (case-insensitive), in order."""
        name = name.lower()
        return [v for n, v in self.headers if n.lower() == name]

    def tokens(self, name):
        return [t.strip().lower() for v in self.header(name) for t in v.split(",") if t.strip()]


async def read_line(reader):
    line = await reader.readuntil(b"\n")
    return line[:-2] if line.endswith(b"\r\n") else line[:-1]


async def read_head(reader):
    """Parses a request line and headers; None on a clean EOF between requests."""
    for _ in range(4):  # RFC 9112: ignore a few empty lines before a request
        try:
            line = await read_line(reader)
        except asyncio.IncompleteReadError as e:
            if not e.partial:
                return None
            raise
        if line:
            break
    else:
        raise BadRequest("only empty lines")
    parts = line.decode("latin-1").split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise BadRequest(f"bad request line {line!r}")
    headers = []
    while True:
        line = await read_line(reader)
        if not line:
            break
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(f"bad header line {line!r}")
        headers.append([name, value.strip(" \t")])
        if len(headers) > 1000:
            raise BadRequest("too many headers")
    return Request(parts[0], parts[1], parts[2], headers)


class BodyDigest:
    def __init__(self):
        self.length = 0
        self.sha = hashlib.sha256()
        self.preview = b""

    def update(self, data):
        self.length += len(data)
        self.sha.update(data)
        if len(self.preview) < PREVIEW_BYTES:
            self.preview += data[:PREVIEW_BYTES - len(self.preview)]


async def read_body(req, reader, stats):
    """Streams the request body through a digest; returns (digest, trailers)."""
    digest, trailers = BodyDigest(), []
    te = req.tokens("transfer-encoding")
    if te:
        if te[-1] != "chunked":
            raise BadRequest("transfer-encoding without chunked")
        while True:
            size_line = (await read_line(reader)).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise BadRequest(f"bad chunk size {size_line!r}")
            if size == 0:
                break
            await read_exactly(reader, size, digest, stats)
            if await reader.readexactly(2) != b"\r\n":
                raise BadRequest("chunk not followed by CRLF")
        while True:
            line = await read_line(reader)
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            trailers.append([name, value.strip()])
        return digest, trailers
    lengths = set(req.header("content-length"))
    if len(lengths) > 1:
        raise BadRequest("differing content-length")
    if lengths:
        try:
            await read_exactly(reader, int(lengths.pop()), digest, stats)
        except ValueError:
            raise BadRequest("bad content-length")
    return digest, trailers


async def read_exactly(reader, n, digest, stats):
    while n > 0:
        data = await reader.read(min(n, 1 << 18))
        if not data:
            raise asyncio.IncompleteReadError(b"", n)
        digest.update(data)
        stats.body_bytes += len(data)
        n -= len(data)


def wants_keep_alive(req):
    tokens = req.tokens("connection")
    if req.version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


def status_line(code):
    reasons = {100: "Continue", 200: "OK", 204: "No Content", 304: "Not Modified",
               400: "Bad Request", 404: "Not Found", 500: "Internal Server Error",
               502: "Bad Gateway", 503: "Service Unavailable"}
    return f"HTTP/1.1 {code} {reasons.get(code, 'Status')}\r\n"


class Server:
    def __init__(self, name, idle_timeout_ms, status):
        self.sni = {}  # id(SSLObject) -> the SNI name its client sent
        self.name = name
        self.status = status
        self.idle_timeout = idle_timeout_ms / 1000 if idle_timeout_ms else None
        self.stats = Stats()
        self.conn_ids = itertools.count(1)
        self.release = asyncio.Event()

    async def hold(self):
        self.stats.held += 1
        try:
            await self.release.wait()
        finally:
            self.stats.held -= 1

    async def handle(self, reader, writer):
        self.stats.connections += 1
        self.stats.open_connections += 1
        conn_id = next(self.conn_ids)
        peer = writer.get_extra_info("peername")
        tls = self.tls_info(writer)
        number = 0
        try:
            while True:
                try:
                    req = await asyncio.wait_for(read_head(reader),
                                                 self.idle_timeout if number else None)
                except asyncio.TimeoutError:
                    break
                if req is None:
                    break
                number += 1
                counted = not req.path.startswith("/__")  # control requests are not
                if counted:
                    self.stats.requests += 1
                    self.stats.recent.append(f"{req.method} {req.target}")
                self.stats.in_flight += counted
                try:
                    keep = await self.serve(req, reader, writer, conn_id, number, peer, tls)
                finally:
                    self.stats.in_flight -= counted
                if not keep:
                    break
        except BadRequest as e:
            body = json.dumps({"name": self.name, "error": str(e)}).encode()
            writer.write(f"{status_line(400)}Content-Type: application/json\r\n"
                         f"X-Backend-Name: {self.name}\r\nConnection: close\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self.stats.open_connections -= 1
            try:
                await writer.drain()
                writer.close()
                await writer.wait_closed()
            except ConnectionError:
                pass

    def tls_info(self, writer):
        obj = writer.get_extra_info("ssl_object")
        if obj is None:
            return None
        return {"sni": self.sni.pop(id(obj), None), "version": obj.version(),
                "alpn": obj.selected_alpn_protocol(), "resumed": obj.session_reused}

    def on_sni(self, obj, name, _context):
        self.sni[id(obj)] = name

    async def serve(self, req, reader, writer, conn_id, number, peer, tls):
        if "100-continue" in req.tokens("expect") and req.version == "HTTP/1.1":
            writer.write(status_line(100).encode() + b"\r\n")
            await writer.drain()
        if req.query.get("hold_body") == ["1"]:
            await self.hold()
        digest, trailers = await read_body(req, reader, self.stats)
        parts = req.path.strip("/").split("/")
        keep = wants_keep_alive(req) and parts[-1] != "close"
        kind, arg = (parts[-2], parts[-1]) if len(parts) >= 2 else ("", "")
        status, extra = self.status, [[n, v] for h in req.query.get("hdr", [])
                              for n, _, v in [h.partition(":")]]
        if parts[-1] == "abort":
            return False
        if kind == "status" and arg.isdigit():
            status = int(arg)
        elif kind == "delay" and arg.isdigit():
            await asyncio.sleep(int(arg) / 1000)
        elif kind == "bytes" and arg.isdigit():
            return await self.send_bytes(req, writer, int(arg), keep, extra, conn_id, number)
        if req.path == "/__release":
            self.release.set()
            self.release = asyncio.Event()
        if req.path == "/__stats":
            body = json.dumps(self.stats.as_dict()).encode()
        else:
            body = json.dumps({
                "name": self.name, "method": req.method, "target": req.target,
                "path": req.path, "version": req.version, "headers": req.headers,
                "body_length": digest.length, "body_sha256": digest.sha.hexdigest(),
                "body_preview": digest.preview.decode("latin-1"), "trailers": trailers,
                "client": {"address": peer[0], "port": peer[1]}, "tls": tls,
                "connection_id": conn_id, "request_number": number}).encode() + b"\n"
        head = [["Content-Type", "application/json"]]
        if status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            head.append(["Content-Length", str(len(body))])
        if req.method == "HEAD":
            body = b""
        self.write_head(writer, status, head + extra, keep, conn_id, number)
        writer.write(body)
        await writer.drain()
        return keep

    def write_head(self, writer, status, headers, keep, conn_id, number):
        headers = headers + [["X-Backend-Name", self.name],
                             ["X-Connection-Id", str(conn_id)],
                             ["X-Request-Number", str(number)]]
        if not keep:
            headers.append(["Connection", "close"])
        writer.write((status_line(status) + "".join(f"{n}: {v}\r\n" for n, v in headers)
                      + "\r\n").encode("latin-1"))

    async def send_bytes(self, req, writer, n, keep, extra, conn_id, number):
        chunked = req.query.get("chunked") == ["1"]
        if req.query.get("close") == ["1"]:
            keep, framing, chunked = False, [], False
        else:
            framing = [["Transfer-Encoding", "chunked"] if chunked else ["Content-Length", str(n)]]
        self.write_head(writer, 200, [["Content-Type", "application/octet-stream"], *framing]
                        + extra, keep, conn_id, number)
        total = 0 if req.method == "HEAD" else n
        hold_at = total // 2 if req.query.get("hold") == ["1"] else -1
        view = memoryview(PATTERN + PATTERN)
        sent = 0
        while sent < total:
            if sent == hold_at:
                await self.hold()
            # Pieces start where the pattern left off and stop at the hold point.
            limit = hold_at if sent < hold_at else total
            size = min(limit - sent, len(PATTERN))
            piece = view[sent % 256:sent % 256 + size]
            if chunked:
                writer.write(b"%x\r\n" % size + bytes(piece) + b"\r\n")
            else:
                writer.write(piece)
            sent += size
            self.stats.bytes_sent += size
            await writer.drain()
        if chunked and req.method != "HEAD":
            writer.write(b"0\r\n\r\n")
        await writer.drain()
        return keep


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--name", default="echo")
    parser.add_argument("--idle-timeout", type=int, default=0, metavar="MS")
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    server = Server(args.name, args.idle_timeout, args.status)
    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(args.tls_cert, args.tls_key)
        context.set_alpn_protocols(["http/1.1"])
        context.sni_callback = server.on_sni
    listener = await asyncio.start_server(server.handle, args.host, args.port, ssl=context,
                                          limit=MAX_LINE, backlog=1024)
    print(f"PORT {listener.sockets[0].getsockname()[1]}", flush=True)
    async with listener:
        await listener.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
