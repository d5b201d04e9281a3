"""limit/offset pagination, RFC 8288 Link headers and the total count header."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request

from app.http.links import public_link

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_OFFSET = 1_000_000
TOTAL_COUNT_HEADER = "X-Total-Count"


@dataclass(frozen=True)
class Pagination:
    """`limit` None means "not given": JSON pages default to 50, exports to everything."""

    requested_limit: int | None
    offset: int

    def limit_for(self, *, export: bool) -> int | None:
        if self.requested_limit is not None:
            return self.requested_limit
        return None if export else DEFAULT_PAGE_SIZE


async def get_pagination(
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_PAGE_SIZE,
            description="Page size, 1-500. Defaults to 50 for JSON; CSV and NDJSON exports "
            "return every matching row unless a limit is given.",
            examples=[50],
        ),
    ] = None,
    offset: Annotated[
        int,
        Query(ge=0, le=MAX_OFFSET, description="Rows to skip before this page.", examples=[0]),
    ] = 0,
) -> Pagination:
    # Async: a plain `def` dependency costs every list request a worker-thread hop.
    return Pagination(requested_limit=limit, offset=offset)


PaginationDep = Annotated[Pagination, Depends(get_pagination)]


def page_headers(request: Request, *, total: int, limit: int | None, offset: int) -> dict[str, str]:
    """`Link` (first/prev/next/last, RFC 8288) and `X-Total-Count` for one page.

    The links never name the request's `Host` (see app/http/links.py).
    """
    headers = {TOTAL_COUNT_HEADER: str(total)}
    if limit is None:
        return headers

    def url(at: int) -> str:
        target = request.url.include_query_params(limit=limit, offset=max(at, 0))
        return public_link(request, f"{target.path}?{target.query}")

    links = [f'<{url(0)}>; rel="first"']
    if offset > 0:
        links.append(f'<{url(max(offset - limit, 0))}>; rel="prev"')
    if offset + limit < total:
        links.append(f'<{url(offset + limit)}>; rel="next"')
    last = max(total - 1, 0) // limit * limit
    links.append(f'<{url(last)}>; rel="last"')
    headers["Link"] = ", ".join(links)
    return headers
