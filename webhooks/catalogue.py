"""The event catalogue (issue 14): the 18 subscribable events, when each fires, the keys of
its body and an example body, all from the one table in `webhooks.events`. It feeds the UI's
catalogue page (webhooks/ui/catalogue.py) and docs/events.md, which is generated, never
edited by hand:

    python -m webhooks.catalogue > docs/events.md

(tests/test_catalogue.py fails when the committed page is not what the table generates).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from .events import (
    BY_NAME,
    COMMON_KEYS,
    EVENT_GROUPS,
    OBJECTS,
    TEST_EVENT,
    body_keys,
    example_body,
    family_of,
    webhook_test_body,
)

EXAMPLE_TIME = datetime(2026, 3, 22, 12, 0)  # the examples' timestamp, as in the doc
DOCS_PATH = "docs/events.md"


@dataclass(frozen=True)
class Entry:
    """One event of the catalogue."""

    name: str
    fires: str
    keys: tuple[tuple[str, str], ...]  # (key, what it carries), in the order they are sent
    example: str  # the body as sent, pretty-printed

    @property
    def anchor(self) -> str:
        """An HTML id for the event: `task-created`."""
        return self.name.replace(".", "-")


def key_notes(event: str) -> tuple[tuple[str, str], ...]:
    """Each key of the event's body with what it carries, in the order they are sent."""
    own = {key: _note(rule, text) for key, rule, text in family_of(event).fields}
    return tuple((key, own.get(key) or COMMON_KEYS[key]) for key in body_keys(event))


def _note(rule: str, text: str) -> str:
    return f"{text} {OBJECTS[rule].summary()}" if rule in OBJECTS else f"{text} An {rule}."


def pretty(body: dict) -> str:
    return json.dumps(body, indent=2, ensure_ascii=False)


def entry(event: str, project_id: int | None = None) -> Entry:
    """The catalogue's entry for a subscribable event; its example as a webhook of
    `project_id` receives it (as in the table, goalId 774, if None)."""
    return Entry(event, BY_NAME[event].fires, key_notes(event),
                 pretty(example_body(event, EXAMPLE_TIME, project_id)))


def groups(project_id: int | None = None) -> list[tuple[str, list[Entry]]]:
    """The catalogue by group (Task, Time entries, Sprints), as on the Add Webhook form."""
    return [(group, [entry(event, project_id) for event in events])
            for group, events in EVENT_GROUPS.items()]


def markdown() -> str:
    """docs/events.md."""
    lines = [
        "# Events",
        "",
        "<!-- Generated from webhooks/events.py by `python -m webhooks.catalogue > "
        "docs/events.md`. Do not edit by hand: tests/test_catalogue.py checks it. -->",
        "",
        "The 18 events a webhook can subscribe to, grouped as on the **Add Webhook** form: "
        "when each fires, the keys of its body in the order they are sent, and an example "
        "body. Bodies are compact UTF-8 JSON (pretty-printed here); headers, signatures and "
        "retries are in [webhooks.md](webhooks.md) and [receivers.md](receivers.md).",
        "",
        "The same catalogue is in the app: right-click a project → **Event catalogue**. There "
        "**Send example** posts an event's example to one of the project's webhooks at once, "
        "with the project's id as `goalId` and the time of sending as `timestamp`, signed "
        "like any delivery and marked with the header `X-Webhook-Example: true`; it shows in "
        "the webhook's history, and is never retried nor counted towards turning the webhook "
        "off.",
        "",
    ]
    catalogue = groups()
    lines += [f"- {group}: " + ", ".join(f"`{e.name}`" for e in entries)
              for group, entries in catalogue]
    for group, entries in catalogue:
        lines += ["", f"## {group}"]
        for e in entries:
            lines += ["", f"### `{e.name}`", "", f"{e.fires}.", ""]
            lines += _markdown_body(e.keys, e.example)
    test = pretty(webhook_test_body(1, 774, EXAMPLE_TIME))
    lines += ["", f"## `{TEST_EVENT}`", "",
              "Sent only by **Test** on the webhooks page (and `POST /api/v1/webhooks/{id}/test`); "
              "it cannot be subscribed to.", ""]
    lines += _markdown_body(key_notes(TEST_EVENT), test)
    return "\n".join(lines) + "\n"


def _markdown_body(keys: tuple[tuple[str, str], ...], example: str) -> list[str]:
    rows = ["| key | carries |", "|---|---|"]
    rows += [f"| `{key}` | {_cell(note)} |" for key, note in keys]
    return [*rows, "", "```json", example, "```"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


if __name__ == "__main__":
    print(markdown(), end="")
