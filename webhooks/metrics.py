"""GET /metrics: the Prometheus text format, off unless WEBHOOKS_METRICS_TOKEN is set.

Counters come from the database (every process adds to them as it records outcomes, see
`webhooks.delivery.counters`), so any web process answers for the whole deployment. Gauges
are read from the database at scrape time; the scheduler's last tick is this process's own.
"""
from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, request

from .clock import utcnow
from .delivery import counters
from .extensions import db
from .stats import backlog, webhook_counts
from .version import __version__

bp = Blueprint("metrics", __name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@bp.get("/metrics")
def metrics():
    token = current_app.config.get("WEBHOOKS_METRICS_TOKEN") or ""
    if not token:
        abort(404)  # off by default: nothing about the deployment is told to strangers
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response("a metrics token is required: Authorization: Bearer <token>\n", 401,
                        {"WWW-Authenticate": 'Bearer realm="metrics"'}, mimetype="text/plain")
    now = current_app.config.get("CLOCK", utcnow)()
    session = db.session
    stored = counters.stored(session)
    due = backlog(session, now)
    states = webhook_counts(session)
    session.rollback()
    return Response(render(stored, due, states, _tick_age(utcnow())), mimetype=None,
                    content_type=CONTENT_TYPE)


def _tick_age(now) -> float | None:
    runner = current_app.extensions.get("webhooks_scheduler")
    last = getattr(runner, "last_tick", None) if runner is not None else None
    return None if last is None else max((now - last).total_seconds(), 0.0)


def render(stored: dict[str, float], due, states: dict[str, int],
           tick_age: float | None) -> str:
    """The exposition text."""
    out: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(f"{name}{labels} {_number(value)}" for labels, value in samples)

    family("webhooks_delivery_attempts_total", "counter",
           "Delivery attempts by outcome (retry: failed, tried again later; failed: failed "
           "for good; skipped: the webhook was off).",
           [(f'{{outcome="{o}"}}', stored.get(counters.ATTEMPTS + o, 0))
            for o in counters.OUTCOMES])
    duration = "webhooks_attempt_duration_seconds"
    out.append(f"# HELP {duration} Time from sending a request to the end of its answer.")
    out.append(f"# TYPE {duration} histogram")
    for bound, count in counters.cumulative_buckets(stored):
        out.append(f'{duration}_bucket{{le="{bound}"}} {_number(count)}')
    out.append(f"{duration}_sum {_number(stored.get(counters.DURATION_SUM, 0))}")
    out.append(f"{duration}_count {_number(stored.get(counters.DURATION_COUNT, 0))}")
    family("webhooks_webhooks_deactivated_total", "counter",
           "Webhooks deactivated after too many consecutive failed deliveries.",
           [("", stored.get(counters.DEACTIVATED, 0))])
    family("webhooks_due_deliveries", "gauge",
           "Pending deliveries whose time has come (the backlog).", [("", due.due)])
    family("webhooks_due_oldest_age_seconds", "gauge",
           "How long the oldest due delivery has waited.", [("", due.oldest_due_seconds)])
    family("webhooks_webhooks", "gauge", "Webhooks by state.",
           [(f'{{state="{s}"}}', n) for s, n in states.items()])
    if tick_age is not None:
        family("webhooks_scheduler_last_tick_age_seconds", "gauge",
               "Seconds since this process's scheduler last ran its dispatch job.",
               [("", tick_age)])
    family("webhooks_build_info", "gauge", "The running version.",
           [(f'{{version="{__version__}"}}', 1)])
    return "\n".join(out) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
