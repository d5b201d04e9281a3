"""The contract in the shapes client generators and linters read (issue 12): one media type
per operation, exports as operations of their own, plain optional parameters, enum member
names that never collide, and the document-level fields linters ask for."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.http.openapi_export import COMMITTED

SPEC: dict[str, Any] = json.loads(COMMITTED.read_text(encoding="utf-8"))
OPERATIONS = [
    (f"{method.upper()} {path}", operation)
    for path, item in SPEC["paths"].items()
    for method, operation in item.items()
]


def test_every_success_documents_exactly_one_media_type() -> None:
    for name, operation in OPERATIONS:
        for status, response in operation["responses"].items():
            if status.startswith("2") and "content" in response:
                assert len(response["content"]) == 1, (name, status, list(response["content"]))


def test_optional_parameters_have_no_null_branch_and_refs_stand_alone() -> None:
    for name, operation in OPERATIONS:
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            assert "anyOf" not in schema and "oneOf" not in schema, (name, parameter["name"])
            if "$ref" in schema:
                assert list(schema) == ["$ref"], (name, parameter["name"])


def test_the_format_override_is_not_part_of_the_contract() -> None:
    names = {p["name"] for _, op in OPERATIONS for p in op.get("parameters", [])}
    assert "format" not in names


def test_enum_member_names_are_unique_across_every_enum() -> None:
    seen: dict[str, str] = {}
    for name, schema in SPEC["components"]["schemas"].items():
        if "enum" not in schema:
            continue
        varnames = schema["x-enum-varnames"]
        assert len(varnames) == len(schema["enum"]), name
        for varname in varnames:
            assert varname not in seen, f"{varname} in {name} and {seen.get(varname)}"
            seen[varname] = name
    assert seen["POSITION_VALUE_YES"] == "PositionValue"
    assert seen["ASSESSED_VALUE_YES"] == "AssessedValue"
    assert seen["OFFICIAL_STATEMENT"] == "SourceKind"  # unprefixed where nothing collides


def test_document_fields_linters_ask_for() -> None:
    assert SPEC["servers"] == [{"url": "/", "description": SPEC["servers"][0]["description"]}]
    assert SPEC["info"]["contact"]["name"]
    described = {tag["name"]: tag["description"] for tag in SPEC["tags"]}
    for name, operation in OPERATIONS:
        for tag in operation["tags"]:
            assert described.get(tag), (name, tag)
    for path in ("/healthz", "/readyz"):
        assert SPEC["paths"][path]["get"]["security"] == []


def test_description_says_what_the_chart_covered_and_what_we_hold(client: TestClient) -> None:
    description = SPEC["info"]["description"]
    assert "38 European governments" not in description
    assert "assessed 38 governments" in description
    total = client.get("/countries").json()["total"]
    assert f"lists {total}" in description


EXPORTS = [
    ("/exports/positions.csv", "/positions?format=csv", "text/csv"),
    (
        "/exports/positions.csv?category=lethal_aid",
        "/positions?category=lethal_aid&format=csv",
        "text/csv",
    ),
    ("/exports/positions.ndjson", "/positions?format=ndjson", "application/x-ndjson"),
    ("/exports/countries.csv?value=no", "/countries?value=no&format=csv", "text/csv"),
    (
        "/exports/countries/RS/assessments.csv",
        "/countries/RS/assessments?format=csv",
        "text/csv",
    ),
    (
        "/exports/countries/RS/assessments.ndjson",
        "/countries/RS/assessments?format=ndjson",
        "application/x-ndjson",
    ),
    ("/exports/stats.csv", "/stats?format=csv", "text/csv"),
]


@pytest.mark.parametrize(("export", "negotiated", "media"), EXPORTS)
def test_export_operations_answer_what_negotiation_does(
    client: TestClient, export: str, negotiated: str, media: str
) -> None:
    exported = client.get(export)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].split(";")[0] == media
    assert exported.content == client.get(negotiated).content
    path = export.split("?")[0].replace("/RS/", "/{code}/")
    assert list(SPEC["paths"][path]["get"]["responses"]["200"]["content"]) == [media]


def test_stats_answers_csv_by_accept_and_refuses_what_it_cannot_serve(client: TestClient) -> None:
    response = client.get("/stats", headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    json_stats = client.get("/stats").json()
    assert [r["category"] for r in rows] == [c["category"] for c in json_stats["categories"]]
    for row, category in zip(rows, json_stats["categories"], strict=True):
        assert {k: int(v) for k, v in row.items() if k != "category"} == category["counts"]
        assert sum(category["counts"].values()) == json_stats["countries"]
    refused = client.get("/stats", headers={"Accept": "image/png"})
    assert refused.status_code == 406
    assert refused.headers["content-type"] == "application/problem+json"
