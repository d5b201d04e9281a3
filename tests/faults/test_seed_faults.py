"""The seed loader under faults, on both backends: a load killed with SIGKILL half-way leaves
the database exactly as it was (and the next load works), and no seed file, however broken,
gets past the loader as anything but a clean success or a clear `SeedValidationError` (exit
1, one `error: <file>[:<line>]: ...` line per problem) with nothing written.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from app.db import make_engine, make_sessionmaker
from app.seeding.loader import load_seeds
from app.seeding.reading import SeedValidationError
from app.settings import Settings
from tests.factories import (
    ARTICLE,
    CHART,
    GRAD,
    SEED_ASSESSMENTS,
    SEEDS,
    dump_database,
    dump_tables,
    reflect,
)
from tests.faults.failures import Failures
from tests.servers import ROOT

COUNTRIES, CATEGORIES, SOURCES, ASSESSMENTS = (
    "countries.csv",
    "categories.yaml",
    "sources.yaml",
    "assessments.csv",
)
GROUPS, MEMBERSHIPS = "groups.yaml", "group_memberships.csv"
CLAIMS, DENIALS = "claims.yaml", "denials.yaml"
SEED_FILES = (COUNTRIES, CATEGORIES, SOURCES, ASSESSMENTS, GROUPS, MEMBERSHIPS, CLAIMS, DENIALS)
CSV_FILES = (COUNTRIES, ASSESSMENTS, MEMBERSHIPS)
ORIGINAL = {name: (SEEDS / name).read_bytes() for name in SEED_FILES}
SOURCE_IDS = [CHART, ARTICLE, GRAD]
CATEGORY_KEYS = ["training", "lethal_aid", "future_capability", "future_will"]
SYNTHETIC_ROWS = 50_000
# An edit a fresh load must apply after a killed one: the first assessment's evidence.
FIRST_EVIDENCE = "The chart shows Serbia refused to provide training to Ukrainian troops."
EDITED_EVIDENCE = "The chart shows Serbia refused to train Ukrainian troops (edited)."


def copy_seeds(folder: Path) -> Path:
    shutil.copytree(SEEDS, folder)
    return folder


def edit_first_evidence(folder: Path) -> None:
    path = folder / ASSESSMENTS
    content = path.read_text(encoding="utf-8")
    assert content.count(FIRST_EVIDENCE) == 1
    path.write_text(content.replace(FIRST_EVIDENCE, EDITED_EVIDENCE), encoding="utf-8")


def run_seed(
    settings: Settings, folder: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "seed", *extra, str(folder)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": settings.database_url, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- SIGKILL in the middle of a load ----------------------------------------------------------


@pytest.fixture(scope="module")
def big_seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """seeds/ plus 50 000 valid assessments (every country, category and source, over many
    as_of dates) and one changed evidence: a load that creates and updates, for seconds."""
    folder = copy_seeds(tmp_path_factory.mktemp("big") / "seeds")
    edit_first_evidence(folder)
    codes = [row["code"] for row in csv.DictReader(io.StringIO(ORIGINAL[COUNTRIES].decode()))]
    values = ["yes", "no", "decreasing"]
    with (folder / ASSESSMENTS).open("a", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        day, n = date(2020, 1, 1), 0
        while n < SYNTHETIC_ROWS:
            for code in codes:
                for category in CATEGORY_KEYS:
                    for source in SOURCE_IDS:
                        evidence = f"Synthetic row {n} for the kill test."
                        writer.writerow(
                            [code, category, values[n % 3], source, "", "", day, evidence, "", ""]
                        )
                        n += 1
            day += timedelta(days=1)
    return folder


@dataclass(frozen=True)
class KillPoint:
    """A moment in a load, recognised from outside the loader's process."""

    name: str
    reached: Callable[[], bool]


def wait_for(process: subprocess.Popen[bytes], point: KillPoint, log: Path) -> None:
    deadline = time.monotonic() + 90
    while not point.reached():
        if process.poll() is not None:
            output = log.read_text(errors="replace")
            pytest.fail(f"load ended ({process.returncode}) before {point.name!r}:\n{output}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"load never reached {point.name!r}")
        time.sleep(0.02)


def postgres_points(engine: Engine, app_name: str, bulk: bool) -> list[KillPoint]:
    def activity() -> tuple[bool, str]:
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT backend_xid IS NOT NULL, coalesce(query, '') FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": app_name},
            ).first()
        return (bool(row[0]), str(row[1])) if row else (False, "")

    def writing() -> bool:
        return activity()[0]

    def statement(prefix: str) -> Callable[[], bool]:
        def reached() -> bool:
            has_xid, query = activity()
            return has_xid and " ".join(query.split()).upper().startswith(prefix)

        return reached

    if bulk:
        return [
            KillPoint("streaming rows into the staging table (COPY)", statement("COPY")),
            KillPoint(
                "merging: inserting the assessments with their change log",
                statement("WITH INSERTED AS (INSERT INTO ASSESSMENTS"),
            ),
        ]
    return [
        KillPoint("first write (a transaction id is assigned)", writing),
        KillPoint("writing the change log", statement("INSERT INTO CHANGES")),
    ]


def sqlite_points(path: Path) -> list[KillPoint]:
    wal = Path(f"{path}-wal")

    def write_locked() -> bool:
        probe = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            return "locked" in str(exc)
        finally:
            probe.close()

    def wal_grown() -> bool:
        return wal.exists() and wal.stat().st_size >= 8_000_000 and write_locked()

    return [
        KillPoint("write lock taken", write_locked),
        KillPoint("8 MB of uncommitted pages in the WAL", wal_grown),
    ]


def truncate_wal(path: Path) -> None:
    """Start each load with an empty WAL, so its growth is this load's own."""
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def wait_for_backend_gone(engine: Engine, app_name: str) -> None:
    """PostgreSQL notices the dead client and rolls back; until then its locks are held."""
    deadline = time.monotonic() + 15
    query = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name")
    while True:
        with engine.connect() as connection:
            if not connection.scalar(query, {"name": app_name}):
                return
        if time.monotonic() > deadline:
            pytest.fail("the killed loader's backend is still there after 15s")
        time.sleep(0.05)


@pytest.mark.parametrize("bulk", [False, True], ids=["regular", "bulk"])
def test_seed_killed_mid_load_leaves_database_as_before_and_next_load_works(
    backend: str, seeded_settings: Settings, big_seeds: Path, tmp_path: Path, bulk: bool
) -> None:
    before = dump_database(seeded_settings)
    app_name = f"cp-seed-kill-{os.getpid()}"
    url = seeded_settings.database_url
    path = Path(str(make_url(url).database))
    argv = [sys.executable, "-m", "app", "seed", *(["--bulk"] if bulk else []), str(big_seeds)]
    monitor = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        if backend == "postgres":
            points = postgres_points(monitor, app_name, bulk)
        else:
            points = sqlite_points(path)
        for index, point in enumerate(points):
            if backend == "sqlite":
                truncate_wal(path)
            log = tmp_path / f"seed-{index}.log"
            with log.open("wb") as output:
                process = subprocess.Popen(
                    argv,
                    cwd=ROOT,
                    env={**os.environ, "DATABASE_URL": url, "PGAPPNAME": app_name},
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
                try:
                    wait_for(process, point, log)
                    process.send_signal(signal.SIGKILL)
                finally:
                    process.kill()
                    process.wait(timeout=30)
            assert process.returncode == -signal.SIGKILL, f"not killed at {point.name!r}"
            if backend == "postgres":
                wait_for_backend_gone(monitor, app_name)
            else:
                with sqlite3.connect(path) as check:
                    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert dump_database(seeded_settings) == before, f"killed at {point.name!r}"
    finally:
        monitor.dispose()

    # The next load is not blocked by anything the killed one left (locks, staging tables).
    edited = copy_seeds(tmp_path / "edited")
    edit_first_evidence(edited)
    result = run_seed(seeded_settings, edited, *(["--bulk"] if bulk else []))
    assert result.returncode == 0, result.stderr
    unchanged = SEED_ASSESSMENTS - 1
    assert f"assessments  created      0  updated      1  unchanged {unchanged:>6}" in result.stdout
    assert "Traceback" not in result.stderr


# --- broken seed files ------------------------------------------------------------------------


def error_line(folder: Path) -> re.Pattern[str]:
    """`<file>:<line>: ...` (or `<file>: ...` for a whole-file problem), one line."""
    files = "|".join(re.escape(name) for name in SEED_FILES)
    return re.compile(rf"{re.escape(str(folder))}/(?:{files})(?::[1-9][0-9]*)?: \S[^\n]*")


NASTY_YAML_SCALARS = [
    "!!int abc",
    "!!float abc",
    "!!bool maybe",
    "!!timestamp 2023-02-30",
    "!!binary '@@@'",
    "!!str {a: 1}",
    "9" * 5_000,
    '"a\\0b"',
    '"\\x1b[2J"',
    "*undefined",
    "&a [*a]",
    "[" * 2_000 + "]" * 2_000,
    "{" * 2_000 + "}" * 2_000,
    "x" * 100_001,
    "2023-02-30",
    "~",
    "[]",
    "{}",
    "|\n    multi\n    line",
]
NASTY_CSV_CELLS = [
    "\x00",
    "yes\x00",
    '"',
    "\r",
    "\u2028",
    "=cmd|' /C calc'!A0",
    "unknown",
    " rs ",
    "2023-02-30",
    "0001-01-01",
    "9999-12-31",
    "99999-01-01",
    "x" * 4_001,
    "x" * 100_001,
    "x" * 140_000,
]
ENCODINGS = ["latin-1", "cp1252", "utf-16", "utf-16-le", "utf-32", "utf-8-sig", "utf-7"]
YAML_DATA = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def csv_lines(content: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content, newline="")))


def csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@st.composite
def broken_seed_file(draw: st.DrawFn) -> tuple[str, str, bytes | None]:
    """(file name, what was done to it, its new content or None to delete it)."""
    name = draw(st.sampled_from(SEED_FILES))
    original = ORIGINAL[name]
    content = original.decode("utf-8")
    kinds = ["random bytes", "random text", "re-encoded", "truncated", "empty", "header only"]
    kinds += ["missing", "duplicated record", "nasty value", "random records"]
    kinds += ["wrong columns"] if name in CSV_FILES else ["wrong keys"]
    kind = draw(st.sampled_from(kinds))
    if kind == "random bytes":
        return name, kind, draw(st.binary(max_size=600))
    if kind == "random text":
        return name, kind, draw(st.text(max_size=300)).encode("utf-8", "surrogatepass")
    if kind == "re-encoded":
        encoding = draw(st.sampled_from(ENCODINGS))
        extra = draw(st.sampled_from(["", "\u00fc", "\u2014", "\U0001f1f7\U0001f1f8"]))
        if name in CSV_FILES:
            rows = csv_lines(content)
            row = draw(st.integers(1, len(rows) - 1))
            rows[row][-1] += extra
            content = csv_text(rows)
        else:
            content += f"# {extra}\n"
        return name, f"{kind} as {encoding}", content.encode(encoding, "replace")
    if kind == "truncated":
        return name, kind, original[: draw(st.integers(0, len(original) - 1))]
    if kind == "empty":
        return name, kind, b""
    if kind == "header only":
        first = content.split("\n", 1)[0]
        return name, kind, (first + draw(st.sampled_from(["", "\n", "\r\n"]))).encode()
    if kind == "missing":
        return name, kind, None
    if name in CSV_FILES:
        rows = csv_lines(content)
        header, body = rows[0], rows[1:]
        if kind == "duplicated record":
            rows.append(list(draw(st.sampled_from(body))))
        elif kind == "nasty value":
            record = draw(st.sampled_from(body))
            record[draw(st.integers(0, len(record) - 1))] = draw(st.sampled_from(NASTY_CSV_CELLS))
        elif kind == "random records":
            cells = st.text(max_size=30)
            rows = [header, *draw(st.lists(st.lists(cells, min_size=1, max_size=10), max_size=5))]
        else:  # wrong columns
            column = draw(st.integers(0, len(header) - 1))
            change = draw(st.sampled_from(["drop", "rename", "repeat", "add", "shuffle"]))
            if change == "drop":
                rows = [r[:column] + r[column + 1 :] for r in rows]
            elif change == "rename":
                header[column] = draw(st.text(max_size=12))
            elif change == "repeat":
                rows = [[*r, r[column]] for r in rows]
            elif change == "add":
                rows = [[*header, "extra"], *([*r, ""] for r in body)]
            else:
                order = draw(st.permutations(range(len(header))))
                rows = [[r[i] for i in order] for r in rows]
            kind = f"{kind}: {change}"
        return name, kind, csv_text(rows).encode("utf-8")
    # YAML files
    if kind == "duplicated record":
        records = content.split("\n- ")
        return name, kind, (content + "- " + draw(st.sampled_from(records[1:]))).encode()
    if kind == "nasty value":
        value = draw(st.sampled_from(NASTY_YAML_SCALARS))
        return name, kind, yaml_case(name, value)
    if kind == "random records":
        return name, kind, yaml.safe_dump(draw(YAML_DATA), allow_unicode=True).encode()
    # wrong keys
    key = draw(st.sampled_from(["key", "label"] if name == CATEGORIES else ["id", "title", "kind"]))
    wrong = draw(st.sampled_from(["", f"{key}s", key.upper(), "?", "0"]))
    return name, kind, content.replace(f"{key}:", f"{wrong}:", 1).encode()


def write_folder(folder: Path, name: str, content: bytes | None) -> None:
    """The real seeds, with `name` replaced by `content` (or deleted)."""
    folder.mkdir(exist_ok=True)
    for seed, data in ORIGINAL.items():
        (folder / seed).write_bytes(data)
    if content is None:
        (folder / name).unlink()
    else:
        (folder / name).write_bytes(content)


def assert_clean_errors(exc: SeedValidationError, folder: Path) -> None:
    assert exc.errors, "a SeedValidationError without errors"
    pattern = error_line(folder)
    for error in exc.errors:
        assert pattern.fullmatch(str(error)), f"not a <file>:<line>: message line: {error!s:.300}"


@pytest.fixture
def loader_engine(seeded_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(seeded_settings)
    yield engine
    engine.dispose()


def test_broken_seed_file_is_clean_success_or_seed_validation_error_writing_nothing(
    loader_engine: Engine, tmp_path: Path
) -> None:
    factory = make_sessionmaker(loader_engine)
    metadata = reflect(loader_engine)
    folder = tmp_path / "seeds"

    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(broken=broken_seed_file())
    def check(broken: tuple[str, str, bytes | None]) -> None:
        name, _kind, content = broken
        write_folder(folder, name, content)
        before = dump_tables(loader_engine, metadata)
        try:
            load_seeds(factory, folder)
        except SeedValidationError as exc:
            assert_clean_errors(exc, folder)
            assert dump_tables(loader_engine, metadata) == before, "a failed load wrote"

    check()


YAML_FAULTS: list[tuple[str, str, str]] = [
    ("an explicit !!int tag on text", SOURCES, "!!int abc"),
    ("an explicit !!float tag on text", SOURCES, "!!float abc"),
    ("an explicit !!bool tag on text", SOURCES, "!!bool maybe"),
    ("an explicit !!timestamp tag on an impossible date", SOURCES, "!!timestamp 2023-02-30"),
    ("an integer of 5 000 digits", SOURCES, "9" * 5_000),
    ("a NUL byte, escaped", SOURCES, '"a\\0b"'),
    ("a NUL byte in a category label", CATEGORIES, '"Train\\0ing"'),
]
DEEP_YAML = [
    ("3 000 nested flow lists", "[" * 3_000 + "]" * 3_000),
    ("3 000 nested block lists", "- " * 3_000 + "x\n"),
    ("3 000 nested flow mappings", "{a: " * 3_000 + "1" + "}" * 3_000),
]


def yaml_case(name: str, value: str) -> bytes:
    content = ORIGINAL[name].decode()
    if name == CATEGORIES:
        return content.replace("label: Training", f"label: {value}", 1).encode()
    record = "- id: extra-source\n  title: {}\n  kind: other\n  verification_status: verified\n"
    return (content + record.format(value)).encode()


def test_yaml_that_pyyaml_cannot_construct_is_a_seed_validation_error(
    loader_engine: Engine, seeded_settings: Settings, tmp_path: Path
) -> None:
    """Regression: `_yaml_records` caught only yaml.YAMLError, but PyYAML's SafeConstructor
    raises ValueError (`!!int abc`, `!!float abc`, `!!timestamp 2023-02-30`, integers over
    4 300 digits), KeyError (`!!bool maybe`) and RecursionError (deep nesting) itself: the
    load crashed with a traceback instead of naming the file and line."""
    factory = make_sessionmaker(loader_engine)
    before = dump_database(seeded_settings)
    failures = Failures()
    cases = [(what, name, yaml_case(name, value)) for what, name, value in YAML_FAULTS]
    cases += [(what, SOURCES, value.encode()) for what, value in DEEP_YAML]
    for index, (what, name, content) in enumerate(cases):
        folder = tmp_path / f"case-{index}"
        write_folder(folder, name, content)
        with failures.case(f"{name} with {what}"):
            try:
                load_seeds(factory, folder)
            except SeedValidationError as exc:
                assert_clean_errors(exc, folder)
                assert any(e.file.endswith(name) for e in exc.errors), exc.errors
            except Exception as exc:
                raise AssertionError(f"raised {exc.__class__.__name__}: {exc!s:.200}") from exc
            else:
                raise AssertionError("loaded without an error")
    failures.check()
    assert dump_database(seeded_settings) == before


@dataclass(frozen=True)
class CliCase:
    what: str
    name: str
    content: bytes


def truncated_in_a_quoted_field() -> bytes:
    content = (
        ORIGINAL[ASSESSMENTS] + b'AT,training,no,us-europe-response-chart-2023,,,2023-05-01,"an'
    )
    return content


CLI_CASES = [
    CliCase("random bytes", COUNTRIES, bytes(range(256)) * 4),
    CliCase("UTF-16", SOURCES, ORIGINAL[SOURCES].decode().encode("utf-16")),
    CliCase(
        "latin-1",
        ASSESSMENTS,
        ORIGINAL[ASSESSMENTS]
        + "AT,training,no,x,,,2023-05-01,Gr\u00fc\u00dfe,,\n".encode("latin-1"),
    ),
    CliCase("a file cut inside a quoted field", ASSESSMENTS, truncated_in_a_quoted_field()),
    CliCase("only a comment", CATEGORIES, b"# nothing here\n"),
    CliCase("only the header", COUNTRIES, b"code,name,alpha3,numeric\n\n"),
    CliCase(
        "a 140 000-character field",
        ASSESSMENTS,
        ORIGINAL[ASSESSMENTS] + b"AT," + b"x" * 140_000 + b"\n",
    ),
    CliCase(
        "a duplicate row",
        ASSESSMENTS,
        ORIGINAL[ASSESSMENTS] + ORIGINAL[ASSESSMENTS].split(b"\n")[1] + b"\n",
    ),
    CliCase("an explicit !!int tag on text", SOURCES, yaml_case(SOURCES, "!!int abc")),
]


def test_broken_seed_file_through_the_cli_exits_1_with_one_line_per_error(
    seeded_settings: Settings, tmp_path: Path
) -> None:
    before = dump_database(seeded_settings)

    def run(index: int, case: CliCase) -> tuple[CliCase, Path, subprocess.CompletedProcess[str]]:
        folder = tmp_path / f"cli-{index}"
        write_folder(folder, case.name, case.content)
        return case, folder, run_seed(seeded_settings, folder)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, range(len(CLI_CASES)), CLI_CASES))
    failures = Failures()
    for case, folder, result in results:
        with failures.case(
            f"{case.name} with {case.what}: exit {result.returncode}\n{result.stderr[-1500:]}"
        ):
            assert result.returncode == 1
            assert result.stdout == ""
            assert "Traceback" not in result.stderr
            *errors, summary = result.stderr.splitlines()
            assert re.fullmatch(r"[1-9][0-9]* error\(s\); nothing was written\.", summary)
            pattern = error_line(folder)
            for line in errors:
                assert line.startswith("error: ") and pattern.fullmatch(line[7:]), line[:300]
    failures.check()
    assert dump_database(seeded_settings) == before
