"""Granian (a Rust HTTP server, hyper underneath) with the same limits where it has them.

How each limit maps (read from Granian 2.8's source and checked by tests/load):

- CP_MAX_HEADER_BYTES -> `http1_buffer_size` (hyper's `max_buf_size`, at least 8192): a
  head that does not fit gets hyper's own 431, with an empty body, not our problem+json;
- CP_HEADER_TIMEOUT -> `http1_header_read_timeout`: the connection is closed, with no 408;
- CP_KEEPALIVE_TIMEOUT -> hyper has no separate idle timeout: its header read timer also runs
  while a kept-alive connection waits for its next request, so idle connections close after
  CP_HEADER_TIMEOUT; 0 turns keep-alive off;
- CP_MAX_CONNECTIONS -> `backpressure`, a semaphore taken before each accept and held for the
  connection's life: a connection beyond it waits in the listen backlog until another
  closes; it is never answered 503.

An absolute-form request target (`GET http://host/path`) reaches the app as its path alone,
with the `Host` header sent (Granian makes the target's host the `Host` only when none was
sent): unlike under uvicorn (app.serving.uvicorn_limits), the host check sees `Host`.

HTTP/2 is off: Granian's HTTP/2 header limit (16 MB) is not the one above, and uvicorn
speaks HTTP/1.1 only, so both servers accept the same requests.
"""

from __future__ import annotations

from typing import Any

from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server import Server

from app.serving.limits import ProtocolLimits

GRANIAN_MIN_BUFFER = 8192  # Granian refuses a smaller http1 buffer
GRANIAN_MAX_HEADER_TIMEOUT_MS = 60_000


def http1_settings(limits: ProtocolLimits) -> HTTP1Settings:
    timeout_ms = round(limits.header_timeout * 1000)
    return HTTP1Settings(
        header_read_timeout=min(max(timeout_ms, 1), GRANIAN_MAX_HEADER_TIMEOUT_MS),
        keep_alive=limits.keepalive_timeout > 0,
        max_buffer_size=max(limits.max_header_bytes, GRANIAN_MIN_BUFFER),
    )


def _log_level(level: str) -> LogLevels:
    """uvicorn's level names, in Granian's terms (it has no `trace`)."""
    level = level.lower()
    if level == "trace":
        return LogLevels.debug
    return LogLevels(level) if level in LogLevels.__members__ else LogLevels.info


def run(
    app: str,
    *,
    limits: ProtocolLimits,
    host: str,
    port: int,
    workers: int,
    log_level: str,
    log_config: dict[str, Any],
) -> None:
    Server(
        app,
        address=host,
        port=port,
        interface=Interfaces.ASGI,  # with lifespan: the app starts its revision tracker there
        factory=True,
        workers=workers,
        http=HTTPModes.http1,
        websockets=False,
        backpressure=limits.max_connections,
        http1_settings=http1_settings(limits),
        log_level=_log_level(log_level),
        log_dictconfig=log_config,
        log_access=False,  # the app logs each request (app.observability)
    ).serve()
