"""Per-client rate limits as the outermost ASGI layer: 429 problem+json over the limit.

Reads (GET, HEAD, OPTIONS) are counted per client address (`scope["client"]`, which
ClientAddressMiddleware resolves behind trusted proxies; an IPv6 client per /64, the block
one host is usually given); writes per API key, identified by a SHA-256 of the presented
bearer key (the key itself is never kept), or per client address without a key. A key
that turns out invalid (401) is charged to the client's address as well, and an address
whose write bucket is empty may not write with any key: inventing keys never buys a
fresh bucket. `/healthz` and `/readyz` are never limited, so probes see the instance as
it is.

Every limited response carries the headers of draft-ietf-httpapi-ratelimit-headers-11
(May 2026), Structured Fields syntax: `RateLimit-Policy: "reads";q=<burst>;w=<seconds an
empty bucket takes to refill>` and `RateLimit: "reads";r=<whole tokens left>;t=<seconds
until the next token>`. A 429 adds `Retry-After` (whole seconds until a token is back;
equal to its `t`, as the draft asks).

A conditional read (`If-None-Match`) is admitted like any read, then refunded down to
NOT_MODIFIED_COST (a tenth of a request) if it is answered 304: a client revalidating
what it holds can poll ten times as often as one fetching bodies, yet revalidation is not
free, since it still costs the server a revision check.
"""

from __future__ import annotations

import hashlib
import ipaddress
from functools import lru_cache

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.middleware.rate_limit.buckets import BucketStore, Outcome, Policy
from app.middleware.security_headers import PROBLEM_HEADERS
from app.problems import problem_response

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})
NOT_MODIFIED_COST = 0.1
RATE_LIMITED = "/problems/rate-limited"
# Not CORS-safelisted: a cross-origin page reads them only if they are exposed.
RATE_LIMIT_HEADERS = ("RateLimit", "RateLimit-Policy")
EXPOSED = ", ".join(("Retry-After", *RATE_LIMIT_HEADERS))
_OWN_HEADERS = frozenset(name.lower().encode() for name in RATE_LIMIT_HEADERS)


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        store: BucketStore,
        reads: Policy,
        writes: Policy,
        cors_origins: list[str],
    ) -> None:
        self.app = app
        self.store = store
        self.reads = reads
        self.writes = writes
        self.cors_origins = frozenset(cors_origins)
        self._policy_headers = {
            policy.name: (b"ratelimit-policy", policy.header.encode()) for policy in (reads, writes)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing_on_shutdown(send))
            return
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = _partition(client[0]) if client else "unknown"
        address_key = f"writes:ip:{address}"
        key_hash: str | None = None
        conditional = False
        if scope["method"] in READ_METHODS:
            policy, bucket = self.reads, f"reads:ip:{address}"
            conditional = any(name == b"if-none-match" for name, _ in scope["headers"])
        else:
            policy, bucket = self.writes, address_key
            key_hash = _bearer_hash(scope)
            if key_hash is not None:
                # An address locked out by invalid keys may not try more of them.
                guard = await self.store.charge(address_key, policy, 0)
                if guard.tokens < 1:
                    await self._refuse(scope, receive, send, guard, "this client address")
                    return
                bucket = f"writes:key:{key_hash}"
        outcome = await self.store.charge(bucket, policy, 1)
        if not outcome.allowed:
            who = "this API key" if key_hash else "this client address"
            await self._refuse(scope, receive, send, outcome, who)
            return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                current = outcome
                if conditional and status == 304:
                    current = await self.store.charge(bucket, policy, NOT_MODIFIED_COST - 1)
                elif key_hash is not None and status == 401:
                    await self.store.charge(address_key, policy, 1)
                # A new message: inner layers (the response cache) may keep the one they sent.
                # Ours replace any the response already carries, so each is sent once
                # whatever an inner layer kept or replayed.
                message = {
                    **message,
                    "headers": [
                        *(
                            (name, value)
                            for name, value in message.get("headers", ())
                            if name.lower() not in _OWN_HEADERS
                        ),
                        (b"ratelimit", current.header.encode()),
                        self._policy_headers[policy.name],
                    ],
                }
            await send(message)

        await self.app(scope, receive, send_with_limits)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, outcome: Outcome, who: str
    ) -> None:
        policy = outcome.policy
        # Outside the security headers layer: the 429 brings its own.
        headers = {
            "Retry-After": str(outcome.retry_after),
            "RateLimit": outcome.header,
            "RateLimit-Policy": policy.header,
            **PROBLEM_HEADERS,
        }
        headers |= self._cors(scope)
        response = problem_response(
            Request(scope),
            status=429,
            type_=RATE_LIMITED,
            title="Too many requests",
            detail=f"Over the {policy.name} limit for {who} ({policy.burst} at once, "
            f"{policy.rate:g} a second); retry in {outcome.retry_after} s.",
            headers=headers,
        )
        await response(scope, receive, send)

    def _cors(self, scope: Scope) -> dict[str, str]:
        """The CORS layer sits inside this one: let a cross-origin page read its 429 too."""
        origin = next((v for n, v in scope["headers"] if n == b"origin"), None)
        if origin is None or not self.cors_origins:
            return {}
        if "*" in self.cors_origins:
            allowed = "*"
        elif origin.decode("latin-1") in self.cors_origins:
            allowed = origin.decode("latin-1")
        else:
            return {}
        # Vary is app.middleware.vary's: one value for every response of a URL.
        return {"Access-Control-Allow-Origin": allowed, "Access-Control-Expose-Headers": EXPOSED}

    def _closing_on_shutdown(self, send: Send) -> Send:
        async def closing(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self.store.aclose()
            await send(message)

        return closing


@lru_cache(maxsize=4096)
def _partition(host: str) -> str:
    """The address a bucket is kept for: an IPv6 client's /64 (one host usually holds a
    whole /64, so per-address buckets would be free for the asking), else the address."""
    if ":" not in host:
        return host
    try:
        return str(ipaddress.IPv6Network(f"{host}/64", strict=False))
    except ValueError:
        return host


def _bearer_hash(scope: Scope) -> str | None:
    """SHA-256 (hex, 32 digits) of the `Authorization: Bearer` key, or None without one."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.partition(b" ")
            credentials = credentials.strip()
            if scheme.lower() == b"bearer" and credentials:
                return hashlib.sha256(credentials).hexdigest()[:32]
            return None
    return None
