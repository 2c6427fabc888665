"""Fuzzing: schemathesis drives the API from its own OpenAPI document, and Hypothesis throws
arbitrary JSON at event validation. No input may cause a 5xx; every answer must match the
document; a valid event's body must round-trip exactly."""
from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis import checks as sc

from webhooks.events import (
    EVENT_TYPES,
    SPRINT_EVENTS,
    TASK_EVENTS,
    TIME_ENTRY_EVENTS,
    encode_body,
)
from webhooks.extensions import db
from webhooks.models import Event
from webhooks.openapi import document

pytestmark = pytest.mark.slow

OPERATIONS = [(path, method) for path, item in document()["paths"].items()
              for method in item if method in ("get", "post", "patch", "delete")]


@pytest.fixture
def api_schema(app, project, receiver, token, client):
    # A webhook exists, so that some generated ids hit a real resource.
    client.post("/api/v1/projects/774/webhooks", headers={"Authorization": f"Bearer {token}"},
                json={"url": receiver.url(), "events": list(EVENT_TYPES)})
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("path, method", OPERATIONS)
def test_api_never_fails_and_answers_as_documented(api_schema, token, path, method, mode):
    operation = api_schema[path][method.upper()]
    headers = {"Authorization": f"Bearer {token}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        # A query parameter whose value is None or [] never reaches the wire, so a "negative"
        # case made only of such a parameter is a valid request (schemathesis counts it bad).
        assume(not any(value is None or value == [] for value in (case.query or {}).values()))
        case.call_and_validate(headers=headers, excluded_checks=[sc.positive_data_acceptance])

    try:
        run()
    except Unsatisfiable:
        # Nothing about this operation's input can be made invalid (no body, no parameter
        # that schemathesis can break): only positive cases exist, tested above.
        assert mode is GenerationMode.NEGATIVE


# --- Hypothesis: event validation -------------------------------------------------------

JSON_LEAF = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
             | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
JSON = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
IDS = st.integers(-2**63, 2**63 - 1)
EXTRA = st.dictionaries(st.text(max_size=8).filter(lambda k: k not in ("id", "goalId", "taskId",
                                                                        "status")),
                        JSON, max_size=4)


def _event_bodies():
    """Valid ingest bodies of every family for project 774, with arbitrary extra content."""
    def with_ids(obj_ids: dict, extra: dict) -> dict:
        return {**extra, **obj_ids}

    task = st.builds(lambda event, tid, extra, changes, initiator: {
        "event": event, "task": with_ids({"id": tid, "goalId": 774}, extra),
        **({"changes": changes} if event == "task.updated" else {}), "initiatorId": initiator},
        st.sampled_from(TASK_EVENTS), IDS, EXTRA,
        st.dictionaries(st.text(min_size=1, max_size=8), JSON, min_size=1, max_size=3),
        st.none() | IDS)
    entry = st.builds(lambda event, eid, tid, extra: {
        "event": event, "timeEntry": with_ids({"id": eid, "taskId": tid, "goalId": 774}, extra)},
        st.sampled_from(TIME_ENTRY_EVENTS), IDS, IDS, EXTRA)
    sprint = st.builds(lambda event, sid, extra, status, changes: {
        "event": event, "sprintId": sid, "goalId": 774,
        "sprint": {**extra, "id": sid, "goalId": 774, "status": status},
        **({"changes": changes} if event == "sprint.updated" else {})},
        st.sampled_from(SPRINT_EVENTS), IDS, EXTRA, st.text(min_size=1, max_size=10),
        st.dictionaries(st.text(min_size=1, max_size=8), JSON, min_size=1, max_size=3))
    assigned = st.builds(lambda tid, sid, prev: {
        "event": "task.assignedToSprint", "taskId": tid, "sprintId": sid, "prevSprintId": prev,
        "goalId": 774}, IDS, st.none() | IDS, st.none() | IDS)
    deleted = st.builds(lambda sid: {"event": "sprint.deleted", "sprintId": sid, "goalId": 774},
                        IDS)
    return task | entry | sprint | assigned | deleted


PROPERTY = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def test_any_json_body_gets_202_or_a_4xx_never_a_5xx(client, auth_headers, project):
    @given(body=JSON | st.dictionaries(st.sampled_from(
        ["event", "task", "timeEntry", "sprint", "sprintId", "goalId", "changes", "initiatorId",
         "timestamp", "taskId", "prevSprintId"]), JSON | IDS | st.sampled_from(EVENT_TYPES)))
    @PROPERTY
    def run(body):
        response = client.post("/api/v1/events", headers=auth_headers,
                               data=json.dumps(body), content_type="application/json")
        assert response.status_code in (202, 400, 403, 404, 422), response.json
        if response.status_code != 202:
            assert set(response.json) == {"error"}

    run()


def test_a_valid_event_round_trips_exactly(client, auth_headers, project):
    @given(body=_event_bodies())
    @PROPERTY
    def run(body):
        response = client.post("/api/v1/events", headers=auth_headers,
                               data=json.dumps(body), content_type="application/json")
        assert response.status_code == 202, response.json
        stored = db.session.get(Event, response.json["eventId"]).body
        sent = json.loads(stored)
        assert sent.pop("timestamp")
        sent.setdefault("initiatorId", None)
        expected = {**body, "initiatorId": body.get("initiatorId")}
        assert sent == expected
        assert stored == encode_body(json.loads(stored)), "stored compact, as it is signed"

    run()
