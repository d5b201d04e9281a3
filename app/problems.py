"""RFC 9457 problem details: the one error shape every non-2xx response uses.

The errors themselves (AppError and its kinds, PROBLEM_TYPES) live in `app.errors`, free of
the framework; this module renders them, and every exception FastAPI, Starlette or the
database raises, as problem+json.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.db_deadline import budget_spent
from app.errors import PROBLEM_TYPES as PROBLEM_TYPES  # re-exported for older imports
from app.errors import (
    AppError,
    Conflict,
    InvalidInput,
    PreconditionFailed,
    ServiceUnavailable,
    summarise,
    validation_issues,
)
from app.observability.request_ids import REQUEST_ID_HEADER, record_of

logger = logging.getLogger("app.problems")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ValidationIssue(BaseModel):
    """One reason a request was rejected."""

    loc: list[str | int] = Field(description='Where the problem is, e.g. `["query", "as_of"]`.')
    msg: str = Field(description="What is wrong, for humans.")
    type: str = Field(description="Machine-readable error kind, e.g. `date_from_datetime_parsing`.")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "type": "/problems/not-found",
                "title": "Not found",
                "status": 404,
                "detail": "No country with code 'ZZ' in the catalogue.",
                "instance": "/countries/ZZ/positions",
                "request_id": "4f9c1e0a6b2d4e8f9a7c3b5d1e2f3a4b",
            }
        }
    )

    type: str = Field(description="A URI reference identifying the problem type.")
    title: str = Field(description="A short summary of the problem type.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong in this occurrence.")
    instance: str = Field(description="The request path that produced the problem.")
    errors: list[ValidationIssue] | None = Field(
        default=None, description="Field-level validation failures (422 only)."
    )
    request_id: str | None = Field(
        default=None,
        description="The id of the request (its `X-Request-ID`: the client's, when it sent a "
        "valid one, else a new one), also in the server's log line for it. Present on every "
        "problem the API answers itself.",
    )


# Where an application answering below another is mounted (app.releases.dispatch): the
# `instance` names the path the client asked for.
MOUNTED_AT = "cp.mounted_at"


def problem_response(
    request: Request,
    *,
    status: int,
    type_: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_,
        "title": title,
        "status": status,
        "detail": detail,
        # scope["path"], not request.url.path: the URL round trip drops tab, CR and LF.
        "instance": request.scope.get(MOUNTED_AT, "") + request.scope["path"],
        **extra,
    }
    record = record_of(request.scope)
    if record is not None:
        body["request_id"] = record.request_id
        # Also sent from here: a 500 is answered outside the layer that adds the header.
        headers = {**(headers or {}), REQUEST_ID_HEADER: record.request_id}
        record.problem = type_
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def render_error(request: Request, exc: AppError) -> JSONResponse:
    """The problem document for an error raised anywhere below the routes."""
    return problem_response(
        request,
        status=exc.status,
        type_=f"/problems/{exc.type_slug}",
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers,
        **exc.extra,
    )


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return render_error(request, exc)


def _allowed_methods(request: Request) -> str:
    """Every method the API documents at this path (Starlette names only one route's)."""
    methods: set[str] = set()
    for template, item in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {method.upper() for method in item}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        # FastAPI's answer to a body it cannot decode (e.g. not UTF-8): an invalid input.
        issue = {"loc": ["body"], "msg": "the body is not valid UTF-8 JSON", "type": "json_invalid"}
        return render_error(
            request, InvalidInput("body: the body is not valid UTF-8 JSON", errors=[issue])
        )
    try:
        title = HTTPStatus(exc.status_code).phrase
    except ValueError:
        title = "HTTP error"
    detail = exc.detail if isinstance(exc.detail, str) else title
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No route matches {request.url.path!r}."
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return problem_response(
        request,
        status=exc.status_code,
        type_="about:blank",
        title=title,
        detail=detail,
        headers=headers or None,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_issues(exc.errors())
    detail = summarise(errors) or "The request is invalid."
    return render_error(request, InvalidInput(detail, errors=errors))


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("integrity error on %s: %s", request.url.path, exc.__class__.__name__)
    return render_error(request, Conflict("The change conflicts with stored data."))


async def _stale_data(request: Request, exc: Exception) -> JSONResponse:
    """A concurrent writer updated the row between our read and our write."""
    detail = "The resource was changed by another request; re-read it and retry."
    return render_error(request, PreconditionFailed(detail))


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    """The database refused a value the schema let through (a safety net: schemas and
    columns are meant to agree)."""
    logger.warning("data error on %s: %s", request.url.path, exc.__class__.__name__)
    detail = "A value is out of the range the database can store."
    return render_error(request, InvalidInput(detail))


# PostgreSQL's query_canceled: statement_timeout ended the query.
QUERY_CANCELED = "57014"


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Lost or refused connections are 503 (retryable); any other driver error is a bug: 500."""
    lost = isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )
    # PostgreSQL's undefined_table: the schema is not migrated, which /readyz reports too.
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    unmigrated = sqlstate == "42P01"
    lost = lost or unmigrated
    if not lost:
        return await _unexpected_error(request, exc)
    if budget_spent(getattr(exc, "orig", None)) or sqlstate == QUERY_CANCELED:
        # A healthy query cut by CP_DB_DEADLINE (or statement_timeout): say so.
        logger.warning("database deadline on %s: %s", request.url.path, exc.__class__.__name__)
        unavailable = ServiceUnavailable(
            "The request took too long: the database did not answer within its deadline. "
            "Retry later, or ask for less (a narrower query, a page)."
        )
    else:
        logger.error("database unavailable on %s: %s", request.url.path, exc.__class__.__name__)
        unavailable = ServiceUnavailable("The database is not reachable right now; retry shortly.")
    unavailable.headers = {"Retry-After": "5"}
    return render_error(request, unavailable)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s", request.url.path, exc_info=exc)
    # AppError itself is the internal error: 500, /problems/internal-error.
    return render_error(request, AppError("An unexpected error occurred; it has been logged."))


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(StaleDataError, _stale_data)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeoutError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)
