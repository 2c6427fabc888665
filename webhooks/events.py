"""The 18 event types: validation of ingested bodies and the outgoing body (SPEC §2)."""
from __future__ import annotations

import json
import math
import re
from datetime import datetime

from .clock import iso
from .exceptions import Invalid
from .models import fits

TASK_EVENTS = ("task.created", "task.updated", "task.deleted", "task.assigneesChanged")
TIME_ENTRY_EVENTS = ("time-entry.started", "time-entry.stopped", "time-entry.created",
                     "time-entry.updated", "time-entry.deleted")
SPRINT_EVENTS = ("sprint.created", "sprint.updated", "sprint.activated", "sprint.reviewStarted",
                 "sprint.completed", "sprint.paused", "sprint.resumed")
SPRINT_DELETED = "sprint.deleted"
ASSIGNED_TO_SPRINT = "task.assignedToSprint"
TEST_EVENT = "webhook.test"

# The subscribable events, in the doc's order.
EVENT_TYPES = (
    "task.created", "task.updated", "task.deleted", "task.assigneesChanged",
    *TIME_ENTRY_EVENTS, *SPRINT_EVENTS, SPRINT_DELETED, ASSIGNED_TO_SPRINT,
)
EVENT_GROUPS = {
    "Tasks": (*TASK_EVENTS, ASSIGNED_TO_SPRINT),
    "Time entries": TIME_ENTRY_EVENTS,
    "Sprints": (*SPRINT_EVENTS, SPRINT_DELETED),
}
WITH_CHANGES = ("task.updated", "sprint.updated")

# ASCII: without it `\d` also matches other scripts' digits, which strptime then accepts.
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", re.ASCII)

# Top-level keys of the outgoing body per family, in order; `changes` only where it applies.
_BODY_KEYS = {
    "task": ("event", "timestamp", "task", "changes", "initiatorId"),
    "time-entry": ("event", "timestamp", "timeEntry", "initiatorId"),
    "sprint": ("event", "timestamp", "sprintId", "goalId", "initiatorId", "sprint", "changes"),
    "sprint.deleted": ("event", "timestamp", "sprintId", "goalId", "initiatorId"),
    "assigned": ("event", "timestamp", "taskId", "sprintId", "prevSprintId", "goalId",
                 "initiatorId"),
    "test": ("event", "timestamp", "webhookId", "goalId", "initiatorId"),
}
# Required integer fields inside the event's object.
_OBJECT_INTS = {"task": ("id", "goalId"), "timeEntry": ("id", "taskId", "goalId"),
                "sprint": ("id", "goalId")}


class EventError(Invalid):
    """An ingested body breaks a rule; `field` names the part at fault."""

    code = "invalid_event"


def family(event: str) -> str:
    """The family of an event type, which decides the shape of its body."""
    if event in TASK_EVENTS:
        return "task"
    if event in TIME_ENTRY_EVENTS:
        return "time-entry"
    if event in SPRINT_EVENTS:
        return "sprint"
    if event == SPRINT_DELETED:
        return "sprint.deleted"
    if event == ASSIGNED_TO_SPRINT:
        return "assigned"
    if event == TEST_EVENT:
        return "test"
    raise KeyError(event)


def parse_json(raw: bytes):
    """Parse a request body strictly: UTF-8, finite numbers only. Raises ValueError."""
    def refuse_constant(name):
        raise ValueError(f"{name} is not valid JSON")

    def finite_float(text):
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"number {text} is out of range")
        return value

    text = raw.decode("utf-8")
    try:
        data = json.loads(text, parse_constant=refuse_constant, parse_float=finite_float)
        if "\\u" in text:  # only an escape can smuggle in a lone surrogate
            json.dumps(data, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
    except UnicodeEncodeError:
        raise ValueError("a string holds a lone surrogate (\\ud800-\\udfff)") from None
    return data


def encode_body(body: dict) -> str:
    """The compact JSON text that is stored, signed and sent."""
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    text.encode("utf-8")  # refuses lone surrogates now rather than at send time
    return text


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and fits(value)


def _int(data: dict, key: str, path: str, nullable: bool = False):
    if key not in data:
        raise EventError(f"{path} is required", path, "missing_field")
    value = data[key]
    if value is None and nullable:
        return None
    if not _is_int(value):
        kind = "an integer or null" if nullable else "an integer"
        raise EventError(f"{path} must be {kind}", path, "invalid_type")
    return value


def _object(data: dict, key: str) -> dict:
    if key not in data:
        raise EventError(f"{key} is required", key, "missing_field")
    value = data[key]
    if not isinstance(value, dict):
        raise EventError(f"{key} must be an object", key, "invalid_type")
    for field in _OBJECT_INTS[key]:
        _int(value, field, f"{key}.{field}")
    return value


def _timestamp(data: dict, now: datetime) -> str:
    if "timestamp" not in data:
        return iso(now)
    value = data["timestamp"]
    message = "timestamp must be UTC ISO-8601 with milliseconds, like 2026-03-22T12:00:00.000Z"
    if not isinstance(value, str) or not TIMESTAMP_RE.match(value):
        raise EventError(message, "timestamp", "invalid_format")
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        raise EventError(message, "timestamp", "invalid_format") from None
    return value


def _agree(top: dict, key: str, expected: int, inner_path: str) -> None:
    if key in top and top[key] != expected:
        raise EventError(f"{key} {top[key]} does not match {inner_path} {expected}", key,
                         "mismatch")


def validate(data, now: datetime) -> tuple[int, dict]:
    """Check an ingested body; return (project id, outgoing body in the documented order)."""
    if not isinstance(data, dict):
        raise EventError("the body must be a JSON object", None, "invalid_body")
    event = data.get("event")
    if "event" not in data:
        raise EventError("event is required", "event", "missing_field")
    if not isinstance(event, str) or event not in EVENT_TYPES:
        raise EventError(f"unknown event {event!r}; expected one of: {', '.join(EVENT_TYPES)}",
                         "event", "unknown_event")
    kind = family(event)
    allowed = set(_BODY_KEYS[kind])
    if event not in WITH_CHANGES:
        allowed.discard("changes")
    if kind in ("task", "time-entry"):
        allowed.add("goalId")  # accepted for the agreement check, not echoed
    for key in data:
        if key not in allowed:
            if key == "changes":
                raise EventError(f"changes is only allowed on {' and '.join(WITH_CHANGES)}",
                                 "changes", "unexpected_field")
            raise EventError(f"unknown field {key!r} for {event}", key, "unexpected_field")
    values = {"event": event, "timestamp": _timestamp(data, now)}
    initiator = data.get("initiatorId")
    if initiator is not None and not _is_int(initiator):
        raise EventError("initiatorId must be an integer or null", "initiatorId", "invalid_type")
    values["initiatorId"] = initiator
    project = _shape(kind, data, values)
    if event in WITH_CHANGES:
        changes = data.get("changes")
        if "changes" not in data:
            raise EventError(f"changes is required on {event}", "changes", "missing_field")
        if not isinstance(changes, dict) or not changes:
            raise EventError("changes must be a non-empty object", "changes", "invalid_type")
        values["changes"] = changes
    body = {key: values[key] for key in _BODY_KEYS[kind] if key in values}
    return project, body


def _shape(kind: str, data: dict, values: dict) -> int:
    """Validate the family's fields into `values`; return the project (goalId)."""
    if kind in ("task", "time-entry"):
        key = "task" if kind == "task" else "timeEntry"
        obj = _object(data, key)
        if "goalId" in data:
            _int(data, "goalId", "goalId")
            _agree(data, "goalId", obj["goalId"], f"{key}.goalId")
        values[key] = obj
        return obj["goalId"]
    if kind == "sprint":
        values["sprintId"] = _int(data, "sprintId", "sprintId")
        values["goalId"] = _int(data, "goalId", "goalId")
        sprint = _object(data, "sprint")
        status = sprint.get("status")
        if "status" not in sprint:
            raise EventError("sprint.status is required", "sprint.status", "missing_field")
        if not isinstance(status, str) or not status:
            raise EventError("sprint.status must be a non-empty string", "sprint.status",
                             "invalid_type")
        _agree(data, "sprintId", sprint["id"], "sprint.id")
        _agree(data, "goalId", sprint["goalId"], "sprint.goalId")
        values["sprint"] = sprint
        return values["goalId"]
    if kind == "sprint.deleted":
        values["sprintId"] = _int(data, "sprintId", "sprintId")
        values["goalId"] = _int(data, "goalId", "goalId")
        return values["goalId"]
    values["taskId"] = _int(data, "taskId", "taskId")
    values["sprintId"] = _int(data, "sprintId", "sprintId", nullable=True)
    values["prevSprintId"] = _int(data, "prevSprintId", "prevSprintId", nullable=True)
    values["goalId"] = _int(data, "goalId", "goalId")
    return values["goalId"]


def webhook_test_body(webhook_id: int, project_id: int, now: datetime,
                      initiator_id: int | None = None) -> dict:
    """The body of a `webhook.test` delivery."""
    return {"event": TEST_EVENT, "timestamp": _timestamp({}, now), "webhookId": webhook_id,
            "goalId": project_id, "initiatorId": initiator_id}
