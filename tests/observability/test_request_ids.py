"""Request ids and the per-request log line, as a client and an operator see them."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.observability.logging import JsonFormatter, RequestIdFilter
from app.observability.request_log import ACCESS_LOGGER, REQUEST_FIELDS
from app.settings import Settings
from tests.factories import bearer, make_key
from tests.problems import assert_problem

GENERATED = re.compile(r"^[0-9a-f]{32}$")
SOURCE = {
    "id": "serbia-presidency-2023-04",
    "title": "Statement of the Serbian presidency",
    "kind": "official_statement",
    "published_on": "2023-04-12",
    "verification_status": "verified",
}


Lines = Callable[[], list[str]]


def capture_lines(client: TestClient, caplog: pytest.LogCaptureFixture) -> Lines:
    """The request lines `client`'s app writes from now on, as written (flushed first)."""
    caplog.set_level(logging.INFO, ACCESS_LOGGER)  # `app.access`'s level gates them
    request_log = client.app.state.request_log  # type: ignore[attr-defined]
    written = io.StringIO()
    request_log.stream = written

    def lines() -> list[str]:
        request_log.flush()
        return written.getvalue().splitlines()

    return lines


def json_documents(lines: Lines) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines()]


@pytest.fixture
def json_client(seeded_settings: Settings) -> Iterator[TestClient]:
    """`client` with CP_LOG_FORMAT=json."""
    with TestClient(create_app(seeded_settings.model_copy(update={"log_format": "json"}))) as c:
        yield c


def test_request_id_sent_is_echoed_and_logged(
    json_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    lines = capture_lines(json_client, caplog)
    response = json_client.get("/countries/RS/positions", headers={"X-Request-ID": "abc"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "abc"
    [document] = json_documents(lines)
    assert list(document) == ["time", "level", "logger", "message", *REQUEST_FIELDS[:-2]]
    assert document["logger"] == "app.access"
    assert document["request_id"] == "abc"
    assert document["message"] == "request"
    assert document["level"] == "INFO"
    assert document["route"] == "/countries/{code}/positions"
    assert document["path"] == "/countries/RS/positions"
    assert (document["method"], document["status"]) == ("GET", 200)
    assert document["bytes"] == int(response.headers["content-length"])  # as sent (gzipped)
    assert document["cache"] == "miss"
    assert isinstance(document["revision"], int)
    assert document["duration_ms"] >= 0 and document["db_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", document["time"])


def test_error_carries_the_request_id_in_its_problem_document(client: TestClient) -> None:
    response = client.get("/countries/ZZ/positions", headers={"X-Request-ID": "abc"})
    problem = assert_problem(response, 404)
    assert problem["request_id"] == "abc"
    assert response.headers["X-Request-ID"] == "abc"
    unknown = client.get("/nowhere", headers={"X-Request-ID": "abc-2"})
    assert assert_problem(unknown, 404)["request_id"] == "abc-2"


@pytest.mark.parametrize("sent", ["", "a b", "x" * 129, "-leading-dash", "semi;colon", "\u00e9"])
def test_unsafe_request_id_is_replaced_by_a_fresh_one(client: TestClient, sent: str) -> None:
    response = client.get("/countries/ZZ/positions", headers={"X-Request-ID": sent.encode()})
    assert GENERATED.match(response.headers["X-Request-ID"])
    assert response.json()["request_id"] == response.headers["X-Request-ID"]


def test_every_request_gets_its_own_id(client: TestClient) -> None:
    ids = {client.get("/countries/RS").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3 and all(GENERATED.match(i) for i in ids)


def test_log_line_says_hit_miss_or_bypass(
    json_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    lines = capture_lines(json_client, caplog)
    json_client.get("/countries/AT")
    json_client.get("/countries/AT")
    json_client.get("/healthz")
    assert [d["cache"] for d in json_documents(lines)] == ["miss", "hit", "bypass"]


def test_cache_hit_is_labelled_with_its_route_template(
    json_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    lines = capture_lines(json_client, caplog)
    for path in ("/countries/AT/positions", "/countries/AT/positions", "/countries/BE/positions"):
        json_client.get(path)
    documents = json_documents(lines)
    assert [d["cache"] for d in documents] == ["miss", "hit", "miss"]
    assert {d["route"] for d in documents} == {"/countries/{code}/positions"}


def test_no_request_lines_below_their_level(
    json_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """CP_LOG_LEVEL=warning (`app.access` at WARNING) drops them, as it did on `logging`."""
    lines = capture_lines(json_client, caplog)
    caplog.set_level(logging.WARNING, ACCESS_LOGGER)
    json_client.get("/countries/AT")
    assert lines() == []


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_writes_log_the_key_name_never_the_key(
    settings: Settings, caplog: pytest.LogCaptureFixture, log_format: str
) -> None:
    key = make_key(settings, "alice")
    with TestClient(create_app(settings.model_copy(update={"log_format": log_format}))) as client:
        lines = capture_lines(client, caplog)
        response = client.post(f"/sources?api_key={key}", json=SOURCE, headers=bearer(key))
        assert response.status_code in (201, 422), response.text
        client.post("/sources", json=SOURCE, headers=bearer(key))
        written = lines()
    assert len(written) == 2
    for line in written:
        assert key not in line and "Bearer" not in line
    if log_format == "text":
        assert "/sources?api_key=[redacted] HTTP/1.1" in written[0]
        assert " key=alice [" in written[-1]
        return
    documents = [json.loads(line) for line in written]
    assert documents[0]["query"] == "api_key=[redacted]"
    assert documents[-1]["api_key"] == "alice"
    assert documents[-1]["method"] == "POST"


def test_text_line_reads_like_an_access_log(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    lines = capture_lines(client, caplog)
    client.get("/countries/RS/positions?as_of=2023-03-01", headers={"X-Request-ID": "abc"})
    [line] = lines()
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO app\.access testclient - ", line)
    assert '"GET /countries/RS/positions?as_of=2023-03-01 HTTP/1.1" 200 ' in line
    assert "cache=miss route=/countries/{code}/positions" in line
    assert line.endswith(" [abc]")


def test_a_line_is_one_line_whatever_the_path(
    json_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A path with quotes, a newline or non-ASCII stays one valid JSON line."""
    lines = capture_lines(json_client, caplog)
    json_client.get('/countries/R"S%0A%C3%A9/positions?x="%0A')
    [document] = json_documents(lines)
    assert document["path"] == '/countries/R"S\né/positions'
    assert document["query"] == "x=%22%0A"
    assert document["status"] == 422 and document["problem"].startswith("/problems/")


def test_app_events_during_a_request_carry_its_id(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The revision the first request reads is an event, logged while it is handled."""
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestIdFilter())  # as logging_config() installs it
    client.get("/countries/RS", headers={"X-Request-ID": "abc"})
    events = [r for r in caplog.records if getattr(r, "event", None) == "revision_switch"]
    formatted = [json.loads(JsonFormatter().format(r)) for r in events]
    if client.app.state.settings.is_sqlite:  # type: ignore[attr-defined]
        assert formatted and formatted[0]["request_id"] == "abc"
    assert all(f["event"] == "revision_switch" for f in formatted)


def test_seed_run_is_a_json_event_in_json_mode(settings: Settings) -> None:
    import os
    import subprocess
    import sys

    from tests.servers import ROOT

    env = {**os.environ, "DATABASE_URL": settings.database_url, "CP_LOG_FORMAT": "json"}
    result = subprocess.run(
        [sys.executable, "-m", "app", "seed"], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stderr
    [event] = [json.loads(line) for line in result.stderr.splitlines()]
    assert event["event"] == "seed_run" and event["changed"] is True
    assert event["counts"]["countries"]["created"] == 39
    assert isinstance(event["revision"], int)
