"""The delivery rules of SPEC §4, against a real receiver, with time moved by a fake clock."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from webhooks import manage
from webhooks.delivery.hosts import HostPolicy
from webhooks.delivery.signing import sign
from webhooks.extensions import db
from webhooks.ingest import store_event
from webhooks.models import Delivery, DeliveryAttempt, Webhook

TS = "2026-03-22T12:00:00.000Z"
TASK_UPDATED = {"event": "task.updated", "task": {"id": 1, "goalId": 774},
                "changes": {"statusId": 5}, "initiatorId": 1}


@pytest.fixture
def hook(app, project, receiver, clock):
    """A webhook on the receiver subscribed to task.updated; returns (webhook, secret)."""
    webhook, secret = manage.create_webhook(
        db.session, app.extensions["secret_box"], HostPolicy.parse("loopback"), project,
        receiver.url(), ["task.updated", "task.created"], clock())
    db.session.commit()
    return webhook, secret


def send_event(client, auth_headers, body=TASK_UPDATED):
    response = client.post("/api/v1/events", headers=auth_headers, json=body)
    assert response.status_code == 202, response.json
    return response.json


def only_delivery() -> Delivery:
    return db.session.scalars(select(Delivery)).one()


def test_delivery_carries_headers_and_exact_signed_body(client, auth_headers, hook, receiver,
                                                        dispatch):
    webhook, secret = hook
    send_event(client, auth_headers)
    dispatch()
    (request,) = receiver.wait_for(1)
    delivery = only_delivery()
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("webhooks/")
    assert request.headers["X-Webhook-Event"] == "task.updated"
    assert request.headers["X-Webhook-Delivery"] == str(delivery.id)
    assert request.headers["X-Webhook-Signature"] == sign(request.body, secret)
    body = json.loads(request.body)
    assert list(body) == ["event", "timestamp", "task", "changes", "initiatorId"]
    assert body["timestamp"] == "2026-03-22T12:00:00.000Z"
    assert b'": ' not in request.body and b', "' not in request.body, "compact JSON"
    assert (delivery.status, delivery.http_code, delivery.attempts) == ("success", 200, 1)
    assert delivery.next_attempt_at is None and delivery.completed_at is not None


def test_failed_attempts_retry_after_10_then_20_seconds_then_fail(client, auth_headers, hook,
                                                                  receiver, dispatch, clock):
    receiver.default = 500
    send_event(client, auth_headers)
    dispatch()
    delivery = only_delivery()
    assert (delivery.status, delivery.attempts, delivery.http_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at == clock.now.replace() + _seconds(10)

    clock.advance(9.9)
    assert dispatch() == 0, "a retry must not go before its delay"
    clock.advance(0.1)
    assert dispatch() == 1
    delivery = only_delivery()
    assert (delivery.status, delivery.attempts) == ("pending", 2)
    assert delivery.next_attempt_at == clock.now + _seconds(20)

    clock.advance(20)
    assert dispatch() == 1
    delivery = only_delivery()
    assert (delivery.status, delivery.attempts, delivery.http_code) == ("failed", 3, 500)
    assert delivery.next_attempt_at is None
    assert len(receiver.requests) == 3
    ids = {r.headers["X-Webhook-Delivery"] for r in receiver.requests}
    assert ids == {str(delivery.id)}, "the delivery id is stable across retries"


def test_retry_succeeding_ends_the_cycle_as_success(client, auth_headers, hook, receiver,
                                                    dispatch, clock):
    receiver.script.extend([503, 200])
    send_event(client, auth_headers)
    dispatch()
    clock.advance(10)
    dispatch()
    delivery = only_delivery()
    assert (delivery.status, delivery.attempts, delivery.http_code) == ("success", 2, 200)
    log = db.session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()
    assert [a.http_code for a in log] == [503, 200]
    assert log[0].error == "HTTP 503" and log[1].error is None


def test_redirect_is_a_failure_and_not_followed(client, auth_headers, hook, receiver, dispatch):
    receiver.script.append(("redirect", receiver.url("/elsewhere")))
    send_event(client, auth_headers)
    dispatch()
    delivery = only_delivery()
    assert delivery.http_code == 302 and delivery.status == "pending"
    assert [r.path for r in receiver.requests] == ["/hook"]
    assert "not followed" in delivery.last_error


@pytest.mark.slow
def test_no_answer_within_the_timeout_is_a_failure(client, auth_headers, hook, receiver,
                                                   dispatch, app):
    receiver.script.append(("hang", 3.5))  # the test timeout is 2 s
    send_event(client, auth_headers)
    dispatch()
    delivery = only_delivery()
    assert delivery.status == "pending" and delivery.http_code is None
    assert delivery.last_error.startswith("timed out")
    assert delivery.duration_ms < 3000


def _fail_delivery_completely(client, auth_headers, dispatch, clock):
    send_event(client, auth_headers)
    for _ in range(3):
        dispatch()
        clock.advance(30)


def test_ten_failed_deliveries_deactivate_the_webhook(client, auth_headers, hook, receiver,
                                                      dispatch, clock):
    webhook, _ = hook
    receiver.default = 500
    for n in range(1, 10):
        _fail_delivery_completely(client, auth_headers, dispatch, clock)
        db.session.refresh(webhook)
        assert (webhook.consecutive_failures, webhook.active) == (n, True)
    _fail_delivery_completely(client, auth_headers, dispatch, clock)
    db.session.refresh(webhook)
    assert webhook.consecutive_failures == 10
    assert webhook.active is False
    assert webhook.deactivated_at is not None
    assert "10 consecutive" in webhook.deactivation_reason
    # An inactive webhook gets no new deliveries.
    assert send_event(client, auth_headers)["deliveries"] == 0


def test_success_resets_the_counter(client, auth_headers, hook, receiver, dispatch, clock):
    webhook, _ = hook
    receiver.default = 500
    for _ in range(3):
        _fail_delivery_completely(client, auth_headers, dispatch, clock)
    db.session.refresh(webhook)
    assert webhook.consecutive_failures == 3
    receiver.default = 200
    send_event(client, auth_headers)
    dispatch()
    db.session.refresh(webhook)
    assert webhook.consecutive_failures == 0


def test_retries_do_not_count_only_final_failures_do(client, auth_headers, hook, receiver,
                                                     dispatch, clock):
    webhook, _ = hook
    receiver.default = 500
    send_event(client, auth_headers)
    dispatch()
    clock.advance(10)
    dispatch()
    db.session.refresh(webhook)
    assert webhook.consecutive_failures == 0
    clock.advance(20)
    dispatch()
    db.session.refresh(webhook)
    assert webhook.consecutive_failures == 1


def test_reactivation_keeps_the_counter_and_next_failure_deactivates_again(
        client, auth_headers, hook, receiver, dispatch, clock, app):
    webhook, _ = hook
    webhook.consecutive_failures = 10
    webhook.active = False
    db.session.commit()
    response = client.patch(f"/api/v1/webhooks/{webhook.id}", headers=auth_headers,
                            json={"active": True})
    assert response.json["active"] is True
    assert response.json["consecutiveFailures"] == 10
    receiver.default = 500
    _fail_delivery_completely(client, auth_headers, dispatch, clock)
    db.session.refresh(webhook)
    assert (webhook.consecutive_failures, webhook.active) == (11, False)


def test_reactivated_webhook_is_reset_by_the_next_success(client, auth_headers, hook, receiver,
                                                          dispatch):
    webhook, _ = hook
    webhook.consecutive_failures = 10
    db.session.commit()
    send_event(client, auth_headers)
    dispatch()
    db.session.refresh(webhook)
    assert webhook.consecutive_failures == 0


def test_due_delivery_of_inactive_webhook_fails_at_once_without_request(
        client, auth_headers, hook, receiver, dispatch):
    webhook, _ = hook
    webhook.consecutive_failures = 4
    db.session.commit()
    send_event(client, auth_headers)
    webhook.active = False
    db.session.commit()
    dispatch()
    delivery = only_delivery()
    assert delivery.status == "failed"
    assert delivery.last_error == "webhook inactive"
    assert delivery.next_attempt_at is None
    assert receiver.requests == []
    db.session.refresh(webhook)
    assert webhook.consecutive_failures == 4, "an inactive skip does not touch the counter"
    log = db.session.scalars(select(DeliveryAttempt)).all()
    assert [(a.http_code, a.error) for a in log] == [(None, "webhook inactive")]


def test_rotated_secret_signs_the_next_attempt(client, auth_headers, hook, receiver, dispatch,
                                               clock):
    webhook, old_secret = hook
    receiver.script.append(500)
    send_event(client, auth_headers)
    dispatch()
    response = client.post(f"/api/v1/webhooks/{webhook.id}/rotate-secret", headers=auth_headers)
    new_secret = response.json["secret"]
    assert new_secret != old_secret
    clock.advance(10)
    dispatch()
    first, second = receiver.wait_for(2)
    assert first.headers["X-Webhook-Signature"] == sign(first.body, old_secret)
    assert second.headers["X-Webhook-Signature"] == sign(second.body, new_secret)
    assert second.headers["X-Webhook-Signature"] != sign(second.body, old_secret)


def test_url_is_read_at_send_time(client, auth_headers, hook, receiver, dispatch, clock):
    webhook, _ = hook
    receiver.script.append(500)
    send_event(client, auth_headers)
    dispatch()
    client.patch(f"/api/v1/webhooks/{webhook.id}", headers=auth_headers,
                 json={"url": receiver.url("/moved")})
    clock.advance(10)
    dispatch()
    assert [r.path for r in receiver.wait_for(2)] == ["/hook", "/moved"]


def test_manual_retry_starts_a_fresh_cycle_and_counts_toward_the_counter(
        client, auth_headers, hook, receiver, dispatch, clock):
    webhook, _ = hook
    receiver.default = 500
    _fail_delivery_completely(client, auth_headers, dispatch, clock)
    delivery = only_delivery()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    response = client.post(f"/api/v1/deliveries/{delivery.id}/retry", headers=auth_headers)
    assert response.status_code == 200
    assert response.json["status"] == "pending"
    for _ in range(3):
        dispatch()
        clock.advance(30)
    delivery = only_delivery()
    assert (delivery.status, delivery.attempts) == ("failed", 6)
    db.session.refresh(webhook)
    assert webhook.consecutive_failures == 2
    assert len(receiver.requests) == 6


def test_manual_retry_that_succeeds_resets_the_counter(client, auth_headers, hook, receiver,
                                                       dispatch, clock):
    webhook, _ = hook
    receiver.default = 500
    _fail_delivery_completely(client, auth_headers, dispatch, clock)
    receiver.default = 200
    client.post(f"/api/v1/deliveries/{only_delivery().id}/retry", headers=auth_headers)
    dispatch()
    delivery = only_delivery()
    assert (delivery.status, delivery.attempts, delivery.http_code) == ("success", 4, 200)
    db.session.refresh(webhook)
    assert webhook.consecutive_failures == 0


@pytest.mark.parametrize("status", ["pending", "success"])
def test_manual_retry_refused_unless_failed(client, auth_headers, hook, dispatch, status):
    send_event(client, auth_headers)
    if status == "success":
        dispatch()
    response = client.post(f"/api/v1/deliveries/{only_delivery().id}/retry",
                           headers=auth_headers)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "conflict"


def test_deleting_a_webhook_deletes_its_deliveries_and_attempts(client, auth_headers, hook,
                                                                receiver, dispatch):
    webhook, _ = hook
    send_event(client, auth_headers)
    dispatch()
    assert db.session.scalar(select(func.count()).select_from(DeliveryAttempt)) == 1
    assert client.delete(f"/api/v1/webhooks/{webhook.id}", headers=auth_headers).status_code == 204
    for model in (Webhook, Delivery, DeliveryAttempt):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0


def test_each_subscribed_webhook_gets_its_own_delivery(app, project, receiver, clock, dispatch):
    box, policy = app.extensions["secret_box"], HostPolicy.parse("loopback")
    secrets = {}
    for path in ("/a", "/b"):
        webhook, secret = manage.create_webhook(db.session, box, policy, project,
                                                receiver.url(path), ["task.created"], clock())
        secrets[path] = secret
    manage.create_webhook(db.session, box, policy, project, receiver.url("/c"),
                          ["task.deleted"], clock())
    db.session.commit()
    accepted = store_event(db.session, 774, {"event": "task.created", "timestamp": TS,
                                             "task": {"id": 1, "goalId": 774},
                                             "initiatorId": None}, clock())
    assert accepted.deliveries == 2
    dispatch()
    requests = {r.path: r for r in receiver.wait_for(2)}
    assert set(requests) == {"/a", "/b"}
    for path, request in requests.items():
        assert request.headers["X-Webhook-Signature"] == sign(request.body, secrets[path])
    assert requests["/a"].body == requests["/b"].body


def test_many_deliveries_all_arrive_exactly_once(app, project, receiver, clock, dispatch):
    # The subject is "once", not speed: on a loaded CI machine an answer may take longer than
    # this module's 2 s timeout, which would leave that delivery pending for its retry.
    app.config["DELIVERY"] = replace(app.config["DELIVERY"], timeout=10.0)
    box, policy = app.extensions["secret_box"], HostPolicy.parse("loopback")
    for i in range(5):
        manage.create_webhook(db.session, box, policy, project, receiver.url(f"/{i}"),
                              ["task.created"], clock())
    db.session.commit()
    for task in range(40):
        store_event(db.session, 774, {"event": "task.created", "timestamp": TS,
                                      "task": {"id": task, "goalId": 774}, "initiatorId": None},
                    clock())
    assert dispatch() == 200
    ids = [r.headers["X-Webhook-Delivery"] for r in receiver.wait_for(200)]
    assert len(set(ids)) == 200
    statuses = db.session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
    assert dict(statuses.all()) == {"success": 200}


def _seconds(n):
    from datetime import timedelta
    return timedelta(seconds=n)


def _closed_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# (what the receiver does, or the URL to use instead; expected code; words in the error)
FAULTS = [
    ("3xx", ("redirect", "http://127.0.0.1:1/x", 301), 301, "HTTP 301: redirect to"),
    ("4xx", 410, 410, "HTTP 410"),
    ("5xx", 502, 502, "HTTP 502"),
    ("hang past the timeout", ("hang", 4), None, "timed out after 2 s"),
    ("slow trickle of the body", ("trickle", 0.5, 20), 200, "timed out after 2 s"),
    ("slow trickle of the headers", ("slow-headers", 0.5, 20), None, "timed out after 2 s"),
    ("100 MB answer with an error", ("big", 100 * 1024 * 1024, 500), 500, "HTTP 500"),
    ("connection reset", "drop", None, "connection closed by the receiver"),
    ("non-HTTP garbage", "garbage", None, "not valid HTTP"),
    ("refused", lambda r: f"http://127.0.0.1:{_closed_port()}/", None, "connection refused"),
    ("TLS to a plain server", lambda r: r.url().replace("http://", "https://"), None,
     "TLS error"),
    ("unknown host", lambda r: "http://no-such-host.invalid/hook", None,
     "could not resolve host no-such-host.invalid"),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, fault, code, words", FAULTS, ids=[f[0] for f in FAULTS])
def test_each_receiver_fault_is_a_recorded_failure_within_the_timeout(
        name, fault, code, words, client, auth_headers, hook, receiver, dispatch):
    webhook, _ = hook
    if callable(fault):
        webhook.url = fault(receiver)
        db.session.commit()
    else:
        receiver.script.append(fault)
    send_event(client, auth_headers)
    dispatch()
    delivery = only_delivery()
    (attempt,) = db.session.scalars(select(DeliveryAttempt)).all()
    assert delivery.status == "pending", "a failure, to be retried"
    assert (attempt.http_code, delivery.http_code) == (code, code)
    assert words in attempt.error
    assert attempt.duration_ms < 2000 + 1500, "within the timeout (2 s in tests)"


def test_a_changed_secret_key_fails_deliveries_without_turning_the_webhook_off(
        app, client, auth_headers, hook, receiver, dispatch, runner):
    """Our misconfiguration is not the receiver's failure: nothing is sent, nothing counts."""
    from webhooks.crypto import UNREADABLE_SECRET, SecretBox

    webhook, _ = hook
    right = app.extensions["secret_box"]
    app.extensions["secret_box"] = SecretBox("another-secret-key")
    try:
        for _ in range(12):  # more than WEBHOOKS_MAX_CONSECUTIVE_FAILURES
            send_event(client, auth_headers)
        assert dispatch() == 12
    finally:
        app.extensions["secret_box"] = right
    db.session.expire_all()
    deliveries = db.session.scalars(select(Delivery)).all()
    assert {(d.status, d.attempts, d.last_error) for d in deliveries} == {
        ("failed", 1, UNREADABLE_SECRET)}
    assert receiver.requests == []
    webhook = db.session.get(Webhook, webhook.id)
    assert webhook.active and webhook.consecutive_failures == 0
    # with the right key back, the operator recovers them in one command
    result = runner.invoke(args=["deliveries", "retry-failed", "--webhook", str(webhook.id)])
    assert result.exit_code == 0, result.output
    assert dispatch() == 12
    assert len(receiver.wait_for(12)) == 12
