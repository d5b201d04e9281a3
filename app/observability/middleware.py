"""The outermost layer: a request id, one log line, metrics and Server-Timing per request,
and `/metrics`.

Outside every other layer, so it sees every answer, those given early included: a
response-cache hit, the fast lane, the admission gate's 503, the limiter's 429, the host
check's 400. An exception that escapes the app (answered 500 by Starlette's outermost error
layer, which renders it with the same request id from the record) is logged here as a 500.

`/metrics` is answered here too, before the host check, the limiter, the cache and the
admission gate (a scrape must work when the instance is overloaded, and by container
address), never with CORS headers, and a browser's cross-origin request for it is refused.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.metrics import CONTENT_TYPE, Metrics
from app.observability.request_ids import (
    CURRENT,
    RECORD_STATE,
    RequestRecord,
    accepted_request_id,
)
from app.observability.request_log import ACCESS_LOGGER, RequestLog
from app.problems import PROBLEM_MEDIA_TYPE

METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"
_MAX_ROUTES_REMEMBERED = 4096

access_log = logging.getLogger(ACCESS_LOGGER)
INFO = logging.INFO


class RouteTemplates:
    """The route template of a request (`/countries/{code}/positions`), a bounded label.

    From the route that answered it when there was routing; else (answered before routing:
    a cache hit, the fast lane, a 304, 429 or 503; or below a mount) from what routing
    taught us of the same path, else the first documented path (OpenAPI) that matches, else
    a mount's path followed by the documented path that matches the rest (a frozen release
    read: `/releases/{version}/countries/{code}/positions`) or by `/{path}`; else
    `unmatched`.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self._known: dict[str, str] = {}
        self._patterns: list[tuple[re.Pattern[str], str]] | None = None
        self._mounts: list[tuple[re.Pattern[str], str]] = []

    def of(self, scope: Scope) -> str:
        path: str = scope["path"]
        route = scope.get("route")
        routed: str | None = None
        if route is not None and not isinstance(route, Mount):
            routed = getattr(route, "path_format", None)
        known = self._known.get(path)
        if routed is None:
            if known is not None:
                return known
            template = self._match(path)
        elif known == routed:
            return routed
        else:
            template = routed
        if len(self._known) >= _MAX_ROUTES_REMEMBERED:
            self._known.clear()
        self._known[path] = template
        return template

    def _match(self, path: str) -> str:
        if self._patterns is None:
            templates = [*self.app.openapi().get("paths", {}), "/"]
            self._patterns = [(re.compile(_regex(t) + "$"), t) for t in templates]
            # A mount answers everything below it too (the frozen releases, /static).
            self._mounts = [
                (re.compile(_regex(r.path) + "(/.*)$"), r.path)
                for r in self.app.router.routes
                if isinstance(r, Mount)
            ]
        template = self._documented(path)
        if template is not None:
            return template
        for pattern, prefix in self._mounts:
            below = pattern.match(path)
            if below is not None:
                return prefix + (self._documented(below[1]) or "/{path}")
        return UNMATCHED

    def _documented(self, path: str) -> str | None:
        for pattern, template in self._patterns or ():
            if pattern.match(path):
                return template
        return None


def _regex(template: str) -> str:
    """`/countries/{code}` as a regular expression: each `{...}` one path segment."""
    return re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template))


def server_timing(record: RequestRecord, started_response: float) -> bytes:
    """`cache;desc=hit, db;dur=1.20, app;dur=3.40`: for the browser's devtools."""
    parts = []
    if record.cache is not None:
        parts.append(f"cache;desc={record.cache}")
    if record.db_seconds:
        parts.append(f"db;dur={record.db_seconds * 1000:.2f}")
    parts.append(f"app;dur={(started_response - record.started) * 1000:.2f}")
    return ", ".join(parts).encode()


class ObservabilityMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        application: Any,
        metrics: Metrics | None,
        request_log: RequestLog | None,
    ) -> None:
        """`request_log`: where request lines go (None: CP_ACCESS_LOG=false)."""
        self.app = app
        self.templates = RouteTemplates(application)
        self.metrics = metrics
        self.request_log = request_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (
            self.metrics is not None
            and scope["path"] == METRICS_PATH
            and scope["method"] in ("GET", "HEAD")
        ):
            await self._metrics(scope, send)
            return
        record = RequestRecord(accepted_request_id(scope["headers"]))
        scope.setdefault("state", {})[RECORD_STATE] = record
        # Not reset afterwards: each request runs in a task of its own (so nothing leaks), and
        # Starlette's error layer, outside this one, logs a 500 with this id still current.
        CURRENT.set(record)
        status = 500
        sent = 0
        request_id = record.request_id.encode()

        async def observed_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                if record.problem is None:  # a problem document names its id already
                    headers.append((b"x-request-id", request_id))
                headers.append((b"server-timing", server_timing(record, time.perf_counter())))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            self._finish(scope, record, status, sent)

    def _finish(self, scope: Scope, record: RequestRecord, status: int, sent: int) -> None:
        seconds = time.perf_counter() - record.started
        route = self.templates.of(scope)
        method: str = scope["method"]
        if self.metrics is not None:
            self.metrics.observe_request(
                route, method, status, seconds, record.cache, record.problem
            )
        request_log = self.request_log
        if request_log is not None and access_log.isEnabledFor(INFO):
            request_log.write(scope, record, route, status, sent, seconds)

    async def _metrics(self, scope: Scope, send: Send) -> None:
        assert self.metrics is not None
        headers = dict(scope["headers"])
        cross_site = headers.get(b"sec-fetch-site", b"") in (b"cross-site", b"same-site")
        if b"origin" in headers or cross_site:
            status, content_type = 403, PROBLEM_MEDIA_TYPE.encode()
            body = json.dumps(
                {
                    "type": "/problems/forbidden",
                    "title": "Forbidden",
                    "status": 403,
                    "detail": "/metrics is not served to cross-origin requests.",
                    "instance": METRICS_PATH,
                }
            ).encode()
        else:
            status, body = 200, self.metrics.exposition()
            content_type = CONTENT_TYPE.encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                    (b"x-content-type-options", b"nosniff"),
                ],
            }
        )
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )
