"""The seed kinds, as data: one entry per seed file, in load order.

Reading and validation (app.seeding.reading), loading (app.seeding.loader) and the bulk
path (app.seeding.bulk) all iterate KINDS, so a new kind of seed is a row model in
`rows.py`, an ORM model, and one entry here. What is particular to one kind (countries
resolved against ISO 3166, the fixed list of categories, assessments' references) is a
hook of its entry, not a branch in the code that walks the table.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pycountry
from pydantic import BaseModel

from app.assessments.curation import assessment_columns
from app.assessments.models import Assessment
from app.assessments.validation import reference_problems
from app.categories.models import Category
from app.countries.models import Country
from app.db import Base
from app.groups.models import Group, GroupMembership
from app.seeding.rows import (
    AssessmentSeedRow,
    CategorySeedRow,
    CountrySeedRow,
    GroupMembershipSeedRow,
    GroupSeedRow,
    SourceSeedRow,
)
from app.sources.models import Source
from app.sources.validation import coverage_problems, relay_problems
from app.statements.models import Claim, Denial
from app.statements.schemas import ClaimSeedRow, DenialSeedRow
from app.vocabulary import CategoryKey

# ISO 3166-1 reserves these alpha-2 codes for users (XK is the customary code for Kosovo).
USER_ASSIGNED = (
    {"AA", "ZZ"}
    | {f"Q{c}" for c in "MNOPQRSTUVWXYZ"}
    | {f"X{c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
)

# What the files name (a kind's name -> the keys its file names; None: it could not be read).
Named = Mapping[str, set[str] | None]


class Seen(Protocol):
    """What the files read so far say, for the cross-checks of later kinds."""

    @property
    def named(self) -> Named: ...

    # Each valid source's upstream hops (`relays`), by id.
    @property
    def relays(self) -> Mapping[str, Sequence[str]]: ...


def relays_of(seen: Seen) -> Callable[[str], Sequence[str] | None]:
    """A source's hops as the files say (None: sources.yaml does not name it). A source
    that sources.yaml names but could not validate has none, and is not blamed again."""
    sources = seen.named["sources"]

    def hops(source_id: str) -> Sequence[str] | None:
        if sources is not None and source_id not in sources:
            return None
        return seen.relays.get(source_id, ())

    return hops


@dataclass(frozen=True)
class RowError:
    """Why a validated row cannot become a record: the field to blame, and what is wrong
    (and for a whole-file check, the line of the record to blame)."""

    field: str | None
    message: str
    line: int | None = None


# Turns a validated row into the record to load (or refuses it); a fresh one per read, so
# it may remember earlier rows of the file (a second unique key, say).
Resolver = Callable[[Any, int], Any]


@dataclass(frozen=True)
class SeedKind:
    """One kind of seed: its file, how a record is read and checked, and where it goes."""

    name: str  # in the load report, and the name of its table
    file: str
    row: type[BaseModel]
    model: type[Base]
    entity: str  # the change log's name for it
    # The natural key of a validated row (and of its record), and of a stored model row:
    # the loader creates what is missing and updates what differs, by this key.
    key: Callable[[Any], Hashable]
    stored_key: Callable[[Any], Hashable]
    # The columns to write for a record, given its position in the file (from 1).
    values: Callable[[Any, int], dict[str, Any]]
    ident: Callable[[Any], str]  # the change log's entity id for a stored row
    # CSV columns (and the required ones); None: the file is a YAML list of mappings.
    columns: tuple[str, ...] | None = None
    required: frozenset[str] = frozenset()
    # The key a record names, valid or not, for later kinds' references.
    named: Callable[[dict[str, Any]], str] | None = None
    # The error for a row whose key an earlier line had; None: the kind does not check.
    duplicate: Callable[[Any, int], RowError] | None = None
    # (field, message) for each reference to what earlier files do not name.
    references: Callable[[Any, Seen], list[tuple[str, str]]] | None = None
    resolver: Callable[[], Resolver] | None = None
    # A check of the whole file's (line, record)s, made only when every row was valid.
    whole_file: Callable[[list[tuple[int, Any]]], RowError | None] | None = None


@dataclass(frozen=True)
class CountryRecord:
    code: str
    alpha3: str
    numeric: str | None
    name: str
    official_name: str | None


def _resolve_country(row: CountrySeedRow) -> CountryRecord | RowError:
    if row.code in USER_ASSIGNED:
        if row.name is None or row.alpha3 is None:
            return RowError("name", f"user-assigned code {row.code} needs name and alpha3")
        return CountryRecord(row.code, row.alpha3, row.numeric, row.name, None)
    iso = pycountry.countries.get(alpha_2=row.code)
    if iso is None:
        return RowError("code", f"unknown country code {row.code!r} (not in ISO 3166-1)")
    if row.name or row.alpha3 or row.numeric:
        return RowError(
            "name",
            f"{row.code} is an ISO code: leave name, alpha3 and numeric empty (from ISO 3166)",
        )
    return CountryRecord(
        code=iso.alpha_2,
        alpha3=iso.alpha_3,
        numeric=iso.numeric,
        name=getattr(iso, "common_name", None) or iso.name,
        official_name=getattr(iso, "official_name", None),
    )


def _country_resolver() -> Resolver:
    """Names from ISO 3166; countries.alpha3 is unique too: a clash is caught here, not as
    an IntegrityError mid-load."""
    alpha3_lines: dict[str, int] = {}

    def resolve(row: CountrySeedRow, line: int) -> CountryRecord | RowError:
        record = _resolve_country(row)
        if isinstance(record, RowError):
            return record
        if record.alpha3 in alpha3_lines:
            first = alpha3_lines[record.alpha3]
            return RowError("alpha3", f"duplicate alpha3 {record.alpha3} (also on line {first})")
        alpha3_lines[record.alpha3] = line
        return record

    return resolve


def _categories_in_chart_order(categories: list[tuple[int, CategorySeedRow]]) -> RowError | None:
    if [c.key for _, c in categories] == list(CategoryKey):
        return None
    expected = ", ".join(k.value for k in CategoryKey)
    return RowError("key", f"categories must be exactly, in order: {expected}")


COUNTRIES = SeedKind(
    name="countries",
    file="countries.csv",
    row=CountrySeedRow,
    model=Country,
    entity="country",
    key=lambda c: c.code,
    stored_key=lambda c: c.code,
    values=lambda c, _position: vars(c).copy(),
    ident=lambda c: c.code,
    columns=("code", "name", "alpha3", "numeric"),
    required=frozenset({"code"}),
    named=lambda data: data["code"].strip().upper(),
    duplicate=lambda row, first: RowError(
        "code", f"duplicate country {row.code} (first on line {first})"
    ),
    resolver=_country_resolver,
)
CATEGORIES = SeedKind(
    name="categories",
    file="categories.yaml",
    row=CategorySeedRow,
    model=Category,
    entity="category",
    key=lambda c: c.key,
    stored_key=lambda c: c.key,
    # The record order is the category order (`position`).
    values=lambda c, position: {
        "key": c.key,
        "position": position,
        "label": c.label,
        "definition": c.definition,
    },
    ident=lambda c: c.key.value,
    whole_file=_categories_in_chart_order,
)


def _source_references(row: SourceSeedRow, seen: Seen) -> list[tuple[str, str]]:
    """The API's check of `coverage.known`, against what countries.csv names, and that each
    hop it relays is in sources.yaml (cycles are a whole-file check: `_relay_cycles`)."""
    countries, sources = seen.named[COUNTRIES.name], seen.named["sources"]
    problems = [
        (field, f"{message} (not in countries.csv)")
        for field, message in coverage_problems(
            row, country_exists=lambda code: countries is None or code in countries
        )
    ]
    problems += [
        (field, f"{message} (not in sources.yaml)")
        for field, message in relay_problems(
            row.id,
            row.relays,
            relays_of=lambda hop: () if sources is None or hop in sources else None,
        )
    ]
    return problems


def _relay_cycles(sources: list[tuple[int, SourceSeedRow]]) -> RowError | None:
    """No relay chain loops back: the first source on a cycle is blamed, with the cycle."""
    hops = {row.id: list(row.relays or ()) for _, row in sources}
    for line, row in sources:
        for field, message in relay_problems(row.id, row.relays, relays_of=hops.get):
            return RowError(field, message, line=line)
    return None


SOURCES = SeedKind(
    name="sources",
    file="sources.yaml",
    row=SourceSeedRow,
    model=Source,
    entity="source",
    key=lambda s: s.id,
    stored_key=lambda s: s.id,
    values=lambda s, _position: s.model_dump(),
    ident=lambda s: s.id,
    named=lambda data: str(data.get("id", "")).strip(),
    duplicate=lambda row, first: RowError(
        "id", f"duplicate source {row.id!r} (first on line {first})"
    ),
    references=_source_references,
    whole_file=_relay_cycles,
)


def _assessment_references(row: AssessmentSeedRow, seen: Seen) -> list[tuple[str, str]]:
    """The API's reference and relay-chain checks, against what the seed files name. A file
    that could not be read names nothing, and is not blamed again for every row citing it."""
    countries = seen.named[COUNTRIES.name]
    problems = reference_problems(
        row,
        country_exists=lambda code: countries is None or code in countries,
        relays_of=relays_of(seen),
    )
    where = {"country": COUNTRIES.file, "missing source": SOURCES.file}
    return [
        (field, f"{message} (not in {where[key]})" if key in where else message)
        for field, message in problems
        for key in ["country" if field == "country" else message[:14]]
    ]


ASSESSMENTS = SeedKind(
    name="assessments",
    file="assessments.csv",
    row=AssessmentSeedRow,
    model=Assessment,
    entity="assessment",
    key=lambda a: (a.country, a.category, a.source, a.as_of),
    stored_key=lambda a: (a.country_code, a.category_key, a.source_id, a.as_of),
    values=lambda a, _position: assessment_columns(a),
    ident=lambda a: str(a.id),
    columns=(
        "country",
        "category",
        "value",
        "source",
        "reported_via",
        "relayed_through",
        "as_of",
        "evidence",
        "evidence_language",
        "note",
    ),
    required=frozenset({"country", "category", "value", "source", "as_of", "evidence"}),
    # What a denial names: the (country, category, source) of an assessment.
    named=lambda data: "/".join(
        str(data.get(name, "")).strip() for name in ("country", "category", "source")
    ).upper(),
    duplicate=lambda _row, first: RowError(
        None, f"duplicate row: same country, category, source and as_of as line {first}"
    ),
    references=_assessment_references,
)


def _missing(value: str, kind: SeedKind, seen: Seen, what: str) -> str | None:
    """The message for a reference to what `kind`'s file does not name (None: it does, or
    that file could not be read, and is not blamed again here)."""
    names = seen.named[kind.name]
    if names is None or value in names:
        return None
    return f"unknown {what} {value!r} (not in {kind.file})"


def _group_references(row: GroupSeedRow, seen: Seen) -> list[tuple[str, str]]:
    message = _missing(row.source, SOURCES, seen, "source")
    return [] if message is None else [("source", message)]


GROUPS = SeedKind(
    name="groups",
    file="groups.yaml",
    row=GroupSeedRow,
    model=Group,
    entity="group",
    key=lambda g: g.key,
    stored_key=lambda g: g.key,
    values=lambda g, _position: {
        "key": g.key,
        "name": g.name,
        "description": g.description,
        "source_id": g.source,
    },
    ident=lambda g: g.key,
    named=lambda data: str(data.get("key", "")).strip(),
    duplicate=lambda row, first: RowError(
        "key", f"duplicate group {row.key!r} (first on line {first})"
    ),
    references=_group_references,
)


def _membership_references(row: GroupMembershipSeedRow, seen: Seen) -> list[tuple[str, str]]:
    checks = (
        ("group", row.group, GROUPS, "group"),
        ("country_code", row.country_code, COUNTRIES, "country code"),
        ("source_id", row.source_id, SOURCES, "source"),
    )
    problems = []
    for field, value, kind, what in checks:
        message = _missing(value, kind, seen, what)
        if message is not None:
            problems.append((field, message))
    return problems


def _membership_resolver() -> Resolver:
    """`left` after `joined`, and no two spans of one country in one group that overlap
    (a country is a member or not on any day); spans are compared with the file's earlier
    rows, so the error names the line it clashes with."""
    spans: dict[tuple[str, str], list[tuple[GroupMembershipSeedRow, int]]] = {}

    def resolve(row: GroupMembershipSeedRow, line: int) -> GroupMembershipSeedRow | RowError:
        if row.left is not None and row.left <= row.joined:
            return RowError(
                "left", f"left ({row.left}) must be after joined ({row.joined}): it is exclusive"
            )
        earlier = spans.setdefault((row.group, row.country_code), [])
        for other, other_line in earlier:
            if _overlap(row, other):
                until = "" if other.left is None else f" until {other.left}"
                return RowError(
                    "joined",
                    f"{row.country_code} in {row.group!r} overlaps line {other_line} "
                    f"(from {other.joined}{until})",
                )
        earlier.append((row, line))
        return row

    return resolve


def _overlap(a: GroupMembershipSeedRow, b: GroupMembershipSeedRow) -> bool:
    """Whether two half-open spans [joined, left) share a day (None: open-ended)."""
    return (a.left is None or b.joined < a.left) and (b.left is None or a.joined < b.left)


GROUP_MEMBERSHIPS = SeedKind(
    name="memberships",  # in the load report: group_memberships is too wide for its column
    file="group_memberships.csv",
    row=GroupMembershipSeedRow,
    model=GroupMembership,
    entity="group_membership",
    key=lambda m: (m.group, m.country_code, m.joined),
    stored_key=lambda m: (m.group_key, m.country_code, m.joined),
    values=lambda m, _position: {
        "group_key": m.group,
        "country_code": m.country_code,
        "joined": m.joined,
        "left": m.left,
        "source_id": m.source_id,
        "note": m.note,
    },
    ident=lambda m: f"{m.group_key}/{m.country_code}/{m.joined.isoformat()}",
    columns=("group", "country_code", "joined", "left", "source_id", "note"),
    required=frozenset({"group", "country_code", "joined", "source_id"}),
    duplicate=lambda row, first: RowError(
        None, f"duplicate row: same group, country_code and joined as line {first}"
    ),
    references=_membership_references,
    resolver=_membership_resolver,
)


def _claim_references(row: ClaimSeedRow, seen: Seen) -> list[tuple[str, str]]:
    problems = [
        (field, message)
        for field, value in (("source", row.source), ("about", row.about))
        if (message := _missing(value, SOURCES, seen, "source")) is not None
    ]
    problems += [
        ("countries", message)
        for code in row.countries
        if (message := _missing(code, COUNTRIES, seen, "country code")) is not None
    ]
    return problems


CLAIMS = SeedKind(
    name="claims",
    file="claims.yaml",
    row=ClaimSeedRow,
    model=Claim,
    entity="claim",
    key=lambda c: c.id,
    stored_key=lambda c: c.id,
    values=lambda c, _position: {
        "id": c.id,
        "kind": c.kind,
        "rank": c.rank,
        "rank_reason": c.rank_reason,
        "source_id": c.source,
        "about_source_id": c.about,
        "countries": list(c.countries),
        "category_key": c.category,
        "value": c.value,
        "stated_on": c.stated_on,
        "stated_on_qualifier": c.stated_on_qualifier,
        "summary": c.summary,
        "language": c.language,
        "note": c.note,
    },
    ident=lambda c: c.id,
    duplicate=lambda row, first: RowError(
        "id", f"duplicate claim {row.id!r} (first on line {first})"
    ),
    references=_claim_references,
)


def _denial_references(row: DenialSeedRow, seen: Seen) -> list[tuple[str, str]]:
    problems = [
        (field, message)
        for field, value, kind, what in (
            ("country", row.country, COUNTRIES, "country code"),
            ("source", row.source, SOURCES, "source"),
            *(("reported_in", hop, SOURCES, "source") for hop in row.reported_in),
        )
        if (message := _missing(value, kind, seen, what)) is not None
    ]
    assessed = seen.named[ASSESSMENTS.name]
    key = f"{row.country}/{row.category.value}/{row.source}".upper()
    if not problems and assessed is not None and key not in assessed:
        problems.append(
            (
                "category",
                f"names no assessment: assessments.csv has no {row.category.value} row of "
                f"{row.source!r} for {row.country} (a denial stands beside a value)",
            )
        )
    return problems


DENIALS = SeedKind(
    name="denials",
    file="denials.yaml",
    row=DenialSeedRow,
    model=Denial,
    entity="denial",
    key=lambda d: d.id,
    stored_key=lambda d: d.id,
    values=lambda d, _position: {
        "id": d.id,
        "country_code": d.country,
        "category_key": d.category,
        "source_id": d.source,
        "speaker": d.speaker,
        "speaker_role": d.speaker_role,
        "stated_on": d.stated_on,
        "summary": d.summary,
        "reported_in": list(d.reported_in),
        "note": d.note,
    },
    ident=lambda d: d.id,
    duplicate=lambda row, first: RowError(
        "id", f"duplicate denial {row.id!r} (first on line {first})"
    ),
    references=_denial_references,
)

# Load order: a kind refers only to kinds before it.
KINDS: tuple[SeedKind, ...] = (
    COUNTRIES,
    CATEGORIES,
    SOURCES,
    ASSESSMENTS,
    GROUPS,
    GROUP_MEMBERSHIPS,
    CLAIMS,
    DENIALS,
)
# The kind whose file may be of any size: the bulk path streams it; the rest, the
# catalogue, is small and always read whole.
STREAMED = ASSESSMENTS
CATALOGUE: tuple[SeedKind, ...] = tuple(kind for kind in KINDS if kind is not STREAMED)
