"""Resources as the API shows them: camelCase, SPEC §2 timestamps."""
from __future__ import annotations

import json

from ..clock import iso
from ..models import Delivery, DeliveryAttempt, DeliveryStatus, Event, Project, Webhook


def project(p: Project) -> dict:
    return {"id": p.id, "name": p.name, "notifyUrl": p.notify_url,
            "createdAt": iso(p.created_at), "updatedAt": iso(p.updated_at)}


def webhook(w: Webhook) -> dict:
    return {"id": w.id, "projectId": w.project_id, "url": w.url, "events": w.event_list,
            "active": w.active, "standardWebhooks": w.standard_webhooks,
            "consecutiveFailures": w.consecutive_failures,
            "deactivatedAt": iso(w.deactivated_at), "deactivationReason": w.deactivation_reason,
            "createdAt": iso(w.created_at), "updatedAt": iso(w.updated_at)}


def delivery(d: Delivery) -> dict:
    final = d.status != DeliveryStatus.PENDING
    return {"id": d.id, "webhookId": d.webhook_id, "eventId": d.event_id, "event": d.event_type,
            "example": d.example, "status": d.status, "httpCode": d.http_code,
            "attempts": d.attempts, "createdAt": iso(d.created_at),
            "nextAttemptAt": None if final else iso(d.next_attempt_at),
            "completedAt": iso(d.completed_at)}


def attempt(a: DeliveryAttempt) -> dict:
    return {"attemptedAt": iso(a.attempted_at), "httpCode": a.http_code,
            "durationMs": a.duration_ms, "error": a.error, "responseBody": a.response_body}


def event(e: Event, deliveries: list[Delivery], with_payload: bool = False) -> dict:
    """An event of the log, with each of its deliveries in brief."""
    item = {"id": e.id, "projectId": e.project_id, "event": e.type, "example": e.example,
            "createdAt": iso(e.created_at)}
    if with_payload:
        item["payload"] = json.loads(e.body)
    item["deliveries"] = [{"id": d.id, "webhookId": d.webhook_id, "status": d.status,
                           "httpCode": d.http_code, "attempts": d.attempts} for d in deliveries]
    return item


def delivery_detail(d: Delivery, body: str, attempts: list[DeliveryAttempt]) -> dict:
    return {**delivery(d), "payload": json.loads(body),
            "attemptLog": [attempt(a) for a in attempts]}
