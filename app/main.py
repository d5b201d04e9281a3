"""Application factory."""

from __future__ import annotations

import gc
import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app import __version__, web
from app.api import api_router
from app.assessments.snapshots import PositionSnapshots
from app.db import make_engine, make_sessionmaker, pool_counts
from app.docs_ui.pages import install_docs_ui
from app.http.openapi import install_openapi
from app.middleware.stack import install_middleware
from app.migrating import head_revisions
from app.observability.db_timing import time_statements
from app.observability.metrics import GaugeSources, Metrics
from app.observability.request_log import RequestLog
from app.problems import install_problem_handlers
from app.releases.dispatch import FrozenReleases, ReleaseLookup
from app.releases.store import PackageStore
from app.revisions.models import PENDING_REVISION
from app.revisions.trackers import (
    DatabaseRevision,
    NoTracker,
    PostgresRevisionTracker,
    RevisionTracker,
    SqliteRevisionTracker,
)
from app.settings import Settings, get_settings

DESCRIPTION = """\
Assessed positions of European governments on Ukraine's requests for military
assistance (training, lethal aid, and the future capability and political will to provide
lethal aid), as charted by the leaked document *Europe | Response to Ongoing
Russia-Ukraine Conflict* (attributed to the US government; dated 2 March 2023, marked
SECRET//NOFORN), with the provenance of every value. The chart is reported to have
assessed 38 governments; which 38 is not public (the reporting names three). The catalogue
here lists 39, so some of them the chart may not have covered.

**Formats.** Every operation answers one media type. The CSV and NDJSON renderings are
operations of their own under `/exports/` (typed as text); for curl and browsers the JSON
URLs also negotiate them, by `format=csv|ndjson` or `Accept`.

**Caveat.** The chart's authenticity has not been independently verified; its values are
known only through news reporting. Every value here names the source that asserts it and
the report through which it is known. `unknown` means no source we hold reports a value
(which includes governments the chart may not have covered); it never means `no`.
"""


# FastAPI 0.16x instruments itself whenever OpenTelemetry is importable, asking the global
# providers (environment lookups) on every request: ~20 µs of a ~100 µs cached read. Spans,
# when wanted, come from app.observability.tracing, so FastAPI's own stay off.
NO_NATIVE_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI).parameters
    else {}
)


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
        if app.state.metrics is not None:
            app.state.metrics.start()
        try:
            yield
        finally:
            if app.state.metrics is not None:
                app.state.metrics.stop()
            if app.state.stop_tracing is not None:
                app.state.stop_tracing()
            app.state.revision_tracker.stop()
            app.state.frozen_releases.dispose()
            app.state.release_packages.close()
            if app.state.request_log is not None:
                app.state.request_log.close()
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
        # Served by app.docs_ui from vendored files instead of FastAPI's CDN pages.
        docs_url=None,
        redoc_url=None,
        **NO_NATIVE_TELEMETRY,
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
    # After the routers: `/releases/{version}` itself and `/releases/latest` are routes.
    app.state.frozen_releases = FrozenReleases(settings, ReleaseLookup(app.state.read_sessionmaker))
    app.mount("/releases/{version}", app.state.frozen_releases)
    app.state.release_packages = PackageStore(settings)
    app.include_router(web.router)
    web.mount_static(app)
    install_docs_ui(app)
    install_openapi(app)
    for timed in {engine, read_engine}:
        time_statements(timed)
    app.state.metrics = (
        Metrics(listener=tracker.listening is not None) if settings.metrics_enabled else None
    )
    app.state.request_log = (
        RequestLog(settings.log_format, flush_interval=settings.log_flush_interval)
        if settings.access_log
        else None
    )
    install_middleware(app, settings, tracker)
    if app.state.metrics is not None:
        app.state.metrics.sources = _gauge_sources(app)
    app.state.stop_tracing = None
    if settings.otel_exporter_otlp_endpoint:
        # Imported only here: without a collector, no OpenTelemetry SDK is loaded at all.
        from app.observability.tracing import install_tracing

        app.state.stop_tracing = install_tracing(app, list({engine, read_engine}), settings)
    return app


def _gauge_sources(app: FastAPI) -> GaugeSources:
    """Where /metrics reads the state it reports (app.observability.metrics)."""
    engines = list({app.state.engine, app.state.read_engine})
    gate = app.state.admission_gate
    cache = app.state.response_cache
    tracker = app.state.revision_tracker
    connected = None
    if tracker.listening is not None:

        def connected() -> float:
            return float(bool(tracker.listening))

    return GaugeSources(
        pool_in_use=lambda: sum(pool_counts(e)[0] for e in engines),
        pool_waiting=lambda: sum(pool_counts(e)[1] for e in engines),
        admission_in_use=lambda: gate.in_use,
        admission_waiting=lambda: gate.waiting,
        cache_entries=lambda: len(cache),
        cache_bytes=lambda: cache.bytes,
        revision=lambda: tracker.known,
        listener_connected=connected,
    )


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
