"""The chart page and its static assets (app/web.py)."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient

from app.settings import Settings
from tests.factories import bearer, make_key
from tests.middleware.test_http_cache import DEFAULT_CACHE_CONTROL
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


def _dataset(page: str) -> dict[str, Any]:
    head = page.split("</head>")[0]
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', head, re.S)
    assert found, "no JSON-LD in the page's head"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def test_chart_page_describes_the_dataset_and_its_latest_release(
    client: TestClient, seeded_settings: Settings
) -> None:
    """schema.org `Dataset` JSON-LD in the head, for dataset search engines; the page's ETag
    follows the revision, so a new release shows at once."""
    before = client.get("/")
    dataset = _dataset(before.text)
    assert dataset["@context"] == "https://schema.org" and dataset["@type"] == "Dataset"
    assert dataset["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert dataset["creator"]["name"] == "country-positions contributors"
    assert "version" not in dataset  # no release yet: only the live export
    assert [d["contentUrl"] for d in dataset["distribution"]] == ["/exports/positions.csv"]
    admin = make_key(seeded_settings, "alice-admin")
    made = client.post("/releases", json={"version": "2026.1"}, headers=bearer(admin))
    assert made.status_code == 201, made.text
    after = client.get("/", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    dataset = _dataset(after.text)
    assert dataset["version"] == "2026.1"
    urls = [d["contentUrl"] for d in dataset["distribution"]]
    assert urls[:2] == ["/releases/2026.1/data.zip", "/releases/2026.1/datapackage.json"]
    for url in urls:
        assert client.get(url).status_code == 200, url


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
