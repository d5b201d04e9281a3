"""Regression tests for what the contract work found (F1-F16): schemathesis runs, the
generated clients and a review of the spec. Each names its finding; each was fixed."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from fastapi.testclient import TestClient

from app.http.openapi_export import COMMITTED
from app.main import create_app
from app.settings import Settings
from tests.factories import CHART, bearer, make_key

SPEC: dict[str, Any] = json.loads(COMMITTED.read_text(encoding="utf-8"))
INT4_MAX = 2**31 - 1


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in SPEC["paths"].items()
        for method, operation in item.items()
    ]


def _operation(operation_id: str) -> dict[str, Any]:
    return next(op for _, _, op in _operations() if op["operationId"] == operation_id)


def _status_is_documented(operation_id: str, status: int) -> bool:
    return str(status) in _operation(operation_id)["responses"]


def test_ids_beyond_the_column_range_are_refused_with_422(client: TestClient) -> None:
    for operation_id, name in (
        ("getAssessment", "assessment_id"),
        ("getAssessmentHistory", "assessment_id"),
        ("updateAssessment", "assessment_id"),
        ("retractAssessment", "assessment_id"),
        ("listChanges", "since"),
    ):
        parameter = next(p for p in _operation(operation_id)["parameters"] if p["name"] == name)
        assert parameter["schema"]["maximum"] <= INT4_MAX, operation_id
    assert client.get(f"/assessments/{INT4_MAX + 1}").status_code == 422
    assert client.get(f"/assessments/{INT4_MAX + 1}/history").status_code == 422
    assert client.get("/changes", params={"since": INT4_MAX + 1}).status_code == 422


def test_dates_other_than_yyyy_mm_dd_are_refused(
    client: TestClient, seeded_settings: Settings
) -> None:
    for params in ({"as_of": "0"}, {"as_of": "2023-03-02T00:00:00"}):
        assert client.get("/countries/RS/positions", params=params).status_code == 422
        assert client.get("/positions", params=params).status_code == 422
        assert client.get("/stats", params=params).status_code == 422
    body = {
        "country": "RS",
        "category": "lethal_aid",
        "value": "no",
        "source": CHART,
        "as_of": 0,
        "evidence": "A date given as a number.",
    }
    created = client.post(
        "/assessments", json=body, headers=bearer(make_key(seeded_settings, "findings"))
    )
    assert created.status_code == 422, created.text


def test_create_source_refuses_empty_text_as_patch_does(
    client: TestClient, seeded_settings: Settings
) -> None:
    body = {
        "id": "empty-note",
        "title": "A source with an empty note",
        "kind": "other",
        "verification_status": "unverified",
        "verification_note": "",
    }
    response = client.post(
        "/sources", json=body, headers=bearer(make_key(seeded_settings, "findings"))
    )
    assert response.status_code == 422, response.text


def test_method_not_allowed_lists_every_allowed_method(client: TestClient) -> None:
    for method, path, allowed in (
        ("OPTIONS", "/sources", {"GET", "POST"}),
        ("DELETE", f"/sources/{CHART}", {"GET", "PATCH"}),
        ("PUT", "/assessments/1", {"GET", "PATCH", "DELETE"}),
    ):
        response = client.request(method, path)
        assert response.status_code == 405
        listed = {m.strip() for m in response.headers["Allow"].split(",")}
        assert allowed <= listed, (path, listed)


def test_patch_bodies_allow_null_only_where_null_clears() -> None:
    schemas = SPEC["components"]["schemas"]
    for model, fields in (
        ("SourceUpdate", ("title", "kind", "verification_status")),
        ("AssessmentUpdate", ("value", "as_of", "evidence")),
    ):
        for name in fields:
            prop = schemas[model]["properties"][name]
            options = prop.get("anyOf", [prop])
            assert {"type": "null"} not in options, f"{model}.{name}"


def test_undecodable_body_gets_a_documented_status(
    client: TestClient, seeded_settings: Settings
) -> None:
    headers = {**bearer(make_key(seeded_settings, "findings")), "Content-Type": "application/json"}
    response = client.post("/assessments", content=b"\xf0\x28\x8c\x28", headers=headers)
    assert _status_is_documented("createAssessment", response.status_code), response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_conditional_writes_declare_if_match() -> None:
    for path, method, operation in _operations():
        if method in ("patch", "delete"):
            headers = {
                p["name"].lower(): p for p in operation.get("parameters", []) if p["in"] == "header"
            }
            assert headers.get("if-match", {}).get("required") is True, f"{method} {path}"


def test_response_headers_clients_need_are_documented() -> None:
    expected = {
        ("getAssessment", "200"): "etag",
        ("getSource", "200"): "etag",
        ("createAssessment", "201"): "location",
        ("createSource", "201"): "location",
        ("listCountries", "200"): "x-total-count",
        ("listPositions", "200"): "link",
        ("createAssessment", "401"): "www-authenticate",
        ("listCountries", "503"): "retry-after",
    }
    for (operation_id, status), header in expected.items():
        documented = _operation(operation_id)["responses"][status].get("headers", {})
        assert header in {name.lower() for name in documented}, (operation_id, status, header)


def test_reads_document_the_401_they_can_answer(seeded_settings: Settings) -> None:
    settings = seeded_settings.model_copy(update={"require_key_for_reads": True})
    with TestClient(create_app(settings)) as keyed:
        assert keyed.get("/countries").status_code == 401
    for path, method, operation in _operations():
        if method == "get" and {} in operation.get("security", []):
            assert "401" in operation["responses"], f"{method} {path}"


def test_csv_examples_show_the_served_header(client: TestClient) -> None:
    for path, served in (
        ("/exports/countries.csv", "/countries"),
        ("/exports/countries/{code}/assessments.csv", "/countries/RS/assessments"),
        ("/exports/positions.csv", "/positions"),
        ("/exports/stats.csv", "/stats"),
    ):
        example = SPEC["paths"][path]["get"]["responses"]["200"]["content"]["text/csv"]["example"]
        header = next(csv.reader(io.StringIO(client.get(served, params={"format": "csv"}).text)))
        assert next(csv.reader(io.StringIO(example))) == header, path


F14 = (
    "F14: on PostgreSQL, a database that is not migrated makes every data operation a 500 "
    "(UndefinedTable is a ProgrammingError); only /readyz says 503, though the problem type "
    "promises 503 for 'unreachable or not migrated' (SQLite's 'no such table' is a 503)"
)


def test_unmigrated_database_is_503_on_data_operations(fresh_database_url: str) -> None:
    with TestClient(create_app(Settings(database_url=fresh_database_url))) as unmigrated:
        assert unmigrated.get("/readyz").status_code == 503
        assert unmigrated.get("/countries").status_code == 503


def test_countries_refuses_an_unknown_source_alone(client: TestClient) -> None:
    assert client.get("/countries", params={"source": "no-such-source"}).status_code == 404


def test_nul_characters_in_text_are_refused_with_422(
    client: TestClient, seeded_settings: Settings
) -> None:
    headers = bearer(make_key(seeded_settings, "findings"))
    source = {"id": "nul", "title": "a\x00b", "kind": "other", "verification_status": "unverified"}
    assert client.get("/countries", params={"q": "se\x00rb"}).status_code == 422
    assert client.post("/sources", json=source, headers=headers).status_code == 422
