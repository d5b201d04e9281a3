"""The chart page and its static assets (app/web.py)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.settings import Settings
from tests.factories import SERBIA_TRAINING_EVIDENCE, edited_seeds, load_seed_folder
from tests.middleware.test_http_cache import DEFAULT_CACHE_CONTROL, EDITED_EVIDENCE
from tests.problems import assert_problem


def test_chart_page_is_html_with_an_etag(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text.startswith("<!doctype html>")
    assert '<script src="/static/chart.js" defer></script>' in response.text
    etag = response.headers["etag"]
    assert response.headers["cache-control"] == DEFAULT_CACHE_CONTROL
    assert client.get("/", headers={"If-None-Match": etag}).status_code == 304


def test_chart_page_etag_does_not_follow_the_data(
    client: TestClient, seeded_settings: Settings, tmp_path: Path
) -> None:
    etag = client.get("/").headers["etag"]
    load_seed_folder(
        seeded_settings, edited_seeds(tmp_path, SERBIA_TRAINING_EVIDENCE, EDITED_EVIDENCE)
    )
    assert client.get("/", headers={"If-None-Match": etag}).status_code == 304


def test_chart_script_is_served(client: TestClient) -> None:
    response = client.get("/static/chart.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == DEFAULT_CACHE_CONTROL
    assert "/positions" in response.text
    etag = response.headers["etag"]
    assert client.get("/static/chart.js", headers={"If-None-Match": etag}).status_code == 304


def test_static_asset_not_modified_keeps_etag_and_cache_control(client: TestClient) -> None:
    # RFC 9110 §15.4.5: a 304 carries the ETag and Cache-Control the 200 would have.
    later = "Fri, 01 Jan 2100 00:00:00 GMT"
    response = client.get("/static/chart.js", headers={"If-Modified-Since": later})
    full = client.get("/static/chart.js")
    assert full.status_code == 200
    assert response.status_code == 304
    assert response.headers["etag"] == full.headers["etag"]
    assert response.headers["cache-control"] == DEFAULT_CACHE_CONTROL


def test_missing_static_asset_is_404_problem(client: TestClient) -> None:
    response = client.get("/static/no-such-file.js")
    assert_problem(response, 404)
    assert response.headers["cache-control"] == "no-store"


def _directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())


def test_embed_is_frameable_by_any_site_and_the_page_only_by_itself(client: TestClient) -> None:
    # Issue 13: articles frame /embed; every other page keeps frame-ancestors 'self'.
    for _ in range(2):  # the second may be a cache hit, which must replay the headers
        embed = client.get("/embed?country=RS")
        assert embed.status_code == 200
        assert embed.headers["content-type"] == "text/html; charset=utf-8"
        assert '<script src="/static/embed.js" defer></script>' in embed.text
        policy = _directives(embed.headers["content-security-policy"])
        assert policy["frame-ancestors"] == "*"
        assert policy["script-src"] == "'self'"
        assert policy["connect-src"] == "'self'"
        assert "x-frame-options" not in embed.headers
        page = client.get("/")
        assert _directives(page.headers["content-security-policy"])["frame-ancestors"] == "'self'"
    assert client.get("/static/embed.js").status_code == 200
