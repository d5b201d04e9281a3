"""The database goes away under a running server (a real `serve` process, over TCP).

PostgreSQL: the server reaches the database through `TcpProxy`, which the test cuts (every
connection reset; new ones refused, or accepted and left hanging) and restores, and every
backend of the test database is killed with `pg_terminate_backend`. SQLite: the database
path turns into a directory (the volume holding the file is gone), and another process
holds the write lock. In every case: data requests answer 503 problem+json with
`Retry-After` (or succeed), never 500, each well within 10 seconds (a hang check, not a
performance figure); `/healthz` stays 200; `/readyz` follows the database; and the service
comes back by itself, without a restart, once the database does.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from app.settings import Settings
from tests.factories import CHART, make_key
from tests.faults.database import terminate_backends
from tests.faults.failures import Failures, describe
from tests.faults.tcp_proxy import CutMode, TcpProxy, tcp_proxy
from tests.problems import assert_problem
from tests.servers import running_server

# The server waits this long for a connection (CP_DB_CONNECT_TIMEOUT; SQLite: busy timeout).
CONNECT_TIMEOUT = "2"
# No request may take this long: httpx gives up and the test fails as a hang.
HANG = 10.0
RECOVERY = 15.0
UNAVAILABLE = "/problems/service-unavailable"


@dataclass
class Server:
    http: httpx.Client
    key: str


def new_assessment(as_of: str, value: str = "yes") -> dict[str, Any]:
    return {
        "country": "AT",
        "category": "training",
        "value": value,
        "source": CHART,
        "as_of": as_of,
        "evidence": f"Recorded by the outage tests as of {as_of}.",
    }


def request(server: Server, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request that must be answered (whatever the status) within HANG seconds."""
    started = time.monotonic()
    try:
        return server.http.request(method, path, **kwargs)
    except httpx.TimeoutException:
        waited = time.monotonic() - started
        pytest.fail(f"{method} {path} hung: no answer after {waited:.1f}s")


def write(server: Server, as_of: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.key}"}
    return request(server, "POST", "/assessments", json=new_assessment(as_of), headers=headers)


def assert_unavailable(response: httpx.Response) -> None:
    assert_problem(response, 503, UNAVAILABLE)
    assert int(response.headers["Retry-After"]) > 0


def assert_ok_or_unavailable(response: httpx.Response) -> None:
    if response.status_code == 503:
        assert_unavailable(response)
    else:
        assert response.status_code in (200, 201), describe(response)


def wait_until_serving(server: Server, path: str) -> None:
    """Poll until `path` and /readyz answer 200, without restarting anything."""
    deadline = time.monotonic() + RECOVERY
    while True:
        data, ready = request(server, "GET", path), request(server, "GET", "/readyz")
        if data.status_code == 200 and ready.status_code == 200:
            return
        for response in (data, ready):
            assert response.status_code in (200, 503), describe(response)
        if time.monotonic() > deadline:
            pytest.fail(f"not serving {RECOVERY}s after the database came back: {describe(data)}")
        time.sleep(0.2)


def training_value(server: Server, code: str) -> str:
    response = request(server, "GET", f"/countries/{code}/positions")
    assert response.status_code == 200, describe(response)
    value: str = response.json()["positions"][0]["value"]
    return value


# --- PostgreSQL -------------------------------------------------------------------------------


@dataclass
class ProxiedServer(Server):
    proxy: TcpProxy
    database_url: str


@pytest.fixture
def proxied_server(seeded_settings: Settings) -> Iterator[ProxiedServer]:
    """A real server whose every database connection (pool and revision listener) goes
    through a TcpProxy to the seeded test database. PostgreSQL only (SQLite has no network):
    the tests using it are postgres_only."""
    key = make_key(seeded_settings, "outage-admin")
    url = make_url(seeded_settings.database_url)
    with tcp_proxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        env = {"CP_DB_CONNECT_TIMEOUT": CONNECT_TIMEOUT}
        with (
            running_server(proxied, extra_env=env) as base,
            httpx.Client(base_url=base, timeout=HANG) as http,
        ):
            yield ProxiedServer(http, key, proxy, seeded_settings.database_url)


@pytest.mark.postgres_only
def test_requests_after_every_backend_is_terminated_are_200_or_503(
    proxied_server: ProxiedServer,
) -> None:
    server = proxied_server
    for path in ["/countries/RS/positions", "/positions", "/countries?q=serb", "/changes"]:
        assert request(server, "GET", path).status_code == 200
    assert server.proxy.accepted >= 2  # the pool and the revision listener

    killed = terminate_backends(server.database_url)
    assert killed >= 2, "pg_terminate_backend found nothing to kill"

    failures = Failures()
    # Fresh queries (not answered from the response cache), then a write.
    for day in range(1, 7):
        response = request(server, "GET", "/positions", params={"as_of": f"2023-01-{day:02}"})
        with failures.case(describe(response)):
            assert_ok_or_unavailable(response)
    for path in ["/countries/MT/positions", "/stats", "/changes?since=1", "/readyz"]:
        response = request(server, "GET", path)
        with failures.case(describe(response)):
            assert_ok_or_unavailable(response)
    response = write(server, "2023-06-01")
    with failures.case(describe(response)):
        assert_ok_or_unavailable(response)
    failures.check()
    wait_until_serving(server, "/countries/AT/positions")
    response = write(server, "2023-06-02")
    assert response.status_code == 201, describe(response)
    assert training_value(server, "AT") == "yes"


@pytest.mark.postgres_only
@pytest.mark.parametrize("mode", ["refuse", "hang"])
def test_data_requests_are_503_while_database_is_cut_and_200_once_restored(
    proxied_server: ProxiedServer, mode: CutMode
) -> None:
    server = proxied_server
    assert training_value(server, "AT") == "no"  # now in the response cache
    assert request(server, "GET", "/readyz").status_code == 200

    server.proxy.cut(mode)
    failures = Failures()
    if mode == "refuse":
        reads = ["/countries/RS/positions?as_of=2023-03-01", "/positions?as_of=2023-01-01"]
        reads += ["/countries?q=mal", "/stats?as_of=2023-01-01", "/changes?since=1", "/sources"]
    else:  # each request waits out the connect timeout (twice: ETag revision, then data)
        reads = ["/countries/RS/positions?as_of=2023-03-01"]
    for path in reads:
        response = request(server, "GET", path)
        with failures.case(describe(response)):
            assert_unavailable(response)
    response = write(server, "2023-07-01")
    with failures.case(describe(response)):
        assert_unavailable(response)
    response = request(server, "GET", "/readyz")
    with failures.case(describe(response)):
        assert_problem(response, 503, UNAVAILABLE)
    response = request(server, "GET", "/healthz")
    with failures.case(describe(response)):
        assert response.status_code == 200 and response.json() == {"status": "ok"}
    failures.check()
    assert server.proxy.refused >= 1  # the service did try to reconnect

    server.proxy.restore()
    wait_until_serving(server, "/countries/RS/positions?as_of=2023-03-01")
    # Writes work again, and reads see them: no stale answer survives from before the cut.
    response = write(server, "2023-07-02")
    assert response.status_code == 201, describe(response)
    assert training_value(server, "AT") == "yes"


# --- SQLite -----------------------------------------------------------------------------------


def sqlite_path(settings: Settings) -> Path:
    database = make_url(settings.database_url).database
    assert database
    return Path(database)


@pytest.fixture
def sqlite_database(backend: str, seeded_settings: Settings) -> Settings:
    if backend != "sqlite":
        pytest.skip("a database file exists on SQLite only")
    return seeded_settings


def test_data_requests_are_503_while_sqlite_path_is_a_directory_and_200_once_restored(
    sqlite_database: Settings, tmp_path: Path
) -> None:
    """The volume holding the database is gone: its path names a directory. The server
    starts anyway (liveness needs no database), answers 503 until the file is back."""
    key = make_key(sqlite_database, "outage-admin")
    path = sqlite_path(sqlite_database)
    aside = tmp_path / "aside"
    aside.mkdir()
    moved = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
    for file in moved:
        file.rename(aside / file.name)
    path.mkdir()
    env = {"CP_DB_CONNECT_TIMEOUT": CONNECT_TIMEOUT}
    with (
        running_server(sqlite_database.database_url, ready_path="/healthz", extra_env=env) as base,
        httpx.Client(base_url=base, timeout=HANG) as http,
    ):
        server = Server(http, key)
        failures = Failures()
        for path_ in ["/countries/RS/positions", "/positions", "/countries?q=ser", "/changes"]:
            response = request(server, "GET", path_)
            with failures.case(describe(response)):
                assert_unavailable(response)
        response = write(server, "2023-07-01")
        with failures.case(describe(response)):
            assert_unavailable(response)
        response = request(server, "GET", "/readyz")
        with failures.case(describe(response)):
            assert_problem(response, 503, UNAVAILABLE)
        response = request(server, "GET", "/healthz")
        with failures.case(describe(response)):
            assert response.status_code == 200
        failures.check()

        path.rmdir()
        for file in moved:
            (aside / file.name).rename(file)
        wait_until_serving(server, "/countries/RS/positions")
        assert write(server, "2023-07-02").status_code == 201
        assert training_value(server, "AT") == "yes"


def test_writes_are_503_while_another_process_holds_the_sqlite_write_lock(
    sqlite_database: Settings,
) -> None:
    """A stuck writer elsewhere: writes wait out the busy timeout, then answer 503 (never
    "database is locked" as a 500); reads (WAL) go on; the next write after it lets go works."""
    key = make_key(sqlite_database, "outage-admin")
    env = {"CP_DB_CONNECT_TIMEOUT": CONNECT_TIMEOUT}
    with (
        running_server(sqlite_database.database_url, extra_env=env) as base,
        httpx.Client(base_url=base, timeout=HANG) as http,
    ):
        server = Server(http, key)
        assert training_value(server, "AT") == "no"
        holder = sqlite3.connect(sqlite_path(sqlite_database), isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            holder.execute("UPDATE dataset_revision SET changed_at = changed_at")
            failures = Failures()
            response = write(server, "2023-07-01")
            with failures.case(describe(response)):
                assert_unavailable(response)
            for path in ["/countries/RS/positions?as_of=2023-03-01", "/readyz", "/healthz"]:
                response = request(server, "GET", path)
                with failures.case(describe(response)):
                    assert response.status_code == 200
            failures.check()
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert write(server, "2023-07-02").status_code == 201
        assert training_value(server, "AT") == "yes"
