"""Application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.routing import APIRoute
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app import __version__, web
from app.admission import AdmissionMiddleware
from app.api import api_router
from app.assessments.fast_lane import FastLaneAnswers, PositionsFastLane
from app.assessments.snapshots import PositionSnapshots
from app.body_limit import BodySizeLimitMiddleware
from app.cors import ProblemCORSMiddleware
from app.db import make_engine, make_sessionmaker
from app.db_deadline import DatabaseDeadlineMiddleware
from app.host_check import HostCheckMiddleware
from app.http_cache import ConditionalGetMiddleware, static_fingerprint
from app.migrating import head_revisions
from app.openapi import install_openapi
from app.problems import install_problem_handlers
from app.rate_limit import rate_limit_options
from app.rate_limit.client_address import ClientAddressMiddleware
from app.rate_limit.middleware import RATE_LIMIT_HEADERS, RateLimitMiddleware
from app.response_cache import BoundedCache, ResponseCacheMiddleware
from app.revision import PENDING_REVISION
from app.revision_tracker import (
    DatabaseRevision,
    NoTracker,
    PostgresRevisionTracker,
    RevisionTracker,
    SqliteRevisionTracker,
)
from app.security_headers import SecurityHeadersMiddleware
from app.settings import Settings, get_settings

DESCRIPTION = """\
Assessed positions of 38 European governments on Ukraine's requests for military
assistance (training, lethal aid, and the future capability and political will to provide
lethal aid), as charted by the leaked US document *Europe | Response to Ongoing
Russia-Ukraine Conflict* (dated 2 March 2023, marked SECRET//NOFORN), with the provenance
of every value.

**Caveat.** The chart's authenticity has not been independently verified; its values are
known only through news reporting. Every value here names the source that asserts it and
the report through which it is known. `unknown` means no source reports a value; it never
means `no`.
"""


def _operation_id(route: APIRoute) -> str:
    """camelCase of the route function's name: `list_country_positions` ->
    `listCountryPositions`, the method name generated clients expose."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.revision_tracker.start()
        try:
            yield
        finally:
            app.state.revision_tracker.stop()
            app.state.engine.dispose()
            if app.state.read_engine is not engine:
                app.state.read_engine.dispose()

    app = FastAPI(
        title="country-positions",
        version=__version__,
        description=DESCRIPTION,
        license_info={
            "name": "CC BY 4.0 (the dataset; the code is MIT)",
            "identifier": "CC-BY-4.0",
        },
        generate_unique_id_function=_operation_id,
        lifespan=lifespan,
    )
    engine = make_engine(settings)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    read_engine = engine
    if settings.database_read_url:
        read_engine = make_engine(
            settings.model_copy(update={"database_url": settings.database_read_url})
        )
    app.state.read_engine = read_engine
    app.state.read_sessionmaker = make_sessionmaker(read_engine)
    app.state.head_revisions = head_revisions(settings)
    app.state.snapshots = PositionSnapshots()
    tracker = make_revision_tracker(settings, DatabaseRevision(app.state.sessionmaker).read)
    app.state.revision_tracker = tracker
    # The writing process drops its cache the moment its own commit lands.
    event.listen(app.state.sessionmaker, "after_commit", _observe_commit(tracker))
    event.listen(app.state.sessionmaker, "after_rollback", _forget_pending)
    install_problem_handlers(app)
    app.include_router(api_router)
    app.include_router(web.router)
    web.mount_static(app)
    install_openapi(app)
    install_middleware(app, settings, tracker)
    return app


def install_middleware(app: FastAPI, settings: Settings, tracker: RevisionTracker) -> None:
    """The middleware stack, in one place. Starlette runs the last one added outermost, so
    they are added innermost first; a request meets them bottom to top:

    - host check (when CP_ALLOWED_HOSTS is not `*`): outermost, refuses unknown hosts;
    - client address (when CP_TRUSTED_PROXIES is set): `X-Forwarded-For` from those peers;
    - rate limit (unless CP_RATE_LIMIT_ENABLED=false): counts hits too, 429 past the limit;
    - response cache: hits skip everything below, yet replay its output (headers included);
    - database deadline: starts the request's CP_DB_DEADLINE budget (app.db_deadline);
    - security headers: nosniff everywhere, CSP on the pages; stored with each entry;
    - CORS: wraps what the cache stores (a hit replays it), and the 503s below;
    - admission: at most CP_MAX_CONCURRENCY requests at work, a bounded queue, 503
      `overloaded` past it or the deadline (app.admission); cache hits never reach it,
      and what the fast lane (below) answers from memory takes no slot;
    - gzip: compresses what the cache stores;
    - conditional GET: ETag, 304, Cache-Control, HEAD;
    - body limit: next to the routes that read bodies;
    - positions fast lane: innermost, answers a country's already derived positions
      without routing, exactly as the route would (app.assessments.fast_lane).
    """
    answers = FastLaneAnswers(
        app.state.snapshots,
        None if settings.database_read_url or settings.require_key_for_reads else tracker,
    )
    app.add_middleware(PositionsFastLane, answers=answers)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        ConditionalGetMiddleware,
        # ETags name the revision of the data the reads see: the replica's, if there is one.
        revisions=DatabaseRevision(app.state.read_sessionmaker),
        tracker=None if settings.database_read_url else tracker,
        max_age=settings.cache_max_age,
        fingerprint=static_fingerprint(web.STATIC_DIR),
        private=settings.require_key_for_reads,
    )
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.add_middleware(
        AdmissionMiddleware,
        max_concurrency=settings.max_concurrency,
        max_queue=settings.max_queue,
        deadline=settings.request_deadline,
        exempt=answers.available,
    )
    if settings.cors_origins:
        app.add_middleware(
            ProblemCORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD"],
            expose_headers=["ETag", "Link", "X-Total-Count", "Location", *RATE_LIMIT_HEADERS],
        )
    # Inside the cache, so stored entries carry these headers and hits replay them.
    app.add_middleware(SecurityHeadersMiddleware)
    # Just inside the cache (hits never touch the database): the budget counts from arrival.
    app.add_middleware(DatabaseDeadlineMiddleware, seconds=settings.db_deadline)
    app.state.response_cache = BoundedCache(
        max_entries=settings.cache_max_entries, max_bytes=settings.cache_max_bytes
    )
    app.add_middleware(
        ResponseCacheMiddleware,
        tracker=tracker,
        cache=app.state.response_cache,
        # A cache hit would skip the key check that CP_REQUIRE_KEY_FOR_READS asks for.
        enabled=settings.cache_enabled and not settings.require_key_for_reads,
    )
    if settings.rate_limit_enabled:
        # Outermost, so cache hits are counted too (a 304 is refunded to a tenth).
        app.add_middleware(RateLimitMiddleware, **rate_limit_options(settings))
    if settings.trusted_proxies:
        # Outside the limiter: it counts per client, which a trusted proxy names.
        app.add_middleware(ClientAddressMiddleware, trusted_proxies=settings.trusted_proxies)
    if "*" not in settings.allowed_hosts:
        # Outermost: a request for a host we do not serve costs nothing and counts nowhere.
        app.add_middleware(HostCheckMiddleware, allowed_hosts=settings.allowed_hosts)


def create_served_app() -> FastAPI:
    """The factory `country-positions serve` hands to uvicorn (once per worker process).

    What exists once the app is built (modules, routes, schemas, mappers) lives as long as
    the process, so it is moved out of the garbage collector's reach: full collections then
    walk only what requests left behind. Without this, one such pass cost the first request
    after a data revision 70-80 ms, where the others took 3-8 ms.
    """
    app = create_app()
    gc.collect()
    gc.freeze()
    return app


def make_revision_tracker(settings: Settings, read: Callable[[], int]) -> RevisionTracker:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresRevisionTracker(settings.database_url, read)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return SqliteRevisionTracker(url.database, read)
    return NoTracker()


def _observe_commit(tracker: RevisionTracker) -> Callable[[Session], None]:
    def after_commit(session: Session) -> None:
        revision = session.info.pop(PENDING_REVISION, None)
        if revision is not None:
            tracker.observe(revision)

    return after_commit


def _forget_pending(session: Session) -> None:
    session.info.pop(PENDING_REVISION, None)
