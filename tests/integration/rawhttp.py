"""A raw-socket HTTP/1.1 client: sends exactly the bytes a test wrote and
parses responses strictly enough to notice a proxy's framing mistakes.
Every read has a deadline; nothing here can hang a test."""

import json
import select
import socket
import time

DEFAULT_TIMEOUT = 5.0


class Response:
    def __init__(self, version, status, reason, headers):
        self.version, self.status, self.reason = version, status, reason
        self.headers = headers  # [(name, value)] in received order
        self.body = b""

    def header(self, name):
        """The first value of a header (case-insensitive), or None."""
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.headers} {self.body[:200]!r}>"


class Conn:
    """One client connection. `closed_by_peer()` tells whether the proxy closed it."""

    def __init__(self, port, host="127.0.0.1", timeout=DEFAULT_TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = b""
        self.eof = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        """Reads more bytes into the buffer; False on EOF."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no data before deadline; buffered {self.buf[:200]!r}")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(1 << 18)
        except ConnectionResetError:
            data = b""
        except socket.timeout:
            raise TimeoutError(f"no data before deadline; buffered {self.buf[:200]!r}")
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _take_line(self, deadline):
        while b"\r\n" not in self.buf:
            if not self._fill(deadline):
                raise EOFError(f"connection closed mid-line; buffered {self.buf!r}")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _take(self, n, deadline):
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise EOFError(f"connection closed with {n - len(self.buf)} bytes missing")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_head(self, timeout=None):
        """Reads a status line and headers (1xx included); EOFError if closed first."""
        deadline = time.monotonic() + (timeout or self.timeout)
        line = self._take_line(deadline).decode("latin-1")
        version, status, reason = (line.split(" ", 2) + [""])[:3]
        headers = []
        while True:
            line = self._take_line(deadline).decode("latin-1")
            if not line:
                break
            name, sep, value = line.partition(":")
            assert sep and name == name.strip(), f"malformed response header {line!r}"
            headers.append((name, value.strip(" \t")))
        return Response(version, int(status), reason, headers)

    def read_body(self, resp, sink, method="GET", timeout=None, chunk=1 << 18):
        """Streams the body of `resp` into sink(bytes); returns the byte count."""
        deadline = time.monotonic() + (timeout or self.timeout)
        if method == "HEAD" or resp.status in (204, 304) or resp.status < 200:
            return 0
        te = (resp.header("transfer-encoding") or "").lower()
        total = 0
        if "chunked" in te:
            while True:
                size = int(self._take_line(deadline).split(b";")[0], 16)
                if size == 0:
                    while self._take_line(deadline):  # trailers
                        pass
                    return total
                total += self._stream(size, sink, deadline, chunk)
                assert self._take(2, deadline) == b"\r\n", "chunk without CRLF"
        if resp.header("content-length") is not None:
            return self._stream(int(resp.header("content-length")), sink, deadline, chunk)
        while self.buf or self._fill(deadline):  # delimited by close
            total += len(self.buf)
            sink(self.buf)
            self.buf = b""
        return total

    def _stream(self, n, sink, deadline, chunk):
        left = n
        while left:
            if not self.buf and not self._fill(deadline):
                raise EOFError(f"connection closed with {left} body bytes missing")
            piece, self.buf = self.buf[:left], self.buf[left:]
            sink(piece)
            left -= len(piece)
        return n

    def read_response(self, method="GET", timeout=None, skip_interim=True):
        while True:
            resp = self.read_head(timeout)
            if not (skip_interim and 100 <= resp.status < 200):
                break
        parts = []
        self.read_body(resp, parts.append, method, timeout)
        resp.body = b"".join(parts)
        return resp

    def request(self, method, target, host="example.com", headers=(), body=b"", timeout=None):
        head = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"
        head += "".join(f"{n}: {v}\r\n" for n, v in headers)
        if body:
            head += f"Content-Length: {len(body)}\r\n"
        self.send(head.encode("latin-1") + b"\r\n" + body)
        return self.read_response(method, timeout)

    def closed_by_peer(self, timeout=2.0):
        """True when the peer closes (EOF or reset) within timeout; unread bytes are dropped."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                self.buf = b""
        except TimeoutError:
            return False
        return True

    def readable(self, timeout):
        """True when bytes (or EOF) arrive within timeout."""
        return bool(self.buf) or bool(select.select([self.sock], [], [], timeout)[0])


def exchange(port, data, timeout=DEFAULT_TIMEOUT):
    """Sends raw bytes on a fresh connection; returns (first response or None, closed)."""
    with Conn(port, timeout=timeout) as conn:
        try:
            conn.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the proxy may answer and close before reading everything
        try:
            resp = conn.read_response(timeout=timeout)
        except EOFError:
            return None, True
        return resp, conn.closed_by_peer()
