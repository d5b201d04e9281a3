"""The bulk path (`seed --bulk`): same validation, outcome and change log as the regular
loader, streamed through a staging table."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.assessments.models import Assessment
from app.changes.models import Change
from app.changes.service import snapshot
from app.db import make_engine, make_sessionmaker
from app.revisions.models import current_revision
from app.seeding.bulk import load_seeds_bulk
from app.seeding.loader import SeedReport, load_seeds
from app.seeding.reading import SeedValidationError
from app.settings import Settings
from tests.factories import NEXT_ASSESSMENT_LINE as NEXT
from tests.factories import SEED_ASSESSMENTS, SEEDS, dump_database


@pytest.fixture
def factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings)
    yield make_sessionmaker(engine)
    engine.dispose()


def _counts(report: SeedReport) -> dict[str, tuple[int, int, int]]:
    return {k: (c.created, c.updated, c.unchanged) for k, c in report.counts.items()}


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    return folder


def _assessments(factory: sessionmaker[Session]) -> list[dict[str, Any]]:
    with factory() as session:
        rows = session.scalars(select(Assessment).order_by(Assessment.id))
        return [snapshot(row) for row in rows]


def test_bulk_load_matches_the_regular_loader(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    report = load_seeds_bulk(factory, SEEDS)
    assert _counts(report) == {
        "countries": (39, 0, 0),
        "categories": (4, 0, 0),
        "sources": (19, 0, 0),
        "assessments": (38, 0, 0),
        "groups": (2, 0, 0),
        "memberships": (58, 0, 0),
        "claims": (19, 0, 0),
        "denials": (4, 0, 0),
    }
    bulk_rows = _assessments(factory)
    with factory() as session:
        assert current_revision(session) == 1
        created = session.scalars(
            select(Change).where(Change.entity == "assessment").order_by(Change.id)
        ).all()
    # The change log records each assessment as snapshot() would have.
    assert [c.after for c in created] == bulk_rows
    assert {(c.actor, c.action.value) for c in created} == {("seed", "create")}
    rerun = load_seeds(factory, SEEDS)
    assert _counts(rerun)["assessments"] == (0, 0, 38)
    assert rerun.revision is None


def test_bulk_rerun_and_edit_update_only_what_changed(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    load_seeds_bulk(factory, SEEDS)
    assert _counts(load_seeds_bulk(factory, SEEDS))["assessments"] == (0, 0, 38)
    folder = _copy(tmp_path)
    path = folder / "assessments.csv"
    path.write_text(path.read_text().replace("Malta No in all four categories.", "Malta: No.", 1))
    report = load_seeds_bulk(factory, folder)
    assert _counts(report)["assessments"] == (0, 1, SEED_ASSESSMENTS - 1)
    assert report.revision == 2
    with factory() as session:
        update = session.scalars(select(Change).where(Change.action == "update")).one()
        assessment = session.get(Assessment, int(update.entity_id))
        assert assessment is not None and assessment.evidence == "The chart marks Malta: No."
        assert assessment.version == 2
    assert update.before is not None and update.after is not None
    assert update.before["evidence"] == "The chart marks Malta No in all four categories."
    assert update.after["evidence"] == "The chart marks Malta: No."
    assert update.after["version"] == 2


def test_bulk_errors_name_file_and_line_and_write_nothing(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    load_seeds(factory, SEEDS)
    before = dump_database(settings)
    folder = _copy(tmp_path)
    path = folder / "assessments.csv"
    rows = path.read_text().splitlines()
    rows.append(rows[1])  # the next line repeats line 2
    rows.append("ZZ,training,no,us-europe-response-chart-2023,,,2023-03-02,x,,")
    rows.append("RS,training,maybe,us-europe-response-chart-2023,,,2023-03-02,x,,")
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(SeedValidationError) as raised:
        load_seeds_bulk(factory, folder)
    messages = [str(error) for error in raised.value.errors]
    assert messages[0] == (
        f"{path}:{NEXT + 1}: country: unknown country code 'ZZ' (not in countries.csv)"
    )
    assert messages[1].startswith(f"{path}:{NEXT + 2}: value: Input should be 'yes', 'no'")
    assert dump_database(settings) == before
    # Duplicates are found in the staging table once every row is valid.
    rows = rows[:-2]
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(SeedValidationError) as duplicate:
        load_seeds_bulk(factory, folder)
    assert [str(e) for e in duplicate.value.errors] == [
        f"{path}:{NEXT}: duplicate row: same country, category, source and as_of as line 2"
    ]
    assert dump_database(settings) == before


def test_bulk_dry_run_writes_nothing(factory: sessionmaker[Session], settings: Settings) -> None:
    before = dump_database(settings)
    report = load_seeds_bulk(factory, SEEDS, dry_run=True)
    assert _counts(report)["assessments"] == (38, 0, 0)
    assert report.dry_run and report.revision is None
    assert dump_database(settings) == before


@pytest.mark.postgres_only
def test_bulk_checks_every_reference_once_in_place_of_the_row_triggers(
    factory: sessionmaker[Session],
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On PostgreSQL the merge runs without the per-row foreign-key triggers; a set-based
    check stands in for them, so a reference the row checks let through is still refused."""
    load_seeds(factory, SEEDS)
    before = dump_database(settings)
    folder = _copy(tmp_path)
    path = folder / "assessments.csv"
    with path.open("a", encoding="utf-8") as stream:
        stream.write("ZZ,training,no,us-europe-response-chart-2023,,,2023-03-02,x,,\n")
        stream.write(
            "RS,training,no,us-europe-response-chart-2023,no-such-report,,2023-04-01,x,,\n"
        )
    monkeypatch.setattr("app.seeding.bulk.assessment_reference_problems", lambda row, seeds: [])
    with pytest.raises(SeedValidationError) as raised:
        load_seeds_bulk(factory, folder)
    assert [str(e) for e in raised.value.errors] == [
        f"{path}:{line}: refers to a country, category or source that is not in the database"
        for line in (NEXT, NEXT + 1)
    ]
    assert dump_database(settings) == before
