"""`country-positions serve`: the HTTP server under the app, with protocol limits.

uvicorn is the default (the stack's choice); Granian is offered beside it. Both run the same
factory, `app.main:create_served_app`, once per worker process, and neither trusts
`X-Forwarded-*` itself: the app resolves the client from CP_TRUSTED_PROXIES.
"""

from __future__ import annotations

from app.serving.limits import ProtocolLimits
from app.settings import Settings

APP_FACTORY = "app.main:create_served_app"
SERVERS = ("uvicorn", "granian")


def serve(settings: Settings, host: str, port: int, workers: int, server: str = "uvicorn") -> None:
    """Run `server` in the foreground until it is stopped (SIGINT/SIGTERM)."""
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
            access_log=settings.access_log,
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
        access_log=settings.access_log,
    )
