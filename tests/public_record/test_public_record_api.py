"""The public record, as users read it: the issue's "done when", over HTTP, both backends."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient

from app.settings import Settings
from app.vocabulary import KeyScope
from tests.factories import bearer, make_key

CHART = "us-europe-response-chart-2023"
NEWSWEEK = "newsweek-leaked-europe-chart-2023"
DELO = "delo-pentagon-slovenia-political-will-2023"
DELO_VALUES = {
    "SI": ("yes", "decreasing"),
    "BG": ("yes", "decreasing"),
    **dict.fromkeys(("BE", "DK", "LU", "LV", "PT", "RO", "SK"), ("decreasing", "yes")),
    **dict.fromkeys(("LT", "IS", "EE"), ("no", "yes")),
    "HR": ("unknown", "yes"),
}
CHART_ROWS = {
    "AL", "AT", "BE", "BG", "DK", "EE", "GR", "HR", "IS", "LT",
    "LU", "LV", "MT", "PT", "RO", "RS", "SI", "SK", "TR",
}  # fmt: skip


def _positions(client: TestClient, code: str, **params: str) -> Any:
    response = client.get(f"/countries/{code}/positions", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _cell(body: dict[str, Any], category: str) -> dict[str, Any]:
    cells: list[dict[str, Any]] = [p for p in body["positions"] if p["category"] == category]
    (cell,) = cells
    return cell


def test_slovenia_reads_yes_and_decreasing_through_the_whole_chain(client: TestClient) -> None:
    body = _positions(client, "SI")
    capability, will = _cell(body, "future_capability"), _cell(body, "future_will")
    assert (capability["value"], will["value"]) == ("yes", "decreasing")
    assert not will["disputed"] and will["coverage"] == "reported"
    (assessment,) = will["assessments"]
    chain = assessment["relay_chain"]
    assert [hop["id"] for hop in chain] == [CHART, NEWSWEEK, DELO]
    assert [hop["language"] for hop in chain] == ["en", "en", "sl"]
    assert chain[0]["url"] is None  # the leaked chart is never linked
    assert chain[1]["url"] is None and chain[1]["publisher"] == "Newsweek"  # address unknown
    assert chain[2]["url"].startswith("https://www.delo.si/")
    assert (chain[2]["published_on"], chain[2]["published_on_qualifier"]) == (
        "2023-04-16",
        "on_or_after",
    )
    assert assessment["evidence_language"] == "sl" and assessment["evidence_translated"] is True
    assert assessment["relayed_through"] == [NEWSWEEK]


def test_every_delo_value_is_served_and_croatias_capability_stays_unknown(
    client: TestClient,
) -> None:
    for code, expected in DELO_VALUES.items():
        body = _positions(client, code)
        got = (_cell(body, "future_capability")["value"], _cell(body, "future_will")["value"])
        assert got == expected, code
        assert _cell(body, "training")["value"] == "unknown"
        assert _cell(body, "training")["coverage"] == "covered_not_reported"
    assert _cell(_positions(client, "HR"), "future_capability")["coverage"] == (
        "covered_not_reported"
    )


def test_greece_has_four_unknowns_and_the_lumped_claim(client: TestClient) -> None:
    body = _positions(client, "GR")
    assert [p["value"] for p in body["positions"]] == ["unknown"] * 4
    assert not any(p["disputed"] for p in body["positions"])
    assert {p["coverage"] for p in body["positions"]} == {"covered_not_reported"}
    assert body["coverage"] == "covered_not_reported"
    claims = body["claims"]
    assert {c["source_id"] for c in claims} == {
        "inosmi-ten-states-losing-will-2023",
        "ukraina-ru-ten-eu-countries-2023",
        "pravda-ru-ten-eu-countries-2023",
    }
    assert all(c["kind"] == "lumped" and c["category"] is None for c in claims)
    assert all(c["language"] == "ru" and c["translated"] for c in claims)
    assert not any(p["claims"] for p in body["positions"])  # never a cell


def test_serbia_keeps_lethal_aid_yes_with_four_dated_denials_beside_it(client: TestClient) -> None:
    lethal = _cell(_positions(client, "RS"), "lethal_aid")
    assert (lethal["value"], lethal["disputed"]) == ("yes", False)
    denials = lethal["denials"]
    assert [(d["speaker"], d["stated_on"]) for d in denials] == [
        ("Miloš Vučević", "2023-04-12"),
        ("Ivica Dačić", "2023-04-12"),
        ("Embassy of the United States in Belgrade", "2023-04-12"),
        ("Aleksandar Vučić", "2023-04-13"),
    ]
    assert all(d["reported_in"] and d["summary"] for d in denials)
    # As of the day before the first denial, none had been made; the value is the same.
    before = _cell(_positions(client, "RS", as_of="2023-04-11"), "lethal_aid")
    assert (before["value"], before["denials"]) == ("yes", [])
    assert len(_cell(_positions(client, "RS", as_of="2023-04-12"), "lethal_aid")["denials"]) == 3


def test_the_polish_misreport_is_deprecated_in_serbias_training(client: TestClient) -> None:
    training = _cell(_positions(client, "RS"), "training")
    assert (training["value"], training["disputed"]) == ("no", False)
    ranks = {c["source_id"]: c["rank"] for c in training["claims"]}
    assert ranks["wp-pl-serbia-denies-arms-2023"] == "deprecated"
    assert ranks["tass-serbia-may-deliver-arms-2023"] == "normal"
    (misreport,) = [c for c in training["claims"] if c["rank"] == "deprecated"]
    assert misreport["value"] == "yes" and "misreport" in misreport["rank_reason"]
    assert misreport["language"] == "pl"


def test_stats_count_sixteen_governments_and_the_chart_names_nineteen_rows(
    client: TestClient,
) -> None:
    stats = client.get("/stats").json()
    assert stats["coverage"] == {
        "reported": 16,
        "covered_not_reported": 3,
        "not_known_covered": 39 - 19,
    }
    chart = client.get(f"/sources/{CHART}").json()
    assert set(chart["coverage"]["known"]) == CHART_ROWS
    assert chart["coverage"]["count"] == 38
    delo = client.get(f"/sources/{DELO}").json()
    assert (delo["language"], delo["relays"]) == ("sl", [NEWSWEEK])
    listed = client.get("/positions", params={"coverage": "covered_not_reported"}).json()
    assert {item["country"]["code"] for item in listed["items"]} == {"AL", "GR", "TR"}


def test_exports_carry_the_chain_and_coverage(client: TestClient) -> None:
    long = list(csv.DictReader(io.StringIO(client.get("/exports/assessments.csv").text)))
    slovenia = [r for r in long if r["country_code"] == "SI" and r["category"] == "future_will"]
    assert [r["relay_chain"] for r in slovenia] == [f"{CHART} > {NEWSWEEK} > {DELO}"]
    assert slovenia[0]["evidence_language"] == "sl"
    wide = {
        r["code"]: r for r in csv.DictReader(io.StringIO(client.get("/exports/positions.csv").text))
    }
    assert (wide["GR"]["coverage"], wide["DE"]["coverage"], wide["SI"]["coverage"]) == (
        "covered_not_reported",
        "not_known_covered",
        "reported",
    )
    assert wide["HR"]["coverage_future_capability"] == "covered_not_reported"


def test_claims_and_denials_are_lists_of_their_own(client: TestClient) -> None:
    relay = "inosmi-ten-states-losing-will-2023"
    (claim,) = client.get("/claims", params={"source": relay}).json()
    assert claim["kind"] == "lumped" and "GR" in claim["countries"]
    greece = client.get("/claims", params={"country": "grc", "kind": "lumped"}).json()
    assert len(greece) == 3
    deprecated = client.get("/claims", params={"rank": "deprecated"}).json()
    assert [c["id"] for c in deprecated] == ["wp-pl-rs-training"]
    denials = client.get("/denials", params={"country": "RS", "category": "lethal_aid"}).json()
    assert len(denials) == 4
    assert client.get("/denials", params={"country": "AT"}).json() == []
    missing = client.get("/claims", params={"country": "ZZ"})
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_a_release_made_after_seeding_freezes_the_public_record(
    client: TestClient, seeded_settings: Settings
) -> None:
    admin = make_key(seeded_settings, "alice-admin", KeyScope.admin)
    made = client.post("/releases", json={"version": "2026.2"}, headers=bearer(admin))
    assert made.status_code == 201, made.text
    assert (made.json()["counts"]["claims"], made.json()["counts"]["denials"]) == (19, 4)
    frozen = client.get("/releases/2026.2/countries/SI/positions").json()
    will = _cell(frozen, "future_will")
    assert will["value"] == "decreasing"
    assert [hop["id"] for hop in will["assessments"][0]["relay_chain"]] == [CHART, NEWSWEEK, DELO]
    assert (
        len(
            _cell(client.get("/releases/2026.2/countries/RS/positions").json(), "lethal_aid")[
                "denials"
            ]
        )
        == 4
    )
    assert len(client.get("/releases/2026.2/claims", params={"country": "GR"}).json()) == 3
    stats = client.get("/releases/2026.2/stats").json()
    assert stats["coverage"]["reported"] == 16
