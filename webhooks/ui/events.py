"""A project's event log and the page of one event (SPEC §4's replay and §5's event log, in the
UI): find an event by its id or by a delivery's id, filter by type, time and outcome, replay an
event to today's subscribers. Resend is a delivery's (ui/deliveries.py).

The log is one URL that answers the page or, to htmx, the log section (the filters changed) or
more rows (a cursor), with `Vary: HX-Request`. Filters live in the URL (a GET form); times typed
in them are UTC. Pages are keyset pages (history.events_page), newest first, never counted.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_login import login_required
from sqlalchemy import select

from .. import manage
from ..events import EVENT_GROUPS, TEST_EVENT
from ..exceptions import Conflict, Invalid, NotFound
from ..extensions import app_now, db
from ..history import (
    EventFilter,
    decode_event_cursor,
    deliveries_of,
    events_page,
    parse_event_type,
    parse_status,
)
from ..models import DeliveryStatus, Event, Project, Webhook
from ..scheduler import wake
from .common import (
    cursor_or_404,
    event_by_reference,
    event_or_404,
    is_htmx,
    pretty_json,
    project_or_404,
    render,
    utc_field,
)

bp = Blueprint("events", __name__)

PAGE_SIZE = 50
TYPE_GROUPS = (*EVENT_GROUPS.items(), ("Other", (TEST_EVENT,)))
OUTCOMES = (("", "Any"), *((s.value, s.value.title()) for s in DeliveryStatus))
FILTER_FIELDS = ("type", "since", "until", "status")


def _render(template: str, code: int = 200, **context):
    return render(template, code, type_groups=TYPE_GROUPS, outcomes=OUTCOMES, **context)


def _filters(args) -> tuple[EventFilter, dict]:
    """The filter in the query, and the errors of its fields (shown beside each)."""
    errors: dict = {}
    event_type = _checked(parse_event_type, args.get("type") or None, errors)
    status = _checked(parse_status, args.get("status") or None, errors)
    since, until = utc_field(args, "since", errors), utc_field(args, "until", errors)
    return EventFilter(event_type, since, until, status), errors


def _checked(rule, value, errors: dict):
    """`rule(value)`, or None with the rule's message kept under its field."""
    try:
        return rule(value)
    except Invalid as exc:
        errors[exc.field] = exc.message
        return None


def _webhooks(project_id: int) -> dict[int, Webhook]:
    return {w.id: w for w in db.session.scalars(
        select(Webhook).where(Webhook.project_id == project_id))}


def _log(project: Project, where: EventFilter, after) -> dict:
    """One keyset page of events with their deliveries, and the next page's URL."""
    rows, next_cursor = events_page(db.session, project.id, where, after, PAGE_SIZE)
    kept = {k: request.args[k] for k in FILTER_FIELDS if request.args.get(k)}
    more_url = None if next_cursor is None else url_for(
        ".list_events", project_id=project.id, **kept, cursor=next_cursor)
    return {"events": rows, "deliveries": deliveries_of(db.session, [e.id for e in rows]),
            "webhooks": _webhooks(project.id), "more_url": more_url, "older": after is not None,
            "newest_url": url_for(".list_events", project_id=project.id, **kept)}


def _show_log(project: Project, after=None, code: int = 200, search: dict | None = None):
    """The log page; to htmx, the log section (filters) or more rows (cursor). Bad filters
    show beside their fields (422), with no rows."""
    where, errors = _filters(request.args)
    context = {"project": project, "form": request.args, "errors": errors,
               "search": search or {}, "events": [], "more_url": None, "older": False}
    if errors:
        code = 422
    else:
        context.update(_log(project, where, after))
    if is_htmx():
        return _render("events/_rows.html" if after else "events/_log.html", code, **context)
    return _render("events/list.html", code, **context)


@bp.get("/projects/<int(signed=True):project_id>/events")
@login_required
def list_events(project_id: int):
    """A project's events, newest first, filtered by type, time range and outcome."""
    project = project_or_404(project_id)
    return _show_log(project, cursor_or_404(decode_event_cursor))


@bp.get("/projects/<int(signed=True):project_id>/events/find")
@login_required
def find_event(project_id: int):
    """Go to the event named by an event id or a delivery id, in any project the user may
    see; else the log with the message beside the search field (404)."""
    project = project_or_404(project_id)
    text = request.args.get("q", "").strip()
    if not text:
        return _show_log(project, search={"q": "", "error": "type an event id (evt_…) or a "
                                                             "delivery id"})
    try:
        event, delivery_id = event_by_reference(text)
    except NotFound:
        shown = _printable(text[:80])
        return _show_log(project, code=404, search={
            "q": shown, "error": f"no event or delivery “{shown}” in your projects"})
    anchor = None if delivery_id is None else f"delivery-{delivery_id}"
    return redirect(url_for(".show_event", event_id=event.id, _anchor=anchor), 303)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "\ufffd" for c in text)


def _event(event: Event) -> dict:
    """The event's deliveries (with their webhooks) and whether any is still pending."""
    deliveries = deliveries_of(db.session, [event.id])[event.id]
    return {"event": event, "deliveries": deliveries, "webhooks": _webhooks(event.project_id),
            "pending": any(d.status == DeliveryStatus.PENDING for d in deliveries)}


def _event_page(event: Event, notice: dict | None = None, code: int = 200):
    return _render("events/detail.html", code, project=db.session.get(Project, event.project_id),
                   payload=pretty_json(event.body), notice=notice, test_event=TEST_EVENT,
                   **_event(event))


@bp.get("/events/<event_id>")
@login_required
def show_event(event_id: str):
    """The event: payload, deliveries, replay. To htmx (a pending delivery's table polls
    itself): the deliveries table."""
    event = event_or_404(event_id)
    if is_htmx():
        return _render("events/_deliveries.html", **_event(event))
    return _event_page(event)


def _replayed_text(count: int, event: Event) -> str:
    if not count:
        return f"No new deliveries: no active webhook subscribes to {event.type} now."
    return f"{count} new {'delivery' if count == 1 else 'deliveries'} queued."


@bp.post("/events/<event_id>/replay")
@login_required
def replay_event(event_id: str):
    """New deliveries (new ids) of the event to the webhooks subscribed now. htmx asks first
    (hx-confirm); without JavaScript a confirmation page does."""
    event = event_or_404(event_id)
    if not is_htmx() and request.form.get("confirmed") != "1":
        return _confirm_replay(event)
    try:
        count = manage.replay_event(db.session, event, app_now())
    except Conflict as exc:
        db.session.rollback()
        return _replay_answer(event, {"kind": "bad", "text": str(exc)}, 422)
    db.session.commit()
    if count:
        wake(current_app)
    return _replay_answer(event, {"kind": "ok", "text": _replayed_text(count, event)})


def _replay_answer(event: Event, notice: dict, code: int = 200):
    """To htmx, the deliveries section with the notice; else the event's page (a refusal, 409)
    or a redirect to it with the notice flashed."""
    if is_htmx():
        return _render("events/_replay.html", code, notice=notice, test_event=TEST_EVENT,
                       **_event(event))
    if notice["kind"] == "bad":
        return _event_page(event, notice, 409)
    flash(notice["text"])
    return redirect(url_for(".show_event", event_id=event.id), 303)


def _confirm_replay(event: Event):
    """The confirmation step without JavaScript."""
    return _render("confirm.html", project=db.session.get(Project, event.project_id),
                   title="Replay this event?",
                   text=f"Send {event.type} {event.id} again, as new deliveries with new ids, to "
                        "every active webhook of the project subscribed to it now?",
                   action=url_for(".replay_event", event_id=event.id),
                   fields={"confirmed": "1"}, button="Replay",
                   back=url_for(".show_event", event_id=event.id))
