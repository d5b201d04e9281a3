from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, String, func, select, true, type_coerce
from sqlalchemy.orm import Session, aliased

from app.assessments.models import Assessment
from app.assessments.positions import Position, derive_positions
from app.categories.models import Category
from app.countries import service as countries_service
from app.countries.models import Country
from app.sources import service as sources_service
from app.sources.models import Source
from app.vocabulary import CategoryKey, Coverage, PositionValue

CHUNK = 500


@dataclass(frozen=True)
class PositionFilter:
    """Which countries a list keeps, by their derived positions (one per category):

    - `category` and `value`: the position in `category` reads `value`;
    - `category` alone: the position in `category` is reported (not `unknown`);
    - `value` alone: at least one category reads `value`;
    - `reported`: at least one (`True`) or no (`False`) category is reported;
    - `coverage`: the country's coverage (`reported`, or for a country with no value
      whether a source is known to have assessed it).
    """

    category: CategoryKey | None = None
    value: PositionValue | None = None
    reported: bool | None = None
    coverage: Coverage | None = None

    @property
    def active(self) -> bool:
        return not (
            self.category is None
            and self.value is None
            and self.reported is None
            and self.coverage is None
        )

    def matches(self, positions: Sequence[Position]) -> bool:
        return self.matches_values([p.value for p in positions])

    def matches_values(
        self, values: Sequence[PositionValue], coverage: Coverage | None = None
    ) -> bool:
        """`values`: one per category, in category order; `coverage`: the country's."""
        if self.coverage is not None and coverage != self.coverage:
            return False
        if self.category is not None:
            held = values[list(CategoryKey).index(self.category)]
            if self.value is None:
                if held is PositionValue.unknown:
                    return False
            elif held != self.value:
                return False
        elif self.value is not None and self.value not in values:
            return False
        if self.reported is not None:
            has_value = any(v != PositionValue.unknown for v in values)
            if has_value != self.reported:
                return False
        return True


def _latest_assessments(
    session: Session,
    *,
    country_codes: Sequence[str],
    as_of: date | None,
    source_id: str | None,
) -> Sequence[Assessment]:
    """Each source's latest assessment per country and category, as of `as_of`.

    The SQL half of the position rule (app.assessments.positions has the other half, and
    the whole rule): retracted assessments, those of a retracted source and those after
    `as_of` never count.

    For every (country, category, source) triple of the small catalogue tables, one backward
    probe of the unique index (country, category, source, as_of) finds the latest
    assessment's id; a second query loads those rows by primary key. So the cost follows
    countries x categories x sources, not the length of each history (a grouped max read
    every row of it). Two statements, because as one join the planners evaluated the probe
    once per assessment of the country rather than once per triple.
    """
    probe = aliased(Assessment)
    conditions: list[ColumnElement[bool]] = [
        probe.country_code == Country.code,
        probe.category_key == Category.key,
        probe.source_id == Source.id,
        probe.retracted_at.is_(None),
    ]
    if as_of is not None:
        conditions.append(probe.as_of <= as_of)
    newest = (
        select(probe.id)
        .where(*conditions)
        .order_by(probe.as_of.desc())
        .limit(1)
        .correlate(Country, Category, Source)
        .scalar_subquery()
    )
    triples = (
        select(newest)
        .select_from(Country)
        .join(Category, true())
        .join(Source, true())
        .where(Country.code.in_(country_codes), Source.retracted_at.is_(None))
    )
    if source_id is not None:
        triples = triples.where(Source.id == source_id)
    ids = [row_id for row_id in session.scalars(triples) if row_id is not None]
    rows: list[Assessment] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows.extend(session.scalars(select(Assessment).where(Assessment.id.in_(chunk))))
    return rows


def positions_for(
    session: Session,
    *,
    country_codes: Sequence[str],
    as_of: date | None = None,
    source_id: str | None = None,
) -> dict[str, list[Position]]:
    """Positions of each given country (unknown where nothing is reported)."""
    by_country: dict[str, list[Assessment]] = defaultdict(list)
    for start in range(0, len(country_codes), CHUNK):
        chunk = country_codes[start : start + CHUNK]
        for row in _latest_assessments(
            session, country_codes=chunk, as_of=as_of, source_id=source_id
        ):
            by_country[row.country_code].append(row)
    return {code: derive_positions(by_country.get(code, ())) for code in country_codes}


def _check_source(session: Session, source_id: str | None) -> None:
    if source_id is not None:
        sources_service.get_source(session, source_id=source_id)


def search_country_positions(
    session: Session,
    *,
    q: str | None = None,
    position_filter: PositionFilter | None = None,
    as_of: date | None = None,
    source_id: str | None = None,
    codes: Collection[str] | None = None,
    limit: int | None,
    offset: int,
) -> tuple[list[tuple[Country, list[Position]]], int]:
    """Countries (ordered by name; of `codes` only, if given) with their positions,
    filtered, and the total matching."""
    _check_source(session, source_id)
    if position_filter is None or not position_filter.active:
        countries, total = countries_service.list_countries(
            session, q=q, codes=codes, limit=limit, offset=offset
        )
        positions = positions_for(
            session, country_codes=[c.code for c in countries], as_of=as_of, source_id=source_id
        )
        return [(c, positions[c.code]) for c in countries], total
    countries, _ = countries_service.list_countries(session, q=q, codes=codes, limit=None, offset=0)
    positions = positions_for(
        session, country_codes=[c.code for c in countries], as_of=as_of, source_id=source_id
    )
    matched = [
        (c, positions[c.code]) for c in countries if position_filter.matches(positions[c.code])
    ]
    end = None if limit is None else offset + limit
    return matched[offset:end], len(matched)


def list_country_assessments(
    session: Session,
    *,
    country_code: str,
    include_retracted: bool = False,
    limit: int | None,
    offset: int,
) -> tuple[Sequence[Assessment], int]:
    """A country's assessments, newest `as_of` first, then most recently recorded first."""
    query = select(Assessment).where(Assessment.country_code == country_code)
    if not include_retracted:
        query = query.where(Assessment.retracted_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Assessment.as_of.desc(), Assessment.id.desc()).limit(limit).offset(offset)
    ).all()
    return rows, total


def _current_of(country_code: str) -> ColumnElement[bool]:
    return (Assessment.country_code == country_code) & Assessment.retracted_at.is_(None)


def count_country_assessments(session: Session, *, country_code: str) -> int:
    """How many assessments an export of the country holds (its `X-Total-Count`)."""
    query = select(func.count()).select_from(Assessment).where(_current_of(country_code))
    return session.scalar(query) or 0


def country_assessments_export(
    *, country_code: str, limit: int | None, offset: int
) -> Select[tuple[Any, ...]]:
    """`list_country_assessments`'s rows as Core rows (`EXPORT_FIELDS`, then the stored
    hops and the evidence's language, from which `export_record` makes `AssessmentRead`'s
    fields), for a streamed export: no ORM entity nor model per row, and the enums as their
    stored text (what their `str` renders anyway)."""
    columns = Assessment.__table__.c
    sources = Source.__table__.c
    return (
        select(
            columns.id,
            columns.country_code,
            type_coerce(columns.category_key, String).label("category"),
            type_coerce(columns.value, String).label("value"),
            columns.source_id,
            columns.reported_via_id,
            columns.as_of,
            columns.evidence,
            columns.note,
            columns.retracted_at,
            columns.retraction_note,
            sources.retracted_at.label("source_retracted_at"),
            columns.relayed_through,
            columns.evidence_language,
        )
        .join_from(Assessment.__table__, Source.__table__, sources.id == columns.source_id)
        .where(_current_of(country_code))
        .order_by(columns.as_of.desc(), columns.id.desc())
        .limit(limit)
        .offset(offset or None)  # no `LIMIT ALL OFFSET 0` for a whole export
    )


def every_assessment_export(
    *, limit: int | None = None, offset: int = 0
) -> Select[tuple[Any, ...]]:
    """Every assessment, retracted ones included, by id, with its source's title, kind and
    status and its report's title, as Core rows for a streamed export (the columns of
    app.assessments.csv_tables.EVERY_ASSESSMENT, but the stored hops where its row function
    writes the `counts` flag and the relay chain): the long format of a data package and
    of `GET /exports/assessments.csv`."""
    columns = Assessment.__table__.c
    source = Source.__table__.alias("source")
    via = Source.__table__.alias("via")
    return (
        select(
            columns.id,
            columns.country_code,
            type_coerce(columns.category_key, String).label("category"),
            type_coerce(columns.value, String).label("value"),
            columns.source_id,
            source.c.title.label("source_title"),
            type_coerce(source.c.kind, String).label("source_kind"),
            type_coerce(source.c.verification_status, String).label("source_verification_status"),
            columns.reported_via_id,
            via.c.title.label("reported_via_title"),
            columns.as_of,
            columns.evidence,
            columns.note,
            columns.retracted_at,
            columns.retraction_note,
            source.c.retracted_at.label("source_retracted_at"),
            columns.relayed_through,
            columns.evidence_language,
        )
        .join_from(Assessment.__table__, source, source.c.id == columns.source_id)
        .outerjoin(via, via.c.id == columns.reported_via_id)
        .order_by(columns.id)
        .limit(limit)
        .offset(offset or None)
    )


def count_assessments(session: Session) -> int:
    """How many assessments there are, retracted ones included."""
    return session.scalar(select(func.count()).select_from(Assessment)) or 0


EXPORT_FIELDS = (
    "id",
    "country_code",
    "category",
    "value",
    "source_id",
    "reported_via_id",
    "as_of",
    "evidence",
    "note",
    "retracted_at",
    "retraction_note",
    "source_retracted_at",
)


def export_record(row: Sequence[Any], hops: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """An `AssessmentRead` as JSON-ready data, in its field order, from a row of
    `country_assessments_export`; `hops`: every source as a relay-chain hop, by id."""
    record = dict(zip(EXPORT_FIELDS, row, strict=False))
    relayed_through, evidence_language = row[len(EXPORT_FIELDS) :]
    if isinstance(relayed_through, str):  # a driver may hand JSON back as its text
        relayed_through = json.loads(relayed_through)
    through = list(relayed_through or ())
    via = [record["reported_via_id"]] if record["reported_via_id"] else []
    chain = [hops[hop] for hop in (record["source_id"], *through, *via) if hop in hops]
    return {
        **{k: record[k] for k in EXPORT_FIELDS[:6]},
        "relayed_through": through,
        "relay_chain": chain,
        "as_of": record["as_of"],
        "evidence": record["evidence"],
        "evidence_language": evidence_language,
        "evidence_translated": evidence_language is not None and evidence_language != "en",
        **{k: record[k] for k in EXPORT_FIELDS[8:]},
    }
