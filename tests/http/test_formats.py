"""Content negotiation (app/http/formats.py): `format` and Accept choose JSON, CSV or
NDJSON; anything else is a 406."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from tests.problems import assert_problem

CSV_TYPE = "text/csv; charset=utf-8; header=present"
NOT_ACCEPTABLE = "/problems/not-acceptable"


def _without_accept(client: TestClient, url: str) -> httpx.Response:
    request = client.build_request("GET", url)
    del request.headers["accept"]
    assert "accept" not in request.headers
    response: httpx.Response = client.send(request)
    return response


def test_unsupported_format_parameter_is_406(client: TestClient) -> None:
    for path in ("/positions", "/countries", "/countries/RS/assessments"):
        response = client.get(path, params={"format": "xml"})
        body = assert_problem(response, 406, NOT_ACCEPTABLE)
        assert "xml" in body["detail"], path


def test_ndjson_format_on_countries_is_406(client: TestClient) -> None:
    body = assert_problem(client.get("/countries", params={"format": "ndjson"}), 406)
    assert body["type"] == NOT_ACCEPTABLE
    response = client.get("/countries", headers={"Accept": "application/x-ndjson"})
    assert_problem(response, 406, NOT_ACCEPTABLE)


def test_accept_xml_is_406(client: TestClient) -> None:
    for path in ("/positions", "/countries", "/countries/RS/assessments"):
        response = client.get(path, headers={"Accept": "application/xml"})
        assert_problem(response, 406, NOT_ACCEPTABLE)


def test_accept_any_or_missing_gives_json(client: TestClient) -> None:
    for path in ("/positions", "/countries", "/countries/RS/assessments"):
        any_type = client.get(path, headers={"Accept": "*/*"})
        missing = _without_accept(client, path)
        for response in (any_type, missing):
            assert response.status_code == 200, path
            assert response.headers["content-type"] == "application/json", path
        assert any_type.json() == missing.json()


def test_accept_quality_order_is_respected(client: TestClient) -> None:
    prefers_json = client.get("/positions", headers={"Accept": "text/csv;q=0.5, application/json"})
    assert prefers_json.headers["content-type"] == "application/json"
    prefers_csv = client.get("/positions", headers={"Accept": "application/json;q=0.5, text/csv"})
    assert prefers_csv.headers["content-type"] == CSV_TYPE
    refuses_csv = client.get("/countries", headers={"Accept": "text/csv;q=0, */*;q=0.1"})
    assert refuses_csv.headers["content-type"] == "application/json"


def test_format_parameter_overrides_accept(client: TestClient) -> None:
    response = client.get(
        "/positions", params={"format": "csv"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == CSV_TYPE
