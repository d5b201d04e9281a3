"""A fast lane for the commonest cache misses: positions already derived, of one country
or of the whole chart.

Once app.assessments.snapshots holds a country's positions for a canonical date, what is
left of a request for `/countries/{code}/positions?as_of=...` is framework work: routing,
dependency solving and parameter validation cost ~150 µs, the answer itself ~10 µs. This
layer sits just outside the routes (inside every other middleware, so ETags, CORS, gzip,
admission and the response cache apply as usual) and answers the request itself when,
and only when, the answer is the route's own, byte for byte:

- GET of exactly that path, with at most `as_of` (YYYY-MM-DD) and `source` (a source-id
  pattern), each at most once; reads need no key; the tracker vouches for the revision;
- or `GET /positions` with at most those and `limit`/`offset`, answered in JSON (no
  filters, no other format: those go to the route), through the same renderer
  (app.assessments.chart_pages) as the route;
- the snapshot of that revision holds the country (or every country), the source and the
  positions.

Anything else (an unknown or repeated parameter, a malformed date, a 404, an entry not yet
derived) goes on to the route, which validates, derives and answers as it always has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.assessments.chart_pages import chart_response
from app.assessments.service import PositionFilter
from app.assessments.snapshots import PositionSnapshots
from app.http.formats import Format
from app.http.pagination import DEFAULT_PAGE_SIZE, MAX_OFFSET, MAX_PAGE_SIZE
from app.middleware.http_cache import VouchedRevision, vouched_for
from app.schemas import SOURCE_ID_PATTERN

PATH = re.compile(r"^/countries/([A-Za-z]{2,3})/positions$")
CHART = "/positions"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SOURCE = re.compile(SOURCE_ID_PATTERN)
NUMBER = re.compile(r"^\d{1,7}$")
PAGING = {"limit": (1, MAX_PAGE_SIZE), "offset": (0, MAX_OFFSET)}
# What the chart route answers with JSON (app.http.formats.negotiate): no Accept, or these.
JSON_ACCEPTS = frozenset({"", "*/*", "application/json"})


@dataclass(frozen=True)
class _Query:
    as_of: date | None = None
    source: str | None = None
    limit: int | None = None
    offset: int = 0


def _parameters(query: bytes, *, paged: bool) -> _Query | None:
    """The query when it is one the lane may answer (every value valid, none repeated,
    no other name), else None: the route then validates and answers it."""
    if not query:
        return _Query()
    fields: dict[str, object] = {}
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name in fields:
            return None
        if name == "as_of" and DATE.match(value):
            try:
                fields[name] = date.fromisoformat(value)
            except ValueError:
                return None
        elif name == "source" and len(value) <= 100 and SOURCE.match(value):
            fields[name] = value
        elif paged and name in PAGING and NUMBER.match(value):
            number = int(value)
            low, high = PAGING[name]
            if not low <= number <= high:
                return None
            fields[name] = number
        else:
            return None
    return _Query(**fields)  # type: ignore[arg-type]


ANSWER_STATE = "cp.fast_lane"


class FastLaneAnswers:
    """Whether the lane can answer a request, and with what (worked out once per request:
    the admission layer asks first, so what the lane answers never waits for a slot)."""

    def __init__(self, snapshots: PositionSnapshots, tracker: VouchedRevision | None) -> None:
        """`tracker` None (reads go to a replica, or reads need a key) turns the lane off."""
        self.snapshots = snapshots
        self.tracker = tracker

    async def answer(self, scope: Scope) -> Response | None:
        if scope["type"] != "http":
            # A lifespan scope's state is the one every request's state is copied from.
            return None
        state = scope.setdefault("state", {})
        if ANSWER_STATE in state:
            held: Response = state[ANSWER_STATE]
            return held
        response = None
        if self.tracker is not None and scope["method"] == "GET":
            response = await self._answer(scope, self.tracker)
        if response is not None:
            # Only an answer is kept: a request that waited for a slot looks again when it
            # gets one, as what it asks for may have been derived meanwhile.
            state[ANSWER_STATE] = response
        return response

    async def _answer(self, scope: Scope, tracker: VouchedRevision) -> Response | None:
        path: str = scope["path"]
        query: bytes = scope.get("query_string", b"")
        if path == CHART:
            wanted = _parameters(query, paged=True)
            if wanted is None or Headers(scope=scope).get("accept", "") not in JSON_ACCEPTS:
                return None
            chart = self.snapshots.peek_chart(
                await vouched_for(scope, tracker), wanted.as_of, wanted.source
            )
            if chart is None:
                return None
            return chart_response(
                Request(scope),
                chart,
                fmt=Format.json,
                as_of=wanted.as_of,
                source=wanted.source,
                position_filter=PositionFilter(),
                limit=wanted.limit or DEFAULT_PAGE_SIZE,
                offset=wanted.offset,
            )
        match = PATH.match(path)
        wanted = _parameters(query, paged=False) if match else None
        if match is None or wanted is None:
            return None
        body = self.snapshots.peek_country(
            await vouched_for(scope, tracker), match.group(1), wanted.as_of, wanted.source
        )
        return None if body is None else Response(body, media_type="application/json")

    async def available(self, scope: Scope) -> bool:
        return await self.answer(scope) is not None


class PositionsFastLane:
    def __init__(self, app: ASGIApp, *, answers: FastLaneAnswers) -> None:
        self.app = app
        self.answers = answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.answers.answer(scope)
        if response is None:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)
