"""One suite, two backends: every test that takes `settings` runs on SQLite and PostgreSQL.

SQLite: a fresh file per test, copied from a template migrated once per session.
PostgreSQL: a fresh database per session (CP_TEST_POSTGRES_URL names the server), migrated
once, every table truncated after each test. Real commits stay in play either way.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import migrating
from app.db import Base, import_models
from app.main import create_app
from app.settings import Settings
from tests.factories import load_seed_folder

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgres")
# Every test's requests come from one address (or one key): the suite's apps and servers run
# unlimited, and tests/load/test_rate_limit.py turns the limiter on where it tests it.
os.environ.setdefault("CP_RATE_LIMIT_ENABLED", "false")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=("sqlite", "postgres", "all"),
        default="all",
        help="database backend(s) to run the suite against (default: all)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--backend")
        backends: list[object] = list(BACKENDS) if chosen == "all" else [chosen]
        if metafunc.definition.get_closest_marker("postgres_only"):
            skip = pytest.mark.skip(reason="postgres_only: exercises PostgreSQL behaviour")
            backends = [pytest.param(b, marks=skip) if b != "postgres" else b for b in backends]
        metafunc.parametrize("backend", backends, scope="session")


def postgres_server_url() -> str:
    return Settings(
        database_url=os.environ.get("CP_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    ).database_url


def create_postgres_database(prefix: str = "cp_test") -> str:
    """Create an empty database on the test server; return its URL. Skips if unreachable."""
    server = make_url(postgres_server_url())
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(
        server, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        reason = (
            f"PostgreSQL not reachable at {server.render_as_string()}: {exc.__class__.__name__}"
        )
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason} (REQUIRE_POSTGRES=1)")
        pytest.skip(f"{reason}; set CP_TEST_POSTGRES_URL or start PostgreSQL")
    finally:
        engine.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    engine = create_engine(postgres_server_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def migrated_database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated to head, once per session: a template file or a PG database."""
    if backend == "sqlite":
        template = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
        migrating.upgrade(Settings(database_url=f"sqlite:///{template}"))
        yield str(template)
    else:
        url = create_postgres_database()
        migrating.upgrade(Settings(database_url=url))
        yield url
        drop_postgres_database(url)


@pytest.fixture
def settings(backend: str, migrated_database: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings pointing at an empty, migrated database private to this test."""
    # Built release packages (app.releases.store) go with the test's files.
    packages = tmp_path / "release-packages"
    if backend == "sqlite":
        copy = tmp_path / "db.sqlite3"
        shutil.copyfile(migrated_database, copy)
        yield Settings(database_url=f"sqlite:///{copy}", release_packages_dir=packages)
        return
    yield Settings(database_url=migrated_database, release_packages_dir=packages)
    _truncate_all(migrated_database)


def _truncate_all(url: str) -> None:
    import_models()
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture
def seeded_settings(settings: Settings) -> Settings:
    """Settings for a database loaded from the real seeds/ folder."""
    load_seed_folder(settings)
    return settings


@pytest.fixture
def client(seeded_settings: Settings) -> Iterator[TestClient]:
    """An HTTP client (httpx) for the app on a seeded database."""
    with TestClient(create_app(seeded_settings)) as test_client:
        yield test_client


@pytest.fixture
def empty_client(settings: Settings) -> Iterator[TestClient]:
    """An HTTP client for the app on a migrated but empty database."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def fresh_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty, unmigrated database of the backend, private to this test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    url = create_postgres_database("cp_fresh")
    yield url
    drop_postgres_database(url)
