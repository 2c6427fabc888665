"""The 18 event types (SPEC §2): one table that drives validating ingested bodies, shaping
the outgoing body, the OpenAPI schemas (`webhooks.openapi`) and the UI's event groups, with one
example body per event type (tested to validate and round-trip).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime

from .clock import iso, parse_iso
from .exceptions import Invalid
from .models import fits

# --- The table ---------------------------------------------------------------------------

# Field rules: the value is an integer, an integer or null, or one of the objects below.
INT, NULLABLE_INT = "integer", "integer or null"


@dataclass(frozen=True)
class ObjectRule:
    """An object inside an event: these integer fields are required, and these non-empty
    strings; every other key passes through as given."""

    schema: str  # its OpenAPI schema's name
    ints: tuple[str, ...]
    strings: tuple[str, ...] = ()
    sent: str = ""  # the other fields TaskView sends (documentation)

    def summary(self) -> str:
        """What the object must carry, for the docs and the OpenAPI schema."""
        sent = f" TaskView sends {self.sent}." if self.sent else ""
        return (f"Required: {', '.join((*self.ints, *self.strings))}. Other fields pass "
                f"through unchanged.{sent}")


OBJECTS = {
    "task": ObjectRule("Task", ("id", "goalId"), sent="description, complete, statusId, "
                       "priorityId, tags, assignedUsers, subtasks"),
    "timeEntry": ObjectRule("TimeEntry", ("id", "taskId", "goalId")),
    "sprint": ObjectRule("Sprint", ("id", "goalId"), ("status",), sent="name, status, "
                         "startDate, endDate, goalAchieved, completedAt"),
}


@dataclass(frozen=True)
class Family:
    """What the events of a family carry.

    `keys` is the outgoing body's key order (`changes` only on WITH_CHANGES); `fields` the
    family's own fields in the order they are checked, with their rule (an object's name, INT
    or NULLABLE_INT) and a description; `project` where the project (goalId) comes from;
    `agree` pairs of a top-level field and the object field it must equal when both are sent;
    `echo_goal` False where a top-level goalId is accepted for that check only.
    """

    keys: tuple[str, ...]
    fields: tuple[tuple[str, str, str], ...]
    project: str
    agree: tuple[tuple[str, str], ...] = ()
    echo_goal: bool = True


_GOAL = "The project (the host app's goalId)."
FAMILIES = {
    "task": Family(("event", "timestamp", "task", "changes", "initiatorId"),
                   (("task", "task", "The task."),), "task.goalId",
                   (("goalId", "task.goalId"),), echo_goal=False),
    "time-entry": Family(("event", "timestamp", "timeEntry", "initiatorId"),
                         (("timeEntry", "timeEntry", "The time entry."),), "timeEntry.goalId",
                         (("goalId", "timeEntry.goalId"),), echo_goal=False),
    "sprint": Family(("event", "timestamp", "sprintId", "goalId", "initiatorId", "sprint",
                      "changes"),
                     (("sprintId", INT, "Equal to sprint.id."), ("goalId", INT, _GOAL),
                      ("sprint", "sprint", "The sprint as it is when the event fires.")),
                     "goalId", (("sprintId", "sprint.id"), ("goalId", "sprint.goalId"))),
    "sprint.deleted": Family(("event", "timestamp", "sprintId", "goalId", "initiatorId"),
                             (("sprintId", INT, "The sprint that was deleted."),
                              ("goalId", INT, _GOAL)), "goalId"),
    "assigned": Family(("event", "timestamp", "taskId", "sprintId", "prevSprintId", "goalId",
                        "initiatorId"),
                       (("taskId", INT, "The task."),
                        ("sprintId", NULLABLE_INT, "The new sprint; null if removed."),
                        ("prevSprintId", NULLABLE_INT, "The previous one, or null."),
                        ("goalId", INT, _GOAL)), "goalId"),
    "test": Family(("event", "timestamp", "webhookId", "goalId", "initiatorId"),
                   (("webhookId", INT, "The webhook tested."), ("goalId", INT, _GOAL)),
                   "goalId"),
}


@dataclass(frozen=True)
class EventType:
    """One subscribable event: its family, its group in the UI, when it fires, an example."""

    name: str
    family: str
    group: str
    fires: str
    example: dict


_TASK = {"id": 123, "goalId": 774, "description": "Fix login bug", "complete": False,
         "statusId": 5, "priorityId": 2, "tags": [1, 3], "assignedUsers": [10, 22],
         "subtasks": []}
_ENTRY = {"id": 9, "taskId": 123, "goalId": 774, "startedAt": "2026-03-22T11:00:00.000Z"}
_SPRINT = {"id": 42, "goalId": 774, "name": "Sprint 7", "status": "active",
           "startDate": "2026-03-08", "endDate": "2026-03-22", "goalAchieved": False,
           "completedAt": None}


def _task(name: str, fires: str, **extra) -> EventType:
    return EventType(name, "task", "Task", fires,
                     {"event": name, "task": _TASK, **extra, "initiatorId": 1})


def _entry(name: str, fires: str) -> EventType:
    return EventType(name, "time-entry", "Time entries", fires,
                     {"event": name, "timeEntry": _ENTRY, "initiatorId": 1})


def _sprint(name: str, fires: str, status: str = "active", **extra) -> EventType:
    return EventType(name, "sprint", "Sprints", fires, {
        "event": name, "sprintId": 42, "goalId": 774, "initiatorId": 1,
        "sprint": {**_SPRINT, "status": status}, **extra})


# The subscribable events, in the doc's order, with the doc's words for when each fires.
EVENTS = (
    _task("task.created", "A new task is created in the project"),
    _task("task.updated", "A task is updated (description, status, priority, deadline, etc.)",
          changes={"statusId": 5}),
    _task("task.deleted", "A task is deleted"),
    _task("task.assigneesChanged", "Task assignees are added or removed"),
    _entry("time-entry.started", "A timer is started on a task"),
    _entry("time-entry.stopped", "A running timer is stopped"),
    _entry("time-entry.created", "A time entry is created manually"),
    _entry("time-entry.updated", "A time entry is updated"),
    _entry("time-entry.deleted", "A time entry is deleted"),
    _sprint("sprint.created", "A new sprint is created (draft or planned)", "planned"),
    _sprint("sprint.updated", "Sprint fields are edited (name, dates, capacity, goal)",
            changes={"name": "Sprint 7"}),
    _sprint("sprint.activated", "A sprint transitions to the active state"),
    _sprint("sprint.reviewStarted", "An active sprint enters review", "review"),
    _sprint("sprint.completed", "A sprint is closed and marked completed", "completed"),
    _sprint("sprint.paused", "An active sprint is paused", "paused"),
    _sprint("sprint.resumed", "A paused sprint is resumed"),
    EventType("sprint.deleted", "sprint.deleted", "Sprints",
              "A sprint is deleted (any status, including completed)",
              {"event": "sprint.deleted", "sprintId": 42, "goalId": 774, "initiatorId": 1}),
    EventType("task.assignedToSprint", "assigned", "Task",
              "A task is added to, moved between, or removed from a sprint",
              {"event": "task.assignedToSprint", "taskId": 123, "sprintId": 42,
               "prevSprintId": None, "goalId": 774, "initiatorId": 1}),
)
EVENT_TYPES = tuple(e.name for e in EVENTS)
BY_NAME = {e.name: e for e in EVENTS}
TEST_EVENT = "webhook.test"  # test sends only; cannot be subscribed
WITH_CHANGES = ("task.updated", "sprint.updated")
TASK_EVENTS = tuple(e.name for e in EVENTS if e.family == "task")
TIME_ENTRY_EVENTS = tuple(e.name for e in EVENTS if e.family == "time-entry")
SPRINT_EVENTS = tuple(e.name for e in EVENTS if e.family == "sprint")
EVENT_GROUPS = {group: tuple(e.name for e in EVENTS if e.group == group)
                for group in ("Task", "Time entries", "Sprints")}

TIMESTAMP_MESSAGE = "{field} must be UTC ISO-8601 with milliseconds, like 2026-03-22T12:00:00.000Z"


# What the keys every family shares carry (the families' own keys say it in Family.fields).
COMMON_KEYS = {
    "event": "The event type (also in the X-Webhook-Event header).",
    "timestamp": "When the event was accepted (or the time the host sent with it): UTC "
                 "ISO-8601 with milliseconds and Z; the same on every retry.",
    "initiatorId": "Who caused the event; null when nobody did.",
    "changes": "Only the fields that changed, with their new values.",
}


class EventError(Invalid):
    """An ingested body breaks a rule; `field` names the part at fault."""

    code = "invalid_event"


def family_of(event: str) -> Family:
    """The family of an event type (webhook.test included)."""
    return FAMILIES["test"] if event == TEST_EVENT else FAMILIES[BY_NAME[event].family]


def body_keys(event: str) -> tuple[str, ...]:
    """The keys of an event type's outgoing body, in the order they are sent."""
    return tuple(k for k in family_of(event).keys if k != "changes" or event in WITH_CHANGES)


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
    rule = OBJECTS[key]
    for field in rule.ints:
        _int(value, field, f"{key}.{field}")
    for field in rule.strings:
        if field not in value:
            raise EventError(f"{key}.{field} is required", f"{key}.{field}", "missing_field")
        if not isinstance(value[field], str) or not value[field]:
            raise EventError(f"{key}.{field} must be a non-empty string", f"{key}.{field}",
                             "invalid_type")
    return value


def _timestamp(data: dict, now: datetime) -> str:
    if "timestamp" not in data:
        return iso(now)
    value = data["timestamp"]
    try:
        parse_iso(value)
    except ValueError:
        raise EventError(TIMESTAMP_MESSAGE.format(field="timestamp"), "timestamp",
                         "invalid_format") from None
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
    if not isinstance(event, str) or event not in BY_NAME:
        raise EventError(f"unknown event {event!r}; expected one of: {', '.join(EVENT_TYPES)}",
                         "event", "unknown_event")
    family = family_of(event)
    _only_known_keys(event, family, data)
    values = {"event": event, "timestamp": _timestamp(data, now)}
    initiator = data.get("initiatorId")
    if initiator is not None and not _is_int(initiator):
        raise EventError("initiatorId must be an integer or null", "initiatorId", "invalid_type")
    values["initiatorId"] = initiator
    project = _shape(family, data, values)
    if event in WITH_CHANGES:
        changes = data.get("changes")
        if "changes" not in data:
            raise EventError(f"changes is required on {event}", "changes", "missing_field")
        if not isinstance(changes, dict) or not changes:
            raise EventError("changes must be a non-empty object", "changes", "invalid_type")
        values["changes"] = changes
    return project, {key: values[key] for key in family.keys if key in values}


def _only_known_keys(event: str, family: Family, data: dict) -> None:
    allowed = set(family.keys)
    if event not in WITH_CHANGES:
        allowed.discard("changes")
    if not family.echo_goal:
        allowed.add("goalId")  # accepted for the agreement check, not echoed
    for key in data:
        if key not in allowed:
            if key == "changes":
                raise EventError(f"changes is only allowed on {' and '.join(WITH_CHANGES)}",
                                 "changes", "unexpected_field")
            raise EventError(f"unknown field {key!r} for {event}", key, "unexpected_field")


def _shape(family: Family, data: dict, values: dict) -> int:
    """Validate the family's own fields into `values`; return the project (goalId)."""
    for key, rule, _ in family.fields:
        if rule in (INT, NULLABLE_INT):
            values[key] = _int(data, key, key, nullable=rule == NULLABLE_INT)
        else:
            values[key] = _object(data, key)
    if not family.echo_goal and "goalId" in data:
        _int(data, "goalId", "goalId")
    for top, inner in family.agree:
        _agree(data, top, _at(values, inner), inner)
    return _at(values, family.project)


def _at(values: dict, path: str):
    """`values["task"]["goalId"]` for `task.goalId`."""
    for part in path.split("."):
        values = values[part]
    return values


def webhook_test_body(webhook_id: int, project_id: int, now: datetime,
                      initiator_id: int | None = None) -> dict:
    """The body of a `webhook.test` delivery."""
    return {"event": TEST_EVENT, "timestamp": _timestamp({}, now), "webhookId": webhook_id,
            "goalId": project_id, "initiatorId": initiator_id}


def example_body(event: str, now: datetime, project_id: int | None = None) -> dict:
    """The table's example of a subscribable event as it is sent: timestamped `now`, keys in
    the documented order, and its goalId (wherever it stands) that of `project_id` if given."""
    example = dict(BY_NAME[event].example)
    if project_id is not None:
        example = {key: {**value, "goalId": project_id} if key in OBJECTS else value
                   for key, value in example.items()}
        if "goalId" in example:
            example["goalId"] = project_id
    return validate(example, now)[1]
