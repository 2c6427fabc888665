"""A fast HTTP/1.1 receiver for benchmarks (asyncio, keep-alive), run as its own process.

    python -m bench.receiver --port 0 [--delay-ms 200] [--hang-path /hang]

Prints its port on the first line of stdout. POST answers 200 after the delay (a path
starting with the hang path answers after 60 s). `GET /stats` answers JSON: the count and,
per X-Webhook-Delivery id, the arrival times (time.time()).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

arrivals: dict[str, list[float]] = {}
count = 0


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, args) -> None:
    global count
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if length:
                await reader.readexactly(length)
            if method == "GET" and path == "/stats":
                body = json.dumps({"count": count, "arrivals": arrivals}).encode()
            else:
                now = time.time()
                count += 1
                arrivals.setdefault(headers.get("x-webhook-delivery", "?"), []).append(now)
                if args.hang_path and path.startswith(args.hang_path):
                    await asyncio.sleep(60)
                elif args.delay_ms:
                    await asyncio.sleep(args.delay_ms / 1000)
                body = b"OK"
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=0)
    parser.add_argument("--hang-path", default="")
    args = parser.parse_args()
    server = await asyncio.start_server(lambda r, w: handle(r, w, args), "127.0.0.1", args.port,
                                        backlog=2048)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
