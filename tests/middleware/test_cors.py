"""CORS (app/middleware/cors.py): any origin may read by default, with the headers a
dashboard sends (issue 12); preflights for writes are refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from app.main import create_app
from app.settings import Settings
from tests.factories import bearer, make_key
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


def preflight(client: TestClient, path: str, headers: str, origin: str = OTHER_ORIGIN) -> Response:
    response: Response = client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": headers,
        },
    )
    return response


def header_set(value: str) -> set[str]:
    return {name.strip().lower() for name in value.split(",")}


# What a cross-origin dashboard sends with a read: revalidation, a key, cache bypass, a
# request id, and the safelisted ones a preflight may still list.
DASHBOARD_HEADERS = (
    "authorization, if-none-match, if-modified-since, cache-control, pragma, x-request-id, "
    "accept, accept-language, content-language"
)


def test_cors_preflight_allows_a_get_revalidating_with_if_none_match(client: TestClient) -> None:
    """Issue 12: a cross-origin GET that sets If-None-Match was refused at the preflight."""
    response = preflight(client, "/countries/RS/positions", "if-none-match")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "if-none-match" in header_set(response.headers["access-control-allow-headers"])


def test_cors_preflight_allows_what_a_dashboard_sends_with_a_read(client: TestClient) -> None:
    for path in ("/positions", "/countries", "/changes", "/stats"):
        response = preflight(client, path, DASHBOARD_HEADERS)
        assert response.status_code == 200, path
        allowed = header_set(response.headers["access-control-allow-headers"])
        assert header_set(DASHBOARD_HEADERS) <= allowed, path


def test_cors_preflight_refuses_other_headers_and_names_the_allowed(client: TestClient) -> None:
    # Range: the API sends no partial content (a plain byte range needs no preflight).
    for requested in ("x-custom", "if-none-match, range"):
        response = preflight(client, "/positions", requested)
        body = assert_problem(response, 400)
        assert body["detail"] == (
            "Disallowed CORS headers: cross-origin requests may only GET and HEAD, sending "
            "only these headers: Accept, Accept-Language, Authorization, Cache-Control, "
            "Content-Language, Content-Type, If-Modified-Since, If-None-Match, Pragma, "
            "X-Request-ID."
        )


def test_cors_revalidation_after_the_preflight_is_a_readable_304(client: TestClient) -> None:
    """The request the preflight cleared: a page can read the ETag, then get its 304."""
    first = client.get("/countries/RS/positions", headers={"Origin": OTHER_ORIGIN})
    assert "etag" in header_set(first.headers["access-control-expose-headers"])
    response = client.get(
        "/countries/RS/positions",
        headers={"Origin": OTHER_ORIGIN, "If-None-Match": first.headers["etag"]},
    )
    assert response.status_code == 304
    assert response.headers["access-control-allow-origin"] == "*"


def test_cors_exposes_what_a_page_reads(client: TestClient) -> None:
    response = client.get("/positions?format=csv", headers={"Origin": OTHER_ORIGIN})
    assert header_set(response.headers["access-control-expose-headers"]) == {
        "content-disposition",
        "etag",
        "link",
        "location",
        "retry-after",
        "x-request-id",
        "x-total-count",
        "ratelimit",
        "ratelimit-policy",
    }


def test_cors_preflight_with_a_key_for_one_origin(seeded_settings: Settings) -> None:
    settings = seeded_settings.model_copy(
        update={"cors_origins": [ORIGIN], "require_key_for_reads": True}
    )
    key = make_key(settings, "dashboard")
    with TestClient(create_app(settings)) as client:
        response = preflight(client, "/countries/RS/positions", "authorization", ORIGIN)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == ORIGIN
        assert "authorization" in header_set(response.headers["access-control-allow-headers"])
        read = client.get("/countries/RS/positions", headers=bearer(key, Origin=ORIGIN))
        assert read.status_code == 200
        assert read.headers["access-control-allow-origin"] == ORIGIN
