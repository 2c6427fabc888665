"""The reference for delivery: a bare aiohttp + uvloop script posting signed bodies with a
fixed number in flight, in a process of its own, and nothing else (no database, no claims,
no records).

    python -m bench.bare_sender --urls URL,URL... --total 5000 --in-flight 64

Prints one JSON line: posts per second.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import time

import aiohttp
import uvloop

SECRET = b"whsec_bench"


async def run(urls: list[str], total: int, in_flight: int) -> float:
    body = json.dumps({"event": "task.created", "timestamp": "2026-03-22T12:00:00.000Z",
                       "task": {"id": 1, "goalId": 774}, "initiatorId": None},
                      separators=(",", ":")).encode()
    queue = iter(range(total))
    connector = aiohttp.TCPConnector(limit=in_flight, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            for i in queue:
                signature = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
                headers = {"Content-Type": "application/json",
                           "X-Webhook-Signature": f"sha256={signature}",
                           "X-Webhook-Event": "task.created", "X-Webhook-Delivery": str(i)}
                async with session.post(urls[i % len(urls)], data=body, headers=headers) as r:
                    await r.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        return total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls", required=True)
    parser.add_argument("--total", type=int, default=5000)
    parser.add_argument("--in-flight", type=int, default=64)
    args = parser.parse_args()
    rate = uvloop.run(run(args.urls.split(","), args.total, args.in_flight))
    print(json.dumps({"posts_per_s": round(rate, 1)}))


if __name__ == "__main__":
    main()
