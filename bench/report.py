"""The README's Performance table from benchmark JSON lines.

    make bench | tee bench-results.jsonl
    python -m bench.report bench-results.jsonl      # or: ... | python -m bench.report

Each row names the figure, what this run measured, and the goal of issue 5.
"""
from __future__ import annotations

import fileinput
import json


def _by_run(lines) -> dict[str, dict]:
    runs = {}
    for line in lines:
        line = line.strip()
        if line.startswith("{"):
            record = json.loads(line)
            runs[record.get("run", record["benchmark"])] = record
    return runs


def rows(runs: dict[str, dict]) -> list[tuple[str, str, str]]:
    out = []

    def fig(name: str) -> dict | None:
        return runs[name]["figures"] if name in runs else None

    for db in ("sqlite", "postgresql"):
        f = fig(f"throughput_{db}")
        if f:
            goal = "≥ 0.6" if db == "sqlite" else "≥ 0.5"
            out.append((f"deliveries/s, one process, {db}, fast receiver, 10 webhooks, 64 in "
                        "flight", f"{f['deliveries_per_s']:,.0f}/s vs bare aiohttp + uvloop "
                        f"{f['bare_aiohttp_per_s']:,.0f}/s (ratio {f['ratio_aiohttp']:.2f}); "
                        f"bare `requests` {f['bare_requests_per_s']:,.0f}/s",
                        f"{goal} × bare aiohttp"))
    one, two = fig("workers_postgresql_1"), fig("workers_postgresql_2")
    if one and two:
        out.append(("PostgreSQL, `flask worker` processes, 30,000 deliveries",
                    f"1 worker {one['deliveries_per_s']:,.0f}/s, 2 workers "
                    f"{two['deliveries_per_s']:,.0f}/s", "2 not slower than 1"))
    f = fig("latency_sqlite")
    if f:
        out.append(("ingest-to-receipt latency at 50 events/s",
                    f"p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms",
                    "p50 ≤ 20 ms, p99 ≤ 150 ms"))
    f = fig("hanging_sqlite")
    if f:
        r = f["ratios"]
        out.append(("1 endpoint hanging to the timeout, 9 healthy",
                    f"healthy throughput {r['capacity_throughput']:.2f}×, "
                    f"p99 {r['p99']:.2f}× of a run without it", "within 1.2×"))
    for name, what, goal in (
            ("ingest_sqlite", "single events, sqlite", "≥ 0.5, p99 ≤ 100 ms"),
            ("ingest_postgresql", "single events, postgresql", "≥ 0.5, p99 ≤ 100 ms"),
            ("ingest_batch_sqlite", "batches of 100, sqlite", "≥ 5,000 events/s"),
            ("ingest_worker_sqlite", "single events with a busy worker, sqlite",
             "0 errors, 0 locked")):
        f = fig(name)
        if f:
            out.append((f"ingest under the shipped gunicorn settings, 16 clients: {what}",
                        f"{f['events_per_s']:,.0f} events/s (p50 {f['p50_ms']:.0f} ms, "
                        f"p99 {f['p99_ms']:.0f} ms, {f['errors']} errors"
                        + (f", {f['worker_locked_lines']} locked" if "worker_locked_lines" in f
                           else "") + f"); bare Flask route {f['reference_per_s']:,.0f} req/s, "
                        f"ratio {f['ratio']:.2f}", goal))
    for db in ("sqlite", "postgresql"):
        f = fig(f"history_{db}")
        if f:
            cases = f["cases"]
            api = max(v["p95_ms"] for k, v in cases.items() if k.startswith("api"))
            ui = max(v["p95_ms"] for k, v in cases.items() if k.startswith("ui"))
            out.append((f"deliveries list at 1,000,000 deliveries, {db} (worst case p95)",
                        f"API {api:.1f} ms, page {ui:.1f} ms", "p95 ≤ 50 ms"))
    for db in ("sqlite", "postgresql"):
        f = fig(f"trends_{db}")
        if f:
            c = f["cases"]
            out.append((f"trend charts at 1,000,000 deliveries of one webhook, {db} (p95)",
                        f"webhook {c['webhook_trends']['p95_ms']:.1f} ms, project "
                        f"{c['project_trends']['p95_ms']:.1f} ms, each webhook's 24 h "
                        f"{c['webhooks_last_24h']['p95_ms']:.1f} ms; from the raw rows "
                        f"{f['raw_rows_reference']['p50_ms']:,.0f} ms (p50); upgrade filling "
                        f"the rollups {f['upgrade_s']:.0f} s", "p95 ≤ 100 ms"))
    f = fig("memory_sqlite")
    if f:
        out.append(("worker sending 100,000 deliveries",
                    f"peak RSS {max(f['peak_rss_mb'], f['peak_rss_hwm_mb']):.0f} MB, "
                    f"+{f['rss_growth_10_to_90_mb']:.1f} MB from 10% to 90%, "
                    f"{f['deliveries_per_s']:,.0f}/s", "≤ 200 MB, flat"))
    f = fig("slow_sqlite")
    if f:
        curve = ", ".join(f"{p['concurrency']}: {p['deliveries_per_s']:,.0f}" for p in f["curve"])
        out.append(("100 receivers answering after 200 ms, deliveries/s by "
                    "`WEBHOOKS_SEND_CONCURRENCY`", curve, "reported"))
    return out


def main() -> None:
    runs = _by_run(fileinput.input())
    print("| figure | measured | goal |")
    print("|---|---|---|")
    for figure, measured, goal in rows(runs):
        print(f"| {figure} | {measured} | {goal} |")


if __name__ == "__main__":
    main()
