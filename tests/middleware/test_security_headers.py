"""nosniff on every response, a CSP and a Referrer-Policy on the HTML pages (issue 10,
item 8), on cache misses and hits alike."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from app import migrating
from app.main import create_app
from app.middleware.security_headers import DOCS_CSP, PAGE_CSP
from app.settings import Settings
from tests.load.test_protocol_limits import Served, connect, read_response, request_bytes
from tests.problems import assert_problem
from tests.servers import running_server

REFERRER = "strict-origin-when-cross-origin"
JSON = {"Content-Type": "application/json"}


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


def test_docs_pages_allow_only_this_origin(client: TestClient) -> None:
    """Each docs page sets its own policy (its inline script's hash; tests/docs_ui has the
    details); every policy allows this origin only, like the fallback DOCS_CSP."""
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        for _ in range(2):
            response = client.get(path)
            assert response.status_code == 200
            policy = response.headers["content-security-policy"]
            assert policy.startswith("default-src 'self'; script-src 'self'")
            assert re.search(r"https?:", policy) is None, (path, policy)
            assert response.headers["referrer-policy"] == REFERRER
            assert response.headers["x-content-type-options"] == "nosniff"
    assert re.search(r"https?:|unsafe", DOCS_CSP) is None
    assert "frame-ancestors 'self'" in DOCS_CSP


def test_api_responses_carry_no_page_policy(client: TestClient) -> None:
    response = client.get("/countries")
    assert "content-security-policy" not in response.headers


# --- problems answered by a middleware, or by the server, before (or past) the routes -------


def assert_problem_headers(headers: httpx.Headers | dict[str, str], what: str) -> None:
    """Never sniffed, never stored, each header once (a refusal is about this moment only)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    assert lowered.get("x-content-type-options") == "nosniff", (what, headers)
    assert lowered.get("cache-control") == "no-store", (what, headers)
    if isinstance(headers, httpx.Headers):
        for name in ("x-content-type-options", "cache-control"):
            assert len(headers.get_list(name)) == 1, (what, name, headers)


def test_middleware_problems_say_nosniff_and_no_store(seeded_settings: Settings) -> None:
    """Rate limit 429, host check 400, admission 503, body limit 413, CORS preflight 400:
    each is answered by a layer the routes (and some of the header layers) never see."""
    limited = seeded_settings.model_copy(
        update={
            "rate_limit_enabled": True,
            "rate_limit_read_burst": 1,
            "rate_limit_reads_per_second": 0.001,
        }
    )
    with TestClient(create_app(limited)) as client:
        assert client.get("/countries").status_code == 200
        rate_limited = client.get("/countries")
    strict = seeded_settings.model_copy(
        update={"allowed_hosts": ["testserver"], "max_body_bytes": 100}
    )
    with TestClient(create_app(strict)) as client:
        bad_host = client.get("/countries", headers={"Host": "evil.example"})
        too_large = client.post("/assessments", content=b"x" * 200, headers=JSON)
        preflight = client.options(
            "/assessments",
            headers={"Origin": "https://a.example", "Access-Control-Request-Method": "DELETE"},
        )
    assert_problem(rate_limited, 429, "/problems/rate-limited")
    assert_problem(too_large, 413, "/problems/payload-too-large")
    assert bad_host.status_code == 400 and bad_host.json()["type"] == "/problems/invalid-host"
    assert preflight.status_code == 400
    assert preflight.headers["content-type"] == "application/problem+json"
    for what, response in (
        ("429", rate_limited),
        ("host 400", bad_host),
        ("413", too_large),
        ("preflight 400", preflight),
    ):
        assert_problem_headers(response.headers, what)

    # A deadline no request can meet: admitted, then answered 503 `overloaded` at once.
    hurried = seeded_settings.model_copy(update={"request_deadline": 1e-6, "db_deadline": 1e-7})
    with TestClient(create_app(hurried)) as client:
        overloaded = client.get("/countries/RS/assessments")
    assert_problem(overloaded, 503, "/problems/overloaded")
    assert overloaded.headers["retry-after"] == "1"
    assert_problem_headers(overloaded.headers, "admission 503")


def test_protocol_problems_say_nosniff_and_no_store(tmp_path: Path) -> None:
    """uvicorn's 431 (headers too large), 408 (headers too slow) and 503 (too many
    connections), written below the app (Granian's carry no body: see granian_server)."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    migrating.upgrade(settings)
    env = {"CP_HEADER_TIMEOUT": "1", "CP_MAX_CONNECTIONS": "1", "CP_KEEPALIVE_TIMEOUT": "30"}
    with running_server(settings.database_url, extra_env=env) as base:
        served = Served("uvicorn", base, int(base.rsplit(":", 1)[1]))
        with connect(served) as sock:
            sock.sendall(request_bytes(served, "/healthz"))
            assert read_response(sock).status == 200  # kept alive: the one connection
            with connect(served) as extra:
                extra.sendall(request_bytes(served, "/healthz"))
                too_many = read_response(extra)
        with connect(served) as sock:
            sock.sendall(request_bytes(served, "/healthz", padding=20 * 1024))
            too_large = read_response(sock)
        with connect(served) as sock:
            sock.sendall(request_bytes(served, "/healthz")[:30])
            too_slow = read_response(sock)
    for response, status in ((too_many, 503), (too_large, 431), (too_slow, 408)):
        assert response.status == status
        assert response.headers["content-type"] == "application/problem+json"
        assert_problem_headers(response.headers, str(status))
