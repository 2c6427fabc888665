"""A load client in a process of its own: `--clients` keep-alive connections POSTing JSON as
fast as answers come, for `--seconds`; prints one JSON line of counts and latencies.

    python -m bench.hammer --url URL [--token T] [--clients 16] [--seconds 10] [--batch N]

aiohttp on one event loop, so the client costs far less CPU than the server it measures
(a thread per client of `requests` was the bottleneck on 2 cores). Each body is a distinct
task.created event (a batch of N of them with --batch).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp


def event(n: int) -> dict:
    return {"event": "task.created", "task": {"id": n, "goalId": 774, "description": "bench"},
            "initiatorId": None}


async def client(session, args, n: int, stop: float, out: dict) -> None:
    i = 0
    while time.perf_counter() < stop:
        i += 1
        base = n * 10**8 + i * max(args.batch, 1)
        body = ({"events": [event(base + k) for k in range(args.batch)]} if args.batch
                else event(base))
        began = time.perf_counter()
        try:
            async with session.post(args.url, json=body) as response:
                await response.read()
                status = response.status
        except aiohttp.ClientError:
            status = 0
        out["latencies" if status == 202 else "errors"].append(
            (time.perf_counter() - began) * 1000 if status == 202 else status)


async def main_async(args) -> dict:
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    out: dict = {"latencies": [], "errors": []}
    connector = aiohttp.TCPConnector(limit=args.clients)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        started = time.perf_counter()
        stop = started + args.seconds
        await asyncio.gather(*(client(session, args, n, stop, out) for n in range(args.clients)))
        elapsed = time.perf_counter() - started
    lat = sorted(out["latencies"])

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))], 2) if lat \
            else 0.0

    per_request = max(args.batch, 1)
    return {"requests": len(lat), "per_s": round(len(lat) / elapsed, 1),
            "events_per_s": round(len(lat) * per_request / elapsed, 1),
            "errors": len(out["errors"]), "error_codes": sorted(set(out["errors"])),
            "p50_ms": pct(50), "p99_ms": pct(99), "max_ms": pct(100)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", default="")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--batch", type=int, default=0, help="events per request (batch API)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(args))), flush=True)


if __name__ == "__main__":
    main()
