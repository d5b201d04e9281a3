"""CORS with refusals in the one error shape: a refused preflight is problem+json too.

Cross-origin pages may GET and HEAD (writes are for the curators' own tools), and send
what a dashboard sends with a read (issue 12: a GET revalidating with If-None-Match was
refused at the preflight). Besides the headers the Fetch standard safelists (Accept,
Accept-Language, Content-Language, Content-Type; Starlette always allows those):

- If-None-Match, If-Modified-Since: revalidation (the API answers 304 by ETag; it sends no
  Last-Modified, so If-Modified-Since is harmless, not honoured);
- Authorization: a key, where CP_REQUIRE_KEY_FOR_READS asks for one;
- Cache-Control, Pragma: what a page sets to skip its own cache;
- X-Request-ID: a caller's correlation id.

Range is not listed: the API sends no partial content, and a browser sends a plain
`Range: bytes=...` without a preflight anyway. What a page may read of a response is
EXPOSED_HEADERS.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app.middleware.rate_limit.middleware import RATE_LIMIT_HEADERS
from app.problems import PROBLEM_MEDIA_TYPE

ALLOWED_REQUEST_HEADERS = (
    "Authorization",
    "Cache-Control",
    "If-Modified-Since",
    "If-None-Match",
    "Pragma",
    "X-Request-ID",
)
# Validators, paging, the rate limit and retry hints, file names of exports, request ids.
EXPOSED_HEADERS = (
    "Content-Disposition",
    "ETag",
    "Link",
    "Location",
    "Retry-After",
    "X-Request-ID",
    "X-Total-Count",
    *RATE_LIMIT_HEADERS,
)


class ProblemCORSMiddleware(CORSMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        preflight = (
            headers is not None
            and scope["method"] == "OPTIONS"
            and "origin" in headers
            and "access-control-request-method" in headers
        )
        if not preflight or headers is None:
            await super().__call__(scope, receive, send)
            return
        response = self.preflight_response(request_headers=headers)
        if response.status_code >= 400:
            response = _as_problem(
                response, scope["path"], self.preflight_headers["Access-Control-Allow-Headers"]
            )
        await response(scope, receive, send)


def _as_problem(refusal: Response, path: str, allowed_headers: str) -> Response:
    reason = bytes(refusal.body).decode("utf-8", "replace") or "Preflight refused"
    body = {
        "type": "about:blank",
        "title": "Bad Request",
        "status": refusal.status_code,
        "detail": f"{reason}: cross-origin requests may only GET and HEAD, sending only "
        f"these headers: {allowed_headers}.",
        "instance": path,
    }
    headers = {
        k: v
        for k, v in refusal.headers.items()
        if k.lower() not in ("content-length", "content-type")
    }
    headers["Cache-Control"] = "no-store"  # no caching layer sees a preflight
    return Response(
        json.dumps(body),
        status_code=refusal.status_code,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )
