"""The middleware stack: which layers wrap the routes, and in what order (one place).

The order is the design: each layer's position is explained next to it below, and a new
middleware goes in here, not in app.main.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware

from app import web
from app.assessments.fast_lane import FastLaneAnswers, PositionsFastLane
from app.docs_ui import assets as docs_ui_assets
from app.middleware.admission import AdmissionMiddleware, Gate
from app.middleware.body_limit import BodySizeLimitMiddleware
from app.middleware.cors import ALLOWED_REQUEST_HEADERS, EXPOSED_HEADERS, ProblemCORSMiddleware
from app.middleware.db_deadline import DatabaseDeadlineMiddleware
from app.middleware.host_check import HostCheckMiddleware
from app.middleware.http_cache import ConditionalGetMiddleware, static_fingerprint
from app.middleware.rate_limit import rate_limit_options
from app.middleware.rate_limit.client_address import ClientAddressMiddleware
from app.middleware.rate_limit.middleware import RateLimitMiddleware
from app.middleware.response_cache import BoundedCache, ResponseCacheMiddleware
from app.middleware.security_headers import SecurityHeadersMiddleware
from app.middleware.vary import VaryMiddleware, vary_value
from app.observability.middleware import ObservabilityMiddleware
from app.revisions.trackers import DatabaseRevision, RevisionTracker
from app.settings import Settings


def install_middleware(app: FastAPI, settings: Settings, tracker: RevisionTracker) -> None:
    """The middleware stack, in one place. Starlette runs the last one added outermost, so
    they are added innermost first; a request meets them bottom to top:

    - observability: outermost, so every answer (the early ones below too) gets a request
      id, a log line, metrics and Server-Timing; it answers `/metrics` before anything
      else (app.observability.middleware);
    - host check: refuses a repeated `Host`, and hosts outside CP_ALLOWED_HOSTS;
    - client address (when CP_TRUSTED_PROXIES is set): `X-Forwarded-For` from those peers;
    - vary: the one `Vary` of every answer below, whichever layer gave it (app.middleware.vary);
    - rate limit (unless CP_RATE_LIMIT_ENABLED=false): counts hits too, 429 past the limit;
    - response cache: hits skip everything below, yet replay its output (headers included);
    - database deadline: starts the request's CP_DB_DEADLINE budget (app.middleware.db_deadline);
    - security headers: nosniff everywhere, CSP on the pages; stored with each entry;
    - CORS: wraps what the cache stores (a hit replays it), and the 503s below;
    - admission: at most CP_MAX_CONCURRENCY requests at work, a bounded queue, 503
      `overloaded` past it or the deadline (app.middleware.admission); cache hits never reach it,
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
        # The vendored docs UIs count by their manifest, which holds each file's SHA-256.
        fingerprint=static_fingerprint(web.STATIC_DIR, docs_ui_assets.MANIFEST),
        private=settings.require_key_for_reads,
    )
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.state.admission_gate = Gate(limit=settings.max_concurrency, queue=settings.max_queue)
    app.add_middleware(
        AdmissionMiddleware,
        max_concurrency=settings.max_concurrency,
        max_queue=settings.max_queue,
        deadline=settings.request_deadline,
        exempt=answers.available,
        gate=app.state.admission_gate,
    )
    if settings.cors_origins:
        app.add_middleware(
            ProblemCORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD"],
            allow_headers=ALLOWED_REQUEST_HEADERS,
            expose_headers=EXPOSED_HEADERS,
        )
    # Inside the cache, so stored entries carry these headers and hits replay them.
    app.add_middleware(SecurityHeadersMiddleware)
    # Just inside the cache (hits never touch the database): the budget counts from arrival.
    app.add_middleware(DatabaseDeadlineMiddleware, seconds=settings.db_deadline)
    metrics = app.state.metrics
    app.state.response_cache = BoundedCache(
        max_entries=settings.cache_max_entries,
        max_bytes=settings.cache_max_bytes,
        on_evict=None if metrics is None else metrics.evicted,
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
    # Outside the limiter and the cache: their 429s, hits and 304s carry it too.
    vary = vary_value(cors=bool(settings.cors_origins), keyed_reads=settings.require_key_for_reads)
    app.add_middleware(VaryMiddleware, vary=vary)
    if settings.trusted_proxies:
        # Outside the limiter: it counts per client, which a trusted proxy names.
        app.add_middleware(ClientAddressMiddleware, trusted_proxies=settings.trusted_proxies)
    # A request for a host we do not serve (or with two Hosts) costs nothing and counts
    # nowhere but below.
    app.add_middleware(HostCheckMiddleware, allowed_hosts=settings.allowed_hosts)
    app.add_middleware(
        ObservabilityMiddleware,
        application=app,
        metrics=metrics,
        request_log=app.state.request_log,
    )
