"""A tiny threaded TCP proxy that a test can cut and restore, to make a database vanish.

`TcpProxy(host, port)` listens on a free loopback port and forwards every connection to
host:port. `cut()` closes every forwarded connection (both ends, with a reset) and, until
`restore()`, answers new connections the way a dead database would: `refuse` resets them
at once, `hang` accepts them and never says a word (only a connect timeout ends the wait).
`freeze()` makes the database silent without closing anything, as a dropped route or a
frozen host would: no byte is forwarded either way, open connections stay open, new ones
are accepted and left waiting; `thaw()` forwards everything again, held bytes included.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

CutMode = Literal["refuse", "hang"]
_CHUNK = 65_536


def _reset(sock: socket.socket) -> None:
    """Close with RST rather than FIN, as a crashed peer or a dropped route would."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class _Pipe:
    """One forwarded connection: client <-> upstream, pumped by one thread."""

    def __init__(
        self, client: socket.socket, upstream: socket.socket, flowing: threading.Event
    ) -> None:
        self.client = client
        self.upstream = upstream
        self._flowing = flowing
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._pump, name="tcp-proxy-pipe", daemon=True)

    def _pump(self) -> None:
        peers = {self.client: self.upstream, self.upstream: self.client}
        with selectors.DefaultSelector() as selector:
            try:
                for sock in peers:
                    selector.register(sock, selectors.EVENT_READ)
                while not self._closed.is_set():
                    if not self._flowing.wait(timeout=0.2):
                        continue  # frozen: read nothing, so the kernel buffers fill and stall
                    for key, _ in selector.select(timeout=0.2):
                        source: socket.socket = key.fileobj  # type: ignore[assignment]
                        data = source.recv(_CHUNK)
                        if not data:
                            return
                        peers[source].sendall(data)
            except (OSError, ValueError):
                return
            finally:
                self.close()

    def close(self) -> None:
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
        _reset(self.client)
        _reset(self.upstream)


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pipes: list[_Pipe] = []
        self._held: list[socket.socket] = []
        self._mode: CutMode | None = None
        self._flowing = threading.Event()
        self._flowing.set()
        self._frozen_clients: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        self.accepted = 0
        self.refused = 0
        self.silenced = 0  # connections accepted while frozen

    def start(self) -> TcpProxy:
        self._thread.start()
        return self

    @property
    def is_cut(self) -> bool:
        return self._mode is not None

    @property
    def open_connections(self) -> int:
        with self._lock:
            return sum(pipe.thread.is_alive() for pipe in self._pipes)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._lock:
                mode = self._mode
                if mode == "hang":
                    self._held.append(client)
                    self.refused += 1
                    continue
                if not self._flowing.is_set():
                    self._frozen_clients.append(client)  # forwarded once thawed
                    self.silenced += 1
                    continue
            self._forward(client)

    def _forward(self, client: socket.socket) -> None:
        with self._lock:
            mode = self._mode
        if mode == "refuse":
            self.refused += 1
            _reset(client)
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _reset(client)
            return
        upstream.settimeout(None)
        pipe = _Pipe(client, upstream, self._flowing)
        with self._lock:
            self._pipes = [p for p in self._pipes if p.thread.is_alive()]
            self._pipes.append(pipe)
            self.accepted += 1
        pipe.thread.start()

    def cut(self, mode: CutMode = "refuse") -> None:
        """Drop every forwarded connection; from now on refuse (or hang) new ones."""
        with self._lock:
            self._mode = mode
            pipes, self._pipes = self._pipes, []
        for pipe in pipes:
            pipe.close()

    @property
    def is_frozen(self) -> bool:
        return not self._flowing.is_set()

    def freeze(self) -> None:
        """Go silent: forward nothing, close nothing, accept new connections and ignore them
        (a dropped route, not a refusal: clients see no error, only silence)."""
        self._flowing.clear()

    def thaw(self) -> None:
        """Forward again: held bytes flow on, connections accepted while frozen are
        connected upstream (those their clients gave up on close at their first read)."""
        with self._lock:
            waiting, self._frozen_clients = self._frozen_clients, []
            self._flowing.set()
        for client in waiting:
            self._forward(client)

    def restore(self) -> None:
        """Forward new connections again (connections held by `hang` are dropped)."""
        with self._lock:
            self._mode = None
            held, self._held = self._held, []
        for sock in held:
            _reset(sock)

    def stop(self) -> None:
        self._stopping.set()
        self.thaw()
        self.cut()
        self.restore()
        with contextlib.suppress(OSError):
            self._listener.close()
        self._thread.join(timeout=5)


@contextmanager
def tcp_proxy(upstream_host: str, upstream_port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(upstream_host, upstream_port).start()
    try:
        yield proxy
    finally:
        proxy.stop()
