"""`/releases/{version}/...`: every read of the dataset, frozen at a release's revision.

Mounted under the main application (its middleware runs once, outside). One small
read-only application (the read routers, the problem handlers) serves every release: each
request binds its release's state (a frozen engine, app.releases.frozen; links prefixed
with the release's path) to the app's `state`; the states of the releases read last are
kept. Its 200s are cacheable for a year (`immutable`), with
a strong ETag derived from the release's hash and what selects the representation.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from contextvars import ContextVar
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders, State
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.types import Message, Receive, Scope, Send

from app import __version__
from app.api_keys.security import check_read_key, require_read_access
from app.assessments import csv_metadata_router, export_router
from app.assessments import router as assessments
from app.assessments.snapshots import PositionSnapshots
from app.categories import router as categories
from app.countries import router as countries
from app.db import make_sessionmaker
from app.errors import AppError, NotFound
from app.groups import router as groups
from app.http.deps import reject_unknown_query_params
from app.middleware.http_cache import IMMUTABLE_MAX_AGE, matches_etag
from app.observability.request_ids import RECORD_STATE, record_of
from app.problems import MOUNTED_AT, install_problem_handlers, problem_response, render_error
from app.releases.frozen import frozen_engine
from app.releases.models import Release
from app.releases.schemas import VERSION_PATTERN
from app.releases.service import LATEST_MAX_AGE, latest_release
from app.revisions.trackers import FixedRevision
from app.settings import Settings
from app.sources import router as sources
from app.statements import router as statements

# Releases whose engines (and positions memos) are kept open; one read after this many
# others opens its engine again (a connection), never an application.
KEPT_RELEASES = 16
RELEASE_SNAPSHOT_BYTES = 4 * 1024 * 1024
# Paths below `/releases/{version}` that are operations, not reads: their methods.
OPERATIONS_BELOW_A_RELEASE = {"/withdrawal": "POST"}
IMMUTABLE = f"public, max-age={IMMUTABLE_MAX_AGE}, immutable"
# Under CP_REQUIRE_KEY_FOR_READS: no shared cache may hand a keyed read to anyone else.
PRIVATE_IMMUTABLE = f"private, max-age={IMMUTABLE_MAX_AGE}, immutable"


def immutable(settings: Settings) -> str:
    """The Cache-Control of a release's 200s and 304s."""
    return PRIVATE_IMMUTABLE if settings.require_key_for_reads else IMMUTABLE


def _read_router() -> APIRouter:
    """The data routers a release serves (their writes are refused before routing)."""
    router = APIRouter(
        dependencies=[Depends(reject_unknown_query_params), Depends(require_read_access)]
    )
    for module in (
        assessments,
        export_router,
        csv_metadata_router,
        countries,
        categories,
        sources,
        groups,
        statements,
    ):
        router.include_router(module.router)
    return router


class ReleaseState(State):
    """The shared frozen app's `app.state`: the state of the release bound to the current
    request (`_bound`, set around each call), so one app serves every release."""

    def __getattr__(self, name: str) -> Any:
        bound = _bound.get()
        if bound is None:
            raise AttributeError(f"no release is bound to this request: {name}")
        return getattr(bound, name)


_bound: ContextVar[State | None] = ContextVar("cp_release_state", default=None)


def _shared_app() -> FastAPI:
    """The read routes, once for every release (issue 20: an app per release, rebuilt
    whenever more releases than were kept took turns, served 12 reads/s instead of 1,000)."""
    from app.main import NO_NATIVE_TELEMETRY

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, **NO_NATIVE_TELEMETRY)
    app.state = ReleaseState()
    install_problem_handlers(app)
    app.include_router(_read_router())
    return app


def _release_state(settings: Settings, release: Release) -> State:
    """What the read routes find in `request.app.state` for `release`: a frozen engine,
    its own positions memo, its fixed revision, links under its path."""
    engine = frozen_engine(settings, release.revision)
    state = State()
    state.settings = settings.model_copy(
        update={
            "public_url": f"{settings.public_url or ''}/releases/{release.version}",
            # Checked by FrozenReleases, before the ETag; once is enough.
            "require_key_for_reads": False,
        }
    )
    state.engine = state.read_engine = engine
    state.sessionmaker = state.read_sessionmaker = make_sessionmaker(engine)
    state.snapshots = PositionSnapshots(max_bytes=RELEASE_SNAPSHOT_BYTES)
    state.revision_tracker = FixedRevision(release.revision)
    return state


def _request_record(scope: Scope) -> dict[str, object]:
    record = record_of(scope)
    return {} if record is None else {RECORD_STATE: record}


def release_etag(release: Release, scope: Scope, accept: str) -> str:
    """A strong ETag: the release's hash, the code version (a new version may add fields to
    the same data's answers: issue 19's chains, claims and denials), and what selects the
    representation."""
    query = "&".join(sorted(scope.get("query_string", b"").decode("latin-1").split("&")))
    key = "\n".join([release.sha256, __version__, scope["path"], query, accept])
    return f'"{release.sha256[:16]}-{hashlib.blake2b(key.encode(), digest_size=12).hexdigest()}"'


class ReleaseLookup:
    """Finds a release by version; found ones are kept (a release never changes)."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self._known: dict[str, Release] = {}

    def _load(self, version: str) -> Release | None:
        with self.factory() as session:
            return session.get(Release, version)

    def _newest(self) -> Release | None:
        with self.factory() as session:
            return latest_release(session)

    async def newest(self) -> Release | None:
        """The latest release, asked of the database every time (a new one may exist)."""
        return await run_in_threadpool(self._newest)

    async def __call__(self, version: str) -> Release | None:
        release = self._known.get(version)
        if release is None:
            release = await run_in_threadpool(self._load, version)
            if release is not None:
                self._known[version] = release
        return release


class FrozenReleases:
    """The ASGI app mounted at `/releases/{version}`."""

    def __init__(self, settings: Settings, find: ReleaseLookup) -> None:
        self.settings = settings
        self.find = find
        self.app = _shared_app()
        self.bound = 0  # release states made so far (tests count them)
        self._states: OrderedDict[str, State] = OrderedDict()
        self._lock = threading.Lock()

    def _state_for(self, release: Release) -> State:
        with self._lock:
            if release.version in self._states:
                self._states.move_to_end(release.version)
                return self._states[release.version]
            state = _release_state(self.settings, release)
            self.bound += 1
            self._states[release.version] = state
            while len(self._states) > KEPT_RELEASES:
                _, dropped = self._states.popitem(last=False)
                dropped.engine.dispose()
            return state

    async def _to_latest(self, scope: Scope, rest: str, receive: Receive, send: Send) -> None:
        """`/releases/latest/<read>`: a short-lived redirect to the newest release's."""
        newest = await self.find.newest()
        if newest is None:
            error = NotFound("no release yet; an admin makes one with POST /releases")
            await render_error(Request(scope), error)(scope, receive, send)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        target = f"{self.settings.public_url or ''}/releases/{newest.version}{rest}"
        redirect = RedirectResponse(
            f"{target}?{query}" if query else target,
            status_code=307,
            headers={"Cache-Control": f"public, max-age={LATEST_MAX_AGE}"},
        )
        await redirect(scope, receive, send)

    def dispose(self) -> None:
        with self._lock:
            for state in self._states.values():
                state.engine.dispose()
            self._states.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if self.settings.require_key_for_reads:
            # Before anything that answers from what the release is (a 304, a redirect,
            # even a 404): without a key, nothing about a release is told.
            try:
                await check_read_key(Request(scope))
            except AppError as no_key:
                await render_error(Request(scope), no_key)(scope, receive, send)
                return
        version = str(scope.get("path_params", {}).get("version", ""))
        root_path = str(scope.get("root_path", ""))
        path = str(scope["path"])
        rest = path[len(root_path) :] if path.startswith(root_path) else path
        if version == "latest":
            await self._to_latest(scope, rest, receive, send)
            return
        release = await self.find(version) if re.fullmatch(VERSION_PATTERN, version) else None
        if release is None:
            error = NotFound(f"no release {version!r}; GET /releases lists them")
            await render_error(Request(scope), error)(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            # The release's own operations (app.releases.router) are routed before this
            # mount, which still gets their other methods: their Allow is theirs.
            allow = OPERATIONS_BELOW_A_RELEASE.get(rest, "GET, HEAD")
            refused = problem_response(
                Request(scope),
                status=405,
                type_="about:blank",
                title="Method Not Allowed",
                detail=f"Only {allow} here: a release is read-only.",
                headers={"Allow": allow},
            )
            await refused(scope, receive, send)
            return
        headers = Headers(scope=scope)
        etag = release_etag(release, scope, headers.get("accept", ""))
        cache_control = immutable(self.settings).encode()
        if matches_etag(headers.get("if-none-match", ""), etag, star=False):
            await send(
                {
                    "type": "http.response.start",
                    "status": 304,
                    "headers": [(b"etag", etag.encode()), (b"cache-control", cache_control)],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        state = await run_in_threadpool(self._state_for, release)
        child: Scope = {
            **scope,
            "path": rest or "/",
            "raw_path": (rest or "/").encode(),
            "root_path": "",
            MOUNTED_AT: path[: len(path) - len(rest)] if rest else path,
            # The outer layers' notes (the live revision) are not the release's; the
            # request's record (its id, for problems and the log line) is.
            "state": _request_record(scope),
        }

        async def frozen_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                response_headers = MutableHeaders(scope=message)
                response_headers["ETag"] = etag
                response_headers["Cache-Control"] = cache_control.decode()
            await send(message)

        token = _bound.set(state)
        try:
            await self.app(child, receive, frozen_send)
        finally:
            _bound.reset(token)
