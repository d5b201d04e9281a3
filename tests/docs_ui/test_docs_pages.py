"""/docs, /redoc and /docs/oauth2-redirect over HTTP: they name no other origin, their
assets answer from here with the right types and a year of caching (issue 12)."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import PurePosixPath

from fastapi.testclient import TestClient

from app.docs_ui.assets import REDOC, SWAGGER_UI, vendored
from app.main import create_app
from app.settings import Settings

PAGES = ("/docs", "/redoc", "/docs/oauth2-redirect")
ABSOLUTE_URL = re.compile(r"(?:https?:)?//[\w.-]+", re.IGNORECASE)
LINKED = re.compile(r'(?:src|href)="([^"]+)"')
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
A_YEAR = "public, max-age=31536000, immutable"


def _policy(header: str) -> dict[str, list[str]]:
    directives = (d.strip().split() for d in header.split(";") if d.strip())
    return {name: sources for name, *sources in directives}


def _sha256(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def test_docs_pages_name_no_other_origin(client: TestClient) -> None:
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert ABSOLUTE_URL.findall(response.text) == [], path
        policy = response.headers["content-security-policy"]
        assert ABSOLUTE_URL.findall(policy) == [], path
        assert _policy(policy)["default-src"] == ["'self'"]


def test_docs_pages_load_the_pinned_vendored_ui(client: TestClient) -> None:
    swagger, redoc = vendored()[SWAGGER_UI], vendored()[REDOC]
    docs = LINKED.findall(client.get("/docs").text)
    assert swagger.url("swagger-ui-bundle.js") in docs
    assert swagger.url("swagger-ui.css") in docs
    assert redoc.url("redoc.standalone.js") in LINKED.findall(client.get("/redoc").text)
    assert f"/swagger-ui-dist-{swagger.version}/" in swagger.url("swagger-ui.css")
    assert "fonts.googleapis.com" not in client.get("/redoc").text


def test_docs_assets_answer_with_their_types_and_a_year_of_caching(client: TestClient) -> None:
    assets = {url for path in PAGES for url in LINKED.findall(client.get(path).text)}
    assert len(assets) == 4  # Swagger UI's script, stylesheet and icon; ReDoc's script
    digests = {
        package.url(name): digest
        for package in vendored().values()
        for name, digest in package.files.items()
    }
    for url in sorted(assets):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"] == CONTENT_TYPES[PurePosixPath(url).suffix]
        assert response.headers["cache-control"] == A_YEAR, url
        assert response.headers["x-content-type-options"] == "nosniff"
        assert hashlib.sha256(response.content).hexdigest() == digests[url]
        again = client.get(url, headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304
        assert again.headers["cache-control"] == A_YEAR


def test_docs_licences_are_served_as_text(client: TestClient) -> None:
    expected = {SWAGGER_UI: "Apache License", REDOC: "The MIT License"}
    for name, words in expected.items():
        response = client.get(vendored()[name].url("LICENSE"))
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert words in response.text
    notice = client.get(vendored()[SWAGGER_UI].url("NOTICE"))
    assert "SmartBear" in notice.text


def test_docs_policies_allow_exactly_their_inline_scripts(client: TestClient) -> None:
    for path in PAGES:
        response = client.get(path)
        policy = _policy(response.headers["content-security-policy"])
        inline = [_sha256(script) for script in INLINE_SCRIPT.findall(response.text)]
        assert policy["script-src"] == ["'self'", *inline], path
        assert "'unsafe-inline'" not in policy["script-src"]
        assert policy["frame-ancestors"] == ["'self'"]
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    swagger = _policy(client.get("/docs").headers["content-security-policy"])
    assert len(swagger["script-src"]) == 2  # FastAPI's one bootstrap script
    assert swagger["style-src"] == ["'self'"]
    # ReDoc injects its styles and runs its search in a blob: worker.
    redoc = _policy(client.get("/redoc").headers["content-security-policy"])
    assert redoc["script-src"] == ["'self'"]
    assert redoc["style-src"] == ["'self'", "'unsafe-inline'"]
    assert redoc["worker-src"] == ["'self'", "blob:"]


def test_docs_pages_follow_the_root_path(seeded_settings: Settings) -> None:
    with TestClient(create_app(seeded_settings), root_path="/api") as client:
        docs = client.get("/docs").text
        redoc = client.get("/redoc").text
    assert "url: '/api/openapi.json'" in docs
    assert "'/api/docs/oauth2-redirect'" in docs
    assert f'src="/api{vendored()[SWAGGER_UI].url("swagger-ui-bundle.js")}"' in docs
    assert 'spec-url="/api/openapi.json"' in redoc
    assert f'src="/api{vendored()[REDOC].url("redoc.standalone.js")}"' in redoc
