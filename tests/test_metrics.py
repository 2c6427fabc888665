"""/metrics (Prometheus text format) and the log format switch, against real deliveries."""
from __future__ import annotations

import json
import logging
import re

import pytest

from webhooks import create_app, manage
from webhooks.config import ConfigError, from_environment
from webhooks.delivery.hosts import HostPolicy
from webhooks.extensions import db

TOKEN = "metrics-secret"
TASK = {"event": "task.created", "task": {"id": 1, "goalId": 774}, "initiatorId": 1}


@pytest.fixture
def config_overrides():
    return {"WEBHOOKS_METRICS_TOKEN": TOKEN, "WEBHOOKS_RETRY_DELAYS": (10, 20),
            "WEBHOOKS_MAX_CONSECUTIVE_FAILURES": 2}


@pytest.fixture
def hook(app, project, receiver, clock):
    webhook, _ = manage.create_webhook(
        db.session, app.extensions["secret_box"], HostPolicy.parse("loopback"), project,
        receiver.url(), ["task.created"], clock())
    db.session.commit()
    return webhook


def scrape(client) -> dict[str, float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.content_type == "text/plain; version=0.0.4; charset=utf-8"
    samples = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def ingest(client, auth_headers, n=1):
    for _ in range(n):
        assert client.post("/api/v1/events", headers=auth_headers,
                           json=TASK).status_code == 202


def test_metrics_are_off_without_a_token(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "k",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    assert app.config["WEBHOOKS_METRICS_TOKEN"] == ""
    assert app.test_client().get("/metrics").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Bearer {TOKEN}x", TOKEN,
                                    f"Basic {TOKEN}"])
def test_metrics_refuse_a_missing_or_wrong_token(client, header):
    response = client.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "webhooks_" not in response.text


def test_counters_move_with_real_deliveries(client, auth_headers, hook, receiver, dispatch,
                                            clock):
    before = scrape(client)
    assert before['webhooks_delivery_attempts_total{outcome="success"}'] == 0
    assert before["webhooks_due_deliveries"] == 0
    assert before['webhooks_webhooks{state="active"}'] == 1

    ingest(client, auth_headers, 3)
    clock.advance(5)
    waiting = scrape(client)
    assert waiting["webhooks_due_deliveries"] == 3
    assert waiting["webhooks_due_oldest_age_seconds"] == pytest.approx(5, abs=0.01)

    assert dispatch() == 3
    assert len(receiver.wait_for(3)) == 3
    after = scrape(client)
    assert after['webhooks_delivery_attempts_total{outcome="success"}'] == 3
    assert after["webhooks_due_deliveries"] == 0
    assert after["webhooks_attempt_duration_seconds_count"] == 3
    assert after['webhooks_attempt_duration_seconds_bucket{le="+Inf"}'] == 3
    assert 0 <= after["webhooks_attempt_duration_seconds_sum"] < 3 * 2.0
    buckets = [v for k, v in after.items() if k.startswith("webhooks_attempt_duration_seconds_b")]
    assert buckets == sorted(buckets), "buckets are cumulative"


def test_retries_failures_and_deactivation_are_counted(client, auth_headers, hook, receiver,
                                                       dispatch, clock):
    receiver.default = 500
    ingest(client, auth_headers, 2)
    dispatch()
    clock.advance(10)
    dispatch()
    clock.advance(20)
    dispatch()
    samples = scrape(client)
    assert samples['webhooks_delivery_attempts_total{outcome="retry"}'] == 4
    assert samples['webhooks_delivery_attempts_total{outcome="failed"}'] == 2
    assert samples['webhooks_delivery_attempts_total{outcome="success"}'] == 0
    assert samples["webhooks_attempt_duration_seconds_count"] == 6
    assert samples["webhooks_webhooks_deactivated_total"] == 1
    assert samples['webhooks_webhooks{state="deactivated"}'] == 1
    assert samples['webhooks_webhooks{state="active"}'] == 0


def test_a_due_delivery_of_a_webhook_turned_off_counts_as_skipped(client, auth_headers, hook,
                                                                  dispatch):
    ingest(client, auth_headers)
    hook.active = False  # turned off after the event came in
    db.session.commit()
    dispatch()
    samples = scrape(client)
    assert samples['webhooks_delivery_attempts_total{outcome="skipped"}'] == 1
    assert samples["webhooks_attempt_duration_seconds_count"] == 0


def test_counters_add_up_across_dispatchers_as_across_processes(client, auth_headers, hook,
                                                                receiver, dispatch):
    ingest(client, auth_headers, 2)
    dispatch()
    ingest(client, auth_headers, 3)
    dispatch()  # a second dispatcher (another process would be the same): it adds, not sets
    assert scrape(client)['webhooks_delivery_attempts_total{outcome="success"}'] == 5


def test_the_exposition_is_valid_prometheus_text(client, auth_headers, hook, dispatch):
    ingest(client, auth_headers)
    dispatch()
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    typed = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram")
            typed.add(name)
        elif not line.startswith("# HELP "):
            assert re.fullmatch(r'[a-z_]+(\{[a-z]+="[^"]*"\})? -?[0-9.e+-]+', line), line
            base = re.sub(r"_(bucket|sum|count)$", "", line.split("{")[0].split(" ")[0])
            assert base in typed or line.split("{")[0].split(" ")[0] in typed, line
    assert 'webhooks_build_info{version="' in text


# --- logs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, value", [("", None), ("text", "text"), ("JSON", "json")])
def test_log_format_setting(raw, value, tmp_path):
    environ = {"WEBHOOKS_LOG_FORMAT": raw} if raw else {}
    assert from_environment(environ, str(tmp_path))["WEBHOOKS_LOG_FORMAT"] == (value or "text")


def test_an_unknown_log_format_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="WEBHOOKS_LOG_FORMAT"):
        from_environment({"WEBHOOKS_LOG_FORMAT": "xml"}, str(tmp_path))


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_one_log_line_per_attempt_with_its_ids(app, client, auth_headers, hook, receiver,
                                               dispatch, capsys, log_format):
    from flask.logging import default_handler

    from webhooks import logs

    app.config["WEBHOOKS_LOG_FORMAT"] = log_format
    logs.init_app(app)
    # Flask adds its handler only when nothing else handles the logger (pytest's plugin does)
    app.logger.addHandler(default_handler)
    try:
        receiver.script.append(500)
        ingest(client, auth_headers, 2)
        capsys.readouterr()
        dispatch()
        lines = [line for line in capsys.readouterr().err.splitlines() if "delivery" in line]
    finally:
        app.logger.removeHandler(default_handler)
        app.config["WEBHOOKS_LOG_FORMAT"] = "text"
        logs.init_app(app)
    assert len(lines) == 2
    if log_format == "text":
        assert all(re.search(r"delivery=\d+ webhook=\d+ event=task.created attempt=1 code=", line)
                   for line in lines)
        return
    entries = [json.loads(line) for line in lines]
    assert {e["outcome"] for e in entries} == {"success", "retry"}
    for entry in entries:
        assert entry["level"] == "INFO" and entry["logger"] == "webhooks.delivery"
        assert entry["webhook_id"] == hook.id and entry["event_type"] == "task.created"
        assert isinstance(entry["delivery_id"], int) and entry["attempt"] == 1
        assert entry["http_code"] in (200, 500) and entry["time"].endswith("Z")
        assert (entry["error"] is None) == (entry["http_code"] == 200)


def test_a_test_send_is_logged_and_counted_like_any_attempt(client, auth_headers, hook,
                                                           caplog):
    with caplog.at_level(logging.INFO, logger="webhooks.delivery"):
        response = client.post(f"/api/v1/webhooks/{hook.id}/test", headers=auth_headers)
    assert response.status_code == 200, response.json
    (record,) = [r for r in caplog.records if r.name == "webhooks.delivery"]
    assert record.fields["event_type"] == "webhook.test"
    assert record.fields["outcome"] == "success" and record.fields["webhook_id"] == hook.id
    assert f"webhook={hook.id} event=webhook.test attempt=1 code=200" in record.getMessage()
    assert scrape(client)['webhooks_delivery_attempts_total{outcome="success"}'] == 1
