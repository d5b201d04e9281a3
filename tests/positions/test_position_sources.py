"""Each position names its sources with their kind and verification status (issue 13), in
every format, and the memoised snapshots follow a source's edit."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from app.settings import Settings
from app.vocabulary import KeyScope
from tests.factories import CHART, GRAD, bearer, make_key

CHART_SOURCE = {"id": CHART, "kind": "leaked_document", "verification_status": "unverified"}
GRAD_SOURCE = {"id": GRAD, "kind": "online_posting", "verification_status": "unverified"}


def _by_category(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["category"]: p for p in body["positions"]}


def _chart_rows(client: TestClient, **params: str) -> dict[str, dict[str, Any]]:
    body = client.get("/positions", params={"limit": "100", **params}).json()
    return {item["country"]["code"]: item for item in body["items"]}


def test_serbia_positions_name_each_source_with_kind_and_status(client: TestClient) -> None:
    positions = _by_category(client.get("/countries/RS/positions").json())
    assert positions["lethal_aid"]["sources"] == [CHART_SOURCE, GRAD_SOURCE]
    for category in ("training", "future_capability", "future_will"):
        assert positions[category]["sources"] == [CHART_SOURCE]
    for position in positions.values():
        assert [s["id"] for s in position["sources"]] == position["source_ids"]


def test_unreported_country_has_no_sources(client: TestClient) -> None:
    for position in client.get("/countries/DE/positions").json()["positions"]:
        assert position["value"] == "unknown"
        assert position["sources"] == [] and position["source_ids"] == []


def test_chart_json_and_ndjson_carry_the_same_sources(client: TestClient) -> None:
    single = client.get("/countries/RS/positions").json()["positions"]
    assert _chart_rows(client)["RS"]["positions"] == single
    lines = client.get("/positions", headers={"Accept": "application/x-ndjson"}).text
    rows = {row["country"]["code"]: row for row in map(json.loads, lines.splitlines())}
    assert rows["RS"]["positions"] == single
    assert _by_category(rows["AT"])["training"]["sources"] == [CHART_SOURCE]


def test_patching_a_source_status_refreshes_memoised_positions(
    client: TestClient, seeded_settings: Settings
) -> None:
    """Regression: positions are memoised per dataset revision (app.assessments.snapshots)
    and answered from memory by the fast lane; a source's status is part of them, so
    `PATCH /sources` must start a new revision, or a dashboard keeps flagging the old one."""
    key = make_key(seeded_settings, "alice-admin", KeyScope.admin)
    for _ in range(2):  # derive, then answer from the held snapshot
        assert client.get("/countries/RS/positions").status_code == 200
        assert client.get("/positions").status_code == 200
    old_etag = client.get("/countries/RS/positions").headers["ETag"]
    source = client.get(f"/sources/{CHART}")

    patched = client.patch(
        f"/sources/{CHART}",
        json={"verification_status": "disputed"},
        headers=bearer(key, **{"If-Match": source.headers["ETag"]}),
    )
    assert patched.status_code == 200, patched.text

    disputed = {**CHART_SOURCE, "verification_status": "disputed"}
    fresh = client.get("/countries/RS/positions", headers={"If-None-Match": old_etag})
    assert fresh.status_code == 200
    assert _by_category(fresh.json())["lethal_aid"]["sources"] == [disputed, GRAD_SOURCE]
    assert _by_category(_chart_rows(client)["MT"])["future_will"]["sources"] == [disputed]
    lines = client.get("/positions", params={"format": "ndjson"}).text
    rows = {row["country"]["code"]: row for row in map(json.loads, lines.splitlines())}
    assert _by_category(rows["AT"])["training"]["sources"] == [disputed]
