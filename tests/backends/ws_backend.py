"""A websocket echo server for the integration tests (Debian's python3-websockets
10.x, asyncio API): prints "PORT <n>" once it listens on --host:--port (0: any
free port). Every message comes back as sent; the text "close-me" makes the
server close with code 4000 instead, and "stall" makes it stop reading (for
backpressure tests)."""

import argparse
import asyncio
import sys

import websockets


async def echo(ws, path=None):
    async for message in ws:
        if message == "close-me":
            await ws.close(code=4000, reason="server-bye")
            return
        if message == "stall":
            await asyncio.sleep(3600)
        await ws.send(message)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    # No keepalive pings: the idle-timeout test needs a silent tunnel.
    async with websockets.serve(echo, args.host, args.port, max_size=None,
                                ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
