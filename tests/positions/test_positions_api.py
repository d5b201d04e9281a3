from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import ARTICLE, CHART, GRAD
from tests.problems import assert_problem

CATEGORIES = ["training", "lethal_aid", "future_capability", "future_will"]


def _values(body: dict[str, Any]) -> dict[str, str]:
    return {p["category"]: p["value"] for p in body["positions"]}


def test_serbia_positions_match_the_chart(client: TestClient) -> None:
    response = client.get("/countries/RS/positions")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["country"] == {
        "code": "RS",
        "alpha3": "SRB",
        "numeric": "688",
        "name": "Serbia",
        "official_name": "Republic of Serbia",
    }
    assert body["as_of"] is None and body["source"] is None
    assert [p["category"] for p in body["positions"]] == CATEGORIES
    assert _values(body) == {
        "training": "no",
        "lethal_aid": "yes",
        "future_capability": "yes",
        "future_will": "yes",
    }
    assert all(p["disputed"] is False for p in body["positions"])
    assert all(p["as_of"] == "2023-03-02" for p in body["positions"])


def test_serbia_lethal_aid_cites_chart_and_grad_documents(client: TestClient) -> None:
    body = client.get("/countries/RS/positions").json()
    lethal = body["positions"][1]
    assert lethal["source_ids"] == [CHART, GRAD]
    chart, grad = lethal["assessments"]
    assert chart["source_id"] == CHART and chart["reported_via_id"] == ARTICLE
    assert chart["as_of"] == "2023-03-02"
    assert "committed" in chart["evidence"] and "already" in chart["evidence"]
    assert grad["source_id"] == GRAD and grad["reported_via_id"] == ARTICLE
    assert "Grad" in grad["evidence"]
    assert "November" in grad["note"] and "ambiguous" in grad["note"]


def test_positions_alpha3_lowercase_is_the_same_as_alpha2(client: TestClient) -> None:
    assert (
        client.get("/countries/srb/positions").json()
        == client.get("/countries/RS/positions").json()
    )


def test_austria_and_malta_are_no_in_all_four(client: TestClient) -> None:
    for code in ("AT", "MT"):
        body = client.get(f"/countries/{code}/positions").json()
        assert _values(body) == dict.fromkeys(CATEGORIES, "no"), code


def test_unreported_country_reads_unknown_not_no(client: TestClient) -> None:
    body = client.get("/countries/DE/positions").json()
    assert body["positions"] == [
        {
            "category": key,
            "value": "unknown",
            "disputed": False,
            "as_of": None,
            "source_ids": [],
            "sources": [],
            "assessments": [],
            # Germany is not known to be a row of the chart: the other kind of unknown.
            "coverage": "not_known_covered",
            "claims": [],
            "denials": [],
        }
        for key in CATEGORIES
    ]
    assert (body["coverage"], body["claims"]) == ("not_known_covered", [])


def test_positions_as_of_before_the_chart_keeps_only_earlier_assessments(
    client: TestClient,
) -> None:
    body = client.get("/countries/RS/positions", params={"as_of": "2023-01-01"}).json()
    assert body["as_of"] == "2023-01-01"
    assert _values(body) == {
        "training": "unknown",
        "lethal_aid": "yes",
        "future_capability": "unknown",
        "future_will": "unknown",
    }
    assert body["positions"][1]["source_ids"] == [GRAD]


def test_positions_restricted_to_one_source(client: TestClient) -> None:
    body = client.get("/countries/RS/positions", params={"source": GRAD}).json()
    assert body["source"] == GRAD
    assert _values(body)["lethal_aid"] == "yes"
    assert _values(body)["training"] == "unknown"


def test_positions_unknown_country_is_404(client: TestClient) -> None:
    body = assert_problem(client.get("/countries/ZZ/positions"), 404, "/problems/not-found")
    assert "ZZ" in body["detail"]


def test_positions_unknown_source_is_404(client: TestClient) -> None:
    assert_problem(client.get("/countries/RS/positions", params={"source": "no-such-source"}), 404)


def test_positions_malformed_inputs_are_422(client: TestClient) -> None:
    for path, params in [
        ("/countries/R1/positions", {}),
        ("/countries/SERBIA/positions", {}),
        ("/countries/RS/positions", {"as_of": "2023-02-30"}),
        ("/countries/RS/positions", {"as_of": "yesterday"}),
        ("/countries/RS/positions", {"source": "Robert'); DROP TABLE sources;--"}),
    ]:
        body = assert_problem(client.get(path, params=params), 422, "/problems/invalid-input")
        assert body["errors"], (path, params)


def test_assessments_list_newest_first(client: TestClient) -> None:
    response = client.get("/countries/rs/assessments")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 5
    dates = [a["as_of"] for a in body["items"]]
    assert dates == sorted(dates, reverse=True)
    assert dates[-1] == "2022-11-30"
    assert body["items"][-1]["source_id"] == GRAD


def test_assessments_of_unreported_country_is_empty_page(client: TestClient) -> None:
    assert client.get("/countries/FR/assessments").json() == {
        "items": [],
        "total": 0,
        "limit": 50,
        "offset": 0,
    }
