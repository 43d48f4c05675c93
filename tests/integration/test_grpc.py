"""gRPC end to end through the proxy with Python grpcio on both sides: the
client speaks h2c to the data plane, the cluster speaks h2c to the server.
Unary, server streaming, bidirectional streaming, 4 MiB messages, status and
trailers from the backend, deadlines, and a gRPC-shaped UNAVAILABLE when the
backend is down."""

import re
import socket
import sys
import time
from pathlib import Path

import grpc
import pytest

from harness import PYTHON, Process, single_route_snapshot, wait_until

GRPC_BACKEND = Path(__file__).resolve().parents[1] / "backends" / "grpc_backend.py"
MiB = 1 << 20
OPTIONS = [("grpc.max_receive_message_length", 16 * MiB),
           ("grpc.max_send_message_length", 16 * MiB)]


class GrpcBackend(Process):
    def __init__(self, workdir):
        super().__init__([PYTHON, GRPC_BACKEND, "--host", "127.0.0.1", "--port", "0"], workdir,
                         "grpc-backend")
        with self.stopped_on_error():
            self.port = int(self.wait_for_output(r"PORT (\d+)", 15, "stdout").group(1))

    def endpoint(self):
        return {"address": "127.0.0.1", "port": self.port, "ready": True}


def h2c_snapshot(backend_endpoint):
    class _Ep:
        def endpoint(self):
            return backend_endpoint
    return single_route_snapshot(_Ep(), cluster_opts={"protocol": "PROTOCOL_H2C"})


@pytest.fixture(scope="module")
def env(module_launch, tmp_path_factory):
    backend = module_launch._track(lambda: GrpcBackend(tmp_path_factory.mktemp("grpc")))
    proxy = module_launch.dataplane(h2c_snapshot(backend.endpoint()), extra_args=["--h2c"])
    channel = grpc.insecure_channel(f"127.0.0.1:{proxy.port}", options=OPTIONS)
    yield proxy, backend, channel
    channel.close()


def call(channel, method, kind="unary_unary"):
    return getattr(channel, kind)(f"/test.Echo/{method}")


def test_unary(env):
    _, _, channel = env
    assert call(channel, "Unary")(b"hello", timeout=10) == b"hello"


def test_four_mib_messages_both_ways(env):
    _, _, channel = env
    payload = bytes(range(256)) * (4 * MiB // 256)
    assert call(channel, "Unary")(payload, timeout=30) == payload


def test_server_streaming(env):
    _, _, channel = env
    replies = list(call(channel, "ServerStream", "unary_stream")(b"50:1000", timeout=20))
    assert len(replies) == 50
    assert all(r == bytes([i]) * 1000 for i, r in enumerate(replies))


def test_bidirectional_streaming(env):
    _, _, channel = env
    messages = [f"m{i}".encode() * 100 for i in range(200)]
    replies = list(call(channel, "Bidi", "stream_stream")(iter(messages), timeout=20))
    assert replies == messages


def test_status_and_message_from_the_backend_pass_through(env):
    _, _, channel = env
    with pytest.raises(grpc.RpcError) as err:
        call(channel, "Fail")(b"", timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert err.value.details() == "no such thing"


def test_deadline_exceeded(env):
    proxy, _, channel = env
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as err:
        call(channel, "Slow")(b"3000", timeout=0.5)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 2.5
    # The proxy enforces grpc-timeout itself too: a raw h2 client that ignores
    # its own deadline still gets grpc-status 4 from the proxy.
    from h2raw import DATA, END_HEADERS, END_STREAM, HEADERS, RawH2, frame
    c = RawH2(proxy.port)
    block = c.header_block("/test.Echo/Slow", method="POST", extra=[
        ("content-type", "application/grpc"), ("te", "trailers"), ("grpc-timeout", "300m")])
    c.send(frame(HEADERS, END_HEADERS, 1, block))
    c.send(frame(DATA, END_STREAM, 1, b"\0\0\0\0\x044000"))
    f = c.wait_for(lambda f: f.stream_id == 1 and f.type == HEADERS, timeout=5)
    assert f is not None and f.headers.get("grpc-status") == "4", getattr(f, "headers", None)
    c.close()


def test_many_concurrent_calls_share_few_connections(env):
    proxy, _, channel = env
    futures = [call(channel, "Unary").future(f"c{i}".encode(), timeout=20) for i in range(300)]
    assert [f.result() for f in futures] == [f"c{i}".encode() for i in range(300)]

    def opened():
        m = re.search(r"^portico_upstream_connections_opened_total (\d+)", proxy.metrics(), re.M)
        return int(m.group(1))
    # Refreshed once a second; multiplexed, so a handful per worker, not 300.
    time.sleep(1.2)
    assert 1 <= opened() <= 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_backend_down_is_unavailable(launch):
    # Nothing listens on this port: the proxy's connect fails and the call
    # ends with a gRPC status, not an HTTP 502 the client cannot read.
    proxy = launch.dataplane(h2c_snapshot({"address": "127.0.0.1", "port": free_port(),
                                           "ready": True}), extra_args=["--h2c"])
    with grpc.insecure_channel(f"127.0.0.1:{proxy.port}") as channel:
        with pytest.raises(grpc.RpcError) as err:
            call(channel, "Unary")(b"x", timeout=10)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert proxy.alive()
