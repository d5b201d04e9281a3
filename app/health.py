"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any
from concurrent.futures import Future

from fastapi import APIRouter, Request
from pydantic import Field
from sqlalchemy import Engine

from app.db_deadline import request_budget
from app.errors import ServiceUnavailable
from app.migrating import current_revisions
from app.problems import Problem
from app.schemas import AppModel

router = APIRouter(tags=["health"])

# /readyz answers within this many seconds, whatever the database does.
READINESS_TIMEOUT = 1.5
# When to ask again after a 503: what the API's own "database not reachable" 503s say.
RETRY_AFTER = "5"


class Health(AppModel):
    """Probe result."""

    status: str = Field(description="`ok` when the probe passes.", examples=["ok"])


# Probes take no body; one over CP_MAX_BODY_BYTES is refused before anything else runs.
TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {"model": Problem, "description": "A request body over CP_MAX_BODY_BYTES."},
}


@router.get("/healthz", response_model=Health, summary="Liveness probe", responses=TOO_LARGE)
async def healthz() -> Health:
    """200 whenever the process can answer; never touches the database."""
    # Async: a worker thread for this would queue behind a busy thread pool (issue 10).
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="Readiness probe",
    responses={
        **TOO_LARGE,
        503: {
            "model": Problem,
            "description": "Database (or read replica) unreachable or not migrated.",
        },
    },
)
async def readyz(request: Request) -> Health:
    """200 when the database, and the read replica if `DATABASE_READ_URL` names one, is
    reachable and migrated to the code's head revision; 503 when it is not, or does not
    answer within 1.5 s."""
    state = request.app.state
    probe: ReadinessProbe | None = getattr(state, "readiness_probe", None)
    if probe is None:
        engines: list[tuple[str, Engine]] = [("database", state.engine)]
        if state.read_engine is not state.engine:
            engines.append(("read replica", state.read_engine))
        probe = state.readiness_probe = ReadinessProbe(engines, state.head_revisions)
    running = asyncio.wrap_future(probe.run())
    running.add_done_callback(_retrieve)
    done, _ = await asyncio.wait({running}, timeout=READINESS_TIMEOUT)
    if not done:
        raise unavailable(f"The database did not answer within {READINESS_TIMEOUT} s.")
    running.result()  # raises ServiceUnavailable
    return Health(status="ok")


def unavailable(detail: str) -> ServiceUnavailable:
    """The probe's 503, with the `Retry-After` a load balancer or client waits before asking
    again (the OpenAPI document promises it on every 503)."""
    error = ServiceUnavailable(detail)
    error.headers = {"Retry-After": RETRY_AFTER}
    return error


def _retrieve(future: asyncio.Future[None]) -> None:
    """Mark an outcome nobody waited for as seen (asyncio would log it as lost)."""
    if not future.cancelled():
        future.exception()


class ReadinessProbe:
    """Checks the databases in a thread of its own, one check at a time: a silent database
    never holds the probe past READINESS_TIMEOUT, nor piles up threads (probes arriving
    during a check share it), nor waits for the request threadpool."""

    def __init__(self, engines: list[tuple[str, Engine]], expected: set[str]) -> None:
        self.engines = engines
        self.expected = expected
        self._lock = threading.Lock()
        self._running: Future[None] | None = None

    def run(self) -> Future[None]:
        with self._lock:
            if self._running is None or self._running.done():
                future: Future[None] = Future()
                thread = threading.Thread(
                    target=_settle, args=(future, self.check), name="readiness", daemon=True
                )
                thread.start()
                self._running = future
            return self._running

    def check(self) -> None:
        with request_budget(READINESS_TIMEOUT):
            for name, engine in self.engines:
                try:
                    with engine.connect() as connection:
                        current = current_revisions(connection)
                except Exception as exc:
                    raise unavailable(f"The {name} is not reachable.") from exc
                if current != self.expected:
                    raise unavailable(
                        f"The {name} schema is not at the expected revision; "
                        "run `country-positions migrate`."
                    )


def _settle(future: Future[None], check: Callable[[], None]) -> None:
    try:
        check()
    except BaseException as exc:
        future.set_exception(exc)
    else:
        future.set_result(None)
