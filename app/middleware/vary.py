"""One `Vary` for every response of a URL: 200 (gzipped or not, cached or not), 304, HEAD.

Left to the layers that consult request headers, Vary depended on the path a response
took: gzip names `Accept-Encoding` only when it compresses (not on a small body, a HEAD or
a 304), so a 304 could name a header its 200 lacked and a first HEAD omit it (issue 12).
RFC 9110 §15.4.5 wants a 304 to carry the Vary its 200 would have, and caches (Varnish,
nginx) file variants by it. So this layer states it once, for the whole app, and replaces
whatever the layers inside it said:

- `Accept`: the ETag (app.middleware.http_cache) and the negotiated format depend on it;
- `Accept-Encoding`: gzip may compress any response large enough;
- `Origin`, when CORS is on: `Access-Control-Allow-Origin` is sent only to a request
  that carries one (and, for a list of origins, names it);
- `Authorization`, when reads need a key: a read without one is a 401.

Responses to OPTIONS are left alone: they are not cacheable (RFC 9110 §9.3.7), and a
preflight's Vary is the CORS layer's own.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def vary_value(*, cors: bool, keyed_reads: bool) -> str:
    """The request headers every response of this app may depend on."""
    names = ["Accept", "Accept-Encoding"]
    if cors:
        names.append("Origin")
    if keyed_reads:
        names.append("Authorization")
    return ", ".join(names)


class VaryMiddleware:
    def __init__(self, app: ASGIApp, *, vary: str) -> None:
        self.app = app
        self.vary = (b"vary", vary.encode("latin-1"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        vary = self.vary

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                # ASGI header names are lower case (every layer here writes them so).
                headers = [h for h in message.get("headers", ()) if h[0] != b"vary"]
                headers.append(vary)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_vary)
