"""Request dependencies shared by every router."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, TypeVar, get_origin

from fastapi import Depends, Path, Request
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.db import session_scope
from app.db_deadline import lift_request_budget
from app.errors import InvalidInput, summarise
from app.middleware.admission import UNBOUNDED_STATE
from app.middleware.http_cache import vouched_for
from app.middleware.response_cache import REVISION_STATE
from app.revisions.models import current_revision

T = TypeVar("T")


def begin_snapshot(session: Session) -> None:
    """Make the session's reads one snapshot of the database, before its first statement.

    SQLite: an explicit BEGIN (the driver begins a transaction only before a write, so each
    SELECT would see the latest commit). PostgreSQL: REPEATABLE READ (under READ COMMITTED
    each statement sees the latest commit). A read-only transaction never fails on either.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("BEGIN")
    else:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; the transaction commits when the handler succeeds.

    GET and HEAD read from the replica when DATABASE_READ_URL is set, in one snapshot
    whose revision is noted first: the response's ETag names the revision its body was
    read at (issue 20: on SQLite they could come from two moments).
    """
    state = request.app.state
    if request.method not in ("GET", "HEAD"):
        yield from session_scope(state.sessionmaker)
        return
    with state.read_sessionmaker() as session, session.begin():
        begin_snapshot(session)
        note_revision(request, current_revision(session))
        yield session


def read_in_thread(request: Request, work: Callable[[Session], T]) -> Awaitable[T]:
    """Run `work` in one read session, in one worker-thread hop.

    A sync route with a generator dependency takes three hops (open, handler, close),
    holding a pooled connection across them; under a burst the holders then wait for free
    threads while the threads wait for connections (issue 10). Hot read routes are async
    and call this instead: the session opens, reads and closes inside a single hop.
    """

    def run() -> T:
        with request.app.state.read_sessionmaker() as session, session.begin():
            begin_snapshot(session)
            return work(session)

    return run_in_threadpool(run)


async def vouched_revision(request: Request) -> int | None:
    """The dataset revision the tracker vouches for, if reads go to the primary (a
    replica's revision may lag the primary's): None means "ask the database"."""
    state = request.app.state
    if state.read_engine is not state.engine:
        return None
    return await vouched_for(request.scope, state.revision_tracker)


def without_deadlines(request: Request) -> None:
    """Exempt this request from CP_REQUEST_DEADLINE and CP_DB_DEADLINE (each database
    round trip keeps its own): for work long by design, called once the caller is known
    to be allowed it (POST /releases, after its admin key)."""
    request.scope.setdefault("state", {})[UNBOUNDED_STATE] = True
    lift_request_budget()


def note_revision(request: Request, revision: int) -> None:
    """Tell the response cache which revision the body was read at (it files the entry
    only under that revision)."""
    request.scope.setdefault("state", {})[REVISION_STATE] = revision


# scope="function": the transaction commits (or fails) before the response is sent, so a
# 2xx always means the write is stored (regression: curation tests, commit-before-response).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

CountryCodePath = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z]{2,3}$",
        description="ISO 3166-1 alpha-2 or alpha-3 code, case-insensitive (`RS`, `srb`).",
        examples=["RS"],
    ),
]


_DECLARED: dict[int, tuple[frozenset[str], frozenset[str]]] = {}


def _declared_query(route: APIRoute) -> tuple[frozenset[str], frozenset[str]]:
    """(every query parameter name, the names that take a list) of one route, memoised."""
    known = _DECLARED.get(id(route))
    if known is not None:
        return known
    params = []
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        params.extend(dependant.query_params)
        pending.extend(dependant.dependencies)
    names = frozenset(p.alias for p in params)
    repeatable = frozenset(p.alias for p in params if get_origin(p.field_info.annotation) is list)
    _DECLARED[id(route)] = (names, repeatable)
    return names, repeatable


async def reject_unknown_query_params(request: Request) -> None:
    """A misspelt or repeated parameter is a 422, not silently ignored (`?catgory=`)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    names, repeatable = _declared_query(route)
    issues = []
    for name in dict.fromkeys(request.query_params.keys()):
        if name not in names:
            allowed = ", ".join(sorted(names)) or "none"
            issues.append(
                {
                    "loc": ["query", name],
                    "msg": f"unknown parameter (allowed: {allowed})",
                    "type": "unknown_parameter",
                }
            )
        elif name not in repeatable and len(request.query_params.getlist(name)) > 1:
            issues.append(
                {
                    "loc": ["query", name],
                    "msg": "given more than once",
                    "type": "repeated_parameter",
                }
            )
    if issues:
        raise InvalidInput(summarise(issues), errors=issues)
