"""What many tests build: the real seeds' ids, keys stored through the service, seed loads,
and a dump of every table. Plain functions with explicit arguments; the conftest fixtures
call them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine

from app.api_keys.service import create_key
from app.db import make_engine, make_sessionmaker
from app.seeding.loader import SeedReport, load_seeds
from app.settings import Settings
from app.vocabulary import KeyScope

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
# Sources in seeds/sources.csv.
CHART = "us-europe-response-chart-2023"
ARTICLE = "insight-news-how-serbia-let-putin-down"
# The line a row appended to the seeds' assessments.csv lands on (the file ends in a newline).
NEXT_ASSESSMENT_LINE = len((SEEDS / "assessments.csv").read_text(encoding="utf-8").splitlines()) + 1
# The seed article's `kind` line in sources.yaml (one of several news reports).
INSIGHT_KIND = "kind: news_report\n  publisher: Insight News Media"
# How many assessments the seeds hold.
SEED_ASSESSMENTS = NEXT_ASSESSMENT_LINE - 2
GRAD = "telegram-serbian-grad-shipment-documents"
# An evidence text that stands once in seeds/assessments.csv (Serbia, training).
SERBIA_TRAINING_EVIDENCE = "The chart shows Serbia refused to provide training to Ukrainian troops."

Dump = dict[str, list[tuple[Any, ...]]]


def make_key(settings: Settings, name: str, scope: KeyScope = KeyScope.admin) -> str:
    """Store a key through the service (committed); return its plaintext."""
    engine = make_engine(settings)
    try:
        with make_sessionmaker(engine).begin() as session:
            _, plaintext = create_key(session, name=name, scope=scope)
    finally:
        engine.dispose()
    return plaintext


def bearer(key: str, **headers: str) -> dict[str, str]:
    """Request headers that present `key`, plus any others."""
    return {"Authorization": f"Bearer {key}", **headers}


def load_seed_folder(settings: Settings, folder: Path = SEEDS) -> SeedReport:
    """Load a seed folder into the database through the loader, on the engine
    `country-positions seed` uses (batch: no request deadline); return its report.

    Regression: on an API engine, a round trip of the load slower than CP_DB_DEADLINE (a
    slow commit on a busy CI disk) was cut by the request watchdog, and fixture setup
    failed with "server closed the connection unexpectedly" (CI of stop 17, and again)."""
    engine = make_engine(settings, batch=True)
    try:
        return load_seeds(make_sessionmaker(engine), folder)
    finally:
        engine.dispose()


def edited_seeds(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of seeds/ under `tmp_path` with the first `old` in assessments.csv made `new`."""
    folder = tmp_path / "edited-seeds"
    shutil.copytree(SEEDS, folder)
    path = folder / "assessments.csv"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


def reflect(engine: Engine) -> MetaData:
    """The database's tables as they are (reflected, so nothing is left out)."""
    metadata = MetaData()
    metadata.reflect(engine)
    return metadata


def dump_tables(engine: Engine, metadata: MetaData) -> Dump:
    """Every row of every table in `metadata`, in a stable order (so two dumps compare equal
    exactly when the data is the same)."""
    with engine.connect() as connection:
        return {
            name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
            for name, table in sorted(metadata.tables.items())
        }


def dump_database(settings: Settings) -> Dump:
    """Every row of every table of the database, in a stable order."""
    engine = make_engine(settings)
    try:
        return dump_tables(engine, reflect(engine))
    finally:
        engine.dispose()
