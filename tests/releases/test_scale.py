"""Releases at a size where their work outlasts the request deadlines (issue 20): the bulk
catalogue the benches use, with deadlines cut to fractions of a second instead of a
million assessments. Nothing here is timed: each test asserts what the user gets."""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.seeding.bulk import load_seeds_bulk
from app.settings import Settings
from app.vocabulary import KeyScope
from bench.generate import generate
from tests.factories import bearer, make_key

# Per backend: a size whose release and package outlast the deadlines below. PostgreSQL's
# CP_DB_DEADLINE cannot go below about a second (app.db_deadline connects only with 1 s
# left), so its catalogue is larger.
SCALE = {"sqlite": (30_000, 0.3, 0.2), "postgres": (150_000, 1.4, 1.2)}
DOWNLOADS = 6
# How long a test waits for a package at most (a bound on a hang, not a measurement).
PATIENCE = 120.0


@pytest.fixture
def bulk_settings(settings: Settings, backend: str, tmp_path: Path) -> Settings:
    """A database holding a bulk-generated catalogue, and deadlines below its work."""
    size, request_deadline, db_deadline = SCALE[backend]
    folder = generate(tmp_path / "catalogue", countries=40, sources=8, assessments=size, seed=20)
    engine = make_engine(settings, batch=True)
    try:
        load_seeds_bulk(make_sessionmaker(engine), folder)
    finally:
        engine.dispose()
    return settings.model_copy(
        update={"request_deadline": request_deadline, "db_deadline": db_deadline}
    )


def _download(client: TestClient, path: str) -> httpx.Response:
    """GET `path`, retrying on the 503 that says the package is being built."""
    waited = 0.0
    while True:
        response: httpx.Response = client.get(path)
        if response.status_code != 503:
            return response
        # Said so by the store, or, under load, by the request deadline around it.
        detail = response.json()["detail"]
        assert "is being built" in detail or "could not be answered" in detail, detail
        retry_after = float(response.headers["Retry-After"])
        assert waited < PATIENCE, "the package was never built"
        threading.Event().wait(min(retry_after, 0.5))
        waited += min(retry_after, 0.5)


def test_releases_are_made_and_downloaded_past_the_request_deadlines(
    bulk_settings: Settings, backend: str
) -> None:
    """POST /releases is exempt from the deadlines; the package is built once (not per
    download, not per concurrent download) and every download gets the same bytes."""
    admin = make_key(bulk_settings, "alice-admin", KeyScope.admin)
    with TestClient(create_app(bulk_settings)) as client:
        assert client.get("/releases").status_code == 200  # a pooled connection
        made = client.post("/releases", json={"version": "2026.1"}, headers=bearer(admin))
        assert made.status_code == 201, made.text
        assert made.json()["counts"]["assessments"] == SCALE[backend][0]
        first = _download(client, "/releases/2026.1/data.zip")
        assert first.status_code == 200
        assert client.app.state.release_packages.builds == 1  # type: ignore[attr-defined]

    # Another process (nothing built in it, the packages folder apart): six downloads at
    # once share one build.
    elsewhere = bulk_settings.model_copy(
        update={"release_packages_dir": bulk_settings.release_packages_dir / "other"}  # type: ignore[operator]
    )
    with TestClient(create_app(elsewhere)) as client:
        assert client.get("/releases/2026.1").status_code == 200  # the release is known
        start = threading.Barrier(DOWNLOADS)

        def download(_: int) -> httpx.Response:
            start.wait()
            return _download(client, "/releases/2026.1/data.zip")

        with ThreadPoolExecutor(DOWNLOADS) as pool:
            downloads = list(pool.map(download, range(DOWNLOADS)))
        assert {d.status_code for d in downloads} == {200}
        assert {d.content for d in downloads} == {first.content}
        assert client.app.state.release_packages.builds == 1  # type: ignore[attr-defined]
        # The descriptor and the CSVs are the zip's own files.
        with zipfile.ZipFile(io.BytesIO(first.content)) as archive:
            descriptor = client.get("/releases/2026.1/datapackage.json")
            assert descriptor.content == archive.read("datapackage.json")
            assessments = client.get("/releases/2026.1/data/assessments.csv")
            assert assessments.content == archive.read("data/assessments.csv")
        assert assessments.content.count(b"\n") == SCALE[backend][0] + 1


@pytest.fixture
def locked_countries(settings: Settings) -> Iterator[None]:
    """Another transaction holding the countries table: a healthy database, but a read of
    it cannot end until the lock goes."""
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection, connection.begin():
            connection.execute(text("LOCK TABLE countries IN ACCESS EXCLUSIVE MODE"))
            yield
    finally:
        engine.dispose()


@pytest.mark.postgres_only
def test_a_query_cut_by_the_deadline_is_said_to_take_too_long(
    seeded_settings: Settings, request: pytest.FixtureRequest
) -> None:
    settings = seeded_settings.model_copy(
        update={"request_deadline": 2.5, "db_deadline": 1.5, "cache_enabled": False}
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/sources").status_code == 200  # a pooled connection
        request.getfixturevalue("locked_countries")
        cut = client.get("/countries")
    assert cut.status_code == 503, cut.text
    assert "took too long" in cut.json()["detail"]
    assert "Retry-After" in cut.headers
