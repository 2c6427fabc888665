"""The OpenAPI 3.1 description of the JSON API (SPEC §3 and §5), served at /api/v1/openapi.json.

Plain dicts, built from the event catalogue in `webhooks.events` so the two cannot drift.
Path parameters keep the names of the Flask routes (`{webhook_id}` for `<webhook_id>`).
"""
from __future__ import annotations

from .events import (
    BY_NAME,
    COMMON_KEYS,
    EVENT_TYPES,
    NULLABLE_INT,
    OBJECTS,
    TEST_EVENT,
    WITH_CHANGES,
    body_keys,
    family_of,
)
from .models import DeliveryStatus
from .version import __version__

PREFIX = "/api/v1"
JSON = "application/json"

INT64 = {"type": "integer", "format": "int64", "minimum": -(2 ** 63), "maximum": 2 ** 63 - 1}
NULLABLE_INT64 = {**INT64, "type": ["integer", "null"]}
TIMESTAMP_PATTERN = (r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
                     r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{3}Z$")
TIMESTAMP = {"type": "string", "format": "date-time", "pattern": TIMESTAMP_PATTERN,
             "description": "UTC ISO-8601 with milliseconds and Z.",
             "examples": ["2026-03-22T12:00:00.000Z"]}
NULLABLE_TIMESTAMP = {**TIMESTAMP, "type": ["string", "null"]}
NOTIFY_URL = {"type": ["string", "null"], "description": (
    "The operational webhook (SPEC §9): receives webhook.failing and webhook.deactivated as "
    "signed deliveries. http(s); the host must be allowed by WEBHOOKS_ALLOWED_HOSTS.")}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


STANDARD = {"type": "boolean", "description": (
    "Also sign each delivery the Standard Webhooks way: webhook-id, webhook-timestamp and "
    "webhook-signature headers beside X-Webhook-Signature (default false).")}


def obj(properties: dict, required=None, description: str | None = None,
        closed: bool = True) -> dict:
    """An object schema; `required` defaults to every property."""
    schema = {"type": "object", "properties": properties,
              "required": list(properties) if required is None else list(required)}
    if closed:
        schema["additionalProperties"] = False
    if description:
        schema["description"] = description
    return schema


# --- Event bodies (SPEC §2) -----------------------------------------------------------------

def _schema_name(event: str, suffix: str) -> str:
    """`time-entry.started` -> `TimeEntryStartedEvent` (or `...Payload`)."""
    words = event.replace("-", ".").split(".")
    return "".join(w[:1].upper() + w[1:] for w in words) + suffix


def _event_objects() -> dict:
    """Task, TimeEntry, Sprint (from events.OBJECTS) and Changes."""
    schemas = {}
    for rule in OBJECTS.values():
        props = {field: INT64 for field in rule.ints}
        props |= {field: {"type": "string", "minLength": 1} for field in rule.strings}
        schemas[rule.schema] = obj(props, closed=False, description=rule.summary())
    schemas["Changes"] = {"type": "object", "minProperties": 1,
                          "description": COMMON_KEYS["changes"]}
    return schemas


def _field(key: str, rule: str, description: str) -> dict:
    if rule in OBJECTS:
        return {**ref(OBJECTS[rule].schema), "description": description}
    return {**(NULLABLE_INT64 if rule == NULLABLE_INT else INT64), "description": description}


def _event_fields(event: str, outgoing: bool) -> tuple[dict, list[str]]:
    """The top-level properties of an event body, in wire order, and the required ones, from
    the event's family in `webhooks.events`."""
    family = family_of(event)
    own = {key: _field(key, rule, text) for key, rule, text in family.fields}
    common = {
        "event": {"const": event},
        "timestamp": TIMESTAMP if outgoing else {
            "type": "string", "pattern": TIMESTAMP_PATTERN,
            "description": "Optional; kept verbatim. Defaults to the time the event is accepted."},
        "initiatorId": {**NULLABLE_INT64, "description": COMMON_KEYS["initiatorId"]},
        "changes": ref("Changes"),
    }
    props = {key: own.get(key) or common[key] for key in body_keys(event)}
    if outgoing:
        return props, list(props)
    if not family.echo_goal:
        inner = family.project
        props["goalId"] = {**INT64, "description": f"Optional; must equal {inner}. "
                           "Not echoed in the outgoing body."}
    required = ["event", *own, *(["changes"] if event in WITH_CHANGES else [])]
    return props, required


def _event_schemas() -> dict:
    """One schema per event type for ingest (`...Event`, with the table's example) and as
    delivered (`...Payload`)."""
    schemas = {}
    key = {"type": "string", "minLength": 1, "maxLength": 255, "description": (
        "Optional; the Idempotency-Key of this item: used for the same project within 24 h, "
        "the item answers its first result (replayed) and stores nothing new.")}
    for event in EVENT_TYPES:
        props, required = _event_fields(event, outgoing=False)
        schema = obj(props, required, f"An ingested {event}: {BY_NAME[event].fires.lower()}.")
        schemas[_schema_name(event, "Event")] = {**schema,
                                                 "examples": [BY_NAME[event].example]}
        schemas[_schema_name(event, "BatchItem")] = obj(
            {**props, "idempotencyKey": key}, required, f"A {event} in a batch.")
    for event in (*EVENT_TYPES, TEST_EVENT):
        props, required = _event_fields(event, outgoing=True)
        schemas[_schema_name(event, "Payload")] = obj(
            props, required, f"The body delivered for {event}, keys in this order.")
    return schemas


def _one_of(events, suffix: str, description: str) -> dict:
    names = {event: _schema_name(event, suffix) for event in events}
    return {"description": description, "oneOf": [ref(n) for n in names.values()],
            "discriminator": {"propertyName": "event", "mapping": {
                e: f"#/components/schemas/{n}" for e, n in names.items()}}}


# --- Resources (SPEC §5) ----------------------------------------------------------------------

def _resources() -> dict:
    webhook = {
        "id": INT64, "projectId": INT64, "url": {"type": "string"},
        "events": {"type": "array", "items": ref("EventType")},
        "active": {"type": "boolean"},
        "standardWebhooks": STANDARD,
        "consecutiveFailures": {"type": "integer", "minimum": 0},
        "deactivatedAt": NULLABLE_TIMESTAMP,
        "deactivationReason": {"type": ["string", "null"],
                               "description": "Why it is off: by hand or too many failures."},
        "createdAt": TIMESTAMP, "updatedAt": TIMESTAMP,
    }
    example = {"type": "boolean", "description": (
        "A \"Send example\" of the event catalogue: the event type's example body, sent once "
        "with X-Webhook-Example: true; never retried, resent, replayed or counted.")}
    delivery = {
        "id": INT64, "webhookId": INT64, "eventId": {"type": "string"},
        "event": {"enum": [*EVENT_TYPES, TEST_EVENT]}, "example": example,
        "status": {"enum": list(DeliveryStatus)},
        "httpCode": {"type": ["integer", "null"], "description": "Of the latest attempt."},
        "attempts": {"type": "integer", "minimum": 0,
                     "description": "All attempts, manual retry cycles included."},
        "createdAt": TIMESTAMP,
        "nextAttemptAt": {**NULLABLE_TIMESTAMP, "description": "Null when the delivery is final."},
        "completedAt": NULLABLE_TIMESTAMP,
    }
    secret = {"type": "string", "description": "Shown only this once."}
    event_item = {"id": {"type": "string"}, "projectId": INT64,
                  "event": {"enum": [*EVENT_TYPES, TEST_EVENT]}, "example": example,
                  "createdAt": TIMESTAMP,
                  "deliveries": {"type": "array", "description": "In id order.", "items": obj({
                      "id": INT64, "webhookId": INT64, "status": {"enum": list(DeliveryStatus)},
                      "httpCode": {"type": ["integer", "null"]},
                      "attempts": {"type": "integer", "minimum": 0}})}}
    accepted = {"eventId": {"type": "string"}, "deliveries": {
        "type": "integer", "minimum": 0,
        "description": "Deliveries created: one per subscribed active webhook."}}
    return {
        "Project": obj({"id": {**INT64, "description": "The host app's goalId."},
                        "name": {"type": "string"}, "notifyUrl": NOTIFY_URL,
                        "createdAt": TIMESTAMP, "updatedAt": TIMESTAMP}),
        "ProjectWithNotifySecret": obj({
            "id": INT64, "name": {"type": "string"}, "notifyUrl": NOTIFY_URL,
            "notifySecret": {**secret, "description": "Signs the operational webhook's "
                             "notices; returned only when notifyUrl is set or changed."},
            "createdAt": TIMESTAMP, "updatedAt": TIMESTAMP}, ["id", "name", "notifyUrl",
                                                              "createdAt", "updatedAt"]),
        "Webhook": obj(webhook),
        "WebhookWithSecret": obj({**webhook, "secret": secret}),
        "Secret": obj({"secret": secret}),
        "Delivery": obj(delivery),
        "DeliveryDetail": obj({**delivery, "payload": ref("Payload"), "attemptLog": {
            "type": "array", "items": ref("Attempt"), "description": "Oldest first."}}),
        "TestDelivery": obj({**delivery, "durationMs": {"type": ["integer", "null"], "minimum": 0},
                             "error": {"type": ["string", "null"]}}),
        "TestResult": obj({"delivery": ref("TestDelivery")}),
        "ExampleRequest": obj({"event": ref("EventType")}),
        "Attempt": obj({"attemptedAt": TIMESTAMP, "httpCode": {"type": ["integer", "null"]},
                        "durationMs": {"type": "integer", "minimum": 0},
                        "error": {"type": ["string", "null"]},
                        "responseBody": {"type": ["string", "null"],
                                         "description": "At most 4 KiB of the answer."}}),
        "Accepted": obj(accepted),
        "BatchAccepted": obj({"items": {"type": "array", "description": "In the order given.",
                                        "items": obj({**accepted, "replayed": {
                                            "type": "boolean", "description": (
                                                "This item's idempotencyKey was used before: "
                                                "its first answer, nothing stored.")}})}}),
        "Error": obj({"error": obj({"code": {"type": "string"}, "message": {"type": "string"},
                                    "field": {"type": "string",
                                              "description": "The input at fault, if one is."}},
                                   ["code", "message"])}),
        "EventLogItem": obj(event_item),
        "EventDetail": obj({**event_item, "payload": ref("Payload")}),
        "EventPage": _page("EventLogItem"),
        "Replayed": obj({"deliveries": {"type": "integer", "minimum": 0, "description":
                                        "New deliveries: one per webhook subscribed now."}}),
        "ProjectPage": _page("Project"),
        "WebhookPage": _page("Webhook"),
        "DeliveryPage": _page("Delivery"),
    }


def _page(item: str) -> dict:
    return obj({"items": {"type": "array", "items": ref(item)},
                "nextCursor": {"type": ["string", "null"],
                               "description": "The `cursor` of the next page; null at the end."}})


def _inputs() -> dict:
    name = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"\S",
            "description": "1 to 200 characters once surrounding spaces are trimmed."}
    url = {"type": "string", "maxLength": 2048, "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://",
           "description": "http(s) only; the host must be allowed by WEBHOOKS_ALLOWED_HOSTS.",
           "examples": ["https://example.com/hooks/taskview"]}
    events = {"type": "array", "items": ref("EventType"), "minItems": 1}
    return {
        "EventType": {"enum": list(EVENT_TYPES),
                      "description": "A subscribable event (webhook.test is not one)."},
        "ProjectCreate": obj({"id": {**INT64, "description": "The host app's goalId."},
                              "name": name}),
        "ProjectUpdate": obj({"name": name, "notifyUrl": {
            **NOTIFY_URL, "description": NOTIFY_URL["description"] + " null clears it."}}, []),
        "WebhookCreate": obj({"url": url, "events": events, "standardWebhooks": STANDARD},
                             ["url", "events"]),
        "WebhookUpdate": obj({"url": url, "events": events, "active": {
            "type": "boolean", "description": "Turning on does not reset consecutiveFailures."},
            "standardWebhooks": STANDARD}, []),
    }


def _components() -> dict:
    schemas = {**_inputs(), **_resources(), **_event_objects(), **_event_schemas()}
    schemas["EventBody"] = _one_of(EVENT_TYPES, "Event", "An event to ingest, by its type.")
    schemas["BatchItem"] = _one_of(EVENT_TYPES, "BatchItem", "An event of a batch, by its type.")
    schemas["Batch"] = obj({"events": {"type": "array", "items": ref("BatchItem"),
                                       "minItems": 1, "maxItems": 100}})
    schemas["Payload"] = _one_of((*EVENT_TYPES, TEST_EVENT), "Payload",
                                 "The outgoing body of a delivery, by its event type.")
    return {
        "schemas": schemas,
        "securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer",
            "description": "An API token. Scopes: events:write, webhooks:read, webhooks:write, "
                           "projects:write (administrators' tokens only)."}},
        "responses": {str(code): {"description": text, "content": {JSON: {"schema": ref("Error")}}}
                      for code, text in _ERRORS.items()},
        "parameters": {
            "project_id": _path("project_id", "The project's id (the host app's goalId)."),
            "webhook_id": _path("webhook_id", "The webhook's id."),
            "delivery_id": _path("delivery_id", "The delivery's id."),
            "event_id": {**_path("event_id", "The event's id (`eventId`)."),
                         "schema": {"type": "string", "minLength": 1}},
            "cursor": {"name": "cursor", "in": "query", "required": False,
                       "description": "The nextCursor of the previous page.",
                       "schema": {"type": "string"}},
            "limit": {"name": "limit", "in": "query", "required": False,
                      "description": "Items per page; other values are a 422.",
                      "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}},
        },
    }


_ERRORS = {
    400: "The body is not JSON or not a JSON object.",
    401: "No token, or an unknown, expired or revoked one.",
    403: "The token lacks the scope (or, on ingest, the project).",
    404: "No such resource, or one the token cannot reach.",
    409: "The resource's state does not allow this.",
    413: "The body is too large.",
    422: "A field is missing, mistyped or not allowed; `field` names it.",
}


def _path(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": INT64}


# --- Operations --------------------------------------------------------------------------------

def _op(op_id: str, tag: str, summary: str, scope: str | None, ok: tuple, errors=(),
        params=(), body: str | None = None, links: dict | None = None) -> dict:
    """One operation; `ok` is (status, schema name or None, description)."""
    status, schema, text = ok
    success = {"description": text}
    if schema:
        success["content"] = {JSON: {"schema": ref(schema)}}
    if links:
        success["links"] = links
    responses = {str(status): success}
    codes = set(errors) | ({401, 403} if scope else set()) | ({400, 413, 422} if body else set())
    for code in sorted(codes):
        responses[str(code)] = {"$ref": f"#/components/responses/{code}"}
    op = {"operationId": op_id, "tags": [tag], "summary": summary,
          "security": [{"bearerAuth": [scope]}] if scope else [], "responses": responses}
    if params:
        op["parameters"] = [p if isinstance(p, dict) else {"$ref": f"#/components/parameters/{p}"}
                            for p in params]
    if body:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": ref(body)}}}
    return op


def _link(op_id: str, **params: str) -> dict:
    return {"operationId": op_id, "parameters": params}


def _paths() -> dict:
    read, write, admin = "webhooks:read", "webhooks:write", "projects:write"
    idempotency = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "description": "The same key for the same project within 24 h returns the "
                                  "first answer and stores nothing new.",
                   "schema": {"type": "string", "minLength": 1, "maxLength": 255}}
    status = {"name": "status", "in": "query", "required": False,
              "schema": {"enum": list(DeliveryStatus)}}
    event_type = {"name": "type", "in": "query", "required": False,
                  "schema": {"enum": [*EVENT_TYPES, TEST_EVENT]}}
    since, until = ({"name": name, "in": "query", "required": False, "description": text,
                     "schema": {"type": "string", "pattern": TIMESTAMP_PATTERN}}
                    for name, text in (("since", "Created at or after."),
                                       ("until", "Created before.")))
    project_links = {"getProject": _link("getProject", project_id="$response.body#/id"),
                     "listWebhooks": _link("listWebhooks", project_id="$response.body#/id"),
                     "createWebhook": _link("createWebhook", project_id="$response.body#/id")}
    webhook_links = {op: _link(op, webhook_id="$response.body#/id") for op in (
        "getWebhook", "updateWebhook", "deleteWebhook", "rotateSecret", "testWebhook",
        "sendExample", "listDeliveries")}
    delivery_links = {op: _link(op, delivery_id="$response.body#/delivery/id")
                      for op in ("getDelivery", "retryDelivery")}
    page = ("cursor", "limit")
    return {
        "/events": {"post": _op(
            "ingestEvent", "Events", "Accept an event and queue its deliveries", "events:write",
            (202, "Accepted", "Stored with one delivery per subscribed active webhook."),
            (404,), (idempotency,), "EventBody")},
        "/events/batch": {"post": _op(
            "ingestBatch", "Events", "Accept 1 to 100 events at once, all or nothing",
            "events:write", (202, "BatchAccepted", "All stored, or nothing if any is refused: "
                             "then the first refused item's error, its field prefixed with "
                             "events[i]."), (404,), (), "Batch")},
        "/projects": {
            "get": _op("listProjects", "Projects", "List the projects the token reaches", read,
                       (200, "ProjectPage", "A page of projects, by id."), (422,), page),
            "post": _op("createProject", "Projects", "Create a project", admin,
                        (201, "Project", "The new project."), (409,), (), "ProjectCreate",
                        project_links)},
        "/projects/{project_id}": {
            "get": _op("getProject", "Projects", "Read a project", read,
                       (200, "Project", "The project."), (404,), ("project_id",)),
            "patch": _op("updateProject", "Projects",
                         "Rename a project, or set its operational webhook", admin,
                         (200, "ProjectWithNotifySecret", "The project; with notifySecret when "
                          "notifyUrl was set or changed."), (404,), ("project_id",),
                         "ProjectUpdate"),
            "delete": _op("deleteProject", "Projects",
                          "Delete a project with its webhooks, events and deliveries", admin,
                          (204, None, "Deleted."), (404,), ("project_id",))},
        "/projects/{project_id}/webhooks": {
            "get": _op("listWebhooks", "Webhooks", "List a project's webhooks", read,
                       (200, "WebhookPage", "A page of webhooks, by id."), (404, 422),
                       ("project_id", *page)),
            "post": _op("createWebhook", "Webhooks", "Add a webhook", write,
                        (201, "WebhookWithSecret", "The webhook with its secret, shown once."),
                        (404,), ("project_id",), "WebhookCreate", webhook_links)},
        "/webhooks/{webhook_id}": {
            "get": _op("getWebhook", "Webhooks", "Read a webhook", read,
                       (200, "Webhook", "The webhook."), (404,), ("webhook_id",)),
            "patch": _op("updateWebhook", "Webhooks", "Change URL, events or the active flag",
                         write, (200, "Webhook", "The webhook."), (404,), ("webhook_id",),
                         "WebhookUpdate"),
            "delete": _op("deleteWebhook", "Webhooks",
                          "Delete a webhook with its deliveries and attempts", write,
                          (204, None, "Deleted."), (404,), ("webhook_id",))},
        "/webhooks/{webhook_id}/rotate-secret": {"post": _op(
            "rotateSecret", "Webhooks", "Replace the secret at once", write,
            (200, "Secret", "The new secret, shown once."), (404,), ("webhook_id",))},
        "/webhooks/{webhook_id}/test": {"post": _op(
            "testWebhook", "Webhooks", "Send a webhook.test delivery now", write,
            (200, "TestResult", "The attempt's result, whatever the receiver answered."),
            (404,), ("webhook_id",), links=delivery_links)},
        "/webhooks/{webhook_id}/example": {"post": _op(
            "sendExample", "Webhooks", "Send an event type's example now, marked "
            "X-Webhook-Example: true (subscribed or not, on or off)", write,
            (200, "TestResult", "The attempt's result, whatever the receiver answered."),
            (404,), ("webhook_id",), "ExampleRequest", delivery_links)},
        "/webhooks/{webhook_id}/deliveries": {"get": _op(
            "listDeliveries", "Deliveries", "A webhook's deliveries, newest first", read,
            (200, "DeliveryPage", "A page of deliveries."), (404, 422),
            ("webhook_id", status, *page))},
        "/deliveries/{delivery_id}": {"get": _op(
            "getDelivery", "Deliveries", "A delivery with its payload and attempt log", read,
            (200, "DeliveryDetail", "The delivery."), (404,), ("delivery_id",))},
        "/deliveries/{delivery_id}/retry": {"post": _op(
            "retryDelivery", "Deliveries", "Start a fresh cycle of attempts for a failed delivery",
            write, (200, "Delivery", "The delivery, pending again."), (404, 409),
            ("delivery_id",))},
        "/deliveries/{delivery_id}/resend": {"post": _op(
            "resendDelivery", "Deliveries",
            "Send a final delivery again: a fresh cycle with the same delivery id", write,
            (200, "Delivery", "The delivery, pending again."), (404, 409), ("delivery_id",))},
        "/projects/{project_id}/events": {"get": _op(
            "listEvents", "Events", "A project's events with their deliveries, newest first",
            read, (200, "EventPage", "A page of events."), (404, 422),
            ("project_id", event_type, since, until, {**status, "description": (
                "Only events with at least one delivery in this status.")}, *page))},
        "/events/{event_id}": {"get": _op(
            "getEvent", "Events", "An event with its payload and deliveries", read,
            (200, "EventDetail", "The event."), (404,), ("event_id",))},
        "/events/{event_id}/replay": {"post": _op(
            "replayEvent", "Events",
            "Send an event again to the webhooks subscribed to it now, as new deliveries",
            write, (202, "Replayed", "The deliveries created."), (404, 409), ("event_id",))},
        "/openapi.json": {"get": _op(
            "getOpenApi", "Meta", "This document", None,
            (200, None, "The OpenAPI 3.1 document."))},
    }


def document() -> dict:
    """The OpenAPI 3.1 document of /api/v1."""
    paths = {PREFIX + path: item for path, item in _paths().items()}
    paths[PREFIX + "/openapi.json"]["get"]["responses"]["200"]["content"] = {
        JSON: {"schema": {"type": "object", "required": ["openapi", "info", "paths"]}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Webhooks", "version": __version__, "description": (
            "Ingest events from the host application and manage projects, webhooks and "
            "deliveries. Errors are always `{\"error\": {\"code\", \"message\", \"field\"?}}`. "
            "Lists are keyset pages: pass `nextCursor` back as `cursor`.")},
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "security": [{"bearerAuth": []}],
        "tags": [{"name": t} for t in ("Events", "Projects", "Webhooks", "Deliveries", "Meta")],
        "paths": paths,
        "components": _components(),
    }
