"""The OpenAPI 3.1 description of the API (placeholder until filled in)."""
from __future__ import annotations


def document() -> dict:
    return {"openapi": "3.1.0", "info": {"title": "Webhooks", "version": "1"}, "paths": {}}
