"""uvicorn with the protocol limits its httptools protocol lacks.

uvicorn's httptools protocol buffers request headers without bound (50 MB got a 200) and has
no timeout before the headers are complete (a slowloris connection stays open for good).
`LimitedHttpToolsProtocol` adds, per connection:

- a cap on the request line + headers: past CP_MAX_HEADER_BYTES the parser is fed no more,
  the client gets a 431 problem and the connection is closed;
- a header timeout: from connection, or from the first byte of a later request, the headers
  must be complete within CP_HEADER_TIMEOUT, else a 408 problem (or, if nothing came, just
  the close);
- a per-worker connection cap: a connection opened while CP_MAX_CONNECTIONS others are
  open gets its request answered with a 503 problem and `Connection: close`, so existing
  connections keep working (uvicorn's own `limit_concurrency` would 503 theirs too).

The keep-alive idle timeout is uvicorn's own `timeout_keep_alive`. An absolute-form request
target's authority becomes the request's `Host` (`use_target_authority`), as RFC 9112 asks.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import weakref
from asyncio import TimerHandle
from typing import Any

from uvicorn import Config, Server
from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.config import LOGGING_CONFIG, STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState
from uvicorn.supervisors import Multiprocess

from app.serving.limits import (
    LimitProblem,
    ProtocolLimits,
    headers_too_large,
    request_timeout,
    too_many_connections,
)

logger = logging.getLogger("uvicorn.error")

# Admitted connections per worker's server state: O(1) at every connection, where counting
# `server_state.connections` would walk up to CP_MAX_CONNECTIONS protocols each time.
_admitted: weakref.WeakKeyDictionary[ServerState, int] = weakref.WeakKeyDictionary()


class LimitedConfig(Config):
    """A uvicorn Config that carries the limits to every worker (it is pickled to them)."""

    def __init__(self, app: str, *, limits: ProtocolLimits, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.protocol_limits = limits


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header cap, a header timeout and a connection cap."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = getattr(config, "protocol_limits", None) or ProtocolLimits()
        self.admitted = False
        # True from the connection (and after each request) until the headers are complete.
        self.reading_head = True
        self.head_bytes = 0
        self.head_timer: TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        open_ = _admitted.get(self.server_state, 0)
        if open_ >= self.limits.max_connections:
            # Answer its request (once read, within the same limits) with a 503 and close:
            # writing before the request arrives could reach the client as a bare reset.
            logger.warning(
                "%s connections open (CP_MAX_CONNECTIONS): answering 503",
                self.limits.max_connections,
            )
            self.app = _too_many_connections_app(too_many_connections(self.limits))
        else:
            self.admitted = True
            _admitted[self.server_state] = open_ + 1
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        if self.admitted:
            self.admitted = False
            _admitted[self.server_state] = max(_admitted.get(self.server_state, 1) - 1, 0)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # Feed the parser no more than the head's allowance: the rest of a chunk is only fed
        # once the headers it must complete are complete. So no more than the cap is buffered.
        while self.reading_head and len(data) > self._head_room():
            room = self._head_room()
            if room:
                self.head_bytes += room
                super().data_received(data[:room])
                if self.transport.is_closing():
                    return
            if self.reading_head and self._head_room() == 0:
                logger.warning("request headers over %s bytes: 431", self.limits.max_header_bytes)
                self._refuse(headers_too_large(self.limits))
                return
            data = data[room:]
        if self.reading_head:
            self.head_bytes += len(data)
        if data:
            super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self.reading_head = False
        self.head_bytes = 0
        self._cancel_head_timer()
        use_target_authority(self.headers, self.url)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # Bytes from here on belong to the next request's head (the keep-alive timer, not the
        # header timer, bounds the wait for its first byte).
        self.reading_head = True
        self.head_bytes = 0

    def _head_room(self) -> int:
        return self.limits.max_header_bytes - self.head_bytes

    def _arm_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(
                self.limits.header_timeout, self._on_head_timeout
            )

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _on_head_timeout(self) -> None:
        self.head_timer = None
        if self.transport.is_closing() or not self.reading_head:
            return
        if self.head_bytes:
            self._refuse(request_timeout(self.limits))
        else:
            self.transport.close()

    def _refuse(self, problem: LimitProblem) -> None:
        """Write a problem+json answer and close: the connection's state is past saving."""
        self._cancel_head_timer()
        body = problem.body(self._instance())
        head = [STATUS_LINE[problem.status]]
        for name, value in [*self.server_state.default_headers, *problem.headers]:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: ",
            problem.content_type.encode(),
            b"\r\ncontent-length: ",
            str(len(body)).encode(),
            b"\r\nconnection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()

    def _instance(self) -> str:
        """The request's path when it arrived whole and is short, else `/`."""
        url: bytes = getattr(self, "url", b"")
        headers = self.headers or []
        if not headers or len(url) > 2048:
            return "/"
        return url.split(b"?", 1)[0].decode("ascii", "replace") or "/"


def absolute_form_authority(target: bytes) -> bytes | None:
    """`host[:port]` of an absolute-form request target (`http://host:port/path`), else None."""
    scheme, separator, rest = target.partition(b"://")
    if not separator or not scheme.isalpha():
        return None
    authority = re.split(rb"[/?#]", rest, maxsplit=1)[0]
    return authority.rpartition(b"@")[2]  # never a userinfo part


def use_target_authority(headers: list[tuple[bytes, bytes]], target: bytes) -> None:
    """RFC 9112 §3.2.2: a server receiving an absolute-form target MUST ignore `Host` and use
    the target's authority. httptools keeps only its path, so the app would check a `Host`
    the client chose freely instead; the authority becomes the request's `Host` here (as
    Granian does when no `Host` was sent), and the app's host check sees it (issue 20).
    Two `Host` fields are left for the app to refuse."""
    authority = absolute_form_authority(target)
    if authority is None:
        return
    hosts = [index for index, (name, _) in enumerate(headers) if name == b"host"]
    if len(hosts) > 1:
        return
    if hosts:
        headers[hosts[0]] = (b"host", authority)
    else:
        headers.insert(0, (b"host", authority))


def _too_many_connections_app(problem: LimitProblem) -> ASGI3Application:
    """An ASGI app answering every request with the 503 problem and closing the connection."""

    async def app(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] != "http":
            return
        body = problem.body(scope["path"])
        await send(
            {
                "type": "http.response.start",
                "status": problem.status,
                "headers": [
                    (b"content-type", problem.content_type.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", b"1"),
                    (b"connection", b"close"),
                    *problem.headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return app


def run(
    app: str,
    *,
    limits: ProtocolLimits,
    host: str,
    port: int,
    workers: int,
    log_level: str,
    log_config: dict[str, Any] | None = None,
    access_log: bool = False,
) -> None:
    """What `uvicorn.run` does for one or more workers, with our protocol and limits.

    `serve` passes its logging config and leaves uvicorn's access log off (the app logs each
    request); bench/floor_app.py keeps uvicorn's own logging and access log."""
    config = LimitedConfig(
        app,
        limits=limits,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        log_config=log_config or LOGGING_CONFIG,
        access_log=access_log,
        http=LimitedHttpToolsProtocol,
        ws="none",  # no WebSocket routes; an Upgrade header gets plain HTTP
        # asyncio, not uvloop: under a burst on 500 connections uvloop left every new
        # connection (a /healthz probe included) unanswered until the burst ended (5 s);
        # asyncio answered it in 0.1 s, for 13 % less throughput (issue 10, measured).
        loop="asyncio",
        timeout_keep_alive=limits.keepalive_timeout,
        # A worker starting on a busy machine (importing the app, building it) took over
        # uvicorn's default 5 s to answer its first health check, and was killed and
        # restarted for good: give it 30 s (a hung worker is replaced that much later).
        timeout_worker_healthcheck=30,
        # X-Forwarded-For is resolved by the app from CP_TRUSTED_PROXIES, never by the server.
        proxy_headers=False,
    )
    logger.info("protocol limits: %s", limits.describe())
    server = Server(config=config)
    if workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    config.load_app()
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
