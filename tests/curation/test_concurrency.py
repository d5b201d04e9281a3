"""Optimistic concurrency: PATCH and DELETE need If-Match (428), a stale tag is 412, `*`
matches; and against a real server, N writers racing on one tag give one winner, never a 500."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from app.vocabulary import KeyScope
from tests.curation.conftest import DISSENT, NEW_SOURCE, STATEMENT, Keys, if_match, record_statement
from tests.factories import CHART, bearer, dump_database, make_key
from tests.problems import assert_problem
from tests.servers import running_server

RACERS = 8


def test_patch_and_delete_without_if_match_are_428(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    created, etag = record_statement(client, keys)
    path = f"/assessments/{created['id']}"
    before = dump_database(seeded_settings)
    for response in (
        client.patch(path, json={"value": "yes"}, headers=bearer(keys.writer)),
        client.patch(path, json={"value": "yes"}, headers=if_match(keys.writer, "")),
        client.delete(path, headers=bearer(keys.writer)),
    ):
        problem = assert_problem(response, 428, "/problems/precondition-required")
        assert problem["detail"] == (
            f"Send `If-Match: {etag}` (the ETag from a GET) to change this resource."
        )
    response = client.patch(
        f"/sources/{STATEMENT}", json={"title": "New"}, headers=bearer(keys.admin)
    )
    assert_problem(response, 428, "/problems/precondition-required")
    assert dump_database(seeded_settings) == before


def test_patch_and_delete_with_stale_if_match_are_412(
    client: TestClient, keys: Keys, seeded_settings: Settings
) -> None:
    created, stale = record_statement(client, keys)
    path = f"/assessments/{created['id']}"
    changed = client.patch(path, json={"note": "First."}, headers=if_match(keys.writer, stale))
    assert changed.status_code == 200
    current = changed.headers["ETag"]
    source = client.post(
        "/sources", json={**NEW_SOURCE, "id": "another-statement"}, headers=bearer(keys.admin)
    )
    source_stale = source.headers["ETag"]
    assert (
        client.patch(
            source.headers["Location"],
            json={"title": "v2"},
            headers=if_match(keys.admin, source_stale),
        ).status_code
        == 200
    )
    before = dump_database(seeded_settings)
    for response in (
        client.patch(path, json={"note": "Second."}, headers=if_match(keys.writer, stale)),
        client.delete(path, headers=if_match(keys.writer, stale)),
        client.patch(path, json={"note": "Second."}, headers=if_match(keys.writer, '"nonsense"')),
        client.patch(path, json={"note": "Second."}, headers=if_match(keys.writer, f"W/{current}")),
        client.patch(
            source.headers["Location"],
            json={"title": "v3"},
            headers=if_match(keys.admin, source_stale),
        ),
    ):
        problem = assert_problem(response, 412, "/problems/precondition-failed")
        assert "Re-read it and retry." in problem["detail"]
    assert dump_database(seeded_settings) == before
    assert (
        current
        in assert_problem(client.delete(path, headers=if_match(keys.writer, stale)), 412)["detail"]
    )


def test_if_match_star_or_a_list_naming_the_current_tag_is_accepted(
    client: TestClient, keys: Keys
) -> None:
    created, etag = record_statement(client, keys)
    path = f"/assessments/{created['id']}"
    listed = client.patch(
        path, json={"note": "Listed."}, headers=if_match(keys.writer, f'"old", {etag}')
    )
    assert listed.status_code == 200, listed.text
    star = client.patch(path, json={"note": "Star."}, headers=if_match(keys.writer, "*"))
    assert star.status_code == 200, star.text
    assert star.json()["note"] == "Star."
    source = client.patch(
        f"/sources/{CHART}",
        json={"verification_note": "Reviewed."},
        headers=if_match(keys.admin, "*"),
    )
    assert source.status_code == 200, source.text
    assert client.delete(path, headers=if_match(keys.writer, "*")).status_code == 204


def test_etag_from_get_is_what_patch_and_delete_accept(client: TestClient, keys: Keys) -> None:
    """The documented flow: GET a resource, send its ETag back in If-Match."""
    created, _ = record_statement(client, keys)
    path = f"/assessments/{created['id']}"
    read = client.get(path)
    response = client.patch(
        path, json={"note": "Via GET."}, headers=if_match(keys.writer, read.headers["ETag"])
    )
    assert response.status_code == 200, response.text
    read = client.get(path)
    response = client.delete(path, headers=if_match(keys.writer, read.headers["ETag"]))
    assert response.status_code == 204, response.text
    source = client.get(f"/sources/{STATEMENT}")
    response = client.patch(
        f"/sources/{STATEMENT}",
        json={"title": "Via GET."},
        headers=if_match(keys.admin, source.headers["ETag"]),
    )
    assert response.status_code == 200, response.text


# --- racing writers against a real server ----------------------------------------------------


def race(base: str, request: Callable[[httpx.Client, int], httpx.Response]) -> list[httpx.Response]:
    """Send RACERS requests at once, one per thread and connection; return them in order."""
    barrier = threading.Barrier(RACERS)

    def run(racer: int) -> httpx.Response:
        with httpx.Client(base_url=base, timeout=60) as http:
            assert http.get("/healthz").status_code == 200  # connect before lining up
            barrier.wait(timeout=60)
            return request(http, racer)

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        return list(pool.map(run, range(RACERS)))


def assert_one_winner(responses: list[httpx.Response], won: int, lost: int) -> httpx.Response:
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [won] + [lost] * (RACERS - 1), [(r.status_code, r.text) for r in responses]
    for response in responses:
        assert "locked" not in response.text.lower()
        if response.status_code == lost:
            assert_problem(response, lost)
    return next(r for r in responses if r.status_code == won)


def patch_race(seeded_settings: Settings) -> None:
    key = make_key(seeded_settings, "racer", KeyScope.admin)
    with running_server(seeded_settings.database_url) as base:
        assert (
            httpx.post(f"{base}/sources", json=NEW_SOURCE, headers=bearer(key)).status_code == 201
        )
        created = httpx.post(f"{base}/assessments", json=DISSENT, headers=bearer(key))
        assert created.status_code == 201, created.text
        path = created.headers["Location"]
        etag = created.headers["ETag"]

        def patch(http: httpx.Client, racer: int) -> httpx.Response:
            return http.patch(
                path, json={"evidence": f"Racer {racer} says no."}, headers=if_match(key, etag)
            )

        winner = assert_one_winner(race(base, patch), won=200, lost=412)
        evidence = winner.json()["evidence"]
        assert evidence.startswith("Racer ")
        stored = httpx.get(f"{base}{path}").json()
        assert stored["evidence"] == evidence
        entries = httpx.get(f"{base}{path}/history").json()
        assert [e["action"] for e in entries] == ["create", "update"]
        assert entries[-1]["after"]["evidence"] == evidence
        # The winner's tag is current: the next writer goes through with it.
        follow_up = httpx.patch(
            f"{base}{path}",
            json={"note": "After the race."},
            headers=if_match(key, winner.headers["ETag"]),
        )
        assert follow_up.status_code == 200, follow_up.text


@pytest.mark.postgres_only
def test_concurrent_patches_with_one_if_match_have_one_winner_on_postgres(
    seeded_settings: Settings,
) -> None:
    patch_race(seeded_settings)


def test_concurrent_patches_with_one_if_match_have_one_winner_on_sqlite(
    backend: str, seeded_settings: Settings
) -> None:
    """SQLite serialises writers; the losers must still see 412, never "database is locked"."""
    if backend != "sqlite":
        pytest.skip("the SQLite race; see the postgres variant")
    patch_race(seeded_settings)


def test_concurrent_deletes_with_one_if_match_retract_once(
    seeded_settings: Settings,
) -> None:
    key = make_key(seeded_settings, "racer", KeyScope.admin)
    with running_server(seeded_settings.database_url) as base:
        created = httpx.post(
            f"{base}/assessments", json={**DISSENT, "source": CHART}, headers=bearer(key)
        )
        assert created.status_code == 201, created.text
        path = created.headers["Location"]
        etag = created.headers["ETag"]

        def delete(http: httpx.Client, _racer: int) -> httpx.Response:
            return http.delete(path, headers=if_match(key, etag))

        assert_one_winner(race(base, delete), won=204, lost=412)
        entries = httpx.get(f"{base}{path}/history").json()
        assert [e["action"] for e in entries] == ["create", "retract"]


def test_concurrent_duplicate_creates_store_one(seeded_settings: Settings) -> None:
    key = make_key(seeded_settings, "racer", KeyScope.admin)
    body = {**DISSENT, "source": CHART}
    with running_server(seeded_settings.database_url) as base:

        def create(http: httpx.Client, racer: int) -> httpx.Response:
            return http.post(
                "/assessments", json={**body, "note": f"racer {racer}"}, headers=bearer(key)
            )

        responses = race(base, create)
        winner = assert_one_winner(responses, won=201, lost=409)
        # Every loser names the winner's row, however it lost (the pre-check or the unique
        # index). Regression: losers caught by the index got a 409 without `existing_id`.
        assert {r.json().get("existing_id") for r in responses if r.status_code == 409} == {
            winner.json()["id"]
        }
        log = httpx.get(f"{base}/changes", params={"limit": 1000}).json()["items"]
        created = [e for e in log if e["actor"] == "racer"]
        assert [(e["action"], e["entity_id"]) for e in created] == [
            ("create", str(winner.json()["id"]))
        ]
    assert len(dump_database(seeded_settings)["changes"]) == len(log)


def test_concurrent_creates_of_one_source_id_store_one_and_name_it(
    seeded_settings: Settings,
) -> None:
    """Regression: a loser caught by the primary key (not the pre-check) got the generic
    "conflicts with stored data" instead of the id it collided with."""
    key = make_key(seeded_settings, "racer", KeyScope.admin)
    with running_server(seeded_settings.database_url) as base:

        def create(http: httpx.Client, racer: int) -> httpx.Response:
            body = {**NEW_SOURCE, "title": f"{NEW_SOURCE['title']} (racer {racer})"}
            return http.post("/sources", json=body, headers=bearer(key))

        responses = race(base, create)
        winner = assert_one_winner(responses, won=201, lost=409)
        assert {r.json()["detail"] for r in responses if r.status_code == 409} == {
            f"A source with id {STATEMENT!r} already exists."
        }
        stored = httpx.get(f"{base}/sources/{STATEMENT}").json()
        assert stored["title"] == winner.json()["title"]
        log = httpx.get(f"{base}/changes", params={"limit": 1000}).json()["items"]
        assert [(e["action"], e["entity_id"]) for e in log if e["actor"] == "racer"] == [
            ("create", STATEMENT)
        ]


def test_concurrent_patches_onto_one_natural_key_store_one_and_name_it(
    seeded_settings: Settings,
) -> None:
    """Each racer moves its own assessment onto the same (country, category, source,
    as_of). One wins; every loser gets a 409 naming the winner, however it lost.
    Regression: losers caught by the unique index got a 409 without `existing_id`."""
    key = make_key(seeded_settings, "racer", KeyScope.admin)
    with running_server(seeded_settings.database_url) as base:
        assert (
            httpx.post(f"{base}/sources", json=NEW_SOURCE, headers=bearer(key)).status_code == 201
        )
        own: list[tuple[str, str]] = []
        for racer in range(RACERS):
            body = {**DISSENT, "as_of": f"2023-05-{racer + 1:02d}"}
            created = httpx.post(f"{base}/assessments", json=body, headers=bearer(key))
            assert created.status_code == 201, created.text
            own.append((created.headers["Location"], created.headers["ETag"]))

        def patch(http: httpx.Client, racer: int) -> httpx.Response:
            path, etag = own[racer]
            return http.patch(path, json={"as_of": "2023-06-01"}, headers=if_match(key, etag))

        responses = race(base, patch)
        winner = assert_one_winner(responses, won=200, lost=409)
        assert {r.json().get("existing_id") for r in responses if r.status_code == 409} == {
            winner.json()["id"]
        }
        moved = [
            a
            for a in httpx.get(f"{base}/countries/RS/assessments", params={"limit": 100}).json()[
                "items"
            ]
            if a["source_id"] == STATEMENT
        ]
        assert sorted(a["as_of"] for a in moved).count("2023-06-01") == 1
        assert len(moved) == RACERS
