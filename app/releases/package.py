"""A release as a Frictionless Data Package v2 (https://datapackage.org/standard/data-package/):
`datapackage.json` beside seven CSV resources under `data/`, made from any Session.

Every function reads only through the session it is given, so a release's frozen session
(the tables as they were at its revision) yields the release, and the live one yields what
the dataset is now. The rows come from the same tables and row functions as the live
exports (app.assessments.csv_tables), and the positions from the snapshot code behind
`GET /positions`, so a package and the API never disagree on a value. Every CSV is written
by app.http.exports.csv_lines, so the exports' quoting rules apply here too.

`assessments.csv` is the long format: one row per assessment, retracted ones included (a
release is the history, not only what counts), each flagged by `counts`. It is streamed
from a server-side cursor `CHUNK_ROWS` rows at a time: memory holds a batch whatever the
row count.

The release's `sha256` is that of the `sha256sum`-style manifest of its CSVs (one line
`<hex>  data/<name>.csv` per resource, sorted by path), so a reader can check an unzipped
package with `sha256sum data/*.csv | sha256sum`, and the descriptor itself can carry it.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from pydantic_core import to_jsonable_python
from sqlalchemy import Select, String, select, type_coerce
from sqlalchemy.orm import Session

from app.assessments import service as assessments_service
from app.assessments.csv_tables import (
    COUNTRIES,
    EVERY_ASSESSMENT,
    POSITIONS,
    SLUG,
    CsvColumn,
    CsvTable,
    country_row,
    every_assessment_row,
    position_row,
)
from app.assessments.snapshots import PositionSnapshots
from app.categories.models import Category
from app.countries import service as countries_service
from app.http.exports import CHUNK_ROWS, csv_lines
from app.sources.models import Source
from app.statements.models import Claim, Denial
from app.vocabulary import CategoryKey, DateQualifier, SourceKind, VerificationStatus

PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
TABLE_SCHEMA_PROFILE = "https://datapackage.org/profiles/2.0/tableschema.json"
TABLE_DIALECT_PROFILE = "https://datapackage.org/profiles/2.0/tabledialect.json"
DESCRIPTOR = "datapackage.json"
NAME = "country-positions"
TITLE = "European governments' assessed positions on military assistance to Ukraine"
DESCRIPTION = (
    "Assessed positions of European governments on Ukraine's requests for military "
    "assistance (training, lethal aid, and the future capability and political will to "
    "provide lethal aid), as charted by the leaked document *Europe | Response to Ongoing "
    "Russia-Ukraine Conflict* (attributed to the US government; dated 2 March 2023, marked "
    "SECRET//NOFORN), with the provenance of every value. The chart's authenticity has not "
    "been independently verified; its values are known only through news reporting. Every "
    "assessment names the source that asserts it and the report through which it is known. "
    "In `positions.csv`, `unknown` means no source we hold reports a value (which includes "
    "governments the chart may not have covered); it never means `no`. `assessments.csv` "
    "holds every assessment, retracted ones included: `counts` says which count for the "
    "positions."
)
LICENSES = (
    {
        "name": "CC-BY-4.0",
        "title": "Creative Commons Attribution 4.0 International",
        "path": "https://creativecommons.org/licenses/by/4.0/",
    },
)
CONTRIBUTORS = ({"title": "country-positions contributors", "roles": ["author"]},)
KEYWORDS = ("Ukraine", "military assistance", "Europe", "governments", "leaked documents")
# Frictionless field types of the CSVW datatypes the tables use.
FIELD_TYPES = {
    "string": "string",
    "integer": "integer",
    "boolean": "boolean",
    "date": "date",
    "dateTime": "datetime",
    "json": "object",
}
# The zip's entries carry the release's `created`, clamped to what zip can state.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

Row = Sequence[Any]


@dataclass(frozen=True)
class ResourceDigest:
    """One CSV's size and SHA-256 (hex), as the descriptor states them."""

    path: str
    sha256: str
    bytes: int


@dataclass(frozen=True)
class PackageInfo:
    """What a package states of its release. `digests` (from `digest`), when given, go
    into the descriptor as each resource's `hash` and `bytes`, and `write_zip` checks the
    data it writes against them."""

    version: str
    created: datetime
    revision: int
    sha256: str
    citation: str | None = None
    digests: tuple[ResourceDigest, ...] = field(default=())


@dataclass(frozen=True)
class ForeignKey:
    fields: tuple[str, ...]
    resource: str
    reference: tuple[str, ...]


@dataclass(frozen=True)
class Resource:
    """One CSV of the package: its columns, its rows in batches, and what it refers to."""

    table: CsvTable
    batches: Callable[[Session], Iterator[Sequence[Row]]]
    foreign_keys: tuple[ForeignKey, ...] = ()

    @property
    def name(self) -> str:
        return self.table.file_name.removesuffix(".csv")

    @property
    def path(self) -> str:
        return f"data/{self.table.file_name}"


CATEGORIES = CsvTable(
    name="categories",
    title="The four categories the chart is reported to assess, in their fixed order",
    metadata_path=DESCRIPTOR,
    file_name="categories.csv",
    columns=(
        CsvColumn("key", "string", "Category key.", enum=tuple(k.value for k in CategoryKey)),
        CsvColumn("position", "integer", "Its place in the chart's order, from 1."),
        CsvColumn("label", "string", "Its name, in words."),
        CsvColumn("definition", "string", "What the category assesses."),
    ),
    primary_key=("key",),
)

SOURCES = CsvTable(
    name="sources",
    title="The documents and reports that assert or relay the values, by id",
    metadata_path=DESCRIPTOR,
    file_name="sources.csv",
    columns=(
        CsvColumn("id", "string", "Stable slug.", SLUG),
        CsvColumn("title", "string", "Title as published or as reported."),
        CsvColumn(
            "kind", "string", "What kind of source it is.", enum=tuple(k.value for k in SourceKind)
        ),
        CsvColumn(
            "publisher",
            "string",
            "Who issued or published it, or to whom it is attributed (not a verified fact).",
            optional=True,
        ),
        CsvColumn("url", "string", "Where it can be read, where one exists.", optional=True),
        CsvColumn("published_on", "date", "Publication date, where known.", optional=True),
        CsvColumn(
            "document_date", "date", "Date the document itself carries, where known.", optional=True
        ),
        CsvColumn(
            "classification",
            "string",
            "Security classification marking, where relevant.",
            optional=True,
        ),
        CsvColumn(
            "verification_status",
            "string",
            "How far its authenticity has been established.",
            enum=tuple(v.value for v in VerificationStatus),
        ),
        CsvColumn(
            "verification_note", "string", "What is and is not known of its origin.", optional=True
        ),
        CsvColumn(
            "coverage",
            "json",
            "Which governments it assessed, as far as known: a JSON object (`count`, "
            "`known`, `complete_list_public`); empty when nothing is known.",
            optional=True,
        ),
        CsvColumn(
            "retracted_at",
            "dateTime",
            "When it was retracted, an ISO 8601 UTC timestamp (then its assessments count "
            "for no position); empty unless it was.",
            optional=True,
        ),
        CsvColumn("retraction_note", "string", "Why it was retracted.", optional=True),
        CsvColumn(
            "published_on_qualifier",
            "string",
            "`on_or_after` when `published_on` is only a lower bound; else empty or `exact`.",
            enum=tuple(q.value for q in DateQualifier),
            optional=True,
        ),
        CsvColumn(
            "language", "string", "ISO 639-1 code of its language.", "[a-z]{2}", optional=True
        ),
        CsvColumn(
            "relays",
            "string",
            "Ids of the sources it carried values from (its upstream hops), separated by "
            "single spaces; empty when first-hand or not known.",
            f"{SLUG}(?: {SLUG})*",
            optional=True,
        ),
    ),
    primary_key=("id",),
)

CLAIMS = CsvTable(
    name="claims",
    title="What relays say the chart holds, never counted: lumped claims, corroborations "
    "and deprecated misreports",
    metadata_path=DESCRIPTOR,
    file_name="claims.csv",
    columns=(
        CsvColumn("id", "string", "Stable slug.", SLUG),
        CsvColumn("kind", "string", "`lumped` (no column) or `cell`.", enum=("lumped", "cell")),
        CsvColumn(
            "rank",
            "string",
            "`normal`, or `deprecated` for a misreport.",
            enum=("normal", "deprecated"),
        ),
        CsvColumn("rank_reason", "string", "Why it is deprecated.", optional=True),
        CsvColumn("source_id", "string", "The relay making the claim.", SLUG),
        CsvColumn("about_source_id", "string", "The source it claims to report.", SLUG),
        CsvColumn(
            "countries",
            "string",
            "Alpha-2 codes of the countries it names, separated by single spaces.",
            "[A-Z]{2}(?: [A-Z]{2})*",
        ),
        CsvColumn(
            "category",
            "string",
            "The column, for a `cell` claim.",
            enum=tuple(k.value for k in CategoryKey),
            optional=True,
        ),
        CsvColumn("value", "string", "The value it reports, for a `cell` claim.", optional=True),
        CsvColumn("stated_on", "date", "The relay's date (or its lower bound)."),
        CsvColumn(
            "stated_on_qualifier",
            "string",
            "`on_or_after` when `stated_on` is only a lower bound.",
            enum=tuple(q.value for q in DateQualifier),
        ),
        CsvColumn("summary", "string", "What the relay says, in our own English words."),
        CsvColumn("language", "string", "ISO 639-1 code of the relay's language.", "[a-z]{2}"),
        CsvColumn("note", "string", "Caveats or context.", optional=True),
    ),
    primary_key=("id",),
)

DENIALS = CsvTable(
    name="denials",
    title="Statements that contradict a value, served beside it (the value stays as assessed)",
    metadata_path=DESCRIPTOR,
    file_name="denials.csv",
    columns=(
        CsvColumn("id", "string", "Stable slug.", SLUG),
        CsvColumn("country_code", "string", "ISO 3166-1 alpha-2 code.", "[A-Z]{2}"),
        CsvColumn(
            "category",
            "string",
            "The category whose value it contradicts.",
            enum=tuple(k.value for k in CategoryKey),
        ),
        CsvColumn("source_id", "string", "The source whose assessment it contradicts.", SLUG),
        CsvColumn("speaker", "string", "Who made it."),
        CsvColumn("speaker_role", "string", "In what role."),
        CsvColumn("stated_on", "date", "When it was made."),
        CsvColumn("summary", "string", "What was said, in short, in our own English words."),
        CsvColumn(
            "reported_in",
            "string",
            "Ids of the reports that carry it, separated by single spaces.",
            f"{SLUG}(?: {SLUG})*",
        ),
        CsvColumn("note", "string", "Caveats or context.", optional=True),
    ),
    primary_key=("id",),
)


def _spaced(items: Sequence[str] | None) -> str | None:
    return " ".join(items) if items else None


def _claims(session: Session) -> Iterator[Sequence[Row]]:
    yield [
        [
            c.id,
            c.kind.value,
            c.rank.value,
            c.rank_reason,
            c.source_id,
            c.about_source_id,
            _spaced(c.countries),
            c.category_key.value if c.category_key else None,
            c.value.value if c.value else None,
            c.stated_on,
            c.stated_on_qualifier.value,
            c.summary,
            c.language,
            c.note,
        ]
        for c in session.scalars(select(Claim).order_by(Claim.id))
    ]


def _denials(session: Session) -> Iterator[Sequence[Row]]:
    yield [
        [
            d.id,
            d.country_code,
            d.category_key.value,
            d.source_id,
            d.speaker,
            d.speaker_role,
            d.stated_on,
            d.summary,
            _spaced(d.reported_in),
            d.note,
        ]
        for d in session.scalars(select(Denial).order_by(Denial.id))
    ]


def _countries(session: Session) -> Iterator[Sequence[Row]]:
    yield [country_row(c) for c in countries_service.all_countries(session)]


def _categories(session: Session) -> Iterator[Sequence[Row]]:
    columns = Category.__table__.c
    query = select(
        type_coerce(columns.key, String), columns.position, columns.label, columns.definition
    ).order_by(columns.position)
    yield list(session.execute(query))


def _sources_query() -> Select[tuple[Any, ...]]:
    c = Source.__table__.c
    return select(
        c.id,
        c.title,
        type_coerce(c.kind, String),
        c.publisher,
        c.url,
        c.published_on,
        c.document_date,
        c.classification,
        type_coerce(c.verification_status, String),
        c.verification_note,
        c.coverage,
        c.retracted_at,
        c.retraction_note,
        type_coerce(c.published_on_qualifier, String),
        c.language,
        c.relays,
    ).order_by(c.id)


def _sources(session: Session) -> Iterator[Sequence[Row]]:
    rows = []
    query = _sources_query()
    for *head, coverage, retracted_at, note, qualifier, language, relays in session.execute(query):
        text = None if coverage is None else json.dumps(coverage, separators=(",", ":"))
        retracted = to_jsonable_python(retracted_at)
        rows.append([*head, text, retracted, note, qualifier, language, _spaced(relays)])
    yield rows


def _assessments(session: Session) -> Iterator[Sequence[Row]]:
    """Every assessment, a server-side cursor's batch at a time."""
    result = session.execute(
        assessments_service.every_assessment_export(),
        execution_options={"yield_per": CHUNK_ROWS},
    )
    try:
        for batch in result.partitions():
            yield [every_assessment_row(row) for row in batch]
    finally:
        result.close()


def _positions(session: Session) -> Iterator[Sequence[Row]]:
    """The chart as `GET /positions` derives it (a private view: nothing shared is held)."""
    _, chart = PositionSnapshots().chart(session, None, None)
    yield [
        position_row(
            c.code,
            c.alpha3,
            c.name,
            [v.value for v in r.values],
            r.disputed,
            r.sources,
            r.coverages,
        )
        for c, r in chart
    ]


def _to_country(*fields: str) -> ForeignKey:
    return ForeignKey(fields, "countries", ("code",))


RESOURCES: tuple[Resource, ...] = (
    Resource(COUNTRIES, _countries),
    Resource(CATEGORIES, _categories),
    Resource(SOURCES, _sources),
    Resource(
        EVERY_ASSESSMENT,
        _assessments,
        (
            _to_country("country_code"),
            ForeignKey(("category",), "categories", ("key",)),
            ForeignKey(("source_id",), "sources", ("id",)),
            ForeignKey(("reported_via_id",), "sources", ("id",)),
        ),
    ),
    Resource(POSITIONS, _positions, (_to_country("code"),)),
    Resource(
        CLAIMS,
        _claims,
        (
            ForeignKey(("source_id",), "sources", ("id",)),
            ForeignKey(("about_source_id",), "sources", ("id",)),
        ),
    ),
    Resource(
        DENIALS,
        _denials,
        (_to_country("country_code"), ForeignKey(("source_id",), "sources", ("id",))),
    ),
)
PATHS = tuple(r.path for r in RESOURCES)


def _timestamp(moment: datetime) -> str:
    """A timestamp as the JSON writes it (UTC, `Z`)."""
    text = moment.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def _resource(path: str) -> Resource:
    for resource in RESOURCES:
        if resource.path == path:
            return resource
    raise KeyError(path)


def csv_bytes(session: Session, path: str) -> Iterator[bytes]:
    """One resource (`data/assessments.csv`, …) as CSV, header first, a batch per chunk."""
    resource = _resource(path)
    yield csv_lines([resource.table.header])
    for batch in resource.batches(session):
        if batch:
            yield csv_lines(batch)


def resources(session: Session) -> dict[str, Iterator[bytes]]:
    """Every resource's CSV, keyed by its path in the package, each streamed lazily."""
    return {path: csv_bytes(session, path) for path in PATHS}


def digest(session: Session) -> tuple[str, tuple[ResourceDigest, ...]]:
    """(the release's sha256, each CSV's digest), reading every resource once, streamed."""
    digests = []
    for path in sorted(PATHS):
        hasher, size = hashlib.sha256(), 0
        for chunk in csv_bytes(session, path):
            hasher.update(chunk)
            size += len(chunk)
        digests.append(ResourceDigest(path, hasher.hexdigest(), size))
    return release_sha256(digests), tuple(digests)


def release_sha256(digests: Iterable[ResourceDigest]) -> str:
    """SHA-256 of the manifest `sha256sum data/*.csv` prints for these digests."""
    ordered = sorted(digests, key=lambda d: d.path)
    manifest = "".join(f"{d.sha256}  {d.path}\n" for d in ordered)
    return hashlib.sha256(manifest.encode()).hexdigest()


def _field(column: CsvColumn) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": column.name,
        "type": FIELD_TYPES[column.datatype],
        "description": column.meaning,
    }
    if column.datatype == "boolean":
        out |= {"trueValues": ["true"], "falseValues": ["false"]}
    constraints: dict[str, Any] = {}
    if not column.optional:
        constraints["required"] = True
    if column.enum:
        constraints["enum"] = list(column.enum)
    elif column.pattern is not None and column.datatype == "string":
        constraints["pattern"] = column.pattern
    if constraints:
        out["constraints"] = constraints
    return out


def _schema(resource: Resource) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "$schema": TABLE_SCHEMA_PROFILE,
        "fields": [_field(c) for c in resource.table.columns],
        "missingValues": [""],
        "primaryKey": list(resource.table.primary_key),
    }
    if resource.foreign_keys:
        schema["foreignKeys"] = [
            {
                "fields": list(fk.fields),
                "reference": {"resource": fk.resource, "fields": list(fk.reference)},
            }
            for fk in resource.foreign_keys
        ]
    return schema


DIALECT = {
    "$schema": TABLE_DIALECT_PROFILE,
    "header": True,
    "delimiter": ",",
    "lineTerminator": "\r\n",
    "quoteChar": '"',
    "doubleQuote": True,
}


def _resource_descriptor(resource: Resource, digests: dict[str, ResourceDigest]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": resource.name,
        "type": "table",
        "path": resource.path,
        "title": resource.table.title,
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
    }
    if resource.path in digests:
        found = digests[resource.path]
        out |= {"hash": f"sha256:{found.sha256}", "bytes": found.bytes}
    return out | {"dialect": DIALECT, "schema": _schema(resource)}


def _sources_property(session: Session) -> list[dict[str, str]]:
    found = []
    for title, url in session.execute(select(Source.title, Source.url).order_by(Source.id)):
        found.append({"title": title} | ({"path": url} if url else {}))
    return found


def descriptor(session: Session, info: PackageInfo) -> dict[str, Any]:
    """`datapackage.json`: resource paths are relative (`data/countries.csv`), so the one
    descriptor serves beside the CSVs over HTTP and inside the zip."""
    digests = {d.path: d for d in info.digests}
    release: dict[str, Any] = {"revision": info.revision, "sha256": info.sha256}
    if info.citation is not None:
        release["citation"] = info.citation
    return {
        "$schema": PROFILE,
        "name": NAME,
        "title": TITLE,
        "description": DESCRIPTION,
        "version": info.version,
        "created": _timestamp(info.created),
        "keywords": list(KEYWORDS),
        "licenses": [dict(x) for x in LICENSES],
        "contributors": [dict(x) for x in CONTRIBUTORS],
        "sources": _sources_property(session),
        # A property of our own (the profile allows any): what identifies the release.
        "country_positions:release": release,
        "resources": [_resource_descriptor(r, digests) for r in RESOURCES],
    }


def descriptor_bytes(session: Session, info: PackageInfo) -> bytes:
    """The descriptor as served and zipped: UTF-8 JSON, two-space indented, newline-ended."""
    text = json.dumps(descriptor(session, info), ensure_ascii=False, indent=2)
    return (text + "\n").encode()


def _entry(name: str, created: datetime) -> zipfile.ZipInfo:
    moment = created.astimezone(UTC).timetuple()[:6]
    entry = zipfile.ZipInfo(name, date_time=max(moment, ZIP_EPOCH))
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.create_system = 3  # Unix, whatever the platform: same bytes everywhere
    entry.external_attr = 0o644 << 16
    return entry


def write_zip(session: Session, info: PackageInfo, target: IO[bytes]) -> None:
    """The package as a zip: `datapackage.json`, then `data/*.csv` sorted by path, each
    stamped with the release's `created`, so one release always gives the same bytes.
    With `info.digests`, a CSV that does not match its digest fails the write."""
    expected = {d.path: d for d in info.digests}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_entry(DESCRIPTOR, info.created), descriptor_bytes(session, info))
        for path in sorted(PATHS):
            hasher = hashlib.sha256()
            with archive.open(_entry(path, info.created), "w", force_zip64=True) as member:
                for chunk in csv_bytes(session, path):
                    hasher.update(chunk)
                    member.write(chunk)
            if path in expected and expected[path].sha256 != hasher.hexdigest():
                raise ValueError(f"{path} does not match the release's digest")
