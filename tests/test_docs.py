"""The documentation's promises that a test can hold.

docs/webhooks.md is the user-facing webhooks doc (SPEC: "everything it promises must hold
exactly"), as Markdown: its markup may change, its words may not. tests/data/webhooks-doc.txt is
the doc as TaskView publishes it, in plain text, copied verbatim. And the settings have one
table, the README's Configuration, which names every setting the service reads.
"""
from __future__ import annotations

import json
import re

from webhooks import config
from webhooks.events import EVENT_TYPES

from .processes import ROOT

DOC = ROOT / "docs" / "webhooks.md"
SEED = ROOT / "tests" / "data" / "webhooks-doc.txt"
FENCE = re.compile(r"^```([\w-]*)\s*$")
TABLE_RULE = re.compile(r"^\|?(\s*:?-+:?\s*\|)+\s*(:?-+:?)?\s*$")
LINE_MARKER = re.compile(r"^(#{1,6}|[-*+]|\d+\.)$")  # a heading, bullet or number opening a line


def words(text: str) -> list[str]:
    """The words of a plain-text or Markdown document, without Markdown's markup: fences,
    heading marks, list markers, table pipes and rules, inline-code backticks and bold."""
    result: list[str] = []
    in_code = False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            in_code = not in_code
            continue
        if not in_code and TABLE_RULE.match(line.strip()):
            continue
        tokens = line.replace("`", "").split()
        if not in_code:
            if tokens and LINE_MARKER.match(tokens[0]):
                tokens = tokens[1:]
            tokens = [t.replace("**", "") for t in tokens if t != "|"]
        result.extend(t for t in tokens if t)
    return result


def code_blocks(text: str) -> list[tuple[str, str]]:
    """Each fenced block as (language, content)."""
    return [(m.group(1), m.group(2))
            for m in re.finditer(r"^```([\w-]*)\n(.*?)^```$", text, re.M | re.S)]


def test_markdown_doc_keeps_every_word_of_the_published_doc_in_order():
    doc, seed = words(DOC.read_text()), words(SEED.read_text())
    assert len(seed) > 850  # the normaliser did not throw the text away
    for i, (ours, theirs) in enumerate(zip(doc, seed)):
        assert ours == theirs, f"word {i}: {ours!r} != {theirs!r} (after {' '.join(seed[i-8:i])})"
    assert len(doc) == len(seed), f"extra words: {(doc[len(seed):] or seed[len(doc):])[:20]}"


def test_markdown_doc_has_headings_tables_and_fenced_code_with_languages():
    text = DOC.read_text()
    assert text.startswith("# Webhooks\n")
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings[:11] == ["Supported events", "Setup", "Payload format",
                             "Signature verification", "Retries", "Auto-deactivation",
                             "Delivery history", "Managing webhooks", "Secret rotation",
                             "Testing locally", "Notifications"]
    blocks = code_blocks(text)
    assert [language for language, _ in blocks] == ["json", "json", "http", "javascript",
                                                   "javascript"]
    assert text.count("```") == 2 * len(blocks)  # every fence is closed
    for language, content in blocks:
        if language == "json":
            json.loads(content)
    event_rows = re.findall(r"^\| `([\w.-]+)` \| .+ \|$", text, re.M)
    assert sorted(event_rows) == sorted(EVENT_TYPES)  # the 18 the service accepts
    assert re.search(r"^\| 2nd retry \| ~20 seconds \|$", text, re.M)
    assert re.search(r"^1\. Open a project in TaskView$", text, re.M)


def test_word_comparison_notices_a_changed_word():
    changed = DOC.read_text().replace("within 10 seconds", "within 30 seconds")
    assert words(changed) != words(SEED.read_text())


def settings_rows(text: str) -> dict[str, str]:
    """A settings table's rows: variable -> default cell."""
    return dict(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \| ([^|]+?) \|", text, re.M))


def test_readme_configuration_table_has_every_setting_with_its_default():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("\n## Configuration\n"):]
    rows = settings_rows(section[:section.index("\n## ", 1)])
    for name, (default, _) in config._ENV.items():
        assert name in rows, f"{name} is missing from the README's Configuration table"
        if default:
            assert rows[name] == f"`{default}`", f"{name}: the README says {rows[name]}"
        else:
            assert rows[name].startswith("unset"), f"{name}: the README says {rows[name]}"
    assert {"DATABASE_URL", "SECRET_KEY", "SESSION_COOKIE_SECURE"} <= rows.keys()


def test_settings_are_tabulated_only_in_the_readme():
    for page in (ROOT / "docs").glob("*.md"):
        assert not settings_rows(page.read_text()).keys() & config._ENV.keys(), (
            f"{page.name} repeats the settings table: link to README.md#configuration instead")
