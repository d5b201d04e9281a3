"""The contract: the committed spec is what is served, and it is fit for client generation."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from app.http.openapi_export import COMMITTED, render

PROBLEM = "application/problem+json"


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op) for path, item in spec["paths"].items() for method, op in item.items()
    ]


def test_committed_spec_matches_the_served_one(client: TestClient) -> None:
    served = client.get("/openapi.json").json()
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert served == committed, "the API contract changed: run `make openapi` and commit"
    assert render() == COMMITTED.read_text(encoding="utf-8")


def test_every_operation_is_named_tagged_and_described() -> None:
    spec = json.loads(render())
    ids = [op["operationId"] for _, _, op in _operations(spec)]
    assert len(ids) == len(set(ids))
    assert "listCountryPositions" in ids
    for path, method, op in _operations(spec):
        where = f"{method.upper()} {path}"
        assert op["operationId"][0].islower() and "_" not in op["operationId"], where
        assert len(op["tags"]) == 1, where
        assert op["summary"] and op["description"], where
        for parameter in op.get("parameters", []):
            assert parameter.get("description"), f"{where} {parameter['name']}"


def test_every_error_response_is_a_problem_document() -> None:
    spec = json.loads(render())
    for path, method, op in _operations(spec):
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                assert list(response["content"]) == [PROBLEM], f"{method} {path} {status}"
                schema = response["content"][PROBLEM]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}
        if path != "/healthz" and not op.get("x-no-database"):
            assert "503" in op["responses"], f"{method} {path}"


def test_enumerations_and_models_are_named_components() -> None:
    schemas = json.loads(render())["components"]["schemas"]
    for name in ("CategoryKey", "PositionValue", "AssessedValue", "Problem", "CountryPositions"):
        assert name in schemas
    assert schemas["PositionValue"]["enum"] == ["yes", "no", "decreasing", "unknown"]
    for name, schema in schemas.items():
        for field, prop in schema.get("properties", {}).items():
            assert prop.get("description") or "$ref" in prop, f"{name}.{field}"


def test_info_carries_version_caveat_and_data_license() -> None:
    info = json.loads(render())["info"]
    major, minor, patch = info["version"].split(".")
    assert all(part.isdigit() for part in (major, minor, patch))
    assert "not been independently" in info["description"]
    assert info["license"]["identifier"] == "CC-BY-4.0"
