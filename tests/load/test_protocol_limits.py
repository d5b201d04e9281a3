"""Protocol limits of `country-positions serve`, under uvicorn and Granian, over raw sockets.

Issue 10: 50 MB of request headers got a 200 and slowloris connections stayed open for good.
These limits live in the HTTP server, below the app and its database, so the tests run on
SQLite only (a seeded file per module), whatever `--backend` says. Each attack is followed
by a normal `/healthz`. Waits are bounded generously; nothing asserts how long anything took.

Where Granian differs (see app/serving/granian_server.py): its 431 has no problem+json body,
its header timeout closes without a 408, idle keep-alive connections close after the header
timeout, and a connection over the cap waits for a free slot instead of getting a 503.
"""

from __future__ import annotations

import json
import select
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app import migrating
from app.settings import Settings
from tests.factories import load_seed_folder
from tests.servers import running_server

SERVERS = ("uvicorn", "granian")
HEADER_TIMEOUT = 1  # seconds: CP_HEADER_TIMEOUT (and CP_KEEPALIVE_TIMEOUT) of the quick server
BOUND = 15.0  # the most any test waits for the server to close a connection
CAP = 5


@dataclass
class Served:
    server: str
    base: str
    port: int


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, seeded SQLite file shared by this module's servers (they only read)."""
    path: Path = tmp_path_factory.mktemp("protocol-limits") / "db.sqlite3"
    settings = Settings(database_url=f"sqlite:///{path}")
    migrating.upgrade(settings)
    load_seed_folder(settings)
    return settings.database_url


def _serve(server: str, database_url: str, env: dict[str, str]) -> Iterator[Served]:
    command = [sys.executable, "-m", "app", "serve", "--server", server]
    with running_server(database_url, command, extra_env=env) as base:
        yield Served(server, base, int(base.rsplit(":", 1)[1]))


@pytest.fixture(scope="module", params=SERVERS)
def quick(request: pytest.FixtureRequest, database_url: str) -> Iterator[Served]:
    """A server with a 1 s header timeout and a 1 s keep-alive timeout."""
    env = {"CP_HEADER_TIMEOUT": str(HEADER_TIMEOUT), "CP_KEEPALIVE_TIMEOUT": str(HEADER_TIMEOUT)}
    yield from _serve(request.param, database_url, env)


@pytest.fixture(params=SERVERS)
def capped(request: pytest.FixtureRequest, database_url: str) -> Iterator[Served]:
    """A server allowing CAP connections per worker, with timeouts long enough to hold them."""
    env = {
        "CP_MAX_CONNECTIONS": str(CAP),
        "CP_HEADER_TIMEOUT": "30",
        "CP_KEEPALIVE_TIMEOUT": "30",
    }
    yield from _serve(request.param, database_url, env)


def connect(served: Served) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=BOUND)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def request_bytes(served: Served, path: str, padding: int = 0) -> bytes:
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nAccept: */*\r\n"
    if padding:
        head += f"X-Padding: {'a' * padding}\r\n"
    return (head + "\r\n").encode()


def read_response(sock: socket.socket) -> Response:
    """One HTTP/1.1 response with a Content-Length body (all this app and both servers send
    for these requests)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a whole response head: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside a response body")
        body += chunk
    return Response(int(status_line.split()[1]), headers, body[:length])


def closed_by_server(sock: socket.socket, bound: float = BOUND) -> tuple[bool, bytes]:
    """Read until the server closes (EOF or reset) or `bound` passes; (closed, bytes read)."""
    deadline = time.monotonic() + bound
    received = b""
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            return True, received
        if not chunk:
            return True, received
        received += chunk
    return False, received


def answered_within(sock: socket.socket, seconds: float) -> bool:
    readable, _, _ = select.select([sock], [], [], seconds)
    return bool(readable)


def assert_healthy(served: Served) -> None:
    response = httpx.get(f"{served.base}/healthz", timeout=5)
    assert response.status_code == 200


def assert_problem(response: Response, status: int, type_: str) -> None:
    assert response.status == status
    assert response.headers["content-type"] == "application/problem+json"
    document = json.loads(response.body)
    assert document["type"] == type_
    assert document["status"] == status


def test_headers_over_the_cap_get_431_and_the_connection_closes(quick: Served) -> None:
    with connect(quick) as sock:
        sock.sendall(request_bytes(quick, "/countries/RS/positions", padding=20 * 1024))
        response = read_response(sock)
        assert response.status == 431
        assert response.headers["connection"] == "close"
        if quick.server == "uvicorn":
            assert_problem(response, 431, "/problems/headers-too-large")
        closed, _ = closed_by_server(sock)
        assert closed
    assert_healthy(quick)


def test_headers_under_the_cap_get_200(quick: Served) -> None:
    with connect(quick) as sock:
        sock.sendall(request_bytes(quick, "/countries/RS/positions", padding=15 * 1024))
        response = read_response(sock)
    assert response.status == 200
    assert b'"positions"' in response.body
    assert_healthy(quick)


def test_many_small_headers_over_the_cap_get_431(quick: Served) -> None:
    """The cap is on the whole head, not on one header line."""
    head = request_bytes(quick, "/healthz")[:-2]
    head += b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 200) for i in range(90)) + b"\r\n"
    assert len(head) > 16_384
    with connect(quick) as sock:
        sock.sendall(head)
        response = read_response(sock)
        assert response.status == 431
        assert closed_by_server(sock)[0]
    assert_healthy(quick)


def test_slowloris_connections_are_closed_after_the_header_timeout(quick: Served) -> None:
    """Twenty connections that start a request and never finish its headers."""
    with ExitStack() as stack:
        socks = [stack.enter_context(connect(quick)) for _ in range(20)]
        for sock in socks:
            sock.sendall(request_bytes(quick, "/healthz")[:30])
        assert_healthy(quick)  # they hold nothing the others need
        outcomes = [closed_by_server(sock) for sock in socks]
    assert all(closed for closed, _ in outcomes)
    if quick.server == "uvicorn":
        for _, received in outcomes:
            assert received.startswith(b"HTTP/1.1 408 ")
            assert b"/problems/request-timeout" in received
    else:
        assert all(received == b"" for _, received in outcomes)
    assert_healthy(quick)


def test_a_trickle_of_header_bytes_does_not_extend_the_timeout(quick: Served) -> None:
    """One byte every 0.2 s: the deadline is for the whole head, not between bytes."""
    data = request_bytes(quick, "/healthz", padding=200)
    closed = False
    with connect(quick) as sock:
        deadline = time.monotonic() + BOUND
        for byte in data[:-4]:  # never the blank line that ends the head
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if answered_within(sock, 0.2):
                closed = closed_by_server(sock, bound=5)[0]
                break
            if time.monotonic() > deadline:
                break
    assert closed
    assert_healthy(quick)


def test_a_connection_that_sends_nothing_is_closed(quick: Served) -> None:
    with connect(quick) as sock:
        assert closed_by_server(sock) == (True, b"")
    assert_healthy(quick)


def test_idle_keep_alive_connection_is_closed_after_the_timeout(quick: Served) -> None:
    with connect(quick) as sock:
        sock.sendall(request_bytes(quick, "/healthz"))
        assert read_response(sock).status == 200
        sock.sendall(request_bytes(quick, "/healthz"))  # still open right after a response
        assert read_response(sock).status == 200
        assert closed_by_server(sock) == (True, b"")
    assert_healthy(quick)


def _open_kept_alive(served: Served, stack: ExitStack, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        sock = stack.enter_context(connect(served))
        sock.sendall(request_bytes(served, "/healthz"))
        assert read_response(sock).status == 200
        socks.append(sock)
    return socks


def test_connection_over_the_cap_is_turned_away_while_others_work(capped: Served) -> None:
    with ExitStack() as stack:
        socks = _open_kept_alive(capped, stack, CAP)
        extra = stack.enter_context(connect(capped))
        extra.sendall(request_bytes(capped, "/countries/RS/positions"))
        if capped.server == "uvicorn":
            response = read_response(extra)
            assert_problem(response, 503, "/problems/too-many-connections")
            assert response.headers["retry-after"] == "1"
            assert response.headers["connection"] == "close"
            assert closed_by_server(extra)[0]
        else:
            # Granian holds it in the listen backlog: unanswered while the others are open.
            assert not answered_within(extra, 1.0)
        for sock in socks:
            sock.sendall(request_bytes(capped, "/countries/RS/positions"))
            assert read_response(sock).status == 200
        socks[0].close()
        if capped.server == "granian":
            # The freed slot goes to the waiting connection, which is then answered.
            assert read_response(extra).status == 200
        else:
            assert _served_once_a_slot_frees(capped)
    assert_healthy(capped)


def _served_once_a_slot_frees(served: Served) -> bool:
    """A new connection gets a 200 once the server has seen a connection close."""
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        with connect(served) as sock:
            sock.sendall(request_bytes(served, "/healthz"))
            if read_response(sock).status == 200:
                return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("server", SERVERS)
def test_every_worker_enforces_the_limits(server: str, database_url: str) -> None:
    """`--workers 2`: uvicorn hands the limits to its workers in their pickled config; each
    new connection lands on either worker."""
    command = [sys.executable, "-m", "app", "serve", "--server", server, "--workers", "2"]
    with running_server(database_url, command) as base:
        served = Served(server, base, int(base.rsplit(":", 1)[1]))
        for _ in range(4):  # new connections, spread over the workers by the kernel
            with connect(served) as sock:
                sock.sendall(request_bytes(served, "/healthz", padding=20 * 1024))
                assert read_response(sock).status == 431
        assert_healthy(served)
