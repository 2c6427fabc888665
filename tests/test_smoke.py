import json

from webhooks.delivery.signing import sign


def test_ingested_event_is_delivered_signed(client, auth_headers, project, receiver, dispatch, app):
    r = client.post("/api/v1/projects/774/webhooks", headers=auth_headers,
                    json={"url": receiver.url(), "events": ["task.updated"]})
    assert r.status_code == 201, r.json
    secret = r.json["secret"]
    r = client.post("/api/v1/events", headers=auth_headers, json={
        "event": "task.updated", "task": {"id": 1, "goalId": 774}, "changes": {"statusId": 5}})
    assert r.status_code == 202, r.json
    assert r.json["deliveries"] == 1
    assert dispatch() == 1
    (req,) = receiver.wait_for(1)
    assert req.headers["X-Webhook-Signature"] == sign(req.body, secret)
    assert json.loads(req.body)["event"] == "task.updated"
