"""Whether `serve` can bind its address, said in one line before anything else runs.

`make run` asks first (`serve --check-port`), so a taken port stops it before it migrates
and seeds (issue 12); `serve` asks too, rather than leave it to the server's log.
"""

from __future__ import annotations

import errno
import socket


def bind_problem(host: str, port: int) -> str | None:
    """Why `host:port` cannot be bound (one line), or None when it can.

    Binds as uvicorn does: IPv6 for a host with a colon, else IPv4, with SO_REUSEADDR, so
    a port left in TIME_WAIT by a server that just stopped counts as free; one that
    another process listens on does not.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot bind to {host}: {exc.strerror}"
    _, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is already in use; choose another with --port "
                    f"(make run PORT={8080 if port != 8080 else 8081})"
                )
            return f"cannot bind port {port} on {host}: {exc.strerror}"
    return None
