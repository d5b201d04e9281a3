"""The CSV and NDJSON exports as operations of their own.

Each operation documents exactly one media type, so a generated client types its answer as
text (or a blob) instead of mistaking a CSV for a JSON page. The same renderings stay
reachable by negotiation on the JSON URLs (`?format=csv`, `Accept: text/csv`) for curl and
browsers; both routes share one renderer, so they answer the same bytes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from app.assessments import router as reads
from app.assessments import service
from app.assessments.csv_tables import (
    ASSESSMENTS,
    COUNTRIES,
    EVERY_ASSESSMENT,
    POSITIONS,
    STATS,
    CsvTable,
    every_assessment_row,
)
from app.http.deps import CountryCodePath, SessionDep
from app.http.exports import CursorResponse, CursorStream, csv_lines
from app.http.formats import CSV_MEDIA_TYPE, MEDIA_TYPES, Format, describedby
from app.http.pagination import PaginationDep, page_headers
from app.problems import Problem

router = APIRouter(prefix="/exports", tags=["exports"])


class CSVText(Response):
    media_type = MEDIA_TYPES[Format.csv]


class NDJSONText(Response):
    media_type = MEDIA_TYPES[Format.ndjson]


def _export(
    fmt: Format, what: str, *, table: CsvTable | None = None, not_found: str | None = None
) -> dict[str, Any]:
    """Route options: the one media type of the 200, and the errors."""
    body: dict[str, Any] = {"schema": {"type": "string"}}
    if table is not None:  # the column table, and where the CSVW document lives
        body["schema"]["description"] = table.description()
        body["example"] = ",".join(table.header) + "\r\n"
    responses: dict[int | str, Any] = {
        200: {"description": what, "content": {MEDIA_TYPES[fmt]: body}},
    }
    if not_found:
        responses[404] = {"model": Problem, "description": not_found}
    response_class = CSVText if fmt is Format.csv else NDJSONText
    return {"responses": responses, "response_class": response_class}


@router.get(
    "/positions.csv",
    summary="Export the chart as CSV",
    **_export(
        Format.csv,
        "One row per country: the four positions, one column each, then per category "
        "whether it is disputed, the sources behind it and whether any is unverified.",
        table=POSITIONS,
        not_found="Unknown source or group.",
    ),
)
async def export_positions_csv(
    request: Request,
    page: PaginationDep,
    as_of: reads.AsOfQuery = None,
    source: reads.SourceQuery = None,
    category: reads.CategoryQuery = None,
    value: reads.ValueQuery = None,
    reported: reads.ReportedQuery = None,
    coverage: reads.CoverageQuery = None,
    group: reads.GroupQuery = None,
) -> Response:
    """`GET /positions` as RFC 4180 CSV: every matching country unless `limit` is given."""
    position_filter = reads.filter_from_query(category, value, reported, coverage)
    return await reads.positions_response(
        request, page, Format.csv, as_of, source, position_filter, group
    )


@router.get(
    "/positions.ndjson",
    summary="Export the chart as NDJSON",
    **_export(
        Format.ndjson,
        "One `CountryPositions` JSON object per line.",
        not_found="Unknown source or group.",
    ),
)
async def export_positions_ndjson(
    request: Request,
    page: PaginationDep,
    as_of: reads.AsOfQuery = None,
    source: reads.SourceQuery = None,
    category: reads.CategoryQuery = None,
    value: reads.ValueQuery = None,
    reported: reads.ReportedQuery = None,
    coverage: reads.CoverageQuery = None,
    group: reads.GroupQuery = None,
) -> Response:
    """`GET /positions` as newline-delimited JSON: every matching country unless `limit`."""
    position_filter = reads.filter_from_query(category, value, reported, coverage)
    return await reads.positions_response(
        request, page, Format.ndjson, as_of, source, position_filter, group
    )


@router.get(
    "/stats.csv",
    summary="Export the counts as CSV",
    **_export(
        Format.csv,
        "One row per category: how many countries read each value.",
        table=STATS,
        not_found="Unknown source or group.",
    ),
)
async def export_stats_csv(
    request: Request,
    as_of: reads.AsOfQuery = None,
    source: reads.SourceQuery = None,
    group: reads.GroupQuery = None,
) -> Response:
    """`GET /stats` as CSV: one row per category, one column per value."""
    return await reads.stats_response(request, Format.csv, as_of, source, group)


@router.get(
    "/countries.csv",
    summary="Export countries as CSV",
    **_export(
        Format.csv,
        "One row per country of the catalogue.",
        table=COUNTRIES,
        not_found="Unknown source or group.",
    ),
)
def export_countries_csv(
    request: Request,
    session: SessionDep,
    page: PaginationDep,
    q: reads.SearchQuery = None,
    category: reads.CategoryQuery = None,
    value: reads.ValueQuery = None,
    as_of: reads.AsOfQuery = None,
    source: reads.SourceQuery = None,
    group: reads.GroupQuery = None,
) -> Response:
    """`GET /countries` as CSV: every matching country unless `limit` is given."""
    position_filter = reads.filter_from_query(category, value)
    return reads.countries_response(
        request, session, page, Format.csv, q, as_of, source, position_filter, group
    )


@router.get(
    "/countries/{code}/assessments.csv",
    summary="Export a country's assessments as CSV",
    **_export(
        Format.csv,
        "The country's assessments not themselves retracted, newest first, streamed.",
        table=ASSESSMENTS,
        not_found="Unknown country.",
    ),
)
def export_country_assessments_csv(
    request: Request, code: CountryCodePath, page: PaginationDep
) -> Response:
    """`GET /countries/{code}/assessments` as CSV: every assessment unless `limit` is
    given, streamed as it is read (any size, in bounded memory)."""
    limit = page.limit_for(export=True)
    return reads.export_country_assessments(request, code, Format.csv, limit, page.offset)


@router.get(
    "/countries/{code}/assessments.ndjson",
    summary="Export a country's assessments as NDJSON",
    **_export(
        Format.ndjson,
        "One `Assessment` JSON object per line, newest first, streamed.",
        not_found="Unknown country.",
    ),
)
def export_country_assessments_ndjson(
    request: Request, code: CountryCodePath, page: PaginationDep
) -> Response:
    """`GET /countries/{code}/assessments` as NDJSON: every assessment unless `limit` is
    given, streamed as it is read (any size, in bounded memory)."""
    limit = page.limit_for(export=True)
    return reads.export_country_assessments(request, code, Format.ndjson, limit, page.offset)


@router.get(
    "/assessments.csv",
    summary="Export every assessment as CSV",
    **_export(
        Format.csv,
        "Every assessment of every country, one row each (long format), retracted ones "
        "included and flagged (`counts`), by id, streamed.",
        table=EVERY_ASSESSMENT,
    ),
)
def export_every_assessment_csv(request: Request, page: PaginationDep) -> Response:
    """All assessments as CSV, each with its source's title, kind and verification status:
    the history, not only what counts (a retracted assessment, or one of a retracted
    source, reads `counts=false`). Every row unless `limit` is given, streamed as it is
    read (any size, in bounded memory); a release's `data/assessments.csv` is the same
    table."""
    limit = page.limit_for(export=True)
    state = request.app.state
    # A session of its own, outliving this handler (see app.http.exports).
    session: Session = state.read_sessionmaker()
    try:
        total = service.count_assessments(session)
        headers = page_headers(request, total=total, limit=limit, offset=page.offset)
        headers = describedby(
            request,
            {"Content-Disposition": 'inline; filename="assessments.csv"', **headers},
            EVERY_ASSESSMENT.metadata_url(),
        )
        guarded = session.get_bind().dialect.name == "postgresql"
        stream = CursorStream(
            session,
            service.every_assessment_export(limit=limit, offset=page.offset),
            lambda rows: csv_lines([every_assessment_row(row) for row in rows]),
            prefix=csv_lines([EVERY_ASSESSMENT.header]),
            round_trip_seconds=state.settings.db_deadline if guarded else None,
        )
        stream.start()
    except BaseException:
        session.close()
        raise
    return CursorResponse(stream, media_type=CSV_MEDIA_TYPE, headers=headers)
