"""The protocol limits `serve` enforces below the app, and the problem bodies they answer with.

These answers are written by the server, not the app: a request whose headers never end (or
never fit) has no route, so it cannot reach FastAPI's problem handlers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus

from app.middleware.security_headers import NO_STORE, NOSNIFF
from app.problems import PROBLEM_MEDIA_TYPE
from app.settings import Settings


@dataclass(frozen=True)
class ProtocolLimits:
    """What one worker process tolerates from a connection, from CP_* settings."""

    max_header_bytes: int = 16_384
    header_timeout: float = 10.0
    keepalive_timeout: int = 5
    max_connections: int = 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> ProtocolLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            header_timeout=settings.header_timeout,
            keepalive_timeout=settings.keepalive_timeout,
            max_connections=settings.max_connections,
        )

    def describe(self) -> str:
        """One log line, so an operator sees the limits a worker runs with."""
        return (
            f"headers <= {self.max_header_bytes} bytes within {self.header_timeout:g} s, "
            f"keep-alive {self.keepalive_timeout} s, <= {self.max_connections} connections"
        )


@dataclass(frozen=True)
class LimitProblem:
    """A problem+json answer to a connection that broke a limit."""

    status: int
    slug: str
    detail: str

    def body(self, instance: str) -> bytes:
        document = {
            "type": f"/problems/{self.slug}",
            "title": HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
        }
        return json.dumps(document, separators=(",", ":")).encode()

    @property
    def content_type(self) -> str:
        return PROBLEM_MEDIA_TYPE

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        """What the app's own problems carry too: no middleware sees these answers."""
        return [NOSNIFF, NO_STORE]


def headers_too_large(limits: ProtocolLimits) -> LimitProblem:
    return LimitProblem(
        431,
        "headers-too-large",
        f"The request line and headers exceed {limits.max_header_bytes} bytes.",
    )


def request_timeout(limits: ProtocolLimits) -> LimitProblem:
    return LimitProblem(
        408,
        "request-timeout",
        f"The request headers did not arrive within {limits.header_timeout:g} s.",
    )


def too_many_connections(limits: ProtocolLimits) -> LimitProblem:
    return LimitProblem(
        503,
        "too-many-connections",
        f"This worker already has {limits.max_connections} open connections; retry later.",
    )
