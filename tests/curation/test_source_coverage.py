"""A source's coverage (issue 13): which governments it assessed, as far as known. The chart
is reported to assess 38; the reporting names three; the catalogue lists 39."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from tests.curation.conftest import NEW_SOURCE, STATEMENT, Keys, if_match
from tests.factories import ARTICLE, CHART, GRAD, bearer, dump_database
from tests.problems import assert_problem

# The 19 rows of the chart that reporting names (Delo: 38 rows, Albania to Turkey).
CHART_ROWS = ["AL", "AT", "BE", "BG", "DK", "EE", "GR", "HR", "IS", "LT"]
CHART_ROWS += ["LU", "LV", "MT", "PT", "RO", "RS", "SI", "SK", "TR"]
CHART_COVERAGE = {"count": 38, "known": CHART_ROWS, "complete_list_public": False}


def test_chart_coverage_is_38_with_nineteen_known_and_no_public_list(client: TestClient) -> None:
    chart = client.get(f"/sources/{CHART}").json()
    assert chart["coverage"] == CHART_COVERAGE
    assert client.get("/stats").json()["countries"] == 39
    assert chart["publisher"].startswith("Attributed to the US government")
    for other in (ARTICLE, GRAD):
        assert client.get(f"/sources/{other}").json()["coverage"] is None


def test_create_and_patch_coverage(client: TestClient, keys: Keys) -> None:
    coverage = {"count": 5, "known": ["RS"], "complete_list_public": True}
    created = client.post(
        "/sources", json={**NEW_SOURCE, "coverage": coverage}, headers=bearer(keys.admin)
    )
    assert created.status_code == 201, created.text
    assert created.json()["coverage"] == coverage
    path = f"/sources/{STATEMENT}"

    unknown_count = {"known": ["RS", "HU"], "complete_list_public": False}
    patched = client.patch(
        path,
        json={"coverage": unknown_count},
        headers=if_match(keys.admin, created.headers["ETag"]),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["coverage"] == {"count": None, **unknown_count}
    cleared = client.patch(
        path, json={"coverage": None}, headers=if_match(keys.admin, patched.headers["ETag"])
    )
    assert cleared.status_code == 200, cleared.text
    assert client.get(path).json()["coverage"] is None


@pytest.mark.parametrize(
    ("coverage", "message"),
    [
        (
            {"count": 38, "known": ["RS", "ZZ"], "complete_list_public": False},
            "unknown country code 'ZZ' in coverage.known",
        ),
        (
            {"count": 1, "known": ["RS", "AT"], "complete_list_public": False},
            "`known` lists 2 countries, more than `count`",
        ),
        (
            {"known": ["RS", "RS"], "complete_list_public": False},
            "`known` lists a country more than once",
        ),
        ({"count": 38, "known": ["rs"], "complete_list_public": False}, "should match pattern"),
        ({"count": 38, "known": []}, "Field required"),
    ],
)
def test_invalid_coverage_is_422_and_writes_nothing(
    client: TestClient,
    keys: Keys,
    seeded_settings: Settings,
    coverage: dict[str, Any],
    message: str,
) -> None:
    before = dump_database(seeded_settings)
    created = client.post(
        "/sources", json={**NEW_SOURCE, "coverage": coverage}, headers=bearer(keys.admin)
    )
    problem = assert_problem(created, 422, "/problems/invalid-input")
    assert any(message in e["msg"] for e in problem["errors"]), problem["errors"]
    assert all(e["loc"][:2] == ["body", "coverage"] for e in problem["errors"])
    patched = client.patch(
        f"/sources/{CHART}", json={"coverage": coverage}, headers=if_match(keys.admin, "*")
    )
    assert_problem(patched, 422, "/problems/invalid-input")
    assert dump_database(seeded_settings) == before
