"""GET /api/v1/openapi.json."""
from __future__ import annotations

from flask import Blueprint

from ..openapi import document

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
def openapi_json():
    return document()
