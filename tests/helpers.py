"""Assertions shared by the API tests."""
from __future__ import annotations


def assert_error(response, status: int, field=...) -> dict:
    """The response is `status` with the SPEC §3 error shape; returns the error object."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    assert set(response.json) == {"error"}
    error = response.json["error"]
    assert set(error) <= {"code", "message", "field"}
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if field is not ...:
        assert error.get("field") == field
    return error
