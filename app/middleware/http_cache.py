"""Conditional GET for every read: ETag, 304, Cache-Control and HEAD, before routing.

The ETag of a response is derived from the dataset revision (bumped by every write and
seed run), the code (version and static assets), and what selects the representation
(path, query, Accept).
So it changes when, and only when, the data behind it (or the code rendering it) changes,
and a matching If-None-Match is answered here without running the endpoint at all.
Vary (`Accept` among others) is app.middleware.vary's, on every response alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import __version__
from app.docs_ui.assets import ASSETS_URL

NO_STORE_PATHS = frozenset({"/healthz", "/readyz"})
# Served bytes that do not depend on the data: their ETag follows the code version only.
# (`/`, the chart page, names the latest release: its ETag follows the revision.)
STATIC_PATHS = frozenset({"/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"})
STATIC_PREFIXES = ("/static/", f"{ASSETS_URL}/")
# Files whose path names their version (the vendored docs UIs): cached for a year, never
# revalidated; a new version is a new URL.
IMMUTABLE_PREFIXES = (f"{ASSETS_URL}/",)
IMMUTABLE_MAX_AGE = 365 * 24 * 3600


class RevisionSource(Protocol):
    async def current(self) -> int: ...


class VouchedRevision(Protocol):
    async def current(self) -> int | None: ...


VOUCHED_STATE = "cp.vouched"
# The revision a response's body was read at, as far as known (app.http.deps.note_revision;
# the response cache files entries under it too).
NOTED_REVISION = "cp.revision"


async def vouched_for(scope: Scope, tracker: VouchedRevision) -> int | None:
    """The revision the tracker vouches for (None: it can't), asked once per request: on
    SQLite each ask stats two files, and several layers want to know."""
    if scope["type"] != "http":
        return await tracker.current()
    state = scope.setdefault("state", {})
    if VOUCHED_STATE not in state:
        state[VOUCHED_STATE] = await tracker.current()
    revision: int | None = state[VOUCHED_STATE]
    return revision


def static_fingerprint(*sources: Path) -> str:
    """A digest of every static file (each source: a folder, or one file), so the pages'
    ETags change whenever an asset does."""
    digest = hashlib.blake2b(__version__.encode(), digest_size=12)
    for source in sources:
        files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
        for path in files:
            digest.update(path.relative_to(source.parent).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _etag(revision: int | None, scope: Scope, accept: str, fingerprint: str) -> str:
    key = "\n".join(
        [
            fingerprint,
            "" if revision is None else str(revision),
            scope["path"],
            "&".join(sorted(scope.get("query_string", b"").decode("latin-1").split("&"))),
            accept,
        ]
    )
    digest = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
    prefix = "static" if revision is None else f"r{revision}"
    return f'W/"{prefix}-{digest}"'


def matches_etag(if_none_match: str, etag: str, *, star: bool = True) -> bool:
    """Weak comparison (RFC 9110 §13.1.2): W/ prefixes are ignored. `*` matches any current
    representation, so only pass `star=True` once one is known to exist."""
    if if_none_match.strip() == "*":
        return star
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def not_modified(start: Message) -> Message:
    """The 304 for a 200: the same validators and caching headers, nothing else."""
    keep = {b"etag", b"cache-control", b"vary", b"content-location", b"date", b"expires"}
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() in keep]
    return {"type": "http.response.start", "status": 304, "headers": headers}


class ConditionalGetMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        revisions: RevisionSource,
        max_age: int,
        fingerprint: str,
        private: bool = False,
        tracker: VouchedRevision | None = None,
    ) -> None:
        """`private`: reads need a key, so no shared cache may store them, and no 304 may
        be answered before the endpoint has checked the key."""
        self.app = app
        self.revisions = revisions
        self.fingerprint = fingerprint
        self.private = private
        # Without a replica the tracker's revision, when it vouches, saves a database read.
        self.tracker = tracker
        visibility = "private" if private else "public"
        self.cache_control = f"{visibility}, max-age={max_age}"
        self.immutable_cache_control = f"{visibility}, max-age={IMMUTABLE_MAX_AGE}, immutable"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        is_head = scope["method"] == "HEAD"
        if is_head:
            scope = {**scope, "method": "GET"}
        path: str = scope["path"]
        headers = Headers(scope=scope)
        etag: str | None = None
        revision: int | None = None
        static = path in STATIC_PATHS or path.startswith(STATIC_PREFIXES)
        if static:
            etag = _etag(None, scope, headers.get("accept", ""), self.fingerprint)
        elif path not in NO_STORE_PATHS:
            revision = None if self.tracker is None else await vouched_for(scope, self.tracker)
            if revision is None:
                try:
                    revision = await self.revisions.current()
                except Exception:
                    revision = None  # the endpoint will answer 503 on its own
            if revision is not None:
                etag = _etag(revision, scope, headers.get("accept", ""), self.fingerprint)
                scope.setdefault("state", {})[NOTED_REVISION] = revision
        cache_control = (
            self.immutable_cache_control
            if path.startswith(IMMUTABLE_PREFIXES)
            else self.cache_control
        )
        if_none_match = headers.get("if-none-match", "")
        early = etag is not None and not self.private and if_none_match
        if early and matches_etag(if_none_match, etag or "", star=False):
            await send(
                {
                    "type": "http.response.start",
                    "status": 304,
                    "headers": [
                        (b"etag", (etag or "").encode()),
                        (b"cache-control", cache_control.encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        wrapped = self._wrap(send, etag, static, is_head, if_none_match, cache_control)
        if etag is not None and not static:
            wrapped = self._retag(scope, revision, wrapped)
        await self.app(scope, receive, wrapped)

    def _retag(
        self, scope: Scope, revision: int | None, send: Callable[[Message], Awaitable[None]]
    ) -> Callable[[Message], Awaitable[None]]:
        """The ETag of the revision the body was read at, when the endpoint noted one
        (app.http.deps.note_revision) other than the revision asked before it ran: a
        write may land between the two."""

        async def retagged(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                noted = scope.get("state", {}).get(NOTED_REVISION)
                if noted is not None and noted != revision:
                    accept = Headers(scope=scope).get("accept", "")
                    # Set here, so _wrap (below) takes it as the endpoint's own.
                    tagged = MutableHeaders(scope=message)
                    if "etag" not in tagged:
                        tagged["ETag"] = _etag(noted, scope, accept, self.fingerprint)
            await send(message)

        return retagged

    def _wrap(
        self,
        send: Send,
        etag: str | None,
        static: bool,
        is_head: bool,
        if_none_match: str,
        cache_control: str,
    ) -> Callable[[Message], Awaitable[None]]:
        """Add caching headers. An endpoint's own ETag (a single resource's version, which
        `If-Match` needs) is kept; static files get ours. A 200 whose tag matches
        If-None-Match becomes a 304 here, after the endpoint ran (and checked any key)."""
        drop_body = is_head

        async def wrapped(message: Message) -> None:
            nonlocal drop_body
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                status = message["status"]
                if status in (200, 304) and (etag is not None or "etag" in response_headers):
                    if etag is not None and (static or "etag" not in response_headers):
                        response_headers["ETag"] = etag
                    if static and "last-modified" in response_headers:
                        del response_headers["last-modified"]
                    # A release's reads say `immutable` themselves (app.releases.dispatch).
                    if "immutable" not in response_headers.get("cache-control", ""):
                        response_headers["Cache-Control"] = cache_control
                    tag = response_headers["etag"]
                    if status == 200 and if_none_match and matches_etag(if_none_match, tag):
                        message = not_modified(message)
                        drop_body = True
                elif "cache-control" not in response_headers:
                    response_headers["Cache-Control"] = "no-store"
            elif message["type"] == "http.response.body" and drop_body:
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        return wrapped
