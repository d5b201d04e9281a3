"""nosniff on every response, a CSP and a Referrer-Policy on the HTML pages (issue 10,
item 8), on cache misses and hits alike."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.security_headers import DOCS_CSP, PAGE_CSP

REFERRER = "strict-origin-when-cross-origin"


def test_json_csv_and_problems_say_nosniff(client: TestClient) -> None:
    for path in (
        "/countries/RS/positions",
        "/positions?format=csv",
        "/countries/ZZ/positions",
        "/no-such-route",
        "/static/chart.js",
        "/openapi.json",
        "/healthz",
    ):
        # Twice: the second may be a cache hit, which must replay the header.
        for _ in range(2):
            response = client.get(path)
            assert response.headers["x-content-type-options"] == "nosniff", path


def test_cache_hit_and_304_keep_the_headers(client: TestClient) -> None:
    first = client.get("/countries/RS/positions")
    hit = client.get("/countries/RS/positions")
    assert hit.headers["etag"] == first.headers["etag"]
    assert hit.headers["x-content-type-options"] == "nosniff"
    not_modified = client.get(
        "/countries/RS/positions", headers={"If-None-Match": hit.headers["etag"]}
    )
    assert not_modified.status_code == 304


def test_chart_page_has_a_strict_policy(client: TestClient) -> None:
    for _ in range(2):
        response = client.get("/")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["content-security-policy"] == PAGE_CSP
        assert response.headers["referrer-policy"] == REFERRER
        assert response.headers["x-content-type-options"] == "nosniff"
    policy = dict(
        directive.strip().split(" ", 1) for directive in PAGE_CSP.split(";") if directive.strip()
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'self'"
    assert "unsafe" not in PAGE_CSP


def test_docs_pages_allow_what_they_load(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == DOCS_CSP
        assert response.headers["referrer-policy"] == REFERRER
        # Every origin the page loads from is allowed by the policy.
        for origin in re.findall(r'(?:src|href)="(https://[^/"]+)', response.text):
            assert f" {origin}" in DOCS_CSP, (path, origin)
    assert "frame-ancestors 'self'" in DOCS_CSP


def test_api_responses_carry_no_page_policy(client: TestClient) -> None:
    response = client.get("/countries")
    assert "content-security-policy" not in response.headers
