"""CORS with refusals in the one error shape: a refused preflight is problem+json too."""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app.problems import PROBLEM_MEDIA_TYPE


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
            response = _as_problem(response, scope["path"])
        await response(scope, receive, send)


def _as_problem(refusal: Response, path: str) -> Response:
    reason = bytes(refusal.body).decode("utf-8", "replace") or "Preflight refused"
    body = {
        "type": "about:blank",
        "title": "Bad Request",
        "status": refusal.status_code,
        "detail": f"{reason}: cross-origin requests may only GET and HEAD.",
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
