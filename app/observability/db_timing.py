"""The database time of a request: every statement's, added to the request's record.

Statements run in worker threads, which see the request's context (the thread pool copies
it), so the record is found there. Statements outside a request (the revision listener,
start-up) have no record and cost two clock reads.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.observability.request_ids import current_record

_STARTED = "cp_statement_started"


def time_statements(engine: Engine) -> None:
    if event.contains(engine, "before_cursor_execute", _before):
        return
    event.listen(engine, "before_cursor_execute", _before)
    event.listen(engine, "after_cursor_execute", _after)


def _before(
    conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any, many: Any
) -> None:
    conn.info[_STARTED] = time.perf_counter()


def _after(
    conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any, many: Any
) -> None:
    started = conn.info.pop(_STARTED, None)
    record = current_record()
    if started is not None and record is not None:
        record.db_seconds += time.perf_counter() - started
