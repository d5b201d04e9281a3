"""The record of one request, shared by every layer that has something to add to it.

It lives in `scope["state"]` (shared by the shallow scope copies inner layers make) and in a
context variable (seen by log records and by the worker threads that run a request's
database work, since the thread pool copies the context).
"""

from __future__ import annotations

import os
import re
import time
from contextvars import ContextVar
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
RECORD_STATE = "cp.request"
# Bounded and boring: what a load balancer or a client library generates (UUIDs, hex, ULIDs),
# never anything that could break a log line or a header.
VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


class RequestRecord:
    """What is known about one request by the time its log line is written."""

    __slots__ = (
        "api_key",
        "cache",
        "db_seconds",
        "problem",
        "request_id",
        "started",
    )

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.started = time.perf_counter()
        self.cache: str | None = None  # hit | miss | bypass, set by the response cache
        self.db_seconds = 0.0
        self.problem: str | None = None  # the problem type, when the answer is one
        self.api_key: str | None = None  # the key's name, never the key


CURRENT: ContextVar[RequestRecord | None] = ContextVar("cp_request", default=None)


def accepted_request_id(headers: Any) -> str:
    """The client's `X-Request-ID` when it is a safe one, else a fresh id (32 hex digits)."""
    for name, value in headers:
        if name == b"x-request-id":
            if VALID_REQUEST_ID.fullmatch(value):
                return str(value.decode("ascii"))
            break
    return os.urandom(16).hex()


def current_record() -> RequestRecord | None:
    return CURRENT.get()


def record_of(scope: Any) -> RequestRecord | None:
    """The record of the request `scope` belongs to (None outside the observability layer)."""
    state = scope.get("state")
    if state is None:
        return None
    record: RequestRecord | None = state.get(RECORD_STATE)
    return record


def note_api_key(name: str) -> None:
    """Name the API key a request was made with, for its log line (writes only)."""
    record = CURRENT.get()
    if record is not None:
        record.api_key = name
