"""The whole chart as a page: filters, pagination headers and the three formats, rendered
from held positions. Shared by `GET /positions` and the fast lane, so both answer with
the same bytes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date

from starlette.requests import Request
from starlette.responses import Response

from app.assessments.csv_tables import POSITIONS, position_row
from app.assessments.service import PositionFilter
from app.assessments.snapshots import (
    CountryEntry,
    Rendered,
    country_positions_json,
    encode_request,
)
from app.http.formats import MEDIA_TYPES, Format, describedby, stream_csv
from app.http.pagination import page_headers

POSITION_COLUMNS = POSITIONS.header


def chart_response(
    request: Request,
    chart: Sequence[tuple[CountryEntry, Rendered]],
    *,
    fmt: Format,
    as_of: date | None,
    source: str | None,
    position_filter: PositionFilter,
    limit: int | None,
    offset: int,
) -> Response:
    if position_filter.active:
        chart = [(c, r) for c, r in chart if position_filter.matches_values(r.values, r.coverage)]
    total = len(chart)
    rows = chart[offset : None if limit is None else offset + limit]
    headers = page_headers(request, total=total, limit=limit, offset=offset)
    if fmt is Format.csv:

        def csv_rows() -> Iterator[list[str]]:
            for country, rendered in rows:
                values = [v.value for v in rendered.values]
                yield position_row(
                    country.code,
                    country.alpha3,
                    country.name,
                    values,
                    rendered.disputed,
                    rendered.sources,
                    rendered.coverages,
                )

        headers = describedby(request, headers, POSITIONS.metadata_url())
        return stream_csv(POSITION_COLUMNS, csv_rows(), filename="positions.csv", headers=headers)
    as_of_json, source_json = encode_request(as_of, source)
    items = [country_positions_json(c, as_of_json, source_json, r) for c, r in rows]
    if fmt is Format.ndjson:
        return Response(
            b"".join(item + b"\n" for item in items),
            media_type=MEDIA_TYPES[Format.ndjson],
            headers=headers,
        )
    envelope = f'],"total":{total},"limit":{limit or 0},"offset":{offset}}}'
    body = b'{"items":[' + b",".join(items) + envelope.encode()
    return Response(body, media_type="application/json", headers=headers)
