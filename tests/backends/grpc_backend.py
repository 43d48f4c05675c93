#!/usr/bin/python3
"""A gRPC server for Portico's tests (Python grpcio, no generated code: the
methods take and return raw bytes). Listens on loopback, prints "PORT <n>".

  /test.Echo/Unary        returns the request
  /test.Echo/Slow         sleeps (request = milliseconds, ASCII) then returns it
  /test.Echo/ServerStream request "N:SIZE": N messages of SIZE bytes
  /test.Echo/Bidi         echoes every message of the stream
  /test.Echo/Fail         aborts with NOT_FOUND and a message (status from the backend)
"""

import argparse
import sys
import time
from concurrent import futures

import grpc


def unary(request, context):
    return request


def slow(request, context):
    time.sleep(int(request.decode()) / 1000)
    return request


def server_stream(request, context):
    count, size = map(int, request.decode().split(":"))
    for i in range(count):
        yield bytes([i % 256]) * size


def bidi(requests, context):
    for message in requests:
        yield message


def fail(request, context):
    context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls-cert", help="serve over TLS (GRPCS) with this chain and --tls-key")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Slow": grpc.unary_unary_rpc_method_handler(slow),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
        "Fail": grpc.unary_unary_rpc_method_handler(fail),
    }
    options = [("grpc.max_receive_message_length", 16 << 20),
               ("grpc.max_send_message_length", 16 << 20)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=options)
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("test.Echo", handlers)])
    if args.tls_cert:
        with open(args.tls_cert, "rb") as cert, open(args.tls_key, "rb") as key:
            credentials = grpc.ssl_server_credentials([(key.read(), cert.read())])
        port = server.add_secure_port(f"{args.host}:{args.port}", credentials)
    else:
        port = server.add_insecure_port(f"{args.host}:{args.port}")
    server.start()
    print(f"PORT {port}", flush=True)
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
