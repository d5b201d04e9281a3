"""Browser hardening headers (issue 10, item 8).

Every response says `X-Content-Type-Options: nosniff`, so a JSON or CSV body is never run
as a script or rendered as HTML. The HTML pages also carry a Content-Security-Policy and a
Referrer-Policy. The chart page loads only its own script and stylesheet and reads only
this API, so its policy allows nothing else (no inline script, no inline style). The
interactive docs (app.docs_ui) load Swagger UI and ReDoc from here too (issue 12), so their
policy also allows 'self' only: FastAPI's inline bootstrap script by its hash (each page
sets its own policy, see `docs_csp`), data: images, and for ReDoc inline styles and a
blob: worker. `/embed` is the one page other sites may frame (issue 13): the chart page's
policy but `frame-ancestors *`, and no X-Frame-Options anywhere (it could only block).

The layer sits inside the response cache: entries are stored with these headers and hits
replay them.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def docs_csp(
    script_hashes: Sequence[str] = (), *, inline_styles: bool = False, blob_workers: bool = False
) -> str:
    """A docs page's policy: `script_hashes` (`sha256-...`) are the inline scripts it may
    run; ReDoc also needs inline styles (styled-components) and a blob: worker (search)."""
    scripts = " ".join(["'self'", *(f"'{digest}'" for digest in script_hashes)])
    styles = "'self' 'unsafe-inline'" if inline_styles else "'self'"
    workers = "'self' blob:" if blob_workers else "'self'"
    return (
        f"default-src 'self'; script-src {scripts}; style-src {styles}; "
        f"img-src 'self' data:; worker-src {workers}; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
    )


# What a docs page gets when it sets no policy of its own: its strictest form.
DOCS_CSP = docs_csp()

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
