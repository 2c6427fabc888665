"""Every benchmark, each in its own process, one JSON line each on stdout as it finishes.

    python -m bench.all [--quick] [--only NAME,NAME...] [--list]

`make bench` runs this. --quick uses small sizes (a smoke run of a few minutes; its figures
are not the goals' figures). A failing benchmark is reported on stderr and the run goes on;
the exit status is 1 if any failed.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from .common import ROOT

# (name, module and arguments at full size, the same for --quick)
BENCHMARKS: list[tuple[str, list[str], list[str]]] = [
    ("throughput_sqlite", ["throughput", "--database", "sqlite", "--concurrency", "64",
                           "--deliveries", "10000"],
     ["throughput", "--database", "sqlite", "--concurrency", "64", "--deliveries", "1000"]),
    ("throughput_postgresql", ["throughput", "--database", "postgresql", "--concurrency", "64",
                               "--deliveries", "10000"],
     ["throughput", "--database", "postgresql", "--concurrency", "64", "--deliveries", "1000"]),
    # Throughput of real `flask worker` processes sharing one PostgreSQL backlog, 1 and 2.
    ("workers_postgresql_1", ["memory", "--database", "postgresql", "--workers", "1",
                              "--deliveries", "30000"],
     ["memory", "--database", "postgresql", "--workers", "1", "--deliveries", "3000"]),
    ("workers_postgresql_2", ["memory", "--database", "postgresql", "--workers", "2",
                              "--deliveries", "30000"],
     ["memory", "--database", "postgresql", "--workers", "2", "--deliveries", "3000"]),
    ("latency_sqlite", ["latency", "--database", "sqlite"],
     ["latency", "--database", "sqlite", "--seconds", "3"]),
    ("history_sqlite", ["history", "--database", "sqlite"],
     ["history", "--database", "sqlite", "--deliveries", "100000", "--requests", "30"]),
    ("history_postgresql", ["history", "--database", "postgresql"],
     ["history", "--database", "postgresql", "--deliveries", "100000", "--requests", "30"]),
    ("trends_sqlite", ["trends", "--database", "sqlite"],
     ["trends", "--database", "sqlite", "--deliveries", "100000", "--requests", "30"]),
    ("trends_postgresql", ["trends", "--database", "postgresql"],
     ["trends", "--database", "postgresql", "--deliveries", "100000", "--requests", "30"]),
    # also scrapes /metrics from a web process on the same database as the work goes on
    ("memory_sqlite", ["memory", "--database", "sqlite", "--metrics"],
     ["memory", "--database", "sqlite", "--deliveries", "5000", "--metrics"]),
    ("hanging_sqlite", ["hanging", "--database", "sqlite"],
     ["hanging", "--database", "sqlite", "--timeout", "2", "--events", "200", "--seconds", "5",
      "--repeat", "1"]),
    ("ingest_sqlite", ["ingest", "--database", "sqlite"],
     ["ingest", "--database", "sqlite", "--seconds", "3"]),
    ("ingest_postgresql", ["ingest", "--database", "postgresql"],
     ["ingest", "--database", "postgresql", "--seconds", "3"]),
    ("ingest_batch_sqlite", ["ingest", "--database", "sqlite", "--batch", "100"],
     ["ingest", "--database", "sqlite", "--batch", "100", "--seconds", "3"]),
    ("ingest_worker_sqlite", ["ingest", "--database", "sqlite", "--worker"],
     ["ingest", "--database", "sqlite", "--worker", "--seconds", "3"]),
    ("slow_sqlite", ["slow", "--database", "sqlite", "--concurrency", "16,32,64,128,256,512,1024"],
     ["slow", "--database", "sqlite", "--concurrency", "8,32,128", "--deliveries", "300"]),
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(name: str, argv: list[str], timeout: float) -> bool:
    """Run one benchmark; print its JSON line; False if it failed."""
    command = [sys.executable, "-m", f"bench.{argv[0]}", *argv[1:]]
    log(f"== {name}: {' '.join(command[1:])}")
    started = time.monotonic()
    try:
        result = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"!! {name} FAILED: no result after {timeout:.0f} s")
        return False
    line = next((x for x in reversed(result.stdout.splitlines()) if x.startswith("{")), None)
    try:
        record = json.loads(line) if line else None
    except ValueError:
        record = None
    if result.returncode != 0 or record is None:
        log(f"!! {name} FAILED: exit status {result.returncode}"
            + ("" if record else ", no JSON line on stdout"))
        return False
    record["run"] = name
    print(json.dumps(record), flush=True)
    log(f"== {name} done in {time.monotonic() - started:.0f} s")
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--only", default="", help="comma-separated names (see --list)")
    parser.add_argument("--list", action="store_true", help="print the names and exit")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="seconds allowed for each benchmark")
    args = parser.parse_args()
    if args.list:
        for name, full, quick in BENCHMARKS:
            print(f"{name:26s} {' '.join(quick if args.quick else full)}")
        return
    only = {n for n in args.only.split(",") if n}
    unknown = only - {name for name, _, _ in BENCHMARKS}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    failed = []
    for name, full, quick in BENCHMARKS:
        if only and name not in only:
            continue
        if not run(name, quick if args.quick else full, args.timeout):
            failed.append(name)
    if failed:
        log(f"!! failed: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
