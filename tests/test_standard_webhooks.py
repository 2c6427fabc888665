"""Standard Webhooks mode: deliveries verified by the `standardwebhooks` package from PyPI."""
from __future__ import annotations

import json

import pytest
from standardwebhooks.webhooks import Webhook as StandardVerifier
from standardwebhooks.webhooks import WebhookVerificationError

from webhooks.delivery.signing import sign


def _create(client, auth_headers, receiver, **extra):
    response = client.post("/api/v1/projects/774/webhooks", headers=auth_headers,
                           json={"url": receiver.url(), "events": ["task.created"], **extra})
    assert response.status_code == 201, response.json
    return response.json


def _lower(headers: dict) -> dict:
    return {k.lower(): v for k, v in headers.items()}


def test_standard_webhooks_verifies_a_real_delivery(client, auth_headers, project, receiver,
                                                    dispatch):
    hook = _create(client, auth_headers, receiver, standardWebhooks=True)
    assert hook["standardWebhooks"] is True
    client.post("/api/v1/events", headers=auth_headers,
                json={"event": "task.created", "task": {"id": 7, "goalId": 774}})
    dispatch()
    (request,) = receiver.wait_for(1)
    headers = _lower(request.headers)
    payload = StandardVerifier(hook["secret"]).verify(request.body, headers)
    assert payload["task"]["id"] == 7
    assert headers["webhook-id"] == headers["x-webhook-delivery"]
    assert headers["x-webhook-signature"] == sign(request.body, hook["secret"])


def test_a_tampered_body_fails_standard_verification(client, auth_headers, project, receiver,
                                                     dispatch):
    hook = _create(client, auth_headers, receiver, standardWebhooks=True)
    client.post("/api/v1/events", headers=auth_headers,
                json={"event": "task.created", "task": {"id": 7, "goalId": 774}})
    dispatch()
    (request,) = receiver.wait_for(1)
    with pytest.raises(WebhookVerificationError):
        StandardVerifier(hook["secret"]).verify(request.body.replace(b"7", b"8"),
                                                _lower(request.headers))


def test_test_sends_and_retries_keep_the_standard_id(client, auth_headers, project, receiver,
                                                     dispatch, clock):
    hook = _create(client, auth_headers, receiver, standardWebhooks=True)
    result = client.post(f"/api/v1/webhooks/{hook['id']}/test", headers=auth_headers).json
    assert result["delivery"]["httpCode"] == 200
    receiver.script.append(500)
    client.post("/api/v1/events", headers=auth_headers,
                json={"event": "task.created", "task": {"id": 1, "goalId": 774}})
    dispatch()
    clock.advance(10)
    dispatch()
    test, first, retry = receiver.wait_for(3)
    verifier = StandardVerifier(hook["secret"])
    assert verifier.verify(test.body, _lower(test.headers))["event"] == "webhook.test"
    assert verifier.verify(retry.body, _lower(retry.headers)) == json.loads(first.body)
    assert _lower(first.headers)["webhook-id"] == _lower(retry.headers)["webhook-id"]


def test_without_the_mode_no_standard_headers_are_sent(client, auth_headers, project, receiver,
                                                       dispatch):
    hook = _create(client, auth_headers, receiver)
    assert hook["standardWebhooks"] is False
    client.post("/api/v1/events", headers=auth_headers,
                json={"event": "task.created", "task": {"id": 1, "goalId": 774}})
    dispatch()
    (request,) = receiver.wait_for(1)
    assert not any(k.lower().startswith("webhook-") for k in request.headers)


def test_the_mode_can_be_switched_on_and_refuses_non_booleans(client, auth_headers, project,
                                                               receiver):
    hook = _create(client, auth_headers, receiver)
    url = f"/api/v1/webhooks/{hook['id']}"
    assert client.patch(url, headers=auth_headers,
                        json={"standardWebhooks": True}).json["standardWebhooks"] is True
    bad = client.patch(url, headers=auth_headers, json={"standardWebhooks": "yes"})
    assert bad.status_code == 422 and bad.json["error"]["field"] == "standardWebhooks"
