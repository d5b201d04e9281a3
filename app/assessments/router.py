"""Routes computed from assessments: positions, statistics, and lists filtered by position.

They live here, not in `countries`, because the data they derive from is assessments.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BeforeValidator
from pydantic_core import to_json, to_jsonable_python
from sqlalchemy.orm import Session

from app.assessments import service
from app.assessments.chart_pages import chart_response
from app.assessments.csv_tables import ASSESSMENTS, COUNTRIES, STATS, country_row
from app.assessments.models import RelayHopView
from app.assessments.schemas import (
    AssessmentPage,
    AssessmentRead,
    CategoryStats,
    CountryPositions,
    CountryPositionsPage,
    CoverageCounts,
    PositionStats,
    ValueCounts,
)
from app.assessments.snapshots import (
    CountryEntry,
    PositionSnapshots,
    Rendered,
)
from app.countries import service as countries_service
from app.countries.models import Country
from app.countries.schemas import CountryPage, CountryRead
from app.groups import service as groups_service
from app.groups.schemas import GROUP_KEY_MAX
from app.http.deps import (
    CountryCodePath,
    SessionDep,
    note_revision,
    read_in_thread,
    vouched_revision,
)
from app.http.exports import CursorResponse, CursorStream, csv_lines
from app.http.formats import (
    CSV_MEDIA_TYPE,
    MEDIA_TYPES,
    Format,
    FormatQuery,
    describedby,
    negotiate,
    stream_csv,
)
from app.http.pagination import Pagination, PaginationDep, page_headers
from app.problems import Problem
from app.schemas import NO_NUL, SOURCE_ID_PATTERN, iso_date_text
from app.sources import service as sources_service
from app.sources.schemas import RelayHop
from app.vocabulary import CategoryKey, Coverage, PositionValue

router = APIRouter()

AsOfQuery = Annotated[
    date | None,
    BeforeValidator(iso_date_text),
    Query(
        description="Only assessments as of this date or earlier count (YYYY-MM-DD). "
        "Omit for the latest.",
        examples=["2023-03-02"],
    ),
]
GroupQuery = Annotated[
    str | None,
    Query(
        pattern=SOURCE_ID_PATTERN,
        max_length=GROUP_KEY_MAX,
        description="Only countries that are members of this group (a key from `GET /groups`) "
        "on `as_of`, or today (UTC) without it. `joined` counts, `left` does not: the day a "
        "country leaves, it is out.",
        examples=["nato"],
    ),
]
SourceQuery = Annotated[
    str | None,
    Query(
        pattern=SOURCE_ID_PATTERN,
        max_length=100,
        description="Restrict to one source's assessments (a source id).",
        examples=["us-europe-response-chart-2023"],
    ),
]
CategoryQuery = Annotated[
    CategoryKey | None,
    Query(
        description="Keep countries with a reported value in this category; with `value`, "
        "countries whose position in this category reads that value."
    ),
]
ValueQuery = Annotated[
    PositionValue | None,
    Query(
        description="Keep countries reading this value in at least one category; with "
        "`category`, in that category (`unknown` finds countries no source we hold "
        "reports, including any a source may not have covered)."
    ),
]
ReportedQuery = Annotated[
    bool | None,
    Query(
        description="`true`: only countries with at least one reported value; "
        "`false`: only countries no source we hold reports."
    ),
]
CoverageQuery = Annotated[
    Coverage | None,
    Query(
        description="Keep countries of this coverage: `reported` (a value in some category), "
        "`covered_not_reported` (a known row of a source, such as the chart's, with no value "
        "reported), `not_known_covered` (no source we hold is known to have assessed it)."
    ),
]
SearchQuery = Annotated[
    str | None,
    Query(
        max_length=100,
        pattern=NO_NUL,
        description="Case-insensitive search: part of the name, or an exact alpha-2/alpha-3.",
        examples=["serb"],
    ),
]


COUNTRY_COLUMNS = COUNTRIES.header
ASSESSMENT_COLUMNS = ASSESSMENTS.header


def _responses(*, not_found: str | None = None, negotiated: bool = False) -> dict[int | str, Any]:
    """OpenAPI: the errors an operation can give. Its 200 documents JSON only: the CSV and
    NDJSON renderings are operations of their own (app.assessments.export_router)."""
    responses: dict[int | str, Any] = {}
    if negotiated:
        responses[406] = {
            "model": Problem,
            "description": "`Accept` (or `format=`) names no representation served here.",
        }
    if not_found:
        responses[404] = {"model": Problem, "description": not_found}
    return responses


def filter_from_query(
    category: CategoryKey | None,
    value: PositionValue | None,
    reported: bool | None = None,
    coverage: Coverage | None = None,
) -> service.PositionFilter:
    return service.PositionFilter(
        category=category, value=value, reported=reported, coverage=coverage
    )


@router.get(
    "/positions",
    response_model=CountryPositionsPage,
    tags=["positions"],
    summary="Get every country's positions",
    responses=_responses(not_found="Unknown source or group.", negotiated=True),
)
async def list_positions(
    request: Request,
    page: PaginationDep,
    as_of: AsOfQuery = None,
    source: SourceQuery = None,
    category: CategoryQuery = None,
    value: ValueQuery = None,
    reported: ReportedQuery = None,
    coverage: CoverageQuery = None,
    group: GroupQuery = None,
    format: FormatQuery = None,
) -> Response:
    """One row per country, ordered by name, with its four positions and their provenance.

    Same rule and parameters as `GET /countries/{code}/positions`, plus filters. Paginated
    (`limit` defaults to 50); `Link` and `X-Total-Count` headers describe the pagination.
    `category` alone keeps countries with a reported value in that category, `value` alone
    countries reading it in at least one category, both together countries whose position
    in `category` reads `value`. `group` keeps the group's members on `as_of` (or today):
    `group=nato&as_of=2023-03-02` is the chart's NATO, without Finland and Sweden.

    For curl and browsers this URL also negotiates: `format=csv` or `format=ndjson` (or the
    matching `Accept`) answers what `exportPositionsCsv` and `exportPositionsNdjson` do.
    Typed clients call those operations instead.
    """
    fmt = negotiate(request, format, [Format.json, Format.csv, Format.ndjson])
    return await positions_response(
        request,
        page,
        fmt,
        as_of,
        source,
        filter_from_query(category, value, reported, coverage),
        group,
    )


async def positions_response(
    request: Request,
    page: Pagination,
    fmt: Format,
    as_of: date | None,
    source: str | None,
    position_filter: service.PositionFilter,
    group: str | None = None,
) -> Response:
    """`/positions` in any format: JSON pages, CSV and NDJSON everything unless `limit`."""
    chart = await _chart(request, as_of, source, group)
    return chart_response(
        request,
        chart,
        fmt=fmt,
        as_of=as_of,
        source=source,
        position_filter=position_filter,
        limit=page.limit_for(export=fmt is not Format.json),
        offset=page.offset,
    )


async def _chart(
    request: Request, as_of: date | None, source: str | None, group: str | None
) -> list[tuple[CountryEntry, Rendered]]:
    """Every country (of `group`, if given) with its positions: from memory when the
    revision is vouched for and every such country's entry is held, else in one thread hop."""
    snapshots: PositionSnapshots = request.app.state.snapshots
    held = snapshots.peek_chart(await vouched_revision(request), as_of, source, group)
    if held is not None:
        return held
    revision, chart = await read_in_thread(
        request, lambda session: snapshots.chart(session, as_of, source, group)
    )
    note_revision(request, revision)
    return chart


STATS_COLUMNS = STATS.header


@router.get(
    "/stats",
    response_model=PositionStats,
    tags=["positions"],
    summary="Count countries per value",
    responses=_responses(not_found="Unknown source or group.", negotiated=True),
)
async def get_stats(
    request: Request,
    as_of: AsOfQuery = None,
    source: SourceQuery = None,
    group: GroupQuery = None,
    format: FormatQuery = None,
) -> Response:
    """For each category, how many countries read `yes`, `no`, `decreasing` and `unknown`.

    The four counts of a category add up to `countries`: the number of countries in the
    catalogue or, with `group`, of the group's members on `as_of` (or today).

    For curl and browsers this URL also negotiates: `format=csv` (or `Accept: text/csv`)
    answers what `exportStatsCsv` does.
    """
    fmt = negotiate(request, format, [Format.json, Format.csv])
    return await stats_response(request, fmt, as_of, source, group)


async def stats_response(
    request: Request,
    fmt: Format,
    as_of: date | None,
    source: str | None,
    group: str | None = None,
) -> Response:
    chart = await _chart(request, as_of, source, group)
    stats = PositionStats(
        as_of=as_of,
        source=source,
        group=group,
        countries=len(chart),
        coverage=CoverageCounts(
            **{c.value: sum(r.coverage is c for _, r in chart) for c in Coverage}
        ),
        categories=[
            CategoryStats(
                category=key,
                counts=ValueCounts(
                    **{v.value: sum(r.values[i] is v for _, r in chart) for v in PositionValue}
                ),
            )
            for i, key in enumerate(CategoryKey)
        ],
    )
    if fmt is Format.csv:
        rows = (
            [c.category.value, *(getattr(c.counts, v.value) for v in PositionValue)]
            for c in stats.categories
        )
        headers = describedby(request, {}, STATS.metadata_url())
        return stream_csv(STATS_COLUMNS, rows, filename="stats.csv", headers=headers)
    return Response(stats.model_dump_json().encode(), media_type="application/json")


@router.get(
    "/countries",
    response_model=CountryPage,
    tags=["countries"],
    summary="List countries",
    responses=_responses(not_found="Unknown source or group.", negotiated=True),
)
def list_countries(
    request: Request,
    session: SessionDep,
    page: PaginationDep,
    q: SearchQuery = None,
    category: CategoryQuery = None,
    value: ValueQuery = None,
    as_of: AsOfQuery = None,
    source: SourceQuery = None,
    group: GroupQuery = None,
    format: FormatQuery = None,
) -> Response:
    """The catalogue, ordered by name, paginated by `limit` (default 50) and `offset`.

    `category` and `value` filter on the derived position as they do on `GET /positions`
    (see `GET /countries/{code}/positions` for the rule); `as_of` and `source` shape that
    position as they do there. `group` keeps the group's members on `as_of` (or today).

    For curl and browsers this URL also negotiates: `format=csv` (or `Accept: text/csv`)
    answers what `exportCountriesCsv` does. Typed clients call that operation instead.
    """
    fmt = negotiate(request, format, [Format.json, Format.csv])
    position_filter = filter_from_query(category, value)
    return countries_response(request, session, page, fmt, q, as_of, source, position_filter, group)


def countries_response(
    request: Request,
    session: Session,
    page: Pagination,
    fmt: Format,
    q: str | None,
    as_of: date | None,
    source: str | None,
    position_filter: service.PositionFilter,
    group: str | None = None,
) -> Response:
    """`/countries` in either format: JSON pages, CSV every match unless `limit`."""
    limit = page.limit_for(export=fmt is not Format.json)
    if source is not None:
        sources_service.get_source(session, source_id=source)  # a typo is a 404, not ignored
    members = None
    if group is not None:
        on = groups_service.membership_date(as_of)
        members = groups_service.member_codes(session, key=group, on=on)  # unknown: 404
    if position_filter.active:
        rows, total = service.search_country_positions(
            session,
            q=q,
            position_filter=position_filter,
            as_of=as_of,
            source_id=source,
            codes=members,
            limit=limit,
            offset=page.offset,
        )
        countries: Sequence[Country] = [country for country, _ in rows]
    else:
        countries, total = countries_service.list_countries(
            session, q=q, codes=members, limit=limit, offset=page.offset
        )
    headers = page_headers(request, total=total, limit=limit, offset=page.offset)
    if fmt is Format.csv:
        return stream_csv(
            COUNTRY_COLUMNS,
            (country_row(c) for c in countries),
            filename="countries.csv",
            headers=describedby(request, headers, COUNTRIES.metadata_url()),
        )
    page_body = CountryPage(
        items=[CountryRead.model_validate(c) for c in countries],
        total=total,
        limit=limit or 0,
        offset=page.offset,
    )
    return Response(
        page_body.model_dump_json().encode(), media_type="application/json", headers=headers
    )


@router.get(
    "/countries/{code}/positions",
    response_model=CountryPositions,
    tags=["positions"],
    summary="Get a country's positions",
    responses=_responses(not_found="Unknown country or source."),
)
async def list_country_positions(
    request: Request,
    code: CountryCodePath,
    as_of: AsOfQuery = None,
    source: SourceQuery = None,
) -> Response:
    """The country's position in each of the four categories, in category order.

    A position is derived, never stored: for each category, take each source's most
    recent assessment (as of `as_of`, if given). The value is that of the most recent
    one (on a tie, the most recently recorded). `disputed` is true when those latest
    assessments of different sources disagree. Retracted assessments, and those of a
    retracted source, never count. With no assessment the value is `unknown`: no source
    we hold reports a value, which includes a government a source may not have covered
    (the chart is reported to assess 38 governments; see its `coverage`). It is never the
    same as `no`. Pass `source` for a single source's view (a retracted source's view
    reads `unknown` throughout). Each position lists its sources with their kind and
    `verification_status`, so a client can flag `unverified` ones without following the
    ids.
    """
    snapshots: PositionSnapshots = request.app.state.snapshots
    body = snapshots.peek_country(await vouched_revision(request), code, as_of, source)
    if body is None:
        revision, body = await read_in_thread(
            request, lambda session: snapshots.country(session, code, as_of, source)
        )
        note_revision(request, revision)
    return Response(body, media_type="application/json")


@router.get(
    "/countries/{code}/assessments",
    response_model=AssessmentPage,
    tags=["assessments"],
    summary="List a country's assessments",
    responses=_responses(not_found="Unknown country.", negotiated=True),
)
def list_country_assessments(
    request: Request,
    response: Response,
    code: CountryCodePath,
    session: SessionDep,
    page: PaginationDep,
    format: FormatQuery = None,
) -> Any:
    """The country's assessments, newest `as_of` first, paginated (`limit` defaults to
    50): every one not itself retracted (a retracted one stays at `GET /assessments/{id}`).
    Assessments of a retracted source are listed, flagged by `source_retracted_at`; they
    count for no position.

    For curl and browsers this URL also negotiates: `format=csv` or `format=ndjson` (or the
    matching `Accept`) answers what `exportCountryAssessmentsCsv` and
    `exportCountryAssessmentsNdjson` do. Typed clients call those operations instead.
    """
    fmt = negotiate(request, format, [Format.json, Format.csv, Format.ndjson])
    limit = page.limit_for(export=fmt is not Format.json)
    if fmt is not Format.json:
        return export_country_assessments(request, code, fmt, limit, page.offset)
    country = countries_service.get_country(session, code=code)
    rows, total = service.list_country_assessments(
        session, country_code=country.code, limit=limit, offset=page.offset
    )
    headers = page_headers(request, total=total, limit=limit, offset=page.offset)
    items = [AssessmentRead.model_validate(a) for a in rows]
    response.headers.update(headers)
    return AssessmentPage(items=items, total=total, limit=limit or 0, offset=page.offset)


def export_country_assessments(
    request: Request, code: str, fmt: Format, limit: int | None, offset: int
) -> Response:
    """The CSV or NDJSON export, streamed from a server-side cursor (app.http.exports) in a
    session of its own that outlives this handler (the request's closes before the body
    is sent). The 404, the count and the first batch come before the response starts."""
    state = request.app.state
    session: Session = state.read_sessionmaker()
    try:
        country = countries_service.get_country(session, code=code)
        total = service.count_country_assessments(session, country_code=country.code)
        headers = page_headers(request, total=total, limit=limit, offset=offset)
        statement = service.country_assessments_export(
            country_code=country.code, limit=limit, offset=offset
        )
        guarded = session.get_bind().dialect.name == "postgresql"
        seconds = state.settings.db_deadline if guarded else None
        if fmt is Format.csv:
            stream = CursorStream(
                session,
                statement,
                # Not the assessment's own retraction: the export holds only unretracted ones.
                lambda rows: csv_lines(
                    [(*row[:9], to_jsonable_python(row.source_retracted_at)) for row in rows]
                ),
                prefix=csv_lines([ASSESSMENT_COLUMNS]),
                round_trip_seconds=seconds,
            )
            disposition = f'inline; filename="assessments-{country.code}.csv"'
            metadata = ASSESSMENTS.metadata_url(code=country.code)
            headers = describedby(
                request, {"Content-Disposition": disposition, **headers}, metadata
            )
            media_type = CSV_MEDIA_TYPE
        else:
            hops = {
                source.id: RelayHop.model_validate(RelayHopView(source)).model_dump(mode="json")
                for source in sources_service.list_sources(session)
            }
            stream = CursorStream(
                session,
                statement,
                lambda rows: b"".join(
                    [to_json(service.export_record(row, hops)) + b"\n" for row in rows]
                ),
                round_trip_seconds=seconds,
            )
            media_type = MEDIA_TYPES[Format.ndjson]
        stream.start()
    except BaseException:
        session.close()
        raise
    return CursorResponse(stream, media_type=media_type, headers=headers)
