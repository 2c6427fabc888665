"""The reference for ingest: a bare Flask app with one JSON POST route (parse, answer 202),
served by `bench.ingest` under the same gunicorn settings as the service."""
from __future__ import annotations

from flask import Flask, request

app = Flask(__name__)


@app.post("/api/v1/events")
def ingest():
    data = request.get_json()
    return {"eventId": f"evt_{len(data)}", "deliveries": 0}, 202


@app.get("/healthz")
def healthz():
    return {"status": "ok"}
