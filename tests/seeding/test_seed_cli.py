"""`country-positions seed`: what a user sees on stdout and stderr, the exit code, and the database.

In-process through `app.cli.main` (DATABASE_URL set in the environment, as a user would), plus
real subprocesses for `python -m app` and the installed `country-positions` script.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.assessments.models import Assessment
from app.cli import main
from app.countries.models import Country
from app.db import make_engine, make_sessionmaker
from app.revisions.models import current_revision
from app.seeding import loader
from app.settings import Settings, get_settings
from tests.factories import CHART, INSIGHT_KIND, NEXT_ASSESSMENT_LINE, SEEDS, dump_database
from tests.seeding.test_loader import (
    ARTICLE_LINE,
    ASSESSMENTS,
    BAD_CASE_PARAMS,
    COUNTRIES,
    FIRST_LOAD_LINES,
    ONE_EVIDENCE_EDIT_LINES,
    RERUN_LINES,
    SOURCES,
    BadCase,
    append_text,
    copy_seeds,
    replace_text,
    set_cell,
)

FIRST_LOAD = "\n".join(FIRST_LOAD_LINES) + "\n"
RERUN = "\n".join(RERUN_LINES) + "\n"
ONE_EVIDENCE_EDIT = "\n".join(ONE_EVIDENCE_EDIT_LINES) + "\n"
DRY_RUN_FIRST_LOAD = "\n".join([*FIRST_LOAD_LINES[:-1], "dry run: nothing was written"]) + "\n"


@pytest.fixture
def seeded_database(database: Settings, capsys: pytest.CaptureFixture[str]) -> Settings:
    """The same database after `seed` loaded the real seeds/ (something a bad load could lose)."""
    assert main(["seed", str(SEEDS)]) == 0
    assert capsys.readouterr().out == FIRST_LOAD
    return database


def run_seed(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `country-positions seed ARGS` in-process; return exit code, stdout and stderr."""
    code = main(["seed", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def revision_in(settings: Settings) -> int:
    engine = make_engine(settings)
    try:
        with make_sessionmaker(engine)() as session:
            return current_revision(session)
    finally:
        engine.dispose()


def run_subprocess(
    command: list[str], settings: Settings, cwd: Path
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CP_")}
    env["DATABASE_URL"] = settings.database_url
    return subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


# --- in-process ------------------------------------------------------------------------------


def test_seed_empty_database_prints_created_counts(
    database: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_seed(capsys, str(SEEDS)) == (0, FIRST_LOAD, "")
    assert revision_in(database) == 1


def test_seed_without_path_reads_cp_seeds_path(
    database: Settings,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = copy_seeds(tmp_path)
    set_cell(folder, ASSESSMENTS, 8, "evidence", "Austria: No in every category.")
    assert run_seed(capsys) == (0, FIRST_LOAD, "")

    monkeypatch.setenv("CP_SEEDS_PATH", str(folder))
    get_settings.cache_clear()

    assert run_seed(capsys) == (0, ONE_EVIDENCE_EDIT, "")


def test_seed_rerun_prints_nothing_changed(
    seeded_database: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    before = dump_database(seeded_database)

    assert run_seed(capsys, str(SEEDS)) == (0, RERUN, "")

    assert dump_database(seeded_database) == before
    assert revision_in(seeded_database) == 1


def test_seed_edited_evidence_prints_one_update(
    seeded_database: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = copy_seeds(tmp_path)
    set_cell(folder, ASSESSMENTS, 8, "evidence", "Austria: No in every category.")

    assert run_seed(capsys, str(folder)) == (0, ONE_EVIDENCE_EDIT, "")
    assert revision_in(seeded_database) == 2


def test_seed_dry_run_empty_database_prints_creates_writes_nothing(
    database: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    before = dump_database(database)

    assert run_seed(capsys, str(SEEDS), "--dry-run") == (0, DRY_RUN_FIRST_LOAD, "")

    assert dump_database(database) == before
    assert revision_in(database) == 0


def test_seed_dry_run_seeded_database_prints_update_writes_nothing(
    seeded_database: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = copy_seeds(tmp_path)
    set_cell(folder, ASSESSMENTS, 8, "evidence", "Austria: No in every category.")
    before = dump_database(seeded_database)

    code, out, err = run_seed(capsys, "--dry-run", str(folder))

    assert (code, err) == (0, "")
    assert out.splitlines() == [*ONE_EVIDENCE_EDIT_LINES[:-1], "dry run: nothing was written"]
    assert dump_database(seeded_database) == before
    assert revision_in(seeded_database) == 1


@pytest.mark.parametrize("case", BAD_CASE_PARAMS)
def test_seed_bad_input_exits_1_with_errors_and_writes_nothing(
    case: BadCase,
    seeded_database: Settings,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    folder = copy_seeds(tmp_path)
    case.mutate(folder)
    before = dump_database(seeded_database)

    assert run_seed(capsys, str(folder)) == (1, "", case.expected_stderr(folder))

    assert dump_database(seeded_database) == before
    assert revision_in(seeded_database) == 1


def test_seed_bad_input_dry_run_exits_1(
    seeded_database: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = copy_seeds(tmp_path)
    set_cell(folder, ASSESSMENTS, 14, "value", "unknown")

    code, out, err = run_seed(capsys, "--dry-run", str(folder))

    assert (code, out) == (1, "")
    assert err == (
        f"error: {folder / ASSESSMENTS}:14: value: 'unknown' is never stored: leave the row out "
        "when no source reports a value\n"
        "1 error(s); nothing was written.\n"
    )


def test_seed_three_bad_rows_prints_three_error_lines(
    seeded_database: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = copy_seeds(tmp_path)
    # Not line 3 (Serbia's lethal aid in the chart): denials.yaml names that row.
    set_cell(folder, ASSESSMENTS, 4, "category", "logistics")
    set_cell(folder, ASSESSMENTS, 9, "as_of", "02/03/2023")
    set_cell(folder, ASSESSMENTS, 12, "source", "no-such-chart")
    before = dump_database(seeded_database)

    code, out, err = run_seed(capsys, str(folder))

    file = folder / ASSESSMENTS
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"error: {file}:4: category: Input should be 'training', 'lethal_aid', "
        "'future_capability' or 'future_will'",
        f"error: {file}:9: as_of: expected a date as YYYY-MM-DD, got '02/03/2023'",
        f"error: {file}:12: source: missing source 'no-such-chart' (not in sources.yaml)",
        "3 error(s); nothing was written.",
    ]
    assert dump_database(seeded_database) == before


def test_seed_errors_in_several_files_printed_in_file_order(
    seeded_database: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = copy_seeds(tmp_path)
    append_text(folder, COUNTRIES, "ZX,,,\n")
    replace_text(folder, SOURCES, INSIGHT_KIND, "kind: tweet\n  publisher: Insight")
    append_text(folder, ASSESSMENTS, f"AT,training,no,{CHART},,,2023-03-02,Repeated.,,\n")

    code, out, err = run_seed(capsys, str(folder))

    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"error: {folder / COUNTRIES}:41: code: unknown country code 'ZX' (not in ISO 3166-1)",
        f"error: {folder / SOURCES}:{ARTICLE_LINE}: kind: Input should be 'leaked_document', "
        "'news_report', 'official_statement', 'online_posting', 'analysis' or 'other'",
        f"error: {folder / ASSESSMENTS}:{NEXT_ASSESSMENT_LINE}: duplicate row: same country, "
        "category, source and as_of as line 7",
        "3 error(s); nothing was written.",
    ]


def test_seed_failure_while_applying_leaves_database_unchanged(
    seeded_database: Settings,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = copy_seeds(tmp_path)
    set_cell(folder, ASSESSMENTS, 8, "evidence", "Austria: No in every category.")
    before = dump_database(seeded_database)

    def bump_then_fail(session: Session) -> int:
        raise RuntimeError("simulated failure after the rows were written")

    monkeypatch.setattr(loader, "bump_revision", bump_then_fail)

    with pytest.raises(RuntimeError, match="simulated failure"):
        main(["seed", str(folder)])

    assert capsys.readouterr().out == ""
    assert dump_database(seeded_database) == before


def test_seed_database_conflict_leaves_database_unchanged(
    database: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(database)
    try:
        with make_sessionmaker(engine)() as session, session.begin():
            session.add(Country(code="QZ", alpha3="SRB", numeric=None, name="Squatter"))
    finally:
        engine.dispose()
    before = dump_database(database)

    # Regression: a database error used to escape as a traceback.
    assert main(["seed", str(SEEDS)]) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: the database refused the load: ")
    assert "Traceback" not in captured.err
    assert captured.err.endswith("nothing was written.\n")
    assert dump_database(database) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["seed", "--bogus"], "unrecognized arguments: --bogus", id="unknown-option"),
        pytest.param(["seed", "one", "two"], "unrecognized arguments: two", id="two-paths"),
    ],
)
def test_seed_usage_error_exits_2(
    args: list[str], message: str, database: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    before = dump_database(database)

    with pytest.raises(SystemExit) as raised:
        main(args)

    assert raised.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "usage: country-positions [-h] [--version] COMMAND ...\n"
        f"country-positions: error: {message}\n"
    )
    assert dump_database(database) == before


# --- real processes ----------------------------------------------------------------------------


def test_seed_subprocess_loads_then_reruns_unchanged(settings: Settings, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "app", "seed", str(SEEDS)]

    first = run_subprocess(command, settings, tmp_path)
    assert (first.returncode, first.stdout, first.stderr) == (0, FIRST_LOAD, "")

    again = run_subprocess(command, settings, tmp_path)
    assert (again.returncode, again.stdout, again.stderr) == (0, RERUN, "")
    assert revision_in(settings) == 1


def test_seed_subprocess_bad_input_exits_1_and_writes_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    seed = run_subprocess([sys.executable, "-m", "app", "seed", str(SEEDS)], settings, tmp_path)
    assert seed.returncode == 0, seed.stderr
    folder = copy_seeds(tmp_path)
    set_cell(folder, ASSESSMENTS, 7, "as_of", "2023-02-30")
    set_cell(folder, ASSESSMENTS, 10, "value", "maybe")
    before = dump_database(settings)

    result = run_subprocess([sys.executable, "-m", "app", "seed", str(folder)], settings, tmp_path)

    file = folder / ASSESSMENTS
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"error: {file}:7: as_of: Input should be a valid date or datetime, day value is "
        "outside expected range\n"
        f"error: {file}:10: value: Input should be 'yes', 'no' or 'decreasing'\n"
        "2 error(s); nothing was written.\n"
    )
    assert dump_database(settings) == before


def test_seed_console_script_dry_run_writes_nothing(settings: Settings, tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("country-positions")
    assert script.is_file(), "install the project (pip install -e .) to get the script"
    before = dump_database(settings)

    result = run_subprocess([str(script), "seed", "--dry-run", str(SEEDS)], settings, tmp_path)

    assert (result.returncode, result.stdout, result.stderr) == (0, DRY_RUN_FIRST_LOAD, "")
    assert dump_database(settings) == before


def _show(engine_settings: Settings, *, batch: bool, setting: str) -> str:
    engine = make_engine(engine_settings, batch=batch)
    try:
        with engine.connect() as connection:
            return str(connection.scalar(text(f"SHOW {setting}")))
    finally:
        engine.dispose()


@pytest.mark.postgres_only
def test_api_engines_have_the_statement_timeout_and_no_jit_and_batch_engines_neither(
    database: Settings,
) -> None:
    """Regression (jit): the whole chart, planned on default estimates, was costed high
    enough for PostgreSQL to JIT-compile it: 140 ms of compilation for a 1 ms query."""
    configured = database.model_copy(update={"db_statement_timeout_ms": 1234})
    assert _show(configured, batch=False, setting="statement_timeout") == "1234ms"
    assert _show(configured, batch=False, setting="jit") == "off"
    assert _show(configured, batch=True, setting="statement_timeout") == "0"


@pytest.mark.postgres_only
def test_bulk_seed_is_not_cut_by_the_api_statement_timeout(
    database: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Regression: the loader shared the API's statement_timeout (10 s), so `seed --bulk` of a
    million rows died in its COPY with "canceling statement due to statement timeout".
    With a 1 ms timeout, copying 3,000 rows cannot finish unless the loader runs without one."""
    monkeypatch.setenv("CP_DB_STATEMENT_TIMEOUT_MS", "1")
    get_settings.cache_clear()
    folder = copy_seeds(tmp_path)
    start = date(1900, 1, 1)
    rows = "".join(
        f"AT,training,no,{CHART},,,{start + timedelta(days=i)},Synthetic row {i}.,,\n"
        for i in range(3000)
    )
    append_text(folder, ASSESSMENTS, rows)
    assert main(["seed", "--bulk", str(folder)]) == 0, capsys.readouterr()
    in_file = (folder / ASSESSMENTS).read_text(encoding="utf-8").count("\n") - 1
    engine = make_engine(database)
    try:
        with engine.connect() as connection:
            stored = connection.scalar(select(func.count()).select_from(Assessment))
    finally:
        engine.dispose()
    assert stored == in_file
