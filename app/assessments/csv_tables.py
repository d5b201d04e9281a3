"""The CSV exports' column tables: one definition each, which the rows, the OpenAPI text, the
README and the CSVW metadata documents (W3C CSV on the Web) are all made from (issue 12).

Type guessers decide from the text alone, quoted or not: pandas reads `008` as the number 8,
and DuckDB reads a column holding only `yes`/`no` as BOOLEAN. A code is text and stays
exactly as the JSON has it, so these CSVs do not change a value to dodge a guess; instead
each one links (`Link: rel="describedby"`) its metadata document, which types every column,
and the README shows how to hand those types to pandas and DuckDB. The one form chosen for
the guessers is the boolean: `disputed_<category>` and `unverified_<category>` are `true`
or `false`, which both read as booleans unaided.

Every cell goes through app.http.csv_safety on its way out: one that a spreadsheet would
run as a formula gets a leading `'`. Only free text can start that way (names, evidence,
notes); those columns say so (`free_text`), as does each CSV operation's description.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic_core import to_jsonable_python

from app.countries.models import Country
from app.http.csv_safety import ESCAPE, FORMULA_TRIGGERS
from app.vocabulary import (
    AssessedValue,
    CategoryKey,
    Coverage,
    PositionValue,
    SourceKind,
    VerificationStatus,
)

CSVW_CONTEXT = "http://www.w3.org/ns/csvw"
TRUE, FALSE = "true", "false"
_TRIGGERS = ", ".join(f"`{t}`" for t in FORMULA_TRIGGERS if t.isprintable()) + ", a tab or a CR"
FREE_TEXT = (
    f"Free text: a value starting with {_TRIGGERS} gets a leading `{ESCAPE}` here (never a "
    "formula in a spreadsheet); the JSON has it as written."
)
# A source whose authenticity is not established: `unverified`, or `disputed` (contested).
# `verified` counts as established, and `not_applicable` has nothing to establish (an
# official statement is what it says it is).
UNVERIFIED_STATUSES = frozenset({VerificationStatus.unverified, VerificationStatus.disputed})


@dataclass(frozen=True)
class CsvColumn:
    """One column: its header name, its CSVW datatype (`string`, `integer`, `boolean`,
    `date`), a regular expression every value matches (CSVW `format`), what it means, and
    whether it can be empty (empty means null, as in the JSON). A `free_text` column can
    hold text that starts like a formula, and its meaning says what the CSV does then."""

    name: str
    datatype: str
    meaning: str
    pattern: str | None = None
    optional: bool = False
    # A closed vocabulary (app.vocabulary): CSVW gets it as the `format` alternation, a
    # Table Schema (app.releases.package) as `constraints.enum`.
    enum: tuple[str, ...] = ()
    free_text: bool = False

    @property
    def format(self) -> str | None:
        return "|".join(self.enum) if self.enum else self.pattern

    @property
    def described(self) -> str:
        return f"{self.meaning} {FREE_TEXT}" if self.free_text else self.meaning

    def csvw(self) -> dict[str, Any]:
        datatype = {"base": self.datatype}
        if self.format is not None:
            datatype["format"] = self.format
        return {
            "name": self.name,
            "titles": self.name,
            "datatype": datatype,
            "required": not self.optional,
            "dc:description": self.described,
        }


@dataclass(frozen=True)
class CsvTable:
    """One export: its name, the URL of its metadata document (relative to the API root,
    `{code}` filled in per country), the file the document names, and its columns."""

    name: str
    title: str
    metadata_path: str
    file_name: str
    columns: tuple[CsvColumn, ...]
    primary_key: tuple[str, ...]

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]

    def metadata_url(self, **params: str) -> str:
        return self.metadata_path.format(**params)

    def csvw(self) -> dict[str, Any]:
        """The CSVW metadata document. Its `url` is relative, so it resolves against the
        document's own URL to the export it sits beside (`…/positions.csv`)."""
        return {
            "@context": CSVW_CONTEXT,
            "url": self.file_name,
            "dc:title": self.title,
            "dialect": {
                "encoding": "utf-8",
                "header": True,
                "headerRowCount": 1,
                "delimiter": ",",
                "doubleQuote": True,
                "lineTerminators": ["\r\n"],
            },
            "tableSchema": {
                "columns": [c.csvw() for c in self.columns],
                "primaryKey": list(self.primary_key),
            },
        }

    def markdown(self) -> str:
        """The column table, as the OpenAPI descriptions and the README show it."""
        lines = ["| column | type | meaning |", "|---|---|---|"]
        for column in self.columns:
            kind = column.datatype + (", may be empty" if column.optional else "")
            lines.append(f"| `{column.name}` | {kind} | {column.described} |")
        return "\n".join(lines)

    def description(self) -> str:
        """The OpenAPI text of a CSV operation: the columns and where their types live."""
        return (
            f"Columns, in order (typed by the CSVW document at `{self.metadata_path}`, "
            'which the response links with `Link: <…>; rel="describedby"`):\n\n'
            f"{self.markdown()}\n\n"
            "Empty fields are nulls; booleans are `true`/`false`. Type guessers read text "
            "that looks like a number or a yes/no as one (pandas makes `008` the number 8, "
            "DuckDB a yes/no column BOOLEAN): give them the document's types. Against "
            'spreadsheet formula injection (OWASP "CSV injection"), a text cell that '
            f"starts with {_TRIGGERS} is written with a leading `{ESCAPE}`, which "
            "spreadsheets show as text; the JSON has the original."
        )


def flag(value: bool) -> str:
    """A boolean as both pandas and DuckDB read one unaided (and as CSVW writes it)."""
    return TRUE if value else FALSE


ALPHA2 = "[A-Z]{2}"
CODE = CsvColumn("code", "string", "ISO 3166-1 alpha-2 code (Kosovo: `XK`).", ALPHA2)
ALPHA3 = CsvColumn("alpha3", "string", "ISO 3166-1 alpha-3 code.", "[A-Z]{3}")
NAME = CsvColumn("name", "string", "Common English name.", free_text=True)
SLUG = "[a-z0-9]+(?:-[a-z0-9]+)*"  # app.schemas.SOURCE_ID_PATTERN, unanchored

COUNTRIES = CsvTable(
    name="countries",
    title="The catalogue of countries, ordered by name",
    metadata_path="/exports/countries.csv-metadata.json",
    file_name="countries.csv",
    columns=(
        CODE,
        ALPHA3,
        CsvColumn(
            "numeric",
            "string",
            "ISO 3166-1 numeric code: three digits, leading zeros kept (`008`); text, not "
            "a number. Empty for user-assigned codes (`XK`).",
            "[0-9]{3}",
            optional=True,
        ),
        NAME,
        CsvColumn(
            "official_name",
            "string",
            "Official name, where ISO 3166 gives one.",
            optional=True,
            free_text=True,
        ),
    ),
    primary_key=("code",),
)


def _values(vocabulary: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in vocabulary)


CATEGORY_KEYS = _values(CategoryKey)
POSITIONS = CsvTable(
    name="positions",
    title="The chart: each country's position in each category, ordered by name",
    metadata_path="/exports/positions.csv-metadata.json",
    file_name="positions.csv",
    columns=(
        CODE,
        ALPHA3,
        NAME,
        *(
            CsvColumn(
                key.value,
                "string",
                f"Position in `{key.value}`: `yes`, `no`, `decreasing` or `unknown` (not "
                "reported). Text, not a boolean.",
                enum=_values(PositionValue),
            )
            for key in CategoryKey
        ),
        *(
            CsvColumn(
                f"disputed_{key.value}",
                "boolean",
                f"`true` when the latest assessments of different sources disagree on "
                f"`{key.value}`, else `false`.",
                "true|false",
            )
            for key in CategoryKey
        ),
        *(
            CsvColumn(
                f"sources_{key.value}",
                "string",
                f"The sources behind the position in `{key.value}`: the ids of those whose "
                "latest assessments it weighs (the JSON's `source_ids`), sorted, separated "
                "by single spaces. Empty when `unknown`.",
                f"{SLUG}(?: {SLUG})*",
                optional=True,
            )
            for key in CategoryKey
        ),
        *(
            CsvColumn(
                f"unverified_{key.value}",
                "boolean",
                f"`true` when any source in `sources_{key.value}` has a "
                "`verification_status` of `unverified` or `disputed` (its authenticity is "
                "not established), else `false` (`verified`, `not_applicable`, or no source).",
                "true|false",
            )
            for key in CategoryKey
        ),
        CsvColumn(
            "coverage",
            "string",
            "`reported` when any category has a value; else `covered_not_reported` (a row a "
            "source is known to have assessed, such as the chart's 19 known rows) or "
            "`not_known_covered` (no source we hold is known to have assessed it).",
            enum=_values(Coverage),
        ),
        *(
            CsvColumn(
                f"coverage_{key.value}",
                "string",
                f"Coverage of `{key.value}`: `reported`, or for `unknown` whether the country "
                "is a known row of a source (`covered_not_reported`) or not "
                "(`not_known_covered`).",
                enum=_values(Coverage),
            )
            for key in CategoryKey
        ),
    ),
    primary_key=("code",),
)

ASSESSMENTS = CsvTable(
    name="assessments",
    title="A country's assessments, newest as_of first",
    metadata_path="/exports/countries/{code}/assessments.csv-metadata.json",
    file_name="assessments.csv",
    columns=(
        CsvColumn("id", "integer", "The assessment's id (`GET /assessments/{id}`)."),
        CsvColumn("country_code", "string", "ISO 3166-1 alpha-2 code.", ALPHA2),
        CsvColumn("category", "string", "Category key.", enum=CATEGORY_KEYS),
        CsvColumn(
            "value",
            "string",
            "What the source says: `yes`, `no` or `decreasing`. Text, not a boolean.",
            enum=_values(AssessedValue),
        ),
        CsvColumn("source_id", "string", "The source that asserts the value.", SLUG),
        CsvColumn(
            "reported_via_id",
            "string",
            "The source through which the value is known, if another.",
            SLUG,
            optional=True,
        ),
        CsvColumn("as_of", "date", "The date the value holds as of (`YYYY-MM-DD`)."),
        CsvColumn("evidence", "string", "What the source shows, in words.", free_text=True),
        CsvColumn("note", "string", "A curator's note.", optional=True, free_text=True),
        CsvColumn(
            "source_retracted_at",
            "string",
            "When the assessment's source was retracted, an ISO 8601 UTC timestamp (then it "
            "counts for no position); empty unless it was.",
            optional=True,
        ),
    ),
    primary_key=("id",),
)

TIMESTAMP = "an ISO 8601 UTC timestamp"
EVERY_ASSESSMENT = CsvTable(
    name="every_assessment",
    title="Every assessment of every country, retracted ones included, by id",
    metadata_path="/exports/assessments.csv-metadata.json",
    file_name="assessments.csv",
    columns=(
        CsvColumn("id", "integer", "The assessment's id (`GET /assessments/{id}`)."),
        CsvColumn("country_code", "string", "ISO 3166-1 alpha-2 code.", ALPHA2),
        CsvColumn("category", "string", "Category key.", enum=CATEGORY_KEYS),
        CsvColumn(
            "value",
            "string",
            "What the source says: `yes`, `no` or `decreasing`. Text, not a boolean.",
            enum=_values(AssessedValue),
        ),
        CsvColumn("source_id", "string", "The source that asserts the value.", SLUG),
        CsvColumn("source_title", "string", "That source's title."),
        CsvColumn("source_kind", "string", "What kind of source it is.", enum=_values(SourceKind)),
        CsvColumn(
            "source_verification_status",
            "string",
            "How far that source's authenticity has been established.",
            enum=_values(VerificationStatus),
        ),
        CsvColumn(
            "reported_via_id",
            "string",
            "The source through which the value is known, if another.",
            SLUG,
            optional=True,
        ),
        CsvColumn(
            "reported_via_title", "string", "That report's title, if there is one.", optional=True
        ),
        CsvColumn("as_of", "date", "The date the value holds as of (`YYYY-MM-DD`)."),
        CsvColumn("evidence", "string", "What the source shows, in our own English words."),
        CsvColumn("note", "string", "A curator's note.", optional=True),
        CsvColumn(
            "retracted_at",
            "dateTime",
            f"When the assessment was retracted, {TIMESTAMP}; empty unless it was.",
            optional=True,
        ),
        CsvColumn("retraction_note", "string", "Why it was retracted.", optional=True),
        CsvColumn(
            "source_retracted_at",
            "dateTime",
            f"When the assessment's source was retracted, {TIMESTAMP}; empty unless it was.",
            optional=True,
        ),
        CsvColumn(
            "counts",
            "boolean",
            "`true` when the assessment counts for positions (neither it nor its source is "
            "retracted), else `false`.",
        ),
        CsvColumn(
            "relay_chain",
            "string",
            "The whole chain by which the value is known, as source ids in order separated by "
            "` > `: the source, each report that carried it on, the one we read "
            "(`GET /sources/{id}` gives each hop's publisher, address, language and date).",
            f"{SLUG}(?: > {SLUG})*",
        ),
        CsvColumn(
            "evidence_language",
            "string",
            "ISO 639-1 code of the report the evidence is drawn from; other than `en`, the "
            "English wording is ours.",
            "[a-z]{2}",
            optional=True,
        ),
    ),
    primary_key=("id",),
)

STATS = CsvTable(
    name="stats",
    title="How many countries read each value, one row per category",
    metadata_path="/exports/stats.csv-metadata.json",
    file_name="stats.csv",
    columns=(
        CsvColumn("category", "string", "Category key.", enum=CATEGORY_KEYS),
        *(
            CsvColumn(value, "integer", f"Countries whose position in the category is `{value}`.")
            for value in PositionValue
        ),
    ),
    primary_key=("category",),
)

TABLES: dict[str, CsvTable] = {
    t.name: t for t in (COUNTRIES, POSITIONS, ASSESSMENTS, EVERY_ASSESSMENT, STATS)
}


def position_row(
    code: str,
    alpha3: str,
    name: str,
    values: Sequence[str],
    disputed: Sequence[bool],
    sources: Sequence[Sequence[tuple[str, VerificationStatus]]],
    coverage: Sequence[Coverage],
) -> list[str]:
    """One `POSITIONS` row: the four values, the four `disputed_` flags, then per category
    the sources behind it (id, verification status) as `sources_` ids and `unverified_`,
    then the country's and each category's coverage (`coverage`: the country's, then one
    per category; last, so the older columns keep their places)."""
    return [
        code,
        alpha3,
        name,
        *values,
        *(flag(d) for d in disputed),
        *(" ".join(sorted({id_ for id_, _ in behind})) for behind in sources),
        *(flag(any(s in UNVERIFIED_STATUSES for _, s in behind)) for behind in sources),
        *(c.value for c in coverage),
    ]


def country_row(country: Country) -> list[str | None]:
    """One `COUNTRIES` row."""
    return [country.code, country.alpha3, country.numeric, country.name, country.official_name]


def every_assessment_row(row: Sequence[Any]) -> list[Any]:
    """One `EVERY_ASSESSMENT` row from a row of `service.every_assessment_export`:
    timestamps as the JSON writes them, the `counts` flag, then the relay chain (source,
    hops, report) and the evidence's language, last so the older columns keep their places."""
    *fields, retracted_at, retraction_note, source_retracted_at = row[:-2]
    relayed_through, evidence_language = row[-2:]
    source_id, via = fields[4], fields[8]
    hops = [source_id, *_hops(relayed_through), *([via] if via else [])]
    return [
        *fields,
        to_jsonable_python(retracted_at),
        retraction_note,
        to_jsonable_python(source_retracted_at),
        flag(retracted_at is None and source_retracted_at is None),
        " > ".join(hops),
        evidence_language,
    ]


def _hops(relayed_through: Any) -> list[str]:
    """The stored hop list (a JSON column: a list, or its text where a driver leaves it)."""
    if isinstance(relayed_through, str):
        relayed_through = json.loads(relayed_through)
    return list(relayed_through or ())
