"""Releases, on both backends: made through the API and the CLI, listed, and read frozen —
the same bytes after later writes, retractions, re-seeds and restarts."""

from __future__ import annotations

import csv
import io
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from app.cli import main
from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.releases.history import HISTORY_TABLES, VERSIONED_TABLES, content_columns
from app.seeding.bulk import load_seeds_bulk
from app.settings import Settings, get_settings
from app.vocabulary import KeyScope
from tests.factories import (
    CHART,
    SERBIA_TRAINING_EVIDENCE,
    bearer,
    edited_seeds,
    load_seed_folder,
    make_key,
)

STATEMENT = "serbia-presidency-statement-2023-04"
# An assessment only the bulk re-seed edits (the regular one edits the training one).
SERBIA_WILL_EVIDENCE = "The chart credits Serbia with the political will to provide lethal aid"
NEW_SOURCE: dict[str, Any] = {
    "id": STATEMENT,
    "title": "Statement of the President of Serbia on arms for Ukraine (illustrative)",
    "kind": "official_statement",
    "publisher": "Office of the President of Serbia",
    "published_on": "2023-04-20",
    "document_date": "2023-04-20",
    "verification_status": "not_applicable",
}
DISSENT: dict[str, Any] = {
    "country": "RS",
    "category": "lethal_aid",
    "value": "no",
    "source": STATEMENT,
    "as_of": "2023-04-20",
    "evidence": "Illustrative: the presidency states that Serbia sends no arms to Ukraine.",
}
# Reads a release must answer unchanged (JSON and exports).
FROZEN_READS = [
    "/countries",
    "/countries/RS",
    "/countries/RS/positions",
    "/countries/RS/positions?as_of=2023-03-01",
    f"/countries/RS/positions?source={CHART}",
    "/countries/RS/assessments",
    "/positions",
    "/positions?group=nato&as_of=2023-03-02",
    "/stats",
    "/sources",
    f"/sources/{CHART}",
    "/categories",
    "/exports/positions.csv",
    "/exports/positions.ndjson",
    "/exports/countries/RS/assessments.csv",
    "/exports/stats.csv",
]


@pytest.fixture
def admin(seeded_settings: Settings) -> str:
    return make_key(seeded_settings, "alice-admin", KeyScope.admin)


def release(client: TestClient, admin: str, version: str, **body: Any) -> Any:
    return client.post("/releases", json={"version": version, **body}, headers=bearer(admin))


def frozen(client: TestClient, version: str) -> dict[str, bytes]:
    answers = {}
    for path in FROZEN_READS:
        response = client.get(f"/releases/{version}{path}")
        assert response.status_code == 200, (path, response.text)
        answers[path] = response.content
    return answers


def lethal_aid(body: dict[str, Any]) -> tuple[str, bool]:
    position = next(p for p in body["positions"] if p["category"] == "lethal_aid")
    return position["value"], position["disputed"]


def dissent(client: TestClient, admin: str) -> None:
    assert client.post("/sources", json=NEW_SOURCE, headers=bearer(admin)).status_code == 201
    created = client.post("/assessments", json=DISSENT, headers=bearer(admin))
    assert created.status_code == 201, created.text


def test_a_release_keeps_the_old_value_while_the_live_url_shows_the_new(
    client: TestClient, admin: str
) -> None:
    made = release(client, admin, "2026.1", notes="The chart as reported.")
    assert made.status_code == 201, made.text
    assert made.headers["Location"] == "/releases/2026.1"
    body = made.json()
    assert body["version"] == "2026.1" and body["notes"] == "The chart as reported."
    assert len(body["sha256"]) == 64
    assert body["counts"]["countries"] == 39 and body["counts"]["assessments"] == 38
    assert (body["counts"]["claims"], body["counts"]["denials"]) == (19, 4)
    assert body["changes"]["total"] == body["changes"]["since"] + len(body["changes"]["items"])
    assert "2026.1" in body["citation"]["text"] and body["citation"]["bibtex"].startswith("@misc{")
    before = frozen(client, "2026.1")

    dissent(client, admin)

    live = client.get("/countries/RS/positions").json()
    assert lethal_aid(live) == ("no", True)
    old = client.get("/releases/2026.1/countries/RS/positions").json()
    assert lethal_aid(old) == ("yes", False)
    assert frozen(client, "2026.1") == before


def test_a_release_answers_the_same_bytes_after_updates_retractions_reseeds_and_restarts(
    seeded_settings: Settings, tmp_path: Any
) -> None:
    admin = make_key(seeded_settings, "alice-admin", KeyScope.admin)
    with TestClient(create_app(seeded_settings)) as client:
        assert release(client, admin, "2026.1").status_code == 201
        before = frozen(client, "2026.1")
        sha = client.get("/releases/2026.1").json()["sha256"]
        dissent(client, admin)
        # An update of a frozen row (the assessment's evidence) and a retraction.
        first = client.get("/countries/RS/assessments").json()["items"][0]
        etag = client.get(f"/assessments/{first['id']}").headers["ETag"]
        patched = client.patch(
            f"/assessments/{first['id']}",
            json={"evidence": "Rewritten later."},
            headers=bearer(admin, **{"If-Match": etag}),
        )
        assert patched.status_code == 200, patched.text
        etag = client.get(f"/sources/{CHART}").headers["ETag"]
        retracted = client.delete(f"/sources/{CHART}", headers=bearer(admin, **{"If-Match": etag}))
        assert retracted.status_code == 204, retracted.text
        assert frozen(client, "2026.1") == before
    # Re-seeds that edit a frozen assessment (the regular loader, then the bulk one, which
    # skips the foreign-key triggers on PostgreSQL), then a fresh process.
    load_seed_folder(
        seeded_settings, edited_seeds(tmp_path, SERBIA_TRAINING_EVIDENCE, "Edited by a re-seed.")
    )
    engine = make_engine(seeded_settings, batch=True)
    try:
        bulk_folder = edited_seeds(tmp_path / "bulk", SERBIA_WILL_EVIDENCE, "Edited in bulk.")
        load_seeds_bulk(make_sessionmaker(engine), bulk_folder)
    finally:
        engine.dispose()
    with TestClient(create_app(seeded_settings)) as client:
        assert frozen(client, "2026.1") == before
        assert client.get("/releases/2026.1").json()["sha256"] == sha
        assert "Edited in bulk." in client.get("/countries/RS/assessments").text


def test_release_reads_are_immutable_with_an_etag_from_the_hash(
    client: TestClient, admin: str
) -> None:
    sha = release(client, admin, "2026.1").json()["sha256"]
    response = client.get("/releases/2026.1/countries/RS/positions")
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    etag = response.headers["ETag"]
    assert etag.startswith(f'"{sha[:16]}-')
    assert client.get("/releases/2026.1/countries/AT/positions").headers["ETag"] != etag
    again = client.get("/releases/2026.1/countries/RS/positions", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    head = client.head("/releases/2026.1/countries/RS/positions")
    assert head.status_code == 200 and head.content == b"" and head.headers["ETag"] == etag
    assert head.headers["Vary"] == response.headers["Vary"]


def test_release_links_stay_inside_the_release(client: TestClient, admin: str) -> None:
    release(client, admin, "2026.1")
    response = client.get("/releases/2026.1/countries", params={"limit": 10})
    assert '</releases/2026.1/countries?limit=10&offset=10>; rel="next"' in response.headers["Link"]


def test_release_errors_are_problems(client: TestClient, admin: str) -> None:
    release(client, admin, "2026.1")
    unknown = client.get("/releases/2027.1/countries")
    assert unknown.status_code == 404
    assert unknown.headers["Content-Type"] == "application/problem+json"
    assert unknown.json()["instance"] == "/releases/2027.1/countries"
    missing = client.get("/releases/2026.1/countries/ZZ")
    assert (
        missing.status_code == 404 and missing.json()["instance"] == "/releases/2026.1/countries/ZZ"
    )
    assert "request_id" in missing.json()
    assert missing.headers["Cache-Control"] == "no-store"
    write = client.post("/releases/2026.1/sources", json=NEW_SOURCE, headers=bearer(admin))
    assert write.status_code == 405 and write.headers["Allow"] == "GET, HEAD"
    misspelt = client.get("/releases/2026.1/positions", params={"catgory": "training"})
    assert misspelt.status_code == 422


@pytest.mark.parametrize(
    ("version", "status"),
    [("2026", 422), ("2026.01", 422), ("v2026.1", 422), ("2026.1.1.1.1", 422), ("latest", 422)],
)
def test_release_versions_are_validated(
    client: TestClient, admin: str, version: str, status: int
) -> None:
    response = release(client, admin, version)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert client.get("/releases").json()["total"] == 0


def test_a_version_is_never_reused_and_only_goes_up(client: TestClient, admin: str) -> None:
    assert release(client, admin, "2026.2").status_code == 201
    assert release(client, admin, "2026.2").status_code == 409
    lower = release(client, admin, "2026.1")
    assert lower.status_code == 409 and "2026.2" in lower.json()["detail"]
    assert release(client, admin, "2026.10").status_code == 201  # numbers, not text


def test_releases_need_an_admin_key(client: TestClient, seeded_settings: Settings) -> None:
    writer = make_key(seeded_settings, "walter-writer", KeyScope.write)
    assert client.post("/releases", json={"version": "2026.1"}).status_code == 401
    assert release(client, writer, "2026.1").status_code == 403


def test_releases_are_listed_newest_first_and_latest_redirects(
    client: TestClient, admin: str
) -> None:
    assert client.get("/releases/latest", follow_redirects=False).status_code == 404
    for version in ("2026.1", "2026.2", "2026.3"):
        assert release(client, admin, version).status_code == 201
    page = client.get("/releases", params={"limit": 2})
    assert [r["version"] for r in page.json()["items"]] == ["2026.3", "2026.2"]
    assert page.json()["total"] == 3 and page.headers["X-Total-Count"] == "3"
    latest = client.get("/releases/latest", follow_redirects=False)
    assert latest.status_code == 307
    assert latest.headers["Location"] == "/releases/2026.3"
    assert latest.headers["Cache-Control"] == "public, max-age=60"
    assert client.get("/releases/2026.2").json()["version"] == "2026.2"


def test_release_lists_the_changes_since_the_previous(client: TestClient, admin: str) -> None:
    first = release(client, admin, "2026.1").json()
    dissent(client, admin)
    second = release(client, admin, "2026.2").json()
    assert second["changes"]["since"] == first["changes"]["since"] + first["changes"]["total"]
    assert [(c["action"], c["entity"]) for c in second["changes"]["items"]] == [
        ("create", "source"),
        ("create", "assessment"),
    ]
    assert second["revision"] > first["revision"]
    assert second["sha256"] != first["sha256"]


def test_history_tables_keep_every_column_of_their_live_tables(settings: Settings) -> None:
    """A migration adding a column to a versioned table must add it to its history too."""
    engine = make_engine(settings)
    try:
        database = inspect(engine)
        for table in VERSIONED_TABLES:
            live = {c["name"] for c in database.get_columns(table)}
            history = {c["name"] for c in database.get_columns(HISTORY_TABLES[table].name)}
            assert set(content_columns(table)) | {"valid_from_revision"} == live
            assert live | {"history_id", "valid_to_revision"} == history
    finally:
        engine.dispose()


def test_release_create_and_list_on_the_command_line(
    seeded_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As a new user would: `release create 2026.1`, a write, then the frozen read."""
    monkeypatch.setenv("DATABASE_URL", seeded_settings.database_url)
    get_settings.cache_clear()
    try:
        assert main(["release", "create", "2026.1", "--notes", "First."]) == 0
        made = capsys.readouterr().out
        assert made.startswith("release 2026.1: revision ")
        assert main(["release", "create", "2026.1"]) == 1
        assert "never reused" in capsys.readouterr().err
        assert main(["release", "create", "2026.01"]) == 1
        assert "not a release version" in capsys.readouterr().err
        assert main(["release", "create", "2026.2"]) == 0
        capsys.readouterr()
        assert main(["release", "list"]) == 0
        listed = capsys.readouterr().out.splitlines()
        assert [line.split()[0] for line in listed] == ["version", "2026.2", "2026.1"]
    finally:
        get_settings.cache_clear()
    admin = make_key(seeded_settings, "alice-admin", KeyScope.admin)
    with TestClient(create_app(seeded_settings)) as client:
        dissent(client, admin)
        assert lethal_aid(client.get("/countries/RS/positions").json()) == ("no", True)
        frozen_rs = client.get("/releases/2026.1/countries/RS/positions").json()
        assert lethal_aid(frozen_rs) == ("yes", False)
        assert client.get("/releases/2026.1").json()["notes"] == "First."


def test_the_release_package_validates_and_keeps_its_bytes_after_a_write(
    client: TestClient, admin: str, tmp_path: Any
) -> None:
    import frictionless

    release(client, admin, "2026.1")
    descriptor = client.get("/releases/2026.1/datapackage.json")
    assert descriptor.status_code == 200, descriptor.text
    assert descriptor.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    body = descriptor.json()
    assert body["version"] == "2026.1"
    sha = client.get("/releases/2026.1").json()["sha256"]
    assert body["country_positions:release"]["sha256"] == sha
    zipped = client.get("/releases/2026.1/data.zip")
    assert zipped.status_code == 200 and zipped.headers["Content-Type"] == "application/zip"
    positions = client.get("/releases/2026.1/data/positions.csv")
    assert positions.status_code == 200
    assert positions.headers["Content-Type"].startswith("text/csv")
    assert client.get("/releases/2026.1/data/nothing.csv").status_code == 404
    assert client.get("/releases/2027.1/datapackage.json").status_code == 404

    dissent(client, admin)

    assert client.get("/releases/2026.1/data.zip").content == zipped.content
    assert client.get("/releases/2026.1/data/positions.csv").content == positions.content
    assert client.get("/releases/2026.1/datapackage.json").content == descriptor.content
    # Serbia's lethal aid in the frozen package is still the chart's.
    rows = list(csv.DictReader(io.StringIO(positions.text)))
    assert next(r for r in rows if r["code"] == "RS")["lethal_aid"] == "yes"

    folder = tmp_path / "package"
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        archive.extractall(folder)
    report = frictionless.validate(folder / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def test_latest_below_redirects_to_the_newest_release(client: TestClient, admin: str) -> None:
    assert client.get("/releases/latest/stats", follow_redirects=False).status_code == 404
    release(client, admin, "2026.1")
    release(client, admin, "2026.2")
    moved = client.get(
        "/releases/latest/countries/RS/positions?as_of=2023-03-02", follow_redirects=False
    )
    assert moved.status_code == 307
    assert moved.headers["Location"] == "/releases/2026.2/countries/RS/positions?as_of=2023-03-02"
    assert moved.headers["Cache-Control"] == "public, max-age=60"
    assert (
        client.get("/releases/latest/stats").json() == client.get("/releases/2026.2/stats").json()
    )


def test_concurrent_releases_never_make_a_lower_version_latest(
    client: TestClient, admin: str
) -> None:
    """A higher and a lower version sent at the same moment (issue 20): the version checks
    run under the dataset's write lock, so whichever lands second is checked against the
    first, and the releases' order always has their versions going up."""
    assert release(client, admin, "2026.1").status_code == 201
    for round_ in range(1, 6):
        versions = [f"2026.{2 * round_ + 1}", f"2026.{2 * round_}"]  # higher, then lower
        start = threading.Barrier(len(versions))

        def post(version: str, start: threading.Barrier = start) -> int:
            start.wait()
            return int(release(client, admin, version).status_code)

        with ThreadPoolExecutor(len(versions)) as pool:
            statuses = list(pool.map(post, versions))
        assert sorted(statuses) in ([201, 201], [201, 409]), statuses
        newest_first = [r["version"] for r in client.get("/releases").json()["items"]]
        keys = [tuple(int(p) for p in v.split(".")) for v in newest_first]
        assert keys == sorted(keys, reverse=True), (round_, statuses, newest_first)
        latest = client.get("/releases/latest", follow_redirects=False).headers["Location"]
        assert latest == f"/releases/{versions[0]}", (round_, statuses, newest_first)


def test_keyed_reads_cover_releases_before_their_etags(seeded_settings: Settings) -> None:
    """Under CP_REQUIRE_KEY_FOR_READS (issue 20): every read under a release needs a key,
    checked before its ETag (no 304 without one), and is `private` for shared caches."""
    settings = seeded_settings.model_copy(update={"require_key_for_reads": True})
    admin = make_key(settings, "alice-admin", KeyScope.admin)
    reader = make_key(settings, "rita-reader", KeyScope.write)
    with TestClient(create_app(settings)) as client:
        assert release(client, admin, "2026.1").status_code == 201
        for path in (
            "/releases/2026.1/countries/RS/positions",
            "/releases/2026.1/datapackage.json",
            "/releases/2026.1/data.zip",
            "/releases/2026.1/data/positions.csv",
        ):
            keyed = client.get(path, headers=bearer(reader))
            assert keyed.status_code == 200, (path, keyed.text)
            assert keyed.headers["Cache-Control"] == "private, max-age=31536000, immutable"
            etag = {"If-None-Match": keyed.headers["ETag"]}
            anonymous = client.get(path, headers=etag)
            assert anonymous.status_code == 401, (path, anonymous.status_code)
            assert anonymous.headers["Content-Type"] == "application/problem+json"
            again = client.get(path, headers=bearer(reader, **etag))
            assert again.status_code == 304, path
            assert again.headers["Cache-Control"].startswith("private")
        assert client.get("/releases/latest/stats", follow_redirects=False).status_code == 401
        assert client.get("/releases/2027.1/stats").status_code == 401


def test_reads_cycling_over_many_releases_build_nothing_per_request(
    seeded_settings: Settings, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads taking turns over more releases than were once kept (4) build no application
    per request (issue 20: 12 reads/s over 8 releases against 1,051/s over 4): one app
    serves them all, and each release's state is made once."""
    builds: list[str] = []

    def counted(*args: Any, **kwargs: Any) -> FastAPI:
        builds.append("app")
        return FastAPI(*args, **kwargs)

    monkeypatch.setattr("app.releases.dispatch.FastAPI", counted)
    # Every read reaches the release (no response cache answering the later rounds).
    uncached = seeded_settings.model_copy(update={"cache_enabled": False})
    with TestClient(create_app(uncached)) as fresh:
        versions = [f"2026.{n}" for n in range(1, 7)]
        for version in versions:
            assert release(fresh, admin, version).status_code == 201
        answers: dict[str, bytes] = {}
        for _ in range(3):
            for version in versions:
                read = fresh.get(f"/releases/{version}/countries/RS/positions")
                assert read.status_code == 200, read.text
                answers.setdefault(version, read.content)
                assert answers[version] == read.content
        frozen = fresh.app.state.frozen_releases  # type: ignore[attr-defined]
        assert builds == ["app"]
        assert frozen.bound == len(versions)


def test_a_mistaken_release_is_refused_or_withdrawn_and_no_longer_blocks(
    client: TestClient, admin: str, seeded_settings: Settings
) -> None:
    """Versions past the bounds are refused (issue 20: `999999999.999999999` blocked every
    later release); a mistake within them is withdrawn by an admin: still readable, marked,
    no longer `latest`, and a lower version may follow it."""
    assert release(client, admin, "2026.1").status_code == 201
    for implausible in ("999999999.999999999", "20261.1", "2026.10000"):
        refused = release(client, admin, implausible)
        assert refused.status_code == 422, (implausible, refused.text)
        assert refused.headers["Content-Type"] == "application/problem+json"
    mistake = "2062.1"  # meant 2026.2
    assert release(client, admin, mistake).status_code == 201
    assert release(client, admin, "2026.2").status_code == 409
    frozen_before = client.get(f"/releases/{mistake}/countries/RS/positions").content

    path = f"/releases/{mistake}/withdrawal"
    reason = {"reason": "Typo: meant 2026.2."}
    writer = make_key(seeded_settings, "walter-writer", KeyScope.write)
    assert client.post(path, json=reason).status_code == 401
    assert client.post(path, json=reason, headers=bearer(writer)).status_code == 403
    assert client.post(path, json={}, headers=bearer(admin)).status_code == 422
    assert (
        client.post("/releases/2030.1/withdrawal", json=reason, headers=bearer(admin)).status_code
        == 404
    )
    withdrawn = client.post(path, json=reason, headers=bearer(admin))
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["withdrawn"]["reason"] == "Typo: meant 2026.2."
    assert client.post(path, json=reason, headers=bearer(admin)).status_code == 409

    latest = client.get("/releases/latest", follow_redirects=False)
    assert latest.headers["Location"] == "/releases/2026.1"
    shown = client.get(f"/releases/{mistake}")
    assert shown.status_code == 200 and shown.json()["withdrawn"]["reason"]
    assert client.get(f"/releases/{mistake}/countries/RS/positions").content == frozen_before
    assert release(client, admin, "2026.2").status_code == 201
    assert client.get("/releases/latest", follow_redirects=False).headers["Location"] == (
        "/releases/2026.2"
    )
    assert release(client, admin, mistake).status_code == 409  # never given again
    listed = client.get("/releases").json()["items"]
    assert [(r["version"], r["withdrawn"] is not None) for r in listed] == [
        ("2026.2", False),
        (mistake, True),
        ("2026.1", False),
    ]


def test_release_withdraw_on_the_command_line(
    seeded_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", seeded_settings.database_url)
    get_settings.cache_clear()
    try:
        assert main(["release", "create", "2026.3"]) == 0
        assert main(["release", "withdraw", "2026.3", "--reason", "Meant 2026.1."]) == 0
        assert "withdrawn" in capsys.readouterr().out
        assert main(["release", "withdraw", "2026.3", "--reason", "Again."]) == 1
        assert "withdrawn already" in capsys.readouterr().err
        assert main(["release", "create", "2026.1"]) == 0
        capsys.readouterr()
        assert main(["release", "list"]) == 0
        rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:]]
        assert [(row[0], row[-1] == "withdrawn") for row in rows] == [
            ("2026.1", False),
            ("2026.3", True),
        ]
    finally:
        get_settings.cache_clear()
