"""The error contract, as one assertion helper every test uses."""

from __future__ import annotations

from typing import Any

import httpx


def assert_problem(
    response: httpx.Response, status: int, type_: str | None = None
) -> dict[str, Any]:
    """Assert an RFC 9457 problem document with `status`; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["instance"] == response.request.url.path
    if type_ is not None:
        assert body["type"] == type_
    assert "Traceback" not in response.text
    return body
