"""`country-positions seed` refuses dates still to come, as the API does (issue 10, item 8):
an assessment's `as_of` or a source's `published_on` after today (UTC) is an error naming
file, line and field, and nothing is written; with `--bulk` too."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from app.cli import main
from app.settings import Settings
from tests.factories import CHART, NEXT_ASSESSMENT_LINE, dump_database
from tests.seeding.test_loader import ASSESSMENTS, SOURCES, append_text, copy_seeds, replace_text

LOADERS = pytest.mark.parametrize("mode", [[], ["--bulk"]], ids=["seed", "seed-bulk"])


def _today() -> date:
    return datetime.now(UTC).date()


def _seed(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str, date]:
    """Run `seed ARGS`; retried if UTC midnight passed meanwhile (so its today is ours)."""
    while True:
        today = _today()
        code = main(["seed", *args])
        captured = capsys.readouterr()
        if _today() == today:
            return code, captured.out, captured.err, today


@LOADERS
def test_seed_refuses_an_assessment_dated_after_today(
    database: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path, mode: list[str]
) -> None:
    folder = copy_seeds(tmp_path)
    # Far enough ahead that no midnight between writing the file and seeding changes it.
    future = _today() + timedelta(days=2)
    append_text(folder, ASSESSMENTS, f"AT,training,no,{CHART},,,{future},Typo for 2023.,,\n")
    before = dump_database(database)

    code, out, err, today = _seed(capsys, *mode, str(folder))

    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"error: {folder / ASSESSMENTS}:{NEXT_ASSESSMENT_LINE}: as_of: {future} is after today "
        f"({today}, UTC)",
        "1 error(s); nothing was written.",
    ]
    assert dump_database(database) == before


@LOADERS
def test_seed_refuses_a_source_published_after_today(
    database: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path, mode: list[str]
) -> None:
    folder = copy_seeds(tmp_path)
    future = _today() + timedelta(days=2)
    replace_text(
        folder,
        SOURCES,
        "  published_on: null\n  document_date: 2023-03-02\n",
        f"  published_on: {future}\n  document_date: 2099-01-01\n",
    )
    before = dump_database(database)

    code, out, err, today = _seed(capsys, *mode, str(folder))

    # document_date may be anything the document carries: only published_on is refused.
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"error: {folder / SOURCES}:2: published_on: {future} is after today ({today}, UTC)",
        "1 error(s); nothing was written.",
    ]
    assert dump_database(database) == before


@LOADERS
def test_seed_accepts_an_assessment_dated_today(
    database: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path, mode: list[str]
) -> None:
    folder = copy_seeds(tmp_path)
    append_text(folder, ASSESSMENTS, f"AT,training,no,{CHART},,,{_today()},Today.,,\n")
    code, _, err, _ = _seed(capsys, *mode, str(folder))
    assert (code, err) == (0, "")
