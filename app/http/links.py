"""URLs the API hands out (`Link`, `Location`): never built from the request's `Host`.

A forged `Host` would otherwise end up in responses, and the response cache would replay
them to every later client (issue 10). Under CP_PUBLIC_URL links are absolute; without it
they are path-absolute references, which clients resolve against the URL they asked for
(RFC 8288 §3.2, RFC 9110 §10.2.2).
"""

from __future__ import annotations

from starlette.requests import Request

from app.settings import Settings


def public_link(request: Request, target: str) -> str:
    """`target` (a path, optionally with a query) as clients should be given it."""
    settings: Settings = request.app.state.settings
    return f"{settings.public_url or ''}{target}"
