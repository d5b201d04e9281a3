"""CORS (app/middleware/cors.py): any origin may read by default; preflights for
writes are refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.problems import assert_problem

ORIGIN = "https://example.org"
OTHER_ORIGIN = "https://elsewhere.example"


def test_cors_default_allows_any_origin_to_read(client: TestClient) -> None:
    response = client.get("/countries", headers={"Origin": OTHER_ORIGIN})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"etag", "link", "x-total-count"} <= exposed


def test_cors_headers_on_a_304(client: TestClient) -> None:
    etag = client.get("/countries").headers["etag"]
    response = client.get("/countries", headers={"Origin": OTHER_ORIGIN, "If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["access-control-allow-origin"] == "*"


def test_cors_preflight_for_get_is_allowed(client: TestClient) -> None:
    response = client.options(
        "/positions",
        headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    allowed = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert allowed == {"GET", "HEAD"}


def test_cors_preflight_for_post_is_refused(client: TestClient) -> None:
    response = client.options(
        "/assessments",
        headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 400
    assert "POST" not in response.headers.get("access-control-allow-methods", "")


def test_cors_preflight_refusal_is_a_problem(client: TestClient) -> None:
    # STYLE §5: every non-2xx body is application/problem+json.
    response = client.options(
        "/assessments",
        headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert_problem(response, 400)


@pytest.fixture
def one_origin_client(seeded_settings: Settings) -> Iterator[TestClient]:
    settings = seeded_settings.model_copy(update={"cors_origins": [ORIGIN]})
    with TestClient(create_app(settings)) as client:
        yield client


def test_cors_restricted_to_the_configured_origin(one_origin_client: TestClient) -> None:
    allowed = one_origin_client.get("/countries", headers={"Origin": ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in allowed.headers["vary"]
    other = one_origin_client.get("/countries", headers={"Origin": OTHER_ORIGIN})
    assert other.status_code == 200
    assert "access-control-allow-origin" not in other.headers
    preflight = one_origin_client.options(
        "/countries",
        headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_disabled_with_no_origins(seeded_settings: Settings) -> None:
    settings = seeded_settings.model_copy(update={"cors_origins": []})
    with TestClient(create_app(settings)) as client:
        response = client.get("/countries", headers={"Origin": OTHER_ORIGIN})
        assert response.status_code == 200
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]
        preflight = client.options(
            "/countries",
            headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "GET"},
        )
        assert_problem(preflight, 405)
        assert not [h for h in preflight.headers if h.lower().startswith("access-control-")]
