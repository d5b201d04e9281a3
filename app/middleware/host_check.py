"""Refuse requests for a `Host` this deployment does not serve (CP_ALLOWED_HOSTS), and
requests with more than one `Host`.

Nothing the API renders depends on `Host` any more (see app/http/links.py); this is the second
line: a request addressed to a name we do not own gets a 400 problem+json before anything
else runs (Starlette's TrustedHostMiddleware answers in plain text, outside the one error
shape). The probes are exempt: orchestrators address them by container IP.

A request with two `Host` fields is refused whatever CP_ALLOWED_HOSTS says (RFC 9112 §3.2:
a server MUST answer 400); uvicorn and Granian pass both on, and the first used to win
(issue 20). An absolute-form target (`GET http://other.example/ HTTP/1.1`) names its host
in its authority, which RFC 9112 §3.2.2 puts before `Host`: under uvicorn `serve` makes it
the request's `Host` (app.serving.uvicorn_limits), so it is checked here like any other.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from app.middleware.security_headers import NO_STORE, NOSNIFF
from app.observability.request_ids import record_of
from app.problems import PROBLEM_MEDIA_TYPE

INVALID_HOST = "/problems/invalid-host"
PROBE_PATHS = frozenset({"/healthz", "/readyz"})


def host_name(host: str) -> str:
    """The name in a `Host` value, without its port: `[::1]:8000` -> `::1`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class HostPatterns:
    """Exact names, and `*.example.org` for any subdomain of example.org; `*` for any."""

    def __init__(self, patterns: Sequence[str]) -> None:
        cleaned = [p.strip().lower() for p in patterns]
        self.any = "*" in cleaned
        self.exact = frozenset(p for p in cleaned if not p.startswith("*"))
        self.suffixes = tuple(p[1:] for p in cleaned if p.startswith("*."))

    def allows(self, host: str) -> bool:
        if self.any:
            return True
        name = host_name(host)
        return name in self.exact or (bool(name) and name.endswith(self.suffixes))


NOT_SERVED = (
    "This server does not serve the host the request is addressed to (its Host header, or "
    "the authority of an absolute-form target)."
)
REPEATED = "The request has more than one Host header field (RFC 9112, section 3.2)."


class HostCheckMiddleware:
    def __init__(self, app: ASGIApp, *, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.patterns = HostPatterns(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"host":
                if host is not None:
                    await _refuse(scope, send, REPEATED)
                    return
                host = value
        if (
            self.patterns.any
            or scope["path"] in PROBE_PATHS
            or self.patterns.allows((host or b"").decode("latin-1"))
        ):
            await self.app(scope, receive, send)
            return
        await _refuse(scope, send, NOT_SERVED)


async def _refuse(scope: Scope, send: Send, detail: str) -> None:
    # The detail does not echo the Host: it is attacker-chosen text.
    document = {
        "type": INVALID_HOST,
        "title": "Invalid Host",
        "status": 400,
        "detail": detail,
        "instance": scope["path"],
    }
    record = record_of(scope)
    if record is not None:
        document["request_id"] = record.request_id
        record.problem = INVALID_HOST
    body = json.dumps(document).encode()
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        NOSNIFF,
        NO_STORE,
    ]
    if record is not None:
        headers.append((b"x-request-id", record.request_id.encode()))
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})
