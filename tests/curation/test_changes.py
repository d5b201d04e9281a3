"""The change log: seed loads and API writes, oldest first, with before/after snapshots, a
cursor for incremental sync, per-assessment history, and nothing logged for a refused write."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.settings import Settings
from tests.curation.conftest import (
    DISSENT,
    NEW_SOURCE,
    SEED_CREATES,
    SEED_ENTRIES,
    STATEMENT,
    Keys,
    all_changes,
    if_match,
    record_statement,
)
from tests.factories import CHART, bearer, load_seed_folder
from tests.problems import assert_problem

ASSESSMENT_COLUMNS = {
    "id",
    "country_code",
    "category_key",
    "source_id",
    "reported_via_id",
    "as_of",
    "value",
    "evidence",
    "note",
    "retracted_at",
    "retraction_note",
    "version",
    "relayed_through",
    "evidence_language",
}


def summary(entries: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    return [(e["actor"], e["action"], e["entity"], e["entity_id"]) for e in entries]


def history(client: TestClient, assessment_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/assessments/{assessment_id}/history")
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


def curate(client: TestClient, keys: Keys) -> int:
    """Create a source and an assessment, change the assessment, retract it; return its id."""
    created, etag = record_statement(client, keys)
    path = f"/assessments/{created['id']}"
    changed = client.patch(
        path, json={"evidence": "Reworded."}, headers=if_match(keys.writer, etag)
    )
    assert changed.status_code == 200, changed.text
    retracted = client.delete(
        path,
        params={"note": "Quote misattributed."},
        headers=if_match(keys.admin, changed.headers["ETag"]),
    )
    assert retracted.status_code == 204, retracted.text
    assessment_id: int = created["id"]
    return assessment_id


def test_changes_start_with_the_seed_load(client: TestClient) -> None:
    response = client.get("/changes", params={"limit": 1000})  # the seed load: 121 entries
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    entries = body["items"]
    assert len(entries) == SEED_ENTRIES
    assert body["next_since"] == entries[-1]["id"]
    assert [e["entity"] for e in entries] == [
        entity for entity, count in SEED_CREATES.items() for _ in range(count)
    ]
    assert {(e["actor"], e["action"]) for e in entries} == {("seed", "create")}
    assert all(e["before"] is None for e in entries)
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert entries[0]["entity_id"] == "AL"
    assert entries[0]["after"] == {
        "code": "AL",
        "alpha3": "ALB",
        "numeric": "008",
        "name": "Albania",
        "official_name": "Republic of Albania",
    }
    chart = next(e for e in entries if e["entity"] == "source" and e["entity_id"] == CHART)
    assert chart["after"] == {**client.get(f"/sources/{CHART}").json(), "version": 1}
    first_assessment = next(e for e in entries if e["entity"] == "assessment")
    assert set(first_assessment["after"]) == ASSESSMENT_COLUMNS
    assert first_assessment["after"]["country_code"] == "RS"


def test_changes_log_api_writes_under_the_key_name_with_snapshots(
    client: TestClient, keys: Keys
) -> None:
    assessment_id = curate(client, keys)
    entries = all_changes(client)
    assert [e["actor"] for e in entries[:SEED_ENTRIES]] == ["seed"] * SEED_ENTRIES
    source, created, updated, retracted = entries[SEED_ENTRIES:]
    assert summary([source, created, updated, retracted]) == [
        ("alice-admin", "create", "source", STATEMENT),
        ("walter-writer", "create", "assessment", str(assessment_id)),
        ("walter-writer", "update", "assessment", str(assessment_id)),
        ("alice-admin", "retract", "assessment", str(assessment_id)),
    ]
    assert source["before"] is None
    assert source["after"] == {
        **NEW_SOURCE,
        "classification": None,
        "verification_note": None,
        "coverage": None,
        "retracted_at": None,
        "retraction_note": None,
        "published_on_qualifier": None,
        "language": None,
        "relays": None,
        "version": 1,
    }
    assert created["before"] is None
    assert created["after"] == {
        "id": assessment_id,
        "country_code": "RS",
        "category_key": "lethal_aid",
        "source_id": STATEMENT,
        "reported_via_id": None,
        "as_of": "2023-04-20",
        "value": "no",
        "evidence": DISSENT["evidence"],
        "note": None,
        "retracted_at": None,
        "retraction_note": None,
        "version": 1,
        "relayed_through": None,
        "evidence_language": None,
    }
    assert updated["before"] == created["after"]
    assert updated["after"] == {**created["after"], "evidence": "Reworded.", "version": 2}
    assert retracted["before"] == updated["after"]
    after = retracted["after"]
    assert after["retracted_at"] is not None
    assert after == {
        **updated["after"],
        "retracted_at": after["retracted_at"],
        "retraction_note": "Quote misattributed.",
        "version": 3,
    }
    times = [datetime.fromisoformat(e["at"]) for e in entries[SEED_ENTRIES:]]
    assert times == sorted(times)


def test_changes_since_cursor_syncs_incrementally_without_gaps_or_duplicates(
    client: TestClient, keys: Keys
) -> None:
    curate(client, keys)
    everything = all_changes(client)
    assert len(everything) == SEED_ENTRIES + 4

    synced: list[dict[str, Any]] = []
    since = 0
    while True:
        page = client.get("/changes", params={"since": since, "limit": 7}).json()
        if not page["items"]:
            assert page["next_since"] == since
            break
        assert len(page["items"]) <= 7
        assert all(e["id"] > since for e in page["items"])
        assert page["next_since"] == page["items"][-1]["id"]
        synced += page["items"]
        since = page["next_since"]
    assert synced == everything

    # Later writes arrive, exactly once, from the last cursor.
    more = client.post(
        "/assessments", json={**DISSENT, "source": CHART}, headers=bearer(keys.writer)
    )
    assert more.status_code == 201
    page = client.get("/changes", params={"since": since, "limit": 7}).json()
    assert summary(page["items"]) == [
        ("walter-writer", "create", "assessment", str(more.json()["id"]))
    ]
    assert client.get("/changes", params={"since": page["next_since"]}).json() == {
        "items": [],
        "next_since": page["next_since"],
    }


def test_changes_cursor_past_the_end_is_empty(client: TestClient) -> None:
    assert client.get("/changes", params={"since": 10**6}).json() == {
        "items": [],
        "next_since": 10**6,
    }


def test_changes_bad_cursor_or_limit_is_422(client: TestClient) -> None:
    for params in (
        {"since": "-1"},
        {"since": "latest"},
        {"limit": "0"},
        {"limit": "1001"},
        {"after": "3"},
    ):
        problem = assert_problem(
            client.get("/changes", params=params), 422, "/problems/invalid-input"
        )
        assert [e["loc"] for e in problem["errors"]] == [["query", next(iter(params))]]


def test_assessment_history_shows_only_its_own_entries(client: TestClient, keys: Keys) -> None:
    assessment_id = curate(client, keys)
    other = client.post(
        "/assessments", json={**DISSENT, "source": CHART}, headers=bearer(keys.writer)
    )
    assert other.status_code == 201
    changed = client.patch(
        f"/assessments/{other.json()['id']}",
        json={"note": "Second thoughts."},
        headers=if_match(keys.admin, other.headers["ETag"]),
    )
    assert changed.status_code == 200

    mine = history(client, assessment_id)
    assert summary(mine) == [
        ("walter-writer", "create", "assessment", str(assessment_id)),
        ("walter-writer", "update", "assessment", str(assessment_id)),
        ("alice-admin", "retract", "assessment", str(assessment_id)),
    ]
    log = {e["id"]: e for e in all_changes(client)}
    assert mine == [log[e["id"]] for e in mine]
    assert summary(history(client, other.json()["id"])) == [
        ("walter-writer", "create", "assessment", str(other.json()["id"])),
        ("alice-admin", "update", "assessment", str(other.json()["id"])),
    ]
    assert summary(history(client, 1)) == [("seed", "create", "assessment", "1")]


def test_refused_writes_append_nothing_to_the_change_log(client: TestClient, keys: Keys) -> None:
    created, etag = record_statement(client, keys)
    path = f"/assessments/{created['id']}"
    before = all_changes(client)
    cached = client.get("/changes", params={"limit": 1000}).headers["ETag"]
    statuses = [
        client.post("/assessments", json=DISSENT, headers=bearer(keys.writer)).status_code,
        client.post(
            "/assessments", json={**DISSENT, "value": "unknown"}, headers=bearer(keys.writer)
        ).status_code,
        client.post("/sources", json=NEW_SOURCE, headers=bearer(keys.admin)).status_code,
        client.patch(path, json={"value": "yes"}, headers=if_match(keys.writer, '"x"')).status_code,
        client.patch(
            path, json={"as_of": "2023-13-01"}, headers=if_match(keys.writer, etag)
        ).status_code,
        client.delete(path, headers=bearer(keys.writer)).status_code,
        client.delete(path, headers=if_match("cpk_nope", etag)).status_code,
    ]
    assert statuses == [409, 422, 409, 412, 422, 428, 401]
    assert all_changes(client) == before
    assert history(client, created["id"])[-1]["action"] == "create"
    # The dataset revision did not move either: a cached copy of the log is still current.
    revalidated = client.get("/changes", params={"limit": 1000}, headers={"If-None-Match": cached})
    assert revalidated.status_code == 304


def test_patch_changing_nothing_appends_nothing_and_keeps_the_etag(
    client: TestClient, keys: Keys
) -> None:
    created, etag = record_statement(client, keys)
    before = all_changes(client)
    response = client.patch(
        f"/assessments/{created['id']}",
        json={"evidence": DISSENT["evidence"], "value": "no"},
        headers=if_match(keys.writer, etag),
    )
    assert response.status_code == 200, response.text
    assert response.json() == created
    assert response.headers["ETag"] == etag
    assert all_changes(client) == before


def test_seed_rerun_with_unchanged_seeds_appends_nothing(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    curate(client, keys)
    before = all_changes(client)
    cached = client.get("/positions").headers["ETag"]
    report = load_seed_folder(seeded_settings)
    assert not report.changed
    assert all_changes(client) == before
    assert client.get("/positions", headers={"If-None-Match": cached}).status_code == 304


def test_change_timestamps_carry_a_utc_offset_on_every_backend(
    client: TestClient, keys: Keys
) -> None:
    """`at` is documented as UTC; a timestamp without an offset is ambiguous to clients."""
    assessment_id = curate(client, keys)
    stamps = [e["at"] for e in all_changes(client)]
    stamps.append(client.get(f"/assessments/{assessment_id}").json()["retracted_at"])
    for stamp in stamps:
        assert datetime.fromisoformat(stamp).utcoffset() == timedelta(0), stamp
