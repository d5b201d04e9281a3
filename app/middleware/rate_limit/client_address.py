"""Who the client is: the TCP peer, or what a trusted proxy says in `X-Forwarded-For`.

`X-Forwarded-For` is believed only when the peer is one of CP_TRUSTED_PROXIES (addresses or
CIDR networks). Each proxy appends the address it saw, so the list is read from the right,
skipping trusted hops: the first untrusted address is the client. Whatever a client wrote
to the left of that is never looked at, so a client behind a trusted proxy cannot choose
its address either. `serve` runs uvicorn with proxy headers off; this is the one place
they are read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TrustedProxies:
    """Membership test over addresses and networks (an address is a /32 or /128 network)."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks: list[Network] = [
            ipaddress.ip_network(e.strip(), strict=False) for e in entries
        ]

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __contains__(self, host: str) -> bool:
        address = _parse(host)
        return address is not None and any(address in network for network in self.networks)

    def client(self, peer: str, forwarded_for: Iterable[str]) -> str:
        """The client's address, given the peer's and the `X-Forwarded-For` values."""
        if peer not in self:
            return peer
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        for hop in reversed(hops):
            address = _parse(_strip_port(hop))
            if address is None:
                # A trusted proxy never appends garbage: stop believing the header here.
                return peer
            if not any(address in network for network in self.networks):
                return str(address)
            peer = str(address)
        return peer


def _parse(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _strip_port(hop: str) -> str:
    """`1.2.3.4:5678` and `[::1]:5678` to their address; a bare IPv6 address stays whole."""
    if hop.startswith("["):
        return hop[1 : hop.find("]")] if "]" in hop else hop
    if hop.count(":") == 1:
        return hop.split(":", 1)[0]
    return hop


class ClientAddressMiddleware:
    """Rewrite `scope["client"]` to the resolved client, for every layer inside (and the
    access log, which reads the same scope)."""

    def __init__(self, app: ASGIApp, *, trusted_proxies: Iterable[str]) -> None:
        self.app = app
        self.trusted = TrustedProxies(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.trusted:
            peer = scope.get("client")
            if peer is not None:
                values = [
                    value.decode("latin-1")
                    for name, value in scope["headers"]
                    if name == b"x-forwarded-for"
                ]
                if values:
                    scope["client"] = (self.trusted.client(peer[0], values), peer[1])
        await self.app(scope, receive, send)
