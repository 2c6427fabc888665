"""Delivery trends (issue 13): the hourly rollup kept by the recorder, the figures read from it
checked against the deliveries and attempts themselves, and the charts on the pages."""
from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from webhooks import manage
from webhooks.delivery.prune import prune
from webhooks.delivery.record import NotSent
from webhooks.events import TEST_EVENT
from webhooks.extensions import db
from webhooks.latency import EDGES, ERROR_BOUND, EXACT_BELOW, TOP, bucket_of, middle, percentile
from webhooks.models import Delivery, Project, Webhook, delivery_days, delivery_hours
from webhooks.trends import last_24_hours_by_webhook, project_trends, webhook_trends
from webhooks.ui.charts import ms

from .trends_history import (
    NOW,
    Planned,
    answer,
    as_reported,
    direct,
    exact_percentile,
    from_trends,
    never_sent,
    random_history,
    record,
    record_cycle,
    reported,
    shown,
)

T = timedelta


@pytest.fixture
def hooks(app, project, add_project, add_webhook):
    """Three webhooks of project 774 and one of another project."""
    ids = [add_webhook(project, ["task.created"])[0] for _ in range(3)]
    other = add_webhook(add_project(775), ["task.created"])[0]
    return ids, other


def settings(app):
    return app.config["DELIVERY"]


def rollup_rows() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(delivery_hours))


# --- the figures against the database ------------------------------------------------------

def test_a_seeded_history_reads_back_as_the_database_says_per_webhook_and_per_project(app, hooks):
    ids, other = hooks
    record(db.session, random_history([*ids, other]), settings(app))
    for webhook_id in [*ids, other]:
        expected = as_reported(direct(db.session, [webhook_id], NOW))
        assert from_trends(webhook_trends(db.session, webhook_id, NOW)) == expected
    expected = as_reported(direct(db.session, ids, NOW))
    assert from_trends(project_trends(db.session, 774, NOW)) == expected, \
        "the project sums its own webhooks, not the other project's"
    assert sum(row[1] + row[2] for row in expected["30d"]) > 100  # the history was not empty


def test_each_webhooks_last_24_hours_for_the_overview(app, hooks):
    ids, _ = hooks
    record(db.session, random_history(ids, count=400, seed=5), settings(app))
    by_webhook = last_24_hours_by_webhook(db.session, 774, NOW)
    for webhook_id in ids:
        rows = direct(db.session, [webhook_id], NOW)["24h"]
        got = by_webhook.get(webhook_id)
        succeeded, failed = sum(r[1] for r in rows), sum(r[2] for r in rows)
        assert (got.succeeded, got.failed) == (succeeded, failed) if got else succeeded == 0
        if got:
            assert got.attempts == sum(r[3] for r in rows)


def test_bucket_edges_empty_buckets_and_the_windows_ends(app, hooks):
    webhook, hour = hooks[0][0], NOW.replace(minute=0, second=0)
    history = [
        Planned(webhook, [answer(hour - T(milliseconds=100), 200, 200)]),  # ends at 12:00:00.1
        Planned(webhook, [answer(hour - T(hours=1), 500, 40)]),            # pending: not final
        Planned(webhook, [answer(hour - T(hours=23), 200, 7)]),            # first hour of 24 h
        Planned(webhook, [answer(hour - T(hours=24), 200, 9)]),            # 30 d only
        Planned(webhook, [answer(datetime(2026, 2, 21), 200, 11)]),        # first day of 30 d
        Planned(webhook, [answer(datetime(2026, 2, 20, 23, 59, 59), 200, 13)]),  # before it
    ]
    record(db.session, history, settings(app))
    trends = webhook_trends(db.session, webhook, NOW)
    hours, days = trends.hours.buckets, trends.days.buckets
    assert [len(hours), len(days)] == [24, 30]
    assert (hours[0].start, hours[-1].start) == (hour - T(hours=23), hour)
    assert (days[0].start, days[-1].start) == (datetime(2026, 2, 21), datetime(2026, 3, 22))
    assert (hours[-1].succeeded, hours[-1].attempts) == (1, 0), "final when the attempt ended"
    assert (hours[-2].succeeded, hours[-2].attempts, hours[-2].p50_ms) == (0, 2, middle(
        bucket_of(40))), "latency where the attempt began; a pending delivery is not final"
    assert (hours[0].succeeded, hours[0].p50_ms) == (1, 7.0)
    assert (days[0].succeeded, days[0].p95_ms) == (1, 11.0)
    assert (trends.hours.total.succeeded, trends.days.total.succeeded) == (2, 4)
    empty = [b for b in hours[1:-2]]
    assert all((b.succeeded, b.failed, b.attempts, b.p50_ms, b.p95_ms) == (0, 0, 0, None, None)
               for b in empty)
    assert from_trends(trends) == as_reported(direct(db.session, [webhook], NOW))


def test_test_sends_are_not_counted_and_attempts_never_made_have_no_latency(app, hooks):
    webhook, at = hooks[0][0], NOW - T(minutes=10)
    record(db.session, [
        Planned(webhook, [answer(at, 200, 30)], TEST_EVENT),
        Planned(webhook, [answer(at, 500, 30)], TEST_EVENT),
        Planned(webhook, [never_sent(at)]),
        Planned(webhook, [never_sent(at, NotSent.SECRET_UNREADABLE)]),
        Planned(webhook, [answer(at, 500, 30), answer(at + T(seconds=10), None, 60),
                          answer(at + T(seconds=30), 502, 90)]),
    ], settings(app))
    last = webhook_trends(db.session, webhook, NOW).hours.buckets[-1]
    assert (last.succeeded, last.failed, last.attempts) == (0, 3, 3)
    assert (last.p50_ms, last.p95_ms) == (middle(bucket_of(60)), middle(bucket_of(90)))


def test_a_delivery_retried_by_hand_counts_each_time_it_becomes_final(app, hooks):
    webhook, before = hooks[0][0], NOW - T(hours=2)
    failed = Planned(webhook, [answer(before, 500, 5), answer(before, 500, 5),
                               answer(before, 500, 5)])
    record(db.session, [failed], settings(app))
    manage.retry_delivery(db.session, db.session.get(Delivery, failed.id),
                          db.session.get(Webhook, webhook), NOW)
    db.session.commit()
    record_cycle(db.session, Planned(webhook, [answer(NOW - T(minutes=1), 200, 5)],
                                     id=failed.id), settings(app))
    hours = webhook_trends(db.session, webhook, NOW).hours.buckets
    assert (hours[-3].failed, hours[-1].succeeded) == (1, 1)


# --- the histogram ---------------------------------------------------------------------------

def test_a_reported_percentile_is_within_the_stated_bound_of_the_exact_one():
    assert len(EDGES) == 65 and EDGES[EXACT_BELOW] == EXACT_BELOW and EDGES[-1] == TOP
    for duration in range(TOP):
        shown = middle(bucket_of(duration))
        if duration < EXACT_BELOW:
            assert shown == duration
        else:
            assert abs(shown - duration) <= ERROR_BOUND * duration, duration
    assert ERROR_BOUND < 0.091
    assert middle(bucket_of(10 * TOP)) == TOP and ms(TOP) == "≥ 65,536 ms"


@pytest.mark.parametrize("durations", [[5], [0, 0, 1], list(range(1, 101)), [17, 3000, 120] * 7,
                                       [70_000, 20, 21, 22]])
def test_percentiles_of_the_histogram_are_the_nearest_rank_ones_bucketed(durations):
    counts = [0] * len(EDGES)
    for d in durations:
        counts[bucket_of(d)] += 1
    for p in (50, 95):
        assert percentile(counts, p) == reported(exact_percentile(durations, p))
    assert percentile([0] * len(EDGES), 50) is None


# --- kept in step by the real delivery path ----------------------------------------------------

def test_the_rollup_follows_deliveries_made_by_the_dispatcher(client, auth_headers, project,
                                                                add_webhook, receiver, dispatch,
                                                                clock):
    webhook, _ = add_webhook(project, ["task.created"])
    event = {"event": "task.created", "task": {"id": 1, "goalId": 774}}

    def send(count: int) -> None:
        for _ in range(count):
            assert client.post("/api/v1/events", headers=auth_headers,
                               json=event).status_code == 202

    receiver.script.extend([200, 500, 200, 201, 500])
    send(5)
    dispatch()
    clock.advance(10)
    dispatch()  # the two failures succeed on their retry
    assert client.post(f"/api/v1/webhooks/{webhook}/test",
                       headers=auth_headers).status_code == 200
    clock.advance(3600)
    receiver.default = 500
    send(2)
    for _ in range(3):
        dispatch()
        clock.advance(30)
    db.session.rollback()
    trends = webhook_trends(db.session, webhook, clock.now)
    assert from_trends(trends) == as_reported(direct(db.session, [webhook], clock.now))
    assert (trends.hours.total.succeeded, trends.hours.total.failed,
            trends.hours.total.attempts) == (5, 2, 13), "the test send is not counted"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_processes_recording_at_once_add_up_on_postgresql(app, hooks):
    webhook, factory = hooks[0][0], sessionmaker(bind=db.engine)
    histories = [[Planned(webhook, [answer(NOW - T(minutes=5), 200 if n % 3 else 500, n)])
                  for n in range(25)] for _ in range(4)]

    def work(history) -> None:
        session = factory()
        try:
            record(session, history, settings(app), commit_every=1)
        finally:
            session.close()

    threads = [threading.Thread(target=work, args=(h,)) for h in histories]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.rollback()
    last = webhook_trends(db.session, webhook, NOW).hours.buckets[-1]
    assert (last.succeeded, last.attempts) == (4 * 16, 100)
    assert from_trends(webhook_trends(db.session, webhook, NOW)) == as_reported(
        direct(db.session, [webhook], NOW))


# --- deleting, pruning --------------------------------------------------------------------------

def test_deleting_a_webhook_or_a_project_deletes_its_rollup(app, hooks):
    ids, other = hooks
    record(db.session, random_history([*ids, other], count=60), settings(app))
    manage.delete_webhook(db.session, db.session.get(Webhook, ids[0]))
    db.session.commit()
    assert rolled_up() == {ids[1], ids[2], other}
    manage.delete_project(db.session, db.session.get(Project, 774))
    db.session.commit()
    assert rolled_up() == {other}


def rolled_up() -> set[int]:
    """The webhooks with rows in the rollups (the same in both)."""
    hours, days = ({row[0] for row in db.session.execute(select(t.c.webhook_id))}
                   for t in (delivery_hours, delivery_days))
    assert hours == days
    return hours


def test_pruning_deliveries_keeps_the_trend(app, hooks):
    webhook = hooks[0][0]
    record(db.session, random_history([webhook], count=80), settings(app))
    before = from_trends(webhook_trends(db.session, webhook, NOW))
    assert prune(db.session, NOW, T(days=1))[0] > 0
    assert from_trends(webhook_trends(db.session, webhook, NOW)) == before
    assert rollup_rows() > 0


# --- the pages ---------------------------------------------------------------------------------

ROW_RE = re.compile(r'<tr data-start="([^"]+)"><th scope="row">([^<]+)</th>'
                    r'((?:<td class="num">[^<]*</td>)+)</tr>')


def table_rows(page: str, key: str) -> list[tuple]:
    """The numbers table of a chart, as (start, succeeded, failed, attempts, p50, p95)."""
    figure = re.search(rf'<figure class="trend" id="trend-{key}".*?</figure>', page, re.S)
    assert figure, f"no {key} chart"
    out = []
    for start, _, tds in ROW_RE.findall(figure.group(0)):
        cells = re.findall(r'<td class="num">([^<]*)</td>', tds)
        out.append((datetime.fromisoformat(start), *(int(c.replace(",", "")) for c in cells[:3]),
                    *cells[3:]))
    return out


@pytest.fixture
def seeded_pages(app, ui, hooks, clock):
    clock.now = NOW
    ids, other = hooks
    record(db.session, random_history([*ids, other], count=200), settings(app))
    return ui, ids


def test_the_deliveries_page_shows_the_webhooks_trends_as_the_database_says(seeded_pages):
    (client, headers), ids = seeded_pages
    page = client.get(f"/webhooks/{ids[0]}/deliveries").get_data(as_text=True)
    expected = shown(direct(db.session, [ids[0]], NOW))
    assert {key: table_rows(page, key) for key in ("24h", "30d")} == expected
    last = expected["24h"][-1]
    assert (f"<title>12:00–13:00 UTC: {last[1]} succeeded, {last[2]} failed</title>" in page)
    assert 'role="img"' in page and 'aria-labelledby="trend-24h-o-title trend-24h-o-desc"' in page
    assert 'id="trend-24h-o-title"' in page and 'id="trend-30d-l-desc"' in page
    assert "style=" not in page.split('class="trends"')[1].split("</section>")[0]
    fragment = client.get(f"/webhooks/{ids[0]}/deliveries?status=failed",
                          headers=headers).get_data(as_text=True)
    assert "trend-24h" not in fragment and 'id="history"' in fragment, \
        "filtering swaps the history only"


def test_the_project_overview_sums_its_webhooks_and_lists_each(seeded_pages):
    (client, _), ids = seeded_pages
    page = client.get("/projects/774/overview").get_data(as_text=True)
    assert {key: table_rows(page, key) for key in ("24h", "30d")} == shown(
        direct(db.session, ids, NOW))
    listed = re.findall(r'<tr data-webhook-id="(\d+)">(.*?)</tr>', page, re.S)
    assert [int(w) for w, _ in listed] == ids
    for webhook_id, row_html in listed:
        rows = direct(db.session, [int(webhook_id)], NOW)["24h"]
        cells = re.findall(r'<td class="num">([^<]*)</td>', row_html)
        assert [int(c.replace(",", "")) for c in cells[:3]] == [
            sum(r[1] for r in rows), sum(r[2] for r in rows), sum(r[3] for r in rows)]
    assert 'href="/projects/774/overview"' in client.get("/projects/774/webhooks").get_data(
        as_text=True)


def test_the_overview_is_for_members_of_the_project_only(app, client, project, add_project,
                                                         ui_login, clock):
    from webhooks.auth import create_user

    add_project(775)
    user = create_user(db.session, "m@example.com", "correct horse", False, clock())
    project.members.append(user)
    db.session.commit()
    assert client.get("/projects/774/overview").status_code == 302  # to sign in
    ui_login("m@example.com")
    assert client.get("/projects/774/overview").status_code == 200
    assert client.get("/projects/775/overview").status_code == 404
    assert client.get("/projects/776/overview").status_code == 404
