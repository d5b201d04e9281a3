"""gzip (app/middleware/stack.py): large responses compressed when the client accepts it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.http.test_formats import CSV_TYPE


def test_gzip_when_accepted_on_a_large_response(client: TestClient) -> None:
    response = client.get("/positions", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["vary"]
    assert int(response.headers["content-length"]) < len(response.content)
    assert response.json()["total"] == 39


def test_gzip_of_a_csv_export(client: TestClient) -> None:
    response = client.get("/positions?format=csv", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-type"] == CSV_TYPE
    assert "\r\nRS,SRB,Serbia,no,yes,yes,yes,false,false,false,false," in response.text


def test_no_gzip_unless_accepted(client: TestClient) -> None:
    response = client.get("/positions", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == str(len(response.content))
    assert response.json()["total"] == 39


def test_tiny_responses_are_not_compressed(client: TestClient) -> None:
    response = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert response.content == b'{"status":"ok"}'
