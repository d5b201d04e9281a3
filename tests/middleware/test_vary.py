"""Vary (app/middleware/vary.py): one value for every response of a URL (issue 12).

Caches file variants by Vary, and RFC 9110 §15.4.5 wants a 304 to carry the Vary of its
200; the issue found a 304 naming `Accept-Encoding` its (small, uncompressed) 200 lacked
and a first HEAD omitting it. Each URL below is asked every way a client or cache asks:
HEAD first on a cold server, GET gzipped and not, again (a cache hit or the fast lane),
revalidated (304), HEAD again.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.factories import CHART, bearer, make_key

GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}
ORIGIN = {"Origin": "https://dashboard.example", "Accept-Encoding": "gzip"}
DEFAULT_VARY = "Accept, Accept-Encoding, Origin"  # CORS is on by default (CP_CORS_ORIGINS)
# Large enough to be gzipped, small enough not to be, the fast lane's two shapes, a page,
# a static asset, CSV exports, an entity with its own strong ETag.
URLS = (
    "/positions",
    "/positions?format=csv",
    "/exports/positions.csv",
    "/exports/countries/RS/assessments.ndjson",
    "/countries",
    "/countries/RS/assessments?format=csv",
    "/countries/RS",
    "/countries/RS/positions",
    "/countries/RS/positions?as_of=2023-03-02",
    "/stats",
    f"/sources/{CHART}",
    "/",
    "/static/chart.js",
)


def vary_of_every_way_to_ask(client: TestClient, url: str) -> dict[str, str | None]:
    """What Vary each request for `url` was answered with, the first being a HEAD."""
    seen: dict[str, str | None] = {}

    def ask(label: str, method: str, status: int, headers: dict[str, str]) -> None:
        response = client.request(method, url, headers=headers)
        assert response.status_code == status, (url, label)
        seen[label] = response.headers.get("vary")

    ask("first HEAD", "HEAD", 200, GZIP)
    ask("GET gzip", "GET", 200, GZIP)
    ask("GET identity", "GET", 200, IDENTITY)
    ask("GET gzip again", "GET", 200, GZIP)
    ask("GET from an origin", "GET", 200, ORIGIN)
    etag = client.get(url).headers["etag"]
    ask("304 gzip", "GET", 304, {"If-None-Match": etag, **GZIP})
    ask("304 identity", "GET", 304, {"If-None-Match": etag, **IDENTITY})
    ask("304 from an origin", "GET", 304, {"If-None-Match": etag, **ORIGIN})
    ask("HEAD again", "HEAD", 200, GZIP)
    return seen


@pytest.fixture(params=["cached", "uncached"])
def cold_client(request: pytest.FixtureRequest, seeded_settings: Settings) -> Iterator[TestClient]:
    """A server that has answered nothing yet: with the response cache, and without it
    (then the fast lane and the conditional-GET layer answer repeats and 304s)."""
    settings = seeded_settings.model_copy(update={"cache_enabled": request.param == "cached"})
    with TestClient(create_app(settings)) as client:
        yield client


def test_vary_is_the_same_for_200_304_and_head_of_every_url(cold_client: TestClient) -> None:
    for url in URLS:
        seen = vary_of_every_way_to_ask(cold_client, url)
        assert seen == dict.fromkeys(seen, DEFAULT_VARY), url


def test_vary_names_accept_encoding_whether_or_not_gzip_compressed(client: TestClient) -> None:
    """Both cases are really in play: the chart is compressed, one country is too small."""
    large = client.get("/positions", headers=GZIP)
    small = client.get("/countries/RS", headers=GZIP)
    assert large.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in small.headers
    assert large.headers["vary"] == small.headers["vary"] == DEFAULT_VARY


def test_vary_on_errors_is_the_urls_too(client: TestClient) -> None:
    for url in ("/countries/ZZ", "/countries/ZZ/positions", "/positions?as_of=yesterday"):
        for method in ("GET", "HEAD"):
            response = client.request(method, url, headers=GZIP)
            assert response.status_code in (404, 422), url
            assert response.headers["vary"] == DEFAULT_VARY, (method, url)


def test_vary_on_a_429_is_the_urls_too(seeded_settings: Settings) -> None:
    """The limiter answers outside the cache; its refusal names the same headers."""
    settings = seeded_settings.model_copy(
        update={
            "rate_limit_enabled": True,
            "rate_limit_read_burst": 2,
            "rate_limit_reads_per_second": 0.001,  # nothing refills during the test
        }
    )
    with TestClient(create_app(settings)) as client:
        responses = [client.get("/countries/RS", headers=ORIGIN) for _ in range(3)]
        assert [r.status_code for r in responses] == [200, 200, 429]
        assert {r.headers["vary"] for r in responses} == {DEFAULT_VARY}


def test_vary_leaves_out_origin_when_cors_is_off(seeded_settings: Settings) -> None:
    settings = seeded_settings.model_copy(update={"cors_origins": []})
    with TestClient(create_app(settings)) as client:
        for url in ("/positions", "/countries/RS"):
            seen = vary_of_every_way_to_ask(client, url)
            assert seen == dict.fromkeys(seen, "Accept, Accept-Encoding"), url


def test_vary_names_authorization_when_reads_need_a_key(seeded_settings: Settings) -> None:
    settings = seeded_settings.model_copy(update={"require_key_for_reads": True})
    key = make_key(settings, "reader")
    with TestClient(create_app(settings)) as client:
        expected = "Accept, Accept-Encoding, Origin, Authorization"
        ok = client.get("/countries/RS/positions", headers=bearer(key))
        refused = client.get("/countries/RS/positions")
        revalidated = client.get(
            "/countries/RS/positions", headers=bearer(key, **{"If-None-Match": ok.headers["etag"]})
        )
        assert (ok.status_code, refused.status_code, revalidated.status_code) == (200, 401, 304)
        assert ok.headers["vary"] == refused.headers["vary"] == expected
        assert revalidated.headers["vary"] == expected


def test_a_preflight_keeps_the_cors_vary(client: TestClient) -> None:
    response = client.options(
        "/positions",
        headers={"Origin": "https://dashboard.example", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 200
    assert response.headers["vary"].startswith("Origin, Access-Control-Request-Method")
