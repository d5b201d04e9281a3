from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import func, inspect, select

from app import migrating
from app.db import make_engine
from app.releases.history import VERSIONED_TABLES
from app.settings import Settings
from app.sources.models import Source
from tests.factories import load_seed_folder
from tests.servers import ROOT

TABLES = {
    "alembic_version",
    "api_keys",
    "assessments",
    "categories",
    "changes",
    "claims",
    "denials",
    "countries",
    "dataset_revision",
    "group_memberships",
    "groups",
    "sources",
    "releases",
    *(f"{table}_history" for table in VERSIONED_TABLES),
}


def _tables(settings: Settings) -> set[str]:
    engine = make_engine(settings)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_models_and_migrations_agree_in_a_fresh_interpreter(settings: Settings) -> None:
    # A fresh process: `alembic` must find every model by itself (a regression: ruff once
    # stripped the "unused" imports that registered the models, and autogenerate saw none).
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "check"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": settings.database_url},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr


def test_downgrade_and_upgrade_keep_seeded_data(fresh_database_url: str) -> None:
    settings = Settings(database_url=fresh_database_url)
    migrating.upgrade(settings)
    assert _tables(settings) == TABLES
    load_seed_folder(settings)
    engine = make_engine(settings)
    with engine.connect() as connection:
        sources = connection.scalar(select(func.count()).select_from(Source.__table__))
    try:
        # Down to the initial schema rebuilds `sources` (SQLite batch mode) while assessments
        # point at it.
        migrating.downgrade(settings, "a1df0a685b26")
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(Source.__table__)) == sources
        migrating.upgrade(settings)
        migrating.downgrade(settings, "base")
        assert _tables(settings) == {"alembic_version"}
        migrating.upgrade(settings)
        assert _tables(settings) == TABLES
        with engine.connect() as connection:
            assert migrating.current_revisions(connection) == migrating.head_revisions(settings)
    finally:
        engine.dispose()
