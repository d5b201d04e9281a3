"""Authenticated writes: the issue's scenario end to end, validation shared with the seed
loader, body limits, changes and retractions, and all-or-nothing on every refusal."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.main import create_app
from app.seeding.reading import SeedValidationError, read_seeds
from app.settings import Settings
from tests.curation.conftest import DISSENT, NEW_SOURCE, STATEMENT, Keys, if_match, record_statement
from tests.factories import ARTICLE, CHART, GRAD, SEEDS, bearer, dump_database
from tests.problems import assert_problem

CATEGORIES = ["training", "lethal_aid", "future_capability", "future_will"]
STRONG_ETAG = re.compile(r'"[^"]+"')  # quoted, no W/: what If-Match compares strongly


def stats_counts(client: TestClient) -> dict[str, dict[str, int]]:
    body = client.get("/stats").json()
    return {c["category"]: c["counts"] for c in body["categories"]}


def rs_positions(client: TestClient, **params: str) -> dict[str, dict[str, Any]]:
    response = client.get("/countries/RS/positions", params=params)
    assert response.status_code == 200, response.text
    return {p["category"]: p for p in response.json()["positions"]}


def rs_assessment_ids(client: TestClient) -> list[int]:
    body = client.get("/countries/RS/assessments").json()
    return [a["id"] for a in body["items"]]


# --- the "done when" ---------------------------------------------------------------


def test_dissenting_statement_end_to_end_updates_every_view(client: TestClient, keys: Keys) -> None:
    cached = client.get("/countries/RS/positions")
    old_etag = cached.headers["ETag"]
    assert (
        client.get("/countries/RS/positions", headers={"If-None-Match": old_etag}).status_code
        == 304
    )
    stats_before = stats_counts(client)

    source = client.post("/sources", json=NEW_SOURCE, headers=bearer(keys.admin))
    assert source.status_code == 201, source.text
    assert source.headers["content-type"] == "application/json"
    assert source.headers["Location"] == f"/sources/{STATEMENT}"
    assert STRONG_ETAG.fullmatch(source.headers["ETag"])
    assert source.json() == {
        **NEW_SOURCE,
        "classification": None,
        "verification_note": None,
        "coverage": None,
        "retracted_at": None,
        "retraction_note": None,
        "published_on_qualifier": None,
        "language": None,
        "relays": None,
    }
    assert client.get(source.headers["Location"]).json() == source.json()

    created = client.post("/assessments", json=DISSENT, headers=bearer(keys.admin))
    assert created.status_code == 201, created.text
    new_id = created.json()["id"]
    assert created.headers["Location"] == f"/assessments/{new_id}"
    assert STRONG_ETAG.fullmatch(created.headers["ETag"])
    assert created.json() == {
        "id": new_id,
        "country_code": "RS",
        "category": "lethal_aid",
        "value": "no",
        "source_id": STATEMENT,
        "reported_via_id": None,
        "relayed_through": [],
        # First-hand: the chain is the statement alone.
        "relay_chain": [
            {
                "id": STATEMENT,
                "title": NEW_SOURCE["title"],
                "kind": "official_statement",
                "publisher": NEW_SOURCE["publisher"],
                "url": NEW_SOURCE["url"],
                "language": None,
                "published_on": "2023-04-20",
                "published_on_qualifier": "exact",
                "verification_status": "not_applicable",
            }
        ],
        "as_of": "2023-04-20",
        "evidence": DISSENT["evidence"],
        "evidence_language": None,
        "evidence_translated": False,
        "note": None,
        "retracted_at": None,
        "retraction_note": None,
        "source_retracted_at": None,
    }
    assert client.get(created.headers["Location"]).json() == created.json()

    lethal = rs_positions(client)["lethal_aid"]
    assert (lethal["value"], lethal["disputed"], lethal["as_of"]) == ("no", True, "2023-04-20")
    assert lethal["source_ids"] == [STATEMENT, CHART, GRAD]
    assert lethal["assessments"][0] == created.json()
    assert {k: p["value"] for k, p in rs_positions(client).items()} == {
        "training": "no",
        "lethal_aid": "no",
        "future_capability": "yes",
        "future_will": "yes",
    }

    chart_only = rs_positions(client, source=CHART)["lethal_aid"]
    assert (chart_only["value"], chart_only["disputed"]) == ("yes", False)
    assert chart_only["source_ids"] == [CHART]

    page = client.get("/positions", params={"limit": 100}).json()
    serbia = next(item for item in page["items"] if item["country"]["code"] == "RS")
    assert serbia["positions"][1]["value"] == "no" and serbia["positions"][1]["disputed"]
    rows = client.get("/positions", params={"format": "csv"}).text.splitlines()
    lethal_sources = " ".join(sorted([STATEMENT, CHART, GRAD]))
    assert (
        f"RS,SRB,Serbia,no,no,yes,yes,false,true,false,false,{CHART},{lethal_sources},{CHART},"
        f"{CHART},true,true,true,true,"  # the statement is not_applicable; the chart unverified
        "reported,reported,reported,reported,reported"
    ) in rows

    stats_after = stats_counts(client)
    assert stats_before["lethal_aid"] == {"yes": 1, "no": 2, "decreasing": 0, "unknown": 36}
    assert stats_after["lethal_aid"] == {"yes": 0, "no": 3, "decreasing": 0, "unknown": 36}
    assert {k: v for k, v in stats_after.items() if k != "lethal_aid"} == {
        k: v for k, v in stats_before.items() if k != "lethal_aid"
    }

    revalidated = client.get("/countries/RS/positions", headers={"If-None-Match": old_etag})
    assert revalidated.status_code == 200
    assert revalidated.headers["ETag"] != old_etag
    assert revalidated.json()["positions"][1]["value"] == "no"


def test_write_is_committed_before_the_response_is_sent(
    seeded_settings: Settings, keys: Keys
) -> None:
    """A 2xx must mean "stored": a client reading right after its 201 must see the write."""
    app = create_app(seeded_settings)
    events: list[str] = []

    def committed(_session: Session) -> None:
        events.append("commit")

    event.listen(app.state.sessionmaker, "after_commit", committed)

    def recording(inner: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    events.append(f"response {message['status']}")
                await send(message)

            await inner(scope, receive, sending)

        return wrapped

    with TestClient(recording(app)) as client:
        events.clear()
        response = client.post(
            "/assessments", json={**DISSENT, "source": CHART}, headers=bearer(keys.writer)
        )
    assert response.status_code == 201, response.text
    assert events == ["commit", "response 201"]


# --- validation ----------------------------------------------------------------------------

# (case id, changes to DISSENT, the field `errors` must name, error type)
BAD_ASSESSMENTS: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown-country", {"country": "ZZ"}, "country", "reference"),
    ("alpha3-country", {"country": "SRB"}, "country", "string_pattern_mismatch"),
    ("unknown-source", {"source": "no-such-source"}, "source", "reference"),
    ("unknown-reported-via", {"reported_via": "no-such-report"}, "reported_via", "reference"),
    ("bad-category", {"category": "air_defence"}, "category", "enum"),
    ("value-unknown", {"value": "unknown"}, "value", "value_error"),
    ("value-maybe", {"value": "maybe"}, "value", "enum"),
    ("impossible-date", {"as_of": "2023-02-30"}, "as_of", "date_from_datetime_parsing"),
    ("timestamp", {"as_of": "2023-04-20T00:00:00"}, "as_of", "value_error"),
    ("day-first-date", {"as_of": "20/04/2023"}, "as_of", "value_error"),
    ("over-long-evidence", {"evidence": "x" * 4001}, "evidence", "string_too_long"),
    ("blank-evidence", {"evidence": "   "}, "evidence", "string_too_short"),
    ("over-long-note", {"note": "x" * 4001}, "note", "string_too_long"),
    ("extra-field", {"confidence": "high"}, "confidence", "extra_forbidden"),
    ("null-evidence", {"evidence": None}, "evidence", "string_type"),
]


@pytest.mark.parametrize(
    ("changes", "field", "type_"),
    [case[1:] for case in BAD_ASSESSMENTS],
    ids=[case[0] for case in BAD_ASSESSMENTS],
)
def test_assessment_invalid_field_is_422_naming_it_and_writes_nothing(
    client: TestClient,
    keys: Keys,
    seeded_settings: Settings,
    changes: dict[str, Any],
    field: str,
    type_: str,
) -> None:
    before = dump_database(seeded_settings)
    body = {**DISSENT, "source": CHART, **changes}
    response = client.post("/assessments", json=body, headers=bearer(keys.writer))
    problem = assert_problem(response, 422, "/problems/invalid-input")
    assert [(e["loc"], e["type"]) for e in problem["errors"]] == [(["body", field], type_)]
    assert f"body.{field}" in problem["detail"]
    assert dump_database(seeded_settings) == before


def test_assessment_every_invalid_field_is_reported_at_once(client: TestClient, keys: Keys) -> None:
    body = {**DISSENT, "category": "air_defence", "value": "unknown", "as_of": "2023-02-30"}
    response = client.post("/assessments", json=body, headers=bearer(keys.writer))
    problem = assert_problem(response, 422)
    assert [e["loc"] for e in problem["errors"]] == [
        ["body", "category"],
        ["body", "value"],
        ["body", "as_of"],
    ]
    # References are checked once the fields are well formed: all of them, together.
    body = {**DISSENT, "country": "ZZ", "source": "nope", "reported_via": "nope-too"}
    problem = assert_problem(
        client.post("/assessments", json=body, headers=bearer(keys.writer)), 422
    )
    assert problem["errors"] == [
        {"loc": ["body", "country"], "msg": "unknown country code 'ZZ'", "type": "reference"},
        {"loc": ["body", "source"], "msg": "missing source 'nope'", "type": "reference"},
        {"loc": ["body", "reported_via"], "msg": "missing source 'nope-too'", "type": "reference"},
    ]


SEED_ROW_CASES = [case for case in BAD_ASSESSMENTS if case[0] != "extra-field"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [(case[1], case[2]) for case in SEED_ROW_CASES],
    ids=[case[0] for case in SEED_ROW_CASES],
)
def test_seed_loader_refuses_what_the_api_refuses(
    tmp_path: Path, changes: dict[str, Any], field: str
) -> None:
    """The same row appended to assessments.csv fails on the same field."""
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    row = {
        **DISSENT,
        "source": CHART,
        "reported_via": "",
        "relayed_through": "",
        "evidence_language": "",
        "note": "",
        **changes,
    }
    buffer = io.StringIO()
    columns = ["country", "category", "value", "source", "reported_via", "relayed_through"]
    columns += ["as_of", "evidence", "evidence_language", "note"]
    csv.writer(buffer, lineterminator="\n").writerow([row[c] or "" for c in columns])
    with (folder / "assessments.csv").open("a", encoding="utf-8") as handle:
        handle.write(buffer.getvalue())
    with pytest.raises(SeedValidationError) as raised:
        read_seeds(folder)
    assert [e.field for e in raised.value.errors] == [field], raised.value.errors


def test_assessment_lowercase_country_code_is_accepted(client: TestClient, keys: Keys) -> None:
    body = {**DISSENT, "source": CHART, "country": "rs"}
    response = client.post("/assessments", json=body, headers=bearer(keys.writer))
    assert response.status_code == 201, response.text
    assert response.json()["country_code"] == "RS"
    assert response.json()["id"] in rs_assessment_ids(client)


def test_assessment_duplicate_is_409_naming_the_existing_one(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    created, _ = record_statement(client, keys)
    before = dump_database(seeded_settings)
    for body in (
        DISSENT,
        {**DISSENT, "value": "yes", "evidence": "Different words.", "country": "rs"},
    ):
        response = client.post("/assessments", json=body, headers=bearer(keys.writer))
        problem = assert_problem(response, 409, "/problems/conflict")
        assert problem["existing_id"] == created["id"]
        assert f"Assessment {created['id']} already records" in problem["detail"]
    # A seed row is just as taken.
    chart_training = rs_positions(client)["training"]["assessments"][0]
    seed_row = {
        "country": "RS",
        "category": "training",
        "value": "yes",
        "source": CHART,
        "as_of": "2023-03-02",
        "evidence": "Again.",
    }
    problem = assert_problem(
        client.post("/assessments", json=seed_row, headers=bearer(keys.writer)), 409
    )
    assert problem["existing_id"] == chart_training["id"]
    assert dump_database(seeded_settings) == before


def test_source_invalid_or_duplicate_is_refused_and_writes_nothing(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    before = dump_database(seeded_settings)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"id": "Not A Slug"}, "id"),
        ({"kind": "rumour"}, "kind"),
        ({"url": "ftp://example.org/x"}, "url"),
        ({"published_on": "2023-04-31"}, "published_on"),
        ({"title": ""}, "title"),
        ({"verification_status": None}, "verification_status"),
        ({"secret": True}, "secret"),
    ]
    for changes, field in cases:
        response = client.post(
            "/sources", json={**NEW_SOURCE, **changes}, headers=bearer(keys.admin)
        )
        problem = assert_problem(response, 422, "/problems/invalid-input")
        assert [e["loc"] for e in problem["errors"]] == [["body", field]], changes
    duplicate = {**NEW_SOURCE, "id": CHART}
    problem = assert_problem(
        client.post("/sources", json=duplicate, headers=bearer(keys.admin)),
        409,
        "/problems/conflict",
    )
    assert CHART in problem["detail"]
    assert dump_database(seeded_settings) == before


# --- malformed and oversized bodies --------------------------------------------------------


def test_malformed_json_is_422(client: TestClient, keys: Keys, seeded_settings: Settings) -> None:
    before = dump_database(seeded_settings)
    for raw in (b'{"country": "RS",', b"", b"[]", b'"RS"', b"null"):
        response = client.post(
            "/assessments",
            content=raw,
            headers=bearer(keys.writer, **{"Content-Type": "application/json"}),
        )
        problem = assert_problem(response, 422, "/problems/invalid-input")
        assert problem["errors"] and problem["errors"][0]["loc"][0] == "body", raw
    assert dump_database(seeded_settings) == before


def test_text_plain_body_is_422(client: TestClient, keys: Keys, seeded_settings: Settings) -> None:
    """A JSON document sent as text/plain is not read as JSON: 422 (not 415) on `body`."""
    before = dump_database(seeded_settings)
    response = client.post(
        "/assessments",
        content=_json_bytes(DISSENT),
        headers=bearer(keys.writer, **{"Content-Type": "text/plain"}),
    )
    problem = assert_problem(response, 422, "/problems/invalid-input")
    assert problem["errors"] == [
        {
            "loc": ["body"],
            "msg": "Input should be a valid dictionary or object to extract fields from",
            "type": "model_attributes_type",
        }
    ]
    assert dump_database(seeded_settings) == before


@pytest.fixture
def small_body_client(seeded_settings: Settings) -> Iterator[TestClient]:
    limited = seeded_settings.model_copy(update={"max_body_bytes": 1000})
    with TestClient(create_app(limited)) as test_client:
        yield test_client


def _chunks(data: bytes, size: int = 100) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _json_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def test_body_within_max_body_bytes_is_accepted_declared_or_chunked(
    small_body_client: TestClient, keys: Keys
) -> None:
    headers = bearer(keys.writer, **{"Content-Type": "application/json"})
    declared = {**DISSENT, "source": CHART}
    assert len(_json_bytes(declared)) < 1000
    response = small_body_client.post(
        "/assessments", content=_json_bytes(declared), headers=headers
    )
    assert response.status_code == 201, response.text
    chunked = {**declared, "source": GRAD}
    response = small_body_client.post(
        "/assessments", content=_chunks(_json_bytes(chunked)), headers=headers
    )
    assert response.status_code == 201, response.text


def test_body_over_max_body_bytes_with_content_length_is_413(
    small_body_client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    before = dump_database(seeded_settings)
    body = _json_bytes({**DISSENT, "source": CHART, "evidence": "x" * 1200})
    response = small_body_client.post(
        "/assessments",
        content=body,
        headers=bearer(keys.writer, **{"Content-Type": "application/json"}),
    )
    assert response.request.headers["Content-Length"] == str(len(body))
    problem = assert_problem(response, 413, "/problems/payload-too-large")
    assert problem["detail"] == "The request body exceeds 1000 bytes."
    assert dump_database(seeded_settings) == before


def test_body_over_max_body_bytes_chunked_is_413(
    small_body_client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    before = dump_database(seeded_settings)
    body = _json_bytes({**DISSENT, "source": CHART, "evidence": "x" * 1200})
    response = small_body_client.post(
        "/assessments",
        content=_chunks(body),
        headers=bearer(keys.writer, **{"Content-Type": "application/json"}),
    )
    assert "Content-Length" not in response.request.headers
    problem = assert_problem(response, 413, "/problems/payload-too-large")
    assert problem["detail"] == "The request body exceeds 1000 bytes."
    assert dump_database(seeded_settings) == before


# --- PATCH ---------------------------------------------------------------------------------


def test_patch_assessment_with_current_if_match_changes_it(client: TestClient, keys: Keys) -> None:
    created, etag = record_statement(client, keys)
    path = f"/assessments/{created['id']}"
    evidence = "The presidency repeats that no Serbian arms go to Ukraine."
    response = client.patch(path, json={"evidence": evidence}, headers=if_match(keys.writer, etag))
    assert response.status_code == 200, response.text
    assert response.json() == {**created, "evidence": evidence}
    new_etag = response.headers["ETag"]
    assert new_etag != etag and STRONG_ETAG.fullmatch(new_etag)
    assert rs_positions(client)["lethal_aid"]["assessments"][0]["evidence"] == evidence

    # The value too: with the statement saying yes, nobody disagrees any more.
    response = client.patch(
        path, json={"value": "yes", "note": "Reversed."}, headers=if_match(keys.writer, new_etag)
    )
    assert response.status_code == 200, response.text
    assert (response.json()["value"], response.json()["note"]) == ("yes", "Reversed.")
    lethal = rs_positions(client)["lethal_aid"]
    assert (lethal["value"], lethal["disputed"]) == ("yes", False)
    assert stats_counts(client)["lethal_aid"]["yes"] == 1

    # null clears an optional field; absent fields stay.
    response = client.patch(
        path, json={"note": None}, headers=if_match(keys.writer, response.headers["ETag"])
    )
    assert response.status_code == 200, response.text
    assert response.json() == {**created, "evidence": evidence, "value": "yes", "note": None}
    assert client.get(path).json() == response.json()


def test_patch_assessment_validates_the_merged_result_and_writes_nothing(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    created, etag = record_statement(client, keys)
    path = f"/assessments/{created['id']}"
    before = dump_database(seeded_settings)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"value": "unknown"}, "value"),
        ({"evidence": None}, "evidence"),
        ({"evidence": "x" * 4001}, "evidence"),
        ({"as_of": "2023-02-30"}, "as_of"),
        ({"as_of": "2023-04-20T10:00:00Z"}, "as_of"),
        ({"reported_via": "no-such-report"}, "reported_via"),
        ({"country": "AT"}, "country"),
        ({"source": CHART}, "source"),
    ]
    for patch, field in cases:
        response = client.patch(path, json=patch, headers=if_match(keys.writer, etag))
        problem = assert_problem(response, 422, "/problems/invalid-input")
        assert [e["loc"] for e in problem["errors"]] == [["body", field]], patch
    assert dump_database(seeded_settings) == before


def test_patch_assessment_onto_an_existing_natural_key_is_409(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    grad = rs_positions(client)["lethal_aid"]["assessments"][1]
    assert grad["source_id"] == GRAD
    later = {
        **DISSENT,
        "source": GRAD,
        "value": "yes",
        "as_of": "2023-01-15",
        "reported_via": ARTICLE,
    }
    created = client.post("/assessments", json=later, headers=bearer(keys.writer))
    assert created.status_code == 201, created.text
    before = dump_database(seeded_settings)
    response = client.patch(
        f"/assessments/{created.json()['id']}",
        json={"as_of": grad["as_of"]},
        headers=if_match(keys.writer, created.headers["ETag"]),
    )
    problem = assert_problem(response, 409, "/problems/conflict")
    assert problem["existing_id"] == grad["id"]
    assert dump_database(seeded_settings) == before


def test_patch_source_with_current_if_match_changes_it(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    created = client.post("/sources", json=NEW_SOURCE, headers=bearer(keys.admin))
    path = created.headers["Location"]
    patch = {"verification_status": "verified", "url": None, "verification_note": "Checked."}
    response = client.patch(path, json=patch, headers=if_match(keys.admin, created.headers["ETag"]))
    assert response.status_code == 200, response.text
    expected = {**created.json(), **patch}
    assert response.json() == expected
    assert response.headers["ETag"] != created.headers["ETag"]
    assert client.get(path).json() == expected
    assert next(s for s in client.get("/sources").json() if s["id"] == STATEMENT) == expected

    before = dump_database(seeded_settings)
    for bad, field in (
        ({"title": None}, "title"),
        ({"url": "ftp://x"}, "url"),
        ({"id": "x"}, "id"),
    ):
        response = client.patch(path, json=bad, headers=if_match(keys.admin, "*"))
        problem = assert_problem(response, 422, "/problems/invalid-input")
        assert [e["loc"] for e in problem["errors"]] == [["body", field]], bad
    assert dump_database(seeded_settings) == before


def test_write_to_unknown_id_is_404(client: TestClient, keys: Keys) -> None:
    star = if_match(keys.admin, "*")
    for response in (
        client.patch("/assessments/999999", json={"note": "x"}, headers=star),
        client.delete("/assessments/999999", headers=star),
        client.get("/assessments/999999"),
        client.get("/assessments/999999/history"),
        client.patch("/sources/no-such-source", json={"title": "x"}, headers=star),
    ):
        assert_problem(response, 404, "/problems/not-found")
    for response in (
        client.patch("/assessments/0", json={"note": "x"}, headers=star),
        client.delete("/assessments/abc", headers=star),
        client.patch("/sources/Not_A_Slug", json={"title": "x"}, headers=star),
    ):
        assert_problem(response, 422, "/problems/invalid-input")


# --- DELETE (retraction) -------------------------------------------------------------------


def test_delete_assessment_retracts_it_from_positions_but_keeps_it_readable(
    client: TestClient, keys: Keys
) -> None:
    stats_before = stats_counts(client)
    positions_before = rs_positions(client)
    created, etag = record_statement(client, keys)
    path = f"/assessments/{created['id']}"

    response = client.delete(
        path, params={"note": "Misattributed quote."}, headers=if_match(keys.writer, etag)
    )
    assert response.status_code == 204, response.text
    assert response.content == b""

    assert rs_positions(client) == positions_before
    assert stats_counts(client) == stats_before
    assert created["id"] not in rs_assessment_ids(client)
    assert len(rs_assessment_ids(client)) == 5
    kept = client.get(path)
    assert kept.status_code == 200
    body = kept.json()
    assert body["retracted_at"] is not None
    assert body["retraction_note"] == "Misattributed quote."
    assert {k: v for k, v in body.items() if not k.startswith("retract")} == {
        k: v for k, v in created.items() if not k.startswith("retract")
    }


def test_delete_assessment_twice_is_412_with_stale_tag_and_409_with_fresh(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    created, etag = record_statement(client, keys)
    path = f"/assessments/{created['id']}"
    assert client.delete(path, headers=if_match(keys.writer, etag)).status_code == 204
    before = dump_database(seeded_settings)

    stale = client.delete(path, headers=if_match(keys.writer, etag))
    problem = assert_problem(stale, 412, "/problems/precondition-failed")
    fresh = problem["detail"].split("its ETag is now ")[1].split(". ")[0]
    assert fresh != etag

    again = client.delete(path, headers=if_match(keys.writer, fresh))
    problem = assert_problem(again, 409, "/problems/conflict")
    assert problem["detail"] == f"Assessment {created['id']} is already retracted."
    assert_problem(client.delete(path, headers=if_match(keys.writer, "*")), 409)
    assert dump_database(seeded_settings) == before


def test_patch_of_retracted_assessment_is_409(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    created, etag = record_statement(client, keys)
    path = f"/assessments/{created['id']}"
    assert client.delete(path, headers=if_match(keys.writer, etag)).status_code == 204
    before = dump_database(seeded_settings)
    response = client.patch(path, json={"value": "yes"}, headers=if_match(keys.writer, "*"))
    problem = assert_problem(response, 409, "/problems/conflict")
    assert problem["detail"] == (
        f"Assessment {created['id']} is retracted; record a new one instead."
    )
    assert dump_database(seeded_settings) == before


def test_retracted_natural_key_still_blocks_a_duplicate(client: TestClient, keys: Keys) -> None:
    created, etag = record_statement(client, keys)
    assert (
        client.delete(
            f"/assessments/{created['id']}", headers=if_match(keys.writer, etag)
        ).status_code
        == 204
    )
    problem = assert_problem(
        client.post("/assessments", json=DISSENT, headers=bearer(keys.writer)), 409
    )
    assert problem["existing_id"] == created["id"]


# --- all or nothing ------------------------------------------------------------------------


def test_refused_writes_leave_every_table_unchanged(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    created, etag = record_statement(client, keys)
    path = f"/assessments/{created['id']}"
    before = dump_database(seeded_settings)
    refused = [
        client.post("/assessments", json={**DISSENT, "country": "ZZ"}, headers=bearer(keys.writer)),
        client.post("/assessments", json=DISSENT, headers=bearer(keys.writer)),
        client.post("/assessments", json={**DISSENT, "as_of": "2023-05-01"}),
        client.post("/sources", json={**NEW_SOURCE, "id": "other"}, headers=bearer(keys.writer)),
        client.patch(path, json={"value": "unknown"}, headers=if_match(keys.writer, etag)),
        client.patch(path, json={"value": "yes"}, headers=bearer(keys.writer)),
        client.patch(path, json={"value": "yes"}, headers=if_match(keys.writer, '"stale"')),
        client.delete(path, headers=bearer(keys.writer)),
        client.delete(path, headers=if_match(keys.writer, '"stale"')),
        client.delete(path, params={"note": "x" * 4001}, headers=if_match(keys.writer, etag)),
    ]
    assert [r.status_code for r in refused] == [422, 409, 401, 403, 422, 428, 412, 428, 412, 422]
    for response in refused:
        assert_problem(response, response.status_code)
    assert dump_database(seeded_settings) == before
