"""The seed loader: good files load, reruns change nothing, every bad record is reported at
once before the database is touched, and a failure while applying leaves the database as it was.

Every test takes `settings`, so it runs on SQLite and PostgreSQL. Bad inputs are edited copies
of the real `seeds/` folder; `BAD_CASES` is shared with `test_seed_cli.py`.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.assessments.models import Assessment
from app.categories.models import Category
from app.countries.models import Country
from app.db import Base, make_engine, make_sessionmaker
from app.groups.models import Group, GroupMembership
from app.revisions.models import current_revision
from app.seeding import loader
from app.seeding.loader import SeedReport, load_seeds
from app.seeding.reading import SeedError, SeedValidationError
from app.settings import Settings
from app.sources.models import Source
from app.statements.models import Claim, Denial
from app.vocabulary import AssessedValue, CategoryKey, SourceKind, VerificationStatus
from tests.factories import (
    ARTICLE,
    CHART,
    GRAD,
    INSIGHT_KIND,
    NEXT_ASSESSMENT_LINE,
    SEED_ASSESSMENTS,
    SEEDS,
    dump_database,
)

COUNTRIES = "countries.csv"
CATEGORIES = "categories.yaml"
SOURCES = "sources.yaml"
ASSESSMENTS = "assessments.csv"
DENIALS = "denials.yaml"
ASSESSMENT_HEADER = (
    "country,category,value,source,reported_via,relayed_through,as_of,evidence,"
    "evidence_language,note"
)
CATEGORY_ORDER = "training, lethal_aid, future_capability, future_will"

FIRST_LOAD_LINES = [
    "countries    created     39  updated      0  unchanged      0",
    "categories   created      4  updated      0  unchanged      0",
    "sources      created     19  updated      0  unchanged      0",
    "assessments  created     38  updated      0  unchanged      0",
    "groups       created      2  updated      0  unchanged      0",
    "memberships  created     58  updated      0  unchanged      0",
    "claims       created     19  updated      0  unchanged      0",
    "denials      created      4  updated      0  unchanged      0",
    "dataset revision is now 1",
]
RERUN_LINES = [
    "countries    created      0  updated      0  unchanged     39",
    "categories   created      0  updated      0  unchanged      4",
    "sources      created      0  updated      0  unchanged     19",
    "assessments  created      0  updated      0  unchanged     38",
    "groups       created      0  updated      0  unchanged      2",
    "memberships  created      0  updated      0  unchanged     58",
    "claims       created      0  updated      0  unchanged     19",
    "denials      created      0  updated      0  unchanged      4",
    "nothing changed",
]
ONE_EVIDENCE_EDIT_LINES = [
    "countries    created      0  updated      0  unchanged     39",
    "categories   created      0  updated      0  unchanged      4",
    "sources      created      0  updated      0  unchanged     19",
    "assessments  created      0  updated      1  unchanged     37",
    "groups       created      0  updated      0  unchanged      2",
    "memberships  created      0  updated      0  unchanged     58",
    "claims       created      0  updated      0  unchanged     19",
    "denials      created      0  updated      0  unchanged      4",
    "dataset revision is now 2",
]
SEEDED_TABLE_COUNTS = {
    "countries": 39,
    "categories": 4,
    "sources": 19,
    "assessments": 38,
    "groups": 2,
    "memberships": 58,
    "claims": 19,
    "denials": 4,
}
EMPTY_TABLE_COUNTS = dict.fromkeys(SEEDED_TABLE_COUNTS, 0)


def source_line(source_id: str) -> int:
    """The line the record of `source_id` starts on in the real seeds/sources.yaml."""
    lines = (SEEDS / SOURCES).read_text(encoding="utf-8").splitlines()
    return lines.index(f"- id: {source_id}") + 1


# Where errors about the article's record, the Telegram documents' record, and a record
# appended after a blank line are reported.
ARTICLE_LINE = source_line(ARTICLE)
GRAD_LINE = source_line(GRAD)
APPENDED_SOURCE_LINE = len((SEEDS / SOURCES).read_text(encoding="utf-8").splitlines()) + 2
# The byte offset of the e-acute `_latin1_byte_in_assessments` writes into assessments.csv.
LATIN1_BYTE = (SEEDS / ASSESSMENTS).read_bytes().index(b"Serbia committed") + len(b"Serbi")


# --- helpers: copies of seeds/ to edit, and what the database holds ---------------------------


def copy_seeds(tmp_path: Path) -> Path:
    """A private copy of the real seeds/ folder, safe to edit."""
    return Path(shutil.copytree(SEEDS, tmp_path / "seeds"))


def replace_text(folder: Path, name: str, old: str, new: str) -> None:
    """Replace `old`, which must occur exactly once, in one seed file."""
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur exactly once in {name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def append_text(folder: Path, name: str, text: str) -> None:
    path = folder / name
    existing = path.read_text(encoding="utf-8")
    assert existing.endswith("\n")
    path.write_text(existing + text, encoding="utf-8")


def write_file(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def set_cell(folder: Path, name: str, line: int, column: str, value: str) -> None:
    """Set one field of the CSV record on `line` (the seed files have one record per line)."""
    path = folder / name
    lines = path.read_text(encoding="utf-8").split("\n")
    header = next(csv.reader([lines[0]]))
    row = next(csv.reader([lines[line - 1]]))
    row[header.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(row)
    lines[line - 1] = out.getvalue()
    path.write_text("\n".join(lines), encoding="utf-8")


def csv_line(folder: Path, name: str, line: int) -> str:
    return (folder / name).read_text(encoding="utf-8").split("\n")[line - 1]


def table_counts(factory: sessionmaker[Session]) -> dict[str, int]:
    models: dict[str, type[Base]] = {
        "countries": Country,
        "categories": Category,
        "sources": Source,
        "assessments": Assessment,
        "groups": Group,
        "memberships": GroupMembership,
        "claims": Claim,
        "denials": Denial,
    }
    with factory() as session:
        return {
            kind: session.scalar(select(func.count()).select_from(model)) or 0
            for kind, model in models.items()
        }


def revision_of(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return current_revision(session)


def counts_of(report: SeedReport) -> dict[str, tuple[int, int, int]]:
    return {k: (c.created, c.updated, c.unchanged) for k, c in report.counts.items()}


@pytest.fixture
def factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """A session factory on the test's empty, migrated database."""
    engine = make_engine(settings)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def seeded_factory(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """The same database after loading the real seeds: something for a bad load to lose."""
    load_seeds(factory, SEEDS)
    assert table_counts(factory) == SEEDED_TABLE_COUNTS
    return factory


# --- the bad inputs, shared with test_seed_cli.py -----------------------------------------------

Expected = tuple[str, int | None, str | None, str]


@dataclass(frozen=True)
class BadCase:
    """An edit that breaks a copy of seeds/, and the errors it must produce, in order."""

    id: str
    mutate: Callable[[Path], None]
    errors: tuple[Expected, ...]

    def expected_errors(self, folder: Path) -> list[SeedError]:
        return [SeedError(str(folder / f), line, fld, msg) for f, line, fld, msg in self.errors]

    def expected_stderr(self, folder: Path) -> str:
        lines = [f"error: {e}" for e in self.expected_errors(folder)]
        lines.append(f"{len(self.errors)} error(s); nothing was written.")
        return "\n".join(lines) + "\n"


def _duplicate_first_source(folder: Path) -> None:
    text = (folder / SOURCES).read_text(encoding="utf-8")
    first = text[text.index("- id:") : text.index("\n\n") + 1]
    append_text(folder, SOURCES, "\n" + first)


def _swap_first_two_categories(folder: Path) -> None:
    text = (folder / CATEGORIES).read_text(encoding="utf-8")
    lines = text.split("\n")
    # line 1 is a comment; records start on lines 2 and 6 (four lines each)
    lines[1:9] = lines[5:9] + lines[1:5]
    (folder / CATEGORIES).write_text("\n".join(lines), encoding="utf-8")


def _latin1_byte_in_assessments(folder: Path) -> None:
    path = folder / ASSESSMENTS
    data = path.read_bytes()
    old = b"The chart shows Serbia committed"
    assert data.count(old) == 1
    # "Serbia" as a Windows-1252 editor might save a French spelling: "Serbie" with an e-acute.
    path.write_bytes(data.replace(old, b"The chart shows Serbi\xe9 committed"))


BAD_CASES: tuple[BadCase, ...] = (
    # assessments.csv: cross-references
    BadCase(
        "assessment-unknown-country",
        lambda d: set_cell(d, ASSESSMENTS, 2, "country", "UA"),
        ((ASSESSMENTS, 2, "country", "unknown country code 'UA' (not in countries.csv)"),),
    ),
    BadCase(
        "assessment-missing-source",
        lambda d: set_cell(d, ASSESSMENTS, 3, "source", "no-such-chart"),
        (
            (ASSESSMENTS, 3, "source", "missing source 'no-such-chart' (not in sources.yaml)"),
            # The row was the chart's lethal_aid for Serbia, which every denial names.
            *(
                (
                    DENIALS,
                    line,
                    "category",
                    f"names no assessment: assessments.csv has no lethal_aid row of {CHART!r} "
                    "for RS (a denial stands beside a value)",
                )
                for line in (2, 20, 33, 48)
            ),
        ),
    ),
    BadCase(
        "assessment-missing-reported-via",
        lambda d: set_cell(d, ASSESSMENTS, 4, "reported_via", "no-such-article"),
        (
            (
                ASSESSMENTS,
                4,
                "reported_via",
                "missing source 'no-such-article' (not in sources.yaml)",
            ),
        ),
    ),
    BadCase(
        "assessment-duplicate-row",
        lambda d: append_text(
            d, ASSESSMENTS, f"AT,training,yes,{CHART},,,2023-03-02,A conflicting copy.,,\n"
        ),
        (
            (
                ASSESSMENTS,
                NEXT_ASSESSMENT_LINE,
                None,
                "duplicate row: same country, category, source and as_of as line 7",
            ),
        ),
    ),
    # assessments.csv: field values
    BadCase(
        "assessment-unknown-category",
        lambda d: set_cell(d, ASSESSMENTS, 7, "category", "logistics"),
        (
            (
                ASSESSMENTS,
                7,
                "category",
                "Input should be 'training', 'lethal_aid', 'future_capability' or 'future_will'",
            ),
        ),
    ),
    BadCase(
        "assessment-bad-value",
        lambda d: set_cell(d, ASSESSMENTS, 12, "value", "maybe"),
        ((ASSESSMENTS, 12, "value", "Input should be 'yes', 'no' or 'decreasing'"),),
    ),
    BadCase(
        "assessment-value-unknown",
        lambda d: set_cell(d, ASSESSMENTS, 14, "value", "unknown"),
        (
            (
                ASSESSMENTS,
                14,
                "value",
                "'unknown' is never stored: leave the row out when no source reports a value",
            ),
        ),
    ),
    BadCase(
        "assessment-impossible-date",
        lambda d: set_cell(d, ASSESSMENTS, 8, "as_of", "2023-02-30"),
        (
            (
                ASSESSMENTS,
                8,
                "as_of",
                "Input should be a valid date or datetime, day value is outside expected range",
            ),
        ),
    ),
    BadCase(
        "assessment-date-not-iso",
        lambda d: set_cell(d, ASSESSMENTS, 9, "as_of", "02/03/2023"),
        ((ASSESSMENTS, 9, "as_of", "expected a date as YYYY-MM-DD, got '02/03/2023'"),),
    ),
    BadCase(
        "assessment-empty-evidence",
        lambda d: set_cell(d, ASSESSMENTS, 10, "evidence", " "),
        ((ASSESSMENTS, 10, "evidence", "String should have at least 1 character"),),
    ),
    # assessments.csv: shape of the file
    BadCase(
        "assessment-truncated-row",
        lambda d: replace_text(
            d,
            ASSESSMENTS,
            csv_line(d, ASSESSMENTS, 14) + "\n",
            f"MT,future_will,no,{CHART}\n",
        ),
        ((ASSESSMENTS, 14, None, "row has 4 field(s), the header has 10"),),
    ),
    BadCase(
        "assessment-extra-field",
        lambda d: replace_text(
            d, ASSESSMENTS, csv_line(d, ASSESSMENTS, 5), csv_line(d, ASSESSMENTS, 5) + ",extra"
        ),
        ((ASSESSMENTS, 5, None, "row has 11 field(s), the header has 10"),),
    ),
    BadCase(
        "assessment-missing-column",
        lambda d: replace_text(
            d, ASSESSMENTS, ASSESSMENT_HEADER, ASSESSMENT_HEADER.replace(",evidence,", ",", 1)
        ),
        (
            (
                ASSESSMENTS,
                1,
                None,
                f"missing column(s) evidence; expected {ASSESSMENT_HEADER}",
            ),
        ),
    ),
    BadCase(
        "assessment-unknown-column",
        lambda d: replace_text(d, ASSESSMENTS, ASSESSMENT_HEADER, ASSESSMENT_HEADER + "s"),
        ((ASSESSMENTS, 1, None, f"unknown column(s) 'notes'; expected {ASSESSMENT_HEADER}"),),
    ),
    BadCase(
        "assessment-wrong-column",
        lambda d: replace_text(d, ASSESSMENTS, "country,category", "country_code,category"),
        (
            (
                ASSESSMENTS,
                1,
                None,
                "missing column(s) country; unknown column(s) 'country_code'; "
                f"expected {ASSESSMENT_HEADER}",
            ),
        ),
    ),
    BadCase(
        "assessment-repeated-column",
        lambda d: replace_text(
            d,
            ASSESSMENTS,
            ",evidence,evidence_language,note",
            ",evidence,evidence_language,evidence",
        ),
        (
            (
                ASSESSMENTS,
                1,
                None,
                f"repeated column(s) evidence; expected {ASSESSMENT_HEADER}",
            ),
        ),
    ),
    BadCase(
        "assessment-not-utf8",
        _latin1_byte_in_assessments,
        ((ASSESSMENTS, 3, None, f"not valid UTF-8 (byte {LATIN1_BYTE}); save the file as UTF-8"),),
    ),
    BadCase(
        "assessment-unclosed-quote",
        lambda d: append_text(d, ASSESSMENTS, f'MT,training,yes,{CHART},,,2023-04-01,"Unclosed\n'),
        ((ASSESSMENTS, NEXT_ASSESSMENT_LINE, None, "malformed CSV: unexpected end of data"),),
    ),
    BadCase(
        "assessment-empty-file",
        lambda d: write_file(d, ASSESSMENTS, ""),
        ((ASSESSMENTS, 1, None, f"file is empty; expected header {ASSESSMENT_HEADER}"),),
    ),
    BadCase(
        "countries-file-missing",
        lambda d: (d / COUNTRIES).unlink(),
        ((COUNTRIES, None, None, "file is missing"),),
    ),
    BadCase(
        "categories-file-missing",
        lambda d: (d / CATEGORIES).unlink(),
        ((CATEGORIES, None, None, "file is missing"),),
    ),
    BadCase(
        "sources-file-missing",
        lambda d: (d / SOURCES).unlink(),
        ((SOURCES, None, None, "file is missing"),),
    ),
    BadCase(
        "assessment-file-missing",
        lambda d: (d / ASSESSMENTS).unlink(),
        ((ASSESSMENTS, None, None, "file is missing"),),
    ),
    # countries.csv
    BadCase(
        "country-unknown-iso-code",
        lambda d: append_text(d, COUNTRIES, "ZX,,,\n"),
        ((COUNTRIES, 41, "code", "unknown country code 'ZX' (not in ISO 3166-1)"),),
    ),
    BadCase(
        "country-duplicate",
        lambda d: append_text(d, COUNTRIES, "AT,,,\n"),
        ((COUNTRIES, 41, "code", "duplicate country AT (first on line 3)"),),
    ),
    BadCase(
        "country-iso-code-with-name",
        lambda d: set_cell(d, COUNTRIES, 2, "name", "Albania"),
        (
            (
                COUNTRIES,
                2,
                "name",
                "AL is an ISO code: leave name, alpha3 and numeric empty (from ISO 3166)",
            ),
        ),
    ),
    BadCase(
        "country-user-assigned-without-alpha3",
        lambda d: set_cell(d, COUNTRIES, 20, "alpha3", ""),
        ((COUNTRIES, 20, "name", "user-assigned code XK needs name and alpha3"),),
    ),
    BadCase(
        "country-code-malformed",
        # Bosnia and Herzegovina (line 5): no assessment and no membership cites it.
        lambda d: set_cell(d, COUNTRIES, 5, "code", "A1"),
        ((COUNTRIES, 5, "code", "String should match pattern '^[A-Z]{2}$'"),),
    ),
    # Regression: a clash on the unique alpha3 column used to surface as an IntegrityError
    # half-way through the load; it is now a validation error naming both lines.
    BadCase(
        "country-duplicate-alpha3",
        lambda d: set_cell(d, COUNTRIES, 20, "alpha3", "SRB"),
        ((COUNTRIES, 33, "alpha3", "duplicate alpha3 SRB (also on line 20)"),),
    ),
    BadCase(
        "country-wrong-column",
        lambda d: replace_text(d, COUNTRIES, "code,name", "iso,name"),
        (
            (
                COUNTRIES,
                1,
                None,
                "missing column(s) code; unknown column(s) 'iso'; "
                "expected code,name,alpha3,numeric",
            ),
        ),
    ),
    # categories.yaml
    BadCase(
        "categories-out-of-order",
        _swap_first_two_categories,
        ((CATEGORIES, None, "key", f"categories must be exactly, in order: {CATEGORY_ORDER}"),),
    ),
    BadCase(
        "category-unknown-key",
        lambda d: replace_text(d, CATEGORIES, "key: future_will", "key: future_logistics"),
        (
            (
                CATEGORIES,
                15,
                "key",
                "Input should be 'training', 'lethal_aid', 'future_capability' or 'future_will'",
            ),
        ),
    ),
    BadCase(
        "category-missing-label",
        lambda d: replace_text(d, CATEGORIES, "  label: Lethal aid\n", ""),
        ((CATEGORIES, 6, "label", "Field required"),),
    ),
    BadCase(
        "category-unknown-field",
        lambda d: replace_text(
            d, CATEGORIES, "  label: Training\n", "  label: Training\n  tag: x\n"
        ),
        ((CATEGORIES, 2, "tag", "Extra inputs are not permitted"),),
    ),
    BadCase(
        "categories-malformed-yaml",
        lambda d: replace_text(d, CATEGORIES, "label: Lethal aid", "label: [Lethal aid"),
        (
            (
                CATEGORIES,
                8,
                None,
                "malformed YAML: expected ',' or ']', but got ':' (column 13)",
            ),
        ),
    ),
    BadCase(
        "categories-not-a-list",
        lambda d: write_file(d, CATEGORIES, "training: Training\n"),
        ((CATEGORIES, None, None, "expected a list of records"),),
    ),
    # sources.yaml
    BadCase(
        "source-duplicate-id",
        _duplicate_first_source,
        ((SOURCES, APPENDED_SOURCE_LINE, "id", f"duplicate source '{CHART}' (first on line 2)"),),
    ),
    # Regression: each row citing a source whose record is invalid was also reported as
    # "missing source ... (not in sources.yaml)", 13 untrue errors after the real one.
    BadCase(
        "source-unknown-kind",
        lambda d: replace_text(d, SOURCES, INSIGHT_KIND, "kind: tweet\n  publisher: Insight"),
        (
            (
                SOURCES,
                ARTICLE_LINE,
                "kind",
                "Input should be 'leaked_document', 'news_report', 'official_statement', "
                "'online_posting', 'analysis' or 'other'",
            ),
        ),
    ),
    # Regression: PyYAML turned 2023-02-30 into a ValueError that escaped as a traceback.
    BadCase(
        "source-impossible-date",
        lambda d: replace_text(
            d, SOURCES, "document_date: 2023-03-02", "document_date: 2023-02-30"
        ),
        (
            (
                SOURCES,
                2,
                "document_date",
                "Input should be a valid date or datetime, day value is outside expected range",
            ),
        ),
    ),
    BadCase(
        "source-date-not-iso",
        lambda d: replace_text(
            d, SOURCES, "document_date: 2023-03-02", "document_date: 02/03/2023"
        ),
        ((SOURCES, 2, "document_date", "expected a date as YYYY-MM-DD, got '02/03/2023'"),),
    ),
    # Coverage names countries of countries.csv, and no more of them than it counts.
    BadCase(
        "source-coverage-unknown-country",
        lambda d: replace_text(d, SOURCES, "known: [AL, AT, BE,", "known: [AL, AT, QQ,"),
        (
            (
                SOURCES,
                2,
                "coverage",
                "unknown country code 'QQ' in coverage.known (not in countries.csv)",
            ),
        ),
    ),
    BadCase(
        "source-coverage-over-count",
        lambda d: replace_text(d, SOURCES, "count: 38", "count: 2"),
        ((SOURCES, 2, "coverage", "`known` lists 19 countries, more than `count` (2)"),),
    ),
    BadCase(
        "source-bad-url",
        lambda d: replace_text(
            d,
            SOURCES,
            "  url: null\n  published_on: null\n  document_date: null\n  classification: null\n"
            "  verification_status: unverified\n  verification_note: >-\n    Documents",
            "  url: t.me/somewhere\n  published_on: null\n  document_date: null\n"
            "  classification: null\n  verification_status: unverified\n"
            "  verification_note: >-\n    Documents",
        ),
        ((SOURCES, GRAD_LINE, "url", "String should match pattern '^https?://[^\\s\\x00]+$'"),),
    ),
)
BAD_CASE_PARAMS = [pytest.param(case, id=case.id) for case in BAD_CASES]


# --- good files ------------------------------------------------------------------------------


def test_load_seeds_empty_database_creates_everything(factory: sessionmaker[Session]) -> None:
    report = load_seeds(factory, SEEDS)

    assert counts_of(report) == {
        "countries": (39, 0, 0),
        "categories": (4, 0, 0),
        "sources": (19, 0, 0),
        "assessments": (38, 0, 0),
        "groups": (2, 0, 0),
        "memberships": (58, 0, 0),
        "claims": (19, 0, 0),
        "denials": (4, 0, 0),
    }
    assert report.revision == 1
    assert report.lines() == FIRST_LOAD_LINES
    assert table_counts(factory) == SEEDED_TABLE_COUNTS
    assert revision_of(factory) == 1


def test_load_seeds_stores_iso_names_and_seed_values(factory: sessionmaker[Session]) -> None:
    load_seeds(factory, SEEDS)

    with factory() as session:
        serbia = session.get_one(Country, "RS")
        assert (serbia.alpha3, serbia.numeric, serbia.name) == ("SRB", "688", "Serbia")
        kosovo = session.get_one(Country, "XK")
        assert (kosovo.alpha3, kosovo.numeric, kosovo.name, kosovo.official_name) == (
            "XKX",
            None,
            "Kosovo",
            None,
        )
        categories = session.scalars(select(Category).order_by(Category.position)).all()
        assert [(c.position, c.key, c.label) for c in categories] == [
            (1, CategoryKey.training, "Training"),
            (2, CategoryKey.lethal_aid, "Lethal aid"),
            (3, CategoryKey.future_capability, "Future capability"),
            (4, CategoryKey.future_will, "Future will"),
        ]
        chart = session.get_one(Source, CHART)
        assert (chart.kind, chart.document_date, chart.published_on, chart.url) == (
            SourceKind.leaked_document,
            date(2023, 3, 2),
            None,
            None,
        )
        assert chart.verification_status is VerificationStatus.unverified
        grad = session.scalars(
            select(Assessment).where(
                Assessment.source_id == "telegram-serbian-grad-shipment-documents"
            )
        ).one()
        assert (grad.country_code, grad.category_key, grad.value, grad.as_of) == (
            "RS",
            CategoryKey.lethal_aid,
            AssessedValue.yes,
            date(2022, 11, 30),
        )
        assert grad.reported_via_id == ARTICLE
        assert grad.note is not None and 'to ""November' not in grad.note
        assert 'dates the shipment to "November this year"' in grad.note


def test_load_seeds_rerun_changes_nothing(
    settings: Settings, seeded_factory: sessionmaker[Session]
) -> None:
    before = dump_database(settings)

    report = load_seeds(seeded_factory, SEEDS)

    assert counts_of(report) == {
        "countries": (0, 0, 39),
        "categories": (0, 0, 4),
        "sources": (0, 0, 19),
        "assessments": (0, 0, 38),
        "groups": (0, 0, 2),
        "memberships": (0, 0, 58),
        "claims": (0, 0, 19),
        "denials": (0, 0, 4),
    }
    assert not report.changed
    assert report.revision is None
    assert report.lines() == RERUN_LINES
    assert revision_of(seeded_factory) == 1
    assert dump_database(settings) == before


def test_load_seeds_edited_evidence_updates_one_assessment(
    seeded_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = copy_seeds(tmp_path)
    set_cell(folder, ASSESSMENTS, 8, "evidence", "Austria: No in every category.")
    with seeded_factory() as session:
        before = {a.id: (a.evidence, a.value) for a in session.scalars(select(Assessment))}

    report = load_seeds(seeded_factory, folder)

    assert report.lines() == ONE_EVIDENCE_EDIT_LINES
    assert revision_of(seeded_factory) == 2
    with seeded_factory() as session:
        after = {a.id: (a.evidence, a.value) for a in session.scalars(select(Assessment))}
        edited = session.scalars(
            select(Assessment).where(
                Assessment.country_code == "AT", Assessment.category_key == CategoryKey.lethal_aid
            )
        ).one()
    assert after[edited.id] == ("Austria: No in every category.", AssessedValue.no)
    assert {k: v for k, v in after.items() if k != edited.id} == {
        k: v for k, v in before.items() if k != edited.id
    }
    assert load_seeds(seeded_factory, folder).lines()[-1] == "nothing changed"
    assert revision_of(seeded_factory) == 2


def test_load_seeds_rows_missing_from_files_are_kept(
    settings: Settings, seeded_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = copy_seeds(tmp_path)
    replace_text(folder, ASSESSMENTS, csv_line(folder, ASSESSMENTS, 14) + "\n", "")
    before = dump_database(settings)

    report = load_seeds(seeded_factory, folder)

    assert counts_of(report)["assessments"] == (0, 0, SEED_ASSESSMENTS - 1)
    assert report.lines()[-1] == "nothing changed"
    assert dump_database(settings) == before


def test_load_seeds_dry_run_empty_database_reports_creates_writes_nothing(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    before = dump_database(settings)

    report = load_seeds(factory, SEEDS, dry_run=True)

    assert report.dry_run
    assert report.lines() == [*FIRST_LOAD_LINES[:-1], "dry run: nothing was written"]
    assert table_counts(factory) == EMPTY_TABLE_COUNTS
    assert revision_of(factory) == 0
    assert dump_database(settings) == before


def test_load_seeds_dry_run_seeded_database_reports_update_writes_nothing(
    settings: Settings, seeded_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = copy_seeds(tmp_path)
    set_cell(folder, ASSESSMENTS, 8, "evidence", "Austria: No in every category.")
    before = dump_database(settings)

    report = load_seeds(seeded_factory, folder, dry_run=True)

    assert report.lines() == [*ONE_EVIDENCE_EDIT_LINES[:-1], "dry run: nothing was written"]
    assert revision_of(seeded_factory) == 1
    assert dump_database(settings) == before


# --- bad files: every error reported, nothing written ----------------------------------------


@pytest.mark.parametrize("case", BAD_CASE_PARAMS)
def test_load_seeds_bad_input_reports_error_and_writes_nothing(
    case: BadCase, settings: Settings, seeded_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = copy_seeds(tmp_path)
    case.mutate(folder)
    before = dump_database(settings)

    with pytest.raises(SeedValidationError) as raised:
        load_seeds(seeded_factory, folder)

    assert raised.value.errors == case.expected_errors(folder)
    assert str(raised.value) == f"{len(case.errors)} error(s) in seed files"
    assert dump_database(settings) == before
    assert revision_of(seeded_factory) == 1


@pytest.mark.parametrize("case", BAD_CASE_PARAMS)
def test_load_seeds_bad_input_dry_run_reports_same_errors(
    case: BadCase, seeded_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = copy_seeds(tmp_path)
    case.mutate(folder)

    with pytest.raises(SeedValidationError) as raised:
        load_seeds(seeded_factory, folder, dry_run=True)

    assert raised.value.errors == case.expected_errors(folder)


def test_load_seeds_three_bad_rows_reports_three_errors(
    settings: Settings, seeded_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = copy_seeds(tmp_path)
    set_cell(folder, ASSESSMENTS, 2, "value", "maybe")
    set_cell(folder, ASSESSMENTS, 6, "as_of", "2023-02-30")
    set_cell(folder, ASSESSMENTS, 13, "country", "UA")
    before = dump_database(settings)

    with pytest.raises(SeedValidationError) as raised:
        load_seeds(seeded_factory, folder)

    file = str(folder / ASSESSMENTS)
    assert [str(e) for e in raised.value.errors] == [
        f"{file}:2: value: Input should be 'yes', 'no' or 'decreasing'",
        f"{file}:6: as_of: Input should be a valid date or datetime, "
        "day value is outside expected range",
        f"{file}:13: country: unknown country code 'UA' (not in countries.csv)",
    ]
    assert dump_database(settings) == before


def test_load_seeds_errors_in_every_file_reported_together(
    settings: Settings, seeded_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = copy_seeds(tmp_path)
    append_text(folder, COUNTRIES, "ZX,,,\n")
    replace_text(folder, CATEGORIES, "  label: Training\n", "")
    replace_text(folder, SOURCES, "kind: online_posting", "kind: tweet")
    set_cell(folder, ASSESSMENTS, 11, "value", "unknown")
    set_cell(folder, ASSESSMENTS, 12, "value", "sometimes")
    before = dump_database(settings)

    with pytest.raises(SeedValidationError) as raised:
        load_seeds(seeded_factory, folder)

    assert [(Path(e.file).name, e.line, e.field) for e in raised.value.errors] == [
        (COUNTRIES, 41, "code"),
        (CATEGORIES, 2, "label"),
        (SOURCES, GRAD_LINE, "kind"),
        (ASSESSMENTS, 11, "value"),
        (ASSESSMENTS, 12, "value"),
    ]
    assert dump_database(settings) == before


def test_load_seeds_one_row_with_several_problems_reports_each(
    seeded_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = copy_seeds(tmp_path)
    set_cell(folder, ASSESSMENTS, 7, "value", "maybe")
    set_cell(folder, ASSESSMENTS, 7, "as_of", "02/03/2023")
    set_cell(folder, ASSESSMENTS, 7, "evidence", "")

    with pytest.raises(SeedValidationError) as raised:
        load_seeds(seeded_factory, folder)

    assert [(e.line, e.field) for e in raised.value.errors] == [
        (7, "value"),
        (7, "as_of"),
        (7, "evidence"),
    ]


# Regression: a missing or invalid sources.yaml also gave one untrue "missing source ... (not in
# sources.yaml)" error per citing row; a source truly absent from the file is still reported.
def test_load_seeds_invalid_source_is_not_reported_missing_but_absent_one_is(
    settings: Settings, seeded_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = copy_seeds(tmp_path)
    replace_text(folder, SOURCES, "kind: online_posting", "kind: tweet")
    set_cell(folder, ASSESSMENTS, 3, "reported_via", "no-such-article")
    before = dump_database(settings)

    with pytest.raises(SeedValidationError) as raised:
        load_seeds(seeded_factory, folder)

    assert [(Path(e.file).name, e.line, e.field) for e in raised.value.errors] == [
        (SOURCES, GRAD_LINE, "kind"),
        (ASSESSMENTS, 3, "reported_via"),
    ]
    assert raised.value.errors[1].message == (
        "missing source 'no-such-article' (not in sources.yaml)"
    )
    assert dump_database(settings) == before


def test_load_seeds_missing_folder_reports_every_file(
    seeded_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = tmp_path / "nowhere"

    with pytest.raises(SeedValidationError) as raised:
        load_seeds(seeded_factory, folder)

    assert [str(e) for e in raised.value.errors] == [
        f"{folder / name}: file is missing"
        for name in (
            COUNTRIES,
            CATEGORIES,
            SOURCES,
            ASSESSMENTS,
            "groups.yaml",
            "group_memberships.csv",
            "claims.yaml",
            DENIALS,
        )
    ]


# Regression: YAML errors used to give the record's index (1, 2, 3) where a line belongs.
def test_load_seeds_yaml_error_names_the_line_the_record_starts_on(
    seeded_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = copy_seeds(tmp_path)
    replace_text(
        folder,
        SOURCES,
        "verification_status: unverified\n  verification_note: >-\n    News article relaying",
        "verification_status: maybe\n  verification_note: >-\n    News article relaying",
    )

    with pytest.raises(SeedValidationError) as raised:
        load_seeds(seeded_factory, folder)

    assert [(e.line, e.field) for e in raised.value.errors] == [
        (ARTICLE_LINE, "verification_status")
    ]


# Regression: a record whose quoted field spans lines was reported on its last line.
def test_load_seeds_csv_error_names_the_line_a_multiline_record_starts_on(
    seeded_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = copy_seeds(tmp_path)
    append_text(
        folder,
        ASSESSMENTS,
        f'AT,training,maybe,{CHART},,,2023-04-01,"First line.\nSecond line.\nThird line.",,\n'
        f"MT,training,maybe,{CHART},,,2023-04-01,One line.,,\n",
    )

    with pytest.raises(SeedValidationError) as raised:
        load_seeds(seeded_factory, folder)

    assert [(e.line, e.field) for e in raised.value.errors] == [
        (NEXT_ASSESSMENT_LINE, "value"),
        (NEXT_ASSESSMENT_LINE + 3, "value"),
    ]


def test_load_seeds_multiline_evidence_loads_verbatim(
    seeded_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = copy_seeds(tmp_path)
    append_text(
        folder,
        ASSESSMENTS,
        f'AT,training,yes,{CHART},,,2023-04-01,"First line.\nSecond line.",,\n',
    )

    report = load_seeds(seeded_factory, folder)

    assert counts_of(report)["assessments"] == (1, 0, 38)
    with seeded_factory() as session:
        added = session.scalars(select(Assessment).where(Assessment.as_of == date(2023, 4, 1)))
        assert added.one().evidence == "First line.\nSecond line."


# --- all-or-nothing while applying -----------------------------------------------------------


def test_load_seeds_failure_while_applying_leaves_seeded_database_unchanged(
    settings: Settings,
    seeded_factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = copy_seeds(tmp_path)
    set_cell(folder, ASSESSMENTS, 8, "evidence", "Austria: No in every category.")
    append_text(folder, COUNTRIES, "UA,,,\n")
    append_text(folder, ASSESSMENTS, f"UA,training,yes,{CHART},,,2023-04-01,Some evidence.,,\n")
    before = dump_database(settings)
    seen_in_transaction: list[tuple[int, int, bool]] = []

    def bump_then_fail(session: Session) -> int:
        seen_in_transaction.append(
            (
                session.scalar(select(func.count()).select_from(Country)) or 0,
                session.scalar(select(func.count()).select_from(Assessment)) or 0,
                session.scalar(
                    select(func.count())
                    .select_from(Assessment)
                    .where(Assessment.evidence == "Austria: No in every category.")
                )
                == 1,
            )
        )
        raise RuntimeError("simulated failure after the rows were written")

    monkeypatch.setattr(loader, "bump_revision", bump_then_fail)

    with pytest.raises(RuntimeError, match="simulated failure"):
        load_seeds(seeded_factory, folder)

    # the new country, the new assessment and the edit had reached the database...
    assert seen_in_transaction == [(40, SEED_ASSESSMENTS + 1, True)]
    # ...and were all rolled back
    assert dump_database(settings) == before
    assert revision_of(seeded_factory) == 1


def test_load_seeds_failure_while_applying_leaves_empty_database_empty(
    settings: Settings, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = dump_database(settings)
    flushed: list[dict[str, int]] = []

    def bump_then_fail(session: Session) -> int:
        flushed.append(
            {
                "countries": session.scalar(select(func.count()).select_from(Country)) or 0,
                "assessments": session.scalar(select(func.count()).select_from(Assessment)) or 0,
            }
        )
        raise RuntimeError("simulated failure after the rows were written")

    monkeypatch.setattr(loader, "bump_revision", bump_then_fail)

    with pytest.raises(RuntimeError, match="simulated failure"):
        load_seeds(factory, SEEDS)

    assert flushed == [{"countries": 39, "assessments": 38}]
    assert dump_database(settings) == before
    assert table_counts(factory) == EMPTY_TABLE_COUNTS
    monkeypatch.undo()
    assert load_seeds(factory, SEEDS).lines() == FIRST_LOAD_LINES


def test_load_seeds_database_constraint_failure_rolls_back_everything(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    # A row no seed file knows holds Serbia's alpha3, so inserting RS fails in the database.
    with factory() as session, session.begin():
        session.add(Country(code="QZ", alpha3="SRB", numeric=None, name="Squatter"))
    before = dump_database(settings)

    with pytest.raises(IntegrityError):
        load_seeds(factory, SEEDS)

    assert dump_database(settings) == before
    assert table_counts(factory) == {**EMPTY_TABLE_COUNTS, "countries": 1}
    assert revision_of(factory) == 0
