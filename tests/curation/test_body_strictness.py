"""Bodies are read strictly (issue 10, item 8): a JSON key given twice is a 422, never
last-wins, at any depth and on every route with a body; and a date still to come (an
assessment's `as_of`, a source's `published_on`) is a 422, on create and on PATCH."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from app.http.strict_json import StrictJSONRoute
from app.main import create_app
from app.settings import Settings
from tests.curation.conftest import DISSENT, NEW_SOURCE, Keys, if_match, record_statement
from tests.factories import bearer, dump_database
from tests.problems import assert_problem

JSON = {"Content-Type": "application/json"}


def _with_duplicate(body: dict[str, Any], key: str, first: Any) -> bytes:
    """`body` as JSON with `key` written twice: `first`, then the body's own value."""
    text = json.dumps(body)
    assert text.startswith("{")
    return f"{{{json.dumps(key)}: {json.dumps(first)}, {text[1:]}".encode()


def _duplicate_issue(*path: str | int) -> dict[str, Any]:
    return {
        "loc": ["body", *path],
        "msg": f"the key {str(path[-1])!r} appears more than once",
        "type": "duplicate_key",
    }


def _today() -> date:
    return datetime.now(UTC).date()


def _on_one_day(send: Callable[[date], httpx.Response]) -> tuple[httpx.Response, date]:
    """`send(today)`, retried if UTC midnight passed during the request (so the server's
    today is the test's)."""
    while True:
        today = _today()
        response = send(today)
        if _today() == today:
            return response, today


# --- duplicate keys ------------------------------------------------------------------------


def test_duplicate_key_on_every_body_route_is_422_and_writes_nothing(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    created, etag = record_statement(client, keys)
    source_etag = client.get(f"/sources/{NEW_SOURCE['id']}").headers["ETag"]
    before = dump_database(seeded_settings)
    # The repeated key comes first, the valid value last: last-wins would accept each one.
    cases: list[tuple[str, str, bytes, dict[str, str]]] = [
        (
            "POST",
            "/assessments",
            _with_duplicate({**DISSENT, "as_of": "2023-04-21"}, "value", "yes"),
            bearer(keys.writer, **JSON),
        ),
        (
            "PATCH",
            f"/assessments/{created['id']}",
            _with_duplicate({"value": "no"}, "value", "yes"),
            if_match(keys.writer, etag) | JSON,
        ),
        (
            "POST",
            "/sources",
            _with_duplicate({**NEW_SOURCE, "id": "another-statement"}, "title", "Other"),
            bearer(keys.admin, **JSON),
        ),
        (
            "PATCH",
            f"/sources/{NEW_SOURCE['id']}",
            _with_duplicate({"verification_status": "verified"}, "verification_status", "x"),
            if_match(keys.admin, source_etag) | JSON,
        ),
    ]
    for method, path, raw, headers in cases:
        response = client.request(method, path, content=raw, headers=headers)
        problem = assert_problem(response, 422, "/problems/invalid-input")
        key = next(iter(json.loads(raw)))
        assert problem["errors"] == [_duplicate_issue(key)], (method, path)
        assert problem["detail"] == f"body.{key}: the key {key!r} appears more than once"
    assert dump_database(seeded_settings) == before


def test_duplicate_keys_are_found_at_any_depth_each_named_once(
    client: TestClient, keys: Keys
) -> None:
    raw = (
        b'{"country": "RS", "country": "RS", "country": "RS", "note": "x",'
        b' "value": {"a": 1, "b": [0, {"c": 1, "c": 2}], "a": 3}, "note": "y"}'
    )
    response = client.post("/assessments", content=raw, headers=bearer(keys.writer, **JSON))
    problem = assert_problem(response, 422, "/problems/invalid-input")
    assert problem["errors"] == [
        _duplicate_issue("country"),
        _duplicate_issue("note"),
        _duplicate_issue("value", "a"),
        _duplicate_issue("value", "b", 1, "c"),
    ]


def test_duplicate_key_in_a_json_suffix_media_type_is_422(client: TestClient, keys: Keys) -> None:
    raw = _with_duplicate(DISSENT, "value", "yes")
    headers = bearer(keys.writer, **{"Content-Type": "application/merge-patch+json"})
    response = client.post("/assessments", content=raw, headers=headers)
    problem = assert_problem(response, 422, "/problems/invalid-input")
    assert problem["errors"] == [_duplicate_issue("value")]


def test_duplicate_key_is_refused_like_malformed_json_before_the_key_check(
    client: TestClient,
) -> None:
    """A body that is not one JSON object is refused before anything is done with it, key
    or no key, as FastAPI refuses malformed JSON."""
    for raw in (_with_duplicate(DISSENT, "value", "yes"), b'{"value": '):
        response = client.post("/assessments", content=raw, headers=JSON)
        assert_problem(response, 422, "/problems/invalid-input")


def test_bodies_without_repeats_keep_working_escapes_included(
    client: TestClient, keys: Keys
) -> None:
    """Keys that only look alike (an escape, a different case) are different keys: the
    model names the unknown one, as it always has."""
    created = client.post("/sources", json=NEW_SOURCE, headers=bearer(keys.admin))
    assert created.status_code == 201, created.text
    raw = json.dumps({**DISSENT, "Value": "yes"}).encode()
    response = client.post("/assessments", content=raw, headers=bearer(keys.writer, **JSON))
    problem = assert_problem(response, 422, "/problems/invalid-input")
    assert [e["type"] for e in problem["errors"]] == ["extra_forbidden"]
    raw = json.dumps(DISSENT).replace('"value"', '"\\u0076alue"', 1).encode()
    response = client.post("/assessments", content=raw, headers=bearer(keys.writer, **JSON))
    assert response.status_code == 201, response.text
    assert response.json()["value"] == DISSENT["value"]


def test_escaped_spelling_of_a_key_is_the_same_key(client: TestClient, keys: Keys) -> None:
    raw = json.dumps(DISSENT).replace("{", '{"\\u0076alue": "yes", ', 1).encode()
    response = client.post("/assessments", content=raw, headers=bearer(keys.writer, **JSON))
    problem = assert_problem(response, 422, "/problems/invalid-input")
    assert problem["errors"] == [_duplicate_issue("value")]


def test_every_route_with_a_body_reads_it_strictly(settings: Settings) -> None:
    """A new route with a body must use StrictJSONRoute too (its router's `route_class`);
    routes without one, every read among them, keep FastAPI's own handler."""
    app = create_app(settings)
    with_body = [
        context
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.body_field is not None
    ]
    assert sorted((sorted(c.methods or ()), c.path) for c in with_body) == [
        (["PATCH"], "/assessments/{assessment_id}"),
        (["PATCH"], "/sources/{source_id}"),
        (["POST"], "/assessments"),
        (["POST"], "/releases"),
        (["POST"], "/releases/{version}/withdrawal"),
        (["POST"], "/sources"),
    ]
    assert all(isinstance(c.original_route, StrictJSONRoute) for c in with_body)


# --- dates still to come -------------------------------------------------------------------


def _date_issue(field: str, value: date, today: date) -> dict[str, Any]:
    return {
        "loc": ["body", field],
        "msg": f"{value.isoformat()} is after today ({today.isoformat()}, UTC)",
        "type": "date_in_future",
    }


def test_assessment_as_of_after_today_is_422_on_create(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    client.post("/sources", json=NEW_SOURCE, headers=bearer(keys.admin))
    before = dump_database(seeded_settings)

    def create(today: date) -> httpx.Response:
        body = {**DISSENT, "as_of": (today + timedelta(days=1)).isoformat()}
        response: httpx.Response = client.post(
            "/assessments", json=body, headers=bearer(keys.writer)
        )
        return response

    response, today = _on_one_day(create)
    problem = assert_problem(response, 422, "/problems/invalid-input")
    assert problem["errors"] == [_date_issue("as_of", today + timedelta(days=1), today)]
    assert dump_database(seeded_settings) == before

    def create_today(today: date) -> httpx.Response:
        body = {**DISSENT, "as_of": today.isoformat()}
        response: httpx.Response = client.post(
            "/assessments", json=body, headers=bearer(keys.writer)
        )
        return response

    response, today = _on_one_day(create_today)
    assert response.status_code == 201, response.text
    assert response.json()["as_of"] == today.isoformat()


def test_assessment_as_of_after_today_is_422_on_patch(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    created, etag = record_statement(client, keys)
    before = dump_database(seeded_settings)
    far = date(9999, 12, 31)
    response = client.patch(
        f"/assessments/{created['id']}",
        json={"as_of": far.isoformat()},
        headers=if_match(keys.writer, etag),
    )
    problem = assert_problem(response, 422, "/problems/invalid-input")
    assert [e["loc"] for e in problem["errors"]] == [["body", "as_of"]]
    assert problem["errors"][0]["type"] == "date_in_future"
    assert dump_database(seeded_settings) == before


def test_source_published_after_today_is_422_document_date_is_free(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    """A publication has happened by definition; a document may carry any date."""
    before = dump_database(seeded_settings)

    def create(today: date) -> httpx.Response:
        body = {**NEW_SOURCE, "published_on": (today + timedelta(days=1)).isoformat()}
        response: httpx.Response = client.post("/sources", json=body, headers=bearer(keys.admin))
        return response

    response, today = _on_one_day(create)
    problem = assert_problem(response, 422, "/problems/invalid-input")
    assert problem["errors"] == [_date_issue("published_on", today + timedelta(days=1), today)]
    assert dump_database(seeded_settings) == before

    body = {**NEW_SOURCE, "document_date": "2099-01-01"}
    created = client.post("/sources", json=body, headers=bearer(keys.admin))
    assert created.status_code == 201, created.text
    response = client.patch(
        created.headers["Location"],
        json={"published_on": "2099-01-01"},
        headers=if_match(keys.admin, created.headers["ETag"]),
    )
    problem = assert_problem(response, 422, "/problems/invalid-input")
    assert [(e["loc"], e["type"]) for e in problem["errors"]] == [
        (["body", "published_on"], "date_in_future")
    ]


def test_dates_in_the_past_are_still_accepted(client: TestClient, keys: Keys) -> None:
    source = {**NEW_SOURCE, "published_on": "1999-12-31"}
    created = client.post("/sources", json=source, headers=bearer(keys.admin))
    assert created.status_code == 201, created.text
    assessment = client.post(
        "/assessments", json={**DISSENT, "as_of": "1999-12-31"}, headers=bearer(keys.writer)
    )
    assert assessment.status_code == 201, assessment.text
    assert {created.json()["published_on"], assessment.json()["as_of"]} == {"1999-12-31"}
