"""Exports streamed from a server-side cursor: memory bounded whatever the row count.

An export once loaded every row (as ORM entities, then Pydantic models) before its first
byte: 570 MB RSS for a 150k-assessment country, 1.87 GB for four at once (issue 10). Here
the statement runs on a server-side cursor (a named cursor on PostgreSQL; SQLite's cursor
is incremental anyway) and Core rows come `CHUNK_ROWS` at a time, each batch fetched and
rendered to text in one worker-thread hop, so memory holds a batch, not the export.

The session lives as long as the stream and is closed (its connection back in the pool)
when the last row is read, when the client goes away mid-way, or when anything fails; the
response closes it whatever happened to the body. After the response starts, the request's
database deadline no longer counts (app.db_deadline), so each fetch is armed on the
watchdog by itself: a database that goes silent mid-export ends the stream within
`CP_DB_DEADLINE` instead of holding the connection for good.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import anyio
from pydantic_core import to_json
from sqlalchemy import Executable, Result, Row
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from app.db_deadline import WATCHDOG, deadline
from app.http.csv_safety import safe_row

CHUNK_ROWS = 1000
Render = Callable[[Sequence[Row[Any]]], bytes]


def csv_lines(rows: Sequence[Sequence[Any]]) -> bytes:
    """RFC 4180 lines (CRLF, quoted as needed), as `stream_csv` writes them; None is '',
    and a cell a spreadsheet would run as a formula gets a leading `'` (app.http.csv_safety)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(safe_row(row) for row in rows)
    return buffer.getvalue().encode()


def ndjson_lines(fields: Sequence[str]) -> Render:
    """One JSON object per row, keys `fields` in order, serialised as Pydantic would."""

    def render(rows: Sequence[Row[Any]]) -> bytes:
        return b"".join([to_json(dict(zip(fields, row, strict=True))) + b"\n" for row in rows])

    return render


class CursorStream:
    """The rows of one statement, rendered a batch per worker-thread hop, in a session it
    owns and closes exactly once."""

    def __init__(
        self,
        session: Session,
        statement: Executable,
        render: Render,
        *,
        prefix: bytes = b"",
        round_trip_seconds: float | None = None,
    ) -> None:
        self._session = session
        self._statement = statement
        self._render = render
        self._prefix = prefix
        # PostgreSQL only: the watchdog cuts a socket, and SQLite has none.
        self._round_trip_seconds = round_trip_seconds
        self._result: Result[Any] | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._exhausted = False

    def start(self) -> None:
        """Run the statement and render the first batch, before the response starts (call
        it in a worker thread): a failing database is then still a problem response, and
        the first bytes are ready the moment headers go out."""
        first = self._next_chunk()
        self._prefix += first or b""

    def _next_chunk(self) -> bytes | None:
        """Fetch and render the next batch (in a worker thread); None when done."""
        with self._lock:
            if self._closed or self._exhausted:
                return None
            if self._result is None:
                self._result = self._session.execute(
                    self._statement, execution_options={"yield_per": CHUNK_ROWS}
                )
            rows = self._fetch(self._result)
            self._exhausted = len(rows) < CHUNK_ROWS  # spares the hop that would read none
            return self._render(rows) if rows else None

    def _fetch(self, result: Result[Any]) -> Sequence[Row[Any]]:
        if self._round_trip_seconds is None:
            return result.fetchmany(CHUNK_ROWS)
        # A named cursor's FETCH is no `execute`, so app.db_deadline's guard misses it.
        dbapi = self._session.connection().connection.dbapi_connection
        token = WATCHDOG.arm(dbapi, deadline(self._round_trip_seconds))
        try:
            return result.fetchmany(CHUNK_ROWS)
        finally:
            WATCHDOG.disarm(token)

    def close(self) -> None:
        """Close the cursor and the session: the connection goes back to the pool."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self._result is not None:
                    self._result.close()
            finally:
                self._session.close()

    async def aclose(self) -> None:
        """`close` in a worker thread, even while the caller is being cancelled."""
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(self.close)

    async def chunks(self) -> AsyncIterator[bytes]:
        if self._prefix:
            yield self._prefix
        while (chunk := await run_in_threadpool(self._next_chunk)) is not None:
            yield chunk
        await self.aclose()  # before the final empty body message: the pool gets it back now


class CursorResponse(StreamingResponse):
    """A streamed body from a `CursorStream`, whose session is closed however the response
    ends: complete, the client gone (cancelled, or a send that raised), or an error."""

    def __init__(
        self,
        stream: CursorStream,
        *,
        media_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(stream.chunks(), media_type=media_type, headers=headers)
        self._stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._stream.aclose()
