"""The error contract: one case per error source, all through `assert_problem`."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.problems import assert_problem


def test_unknown_route_is_404_problem(client: TestClient) -> None:
    body = assert_problem(client.get("/no/such/route"), 404, "about:blank")
    assert "/no/such/route" in body["detail"]


def test_wrong_method_is_405_problem(client: TestClient) -> None:
    response = client.post("/countries")
    assert_problem(response, 405, "about:blank")
    assert "GET" in response.headers["allow"]


def test_validation_error_lists_each_field(client: TestClient) -> None:
    response = client.get("/countries", params={"limit": 0, "offset": -1})
    body = assert_problem(response, 422, "/problems/invalid-input")
    assert sorted(tuple(e["loc"]) for e in body["errors"]) == [
        ("query", "limit"),
        ("query", "offset"),
    ]


def test_unexpected_error_is_500_problem_without_details(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.countries import service

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(service, "get_country", explode)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get("/countries/RS")
    body = assert_problem(response, 500, "/problems/internal-error")
    assert "secret internals" not in response.text
    assert body["detail"] == "An unexpected error occurred; it has been logged."
