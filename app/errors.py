"""The errors services raise, free of any web framework: each names one problem type.

`app.problems` renders them as RFC 9457 documents; PROBLEM_TYPES lists every type a
response may carry (README's error table is generated from it).
"""

from __future__ import annotations

from typing import Any


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
    "/problems/service-unavailable": "The database is unreachable or not migrated, a query "
    "took longer than its deadline, or a release's package is still being built.",
    "/problems/overloaded": "Too many requests in progress, or none answered within "
    "CP_REQUEST_DEADLINE: retry after `Retry-After` s.",
    "/problems/headers-too-large": "The request line and headers exceed CP_MAX_HEADER_BYTES.",
    "/problems/request-timeout": "The request headers did not arrive within CP_HEADER_TIMEOUT.",
    "/problems/too-many-connections": "The worker has CP_MAX_CONNECTIONS open: retry later.",
    "/problems/internal-error": "An unexpected error; details are only in the server log.",
    "/problems/invalid-host": "The `Host` header names a host not in CP_ALLOWED_HOSTS, or "
    "is repeated.",
    "/problems/bad-gateway": "The proxy in front (deploy/nginx.conf.template) got no answer "
    "from an API instance.",
    "about:blank": "A plain HTTP error (unknown route, method not allowed, ...).",
}


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
