"""A raw HTTP/2 client for hostile-frame tests: it writes frames byte by byte
(no library in the way deciding what may be sent) and reads the server's
frames back with deadlines. Loopback only."""

import socket
import ssl
import struct
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = (
    0, 1, 2, 3, 4, 6, 7, 8, 9)
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
NO_ERROR, PROTOCOL_ERROR, CANCEL, ENHANCE_YOUR_CALM = 0x0, 0x1, 0x8, 0xb
SETTINGS_INITIAL_WINDOW_SIZE = 0x4


def frame(ftype, flags, stream_id, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream_id & 0x7FFFFFFF) + payload


def settings(**values):
    ids = {"initial_window_size": SETTINGS_INITIAL_WINDOW_SIZE}
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", ids[k], v)
                                          for k, v in values.items()))


class Frame:
    def __init__(self, ftype, flags, stream_id, payload):
        self.type, self.flags, self.stream_id, self.payload = ftype, flags, stream_id, payload

    def error_code(self):
        """GOAWAY's or RST_STREAM's error code."""
        if self.type == GOAWAY:
            return struct.unpack(">I", self.payload[4:8])[0]
        return struct.unpack(">I", self.payload[:4])[0]

    def __repr__(self):
        return f"Frame(type={self.type}, flags={self.flags:#x}, stream={self.stream_id})"


class RawH2:
    """One connection; h2c with prior knowledge, or TLS with ALPN h2."""

    def __init__(self, port, tls=False, host="127.0.0.1", initial_settings=None, timeout=10):
        sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            sock = ctx.wrap_socket(sock, server_hostname="portico.test")
            assert sock.selected_alpn_protocol() == "h2"
        self.sock = sock
        self.buf = b""
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.closed = False
        self.send(PREFACE + (initial_settings or settings()))

    def send(self, data):
        """Sends; False once the server has closed the connection."""
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            self.closed = True
            return False

    def header_block(self, path="/", authority="portico.test", method="GET", extra=()):
        return self.encoder.encode([(":method", method), (":scheme", "http"),
                                    (":authority", authority), (":path", path), *extra])

    def request(self, stream_id, path="/", end_stream=True, **kwargs):
        flags = END_HEADERS | (END_STREAM if end_stream else 0)
        return self.send(frame(HEADERS, flags, stream_id, self.header_block(path, **kwargs)))

    def read_frame(self, deadline):
        """The next frame, or None when the server closed (or the deadline passed)."""
        while len(self.buf) < 9 or len(self.buf) < 9 + int.from_bytes(self.buf[:3], "big"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
                return None
            self.buf += chunk
        length = int.from_bytes(self.buf[:3], "big")
        f = Frame(self.buf[3], self.buf[4], struct.unpack(">I", self.buf[5:9])[0] & 0x7FFFFFFF,
                  self.buf[9:9 + length])
        self.buf = self.buf[9 + length:]
        if f.type == SETTINGS and not f.flags & ACK:
            self.send(frame(SETTINGS, ACK, 0))
        if f.type == HEADERS:  # HPACK is stateful: every block is decoded, in order
            f.headers = dict(self.decoder.decode(f.payload))
        return f

    def wait_for(self, predicate, timeout=10):
        """Reads until a frame satisfies predicate; returns it, or None on close/timeout."""
        deadline = time.monotonic() + timeout
        while True:
            f = self.read_frame(deadline)
            if f is None or predicate(f):
                return f

    def goaway(self, timeout=10):
        return self.wait_for(lambda f: f.type == GOAWAY, timeout)

    def wait_closed(self, timeout=10):
        """True once the server closed the connection (reading everything until then)."""
        deadline = time.monotonic() + timeout
        while self.read_frame(deadline) is not None:
            pass
        return self.closed

    @staticmethod
    def status(headers_frame):
        """:status of a response HEADERS frame."""
        return int(headers_frame.headers[":status"])

    def close(self):
        self.sock.close()
