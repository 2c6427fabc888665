"""The trend charts (issue 13) in a real browser: a seeded history, read back from the page
Chromium rendered, against the database's own rows."""
from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import expect

from webhooks.clock import utcnow
from webhooks.extensions import db

from ..trends_history import direct, random_history, record, shown
from .test_deliveries_page import make_webhook

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ROWS = "rows => rows.map(r => [r.dataset.start, ...Array.from(r.cells).map(c => c.textContent)])"


def read_tables(page) -> dict[str, list[tuple]]:
    """Each chart's numbers table, as (start, succeeded, failed, attempts, p50, p95)."""
    out = {}
    for key in ("24h", "30d"):
        rows = page.locator(f"#trend-{key} table.trend-table tbody tr").evaluate_all(ROWS)
        out[key] = [(start.replace("T", " "), *(int(c.replace(",", "")) for c in cells[1:4]),
                     *cells[4:]) for start, *cells in rows]
    return out


def expected(server, webhook_ids: list[int], now) -> dict[str, list[tuple]]:
    figures = server.query(lambda: shown(direct(db.session, webhook_ids, now)))
    return {key: [(str(row[0]), *row[1:]) for row in rows] for key, rows in figures.items()}


def open_at_one_hour(page, url: str):
    """Load the page; again if an hour began meanwhile. Returns the time it was drawn for."""
    for _ in range(3):
        before = utcnow()
        page.goto(url)
        after = utcnow()
        if before.replace(minute=0, second=0, microsecond=0) == after.replace(
                minute=0, second=0, microsecond=0):
            return after
    raise AssertionError("the hour kept changing")


def test_the_charts_show_the_seeded_history_as_the_database_holds_it(admin_page, seeded):
    page, server = admin_page, seeded
    ids = [make_webhook(server, f"http://127.0.0.1:9/hook{i}") for i in range(3)]
    # Final deliveries only: a pending one would come due, and the scheduler would add to it.
    history = [p for p in random_history(ids, now=utcnow() - timedelta(minutes=1), count=500,
                                         recent=0.4) if p.status != "pending"]
    server.query(lambda: record(db.session, history, server.app.config["DELIVERY"]))
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)

    now = open_at_one_hour(page, f"{server.url}/webhooks/{ids[0]}/deliveries")
    outcomes = page.locator("#trend-24h svg.chart-outcomes")
    expect(outcomes).to_be_visible()
    assert outcomes.bounding_box()["height"] > 80
    want = expected(server, [ids[0]], now)
    assert read_tables(page) == want
    titles = outcomes.locator("g.bar > title").all_text_contents()
    assert len(titles) == 24
    assert titles[-1] == (f"{now:%H}:00–{(now + timedelta(hours=1)):%H}:00 UTC: "
                          f"{want['24h'][-1][1]} succeeded, {want['24h'][-1][2]} failed")
    failures = sum(row[2] for row in want["30d"])
    expect(page.locator("#trend-30d svg.chart-outcomes rect.failed")).to_have_count(
        sum(1 for row in want["30d"] if row[2]))
    assert failures > 0
    expect(page.locator("#trend-30d svg.chart-outcomes")).to_have_attribute("role", "img")
    if os.environ.get("WEBHOOKS_SCREENSHOTS"):  # the README's picture: the charts alone
        page.locator("section.trends").screenshot(path=SCREENSHOTS / "deliveries-trends.png")

    page.locator(".project-link").first.click(button="right")
    page.get_by_role("menuitem", name="Overview").click()
    expect(page).to_have_url(re.compile(r"/projects/774/overview$"))
    now = open_at_one_hour(page, page.url)
    assert read_tables(page) == expected(server, ids, now)
    listed = page.locator("table.overview-webhooks tbody tr")
    expect(listed).to_have_count(3)
    for row, webhook_id in zip(listed.all(), ids):
        day = expected(server, [webhook_id], now)["24h"]
        cells = row.locator("td.num").all_text_contents()
        assert [int(c.replace(",", "")) for c in cells[:3]] == [
            sum(r[1] for r in day), sum(r[2] for r in day), sum(r[3] for r in day)]
    assert refused == []
