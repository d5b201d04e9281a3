"""`country-positions serve`: the HTTP server under the app, with protocol limits.

uvicorn is the default (the stack's choice); Granian is offered beside it. Both run the same
factory, `app.main:create_served_app`, once per worker process, and neither trusts
`X-Forwarded-*` itself: the app resolves the client from CP_TRUSTED_PROXIES.
"""

from __future__ import annotations

from typing import Any

from app.serving.limits import ProtocolLimits
from app.settings import Settings

APP_FACTORY = "app.main:create_served_app"
SERVERS = ("uvicorn", "granian")


def serve(settings: Settings, host: str, port: int, workers: int, server: str = "uvicorn") -> None:
    """Run `server` in the foreground until it is stopped (SIGINT/SIGTERM).

    The server's access log stays off: the app writes one line per request itself
    (app.observability), in CP_LOG_FORMAT, and so do the server's own loggers. Several
    workers keep their metrics in files under PROMETHEUS_MULTIPROC_DIR (emptied first, or a
    temp directory removed at exit), set here before anything imports prometheus-client, so
    `/metrics` sums every worker's (app.observability.multiproc).
    """
    from app.observability.multiproc import prepare, removed_at_exit

    metrics_dir = prepare(workers) if settings.metrics_enabled else None
    from app.observability.logging import logging_config

    with removed_at_exit(metrics_dir):
        _run(settings, host, port, workers, server, logging_config(settings))


def _run(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    server: str,
    log_config: dict[str, Any],
) -> None:
    limits = ProtocolLimits.from_settings(settings)
    if server == "granian":
        from app.serving import granian_server

        granian_server.run(
            APP_FACTORY,
            limits=limits,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level,
            log_config=log_config,
        )
        return
    if server != "uvicorn":
        raise ValueError(f"unknown server {server!r}; choose one of {', '.join(SERVERS)}")
    from app.serving import uvicorn_limits

    uvicorn_limits.run(
        APP_FACTORY,
        limits=limits,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        log_config=log_config,
    )
