"""The group seed files: loaded like every other kind, refused row by row when wrong
(unknown group, country or source; `left` not after `joined`; overlapping spans), and
all-or-nothing by the regular and the bulk loader alike."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db import make_engine, make_sessionmaker
from app.groups.models import Group, GroupMembership
from app.seeding.bulk import load_seeds_bulk
from app.seeding.loader import load_seeds
from app.seeding.reading import SeedValidationError
from app.settings import Settings
from tests.factories import SEEDS, dump_database, load_seed_folder

MEMBERSHIPS = "group_memberships.csv"
GROUPS = "groups.yaml"


def _seeds_with(tmp_path: Path, *rows: str) -> Path:
    """A copy of seeds/ with `rows` appended to group_memberships.csv."""
    folder = Path(shutil.copytree(SEEDS, tmp_path / "seeds"))
    with (folder / MEMBERSHIPS).open("a", encoding="utf-8") as file:
        file.writelines(row + "\n" for row in rows)
    return folder


def _line_count(folder: Path) -> int:
    return len((folder / MEMBERSHIPS).read_text(encoding="utf-8").splitlines())


def test_seeds_load_both_groups_and_every_membership(settings: Settings) -> None:
    report = load_seed_folder(settings)
    counts = {k: (c.created, c.updated, c.unchanged) for k, c in report.counts.items()}
    assert counts["groups"] == (2, 0, 0)
    assert counts["memberships"] == (58, 0, 0)  # 28 EU, 30 NATO
    engine = make_engine(settings, batch=True)
    try:
        with make_sessionmaker(engine)() as session:
            assert session.scalar(select(func.count()).select_from(Group)) == 2
            uk = session.scalars(
                select(GroupMembership).where(
                    GroupMembership.group_key == "eu", GroupMembership.country_code == "GB"
                )
            ).one()
            assert (uk.joined.isoformat(), uk.left and uk.left.isoformat()) == (
                "1973-01-01",
                "2020-01-31",
            )
    finally:
        engine.dispose()


def test_rerun_changes_no_group(settings: Settings) -> None:
    load_seed_folder(settings)
    report = load_seed_folder(settings)
    assert (report.counts["groups"].unchanged, report.counts["memberships"].unchanged) == (
        2,
        58,
    )
    assert not report.changed


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        (
            "warsaw-pact,PL,1955-05-14,1991-07-01,nato-member-countries,",
            "group",
            "unknown group 'warsaw-pact' (not in groups.yaml)",
        ),
        (
            "nato,US,1949-08-24,,nato-member-countries,",
            "country_code",
            "unknown country code 'US' (not in countries.csv)",
        ),
        (
            "eu,CH,1992-12-06,,no-such-list,",
            "source_id",
            "unknown source 'no-such-list' (not in sources.yaml)",
        ),
        (
            "eu,CH,2000-01-01,1999-12-31,eu-countries,",
            "left",
            "left (1999-12-31) must be after joined (2000-01-01): it is exclusive",
        ),
        (
            "eu,CH,2000-01-01,2000-01-01,eu-countries,",
            "left",
            "left (2000-01-01) must be after joined (2000-01-01): it is exclusive",
        ),
        (
            "nato,FI,2024-01-01,,nato-member-countries,",
            "joined",
            "FI in 'nato' overlaps line 58 (from 2023-04-04)",
        ),
        (
            "eu,GB,2019-01-01,2021-01-01,eu-countries,",
            "joined",
            "GB in 'eu' overlaps line 10 (from 1973-01-01 until 2020-01-31)",
        ),
        (
            "nato,FI,2023-04-04,,nato-member-countries,",
            None,
            "duplicate row: same group, country_code and joined as line 58",
        ),
        ("eu,CH,2000-13-01,,eu-countries,", "joined", None),
        ("eu,CH,2999-01-01,,eu-countries,", "joined", "2999-01-01 is after today"),
    ],
)
def test_bad_membership_row_is_refused_and_nothing_is_written(
    settings: Settings, tmp_path: Path, row: str, field: str | None, message: str | None
) -> None:
    load_seed_folder(settings)
    before = dump_database(settings)
    folder = _seeds_with(tmp_path, row)
    engine = make_engine(settings, batch=True)
    try:
        for load in (load_seeds, load_seeds_bulk):
            with pytest.raises(SeedValidationError) as raised:
                load(make_sessionmaker(engine), folder)
            [error] = raised.value.errors
            assert (error.file, error.line, error.field) == (
                str(folder / MEMBERSHIPS),
                _line_count(folder),
                field,
            )
            if message is not None:
                assert error.message.startswith(message), error.message
    finally:
        engine.dispose()
    assert dump_database(settings) == before


def test_a_group_citing_an_unknown_source_is_refused(settings: Settings, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(SEEDS, tmp_path / "seeds"))
    path = folder / GROUPS
    text = path.read_text(encoding="utf-8")
    assert text.count("source: nato-member-countries") == 1
    path.write_text(text.replace("source: nato-member-countries", "source: nato-website"))
    with pytest.raises(SeedValidationError) as raised:
        load_seed_folder(settings, folder)
    assert [str(e) for e in raised.value.errors] == [
        f"{path}:10: source: unknown source 'nato-website' (not in sources.yaml)"
    ]


def test_an_unreadable_groups_file_is_not_blamed_again_per_membership(
    settings: Settings, tmp_path: Path
) -> None:
    folder = Path(shutil.copytree(SEEDS, tmp_path / "seeds"))
    (folder / GROUPS).unlink()
    with pytest.raises(SeedValidationError) as raised:
        load_seed_folder(settings, folder)
    assert [str(e) for e in raised.value.errors] == [f"{folder / GROUPS}: file is missing"]


def test_memberships_of_two_spans_load_when_they_do_not_overlap(
    settings: Settings, tmp_path: Path
) -> None:
    folder = _seeds_with(
        tmp_path,
        "eu,CH,2000-01-01,2005-01-01,eu-countries,test",
        "eu,CH,2005-01-01,,eu-countries,test: rejoined the day it left",
    )
    engine = make_engine(settings, batch=True)
    try:
        report = load_seeds_bulk(make_sessionmaker(engine), folder)
    finally:
        engine.dispose()
    assert report.counts["memberships"].created == 60
