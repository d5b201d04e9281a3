"""RFC 9457 problem details: the one error shape every non-2xx response uses."""

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


class AppError(Exception):
    """Base of the errors services raise; each maps to one problem type."""

    status: int = 500
    type_slug: str = "internal-error"
    title: str = "Internal server error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        self.headers: dict[str, str] | None = None


class NotFound(AppError):
    status = 404
    type_slug = "not-found"
    title = "Not found"


class InvalidInput(AppError):
    status = 422
    type_slug = "invalid-input"
    title = "Invalid input"


class Unauthorized(AppError):
    status = 401
    type_slug = "unauthorized"
    title = "Unauthorized"

    def __init__(self, detail: str, *, error: str | None = None) -> None:
        super().__init__(detail)
        challenge = 'Bearer realm="country-positions"'
        if error:
            challenge += f', error="{error}"'
        self.headers = {"WWW-Authenticate": challenge}


class Forbidden(AppError):
    status = 403
    type_slug = "forbidden"
    title = "Forbidden"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers = {
            "WWW-Authenticate": 'Bearer realm="country-positions", error="insufficient_scope"'
        }


class PreconditionFailed(AppError):
    status = 412
    type_slug = "precondition-failed"
    title = "Precondition failed"


class PreconditionRequired(AppError):
    status = 428
    type_slug = "precondition-required"
    title = "Precondition required"


class PayloadTooLarge(AppError):
    status = 413
    type_slug = "payload-too-large"
    title = "Payload too large"


class NotAcceptable(AppError):
    status = 406
    type_slug = "not-acceptable"
    title = "Not acceptable"


class Conflict(AppError):
    status = 409
    type_slug = "conflict"
    title = "Conflict"


class ServiceUnavailable(AppError):
    status = 503
    type_slug = "service-unavailable"
    title = "Service unavailable"


PROBLEM_TYPES: dict[str, str] = {
    "/problems/not-found": "The resource named in the path does not exist.",
    "/problems/invalid-input": "A parameter or body is malformed; `errors` lists each failure.",
    "/problems/unauthorized": "No valid API key was sent (see `WWW-Authenticate`).",
    "/problems/forbidden": "The API key lacks the scope this operation needs.",
    "/problems/precondition-failed": "`If-Match` names a stale version: re-read and retry.",
    "/problems/precondition-required": "This write needs `If-Match` with the resource's ETag.",
    "/problems/payload-too-large": "The request body exceeds CP_MAX_BODY_BYTES.",
    "/problems/not-acceptable": "The requested format (`format=` or `Accept`) is not offered.",
    "/problems/conflict": "The request conflicts with stored data (e.g. a duplicate).",
    "/problems/rate-limited": "Over a rate limit (CP_RATE_LIMIT_*): retry after `Retry-After` s.",
    "/problems/service-unavailable": "The database is unreachable or not migrated.",
    "/problems/overloaded": "Too many requests in progress, or none answered within "
    "CP_REQUEST_DEADLINE: retry after `Retry-After` s.",
    "/problems/headers-too-large": "The request line and headers exceed CP_MAX_HEADER_BYTES.",
    "/problems/request-timeout": "The request headers did not arrive within CP_HEADER_TIMEOUT.",
    "/problems/too-many-connections": "The worker has CP_MAX_CONNECTIONS open: retry later.",
    "/problems/internal-error": "An unexpected error; details are only in the server log.",
    "/problems/invalid-host": "The `Host` header names a host not in CP_ALLOWED_HOSTS.",
    "/problems/bad-gateway": "The proxy in front (deploy/nginx.conf.template) got no answer "
    "from an API instance.",
    "about:blank": "A plain HTTP error (unknown route, method not allowed, ...).",
}


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
        "instance": request.scope["path"],
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        request,
        status=exc.status,
        type_=f"/problems/{exc.type_slug}",
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers,
        **exc.extra,
    )


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
        return await _app_error(
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


def _jsonable_loc(loc: Any) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


def _without_null_branches(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fold the errors of an optional-but-not-nullable field into the field's own.

    A field typed `X | SkipJsonSchema[None]` is a union to pydantic: a bad value fails both
    branches, and each error's loc carries the branch's tag (`["body", "evidence",
    "constrained-str"]` plus `[..., "none"]`). The documented schema has no null branch, so
    the `none_required` error is dropped and the tag is cut from its siblings' loc.
    """
    unions = {
        tuple(err["loc"][:-1])
        for err in errors
        if err.get("type") == "none_required" and err.get("loc") and err["loc"][-1] == "none"
    }
    if not unions:
        return errors
    folded: list[dict[str, Any]] = []
    for err in errors:
        loc = tuple(err["loc"])
        union = next((u for u in unions if loc[: len(u)] == u and len(loc) > len(u)), None)
        if union is None:
            folded.append(err)
        elif err["type"] != "none_required":
            folded.append({**err, "loc": [*union, *loc[len(union) + 1 :]]})
    return folded


def validation_issues(errors: Any, prefix: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Pydantic errors as the `errors` member of a 422 problem."""
    return _without_null_branches(
        [
            {
                "loc": [*prefix, *_jsonable_loc(err.get("loc", ()))],
                "msg": str(err.get("msg", "")).removeprefix("Value error, "),
                "type": str(err.get("type", "value_error")),
            }
            for err in errors
        ]
    )


def summarise(issues: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in issue['loc'])}: {issue['msg']}" for issue in issues[:5]
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_issues(exc.errors())
    summary = summarise(errors)
    return problem_response(
        request,
        status=422,
        type_="/problems/invalid-input",
        title="Invalid input",
        detail=summary or "The request is invalid.",
        errors=errors,
    )


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("integrity error on %s: %s", request.url.path, exc.__class__.__name__)
    return problem_response(
        request,
        status=409,
        type_="/problems/conflict",
        title="Conflict",
        detail="The change conflicts with stored data.",
    )


async def _stale_data(request: Request, exc: Exception) -> JSONResponse:
    """A concurrent writer updated the row between our read and our write."""
    return problem_response(
        request,
        status=412,
        type_="/problems/precondition-failed",
        title="Precondition failed",
        detail="The resource was changed by another request; re-read it and retry.",
    )


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    """The database refused a value the schema let through (a safety net: schemas and
    columns are meant to agree)."""
    logger.warning("data error on %s: %s", request.url.path, exc.__class__.__name__)
    return problem_response(
        request,
        status=422,
        type_="/problems/invalid-input",
        title="Invalid input",
        detail="A value is out of the range the database can store.",
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Lost or refused connections are 503 (retryable); any other driver error is a bug: 500."""
    lost = isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )
    # PostgreSQL's undefined_table: the schema is not migrated, which /readyz reports too.
    unmigrated = getattr(getattr(exc, "orig", None), "sqlstate", None) == "42P01"
    lost = lost or unmigrated
    if not lost:
        return await _unexpected_error(request, exc)
    logger.error("database unavailable on %s: %s", request.url.path, exc.__class__.__name__)
    return problem_response(
        request,
        status=503,
        type_="/problems/service-unavailable",
        title="Service unavailable",
        detail="The database is not reachable right now; retry shortly.",
        headers={"Retry-After": "5"},
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return problem_response(
        request,
        status=500,
        type_="/problems/internal-error",
        title="Internal server error",
        detail="An unexpected error occurred; it has been logged.",
    )


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
