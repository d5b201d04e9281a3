"""Retracting a source (issue 13): `DELETE /sources/{id}` takes its assessments out of every
position, statistic and filter, keeps everything readable, and is logged."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from app.settings import Settings
from tests.curation.conftest import (
    DISSENT,
    STATEMENT,
    Keys,
    all_changes,
    if_match,
    record_statement,
)
from tests.factories import ARTICLE, CHART, GRAD, bearer, dump_database
from tests.problems import assert_problem

REASON = "Invented for the README example."


def _positions(client: TestClient, code: str = "RS", **params: str) -> dict[str, dict[str, Any]]:
    response = client.get(f"/countries/{code}/positions", params=params)
    assert response.status_code == 200, response.text
    return {p["category"]: p for p in response.json()["positions"]}


def _values(client: TestClient, code: str = "RS", **params: str) -> dict[str, str]:
    return {k: p["value"] for k, p in _positions(client, code, **params).items()}


def _stats(client: TestClient) -> dict[str, dict[str, int]]:
    return {c["category"]: c["counts"] for c in client.get("/stats").json()["categories"]}


def _codes(client: TestClient, **params: str) -> list[str]:
    body = client.get("/countries", params={"limit": "100", **params}).json()
    return [c["code"] for c in body["items"]]


def _retract(client: TestClient, key: str, source_id: str, **params: str) -> Any:
    etag = client.get(f"/sources/{source_id}").headers["ETag"]
    return client.delete(f"/sources/{source_id}", params=params, headers=if_match(key, etag))


def test_retracting_a_source_undoes_its_assessments_everywhere_but_keeps_them_readable(
    client: TestClient, keys: Keys
) -> None:
    values_before, stats_before = _values(client), _stats(client)
    no_lethal_before = _codes(client, category="lethal_aid", value="no")
    created, _ = record_statement(client, keys)
    assert _positions(client)["lethal_aid"]["value"] == "no"
    assert _positions(client)["lethal_aid"]["disputed"] is True
    assert "RS" in _codes(client, category="lethal_aid", value="no")

    response = _retract(client, keys.admin, STATEMENT, note=REASON)
    assert response.status_code == 204, response.text
    assert response.content == b""

    # Out of every position, statistic and filter ...
    assert _values(client) == values_before
    assert _positions(client)["lethal_aid"]["disputed"] is False
    assert _positions(client)["lethal_aid"]["source_ids"] == [CHART, GRAD]
    assert _stats(client) == stats_before
    assert _codes(client, category="lethal_aid", value="no") == no_lethal_before
    assert set(_values(client, source=STATEMENT).values()) == {"unknown"}
    chart = client.get("/positions", params={"limit": "100"}).json()["items"]
    serbia = next(item for item in chart if item["country"]["code"] == "RS")
    assert STATEMENT not in serbia["positions"][1]["source_ids"]
    # ... but the source, its assessment and their history stay readable, flagged.
    source = client.get(f"/sources/{STATEMENT}").json()
    assert source["retracted_at"] is not None and source["retraction_note"] == REASON
    listed = {s["id"]: s for s in client.get("/sources").json()}
    assert listed[STATEMENT]["retracted_at"] == source["retracted_at"]
    assert listed[CHART]["retracted_at"] is None
    kept = client.get(f"/assessments/{created['id']}").json()
    assert kept["retracted_at"] is None
    assert kept["source_retracted_at"] == source["retracted_at"]
    assert {k: v for k, v in kept.items() if k != "source_retracted_at"} == {
        k: v for k, v in created.items() if k != "source_retracted_at"
    }
    history = client.get(f"/assessments/{created['id']}/history").json()
    assert [h["action"] for h in history] == ["create"]
    items = client.get("/countries/RS/assessments").json()["items"]
    flags = {a["source_id"]: a["source_retracted_at"] for a in items}
    assert flags[STATEMENT] == source["retracted_at"] and flags[CHART] is None
    text = client.get("/countries/RS/assessments", params={"format": "csv"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    csv_flags = {r["source_id"]: r["source_retracted_at"] for r in rows}
    assert csv_flags[STATEMENT] == source["retracted_at"] and csv_flags[CHART] == ""
    ndjson = client.get("/countries/RS/assessments", params={"format": "ndjson"}).text
    nd_flags = {
        a["source_id"]: a["source_retracted_at"] for a in map(json.loads, ndjson.splitlines())
    }
    assert nd_flags == flags
    # Logged, with what it was before.
    last = all_changes(client)[-1]
    assert (last["action"], last["entity"], last["entity_id"]) == ("retract", "source", STATEMENT)
    assert last["actor"] == "alice-admin"
    assert last["before"]["retracted_at"] is None
    logged_at = datetime.fromisoformat(last["after"]["retracted_at"])
    assert logged_at == datetime.fromisoformat(source["retracted_at"])
    assert last["after"]["retraction_note"] == REASON


def test_retracting_a_source_changes_cached_answers(client: TestClient, keys: Keys) -> None:
    record_statement(client, keys)
    cached = client.get("/countries/RS/positions")
    assert client.get("/countries/RS/positions").json() == cached.json()  # held in memory
    assert _retract(client, keys.admin, STATEMENT).status_code == 204
    fresh = client.get("/countries/RS/positions", headers={"If-None-Match": cached.headers["ETag"]})
    assert fresh.status_code == 200
    assert fresh.json()["positions"][1]["value"] == "yes"


def test_retracting_the_chart_leaves_only_the_grad_documents(
    client: TestClient, keys: Keys
) -> None:
    assert _retract(client, keys.admin, CHART).status_code == 204
    assert _values(client) == {
        "training": "unknown",
        "lethal_aid": "yes",
        "future_capability": "unknown",
        "future_will": "unknown",
    }
    assert _positions(client)["lethal_aid"]["source_ids"] == [GRAD]
    assert set(_values(client, "AT").values()) == {"unknown"}
    assert _codes(client, category="training", value="no") == []
    assert client.get(f"/sources/{ARTICLE}").json()["retracted_at"] is None


def test_retract_source_needs_if_match(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    before = dump_database(seeded_settings)
    path = f"/sources/{CHART}"
    problem = assert_problem(
        client.delete(path, headers=bearer(keys.admin)), 428, "/problems/precondition-required"
    )
    assert '"source-us-europe-response-chart-2023-v1"' in problem["detail"]
    stale = client.delete(path, headers=if_match(keys.admin, f'"source-{CHART}-v0"'))
    assert_problem(stale, 412, "/problems/precondition-failed")
    assert dump_database(seeded_settings) == before


def test_retract_source_needs_an_admin_key(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    before = dump_database(seeded_settings)
    etag = client.get(f"/sources/{CHART}").headers["ETag"]
    assert_problem(client.delete(f"/sources/{CHART}"), 401, "/problems/unauthorized")
    writer = client.delete(f"/sources/{CHART}", headers=if_match(keys.writer, etag))
    assert_problem(writer, 403, "/problems/forbidden")
    assert dump_database(seeded_settings) == before


def test_retract_unknown_source_is_404(client: TestClient, keys: Keys) -> None:
    response = client.delete("/sources/no-such-source", headers=if_match(keys.admin, "*"))
    assert_problem(response, 404, "/problems/not-found")


def test_retracting_a_source_twice_is_409(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    assert _retract(client, keys.admin, GRAD, note="First.").status_code == 204
    before = dump_database(seeded_settings)
    problem = assert_problem(_retract(client, keys.admin, GRAD), 409, "/problems/conflict")
    assert problem["detail"] == f"Source {GRAD!r} is already retracted."
    assert dump_database(seeded_settings) == before
    assert client.get(f"/sources/{GRAD}").json()["retraction_note"] == "First."


def test_retracted_source_cannot_be_cited_nor_changed(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    created, _ = record_statement(client, keys)
    assert _retract(client, keys.admin, STATEMENT).status_code == 204
    before = dump_database(seeded_settings)

    cited = {**DISSENT, "as_of": "2023-04-21"}
    problem = assert_problem(
        client.post("/assessments", json=cited, headers=bearer(keys.writer)), 422
    )
    assert problem["errors"] == [
        {
            "loc": ["body", "source"],
            "msg": f"source {STATEMENT!r} is retracted",
            "type": "reference",
        }
    ]
    relayed = {**cited, "source": CHART, "reported_via": STATEMENT}
    problem = assert_problem(
        client.post("/assessments", json=relayed, headers=bearer(keys.writer)), 422
    )
    assert [e["loc"] for e in problem["errors"]] == [["body", "reported_via"]]
    patched = client.patch(
        f"/sources/{STATEMENT}", json={"title": "Renamed"}, headers=if_match(keys.admin, "*")
    )
    assert_problem(patched, 409, "/problems/conflict")
    edit = client.patch(
        f"/assessments/{created['id']}", json={"value": "yes"}, headers=if_match(keys.writer, "*")
    )
    assert_problem(edit, 422, "/problems/invalid-input")
    assert dump_database(seeded_settings) == before
