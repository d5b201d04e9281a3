"""Browser hardening headers (issue 10, item 8).

Every response says `X-Content-Type-Options: nosniff`, so a JSON or CSV body is never run
as a script or rendered as HTML. The HTML pages also carry a Content-Security-Policy and a
Referrer-Policy. The chart page loads only its own script and stylesheet and reads only
this API, so its policy allows nothing else (no inline script, no inline style). The
interactive docs are FastAPI's pages: they load Swagger UI / ReDoc from jsDelivr and start
them with an inline script, so their policy allows exactly that until they are served
from here.

The layer sits inside the response cache: entries are stored with these headers and hits
replay them.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NOSNIFF = (b"x-content-type-options", b"nosniff")
NO_STORE = (b"cache-control", b"no-store")
# What every problem a middleware (or the server) answers with carries, whichever layers
# it skipped: never sniffed, never stored (it says something about this moment only).
PROBLEM_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
REFERRER_POLICY = (b"referrer-policy", b"strict-origin-when-cross-origin")

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'self'"
)
EMBED_CSP = PAGE_CSP.replace("frame-ancestors 'self'", "frame-ancestors *")
_CDN = "https://cdn.jsdelivr.net"
DOCS_CSP = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {_CDN}; "
    f"style-src 'self' 'unsafe-inline' {_CDN} https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'self'"
)

_PAGE_HEADERS = [NOSNIFF, (b"content-security-policy", PAGE_CSP.encode()), REFERRER_POLICY]
_DOCS_HEADERS = [NOSNIFF, (b"content-security-policy", DOCS_CSP.encode()), REFERRER_POLICY]
_EMBED_HEADERS = [NOSNIFF, (b"content-security-policy", EMBED_CSP.encode()), REFERRER_POLICY]
HEADERS_BY_PATH: dict[str, list[tuple[bytes, bytes]]] = {
    "/": _PAGE_HEADERS,
    "/embed": _EMBED_HEADERS,
    "/docs": _DOCS_HEADERS,
    "/redoc": _DOCS_HEADERS,
    "/docs/oauth2-redirect": _DOCS_HEADERS,
}
_DEFAULT_HEADERS = [NOSNIFF]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = HEADERS_BY_PATH.get(scope["path"], _DEFAULT_HEADERS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [header for header in added if header[0] not in present]
                if extra:
                    message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
