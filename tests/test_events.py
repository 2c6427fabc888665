"""webhooks.events without a database: the 18 event types, validation, outgoing bodies (§2)."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

import pytest

from webhooks.delivery.signing import sign, verify
from webhooks.events import (
    EVENT_TYPES,
    EVENTS,
    EventError,
    encode_body,
    parse_json,
    validate,
    webhook_test_body,
)

NOW = datetime(2026, 3, 22, 12, 0, 0, 123456)
NOW_TEXT = "2026-03-22T12:00:00.123Z"

TASK = {"id": 123, "goalId": 774, "description": "Fix login bug", "complete": False,
        "statusId": 5, "priorityId": 2, "tags": [1, 3], "assignedUsers": [10, 22], "subtasks": []}
TIME_ENTRY = {"id": 9, "taskId": 123, "goalId": 774, "startedAt": "2026-03-22T11:00:00.000Z"}
SPRINT = {"id": 42, "goalId": 774, "name": "Sprint 7", "status": "completed",
          "startDate": "2026-03-08", "endDate": "2026-03-22", "goalAchieved": True,
          "completedAt": "2026-03-22T12:00:00.000Z"}
CHANGES = {"statusId": 5}

TASK_KEYS = ["event", "timestamp", "task", "initiatorId"]
TIME_ENTRY_KEYS = ["event", "timestamp", "timeEntry", "initiatorId"]
SPRINT_KEYS = ["event", "timestamp", "sprintId", "goalId", "initiatorId", "sprint"]
SPRINT_DELETED_KEYS = ["event", "timestamp", "sprintId", "goalId", "initiatorId"]
ASSIGNED_KEYS = ["event", "timestamp", "taskId", "sprintId", "prevSprintId", "goalId",
                 "initiatorId"]


def _task(event, **extra):
    return {"event": event, "task": dict(TASK), "initiatorId": 1, **extra}


def _time_entry(event):
    return {"event": event, "timeEntry": dict(TIME_ENTRY), "initiatorId": 1}


def _sprint(event, **extra):
    return {"event": event, "sprintId": 42, "goalId": 774, "sprint": dict(SPRINT),
            "initiatorId": 1, **extra}


# event -> (a valid ingest body, the outgoing keys in the documented order)
VALID = {
    "task.created": (_task("task.created"), TASK_KEYS),
    "task.updated": (_task("task.updated", changes=CHANGES),
                     ["event", "timestamp", "task", "changes", "initiatorId"]),
    "task.deleted": (_task("task.deleted"), TASK_KEYS),
    "task.assigneesChanged": (_task("task.assigneesChanged"), TASK_KEYS),
    "time-entry.started": (_time_entry("time-entry.started"), TIME_ENTRY_KEYS),
    "time-entry.stopped": (_time_entry("time-entry.stopped"), TIME_ENTRY_KEYS),
    "time-entry.created": (_time_entry("time-entry.created"), TIME_ENTRY_KEYS),
    "time-entry.updated": (_time_entry("time-entry.updated"), TIME_ENTRY_KEYS),
    "time-entry.deleted": (_time_entry("time-entry.deleted"), TIME_ENTRY_KEYS),
    "sprint.created": (_sprint("sprint.created"), SPRINT_KEYS),
    "sprint.updated": (_sprint("sprint.updated", changes={"name": "Sprint 7"}),
                       [*SPRINT_KEYS, "changes"]),
    "sprint.activated": (_sprint("sprint.activated"), SPRINT_KEYS),
    "sprint.reviewStarted": (_sprint("sprint.reviewStarted"), SPRINT_KEYS),
    "sprint.completed": (_sprint("sprint.completed"), SPRINT_KEYS),
    "sprint.paused": (_sprint("sprint.paused"), SPRINT_KEYS),
    "sprint.resumed": (_sprint("sprint.resumed"), SPRINT_KEYS),
    "sprint.deleted": ({"event": "sprint.deleted", "sprintId": 42, "goalId": 774,
                        "initiatorId": 1}, SPRINT_DELETED_KEYS),
    "task.assignedToSprint": ({"event": "task.assignedToSprint", "taskId": 123, "sprintId": 42,
                               "prevSprintId": 41, "goalId": 774, "initiatorId": 1},
                              ASSIGNED_KEYS),
}


def _refused(data, now=NOW) -> EventError:
    with pytest.raises(EventError) as info:
        validate(data, now)
    return info.value


def test_the_table_covers_exactly_the_18_subscribable_events():
    assert len(EVENT_TYPES) == 18
    assert set(VALID) == set(EVENT_TYPES)
    assert "webhook.test" not in EVENT_TYPES


@pytest.mark.parametrize("event", EVENT_TYPES)
def test_valid_body_gives_documented_keys_in_documented_order(event):
    data, keys = VALID[event]
    project, body = validate(json.loads(json.dumps(data)), NOW)
    assert project == 774
    assert list(body) == keys
    assert body["event"] == event
    assert body["timestamp"] == NOW_TEXT
    assert body["initiatorId"] == 1


@pytest.mark.parametrize("event", EVENT_TYPES)
def test_outgoing_values_are_the_ingested_values(event):
    data, _ = VALID[event]
    _, body = validate(json.loads(json.dumps(data)), NOW)
    expected = {k: v for k, v in data.items()}
    expected["timestamp"] = NOW_TEXT
    assert body == expected


@pytest.mark.parametrize("event", EVENT_TYPES)
def test_initiator_id_omitted_becomes_null_and_is_still_present(event):
    data = {k: v for k, v in VALID[event][0].items() if k != "initiatorId"}
    _, body = validate(data, NOW)
    assert "initiatorId" in body
    assert body["initiatorId"] is None
    assert list(body) == VALID[event][1]


@pytest.mark.parametrize("event", EVENT_TYPES)
def test_explicit_null_initiator_id_is_kept_null(event):
    data = {**VALID[event][0], "initiatorId": None}
    assert validate(data, NOW)[1]["initiatorId"] is None


@pytest.mark.parametrize("value", ["1", 1.0, True, [1], {"id": 1}, 2 ** 63])
def test_initiator_id_that_is_not_an_integer_is_refused(value):
    error = _refused({**VALID["task.created"][0], "initiatorId": value})
    assert error.field == "initiatorId"


@pytest.mark.parametrize("event", EVENT_TYPES)
def test_explicit_timestamp_in_the_wire_format_is_kept_verbatim(event):
    data = {**VALID[event][0], "timestamp": "2025-12-31T23:59:59.999Z"}
    _, body = validate(data, NOW)
    assert body["timestamp"] == "2025-12-31T23:59:59.999Z"
    assert list(body) == VALID[event][1]


def test_generated_timestamp_is_utc_iso_with_milliseconds_and_z():
    _, body = validate(VALID["task.created"][0], datetime(2026, 1, 2, 3, 4, 5))
    assert body["timestamp"] == "2026-01-02T03:04:05.000Z"
    _, body = validate(VALID["task.created"][0], datetime(2026, 1, 2, 3, 4, 5, 999999))
    assert body["timestamp"] == "2026-01-02T03:04:05.999Z"


def test_leap_day_timestamp_is_accepted_in_a_leap_year():
    data = {**VALID["task.created"][0], "timestamp": "2024-02-29T00:00:00.000Z"}
    assert validate(data, NOW)[1]["timestamp"] == "2024-02-29T00:00:00.000Z"


@pytest.mark.parametrize("value", [
    "2026-03-22T12:00:00Z",              # no milliseconds
    "2026-03-22T12:00:00.0Z",            # too few
    "2026-03-22T12:00:00.000000Z",       # microseconds
    "2026-03-22T12:00:00.000+00:00",     # offset instead of Z
    "2026-03-22T12:00:00.000",           # no zone
    "2026-03-22T12:00:00.000z",          # lowercase z
    "2026-03-22 12:00:00.000Z",          # space instead of T
    "2026-02-30T12:00:00.000Z",          # no such date
    "2026-13-01T12:00:00.000Z",          # no such month
    "2026-03-22T24:00:00.000Z",          # no such hour
    "2026-03-22T23:59:60.000Z",          # leap second
    "0000-01-01T00:00:00.000Z",          # year zero
    "2026-03-22T12:00:00.000Z\n",        # trailing newline
    "２０２６-03-22T12:00:00.000Z",       # non-ASCII digits
    "",
    1774180800000,                       # epoch milliseconds
    None,
])
def test_timestamp_in_any_other_format_is_refused(value):
    error = _refused({**VALID["task.created"][0], "timestamp": value})
    assert error.field == "timestamp"


def test_missing_event_is_refused_on_event():
    data = {k: v for k, v in VALID["task.created"][0].items() if k != "event"}
    error = _refused(data)
    assert error.field == "event"
    assert error.code == "missing_field"


@pytest.mark.parametrize("value", ["task.exploded", "Task.Created", "", None, 1, ["task.created"]])
def test_unknown_event_is_refused_on_event(value):
    error = _refused({**VALID["task.created"][0], "event": value})
    assert error.field == "event"
    assert error.code == "unknown_event"


def test_webhook_test_cannot_be_ingested():
    error = _refused({"event": "webhook.test", "webhookId": 1, "goalId": 774, "initiatorId": None})
    assert error.field == "event"


def test_body_that_is_not_an_object_is_refused():
    for data in ([], "task.created", None, 1):
        with pytest.raises(EventError):
            validate(data, NOW)


# (event, dotted path of a required integer); the value is removed or replaced
REQUIRED_INTS = [
    ("task.created", "task.id"), ("task.created", "task.goalId"),
    ("time-entry.started", "timeEntry.id"), ("time-entry.started", "timeEntry.taskId"),
    ("time-entry.started", "timeEntry.goalId"),
    ("sprint.activated", "sprintId"), ("sprint.activated", "goalId"),
    ("sprint.activated", "sprint.id"), ("sprint.activated", "sprint.goalId"),
    ("sprint.deleted", "sprintId"), ("sprint.deleted", "goalId"),
    ("task.assignedToSprint", "taskId"), ("task.assignedToSprint", "goalId"),
    ("task.assignedToSprint", "sprintId"), ("task.assignedToSprint", "prevSprintId"),
]


def _with(event: str, path: str, value=..., drop: bool = False) -> dict:
    data = json.loads(json.dumps(VALID[event][0]))
    *parents, leaf = path.split(".")
    target = data
    for part in parents:
        target = target[part]
    if drop:
        del target[leaf]
    else:
        target[leaf] = value
    return data


@pytest.mark.parametrize("event, path", REQUIRED_INTS)
def test_missing_required_integer_is_refused_on_its_path(event, path):
    error = _refused(_with(event, path, drop=True))
    assert error.field == path
    assert error.code == "missing_field"


@pytest.mark.parametrize("value", [True, False, 1.0, 1.5, "1", [1], {"id": 1}, 2 ** 63,
                                   -(2 ** 63) - 1])
@pytest.mark.parametrize("event, path", REQUIRED_INTS)
def test_mistyped_required_integer_is_refused_on_its_path(event, path, value):
    error = _refused(_with(event, path, value))
    assert error.field == path
    assert error.code == "invalid_type"


@pytest.mark.parametrize("event, path", [(e, p) for e, p in REQUIRED_INTS
                                         if e != "task.assignedToSprint"
                                         or p in ("taskId", "goalId")])
def test_null_required_integer_is_refused(event, path):
    assert _refused(_with(event, path, None)).field == path


@pytest.mark.parametrize("sprint_id, prev_sprint_id", [(None, 41), (42, None), (None, None)])
def test_assigned_to_sprint_accepts_null_sprint_ids(sprint_id, prev_sprint_id):
    data = {**VALID["task.assignedToSprint"][0], "sprintId": sprint_id,
            "prevSprintId": prev_sprint_id}
    _, body = validate(data, NOW)
    assert body["sprintId"] == sprint_id
    assert body["prevSprintId"] == prev_sprint_id
    assert list(body) == ASSIGNED_KEYS


@pytest.mark.parametrize("event", ["task.created", "time-entry.stopped"])
@pytest.mark.parametrize("value", [None, [], "x", 1])
def test_event_object_that_is_not_an_object_is_refused(event, value):
    key = "task" if event.startswith("task") else "timeEntry"
    error = _refused({**VALID[event][0], key: value})
    assert error.field == key


@pytest.mark.parametrize("event", ["task.created", "time-entry.stopped", "sprint.paused"])
def test_missing_event_object_is_refused(event):
    key = {"task.created": "task", "time-entry.stopped": "timeEntry",
           "sprint.paused": "sprint"}[event]
    data = {k: v for k, v in VALID[event][0].items() if k != key}
    assert _refused(data).field == key


@pytest.mark.parametrize("event", [e for e in EVENT_TYPES if e.startswith("sprint.")
                                   and e != "sprint.deleted"])
def test_sprint_without_status_is_refused(event):
    data = _with(event, "sprint.status", drop=True)
    error = _refused(data)
    assert error.field == "sprint.status"


@pytest.mark.parametrize("event", ["task.updated", "sprint.updated"])
def test_changes_missing_on_an_update_is_refused(event):
    data = {k: v for k, v in VALID[event][0].items() if k != "changes"}
    error = _refused(data)
    assert error.field == "changes"
    assert error.code == "missing_field"


@pytest.mark.parametrize("event", ["task.updated", "sprint.updated"])
@pytest.mark.parametrize("value", [{}, [], None, "statusId", 5, [{"statusId": 5}]])
def test_changes_that_is_not_a_non_empty_object_is_refused(event, value):
    error = _refused({**VALID[event][0], "changes": value})
    assert error.field == "changes"


@pytest.mark.parametrize("event", [e for e in EVENT_TYPES
                                   if e not in ("task.updated", "sprint.updated")])
def test_changes_on_any_other_event_is_refused(event):
    error = _refused({**VALID[event][0], "changes": {"statusId": 5}})
    assert error.field == "changes"


@pytest.mark.parametrize("event", ["task.updated", "sprint.updated"])
def test_changes_pass_through_unchanged(event):
    changes = {"z": [1, {"b": None, "a": "é"}], "statusId": 5, "a": False}
    _, body = validate({**VALID[event][0], "changes": changes}, NOW)
    assert body["changes"] == changes
    assert list(body["changes"]) == ["z", "statusId", "a"]


@pytest.mark.parametrize("event, key", [("task.deleted", "task"),
                                        ("time-entry.deleted", "timeEntry")])
def test_top_level_goal_id_that_agrees_is_accepted_and_not_echoed(event, key):
    _, body = validate({**VALID[event][0], "goalId": 774}, NOW)
    assert "goalId" not in body
    assert body[key]["goalId"] == 774
    assert list(body) == VALID[event][1]


@pytest.mark.parametrize("event", ["task.deleted", "time-entry.deleted"])
def test_top_level_goal_id_that_disagrees_with_the_object_is_refused(event):
    error = _refused({**VALID[event][0], "goalId": 775})
    assert error.field == "goalId"
    assert error.code == "mismatch"


@pytest.mark.parametrize("event", ["task.deleted", "time-entry.deleted"])
@pytest.mark.parametrize("value", ["774", True, 774.0, None])
def test_top_level_goal_id_of_the_wrong_type_is_refused(event, value):
    assert _refused({**VALID[event][0], "goalId": value}).field == "goalId"


@pytest.mark.parametrize("event", [e for e in EVENT_TYPES if e.startswith("sprint.")
                                   and e != "sprint.deleted"])
def test_sprint_goal_id_that_disagrees_with_top_level_is_refused(event):
    data = _with(event, "sprint.goalId", 775)
    error = _refused(data)
    assert error.field == "goalId"
    assert error.code == "mismatch"


@pytest.mark.parametrize("event", [e for e in EVENT_TYPES if e.startswith("sprint.")
                                   and e != "sprint.deleted"])
def test_sprint_id_that_differs_from_sprint_object_id_is_refused(event):
    error = _refused(_with(event, "sprint.id", 43))
    assert error.field == "sprintId"
    assert error.code == "mismatch"


def test_project_of_a_task_event_is_the_task_goal_id():
    project, _ = validate(_with("task.created", "task.goalId", 9), NOW)
    assert project == 9


def test_project_of_a_time_entry_event_is_the_object_goal_id():
    project, _ = validate(_with("time-entry.created", "timeEntry.goalId", 9), NOW)
    assert project == 9


@pytest.mark.parametrize("event", ["sprint.created", "sprint.deleted", "task.assignedToSprint"])
def test_project_of_other_events_is_the_top_level_goal_id(event):
    data = _with(event, "goalId", 9)
    if "sprint" in data:
        data["sprint"]["goalId"] = 9
    assert validate(data, NOW)[0] == 9


@pytest.mark.parametrize("event", EVENT_TYPES)
def test_unknown_top_level_key_is_refused_on_that_key(event):
    error = _refused({**VALID[event][0], "extra": 1})
    assert error.field == "extra"
    assert error.code == "unexpected_field"


@pytest.mark.parametrize("event, key", [
    ("task.created", "timeEntry"), ("task.created", "sprintId"), ("time-entry.created", "task"),
    ("sprint.deleted", "sprint"), ("task.assignedToSprint", "task"),
    ("sprint.created", "webhookId"), ("task.created", "webhookId"),
])
def test_keys_of_another_event_family_are_refused(event, key):
    assert _refused({**VALID[event][0], key: 1}).field == key


@pytest.mark.parametrize("event, key", [("task.created", "task"),
                                        ("time-entry.updated", "timeEntry"),
                                        ("sprint.completed", "sprint")])
def test_inner_object_keys_pass_through_unchanged_and_in_order(event, key):
    data = json.loads(json.dumps(VALID[event][0]))
    inner = data[key]
    inner.clear()
    inner.update({"zeta": {"nested": [1, 2]}, "goalId": 774, "unknownField": "kept",
                  "id": 42, "taskId": 123, "status": "active", "alpha": None, "ratio": 0.5,
                  "name": "Спринт ✓"})
    if key == "sprint":
        data["sprintId"] = 42
    _, body = validate(data, NOW)
    assert list(body[key]) == ["zeta", "goalId", "unknownField", "id", "taskId", "status",
                               "alpha", "ratio", "name"]
    assert body[key] == inner


def test_encode_body_is_compact_json_that_keeps_key_order():
    _, body = validate(VALID["task.updated"][0], NOW)
    text = encode_body(body)
    assert " " not in text.replace("Fix login bug", "")
    assert text.startswith('{"event":"task.updated","timestamp":"2026-03-22T12:00:00.123Z",'
                           '"task":{"id":123,"goalId":774,"description":"Fix login bug",')
    assert text.endswith('"changes":{"statusId":5},"initiatorId":1}')
    assert json.loads(text) == body


def test_encode_body_keeps_non_ascii_as_utf8_not_escapes():
    text = encode_body({"event": "task.created", "name": "Überprüfung ✓ 🚀"})
    assert "\\u" not in text
    assert "Überprüfung ✓ 🚀" in text
    assert text.encode("utf-8") == '{"event":"task.created","name":"Überprüfung ✓ 🚀"}'.encode()


def test_encode_body_refuses_nan():
    with pytest.raises(ValueError):
        encode_body({"x": float("nan")})


def test_parse_json_reads_utf8_objects():
    assert parse_json('{"name":"Ü✓","n":1.5,"i":2}'.encode()) == {"name": "Ü✓", "n": 1.5, "i": 2}


@pytest.mark.parametrize("raw", [b'{"a":NaN}', b'{"a":Infinity}', b'{"a":-Infinity}',
                                 b'{"a":1e400}', b'{"a":-1e400}'])
def test_parse_json_refuses_non_finite_numbers(raw):
    with pytest.raises(ValueError):
        parse_json(raw)


@pytest.mark.parametrize("raw", [b'{"a":"\xff"}', b'{"a":"\xc3"}', '{"a":"é"}'.encode("latin-1"),
                                 b'{"a":"\xed\xa0\x80"}'])
def test_parse_json_refuses_invalid_utf8(raw):
    with pytest.raises(ValueError):
        parse_json(raw)


@pytest.mark.parametrize("raw", [b'{"a":"\\ud800"}', b'{"a":"x\\udfffy"}', b'{"\\ud83d":1}'])
def test_parse_json_refuses_lone_surrogate_escapes(raw):
    with pytest.raises(ValueError):
        parse_json(raw)


def test_parse_json_accepts_escaped_surrogate_pairs():
    assert parse_json(b'{"a":"\\ud83d\\ude80"}') == {"a": "🚀"}


def test_parse_json_refuses_deep_nesting_with_value_error():
    with pytest.raises(ValueError):
        parse_json(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}")


@pytest.mark.parametrize("raw", [b"", b"{", b"{'a': 1}", b'{"a":1,}'])
def test_parse_json_refuses_malformed_json(raw):
    with pytest.raises(ValueError):
        parse_json(raw)


def test_webhook_test_body_has_documented_keys():
    body = webhook_test_body(5, 774, datetime(2026, 3, 22, 12, 0, 0, 7000))
    assert list(body) == ["event", "timestamp", "webhookId", "goalId", "initiatorId"]
    assert body == {"event": "webhook.test", "timestamp": "2026-03-22T12:00:00.007Z",
                    "webhookId": 5, "goalId": 774, "initiatorId": None}


SIGN_BODY = '{"event":"task.created","name":"Überprüfung"}'.encode()
SIGN_SECRET = "whsec_ü-test"


def test_signature_is_hmac_sha256_hex_of_the_body_keyed_with_secret_utf8():
    expected = hmac.new(SIGN_SECRET.encode("utf-8"), SIGN_BODY, hashlib.sha256).hexdigest()
    assert sign(SIGN_BODY, SIGN_SECRET) == "sha256=" + expected


def test_signature_matches_a_precomputed_vector():
    # HMAC-SHA256(key=b"key", msg=b"The quick brown fox jumps over the lazy dog")
    assert sign(b"The quick brown fox jumps over the lazy dog", "key") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")


def test_signature_of_a_non_ascii_body_and_secret_matches_a_precomputed_vector():
    # Computed with `openssl dgst -sha256 -hmac 'whsec_ü-test'` over the UTF-8 body.
    assert sign(SIGN_BODY, SIGN_SECRET) == (
        "sha256=42d412da48b3405a02b8661c4546059c4745cf0f508598d0db9cd463cfc62463")


def test_signature_changes_with_any_body_byte_and_verify_checks_it():
    header = sign(SIGN_BODY, SIGN_SECRET)
    assert verify(SIGN_BODY, SIGN_SECRET, header)
    assert not verify(SIGN_BODY + b" ", SIGN_SECRET, header)
    assert not verify(SIGN_BODY, SIGN_SECRET + "x", header)
    assert not verify(SIGN_BODY, SIGN_SECRET, "")


# --- the one event table: examples, validation and the OpenAPI schemas agree ----------------

def _schema(name: str):
    """A validator for one of the OpenAPI document's component schemas."""
    import jsonschema_rs

    from webhooks.openapi import document

    return jsonschema_rs.validator_for({"$ref": f"#/components/schemas/{name}",
                                        "components": document()["components"]})


def _schema_name(event: str, suffix: str) -> str:
    return "".join(w[:1].upper() + w[1:] for w in event.replace("-", ".").split(".")) + suffix


def test_the_table_has_one_example_per_subscribable_event_in_the_docs_order():
    assert [e.name for e in EVENTS] == list(EVENT_TYPES) == list(VALID)
    assert all(e.example["event"] == e.name and e.fires for e in EVENTS)


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.name)
def test_every_example_validates_round_trips_and_fits_both_openapi_schemas(event):
    project, body = validate(event.example, NOW)
    assert project == 774
    sent = json.loads(encode_body(body))
    assert validate(sent, NOW) == (project, body)  # what we send, ingested again, is the same
    assert sent == {**event.example, "timestamp": NOW_TEXT}
    _schema(_schema_name(event.name, "Event")).validate(event.example)
    _schema(_schema_name(event.name, "Payload")).validate(sent)


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.name)
def test_the_openapi_schemas_refuse_what_validation_refuses(event):
    first_own_field = next(k for k in event.example if k not in ("event", "initiatorId"))
    broken = {**event.example, first_own_field: "not the right type"}
    with pytest.raises(EventError):
        validate(broken, NOW)
    assert not _schema(_schema_name(event.name, "Event")).is_valid(broken)


def test_openapi_ingest_schemas_carry_the_tables_examples():
    from webhooks.openapi import document

    schemas = document()["components"]["schemas"]
    for event in EVENTS:
        assert schemas[_schema_name(event.name, "Event")]["examples"] == [event.example]
